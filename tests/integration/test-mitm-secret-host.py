"""A secret is only ever injected into requests to the host it is bound to.
A rule for origin.test that names a secret bound to elsewhere.test (the API
accepts it) gets 403 secret-host-mismatch from the broker's own check: the
enforcer asks, the broker refuses, nothing is forwarded. A wildcard binding
*.test (twin) is injected."""
import airlock_harness as h
import mitmtest as mt
import proxytest as pt

SECRET = mt.secret_value("bound")
WILD = mt.secret_value("wild")


def main():
    with mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "elsewhere", "elsewhere.test", SECRET)
        mt.secret(al, "wild", "*.test", WILD)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/a", "--secret", "elsewhere")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/b", "--secret", "wild")
        hostv = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port)
        st, hd, body = c.get("/echo/a", hostv)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "secret-host-mismatch"), "secret bound to another host")
        h.check(SECRET.encode() not in body, "the refusal does not carry the secret")
        h.check_eq(len(s.origin.requests), 0, "nothing forwarded")
        st, _, body = c.get("/echo/b", hostv)
        h.check(st == 200 and mt.carried(body, "Bearer " + WILD), "wildcard-bound secret injected (same connection)")
        d = pt.wait_decision(al, lambda d: d.get("reason") == "secret-host-mismatch", "log line")
        h.check_eq(d.get("inject"), "elsewhere", "the secret's name (never its value) in the log")
        mt.check_no_secret(al, SECRET)
        mt.check_no_secret(al, WILD)
        al.check_alive()


h.run(main)
