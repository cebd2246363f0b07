#!/usr/bin/env python3
"""The broker refuses to start over a state.json whose policy would not fit
one IPC frame (AL_IPC_FRAME_MAX): it would run with a policy it cannot
deliver, answering for changes that never reach the enforcer. The refusal
is one clear line naming the file, the size and the cap; the file is left
as it was. Negative twin: the same state with one byte less, exactly at the
cap, starts, and an enforcer saying hello receives that whole policy.
"""
import json
import os

import bigpolicy
import broker_harness as bh

CAP = bigpolicy.FRAME_MAX


def state_with_policy_of(size):
    st = bigpolicy.State()
    st.client("web-1", "alk_test_token_of_web_1_0123456789abcdef")
    st.rule("web-1", "origin.test")
    st.pad_to(size)
    return st


def main():
    b = bh.Broker(start=False)
    try:
        # cap + 1: refused at start, with the numbers
        path = state_with_policy_of(CAP + 1).write(b.state_dir)
        with open(path, "rb") as f:
            before = f.read()
        proc = b.spawn()
        rc = proc.wait(60)
        bh.check_eq(rc, 1, "exit status over a state past the cap\n%s" % b.log_tail())
        want = ("airlock-broker: %s: the policy would be %d bytes, over the IPC frame cap of %d "
                "bytes; the enforcer could never receive it: remove rules or clients from that "
                "file (refusing to start)" % (path, CAP + 1, CAP))
        bh.check(want in b.log_text().splitlines(), "the refusal line\n%s" % b.log_tail())
        with open(path, "rb") as f:
            bh.check(f.read() == before, "state.json changed by a refused start")
        bh.check(not os.path.exists(b.api_socket), "api.sock left by a refused start")
        b.check_sanitizers()

        # exactly at the cap: starts, and hello gets the whole policy
        state_with_policy_of(CAP).write(b.state_dir)
        b.start()
        ipc = bh.IpcClient(b.ipc_socket, timeout=30)
        ipc.send({"type": "hello", "proto": 2, "pid": os.getpid()})
        pol = ipc.recv(timeout=30)
        bh.check_eq(pol["version"], 1, "policy version")
        bh.check_eq(len(json.dumps(pol, separators=(",", ":"))), CAP, "policy bytes at the cap")
        bh.check_eq(len(pol["clients"]), 2, "clients in it")
        ipc.close()
        b.stop()
    finally:
        b.close()


bh.run(main)
