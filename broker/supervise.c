/* Runs airlock-enforcer as a child of the broker's loop (uv_spawn). Found
 * through --enforcer, else next to our own binary (/proc/self/exe: the
 * build tree and `make install` alike), else LIBEXECDIR and BINDIR. While
 * it is missing the broker warns once and looks again at the slowest
 * backoff; the API never waits for it. */
#include "config.h"

#include "broker/supervise.h"

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct supervisor {
	struct broker *b;
	uv_process_t proc;
	uv_timer_t restart_timer, kill_timer;
	bool proc_open;          /* proc handle needs uv_close */
	bool running;
	int pid;
	unsigned restarts;
	uint64_t backoff_ms;
	int64_t started_ms;
	bool warned_missing;
	bool stopping;
	int open_handles;
	void (*done)(void *);
	void *done_arg;
};

static char *find_enforcer(const struct broker *b)
{
	char self[PATH_MAX];
	ssize_t n;

	if (b->cfg.enforcer_path)
		return access(b->cfg.enforcer_path, X_OK) == 0 ? xstrdup(b->cfg.enforcer_path) : NULL;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *p = path_join(dirname(self), ENFORCER_BIN);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	static const char *const dirs[] = { LIBEXECDIR, BINDIR };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char *p = path_join(dirs[i], ENFORCER_BIN);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static void spawn(struct supervisor *s);

static void on_restart_timer(uv_timer_t *t)
{
	spawn(t->data);
}

static void schedule(struct supervisor *s, uint64_t ms)
{
	if (!s->stopping)
		uv_timer_start(&s->restart_timer, on_restart_timer, ms, 0);
}

static void maybe_done(struct supervisor *s)
{
	if (s->stopping && s->open_handles == 0 && s->done) {
		void (*done)(void *) = s->done;
		s->done = NULL;
		done(s->done_arg);
		free(s);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct supervisor *s = h->data;
	if (h == (uv_handle_t *)&s->proc)
		s->proc_open = false;
	s->open_handles--;
	maybe_done(s);
}

static void on_enforcer_exit(uv_process_t *p, int64_t status, int term_signal)
{
	struct supervisor *s = p->data;
	int64_t up = time_mono_ms() - s->started_ms;

	s->running = false;
	uv_close((uv_handle_t *)&s->proc, on_handle_closed);
	if (s->stopping) {
		uv_timer_stop(&s->kill_timer);
		uv_close((uv_handle_t *)&s->kill_timer, on_handle_closed);
		log_info("enforcer stopped", KV_I("pid", s->pid));
		return;
	}
	log_warn("enforcer exited; restarting", KV_I("pid", s->pid), KV_I("status", status),
		 KV_I("signal", term_signal), KV_I("uptime_ms", up));
	if (up >= SUPERVISE_STABLE_MS)
		s->backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
	schedule(s, s->backoff_ms);
	s->backoff_ms *= 2;
	if (s->backoff_ms > SUPERVISE_BACKOFF_MAX_MS)
		s->backoff_ms = SUPERVISE_BACKOFF_MAX_MS;
	s->restarts++;
}

static void spawn(struct supervisor *s)
{
	struct broker *b = s->b;
	char *path = find_enforcer(b);
	size_t argc = 0;
	char **argv;
	int r;

	if (s->stopping || s->proc_open) {
		free(path);
		return;
	}
	if (!path) {
		if (!s->warned_missing)
			log_warn("airlock-enforcer not found; serving the API only, looking again "
				 "every few seconds", KV_S("enforcer", b->cfg.enforcer_path));
		s->warned_missing = true;
		schedule(s, SUPERVISE_BACKOFF_MAX_MS);
		return;
	}
	argv = xcalloc(b->cfg.enforcer_argc + 6, sizeof *argv);
	argv[argc++] = path;
	argv[argc++] = (char *)"--state-dir";
	argv[argc++] = b->cfg.state_dir;
	argv[argc++] = (char *)"--ipc-socket";
	argv[argc++] = b->ipc_sock_path;
	for (size_t i = 0; i < b->cfg.enforcer_argc; i++)
		argv[argc++] = b->cfg.enforcer_argv[i];
	argv[argc] = NULL;

	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = 1 },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 },
	};
	uv_process_options_t opts = {
		.exit_cb = on_enforcer_exit,
		.file = path,
		.args = argv,
		.stdio_count = 3,
		.stdio = stdio,
	};
	s->proc.data = s;
	r = uv_spawn(b->loop, &s->proc, &opts);
	s->proc_open = true;
	s->open_handles++;
	if (r != 0) {
		log_error("cannot start the enforcer", KV_S("path", path), KV_S("error", uv_strerror(r)));
		uv_close((uv_handle_t *)&s->proc, on_handle_closed);
		schedule(s, s->backoff_ms);
		s->backoff_ms = s->backoff_ms * 2 > SUPERVISE_BACKOFF_MAX_MS ? SUPERVISE_BACKOFF_MAX_MS
									 : s->backoff_ms * 2;
	} else {
		s->running = true;
		s->pid = s->proc.pid;
		s->started_ms = time_mono_ms();
		s->warned_missing = false;
		log_info("enforcer started", KV_S("path", path), KV_I("pid", s->pid));
	}
	free(path);
	free(argv);
}

int supervisor_start(struct broker *b, struct supervisor **out)
{
	struct supervisor *s = xcalloc(1, sizeof *s);
	s->b = b;
	s->backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
	uv_timer_init(b->loop, &s->restart_timer);
	uv_timer_init(b->loop, &s->kill_timer);
	s->restart_timer.data = s;
	s->kill_timer.data = s;
	s->open_handles = 2;
	spawn(s);
	*out = s;
	return 0;
}

void supervisor_status(const struct supervisor *s, struct supervisor_status *st)
{
	memset(st, 0, sizeof *st);
	if (!s)
		return;
	st->enabled = true;
	st->running = s->running;
	st->pid = s->running ? s->pid : 0;
	st->restarts = s->restarts;
}

static void on_kill_timer(uv_timer_t *t)
{
	struct supervisor *s = t->data;
	if (s->running) {
		log_warn("enforcer did not stop in time; killing it", KV_I("pid", s->pid));
		uv_process_kill(&s->proc, SIGKILL);
	}
}

void supervisor_stop(struct supervisor *s, void (*done)(void *), void *arg)
{
	if (!s) {
		done(arg);
		return;
	}
	s->stopping = true;
	s->done = done;
	s->done_arg = arg;
	uv_timer_stop(&s->restart_timer);
	if (s->running) {
		uv_process_kill(&s->proc, SIGTERM);
		uv_timer_start(&s->kill_timer, on_kill_timer, SUPERVISE_STOP_GRACE_MS, 0);
	}
	uv_close((uv_handle_t *)&s->restart_timer, on_handle_closed);
	/* with a child alive, the kill timer closes once it is gone (on_enforcer_exit) */
	if (!s->running)
		uv_close((uv_handle_t *)&s->kill_timer, on_handle_closed);
	maybe_done(s);
}
