"""A rule revoked while an intercepted keep-alive connection is open takes
effect for the very next request on that connection (403 no-rule), without
the sandbox reconnecting; a rule added meanwhile (twin) lets the next
request through on the same connection again."""
import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo")
        hostv = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(c.get("/echo", hostv)[0], 200, "allowed before the revoke")
        pt.revoke(al, "web-1", "origin.test")
        got = []
        h.wait_for(lambda: got.append(c.get("/echo", hostv)) or got[-1][0] == 403, timeout=5,
                   what="the open connection sees the revoke")
        h.check_eq(got[-1][1].get("x-airlock-reason"), "no-rule", "reason")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo")
        h.wait_for(lambda: c.get("/echo", hostv)[0] == 200, timeout=5, what="a new rule applies on the same connection")
        al.check_alive()


h.run(main)
