#!/usr/bin/env python3
"""Refresh before expiry: a login whose access token expires inside the
provider's lead (>= 5 min) is refreshed at once, for each rotating provider
(Claude, Codex, xAI); the rotated credential is what the enforcer gets next,
secret list shows refreshed_at and the new expires_at, and the refresh
endpoint saw each refresh token exactly once. Negative twin: a login far from
expiry is not refreshed at all."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-refresh-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        soon = {"claude": fp.login_claude(expires_in=120),
                "codex": fp.login_codex(expires_in=120),
                "xai": fp.login_xai(expires_in=120)}
        far = fp.login_claude(expires_in=6 * 3600)
        types = {"claude": ("oauth-claude", "api.anthropic.com"),
                 "codex": ("oauth-codex", "chatgpt.com"),
                 "xai": ("oauth-xai", "api.x.ai")}
        t0 = time.time()
        for p, f in soon.items():
            b.must(201, "POST", "/proxy/v1/secrets", {"name": p, "type": types[p][0],
                                                      "value": json.dumps(f)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "far", "type": "oauth-claude",
                                                  "value": json.dumps(far)})
        def listed():
            return {s["name"]: s for s in b.must(200, "GET", "/proxy/v1/secrets")}
        # the fake counts a refresh when it rotates; the broker lists it once saved
        bh.wait_for(lambda: all("refreshed_at" in listed()[p] for p in soon), 15,
                    what="all three refreshed and saved")
        lst = listed()
        e = fpmod.Asker(b.ipc_socket)
        for p in soon:
            bh.check_eq(fp.stats(p), {"refreshes": 1, "reuses": 0, "unknown": 0, "failed": 0},
                        "%s: one refresh, no reuse" % p)
            bh.check("refreshed_at" in lst[p], "%s: refreshed_at listed" % p)
            bh.check_eq(lst[p]["status"], "ok", "%s: status ok" % p)
            a = e.ask(p, types[p][1])
            tok = fpmod.hdrs(a)["authorization"][7:]
            with fp.lock:
                live = fp.st.access[p].get(tok)
            bh.check(live is not None and live["exp"] > t0 + 3600, "%s: the new access token" % p)
        bh.check_eq(fp.stats("claude")["refreshes"], 1, "the far login was not refreshed")
        bh.check("refreshed_at" not in lst["far"], "far: never refreshed")
        # after a restart nothing is refreshed again (the saved tokens are fresh)
        e.close()
        b.restart()
        time.sleep(1.0)
        for p in soon:
            bh.check_eq(fp.stats(p)["refreshes"], 1, "%s: no refresh after restart" % p)
        bh.check("OAuth credential refreshed" in b.log_text(), "refresh logged")


bh.run(main)
