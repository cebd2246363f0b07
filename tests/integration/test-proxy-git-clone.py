"""git clone over HTTPS through a blind CONNECT tunnel (a bare host rule on
the origin's port): git speaks TLS end to end with the smart-HTTP server
(its own test CA), the proxy only splices bytes. Twin: without the rule the
clone fails with the proxy's 403."""
import os
import subprocess

import airlock_harness as h
import origins
import proxytest as pt


def clone(al, tok, url, dest, ca):
    env = dict(os.environ, HTTPS_PROXY="http://sandbox:%s@127.0.0.1:%d" % (tok, al.http_port),
               GIT_SSL_CAINFO=ca.ca_cert, GIT_CONFIG_NOSYSTEM="1", HOME=al.tmpdir,
               GIT_TERMINAL_PROMPT="0")
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return subprocess.run(["git", "clone", "-q", url, dest], env=env, capture_output=True, text=True,
                          timeout=60)


def main():
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir)
        with origins.GitServer(al.tmpdir, ca) as g:
            al.extra_flags += pt.pins("git.test", g.port)
            al.start()
            al.wait_ready()
            tok = pt.client(al, "web-1")
            r = clone(al, tok, g.url("git.test"), os.path.join(al.tmpdir, "denied"), ca)
            h.check(r.returncode != 0, "clone without a rule must fail")
            h.check("403" in r.stderr, "the proxy's 403 shows: %s" % r.stderr)
            pt.allow(al, "web-1", "git.test", "--port", str(g.port))
            dest = os.path.join(al.tmpdir, "clone")
            for attempt in range(20):
                r = clone(al, tok, g.url("git.test"), dest, ca)
                if r.returncode == 0:
                    break
            h.check_eq(r.returncode, 0, "git clone through the tunnel: %s" % r.stderr)
            with open(os.path.join(dest, "README")) as f:
                h.check_eq(f.read(), "hello through airlock\n", "cloned content")
            d = pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d["verdict"] == "allow",
                                 "tunnel log line")
            h.check_eq(d.get("host"), "git.test", "tunnel host logged")
            al.check_alive()


h.run(main)
