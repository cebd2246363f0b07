/* The policy snapshot: the broker's "policy" frame, checked against its
 * table in common/ipc.c and then for what it means (hosts, paths, methods,
 * names, token hashes, duplicate ids, tokens and names), the token and name
 * indexes, and the first-match decision. A parsed policy is never modified;
 * it is shared between workers and connections by an atomic reference count
 * and freed by whoever drops the last reference. */
#include "config.h"

#include "enforcer/policy.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/ipc.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"

struct policy {
	atomic_size_t refs;
	uint64_t version;
	struct policy_client *clients;
	size_t nclients;
	/* Open addressing, linear probing; slots hold client index + 1 (0 is
	 * empty). Capacity is a power of two at least twice nclients. */
	size_t *by_token;
	size_t *by_name;
	size_t mask;
	char **secret_hosts;            /* canonical patterns secrets are bound to */
	size_t nsecret_hosts;
};

/* ---- freeing ----------------------------------------------------------- */

static void rule_free(struct policy_rule *r)
{
	size_t i;

	free(r->host);
	free(r->ports);
	for (i = 0; i < r->nmethods; i++)
		free(r->methods[i]);
	free(r->methods);
	for (i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	free(r->secret);
}

static void client_free(struct policy_client *c)
{
	size_t i;

	free(c->name);
	for (i = 0; i < c->nrules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	secure_wipe(c->token_hash, sizeof c->token_hash);
}

static void policy_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nclients; i++)
		client_free(&p->clients[i]);
	free(p->clients);
	free(p->by_token);
	free(p->by_name);
	for (i = 0; i < p->nsecret_hosts; i++)
		free(p->secret_hosts[i]);
	free(p->secret_hosts);
	free(p);
}

/* ---- parsing ----------------------------------------------------------- */

static int parse_hash_hex(const char *s, uint8_t out[TOKEN_HASH_LEN])
{
	size_t i;

	if (strlen(s) != TOKEN_HASH_HEX_LEN)
		return AL_EINVAL;
	for (i = 0; i < TOKEN_HASH_LEN; i++) {
		int hi = bytes_hexval(s[2 * i]), lo = bytes_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return AL_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A list of strings (their count and lengths checked by the table), each
 * through `check` which may rewrite it into buf (canonical form) or leave
 * buf empty to keep it. */
static int parse_str_list(const json_t *arr, int (*check)(const char *, char *), char ***out, size_t *nout)
{
	char buf[AL_PATH_MAX + 1];
	size_t i, n = json_array_size(arr);
	char **v;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	v = xcalloc(n, sizeof *v);
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		buf[0] = '\0';
		rc = check(s, buf);
		if (rc < 0)
			goto out;
		v[i] = xstrdup(buf[0] ? buf : s);
	}
out:
	if (rc < 0) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int check_method(const char *s, char *buf)
{
	return method_parse(s, buf) < 0 ? AL_EINVAL : 0;
}

static int check_path(const char *s, char *buf)
{
	(void)buf;
	return path_pattern_parse(s) < 0 ? AL_EINVAL : 0;
}

/* The table (common/ipc.c) has checked each field's range already. */
static void parse_budget(const json_t *o, struct policy_budget *b)
{
	b->max_rpm = json_integer_value(json_object_get(o, "max_rpm"));
	b->max_bytes_per_hour = json_integer_value(json_object_get(o, "max_bytes_per_hour"));
	b->max_concurrent = json_integer_value(json_object_get(o, "max_concurrent"));
	b->max_tokens_per_day = json_integer_value(json_object_get(o, "max_tokens_per_day"));
}

static int parse_rule(const json_t *o, struct policy_rule *r)
{
	char host[AL_HOST_BUF + 2];
	const json_t *ports, *v;
	const char *s;
	size_t i;
	int rc;

	memset(r, 0, sizeof *r);
	r->id = (uint64_t)json_integer_value(json_object_get(o, "id"));

	s = json_string_value(json_object_get(o, "host"));
	if (host_pattern_parse(s, host) < 0) {
		rc = AL_EINVAL;
		goto out;
	}
	r->host = xstrdup(host);

	/* The broker fills the default ports; an empty list would be a rule
	 * that can never match, which is a bug upstream rather than a policy. */
	ports = json_object_get(o, "ports");
	r->nports = json_array_size(ports);
	if (r->nports == 0) {
		rc = AL_EINVAL;
		goto out;
	}
	r->ports = xcalloc(r->nports, sizeof *r->ports);
	for (i = 0; i < r->nports; i++)
		r->ports[i] = (uint16_t)json_integer_value(json_array_get(ports, i));

	rc = parse_str_list(json_object_get(o, "methods"), check_method, &r->methods, &r->nmethods);
	if (rc < 0)
		goto out;
	rc = parse_str_list(json_object_get(o, "paths"), check_path, &r->paths, &r->npaths);
	if (rc < 0)
		goto out;

	v = json_object_get(o, "secret");
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (name_validate(s) < 0) {
			rc = AL_EINVAL;
			goto out;
		}
		r->secret = xstrdup(s);
	}

	r->passthrough = json_is_true(json_object_get(o, "passthrough"));
	/* passthrough is exclusive with secret, methods and paths:
	 * a spliced stream has no requests to check or inject into. */
	if (r->passthrough && (r->secret || r->nmethods || r->npaths)) {
		rc = AL_ECONFLICT;
		goto out;
	}

	v = json_object_get(o, "expires_at");
	r->expires_at = v ? (int64_t)json_integer_value(v) : 0;
	parse_budget(o, &r->budget);
	rc = 0;
out:
	if (rc < 0) {
		rule_free(r);
		memset(r, 0, sizeof *r);
	}
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_client(const json_t *o, struct policy_client *c)
{
	const json_t *rules;
	uint64_t *ids = NULL;
	const char *s;
	size_t i;
	int rc;

	memset(c, 0, sizeof *c);
	s = json_string_value(json_object_get(o, "name"));
	if (name_validate(s) < 0)
		return AL_EINVAL;
	s = json_string_value(json_object_get(o, "token_sha256"));
	if (parse_hash_hex(s, c->token_hash) < 0)
		return AL_EINVAL;

	c->hold = json_is_true(json_object_get(o, "hold"));
	rules = json_object_get(o, "rules");
	c->name = xstrdup(json_string_value(json_object_get(o, "name")));
	parse_budget(o, &c->budget);
	c->rules = xcalloc(json_array_size(rules) + 1, sizeof *c->rules);
	for (i = 0; i < json_array_size(rules); i++) {
		rc = parse_rule(json_array_get(rules, i), &c->rules[i]);
		if (rc < 0)
			goto out;
		c->nrules++;
	}
	/* Rule ids are unique (policy_rule_live looks them up). Sorted, so a
	 * full snapshot stays n log n rather than n^2 per client. */
	if (c->nrules > 1) {
		ids = xcalloc(c->nrules, sizeof *ids);
		for (i = 0; i < c->nrules; i++)
			ids[i] = c->rules[i].id;
		qsort(ids, c->nrules, sizeof *ids, cmp_u64);
		for (i = 1; i < c->nrules; i++)
			if (ids[i] == ids[i - 1]) {
				rc = AL_EINVAL;
				goto out;
			}
	}
	rc = 0;
out:
	free(ids);
	if (rc < 0) {
		client_free(c);
		memset(c, 0, sizeof *c);
	}
	return rc;
}

/* FNV-1a for the name index: names are not secret and short. */
static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* A SHA-256 is uniform: its first bytes are a fine slot number. */
static size_t token_slot(const uint8_t hash[TOKEN_HASH_LEN])
{
	size_t h = 0;

	memcpy(&h, hash, sizeof h);
	return h;
}

static int build_indexes(struct policy *p)
{
	size_t cap = 16, i;

	while (cap < 2 * p->nclients)
		cap <<= 1;
	p->mask = cap - 1;
	p->by_token = xcalloc(cap, sizeof *p->by_token);
	p->by_name = xcalloc(cap, sizeof *p->by_name);
	for (i = 0; i < p->nclients; i++) {
		const struct policy_client *c = &p->clients[i];
		size_t s;

		/* Two clients with one token would make identity ambiguous;
		 * two with one name would make revocation ambiguous. */
		for (s = token_slot(c->token_hash) & p->mask; p->by_token[s]; s = (s + 1) & p->mask)
			if (memcmp(p->clients[p->by_token[s] - 1].token_hash, c->token_hash,
				   TOKEN_HASH_LEN) == 0)
				return AL_EINVAL;
		p->by_token[s] = i + 1;
		for (s = name_hash(c->name) & p->mask; p->by_name[s]; s = (s + 1) & p->mask)
			if (strcmp(p->clients[p->by_name[s] - 1].name, c->name) == 0)
				return AL_EINVAL;
		p->by_name[s] = i + 1;
	}
	return 0;
}

static struct policy *policy_alloc(void)
{
	struct policy *p = xcalloc(1, sizeof *p);

	atomic_init(&p->refs, 1);
	return p;
}

int policy_parse(const json_t *msg, struct policy **out)
{
	struct policy *p = NULL;
	const json_t *clients;
	size_t i, n;
	int rc;

	*out = NULL;
	/* the shape, the caps and the types, from the door's table; what is
	 * left here is what the values mean */
	rc = ipc_msg_validate(msg, IPC_POLICY, NULL, 0);
	if (rc < 0)
		goto out;
	clients = json_object_get(msg, "clients");
	n = json_array_size(clients);
	p = policy_alloc();
	p->version = (uint64_t)json_integer_value(json_object_get(msg, "version"));
	p->clients = xcalloc(n + 1, sizeof *p->clients);
	for (i = 0; i < n; i++) {
		rc = parse_client(json_array_get(clients, i), &p->clients[i]);
		if (rc < 0)
			goto out;
		p->nclients++;
	}
	const json_t *sh = json_object_get(msg, "secret_hosts");
	p->secret_hosts = xcalloc(json_array_size(sh) + 1, sizeof *p->secret_hosts);
	for (i = 0; i < json_array_size(sh); i++) {
		char pat[AL_HOST_BUF + 2];
		const char *h = json_string_value(json_array_get(sh, i));
		if (host_pattern_parse(h, pat) < 0 || strcmp(pat, h) != 0) {
			rc = AL_EINVAL;   /* the broker sends canonical patterns only */
			goto out;
		}
		p->secret_hosts[p->nsecret_hosts++] = xstrdup(h);
	}
	rc = build_indexes(p);
	if (rc < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	if (p)
		policy_free(p);
	return rc;
}

struct policy *policy_empty(void)
{
	struct policy *p = policy_alloc();

	p->clients = xcalloc(1, sizeof *p->clients);
	if (build_indexes(p) < 0)
		abort();   /* no clients: cannot collide */
	return p;
}

struct policy *policy_ref(struct policy *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void policy_unref(struct policy *p)
{
	if (!p)
		return;
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_release) == 1) {
		atomic_thread_fence(memory_order_acquire);
		policy_free(p);
	}
}

uint64_t policy_version(const struct policy *p)
{
	return p->version;
}

bool policy_secret_host(const struct policy *p, const char *host)
{
	for (size_t i = 0; p && i < p->nsecret_hosts; i++)
		if (host_pattern_match(p->secret_hosts[i], host))
			return true;
	return false;
}

/* ---- client instances ------------------------------------------------- */

void client_id_set(struct client_id *id, const struct policy_client *c)
{
	snprintf(id->name, sizeof id->name, "%s", c->name);
	memcpy(id->token_hash, c->token_hash, TOKEN_HASH_LEN);
}

void client_id_wipe(struct client_id *id)
{
	secure_wipe(id, sizeof *id);
}

bool client_id_is_set(const struct client_id *id)
{
	return id->name[0] != '\0';
}

bool client_id_eq(const struct client_id *a, const struct client_id *b)
{
	/* both halves always compared: no early exit on the hash */
	bool same_hash = ct_memeq(a->token_hash, b->token_hash, TOKEN_HASH_LEN);

	return same_hash && a->name[0] && strcmp(a->name, b->name) == 0;
}

/* ---- lookups ----------------------------------------------------------- */

const struct policy_client *policy_client_by_token(const struct policy *p, const char *tok, size_t len)
{
	const struct policy_client *found = NULL;
	uint8_t h[TOKEN_HASH_LEN];
	size_t s;

	if (!p || !tok || len == 0 || len > AL_TOKEN_MAX)
		return NULL;
	token_hash(tok, len, h);
	/* The probe sequence depends on the hash of what was presented, not on
	 * any stored token, so its timing tells an attacker nothing; the
	 * compare itself is constant-time anyway. */
	for (s = token_slot(h) & p->mask; p->by_token[s]; s = (s + 1) & p->mask) {
		const struct policy_client *c = &p->clients[p->by_token[s] - 1];

		if (ct_memeq(c->token_hash, h, TOKEN_HASH_LEN)) {
			found = c;
			break;
		}
	}
	secure_wipe(h, sizeof h);
	return found;
}

const struct policy_client *policy_client_by_id(const struct policy *p, const struct client_id *id)
{
	size_t s;

	if (!p || !id || !id->name[0])
		return NULL;
	for (s = token_slot(id->token_hash) & p->mask; p->by_token[s]; s = (s + 1) & p->mask) {
		const struct policy_client *c = &p->clients[p->by_token[s] - 1];

		/* hashes are unique in a snapshot: the first equal one decides */
		if (ct_memeq(c->token_hash, id->token_hash, TOKEN_HASH_LEN))
			return strcmp(c->name, id->name) == 0 ? c : NULL;
	}
	return NULL;
}

const struct policy_client *policy_client_by_name(const struct policy *p, const char *name)
{
	size_t s;

	if (!p || !name)
		return NULL;
	for (s = name_hash(name) & p->mask; p->by_name[s]; s = (s + 1) & p->mask) {
		const struct policy_client *c = &p->clients[p->by_name[s] - 1];

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* ---- decisions --------------------------------------------------------- */

static bool rule_expired(const struct policy_rule *r, int64_t now)
{
	return r->expires_at != 0 && r->expires_at <= now;
}

static bool port_ok(const struct policy_rule *r, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

static bool method_ok(const struct policy_rule *r, const char *method)
{
	size_t i;

	if (r->nmethods == 0)
		return true;
	for (i = 0; i < r->nmethods; i++)
		if (strcmp(r->methods[i], method) == 0)
			return true;
	return false;
}

static bool path_ok(const struct policy_rule *r, const char *path)
{
	size_t i;

	if (r->npaths == 0)
		return true;
	if (!path)
		return false;
	for (i = 0; i < r->npaths; i++)
		if (path_pattern_match(r->paths[i], path))
			return true;
	return false;
}

/* Deny reasons in rising specificity: the reason reported is the furthest
 * any host-matching rule got before failing. A rule that matches neither
 * the method nor the path is a rule for another call: it says the path is
 * not allowed, and ranks below a rule that misses only one of them. */
enum miss { MISS_HOST, MISS_PORT, MISS_NEITHER, MISS_METHOD, MISS_PATH };

static const enum reason miss_reason[] = {
	[MISS_HOST] = REASON_NO_RULE,
	[MISS_PORT] = REASON_PORT_NOT_ALLOWED,
	[MISS_NEITHER] = REASON_PATH_NOT_ALLOWED,
	[MISS_METHOD] = REASON_METHOD_NOT_ALLOWED,
	[MISS_PATH] = REASON_PATH_NOT_ALLOWED,
};

enum policy_action policy_decide(const struct policy_client *c, const struct policy_req *req,
				 const struct policy_rule **rule, enum reason *reason)
{
	enum policy_action act = POLICY_DENY;
	const struct policy_rule *hit = NULL;
	enum miss worst = MISS_HOST;
	size_t i;

	if (!c || !req || !req->host)
		goto out;
	for (i = 0; i < c->nrules; i++) {
		const struct policy_rule *r = &c->rules[i];

		if (rule_expired(r, req->now) || !host_pattern_match(r->host, req->host))
			continue;
		if (!port_ok(r, req->port)) {
			if (worst < MISS_PORT)
				worst = MISS_PORT;
			continue;
		}
		if (!req->method) {
			hit = r;
			if (r->passthrough)
				act = POLICY_PASSTHROUGH;
			else if (r->nmethods == 0 && r->npaths == 0 && !r->secret)
				act = POLICY_TUNNEL;
			else
				act = POLICY_INSPECT;
			goto out;
		}
		if (!method_ok(r, req->method)) {
			enum miss m = path_ok(r, req->path) ? MISS_METHOD : MISS_NEITHER;
			if (worst < m)
				worst = m;
			continue;
		}
		if (!path_ok(r, req->path)) {
			if (worst < MISS_PATH)
				worst = MISS_PATH;
			continue;
		}
		hit = r;
		act = POLICY_FORWARD;
		goto out;
	}
out:
	if (rule)
		*rule = hit;
	if (reason)
		*reason = act == POLICY_DENY ? miss_reason[worst] : REASON_NONE;
	return act;
}

bool policy_rule_live(const struct policy *p, const struct client_id *client, uint64_t rule_id, int64_t now)
{
	const struct policy_client *c = policy_client_by_id(p, client);
	size_t i;

	if (!c)
		return false;
	for (i = 0; i < c->nrules; i++)
		if (c->rules[i].id == rule_id)
			return !rule_expired(&c->rules[i], now);
	return false;
}

int64_t policy_next_expiry(const struct policy *p, int64_t now)
{
	int64_t best = 0;
	size_t i, j;

	for (i = 0; i < p->nclients; i++)
		for (j = 0; j < p->clients[i].nrules; j++) {
			int64_t e = p->clients[i].rules[j].expires_at;

			if (e > now && (best == 0 || e < best))
				best = e;
		}
	return best;
}

const char *policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_DENY:
		return "deny";
	case POLICY_TUNNEL:
		return "tunnel";
	case POLICY_PASSTHROUGH:
		return "passthrough";
	case POLICY_INSPECT:
		return "inspect";
	case POLICY_FORWARD:
		return "forward";
	}
	return "unknown";
}
