"""Deleting a client closes every connection it opened at once: a plain
keep-alive connection (idle between requests), a blind CONNECT tunnel and a
passthrough tunnel, each logged with reason=client-revoked. Negative twins:
a policy change that does not touch the client (another client and its
rule added) leaves them open and working, and another client's connections
survive the delete. The per-client count stays right: the client created
again under the same name holds its full --max-conns-per-client while the
old token gets 407."""
import airlock_harness as h
import origins
import proxytest as pt

PER_CLIENT = 4


def connect(al, tok, host, port):
    c = pt.RawConn(al.http_port)
    c.send(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: %s\r\n\r\n"
           % (host.encode(), port, host.encode(), port, pt.basic(tok).encode()))
    st, _, _ = c.read_response("CONNECT")
    return c, st


def inner_get(c):
    """A plain HTTP request to the origin inside a blind tunnel."""
    c.send(b"GET /echo HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    return c.read_response()[0]


def echo(c, data):
    c.send(data)
    while len(c.buf) < len(data):
        c._fill()
    got, c.buf = c.buf[:len(data)], c.buf[len(data):]
    return got


def main():
    with origins.HTTPOrigin() as o, origins.TCPEcho() as e:
        # one worker: once a probe sees a policy change, so does every connection
        flags = pt.pins("origin.test", o.port) + pt.pins("echo.test", e.port) + [
            "--workers", "1", "--max-conns-per-client", str(PER_CLIENT)]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            tok2 = pt.client(al, "web-2")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough")
            pt.allow(al, "web-2", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port

            def served(t):
                c = pt.RawConn(al.http_port)
                st = c.request("GET", url, token=t)[0]
                c.close()
                return st == 200
            h.wait_for(lambda: served(tok) and served(tok2), timeout=10, what="both clients allowed")
            h.wait_for(lambda: connect(al, tok, "echo.test", e.port)[1] == 200, timeout=10,
                       what="the passthrough rule")

            plain = pt.RawConn(al.http_port)
            h.check_eq(plain.request("GET", url, token=tok)[0], 200, "plain keep-alive request")
            blind, st = connect(al, tok, "origin.test", o.port)
            h.check_eq(st, 200, "blind tunnel CONNECT")
            h.check_eq(inner_get(blind), 200, "request inside the blind tunnel")
            spliced, st = connect(al, tok, "echo.test", e.port)
            h.check_eq(st, 200, "passthrough CONNECT")
            h.check_eq(echo(spliced, b"hello\n"), b"hello\n", "echo through the passthrough tunnel")
            other = pt.RawConn(al.http_port)
            h.check_eq(other.request("GET", url, token=tok2)[0], 200, "web-2's keep-alive request")
            other_tun, st = connect(al, tok2, "origin.test", o.port)
            h.check_eq(st, 200, "web-2's tunnel")

            # negative twin: a change that does not touch web-1
            tok3 = pt.client(al, "web-3")
            pt.allow(al, "web-3", "origin.test", "--port", str(o.port))
            h.wait_for(lambda: served(tok3), timeout=10, what="the change for web-3")
            h.check_eq(plain.request("GET", url, token=tok)[0], 200, "plain connection after an unrelated change")
            h.check_eq(inner_get(blind), 200, "blind tunnel after an unrelated change")
            h.check_eq(echo(spliced, b"still\n"), b"still\n", "passthrough after an unrelated change")

            # delete web-1: all three close at once
            p = al.cli("client", "delete", "web-1")
            h.check(p.returncode == 0, "client delete: %s" % p.stderr)
            for c, what in ((plain, "plain keep-alive"), (blind, "blind tunnel"), (spliced, "passthrough")):
                h.check(c.closed(timeout=5), "the %s connection was closed" % what)
                c.close()
            h.check_eq(other.request("GET", url, token=tok2)[0], 200, "web-2's keep-alive connection survives")
            h.check_eq(inner_get(other_tun), 200, "web-2's tunnel survives")
            h.wait_for(lambda: sum(1 for l in al.log_text().splitlines() if "connection closed" in l and
                                   "client=web-1" in l and "reason=client-revoked" in l) >= 3,
                       timeout=5, what="three client-revoked lines")
            pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d.get("client") == "web-1" and
                             d.get("reason") == "client-revoked", "the tunnel's decision line")

            # created again under the same name: a new instance with its full count
            tok1b = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            first = pt.RawConn(al.http_port)
            h.wait_for(lambda: first.request("GET", url, token=tok1b)[0] == 200, timeout=5, what="the new web-1")
            held = [first]
            for i in range(1, PER_CLIENT):
                c = pt.RawConn(al.http_port)
                h.check_eq(c.request("GET", url, token=tok1b)[0], 200, "new web-1 connection %d of %d"
                           % (i + 1, PER_CLIENT))
                held.append(c)
            c = pt.RawConn(al.http_port)
            h.check_eq(c.request("GET", url, token=tok)[0], 407, "the old token")
            for c in held + [other, other_tun]:
                c.close()
            al.check_alive()


h.run(main)
