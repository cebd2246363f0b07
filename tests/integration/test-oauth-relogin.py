#!/usr/bin/env python3
"""relogin-required after a permanent refusal: a token endpoint answering
invalid_grant (Claude, xAI) or refresh_token_reused (Codex) marks the secret
relogin-required (listed, persisted across a restart), asks are answered
with error relogin-required, the log says so clearly, and the broker never
calls the endpoint again. Re-adopting with force brings the secret back.
Negative twin: a 500 is transient: the secret stays ok and is retried."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod

TYPES = {"claude": ("oauth-claude", "api.anthropic.com"), "codex": ("oauth-codex", "chatgpt.com"),
         "xai": ("oauth-xai", "api.x.ai")}


def login(fp, p, **kw):
    return {"claude": fp.login_claude, "codex": fp.login_codex, "xai": fp.login_xai}[p](**kw)


def status(b, name):
    for s in b.must(200, "GET", "/proxy/v1/secrets"):
        if s["name"] == name:
            return s["status"]
    return None


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-relogin-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        for p, (typ, host) in TYPES.items():
            f = login(fp, p, expires_in=0)
            # the login was used elsewhere first: its refresh token is spent
            rt = f["claudeAiOauth"]["refreshToken"] if p == "claude" else (
                f["tokens"]["refresh_token"] if p == "codex" else f["refresh_token"])
            with fp.lock:
                fp.st.refresh[p][rt]["used"] = True
            b.must(201, "POST", "/proxy/v1/secrets", {"name": p, "type": typ, "value": json.dumps(f)})
        for p in TYPES:
            bh.wait_for(lambda: status(b, p) == "relogin-required", 15, what="%s relogin-required" % p)
        calls = {p: len(fp.token_calls(p)) for p in TYPES}
        e = fpmod.Asker(b.ipc_socket)
        for p, (typ, host) in TYPES.items():
            a = e.ask(p, host)
            bh.check_eq(a.get("error"), "relogin-required", "%s: asks refused" % p)
            bh.check("headers" not in a, "%s: no headers" % p)
        log = b.log_text()
        bh.check(log.count("OAuth login lost: relogin required") >= 3, "clear log line per secret")
        bh.check("invalid_grant" in log and "refresh_token_reused" in log, "reason logged")
        e.close()
        b.restart()
        bh.check_eq(status(b, "claude"), "relogin-required", "persisted across a restart")
        time.sleep(1.5)
        bh.check_eq({p: len(fp.token_calls(p)) for p in TYPES}, calls, "never called again")

        # re-adoption after a new login on the host
        f = fp.login_claude()
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "claude", "type": "oauth-claude",
                                                  "value": json.dumps(f), "force": True})
        bh.check_eq(status(b, "claude"), "ok", "re-adopted")
        e = fpmod.Asker(b.ipc_socket)
        a = e.ask("claude", "api.anthropic.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + f["claudeAiOauth"]["accessToken"],
                    "answered again")

        # negative twin: transient 500s are retried, the login stays ok
        fp.fail("xai", 500, times=1)
        g = fp.login_xai(expires_in=0)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "flaky", "type": "oauth-xai",
                                                  "value": json.dumps(g)})
        bh.wait_for(lambda: fp.stats("xai")["failed"] >= 1, 10, what="the 500 was seen")
        bh.check_eq(status(b, "flaky"), "ok", "a 500 is not permanent")
        bh.wait_for(lambda: fp.stats("xai")["refreshes"] >= 1, 20, what="retried after backoff")
        bh.check_eq(status(b, "flaky"), "ok", "ok after the retry")
        bh.check("OAuth refresh failed; will retry" in b.log_text(), "transient failure logged")
        e.close()


bh.run(main)
