#!/usr/bin/env python3
"""OAuth through the whole of airlock (`airlock up`: broker + enforcer with
TLS interception) against the fake providers: a sandbox request carrying a
placeholder reaches the fake Anthropic API with the real access token, the
oauth beta merged into its own anthropic-beta list and its x-api-key gone;
Codex's accounts/check gets the real token and the real ChatGPT-Account-ID
in place of the sandbox's; a request at the moment the token expires waits
for the refresh and goes through with the new token. With the real Claude
Code installed ($AIRLOCK_REAL_CLIENTS or PATH), `claude -p` in a HOME that
holds only the stub prints the fake model's answer through airlock, and so
does `codex exec` (over the Responses WebSocket when the upgrade through
airlock works, else after Codex's fallback to SSE; which one is printed).
Negative twin: without the rule's secret the placeholder goes upstream and
the fake refuses it (401)."""

import json
import os
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


def real_client(name):
    d = os.environ.get("AIRLOCK_REAL_CLIENTS")
    if d and os.access(os.path.join(d, "node_modules", ".bin", name), os.X_OK):
        return os.path.join(d, "node_modules", ".bin", name)
    return shutil.which(name)


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-e2e-")
    if not shutil.which("curl"):
        h.skip("curl not installed")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_c = fp.login_claude()
        real_x = fp.login_codex(account_id="acct-real-1357")
        for name, typ, f in (("c", "oauth-claude", real_c), ("x", "oauth-codex", real_x)):
            st, ans = al.api("POST", "/proxy/v1/secrets", {"name": name, "type": typ, "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt %s: %r" % (typ, ans))
        st, ans = al.api("POST", "/proxy/v1/clients", {"name": "sb"})
        tok = ans["token"]
        for host, sec in (("api.anthropic.com", "c"), ("chatgpt.com", "x")):
            st, ans = al.api("POST", "/proxy/v1/allows", {"client": "sb", "host": host, "secret": sec})
            h.check_eq(st, 201, "allow %s: %r" % (host, ans))
        stub_c = al.api("GET", "/proxy/v1/secrets/c/stub")[1]
        ph = stub_c["claudeAiOauth"]["accessToken"]

        r = curl(al, tok, "https://api.anthropic.com/v1/messages", "-X", "POST",
                 "-H", "Authorization: Bearer " + ph, "-H", "x-api-key: sandbox-key",
                 "-H", "anthropic-beta: claude-code-20250219", "-H", "content-type: application/json",
                 "--data", '{"model":"claude-fake","max_tokens":5,"messages":[]}')
        code, body = status_body(r)
        h.check_eq(code, 200, "messages through airlock: %s %s" % (body[:200], r.stderr[-200:]))
        h.check(fp.answer_text in body, "the fake model answered")
        with fp.lock:
            m = [x for x in fp.requests if x["path"] == "/v1/messages"][-1]
        hd = {k.lower(): v for k, v in m["headers"]}
        h.check_eq(hd.get("authorization"), "Bearer " + real_c["claudeAiOauth"]["accessToken"],
                   "the real token upstream")
        h.check_eq([b.strip() for b in hd.get("anthropic-beta", "").split(",")],
                   ["claude-code-20250219", "oauth-2025-04-20"], "beta merged into the client's list")
        h.check("x-api-key" not in hd, "x-api-key stripped")

        r = curl(al, tok, "https://chatgpt.com/backend-api/wham/accounts/check",
                 "-H", "Authorization: Bearer placeholder", "-H", "ChatGPT-Account-Id: PLACEHOLDER")
        code, body = status_body(r)
        h.check_eq(code, 200, "accounts/check through airlock: %s" % body[:200])
        h.check_eq(json.loads(body)["accounts"][0]["id"], "acct-real-1357", "routed to the real account")

        # Copilot (legacy ghu_: exchanged, the session token on the account's
        # host) and xAI, through the interception too
        ghu = fp.login_copilot("ghu")
        xai = fp.login_xai()
        for name, typ, f in (("g", "oauth-github-copilot", ghu), ("k", "oauth-xai", xai)):
            st, ans = al.api("POST", "/proxy/v1/secrets", {"name": name, "type": typ, "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt %s: %r" % (typ, ans))
        for host, sec in (("api.individual.githubcopilot.com", "g"), ("api.x.ai", "k")):
            st, ans = al.api("POST", "/proxy/v1/allows", {"client": "sb", "host": host, "secret": sec})
            h.check_eq(st, 201, "allow %s: %r" % (host, ans))
        r = curl(al, tok, "https://api.individual.githubcopilot.com/chat/completions", "-X", "POST",
                 "-H", "Authorization: Bearer gho_placeholder", "--data", "{}")
        code, body = status_body(r)
        h.check_eq(code, 200, "copilot through airlock: %s" % body[:200])
        h.check(fp.stats("copilot")["refreshes"] >= 1, "the ghu_ token was exchanged")
        r = curl(al, tok, "https://api.x.ai/v1/models", "-H", "Authorization: Bearer placeholder")
        h.check_eq(status_body(r)[0], 200, "xai through airlock")

        # expiry: the request waits for the refresh in flight
        fp.delay("claude", 0.2)
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude", "force": True,
                                                       "value": json.dumps(fp.login_claude(expires_in=0))})
        h.check_eq(st, 201, "re-adopt an expiring login")
        r = curl(al, tok, "https://api.anthropic.com/api/oauth/profile", "-H", "Authorization: Bearer " + ph)
        code, body = status_body(r)
        h.check_eq(code, 200, "held through the refresh: %s" % body[:200])
        h.check_eq(fp.stats("claude")["refreshes"], 1, "one refresh")

        # twin: a rule without the secret sends the placeholder, refused upstream
        st, ans = al.api("POST", "/proxy/v1/clients", {"name": "bare"})
        tok2 = ans["token"]
        al.api("POST", "/proxy/v1/allows", {"client": "bare", "host": "api.anthropic.com",
                                            "paths": ["/api/oauth/profile"]})
        r = curl(al, tok2, "https://api.anthropic.com/api/oauth/profile", "-H", "Authorization: Bearer " + ph)
        h.check_eq(status_body(r)[0], 401, "placeholder alone refused")

        claude, codex = real_client("claude"), real_client("codex")
        if claude:
            home = os.path.join(tmp, "home")
            os.makedirs(os.path.join(home, ".claude"))
            with open(os.path.join(home, ".claude", ".credentials.json"), "w") as f:
                json.dump(al.api("GET", "/proxy/v1/secrets/c/stub")[1], f)
            env = {"HOME": home, "PATH": "/usr/bin:/bin", "HTTPS_PROXY": al.proxy_url(tok),
                   "SSL_CERT_FILE": al.ca_cert, "NODE_EXTRA_CA_CERTS": al.ca_cert,
                   "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
            p = subprocess.run([claude, "-p", "say OK"], env=env, capture_output=True, text=True,
                               timeout=120, stdin=subprocess.DEVNULL)
            h.check_eq(p.returncode, 0, "claude -p through airlock: %s %s" % (p.stdout[-300:], p.stderr[-300:]))
            h.check(fp.answer_text in p.stdout, "claude printed the fake answer")
            with open(os.path.join(home, ".claude", ".credentials.json")) as f:
                h.check("airlock-placeholder" in f.read(), "the sandbox file still holds placeholders")
            print("real claude through airlock: ok", flush=True)
        if codex:
            home = os.path.join(tmp, "home-codex")
            os.makedirs(os.path.join(home, ".codex"))
            with open(os.path.join(home, ".codex", "auth.json"), "w") as f:
                json.dump(al.api("GET", "/proxy/v1/secrets/x/stub")[1], f)
            with open(os.path.join(home, ".codex", "config.toml"), "w") as f:
                f.write("[analytics]\nenabled = false\n[features]\napps = false\nplugins = false\n")
            env = {"HOME": home, "PATH": "/usr/bin:/bin", "HTTPS_PROXY": al.proxy_url(tok),
                   "SSL_CERT_FILE": al.ca_cert, "CODEX_CA_CERTIFICATE": al.ca_cert}
            n = len(fp.requests)
            p = subprocess.run([codex, "exec", "--skip-git-repo-check", "say OK"], env=env,
                               capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            h.check_eq(p.returncode, 0, "codex exec through airlock: %s" % p.stderr[-400:])
            h.check(fp.answer_text in p.stdout, "codex printed the fake answer")
            with fp.lock:
                seen = fp.requests[n:]
            h.check(any(r["path"] == "/backend-api/wham/accounts/check" and r["status"] == 200 for r in seen),
                    "workspace routing passed with the real account id")
            for r in seen:
                hd = {k.lower(): v for k, v in r["headers"]}
                h.check_eq(hd.get("authorization"), "Bearer " + real_x["tokens"]["access_token"],
                           "codex: the real token upstream (%s)" % r["path"])
            ws = sum(1 for m in fp.ws_messages if m.get("type") == "response.create")
            print("real codex through airlock: ok (%s)" % (
                "WebSocket, %d response.create" % ws if "Falling back" not in p.stderr
                else "SSE after the WebSocket fallback: " + p.stderr.split("Falling back", 1)[1][:160].strip()),
                flush=True)
        al.check_alive()


h.run(main)
