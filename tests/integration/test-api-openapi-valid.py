#!/usr/bin/env python3
"""docs/openapi.yaml is a valid OpenAPI 3.1 document for a real validator:
Redocly CLI (`redocly lint`, installed from npm by tools/deps --test) with
its recommended rules, every warning an error (tests/lib/redocly.yaml): the
structure the specification defines, every $ref resolved, every example
valid against its schema, path parameters declared, operation ids unique.
The JSON that the broker serves at GET /proxy/v1/openapi.json (made at
build time by tools/openapi-embed) passes too. Negative twins: copies of the
document with one defect each (a dangling $ref, a response without a
description, an undeclared path parameter, an example its schema refuses)
are refused, so a pass means something."""

import json
import os
import shutil
import subprocess
import tempfile

import broker_harness as bh
import openapidoc as od
import yaml


def find_redocly():
    tools = os.environ.get("AIRLOCK_TEST_TOOLS")
    if tools:
        p = os.path.join(tools, "node_modules", ".bin", "redocly")
        if os.access(p, os.X_OK):
            return p
    return shutil.which("redocly")


REDOCLY = find_redocly()
if not REDOCLY:
    bh.skip("Redocly CLI not found: tools/deps --test installs it (npm @redocly/cli), "
            "tools/check points AIRLOCK_TEST_TOOLS at it")
CONFIG = os.path.join(od.srcdir(), "tests", "lib", "redocly.yaml")
ENV = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
           NO_COLOR="1")


def lint(path):
    p = subprocess.run([REDOCLY, "lint", "--config", CONFIG, "--format", "stylish", path],
                       capture_output=True, text=True, timeout=120, env=ENV,
                       stdin=subprocess.DEVNULL)
    return p.returncode, (p.stdout + p.stderr)


def main():
    v = subprocess.run([REDOCLY, "--version"], capture_output=True, text=True, timeout=60,
                       env=ENV)
    bh.log("validator: Redocly CLI %s" % v.stdout.strip())
    src = os.path.join(od.srcdir(), "docs", "openapi.yaml")
    rc, out = lint(src)
    bh.check(rc == 0, "docs/openapi.yaml does not lint:\n" + out[-3000:])
    bh.check("Woohoo" in out or "valid" in out, "no verdict in the linter's output:\n" + out)

    tmp = tempfile.mkdtemp(prefix="airlock-openapi-")
    try:
        with bh.Broker() as b:
            st, served = b.api("GET", "/proxy/v1/openapi.json")
            bh.check_eq(st, 200, "GET /proxy/v1/openapi.json")
        path = os.path.join(tmp, "served.json")
        with open(path, "w") as f:
            json.dump(served, f)
        rc, out = lint(path)
        bh.check(rc == 0, "the served JSON does not lint:\n" + out[-3000:])

        doc = od.load()

        def broken(what, mutate):
            d = json.loads(json.dumps(doc))
            mutate(d)
            p = os.path.join(tmp, what.replace(" ", "-") + ".yaml")
            with open(p, "w") as f:
                yaml.safe_dump(d, f, sort_keys=False)
            rc, out = lint(p)
            bh.check(rc != 0, "the linter accepted a document with %s" % what)
            bh.log("refused as it should: %s" % what)

        clients = "/proxy/v1/clients"
        broken("a dangling ref", lambda d: d["paths"][clients]["get"]["responses"]["200"]
               ["content"]["application/json"]["schema"]["items"].update(
                   {"$ref": "#/components/schemas/Nothing"}))
        broken("a response without description",
               lambda d: d["paths"][clients]["get"]["responses"]["200"].pop("description"))
        broken("an undeclared path parameter",
               lambda d: d["paths"]["/proxy/v1/clients/{name}"].pop("parameters"))
        broken("an example its schema refuses",
               lambda d: d["paths"][clients]["get"]["responses"]["200"]["content"]
               ["application/json"].update({"example": [{"name": 7}]}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


bh.run(main)
