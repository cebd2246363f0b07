"""`airlock store migrate --to URI` moves a populated single-host state into
an empty PostgreSQL fleet store (its own, in a temp dir): afterwards two
fleet nodes started with that host's seal key serve the client's old token,
its rules, and inject its secret (the sealed value opens on both nodes), and
mint with the host's CA. The store holds no plaintext value. A second
migrate into the now populated store is refused, and a URI holding a
password is refused on the command line, and so is a store reached over
plain TCP without TLS. Twin: before the migrate, a node
on the empty store does not know the token."""
import os
import subprocess

import airlock_harness as h
import mitmtest as mt
import origins
import pgtest
import proxytest as pt

SECRET = mt.secret_value("migrate")


def migrate(state_dir, uri):
    return subprocess.run([h.binary("airlock"), "--state-dir", state_dir, "store", "migrate", "--to", uri],
                          capture_output=True, text=True, timeout=60)


def node(s, uri, tmp, i, key):
    d = os.path.join(tmp, "node%d" % i)
    os.makedirs(d, exist_ok=True)
    return h.Airlock(tmpdir=d, extra_flags=["--store", uri, "--seal-key-file", key,
                                            "--upstream-ca", s.ca.ca_cert] + pt.pins("origin.test", s.port))


def injected(al, tok, port):
    r = mt.curl(al, tok, "https://origin.test:%d/echo/x" % port)
    if r.returncode != 0:
        return False
    return mt.carried(r.stdout, "Bearer " + SECRET)


def main():
    pgtest.require()
    with pgtest.Postgres(tcp=True) as pg, mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.client(al, "web-2")
        mt.secret(al, "api-key", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--secret", "api-key")
        pt.allow(al, "web-2", "origin.test", "--port", str(port))
        h.check(injected(al, tok, port), "single host injects before the migrate")
        p = al.cli("store", "check")
        h.check(p.returncode == 0 and "store: state.json" in p.stdout,
                "a single host's store check names state.json: %s %s" % (p.stdout, p.stderr))
        ca_pem = open(al.ca_cert).read()
        state_dir = al.state_dir
        key = os.path.join(state_dir, "seal.key")
        al.stop()

        uri = pg.create_db("fleet")
        tmp = al.tmpdir
        p = migrate(state_dir, pg.uri("fleet").replace("user=", "password=hunter2&user="))
        h.check_eq(p.returncode, 2, "a password in --to is refused: " + p.stderr)
        h.check("hunter2" not in p.stderr, "the refusal does not print the password")

        # plain TCP (no TLS) to the store is refused: it carries token hashes
        p = migrate(state_dir, "postgres://%s@127.0.0.1:%d/fleet?sslmode=disable" % (pg.user, pg.port))
        h.check_eq(p.returncode, 1, "a store over plain TCP is refused: " + p.stdout)
        h.check("without a verified TLS" in p.stderr, "the refusal says why: " + p.stderr)
        h.check_eq(pg.psql("fleet", "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'airlock%'"), "0",
                   "nothing was written over plain TCP")

        # twin: an empty store does not know the token
        n0 = node(s, pg.create_db("empty"), tmp, 9, key)
        try:
            st, _, _ = pt.RawConn(n0.http_port).request("GET", "http://origin.test:%d/echo/x" % port, token=tok)
            h.check_eq(st, 407, "an empty store does not know the token")
        finally:
            n0.stop()

        p = migrate(state_dir, uri)
        h.check_eq(p.returncode, 0, "store migrate: " + p.stderr)
        h.check("2 clients, 2 rules, 1 secrets" in p.stdout, "migrate says what it moved: " + p.stdout)
        dumped = pg.psql("fleet", "SELECT string_agg(rec::text, ' ') FROM airlock_secrets") + \
            pg.psql("fleet", "SELECT key_sealed FROM airlock_ca")
        h.check(SECRET not in dumped and "PRIVATE KEY" not in dumped, "the store holds sealed values only")

        p = migrate(state_dir, uri)
        h.check_eq(p.returncode, 1, "a second migrate into a populated store is refused")
        h.check("already holds" in p.stderr, p.stderr)

        nodes = []
        try:
            nodes = [node(s, uri, tmp, 1, key), node(s, uri, tmp, 2, key)]
            for n in nodes:
                h.check(injected(n, tok, port), "the old token and secret work on a fleet node")
                h.check_eq(open(n.ca_cert).read(), ca_pem, "the node mints with the host's CA")
                st, body = n.api("GET", "/proxy/v1/clients")
                h.check_eq(sorted(c["name"] for c in body), ["web-1", "web-2"], "clients")
            mt.check_no_secret(nodes[0], SECRET)
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
