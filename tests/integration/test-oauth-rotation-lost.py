#!/usr/bin/env python3
"""A single host killed while its refresh is at the provider loses that
rotation (the provider spends the refresh token on receipt and sends the
new one to a process that is gone). airlock cannot get it back, but it says
so: state.json records a refresh in flight (refresh_sent_at) before the
request goes out and drops the mark with the saved answer, so after the
restart the provider's refusal of the spent token is reported as
`relogin-required` with the reason "rotation lost: ...", not as a login its
owner revoked. Twins: a kill while no refresh is in flight loses nothing;
a provider that answers without tokens (500) rotated nothing, so a later
plain refusal keeps its own reason (invalid_grant); so does a refresh that
never left (the endpoint refuses connections: no mark stays behind). And a
lost answer stays known across a later refresh answered 503: the refusal
after it is still named a lost rotation."""

import json
import os
import tempfile
import time

import broker_harness as bh
import fake_providers as fpmod


def secret(b, name):
    return [s for s in b.must(200, "GET", "/proxy/v1/secrets") if s["name"] == name][0]


def state_secret(b, name):
    with open(os.path.join(b.state_dir, "state.json")) as f:
        return [s for s in json.load(f)["secrets"] if s["name"] == name][0]


def retried(b, name):
    """The broker logged a failed refresh of secret `name` (will retry)."""
    with open(b.err_path, errors="replace") as f:
        return any("OAuth refresh failed; will retry" in ln and " secret=%s " % name in ln for ln in f)


def adopt(b, fp, name, expires_in):
    b.must(201, "POST", "/proxy/v1/secrets", {"name": name, "type": "oauth-claude", "force": True,
                                              "value": json.dumps(fp.login_claude(expires_in=expires_in))})


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-lost-")
    with fpmod.open_or_skip(tmp) as fp:
        b = bh.Broker(flags=fp.airlock_flags())
        try:
            run(fp, b)
        except BaseException:
            print("--- broker log ---\n" + b.log_tail(40), flush=True)
            raise
        finally:
            b.close()


def run(fp, b):
    # 1. killed while the refresh is at the provider
    fp.delay("claude", 1.5)
    adopt(b, fp, "c", 0)                  # due at once
    bh.wait_for(lambda: fp.inflight > 0, 10, what="the refresh at the fake provider")
    bh.check(state_secret(b, "c").get("refresh_sent_at", 0) > 0,
             "state.json marks the refresh in flight before its answer")
    b.kill()
    fp.quiesce()                          # the fake spends the token, answers nobody
    bh.check_eq(fp.stats("claude")["refreshes"], 1, "the provider rotated once, for a dead broker")
    fp.delay("claude", 0)
    b.start()
    bh.wait_for(lambda: secret(b, "c")["status"] == "relogin-required", 20,
                what="relogin-required after the restart")
    s = secret(b, "c")
    bh.check(s.get("status_reason", "").startswith("rotation lost:"),
             "the loss is named as a lost rotation: %r" % s.get("status_reason"))
    bh.check("refresh_sent_at" not in state_secret(b, "c"), "the mark goes with relogin-required")
    with open(b.err_path, errors="replace") as f:
        bh.check("an earlier refresh whose answer was never saved" in f.read(), "the error line says why")
    bh.check_eq(fp.stats("claude")["reuses"], 1, "the spent token was presented once, not again")
    time.sleep(1)
    bh.check_eq(fp.stats("claude")["reuses"], 1, "and not retried")

    # 2. twin: killed with nothing in flight (a long-lived token) loses nothing
    adopt(b, fp, "c", 8 * 3600)
    bh.wait_for(lambda: secret(b, "c")["status"] == "ok", 10, what="the new login ok")
    bh.check("refresh_sent_at" not in state_secret(b, "c"), "no mark without a refresh in flight")
    b.kill()
    b.start()
    bh.check_eq(secret(b, "c")["status"], "ok", "a kill between refreshes loses nothing")

    # 3. twin: a refresh answered without tokens clears the mark; a plain
    # refusal after it keeps the provider's own reason
    fp.fail("claude", 500)
    fp.fail("claude", 400, body={"error": "invalid_grant", "error_description": "revoked"})
    adopt(b, fp, "d", 0)
    bh.wait_for(lambda: secret(b, "d")["status"] == "relogin-required", 30,
                what="the refusal after the backoff")
    reason = secret(b, "d").get("status_reason", "")
    bh.check(not reason.startswith("rotation lost"), "a refusal after a 500 is not a lost rotation: %r" % reason)
    bh.check("invalid_grant" in reason, "the provider's reason: %r" % reason)
    bh.check_eq(secret(b, "c")["status"], "ok", "the other login untouched")

    # 4. twin: a refresh that never left (the token endpoint's address
    # refuses connections) rotated nothing: no mark stays behind, and a
    # plain refusal once the endpoint is back keeps the provider's reason
    good = list(b.flags)
    dead = "127.254.254.1" if fp.addr != "127.254.254.1" else "127.254.254.2"
    b.stop()
    b.flags = [f.replace(":" + fp.addr, ":" + dead) for f in good]
    b.start()
    adopt(b, fp, "e", 0)
    bh.wait_for(lambda: retried(b, "e"), 15, what="a refresh that could not connect")
    bh.check("refresh_sent_at" not in state_secret(b, "e"),
             "no mark for a request that never left: %r" % state_secret(b, "e").get("refresh_sent_at"))
    b.stop()
    b.flags = good
    fp.fail("claude", 400, body={"error": "invalid_grant", "error_description": "revoked"})
    b.start()
    bh.wait_for(lambda: secret(b, "e")["status"] == "relogin-required", 20, what="the refusal")
    reason = secret(b, "e").get("status_reason", "")
    bh.check(not reason.startswith("rotation lost") and "invalid_grant" in reason,
             "a refusal after a request that never left is the provider's: %r" % reason)

    # 5. a lost answer stays known across a refresh answered without tokens:
    # killed while the refresh is at the provider, then a 503, then the
    # refusal of the spent token is still a lost rotation
    fp.delay("claude", 1.5)
    adopt(b, fp, "f", 0)
    bh.wait_for(lambda: fp.inflight > 0, 10, what="f's refresh at the fake provider")
    b.kill()
    fp.quiesce()
    fp.delay("claude", 0)
    fp.fail("claude", 503)
    b.start()
    bh.wait_for(lambda: retried(b, "f"), 15, what="f's refresh answered 503")
    bh.check(state_secret(b, "f").get("refresh_sent_at", 0) > 0,
             "the earlier lost answer's mark stays after a 503")
    bh.wait_for(lambda: secret(b, "f")["status"] == "relogin-required", 30,
                what="the refusal after the backoff")
    reason = secret(b, "f").get("status_reason", "")
    bh.check(reason.startswith("rotation lost:"), "still named a lost rotation after a 503: %r" % reason)
    b.stop()


bh.run(main)
