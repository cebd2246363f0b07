"""airlock-agent's per-port tunnels: psql in the isolated sandbox reaches a
PostgreSQL on the host through `airlock-agent tunnel add db --listen
127.0.0.1:5432 db.test:PORT` and a passthrough rule.

PostgreSQL 15 (Debian's initdb and pg_ctl) runs in a temporary directory
as the postgres user (it refuses root), on 127.0.0.1 of the host, its name
pinned in airlock. In the sandbox: the tunnel is listed, psql gets its
answer, the tunnel is still there and working after the agent restarts
(install again), adding the same tunnel again is a no-op and another target
under the same name is refused; without the rule airlock refuses (logged)
and psql fails; after `tunnel remove` the port is closed and the list
empty. Needs root, ip netns and PostgreSQL 15: skipped (77) otherwise."""
import os
import pwd
import shutil
import subprocess
import tempfile

import agenttest as at
import airlock_harness as h
import netns
import origins
import proxytest as pt

PG = "/usr/lib/postgresql/15/bin"


class Postgres:
    """PostgreSQL as the postgres user in a fresh directory, on 127.0.0.1:port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="airlock-pg-")
        self.port = origins.free_port()
        self.data = os.path.join(self.dir, "data")
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.started = False

    def _as_postgres(self, *argv):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + list(argv), capture_output=True, text=True,
                              timeout=120, cwd=self.dir)

    def __enter__(self):
        r = self._as_postgres(PG + "/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError("initdb: %s" % r.stderr[-500:])
        opts = "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.dir)
        r = self._as_postgres(PG + "/pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.dir, "log"),
                              "-w", "-t", "60", "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start: %s %s" % (r.stderr[-500:], self.log()))
        self.started = True
        return self

    def log(self):
        try:
            return open(os.path.join(self.dir, "log")).read()[-1000:]
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.started:
            self._as_postgres(PG + "/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    netns.require_root()
    if not os.path.exists(PG + "/initdb") or not shutil.which("psql") or not shutil.which("runuser"):
        h.skip("skipped: needs PostgreSQL 15 (postgresql-15) and psql")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        h.skip("skipped: needs the postgres user")
    with Postgres() as pg, h.Airlock(start=False) as al, netns.Sandbox(al.tmpdir) as sb:
        al.extra_flags += ["--bind", sb.host_addr] + pt.pins("db.test", pg.port)
        al.start()
        sb.isolate([al.http_port, al.https_port])
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "db.test", "--port", str(pg.port), "--passthrough")
        at.install(sb, al, tok)

        def psql():
            return sb.run(["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "postgres", "-At",
                           "-c", "select 40 + 2"], timeout=60)

        r = at.agent(sb, "tunnel", "add", "db", "--listen", "127.0.0.1:5432", "db.test:%d" % pg.port)
        h.check_eq(r.returncode, 0, "tunnel add: %s %s" % (r.stdout, r.stderr))
        r = at.agent(sb, "tunnel", "list")
        h.check_eq(r.stdout, "db 127.0.0.1:5432 db.test:%d\n" % pg.port, "tunnel list")
        r = psql()
        h.check_eq((r.returncode, r.stdout.strip()), (0, "42"), "psql through the tunnel: %s" % r.stderr)
        d = pt.wait_decision(al, lambda d: d.get("host") == "db.test" and d["verdict"] == "allow"
                             and int(d.get("bytes_down") or 0) > 0, "the passthrough's line")
        h.check_eq(d.get("client"), "web-1", "the agent's CONNECT carries the client's token")

        # the same again: nothing to do; another target under that name: refused
        r = at.agent(sb, "tunnel", "add", "db", "--listen", "127.0.0.1:5432", "db.test:%d" % pg.port)
        h.check_eq(r.returncode, 0, "adding the same tunnel again")
        r = at.agent(sb, "tunnel", "add", "db", "--listen", "127.0.0.1:5433", "db.test:1")
        h.check(r.returncode == 1 and "exists" in r.stderr, "the same name, another tunnel: %r" % r.stderr)
        r = at.agent(sb, "tunnel", "add", "x y", "--listen", "127.0.0.1:5434", "db.test:1")
        h.check_eq(r.returncode, 2, "a bad name is a usage error")

        # kept across a restart of the agent
        pid = at.agent(sb, "status").stdout
        at.install(sb, al, tok)
        h.check(at.agent(sb, "status").stdout != pid, "the daemon was restarted")
        r = at.agent(sb, "tunnel", "list")
        h.check("db 127.0.0.1:5432" in r.stdout, "still listed after the restart")
        r = psql()
        h.check_eq((r.returncode, r.stdout.strip()), (0, "42"), "psql after the restart: %s" % r.stderr)

        # twin: without the rule airlock refuses
        pt.revoke(al, "web-1", "db.test")
        r = psql()
        h.check(r.returncode != 0, "psql without the rule fails")
        pt.wait_decision(al, lambda d: d.get("host") == "db.test" and d.get("reason") == "no-rule",
                         "the refusal's line")

        r = at.agent(sb, "tunnel", "remove", "db")
        h.check_eq(r.returncode, 0, "tunnel remove: %s" % r.stderr)
        h.check_eq(at.agent(sb, "tunnel", "list").stdout, "", "no tunnel listed")
        r = sb.run(["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-c", "select 1"], timeout=60)
        h.check(r.returncode != 0 and ("refused" in r.stderr or "could not connect" in r.stderr),
                "the port is closed: %s" % r.stderr)
        r = at.agent(sb, "tunnel", "remove", "db")
        h.check_eq(r.returncode, 1, "removing it again: no such tunnel")

        r = at.agent(sb, "uninstall")
        h.check_eq(r.returncode, 0, "uninstall: %s" % r.stderr)
        at.check_log(sb, tok)
        al.check_alive()


h.run(main)
