"""`airlock status` shows the right counts (clients, rules, secrets), the
enforcer's pid and restarts, the mode, and each OAuth secret's health;
`airlock explain CLIENT METHOD URL` names the rule that matches (and how:
forward, inspect, tunnel) or the refusal's reason, with each rule's reason
for not matching, and agrees with what the proxy then does to the same
request (its 403's X-Airlock-Reason). Twins: a request no rule's host
covers is no-rule; an unknown client is refused (exit 1)."""
import json

import airlock_harness as h
import origins
import proxytest as pt

CLAUDE = {"claudeAiOauth": {"accessToken": "sk-ant-oat01-status-test-access",
                            "refreshToken": "sk-ant-ort01-status-test-refresh",
                            "expiresAt": 4102444800000, "scopes": ["user:inference"]}}


def lines(p):
    h.check_eq(p.returncode, 0, "exit status: %s" % p.stderr)
    return p.stdout.splitlines()


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.client(al, "web-2")
        p = al.cli("secret", "create", "gh", "--host", "api.github.com", "--value", "ghp_status_test_value")
        h.check_eq(p.returncode, 0, "secret create: %s" % p.stderr)
        st, _ = al.api("POST", "/proxy/v1/secrets", {"name": "claude", "type": "oauth-claude",
                                                     "value": json.dumps(CLAUDE)})
        h.check_eq(st, 201, "oauth secret")
        r1 = pt.allow(al, "web-1", "api.github.com", "--method", "GET", "--path", "/repos/*", "--secret", "gh")
        r2 = pt.allow(al, "web-1", "*.example.com")
        r3 = pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")

        out = lines(al.cli("status"))
        kv = dict(l.split(": ", 1) for l in out)
        h.check_eq((kv["clients"], kv["rules"], kv["secrets"], kv["mode"]), ("2", "3", "2", "strict"), "counts")
        h.check(kv["enforcer"].startswith("running pid=%d restarts=0" % al.enforcer_pid()), "enforcer: %s" % kv)
        h.check(any(l.startswith("oauth: claude oauth-claude ok expires=2100-") for l in out),
                "OAuth health: %s" % out)
        h.check("gh" not in " ".join(l for l in out if l.startswith("oauth:")), "a bearer secret is not OAuth")
        st = json.loads(al.cli("status", "--json").stdout)
        h.check(st["uptime_seconds"] >= 0 and st["counts"] == {"clients": 2, "rules": 3, "secrets": 2},
                "status --json: %s" % st)

        def explain(method, url):
            p = al.cli("explain", "--json", "web-1", method, url)
            h.check_eq(p.returncode, 0, "explain %s %s: %s" % (method, url, p.stderr))
            return json.loads(p.stdout)

        e = explain("GET", "https://api.github.com/repos/x/y?page=2")
        h.check_eq((e["verdict"], e["rule"], e["how"], e["path"]), ("allow", r1, "inspect", "/repos/x/y"),
                   "inspected GET")
        e = explain("POST", "https://API.github.com./repos/x")
        h.check_eq((e["verdict"], e["reason"], e["host"]), ("deny", "method-not-allowed", "api.github.com"),
                   "POST refused")
        why = {r["id"]: r.get("reason") for r in e["rules"]}
        h.check_eq((why[r1], why[r2], why[r3]), ("method-not-allowed", "host-does-not-match",
                                                 "host-does-not-match"), "each rule's reason")
        e = explain("DELETE", "https://a.example.com/anything")
        h.check_eq((e["verdict"], e["rule"], e["how"]), ("allow", r2, "tunnel"), "a blind tunnel")
        e = explain("GET", "https://elsewhere.test/")
        h.check_eq((e["verdict"], e["reason"]), ("deny", "no-rule"), "no rule's host")
        text = lines(al.cli("explain", "web-1", "GET", "http://api.github.com/other"))
        h.check_eq(text[0], "deny: path-not-allowed", "text verdict")
        h.check("  rule %d host=api.github.com: path-not-allowed" % r1 in text, "text rule line: %s" % text)

        # explain agrees with the proxy
        url = "http://origin.test:%d" % o.port
        e = explain("GET", url + "/echo")
        h.check_eq((e["verdict"], e["rule"], e["how"]), ("allow", r3, "forward"), "explain: allowed")
        e = explain("GET", url + "/nope")
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
        st, hd, _ = c.request("GET", url + "/nope", token=tok)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, e["reason"]), "the proxy refuses as explain said")

        p = al.cli("explain", "nobody", "GET", "https://x.example/")
        h.check(p.returncode == 1 and "nobody" in p.stderr, "unknown client: %r" % p.stderr)
        p = al.cli("explain", "web-1", "GET")
        h.check_eq(p.returncode, 2, "missing URL is a usage error")
        al.check_alive()


h.run(main)
