"""TRACE and TRACK are refused with 405 even where a rule allows every
method (they would echo an injected credential back). Twin: GET works."""
import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="GET allowed")
        n = len(o.requests)
        st, hd, _ = c.request("TRACE", url, token=tok)
        h.check_eq(st, 405, "TRACE")
        h.check_eq(hd.get("x-airlock-reason"), "trace-refused", "TRACE reason")
        st, _, _ = c.request("GET", url, token=tok)
        h.check_eq(st, 200, "GET after TRACE on the same connection")
        c2 = pt.RawConn(al.http_port)
        st, hd, _ = c2.request("TRACK", url, token=tok)
        h.check_eq(st, 405, "TRACK")
        st, _, _ = pt.RawConn(al.http_port).request("TRACE", url)
        h.check_eq(st, 405, "TRACE without credentials is still 405")
        h.check_eq(len(o.requests), n + 1, "TRACE/TRACK never reached the origin")
        al.check_alive()


h.run(main)
