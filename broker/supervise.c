/* Runs airlock-enforcer as a child of the broker's loop (uv_spawn). Found
 * through --enforcer, else next to our own binary (/proc/self/exe: the
 * build tree and `make install` alike), else LIBEXECDIR and BINDIR. While
 * it is missing the broker warns once and looks again at the slowest
 * backoff; the API never waits for it.
 *
 * An enforcer outlives a broker that was killed (-9): it keeps serving with
 * the last policy and reconnects to ipc.sock. The next broker adopts it
 * (enforcer.pid: pid and start time, so a reused pid is never mistaken for
 * it) instead of starting a second one that could not bind the ports; an
 * adopted enforcer is watched by polling and replaced when it exits. */
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
	uv_timer_t restart_timer, kill_timer, watch_timer, start_timer;
	bool proc_open;          /* proc handle needs uv_close */
	bool running;
	bool adopted;            /* running, but not our child: watched by polling */
	int pid;
	uint64_t starttime;      /* /proc/PID/stat field 22 of the enforcer */
	char *pidfile;
	unsigned restarts;
	int64_t deaths[SUPERVISE_GIVEUP_COUNT];   /* when the last ones died (a ring) */
	unsigned ndeaths;
	uint64_t backoff_ms;
	int64_t started_ms;
	bool warned_missing;
	bool stopping;
	bool restarting;         /* stopped on purpose (new settings): start again at once */
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

#define ENFORCER_PID_FILE "enforcer.pid"
#define WATCH_MS 250
#define WATCH_STOPPING_MS 20

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 when
 * the process is gone or a zombie. */
static uint64_t proc_starttime(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z')
		return 0;
	p += 2;
	/* p is at field 3 (state); field 22 is 19 spaces further */
	for (int i = 0; i < 19 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

static void pidfile_write(struct supervisor *s)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%d %llu\n", s->pid, (unsigned long long)s->starttime);
	if (file_write_atomic(s->pidfile, line, (size_t)n, 0600) < 0)
		log_warn("cannot write the enforcer pid file", KV_S("path", s->pidfile));
}

static bool try_adopt(struct supervisor *s)
{
	char *text = NULL;
	size_t len = 0;
	int pid = 0;
	unsigned long long st = 0;

	if (file_read_all(s->pidfile, 64, &text, &len) < 0)
		return false;
	bool ok = sscanf(text, "%d %llu", &pid, &st) == 2 && pid > 1 && st != 0 &&
		  proc_starttime(pid) == st;
	free(text);
	if (!ok)
		return false;
	s->adopted = true;
	s->running = true;
	s->pid = pid;
	s->starttime = st;
	s->started_ms = time_mono_ms();
	log_info("adopted the enforcer a previous broker left running", KV_I("pid", pid));
	return true;
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
		free(s->pidfile);
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

/* Before ready an exit is a failed start, reported, not retried: a port
 * taken stays taken. After, a death is a restart unless there were too many
 * lately. False: the broker is stopping. */
static bool may_restart(struct supervisor *s, const char *what, int64_t status, int term_signal)
{
	char why[256];
	int64_t now = time_mono_ms();
	unsigned recent = 0;

	if (!s->b->ready) {
		if (term_signal)
			snprintf(why, sizeof why, "the enforcer %s at start (signal %d) before it was "
				 "listening; its own error is above", what, term_signal);
		else
			snprintf(why, sizeof why, "the enforcer %s at start (status %lld) before it was "
				 "listening; its own error is above", what, (long long)status);
		broker_fail(s->b, why);
		return false;
	}
	s->deaths[s->ndeaths++ % SUPERVISE_GIVEUP_COUNT] = now;
	for (unsigned i = 0; i < SUPERVISE_GIVEUP_COUNT && i < s->ndeaths; i++)
		if (now - s->deaths[i] <= SUPERVISE_GIVEUP_WINDOW_MS)
			recent++;
	if (recent >= SUPERVISE_GIVEUP_COUNT) {
		snprintf(why, sizeof why, "the enforcer died %u times within %d s; giving up", recent,
			 SUPERVISE_GIVEUP_WINDOW_MS / 1000);
		broker_fail(s->b, why);
		return false;
	}
	return true;
}

static void on_start_timer(uv_timer_t *t)
{
	struct supervisor *s = t->data;
	char why[128];
	if (s->b->ready || s->stopping)
		return;
	snprintf(why, sizeof why, "the enforcer did not report listening within %d s",
		 SUPERVISE_START_TIMEOUT_MS / 1000);
	broker_fail(s->b, why);
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
	if (s->restarting) {
		s->restarting = false;
		log_info("enforcer stopped; starting it with the new settings", KV_I("pid", s->pid));
		schedule(s, 0);
		return;
	}
	if (!may_restart(s, "exited", status, term_signal))
		return;
	log_warn("enforcer exited; restarting", KV_I("pid", s->pid), KV_I("status", status),
		 KV_I("signal", term_signal), KV_I("uptime_ms", up), KV_I("backoff_ms", s->backoff_ms));
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

	if (s->stopping || s->proc_open || s->adopted) {
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
		s->starttime = proc_starttime(s->pid);
		pidfile_write(s);
		s->started_ms = time_mono_ms();
		s->warned_missing = false;
		log_info("enforcer started", KV_S("path", path), KV_I("pid", s->pid));
	}
	free(path);
	free(argv);
}

static void on_watch_timer(uv_timer_t *t)
{
	struct supervisor *s = t->data;
	if (!s->adopted || proc_starttime(s->pid) == s->starttime)
		return;
	s->adopted = false;
	s->running = false;
	uv_timer_stop(&s->watch_timer);
	if (s->stopping) {
		uv_timer_stop(&s->kill_timer);
		uv_close((uv_handle_t *)&s->kill_timer, on_handle_closed);
		uv_close((uv_handle_t *)&s->watch_timer, on_handle_closed);
		log_info("enforcer stopped", KV_I("pid", s->pid));
		return;
	}
	if (s->restarting) {
		s->restarting = false;
		log_info("adopted enforcer stopped; starting ours with the new settings", KV_I("pid", s->pid));
		schedule(s, 0);
		return;
	}
	if (!may_restart(s, "that was adopted exited", 0, 0))
		return;
	log_warn("the adopted enforcer exited; starting our own", KV_I("pid", s->pid));
	s->restarts++;
	schedule(s, SUPERVISE_BACKOFF_MIN_MS);
}

int supervisor_start(struct broker *b, struct supervisor **out, char *err, size_t errlen)
{
	struct supervisor *s = xcalloc(1, sizeof *s);
	s->b = b;
	s->backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
	s->pidfile = path_join(b->cfg.state_dir, ENFORCER_PID_FILE);
	if (!try_adopt(s)) {
		char *path = find_enforcer(b);
		if (!path) {
			/* a proxy that never comes is not a broker that is up */
			if (b->cfg.enforcer_path)
				snprintf(err, errlen, "--enforcer %s is not an executable file",
					 b->cfg.enforcer_path);
			else
				snprintf(err, errlen, "%s not found next to airlock-broker, in %s or in %s",
					 ENFORCER_BIN, LIBEXECDIR, BINDIR);
			free(s->pidfile);
			free(s);
			return AL_ENOTFOUND;
		}
		free(path);
	}
	uv_timer_init(b->loop, &s->restart_timer);
	uv_timer_init(b->loop, &s->kill_timer);
	uv_timer_init(b->loop, &s->watch_timer);
	uv_timer_init(b->loop, &s->start_timer);
	s->restart_timer.data = s;
	s->kill_timer.data = s;
	s->watch_timer.data = s;
	s->start_timer.data = s;
	s->open_handles = 4;
	uv_timer_start(&s->start_timer, on_start_timer, SUPERVISE_START_TIMEOUT_MS, 0);
	if (s->adopted)
		uv_timer_start(&s->watch_timer, on_watch_timer, WATCH_MS, WATCH_MS);
	else
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
		if (s->adopted)
			kill(s->pid, SIGKILL);
		else
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
	uv_close((uv_handle_t *)&s->restart_timer, on_handle_closed);
	uv_timer_stop(&s->start_timer);
	uv_close((uv_handle_t *)&s->start_timer, on_handle_closed);
	if (s->running) {
		if (s->adopted) {
			kill(s->pid, SIGTERM);
			/* poll fast now: its exit is what the broker waits for */
			uv_timer_start(&s->watch_timer, on_watch_timer, WATCH_STOPPING_MS,
				       WATCH_STOPPING_MS);
		} else {
			uv_process_kill(&s->proc, SIGTERM);
			uv_timer_stop(&s->watch_timer);
			uv_close((uv_handle_t *)&s->watch_timer, on_handle_closed);
		}
		/* it drains open requests first: wait that long, and a grace */
		uv_timer_start(&s->kill_timer, on_kill_timer,
			       s->b->cfg.drain_timeout_ms + SUPERVISE_STOP_GRACE_MS, 0);
		/* the kill timer closes once the enforcer is gone */
	} else {
		uv_timer_stop(&s->watch_timer);
		uv_close((uv_handle_t *)&s->watch_timer, on_handle_closed);
		uv_close((uv_handle_t *)&s->kill_timer, on_handle_closed);
	}
	/* a clean stop leaves no enforcer to adopt */
	unlink(s->pidfile);
	maybe_done(s);
}

static void send_signal(struct supervisor *s, int sig)
{
	if (s->adopted)
		kill(s->pid, sig);
	else
		uv_process_kill(&s->proc, sig);
}

void supervisor_signal(struct supervisor *s, int sig)
{
	if (s && s->running && !s->stopping)
		send_signal(s, sig);
}

void supervisor_restart(struct supervisor *s)
{
	if (!s || s->stopping)
		return;
	if (!s->running)
		return;   /* between two runs: the next spawn takes the new settings */
	s->restarting = true;
	send_signal(s, SIGTERM);
}
