"""Token budgets in tests: an Anthropic Messages origin whose every answer
reports 18 tokens (10 in, 8 out), two clients on one injected secret (one
with a budget of tokens per day), and one call through airlock."""
import json

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

TOKENS_PER_CALL = 18


class Messages(origins._Handler):
    def do_POST(self):
        self._body()
        return self._send(200, json.dumps({
            "id": "msg", "type": "message", "role": "assistant", "content": [],
            "usage": {"input_tokens": 10, "output_tokens": 8}}).encode(), "application/json")


def two_clients(s, cap):
    """On mt.Setup(handler=Messages) s: client "capped" with
    --max-tokens-per-day cap and client "free", both allowed to origin.test
    with secret k injected. Returns (capped's token, free's token)."""
    al = s.al
    p = al.cli("client", "create", "capped", "--max-tokens-per-day", str(cap))
    h.check(p.returncode == 0, "client create --max-tokens-per-day: %s" % p.stderr)
    free = pt.client(al, "free")
    mt.secret(al, "k", "origin.test", mt.secret_value("tok"))
    for c in ("capped", "free"):
        pt.allow(al, c, "origin.test", "--port", str(s.port), "--secret", "k")
    return p.stdout.strip(), free


def call(s, tok):
    """POST /v1/messages to origin.test through airlock's interception:
    (status, headers, body); the CONNECT's status and headers when it was
    refused."""
    c = mt.Inner(s.al, tok, "origin.test", s.port)
    try:
        if c.connect_status != 200:
            return c.connect_status, c.connect_headers, b""
        return c.get("/v1/messages", host="origin.test:%d" % s.port, method="POST", body=b"{}",
                     headers=[("Content-Type", "application/json")])
    finally:
        c.close()
