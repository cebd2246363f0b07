#!/usr/bin/env python3
"""The log says what is missing: a request allowed by a rule without a
secret, to a host a secret is bound to, logs hint=secret-available (the
upstream refused the sandbox's placeholder with 401: the rule wants
--secret). Negative twins: the same request through a rule with the secret
logs no hint, nor does an allowed request to a host no secret is bound to;
and a denial where neither the method nor the path of the host's rule
matches says path-not-allowed, not method-not-allowed."""

import json
import shutil
import subprocess
import tempfile

import airlock_harness as h
import fake_providers as fpmod
import proxytest as pt


def curl(al, tok, url, *args):
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "20", "--proxy", al.proxy_url(tok),
                        "--cacert", al.ca_cert, "-w", "%{http_code}", url] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.stdout


def main():
    if not shutil.which("curl"):
        h.skip("curl not installed")
    tmp = tempfile.mkdtemp(prefix="airlock-hint-")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                       "value": json.dumps(fp.login_claude())})
        h.check_eq(st, 201, "adopt: %r" % (ans,))
        tok = al.api("POST", "/proxy/v1/clients", {"name": "sb"})[1]["token"]
        for body in ({"host": "api.anthropic.com", "paths": ["/api/oauth/profile"], "methods": ["GET"]},
                     {"host": "api.anthropic.com", "paths": ["/v1/messages"], "methods": ["POST"], "secret": "c"},
                     {"host": "chatgpt.com", "paths": ["/backend-api/codex/models"]}):
            body["client"] = "sb"
            h.check_eq(al.api("POST", "/proxy/v1/allows", body)[0], 201, "allow %r" % body)

        h.check_eq(curl(al, tok, "https://api.anthropic.com/api/oauth/profile",
                        "-H", "Authorization: Bearer placeholder"), "401", "the placeholder refused upstream")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/api/oauth/profile", "profile logged")
        h.check_eq((d.get("verdict"), d.get("hint")), ("allow", "secret-available"), "the hint: %r" % d)

        curl(al, tok, "https://api.anthropic.com/v1/messages", "-X", "POST", "--data", "{}",
             "-H", "anthropic-beta: oauth-2025-04-20")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/v1/messages", "messages logged")
        h.check_eq((d.get("inject"), d.get("hint")), ("c", None), "injected: no hint %r" % d)
        curl(al, tok, "https://chatgpt.com/backend-api/codex/models")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/backend-api/codex/models", "models logged")
        h.check_eq((d.get("verdict"), d.get("hint")), ("allow", None), "no secret for the host: no hint %r" % d)

        h.check_eq(curl(al, tok, "https://api.anthropic.com/api/event_logging/batch", "-X", "PUT"), "403", "denied")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/api/event_logging/batch", "denial logged")
        h.check_eq(d.get("reason"), "path-not-allowed", "neither method nor path: the path reason")
        al.check_alive()


h.run(main)
