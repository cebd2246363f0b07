/* install and uninstall (install.h): the daemon first, then the rules that
 * send traffic to it, so no connection is ever redirected to nothing; the
 * undo in the reverse order. Everything install changes is recorded in
 * the state dir as it is done, so uninstall (or a failed install rolling
 * itself back) undoes exactly that and nothing else. */
#include "config.h"

#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/sysops.h"
#include "agent/util.h"

#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 5000

/* ---- the daemon ---- */

pid_t daemon_pid(void)
{
	char path[4200], *text, cmd[4200], *line = NULL;
	size_t n;
	if (file_read(state_path("agent.pid", path, sizeof path), &text, &n) < 0)
		return 0;
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1)
		return 0;
	/* a pid file can outlive its process: only one running us counts */
	snprintf(cmd, sizeof cmd, "/proc/%ld/cmdline", pid);
	if (file_read(cmd, &line, &n) < 0)
		return 0;
	const char *base = strrchr(line, '/');
	bool ours = strstr(base ? base + 1 : line, "airlock-agent") == (base ? base + 1 : line);
	free(line);
	return ours ? (pid_t)pid : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int daemon_stop(void)
{
	pid_t pid = daemon_pid();
	char path[4200];
	if (pid == 0) {
		unlink(state_path("agent.pid", path, sizeof path));
		return 0;
	}
	kill(pid, SIGTERM);
	for (long waited = 0; waited < STOP_TIMEOUT_MS; waited += 20) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			break;
		/* our own child (run in this process's tree) must be reaped */
		waitpid(pid, NULL, WNOHANG);
		sleep_ms(20);
	}
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		sleep_ms(50);
	}
	unlink(state_path("agent.pid", path, sizeof path));
	return 0;
}

int daemon_start(const char *log_path, char *err, size_t cap)
{
	int p[2];
	char logp[4200];
	if (log_path && log_path[0])
		snprintf(logp, sizeof logp, "%s", log_path);
	else
		state_path("agent.log", logp, sizeof logp);
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		snprintf(err, cap, "fork: %s", strerror(errno));
		return -1;
	}
	if (child == 0) {
		/* detach twice: no controlling terminal, not our child */
		close(p[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (null >= 0)
			dup2(null, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		if (chdir("/") < 0)
			_exit(1);
		umask(077);
		_exit(daemon_run(p[1]));
	}
	close(p[1]);
	waitpid(child, NULL, 0);
	char msg[512];
	size_t got = 0;
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	while (got < sizeof msg - 1 && poll(&pfd, 1, READY_TIMEOUT_MS) > 0) {
		ssize_t r = read(p[0], msg + got, sizeof msg - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(p[0]);
	msg[got] = '\0';
	if (strcmp(msg, "ok\n") == 0)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(err, cap, "the daemon did not start: %s (log: %s)", got ? msg : "no answer", logp);
	return -1;
}

/* ---- undo ---- */

static void collect(char *errs, size_t cap, const char *e)
{
	size_t n = strlen(errs);
	if (n && n + 2 < cap)
		strcat(errs, "; ");
	strncat(errs, e, cap - strlen(errs) - 1);
}

/* Undo what `in` records; each step is forgotten once done. */
static int undo(struct agent_installed *in, char *errs, size_t cap)
{
	char e[512];
	int rc = 0;
	daemon_stop();
	if (sys_nft_remove(e, sizeof e) < 0) {
		collect(errs, cap, e);
		rc = -1;
	}
	if (in->route) {
		if (sys_route_del(e, sizeof e) < 0) {
			collect(errs, cap, e);
			rc = -1;
		} else {
			in->route = false;
		}
	}
	if (sys_resolv_restore(in, e, sizeof e) < 0) {
		collect(errs, cap, e);
		rc = -1;
	}
	if (in->ca) {
		if (sys_ca_remove(e, sizeof e) < 0) {
			collect(errs, cap, e);
			rc = -1;
		} else {
			in->ca = false;
		}
	}
	return rc;
}

static void remove_state(bool keep_resolv)
{
	static const char *const files[] = { "config", "installed", "tunnels", "agent.pid", "agent.log",
					     "resolv.conf.orig" };
	char path[4200];
	/* the token: overwritten before the name goes */
	int fd = open(state_path("config", path, sizeof path), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			char *z = xcalloc(1, (size_t)st.st_size);
			(void)!write(fd, z, (size_t)st.st_size);
			fsync(fd);
			free(z);
		}
		close(fd);
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (keep_resolv && (strcmp(files[i], "resolv.conf.orig") == 0 || strcmp(files[i], "installed") == 0))
			continue;
		unlink(state_path(files[i], path, sizeof path));
	}
	rmdir(state_dir());
}

/* ---- install ---- */

int agent_install(const struct install_opts *o)
{
	struct agent_config c;
	struct agent_installed in;
	char e[512];

	memset(&c, 0, sizeof c);
	if (!addr_parse(o->proxy, 3128, &c.proxy_addr, &c.proxy_len)) {
		fprintf(stderr, "airlock-agent: PROXY '%s' is not an address (IPv4, or [IPv6], with :PORT or 3128)\n",
			o->proxy);
		return 2;
	}
	addr_str((struct sockaddr *)&c.proxy_addr, true, c.proxy, sizeof c.proxy);
	snprintf(c.token, sizeof c.token, "%s", o->token);
	c.redirect_port = o->redirect_port ? o->redirect_port : AGENT_REDIRECT_PORT;
	c.mark = AGENT_MARK;
	if (o->log) {
		if (o->log[0] != '/' || strlen(o->log) >= sizeof c.log) {
			fprintf(stderr, "airlock-agent: --log must be an absolute path\n");
			return 2;
		}
		snprintf(c.log, sizeof c.log, "%s", o->log);
	}

	if (state_mkdir() < 0) {
		fprintf(stderr, "airlock-agent: state dir %s: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	if (installed_load(&in) < 0) {
		fprintf(stderr, "airlock-agent: %s/installed is damaged: %s\n", state_dir(), strerror(errno));
		return 1;
	}
	/* a new install replaces the running daemon and the table at once */
	daemon_stop();
	if (config_save(&c) < 0) {
		fprintf(stderr, "airlock-agent: cannot write %s/config: %s\n", state_dir(), strerror(errno));
		wipe(&c, sizeof c);
		return 1;
	}
	wipe(c.token, sizeof c.token);
	if (!o->no_daemon && daemon_start(c.log, e, sizeof e) < 0)
		goto fail;
	if (sys_nft_apply(&c, e, sizeof e) < 0)
		goto fail;
	if (!in.route) {
		if (sys_route_add(&in.route, e, sizeof e) < 0 || installed_save(&in) < 0)
			goto fail;
	}
	if (sys_resolv_point(&in, e, sizeof e) < 0)
		goto fail;
	if (o->ca) {
		in.ca = true;   /* recorded first: a half-done add is undone too */
		if (installed_save(&in) < 0 || sys_ca_add(o->ca, e, sizeof e) < 0)
			goto fail;
	} else if (in.ca) {
		if (sys_ca_remove(e, sizeof e) < 0)
			goto fail;
		in.ca = false;
	}
	if (installed_save(&in) < 0) {
		snprintf(e, sizeof e, "cannot write %s/installed: %s", state_dir(), strerror(errno));
		goto fail;
	}
	printf("airlock-agent: installed: proxy %s, DNS 127.0.0.1:53, TCP redirected to :%u%s%s\n", c.proxy,
	       c.redirect_port, o->ca ? ", CA added to the system store" : "",
	       o->no_daemon ? " (start `airlock-agent run`)" : "");
	return 0;
fail:
	fprintf(stderr, "airlock-agent: install failed: %s\n", e);
	char errs[1024] = "";
	if (undo(&in, errs, sizeof errs) < 0)
		fprintf(stderr, "airlock-agent: and undoing it failed too: %s\n", errs);
	else
		remove_state(false);
	return 1;
}

int agent_uninstall(void)
{
	struct agent_installed in;
	char path[4200], errs[1024] = "";
	struct stat st;
	bool have_state = stat(state_path("installed", path, sizeof path), &st) == 0 ||
			  stat(state_path("config", path, sizeof path), &st) == 0;
	if (!have_state && !sys_nft_present() && daemon_pid() == 0) {
		printf("airlock-agent: not installed\n");
		return 0;
	}
	if (installed_load(&in) < 0) {
		fprintf(stderr, "airlock-agent: %s/installed is damaged (%s): undoing what can be\n", state_dir(),
			strerror(errno));
		memset(&in, 0, sizeof in);
	}
	int rc = undo(&in, errs, sizeof errs);
	if (rc < 0) {
		fprintf(stderr, "airlock-agent: uninstall: %s\n", errs);
		installed_save(&in);
		remove_state(in.resolv != RESOLV_NONE);
		return 1;
	}
	remove_state(false);
	printf("airlock-agent: uninstalled\n");
	return 0;
}
