"""LLM usage metering on answers to injected requests, through interception
of a local fake LLM API that answers as Anthropic and OpenAI do: Messages as
JSON (usage at the top, cache reads counted as input) and as SSE
(message_start.message.usage, then message_delta.usage with the running
output count), Responses as SSE (response.completed.response.usage, on
/v1/responses and Codex's /backend-api/codex/responses), Chat Completions
as SSE (the last chunk's usage) and as JSON. The streams come in pieces cut
mid-line. Each answer's tokens are on its decision line (tokens_in,
tokens_out), added up per client and secret in /metrics and `airlock
status`; a stream cut after message_start counts what it reported. Twin: the same call through a rule that injects nothing is not
metered."""
import json
import re

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


def chunked(handler, pieces, ctype):
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for p in pieces:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")


def sse(events, cut=7):
    """event/data pairs as one text, then cut into pieces of `cut` bytes
    (lines and JSON split across reads)."""
    text = b"".join(b"event: %s\ndata: %s\n\n" % (n.encode(), json.dumps(d).encode()) if n
                    else b"data: %s\n\n" % (d if isinstance(d, bytes) else json.dumps(d).encode())
                    for n, d in events)
    return [text[i:i + cut] for i in range(0, len(text), cut)]


ANTHROPIC_USAGE = {"input_tokens": 11, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 0,
                   "output_tokens": 13}


class LLM(origins._Handler):
    def do_POST(self):
        body = json.loads(self._body() or b"{}")
        stream = body.get("stream")
        p = self.path.split("?")[0]
        if p == "/v1/messages" and not stream:
            return self._send(200, json.dumps({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                "content": [{"type": "text", "text": "usage: not here"}], "stop_reason": "end_turn",
                "usage": ANTHROPIC_USAGE}).encode(), "application/json")
        if p == "/v1/messages" and body.get("cut"):
            # the stream breaks after message_start: the input was billed
            start = {"id": "msg_3", "type": "message", "role": "assistant", "content": [],
                     "usage": {"input_tokens": 21, "output_tokens": 2}}
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            ev = b"event: message_start\ndata: %s\n\n" % json.dumps({"type": "message_start",
                                                                   "message": start}).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            self.wfile.flush()
            self.close_connection = True
            return None
        if p == "/v1/messages":
            start = {"id": "msg_2", "type": "message", "role": "assistant", "content": [],
                     "usage": {"input_tokens": 11, "cache_read_input_tokens": 4, "output_tokens": 1}}
            return chunked(self, sse([
                ("message_start", {"type": "message_start", "message": start}),
                ("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}}),
                ("ping", {"type": "ping"}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": "the word \"usage\" in text"}}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                   "usage": {"output_tokens": 13}}),
                ("message_stop", {"type": "message_stop"})]), "text/event-stream; charset=utf-8")
        if p in ("/v1/responses", "/backend-api/codex/responses"):
            resp = {"id": "resp_1", "object": "response", "status": "completed", "output": [],
                    "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 3},
                              "output_tokens": 30, "total_tokens": 50}}
            return chunked(self, sse([
                ("response.created", {"type": "response.created",
                                      "response": dict(resp, status="in_progress", usage=None)}),
                ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "hi"}),
                ("response.completed", {"type": "response.completed", "response": resp})], cut=5),
                "text/event-stream")
        if p == "/v1/chat/completions" and stream:
            chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {"content": "hi"}}], "usage": None}
            last = {"id": "c1", "object": "chat.completion.chunk", "choices": [],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 50, "total_tokens": 90}}
            return chunked(self, sse([(None, chunk), (None, chunk), (None, last), (None, b"[DONE]")], cut=11),
                           "text/event-stream")
        if p == "/v1/chat/completions":
            return self._send(200, json.dumps({
                "id": "c2", "object": "chat.completion", "choices": [],
                "usage": {"prompt_tokens": 6, "completion_tokens": 8, "total_tokens": 14}}).encode(),
                "application/json")
        return self._send(404, b"{}", "application/json")


def value(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % want)), text, re.M)
    return int(float(m.group(1))) if m else 0


def main():
    with mt.Setup(handler=LLM) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "agent")
        plain = pt.client(al, "plain")
        mt.secret(al, "llm-key", "origin.test", mt.secret_value("llm"))
        pt.allow(al, "agent", "origin.test", "--port", str(port), "--secret", "llm-key")
        pt.allow(al, "plain", "origin.test", "--port", str(port), "--method", "POST")
        url = "https://origin.test:%d" % port

        calls = [("/v1/messages", {"model": "m"}, 15, 13),
                 ("/v1/messages", {"model": "m", "stream": True}, 15, 13),
                 ("/v1/responses", {"stream": True}, 20, 30),
                 ("/backend-api/codex/responses", {"stream": True}, 20, 30),
                 ("/v1/chat/completions", {"stream": True}, 40, 50),
                 ("/v1/chat/completions", {}, 6, 8)]
        for path, body, tin, tout in calls:
            r = mt.curl(al, tok, "-X", "POST", "-H", "Content-Type: application/json", "-d", json.dumps(body),
                        url + path)
            h.check(r.returncode == 0 and r.stdout, "POST %s: %s" % (path, r.stderr))
            d = pt.wait_decision(al, lambda d: d.get("client") == "agent" and d.get("path") == path
                                 and d.get("status") == "200" and
                                 (d.get("tokens_in"), d.get("tokens_out")) == (str(tin), str(tout)),
                                 "the line of %s %s with tokens_in=%d tokens_out=%d" % (path, body, tin, tout))
            h.check_eq(d.get("inject"), "llm-key", "metered under its secret")
        # a stream cut after message_start still counts what it reported
        r = mt.curl(al, tok, "-X", "POST", "-d", json.dumps({"stream": True, "cut": True}), url + "/v1/messages")
        h.check(r.returncode != 0, "the cut stream fails for the client")
        pt.wait_decision(al, lambda d: d.get("client") == "agent" and d.get("tokens_in") == "21"
                         and d.get("tokens_out") == "2", "the cut stream's line with tokens_in=21 tokens_out=2")
        calls.append(("cut", None, 21, 2))
        want_in = sum(c[2] for c in calls)
        want_out = sum(c[3] for c in calls)

        # the twin: nothing injected, nothing metered
        r = mt.curl(al, plain, "-X", "POST", "-d", "{}", url + "/v1/messages")
        h.check(r.returncode == 0, "uninjected POST /v1/messages: %s" % r.stderr)
        d = pt.wait_decision(al, lambda d: d.get("client") == "plain", "the uninjected call's line")
        h.check("tokens_in" not in d and "tokens_out" not in d, "an uninjected answer is not metered: %r" % d)

        def metrics():
            st, body = al.api("GET", "/metrics")
            h.check_eq(st, 200, "GET /metrics")
            return body
        h.wait_for(lambda: value(metrics(), "airlock_llm_responses_total", client="agent",
                                 secret="llm-key") == len(calls), timeout=10, what="usage in /metrics")
        m = metrics()
        h.check_eq(value(m, "airlock_llm_input_tokens_total", client="agent", secret="llm-key"), want_in,
                   "input tokens in /metrics")
        h.check_eq(value(m, "airlock_llm_output_tokens_total", client="agent", secret="llm-key"), want_out,
                   "output tokens in /metrics")
        h.check('client="plain"' not in "\n".join(l for l in m.splitlines() if l.startswith("airlock_llm_")),
                "no usage series for the uninjected client")

        p = al.cli("status")
        h.check(p.returncode == 0, "airlock status: %s" % p.stderr)
        h.check("llm_usage: client=agent secret=llm-key input_tokens=%d output_tokens=%d responses=%d"
                % (want_in, want_out, len(calls)) in p.stdout, "airlock status shows the usage: %r" % p.stdout)
        p = al.cli("status", "--json")
        j = json.loads(p.stdout)
        h.check_eq(j.get("llm_usage"), [{"client": "agent", "secret": "llm-key", "input_tokens": want_in,
                                         "output_tokens": want_out, "responses": len(calls)}],
                   "status --json llm_usage")
        al.check_alive()


h.run(main)
