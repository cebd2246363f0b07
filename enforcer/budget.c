/* The enforcer's budget table (budget.h): a hash of entries keyed by
 * (client name, rule id) under one mutex, token buckets for requests per
 * minute and bytes per hour, a count per UTC day for LLM tokens, and a
 * count of requests under way. Out of memory aborts (xmalloc). */
#include "config.h"

#include "enforcer/budget.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/duration.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#define BUDGET_BUCKETS 1024   /* hash chains; a power of two */

struct bucket {
	double level;          /* what may still pass now (requests or bytes) */
	int64_t limit;         /* capacity; 0 = not set up yet */
	uint64_t at_ms;        /* monotonic time of the last refill */
};

struct budget_entry {
	struct budget_entry *next;
	char client[AL_NAME_MAX + 1];
	uint64_t rule;         /* 0: the client's own entry */
	struct bucket rpm, bytes;
	int64_t inflight;
	int64_t day;           /* UTC day number of `tokens` */
	int64_t tokens;
	/* the limits last seen (the policy of the last admission) */
	struct policy_budget lim;
};

static uv_mutex_t mu;
static uv_once_t mu_once = UV_ONCE_INIT;
static struct budget_entry *table[BUDGET_BUCKETS];
static size_t nentries;
static bool policy_seen;   /* a policy came: the table is what the broker should keep */

static void mu_init(void)
{
	if (uv_mutex_init(&mu) != 0)
		abort();
}

static size_t slot(const char *client, uint64_t rule)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a: names are not secret */
	for (const char *p = client; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ rule) * 1099511628211ULL;
	return (size_t)(h & (BUDGET_BUCKETS - 1));
}

static struct budget_entry *find(const char *client, uint64_t rule, bool create)
{
	size_t i = slot(client, rule);
	for (struct budget_entry *e = table[i]; e; e = e->next)
		if (e->rule == rule && strcmp(e->client, client) == 0)
			return e;
	if (!create || nentries >= AL_BUDGET_ENTRIES_MAX)
		return NULL;
	struct budget_entry *e = xcalloc(1, sizeof *e);
	snprintf(e->client, sizeof e->client, "%s", client);
	e->rule = rule;
	e->next = table[i];
	table[i] = e;
	nentries++;
	return e;
}

/* Refill b to now for a limit per `period_s` seconds; a changed limit
 * moves the level by the difference (a raised limit helps at once, a
 * lowered one takes its share back). */
static void bucket_refill(struct bucket *b, int64_t limit, double period_s, uint64_t now_ms)
{
	if (b->limit == 0) {
		b->level = (double)limit;
	} else {
		double rate = (double)b->limit / period_s;
		b->level += rate * (double)(now_ms - b->at_ms) / 1000.0;
		if (limit != b->limit)
			b->level += (double)(limit - b->limit);
	}
	if (b->level > (double)limit)
		b->level = (double)limit;
	b->limit = limit;
	b->at_ms = now_ms;
}

/* Seconds until b holds `need` (b refilled to now). */
static int64_t bucket_wait(const struct bucket *b, double need, double period_s)
{
	double rate = (double)b->limit / period_s;
	double s = (need - b->level) / rate;
	if (s >= 86400)
		return 86400;
	int64_t whole = (int64_t)s;
	if ((double)whole < s)
		whole++;   /* rounded up: the answer is never too early */
	return whole < 1 ? 1 : whole;
}

/* Can entry e (with limits lim) take one more request now? */
static enum reason entry_check(struct budget_entry *e, const struct policy_budget *lim, uint64_t now_ms,
			       int64_t day, int64_t now_s, int64_t *retry)
{
	e->lim = *lim;
	if (lim->max_concurrent && e->inflight >= lim->max_concurrent) {
		*retry = 1;
		return REASON_CONCURRENCY_LIMIT;
	}
	if (lim->max_rpm) {
		bucket_refill(&e->rpm, lim->max_rpm, 60.0, now_ms);
		if (e->rpm.level < 1.0) {
			*retry = bucket_wait(&e->rpm, 1.0, 60.0);
			return REASON_RATE_LIMIT;
		}
	} else {
		e->rpm.limit = 0;
	}
	if (lim->max_bytes_per_hour) {
		bucket_refill(&e->bytes, lim->max_bytes_per_hour, 3600.0, now_ms);
		if (e->bytes.level < 1.0) {
			*retry = bucket_wait(&e->bytes, 1.0, 3600.0);
			return REASON_BYTE_BUDGET;
		}
	} else {
		e->bytes.limit = 0;
	}
	if (e->day != day) {
		e->day = day;
		e->tokens = 0;
	}
	if (lim->max_tokens_per_day && e->tokens >= lim->max_tokens_per_day) {
		*retry = (day + 1) * 86400 - now_s;
		if (*retry < 1)
			*retry = 1;
		return REASON_TOKEN_BUDGET;
	}
	return REASON_NONE;
}

int budget_admit(const struct policy_client *c, const struct policy_rule *r, struct budget_hold *h,
		 enum reason *reason, int64_t *retry_after)
{
	static const struct policy_budget none;
	const struct policy_budget *rb = r ? &r->budget : &none;
	bool want_c = policy_budget_any(&c->budget), want_r = policy_budget_any(rb);
	enum reason why = REASON_NONE;
	int64_t retry = 0;

	h->client_e = h->rule_e = NULL;
	if (!want_c && !want_r)
		return 0;
	uv_once(&mu_once, mu_init);
	uint64_t now_ms = (uint64_t)time_mono_ms();
	int64_t now_s = time_now(), day = now_s / 86400;

	uv_mutex_lock(&mu);
	struct budget_entry *ce = want_c ? find(c->name, 0, true) : NULL;
	struct budget_entry *re = want_r ? find(c->name, r->id, true) : NULL;
	if ((want_c && !ce) || (want_r && !re)) {
		why = REASON_BUDGET_TABLE_FULL;
		retry = 1;
	}
	if (!why && ce)
		why = entry_check(ce, &c->budget, now_ms, day, now_s, &retry);
	if (!why && re)
		why = entry_check(re, rb, now_ms, day, now_s, &retry);
	if (!why) {
		/* all passed: take one request from each */
		struct budget_entry *es[2] = { ce, re };
		for (int i = 0; i < 2; i++) {
			if (!es[i])
				continue;
			es[i]->inflight++;
			if (es[i]->rpm.limit)
				es[i]->rpm.level -= 1.0;
		}
		h->client_e = ce;
		h->rule_e = re;
	}
	uv_mutex_unlock(&mu);
	if (why) {
		*reason = why;
		*retry_after = retry;
		return AL_EDENIED;
	}
	return 0;
}

void budget_release(struct budget_hold *h, uint64_t bytes, uint64_t tokens)
{
	struct budget_entry *es[2] = { h->client_e, h->rule_e };
	if (!es[0] && !es[1])
		return;
	uint64_t now_ms = (uint64_t)time_mono_ms();
	int64_t day = time_now() / 86400;
	uv_mutex_lock(&mu);
	for (int i = 0; i < 2; i++) {
		struct budget_entry *e = es[i];
		if (!e)
			continue;
		e->inflight--;
		if (e->lim.max_bytes_per_hour) {
			bucket_refill(&e->bytes, e->lim.max_bytes_per_hour, 3600.0, now_ms);
			e->bytes.level -= (double)bytes;
		}
		if (e->day != day) {
			e->day = day;
			e->tokens = 0;
		}
		e->tokens += (int64_t)(tokens > (uint64_t)INT64_MAX / 2 ? (uint64_t)INT64_MAX / 2 : tokens);
	}
	uv_mutex_unlock(&mu);
	h->client_e = h->rule_e = NULL;
}

/* Does p still give e a limit? */
static bool entry_wanted(const struct policy *p, const struct budget_entry *e)
{
	const struct policy_client *c = policy_client_by_name(p, e->client);
	if (!c)
		return false;
	if (e->rule == 0)
		return policy_budget_any(&c->budget);
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].id == e->rule)
			return policy_budget_any(&c->rules[i].budget);
	return false;
}

void budget_prune(const struct policy *p)
{
	uv_once(&mu_once, mu_init);
	uv_mutex_lock(&mu);
	policy_seen = true;
	for (size_t i = 0; i < BUDGET_BUCKETS; i++) {
		struct budget_entry **pp = &table[i];
		while (*pp) {
			struct budget_entry *e = *pp;
			if (e->inflight > 0 || entry_wanted(p, e)) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			free(e);
			nentries--;
		}
	}
	uv_mutex_unlock(&mu);
}

void budget_seed_tokens(const char *client, int64_t day, int64_t tokens)
{
	if (day != time_now() / 86400 || tokens <= 0)
		return;
	uv_once(&mu_once, mu_init);
	uv_mutex_lock(&mu);
	struct budget_entry *e = find(client, 0, true);
	if (e && e->day != day) {
		e->day = day;
		e->tokens = 0;
	}
	if (e && e->tokens < tokens)
		e->tokens = tokens;
	uv_mutex_unlock(&mu);
}

bool budget_each_tokens_today(void (*fn)(void *arg, const char *client, int64_t day, int64_t tokens),
			      void *arg)
{
	int64_t day = time_now() / 86400;
	uv_once(&mu_once, mu_init);
	uv_mutex_lock(&mu);
	bool seen = policy_seen;
	for (size_t i = 0; seen && i < BUDGET_BUCKETS; i++)
		for (const struct budget_entry *e = table[i]; e; e = e->next)
			if (e->rule == 0 && e->day == day && e->tokens > 0)
				fn(arg, e->client, day, e->tokens);
	uv_mutex_unlock(&mu);
	return seen;
}

size_t budget_entries(void)
{
	uv_once(&mu_once, mu_init);
	uv_mutex_lock(&mu);
	size_t n = nentries;
	uv_mutex_unlock(&mu);
	return n;
}

void budget_free_all(void)
{
	uv_once(&mu_once, mu_init);
	uv_mutex_lock(&mu);
	for (size_t i = 0; i < BUDGET_BUCKETS; i++) {
		while (table[i]) {
			struct budget_entry *e = table[i];
			table[i] = e->next;
			free(e);
		}
	}
	nentries = 0;
	policy_seen = false;
	uv_mutex_unlock(&mu);
}
