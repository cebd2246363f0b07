"""An intercepted connection stays pinned to its CONNECT target: an inner
request whose Host names another host (even one the client may reach) is
refused with 403 host-mismatch and the connection closed; an absolute-form
request naming the tunnel's own host is accepted, one naming another host is
not; a Host with another port is a mismatch too."""
import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup(names=("origin.test", "other.test")) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo", "--path", "/echo/*")
        pt.allow(al, "web-1", "other.test", "--port", str(port))
        hostv = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(c.get("/echo", hostv)[0], 200, "Host names the target")
        st, hd, _ = c.get("/echo", "other.test:%d" % port)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "host-mismatch"), "Host names another host")
        h.check(c.closed(), "the connection is closed after a host mismatch")
        c = mt.Inner(al, tok, "origin.test", port)
        st, hd, _ = c.get("/echo", "origin.test:1")
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "host-mismatch"), "Host with another port")
        c = mt.Inner(al, tok, "origin.test", port)
        st, _, _ = c.get("https://origin.test:%d/echo/abs" % port, hostv)
        h.check_eq(st, 200, "absolute form naming the tunnel's own host")
        h.check_eq(s.origin.requests[-1][1], "/echo/abs", "sent upstream in origin form")
        st, hd, _ = c.get("https://other.test:%d/echo" % port, hostv)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "host-mismatch"), "absolute form naming another host")
        n = len([r for r in s.origin.requests if r[2].get("Host", "").startswith("other.test")])
        h.check_eq(n, 0, "nothing reached the origin for other.test")
        d = pt.wait_decision(al, lambda d: d.get("reason") == "host-mismatch", "host-mismatch log line")
        h.check_eq(d.get("host"), "origin.test", "logged against the CONNECT target")
        al.check_alive()


h.run(main)
