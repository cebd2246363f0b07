#!/usr/bin/env python3
"""Every `airlock up` flag is a key of the config file, and the two agree,
derived from the one flag table (tests/unit/test-flags --json): a file
holding every key with a good value shows each in `airlock up --config F
--print-config` as "KEY = VALUE  # F:LINE"; the same flags on the command
line override the file ("# command line"; a repeatable one replaces the
file's list); with neither, "# default". Negative twins: an unknown key, a
command-line-only key (--banner, --config) and a bad value are refused with
exit 2, FILE:LINE and the key, and nothing starts. The shipped
etc/airlock.conf names every key."""

import json
import os
import subprocess
import tempfile

import airlock_harness as h


def table():
    out = subprocess.run([h.binary("tests/unit/test-flags"), "--json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def sample(row, tmp, second=False):
    t = row["type"]
    if t == "bool":
        return None
    if t == "path":
        return os.path.join(tmp, ("b-" if second else "a-") + row["name"])
    if t in ("file", "program"):
        return h.binary("airlock-enforcer") if second else h.binary("airlock")
    if t == "ip":
        return "127.0.0.3" if second else "127.0.0.2"
    if t == "port":
        return "4322" if second else "4321"
    if t == "uint":
        lo, hi = row["range"].split(" to ")
        return hi if second else lo
    if t == "ms":
        return "3s" if second else "2s"
    if t == "enum":
        return row["choices"][0 if second else -1]
    if t == "cidr":
        return "10.2.0.0/16" if second else "10.1.0.0/16"
    if t == "host":
        return "b.example" if second else "a.example"
    if t == "url":
        return "http://127.0.0.1:9468/b" if second else "http://127.0.0.1:9467/a"
    if t == "listen":
        return "127.0.0.1:9466" if second else "127.0.0.1:9465"
    if t == "pin":
        return "b.example:443:127.0.0.1" if second else "a.example:443:127.0.0.1"
    raise h.TestFailure("no sample value for type %s (--%s)" % (t, row["name"]))


def up(*args):
    return subprocess.run([h.binary("airlock"), "up"] + list(args), capture_output=True,
                          text=True, timeout=30)


def main():
    h.require_binaries("airlock", "airlock-broker", "airlock-enforcer")
    rows = [r for r in table() if "up" in r["procs"]]
    keys = [r for r in rows if r["file_key"]]
    h.check(len(keys) >= 30, "fewer keys than expected: %d" % len(keys))
    h.check({r["name"] for r in rows} - {r["name"] for r in keys} == {"config", "print-config"},
            "command-line-only flags of airlock up: %s"
            % sorted({r["name"] for r in rows} - {r["name"] for r in keys}))
    # --keyring and --seal-key-file exclude each other: one run each
    groups = [[r for r in keys if r["name"] != "seal-key-file"],
              [r for r in keys if r["name"] != "keyring"]]
    with tempfile.TemporaryDirectory(prefix="airlock-conf-") as tmp:
        state = ["--state-dir", os.path.join(tmp, "state")]
        for group in groups:
            conf = os.path.join(tmp, "airlock.conf")
            lines = ["# every key of the table"]
            where = {}
            for r in group:
                v = sample(r, tmp)
                lines.append(r["name"] if v is None else "%s = %s" % (r["name"], v))
                where[r["name"]] = (len(lines), v)
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = up("--config", conf, "--print-config")
            h.check_eq(p.returncode, 0, "print-config: " + p.stderr)
            got = p.stdout.splitlines()
            h.check_eq(got[0], "# config file: " + conf, "first line")
            for r in group:
                line, v = where[r["name"]]
                want = "%s = %s  # %s:%d" % (r["name"], "true" if v is None else v, conf, line)
                h.check(want in got, "key %s: want %r in\n%s" % (r["name"], want, p.stdout))

            # the command line wins over the file, flag by flag
            argv = []
            for r in group:
                v = sample(r, tmp, second=True)
                argv += ["--" + r["name"]] + ([] if v is None else [v])
            p = up("--config", conf, "--print-config", *argv)
            h.check_eq(p.returncode, 0, "print-config with flags: " + p.stderr)
            for r in group:
                v = sample(r, tmp, second=True)
                want = "%s = %s  # command line" % (r["name"], "true" if v is None else v)
                h.check(want in p.stdout.splitlines(), "flag --%s: want %r in\n%s"
                        % (r["name"], want, p.stdout))
                old = sample(r, tmp)
                if r["repeat"]:
                    h.check("%s = %s" % (r["name"], old) not in p.stdout,
                            "--%s did not replace the file's list" % r["name"])

        # the shipped default config (etc/airlock.conf) names every key and
        # parses as it is
        shipped = os.path.join(h.srcdir(), "etc", "airlock.conf")
        with open(shipped) as f:
            text = f.read()
        for r in keys:
            h.check(("# %s = " % r["name"]) in text, "etc/airlock.conf lacks key %s" % r["name"])
        p = up(*state, "--config", shipped, "--print-config")
        h.check_eq(p.returncode, 0, "the shipped config: " + p.stderr)

        # no file: defaults, said so
        p = up(*state, "--config", "/dev/null", "--print-config")
        h.check_eq(p.returncode, 0, p.stderr)
        h.check("mode = strict  # default" in p.stdout, p.stdout)

        # refusals name the file, the line and the key; nothing starts
        for body, want in (("mode = audit\nnope = 1\n", ":2: unknown key 'nope'"),
                           ("banner\n", ":1: unknown key 'banner'"),
                           ("config = /etc/passwd\n", ":1: unknown key 'config'"),
                           ("# c\n\nmode = sideways\n", ":3: bad mode 'sideways': expected strict or audit"),
                           ("http-port = 70000\n", ":1: bad http-port '70000'"),
                           ("keyring = maybe\n", ":1: bad keyring 'maybe': expected true or false"),
                           ("mode\n", ":1: mode needs a value"),
                           ("mode = audit\nmode = strict\n", ":2: mode given twice")):
            bad = os.path.join(tmp, "bad.conf")
            with open(bad, "w") as f:
                f.write(body)
            p = up(*state, "--config", bad)
            h.check_eq(p.returncode, 2, "exit status for %r: %s" % (body, p.stderr))
            h.check(bad + want in p.stderr, "for %r want %r in %r" % (body, bad + want, p.stderr))
            h.check(not os.path.exists(os.path.join(tmp, "state", "api.sock")), "it started")
        p = up(*state, "--config", os.path.join(tmp, "missing.conf"))
        h.check_eq(p.returncode, 2, "a missing --config file: " + p.stderr)


h.run(main)
