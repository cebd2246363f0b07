#!/usr/bin/env python3
"""Presets are enough: with only `airlock allow sb --preset claude-code
--secret c` and `--preset codex --secret x` (zero audit rounds), the real
Claude Code and Codex CLIs, run with their default settings (telemetry on)
through airlock in strict mode against the fake providers, print the fake
model's answer; the real token reaches the upstream only on the paths the
presets mark (Messages; accounts/check and Responses), and everything else
the CLIs try (telemetry, feature flags, plugins) is denied by airlock, never
sent. The preset's rules are ordinary rules: listed, and revoked by host.
Negative twins: a preset that needs a secret refuses to run without one or
with a secret of another type, and adds nothing then.
Skipped when the CLIs are not installed (tools/deps --test)."""

import json
import tempfile

import airlock_harness as h
import fake_providers as fpmod
import realclients as rc

NEEDED = {("api.anthropic.com", "/v1/messages"), ("chatgpt.com", "/backend-api/wham/accounts/check"),
          ("chatgpt.com", "/backend-api/codex/responses")}


def main():
    if not rc.find("claude") or not rc.find("codex"):
        h.skip("claude and codex not installed (tools/deps --test)")
    tmp = tempfile.mkdtemp(prefix="airlock-preset-real-")
    with fpmod.open_or_skip(tmp) as fp, h.Airlock(extra_flags=fp.airlock_flags()) as al:
        if not al.enforcer_pid():
            h.skip("no enforcer")
        real_c, real_x = fp.login_claude(), fp.login_codex(account_id="acct-real-8642")
        for name, typ, f in (("c", "oauth-claude", real_c), ("x", "oauth-codex", real_x)):
            st, ans = al.api("POST", "/proxy/v1/secrets", {"name": name, "type": typ, "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt %s: %r" % (typ, ans))
        tok = al.api("POST", "/proxy/v1/clients", {"name": "sb"})[1]["token"]

        # twins: the preset refuses to be half applied
        p = al.cli("allow", "sb", "--preset", "claude-code")
        h.check_eq(p.returncode, 1, "claude-code without --secret: %s" % p.stderr)
        h.check("needs --secret" in p.stderr, "says why: %s" % p.stderr)
        p = al.cli("allow", "sb", "--preset", "claude-code", "--secret", "x")
        h.check_eq(p.returncode, 1, "claude-code with the codex secret: %s" % p.stderr)
        h.check("oauth-codex" in p.stderr, "names the type: %s" % p.stderr)
        p = al.cli("allow", "sb", "--preset", "claude-code", "--host", "a.example")
        h.check_eq(p.returncode, 2, "--preset with --host is a usage error")
        h.check_eq(al.api("GET", "/proxy/v1/clients/sb")[1], [], "nothing added by the twins")

        for preset, sec in (("claude-code", "c"), ("codex", "x")):
            p = al.cli("allow", "sb", "--preset", preset, "--secret", sec)
            h.check_eq(p.returncode, 0, "allow --preset %s: %s" % (preset, p.stderr))
            print("preset %s:\n%s" % (preset, p.stdout.rstrip()), flush=True)
        rules = al.api("GET", "/proxy/v1/clients/sb")[1]
        h.check_eq(len(rules), 3, "three ordinary rules: %r" % rules)
        h.check(all(r["ports"] == [443] and r.get("secret") for r in rules), "443 only, each with its secret")

        for which, sec in (("claude", "c"), ("codex", "x")):
            n = len(fp.requests)
            p = rc.run(al, tmp, which, sec, tok)
            h.check_eq(p.returncode, 0, "%s through the preset: %s %s" % (which, p.stdout[-300:], p.stderr[-600:]))
            h.check(fp.answer_text in p.stdout, "%s printed the fake answer" % which)
            with fp.lock:
                seen = fp.requests[n:]
            real = {"claude": real_c["claudeAiOauth"]["accessToken"], "codex": real_x["tokens"]["access_token"]}
            for r in seen:
                path = r["path"].split("?")[0]
                h.check((r["host"], path) in NEEDED, "%s: only needed paths reach upstream, not %s%s"
                        % (which, r["host"], path))
                hd = {k.lower(): v for k, v in r["headers"]}
                h.check_eq(hd.get("authorization"), "Bearer " + real[which], "%s: the real token on %s" % (which, path))
            print("%s: %d upstream requests, all needed: %s" % (
                which, len(seen), sorted({r["path"].split("?")[0] for r in seen})), flush=True)
        denied = [ln for ln in al.log_text().splitlines() if " deny " in ln and "client=sb" in ln]
        h.check(denied, "the optional calls were denied by airlock")
        print("denied by airlock (%d), e.g.:\n  %s" % (len(denied), "\n  ".join(denied[:6])), flush=True)

        # revoked like any rule
        p = al.cli("revoke", "sb", "--host", "api.anthropic.com")
        h.check_eq(p.returncode, 0, "revoke: %s" % p.stderr)
        h.check_eq([r["host"] for r in al.api("GET", "/proxy/v1/clients/sb")[1]], ["chatgpt.com"] * 2,
                   "the codex rules stay")
        al.check_alive()


h.run(main)
