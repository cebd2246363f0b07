"""--mode=audit: a CONNECT that no rule allows is intercepted just far enough
to read its first inner request; airlock logs it exactly as docs/airlock-enforcer.8 (LOG) shows
(deny client=web-1 method=GET scheme=https host=api.example.com port=443
path=/v1/models mode=audit reason=no-rule), answers 403, and never contacts
the upstream. A sandbox that does not trust airlock's CA fails closed and
only the host is logged (no method, no path). Twin: the same CONNECT in
strict mode is refused at once, logging host and port."""
import re
import ssl

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        # audit mode; api.example.com pinned (443, and the origin's port to prove no contact)
        flags = ["--mode", "audit"] + pt.pins("api.example.com", 443, o.port)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            c = mt.Inner(al, tok, "api.example.com", 443)
            h.check_eq(c.connect_status, 200, "audit mode intercepts the unknown CONNECT")
            st, hd, _ = c.get("/v1/models", "api.example.com")
            h.check_eq((st, hd.get("x-airlock-reason")), (403, "no-rule"), "first inner request refused")
            want = ("deny client=web-1 method=GET scheme=https host=api.example.com port=443 "
                    "path=/v1/models mode=audit reason=no-rule")
            lines = []
            h.wait_for(lambda: [lines.append(l) for l in al.log_text().splitlines() if "path=/v1/models" in l]
                       and True, timeout=5, what="the audit line")
            line = lines[0]
            m = re.match(r"ts=\S+ (.*) status=403 bytes_up=\d+ bytes_down=\d+ ms=\d+ src=\S+ req=[0-9a-f]{20}$", line)
            h.check(m is not None, "line shape: %s" % line)
            h.check_eq(m.group(1), want, "the line the manual shows")
            # no upstream contact, even when the pinned address is a live origin
            c = mt.Inner(al, tok, "api.example.com", o.port)
            st, _, _ = c.get("/echo", "api.example.com:%d" % o.port)
            h.check_eq(st, 403, "refused")
            h.check_eq(len(o.peers), 0, "the upstream was never contacted")
            # a sandbox that does not trust the CA: fails closed, only the host logged
            try:
                other_ca = origins.TestCA(al.tmpdir, names=("unrelated.test",))
                bad = mt.Inner(al, tok, "untrusting.test", 443, cafile=other_ca.ca_cert)
                bad.get("/secret-path", "untrusting.test")
                h.fail("a client that does not trust airlock's CA completed a request")
            except (ssl.SSLError, ConnectionError, EOFError, OSError):
                pass
            d = pt.wait_decision(al, lambda d: d.get("host") == "untrusting.test", "the untrusting client's line")
            h.check_eq((d["verdict"], d.get("mode"), d.get("reason")), ("deny", "audit", "tls-handshake-failed"),
                       "fails closed")
            h.check("method" not in d and "path" not in d, "only the host is logged: %s" % d)
            h.check("secret-path" not in al.log_text(), "nothing from inside the failed handshake")
            al.check_alive()
        with h.Airlock(extra_flags=pt.pins("api.example.com", 443)) as al:
            tok = pt.client(al, "web-1")
            c = mt.Inner(al, tok, "api.example.com", 443)
            h.check_eq((c.connect_status, c.connect_headers.get("x-airlock-reason")), (403, "no-rule"),
                       "strict mode refuses the CONNECT at once")
            d = pt.wait_decision(al, lambda d: d.get("host") == "api.example.com", "strict deny line")
            h.check_eq((d["verdict"], d.get("port"), d.get("method"), d.get("mode")),
                       ("deny", "443", "CONNECT", "strict"), "host and port logged")
            al.check_alive()


h.run(main)
