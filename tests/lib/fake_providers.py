"""fake_providers: the four OAuth providers' token endpoints and APIs as one
local HTTPS server, for the oauth integration tests. Python 3 stdlib
plus the openssl command (through origins.TestCA). Loopback only.

    import fake_providers as fpmod
    with fpmod.FakeProviders(tmpdir) as fp:       # HTTPS on <random 127.x.y.z>:443
        flags = fp.airlock_flags()                # --resolve HOST:443:ADDR for every host
                                                  # below, plus --upstream-ca fp.ca
        f = fp.login_claude(expires_in=28800)     # a fresh login: the vendor file (dict)
        ...airlock secret create c --type oauth-claude --value-file <json.dumps(f)>
        fp.set_expires_in("claude", 300)          # lifetime of tokens minted by refreshes
        fp.fail("claude", 500, times=2)           # next 2 token calls answer 500
        fp.fail("claude", 429, retry_after=3)     # ... or 429 with Retry-After
        fp.stats("claude")                        # {"refreshes", "reuses", "unknown", "failed"}
        fp.requests                               # every request, in order (dicts, below)
        fp.api_fail("api.anthropic.com", 401, times=1)   # next API call answers 401
        fp.delay("claude", 0.3)                   # token endpoint answers after 0.3 s

Helpers for broker-level tests (no enforcer): fpmod.Asker(ipc_path) is a
stand-in enforcer that says hello and asks for headers, skipping policy
pushes: a = asker.ask("c", "api.anthropic.com") -> the answer dict;
fpmod.hdrs(a) -> {lower-case name: value}. fpmod.open_or_skip(tmpdir)
starts FakeProviders or exits 77 when port 443 cannot be bound.

Why port 443 on a random loopback address: the token endpoints are fixed
https URLs (port 443) inside the broker, and --resolve pins a name and a port
to an address, never to another port. Binding 443 needs root (or
CAP_NET_BIND_SERVICE): FakeProviders raises fpmod.Skip otherwise, which
tests turn into exit 77. A random 127.a.b.c keeps parallel tests apart.

Hosts served (one leaf certificate, SANs for all, signed by a test CA):
  platform.claude.com, console.anthropic.com  POST /v1/oauth/token   (JSON; form accepted)
  api.anthropic.com     POST /v1/messages (JSON, or SSE with "stream": true),
                        GET /api/oauth/profile; 401 unless Bearer is a live Claude
                        access token, 400 unless anthropic-beta has oauth-2025-04-20
                        or when x-api-key is present
  auth.openai.com       POST /oauth/token (JSON as Codex sends, form as opencode sends)
  chatgpt.com           GET /backend-api/wham/accounts/check (needs ChatGPT-Account-Id = the
                        login's account), GET /backend-api/codex/models,
                        POST /backend-api/codex/responses (SSE), and the same path as a
                        WebSocket (GET + Upgrade; response.create -> Responses events as
                        text frames; fp.websocket = False refuses it); 401 unless live Bearer
  api.github.com        GET /copilot_internal/v2/token (Authorization: token|Bearer ghu_/gho_)
  github.com            POST /login/oauth/access_token (grant_type=refresh_token, ghr_ rotate)
  api.githubcopilot.com, api.individual.githubcopilot.com
                        POST /chat/completions, GET /models; Bearer gho_ or a live session
  auth.x.ai             GET /.well-known/openid-configuration, GET /oauth2/authorize
                        (the scripted "browser": answers 302 to redirect_uri?code&state),
                        POST /oauth2/token (authorization_code with PKCE S256 checked,
                        refresh_token, device_code), POST /oauth2/device/code
  api.x.ai              POST /v1/chat/completions, /v1/responses; GET /v1/models

Rotation as the real providers do it: every refresh token is single-use. Using
one twice answers invalid_grant (Claude, xAI: 400 {"error":"invalid_grant"};
Codex: 401 {"error":{"code":"refresh_token_reused"}}); fp.stats(p)["reuses"]
counts those, and a login is "lost" when that happens. Access tokens expire
after expires_in; the APIs refuse expired or unknown ones with 401.

Each recorded request: {"t": arrival time, "done": answer time, "conn_t":
when its connection was accepted (tells a restarted client's requests from
a killed one's late ones), "host",
"method", "path" (with query), "headers": [[name, value], ...] in order,
"body": str, "status": answered, None when the client was gone before the
answer could be written (a refresh token may still have been consumed)}. fp.quiesce() waits until no request is
being handled.
fp.seen_tokens(host) lists the Authorization values an API host received.

tmpdir (where the test CA goes; tests make it with tempfile.mkdtemp) is
removed when the test process exits, when it lies in the temp directory:
it holds a CA key, and a suite run would otherwise leave one per test.
"""

import atexit
import base64
import hashlib
import http.server
import json
import os
import random
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
import time
import urllib.parse

import origins

CLAUDE_CLIENT = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
CODEX_CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann"
XAI_CLIENT = "b1a00492-073a-47ea-816f-4c329264a828"

HOSTS = ["platform.claude.com", "console.anthropic.com", "api.anthropic.com",
         "auth.openai.com", "chatgpt.com", "api.github.com", "github.com",
         "api.githubcopilot.com", "api.individual.githubcopilot.com",
         "auth.x.ai", "api.x.ai", "ab.chatgpt.com"]

PROVIDERS = ("claude", "codex", "copilot", "xai")
DEFAULT_LIFETIME = {"claude": 8 * 3600, "codex": 10 * 86400, "copilot": 1800, "xai": 6 * 3600}


class Skip(Exception):
    """The fake cannot run here (port 443 not bindable): exit 77."""


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    h = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "fake"}).encode())
    return "%s.%s.%s" % (h, b64url(json.dumps(claims).encode()), b64url(b"fake-signature"))


def jwt_claims(tok):
    try:
        p = tok.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    except Exception:
        return None


def rand(n=24):
    return b64url(os.urandom(n))


class _State:
    """Token families, per provider. Guarded by FakeProviders.lock."""

    def __init__(self):
        self.refresh = {p: {} for p in PROVIDERS}   # token -> {"used": bool, "ident": dict}
        self.access = {p: {} for p in PROVIDERS}    # token -> {"exp": t, "ident": dict}
        self.lifetime = dict(DEFAULT_LIFETIME)
        self.stats = {p: {"refreshes": 0, "reuses": 0, "unknown": 0, "failed": 0} for p in PROVIDERS}
        self.fails = {p: [] for p in PROVIDERS}     # queued (status, retry_after, body)
        self.api_fails = {}                         # host -> [status...]
        self.delay = {p: 0.0 for p in PROVIDERS}    # seconds before a token answer
        self.codes = {}                             # xai auth code -> {challenge, redirect_uri}
        self.devices = {}                           # xai device code -> polls left
        self.sessions = {}                          # copilot session token -> exp


class FakeProviders:
    def __init__(self, tmpdir, addr=None, port=443, answer_text="Hello from the fake model.",
                 host_alias=None):
        """host_alias: {Host header: served host}, for a client pointed at the
        fake by a base-URL override (e.g. {"127.0.0.1": "api.anthropic.com"})."""
        self.host_alias = dict(host_alias or {})
        self.lock = threading.Lock()
        self.st = _State()
        self.requests = []
        self.ws_messages = []      # JSON messages received over WebSockets
        self.websocket = True      # False: refuse the Codex WebSocket (SSE fallback)
        self.inflight = 0
        self.answer_text = answer_text
        self.tmpdir = tmpdir
        tmproot = os.path.realpath(tempfile.gettempdir())
        if os.path.dirname(os.path.realpath(tmpdir)) == tmproot:
            # at exit: after the daemons using the CA (killed by their
            # harness) and whatever the test did with the directory
            atexit.register(shutil.rmtree, tmpdir, True)
        self.testca = origins.TestCA(tmpdir, names=HOSTS)
        self.ca = self.testca.ca_cert
        self.addr = addr or "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 254),
                                               random.randint(2, 254))
        self.port = port
        handler = _make_handler(self)
        try:
            self.server = _Server((self.addr, port), handler)
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
        self.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- for tests ----

    def airlock_flags(self):
        out = []
        for hname in HOSTS:
            out += ["--resolve", "%s:%d:%s" % (hname, self.port, self.addr)]
        return out + ["--upstream-ca", self.ca]

    def quiesce(self, timeout=10.0):
        """Wait until no request is being handled (a killed client's request
        may still be rotating a token after the client is gone)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.inflight == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("fake providers still busy")
            time.sleep(0.01)

    def set_expires_in(self, provider, seconds):
        with self.lock:
            self.st.lifetime[provider] = seconds

    def fail(self, provider, status, times=1, retry_after=None, body=None):
        with self.lock:
            self.st.fails[provider] += [(status, retry_after, body)] * times

    def delay(self, provider, seconds):
        with self.lock:
            self.st.delay[provider] = seconds

    def api_fail(self, host, status, times=1):
        with self.lock:
            self.st.api_fails.setdefault(host, []).extend([status] * times)

    def stats(self, provider):
        with self.lock:
            return dict(self.st.stats[provider])

    def live_refresh(self, provider, token):
        with self.lock:
            r = self.st.refresh[provider].get(token)
            return bool(r and not r["used"])

    def seen_tokens(self, host):
        with self.lock:
            return [v for r in self.requests if r["host"] == host
                    for k, v in r["headers"] if k.lower() == "authorization"]

    def token_calls(self, provider):
        hosts = {"claude": ("platform.claude.com", "console.anthropic.com"),
                 "codex": ("auth.openai.com",), "copilot": ("api.github.com", "github.com"),
                 "xai": ("auth.x.ai",)}[provider]
        with self.lock:
            return [r for r in self.requests if r["host"] in hosts and "token" in r["path"]]

    # ---- logins: a fresh token family, as the vendor's file holds it ----

    def _mint(self, provider, ident, lifetime=None):
        """New access + refresh tokens (caller holds the lock)."""
        life = self.st.lifetime[provider] if lifetime is None else lifetime
        exp = int(time.time()) + life
        if provider == "claude":
            at, rt = "sk-ant-oat01-fake-" + rand(), "sk-ant-ort01-fake-" + rand()
        elif provider == "codex":
            at = jwt(self._codex_claims(ident, exp))
            rt = "rt.fake." + rand()
        elif provider == "xai":
            at, rt = "xai-fake-access-" + rand(), "xai-fake-refresh-" + rand()
        else:
            at, rt = "gho_" + rand(27), "ghr_" + rand(27)
        self.st.access[provider][at] = {"exp": exp, "ident": ident}
        self.st.refresh[provider][rt] = {"used": False, "ident": ident}
        return at, rt, exp, life

    @staticmethod
    def _codex_claims(ident, exp):
        return {"exp": exp, "iat": int(time.time()), "email": ident["email"],
                "https://api.openai.com/auth": {"chatgpt_account_id": ident["account_id"],
                                                "chatgpt_plan_type": "pro",
                                                "chatgpt_user_id": ident["user_id"],
                                                "user_id": ident["user_id"]}}

    def login_claude(self, expires_in=None, email="dev@example.com"):
        ident = {"account": "acc-" + rand(6), "org": "org-" + rand(6), "email": email}
        with self.lock:
            at, rt, exp, _ = self._mint("claude", ident, expires_in)
        return {"claudeAiOauth": {"accessToken": at, "refreshToken": rt, "expiresAt": exp * 1000,
                                  "scopes": ["user:inference", "user:profile",
                                             "user:sessions:claude_code"],
                                  "subscriptionType": "max", "rateLimitTier": "default_claude_max_20x"}}

    def login_codex(self, expires_in=None, account_id=None, email="dev@example.com"):
        ident = {"account_id": account_id or ("acct-" + rand(8)), "user_id": "user-" + rand(6),
                 "email": email}
        with self.lock:
            at, rt, exp, _ = self._mint("codex", ident, expires_in)
        idt = jwt(self._codex_claims(ident, exp))
        return {"auth_mode": "chatgpt", "OPENAI_API_KEY": None,
                "tokens": {"id_token": idt, "access_token": at, "refresh_token": rt,
                           "account_id": ident["account_id"]},
                "last_refresh": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def login_copilot(self, kind="gho"):
        """kind "gho" (current opencode) or "ghu" (legacy, exchanged)."""
        tok = "%s_%s" % (kind, rand(27))
        with self.lock:
            self.st.access["copilot"][tok] = {"exp": 2 ** 40, "ident": {"kind": kind}}
        entry = {"type": "oauth", "refresh": tok, "access": tok if kind == "gho" else "", "expires": 0}
        return {"github-copilot": entry,
                "openai": {"type": "oauth", "refresh": "other", "access": "other", "expires": 1}}

    def login_xai(self, expires_in=None, email="dev@example.com"):
        ident = {"email": email, "sub": "xai-user-" + rand(6)}
        with self.lock:
            at, rt, exp, _ = self._mint("xai", ident, expires_in)
        return {"type": "oauth-xai", "access_token": at, "refresh_token": rt,
                "id_token": jwt({"email": email, "sub": ident["sub"], "exp": exp}),
                "token_type": "Bearer", "token_endpoint": "https://auth.x.ai/oauth2/token",
                "obtained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))}

    # ---- token endpoints (called by the handler, lock held) ----

    def _queued_failure(self, provider):
        q = self.st.fails[provider]
        if not q:
            return None
        status, ra, body = q.pop(0)
        self.st.stats[provider]["failed"] += 1
        hdrs = [("Retry-After", str(ra))] if ra is not None else []
        return status, body if body is not None else {"error": "server_error"}, hdrs

    def _refresh(self, provider, rt):
        r = self.st.refresh[provider].get(rt)
        if r is None:
            self.st.stats[provider]["unknown"] += 1
            return None, "unknown"
        if r["used"]:
            self.st.stats[provider]["reuses"] += 1
            return None, "reused"
        r["used"] = True
        self.st.stats[provider]["refreshes"] += 1
        return r["ident"], None

    def token_claude(self, form):
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != CLAUDE_CLIENT:
            return 400, {"error": "invalid_request", "error_description": "bad grant or client"}, []
        ident, why = self._refresh("claude", form.get("refresh_token", ""))
        if not ident:
            return 400, {"error": "invalid_grant",
                         "error_description": "Refresh token not found or invalid"}, []
        at, rt, exp, life = self._mint("claude", ident)
        return 200, {"token_type": "Bearer", "access_token": at, "refresh_token": rt,
                     "expires_in": life, "scope": form.get("scope") or "user:inference user:profile",
                     "account": {"uuid": ident["account"], "email_address": ident["email"]},
                     "organization": {"uuid": ident["org"], "name": "Fake Org"}}, []

    def token_codex(self, form):
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != CODEX_CLIENT:
            return 400, {"error": {"code": "invalid_request", "message": "bad grant or client"}}, []
        ident, why = self._refresh("codex", form.get("refresh_token", ""))
        if not ident:
            code = "refresh_token_reused" if why == "reused" else "refresh_token_invalidated"
            return 401, {"error": {"message": "Your refresh token could not be used.",
                                   "type": "invalid_request_error", "code": code}}, []
        at, rt, exp, life = self._mint("codex", ident)
        return 200, {"id_token": jwt(self._codex_claims(ident, exp)), "access_token": at,
                     "refresh_token": rt}, []

    def token_xai(self, form):
        gt = form.get("grant_type")
        if form.get("client_id") != XAI_CLIENT:
            return 401, {"error": "invalid_client"}, []
        if gt == "refresh_token":
            ident, why = self._refresh("xai", form.get("refresh_token", ""))
            if not ident:
                return 400, {"error": "invalid_grant",
                             "error_description": "Refresh token has been revoked"}, []
        elif gt == "authorization_code":
            c = self.st.codes.pop(form.get("code", ""), None)
            v = form.get("code_verifier", "")
            if (not c or c["redirect_uri"] != form.get("redirect_uri")
                    or b64url(hashlib.sha256(v.encode()).digest()) != c["challenge"]):
                return 400, {"error": "invalid_grant", "error_description": "bad code or verifier"}, []
            ident = {"email": "dev@example.com", "sub": "xai-user-" + rand(6)}
        elif gt == "urn:ietf:params:oauth:grant-type:device_code":
            dc = form.get("device_code", "")
            if dc not in self.st.devices:
                return 400, {"error": "expired_token"}, []
            if self.st.devices[dc] > 0:
                self.st.devices[dc] -= 1
                return 400, {"error": "authorization_pending"}, []
            del self.st.devices[dc]
            ident = {"email": "dev@example.com", "sub": "xai-user-" + rand(6)}
        else:
            return 400, {"error": "unsupported_grant_type"}, []
        at, rt, exp, life = self._mint("xai", ident)
        return 200, {"access_token": at, "refresh_token": rt, "token_type": "Bearer",
                     "expires_in": life, "id_token": jwt({"email": ident["email"],
                                                          "sub": ident["sub"], "exp": exp})}, []

    def token_copilot_exchange(self, auth):
        tok = auth.split(" ", 1)[1] if " " in auth else ""
        a = self.st.access["copilot"].get(tok)
        if not a:
            return 401, {"message": "Bad credentials"}, []
        exp = int(time.time()) + self.st.lifetime["copilot"]
        sess = "tid=%s;exp=%d;sku=copilot_individual;proxy-ep=proxy.individual.githubcopilot.com:%s" % (
            rand(8), exp, rand(16))
        self.st.sessions[sess] = exp
        self.st.stats["copilot"]["refreshes"] += 1
        return 200, {"token": sess, "expires_at": exp, "refresh_in": max(1, self.st.lifetime["copilot"] - 300),
                     "endpoints": {"api": "https://api.individual.githubcopilot.com",
                                   "proxy": "https://proxy.individual.githubcopilot.com"},
                     "sku": "copilot_individual"}, []

    def token_github(self, form):
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}, []
        ident, why = self._refresh("copilot", form.get("refresh_token", ""))
        if not ident:
            return 400, {"error": "bad_refresh_token"}, []
        at, rt, exp, life = self._mint("copilot", ident)
        return 200, {"access_token": at, "refresh_token": rt, "expires_in": life,
                     "token_type": "bearer", "scope": "read:user"}, []

    def live_access(self, provider, auth):
        if not auth.startswith("Bearer "):
            return None
        a = self.st.access[provider].get(auth[7:])
        if a and a["exp"] > time.time():
            return a
        return None


def _responses_events(text):
    """The Responses API events of one answer (text None: an empty warm-up)."""
    item = {"id": "msg_fake", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text or "", "annotations": []}]}
    resp = {"id": "resp_fake", "object": "response", "status": "completed",
            "output": [item] if text else [],
            "usage": {"input_tokens": 5, "output_tokens": 7 if text else 0,
                      "total_tokens": 12 if text else 5}}
    ev = [("response.created", {"type": "response.created",
                                "response": dict(resp, status="in_progress", output=[])})]
    if text:
        ev += [("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                               "item": dict(item, status="in_progress", content=[])}),
               ("response.output_text.delta", {"type": "response.output_text.delta", "item_id": "msg_fake",
                                               "output_index": 0, "content_index": 0, "delta": text}),
               ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                              "item": item})]
    ev.append(("response.completed", {"type": "response.completed", "response": resp}))
    return ev


_TOKEN_PATHS = {("platform.claude.com", "/v1/oauth/token"): "claude",
                ("console.anthropic.com", "/v1/oauth/token"): "claude",
                ("auth.openai.com", "/oauth/token"): "codex",
                ("auth.x.ai", "/oauth2/token"): "xai",
                ("github.com", "/login/oauth/access_token"): "copilot",
                ("api.github.com", "/copilot_internal/v2/token"): "copilot"}


def open_or_skip(tmpdir):
    """FakeProviders(tmpdir), or exit 77 (automake skip) when it cannot run."""
    import sys
    try:
        return FakeProviders(tmpdir)
    except Skip as e:
        print("SKIP: %s" % e, flush=True)
        sys.exit(77)


def hdrs(answer):
    """{lower-case header name: value} of a headers answer."""
    return {k.lower(): v for k, v in answer.get("headers", [])}


class Asker:
    """A stand-in enforcer worker on the broker's ipc.sock (common/ipc.h frames)."""

    def __init__(self, path, timeout=10.0):
        import struct as _struct
        self._struct = _struct
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.n = 0
        self.pending = {}
        # a worker's own link (asks_only): it gets no policy, so the broker
        # never waits for its policy-ack before answering an API change
        self.send({"type": "hello", "proto": 2, "pid": os.getpid(), "asks_only": True})

    def send(self, msg):
        data = json.dumps(msg).encode()
        self.sock.sendall(self._struct.pack(">I", len(data)) + data)

    def recv(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = self._struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return json.loads(frame)
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no IPC frame within %.1fs" % timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("broker closed the IPC connection")
            self.buf += chunk

    def recv_type(self, t, timeout=10.0):
        while True:
            m = self.recv(timeout)
            if m.get("type") == t:
                return m

    def ask_async(self, secret, host):
        self.n += 1
        self.send({"type": "headers", "id": self.n, "secret": secret, "host": host})
        return self.n

    def answers(self, count, timeout=10.0):
        """count headers answers, by id."""
        out = {}
        while len(out) < count:
            m = self.recv_type("headers", timeout)
            m["_at"] = time.monotonic()   # when it was read (for hold timings)
            out[m["id"]] = m
        return out

    def ask(self, secret, host, timeout=10.0):
        i = self.ask_async(secret, host)
        a = self.answers(1, timeout)
        if i not in a:
            raise AssertionError("answer id %r for ask %d" % (list(a), i))
        return a[i]

    def upstream_401(self, secret, host):
        self.send({"type": "upstream-401", "secret": secret, "host": host})

    def close(self):
        self.sock.close()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def finish_request(self, request, client_address):
        try:
            request.settimeout(10)
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def _make_handler(fp):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-provider"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            self.conn_t = time.time()   # when this connection was accepted

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _form(self, body):
            ct = self.headers.get("Content-Type", "")
            if "json" in ct:
                try:
                    v = json.loads(body or b"{}")
                    return {k: str(x) for k, x in v.items()} if isinstance(v, dict) else {}
                except ValueError:
                    return {}
            return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}

        def _send(self, status, body, headers=(), ctype="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            return status

        # ---- WebSocket (Codex Responses over wss) ----

        def _ws_send(self, opcode, data):
            n = len(data)
            head = bytes([0x80 | opcode])
            if n < 126:
                head += bytes([n])
            elif n < 65536:
                head += bytes([126]) + n.to_bytes(2, "big")
            else:
                head += bytes([127]) + n.to_bytes(8, "big")
            self.wfile.write(head + data)
            self.wfile.flush()

        def _ws_recv(self):
            """One whole message: (opcode, bytes), or (None, b"") at EOF."""
            buf, op = b"", None
            while True:
                h2 = self.rfile.read(2)
                if len(h2) < 2:
                    return None, b""
                fin, opcode = h2[0] & 0x80, h2[0] & 0x0F
                n = h2[1] & 0x7F
                if n == 126:
                    n = int.from_bytes(self.rfile.read(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.rfile.read(8), "big")
                mask = self.rfile.read(4) if h2[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
                if opcode >= 8:          # control frames come whole
                    return opcode, data
                if opcode:
                    op = opcode
                buf += data
                if fin:
                    return op, buf

        def _ws_loop(self):
            self.close_connection = True
            while True:
                op, data = self._ws_recv()
                if op is None or op == 8:
                    try:
                        self._ws_send(8, b"")
                    except OSError:
                        pass
                    return
                if op == 9:
                    self._ws_send(10, data)
                    continue
                try:
                    msg = json.loads(data)
                except ValueError:
                    continue
                with fp.lock:
                    fp.ws_messages.append(msg)
                if msg.get("type") != "response.create":
                    continue
                full = msg.get("generate", True) is not False
                for _, ev in _responses_events(fp.answer_text if full else None):
                    self._ws_send(1, json.dumps(ev).encode())

        def _sse(self, events):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for name, data in events:
                chunk = ("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return 200

        def _handle(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            host = fp.host_alias.get(host, host)
            body = self._body()
            rec = {"t": time.time(), "conn_t": self.conn_t, "host": host, "method": self.command,
                   "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("utf-8", "replace"), "status": None}
            prov = _TOKEN_PATHS.get((host, self.path.split("?")[0]))
            self._ws_session = False
            with fp.lock:
                fp.inflight += 1
            try:
                if prov and fp.st.delay[prov] > 0:
                    time.sleep(fp.st.delay[prov])
                with fp.lock:
                    fp.requests.append(rec)
                    try:
                        rec["status"] = self._route(host, body)
                    finally:
                        # set even when the client vanished before the
                        # answer went out (status stays None then)
                        rec["done"] = time.time()
                if self._ws_session:
                    self._ws_loop()   # outside the lock: it lasts
            finally:
                with fp.lock:
                    fp.inflight -= 1

        def _route(self, host, body):
            path = self.path.split("?")[0]
            auth = self.headers.get("Authorization", "")
            st = fp.st
            # ---- token endpoints ----
            tok = _TOKEN_PATHS.get((host, path))
            if tok:
                f = fp._queued_failure(tok)
                if f:
                    return self._send(*f)
                form = self._form(body)
                if host == "api.github.com":
                    return self._send(*fp.token_copilot_exchange(auth))
                fn = {"claude": fp.token_claude, "codex": fp.token_codex, "xai": fp.token_xai,
                      "copilot": fp.token_github}[tok]
                if self.command != "POST":
                    return self._send(405, {"error": "method"})
                return self._send(*fn(form))
            fails = st.api_fails.get(host)
            if fails and host not in ("auth.x.ai",):
                s = fails.pop(0)
                return self._send(s, {"type": "error", "error": {"type": "authentication_error",
                                                                 "message": "fake failure"}})
            # ---- xAI login ----
            if host == "auth.x.ai":
                if path == "/.well-known/openid-configuration":
                    return self._send(200, {
                        "issuer": "https://auth.x.ai",
                        "authorization_endpoint": "https://auth.x.ai/oauth2/authorize",
                        "token_endpoint": "https://auth.x.ai/oauth2/token",
                        "device_authorization_endpoint": "https://auth.x.ai/oauth2/device/code",
                        "grant_types_supported": ["authorization_code", "refresh_token",
                                                  "urn:ietf:params:oauth:grant-type:device_code"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": ["none"]})
                if path == "/oauth2/authorize":
                    q = {k: v[0] for k, v in urllib.parse.parse_qs(self.path.split("?", 1)[-1]).items()}
                    if (q.get("client_id") != XAI_CLIENT or q.get("code_challenge_method") != "S256"
                            or not q.get("state") or not q.get("nonce")
                            or not q.get("redirect_uri", "").startswith("http://127.0.0.1:")):
                        return self._send(400, {"error": "invalid_request"})
                    code = "code-" + rand()
                    st.codes[code] = {"challenge": q.get("code_challenge"),
                                      "redirect_uri": q["redirect_uri"]}
                    loc = "%s?code=%s&state=%s" % (q["redirect_uri"], code,
                                                   urllib.parse.quote(q["state"]))
                    return self._send(302, b"", [("Location", loc)], "text/plain")
                if path == "/oauth2/device/code":
                    dc = "dev-" + rand()
                    st.devices[dc] = 1
                    return self._send(200, {"device_code": dc, "user_code": "ABCD-EFGH",
                                            "verification_uri": "https://accounts.x.ai/device",
                                            "verification_uri_complete":
                                                "https://accounts.x.ai/device?code=ABCD-EFGH",
                                            "expires_in": 60, "interval": 1})
                return self._send(404, {"error": "not_found"})
            # ---- APIs ----
            if host == "api.anthropic.com":
                if self.headers.get("x-api-key"):
                    return self._send(401, {"type": "error", "error": {
                        "type": "authentication_error", "message": "x-api-key with OAuth"}})
                a = fp.live_access("claude", auth)
                if not a:
                    return self._send(401, {"type": "error", "error": {
                        "type": "authentication_error", "message": "Invalid bearer token"}})
                if path == "/api/oauth/profile":
                    return self._send(200, {"account": {"uuid": a["ident"]["account"],
                                                        "email": a["ident"]["email"]},
                                            "organization": {"uuid": a["ident"]["org"]}})
                beta = ",".join(self.headers.get_all("anthropic-beta") or [])
                if "oauth-2025-04-20" not in [b.strip() for b in beta.split(",")]:
                    return self._send(400, {"type": "error", "error": {
                        "type": "invalid_request_error",
                        "message": "OAuth authentication is currently not supported."}})
                if path == "/v1/messages" and self.command == "POST":
                    try:
                        req = json.loads(body or b"{}")
                    except ValueError:
                        req = {}
                    msg = {"id": "msg_fake", "type": "message", "role": "assistant",
                           "model": req.get("model", "claude-fake"),
                           "content": [{"type": "text", "text": fp.answer_text}],
                           "stop_reason": "end_turn", "stop_sequence": None,
                           "usage": {"input_tokens": 5, "output_tokens": 7}}
                    if not req.get("stream"):
                        return self._send(200, msg)
                    start = dict(msg, content=[], stop_reason=None)
                    return self._sse([
                        ("message_start", {"type": "message_start", "message": start}),
                        ("content_block_start", {"type": "content_block_start", "index": 0,
                                                 "content_block": {"type": "text", "text": ""}}),
                        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": fp.answer_text}}),
                        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                        ("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                           "usage": {"output_tokens": 7}}),
                        ("message_stop", {"type": "message_stop"})])
                return self._send(404, {"type": "error", "error": {"type": "not_found_error"}})
            if host == "chatgpt.com":
                a = fp.live_access("codex", auth)
                if not a:
                    return self._send(401, {"detail": "Unauthorized"})
                acct = self.headers.get("ChatGPT-Account-Id")
                if path == "/backend-api/wham/accounts/check":
                    if acct != a["ident"]["account_id"]:
                        return self._send(403, {"detail": "account mismatch"})
                    return self._send(200, {"accounts": [{
                        "id": a["ident"]["account_id"], "workspace_backend_origin": "https://chatgpt.com",
                        "account_routing_override": "NO_CONSTRAINT"}]})
                if path == "/backend-api/codex/models":
                    return self._send(200, {"models": []})
                if (path == "/backend-api/codex/responses" and self.command == "GET"
                        and self.headers.get("Upgrade", "").lower() == "websocket" and fp.websocket):
                    if acct != a["ident"]["account_id"]:
                        return self._send(403, {"detail": "account mismatch"})
                    key = self.headers.get("Sec-WebSocket-Key", "")
                    accept = base64.b64encode(hashlib.sha1(
                        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
                    # no Sec-WebSocket-Extensions: permessage-deflate declined
                    self.send_response(101)
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.send_header("Sec-WebSocket-Accept", accept)
                    self.end_headers()
                    self.wfile.flush()
                    self._ws_session = True
                    return 101
                if path == "/backend-api/codex/responses" and self.command == "POST":
                    if acct != a["ident"]["account_id"]:
                        return self._send(403, {"detail": "account mismatch"})
                    return self._sse(_responses_events(fp.answer_text))
                return self._send(404, {"detail": "Not Found"})
            if host == "ab.chatgpt.com":
                # Codex's OTLP metrics: no credential, only a statsig client key
                return self._send(200, {}) if path.startswith("/otlp/") else self._send(404, {})
            if host in ("api.githubcopilot.com", "api.individual.githubcopilot.com"):
                ok = auth.startswith("Bearer ") and (
                    (auth[7:] in st.access["copilot"] and auth[7:].startswith("gho_"))
                    or st.sessions.get(auth[7:], 0) > time.time())
                if not ok:
                    return self._send(401, {"error": {"message": "unauthorized"}})
                if path == "/models":
                    return self._send(200, {"data": [{"id": "gpt-fake"}]})
                if path == "/chat/completions":
                    return self._send(200, {"id": "c", "object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": fp.answer_text},
                         "finish_reason": "stop"}]})
                return self._send(404, {"error": {"message": "not found"}})
            if host == "api.x.ai":
                if not fp.live_access("xai", auth):
                    return self._send(401, {"error": "unauthorized"})
                if path == "/v1/models":
                    return self._send(200, {"data": [{"id": "grok-fake"}]})
                if path in ("/v1/chat/completions", "/v1/responses"):
                    return self._send(200, {"id": "x", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": fp.answer_text}}],
                        "output_text": fp.answer_text})
                return self._send(404, {"error": "not found"})
            return self._send(404, {"error": "unknown host %s" % host})

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

    return H


if __name__ == "__main__":
    # Manual smoke run: python3 tests/lib/fake_providers.py
    import tempfile
    import urllib.request
    with tempfile.TemporaryDirectory() as d, FakeProviders(d) as fp:
        f = fp.login_claude()
        print(fp.addr, fp.port)
        ctx = ssl.create_default_context(cafile=fp.ca)
        ctx.check_hostname = False
        body = json.dumps({"grant_type": "refresh_token", "client_id": CLAUDE_CLIENT,
                           "refresh_token": f["claudeAiOauth"]["refreshToken"]}).encode()
        for i in range(2):
            req = urllib.request.Request("https://%s/v1/oauth/token" % fp.addr, data=body,
                                         headers={"Content-Type": "application/json",
                                                  "Host": "platform.claude.com"})
            try:
                print(urllib.request.urlopen(req, context=ctx).read()[:80])
            except urllib.error.HTTPError as e:
                print(e.code, e.read())
        print(fp.stats("claude"))
