"""The TLS SNI inside an intercepted CONNECT must name the CONNECT target:
a handshake whose SNI names another host fails (no leaf is served for it)
and is logged with reason sni-mismatch; the same CONNECT with the right SNI
(twin) completes and its request passes."""
import ssl

import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup(names=("origin.test", "other.test")) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--method", "GET")
        pt.allow(al, "web-1", "other.test", "--port", str(port), "--method", "GET")
        try:
            c = mt.Inner(al, tok, "origin.test", port, sni="other.test")
            st = c.get("/echo", "other.test:%d" % port)[0]
            h.fail("a handshake with SNI other.test in a CONNECT to origin.test completed (status %d)" % st)
        except (ssl.SSLError, ConnectionError, EOFError, OSError):
            pass
        d = pt.wait_decision(al, lambda d: d.get("reason") == "sni-mismatch", "sni-mismatch log line")
        h.check_eq((d["verdict"], d.get("host")), ("deny", "origin.test"), "logged for the CONNECT host")
        h.check_eq(len(s.origin.requests), 0, "nothing reached the origin")
        c = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(c.get("/echo", "origin.test:%d" % port)[0], 200, "twin: matching SNI")
        al.check_alive()


h.run(main)
