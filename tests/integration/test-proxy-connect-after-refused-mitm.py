"""A CONNECT refused after interception was chosen (its origin could not be
dialled: 502, connection kept) leaves nothing behind for the next CONNECT
on the same connection: a passthrough CONNECT that follows is a plain TCP
splice, not a TLS session airlock opens to the echo server (which would
answer 502 upstream-tls-failed, or garble the stream). Twin: the same
passthrough CONNECT on a fresh connection."""
import airlock_harness as h
import origins
import proxytest as pt


def connect(c, tok, host, port):
    c.send(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: %s\r\n\r\n"
           % (host.encode(), port, host.encode(), port, pt.basic(tok).encode()))
    return c.read_response("CONNECT")[:2]


def echo(c, data):
    c.send(data)
    got = c.buf
    c.buf = b""
    c.s.settimeout(5)
    while len(got) < len(data):
        d = c.s.recv(65536)
        if not d:
            raise EOFError("closed")
        got += d
    return got


def main():
    closed_port = origins.free_port()
    with origins.TCPEcho() as e:
        flags = pt.pins("echo.test", e.port) + pt.pins("closed.test", closed_port)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough")
            # a path makes the rule an interception rule
            pt.allow(al, "web-1", "closed.test", "--port", str(closed_port), "--path", "/x")

            # twin: a fresh connection tunnels to the echo server
            h.wait_for(lambda: connect(pt.RawConn(al.http_port), tok, "echo.test", e.port)[0] == 200,
                       timeout=5, what="passthrough allowed")
            c = pt.RawConn(al.http_port)
            h.check_eq(connect(c, tok, "echo.test", e.port)[0], 200, "fresh connection: CONNECT 200")
            h.check_eq(echo(c, b"fresh\n"), b"fresh\n", "fresh connection: echo")
            c.close()

            c = pt.RawConn(al.http_port)
            st, hd = connect(c, tok, "closed.test", closed_port)
            h.check_eq((st, hd.get("x-airlock-reason")), (502, "upstream-connect-failed"),
                       "intercepted CONNECT whose origin is down")
            h.check("close" not in hd.get("connection", "").lower(), "the connection is kept: %s" % hd)
            st, hd = connect(c, tok, "echo.test", e.port)
            h.check_eq((st, hd.get("x-airlock-reason")), (200, None), "passthrough CONNECT after it")
            h.check_eq(echo(c, b"after\n"), b"after\n", "echo through the second tunnel")
            c.close()
            al.check_alive()


h.run(main)
