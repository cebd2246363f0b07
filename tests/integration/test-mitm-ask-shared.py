"""Requests that need the same secret while a worker's headers ask is on
its way wait for that one answer (enforcer/broker_ask.c): with the broker
stopped (SIGSTOP) for less than the ask's deadline, N requests on N
connections reach a worker that keeps no answer yet; once the broker runs
again every one is injected, and the broker answered one headers ask, not
N (each request used to write its own: under load every expiry of the
kept answer sent hundreds, bench/soak). Twin: with the broker stopped past
the deadline, every waiting request is answered 503 broker-unavailable at
the deadline (a hung broker is still found out in time), and injection
works again once it runs. The broker's debug line "headers answered"
counts the asks."""
import concurrent.futures
import os
import signal
import time

import airlock_harness as h
import mitmtest as mt
import proxytest as pt

V = mt.secret_value("shared")
N = 24
DEADLINE = 2.0   # AL_BROKER_ASK_TIMEOUT_MS


def asks(al):
    return sum(1 for l in al.log_text().splitlines() if "headers answered" in l and "secret=shared" in l)


def main():
    with mt.Setup(flags=["--debug", "--workers", "1"]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "shared", "origin.test", V)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--secret", "shared")
        hostv = "origin.test:%d" % port
        conns = [mt.Inner(al, tok, "origin.test", port) for _ in range(N)]
        for c in conns:
            h.check_eq(c.connect_status, 200, "CONNECT")

        def one(i):
            t = time.monotonic()
            st, hd, body = conns[i].get("/echo/%d" % i, hostv)
            injected = st == 200 and mt.carried(body, "Bearer " + V)
            return st, hd.get("x-airlock-reason"), injected, time.monotonic() - t

        def burst(stop_for):
            """N requests at once while the broker is stopped for stop_for s."""
            before = asks(al)
            pid = al.broker_pid()
            os.kill(pid, signal.SIGSTOP)
            try:
                with concurrent.futures.ThreadPoolExecutor(N) as ex:
                    futs = [ex.submit(one, i) for i in range(N)]
                    time.sleep(stop_for)
                    os.kill(pid, signal.SIGCONT)
                    res = [f.result() for f in futs]
            finally:
                os.kill(pid, signal.SIGCONT)
            return res, before

        # shorter than the deadline: one ask, every request injected
        res, before = burst(0.8)
        waited = sum(1 for r in res if r[3] >= 0.4)
        h.log("%d requests, %d waited for the stopped broker; statuses %s"
              % (N, waited, sorted(set(r[0] for r in res))))
        for i, (st, why, injected, took) in enumerate(res):
            h.check(st == 200 and injected, "request %d injected after the short stop (%d %s)" % (i, st, why))
        h.check(waited >= N // 2, "the requests waited for the broker together (%d of %d)" % (waited, N))
        h.wait_for(lambda: asks(al) > before, timeout=5, what="the broker's debug line")
        got = asks(al) - before
        h.log("the broker answered %d headers asks for %d waiting requests" % (got, waited))
        h.check_eq(got, 1, "one ask for requests that waited together")

        # the kept answer goes after a second; past the deadline: 503 at the deadline
        time.sleep(1.3)
        res, _ = burst(DEADLINE + 1.5)
        for i, (st, why, injected, took) in enumerate(res):
            h.check(st == 503 and why == "broker-unavailable",
                    "request %d refused while the broker hangs (%d %s)" % (i, st, why))
            h.check(took < DEADLINE + 1.2, "request %d refused at the deadline, not later (%.2fs)" % (i, took))
        for c in conns:
            c.close()

        def injected_again():
            c = mt.Inner(al, tok, "origin.test", port)
            st, _, body = c.get("/echo/again", hostv)
            c.close()
            return st == 200 and mt.carried(body, "Bearer " + V)
        h.wait_for(injected_again, timeout=5, what="injection once the broker runs again")
        mt.check_no_secret(al, V)
        al.check_alive()


h.run(main)
