#!/usr/bin/env python3
"""Surgical revoke (POST /allows/revoke: exact identity, TTL ignored, the
spelling of host/methods normalised) removes exactly the matching rule;
bulk revoke (DELETE /allows/{client}/{host}) removes every rule of that
client for that host and nothing else. Negative twins: a near-miss tuple
revokes nothing (404), another client's rules for the same host stay."""

import broker_harness as bh


def ids(b, client):
    return [r["id"] for r in b.must(200, "GET", "/proxy/v1/clients/" + client)]


def revoked(hdrs):
    """The ids of a 204 revoke, from its X-Airlock-Revoked header."""
    return [int(x) for x in hdrs["x-airlock-revoked"].split(",")]


def main():
    with bh.Broker() as b:
        for n in ("web-1", "web-2"):
            b.must(201, "POST", "/proxy/v1/clients", {"name": n})
        add = lambda c, **kw: b.must(201, "POST", "/proxy/v1/allows",  # noqa: E731
                                     dict({"client": c}, **kw))["id"]
        a_get = add("web-1", host="api.example.com", methods=["GET"], ttl_seconds=600)
        a_post = add("web-1", host="api.example.com", methods=["POST"], paths=["/v1/*"])
        a_any = add("web-1", host="api.example.com")
        other = add("web-1", host="other.example.com", methods=["GET"])
        w2 = add("web-2", host="api.example.com")

        # near misses revoke nothing
        for tup in ({"host": "api.example.com", "methods": ["PUT"]},
                    {"host": "api.example.com", "methods": ["POST"]},            # paths differ
                    {"host": "api.example.com", "methods": ["GET"], "ports": [443]},
                    {"host": "*.example.com"}):
            b.must(404, "POST", "/proxy/v1/allows/revoke", dict({"client": "web-1"}, **tup))
        bh.check_eq(ids(b, "web-1"), [a_get, a_post, a_any, other], "near misses changed rules")

        # surgical: TTL not part of the identity, spelling normalised
        r = b.must_204("POST", "/proxy/v1/allows/revoke",
                       {"client": "web-1", "host": "API.Example.COM.", "methods": ["get"],
                        "ports": [443, 80, 80]})
        bh.check_eq(revoked(r), [a_get], "surgical revoke answer")
        bh.check_eq(ids(b, "web-1"), [a_post, a_any, other], "one rule gone")
        r = b.must_204("POST", "/proxy/v1/allows/revoke",
                       {"client": "web-1", "host": "api.example.com", "methods": ["POST"],
                        "paths": ["/v1/*"]})
        bh.check_eq(revoked(r), [a_post], "surgical revoke with paths")

        # bulk by host
        a2 = add("web-1", host="api.example.com", methods=["DELETE"])
        r = b.must_204("DELETE", "/proxy/v1/allows/web-1/api.example.com")
        bh.check_eq(sorted(revoked(r)), sorted([a_any, a2]), "bulk revoke answer")
        bh.check_eq(ids(b, "web-1"), [other], "only the other host is left")
        bh.check_eq(ids(b, "web-2"), [w2], "web-2 untouched")
        b.must(404, "DELETE", "/proxy/v1/allows/web-1/api.example.com")

        # wildcard hosts are revoked by their own pattern
        wid = add("web-2", host="*.example.org")
        r = b.must_204("DELETE", "/proxy/v1/allows/web-2/*.example.org")
        bh.check_eq(revoked(r), [wid], "bulk revoke of a wildcard host")
        state_ids = [x["id"] for x in b.state()["rules"]]
        bh.check_eq(state_ids, [other, w2], "state.json holds exactly the survivors")


bh.run(main)
