"""Slowloris: a request head that trickles in is cut at --head-timeout with
a 408 and the connection closed; a connection that sends nothing is closed
too. Twin: a head sent in two parts well within the timeout is served."""
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--head-timeout", "1s"]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            c = pt.RawConn(al.http_port)
            h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")

            # twin: two parts 300 ms apart
            c = pt.RawConn(al.http_port)
            c.send(b"GET %s HTTP/1.1\r\nHost: origin.test\r\n" % url.encode())
            time.sleep(0.3)
            c.send(b"Proxy-Authorization: %s\r\n\r\n" % pt.basic(tok).encode())
            st, _, _ = c.read_response()
            h.check_eq(st, 200, "a head in two parts within the timeout")

            # trickle: one byte every 200 ms never completes the head
            c = pt.RawConn(al.http_port)
            t0 = time.time()
            c.send(b"GET %s HTTP/1.1\r\n" % url.encode())
            closed = False
            for i in range(30):
                try:
                    c.send(b"X")
                except OSError:
                    closed = True
                    break
                time.sleep(0.2)
                c.s.settimeout(0.01)
                try:
                    d = c.s.recv(4096)
                    c.buf += d
                    if not d or b"\r\n\r\n" in c.buf:
                        closed = True
                        break
                except (BlockingIOError, OSError):
                    pass
            took = time.time() - t0
            h.check(closed, "the trickling head was cut")
            h.check(took < 3.0, "cut after %.1f s (timeout 1 s)" % took)
            if c.buf:
                h.check(c.buf.startswith(b"HTTP/1.1 408"), "408 answer: %r" % c.buf[:40])

            # silent connection
            c = pt.RawConn(al.http_port)
            t0 = time.time()
            h.check(c.closed(timeout=4), "a silent connection is closed")
            h.check(time.time() - t0 < 3.0, "silent connection closed in time")
            al.check_alive()


h.run(main)
