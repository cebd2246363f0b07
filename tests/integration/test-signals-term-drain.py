#!/usr/bin/env python3
"""SIGTERM drains: a request under way when airlock is told to stop gets
its whole answer, then both daemons exit 0 and leave no api.sock,
ipc.sock or enforcer.pid, and the enforcer logs no "broker not reachable"
on the way down. Negative twin: a request that outlasts --drain-timeout is
cut when it runs out, so the stop stays bounded."""

import os
import socket
import threading
import time

import airlock_harness as h
import origins
import proxytest as pt


def fetch(port, tok, origin_port, path, out):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(("GET http://origin.test:%d%s HTTP/1.1\r\nHost: origin.test:%d\r\n"
                   "Proxy-Authorization: %s\r\nConnection: close\r\n\r\n"
                   % (origin_port, path, origin_port, pt.basic(tok))).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        out.append(data)
    except OSError as e:
        out.append(e)


def one(drain_flags, path, want_whole):
    with origins.HTTPOrigin() as o:
        al = h.Airlock(extra_flags=pt.pins("origin.test", o.port) + drain_flags)
        try:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            out = []
            t = threading.Thread(target=fetch, args=(al.http_port, tok, o.port, path, out))
            t.start()
            h.wait_for(lambda: len(o.requests) >= 1, timeout=10, what="the request at the origin")
            t0 = time.monotonic()
            al.stop()  # SIGTERM; asserts exit 0, api.sock gone, no sanitizer report
            took = time.monotonic() - t0
            t.join(30)
            h.log("%s: stop took %.2fs" % (path, took))
            for name in ("api.sock", "ipc.sock", "enforcer.pid"):
                h.check(not os.path.exists(os.path.join(al.state_dir, name)), name + " left")
            h.check("broker not reachable" not in al.log_text(), "spurious warning on a clean stop")
            got = out[0] if out else None
            if want_whole:
                h.check(isinstance(got, bytes) and got.startswith(b"HTTP/1.1 200")
                        and got.endswith(b"slow"), "the answer under way: %r" % (got,))
                h.check(took >= 0.5, "stopped before the request could finish (%.2fs)" % took)
            else:
                h.check(not (isinstance(got, bytes) and got.endswith(b"slow")),
                        "a request longer than the drain finished: %r" % (got,))
                h.check(took < 8, "stop took %.1fs with a 1s drain" % took)
        finally:
            al.close()


def main():
    h.require_binaries("airlock-enforcer")
    one([], "/slow/1500", True)
    one(["--drain-timeout", "1s"], "/slow/20000", False)


h.run(main)
