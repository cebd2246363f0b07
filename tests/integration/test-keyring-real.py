#!/usr/bin/env python3
"""--keyring against a real Secret Service: gnome-keyring-daemon on a
private D-Bus session (dbus-run-session), an unlocked login collection in a
temp HOME. `airlock up --keyring` starts, a bearer secret is created and
injected; airlock is stopped and started again on the same state dir: the
seal key comes back from the keyring and the secret still injects; no
seal.key was ever written. Skips, saying why, when dbus-run-session or
gnome-keyring-daemon is missing or the daemon cannot start. Negative twin
(no Secret Service): test-broker-keyring-unavailable.py."""

import os
import shutil
import subprocess
import sys
import tempfile

import airlock_harness as h
import mitmtest as mt
import proxytest as pt

VALUE = "kr-" + "7" * 29


def reexec_in_session():
    if not shutil.which("dbus-run-session"):
        h.skip("dbus-run-session is not installed (Debian's dbus-daemon package)")
    if not shutil.which("gnome-keyring-daemon"):
        h.skip("gnome-keyring-daemon is not installed (Debian's gnome-keyring package)")
    env = dict(os.environ, AIRLOCK_KEYRING_SESSION="1")
    p = subprocess.run(["dbus-run-session", "--", sys.executable, os.path.abspath(__file__)],
                       env=env, timeout=300)
    sys.exit(p.returncode)


def start_keyring(tmp):
    home = os.path.join(tmp, "home")
    run = os.path.join(tmp, "run")
    os.makedirs(home)
    os.makedirs(run, mode=0o700)
    os.environ.update(HOME=home, XDG_DATA_HOME=os.path.join(home, ".local/share"),
                      XDG_RUNTIME_DIR=run)
    d = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock",
                          "--components=secrets"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d.stdin.write(b"test-password")
    d.stdin.close()

    def answers():
        if d.poll() is not None:
            return "gone"
        p = subprocess.run(["secret-tool", "search", "airlock-probe", "x"], capture_output=True)
        return "ok" if p.returncode in (0, 1) and b"not provided" not in p.stderr else None
    try:
        state = h.wait_for(answers, timeout=15, what="the Secret Service")
    except TimeoutError:
        state = "silent"
    if state != "ok":
        d.kill()
        h.skip("gnome-keyring-daemon did not start a Secret Service here (%s)" % state)
    return d


def main():
    if not os.environ.get("AIRLOCK_KEYRING_SESSION"):
        reexec_in_session()
    h.require_binaries("airlock", "airlock-broker", "airlock-enforcer")
    with tempfile.TemporaryDirectory(prefix="airlock-keyring-") as tmp:
        d = start_keyring(tmp)
        try:
            with mt.Setup(flags=["--keyring"], env={"HOME": os.environ["HOME"]}) as s:
                al = s.al
                mt.secret(al, "kr", "origin.test", VALUE)
                tok = pt.client(al, "web-1")
                pt.allow(al, "web-1", "origin.test", "--port", str(s.port), "--secret", "kr")
                url = "https://origin.test:%d/echo" % s.port
                p = mt.curl(al, tok, url)
                h.check(p.returncode == 0 and mt.carried(p.stdout, "Bearer " + VALUE),
                        "injected before the restart: %s" % mt.scrub(p.stderr, VALUE))

                al.stop()
                al.start()
                p = mt.curl(al, tok, url)
                h.check(p.returncode == 0 and mt.carried(p.stdout, "Bearer " + VALUE),
                        "injected after a restart: %s" % mt.scrub(p.stderr, VALUE))
                h.check(not os.path.exists(os.path.join(al.state_dir, "seal.key")),
                        "seal.key written despite --keyring")
                h.check_eq(h.files_containing(al.state_dir, VALUE), [], "the value at rest")
                mt.check_no_secret(al, VALUE)
                p = subprocess.run(["secret-tool", "search", "--all", "state_dir", al.state_dir],
                                   capture_output=True, text=True)
                h.check("airlock seal key" in p.stdout + p.stderr, "the key is in the keyring")
        finally:
            d.kill()
            d.wait(10)


h.run(main)
