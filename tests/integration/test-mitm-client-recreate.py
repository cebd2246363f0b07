"""An intercepted connection belongs to the client instance (token) that
opened it. Client c3 with a secret rule opens CONNECT + TLS; its token is
rotated the usual way (client delete, client create, the same allow): the
old connection is closed at once, its next request gets no answer, the
origin never receives the secret from it after the delete, and the log says
client-revoked; a CONNECT with the old token gets 407 and the new token
works. Negative twin: a change that does not touch c3 (a rule for another
client) leaves the connection open, injecting as before."""
import json

import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    # one worker: once a probe sees a policy change, so does every connection
    with mt.Setup(flags=["--workers", "1"], names=("origin.test", "other.test")) as s:
        al, port, origin = s.al, s.port, s.origin
        value = mt.secret_value("c3")
        mt.secret(al, "s1", "origin.test", value)
        tok = pt.client(al, "c3")
        pt.allow(al, "c3", "origin.test", "--port", str(port), "--secret", "s1")
        tok9 = pt.client(al, "c9")
        hostv = "origin.test:%d" % port

        def injected(body):
            return mt.carried(body, "Bearer " + value)

        def works(t, path):
            c = mt.Inner(al, t, "origin.test", port)
            if c.connect_status != 200:
                c.close()
                return False
            st, _, body = c.get(path, hostv)
            c.close()
            return st == 200 and injected(body)
        h.wait_for(lambda: works(tok, "/echo/probe"), timeout=10, what="c3's secret rule")

        old = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(old.connect_status, 200, "CONNECT")
        st, _, body = old.get("/echo/old", hostv)
        h.check(st == 200 and injected(body), "the open connection injects c3's secret (status %d)" % st)

        # negative twin: a rule for another client leaves c3's connection alone
        pt.allow(al, "c9", "other.test", "--port", str(port))

        def c9_allowed():
            c = pt.RawConn(al.http_port)
            c.send(b"CONNECT other.test:%d HTTP/1.1\r\nHost: other.test\r\nProxy-Authorization: %s\r\n\r\n"
                   % (port, pt.basic(tok9).encode()))
            st = c.read_head()[0]
            c.close()
            return st == 200
        h.wait_for(c9_allowed, timeout=10, what="the rule for c9")
        st, _, body = old.get("/echo/old", hostv)
        h.check(st == 200 and injected(body), "an unrelated change keeps the connection (status %d)" % st)
        sent_old = sum(1 for r in origin.requests if r[1] == "/echo/old")
        h.check_eq(sent_old, 2, "requests of the old connection at the origin")

        # the token rotated the usual way
        p = al.cli("client", "delete", "c3")
        h.check(p.returncode == 0, "client delete: %s" % p.stderr)
        tok2 = pt.client(al, "c3")
        pt.allow(al, "c3", "origin.test", "--port", str(port), "--secret", "s1")
        h.wait_for(lambda: works(tok2, "/echo/new"), timeout=10, what="the new c3 instance")

        stale = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(stale.connect_status, 407, "a new CONNECT with the old token")
        stale.close()

        h.check(old.closed(timeout=5), "the old instance's connection was closed")
        try:
            st, _, _ = old.get("/echo/old", hostv)
            h.check(False, "the old connection still answered (status %d)" % st)
        except (EOFError, OSError):
            pass
        old.close()
        h.check_eq(sum(1 for r in origin.requests if r[1] == "/echo/old"), sent_old,
                   "requests of the old connection at the origin after the delete")
        h.wait_for(lambda: any("connection closed" in l and "client=c3" in l and "reason=client-revoked" in l
                               for l in al.log_text().splitlines()),
                   timeout=5, what="the closing reason in the log")
        mt.check_no_secret(al, value)
        al.check_alive()


h.run(main)
