"""agenttest: helpers for the airlock-agent tests (inside a netns.Sandbox).

    snap = agenttest.snapshot(sb)                # nft, routes, resolv.conf, CA store
    agenttest.install(sb, al, tok, "--ca", path) # airlock-agent install ..., checked
    r = agenttest.agent(sb, "tunnel", "list")    # any airlock-agent command
    agenttest.check_log(sb, tok)                 # no sanitizer report, no token

The agent runs with the sandbox's own environment (PATH and HOME only: no
proxy variable anywhere), as root inside the namespaces, its log in the
sandbox's directory (--log) so that it outlives uninstall.
"""

import hashlib
import os

import airlock_harness as h

SANITIZER_MARKS = h.SANITIZER_MARKS


def binary():
    return h.binary("airlock-agent")


def log_path(sb):
    return os.path.join(sb.dir, "agent.log")


def agent(sb, *args, input=None, timeout=60):
    return sb.run([binary()] + [str(a) for a in args], input=input, timeout=timeout)


def install(sb, al, tok, *extra):
    r = agent(sb, "install", "%s:%d" % (sb.host_addr, al.http_port), "--token", "-", "--log", log_path(sb),
              *extra, input=tok + "\n")
    h.check_eq(r.returncode, 0, "airlock-agent install: %s %s" % (r.stdout, r.stderr))
    h.check(tok not in r.stdout + r.stderr, "install does not print the token")
    return r


def snapshot(sb):
    """What install changes and uninstall must put back, as the sandbox sees it."""
    def out(argv):
        r = sb.run(argv)
        return (r.returncode, r.stdout)
    bundle = sb.run(["cat", "/etc/ssl/certs/ca-certificates.crt"], text=False).stdout
    return {
        "nft": out(["nft", "list", "ruleset"]),
        "route4": out(["ip", "-4", "route", "show", "table", "all"]),
        "route6": out(["ip", "-6", "route", "show"]),
        "resolv": sb.read("/etc/resolv.conf"),
        "resolv_kind": out(["stat", "-c", "%F %a", "/etc/resolv.conf"]),
        "ca_bundle": hashlib.sha256(bundle).hexdigest(),
        "ca_links": out(["ls", "-A", "/etc/ssl/certs"]),
        "local_ca": out(["ls", "-A", "/usr/local/share/ca-certificates"]),
        "state": out(["ls", "-A", "/run"]),
    }


def check_restored(sb, before, what):
    after = snapshot(sb)
    for k in before:
        h.check_eq(after[k], before[k], "%s: %s as before install" % (what, k))


def check_log(sb, tok):
    try:
        text = open(log_path(sb), errors="replace").read()
    except FileNotFoundError:
        text = ""
    for m in SANITIZER_MARKS:
        h.check(m not in text, "sanitizer report in the agent's log:\n%s" % text[-3000:])
    h.check(tok not in text, "the token is not in the agent's log")
    return text
