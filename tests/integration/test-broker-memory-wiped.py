#!/usr/bin/env python3
"""Secret bytes are wiped wherever they pass: after secrets were created
through the API (bearer, basic, an OAuth login), used for injection (headers
asks on the IPC socket), the OAuth login refreshed through libcurl, and all
of them deleted, the broker's whole readable memory (/proc/PID/mem, every
mapping but the sanitizer's shadow) holds none of their values, in any form
airlock sent them (the basic value's base64, "Bearer <token>"). The scan's
control: the sealed text of a live secret, which the state in memory does
hold, IS found — a scan that finds nothing proves nothing.

The broker is not dumpable (PR_SET_DUMPABLE 0): reading its memory needs
CAP_SYS_PTRACE (root); without it the test is skipped, saying why."""

import base64
import json
import os
import secrets as _secrets
import tempfile

import broker_harness as bh
import fake_providers as fpmod

BIG = 1 << 30   # the sanitizer's shadow and its reserved gaps: no heap there


def readable(pid):
    try:
        with open("/proc/%d/mem" % pid, "rb") as f:
            f.seek(0)
        with open("/proc/%d/maps" % pid) as m:
            first = m.readline().split()
        lo = int(first[0].split("-")[0], 16)
        with open("/proc/%d/mem" % pid, "rb") as f:
            f.seek(lo)
            f.read(1)
        return True
    except OSError:
        return False


def scan(pid, needles):
    """{needle: count} over every readable private or anonymous mapping."""
    found = {n: 0 for n in needles}
    longest = max(len(n) for n in needles)
    with open("/proc/%d/maps" % pid) as m:
        maps = [l.split() for l in m]
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for parts in maps:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in perms or hi - lo > BIG or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            off, tail = lo, b""
            while off < hi:
                n = min(hi - off, 4 << 20)
                try:
                    mem.seek(off)
                    chunk = mem.read(n)
                except OSError:
                    break
                data = tail + chunk
                for k in found:
                    found[k] += data.count(k)
                tail = data[-(longest - 1):]
                off += n
    return found


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-memscan-")
    with fpmod.open_or_skip(tmp) as fp, bh.Broker(flags=fp.airlock_flags()) as b:
        pid = b.proc.pid
        if not readable(pid):
            bh.skip("cannot read the broker's memory: it is not dumpable and this user lacks "
                    "CAP_SYS_PTRACE (ptrace_scope %s)" % (
                        open("/proc/sys/kernel/yama/ptrace_scope").read().strip()
                        if os.path.exists("/proc/sys/kernel/yama/ptrace_scope") else "n/a"))
        bearer = "sek-gone-" + _secrets.token_hex(20)
        basic = "u-gone:" + _secrets.token_hex(20)
        live = "sek-live-" + _secrets.token_hex(20)
        login = fp.login_claude(expires_in=120)       # refreshed at once
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gone", "host": "api.example.com",
                                                  "value": bearer})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "gone-basic", "host": "api.example.com",
                                                  "type": "basic", "value": basic})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "claude", "type": "oauth-claude",
                                                  "value": json.dumps(login)})
        b.must(201, "POST", "/proxy/v1/secrets", {"name": "live", "host": "api.example.com",
                                                  "value": live})
        bh.wait_for(lambda: "refreshed_at" in {s["name"]: s for s in
                                               b.must(200, "GET", "/proxy/v1/secrets")}["claude"],
                    15, what="the OAuth login refreshed")
        e = fpmod.Asker(b.ipc_socket)
        for name in ("gone", "gone-basic", "live"):
            a = e.ask(name, "api.example.com")
            bh.check("authorization" in fpmod.hdrs(a), "%s injected" % name)
        a = e.ask("claude", "api.anthropic.com")
        bh.check("authorization" in fpmod.hdrs(a), "the OAuth login injected")
        e.close()
        with fp.lock:
            oauth = list(fp.st.access["claude"]) + list(fp.st.refresh["claude"])
        bh.check(len(oauth) >= 4, "the login and its rotation: %d tokens" % len(oauth))
        for name in ("gone", "gone-basic", "claude"):
            b.must_204("DELETE", "/proxy/v1/secrets/" + name)
        sealed_live = [s["sealed"] for s in b.state()["secrets"] if s["name"] == "live"][0]

        gone = {"bearer": bearer.encode(), "basic": basic.encode(),
                "basic-b64": base64.b64encode(basic.encode())}
        for i, t in enumerate(oauth):
            gone["oauth-%d" % i] = t.encode()
        needles = list(gone.values()) + [sealed_live.encode()]
        counts = scan(pid, needles)
        bh.check(counts[sealed_live.encode()] > 0,
                 "control: the live secret's sealed text is found in the broker's memory")
        left = [k for k, v in gone.items() if counts[v]]
        bh.check(not left, "no deleted secret's value left in the broker's memory "
                 "(found: %s)" % ", ".join(left))
        b.check_alive()


bh.run(main)
