#!/usr/bin/env python3
"""A rule whose secret was deleted is left out of the enforcer's policy (so
evaluation falls through to later rules) and comes back, same id, same
place, when a secret of that name is created again: each is pushed as a
new policy version. It stays listed in the API with secret_missing. A
broker restarted over a state that holds such a rule starts without it in
the policy. Negative twins: rules without a secret or with another secret
are untouched; replacing an existing secret (force) changes no rule: it
pushes a new version with the same rules (enforcer workers wipe the
headers answers they keep on every version, enforcer/askcache.h)."""

import socket

import broker_harness as bh


def rule_ids(pol, client="web-1"):
    return [r["id"] for c in pol["clients"] if c["name"] == client for r in c["rules"]]


def quiet(ipc, what):
    try:
        got = ipc.recv(timeout=0.3)
    except socket.timeout:
        return
    bh.fail("%s pushed a policy: %r" % (what, got.get("version")))


def main():
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        for n in ("a", "b"):
            b.must(201, "POST", "/proxy/v1/secrets", {"name": n, "host": "x.example",
                                                       "value": "value-" + n})
        ids = [b.must(201, "POST", "/proxy/v1/allows", dict({"client": "web-1"}, **kw))["id"]
               for kw in ({"host": "x.example", "secret": "a", "paths": ["/a/*"]},
                          {"host": "x.example", "secret": "b"},
                          {"host": "y.example"})]
        ipc = bh.IpcClient(b.ipc_socket)
        pol = ipc.hello()
        bh.check_eq(rule_ids(pol), ids, "all three rules in the policy")
        v = pol["version"]

        b.must_204("DELETE", "/proxy/v1/secrets/a")
        pol = ipc.recv()
        bh.check_eq((pol["version"], rule_ids(pol)), (v + 1, ids[1:]),
                    "the rule naming the deleted secret left the policy")
        listed = b.must(200, "GET", "/proxy/v1/clients/web-1")
        bh.check_eq([(r["id"], r.get("secret_missing", False)) for r in listed],
                    [(ids[0], True), (ids[1], False), (ids[2], False)],
                    "still listed, marked missing")

        b.must(201, "POST", "/proxy/v1/secrets", {"name": "b", "host": "x.example",
                                                   "value": "value-b2", "force": True})
        pol = ipc.recv()
        bh.check_eq(rule_ids(pol), ids[1:], "replacing secret b: the same rules, a new version")

        b.must(201, "POST", "/proxy/v1/secrets", {"name": "a", "host": "x.example",
                                                   "value": "value-a2"})
        pol = ipc.recv()
        bh.check_eq((pol["version"], rule_ids(pol)), (v + 3, ids),
                    "re-created: the rule is back in its place")
        back = [r for c in pol["clients"] for r in c["rules"] if r["id"] == ids[0]][0]
        bh.check_eq((back["secret"], back["paths"]), ("a", ["/a/*"]), "the same rule")
        ipc.close()

        # a state holding such a rule: the first policy after a start lacks it
        b.must_204("DELETE", "/proxy/v1/secrets/b")
        b.restart()
        ipc = bh.IpcClient(b.ipc_socket)
        bh.check_eq(rule_ids(ipc.hello()), [ids[0], ids[2]], "after a restart")
        ipc.close()
        bh.check_eq([r.get("secret_missing", False)
                     for r in b.must(200, "GET", "/proxy/v1/clients/web-1")],
                    [False, True, False], "listing after a restart")


bh.run(main)
