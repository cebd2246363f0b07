#!/usr/bin/env python3
"""The real vendor CLIs accept airlock's placeholder files. Claude Code run
with only `airlock secret stub` output in its HOME answers a prompt from the
fake Messages API (SSE), sending the placeholder as Bearer with
oauth-2025-04-20 in anthropic-beta and never a real token; Codex reports
"Logged in using ChatGPT" with the stub auth.json (its account id the real
one). Until the enforcer intercepts TLS, Claude reaches the fake through
ANTHROPIC_BASE_URL and the fake accepts the placeholder in airlock's stead.
Skipped when the CLIs are not installed: put them in $AIRLOCK_REAL_CLIENTS
(npm install --prefix DIR @anthropic-ai/claude-code @openai/codex) or PATH.
Negative twin: a stub whose scopes lack user:inference is refused by airlock
at adoption (see test-oauth-adopt.py), and a placeholder the upstream does
not accept makes Claude fail, not print an answer."""

import json
import os
import shutil
import socket
import subprocess
import tempfile

import broker_harness as bh
import fake_providers as fpmod


def find(name):
    d = os.environ.get("AIRLOCK_REAL_CLIENTS")
    if d and os.access(os.path.join(d, "node_modules", ".bin", name), os.X_OK):
        return os.path.join(d, "node_modules", ".bin", name)
    return shutil.which(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    claude, codex = find("claude"), find("codex")
    if not claude or not codex:
        bh.skip("claude and codex not installed (set AIRLOCK_REAL_CLIENTS)")
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-real-")
    port = free_port()
    with fpmod.FakeProviders(tmp, addr="127.0.0.1", port=port,
                             host_alias={"127.0.0.1": "api.anthropic.com"}) as fp, \
            bh.Broker(flags=fp.airlock_flags()) as b:
        real_c = fp.login_claude()
        real_x = fp.login_codex(account_id="acct-real-2468")
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(real_c)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex",
                                                  "value": json.dumps(real_x)})
        home = os.path.join(tmp, "home")
        os.makedirs(os.path.join(home, ".claude"))
        os.makedirs(os.path.join(home, ".codex"))
        cs = b.must(200, "GET", "/proxy/v1/secrets/c/stub")
        xs = b.must(200, "GET", "/proxy/v1/secrets/x/stub")
        with open(os.path.join(home, ".claude", ".credentials.json"), "w") as f:
            json.dump(cs, f)
        with open(os.path.join(home, ".codex", "auth.json"), "w") as f:
            json.dump(xs, f)
        env = {"HOME": home, "PATH": "/usr/bin:/bin", "SSL_CERT_FILE": fp.ca,
               "NODE_EXTRA_CA_CERTS": fp.ca, "CODEX_CA_CERTIFICATE": fp.ca,
               "ANTHROPIC_BASE_URL": "https://127.0.0.1:%d" % port,
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

        # negative twin first: the placeholder alone is not a credential
        p = subprocess.run([claude, "-p", "say OK"], env=env, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        bh.check(fp.answer_text not in p.stdout, "no answer without injection")

        # airlock's injection, stood in for by the fake accepting the placeholder
        placeholder = cs["claudeAiOauth"]["accessToken"]
        with fp.lock:
            ident = next(iter(fp.st.access["claude"].values()))["ident"]
            fp.st.access["claude"][placeholder] = {"exp": 2 ** 40, "ident": ident}
        p = subprocess.run([claude, "-p", "say OK"], env=env, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        bh.check_eq(p.returncode, 0, "claude -p exit status: %s" % p.stderr[-400:])
        bh.check(fp.answer_text in p.stdout, "claude printed the fake answer: %r" % p.stdout[-200:])
        with fp.lock:
            msgs = [r for r in fp.requests if r["path"].startswith("/v1/messages")]
        bh.check(msgs, "the Messages API was called")
        for r in msgs:
            h = {k.lower(): v for k, v in r["headers"]}
            bh.check_eq(h.get("authorization"), "Bearer " + placeholder, "placeholder sent as Bearer")
            bh.check("oauth-2025-04-20" in h.get("anthropic-beta", ""), "oauth beta sent")
            bh.check("x-api-key" not in h, "no x-api-key")
        seen = json.dumps(fp.requests)
        bh.check(real_c["claudeAiOauth"]["accessToken"] not in seen and
                 real_c["claudeAiOauth"]["refreshToken"] not in seen, "the sandbox never held a real token")

        p = subprocess.run([codex, "login", "status"], env=env, capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        bh.check_eq(p.returncode, 0, "codex login status: %s" % p.stderr[-300:])
        bh.check("Logged in using ChatGPT" in p.stdout + p.stderr, "codex accepts the stub")
        with open(os.path.join(home, ".codex", "auth.json")) as f:
            bh.check_eq(json.load(f)["tokens"]["account_id"], "acct-real-2468", "real account id kept")


bh.run(main)
