"""HTTP/2 exchanges of one client share one upstream HTTP/2 connection:
streams sent together on one sandbox connection reach an HTTP/2-only
origin (tests/lib/h2origin.py, which counts the TCP connections it
accepts) over ONE connection, each with its own injected bearer; another
client's streams to the same origin, at the same time, go over a
connection of their own with their own secret (never shared across
clients). Past the origin's SETTINGS_MAX_CONCURRENT_STREAMS the streams
wait on that connection for one to end: never more open than it allows.
An upstream connection that dies takes only its own streams: those of
idempotent requests without a body are sent once more on a new
connection (the one that kills its connection again then gets 502), the
other client's streams, on their own connection, are answered. A sandbox
connection cut while its streams' answers are being written ends
without harm to the enforcer (it must not be torn down beneath the stream
whose write found it gone)."""
import socket
import struct
import sys
import threading
import time

import airlock_harness as h
import h2origin
import h2raw
import mitmtest as mt
import proxytest as pt

N = 8          # streams of web-1 at once
M = 3          # of web-2
MAX = 4        # the origin's SETTINGS_MAX_CONCURRENT_STREAMS in the last part


def main():
    if not h2raw.available() or not h2origin.available():
        print("SKIP: python3-h2 (h2, hpack, hyperframe) not installed")
        sys.exit(77)
    s = mt.Setup(origin=False)
    big = h2origin.H2Origin(s.ca.leaf_cert, s.ca.leaf_key, max_streams=100)
    small = h2origin.H2Origin(s.ca.leaf_cert, s.ca.leaf_key, max_streams=MAX)
    s.flags += pt.pins("origin.test", big.port) + pt.pins("git.test", small.port)
    s.names = ()
    with big, small, s:
        al = s.al
        secrets = {}
        for name in ("web-1", "web-2", "web-3"):
            tok = pt.client(al, name)
            sec = mt.secret_value(name)
            mt.secret(al, "key-" + name, "origin.test" if name != "web-3" else "git.test", sec)
            host, port = ("origin.test", big.port) if name != "web-3" else ("git.test", small.port)
            pt.allow(al, name, host, "--port", str(port), "--path", "/r/*", "--secret", "key-" + name)
            secrets[name] = (tok, sec, host, port)

        def run(name, count, out, paths=None):
            tok, _, host, port = secrets[name]
            c = h2raw.open_h2(al, tok, host, port, "%s: h2 toward airlock" % name)
            auth = "%s:%d" % (host, port)
            sids = [1 + 2 * i for i in range(count)]
            for i, sid in enumerate(sids):
                path = paths[i] if paths else "/r/%s/%d" % (name, sid)
                c.request(sid, "GET", path, auth, extra=[("authorization", "Bearer sandbox-fake")])
            c.wait(lambda: all(c.done(x) for x in sids), timeout=30, what="%s's answers" % name)
            out[name] = [(c.streams.get(x, {}).get("status"), c.streams.get(x, {}).get("data")) for x in sids]
            c.close()

        # web-1 and web-2 at the same time, to the same origin
        got = {}
        ts = [threading.Thread(target=run, args=("web-1", N, got)), threading.Thread(target=run, args=("web-2", M, got))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        for name, count in (("web-1", N), ("web-2", M)):
            h.check_eq([st for st, _ in got.get(name, [])], [200] * count, "%s: every stream answered" % name)
        reqs = list(big.requests)
        by = {name: [(n, a) for n, p, a in reqs if p.startswith("/r/%s/" % name)] for name in ("web-1", "web-2")}
        h.log("origin: %d connections; %r" % (big.conns, [(n, p) for n, p, _ in reqs]))
        conns1 = {n for n, _ in by["web-1"]}
        conns2 = {n for n, _ in by["web-2"]}
        h.check_eq(len(by["web-1"]), N, "web-1: %d requests reached the origin" % N)
        h.check_eq(len(conns1), 1, "web-1's %d streams went over one upstream connection (%s)" % (N, sorted(conns1)))
        h.check_eq(len(conns2), 1, "web-2's %d streams went over one upstream connection (%s)" % (M, sorted(conns2)))
        h.check(not conns1 & conns2, "web-1 and web-2 never share a connection (%s, %s)" % (conns1, conns2))
        h.check_eq(big.conns, 2, "the origin accepted two connections in all")
        h.check(big.peak >= 2, "streams were open together on one connection (peak %d)" % big.peak)
        for name in ("web-1", "web-2"):
            want = "Bearer " + secrets[name][1]
            h.check(all(a == want for _, a in by[name]), "%s: each stream carried its own client's secret" % name)
        # the body names the connection: what the sandbox got matches
        h.check(all(d == b"conn=%d\n" % min(conns1) for _, d in got["web-1"]), "web-1's answers came back whole")

        # an origin that allows MAX streams at once: 2 MAX streams share its
        # connection, never more than MAX open on it
        got = {}
        run("web-3", 2 * MAX, got)
        h.check_eq([st for st, _ in got.get("web-3", [])], [200] * (2 * MAX), "web-3: every stream answered")
        conns3 = {n for n, p, _ in small.requests}
        h.log("small origin: %d connections, peak %d" % (small.conns, small.peak))
        h.check(small.peak <= MAX, "never more than %d streams open on one connection (peak %d)" % (MAX, small.peak))
        h.check_eq(len(conns3), 1, "%d streams past a cap of %d waited on the one connection" % (2 * MAX, MAX))
        h.check_eq(small.peak, MAX, "the origin's cap was reached: streams were open together")
        # web-1's connection dies under three of its streams; web-2's
        # streams, at the same time on their own connection, are answered
        seen = len(big.requests)
        got = {}
        ts = [threading.Thread(target=run, args=("web-1", 3, got, ["/r/web-1/a", "/r/web-1/b", "/r/web-1/die"])),
              threading.Thread(target=run, args=("web-2", 2, got))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        later = big.requests[seen:]
        h.log("origin after: %r" % [(n, p) for n, p, _ in later])
        h.check_eq([st for st, _ in got.get("web-1", [])], [200, 200, 502],
                   "the dead connection's GETs retried on a new one; the one that kills it again: 502")
        h.check_eq([st for st, _ in got.get("web-2", [])], [200] * 2, "the other client's streams answered")
        dies = [n for n, p, _ in later if p == "/r/web-1/die"]
        h.check_eq(len(set(dies)), 2, "the dying request was sent twice, on two connections (%s)" % dies)
        c1 = {n for n, p, _ in later if p.startswith("/r/web-1/")}
        c2 = {n for n, p, _ in later if p.startswith("/r/web-2/")}
        h.check(not c1 & c2, "web-1's retries never went over web-2's connection (%s, %s)" % (c1, c2))
        got = {}
        run("web-1", 2, got)
        h.check_eq([st for st, _ in got.get("web-1", [])], [200] * 2, "web-1 is answered again after it")
        # sandbox connections cut (RST) while many answers come back at once
        tok, _, host, port = secrets["web-1"]
        for rnd in range(30):
            c = h2raw.open_h2(al, tok, host, port)
            for i in range(40):
                c.request(1 + 2 * i, "GET", "/r/web-1/cut%d" % i, "%s:%d" % (host, port))
            # the origin answers 0.5 s after each request: cut just as the answers flow
            time.sleep(0.40 + 0.007 * rnd)
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.s.close()
        time.sleep(1)
        al.check_alive()
        got = {}
        run("web-1", 2, got)
        h.check_eq([st for st, _ in got.get("web-1", [])], [200] * 2, "answered after the cut connections")
        for name in secrets:
            mt.check_no_secret(al, secrets[name][1])
        al.check_alive()


h.run(main)
