#!/usr/bin/env python3
"""An enforcer outlives a broker killed with -9; the next broker on the
same state dir adopts it (no second enforcer that could not bind the
ports), reports it in status, starts its own when the adopted one exits,
and stops an adopted enforcer on SIGTERM like its own. Negative twin: a
stale enforcer.pid naming a process that is not that enforcer (another
start time) is ignored and a fresh enforcer is spawned."""

import json
import os
import signal
import stat
import sys

import broker_harness as bh

FAKE = r'''#!%(python)s
import json, os, sys, time
sys.path.insert(0, %(lib)r)
import fake_enforcer
fake_enforcer.serve_in_background(sys.argv)
with open(%(runs)r, "a") as f:
    f.write(json.dumps({"pid": os.getpid()}) + "\n")
while True:
    time.sleep(1)
'''


def runs(path):
    try:
        with open(path) as f:
            return [json.loads(x)["pid"] for x in f]
    except FileNotFoundError:
        return []


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def status(b):
    return b.must(200, "GET", "/proxy/v1/status")["enforcer"]


def main():
    b = bh.Broker(start=False)
    orphan = None
    try:
        runs_path = os.path.join(b.tmpdir, "runs.jsonl")
        fake = os.path.join(b.tmpdir, "fake-enforcer")
        with open(fake, "w") as f:
            f.write(FAKE % {"python": sys.executable, "runs": runs_path,
                           "lib": os.path.dirname(os.path.abspath(bh.__file__))})
        os.chmod(fake, stat.S_IRWXU)
        b.no_enforcer = False
        b.flags = ["--enforcer", fake]
        b.start()
        first = bh.wait_for(lambda: runs(runs_path), timeout=10, what="enforcer")[0]
        bh.check_eq(status(b)["pid"], first, "status pid")

        # kill -9 the broker alone: its enforcer lives on
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait(10)
        orphan = first
        bh.check(alive(first), "the enforcer outlived the broker")

        b.start()
        # ready once the adopted enforcer has reconnected and said it listens
        bh.wait_for(lambda: b.log_text().count("airlock is up") >= 2, timeout=20,
                    what="the adopted enforcer to report in")
        st = status(b)
        bh.check_eq((st["running"], st["pid"], st["restarts"]), (True, first, 0),
                    "adopted, not restarted")
        bh.check_eq(runs(runs_path), [first], "no second enforcer was started")
        bh.check("adopted" in b.log_text(), "adoption logged")

        # the adopted one exits: the broker starts its own
        os.kill(first, signal.SIGKILL)
        second = bh.wait_for(lambda: (lambda r: r[1] if len(r) > 1 else None)(runs(runs_path)),
                             timeout=10, what="a new enforcer after the adopted one died")
        orphan = None
        st = bh.wait_for(lambda: (lambda e: e if e["running"] and e["pid"] == second else None)(
            status(b)), timeout=10, what="status of the new enforcer")
        bh.check_eq(st["restarts"], 1, "counted as a restart")

        # adopt again, then a clean stop takes the adopted one down too
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait(10)
        orphan = second
        b.start()
        bh.check_eq(status(b)["pid"], second, "adopted the second one")
        b.stop()
        bh.check(not alive(second), "a clean stop stops the adopted enforcer")
        orphan = None
        bh.check(not os.path.exists(os.path.join(b.state_dir, "enforcer.pid")),
                 "no pid file after a clean stop")

        # negative twin: a pid file naming another process is ignored
        with open(os.path.join(b.state_dir, "enforcer.pid"), "w") as f:
            f.write("%d 12345\n" % os.getpid())
        b.start()
        third = bh.wait_for(lambda: (lambda r: r[2] if len(r) > 2 else None)(runs(runs_path)),
                            timeout=10, what="a fresh enforcer")
        bh.check(third != os.getpid(), "did not adopt the test process")
        bh.check(alive(os.getpid()), "and did not kill it")
        b.stop()
        bh.check(not alive(third), "stopped")
    finally:
        if orphan and alive(orphan):
            os.kill(orphan, signal.SIGKILL)
        b.close()


bh.run(main)
