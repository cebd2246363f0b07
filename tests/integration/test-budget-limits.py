"""Budgets per client and per rule, through real requests on the plain
listener: --max-rpm N lets N requests through and answers the next 429
with Retry-After and X-Airlock-Reason: rate-limit (one decision line each);
a rule's own --max-rpm counts that rule alone; --max-concurrent refuses a
second request while a slow one is under way (concurrency-limit) and lets
it through once that one ended; --max-bytes-per-hour lets the request that
crosses the budget complete and refuses the next (byte-budget). The
counters survive a policy change that keeps the client (client set), and
another client is never affected."""
import threading

import airlock_harness as h
import origins
import proxytest as pt


def get(al, tok, url):
    c = pt.RawConn(al.http_port)
    try:
        return c.request("GET", url, token=tok)
    finally:
        c.close()


def refused(al, tok, url, reason, what):
    st, hd, _ = get(al, tok, url)
    h.check_eq(st, 429, "%s: 429" % what)
    h.check_eq(hd.get("x-airlock-reason"), reason, "%s: X-Airlock-Reason" % what)
    ra = hd.get("retry-after", "")
    h.check(ra.isdigit() and int(ra) >= 1, "%s: Retry-After in seconds: %r" % (what, ra))
    return int(ra)


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        base = "http://origin.test:%d" % o.port
        port = ("--port", str(o.port))

        # --max-rpm 3 on the client: 3 pass, the 4th is refused
        p = al.cli("client", "create", "rpm", "--max-rpm", "3")
        h.check(p.returncode == 0, "client create --max-rpm: %s" % p.stderr)
        tok = p.stdout.strip()
        other = pt.client(al, "other")
        pt.allow(al, "rpm", "origin.test", *port)
        pt.allow(al, "other", "origin.test", *port)
        for i in range(3):
            st, _, _ = get(al, tok, base + "/echo/%d" % i)
            h.check_eq(st, 200, "request %d of 3 within --max-rpm 3" % (i + 1))
        ra = refused(al, tok, base + "/echo/4", "rate-limit", "the 4th request in a minute")
        # one request's worth comes back every 20 s (less what refilled
        # while the three went through)
        h.check(5 <= ra <= 20, "Retry-After of a 3/min bucket: %d" % ra)
        d = pt.wait_decision(al, lambda d: d.get("reason") == "rate-limit", "a rate-limit line")
        h.check_eq((d["verdict"], d.get("status"), d.get("client")), ("deny", "429", "rpm"),
                   "the decision line of a rate-limit")
        for i in range(5):
            st, _, _ = get(al, other, base + "/echo/o%d" % i)
            h.check_eq(st, 200, "another client is not limited (%d)" % i)

        # a policy change that keeps the client keeps its counters
        p = al.cli("client", "set", "rpm", "--max-concurrent", "5")
        h.check(p.returncode == 0, "client set: %s" % p.stderr)
        h.check("max_rpm=3" in p.stdout and "max_concurrent=5" in p.stdout, "client set says: %r" % p.stdout)
        refused(al, tok, base + "/echo/5", "rate-limit", "still limited after client set")
        # raising the limit helps at once (the bucket grows by the difference)
        p = al.cli("client", "set", "rpm", "--max-rpm", "10")
        h.check(p.returncode == 0, "client set --max-rpm 10: %s" % p.stderr)
        st, _, _ = get(al, tok, base + "/echo/6")
        h.check_eq(st, 200, "a raised limit lets the next request through")
        # 0 removes it
        p = al.cli("client", "set", "rpm", "--max-rpm", "0", "--max-concurrent", "0")
        h.check(p.returncode == 0 and "no limits" in p.stdout, "client set 0: %r %s" % (p.stdout, p.stderr))
        for i in range(12):
            st, _, _ = get(al, tok, base + "/echo/n%d" % i)
            h.check_eq(st, 200, "no limit once removed (%d)" % i)

        # a rule's own budget: only requests through that rule count
        rtok = pt.client(al, "ruled")
        pt.allow(al, "ruled", "origin.test", *port, "--path", "/limited/*", "--max-rpm", "2")
        pt.allow(al, "ruled", "origin.test", *port)
        for i in range(2):
            st, _, _ = get(al, rtok, base + "/limited/%d" % i)
            h.check_eq(st, 200, "rule budget: request %d of 2" % (i + 1))
        refused(al, rtok, base + "/limited/3", "rate-limit", "the rule's 3rd request")
        st, _, _ = get(al, rtok, base + "/free/1")
        h.check_eq(st, 200, "the client's other rule is not limited")
        _, j = al.api("GET", "/proxy/v1/clients/ruled")
        h.check_eq([r.get("max_rpm") for r in j], [2, None], "rules list their max_rpm")

        # --max-concurrent 1: a second request while a slow one is under way
        ctok = pt.client(al, "conc")
        p = al.cli("client", "set", "conc", "--max-concurrent", "1")
        h.check(p.returncode == 0, "client set --max-concurrent: %s" % p.stderr)
        pt.allow(al, "conc", "origin.test", *port)
        slow = {}

        def run_slow():
            slow["r"] = get(al, ctok, base + "/slow/2500")
        t = threading.Thread(target=run_slow)
        t.start()
        h.wait_for(lambda: any(r[1] == "/slow/2500" for r in o.requests), what="the slow request reached the origin")
        refused(al, ctok, base + "/echo/c1", "concurrency-limit", "a second request at once")
        st, _, _ = get(al, other, base + "/echo/c-other")
        h.check_eq(st, 200, "another client during the slow request")
        t.join(10)
        h.check_eq(slow.get("r", (0,))[0], 200, "the slow request itself")
        st, _, _ = get(al, ctok, base + "/echo/c2")
        h.check_eq(st, 200, "once the slow one ended, the next passes")

        # --max-bytes-per-hour 3000: two ~2.2 KB answers pass (the second
        # crosses), the third is refused
        btok = pt.client(al, "bytes")
        p = al.cli("client", "set", "bytes", "--max-bytes-per-hour", "3000")
        h.check(p.returncode == 0, "client set --max-bytes-per-hour: %s" % p.stderr)
        pt.allow(al, "bytes", "origin.test", *port)
        for i in range(2):
            st, _, body = get(al, btok, base + "/bytes/2000")
            h.check_eq((st, len(body)), (200, 2000), "answer %d within (or crossing) the byte budget" % (i + 1))
        ra = refused(al, btok, base + "/bytes/10", "byte-budget", "past the byte budget")
        # about 1400 bytes over, at 3000 per hour: ~28 minutes
        h.check(600 <= ra <= 3600, "Retry-After of the byte budget: %d" % ra)
        p = al.cli("client", "set", "bytes", "--max-bytes-per-hour", "2K")
        h.check(p.returncode == 0 and "max_bytes_per_hour=2048" in p.stdout, "SIZE with K: %r" % p.stdout)
        p = al.cli("client", "set", "bytes", "--max-bytes-per-hour", "lots")
        h.check_eq(p.returncode, 2, "a bad SIZE is a usage error")
        h.check_eq(sum(1 for d in pt.decisions(al) if d.get("status") == "429"), 5,
                   "one decision line per 429")
        al.check_alive()


h.run(main)
