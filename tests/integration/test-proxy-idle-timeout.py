"""Idle keep-alive: a connection that served a request and then stays
silent is closed after --idle-timeout; one that keeps sending requests
within the timeout stays open across several timeout periods."""
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--idle-timeout", "1s"]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            busy = pt.RawConn(al.http_port)
            h.wait_for(lambda: busy.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")
            idle = pt.RawConn(al.http_port)
            h.check_eq(idle.request("GET", url, token=tok)[0], 200, "first request")
            t0 = time.time()
            for i in range(8):          # ~2.4 s of traffic, every 0.3 s
                time.sleep(0.3)
                h.check_eq(busy.request("GET", url, token=tok)[0], 200, "busy connection request %d" % i)
            h.check(idle.closed(timeout=3), "the idle connection was closed")
            took = time.time() - t0
            h.check(took < 4.5, "idle close came after %.1f s (timeout 1 s)" % took)
            al.check_alive()


h.run(main)
