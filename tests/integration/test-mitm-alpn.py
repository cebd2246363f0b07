"""ALPN toward the sandbox, inside an intercepted tunnel, offers h2 then
http/1.1: a client that offers both (as Codex and curl do) speaks h2; one
that offers only http/1.1 lands on it and its request works; one that
offers neither gets no ALPN rather than a failed handshake (and HTTP/1.1
works on it). The :3129 proxy listener itself stays HTTP/1.1: a client
offering h2 to it gets http/1.1."""
import socket
import ssl

import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--method", "GET")
        c = mt.Inner(al, tok, "origin.test", port, alpn=["h2", "http/1.1"])
        h.check_eq(c.s.selected_alpn_protocol(), "h2", "h2,http/1.1 lands on h2")
        c.s.close()
        c = mt.Inner(al, tok, "origin.test", port, alpn=["http/1.1"])
        h.check_eq(c.s.selected_alpn_protocol(), "http/1.1", "http/1.1 alone lands on http/1.1")
        h.check_eq(c.get("/echo", "origin.test:%d" % port)[0], 200, "request on it")
        c = mt.Inner(al, tok, "origin.test", port, alpn=["spdy/3"])
        h.check_eq(c.s.selected_alpn_protocol(), None, "nothing we speak: no ALPN, no failure")
        h.check_eq(c.get("/echo", "origin.test:%d" % port)[0], 200, "HTTP/1.1 works on it")
        ctx = ssl.create_default_context(cafile=al.ca_cert)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", al.https_port), timeout=10),
                             server_hostname="127.0.0.1") as t:
            h.check_eq(t.selected_alpn_protocol(), "http/1.1", "the TLS proxy listener stays HTTP/1.1")
        al.check_alive()


h.run(main)
