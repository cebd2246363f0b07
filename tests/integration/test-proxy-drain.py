"""After a last answer (a malformed request: 400, Connection: close, FIN),
airlock keeps reading what the client still sends, drops it, and closes the
connection as soon as the client closes its side, not on the grace timer
(2 s): a connection left unread would end in a RST (which can destroy the
answer before the client reads it) and holds its place meanwhile. Seen
through the pre-auth budget of one source (--max-preauth-per-source 1):
the place is free again at once. Twin: a client that stays silent with its
side open keeps the place until the grace timer closes it."""
import socket
import time

import airlock_harness as h
import proxytest as pt

BAD = b"GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nBad Header: x\r\n\r\n"


def answered(al, source):
    c = pt.RawConn(al.http_port, source=source)
    c.send(BAD)
    st, hd, _ = c.read_response()
    h.check_eq((st, hd.get("connection", "").lower()), (400, "close"), "malformed request: 400, close")
    return c


def accepted(al, source):
    """A new connection from source is served (407), not closed at once."""
    try:
        c = pt.RawConn(al.http_port, source=source, timeout=5)
        try:
            return c.request("GET", "http://origin.test/")[0] == 407
        finally:
            c.close()
    except (OSError, EOFError):
        return False


def main():
    with h.Airlock(extra_flags=["--max-preauth-per-source", "1"]) as al:
        # twin: silent, its side open: the place is held until the grace timer
        c = answered(al, "127.0.0.3")
        t0 = time.time()
        h.check(not accepted(al, "127.0.0.3"), "the draining connection holds its source's place")
        h.wait_for(lambda: accepted(al, "127.0.0.3"), timeout=6, what="the grace timer freeing the place")
        h.check(time.time() - t0 > 1.0, "not before the grace timer (%.2f s)" % (time.time() - t0))
        c.close()

        c = answered(al, "127.0.0.4")
        c.send(b"x" * 65536)   # more of whatever it was sending
        c.s.shutdown(socket.SHUT_WR)
        h.wait_for(lambda: accepted(al, "127.0.0.4"), timeout=1.0,
                   what="the place freed at the client's FIN, before the grace timer")
        c.close()
        al.check_alive()


h.run(main)
