#!/usr/bin/env python3
"""A change whose policy would not fit one IPC frame (AL_IPC_FRAME_MAX,
16 MiB) is refused with 413 and changes nothing; a change that lands
exactly at the cap is made and reaches the enforcer, also after the
enforcer reconnects.

Before, the broker answered such a change as done while the enforcer never
received it: a deleted client's token kept working. The state is written
close to the cap before airlock starts (tests/lib/bigpolicy.py); a first
over-the-cap rule tells, in the broker's own error, how far over it is, so
the next rules land at cap + 1 (refused: state.json byte for byte the same,
the policy version the same, the enforcer still refuses the deleted client
and allows the other) and exactly at the cap (201, enforced). Its negative
twin is the cap + 1 rule itself.
"""
import os
import re
import signal
import time

import airlock_harness as h
import bigpolicy
import origins
import proxytest as pt

CAP = bigpolicy.FRAME_MAX
TOK_A = "alk_test_token_of_client_a_0123456789abcdef"
TOK_B = "alk_test_token_of_client_b_0123456789abcdef"
F = "/echo/" + "f" * (2048 - len("/echo/"))      # the path asked for through the proxy


def status_of(al, tok, url):
    """The proxy's answer to GET url with token, or None while no enforcer listens."""
    try:
        c = pt.RawConn(al.http_port)
    except OSError:
        return None
    try:
        return c.request("GET", url, token=tok)[0]
    except (OSError, EOFError):
        return None
    finally:
        c.close()


def state_bytes(al):
    with open(os.path.join(al.state_dir, "state.json"), "rb") as f:
        return f.read()


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + pt.pins("cap.test", o.port)
        al = h.Airlock(extra_flags=flags, start=False)
        with al:
            st = bigpolicy.State()
            st.client("a", TOK_A)
            st.client("b", TOK_B)
            st.rule("a", "origin.test", ports=[o.port])
            st.rule("b", "origin.test", ports=[o.port])
            st.pad_to(CAP - 3000)
            st.write(al.state_dir)
            t = time.monotonic()
            al.start()
            h.log("airlock up over a %d-byte policy in %.1f s" % (CAP - 3000, time.monotonic() - t))

            origin = "http://origin.test:%d/echo" % o.port
            cap_url = "http://cap.test:%d%s" % (o.port, F)
            h.wait_for(lambda: status_of(al, TOK_A, origin) == 200, timeout=20,
                       what="client a allowed")
            h.check_eq(status_of(al, TOK_B, origin), 200, "client b before its deletion")

            # each change below writes a 16 MiB state.json and encodes and
            # sends a 16 MiB policy: seconds on a loaded sanitizer build
            h.check_eq(al.api("DELETE", "/proxy/v1/clients/b", timeout=60)[0], 204, "delete client b")
            h.wait_for(lambda: status_of(al, TOK_B, origin) == 407, timeout=20,
                       what="deleted client b refused")
            before = state_bytes(al)
            version = al.status()["policy_version"]

            def add(k):
                q = "/q" + "q" * (k - 2)
                return al.api("POST", "/proxy/v1/allows",
                              {"client": "a", "host": "cap.test", "ports": [o.port],
                               "paths": [F, q]}, timeout=60)

            # over the cap by an unknown amount: the error says how much
            code, ans = add(2048)
            h.check_eq(code, 413, "a rule over the cap: %r" % (ans,))
            m = re.match(r"the policy would be (\d+) bytes, over the IPC frame cap of (\d+) bytes: "
                         r"remove rules or clients first$", ans.get("error", ""))
            h.check(m, "413 message: %r" % (ans,))
            over, cap = int(m.group(1)), int(m.group(2))
            h.check_eq(cap, CAP, "cap in the message")
            k = 2048 - (over - CAP)
            h.log("probe: %d bytes (%d over); a path of %d bytes lands at the cap" % (over, over - CAP, k))
            h.check(2 <= k <= 2048, "the padding left room for an exact rule (k=%d)" % k)

            # cap + 1: refused, and nothing changed anywhere
            code, ans = add(k + 1)
            h.check_eq(code, 413, "a rule at cap + 1: %r" % (ans,))
            h.check_eq(ans["error"], "the policy would be %d bytes, over the IPC frame cap of %d "
                       "bytes: remove rules or clients first" % (CAP + 1, CAP), "cap + 1 message")
            h.check(state_bytes(al) == before, "state.json changed by a refused change")
            h.check_eq(al.status()["policy_version"], version, "policy version after a refusal")
            h.check_eq(status_of(al, TOK_A, cap_url), 403, "the refused rule is not enforced")
            h.check_eq(status_of(al, TOK_B, origin), 407, "deleted client b still refused")
            h.check_eq(status_of(al, TOK_A, origin), 200, "client a still allowed")

            # exactly at the cap: made, and enforced
            code, ans = add(k)
            h.check_eq(code, 201, "a rule landing exactly at the cap: %r" % (ans,))
            h.check_eq(al.status()["policy_version"], version + 1, "policy version at the cap")
            h.wait_for(lambda: status_of(al, TOK_A, cap_url) == 200, timeout=20,
                       what="the rule at the cap enforced")
            h.check_eq(status_of(al, TOK_B, origin), 407, "deleted client b still refused")
            at_cap = state_bytes(al)
            h.check(at_cap != before and b"cap.test" in at_cap, "the rule at the cap is in state.json")

            # the CLI says why, one line, exit 1; still nothing changed
            p = al.cli("allow", "a", "--host", "more.test", timeout=90)
            h.check(p.returncode == 1 and "over the IPC frame cap of %d bytes" % CAP in p.stderr,
                    "cli allow past the cap: %d %r" % (p.returncode, p.stderr))
            h.check(state_bytes(al) == at_cap, "state.json changed by a refused CLI change")

            # an enforcer that reconnects gets the whole policy at the cap
            pid = al.enforcer_pid()
            al.enforcer_restarts_allowed = 1
            os.kill(pid, signal.SIGKILL)
            h.wait_for(lambda: al.enforcer_pid() not in (None, pid), timeout=30,
                       what="the enforcer restarted")
            h.wait_for(lambda: status_of(al, TOK_A, cap_url) == 200, timeout=30,
                       what="the restarted enforcer enforcing the policy at the cap")
            h.check_eq(status_of(al, TOK_B, origin), 407, "deleted client b refused after restart")
            h.check("policy refused" not in al.log_text(), "an enforcer refused a policy")
            al.check_alive()


h.run(main)
