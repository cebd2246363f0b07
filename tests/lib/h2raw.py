"""h2raw: a raw HTTP/2 client for the HTTP/2 tests (tests/integration/test-h2-*):
frames built and read one by one (hyperframe, hpack from Debian's
python3-h2 family), so a test can send what no well-behaved client would
(floods, resets, oversized blocks) through an intercepted tunnel.

    c = H2Raw(al, tok, "origin.test", port)     # CONNECT, TLS with ALPN h2, preface
    c = open_h2(al, tok, "origin.test", port)   # the same, h2 checked, SETTINGS read
    c.request(1, "GET", "/echo/a", authority)   # HEADERS (END_STREAM)
    c.wait(lambda: c.done(1))                   # reads frames until true
    c.streams[1]["status"], c.goaway            # what came back
"""
import socket
import sys
import time

try:
    import hpack
    import hyperframe.frame as hf
except ImportError:   # Debian's packages, when the tests run on another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import hpack
        import hyperframe.frame as hf
    except ImportError:
        hpack = hf = None

import mitmtest as mt

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
          6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
          11: "ENHANCE_YOUR_CALM"}


def available():
    return hpack is not None


def open_h2(al, tok, host, port, what="h2 negotiated"):
    """An H2Raw whose tunnel negotiated h2 (checked) and whose server SETTINGS
    arrived: the start of every test that speaks raw frames."""
    import airlock_harness as h
    c = H2Raw(al, tok, host, port)
    h.check_eq(c.alpn, "h2", what)
    c.wait(lambda: c.settings, what="the server's SETTINGS")
    return c


class H2Raw:
    def __init__(self, al, tok, host, port, timeout=10.0):
        self.inner = mt.Inner(al, tok, host, port, alpn=["h2"], timeout=timeout)
        self.s = self.inner.s
        self.alpn = self.s.selected_alpn_protocol()
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.buf = b""
        self.streams = {}
        self.goaway = None
        self.closed = False
        self.settings = {}
        self.pings = 0
        self.block = None   # (stream, fragments) of a header block being continued
        self.send(PREFACE + hf.SettingsFrame(0).serialize())

    # ---- sending ----
    def send(self, data):
        self.s.sendall(data)

    def block_for(self, hdrs):
        return self.enc.encode(hdrs)

    def headers_frame(self, sid, hdrs, end_stream=True, end_headers=True, block=None):
        f = hf.HeadersFrame(sid)
        f.data = block if block is not None else self.block_for(hdrs)
        f.flags = set()
        if end_stream:
            f.flags.add("END_STREAM")
        if end_headers:
            f.flags.add("END_HEADERS")
        return f.serialize()

    def request(self, sid, method, path, authority, extra=(), end_stream=True):
        hdrs = [(":method", method), (":scheme", "https"), (":path", path), (":authority", authority)]
        hdrs += list(extra)
        self.send(self.headers_frame(sid, hdrs, end_stream=end_stream))

    def data(self, sid, payload, end_stream=False):
        f = hf.DataFrame(sid, data=payload)
        if end_stream:
            f.flags.add("END_STREAM")
        return f.serialize()

    def rst(self, sid, code=8):
        return hf.RstStreamFrame(sid, error_code=code).serialize()

    def ping(self, payload=b"12345678"):
        return hf.PingFrame(0, opaque_data=payload).serialize()

    def settings_frame(self, entries):
        return hf.SettingsFrame(0, settings=dict(entries)).serialize()

    def window_update(self, sid, inc):
        # hyperframe refuses increments out of range: written by hand
        return (4).to_bytes(3, "big") + bytes([8, 0]) + sid.to_bytes(4, "big") + inc.to_bytes(4, "big")

    def continuation(self, sid, frag, end_headers=False):
        f = hf.ContinuationFrame(sid, data=frag)
        if end_headers:
            f.flags.add("END_HEADERS")
        return f.serialize()

    # ---- reading ----
    def _frame(self, f):
        st = self.streams.setdefault(f.stream_id, {"status": None, "headers": [], "data": b"", "ended": False,
                                                   "rst": None}) if f.stream_id else None
        if isinstance(f, hf.SettingsFrame):
            if "ACK" not in f.flags:
                self.settings.update(f.settings)
                self.send(hf.SettingsFrame(0, flags=["ACK"]).serialize())
        elif isinstance(f, hf.PingFrame):
            if "ACK" in f.flags:
                self.pings += 1
        elif isinstance(f, hf.GoAwayFrame):
            self.goaway = ERRORS.get(f.error_code, str(f.error_code))
        elif isinstance(f, (hf.HeadersFrame, hf.ContinuationFrame)):
            frags = (self.block[1] if self.block else b"") + f.data
            if "END_HEADERS" not in f.flags:
                self.block = (f.stream_id, frags)
                return
            self.block = None
            hdrs = [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                    for k, v in self.dec.decode(frags)]
            for k, v in hdrs:
                if k == ":status" and st["status"] is None:
                    st["status"] = int(v)
            st["headers"] += hdrs
            if "END_STREAM" in getattr(f, "flags", ()):
                st["ended"] = True
        elif isinstance(f, hf.DataFrame):
            st["data"] += f.data
            if f.data:
                # give the window back at once: the tests measure airlock, not us
                self.send(self.window_update(0, len(f.data)) + self.window_update(f.stream_id, len(f.data)))
            if "END_STREAM" in f.flags:
                st["ended"] = True
        elif isinstance(f, hf.RstStreamFrame):
            st["rst"] = ERRORS.get(f.error_code, str(f.error_code))

    def pump(self, timeout=0.2):
        self.s.settimeout(timeout)
        try:
            chunk = self.s.recv(65536)
        except (socket.timeout, TimeoutError):
            return
        except (ConnectionError, OSError):
            self.closed = True
            return
        if not chunk:
            self.closed = True
            return
        self.buf += chunk
        while len(self.buf) >= 9:
            f, length = hf.Frame.parse_frame_header(memoryview(self.buf[:9]))
            if len(self.buf) < 9 + length:
                break
            f.parse_body(memoryview(self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]
            self._frame(f)

    def wait(self, pred, timeout=10.0, what="the answer"):
        end = time.monotonic() + timeout
        while not pred():
            if self.closed or time.monotonic() > end:
                return pred()
            self.pump()
        return True

    def drain_raw(self, timeout=20.0):
        """Read until the server closes, counting frames by header only
        (a flood's answers are many): (PING acks, GOAWAY code or None,
        closed by the server)."""
        data = bytearray(self.buf)
        end = time.monotonic() + timeout
        self.s.settimeout(2)
        closed = False
        while time.monotonic() < end:
            try:
                chunk = self.s.recv(1 << 20)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
        acks, goaway, i = 0, None, 0
        while i + 9 <= len(data):
            length = int.from_bytes(data[i:i + 3], "big")
            typ, flags = data[i + 3], data[i + 4]
            if typ == 6 and flags & 1:
                acks += 1
            elif typ == 7 and i + 17 <= len(data):
                goaway = ERRORS.get(int.from_bytes(data[i + 13:i + 17], "big"))
            i += 9 + length
        return acks, goaway, closed

    def done(self, sid):
        st = self.streams.get(sid)
        return bool(st and (st["ended"] or st["rst"]))

    def header(self, sid, name):
        return next((v for k, v in self.streams.get(sid, {}).get("headers", []) if k == name), None)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
