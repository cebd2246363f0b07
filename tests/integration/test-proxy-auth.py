"""Client identity: 407 with a Basic challenge when Proxy-Authorization is
missing, malformed or names no client; the connection stays open and the
retry on it is served (curl --proxy-anyauth); Basic with any user and Bearer
both work; Proxy-Authorization never reaches the origin."""
import json

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        url = "http://origin.test:%d/echo" % o.port

        c = pt.RawConn(al.http_port)
        for auth, why in [(None, "missing"), ("Basic !!!", "bad base64"),
                          (pt.basic("alk_" + "A" * 43), "unknown token"),
                          ("Basic " + "dXNlcg==", "no colon"), ("Digest x=y", "other scheme"),
                          ("Bearer", "empty bearer")]:
            st, hd, body = c.request("GET", url, auth=auth)
            h.check_eq(st, 407, "407 when the token is %s" % why)
            h.check_eq(hd.get("proxy-authenticate"), 'Basic realm="airlock"', "challenge (%s)" % why)
            h.check(hd.get("connection", "").lower() != "close", "407 keeps the connection (%s)" % why)
        # the retry on the very same connection is served
        for auth in (pt.basic(tok, "anyone"), pt.basic(tok, ""), "Bearer " + tok, "bearer " + tok):
            st, hd, body = c.request("GET", url, auth=auth)
            h.check_eq(st, 200, "authenticated retry on the same connection (%s...)" % auth[:8])
            seen = [k.lower() for k, v in json.loads(body)["headers"]]
            h.check("proxy-authorization" not in seen, "Proxy-Authorization went upstream: %s" % seen)
        # a refused request whose body waits for "100 Continue" ends the connection
        e = pt.RawConn(al.http_port)
        e.send(b"POST %s HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
               % url.encode())
        st, hd, _ = e.read_response()
        h.check_eq(st, 407, "POST with Expect: 100-continue and no credentials")
        h.check(e.closed(), "closed: a late body could pass for the next request")
        # a 407 to a CONNECT keeps the connection too
        c.send(b"CONNECT origin.test:%d HTTP/1.1\r\nHost: origin.test\r\n\r\n" % o.port)
        st, hd, _ = c.read_response("CONNECT")
        h.check_eq(st, 407, "CONNECT without credentials")
        st, hd, body = c.request("GET", url, token=tok)
        h.check_eq(st, 200, "request after a refused CONNECT on the same connection")
        c.close()

        # curl sends credentials only after the challenge with --proxy-anyauth
        r = pt.curl("--proxy-anyauth", "-x", "http://u:%s@127.0.0.1:%d" % (tok, al.http_port),
                    "-o", "/dev/null", "-w", "%{http_code}", url)
        h.check_eq(pt.status_of(r), "200", "curl --proxy-anyauth: %s" % r.stderr)
        r = pt.curl("-x", "http://u:wrong@127.0.0.1:%d" % al.http_port, "-o", "/dev/null",
                    "-w", "%{http_code}", url)
        h.check_eq(pt.status_of(r), "407", "curl with a wrong token")
        # never a token in the log
        h.check(tok not in al.log_text(), "the token appears in the log")
        d = pt.wait_decision(al, lambda d: d.get("status") == "407", "a 407 decision line")
        h.check_eq(d["verdict"], "deny", "407 is logged as a deny")
        al.check_alive()


h.run(main)
