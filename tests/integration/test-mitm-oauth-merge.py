"""An adopted Claude login is injected the way Claude Code needs it: the
sandbox's placeholder Authorization and any x-api-key are removed, the real
bearer added, and "oauth-2025-04-20" merged into the sandbox's own
anthropic-beta list (kept, not replaced: the other betas matter), or added
when the request has none. An upstream 401 to the injected OAuth token is
reported to the broker and the sandbox gets 503 credential-refreshing with
Retry-After, never the 401 (its CLI would wipe or refresh its stub); the
request after it works. The real token never reaches the log."""
import json
import os
import secrets
import time

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt


class Refusing(origins._Handler):
    def _any(self):
        if self.path == "/echo/401":
            return self._send(401, b'{"error":"invalid token"}', "application/json")
        return super()._any()

    do_GET = do_POST = _any


def main():
    access = "sk-ant-oat01-" + secrets.token_urlsafe(24)
    cred = {"claudeAiOauth": {"accessToken": access, "refreshToken": "sk-ant-ort01-" + secrets.token_urlsafe(24),
                              "expiresAt": int(time.time() + 30 * 86400) * 1000,
                              "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"}}
    with mt.Setup(names=("api.anthropic.com",), handler=Refusing) as s:
        al, port = s.al, s.port
        path = os.path.join(al.tmpdir, "creds.json")
        with open(path, "w") as f:
            json.dump(cred, f)
        p = al.cli("secret", "create", "claude", "--type", "oauth-claude", "--value-file", path)
        h.check(p.returncode == 0, "adopt: %s" % mt.scrub(p.stderr, access))
        os.unlink(path)
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "api.anthropic.com", "--port", str(port), "--path", "/echo/*", "--secret", "claude")
        c = mt.Inner(al, tok, "api.anthropic.com", port)
        hostv = "api.anthropic.com:%d" % port
        st, _, body = c.get("/echo/v1/messages", hostv, method="POST", body=b"{}", headers=[
            ("Authorization", "Bearer PLACEHOLDER"), ("x-api-key", "sk-placeholder"),
            ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"),
            ("anthropic-version", "2023-06-01")])
        h.check_eq(st, 200, "forwarded")
        hd = [(k.lower(), v) for k, v in json.loads(body)["headers"]]
        auth = [v for k, v in hd if k == "authorization"]
        h.check(len(auth) == 1 and len(auth[0]) == len("Bearer " + access) and access not in auth[0],
                "one bearer upstream, echoed back scrubbed")
        h.check_eq(s.origin.requests[-1][2].get("Authorization"), "Bearer " + access, "the real bearer upstream")
        h.check_eq([v for k, v in hd if k == "x-api-key"], [], "the sandbox's x-api-key removed")
        h.check_eq([v for k, v in hd if k == "anthropic-beta"],
                   ["claude-code-20250219,interleaved-thinking-2025-05-14, oauth-2025-04-20"],
                   "oauth beta merged into the sandbox's list")
        h.check_eq([v for k, v in hd if k == "anthropic-version"], ["2023-06-01"], "other headers kept")
        st, _, body = c.get("/echo/v1/models", hostv, headers=[("anthropic-beta", "oauth-2025-04-20")])
        hd = [(k.lower(), v) for k, v in json.loads(body)["headers"]]
        h.check_eq([v for k, v in hd if k == "anthropic-beta"], ["oauth-2025-04-20"], "not doubled")
        st, _, body = c.get("/echo/v1/models", hostv)
        hd = [(k.lower(), v) for k, v in json.loads(body)["headers"]]
        h.check_eq([v for k, v in hd if k == "anthropic-beta"], ["oauth-2025-04-20"], "added when absent")
        st, hd, body = c.get("/echo/401", hostv)
        h.check_eq((st, hd.get("x-airlock-reason"), hd.get("retry-after")), (503, "credential-refreshing", "1"),
                   "an upstream 401 reaches the sandbox as 503")
        h.check(b"invalid token" not in body, "the upstream's 401 body is not passed on")
        h.wait_for(lambda: "upstream refused an injected credential" in al.log_text(), timeout=5,
                   what="the broker hears about the 401")
        c = mt.Inner(al, tok, "api.anthropic.com", port)
        h.check_eq(c.get("/echo/v1/models", hostv)[0], 200, "next request works")
        mt.check_no_secret(al, access)
        al.check_alive()


h.run(main)
