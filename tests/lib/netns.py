"""netns: an isolated sandbox for the sandbox-side tests (root only).

    import netns
    with netns.Sandbox(tmpdir) as sb:            # skips (77) without root or ip netns
        al = h.Airlock(extra_flags=["--bind", sb.host_addr], ...)
        sb.isolate([al.http_port, al.https_port])  # drop all but the proxy's ports
        r = sb.run(["curl", ...], env={...})       # CompletedProcess (text)

A Sandbox is a network namespace joined to the host by a veth pair (a /30:
host_addr on the host end, addr inside), with no default route, plus a
private mount namespace held by one long-lived process inside, so that what
the sandbox changes in its files never reaches the host: /etc/resolv.conf,
/etc/ssl/certs and /usr/local/share/ca-certificates are bind-mounted copies,
/etc/ca-certificates/update.d is empty (no hooks reaching outside the store),
/etc/ca-certificates.conf lists no distribution roots (update-ca-certificates
then rebuilds a bundle of the local certificates in a second) and /run is a
fresh tmpfs. Commands run inside with nsenter (both
namespaces). isolate() adds the sandbox platform's own firewall (table inet
sandbox_isolation: output dropped except loopback and the proxy's address
and ports), as the product this mimics sets up for its sandboxes.

Names are unique per test (pid and a counter); everything is removed on
exit, even after a failure, and at interpreter exit: the processes inside
(ip netns pids: all were started by this test), the namespace, the veth.
The host's own /etc/resolv.conf and CA store are never written.
"""

import atexit
import os
import random
import shutil
import subprocess
import time

import airlock_harness as h

_live = []
_count = 0

HOLD = r"""
set -e
T="$1"
mount --bind "$T/resolv.conf" /etc/resolv.conf
mount --bind "$T/certs" /etc/ssl/certs
mount --bind "$T/local-ca" /usr/local/share/ca-certificates
mount -t tmpfs -o mode=0755 tmpfs /run
if [ -d /etc/ca-certificates/update.d ]; then mount --bind "$T/empty" /etc/ca-certificates/update.d; fi
if [ -f /etc/ca-certificates.conf ]; then mount --bind "$T/ca-certificates.conf" /etc/ca-certificates.conf; fi
echo ready
exec sleep 100000
"""


def _run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def require_root():
    """Skip (77) unless this test can make namespaces."""
    if os.geteuid() != 0:
        h.skip("skipped: needs root (network namespaces)")
    for tool in ("ip", "nsenter", "unshare", "nft"):
        if not shutil.which(tool):
            h.skip("skipped: needs %s" % tool)
    probe = "alprobe%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        h.skip("skipped: needs ip netns (%s)" % r.stderr.strip())
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def _free_subnet():
    used = _run(["ip", "-4", "route", "show", "table", "all"]).stdout
    for _ in range(200):
        b, c = random.randint(0, 255), random.randint(0, 63) * 4
        prefix = "10.213.%d." % b
        if prefix not in used:
            return prefix, c
    raise RuntimeError("no free 10.213.x.y/30")


class Sandbox:
    def __init__(self, tmpdir):
        global _count
        require_root()
        _count += 1
        tag = "%x%x" % (os.getpid() & 0xfffff, _count)
        self.name = "alsb" + tag
        self.host_if = "alh" + tag
        self.sb_if = "als" + tag
        prefix, c = _free_subnet()
        self.host_addr = prefix + str(c + 1)
        self.addr = prefix + str(c + 2)
        self.dir = os.path.join(tmpdir, "sandbox-" + tag)
        self.holder = None
        self.made = False

    # -- life cycle --

    def __enter__(self):
        _live.append(self)
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _create(self):
        os.makedirs(self.dir, exist_ok=True)
        _run(["ip", "netns", "add", self.name])
        self.made = True
        _run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.sb_if])
        _run(["ip", "link", "set", self.sb_if, "netns", self.name])
        _run(["ip", "addr", "add", self.host_addr + "/30", "dev", self.host_if])
        _run(["ip", "link", "set", self.host_if, "up"])
        ns = ["ip", "netns", "exec", self.name]
        _run(ns + ["ip", "link", "set", "lo", "up"])
        _run(ns + ["ip", "addr", "add", self.addr + "/30", "dev", self.sb_if])
        _run(ns + ["ip", "link", "set", self.sb_if, "up"])
        # the sandbox's own copies of the files it may change
        shutil.copy("/etc/resolv.conf", os.path.join(self.dir, "resolv.conf"))
        _run(["cp", "-a", "/etc/ssl/certs", os.path.join(self.dir, "certs")])
        _run(["cp", "-a", "/usr/local/share/ca-certificates", os.path.join(self.dir, "local-ca")])
        # update-ca-certificates' hooks (Java's keystore) reach outside the
        # CA store (dpkg triggers, /var/lib): the sandbox has none
        os.makedirs(os.path.join(self.dir, "empty"))
        # no distribution roots listed: update-ca-certificates then walks the
        # local certificates only (a second, not twenty on this machine), and
        # the bundle it writes holds only those
        with open(os.path.join(self.dir, "ca-certificates.conf"), "w") as f:
            f.write("# the sandbox trusts the local certificates only\n")
        self.holder = subprocess.Popen(ns + ["unshare", "--mount", "--propagation", "private", "--",
                                             "sh", "-c", HOLD, "sh", self.dir],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("sandbox holder: %r %s" % (line, self.holder.stderr.read()))
        # the link needs a moment to pass traffic (carrier on both ends)
        h.wait_for(lambda: self.run(["ping", "-c1", "-W1", self.host_addr]).returncode == 0
                   if shutil.which("ping") else True, timeout=10, what="veth up")

    def isolate(self, ports):
        """The platform's firewall: nothing leaves but loopback and the proxy."""
        rules = ("table inet sandbox_isolation {\n"
                 " chain out {\n"
                 "  type filter hook output priority 0; policy drop;\n"
                 "  oif \"lo\" accept\n"
                 "  ip daddr %s tcp dport { %s } accept\n"
                 " }\n"
                 "}\n" % (self.host_addr, ", ".join(str(p) for p in ports)))
        r = self.run(["nft", "-f", "-"], input=rules)
        if r.returncode != 0:
            raise RuntimeError("nft: %s" % r.stderr)

    def close(self):
        if self.made:
            # every process in the namespace was started by this test
            for _ in range(50):
                pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                                      text=True).stdout.split()
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(int(p), 9)
                    except (ProcessLookupError, ValueError):
                        pass
                time.sleep(0.02)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self.made = False
        if self.holder is not None:
            try:
                self.holder.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.holder = None
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        if self in _live:
            _live.remove(self)

    # -- inside --

    def prefix(self):
        return ["nsenter", "--target", str(self.holder.pid), "--net", "--mount", "--"]

    def run(self, argv, env=None, input=None, timeout=60, text=True):
        """Run argv inside (network and mount namespaces). env: the whole
        environment (default: PATH and HOME only, no proxy variables)."""
        e = env if env is not None else {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir}
        return subprocess.run(self.prefix() + list(argv), env=e, input=input, capture_output=True,
                              text=text, timeout=timeout)

    def popen(self, argv, env=None, **kw):
        e = env if env is not None else {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir}
        return subprocess.Popen(self.prefix() + list(argv), env=e, **kw)

    def read(self, path):
        """A file as the sandbox sees it."""
        r = self.run(["cat", path])
        return r.stdout if r.returncode == 0 else None


def _cleanup():
    for sb in list(_live):
        sb.close()


atexit.register(_cleanup)
