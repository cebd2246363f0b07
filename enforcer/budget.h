/* Budgets per client and per rule: requests per minute, bytes per hour
 * (request + response), requests at once, and LLM tokens per UTC day
 * (clients only). One table for the whole enforcer, shared by its worker
 * threads under one lock, keyed by client name and rule id (0: the
 * client's own entry), so the counters outlive policy changes that keep
 * the client or rule. An entry exists only while its client or rule has a
 * limit, or a request it admitted is still under way; at most
 * AL_BUDGET_ENTRIES_MAX.
 *
 * Windows: requests per minute and bytes per hour are token buckets
 * (capacity = the limit, refilled at limit/60 s or limit/3600 s: a burst
 * of the whole limit, then a steady rate). Bytes are known only at the end
 * of a request, so they are charged then and may take the bucket below
 * zero: the request that crosses the budget completes, the next waits
 * until the bucket is above zero again. Tokens per day are a fixed window,
 * the UTC calendar day, charged the same way. A request with no limit on
 * its client or its rule never takes the lock. */
#ifndef AIRLOCK_ENFORCER_BUDGET_H
#define AIRLOCK_ENFORCER_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/reasons.h"

#include "enforcer/policy.h"

struct budget_entry;

/* What an admitted request holds until its end (one per request). */
struct budget_hold {
	struct budget_entry *client_e, *rule_e;   /* NULL: nothing to charge */
};

/* Admit a request of client c through rule r (NULL: none). 0: admitted, h
 * filled (budget_release it once, at the request's end). Otherwise
 * AL_EDENIED with *reason the refusal's (rate-limit, byte-budget,
 * concurrency-limit, token-budget or budget-table-full) and
 * *retry_after the seconds until the window lets it through (>= 1). */
int budget_admit(const struct policy_client *c, const struct policy_rule *r, struct budget_hold *h,
		 enum reason *reason, int64_t *retry_after);
/* The request is over: charge its bytes and LLM tokens, free its slot.
 * Idempotent (h is cleared). */
void budget_release(struct budget_hold *h, uint64_t bytes, uint64_t tokens);
/* A new policy is current: drop the entries whose client or rule it no
 * longer holds, or holds without a limit, unless a request is under way. */
void budget_prune(const struct policy *p);
/* The broker's count of the LLM tokens client used on UTC day `day`
 * (common/ipc.h "tokens-today"): its entry counts at least that many from
 * now (another day's count is ignored), so a restart gives no fresh budget. */
void budget_seed_tokens(const char *client, int64_t day, int64_t tokens);
/* fn(arg, client, day, tokens) for each client whose tokens today are
 * counted (under the table's lock: fn must not call back). false, and no
 * call, before the first policy: the table is not worth keeping yet. */
bool budget_each_tokens_today(void (*fn)(void *arg, const char *client, int64_t day, int64_t tokens),
			      void *arg);
/* Entries held now (tests, metrics). */
size_t budget_entries(void);
/* At exit, after the workers stopped. */
void budget_free_all(void);

#endif
