"""Path spellings that a backend may read differently never reach it: with a
rule allowing only GET /public/* on a local origin, each refused spelling
(".." behind ';' parameters, overlong and other ill-formed UTF-8, C1
controls, Unicode that folds into '.', '/' or '\\', encoded '.', '/', '%')
is answered 400 with X-Airlock-Reason: bad-path and the origin receives
nothing, through the plain listener (absolute-form) and inside an
intercepted CONNECT; the negative twins (matrix parameters on ordinary
segments, well-formed UTF-8, ...) reach the origin with the normalised path.
The same spellings are in tests/unit/common/test-netmatch.c's table."""
import airlock_harness as h
import mitmtest as mt
import origins
import proxytest as pt

REFUSED = [
    # ';' parameters on a dot segment (Tomcat, Spring: "..;" is "..")
    "/public/..;/admin", "/public/..;jsessionid=1/admin", "/public/..;a;b/admin",
    "/public/.;x/admin", "/public/.;/admin", "/public/x/..;", "/public/..%3B/admin",
    "/public/..%3bx/admin", "/public/.%3B", "/public/%2e%2e;/admin",
    # names of only dots and blanks
    "/public/...", "/public/..../admin", "/public/..%20/admin", "/public/%20../admin",
    "/public/.%20", "/public/..%C2%A0/admin", "/public/..%E3%80%80/admin",
    "/public/.%E2%80%8B./admin", "/public/..%EF%BB%BF", "/public/..%C2%AD",
    # percent-encoded bytes that are not well-formed UTF-8
    "/public/%C0%AE%C0%AE/admin", "/public/%c0%ae", "/public/%E0%80%AE",
    "/public/%F0%80%80%AE", "/public/%C0%AF", "/public/%C1%9C", "/public/%C0%80",
    "/public/%E0%9F%BF", "/public/%F0%8F%BF%BF", "/public/%80", "/public/%BF",
    "/public/a%A9", "/public/%C3%A9%A9", "/public/%C3", "/public/%C3/x", "/public/%C3a",
    "/public/%C3%", "/public/%C3%4", "/public/%C3?x", "/public/%C3%C3%A9", "/public/%E2%82",
    "/public/%F0%9F%98", "/public/%E2%82%AC%82", "/public/%ED%A0%80", "/public/%ED%BF%BF",
    "/public/%ED%A0%BD%ED%B8%80", "/public/%F4%90%80%80", "/public/%F5%80%80%80",
    "/public/%F8%88%80%80%80", "/public/%C0", "/public/%C1%81", "/public/%FE", "/public/%FF",
    # encoded controls: C0, DEL, C1
    "/public/%00", "/public/%1F", "/public/%0D%0A", "/public/%7F", "/public/%C2%80",
    "/public/%C2%85", "/public/%C2%9F",
    # Unicode that NFKC or Windows best fit turns into path syntax
    "/public/%EF%BC%8E%EF%BC%8E/admin", "/public/..%EF%BC%8Fadmin", "/public/..%E2%88%95admin",
    "/public/..%EF%BC%BCadmin", "/public/%E2%80%A4%E2%80%A4/admin", "/public/%E2%80%A5/admin",
    "/public/%E2%80%A6", "/public/%EF%B9%92%EF%B9%92", "/public/%EF%B8%B0",
    "/public/..%EF%B9%A8admin", "/public/..%E2%81%84admin", "/public/..%E2%88%96admin",
    "/public/..%C2%A5admin", "/public/..%E2%82%A9admin", "/public/..%CD%BE/admin",
    "/public/..%EF%BC%9B/admin", "/public/%EF%BC%852e%EF%BC%852e/admin", "/public/%EF%B9%AA2e",
    "/public/a%EF%BC%9Fb", "/public/a%EF%BC%83b", "/public/%E2%92%88", "/public/%F0%9F%84%80",
    "/public/%E2%84%80",
    # encoded '.', '/', '\\', '%' (refused before this change too)
    "/public/%2e%2e/admin", "/public/.%2E/admin", "/public/%2F", "/public/%2f..",
    "/public/..%5Cadmin", "/public/%25", "/public/%252e%252e/admin",
]

# spelling -> what the origin receives (the normalised path, then the query verbatim)
ACCEPTED = [
    ("/public/a;v=1", "/public/a;v=1"),
    ("/public/a;v=1/b", "/public/a;v=1/b"),
    ("/public/a%3bv=1", "/public/a%3Bv=1"),
    ("/public/..a;x", "/public/..a;x"),
    ("/public/;x/b", "/public/;x/b"),
    ("/public/;../b", "/public/;../b"),
    ("/public/x/..", "/public/"),
    ("/public/.hidden", "/public/.hidden"),
    ("/public/a..", "/public/a.."),
    ("/public/..%20a", "/public/..%20a"),
    ("/public/caf%C3%A9", "/public/caf%C3%A9"),
    ("/public/caf%c3%a9", "/public/caf%C3%A9"),
    ("/public/%F0%9F%98%80", "/public/%F0%9F%98%80"),
    ("/public/%F4%8F%BF%BF", "/public/%F4%8F%BF%BF"),
    ("/public/%C2%A0", "/public/%C2%A0"),
    ("/public/%EF%BC%8D", "/public/%EF%BC%8D"),
    ("/public/%E3%80%82", "/public/%E3%80%82"),
    ("/public/%41", "/public/A"),
    ("/public//x", "/public//x"),
    # the query is passed through verbatim and not read
    ("/public/x?q=..;/../%2e%C0%AE", "/public/x?q=..;/../%2e%C0%AE"),
]


def main():
    with origins.HTTPOrigin() as plain:
        PP = plain.port
        with mt.Setup(flags=pt.pins("plain.test", PP)) as s:
            al, TP = s.al, s.port
            tok = pt.client(al, "web-1")
            pt.allow(al, "web-1", "plain.test", "--port", str(PP), "--method", "GET", "--path", "/public/*")
            pt.allow(al, "web-1", "origin.test", "--port", str(TP), "--method", "GET", "--path", "/public/*")
            hostv = "origin.test:%d" % TP

            def via_plain(path):
                c = pt.RawConn(al.http_port)
                try:
                    st, hd, _ = c.request("GET", "http://plain.test:%d%s" % (PP, path), token=tok)
                finally:
                    c.close()
                return st, hd.get("x-airlock-reason")

            def via_mitm(path):
                c = mt.Inner(al, tok, "origin.test", TP)
                h.check_eq(c.connect_status, 200, "CONNECT origin.test")
                try:
                    st, hd, _ = c.get(path, hostv)
                finally:
                    c.close()
                return st, hd.get("x-airlock-reason")

            h.wait_for(lambda: via_plain("/public/ready")[0] == 200, timeout=5, what="policy arrived")
            h.check_eq(via_mitm("/public/ready")[0], 200, "intercepted GET /public/ready")
            # the rule itself: nothing outside /public/
            h.check_eq(via_plain("/admin"), (403, "path-not-allowed"), "plain /admin")
            h.check_eq(via_mitm("/admin"), (403, "path-not-allowed"), "intercepted /admin")
            n_plain, n_tls = len(plain.requests), len(s.origin.requests)

            for name, via in (("plain", via_plain), ("intercepted", via_mitm)):
                for path in REFUSED:
                    h.check_eq(via(path), (400, "bad-path"), "%s %s" % (name, path))
            h.check_eq(plain.requests[n_plain:], [], "the plain origin received nothing refused")
            h.check_eq(s.origin.requests[n_tls:], [], "the TLS origin received nothing refused")
            d = pt.wait_decision(al, lambda d: d.get("reason") == "bad-path" and
                                 d.get("path", "").startswith("/public/..;"), "a bad-path log line")
            h.check_eq(d.get("verdict"), "deny", "logged as a deny")

            for name, via, o in (("plain", via_plain, plain), ("intercepted", via_mitm, s.origin)):
                for path, sent in ACCEPTED:
                    n = len(o.requests)
                    h.check_eq(via(path), (200, None), "%s %s" % (name, path))
                    h.check_eq([r[1] for r in o.requests[n:]], [sent], "%s %s upstream" % (name, path))
            al.check_alive()


h.run(main)
