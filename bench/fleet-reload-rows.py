#!/usr/bin/env python3
"""Rows the fleet store reads per change: two nodes on one PostgreSQL of
its own (tests/lib/pgtest.py), one client with RULES rules, then CHANGES
changes made on node 1 (a rule allowed, then revoked) each waited for on
node 2. Prints the rows PostgreSQL read for them (pg_stat_user_tables:
seq_tup_read + idx_tup_fetch over the airlock_* tables) per change, and
the time from before node 1's API call until node 2 holds the version
(p50/p99). With --full, the store claims its deletions were pruned up to a
version far ahead (airlock_meta.deletions_from), so node 2 reads the whole
store at each change as every node did before schema 2: the "before".

  AIRLOCK_BUILDDIR=_check AIRLOCK_SRCDIR=. PYTHONPATH=tests/lib \\
      python3 bench/fleet-reload-rows.py [--full] [RULES] [CHANGES]

Not a test: it asserts nothing about the figure; it measures."""
import re
import statistics
import sys
import tempfile
import time

import airlock_harness as h
import pgtest

FULL = "--full" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--full"]
RULES = int(ARGS[0]) if ARGS else 1000
CHANGES = int(ARGS[1]) if len(ARGS) > 1 else 100

READ_SQL = ("SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) "
            "FROM pg_stat_user_tables WHERE relname LIKE 'airlock%'")


def held(node):
    # /metrics, not /proxy/v1/status: the status counts every table's rows
    # in the store, which would be most of what this measures
    st, body = node.api("GET", "/metrics")
    h.check_eq(st, 200, "metrics")
    m = re.search(r"^airlock_store_version (\d+)$", body, re.M)
    return int(m.group(1))


def rows_read(pg):
    # an idle backend's counters reach the shared statistics within 10 s
    # (PostgreSQL 15's idle flush interval): wait that out before each reading
    time.sleep(11)
    return int(pg.psql("bench", READ_SQL))


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-bench-fleet-")
    with pgtest.Postgres() as pg:
        uri = pg.create_db("bench")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 2, tmp)
            n1, n2 = nodes
            st, _ = n1.api("POST", "/proxy/v1/clients", {"name": "bench"})
            h.check_eq(st, 201, "client")
            for i in range(RULES):
                st, _ = n1.api("POST", "/proxy/v1/allows", {"client": "bench", "host": "h%d.test" % i})
                h.check_eq(st, 201, "rule %d" % i)
            h.wait_for(lambda: held(n2) == held(n1), timeout=10, what="node 2 caught up")
            if FULL:
                pg.psql("bench", "UPDATE airlock_meta SET deletions_from = 1000000000000")
            before = rows_read(pg)
            lat = []
            for i in range(CHANGES):
                t0 = time.monotonic()
                if i % 2 == 0:
                    st, _ = n1.api("POST", "/proxy/v1/allows", {"client": "bench", "host": "x.test"})
                else:
                    st, _ = n1.api("DELETE", "/proxy/v1/allows/bench/x.test")
                h.check(st in (201, 204), "change %d" % i)
                want = held(n1)
                while held(n2) < want:
                    h.check(time.monotonic() - t0 < 5, "change %d on node 2 within 5 s" % i)
                lat.append(time.monotonic() - t0)
            after = rows_read(pg)
            print(pg.psql("bench", "SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch "
                          "FROM pg_stat_user_tables WHERE relname LIKE 'airlock%' ORDER BY relname"))
            lat.sort()
            s2 = n2.api("GET", "/proxy/v1/status")[1]["store"]
            print("fleet reload (%s): %d rules, %d changes: %d rows read by the store, %.1f per change; "
                  "node 2 %d reloads, %d full; propagation p50 %.1f ms, p99 %.1f ms"
                  % ("full" if FULL else "incremental", RULES, CHANGES, after - before,
                     (after - before) / CHANGES, s2["reloads"], s2["full_reloads"],
                     statistics.median(lat) * 1000, lat[max(0, int(len(lat) * 0.99) - 1)] * 1000))
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
