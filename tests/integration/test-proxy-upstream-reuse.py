"""Keep-alive on both sides: several requests on one client connection to
the same origin travel over one upstream connection; a request to another
origin on the same client connection opens another; the client connection
survives all of it."""
import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as a, origins.HTTPOrigin() as b:
        flags = pt.pins("a.test", a.port) + pt.pins("b.test", b.port)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "a.test", "--port", str(a.port))
            pt.allow(al, "web-1", "b.test", "--port", str(b.port))
            c = pt.RawConn(al.http_port)
            ua, ub = "http://a.test:%d/echo" % a.port, "http://b.test:%d/echo" % b.port
            h.wait_for(lambda: c.request("GET", ub, token=tok)[0] == 200, timeout=5, what="allowed")
            h.wait_for(lambda: c.request("GET", ua, token=tok)[0] == 200, timeout=5, what="allowed")
            n0 = len(a.peers)
            for i in range(5):
                h.check_eq(c.request("GET", ua, token=tok)[0], 200, "GET %d" % i)
            h.check_eq(c.request("POST", ua, token=tok, body=b"x" * 1000)[0], 200, "POST")
            h.check_eq(len(set(a.peers[n0 - 1:])), 1, "one upstream connection for a.test: %s" % a.peers)
            h.check_eq(c.request("GET", ub, token=tok)[0], 200, "switch to b.test")
            h.check_eq(c.request("GET", ua, token=tok)[0], 200, "back to a.test")
            h.check_eq(len(set(a.peers)), 2, "a new upstream after switching hosts: %s" % a.peers)
            al.check_alive()


h.run(main)
