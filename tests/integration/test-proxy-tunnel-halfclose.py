"""A tunnel whose client half-closes first gets every byte the origin sends.

A passthrough client that has nothing to send shuts its sending side right
after the CONNECT (ncat </dev/null, `nc -N`, a download) and reads on. The
origin then sends 4 MiB and closes. The client reads slowly, so airlock
still holds bytes for it when the origin's FIN arrives: they must all
arrive, then the FIN. By HTTP CONNECT and by SOCKS5. Twin: the same
transfer without the early half-close."""
import socket
import struct
import threading
import time

import airlock_harness as h
import proxytest as pt

N = 4 * 1024 * 1024


def origin():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve():
        buf = bytes(range(256)) * 4096
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return

            def one(c):
                try:
                    for _ in range(N // len(buf)):
                        c.sendall(buf)
                finally:
                    c.close()
            threading.Thread(target=one, args=(c,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return srv


def read_all(s, slow):
    got = 0
    s.settimeout(30)
    while True:
        d = s.recv(16384)
        if not d:
            return got
        got += len(d)
        if slow:
            time.sleep(0.003)


def via_http(al, tok, port, half):
    s = socket.create_connection(("127.0.0.1", al.http_port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("CONNECT bulk.test:%d HTTP/1.1\r\nHost: bulk.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
               % (port, port, pt.basic(tok))).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    h.check(head.startswith(b"HTTP/1.1 200"), "CONNECT answered: %r" % head)
    if half:
        s.shutdown(socket.SHUT_WR)
    n = read_all(s, slow=True)
    s.close()
    return n


def via_socks(al, tok, port, half):
    s = socket.create_connection(("127.0.0.1", al.http_port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    t = tok.encode()
    s.sendall(b"\x05\x01\x02\x01\x05proxy" + bytes([len(t)]) + t + b"\x05\x01\x00\x03\x09bulk.test" +
              struct.pack(">H", port))
    rep = b""
    while len(rep) < 14:
        rep += s.recv(14 - len(rep))
    h.check_eq(rep[:4], b"\x05\x02\x01\x00", "SOCKS negotiation")
    h.check_eq(rep[4:6], b"\x05\x00", "SOCKS CONNECT answered")
    if half:
        s.shutdown(socket.SHUT_WR)
    n = read_all(s, slow=True)
    s.close()
    return n


def main():
    srv = origin()
    port = srv.getsockname()[1]
    with h.Airlock(extra_flags=pt.pins("bulk.test", port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "bulk.test", "--port", str(port), "--passthrough")
        for how, fn in (("HTTP CONNECT", via_http), ("SOCKS5", via_socks)):
            # the loss depended on timing (bytes still queued when the
            # origin's FIN came): a few rounds catch it most of the time
            for half in (False, True, True, True):
                n = fn(al, tok, port, half)
                h.check_eq(n, N, "%s, %s: every byte arrives" % (how, "half-closed first" if half else "twin"))
        al.check_alive()
    srv.close()


h.run(main)
