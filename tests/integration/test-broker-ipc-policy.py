#!/usr/bin/env python3
"""IPC policy push: a stand-in enforcer connects to ipc.sock, says hello and
gets a full snapshot (clients with token hashes, rules in declaration
order); after every change (allow, revoke, client create/delete) a snapshot
with version + 1 arrives within 100 ms, on every connected enforcer.
Negative twins: a refused request pushes nothing; an unknown message type,
a bad frame, or a wrong protocol version closes the connection, and the
broker keeps serving."""

import hashlib
import socket
import struct
import time

import broker_harness as bh


def timed_change(b, ipcs, method, path, body, want):
    """The change, then each enforcer's new snapshot: it must arrive within
    100 ms of the answer (the broker pushes before it answers, so in practice
    it is already there). Returns the snapshots and the whole round in ms
    (which includes the state's fsync)."""
    t0 = time.monotonic()
    b.must(want, method, path, body)
    t1 = time.monotonic()
    pols = []
    for i in ipcs:
        try:
            pols.append(i.recv(timeout=max(0.0, 0.1 - (time.monotonic() - t1))))
        except socket.timeout:
            bh.fail("no policy within 100 ms of the answer to %s %s" % (method, path))
    return pols, (time.monotonic() - t0) * 1000


def main():
    with bh.Broker() as b:
        tok = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})["token"]
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "s", "host": "a.example", "value": "v"})
        r1 = b.must(201, "POST", "/proxy/v1/allows",
                    {"client": "web-1", "host": "a.example", "secret": "s", "methods": ["GET"],
                     "paths": ["/x/*"], "ttl_seconds": 600})

        e1, e2 = bh.IpcClient(b.ipc_socket), bh.IpcClient(b.ipc_socket)
        p1 = e1.hello()
        p2 = e2.hello()
        bh.check_eq(p1["version"], p2["version"], "same version to both")
        c = p1["clients"][0]
        bh.check_eq(c["name"], "web-1", "client name")
        bh.check_eq(c["token_sha256"], hashlib.sha256(tok.encode()).hexdigest(), "token hash")
        rule = c["rules"][0]
        bh.check_eq({k: rule[k] for k in ("id", "host", "ports", "methods", "paths", "secret",
                                          "passthrough")},
                    {"id": r1["id"], "host": "a.example", "ports": [80, 443], "methods": ["GET"],
                     "paths": ["/x/*"], "secret": "s", "passthrough": False}, "rule shape")
        bh.check(isinstance(rule["expires_at"], int), "expires_at in unix seconds")
        bh.check("token" not in str(p1).replace("token_sha256", ""), "no token in the policy")

        v = p1["version"]
        worst = 0.0
        steps = [
            ("POST", "/proxy/v1/allows", {"client": "web-1", "host": "b.example"}, 201),
            ("POST", "/proxy/v1/allows", {"client": "web-1", "host": "c.example",
                                          "passthrough": True, "ports": [22]}, 201),
            ("POST", "/proxy/v1/allows/revoke", {"client": "web-1", "host": "b.example"}, 204),
            ("POST", "/proxy/v1/clients", {"name": "web-2"}, 201),
            ("DELETE", "/proxy/v1/allows/web-1/c.example", None, 204),
            ("DELETE", "/proxy/v1/clients/web-2", None, 204),
        ]
        for method, path, body, want in steps:
            (q1, q2), ms = timed_change(b, [e1, e2], method, path, body, want)
            worst = max(worst, ms)
            bh.check_eq(q1["version"], v + 1, "version after %s %s" % (method, path))
            bh.check_eq(q2["version"], v + 1, "second enforcer's version")
            v += 1
        bh.log("slowest change, request to push (fsync included): %.1f ms" % worst)
        hosts = [r["host"] for r in q1["clients"][0]["rules"]]
        bh.check_eq(hosts, ["a.example"], "policy after the steps")

        # a refused change pushes nothing
        b.must(409, "POST", "/proxy/v1/clients", {"name": "web-1"})
        e1.sock.settimeout(0.3)
        try:
            e1.sock.recv(1)
            bh.fail("a refused change pushed a policy")
        except socket.timeout:
            pass

        # strictness: unknown type, zero-length frame, oversize header, bad proto
        for bad in (lambda c: c.send({"type": "give-me-secrets"}),
                    lambda c: c.send_raw(struct.pack(">I", 0)),
                    lambda c: c.send_raw(struct.pack(">I", 0xFFFFFFFF)),
                    lambda c: c.send_raw(struct.pack(">I", 5) + b"nope!"),
                    lambda c: c.send({"type": "hello", "proto": 99, "pid": 1}),
                    lambda c: c.send({"type": "headers", "id": "x", "secret": "s",
                                      "host": "a.example"})):
            x = bh.IpcClient(b.ipc_socket)
            bad(x)
            try:
                got = x.recv(timeout=3.0)
                bh.fail("bad input answered instead of closing: %r" % got)
            except (EOFError, ConnectionResetError):
                pass
            x.close()
        b.check_alive()
        # the good connections are unaffected
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "d.example"})
        bh.check_eq(e1.recv(timeout=2.0)["version"], v + 1, "still pushed")
        e1.close()
        e2.close()


bh.run(main)
