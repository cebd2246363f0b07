"""origins: local upstreams for the proxy tests (loopback only, free ports).

    import origins
    with origins.HTTPOrigin() as o:          # plain HTTP, o.port
        ...
    ca = origins.TestCA(tmpdir)               # openssl: ca.pem + leaf for names
    with origins.HTTPOrigin(tls=ca) as o:     # HTTPS with the test CA
    with origins.TCPEcho() as e:              # echoes bytes back
    with origins.GitServer(tmpdir, ca) as g:  # smart-HTTP git over HTTPS (g.url(host))
    with origins.GitServer(tmpdir, ca, auth=check, push=True) as g:
                                              # private repo: 401 unless check(user, password)
                                              # says yes; push (receive-pack) enabled
    with origins.SSHServer(tmpdir) as s:      # OpenSSH as the test user (s.port, s.key)

HTTP origin paths (any method):
  /echo...        JSON {method, path, headers:[[k,v]], body_len, body_sha256}
  /bytes/N        N bytes (pattern), Content-Length
  /chunked/N      N bytes, chunked
  /eof/N          N bytes, no length: the connection closes after
  /slow/MS        waits MS milliseconds, then 200 "slow"
Request bodies are read with Content-Length or chunked framing.
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time


def pattern(n):
    """Deterministic bytes for /bytes/N (and its checks)."""
    base = bytes(range(256)) * 16
    out = bytearray()
    while len(out) < n:
        out += base
    return bytes(out[:n])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "origin/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            data = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _any(self):
        body = self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        self.server.peers.append(self.client_address[1])
        self.server.reused.append(getattr(self.request, "session_reused", None))
        p = self.path
        if p.startswith("/bytes/"):
            return self._send(200, pattern(int(p.split("/")[2])))
        if p.startswith("/chunked/"):
            data = pattern(int(p.split("/")[2]))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 7000):
                piece = data[i:i + 7000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if p.startswith("/eof/"):
            data = pattern(int(p.split("/")[2]))
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return None
        if p.startswith("/slow/"):
            time.sleep(int(p.split("/")[2]) / 1000.0)
            return self._send(200, b"slow")
        info = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            # what arrived, as hashes: the echo itself is scrubbed of any
            # secret airlock injected (docs/security.md), these are not
            "header_sha256": [[k, hashlib.sha256(v.encode()).hexdigest()] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        return self._send(200, json.dumps(info).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    accepted = 0   # connections accepted (and, over TLS, handshaken), with or without a request

    def verify_request(self, request, client_address):
        self.accepted += 1
        return True


class _Server6(_Server):
    address_family = socket.AF_INET6


class HTTPOrigin:
    """A threaded HTTP/1.1 origin on 127.0.0.1 or ::1 (HTTPS when tls=TestCA)."""

    def __init__(self, tls=None, handler=_Handler, host="127.0.0.1"):
        self.srv = (_Server6 if ":" in host else _Server)((host, 0), handler)
        self.srv.requests = []
        self.srv.peers = []        # the client port of each request: connection reuse
        self.srv.reused = []       # TLS: did each request's connection resume a session
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.leaf_cert, tls.leaf_key)
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)

    @property
    def requests(self):
        return self.srv.requests

    @property
    def peers(self):
        return self.srv.peers

    @property
    def reused(self):
        return self.srv.reused

    @property
    def accepted(self):
        return self.srv.accepted

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()


class TestCA:
    """A throwaway CA (openssl) and one leaf for `names` (DNS names; 127.0.0.1 added)."""

    def __init__(self, tmpdir, names=("origin.test", "git.test")):
        d = os.path.join(tmpdir, "testca")
        os.makedirs(d, exist_ok=True)
        self.ca_key = os.path.join(d, "ca.key")
        self.ca_cert = os.path.join(d, "ca.pem")
        self.leaf_key = os.path.join(d, "leaf.key")
        self.leaf_cert = os.path.join(d, "leaf.pem")
        csr = os.path.join(d, "leaf.csr")
        ext = os.path.join(d, "leaf.ext")

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2", "-subj", "/CN=airlock test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", self.leaf_key, "-out", csr, "-subj", "/CN=%s" % names[0])
        sans = ",".join(["DNS:%s" % n for n in names] + ["IP:127.0.0.1"])
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" % sans)
        run("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key, "-CAcreateserial",
            "-out", self.leaf_cert, "-days", "2", "-extfile", ext)


class TCPEcho:
    """Echoes every byte back; counts connections open."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open = 0
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _serve(self, c):
        self.open += 1
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            self.open -= 1
            c.close()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.sock.close()


class _GitHandler(_Handler):
    """git http-backend as a CGI behind the origin handler. With an auth
    check, a private repository as GitHub serves one: every request needs
    HTTP Basic whose user and password the check accepts, else 401 with
    WWW-Authenticate (what makes git ask for credentials)."""

    def _authorized(self):
        check = self.server.git_auth
        a = self.headers.get("Authorization", "")
        self.server.git_auths.append(a)
        if check is None:
            return True
        if not a.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(a[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return bool(check(user, pw))

    def _any(self):
        body = self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        if not self._authorized():
            msg = b"Invalid username or token.\n"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": self.server.git_root,
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.server.git_push:
            # http-backend serves receive-pack to an authenticated user
            env["REMOTE_USER"] = "x-access-token"
        p = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, out = p.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, out = p.stdout.partition(b"\n\n")
        code = 200
        hdrs = []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                code = int(v.strip().split()[0])
            elif k:
                hdrs.append((k.strip(), v.strip()))
        self.send_response(code)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _any


class GitServer(HTTPOrigin):
    """Smart-HTTP git over HTTPS: one bare repo "repo.git" with one commit.
    auth: None (anyone may read), or check(user, password) -> bool for a
    private repo; push: receive-pack enabled. g.auths: the Authorization
    of every request, in order; g.head(): the bare repo's master commit."""

    def __init__(self, tmpdir, ca, auth=None, push=False):
        super().__init__(tls=ca, handler=_GitHandler)
        self.srv.git_auth = auth
        self.srv.git_push = push
        self.srv.git_auths = []
        root = os.path.join(tmpdir, "git-root")
        work = os.path.join(tmpdir, "git-work")
        os.makedirs(root, exist_ok=True)
        env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=tmpdir,
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")
        subprocess.run(["git", "init", "-q", work], check=True, env=env)
        with open(os.path.join(work, "README"), "w") as f:
            f.write("hello through airlock\n")
        subprocess.run(["git", "-C", work, "add", "README"], check=True, env=env)
        subprocess.run(["git", "-C", work, "commit", "-q", "-m", "first"], check=True, env=env)
        subprocess.run(["git", "clone", "-q", "--bare", work, os.path.join(root, "repo.git")],
                       check=True, env=env)
        if push:
            subprocess.run(["git", "-C", os.path.join(root, "repo.git"), "config", "http.receivepack",
                            "true"], check=True, env=env)
        self.srv.git_root = root
        self.bare = os.path.join(root, "repo.git")

    @property
    def auths(self):
        return self.srv.git_auths

    def head(self, ref="HEAD"):
        return subprocess.run(["git", "-C", self.bare, "rev-parse", ref], capture_output=True,
                              text=True, check=True).stdout.strip()

    def url(self, host):
        return "https://%s:%d/repo.git" % (host, self.port)


class SSHServer:
    """OpenSSH on a free loopback port, as the current user, key auth only."""

    def __init__(self, tmpdir):
        self.dir = os.path.join(tmpdir, "sshd")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.port = free_port()
        self.host_key = os.path.join(self.dir, "host_key")
        self.key = os.path.join(self.dir, "user_key")
        for k in (self.host_key, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k], check=True)
        self.authorized = os.path.join(self.dir, "authorized_keys")
        shutil.copy(self.key + ".pub", self.authorized)
        os.chmod(self.authorized, 0o600)
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\n"
                    "PidFile %s/sshd.pid\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                    "LogLevel ERROR\n"
                    % (self.port, self.host_key, self.authorized, self.dir))
        self.proc = None

    def __enter__(self):
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: %s" % open(os.path.join(self.dir, "log")).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not start")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
