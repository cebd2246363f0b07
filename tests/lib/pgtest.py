"""pgtest: a PostgreSQL 15 of a test's own, and airlock fleet nodes on it.

    with pgtest.Postgres() as pg:                 # initdb + pg_ctl in a temp dir
        uri = pg.create_db("fleet")               # postgres:///fleet?host=DIR&port=N&user=...
        nodes = pgtest.fleet(uri, 3, tmp)         # three `airlock up --store URI`
        pg.stop(); pg.start()                     # the database gone and back

Debian's binaries (/usr/lib/postgresql/15/bin), a unix socket in the temp dir
and no TCP listener (Postgres(tcp=True): also plain TCP on 127.0.0.1); no system service is touched. initdb refuses to
run as root: as root it runs as the postgres user (runuser), otherwise as
the test's own user. Every node shares one seal key (a fleet's key is given
to every host)."""

import os
import pwd
import shutil
import subprocess
import tempfile

import airlock_harness as h

PG = "/usr/lib/postgresql/15/bin"


def require():
    """Skip the test (exit 77) when PostgreSQL 15 cannot run here."""
    if not os.path.exists(PG + "/initdb") or not shutil.which("psql"):
        h.skip("needs PostgreSQL 15 (postgresql-15, postgresql-client-15)")
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            h.skip("running as root and there is no postgres user for initdb")
        if not shutil.which("runuser"):
            h.skip("running as root without runuser")


class Postgres:
    def __init__(self, tcp=False, tls=None):
        self.tcp = tcp   # also listen on 127.0.0.1:port (plain TCP, no TLS)
        # tls: an origins.TestCA whose leaf the server presents (ssl=on);
        # TLS is offered on the TCP listener, plain TCP is still accepted
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="airlock-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = h.free_port()
        self.started = False
        if os.getuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.user = "postgres"
        else:
            self.user = pwd.getpwuid(os.getuid()).pw_name

    def _run(self, *argv, timeout=120):
        pre = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        return subprocess.run(pre + list(argv), capture_output=True, text=True, timeout=timeout,
                              cwd=self.dir)

    def __enter__(self):
        r = self._run(PG + "/initdb", "-D", self.data, "-A", "trust", "-U", self.user, "--no-sync")
        if r.returncode != 0:
            raise RuntimeError("initdb: %s" % r.stderr[-500:])
        self.start()
        return self

    def start(self):
        opts = "-c listen_addresses='%s' -p %d -k %s -c fsync=off -c max_connections=60" % (
            "127.0.0.1" if self.tcp else "", self.port, self.dir)
        if self.tls:
            opts += " -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s" % self._tls_files()
        r = self._run(PG + "/pg_ctl", "-D", self.data, "-o", opts, "-l",
                      os.path.join(self.dir, "log"), "-w", "-t", "60", "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start: %s %s" % (r.stderr[-500:], self.log()))
        self.started = True

    def _tls_files(self):
        """The leaf's certificate and key where the server may read them
        (the key owned by the server's user, mode 0600, as it insists)."""
        cert, key = os.path.join(self.dir, "server.crt"), os.path.join(self.dir, "server.key")
        if not os.path.exists(key):
            shutil.copyfile(self.tls.leaf_cert, cert)
            shutil.copyfile(self.tls.leaf_key, key)
            os.chmod(key, 0o600)
            if os.getuid() == 0:
                pw = pwd.getpwnam("postgres")
                for f in (cert, key):
                    os.chown(f, pw.pw_uid, pw.pw_gid)
        return cert, key

    def tcp_uri(self, db, host="127.0.0.1", **params):
        """A URI over TCP to 127.0.0.1 (host= names the server for
        verify-full; hostaddr= is where it is)."""
        q = "&".join(["hostaddr=127.0.0.1", "port=%d" % self.port, "user=%s" % self.user] +
                     ["%s=%s" % kv for kv in params.items()])
        return "postgresql://%s/%s?%s" % (host, db, q)

    def stop(self, mode="fast"):
        if self.started:
            self._run(PG + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")
            self.started = False

    def log(self):
        try:
            return open(os.path.join(self.dir, "log")).read()[-1500:]
        except OSError:
            return ""

    def uri(self, db):
        return "postgres:///%s?host=%s&port=%d&user=%s" % (db, self.dir, self.port, self.user)

    def psql(self, db, sql):
        r = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p",
                            str(self.port), "-U", self.user, "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr[-500:])
        return r.stdout.strip()

    def create_db(self, name):
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return self.uri(name)

    def __exit__(self, *exc):
        self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def shared_seal_key(tmp):
    """One seal key file for every node of a fleet: the first node to start
    makes it (the broker creates a missing --seal-key-file), the others
    read it."""
    return os.path.join(tmp, "fleet-seal.key")


def node(uri, tmp, i, extra=(), env=None):
    """One fleet node: its own state dir, ports and log, the fleet's store
    and seal key."""
    d = os.path.join(tmp, "node%d" % i)
    os.makedirs(d, exist_ok=True)
    return h.Airlock(tmpdir=d, extra_flags=["--store", uri, "--seal-key-file",
                                            shared_seal_key(tmp)] + list(extra), env=env)


def fleet(uri, n, tmp, extra=(), env=None):
    return [node(uri, tmp, i + 1, extra, env) for i in range(n)]
