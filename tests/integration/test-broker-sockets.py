#!/usr/bin/env python3
"""The sockets belong to one broker: --banner prints where things are and
"airlock is up" once api.sock answers; a second broker on the same state
dir is refused (exit 1) while the first keeps serving; after kill -9 the
stale api.sock/ipc.sock are replaced on the next start; SIGINT stops cleanly
(exit 0, both sockets removed)."""

import os
import signal

import broker_harness as bh


def main():
    b = bh.Broker(start=False, flags=["--banner", "--bind", "127.0.0.2", "--http-port", "8080",
                                      "--https-port", "8443", "--mode", "audit"])
    try:
        b.start()
        bh.wait_for(lambda: "airlock is up" in open(b.out_path).read(), timeout=5,
                    what="banner")
        out = open(b.out_path).read()
        for want in (b.api_socket, os.path.join(b.state_dir, "ca.pem"),
                     "http://127.0.0.2:8080", "https://127.0.0.2:8443", "audit"):
            bh.check(want in out, "banner lacks %r:\n%s" % (want, out))
        bh.check_eq(out.strip().splitlines()[-1], "airlock is up", "last banner line")
        st = b.must(200, "GET", "/proxy/v1/status")
        bh.check_eq((st["http_proxy"], st["https_proxy"], st["mode"]),
                    ("http://127.0.0.2:8080", "https://127.0.0.2:8443", "audit"), "status")

        # a second broker on the same state dir is refused
        second = bh.Broker(tmpdir=b.tmpdir, start=False)
        second.err_path = os.path.join(b.tmpdir, "second.err")
        p = second.spawn()
        bh.check_eq(p.wait(20), 1, "second broker exit status")
        bh.check("in use" in second.log_text(), "reason: %r" % second.log_text()[-300:])
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})

        # kill -9 leaves the sockets; the next start replaces them
        b.kill()
        bh.check(os.path.exists(b.api_socket), "kill -9 leaves api.sock behind")
        b.flags = []
        b.start()
        b.must(200, "GET", "/proxy/v1/clients/web-1")
        ipc = bh.IpcClient(b.ipc_socket)
        ipc.hello()
        ipc.close()

        b.stop(sig=signal.SIGINT)   # checks exit 0 and both sockets gone
    finally:
        b.close()


bh.run(main)
