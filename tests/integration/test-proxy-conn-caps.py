"""Connection caps: past --max-conns-per-client a client's next connection
is refused with 429 and closed while another client is unaffected; closing
one connection frees a slot."""
import airlock_harness as h
import origins
import proxytest as pt

CAP = 3


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--max-conns-per-client", str(CAP)]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            tok2 = pt.client(al, "web-2")
            for n in ("web-1", "web-2"):
                pt.allow(al, n, "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            first = pt.RawConn(al.http_port)
            h.wait_for(lambda: first.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")
            conns = [first]
            for i in range(CAP - 1):
                c = pt.RawConn(al.http_port)
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "connection %d of %d" % (i + 2, CAP))
                conns.append(c)
            extra = pt.RawConn(al.http_port)
            st, hd, _ = extra.request("GET", url, token=tok)
            h.check_eq(st, 429, "connection %d" % (CAP + 1))
            h.check_eq(hd.get("x-airlock-reason"), "too-many-connections", "reason")
            h.check(extra.closed(), "the refused connection is closed")
            other = pt.RawConn(al.http_port)
            h.check_eq(other.request("GET", url, token=tok2)[0], 200, "another client is unaffected")
            for c in conns:
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "open connections keep working")
            conns[0].close()

            def fresh():
                # a refused connection is closed, so each try is a new one
                try:
                    return pt.RawConn(al.http_port).request("GET", url, token=tok)[0]
                except EOFError:
                    return None
            h.wait_for(lambda: fresh() == 200, timeout=5, what="a slot is free again after a close")
            al.check_alive()


h.run(main)
