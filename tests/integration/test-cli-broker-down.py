"""When no broker listens, every command that needs it fails fast and clearly:
exit 1, nothing on stdout, exactly one line on stderr:
  airlock: cannot reach the broker at PATH: is `airlock up` running?
with PATH the socket it tried: --url beats AIRLOCK_URL, which beats the state
dir's api.sock. Positive twin: the same commands work once airlock is up."""

import os
import subprocess
import tempfile
import time

import airlock_harness as h

COMMANDS = [
    ["client", "create", "web-1"], ["client", "list"], ["client", "list", "--json"],
    ["client", "delete", "web-1"],
    ["secret", "list"], ["secret", "delete", "x"],
    ["allow", "web-1", "--host", "a.example.com"], ["rules", "web-1"],
    ["revoke", "web-1", "--host", "a.example.com"],
    ["revoke", "web-1", "--host", "a.example.com", "--method", "GET"],
]


def main():
    h.require_binaries("airlock")
    tmp = tempfile.mkdtemp(prefix="airlock-down-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    state = os.path.join(tmp, "state")
    env_sock = os.path.join(tmp, "env.sock")
    flag_sock = os.path.join(tmp, "flag.sock")

    def cli(args, env, input=None):
        t0 = time.monotonic()
        p = subprocess.run([h.binary("airlock")] + args, capture_output=True, text=True,
                           env=env, input=input, timeout=60)
        return p, time.monotonic() - t0

    def expect_down(args, env, path, input=None):
        p, took = cli(args, env, input)
        what = "airlock " + " ".join(args)
        h.check_eq(p.returncode, 1, what + " exit status (stderr %r)" % p.stderr)
        h.check_eq(p.stdout, "", what + " stdout")
        h.check_eq(p.stderr, "airlock: cannot reach the broker at %s: is `airlock up` running?\n"
                   % path, what + " stderr")
        h.check(took < 10, "%s took %.1fs to notice" % (what, took))

    try:
        for args in COMMANDS:
            expect_down(["--state-dir", state] + args, base, os.path.join(state, "api.sock"))
            expect_down(args, dict(base, AIRLOCK_STATE_DIR=state, AIRLOCK_URL=env_sock), env_sock)
            expect_down(args + ["--url", flag_sock], dict(base, AIRLOCK_URL=env_sock), flag_sock)
        # secret create reads its value first, then fails the same way
        expect_down(["secret", "create", "s", "--host", "a.example.com", "--value-file", "-"],
                    dict(base, AIRLOCK_URL=env_sock), env_sock, input="v-123")
        # a path that exists but is not a socket
        notsock = os.path.join(tmp, "file")
        open(notsock, "w").close()
        expect_down(["client", "list"], dict(base, AIRLOCK_URL=notsock), notsock)
    finally:
        subprocess.run(["rm", "-rf", tmp])

    # positive twin
    with h.Airlock() as al:
        for args in (["client", "create", "web-1"], ["client", "list"], ["rules", "web-1"]):
            p = al.cli(*args)
            h.check_eq(p.returncode, 0, "airlock %s with the broker up: %r"
                       % (" ".join(args), p.stderr))


h.run(main)
