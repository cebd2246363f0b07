#!/usr/bin/env python3
"""Upstream 401: when the enforcer reports that an upstream refused an
injected OAuth credential, the broker forces one refresh (single flight, even
though the token is not near expiry) and serves the new token afterwards. A
second report inside 30 s does not refresh again (no refresh loop when the
upstream keeps refusing). Negative twin: a 401 for a bearer secret or an
unknown secret refreshes nothing."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-401-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        f = fp.login_claude(expires_in=8 * 3600)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(f)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "plain", "host": "a.example", "value": "t"})
        e = fpmod.Asker(b.ipc_socket)
        old = fpmod.hdrs(e.ask("c", "api.anthropic.com"))["authorization"]
        time.sleep(0.5)
        bh.check_eq(fp.stats("claude")["refreshes"], 0, "not due: no refresh")
        for _ in range(5):        # many requests saw the 401 at once
            e.upstream_401("c", "api.anthropic.com")
        bh.wait_for(lambda: fp.stats("claude")["refreshes"] >= 1, 10, what="forced refresh")
        time.sleep(0.5)
        bh.check_eq(fp.stats("claude")["refreshes"], 1, "one forced refresh for five reports")
        new = fpmod.hdrs(e.ask("c", "api.anthropic.com"))["authorization"]
        bh.check(new != old, "the new token is served")
        e.upstream_401("c", "api.anthropic.com")
        e.upstream_401("plain", "a.example")
        e.upstream_401("nope", "a.example")
        time.sleep(1.0)
        bh.check_eq(fp.stats("claude")["refreshes"], 1, "no second forced refresh within 30 s")
        bh.check_eq(fp.stats("claude")["reuses"], 0, "no reuse")
        bh.check("forcing a refresh" in b.log_text(), "logged")
        b.check_alive()
        e.close()


bh.run(main)
