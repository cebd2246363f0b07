/* The broker as one node of a fleet (--store postgres://...): the store's
 * connection in the broker's loop. A NOTIFY of a newer store version reads
 * the whole state again and pushes the policy to this host's enforcer; a
 * lost connection is retried every second, and on its return the node
 * catches up from the version it last saw. While the store is gone the
 * enforcer keeps the last policy, cached OAuth access tokens are served
 * until they expire, and writes answer 503. */
#ifndef AIRLOCK_BROKER_FLEET_H
#define AIRLOCK_BROKER_FLEET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct broker;

/* At start, in place of the state dir's CA and state.json: connect (the
 * schema checked or migrated), take the fleet's CA (or store this host's),
 * read the state. err says why not. */
int fleet_open(struct broker *b, char *err, size_t errlen) AL_MUST_CHECK;
/* Once the loop's other handles are up: watch the connection. */
void fleet_start(struct broker *b);
void fleet_stop(struct broker *b);
void fleet_free(struct broker *b);
/* A node's name in the store (host:pid:random), with its NUL. */
#define FLEET_NODE_MAX 200

/* NULL without --store. */
bool fleet_enabled(const struct broker *b);
bool fleet_store_up(struct broker *b);
/* The refresh lease of an OAuth secret (one refresher fleet-wide):
 * 1 when this node holds it and its copy of the credential is the store's
 * (refresh now); 0 when another node holds it, or has refreshed already
 * (this node reloads; wait for it); AL_EUNAVAIL when the store is gone.
 * Without --store: always 1. When 1 and the lease was another node's that
 * never gave it back, *abandoned names that node (else it is empty): the
 * refresh token held may have been spent by its refresh. */
int fleet_lease_take(struct broker *b, const char *name, char *abandoned,
		     size_t abandoned_len) AL_MUST_CHECK;
/* A refresh that failed gives the lease back (a success's commit ends it). */
void fleet_lease_drop(struct broker *b, const char *name);
/* For status and `airlock store check`. */
json_t *fleet_describe(struct broker *b);
/* For /metrics: 1/0, the store version held, reloads, seconds down. */
void fleet_metrics(struct broker *b, bool *up, int64_t *version, uint64_t *reloads,
		   int64_t *down_s);

#endif
