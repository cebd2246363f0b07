#!/usr/bin/env python3
"""`airlock oauth xai` against a fake issuer (auth.x.ai pinned with --resolve
to the fake, its CA with --upstream-ca): discovery, PKCE S256, a scripted
browser step (GET the authorize URL, follow the redirect to the loopback
callback), the code exchange with the verifier checked by the fake, and the
credential JSON on stdout (0600). When the loopback port is taken, the
device-code flow runs instead (the fake answers authorization_pending once).
Negative twins: a callback with a wrong state is refused (400) and the login
goes on waiting for the right one; no browser at all times out (exit 1)."""

import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import airlock_harness as h
import fake_providers as fpmod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-oauth-xai-")
    airlock = h.binary("airlock")
    p = subprocess.run([airlock, "oauth", "xai", "--help"], capture_output=True, text=True)
    if "--issuer" not in p.stdout:
        h.skip("airlock oauth xai is not wired into the CLI yet")
    with fpmod.open_or_skip(tmp) as fp:
        port = free_port()
        out = os.path.join(tmp, "xai.json")
        errp = os.path.join(tmp, "xai.err")
        with open(out, "w") as o, open(errp, "w") as er:
            proc = subprocess.Popen([airlock, "oauth", "xai", "--port", str(port), "--timeout", "30",
                                     "--resolve", "auth.x.ai:443:%s" % fp.addr,
                                     "--upstream-ca", fp.ca], stdout=o, stderr=er,
                                    stdin=subprocess.DEVNULL)
        try:
            url = h.wait_for(lambda: re.search(r"https://auth\.x\.ai/oauth2/authorize\?\S+",
                                               open(errp).read()), 15, what="authorize URL")
            url = url.group(0)
            q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(url).query).items()}
            h.check_eq(q["code_challenge_method"], "S256", "PKCE S256")
            h.check_eq(q["redirect_uri"], "http://127.0.0.1:%d/callback" % port, "loopback redirect")
            h.check(q.get("state") and q.get("nonce"), "state and nonce")
            # wrong state first (someone else's redirect): refused
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/callback?code=x&state=wrong" % port, timeout=5)
                h.fail("a wrong state was accepted")
            except urllib.error.HTTPError as e:
                h.check_eq(e.code, 400, "wrong state -> 400")
            h.check(proc.poll() is None, "still waiting after a wrong state")
            # the scripted browser: authorize at the fake issuer, follow the redirect
            ctx = ssl.create_default_context(cafile=fp.ca)
            ctx.check_hostname = False
            req = urllib.request.Request(url.replace("auth.x.ai", fp.addr, 1), headers={"Host": "auth.x.ai"})

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *a, **k):
                    return None
            opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
            try:
                opener.open(req, timeout=5)
                h.fail("authorize did not redirect")
            except urllib.error.HTTPError as e:
                h.check_eq(e.code, 302, "authorize redirects")
                loc = e.headers["Location"]
            with urllib.request.urlopen(loc, timeout=5) as r:
                h.check_eq(r.status, 200, "callback accepted")
            rc = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        h.check_eq(rc, 0, "oauth xai exit status; stderr: %s" % open(errp).read())
        cred = json.load(open(out))
        h.check_eq(cred["type"], "oauth-xai", "type")
        h.check(fp.live_refresh("xai", cred["refresh_token"]), "a live refresh token from the fake")
        h.check_eq(cred["token_endpoint"], "https://auth.x.ai/oauth2/token", "token endpoint")
        h.check("expires_at" in cred and "obtained_at" in cred, "times")
        h.check_eq(oct(os.stat(out).st_mode & 0o777), oct(0o600), "0600 when redirected to a file")
        with fp.lock:
            tok = [r for r in fp.requests if r["path"] == "/oauth2/token"]
        form = urllib.parse.parse_qs(tok[0]["body"])
        h.check_eq(form["grant_type"], ["authorization_code"], "code grant")
        h.check("code_verifier" in form, "verifier sent (the fake checked it against the challenge)")
        h.check(cred["refresh_token"] not in open(errp).read(), "no token on stderr")

        # the port is taken: device flow
        common = ["--resolve", "auth.x.ai:443:%s" % fp.addr, "--upstream-ca", fp.ca]
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            taken = busy.getsockname()[1]
            p = subprocess.run([airlock, "oauth", "xai", "--port", str(taken), "--timeout", "20"] + common,
                               capture_output=True, text=True, timeout=60)
        h.check_eq(p.returncode, 0, "device flow: %s" % p.stderr)
        h.check("device flow" in p.stderr and "ABCD-EFGH" in p.stderr, "user code shown: %s" % p.stderr)
        dev = json.loads(p.stdout)
        h.check(fp.live_refresh("xai", dev["refresh_token"]), "device flow credential is live")

        # nobody comes back: a clear timeout
        p = subprocess.run([airlock, "oauth", "xai", "--port", str(free_port()), "--timeout", "1"] + common,
                           capture_output=True, text=True, timeout=60)
        h.check_eq(p.returncode, 1, "timeout exit status")
        h.check("timed out" in p.stderr, "timeout said: %s" % p.stderr)
        h.check_eq(p.stdout, "", "nothing on stdout after a timeout")


h.run(main)
