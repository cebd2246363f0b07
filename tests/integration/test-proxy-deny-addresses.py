"""The deny set wins over every rule: with a rule allowing any host on any
port, every spelling of loopback, unspecified, link-local/metadata and
IPv4-inside-IPv6 is refused (403 denied-address, or bad-host for forms that
are not canonical IPv4), a name that resolves to loopback is refused, and a
--deny-cidr range is refused even for a name pinned with --resolve. Twin: a
name pinned to loopback with --resolve is allowed."""
import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        P = o.port
        flags = pt.pins("origin.test", P) + pt.pins("evil.test", P, addr="127.0.0.2") + \
            ["--deny-cidr", "127.0.0.2/32"]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "*", "--port", str(P), "--port", "80", "--port", "443")
            c = pt.RawConn(al.http_port)
            url = "http://origin.test:%d/echo" % P
            h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="pinned name allowed")
            n_ok = len(o.requests)
            cases = [
                ("127.0.0.1:%d" % P, "denied-address"),
                ("127.0.0.2:%d" % P, "denied-address"),
                ("[::1]:%d" % P, "denied-address"),
                ("[0:0:0:0:0:0:0:1]:%d" % P, "denied-address"),
                ("[::ffff:127.0.0.1]:%d" % P, "denied-address"),
                ("[::ffff:7f00:1]:%d" % P, "denied-address"),
                ("[::127.0.0.1]:%d" % P, "denied-address"),
                ("[64:ff9b::7f00:1]:%d" % P, "denied-address"),
                ("[2002:7f00:1::1]:%d" % P, "denied-address"),
                ("0.0.0.0:%d" % P, "denied-address"),
                ("169.254.169.254", "denied-address"),
                ("[fe80::1]:%d" % P, "denied-address"),
                ("localhost:%d" % P, "denied-address"),
                ("LOCALHOST.:%d" % P, "denied-address"),
                ("evil.test:%d" % P, "denied-address"),
                ("0x7f.0.0.1:%d" % P, "bad-host"),
                ("2130706433:%d" % P, "bad-host"),
                ("0177.0.0.1:%d" % P, "bad-host"),
                ("127.1:%d" % P, None),
                ("user@origin.test:%d" % P, "bad-host"),
                ("origin%%2etest:%d" % P, "bad-host"),
            ]
            for authority, reason in cases:
                st, hd, body = c.request("GET", "http://%s/echo" % authority, token=tok)
                h.check_eq(st, 403, "GET via %s (%r)" % (authority, body))
                if reason:
                    h.check_eq(hd.get("x-airlock-reason"), reason, "reason for %s" % authority)
            for authority, reason in cases[:6] + [("evil.test:%d" % P, "denied-address")]:
                st, hd, body = c.request("CONNECT", authority, token=tok)
                h.check_eq(st, 403, "CONNECT %s" % authority)
                h.check_eq(hd.get("x-airlock-reason"), reason, "CONNECT reason for %s" % authority)
            h.check_eq(len(o.requests), n_ok, "no denied request reached the origin")
            st, _, _ = c.request("GET", url, token=tok)
            h.check_eq(st, 200, "the pinned name still works afterwards")
            al.check_alive()


h.run(main)
