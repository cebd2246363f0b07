"""The refresh lease under kill -9: three airlock nodes on a PostgreSQL of
the test's own share an adopted Claude login whose access token is due one
second after each refresh (single-use refresh tokens, rotated on every
refresh by the fake token endpoint, which remembers every token it spent).
The nodes' timers drive refreshes back to back for up to 75 s (at most 100);
then new tokens are long-lived, and the test waits for the one refresh still
due (recovering the loss the last kill may have caused) before it checks.
At random refreshes the test finds the node holding the lease (its pid in
airlock_secrets.lease_owner) when the request reaches the fake and kill -9s
that node's whole process group at a random point: before the fake answers,
right after, or shortly after (never late: a point already passed is not
taken); the node is started again on its state dir.
A killed holder's lease would run out after 60 s: the test ends that dead
node's lease in the store at once (only when its owner is the dead pid), so
a takeover happens within the test's time.

A kill after the fake received the refresh and before the node committed
the rotation loses that rotation: the fake has spent the refresh token the
store still holds, and no client can learn the token the dead node was
given. The first kill always lands there (before the fake answers); later
ones land anywhere. Each such loss must be told and bounded: the node that
takes over the dead holder's lease presents the spent token once, gets
invalid_grant, and every node then lists the secret relogin-required with
the reason "rotation lost: ..." (not a generic refusal); the spent token is
presented once more (again only when the node that got the refusal was
itself killed before recording it: then the next holder tries once and
records it); a new login adopted on any node (force) ends the loss and the
driving goes on.

At the end:
- the login is not lost: every node still injects, a forced refresh (an
  upstream 401) succeeds at the fake, and the credential the nodes then
  serve is the newest the fake minted (its refresh token is live);
- a refresh token spent twice is only allowed when the first spend's node
  was killed after that spend reached the fake and its rotated token was
  never used afterwards (a lost rotation); any other reuse fails the test;
- at least one lost rotation was seen, told and recovered.
No token value is printed."""
import json
import os
import random
import signal
import tempfile
import threading
import time

import airlock_harness as h
import fake_providers as fpmod
import pgtest

DELAY = 0.3          # the fake answers a refresh this long after it arrives
BUDGET_S = 75.0      # time for the refresh/kill loop
MAX_REFRESHES = 100
KILL_P = 0.3         # share of refreshes whose holder is killed
FORCED_BEFORE_ANSWER = 0   # this kill (0-based) always lands before the fake answers


def ipc(node):
    return os.path.join(node.state_dir, "ipc.sock")


class Spends:
    """Every refresh request the fake saw: (index, arrival, answer time,
    presented token, status, rotated token). Tokens stay in memory only."""

    def __init__(self, fp):
        self.fp = fp
        self.list = []
        self.arrived = threading.Condition()
        self.narrived = 0
        orig = fp.token_claude

        def hooked(form):
            # called with fp.lock held: the delay runs without it, so a
            # kill can land while the fake has not answered yet
            rec = {"t": time.monotonic(), "rt": form.get("refresh_token", "")}
            with self.arrived:
                self.list.append(rec)
                self.narrived += 1
                self.arrived.notify_all()
            fp.lock.release()
            try:
                time.sleep(DELAY)
            finally:
                fp.lock.acquire()
            st, body, hdrs = orig(form)
            rec["answered"] = time.monotonic()
            rec["status"] = st
            rec["new_rt"] = body.get("refresh_token") if st == 200 else None
            rec["new_at"] = body.get("access_token") if st == 200 else None
            return st, body, hdrs
        fp.token_claude = hooked


def lease_owner_pid(pg):
    own = pg.psql("fleet", "SELECT coalesce(lease_owner, '') FROM airlock_secrets WHERE name = 'c'")
    parts = own.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1]), own
    return None, own


def kill_node(n):
    try:
        os.killpg(n.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    n.proc.wait(10)


def secret_status(node):
    for s in node.api("GET", "/proxy/v1/secrets")[1]:
        if s["name"] == "c":
            return s.get("status", "ok"), s.get("status_reason", "")
    return None, None


def refused(x):
    return x.get("status", 200) != 200 and not x.get("recovered")


def recover(rnd, nodes, spends, fp, kills, losses):
    """A refresh was refused: it must be a lost rotation, told as such on
    every node, with the spent token presented once. A new login adopted
    on a live node ends it; returns an asker that starts its refresh."""
    # the refusals handled here; one arriving later gets its own pass
    handled = [x for x in spends.list if refused(x)]
    bad = spends.list.index(handled[0])
    rt = spends.list[bad]["rt"]
    first = next(i for i, x in enumerate(spends.list) if x["rt"] == rt and x.get("status") == 200)
    h.check(any(spends.list[first]["t"] <= k[0] <= spends.list[bad]["t"] for k in kills),
            "a refused refresh token was spent before by a refresh, and a node was killed in "
            "between")
    live = [n for n in nodes if n.proc is not None and n.proc.poll() is None]
    # the node that got the refusal may itself have been killed before it
    # recorded it: then the next holder (after the lease and, on a node
    # just restarted, its 10 s takeover grace) presents the token again
    for n in live:
        h.wait_for(lambda: secret_status(n)[0] == "relogin-required", timeout=25,
                   what="every node lists the login relogin-required")
        st, why = secret_status(n)
        h.check(why.startswith("rotation lost"), "the reason says the rotation was lost: %r" % why)
    # no node presents the spent token again
    time.sleep(3.0)
    refusals = [i for i, x in enumerate(spends.list) if x["rt"] == rt][1:]
    unrecorded = [i for i in refusals[:-1] if not any(k[2] == i for k in kills)]
    h.check_eq(unrecorded, [], "the spent refresh token was presented again only after the node "
               "that got its refusal was killed before recording it (presented %d times)"
               % (len(refusals) + 1))
    # one login can lose more than one rotation before the fleet records it
    # (a refused token's node killed, the next holder's token also lost)
    handled = [x for x in spends.list if refused(x)]
    losses.update(x["rt"] for x in handled)
    f = fp.login_claude(expires_in=0)
    n = rnd.choice(live)
    st, body = n.api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                   "value": json.dumps(f), "force": True})
    h.check_eq(st, 201, "a new login adopted with force: %r" % (body,))
    for m in live:
        h.wait_for(lambda: secret_status(m)[0] == "ok", timeout=5,
                   what="the new login reaches every node")
    # the refused entries are handled: mark them so the main loop goes on
    for x in handled:
        x["recovered"] = True
    a = fpmod.Asker(ipc(n))
    a.ask_async("c", "api.anthropic.com")
    return a


def main():
    pgtest.require()
    rnd = random.Random(int(os.environ.get("AIRLOCK_TEST_SEED", "0")) or None)
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-kill-")
    with pgtest.Postgres() as pg, fpmod.open_or_skip(os.path.join(tmp, "fp")) as fp:
        uri = pg.create_db("fleet")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 3, tmp, extra=fp.airlock_flags())
            spends = Spends(fp)
            # each refreshed token is due (10 min lead) one second after it is minted
            fp.set_expires_in("claude", 601)
            f = fp.login_claude(expires_in=0)
            st, _ = nodes[0].api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                               "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt on node 1")
            for n in nodes[1:]:
                h.wait_for(lambda: any(s["name"] == "c" for s in n.api("GET", "/proxy/v1/secrets")[1]),
                           timeout=2.0, what="the secret reaches every node")
            # one ask starts the first refresh (the token is expired)
            a = fpmod.Asker(ipc(nodes[0]))
            a.ask_async("c", "api.anthropic.com")
            kills = []          # (monotonic time, node index, spend index, point)
            losses = set()      # refresh tokens of the rotations lost with a node
            seen = 0
            t_end = time.monotonic() + BUDGET_S
            while time.monotonic() < t_end and seen < MAX_REFRESHES:
                if any(refused(x) for x in spends.list):
                    a.close()
                    a = recover(rnd, nodes, spends, fp, kills, losses)
                with spends.arrived:
                    if spends.narrived == seen:
                        spends.arrived.wait(min(1.0, max(0.1, t_end - time.monotonic())))
                    if spends.narrived == seen:
                        continue
                    seen = spends.narrived
                    idx = seen - 1
                if any(refused(x) for x in spends.list):
                    continue    # recovered at the top of the loop
                if rnd.random() >= KILL_P:
                    continue
                pid, owner = lease_owner_pid(pg)
                victim = next((i for i, n in enumerate(nodes) if n.proc and n.proc.pid == pid
                               and n.proc.poll() is None), None)
                if victim is None:
                    continue
                point = rnd.choice(["before-answer", "after-answer", "shortly-after"])
                if len(kills) == FORCED_BEFORE_ANSWER:
                    point = "before-answer"   # the window of docs/fleet.md, hit for sure
                wait = {"before-answer": rnd.uniform(0, DELAY * 0.9),
                        "after-answer": DELAY + rnd.uniform(0.0, 0.05),
                        "shortly-after": DELAY + rnd.uniform(0.05, 0.5)}[point]
                late = time.monotonic() - (spends.list[idx]["t"] + wait)
                if late > 0.05:
                    continue    # the loop was busy (a recovery): the point has passed
                time.sleep(max(0.0, -late))
                t_kill = time.monotonic()
                kill_node(nodes[victim])
                # the refresh in flight when the node died: the newest to arrive
                # before the kill (the victim's own, unless it had finished)
                at = max(i for i, x in enumerate(spends.list) if x["t"] <= t_kill)
                kills.append((t_kill, victim, at, point))
                # the dead node's lease would run out after 60 s: end it now
                pg.psql("fleet", "UPDATE airlock_secrets SET lease_until = now() - interval '1 s' "
                        "WHERE name = 'c' AND lease_owner = '%s'" % owner.replace("'", "''"))
                a.close()
                nodes[victim].start()
                a = fpmod.Asker(ipc(nodes[(victim + 1) % 3]))
            a.close()
            # stop driving: long-lived tokens from now on. The stored token
            # was minted short-lived (or its rotation was lost with the last
            # kill), so one more refresh comes: wait for it to be answered
            # with a long-lived token, recovering a loss it reveals
            fp.set_expires_in("claude", 3600)
            t_long = time.monotonic()
            deadline = t_long + 45.0

            def settled():
                last = spends.list[-1]
                return last.get("status") == 200 and last["answered"] > t_long

            while not settled():
                h.check(time.monotonic() < deadline, "a refresh after the driving ended is "
                        "answered with a long-lived token within 45 s")
                if any(refused(x) for x in spends.list):
                    a.close()
                    a = recover(rnd, nodes, spends, fp, kills, losses)
                time.sleep(0.1)
            a.close()
            time.sleep(2.5)
            fp.quiesce()
            h.check(settled(), "no refresh after the long-lived token")

            sp = list(spends.list)
            ok = [s for s in sp if s.get("status") == 200]
            first_spend = {}
            for i, s in enumerate(sp):
                if s.get("status") == 200 and s["rt"] not in first_spend:
                    first_spend[s["rt"]] = i
            presented = {s["rt"] for s in sp}
            gap, bad, lost_rts = 0, 0, set()
            for i, s in enumerate(sp):
                if s.get("status") == 200 or s["rt"] not in first_spend:
                    continue
                j = first_spend[s["rt"]]
                first = sp[j]
                lost = first["new_rt"] not in presented
                killed = any(k[2] == j and k[0] >= first["t"] for k in kills)
                if lost and killed:
                    gap += 1
                    lost_rts.add(s["rt"])
                else:
                    bad += 1
            st_fp = fp.stats("claude")
            h.log("refreshes driven: %d requests, %d rotated; kills: %d (%s); "
                  "refresh tokens spent twice: %d after a kill before the commit (lost rotations), "
                  "%d otherwise; fake stats %s"
                  % (len(sp), len(ok), len(kills),
                     ", ".join("%s=%d" % (p, sum(1 for k in kills if k[3] == p))
                               for p in ("before-answer", "after-answer", "shortly-after")),
                     gap, bad, {k: st_fp[k] for k in ("refreshes", "reuses", "unknown")}))
            h.check(len(ok) >= 3, "at least 3 refreshes driven, got %d" % len(ok))
            h.check(len(kills) >= 1, "at least one kill, got %d" % len(kills))
            h.check(len(losses) >= 1, "the kill before the answer lost its rotation and it was told")
            if lost_rts != losses or bad:
                # which spends: indexes and times only, never a token
                t0 = sp[0]["t"] if sp else 0
                rts = {}
                for i, s in enumerate(sp):
                    rts.setdefault(s["rt"], len(rts))
                for i, s in enumerate(sp):
                    h.log("spend %d: t=%.2f rt#%d status=%s rotated-to#%s recovered=%s%s%s"
                          % (i, s["t"] - t0, rts[s["rt"]], s.get("status"),
                             rts.get(s.get("new_rt"), "-"), bool(s.get("recovered")),
                             " LOST" if s["rt"] in lost_rts else "",
                             " TOLD" if s["rt"] in losses else ""))
                for k in kills:
                    h.log("kill at t=%.2f node %d spend %d %s" % (k[0] - t0, k[1] + 1, k[2], k[3]))
            h.check(lost_rts == losses, "every lost rotation was recovered by a new login: %d lost, "
                    "%d recovered, %d in both" % (len(lost_rts), len(losses), len(lost_rts & losses)))
            h.check_eq(bad, 0, "no refresh token spent twice except after a kill before the commit")

            # the login is not lost: a forced refresh succeeds and every node
            # serves the newest credential the fake minted
            before = len(spends.list)
            askers = [fpmod.Asker(ipc(n)) for n in nodes]
            for i, ak in enumerate(askers):
                ans = ak.ask("c", "api.anthropic.com")
                h.check("error" not in ans, "the login is not lost: node %d injects, got %r"
                        % (i + 1, ans.get("error")))
            askers[0].upstream_401("c", "api.anthropic.com")
            h.wait_for(lambda: len(spends.list) > before and "status" in spends.list[-1],
                       timeout=15, what="the forced refresh")
            time.sleep(2.0)
            fp.quiesce()
            last = spends.list[-1]
            h.check_eq(last["status"], 200, "the forced refresh at the end is accepted "
                       "(the stored refresh token was not one the fake had spent)")
            h.check(fp.live_refresh("claude", last["new_rt"]), "the newest refresh token is live")
            for i, ak in enumerate(askers):
                ans = ak.ask("c", "api.anthropic.com")
                h.check("error" not in ans, "node %d injects: %r" % (i + 1, ans.get("error")))
                h.check(fpmod.hdrs(ans).get("authorization") == "Bearer " + last["new_at"],
                        "node %d serves the newest access token" % (i + 1))
                ak.close()
            for n in nodes:
                n.check_alive()
        finally:
            for n in reversed(nodes):
                if n.proc is not None and n.proc.poll() is None:
                    n.stop(expect_clean=False)
                n.close()


h.run(main)
