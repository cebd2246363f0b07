"""The fleet store stopped for 30 s under load, then started again, with two
airlock nodes on a PostgreSQL of the test's own:
- bare rules keep working on both nodes the whole time (a request every
  100 ms to a local origin, none refused);
- an adopted Claude login's cached access token is still injected while it
  lives; once it has expired the ask is refused store-unavailable (the
  enforcer's 503), never served the expired token;
- API writes answer 503 and change nothing; `airlock status` (its "store")
  and /metrics (airlock_store_up 0) say the store is gone, `airlock store
  check` exits 1;
- started again, both nodes reconnect by themselves (no airlock restart):
  a write on node 1 reaches node 2, whose proxy serves it, and metrics say
  airlock_store_up 1."""
import json
import os
import tempfile
import threading
import time

import airlock_harness as h
import fake_providers as fpmod
import openapidoc
import origins
import pgtest
import proxytest as pt

OUTAGE_S = 30
TOKEN_LIFE_S = 12


def get(node, tok, url):
    try:
        c = pt.RawConn(node.http_port, timeout=5)
    except OSError:
        return 0
    try:
        return c.request("GET", url, token=tok)[0]
    except OSError:
        return 0
    finally:
        c.close()


def store(node):
    return node.api("GET", "/proxy/v1/status")[1].get("store", {})


def metric(node, name):
    st, body = node.api("GET", "/metrics")
    text = body if isinstance(body, str) else json.dumps(body)
    for line in text.splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return None


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-down-")
    with pgtest.Postgres() as pg, origins.HTTPOrigin() as o, \
            fpmod.open_or_skip(os.path.join(tmp, "fp")) as fp:
        uri = pg.create_db("fleet")
        nodes = []
        try:
            nodes = pgtest.fleet(uri, 2, tmp, extra=fp.airlock_flags() + pt.pins("origin.test", o.port))
            n1, n2 = nodes
            url = "http://origin.test:%d/echo" % o.port
            tok = pt.client(n1, "web-1")
            pt.allow(n1, "web-1", "origin.test", "--port", str(o.port))
            for n in nodes:
                h.wait_for(lambda: get(n, tok, url) == 200, timeout=2, what="bare rule on each node")

            # a login whose refreshed token lives 12 s (refreshed once, then
            # the token endpoint answers 503 with Retry-After 60)
            fp.set_expires_in("claude", TOKEN_LIFE_S)
            fp.delay("claude", 0.5)
            f = fp.login_claude(expires_in=0)
            st, _ = n1.api("POST", "/proxy/v1/secrets", {"name": "c", "type": "oauth-claude",
                                                         "value": json.dumps(f)})
            h.check_eq(st, 201, "adopt")
            h.wait_for(lambda: fp.stats("claude")["refreshes"] >= 1, timeout=10, what="first refresh")
            fp.fail("claude", 503, times=100, retry_after=60)
            fp.quiesce()
            time.sleep(0.5)
            asker = fpmod.Asker(os.path.join(n2.state_dir, "ipc.sock"))
            a = asker.ask("c", "api.anthropic.com")
            h.check("error" not in a, "node 2 injects the refreshed token: %r" % a.get("error"))
            cached = fpmod.hdrs(a)["authorization"]
            minted = time.time()

            # load: bare-rule requests on both nodes all through the outage
            refused = []
            done = threading.Event()

            def load():
                while not done.is_set():
                    for n in nodes:
                        st = get(n, tok, url)
                        if st != 200:
                            refused.append(st)
                    time.sleep(0.1)
            t = threading.Thread(target=load, daemon=True)
            t.start()

            pg.stop()
            down_at = time.monotonic()
            for n in nodes:
                h.wait_for(lambda: store(n).get("connected") is False, timeout=5, what="store seen gone")
            st, body = n2.api("POST", "/proxy/v1/clients", {"name": "web-2"})
            h.check_eq(st, 503, "an API write while the store is gone: %r" % body)
            h.check("not reachable" in body.get("error", ""), "the 503 says why: %r" % body)
            h.check_eq(metric(n1, "airlock_store_up"), "0", "/metrics says the store is gone")
            # the status answer, store down included, is what docs/openapi.yaml says
            doc = openapidoc.load()
            schema = openapidoc.resolve(doc, doc["components"]["schemas"]["Status"])
            errs = openapidoc.validate(schema, n1.api("GET", "/proxy/v1/status")[1])
            h.check(not errs, "status (store down) matches the OpenAPI schema: %s" % errs)
            p = n1.cli("store", "check")
            h.check_eq(p.returncode, 1, "store check exits 1 while the store is gone: " + p.stdout)
            h.check("connected: no" in p.stdout, p.stdout)

            a = asker.ask("c", "api.anthropic.com")
            if time.time() < minted + TOKEN_LIFE_S - 1:
                h.check("error" not in a and fpmod.hdrs(a)["authorization"] == cached,
                        "the cached token is still injected: %r" % a.get("error"))
            h.wait_for(lambda: time.time() > minted + TOKEN_LIFE_S + 1, timeout=TOKEN_LIFE_S + 5,
                       what="the cached token expires")
            a = asker.ask("c", "api.anthropic.com")
            h.check_eq(a.get("error"), "store-unavailable", "an expired token with the store gone")

            left = OUTAGE_S - (time.monotonic() - down_at)
            if left > 0:
                time.sleep(left)
            pg.start()
            for n in nodes:
                h.wait_for(lambda: store(n).get("connected") is True, timeout=10,
                           what="the node reconnects by itself")
            done.set()
            t.join(10)
            h.check_eq(refused, [], "bare rules were served through the outage")
            print("store down %.1f s; bare-rule requests refused: %d" % (time.monotonic() - down_at,
                                                                        len(refused)))

            tok2 = pt.client(n1, "web-2")
            pt.allow(n1, "web-2", "origin.test", "--port", str(o.port))
            h.wait_for(lambda: get(n2, tok2, url) == 200, timeout=2,
                       what="a write after the outage reaches node 2")
            h.check_eq(metric(n2, "airlock_store_up"), "1", "/metrics says the store is back")
            asker.close()
            for n in nodes:
                n.check_alive()
        finally:
            for n in reversed(nodes):
                n.stop()


h.run(main)
