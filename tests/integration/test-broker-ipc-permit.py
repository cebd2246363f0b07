#!/usr/bin/env python3
"""The broker's dispatch table says, per message, whether it may come before
hello and more than once (OpenSSH's MON_PERMIT / MON_ONCE), and every frame
is checked against its table in common/ipc.c. After hello, asks and
upstream-401 notes pass (on a policy connection and on an asks_only one).
Negative twins, each closing the connection while the broker keeps
serving the others: an ask or a note before hello, a second hello, a hello
or an ask or a note with an unknown field, a missing field, a wrong type,
a string over its cap, a NUL byte, a message only the broker sends."""

import os

import broker_harness as bh


def closed(b, msgs, what):
    """Send msgs on a fresh connection: the broker must close it, unanswered."""
    x = bh.IpcClient(b.ipc_socket)
    for m in msgs:
        x.send(m)
    try:
        while True:
            got = x.recv(timeout=3.0)
            # the hello of a sequence is answered with a policy; nothing else is
            if got.get("type") != "policy":
                bh.fail("%s answered instead of closing: %r" % (what, got))
    except (EOFError, ConnectionResetError):
        pass
    x.close()
    b.check_alive()


def main():
    with bh.Broker() as b:
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gh", "host": "api.github.com", "value": "ghp_p"})
        hello = {"type": "hello", "proto": 2, "pid": os.getpid()}
        ask = {"type": "headers", "secret": "gh", "host": "api.github.com", "id": 1}

        # after hello: asks and notes pass, on both kinds of connection
        e = bh.IpcClient(b.ipc_socket)
        e.hello()
        e.send({"type": "upstream-401", "secret": "gh", "host": "api.github.com"})
        e.send(ask)
        bh.check_eq(e.recv()["headers"], [["Authorization", "Bearer ghp_p"]], "an ask after hello")
        w = bh.IpcClient(b.ipc_socket)
        w.send(dict(hello, asks_only=True))
        w.send(dict(ask, id=2))
        a = w.recv()
        bh.check_eq((a["type"], a["id"]), ("headers", 2), "an asks_only link gets answers, no policy")
        w.send({"type": "shim", "client": "nobody", "host": "platform.claude.com", "path": "/v1/oauth/token",
                "method": "POST", "id": 3})
        bh.check_eq(w.recv().get("error"), "no-shim", "a shim ask on it")

        # before hello: refused
        closed(b, [ask], "an ask before hello")
        closed(b, [{"type": "upstream-401", "secret": "gh", "host": "api.github.com"}], "a note before hello")
        closed(b, [{"type": "shim", "client": "c", "host": "h", "path": "/", "method": "POST", "id": 1}],
               "a shim ask before hello")
        # once only
        closed(b, [hello, hello], "a second hello")
        closed(b, [dict(hello, asks_only=True), dict(hello, asks_only=True)], "a second asks_only hello")
        # the tables
        closed(b, [dict(hello, colour="red")], "a hello with an unknown field")
        closed(b, [{"type": "hello", "proto": 2}], "a hello without pid")
        closed(b, [dict(hello, asks_only="yes")], "asks_only not a boolean")
        closed(b, [hello, dict(ask, extra=1)], "an ask with an unknown field")
        closed(b, [hello, dict(ask, id=0)], "an ask with id 0")
        closed(b, [hello, dict(ask, secret="x" * 65)], "a secret name over its cap")
        closed(b, [hello, dict(ask, host="a\u0000.example")], "a NUL in a host")
        closed(b, [hello, {"type": "upstream-401", "secret": "gh"}], "a note without host")
        closed(b, [hello, {"type": "upstream-401", "secret": "gh", "host": 7}], "a note with a numeric host")
        closed(b, [hello, {"type": "upstream-401", "secret": "gh", "host": "h", "id": 1}], "a note with an id")
        closed(b, [hello, {"type": "policy", "version": 1, "clients": []}], "a policy from an enforcer")
        closed(b, [hello, {"type": "headers", "id": 1, "error": "x", "message": "m"}], "an answer from an enforcer")

        # the good connections are unaffected
        e.send(dict(ask, id=4))
        bh.check_eq(e.recv()["id"], 4, "the first connection still answered")
        w.send(dict(ask, id=5))
        bh.check_eq(w.recv()["id"], 5, "the asks_only one too")
        e.close()
        w.close()
        text = b.log_text()
        bh.check("before hello" in text and "only once" in text, "the refusals say why")
        bh.check("ghp_p" not in text, "no secret value in the log")


bh.run(main)
