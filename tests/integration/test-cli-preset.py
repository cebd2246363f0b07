#!/usr/bin/env python3
"""Presets are data in the tree and turn into ordinary rules. `airlock
preset list` names every file of presets/; `preset show NAME --json` is
that file as compiled in (the build tree and an installed airlock know the
same presets), and `show` prints the allow commands with a comment each;
`allow --preset debian-apt` adds its rules in order, on the preset's ports,
listed by `airlock rules` and removed by `revoke`; `--ttl` applies to each.
Negative twins: an unknown preset, a secret for a preset that takes none,
--preset with --path, and a secret that does not exist are refused and add
nothing."""

import json
import os

import airlock_harness as h


def main():
    names = sorted(f[:-5] for f in os.listdir(os.path.join(h.srcdir(), "presets")) if f.endswith(".json"))
    h.check(len(names) >= 8, "the presets are in the tree: %r" % names)
    with h.Airlock(enforcer=False) as al:
        p = al.cli("preset", "list")
        h.check_eq(p.returncode, 0, "preset list: %s" % p.stderr)
        listed = sorted(ln.split()[0] for ln in p.stdout.splitlines()[1:])
        h.check_eq(listed, names, "list names every file")
        for n in names:
            p = al.cli("preset", "show", n, "--json")
            h.check_eq(p.returncode, 0, "show %s --json: %s" % (n, p.stderr))
            with open(os.path.join(h.srcdir(), "presets", n + ".json")) as f:
                h.check_eq(json.loads(p.stdout), json.load(f), "%s compiled in as in the tree" % n)
            p = al.cli("preset", "show", n)
            cmds = [ln for ln in p.stdout.splitlines() if ln.startswith("airlock allow")]
            h.check_eq(len(cmds), len(json.load(open(os.path.join(h.srcdir(), "presets", n + ".json")))["rules"]),
                       "%s: one command per rule" % n)
        p = al.cli("preset", "show", "codex")
        h.check("# left out" in p.stdout and "telemetry" in p.stdout, "show says what is left out")

        al.api("POST", "/proxy/v1/clients", {"name": "sb"})
        for args, code in ((["--preset", "no-such"], 1), (["--preset", "debian-apt", "--secret", "s"], 1),
                           (["--preset", "debian-apt", "--path", "/x"], 2),
                           (["--preset", "npm-registry", "--secret", "absent"], 1)):
            p = al.cli("allow", "sb", *args)
            h.check_eq(p.returncode, code, "allow %s: %s" % (args, p.stderr))
        h.check_eq(al.api("GET", "/proxy/v1/clients/sb")[1], [], "the twins added nothing")

        p = al.cli("allow", "sb", "--preset", "debian-apt", "--ttl", "1h")
        h.check_eq(p.returncode, 0, "allow --preset debian-apt: %s" % p.stderr)
        rules = al.api("GET", "/proxy/v1/clients/sb")[1]
        h.check_eq([(r["host"], r["ports"], r["methods"]) for r in rules],
                   [("deb.debian.org", [80, 443], ["GET", "HEAD"]),
                    ("security.debian.org", [80, 443], ["GET", "HEAD"])], "the preset's rules, in order")
        h.check(all(r.get("expires") for r in rules), "--ttl on each rule")
        p = al.cli("rules", "sb")
        h.check("deb.debian.org" in p.stdout, "listed by airlock rules")
        p = al.cli("revoke", "sb", "--host", "deb.debian.org")
        h.check_eq(p.returncode, 0, "revoke: %s" % p.stderr)
        h.check_eq(len(al.api("GET", "/proxy/v1/clients/sb")[1]), 1, "revoked like any rule")


h.run(main)
