"""The TLS proxy listener (certificate from airlock's CA, SAN = bind
address): curl --proxy https://proxy:TOKEN@127.0.0.1:PORT --proxy-cacert
ca.pem works for absolute-URI requests and for CONNECT to an HTTPS origin
(blind tunnel, the origin's own certificate checked by curl), and 407 /
403 come back over TLS too. Twin: without the CA curl refuses the proxy."""
import os

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with h.Airlock(start=False) as al:
        ca = origins.TestCA(al.tmpdir)
        with origins.HTTPOrigin() as o, origins.HTTPOrigin(tls=ca) as s:
            al.extra_flags += pt.pins("origin.test", o.port, s.port)
            al.start()
            al.wait_ready()
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--port", str(s.port))
            cacert = os.path.join(al.state_dir, "ca.pem")
            proxy = "https://proxy:%s@127.0.0.1:%d" % (tok, al.https_port)
            plain = "http://origin.test:%d/bytes/100000" % o.port
            h.wait_for(lambda: pt.status_of(pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", proxy,
                                                   "--proxy-cacert", cacert, plain)) == "200",
                       timeout=5, what="absolute URI over the TLS listener")
            r = pt.curl("-x", proxy, "--proxy-cacert", cacert, "http://origin.test:%d/echo" % o.port)
            h.check('"method": "GET"' in r.stdout, "echo body over the TLS listener: %r" % r.stdout[:200])
            r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--proxy-cacert", cacert,
                        "--cacert", ca.ca_cert, "https://origin.test:%d/bytes/200000" % s.port)
            h.check_eq(pt.status_of(r), "200", "CONNECT + HTTPS origin over the TLS listener: %s" % r.stderr)
            # a body that ends with the connection: the proxy must end its TLS cleanly
            r = pt.curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-x", proxy,
                        "--proxy-cacert", cacert, "http://origin.test:%d/eof/300000" % o.port)
            h.check_eq(r.stdout.strip(), "200 300000", "close-delimited body over TLS: %s" % r.stderr)
            h.check_eq(r.returncode, 0, "curl is happy with the TLS close: %s" % r.stderr)
            r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x",
                        "https://proxy:nope@127.0.0.1:%d" % al.https_port, "--proxy-cacert", cacert, plain)
            h.check_eq(pt.status_of(r), "407", "407 over TLS")
            r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--proxy-cacert", cacert,
                        "http://other.test/")
            h.check_eq(pt.status_of(r), "403", "403 over TLS")
            # the same connection carries several requests (keep-alive over TLS)
            r = pt.curl("-v", "-o", "/dev/null", "-o", "/dev/null", "-x", proxy, "--proxy-cacert", cacert,
                        plain, plain)
            h.check("Re-using existing connection" in r.stderr or "Reusing existing" in r.stderr,
                    "keep-alive over the TLS listener")
            r = pt.curl("-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, plain)
            h.check(r.returncode != 0, "without the CA the proxy certificate is refused")
            al.check_alive()


h.run(main)
