#!/usr/bin/env python3
"""The unit in the tree (systemd/airlock.service, paths from configure)
passes `systemd-analyze verify` and holds what a system service of airlock
needs: Type=notify, its own user, StateDirectory= and RuntimeDirectory=,
reload by SIGHUP, and the hardening (ProtectSystem=strict, ProtectHome,
PrivateTmp, NoNewPrivileges, an empty CapabilityBoundingSet,
RestrictAddressFamilies, SystemCallFilter=@system-service,
MemoryDenyWriteExecute). Skips, saying so, without systemd-analyze."""

import os
import shutil
import subprocess
import tempfile

import airlock_harness as h

WANT = ["Type=notify", "User=airlock", "Group=airlock", "StateDirectory=airlock",
        "RuntimeDirectory=airlock", "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=mixed",
        "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
        "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "WantedBy=multi-user.target"]


def main():
    unit = h.binary("systemd/airlock.service")
    h.check(os.path.isfile(unit), "the unit is not built: " + unit)
    with open(unit) as f:
        text = f.read()
    lines = text.splitlines()
    for w in WANT:
        h.check(w in lines, "%s missing from the unit" % w)
    h.check("@bindir@" not in text and "@sysconfdir@" not in text, "unsubstituted paths")
    exe = [ln.split("=", 1)[1] for ln in lines if ln.startswith("ExecStart=")][0]
    h.check(exe.endswith("/airlock-broker"), "ExecStart: " + exe)
    tool = shutil.which("systemd-analyze")
    if not tool:
        h.skip("systemd-analyze is not installed (Debian's systemd package): the unit's "
               "directives were checked, its verification was not")
    with tempfile.TemporaryDirectory(prefix="airlock-unit-") as tmp:
        # verify wants ExecStart to exist: point it at the build's broker
        test_unit = os.path.join(tmp, "airlock.service")
        with open(test_unit, "w") as f:
            f.write(text.replace("ExecStart=" + exe, "ExecStart=" + h.binary("airlock-broker")))
        p = subprocess.run([tool, "verify", "--man=no", test_unit], capture_output=True,
                           text=True, timeout=60)
        h.log(p.stdout + p.stderr)
        h.check_eq(p.returncode, 0, "systemd-analyze verify: " + p.stderr)
        h.check(p.stderr.strip() == "", "verify warned: " + p.stderr)


h.run(main)
