"""Python's urllib through the proxy from the environment (http_proxy with
the token as password): a GET and a POST arrive; a denied host raises a
403 HTTPError carrying X-Airlock-Reason."""
import json
import os
import urllib.error
import urllib.request

import airlock_harness as h
import origins
import proxytest as pt


def main():
    with origins.HTTPOrigin() as o, h.Airlock(extra_flags=pt.pins("origin.test", o.port)) as al:
        tok = pt.client(al, "web-1")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port))
        os.environ["http_proxy"] = "http://sandbox:%s@127.0.0.1:%d" % (tok, al.http_port)
        os.environ.pop("no_proxy", None)
        os.environ.pop("NO_PROXY", None)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler())
        url = "http://origin.test:%d/echo" % o.port

        def get():
            try:
                return opener.open(url, timeout=10).status
            except urllib.error.HTTPError as e:
                return e.code
        h.wait_for(lambda: get() == 200, timeout=5, what="urllib GET")
        req = urllib.request.Request(url, data=b"payload=1", method="POST")
        with opener.open(req, timeout=10) as r:
            info = json.loads(r.read())
        h.check_eq(info["method"], "POST", "method")
        h.check_eq(info["body_len"], 9, "POST body")
        try:
            opener.open("http://denied.test/", timeout=10)
            h.check(False, "denied host answered")
        except urllib.error.HTTPError as e:
            h.check_eq(e.code, 403, "denied")
            h.check_eq(e.headers.get("X-Airlock-Reason"), "no-rule", "reason header")
        al.check_alive()


h.run(main)
