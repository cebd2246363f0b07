"""100 MiB down and 100 MiB up through an intercepted connection with a flat
enforcer RSS: bodies stream with backpressure (never buffered whole). The
download is checked byte for byte (sha256 of the pattern), the upload by the
origin's digest of what it received; the enforcer's resident set may grow by
a bounded amount only (it would grow by 100 MiB if a body were buffered)."""
import hashlib
import json
import os
import time

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

N = 100 * 1024 * 1024
GROWTH_MAX = 48 * 1024 * 1024


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Big(origins._Handler):
    def _any(self):
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(N))
            self.end_headers()
            block = origins.pattern(1 << 20)
            for _ in range(N >> 20):
                self.wfile.write(block)
            return None
        if self.path == "/up":
            n = int(self.headers["Content-Length"])
            d = hashlib.sha256()
            while n:
                piece = self.rfile.read(min(n, 1 << 20))
                d.update(piece)
                n -= len(piece)
            return self._send(200, json.dumps({"sha256": d.hexdigest()}).encode(), "application/json")
        return super()._any()

    do_GET = do_POST = _any


def main():
    # ASan keeps freed blocks in a quarantine (256 MiB by default) that would
    # read as growth: keep it small so RSS shows what the enforcer holds
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"}
    with mt.Setup(handler=Big, env=env) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/big", "--path", "/up")
        pid = al.enforcer_pid()
        hostv = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port, timeout=60)
        h.check_eq(c.get("/big", hostv, method="HEAD")[0], 200, "warm-up")
        base = rss(pid)
        peak = base
        block = origins.pattern(1 << 20)
        want = hashlib.sha256()
        for _ in range(N >> 20):
            want.update(block)
        # download, read slowly at first so backpressure has to hold the origin back
        c.send(b"GET /big HTTP/1.1\r\nHost: %s\r\n\r\n" % hostv.encode())
        st, hd = c.read_head()
        h.check_eq(st, 200, "download answer")
        got, d = len(c.buf), hashlib.sha256(c.buf)
        c.buf = b""
        t0 = time.monotonic()
        while got < N:
            piece = c.s.recv(1 << 20)
            h.check(piece, "download cut short at %d" % got)
            d.update(piece)
            got += len(piece)
            if got < 8 << 20:
                time.sleep(0.01)
            peak = max(peak, rss(pid))
        h.check_eq(d.hexdigest(), want.hexdigest(), "100 MiB downloaded intact")
        h.log("download %.1f s" % (time.monotonic() - t0))
        # upload
        c.send(b"POST /up HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (hostv.encode(), N))
        for i in range(N >> 20):
            c.send(block)
            if i % 8 == 0:
                peak = max(peak, rss(pid))
        st, _, body = c.read_response()
        h.check_eq(st, 200, "upload answer")
        h.check_eq(json.loads(body)["sha256"], want.hexdigest(), "100 MiB uploaded intact")
        peak = max(peak, rss(pid))
        h.log("enforcer RSS %d KiB before, %d KiB peak" % (base >> 10, peak >> 10))
        h.check(peak - base < GROWTH_MAX, "flat RSS: grew %d KiB (max %d)" % ((peak - base) >> 10, GROWTH_MAX >> 10))
        al.check_alive()


h.run(main)
