#!/usr/bin/env python3
"""429 honours Retry-After: a token endpoint answering 429 with
Retry-After: 3 is not called again for 3 s, then the refresh succeeds; asks
meanwhile get credential-refreshing with a retry_after hint. Negative twin:
without Retry-After the first retry comes after the jittered backoff
(5 s +-25%), not at once."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-429-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        fp.fail("claude", 429, times=1, retry_after=3,
                body={"type": "error", "error": {"type": "rate_limit_error"}})
        f = fp.login_claude(expires_in=0)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(f)})
        bh.wait_for(lambda: len(fp.token_calls("claude")) >= 1, 10, what="first call")
        e = fpmod.Asker(b.ipc_socket)
        a = e.ask("c", "api.anthropic.com")
        bh.check_eq(a.get("error"), "credential-refreshing", "expired and rate limited")
        bh.check(1 <= a.get("retry_after", 0) <= 3, "retry_after hint %r" % a.get("retry_after"))
        bh.wait_for(lambda: fp.stats("claude")["refreshes"] >= 1, 15, what="refreshed after Retry-After")
        calls = fp.token_calls("claude")
        gap = calls[1]["t"] - calls[0]["t"]
        bh.check(gap >= 2.9, "waited Retry-After (%.2f s)" % gap)
        bh.check(gap < 6, "not much longer (%.2f s)" % gap)
        bh.check("error" not in e.ask("c", "api.anthropic.com"), "answered after the refresh")

        fp.fail("codex", 503, times=1)
        g = fp.login_codex(expires_in=0)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex",
                                                  "value": json.dumps(g)})
        bh.wait_for(lambda: fp.stats("codex")["refreshes"] >= 1, 20, what="codex refreshed")
        calls = fp.token_calls("codex")
        gap = calls[1]["t"] - calls[0]["t"]
        bh.check(3.5 <= gap <= 7.5, "jittered backoff, not a hot loop (%.2f s)" % gap)
        e.close()


bh.run(main)
