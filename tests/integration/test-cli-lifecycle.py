"""The whole client / secret / rule life cycle through the `airlock` CLI:
client create prints only the token (bare, once); lists in tables (one token
per column: every row splits into as many fields as the header, as awk
would) and --json (the API's bare JSON array); secret create from stdin
(--value-file -), from a file (--value-file and the seed's --from-file), and
with --value (which warns); allow with every flag, rules in declaration
order, surgical and bulk revoke, secret delete reports the rules it affects
and `rules` marks them secret-missing, client delete drops the client's
rules. No token or secret value ever shows up in any output, the daemon log
or the state dir."""

import json
import os
import re

import airlock_harness as h

TOKEN_RE = re.compile(r"^alk_[A-Za-z0-9_-]{43}$")
STDIN_VALUE = "sk-stdin-f00dfeedcafe0001"
FILE_VALUE = "svc-user:sk-file-f00dfeedcafe0002"
ARGV_VALUE = "sk-argv-f00dfeedcafe0003"


def ok(al, *args, input=None):
    p = al.cli(*args, input=input)
    h.check(p.returncode == 0, "airlock %s: exit %d, stderr %r" % (" ".join(args), p.returncode,
                                                                  p.stderr))
    return p


def table(stdout):
    """A CLI table split as awk splits it; every row has the header's width."""
    rows = [ln.split() for ln in stdout.splitlines()]
    for r in rows[1:]:
        h.check_eq(len(r), len(rows[0]), "fields in table row %r (header %r)" % (r, rows[0]))
    return rows


def main():
    outputs = []  # every stdout/stderr the CLI wrote, for the leak checks

    def run_ok(*args, input=None):
        p = ok(al, *args, input=input)
        outputs.extend([p.stdout, p.stderr])
        return p

    with h.Airlock() as al:
        # client create: the token, bare, alone on stdout; a hint on stderr
        p = run_ok("client", "create", "web-1")
        token = p.stdout.strip()
        h.check(TOKEN_RE.match(token), "client create stdout is not a bare token: %r" % p.stdout)
        h.check_eq(p.stdout, token + "\n", "client create stdout")
        h.check(token not in p.stderr, "the token is repeated on stderr")
        h.check(p.stderr.startswith("airlock: "), "client create hint: %r" % p.stderr)
        token2 = run_ok("client", "create", "build-2").stdout.strip()
        h.check(token2 != token and TOKEN_RE.match(token2), "second token")

        # client list: a table and the API JSON; never a token
        p = run_ok("client", "list")
        lines = table(p.stdout)
        h.check(lines[0] == ["NAME", "RULES", "CREATED", "ON-DENY", "BUDGET"], "client list header: %r" % lines)
        h.check(lines[1][3] == "deny", "on-deny shown, deny by default: %r" % lines)
        h.check(lines[1][:2] == ["web-1", "0"], "client list row: %r" % lines)
        h.check(lines[2][:2] == ["build-2", "0"], "client list row 2: %r" % lines)
        p = run_ok("client", "list", "--json")
        j = json.loads(p.stdout)
        h.check(isinstance(j, list), "client list --json is a bare array: %r" % j)
        h.check_eq([c["name"] for c in j], ["web-1", "build-2"], "client list --json")
        h.check(all("token" not in c for c in j), "a token in client list --json")

        # secrets: stdin, file, argv (with its warning)
        p = run_ok("secret", "create", "llm", "--host", "api.example.com",
                   "--value-file", "-", input=STDIN_VALUE + "\n")
        h.check("created secret llm" in p.stdout, "secret create stdout: %r" % p.stdout)
        h.check("warning" not in p.stderr, "--value-file warned: %r" % p.stderr)
        vf = os.path.join(al.tmpdir, "value.txt")
        with open(vf, "w") as f:
            f.write(FILE_VALUE + "\n")
        run_ok("secret", "create", "basic-1", "--host", "*.example.org", "--type", "basic",
               "--from-file", vf)
        p = run_ok("secret", "create", "argv-1", "--host", "x.example.net", "--value", ARGV_VALUE)
        h.check("warning" in p.stderr and "history" in p.stderr,
                "--value did not warn about shell history: %r" % p.stderr)
        p = run_ok("secret", "create", "argv-1", "--host", "y.example.net", "--value",
                   ARGV_VALUE + "x", "--force")
        p = run_ok("secret", "list")
        rows = table(p.stdout)
        h.check_eq(rows[0], ["NAME", "TYPE", "HOST", "STATUS", "CREATED", "EXPIRES"],
                   "secret list header")
        names = {r[0]: r for r in rows[1:]}
        h.check_eq(sorted(names), ["argv-1", "basic-1", "llm"], "secret list names")
        h.check_eq(names["llm"][1:3], ["bearer", "api.example.com"], "llm row")
        h.check_eq(names["basic-1"][1:3], ["basic", "*.example.org"], "basic-1 row")
        h.check_eq(names["argv-1"][2], "y.example.net", "--force replaced argv-1")
        j = json.loads(run_ok("secret", "list", "--json").stdout)
        h.check(isinstance(j, list) and len(j) == 3, "secret list --json: %r" % j)
        for s in j:
            h.check("value" not in s, "a value field in secret list --json: %r" % s)

        # allow: rules in declaration order with what was asked
        p = run_ok("allow", "web-1", "--host", "api.example.com", "--method", "get",
                   "--path", "/v1/*", "--path", "/v2/models", "--secret", "llm", "--ttl", "1h")
        h.check(re.match(r"rule \d+: web-1 may reach api\.example\.com", p.stdout),
                "allow output: %r" % p.stdout)
        run_ok("allow", "web-1", "--host", "API.Example.COM.")
        run_ok("allow", "web-1", "--host", "db.example.com", "--port", "5432", "--passthrough")
        j = json.loads(run_ok("allow", "web-1", "--host", "*.github.com", "--port", "443",
                              "--json").stdout)
        h.check(isinstance(j.get("id"), int), "allow --json has no id: %r" % j)
        run_ok("allow", "build-2", "--host", "deb.debian.org")

        rules = json.loads(run_ok("rules", "web-1", "--json").stdout)
        h.check(isinstance(rules, list), "rules --json is a bare array: %r" % rules)
        h.check_eq([r["host"] for r in rules],
                   ["api.example.com", "api.example.com", "db.example.com", "*.github.com"],
                   "rules in declaration order")
        ids = [r["id"] for r in rules]
        h.check(ids == sorted(ids) and len(set(ids)) == 4, "rule ids: %r" % ids)
        r0 = rules[0]
        h.check_eq(r0["methods"], ["GET"], "methods upper-cased")
        h.check_eq(r0["paths"], ["/v1/*", "/v2/models"], "paths")
        h.check_eq(r0.get("secret"), "llm", "secret")
        h.check(r0.get("expires") and r0.get("expires") == r0.get("expires_at"),
                "ttl rule without expires: %r" % r0)
        h.check_eq(rules[2]["ports"], [5432], "passthrough port")
        h.check(rules[2]["passthrough"] is True, "passthrough flag")

        p = run_ok("rules", "web-1")
        lines = table(p.stdout)
        h.check_eq(lines[0], ["ID", "HOST", "PORTS", "METHODS", "PATHS", "ACTION", "SECRET",
                              "EXPIRES", "STATUS"], "rules header")
        h.check_eq(len(lines), 5, "rules table rows")
        h.check_eq(lines[1][1:], ["api.example.com", "80,443", "GET", "/v1/*,/v2/models",
                                  "inject", "llm", r0["expires"], "active"], "rules row 1")
        h.check_eq(lines[2][1:], ["api.example.com", "80,443", "any", "any", "allow", "-",
                                  "never", "active"], "rules row 2")
        h.check_eq(lines[3][5:7], ["passthrough", "-"], "rules row 3: %r" % lines[3])
        j = json.loads(run_ok("client", "list", "--json").stdout)
        h.check_eq({c["name"]: c["rules"] for c in j}, {"web-1": 4, "build-2": 1},
                   "rule counts in client list")

        # revoke, surgical: only the exact tuple (TTL is not part of it)
        p = al.cli("revoke", "web-1", "--host", "api.example.com", "--method", "POST")
        h.check_eq(p.returncode, 1, "surgical revoke of a tuple that does not exist")
        p = run_ok("revoke", "web-1", "--host", "api.example.com", "--method", "GET",
                   "--path", "/v1/*", "--path", "/v2/models", "--secret", "llm")
        h.check(("revoked rule %d " % ids[0]) in p.stdout, "surgical revoke: %r" % p.stdout)
        left = [r["id"] for r in json.loads(run_ok("rules", "web-1", "--json").stdout)]
        h.check_eq(left, ids[1:], "after surgical revoke")

        # revoke, bulk by host (add one more rule for that host first)
        run_ok("allow", "web-1", "--host", "api.example.com", "--method", "POST")
        p = run_ok("revoke", "web-1", "--host", "api.example.com")
        h.check("revoked rules" in p.stdout, "bulk revoke: %r" % p.stdout)
        left = [r["host"] for r in json.loads(run_ok("rules", "web-1", "--json").stdout)]
        h.check_eq(left, ["db.example.com", "*.github.com"], "after bulk revoke")
        p = al.cli("revoke", "web-1", "--host", "api.example.com")
        h.check_eq(p.returncode, 1, "bulk revoke with nothing left")

        # a secret in use can be deleted; the rule is reported
        rid = json.loads(run_ok("allow", "build-2", "--host", "x.example.net", "--secret", "argv-1",
                                "--json").stdout)["id"]
        p = run_ok("secret", "delete", "argv-1")
        h.check("deleted secret argv-1" in p.stdout, "secret delete: %r" % p.stdout)
        h.check(("rules %d name secret argv-1" % rid) in p.stderr,
                "secret delete did not report the affected rule: %r" % p.stderr)
        rows = table(run_ok("rules", "build-2").stdout)
        h.check_eq([r[6:] for r in rows[1:]], [["-", "never", "active"],
                                               ["argv-1", "never", "secret-missing"]],
                   "rules marks the rule whose secret is gone")

        # client delete drops the client's rules
        p = run_ok("client", "delete", "web-1")
        h.check("deleted client web-1 (2 rules dropped)" in p.stdout,
                "client delete: %r" % p.stdout)
        p = al.cli("rules", "web-1")
        h.check_eq(p.returncode, 1, "rules of a deleted client")
        j = json.loads(run_ok("client", "list", "--json").stdout)
        h.check_eq([c["name"] for c in j], ["build-2"], "clients after delete")

        al.check_alive()
        al.stop()

        # Nothing secret anywhere: outputs, the daemon log, the state dir.
        text = "\n".join(outputs)
        for secret in (STDIN_VALUE, FILE_VALUE, ARGV_VALUE):
            h.check(secret not in text, "%s... in the CLI's output" % secret[:8])
        for tok in (token, token2):
            h.check_eq(text.count(tok), 1, "times the token %s... was printed" % tok[:8])
        for secret in (STDIN_VALUE, FILE_VALUE, ARGV_VALUE, token, token2):
            h.check(secret not in al.log_text(), "%s... in the daemon log" % secret[:8])
            h.check_eq(h.files_containing(al.state_dir, secret), [],
                       "%s... in the state dir" % secret[:8])


h.run(main)
