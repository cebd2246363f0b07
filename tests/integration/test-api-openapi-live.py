#!/usr/bin/env python3
"""The live broker and docs/openapi.yaml agree, both ways.

- GET /proxy/v1/openapi.json serves exactly the YAML document (built in).
- The broker's route table (broker/api_server.c) and the document's
  operations are the same set of (path, method).
- Every documented (path, method, status) is provoked on the live broker,
  and each answer has that status, a documented media type and a body (and
  documented X-Airlock-* headers) that validate against the documented
  schema (JSON Schema 2020-12, python3-jsonschema); a 204 has no body.
- Nothing undocumented answers: on every path made of the API's segments (up
  to three below /proxy/v1/), every method that is not a documented
  operation gets 405 with an Allow header naming exactly the documented
  methods, or 404 where no operation is documented; both with {"error"}.
The 500s are provoked for real: the state write fails (state.json replaced
by a directory), the CA file is gone, an OAuth secret's sealed value is not
a credential."""

import itertools
import json
import os
import shutil

import airlock_harness
import broker_harness as bh
import openapidoc as od

try:
    import jsonschema  # noqa: F401
except ImportError:
    bh.skip("python3-jsonschema is not installed (tools/deps --test)")

CLAUDE = {"claudeAiOauth": {"accessToken": "sk-ant-oat01-openapi-test-access",
                            "refreshToken": "sk-ant-ort01-openapi-test-refresh",
                            "expiresAt": 4102444800000,      # 2100: never refreshed here
                            "scopes": ["user:inference", "user:profile"]}}
BIG = 64 * 1024 + 1   # AL_API_BODY_MAX + 1


def call(b, method, path, body=None, raw=None, headers=None, announce=None):
    """(status, headers with lower-case names, body bytes). announce: a
    Content-Length to announce without sending the body (the broker answers
    413 on the announcement; sending the body would race its close)."""
    conn = airlock_harness.UnixHTTPConnection(b.api_socket, timeout=10)
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        if announce is not None:
            conn.putrequest(method, path)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(announce))
            conn.endheaders()
        else:
            conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.ops = od.operations(doc)
        self.seen = set()

    def answer(self, b, template, method, status, path, **kw):
        """Make the request; check it against the document; record it."""
        st, hdrs, body = call(b, method, path, **kw)
        what = "%s %s (%s)" % (method, path, template)
        bh.check_eq(st, status, what + ": status; body %r" % body[:200])
        op = self.ops[(template, method)]
        resp = op["responses"].get(str(st))
        bh.check(resp is not None, "%s: status %d is not documented" % (what, st))
        content = resp.get("content")
        ctype = hdrs.get("content-type", "").split(";")[0].strip()
        if not content:
            bh.check_eq((body, ctype), (b"", ""), what + ": no body, no Content-Type")
        else:
            bh.check(ctype in content, "%s: Content-Type %r not documented (%s)"
                     % (what, ctype, sorted(content)))
            value = json.loads(body) if ctype == "application/json" else body.decode()
            errs = od.validate(content[ctype]["schema"], value)
            bh.check(not errs, "%s: the answer does not match its schema: %s; body %r"
                     % (what, errs[:3], body[:300]))
        for name, h in (resp.get("headers") or {}).items():
            v = hdrs.get(name.lower())
            if v is None and h.get("required") is False:
                continue   # documented as sometimes there (required: false)
            bh.check(v is not None, "%s: documented header %s missing" % (what, name))
            if h["schema"].get("type") == "integer":
                bh.check(v.isdigit(), "%s: %s is not an integer: %r" % (what, name, v))
                v = int(v)
            errs = od.validate(h["schema"], v)
            bh.check(not errs, "%s: header %s %r: %s" % (what, name, v, errs))
        extra = {k for k in hdrs if k.startswith("x-airlock-")} - \
            {n.lower() for n in (resp.get("headers") or {})}
        bh.check(not extra, "%s: undocumented headers %s" % (what, sorted(extra)))
        self.seen.add((template, method, st))
        return body


def provoke(b, c):
    """Every documented status of every operation, on purpose."""
    A = c.answer
    CL, CLN, SE, SEN, STUB = ("/proxy/v1/clients", "/proxy/v1/clients/{name}",
                              "/proxy/v1/secrets", "/proxy/v1/secrets/{name}",
                              "/proxy/v1/secrets/{name}/stub")
    AL, REV, ALH = "/proxy/v1/allows", "/proxy/v1/allows/revoke", "/proxy/v1/allows/{client}/{host}"
    ST, CA, OA = "/proxy/v1/status", "/proxy/v1/ca", "/proxy/v1/openapi.json"
    big = {"announce": BIG, "headers": {"Content-Type": "application/json"}}
    nobody = {"raw": b"{}", "headers": {"Content-Type": "application/json"}}
    text = {"raw": b'{"name":"x"}', "headers": {"Content-Type": "text/plain"}}

    # clients
    A(b, CL, "POST", 201, "/proxy/v1/clients", body={"name": "web-1"})
    A(b, CL, "POST", 201, "/proxy/v1/clients", body={"name": "web-2",
                                                     "token": "own-token-0123456789abcdef"})
    A(b, CL, "POST", 400, "/proxy/v1/clients", body={"name": "web-3", "colour": "red"})
    A(b, CL, "POST", 409, "/proxy/v1/clients", body={"name": "web-1"})
    A(b, CL, "POST", 413, "/proxy/v1/clients", **big)
    A(b, CL, "POST", 415, "/proxy/v1/clients", **text)
    A(b, CL, "GET", 200, "/proxy/v1/clients")
    A(b, CL, "GET", 400, "/proxy/v1/clients", **nobody)
    A(b, CL, "GET", 413, "/proxy/v1/clients", **big)
    A(b, CLN, "PATCH", 200, "/proxy/v1/clients/web-2", body={"max_rpm": 60, "max_tokens_per_day": 1000})
    A(b, CLN, "PATCH", 200, "/proxy/v1/clients/web-2", body={"max_rpm": 0})
    A(b, CLN, "PATCH", 400, "/proxy/v1/clients/web-2", body={"max_rpm": -1})
    A(b, CLN, "PATCH", 400, "/proxy/v1/clients/web-2", body={"name": "web-3"})
    A(b, CLN, "PATCH", 404, "/proxy/v1/clients/nobody", body={"max_rpm": 1})
    A(b, CLN, "PATCH", 413, "/proxy/v1/clients/web-2", **big)
    A(b, CLN, "PATCH", 415, "/proxy/v1/clients/web-2", **text)

    # secrets
    A(b, SE, "POST", 201, "/proxy/v1/secrets", body={"name": "gh", "host": "api.github.com",
                                                     "value": "ghp_openapi_test"})
    A(b, SE, "POST", 201, "/proxy/v1/secrets", body={"name": "claude", "type": "oauth-claude",
                                                     "value": json.dumps(CLAUDE)})
    A(b, SE, "POST", 400, "/proxy/v1/secrets", body={"name": "x", "host": "*", "value": "v"})
    A(b, SE, "POST", 409, "/proxy/v1/secrets", body={"name": "gh", "host": "a.b", "value": "v"})
    A(b, SE, "POST", 413, "/proxy/v1/secrets", **big)
    A(b, SE, "POST", 415, "/proxy/v1/secrets", **text)
    A(b, SE, "GET", 200, "/proxy/v1/secrets")
    A(b, SE, "GET", 400, "/proxy/v1/secrets", **nobody)
    A(b, SE, "GET", 413, "/proxy/v1/secrets", **big)
    A(b, STUB, "GET", 200, "/proxy/v1/secrets/claude/stub")
    A(b, STUB, "GET", 400, "/proxy/v1/secrets/gh/stub")
    A(b, STUB, "GET", 404, "/proxy/v1/secrets/nope/stub")
    A(b, STUB, "GET", 413, "/proxy/v1/secrets/claude/stub", **big)

    # rules
    rule = {"client": "web-1", "host": "api.github.com", "secret": "gh", "methods": ["GET"],
            "paths": ["/repos/*"], "ttl_seconds": 3600}
    A(b, AL, "POST", 201, "/proxy/v1/allows", body=rule)
    for host in ("a.example", "b.example", "*.c.example", "d.example", "e.example"):
        A(b, AL, "POST", 201, "/proxy/v1/allows", body={"client": "web-1", "host": host})
    A(b, AL, "POST", 400, "/proxy/v1/allows", body={"client": "web-1", "host": "x.example",
                                                    "passthrough": True, "secret": "gh"})
    A(b, AL, "POST", 404, "/proxy/v1/allows", body={"client": "nobody", "host": "x.example"})
    A(b, AL, "POST", 409, "/proxy/v1/allows", body=rule)
    A(b, AL, "POST", 413, "/proxy/v1/allows", **big)
    A(b, AL, "POST", 415, "/proxy/v1/allows", **text)
    A(b, CLN, "GET", 200, "/proxy/v1/clients/web-1")
    A(b, CLN, "GET", 400, "/proxy/v1/clients/web-1", **nobody)
    A(b, CLN, "GET", 404, "/proxy/v1/clients/nobody")
    A(b, CLN, "GET", 413, "/proxy/v1/clients/web-1", **big)
    A(b, REV, "POST", 204, "/proxy/v1/allows/revoke", body={"client": "web-1",
                                                           "host": "a.example"})
    A(b, REV, "POST", 400, "/proxy/v1/allows/revoke", body={"client": "web-1", "host": "a b"})
    A(b, REV, "POST", 404, "/proxy/v1/allows/revoke", body={"client": "web-1",
                                                           "host": "a.example"})
    A(b, REV, "POST", 413, "/proxy/v1/allows/revoke", **big)
    A(b, REV, "POST", 415, "/proxy/v1/allows/revoke", **text)
    A(b, ALH, "DELETE", 204, "/proxy/v1/allows/web-1/%2A.c.example")   # as Go escapes it
    A(b, ALH, "DELETE", 204, "/proxy/v1/allows/web-1/b.example")
    A(b, ALH, "DELETE", 400, "/proxy/v1/allows/web-1/bad!host")
    A(b, ALH, "DELETE", 400, "/proxy/v1/allows/web-1/d.example", **nobody)
    A(b, ALH, "DELETE", 404, "/proxy/v1/allows/web-1/b.example")
    A(b, ALH, "DELETE", 413, "/proxy/v1/allows/web-1/d.example", **big)

    # information
    for tpl, path in ((ST, "/proxy/v1/status"), (CA, "/proxy/v1/ca"),
                      (OA, "/proxy/v1/openapi.json")):
        A(b, tpl, "GET", 200, path)
        A(b, tpl, "GET", 400, path, **nobody)
        A(b, tpl, "GET", 413, path, **big)

    EX = "/proxy/v1/explain"
    A(b, EX, "POST", 200, EX, body={"client": "web-1", "method": "GET", "url": "https://api.github.com/repos/a/b"})
    A(b, EX, "POST", 200, EX, body={"client": "web-1", "method": "POST", "url": "http://e.example:8080/x?y"})
    A(b, EX, "POST", 400, EX, body={"client": "web-1", "method": "GET", "url": "ftp://x/"})
    A(b, EX, "POST", 404, EX, body={"client": "nobody", "method": "GET", "url": "https://x.example/"})
    A(b, EX, "POST", 413, EX, **big)
    A(b, EX, "POST", 415, EX, **text)
    # observing: the decisions (none here: no enforcer), metrics, health
    DE = "/proxy/v1/decisions"
    A(b, DE, "GET", 200, "/proxy/v1/decisions?client=web-1&verdict=deny&since=1h")
    A(b, DE, "GET", 400, "/proxy/v1/decisions?colour=red")
    A(b, DE, "GET", 400, "/proxy/v1/decisions", **nobody)
    A(b, DE, "GET", 413, "/proxy/v1/decisions", **big)
    # a client setting, and the approvals of a stand-in enforcer worker's holds
    A(b, CLN, "PATCH", 200, "/proxy/v1/clients/web-1", body={"on_deny": "hold"})
    A(b, CLN, "PATCH", 400, "/proxy/v1/clients/web-1", body={"on_deny": "maybe"})
    A(b, CLN, "PATCH", 404, "/proxy/v1/clients/nobody", body={"on_deny": "hold"})
    A(b, CLN, "PATCH", 413, "/proxy/v1/clients/web-1", **big)
    A(b, CLN, "PATCH", 415, "/proxy/v1/clients/web-1", **text)
    worker = bh.IpcClient(os.path.join(b.state_dir, "ipc.sock"))
    worker.send({"type": "hello", "proto": 2, "pid": os.getpid(), "asks_only": True})
    for i, path in ((1, "/a"), (2, "/b"), (3, "/c")):
        worker.send({"type": "hold", "id": i, "client": "web-1", "method": "GET", "scheme": "https",
                     "host": "h.example", "port": 443, "path": path, "reason": "no-rule", "timeout_ms": 60000})
    AP, APD = "/proxy/v1/approvals", "/proxy/v1/approvals/{id}"
    bh.wait_for(lambda: len(json.loads(call(b, "GET", AP)[2])) == 3, timeout=5, what="three pending")
    pending = json.loads(A(b, AP, "GET", 200, AP))
    A(b, AP, "GET", 400, AP + "?colour=red")
    A(b, AP, "GET", 400, AP, **nobody)
    A(b, AP, "GET", 413, AP, **big)
    ids = {a["path"]: "/proxy/v1/approvals/%d" % a["id"] for a in pending}
    A(b, APD, "POST", 200, ids["/a"], body={"decision": "approve", "ttl_seconds": 600})
    bh.check_eq(worker.recv(), {"type": "hold", "id": 1, "verdict": "approved",
                                "rule": json.loads(call(b, "GET", "/proxy/v1/clients/web-1")[2])[-1]["id"]},
                "the worker's hold is answered")
    A(b, APD, "POST", 200, ids["/b"], body={"decision": "deny"})
    bh.check_eq(worker.recv(), {"type": "hold", "id": 2, "verdict": "denied"}, "the refusal")
    A(b, APD, "POST", 400, ids["/c"], body={"decision": "maybe"})
    A(b, APD, "POST", 400, ids["/c"], body={"decision": "approve", "path": "/elsewhere"})
    A(b, APD, "POST", 404, "/proxy/v1/approvals/999", body={"decision": "deny"})
    A(b, APD, "POST", 404, ids["/a"], body={"decision": "deny"})
    A(b, APD, "POST", 413, ids["/c"], **big)
    A(b, APD, "POST", 415, ids["/c"], **text)

    for path in ("/metrics", "/healthz", "/readyz"):
        if path == "/readyz":
            A(b, path, "GET", 503, path)   # no enforcer yet
            ipc = bh.IpcClient(os.path.join(b.state_dir, "ipc.sock"))
            pol = ipc.hello()
            ipc.send({"type": "policy-ack", "version": pol["version"]})
            bh.wait_for(lambda: call(b, "GET", path)[0] == 200, timeout=5, what="ready")
        A(b, path, "GET", 200, path)
        A(b, path, "GET", 400, path, **nobody)
        A(b, path, "GET", 413, path, **big)
    ipc.close()

    # the state cannot be written: every change is refused (500), nothing changes
    state = os.path.join(b.state_dir, "state.json")
    with open(state, "rb") as f:
        saved = f.read()
    before = call(b, "GET", "/proxy/v1/clients/web-1")[2]
    os.unlink(state)
    os.makedirs(os.path.join(state, "in-the-way"))
    try:
        A(b, CL, "POST", 500, "/proxy/v1/clients", body={"name": "web-9"})
        A(b, CLN, "DELETE", 500, "/proxy/v1/clients/web-2")
        A(b, CLN, "PATCH", 500, "/proxy/v1/clients/web-2", body={"max_concurrent": 3})
        A(b, SE, "POST", 500, "/proxy/v1/secrets", body={"name": "s9", "host": "a.b",
                                                         "value": "v"})
        A(b, SEN, "DELETE", 500, "/proxy/v1/secrets/gh")
        A(b, AL, "POST", 500, "/proxy/v1/allows", body={"client": "web-1", "host": "z.example"})
        A(b, REV, "POST", 500, "/proxy/v1/allows/revoke", body={"client": "web-1",
                                                               "host": "d.example"})
        A(b, ALH, "DELETE", 500, "/proxy/v1/allows/web-1/d.example")
        A(b, CLN, "PATCH", 500, "/proxy/v1/clients/web-1", body={"on_deny": "deny"})
        A(b, APD, "POST", 500, ids["/c"], body={"decision": "approve"})
    finally:
        shutil.rmtree(state)
        with open(state, "wb") as f:
            f.write(saved)
    bh.check_eq(call(b, "GET", "/proxy/v1/clients/web-1")[2], before, "a 500 changed nothing")
    bh.check_eq([a["path"] for a in json.loads(call(b, "GET", AP)[2])], ["/c"], "a 500 decided nothing")
    worker.close()
    ca = os.path.join(b.state_dir, "ca.pem")
    os.rename(ca, ca + ".away")
    try:
        A(b, CA, "GET", 500, "/proxy/v1/ca")
    finally:
        os.rename(ca + ".away", ca)

    # deletes, last
    A(b, SEN, "DELETE", 204, "/proxy/v1/secrets/gh")
    A(b, SEN, "DELETE", 400, "/proxy/v1/secrets/claude", **nobody)
    A(b, SEN, "DELETE", 404, "/proxy/v1/secrets/gh")
    A(b, SEN, "DELETE", 413, "/proxy/v1/secrets/claude", **big)
    A(b, CLN, "DELETE", 204, "/proxy/v1/clients/web-2")
    A(b, CLN, "DELETE", 400, "/proxy/v1/clients/web-1", **nobody)
    A(b, CLN, "DELETE", 404, "/proxy/v1/clients/web-2")
    A(b, CLN, "DELETE", 413, "/proxy/v1/clients/web-1", **big)

    # an OAuth secret whose sealed value is not a credential (a doctored
    # state: the broker checks that secrets open at start, not their shape)
    A(b, SE, "POST", 201, "/proxy/v1/secrets", body={"name": "odd", "host": "api.anthropic.com",
                                                     "value": "not-a-credential"})
    b.stop()
    with open(state) as f:
        doc = json.load(f)
    [s for s in doc["secrets"] if s["name"] == "odd"][0]["type"] = "oauth-claude"
    with open(state, "w") as f:
        json.dump(doc, f)
    b.start()
    A(b, STUB, "GET", 500, "/proxy/v1/secrets/odd/stub")


def probe(b, doc):
    """Nothing answers that the document does not describe."""
    ops = od.operations(doc)
    allowed = {}
    for (tpl, m) in ops:
        allowed.setdefault(tpl, set()).add(m)
    words = sorted({s for t in doc["paths"] for s in t.split("/")[3:] if not s.startswith("{")}
                   | {"web-1", "claude", "nope"})
    n = 0
    for depth in (1, 2, 3):
        for segs in itertools.product(words, repeat=depth):
            path = "/proxy/v1/" + "/".join(segs)
            tpl = od.match(doc, path)
            for m in od.METHODS:
                if tpl and m in allowed[tpl]:
                    continue
                st, hdrs, body = call(b, m, path)
                n += 1
                want = 405 if tpl else 404
                what = "%s %s" % (m, path)
                bh.check_eq(st, want, what + " (undocumented)")
                if m != "HEAD":
                    bh.check(set(json.loads(body)) == {"error"}, what + ": body %r" % body)
                if want == 405:
                    got = {x.strip() for x in hdrs.get("allow", "").split(",")}
                    bh.check_eq(got, allowed[tpl], what + ": Allow")
    for path in ("/", "/proxy/v1", "/proxy/v1/", "/proxy/v1/clients/", "/proxy/v2/clients",
                 "/metrics/", "/healthz/x", "/proxy/v1/decisions/x",
                 "/proxy/v1/openapi.yaml", "/proxy/v1//clients"):
        st, _, body = call(b, "GET", path)
        n += 1
        bh.check_eq((st, json.loads(body)), (404, {"error": "no such endpoint"}), "GET " + path)
    return n


def main():
    doc = od.load()
    c = Checker(doc)
    ops = set(c.ops)
    src = od.routes_in_source()
    bh.check_eq({(od.star(t), m) for t, m in ops}, src,
                "documented operations vs broker/api_server.c's route table")
    with bh.Broker() as b:
        served = json.loads(c.answer(b, "/proxy/v1/openapi.json", "GET", 200,
                                     "/proxy/v1/openapi.json"))
        bh.check(served == doc, "the served document is docs/openapi.yaml")
        provoke(b, c)
        documented = {(t, m, int(s)) for (t, m), op in c.ops.items() for s in op["responses"]}
        bh.check_eq(sorted(documented - c.seen), [], "documented answers never provoked")
        bh.check_eq(sorted(c.seen - documented), [], "answers seen but not documented")
        n = probe(b, doc)
        bh.log("%d operations, %d documented answers provoked and checked, %d undocumented "
               "(path, method) probes" % (len(ops), len(documented), n))


bh.run(main)
