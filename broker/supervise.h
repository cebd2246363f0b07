/* Supervision of airlock-enforcer: spawn it with the proxy flags, restart
 * it with exponential backoff when it dies (the API keeps running), stop it
 * on shutdown (SIGTERM, then SIGKILL after a grace period). */
#ifndef AIRLOCK_BROKER_SUPERVISE_H
#define AIRLOCK_BROKER_SUPERVISE_H

#include <stdbool.h>

#include "broker/broker.h"

#define SUPERVISE_BACKOFF_MIN_MS 100
#define SUPERVISE_BACKOFF_MAX_MS 5000
#define SUPERVISE_STABLE_MS 30000      /* up this long: the next death restarts fast again */
#define SUPERVISE_STOP_GRACE_MS 3000
#define ENFORCER_BIN "airlock-enforcer"

struct supervisor_status {
	bool enabled;
	bool running;
	int pid;
	unsigned restarts;
};

int supervisor_start(struct broker *b, struct supervisor **out) AL_MUST_CHECK;
void supervisor_status(const struct supervisor *s, struct supervisor_status *st);
/* Stop the enforcer; `done` runs once it is gone and every handle is closed. */
void supervisor_stop(struct supervisor *s, void (*done)(void *arg), void *arg);

#endif
