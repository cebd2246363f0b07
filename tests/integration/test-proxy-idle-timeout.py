"""Idle keep-alive: a connection that served a request and then stays
silent is closed after --idle-timeout; one that keeps sending requests
within the timeout stays open across several timeout periods."""
import threading
import time

import airlock_harness as h
import origins
import proxytest as pt

IDLE_S = 2.0      # --idle-timeout; the busy connection sends every 0.3 s
PERIODS = 3       # busy traffic lasts this many timeouts


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + ["--idle-timeout", "%ds" % IDLE_S]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            busy = pt.RawConn(al.http_port)
            h.wait_for(lambda: busy.request("GET", url, token=tok)[0] == 200, timeout=10, what="allowed")
            idle = pt.RawConn(al.http_port)
            h.check_eq(idle.request("GET", url, token=tok)[0], 200, "first request")
            t0 = time.time()
            # when the idle connection closes, seen as it happens (the busy
            # loop below may run slowly on a loaded machine)
            closed_at = []
            watcher = threading.Thread(
                target=lambda: idle.closed(timeout=IDLE_S + 20) and closed_at.append(time.time()),
                daemon=True)
            watcher.start()
            i = 0
            while time.time() - t0 < PERIODS * IDLE_S:
                time.sleep(0.3)
                h.check_eq(busy.request("GET", url, token=tok)[0], 200, "busy connection request %d" % i)
                i += 1
            watcher.join(IDLE_S + 25)
            h.check(closed_at, "the idle connection was closed")
            took = closed_at[0] - t0
            h.log("idle close after %.2f s (timeout %.0f s), %d busy requests" % (took, IDLE_S, i))
            h.check(took < IDLE_S + 2.5, "idle close came after %.1f s (timeout %.0f s)" % (took, IDLE_S))
            al.check_alive()


h.run(main)
