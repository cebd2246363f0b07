"""Every decision line carries src (the sandbox's address:port) and req (its
request id), and every answer airlock makes itself carries
X-Airlock-Request-Id with that same id: a sandbox's 403 (or 407) is found in
the log by it. Ids are 20 hex digits and never repeat. In audit mode every
refusal has the verdict word `deny` (mode=audit says which mode), never
`audit`: an absolute-URI request, an intercepted inner request and a
refused CONNECT alike. Twin: an allowed request's line has an id too, and
the origin's own answer carries no X-Airlock-Request-Id."""
import re

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


def by_req(al, rid, what):
    return pt.wait_decision(al, lambda d: d.get("req") == rid, what)


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
            url = "http://origin.test:%d" % o.port
            c = pt.RawConn(al.http_port)
            src = "127.0.0.1:%d" % c.s.getsockname()[1]
            h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
            st, hd, _ = c.request("GET", url + "/other", token=tok)
            h.check_eq(st, 403, "denied path")
            rid = hd.get("x-airlock-request-id", "")
            h.check(re.fullmatch(r"[0-9a-f]{20}", rid) is not None, "a 20-hex request id: %r" % rid)
            d = by_req(al, rid, "the 403's line")
            h.check_eq((d["verdict"], d.get("reason"), d.get("path"), d.get("src")),
                       ("deny", "path-not-allowed", "/other", src), "the 403's line, found by its id")
            # a 407 (no token) has its own id and line
            st, hd, _ = c.request("GET", url + "/echo")
            h.check_eq(st, 407, "no token")
            rid2 = hd.get("x-airlock-request-id", "")
            h.check(rid2 and rid2 != rid, "a new id for the 407: %r" % rid2)
            h.check_eq(by_req(al, rid2, "the 407's line").get("reason"), "proxy-auth-required", "407 line")
            # twin: allowed, answered by the origin: no header, but the line has a req
            st, hd, _ = c.request("GET", url + "/echo", token=tok)
            h.check_eq(st, 200, "allowed")
            h.check("x-airlock-request-id" not in hd, "the origin's answer is not ours")
            allows = [d for d in pt.decisions(al) if d["verdict"] == "allow"]
            h.wait_for(lambda: len([d for d in pt.decisions(al) if d["verdict"] == "allow"]) >= 2,
                       timeout=5, what="allow lines")
            allows = [d for d in pt.decisions(al) if d["verdict"] == "allow"]
            h.check(all(re.fullmatch(r"[0-9a-f]{20}", d.get("req", "")) and d.get("src") == src for d in allows),
                    "allow lines carry req and src: %s" % allows)
            ids = [d.get("req") for d in pt.decisions(al)]
            h.check_eq(len(ids), len(set(ids)), "ids never repeat")
            al.check_alive()

        flags = ["--mode", "audit"] + pt.pins("origin.test", o.port) + pt.pins("api.example.com", 443)
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
            c = pt.RawConn(al.http_port)
            url = "http://origin.test:%d" % o.port
            h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
            st, hd, _ = c.request("GET", url + "/other", token=tok)
            h.check_eq(st, 403, "audit: absolute-URI request refused")
            plain = hd["x-airlock-request-id"]
            inner = mt.Inner(al, tok, "api.example.com", 443)
            h.check_eq(inner.connect_status, 200, "audit intercepts")
            st, hd, _ = inner.get("/v1/models", "api.example.com")
            h.check_eq(st, 403, "audit: inner request refused")
            intercepted = hd["x-airlock-request-id"]
            # a host that is not a DNS name: refused at the CONNECT (tunnel.c)
            t = pt.RawConn(al.http_port)
            st, hd, _ = t.request("CONNECT", "bad..host:443", token=tok)
            h.check_eq((st, hd.get("x-airlock-reason")), (403, "bad-host"), "audit: CONNECT refused")
            connect = hd["x-airlock-request-id"]
            for rid, what in ((plain, "absolute-URI"), (intercepted, "intercepted"), (connect, "CONNECT")):
                d = by_req(al, rid, what)
                h.check_eq((d["verdict"], d.get("mode")), ("deny", "audit"), "%s refusal's verdict" % what)
            h.check(not re.search(r"^ts=\S+ audit ", al.log_text(), re.M), "no line says `audit`")
            al.check_alive()


h.run(main)
