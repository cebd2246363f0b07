"""Real clients through interception, each trusting airlock's CA the way a
sandbox would: Python urllib with the ssl default context (plus strict X.509
checks where Python has them: the leaf's key identifiers), Node's https with
NODE_EXTRA_CA_CERTS (Node honours no proxy variable, so the script sends the
CONNECT itself), curl with "Expect: 100-continue" on a POST body (the 100
passes, the body follows), and git clone over an intercepted connection with
a path rule. Twin: git on a path outside the rule fails with 403."""
import json
import os
import ssl
import subprocess
import urllib.request

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

NODE = r"""
const http = require('http'), https = require('https'), tls = require('tls');
const [proxyPort, tok, host, port, path] = process.argv.slice(1);
const auth = 'Basic ' + Buffer.from('proxy:' + tok).toString('base64');
http.request({host: '127.0.0.1', port: Number(proxyPort), method: 'CONNECT', path: host + ':' + port,
              headers: {'Proxy-Authorization': auth}}).on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log('CONNECT ' + res.statusCode); process.exit(1); }
  const agent = new https.Agent();
  agent.createConnection = () => tls.connect({socket, servername: host});
  https.get({host, port: Number(port), path, agent,
             headers: {Authorization: 'Bearer node-placeholder'}}, (r) => {
    let body = '';
    r.on('data', (d) => body += d);
    r.on('end', () => { console.log(JSON.stringify({status: r.statusCode, body})); process.exit(0); });
  }).on('error', (e) => { console.log('ERR ' + e.message); process.exit(1); });
}).end();
"""

SECRET = mt.secret_value("clients")


def main():
    with mt.Setup(names=("origin.test", "git.test")) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "k", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--secret", "k")
        url = "https://origin.test:%d/echo/" % port

        # Python urllib, default context (+ VERIFY_X509_STRICT as 3.13 sets it)
        ctx = ssl.create_default_context(cafile=al.ca_cert)
        if hasattr(ssl, "VERIFY_X509_STRICT"):
            ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        op = urllib.request.build_opener(urllib.request.ProxyHandler({"https": al.proxy_url(tok)}),
                                         urllib.request.HTTPSHandler(context=ctx))
        with op.open(urllib.request.Request(url + "py", headers={"Authorization": "Bearer py"}), timeout=20) as r:
            b = json.loads(r.read())
        h.check(mt.carried(b, "Bearer " + SECRET), "urllib: injected")

        # Node https
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=al.ca_cert)
        p = subprocess.run(["node", "-e", NODE, str(al.http_port), tok, "origin.test", str(port), "/echo/node"],
                           env=env, capture_output=True, text=True, timeout=30)
        h.check_eq(p.returncode, 0, "node: %s" % mt.scrub(p.stdout + p.stderr, SECRET)[-500:])
        out = json.loads(p.stdout.strip().splitlines()[-1])
        h.check_eq(out["status"], 200, "node status")
        h.check(mt.carried(out["body"], "Bearer " + SECRET), "node: injected")

        # curl with Expect: 100-continue
        body = os.path.join(al.tmpdir, "body.bin")
        with open(body, "wb") as f:
            f.write(origins.pattern(3 << 20))
        r = mt.curl(al, tok, "-H", "Expect: 100-continue", "--data-binary", "@" + body, url + "upload")
        h.check_eq(r.returncode, 0, "curl POST with Expect: %s" % mt.scrub(r.stderr, SECRET))
        b = json.loads(r.stdout)
        h.check_eq(b["body_len"], 3 << 20, "the body followed the 100 Continue")

        # git clone with a path rule on an intercepted connection
        with origins.GitServer(al.tmpdir, s.ca) as g:
            al.stop()
            al.extra_flags += pt.pins("git.test", g.port)
            al.start()
            pt.allow(al, "web-1", "git.test", "--port", str(g.port), "--path", "/repo.git/*")
            genv = dict(os.environ, HTTPS_PROXY="http://sandbox:%s@127.0.0.1:%d" % (tok, al.http_port),
                        GIT_SSL_CAINFO=al.ca_cert, GIT_CONFIG_NOSYSTEM="1", HOME=al.tmpdir,
                        GIT_TERMINAL_PROMPT="0")
            genv.pop("NO_PROXY", None)
            genv.pop("no_proxy", None)
            dest = os.path.join(al.tmpdir, "clone")
            r = subprocess.run(["git", "clone", "-q", g.url("git.test"), dest], env=genv, capture_output=True,
                               text=True, timeout=60)
            h.check_eq(r.returncode, 0, "git clone through interception: %s" % r.stderr)
            with open(os.path.join(dest, "README")) as f:
                h.check_eq(f.read(), "hello through airlock\n", "cloned content")
            d = pt.wait_decision(al, lambda d: d.get("host") == "git.test" and "git-upload-pack" in d.get("path", ""),
                                 "inner git request logged with its path")
            h.check_eq(d["verdict"], "allow", "git request allowed")
            r = subprocess.run(["git", "clone", "-q", "https://git.test:%d/other.git" % g.port,
                                os.path.join(al.tmpdir, "c2")], env=genv, capture_output=True, text=True, timeout=60)
            h.check(r.returncode != 0 and "403" in r.stderr, "twin: a path outside the rule: %s" % r.stderr)
        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
