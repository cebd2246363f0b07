"""A blind tunnel through the TLS listener never puts bytes of two of the
client's TLS records into one of its own: the origin here sends its whole
answer (the head, then a body cut into many small TLS records) in one
send(2), so airlock reads them in one go, and a client that reads the
proxy's TLS one record at a time (Python's ssl: one record per recv)
checks that no record of the proxy's crosses an inner record boundary.
curl and git (libcurl 7.88 with an https:// proxy, OpenSSL and GnuTLS)
then read those answers through the TLS listener.

Why: libcurl's inner TLS can stop after one inner record (GnuTLS answers
"again" after a TLS 1.3 session ticket) while the rest of the proxy's
record waits decrypted inside libcurl; it then polls a socket that has
nothing more to say, and the transfer hangs until the proxy closes. That
was a 1-in-30 hang of `git clone` through the TLS listener.

Twin: through the plain listener the same origin works too (nothing to
align there). A passthrough stream that is not TLS (SSH) goes through the
TLS listener untouched: test-proxy-ssh-connect.py."""
import os
import socket
import ssl
import subprocess
import threading

import airlock_harness as h
import origins
import proxytest as pt

BODY = b"".join(b"chunk %03d of a body cut into small TLS records\n" % i for i in range(200))


class BatchingOrigin:
    """HTTPS on 127.0.0.1: TLS through memory BIOs, each answer's records
    flushed with one sendall(). Answers every request on a connection."""

    def __init__(self, ca):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(ca.leaf_cert, ca.leaf_key)
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.served = 0
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.ls.close()

    def _accept(self):
        while not self.stop:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        s.settimeout(20)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.ctx.wrap_bio(inc, out, server_side=True)

        def flush():
            data = out.read()
            if data:
                s.sendall(data)

        def fill():
            d = s.recv(65536)
            if not d:
                raise EOFError
            inc.write(d)

        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    flush()
                    fill()
            flush()
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        buf += tls.read(65536)
                    except ssl.SSLWantReadError:
                        fill()
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1]
                if path.startswith(b"/info/refs"):
                    # looks enough like a dumb git server for ls-remote to read the ref list
                    body = b"0123456789012345678901234567890123456789\trefs/heads/main\n" * 40
                else:
                    body = BODY
                tls.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                          % len(body))
                for i in range(0, len(body), 200):   # one TLS record per 200 bytes
                    tls.write(body[i:i + 200])
                self.served += 1                       # counted before the client can see it
                flush()                                # all of them in one send
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            s.close()


def inner_records_per_outer(al, tok, cacert, origin_ca, port):
    """One CONNECT over the TLS listener, TLS to the origin through memory
    BIOs, two requests; the plaintext of each of the proxy's records (one
    recv each) as a list of byte strings, after the 200."""
    outer = ssl.create_default_context(cafile=cacert).wrap_socket(
        socket.create_connection(("127.0.0.1", al.https_port), timeout=10), server_hostname="127.0.0.1")
    outer.sendall(b"CONNECT origin.test:%d HTTP/1.1\r\nHost: origin.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
                  % (port, port, pt.basic(tok).encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        head += outer.recv(65536)
    h.check(head.startswith(b"HTTP/1.1 200"), "CONNECT answered: %r" % head[:60])
    h.check_eq(head.split(b"\r\n\r\n", 1)[1], b"", "nothing behind the 200 yet")
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context(cafile=origin_ca).wrap_bio(inc, out, server_hostname="origin.test")
    pieces = []

    def fill():
        d = outer.recv(65536)
        if not d:
            raise EOFError("the proxy closed")
        pieces.append(d)
        inc.write(d)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            outer.sendall(out.read())
            fill()
    for _ in range(2):
        tls.write(b"GET /body HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        outer.sendall(out.read())
        got = b""
        while len(got) < len(BODY) or b"\r\n\r\n" not in got:
            try:
                got += tls.read(65536)
            except ssl.SSLWantReadError:
                fill()
        h.check(got.endswith(BODY), "the answer arrived whole")
    outer.close()
    return pieces


def crossings(pieces):
    """How many of the proxy's records hold bytes of two inner records."""
    bounds, at, stream = set(), 0, b"".join(pieces)
    while at + 5 <= len(stream):
        at += 5 + int.from_bytes(stream[at + 3:at + 5], "big")
        bounds.add(at)
    n, pos = 0, 0
    for p in pieces:
        if any(pos < b < pos + len(p) for b in bounds):
            n += 1
        pos += len(p)
    return n


def main():
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir)
        with BatchingOrigin(ca) as o:
            al.extra_flags += pt.pins("origin.test", o.port)
            al.start()
            al.wait_ready()
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            cacert = os.path.join(al.state_dir, "ca.pem")
            tls_proxy = "https://proxy:%s@127.0.0.1:%d" % (tok, al.https_port)
            plain_proxy = "http://proxy:%s@127.0.0.1:%d" % (tok, al.http_port)
            url = "https://origin.test:%d/body" % o.port

            pieces = inner_records_per_outer(al, tok, cacert, ca.ca_cert, o.port)
            h.check(len(pieces) > 2 * len(BODY) // 200, "one proxy record per inner record (%d)" % len(pieces))
            h.check_eq(crossings(pieces), 0, "no record of the proxy's crosses an inner record boundary")

            for proxy, what in ((tls_proxy, "TLS listener"), (plain_proxy, "plain listener")):
                for i in range(3):
                    # two requests on one connection: the second answer follows the first's records
                    r = pt.curl("-sS", "-m", "15", "-x", proxy, "--proxy-cacert", cacert, "--cacert", ca.ca_cert,
                                url, url, timeout=30)
                    h.check_eq((r.returncode, len(r.stdout)), (0, 2 * len(BODY)),
                               "curl via the %s, run %d, two answers of small records: %s"
                               % (what, i, r.stderr[-300:]))
                    if r.returncode != 0:
                        break

            # git reads through libcurl-gnutls: the same proxy TLS, another TLS library
            env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", HOME=al.tmpdir,
                       HTTPS_PROXY=tls_proxy, GIT_PROXY_SSL_CAINFO=cacert, GIT_SSL_CAINFO=ca.ca_cert)
            for i in range(3):
                try:
                    r = subprocess.run(["git", "ls-remote", "https://origin.test:%d/" % o.port], env=env,
                                       capture_output=True, text=True, timeout=5)
                    h.check_eq((r.returncode, r.stdout.count("refs/heads/main")), (0, 40),
                               "git ls-remote via the TLS listener, run %d: %s" % (i, r.stderr[-300:]))
                except subprocess.TimeoutExpired:
                    h.check(False, "git ls-remote via the TLS listener, run %d: stalled" % i)
                    break

            # 2 (record check) + 2 x 3 x 2 (curl) + at least one per git run
            h.check(o.served >= 17, "the origin answered every request (%d)" % o.served)
            al.check_alive()


h.run(main)
