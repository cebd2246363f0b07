#!/usr/bin/env python3
"""The decision reasons are one table (common/reasons.h, printed by
`tests/unit/common/test-reasons --json`), and the DECISION REASONS section of
docs/airlock.1 follows it both ways: every reason in the table is listed
there with its status and whether a rule cures it, and nothing is listed
that the table lacks. Reasons the enforcer's man page names for the SOCKS5
front, and those airlock.1 names as curable for `airlock audit suggest`,
are in the table too (a reason added, renamed or made curable in one place
only fails here)."""
import json
import os
import re
import subprocess
import sys

BUILD = os.environ.get("AIRLOCK_BUILDDIR", ".")
SRC = os.environ.get("AIRLOCK_SRCDIR", ".")

failures = []


def roff(path):
    with open(os.path.join(SRC, path)) as f:
        text = f.read()
    return re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\~", " ")


def section(text, title):
    out, inside = [], False
    for line in text.split("\n"):
        if line.startswith(".SH "):
            if inside:
                break
            inside = line[4:].strip().strip('"') == title
            continue
        if inside:
            out.append(line)
    if not out:
        failures.append("no section .SH %s in docs/airlock.1" % title)
    return out


def documented(lines):
    """name -> (status, curable) from `.TP / .B name / status N; ...`."""
    docs = {}
    for i, line in enumerate(lines):
        if line == ".TP" and i + 2 < len(lines) and lines[i + 1].startswith(".B "):
            name = lines[i + 1][3:].strip()
            m = re.match(r"(status (\d+)|no status); (a rule cures it|no rule cures it)\. \S", lines[i + 2])
            if not m:
                failures.append("%s: its line does not say status and cure: %r" % (name, lines[i + 2]))
                continue
            if name in docs:
                failures.append("%s is listed twice" % name)
            docs[name] = (int(m.group(2)) if m.group(2) else 0, m.group(3) == "a rule cures it")
    return docs


def main():
    p = subprocess.run([os.path.join(BUILD, "tests/unit/common/test-reasons"), "--json"], stdout=subprocess.PIPE,
                       timeout=20, check=True)
    table = {r["name"]: (r["status"], r["curable"]) for r in json.loads(p.stdout)}
    if len(table) < 40:
        failures.append("the table has only %d reasons" % len(table))
    page = roff("docs/airlock.1")
    docs = documented(section(page, "DECISION REASONS"))
    for name in sorted(set(table) - set(docs)):
        failures.append("%s is in the table but not in docs/airlock.1" % name)
    for name in sorted(set(docs) - set(table)):
        failures.append("%s is in docs/airlock.1 but not in the table" % name)
    for name in sorted(set(docs) & set(table)):
        if docs[name] != table[name]:
            failures.append("%s: docs/airlock.1 says %s, the table %s" % (name, docs[name], table[name]))
    # what audit suggest is documented to cure is what the table cures
    m = re.search(r"with a reason a new rule can cure \(([^)]*)\)", " ".join(page.split()))
    if not m:
        failures.append("airlock.1 no longer lists what audit suggest cures")
    else:
        named = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", m.group(1)))
        curable = {n for n, (_, c) in table.items() if c}
        if named - {"tls-handshake-failed"} != curable:
            failures.append("audit suggest's curable reasons in airlock.1 %s != the table's %s"
                            % (sorted(named), sorted(curable)))
    # the SOCKS5 refusals the enforcer's page names
    enf = " ".join(roff("docs/airlock-enforcer.8").split())
    m = re.search(r"refusal made during the SOCKS negotiation \(reason(.*?)\)\. ", enf)
    if not m:
        failures.append("airlock-enforcer.8 no longer lists the SOCKS refusals")
    else:
        for name in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", m.group(1)):
            if name not in table:
                failures.append("airlock-enforcer.8 names %s, not in the table" % name)
    for f in failures:
        print("FAIL:", f)
    print("%d reasons, %d problems" % (len(table), len(failures)))
    sys.exit(1 if failures else 0)


main()
