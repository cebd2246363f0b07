"""Request smuggling and framing tricks are refused with 400 and the
connection closed, and nothing reaches the origin: Content-Length with
Transfer-Encoding, duplicate Content-Length (equal or not), codings other
than a lone chunked, stacked Transfer-Encoding headers, obsolete line
folding, whitespace before the colon, bare LF and bare CR line ends, NUL,
CR or control bytes in a value, bad and oversized chunk sizes, a duplicate
Host; a request that is not HTTP/1.0 or 1.1 (no version, as HTTP/0.9,
the HTTP/2 preface, 2.0: 505 bad-version; 1.2, which llhttp refuses
itself: 400) and
nothing reaches the origin. Twins: an HTTP/1.0 GET is served; a chunked
and a Content-Length POST arrive intact; hop-by-hop
headers (Connection and the headers it names, Keep-Alive, TE, Upgrade)
never reach the origin, and Host is the URI's authority."""
import hashlib
import json

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed")
        auth = b"Proxy-Authorization: " + pt.basic(tok).encode() + b"\r\n"
        start = b"POST " + url.encode() + b" HTTP/1.1\r\nHost: origin.test\r\n" + auth
        gstart = b"GET " + url.encode() + b" HTTP/1.1\r\nHost: origin.test\r\n" + auth
        cases = {
            "CL+TE": start + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "TE+CL": start + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            "CL dup equal": start + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            "CL dup differ": start + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
            "CL list": start + b"Content-Length: 1, 1\r\n\r\nx",
            "TE gzip": start + b"Transfer-Encoding: gzip\r\n\r\nabc",
            "TE gzip,chunked": start + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "TE chunked,gzip": start + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            "TE twice": start + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "TE identity": start + b"Transfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nx",
            "TE xchunked": start + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            "obs-fold": gstart + b"X-A: one\r\n two\r\n\r\n",
            "obs-fold tab": gstart + b"X-A: one\r\n\ttwo\r\n\r\n",
            "space before colon": start + b"Content-Length : 1\r\n\r\nx",
            "tab before colon": gstart + b"X-A\t: 1\r\n\r\n",
            "bare LF": b"GET " + url.encode() + b" HTTP/1.1\nHost: origin.test\n" + auth.replace(b"\r\n", b"\n") + b"\n",
            "bare LF end": gstart + b"X-A: 1\n\r\n",
            "bare CR": gstart + b"X-A: 1\rX-B: 2\r\n\r\n",
            "NUL in value": gstart + b"X-A: a\x00b\r\n\r\n",
            "ctl in value": gstart + b"X-A: a\x01b\r\n\r\n",
            "bad chunk size": start + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "huge chunk size": start + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
            "chunk no CRLF": start + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            "dup Host": gstart + b"Host: evil.test\r\n\r\n",
            "bad CL": start + b"Content-Length: +1\r\n\r\nx",
        }
        for name, data in cases.items():
            c = pt.RawConn(al.http_port)
            before = len(o.requests)
            c.send(data)
            try:
                st, hd, body = c.read_response()
            except EOFError:
                st = None
            # a body-level error may come after the head went upstream: then the
            # connection is cut instead of answered; what must never happen is a 2xx
            if st is not None:
                h.check_eq(st, 400, "%s: %r" % (name, body))
            h.check(c.closed(), "%s: connection closed" % name)
            if st == 400:
                h.check_eq(len(o.requests), before, "%s: nothing reached the origin" % name)

        # only HTTP/1.0 and 1.1: a request line without a version (llhttp
        # reads it as HTTP/0.9, with no headers: the rest of the stream
        # would be another message upstream), the HTTP/2 preface, 1.2, 2.0
        versions = {
            "HTTP/0.9": b"GET " + url.encode() + b"\r\n" + auth + b"\r\n",
            "PRI preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "PRI as 0.9": b"PRI " + url.encode() + b"\r\n\r\n6;o\r\n3\r\n",
            "HTTP/1.2": b"GET " + url.encode() + b" HTTP/1.2\r\nHost: origin.test\r\n" + auth + b"\r\n",
            "HTTP/2.0": b"GET " + url.encode() + b" HTTP/2.0\r\nHost: origin.test\r\n" + auth + b"\r\n",
        }
        for name, data in versions.items():
            c = pt.RawConn(al.http_port)
            before = len(o.requests)
            c.send(data)
            try:
                st, hd, body = c.read_response()
            except EOFError:
                st, hd = None, {}
            h.check(st in (None, 400, 505), "%s: refused, got %r" % (name, st))
            if st == 505:
                h.check_eq(hd.get("x-airlock-reason"), "bad-version", name)
            h.check(c.closed(), "%s: connection closed" % name)
            h.check_eq(len(o.requests), before, "%s: nothing reached the origin" % name)
        c = pt.RawConn(al.http_port)
        c.send(b"GET " + url.encode() + b" HTTP/2.0\r\nHost: origin.test\r\n" + auth + b"\r\n")
        h.check_eq(c.read_response()[0], 505, "HTTP/2.0 is answered 505 HTTP Version Not Supported")
        c = pt.RawConn(al.http_port)
        c.send(b"GET " + url.encode() + b"\r\n" + auth + b"\r\n")
        h.check_eq(c.read_response()[0], 505, "a request line without a version is answered 505")

        # twins
        c = pt.RawConn(al.http_port)
        c.send(b"GET " + url.encode() + b" HTTP/1.0\r\nHost: origin.test\r\n" + auth + b"\r\n")
        h.check_eq(c.read_response()[0], 200, "HTTP/1.0 is served")
        c = pt.RawConn(al.http_port)
        body = bytes(range(256)) * 300
        st, _, got = c.request("POST", url, token=tok, body=body)
        h.check_eq(st, 200, "Content-Length POST")
        h.check_eq(json.loads(got)["body_sha256"], hashlib.sha256(body).hexdigest(), "CL body intact")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5000]), body[i:i + 5000])
                          for i in range(0, len(body), 5000)) + b"0\r\nX-Trailer: 1\r\n\r\n"
        c.send(start + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
        st, _, got = c.read_response()
        h.check_eq(st, 200, "chunked POST")
        info = json.loads(got)
        h.check_eq(info["body_sha256"], hashlib.sha256(body).hexdigest(), "chunked body intact")
        c.send(gstart + b"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nProxy-Connection: keep-alive\r\n"
               b"X-End: 1\r\n\r\n")
        st, _, got = c.read_response()
        h.check_eq(st, 200, "request with hop-by-hop headers")
        seen = {k.lower(): v for k, v in json.loads(got)["headers"]}
        for hop in ("x-hop", "keep-alive", "te", "upgrade", "proxy-connection", "proxy-authorization"):
            h.check(hop not in seen, "%s reached the origin: %s" % (hop, seen))
        h.check("x-end" in seen, "end-to-end header kept")
        h.check_eq(seen.get("host"), "origin.test:%d" % o.port, "Host is the URI's authority")
        st, _, got = c.request("GET", url, token=tok, headers=[("Host", "evil.test")])
        al.check_alive()


h.run(main)
