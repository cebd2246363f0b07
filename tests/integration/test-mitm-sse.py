"""Server-sent events through interception reach the sandbox as the
upstream sends them: an origin that writes one event every 100 ms (chunked
text/event-stream) is read by the client event by event, each arriving
about 100 ms after the previous one, not all at the end."""
import time

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

EVENTS = 10


class SSE(origins._Handler):
    def _any(self):
        if self.path != "/sse":
            return super()._any()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(EVENTS):
            ev = b"data: event %d\n\n" % i
            self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            self.wfile.flush()
            time.sleep(0.1)
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _any


def main():
    with mt.Setup(handler=SSE) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "k", "origin.test", mt.secret_value("sse"))
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/sse", "--secret", "k")
        c = mt.Inner(al, tok, "origin.test", port)
        c.send(b"GET /sse HTTP/1.1\r\nHost: origin.test:%d\r\nAccept: text/event-stream\r\n\r\n" % port)
        st, hd = c.read_head()
        h.check_eq((st, hd.get("content-type")), (200, "text/event-stream"), "SSE answer")
        arrivals, data = [], b""
        while len(arrivals) < EVENTS:
            c._fill()
            now = time.monotonic()
            n = c.buf.count(b"\n\n")
            while len(arrivals) < n:
                arrivals.append(now)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        h.log("gaps between events (ms): %s" % [round(g * 1000) for g in gaps])
        h.check(sum(1 for g in gaps if g >= 0.05) >= EVENTS - 3,
                "events arrive one by one, ~100 ms apart (not batched): %s" % [round(g * 1000) for g in gaps])
        h.check(b"data: event %d" % (EVENTS - 1) in c.buf, "the last event")
        al.check_alive()


h.run(main)
