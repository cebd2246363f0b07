"""The per-client HTTP/2 stream cap (--max-h2-streams-per-client, default
AL_H2_STREAMS_PER_CLIENT): open streams are counted over all the
connections of one client. At the cap a stream is answered as usual; one
past it gets 429 with x-airlock-reason too-many-streams (a gRPC call a
trailers-only grpc-status 8) on that stream while the connection and its
other streams carry on; another client is not counted with it; a stream
that ends gives its place back."""
import sys
import time

import airlock_harness as h
import h2raw
import mitmtest as mt
import proxytest as pt

CAP = 3


def main():
    if not h2raw.available():
        print("SKIP: python3-h2 (hpack, hyperframe) not installed")
        sys.exit(77)
    with mt.Setup(flags=["--max-h2-streams-per-client", str(CAP)]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        tok2 = pt.client(al, "web-2")
        for name in ("web-1", "web-2"):
            pt.allow(al, name, "origin.test", "--port", str(port), "--path", "/echo/*")
        auth = "origin.test:%d" % port

        def conn(t):
            return h2raw.open_h2(al, t, "origin.test", port)

        def held(c, sid, extra=()):
            # a request whose body never ends holds its stream open; its
            # path is outside the rule: answered 403 without an upstream
            c.request(sid, "POST", "/held/%d" % sid, auth, extra=extra, end_stream=False)
            c.wait(lambda: c.done(sid), what="stream %d's answer" % sid)
            return c.streams[sid]["status"], c.header(sid, "x-airlock-reason")

        a, b = conn(tok), conn(tok)
        h.check_eq(held(a, 1), (403, "path-not-allowed"), "web-1 stream 1 on connection A")
        h.check_eq(held(a, 3), (403, "path-not-allowed"), "web-1 stream 2 on connection A")
        # at the cap: the third open stream, on another connection
        h.check_eq(held(b, 1), (403, "path-not-allowed"), "web-1 stream 3 (the cap) on connection B")
        # one past it, on either connection
        h.check_eq(held(b, 3), (429, "too-many-streams"), "web-1 stream 4 (cap + 1) on connection B")
        h.check_eq(held(a, 5), (429, "too-many-streams"), "web-1 stream 4 (cap + 1) on connection A")
        # a gRPC call past the cap: a trailers-only gRPC error
        st, _ = held(b, 5, extra=[("content-type", "application/grpc"), ("te", "trailers")])
        h.check_eq((st, b.header(5, "grpc-status")), (200, "8"), "a gRPC call past the cap: grpc-status 8")
        # the connections live on: a request that ends is refused too while
        # the held streams are open, and nothing went wrong at the framing
        h.check(a.goaway is None and b.goaway is None, "no GOAWAY on either connection")
        b.request(7, "GET", "/echo/full", auth)
        b.wait(lambda: b.done(7))
        h.check_eq(b.streams[7]["status"], 429, "a complete request past the cap: 429")

        # another client is not counted with web-1
        c2 = conn(tok2)
        for sid in (1, 3):
            h.check_eq(held(c2, sid), (403, "path-not-allowed"), "web-2 stream %d beside web-1's" % sid)
        c2.request(5, "GET", "/echo/two", auth)
        c2.wait(lambda: c2.done(5))
        h.check_eq(c2.streams[5]["status"], 200, "web-2's third stream answered while web-1 is at its cap")
        c2.close()

        # connection A closes: its streams give their places back
        a.close()
        sid, status, end = 9, None, time.monotonic() + 15
        while time.monotonic() < end:
            b.request(sid, "GET", "/echo/after", auth)
            b.wait(lambda: b.done(sid))
            status = b.streams[sid]["status"]
            if status == 200:
                break
            sid += 2
            time.sleep(0.2)
        h.check_eq(status, 200, "after connection A closed, web-1 is answered again")
        b.close()

        log = open(al.err_path).read()
        h.check("h2 stream refused" in log and "too-many-streams" in log, "the refusal is logged")
        al.check_alive()


h.run(main)
