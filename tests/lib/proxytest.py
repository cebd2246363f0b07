"""proxytest: small helpers shared by tests/integration/test-proxy-*.py.

    al = h.Airlock(extra_flags=pins("origin.test", port))
    tok = client(al, "web-1")
    allow(al, "web-1", "origin.test", "--port", str(port))
    c = RawConn(al.http_port)                     # one keep-alive connection
    st, hd, body = c.request("GET", "http://origin.test:%d/echo" % port, token=tok)
    decisions(al)                                 # parsed decision log lines
"""

import base64
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time

import airlock_harness as h


def pins(host, *ports, addr="127.0.0.1"):
    """--resolve flags pinning host on each port to addr."""
    out = []
    for p in ports:
        out += ["--resolve", "%s:%d:%s" % (host, p, addr)]
    return out


def client(al, name):
    p = al.cli("client", "create", name)
    h.check(p.returncode == 0, "client create %s: %s" % (name, p.stderr))
    tok = p.stdout.strip().splitlines()[0]
    h.check(tok.startswith("alk_"), "token printed: %r" % p.stdout)
    return tok


def allow(al, name, host, *flags):
    p = al.cli("allow", name, "--host", host, *flags)
    h.check(p.returncode == 0, "allow %s %s %s: %s" % (name, host, flags, p.stderr))
    m = re.search(r"rule (\d+)", p.stdout)
    return int(m.group(1)) if m else None


def revoke(al, name, host, *flags):
    p = al.cli("revoke", name, "--host", host, *flags)
    h.check(p.returncode == 0, "revoke %s %s: %s" % (name, host, p.stderr))


def basic(tok, user="proxy"):
    return "Basic " + base64.b64encode(("%s:%s" % (user, tok)).encode()).decode()


class ThreadedOrigin:
    """A loopback TCP origin for tests that script an origin byte by byte:
    each connection it accepts is handed to self.serve(conn) on a thread of
    its own; `accepted` counts them, `port` is where it listens."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, conn):
        raise NotImplementedError


class ConnectRelay(ThreadedOrigin):
    """For clients without a proxy option (nghttp, h2load): each connection
    to `port` is opened as CONNECT target through airlock's plain listener
    with the client's token, then bytes are copied both ways until either
    side ends. `refused` keeps the status line of a CONNECT not answered 200."""

    def __init__(self, al, tok, target):
        self.al, self.tok, self.target = al, tok, target
        self.refused = []
        super().__init__()

    def serve(self, c):
        u = socket.create_connection(("127.0.0.1", self.al.http_port), timeout=30)
        try:
            u.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n"
                       % (self.target, self.target, basic(self.tok))).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                d = u.recv(4096)
                if not d:
                    raise OSError("airlock closed during CONNECT")
                head += d
            line, _, _ = head.partition(b"\r\n")
            if line.split()[1:2] != [b"200"]:
                self.refused.append(line.decode(errors="replace"))
                raise OSError("CONNECT refused")
            rest = head.partition(b"\r\n\r\n")[2]
            if rest:
                c.sendall(rest)
        except OSError:
            u.close()
            c.close()
            return

        def pipe(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=pipe, args=(u, c), daemon=True)
        t.start()
        pipe(c, u)
        t.join(30)
        u.close()
        c.close()


class RawConn:
    """One client connection to a proxy listener, speaking raw HTTP/1.1."""

    def __init__(self, port, tls_ca=None, timeout=10.0, source=None):
        # source: a loopback address to connect from ("127.0.0.2"), to be
        # another peer for the per-source caps
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        self.s = s
        self.buf = b""

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed by the proxy")
        self.buf += d

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs

    def read_response(self, method="GET"):
        status, hdrs = self.read_head()
        body = b""
        if method == "HEAD" or status in (204, 304) or (method == "CONNECT" and status == 200):
            return status, hdrs, body
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, _, self.buf = self.buf.partition(b"\r\n")
                n = int(line.split(b";")[0], 16)
                while len(self.buf) < n + 2:
                    self._fill()
                body += self.buf[:n]
                self.buf = self.buf[n + 2:]
                if n == 0:
                    break
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        else:
            try:
                while True:
                    self._fill()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return status, hdrs, body

    def request(self, method, url, token=None, headers=(), body=None, auth=None):
        lines = ["%s %s HTTP/1.1" % (method, url)]
        host = url.split("/")[2] if "://" in url else url
        lines.append("Host: %s" % host)
        if auth is not None:
            lines.append("Proxy-Authorization: %s" % auth)
        elif token is not None:
            lines.append("Proxy-Authorization: %s" % basic(token))
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if body is not None:
            lines.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if body is not None:
            data += body
        self.send(data)
        return self.read_response(method)

    def closed(self, timeout=5.0):
        """True when the proxy closes the connection within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True


def decisions(al):
    """Decision lines (allow/deny/audit) of the daemon log, parsed into dicts."""
    out = []
    for line in al.log_text().splitlines():
        m = re.match(r"ts=\S+ (allow|deny|audit) (.*)$", line)
        if not m:
            continue
        d = {"verdict": m.group(1)}
        for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', m.group(2)):
            d[k] = v.strip('"')
        out.append(d)
    return out


def wait_decision(al, pred, what, timeout=5.0):
    """Poll the log until a decision line satisfies pred; return it."""
    found = []

    def look():
        for d in decisions(al):
            if pred(d):
                found.append(d)
                return True
        return False
    h.wait_for(look, timeout=timeout, what=what)
    return found[0]


def curl(*args, timeout=30):
    """Run curl -s with args; returns CompletedProcess (text)."""
    return subprocess.run(["curl", "-s", "-S", "--max-time", str(timeout)] + list(args),
                          capture_output=True, text=True, timeout=timeout + 10)


def status_of(c):
    """curl's -w '%{http_code}' output from a CompletedProcess."""
    return c.stdout.strip()[-3:]
