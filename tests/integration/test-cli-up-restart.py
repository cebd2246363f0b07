"""A restart of `airlock up` keeps everything made through the CLI: clients
(and that their names are taken), secrets (sealed, still listed with their
host and type), rules in declaration order with their ids, and the CA. Run
with SIGTERM then SIGINT stops. The negative twin: what was deleted before the
restart stays deleted after it."""

import json

import airlock_harness as h


def listing(al):
    out = {}
    for args in (("client", "list", "--json"), ("secret", "list", "--json"),
                 ("rules", "web-1", "--json"), ("rules", "build-2", "--json")):
        p = al.cli(*args)
        h.check_eq(p.returncode, 0, "airlock %s: %r" % (" ".join(args), p.stderr))
        out[args] = json.loads(p.stdout)
    return out


def ok(al, *args, input=None):
    p = al.cli(*args, input=input)
    h.check_eq(p.returncode, 0, "airlock %s: %r" % (" ".join(args), p.stderr))
    return p


def main():
    with h.Airlock() as al:
        ok(al, "client", "create", "web-1")
        ok(al, "client", "create", "build-2")
        ok(al, "client", "create", "gone-3")
        ok(al, "secret", "create", "llm", "--host", "api.example.com", "--value-file", "-",
           input="sk-restart-0001")
        ok(al, "secret", "create", "gh", "--host", "*.github.com", "--type", "basic",
           "--value-file", "-", input="u:p-restart-0002")
        ok(al, "secret", "create", "old", "--host", "old.example.com", "--value-file", "-",
           input="sk-old")
        ok(al, "allow", "web-1", "--host", "api.example.com", "--secret", "llm", "--method", "POST",
           "--path", "/v1/*")
        ok(al, "allow", "web-1", "--host", "*.github.com", "--secret", "gh")
        ok(al, "allow", "web-1", "--host", "db.example.com", "--port", "5432", "--passthrough")
        ok(al, "allow", "web-1", "--host", "api.example.com", "--ttl", "7d")
        ok(al, "allow", "build-2", "--host", "deb.debian.org", "--method", "GET")
        ok(al, "allow", "build-2", "--host", "gone.example.com")
        # deletions that must stay deleted
        ok(al, "client", "delete", "gone-3")
        ok(al, "secret", "delete", "old")
        ok(al, "revoke", "build-2", "--host", "gone.example.com")
        ca_before = ok(al, "ca", "cert").stdout
        before = listing(al)

        for sig in ("SIGTERM", "SIGINT"):
            import signal
            al.restart(getattr(signal, sig))
            after = listing(al)
            for k in before:
                h.check_eq(after[k], before[k], "after a %s restart, airlock %s" % (sig, " ".join(k)))
            h.check_eq(ok(al, "ca", "cert").stdout, ca_before, "CA after restart")
            p = al.cli("client", "create", "web-1")
            h.check_eq(p.returncode, 1, "web-1 is still taken after restart")
            p = al.cli("rules", "gone-3")
            h.check_eq(p.returncode, 1, "a deleted client came back")
            names = [s["name"] for s in after[("secret", "list", "--json")]]
            h.check("old" not in names, "a deleted secret came back")
            hosts = [r["host"] for r in after[("rules", "build-2", "--json")]]
            h.check("gone.example.com" not in hosts, "a revoked rule came back")

        # ids keep growing, never reused, after a restart
        ids = [r["id"] for k in (("rules", "web-1", "--json"), ("rules", "build-2", "--json"))
               for r in before[k]]
        j = json.loads(ok(al, "allow", "build-2", "--host", "new.example.com", "--json").stdout)
        h.check(j["id"] > max(ids) + 0, "a rule id was reused after restart: %r" % j["id"])
        al.check_alive()


h.run(main)
