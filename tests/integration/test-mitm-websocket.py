"""WebSocket through interception (Codex sends its prompts this way): the
Upgrade request is checked and injected like any request, forwarded with its
Upgrade/Connection/Sec-WebSocket-* headers, and after the origin's 101 both
sides are spliced. permessage-deflate passes end to end (a compressed frame
with RSV1 set comes back intact) when nothing is injected; an upgrade that
injects a secret offers no extension, so the frames coming back can be
scrubbed of it. Revoking the rule closes the WebSocket. The upgrade is
logged when it is answered (upgrade=websocket, while frames still flow) and
again at close with the byte counts (upgrade=websocket-closed).
Twin: "Upgrade: h2c" never goes upstream (the request is forwarded as plain
HTTP/1.1 without it)."""
import base64
import hashlib
import json
import os
import struct
import zlib

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

SECRET = mt.secret_value("ws")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_frame(recv):
    b0, b1 = recv(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv(8))[0]
    mask = recv(4) if b1 & 0x80 else None
    data = recv(n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b0, data


def frame(b0, data, mask=None):
    n = len(data)
    head = bytes([b0])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        head += mask
    return head + data


class WS(origins._Handler):
    def _any(self):
        if self.path not in ("/ws", "/ws-plain"):
            return super()._any()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        key = self.headers["Sec-WebSocket-Key"].encode()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", acc)
        if "permessage-deflate" in self.headers.get("Sec-WebSocket-Extensions", ""):
            self.send_header("Sec-WebSocket-Extensions", "permessage-deflate")
        self.end_headers()
        self.wfile.flush()

        def recv(n):
            out = b""
            while len(out) < n:
                d = self.rfile.read(n - len(out))
                if not d:
                    raise EOFError
                out += d
            return out
        try:
            while True:
                b0, data = read_frame(recv)
                if b0 & 0x0F == 8:
                    self.wfile.write(frame(0x88, data))
                    return None
                self.wfile.write(frame(b0, data))   # echo as is (RSV1 kept)
                self.wfile.flush()
        except (EOFError, OSError):
            pass
        self.close_connection = True
        return None

    do_GET = _any


def deflate(msg):
    c = zlib.compressobj(wbits=-15)
    out = c.compress(msg) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]   # RFC 7692: drop the trailing 00 00 ff ff


def inflate(data):
    return zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")


def main():
    with mt.Setup(handler=WS) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "k", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/ws", "--secret", "k")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/ws-plain")

        def upgrade(path, auth):
            c = mt.Inner(al, tok, "origin.test", port)
            key = base64.b64encode(os.urandom(16)).decode()
            c.send(("GET %s HTTP/1.1\r\nHost: origin.test:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                    "Authorization: %s\r\n\r\n" % (path, port, key, auth)).encode())
            st, hd = c.read_head()
            h.check_eq(st, 101, "%s: 101 Switching Protocols through airlock" % path)
            want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            h.check_eq(hd.get("sec-websocket-accept"), want, "%s: accept key passed intact" % path)

            def recv(n):
                while len(c.buf) < n:
                    c._fill()
                out, c.buf = c.buf[:n], c.buf[n:]
                return out
            return c, hd, recv

        # nothing injected: the extension is negotiated end to end, frames pass as they are
        p, hd, precv = upgrade("/ws-plain", "Bearer sandbox-own")
        h.check_eq(hd.get("sec-websocket-extensions"), "permessage-deflate", "extension negotiated end to end")
        h.check_eq(s.origin.requests[-1][2].get("Authorization"), "Bearer sandbox-own", "the sandbox's own header")
        for i, msg in enumerate([b"hello", json.dumps({"type": "response.create", "n": "x" * 70000}).encode()]):
            p.send(frame(0xC1, deflate(msg), mask=os.urandom(4)))   # FIN + RSV1 + text
            b0, data = read_frame(precv)
            h.check_eq(b0, 0xC1, "frame %d: RSV1 (compressed) kept" % i)
            h.check_eq(inflate(data), msg, "frame %d echoed through the splice" % i)
        p.close()

        # a secret injected: no extension is offered upstream (the frames that
        # come back are scanned), and a frame quoting the secret comes back scrubbed
        c, hd, recv = upgrade("/ws", "Bearer placeholder")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/ws", "the upgrade logged while it is open")
        h.check_eq((d["verdict"], d.get("status"), d.get("upgrade")), ("allow", "101", "websocket"),
                   "answered: upgrade=websocket at once")
        h.check(hd.get("sec-websocket-extensions") is None, "no extension once a secret is injected: %r" % hd)
        seen = s.origin.requests[-1][2]
        h.check(seen.get("Authorization") == "Bearer " + SECRET, "the upgrade request was injected")
        h.check(seen.get("Sec-WebSocket-Extensions") is None, "no extension offered upstream")
        h.check_eq(seen.get("Upgrade"), "websocket", "Upgrade header forwarded")
        for i, msg in enumerate([b"hello", json.dumps({"type": "response.create", "n": "x" * 70000}).encode(),
                                 ("the token is " + SECRET + "!").encode()]):
            c.send(frame(0x81, msg, mask=os.urandom(4)))
            b0, data = read_frame(recv)
            h.check_eq(b0, 0x81, "frame %d: a text frame back" % i)
            if SECRET.encode() in msg:
                h.check(SECRET.encode() not in data and len(data) == len(msg), "frame %d: the secret scrubbed" % i)
            else:
                h.check_eq(data, msg, "frame %d echoed through the splice" % i)
        pt.revoke(al, "web-1", "origin.test")
        h.check(c.closed(timeout=5), "revoking the rule closes the WebSocket")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/ws" and d.get("upgrade") == "websocket-closed",
                             "the WebSocket's closing line")
        h.check_eq((d["verdict"], d.get("status"), d.get("inject"), d.get("reason")),
                   ("allow", "101", "k", "rule-revoked"), "logged with status 101 and the secret's name")
        h.check(int(d.get("bytes_down", 0)) > 70000, "the closing line has the byte counts: %r" % d)
        # twin: h2c upgrade is dropped, the request goes as HTTP/1.1
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo")
        c = mt.Inner(al, tok, "origin.test", port)
        st, _, body = c.get("/echo", "origin.test:%d" % port,
                            headers=[("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                     ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
        h.check_eq(st, 200, "h2c upgrade request answered as HTTP/1.1")
        names = [k.lower() for k, v in json.loads(body)["headers"]]
        h.check("upgrade" not in names and "http2-settings" not in names, "Upgrade: h2c never went upstream")
        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
