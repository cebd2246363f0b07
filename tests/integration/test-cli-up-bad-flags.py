"""`airlock up` checks its flags before anything starts: a bad value is a
usage error (exit 2, one line on stderr naming the flag) and nothing is
created: no state dir, no socket, no daemon. The positive twin: the same
flags with good values start it (checked on a temp state dir and free ports,
with every documented flag given once)."""

import os
import subprocess
import tempfile

import airlock_harness as h

BAD = [
    ["--bind", "127.0.0.300"], ["--bind", "example.com"], ["--http-port", "0"],
    ["--https-port", "65536"], ["--http-port", "80x"], ["--mode", "permissive"],
    ["--deny-cidr", "10.0.0.0/33"], ["--deny-cidr", "10.1.0.0/8"], ["--san", "bad name!"],
    ["--resolve", "api.example.com:443"], ["--resolve", "api.example.com:0:127.0.0.1"],
    ["--resolve", "api.example.com:443:not-an-ip"], ["--upstream-ca", "/nonexistent.pem"],
    ["--log-format", "yaml"], ["--state-dir", ""], ["--seal-key-file", ""],
    ["--frobnicate"], ["--san"], ["extra-argument"], ["--workers", "0"], ["--workers", "x"],
    ["--max-headers", "-1"], ["--max-head-bytes", "100"], ["--head-timeout", "2h"],
    ["--idle-timeout", "0ms"], ["--connect-timeout", "soon"], ["--max-conns", "1e6"],
    ["--mode", "strict", "--mode", "strict"],
]


def main():
    h.require_binaries("airlock", "airlock-broker")
    tmp = tempfile.mkdtemp(prefix="airlock-badflags-")
    state = os.path.join(tmp, "state")
    try:
        for flags in BAD:
            p = subprocess.run([h.binary("airlock"), "up", "--state-dir", state] + flags,
                               capture_output=True, text=True, timeout=30)
            what = "airlock up %s" % " ".join(flags)
            h.check_eq(p.returncode, 2, what + " exit status; stderr %r" % p.stderr)
            h.check(p.stderr.startswith("airlock: up: ") and p.stderr.count("\n") == 1,
                    "%s: not one line on stderr: %r" % (what, p.stderr))
            name = flags[0] if flags[0].startswith("--") else "unexpected"
            if flags.count(flags[0]) > 1:
                name = "twice"
            h.check(name in p.stderr, "%s: stderr %r does not name %s" % (what, p.stderr, name))
            h.check(not os.path.exists(state), "%s created the state dir" % what)
    finally:
        subprocess.run(["rm", "-rf", tmp])

    # positive twin: every flag, good values
    flags = ["--bind", "127.0.0.1", "--mode", "audit", "--deny-cidr", "10.0.0.0/8",
             "--deny-cidr", "fd00::/8", "--san", "proxy.internal", "--san", "127.0.0.1",
             "--resolve", "api.example.com:443:127.0.0.1", "--resolve", "v6.example.com:443:[::1]",
             "--log-format", "kv", "--workers", "2", "--max-head-bytes", "32768",
             "--max-headers", "50", "--head-timeout", "500ms", "--idle-timeout", "30s",
             "--connect-timeout", "5s", "--upstream-idle-timeout", "2m",
             "--max-conns-per-client", "64", "--max-conns", "1000"]
    system_ca = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(system_ca):
        flags += ["--upstream-ca", system_ca]
    with h.Airlock(extra_flags=flags) as al:
        st = al.status()
        h.check_eq(st.get("mode"), "audit", "--mode reached the broker")
        al.check_alive()


h.run(main)
