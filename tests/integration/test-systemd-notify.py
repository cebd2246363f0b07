#!/usr/bin/env python3
"""airlock under systemd, without systemd: the broker started as the unit
starts it (no flags but the ports; $STATE_DIRECTORY, $RUNTIME_DIRECTORY and
$NOTIFY_SOCKET set, the last a datagram socket this test owns) keeps its
state in the state directory and its sockets in the runtime one, and sends
READY=1 (libsystemd's sd_notify) only once the enforcer listens: at that
moment both proxy ports already accept. SIGHUP says RELOADING=1 then
READY=1; SIGTERM says STOPPING=1. Negative twin: with the proxy port
taken, no READY=1 ever comes and the broker exits 1."""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import airlock_harness as h


class Notify:
    def __init__(self, path, ports):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.ports = ports
        self.msgs = []          # (message, both ports open when it came)
        self.done = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done:
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            opened = all(h.port_open(p) for p in self.ports)
            self.msgs.append((m, opened))

    def has(self, word):
        return [o for m, o in self.msgs if word in m.split("\n")]

    def close(self):
        self.done = True
        self.t.join(2)
        self.sock.close()


def start(tmp, ports, notify_path):
    env = dict(os.environ, STATE_DIRECTORY=os.path.join(tmp, "state"),
               RUNTIME_DIRECTORY=os.path.join(tmp, "run"), NOTIFY_SOCKET=notify_path)
    env.pop("AIRLOCK_STATE_DIR", None)
    os.makedirs(os.path.join(tmp, "state"), mode=0o700)
    os.makedirs(os.path.join(tmp, "run"), mode=0o750)
    err = open(os.path.join(tmp, "broker.err"), "ab")
    p = subprocess.Popen([h.binary("airlock-broker"), "--http-port", str(ports[0]),
                          "--https-port", str(ports[1]), "--config", "/dev/null"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                         start_new_session=True)
    err.close()
    return p


def main():
    h.require_binaries("airlock-broker", "airlock-enforcer")
    with tempfile.TemporaryDirectory(prefix="airlock-notify-") as tmp:
        ports = [h.free_port(), h.free_port()]
        n = Notify(os.path.join(tmp, "notify"), ports)
        p = start(tmp, ports, os.path.join(tmp, "notify"))
        try:
            ready = h.wait_for(lambda: n.has("READY=1") or p.poll() is not None, timeout=60,
                               what="READY=1")
            h.check(p.poll() is None, "the broker exited: " + open(tmp + "/broker.err").read())
            h.check_eq(ready, [True], "READY=1 once, with both proxy ports accepting")
            h.check(os.path.exists(os.path.join(tmp, "run", "api.sock")), "api.sock in $RUNTIME_DIRECTORY")
            h.check(os.path.exists(os.path.join(tmp, "run", "ipc.sock")), "ipc.sock in $RUNTIME_DIRECTORY")
            h.check(not os.path.exists(os.path.join(tmp, "state", "api.sock")), "api.sock in the state dir")
            for f in ("seal.key", "ca.pem", "enforcer.pid"):
                h.check(os.path.exists(os.path.join(tmp, "state", f)), f + " in $STATE_DIRECTORY")
            st, _ = h.api_request(os.path.join(tmp, "run", "api.sock"), "GET", "/proxy/v1/status")
            h.check_eq(st, 200, "API on the runtime dir's socket")

            p.send_signal(signal.SIGHUP)
            h.wait_for(lambda: n.has("RELOADING=1") and len(n.has("READY=1")) >= 2, timeout=10,
                       what="RELOADING=1 then READY=1")
            p.send_signal(signal.SIGTERM)
            h.check_eq(p.wait(30), 0, "exit status")
            h.wait_for(lambda: n.has("STOPPING=1"), timeout=5, what="STOPPING=1")
            h.check(not os.path.exists(os.path.join(tmp, "run", "api.sock")), "api.sock left")
            text = open(os.path.join(tmp, "broker.err")).read()
            for mark in h.SANITIZER_MARKS:
                h.check(mark not in text, "sanitizer report:\n" + text)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            n.close()

    # negative twin: the port is taken, READY=1 never comes
    with tempfile.TemporaryDirectory(prefix="airlock-notify-") as tmp:
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        ports = [holder.getsockname()[1], h.free_port()]
        n = Notify(os.path.join(tmp, "notify"), ports)
        p = start(tmp, ports, os.path.join(tmp, "notify"))
        try:
            h.check_eq(p.wait(30), 1, "exit status with the port taken")
            time.sleep(0.3)  # let the last datagram, if any, arrive
            h.check_eq(n.has("READY=1"), [], "READY=1 for a start that failed")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            n.close()
            holder.close()


h.run(main)
