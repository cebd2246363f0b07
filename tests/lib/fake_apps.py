"""fake_apps: GitHub App endpoints (installation tokens, user-to-server
tokens) and an OAuth client-credentials identity provider, as one local
HTTPS server on <random 127.x.y.z>:443, for the github-app, github-app-user
and oauth-client-creds tests. The sibling of fake_providers (which it
borrows its server, CA and Skip from); same rules: loopback only, port 443
(needs root: fa.Skip -> exit 77), --resolve pins and --upstream-ca.

    import fake_apps as famod
    with famod.open_or_skip(tmpdir) as fa:
        flags = fa.airlock_flags()              # --resolve for HOSTS, --upstream-ca fa.ca
        app = fa.new_app(installations=1)       # {"app_id", "key_pem" (PKCS#1), "key_path",
                                                #  "installations": [ids]}
        fa.set_lifetime("app", 8)               # installation tokens' lifetime (s)
        fa.delay("app", 0.3)                    # token answers wait 0.3 s
        fa.mints("app")                         # access_tokens calls answered 201
        fa.jwts                                 # every App JWT received, decoded:
                                                #   {"header", "claims", "valid", "why", "t"}
        u = fa.new_user_login(app)              # GitHub's token answer + client_id/secret
        c = fa.new_cc_client(scopes=["read"])   # {"client_id", "client_secret"}
        fa.live("ghs_...")                      # a token the fake minted and not expired

Wire formats, as GitHub documents and answers them:
  api.github.com  GET /app/installations[?per_page=N&page=P] (Bearer App JWT)
                    200 [installation objects], a Link header when more pages
                  POST /app/installations/{id}/access_tokens (Bearer App JWT)
                    201 {"token": "ghs_…", "expires_at": "YYYY-MM-DDTHH:MM:SSZ",
                         "permissions": {...}, "repository_selection": "all"}
                    401 {"message": "A JSON web token could not be decoded", ...}
                    404 {"message": "Not Found", ...}
                  GET /installation/repositories (Bearer|token ghs_…)
                  GET /user (Bearer|token ghu_…)
                  401 {"message": "Bad credentials", ...} otherwise
  github.com      POST /login/oauth/access_token (form; client_id, client_secret,
                    grant_type=refresh_token, refresh_token): 200 and JSON when
                    Accept says so, else a form body; errors are 200 too:
                    {"error": "bad_refresh_token" | "incorrect_client_credentials", ...}
                    The refresh token (ghr_) is single-use.
  auth.idp.test   POST /oauth2/token (RFC 6749 §4.4): client by HTTP Basic (id and
                    secret form-encoded, §2.3.1) or body params, never both;
                    200 {"access_token", "token_type": "Bearer", "expires_in", "scope"}
                    with Cache-Control: no-store; 401 invalid_client (WWW-Authenticate
                    when Basic was tried), 400 invalid_request / unsupported_grant_type /
                    invalid_scope
  api.idp.test    GET /v1/whoami: 200 {"client_id", "scope"} for a live Bearer, else 401

The App JWT is checked as GitHub does: three base64url parts, header alg
RS256, signature verified with the App's public key (python3 cryptography),
iat not in the future, exp in the future and at most 10 minutes ahead, exp
after iat, iss the app id (number or string).
"""

import base64
import json
import os
import random
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import atexit

try:   # python3-cryptography (tools/deps --test): verifies the App JWTs
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False

import fake_providers as fpmod
import origins

Skip = fpmod.Skip
HOSTS = ["api.github.com", "github.com", "auth.idp.test", "api.idp.test"]
KINDS = ("app", "user", "cc")
DEFAULT_LIFETIME = {"app": 3600, "user": 8 * 3600, "cc": 3600}
DOCS = "https://docs.github.com/rest"


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem_pkcs1(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def pem_pkcs8(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class FakeApps:
    def __init__(self, tmpdir, addr=None, port=443):
        self.lock = threading.Lock()
        self.tmpdir = tmpdir
        if os.path.dirname(os.path.realpath(tmpdir)) == os.path.realpath(tempfile.gettempdir()):
            atexit.register(shutil.rmtree, tmpdir, True)   # holds CA and App keys
        self.testca = origins.TestCA(tmpdir, names=HOSTS)
        self.ca = self.testca.ca_cert
        self.addr = addr or "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 254),
                                               random.randint(2, 254))
        self.port = port
        self.requests = []
        self.jwts = []
        self.apps = {}          # app_id -> {"pub", "installations": [ids]}
        self.tokens = {}        # token -> {"kind", "exp", ...}
        self.refresh = {}       # ghr_ -> {"used", "client_id"}
        self.clients = {}       # cc client id -> {"secret", "scopes"}
        self.oauth_apps = {}    # user-token client id -> secret
        self.lifetime = dict(DEFAULT_LIFETIME)
        self.delays = {k: 0.0 for k in KINDS}
        self.fails = {k: [] for k in KINDS}
        self.counts = {k: 0 for k in KINDS}    # tokens minted
        self.stats_extra = {"reuses": 0}
        self.inflight = 0
        try:
            self.server = fpmod._Server((self.addr, port), _make_handler(self))
        except PermissionError:
            raise Skip("cannot bind %s:%d (needs root)" % (self.addr, port))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.testca.leaf_cert, self.testca.leaf_key)
        ctx.set_alpn_protocols(["http/1.1"])
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                             do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()

    # ---- for tests ----

    def airlock_flags(self):
        out = []
        for h in HOSTS:
            out += ["--resolve", "%s:%d:%s" % (h, self.port, self.addr)]
        return out + ["--upstream-ca", self.ca]

    def set_lifetime(self, kind, seconds):
        with self.lock:
            self.lifetime[kind] = seconds

    def delay(self, kind, seconds):
        with self.lock:
            self.delays[kind] = seconds

    def fail(self, kind, status, times=1, body=None, headers=()):
        with self.lock:
            self.fails[kind] += [(status, body, list(headers))] * times

    def mints(self, kind):
        with self.lock:
            return self.counts[kind]

    def live(self, tok):
        with self.lock:
            t = self.tokens.get(tok)
            return bool(t and t["exp"] > time.time())

    def token_info(self, tok):
        with self.lock:
            return dict(self.tokens.get(tok) or {})

    def calls(self, host, prefix):
        with self.lock:
            return [r for r in self.requests if r["host"] == host and r["path"].startswith(prefix)]

    def new_app(self, installations=1, key=None):
        """A registered App: its id, its private key (PKCS#1 PEM, as GitHub
        hands it out) also written to a 0600 file, and its installations."""
        key = key or rsa_key()
        with self.lock:
            app_id = 100000 + len(self.apps) + random.randint(1, 899999)
            insts = [30000000 + random.randint(1, 9999999) for _ in range(installations)]
            self.apps[str(app_id)] = {"pub": key.public_key(), "installations": insts,
                                      "slug": "airlock-test-%d" % app_id}
        pem = pem_pkcs1(key)
        path = os.path.join(self.tmpdir, "app-%d.pem" % app_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        return {"app_id": app_id, "key": key, "key_pem": pem, "key_path": path,
                "installations": insts}

    def new_user_login(self, expires_in=None):
        """What GitHub's token endpoint answers a user's authorization, plus
        the App's client id and secret that a refresh needs."""
        cid, secret = "Iv1." + fpmod.rand(8), fpmod.rand(20)
        with self.lock:
            self.oauth_apps[cid] = secret
            at, rt, life = self._mint_user(cid, expires_in)
        return {"access_token": at, "expires_in": life, "refresh_token": rt,
                "refresh_token_expires_in": 15811200, "scope": "", "token_type": "bearer",
                "client_id": cid, "client_secret": secret}

    def new_cc_client(self, scopes=("read",)):
        cid, secret = "svc-" + fpmod.rand(6), fpmod.rand(24) + "+/ &%"
        with self.lock:
            self.clients[cid] = {"secret": secret, "scopes": list(scopes)}
        return {"client_id": cid, "client_secret": secret}

    # ---- minting (lock held) ----

    def _mint_user(self, cid, life=None):
        life = self.lifetime["user"] if life is None else life
        at, rt = "ghu_" + fpmod.rand(27), "ghr_" + fpmod.rand(57)
        self.tokens[at] = {"kind": "user", "exp": time.time() + life, "login": "octocat"}
        self.refresh[rt] = {"used": False, "client_id": cid}
        return at, rt, life

    def _check_jwt(self, auth):
        """The App id a valid App JWT names, or None; records it."""
        rec = {"t": time.time(), "header": None, "claims": None, "valid": False, "why": ""}
        self.jwts.append(rec)
        if not auth.startswith("Bearer "):
            rec["why"] = "no Bearer"
            return None
        parts = auth[7:].split(".")
        try:
            if len(parts) != 3 or any("=" in p for p in parts):
                raise ValueError("not three base64url parts")
            rec["header"] = json.loads(b64url_dec(parts[0]))
            rec["claims"] = claims = json.loads(b64url_dec(parts[1]))
            sig = b64url_dec(parts[2])
        except (ValueError, TypeError) as e:
            rec["why"] = "decode: %s" % e
            return None
        if rec["header"].get("alg") != "RS256":
            rec["why"] = "alg"
            return None
        app = self.apps.get(str(claims.get("iss")))
        if not app:
            rec["why"] = "unknown iss"
            return None
        try:
            app["pub"].verify(sig, ("%s.%s" % (parts[0], parts[1])).encode(), padding.PKCS1v15(),
                              hashes.SHA256())
        except InvalidSignature:
            rec["why"] = "signature"
            return None
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            rec["why"] = "iat/exp not integers"
            return None
        if iat > now + 1 or exp <= now or exp > now + 600 or exp <= iat:
            rec["why"] = "times"
            return None
        rec["valid"] = True
        return str(claims["iss"])

    def _failure(self, kind):
        q = self.fails[kind]
        return q.pop(0) if q else None

    def answer(self, h, host, path, query, body):
        """(status, body, headers[, content type]) for one request (lock held)."""
        auth = h.headers.get("Authorization", "")
        form = {}
        if h.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        gh_err = lambda st, msg: (st, {"message": msg, "documentation_url": DOCS, "status": str(st)}, [])
        if host == "api.github.com":
            if not h.headers.get("User-Agent"):
                return 403, {"message": "Request forbidden by administrative rules. Please make "
                             "sure your request has a User-Agent header"}, []
            if path == "/app/installations" and h.command == "GET":
                app_id = self._check_jwt(auth)
                if not app_id:
                    return gh_err(401, "A JSON web token could not be decoded")
                per = min(int(query.get("per_page", 30)), 100)
                page = int(query.get("page", 1))
                ids = self.apps[app_id]["installations"]
                chunk = ids[(page - 1) * per:page * per]
                out = [{"id": i, "account": {"login": "org%d" % i, "id": i + 1, "type": "Organization"},
                        "app_id": int(app_id), "app_slug": self.apps[app_id]["slug"],
                        "target_type": "Organization", "repository_selection": "all",
                        "access_tokens_url": "https://api.github.com/app/installations/%d/access_tokens" % i,
                        "permissions": {"contents": "write", "metadata": "read"}, "events": [],
                        "created_at": iso(0), "updated_at": iso(0)} for i in chunk]
                hdrs = []
                if page * per < len(ids):
                    hdrs.append(("Link", '<https://api.github.com/app/installations?per_page=%d&page=%d>; '
                                 'rel="next"' % (per, page + 1)))
                return 200, out, hdrs
            parts = path.split("/")
            if (len(parts) == 5 and parts[1:3] == ["app", "installations"] and parts[4] == "access_tokens"
                    and h.command == "POST"):
                f = self._failure("app")
                if f:
                    return f
                app_id = self._check_jwt(auth)
                if not app_id:
                    return gh_err(401, "A JSON web token could not be decoded")
                if not parts[3].isdigit() or int(parts[3]) not in self.apps[app_id]["installations"]:
                    return gh_err(404, "Not Found")
                exp = int(time.time()) + self.lifetime["app"]
                tok = "ghs_" + fpmod.rand(27)
                self.tokens[tok] = {"kind": "app", "exp": exp, "installation": int(parts[3]),
                                    "minted": time.time()}
                self.counts["app"] += 1
                return 201, {"token": tok, "expires_at": iso(exp),
                             "permissions": {"contents": "write", "metadata": "read"},
                             "repository_selection": "all"}, []
            tok = auth.split(" ", 1)[1] if auth.startswith(("Bearer ", "token ")) else ""
            t = self.tokens.get(tok)
            if not t or t["exp"] <= time.time():
                return gh_err(401, "Bad credentials")
            if path == "/installation/repositories" and t["kind"] == "app":
                return 200, {"total_count": 1, "repository_selection": "all",
                             "repositories": [{"id": 1, "name": "repo", "full_name": "org/repo"}]}, []
            if path == "/user" and t["kind"] == "user":
                return 200, {"login": t["login"], "id": 1, "type": "User"}, []
            if path == "/user":
                return gh_err(403, "Resource not accessible by integration")
            return gh_err(404, "Not Found")
        if host == "github.com" and path == "/login/oauth/access_token" and h.command == "POST":
            f = self._failure("user")
            if f:
                return f
            err = None
            cid = form.get("client_id", "")
            if self.oauth_apps.get(cid) != form.get("client_secret"):
                err = ("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
            elif form.get("grant_type") != "refresh_token":
                err = ("unsupported_grant_type", "The grant type is not supported.")
            else:
                r = self.refresh.get(form.get("refresh_token", ""))
                if not r or r["used"] or r["client_id"] != cid:
                    if r and r["used"]:
                        self.stats_extra["reuses"] += 1
                    err = ("bad_refresh_token", "The refresh token passed is incorrect or expired.")
                else:
                    r["used"] = True
            if err:
                ans = {"error": err[0], "error_description": err[1],
                       "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                                    "troubleshooting-oauth-app-access-token-request-errors"}
            else:
                at, rt, life = self._mint_user(cid)
                self.counts["user"] += 1
                ans = {"access_token": at, "expires_in": life, "refresh_token": rt,
                       "refresh_token_expires_in": 15811200, "scope": "", "token_type": "bearer"}
            if "json" in h.headers.get("Accept", ""):
                return 200, ans, []
            return 200, urllib.parse.urlencode(ans).encode(), [], "application/x-www-form-urlencoded; charset=utf-8"
        if host == "auth.idp.test" and path == "/oauth2/token":
            if h.command != "POST":
                return 405, {"error": "invalid_request"}, []
            f = self._failure("cc")
            if f:
                return f
            basic = auth.startswith("Basic ")
            if basic and "client_secret" in form:
                return 400, {"error": "invalid_request",
                             "error_description": "more than one client authentication method"}, []
            if basic:
                try:
                    idp, _, sp = base64.b64decode(auth[6:], validate=True).decode().partition(":")
                    cid, secret = urllib.parse.unquote_plus(idp), urllib.parse.unquote_plus(sp)
                except (ValueError, UnicodeDecodeError):
                    cid, secret = "", None
            else:
                cid, secret = form.get("client_id", ""), form.get("client_secret")
            c = self.clients.get(cid)
            if not c or c["secret"] != secret:
                hdrs = [("WWW-Authenticate", 'Basic realm="idp"')] if basic else []
                return 401, {"error": "invalid_client"}, hdrs
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}, []
            want = form.get("scope", " ".join(c["scopes"])).split()
            if any(s not in c["scopes"] for s in want):
                return 400, {"error": "invalid_scope"}, []
            life = self.lifetime["cc"]
            tok = "cc-" + fpmod.rand(24)
            self.tokens[tok] = {"kind": "cc", "exp": time.time() + life, "client_id": cid,
                                "scope": " ".join(want), "audience": form.get("audience"),
                                "basic": basic, "minted": time.time()}
            self.counts["cc"] += 1
            return 200, {"access_token": tok, "token_type": "Bearer", "expires_in": life,
                         "scope": " ".join(want)}, [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        if host == "api.idp.test" and path == "/v1/whoami":
            t = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
            if not t or t["kind"] != "cc" or t["exp"] <= time.time():
                return 401, {"error": "invalid_token"}, [("WWW-Authenticate", 'Bearer error="invalid_token"')]
            return 200, {"client_id": t["client_id"], "scope": t["scope"]}, []
        return 404, {"message": "Not Found"}, []


def _make_handler(fa):
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-apps"

        def log_message(self, *a):
            pass

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _handle(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            path, _, q = self.path.partition("?")
            query = {k: v[0] for k, v in urllib.parse.parse_qs(q).items()}
            body = self._body()
            kind = ({"api.github.com": "app", "github.com": "user", "auth.idp.test": "cc"}.get(host)
                    if "token" in path or path.startswith("/app/") else None)
            with fa.lock:
                fa.inflight += 1
                d = fa.delays.get(kind, 0) if kind else 0
            try:
                if d:
                    time.sleep(d)
                with fa.lock:
                    rec = {"t": time.time(), "host": host, "method": self.command, "path": self.path,
                           "headers": [[k, v] for k, v in self.headers.items()],
                           "body": body.decode("utf-8", "replace")}
                    fa.requests.append(rec)
                    ans = fa.answer(self, host, path, query, body)
                    rec["status"] = ans[0]
                st, data, hdrs = ans[0], ans[1], ans[2]
                ctype = ans[3] if len(ans) > 3 else "application/json; charset=utf-8"
                if not isinstance(data, bytes):
                    data = json.dumps(data).encode()
                self.send_response(st)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in hdrs:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            finally:
                with fa.lock:
                    fa.inflight -= 1

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    return H


def secret_row(daemon, name):
    """The listing's row for secret name (the answer may be {"secrets": [...]}
    or, as the seed's SDK decodes lists, a bare array)."""
    st, ans = daemon.api("GET", "/proxy/v1/secrets")
    rows = ans if isinstance(ans, list) else ans["secrets"]
    return [r for r in rows if r["name"] == name][0]


def open_or_skip(tmpdir):
    import sys
    if not HAVE_CRYPTOGRAPHY:
        print("SKIP: python3-cryptography is not installed (tools/deps --test)", flush=True)
        sys.exit(77)
    try:
        return FakeApps(tmpdir)
    except Skip as e:
        print("SKIP: %s" % e, flush=True)
        sys.exit(77)
