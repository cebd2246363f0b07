/* /proxy/v1/allows: add a rule (normalised: canonical host, upper-case
 * methods, ports/methods/paths sorted and unique, so that two spellings of
 * one rule are one identity), revoke by exact identity (TTL is not part of
 * it), revoke every rule of a client for one host. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/netmatch.h"

#define RULE_FIELDS_COMMON \
	{ "client", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 }, \
	{ "host", JF_STRING, true, 0, 0, 0, 0 }, \
	{ "secret", JF_STRING, false, 0, 0, AL_NAME_MAX, 0 }, \
	{ "methods", JF_STRING_ARRAY, false, 0, 0, AL_METHOD_MAX, AL_RULE_LIST_MAX }, \
	{ "paths", JF_STRING_ARRAY, false, 0, 0, AL_PATH_MAX, AL_RULE_LIST_MAX }, \
	{ "ports", JF_INT_ARRAY, false, 1, 65535, 0, AL_RULE_LIST_MAX }, \
	{ "passthrough", JF_BOOL, false, 0, 0, 0, 0 }

static const struct json_field allow_fields[] = {
	RULE_FIELDS_COMMON,
	{ "ttl_seconds", JF_INT, false, AL_TTL_MIN_SECONDS, AL_TTL_MAX_SECONDS, 0, 0 },
	/* the rule's budget (enforcer/budget.h); not part of its identity */
	{ "max_rpm", JF_INT, false, 1, AL_BUDGET_RPM_MAX, 0, 0 },
	{ "max_bytes_per_hour", JF_INT, false, 1, AL_BUDGET_BYTES_MAX, 0, 0 },
	{ "max_concurrent", JF_INT, false, 1, AL_BUDGET_CONCURRENT_MAX, 0, 0 },
};

static const char *const rule_budget_keys[] = { "max_rpm", "max_bytes_per_hour", "max_concurrent" };

static const struct json_field revoke_fields[] = {
	RULE_FIELDS_COMMON,
};

const struct api_body_table api_allows_bodies[] = {
	{ "POST allows", allow_fields, ARRAY_SIZE(allow_fields) },
	{ "POST allows/revoke", revoke_fields, ARRAY_SIZE(revoke_fields) },
	{ NULL, NULL, 0 },
};

static const int default_ports[] = { 80, 443 };

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Sorted, without repeats: a set written one way. */
static json_t *string_set(const char **v, size_t n)
{
	json_t *arr = json_array();
	qsort(v, n, sizeof *v, cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			json_array_append_new(arr, json_string(v[i]));
	return arr;
}

/* The identity of a rule from a body: {client, host, ports, methods, paths,
 * secret?, passthrough}, normalised. false with ans filled (400). */
static bool rule_identity(const json_t *body, json_t **out, struct api_answer *ans)
{
	char host[AL_HOST_BUF + 2];
	char methods[AL_RULE_LIST_MAX][AL_METHOD_MAX + 1];
	const char *mp[AL_RULE_LIST_MAX], *pp[AL_RULE_LIST_MAX];
	long long ports[AL_RULE_LIST_MAX];
	size_t nm = 0, np = 0, nports = 0, i;
	json_t *v;

	if (host_pattern_parse(json_str(body, "host", ""), host) < 0) {
		api_error(ans, 400, ".host: not a host name, *.domain pattern, * or IP address");
		return false;
	}
	json_array_foreach(json_object_get(body, "methods"), i, v) {
		if (method_parse(json_string_value(v), methods[nm]) < 0) {
			api_error(ans, 400, ".methods[%zu]: not an HTTP method token", i);
			return false;
		}
		mp[nm] = methods[nm];
		nm++;
	}
	json_array_foreach(json_object_get(body, "paths"), i, v) {
		if (path_pattern_parse(json_string_value(v)) < 0) {
			api_error(ans, 400, ".paths[%zu]: a path starts with /, has no dot segments, "
				  "%%, ? or #, and * only as a final /*", i);
			return false;
		}
		pp[np++] = json_string_value(v);
	}
	json_array_foreach(json_object_get(body, "ports"), i, v)
		ports[nports++] = json_integer_value(v);
	if (nports == 0)
		for (i = 0; i < ARRAY_SIZE(default_ports); i++)
			ports[nports++] = default_ports[i];

	bool passthrough = json_bool(body, "passthrough", false);
	const char *secret = json_str(body, "secret", NULL);
	if (passthrough && (secret || nm || np)) {
		api_error(ans, 400, "passthrough excludes secret, methods and paths (it never sees "
			  "inside the connection)");
		return false;
	}
	if (secret && name_validate(secret) < 0) {
		api_error(ans, 400, ".secret: not a secret name");
		return false;
	}

	json_t *pj = json_array();
	qsort(ports, nports, sizeof ports[0], cmp_int);
	for (i = 0; i < nports; i++)
		if (i == 0 || ports[i] != ports[i - 1])
			json_array_append_new(pj, json_integer(ports[i]));
	json_t *id = json_pack("{s:s, s:s, s:o, s:o, s:o}", "client", json_str(body, "client", ""),
			       "host", host, "ports", pj, "methods", string_set(mp, nm), "paths",
			       string_set(pp, np));
	if (secret)
		json_object_set_new(id, "secret", json_string(secret));
	json_object_set_new(id, "passthrough", json_boolean(passthrough));
	*out = id;
	return true;
}

static bool same_identity(const json_t *rule, const json_t *id)
{
	static const char *const keys[] = { "client", "host", "ports", "methods", "paths",
					    "secret", "passthrough" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *a = json_object_get(rule, keys[i]), *b = json_object_get(id, keys[i]);
		if ((a == NULL) != (b == NULL) || (a && !json_equal(a, b)))
			return false;
	}
	return true;
}

bool api_allows_existing(const json_t *doc, const json_t *body, int64_t *out)
{
	struct api_answer scratch = { 0 };
	json_t *id = NULL, *r;
	int64_t now = time_now();
	size_t i;
	bool found = false;

	if (!rule_identity(body, &id, &scratch)) {
		json_decref(scratch.json);
		return false;
	}
	json_array_foreach(state_rules(doc), i, r)
		if (state_rule_live(r, now) && same_identity(r, id)) {
			*out = json_integer_value(json_object_get(r, "id"));
			found = true;
			break;
		}
	json_decref(id);
	return found;
}

void api_allows_create(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const json_t *doc = b->state.doc;
	int64_t now_ms = time_now_ms(), now = now_ms / 1000;
	json_t *id = NULL;
	size_t i, n = 0;
	json_t *r;

	if (!api_validate(ans, req->body, allow_fields, ARRAY_SIZE(allow_fields)))
		return;
	if (!rule_identity(req->body, &id, ans))
		return;
	const char *client = json_str(id, "client", "");
	const char *secret = json_str(id, "secret", NULL);
	if (!state_client(doc, client, NULL)) {
		api_error(ans, 404, "unknown client %s", client);
		goto out;
	}
	if (secret && !state_secret(doc, secret, NULL)) {
		api_error(ans, 404, "unknown secret %s", secret);
		goto out;
	}
	json_array_foreach(state_rules(doc), i, r) {
		if (!state_rule_live(r, now) || strcmp(json_str(r, "client", ""), client) != 0)
			continue;
		n++;
		if (same_identity(r, id)) {
			api_error(ans, 409, "identical rule exists (id %lld)",
				  (long long)json_integer_value(json_object_get(r, "id")));
			goto out;
		}
	}
	if (n >= AL_RULES_PER_CLIENT) {
		api_error(ans, 409, "client %s has too many rules (at most %d)", client,
			  AL_RULES_PER_CLIENT);
		goto out;
	}

	json_t *draft = state_begin(&b->state);
	json_t *rule = json_deep_copy(id);
	json_object_set_new(rule, "id", json_integer(state_take_id(draft)));
	json_object_set_new(rule, "created_at", json_integer(now));
	json_t *ttl = json_object_get(req->body, "ttl_seconds");
	if (ttl) {
		json_object_set(rule, "ttl_seconds", ttl);
		/* rounded up to a whole second: honoured for its whole TTL */
		json_object_set_new(rule, "expires_at",
				    json_integer(time_expiry(now_ms, json_integer_value(ttl))));
	}
	for (i = 0; i < ARRAY_SIZE(rule_budget_keys); i++) {
		json_t *v = json_object_get(req->body, rule_budget_keys[i]);
		if (v)
			json_object_set(rule, rule_budget_keys[i], v);
	}
	json_array_append(state_rules(draft), rule);
	if (api_commit(b, ans, draft, true))
		api_json(ans, 201, api_rule_view(b->state.doc, rule));
	json_decref(rule);
out:
	json_decref(id);
}

/* Remove the live rules of draft that pick() accepts; their ids in *ids. */
static size_t remove_rules(json_t *draft, int64_t now, bool (*pick)(const json_t *, const void *),
			   const void *arg, json_t *ids)
{
	json_t *rules = state_rules(draft);
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(rules);) {
		json_t *r = json_array_get(rules, i);
		if (state_rule_live(r, now) && pick(r, arg)) {
			json_array_append(ids, json_object_get(r, "id"));
			json_array_remove(rules, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static bool pick_identity(const json_t *r, const void *id)
{
	return same_identity(r, id);
}

struct client_host {
	const char *client, *host;
};

static bool pick_client_host(const json_t *r, const void *arg)
{
	const struct client_host *ch = arg;
	return strcmp(json_str(r, "client", ""), ch->client) == 0 &&
	       strcmp(json_str(r, "host", ""), ch->host) == 0;
}

static void finish_revoke(struct broker *b, struct api_answer *ans, json_t *draft, json_t *ids,
			  size_t n)
{
	if (n == 0) {
		json_decref(draft);
		json_decref(ids);
		api_error(ans, 404, "no rule matches");
		return;
	}
	if (api_commit(b, ans, draft, true)) {
		api_no_content(ans);
		api_header_ids(ans, "X-Airlock-Revoked", ids);
	}
	json_decref(ids);
}

void api_allows_revoke(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	json_t *id = NULL;

	if (!api_validate(ans, req->body, revoke_fields, ARRAY_SIZE(revoke_fields)))
		return;
	if (!rule_identity(req->body, &id, ans))
		return;
	const char *client = json_str(id, "client", "");
	if (!state_client(b->state.doc, client, NULL)) {
		api_error(ans, 404, "unknown client %s", client);
		json_decref(id);
		return;
	}
	json_t *draft = state_begin(&b->state);
	json_t *ids = json_array();
	size_t n = remove_rules(draft, time_now(), pick_identity, id, ids);
	finish_revoke(b, ans, draft, ids, n);
	json_decref(id);
}

void api_allows_delete_host(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	char host[AL_HOST_BUF + 2];
	struct client_host ch = { .client = req->seg[1], .host = host };

	if (!state_client(b->state.doc, ch.client, NULL)) {
		api_error(ans, 404, "unknown client %s", ch.client);
		return;
	}
	if (host_pattern_parse(req->seg[2], host) < 0) {
		api_error(ans, 400, "host: not a host name, *.domain pattern, * or IP address");
		return;
	}
	json_t *draft = state_begin(&b->state);
	json_t *ids = json_array();
	size_t n = remove_rules(draft, time_now(), pick_client_host, &ch, ids);
	finish_revoke(b, ans, draft, ids, n);
}
