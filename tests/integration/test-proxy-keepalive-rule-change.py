"""Rule changes apply to the very next request inside an open keep-alive
connection: denied -> rule added -> allowed -> rule revoked -> denied, and
a rule with a TTL stops matching when it runs out - all on one connection
that the proxy never closes."""
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        get = lambda: c.request("GET", url, token=tok)[0]

        h.check_eq(get(), 403, "before any rule")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        t0 = time.time()
        h.wait_for(lambda: get() == 200, timeout=10, what="allowed on the same connection")
        h.log("rule added -> allowed after %.0f ms" % ((time.time() - t0) * 1000))
        h.check_eq(get(), 200, "still allowed")
        pt.revoke(al, "web-1", "origin.test")
        h.wait_for(lambda: get() == 403, timeout=10, what="denied after revoke, same connection")

        # the TTL runs from the rule's creation: long enough that a slow
        # CLI call and policy push (sanitizers, a loaded machine) still see
        # it allow before it runs out
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--ttl", "5s")
        h.wait_for(lambda: get() == 200, timeout=5, what="allowed by the TTL rule")
        h.wait_for(lambda: get() == 403, timeout=15, interval=0.1, what="denied once the TTL ran out")
        # one connection throughout
        c.send(b"GET %s HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: %s\r\n\r\n"
               % (url.encode(), pt.basic(tok).encode()))
        st, _, _ = c.read_response()
        h.check_eq(st, 403, "the connection is still the same one")
        c.close()
        al.check_alive()


h.run(main)
