/* enforcer/budget.c: requests per minute, requests at once, bytes per
 * hour and tokens per day, per client and per rule, on policies parsed
 * from real "policy" frames; the answer's reason and Retry-After; entries
 * pruned when a policy drops their limit (never under a request in
 * flight); the table's cap refuses past AL_BUDGET_ENTRIES_MAX; the day's
 * token count the broker gives back (tokens-today). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "enforcer/budget.h"
#include "enforcer/policy.h"
#include "tests/unit/unit.h"

static uint64_t version = 1;

static json_t *rule(long long id, const char *key, long long limit)
{
	json_t *r = json_pack("{s:I, s:s, s:[i], s:[], s:[], s:b}", "id", (json_int_t)id, "host", "example.com",
			      "ports", 443, "methods", "paths", "passthrough", 0);
	if (key)
		json_object_set_new(r, key, json_integer(limit));
	return r;
}

static json_t *client(const char *name, int n, const char *key, long long limit, json_t *rules)
{
	char hex[65];
	snprintf(hex, sizeof hex, "%064x", n);
	json_t *c = json_pack("{s:s, s:s, s:o}", "name", name, "token_sha256", hex, "rules", rules);
	if (key)
		json_object_set_new(c, key, json_integer(limit));
	return c;
}

static struct policy *parse(json_t *clients)
{
	json_t *msg = json_pack("{s:s, s:I, s:o}", "type", "policy", "version", (json_int_t)version++, "clients",
				clients);
	struct policy *p = NULL;
	int rc = policy_parse(msg, &p);
	CHECK(rc == 0, "policy parses: %s", airlock_strerror(rc));
	json_decref(msg);
	return p;
}

static int admit(struct policy *p, const char *name, size_t rule_idx, struct budget_hold *h, enum reason *why,
		 int64_t *retry)
{
	const struct policy_client *c = policy_client_by_name(p, name);
	*why = REASON_NONE;
	*retry = 0;
	return budget_admit(c, rule_idx == (size_t)-1 ? NULL : &c->rules[rule_idx], h, why, retry);
}

static void test_limits(void)
{
	struct budget_hold h[4];
	enum reason why;
	int64_t retry;
	struct policy *p = parse(json_pack("[o, o, o, o, o]",
					   client("rpm", 1, "max_rpm", 3, json_pack("[o]", rule(1, NULL, 0))),
					   client("conc", 2, "max_concurrent", 2, json_pack("[o]", rule(2, NULL, 0))),
					   client("bytes", 3, "max_bytes_per_hour", 1000, json_pack("[o]", rule(3, NULL, 0))),
					   client("tok", 4, "max_tokens_per_day", 100, json_pack("[o]", rule(4, NULL, 0))),
					   client("rule", 5, NULL, 0, json_pack("[o, o]", rule(5, "max_rpm", 1), rule(6, NULL, 0)))));
	budget_prune(p);
	CHECK(budget_entries() == 0, "no entry before a request: %zu", budget_entries());

	for (int i = 0; i < 3; i++) {
		CHECK(admit(p, "rpm", 0, &h[0], &why, &retry) == 0, "rpm: request %d of 3", i + 1);
		budget_release(&h[0], 10, 0);
	}
	CHECK(admit(p, "rpm", 0, &h[0], &why, &retry) == AL_EDENIED && why && strcmp(reason_name(why), "rate-limit") == 0 &&
	      retry >= 19 && retry <= 20, "rpm: the 4th: %s retry %lld", why ? reason_name(why) : "-", (long long)retry);

	CHECK(admit(p, "conc", 0, &h[0], &why, &retry) == 0 && admit(p, "conc", 0, &h[1], &why, &retry) == 0,
	      "conc: two at once");
	CHECK(admit(p, "conc", 0, &h[2], &why, &retry) == AL_EDENIED && strcmp(reason_name(why), "concurrency-limit") == 0 &&
	      retry == 1, "conc: a third");
	budget_release(&h[0], 0, 0);
	budget_release(&h[0], 0, 0);   /* idempotent */
	CHECK(admit(p, "conc", 0, &h[2], &why, &retry) == 0, "conc: once one ended");
	budget_release(&h[1], 0, 0);
	budget_release(&h[2], 0, 0);

	CHECK(admit(p, "bytes", 0, &h[0], &why, &retry) == 0, "bytes: the first");
	budget_release(&h[0], 1500, 0);   /* crosses: it completed */
	CHECK(admit(p, "bytes", 0, &h[0], &why, &retry) == AL_EDENIED && strcmp(reason_name(why), "byte-budget") == 0 &&
	      retry >= 1800 && retry <= 1805, "bytes: the next waits ~501 bytes at 1000/h: %lld", (long long)retry);

	CHECK(admit(p, "tok", 0, &h[0], &why, &retry) == 0 && admit(p, "tok", 0, &h[1], &why, &retry) == 0,
	      "tok: two under way");
	budget_release(&h[0], 0, 99);
	CHECK(admit(p, "tok", 0, &h[0], &why, &retry) == 0, "tok: 99 of 100");
	budget_release(&h[0], 0, 0);
	budget_release(&h[1], 0, 5);
	CHECK(admit(p, "tok", 0, &h[0], &why, &retry) == AL_EDENIED && strcmp(reason_name(why), "token-budget") == 0 &&
	      retry >= 1 && retry <= 86400, "tok: 104 of 100: %lld", (long long)retry);

	CHECK(admit(p, "rule", 0, &h[0], &why, &retry) == 0, "rule budget: the first");
	budget_release(&h[0], 0, 0);
	CHECK(admit(p, "rule", 0, &h[0], &why, &retry) == AL_EDENIED && strcmp(reason_name(why), "rate-limit") == 0,
	      "rule budget: the second");
	CHECK(admit(p, "rule", 1, &h[0], &why, &retry) == 0, "the client's other rule has none");
	budget_release(&h[0], 0, 0);
	CHECK(admit(p, "rule", (size_t)-1, &h[0], &why, &retry) == 0, "no rule: the client's budget alone");
	budget_release(&h[0], 0, 0);
	CHECK(budget_entries() == 5, "entries: one per limited client or rule: %zu", budget_entries());

	/* the same limits in a new policy: counters kept */
	struct policy *q = parse(json_pack("[o]", client("rpm", 1, "max_rpm", 3, json_pack("[o]", rule(1, NULL, 0)))));
	CHECK(admit(q, "rpm", 0, &h[0], &why, &retry) == AL_EDENIED, "rpm: still limited under a new policy");
	/* a request under way keeps its entry through a prune */
	CHECK(admit(p, "conc", 0, &h[3], &why, &retry) == 0, "conc: one under way");
	budget_prune(q);
	CHECK(budget_entries() == 2, "pruned to the kept client and the request in flight: %zu", budget_entries());
	budget_release(&h[3], 0, 0);
	budget_prune(q);
	CHECK(budget_entries() == 1, "then pruned: %zu", budget_entries());
	policy_unref(q);
	policy_unref(p);
	q = policy_empty();
	budget_prune(q);
	policy_unref(q);
	CHECK(budget_entries() == 0, "no client, no entry");
}

/* Past AL_BUDGET_ENTRIES_MAX entries a request that needs a new one is
 * refused: the table never grows past its cap. */
static void test_cap(void)
{
	int nclients = AL_BUDGET_ENTRIES_MAX / AL_RULES_PER_CLIENT + 1;
	json_t *clients = json_array();
	char name[32];
	for (int c = 0; c < nclients; c++) {
		json_t *rules = json_array();
		for (int r = 0; r < AL_RULES_PER_CLIENT; r++)
			json_array_append_new(rules, rule((long long)c * AL_RULES_PER_CLIENT + r + 1, "max_concurrent", 5));
		snprintf(name, sizeof name, "c%d", c);
		json_array_append_new(clients, client(name, c + 10, NULL, 0, rules));
	}
	struct policy *p = parse(clients);
	struct budget_hold h;
	enum reason why;
	int64_t retry;
	int refused = 0;
	for (int c = 0; c < nclients; c++) {
		snprintf(name, sizeof name, "c%d", c);
		for (size_t r = 0; r < AL_RULES_PER_CLIENT; r++) {
			if (admit(p, name, r, &h, &why, &retry) == 0)
				budget_release(&h, 0, 0);
			else if (strcmp(reason_name(why), "budget-table-full") == 0)
				refused++;
		}
	}
	CHECK(budget_entries() == AL_BUDGET_ENTRIES_MAX, "entries at the cap: %zu", budget_entries());
	CHECK(refused == nclients * AL_RULES_PER_CLIENT - AL_BUDGET_ENTRIES_MAX, "refused past the cap: %d", refused);
	budget_free_all();
	CHECK(budget_entries() == 0, "freed");
	policy_unref(p);
}

/* The broker's count of the day (tokens-today) is where a budget starts:
 * at least that many, never fewer than counted here, another day's
 * ignored; the table is reported only once a policy came. */
static void each_sum(void *arg, const char *client, int64_t day, int64_t tokens)
{
	(void)day;
	if (strcmp(client, "t") == 0)
		*(int64_t *)arg = tokens;
}

static void test_seed(void)
{
	struct budget_hold h;
	enum reason why;
	int64_t retry, got = -1, today = time(NULL) / 86400;

	budget_free_all();
	CHECK(!budget_each_tokens_today(each_sum, &got) && got == -1, "nothing reported before a policy");
	budget_seed_tokens("t", today - 1, 500);    /* yesterday's: ignored */
	CHECK(budget_entries() == 0, "another day's count makes no entry");
	budget_seed_tokens("t", today, 36);
	struct policy *p = parse(json_pack("[o]", client("t", 1, "max_tokens_per_day", 30, json_array())));
	budget_prune(p);
	CHECK(budget_entries() == 1, "the seeded entry is kept under a policy with its limit");
	CHECK(admit(p, "t", (size_t)-1, &h, &why, &retry) == AL_EDENIED && why == REASON_TOKEN_BUDGET,
	      "36 seeded of 30: refused (%d)", (int)why);
	CHECK(budget_each_tokens_today(each_sum, &got) && got == 36, "reported: %lld", (long long)got);
	budget_seed_tokens("t", today, 20);         /* lower: the count stays */
	CHECK(budget_each_tokens_today(each_sum, &got) && got == 36, "a lower seed lowers nothing: %lld",
	      (long long)got);
	policy_unref(p);
	p = parse(json_pack("[o]", client("t", 1, "max_tokens_per_day", 40, json_array())));
	budget_prune(p);
	CHECK(admit(p, "t", (size_t)-1, &h, &why, &retry) == 0, "under a raised budget of 40");
	budget_release(&h, 0, 18);
	CHECK(budget_each_tokens_today(each_sum, &got) && got == 54, "counted on top: %lld", (long long)got);
	budget_free_all();
	policy_unref(p);
}

int main(void)
{
	test_limits();
	test_cap();
	test_seed();
	return unit_finish("test-budget");
}
