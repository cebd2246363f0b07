"""Default deny: a client with no rules reaches nothing; the answer is a 403
with a one-line text body and X-Airlock-Reason, and one decision line is
logged with the client, host, port and reason. Negative twin: the same
request succeeds once a rule allows it."""
import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        url = "http://origin.test:%d/echo" % o.port
        c = pt.RawConn(al.http_port)
        st, hd, body = c.request("GET", url, token=tok)
        h.check_eq(st, 403, "no rules: denied")
        h.check_eq(hd.get("x-airlock-reason"), "no-rule", "reason header")
        h.check(body.endswith(b"\n") and body.count(b"\n") == 1, "one-line body: %r" % body)
        h.check(hd.get("content-type", "").startswith("text/plain"), "text/plain body")
        st, hd, _ = c.request("CONNECT", "origin.test:%d" % o.port, token=tok)
        h.check_eq(st, 403, "no rules: CONNECT denied")
        h.check_eq(len(o.requests), 0, "nothing reached the origin")
        d = pt.wait_decision(al, lambda d: d.get("client") == "web-1" and d.get("method") == "GET",
                             "deny line")
        for k, v in (("verdict", "deny"), ("host", "origin.test"), ("port", str(o.port)),
                     ("path", "/echo"), ("reason", "no-rule"), ("status", "403"), ("mode", "strict")):
            h.check_eq(d.get(k), v, "log field %s" % k)
        c.close()

        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url, token=tok)[0] == 200, timeout=5, what="allowed after the rule")
        d = pt.wait_decision(al, lambda d: d["verdict"] == "allow", "allow line")
        h.check(d.get("rule") is not None and int(d["bytes_down"]) > 0, "allow line has rule and bytes: %s" % d)
        al.check_alive()


h.run(main)
