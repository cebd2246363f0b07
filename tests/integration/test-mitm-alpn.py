"""ALPN toward the sandbox offers only what airlock speaks: a client that
offers h2 and http/1.1 (as Codex does) lands on http/1.1 and its request
works; one that offers only h2 gets no ALPN rather than a failed handshake
(and HTTP/1.1 works on it)."""
import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--method", "GET")
        c = mt.Inner(al, tok, "origin.test", port, alpn=["h2", "http/1.1"])
        h.check_eq(c.s.selected_alpn_protocol(), "http/1.1", "h2,http/1.1 lands on http/1.1")
        h.check_eq(c.get("/echo", "origin.test:%d" % port)[0], 200, "request on it")
        c = mt.Inner(al, tok, "origin.test", port, alpn=["h2"])
        h.check_eq(c.s.selected_alpn_protocol(), None, "h2 only: no ALPN, no failure")
        h.check_eq(c.get("/echo", "origin.test:%d" % port)[0], 200, "HTTP/1.1 still works")
        al.check_alive()


h.run(main)
