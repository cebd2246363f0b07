#!/usr/bin/env python3
"""Single flight at expiry: 50 concurrent headers asks for a Claude secret
whose access token has just expired start exactly one refresh; each ask is
held until the rotated credential is saved and then answered with the new
token (none gets the expired one). Prints how long the refresh held an ask
(p50/p99). Negative twin: when the refresh outlasts the hold (1.5 s), the
asks are answered credential-refreshing with retry_after, still with one
refresh."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-flight-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        # a login whose access token expires now: adoption starts its
        # refresh at once, and the token endpoint takes 300 ms to answer;
        # the 50 asks arrive while it is in flight
        fp.delay("claude", 0.3)
        asks = [fpmod.Asker(b.ipc_socket) for _ in range(5)]
        f = fp.login_claude(expires_in=0)
        old = f["claudeAiOauth"]["accessToken"]
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(f)})
        ids = []
        for i in range(50):
            a = asks[i % 5]
            ids.append((a, a.ask_async("c", "api.anthropic.com"), time.monotonic()))
        got = {}
        for a in asks:
            got[a] = a.answers(10, timeout=10)
        held = []
        toks = set()
        for a, i, t in ids:
            ans = got[a][i]
            bh.check("error" not in ans, "ask answered with headers: %r" % ans.get("error"))
            toks.add(fpmod.hdrs(ans).get("authorization"))
            held.append(ans["_at"] - t)
        bh.check_eq(len(toks), 1, "all 50 got the same token")
        bh.check("Bearer " + old not in toks, "nobody got the expired token")
        bh.check_eq(fp.stats("claude")["refreshes"], 1, "exactly one refresh")
        bh.check_eq(fp.stats("claude")["reuses"], 0, "no reuse")
        print("hold p50=%.1f ms p99=%.1f ms (token endpoint delay 300 ms)"
              % (pct(held, 50) * 1000, pct(held, 99) * 1000), flush=True)

        # negative twin: a refresh slower than the hold
        fp.delay("claude", 2.5)
        f = fp.login_claude(expires_in=0)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "slow", "type": "oauth-claude",
                                                  "value": json.dumps(f)})
        a = asks[0]
        ids = [a.ask_async("slow", "api.anthropic.com") for _ in range(10)]
        ans = a.answers(10, timeout=10)
        for i in ids:
            bh.check_eq(ans[i].get("error"), "credential-refreshing", "slow refresh: 503 reason")
            bh.check(ans[i].get("retry_after", 0) >= 1, "retry_after given")
        bh.wait_for(lambda: fp.stats("claude")["refreshes"] == 2, 10, what="the slow refresh ends")
        bh.check_eq(fp.stats("claude")["reuses"], 0, "still no reuse")
        fresh = a.ask("slow", "api.anthropic.com")
        bh.check("error" not in fresh, "answered once the slow refresh is saved")
        for x in asks:
            x.close()


bh.run(main)
