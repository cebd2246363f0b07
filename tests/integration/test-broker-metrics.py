"""GET /metrics is the Prometheus text format (`promtool check metrics`
passes; skipped with its reason when promtool is absent) and its counters
move: a denial adds one to airlock_decisions_total{client,verdict,reason}
within a few seconds, an allowed request adds its bytes to
airlock_bytes_up/down_total{client}, an open connection shows in
airlock_open_connections; /healthz and /readyz answer 200 once the enforcer
runs; --metrics-listen serves them over TCP and not the API. Twin: another
client's series does not move."""
import re
import shutil
import subprocess

import airlock_harness as h
import origins
import proxytest as pt


def metrics(al):
    st, body = al.api("GET", "/metrics")
    h.check_eq(st, 200, "GET /metrics")
    return body


def value(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % want) if labels else ""), text, re.M)
    return float(m.group(1)) if m else 0.0


def tcp_get(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def main():
    mport = h.free_port()
    with origins.HTTPOrigin() as o, \
            h.Airlock(extra_flags=pt.pins("origin.test", o.port) + ["--metrics-listen", "127.0.0.1:%d" % mport]) as al:
        tok = pt.client(al, "web-1")
        pt.client(al, "web-2")
        pt.allow(al, "web-1", "origin.test", "--port", str(o.port), "--path", "/echo")
        url = "http://origin.test:%d" % o.port
        h.wait_for(lambda: al.api("GET", "/readyz")[0] == 200, timeout=5, what="/readyz 200")
        h.check_eq(al.api("GET", "/healthz"), (200, "ok\n"), "/healthz")
        c = pt.RawConn(al.http_port)
        h.wait_for(lambda: c.request("GET", url + "/echo", token=tok)[0] == 200, timeout=5, what="allowed")
        h.wait_for(lambda: value(metrics(al), "airlock_bytes_down_total", client="web-1") > 0, timeout=5,
                   what="bytes counted")
        before = metrics(al)
        key = dict(client="web-1", verdict="deny", reason="path-not-allowed")
        n0 = value(before, "airlock_decisions_total", **key)
        other0 = value(before, "airlock_decisions_total", client="web-2", verdict="deny", reason="path-not-allowed")
        st, _, _ = c.request("GET", url + "/nope", token=tok)
        h.check_eq(st, 403, "denied")
        h.wait_for(lambda: value(metrics(al), "airlock_decisions_total", **key) == n0 + 1, timeout=5,
                   what="the denial's counter moved by one")
        after = metrics(al)
        h.check_eq(value(after, "airlock_decisions_total", client="web-2", verdict="deny",
                         reason="path-not-allowed"), other0, "another client's series did not move")
        h.check(value(after, "airlock_open_connections") >= 1, "the open connection is counted")
        h.check(value(after, "airlock_decisions_total", client="web-1", verdict="allow", reason="") >= 1,
                "allows are counted")
        h.check("airlock_broker_ask_seconds_bucket{le=\"+Inf\"}" in after, "the ask histogram is there")
        h.check("airlock_enforcer_restarts_total 0" in after, "no restart")
        h.check(tok not in after, "no token in the metrics")
        # --metrics-listen: the same over TCP, and nothing of the API there
        st, text = tcp_get(mport, "/metrics")
        h.check(st == 200 and "airlock_decisions_total{" in text, "/metrics over TCP: %d" % st)
        h.check_eq(tcp_get(mport, "/readyz"), (200, "ready\n"), "/readyz over TCP")
        h.check_eq(tcp_get(mport, "/proxy/v1/clients")[0], 404, "the API is not on the metrics port")
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=after, capture_output=True, text=True,
                               timeout=30)
            h.check_eq((p.returncode, p.stdout + p.stderr), (0, ""), "promtool check metrics")
        al.check_alive()
    if not promtool:
        h.skip("promtool (Debian package prometheus, tools/deps --test) is absent: the counters were "
               "checked, the format was not")


h.run(main)
