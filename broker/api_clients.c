/* /proxy/v1/clients: create (the token is shown here once and stored only
 * as its SHA-256), list, list one client's rules, delete (its rules go with
 * it). Answers are shaped as the seed SDKs decode them: lists are bare JSON
 * arrays, a delete is 204 with its detail in a header. */
#include "config.h"

#include <string.h>

#include "broker/api.h"
#include "broker/approvals.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/token.h"
#include "common/xmalloc.h"

/* A client's budget (enforcer/budget.h): 0 removes a limit. */
#define CLIENT_BUDGET_FIELDS \
	{ "max_rpm", JF_INT, false, 0, AL_BUDGET_RPM_MAX, 0, 0 }, \
	{ "max_bytes_per_hour", JF_INT, false, 0, AL_BUDGET_BYTES_MAX, 0, 0 }, \
	{ "max_concurrent", JF_INT, false, 0, AL_BUDGET_CONCURRENT_MAX, 0, 0 }, \
	{ "max_tokens_per_day", JF_INT, false, 0, AL_BUDGET_TOKENS_MAX, 0, 0 }

static const struct json_field client_create_fields[] = {
	{ "name", JF_STRING, true, 0, 0, AL_NAME_MAX, 0 },
	{ "token", JF_STRING, false, 0, 0, AL_TOKEN_MAX, 0 },
	{ "on_deny", JF_STRING, false, 0, 0, 8, 0 },
	CLIENT_BUDGET_FIELDS,
};

static const struct json_field client_update_fields[] = {
	{ "on_deny", JF_STRING, false, 0, 0, 8, 0 },
	CLIENT_BUDGET_FIELDS,
};

const struct api_body_table api_clients_bodies[] = {
	{ "POST clients", client_create_fields, ARRAY_SIZE(client_create_fields) },
	{ "PATCH clients/{name}", client_update_fields, ARRAY_SIZE(client_update_fields) },
	{ NULL, NULL, 0 },
};

/* .on_deny: "hold" or "deny"; NULL with ans filled when it is neither */
static const char *on_deny_of(const json_t *body, struct api_answer *ans)
{
	const char *od = json_str(body, "on_deny", "deny");
	if (strcmp(od, "hold") != 0 && strcmp(od, "deny") != 0) {
		api_error(ans, 400, ".on_deny: \"deny\" (refuse at once) or \"hold\" (wait for a person's approval)");
		return NULL;
	}
	return od;
}

static const char *const client_budget_keys[] = { "max_rpm", "max_bytes_per_hour",
						  "max_concurrent", "max_tokens_per_day" };

/* Copy the budget fields of body into c: a positive value sets the limit,
 * 0 removes it, an absent field leaves it as it is. */
static void budget_apply(json_t *c, const json_t *body)
{
	for (size_t i = 0; i < ARRAY_SIZE(client_budget_keys); i++) {
		json_t *v = json_object_get(body, client_budget_keys[i]);
		if (!v)
			continue;
		if (json_integer_value(v) > 0)
			json_object_set(c, client_budget_keys[i], v);
		else
			json_object_del(c, client_budget_keys[i]);
	}
}

/* The budget fields of a client (or rule) in an answer: only those set. */
void api_budget_view(json_t *o, const json_t *from)
{
	for (size_t i = 0; i < ARRAY_SIZE(client_budget_keys); i++) {
		json_t *v = json_object_get(from, client_budget_keys[i]);
		if (v)
			json_object_set(o, client_budget_keys[i], v);
	}
}

static size_t live_rule_count(const json_t *doc, const char *client, int64_t now)
{
	size_t i, n = 0;
	json_t *r;
	json_array_foreach(state_rules(doc), i, r)
		if (strcmp(json_string_value(json_object_get(r, "client")), client) == 0 &&
		    state_rule_live(r, now))
			n++;
	return n;
}

void api_clients_create(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	char tok[AL_TOKEN_MAX + 1];
	char hex[TOKEN_HASH_HEX_LEN + 1];
	const json_t *doc = b->state.doc;
	int64_t now = time_now();
	size_t i;
	json_t *c;

	if (!api_validate(ans, req->body, client_create_fields, ARRAY_SIZE(client_create_fields)))
		return;
	const char *name = json_str(req->body, "name", NULL);
	const char *given = json_str(req->body, "token", NULL);
	const char *on_deny = on_deny_of(req->body, ans);
	if (!on_deny)
		return;
	if (name_validate(name) < 0) {
		api_error(ans, 400, ".name: 1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -",
			  AL_NAME_MAX);
		return;
	}
	if (state_client(doc, name, NULL)) {
		api_error(ans, 409, "client %s already exists", name);
		return;
	}
	if (json_array_size(state_clients(doc)) >= AL_CLIENTS_MAX) {
		api_error(ans, 409, "too many clients (at most %d)", AL_CLIENTS_MAX);
		return;
	}
	if (given) {
		if (token_validate(given) < 0) {
			api_error(ans, 400, ".token: 24 to %d printable ASCII characters without spaces",
				  AL_TOKEN_MAX);
			return;
		}
		snprintf(tok, sizeof tok, "%s", given);
	} else if (token_generate(tok) < 0) {
		api_error(ans, 500, "cannot generate a token");
		return;
	}
	token_hash_hex(tok, strlen(tok), hex);
	json_array_foreach(state_clients(doc), i, c) {
		const char *h = json_string_value(json_object_get(c, "token_sha256"));
		if (strlen(h) == TOKEN_HASH_HEX_LEN && ct_memeq(h, hex, TOKEN_HASH_HEX_LEN)) {
			secure_wipe(tok, sizeof tok);
			api_error(ans, 409, "that token is already in use");
			return;
		}
	}

	json_t *draft = state_begin(&b->state);
	json_t *nc = json_pack("{s:s, s:s, s:I}", "name", name, "token_sha256", hex, "created_at",
			       (json_int_t)now);
	if (strcmp(on_deny, "hold") == 0)
		json_object_set_new(nc, "on_deny", json_string("hold"));
	budget_apply(nc, req->body);
	json_array_append(state_clients(draft), nc);
	if (api_commit(b, ans, draft, true)) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "name", name, "token", tok, "created_at",
				      api_time(now), "on_deny", on_deny);
		api_budget_view(o, nc);
		api_json(ans, 201, o);
	}
	json_decref(nc);
	secure_wipe(tok, sizeof tok);
}

void api_clients_list(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const json_t *doc = b->state.doc;
	int64_t now = time_now();
	json_t *out = json_array();
	size_t i;
	json_t *c;

	json_array_foreach(state_clients(doc), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *o = json_pack("{s:s, s:o, s:I, s:s}", "name", name, "created_at",
				      api_time(json_integer_value(json_object_get(c, "created_at"))),
				      "rules", (json_int_t)live_rule_count(doc, name, now), "on_deny",
				      state_client_holds(c) ? "hold" : "deny");
		api_budget_view(o, c);
		json_array_append_new(out, o);
	}
	api_json(ans, 200, out);
}

json_t *api_rule_view(const json_t *doc, const json_t *r)
{
	json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(r, "id"),
			      "client", json_object_get(r, "client"), "host", json_object_get(r, "host"),
			      "ports", json_object_get(r, "ports"), "methods",
			      json_object_get(r, "methods"), "paths", json_object_get(r, "paths"));
	json_t *v;
	if ((v = json_object_get(r, "secret"))) {
		json_object_set(o, "secret", v);
		/* such a rule is left out of the enforcer's policy (snapshot.c) */
		if (!state_secret(doc, json_string_value(v), NULL))
			json_object_set_new(o, "secret_missing", json_true());
	}
	json_object_set(o, "passthrough", json_object_get(r, "passthrough"));
	if ((v = json_object_get(r, "ttl_seconds")))
		json_object_set(o, "ttl_seconds", v);
	api_budget_view(o, r);
	json_object_set_new(o, "created_at",
			    api_time(json_integer_value(json_object_get(r, "created_at"))));
	/* "expires" is the seed SDKs' name; "expires_at" airlock's own */
	if ((v = json_object_get(r, "expires_at"))) {
		json_object_set_new(o, "expires", api_time(json_integer_value(v)));
		json_object_set_new(o, "expires_at", api_time(json_integer_value(v)));
	}
	return o;
}

void api_clients_get(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const json_t *doc = b->state.doc;
	const char *name = req->seg[1];
	int64_t now = time_now();
	size_t i;
	json_t *r;

	if (!state_client(doc, name, NULL)) {
		api_error(ans, 404, "unknown client %s", name);
		return;
	}
	json_t *rules = json_array();
	json_array_foreach(state_rules(doc), i, r)
		if (strcmp(json_string_value(json_object_get(r, "client")), name) == 0 &&
		    state_rule_live(r, now))
			json_array_append_new(rules, api_rule_view(doc, r));
	api_json(ans, 200, rules);
}

/* PATCH /proxy/v1/clients/{name}: change a client's budget. Its counters
 * in the enforcer carry on (the client is the same); a new limit applies
 * from the next request. */
void api_clients_delete(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const char *name = req->seg[1];
	int64_t now = time_now();
	size_t idx, dropped = 0;

	if (!state_client(b->state.doc, name, NULL)) {
		api_error(ans, 404, "unknown client %s", name);
		return;
	}
	json_t *draft = state_begin(&b->state);
	state_client(draft, name, &idx);
	json_array_remove(state_clients(draft), idx);
	json_t *rules = state_rules(draft);
	for (size_t i = json_array_size(rules); i-- > 0;) {
		json_t *r = json_array_get(rules, i);
		if (strcmp(json_string_value(json_object_get(r, "client")), name) != 0)
			continue;
		if (state_rule_live(r, now))
			dropped++;
		json_array_remove(rules, i);
	}
	/* name points into the request, not the state: safe after the commit */
	if (api_commit(b, ans, draft, true)) {
		approvals_client_gone(b, name);
		api_no_content(ans);
		api_header_int(ans, "X-Airlock-Rules-Dropped", (long long)dropped);
	}
}

void api_clients_update(struct broker *b, const struct api_request *req, struct api_answer *ans)
{
	const char *name = req->seg[1];

	if (!api_validate(ans, req->body, client_update_fields, ARRAY_SIZE(client_update_fields)))
		return;
	const char *on_deny = NULL;
	if (json_object_get(req->body, "on_deny") && !(on_deny = on_deny_of(req->body, ans)))
		return;
	if (!state_client(b->state.doc, name, NULL)) {
		api_error(ans, 404, "unknown client %s", name);
		return;
	}
	json_t *draft = state_begin(&b->state);
	json_t *c = state_client(draft, name, NULL);
	if (on_deny && strcmp(on_deny, "hold") == 0)
		json_object_set_new(c, "on_deny", json_string("hold"));
	else if (on_deny)
		json_object_del(c, "on_deny");
	budget_apply(c, req->body);
	json_t *o = json_pack("{s:s, s:o, s:s}", "name", name, "created_at",
			      api_time(json_integer_value(json_object_get(c, "created_at"))), "on_deny",
			      state_client_holds(c) ? "hold" : "deny");
	api_budget_view(o, c);
	if (api_commit(b, ans, draft, true))
		api_json(ans, 200, o);
	else
		json_decref(o);
}
