#!/usr/bin/env python3
"""Seeing past the first denial: a learning rule (`airlock allow sb --host
chatgpt.com --learn --ttl 10m --secret x`) forwards and logs every call on
the host, injecting the login only on the calls the codex preset marks as
needing it; the real Codex (default settings) answers in that one round,
and every call it makes shows in the log, so `audit suggest --learned`
gives the rules strict mode will meet: accounts/check and Responses with
--secret x (seen, not added from the preset), the rest left out as
optional. After the learning rules are revoked and the suggestions run,
Codex answers again with the real token only where needed. Negative twins:
--learn without --ttl, with a TTL over 1h, or with --path is refused, and
the real token never reached an optional call while learning. Skipped
when Codex is not installed (tools/deps --test)."""

import json
import shlex
import tempfile

import airlock_harness as h
import fake_providers as fpmod
import realclients as rc

NEEDED = {"/backend-api/wham/accounts/check", "/backend-api/codex/responses"}


def main():
    if not rc.find("codex"):
        h.skip("codex not installed (tools/deps --test)")
    tmp = tempfile.mkdtemp(prefix="airlock-learn-")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_x = fp.login_codex(account_id="acct-real-1122")
        st, ans = al.api("POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex", "value": json.dumps(real_x)})
        h.check_eq(st, 201, "adopt: %r" % (ans,))
        tok = al.api("POST", "/proxy/v1/clients", {"name": "sb"})[1]["token"]
        for args in (["--learn"], ["--learn", "--ttl", "2h"], ["--learn", "--ttl", "10m", "--path", "/x"]):
            p = al.cli("allow", "sb", "--host", "chatgpt.com", "--secret", "x", *args)
            h.check(p.returncode != 0, "refused: %r %s" % (args, p.stderr))
        h.check_eq(al.api("GET", "/proxy/v1/clients/sb")[1], [], "the twins added nothing")

        p = al.cli("allow", "sb", "--host", "chatgpt.com", "--learn", "--ttl", "10m", "--secret", "x")
        h.check_eq(p.returncode, 0, "allow --learn: %s" % p.stderr)
        print("learning rules:\n" + p.stdout, flush=True)
        rules = al.api("GET", "/proxy/v1/clients/sb")[1]
        h.check(all(r.get("expires") for r in rules), "every learning rule ends by itself")
        h.check_eq(sorted(p for r in rules if r.get("secret") for p in r["paths"]), sorted(NEEDED),
                   "the secret only on the needed calls")

        p = rc.run(al, tmp, "codex", "x", tok)
        h.check_eq(p.returncode, 0, "codex in the learning round: %s" % p.stderr[-600:])
        h.check(fp.answer_text in p.stdout, "codex answered while learning")
        for r in fp.requests:
            hd = {k.lower(): v for k, v in r["headers"]}
            if hd.get("authorization") == "Bearer " + real_x["tokens"]["access_token"]:
                h.check(r["path"].split("?")[0] in NEEDED, "the real token only where needed: %s" % r["path"])

        p = al.cli("audit", "suggest", "--learned", "--log", al.err_path, "sb")
        h.check_eq(p.returncode, 0, "suggest --learned: %s" % p.stderr)
        print("audit suggest --learned:\n%s\n%s" % (p.stdout, p.stderr), flush=True)
        cmds = [(shlex.split(ln.partition("  # ")[0])[2:], ln.partition("  # ")[2])
                for ln in p.stdout.splitlines() if ln.startswith("airlock allow ")]
        got = {a[a.index("--path") + 1]: (a, why) for a, why in cmds if "--path" in a}
        h.check_eq(set(got), NEEDED, "the needed calls, nothing else")
        for path, (a, why) in got.items():
            h.check(a[-2:] == ["--secret", "x"] and "seen while learning" in why, "%s seen, with x: %r" % (path, why))
        h.check("analytics-events" in p.stdout, "telemetry seen and left out")

        h.check_eq(al.cli("revoke", "sb", "--host", "chatgpt.com").returncode, 0, "learning rules revoked")
        for a, _ in cmds:
            h.check_eq(al.cli("allow", *a).returncode, 0, "run %r" % a)
        n = len(fp.requests)
        p = rc.run(al, tmp, "codex", "x", tok)
        h.check(p.returncode == 0 and fp.answer_text in p.stdout, "codex under the suggested rules: %s" % p.stderr[-400:])
        h.check_eq({r["path"].split("?")[0] for r in fp.requests[n:]}, NEEDED, "only the needed calls upstream")
        al.check_alive()


h.run(main)
