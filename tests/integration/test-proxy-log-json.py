"""--log-format json: every decision is one JSON object per line with the
the decision line's fields (verdict, client, method, scheme, host, port, path, mode,
rule, reason, status, bytes_up, bytes_down, ms), and no token anywhere."""
import json

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--log-format", "json"]) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
        c = pt.RawConn(al.http_port)
        url = "http://origin.test:%d" % o.port
        h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
        h.check_eq(c.request("GET", url + "/other", token=tok)[0], 403, "denied path")

        def lines():
            out = []
            for line in al.log_text().splitlines():
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
            return out

        def find(verdict):
            return [d for d in lines() if d.get("verdict") == verdict or d.get("msg") == verdict
                    or verdict in d.values()]
        h.wait_for(lambda: find("allow") and find("deny"), timeout=5, what="json decision lines")
        allow = [d for d in find("allow") if d.get("client") == "web-1"][-1]
        deny = [d for d in find("deny") if d.get("client") == "web-1"][-1]
        for k in ("client", "method", "scheme", "host", "port", "path", "mode", "rule", "status",
                  "bytes_up", "bytes_down", "ms"):
            h.check(k in allow, "allow line has %s: %s" % (k, allow))
        h.check_eq(deny.get("reason"), "path-not-allowed", "deny reason")
        h.check_eq(str(allow.get("port")), str(o.port), "port")
        h.check(tok not in al.log_text(), "token in the log")
        al.check_alive()


h.run(main)
