"""A fleet node reloads only what changed, and what it holds is what a full
load gives. Two nodes on a PostgreSQL of the test's own take a seeded random
sequence of writes (clients created, updated, deleted with their rules;
rules allowed, revoked, with a TTL; secrets stored, replaced, deleted),
from either node; at checkpoints both nodes' listings (clients, each
client's rules, secrets: never a value) equal those of a third node started
afresh, which reads the whole store. Most reloads read only the change
(status: reloads - full_reloads). A node whose broker is stopped (SIGSTOP)
while the other deletes a client with its rules, a rule and a secret, and
whose store connection is cut meanwhile, catches up from the version it
held without a full read; one whose needed deletions were pruned (aged
past 24 h) reads the whole store instead. A schema version 1 store
migrates in place (rows stamped with the store version, deletions known
from there on) and keeps serving the same state."""
import os
import random
import signal
import tempfile
import time

import airlock_harness as h
import pgtest

SEED = int(os.environ.get("FLEET_DELTA_SEED", "0")) or random.randrange(1, 1 << 30)
OPS = 120
CHECK_EVERY = 30


def status(node):
    st, body = node.api("GET", "/proxy/v1/status")
    h.check_eq(st, 200, "status")
    return body["store"]


def listing(node):
    """What a node serves of its state, values never included."""
    st, clients = node.api("GET", "/proxy/v1/clients")
    h.check_eq(st, 200, "clients")
    rules = {}
    for c in clients:
        st, rules[c["name"]] = node.api("GET", "/proxy/v1/clients/" + c["name"])
        h.check_eq(st, 200, "rules of " + c["name"])
    st, secrets = node.api("GET", "/proxy/v1/secrets")
    h.check_eq(st, 200, "secrets")
    return {"clients": clients, "rules": rules, "secrets": secrets}


def same_version(nodes, timeout=5.0):
    want = max(status(n)["store_version"] for n in nodes)
    for n in nodes:
        h.wait_for(lambda: status(n)["store_version_held"] >= want, timeout=timeout,
                   what="a node holds store version %d" % want)
    return want


TTL_ENDS = [0.0]   # when the last short TTL rule made ends (listings hide ended rules)


def compare(tmp, uri, nodes, what):
    """Both nodes' listings against a node that just read the whole store."""
    wait = TTL_ENDS[0] + 0.5 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    same_version(nodes)
    ref = pgtest.node(uri, tmp, 9)
    try:
        want = listing(ref)
        h.check_eq(status(ref)["store_version_held"], status(nodes[0])["store_version_held"],
                   "%s: the fresh node read the same version" % what)
    finally:
        ref.stop()
    for i, n in enumerate(nodes):
        got = listing(n)
        h.check(got == want, "%s: node %d (incremental) == a full load (seed %d)\n got %r\nwant %r"
                % (what, i + 1, SEED, got, want))
    return want


class Writer:
    """The random writes; it keeps what it made so that deletes and updates
    name things that exist (a 404/409 is still a write the test accepts)."""

    def __init__(self, rng):
        self.rng = rng
        self.clients, self.secrets, self.n = set(), set(), 0

    def step(self, node):
        r, self.n = self.rng, self.n + 1
        op = r.choice(["client", "client", "update", "delete-client", "allow", "allow", "allow",
                       "ttl", "revoke", "secret", "secret-replace", "delete-secret"])
        if op == "client" or not self.clients:
            name = "c%d" % self.n
            st, _ = node.api("POST", "/proxy/v1/clients", {"name": name})
            h.check_eq(st, 201, "create client " + name)
            self.clients.add(name)
        elif op == "update":
            st, _ = node.api("PATCH", "/proxy/v1/clients/" + r.choice(sorted(self.clients)),
                             {"on_deny": r.choice(["hold", "deny"])})
            h.check(st in (200, 404), "update client: %d" % st)
        elif op == "delete-client":
            name = r.choice(sorted(self.clients))
            st, _ = node.api("DELETE", "/proxy/v1/clients/" + name)
            h.check(st in (204, 404), "delete client: %d" % st)
            self.clients.discard(name)
        elif op in ("allow", "ttl"):
            body = {"client": r.choice(sorted(self.clients)), "host": "h%d.test" % r.randrange(6),
                    "ports": [r.choice([80, 443, 8080])]}
            if op == "ttl":
                body["ttl_seconds"] = r.choice([1, 2, 3600])
                if body["ttl_seconds"] < 3600:
                    TTL_ENDS[0] = time.monotonic() + body["ttl_seconds"] + 1
            if self.secrets and r.random() < 0.3:
                body["secret"] = r.choice(sorted(self.secrets))
            st, _ = node.api("POST", "/proxy/v1/allows", body)
            h.check(st in (201, 404, 409), "allow: %d" % st)
        elif op == "revoke":
            st, _ = node.api("DELETE", "/proxy/v1/allows/%s/h%d.test"
                             % (r.choice(sorted(self.clients)), r.randrange(6)))
            h.check(st in (204, 404), "revoke: %d" % st)
        elif op in ("secret", "secret-replace") or not self.secrets:
            name = "s%d" % self.n if op == "secret" or not self.secrets else r.choice(sorted(self.secrets))
            st, _ = node.api("POST", "/proxy/v1/secrets",
                             {"name": name, "host": "h%d.test" % r.randrange(6),
                              "value": "v%d" % r.randrange(1 << 30), "force": True})
            h.check_eq(st, 201, "store secret " + name)
            self.secrets.add(name)
        else:
            name = r.choice(sorted(self.secrets))
            st, _ = node.api("DELETE", "/proxy/v1/secrets/" + name)
            h.check(st in (204, 404), "delete secret: %d" % st)
            self.secrets.discard(name)


def main():
    pgtest.require()
    print("seed %d (FLEET_DELTA_SEED=%d repeats this run)" % (SEED, SEED))
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-delta-")
    with pgtest.Postgres() as pg:
        uri = pg.create_db("fleet")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 2, tmp)
            n1, n2 = nodes
            w = Writer(random.Random(SEED))
            for i in range(OPS):
                w.step(nodes[w.rng.randrange(2)])
                if (i + 1) % CHECK_EVERY == 0:
                    compare(tmp, uri, nodes, "after %d random writes" % (i + 1))
            for i, n in enumerate(nodes):
                s = status(n)
                print("node %d: %d reloads, %d of them full" % (i + 1, s["reloads"], s["full_reloads"]))
                h.check(s["reloads"] - s["full_reloads"] >= 10,
                        "node %d reloads mostly what changed: %r" % (i + 1, s))

            # node 2 stopped across deletions (a client with its rules, a
            # rule, a secret) and a cut connection: it catches up from the
            # version it held, reading only what changed
            w.clients.add("keep")
            for name in ("doomed", "keep"):
                st, _ = n1.api("POST", "/proxy/v1/clients", {"name": name})
                h.check_eq(st, 201, "client " + name)
                for host in ("a.test", "b.test"):
                    st, _ = n1.api("POST", "/proxy/v1/allows", {"client": name, "host": host})
                    h.check_eq(st, 201, "rule %s %s" % (name, host))
            st, _ = n1.api("POST", "/proxy/v1/secrets", {"name": "gone", "host": "a.test", "value": "x1"})
            h.check_eq(st, 201, "secret gone")
            compare(tmp, uri, nodes, "before node 2 stops")
            before = status(n2)
            os.kill(n2.broker_pid(), signal.SIGSTOP)
            try:
                pg.psql("fleet", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'airlock-broker'")
                h.wait_for(lambda: n1.api("DELETE", "/proxy/v1/clients/doomed")[0] == 204,
                           timeout=10, what="node 1 back on the store deletes a client")
                for method, path in (("DELETE", "/proxy/v1/allows/keep/a.test"),
                                     ("DELETE", "/proxy/v1/secrets/gone")):
                    st, _ = n1.api(method, path)
                    h.check_eq(st, 204, path)
                st, _ = n1.api("PATCH", "/proxy/v1/clients/keep", {"on_deny": "hold"})
                h.check_eq(st, 200, "update keep")
            finally:
                os.kill(n2.broker_pid(), signal.SIGCONT)
            h.wait_for(lambda: status(n2)["reconnects"] > before["reconnects"], timeout=10,
                       what="node 2 reconnects")
            got = compare(tmp, uri, nodes, "node 2 after its stop")
            h.check("doomed" not in got["rules"] and "gone" not in [s["name"] for s in got["secrets"]],
                    "the deletions are gone: %r" % got)
            after = status(n2)
            h.check_eq(after["full_reloads"], before["full_reloads"],
                       "node 2 caught up without reading the whole store")
            h.check(after["reloads"] > before["reloads"], "node 2 reloaded")

            # deletions node 2 needs were pruned: it reads the whole store
            same_version(nodes)
            before = status(n2)
            os.kill(n2.broker_pid(), signal.SIGSTOP)
            try:
                st, _ = n1.api("DELETE", "/proxy/v1/allows/keep/b.test")
                h.check_eq(st, 204, "revoke keep b.test")
                pg.psql("fleet", "UPDATE airlock_deleted SET at = now() - interval '25 hours'")
                st, _ = n1.api("POST", "/proxy/v1/clients", {"name": "after-prune"})
                h.check_eq(st, 201, "a write prunes")
                h.check_eq(pg.psql("fleet", "SELECT count(*) FROM airlock_deleted"), "0",
                           "deletions older than 24 h pruned")
                h.check(int(pg.psql("fleet", "SELECT deletions_from FROM airlock_meta")) >= before["store_version"],
                        "the store says deletions before it are gone")
            finally:
                os.kill(n2.broker_pid(), signal.SIGCONT)
            compare(tmp, uri, nodes, "node 2 after a prune")
            h.check_eq(status(n2)["full_reloads"], before["full_reloads"] + 1,
                       "node 2 read the whole store once")
            for n in nodes:
                n.check_alive()
        finally:
            for n in reversed(nodes):
                n.stop()

        # a version 1 store (what this schema was before rows carried
        # versions) migrates in place on the next start
        want = None
        pg.psql("fleet", "DROP TABLE airlock_deleted; DROP FUNCTION airlock_row_version() CASCADE; "
                "DROP FUNCTION airlock_row_deleted() CASCADE; "
                "ALTER TABLE airlock_clients DROP COLUMN version; ALTER TABLE airlock_rules DROP COLUMN version; "
                "ALTER TABLE airlock_secrets DROP COLUMN version; ALTER TABLE airlock_meta DROP COLUMN deletions_from; "
                "DELETE FROM airlock_schema WHERE version > 1")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 2, tmp)
            n1, n2 = nodes
            h.check_eq(pg.psql("fleet", "SELECT max(version) FROM airlock_schema"), "2", "migrated to 2")
            v = pg.psql("fleet", "SELECT store_version FROM airlock_meta")
            h.check_eq(pg.psql("fleet", "SELECT deletions_from FROM airlock_meta"), v,
                       "deletions known from the migration's version")
            h.check_eq(pg.psql("fleet", "SELECT count(*) FROM airlock_rules WHERE version <> %s" % v), "0",
                       "existing rows carry the store version")
            want = compare(tmp, uri, nodes, "after the migration")
            h.check("keep" in want["rules"], "the state survived the migration: %r" % want)
            st, _ = n1.api("DELETE", "/proxy/v1/clients/keep")
            h.check_eq(st, 204, "delete keep after the migration")
            got = compare(tmp, uri, nodes, "a deletion after the migration")
            h.check("keep" not in got["rules"], "keep deleted everywhere")
            h.check_eq(status(n2)["full_reloads"], 0, "node 2 reads only what changed")
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
