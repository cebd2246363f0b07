/* common/reasons.c: every reason has one lower-case name that looks itself
 * up, a status airlock can answer with, and only the policy's own misses
 * are curable by a rule; names that are not reasons (a prefix, another
 * case, an empty name) look up nothing. With --json it prints the table
 * instead, for tests/integration/test-docs-reasons.py to check the man
 * page against. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/reasons.h"
#include "tests/unit/unit.h"

static int print_json(void)
{
	json_t *all = json_array();
	for (int r = REASON_NONE + 1; r < REASON_COUNT; r++)
		json_array_append_new(all, json_pack("{s:s, s:i, s:b}", "name", reason_name(r), "status",
						     reason_status(r), "curable", reason_curable(r)));
	char *s = json_dumps(all, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(all);
	return 0;
}

static void test_table(void)
{
	static const int statuses[] = { 0, 200, 400, 403, 405, 407, 408, 429, 431, 502, 503, 504, 505 };
	for (int r = REASON_NONE + 1; r < REASON_COUNT; r++) {
		const char *n = reason_name(r);
		CHECK(n && n[0] && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(n),
		      "reason %d: a lower-case name", r);
		if (!n)
			continue;
		CHECK(reason_lookup(n, strlen(n)) == (enum reason)r, "%s looks itself up", n);
		for (int k = REASON_NONE + 1; k < r; k++)
			CHECK(strcmp(reason_name(k), n) != 0, "%s: one row", n);
		bool known = false;
		for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
			known = known || statuses[i] == reason_status(r);
		CHECK(known, "%s: status %d is one airlock answers", n, reason_status(r));
		CHECK(!reason_curable(r) || reason_status(r) == 403, "%s: a curable reason is a 403", n);
	}
}

static const struct {
	const char *name;
	enum reason want;
	int status;
	bool curable;
} cases[] = {
	{ "no-rule", REASON_NO_RULE, 403, true },
	{ "port-not-allowed", REASON_PORT_NOT_ALLOWED, 403, true },
	{ "method-not-allowed", REASON_METHOD_NOT_ALLOWED, 403, true },
	{ "path-not-allowed", REASON_PATH_NOT_ALLOWED, 403, true },
	{ "rule-expired", REASON_RULE_EXPIRED, 403, true },
	{ "denied-address", REASON_DENIED_ADDRESS, 403, false },
	{ "host-mismatch", REASON_HOST_MISMATCH, 403, false },
	{ "tls-handshake-failed", REASON_TLS_HANDSHAKE_FAILED, 0, false },
	{ "head-too-large", REASON_HEAD_TOO_LARGE, 431, false },
	{ "upstream-timeout", REASON_UPSTREAM_TIMEOUT, 504, false },
	{ "broker-error", REASON_BROKER_ERROR, 502, false },
	{ "no-rul", REASON_NONE, 0, false },
	{ "no-rule-", REASON_NONE, 0, false },
	{ "No-Rule", REASON_NONE, 0, false },
	{ "", REASON_NONE, 0, false },
	{ "allowed", REASON_NONE, 0, false },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum reason r = reason_lookup(cases[i].name, strlen(cases[i].name));
		CHECK(r == cases[i].want, "lookup %s", cases[i].name);
		CHECK(reason_status(r) == cases[i].status, "status of %s", cases[i].name);
		CHECK(reason_curable(r) == cases[i].curable, "curable %s", cases[i].name);
	}
	/* a length, not a NUL, ends the name; out-of-range values are nothing */
	CHECK(reason_lookup("no-rule=x", 7) == REASON_NO_RULE, "lookup by length");
	CHECK(reason_lookup(NULL, 0) == REASON_NONE, "NULL");
	CHECK(reason_name(REASON_NONE) == NULL && reason_name(REASON_COUNT) == NULL &&
	      reason_name((enum reason)-1) == NULL, "no name out of the table");
	CHECK(!reason_curable(REASON_COUNT) && reason_status(REASON_COUNT) == 0, "nothing out of the table");
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return print_json();
	test_table();
	test_cases();
	return unit_finish("test-reasons");
}
