"""Responses are framed by airlock from what it parsed, so an origin cannot
shift the sandbox's kept-alive connection: a response whose Connection names
Content-Length or Transfer-Encoding, and an interim (1xx) response that
announces a body (150 with Content-Length, 103 chunked), each holding a whole
forged response, are refused with 502 bad-upstream-response and the
sandbox's connection closed — the forged response never reaches it. Plain
forwarding and inside an intercepted tunnel.

Twins: a 103 without framing reaches an HTTP/1.1 sandbox before the real
answer, and an HTTP/1.0 sandbox gets only the real answer; a Content-Length
in any case spelling arrives as airlock's own; a 204 that carries a
Content-Length arrives without it. After each twin the same connection
reads airlock's own 403 for a refused path as the next answer."""
import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

FORGED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Forged: 1\r\n\r\nforged"
REAL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"

RAW = {
    "/r/conn-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: content-length\r\n\r\nreal" + FORGED,
    "/r/conn-cl-list": b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 4\r\n\r\nreal"
                       + FORGED,
    "/r/conn-te": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n"
                  b"4\r\nreal\r\n0\r\n\r\n" + FORGED,
    "/r/150-cl": b"HTTP/1.1 150 Weird\r\nContent-Length: %d\r\n\r\n" % len(FORGED) + FORGED + REAL,
    "/r/103-chunked": b"HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"%x\r\n" % len(FORGED) + FORGED + b"\r\n0\r\n\r\n" + REAL,
    "/r/100-cl": b"HTTP/1.1 100 Continue\r\nContent-Length: %d\r\n\r\n" % len(FORGED) + FORGED + REAL,
    # twins
    "/r/103": b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + REAL,
    "/r/cl-case": b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 4\r\n\r\nreal",
    "/r/204-cl": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
}
REFUSED = ["/r/conn-cl", "/r/conn-cl-list", "/r/conn-te", "/r/150-cl", "/r/103-chunked", "/r/100-cl"]


class Raw(origins._Handler):
    """Answers /r/* with the raw bytes above; anything else as the echo origin."""

    def _any(self):
        raw = RAW.get(self.path)
        if raw is None:
            return super()._any()
        self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        self.wfile.write(raw)
        self.wfile.flush()
        self.close_connection = self.path in REFUSED
        return None

    do_GET = do_POST = do_HEAD = _any


def check_refused(c, send, what):
    send(c)
    try:
        st, hd, body = c.read_response()
    except EOFError:
        st, hd, body = None, {}, b""
    h.check_eq((st, hd.get("x-airlock-reason")), (502, "bad-upstream-response"), what)
    rest = b""
    try:
        while True:
            rest += c.s.recv(65536) or b""
            if not rest or b"forged" in rest:
                break
    except OSError:
        pass
    h.check(b"forged" not in body + rest and "x-forged" not in hd, what + ": the forged response never arrives")
    h.check(c.closed(), what + ": connection closed")


def next_is_403(c, send_denied, what):
    send_denied(c)
    st, hd, _ = c.read_response()
    h.check_eq((st, hd.get("x-airlock-reason")), (403, "path-not-allowed"), what + ": the next answer is airlock's 403")


def run():
    with origins.HTTPOrigin(handler=Raw) as plain:
        with mt.Setup(handler=Raw, flags=pt.pins("plain.test", plain.port)) as s:
            al, tport = s.al, s.port
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "plain.test", "--port", str(plain.port), "--path", "/r/*")
            pt.allow(al, "web-1", "origin.test", "--port", str(tport), "--path", "/r/*")
            purl = "http://plain.test:%d" % plain.port
            hh = "origin.test:%d" % tport
            h.wait_for(lambda: pt.RawConn(al.http_port).request("GET", purl + "/r/cl-case", token=tok)[0] == 200,
                       timeout=10, what="allowed")

            def plain_get(path, version="1.1"):
                def send(c):
                    c.send(("GET %s%s HTTP/%s\r\nHost: plain.test\r\nProxy-Authorization: %s\r\n\r\n"
                            % (purl, path, version, pt.basic(tok))).encode())
                return send

            def inner_get(path):
                def send(c):
                    c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, hh)).encode())
                return send

            def tunnel():
                i = mt.Inner(al, tok, "origin.test", tport)
                h.check_eq(i.connect_status, 200, "CONNECT")
                return i

            for path in REFUSED:
                check_refused(pt.RawConn(al.http_port), plain_get(path), "plain " + path)
                check_refused(tunnel(), inner_get(path), "intercepted " + path)

            for kind, conn, get in (("plain", lambda: pt.RawConn(al.http_port), plain_get),
                                    ("intercepted", tunnel, inner_get)):
                c = conn()
                get("/r/103")(c)
                st, hd = c.read_head()
                h.check_eq(st, 103, kind + ": the 103 reaches an HTTP/1.1 sandbox")
                h.check(hd.get("link", "").startswith("</s.css>"), kind + ": with its Link")
                h.check("content-length" not in hd and "transfer-encoding" not in hd, kind + ": and no framing")
                st, hd, body = c.read_response()
                h.check_eq((st, body), (200, b"real"), kind + ": then the real answer")
                next_is_403(c, get("/denied"), kind + " after 103")
                get("/r/cl-case")(c)
                st, hd, body = c.read_response()
                h.check_eq((st, hd.get("content-length"), body), (200, "4", b"real"), kind + ": Content-Length")
                next_is_403(c, get("/denied"), kind + " after a lower-case Content-Length")
                get("/r/204-cl")(c)
                st, hd, body = c.read_response()
                h.check_eq((st, "content-length" in hd, body), (204, False, b""), kind + ": 204 without a length")
                next_is_403(c, get("/denied"), kind + " after a 204 with a length")

            c = pt.RawConn(al.http_port)
            plain_get("/r/103", "1.0")(c)
            st, hd, body = c.read_response()
            h.check_eq((st, body), (200, b"real"), "an HTTP/1.0 sandbox never gets the 103")
            al.check_alive()


h.run(run)
