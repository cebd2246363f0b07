"""A Connection header that names a framing or routing header (Content-Length,
Transfer-Encoding, Host) is refused with 400 bad-connection-header and the
connection closed: nothing reaches the origin, so a body cannot become a
second, unchecked request on the upstream connection. Every spelling (alone,
in a list, mixed case, beside keep-alive), with a Content-Length or chunked
body that holds a whole request, on the plain listener, on the TLS listener,
inside an intercepted tunnel with an injected secret, pipelined behind it,
and with a pooled upstream. At the end, every request the origins parsed is
one that airlock checked and logged as allowed, and no answer the sandbox
read holds the secret.

Twins: a Connection header naming an ordinary header drops it and the request
is served; Content-Length and chunked bodies go upstream with the framing
airlock parsed (the origin reads exactly the body that was sent)."""
import hashlib
import json

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


class Reflect(origins._Handler):
    """/reflect answers with the request body, verbatim (a debug endpoint);
    /v1/* answers "ok", as a real API does (an origin that echoes request
    headers back hands any injected credential to the sandbox: a separate
    matter, not this test's)."""

    def _any(self):
        if self.path.startswith("/reflect"):
            body = self._body()
            self.server.requests.append((self.command, self.path, dict(self.headers)))
            return self._send(200, body, "text/plain")
        if self.path.startswith("/v1/"):
            # what a real API answers: nothing of the request's headers
            self._body()
            self.server.requests.append((self.command, self.path, dict(self.headers)))
            return self._send(200, b"ok", "text/plain")
        return super()._any()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any


NOMINATIONS = [
    "content-length", "Content-Length", "CONTENT-LENGTH", "keep-alive, content-length",
    "content-length, keep-alive", "Keep-Alive,Content-Length", "transfer-encoding",
    "Transfer-Encoding, keep-alive", "host", "keep-alive, Host", "x-a, hOsT, x-b",
]


def smuggled(host, target="/reflect"):
    """A whole request hidden in a body: the origin would read it as the next one."""
    return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 300\r\n\r\n" % (target, host)).encode()


def bodies(host):
    s = smuggled(host)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(s), s)
    return [("Content-Length: %d" % len(s), s), ("Transfer-Encoding: chunked", chunked)]


def attempt(conn_factory, head_start, host, nomination, framing, body, follow=b""):
    """Send one smuggling attempt (and, pipelined behind it, `follow`);
    it must be answered 400 bad-connection-header and the connection closed."""
    c = conn_factory()
    data = head_start + ("Connection: %s\r\n%s\r\n\r\n" % (nomination, framing)).encode() + body + follow
    c.send(data)
    try:
        st, hd, got = c.read_response()
    except EOFError:
        st, hd, got = None, {}, b""
    what = "Connection: %s with %s" % (nomination, framing.split(":")[0])
    h.check_eq(st, 400, what + ": status")
    h.check_eq(hd.get("x-airlock-reason"), "bad-connection-header", what + ": reason")
    h.check(c.closed(), what + ": connection closed")
    c.close()
    return got


def run():
    value = mt.secret_value("frame")
    with origins.HTTPOrigin(handler=Reflect) as plain:
        with mt.Setup(handler=Reflect, flags=pt.pins("plain.test", plain.port)) as s:
            al, tport = s.al, s.port
            tok = pt.client(al, "web-1")
            mt.secret(al, "s1", "origin.test", value)
            pt.allow(al, "web-1", "plain.test", "--port", str(plain.port), "--path", "/public/*")
            pt.allow(al, "web-1", "origin.test", "--port", str(tport), "--method", "GET",
                     "--path", "/v1/*", "--secret", "s1")
            purl = "http://plain.test:%d" % plain.port
            auth = ("Proxy-Authorization: %s\r\n" % pt.basic(tok)).encode()
            seen_by_sandbox = []

            # the plain listener, then the TLS listener: absolute-form requests
            for listener in ("plain", "tls"):
                def conn():
                    if listener == "plain":
                        return pt.RawConn(al.http_port)
                    return pt.RawConn(al.https_port, tls_ca=al.ca_cert)
                c = conn()
                h.wait_for(lambda: c.request("GET", purl + "/public/a", token=tok)[0] == 200,
                           timeout=10, what="allowed on the %s listener" % listener)
                before = len(plain.requests)
                for nom in NOMINATIONS:
                    for framing, body in bodies("plain.test:%d" % plain.port):
                        start = b"GET " + purl.encode() + b"/public/a HTTP/1.1\r\nHost: plain.test\r\n" + auth
                        follow = b"GET " + purl.encode() + b"/public/b HTTP/1.1\r\nHost: plain.test\r\n" + auth + b"\r\n"
                        seen_by_sandbox.append(attempt(conn, start, "plain.test", nom, framing, body, follow))
                h.check_eq(len(plain.requests), before,
                           "%s listener: no refused request (nor what was pipelined behind it) reached the origin"
                           % listener)

                # a kept (pooled) upstream: served once, then the attempt on the same connection
                k = conn()
                h.check_eq(k.request("GET", purl + "/public/k", token=tok)[0], 200, "keep-alive request")
                n = len(plain.requests)
                framing, body = bodies("plain.test:%d" % plain.port)[0]
                k.send(b"GET " + purl.encode() + b"/public/k2 HTTP/1.1\r\nHost: plain.test\r\n" + auth +
                       b"Connection: content-length\r\n" + framing.encode() + b"\r\n\r\n" + body)
                st, hd, _ = k.read_response()
                h.check_eq((st, hd.get("x-airlock-reason")), (400, "bad-connection-header"),
                           "attempt on a connection whose upstream is kept")
                h.check(k.closed(), "closed after the attempt")
                # the next sandbox connection may be given that parked upstream
                k2 = conn()
                st, _, got = k2.request("GET", purl + "/public/after", token=tok)
                h.check_eq(st, 200, "the next connection is served")
                h.check_eq(len(plain.requests), n + 1, "the origin saw exactly that one request")
                h.check_eq(json.loads(got)["path"], "/public/after", "and it is the checked one")

            # twins: an ordinary nominated header is dropped; framed bodies arrive intact
            c = pt.RawConn(al.http_port)
            st, _, got = c.request("GET", purl + "/public/echo", token=tok,
                                   headers=[("Connection", "keep-alive, X-Drop"), ("X-Drop", "1"), ("X-Keep", "1")])
            h.check_eq(st, 200, "an ordinary nomination is served")
            seen = {k.lower() for k, v in json.loads(got)["headers"]}
            h.check("x-drop" not in seen and "x-keep" in seen, "the nominated header is dropped: %s" % seen)
            payload = smuggled("plain.test") * 20
            st, _, got = c.request("POST", purl + "/public/echo", token=tok, body=payload)
            info = json.loads(got)
            h.check_eq((st, info["body_len"], info["body_sha256"]),
                       (200, len(payload), hashlib.sha256(payload).hexdigest()),
                       "a body that looks like requests arrives as one body")
            n = len(plain.requests)
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 99]), payload[i:i + 99])
                              for i in range(0, len(payload), 99)) + b"0\r\n\r\n"
            c.send(b"POST " + purl.encode() + b"/public/echo HTTP/1.1\r\nHost: plain.test\r\n" + auth +
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
            st, _, got = c.read_response()
            info = json.loads(got)
            h.check_eq((st, info["body_len"]), (200, len(payload)), "chunked body arrives as one body")
            h.check_eq(len(plain.requests), n + 1, "one request for one chunked request")

            # inside an intercepted tunnel with an injected secret
            host = "origin.test"
            hh = "%s:%d" % (host, tport)
            i = mt.Inner(al, tok, host, tport)
            h.check_eq(i.connect_status, 200, "CONNECT")
            st, _, got = i.get("/v1/first", host=hh)
            h.check_eq(st, 200, "inner GET with the secret")
            seen_by_sandbox.append(got)
            n = len(s.origin.requests)
            for nom in NOMINATIONS:
                for framing, body in bodies(hh):
                    def inner():
                        x = mt.Inner(al, tok, host, tport)
                        h.check_eq(x.connect_status, 200, "CONNECT")
                        return x
                    start = b"GET /v1/a HTTP/1.1\r\nHost: " + hh.encode() + b"\r\n"
                    follow = b"GET /v1/b HTTP/1.1\r\nHost: " + hh.encode() + b"\r\n\r\n"
                    seen_by_sandbox.append(attempt(inner, start, host, nom, framing, body, follow))
            # on the tunnel that already used its upstream (kept for the next request)
            framing, body = bodies(hh)[0]
            i.send(b"GET /v1/a HTTP/1.1\r\nHost: " + hh.encode() + b"\r\nConnection: Content-Length\r\n" +
                   framing.encode() + b"\r\n\r\n" + body + b"GET /v1/b HTTP/1.1\r\nHost: " + hh.encode() +
                   b"\r\n\r\n")
            st, hd, got = i.read_response()
            seen_by_sandbox.append(got)
            h.check_eq((st, hd.get("x-airlock-reason")), (400, "bad-connection-header"), "attempt in a used tunnel")
            h.check(i.closed(), "tunnel closed after the attempt")
            h.check_eq(len(s.origin.requests), n, "no refused inner request reached the origin")
            j = mt.Inner(al, tok, host, tport)
            st, _, got = j.get("/v1/last", host=hh)
            seen_by_sandbox.append(got)
            h.check_eq(st, 200, "a new tunnel is served (maybe over the parked upstream)")
            h.check_eq(len(s.origin.requests), n + 1, "the origin saw that one request")

            # every request an origin parsed was checked and logged as allowed
            # (the decision line is written once the answer is sent: the
            # sandbox may hold the answer before the line is in the log)
            pt.wait_decision(al, lambda d: d.get("path") == "/v1/last" and d["verdict"] == "allow",
                             "the decision line of /v1/last")
            allowed = [(d.get("method"), d.get("path"), d.get("port")) for d in pt.decisions(al)
                       if d["verdict"] == "allow" and d.get("host") in ("plain.test", "origin.test")]
            parsed = [(m, p.split("?")[0], str(plain.port)) for m, p, _ in plain.requests] + \
                     [(m, p.split("?")[0], str(tport)) for m, p, _ in s.origin.requests]
            h.check_eq(sorted(parsed), sorted(allowed), "origins parsed exactly the requests airlock allowed")
            for m, p, hd in s.origin.requests:
                h.check(hd.get("Authorization") == "Bearer " + value, "%s %s carried the injected secret" % (m, p))
            for got in seen_by_sandbox:
                h.check(value.encode() not in got, "no answer to the sandbox holds the secret")
            mt.check_no_secret(al, value)
            al.check_alive()


h.run(run)
