"""`airlock ca init` and `airlock ca cert`. init works without the broker: it
makes the state dir (0700), ca.key (0600) and ca.pem, prints the certificate's
path, refuses to overwrite an existing CA (exit 1) unless --force; cert prints
the PEM from the broker, or from the state dir when the broker is down, and
says so clearly when there is no CA at all. airlock up keeps a CA made by
init. `ca bundle` prints the system roots (this machine's store, or
--system FILE) followed by the CA, every certificate parsing; a --system file
that is missing or holds no certificate is refused (exit 1, nothing on
stdout). Negative twin: init refuses a state dir open to group or others."""

import os
import stat
import subprocess
import tempfile

import airlock_harness as h


def main():
    h.require_binaries("airlock", "airlock-broker")
    tmp = tempfile.mkdtemp(prefix="airlock-ca-")
    state = os.path.join(tmp, "state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}

    def cli(*args):
        return subprocess.run([h.binary("airlock"), "--state-dir", state] + list(args),
                              capture_output=True, text=True, env=env, timeout=60)

    try:
        p = cli("ca", "cert")
        h.check(p.returncode == 1 and "no CA" in p.stderr and "ca init" in p.stderr,
                "ca cert without a CA: %r" % p.stderr)
        h.check_eq(p.stdout, "", "ca cert without a CA: stdout")

        p = cli("ca", "init")
        h.check_eq(p.returncode, 0, "ca init: %r" % p.stderr)
        pem_path = os.path.join(state, "ca.pem")
        h.check_eq(p.stdout.strip(), pem_path, "ca init prints the certificate's path")
        h.check_eq(stat.S_IMODE(os.stat(state).st_mode), 0o700, "state dir mode")
        key_mode = stat.S_IMODE(os.stat(os.path.join(state, "ca.key")).st_mode)
        h.check_eq(key_mode & 0o077, 0, "ca.key open to group or others (%o)" % key_mode)
        with open(pem_path) as f:
            pem = f.read()
        h.check(pem.startswith("-----BEGIN CERTIFICATE-----"), "ca.pem is not a PEM certificate")

        p = cli("ca", "cert")
        h.check_eq(p.returncode, 0, "ca cert from the file: %r" % p.stderr)
        h.check_eq(p.stdout, pem, "ca cert (broker down) prints ca.pem")

        p = cli("ca", "bundle")
        roots = open("/etc/ssl/certs/ca-certificates.crt").read()
        h.check_eq(p.returncode, 0, "ca bundle: %r" % p.stderr)
        h.check(p.stdout.startswith(roots) and p.stdout.endswith(pem) and
                len(p.stdout) <= len(roots) + len(pem) + 1, "ca bundle: the system roots, then the CA")
        r = subprocess.run(["openssl", "storeutl", "-noout", "-certs", "/dev/stdin"], input=p.stdout,
                           capture_output=True, text=True, timeout=30)
        h.check(r.returncode == 0 and ("Total found: %d" % (roots.count("BEGIN CERTIFICATE") + 1)) in r.stdout,
                "openssl reads every certificate of the bundle: %s" % (r.stdout + r.stderr)[-200:])
        mine = os.path.join(tmp, "roots.pem")
        with open(mine, "w") as f:
            f.write(pem.rstrip("\n"))   # no final newline: one is added between
        p = cli("ca", "bundle", "--system", mine)
        h.check_eq((p.returncode, p.stdout), (0, pem.rstrip("\n") + "\n" + pem), "--system FILE")
        for bad, what in ((os.path.join(tmp, "missing.pem"), "cannot read"), ("/etc/hostname", "no PEM")):
            p = cli("ca", "bundle", "--system", bad)
            h.check(p.returncode == 1 and p.stdout == "" and what in p.stderr and p.stderr.count("\n") == 1,
                    "ca bundle --system %s: %r" % (bad, p.stderr))

        p = cli("ca", "init")
        h.check(p.returncode == 1 and "exists" in p.stderr, "second ca init: %r" % p.stderr)
        with open(pem_path) as f:
            h.check_eq(f.read(), pem, "a refused ca init changed ca.pem")

        p = cli("ca", "init", "--force")
        h.check_eq(p.returncode, 0, "ca init --force: %r" % p.stderr)
        with open(pem_path) as f:
            pem2 = f.read()
        h.check(pem2 != pem and "BEGIN CERTIFICATE" in pem2, "--force made no new CA")

        # airlock up on this state dir keeps the CA; ca cert now asks the broker
        with h.Airlock(tmpdir=tmp) as al:
            p = al.cli("ca", "cert")
            h.check_eq(p.returncode, 0, "ca cert via the broker: %r" % p.stderr)
            h.check_eq(p.stdout, pem2, "the broker's CA is the one ca init made")
            st, body = al.api("GET", "/proxy/v1/ca")
            h.check_eq((st, body), (200, pem2), "GET /proxy/v1/ca")
            al.check_alive()

        # negative twin: a state dir others can read is refused, nothing made in it
        open_dir = os.path.join(tmp, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o755)
        p = subprocess.run([h.binary("airlock"), "ca", "init", "--state-dir", open_dir],
                           capture_output=True, text=True, env=env, timeout=60)
        h.check_eq(p.returncode, 1, "ca init in a 0755 dir: %r" % p.stderr)
        h.check_eq(os.listdir(open_dir), [], "ca init wrote into a 0755 dir")
    finally:
        subprocess.run(["rm", "-rf", tmp])


h.run(main)
