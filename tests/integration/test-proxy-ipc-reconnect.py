"""The enforcer on its own (as under systemd) against a broker that goes
away and comes back: it keeps serving with the last policy while the broker
is down, reconnects by itself, and obeys the changes made after the
broker's return. Stops cleanly on SIGTERM."""
import os
import signal
import subprocess

import airlock_harness as h
import broker_harness as bh
import origins
import proxytest as pt


def main():
    h.require_binaries("airlock-enforcer", "airlock-broker")
    with origins.HTTPOrigin() as o, bh.Broker() as b:
        st, body = b.api("POST", "/proxy/v1/clients", {"name": "web-1"})
        h.check_eq(st, 201, "client create")
        tok = body["token"]
        st, _ = b.api("POST", "/proxy/v1/allows", {"client": "web-1", "host": "origin.test", "ports": [o.port]})
        h.check_eq(st, 201, "allow")
        port = h.free_port()
        err_path = os.path.join(b.tmpdir, "enforcer.err")
        argv = [h.binary("airlock-enforcer"), "--state-dir", b.state_dir, "--http-port", str(port),
                "--https-port", "0", "--workers", "2"] + pt.pins("origin.test", o.port) + \
            pt.pins("late.test", o.port)
        with open(err_path, "wb") as err:
            enf = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                   start_new_session=True)
        try:
            url = "http://origin.test:%d/echo" % o.port

            def status(u=url):
                try:
                    return pt.RawConn(port, timeout=3).request("GET", u, token=tok)[0]
                except (OSError, EOFError):
                    return None
            h.wait_for(lambda: status() == 200, timeout=10, what="the enforcer got the policy")
            b.stop()
            h.check(enf.poll() is None, "the enforcer outlives the broker")
            h.check_eq(status(), 200, "last policy still served")
            h.check_eq(status("http://late.test:%d/echo" % o.port), 403, "and still denies")
            b.start()
            st, _ = b.api("POST", "/proxy/v1/allows", {"client": "web-1", "host": "late.test", "ports": [o.port]})
            h.check_eq(st, 201, "allow after the broker's return")
            h.wait_for(lambda: status("http://late.test:%d/echo" % o.port) == 200, timeout=10,
                       what="the reconnected enforcer obeys the new rule")
            enf.send_signal(signal.SIGTERM)
            h.check_eq(enf.wait(15), 0, "enforcer exit status")
            with open(err_path, errors="replace") as f:
                text = f.read()
            for mark in h.SANITIZER_MARKS:
                h.check(mark not in text, "sanitizer report in the enforcer log:\n%s" % text[-3000:])
            h.check("broker reachable again" in text, "the reconnect is logged")
        finally:
            if enf.poll() is None:
                enf.kill()
                enf.wait(5)


h.run(main)
