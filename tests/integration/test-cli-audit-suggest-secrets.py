#!/usr/bin/env python3
"""`audit suggest` knows the secrets and the providers. With a broker that
holds an adopted Codex login (chatgpt.com) and a bearer secret
(api.example.com), a crafted log of audit-mode denials gives: --secret x on
accounts/check, and Responses added though never seen (it says so);
telemetry (analytics-events, OTLP) and plugins left out and listed as
comments, kept and marked with --include-optional (telemetry without the
secret); nothing for the token endpoint or the token host auth.openai.com;
GET and POST of one path merged into one rule; --port as seen; the bearer
secret on every rule of its host; a host with no secret gets none.
Negative twin: without the broker, no --secret at all."""

import json
import os
import shlex
import subprocess
import time

import airlock_harness as h
import fake_providers as fpmod


def line(method, host, path, port=443):
    t = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
    return ("ts=%s deny client=sb method=%s scheme=https host=%s port=%d path=%s mode=audit reason=no-rule "
            "status=403" % (ts, method, host, port, path))  # noqa: E501


LOG = "\n".join([
    line("GET", "chatgpt.com", "/backend-api/wham/accounts/check"),
    line("GET", "chatgpt.com", "/backend-api/wham/accounts/check"),
    line("GET", "chatgpt.com", "/backend-api/codex/models"),
    line("POST", "chatgpt.com", "/backend-api/codex/analytics-events/events"),
    line("POST", "ab.chatgpt.com", "/otlp/v1/metrics"),
    line("GET", "chatgpt.com", "/backend-api/ps/plugins/installed"),
    line("POST", "auth.openai.com", "/oauth/token"),
    line("GET", "auth.openai.com", "/favicon.ico"),
    line("GET", "api.example.com", "/v1/items", 8443),
    line("POST", "api.example.com", "/v1/items", 8443),
    line("GET", "deb.example.org", "/debian/InRelease", 80),
]) + "\n"


def cmds(out):
    return [(shlex.split(ln.partition("  # ")[0])[2:], ln.partition("  # ")[2])
            for ln in out.splitlines() if ln.startswith("airlock allow ")]


def main():
    with h.Airlock(enforcer=False) as al:
        x = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "last_refresh": "2026-01-01T00:00:00Z",
             "tokens": {"id_token": fpmod.jwt({"https://api.openai.com/auth": {"chatgpt_account_id": "a1"},
                                               "email": "d@example.com", "exp": 2 ** 33}),
                        "access_token": fpmod.jwt({"exp": 2 ** 33}), "refresh_token": "rt-1",
                        "account_id": "a1"}}
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex", "value": json.dumps(x)})
        h.check_eq(st, 201, "adopt codex: %r" % (ans,))
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "k", "host": "api.example.com", "value": "tok"})
        h.check_eq(st, 201, "bearer secret: %r" % (ans,))

        p = al.cli("audit", "suggest", "sb", input=LOG)
        h.check_eq(p.returncode, 0, "suggest: %s" % p.stderr)
        print(p.stdout, p.stderr, flush=True)
        got = {(a[2], a[a.index("--path") + 1] if "--path" in a else None): (a, why) for a, why in cmds(p.stdout)}
        want = {("chatgpt.com", "/backend-api/wham/accounts/check"), ("chatgpt.com", "/backend-api/codex/responses"),
                ("api.example.com", "/v1/items"), ("deb.example.org", "/debian/InRelease")}
        h.check_eq(set(got), want, "the rules suggested")
        a, why = got[("chatgpt.com", "/backend-api/codex/responses")]
        h.check(a[-2:] == ["--secret", "x"] and "not in the log" in why, "Responses added, said so: %r %r" % (a, why))
        a, why = got[("chatgpt.com", "/backend-api/wham/accounts/check")]
        h.check(a[-2:] == ["--secret", "x"] and "2 denied" in why, "accounts/check with the login: %r" % a)
        a, why = got[("api.example.com", "/v1/items")]
        h.check_eq(a, ["sb", "--host", "api.example.com", "--port", "8443", "--method", "GET", "--method", "POST",
                       "--path", "/v1/items", "--secret", "k"], "methods merged, port seen, bearer secret")
        h.check("--secret" not in got[("deb.example.org", "/debian/InRelease")][0], "no secret, none suggested")
        h.check("analytics-events" in p.stdout and "# left out" in p.stdout, "telemetry listed as left out")
        h.check("auth.openai.com" not in p.stdout, "no rule for the token host")

        p = al.cli("audit", "suggest", "--include-optional", "sb", input=LOG)
        opt = {(a[2], a[a.index("--path") + 1]): (a, why) for a, why in cmds(p.stdout) if "--path" in a}
        a, why = opt[("chatgpt.com", "/backend-api/codex/analytics-events/events")]
        h.check("--secret" not in a and why.startswith("optional, "), "telemetry kept, marked, no secret: %r" % a)
        a, why = opt[("ab.chatgpt.com", "/otlp/v1/metrics")]
        h.check("--secret" not in a, "OTLP without the secret")

        p = al.cli("audit", "suggest", "sb", input=LOG, env={"AIRLOCK_URL": os.path.join(al.tmpdir, "none.sock")})
        h.check_eq(p.returncode, 0, "suggest without the broker: %s" % p.stderr)
        h.check("--secret" not in p.stdout and "no --secret" in p.stderr, "no secret known, none suggested")


h.run(main)
