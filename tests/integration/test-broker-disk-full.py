#!/usr/bin/env python3
"""The state directory's filesystem full while the API writes: each write
is refused with a clear error ("no space left on device", never a bare
"input/output error"), the state on disk stays whole and unchanged, the
broker keeps serving, and writes work again once there is room.

The state dir is a 1 MiB tmpfs the test mounts (root only: skipped
elsewhere, with the reason)."""

import json
import os
import subprocess
import tempfile

import broker_harness as bh


def main():
    if os.geteuid() != 0:
        bh.skip("needs root to mount a small tmpfs as the state dir")
    tmp = tempfile.mkdtemp(prefix="airlock-broker-test-")
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", state],
                       capture_output=True, text=True)
    if p.returncode != 0:
        bh.skip("cannot mount a tmpfs here: %s" % p.stderr.strip())
    b = None
    try:
        b = bh.Broker(tmpdir=tmp)
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        path = os.path.join(state, "state.json")
        before = open(path, "rb").read()
        # fill the filesystem, leaving no room for another state.json
        with open(os.path.join(state, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        for i in range(3):
            st, body = b.api("POST", "/proxy/v1/clients", {"name": "full-%d" % i})
            bh.check_eq(st, 500, "a write on a full disk is refused")
            msg = json.dumps(body)
            bh.check("no space left on device" in msg, "the reason is said: %s" % msg)
        after = open(path, "rb").read()
        bh.check_eq(after, before, "state.json unchanged")
        bh.check(len(json.loads(after)["clients"]) == 1, "state.json whole")
        bh.check_eq(sorted(n for n in os.listdir(state) if n.startswith("state.json.tmp")), [],
                    "no temp file left behind")
        st, body = b.api("GET", "/proxy/v1/clients")
        bh.check_eq(st, 200, "reads still served")
        os.unlink(os.path.join(state, "filler"))
        b.must(201, "POST", "/proxy/v1/clients", {"name": "after"})
        b.check_alive()
        b.stop()
        b = None
    finally:
        if b:
            b.close()
        subprocess.run(["umount", "-l", state])
        subprocess.run(["rm", "-rf", tmp])


bh.run(main)
