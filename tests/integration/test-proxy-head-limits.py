"""Request-head caps at their edge: a head of exactly --max-head-bytes and
exactly --max-headers fields is served; one byte or one field more is a 431
and the connection closes."""
import airlock_harness as h
import origins
import proxytest as pt

MAX_BYTES = 4096
MAX_HEADERS = 20


def head(url, tok, nfields, total=None):
    lines = ["GET %s HTTP/1.1" % url, "Host: origin.test", "Proxy-Authorization: %s" % pt.basic(tok)]
    for i in range(nfields - 2):
        lines.append("X-F%d: v" % i)
    data = "\r\n".join(lines) + "\r\n\r\n"
    if total is not None:
        # pad the last field's value so the head is exactly `total` bytes
        pad = total - len(data)
        assert pad >= 0, pad
        lines[-1] += "v" * pad
        data = "\r\n".join(lines) + "\r\n\r\n"
        assert len(data) == total
    return data.encode()


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--max-head-bytes", str(MAX_BYTES),
                                                   "--max-headers", str(MAX_HEADERS)]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            c = pt.RawConn(al.http_port)
            h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")

            def send(data):
                c = pt.RawConn(al.http_port)
                c.send(data)
                st, hd, _ = c.read_response()
                return st, hd, c

            st, _, c1 = send(head(url, tok, MAX_HEADERS))
            h.check_eq(st, 200, "exactly %d header fields" % MAX_HEADERS)
            st, hd, c1 = send(head(url, tok, MAX_HEADERS + 1))
            h.check_eq(st, 431, "%d header fields" % (MAX_HEADERS + 1))
            h.check_eq(hd.get("x-airlock-reason"), "too-many-headers", "reason")
            h.check(c1.closed(), "closed after 431")
            st, _, _ = send(head(url, tok, 5, total=MAX_BYTES))
            h.check_eq(st, 200, "a head of exactly %d bytes" % MAX_BYTES)
            st, hd, c1 = send(head(url, tok, 5, total=MAX_BYTES + 1))
            h.check_eq(st, 431, "a head of %d bytes" % (MAX_BYTES + 1))
            h.check_eq(hd.get("x-airlock-reason"), "head-too-large", "reason")
            h.check(c1.closed(), "closed after 431")
            # a huge head sent in one go is cut at the cap, not buffered
            st, hd, c1 = send(head(url, tok, 5, total=MAX_BYTES * 50))
            h.check_eq(st, 431, "a 200 KiB head")
            al.check_alive()


h.run(main)
