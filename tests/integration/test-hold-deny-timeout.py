"""Held requests that end without an approval: `airlock approvals deny ID`
answers the waiting request 403 hold-denied at once; a request nobody
decides gets 403 hold-timeout after --hold-timeout and its approval is
gone from the list (an "expired" or "withdrawn" event); a sandbox that
gives up while held withdraws its approval. Every hold and its end are
decision lines. Twin: a denial a rule cannot cure (a bad path, an address
in --deny-cidr) is refused at once even with hold on."""
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt


def metric(al, name):
    _, body = al.api("GET", "/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return None


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + pt.pins("blocked.test", o.port, addr="127.0.0.9") +
                      ["--hold-timeout", "2s", "--deny-cidr", "127.0.0.9/32"]) as al:
        tok = ht.client_hold(al, "web-1")
        url = "http://origin.test:%d" % o.port
        f = ht.Follow(al)
        try:
            time.sleep(0.3)
            # deny
            r = ht.Curl(al, tok, url + "/deny-me")
            a = f.wait(lambda x: x["state"] == "pending", 2.0, "held /deny-me")
            h.check(r.waiting(), "waiting")
            h.check_eq(metric(al, "airlock_approvals_pending"), "1", "/metrics: one pending")
            t0 = time.monotonic()
            out = ht.deny(al, a["id"])
            h.check_eq(out.strip(), "denied %d" % a["id"], "deny says so")
            code, body, _ = r.result()
            h.check_eq(code, "403", "refused")
            h.check("hold-denied" in body, "reason hold-denied: %r" % body)
            h.check(time.monotonic() - t0 < 2, "at once")
            f.wait(lambda x: x["id"] == a["id"] and x["state"] == "denied", 2.0, "the denied event")
            pt.wait_decision(al, lambda d: d["verdict"] == "deny" and d.get("reason") == "hold-denied",
                             "the hold-denied line")
            _, rules = al.api("GET", "/proxy/v1/clients/web-1")
            h.check_eq(rules, [], "a refusal creates no rule")

            # timeout
            t0 = time.monotonic()
            r = ht.Curl(al, tok, url + "/nobody")
            a = f.wait(lambda x: x["state"] == "pending", 2.0, "held /nobody")
            code, body, _ = r.result()
            took = time.monotonic() - t0
            h.check_eq(code, "403", "refused after the timeout")
            h.check("hold-timeout" in body, "reason hold-timeout: %r" % body)
            h.check(1.8 <= took < 6, "after --hold-timeout 2s (took %.1fs)" % took)
            f.wait(lambda x: x["id"] == a["id"] and x["state"] == "expired", 3.0, "the approval expires")
            h.check_eq(al.api("GET", "/proxy/v1/approvals"), (200, []), "nothing pending")
            st, _, _ = al.api_full("POST", "/proxy/v1/approvals/%d" % a["id"], {"decision": "approve"})
            h.check_eq(st, 404, "too late to approve")

            # the sandbox gives up
            r = ht.Curl(al, tok, url + "/give-up")
            a = f.wait(lambda x: x["state"] == "pending", 2.0, "held /give-up")
            r.kill()
            f.wait(lambda x: x["id"] == a["id"] and x["state"] == "withdrawn", 2.0, "withdrawn")

            h.check_eq(metric(al, "airlock_approvals_pending"), "0", "/metrics: none pending")
            for outcome, n in (("approved", "0"), ("denied", "1"), ("expired", "1"), ("withdrawn", "1")):
                h.check_eq(metric(al, 'airlock_approvals_total{outcome="%s"}' % outcome), n,
                           "/metrics: approvals %s" % outcome)

            holds = ht.lines(al, "hold")
            h.check_eq(sorted(d["path"] for d in holds), ["/deny-me", "/give-up", "/nobody"],
                       "a hold line each: %s" % holds)

            # not curable: never held
            pt.allow(al, "web-1", "blocked.test", "--port", str(o.port))
            t0 = time.monotonic()
            st, hd, _ = pt.RawConn(al.http_port).request("GET", "http://blocked.test:%d/x" % o.port, token=tok)
            h.check_eq((st, hd.get("x-airlock-reason")), (403, "denied-address"), "an address in --deny-cidr")
            st, hd, _ = pt.RawConn(al.http_port).request("GET", url + "/%2e%2e/x", token=tok)
            h.check(st in (400, 403) and hd.get("x-airlock-reason") != "hold-timeout",
                    "a bad path is refused at once: %d %s" % (st, hd.get("x-airlock-reason")))
            h.check(time.monotonic() - t0 < 1.5, "both at once")
            h.check_eq(len(ht.lines(al, "hold")), 3, "no hold for either")
        finally:
            f.close()
        al.check_alive()


h.run(main)
