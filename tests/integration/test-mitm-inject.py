"""An intercepted HTTPS request gets the secret's Authorization in place of
the sandbox's own: curl through the plain listener and through the TLS
listener, a keep-alive connection with two requests. The origin echoes the
headers it got; the secret value never shows in the log. An upstream 401 to
an injected request is passed on and reported to the broker (which may
refresh an OAuth credential). Twin: a rule without a secret forwards the
sandbox's Authorization untouched."""
import json

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


class Refusing(origins._Handler):
    def _any(self):
        if self.path == "/echo/401":
            return self._send(401, b"no", "text/plain", [("WWW-Authenticate", "Bearer")])
        return super()._any()

    do_GET = _any

SECRET = mt.secret_value("inject")


def main():
    with mt.Setup(handler=Refusing) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "api-key", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--secret", "api-key")
        for tls in (False, True):
            r = mt.curl(al, tok, "https://origin.test:%d/echo/a" % port, "https://origin.test:%d/echo/b" % port,
                        "-H", "Authorization: Bearer sandbox-placeholder", tls=tls)
            h.check_eq(r.returncode, 0, "curl through the %s listener: %s" % ("TLS" if tls else "plain",
                                                                            mt.scrub(r.stderr, SECRET)))
            bodies = mt.json_bodies(r.stdout)
            h.check_eq(len(bodies), 2, "two answers on one connection")
            for b in bodies:
                # the origin echoes its request: the echo comes back scrubbed
                # (one field, the secret's length, neither the secret nor the
                # sandbox's placeholder), and the origin itself saw the secret
                auth = [v for k, v in b["headers"] if k.lower() == "authorization"]
                h.check(len(auth) == 1 and len(auth[0]) == len("Bearer " + SECRET) and SECRET not in auth[0]
                        and "placeholder" not in auth[0],
                        "one Authorization upstream, echoed back scrubbed (got %d fields, placeholder present: %s)"
                        % (len(auth), any("placeholder" in a for a in auth)))
            for m, path, hd in s.origin.requests[-2:]:
                h.check(hd.get("Authorization") == "Bearer " + SECRET, "origin got the secret for %s" % path)
                h.check(not any(k.lower() == "proxy-authorization" for k, v in b["headers"]),
                        "no Proxy-Authorization upstream")
        d = pt.wait_decision(al, lambda d: d.get("path") == "/echo/b" and d["verdict"] == "allow",
                             "allow line for the inner request")
        h.check_eq(d.get("inject"), "api-key", "inject= names the secret")
        h.check_eq(d.get("scheme"), "https", "scheme")
        h.check_eq(d.get("status"), "200", "status")
        h.check(d.get("rule") and int(d["bytes_down"]) > 0, "rule and bytes logged: %s" % d)
        r = mt.curl(al, tok, "https://origin.test:%d/echo/401" % port, "-o", "/dev/null", "-w", "%{http_code}")
        h.check_eq(r.stdout, "401", "an upstream 401 is passed on")
        h.wait_for(lambda: "upstream refused an injected credential" in al.log_text(), timeout=5,
                   what="the broker hears about the 401")
        # twin: no secret on the rule -> the sandbox's header passes untouched
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/plain")
        r = mt.curl(al, tok, "https://origin.test:%d/plain" % port, "-H", "Authorization: Bearer sandbox-own")
        b = mt.json_bodies(r.stdout)[0]
        h.check_eq([v for k, v in b["headers"] if k.lower() == "authorization"], ["Bearer sandbox-own"],
                   "without a secret the sandbox's header passes")
        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
