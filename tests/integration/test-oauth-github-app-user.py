#!/usr/bin/env python3
"""github-app-user: a GitHub App user-to-server token, as GitHub's token
endpoint answers it plus the App's client_id and client_secret, is adopted
(default binding github.com, which also serves api.github.com), injected as
Git's Basic auth on github.com and Bearer on api.github.com, and refreshed
before expiry with a form POST to github.com/login/oauth/access_token
(grant_type=refresh_token): the single-use ghr_ token rotates, the rotation
is saved before the new token is served, and 30 asks for an expired token
start one refresh. Negative twins: malformed values are 400 naming the
field and never quoting it; the same login adopted twice is 409; GitHub's
refusal, which comes as 200 {"error": "bad_refresh_token"}, is
relogin-required (and no retry loop); a token without a refresh token is
served as it is and never refreshed."""

import base64
import json
import tempfile
import time
import urllib.parse

import broker_harness as bh
import fake_apps as famod
import fake_providers as fpmod


def create(b, name, value, want=201, **extra):
    body = {"name": name, "type": "github-app-user", "value": json.dumps(value)}
    body.update(extra)
    st, ans = b.api("POST", "/proxy/v1/secrets", body)
    bh.check_eq(st, want, "create %s: %r" % (name, ans))
    return ans


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-gh-user-")
    with famod.open_or_skip(tmp) as fa, bh.Broker(flags=fa.airlock_flags()) as b:
        e = fpmod.Asker(b.ipc_socket)

        # ---- validation ----
        u = fa.new_user_login()
        mark = u["refresh_token"]
        bad = [
            ({k: v for k, v in u.items() if k != "access_token"}, ".access_token: missing"),
            ({k: v for k, v in u.items() if k != "client_secret"}, ".client_secret: missing"),
            ({k: v for k, v in u.items() if k != "client_id"}, ".client_id: missing"),
            (dict(u, token_type="mac"), ".token_type: must be"),
            (dict(u, expires_at="tomorrow"), ".expires_at: not an RFC 3339 time"),
            (dict(u, refresh_token=mark + " x"), ".refresh_token: holds characters"),
            (dict(u, password=mark), ".password: unknown field"),
            (dict(u, expires_in="soon"), ".expires_in: must be a number"),
        ]
        for v, want in bad:
            ans = create(b, "bad", v, want=400)
            bh.check(want in ans.get("error", ""), "%r -> %r" % (want, ans))
            bh.check(mark not in json.dumps(ans) and u["client_secret"] not in json.dumps(ans),
                     "error quotes no value: %r" % ans)

        # ---- adoption and injection ----
        ans = create(b, "me", u)
        bh.check_eq(ans["host"], "github.com", "default binding")
        a = e.ask("me", "github.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Basic " + base64.b64encode(
            ("x-access-token:" + u["access_token"]).encode()).decode(), "git's Basic")
        a = e.ask("me", "api.github.com")
        bh.check_eq(fpmod.hdrs(a).get("authorization"), "Bearer " + u["access_token"], "API Bearer")
        bh.check_eq(a.get("oauth"), True, "an upstream 401 is reported")
        ans = create(b, "again", u, want=409)
        bh.check("already adopted as secret me" in ans["error"], "one login, one secret: %r" % ans)
        bh.check_eq(fa.mints("user"), 0, "nothing refreshed yet (8 h left)")

        # ---- refresh before expiry: 605 s left, lead 600 s ----
        v = fa.new_user_login(expires_in=605)
        create(b, "soon", v)
        bh.wait_for(lambda: fa.mints("user") == 1, 15, what="refresh 10 min before expiry")
        call = fa.calls("github.com", "/login/oauth/access_token")[-1]
        form = {k: x[0] for k, x in urllib.parse.parse_qs(call["body"]).items()}
        bh.check_eq(form, {"client_id": v["client_id"], "client_secret": v["client_secret"],
                           "grant_type": "refresh_token", "refresh_token": v["refresh_token"]},
                    "the refresh form")
        hd = {k.lower(): x for k, x in call["headers"]}
        bh.check_eq(hd.get("accept"), "application/json", "JSON asked for")
        bh.check(hd.get("content-type", "").startswith("application/x-www-form-urlencoded"), "a form")
        served = lambda: fpmod.hdrs(e.ask("soon", "api.github.com"))["authorization"][7:]
        bh.wait_for(lambda: served() != v["access_token"], 10, what="the new token served")
        bh.check(fa.live(served()), "the new token is live")
        bh.check(fa.refresh[v["refresh_token"]]["used"], "the old refresh token is spent")
        row = famod.secret_row(b, "soon")
        bh.check(row["status"] == "ok" and "refreshed_at" in row, "health: %r" % row)
        bh.check_eq(fa.stats_extra["reuses"], 0, "no refresh token used twice")

        # ---- single flight for an expired token ----
        w = fa.new_user_login()
        w["expires_at"] = int(time.time()) - 10
        del w["expires_in"]
        fa.delay("user", 0.3)
        n = fa.mints("user")
        create(b, "exp", w)
        ids = [e.ask_async("exp", "github.com") for _ in range(30)]
        got = e.answers(30, timeout=10)
        auths = {fpmod.hdrs(got[i]).get("authorization") for i in ids}
        bh.check(all("error" not in got[i] for i in ids), "all answered: %r" % [got[i].get("error") for i in ids])
        bh.check_eq(len(auths), 1, "one token for all")
        bh.check_eq(fa.mints("user"), n + 1, "exactly one refresh")
        bh.check(base64.b64encode(("x-access-token:" + w["access_token"]).encode()).decode()
                 not in auths.pop(), "not the expired token")
        fa.delay("user", 0)

        # ---- GitHub's 200 {"error": "bad_refresh_token"} is for good ----
        x = fa.new_user_login()
        x.update(refresh_token="ghr_" + "z" * 40, expires_at=int(time.time()) - 1)
        del x["expires_in"]
        n = len(fa.calls("github.com", "/login/oauth/access_token"))
        create(b, "gone", x)
        bh.wait_for(lambda: famod.secret_row(b, "gone")["status"] == "relogin-required", 10,
                    what="refused refresh")
        bh.check_eq(famod.secret_row(b, "gone").get("status_reason"), "bad_refresh_token", "reason")
        bh.check_eq(e.ask("gone", "github.com").get("error"), "relogin-required", "asks refused")
        time.sleep(1)
        bh.check_eq(len(fa.calls("github.com", "/login/oauth/access_token")), n + 1, "no retry loop")

        # ---- no refresh token: as it is ----
        y = {"access_token": fa.new_user_login()["access_token"]}
        create(b, "plain", y, host="api.github.com")
        bh.check_eq(fpmod.hdrs(e.ask("plain", "api.github.com"))["authorization"],
                    "Bearer " + y["access_token"], "served as it is")
        st, ans = b.api("GET", "/proxy/v1/secrets/plain/stub")
        bh.check_eq(st, 400, "no stub")

        logs = b.log_text()
        for t in list(fa.tokens) + list(fa.refresh) + [u["client_secret"]]:
            bh.check(t not in logs, "no token or client secret in the log")
        b.check_alive()
        e.close()


bh.run(main)
