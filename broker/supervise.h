/* Supervision of airlock-enforcer: spawn it with the proxy flags, restart
 * it with exponential backoff when it dies (the API keeps running), stop it
 * on shutdown (SIGTERM, then SIGKILL after a grace period). At start it is
 * not a restart loop: an enforcer that exits before it said "listening"
 * (a port taken, a bad CA) or is silent for SUPERVISE_START_TIMEOUT_MS
 * fails the broker's start. Later, SUPERVISE_GIVEUP_COUNT deaths within
 * SUPERVISE_GIVEUP_WINDOW_MS stop the broker (exit 1) rather than spin:
 * whatever supervises the broker (systemd) decides what comes next. */
#ifndef AIRLOCK_BROKER_SUPERVISE_H
#define AIRLOCK_BROKER_SUPERVISE_H

#include <stdbool.h>

#include "broker/broker.h"

#define SUPERVISE_BACKOFF_MIN_MS 100
#define SUPERVISE_BACKOFF_MAX_MS 5000
#define SUPERVISE_STABLE_MS 30000      /* up this long: the next death restarts fast again */
#define SUPERVISE_STOP_GRACE_MS 3000         /* after --drain-timeout */
#define SUPERVISE_START_TIMEOUT_MS 30000   /* generous: sanitizer builds on a loaded machine */
#define SUPERVISE_GIVEUP_COUNT 5
#define SUPERVISE_GIVEUP_WINDOW_MS 60000
#define ENFORCER_BIN "airlock-enforcer"

struct supervisor_status {
	bool enabled;
	bool running;
	int pid;
	unsigned restarts;
};

/* Adopt the enforcer a killed broker left running, else spawn one. An
 * enforcer that cannot be found is an error (err says where it looked). */
int supervisor_start(struct broker *b, struct supervisor **out, char *err, size_t errlen) AL_MUST_CHECK;
void supervisor_status(const struct supervisor *s, struct supervisor_status *st);
/* Pass a signal on to the running enforcer (SIGHUP: reopen its log). */
void supervisor_signal(struct supervisor *s, int sig);
/* Stop the enforcer (it drains) and start it again at once with the
 * broker's current settings; not counted as a death. */
void supervisor_restart(struct supervisor *s);
/* Stop the enforcer; `done` runs once it is gone and every handle is closed. */
void supervisor_stop(struct supervisor *s, void (*done)(void *arg), void *arg);

#endif
