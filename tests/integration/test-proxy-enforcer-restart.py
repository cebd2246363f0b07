"""The enforcer is killed (SIGKILL) in the middle of serving: `airlock up`
restarts it, the new one gets the policy again and serves the same client;
the broker and its API stay up throughout."""
import os
import signal

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        url = "http://origin.test:%d/echo" % o.port

        def status():
            try:
                return pt.RawConn(al.http_port, timeout=3).request("GET", url, token=tok)[0]
            except (OSError, EOFError):
                return None
        h.wait_for(lambda: status() == 200, timeout=5, what="served before the kill")
        old = al.enforcer_pid()
        h.check(old, "enforcer pid known")
        al.enforcer_restarts_allowed = 1
        os.kill(old, signal.SIGKILL)
        h.wait_for(lambda: al.enforcer_pid() not in (None, old), timeout=15, what="a new enforcer")
        h.wait_for(lambda: status() == 200, timeout=15, what="served again after the restart")
        st, _ = al.api("GET", "/proxy/v1/status")
        h.check_eq(st, 200, "the API stayed up")
        al.check_alive()


h.run(main)
