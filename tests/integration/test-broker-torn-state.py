#!/usr/bin/env python3
"""The broker never starts empty over a state it cannot read: a torn
state.json (cut at any byte), one that is not JSON, one with an unknown
field or a broken invariant, or a seal key that does not open the stored
secrets makes it exit 1 with a one-line reason, leaving the file as it
was. Negative twin: the intact file loads and shows everything."""

import os
import shutil

import broker_harness as bh


def refuses(b, words):
    p = b.spawn()
    try:
        rc = p.wait(20)
    except Exception:
        b.kill()
        raise bh.TestFailure("broker started over a bad state")
    bh.check_eq(rc, 1, "exit status over a bad state")
    err = b.log_text().strip().splitlines()[-1]
    for w in words:
        bh.check(w in err, "reason %r does not mention %r" % (err, w))
    bh.check(not os.path.exists(b.api_socket), "no API served")


def main():
    b = bh.Broker()
    try:
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "s", "host": "a.example", "value": "v"})
        b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "a.example",
                                                  "secret": "s"})
        b.stop()
        path = os.path.join(b.state_dir, "state.json")
        good = open(path, "rb").read()

        bad_states = [("torn at %d" % n, good[:n], ["state.json", "not valid JSON"])
                      for n in (0, 1, len(good) // 3, len(good) // 2, len(good) - 3)]
        bad_states += [
            ("not JSON", b"\x00\x01garbage", ["not valid JSON"]),
            ("unknown field", good.replace(b'"next_id"', b'"colour": 1, "next_id"', 1),
             ["colour"]),
            ("future format", good.replace(b'"format": 2', b'"format": 3', 1), ["format"]),
            ("id above next_id", good.replace(b'"next_id": 2', b'"next_id": 1', 1), ["id"]),
            ("rule of no client", good.replace(b'"client": "web-1"', b'"client": "ghost"', 1),
             ["client"]),
        ]
        for what, data, words in bad_states:
            with open(path, "wb") as f:
                f.write(data)
            refuses(b, words)
            bh.check(open(path, "rb").read() == data, "%s: the file was changed" % what)
            bh.log("refused: %s" % what)

        # a seal key that does not open the stored secrets
        with open(path, "wb") as f:
            f.write(good)
        other_key = os.path.join(b.tmpdir, "other.key")
        shutil.copy(os.path.join(b.state_dir, "seal.key"), other_key)
        with open(other_key, "w") as f:
            f.write("ab" * 32 + "\n")
        os.chmod(other_key, 0o600)
        b.flags = ["--seal-key-file", other_key]
        refuses(b, ["seal key", "key check", "wrong seal key"])

        # negative twin: the intact file loads
        b.flags = []
        b.start()
        rules = b.must(200, "GET", "/proxy/v1/clients/web-1")
        bh.check_eq([r["host"] for r in rules], ["a.example"], "intact state loads")
        b.stop()
    finally:
        b.close()


bh.run(main)
