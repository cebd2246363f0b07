#!/usr/bin/env python3
"""The whole client / secret / rule life cycle over raw REST on api.sock:
create, list (bare arrays), show (rules in declaration order), CA and
status, delete a secret that rules use (204, reported in a header, rules
kept with secret_missing), delete everything (204). Negative twin: each
object is gone (404) after its delete."""

import re

import broker_harness as bh

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def main():
    with bh.Broker() as b:
        st = b.must(200, "GET", "/proxy/v1/status")
        bh.check_eq(st["api_socket"], b.api_socket, "status api_socket")
        bh.check_eq(st["mode"], "strict", "status mode")
        bh.check_eq(st["http_proxy"], "http://127.0.0.1:3128", "status http_proxy")
        bh.check_eq(st["https_proxy"], "https://127.0.0.1:3129", "status https_proxy")
        bh.check(st["enforcer"]["running"] is False, "no enforcer runs with --no-enforcer")
        v0 = st["policy_version"]

        st_, pem = b.api("GET", "/proxy/v1/ca")
        bh.check_eq(st_, 200, "GET ca")
        bh.check(isinstance(pem, str) and pem.startswith("-----BEGIN CERTIFICATE-----"),
                 "CA is PEM: %r" % pem[:40])

        # clients
        c = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        bh.check(re.match(r"^alk_[A-Za-z0-9_-]{43}$", c["token"]), "token shape %r" % c["token"])
        bh.check(TIME_RE.match(c["created_at"]), "created_at is RFC 3339")
        b.must(201, "POST", "/proxy/v1/clients",
               {"name": "web-2", "token": "my-own-token-0123456789abcdef"})
        lst = b.must(200, "GET", "/proxy/v1/clients")
        bh.check_eq([x["name"] for x in lst], ["web-1", "web-2"], "client list")
        bh.check(all("token" not in x for x in lst), "no token in the client list")

        # secrets
        s = b.must(201, "POST", "/proxy/v1/secrets",
                   {"name": "gh", "host": "API.GitHub.com.", "value": "ghp_notreal123"})
        bh.check_eq((s["host"], s["type"], s["status"]), ("api.github.com", "bearer", "ok"),
                    "secret answer")
        bh.check("value" not in s, "no value in the answer")
        b.must(201, "POST", "/proxy/v1/secrets",
               {"name": "reg", "host": "*.registry.example", "type": "basic",
                "value": "user:pa55"})
        secs = b.must(200, "GET", "/proxy/v1/secrets")
        bh.check_eq([x["name"] for x in secs], ["gh", "reg"], "secret list")
        bh.check(all("value" not in x and "sealed" not in x for x in secs), "no value listed")

        # rules, in declaration order
        r1 = b.must(201, "POST", "/proxy/v1/allows",
                    {"client": "web-1", "host": "api.github.com", "secret": "gh",
                     "methods": ["get", "POST"], "paths": ["/repos/*"]})
        r2 = b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "*"})
        r3 = b.must(201, "POST", "/proxy/v1/allows",
                    {"client": "web-1", "host": "db.example.com", "ports": [5432],
                     "passthrough": True})
        r4 = b.must(201, "POST", "/proxy/v1/allows",
                    {"client": "web-1", "host": "a.example.com", "ttl_seconds": 3600})
        bh.check(r1["id"] < r2["id"] < r3["id"] < r4["id"], "ids grow")
        bh.check_eq(r1["methods"], ["GET", "POST"], "methods upper-cased")
        bh.check_eq(r2["ports"], [80, 443], "default ports")
        bh.check_eq(r3["ports"], [5432], "explicit ports")
        bh.check(r3["passthrough"] is True, "passthrough")
        bh.check(TIME_RE.match(r4["expires_at"]) and r4["ttl_seconds"] == 3600, "ttl fields")
        bh.check_eq(r4["expires"], r4["expires_at"], "expires (the SDKs' name) = expires_at")
        bh.check("expires_at" not in r1 and "expires" not in r1, "no expiry without a ttl")

        got = b.must(200, "GET", "/proxy/v1/clients/web-1")
        bh.check_eq([r["id"] for r in got], [r1["id"], r2["id"], r3["id"], r4["id"]],
                    "rules in declaration order")
        bh.check_eq(b.must(200, "GET", "/proxy/v1/clients")[0]["rules"], 4,
                    "rule count in the list")
        bh.check_eq(b.must(200, "GET", "/proxy/v1/clients/web-2"), [],
                    "other client has no rules")
        bh.check(b.must(200, "GET", "/proxy/v1/status")["policy_version"] > v0,
                 "policy version moved")

        # deleting a secret that a rule uses: reported, rule stays, marked
        d = b.must_204("DELETE", "/proxy/v1/secrets/gh")
        bh.check_eq(d.get("x-airlock-rules-affected"), str(r1["id"]), "rules affected header")
        got = b.must(200, "GET", "/proxy/v1/clients/web-1")
        bh.check(got[0].get("secret_missing") is True, "secret_missing on the rule")
        b.must(404, "DELETE", "/proxy/v1/secrets/gh")

        # force replaces a secret
        b.must(409, "POST", "/proxy/v1/secrets",
               {"name": "reg", "host": "*.registry.example", "type": "basic", "value": "u:p"})
        s2 = b.must(201, "POST", "/proxy/v1/secrets",
                    {"name": "reg", "host": "registry.example", "type": "basic", "value": "u:p",
                     "force": True})
        bh.check_eq(s2["host"], "registry.example", "force replaced the secret")
        bh.check_eq(len(b.must(200, "GET", "/proxy/v1/secrets")), 1, "one secret")

        # delete the client: its rules go
        d = b.must_204("DELETE", "/proxy/v1/clients/web-1")
        bh.check_eq(d.get("x-airlock-rules-dropped"), "4", "client delete: rules dropped")
        bh.check("content-type" not in d, "a 204 has no Content-Type")
        b.must(404, "GET", "/proxy/v1/clients/web-1")
        b.must(404, "DELETE", "/proxy/v1/clients/web-1")
        bh.check_eq(b.state()["rules"], [], "no rules left in state.json")

        # unknown endpoints and methods
        b.must(404, "GET", "/proxy/v1/nothing")
        b.must(404, "GET", "/elsewhere")
        b.must(405, "PUT", "/proxy/v1/clients")


bh.run(main)
