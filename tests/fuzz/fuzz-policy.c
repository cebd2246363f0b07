/* libFuzzer target for enforcer/policy.c: bytes -> JSON -> policy_parse, and
 * when a policy parses, a few decisions and lookups over what it holds, so
 * the decision code runs on every shape the parser lets through. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "enforcer/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = { "example.com", "a.example.com", "127.0.0.1", "::1", "x.y.z" };
static const char *const methods[] = { "GET", "POST", "get", NULL };
static const char *const paths[] = { "/", "/x", "/x/", "/x/y", "/x10", NULL };
static const uint16_t ports[] = { 80, 443, 22, 65535 };

static void exercise(const struct policy *p, const json_t *msg, const uint8_t *data, size_t size)
{
	const json_t *clients = json_object_get(msg, "clients");
	size_t i, k;

	(void)policy_version(p);
	(void)policy_next_expiry(p, 0);
	(void)policy_next_expiry(p, (int64_t)size * 1000);
	(void)policy_client_by_token(p, (const char *)data, size);
	for (i = 0; i < json_array_size(clients) && i < 8; i++) {
		const char *name = json_string_value(json_object_get(json_array_get(clients, i), "name"));
		const struct policy_client *c = policy_client_by_name(p, name);
		struct client_id id;

		if (!c)
			__builtin_trap();   /* every parsed client must be found by name */
		client_id_set(&id, c);
		if (policy_client_by_id(p, &id) != c)
			__builtin_trap();   /* ... and by instance (token hash and name) */
		for (k = 0; k < c->nrules && k < 4; k++) {
			struct policy_req req = { .host = c->rules[k].host, .port = c->rules[k].ports[0],
						  .method = c->rules[k].nmethods ? c->rules[k].methods[0] : NULL,
						  .path = c->rules[k].npaths ? c->rules[k].paths[0] : NULL, .now = 1 };
			const struct policy_rule *rule;
			enum reason reason;

			(void)policy_decide(c, &req, &rule, &reason);
			(void)policy_rule_live(p, &id, c->rules[k].id, (int64_t)k);
		}
		for (k = 0; k < sizeof hosts / sizeof hosts[0]; k++) {
			struct policy_req req = { .host = hosts[k], .port = ports[(k + size) % 4],
						  .method = methods[(k + i) % 4], .path = paths[(k * 3 + size) % 6],
						  .now = (int64_t)k * 100 };
			const struct policy_rule *rule = NULL;
			enum reason reason = REASON_NONE;
			enum policy_action a = policy_decide(c, &req, &rule, &reason);

			/* allow <=> a rule; deny <=> a reason */
			if ((a == POLICY_DENY) != (rule == NULL) || (a == POLICY_DENY) != (reason != REASON_NONE))
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	struct policy *p = NULL;
	json_t *msg = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);

	if (!msg)
		return 0;
	if (policy_parse(msg, &p) == 0) {
		struct policy *q = policy_ref(p);

		exercise(q, msg, data, size);
		policy_unref(q);
		policy_unref(p);
	} else if (p) {
		__builtin_trap();   /* a refused policy leaves *out NULL */
	}
	json_decref(msg);
	return 0;
}
