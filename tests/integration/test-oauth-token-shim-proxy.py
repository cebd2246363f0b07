#!/usr/bin/env python3
"""Token shim through the whole of airlock (`airlock up`): a sandbox whose
client injects OAuth secrets posts its own refresh request to each provider's
token endpoint (JSON for Claude and Codex, form-encoded for Copilot and xAI)
through the proxy, with no rule for the token host, and gets placeholders
(real identity, no real token) from airlock itself, logged token-shim; the
fake token endpoints never see a request. The connection stays usable after
the answer (the request body is skipped). Negative twins: another path on a
token host is refused (no rule, not forwarded); a client without any secret
is refused at the CONNECT, as before."""

import json
import shutil
import subprocess
import tempfile

import airlock_harness as h
import fake_providers as fpmod


def curl(al, tok, url, *args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--proxy", al.proxy_url(tok),
                           "--cacert", al.ca_cert, "-w", "\n%{http_code}", url] + list(args),
                          capture_output=True, text=True, timeout=60)


def status_body(r):
    out, _, code = r.stdout.rpartition("\n")
    return int(code or 0), out


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-shim-proxy-")
    if not shutil.which("curl"):
        h.skip("curl not installed")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_c = fp.login_claude()
        real_x = fp.login_codex(account_id="acct-real-2468")
        real_g = fp.login_copilot("gho")
        real_k = fp.login_xai()
        for name, typ, f in (("c", "oauth-claude", real_c), ("x", "oauth-codex", real_x),
                             ("g", "oauth-github-copilot", real_g), ("k", "oauth-xai", real_k)):
            st, ans = al.api("POST", "/proxy/v1/secrets", {"name": name, "type": typ, "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt %s: %r" % (typ, ans))
        st, ans = al.api("POST", "/proxy/v1/clients", {"name": "sb"})
        tok = ans["token"]
        for host, sec in (("api.anthropic.com", "c"), ("chatgpt.com", "x"),
                          ("api.individual.githubcopilot.com", "g"), ("api.x.ai", "k")):
            st, ans = al.api("POST", "/proxy/v1/allows", {"client": "sb", "host": host, "secret": sec})
            h.check_eq(st, 201, "allow %s: %r" % (host, ans))
        fp.quiesce()
        before = {p: len(fp.token_calls(p)) for p in ("claude", "codex", "copilot", "xai")}
        reals = [real_c["claudeAiOauth"]["accessToken"], real_c["claudeAiOauth"]["refreshToken"],
                 real_x["tokens"]["access_token"], real_x["tokens"]["refresh_token"]]

        # Claude: JSON refresh request; twice on one connection (keep-alive after the shim)
        req = json.dumps({"grant_type": "refresh_token", "refresh_token": "sk-ant-ort01-airlock-placeholder",
                          "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e"})
        url = "https://platform.claude.com/v1/oauth/token"
        one = ["--proxy", al.proxy_url(tok), "--cacert", al.ca_cert, "-H", "content-type: application/json",
               "--data", req, "-w", "\n@@%{http_code} %{num_connects}@@\n", url]
        r = subprocess.run(["curl", "-sS", "--max-time", "20"] + one + ["--next"] + one,
                           capture_output=True, text=True, timeout=60)
        h.check_eq(r.returncode, 0, "curl: %s" % r.stderr[-300:])
        parts = r.stdout.split("@@")
        h.check_eq(len(parts), 5, "two answers: %r" % r.stdout[-300:])
        h.check_eq(parts[1], "200 1", "claude shim answered: %r" % r.stdout[:300])
        body = json.loads(parts[0])
        h.check(body["access_token"].startswith("sk-ant-oat01-"), "claude placeholder access")
        h.check(body["refresh_token"].startswith("sk-ant-ort01-"), "claude placeholder refresh")
        h.check_eq(parts[3], "200 0", "second request on the same tunnel: %r" % r.stdout[-300:])
        h.check(not any(x in r.stdout for x in reals), "no real token in the shim answer")

        # Codex: JSON, the id_token carries the real account id
        r = curl(al, tok, "https://auth.openai.com/oauth/token", "-H", "content-type: application/json",
                 "--data", json.dumps({"grant_type": "refresh_token", "refresh_token": "rt_placeholder",
                                       "client_id": "app_x"}))
        code, out = status_body(r)
        h.check_eq(code, 200, "codex shim: %s %s" % (out[:200], r.stderr[-200:]))
        idc = fpmod.jwt_claims(json.loads(out)["id_token"])
        h.check_eq(idc["https://api.openai.com/auth"]["chatgpt_account_id"], "acct-real-2468",
                   "codex placeholder id_token keeps the real account id")
        h.check(not any(x in out for x in reals), "no real codex token")

        # Copilot (form-encoded) and xAI (form-encoded)
        r = curl(al, tok, "https://github.com/login/oauth/access_token", "-H", "Accept: application/json",
                 "--data", "client_id=Iv1.b507a08c87ecfe98&grant_type=refresh_token&refresh_token=ghr_x")
        code, out = status_body(r)
        h.check_eq(code, 200, "copilot shim: %s %s" % (out[:200], r.stderr[-200:]))
        h.check(json.loads(out)["access_token"].startswith("gho_"), "copilot placeholder")
        h.check(real_g["github-copilot"]["refresh"] not in out, "no real github token")
        r = curl(al, tok, "https://auth.x.ai/oauth2/token",
                 "--data", "grant_type=refresh_token&refresh_token=placeholder&client_id=x")
        code, out = status_body(r)
        h.check_eq(code, 200, "xai shim: %s %s" % (out[:200], r.stderr[-200:]))
        h.check("access_token" in json.loads(out), "xai placeholder")

        # twins: another path on a token host (no rule) is refused, not forwarded
        r = curl(al, tok, "https://platform.claude.com/v1/oauth/authorize", "--data", "x=1")
        h.check_eq(status_body(r)[0], 403, "another path: refused")
        st, ans = al.api("POST", "/proxy/v1/clients", {"name": "bare"})
        tok2 = ans["token"]
        al.api("POST", "/proxy/v1/allows", {"client": "bare", "host": "api.anthropic.com"})
        r = curl(al, tok2, "https://platform.claude.com/v1/oauth/token", "--data", req)
        h.check("403" in r.stderr or status_body(r)[0] == 403,
                "no secret: CONNECT refused: %s %s" % (r.stdout[-100:], r.stderr[-200:]))

        after = {p: len(fp.token_calls(p)) for p in ("claude", "codex", "copilot", "xai")}
        h.check_eq(after, before, "the fake token endpoints saw nothing")
        h.check_eq(fp.stats("claude")["refreshes"], 0, "the real Claude login was not rotated")
        h.wait_for(lambda: "token-shim" in al.log_text(), 5, what="token-shim in the log")
        h.check(not any(x in al.log_text() for x in reals), "no real token in the log")
        al.check_alive()


h.run(main)
