"""mitmtest: helpers for tests/integration/test-mitm-*.py (interception).

    with mt.Setup() as s:          # test CA, HTTPS origin "origin.test", airlock with
        s.al, s.port, s.ca         # --resolve origin.test:PORT and --upstream-ca
    mt.secret(al, NAME, HOST, VALUE)
    mt.curl(al, tok, URL..., tls=False)   # curl through airlock trusting its CA
    mt.check_no_secret(al, VALUE)         # the value is in no log line
Secrets are random per run; failure messages never print them (scrub()).
"""
import json
import os
import secrets as _secrets
import subprocess

import airlock_harness as h
import origins
import proxytest as pt


def secret_value(tag):
    return "sek-%s-%s" % (tag, _secrets.token_hex(16))


def scrub(text, value):
    return (text or "").replace(value, "<SECRET>")


def secret(al, name, host, value, typ=None):
    args = ["secret", "create", name, "--host", host, "--value", value]
    if typ:
        args += ["--type", typ]
    p = al.cli(*args)
    h.check(p.returncode == 0, "secret create %s: %s" % (name, scrub(p.stderr, value)))


def carried(body, value, name="authorization"):
    """Did the origin's echo (origins._Handler) receive exactly one `name`
    header equal to value? The echoed value is scrubbed by airlock; its
    hash is not."""
    import hashlib
    b = json.loads(body) if isinstance(body, (bytes, str)) else body
    got = [hv for k, hv in b.get("header_sha256", []) if k.lower() == name]
    return got == [hashlib.sha256(value.encode()).hexdigest()]


def check_no_secret(al, value):
    h.check(value not in al.log_text(), "the secret value is absent from the daemon log")


class Setup:
    """A test CA, an HTTPS origin for origin.test (and the names in `names`),
    airlock up pinned to it with --upstream-ca."""

    def __init__(self, flags=(), names=("origin.test",), handler=None, origin=True, env=None):
        self.al = h.Airlock(start=False, env=env)
        self.ca = origins.TestCA(self.al.tmpdir, names=tuple(names) + ("git.test",))
        kw = {"tls": self.ca}
        if handler:
            kw["handler"] = handler
        self.origin = origins.HTTPOrigin(**kw) if origin else None
        self.flags = list(flags)
        self.names = names

    def __enter__(self):
        self.al.__enter__()
        if self.origin:
            self.origin.__enter__()
            self.port = self.origin.port
            for n in self.names:
                self.al.extra_flags += pt.pins(n, self.port)
        self.al.extra_flags += ["--upstream-ca", self.ca.ca_cert] + self.flags
        self.al.start()
        return self

    def __exit__(self, *exc):
        try:
            if self.origin:
                self.origin.__exit__(*exc)
        finally:
            return self.al.__exit__(*exc)


def curl(al, tok, *args, tls=False, timeout=30):
    """curl through airlock (plain or TLS listener), trusting airlock's CA for
    the intercepted hosts; -s: output bodies only."""
    proxy = al.proxy_url(tok, tls=tls)
    extra = ["--proxy-cacert", al.ca_cert] if tls else []
    return pt.curl("--proxy", proxy, *extra, "--cacert", al.ca_cert, *args, timeout=timeout)


def json_bodies(text):
    """Concatenated JSON documents (curl with several URLs) -> list."""
    out, dec, i = [], json.JSONDecoder(), 0
    text = text.strip()
    while i < len(text):
        obj, j = dec.raw_decode(text, i)
        out.append(obj)
        i = j
        while i < len(text) and text[i].isspace():
            i += 1
    return out


class Inner(pt.RawConn):
    """CONNECT host:port through airlock's plain listener, then TLS inside
    (trusting airlock's CA, SNI `sni`, default the host): a RawConn that
    speaks to the intercepted origin. connect_status holds the CONNECT's."""

    def __init__(self, al, tok, host, port, sni=None, cafile=None, timeout=10.0, alpn=None):
        import socket
        import ssl
        s = socket.create_connection(("127.0.0.1", al.http_port), timeout=timeout)
        self.s, self.buf = s, b""
        self.send(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: %s\r\n\r\n"
                   % (host, port, host, port, pt.basic(tok))).encode())
        self.connect_status, self.connect_headers = self.read_head()
        if self.connect_status != 200:
            return
        ctx = ssl.create_default_context(cafile=cafile or al.ca_cert)
        if sni is not None and sni != host:
            ctx.check_hostname = False
        if alpn:
            ctx.set_alpn_protocols(alpn)
        self.s = ctx.wrap_socket(s, server_hostname=sni or host)

    def get(self, path, host=None, headers=(), method="GET", body=None):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if body is not None:
            lines.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        self.send(data)
        return self.read_response(method)
