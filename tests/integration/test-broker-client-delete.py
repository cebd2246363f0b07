#!/usr/bin/env python3
"""Deleting a client drops its rules at once (204, X-Airlock-Rules-Dropped
counts them; listings,
state.json and the pushed policy agree) and its token with it. Negative
twin: another client's rules stay; a client re-created with the same name
starts with no rules and a different token."""

import broker_harness as bh


def main():
    with bh.Broker() as b:
        t1 = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})["token"]
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-2"})
        for h in ("a.example", "b.example", "c.example"):
            b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": h})
        keep = b.must(201, "POST", "/proxy/v1/allows", {"client": "web-2", "host": "a.example"})
        ipc = bh.IpcClient(b.ipc_socket)
        pol = ipc.hello()
        hash1 = [c for c in pol["clients"] if c["name"] == "web-1"][0]["token_sha256"]

        d = b.must_204("DELETE", "/proxy/v1/clients/web-1")
        bh.check_eq(d.get("x-airlock-rules-dropped"), "3", "rules dropped header")
        pol = ipc.recv()
        bh.check_eq([c["name"] for c in pol["clients"]], ["web-2"], "policy without web-1")
        bh.check(all(c["token_sha256"] != hash1 for c in pol["clients"]), "token gone")
        bh.check_eq([r["id"] for r in pol["clients"][0]["rules"]], [keep["id"]], "web-2 kept")
        b.must(404, "GET", "/proxy/v1/clients/web-1")
        st = b.state()
        bh.check_eq([c["name"] for c in st["clients"]], ["web-2"], "state clients")
        bh.check_eq([r["client"] for r in st["rules"]], ["web-2"], "state rules")

        t2 = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})["token"]
        bh.check(t2 != t1, "a new token")
        bh.check_eq(b.must(200, "GET", "/proxy/v1/clients/web-1"), [], "no old rules")
        ipc.close()


bh.run(main)
