"""A held request whose client is deleted is released with 403
client-revoked (not left to its timeout, not cut without an answer), and
its approval leaves the list. Twin: another client's held request stays
held and can still be approved."""
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--hold-timeout", "60s"]) as al:
        tok = ht.client_hold(al, "web-1")
        tok2 = ht.client_hold(al, "web-2")
        url = "http://origin.test:%d" % o.port
        f = ht.Follow(al)
        try:
            time.sleep(0.3)
            r = ht.Curl(al, tok, url + "/doomed")
            a = f.wait(lambda x: x["state"] == "pending" and x["client"] == "web-1", 3.0, "web-1 held")
            r2 = ht.Curl(al, tok2, url + "/kept")
            a2 = f.wait(lambda x: x["state"] == "pending" and x["client"] == "web-2", 3.0, "web-2 held")
            t0 = time.monotonic()
            p = al.cli("client", "delete", "web-1")
            h.check(p.returncode == 0, "client delete: %s" % p.stderr)
            code, body, err = r.result()
            h.check_eq(code, "403", "released with 403 (%s)" % err)
            h.check("client-revoked" in body, "reason: %r" % body)
            h.check(time.monotonic() - t0 < 3, "at once")
            f.wait(lambda x: x["id"] == a["id"] and x["state"] == "withdrawn", 2.0, "withdrawn")
            _, lst = al.api("GET", "/proxy/v1/approvals")
            h.check_eq([x["id"] for x in lst], [a2["id"]], "only web-2's is left")
            h.check(r2.waiting(), "web-2's request still waits")
            ht.approve(al, a2["id"])
            code, _, err = r2.result()
            h.check_eq(code, "200", "web-2 approved (%s)" % err)
        finally:
            f.close()
        al.check_alive()


h.run(main)
