#!/usr/bin/env python3
"""Each enforcer worker asks the broker on its own link (hello with
asks_only), apart from the policy link. The enforcer runs on its own (as
under systemd) with its IPC socket pointed at a relay in front of the
broker's ipc.sock. The relay cuts the workers' links and stops listening
while the policy link stays up, so the workers' reconnects fail and their
backoff grows to its cap (250 ms). Meanwhile a request whose rule injects a
secret is refused at once (503 broker-unavailable, well within the ask
deadline) and an inspected request without a secret is served. When the
relay listens again, the very next injected request succeeds: an ask that
finds its link down while the policy link is up connects it at once and
waits for hello, rather than failing until the backoff runs out (which is
what a worker that lost the reconnect race to a restarted broker would
otherwise do)."""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import types

import airlock_harness as h
import broker_harness as bh
import mitmtest as mt
import origins
import proxytest as pt

SECRET = mt.secret_value("link")


class Relay:
    """A unix socket in front of the broker's ipc.sock (same uid: both peer
    checks pass). close_door(): the asks_only connections are cut and the
    socket stops listening (a reconnect fails as if the broker were gone),
    while the policy link already through keeps flowing; open_door()
    listens again."""

    def __init__(self, path, target):
        self.path, self.target = path, target
        self.worker_socks = []
        self.passed = 0
        self.lock = threading.Lock()
        self.open_door()

    def open_door(self):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(16)
        threading.Thread(target=self.accept, args=(self.srv,), daemon=True).start()

    def close_door(self):
        self.srv.close()
        os.unlink(self.path)
        with self.lock:
            for s in self.worker_socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.worker_socks = []

    def accept(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def read_exact(s, n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def serve(self, c):
        try:
            head = self.read_exact(c, 4)
            body = self.read_exact(c, struct.unpack(">I", head)[0])
            if json.loads(body).get("asks_only"):
                with self.lock:
                    self.worker_socks.append(c)
                    self.passed += 1
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.target)
            b.sendall(head + body)
        except (OSError, EOFError, ValueError):
            c.close()
            return
        for src, dst in ((c, b), (b, c)):
            threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.srv.close()


def auth_seen(body):
    return [v for k, v in json.loads(body)["headers"] if k.lower() == "authorization"]


def main():
    h.require_binaries("airlock-enforcer", "airlock-broker")
    with bh.Broker() as b:
        ca = origins.TestCA(b.tmpdir, names=("origin.test",))
        with origins.HTTPOrigin(tls=ca) as o:
            tok = b.must(201, "POST", "/proxy/v1/clients", {"name": "web-1"})["token"]
            b.must(201, "POST", "/proxy/v1/secrets", {"name": "api-key", "host": "origin.test", "value": SECRET})
            b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "origin.test", "ports": [o.port],
                                                    "paths": ["/echo/secret"], "secret": "api-key"})
            b.must(201, "POST", "/proxy/v1/allows", {"client": "web-1", "host": "origin.test", "ports": [o.port],
                                                    "paths": ["/echo/plain"]})
            relay = Relay(os.path.join(b.tmpdir, "relay.sock"), b.ipc_socket)
            port = h.free_port()
            err_path = os.path.join(b.tmpdir, "enforcer.err")
            argv = [h.binary("airlock-enforcer"), "--state-dir", b.state_dir, "--ipc-socket", relay.path,
                    "--http-port", str(port), "--https-port", "0", "--workers", "2",
                    "--upstream-ca", ca.ca_cert] + pt.pins("origin.test", o.port)
            with open(err_path, "wb") as err:
                enf = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                       start_new_session=True)
            try:
                al = types.SimpleNamespace(http_port=port, ca_cert=os.path.join(b.state_dir, "ca.pem"))
                hostv = "origin.test:%d" % o.port

                def get(path):
                    c = mt.Inner(al, tok, "origin.test", o.port)
                    if c.connect_status != 200:   # no policy yet
                        c.close()
                        return c.connect_status, None, b"", 0.0
                    try:
                        t0 = time.monotonic()
                        st, hd, body = c.get(path, hostv)
                        return st, hd.get("x-airlock-reason"), body, time.monotonic() - t0
                    finally:
                        c.close()

                def plain_ok():
                    try:
                        return get("/echo/plain")[0] == 200
                    except (OSError, EOFError):
                        return False   # not listening yet
                h.wait_for(plain_ok, timeout=10, what="the policy over the relay")
                h.wait_for(lambda: relay.passed >= 2, timeout=10, what="both workers' links")
                h.check_eq(get("/echo/secret")[0], 200, "injected while every link is up")

                relay.close_door()
                # for 4 s the workers' links fail to reconnect (their backoff
                # reaches its 250 ms cap); injection is refused at once all along
                t_end = time.monotonic() + 4.0
                n = 0
                while time.monotonic() < t_end:
                    st, why, _, took = get("/echo/secret")
                    h.check_eq((st, why), (503, "broker-unavailable"), "injection while the worker links are down")
                    h.check(took < 1.0, "refused at once, not at the ask deadline (%.3fs)" % took)
                    n += 1
                h.check(n >= 3, "asked %d times" % n)
                h.check_eq(get("/echo/plain")[0], 200, "no secret, no broker needed")

                relay.open_door()
                st, why, body, took = get("/echo/secret")
                h.check_eq((st, why), (200, None), "the first injected request once links can connect")
                h.check(mt.carried(body, "Bearer " + SECRET), "the secret injected")
                h.check(took < 1.0, "without waiting out the backoff (%.3fs)" % took)
                for _ in range(4):
                    h.check_eq(get("/echo/secret")[0], 200, "and the next ones")

                enf.send_signal(signal.SIGTERM)
                h.check_eq(enf.wait(15), 0, "enforcer exit status")
                with open(err_path, errors="replace") as f:
                    text = f.read()
                for mark in h.SANITIZER_MARKS:
                    h.check(mark not in text, "sanitizer report in the enforcer log:\n%s" % text[-3000:])
                h.check(SECRET not in text and SECRET not in b.log_text(), "no secret in the logs")
            finally:
                if enf.poll() is None:
                    enf.kill()
                    enf.wait(5)
                relay.close()


h.run(main)
