"""An origin that echoes the request hands the injected secret straight back
to the sandbox: airlock replaces every form it sent the secret in (the
bearer token; basic's base64, user:pass and password) by a placeholder of
the same length, in the response head and body, streaming and across chunk
and read boundaries. Cases: a JSON echo of the request headers, a redirect
whose Location carries the token, a chunked body cutting the token into
7-byte pieces, a server-sent event stream whose first event arrives without
waiting for the next (the scrubber holds back only an end that could begin
the secret), a basic secret echoed in its three forms. The decision line
says scrubbed=N. A compressed answer cannot be scanned: the request asked
for identity, and a gzip answer anyway is refused 502 unscannable-response.
Twin: a rule without a secret passes the echo untouched, with no scrubbed=."""
import base64
import gzip
import json
import time

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

SECRET = mt.secret_value("scrub")
USER, PASSWORD = "deploy-bot", mt.secret_value("pw")


class Reflect(origins._Handler):
    def _any(self):
        self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.test/cb?token=" + auth.split(" ")[-1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path.startswith("/chunked"):
            data = ("you sent: %s; again: %s" % (auth, auth)).encode()
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 7):
                piece = data[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return None
        if self.path.startswith("/sse"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def event(text):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(text), text))
                self.wfile.flush()
            event(b"data: first\n\n")
            time.sleep(1.5)
            event(("data: " + auth[:20]).encode())
            event(("%s\n\n" % auth[20:]).encode())
            self.wfile.write(b"0\r\n\r\n")
            return None
        if self.path.startswith("/gzip"):
            body = gzip.compress(("echo " + auth).encode())
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        return self._send(200, json.dumps({"headers": [[k, v] for k, v in self.headers.items()]}).encode(),
                          "application/json")

    do_GET = do_POST = _any


def main():
    with mt.Setup(handler=Reflect) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "tok", "origin.test", SECRET)
        mt.secret(al, "pw", "origin.test", "%s:%s" % (USER, PASSWORD), typ="basic")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/basic/*", "--secret", "pw")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/plain/*")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--secret", "tok")
        hh = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port)
        seen = []

        st, hd, body = c.get("/echo", hh, headers=[("Authorization", "Bearer placeholder")])
        seen.append(body)
        h.check_eq(st, 200, "echo")
        auth = dict((k.lower(), v) for k, v in json.loads(body)["headers"])["authorization"]
        h.check(SECRET not in auth and len(auth) == len("Bearer " + SECRET), "the echoed header is scrubbed: %r"
                % mt.scrub(auth, SECRET))
        h.check_eq(s.origin.requests[-1][2].get("Authorization"), "Bearer " + SECRET, "the origin got the secret")
        h.check_eq(s.origin.requests[-1][2].get("Accept-Encoding"), "identity", "identity asked for")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/echo", "the echo's line")
        h.check(int(d.get("scrubbed", "0")) >= 1, "scrubbed=N on the decision line: %s" % d.get("scrubbed"))

        st, hd, body = c.get("/redirect", hh)
        h.check_eq(st, 302, "redirect")
        h.check(SECRET not in hd.get("location", "") and hd.get("location", "").startswith(
            "https://elsewhere.test/cb?token="), "the Location is scrubbed")
        seen.append(hd.get("location", "").encode())

        st, hd, body = c.get("/chunked", hh)
        seen.append(body)
        h.check(st == 200 and body.startswith(b"you sent: Bearer ") and SECRET.encode() not in body,
                "a token cut into 7-byte chunks is scrubbed")
        h.check_eq(len(body), len(("you sent: Bearer %s; again: Bearer %s" % (SECRET, SECRET)).encode()),
                   "same length")

        # the first event is not held back by the scrubbing
        c.send(("GET /sse HTTP/1.1\r\nHost: %s\r\n\r\n" % hh).encode())
        t0 = time.monotonic()
        st, hd = c.read_head()
        while b"data: first\n\n" not in c.buf:
            c._fill()
        first = time.monotonic() - t0
        h.check(first < 1.2, "the first event arrives at once (%.2f s; the next comes 1.5 s later)" % first)
        rest = c.buf
        while not rest.endswith(b"0\r\n\r\n"):
            c._fill()
            rest = c.buf
        c.buf = b""
        seen.append(rest)
        h.check(SECRET.encode() not in rest.replace(b"\r\n", b""), "an event quoting the secret, cut in two, is scrubbed")

        st, hd, body = c.get("/basic/echo", hh)
        seen.append(body)
        auth = dict((k.lower(), v) for k, v in json.loads(body)["headers"])["authorization"]
        b64 = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        h.check(b64 not in auth, "basic's base64 is scrubbed")
        st, hd, body = c.get("/chunked", hh)   # the bearer rule again: fine
        c2 = mt.Inner(al, tok, "origin.test", port)
        st, hd, body = c2.get("/gzip", hh)
        h.check_eq((st, hd.get("x-airlock-reason")), (502, "unscannable-response"), "a gzip answer is refused")
        seen.append(body)

        # twin: no secret, nothing scrubbed
        c3 = mt.Inner(al, tok, "origin.test", port)
        st, hd, body = c3.get("/plain/echo", hh, headers=[("Authorization", "Bearer sandbox-own-token-123")])
        auth = dict((k.lower(), v) for k, v in json.loads(body)["headers"])["authorization"]
        h.check_eq(auth, "Bearer sandbox-own-token-123", "nothing injected, nothing changed")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/plain/echo", "the twin's line")
        h.check("scrubbed" not in d, "no scrubbed= without injection")
        for b in seen:
            h.check(SECRET.encode() not in b and PASSWORD.encode() not in b, "no answer holds a secret")
        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
