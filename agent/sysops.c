/* What install changes in the sandbox, each with its undo: the nftables
 * table, the pool's route, /etc/resolv.conf, the CA in the system store.
 * nft, ip and update-ca-certificates are run as programs (fork, exec, no
 * shell): the agent links no netlink or nftables library for a handful of
 * calls made once. */
#include "config.h"

#include "sysops.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/pool.h"
#include "agent/util.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define CA_LOCAL_DIR "/usr/local/share/ca-certificates"
#define CA_LOCAL_FILE CA_LOCAL_DIR "/airlock-agent.crt"
#define POOL_ROUTE "198.18.0.0/15"
#define ETC_CERTS "/etc/ssl/certs"
#define CA_ETC_LINK "airlock-agent.pem"

const char sys_resolv_ours[] =
	"# airlock-agent: names are answered here with stand-in addresses and never\n"
	"# sent anywhere; `airlock-agent uninstall` puts the original back\n"
	"nameserver 127.0.0.1\n";

int sys_run(char *const argv[], const char *input, char *err, size_t cap)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	if (err && cap)
		err[0] = '\0';
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, cap, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(in[0], 0);
		dup2(devnull >= 0 ? devnull : out[1], 1);
		dup2(out[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	signal(SIGPIPE, SIG_IGN);
	if (input) {
		size_t n = strlen(input), off = 0;
		while (off < n) {
			ssize_t w = write(in[1], input + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				break;
			off += (size_t)w;
		}
	}
	close(in[1]);
	char buf[1024];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(out[0], buf + got, sizeof buf - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof buf - 1)
			got = 0;   /* keep reading; only the tail matters */
	}
	buf[got] = '\0';
	close(out[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (err && cap) {
		/* one line: the tool's last message */
		while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
			buf[--got] = '\0';
		for (char *p = buf; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(err, cap, "%s: %s", argv[0], buf[0] ? buf : "failed");
	}
	return -1;
}

/* ---- nftables ---- */

int sys_nft_apply(const struct agent_config *c, char *err, size_t cap)
{
	char proxy[64], script[2048];
	const char *fam = c->proxy_addr.ss_family == AF_INET ? "ip" : "ip6";
	addr_str((const struct sockaddr *)&c->proxy_addr, false, proxy, sizeof proxy);
	unsigned pport = ntohs(((const struct sockaddr_in *)&c->proxy_addr)->sin_port);
	/* One transaction: create-if-missing, delete, create. Replaces an
	 * earlier install's table atomically; nothing is ever half there.
	 * Exempt: the agent's own sockets (its mark), the sandbox's own
	 * addresses (loopback, where the agent listens, included) and the
	 * proxy itself (programs that do use HTTPS_PROXY go there directly).
	 * DNS to any server, TCP or UDP, goes to the stub; all other TCP to the
	 * agent's listener; UDP and everything else is dropped (ICMPv6
	 * neighbour discovery excepted: IPv6 to the proxy needs it). */
	snprintf(script, sizeof script,
		 "table inet airlock_agent\n"
		 "delete table inet airlock_agent\n"
		 "table inet airlock_agent {\n"
		 "\tchain nat_out {\n"
		 "\t\ttype nat hook output priority -100; policy accept;\n"
		 "\t\tmeta mark 0x%x return\n"
		 "\t\tfib daddr type local return\n"
		 "\t\t%s daddr %s tcp dport %u return\n"
		 "\t\tmeta l4proto { tcp, udp } th dport 53 redirect to :53\n"
		 "\t\tmeta l4proto tcp redirect to :%u\n"
		 "\t}\n"
		 "\tchain filter_out {\n"
		 "\t\ttype filter hook output priority 0; policy accept;\n"
		 "\t\tct state established,related accept\n"
		 "\t\tmeta mark 0x%x accept\n"
		 "\t\tfib daddr type local accept\n"
		 "\t\t%s daddr %s tcp dport %u accept\n"
		 "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept\n"
		 "\t\tcounter drop\n"
		 "\t}\n"
		 "}\n",
		 c->mark, fam, proxy, pport, c->redirect_port, c->mark, fam, proxy, pport);
	char *argv[] = { "nft", "-f", "-", NULL };
	return sys_run(argv, script, err, cap);
}

bool sys_nft_present(void)
{
	char *argv[] = { "nft", "list", "table", "inet", "airlock_agent", NULL };
	return sys_run(argv, NULL, NULL, 0) == 0;
}

int sys_nft_remove(char *err, size_t cap)
{
	if (!sys_nft_present())
		return 0;
	char *argv[] = { "nft", "delete", "table", "inet", "airlock_agent", NULL };
	return sys_run(argv, NULL, err, cap);
}

/* ---- the pool's route: without one, connect() to a stand-in address
 * fails (no route) before netfilter ever sees the packet ---- */

int sys_route_add(bool *added, char *err, size_t cap)
{
	*added = false;
	char *show[] = { "sh", "-c", "test -n \"$(ip -4 route show " POOL_ROUTE ")\"", NULL };
	if (sys_run(show, NULL, NULL, 0) == 0)
		return 0;   /* someone's route: leave it */
	char *argv[] = { "ip", "-4", "route", "add", POOL_ROUTE, "dev", "lo", NULL };
	if (sys_run(argv, NULL, err, cap) < 0)
		return -1;
	*added = true;
	return 0;
}

int sys_route_del(char *err, size_t cap)
{
	char *argv[] = { "ip", "-4", "route", "del", POOL_ROUTE, "dev", "lo", NULL };
	return sys_run(argv, NULL, err, cap);
}

/* ---- /etc/resolv.conf ---- */

/* Written in place when it is a regular file: it is often a bind mount
 * (containers, `ip netns exec`), which a rename cannot replace. */
static int write_in_place(const char *path, const char *data, size_t n, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	(void)fchmod(fd, mode);
	fsync(fd);
	return close(fd);
}

static int write_new(const char *path, const char *data, size_t n, unsigned mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.airlock-agent.%d", path, (int)getpid());
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (write(fd, data, n) != (ssize_t)n || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int sys_resolv_point(struct agent_installed *in, char *err, size_t cap)
{
	char saved[4200];
	state_path("resolv.conf.orig", saved, sizeof saved);
	if (in->resolv == RESOLV_NONE) {
		/* first install: keep the original, whatever it is */
		struct stat st;
		if (lstat(RESOLV_CONF, &st) < 0) {
			if (errno != ENOENT) {
				snprintf(err, cap, "%s: %s", RESOLV_CONF, strerror(errno));
				return -1;
			}
			in->resolv = RESOLV_ABSENT;
			if (file_write_atomic(saved, "", 0, 0600) < 0)
				goto save_fail;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(RESOLV_CONF, target, sizeof target - 1);
			if (n < 0) {
				snprintf(err, cap, "readlink %s: %s", RESOLV_CONF, strerror(errno));
				return -1;
			}
			if (file_write_atomic(saved, target, (size_t)n, 0600) < 0)
				goto save_fail;
			in->resolv = RESOLV_SYMLINK;
		} else if (S_ISREG(st.st_mode)) {
			char *text;
			size_t n;
			if (file_read(RESOLV_CONF, &text, &n) < 0) {
				snprintf(err, cap, "read %s: %s", RESOLV_CONF, strerror(errno));
				return -1;
			}
			int rc = file_write_atomic(saved, text, n, 0600);
			free(text);
			if (rc < 0)
				goto save_fail;
			in->resolv = RESOLV_REGULAR;
			in->resolv_mode = st.st_mode & 07777;
		} else {
			snprintf(err, cap, "%s is neither a file nor a symbolic link", RESOLV_CONF);
			return -1;
		}
		if (installed_save(in) < 0)
			goto save_fail;
	}
	struct stat st;
	int rc;
	if (lstat(RESOLV_CONF, &st) == 0 && S_ISREG(st.st_mode))
		rc = write_in_place(RESOLV_CONF, sys_resolv_ours, strlen(sys_resolv_ours), 0644);
	else
		rc = write_new(RESOLV_CONF, sys_resolv_ours, strlen(sys_resolv_ours), 0644);
	if (rc < 0) {
		snprintf(err, cap, "write %s: %s", RESOLV_CONF, strerror(errno));
		return -1;
	}
	return 0;
save_fail:
	snprintf(err, cap, "save %s in the state dir: %s", RESOLV_CONF, strerror(errno));
	return -1;
}

int sys_resolv_restore(struct agent_installed *in, char *err, size_t cap)
{
	char saved[4200], *text = NULL, *cur = NULL;
	size_t n = 0, cn = 0;
	int rc = -1;
	if (in->resolv == RESOLV_NONE)
		return 0;
	if (file_read(state_path("resolv.conf.orig", saved, sizeof saved), &text, &n) < 0) {
		snprintf(err, cap, "the saved %s is gone: %s", RESOLV_CONF, strerror(errno));
		return -1;
	}
	/* only ours is replaced: if someone rewrote it since, theirs stays */
	struct stat st;
	if (lstat(RESOLV_CONF, &st) == 0 && S_ISREG(st.st_mode) && file_read(RESOLV_CONF, &cur, &cn) == 0 &&
	    (cn != strlen(sys_resolv_ours) || memcmp(cur, sys_resolv_ours, cn) != 0)) {
		snprintf(err, cap, "%s was changed since install: left as it is (the original is %s)", RESOLV_CONF,
			 saved);
		goto out;
	}
	switch (in->resolv) {
	case RESOLV_REGULAR:
		rc = lstat(RESOLV_CONF, &st) == 0 && S_ISREG(st.st_mode)
			     ? write_in_place(RESOLV_CONF, text, n, in->resolv_mode ? in->resolv_mode : 0644)
			     : write_new(RESOLV_CONF, text, n, in->resolv_mode ? in->resolv_mode : 0644);
		break;
	case RESOLV_SYMLINK: {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s.airlock-agent.%d", RESOLV_CONF, (int)getpid());
		unlink(tmp);
		rc = symlink(text, tmp) == 0 && rename(tmp, RESOLV_CONF) == 0 ? 0 : -1;
		if (rc < 0)
			unlink(tmp);
		break;
	}
	case RESOLV_ABSENT:
		rc = unlink(RESOLV_CONF) < 0 && errno != ENOENT ? -1 : 0;
		break;
	default:
		break;
	}
	if (rc < 0)
		snprintf(err, cap, "restore %s: %s", RESOLV_CONF, strerror(errno));
	else
		in->resolv = RESOLV_NONE;
out:
	free(text);
	free(cur);
	return rc;
}

/* ---- the CA in the system store (Debian's update-ca-certificates) ---- */

int sys_ca_add(const char *pem_path, char *err, size_t cap)
{
	char *pem;
	size_t n;
	if (file_read(pem_path, &pem, &n) < 0) {
		snprintf(err, cap, "--ca %s: %s", pem_path, strerror(errno));
		return -1;
	}
	/* one or more certificates, nothing else that update-ca-certificates
	 * would silently skip */
	int rc = -1;
	if (strlen(pem) != n || !strstr(pem, "-----BEGIN CERTIFICATE-----") || strstr(pem, "PRIVATE KEY")) {
		snprintf(err, cap, "--ca %s: not a PEM certificate", pem_path);
		goto out;
	}
	if (mkdir(CA_LOCAL_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, cap, "%s: %s", CA_LOCAL_DIR, strerror(errno));
		goto out;
	}
	if (write_new(CA_LOCAL_FILE, pem, n, 0644) < 0) {
		snprintf(err, cap, "%s: %s", CA_LOCAL_FILE, strerror(errno));
		goto out;
	}
	char *argv[] = { "update-ca-certificates", NULL };
	rc = sys_run(argv, NULL, err, cap);
out:
	free(pem);
	return rc;
}

/* update-ca-certificates links ETC_CERTS/airlock-agent.pem to our file and
 * a hash link (XXXXXXXX.N) to that one; a local certificate that goes away
 * does not count as removed for it, so it keeps both links (dangling).
 * They are ours: we take them out ourselves. */
static void ca_unlink_ours(void)
{
	DIR *d = opendir(ETC_CERTS);
	if (!d)
		return;
	struct dirent *e;
	char path[PATH_MAX], target[PATH_MAX];
	while ((e = readdir(d))) {
		snprintf(path, sizeof path, "%s/%s", ETC_CERTS, e->d_name);
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, CA_LOCAL_FILE) == 0 || strcmp(target, CA_ETC_LINK) == 0 ||
		    strcmp(target, ETC_CERTS "/" CA_ETC_LINK) == 0 || strcmp(e->d_name, CA_ETC_LINK) == 0)
			unlink(path);
	}
	closedir(d);
}

int sys_ca_remove(char *err, size_t cap)
{
	if (unlink(CA_LOCAL_FILE) < 0 && errno != ENOENT) {
		snprintf(err, cap, "%s: %s", CA_LOCAL_FILE, strerror(errno));
		return -1;
	}
	ca_unlink_ours();
	/* regenerates the bundle without it */
	char *argv[] = { "update-ca-certificates", NULL };
	return sys_run(argv, NULL, err, cap);
}
