"""`airlock up` with no flags at all, in a fresh HOME (XDG_STATE_HOME and
AIRLOCK_* unset): it creates ~/.local/state/airlock (0700) with the seal key
and the CA, prints the API socket, the CA certificate path and both proxy URLs
(127.0.0.1:3128 and :3129), the CLI finds it with no flags either, and
SIGTERM stops it cleanly (exit 0, sockets removed, nothing left running)."""

import os
import signal
import socket
import stat
import subprocess
import tempfile

import airlock_harness as h


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    h.require_binaries("airlock", "airlock-broker")
    with_enforcer = h.have_binary("airlock-enforcer")
    if with_enforcer and not (port_free(3128) and port_free(3129)):
        h.skip("the default ports 3128/3129 are in use on this machine")

    home = tempfile.mkdtemp(prefix="airlock-home-")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AIRLOCK_") and k != "XDG_STATE_HOME"}
    env["HOME"] = home
    state = os.path.join(home, ".local", "state", "airlock")
    sock = os.path.join(state, "api.sock")
    out_path = os.path.join(home, "up.out")
    err_path = os.path.join(home, "up.err")
    proc = None

    def logs():
        text = ""
        for p in (out_path, err_path):
            with open(p, errors="replace") as f:
                text += f.read()
        return text

    def alive():
        if proc.poll() is not None:
            raise h.TestFailure("airlock up exited with %s:\n%s" % (proc.returncode, logs()))

    def cli(*args):
        return subprocess.run([h.binary("airlock")] + list(args), capture_output=True,
                              text=True, env=env, timeout=30)

    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([h.binary("airlock"), "up"], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, env=env, start_new_session=True)

        def ready():
            alive()
            if not os.path.exists(sock):
                return False
            try:
                st, body = h.api_request(sock, "GET", "/proxy/v1/status", timeout=2)
            except OSError:
                return False
            if st != 200:
                return False
            if with_enforcer:
                return h.port_open(3128) and h.port_open(3129)
            return True

        h.wait_for(ready, what="airlock up (no flags) to be ready")
        h.wait_for(lambda: "https://127.0.0.1:3129" in open(out_path).read(), 5,
                   what="the banner")

        # The state: made on first run, private.
        st = os.stat(state)
        h.check_eq(stat.S_IMODE(st.st_mode), 0o700, "state dir mode")
        for name in ("seal.key", "ca.key", "ca.pem"):
            p = os.path.join(state, name)
            h.check(os.path.isfile(p), "%s was not created" % name)
        for name in os.listdir(state):
            mode = stat.S_IMODE(os.lstat(os.path.join(state, name)).st_mode)
            h.check(mode & 0o077 == 0, "%s is open to group or others (%o)" % (name, mode))
        with open(os.path.join(state, "ca.pem")) as f:
            h.check("BEGIN CERTIFICATE" in f.read(), "ca.pem is not a PEM certificate")

        # The banner names everything a user needs.
        banner = open(out_path).read()
        for want in (sock, os.path.join(state, "ca.pem"), "http://127.0.0.1:3128",
                     "https://127.0.0.1:3129"):
            h.check(want in banner, "the banner does not show %s:\n%s" % (want, banner))

        # The CLI finds the same place with no flags and no AIRLOCK_URL.
        p = cli("client", "create", "first")
        h.check_eq(p.returncode, 0, "client create with defaults: %r" % p.stderr)
        p = cli("ca", "cert")
        h.check(p.returncode == 0 and "BEGIN CERTIFICATE" in p.stdout, "ca cert with defaults")
        enforcer_pid = None
        if with_enforcer:
            st_code, status = h.api_request(sock, "GET", "/proxy/v1/status")
            enforcer_pid = (status.get("enforcer") or {}).get("pid")
        alive()

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            raise h.TestFailure("airlock up did not stop within 15 s of SIGTERM")
        h.check_eq(rc, 0, "exit status after SIGTERM; log:\n" + logs())
        for name in ("api.sock", "ipc.sock"):
            h.check(not os.path.exists(os.path.join(state, name)), "%s left behind" % name)
        if enforcer_pid:
            h.wait_for(lambda: not h.pid_alive(enforcer_pid), 5, what="the enforcer to exit")
        for mark in h.SANITIZER_MARKS:
            h.check(mark not in logs(), "sanitizer report in the log:\n" + logs())
        p = cli("client", "list")
        h.check(p.returncode == 1 and "is `airlock up` running?" in p.stderr,
                "the CLI after stop: %r" % p.stderr)
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the broker and anything it started
            except ProcessLookupError:
                pass
            proc.wait()
        subprocess.run(["rm", "-rf", home])


h.run(main)
