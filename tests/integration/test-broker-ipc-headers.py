#!/usr/bin/env python3
"""answer_headers: the broker checks what an ask means before it answers.
A secret is answered only for a host its pattern covers (exact or *.
wildcard): bearer -> "Bearer v", basic -> "Basic base64(user:pass)".
Negative twins: the same secret asked for another host, the bare domain of
a *. pattern, a non-canonical or bogus host, or a missing secret is refused
with the right error code and no header. A burst of asks in one write gets
every answer, in order (the broker writes the answers of one read
together)."""

import base64

import broker_harness as bh


def main():
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gh", "host": "api.github.com",
                                                   "value": "ghp_test1"})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "reg", "host": "*.registry.example",
                                                   "type": "basic", "value": "me:p@ss:word"})
        e = bh.IpcClient(b.ipc_socket)
        e.hello()
        n = [0]

        def ask(secret, host):
            n[0] += 1
            e.send({"type": "headers", "id": n[0], "secret": secret, "host": host})
            a = e.recv()
            bh.check_eq((a["type"], a["id"]), ("headers", n[0]), "answer pairs with the ask")
            return a

        a = ask("gh", "api.github.com")
        bh.check_eq(a["headers"], [["Authorization", "Bearer ghp_test1"]], "bearer")
        bh.check("error" not in a, "no error")
        a = ask("gh", "API.GitHub.com.")
        bh.check_eq(a.get("headers"), [["Authorization", "Bearer ghp_test1"]],
                    "host canonicalised before the check")
        basic = "Basic " + base64.b64encode(b"me:p@ss:word").decode()
        for h in ("x.registry.example", "a.b.registry.example"):
            a = ask("reg", h)
            bh.check_eq(a.get("headers"), [["Authorization", basic]], "basic for %s" % h)

        for secret, host, code in (("gh", "evil.example", "secret-host-mismatch"),
                                   ("gh", "api.github.com.evil.example", "secret-host-mismatch"),
                                   ("gh", "github.com", "secret-host-mismatch"),
                                   ("reg", "registry.example", "secret-host-mismatch"),
                                   ("reg", "registry.example.evil", "secret-host-mismatch"),
                                   ("gh", "bad host!", "secret-host-mismatch"),
                                   ("gh", "*", "secret-host-mismatch"),
                                   ("nope", "api.github.com", "secret-not-found")):
            a = ask(secret, host)
            bh.check_eq(a.get("error"), code, "%s for %s" % (secret, host))
            bh.check("headers" not in a, "no headers on a refusal (%s, %s)" % (secret, host))
            bh.check("ghp_test1" not in str(a) and "p@ss" not in str(a), "no value in refusal")

        # deleted secret: refused at once; re-created: answered again
        b.must_204("DELETE", "/proxy/v1/secrets/gh")
        e.recv()   # the policy push of the delete
        bh.check_eq(ask("gh", "api.github.com").get("error"), "secret-not-found", "deleted")
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gh", "host": "api.github.com",
                                                   "value": "ghp_test2"})
        e.recv()   # the policy push of the creation (a new secret may bring rules back)
        bh.check_eq(ask("gh", "api.github.com").get("headers"),
                    [["Authorization", "Bearer ghp_test2"]], "re-created")

        # asks that arrive in one read are answered together (one write),
        # every one of them, in order, refusals included
        import json
        import struct
        burst = b""
        want = []
        for k, (secret, host) in enumerate([("gh", "api.github.com"), ("reg", "x.registry.example"),
                                            ("gh", "evil.example"), ("gh", "api.github.com")] * 8):
            n[0] += 1
            frame = json.dumps({"type": "headers", "id": n[0], "secret": secret, "host": host}).encode()
            burst += struct.pack(">I", len(frame)) + frame
            want.append((n[0], host != "evil.example"))
        e.send_raw(burst)
        got = [e.recv() for _ in want]
        bh.check_eq([(a["id"], "headers" in a) for a in got], want, "a burst of 32 asks, 32 answers in order")
        bh.check(all(a.get("error") == "secret-host-mismatch" for a in got if "headers" not in a),
                 "the refusals in the burst say why")
        e.close()


bh.run(main)
