"""`airlock up` stops cleanly on SIGTERM and on SIGINT (Ctrl-C): exit status
0, the API and IPC sockets removed, the enforcer (when built) gone with it,
no sanitizer report; and it starts again on the same state dir. The negative
twin: SIGKILL is not a clean stop, and the next start still comes up (a stale
socket does not block it)."""

import os
import signal

import airlock_harness as h


def main():
    with h.Airlock() as al:
        ipc = os.path.join(al.state_dir, "ipc.sock")
        for sig in (signal.SIGTERM, signal.SIGINT):
            h.check(os.path.exists(al.api_socket), "api.sock missing while up")
            enf = al.enforcer_pid() if al.use_enforcer else None
            rc = al.stop(sig)  # asserts exit 0, api.sock gone, no sanitizer report
            h.check_eq(rc, 0, "exit status after %s" % sig.name)
            h.check(not os.path.exists(ipc), "ipc.sock left behind after %s" % sig.name)
            if enf:
                h.check(not h.pid_alive(enf), "the enforcer outlived %s" % sig.name)
            al.start()
            h.check_eq(al.cli("client", "list").returncode, 0, "CLI after restart")

        # negative twin: a crash leaves the sockets, the next start copes
        al.kill(signal.SIGKILL)
        h.check(al.proc.returncode == -signal.SIGKILL, "SIGKILL exit: %r" % al.proc.returncode)
        al._kill_group()  # the orphaned enforcer, if any
        al.start()
        h.check_eq(al.cli("client", "list").returncode, 0, "CLI after a crash and a restart")
        al.check_alive()


h.run(main)
