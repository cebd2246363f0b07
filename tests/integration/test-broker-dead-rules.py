#!/usr/bin/env python3
"""A rule stored by an older airlock whose path the current one refuses
(here `/a/..;x/*`, "Path spellings" in docs/security.md) could never match a
request, and the enforcer refuses a whole policy that holds one: the broker
drops such a rule when it loads state.json, logs which one and why, writes
the state, and serves the rest. Negative twin: the other rules of the same
client, and an ordinary path, stay."""

import json
import os

import broker_harness as bh


def main():
    b = bh.Broker()
    try:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "a.example",
                                                  "paths": ["/a/*"]})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "b.example",
                                                  "paths": ["/b/*"]})
        b.stop()
        path = os.path.join(b.state_dir, "state.json")
        doc = json.load(open(path))
        dead = doc["rules"][0]
        dead["paths"] = ["/a/..;x/*"]
        json.dump(doc, open(path, "w"))
        b.start()
        st = b.state()
        hosts = [(r["host"], r["paths"]) for r in st["rules"]]
        bh.check_eq(hosts, [("b.example", ["/b/*"])], "the dead rule is dropped, the other stays")
        log = b.log_text()
        bh.check("dropping a rule that can no longer match any request" in log and
                 "rule=%d" % dead["id"] in log, "the drop is logged with the rule's id")
        # the enforcer's view: a hello gets a policy it accepts (no refused path in it)
        ipc = bh.IpcClient(os.path.join(b.state_dir, "ipc.sock"))
        pol = ipc.hello()
        rules = pol["clients"][0]["rules"]
        bh.check_eq([r["host"] for r in rules], ["b.example"], "the policy holds the live rule only")
        ipc.close()
        b.check_alive()
    finally:
        b.close()


bh.run(main)
