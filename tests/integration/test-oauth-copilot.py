#!/usr/bin/env python3
"""GitHub Copilot: a legacy ghu_ login is exchanged (GET
api.github.com/copilot_internal/v2/token, "token" scheme) for a session
token as soon as it is adopted; asks get Bearer <session> and wait for the
first exchange; the session is renewed at refresh_in; the host the account
uses (endpoints.api: api.individual.githubcopilot.com) is covered by the
default *.githubcopilot.com binding. Negative twins: a gho_ login is sent as
it is and never exchanged; a revoked ghu_ (401) is relogin-required."""

import json
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-copilot-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        fp.set_expires_in("copilot", 302)    # refresh_in = 2 s
        ghu = fp.login_copilot("ghu")
        tok = ghu["github-copilot"]["refresh"]
        e = fpmod.Asker(b.ipc_socket)
        fp.delay("copilot", 0.2)
        a = b.must(201, "POST", "/proxy/v1/secrets", {"name": "cp", "type": "oauth-github-copilot",
                                                      "value": json.dumps(ghu)})
        bh.check_eq(a["host"], "*.githubcopilot.com", "default binding")
        ans = e.ask("cp", "api.individual.githubcopilot.com")
        auth = fpmod.hdrs(ans).get("authorization", "")
        bh.check(auth.startswith("Bearer tid="), "session token injected: %r" % ans.get("error"))
        bh.check(tok not in auth, "the ghu_ token itself is not sent to the API")
        calls = fp.token_calls("copilot")
        bh.check_eq(len(calls), 1, "one exchange")
        hd = {k.lower(): v for k, v in calls[0]["headers"]}
        bh.check_eq(hd.get("authorization"), "token " + tok, "exchange uses the token scheme")
        bh.check_eq(calls[0]["method"], "GET", "exchange is a GET")
        bh.check(hd.get("editor-version", "").startswith("vscode/"), "editor headers")
        # renewed at refresh_in (2 s), the ghu_ token does not rotate
        bh.wait_for(lambda: fp.stats("copilot")["refreshes"] >= 2, 10, what="session renewed")
        bh.check(fpmod.hdrs(e.ask("cp", "api.githubcopilot.com"))["authorization"] != auth,
                 "new session token served")
        st = b.must(200, "GET", "/proxy/v1/secrets/cp/stub")
        bh.check(st["github-copilot"]["refresh"].startswith("ghu_"), "stub keeps the legacy shape")
        bh.check("proxy.individual.githubcopilot.com" in st["github-copilot"]["access"],
                 "stub session names the account's proxy host")

        # gho_: sent as it is, no exchange
        n = fp.stats("copilot")["refreshes"]
        gho = fp.login_copilot("gho")
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "g", "type": "oauth-github-copilot",
                                                  "value": json.dumps(gho)})
        bh.check_eq(fpmod.hdrs(e.ask("g", "api.githubcopilot.com"))["authorization"],
                    "Bearer " + gho["github-copilot"]["refresh"], "gho_ as is")
        time.sleep(0.5)
        with fp.lock:
            exch = [r for r in fp.requests if r["path"].startswith("/copilot_internal")
                    and gho["github-copilot"]["refresh"] in json.dumps(r["headers"])]
        bh.check_eq(exch, [], "gho_ never exchanged")

        # revoked ghu_: relogin-required
        bad = {"github-copilot": {"type": "oauth", "refresh": "ghu_revoked", "access": "", "expires": 0}}
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "r", "type": "oauth-github-copilot",
                                                  "value": json.dumps(bad)})
        ans = e.ask("r", "api.githubcopilot.com")
        bh.check_eq(ans.get("error"), "relogin-required", "revoked ghu_")
        bh.check(n <= fp.stats("copilot")["refreshes"], "stats sane")
        e.close()


bh.run(main)
