#!/usr/bin/env python3
"""One audit round is enough. From a client with no rules, the real Claude
Code and Codex CLIs (default settings: telemetry on) run once each through
airlock in --mode audit against the fake providers; one `airlock audit
suggest` over that log, knowing the adopted logins (GET /proxy/v1/secrets)
and the providers (presets), prints rules that, run as printed, let both
CLIs answer in strict mode: --secret exactly on the calls that need the
login, telemetry left out (listed as comments), no rule for a token host,
methods merged per path, the port seen. Codex never reaches Responses in
the audit round (it stops at the denied accounts/check): the needed call is
added from the preset and says so. After the switch to strict mode the real
token reaches the upstream only on the needed paths. Negative twin: the
same log without the broker (no secrets known) gives rules with no --secret,
under which Claude gets no answer (the placeholder is refused upstream).
Skipped when the CLIs are not installed (tools/deps --test)."""

import json
import shlex
import tempfile

import airlock_harness as h
import fake_providers as fpmod
import realclients as rc

NEEDED = {("api.anthropic.com", "/v1/messages"), ("chatgpt.com", "/backend-api/wham/accounts/check"),
          ("chatgpt.com", "/backend-api/codex/responses")}
TELEMETRY = ("/api/event_logging/", "/analytics-events/", "/otlp/")
TOKEN_HOSTS = ("platform.claude.com", "console.anthropic.com", "auth.openai.com")


def commands(out):
    """The allow commands of suggest's output, each as (argv, comment)."""
    cmds = []
    for ln in out.splitlines():
        if ln.startswith("airlock allow "):
            cmd, _, why = ln.partition("  # ")
            cmds.append((shlex.split(cmd)[1:], why))
    return cmds


def opt(argv, name):
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def main():
    if not rc.find("claude") or not rc.find("codex"):
        h.skip("claude and codex not installed (tools/deps --test)")
    tmp = tempfile.mkdtemp(prefix="airlock-audit-real-")
    with fpmod.open_or_skip(tmp) as fp, \
            h.Airlock(extra_flags=fp.airlock_flags() + ["--mode", "audit"]) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_c, real_x = fp.login_claude(), fp.login_codex(account_id="acct-real-9753")
        for name, typ, f in (("c", "oauth-claude", real_c), ("x", "oauth-codex", real_x)):
            st, ans = al.api("POST", "/proxy/v1/secrets", {"name": name, "type": typ, "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt %s: %r" % (typ, ans))
        tok = al.api("POST", "/proxy/v1/clients", {"name": "sb"})[1]["token"]

        # the one audit round
        for which, sec in (("claude", "c"), ("codex", "x")):
            p = rc.run(al, tmp, which, sec, tok)
            h.check(fp.answer_text not in p.stdout, "%s gets no answer in audit mode" % which)
        h.check_eq([r for r in fp.requests if r["host"] not in ()], [], "audit mode sent nothing upstream")
        p = al.cli("audit", "suggest", "--log", al.err_path, "sb")
        h.check_eq(p.returncode, 0, "audit suggest: %s" % p.stderr)
        print("audit suggest (one round):\n%s\n%s" % (p.stdout.rstrip(), p.stderr.rstrip()), flush=True)
        cmds = commands(p.stdout)
        h.check(cmds, "rules suggested")
        for argv, why in cmds:
            host, paths, secret = opt(argv, "--host")[0], opt(argv, "--path"), opt(argv, "--secret")
            h.check_eq(opt(argv, "--port"), ["443"], "the port seen, once: %r" % argv)
            h.check(host not in TOKEN_HOSTS, "no rule for a token host: %r" % argv)
            h.check(not any(t in x for x in paths for t in TELEMETRY), "telemetry left out: %r" % argv)
            h.check_eq(bool(secret), any((host, x) in NEEDED for x in paths), "--secret exactly where needed: %r" % argv)
            h.check(why, "each suggestion says why")
            h.check_eq(len(set(opt(argv, "--method"))), len(opt(argv, "--method")), "methods merged")
        for host, path in NEEDED:
            h.check(any(opt(a, "--host") == [host] and path in opt(a, "--path") for a, _ in cmds),
                    "needed %s%s suggested" % (host, path))
        h.check(any(t in p.stdout for t in TELEMETRY), "the telemetry left out is listed as comments")

        # negative twin: without the broker's secrets, no --secret anywhere
        p2 = al.cli("audit", "suggest", "--log", al.err_path, "sb", env={"AIRLOCK_URL": tmp + "/no.sock"})
        h.check_eq(p2.returncode, 0, "suggest without the broker: %s" % p2.stderr)
        bare = commands(p2.stdout)
        h.check(bare and not any(opt(a, "--secret") for a, _ in bare), "no secret known, none suggested")

        for argv, _ in cmds:
            r = al.cli(*argv)
            h.check_eq(r.returncode, 0, "run %r: %s" % (argv, r.stderr))
        al.stop()
        al.extra_flags = fp.airlock_flags()
        al.start()

        for which, sec in (("claude", "c"), ("codex", "x")):
            n = len(fp.requests)
            p = rc.run(al, tmp, which, sec, tok)
            h.check_eq(p.returncode, 0, "%s in strict mode: %s %s" % (which, p.stdout[-300:], p.stderr[-600:]))
            h.check(fp.answer_text in p.stdout, "%s printed the fake answer" % which)
            with fp.lock:
                seen = fp.requests[n:]
            real = {"claude": real_c["claudeAiOauth"]["accessToken"], "codex": real_x["tokens"]["access_token"]}
            for r in seen:
                hd = {k.lower(): v for k, v in r["headers"]}
                if hd.get("authorization") == "Bearer " + real[which]:
                    h.check((r["host"], r["path"].split("?")[0]) in NEEDED,
                            "%s: the real token only where needed, not %s" % (which, r["path"]))
            print("%s in strict mode: %d upstream requests: %s" % (
                which, len(seen), sorted({r["host"] + r["path"].split("?")[0] for r in seen})), flush=True)
        al.check_alive()


h.run(main)
