"""airlock's own connections to an origin outlive the sandbox connection
that opened them, for that client only, and resume their TLS session when
they are new.

A sandbox that opens a new connection per request (curl, most CLIs) gets,
after the first, the idle upstream connection its previous connection left,
already at its CONNECT (the origin accepts one connection per worker for
four sandbox connections; a TLS handshake upstream only that often). Another client never gets it: its first request opens
a connection of its own, which resumes airlock's TLS session with the
origin (session_reused at the origin) instead of a full handshake. A policy
change closes the parked connections: the next request opens a new one
(resumed). The decision log is the same as without the pool."""
import os
import time

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
            toks = {n: pt.client(al, n) for n in ("web-1", "web-2")}
            for n in toks:
                pt.allow(al, n, "api.test", "--port", str(o.port), "--method", "GET")
            cacert = os.path.join(al.state_dir, "ca.pem")
            url = "https://api.test:%d/echo" % o.port

            def get(name, what):
                proxy = "http://proxy:%s@127.0.0.1:%d" % (toks[name], al.http_port)
                r = pt.curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--cacert", cacert, url)
                h.check_eq(pt.status_of(r), "200", "%s: %s" % (what, r.stderr))

            for i in range(4):
                get("web-1", "web-1, sandbox connection %d" % i)
            h.check_eq(len(o.peers), 4, "four requests reached the origin")
            h.check_eq(o.reused[0], False, "the first upstream connection: a full handshake")
            # both workers may have served web-1: at most one upstream connection each
            web1 = set(o.peers)
            h.check(len(web1) <= 2, "web-1's four sandbox connections share its upstream ones: %r" % o.peers)
            h.check(o.accepted <= 2, "and no upstream connection was opened only to be dropped "
                    "(the CONNECT takes the parked one too): %d accepted" % o.accepted)

            get("web-2", "web-2")
            h.check(o.peers[-1] not in web1, "web-2 never gets web-1's connection: %r" % o.peers)
            h.check_eq(o.reused[-1], True, "web-2's new upstream connection resumes the TLS session")

            # a policy change, seen to arrive: web-2 may POST now
            pt.allow(al, "web-2", "api.test", "--port", str(o.port), "--method", "POST")
            proxy2 = "http://proxy:%s@127.0.0.1:%d" % (toks["web-2"], al.http_port)
            h.wait_for(lambda: pt.status_of(pt.curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy2,
                                                    "--cacert", cacert, "-d", "x", url)) == "200",
                       timeout=10, what="the policy change reaching the workers")
            time.sleep(0.5)   # both workers swap on the same signal (margin for a loaded machine)
            before = set(o.peers)
            get("web-1", "web-1 after a policy change")
            h.check(o.peers[-1] not in before, "a policy change closed the parked connections: %r" % o.peers)
            h.check_eq(o.reused[-1], True, "and the new one resumes")

            ds = [d for d in pt.decisions(al) if d.get("path") == "/echo" and d.get("method") == "GET"]
            h.check_eq(len(ds), 6, "one decision line per GET")
            h.check(all(d["verdict"] == "allow" for d in ds), "all allowed")
            al.check_alive()


h.run(main)
