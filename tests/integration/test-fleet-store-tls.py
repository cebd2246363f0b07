"""The fleet store over TCP and TLS: a PostgreSQL of the test's own listens
on 127.0.0.1 with TLS on (a leaf for pg.test from a throwaway CA; plain TCP
is still accepted by the server, as a default PostgreSQL does).

- airlock refuses the store over TCP unless the server is verified, before
  sending anything: sslmode=disable, sslmode=require (encrypted to whoever
  answers), verify-full against another CA, and verify-full with a host
  name the certificate does not carry are each refused with a reason, and
  nothing is written to the database;
- with sslmode=verify-full and the right CA, two nodes run on it: a client
  and a rule written on node 1 are served by node 2's proxy, and every
  session the nodes hold (seen from PostgreSQL's pg_stat_ssl) is TLS;
- `airlock store check` says connected."""
import os
import subprocess
import tempfile

import airlock_harness as h
import origins
import pgtest
import proxytest as pt


def migrate(state_dir, uri):
    return subprocess.run([h.binary("airlock"), "--state-dir", state_dir, "store", "migrate",
                           "--to", uri], capture_output=True, text=True, timeout=60)


def tables(pg):
    return pg.psql("fleet", "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'airlock%'")


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-tls-")
    ca = origins.TestCA(os.path.join(tmp, "ca"), names=("pg.test",))
    other = origins.TestCA(os.path.join(tmp, "other"), names=("pg.test",))
    with pgtest.Postgres(tcp=True, tls=ca) as pg, origins.HTTPOrigin() as o:
        pg.create_db("fleet")
        os.makedirs(os.path.join(tmp, "single"))
        single = h.Airlock(tmpdir=os.path.join(tmp, "single"))
        single.stop()
        refused = [
            (pg.tcp_uri("fleet", sslmode="disable"), "without a verified TLS server"),
            (pg.tcp_uri("fleet", sslmode="require"), "without a verified TLS server"),
            (pg.tcp_uri("fleet", host="pg.test", sslmode="verify-full", sslrootcert=other.ca_cert),
             "certificate"),
            (pg.tcp_uri("fleet", host="wrong.test", sslmode="verify-full", sslrootcert=ca.ca_cert),
             "does not match host name"),
        ]
        for uri, why in refused:
            p = migrate(single.state_dir, uri)
            h.check_eq(p.returncode, 1, "refused: %s -> %s" % (uri, p.stderr.strip()))
            h.check(why in p.stderr, "the refusal says why (%r): %s" % (why, p.stderr.strip()))
            h.check_eq(tables(pg), "0", "nothing was written after: %s" % uri)

        good = pg.tcp_uri("fleet", host="pg.test", sslmode="verify-full", sslrootcert=ca.ca_cert)
        nodes = []
        try:
            nodes = pgtest.fleet(good, 2, tmp, extra=pt.pins("origin.test", o.port))
            n1, n2 = nodes
            tok = pt.client(n1, "web-1")
            pt.allow(n1, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port

            def served():
                c = pt.RawConn(n2.http_port, timeout=5)
                try:
                    return c.request("GET", url, token=tok)[0] == 200
                finally:
                    c.close()
            h.wait_for(served, timeout=3, what="a rule written on node 1 is served by node 2")
            sessions = pg.psql("fleet", "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s "
                               "USING (pid) WHERE a.datname = 'fleet' AND a.client_addr IS NOT NULL")
            flags = sessions.split()
            h.check(len(flags) >= 2, "both nodes hold sessions over TCP: %r" % flags)
            h.check(all(f == "t" for f in flags), "every node session is TLS: %r" % flags)
            for n in nodes:
                p = n.cli("store", "check")
                h.check_eq(p.returncode, 0, "store check: " + p.stdout + p.stderr)
                h.check("connected: yes" in p.stdout, p.stdout)
                n.check_alive()
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
