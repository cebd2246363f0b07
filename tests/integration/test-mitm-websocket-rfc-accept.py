#!/usr/bin/env python3
"""The Codex Responses WebSocket through airlock's interception answers the
RFC 6455 section 1.3 sample key with the RFC's own Sec-WebSocket-Accept
(s3pPLMBiTxaQ9kYGzzhZRbK+xOo=), a literal not computed by the test: the fake
Codex backend once derived the accept with a mistyped GUID, so a Python client
using the same constant agreed with it while the real Codex CLI reported
'Key mismatch in "Sec-WebSocket-Accept" header' and fell back to SSE."""
import json
import os
import struct
import tempfile

import airlock_harness as h
import fake_providers as fpmod
import mitmtest as mt

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def masked_text(data):
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-ws-accept-")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_x = fp.login_codex(account_id="acct-ws-2468")
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex", "value": json.dumps(real_x)})
        h.check_eq(st, 201, "adopt oauth-codex: %r" % (ans,))
        st, ans = al.api("POST", "/proxy/v1/clients", {"name": "sb"})
        tok = ans["token"]
        st, ans = al.api("POST", "/proxy/v1/allows", {"client": "sb", "host": "chatgpt.com", "secret": "x"})
        h.check_eq(st, 201, "allow chatgpt.com: %r" % (ans,))

        conns = []
        # the policy reaches the enforcer a moment after the API answered
        h.wait_for(lambda: conns.append(mt.Inner(al, tok, "chatgpt.com", fp.port)) or
                   conns[-1].connect_status == 200, timeout=10, what="CONNECT chatgpt.com allowed")
        c = conns[-1]
        host = "chatgpt.com" if fp.port == 443 else "chatgpt.com:%d" % fp.port
        c.send(("GET /backend-api/codex/responses HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
                "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                "chatgpt-account-id: acct-ws-2468\r\nauthorization: Bearer airlock-placeholder\r\n"
                "openai-beta: responses_websockets=2026-02-06\r\n"
                "sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
                % (host, RFC_KEY)).encode())
        st, hd = c.read_head()
        h.check_eq(st, 101, "101 Switching Protocols through airlock")
        h.check_eq(hd.get("sec-websocket-accept"), RFC_ACCEPT, "the RFC 6455 accept for the RFC sample key")

        c.send(masked_text(json.dumps({"type": "response.create", "model": "m", "input": []}).encode()))
        while len(c.buf) < 2:
            c._fill()
        h.check_eq(c.buf[0], 0x81, "a text frame comes back over the upgraded connection")
        with fp.lock:
            got = [m.get("type") for m in fp.ws_messages]
        h.check("response.create" in got, "the backend received response.create: %r" % (got,))
        al.check_alive()


h.run(main)
