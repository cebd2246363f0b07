"""CONNECT tunnels close after --tunnel-idle-timeout with no byte either way
(reason tunnel-idle-timeout in the log line), not while bytes keep moving
(twin: a tunnel with a byte every 0.5 s outlives the timeout several times);
8 MiB of random bytes come back intact through the big-chunk tunnel copy."""
import os
import time

import airlock_harness as h
import origins
import proxytest as pt


def open_tunnel(al, tok, port):
    c = pt.RawConn(al.http_port)
    c.send(b"CONNECT echo.test:%d HTTP/1.1\r\nHost: echo.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
           % (port, port, pt.basic(tok).encode()))
    st, hd, _ = c.read_response("CONNECT")
    return c, st


def echo(c, data):
    got = b""
    c.s.settimeout(10)
    off = 0
    while len(got) < len(data):
        if off < len(data):
            off += c.s.send(data[off:off + 262144])
        if c.buf:
            got += c.buf
            c.buf = b""
            continue
        d = c.s.recv(1 << 20)
        if not d:
            raise EOFError("closed after %d bytes" % len(got))
        got += d
    return got


def main():
    with origins.TCPEcho() as e, h.Airlock(extra_flags=pt.pins("echo.test", e.port) +
                                           ["--tunnel-idle-timeout", "2s"]) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough")
        h.wait_for(lambda: open_tunnel(al, tok, e.port)[1] == 200, timeout=5, what="tunnel allowed")

        c, st = open_tunnel(al, tok, e.port)
        h.check_eq(st, 200, "CONNECT answered 200")
        big = os.urandom(8 << 20)
        h.check(echo(c, big) == big, "8 MiB of random bytes echoed intact")

        # twin: activity keeps it open well past the timeout
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            h.check_eq(echo(c, b"k"), b"k", "a byte every 0.5 s")
            last = time.monotonic()
            time.sleep(0.5)
        # then silence: closed about 2 s after the last byte
        h.check(c.closed(timeout=6), "an idle tunnel is closed")
        took = time.monotonic() - last
        h.check(1.8 <= took <= 5, "closed after %.1f s of silence (timeout 2s)" % took)
        d = pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d.get("reason") == "tunnel-idle-timeout",
                             "tunnel idle log line")
        h.check(int(d["bytes_up"]) >= len(big) and int(d["bytes_down"]) >= len(big), "byte counts: %s" % d)
        al.check_alive()


h.run(main)
