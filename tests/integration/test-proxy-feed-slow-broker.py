"""The decision feed never slows the proxy: with the broker stopped
(SIGSTOP: it reads nothing, so the worker links fill), allowed requests that
need no secret are all answered while it is stopped; the lines the broker could not
take are dropped and counted (airlock_decision_feed_dropped_total) once it
runs again, and the live view works again for the next decision. Twin:
before the stop nothing was dropped."""
import concurrent.futures
import os
import re
import signal
import threading
import time

import airlock_harness as h
import origins
import proxytest as pt


def dropped(al):
    st, text = al.api("GET", "/metrics")
    m = re.search(r"^airlock_decision_feed_dropped_total (\d+)$", text, re.M)
    return int(m.group(1)) if m else -1


N = 800      # ~1.6 KB lines: more than a unix socket buffer and the link's queue cap
CONNS = 40
STOPPED_MAX_S = 120  # far beyond the burst's time; a request blocked on the broker never ends


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--workers", "1"]) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo", "--path", "/echo/*")
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")
        h.wait_for(lambda: dropped(al) == 0, timeout=5, what="the metrics")
        # long paths make long lines: the link's queue fills quickly
        long_path = "/echo/" + "p" * 1500
        def burst(what):
            """N requests over CONNS connections at once: (seconds, slowest)."""
            def run(k):
                cc = pt.RawConn(al.http_port)
                worst = 0.0
                for i in range(k, N, CONNS):
                    t = time.monotonic()
                    st, _, _ = cc.request("GET", "http://origin.test:%d%s?%d" % (o.port, long_path, i), token=tok)
                    worst = max(worst, time.monotonic() - t)
                    h.check_eq(st, 200, "request %d %s" % (i, what))
                cc.close()
                return worst
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(CONNS) as ex:
                worst = max(ex.map(run, range(CONNS)))
            return time.monotonic() - t0, worst

        base, _ = burst("with the broker running")
        h.wait_for(lambda: dropped(al) == 0, timeout=5, what="nothing dropped while the broker reads")
        # the proof is that the burst ends while the broker is still
        # stopped: a request that waited for the broker would wait until
        # SIGCONT. (Times are logged only: speed is bench/run's business.)
        os.kill(al.broker_pid(), signal.SIGSTOP)
        got = {}

        def stopped_burst():
            try:
                got["r"] = burst("with the broker stopped")
            except Exception as e:      # a failed check in the burst, raised below
                got["e"] = e
        t = threading.Thread(target=stopped_burst, daemon=True)
        try:
            t.start()
            t.join(STOPPED_MAX_S)
            done = not t.is_alive()
        finally:
            os.kill(al.broker_pid(), signal.SIGCONT)
        h.check(done, "all %d requests answered while the broker was stopped" % N)
        t.join()
        if "e" in got:
            raise got["e"]
        took, worst = got["r"]
        h.log("%d requests: %.2fs with the broker running, %.2fs with it stopped (slowest %.1f ms)"
              % (N, base, took, worst * 1000))
        # no per-line wait either (a timeout on the link instead of a drop):
        # one request would take that long; this bound is far above a loaded
        # sanitizer build's slowest request
        h.check(worst < 10.0, "no request waited on the stopped broker (slowest %.3fs)" % worst)
        h.wait_for(lambda: dropped(al) > 0, timeout=10, what="dropped lines counted")
        # the feed works again
        st, hd, _ = c.request("GET", "http://origin.test:%d/nope" % o.port, token=tok)
        rid = hd["x-airlock-request-id"]

        def seen():
            st, body = al.api("GET", "/proxy/v1/decisions?verdict=deny")
            return rid in (body if isinstance(body, str) else str(body))
        h.wait_for(seen, timeout=5, what="the next decision in the live view")
        al.check_alive()


h.run(main)
