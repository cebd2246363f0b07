#!/usr/bin/env python3
"""--keyring without a reachable Secret Service (or a build without
libsecret) is a clear one-line error and exit 1, never a silent fallback to
another key. Negative twin: the same state dir starts with the default
seal-key file. Skipped where a keyring really answers."""

import os

import broker_harness as bh


def main():
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        bh.skip("a D-Bus session bus is set: a keyring may answer here")
    b = bh.Broker(start=False, flags=["--keyring"])
    try:
        p = b.spawn()
        rc = p.wait(20)
        bh.check_eq(rc, 1, "exit status")
        err = b.log_text().strip().splitlines()[-1]
        bh.check("keyring" in err and "not available" in err, "reason: %r" % err)
        bh.check(not os.path.exists(os.path.join(b.state_dir, "seal.key")),
                 "no seal.key made behind the user's back")
        bh.check(not os.path.exists(b.api_socket), "no API served")
        b.flags = []
        b.start()
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        b.stop()
    finally:
        b.close()


bh.run(main)
