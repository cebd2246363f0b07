#!/usr/bin/env python3
"""A restart keeps everything: clients (same token hash), rules with their
ids and order, secrets (they still open with the seal key: a headers ask
works after the restart), and ids are never reused after it. Negative
twin: what was deleted before the restart stays deleted."""

import broker_harness as bh


def main():
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        b.must(201, "POST", "/proxy/v1/clients", {"name": "gone"})
        b.must(201, "POST", "/proxy/v1/secrets",
               {"name": "gh", "host": "api.github.com", "value": "restart-value-1"})
        r = [b.must(201, "POST", "/proxy/v1/allows", dict({"client": "web-1"}, **kw))["id"]
             for kw in ({"host": "z.example"}, {"host": "api.github.com", "secret": "gh"},
                        {"host": "a.example", "ttl_seconds": 3600})]
        last = b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "x.example"})
        b.must_204("DELETE", "/proxy/v1/allows/web-1/x.example")
        b.must_204("DELETE", "/proxy/v1/clients/gone")
        before = [b.must(200, "GET", p) for p in
                  ("/proxy/v1/clients", "/proxy/v1/clients/web-1", "/proxy/v1/secrets")]
        ipc = bh.IpcClient(b.ipc_socket)
        pol_before = ipc.hello()
        ipc.close()

        b.restart()

        after = [b.must(200, "GET", p) for p in
                 ("/proxy/v1/clients", "/proxy/v1/clients/web-1", "/proxy/v1/secrets")]
        bh.check_eq(after, before, "listings after restart")
        bh.check_eq([x["id"] for x in after[1]], r, "ids and order kept")
        ipc = bh.IpcClient(b.ipc_socket)
        pol_after = ipc.hello()
        bh.check_eq(pol_after["clients"], pol_before["clients"], "policy after restart")
        ipc.send({"type": "headers", "id": 7, "secret": "gh", "host": "api.github.com"})
        ans = ipc.recv()
        bh.check_eq(ans.get("headers"), [["Authorization", "Bearer restart-value-1"]],
                    "secret opens after restart")
        ipc.close()
        new = b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "n.example"})
        bh.check(new["id"] > last["id"], "ids not reused after restart (%d after %d)"
                 % (new["id"], last["id"]))
        b.must(404, "GET", "/proxy/v1/clients/gone")


bh.run(main)
