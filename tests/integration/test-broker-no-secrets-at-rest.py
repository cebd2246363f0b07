#!/usr/bin/env python3
"""No secret value and no client token is ever written where it could be
read back: not in the state dir's files (values are sealed, tokens hashed),
not in any listing, not in the broker's log (even with --debug, even after
a headers answer carried the value to an enforcer). Everything in the state
dir is owner-only: files 0600, the dir 0700, sockets 0600. Negative twin:
the value does reach the IPC headers answer (the one place it may go)."""

import json
import os
import stat

import broker_harness as bh

VALUE = "sk-very-secret-value-0123456789"
BASIC = "deploy:hunter2-secret-pass"


def main():
    with bh.Broker(flags=["--debug"]) as b:
        tok = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})["token"]
        own = "my-own-client-token-abcdefghijkl"
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-2", "token": own})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "api", "host": "api.example.com",
                                                   "value": VALUE})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "reg", "host": "*.registry.example",
                                                   "type": "basic", "value": BASIC})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "api.example.com",
                                                  "secret": "api"})
        b.must(409, "POST", "/proxy/v1/secrets", {"name": "api", "host": "api.example.com",
                                                   "value": VALUE})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "api", "host": "api.example.com",
                                                   "value": VALUE, "force": True})

        ipc = bh.IpcClient(b.ipc_socket)
        ipc.hello()
        ipc.send({"type": "headers", "id": 1, "secret": "api", "host": "api.example.com"})
        ans = ipc.recv()
        bh.check_eq(ans["headers"], [["Authorization", "Bearer " + VALUE]], "the twin")
        ipc.close()

        listings = json.dumps([b.must(200, "GET", p) for p in
                               ("/proxy/v1/clients", "/proxy/v1/clients/web-1",
                                "/proxy/v1/clients/web-2", "/proxy/v1/secrets",
                                "/proxy/v1/status")])
        b.stop()   # flush everything to the log
        log_text = b.log_text()
        for what, needle in (("value", VALUE), ("basic value", BASIC), ("basic password", "hunter2"),
                             ("token", tok), ("own token", own)):
            hits = bh.files_containing(b.state_dir, needle)
            bh.check(not hits, "%s found in %r" % (what, hits))
            bh.check(needle not in listings, "%s in a listing" % what)
            bh.check(needle not in log_text, "%s in the broker log" % what)

        st = os.stat(b.state_dir)
        bh.check_eq(stat.S_IMODE(st.st_mode), 0o700, "state dir mode")
        names = sorted(os.listdir(b.state_dir))
        bh.check({"state.json", "seal.key", "ca.pem", "ca.key"} <= set(names),
                 "state dir holds %r" % names)
        for n in names:
            m = stat.S_IMODE(os.stat(os.path.join(b.state_dir, n)).st_mode)
            bh.check(m & 0o077 == 0, "%s is open to group/others (%o)" % (n, m))
            bh.check_eq(m, 0o600, "%s mode" % n)

        # sockets, while running
        b.start()
        for n in ("api.sock", "ipc.sock"):
            m = stat.S_IMODE(os.stat(os.path.join(b.state_dir, n)).st_mode)
            bh.check_eq(m, 0o600, "%s mode" % n)


bh.run(main)
