#!/usr/bin/env python3
"""The flags of `airlock up`, airlock-broker and airlock-enforcer are one
table (common/flags.c, printed by `tests/unit/common/test-flags --json`), and the
documentation follows it both ways: every flag a process takes is in its
--help and in its man page (the `airlock up` section of airlock.1, the
OPTIONS of airlock-broker.8 and airlock-enforcer.8), each with the table's
default and range; and nothing is in a --help or documented as an option
that the table lacks for that process. Every other subcommand of airlock
has --help that exits 0 and lists only flags that airlock.1 documents: docs
stay true as code changes (a flag added without its documentation, or a
default changed in one place only, fails here)."""
import json
import os
import re
import subprocess
import sys

BUILD = os.environ.get("AIRLOCK_BUILDDIR", ".")
SRC = os.environ.get("AIRLOCK_SRCDIR", ".")

# process -> (its --help, its man page, the part of the page with its options)
PROCESSES = {
    "up": (["airlock", "up", "--help"], "docs/airlock.1", (".SS", "airlock up")),
    "broker": (["airlock-broker", "--help"], "docs/airlock-broker.8", (".SH", "OPTIONS")),
    "enforcer": (["airlock-enforcer", "--help"], "docs/airlock-enforcer.8", (".SH", "OPTIONS")),
}
ANY_PROGRAM = {"--help", "--version"}
AIRLOCK_COMMANDS = [
    ["ca", "init"], ["ca", "cert"], ["ca", "bundle"], ["client", "create"], ["client", "list"],
    ["client", "delete"], ["client", "set"], ["secret", "create"], ["secret", "list"], ["secret", "delete"],
    ["secret", "stub"], ["allow"], ["rules"], ["revoke"], ["oauth", "xai"], ["sandbox", "env"],
    ["connect"], ["audit", "suggest"], ["tail"], ["status"], ["explain"], ["preset", "list"], ["preset", "show"], ["store", "migrate"], ["store", "check"],
    ["connect"], ["audit", "suggest"], ["tail"], ["status"], ["explain"], ["preset", "list"], ["preset", "show"],
    ["client", "set"], ["approvals"], ["approvals", "approve"], ["approvals", "deny"],
    ["ui", "token"],
]
FLAG = r"(?<![\w-])--[a-z][a-z0-9-]+"

failures = []


def flags_in(text):
    return set(re.findall(FLAG, text))


def squeeze(text):
    return " ".join(text.split())


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        failures.append("%s exited %d" % (" ".join(argv), p.returncode))
    return p.stdout.decode()


def roff_lines(path):
    """The page's lines, with font changes gone and roff's dashes and
    non-breaking spaces made plain."""
    with open(os.path.join(SRC, path)) as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\~", " ")
    return text.split("\n")


def section(lines, macro, title):
    """Lines from `macro title` to the next heading of the same level (or
    higher: a .SH ends a .SS)."""
    out, inside = [], False
    ends = (".SH",) if macro == ".SH" else (".SH", ".SS")
    for line in lines:
        if line.startswith(macro + " "):
            if inside:
                break
            inside = line[len(macro) + 1:].strip().strip('"') == title
            continue
        if inside and line.startswith(ends):
            break
        if inside:
            out.append(line)
    if not out:
        failures.append("no section %s %s" % (macro, title))
    return out


def entries(lines):
    """{flag: body} of every .TP entry whose tag names flags, and the set of
    flags named in tags."""
    docs, i = {}, 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            tag = lines[i + 1]
            body = []
            j = i + 2
            while j < len(lines) and not lines[j].startswith((".TP", ".SS", ".SH", ".PP")):
                body.append(lines[j] if not lines[j].startswith(".") else
                            re.sub(r'^\.\w+\s*', "", lines[j]).replace('"', ""))
                j += 1
            for flag in flags_in(tag):
                docs[flag] = squeeze(" ".join(body))
            i = j
        else:
            i += 1
    return docs


def help_entries(text):
    """{flag: its help, lines joined} from a generated options list."""
    out, cur = {}, None
    for line in text.split("\n"):
        m = re.match(r"  (--[a-z][a-z0-9-]+)", line)
        if m:
            cur = m.group(1)
            out[cur] = line[len(m.group(0)):]
        elif cur and line.startswith("   "):
            out[cur] += " " + line
        else:
            cur = None
    return {k: squeeze(v) for k, v in out.items()}


def check_process(proc, rows, every_flag):
    help_argv, page, (macro, title) = PROCESSES[proc]
    mine = {"--" + r["name"]: r for r in rows if proc in r["procs"]}
    helptext = run([os.path.join(BUILD, help_argv[0])] + help_argv[1:])
    helps = help_entries(helptext)
    lines = section(roff_lines(page), macro, title)
    docs = entries(lines)
    where = "%s (%s)" % (page, title)

    for flag, r in sorted(mine.items()):
        wants = []
        if r["default"] is not None:
            wants.append("default " + r["default"])
        if r["range"] is not None:
            wants.append(r["range"])
        if r["zero_off"] and proc == "enforcer":
            wants.append("0 turns it off")
        if r["repeat"]:
            wants.append("repeatable")
        for name, got in (("--help", helps.get(flag)), (where, docs.get(flag))):
            if got is None:
                failures.append("%s: %s is not in %s" % (proc, flag, name))
                continue
            for w in wants:
                if w not in got:
                    failures.append("%s: %s in %s lacks %r: %r" % (proc, flag, name, w, got))

    # the other way: nothing in --help, or documented as an option, that
    # this process does not take; and no flag named in the text that no
    # process takes
    for flag in sorted(flags_in(helptext) - set(mine) - ANY_PROGRAM):
        failures.append("%s: %s is in --help but not in the table" % (proc, flag))
    for flag in sorted(set(docs) - set(mine) - ANY_PROGRAM):
        failures.append("%s: %s is documented in %s but %s does not take it"
                        % (proc, flag, where, proc))
    for flag in sorted(flags_in("\n".join(lines)) - every_flag - ANY_PROGRAM):
        failures.append("%s: %s is named in %s but is in no process's table"
                        % (proc, flag, where))
    if proc != "up":   # a daemon's synopsis lists its own flags only
        synopsis = "\n".join(section(roff_lines(page), ".SH", "SYNOPSIS"))
        for flag in sorted(flags_in(synopsis) - set(mine) - ANY_PROGRAM):
            failures.append("%s: %s is in the synopsis of %s but not in the table"
                            % (proc, flag, page))


def main():
    out = run([os.path.join(BUILD, "tests/unit/common/test-flags"), "--json"])
    rows = json.loads(out)
    if len(rows) < 20:
        failures.append("the table has only %d rows" % len(rows))
    every_flag = {"--" + r["name"] for r in rows}
    for proc in PROCESSES:
        check_process(proc, rows, every_flag)

    documented = flags_in("\n".join(roff_lines("docs/airlock.1")))
    for cmd in AIRLOCK_COMMANDS:
        listed = flags_in(run([os.path.join(BUILD, "airlock")] + cmd + ["--help"]))
        for flag in sorted(listed - documented - ANY_PROGRAM):
            failures.append("airlock %s: %s is in --help but not in docs/airlock.1"
                            % (" ".join(cmd), flag))

    # airlock-agent (inside a sandbox) has its own page
    agent_doc = flags_in("\n".join(roff_lines("docs/airlock-agent.8")))
    for flag in sorted(flags_in(run([os.path.join(BUILD, "airlock-agent"), "--help"])) - agent_doc - ANY_PROGRAM):
        failures.append("airlock-agent: %s is in --help but not in docs/airlock-agent.8" % flag)

    for f in failures:
        print("FAIL:", f)
    print("%d problems" % len(failures))
    sys.exit(1 if failures else 0)


main()
