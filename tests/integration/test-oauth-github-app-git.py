#!/usr/bin/env python3
"""A real `git clone` and `git push` through `airlock up` from a sandbox
that holds no credential at all (empty HOME, no credential helper, no
config, prompts off): a github-app secret (adopted with `airlock secret
create --type github-app`) bound to github.com and an allow rule with
--secret make airlock add Basic x-access-token:<installation token> to every
Git request; the smart-HTTP server (git http-backend) accepts only the
token the fake GitHub minted and answers 401 otherwise. The same secret
serves api.github.com as Bearer (curl through the proxy), and an
oauth-client-creds secret is injected as Bearer into its API. Negative
twins: a client whose rule has no --secret gets the server's 401 and git
fails without asking anyone; a token the fake did not mint is refused by
the server; the sandbox's own Authorization never reaches an upstream."""

import base64
import json
import os
import subprocess
import tempfile

import airlock_harness as h
import fake_apps as famod
import origins
import proxytest as pt


def sandbox_env(al, tok, home):
    """What a sandbox has: the proxy with its token and airlock's CA, and
    nothing else: no HOME config, no credential helper, no system config."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
           "HTTPS_PROXY": "http://sandbox:%s@127.0.0.1:%d" % (tok, al.http_port),
           "GIT_SSL_CAINFO": al.ca_cert, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "sandbox", "GIT_AUTHOR_EMAIL": "s@sandbox",
           "GIT_COMMITTER_NAME": "sandbox", "GIT_COMMITTER_EMAIL": "s@sandbox"}
    return env


def git(env, *args, cwd=None):
    return subprocess.run(["git"] + list(args), env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def main():
    tmp = tempfile.mkdtemp(prefix="airlock-gh-git-")
    with famod.open_or_skip(tmp) as fa, h.Airlock(start=False) as al:
        app = fa.new_app(installations=1)

        def minted_installation_token(user, password):
            info = fa.token_info(password)
            return user == "x-access-token" and info.get("kind") == "app" and fa.live(password)

        with origins.GitServer(tmp, fa.testca, auth=minted_installation_token, push=True) as g:
            al.extra_flags += fa.airlock_flags() + pt.pins("github.com", g.port)
            al.start()
            al.wait_ready()
            url = "https://github.com:%d/repo.git" % g.port

            # the operator's side: the App's value, a client, two rules
            value = os.path.join(tmp, "app.json")
            with open(value, "w") as f:
                json.dump({"app_id": app["app_id"], "private_key_file": app["key_path"]}, f)
            p = al.cli("secret", "create", "gh", "--type", "github-app", "--value-file", value)
            h.check_eq(p.returncode, 0, "secret create: %s" % p.stderr)
            h.check("for github.com" in p.stdout, "default host: %r" % p.stdout)
            p = al.cli("secret", "stub", "gh")
            h.check_eq(p.returncode, 1, "no stub for a github-app")
            h.check("needs no placeholder" in p.stderr, "the refusal says why: %r" % p.stderr)
            tok = pt.client(al, "sandbox")
            pt.allow(al, "sandbox", "github.com", "--port", str(g.port), "--secret", "gh")
            pt.allow(al, "sandbox", "api.github.com", "--method", "GET", "--path",
                     "/installation/repositories", "--secret", "gh")
            home = os.path.join(tmp, "home")
            os.makedirs(home)
            env = sandbox_env(al, tok, home)

            # clone, commit, push
            dest = os.path.join(tmp, "clone")
            r = git(env, "clone", "-q", url, dest)
            h.check_eq(r.returncode, 0, "git clone through airlock: %s" % r.stderr)
            with open(os.path.join(dest, "README")) as f:
                h.check_eq(f.read(), "hello through airlock\n", "cloned content")
            with open(os.path.join(dest, "NOTES"), "w") as f:
                f.write("pushed from a sandbox without credentials\n")
            h.check_eq(git(env, "add", "NOTES", cwd=dest).returncode, 0, "git add")
            h.check_eq(git(env, "commit", "-q", "-m", "from the sandbox", cwd=dest).returncode, 0, "commit")
            r = git(env, "push", "-q", "origin", "HEAD", cwd=dest)
            h.check_eq(r.returncode, 0, "git push through airlock: %s" % r.stderr)
            local = git(env, "rev-parse", "HEAD", cwd=dest).stdout.strip()
            h.check_eq(g.head("refs/heads/" + git(env, "rev-parse", "--abbrev-ref", "HEAD",
                                                  cwd=dest).stdout.strip()), local,
                       "the server has the pushed commit")
            h.check(len(g.auths) >= 4, "clone and push requests: %d" % len(g.auths))
            auths = set(g.auths)
            h.check(all(a.startswith("Basic ") for a in auths), "every Git request carried Basic")
            pairs = [base64.b64decode(a[6:]).decode().partition(":") for a in auths]
            h.check(all(minted_installation_token(u, pw) for u, _, pw in pairs),
                    "each one the installation token the fake minted")
            h.check_eq(os.listdir(home), [], "the sandbox HOME stays empty")
            with open(os.path.join(dest, ".git", "config")) as f:
                h.check("x-access-token" not in f.read(), "no credential written into the clone")
            d = pt.wait_decision(al, lambda d: d.get("method") == "POST" and "receive-pack" in
                                 d.get("path", ""), "push decision line")
            h.check_eq(d.get("inject"), "gh", "inject= names the secret")

            # the same secret on the API: Bearer
            r = pt.curl("-x", al.proxy_url(tok), "--cacert", al.ca_cert, "-H",
                        "Authorization: Bearer sandbox-own", "https://api.github.com/installation/repositories")
            h.check_eq(r.returncode, 0, "curl the API: %s" % r.stderr)
            h.check_eq(json.loads(r.stdout).get("total_count"), 1, "API answered: %r" % r.stdout[:200])
            api = fa.calls("api.github.com", "/installation/repositories")[-1]
            auth = [v for k, v in api["headers"] if k.lower() == "authorization"]
            h.check(len(auth) == 1 and auth[0].startswith("Bearer ghs_"), "Bearer installation token")

            # oauth-client-creds through the proxy
            c = fa.new_cc_client()
            cc = os.path.join(tmp, "cc.json")
            with open(cc, "w") as f:
                json.dump({"token_endpoint": "https://auth.idp.test/oauth2/token",
                           "client_id": c["client_id"], "client_secret": c["client_secret"],
                           "scope": "read"}, f)
            p = al.cli("secret", "create", "idp", "--type", "oauth-client-creds", "--host",
                       "api.idp.test", "--value-file", cc)
            h.check_eq(p.returncode, 0, "cc secret: %s" % p.stderr)
            pt.allow(al, "sandbox", "api.idp.test", "--path", "/v1/*", "--secret", "idp")
            r = pt.curl("-x", al.proxy_url(tok), "--cacert", al.ca_cert, "https://api.idp.test/v1/whoami")
            h.check_eq(json.loads(r.stdout or "{}").get("client_id"), c["client_id"],
                       "the IdP's token injected: %r %s" % (r.stdout[:200], r.stderr))
            p = al.cli("secret", "list")
            h.check_eq(p.returncode, 0, "secret list")
            for name in ("gh", "idp"):
                row = famod.secret_row(al, name)
                h.check(row["status"] == "ok" and "expires_at" in row, "health of %s: %r" % (name, row))

            # twin: a rule without --secret -> the server's 401, git fails alone
            tok2 = pt.client(al, "bare")
            # (a path makes airlock look inside, as the rule with a secret does)
            pt.allow(al, "bare", "github.com", "--port", str(g.port), "--path", "/repo.git/*")
            n = len(g.auths)
            r = git(sandbox_env(al, tok2, home), "clone", "-q", url, os.path.join(tmp, "denied"))
            h.check(r.returncode != 0, "no secret: clone fails")
            h.check("terminal prompts disabled" in r.stderr or "401" in r.stderr or
                    "Authentication failed" in r.stderr, "because of the 401: %s" % r.stderr)
            h.check(all(a == "" for a in g.auths[n:]), "no credential reached the server")
            # twin: a token the fake did not mint
            h.check(not minted_installation_token("x-access-token", "ghs_" + "f" * 36),
                    "the server's check refuses other tokens")

            logs = al.log_text()
            for t in fa.tokens:
                h.check(t not in logs, "no token in the log")
            h.check(c["client_secret"] not in logs and "PRIVATE KEY" not in logs, "no secret in the log")
            al.check_alive()


h.run(main)
