"""The total connection cap (--max-conns) counts authenticated connections:
past it the first request with a valid token on a new connection is
answered 503 (total-connection-cap) and that connection closed, whoever it
is; when one closes, a new one is served. (Before a valid token, a
connection counts in the pre-auth budget instead: test-proxy-preauth-caps.)"""
import airlock_harness as h
import origins
import proxytest as pt

CAP = 4


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--max-conns", str(CAP)]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port

            def fresh(hd=None):
                try:
                    c = pt.RawConn(al.http_port)
                    st, h_, _ = c.request("GET", url, token=tok)
                    if hd is not None:
                        hd.update(h_)
                    return c, st
                except (EOFError, OSError):
                    return None, None
            h.wait_for(lambda: fresh()[1] == 200, timeout=5, what="allowed")
            held = []
            for i in range(CAP):
                c, st = None, None
                for attempt in range(50):
                    c, st = fresh()
                    if st == 200:
                        break
                h.check_eq(st, 200, "connection %d of %d" % (i + 1, CAP))
                held.append(c)
            hd = {}
            c, st = fresh(hd)
            h.check_eq(st, 503, "connection %d: its first authenticated request" % (CAP + 1))
            h.check_eq(hd.get("x-airlock-reason"), "total-connection-cap", "reason")
            h.check(c.closed(), "connection %d is closed after the 503" % (CAP + 1))
            held.pop().close()
            h.wait_for(lambda: fresh()[1] == 200, timeout=5, what="served again after a close")
            for c in held:
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "held connections still work")
            al.check_alive()


h.run(main)
