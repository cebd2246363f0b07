"""CONNECT tunnels: a passthrough rule splices TCP to an echo server and
logs byte counts and duration; revoking the rule closes the open tunnel,
and so do a TTL running out and deleting the client. Negative twin: a tunnel under an unrelated
rule change stays open."""
import socket

import airlock_harness as h
import origins
import proxytest as pt


def open_tunnel(al, tok, port):
    c = pt.RawConn(al.http_port)
    c.send(b"CONNECT echo.test:%d HTTP/1.1\r\nHost: echo.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
           % (port, port, pt.basic(tok).encode()))
    st, hd, _ = c.read_response("CONNECT")
    return c, st


def echo(c, data):
    c.send(data)
    got = b""
    c.s.settimeout(5)
    while len(got) < len(data):
        if c.buf:
            got += c.buf
            c.buf = b""
            continue
        d = c.s.recv(65536)
        if not d:
            raise EOFError("closed")
        got += d
    return got


def main():
    with origins.TCPEcho() as e, h.Airlock(extra_flags=pt.pins("echo.test", e.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough")
        h.wait_for(lambda: open_tunnel(al, tok, e.port)[1] == 200, timeout=5, what="tunnel allowed")
        c, st = open_tunnel(al, tok, e.port)
        h.check_eq(st, 200, "CONNECT answered 200")
        h.check_eq(echo(c, b"hello\n"), b"hello\n", "echo through the tunnel")
        big = bytes(range(256)) * 4096
        h.check_eq(echo(c, big), big, "1 MiB through the tunnel")
        # an unrelated change keeps the tunnel
        pt.allow(al, "web-1", "other.test")
        h.check_eq(echo(c, b"still\n"), b"still\n", "tunnel survives an unrelated change")
        pt.revoke(al, "web-1", "echo.test")
        h.check(c.closed(timeout=3), "revoking the rule closed the tunnel")
        d = pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d.get("reason") == "rule-revoked",
                             "tunnel log line")
        h.check(int(d["bytes_up"]) >= len(big) and int(d["bytes_down"]) >= len(big), "byte counts: %s" % d)
        h.check("ms" in d and d.get("status") == "200", "duration and status: %s" % d)

        pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough", "--ttl", "2s")
        h.wait_for(lambda: open_tunnel(al, tok, e.port)[1] == 200, timeout=5, what="TTL tunnel allowed")
        c, st = open_tunnel(al, tok, e.port)
        h.check_eq(echo(c, b"ttl\n"), b"ttl\n", "echo under the TTL rule")
        h.check(c.closed(timeout=6), "the TTL running out closed the tunnel")
        # and a new one is refused
        _, st = open_tunnel(al, tok, e.port)
        h.check_eq(st, 403, "CONNECT after expiry")

        # deleting the client closes its tunnels too
        pt.allow(al, "web-1", "echo.test", "--port", str(e.port), "--passthrough")
        h.wait_for(lambda: open_tunnel(al, tok, e.port)[1] == 200, timeout=5, what="allowed again")
        c, st = open_tunnel(al, tok, e.port)
        h.check_eq(echo(c, b"again\n"), b"again\n", "echo before the client is deleted")
        p = al.cli("client", "delete", "web-1")
        h.check(p.returncode == 0, "client delete: %s" % p.stderr)
        h.check(c.closed(timeout=3), "deleting the client closed its tunnel")
        al.check_alive()


h.run(main)
