"""A start that cannot work says so and ends: `airlock up` on a proxy port
that something else holds exits non-zero within seconds, with the
enforcer's reason ("Address already in use") and the broker's on stderr,
no banner and no "airlock is up", the enforcer started once (no restart
loop), and no socket left behind. Positive twin: the same state dir on a
free port comes up and prints the banner only then."""

import os
import socket
import subprocess
import time

import airlock_harness as h


def main():
    h.require_binaries("airlock-enforcer")
    al = h.Airlock(start=False)
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        al.http_port = holder.getsockname()[1]
        al.https_port = h.free_port()
        with open(al.out_path, "wb") as out, open(al.err_path, "wb") as err:
            t0 = time.monotonic()
            p = subprocess.Popen(al.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 env=al.daemon_env(), start_new_session=True)
            try:
                rc = p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()
                raise h.TestFailure("airlock up still running 20 s after a failed start\n"
                                    + al.log_tail())
        took = time.monotonic() - t0
        h.log("failed start ended in %.2fs with status %d" % (took, rc))
        text = al.log_text()
        h.check(rc != 0, "exit status 0 for a start that failed")
        h.check(took < 10, "took %.1fs to give up" % took)
        h.check("Address already in use" in text, "the enforcer's reason missing:\n" + text)
        h.check("before it was listening" in text, "the broker's reason missing:\n" + text)
        h.check("airlock is up" not in text and "HTTP proxy:" not in text,
                "a banner for a start that failed:\n" + text)
        h.check_eq(text.count("enforcer started"), 1, "enforcer starts (no restart loop)")
        for name in ("api.sock", "ipc.sock", "enforcer.pid"):
            h.check(not os.path.exists(os.path.join(al.state_dir, name)), name + " left behind")
        for mark in h.SANITIZER_MARKS:
            h.check(mark not in text, "sanitizer report:\n" + text)
    finally:
        holder.close()

    # positive twin: a free port, and the banner once the proxy answers
    al.http_port = None
    al.start(new_ports=True)
    try:
        h.wait_for(lambda: open(al.out_path).read().rstrip().endswith("airlock is up"),
                   timeout=10, what="the banner")
        h.check(h.port_open(al.http_port), "proxy port open once up")
        al.stop()
    finally:
        al.close()


h.run(main)
