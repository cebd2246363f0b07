#!/usr/bin/env python3
"""kill -9 during refreshes never loses a login through the broker's own
ordering. The fake rotates Claude refresh tokens (single use) and makes each
new access token due at once, so the broker refreshes in a loop; it is
killed with SIGKILL at random instants and restarted until 100 refreshes
have happened. After each restart the broker's first refresh must use the
token the fake issued last, unless the kill fell in the one window no client
can close: after the provider rotated the token and before the broker's
atomic state write (state.json's mtime is older than the provider's answer).
A reuse outside that window fails the test, as does any reuse by a broker
that was not just restarted; losses inside it are counted, re-adopted and
reported. (The loop refreshes back to back, so a kill nearly always lands
while a refresh is at the provider: the window is wide here; at one refresh
every few hours it is ~0.1 s in hours.)"""

import json
import os
import random
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod

TARGET = 100


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-kill9-")
    with fpmod.open_or_skip(tmp) as fp:
        b = bh.Broker(flags=fp.airlock_flags())
        try:
            run_kills(fp, b)
        except BaseException:
            print("--- broker log ---\n" + b.log_tail(40), flush=True)
            raise
        finally:
            b.close()


def run_kills(fp, b):
    if True:
        state = os.path.join(b.state_dir, "state.json")
        fp.set_expires_in("claude", 600)     # = Claude's lead: due again at once
        fp.delay("claude", 0.02)
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(fp.login_claude(expires_in=0))})
        kills = inherent = 0
        rnd = random.Random(os.getpid())
        deadline = time.monotonic() + 240
        running_reuses = fp.stats("claude")["reuses"]
        while fp.stats("claude")["refreshes"] < TARGET:
            bh.check(time.monotonic() < deadline, "100 refreshes within 240 s")
            time.sleep(rnd.uniform(0.0, 0.25))
            bh.check_eq(fp.stats("claude")["reuses"], running_reuses,
                        "a running broker never reuses a refresh token")
            b.kill()
            kills += 1
            mtime = os.stat(state).st_mtime
            # a request the dead broker sent may still be rotating at the fake
            fp.quiesce()
            with fp.lock:
                ok = [r["done"] for r in fp.requests if r["path"] == "/v1/oauth/token" and r["status"] == 200]
            last_answer = ok[-1] if ok else 0
            before = fp.stats("claude")
            b.start()
            # the restarted broker refreshes at once (the token is due)
            bh.wait_for(lambda: (fp.stats("claude")["refreshes"] > before["refreshes"]
                                 or fp.stats("claude")["reuses"] > before["reuses"]), 20,
                        what="a refresh after restart %d" % kills)
            if fp.stats("claude")["reuses"] > before["reuses"]:
                # lost: only acceptable inside the provider-rotated-but-not-saved window
                bh.check(mtime < last_answer,
                         "kill %d: the broker reused a spent refresh token although its "
                         "state (mtime %.6f) was written after the last rotation (%.6f)"
                         % (kills, mtime, last_answer))
                inherent += 1
                bh.wait_for(lambda: "relogin-required" in json.dumps(b.must(200, "GET", "/proxy/v1/secrets")),
                            10, what="relogin-required after the loss")
                b.must(201, "POST", "/proxy/v1/secrets", {
                    "name": "c", "type": "oauth-claude", "force": True,
                    "value": json.dumps(fp.login_claude(expires_in=0))})
            running_reuses = fp.stats("claude")["reuses"]
        b.kill()
        # finally: a clean stop and start keeps the login
        fp.set_expires_in("claude", 8 * 3600)
        b.start()
        bh.wait_for(lambda: '"status": "ok"' in json.dumps(b.must(200, "GET", "/proxy/v1/secrets")), 20,
                    what="ok at the end")
        b.stop()
        st = fp.stats("claude")
        print("kills=%d refreshes=%d reuses=%d (all inside the rotate-to-fsync window: %d)"
              % (kills, st["refreshes"], st["reuses"], inherent), flush=True)
        bh.check_eq(st["reuses"], inherent, "every reuse was an unavoidable one")


bh.run(main)
