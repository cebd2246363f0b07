"""A kept-alive upstream connection that the origin drops just as it is
reused: a request without a body is sent once more on a fresh connection
and the client sees a normal answer. Twin: a POST (with a body) is not
replayed; it gets a 502 instead."""

import airlock_harness as h
import proxytest as pt


class FlakyOrigin(pt.ThreadedOrigin):
    """Answers the first request of each connection (keep-alive), then
    closes without a word when the second one arrives."""

    def serve(self, c):
        buf = b""
        served = 0
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                while b"\r\n\r\n" in buf:
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    if served:
                        c.close()
                        return
                    served += 1
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        c.close()


def main():
    o = FlakyOrigin()
    with h.Airlock(extra_flags=pt.pins("flaky.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "flaky.test", "--port", str(o.port))
        url = "http://flaky.test:%d/x" % o.port
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="first request")
        for i in range(3):
            st, _, body = c.request("GET", url, token=tok)
            h.check_eq((st, body), (200, b"ok"), "GET %d on a stale upstream is retried" % i)
        st, _, body = c.request("POST", url, token=tok, body=b"data")
        if st == 200:
            st, _, body = pt.RawConn(al.http_port).request("POST", url, token=tok, body=b"data")
        h.check(st in (200, 502), "POST: %s" % st)
        c2 = pt.RawConn(al.http_port)
        h.check_eq(c2.request("GET", url, token=tok)[0], 200, "fresh connection")
        st, _, _ = c2.request("POST", url, token=tok, body=b"data")
        h.check_eq(st, 502, "a POST on a stale upstream is not replayed")
        al.check_alive()


h.run(main)
