"""airlock_harness: start the real `airlock up` for an integration test.

Integration tests (tests/integration/*.py, Python 3 stdlib only) import this
module; `make check` sets PYTHONPATH to tests/lib and exports
AIRLOCK_BUILDDIR and AIRLOCK_SRCDIR. A test is one scenario in one file and
reports through its exit status: 0 pass, 1 fail, 77 skip (automake).

    import airlock_harness as h

    def main():
        with h.Airlock() as al:                  # temp state dir, free ports
            p = al.cli("client", "create", "web-1")
            h.check(p.returncode == 0, "client create: " + p.stderr)
            status, body = al.api("GET", "/proxy/v1/clients")
            h.check_eq(status, 200, "GET clients")
            al.check_alive()                     # raises if a daemon died
        # leaving the block stops airlock (SIGTERM) and asserts a clean exit

    h.run(main)                                  # exceptions become exit 1

What Airlock does:
  - picks free loopback ports for the two proxy listeners (free_port());
  - runs `$AIRLOCK_BUILDDIR/airlock up --state-dir DIR --http-port P
    --https-port Q [extra flags]` in its own process group, stdout and stderr
    to log files next to the state dir (`airlock up` execs the broker, so the
    process it starts *is* the broker);
  - adds --no-enforcer when airlock-enforcer is not built (yet);
  - polls (never sleeps a fixed time) until the API socket answers
    GET /proxy/v1/status and, with an enforcer, both proxy ports accept
    connections: deadline 60 s (sanitizers on a loaded 2-core machine), failing
    early if the broker exits;
  - stop() sends SIGTERM (or the signal asked for), waits, falls back to
    SIGKILL, and asserts exit status 0, the API socket removed and no
    sanitizer report in the logs;
  - anything it started is killed when the test process exits, whatever
    happens (atexit), so no daemon outlives its test.

Nothing here talks to anything but 127.0.0.1 and unix sockets.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
READY_TIMEOUT = 60.0  # only ever reached when something is wrong: be generous
STOP_TIMEOUT = 15.0

# ---------------------------------------------------------------------------
# Reporting: one line on stderr, then exit 1 (fail) or 77 (skip).


class TestFailure(Exception):
    """Raised by check() inside run(); ends the test with exit status 1."""


def fail(msg):
    """Report a failure and exit 1 (automake: FAIL)."""
    print("FAIL: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(1)


def skip(msg):
    """Report why the test cannot run here and exit 77 (automake: SKIP)."""
    print("SKIP: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(SKIP)


def check(cond, msg):
    """Raise TestFailure(msg) unless cond (run() turns it into exit 1)."""
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, msg):
    """Raise TestFailure unless got == want, showing both."""
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (msg, got, want))


def log(msg):
    """A progress line in the test's .log file (stdout)."""
    print(msg, flush=True)


def run(main):
    """Run main(); map TestFailure, timeouts and unexpected exceptions to
    exit 1 with a message, SystemExit passes through (skip() / fail()).
    The log's last line gives the test's time (the suite has a budget)."""
    t0 = time.monotonic()
    atexit.register(lambda: print("test time: %.1f s" % (time.monotonic() - t0), flush=True))
    try:
        main()
    except TestFailure as e:
        _dump_live_logs()
        fail(str(e))
    except DaemonDied as e:
        fail("daemon died: %s" % e)
    except Exception:  # noqa: BLE001 - any crash of the test is a failure
        traceback.print_exc()
        _dump_live_logs()
        fail("unexpected exception")
    sys.exit(0)


# ---------------------------------------------------------------------------
# Paths and small helpers.


def builddir():
    """The build tree (AIRLOCK_BUILDDIR, else the current directory)."""
    return os.environ.get("AIRLOCK_BUILDDIR") or os.getcwd()


def srcdir():
    """The source tree (AIRLOCK_SRCDIR, else two levels above this file)."""
    return os.environ.get("AIRLOCK_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(name):
    """Path of a built program (airlock, airlock-broker, airlock-enforcer)."""
    return os.path.join(builddir(), name)


def have_binary(name):
    p = binary(name)
    return os.path.isfile(p) and os.access(p, os.X_OK)


def require_binaries(*names):
    """skip() when a program the test needs is not built."""
    for n in names:
        if not have_binary(n):
            skip("%s is not built (%s)" % (n, binary(n)))


def free_port(host="127.0.0.1"):
    """A TCP port that is free right now on host (the kernel picks it)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=READY_TIMEOUT, interval=0.01, what="condition"):
    """Poll cond() until it returns a true value (returned) or timeout
    seconds pass (TimeoutError). The interval grows up to 0.1 s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)


def port_open(port, host="127.0.0.1"):
    """True when something accepts TCP connections on host:port."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def pid_alive(pid):
    """True when a process with this pid exists (zombies count as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def files_containing(root, needle):
    """Every file under root (a file or a directory) whose bytes contain
    needle (str or bytes). For "no secret/token at rest" checks."""
    if isinstance(needle, str):
        needle = needle.encode()
    hits = []
    paths = [root] if os.path.isfile(root) else [
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for p in paths:
        try:
            with open(p, "rb") as f:
                if needle in f.read():
                    hits.append(p)
        except OSError:
            pass  # sockets and vanished temp files
    return hits


# ---------------------------------------------------------------------------
# HTTP over the unix socket (the REST API).


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket."""

    def __init__(self, path, timeout=10.0):
        super().__init__("airlock", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def api_request(sock_path, method, path, body=None, raw_body=None, headers=None, timeout=10.0):
    """One request to the API at sock_path. body (a dict/list) is sent as
    JSON; raw_body (bytes/str) is sent as is. Returns (status, answer) where
    answer is the parsed JSON, or the text when it is not JSON."""
    status, _, answer = api_request_full(sock_path, method, path, body=body, raw_body=raw_body,
                                         headers=headers, timeout=timeout)
    return status, answer


def api_request_full(sock_path, method, path, body=None, raw_body=None, headers=None,
                     timeout=10.0):
    """api_request(), also returning the answer's headers (names in lower
    case): (status, headers, answer). A 204 has no body: its details are
    in X-Airlock-* headers."""
    conn = UnixHTTPConnection(sock_path, timeout=timeout)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif raw_body is not None:
        data = raw_body.encode() if isinstance(raw_body, str) else raw_body
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = text
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, answer
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# The daemons.


class DaemonDied(Exception):
    """The broker (or the enforcer) exited when the test did not stop it."""


_live = []  # Airlock instances with a running process, killed at exit


def _kill_all():
    for al in list(_live):
        al._kill_group()


atexit.register(_kill_all)


def _dump_live_logs():
    for al in list(_live):
        al.dump_log()


# A failed assert() too (the enforcer's state machines assert every move).
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer", "Assertion `")


class Airlock:
    """One `airlock up` on a temp state dir and free ports.

    Airlock(tmpdir=None, extra_flags=(), env=None, start=True, enforcer=None)
      tmpdir       where the state dir and logs go (a new temp dir when None,
                   removed at close() unless keep=True)
      extra_flags  more `airlock up` flags, e.g. ["--mode", "audit"]
      env          extra environment for the daemon and cli() calls
      enforcer     True/False to force; None: run it when it is built

    Attributes: state_dir, api_socket, http_port, https_port, proc, out_path,
    err_path, tmpdir. Use as a context manager: leaving the block stops it
    (asserting a clean exit when no exception is in flight) and removes the
    temp dir.
    """

    def __init__(self, tmpdir=None, extra_flags=(), env=None, start=True, enforcer=None,
                 keep=False):
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="airlock-test-")
        self.keep = keep
        self.state_dir = os.path.join(self.tmpdir, "state")
        self.api_socket = os.path.join(self.state_dir, "api.sock")
        self.extra_flags = list(extra_flags)
        self.env = dict(env or {})
        self.http_port = None
        self.https_port = None
        self.proc = None
        self.runs = 0
        self.out_path = os.path.join(self.tmpdir, "airlock.out")
        self.err_path = os.path.join(self.tmpdir, "airlock.err")
        self.use_enforcer = have_binary("airlock-enforcer") if enforcer is None else enforcer
        self.enforcer_restarts_allowed = 0
        require_binaries("airlock", "airlock-broker")
        if start:
            try:
                self.start()
            except BaseException:
                # No `with` block owns us yet: show why, then clean up here.
                self.dump_log()
                self.close()
                raise

    # -- life cycle --

    def command(self):
        """The argv that start() runs."""
        argv = [binary("airlock"), "up", "--state-dir", self.state_dir,
                "--http-port", str(self.http_port), "--https-port", str(self.https_port)]
        if not self.use_enforcer and "--no-enforcer" not in self.extra_flags:
            argv.append("--no-enforcer")
        return argv + self.extra_flags

    def daemon_env(self):
        env = dict(os.environ)
        env.update(self.env)
        return env

    def start(self, new_ports=False):
        """Start (or restart, same state dir and ports) and wait until ready."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("already running")
        if self.http_port is None or new_ports:
            self.http_port = free_port(self.bind)
            self.https_port = free_port(self.bind)
            while self.https_port == self.http_port:
                self.https_port = free_port(self.bind)
        self.runs += 1
        # Append: a restart keeps the earlier run's lines for the post-mortem.
        out = open(self.out_path, "ab")
        err = open(self.err_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.daemon_env(),
                                         start_new_session=True)
        finally:
            out.close()
            err.close()
        _live.append(self)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Poll until the API answers and (with an enforcer) both proxy ports
        accept connections. Raises DaemonDied when the broker exits first."""

        def ready():
            self.check_alive(enforcer=False)
            if not os.path.exists(self.api_socket):
                return False
            try:
                status, st = self.api("GET", "/proxy/v1/status", timeout=2.0)
            except OSError:
                return False
            if status != 200:
                return False
            if not self.use_enforcer:
                return True
            enf = st.get("enforcer") if isinstance(st, dict) else None
            if not (isinstance(enf, dict) and enf.get("running")):
                return False
            return port_open(self.http_port, self.bind) and port_open(self.https_port, self.bind)

        wait_for(ready, timeout, what="airlock up to be ready (log: %s)" % self.err_path)

    def check_alive(self, enforcer=True):
        """Raise DaemonDied if the broker exited, or (enforcer=True, when one
        runs) the enforcer is not running or was restarted more often than
        enforcer_restarts_allowed."""
        if self.proc is None:
            raise DaemonDied("airlock was never started")
        rc = self.proc.poll()
        if rc is not None:
            raise DaemonDied("airlock up exited with %s\n%s" % (rc, self.log_tail()))
        if enforcer and self.use_enforcer:
            st = self.status()
            enf = st.get("enforcer") or {}
            if not enf.get("running"):
                raise DaemonDied("the enforcer is not running\n%s" % self.log_tail())
            if (enf.get("restarts") or 0) > self.enforcer_restarts_allowed:
                raise DaemonDied("the enforcer was restarted %s times\n%s"
                                 % (enf.get("restarts"), self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, expect_clean=True):
        """Stop with sig, wait, SIGKILL past timeout. With expect_clean,
        raise TestFailure unless the exit status is 0, the API socket is
        gone and the logs carry no sanitizer report. Returns the status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None and self.use_enforcer:
            try:
                self.status()  # remember the enforcer's pid, to see it go
            except (OSError, TestFailure):
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
            killed = False
        except subprocess.TimeoutExpired:
            self._kill_group()
            rc = self.proc.wait()
            killed = True
        # The enforcer is the broker's child, in our process group: it must
        # be gone too once the broker is.
        enf_pid = self._last_enforcer_pid
        if enf_pid:
            try:
                wait_for(lambda: not pid_alive(enf_pid), 5.0, what="the enforcer to exit")
            except TimeoutError:
                self._kill_group()
                if expect_clean:
                    raise TestFailure("the enforcer (pid %d) outlived the broker" % enf_pid)
        if self in _live:
            _live.remove(self)
        if expect_clean:
            if killed:
                raise TestFailure("airlock did not stop within %ss of %s\n%s"
                                  % (timeout, signal.Signals(sig).name, self.log_tail()))
            if rc != 0:
                raise TestFailure("airlock exited with %s after %s\n%s"
                                  % (rc, signal.Signals(sig).name, self.log_tail()))
            if os.path.exists(self.api_socket):
                raise TestFailure("api.sock is still there after a clean stop")
            self.check_sanitizers()
        return rc

    def kill(self, sig=signal.SIGKILL):
        """Kill the broker (crash simulation) and wait for it; no checks."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(STOP_TIMEOUT)
        return self.proc.returncode if self.proc else None

    def restart(self, sig=signal.SIGTERM):
        """Clean stop, then start again on the same state dir and ports."""
        self.stop(sig)
        return self.start()

    def _kill_group(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self in _live:
            _live.remove(self)

    def close(self):
        """Kill whatever still runs and remove the temp dir (when ours)."""
        self._kill_group()
        if self._own_tmp and not self.keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.proc is not None and self.proc.poll() is None:
                self.stop()
            elif exc_type is not None:
                self.dump_log()
        finally:
            self.close()
        return False

    # -- talking to it --

    def api(self, method, path, body=None, raw_body=None, headers=None, timeout=10.0):
        """One REST call on the API socket: (status, JSON answer or text)."""
        return api_request(self.api_socket, method, path, body=body, raw_body=raw_body,
                           headers=headers, timeout=timeout)

    def api_full(self, method, path, body=None, raw_body=None, headers=None, timeout=10.0):
        """One REST call: (status, headers with lower-case names, answer)."""
        return api_request_full(self.api_socket, method, path, body=body, raw_body=raw_body,
                                headers=headers, timeout=timeout)

    def status(self):
        """GET /proxy/v1/status as a dict."""
        st, body = self.api("GET", "/proxy/v1/status")
        if st != 200 or not isinstance(body, dict):
            raise TestFailure("GET /proxy/v1/status: %s %r" % (st, body))
        enf = body.get("enforcer") or {}
        if enf.get("pid"):
            self._last_enforcer_pid = enf["pid"]
        return body

    _last_enforcer_pid = None

    def cli_env(self, env=None):
        e = dict(os.environ)
        e.update(self.env)
        e["AIRLOCK_URL"] = self.api_socket
        e["AIRLOCK_STATE_DIR"] = self.state_dir
        e.update(env or {})
        return e

    def cli(self, *args, input=None, env=None, timeout=30):
        """Run `airlock ARGS...` against this instance (AIRLOCK_URL and
        AIRLOCK_STATE_DIR set). Returns subprocess.CompletedProcess with
        text stdout/stderr; never raises on a non-zero exit."""
        return subprocess.run([binary("airlock")] + [str(a) for a in args], input=input,
                              capture_output=True, text=True, env=self.cli_env(env),
                              timeout=timeout)

    def broker_pid(self):
        """The broker's pid (`airlock up` execs it: the process we started)."""
        return self.proc.pid if self.proc else None

    def enforcer_pid(self):
        """The enforcer's pid from GET /proxy/v1/status, or None."""
        enf = self.status().get("enforcer") or {}
        return enf.get("pid") if enf.get("running") else None

    @property
    def bind(self):
        """The listeners' address: the last --bind of extra_flags, else 127.0.0.1."""
        host = "127.0.0.1"
        for i, f in enumerate(self.extra_flags[:-1]):
            if f == "--bind":
                host = self.extra_flags[i + 1]
        return host

    def proxy_url(self, token=None, tls=False, user="proxy"):
        """http://[user:token@]BIND:PORT (tls=True: https and the TLS port)."""
        auth = "%s:%s@" % (user, token) if token else ""
        host = "[%s]" % self.bind if ":" in self.bind else self.bind
        if tls:
            return "https://%s%s:%d" % (auth, host, self.https_port)
        return "http://%s%s:%d" % (auth, host, self.http_port)

    @property
    def ca_cert(self):
        return os.path.join(self.state_dir, "ca.pem")

    # -- logs --

    def log_text(self):
        """Everything the daemons wrote, stdout then stderr, all runs."""
        parts = []
        for p in (self.out_path, self.err_path):
            try:
                with open(p, "r", errors="replace") as f:
                    parts.append(f.read())
            except FileNotFoundError:
                pass
        return "".join(parts)

    def log_tail(self, n=40):
        lines = self.log_text().splitlines()
        return "\n".join("  | " + ln for ln in lines[-n:])

    def dump_log(self, n=80):
        print("--- airlock log (last %d lines, %s) ---\n%s" % (n, self.tmpdir, self.log_tail(n)),
              file=sys.stderr, flush=True)

    def check_sanitizers(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise TestFailure("sanitizer report in the daemon log (%s)\n%s"
                                  % (mark, self.log_tail(60)))


def _selftest():
    """python3 airlock_harness.py: start, query, stop (a smoke test)."""
    def main():
        with Airlock() as al:
            log("state dir %s, ports %d/%d" % (al.state_dir, al.http_port, al.https_port))
            log("status %r" % al.status())
            al.check_alive()
    run(main)


if __name__ == "__main__":
    _selftest()
