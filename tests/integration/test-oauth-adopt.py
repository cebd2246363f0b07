#!/usr/bin/env python3
"""OAuth adoption: each provider's vendor file is adopted by POST
/proxy/v1/secrets (type oauth-*, host defaulting to the provider's API host),
listed with adopted_at/expires_at/status and never a value, answered to the
enforcer with the provider's headers, and stubbed for the sandbox.
Negative twins: malformed files and missing fields are refused with a
message that names the field and never echoes a value, and change nothing."""

import json
import os
import tempfile

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-adopt-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        claude = fp.login_claude()
        codex = fp.login_codex(account_id="acct-real-1234")
        copilot = fp.login_copilot("gho")
        xai = fp.login_xai()
        rows = [("c", "oauth-claude", claude, "api.anthropic.com"),
                ("x", "oauth-codex", codex, "chatgpt.com"),
                ("g", "oauth-github-copilot", copilot, "*.githubcopilot.com"),
                ("k", "oauth-xai", xai, "api.x.ai")]
        secrets = [claude["claudeAiOauth"]["accessToken"], claude["claudeAiOauth"]["refreshToken"],
                   codex["tokens"]["access_token"], codex["tokens"]["refresh_token"],
                   copilot["github-copilot"]["refresh"], xai["access_token"], xai["refresh_token"]]
        for name, typ, f, host in rows:
            a = b.must(201, "POST", "/proxy/v1/secrets", {"name": name, "type": typ,
                                                          "value": json.dumps(f)})
            bh.check_eq(a["host"], host, "%s: default host" % typ)
            bh.check_eq(a["status"], "ok", "%s: status" % typ)
            bh.check("adopted_at" in a, "%s: adopted_at" % typ)
            if typ != "oauth-github-copilot":
                bh.check("expires_at" in a, "%s: expires_at" % typ)
            bh.check(not any(s in json.dumps(a) for s in secrets), "%s: no value in answer" % typ)

        # one login, one secret: adopting it again under another name would
        # make each refresh log the other out
        st, ans = b.api("POST", "/proxy/v1/secrets", {"name": "c2", "type": "oauth-claude",
                                                      "value": json.dumps(claude)})
        bh.check_eq(st, 409, "the same login twice")
        bh.check("secret c" in ans.get("error", ""), "names the first: %r" % ans)
        st, ans = b.api("POST", "/proxy/v1/secrets", {"name": "g2", "type": "oauth-github-copilot",
                                                      "value": json.dumps(copilot)})
        bh.check_eq(st, 409, "the same GitHub token twice")
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(claude), "force": True})
        lst = b.must(200, "GET", "/proxy/v1/secrets")
        bh.check_eq(sorted(s["name"] for s in lst), ["c", "g", "k", "x"], "listed")
        bh.check(not any(s in json.dumps(lst) for s in secrets), "no value in the list")

        # the enforcer's view: provider headers
        e = fpmod.Asker(b.ipc_socket)
        a = e.ask("c", "api.anthropic.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + secrets[0], "claude bearer")
        bh.check("x-api-key" in [s.lower() for s in a.get("strip", [])], "claude strips x-api-key")
        bh.check_eq(a.get("merge"), [["anthropic-beta", "oauth-2025-04-20"]], "claude beta merge")
        a = e.ask("x", "chatgpt.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + secrets[2], "codex bearer")
        bh.check_eq(fpmod.hdrs(a).get("chatgpt-account-id"), "acct-real-1234", "codex account")
        bh.check("chatgpt-account-id" in [s.lower() for s in a.get("strip", [])],
                 "the sandbox's account header is replaced")
        a = e.ask("g", "api.githubcopilot.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + secrets[4], "copilot gho_")
        a = e.ask("k", "api.x.ai")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + secrets[5], "xai bearer")
        bh.check_eq(e.ask("c", "api.x.ai").get("error"), "secret-host-mismatch", "bound to its host")
        e.close()
        bh.check_eq(fp.stats("copilot")["refreshes"], 0, "gho_ is never exchanged")

        # stubs: placeholders, real identity
        st = b.must(200, "GET", "/proxy/v1/secrets/c/stub")
        o = st["claudeAiOauth"]
        bh.check(o["accessToken"].startswith("sk-ant-oat01-"), "stub oat01")
        bh.check(o["refreshToken"].startswith("sk-ant-ort01-"), "stub ort01")
        bh.check("user:inference" in o["scopes"], "stub scopes")
        bh.check(o["expiresAt"] > 4000000000000, "stub expiresAt ms far future")
        st = b.must(200, "GET", "/proxy/v1/secrets/x/stub")
        bh.check_eq(st["tokens"]["account_id"], "acct-real-1234", "codex stub account")
        idc = fpmod.jwt_claims(st["tokens"]["id_token"])
        bh.check_eq(idc["https://api.openai.com/auth"]["chatgpt_account_id"], "acct-real-1234",
                    "codex stub id_token claim")
        bh.check(fpmod.jwt_claims(st["tokens"]["access_token"])["exp"] > 4000000000,
                 "codex stub exp far future (s)")
        st = b.must(200, "GET", "/proxy/v1/secrets/g/stub")
        bh.check(st["github-copilot"]["refresh"].startswith("gho_"), "copilot stub")
        st = b.must(200, "GET", "/proxy/v1/secrets/k/stub")
        bh.check(st["xai"]["expires"] > 4000000000000, "xai stub")
        for n in ("c", "x", "g", "k"):
            st = b.must(200, "GET", "/proxy/v1/secrets/%s/stub" % n)
            bh.check(not any(s in json.dumps(st) for s in secrets), "%s: stub holds no real token" % n)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "plain", "host": "a.example", "value": "tok"})
        b.must(400, "GET", "/proxy/v1/secrets/plain/stub")
        b.must(404, "GET", "/proxy/v1/secrets/nope/stub")

        # negative twins: refused, field named, no value echoed, nothing changed
        before = bh.state_snapshot(b.state_dir)
        bad = [("oauth-claude", {"claudeAiOauth": {"refreshToken": "sk-ant-ort01-LEAKME"}},
                ".claudeAiOauth.accessToken"),
               ("oauth-claude", {"claudeAiOauth": {"accessToken": "sk-ant-oat01-LEAKME"}},
                ".claudeAiOauth.refreshToken"),
               ("oauth-codex", {"tokens": {"access_token": "LEAKME", "refresh_token": "LEAKME2"}},
                ".tokens.account_id"),
               ("oauth-codex", {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-LEAKME"}, ".tokens"),
               ("oauth-github-copilot", {"openai": {"type": "oauth", "refresh": "LEAKME"}},
                ".github-copilot"),
               ("oauth-xai", {"access_token": "LEAKME"}, ".refresh_token"),
               ("oauth-xai", {"access_token": "LEAKME", "refresh_token": "LEAKME2",
                              "token_endpoint": "https://evil.example/token"}, ".token_endpoint")]
        for typ, f, field in bad:
            st, ans = b.api("POST", "/proxy/v1/secrets", {"name": "bad", "type": typ,
                                                          "value": json.dumps(f)})
            bh.check_eq(st, 400, "%s missing %s refused" % (typ, field))
            bh.check(field in ans.get("error", ""), "%s: error names %s: %r" % (typ, field, ans))
            bh.check("LEAKME" not in json.dumps(ans), "%s: no value echoed" % typ)
        st, ans = b.api("POST", "/proxy/v1/secrets", {"name": "bad", "type": "oauth-claude",
                                                      "value": '{"claudeAiOauth": {"accessToken": sk-ant-LEAKME'})
        bh.check_eq(st, 400, "not JSON refused")
        bh.check("LEAKME" not in json.dumps(ans) and "line" in ans.get("error", ""),
                 "JSON error without the text: %r" % ans)
        bh.check_eq(bh.state_snapshot(b.state_dir), before, "refusals changed nothing")

        # nothing secret at rest or in the log
        text = b.log_text()
        for root, _, files in os.walk(b.state_dir):
            for fn in files:
                if not os.path.isfile(os.path.join(root, fn)) or fn.endswith(".sock"):
                    continue
                with open(os.path.join(root, fn), "rb") as fh:
                    text += fh.read().decode("latin-1")
        bh.check(not any(s in text for s in secrets), "no token at rest or in logs")
        bh.check("LEAKME" not in text, "no refused value in logs")


bh.run(main)
