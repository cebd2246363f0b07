"""Held requests, approved: a client created with --on-deny hold asks an
unknown host through the plain proxy; the request waits (the connection
open, no answer) while `airlock approvals --follow` shows it within 1 s;
`airlock approvals approve ID --ttl 10m` creates the rule (exactly this
method and path, 600 s TTL) and the waiting request gets the origin's 200;
the next request passes without a hold. A hold line and an allow line
with the same request id are in the log. An approval with --prefix covers
a second held request under it (both released by one approval). Twin: a
client without --on-deny hold is refused at once, and nothing is pending."""
import json
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--hold-timeout", "30s"]) as al:
        tok = ht.client_hold(al, "web-1")
        plain = pt.client(al, "web-2")
        url = "http://origin.test:%d" % o.port

        # twin: deny at once, nothing pending
        t0 = time.monotonic()
        st, hd, _ = pt.RawConn(al.http_port).request("GET", url + "/echo", token=plain)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "no-rule"), "a client without hold: 403 at once")
        h.check(time.monotonic() - t0 < 2, "refused at once")
        h.check_eq(al.api("GET", "/proxy/v1/approvals"), (200, []), "nothing pending")

        f = ht.Follow(al)
        try:
            time.sleep(0.3)   # the stream is open
            r = ht.Curl(al, tok, url + "/echo")
            a = f.wait(lambda a: a["state"] == "pending", 1.0, "the held request")
            h.check(time.monotonic() - r.t0 < 1.0, "shown within 1 s")
            h.check_eq((a["client"], a["method"], a["host"], a["port"], a["path"], a["reason"], a["scheme"]),
                       ("web-1", "GET", "origin.test", o.port, "/echo", "no-rule", "http"), "what was asked")
            time.sleep(0.5)
            h.check(r.waiting(), "the request waits while nobody decided")
            h.check_eq(len(o.requests), 0, "nothing reached the origin")
            _, lst = al.api("GET", "/proxy/v1/approvals")
            h.check_eq([x["id"] for x in lst], [a["id"]], "GET approvals lists it")

            out = ht.approve(al, a["id"], "--ttl", "10m")
            h.check("approved %d: rule " % a["id"] in out, "approve says what it did: %r" % out)
            code, body, err = r.result()
            h.check_eq(code, "200", "released with the origin's answer (%s)" % err)
            h.check_eq(json.loads(body)["path"], "/echo", "the origin's body")
            f.wait(lambda x: x["id"] == a["id"] and x["state"] == "approved", 2.0, "the approval event")
            _, rules = al.api("GET", "/proxy/v1/clients/web-1")
            h.check_eq(len(rules), 1, "one rule: %s" % rules)
            rl = rules[0]
            h.check_eq((rl["host"], rl["ports"], rl["methods"], rl["paths"], rl.get("ttl_seconds")),
                       ("origin.test", [o.port], ["GET"], ["/echo"], 600), "the rule: exactly this, 10 min")
            h.check_eq(al.api("GET", "/proxy/v1/approvals"), (200, []), "nothing pending after")

            # the next one passes without a hold
            t0 = time.monotonic()
            st, hd, _ = pt.RawConn(al.http_port).request("GET", url + "/echo", token=tok)
            h.check_eq(st, 200, "second request")
            h.check(time.monotonic() - t0 < 2, "not held")

            # the log: hold, then the allow of the same request; the second has no hold
            holds = ht.lines(al, "hold")
            h.check_eq(len(holds), 1, "one hold line: %s" % holds)
            h.check_eq((holds[0]["client"], holds[0]["reason"], holds[0]["path"]), ("web-1", "no-rule", "/echo"),
                       "the hold line")
            allows = pt.wait_decision(al, lambda d: d["verdict"] == "allow" and d.get("path") == "/echo" and
                                      d.get("req") != holds[0]["req"], "the second allow")
            held = [d for d in ht.lines(al, "allow") if d.get("req") == holds[0]["req"]]
            h.check_eq(len(held), 1, "the held request's allow line has its id")
            h.check_eq(held[0].get("rule"), str(rl["id"]), "allowed by the new rule")
            h.check(allows["req"] != holds[0]["req"], "the second request is another")

            # a prefix approval releases every pending request it covers
            r1 = ht.Curl(al, tok, url + "/v1/a")
            a1 = f.wait(lambda x: x["state"] == "pending" and x["path"] == "/v1/a", 2.0, "held /v1/a")
            r2 = ht.Curl(al, tok, url + "/v1/b", "-X", "GET")
            a2 = f.wait(lambda x: x["state"] == "pending" and x["path"] == "/v1/b", 2.0, "held /v1/b")
            p = al.cli("approvals", "approve", str(a1["id"]), "--prefix", "/nope/")
            h.check(p.returncode == 1 and "does not cover" in p.stderr, "a prefix must cover: %s" % p.stderr)
            ht.approve(al, a1["id"], "--prefix", "/v1/")
            for rr, what in ((r1, "/v1/a"), (r2, "/v1/b")):
                code, body, err = rr.result()
                h.check_eq(code, "200", "%s released by the prefix rule (%s)" % (what, err))
            rl = [x for x in al.api("GET", "/proxy/v1/clients/web-1")[1] if x["paths"] == ["/v1/*"]]
            h.check_eq(len(rl), 1, "the prefix rule")
            h.check_eq(rl[0].get("ttl_seconds"), 3600, "default TTL 1 h")
            # a decided approval cannot be decided again
            st, _, _ = al.api_full("POST", "/proxy/v1/approvals/%d" % a2["id"], {"decision": "deny"})
            h.check_eq(st, 404, "already decided")
        finally:
            f.close()
        al.check_alive()


h.run(main)
