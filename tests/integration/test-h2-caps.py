"""The HTTP/2 caps of common/limits.h, each at the cap and one past it, on
raw frames through an intercepted tunnel (tests/lib/h2raw.py):
concurrent streams (AL_H2_MAX_STREAMS: one past the acknowledged setting
is a connection error), the HPACK table (AL_H2_HPACK_TABLE_MAX: a larger table
size update is a COMPRESSION_ERROR), CONTINUATION frames per block
(AL_H2_MAX_CONTINUATIONS, CVE-2024-27316), rapid reset (AL_H2_RESET_BURST,
CVE-2023-44487: GOAWAY past the burst), SETTINGS entries
(AL_H2_MAX_SETTINGS), window
updates that overflow the window or add nothing. After each, a new
connection is answered: the enforcer lives and other connections never
noticed."""
import socket
import sys

import airlock_harness as h
import h2raw
import mitmtest as mt
import proxytest as pt

MAX_STREAMS = 100
HPACK_TABLE = 4096
CONTINUATIONS = 8
RESET_BURST = 200
RESET_RATE = 33
MAX_SETTINGS = 32


def main():
    if not h2raw.available():
        print("SKIP: python3-h2 (hpack, hyperframe) not installed")
        sys.exit(77)
    # a short idle timeout: a flood with no stream open ends on it at the latest
    with mt.Setup(flags=["--idle-timeout", "3s"]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*")
        auth = "origin.test:%d" % port

        def conn():
            return h2raw.open_h2(al, tok, "origin.test", port)

        def alive(what):
            c = conn()
            c.request(1, "GET", "/echo/alive", auth)
            c.wait(lambda: c.done(1))
            h.check_eq(c.streams.get(1, {}).get("status"), 200, "a new connection is answered after %s" % what)
            c.close()

        c = conn()
        h.check_eq(c.settings.get(3), MAX_STREAMS, "SETTINGS_MAX_CONCURRENT_STREAMS")
        h.check_eq(c.settings.get(1), HPACK_TABLE, "SETTINGS_HEADER_TABLE_SIZE")
        c.close()

        # concurrent streams: requests whose bodies never end hold their
        # streams open (denied ones: no upstream is dialled for them)
        c = conn()
        for i in range(MAX_STREAMS + 1):
            c.request(1 + 2 * i, "POST", "/held/%d" % i, auth, end_stream=False)
        last = 1 + 2 * MAX_STREAMS
        c.wait(lambda: c.done(last - 2) and c.goaway)
        h.check_eq(c.streams[last - 2]["status"], 403, "stream %d (the cap) is answered" % MAX_STREAMS)
        # the client acknowledged the setting: one past it is a connection
        # error for nghttp2 (RFC 9113 5.1.2 allows it)
        h.check_eq(c.goaway, "PROTOCOL_ERROR", "stream %d: GOAWAY" % (MAX_STREAMS + 1))
        h.check(not c.done(last), "stream %d never answered" % (MAX_STREAMS + 1))
        c.close()

        # HPACK: a dynamic table size update to the cap, then past it
        for size, ok in ((HPACK_TABLE, True), (HPACK_TABLE + 1, False)):
            c = conn()
            upd = bytearray()
            # 001xxxxx, 5-bit prefix integer (RFC 7541 5.1, 6.3)
            v = size - 31
            upd.append(0x20 | 31)
            while v >= 128:
                upd.append((v % 128) + 128)
                v //= 128
            upd.append(v)
            block = bytes(upd) + c.block_for([(":method", "GET"), (":scheme", "https"), (":path", "/echo/t"),
                                             (":authority", auth)])
            c.send(c.headers_frame(1, None, block=block))
            c.wait(lambda: c.done(1) or c.goaway)
            if ok:
                h.check_eq(c.streams.get(1, {}).get("status"), 200, "table size %d accepted" % size)
            else:
                h.check_eq(c.goaway, "COMPRESSION_ERROR", "table size %d: connection error" % size)
            c.close()

        # CONTINUATION: the cap's worth of frames after HEADERS, then one more
        for n, ok in ((CONTINUATIONS, True), (CONTINUATIONS + 1, False)):
            c = conn()
            block = c.block_for([(":method", "GET"), (":scheme", "https"), (":path", "/echo/c"),
                                 (":authority", auth)] + [("x-f%d" % i, "v" * 10) for i in range(n)])
            step = len(block) // (n + 1) + 1
            frags = [block[i:i + step] for i in range(0, len(block), step)]
            h.check_eq(len(frags), n + 1, "the block cut in %d pieces" % (n + 1))
            out = c.headers_frame(1, None, end_headers=False, block=frags[0])
            for i, fr in enumerate(frags[1:]):
                out += c.continuation(1, fr, end_headers=i == len(frags) - 2)
            c.send(out)
            c.wait(lambda: c.done(1) or c.goaway)
            if ok:
                h.check_eq(c.streams.get(1, {}).get("status"), 200, "%d CONTINUATION frames accepted" % n)
            else:
                h.check(c.goaway is not None and not c.done(1), "%d CONTINUATION frames: GOAWAY (%s)" % (n, c.goaway))
            c.close()

        # rapid reset: streams opened and reset at once, the burst and one more
        # (the bucket refills AL_H2_RESET_RATE a second, on whole seconds: a
        # burst that straddles one gets that many more, so "past it" is
        # burst + rate + 1 to be past it whatever the clock does)
        for n, ok in ((RESET_BURST, True), (RESET_BURST + RESET_RATE + 1, False)):
            c = conn()
            out = b""
            for i in range(n):
                sid = 1 + 2 * i
                out += c.headers_frame(sid, [(":method", "GET"), (":scheme", "https"), (":path", "/echo/r"),
                                             (":authority", auth)]) + c.rst(sid)
            c.send(out)
            probe = 1 + 2 * n
            c.request(probe, "GET", "/echo/probe", auth)
            c.wait(lambda: c.done(probe) or c.goaway)
            if ok:
                h.check_eq(c.streams.get(probe, {}).get("status"), 200, "%d resets: still answered" % n)
                h.check(c.goaway is None, "no GOAWAY after %d resets" % n)
            else:
                h.check(c.goaway is not None, "%d resets in a burst: GOAWAY" % n)
            c.close()

        # SETTINGS: as many entries as allowed, then one more
        for n, ok in ((MAX_SETTINGS, True), (MAX_SETTINGS + 1, False)):
            c = conn()
            c.send((6 * n).to_bytes(3, "big") + bytes([4, 0]) + (0).to_bytes(4, "big") +
                   b"".join((4).to_bytes(2, "big") + (65535).to_bytes(4, "big") for _ in range(n)))
            c.request(1, "GET", "/echo/s", auth)
            c.wait(lambda: c.done(1) or c.goaway)
            if ok:
                h.check_eq(c.streams.get(1, {}).get("status"), 200, "%d SETTINGS entries accepted" % n)
            else:
                h.check(c.goaway is not None, "%d SETTINGS entries: GOAWAY" % n)
            c.close()

        # the PING flood: test-h2-ping-flood.py (a known bug, XFAIL)

        # window updates: one that would pass 2^31-1, one of zero
        for sid, inc, want in ((0, 2 ** 31 - 1, "FLOW_CONTROL_ERROR"), (0, 0, "PROTOCOL_ERROR")):
            c = conn()
            c.send(c.window_update(sid, inc))
            c.wait(lambda: c.goaway)
            h.check_eq(c.goaway, want, "WINDOW_UPDATE of %d on the connection" % inc)
            c.close()

        alive("every flood")
        al.check_alive()


h.run(main)
