#!/usr/bin/env python3
"""SIGHUP, as logrotate and `systemctl reload` send it: the broker stays up,
both daemons reopen --log-file (a renamed log is followed by a new one,
0640, that gets the next lines), and the config file is read again: a new
mode restarts the enforcer with it (status says so, the proxy answers
again); a config file that no longer parses changes nothing and says why.
Negative twin: before this, SIGHUP killed the broker and left the sockets
and an orphaned enforcer."""

import os
import signal
import stat

import airlock_harness as h


def read(p):
    try:
        with open(p, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def main():
    h.require_binaries("airlock-enforcer")
    al = h.Airlock(start=False)
    with al:
        conf = os.path.join(al.tmpdir, "airlock.conf")
        log = os.path.join(al.tmpdir, "airlock.log")
        with open(conf, "w") as f:
            f.write("mode = strict\n")
        al.extra_flags = ["--config", conf, "--log-file", log]
        al.start()
        h.check_eq(stat.S_IMODE(os.stat(log).st_mode), 0o640, "log file mode")
        h.wait_for(lambda: "enforcer listening" in read(log), timeout=10, what="lines in the log")
        e1 = al.enforcer_pid()

        # logrotate: rename, then HUP
        os.rename(log, log + ".1")
        al.proc.send_signal(signal.SIGHUP)
        h.wait_for(lambda: "msg=reloaded" in read(log) and "SIGHUP: log reopened" in read(log),
                   timeout=10, what="both daemons writing to the new log")
        h.check_eq(stat.S_IMODE(os.stat(log).st_mode), 0o640, "new log file mode")
        h.check("msg=reloaded" not in read(log + ".1"), "reload logged in the old file")
        al.check_alive()
        h.check_eq(al.enforcer_pid(), e1, "nothing changed: the enforcer kept running")

        # a new mode: the enforcer restarts with it
        with open(conf, "w") as f:
            f.write("# now audit\nmode = audit\n")
        al.proc.send_signal(signal.SIGHUP)
        st = h.wait_for(lambda: (lambda s: s if s.get("mode") == "audit" and
                                 (s.get("enforcer") or {}).get("running") and
                                 s["enforcer"]["pid"] != e1 else None)(al.status()),
                        timeout=20, what="the enforcer restarted in audit mode")
        h.wait_for(lambda: h.port_open(al.http_port), timeout=10, what="the proxy again")
        h.check("restarting the enforcer" in read(log), "restart logged")
        e2 = st["enforcer"]["pid"]

        # a config that no longer parses changes nothing
        with open(conf, "w") as f:
            f.write("mode = sideways\n")
        al.proc.send_signal(signal.SIGHUP)
        h.wait_for(lambda: "config not reloaded" in read(log), timeout=10, what="the refusal")
        h.check(conf + ":1: bad mode 'sideways'" in read(log), "the reason:\n" + read(log)[-2000:])
        al.check_alive()
        st = al.status()
        h.check_eq((st["mode"], st["enforcer"]["pid"]), ("audit", e2), "settings kept")
        with open(conf, "w") as f:
            f.write("mode = audit\n")
        al.stop()
        text = read(log) + read(log + ".1")
        for mark in h.SANITIZER_MARKS:
            h.check(mark not in text, "sanitizer report in the log file:\n" + text[-3000:])


h.run(main)
