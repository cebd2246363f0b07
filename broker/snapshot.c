/* Builds the "policy" message from the state document. Only what the
 * enforcer needs to decide goes out: no secret values, no creation times,
 * no rule whose secret is missing. */
#include "config.h"

#include "broker/snapshot.h"

#include "broker/state.h"
#include "common/ipc.h"

static const char *const budget_keys[] = { "max_rpm", "max_bytes_per_hour", "max_concurrent",
					   "max_tokens_per_day" };

/* The budget fields present on a client or rule (the state allows
 * max_tokens_per_day on clients only). */
static void copy_budget(json_t *to, const json_t *from)
{
	for (size_t i = 0; i < sizeof budget_keys / sizeof budget_keys[0]; i++) {
		json_t *v = json_object_get(from, budget_keys[i]);
		if (v)
			json_object_set(to, budget_keys[i], v);
	}
}

static json_t *snapshot_rule(const json_t *r)
{
	json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(r, "id"),
			      "host", json_object_get(r, "host"), "ports", json_object_get(r, "ports"),
			      "methods", json_object_get(r, "methods"), "paths",
			      json_object_get(r, "paths"), "passthrough",
			      json_object_get(r, "passthrough"));
	json_t *v;
	if ((v = json_object_get(r, "secret")))
		json_object_set(o, "secret", v);
	if ((v = json_object_get(r, "expires_at")))
		json_object_set(o, "expires_at", v);
	copy_budget(o, r);
	return o;
}

json_t *snapshot_build(const json_t *doc, uint64_t version, int64_t now)
{
	json_t *by_client = json_object();
	json_t *secrets = json_object();   /* the names, for one lookup per rule */
	json_t *hosts = json_array();      /* where some secret may go: for hint=secret-available */
	json_t *clients = json_array();
	size_t i;
	json_t *v;

	json_array_foreach(state_secrets(doc), i, v)
	{
		json_object_set(secrets, json_string_value(json_object_get(v, "name")), json_true());
		if (json_is_string(json_object_get(v, "host")))
			json_array_append(hosts, json_object_get(v, "host"));
	}
	json_array_foreach(state_clients(doc), i, v) {
		json_t *rules = json_array();
		json_object_set(by_client, json_string_value(json_object_get(v, "name")), rules);
		json_t *c = json_pack("{s:O, s:O, s:o}", "name", json_object_get(v, "name"),
				      "token_sha256", json_object_get(v, "token_sha256"), "rules", rules);
		if (state_client_holds(v))
			json_object_set_new(c, "hold", json_true());
		copy_budget(c, v);
		json_array_append_new(clients, c);
	}
	json_array_foreach(state_rules(doc), i, v) {
		if (!state_rule_live(v, now))
			continue;
		/* A rule whose secret was deleted stops matching: evaluation
		 * falls through to later rules (docs/api.md, the seed SDKs'
		 * semantics). Leaving it out here, rather than teaching the
		 * enforcer, keeps one decision path: the enforcer only ever sees
		 * rules whose secret exists, asks for exactly the name the rule
		 * carries, and a secret created again under that name brings the
		 * rule back with the next policy. */
		const char *secret = json_string_value(json_object_get(v, "secret"));
		if (secret && !json_object_get(secrets, secret))
			continue;
		json_t *rules = json_object_get(by_client, json_string_value(json_object_get(v, "client")));
		if (rules)
			json_array_append_new(rules, snapshot_rule(v));
	}
	json_decref(by_client);
	json_decref(secrets);
	return json_pack("{s:s, s:I, s:o, s:o}", "type", IPC_MSG_POLICY, "version", (json_int_t)version,
			 "clients", clients, "secret_hosts", hosts);
}
