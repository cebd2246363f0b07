/* The fleet store: the broker's state (clients with their token hashes,
 * rules, sealed secrets, the seal key's check value) and the sealed CA in
 * PostgreSQL, shared by the brokers of several hosts. The document model of
 * broker/state.h stays: a commit applies the rows that differ between the
 * committed document and the draft, in one transaction that takes the
 * store's one meta row FOR UPDATE (so writes are serialised fleet-wide),
 * bumps the store version and NOTIFYs it. Every broker LISTENs, and reads
 * the whole store again when the version it holds is older.
 *
 * Calls block (libpq's synchronous API) with short timeouts: connect_timeout
 * and a statement_timeout, so a store that is gone costs a broker at most a
 * few seconds per attempt, and the enforcer keeps its last policy meanwhile.
 * The schema is versioned (airlock_schema); a broker migrates an older one
 * and refuses a newer one. */
#ifndef AIRLOCK_BROKER_STORE_PG_H
#define AIRLOCK_BROKER_STORE_PG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/seal.h"

/* The schema this build writes and reads. */
#define STORE_SCHEMA_VERSION 1
/* The channel every write NOTIFYs with the new store version. */
#define STORE_CHANNEL "airlock_policy"

struct store_pg;

/* A URI or conninfo names the store. 0 when it carries no password (the
 * command line may give it), AL_EPERM when it does, AL_EINVAL when libpq
 * cannot parse it (err says why, never the value). */
int store_pg_uri_check(const char *uri, char *err, size_t errlen) AL_MUST_CHECK;

/* Connect, create or migrate the schema (refusing a newer one), LISTEN.
 * node names this broker in leases (host name and pid). The handle is
 * made even when the first connect fails (AL_EUNAVAIL) so that the caller
 * may retry with store_pg_reconnect_start(). */
int store_pg_open(const char *uri, const char *node, struct store_pg **out, char *err,
		  size_t errlen) AL_MUST_CHECK;
void store_pg_close(struct store_pg *s);
/* Connect again after a loss without blocking: _start() begins (0, or a
 * refusal with err); then wait until store_pg_pending_socket() is writable
 * (*want_write) or readable and call _step(): 1 connected (the schema
 * checked again, LISTEN again), 0 wait again (the socket may have
 * changed), AL_EUNAVAIL failed (err). The caller bounds the whole with its
 * own deadline and gives up with _abort(). */
int store_pg_reconnect_start(struct store_pg *s, bool *want_write, char *err,
			     size_t errlen) AL_MUST_CHECK;
int store_pg_reconnect_step(struct store_pg *s, bool *want_write, char *err,
			    size_t errlen) AL_MUST_CHECK;
int store_pg_pending_socket(const struct store_pg *s);
void store_pg_reconnect_abort(struct store_pg *s);
bool store_pg_up(const struct store_pg *s);
/* The connection's socket (-1 when down), for the broker's loop. */
int store_pg_socket(const struct store_pg *s);
/* Read what arrived on the socket: 1 when a NOTIFY said a version newer
 * than *seen (then *seen is not changed: the caller reloads), 0 when
 * nothing new, AL_EUNAVAIL when the connection is gone. */
int store_pg_poll(struct store_pg *s, int64_t seen) AL_MUST_CHECK;

/* cb runs when a NOTIFY was read during any call (from the loop's
 * point of view: later, so cb only schedules a look). */
void store_pg_on_notify(struct store_pg *s, void (*cb)(void *arg), void *arg);

/* The whole state as a document of broker/state.h's format, and the store
 * version it is at. An empty store gives an empty document (version 0). */
int store_pg_load(struct store_pg *s, json_t **doc, int64_t *version, char *err,
		  size_t errlen) AL_MUST_CHECK;
/* Write the rows that differ between old and draft; *version in: the
 * version old was read at; out: the new one. Rule ids the draft took that
 * another node took first are renumbered in the draft. *stale is set when
 * the store had moved past *version (the caller then reloads). AL_EUNAVAIL:
 * the store is not reachable; AL_ECONFLICT: another broker holds the lease
 * of a secret this draft changes, or a name the draft adds was taken. */
int store_pg_commit(struct store_pg *s, const json_t *old, json_t *draft, int64_t *version,
		    bool *stale) AL_MUST_CHECK;

/* The CA: when the store has one, its certificate and (opened) key are
 * written to dir as ca.pem and ca.key; else dir's (made when missing) are
 * sealed and stored, unless another broker stored one first (then that
 * one is taken). */
int store_pg_ca_sync(struct store_pg *s, const struct seal_key *key, const char *dir, char *err,
		     size_t errlen) AL_MUST_CHECK;

/* The refresh lease of one secret: 1 and *gen when this node holds it now
 * (taken, or already ours), 0 when another node holds it, AL_EUNAVAIL.
 * *sealed gets the sealed value the store holds (malloc'd) so that the
 * caller can see whether another node refreshed meanwhile. A lease whose
 * time ran out while another node still owned it (that node died or lost
 * the store holding it) is taken only when takeover is true; then
 * *abandoned names that node (empty otherwise): its refresh may have spent
 * the refresh token the store holds. */
int store_pg_lease_take(struct store_pg *s, const char *name, int64_t seconds, bool takeover,
			int64_t *gen, char **sealed, char *abandoned, size_t abandoned_len) AL_MUST_CHECK;
void store_pg_lease_drop(struct store_pg *s, const char *name);

/* What `airlock store check` shows: schema version, counts, store version,
 * connection (never the password). */
json_t *store_pg_describe(struct store_pg *s);
/* The connection target without credentials (host/socket, port, db). */
const char *store_pg_target(const struct store_pg *s);

#endif
