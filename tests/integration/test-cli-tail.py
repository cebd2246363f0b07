"""The live view: the enforcer sends each decision to the broker, which
keeps the last ones; `airlock tail --follow` prints a new decision within
1 s of the request (key=value as the log, --json as JSON lines), filtered
by client and --denied; GET /proxy/v1/decisions refuses an unknown query
parameter; `airlock audit suggest` with no --log (and a terminal as stdin)
reads the broker's decisions. Twin: another client's decision, and an
allow under --denied, never show."""
import json
import os
import pty
import select
import subprocess
import time

import airlock_harness as h
import origins
import proxytest as pt


class Tail:
    def __init__(self, al, *args):
        self.p = subprocess.Popen([h.binary("airlock"), "tail", "--follow"] + list(args), env=al.cli_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""

    def wait_line(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.buf.split(b"\n")[:-1]:
                if pred(line.decode()):
                    return line.decode()
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.monotonic()))
            if r:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    break
                self.buf += d
        h.fail("tail: no %s within %.1fs (got %r, stderr %r)" % (what, timeout, self.buf,
                                                              self.p.stderr.read1(4096) if self.p.poll() is not None else b""))

    def close(self):
        self.p.kill()
        self.p.wait()


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        tok2 = pt.client(al, "web-2")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
        url = "http://origin.test:%d" % o.port
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
        kv = Tail(al, "web-1")
        js = Tail(al, "--json", "--denied", "web-1")
        try:
            # the backlog first (the allow above), then live lines
            kv.wait_line(lambda l: " allow " in l and "path=/echo" in l, 5, "backlog line")
            time.sleep(0.2)   # both streams are now waiting for new decisions
            pt.RawConn(al.http_port).request("GET", url + "/web-2-path", token=tok2)
            t0 = time.monotonic()
            st, hd, _ = c.request("GET", url + "/live-deny", token=tok)
            h.check_eq(st, 403, "denied")
            rid = hd["x-airlock-request-id"]
            line = kv.wait_line(lambda l: "req=" + rid in l, 1.0, "the live deny")
            h.check(time.monotonic() - t0 < 1.0, "seen within 1 s")
            h.check(line.startswith("ts=") and " deny client=web-1 " in line and "path=/live-deny" in line,
                    "printed as the log prints it: %s" % line)
            j = json.loads(js.wait_line(lambda l: rid in l, 1.0, "the live deny as JSON"))
            h.check_eq((j["verdict"], j["client"], j["req"], j["path"]), ("deny", "web-1", rid, "/live-deny"),
                       "JSON line")
            c.request("GET", url + "/echo", token=tok)   # an allow: not for --denied
            st, hd, _ = c.request("GET", url + "/second", token=tok)
            rid2 = hd["x-airlock-request-id"]
            js.wait_line(lambda l: rid2 in l, 2.0, "the second deny")
            for line in (kv.buf + js.buf).decode().splitlines():
                h.check("web-2" not in line, "another client's line shown: %s" % line)
            for line in js.buf.decode().splitlines():
                h.check(json.loads(line)["verdict"] == "deny", "--denied shows an allow: %s" % line)
        finally:
            kv.close()
            js.close()
        # the API: plain GET (no follow) ends; unknown parameters are refused
        st, _, body = al.api_full("GET", "/proxy/v1/decisions?client=web-2")
        h.check_eq(st, 200, "GET decisions")
        lines = [body] if isinstance(body, dict) else [json.loads(l) for l in body.splitlines() if l]
        h.check(lines and all(d["client"] == "web-2" for d in lines), "filtered by client: %s" % lines)
        st, _, body = al.api_full("GET", "/proxy/v1/decisions?colour=red")
        h.check_eq(st, 400, "unknown parameter refused")
        # audit suggest without --log, stdin a terminal: the broker's decisions
        master, slave = pty.openpty()
        p = subprocess.run([h.binary("airlock"), "audit", "suggest", "web-1"], stdin=slave, capture_output=True,
                           text=True, env=al.cli_env(), timeout=30)
        os.close(slave)
        os.close(master)
        h.check_eq(p.returncode, 0, "audit suggest from the broker: %s" % p.stderr)
        h.check("/live-deny" in p.stdout and "web-1" in p.stdout, "suggests from the broker: %s" % p.stdout)
        al.check_alive()


h.run(main)
