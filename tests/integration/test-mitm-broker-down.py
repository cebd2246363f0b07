"""Injection needs the broker; nothing else does. With the broker killed
(SIGKILL; the enforcer keeps running with its last policy) a request whose
rule injects a secret gets 503 broker-unavailable at once, while an
inspected rule without a secret and a bare-host tunnel still answer 200.
When a broker comes back on the same state dir, injection works again
without restarting the enforcer."""
import signal
import time

import airlock_harness as h
import mitmtest as mt
import proxytest as pt

SECRET = mt.secret_value("down")


def main():
    with mt.Setup(names=("origin.test", "bare.test")) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "api-key", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/secret", "--secret", "api-key")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/plain")
        pt.allow(al, "web-1", "bare.test", "--port", str(port))
        hostv = "origin.test:%d" % port

        def auth_seen(body):
            import json
            return [v for k, v in json.loads(body)["headers"] if k.lower() == "authorization"]

        c = mt.Inner(al, tok, "origin.test", port)
        st, _, body = c.get("/echo/secret", hostv)
        h.check(st == 200 and mt.carried(body, "Bearer " + SECRET), "injected while the broker is up")
        enf = al.enforcer_pid()
        lost = al.log_text().count("broker not reachable")
        al.kill(signal.SIGKILL)
        # the enforcer has seen the IPC connection go (it says so), so the ask
        # below is refused at once, not at its 2 s deadline plus a slow GET
        h.wait_for(lambda: al.log_text().count("broker not reachable") > lost, timeout=10,
                   what="the enforcer to notice the broker is gone")
        h.check(h.pid_alive(enf), "the enforcer outlives the broker")
        t0 = time.monotonic()
        st, hd, _ = c.get("/echo/secret", hostv)
        h.check_eq((st, hd.get("x-airlock-reason")), (503, "broker-unavailable"), "secret rule without a broker")
        h.check(time.monotonic() - t0 < 3, "refused within the ask deadline")
        h.check_eq(c.get("/echo/plain", hostv)[0], 200, "inspected rule without a secret, same connection")
        c2 = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(c2.get("/echo/plain", hostv)[0], 200, "new intercepted connection")
        r = pt.curl("--proxy", al.proxy_url(tok), "--cacert", s.ca.ca_cert,
                    "https://bare.test:%d/echo" % port, "-o", "/dev/null", "-w", "%{http_code}")
        h.check_eq(r.stdout, "200", "bare host rule tunnels (origin's own certificate)")
        al.start()   # a new broker on the same state dir; the enforcer reconnects
        h.wait_for(lambda: c.get("/echo/secret", hostv)[0] == 200, timeout=15,
                   what="injection again once the broker is back")
        st, _, body = c.get("/echo/secret", hostv)
        h.check(mt.carried(body, "Bearer " + SECRET), "the secret injected again")
        h.check_eq(al.enforcer_pid(), enf, "the same enforcer process")
        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
