#!/usr/bin/env python3
"""Code written against the seed system's Go SDK (slicervm/sdk, proxy.go)
works unchanged against airlock: each of its ten proxy calls, replayed as Go
sends it (method, escaped path, marshalled body, headers) against the live
API of a real `airlock up`, gets the one status the SDK accepts and an
answer that encoding/json decodes into the SDK's types (tests/lib/
sdkreplay.py: strict types, RFC 3339 times, bare arrays) with the values
asked for: 10 of 10. The SDK's refusals (404, 409) carry {"error"} bodies.

Then the SDK's semantics for a deleted secret, end to end through the
proxy: a rule whose secret is deleted stops matching and evaluation falls
through to the next rule (whose own secret is injected, never the deleted
one), the rule is still listed (marked missing), and a secret re-created
under that name brings the rule back with the new value. Negative twin: a
client whose only rule lost its secret gets 403 no-rule (not
secret-not-found) and the origin sees nothing. Secret values are never
printed."""

import datetime
import json

import airlock_harness as h
import mitmtest as mt
import proxytest as pt
import sdkreplay as sr

OWN_TOKEN = "sdk-demo-token-0123456789abcdef"   # a caller-set token (SDK's setToken)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def near_now(t, what, slack=60):
    h.check(abs((t - now()).total_seconds()) < slack, "%s %s is not now" % (what, t))


def refused(call, want_status, *args, **kw):
    """The SDK call fails as proxyDo reports it: that status, an {"error"} body."""
    try:
        call(*args, **kw)
    except sr.SDKError as e:
        h.check_eq(e.status, want_status, "%s refused with" % call.__name__)
        body = json.loads(e.body)
        h.check(set(body) == {"error"} and isinstance(body["error"], str) and body["error"],
                "%s: the refusal's body is {\"error\": ...}: %r" % (call.__name__, e.body))
        return body["error"]
    h.fail("%s(%r) succeeded, want %d" % (call.__name__, args, want_status))


def replay_contract(al, sdk):
    """The ten calls, each as the SDK makes it; answers decoded as Go would."""
    c1 = sdk.create_proxy_client("web-1")
    h.check_eq(c1["name"], "web-1", "CreateProxyClient name")
    h.check(c1["token"].startswith("alk_") and len(c1["token"]) == 47, "a minted token")
    near_now(c1["created_at"], "created_at")
    c2 = sdk.create_proxy_client("web-2", OWN_TOKEN)
    h.check_eq(c2["token"], OWN_TOKEN, "CreateProxyClient with setToken echoes it")
    h.check_eq(sdk.wire[-1][2], b'{"name":"web-2","token":"%s"}' % OWN_TOKEN.encode(),
               "the map body, keys sorted as Go marshals a map")

    clients = sdk.list_proxy_clients()
    h.check_eq([c["name"] for c in clients], ["web-1", "web-2"], "ListProxyClients")
    for c in clients:
        near_now(c["created_at"], "client created_at")

    sdk.create_proxy_secret("reg", "*.registry.test", "me:pa55", type="basic")
    sdk.create_proxy_secret("reg", "registry.test", "me:pa66", type="basic", force=True)
    h.check_eq(sdk.wire[-1][2],
               b'{"name":"reg","host":"registry.test","type":"basic","value":"me:pa66",'
               b'"force":true}', "CreateProxySecret body as Go marshals it")
    sdk.create_proxy_secret("plain", "api.test", "tok-0123456789")   # type omitted: bearer
    secrets = sdk.list_proxy_secrets()
    h.check_eq([(s["name"], s["host"], s["type"]) for s in secrets],
               [("reg", "registry.test", "basic"), ("plain", "api.test", "bearer")],
               "ListProxySecrets")
    for s in secrets:
        near_now(s["created_at"], "secret created_at")
    raw = al.api("GET", "/proxy/v1/secrets")[1]
    h.check(all("value" not in s for s in raw), "no value in the secret list")

    sdk.add_proxy_allow("web-2", "*.example.com", methods=["get"], paths=["/v1/*"])
    sdk.add_proxy_allow("web-2", "*.example.com")
    sdk.add_proxy_allow("web-2", "db.test", ports=[5432], passthrough=True)
    sdk.add_proxy_allow("web-2", "api.test", secret="plain", ttl_seconds=3600)
    h.check_eq(sdk.wire[-1][2], b'{"client":"web-2","host":"api.test","secret":"plain",'
               b'"ttl_seconds":3600}', "AddProxyAllow body as Go marshals it")
    rules = sdk.list_proxy_rules("web-2")
    h.check_eq([(r["host"], r["secret"], r["methods"], r["paths"], r["ports"], r["passthrough"])
                for r in rules],
               [("*.example.com", "", ["GET"], ["/v1/*"], [80, 443], False),
                ("*.example.com", "", [], [], [80, 443], False),
                ("db.test", "", [], [], [5432], True),
                ("api.test", "plain", [], [], [80, 443], False)],
               "ListProxyRules, in declaration order")
    h.check(all(r["expires"] is None for r in rules[:3]), "no expires without a TTL")
    left = (rules[3]["expires"] - now()).total_seconds()
    h.check(3590 < left <= 3602, "expires is the TTL's end (%.0f s left)" % left)

    sdk.remove_proxy_allow_by_tuple("web-2", "*.example.com", methods=["GET"], paths=["/v1/*"])
    h.check_eq([r["host"] for r in sdk.list_proxy_rules("web-2")],
               ["*.example.com", "db.test", "api.test"], "after RemoveProxyAllowByTuple")
    sdk.remove_proxy_allow("web-2", "*.example.com")
    h.check_eq(sdk.wire[-1][:2], ("DELETE", "/proxy/v1/allows/web-2/%2A.example.com"),
               "RemoveProxyAllow's path, escaped as net/url does")
    h.check_eq([r["host"] for r in sdk.list_proxy_rules("web-2")], ["db.test", "api.test"],
               "after RemoveProxyAllow")

    # the SDK's error path: the status it did not want, the body as the message
    refused(sdk.list_proxy_rules, 404, "nobody")
    refused(sdk.create_proxy_client, 409, "web-1")
    refused(sdk.add_proxy_allow, 404, "web-2", "x.test", secret="nope")
    refused(sdk.remove_proxy_allow, 404, "web-2", "never.test")
    refused(sdk.remove_proxy_allow_by_tuple, 404, "web-2", "db.test")   # ports differ
    refused(sdk.delete_proxy_secret, 404, "nope")

    sdk.delete_proxy_secret("reg")
    h.check_eq([s["name"] for s in sdk.list_proxy_secrets()], ["plain"], "after DeleteProxySecret")
    sdk.delete_proxy_client("web-2")
    h.check_eq([c["name"] for c in sdk.list_proxy_clients()], ["web-1"], "after DeleteProxyClient")
    refused(sdk.delete_proxy_client, 404, "web-2")

    done = [c for c in sr.ALL_CALLS if c in sdk.calls]
    h.log("SDK calls replayed and decoded: %d of %d (%s)" % (len(done), len(sr.ALL_CALLS),
                                                            ", ".join(done)))
    h.check_eq(sorted(done), sorted(sr.ALL_CALLS), "every SDK call replayed")
    return c1["token"]


def fall_through(s, sdk, tok):
    """A deleted secret's rule stops matching; the next rule decides."""
    al, port = s.al, s.port
    values = {n: mt.secret_value(n) for n in ("primary", "fallback", "primary2", "lonely")}
    names = {v: n for n, v in values.items()}
    n = [0]

    def fetch(tok, path):
        """One request over a fresh intercepted connection: (status, reason,
        the name of the secret whose value reached the origin, or None).
        Each request gets its own path (path + "-N"), kept in last[0]."""
        n[0] += 1
        path = last[0] = "%s-%d" % (path, n[0])
        before = len(s.origin.requests)
        c = mt.Inner(al, tok, "origin.test", port)
        try:
            if c.connect_status != 200:
                return c.connect_status, c.connect_headers.get("x-airlock-reason"), None
            st, hd, _ = c.get(path, host="origin.test:%d" % port)
        finally:
            c.close()
        got = None
        for _, p, hdrs in s.origin.requests[before:]:
            auth = {k.lower(): v for k, v in hdrs.items()}.get("authorization", "")
            got = names.get(auth[len("Bearer "):], "another value") if auth else None
        return st, hd.get("x-airlock-reason"), got

    sdk.create_proxy_secret("primary", "origin.test", values["primary"])
    sdk.create_proxy_secret("fallback", "origin.test", values["fallback"])
    sdk.add_proxy_allow("web-1", "origin.test", secret="primary", paths=["/echo/*"], ports=[port])
    sdk.add_proxy_allow("web-1", "origin.test", secret="fallback", ports=[port])
    ids = [r["id"] for r in al.api("GET", "/proxy/v1/clients/web-1")[1]]

    last = [None]

    def decided(rule, inject):
        path = last[0]
        d = pt.wait_decision(al, lambda d: d.get("path") == path and d["verdict"] == "allow",
                             "the decision line for %s" % path)
        h.check_eq((d.get("rule"), d.get("inject")), (str(rule), inject),
                   "%s: the rule that matched and the secret it injected" % path)

    h.check_eq(fetch(tok, "/echo/1"), (200, None, "primary"), "rule 1 injects its secret")
    decided(ids[0], "primary")

    sdk.delete_proxy_secret("primary")
    rules = sdk.list_proxy_rules("web-1")
    h.check_eq([(r["host"], r["secret"]) for r in rules],
               [("origin.test", "primary"), ("origin.test", "fallback")],
               "the rule whose secret is gone is still listed")
    raw = al.api("GET", "/proxy/v1/clients/web-1")[1]
    h.check_eq([r.get("secret_missing", False) for r in raw], [True, False],
               "and marked secret_missing")
    # the change reaches the enforcer within moments; until then a request
    # may still meet rule 1 and fail closed (403 secret-not-found)
    seen = []
    h.wait_for(lambda: seen.append(fetch(tok, "/echo/2")) or seen[-1][0] == 200, timeout=10,
               interval=0.05, what="the request to fall through to rule 2")
    h.check(all(r[2] != "primary" for r in seen), "the deleted secret was injected")
    h.check_eq(seen[-1], (200, None, "fallback"), "falls through to rule 2, its secret injected")
    decided(ids[1], "fallback")

    sdk.create_proxy_secret("primary", "origin.test", values["primary2"])
    seen = []
    h.wait_for(lambda: seen.append(fetch(tok, "/echo/3")) or seen[-1][2] == "primary2",
               timeout=10, interval=0.05, what="rule 1 to come back with the re-created secret")
    h.check(all(r[0] == 200 and r[2] in ("fallback", "primary2") for r in seen),
            "only the secret of the rule that matched: %r" % seen)
    decided(ids[0], "primary")
    h.check_eq(al.api("GET", "/proxy/v1/clients/web-1")[1][0].get("secret_missing"), None,
               "no longer marked missing")

    # negative twin: nothing to fall through to
    solo = sdk.create_proxy_client("solo")["token"]
    sdk.create_proxy_secret("lonely", "origin.test", values["lonely"])
    sdk.add_proxy_allow("solo", "origin.test", secret="lonely", ports=[port])
    h.check_eq(fetch(solo, "/echo/4"), (200, None, "lonely"), "solo's rule injects")
    sdk.delete_proxy_secret("lonely")
    seen = []
    h.wait_for(lambda: seen.append(fetch(solo, "/echo/5")) or seen[-1][1] == "no-rule",
               timeout=10, interval=0.05, what="solo to have no matching rule")
    h.check_eq(seen[-1], (403, "no-rule", None), "a rule without its secret matches nothing")
    h.check(all(r[2] is None for r in seen), "the origin saw a request after the delete")
    for v in values.values():
        mt.check_no_secret(al, v)


def main():
    with mt.Setup() as s:
        sdk = sr.SDK(s.al.api_socket)
        tok = replay_contract(s.al, sdk)
        fall_through(s, sdk, tok)
        s.al.check_alive()


h.run(main)
