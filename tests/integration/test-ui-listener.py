"""The --ui-listen listener, without a browser: it serves the page's three
files with a strict Content-Security-Policy; every API call needs the login
token of `airlock ui token` (made 0600 in the state dir), as the cookie that
POST /ui/login sets (HttpOnly, SameSite=Strict) or as a bearer; a wrong
token is refused; a write without the X-Airlock-UI header, or with another
page's Origin, is refused and changes nothing; a Host that is a DNS name
(rebinding) is refused; only the calls the page makes pass (no client
creation, which answers a token; no secret writes; no /metrics); and no
answer carries a secret value or a client token. Twin: a ui-token file
that others may read stops the broker from starting."""
import http.client
import json
import os
import stat
import subprocess

import airlock_harness as h
import proxytest as pt

SECRET_VALUE = "sk-ui-listener-test-value-0123456789"


def req(port, method, path, body=None, headers=None, host=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        hd = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hd.setdefault("Content-Type", "application/json")
        if host is not None:
            c.putrequest(method, path, skip_host=True)
            c.putheader("Host", host)
            for k, v in hd.items():
                c.putheader(k, v)
            if data is not None:
                c.putheader("Content-Length", str(len(data)))
            c.endheaders(data)
        else:
            c.request(method, path, body=data, headers=hd)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


def main():
    port = h.free_port()
    with h.Airlock(extra_flags=["--ui-listen", "127.0.0.1:%d" % port]) as al:
        tok = pt.client(al, "web-1")
        st, _ = al.api("POST", "/proxy/v1/secrets", {"name": "gh", "host": "api.github.com", "type": "bearer",
                                                      "value": SECRET_VALUE})
        h.check_eq(st, 201, "secret created")
        p = al.cli("ui", "token")
        h.check_eq(p.returncode, 0, "airlock ui token: %s" % p.stderr)
        ui_tok = p.stdout.strip()
        h.check(ui_tok.startswith("alui_") and len(ui_tok) == 48, "a UI token: %r" % ui_tok[:5])
        mode = stat.S_IMODE(os.stat(os.path.join(al.state_dir, "ui-token")).st_mode)
        h.check_eq(mode, 0o600, "ui-token is 0600")
        h.check_eq(al.status().get("ui_listen"), "127.0.0.1:%d" % port, "status names the listener")
        bodies = []

        # the page's files, with the policy
        for path, ctype in (("/", "text/html"), ("/ui.js", "text/javascript"), ("/ui.css", "text/css")):
            s, hd, body = req(port, "GET", path)
            h.check_eq(s, 200, "GET %s" % path)
            h.check(hd.get("content-type", "").startswith(ctype), "%s is %s: %s" % (path, ctype, hd))
            csp = hd.get("content-security-policy", "")
            for part in ("default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
                h.check(part in csp, "CSP of %s has %s: %r" % (path, part, csp))
            h.check("unsafe-inline" not in csp and "http" not in csp, "nothing loose in the CSP: %r" % csp)
            h.check_eq(hd.get("x-content-type-options"), "nosniff", "nosniff on %s" % path)
        h.check("/ui.js" in req(port, "GET", "/")[2], "the page loads its script")

        # no token, a wrong one: refused
        h.check_eq(req(port, "GET", "/proxy/v1/clients")[0], 401, "no token: 401")
        h.check_eq(req(port, "GET", "/proxy/v1/clients", headers={"Authorization": "Bearer " + ui_tok[:-1] + "x"})[0],
                   401, "a wrong bearer: 401")
        h.check_eq(req(port, "GET", "/proxy/v1/clients", headers={"Cookie": "airlock_ui=alui_wrong"})[0], 401,
                   "a wrong cookie: 401")
        h.check_eq(req(port, "GET", "/proxy/v1/clients", headers={"Authorization": "Bearer " + tok})[0], 401,
                   "a client token does not open the page")
        csrf = {"X-Airlock-UI": "1"}
        s, hd, body = req(port, "POST", "/ui/login", {"token": "alui_" + "A" * 43}, headers=csrf)
        h.check_eq(s, 401, "login with a wrong token")
        h.check("set-cookie" not in hd, "no cookie for a wrong token")
        h.check_eq(req(port, "POST", "/ui/login", {"token": ui_tok})[0], 403, "login without the CSRF header")
        # the login body's cap (1024 bytes): at it, read (a wrong token); one more, refused
        at_cap = json.dumps({"token": "alui_" + "A" * 43})
        at_cap += " " * (1024 - len(at_cap))
        for body, want in ((at_cap, 401), (at_cap + " ", 400)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("POST", "/ui/login", body=body.encode(), headers=dict(csrf, **{"Content-Type": "application/json"}))
            got = c.getresponse().status
            c.close()
            h.check_eq(got, want, "a login body of %d bytes" % len(body))
        h.check_eq(req(port, "POST", "/ui/login", {"token": ui_tok},
                       headers=dict(csrf, Origin="http://evil.example"))[0], 403, "login from another origin")

        # the login: an HttpOnly SameSite=Strict cookie
        s, hd, _ = req(port, "POST", "/ui/login", {"token": ui_tok},
                       headers=dict(csrf, Origin="http://127.0.0.1:%d" % port))
        h.check_eq(s, 204, "login")
        cookie = hd.get("set-cookie", "")
        h.check("HttpOnly" in cookie and "SameSite=Strict" in cookie and cookie.startswith("airlock_ui="),
                "the cookie is HttpOnly and SameSite=Strict")
        jar = {"Cookie": cookie.split(";")[0]}
        for path in ("/proxy/v1/clients", "/proxy/v1/clients/web-1", "/proxy/v1/secrets", "/proxy/v1/status",
                     "/proxy/v1/approvals"):
            s, _, body = req(port, "GET", path, headers=jar)
            h.check_eq(s, 200, "GET %s with the cookie" % path)
            bodies.append(body)
        h.check("gh" in bodies[2], "the secret is listed")
        s, _, _ = req(port, "GET", "/proxy/v1/clients", headers={"Authorization": "Bearer " + ui_tok})
        h.check_eq(s, 200, "the token as a bearer")

        # DNS rebinding: a Host that is a name, not an address
        h.check_eq(req(port, "GET", "/proxy/v1/clients", headers=jar, host="evil.example:%d" % port)[0], 403,
                   "a DNS name as Host")
        h.check_eq(req(port, "GET", "/", host="evil.example")[0], 403, "the page itself under a DNS name")
        h.check_eq(req(port, "GET", "/", host="localhost:%d" % port)[0], 200, "localhost is fine")
        h.check_eq(req(port, "GET", "/", host="[::1]:%d" % port)[0], 200, "an IPv6 literal is fine")
        h.check_eq(req(port, "GET", "/", host="127.0.0.1.evil.example")[0], 403, "a name that starts like an IP")
        h.check_eq(req(port, "GET", "/", host="")[0], 403, "an empty Host")

        # writes: the CSRF header and the Origin
        rule = {"client": "web-1", "host": "example.org", "paths": ["/a"], "ttl_seconds": 3600}
        h.check_eq(req(port, "POST", "/proxy/v1/allows", rule, headers=jar)[0], 403, "a write without X-Airlock-UI")
        h.check_eq(req(port, "POST", "/proxy/v1/allows", rule,
                       headers=dict(jar, Origin="http://evil.example", **csrf))[0], 403, "a write from another origin")
        h.check_eq(al.api("GET", "/proxy/v1/clients/web-1"), (200, []), "the refused writes changed nothing")
        h.check_eq(req(port, "POST", "/proxy/v1/allows", rule, headers=csrf)[0], 401, "a write without the token")
        h.check_eq(req(port, "POST", "/proxy/v1/approvals/1", {"decision": "approve"}, headers=jar)[0], 403,
                   "an approval without X-Airlock-UI")
        s, _, body = req(port, "POST", "/proxy/v1/approvals/1", {"decision": "approve"}, headers=dict(jar, **csrf))
        h.check(s == 404 and "no pending approval" in body,
                "an approval with it reaches the API (none pending): %d %s" % (s, body))
        s, _, body = req(port, "POST", "/proxy/v1/allows", rule,
                         headers=dict(jar, Origin="http://127.0.0.1:%d" % port, **csrf))
        h.check_eq(s, 201, "a write from the page: %s" % body)
        bodies.append(body)
        st, rules = al.api("GET", "/proxy/v1/clients/web-1")
        h.check(st == 200 and len(rules) == 1 and rules[0]["ttl_seconds"] == 3600 and rules[0]["paths"] == ["/a"],
                "the rule is there with its TTL: %r" % rules)

        # only the page's calls
        for method, path, body in (("POST", "/proxy/v1/clients", {"name": "web-2"}),
                                   ("POST", "/proxy/v1/secrets", {"name": "x", "host": "a.example", "value": "v"}),
                                   ("DELETE", "/proxy/v1/clients/web-1", None), ("GET", "/proxy/v1/ca", None),
                                   ("PATCH", "/proxy/v1/clients/web-1", {"on_deny": "hold"}),
                                   ("GET", "/metrics", None), ("GET", "/proxy/v1/openapi.json", None),
                                   ("GET", "/proxy/v1/secrets/gh/stub", None)):
            s, _, b = req(port, method, path, body, headers=dict(jar, **csrf))
            h.check(s == 404 and "not on this listener" in b, "%s %s is not on the page's listener: %d %s"
                    % (method, path, s, b))
        h.check_eq(al.api("GET", "/proxy/v1/clients/web-2")[0], 404, "no client was made through it")

        # logout: the cookie is cleared
        s, hd, _ = req(port, "POST", "/ui/logout", headers=dict(jar, **csrf))
        h.check(s == 204 and "Max-Age=0" in hd.get("set-cookie", ""), "logout clears the cookie")

        for b in bodies:
            h.check(SECRET_VALUE not in b, "no secret value in an answer")
            h.check(tok not in b, "no client token in an answer")
        h.check(ui_tok not in al.log_text(), "the UI token is not logged")
        al.check_alive()

    # a token file others may read: the broker refuses to start
    al = h.Airlock(start=False, extra_flags=["--ui-listen", "127.0.0.1:%d" % h.free_port()])
    try:
        os.makedirs(al.state_dir, mode=0o700)
        path = os.path.join(al.state_dir, "ui-token")
        with open(path, "w") as f:
            f.write("alui_" + "B" * 43 + "\n")
        os.chmod(path, 0o644)
        al.http_port, al.https_port = h.free_port(), h.free_port()
        p = subprocess.run(al.command(), capture_output=True, text=True, timeout=30, env=al.daemon_env())
        h.check(p.returncode != 0 and "mode 0600" in p.stderr + p.stdout,
                "a readable ui-token is refused: rc %d %s" % (p.returncode, (p.stderr + p.stdout)[-300:]))
    finally:
        al.close()


h.run(main)
