"""The enforcer keeps a headers answer for at most a second
(enforcer/askcache.h, docs/custody.md): a keep-alive stream of injected
requests asks the broker about once a second, not once a request; a
replaced secret is injected from the very next request (every secret
change pushes a policy version, which wipes what the workers keep); a
deleted one is refused at once; after a quiet second the broker is asked
again. The broker's debug line "headers answered" counts the asks."""
import time

import airlock_harness as h
import mitmtest as mt
import proxytest as pt

V1 = mt.secret_value("v1")
V2 = mt.secret_value("v2")


def asks(al):
    return sum(1 for l in al.log_text().splitlines() if "headers answered" in l and "secret=cached" in l)


def main():
    with mt.Setup(flags=["--debug"]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "cached", "origin.test", V1)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--secret", "cached")
        hostv = "origin.test:%d" % port
        c = mt.Inner(al, tok, "origin.test", port)
        t0 = time.monotonic()
        n = 30
        for i in range(n):
            st, _, body = c.get("/echo/%d" % i, hostv)
            h.check(st == 200 and mt.carried(body, "Bearer " + V1), "request %d injected" % i)
        took = time.monotonic() - t0
        got = asks(al)
        h.log("%d requests in %.2f s, %d asks" % (n, took, got))
        h.check(1 <= got <= int(took) + 2, "%d requests asked %d times in %.1f s" % (n, got, took))

        p = al.cli("secret", "create", "cached", "--host", "origin.test", "--value", V2, "--force")
        h.check(p.returncode == 0, "secret replaced: %s" % mt.scrub(p.stderr, V2))
        st, _, body = c.get("/echo/after", hostv)
        h.check(st == 200 and mt.carried(body, "Bearer " + V2), "the replaced value at the next request")

        before = asks(al)
        time.sleep(1.3)   # past the keep limit, no request meanwhile
        st, _, body = c.get("/echo/later", hostv)
        h.check(st == 200 and mt.carried(body, "Bearer " + V2), "injected after a quiet second")
        h.check_eq(asks(al), before + 1, "a kept answer does not outlive its second")

        p = al.cli("secret", "delete", "cached")
        h.check(p.returncode == 0, "secret deleted")
        st, hd, body = c.get("/echo/gone", hostv)
        h.check(st == 403, "a deleted secret is not injected from memory: %d %s" % (st, hd.get("x-airlock-reason")))
        for v in (V1, V2):
            mt.check_no_secret(al, v)
        al.check_alive()


h.run(main)
