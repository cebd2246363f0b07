"""Upstream failures get an answer with a reason: nothing listening -> 502
upstream-connect-failed; a connect that never completes (a full accept
queue) -> 504 upstream-timeout after --connect-timeout; a name that does
not resolve -> 502 dns-failure; an origin that closes before answering ->
502. Twin: the same proxy serves a live origin."""
import socket
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    closed_port = origins.free_port()
    # a listener that never accepts, its queue filled: SYNs to it go unanswered
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(0)
    stuck_port = stuck.getsockname()[1]
    fillers = []
    for i in range(8):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", stuck_port))
        except BlockingIOError:
            pass
        fillers.append(f)
    # an origin that closes without a word
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    mute_port = mute.getsockname()[1]
    import threading

    def close_all():
        while True:
            try:
                c, _ = mute.accept()
                c.recv(65536)
                c.close()
            except OSError:
                return
    threading.Thread(target=close_all, daemon=True).start()

    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + pt.pins("closed.test", closed_port) + \
            pt.pins("stuck.test", stuck_port) + pt.pins("mute.test", mute_port) + \
            ["--connect-timeout", "1s"]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "*", "--port", str(o.port), "--port", str(closed_port),
                     "--port", str(stuck_port), "--port", str(mute_port), "--port", "80")
            c = pt.RawConn(al.http_port)
            h.wait_for(lambda: c.request("GET", "http://origin.test:%d/echo" % o.port, token=tok)[0] == 200,
                       timeout=5, what="live origin")

            def one(url):
                return pt.RawConn(al.http_port).request("GET", url, token=tok)[:2]
            st, hd = one("http://closed.test:%d/" % closed_port)
            h.check_eq((st, hd.get("x-airlock-reason")), (502, "upstream-connect-failed"), "nothing listening")
            t0 = time.time()
            st, hd = one("http://stuck.test:%d/" % stuck_port)
            took = time.time() - t0
            if st == 504:
                h.check_eq(hd.get("x-airlock-reason"), "upstream-timeout", "timeout reason")
                h.check(0.8 < took < 5, "timed out after %.1f s" % took)
            else:
                h.log("kernel answered the stuck listener (%s); timeout case not exercised" % st)
            st, hd = one("http://no-such-host.invalid/")
            h.check_eq((st, hd.get("x-airlock-reason")), (502, "dns-failure"), "name does not resolve")
            st, hd = one("http://mute.test:%d/" % mute_port)
            h.check_eq(st, 502, "origin closed before answering")
            st, hd = one("http://origin.test:%d/echo" % o.port)
            h.check_eq(st, 200, "still serving")
            al.check_alive()
    for f in fillers:
        f.close()
    stuck.close()
    mute.close()


h.run(main)
