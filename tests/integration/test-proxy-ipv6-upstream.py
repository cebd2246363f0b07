"""IPv6 upstreams: a name pinned to [::1] with --resolve is reached over
IPv6 for an absolute-URI request and through a CONNECT tunnel; the literal
[::1] asked for directly stays denied."""
import socket

import airlock_harness as h
import origins
import proxytest as pt


def main():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        h.skip("no IPv6 loopback here")
    with origins.HTTPOrigin(host="::1") as o, \
            h.Airlock(extra_flags=pt.pins("v6.test", o.port, addr="[::1]")) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "*", "--port", str(o.port))
        c = pt.RawConn(al.http_port)
        url = "http://v6.test:%d/echo" % o.port
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="GET over IPv6")
        st, hd, _ = c.request("GET", "http://[::1]:%d/echo" % o.port, token=tok)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "denied-address"), "literal ::1")
        t = pt.RawConn(al.http_port)
        st, _, _ = t.request("CONNECT", "v6.test:%d" % o.port, token=tok)
        h.check_eq(st, 200, "CONNECT to the pinned IPv6 name")
        t.send(b"GET /echo HTTP/1.1\r\nHost: v6.test\r\n\r\n")
        st, _, body = t.read_response()
        h.check_eq(st, 200, "request inside the IPv6 tunnel")
        al.check_alive()


h.run(main)
