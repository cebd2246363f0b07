"""`--help` on every command and subcommand of `airlock`: usage on stdout
(starting "Usage: airlock <command>"), nothing on stderr, exit 0, and the text
names every flag the command takes (docs/airlock.1). `-h` and the groups' help work
too. The negative twin: an unknown command, subcommand or option is a usage
error (exit 2, one line on stderr, nothing on stdout). No daemon is needed:
help never talks to the broker."""

import os
import subprocess
import tempfile

import airlock_harness as h

# command words -> flags its help must mention
COMMANDS = {
    ("up",): ["--bind", "--http-port", "--https-port", "--state-dir", "--mode", "--deny-cidr",
              "--san", "--seal-key-file", "--resolve", "--upstream-ca", "--log-format",
              "--keyring", "--debug", "--workers", "--max-head-bytes", "--max-headers",
              "--head-timeout", "--idle-timeout", "--connect-timeout", "--upstream-idle-timeout",
              "--max-conns-per-client", "--max-conns"],
    ("ca", "init"): ["--state-dir", "--force"],
    ("ca", "cert"): ["--url", "--state-dir"],
    ("client", "create"): ["NAME", "--url"],
    ("client", "list"): ["--json"],
    ("client", "delete"): ["NAME"],
    ("secret", "create"): ["--host", "--type", "--value-file", "--value", "--force",
                           "--write-back"],
    ("secret", "list"): ["--json"],
    ("secret", "delete"): ["NAME"],
    ("secret", "stub"): ["NAME"],
    ("allow",): ["--host", "--path", "--method", "--port", "--ttl", "--secret", "--passthrough"],
    ("rules",): ["CLIENT", "--json"],
    ("revoke",): ["--host", "--method", "--path"],
    ("oauth", "xai"): ["--port", "--device", "--timeout"],
    ("sandbox", "env"): ["--token", "--ca-path", "--shell", "--proxy"],
    ("connect",): ["HOST:PORT", "--proxy-cacert"],
    ("audit", "suggest"): ["--since", "--log", "CLIENT"],
}
GROUPS = {
    "ca": ["init", "cert"],
    "client": ["create", "list", "delete"],
    "secret": ["create", "list", "delete", "stub"],
    "oauth": ["xai"],
    "sandbox": ["env"],
    "audit": ["suggest"],
}


def main():
    h.require_binaries("airlock")
    tmp = tempfile.mkdtemp(prefix="airlock-help-")
    # A socket path where nothing listens: help must not need the broker.
    env = dict(os.environ, AIRLOCK_URL=os.path.join(tmp, "none.sock"),
               AIRLOCK_STATE_DIR=os.path.join(tmp, "state"))

    def cli(*args):
        return subprocess.run([h.binary("airlock")] + list(args), capture_output=True,
                              text=True, env=env, timeout=30)

    for words, flags in COMMANDS.items():
        for help_flag in ("--help", "-h"):
            p = cli(*words, help_flag)
            what = "airlock %s %s" % (" ".join(words), help_flag)
            h.check_eq(p.returncode, 0, what + " exit status")
            h.check_eq(p.stderr, "", what + " stderr")
            h.check(p.stdout.startswith("Usage: airlock " + " ".join(words)),
                    "%s: stdout does not start with its usage: %r" % (what, p.stdout[:80]))
            for f in flags:
                h.check(f in p.stdout, "%s does not mention %s" % (what, f))
        # --help after other arguments still wins (and changes nothing)
        p = cli(*words, "some-arg", "--help")
        h.check_eq(p.returncode, 0, "airlock %s some-arg --help" % " ".join(words))

    for group, subs in GROUPS.items():
        for help_arg in ("--help", "-h", "help"):
            p = cli(group, help_arg)
            what = "airlock %s %s" % (group, help_arg)
            h.check_eq(p.returncode, 0, what)
            h.check_eq(p.stderr, "", what + " stderr")
            for s in subs:
                h.check(s in p.stdout, "%s does not list %s" % (what, s))

    for args in (["--help"], ["-h"], ["help"]):
        p = cli(*args)
        h.check_eq(p.returncode, 0, "airlock %s" % args[0])
        for c in ("up", "ca", "client", "secret", "allow", "rules", "revoke"):
            h.check(("  %s " % c) in p.stdout, "airlock %s does not list %s" % (args[0], c))
    p = cli("--version")
    h.check(p.returncode == 0 and p.stdout.startswith("airlock "), "--version: %r" % p.stdout)

    # negative twin: usage errors
    for args in (["frobnicate"], ["client"], ["client", "frob"], ["client", "list", "--frob"],
                 ["rules", "--json"], ["--frob"], [], ["allow", "web-1", "--host"],
                 ["up", "--no-such-flag"]):
        p = cli(*args)
        what = "airlock %s" % " ".join(args)
        h.check_eq(p.returncode, 2, what + " exit status")
        h.check_eq(p.stdout, "", what + " stdout")
        h.check(p.stderr.startswith("airlock: ") and p.stderr.count("\n") == 1,
                "%s: not one line on stderr: %r" % (what, p.stderr))
    h.check(not os.path.exists(os.path.join(tmp, "state")), "help or a usage error made state")
    os.rmdir(tmp)


h.run(main)
