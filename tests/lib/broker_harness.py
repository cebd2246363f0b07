"""broker_harness: run `airlock-broker` directly for the broker's own
integration tests (tests/integration/test-broker-*.py).

The reporting helpers, the unix-socket HTTP client and the polling helpers
come from airlock_harness; this module only adds a Broker class that starts
`$AIRLOCK_BUILDDIR/airlock-broker --state-dir DIR --no-enforcer` (by
default), waits for api.sock to answer (polling, no fixed sleeps), fails if
the broker died, and stops it (SIGTERM, exit 0, sockets gone, no sanitizer
report) or kills it (-9) on demand. An IPC client speaks common/ipc.h
frames (4-byte big-endian length + JSON) on ipc.sock.

    import broker_harness as bh
    def main():
        with bh.Broker() as b:
            st, body = b.api("POST", "/proxy/v1/clients", {"name": "web-1"})
    bh.run(main)
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from airlock_harness import (DaemonDied, SANITIZER_MARKS, TestFailure, api_request,
                             api_request_full, binary, check, check_eq, fail, files_containing,
                             log, require_binaries, run, skip, wait_for)

__all__ = ["Broker", "IpcClient", "DaemonDied", "TestFailure", "check", "check_eq", "fail",
           "files_containing", "log", "run", "skip", "wait_for", "state_snapshot"]

READY_TIMEOUT = 60.0  # only ever reached when something is wrong: be generous
STOP_TIMEOUT = 15.0

_live = []


def _kill_all():
    for b in list(_live):
        b.kill()


import atexit  # noqa: E402

atexit.register(_kill_all)


def state_snapshot(state_dir):
    """The bytes of state.json (None when absent): "nothing changed" checks."""
    try:
        with open(os.path.join(state_dir, "state.json"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class Broker:
    """One airlock-broker on a temp state dir.

    Broker(tmpdir=None, flags=(), no_enforcer=True, start=True)
    Attributes: state_dir, api_socket, ipc_socket, proc, err_path, out_path.
    """

    def __init__(self, tmpdir=None, flags=(), no_enforcer=True, start=True, keep=False):
        require_binaries("airlock-broker")
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="airlock-broker-test-")
        self.keep = keep
        self.state_dir = os.path.join(self.tmpdir, "state")
        self.api_socket = os.path.join(self.state_dir, "api.sock")
        self.ipc_socket = os.path.join(self.state_dir, "ipc.sock")
        self.flags = list(flags)
        self.no_enforcer = no_enforcer
        self.proc = None
        self.out_path = os.path.join(self.tmpdir, "broker.out")
        self.err_path = os.path.join(self.tmpdir, "broker.err")
        if start:
            self.start()

    def command(self):
        argv = [binary("airlock-broker"), "--state-dir", self.state_dir]
        if self.no_enforcer:
            argv.append("--no-enforcer")
        return argv + self.flags

    def spawn(self):
        """Start the process without waiting (for tests of start-up failures)."""
        out = open(self.out_path, "ab")
        err = open(self.err_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, start_new_session=True)
        finally:
            out.close()
            err.close()
        _live.append(self)
        return self.proc

    def start(self):
        self.spawn()
        self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        def ready():
            self.check_alive()
            if not os.path.exists(self.api_socket):
                return False
            try:
                st, _ = self.api("GET", "/proxy/v1/status", timeout=2.0)
            except OSError:
                return False
            return st == 200
        wait_for(ready, timeout, what="airlock-broker to answer (log %s)" % self.err_path)

    def check_alive(self):
        rc = self.proc.poll() if self.proc else None
        if self.proc is None or rc is not None:
            raise DaemonDied("airlock-broker exited with %s\n%s" % (rc, self.log_tail()))

    def api(self, method, path, body=None, raw_body=None, headers=None, timeout=10.0):
        return api_request(self.api_socket, method, path, body=body, raw_body=raw_body,
                           headers=headers, timeout=timeout)

    def api_full(self, method, path, body=None, raw_body=None, headers=None, timeout=10.0):
        """(status, headers with lower-case names, answer)."""
        return api_request_full(self.api_socket, method, path, body=body, raw_body=raw_body,
                                headers=headers, timeout=timeout)

    def must(self, want, method, path, body=None):
        """api() and check the status; returns the answer."""
        st, ans = self.api(method, path, body)
        if st != want:
            raise TestFailure("%s %s %r: got %s %r, want %s" % (method, path, body, st, ans, want))
        return ans

    def must_204(self, method, path, body=None):
        """A DELETE or a revoke: 204 with an empty body; returns the answer's
        headers (lower-case names), where the X-Airlock-* details are."""
        st, hdrs, ans = self.api_full(method, path, body)
        if st != 204 or ans != "":
            raise TestFailure("%s %s %r: got %s %r, want 204 and no body"
                              % (method, path, body, st, ans))
        return hdrs

    def stop(self, sig=signal.SIGTERM, expect_clean=True):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("airlock-broker did not stop within %ss" % STOP_TIMEOUT)
        if self in _live:
            _live.remove(self)
        if expect_clean:
            check_eq(rc, 0, "broker exit status after %s\n%s" % (signal.Signals(sig).name,
                                                                  self.log_tail()))
            check(not os.path.exists(self.api_socket), "api.sock left after a clean stop")
            check(not os.path.exists(self.ipc_socket), "ipc.sock left after a clean stop")
            self.check_sanitizers()
        return rc

    def kill(self, sig=signal.SIGKILL):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(STOP_TIMEOUT)
        if self in _live:
            _live.remove(self)
        return self.proc.returncode if self.proc else None

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.kill()
        if self._own_tmp and not self.keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.proc is not None and self.proc.poll() is None:
                self.stop()
            elif exc_type is not None:
                print("--- broker log ---\n" + self.log_tail(60), flush=True)
        finally:
            self.close()
        return False

    def log_text(self):
        parts = []
        for p in (self.out_path, self.err_path):
            try:
                with open(p, "r", errors="replace") as f:
                    parts.append(f.read())
            except FileNotFoundError:
                pass
        return "".join(parts)

    def log_tail(self, n=40):
        return "\n".join("  | " + ln for ln in self.log_text().splitlines()[-n:])

    def check_sanitizers(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise TestFailure("sanitizer report in the broker log (%s)\n%s"
                                  % (mark, self.log_tail(60)))

    def state(self):
        """state.json parsed."""
        with open(os.path.join(self.state_dir, "state.json")) as f:
            return json.load(f)


class IpcClient:
    """A stand-in enforcer on ipc.sock: frames of 4-byte big-endian length
    + one JSON object (common/ipc.h)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, msg):
        data = json.dumps(msg).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=5.0):
        """One message, or raise socket.timeout / EOFError."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return json.loads(frame)
            left = deadline - time.monotonic()
            try:
                # past the deadline, still take what the kernel already holds
                self.sock.settimeout(left if left > 0 else 0.0)
                chunk = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                raise socket.timeout("no IPC frame within %.3fs" % timeout)
            if not chunk:
                raise EOFError("broker closed the IPC connection")
            self.buf += chunk

    def hello(self):
        self.send({"type": "hello", "proto": 2, "pid": os.getpid()})
        msg = self.recv()
        if msg.get("type") != "policy":
            raise TestFailure("hello answered with %r" % msg)
        return msg

    def close(self):
        self.sock.close()
