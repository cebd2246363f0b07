#!/usr/bin/env python3
"""Enforcer supervision: the broker spawns the program given with
--enforcer, passing --state-dir, --ipc-socket and the proxy flags as given;
restarts it with backoff when it dies (crash at start, kill -9 later) while
the API keeps answering; stops it on SIGTERM (and SIGKILLs one that ignores
SIGTERM after the grace period); exits 0 with the sockets gone. Negative
twin: a missing enforcer binary is a single warning and the API serves."""

import json
import os
import signal
import stat
import sys
import time

import broker_harness as bh

FAKE = r'''#!%(python)s
# stand-in enforcer: records its argv, crashes on its first run
import json, os, signal, sys, time
d = %(dir)r
with open(os.path.join(d, "runs.jsonl"), "a") as f:
    f.write(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:]}) + "\n")
runs = sum(1 for _ in open(os.path.join(d, "runs.jsonl")))
if runs == 1:
    sys.exit(3)
if os.path.exists(os.path.join(d, "ignore-term")):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
            f.write(FAKE % {"python": sys.executable, "dir": b.tmpdir})
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
    with bh.Broker(start=False) as b:
        b.no_enforcer = False
        b.flags = ["--enforcer", os.path.join(b.tmpdir, "no-such-enforcer")]
        b.start()
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        st = b.must(200, "GET", "/proxy/v1/status")
        bh.check(st["enforcer"]["running"] is False, "not running")
        bh.check_eq(b.log_text().count("airlock-enforcer not found"), 1, "warned once")


def main():
    one_run(ignore_term=False)
    one_run(ignore_term=True)
    missing()


bh.run(main)
