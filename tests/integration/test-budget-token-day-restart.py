"""--max-tokens-per-day holds across restarts: the day's count is the
enforcer's, the broker keeps a copy (tokens-today.json in the state dir)
and gives it back to every enforcer that connects. A client over its
budget stays refused (429 token-budget) after its enforcer is killed -9
and restarted, after airlock is killed -9 and started again, and after a
clean restart; raising the budget lets it through with its count kept, and
GET /proxy/v1/status and `airlock status` show the count against the budget.
Before, each of these gave the client a fresh day. Twins: another client
is unaffected throughout; a tokens-today.json that does not parse is said
in the log, and budgets then start from zero (never a crash, never a
refusal of everything)."""
import json
import os
import signal

import airlock_harness as h
import budgettest as bt
import mitmtest as mt


def main():
    with mt.Setup(handler=bt.Messages) as s:
        al = s.al
        tok, free = bt.two_clients(s, 30)
        path = os.path.join(al.state_dir, "tokens-today.json")

        def call(t):
            st, hd, _ = bt.call(s, t)
            return st, hd.get("x-airlock-reason")

        def kept():
            try:
                with open(path) as f:
                    return json.load(f).get("clients", {})
            except (OSError, ValueError):
                return None

        def ready(what):
            # the other client allowed: the enforcer runs the policy, and so
            # the day's counts, which the broker sends ahead of it
            h.wait_for(lambda: _try(call, free) == (200, None), timeout=20, what=what)
            return call(tok)

        # 18, then 36 tokens: the second call crosses 30 and completes
        for i in range(2):
            h.check_eq(call(tok), (200, None), "call %d completes" % (i + 1))
        h.check_eq(call(tok), (429, "token-budget"), "the call after the crossing")
        h.wait_for(lambda: kept() == {"capped": 36}, timeout=10,
                   what="the broker keeps the day's count (36) in the state dir")

        # the enforcer killed -9: the broker starts another, which is told the count
        al.enforcer_restarts_allowed = 1
        pid = al.enforcer_pid()
        os.kill(pid, signal.SIGKILL)
        h.wait_for(lambda: al.enforcer_pid() not in (None, pid), timeout=30,
                   what="the enforcer restarted")
        h.check_eq(ready("an answer from the new enforcer"), (429, "token-budget"),
                   "still over the budget after the enforcer's restart")
        h.check_eq(call(free), (200, None), "the other client after the enforcer's restart")

        # all of airlock killed -9, then started on the same state dir
        al.stop(sig=signal.SIGKILL, expect_clean=False)
        al.enforcer_restarts_allowed = 0
        al.start()
        h.check_eq(ready("an answer after airlock's restart"), (429, "token-budget"),
                   "still over the budget after airlock was killed and started again")

        # raising the budget: the count is kept (36), so 40 lets one more through
        p = al.cli("client", "set", "capped", "--max-tokens-per-day", "40")
        h.check(p.returncode == 0, "client set --max-tokens-per-day 40: %s" % p.stderr)
        h.check_eq(call(tok), (200, None), "under the raised budget")
        h.check_eq(call(tok), (429, "token-budget"), "54 tokens of 40")
        h.wait_for(lambda: kept() == {"capped": 54}, timeout=10, what="the new count kept (54)")
        h.check_eq(al.status()["tokens_today"], [{"client": "capped", "tokens": 54, "max_tokens_per_day": 40}],
                   "GET /proxy/v1/status tokens_today")
        p = al.cli("status")
        h.check(p.returncode == 0 and "tokens_today: client=capped tokens=54 max_tokens_per_day=40\n" in p.stdout,
                "airlock status prints it: %r" % p.stdout[-300:])

        # a clean restart keeps it too
        al.restart()
        h.check_eq(ready("an answer after a clean restart"), (429, "token-budget"),
                   "still over the budget after a clean restart")

        # twin: a file that does not parse is said, and budgets start from zero
        al.stop()
        with open(path, "w") as f:
            f.write('{"day": "today", "clients": {"capped": 1}}')
        al.start()
        h.check_eq(ready("an answer with a broken count file"), (200, None),
                   "a broken count file: the budget starts from zero")
        h.check("the day's LLM token counts are not read" in al.log_text()
                and "why=\"no day\"" in al.log_text(),
                "the broken file is said in the log")
        for i in range(3):
            h.check_eq(call(free), (200, None), "the other client is unaffected (%d)" % (i + 1))
        al.check_alive()


def _try(call, tok):
    """The answer, or None while the proxy does not listen."""
    try:
        return call(tok)
    except (OSError, EOFError):
        return None


h.run(main)
