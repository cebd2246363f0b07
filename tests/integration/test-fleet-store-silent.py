"""A fleet store that takes connections and never answers (a host that
went silent, a firewall that drops): the node's reconnects must not block
its broker. One airlock node on a PostgreSQL of the test's own over TCP
with verified TLS; the database is stopped and its port is taken by a
listener that accepts and says nothing, for 10 s.

- the node says the store is gone, and why ("did not answer");
- meanwhile its API answers at once (no status call takes 2 s or more:
  a reconnect that blocked the broker's loop would hold every call for up
  to its 3 s connect bound, once a second) and a rule with a bearer secret
  keeps injecting (each such request needs the broker's answer);
- the silent listener closed and PostgreSQL started again, the node
  reconnects by itself."""
import os
import socket
import tempfile
import threading
import time

import airlock_harness as h
import mitmtest as mt
import origins
import pgtest
import proxytest as pt

SILENT_S = 10
SECRET = mt.secret_value("silent")


def main():
    pgtest.require()
    tmp = tempfile.mkdtemp(prefix="airlock-fleet-silent-")
    ca = origins.TestCA(os.path.join(tmp, "ca"), names=("pg.test", "origin.test"))
    with pgtest.Postgres(tcp=True, tls=ca) as pg, origins.HTTPOrigin(tls=ca) as o:
        pg.create_db("fleet")
        uri = pg.tcp_uri("fleet", host="pg.test", sslmode="verify-full", sslrootcert=ca.ca_cert)
        n = pgtest.node(uri, tmp, 1, extra=["--upstream-ca", ca.ca_cert] +
                        pt.pins("origin.test", o.port))
        try:
            tok = pt.client(n, "web-1")
            mt.secret(n, "api-key", "origin.test", SECRET)
            pt.allow(n, "web-1", "origin.test", "--port", str(o.port), "--secret", "api-key")
            url = "https://origin.test:%d/echo/x" % o.port

            def injected():
                r = mt.curl(n, tok, url)
                return r.returncode == 0 and mt.carried(r.stdout, "Bearer " + SECRET)
            h.wait_for(injected, timeout=3, what="the secret is injected")

            pg.stop()
            silent = socket.socket()
            silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            silent.bind(("127.0.0.1", pg.port))
            silent.listen(64)
            held = []
            stop = threading.Event()

            def accept():
                silent.settimeout(0.2)
                while not stop.is_set():
                    try:
                        held.append(silent.accept()[0])
                    except OSError:
                        pass
            t = threading.Thread(target=accept, daemon=True)
            t.start()
            try:
                h.wait_for(lambda: n.api("GET", "/proxy/v1/status")[1].get("store", {})
                           .get("connected") is False, timeout=15, what="the store seen gone")
                slow, calls, misses = [], 0, 0
                end = time.monotonic() + SILENT_S
                while time.monotonic() < end:
                    t0 = time.monotonic()
                    n.api("GET", "/proxy/v1/status")
                    took = time.monotonic() - t0
                    calls += 1
                    if took >= 2.0:
                        slow.append(round(took, 2))
                    if not injected():
                        misses += 1
                    time.sleep(0.1)
                st = n.api("GET", "/proxy/v1/status")[1]["store"]
                print("silent store %d s: %d status calls, %d took >= 2 s; connects tried: %d; "
                      "injections refused: %d" % (SILENT_S, calls, len(slow), len(held), misses))
                h.check_eq(slow, [], "no API call waited on a reconnect")
                h.check_eq(misses, 0, "injection went on while the store was silent")
                h.check(len(held) >= 2, "the node kept trying (%d connections)" % len(held))
                h.check("did not answer" in st.get("error", ""), "status says why: %r" % st)
            finally:
                stop.set()
                t.join(5)
                for c in held:
                    c.close()
                silent.close()
            pg.start()
            h.wait_for(lambda: n.api("GET", "/proxy/v1/status")[1]["store"].get("connected") is True,
                       timeout=10, what="the node reconnects by itself")
            h.wait_for(injected, timeout=3, what="injection after the store is back")
            n.check_alive()
        finally:
            n.stop()


h.run(main)
