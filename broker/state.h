/* The broker's durable state: state.json in the state dir (0600), the only
 * copy of clients (token hashes), rules (declaration order, ids never
 * reused) and secrets (values sealed). Held in memory as one JSON document.
 * A change is made on a draft copy and written (file_write_atomic) before it
 * replaces the committed document, so a failed write changes nothing and a
 * crash leaves the old or the new file. */
#ifndef AIRLOCK_BROKER_STATE_H
#define AIRLOCK_BROKER_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define STATE_FILE_NAME "state.json"
/* 2: sealed values bound to name, type and host, and a seal key check;
 * a format 1 state is migrated at start (broker/sealed.c). */
#define STATE_FORMAT 2

struct state {
	char *dir;
	char *path;
	json_t *doc;   /* the committed document */
};

/* Load <dir>/state.json, or start empty when it does not exist. A file
 * that exists but does not parse or validate is refused (err says why):
 * the broker never silently starts empty over a state it cannot read. */
int state_open(const char *dir, struct state *st, char *err, size_t errlen) AL_MUST_CHECK;
void state_close(struct state *st);

/* A private copy of the committed document to change. */
json_t *state_begin(const struct state *st);
/* Purge expired rules from draft, write it, make it the committed document.
 * Takes the draft in every case (freed on failure). */
int state_commit(struct state *st, json_t *draft) AL_MUST_CHECK;

/* Lookups on a document (committed or draft). Return NULL when absent;
 * *idx (when not NULL) gets the array index. */
json_t *state_client(const json_t *doc, const char *name, size_t *idx);
/* A client record whose on_deny is "hold": its curable denials wait for a
 * person (broker/approvals.c). */
bool state_client_holds(const json_t *client);
json_t *state_secret(const json_t *doc, const char *name, size_t *idx);
json_t *state_clients(const json_t *doc);
json_t *state_rules(const json_t *doc);
json_t *state_secrets(const json_t *doc);

/* A rule is live until its expires_at (absent: forever); compared with the
 * clock at each read, so an expired rule is gone at once. */
bool state_rule_live(const json_t *rule, int64_t now);
/* The earliest expires_at after now among live rules (0: none). */
int64_t state_next_expiry(const json_t *doc, int64_t now);
/* Next rule id, and advance it (in the draft). */
int64_t state_take_id(json_t *draft);

#endif
