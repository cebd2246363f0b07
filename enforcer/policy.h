/* The policy snapshot the enforcer decides with: parsed strictly from the
 * broker's "policy" frame (common/ipc.h), immutable afterwards, and shared by
 * reference count so every connection keeps the snapshot it started with
 * while a newer one replaces it for the next request. */
#ifndef AIRLOCK_ENFORCER_POLICY_H
#define AIRLOCK_ENFORCER_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/reasons.h"
#include "common/token.h"

/* A client's or rule's limits (enforcer/budget.h); 0 = no limit. */
struct policy_budget {
	int64_t max_rpm;
	int64_t max_bytes_per_hour;
	int64_t max_concurrent;
	int64_t max_tokens_per_day;   /* clients only */
};

static inline bool policy_budget_any(const struct policy_budget *b)
{
	return b->max_rpm || b->max_bytes_per_hour || b->max_concurrent || b->max_tokens_per_day;
}

struct policy_rule {
	uint64_t id;
	char *host;             /* canonical pattern: "*", "*.example.com" or a canonical host */
	uint16_t *ports;        /* never empty: the broker fills the defaults */
	size_t nports;
	char **methods;         /* upper case; empty = any */
	size_t nmethods;
	char **paths;           /* path patterns (netmatch.h); empty = any */
	size_t npaths;
	char *secret;           /* secret name, or NULL */
	bool passthrough;
	int64_t expires_at;     /* unix seconds; 0 = never */
	struct policy_budget budget;
};

struct policy_client {
	char *name;
	uint8_t token_hash[TOKEN_HASH_LEN]; /* SHA-256 of the token (common/token.h) */
	struct policy_rule *rules;  /* declaration order */
	size_t nrules;
	bool hold;                  /* on-deny hold: a curable denial waits for a person (hold.c) */
	struct policy_budget budget;
};

/* Opaque: version, clients, token-hash index, atomic refcount. */
struct policy;

/* A client *instance*: its name and the hash of the token it was created
 * with. Deleting a client and creating one of the same name (the usual
 * token rotation, or a sandbox name reused) makes a new instance: whatever
 * the old one opened must never pass for the new one's, so connections,
 * tunnels and parked upstreams remember this, never the name alone. Wipe
 * it (client_id_wipe) before its memory is freed. */
struct client_id {
	char name[AL_NAME_MAX + 1];   /* "" when unset */
	uint8_t token_hash[TOKEN_HASH_LEN];
};

void client_id_set(struct client_id *id, const struct policy_client *c);
void client_id_wipe(struct client_id *id);
bool client_id_is_set(const struct client_id *id);
/* Same instance: same name and same token hash (constant-time compare). */
bool client_id_eq(const struct client_id *a, const struct client_id *b);

/* Parse a "policy" frame ({type:"policy", version, clients:[...]}): its
 * table in common/ipc.c first (unknown fields, types, caps: AL_EINVAL /
 * AL_ETOOBIG / AL_ERANGE, ipc_msg_validate names the field), then what the
 * values mean (hosts, paths, methods, names, token hashes, duplicate rule
 * ids, client names or token hashes: AL_EINVAL, AL_ECONFLICT). On success
 * *out holds one reference. */
int policy_parse(const json_t *msg, struct policy **out) AL_MUST_CHECK;

/* Version 0, no clients: denies everything. Returns one reference. */
struct policy *policy_empty(void);

/* Take another reference (returns p). Thread-safe. */
struct policy *policy_ref(struct policy *p);
/* Drop a reference; the last one frees. Thread-safe (atomic); NULL is a no-op. */
void policy_unref(struct policy *p);

uint64_t policy_version(const struct policy *p);

/* Is some secret bound to host (the policy's secret_hosts)? For the hint
 * on an allowed request whose rule injects nothing. */
bool policy_secret_host(const struct policy *p, const char *host);

/* The token as presented (len bytes, no NUL needed): hashed, then looked up
 * by its hash; the final compare is constant-time. NULL if no client has it
 * (always for len 0 or len > AL_TOKEN_MAX). The client lives as long as the
 * reference on p. */
const struct policy_client *policy_client_by_token(const struct policy *p, const char *tok, size_t len);
/* The client instance id in p: found by its token hash (constant-time
 * compare), then its name must match too. NULL when that client was deleted
 * or its token changed. This is how a connection finds its client again. */
const struct policy_client *policy_client_by_id(const struct policy *p, const struct client_id *id);
/* By name alone: for tests and tools only. The data path never uses it: a
 * name can belong to another instance by now (policy_client_by_id). */
const struct policy_client *policy_client_by_name(const struct policy *p, const char *name);

struct policy_req {
	const char *host;       /* canonical host (netmatch.h host_canon) */
	uint16_t port;
	const char *method;     /* upper case; NULL for CONNECT */
	const char *path;       /* normalised, no query; NULL for CONNECT */
	int64_t now;            /* unix seconds */
};

enum policy_action {
	POLICY_DENY,
	POLICY_TUNNEL,          /* CONNECT matched a bare rule: blind tunnel */
	POLICY_PASSTHROUGH,     /* CONNECT matched a passthrough rule: splice TCP */
	POLICY_INSPECT,         /* CONNECT matched a rule with methods/paths/secret: needs MITM */
	POLICY_FORWARD,         /* a plain HTTP request is allowed */
};

/* First match in declaration order; expired rules (expires_at != 0 and
 * expires_at <= now) never match.
 * CONNECT (req->method NULL): the first rule whose host and port match
 * decides: passthrough -> PASSTHROUGH; no methods, paths or secret -> TUNNEL;
 * else INSPECT.
 * Request (req->method set): the first rule whose host, port, method and path
 * all match -> FORWARD.
 * On allow *rule is set (and *reason NULL). On deny *rule is NULL and
 * *reason a static string: "no-rule" when no live rule's host matched, else
 * the most specific failure among host-matching rules, "port-not-allowed" <
 * "method-not-allowed" < "path-not-allowed"; a rule that matches neither
 * the method nor the path says "path-not-allowed" (the method alone is not
 * the fix) and ranks below one that misses only one of them. c may be NULL (deny, no-rule).
 * rule and reason may be NULL when the caller does not want them.
 * FORWARD does not know the scheme: when the request is plain HTTP and
 * (*rule)->secret is set, the caller must not inject it (a secret is
 * never sent over plaintext HTTP). */
enum policy_action policy_decide(const struct policy_client *c, const struct policy_req *req,
				 const struct policy_rule **rule, enum reason *reason);

/* Is rule `rule_id` still present and unexpired in p for the client
 * instance `client` (policy_client_by_id)? Tunnels ask after each policy
 * change and close when not ("revoking a rule also closes the tunnels it
 * opened"). */
bool policy_rule_live(const struct policy *p, const struct client_id *client, uint64_t rule_id, int64_t now);

/* The earliest expires_at > now over all rules of all clients, 0 if none: for
 * a timer that closes tunnels whose rule expired. */
int64_t policy_next_expiry(const struct policy *p, int64_t now);

/* Static name of an action ("deny", "tunnel", "passthrough", "inspect",
 * "forward") for logs. */
const char *policy_action_name(enum policy_action a);

#endif
