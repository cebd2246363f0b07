#!/usr/bin/env python3
"""The tree keeps the shape README's "Layout" asks of it, checked rather than
remembered: no C file over 800 lines (a file that grows past it is split by
concern), and in every product source file `config.h` is the first include
and the file's own header, when it includes it, the second (so each header
is shown to stand on its own). Walks the source directory, so it runs the
same from a git checkout and from a release tarball (make distcheck)."""
import os
import re
import sys

SRC = os.environ.get("AIRLOCK_SRCDIR", ".")
MAX_LINES = 800
PRODUCT = ("agent", "broker", "cli", "common", "enforcer", "oauth-providers")
SKIP_DIRS = {".git", "node_modules", "corpus"}

failures = []
checked = 0
for root, dirs, files in os.walk(SRC):
    rel_root = os.path.relpath(root, SRC)
    # build trees (_check, _fuzz, _build ...) and hidden or vendored folders
    dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(("_", "."))
               and not (rel_root == "." and d.startswith("airlock-"))]
    for name in sorted(files):
        if not name.endswith(".c"):
            continue
        rel = os.path.normpath(os.path.join(rel_root, name))
        with open(os.path.join(root, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        checked += 1
        n = len(lines) - (1 if lines and lines[-1] == "" else 0)
        if n > MAX_LINES:
            failures.append("%s: %d lines, over %d" % (rel, n, MAX_LINES))
        if rel.split(os.sep)[0] not in PRODUCT:
            continue
        includes = [m.group(1) for m in (re.match(r'#include\s+([<"][^>"]+[>"])', l) for l in lines) if m]
        if not includes or includes[0] != '"config.h"':
            failures.append("%s: the first include is %s, not \"config.h\"" %
                            (rel, includes[0] if includes else "missing"))
        own = {'"%s.h"' % rel[:-2].replace(os.sep, "/"), '"%s.h"' % name[:-2]}
        where = [i for i, inc in enumerate(includes) if inc in own]
        if where and where[0] != 1:
            failures.append("%s: its own header is include number %d, not the second" % (rel, where[0] + 1))

if checked < 100:
    failures.append("only %d C files found under %s: is AIRLOCK_SRCDIR right?" % (checked, SRC))
for f in failures:
    print("FAIL", f)
print("%d C files checked, %d problems" % (checked, len(failures)))
sys.exit(1 if failures else 0)
