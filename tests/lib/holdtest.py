"""holdtest: helpers for tests/integration/test-hold-*.py (held requests).

    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins(...) + ["--hold-timeout", "30s"]) as al:
        tok = client_hold(al, "web-1")
        f = Follow(al)                          # airlock approvals --follow --json
        r = Curl(al, tok, "http://origin.test:%d/echo" % o.port)   # runs in the background
        a = f.wait(lambda a: a["state"] == "pending", 1.0, "held")
        approve(al, a["id"], "--ttl", "10m")
        st, body = r.result()
"""
import json
import os
import re
import select
import subprocess
import time

import airlock_harness as h


def client_hold(al, name):
    p = al.cli("client", "create", "--on-deny", "hold", name)
    h.check(p.returncode == 0, "client create --on-deny hold %s: %s" % (name, p.stderr))
    return p.stdout.strip().splitlines()[0]


class Follow:
    """`airlock approvals --follow --json` running; its JSON lines parsed."""

    def __init__(self, al, *args):
        self.p = subprocess.Popen([h.binary("airlock"), "approvals", "--follow", "--json"] + list(args),
                                  env=al.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.buf = b""
        self.seen = 0

    def lines(self):
        return [json.loads(l) for l in self.buf.decode().splitlines() if l.strip()]

    def wait(self, pred, timeout, what):
        """The first line not yet returned that satisfies pred."""
        end = time.monotonic() + timeout
        while True:
            ls = self.lines()
            for i in range(self.seen, len(ls)):
                if pred(ls[i]):
                    self.seen = i + 1
                    return ls[i]
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    break
                self.buf += d
        h.fail("approvals --follow: no %s within %.1fs (got %r)" % (what, timeout, self.buf))

    def close(self):
        self.p.kill()
        self.p.wait()


class Curl:
    """curl through the plain proxy listener, in the background."""

    def __init__(self, al, tok, url, *args, https=False):
        cmd = ["curl", "-s", "-S", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}",
               "-x", al.proxy_url(tok)]
        if https:
            cmd += ["--cacert", al.ca_cert]
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd + list(args) + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)

    def waiting(self):
        return self.p.poll() is None

    def result(self, timeout=30):
        out, err = self.p.communicate(timeout=timeout)
        body, _, code = out.rpartition("\n")
        return code, body, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def approve(al, aid, *args):
    p = al.cli("approvals", "approve", str(aid), *args)
    h.check(p.returncode == 0, "approvals approve %s: %s" % (aid, p.stderr))
    return p.stdout


def deny(al, aid):
    p = al.cli("approvals", "deny", str(aid))
    h.check(p.returncode == 0, "approvals deny %s: %s" % (aid, p.stderr))
    return p.stdout


def lines(al, verdict):
    """Decision lines of the daemon log with this verdict (hold, allow, deny), parsed."""
    out = []
    for line in al.log_text().splitlines():
        m = re.match(r"ts=\S+ %s (.*)$" % verdict, line)
        if not m:
            continue
        d = {"verdict": verdict}
        for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', m.group(1)):
            d[k] = v.strip('"')
        out.append(d)
    return out
