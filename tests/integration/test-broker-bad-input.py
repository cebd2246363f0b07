#!/usr/bin/env python3
"""Every kind of bad input gets a clear one-line error with
the right status and changes nothing: state.json keeps its exact bytes and
the listings stay the same. Negative twin: the well-formed version of the
same request is accepted at the end."""

import http.client
import json
import os

import broker_harness as bh
from airlock_harness import UnixHTTPConnection

LONG_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62])  # 254 bytes


def raw(b, method, path, data, headers=None, chunked=False):
    """Send bytes as they are (not through json.dumps)."""
    c = UnixHTTPConnection(b.api_socket)
    try:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        c.request(method, path, body=data, headers=hdrs, encode_chunked=chunked)
        r = c.getresponse()
        text = r.read().decode()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text
    except (BrokenPipeError, ConnectionResetError) as e:
        # The broker may answer 413 and close while we are still sending the
        # oversized body; its answer is still there to read on the socket.
        return read_early_answer(c.sock, str(e))
    finally:
        c.close()


def read_early_answer(sock, err):
    data = b""
    try:
        sock.settimeout(5)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None, err
    text = body.decode(errors="replace")
    try:
        return int(parts[1]), json.loads(text)
    except ValueError:
        return int(parts[1]), text


def main():
    assert len(LONG_HOST) == 254
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gh", "host": "api.github.com",
                                                   "value": "tok-123"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "example.com",
                                                  "methods": ["GET"]})

        allow = lambda **kw: dict({"client": "web-1", "host": "ok.example"}, **kw)  # noqa: E731
        cases = [
            # (what, method, path, body or raw bytes, status, words in the error)
            ("malformed JSON", "POST", "/proxy/v1/clients", b'{"name": "x",\n "y" 1}', 400,
             ["line 2", "column"]),
            ("not an object", "POST", "/proxy/v1/clients", b'["x"]', 400, ["object"]),
            ("empty body", "POST", "/proxy/v1/clients", b'', 400, ["line 1"]),
            ("unknown field", "POST", "/proxy/v1/clients", {"name": "x", "colour": 1}, 400,
             [".colour"]),
            ("unknown field in allow", "POST", "/proxy/v1/allows", allow(colour="red"), 400,
             [".colour"]),
            ("wrong type", "POST", "/proxy/v1/allows", allow(ports="443"), 400, [".ports"]),
            ("missing field", "POST", "/proxy/v1/secrets", {"name": "x", "host": "a.b"}, 400,
             [".value"]),
            ("missing host", "POST", "/proxy/v1/secrets", {"name": "x", "value": "v"}, 400,
             [".host"]),
            ("bad client name", "POST", "/proxy/v1/clients", {"name": "bad name!"}, 400,
             [".name"]),
            ("bad token", "POST", "/proxy/v1/clients", {"name": "x", "token": "short"}, 400,
             [".token"]),
            ("bad host", "POST", "/proxy/v1/allows", allow(host="bad host!"), 400, [".host"]),
            ("empty label", "POST", "/proxy/v1/allows", allow(host="a..b"), 400, [".host"]),
            ("254-byte host", "POST", "/proxy/v1/allows", allow(host=LONG_HOST), 400, [".host"]),
            ("bad secret host", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "bad host!", "value": "v"}, 400, [".host"]),
            ("secret bound to *", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "*", "value": "v"}, 400, [".host"]),
            ("port 0", "POST", "/proxy/v1/allows", allow(ports=[0]), 400, [".ports"]),
            ("port 70000", "POST", "/proxy/v1/allows", allow(ports=[70000]), 400, [".ports"]),
            ("method not a token", "POST", "/proxy/v1/allows", allow(methods=["GE T"]), 400,
             [".methods"]),
            ("path without /", "POST", "/proxy/v1/allows", allow(paths=["x"]), 400,
             [".paths"]),
            ("path with dot segment", "POST", "/proxy/v1/allows", allow(paths=["/a/../b"]), 400,
             [".paths"]),
            ("ttl 0", "POST", "/proxy/v1/allows", allow(ttl_seconds=0), 400, [".ttl_seconds"]),
            ("ttl too big", "POST", "/proxy/v1/allows", allow(ttl_seconds=10 ** 9), 400,
             [".ttl_seconds"]),
            ("duplicate client", "POST", "/proxy/v1/clients", {"name": "web-1"}, 409,
             ["web-1"]),
            ("duplicate secret", "POST", "/proxy/v1/secrets",
             {"name": "gh", "host": "api.github.com", "value": "other"}, 409, ["force"]),
            ("identical rule", "POST", "/proxy/v1/allows",
             {"client": "web-1", "host": "EXAMPLE.com", "methods": ["get"]}, 409,
             ["identical"]),
            ("unknown client in allow", "POST", "/proxy/v1/allows",
             {"client": "nobody", "host": "a.b"}, 404, ["nobody"]),
            ("unknown secret in allow", "POST", "/proxy/v1/allows", allow(secret="nope"), 404,
             ["nope"]),
            ("unknown client", "GET", "/proxy/v1/clients/nobody", None, 404, ["nobody"]),
            ("unknown client delete", "DELETE", "/proxy/v1/clients/nobody", None, 404,
             ["nobody"]),
            ("unknown secret delete", "DELETE", "/proxy/v1/secrets/nope", None, 404, ["nope"]),
            ("bulk revoke, no rule", "DELETE", "/proxy/v1/allows/web-1/none.example", None, 404,
             ["no rule"]),
            ("bulk revoke, unknown client", "DELETE", "/proxy/v1/allows/nobody/example.com",
             None, 404, ["nobody"]),
            ("surgical revoke, no match", "POST", "/proxy/v1/allows/revoke",
             {"client": "web-1", "host": "example.com", "methods": ["POST"]}, 404, ["no rule"]),
            ("passthrough + secret", "POST", "/proxy/v1/allows",
             allow(passthrough=True, secret="gh"), 400, ["passthrough"]),
            ("passthrough + methods", "POST", "/proxy/v1/allows",
             allow(passthrough=True, methods=["GET"]), 400, ["passthrough"]),
            ("passthrough + paths", "POST", "/proxy/v1/allows",
             allow(passthrough=True, paths=["/x"]), 400, ["passthrough"]),
            ("unknown secret type", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "a.b", "type": "nope", "value": "v"}, 400, ["nope"]),
            # before OAuth types were supported: "type oauth-claude is not supported yet"; now:
            # the adopted file's missing field is named (never a value)
            ("oauth value not a credential file", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "a.b", "type": "oauth-claude", "value": "{}"}, 400,
             [("not supported yet", "claudeAiOauth")]),
            ("basic without colon", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "a.b", "type": "basic", "value": "nocolon"}, 400,
             ["user:pass"]),
            ("value with a newline", "POST", "/proxy/v1/secrets",
             {"name": "x", "host": "a.b", "value": "a\r\nX-Evil: 1"}, 400, [".value"]),
            ("not JSON content type", "POST", "/proxy/v1/clients", None, 415, ["json"]),
            ("body over the cap", "POST", "/proxy/v1/secrets", None, 413, ["cap"]),
            ("body over the cap, chunked", "POST", "/proxy/v1/secrets", None, 413, ["cap"]),
            ("wrong method", "PUT", "/proxy/v1/clients", None, 405, ["PUT"]),
        ]

        def listings():
            return [b.must(200, "GET", p) for p in
                    ("/proxy/v1/clients", "/proxy/v1/clients/web-1", "/proxy/v1/secrets")]

        before_state = bh.state_snapshot(b.state_dir)
        before_lists = listings()
        big = json.dumps({"name": "big", "host": "a.b", "value": "v" * (64 * 1024)}).encode()
        for what, method, path, body, want, words in cases:
            if what == "not JSON content type":
                st, ans = raw(b, method, path, b'{"name":"x"}', {"Content-Type": "text/plain"})
            elif what == "body over the cap":
                st, ans = raw(b, method, path, big)
            elif what == "body over the cap, chunked":
                st, ans = raw(b, method, path, iter([big[:40000], big[40000:]]),
                              {"Transfer-Encoding": "chunked"}, chunked=True)
            elif isinstance(body, bytes):
                st, ans = raw(b, method, path, body)
            else:
                st, ans = b.api(method, path, body)
            bh.log("%-28s -> %s %r" % (what, st, ans))
            bh.check_eq(st, want, what)
            bh.check(isinstance(ans, dict) and isinstance(ans.get("error"), str),
                     "%s: error body %r" % (what, ans))
            msg = ans["error"]
            bh.check("\n" not in msg and msg, "%s: one line" % what)
            for w in words:
                alts = w if isinstance(w, tuple) else (w,)
                bh.check(any(a.lower() in msg.lower() for a in alts),
                         "%s: %r does not mention %r" % (what, msg, w))
            bh.check(bh.state_snapshot(b.state_dir) == before_state,
                     "%s changed state.json" % what)
            bh.check_eq(listings(), before_lists, "%s changed a listing" % what)
            b.check_alive()
        bh.check("tok-123" not in json.dumps(before_lists), "no value in listings")

        # the negative twin: well-formed versions go through
        b.must(201, "POST", "/proxy/v1/allows", allow(ports=[1, 65535], ttl_seconds=60,
                                                      methods=["PATCH"], paths=["/x/*"]))
        b.must(201, "POST", "/proxy/v1/allows", allow(host="*.a.b", passthrough=True,
                                                      ports=[22]))
        b.must(201, "POST", "/proxy/v1/secrets",
               {"name": "gh", "host": "api.github.com", "value": "new", "force": True})
        b.must(201, "POST", "/proxy/v1/secrets",
               {"name": "big", "host": "a.b", "value": "v" * 1000})
        bh.check(os.path.exists(b.api_socket), "still serving")


bh.run(main)
