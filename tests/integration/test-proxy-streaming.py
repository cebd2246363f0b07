"""Bodies stream both ways without being buffered whole: 8 MiB downloads
with Content-Length, chunked and close-delimited framing arrive intact (an
HTTP/1.0 client gets a chunked body unframed, until close), a
8 MiB upload arrives intact, and a slow reader
does not make the proxy grow without bound (its RSS stays far below the
body size)."""
import hashlib
import json
import os
import time

import airlock_harness as h
import origins
import proxytest as pt

N = 8 * 1024 * 1024


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        base = "http://origin.test:%d" % o.port
        c = pt.RawConn(al.http_port, timeout=60)
        h.wait_for(lambda: c.request("GET", base + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
        want = hashlib.sha256(origins.pattern(N)).hexdigest()
        for path in ("/bytes/%d" % N, "/chunked/%d" % N):
            st, hd, body = c.request("GET", base + path, token=tok)
            h.check_eq(st, 200, path)
            h.check_eq(hashlib.sha256(body).hexdigest(), want, "%s intact" % path)
        st, hd, body = pt.RawConn(al.http_port, timeout=60).request("GET", base + "/eof/%d" % N, token=tok)
        h.check_eq(hashlib.sha256(body).hexdigest(), want, "close-delimited body intact")

        # an HTTP/1.0 client never gets chunked framing: the body runs until close
        c10 = pt.RawConn(al.http_port, timeout=60)
        c10.send(b"GET %s/chunked/%d HTTP/1.0\r\nProxy-Authorization: %s\r\n\r\n"
                 % (base.encode(), N, pt.basic(tok).encode()))
        st, hd = c10.read_head()
        h.check_eq(st, 200, "HTTP/1.0 client")
        h.check("transfer-encoding" not in hd, "no chunked framing for HTTP/1.0: %s" % hd)
        body = c10.buf
        c10.buf = b""
        try:
            while True:
                c10._fill()
                body += c10.buf
                c10.buf = b""
        except EOFError:
            pass
        h.check_eq(hashlib.sha256(body).hexdigest(), want, "HTTP/1.0 body intact")

        up = os.urandom(8 * 1024 * 1024)
        st, _, got = c.request("POST", base + "/echo", token=tok, body=up)
        h.check_eq(json.loads(got)["body_sha256"], hashlib.sha256(up).hexdigest(), "upload intact")

        # slow reader: ask for 64 MiB, read slowly, watch the enforcer's memory
        pid = al.enforcer_pid()
        before = rss_kb(pid)
        slow = pt.RawConn(al.http_port, timeout=60)
        slow.s.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
        slow.send(b"GET %s/bytes/%d HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: %s\r\n\r\n"
                  % (base.encode(), 64 * 1024 * 1024, pt.basic(tok).encode()))
        time.sleep(1.5)
        grown = rss_kb(pid) - before
        h.log("enforcer RSS grew by %d KiB while a reader stalled on a 64 MiB body" % grown)
        h.check(grown < 16 * 1024, "RSS grew by %d KiB: the body is being buffered" % grown)
        slow.close()
        al.check_alive()


h.run(main)
