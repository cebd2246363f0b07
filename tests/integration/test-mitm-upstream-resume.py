"""airlock's own TLS connections to an origin resume their session: after
the first intercepted connection has read the origin's TLS 1.3 ticket, the
next intercepted connections (each a new sandbox connection, so each a new
upstream connection) resume it instead of a full handshake with a
certificate check; the origin sees session_reused. Twin: the first
connection did a full handshake."""
import os

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir, names=("api.test",))
        with origins.HTTPOrigin(tls=ca) as o:
            al.extra_flags += pt.pins("api.test", o.port) + ["--upstream-ca", ca.ca_cert]
            al.start()
            al.wait_ready()
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "api.test", "--port", str(o.port), "--method", "GET")
            proxy = "http://proxy:%s@127.0.0.1:%d" % (tok, al.http_port)
            cacert = os.path.join(al.state_dir, "ca.pem")
            url = "https://api.test:%d/echo" % o.port
            for i in range(4):
                r = pt.curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--cacert", cacert, url)
                h.check_eq(pt.status_of(r), "200", "intercepted request %d: %s" % (i, r.stderr))
            h.check_eq(len(o.reused), 4, "four requests reached the origin")
            h.check_eq(o.reused[0], False, "the first upstream connection: full handshake")
            h.check(all(o.reused[1:]), "later upstream connections resume: %r" % o.reused)
            h.check_eq(len(set(o.peers)), 4, "each on its own upstream connection")
            al.check_alive()


h.run(main)
