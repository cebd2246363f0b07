"""ssh through `airlock connect` as its ProxyCommand, over a passthrough
rule, with the proxy given as HTTPS_PROXY both as http:// and as https://
(the TLS listener, CA from AIRLOCK_CA): the remote command runs and its
output comes back; the tunnel's log line carries byte counts. Twin: without
the rule `airlock connect` exits 1 naming the proxy's refusal."""
import os
import shutil
import subprocess

import airlock_harness as h
import origins
import proxytest as pt


def ssh(al, s, env):
    cmd = ["ssh", "-F", "/dev/null", "-i", s.key, "-p", str(s.port),
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
           "-o", "ProxyCommand=%s connect %%h:%%p" % h.binary("airlock"),
           "%s@ssh.test" % os.environ.get("USER", "root"), "echo", "through-airlock"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def main():
    if not shutil.which("ssh") or not os.path.exists("/usr/sbin/sshd"):
        h.skip("OpenSSH client and server are needed")
    p = subprocess.run([h.binary("airlock"), "connect", "--help"], capture_output=True, text=True)
    if p.returncode != 0 or "ProxyCommand" not in p.stdout:
        h.skip("airlock connect is not wired into the CLI yet")
    with h.Airlock(start=False) as al:
        try:
            s = origins.SSHServer(al.tmpdir)
            s.__enter__()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            h.skip("cannot run sshd here: %s" % e)
        try:
            al.extra_flags += pt.pins("ssh.test", s.port)
            al.start()
            al.wait_ready()
            tok = pt.client(al, "web-1")
            env = dict(os.environ, HTTPS_PROXY="http://sandbox:%s@127.0.0.1:%d" % (tok, al.http_port))
            env.pop("https_proxy", None)
            r = subprocess.run([h.binary("airlock"), "connect", "ssh.test:%d" % s.port], env=env,
                               input="", capture_output=True, text=True, timeout=30)
            h.check_eq(r.returncode, 1, "connect without a rule")
            h.check("403" in r.stderr and "no-rule" in r.stderr, "refusal named: %s" % r.stderr)

            pt.allow(al, "web-1", "ssh.test", "--port", str(s.port), "--passthrough")
            for attempt in range(20):
                r = ssh(al, s, env)
                if r.returncode == 0:
                    break
            h.check_eq(r.returncode, 0, "ssh over http:// proxy: %s" % r.stderr)
            h.check_eq(r.stdout.strip(), "through-airlock", "remote output")
            env_tls = dict(env, HTTPS_PROXY="https://sandbox:%s@127.0.0.1:%d" % (tok, al.https_port),
                           AIRLOCK_CA=os.path.join(al.state_dir, "ca.pem"))
            r = ssh(al, s, env_tls)
            h.check_eq(r.returncode, 0, "ssh over https:// proxy: %s" % r.stderr)
            h.check_eq(r.stdout.strip(), "through-airlock", "remote output over TLS")
            d = pt.wait_decision(al, lambda d: d.get("method") == "CONNECT" and d["verdict"] == "allow"
                                 and int(d.get("bytes_down", 0)) > 0, "passthrough log line")
            h.check_eq(d.get("host"), "ssh.test", "host logged")
            al.check_alive()
        finally:
            s.__exit__(None, None, None)


h.run(main)
