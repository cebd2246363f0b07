"""airlock-agent in an isolated sandbox, with no proxy variables at all.

The sandbox (netns + veth, the platform's drop-all firewall, a private mount
namespace) trusts a "world" CA in its system store, as an image trusts the
public roots; airlock runs on the host end with the origins' names pinned.
After `airlock-agent install HOST:PORT --token - --ca airlock-ca.pem`:
names resolve to stand-in addresses (198.18.0.0/15), AAAA and TXT have no
records; curl (HTTP, HTTPS through a bare rule's blind tunnel, and an
intercepted host whose leaf airlock mints, trusted through the CA that
--ca put in the store), git clone over HTTPS, Python urllib, and Node's
https.get reach the allowed hosts; a host without a rule gets airlock's 403
with X-Airlock-Reason over HTTP (curl and urllib read it) and a refused
connection over HTTPS, both logged by airlock with the client's name; a raw
TCP client reaches a passthrough port; UDP other than DNS never leaves;
programs hanging up mid-download leave the agent running.
Installing again changes nothing; uninstall puts back the nft ruleset, the
routes, resolv.conf and the CA store exactly as they were (and a second
uninstall says so). The host's own /etc/resolv.conf is never touched. The
agent's log has no sanitizer report and no token. Needs root and ip netns:
skipped (77) otherwise."""
import hashlib
import os
import shutil
import socket
import sys
import threading

import agenttest as at
import airlock_harness as h
import netns
import origins
import proxytest as pt

NODE_GET = r"""
const https = require('https');
https.get(process.argv[2], (res) => {
  let n = 0; res.on('data', (d) => n += d.length);
  res.on('end', () => { console.log(res.statusCode, n); });
}).on('error', (e) => { console.error(String(e)); process.exit(1); });
"""

DNS_QUERY = r"""
import socket, struct, sys
name, qtype = sys.argv[1], int(sys.argv[2])
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("127.0.0.1", 53))
a = s.recv(512)
print(a[3] & 15, struct.unpack(">H", a[6:8])[0])
"""

ECHO = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"raw bytes through the agent")
got = b""
while len(got) < 27:
    d = s.recv(100)
    if not d:
        break
    got += d
print(got.decode())
"""

UDP_SEND = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"udp out", (sys.argv[1], int(sys.argv[2])))
    print("sent")
except OSError as e:
    print("refused", e.errno)
"""


def main():
    netns.require_root()
    host_resolv = hashlib.sha256(open("/etc/resolv.conf", "rb").read()).hexdigest()
    with h.Airlock(start=False) as al, netns.Sandbox(al.tmpdir) as sb:
        world = origins.TestCA(os.path.join(al.tmpdir, "world"), names=("origin.test", "git.test"))
        upstream = origins.TestCA(os.path.join(al.tmpdir, "up"), names=("mitm.test",))
        # the sandbox's system store trusts the world CA (its "public roots")
        shutil.copy(world.ca_cert, os.path.join(sb.dir, "local-ca", "world-test.crt"))
        r = sb.run(["update-ca-certificates"])
        h.check_eq(r.returncode, 0, "the sandbox's store: %s" % r.stderr)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((sb.host_addr, 0))
        udp.settimeout(0.5)
        with origins.HTTPOrigin() as o, origins.HTTPOrigin(tls=world) as s, \
                origins.GitServer(al.tmpdir, world) as g, origins.HTTPOrigin(tls=upstream) as m, \
                origins.TCPEcho() as echo:
            al.extra_flags += (["--bind", sb.host_addr, "--upstream-ca", upstream.ca_cert] +
                               pt.pins("origin.test", o.port, s.port) + pt.pins("git.test", g.port) +
                               pt.pins("mitm.test", m.port) + pt.pins("echo.test", echo.port))
            al.start()
            sb.isolate([al.http_port, al.https_port])
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--port", str(s.port))
            pt.allow(al, "web-1", "git.test", "--port", str(g.port))
            pt.allow(al, "web-1", "mitm.test", "--port", str(m.port), "--method", "GET")
            pt.allow(al, "web-1", "echo.test", "--port", str(echo.port), "--passthrough")
            ca = os.path.join(sb.dir, "airlock-ca.pem")
            shutil.copy(al.ca_cert, ca)

            before = at.snapshot(sb)
            r = sb.run(["curl", "-sS", "-m", "5", "http://origin.test:%d/" % o.port])
            h.check(r.returncode != 0, "twin: before install nothing resolves or leaves")
            at.install(sb, al, tok, "--ca", ca)

            # DNS: stand-in addresses, nothing else
            r = sb.run(["getent", "ahostsv4", "origin.test"])
            h.check(r.returncode == 0 and r.stdout.startswith("198.18."), "stand-in address: %r" % r.stdout)
            for qtype, want in ((1, "0 1"), (28, "0 0"), (16, "0 0")):
                r = sb.run([sys.executable, "-c", DNS_QUERY, "origin.test", str(qtype)])
                h.check_eq(r.stdout.strip(), want, "DNS type %d (rcode, answers): %s" % (qtype, r.stderr))

            def curl(*args):
                return sb.run(["curl", "-sS", "-m", "20", "-w", "\n%{http_code}"] + list(args))
            r = curl("https://origin.test:%d/echo" % s.port)
            h.check(r.stdout.endswith("\n200") and '"path": "/echo"' in r.stdout,
                    "curl, HTTPS through a blind tunnel, the world CA from the store: %r %s"
                    % (r.stdout[-200:], r.stderr))
            r = curl("http://origin.test:%d/echo" % o.port)
            h.check(r.stdout.endswith("\n200"), "curl, HTTP: %r %s" % (r.stdout[-100:], r.stderr))
            r = curl("https://mitm.test:%d/echo" % m.port)
            h.check(r.stdout.endswith("\n200"), "curl, intercepted (airlock's CA from --ca): %s" % r.stderr)
            d = pt.wait_decision(al, lambda d: d.get("host") == "mitm.test" and d.get("method") == "GET",
                                 "the intercepted request's line")
            h.check_eq((d["verdict"], d.get("path"), d.get("client")), ("allow", "/echo", "web-1"), "decided inside")
            r = curl("-i", "http://other.test/")
            h.check(r.stdout.endswith("\n403") and "X-Airlock-Reason: no-rule" in r.stdout,
                    "curl, a host without a rule, HTTP: %r" % r.stdout)
            r = curl("https://other.test/")
            h.check(r.returncode != 0, "curl, a host without a rule, HTTPS: refused")
            d = pt.wait_decision(al, lambda d: d.get("host") == "other.test" and d.get("port") == "443",
                                 "the HTTPS refusal's line")
            h.check_eq((d["verdict"], d.get("reason"), d.get("client")), ("deny", "no-rule", "web-1"),
                       "refused by airlock, for this client")

            dest = os.path.join(sb.dir, "clone")
            r = sb.run(["git", "-c", "protocol.version=2", "clone", "-q", g.url("git.test"), dest])
            h.check_eq(r.returncode, 0, "git clone over HTTPS: %s" % r.stderr)
            with open(os.path.join(dest, "README")) as f:
                h.check_eq(f.read(), "hello through airlock\n", "cloned content")

            py = ("import urllib.request, urllib.error, sys\n"
                  "try:\n    print(urllib.request.urlopen(sys.argv[1], timeout=20).status)\n"
                  "except urllib.error.HTTPError as e:\n    print(e.code, e.headers.get('X-Airlock-Reason'))\n")
            r = sb.run([sys.executable, "-c", py, "https://origin.test:%d/echo" % s.port])
            h.check_eq(r.stdout.strip(), "200", "Python urllib, HTTPS: %s" % r.stderr[-300:])
            r = sb.run([sys.executable, "-c", py, "http://other.test/x"])
            h.check_eq(r.stdout.strip(), "403 no-rule", "Python urllib reads the 403: %s" % r.stderr[-300:])

            if shutil.which("node"):
                js = os.path.join(sb.dir, "get.js")
                with open(js, "w") as f:
                    f.write(NODE_GET)
                # Node keeps its own list of roots: NODE_EXTRA_CA_CERTS adds the
                # sandbox's store to it (a CA variable, not a proxy one)
                env = {"PATH": "/usr/bin:/bin", "HOME": sb.dir,
                       "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt"}
                for url in ("https://origin.test:%d/echo" % s.port, "https://mitm.test:%d/echo" % m.port):
                    r = sb.run(["node", js, url], env=env)
                    h.check(r.stdout.startswith("200 "), "node https.get %s: %r %s" % (url, r.stdout, r.stderr))
            else:
                h.log("node is not installed: not tried")

            r = sb.run([sys.executable, "-c", ECHO, "echo.test", str(echo.port)])
            h.check_eq(r.stdout.strip(), "raw bytes through the agent", "raw TCP, passthrough: %s" % r.stderr)
            d = pt.wait_decision(al, lambda d: d.get("host") == "echo.test" and d["verdict"] == "allow",
                                 "the passthrough's line")

            # UDP other than DNS: dropped
            r = sb.run([sys.executable, "-c", UDP_SEND, sb.host_addr, str(udp.getsockname()[1])])
            got = None
            try:
                got = udp.recvfrom(100)
            except socket.timeout:
                pass
            h.check(got is None, "UDP never left the sandbox (%s)" % r.stdout.strip())

            # a program that hangs up mid-download: the agent carries on
            for _ in range(3):
                sb.run(["sh", "-c", "curl -s http://origin.test:%d/bytes/50000000 | head -c 10 >/dev/null" % o.port])
            r = at.agent(sb, "status")
            h.check(r.returncode == 0 and "daemon: running" in r.stdout, "alive after hang-ups: %r" % r.stdout)

            # again: the same install, one table, still serving
            at.install(sb, al, tok, "--ca", ca)
            r = sb.run(["nft", "list", "tables"])
            h.check_eq(r.stdout.count("airlock_agent"), 1, "one table after installing twice")
            r = curl("https://origin.test:%d/echo" % s.port)
            h.check(r.stdout.endswith("\n200"), "still serving after a second install: %s" % r.stderr)
            r = at.agent(sb, "status")
            h.check(r.returncode == 0 and "daemon: running" in r.stdout, "status: %r" % r.stdout)

            r = at.agent(sb, "uninstall")
            h.check_eq(r.returncode, 0, "uninstall: %s" % r.stderr)
            at.check_restored(sb, before, "after uninstall")
            r = at.agent(sb, "uninstall")
            h.check(r.returncode == 0 and "not installed" in r.stdout, "uninstall again: %r" % r.stdout)
            r = sb.run(["curl", "-sS", "-m", "5", "http://origin.test:%d/" % o.port])
            h.check(r.returncode != 0, "after uninstall nothing resolves or leaves again")
            text = at.check_log(sb, tok)
            h.check("via=pool" in text and "status=403 reason=no-rule" in text, "the agent logged its decisions")
            h.check(tok not in al.log_text(), "the token is not in airlock's log")
            al.check_alive()
        udp.close()
    h.check_eq(hashlib.sha256(open("/etc/resolv.conf", "rb").read()).hexdigest(), host_resolv,
               "the host's /etc/resolv.conf is untouched")


h.run(main)
