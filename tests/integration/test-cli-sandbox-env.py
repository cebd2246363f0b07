"""`airlock sandbox env` prints variables a sandbox can use as they are.

Formats: sh (sourced by sh, read back with env -0), dotenv (parsed) and json
(loaded) all give the same variables; a token and a CA path full of quotes,
'$', '%', ':' and '@' survive (the token URL-escaped in the proxy URL's
password, the path verbatim). The variables that replace a trust store
point at the bundle (--bundle-path, by default the CA path with -bundle),
those that add to it at the CA. Usage errors exit 2 without printing the
token; --token - reads it from stdin; with the broker down the default
listener is used, with a note.

End to end, through a running airlock with bare (blind tunnel) rules and
origins whose certificates are signed by a "world" CA unrelated to
airlock's, that only the test's system bundle (the world CA plus this
machine's roots) holds, and `airlock ca bundle --system` of that: in `env
-i` with PATH and only the printed variables, curl, Python urllib and
requests, Node (reading the system store: --use-openssl-ca) and git reach
HTTP and HTTPS origins through the plain listener (the default), and trust
the origin through the bundle. Twin: with the replacing variables at
airlock's CA alone (what sandbox env printed before the bundle), curl,
urllib and git refuse the blind-tunnelled origin. Through the TLS
listener (--proxy set to the status' https_proxy), Python's default context
and Node verify the listener with SSL_CERT_FILE / NODE_EXTRA_CA_CERTS, git
with GIT_PROXY_SSL_CAINFO, curl 7.x with --proxy-cacert "$CURL_CA_BUNDLE"
(it reads no variable for a proxy's CA). With a rule that needs to see
inside (--method), airlock intercepts and mints the origin's leaf itself:
curl (both listeners), urllib, requests, Node and git trust it through the
same variables. Twin: without the CA variables the same clients refuse the
connection. The token never reaches the log."""
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

import airlock_harness as h
import origins
import proxytest as pt

BUNDLE_VARS = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "DENO_CERT"]
CA_VARS = ["NODE_EXTRA_CA_CERTS", "CODEX_CA_CERTIFICATE", "GIT_PROXY_SSL_CAINFO"]
PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
NO_PROXY = "localhost,127.0.0.1,::1"
ODD_TOKEN = "alk_it's \"odd\" %41:@/\\$HOME`id`~"
ODD_CA = "/tmp/dir with 'single' \"double\" $HOME `id` #x/ca.pem"


def bundle_of(ca):
    """sandbox env's default --bundle-path."""
    for ext in (".pem", ".crt"):
        base = ca.rsplit("/", 1)[-1]
        if ca.endswith(ext) and len(base) > len(ext):
            return ca[:-len(ext)] + "-bundle" + ext
    return ca + "-bundle"


def expected(client, token, base, ca, bundle=None):
    scheme, hostport = base.split("://", 1)
    url = "%s://%s:%s@%s" % (scheme, urllib.parse.quote(client, safe=""),
                             urllib.parse.quote(token, safe=""), hostport)
    want = {k: url for k in PROXY_VARS}
    want.update({"NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY})
    want.update({k: bundle or bundle_of(ca) for k in BUNDLE_VARS})
    want.update({k: ca for k in CA_VARS})
    return want


def run_cli(args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([h.binary("airlock")] + list(args), capture_output=True, text=True,
                          env=e, timeout=30)


def sh_env(text, tmp):
    """Source the sh output in a clean sh and read the environment back."""
    path = os.path.join(tmp, "env.sh")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run(["env", "-i", "sh", "-c", '. "$1" && exec env -0', "sh", path],
                       capture_output=True, timeout=30)
    h.check_eq(r.returncode, 0, "sh sources the output: %r" % r.stderr)
    out = {}
    for item in r.stdout.decode().split("\0"):
        if item:
            k, _, v = item.partition("=")
            out[k] = v
    for k in ("PWD", "SHLVL", "_"):
        out.pop(k, None)
    return out


def parse_dotenv(text):
    """KEY=bare, KEY='literal', KEY="with \\" and \\\\ escapes" (what dotenv
    readers agree on)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# "):
            continue
        k, sep, v = line.partition("=")
        h.check(sep == "=" and k.isidentifier(), "dotenv line: %r" % line)
        if v.startswith("'"):
            h.check(v.endswith("'") and len(v) >= 2 and "'" not in v[1:-1], "single-quoted: %r" % line)
            v = v[1:-1]
        elif v.startswith('"'):
            h.check(v.endswith('"') and len(v) >= 2, "double-quoted: %r" % line)
            s, res, i = v[1:-1], "", 0
            while i < len(s):
                if s[i] == "\\":
                    h.check(i + 1 < len(s) and s[i + 1] in "\\\"", "escape in %r" % line)
                    i += 1
                else:
                    h.check(s[i] != '"', "bare \" inside %r" % line)
                res += s[i]
                i += 1
            v = res
        else:
            h.check(all(c.isalnum() or c in "_./:@%,+~-" for c in v), "bare value needs quotes: %r" % line)
        h.check(k not in out, "dotenv key twice: %s" % k)
        out[k] = v
    return out


def formats(client, token, ca, proxy_args, env, tmp):
    """The three formats of one invocation, parsed back."""
    got = {}
    for shell in ("sh", "dotenv", "json"):
        p = run_cli(["sandbox", "env", client, "--token", token, "--ca-path", ca,
                     "--shell", shell] + proxy_args, env)
        h.check_eq(p.returncode, 0, "sandbox env --shell %s: %s" % (shell, p.stderr))
        h.check(token not in p.stderr, "the token is not on stderr")
        if shell == "sh":
            got[shell] = sh_env(p.stdout, tmp)
        elif shell == "dotenv":
            got[shell] = parse_dotenv(p.stdout)
        else:
            got[shell] = json.loads(p.stdout)
        got[shell + "-stderr"] = p.stderr
    return got


def offline(tmp):
    """Formats, escaping, defaults and usage errors: no daemon."""
    down = {"AIRLOCK_URL": os.path.join(tmp, "nothing.sock"),
            "AIRLOCK_STATE_DIR": os.path.join(tmp, "nostate")}
    base = "http://10.1.2.3:8080"
    got = formats("web-1", ODD_TOKEN, ODD_CA, ["--proxy", base], down, tmp)
    want = expected("web-1", ODD_TOKEN, base, ODD_CA)
    for shell in ("sh", "dotenv", "json"):
        h.check_eq(got[shell], want, "--shell %s" % shell)
        h.check_eq(got[shell + "-stderr"], "", "--proxy URL: the broker is not asked, no note")
    u = urllib.parse.urlsplit(got["json"]["HTTPS_PROXY"])
    h.check_eq((u.scheme, u.hostname, u.port), ("http", "10.1.2.3", 8080), "proxy URL shape")
    h.check_eq(urllib.parse.unquote(u.username), "web-1", "user name")
    h.check_eq(urllib.parse.unquote(u.password), ODD_TOKEN, "the token comes back from the URL")

    # --token - reads one line of stdin (a pipe from `airlock client create`)
    for given in (ODD_TOKEN + "\n", ODD_TOKEN + "\r\n", ODD_TOKEN):
        e = dict(os.environ, **down)
        p = subprocess.run([h.binary("airlock"), "sandbox", "env", "web-1", "--token", "-", "--ca-path", ODD_CA,
                            "--shell", "json", "--proxy", base], input=given, capture_output=True, text=True,
                           env=e, timeout=30)
        h.check_eq((p.returncode, json.loads(p.stdout or "null")), (0, want), "--token - with %r" % given[-2:])
    for given in ("", "\n", "alk_" + "x" * 200 + "\n"):
        p = subprocess.run([h.binary("airlock"), "sandbox", "env", "web-1", "--token", "-", "--ca-path", ODD_CA,
                            "--proxy", base], input=given, capture_output=True, text=True,
                           env=dict(os.environ, **down), timeout=30)
        h.check(p.returncode == 1 and p.stdout == "" and "--token -" in p.stderr,
                "--token - with %d bytes refused: %r" % (len(given), p.stderr))

    # the order is fixed: proxy, no-proxy, CA
    p = run_cli(["sandbox", "env", "web-1", "--token", "alk_x", "--ca-path", "/ca.pem", "--proxy", base])
    lines = p.stdout.splitlines()
    h.check_eq(lines[0], "# airlock sandbox env web-1: in the sandbox, `airlock ca cert` goes to /ca.pem "
               "and `airlock ca bundle` to /ca-bundle.pem", "where the files go")
    keys = [ln.split("=", 1)[0].split()[1] for ln in lines[1:]]
    h.check_eq(keys, PROXY_VARS + ["NO_PROXY", "no_proxy"] + BUNDLE_VARS + CA_VARS, "sh keys in order")
    h.check(all(ln.startswith("export ") for ln in lines[1:]), "sh lines are exports")

    # --bundle-path, and its default beside --ca-path
    for ca, bundle in (("/etc/airlock-ca.pem", "/etc/airlock-ca-bundle.pem"), ("/x/ca.crt", "/x/ca-bundle.crt"),
                       ("/x/ca", "/x/ca-bundle"), ("/x.pem/ca", "/x.pem/ca-bundle"), ("/x/.pem", "/x/.pem-bundle")):
        p = run_cli(["sandbox", "env", "web-1", "--token", "alk_x", "--ca-path", ca, "--proxy", base,
                     "--shell", "json"])
        h.check_eq(json.loads(p.stdout), expected("web-1", "alk_x", base, ca, bundle), "bundle beside %s" % ca)
    got = formats("web-1", "alk_x", "/ca.pem", ["--proxy", base, "--bundle-path", ODD_CA], down, tmp)
    for shell in ("sh", "dotenv", "json"):
        h.check_eq(got[shell], expected("web-1", "alk_x", base, "/ca.pem", ODD_CA), "--bundle-path %s" % shell)

    docker(tmp, down)

    # --proxy spellings: default ports written out, IPv6 bracketed, host canonical
    for given, base_want in (("https://[::1]", "https://[::1]:3129"),
                             ("http://Proxy.Example.:3128/", "http://proxy.example:3128"),
                             ("http://192.168.64.1", "http://192.168.64.1:3128")):
        got = formats("web-1", "alk_x", "/ca.pem", ["--proxy", given], down, tmp)
        h.check_eq(got["json"], expected("web-1", "alk_x", base_want, "/ca.pem"), "--proxy %s" % given)

    # broker down: airlock's defaults, a note on stderr, exit 0
    for which, base_want in ((None, "http://127.0.0.1:3128"), ("http", "http://127.0.0.1:3128"),
                             ("https", "https://127.0.0.1:3129")):
        got = formats("web-1", "alk_x", "/ca.pem", ["--proxy", which] if which else [], down, tmp)
        h.check_eq(got["sh"], expected("web-1", "alk_x", base_want, "/ca.pem"), "broker down %s" % which)
        err = got["sh-stderr"]
        h.check(err.startswith("airlock: ") and err.count("\n") == 1 and base_want in err,
                "one note naming the default: %r" % err)

    usage = [
        (["web-1", "--ca-path", "/ca.pem"], "--token"),
        (["web-1", "--token", ODD_TOKEN], "--ca-path"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", ""], "--ca-path"),
        (["web-1", "--token", "", "--ca-path", "/ca.pem"], "--token"),
        (["--token", ODD_TOKEN, "--ca-path", "/ca.pem"], "missing CLIENT"),
        (["web-1", "web-2", "--token", ODD_TOKEN, "--ca-path", "/ca.pem"], "unexpected argument"),
        (["bad name", "--token", ODD_TOKEN, "--ca-path", "/ca.pem"], "client name"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--shell", "fish"], "--shell"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--proxy", "socks5://h:1"], "--proxy"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--proxy", "http://u:p@h:1"], "--proxy"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--proxy", "http://h:1/x"], "--proxy"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--proxy", "http://h:99999"], "--proxy"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca\n.pem"], "--ca-path"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--bundle-path", ""], "--bundle-path"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--bundle-path", "/b\r"], "--bundle-path"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/c:a.pem", "--shell", "docker"], "--shell docker"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--bundle-path", "/b,c", "--shell", "docker"],
         "--shell docker"),
        (["web-1", "--token", "alk_" + "x" * 200, "--ca-path", "/ca.pem"], "--token"),
        (["web-1", "--token", ODD_TOKEN, "--ca-path", "/ca.pem", "--frob"], "unknown option"),
    ]
    for args, want in usage:
        p = run_cli(["sandbox", "env"] + args, down)
        what = "sandbox env %r" % args
        h.check_eq(p.returncode, 2, what + " exit status (%r)" % p.stderr)
        h.check_eq(p.stdout, "", what + " prints nothing")
        h.check(p.stderr.startswith("airlock: ") and p.stderr.count("\n") == 1 and want in p.stderr,
                "%s: one line naming %r: %r" % (what, want, p.stderr))
        h.check(ODD_TOKEN not in p.stderr, what + ": the token is not echoed")
    p = run_cli(["sandbox", "env", "--help"], down)
    h.check(p.returncode == 0 and "--proxy" in p.stdout and "CODEX_CA_CERTIFICATE" in p.stdout and
            "--bundle-path" in p.stdout and "docker" in p.stdout, "--help")


def docker(tmp, down):
    """--shell docker: two functions; a fake docker on PATH shows what they pass."""
    fake = os.path.join(tmp, "bin")
    os.makedirs(fake, exist_ok=True)
    with open(os.path.join(fake, "docker"), "w") as f:
        f.write("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n")
    os.chmod(os.path.join(fake, "docker"), 0o755)
    ca, bundle = "/etc/air lock/ca.pem", "/etc/air lock/ca-bundle.pem"
    p = run_cli(["sandbox", "env", "web-1", "--token", ODD_TOKEN, "--ca-path", ca, "--shell", "docker",
                 "--proxy", "http://10.1.2.3:3128"], down)
    h.check_eq((p.returncode, p.stderr), (0, ""), "--shell docker")
    h.check("--network host" not in p.stdout, "no loopback note for 10.1.2.3")
    path = os.path.join(tmp, "docker.sh")
    with open(path, "w") as f:
        f.write(p.stdout)
    want = expected("web-1", ODD_TOKEN, "http://10.1.2.3:3128", ca)
    url = want["HTTP_PROXY"]

    def argv(fn, *args):
        r = subprocess.run(["env", "-i", "PATH=%s:/usr/bin:/bin" % fake, "sh", "-c", '. "$1"; shift; "$@"',
                            "sh", path, fn] + list(args), capture_output=True, timeout=30)
        h.check_eq(r.returncode, 0, "%s: %r" % (fn, r.stderr))
        return r.stdout.decode().split("\0")[:-1]
    got = argv("airlock_docker_build", "-t", "app", ".")
    h.check_eq(got[:2], ["build", "--build-arg"], "docker build first")
    want_build = ["build"]
    for k in PROXY_VARS:
        want_build += ["--build-arg", "%s=%s" % (k, url)]
    for k in ("NO_PROXY", "no_proxy"):
        want_build += ["--build-arg", "%s=%s" % (k, NO_PROXY)]
    want_build += ["--secret", "id=airlock-ca,src=" + ca, "--secret", "id=airlock-ca-bundle,src=" + bundle,
                   "-t", "app", "."]
    h.check_eq(got, want_build, "docker build arguments")
    got = argv("airlock_docker_run", "--rm", "img", "true")
    want_run = ["run"]
    inside = expected("web-1", ODD_TOKEN, "http://10.1.2.3:3128", "/etc/airlock/ca.pem",
                      "/etc/airlock/ca-bundle.pem")
    for k in PROXY_VARS + ["NO_PROXY", "no_proxy"] + BUNDLE_VARS + CA_VARS:
        want_run += ["--env", "%s=%s" % (k, inside[k])]
    want_run += ["--volume", ca + ":/etc/airlock/ca.pem:ro", "--volume", bundle + ":/etc/airlock/ca-bundle.pem:ro",
                 "--rm", "img", "true"]
    h.check_eq(got, want_run, "docker run arguments")
    h.check("RUN --mount=type=secret,id=airlock-ca-bundle,target=/etc/ssl/certs/ca-certificates.crt" in p.stdout,
            "the Dockerfile line is shown")
    p = run_cli(["sandbox", "env", "web-1", "--token", "alk_x", "--ca-path", ca, "--shell", "docker",
                 "--proxy", "http://127.0.0.1:3128"], down)
    h.check("--network host" in p.stdout, "loopback proxy: the note about --network host")


NODE_SCRIPT = r"""
// Only what the environment gives: the proxy URL and NODE_EXTRA_CA_CERTS.
const net = require('net'), tls = require('tls');
const [mode, host, port] = process.argv.slice(2);
const p = new URL(process.env.HTTPS_PROXY);
const auth = 'Basic ' + Buffer.from(decodeURIComponent(p.username) + ':' +
                                   decodeURIComponent(p.password)).toString('base64');
const done = (s, what) => { console.log(what); s.destroy(); process.exit(0); };
const fail = (e) => { console.error(String(e)); process.exit(1); };
if (mode === 'tunnel') {   // plain listener: CONNECT, then TLS to the origin
  const s = net.connect(+p.port, p.hostname, () =>
    s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\nProxy-Authorization: ${auth}\r\n\r\n`));
  s.once('data', (d) => {
    if (!/^HTTP\/1\.1 200/.test(d.toString())) fail(d.toString());
    const t = tls.connect({socket: s, servername: host}, () => {
      t.write(`GET /echo HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
    });
    t.once('data', (r) => done(t, r.toString().split('\r\n')[0]));
    t.on('error', fail);
  });
  s.on('error', fail);
} else {                   // TLS listener: verify it, then an absolute-URI request
  const t = tls.connect({host: p.hostname, port: +p.port}, () => {
    t.write(`GET http://${host}:${port}/echo HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
            `Proxy-Authorization: ${auth}\r\nConnection: close\r\n\r\n`);
  });
  t.once('data', (r) => done(t, r.toString().split('\r\n')[0]));
  t.on('error', fail);
}
"""

PY_TLS_LISTENER = r"""
# Only what the environment gives: HTTPS_PROXY and SSL_CERT_FILE (read by
# OpenSSL's default paths, which ssl.create_default_context() loads).
import base64, os, socket, ssl, sys, urllib.parse
p = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
auth = base64.b64encode(("%s:%s" % (urllib.parse.unquote(p.username),
                                    urllib.parse.unquote(p.password))).encode()).decode()
ctx = ssl.create_default_context()
with socket.create_connection((p.hostname, p.port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=p.hostname) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n"
                   "Connection: close\r\n\r\n" % (sys.argv[1], urllib.parse.urlsplit(sys.argv[1]).netloc,
                                                  auth)).encode())
        print(s.recv(65536).decode("latin-1").split("\r\n")[0])
"""

PY_URLLIB = "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).status)"
PY_REQUESTS = "import requests, sys; print(requests.get(sys.argv[1], timeout=10).status_code)"


def live(tmp):
    have_node = subprocess.run(["sh", "-c", "command -v node"], capture_output=True).returncode == 0
    try:
        import requests  # noqa: F401
        have_requests = True
    except ImportError:
        have_requests = False
    with h.Airlock(start=False) as al:
        # the blind-tunnelled origins: signed by a CA of "the world", which
        # only the test's system bundle trusts (this machine's roots + it)
        leaf = origins.TestCA(os.path.join(al.tmpdir, "world"), names=("origin.test", "git.test"))
        system = os.path.join(al.tmpdir, "system-roots.pem")
        with open(system, "w") as f:
            f.write(open(leaf.ca_cert).read() + open("/etc/ssl/certs/ca-certificates.crt").read())
        upstream = origins.TestCA(al.tmpdir, names=("mitm.test",))
        g2dir = os.path.join(al.tmpdir, "g2")
        os.makedirs(g2dir)
        with origins.HTTPOrigin(tls=leaf) as s, origins.HTTPOrigin() as o, \
                origins.GitServer(al.tmpdir, leaf) as g, origins.HTTPOrigin(tls=upstream) as m, \
                origins.GitServer(g2dir, upstream) as g2:
            al.extra_flags += (pt.pins("origin.test", o.port, s.port) + pt.pins("git.test", g.port) +
                               pt.pins("mitm.test", m.port, g2.port) + ["--upstream-ca", upstream.ca_cert])
            al.start()
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--port", str(s.port))
            pt.allow(al, "web-1", "git.test", "--port", str(g.port))
            # rules that need to see inside: airlock intercepts and mints mitm.test's leaf
            pt.allow(al, "web-1", "mitm.test", "--port", str(m.port), "--port", str(g2.port),
                     "--method", "GET", "--method", "POST")
            st = al.status()
            bundle = os.path.join(al.tmpdir, "airlock-ca-bundle.pem")
            p = al.cli("ca", "bundle", "--system", system)
            h.check_eq((p.returncode, p.stderr), (0, ""), "ca bundle")
            h.check(p.stdout.startswith(open(system).read()) and
                    p.stdout.endswith(open(al.ca_cert).read()), "the bundle: system roots, then airlock's CA")
            with open(bundle, "w") as f:
                f.write(p.stdout)
            https_url = "https://origin.test:%d/echo" % s.port
            http_url = "http://origin.test:%d/echo" % o.port

            def env_file(proxy_args, name):
                p = al.cli("sandbox", "env", "web-1", "--token", tok, "--ca-path", al.ca_cert,
                           "--bundle-path", bundle, *proxy_args)
                h.check_eq(p.returncode, 0, "sandbox env: %s" % p.stderr)
                h.check_eq(p.stderr, "", "no note with the broker up")
                path = os.path.join(al.tmpdir, name)
                with open(path, "w") as f:
                    f.write(p.stdout)
                return path, p.stdout

            plain, text = env_file([], "plain.sh")
            h.check_eq(sh_env(text, tmp), expected("web-1", tok, st["http_proxy"], al.ca_cert, bundle),
                       "default: the broker's plain listener")
            tlsf, text = env_file(["--proxy", st["https_proxy"]], "tls.sh")
            h.check_eq(sh_env(text, tmp), expected("web-1", tok, st["https_proxy"], al.ca_cert, bundle),
                       "--proxy URL from the status' https_proxy")
            _, text2 = env_file(["--proxy", "https"], "tls2.sh")
            h.check_eq(text2, text, "--proxy https is the status' https_proxy")

            def sandbox(envf, script, *args, strip_ca=False, ca_alone=False):
                pre = ". \"$1\"; shift; "
                if strip_ca:
                    pre += "unset %s; " % " ".join(BUNDLE_VARS + CA_VARS)
                if ca_alone:   # what sandbox env printed before the bundle
                    pre += " ".join("export %s='%s';" % (k, al.ca_cert) for k in BUNDLE_VARS) + " "
                return subprocess.run(["env", "-i", "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"),
                                       "HOME=" + al.tmpdir, "sh", "-c", pre + script, "sh", envf] + list(args),
                                      capture_output=True, text=True, timeout=60)

            def curl_code(envf, url, *extra, strip_ca=False, ca_alone=False):
                r = sandbox(envf, 'curl -sS -o /dev/null -w "%%{http_code}" %s "$@"' % " ".join(extra), url,
                            strip_ca=strip_ca, ca_alone=ca_alone)
                return r.returncode, r.stdout.strip(), r.stderr

            # the plain listener (default): only the variables
            rc, code, err = h.wait_for(lambda: (lambda r: r if r[1] == "200" else None)(curl_code(plain, http_url)),
                                       timeout=5, what="curl, plain listener, http origin")
            rc, code, err = curl_code(plain, https_url)
            h.check_eq((rc, code), (0, "200"), "curl, plain listener, https origin via CURL_CA_BUNDLE: %s" % err)
            rc, code, err = curl_code(plain, https_url, strip_ca=True)
            h.check(rc != 0 and code != "200", "twin: curl without the CA variables refuses the origin")
            rc, code, err = curl_code(plain, https_url, ca_alone=True)
            h.check(rc != 0 and code != "200", "twin: curl with airlock's CA alone refuses the blind-tunnelled "
                    "origin: %s %s" % (code, err))
            r = sandbox(plain, '"%s" -c "%s" "$@"' % (sys.executable, PY_URLLIB), https_url, ca_alone=True)
            h.check(r.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in r.stderr,
                    "twin: urllib with airlock's CA alone: %s" % r.stderr[-300:])
            r = sandbox(plain, 'GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 git clone -q "$@"',
                        g.url("git.test"), os.path.join(al.tmpdir, "clone-ca-alone"), ca_alone=True)
            h.check(r.returncode != 0, "twin: git with airlock's CA alone refuses the origin")
            r = sandbox(plain, '"%s" -c "%s" "$@"' % (sys.executable, PY_URLLIB), https_url)
            h.check_eq(r.stdout.strip(), "200", "urllib, plain listener, https origin via SSL_CERT_FILE: %s"
                       % r.stderr[-300:])
            r = sandbox(plain, '"%s" -c "%s" "$@"' % (sys.executable, PY_URLLIB), https_url, strip_ca=True)
            h.check(r.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in r.stderr,
                    "twin: urllib without the CA variables: %s" % r.stderr[-300:])
            if have_requests:
                r = sandbox(plain, '"%s" -c "%s" "$@"' % (sys.executable, PY_REQUESTS), https_url)
                h.check_eq(r.stdout.strip(), "200", "requests via REQUESTS_CA_BUNDLE: %s" % r.stderr[-300:])
            else:
                h.log("python requests is not installed: not tried")
            if have_node:
                js = os.path.join(al.tmpdir, "probe.js")
                with open(js, "w") as f:
                    f.write(NODE_SCRIPT)
                # the world CA stands for a public root: Node has its own list of
                # those, so here it reads the system store (SSL_CERT_FILE)
                r = sandbox(plain, 'node --use-openssl-ca "$@"', js, "tunnel", "origin.test", str(s.port))
                h.check(" 200 " in r.stdout, "node via the bundle: %r %s" % (r.stdout, r.stderr))
                r = sandbox(plain, 'node --use-openssl-ca "$@"', js, "tunnel", "origin.test", str(s.port),
                            strip_ca=True)
                h.check(r.returncode != 0, "twin: node without the CA variables")
            else:
                h.log("node is not installed: not tried")
            dest = os.path.join(al.tmpdir, "clone-plain")
            r = sandbox(plain, 'GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 git clone -q "$@"',
                        g.url("git.test"), dest)
            h.check_eq(r.returncode, 0, "git clone, plain listener, via GIT_SSL_CAINFO: %s" % r.stderr)

            # the TLS listener: the listener's own certificate is checked too
            r = subprocess.run(["env", "-i", "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"),
                                "PROG=" + PY_TLS_LISTENER, "sh", "-c",
                                '. "$1"; shift; exec "%s" -c "$PROG" "$@"' % sys.executable, "sh", tlsf,
                                http_url], capture_output=True, text=True, timeout=60)
            h.check(r.stdout.startswith("HTTP/1.") and " 200 " in r.stdout,
                    "Python's default context trusts the TLS listener via SSL_CERT_FILE: %r %s"
                    % (r.stdout, r.stderr[-300:]))
            r = subprocess.run(["env", "-i", "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"),
                                "PROG=" + PY_TLS_LISTENER, "sh", "-c",
                                '. "$1"; shift; unset SSL_CERT_FILE; exec "%s" -c "$PROG" "$@"'
                                % sys.executable, "sh", tlsf, http_url],
                               capture_output=True, text=True, timeout=60)
            h.check(r.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in r.stderr,
                    "twin: without SSL_CERT_FILE the TLS listener is refused: %s" % r.stderr[-300:])
            rc, code, err = curl_code(tlsf, https_url, '--proxy-cacert "$CURL_CA_BUNDLE"')
            h.check_eq((rc, code), (0, "200"), "curl, TLS listener, https origin: %s" % err)
            rc, code, err = curl_code(tlsf, http_url, '--proxy-cacert "$CURL_CA_BUNDLE"')
            h.check_eq((rc, code), (0, "200"), "curl, TLS listener, http origin: %s" % err)
            if have_node:
                r = sandbox(tlsf, 'node "$@"', js, "listener", "origin.test", str(o.port))
                h.check(" 200 " in r.stdout, "node trusts the TLS listener: %r %s" % (r.stdout, r.stderr))
            dest = os.path.join(al.tmpdir, "clone-tls")
            r = sandbox(tlsf, 'GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 git clone -q "$@"',
                        g.url("git.test"), dest)
            h.check_eq(r.returncode, 0, "git clone, TLS listener, via GIT_PROXY_SSL_CAINFO: %s" % r.stderr)
            with open(os.path.join(dest, "README")) as f:
                h.check_eq(f.read(), "hello through airlock\n", "cloned content")

            # interception: the leaf airlock mints is trusted through the same variables
            mitm_url = "https://mitm.test:%d/echo" % m.port
            for envf, extra, what in ((plain, (), "plain listener"),
                                      (tlsf, ('--proxy-cacert "$CURL_CA_BUNDLE"',), "TLS listener")):
                rc, code, err = curl_code(envf, mitm_url, *extra)
                h.check_eq((rc, code), (0, "200"), "curl, %s, intercepted origin: %s" % (what, err))
                rc, code, err = curl_code(envf, mitm_url, *extra, strip_ca=True)
                h.check(rc != 0 and code != "200", "twin: curl without the CA refuses the minted leaf")
            h.check(any(d.get("host") == "mitm.test" and d.get("method") == "GET" and d.get("path") == "/echo"
                        and d["verdict"] == "allow" for d in pt.decisions(al)),
                    "the requests were intercepted (method and path logged)")
            for prog, what in ((PY_URLLIB, "urllib"), (PY_REQUESTS, "requests")):
                if prog is PY_REQUESTS and not have_requests:
                    continue
                r = sandbox(plain, '"%s" -c "%s" "$@"' % (sys.executable, prog), mitm_url)
                h.check_eq(r.stdout.strip(), "200", "%s trusts the minted leaf: %s" % (what, r.stderr[-300:]))
            if have_node:
                r = sandbox(plain, 'node "$@"', js, "tunnel", "mitm.test", str(m.port))
                h.check(" 200 " in r.stdout, "node trusts the minted leaf: %r %s" % (r.stdout, r.stderr))
            dest = os.path.join(al.tmpdir, "clone-mitm")
            r = sandbox(plain, 'GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 git clone -q "$@"',
                        g2.url("mitm.test"), dest)
            h.check_eq(r.returncode, 0, "git clone through the interception via GIT_SSL_CAINFO: %s" % r.stderr)

            d = pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d["verdict"] == "allow",
                                 "tunnel log lines")
            h.check_eq(d.get("client"), "web-1", "the proxy saw the client's token")
            h.check(tok not in al.log_text(), "the token is not in the daemon log")
            al.check_alive()


def main():
    h.require_binaries("airlock", "airlock-broker")
    tmp = tempfile.mkdtemp(prefix="airlock-sandbox-env-")
    try:
        offline(tmp)
        if not h.have_binary("airlock-enforcer"):
            h.skip("airlock-enforcer is not built: the end-to-end half cannot run")
        live(tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])


h.run(main)
