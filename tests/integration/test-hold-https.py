"""Held requests over HTTPS. A CONNECT to a host with no rule is held
itself (method CONNECT, no path): approved, its rule lets the host's port
through and the tunnel opens (curl reaches the origin, trusting the
origin's own CA). A request inside an intercepted tunnel whose path the
rule does not allow is held (path-not-allowed): approved, it reaches the
origin through the same connection, over HTTP/1.1 and over an HTTP/2
stream. Twin: with the client set back to --on-deny deny, the same
request is refused at once."""
import json
import time

import airlock_harness as h
import holdtest as ht
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup(flags=["--hold-timeout", "30s"]) as s:
        al, port = s.al, s.port
        tok = ht.client_hold(al, "web-1")
        tok2 = ht.client_hold(al, "web-2")
        pt.allow(al, "web-2", "origin.test", "--port", str(port), "--path", "/echo/*")
        f = ht.Follow(al)
        try:
            time.sleep(0.3)
            # the CONNECT itself
            r = ht.Curl(al, tok, "https://origin.test:%d/tunnel" % port, "--cacert", s.ca.ca_cert)
            a = f.wait(lambda x: x["state"] == "pending" and x["client"] == "web-1", 2.0, "held CONNECT")
            h.check_eq((a["method"], a["host"], a["port"], a.get("path"), a["reason"]),
                       ("CONNECT", "origin.test", port, None, "no-rule"), "what was asked")
            p = al.cli("approvals", "approve", str(a["id"]), "--prefix", "/x/")
            h.check(p.returncode == 1 and "CONNECT" in p.stderr, "no prefix for a CONNECT: %s" % p.stderr)
            ht.approve(al, a["id"], "--ttl", "5m")
            code, body, err = r.result()
            h.check_eq(code, "200", "the tunnel opened (%s)" % err)
            h.check_eq(json.loads(body)["path"], "/tunnel", "the origin answered")
            _, rules = al.api("GET", "/proxy/v1/clients/web-1")
            h.check_eq([(x["host"], x["ports"], x["methods"], x["paths"], x.get("ttl_seconds")) for x in rules],
                       [("origin.test", [port], [], [], 300)], "a host:port rule")

            # inside an intercepted tunnel, HTTP/1.1 then HTTP/2
            for proto, path in (("--http1.1", "/other/h1"), ("--http2", "/other/h2")):
                r = ht.Curl(al, tok2, "https://origin.test:%d%s" % (port, path), proto, https=True)
                a = f.wait(lambda x, path=path: x["state"] == "pending" and x.get("path") == path, 2.0,
                           "held %s" % path)
                h.check_eq((a["method"], a["scheme"], a["reason"]), ("GET", "https", "path-not-allowed"),
                           "held inside the tunnel")
                time.sleep(0.3)
                h.check(r.waiting(), "waits")
                ht.approve(al, a["id"])
                code, body, err = r.result()
                h.check_eq(code, "200", "%s released (%s)" % (path, err))
                h.check_eq(json.loads(body)["path"], path, "the origin's answer")
            via = [d.get("via") for d in ht.lines(al, "hold") if d.get("path") == "/other/h2"]
            h.check_eq(via, ["h2"], "the h2 hold line says via=h2")

            # twin: set back to deny
            p = al.cli("client", "set", "web-2", "--on-deny", "deny")
            h.check(p.returncode == 0, "client set: %s" % p.stderr)
            t0 = time.monotonic()
            c = mt.curl(al, tok2, "-w", "%{http_code}", "-o", "/dev/null", "https://origin.test:%d/other/no" % port)
            h.check_eq(pt.status_of(c), "403", "refused at once")
            h.check(time.monotonic() - t0 < 3, "not held")
        finally:
            f.close()
        al.check_alive()


h.run(main)
