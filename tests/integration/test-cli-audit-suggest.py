"""`airlock audit suggest` turns the decision log's denials into allow
commands, and never trusts the log.

Crafted logs (key=value and JSON lines mixed): identical denials group with
a count; strict CONNECT denials give bare host rules, requests give
--method/--path, ports other than 80/443 give --port; --since and CLIENT
filter; denials no rule can cure (and a no-rule denial of an address the
enforcer never dials, 169.254.169.254), allow lines and operational lines
are not suggested; quoted values are unescaped as common/log.c escapes them;
malformed lines (unterminated quotes, bad escapes, duplicate keys, bad
hosts, ports, names, NUL bytes, a decision forged inside another line's
quoted value, random bytes) are skipped without a crash; a line at the cap
is read and one byte over is skipped; past the suggestion cap the rest are
counted; values a sandbox chose (methods, paths) come out shell-quoted, so
sourcing the output runs nothing else.

A real run: strict-mode denials through a running airlock (key=value, then
JSON after a restart with --log-format json), read from the daemon's log;
the suggested commands, run as printed, make the same requests pass. And
in --mode audit: an intercepted request's method and path, and a client
that does not trust airlock's CA (host only, tls-handshake-failed), give
rules that, run, let both through."""
import json
import os
import pty
import random
import shlex
import subprocess
import tempfile
import time

import airlock_harness as h
import origins
import proxytest as pt

LINE_MAX = 16 * 1024
SUGGEST_MAX = 4096


def ts(ago=0):
    t = time.time() - ago
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def kv(verdict, ago=0, **f):
    parts = ["ts=" + ts(ago), verdict]
    for k, v in f.items():
        parts.append("%s=%s" % (k, v))
    return " ".join(parts)


def js(verdict, ago=0, **f):
    d = {"ts": ts(ago), "verdict": verdict}
    d.update(f)
    return json.dumps(d)


def suggest(args, data, env=None):
    if isinstance(data, str):
        data = data.encode()
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([h.binary("airlock"), "audit", "suggest"] + list(args), input=data,
                       capture_output=True, env=e, timeout=60)
    out, err = p.stdout.decode(), p.stderr.decode()
    h.check("Sanitizer" not in err and "runtime error" not in err, "sanitizer report: %s" % err[-2000:])
    return p.returncode, out, err


def commands(out):
    """Each output line: (argv of the command, comment)."""
    res = []
    for line in out.splitlines():
        cmd, sep, comment = line.partition("  # ")
        h.check(sep, "a count comment on %r" % line)
        argv = shlex.split(cmd)
        h.check_eq(argv[:2], ["airlock", "allow"], "an allow command: %r" % line)
        res.append((argv[2:], comment))
    return res


def crafted(tmp):
    pwned = os.path.join(tmp, "PWNED")
    evil_path = "/x'$(touch %s)`touch %s`" % (pwned, pwned)
    lines = [
        'ts=%s level=info msg="enforcer started" path=/x pid=1' % ts(),
        js("info", msg="x") .replace('"verdict": "info", ', '"level": "info", '),
        # strict CONNECT denials: bare host rule, counted
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="api.example.com", port=443,
           mode="strict", reason="no-rule", status=403, bytes_up=0, bytes_down=142, ms=1),
        kv("deny", 10, client="web-1", method="CONNECT", scheme="https", host="api.example.com", port=443,
           mode="strict", reason="no-rule", status=403),
        js("deny", 20, client="web-1", method="CONNECT", scheme="https", host="api.example.com", port=443,
           mode="strict", reason="no-rule", status=403),
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="db.example.com", port=8443,
           mode="strict", reason="port-not-allowed"),
        # a public address literal is a host like any other
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="192.0.2.7", port=443,
           mode="strict", reason="no-rule"),
        # requests: method and path; kv and JSON of one tuple group together
        kv("deny", client="web-1", method="GET", scheme="http", host="deb.example.org", port=80,
           path="/debian/dists/InRelease", mode="strict", reason="no-rule"),
        js("deny", 5, client="web-1", method="GET", scheme="http", host="deb.example.org", port="80",
           path="/debian/dists/InRelease", mode="strict", reason="no-rule"),
        # audit mode: the verdict word is audit; a quoted path with spaces and
        # escapes cannot be a rule path: widened to its directory's glob
        kv("audit", client="web-2", method="POST", scheme="https", host="llm.example.com", port=443,
           path='"/v1/chat completions\\t\\"x\\"\\\\"', mode="audit", reason="no-rule"),
        kv("audit", client="web-2", method="GET", scheme="https", host="llm.example.com", port=443,
           path="/v1/models", mode="audit", reason="method-not-allowed"),
        # a sandbox-chosen method and path full of shell syntax
        kv("deny", client="web-2", method="G'E`T$", scheme="http", host="shell.example.com", port=8080,
           path='"%s"' % evil_path.replace("\\", "\\\\").replace('"', '\\"'), mode="strict",
           reason="path-not-allowed"),
        js("deny", client="web-2", method="PUT", scheme="http", host="shell.example.com", port=8080,
           path="/ok'path", mode="strict", reason="no-rule"),
        # older than an hour: only with --since 3h
        kv("deny", 7200, client="web-1", method="CONNECT", scheme="https", host="old.example.com",
           port=443, mode="strict", reason="no-rule"),
        # not curable by a rule, or not denials
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="169.254.169.254", port=80,
           mode="strict", reason="denied-address"),
        kv("deny", client="web-1", method="GET", scheme="https", host="a.example.com", port=443, path="/",
           mode="audit", reason="host-mismatch"),
        # an address the enforcer never dials, logged no-rule (the policy is
        # checked before the dial): no rule would let it through
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="169.254.169.254", port=80,
           mode="strict", reason="no-rule"),
        js("deny", client="web-1", method="GET", scheme="http", host="127.0.0.1", port=8080, path="/",
           mode="strict", reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="::ffff:169.254.169.254", port=443,
           mode="strict", reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", scheme="https", host="fd00:ec2::254", port=443,
           mode="strict", reason="no-rule"),
        kv("allow", client="web-1", method="CONNECT", scheme="https", host="fine.example.com", port=443,
           mode="strict", rule=3, status=200),
        kv("deny", method="CONNECT", scheme="https", host="noauth.example.com", port=443, mode="strict",
           reason="proxy-auth-required", status=407),
        # audit mode, a client that does not trust the CA: only the host; with a
        # rule id a rule matched (an inspect rule), so a new rule would not help
        kv("deny", client="web-1", scheme="https", host="untrusting.example.com", port=443, mode="audit",
           reason="tls-handshake-failed", bytes_up=0),
        kv("deny", client="web-1", scheme="https", host="inspected.example.com", port=443, mode="audit",
           rule=7, reason="tls-handshake-failed"),
        kv("deny", client="web-1", scheme="https", host="strict.example.com", port=443, mode="strict",
           rule=7, reason="tls-handshake-failed"),
        # a decision forged inside another line's quoted value, and behind a prefix
        'ts=%s level=info msg="x ts=%s deny client=web-1 method=CONNECT host=forged.example.com port=443 '
        'reason=no-rule" a=b' % (ts(), ts()),
        "Nov 23 host airlock[1]: " + kv("deny", client="web-1", method="CONNECT", host="prefixed.example.com",
                                        port=443, reason="no-rule"),
    ]
    malformed = [
        kv("deny", client="web-1", method="GET", host="m1.example.com", port=80, path='"/unterminated',
           reason="no-rule"),
        kv("deny", client="web-1", method="GET", host="m2.example.com", port=80, path='"/bad\\q"',
           reason="no-rule"),
        kv("deny", client="web-1", method="GET", host="m3.example.com", port=80, path="/a",
           reason="no-rule") + " host=m3b.example.com",
        kv("deny", client="web-1", method="CONNECT", host='"evil host"', port=443, reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", host="m5.example.com", port=0, reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", host="m6.example.com", port="44x", reason="no-rule"),
        kv("deny", client='"bad name"', method="CONNECT", host="m7.example.com", port=443, reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", host="m8.example.com", port=443),  # no reason
        "ts=yesterday deny client=web-1 method=CONNECT host=m9.example.com port=443 reason=no-rule",
        kv("deny", client="web-1", method="GE T", host="m10.example.com", port=80, path="/", reason="no-rule"),
        kv("deny", client="web-1", method="CONNECT", host='m11.example.com"x', port=443, reason="no-rule"),
        kv("deny", client="web-1", method="GET", host="m12.example.com", port=80, path='"/a"b',
           reason="no-rule"),
        kv("deny", 0, client="web-1") + "  double-space=1",
        js("deny", client="web-1", method="CONNECT", host="m14.example.com", port=443.5, reason="no-rule"),
        '{"ts":"%s","verdict":"deny","verdict":"deny","client":"web-1","host":"m15.example.com",'
        '"port":443,"reason":"no-rule"}' % ts(),
        js("deny", client="web-1", method="CONNECT", host="m16.example.com\u0000.x", port=443, reason="no-rule"),
        '{"ts":"%s","verdict":"deny","client":"web-1"' % ts(),
        '{"ts":1,"verdict":"deny","client":"web-1","host":"m18.example.com","port":443,"reason":"no-rule"}',
        kv("deny", client="web-1", method="GET", host="m19.example.com", port=80, path="relative",
           reason="no-rule"),
    ]
    nul_line = kv("deny", client="web-1", method="CONNECT", host="nul.example.com", port=443,
                  reason="no-rule").encode().replace(b"host=", b"host=\0")
    bad_utf8 = kv("deny", client="web-1", method="CONNECT", host="utf.example.com", port=443,
                  reason="no-rule").encode().replace(b"utf.", b"\xff\xfe.")
    data = ("\n".join(lines + malformed) + "\n").encode() + nul_line + b"\r\n" + bad_utf8 + b"\n"

    rc, out, err = suggest([], data)
    h.check_eq(rc, 0, "suggest on the crafted log: %s" % err)
    got = commands(out)
    want = [
        (["web-1", "--host", "192.0.2.7", "--port", "443"], "1 denied (no-rule)"),
        (["web-1", "--host", "api.example.com", "--port", "443"], "3 denied (no-rule)"),
        (["web-1", "--host", "db.example.com", "--port", "8443"], "1 denied (port-not-allowed)"),
        (["web-1", "--host", "deb.example.org", "--port", "80", "--method", "GET", "--path",
          "/debian/dists/InRelease"], "2 denied (no-rule)"),
        (["web-1", "--host", "untrusting.example.com", "--port", "443"], "1 denied (tls-handshake-failed)"),
        (["web-2", "--host", "llm.example.com", "--port", "443", "--method", "POST", "--path", "/v1/*"],
         "1 denied (no-rule)"),
        (["web-2", "--host", "llm.example.com", "--port", "443", "--method", "GET", "--path", "/v1/models"],
         "1 denied (method-not-allowed)"),
        (["web-2", "--host", "shell.example.com", "--port", "8080", "--method", "G'E`T$", "--path", "/*"],
         "1 denied (path-not-allowed)"),
        (["web-2", "--host", "shell.example.com", "--port", "8080", "--method", "PUT", "--path", "/ok'path"],
         "1 denied (no-rule)"),
    ]
    h.check_eq([(a, c.split(", last")[0]) for a, c in got], want, "suggestions\n" + out)
    h.check("widened" in got[5][1] and "widened" not in got[6][1], "a widened path is said so")
    h.check(all(ts()[:10] in c for _, c in got), "the last time is shown")
    h.check(err.count("\n") == 2 and "9 rules suggested" in err and "no --secret" in err, "summary lines: %r" % err)
    for word in ("1 before the last 1h", "9 not curable", "21 malformed"):
        h.check(word in err, "summary says %r: %r" % (word, err))

    # sourcing the output runs nothing but the commands, with the same words
    script = os.path.join(tmp, "suggest.sh")
    with open(script, "w") as f:
        f.write(out)
    argsf = os.path.join(tmp, "args")
    r = subprocess.run(["sh", "-c", 'airlock() { shift; printf "%%s\\n" "$@" >> "%s"; echo >> "%s"; }; . "%s"'
                        % (argsf, argsf, script)], capture_output=True, text=True, timeout=30)
    h.check_eq(r.returncode, 0, "the output is a valid sh script: %s" % r.stderr)
    h.check(not os.path.exists(pwned), "a path from the log ran a command")
    with open(argsf) as f:
        blocks = [b.split("\n") for b in f.read().split("\n\n") if b]
    h.check_eq(blocks, [a for a, _ in want], "sh reads the same words")

    # --since, CLIENT, --log FILE and --log -
    rc, out, err = suggest(["--since", "3h"], data)
    h.check(any(a == ["web-1", "--host", "old.example.com", "--port", "443"] for a, _ in commands(out)), "--since 3h")
    rc, out, err = suggest(["web-2"], data)
    h.check_eq([a for a, _ in commands(out)], [a for a, _ in want if a[0] == "web-2"], "CLIENT filter")
    h.check("13 of other clients" in err, "other clients counted: %r" % err)
    logf = os.path.join(tmp, "airlock.log")
    with open(logf, "wb") as f:
        f.write(data)
    rc, out2, err = suggest(["--log", logf, "web-2", "--quiet"], b"")
    h.check_eq((rc, out2, err), (0, out, ""), "--log FILE and --quiet")
    rc, out2, err = suggest(["--log", "-", "web-2"], data)
    h.check_eq(out2, out, "--log - is stdin")
    rc, out, err = suggest(["--since", "1s"], kv("deny", 5, client="web-1", method="CONNECT",
                                                    host="a.example.com", port=443, reason="no-rule"))
    h.check_eq((rc, out), (0, ""), "--since 1s leaves a 5 s old line out")

    # the line cap: a decision line padded to exactly LINE_MAX is read, +1 is not
    base = kv("deny", client="web-1", method="CONNECT", host="cap.example.com", port=443, reason="no-rule")
    at_cap = base + " pad=" + "x" * (LINE_MAX - len(base) - 5)
    h.check_eq(len(at_cap), LINE_MAX, "line at the cap")
    rc, out, err = suggest([], at_cap + "\n")
    h.check_eq([a for a, _ in commands(out)], [["web-1", "--host", "cap.example.com", "--port", "443"]], "a line at the cap")
    rc, out, err = suggest([], at_cap + "x\n" + base.replace("cap.", "after.") + "\n")
    h.check_eq([a for a, _ in commands(out)], [["web-1", "--host", "after.example.com", "--port", "443"]],
               "a line over the cap is skipped whole, the next one read")
    h.check("1 over 16384 bytes" in err, "over-long line counted: %r" % err)
    rc, out, err = suggest([], b"x" * (LINE_MAX * 8))  # no newline at all
    h.check_eq((rc, out), (0, ""), "one endless line")

    # the suggestion cap
    many = "\n".join(kv("deny", client="web-1", method="CONNECT", host="h%d.example.com" % i, port=443,
                        reason="no-rule") for i in range(SUGGEST_MAX + 10))
    rc, out, err = suggest([], many)
    h.check_eq((rc, len(out.splitlines())), (0, SUGGEST_MAX), "suggestions stop at the cap")
    h.check("10 past %d suggestions" % SUGGEST_MAX in err, "the rest counted: %r" % err)

    # random bytes and shredded decision lines: no crash, nothing invented
    rnd = random.Random(4242)
    junk = []
    pieces = [ln.encode() for ln in lines + malformed]
    for _ in range(3000):
        if rnd.random() < 0.5:
            junk.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(200))))
        else:
            p = bytearray(rnd.choice(pieces))
            for _ in range(rnd.randrange(1, 6)):
                if p:
                    p[rnd.randrange(len(p))] = rnd.choice(b'"\\= \x00\xff{}x\t')
            junk.append(bytes(p[:rnd.randrange(len(p) + 1)]))
    rc, out, err = suggest([], b"\n".join(junk))
    h.check_eq(rc, 0, "random input: %s" % err[-500:])
    for argv, _ in commands(out):
        h.check(argv[0] in ("web-1", "web-2"), "a client that was in the input: %r" % argv)

    # a terminal on stdin without --log reads the broker (test-cli-tail.py);
    # without one it says so and names --log. Usage: bad --since, two
    # clients; a missing file
    master, slave = pty.openpty()
    try:
        env = dict(os.environ, AIRLOCK_URL=os.path.join(tmp, "no-broker.sock"))
        p = subprocess.run([h.binary("airlock"), "audit", "suggest"], stdin=slave, capture_output=True,
                           text=True, timeout=30, env=env)
    finally:
        os.close(master)
        os.close(slave)
    h.check(p.returncode == 1 and "--log" in p.stderr, "a terminal on stdin, no broker: %r" % p.stderr)
    for args, want in ((["--since", "soon"], "--since"), (["--since", "0"], "--since"),
                       (["a", "b"], "unexpected argument"), (["bad name"], "client name"),
                       (["--log", ""], "--log"), (["--frob"], "unknown option")):
        rc, out, err = suggest(args, b"")
        h.check(rc == 2 and out == "" and err.count("\n") == 1 and want in err,
                "usage %r: %d %r" % (args, rc, err))
    rc, out, err = suggest(["--log", os.path.join(tmp, "none.log")], b"")
    h.check(rc == 1 and "cannot read" in err and out == "", "missing log file: %r" % err)


def real():
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir)
        with origins.HTTPOrigin(tls=ca) as s, origins.HTTPOrigin() as o:
            al.extra_flags += pt.pins("origin.test", o.port, s.port) + pt.pins("git.test", s.port)
            al.start()
            tok1 = pt.client(al, "web-1")
            tok2 = pt.client(al, "web-2")

            def get(tok, url):
                r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", al.proxy_url(tok),
                            "--cacert", ca.ca_cert, url)
                return pt.status_of(r)
            tls_url = "https://origin.test:%d/echo" % s.port
            http_url = "http://origin.test:%d/v1/items?q=1" % o.port
            h.check_eq(get(tok1, tls_url), "000", "strict CONNECT denied (curl sees no response)")
            get(tok1, tls_url)
            h.check_eq(get(tok1, http_url), "403", "plain GET denied")
            get(tok2, "https://git.test:%d/" % s.port)
            # denied-address: even a rule for the address does not cure it
            pt.allow(al, "web-1", "127.0.0.1", "--port", str(s.port))
            get(tok1, "https://127.0.0.1:%d/" % s.port)
            pt.wait_decision(al, lambda d: d.get("client") == "web-2", "web-2's denial logged")
            pt.wait_decision(al, lambda d: d.get("reason") == "denied-address", "denied-address logged")

            p = al.cli("audit", "suggest", "--log", al.err_path, "web-1")
            h.check_eq(p.returncode, 0, "suggest from the daemon log: %s" % p.stderr)
            got = commands(p.stdout)
            want = [["web-1", "--host", "origin.test", "--port", str(s.port)],
                    ["web-1", "--host", "origin.test", "--port", str(o.port), "--method", "GET",
                     "--path", "/v1/items"]]
            if s.port > o.port:
                want.reverse()
            h.check_eq([a for a, _ in got], want, "suggestions from a real log\n" + p.stdout)
            h.check(dict((a[4], c) for a, c in got)[str(s.port)].startswith("2 denied (no-rule)"),
                    "two CONNECTs counted: %r" % got)
            p = al.cli("audit", "suggest", "--log", al.err_path)
            h.check("web-2 --host git.test" in p.stdout, "without CLIENT: every client: %s" % p.stdout)
            h.check("127.0.0.1" not in p.stdout, "denied-address is not suggested")

            for argv, _ in got:
                r = al.cli("allow", *argv)
                h.check_eq(r.returncode, 0, "airlock allow %s: %s" % (argv, r.stderr))
            h.wait_for(lambda: get(tok1, tls_url) == "200", timeout=5, what="the CONNECT passes")
            h.check_eq(get(tok1, http_url), "200", "the GET passes")
            h.check_eq(get(tok1, "http://origin.test:%d/v1/other" % o.port), "403",
                       "the exact path was allowed, not more")

            # JSON lines, after a restart with --log-format json, in the same log
            al.stop()
            al.extra_flags += ["--log-format", "json"]
            al.start()
            h.check_eq(get(tok2, "http://origin.test:%d/json/path" % o.port), "403", "denied, JSON logged")
            h.wait_for(lambda: '"host":"origin.test"' in al.log_text() and '"/json/path"' in al.log_text(),
                       timeout=5, what="the JSON decision line")
            p = al.cli("audit", "suggest", "--log", al.err_path, "web-2")
            args = [a for a, _ in commands(p.stdout)]
            h.check(["web-2", "--host", "origin.test", "--port", str(o.port), "--method", "GET",
                     "--path", "/json/path"] in args and ["web-2", "--host", "git.test", "--port", str(s.port)]
                    in args, "kv and JSON lines of one log: %s" % p.stdout)
            for argv in args:
                r = al.cli("allow", *argv)
                h.check_eq(r.returncode, 0, "airlock allow %s: %s" % (argv, r.stderr))
            h.wait_for(lambda: get(tok2, "http://origin.test:%d/json/path" % o.port) == "200", timeout=5,
                       what="web-2's GET passes")
            al.check_alive()


def audit_mode():
    """--mode audit: an intercepted CONNECT logs its first request's method and
    path (a --method/--path rule); a client that does not trust airlock's CA
    fails the handshake and only the host is logged (a bare host rule).
    Run, the suggestions let both through: one intercepted, one blind."""
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir)
        with origins.HTTPOrigin(tls=ca) as s:
            al.extra_flags += (["--mode", "audit", "--upstream-ca", ca.ca_cert] +
                               pt.pins("origin.test", s.port) + pt.pins("git.test", s.port))
            al.start()
            tok = pt.client(al, "web-1")

            def get(url, cafile):
                r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", al.proxy_url(tok), "--cacert", cafile,
                            url)
                return pt.status_of(r)
            items = "https://origin.test:%d/v1/items?page=2" % s.port
            git = "https://git.test:%d/repo" % s.port
            h.check_eq(get(items, al.ca_cert), "403", "audit: the inner request is refused")
            h.check_eq(get(git, ca.ca_cert), "000", "audit: a client without airlock's CA fails closed")
            pt.wait_decision(al, lambda d: d.get("host") == "git.test", "the handshake failure logged")
            pt.wait_decision(al, lambda d: d.get("path") == "/v1/items", "the audit line")
            p = al.cli("audit", "suggest", "--log", al.err_path)
            h.check_eq(p.returncode, 0, "suggest: %s" % p.stderr)
            got = commands(p.stdout)
            h.check_eq([a for a, _ in got],
                       [["web-1", "--host", "git.test", "--port", str(s.port)],
                        ["web-1", "--host", "origin.test", "--port", str(s.port), "--method", "GET",
                         "--path", "/v1/items"]], "audit-mode suggestions\n" + p.stdout)
            h.check(got[0][1].startswith("1 denied (tls-handshake-failed)"), "the reason shown: %r" % got[0][1])
            for argv, _ in got:
                r = al.cli("allow", *argv)
                h.check_eq(r.returncode, 0, "airlock allow %s: %s" % (argv, r.stderr))
            h.wait_for(lambda: get(items, al.ca_cert) == "200", timeout=5, what="the intercepted GET passes")
            h.check_eq(get(git, ca.ca_cert), "200", "the blind tunnel passes with the origin's own certificate")
            h.check_eq(get("https://origin.test:%d/v1/other" % s.port, al.ca_cert), "403",
                       "only the suggested path")
            al.check_alive()


def main():
    h.require_binaries("airlock")
    tmp = tempfile.mkdtemp(prefix="airlock-suggest-")
    try:
        crafted(tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    if not h.have_binary("airlock-enforcer"):
        h.skip("airlock-enforcer is not built: the real-log half cannot run")
    h.require_binaries("airlock-broker")
    real()
    audit_mode()


h.run(main)
