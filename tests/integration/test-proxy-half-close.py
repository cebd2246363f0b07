"""A client that half-closes its connection (shutdown SHUT_WR) while airlock
is still deciding gets its answer, marked "Connection: close", and then the
connection closes: also when that answer is a refusal that would otherwise
keep the connection (an intercepted CONNECT whose origin never answers the
TLS handshake: 504 after --connect-timeout), instead of lingering until the
keep-alive timeout. Twin: a client that keeps its side open keeps the
connection after the same refusal."""
import socket
import threading
import time

import airlock_harness as h
import origins
import proxytest as pt


def silent_origin():
    """Accepts TCP and reads, never says a word (a TLS handshake that hangs)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    held = []

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            held.append(c)
    threading.Thread(target=serve, daemon=True).start()
    return s


def connect_head(port, tok):
    return (b"CONNECT silent.test:%d HTTP/1.1\r\nHost: silent.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
            % (port, port, pt.basic(tok).encode()))


def main():
    silent = silent_origin()
    port = silent.getsockname()[1]
    flags = pt.pins("silent.test", port) + ["--connect-timeout", "1s", "--idle-timeout", "30s"]
    with h.Airlock(extra_flags=flags) as al:
        tok = pt.client(al, "web-1")
        # a path makes the rule an interception rule: the origin is dialled
        # (and its TLS verified) before the CONNECT is answered
        pt.allow(al, "web-1", "silent.test", "--port", str(port), "--path", "/x")

        # twin: the client keeps its side open; the refusal keeps the connection
        h.wait_for(lambda: pt.RawConn(al.http_port).request("CONNECT", "silent.test:%d" % port,
                                                          token=tok)[0] == 504,
                   timeout=10, what="CONNECT refused 504")
        c = pt.RawConn(al.http_port)
        c.send(connect_head(port, tok))
        st, hd = c.read_head()
        h.check_eq((st, hd.get("x-airlock-reason")), (504, "upstream-timeout"), "kept side: answer")
        h.check("close" not in hd.get("connection", "").lower(), "kept side: keep-alive: %s" % hd)
        h.check(not c.closed(timeout=2), "kept side: the connection stays open")
        c.close()

        # half-closed while the origin is dialled
        c = pt.RawConn(al.http_port)
        c.send(connect_head(port, tok))
        c.s.shutdown(socket.SHUT_WR)
        st, hd = c.read_head()
        t0 = time.time()
        h.check_eq((st, hd.get("x-airlock-reason")), (504, "upstream-timeout"), "half-closed: answer")
        h.check_eq(hd.get("connection", "").lower(), "close", "half-closed: the answer says close")
        h.check(c.closed(timeout=5), "half-closed: airlock closes after the answer (%.1f s)" % (time.time() - t0))
        c.close()
        al.check_alive()
    silent.close()


h.run(main)
