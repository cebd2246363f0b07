"""Inside one intercepted keep-alive connection every request is decided on
its own: allowed method and path pass, another method or a path outside the
rule gets a 403 with X-Airlock-Reason and the connection stays usable; dot
segments are resolved before matching and the normalised path is what goes
upstream; an encoded slash that would change the meaning is refused; TRACE
(which would echo an injected credential) gets 405."""
import airlock_harness as h
import mitmtest as mt
import proxytest as pt


def main():
    with mt.Setup() as s:
        al, port = s.al, s.port
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/v1/*", "--method", "GET")
        c = mt.Inner(al, tok, "origin.test", port)
        h.check_eq(c.connect_status, 200, "CONNECT intercepted")
        hostv = "origin.test:%d" % port
        st, hd, body = c.get("/echo/v1/models", hostv)
        h.check_eq(st, 200, "allowed GET")
        st, hd, body = c.get("/echo/v1/models", hostv, method="POST", body=b"x")
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "method-not-allowed"), "POST refused")
        st, hd, body = c.get("/echo/v2/models", hostv)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "path-not-allowed"), "path outside the rule")
        st, hd, body = c.get("/echo/v10", hostv)
        h.check_eq((st, hd.get("x-airlock-reason")), (403, "path-not-allowed"), "/v1/* does not match /v10")
        st, hd, body = c.get("/echo/v2/../v1/x?q=1", hostv)
        h.check_eq(st, 200, "dot segments resolved, then matched")
        seen = s.origin.requests[-1][1]
        h.check_eq(seen, "/echo/v1/x?q=1", "the normalised path went upstream")
        st, hd, body = c.get("/echo/v1%2f..%2fadmin", hostv)
        h.check(st in (400, 403), "encoded slash refused (got %d)" % st)
        c = mt.Inner(al, tok, "origin.test", port)
        st, hd, body = c.get("/echo/v1/x", hostv, method="TRACE")
        h.check_eq((st, hd.get("x-airlock-reason")), (405, "trace-refused"), "TRACE refused inside the tunnel")
        st, hd, body = c.get("/echo/v1/again", hostv)
        h.check_eq(st, 200, "still allowed on a new connection")
        n = len([r for r in s.origin.requests if r[1].startswith("/echo/v2") or r[0] == "POST"])
        h.check_eq(n, 0, "no refused request reached the origin")
        d = pt.wait_decision(al, lambda d: d.get("reason") == "method-not-allowed", "deny line")
        h.check_eq((d["verdict"], d.get("method"), d.get("path"), d.get("scheme")),
                   ("deny", "POST", "/echo/v1/models", "https"), "deny line fields")
        al.check_alive()


h.run(main)
