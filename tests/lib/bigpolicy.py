"""bigpolicy: a state.json whose policy snapshot has a size chosen to the
byte, for the tests of the IPC frame cap (AL_IPC_FRAME_MAX, 16 MiB).

Building a 16 MiB policy through the API would take hundreds of calls (a
body is at most 64 KiB); writing state.json before the broker starts takes
a fraction of a second. The broker validates the file on load
(broker/state.c): rule ids increase and stay below next_id, every rule names
a client, at most 32 paths of at most 2048 bytes each.

The size is predicted by building the snapshot the way broker/snapshot.c
does and encoding it as jansson's JSON_COMPACT does (no spaces, keys in
insertion order, "/" not escaped); every string here is ASCII, so a path of
length L adds exactly L bytes. Tests that need the exact size in the broker
read it from its own error message as well.

    st = bigpolicy.State()
    st.client("web-1", token)
    st.rule("web-1", "origin.test", ports=[port])
    st.pad_to(bigpolicy.FRAME_MAX - 3000)      # with a client "pad"
    st.write(state_dir)
"""

import hashlib
import json
import os

FRAME_MAX = 16 * 1024 * 1024   # common/limits.h AL_IPC_FRAME_MAX
PAD_PATH_LEN = 1000            # leaves room for a last path to absorb the remainder
PAD_PATHS = 30                 # ... and for it in the rule (at most 32 paths)
PAD_FIRST_ID = 1000            # ids of the padding: all four digits wide


def token_hash(tok):
    return hashlib.sha256(tok.encode()).hexdigest()


def encoded_len(obj):
    return len(json.dumps(obj, separators=(",", ":")))


def _pad_path(i, j, n):
    p = "/pad/%d/%d/" % (i, j)
    return p + "p" * (n - len(p))


class State:
    def __init__(self):
        self.clients = []      # state.json client objects
        self.rules = []        # state.json rule objects
        self.next_id = 1

    def client(self, name, token):
        self.clients.append({"name": name, "token_sha256": token_hash(token),
                             "created_at": 1700000000})

    def rule(self, client, host, ports=(443,), paths=(), rule_id=None):
        rid = rule_id if rule_id is not None else self.next_id
        self.next_id = rid + 1
        r = {"id": rid, "client": client, "host": host, "ports": sorted(ports), "methods": [],
             "paths": sorted(paths), "passthrough": False, "created_at": 1700000000}
        self.rules.append(r)
        return r

    def snapshot(self, version=1):
        """The "policy" message broker/snapshot.c builds (no TTL rules here)."""
        clients = []
        for c in self.clients:
            rules = [{"id": r["id"], "host": r["host"], "ports": r["ports"],
                      "methods": r["methods"], "paths": r["paths"],
                      "passthrough": r["passthrough"]}
                     for r in self.rules if r["client"] == c["name"]]
            clients.append({"name": c["name"], "token_sha256": c["token_sha256"],
                            "rules": rules})
        # secret_hosts: the hosts secrets are bound to (none in these documents)
        return {"type": "policy", "version": version, "clients": clients, "secret_hosts": []}

    def size(self, version=1):
        """Bytes of the encoded policy (the IPC frame's body)."""
        return encoded_len(self.snapshot(version))

    def pad_to(self, target, version=1, client="pad"):
        """Add a client and rules for pad.example until the policy at this
        version is exactly target bytes."""
        if not any(c["name"] == client for c in self.clients):
            self.client(client, "pad-token-never-used-%s" % client)
        if self.next_id < PAD_FIRST_ID:
            self.next_id = PAD_FIRST_ID
        size = self.size(version)
        i = 0

        def full_rule():
            return self.rule(client, "pad.example",
                             paths=[_pad_path(i, j, PAD_PATH_LEN) for j in range(PAD_PATHS)])
        full_rule()
        i += 1
        one = self.size(version) - size
        size += one
        full_rule()
        i += 1
        full = self.size(version) - size       # a rule after the first: its comma too
        size += full
        if size + 200 > target:
            raise ValueError("target %d is below the smallest padding (%d)" % (target, size))
        while size + full + 200 <= target:
            full_rule()
            i += 1
            size += full
        last = self.rule(client, "pad.example", paths=["/v"])
        size = self.size(version)
        while size + PAD_PATH_LEN + 3 <= target:   # "...", per path
            last["paths"].append(_pad_path(i, len(last["paths"]), PAD_PATH_LEN))
            size += PAD_PATH_LEN + 3
        last["paths"][0] = "/v" + "v" * (target - size)
        last["paths"].sort()
        got = self.size(version)
        if got != target or len(last["paths"]) > 32 or max(map(len, last["paths"])) > 2048:
            raise ValueError("padding missed: %d bytes for %d" % (got, target))
        return got

    def doc(self):
        return {"format": 1, "next_id": self.next_id, "clients": self.clients,
                "rules": self.rules, "secrets": []}

    def write(self, state_dir):
        """state.json (0600) in state_dir (created 0700)."""
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        os.chmod(state_dir, 0o700)
        path = os.path.join(state_dir, "state.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.doc(), f)
        return path
