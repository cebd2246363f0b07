#!/usr/bin/env python3
"""Every flag that a binary's --help lists is described in its man page, and
every subcommand of airlock has --help that exits 0: docs stay true as code
changes (a flag added without its documentation fails here)."""
import os
import re
import subprocess
import sys

BUILD = os.environ.get("AIRLOCK_BUILDDIR", ".")
SRC = os.environ.get("AIRLOCK_SRCDIR", ".")

PAGES = {
    "airlock-broker": "docs/airlock-broker.8",
    "airlock-enforcer": "docs/airlock-enforcer.8",
    "airlock-agent": "docs/airlock-agent.8",
}
AIRLOCK_COMMANDS = [
    ["up"], ["ca", "init"], ["ca", "cert"], ["ca", "bundle"], ["client", "create"], ["client", "list"],
    ["client", "delete"], ["secret", "create"], ["secret", "list"], ["secret", "delete"],
    ["secret", "stub"], ["allow"], ["rules"], ["revoke"], ["oauth", "xai"], ["sandbox", "env"],
    ["connect"], ["audit", "suggest"],
]

failures = []


def flags_in(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", text))


def man_flags(path):
    with open(os.path.join(SRC, path)) as f:
        # roff writes a dash in a flag as "\-" and may wrap it in font codes
        text = re.sub(r"\\f[BIRP]", "", f.read()).replace("\\-", "-")
        return flags_in(text)


def help_text(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        failures.append("%s exited %d" % (" ".join(argv), p.returncode))
    return p.stdout.decode()


for binary, page in PAGES.items():
    documented = man_flags(page)
    listed = flags_in(help_text([os.path.join(BUILD, binary), "--help"]))
    if len(listed) < 5:
        failures.append("%s --help lists only %d flags" % (binary, len(listed)))
    for flag in sorted(listed - documented - {"--help", "--version"}):
        failures.append("%s: %s is in --help but not in %s" % (binary, flag, page))

documented = man_flags("docs/airlock.1")
for cmd in AIRLOCK_COMMANDS:
    listed = flags_in(help_text([os.path.join(BUILD, "airlock")] + cmd + ["--help"]))
    for flag in sorted(listed - documented - {"--help", "--version"}):
        failures.append("airlock %s: %s is in --help but not in docs/airlock.1"
                        % (" ".join(cmd), flag))

for f in failures:
    print("FAIL:", f)
print("%d problems" % len(failures))
sys.exit(1 if failures else 0)
