"""The per-client hold cap (AL_HOLDS_PER_CLIENT, 8): a client may have 8
requests held at once; the 9th is answered 429 too-many-holds at once and
never listed, while another client still holds; once one of the 8 is
decided, the client may hold again. Each held request keeps its own
connection open."""
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt

CAP = 8


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--hold-timeout", "60s"]) as al:
        tok = ht.client_hold(al, "web-1")
        tok2 = ht.client_hold(al, "web-2")
        url = "http://origin.test:%d" % o.port
        f = ht.Follow(al)
        held = []
        try:
            time.sleep(0.3)
            for i in range(CAP):
                held.append(ht.Curl(al, tok, url + "/p%d" % i))
                f.wait(lambda x, i=i: x["state"] == "pending" and x["path"] == "/p%d" % i, 3.0, "held %d" % i)
            _, lst = al.api("GET", "/proxy/v1/approvals")
            h.check_eq(len(lst), CAP, "N held at once")
            h.check(all(r.waiting() for r in held), "all N wait")

            t0 = time.monotonic()
            st, hd, _ = pt.RawConn(al.http_port).request("GET", url + "/one-more", token=tok)
            h.check_eq((st, hd.get("x-airlock-reason")), (429, "too-many-holds"), "N+1: refused")
            h.check(time.monotonic() - t0 < 2, "at once")
            _, lst = al.api("GET", "/proxy/v1/approvals")
            h.check_eq(len(lst), CAP, "N+1 is not listed")

            other = ht.Curl(al, tok2, url + "/other")
            f.wait(lambda x: x["client"] == "web-2", 3.0, "another client still holds")

            a0 = [x for x in lst if x["path"] == "/p0"][0]
            ht.deny(al, a0["id"])
            code, _, _ = held[0].result()
            h.check_eq(code, "403", "the denied one")
            r = ht.Curl(al, tok, url + "/again")
            f.wait(lambda x: x["state"] == "pending" and x["path"] == "/again", 3.0, "held again under the cap")
            held[0] = r
        finally:
            for r in held:
                r.kill()
            f.close()
        al.check_alive()


h.run(main)
