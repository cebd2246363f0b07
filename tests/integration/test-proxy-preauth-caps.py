"""Connections without a token have their own budget: one source filling
its pre-auth cap (connections that got a 407, never authenticating) does not
stop an authenticated client, whose connections are not limited by the
pre-auth caps; past the per-source cap a new connection from that source is
closed at once (negative twin), and past the total pre-auth cap (stalled TLS
handshakes on the TLS listener count too) any new one is. A pre-auth
connection lives on one head deadline from accept that 407s do not renew,
while an authenticated one opened at the same time lives on. The refusal
warning is rate-limited."""
import re
import socket
import ssl
import time

import airlock_harness as h
import origins
import proxytest as pt

PER_SOURCE = 4
TOTAL = 8
HEAD_S = 8        # --head-timeout: the pre-auth deadline; idle keep-alive stays 60 s
LEGIT_CONNS = 10  # more than either pre-auth cap


def refused_at_once(port, source):
    """A new connection from source is closed without any answer."""
    try:
        c = pt.RawConn(port, source=source, timeout=5)
    except OSError:
        return True
    try:
        c.s.settimeout(5)
        d = c.s.recv(4096)
        h.check(d == b"", "a refused connection got bytes: %r" % d[:40])
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        c.close()


def got_407(c):
    st = c.request("GET", "http://origin.test/echo")[0]
    h.check_eq(st, 407, "a request without a token")
    return True


def stalled_tls(port, source):
    """Start a TLS handshake on the TLS listener, read the server's first
    flight (so the proxy has accepted it), and never finish it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(out.read())
    h.check(s.recv(65536) != b"", "the TLS listener answered the ClientHello")
    return s


def main():
    with origins.HTTPOrigin() as o:
        flags = pt.pins("origin.test", o.port) + [
            "--max-preauth-per-source", str(PER_SOURCE), "--max-preauth-conns", str(TOTAL),
            "--head-timeout", "%ds" % HEAD_S]
        with h.Airlock(extra_flags=flags) as al:
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
            url = "http://origin.test:%d/echo" % o.port
            kept = pt.RawConn(al.http_port)
            h.wait_for(lambda: kept.request("GET", url, token=tok)[0] == 200, timeout=10, what="allowed")

            # a pre-auth connection and an authenticated one, opened together
            t0 = time.monotonic()
            pre = pt.RawConn(al.http_port, source="127.0.0.5")
            got_407(pre)
            auth = pt.RawConn(al.http_port)
            h.check_eq(auth.request("GET", url, token=tok)[0], 200, "authenticated connection")

            # one source fills its pre-auth cap with connections that got a 407
            held = []
            for i in range(PER_SOURCE):
                c = pt.RawConn(al.http_port, source="127.0.0.2")
                got_407(c)
                held.append(c)
            # negative twin: past the cap, a new one from that source is closed at once
            h.check(refused_at_once(al.http_port, "127.0.0.2"), "connection %d from 127.0.0.2 closed at once"
                    % (PER_SOURCE + 1))
            # ... but another source is served, and an authenticated client holds
            # more connections than either pre-auth cap
            legit = []
            for i in range(LEGIT_CONNS):
                c = pt.RawConn(al.http_port)
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "authenticated connection %d" % (i + 1))
                legit.append(c)
            for i, c in enumerate(legit):
                h.check_eq(c.request("GET", url, token=tok)[0], 200, "held authenticated connection %d" % (i + 1))

            # the total: stalled TLS handshakes count as pre-auth too
            stalled = [stalled_tls(al.https_port, "127.0.0.3") for _ in range(TOTAL - PER_SOURCE - 1)]
            h.check(refused_at_once(al.http_port, "127.0.0.4"), "past the total pre-auth cap: closed at once")
            # a burst of refusals logs few lines; a later line counts the rest
            b0 = time.monotonic()
            for _ in range(20):
                h.check(refused_at_once(al.http_port, "127.0.0.2"), "refused in the burst")
            h.wait_for(lambda: refused_at_once(al.http_port, "127.0.0.2") and
                       re.search(r"also_refused=[1-9]", al.log_text()), timeout=5,
                       what="a warning that counts the refusals it stood for")
            burst_s = time.monotonic() - b0
            for c in held:
                h.check(got_407(c), "the held pre-auth connections are still open")
            stalled.pop().close()
            h.wait_for(lambda: not refused_at_once(al.http_port, "127.0.0.4"), timeout=10,
                       what="a place in the total frees when a pre-auth connection closes")

            # the deadline from accept: repeated 407s do not renew it
            def pre_closed():
                try:
                    st = pre.request("GET", "http://origin.test/echo")[0]
                except (EOFError, OSError):
                    return True
                if st == 408:   # the deadline's answer, then the close
                    return pre.closed()
                h.check_eq(st, 407, "a request without a token")
                return False
            h.wait_for(pre_closed, timeout=HEAD_S + 10, what="the pre-auth connection to close")
            took = time.monotonic() - t0
            h.log("pre-auth connection closed after %.1f s (head timeout %d s)" % (took, HEAD_S))
            h.check(took < HEAD_S + 5, "closed after %.1f s: on the head deadline, not the idle timer" % took)
            h.check_eq(auth.request("GET", url, token=tok)[0], 200,
                       "the authenticated connection opened with it is still open")

            text = al.log_text()
            warns = [l for l in text.splitlines() if "connection refused: pre-auth cap" in l]
            h.check(any("cap=max-preauth-per-source" in l and "src=127.0.0.2" in l for l in warns),
                    "per-source refusal logged: %s" % warns)
            h.check(any("cap=max-preauth-conns" in l for l in warns), "total refusal logged: %s" % warns)
            h.check(len(warns) <= burst_s + 4, "%d warning lines for a burst of refusals in %.1f s"
                    % (len(warns), burst_s))
            for c in [pre, auth, kept] + held + legit:
                c.close()
            for s in stalled:
                s.close()
            al.check_alive()


h.run(main)
