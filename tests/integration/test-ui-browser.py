"""The web page of --ui-listen in a real browser: headless Chromium (Debian's
chromium and chromium-driver, driven by python3-selenium; tools/deps
--test installs them) opens the page, a wrong token is refused, the right
one logs in; a request the sandbox makes that is denied appears live in the
decisions and in the denials grouped by host and path; clicking "allow for
1 h" writes the rule (seen through the API with its TTL, path and port) and
the sandbox's next request passes, "always" the same without a TTL; a
request held for a person (a client with on_deny hold) appears among the
pending approvals and clicking approve (widened to a /* prefix, for a
day) releases it (the sandbox's curl gets 200) through the rule chosen, deny
answers another 403; the rule and the secret's name show in
their panes; and no response the browser received (every body Chromium
kept, every URL the page used fetched again, the page's own text) holds the
secret's value or the client's token. Skipped, with the reason, where
Chromium cannot run."""
import http.client
import json
import os
import shutil
import sys
import time

import airlock_harness as h
import holdtest
import origins
import proxytest as pt

SECRET_VALUE = "sk-browser-test-value-9f8e7d6c5b4a"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
WAIT = 20


def find(paths, name):
    for p in paths:
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def selenium():
    try:
        import selenium  # noqa: F401
    except ImportError:
        # Debian's python3-selenium, when python3 is another interpreter
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        return webdriver, Service
    except ImportError as e:
        h.skip("python3-selenium is not importable (%s): tools/deps --test installs it" % e)


def browser(tmpdir):
    chromium, driver = find(CHROMIUM, "chromium"), find(DRIVER, "chromedriver")
    if not chromium or not driver:
        h.skip("no chromium or chromedriver binary (Debian packages chromium, chromium-driver; "
               "tools/deps --test installs them)")
    webdriver, Service = selenium()
    o = webdriver.ChromeOptions()
    o.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              "--user-data-dir=" + os.path.join(tmpdir, "chromium")):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    try:
        return webdriver.Chrome(service=Service(driver, log_path=os.path.join(tmpdir, "chromedriver.log")),
                                options=o)
    except Exception as e:  # noqa: BLE001 -- any reason Chromium cannot start here
        h.skip("headless Chromium does not start here: %s" % str(e).splitlines()[0][:300])


def by_css(d, sel):
    from selenium.webdriver.common.by import By
    return d.find_elements(By.CSS_SELECTOR, sel)


def visible(d, elem_id):
    from selenium.webdriver.common.by import By
    els = d.find_elements(By.ID, elem_id)
    return bool(els) and els[0].is_displayed()


def wait_css(d, sel, what, pred=lambda e: True):
    found = []

    def look():
        from selenium.common.exceptions import StaleElementReferenceException
        try:
            found[:] = [e for e in by_css(d, sel) if pred(e)]
        except StaleElementReferenceException:
            return False   # the page redrew it: look again
        return bool(found)
    h.wait_for(look, timeout=WAIT, interval=0.2, what=what)
    return found[0]


def login(d, token):
    from selenium.webdriver.common.by import By
    box = d.find_element(By.ID, "token")
    box.clear()
    box.send_keys(token)
    d.find_element(By.ID, "login-button").click()


def fetch_again(port, url, cookie):
    """GET url (a path of the page's listener) with the page's cookie;
    streams are read for two seconds."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        c.request("GET", url, headers={"Cookie": cookie})
        r = c.getresponse()
        data = b""
        end = time.monotonic() + 2
        try:
            while time.monotonic() < end:
                chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        return data.decode(errors="replace")
    finally:
        c.close()


def bodies_seen(d, port, cookie):
    """Every response body the browser got that Chromium still holds, and
    every URL the page asked for fetched again; (bodies, urls)."""
    bodies, urls, ids = [], set(), []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.responseReceived":
            url = msg["params"]["response"]["url"]
            if url.startswith("http://127.0.0.1:%d/" % port):
                urls.add(url[len("http://127.0.0.1:%d" % port):])
                ids.append(msg["params"]["requestId"])
    for rid in ids:
        try:
            r = d.execute_cdp_cmd("Network.getResponseBody", {"requestId": rid})
            bodies.append(r.get("body", ""))
        except Exception:  # noqa: BLE001 -- a stream still open has no body yet
            pass
    for u in sorted(urls):
        if u.startswith("/ui/"):
            continue   # login/logout: POSTs, bodies already in the list above
        bodies.append(fetch_again(port, u, cookie))
    return bodies, urls


def main():
    h.require_binaries("airlock-enforcer")
    port = h.free_port()
    d = None
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--ui-listen", "127.0.0.1:%d" % port,
                                                                     "--hold-timeout", "60s"]) as al:
        tok = pt.client(al, "web-1")
        st, _ = al.api("POST", "/proxy/v1/secrets", {"name": "gh", "host": "origin.test", "type": "bearer",
                                                      "value": SECRET_VALUE})
        h.check_eq(st, 201, "secret created")
        # a rule that names the secret (shown in the rules pane; injection
        # itself needs HTTPS and is tested elsewhere) and one that lets
        # plain HTTP through
        pt.allow(al, "web-1", "origin.test", "--path", "/api/*", "--secret", "gh")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/plain/*")
        ui_tok = al.cli("ui", "token").stdout.strip()
        h.check(ui_tok.startswith("alui_"), "airlock ui token")
        base = "http://origin.test:%d" % o.port
        c = pt.RawConn(al.http_port)
        h.check_eq(c.request("GET", base + "/plain/one", token=tok)[0], 200, "an allowed request passes")

        d = browser(al.tmpdir)
        try:
            d.set_page_load_timeout(WAIT)
            d.get("http://127.0.0.1:%d/" % port)
            h.wait_for(lambda: visible(d, "login-pane"), timeout=WAIT, interval=0.2, what="the login form")

            # a wrong token: refused, nothing shown
            login(d, "alui_" + "x" * 43)
            h.wait_for(lambda: "Wrong token" in d.find_element("id", "login-error").text, timeout=WAIT,
                       interval=0.2, what="the wrong token refused")
            h.check(not visible(d, "main"), "nothing behind a wrong token")

            login(d, ui_tok)
            h.wait_for(lambda: visible(d, "main"), timeout=WAIT, interval=0.2, what="logged in")
            cookies = {ck["name"]: ck for ck in d.get_cookies()}
            ck = cookies.get("airlock_ui")
            h.check(ck is not None and ck.get("httpOnly") and ck.get("sameSite") == "Strict",
                    "the login cookie is HttpOnly and SameSite=Strict: %r" % {k: v for k, v in (ck or {}).items()
                                                                            if k != "value"})
            h.check_eq(d.execute_script("return document.cookie"), "", "the script cannot read the cookie")
            wait_css(d, "#decisions tr.decision", "the decisions stream shows the allowed request",
                     lambda e: "/plain/one" in e.text)

            # a denial appears live, grouped by host and path
            h.check_eq(c.request("GET", base + "/denied/path?q=1", token=tok)[0], 403, "denied first")
            wait_css(d, "#decisions tr.decision.deny", "the denial in the live decisions",
                     lambda e: "/denied/path" in e.text)
            row = wait_css(d, 'tr.denial[data-path="/denied/path"]', "the denial grouped by host and path")
            h.check("origin.test" in row.text and "web-1" in row.text, "the group names host and client: %r" % row.text)
            by_css(row, "button.allow-1h")[0].click()
            wait_css(d, 'tr.denial[data-path="/denied/path"]', "the rule written",
                     lambda e: "allowed: rule" in e.text)

            # the rule, through the API, with its TTL
            st, rules = al.api("GET", "/proxy/v1/clients/web-1")
            new = [r for r in rules if r.get("paths") == ["/denied/path"]]
            h.check(st == 200 and len(new) == 1, "the rule exists: %r" % rules)
            h.check_eq(new[0].get("ttl_seconds"), 3600, "allowed for 1 h")
            h.check_eq(new[0].get("ports"), [o.port], "for the port the request used")
            h.check("expires_at" in new[0], "it expires")
            h.check_eq(c.request("GET", base + "/denied/path?q=2", token=tok)[0], 200, "the next request passes")
            wait_css(d, "#clients tr.rule", "the new rule in the rules pane", lambda e: "/denied/path" in e.text)

            # "always": the same, without a TTL
            h.check_eq(c.request("POST", base + "/other", token=tok, body=b"x")[0], 403, "another denial")
            row = wait_css(d, 'tr.denial[data-path="/other"]', "the second denial grouped")
            by_css(row, "button.allow-always")[0].click()
            wait_css(d, 'tr.denial[data-path="/other"]', "the second rule written", lambda e: "allowed: rule" in e.text)
            st, rules = al.api("GET", "/proxy/v1/clients/web-1")
            new = [r for r in rules if r.get("paths") == ["/other"]]
            h.check(len(new) == 1 and "ttl_seconds" not in new[0] and new[0].get("methods") == ["POST"],
                    "an 'always' rule for the method seen, without a TTL: %r" % new)
            h.check_eq(c.request("POST", base + "/other", token=tok, body=b"x")[0], 200, "it passes")

            # a held request: it appears among the approvals, approve releases it
            htok = holdtest.client_hold(al, "agent-2")
            held = holdtest.Curl(al, htok, base + "/held/path")
            try:
                row = wait_css(d, "#approvals tr.approval", "the held request in the approvals",
                               lambda e: "/held/path" in e.text and "agent-2" in e.text)
                h.check(held.waiting(), "the sandbox's curl is still waiting")
                # the approver widens it to a prefix, for a day
                box = by_css(row, "input.approve-path")[0]
                box.clear()
                box.send_keys("/held/*")
                from selenium.webdriver.support.ui import Select
                Select(by_css(row, "select.approve-ttl")[0]).select_by_value("86400")
                by_css(row, "button.approve")[0].click()
                code, body, err = held.result(timeout=30)
                h.check_eq(code, "200", "approved: the sandbox's curl gets 200 (%s)" % err)
                h.check('"/held/path"' in body, "the origin answered it")
            finally:
                held.kill()
            h.wait_for(lambda: not by_css(d, "#approvals tr.approval"), timeout=WAIT, interval=0.2,
                       what="the approved request leaves the pane")
            st, rules = al.api("GET", "/proxy/v1/clients/agent-2")
            new = [r for r in rules if r.get("paths") == ["/held/*"]]
            h.check(len(new) == 1 and new[0].get("ttl_seconds") == 86400 and new[0].get("methods") == ["GET"],
                    "the approval made the rule chosen (prefix, a day, the method held): %r" % rules)
            # and deny answers 403 (a path the new rule does not cover)
            held = holdtest.Curl(al, htok, base + "/other-held/refused")
            try:
                row = wait_css(d, "#approvals tr.approval", "the second held request",
                               lambda e: "/other-held/refused" in e.text)
                by_css(row, "button.refuse")[0].click()
                code, _, err = held.result(timeout=30)
                h.check_eq(code, "403", "refused: 403 (%s)" % err)
            finally:
                held.kill()
            wait_css(d, "#secrets tbody tr", "the secret's name in its pane", lambda e: "gh" in e.text)
            wait_css(d, "#clients tr.rule", "the rule naming the secret", lambda e: "/api/*" in e.text and "gh" in e.text)

            # nothing the browser received holds the value or the client token
            cookie = "airlock_ui=" + ck["value"]
            bodies, urls = bodies_seen(d, port, cookie)
            for want in ("/", "/ui.js", "/proxy/v1/secrets", "/proxy/v1/clients", "/proxy/v1/decisions?follow=1",
                         "/proxy/v1/approvals?follow=1"):
                h.check(want in urls, "the page used %s (%s)" % (want, sorted(urls)))
            bodies.append(d.page_source)
            h.check(any("origin.test" in b for b in bodies), "the scan sees the page's data")
            for b in bodies:
                h.check(SECRET_VALUE not in b, "no secret value reached the browser")
                h.check(tok not in b, "no client token reached the browser")
        finally:
            d.quit()
        al.check_alive()


h.run(main)
