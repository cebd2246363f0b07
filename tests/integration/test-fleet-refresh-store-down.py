"""A refresh whose commit finds the fleet store gone: two airlock nodes on a
PostgreSQL of the test's own share an adopted Claude login (single-use
refresh tokens). The store is stopped while the lease holder's refresh is
at the fake token endpoint, so the holder receives the rotated credential
and cannot commit it; the store stays gone 15 s, then starts again.

- the holder keeps the rotated credential and commits it within 5 s of the
  store's return (it kept its lease across the lost connection: the
  fencing generation, not a new session, decides whether it may write),
  well before its 60 s lease would have run out;
- the other node then serves the new access token;
- a refresh forced afterwards (an upstream 401 on the other node) is
  accepted: no refresh token was spent twice and the login is not lost.
No token value is printed."""
import json
import os
import tempfile
import time

import airlock_harness as h
import fake_providers as fpmod
import pgtest

DOWN_S = 15


def ipc(node):
    return os.path.join(node.state_dir, "ipc.sock")


def stored_sealed(pg):
    return pg.psql("fleet", "SELECT rec->>'sealed' FROM airlock_secrets WHERE name = 'c'")


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-rsd-")
    with pgtest.Postgres() as pg, fpmod.open_or_skip(os.path.join(tmp, "fp")) as fp:
        uri = pg.create_db("fleet")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 2, tmp, extra=fp.airlock_flags())
            n1, n2 = nodes
            fp.set_expires_in("claude", 3600)
            # the token endpoint answers 3 s after a refresh arrives; the
            # adopted login has expired, so a refresh starts at once
            fp.delay("claude", 3.0)
            f = fp.login_claude(expires_in=0)
            st, _ = n1.api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                         "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt on node 1")
            h.wait_for(lambda: any(s["name"] == "c" for s in n2.api("GET", "/proxy/v1/secrets")[1]),
                       timeout=2.0, what="the secret reaches node 2")
            before = stored_sealed(pg)
            a1 = fpmod.Asker(ipc(n1))
            a1.ask_async("c", "api.anthropic.com")
            # the lease is taken just before the request leaves for the fake
            owner = ""
            deadline = time.monotonic() + 10
            while not owner and time.monotonic() < deadline:
                owner = pg.psql("fleet", "SELECT coalesce(lease_owner, '') FROM airlock_secrets "
                                "WHERE name = 'c'")
            holder = next((n for n in nodes if ":%d:" % n.proc.pid in owner), None)
            h.check(holder is not None, "a node holds the refresh lease: %r, pids %r"
                    % (owner, [n.proc.pid for n in nodes]))
            other = n2 if holder is n1 else n1
            pg.stop()
            down_at = time.monotonic()
            h.wait_for(lambda: fp.stats("claude")["refreshes"] >= 1, timeout=10,
                       what="the fake rotates the token (the holder cannot commit it)")
            fp.quiesce()
            fp.delay("claude", 0)
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
            pg.start()
            back_at = time.monotonic()
            h.wait_for(lambda: stored_sealed(pg) != before, timeout=5,
                       what="the holder commits the rotated credential soon after the store is back")
            print("store down %.1f s; rotated credential committed %.1f s after its return"
                  % (back_at - down_at, time.monotonic() - back_at))
            h.check("refreshed OAuth credential saved" in holder.log_text(),
                    "the holder says it saved the credential it kept")

            minted = fp.token_calls("claude")[-1]
            h.check_eq(fp.stats("claude")["refreshes"], 1, "one refresh so far")
            a2 = fpmod.Asker(ipc(other))
            h.wait_for(lambda: "error" not in a2.ask("c", "api.anthropic.com"), timeout=5,
                       what="the other node serves the new credential")
            tok = fpmod.hdrs(a2.ask("c", "api.anthropic.com"))["authorization"]
            h.check(fp.live_access("claude", tok), "the other node injects a live access token")

            a2.upstream_401("c", "api.anthropic.com")
            h.wait_for(lambda: fp.stats("claude")["refreshes"] >= 2, timeout=15,
                       what="the forced refresh is accepted")
            fp.quiesce()
            st = fp.stats("claude")
            h.check_eq(st["reuses"], 0, "no refresh token was spent twice")
            h.check(minted is not None, "the fake saw the refresh")
            a1.close()
            a2.close()
            for n in nodes:
                n.check_alive()
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
