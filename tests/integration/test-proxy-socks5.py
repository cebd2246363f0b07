"""SOCKS5 on the plain listener: the same identity, rules, deny set,
passthrough, interception and logging as an HTTP CONNECT.

curl with socks5h://proxy:TOKEN@ reaches an HTTP origin and an HTTPS origin
(bare rule: blind tunnel, the origin's own certificate), and an intercepted
host (a --method rule: airlock's minted leaf, the inner request checked and
logged); ssh reaches sshd over a passthrough rule with Debian's ncat as its
ProxyCommand (--proxy-type socks5 --proxy-auth proxy:TOKEN); a raw client
echoes bytes through a passthrough port. Every decision line says
via=socks5. Twins and refusals, each with the protocol's own code and the
connection closed: a host without a rule (REP 2, reason no-rule), an address
in the deny set (REP 2, denied-address), a wrong token (RFC 1929 status 1),
a client offering only "no authentication" (method 0xFF), BIND and UDP
ASSOCIATE (REP 7), an unknown address type (REP 8), SOCKS4 (CD 91). HTTP on
the same listener still works, and the token never reaches the log."""
import os
import shutil
import socket
import struct
import subprocess

import airlock_harness as h
import origins
import proxytest as pt


def socks_url(al, tok):
    return "socks5h://proxy:%s@127.0.0.1:%d" % (tok, al.http_port)


def raw(al):
    s = socket.create_connection(("127.0.0.1", al.http_port), timeout=10)
    return s


def recv_n(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            break
        out += d
    return out


def closed(s, timeout=5.0):
    """The server ends the connection after a refusal (RFC 1928: within 10 s)."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(4096):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def negotiate(al, tok, user=b"proxy"):
    s = raw(al)
    s.sendall(b"\x05\x01\x02")
    h.check_eq(recv_n(s, 2), b"\x05\x02", "username/password chosen")
    t = tok.encode()
    s.sendall(bytes([1, len(user)]) + user + bytes([len(t)]) + t)
    return s, recv_n(s, 2)


def request(s, cmd, atyp, addr, port):
    s.sendall(bytes([5, cmd, 0, atyp]) + addr + struct.pack(">H", port))
    return recv_n(s, 10)


def name(host):
    return bytes([len(host)]) + host.encode()


def main():
    if not shutil.which("curl"):
        h.skip("curl is needed")
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir, names=("tls.test", "mitm.test"))
        with origins.HTTPOrigin() as o, origins.HTTPOrigin(tls=ca) as t, origins.TCPEcho() as echo, \
                origins.HTTPOrigin(tls=ca) as m:
            ssh_srv = None
            if shutil.which("ssh") and shutil.which("ncat") and os.path.exists("/usr/sbin/sshd"):
                try:
                    ssh_srv = origins.SSHServer(al.tmpdir).__enter__()
                except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                    h.log("no sshd here (%s): the ssh half is not run" % e)
            else:
                h.log("ssh, sshd or ncat missing: the ssh half is not run")
            try:
                al.extra_flags += (pt.pins("origin.test", o.port) + pt.pins("tls.test", t.port) +
                                   pt.pins("echo.test", echo.port) + pt.pins("mitm.test", m.port) +
                                   ["--upstream-ca", ca.ca_cert])
                if ssh_srv:
                    al.extra_flags += pt.pins("ssh.test", ssh_srv.port)
                al.start()
                tok = pt.client(al, "web-1")
                pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
                pt.allow(al, "web-1", "tls.test", "--port", str(t.port))
                pt.allow(al, "web-1", "echo.test", "--port", str(echo.port), "--passthrough")
                pt.allow(al, "web-1", "mitm.test", "--port", str(m.port), "--method", "GET")

                # plain HTTP origin through a blind tunnel
                r = h.wait_for(lambda: (lambda c: c if pt.status_of(c) == "200" else None)(
                    pt.curl("-o", "/dev/null", "-w", "%{http_code}", "--proxy", socks_url(al, tok),
                            "http://origin.test:%d/echo" % o.port)), timeout=10, what="curl socks5h, http")
                d = pt.wait_decision(al, lambda d: d.get("host") == "origin.test" and d["verdict"] == "allow",
                                     "the SOCKS CONNECT's line")
                h.check_eq((d.get("method"), d.get("via"), d.get("client"), d.get("port")),
                           ("CONNECT", "socks5", "web-1", str(o.port)), "decision line fields")

                # HTTPS through a bare rule: the origin's own certificate
                r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca.ca_cert, "--proxy",
                            socks_url(al, tok), "https://tls.test:%d/echo" % t.port)
                h.check_eq(pt.status_of(r), "200", "curl socks5h, blind TLS tunnel: %s" % r.stderr)

                # an intercepted host: airlock's leaf, the inner request decided and logged
                r = pt.curl("-w", "%{http_code}", "--cacert", al.ca_cert, "--proxy", socks_url(al, tok),
                            "https://mitm.test:%d/echo" % m.port)
                h.check_eq(pt.status_of(r), "200", "curl socks5h, intercepted: %s" % r.stderr)
                d = pt.wait_decision(al, lambda d: d.get("host") == "mitm.test" and d.get("method") == "GET",
                                     "the intercepted request's line")
                h.check_eq((d["verdict"], d.get("path"), d.get("via")), ("allow", "/echo", "socks5"),
                           "inner request checked and logged")
                r = pt.curl("-w", "%{http_code}", "-X", "POST", "--cacert", al.ca_cert, "--proxy",
                            socks_url(al, tok), "https://mitm.test:%d/echo" % m.port)
                h.check_eq(pt.status_of(r), "403", "twin: POST inside the intercepted tunnel refused")

                # twin: a host without a rule
                r = pt.curl("-o", "/dev/null", "--proxy", socks_url(al, tok), "http://other.test:%d/" % o.port)
                h.check(r.returncode != 0, "curl to a host without a rule fails")
                d = pt.wait_decision(al, lambda d: d.get("host") == "other.test", "the refusal's line")
                h.check_eq((d["verdict"], d.get("reason"), d.get("via")), ("deny", "no-rule", "socks5"),
                           "refusal logged")
                s, st = negotiate(al, tok)
                h.check_eq(st, b"\x01\x00", "RFC 1929 success")
                h.check_eq(request(s, 1, 3, name("other.test"), 80)[:2], b"\x05\x02", "REP 2: not allowed")
                h.check(closed(s), "closed after the refusal")

                # the deny set: an address literal in it, and a pinned name's address asked directly
                s, st = negotiate(al, tok)
                h.check_eq(request(s, 1, 1, socket.inet_aton("127.0.0.1"), o.port)[:2], b"\x05\x02",
                           "REP 2 for loopback")
                s.close()

                # passthrough with a raw client, bytes behind the request included
                s, st = negotiate(al, tok)
                h.check_eq(request(s, 1, 3, name("echo.test"), echo.port), b"\x05\x00\x00\x01" + bytes(6),
                           "REP 0 with BND 0.0.0.0:0")
                s.sendall(b"ping through socks")
                h.check_eq(recv_n(s, 18), b"ping through socks", "echoed")
                s.close()
                s = raw(al)
                t_ = tok.encode()
                s.sendall(b"\x05\x01\x02" + b"\x01\x05proxy" + bytes([len(t_)]) + t_ +
                          b"\x05\x01\x00\x03" + name("echo.test") + struct.pack(">H", echo.port) + b"early")
                h.check_eq(recv_n(s, 14), b"\x05\x02\x01\x00\x05\x00\x00\x01" + bytes(6),
                           "all three messages at once")
                h.check_eq(recv_n(s, 5), b"early", "bytes behind the request reach the tunnel")
                s.close()

                # refusals at the SOCKS layer
                s, st = negotiate(al, "alk_wrong")
                h.check_eq(st, b"\x01\x01", "wrong token: RFC 1929 failure")
                h.check(closed(s), "closed after the auth failure")
                pt.wait_decision(al, lambda d: d.get("reason") == "proxy-auth-failed" and d.get("via") == "socks5",
                                 "the auth failure's line")
                s = raw(al)
                s.sendall(b"\x05\x01\x00")
                h.check_eq(recv_n(s, 2), b"\x05\xff", "no-auth only: no acceptable method")
                h.check(closed(s), "closed after 0xFF")
                for cmd, what in ((2, "BIND"), (3, "UDP ASSOCIATE")):
                    s, st = negotiate(al, tok)
                    h.check_eq(request(s, cmd, 1, socket.inet_aton("10.0.0.1"), 80)[:2], b"\x05\x07",
                               "%s: command not supported" % what)
                    h.check(closed(s), "closed after refusing %s" % what)
                pt.wait_decision(al, lambda d: d.get("method") == "UDP-ASSOCIATE" and
                                 d.get("reason") == "socks-command-refused", "UDP ASSOCIATE's line")
                s, st = negotiate(al, tok)
                s.sendall(b"\x05\x01\x00\x09\x00\x00")
                h.check_eq(recv_n(s, 2), b"\x05\x08", "unknown ATYP")
                s.close()
                s, st = negotiate(al, tok)
                s.sendall(b"\x05\x01\x00\x03\x05a b\r\n" + struct.pack(">H", 80))
                h.check_eq(recv_n(s, 2), b"\x05\x01", "a name with a space and CR LF: general failure")
                s.close()
                s = raw(al)
                s.sendall(b"\x04\x01\x00\x50\x0a\x00\x00\x01proxy\x00")
                h.check_eq(recv_n(s, 8), b"\x00\x5b" + bytes(6), "SOCKS4: request rejected")
                h.check(closed(s), "closed after the SOCKS4 refusal")

                # HTTP on the same listener is untouched
                r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "--proxy", al.proxy_url(tok),
                            "http://origin.test:%d/echo" % o.port)
                h.check_eq(pt.status_of(r), "200", "HTTP proxying on the plain listener")

                if ssh_srv:
                    pt.allow(al, "web-1", "ssh.test", "--port", str(ssh_srv.port), "--passthrough")
                    pc = "ncat --proxy 127.0.0.1:%d --proxy-type socks5 --proxy-auth proxy:%s %%h %%p" % (
                        al.http_port, tok)
                    cmd = ["ssh", "-F", "/dev/null", "-i", ssh_srv.key, "-p", str(ssh_srv.port),
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                           "-o", "ProxyCommand=" + pc, "%s@ssh.test" % os.environ.get("USER", "root"),
                           "echo", "through-socks"]
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                    h.check_eq((r.returncode, r.stdout.strip()), (0, "through-socks"),
                               "ssh with ncat --proxy-type socks5: %s" % r.stderr)
                    d = pt.wait_decision(al, lambda d: d.get("host") == "ssh.test" and d["verdict"] == "allow"
                                         and int(d.get("bytes_down") or 0) > 0, "ssh's passthrough line")
                    h.check_eq(d.get("via"), "socks5", "ssh came by SOCKS5")
                    bad = pc.replace(tok, "alk_wrong")
                    r = subprocess.run([c if not c.startswith("ProxyCommand=") else "ProxyCommand=" + bad
                                        for c in cmd], capture_output=True, text=True, timeout=60)
                    h.check(r.returncode != 0, "twin: ssh with a wrong token fails")
                h.check(tok not in al.log_text(), "the token is not in the log")
                al.check_alive()
            finally:
                if ssh_srv:
                    ssh_srv.__exit__(None, None, None)


h.run(main)
