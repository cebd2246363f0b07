"""Exit status of every `airlock` command (docs/airlock.1, EXIT STATUS): 0 done; 1 refused, with
the API's one-line reason on stderr as "airlock: <error>" and nothing on
stdout; 2 usage error, one line on stderr and nothing on stdout (a bad value the API refuses too, naming the
flag as typed, not the API's JSON path). A refusal or
a usage error changes nothing: the listings are the same before and after."""

import json

import airlock_harness as h

# (args, expected status, text the stderr line must contain)
USAGE = [
    (["client", "create"], "missing NAME"),
    (["client", "create", "a", "b"], "unexpected argument"),
    (["client", "list", "extra"], "unexpected argument"),
    (["client", "delete"], "missing NAME"),
    (["client", "list", "--json=yes"], "takes no value"),
    (["secret", "create", "s1", "--value", "v"], "--host"),
    (["secret", "create", "s1", "--host", "h.example.com"], "exactly one"),
    (["secret", "create", "s1", "--host", "h.example.com", "--value", "v",
      "--value-file", "-"], "exactly one"),
    (["secret", "create", "--host", "h.example.com", "--value-file", "-"], "missing NAME"),
    (["secret", "create", "s1", "--host", "h.example.com", "--value-file", "-",
      "--write-back"], "--write-back"),
    (["secret", "create", "s1", "--type", "oauth-claude", "--value-file", "-",
      "--write-back"], "--write-back"),
    (["secret", "list", "--frob"], "unknown option"),
    (["secret", "stub"], "missing NAME"),
    (["oauth", "xai", "--port", "0"], "--port"),
    (["oauth", "xai", "extra"], "unexpected argument"),
    (["secret", "delete"], "missing NAME"),
    (["allow", "web-1"], "--host"),
    (["allow", "--host", "a.example.com"], "missing CLIENT"),
    (["allow", "web-1", "--host", "a.example.com", "--port", "0"], "--port"),
    (["allow", "web-1", "--host", "a.example.com", "--port", "70000"], "--port"),
    (["allow", "web-1", "--host", "a.example.com", "--port", "x"], "--port"),
    (["allow", "web-1", "--host", "a.example.com", "--ttl", "0s"], "--ttl"),
    (["allow", "web-1", "--host", "a.example.com", "--ttl", "400d"], "--ttl"),
    (["allow", "web-1", "--host", "a.example.com", "--ttl", "soon"], "--ttl"),
    (["allow", "web-1", "--host"], "needs a value"),
    (["rules"], "missing CLIENT"),
    (["rules", "a", "b"], "unexpected argument"),
    (["revoke", "web-1"], "--host"),
    (["revoke", "web-1", "--host", "a.example.com", "--ttl", "1h"], "unknown option"),
    (["ca", "init", "extra"], "unexpected argument"),
    (["ca", "cert", "--force"], "unknown option"),
    (["ca"], "missing subcommand"),
    (["up", "--mode", "loose"], "--mode"),
    (["up", "--http-port", "0"], "--http-port"),
    (["up", "--bind", "localhost"], "--bind"),
    (["up", "--deny-cidr", "10.0.0.1/8"], "--deny-cidr"),
    (["up", "--resolve", "a.example.com:443"], "--resolve"),
    (["up", "--upstream-ca", "/nonexistent/ca.pem"], "--upstream-ca"),
    (["up", "--log-format", "xml"], "--log-format"),
    (["up", "--mode", "strict", "--mode", "audit"], "twice"),
    (["up", "positional"], "unexpected argument"),
    (["sandbox", "env", "web-1", "--frob"], "unknown option"),
    (["sandbox", "env", "web-1", "--ca-path", "/ca.pem"], "--token"),
    (["sandbox", "env", "web-1", "--token", "t"], "--ca-path"),
    (["sandbox", "env", "web-1", "--token", "t", "--ca-path", "/ca.pem", "--shell", "fish"], "--shell"),
    (["sandbox", "env", "web-1", "--token", "t", "--ca-path", "/ca.pem", "--proxy", "socks5://h:1"],
     "--proxy"),
    (["audit", "suggest", "--since", "soon"], "--since"),
    (["audit", "suggest", "a", "b"], "unexpected argument"),
    (["connect"], "HOST:PORT"),
    (["connect", "--frob", "db.example.com:5432"], "unknown option"),
    (["connect", "db.example.com:5432", "other.example.com:22"], "one HOST:PORT"),
    (["nope"], "unknown command"),
    # a value the API refuses is still a usage error, named by its flag (not .paths[0])
    (["secret", "create", "s3", "--host", "a.example.com", "--type", "weird",
      "--value-file", "-"], "bad --type 'weird'"),
    (["secret", "create", "s2", "--host", "bad host!", "--value-file", "-"], "bad --host 'bad host!'"),
    (["allow", "web-1", "--host", "bad host!"], "bad --host 'bad host!'"),
    (["allow", "web-1", "--host", "a..example.com"], "bad --host 'a..example.com'"),
    (["allow", "web-1", "--host", "a.example.com", "--path", "no-slash"], "bad --path 'no-slash'"),
    (["allow", "web-1", "--host", "a.example.com", "--method", "G ET"], "bad --method 'G ET'"),
]

REFUSED = [
    (["client", "create", "web-1"], "exists"),                       # duplicate
    (["client", "create", "bad name!"], ""),                           # bad name
    (["client", "delete", "nobody"], ""),                              # 404
    (["secret", "create", "llm", "--host", "api.example.com", "--value-file", "-"], ""),  # dup
    (["secret", "create", "s4", "--host", "a.example.com", "--value-file", "/nonexistent/f"],
     "cannot read"),
    (["secret", "delete", "nothing"], ""),
    (["allow", "nobody", "--host", "a.example.com"], ""),               # unknown client
    (["allow", "web-1", "--host", "a.example.com", "--secret", "nothing"], ""),
    (["allow", "web-1", "--host", "a.example.com", "--passthrough", "--secret", "llm"], ""),
    (["allow", "web-1", "--host", "a.example.com", "--passthrough", "--method", "GET"], ""),
    (["allow", "web-1", "--host", "a.example.com", "--passthrough", "--path", "/x"], ""),
    (["rules", "nobody"], ""),
    (["revoke", "web-1", "--host", "never.example.com"], ""),           # bulk, nothing
    (["revoke", "web-1", "--host", "api.example.com", "--method", "PUT"], ""),  # surgical
    (["ca", "init"], "exists"),
    (["secret", "stub", "nothing"], ""),
    (["connect", "db.example.com:5432"], "HTTPS_PROXY is not set"),
    (["audit", "suggest", "--log", "/nonexistent/airlock.log"], "cannot read"),
]


def snapshot(al):
    c = json.loads(al.cli("client", "list", "--json").stdout)
    s = json.loads(al.cli("secret", "list", "--json").stdout)
    r = json.loads(al.cli("rules", "web-1", "--json").stdout)
    return c, s, r


def main():
    with h.Airlock() as al:
        # something to collide with and to keep unchanged
        h.check_eq(al.cli("client", "create", "web-1").returncode, 0, "client create")
        p = al.cli("secret", "create", "llm", "--host", "api.example.com", "--value-file", "-",
                   input="tok-0123456789")
        h.check_eq(p.returncode, 0, "secret create: " + p.stderr)
        p = al.cli("allow", "web-1", "--host", "api.example.com", "--method", "GET")
        h.check_eq(p.returncode, 0, "allow: " + p.stderr)
        before = snapshot(al)

        for args, want in USAGE:
            p = al.cli(*args, input="v")
            what = "airlock " + " ".join(args)
            h.check_eq(p.returncode, 2, what + " (usage error) exit status; stderr %r" % p.stderr)
            h.check_eq(p.stdout, "", what + " stdout")
            h.check(p.stderr.startswith("airlock: ") and p.stderr.count("\n") == 1,
                    "%s: not one line on stderr: %r" % (what, p.stderr))
            h.check(want in p.stderr, "%s: stderr %r does not say %r" % (what, p.stderr, want))

        no_proxy_env = {"HTTPS_PROXY": "", "https_proxy": ""}  # for connect
        for args, want in REFUSED:
            p = al.cli(*args, input="some-value-123", env=no_proxy_env)
            what = "airlock " + " ".join(args)
            h.check_eq(p.returncode, 1, what + " (refused) exit status; stderr %r" % p.stderr)
            h.check_eq(p.stdout, "", what + " stdout")
            h.check(p.stderr.startswith("airlock: ") and p.stderr.count("\n") == 1,
                    "%s: not one line on stderr: %r" % (what, p.stderr))
            h.check(want in p.stderr, "%s: stderr %r does not say %r" % (what, p.stderr, want))

        # The API's own message is what the CLI prints.
        st, body = al.api("POST", "/proxy/v1/clients", {"name": "web-1"})
        p = al.cli("client", "create", "web-1")
        h.check_eq(p.stderr, "airlock: %s\n" % body["error"], "refusal text is the API's error")

        h.check_eq(snapshot(al), before, "a refused or malformed command changed the state")

        # and the successes, once each, exit 0
        for args in (["client", "list"], ["secret", "list"], ["rules", "web-1"], ["ca", "cert"],
                     ["client", "list", "--json"], ["secret", "list", "--json"],
                     ["rules", "web-1", "--json"]):
            p = al.cli(*args)
            h.check_eq(p.returncode, 0, "airlock %s: %r" % (" ".join(args), p.stderr))
            h.check_eq(p.stderr, "", "airlock %s stderr" % " ".join(args))
        al.check_alive()


h.run(main)
