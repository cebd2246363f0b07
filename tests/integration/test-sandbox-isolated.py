"""The isolated sandbox, end to end (the seed's walk-through): a network
namespace joined to the host by a veth pair, airlock bound on the host end
(`airlock up --bind HOST`), and the platform's firewall inside dropping
everything but loopback and the proxy's address and ports.

Without the token nothing leaves: no DNS (getent, Python's getaddrinfo),
no direct TCP to the host's own address (a listener there) nor to any
other address, and the proxy answers 407. With the token in HTTPS_PROXY
(the only variable given, besides curl's --cacert for the origin's CA) an
allowed host answers over HTTP and HTTPS, and a host without a rule gets
airlock's 403 with X-Airlock-Reason: no-rule, as a plain request and as a
refused CONNECT. Needs root and ip netns: skipped (77) otherwise."""
import os
import socket
import sys
import threading

import airlock_harness as h
import netns
import origins
import proxytest as pt

PROBE = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=1.5).close()
    print("connected")
except OSError as e:
    print("refused: %s" % e)
"""


def main():
    netns.require_root()
    with h.Airlock(start=False) as al, netns.Sandbox(al.tmpdir) as sb:
        world = origins.TestCA(al.tmpdir, names=("origin.test",))
        # a listener on the host's end of the link: reachable only if isolation fails
        lis = socket.socket()
        lis.bind((sb.host_addr, 0))
        lis.listen(8)
        lis_port = lis.getsockname()[1]
        accepted = []
        threading.Thread(target=lambda: accepted.append(lis.accept()), daemon=True).start()
        with origins.HTTPOrigin() as o, origins.HTTPOrigin(tls=world) as s:
            al.extra_flags += ["--bind", sb.host_addr] + pt.pins("origin.test", o.port, s.port)
            al.start()
            sb.isolate([al.http_port, al.https_port])
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--port", str(s.port))
            proxy = "http://proxy:%s@%s:%d" % (tok, sb.host_addr, al.http_port)
            ca = os.path.join(sb.dir, "world-ca.pem")
            with open(ca, "w") as f:
                f.write(open(world.ca_cert).read())

            # without the token: no DNS, no TCP anywhere, 407 from the proxy
            r = sb.run(["getent", "hosts", "origin.test"])
            h.check(r.returncode != 0 and r.stdout == "", "no DNS in the sandbox: %r" % r.stdout)
            r = sb.run([sys.executable, "-c", "import socket; socket.getaddrinfo('example.com', 443)"])
            h.check(r.returncode != 0 and "gaierror" in r.stderr, "Python cannot resolve: %s" % r.stderr[-200:])
            for host, port in ((sb.host_addr, lis_port), ("1.1.1.1", 443), (sb.host_addr, 22)):
                r = sb.run([sys.executable, "-c", PROBE, host, str(port)])
                h.check(r.stdout.startswith("refused"), "no direct TCP to %s:%d: %r" % (host, port, r.stdout))
            h.check(not accepted, "nothing reached the host's listener")
            h.check(socket.create_connection((sb.host_addr, lis_port), timeout=5), "twin: the listener is up")
            r = sb.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-x",
                        "http://%s:%d" % (sb.host_addr, al.http_port), "http://origin.test:%d/echo" % o.port])
            h.check_eq(r.stdout, "407", "the proxy without a token: %s" % r.stderr)

            # with the token in HTTPS_PROXY / HTTP_PROXY only
            # curl reads http_proxy in lower case only (httpoxy)
            env = {"PATH": "/usr/bin:/bin", "HOME": sb.dir, "HTTPS_PROXY": proxy, "http_proxy": proxy}

            def curl(*args):
                return sb.run(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"] + list(args), env=env)
            r = h.wait_for(lambda: (lambda r: r if r.stdout.endswith("\n200") else None)(
                curl("--cacert", ca, "https://origin.test:%d/echo" % s.port)), timeout=20,
                what="an allowed HTTPS host through the proxy")
            h.check('"path": "/echo"' in r.stdout, "the origin answered: %r" % r.stdout[:200])
            r = curl("http://origin.test:%d/echo" % o.port)
            h.check(r.stdout.endswith("\n200"), "an allowed HTTP host: %r %s" % (r.stdout[-100:], r.stderr))
            r = curl("-i", "http://other.test/")
            h.check(r.stdout.endswith("\n403") and "X-Airlock-Reason: no-rule" in r.stdout,
                    "a host without a rule, plain: %r" % r.stdout)
            r = curl("-v", "https://other.test/")
            h.check(r.returncode != 0 and "403" in r.stderr and "X-Airlock-Reason: no-rule" in r.stderr,
                    "a host without a rule, CONNECT refused: %s" % r.stderr[-400:])
            r = sb.run([sys.executable, "-c", "import urllib.request,sys; "
                        "print(urllib.request.urlopen(sys.argv[1], timeout=10).status)",
                        "http://origin.test:%d/echo" % o.port], env=env)
            h.check_eq(r.stdout.strip(), "200", "Python urllib with HTTP_PROXY: %s" % r.stderr[-300:])
            d = pt.wait_decision(al, lambda d: d.get("host") == "other.test" and d.get("method") == "CONNECT",
                                 "the refused CONNECT's line")
            h.check_eq((d["verdict"], d.get("client"), d.get("reason")), ("deny", "web-1", "no-rule"),
                       "logged with the client")
            h.check(tok not in al.log_text(), "the token is not in the log")
            al.check_alive()
        lis.close()


h.run(main)
