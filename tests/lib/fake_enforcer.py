"""fake_enforcer: what a stand-in airlock-enforcer (a Python script the
broker runs with --enforcer, in the supervision tests) needs to do for the
broker to count it as up: connect to the --ipc-socket it was given, say
hello, take the policy, acknowledge it and say "listening" (common/ipc.h),
as the real enforcer does; then keep acknowledging policies and reconnect
when the broker goes away (a broker killed with -9 and the next one that
adopts it).

    import fake_enforcer
    fake_enforcer.serve_in_background(sys.argv)   # returns at once
"""

import json
import os
import socket
import struct
import threading
import time


def _ipc_path(argv):
    for i, a in enumerate(argv):
        if a == "--ipc-socket" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--ipc-socket="):
            return a.split("=", 1)[1]
    raise SystemExit("fake enforcer: no --ipc-socket")


def _send(sock, msg):
    data = json.dumps(msg).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def _frames(sock):
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            frame, buf = buf[4:4 + n], buf[4 + n:]
            yield json.loads(frame)


def _one_connection(path, ports, acked):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        _send(s, {"type": "hello", "proto": 2, "pid": os.getpid()})
        _send(s, {"type": "listening", "http_port": ports[0], "https_port": ports[1]})
        for msg in _frames(s):
            if msg.get("type") == "policy":
                _send(s, {"type": "policy-ack", "version": msg["version"]})
                acked.set()


def _loop(path, ports, acked):
    while True:
        try:
            _one_connection(path, ports, acked)
        except Exception:   # noqa: BLE001 - a broker killed mid-frame; the thread must go on
            pass
        time.sleep(0.05)


def serve_in_background(argv, ports=(0, 0)):
    """Speak to the broker from a daemon thread, reconnecting forever.
    Returns an Event set once a policy was acknowledged (the broker then
    counts this enforcer as up)."""
    acked = threading.Event()
    t = threading.Thread(target=_loop, args=(_ipc_path(argv), ports, acked), daemon=True)
    t.start()
    return acked
