"""--max-tokens-per-day: the LLM tokens read from a client's answers to
injected requests count against its budget for the UTC day; the request
that crosses the budget completes, the next one is answered 429 with
X-Airlock-Reason: token-budget and a Retry-After no later than the next UTC
midnight, on a line of its own. Another client on the same secret and
origin is unaffected; raising the budget (client set) lets the client
through again with its count kept."""
import time

import airlock_harness as h
import budgettest as bt
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup(handler=bt.Messages) as s:
        al = s.al
        tok, free = bt.two_clients(s, 30)

        def call(t):
            return bt.call(s, t)

        # 18 tokens, then 36 (crossing 30: it completes), then refused
        for i in range(2):
            st, _, body = call(tok)
            h.check_eq(st, 200, "call %d (%d tokens so far) completes" % (i + 1, 18 * i))
            h.check(b'"usage"' in body, "the answer passes whole")
        st, hd, _ = call(tok)
        h.check_eq((st, hd.get("x-airlock-reason")), (429, "token-budget"), "the call after the crossing")
        ra = int(hd.get("retry-after", "0"))
        left = 86400 - int(time.time()) % 86400
        h.check(1 <= ra <= left + 2, "Retry-After until UTC midnight: %d (midnight in %d)" % (ra, left))
        d = pt.wait_decision(al, lambda d: d.get("reason") == "token-budget", "a token-budget line")
        h.check_eq((d.get("client"), d.get("status"), d["verdict"]), ("capped", "429", "deny"), "its line")
        for i in range(4):
            st, _, _ = call(free)
            h.check_eq(st, 200, "another client is unaffected (%d)" % (i + 1))

        # the count is kept: 36 used, a budget of 40 lets one more through
        p = al.cli("client", "set", "capped", "--max-tokens-per-day", "40")
        h.check(p.returncode == 0, "client set --max-tokens-per-day 40: %s" % p.stderr)
        st, _, _ = call(tok)
        h.check_eq(st, 200, "under a raised budget")
        st, hd, _ = call(tok)
        h.check_eq((st, hd.get("x-airlock-reason")), (429, "token-budget"), "54 tokens used of 40")
        al.check_alive()


h.run(main)
