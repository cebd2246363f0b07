"""What the `airlock` CLI puts on the wire, checked against a fake API on a
unix socket (no daemon): each command sends exactly the method, path and JSON
body of the REST contract (names and hosts escaped in paths, repeated flags
as arrays, --ttl as ttl_seconds, revoke bulk vs surgical, --from-file as
--value-file), reads 204 answers' X-Airlock-* headers (and does without
them), prints the API's error as "airlock: <error>" (exit 1), and handles
odd answers (a list that is not a JSON array). A secret given
with --value is gone from the process's command line (/proc/PID/cmdline)
while the request is in flight, and the value reaches the API intact
(with a trailing newline dropped when read from a file). Negative twin: a
secret from --value-file never was on the command line at all."""

import json
import os
import socketserver
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler

import airlock_harness as h

TOKEN = "alk_" + "A" * 43
VALUE = "sk-wire-value-7f3a9c0e11"


class FakeAPI(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path):
        self.requests = []
        self.replies = {}        # (method, path) -> (status, body, content type[, headers])
        self.hold = None         # (method, path) to hold until release is set
        self.arrived = threading.Event()
        self.release = threading.Event()
        super().__init__(path, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_one(self):
        srv = self.server
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        rec = {"method": self.command, "path": self.path,
               "ctype": self.headers.get("Content-Type"),
               "body": json.loads(raw) if raw else None}
        srv.requests.append(rec)
        key = (self.command, self.path)
        if srv.hold == key:
            srv.arrived.set()
            srv.release.wait(20)
        default = ((204, None, None) if self.command == "DELETE" or self.path.endswith("/revoke")
                   else (200, [], "application/json") if self.command == "GET"
                   else (200, {}, "application/json"))
        status, body, ctype, *extra = srv.replies.get(key, default)
        self.send_response(status)
        for k, v in (extra[0] if extra else {}).items():
            self.send_header(k, v)
        if status == 204:
            self.end_headers()
            return
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = handle_one

    def log_message(self, *args):
        pass


def main():
    h.require_binaries("airlock")
    tmp = tempfile.mkdtemp(prefix="airlock-wire-")
    sock = os.path.join(tmp, "api.sock")
    srv = FakeAPI(sock)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env["AIRLOCK_URL"] = sock

    def run(*args, input=None):
        srv.requests.clear()
        return subprocess.run([h.binary("airlock")] + list(args), input=input,
                              capture_output=True, text=True, env=env, timeout=60)

    def expect(args, method, path, body=None, input=None, status=0):
        p = run(*args, input=input)
        what = "airlock " + " ".join(args)
        h.check_eq(p.returncode, status, what + " exit status (stderr %r)" % p.stderr)
        h.check_eq(len(srv.requests), 1, what + ": requests sent")
        r = srv.requests[0]
        h.check_eq((r["method"], r["path"]), (method, path), what + ": request line")
        h.check_eq(r["body"], body, what + ": body")
        if body is not None:
            h.check_eq(r["ctype"], "application/json", what + ": Content-Type")
        return p

    try:
        # clients
        srv.replies[("POST", "/proxy/v1/clients")] = (
            201, {"name": "web-1", "token": TOKEN, "created_at": "2026-11-23T04:00:00Z"},
            "application/json")
        p = expect(["client", "create", "web-1"], "POST", "/proxy/v1/clients", {"name": "web-1"})
        h.check_eq(p.stdout, TOKEN + "\n", "client create stdout")
        expect(["client", "list"], "GET", "/proxy/v1/clients")
        p = expect(["client", "delete", "web-1"], "DELETE", "/proxy/v1/clients/web-1")
        h.check_eq(p.stdout, "deleted client web-1\n", "a 204 without airlock's header")
        srv.replies[("DELETE", "/proxy/v1/clients/web-1")] = (
            204, None, None, {"X-Airlock-Rules-Dropped": "3"})
        p = expect(["client", "delete", "web-1"], "DELETE", "/proxy/v1/clients/web-1")
        h.check_eq(p.stdout, "deleted client web-1 (3 rules dropped)\n", "client delete stdout")
        expect(["client", "delete", "odd name/x"], "DELETE", "/proxy/v1/clients/odd%20name%2Fx")

        # secrets
        vf = os.path.join(tmp, "v.txt")
        with open(vf, "w") as f:
            f.write("u:" + VALUE + "\n")
        expect(["secret", "create", "s1", "--host", "*.example.com", "--type", "basic",
                "--value-file", vf, "--force"], "POST", "/proxy/v1/secrets",
               {"name": "s1", "host": "*.example.com", "type": "basic", "value": "u:" + VALUE,
                "force": True})
        expect(["secret", "create", "s2", "--host", "h.example.com", "--value-file", "-"],
               "POST", "/proxy/v1/secrets",
               {"name": "s2", "host": "h.example.com", "value": VALUE}, input=VALUE + "\r\n")
        # the seed CLI's spelling
        expect(["secret", "create", "s2", "--host", "h.example.com", "--from-file", vf],
               "POST", "/proxy/v1/secrets",
               {"name": "s2", "host": "h.example.com", "value": "u:" + VALUE})
        cred = os.path.join(tmp, "creds.json")
        with open(cred, "w") as f:
            f.write('{"claudeAiOauth": {}}\n')
        p = expect(["secret", "create", "c", "--host", "api.anthropic.com", "--type",
                    "oauth-claude", "--value-file", cred], "POST", "/proxy/v1/secrets",
                   {"name": "c", "host": "api.anthropic.com", "type": "oauth-claude",
                    "value": '{"claudeAiOauth": {}}'})
        h.check("--write-back" in p.stderr, "oauth adoption note: %r" % p.stderr)
        # oauth-*: --host is optional (the provider's default), --write-back names the file
        expect(["secret", "create", "c", "--type", "oauth-claude", "--value-file", cred,
                "--write-back", "--force"], "POST", "/proxy/v1/secrets",
               {"name": "c", "type": "oauth-claude", "value": '{"claudeAiOauth": {}}',
                "write_back": True, "source_file": os.path.realpath(cred), "force": True})
        srv.replies[("GET", "/proxy/v1/secrets/c/stub")] = (
            200, {"claudeAiOauth": {"accessToken": "sk-ant-oat01-placeholder"}},
            "application/json")
        p = expect(["secret", "stub", "c"], "GET", "/proxy/v1/secrets/c/stub")
        h.check_eq(json.loads(p.stdout), {"claudeAiOauth": {"accessToken":
                                                            "sk-ant-oat01-placeholder"}},
                   "secret stub prints the API's file")
        # the value's cap (AL_SECRET_VALUE_MAX, 32 KiB): at it, sent; one byte more, refused here
        cap = 32 * 1024
        expect(["secret", "create", "big", "--host", "h.example.com", "--value-file", "-"],
               "POST", "/proxy/v1/secrets",
               {"name": "big", "host": "h.example.com", "value": "v" * cap}, input="v" * cap)
        p = run("secret", "create", "big", "--host", "h.example.com", "--value-file", "-",
                input="v" * (cap + 1))
        h.check_eq(p.returncode, 1, "a value over the cap: %r" % p.stderr)
        h.check("over %d bytes" % cap in p.stderr, "cap message: %r" % p.stderr)
        h.check_eq(srv.requests, [], "a value over the cap was sent")
        p = run("secret", "create", "empty", "--host", "h.example.com", "--value-file", "-",
                input="\n")
        h.check(p.returncode == 1 and "empty" in p.stderr and not srv.requests,
                "an empty value: %r" % p.stderr)
        expect(["secret", "list"], "GET", "/proxy/v1/secrets")
        p = expect(["secret", "delete", "s1"], "DELETE", "/proxy/v1/secrets/s1")
        h.check_eq((p.stdout, p.stderr), ("deleted secret s1\n", ""), "secret delete, no rules")
        srv.replies[("DELETE", "/proxy/v1/secrets/s1")] = (
            204, None, None, {"X-Airlock-Rules-Affected": "4,9"})
        p = expect(["secret", "delete", "s1"], "DELETE", "/proxy/v1/secrets/s1")
        h.check("rules 4,9 name secret s1" in p.stderr, "secret delete reports rules: %r"
                % p.stderr)

        # --value: wiped from /proc/PID/cmdline while the request is in flight
        srv.hold = ("POST", "/proxy/v1/secrets")
        srv.arrived.clear()
        srv.release.clear()
        srv.requests.clear()
        proc = subprocess.Popen([h.binary("airlock"), "secret", "create", "s3", "--host",
                                 "h.example.com", "--value", VALUE], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            h.check(srv.arrived.wait(30), "secret create --value never reached the API")
            with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                cmdline = f.read()
            h.check(b"--value" in cmdline, "cmdline unreadable? %r" % cmdline)
            h.check(VALUE.encode() not in cmdline,
                    "the --value secret is still in /proc/PID/cmdline during the request")
        finally:
            srv.release.set()
            out, err = proc.communicate(timeout=30)
        srv.hold = None
        h.check_eq(proc.returncode, 0, "secret create --value exit status (%r)" % err)
        h.check_eq(srv.requests[0]["body"], {"name": "s3", "host": "h.example.com",
                                             "value": VALUE}, "--value body")
        h.check("history" in err and VALUE not in out + err, "--value warning / leak: %r" % err)

        # negative twin: --value-file never puts the value on the command line
        srv.hold = ("POST", "/proxy/v1/secrets")
        srv.arrived.clear()
        srv.release.clear()
        proc = subprocess.Popen([h.binary("airlock"), "secret", "create", "s4", "--host",
                                 "h.example.com", "--value-file", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            proc.stdin.write(VALUE)
            proc.stdin.close()
            proc.stdin = None  # communicate() must not flush it
            h.check(srv.arrived.wait(30), "secret create --value-file never reached the API")
            with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                h.check(VALUE.encode() not in f.read(), "the value on the command line")
        finally:
            srv.release.set()
            out, err = proc.communicate(timeout=30)
        srv.hold = None
        h.check_eq(proc.returncode, 0, "secret create --value-file - (%r)" % err)
        h.check_eq(err, "", "--value-file - warns nothing")

        # rules
        expect(["allow", "web-1", "--host", "api.example.com", "--method", "get", "--method",
                "POST", "--path", "/v1/*", "--path", "/v2", "--port", "443", "--port", "8443",
                "--ttl", "1h30m", "--secret", "s1"], "POST", "/proxy/v1/allows",
               {"client": "web-1", "host": "api.example.com", "secret": "s1",
                "methods": ["get", "POST"], "paths": ["/v1/*", "/v2"], "ports": [443, 8443],
                "ttl_seconds": 5400})
        expect(["allow", "web-1", "--host", "db.example.com", "--port", "5432",
                "--passthrough"], "POST", "/proxy/v1/allows",
               {"client": "web-1", "host": "db.example.com", "ports": [5432],
                "passthrough": True})
        expect(["allow", "web-1", "--host", "*"], "POST", "/proxy/v1/allows",
               {"client": "web-1", "host": "*"})
        expect(["rules", "web-1"], "GET", "/proxy/v1/clients/web-1")
        # a rule as the seed SDK's server might answer it (expires, no
        # expires_at, no status), and a cell with a blank: one token per column
        srv.replies[("GET", "/proxy/v1/clients/web-1")] = (
            200, [{"id": 7, "host": "a.example", "ports": [443], "methods": [], "paths": [],
                   "secret": "odd name", "expires": "2030-01-01T00:00:00Z"}],
            "application/json")
        p = expect(["rules", "web-1"], "GET", "/proxy/v1/clients/web-1")
        h.check_eq([ln.split() for ln in p.stdout.splitlines()][1],
                   ["7", "a.example", "443", "any", "any", "inject", "odd_name",
                    "2030-01-01T00:00:00Z", "active"], "rules row from an SDK-shaped answer")
        p = expect(["revoke", "web-1", "--host", "*.example.com"], "DELETE",
                   "/proxy/v1/allows/web-1/%2A.example.com")
        h.check_eq(p.stdout, "revoked the matching rules of web-1 for *.example.com\n",
                   "bulk revoke without airlock's header")
        srv.replies[("DELETE", "/proxy/v1/allows/web-1/%2A.example.com")] = (
            204, None, None, {"X-Airlock-Revoked": "5,6"})
        p = expect(["revoke", "web-1", "--host", "*.example.com"], "DELETE",
                   "/proxy/v1/allows/web-1/%2A.example.com")
        h.check_eq(p.stdout, "revoked rules 5,6 of web-1 for *.example.com\n", "bulk revoke")
        expect(["revoke", "web-1", "--host", "api.example.com", "--method", "GET", "--path",
                "/v1/*"], "POST", "/proxy/v1/allows/revoke",
               {"client": "web-1", "host": "api.example.com", "methods": ["GET"],
                "paths": ["/v1/*"]})
        expect(["revoke", "web-1", "--host", "db.example.com", "--port", "5432",
                "--passthrough"], "POST", "/proxy/v1/allows/revoke",
               {"client": "web-1", "host": "db.example.com", "ports": [5432],
                "passthrough": True})
        expect(["revoke", "web-1", "--host", "api.example.com", "--secret", "s1"], "POST",
               "/proxy/v1/allows/revoke",
               {"client": "web-1", "host": "api.example.com", "secret": "s1"})

        # the CA: text, printed as is
        pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        srv.replies[("GET", "/proxy/v1/ca")] = (200, pem, "text/plain")
        p = expect(["ca", "cert"], "GET", "/proxy/v1/ca")
        h.check_eq(p.stdout, pem, "ca cert stdout")

        # refusals: the API's error, one line; odd answers: a clear line
        srv.replies[("POST", "/proxy/v1/clients")] = (
            409, {"error": "client web-1 already exists"}, "application/json")
        p = expect(["client", "create", "web-1"], "POST", "/proxy/v1/clients",
                   {"name": "web-1"}, status=1)
        h.check_eq((p.stdout, p.stderr), ("", "airlock: client web-1 already exists\n"),
                   "refusal output")
        srv.replies[("GET", "/proxy/v1/clients")] = (500, "<html>oops</html>", "text/html")
        p = expect(["client", "list"], "GET", "/proxy/v1/clients", status=1)
        h.check_eq(p.stderr, "airlock: the broker answered HTTP 500 to GET /proxy/v1/clients\n",
                   "non-JSON error")
        # the pre-SDK shape (an object around the array) is not a list
        srv.replies[("GET", "/proxy/v1/secrets")] = (200, {"secrets": []}, "application/json")
        for extra in ([], ["--json"]):
            p = expect(["secret", "list"] + extra, "GET", "/proxy/v1/secrets", status=1)
            h.check_eq((p.stdout, p.stderr),
                       ("", "airlock: the broker's answer to GET /proxy/v1/secrets is not a "
                            "JSON array\n"), "a list answer that is not an array")
        srv.replies[("POST", "/proxy/v1/clients")] = (201, {"name": "x"}, "application/json")
        p = expect(["client", "create", "x"], "POST", "/proxy/v1/clients", {"name": "x"},
                   status=1)
        h.check_eq(p.stdout, "", "no token, nothing on stdout")
        h.check(p.stderr.startswith("airlock: ") and p.stderr.count("\n") == 1,
                "answer without a token: %r" % p.stderr)
    finally:
        srv.shutdown()
        srv.server_close()
        subprocess.run(["rm", "-rf", tmp])


h.run(main)
