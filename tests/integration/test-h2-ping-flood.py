"""Floods of frames the enforcer must answer (PING, SETTINGS) from a peer
that never reads the answers end the connection promptly: nghttp2 ends
the session past AL_H2_MAX_OUTBOUND_ACK unsent acks (the enforcer logs "h2
session ended ... Flooding was detected", queues GOAWAY ENHANCE_YOUR_CALM
and closes after the grace timer), or, when the kernel's buffers took every
ack so that none was left unsent, the connection has no stream open and
ends on the idle timer (3 s here), which answered PINGs never renew. Either
way the connection is gone within seconds, not held open while the flooder
keeps reading, its acks are never all sent, and the enforcer lives on.

Under load the enforcer had long let go of the socket when this used to
fail: closed gracefully, the kernel kept feeding the flooder the ~1 MB
backlog of acks through its 4 KiB window, and the flooder saw the end only
after that. A flood's close now drops the queue (SO_LINGER 0: a reset at
the end of the close grace)."""
import socket
import sys
import time

import airlock_harness as h
import h2raw
import mitmtest as mt
import proxytest as pt

# the idle timer (3 s) or the close grace (2 s) after the session ends,
# with room for a loaded machine and sanitizers
BOUND_S = 25


def main():
    if not h2raw.available():
        print("SKIP: python3-h2 (hpack, hyperframe) not installed")
        sys.exit(77)
    with mt.Setup(flags=["--idle-timeout", "3s"]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*")
        auth = "origin.test:%d" % port

        def conn():
            return h2raw.open_h2(al, tok, "origin.test", port)

        for what, frame in (("SETTINGS", lambda c: c.settings_frame([(4, 65535)])),
                            ("PING", lambda c: c.ping())):
            c = conn()
            # a small receive buffer: the acks back up in the enforcer soon
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.s.settimeout(10)
            one = frame(c)
            sent = 0
            start = time.monotonic()
            try:
                while sent < 400000 and time.monotonic() - start < BOUND_S:
                    c.send(one * 10000)
                    sent += 10000
            except OSError:
                pass
            acks, goaway, closed = c.drain_raw(timeout=BOUND_S + 5)
            took = time.monotonic() - start
            h.log("%s flood: %d sent, %d acks, GOAWAY %s, closed %s after %.1f s" % (what, sent, acks, goaway, closed, took))
            h.check(closed and took < BOUND_S,
                    "the %s flood ends the connection within %d s: closed %s after %.1f s"
                    % (what, BOUND_S, closed, took))
            h.check(goaway in ("ENHANCE_YOUR_CALM", None),
                    "the %s flood: GOAWAY ENHANCE_YOUR_CALM if any (%s)" % (what, goaway))
            if what == "PING":
                h.check(acks < sent, "the PING flood: not every ping acked (%d of %d)" % (acks, sent))
            c.close()

        # the enforcer lives and answers a new connection
        c = conn()
        c.request(1, "GET", "/echo/alive", auth)
        c.wait(lambda: c.done(1))
        h.check_eq(c.streams.get(1, {}).get("status"), 200, "a new connection is answered after the floods")
        c.close()
        al.check_alive()


h.run(main)
