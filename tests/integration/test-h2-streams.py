"""HTTP/2 toward the sandbox with an HTTP/1.1 origin (h2 -> h1.1): the
minted-leaf handshake offers h2, curl --http2 and nghttp speak it, and each
stream is a request of its own: allowed and denied streams on one
connection (403 with x-airlock-reason on the denied one, the others
answered), one decision line per stream (via=h2), the secret injected on
each allowed stream and scrubbed from its echo, request and response
bodies streamed both ways (a 3 MiB upload and download through 256 KiB
windows), HEAD, and a header list past --max-head-bytes answered 431 on its stream."""
import hashlib
import subprocess

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

SECRET = mt.secret_value("h2")


def main():
    with mt.Setup(flags=["--max-head-bytes", "16384"]) as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        mt.secret(al, "api-key", "origin.test", SECRET)
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/*", "--path", "/bytes/*",
                 "--path", "/chunked/*", "--secret", "api-key")
        base = "https://origin.test:%d" % port

        # three streams multiplexed on one connection: two allowed, one denied
        r = mt.curl(al, tok, "--http2", "--parallel", "--parallel-max", "3",
                    "-H", "Authorization: Bearer sandbox-placeholder",
                    "-w", "\n%{url} %{http_version} %{response_code} %{num_connects}\n",
                    base + "/echo/a", base + "/denied", base + "/echo/b")
        h.check_eq(r.returncode, 0, "curl --http2: %s" % mt.scrub(r.stderr, SECRET))
        lines = [l.split() for l in r.stdout.splitlines() if l.startswith("https://")]
        got = {l[0].rsplit("/", 1)[1]: (l[1], l[2]) for l in lines}
        h.check_eq(got.get("a"), ("2", "200"), "allowed stream a over h2")
        h.check_eq(got.get("b"), ("2", "200"), "allowed stream b over h2")
        h.check_eq(got.get("denied"), ("2", "403"), "denied stream answered 403 beside them")
        h.check_eq(sum(int(l[3]) for l in lines), 1, "one connection for the three streams")
        bodies = [b for b in mt.json_bodies("\n".join(l for l in r.stdout.splitlines()
                                                     if l.startswith("{")))]
        h.check_eq(len(bodies), 2, "two echoes")
        for b in bodies:
            h.check(mt.carried(b, "Bearer " + SECRET), "the origin got the secret on %s" % b["path"])
            auth = [v for k, v in b["headers"] if k.lower() == "authorization"]
            h.check(len(auth) == 1 and SECRET not in auth[0] and "placeholder" not in auth[0],
                    "the echo comes back scrubbed, the placeholder gone")
        for p in ("/echo/a", "/echo/b"):
            d = pt.wait_decision(al, lambda d: d.get("path") == p and d["verdict"] == "allow", "allow " + p)
            h.check_eq(d.get("via"), "h2", "via=h2 on " + p)
            h.check_eq(d.get("inject"), "api-key", "inject on " + p)
            h.check(d.get("scrubbed") not in (None, "0"), "scrubbed count on %s: %s" % (p, d.get("scrubbed")))
        d = pt.wait_decision(al, lambda d: d.get("path") == "/denied", "deny line")
        h.check_eq((d["verdict"], d.get("reason"), d.get("status"), d.get("via")),
                   ("deny", "path-not-allowed", "403", "h2"), "the denied stream's line")

        # headers of the denied stream: x-airlock-reason
        r = mt.curl(al, tok, "--http2", "-s", "-D", "-", "-o", "/dev/null", base + "/denied")
        h.check("HTTP/2 403" in r.stdout and "x-airlock-reason: path-not-allowed" in r.stdout,
                "403 with x-airlock-reason on h2: %r" % r.stdout[:300])

        # bodies both ways, bigger than every window
        up = origins.pattern(3 * 1024 * 1024)
        path = al.tmpdir + "/up.bin"
        with open(path, "wb") as f:
            f.write(up)
        r = mt.curl(al, tok, "--http2", "--data-binary", "@" + path, "-H", "Content-Type: application/x",
                    base + "/echo/up", timeout=60)
        b = mt.json_bodies(r.stdout)
        h.check(b and b[0]["body_len"] == len(up) and b[0]["body_sha256"] == hashlib.sha256(up).hexdigest(),
                "3 MiB upload arrives whole (content-length)")
        r = subprocess.run(["curl", "-sS", "--http2", "--proxy", al.proxy_url(tok), "--cacert", al.ca_cert,
                            "-T", "-", "-X", "POST", base + "/echo/chunked-up"], input=up,
                           capture_output=True, timeout=60)
        b = mt.json_bodies(r.stdout.decode())
        h.check(b and b[0]["body_len"] == len(up) and b[0]["body_sha256"] == hashlib.sha256(up).hexdigest(),
                "3 MiB upload without a length arrives whole (chunked upstream)")
        for what in ("bytes", "chunked"):
            r = subprocess.run(["curl", "-sS", "--http2", "--proxy", al.proxy_url(tok), "--cacert", al.ca_cert,
                                base + "/%s/%d" % (what, 3 * 1024 * 1024)], capture_output=True, timeout=60)
            h.check(r.stdout == origins.pattern(3 * 1024 * 1024), "3 MiB %s download whole over h2" % what)

        # HEAD
        r = mt.curl(al, tok, "--http2", "-s", "-I", base + "/bytes/100")
        h.check("HTTP/2 200" in r.stdout and "content-length: 100" in r.stdout.lower(), "HEAD over h2")

        # a header list past --max-head-bytes: 431 on that stream
        big = "x" * 17000
        r = mt.curl(al, tok, "--http2", "-s", "-o", "/dev/null", "-w", "%{response_code}",
                    "-H", "X-Big: " + big, base + "/echo/big")
        h.check_eq(r.stdout, "431", "a head past the cap is answered 431")

        mt.check_no_secret(al, SECRET)
        al.check_alive()


h.run(main)
