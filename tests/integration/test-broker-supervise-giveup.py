#!/usr/bin/env python3
"""An enforcer that keeps dying after it came up is restarted with growing
backoff, then given up on: after SUPERVISE_GIVEUP_COUNT (5) deaths within a
minute the broker logs why and exits 1 with its sockets removed, rather
than loop forever. Negative twin: one death is one restart and the broker
stays (test-broker-supervise.py)."""

import os
import stat
import sys
import time

import broker_harness as bh

LIB = os.path.dirname(os.path.abspath(bh.__file__))
FAKE = r'''#!%(python)s
# comes up, then dies
import os, sys, time
sys.path.insert(0, %(lib)r)
import fake_enforcer
with open(%(runs)r, "a") as f:
    f.write("%%d\n" %% os.getpid())
fake_enforcer.serve_in_background(sys.argv).wait(30)
time.sleep(0.1)
os._exit(5)
'''


def main():
    b = bh.Broker(start=False)
    try:
        runs = os.path.join(b.tmpdir, "runs")
        fake = os.path.join(b.tmpdir, "fake-enforcer")
        with open(fake, "w") as f:
            f.write(FAKE % {"python": sys.executable, "lib": LIB, "runs": runs})
        os.chmod(fake, stat.S_IRWXU)
        b.no_enforcer = False
        b.flags = ["--enforcer", fake]
        t0 = time.monotonic()
        rc = b.spawn().wait(60)
        bh.log("gave up after %.2fs" % (time.monotonic() - t0))
        bh.check_eq(rc, 1, "exit status\n" + b.log_tail())
        text = b.log_text()
        bh.check("died 5 times within 60 s; giving up" in text, "the reason:\n" + b.log_tail())
        with open(runs) as f:
            n = len(f.read().split())
        bh.check_eq(n, 5, "enforcer runs")
        bh.check(text.count("enforcer exited; restarting") == 4, "four restarts logged")
        bh.check(not os.path.exists(b.api_socket) and not os.path.exists(b.ipc_socket),
                 "sockets left behind")
        b.check_sanitizers()
    finally:
        b.close()


bh.run(main)
