"""HTTP/2 toward the origin: airlock offers h2 and http/1.1 to it and uses
what it picks. With nghttpd (HTTP/2 only) as the origin, behind a pinned
name and --upstream-ca: a sandbox speaking HTTP/1.1 (h1.1 -> h2) and one
speaking HTTP/2 (h2 <-> h2) both get files and their uploads echoed,
bigger than every window both ways, several requests over one sandbox
connection; a denied path is still refused on its own; one decision line
per request. nghttp (nghttp2's own client, which has no proxy option)
reaches the same origin through a CONNECT relay: HTTP/2 end to end, an
allowed and a denied stream on one connection.
(gRPC over h2 <-> h2 with injection: test-h2-grpc.)"""
import re
import hashlib
import os
import shutil
import subprocess
import sys

import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

SIZE = 3 * 1024 * 1024


def main():
    if not shutil.which("nghttpd"):
        print("SKIP: nghttpd (nghttp2-server) not installed")
        sys.exit(77)
    port = origins.free_port()
    s = mt.Setup(origin=False)
    docs = os.path.join(s.al.tmpdir, "htdocs")
    os.makedirs(docs)
    blob = origins.pattern(SIZE)
    with open(os.path.join(docs, "big.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(docs, "small.txt"), "wb") as f:
        f.write(b"hello over h2\n")
    srv = subprocess.Popen(["nghttpd", "-a", "127.0.0.1", "-d", docs, "--echo-upload", str(port),
                            s.ca.leaf_key, s.ca.leaf_cert], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s.flags += pt.pins("origin.test", port)
    try:
        h.wait_for(lambda: subprocess.run(["curl", "-sk", "--http2", "https://127.0.0.1:%d/small.txt" % port],
                                          capture_output=True).returncode == 0, timeout=10, what="nghttpd up")
        with s:
            al = s.al
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/small.txt", "--path", "/big.bin",
                     "--path", "/up")
            base = "https://origin.test:%d" % port
            up = os.path.join(al.tmpdir, "up.bin")
            with open(up, "wb") as f:
                f.write(blob[::-1])
            for ver in ("--http1.1", "--http2"):
                r = mt.curl(al, tok, ver, "-w", "\n%{http_version} %{response_code} %{num_connects}\n",
                            base + "/small.txt", base + "/denied.txt")
                lines = r.stdout.splitlines()
                h.check(lines[0] == "hello over h2", "%s: the file from the h2 origin: %r" % (ver, r.stdout[:80]))
                codes = [l.split()[1] for l in lines if l.startswith(("1.1 ", "2 "))]
                h.check_eq(codes, ["200", "403"], "%s: allowed then denied on one connection" % ver)
                r = subprocess.run(["curl", "-sS", ver, "--proxy", al.proxy_url(tok), "--cacert", al.ca_cert,
                                    base + "/big.bin"], capture_output=True, timeout=60)
                h.check(r.stdout == blob, "%s: 3 MiB download from the h2 origin whole" % ver)
                r = subprocess.run(["curl", "-sS", ver, "--proxy", al.proxy_url(tok), "--cacert", al.ca_cert,
                                    "--data-binary", "@" + up, base + "/up"], capture_output=True, timeout=60)
                h.check(hashlib.sha256(r.stdout).digest() == hashlib.sha256(blob[::-1]).digest(),
                        "%s: 3 MiB upload echoed back whole (%d bytes)" % (ver, len(r.stdout)))
            nallow = 6
            if shutil.which("nghttp"):
                relay = pt.ConnectRelay(al, tok, "origin.test:%d" % port)
                # nghttp dials the relay by address (no SNI: airlock mints for
                # the CONNECT target); :authority names the origin; -y: the
                # leaf is for origin.test, not 127.0.0.1
                r = subprocess.run(["nghttp", "-v", "-y", "-H", ":authority: origin.test:%d" % port,
                                    "https://127.0.0.1:%d/small.txt" % relay.port,
                                    "https://127.0.0.1:%d/denied.txt" % relay.port],
                                   capture_output=True, text=True, timeout=30)
                h.check_eq(relay.refused, [], "nghttp: the relay's CONNECT accepted")
                h.check("hello over h2" in r.stdout, "nghttp: the file from the h2 origin (rc %d)" % r.returncode)
                h.check("negotiated protocol: h2" in r.stdout, "nghttp: h2 negotiated with airlock")
                statuses = re.findall(r"recv \(stream_id=(\d+)\) :status: (\d+)", r.stdout)
                h.check_eq(sorted(st for _, st in statuses), ["200", "403"],
                           "nghttp: two streams on one connection, one allowed, one denied")
                h.check(re.search(r"recv \(stream_id=\d+\) x-airlock-reason: path-not-allowed", r.stdout),
                        "nghttp: the denied stream carries airlock's reason")
                relay.sock.close()
                nallow += 1
            else:
                h.log("nghttp (nghttp2-client) not installed: its part is not run")
            allows = lambda: [d for d in pt.decisions(al) if d.get("host") == "origin.test" and d["verdict"] == "allow"]
            h.wait_for(lambda: len(allows()) >= nallow, timeout=5, what="the decision lines")
            h.check_eq(len(allows()), nallow, "one allow line per request")
            al.check_alive()
    finally:
        srv.terminate()
        srv.wait(timeout=5)


h.run(main)
