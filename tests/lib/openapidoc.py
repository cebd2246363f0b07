"""openapidoc: docs/openapi.yaml as the tests read it, for
tests/integration/test-api-openapi-*.py.

    doc = load()                          # the YAML, parsed (PyYAML: a build dependency)
    ops = operations(doc)                 # {(template, METHOD): operation, refs resolved}
    match(doc, "/proxy/v1/clients/web-1") # -> "/proxy/v1/clients/{name}" or None
    routes_in_source()                    # {(template with *, METHOD)} from broker/api_server.c
    validate(schema, value)               # [error strings] (JSON Schema 2020-12)
"""

import copy
import os
import re

import yaml

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def srcdir():
    return os.environ.get("AIRLOCK_SRCDIR", ".")


def load():
    with open(os.path.join(srcdir(), "docs", "openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(doc, node):
    """node with every local $ref replaced by a copy of its target (the
    document has no recursive schema); sibling keys of a $ref are kept."""
    if isinstance(node, list):
        return [resolve(doc, v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("not a local $ref: %r" % ref)
        target = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        out = resolve(doc, copy.deepcopy(target))
        for k, v in node.items():
            if k != "$ref":
                out[k] = resolve(doc, v)
        return out
    return {k: resolve(doc, v) for k, v in node.items()}


def operations(doc):
    ops = {}
    for template, item in doc["paths"].items():
        for m in METHODS:
            op = item.get(m.lower())
            if op is not None:
                op = resolve(doc, op)
                op["parameters"] = resolve(doc, item.get("parameters", [])) + \
                    op.get("parameters", [])
                ops[(template, m)] = op
    return ops


def _segments(template):
    return template.strip("/").split("/")


def match(doc, path):
    """The documented template a concrete path falls under, or None."""
    segs = _segments(path)
    for template in doc["paths"]:
        t = _segments(template)
        if len(t) == len(segs) and all(a == b or (a.startswith("{") and b)
                                       for a, b in zip(t, segs)):
            return template
    return None


def star(template):
    """/proxy/v1/clients/{name} -> /proxy/v1/clients/*"""
    return "/" + "/".join("*" if s.startswith("{") else s for s in _segments(template))


_ROUTE = re.compile(r'\{\s*"([A-Z]+)",\s*\{([^}]*)\},\s*(\d+),\s*(\w+),\s*(true|false)\s*\}')


def routes_in_source():
    """The broker's route table (broker/api_server.c, routes[]) as
    {("/proxy/v1/..." with * for a wildcard segment, METHOD)}."""
    with open(os.path.join(srcdir(), "broker", "api_server.c"), encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("routes[] = {"):]
    table = table[:table.index("\n};")]
    out = set()
    for method, segs, n, _, _ in _ROUTE.findall(table):
        parts = re.findall(r'"([^"]*)"', segs)
        if len(parts) != int(n):
            raise ValueError("route %s %r: %s segments declared, %d written"
                             % (method, parts, n, len(parts)))
        out.add(("/proxy/v1/" + "/".join(parts), method))
    if not out:
        raise ValueError("no route found in broker/api_server.c")
    # off the /proxy/v1/ prefix (root_routes[]): GET only
    roots = text[text.index("root_routes[] = {"):]
    roots = roots[:roots.index("\n};")]
    for path in re.findall(r'\{\s*"(/[^"]*)",\s*\w+\s*\}', roots):
        out.add((path, "GET"))
    return out


def validate(schema, value):
    """Errors of value against a resolved JSON Schema (2020-12), as strings."""
    import jsonschema
    v = jsonschema.Draft202012Validator(schema)
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message)
            for e in v.iter_errors(value)]
