#!/usr/bin/env python3
"""A rule with a 2 s TTL is honoured for its whole TTL and ends less than a
second after it, wherever in the wall clock's second it is created.

Expiries are whole seconds and a rule is live while the clock in seconds is
below its expires_at, so the broker rounds up (common/duration.c
time_expiry). Truncating the creation time instead ended "--ttl 2s" as
early as 1.0 s after the call: round A creates its rule late in a second
(0.88), where that showed at once. Round B creates its rule early in a
second (0.05), where rounding up ends it latest (~2.95 s), and holds a
passthrough tunnel open: the enforcer's expiry timer closes it.

Times are taken from the test's side: t0 just before the create call,
t1 when it answered; the broker's clock reading lies between them. So the
rule must answer 200 to every request answered before t0 + 2 s and 403 to
every request sent from t1 + 3 s. Negative twin: a rule without a TTL, for
another client and the same origin, still answers 200 at the end.
"""
import calendar
import time

import airlock_harness as h
import origins
import proxytest as pt

TTL = 2


def at_fraction(frac):
    """Wait for the next wall-clock instant whose fraction of a second is
    frac: the rounds are about where in a second a rule is created, so this
    is a schedule, not a wait for readiness."""
    now = time.time()
    delay = (frac - (now % 1.0)) % 1.0
    if delay < 0.05:
        delay += 1.0
    time.sleep(delay)


def rfc3339(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


class Prober:
    """Plain-HTTP requests through the proxy on one keep-alive connection
    (reopened if the proxy closes it); each recorded as (start, end, status)."""

    def __init__(self, al, tok, url):
        self.al, self.tok, self.url = al, tok, url
        self.c = None
        self.seen = []

    def get(self):
        for _ in range(2):
            if self.c is None:
                self.c = pt.RawConn(self.al.http_port)
            t = time.time()
            try:
                st = self.c.request("GET", self.url, token=self.tok)[0]
            except (EOFError, OSError):
                self.c.close()
                self.c = None
                continue
            self.seen.append((t, time.time(), st))
            return st
        raise h.TestFailure("the proxy closed two connections in a row")

    def close(self):
        if self.c:
            self.c.close()


def create(al, client, host, port, ttl=None, passthrough=False):
    body = {"client": client, "host": host, "ports": [port]}
    if ttl:
        body["ttl_seconds"] = ttl
    if passthrough:
        body["passthrough"] = True
    t0 = time.time()
    st, rule = al.api("POST", "/proxy/v1/allows", body)
    t1 = time.time()
    h.check_eq(st, 201, "create %r: %r" % (body, rule))
    return rule, t0, t1


def round_a(al, tok, o):
    """Created late in a second: honoured past 1.9 s, refused by t1 + 3 s."""
    p = Prober(al, tok, "http://origin.test:%d/echo" % o.port)
    at_fraction(0.88)
    rule, t0, t1 = create(al, "web-1", "origin.test", o.port, ttl=TTL)
    exp = rfc3339(rule["expires_at"])
    h.log("round A: created at +%.3f in its second (call took %.0f ms), expires_at - t0 = %.3f s"
          % (t0 % 1.0, (t1 - t0) * 1000, exp - t0))
    # the push reaches the enforcer within ms; then it answers until expiry
    h.wait_for(lambda: p.get() == 200, timeout=1.5, what="the TTL rule to reach the enforcer")
    # probe (wait_for paces it) until 1.9 s after t0 or a refusal
    h.wait_for(lambda: p.get() != 200 or time.time() >= t0 + 1.9, timeout=3,
               what="1.9 s of probes")
    if p.seen[-1][2] == 200:
        p.get()   # sent at >= t0 + 1.9 s
    h.check_eq(p.seen[-1][2], 200, "request sent %.3f s after the create call"
               % (p.seen[-1][0] - t0))
    h.wait_for(lambda: p.get() == 403, timeout=t1 + TTL + 2 - time.time(),
               what="the rule to end")
    p.close()
    check_seen(p.seen, t0, t1, "round A")
    h.check(exp >= t0 + TTL, "expires_at %d is before t0 + TTL (%.3f)" % (exp, t0 + TTL))
    h.check(exp < t1 + TTL + 1, "expires_at %d is a second or more after t1 + TTL (%.3f)"
            % (exp, t1 + TTL))


def check_seen(seen, t0, t1, what):
    first = min(i for i, s in enumerate(seen) if s[2] == 200)
    for start, end, st in seen[first:]:
        if end < t0 + TTL:
            h.check_eq(st, 200, "%s: request answered %.3f s after t0" % (what, end - t0))
        if start >= t1 + TTL + 1:
            h.check_eq(st, 403, "%s: request sent %.3f s after t1" % (what, start - t1))
    oks = [s for s in seen if s[2] == 200]
    ends = [s for s in seen if s[2] == 403]
    h.log("%s: last 200 sent at t0 + %.3f s, first 403 sent at t0 + %.3f s (t1 + %.3f s), "
          "%d requests" % (what, oks[-1][0] - t0, ends[0][0] - t0, ends[0][0] - t1, len(seen)))


def round_b(al, tok, e):
    """Created early in a second: ends latest, still within t1 + 3 s; the
    enforcer's expiry timer closes the tunnel the rule opened."""
    at_fraction(0.05)
    rule, t0, t1 = create(al, "web-1", "echo.test", e.port, ttl=TTL, passthrough=True)
    exp = rfc3339(rule["expires_at"])
    h.log("round B: created at +%.3f in its second (call took %.0f ms), expires_at - t0 = %.3f s"
          % (t0 % 1.0, (t1 - t0) * 1000, exp - t0))
    h.check(t0 + TTL <= exp < t1 + TTL + 1, "expires_at %d out of [%.3f, %.3f)"
            % (exp, t0 + TTL, t1 + TTL + 1))

    def open_tunnel():
        c = pt.RawConn(al.http_port)
        t = time.time()
        c.send(b"CONNECT echo.test:%d HTTP/1.1\r\nHost: echo.test:%d\r\n"
               b"Proxy-Authorization: %s\r\n\r\n" % (e.port, e.port, pt.basic(tok).encode()))
        st = c.read_response("CONNECT")[0]
        if st != 200:
            c.close()
            return None, st, t
        return c, st, t

    tun = h.wait_for(lambda: open_tunnel()[0], timeout=1.5, what="the tunnel to open")
    seen = []

    def echo():
        t = time.time()
        tun.send(b"ping\n")
        got = b""
        tun.s.settimeout(5)
        while len(got) < 5:
            d = tun.s.recv(64)
            if not d:
                raise h.TestFailure("tunnel closed %.3f s after t0" % (time.time() - t0))
            got += d
        seen.append(t)
        return t >= t0 + 1.9

    h.wait_for(echo, timeout=3, what="echoes until 1.9 s after t0")
    # closed by the expiry timer at expires_at (+5 ms): within t1 + 3 s and
    # scheduling slack on a loaded machine
    h.check(tun.closed(timeout=t1 + TTL + 1.5 - time.time()), "the tunnel outlived its rule")
    closed = time.time()
    h.log("round B: tunnel echoed until t0 + %.3f s, closed at t0 + %.3f s (t1 + %.3f s)"
          % (seen[-1] - t0, closed - t0, closed - t1))
    h.check(closed >= t0 + TTL, "tunnel closed %.3f s after t0" % (closed - t0))
    tun.close()
    c, st, t = open_tunnel()
    h.check_eq(st, 403, "a new tunnel after the expiry")


def main():
    with origins.HTTPOrigin() as o, origins.TCPEcho() as e, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + pt.pins("echo.test", e.port)) as al:
        tok = pt.client(al, "web-1")
        tok2 = pt.client(al, "web-2")
        create(al, "web-2", "origin.test", o.port)
        round_a(al, tok, o)
        round_b(al, tok, e)
        twin = Prober(al, tok2, "http://origin.test:%d/echo" % o.port)
        h.check_eq(twin.get(), 200, "a rule without a TTL stays")
        twin.close()
        al.check_alive()


h.run(main)
