"""An API change answers only once the enforcer decides with it, so the very
next request sees it (as promised: "changes take effect for the very next
request"): 40 rounds of allow -> request at once -> 200, revoke -> request
at once -> 403, each answer carrying X-Airlock-Policy-Version. Negative
twin: with the enforcer stopped (SIGSTOP) a change still answers, after
about AL_POLICY_ACK_TIMEOUT_MS (2 s), marked X-Airlock-Policy-Applied:
false; once it runs again the change is there."""
import os
import signal
import time

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        body = {"client": "web-1", "host": "origin.test", "ports": [o.port]}
        for i in range(40):
            st, ans = al.api("POST", "/proxy/v1/allows", body)
            h.check_eq(st, 201, "allow round %d" % i)
            h.check_eq(c.request("GET", url, token=tok)[0], 200, "round %d: the very next request is allowed" % i)
            st, ans = al.api("POST", "/proxy/v1/allows/revoke", body)
            h.check_eq(st, 204, "revoke round %d" % i)
            h.check_eq(c.request("GET", url, token=tok)[0], 403, "round %d: the very next request is refused" % i)

        # the answer's headers: read them raw from the socket
        import http.client
        import json
        import socket

        class UConn(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(al.api_socket)

        def post(path, obj, timeout=10):
            u = UConn("localhost", timeout=timeout)
            u.request("POST", path, json.dumps(obj), {"Content-Type": "application/json"})
            r = u.getresponse()
            r.read()
            u.close()
            return r.status, {k.lower(): v for k, v in r.getheaders()}

        st, hd = post("/proxy/v1/allows", body)
        h.check_eq(st, 201, "allow")
        h.check(hd.get("x-airlock-policy-version", "").isdigit(), "X-Airlock-Policy-Version: %r" % hd)
        h.check("x-airlock-policy-applied" not in hd, "applied in time: no marker")

        pid = al.enforcer_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, hd = post("/proxy/v1/allows/revoke", body)
            took = time.monotonic() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        h.check_eq(st, 204, "revoke with the enforcer stopped still answers")
        h.check(1.5 <= took <= 8, "after the ack deadline (%.2f s)" % took)
        h.check_eq(hd.get("x-airlock-policy-applied"), "false", "marked not applied")
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 403, timeout=10, what="the revoke applies once it runs")
        al.check_alive()


h.run(main)
