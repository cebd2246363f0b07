"""The real agent CLIs (Claude Code, Codex) run as a user would, through a
running airlock, from a HOME that holds only airlock's placeholder files.
They come from $AIRLOCK_REAL_CLIENTS (tools/deps --test installs them
there) or PATH; tests skip when they are missing."""

import json
import os
import shutil
import subprocess


def find(name):
    d = os.environ.get("AIRLOCK_REAL_CLIENTS")
    if d and os.access(os.path.join(d, "node_modules", ".bin", name), os.X_OK):
        return os.path.join(d, "node_modules", ".bin", name)
    return shutil.which(name)


def home_for(al, tmp, which, secret):
    """A fresh HOME for `which` ("claude" or "codex") holding the stub of
    `secret`, with the CLI's default settings (telemetry on)."""
    home = os.path.join(tmp, "home-%s-%d" % (which, len(os.listdir(tmp))))
    d, f = {"claude": (".claude", ".credentials.json"), "codex": (".codex", "auth.json")}[which]
    os.makedirs(os.path.join(home, d))
    st, stub = al.api("GET", "/proxy/v1/secrets/%s/stub" % secret)
    if st != 200:
        raise RuntimeError("stub of %s: %s %r" % (secret, st, stub))
    with open(os.path.join(home, d, f), "w") as fh:
        json.dump(stub, fh)
    return home


def run(al, tmp, which, secret, token, timeout=120):
    """Run the CLI once with one prompt through airlock as client `token`:
    CompletedProcess (text)."""
    home = home_for(al, tmp, which, secret)
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "HTTPS_PROXY": al.proxy_url(token),
           "SSL_CERT_FILE": al.ca_cert, "NODE_EXTRA_CA_CERTS": al.ca_cert,
           "CODEX_CA_CERTIFICATE": al.ca_cert}
    argv = {"claude": [find("claude"), "-p", "say OK"],
            "codex": [find("codex"), "exec", "--skip-git-repo-check", "say OK"]}[which]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
