"""`airlock up --state-dir state` (a relative path) runs the broker on the
absolute path of that directory: the banner and GET /proxy/v1/status show
absolute paths, and a CLI started from another directory reaches it. The
negative twin: the same relative name from another directory is another
state dir (nothing there, the CLI says the broker is not running)."""

import os
import signal
import subprocess
import tempfile

import airlock_harness as h


def main():
    h.require_binaries("airlock", "airlock-broker")
    tmp = tempfile.mkdtemp(prefix="airlock-rel-")
    work = os.path.join(tmp, "work")
    other = os.path.join(tmp, "other")
    os.mkdir(work)
    os.mkdir(other)
    state = os.path.join(work, "state")
    sock = os.path.join(state, "api.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    argv = [h.binary("airlock"), "up", "--state-dir", "state", "--http-port", str(h.free_port()),
            "--https-port", str(h.free_port())]
    if not h.have_binary("airlock-enforcer"):
        argv.append("--no-enforcer")
    out_path = os.path.join(tmp, "up.out")
    proc = None
    try:
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(argv, cwd=work, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)

        def ready():
            if proc.poll() is not None:
                raise h.TestFailure("airlock up exited: %s\n%s" % (proc.returncode,
                                                                  open(out_path).read()))
            try:
                return h.api_request(sock, "GET", "/proxy/v1/status", timeout=2)[0] == 200
            except OSError:
                return False

        h.wait_for(ready, what="airlock up --state-dir state")
        st, status = h.api_request(sock, "GET", "/proxy/v1/status")
        h.check_eq(status.get("state_dir"), state, "status state_dir is absolute")
        h.check_eq(status.get("api_socket"), sock, "status api_socket is absolute")
        h.wait_for(lambda: sock in open(out_path).read(), 5, what="the banner")

        def cli(cwd, *args, extra=None):
            return subprocess.run([h.binary("airlock")] + list(args), cwd=cwd, capture_output=True,
                                  text=True, env=dict(env, **(extra or {})), timeout=60)

        p = cli(other, "client", "create", "web-1", extra={"AIRLOCK_URL": sock})
        h.check_eq(p.returncode, 0, "CLI from another directory: %r" % p.stderr)
        p = cli(work, "--state-dir", "state", "client", "list")
        h.check(p.returncode == 0 and "web-1" in p.stdout, "CLI with the same relative dir")
        # negative twin: "state" from elsewhere is another (empty) state dir
        p = cli(other, "--state-dir", "state", "client", "list")
        h.check(p.returncode == 1 and "cannot reach the broker at state/api.sock" in p.stderr,
                "relative dir elsewhere: %r" % p.stderr)
        h.check(not os.path.exists(os.path.join(other, "state")), "a state dir made elsewhere")

        proc.send_signal(signal.SIGTERM)
        h.check_eq(proc.wait(15), 0, "exit status after SIGTERM")
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        subprocess.run(["rm", "-rf", tmp])


h.run(main)
