#!/usr/bin/env python3
"""Token shim (broker side): a sandbox's own request to its provider's token
endpoint is answered by airlock with fresh placeholders carrying the real
identity (Claude account, Codex account id in the id_token), for a client
whose live rule injects that provider's OAuth secret; the fake token endpoint
never sees the request and the real login is not rotated. Negative twins: a
client without such a rule, another path, the wrong method, or a bearer
secret get no-shim."""

import json
import tempfile

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-shim-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        claude = fp.login_claude()
        codex = fp.login_codex(account_id="acct-real-77")
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(claude)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex",
                                                  "value": json.dumps(codex)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "plain", "host": "api.github.com",
                                                  "value": "ghp_x"})
        for n in ("sb", "other"):
            b.must(201, "POST", "/proxy/v1/clients", {"name": n})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "sb", "host": "api.anthropic.com", "secret": "c"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "sb", "host": "chatgpt.com", "secret": "x"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "sb", "host": "api.github.com", "secret": "plain"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "other", "host": "api.anthropic.com"})
        e = fpmod.Asker(b.ipc_socket)
        n = [0]

        def shim(client, host, path, method="POST"):
            n[0] += 1
            e.send({"type": "shim", "id": n[0], "client": client, "host": host, "path": path,
                    "method": method})
            return e.recv_type("shim")

        a = shim("sb", "platform.claude.com", "/v1/oauth/token")
        bh.check_eq((a.get("status"), a.get("secret")), (200, "c"), "claude shim")
        body = json.loads(a["body"])
        bh.check(body["access_token"].startswith("sk-ant-oat01-"), "placeholder access")
        bh.check(body["refresh_token"].startswith("sk-ant-ort01-"), "placeholder refresh")
        bh.check(body["expires_in"] > 10 ** 9, "far-future expiry")
        real = [claude["claudeAiOauth"]["accessToken"], claude["claudeAiOauth"]["refreshToken"]]
        bh.check(not any(r in a["body"] for r in real), "no real token in the shim answer")
        a = shim("sb", "console.anthropic.com", "/v1/oauth/token")
        bh.check_eq(a.get("status"), 200, "the older Claude endpoint too")
        a = shim("sb", "auth.openai.com", "/oauth/token")
        bh.check_eq(a.get("secret"), "x", "codex shim")
        body = json.loads(a["body"])
        idc = fpmod.jwt_claims(body["id_token"])
        bh.check_eq(idc["https://api.openai.com/auth"]["chatgpt_account_id"], "acct-real-77",
                    "the id_token carries the real account id")
        bh.check(codex["tokens"]["refresh_token"] not in a["body"], "no real codex token")
        for args, why in ((("other", "platform.claude.com", "/v1/oauth/token"), "client without an oauth rule"),
                          (("nobody", "platform.claude.com", "/v1/oauth/token"), "unknown client"),
                          (("sb", "platform.claude.com", "/v1/oauth/authorize"), "not a token path"),
                          (("sb", "platform.claude.com", "/v1/oauth/token", "GET"), "wrong method"),
                          (("sb", "api.github.com", "/copilot_internal/v2/token", "GET"), "bearer secret"),
                          (("sb", "auth.x.ai", "/oauth2/token"), "no xai secret")):
            bh.check_eq(shim(*args).get("error"), "no-shim", why)
        bh.check_eq(fp.token_calls("claude"), [], "the fake Claude endpoint saw nothing")
        bh.check_eq(fp.token_calls("codex"), [], "the fake Codex endpoint saw nothing")
        bh.check_eq(fpmod.hdrs(e.ask("c", "api.anthropic.com"))["authorization"], "Bearer " + real[0],
                    "the real login is unchanged")
        bh.check("token-shim" in b.log_text(), "logged")
        e.close()


bh.run(main)
