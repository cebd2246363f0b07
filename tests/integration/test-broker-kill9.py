#!/usr/bin/env python3
"""kill -9 of the broker at random moments during 200 rapid changes always
leaves a state that loads: the broker restarts on it every time, and what it
shows is the old or the new state (every change answered before the kill is
there). Negative twin: a torn state.json is refused at start (see
test-broker-torn-state.py); here none ever appears."""

import json
import os
import random
import threading

import broker_harness as bh

CHANGES = 200


def main():
    rng = random.Random(os.environ.get("AIRLOCK_TEST_SEED") or None)
    b = bh.Broker()
    try:
        # before any kill: the listing after each restart needs the client
        b.must(201, "POST", "/proxy/v1/clients", {"name": "web"})
        acked = set()      # hosts whose allow was answered 201
        done = 0
        kills = 0
        max_delay = 0.2
        while done < CHANGES:
            # kill somewhere in the next few requests, from another thread,
            # so the moment can land inside a write
            delay = rng.uniform(0.01, max_delay)
            timer = threading.Timer(delay, b.kill)
            before = done
            timer.start()
            try:
                while done < CHANGES:
                    host = "h%d.example" % done
                    if done % 10 == 0:
                        b.api("POST", "/proxy/v1/clients", {"name": "c%d" % done})
                    st, _ = b.api("POST", "/proxy/v1/allows",
                                  {"client": "web", "host": host}, timeout=5.0)
                    bh.check(st in (201, 409), "allow answered %s" % st)
                    acked.add(host)
                    done += 1
            except (OSError, bh.TestFailure):
                pass  # the broker died under us: that is the point
            timer.join()
            # a slow machine (sanitizers, load) may answer nothing within
            # the delay: widen it until rounds make progress again
            max_delay = 0.2 if done > before else min(max_delay * 2, 5.0)
            b.kill()
            kills += 1
            with open(os.path.join(b.state_dir, "state.json"), "rb") as f:
                json.loads(f.read())   # parses: never torn
            b.start()                 # loads, or this raises
            hosts = {r["host"] for r in
                     b.must(200, "GET", "/proxy/v1/clients/web")}
            missing = acked - hosts
            bh.check(not missing, "answered changes lost after kill -9: %r" % sorted(missing)[:5])
        bh.log("%d changes, %d kills, %d rules" % (done, kills, len(acked)))
        bh.check(kills >= 3, "killed only %d times" % kills)
        leftovers = [f for f in os.listdir(b.state_dir) if f not in
                     ("state.json", "seal.key", "ca.pem", "ca.key", "api.sock", "ipc.sock")]
        bh.check_eq(leftovers, [], "files other than the state after restarts")
        b.stop()
    finally:
        b.close()


bh.run(main)
