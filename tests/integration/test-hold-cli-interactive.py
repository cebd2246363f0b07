"""`airlock approvals --follow` at a terminal asks about each new held
request: typing "a" approves it (the POST body of the held request then
reaches the origin whole), "p" then a prefix approves every path under it,
"d" refuses it (403 hold-denied), "s" leaves it pending. Without a
terminal (the other tests) it only prints. `airlock approvals` lists what
is pending, and says so when nothing is."""
import json
import os
import pty
import select
import subprocess
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt


class Term:
    def __init__(self, al):
        self.master, slave = pty.openpty()
        self.p = subprocess.Popen([h.binary("airlock"), "approvals", "--follow"], env=al.cli_env(),
                                  stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.buf = b""

    def expect(self, text, timeout=5.0):
        end = time.monotonic() + timeout
        while text.encode() not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                h.fail("terminal: no %r within %.1fs (got %r)" % (text, timeout, self.buf[-600:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    d = os.read(self.master, 4096)
                except OSError:
                    d = b""
                if not d:
                    h.fail("terminal closed (got %r)" % self.buf[-600:])
                self.buf += d
        i = self.buf.index(text.encode()) + len(text)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen.decode(errors="replace")

    def type(self, s):
        os.write(self.master, s.encode())

    def close(self):
        self.p.kill()
        self.p.wait()
        os.close(self.master)


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--hold-timeout", "30s"]) as al:
        tok = ht.client_hold(al, "web-1")
        url = "http://origin.test:%d" % o.port
        p = al.cli("approvals")
        h.check_eq((p.returncode, p.stdout.strip()), (0, "no held requests"), "nothing pending")
        t = Term(al)
        try:
            time.sleep(0.3)
            r = ht.Curl(al, tok, url + "/upload", "--data-binary", "x" * 5000)
            seen = t.expect("[s]kip: ")
            h.check("pending web-1 POST origin.test:%d /upload (no-rule)" % o.port in seen,
                    "the line shows what is asked: %r" % seen)
            p = al.cli("approvals")
            h.check(" pending web-1 POST " in p.stdout, "airlock approvals lists it: %r" % p.stdout)
            t.type("a\n")
            t.expect("approved ")
            code, body, err = r.result()
            h.check_eq(code, "200", "approved at the terminal (%s)" % err)
            h.check_eq(json.loads(body)["body_len"], 5000, "the held POST's body arrived whole")

            r = ht.Curl(al, tok, url + "/docs/one")
            t.expect("[s]kip: ")
            t.type("p\n")
            t.expect("prefix (every path under it): ")
            t.type("/docs\n")
            t.expect("approved ")
            code, _, err = r.result()
            h.check_eq(code, "200", "prefix approved (%s)" % err)
            _, rules = al.api("GET", "/proxy/v1/clients/web-1")
            h.check(["/docs/*"] in [x["paths"] for x in rules], "the prefix rule: %s" % rules)

            r = ht.Curl(al, tok, url + "/skip-me")
            t.expect("[s]kip: ")
            t.type("s\n")
            r2 = ht.Curl(al, tok, url + "/deny-me")
            t.expect("[s]kip: ")
            t.type("d\n")
            t.expect("denied ")
            code, body, _ = r2.result()
            h.check_eq(code, "403", "denied at the terminal")
            h.check("hold-denied" in body, "hold-denied: %r" % body)
            h.check(r.waiting(), "the skipped one still waits")
            _, lst = al.api("GET", "/proxy/v1/approvals")
            h.check_eq([x["path"] for x in lst], ["/skip-me"], "skipped: still pending")
            r.kill()
        finally:
            t.close()
        al.check_alive()


h.run(main)
