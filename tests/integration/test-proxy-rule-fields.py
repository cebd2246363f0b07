"""Each rule field and its negative twin, over plain HTTP: exact host,
*.suffix (not the apex), "*", ports (explicit, not others), methods, paths
(exact; /x/* covers /x/ and below, never /x or /x10), and first match in
declaration order (the log names the rule that matched)."""
import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        P = o.port
        hosts = ["exact.test", "a.wild.test", "b.c.wild.test", "wild.test", "any.test", "paths.test",
                 "meth.test", "order.test", "other.test", "sec.test"]
        flags = []
        for name in hosts:
            flags += pt.pins(name, P)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            tok2 = pt.client(al, "web-2")
            pt.allow(al, "web-1", "exact.test", "--port", str(P))
            pt.allow(al, "web-1", "*.wild.test", "--port", str(P))
            pt.allow(al, "web-1", "paths.test", "--port", str(P), "--path", "/v1/*", "--path", "/exact")
            pt.allow(al, "web-1", "meth.test", "--port", str(P), "--method", "GET", "--method", "head")
            r1 = pt.allow(al, "web-1", "order.test", "--port", str(P), "--method", "GET")
            r2 = pt.allow(al, "web-1", "order.test", "--port", str(P))
            pt.allow(al, "web-2", "*", "--port", str(P))
            p = al.cli("secret", "create", "s1", "--host", "sec.test", "--value", "not-a-real-token")
            h.check(p.returncode == 0, "secret create: %s" % p.stderr)
            pt.allow(al, "web-1", "sec.test", "--port", str(P), "--secret", "s1")
            c = pt.RawConn(al.http_port)
            c2 = pt.RawConn(al.http_port)

            def st(method, host, path="/echo", conn=c, token=tok, port=P):
                return conn.request(method, "http://%s:%d%s" % (host, port, path), token=token,
                                    body=b"x" if method in ("POST", "PUT") else None)[:2]

            def expect(code, reason, *args, **kw):
                got, hd = st(*args, **kw)
                h.check_eq(got, code, "%s %s" % (args, kw))
                if reason:
                    h.check_eq(hd.get("x-airlock-reason"), reason, "reason for %s" % (args,))

            h.wait_for(lambda: st("GET", "exact.test")[0] == 200, timeout=5, what="policy arrived")
            expect(403, "no-rule", "GET", "other.test")
            expect(200, None, "GET", "a.wild.test")
            expect(200, None, "GET", "b.c.wild.test")
            expect(403, "no-rule", "GET", "wild.test")           # the apex is not a subdomain
            expect(403, "port-not-allowed", "GET", "exact.test", port=80)
            expect(200, None, "GET", "paths.test", "/v1/")
            expect(200, None, "GET", "paths.test", "/v1/models")
            expect(200, None, "GET", "paths.test", "/v1/a/b?q=1")
            expect(403, "path-not-allowed", "GET", "paths.test", "/v1")
            expect(403, "path-not-allowed", "GET", "paths.test", "/v10")
            expect(200, None, "GET", "paths.test", "/exact")
            expect(403, "path-not-allowed", "GET", "paths.test", "/exact/more")
            expect(403, "path-not-allowed", "GET", "paths.test", "/v1/../admin")
            expect(200, None, "GET", "paths.test", "/x/../v1/ok")   # normalised, then matched
            expect(200, None, "GET", "meth.test")
            expect(200, None, "HEAD", "meth.test")
            expect(403, "method-not-allowed", "POST", "meth.test")
            expect(403, "method-not-allowed", "DELETE", "meth.test")
            # a rule that needs to see inside: never over plain HTTP; its CONNECT is
            # intercepted (test-mitm-*), which needs a verified TLS origin: this
            # plain-HTTP origin fails the upstream handshake before any 200
            expect(403, "secret-needs-https", "GET", "sec.test")
            st_, hd_, _ = c.request("CONNECT", "sec.test:%d" % P, token=tok)
            h.check_eq((st_, hd_.get("x-airlock-reason")), (502, "upstream-tls-failed"), "CONNECT sec.test")
            st_, hd_, _ = c.request("CONNECT", "meth.test:%d" % P, token=tok)
            h.check_eq((st_, hd_.get("x-airlock-reason")), (502, "upstream-tls-failed"), "CONNECT meth.test")
            st_, hd_, _ = pt.RawConn(al.http_port).request("CONNECT", "exact.test:%d" % P, token=tok)
            h.check_eq(st_, 200, "CONNECT under a bare rule tunnels")
            # "*" is any host, but only for its own client
            expect(200, None, "GET", "any.test", conn=c2, token=tok2)
            expect(403, "no-rule", "GET", "any.test")
            # first match: GET matches rule r1, POST falls through to r2
            expect(200, None, "GET", "order.test")
            expect(200, None, "POST", "order.test")
            # the log line is written after the answer: poll for it
            order = lambda: [d.get("rule") for d in pt.decisions(al) if d.get("host") == "order.test"][-2:]
            h.wait_for(lambda: len(order()) == 2, timeout=5, what="two order.test log lines")
            h.check_eq(order(), [str(r1), str(r2)], "rules in the log")
            # the path upstream is the normalised one
            got = [p for m, p, hd in o.requests if p.startswith("/v1/ok")]
            h.check_eq(got, ["/v1/ok"], "normalised path sent upstream")
            al.check_alive()


h.run(main)
