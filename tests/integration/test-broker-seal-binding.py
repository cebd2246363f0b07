"""Sealed values are bound to their meaning: the AEAD associated data covers
the secret's name, type and host (common/seal.h). Editing state.json to
bind a sealed secret to another host, or to give it another type, leaves
its value unopenable: the broker starts, names the secret in a log line
(never the value) and refuses every ask for it (403 secret-seal-mismatch);
nothing reaches the origin. A state written in the previous layout
(format 1: "v1:" seals bound to the name alone, no seal_check), written
here from a live state with the old associated data, is migrated at the
next start (one log line, written at once) and keeps injecting."""
import base64
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import airlock_harness as h
import mitmtest as mt
import proxytest as pt

MOVED = mt.secret_value("moved")
TYPED = "u:" + mt.secret_value("typed")
KEPT = mt.secret_value("kept")


def load_state(al):
    with open(os.path.join(al.state_dir, "state.json")) as f:
        return json.load(f)


def save_state(al, doc):
    with open(os.path.join(al.state_dir, "state.json"), "w") as f:
        json.dump(doc, f, indent=1)


def seal_v1(key, name, value):
    """The format 1 layout: "v1:" base64(nonce || ct || tag), associated
    data "airlock-secret" NUL name (what common/seal.c wrote before)."""
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, value.encode(), b"airlock-secret\x00" + name.encode())
    return "v1:" + base64.b64encode(nonce + ct).decode()


def inner(al, tok, host, port):
    """An intercepted connection, once the restarted enforcer knows the
    client (it listens a moment before its first policy arrives)."""
    got = []

    def up():
        c = mt.Inner(al, tok, host, port)
        if c.connect_status == 200:
            got.append(c)
            return True
        c.close()
        return False
    h.wait_for(up, 10, what="the enforcer to know the client")
    return got[0]


def edited(s, port):
    al = s.al
    tok = pt.client(al, "web-1")
    mt.secret(al, "moved", "origin.test", MOVED)
    mt.secret(al, "typed", "origin.test", TYPED)
    pt.allow(al, "web-1", "other.test", "--port", str(port), "--path", "/echo/moved", "--secret", "moved")
    pt.allow(al, "web-1", "origin.test", "--port", str(port), "--path", "/echo/typed", "--secret", "typed")
    c = inner(al, tok, "origin.test", port)
    st, _, body = c.get("/echo/typed", "origin.test:%d" % port)
    h.check(st == 200 and mt.carried(body, "Bearer " + TYPED), "injected before the edit")
    c.close()
    al.stop()

    doc = load_state(al)
    h.check_eq(doc.get("format"), 2, "state format")
    h.check(isinstance(doc.get("seal_check"), str), "the seal key check is in the state")
    for sec in doc["secrets"]:
        h.check(sec["sealed"].startswith("v2:"), "%s sealed v2" % sec["name"])
        if sec["name"] == "moved":
            sec["host"] = "other.test"      # moved to another host
        if sec["name"] == "typed":
            sec["type"] = "basic"           # read as another type
    save_state(al, doc)
    seen = len(s.origin.requests)
    al.start()

    log = al.log_text()
    for name, typ, host in (("moved", "bearer", "other.test"), ("typed", "basic", "origin.test")):
        h.check(any("does not open under its name, type and host" in l and "secret=%s" % name in l
                    and "type=%s" % typ in l and "host=%s" % host in l for l in log.splitlines()),
                "the broker names %s at start and why" % name)
    c = inner(al, tok, "other.test", port)
    st, hd, body = c.get("/echo/moved", "other.test:%d" % port)
    h.check_eq((st, hd.get("x-airlock-reason")), (403, "secret-seal-mismatch"), "moved host refused")
    h.check(MOVED.encode() not in body, "the refusal does not carry the value")
    c.close()
    c = inner(al, tok, "origin.test", port)
    st, hd, body = c.get("/echo/typed", "origin.test:%d" % port)
    h.check_eq((st, hd.get("x-airlock-reason")), (403, "secret-seal-mismatch"), "changed type refused")
    c.close()
    h.check_eq(len(s.origin.requests), seen, "nothing forwarded")
    d = pt.wait_decision(al, lambda d: d.get("reason") == "secret-seal-mismatch", "log line")
    h.check(d.get("inject") in ("moved", "typed"), "the decision names the secret")
    for v in (MOVED, TYPED, TYPED.split(":", 1)[1]):
        mt.check_no_secret(al, v)
    al.check_alive()


def migrated(s, port):
    al = s.al
    tok = pt.client(al, "web-2")
    mt.secret(al, "kept", "origin.test", KEPT)
    pt.allow(al, "web-2", "origin.test", "--port", str(port), "--path", "/echo/kept", "--secret", "kept")
    al.stop()
    # the previous layout, as the old code wrote it
    with open(os.path.join(al.state_dir, "seal.key")) as f:
        key = bytes.fromhex(f.read().strip())
    doc = load_state(al)
    doc["format"] = 1
    del doc["seal_check"]
    # the edited ones are left behind (format 1 had no way to tell them)
    doc["secrets"] = [sec for sec in doc["secrets"] if sec["name"] == "kept"]
    doc["rules"] = [r for r in doc["rules"] if r.get("secret") in (None, "kept")]
    doc["secrets"][0]["sealed"] = seal_v1(key, "kept", KEPT)
    save_state(al, doc)

    al.start()
    lines = [l for l in al.log_text().splitlines() if "state migrated to format 2" in l]
    h.check_eq(len(lines), 1, "one migration line")
    doc = load_state(al)
    h.check_eq(doc.get("format"), 2, "written as format 2 at once")
    h.check(isinstance(doc.get("seal_check"), str), "with the key check")
    h.check(all(sec["sealed"].startswith("v2:") for sec in doc["secrets"]), "every value sealed again")
    c = inner(al, tok, "origin.test", port)
    st, _, body = c.get("/echo/kept", "origin.test:%d" % port)
    h.check(st == 200 and mt.carried(body, "Bearer " + KEPT), "a migrated secret still injects")
    c.close()
    al.restart()
    lines = [l for l in al.log_text().splitlines() if "state migrated to format 2" in l]
    h.check_eq(len(lines), 1, "migrated once, not at every start")
    c = inner(al, tok, "origin.test", port)
    st, _, body = c.get("/echo/kept", "origin.test:%d" % port)
    h.check(st == 200 and mt.carried(body, "Bearer " + KEPT), "and after a restart")
    c.close()
    mt.check_no_secret(al, KEPT)
    al.check_alive()


def main():
    with mt.Setup(names=("origin.test", "other.test")) as s:
        edited(s, s.port)
        migrated(s, s.port)


h.run(main)
