#!/usr/bin/env python3
"""A rule's TTL ends it at the instant it expires (its expires_at is the
creation time plus the TTL rounded up to a whole second, never down): it
leaves the listing and the policy snapshot on its own (the broker pushes a
new version at the expiry, no request needed), and it is purged from
state.json at the next write. Negative twin: a rule without TTL, and one
with a long TTL, stay."""

import time

import broker_harness as bh


def main():
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        keep = b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "keep.example"})
        longr = b.must(201, "POST", "/proxy/v1/allows",
                       {"client": "web-1", "host": "long.example", "ttl_seconds": 3600})
        ipc = bh.IpcClient(b.ipc_socket)
        ipc.hello()
        t0 = time.time()
        short = b.must(201, "POST", "/proxy/v1/allows",
                       {"client": "web-1", "host": "short.example", "ttl_seconds": 1})
        t1 = time.time()
        pol = ipc.recv()
        ids = [r["id"] for r in pol["clients"][0]["rules"]]
        bh.check(short["id"] in ids, "new rule in the pushed policy")
        short_exp = [r for r in pol["clients"][0]["rules"] if r["id"] == short["id"]][0]
        bh.check("expires_at" in short_exp, "policy rule carries expires_at")
        # whole seconds, rounded up: live for the whole TTL from the call
        # (the broker read its clock between t0 and t1), over < 1 s after
        exp = short_exp["expires_at"]
        bh.check(t0 + 1 <= exp < t1 + 1 + 1,
                 "expires_at %d for a 1 s TTL created in [%.3f, %.3f]" % (exp, t0, t1))
        bh.check_eq(short["expires_at"],
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)),
                    "the API shows the same expiry")

        # the broker pushes by itself when the TTL ends
        pol = ipc.recv(timeout=10.0)
        got = time.time()
        ids = [r["id"] for r in pol["clients"][0]["rules"]]
        late = got - short_exp["expires_at"]
        bh.log("expiry push after %.3fs, %.3fs after expires_at, rules %r"
               % (got - t0, late, ids))
        bh.check(short["id"] not in ids, "expired rule left the policy")
        bh.check_eq(ids, [keep["id"], longr["id"]], "others stay, in order")
        bh.check(late >= 0, "push not before the expiry")
        # measured from the expiry itself, not from before the POST: a slow
        # POST (sanitizers, a loaded machine) must not eat into the bound
        bh.check(late < 2.0, "push came at the expiry (%.2fs after it)" % late)

        rules = b.must(200, "GET", "/proxy/v1/clients/web-1")
        bh.check_eq([r["id"] for r in rules], [keep["id"], longr["id"]], "listing without it")
        bh.check_eq(b.must(200, "GET", "/proxy/v1/clients")[0]["rules"], 2,
                    "count without it")
        # revoking an expired rule finds nothing: it is gone
        b.must(404, "POST", "/proxy/v1/allows/revoke",
               {"client": "web-1", "host": "short.example"})
        # an identical rule can be added again once the first has expired
        again = b.must(201, "POST", "/proxy/v1/allows",
                       {"client": "web-1", "host": "short.example", "ttl_seconds": 2})
        bh.check(again["id"] > short["id"], "ids are never reused")
        bh.check(short["id"] not in [r["id"] for r in b.state()["rules"]],
                 "expired rule purged from state.json at the next write")

        # listing agrees with the clock even before any push is read
        bh.wait_for(lambda: again["id"] not in
                    [r["id"] for r in b.must(200, "GET", "/proxy/v1/clients/web-1")],
                    timeout=10.0, what="second rule to expire")
        ipc.close()


bh.run(main)
