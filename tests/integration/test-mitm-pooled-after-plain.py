"""One client connection on the plain listener first forwards a plain-HTTP
request (its upstream connection is kept for the next request), then sends
a CONNECT that is intercepted and takes the idle upstream connection an
earlier connection of the same client parked: the kept plain-HTTP upstream
is closed then, not leaked (it would stay open, unowned, and its events
would land on the connection's new upstream). Twin: the plain upstream
stays open while the connection keeps forwarding plain HTTP."""

import airlock_harness as h
import mitmtest as mt
import proxytest as pt


class KeepOrigin(pt.ThreadedOrigin):
    """Plain HTTP/1.1 origin that answers each request with "ok" and keeps the
    connection; `closed` counts the connections airlock closed."""

    def __init__(self):
        self.closed = 0
        super().__init__()

    def serve(self, c):
        buf = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                while b"\r\n\r\n" in buf:
                    _, _, buf = buf.partition(b"\r\n\r\n")
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        self.closed += 1
        c.close()


def main():
    plain = KeepOrigin()
    with mt.Setup(flags=["--workers", "1"] + pt.pins("plain.test", plain.port)) as s:
        al = s.al
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "plain.test", "--port", str(plain.port))
        # a method list makes the rule an interception rule
        pt.allow(al, "web-1", "origin.test", "--port", str(s.port), "--method", "GET")

        # an intercepted connection whose upstream is parked when it ends
        h.wait_for(lambda: mt.Inner(al, tok, "origin.test", s.port).connect_status == 200, timeout=10,
                   what="interception allowed")
        i = mt.Inner(al, tok, "origin.test", s.port)
        h.check_eq(i.connect_status, 200, "first CONNECT")
        h.check_eq(i.get("/echo", host="origin.test:%d" % s.port)[0], 200, "first inner request")
        accepted = s.origin.accepted
        i.close()

        c = pt.RawConn(al.http_port)
        url = "http://plain.test:%d/" % plain.port
        h.check_eq(c.request("GET", url, token=tok)[:1], (200,), "plain request")
        h.check_eq(c.request("GET", url, token=tok)[:1], (200,), "plain request, again")
        # twin: kept while plain HTTP goes on
        h.check_eq((plain.accepted, plain.closed), (1, 0), "one plain upstream connection, kept")

        c.send(b"CONNECT origin.test:%d HTTP/1.1\r\nHost: origin.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
               % (s.port, s.port, pt.basic(tok).encode()))
        st, _ = c.read_head()
        h.check_eq(st, 200, "CONNECT on the same connection")
        h.check_eq(s.origin.accepted, accepted, "the CONNECT took the parked upstream connection")
        h.wait_for(lambda: plain.closed == 1, timeout=5, what="the kept plain upstream connection closed")
        c.close()
        al.check_alive()
    plain.sock.close()


h.run(main)
