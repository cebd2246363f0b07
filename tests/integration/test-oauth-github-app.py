#!/usr/bin/env python3
"""github-app: a GitHub App's value is adopted (private_key_file kept as a
path and read at each signature; private_key inline, PKCS#8 too), the
broker signs an App JWT that the fake verifies with the App's public key
(RS256, iat 60 s back, exp at most 10 minutes ahead, iss the app id), finds
the one installation with GET /app/installations when none is given, mints
an installation token and injects it as Git's Basic auth on github.com and
as Bearer on api.github.com, both from one secret bound to github.com. The
listing shows status, refreshed_at and expires_at. The value may be YAML. Negative twins: every
malformed value is 400 naming the field and never quoting it; a key that
is not the App's is refused by GitHub (401) and the secret goes
relogin-required with its reason; an App installed in two accounts is
refused until installation_id says which; a secret bound to api.github.com
does not serve github.com; no token, JWT or key reaches the log. A
restart serves the cached token and keeps refusals with their reasons."""

import base64
import json
import os
import tempfile
import time

import broker_harness as bh
import fake_apps as famod
import fake_providers as fpmod


def create(b, name, value, host=None, want=201, typ="github-app"):
    body = {"name": name, "type": typ, "value": value if isinstance(value, str) else json.dumps(value)}
    if host:
        body["host"] = host
    st, ans = b.api("POST", "/proxy/v1/secrets", body)
    bh.check_eq(st, want, "create %s: %r" % (name, ans))
    return ans


def listing(b, name):
    return famod.secret_row(b, name)


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-gh-app-")
    with famod.open_or_skip(tmp) as fa, bh.Broker(flags=fa.airlock_flags()) as b:
        e = fpmod.Asker(b.ipc_socket)
        app = fa.new_app(installations=1)

        # ---- validation: 400 naming the field, never a value ----
        other = famod.rsa_key()
        ec_path = os.path.join(tmp, "ec.pem")
        os.system("openssl ecparam -name prime256v1 -genkey -noout -out %s 2>/dev/null" % ec_path)
        secret_marker = "SECRETMARKER42"
        bad = [
            ({"private_key_file": app["key_path"]}, ".app_id: missing"),
            ({"app_id": app["app_id"]}, ".private_key_file: missing"),
            ({"app_id": app["app_id"], "private_key_file": app["key_path"],
              "private_key": app["key_pem"]}, "not both"),
            ({"app_id": app["app_id"], "private_key_file": "keys/app.pem"}, "absolute path"),
            ({"app_id": app["app_id"], "private_key_file": os.path.join(tmp, "nope.pem")},
             ".private_key_file: cannot read it"),
            ({"app_id": app["app_id"], "private_key_file": tmp}, "not a regular file"),
            ({"app_id": app["app_id"], "private_key_file": ec_path}, "not an RSA key"),
            ({"app_id": app["app_id"], "private_key": "-----BEGIN RSA PRIVATE KEY-----\n%s\n"
              "-----END RSA PRIVATE KEY-----\n" % secret_marker}, ".private_key: not a PEM"),
            ({"app_id": app["app_id"], "private_key_file": app["key_path"], "installation_id": "12x"},
             ".installation_id: must be a number"),
            ({"app_id": "bad id/%s" % secret_marker, "private_key_file": app["key_path"]},
             ".app_id: only"),
            ({"app_id": -3, "private_key_file": app["key_path"]}, ".app_id: must be a positive"),
            ({"app_id": app["app_id"], "private_key_file": app["key_path"], "token": secret_marker},
             ".token: unknown field"),
            ({"app_id": app["app_id"], "private_key_file": app["key_path"], secret_marker + " x": 1},
             "a field name that is not"),
            ({"type": "github-app-user", "app_id": 1, "private_key_file": app["key_path"]},
             ".type: must be"),
        ]
        for v, want in bad:
            ans = create(b, "bad", v, want=400)
            bh.check(want in ans.get("error", ""), "%r -> %r" % (want, ans))
            bh.check(secret_marker not in json.dumps(ans) and "BEGIN" not in json.dumps(ans),
                     "error quotes no value: %r" % ans)
        ans = create(b, "bad", "{not json " + secret_marker, want=400)
        bh.check("not valid JSON" in ans["error"] and secret_marker not in ans["error"], "json: %r" % ans)
        bh.check_eq(fa.mints("app"), 0, "nothing minted for refused values")

        # ---- adoption with a key file, installation discovered ----
        ans = create(b, "app", {"app_id": app["app_id"], "private_key_file": app["key_path"]})
        bh.check_eq(ans["host"], "github.com", "default binding")
        bh.check_eq(ans["type"], "github-app", "type")
        bh.wait_for(lambda: fa.mints("app") == 1, 10, what="first installation token")
        disc = fa.calls("api.github.com", "/app/installations?")
        bh.check_eq(len(disc), 1, "one discovery")
        bh.check("per_page=2" in disc[0]["path"], "discovery asks two per page")
        mint = fa.calls("api.github.com", "/app/installations/%d/access_tokens" % app["installations"][0])
        bh.check_eq(len(mint), 1, "minted for the discovered installation")
        hd = {k.lower(): v for k, v in mint[0]["headers"]}
        bh.check_eq(hd.get("accept"), "application/vnd.github+json", "GitHub's Accept")
        bh.check(hd.get("user-agent"), "a User-Agent")
        bh.check_eq(hd.get("x-github-api-version"), "2022-11-28", "API version")
        bh.check_eq(mint[0]["method"], "POST", "POST")
        # every JWT the fake saw verified with the App's public key
        bh.check(len(fa.jwts) >= 2 and all(j["valid"] for j in fa.jwts),
                 "JWTs verified: %r" % [(j["why"], j["claims"]) for j in fa.jwts])
        for j in fa.jwts:
            c = j["claims"]
            bh.check_eq(j["header"], {"alg": "RS256", "typ": "JWT"}, "JWT header")
            bh.check_eq(str(c["iss"]), str(app["app_id"]), "iss is the app id")
            bh.check(55 <= j["t"] - c["iat"] <= 65, "iat 60 s back: %r" % (j["t"] - c["iat"]))
            bh.check(c["exp"] - j["t"] <= 600 and c["exp"] - c["iat"] <= 600, "exp within 10 min")
        tok = [t for t in fa.tokens if t.startswith("ghs_")][0]

        # ---- injection: Basic on github.com, Bearer on api.github.com ----
        a = e.ask("app", "github.com")
        want = "Basic " + base64.b64encode(("x-access-token:" + tok).encode()).decode()
        bh.check_eq(fpmod.hdrs(a).get("authorization"), want, "git's Basic")
        bh.check_eq(a.get("oauth"), True, "refreshable: an upstream 401 is reported")
        a = e.ask("app", "api.github.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + tok, "API Bearer")
        bh.check_eq(e.ask("app", "gist.github.com").get("error"), "secret-host-mismatch",
                    "only the two hosts")
        bh.check_eq(e.ask("app", "uploads.github.com").get("error"), "secret-host-mismatch",
                    "no other github host")

        s = listing(b, "app")
        bh.check_eq(s["status"], "ok", "status")
        bh.check("refreshed_at" in s and "expires_at" in s, "health times: %r" % s)
        st = b.must(200, "GET", "/proxy/v1/secrets")
        bh.check("private_key" not in json.dumps(st) and tok not in json.dumps(st), "list: no value")
        st, ans = b.api("GET", "/proxy/v1/secrets/app/stub")
        bh.check_eq(st, 400, "no stub")
        bh.check("needs no placeholder" in ans["error"], "stub refusal says why: %r" % ans)

        # ---- inline key (PKCS#8), installation given, bound to the API only ----
        n = fa.mints("app")
        create(b, "api", {"app_id": str(app["app_id"]), "private_key": famod.pem_pkcs8(app["key"]),
                          "installation_id": app["installations"][0]}, host="api.github.com")
        a = e.ask("api", "api.github.com")
        bh.check(fpmod.hdrs(a).get("authorization", "").startswith("Bearer ghs_"),
                 "inline key mints: %r" % a.get("error"))
        bh.check_eq(fa.mints("app"), n + 1, "one more mint, no discovery")
        bh.check_eq(e.ask("api", "github.com").get("error"), "secret-host-mismatch",
                    "bound to the API: not git")

        # ---- the same value in YAML, the PEM as a block ----
        yaml = "app_id: %d\ninstallation_id: %d\nprivate_key: |\n%s" % (
            app["app_id"], app["installations"][0],
            "".join("  %s\n" % ln for ln in app["key_pem"].splitlines()))
        create(b, "yaml", yaml)
        a = e.ask("yaml", "github.com")
        bh.check(fpmod.hdrs(a).get("authorization", "").startswith("Basic "),
                 "a YAML value mints: %r" % a.get("error"))
        ans = create(b, "bad", "app_id: [%s]\n" % secret_marker, want=400)
        bh.check("line 1" in ans["error"] and secret_marker not in ans["error"], "YAML: %r" % ans)

        # ---- a key that is not the App's: GitHub says 401 ----
        wrong = os.path.join(tmp, "wrong.pem")
        with open(wrong, "w") as f:
            f.write(famod.pem_pkcs1(other))
        create(b, "wrong", {"app_id": app["app_id"], "private_key_file": wrong,
                            "installation_id": app["installations"][0]})
        bh.wait_for(lambda: listing(b, "wrong")["status"] == "relogin-required", 10,
                    what="a refused JWT is for good")
        bh.check("JWT" in listing(b, "wrong").get("status_reason", ""), "reason: %r" % listing(b, "wrong"))
        bh.check_eq(e.ask("wrong", "github.com").get("error"), "relogin-required", "refused asks")
        bh.check(any(j["why"] == "signature" for j in fa.jwts), "the fake saw a bad signature")

        # ---- two installations: refused until installation_id says which ----
        two = fa.new_app(installations=2)
        create(b, "two", {"app_id": two["app_id"], "private_key_file": two["key_path"]})
        bh.wait_for(lambda: listing(b, "two")["status"] == "relogin-required", 10,
                    what="several installations refused")
        bh.check("several-installations" in listing(b, "two").get("status_reason", ""),
                 "says why: %r" % listing(b, "two"))
        b.must(201, "POST", "/proxy/v1/secrets", {
            "name": "two", "type": "github-app", "force": True,
            "value": json.dumps({"app_id": two["app_id"], "private_key_file": two["key_path"],
                                 "installation_id": two["installations"][1]})})
        a = e.ask("two", "api.github.com")
        bh.check(fpmod.hdrs(a).get("authorization", "").startswith("Bearer ghs_"),
                 "with installation_id: %r" % a.get("error"))
        s = listing(b, "two")
        bh.check(s["status"] == "ok" and "status_reason" not in s, "healthy again: %r" % s)

        # ---- a restart: the cached token is served, nothing minted again;
        # refusals and their reasons are kept ----
        before = fpmod.hdrs(e.ask("app", "api.github.com"))["authorization"]
        e.close()
        n = fa.mints("app")
        b.restart()
        e = fpmod.Asker(b.ipc_socket)
        bh.check_eq(fpmod.hdrs(e.ask("app", "api.github.com"))["authorization"], before,
                    "the cached token after a restart")
        bh.check_eq(fa.mints("app"), n, "no mint at restart")
        bh.check("JWT" in listing(b, "wrong").get("status_reason", ""), "reason kept")

        # ---- the key file stays the key's home; nothing secret in the log ----
        with open(os.path.join(b.state_dir, "state.json")) as f:
            state = f.read()
        bh.check(app["key_path"] not in state, "the key path is sealed with the value")
        logs = b.log_text()
        for t in list(fa.tokens):
            bh.check(t not in logs and t not in state, "token not in log or state")
        for r in fa.requests:
            for k, v in r["headers"]:
                if k.lower() == "authorization":
                    bh.check(v[7:] not in logs, "JWT not in the log")
        bh.check("PRIVATE KEY" not in logs and secret_marker not in logs, "no key in the log")
        bh.log("%d JWTs verified by the fake, %d installation tokens minted"
               % (sum(j["valid"] for j in fa.jwts), fa.mints("app")))
        b.check_alive()
        e.close()


bh.run(main)
