"""The broker goes away (SIGKILL): the enforcer keeps serving with the last
policy it had (allowed stays allowed, denied stays denied) instead of
failing open or closed, and stops cleanly on SIGTERM afterwards."""
import os
import signal
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o:
        al = h.Airlock(extra_flags=pt.pins("origin.test", o.port))
        try:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
            url = "http://origin.test:%d" % o.port
            c = pt.RawConn(al.http_port)
            h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
            enf = al.enforcer_pid()
            h.check(enf, "enforcer pid")
            lost = al.log_text().count("broker not reachable")
            al.kill(signal.SIGKILL)
            # not a fixed sleep: the requests below come after the enforcer
            # has seen the broker go, however slow the machine
            h.wait_for(lambda: al.log_text().count("broker not reachable") > lost, timeout=10,
                       what="the enforcer to notice the broker is gone")
            h.check(h.pid_alive(enf), "the enforcer outlives the broker")
            h.check_eq(c.request("GET", url + "/echo", token=tok)[0], 200, "allowed on the open connection")
            c2 = pt.RawConn(al.http_port)
            h.check_eq(c2.request("GET", url + "/echo", token=tok)[0], 200, "allowed on a new connection")
            h.check_eq(c2.request("GET", url + "/other", token=tok)[0], 403, "denied stays denied")
            h.check_eq(c2.request("GET", url + "/echo", token="alk_" + "B" * 43)[0], 407, "unknown token")
            os.kill(enf, signal.SIGTERM)
            h.wait_for(lambda: not h.pid_alive(enf), timeout=10, what="the enforcer stops on SIGTERM")
            time.sleep(0.2)
            al.check_sanitizers()
        finally:
            al.close()


h.run(main)
