#!/usr/bin/env python3
"""oauth-client-creds: the broker obtains a bearer token with the OAuth
client-credentials grant (RFC 6749 §4.4) from the token endpoint the value
names (reached through --resolve and --upstream-ca like every refresh),
authenticating with HTTP Basic by default (id and secret form-encoded
first, §2.3.1: the fake's client secret holds "+/ &%") or with body
parameters (client_secret_post), passing scope and audience; 30 asks at
adoption start one token request; 8-second tokens are renewed before they
expire; the token is injected as Bearer for the bound host only. Negative
twins: malformed values (http, an address literal, user info, a fragment,
no path, an unknown auth method or field, a missing secret, no host) are
400 naming the field and never quoting it; invalid_client and a token_type
other than Bearer are relogin-required; a 503 backs off and keeps the live
token in service."""

import json
import tempfile
import time

import broker_harness as bh
import fake_apps as famod
import fake_providers as fpmod

EP = "https://auth.idp.test/oauth2/token"


def create(b, name, value, host="api.idp.test", want=201):
    body = {"name": name, "type": "oauth-client-creds", "value": json.dumps(value)}
    if host:
        body["host"] = host
    st, ans = b.api("POST", "/proxy/v1/secrets", body)
    bh.check_eq(st, want, "create %s: %r" % (name, ans))
    return ans


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-cc-")
    with famod.open_or_skip(tmp) as fa, bh.Broker(flags=fa.airlock_flags()) as b:
        e = fpmod.Asker(b.ipc_socket)
        c = fa.new_cc_client(scopes=["read", "write"])
        base = {"token_endpoint": EP, "client_id": c["client_id"], "client_secret": c["client_secret"]}
        mark = c["client_secret"]

        # ---- validation ----
        bad = [
            (dict(base, token_endpoint="http://auth.idp.test/oauth2/token"), ".token_endpoint: must be"),
            (dict(base, token_endpoint="https://127.0.0.1/oauth2/token"), ".token_endpoint: must be"),
            (dict(base, token_endpoint="https://[::1]/oauth2/token"), ".token_endpoint: must be"),
            (dict(base, token_endpoint="https://u:%s@auth.idp.test/t" % c["client_id"]), ".token_endpoint"),
            (dict(base, token_endpoint=EP + "#frag"), ".token_endpoint"),
            (dict(base, token_endpoint="https://auth.idp.test"), ".token_endpoint"),
            (dict(base, token_endpoint="https://auth.idp.test:99999/t"), ".token_endpoint"),
            (dict(base, token_endpoint_auth_method="private_key_jwt"), ".token_endpoint_auth_method"),
            ({k: v for k, v in base.items() if k != "client_secret"}, ".client_secret: missing"),
            ({k: v for k, v in base.items() if k != "token_endpoint"}, ".token_endpoint: missing"),
            (dict(base, scope="read\nwrite"), ".scope: holds control characters"),
            (dict(base, client_secret=7), ".client_secret: must be a string"),
            (dict(base, grant_type="password"), ".grant_type: unknown field"),
        ]
        for v, want in bad:
            ans = create(b, "bad", v, want=400)
            bh.check(want in ans.get("error", ""), "%r -> %r" % (want, ans))
            bh.check("+/ &%" not in json.dumps(ans) and c["client_id"] not in json.dumps(ans),
                     "error quotes no value: %r" % ans)
        ans = create(b, "bad", base, host=None, want=400)
        bh.check("host" in ans["error"], "no default host: %r" % ans)
        bh.check_eq(fa.mints("cc"), 0, "nothing asked for refused values")

        # ---- adoption: one token request for 30 asks, Basic by default ----
        fa.delay("cc", 0.3)
        create(b, "svc", dict(base, scope="read", audience="https://api.idp.test/"))
        ids = [e.ask_async("svc", "api.idp.test") for _ in range(30)]
        got = e.answers(30, timeout=10)
        toks = {fpmod.hdrs(got[i]).get("authorization") for i in ids}
        bh.check(all("error" not in got[i] for i in ids), "all answered")
        bh.check_eq(len(toks), 1, "one token for all")
        bh.check_eq(fa.mints("cc"), 1, "exactly one token request")
        tok = toks.pop()[7:]
        info = fa.token_info(tok)
        bh.check(info["basic"], "HTTP Basic by default")
        bh.check_eq(info["scope"], "read", "scope asked for")
        bh.check_eq(info["audience"], "https://api.idp.test/", "audience passed")
        call = fa.calls("auth.idp.test", "/oauth2/token")[0]
        bh.check("client_secret" not in call["body"], "the secret is not in the body with Basic")
        bh.check_eq(e.ask("svc", "auth.idp.test").get("error"), "secret-host-mismatch", "bound host only")
        fa.delay("cc", 0)

        # ---- client_secret_post, renewal before expiry ----
        fa.set_lifetime("cc", 8)
        create(b, "post", dict(base, token_endpoint_auth_method="client_secret_post"))
        served = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 12:
            a = e.ask("post", "api.idp.test")
            bh.check("error" not in a, "served while renewing: %r" % a.get("error"))
            t = fpmod.hdrs(a)["authorization"][7:]
            bh.check(fa.live(t), "never an expired token")
            if not served or served[-1] != t:
                served.append(t)
            time.sleep(0.2)
        bh.check(len(served) >= 2, "renewed: %d tokens" % len(served))
        bh.check(not fa.token_info(served[0])["basic"], "client_secret_post: body parameters")
        for o, n in zip(served, served[1:]):
            bh.check(fa.token_info(n)["minted"] < fa.token_info(o)["exp"], "renewed before expiry")
        row = famod.secret_row(b, "post")
        bh.check(row["status"] == "ok" and "expires_at" in row and "refreshed_at" in row, "health: %r" % row)
        st, _ = b.api("DELETE", "/proxy/v1/secrets/post")
        bh.check(st in (200, 204), "deleted")
        fa.set_lifetime("cc", 3600)

        # ---- a 503: back off, keep the live token ----
        n = fa.mints("cc")
        cur = fpmod.hdrs(e.ask("svc", "api.idp.test"))["authorization"]
        fa.fail("cc", 503, body={"error": "temporarily_unavailable"}, headers=[("Retry-After", "30")])
        e.upstream_401("svc", "api.idp.test")
        bh.wait_for(lambda: not fa.fails["cc"], 10, what="the failing request")
        time.sleep(0.2)
        bh.check_eq(fpmod.hdrs(e.ask("svc", "api.idp.test"))["authorization"], cur, "live token kept")
        bh.check_eq(famod.secret_row(b, "svc")["status"], "ok", "a 503 is not for good")
        bh.check_eq(fa.mints("cc"), n, "nothing minted")

        # ---- refused for good ----
        create(b, "wrong", dict(base, client_secret="not-the-secret"))
        bh.wait_for(lambda: famod.secret_row(b, "wrong")["status"] == "relogin-required", 10,
                    what="invalid_client")
        bh.check("invalid_client" in famod.secret_row(b, "wrong").get("status_reason", ""), "reason")
        bh.check_eq(e.ask("wrong", "api.idp.test").get("error"), "relogin-required", "asks refused")
        fa.fail("cc", 200, body={"access_token": "dpop-token", "token_type": "DPoP", "expires_in": 60})
        create(b, "dpop", base)
        bh.wait_for(lambda: famod.secret_row(b, "dpop")["status"] == "relogin-required", 10,
                    what="a token that is not Bearer")
        bh.check("Bearer" in famod.secret_row(b, "dpop").get("status_reason", ""), "reason")

        logs = b.log_text()
        for t in list(fa.tokens) + [mark, "dpop-token"]:
            bh.check(t not in logs, "no token or client secret in the log")
        b.check_alive()
        e.close()


bh.run(main)
