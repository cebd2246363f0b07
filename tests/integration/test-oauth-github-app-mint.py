#!/usr/bin/env python3
"""github-app minting: 50 concurrent asks right after adoption (installation
discovery, then a token endpoint that takes 300 ms) start exactly one
discovery and one mint, are held until the token is saved, and all get it.
With 8-second tokens, the next token is minted before the current one
expires (at three quarters of its life: the 5-minute lead is capped by the
lifetime), asks never get an expired token, and the listing's expires_at
follows. An upstream 401 forces one new mint. Negative twins: a 500 from
GitHub backs off and keeps the live token in service; a refresh slower
than the hold answers credential-refreshing, still with one mint."""

import json
import tempfile
import time

import broker_harness as bh
import fake_apps as famod
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-gh-mint-")
    with famod.open_or_skip(tmp) as fa, bh.Broker(flags=fa.airlock_flags()) as b:
        app = fa.new_app(installations=1)
        asks = [fpmod.Asker(b.ipc_socket) for _ in range(5)]

        # ---- single flight at adoption ----
        fa.delay("app", 0.3)
        b.must(201, "POST", "/proxy/v1/secrets", {
            "name": "app", "type": "github-app",
            "value": json.dumps({"app_id": app["app_id"], "private_key_file": app["key_path"]})})
        ids = []
        for i in range(50):
            a = asks[i % 5]
            ids.append((a, a.ask_async("app", "api.github.com" if i % 2 else "github.com")))
        got = {a: a.answers(10, timeout=10) for a in asks}
        toks = set()
        for a, i in ids:
            ans = got[a][i]
            bh.check("error" not in ans, "ask %d answered with headers: %r" % (i, ans.get("error")))
            auth = fpmod.hdrs(ans).get("authorization", "")
            if auth.startswith("Bearer "):
                toks.add(auth[7:])
        bh.check_eq(len(toks), 1, "all asks got one token")
        bh.check_eq(fa.mints("app"), 1, "exactly one mint")
        bh.check_eq(len(fa.calls("api.github.com", "/app/installations?")), 1, "exactly one discovery")
        first = toks.pop()
        fa.delay("app", 0)

        # ---- minted again before expiry ----
        fa.set_lifetime("app", 8)
        b.must(201, "POST", "/proxy/v1/secrets", {
            "name": "short", "type": "github-app",
            "value": json.dumps({"app_id": app["app_id"], "private_key_file": app["key_path"],
                                 "installation_id": app["installations"][0]})})
        e = asks[0]
        served = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 14:
            ans = e.ask("short", "api.github.com")
            bh.check("error" not in ans, "served while renewing: %r" % ans.get("error"))
            tok = fpmod.hdrs(ans)["authorization"][7:]
            bh.check(fa.live(tok), "never an expired token")
            if not served or served[-1] != tok:
                served.append(tok)
            time.sleep(0.2)
        bh.check(len(served) >= 2, "renewed within 14 s of 8 s tokens: %d tokens" % len(served))
        for old, new in zip(served, served[1:]):
            o, n = fa.token_info(old), fa.token_info(new)
            bh.check(n["minted"] < o["exp"], "the next token came before the last one expired "
                     "(%.1f s before)" % (o["exp"] - n["minted"]))
            bh.check(n["minted"] - o["minted"] >= 5, "not minted in a loop")
        s = famod.secret_row(b, "short")
        bh.check("expires_at" in s and "refreshed_at" in s, "health shown: %r" % s)
        bh.log("8 s tokens: %d minted in 14 s, each renewed %.1f s before expiry"
               % (len(served), min(fa.token_info(o)["exp"] - fa.token_info(n)["minted"]
                                   for o, n in zip(served, served[1:]))))

        # ---- a 500 from GitHub: back off, keep serving the live token ----
        fa.set_lifetime("app", 3600)
        st, _ = b.api("DELETE", "/proxy/v1/secrets/short")   # its renewals stop
        bh.check(st in (200, 204), "deleted: %s" % st)
        n = fa.mints("app")
        cur = fpmod.hdrs(e.ask("app", "github.com"))["authorization"]
        fa.fail("app", 500, times=1, body={"message": "Server Error"})
        e.upstream_401("app", "api.github.com")       # forces a mint, which fails
        bh.wait_for(lambda: not fa.fails["app"], 10, what="the failing mint")
        bh.check_eq(fpmod.hdrs(e.ask("app", "github.com"))["authorization"], cur,
                    "the live token still served after a 500")
        st = famod.secret_row(b, "app")
        bh.check_eq(st["status"], "ok", "a 500 is not for good")
        bh.check_eq(fa.mints("app"), n, "nothing minted by the failure")

        # ---- upstream 401: one forced mint, a new token ----
        b.must(201, "POST", "/proxy/v1/secrets", {
            "name": "forced", "type": "github-app",
            "value": json.dumps({"app_id": app["app_id"], "private_key_file": app["key_path"],
                                 "installation_id": app["installations"][0]})})
        old = fpmod.hdrs(e.ask("forced", "api.github.com"))["authorization"]
        n = fa.mints("app")
        e.upstream_401("forced", "api.github.com")
        e.upstream_401("forced", "github.com")
        bh.wait_for(lambda: fa.mints("app") >= n + 1, 10, what="forced mint")
        time.sleep(0.5)
        bh.check_eq(fa.mints("app"), n + 1, "one forced mint for two reports")
        bh.check(fpmod.hdrs(e.ask("forced", "api.github.com"))["authorization"] != old,
                 "the new token is served")

        # ---- a mint slower than the hold ----
        fa.delay("app", 2.5)
        b.must(201, "POST", "/proxy/v1/secrets", {
            "name": "slow", "type": "github-app",
            "value": json.dumps({"app_id": app["app_id"], "private_key": app["key_pem"],
                                 "installation_id": app["installations"][0]})})
        m = fa.mints("app")
        ids = [e.ask_async("slow", "github.com") for _ in range(10)]
        ans = e.answers(10, timeout=10)
        for i in ids:
            bh.check_eq(ans[i].get("error"), "credential-refreshing", "slow mint: 503 reason")
            bh.check(ans[i].get("retry_after", 0) >= 1, "retry_after given")
        bh.wait_for(lambda: fa.mints("app") == m + 1, 10, what="the slow mint")
        time.sleep(0.3)
        bh.check_eq(fa.mints("app"), m + 1, "still one mint")
        bh.check("error" not in e.ask("slow", "github.com"), "served once the slow mint is saved")
        bh.check(first not in b.log_text(), "no token in the log")
        for a in asks:
            a.close()
        b.check_alive()


bh.run(main)
