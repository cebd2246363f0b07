"""The total connection cap (--max-conns): past it a new connection is
closed at once, whoever it is; when one closes, a new one is served."""
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

            def fresh():
                try:
                    c = pt.RawConn(al.http_port)
                    return c, c.request("GET", url, token=tok)[0]
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
            c, st = fresh()
            h.check(st is None, "connection %d is closed at once (got %s)" % (CAP + 1, st))
            held.pop().close()
            h.wait_for(lambda: fresh()[1] == 200, timeout=5, what="served again after a close")
            for c in held:
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "held connections still work")
            al.check_alive()


h.run(main)
