#!/usr/bin/env python3
"""Enforcer supervision: the broker spawns the program given with
--enforcer, passing --state-dir, --ipc-socket and the proxy flags as given;
restarts it with backoff when it dies after it said it listens (a crash,
kill -9) while the API keeps answering; stops it on SIGTERM (and SIGKILLs
one that ignores SIGTERM after the grace period); exits 0 with the sockets
gone. Negative twins: a missing enforcer binary fails the start (exit 1,
the reason on stderr); an enforcer that exits before it listens fails the
start at once, with no restart."""

import json
import os
import signal
import stat
import sys
import time

import broker_harness as bh

LIB = os.path.dirname(os.path.abspath(bh.__file__))

FAKE = r'''#!%(python)s
# stand-in enforcer: records its argv, says it listens, and crashes on its
# first run once the broker took it as up (or at once with "early-exit")
import json, os, signal, sys, time
sys.path.insert(0, %(lib)r)
import fake_enforcer
d = %(dir)r
with open(os.path.join(d, "runs.jsonl"), "a") as f:
    f.write(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:]}) + "\n")
if os.path.exists(os.path.join(d, "early-exit")):
    print("fake enforcer: cannot bind: Address already in use", file=sys.stderr, flush=True)
    sys.exit(4)
runs = sum(1 for _ in open(os.path.join(d, "runs.jsonl")))
if os.path.exists(os.path.join(d, "ignore-term")):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
up = fake_enforcer.serve_in_background(sys.argv)
if runs == 1:
    up.wait(30)
    time.sleep(0.2)
    os._exit(3)
while True:
    time.sleep(1)
'''


def runs(d):
    try:
        with open(os.path.join(d, "runs.jsonl")) as f:
            return [json.loads(x) for x in f]
    except FileNotFoundError:
        return []


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def one_run(ignore_term):
    b = bh.Broker(start=False)
    try:
        fake = os.path.join(b.tmpdir, "fake-enforcer")
        with open(fake, "w") as f:
            f.write(FAKE % {"python": sys.executable, "dir": b.tmpdir, "lib": LIB})
        os.chmod(fake, stat.S_IRWXU)
        if ignore_term:
            open(os.path.join(b.tmpdir, "ignore-term"), "w").close()
        b.no_enforcer = False
        b.flags = ["--enforcer", fake, "--http-port", "4128", "--mode", "audit",
                   "--deny-cidr", "10.0.0.0/8", "--deny-cidr", "192.168.0.0/16",
                   "--resolve", "a.example:443:127.0.0.1"]
        b.start()

        # first run crashes; the second one stays up
        st = bh.wait_for(lambda: (lambda s: s if s["enforcer"]["running"] and
                                  s["enforcer"]["restarts"] >= 1 else None)(
            b.must(200, "GET", "/proxy/v1/status")), timeout=10, what="restarted enforcer")
        r = bh.wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(runs(b.tmpdir)),
                        timeout=10, what="the second run to record itself")
        argv = r[-1]["argv"]
        bh.check_eq(argv[:4], ["--state-dir", b.state_dir, "--ipc-socket", b.ipc_socket],
                    "state dir and ipc socket first")
        bh.check_eq(argv[4:], ["--http-port", "4128", "--mode", "audit",
                               "--deny-cidr", "10.0.0.0/8", "--deny-cidr", "192.168.0.0/16",
                               "--resolve", "a.example:443:127.0.0.1"], "proxy flags as given")
        pid = st["enforcer"]["pid"]
        bh.check_eq(pid, r[-1]["pid"], "status pid")
        bh.check_eq(len(r), 2, "one crash, one restart")

        # kill -9: restarted, API answering all along
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        bh.wait_for(lambda: len(runs(b.tmpdir)) >= 3, timeout=10, what="restart after kill")
        bh.log("restart after kill -9 in %.2fs" % (time.monotonic() - t0))
        b.must(201, "POST", "/proxy/v1/clients", {"name": "still-serving"})
        st = bh.wait_for(lambda: (lambda s: s if s["enforcer"]["running"] else None)(
            b.must(200, "GET", "/proxy/v1/status")), timeout=10, what="running again")
        bh.check(st["enforcer"]["restarts"] >= 2, "restarts counted")
        pid = st["enforcer"]["pid"]

        t0 = time.monotonic()
        b.stop()
        took = time.monotonic() - t0
        bh.check(not alive(pid), "enforcer outlived the broker")
        bh.log("stop took %.2fs (ignore_term=%s)" % (took, ignore_term))
        if ignore_term:
            bh.check(took >= 2.5, "SIGKILL came after the grace period")
            bh.check("killing it" in b.log_text(), "kill logged")
    finally:
        b.close()


def missing():
    b = bh.Broker(start=False)
    try:
        b.no_enforcer = False
        b.flags = ["--enforcer", os.path.join(b.tmpdir, "no-such-enforcer")]
        rc = b.spawn().wait(15)
        bh.check_eq(rc, 1, "exit status without an enforcer")
        bh.check("is not an executable file" in b.log_text(), "the reason said:\n" + b.log_tail())
        bh.check(not os.path.exists(b.api_socket), "api.sock left behind")
    finally:
        b.close()


def early_exit():
    """An enforcer that exits before it listens fails the start: exit 1
    within seconds, its reason and the broker's on stderr, no restart."""
    b = bh.Broker(start=False)
    try:
        fake = os.path.join(b.tmpdir, "fake-enforcer")
        with open(fake, "w") as f:
            f.write(FAKE % {"python": sys.executable, "dir": b.tmpdir, "lib": LIB})
        os.chmod(fake, stat.S_IRWXU)
        open(os.path.join(b.tmpdir, "early-exit"), "w").close()
        b.no_enforcer = False
        b.flags = ["--enforcer", fake, "--banner"]
        t0 = time.monotonic()
        rc = b.spawn().wait(15)
        took = time.monotonic() - t0
        bh.log("failed start took %.2fs" % took)
        bh.check_eq(rc, 1, "exit status\n" + b.log_tail())
        text = b.log_text()
        bh.check("Address already in use" in text, "the enforcer's reason shown")
        bh.check("before it was listening" in text, "the broker's reason shown")
        bh.check("airlock is up" not in text, "no banner for a start that failed")
        bh.check_eq(len(runs(b.tmpdir)), 1, "not restarted")
        bh.check(not os.path.exists(b.api_socket) and not os.path.exists(b.ipc_socket),
                 "sockets left behind")
    finally:
        b.close()


def main():
    one_run(ignore_term=False)
    one_run(ignore_term=True)
    missing()
    early_exit()


bh.run(main)
