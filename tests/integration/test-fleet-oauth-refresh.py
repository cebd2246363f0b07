"""One refresh per login across a fleet: three airlock nodes on a PostgreSQL
of the test's own share an adopted Claude login (single-use refresh
tokens, the fake token endpoint counts reuses).
1. The login is adopted on node 1 already expired; while node 1 refreshes
   (the token endpoint takes 0.5 s; asks are held up to 1.5 s), 50
   concurrent headers asks spread over the three nodes' IPC doors are all
   answered with the one new token: exactly one refresh at the fake, no
   reuse. Nodes 2 and 3 waited for
   node 1's commit instead of refreshing (the lease).
2. Its refreshed token is due again 2 s later on every node at once (the
   timers of the three nodes fire together): still exactly one more
   refresh, no reuse, and every node serves the newest token.
3. Upstream 401s reported on nodes 2 and 3 at once: one forced refresh.
Negative twin of the lease: the fake counts a reuse whenever two nodes
spend the same refresh token, and the test requires zero."""
import json
import os
import tempfile
import threading
import time

import airlock_harness as h
import fake_providers as fpmod
import pgtest


def ipc(node):
    return os.path.join(node.state_dir, "ipc.sock")


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-oauth-")
    with pgtest.Postgres() as pg, fpmod.open_or_skip(os.path.join(tmp, "fp")) as fp:
        uri = pg.create_db("fleet")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 3, tmp, extra=fp.airlock_flags())
            fp.delay("claude", 0.5)
            # the refreshed token is due again (10 min lead) 2 s after it is minted
            fp.set_expires_in("claude", 602)
            f = fp.login_claude(expires_in=0)
            old = f["claudeAiOauth"]["accessToken"]
            askers = [fpmod.Asker(ipc(n)) for n in nodes]
            st, _ = nodes[0].api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                               "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt on node 1")
            for n in nodes[1:]:
                h.wait_for(lambda: any(s["name"] == "c" for s in n.api("GET", "/proxy/v1/secrets")[1]),
                           timeout=2.0, what="the secret reaches every node")
            ids = []
            for i in range(50):
                a = askers[i % 3]
                ids.append((a, a.ask_async("c", "api.anthropic.com")))
            got = {}
            lock = threading.Lock()

            def collect(a, n):
                ans = a.answers(n, timeout=15)
                with lock:
                    got[a] = ans
            ts = [threading.Thread(target=collect, args=(a, sum(1 for x, _ in ids if x is a)))
                  for a in askers]
            for t in ts:
                t.start()
            for t in ts:
                t.join(20)
            toks = set()
            for a, i in ids:
                ans = got[a][i]
                h.check("error" not in ans, "ask answered with headers, got %r" % ans.get("error"))
                toks.add(fpmod.hdrs(ans).get("authorization"))
            h.check_eq(len(toks), 1, "all 50 asks on three nodes got the same token")
            h.check("Bearer " + old not in toks, "nobody got the expired token")
            h.check_eq(fp.stats("claude")["refreshes"], 1, "exactly one refresh fleet-wide")
            h.check_eq(fp.stats("claude")["reuses"], 0, "no refresh token spent twice")

            # the next one is due on all three nodes at the same second
            fp.set_expires_in("claude", 3600)
            h.wait_for(lambda: fp.stats("claude")["refreshes"] >= 2, timeout=15,
                       what="the timed refresh")
            time.sleep(3)   # the other nodes' timers have fired too
            fp.quiesce()
            h.check_eq(fp.stats("claude")["refreshes"], 2, "one timed refresh fleet-wide")
            h.check_eq(fp.stats("claude")["reuses"], 0, "still no reuse")
            newest = set()
            for a in askers:
                ans = a.ask("c", "api.anthropic.com")
                h.check("error" not in ans, "answered: %r" % ans.get("error"))
                newest.add(fpmod.hdrs(ans).get("authorization"))
            h.check_eq(len(newest), 1, "every node serves the newest token")
            h.check(newest != toks, "the newest token is the second refresh's")

            # upstream refuses the token on nodes 2 and 3 at once: one forced
            # refresh fleet-wide, and every node serves its token
            askers[1].upstream_401("c", "api.anthropic.com")
            askers[2].upstream_401("c", "api.anthropic.com")
            h.wait_for(lambda: fp.stats("claude")["refreshes"] >= 3, timeout=15,
                       what="the forced refresh")
            time.sleep(2.5)
            fp.quiesce()
            h.check_eq(fp.stats("claude")["refreshes"], 3, "one forced refresh for two 401s on two nodes")
            h.check_eq(fp.stats("claude")["reuses"], 0, "no reuse after the forced refresh")
            forced = set()
            for a in askers:
                ans = a.ask("c", "api.anthropic.com")
                h.check("error" not in ans, "answered: %r" % ans.get("error"))
                forced.add(fpmod.hdrs(ans).get("authorization"))
            h.check(len(forced) == 1 and forced != newest, "every node serves the forced refresh's token")
            for a in askers:
                a.close()
            for n in nodes:
                n.check_alive()
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
