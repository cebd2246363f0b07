"""--approval-webhook: each new held request is POSTed, as the API's
APPROVAL JSON, to a real local HTTP server, with X-Airlock-Signature:
sha256=HMAC-SHA256(key, body) of --approval-webhook-key-file's key; the
server verifies it, and the approval it names can be approved through the
API (the request is released). The key never appears in the log. Twins: a
body changed by one byte does not verify; the broker refuses to start with
a URL and no key file, or with a key too short."""
import hashlib
import hmac
import http.server
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time

import airlock_harness as h
import holdtest as ht
import origins
import proxytest as pt


class Hook(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.got.append((self.path, dict(self.headers), body))
        self.send_response(204)
        self.end_headers()


def main():
    key = "k-" + secrets.token_hex(24)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    srv.got = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with origins.HTTPOrigin() as o:
            al = h.Airlock(start=False)
            keyfile = os.path.join(al.tmpdir, "webhook.key")
            with open(keyfile, "w") as f:
                f.write(key + "\n")
            os.chmod(keyfile, 0o600)
            hook_url = "http://127.0.0.1:%d/airlock-hook" % srv.server_address[1]
            al.extra_flags += pt.pins("origin.test", o.port) + [
                "--hold-timeout", "30s", "--approval-webhook", hook_url, "--approval-webhook-key-file", keyfile]
            with al:
                al.start()
                tok = ht.client_hold(al, "web-1")
                r = ht.Curl(al, tok, "http://origin.test:%d/hooked" % o.port)
                h.wait_for(lambda: srv.got, timeout=5, what="the webhook's POST")
                path, hdrs, body = srv.got[0]
                hdrs = {k.lower(): v for k, v in hdrs.items()}
                h.check_eq(path, "/airlock-hook", "posted to the URL")
                h.check_eq(hdrs.get("content-type"), "application/json", "JSON")
                want = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
                h.check(hmac.compare_digest(hdrs.get("x-airlock-signature", ""), want),
                        "the signature verifies: %r" % hdrs.get("x-airlock-signature"))
                bad = bytearray(body)
                bad[-2] ^= 1
                h.check(not hmac.compare_digest(
                    "sha256=" + hmac.new(key.encode(), bytes(bad), hashlib.sha256).hexdigest(), want),
                    "a changed body does not verify")
                a = json.loads(body)
                h.check_eq((a["state"], a["client"], a["method"], a["host"], a["path"], a["reason"]),
                           ("pending", "web-1", "GET", "origin.test", "/hooked", "no-rule"), "the APPROVAL")
                st, ans = al.api("POST", "/proxy/v1/approvals/%d" % a["id"], {"decision": "approve"})
                h.check_eq(st, 200, "approved by its id: %s" % ans)
                code, _, err = r.result()
                h.check_eq(code, "200", "released (%s)" % err)
                h.check(key not in al.log_text(), "the key is not in the log")
                h.check_eq(len(srv.got), 1, "one post per held request")
                al.check_alive()

        # twins: no key file; a key too short
        with tempfile.TemporaryDirectory(prefix="airlock-hook-") as tmp:
            short = os.path.join(tmp, "short.key")
            with open(short, "w") as f:
                f.write("short\n")
            for flags, what in ((["--approval-webhook", hook_url], "go together"),
                                (["--approval-webhook", hook_url, "--approval-webhook-key-file", short], "16 to")):
                p = subprocess.run([h.binary("airlock-broker"), "--state-dir", os.path.join(tmp, "state"),
                                    "--no-enforcer"] + flags, capture_output=True, text=True, timeout=30)
                h.check(p.returncode != 0 and what in p.stderr, "refused to start (%s): %s" % (what, p.stderr))
    finally:
        srv.shutdown()


h.run(main)
