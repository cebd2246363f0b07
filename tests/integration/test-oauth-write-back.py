#!/usr/bin/env python3
"""--write-back: a secret adopted with write_back and source_file gets each
rotated token written back to the vendor file atomically, with every key
airlock does not own kept (other top-level entries, unknown fields inside the
login object) and mode 0600. Negative twin: without write_back the vendor
file is never touched."""

import json
import os
import stat
import tempfile

import broker_harness as bh
import fake_providers as fpmod


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-wb-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        f = fp.login_claude(expires_in=0)
        f["claudeAiOauth"]["someFutureField"] = {"keep": True}
        f["mcpOAuth"] = {"server": {"accessToken": "unrelated"}}
        path = os.path.join(tmp, "credentials.json")
        with open(path, "w") as fh:
            json.dump(f, fh)
        os.chmod(path, 0o600)
        other = os.path.join(tmp, "untouched.json")
        g = fp.login_codex(expires_in=0)
        with open(other, "w") as fh:
            json.dump(g, fh)
        before_other = open(other).read()
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                  "value": json.dumps(f), "source_file": path,
                                                  "write_back": True})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "x", "type": "oauth-codex",
                                                  "value": json.dumps(g), "source_file": other})
        bh.wait_for(lambda: fp.stats("claude")["refreshes"] >= 1 and fp.stats("codex")["refreshes"] >= 1,
                    15, what="both refreshed")
        bh.wait_for(lambda: json.load(open(path))["claudeAiOauth"]["refreshToken"]
                    != f["claudeAiOauth"]["refreshToken"], 5, what="written back")
        now = json.load(open(path))
        o = now["claudeAiOauth"]
        bh.check(fp.live_refresh("claude", o["refreshToken"]), "the written token is the live one")
        bh.check_eq(o["someFutureField"], {"keep": True}, "unknown inner key kept")
        bh.check_eq(now["mcpOAuth"], f["mcpOAuth"], "unknown top-level key kept")
        bh.check_eq(o["subscriptionType"], "max", "vendor fields kept")
        bh.check(o["expiresAt"] > 10 ** 12, "expiresAt in ms")
        bh.check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "0600")
        bh.check_eq(open(other).read(), before_other, "no write-back without the flag")


bh.run(main)
