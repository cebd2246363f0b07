/* The enforcer's decisions and counters as the broker keeps them (see
 * observe.h): a ring of decision lines, and per-series sums of the stats
 * deltas (so counters only grow, across enforcer restarts too); rendered as
 * Prometheus text together with the broker's own figures (enforcer
 * restarts, OAuth credentials' expiry). */
#include "config.h"

#include "broker/observe.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/approvals.h"
#include "broker/fleet.h"
#include "broker/supervise.h"
#include "common/duration.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct series {
	char *labels;              /* rendered: client="a",verdict="deny",... */
	uint64_t a, b, n;
	char *client, *secret;     /* usage series only: for GET /status */
};

struct observe {
	struct observe_entry ring[AL_DECISIONS_RING];
	uint64_t next;             /* seq of the next entry */
	uint64_t received, dropped;
	struct series *dec, *bytes, *usage;
	size_t ndec, nbytes, nusage;
	uint64_t ask[IPC_ASK_BUCKETS + 1], ask_sum_us;
	uint64_t leaf_hits, leaf_misses, leaves, conns, preauth;
};

static struct observe *obs(struct broker *b)
{
	if (!b->observe) {
		b->observe = xcalloc(1, sizeof *b->observe);
		b->observe->next = 1;
	}
	return b->observe;
}

/* ---- decisions ---- */

void api_decisions_wake(struct broker *b);

void observe_decisions(struct broker *b, const json_t *msg)
{
	struct observe *o = obs(b);
	const json_t *lines = json_object_get(msg, "lines");
	struct ipc_decision d;
	size_t pos = 0;

	o->dropped += (uint64_t)json_int(msg, "dropped", 0);
	/* ipc_msg_check walked every record already */
	while (ipc_decision_next(json_string_value(lines), json_string_length(lines), &pos, &d) == 1) {
		struct observe_entry *e = &o->ring[o->next % AL_DECISIONS_RING];
		/* kept as the enforcer wrote it: checked only if someone reads it */
		free(e->line);
		e->line = xmalloc(d.llen + 2);
		memcpy(e->line, d.line, d.llen);
		e->line[d.llen] = '\n';
		e->line[d.llen + 1] = '\0';
		e->len = d.llen + 1;
		e->checked = e->bad = false;
		e->seq = o->next++;
		e->at_ms = time_now_ms();
		snprintf(e->client, sizeof e->client, "%.*s", (int)d.clen, d.client);
		snprintf(e->verdict, sizeof e->verdict, "%.*s", (int)d.vlen, d.verdict);
		o->received++;
	}
	api_decisions_wake(b);
}

const char *observe_line(struct observe_entry *e, size_t *len)
{
	if (!e->checked) {
		char err[160];
		e->checked = true;
		if (ipc_decision_line_check(e->line, e->len - 1, err, sizeof err) < 0) {
			e->bad = true;
			log_warn("a decision line from the enforcer is not one; not served", KV_S("error", err));
		}
	}
	*len = e->bad ? 0 : e->len;
	return e->bad ? NULL : e->line;
}

struct observe_entry *observe_at(struct broker *b, uint64_t seq)
{
	struct observe *o = b->observe;
	if (!o || seq < observe_oldest(b) || seq >= o->next)
		return NULL;
	return &o->ring[seq % AL_DECISIONS_RING];
}

uint64_t observe_oldest(const struct broker *b)
{
	const struct observe *o = b->observe;
	if (!o)
		return 1;
	return o->next > AL_DECISIONS_RING ? o->next - AL_DECISIONS_RING : 1;
}

uint64_t observe_next(const struct broker *b)
{
	return b->observe ? b->observe->next : 1;
}

/* ---- stats ---- */

/* A label value as Prometheus text wants it: \\, \" and \n escaped. */
static void label_put(char **buf, size_t *len, size_t *cap, const char *name, const char *v, bool first)
{
	size_t need = *len + strlen(name) + 2 * strlen(v) + 8;
	xgrow(buf, cap, need, 64);
	*len += (size_t)sprintf(*buf + *len, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			(*buf)[(*len)++] = '\\';
		if (*v == '\n') {
			(*buf)[(*len)++] = '\\';
			(*buf)[(*len)++] = 'n';
			continue;
		}
		(*buf)[(*len)++] = *v;
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = '\0';
}

static struct series *series_find(struct series **arr, size_t *n, const char *labels)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*arr)[i].labels, labels) == 0)
			return &(*arr)[i];
	if (*n >= AL_STATS_SERIES_MAX)
		return NULL;
	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[*n] = (struct series){ xstrdup(labels), 0, 0, 0, NULL, NULL };
	return &(*arr)[(*n)++];
}

void observe_stats(struct broker *b, const json_t *msg)
{
	struct observe *o = obs(b);
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(msg, "decisions"), i, v) {
		char *l = NULL;
		size_t len = 0, cap = 0;
		label_put(&l, &len, &cap, "client", json_str(v, "client", ""), true);
		label_put(&l, &len, &cap, "verdict", json_str(v, "verdict", ""), false);
		label_put(&l, &len, &cap, "reason", json_str(v, "reason", ""), false);
		struct series *s = series_find(&o->dec, &o->ndec, l);
		if (s)
			s->a += (uint64_t)json_int(v, "n", 0);
		free(l);
	}
	json_array_foreach(json_object_get(msg, "bytes"), i, v) {
		char *l = NULL;
		size_t len = 0, cap = 0;
		label_put(&l, &len, &cap, "client", json_str(v, "client", ""), true);
		struct series *s = series_find(&o->bytes, &o->nbytes, l);
		if (s) {
			s->a += (uint64_t)json_int(v, "up", 0);
			s->b += (uint64_t)json_int(v, "down", 0);
		}
		free(l);
	}
	json_array_foreach(json_object_get(msg, "usage"), i, v) {
		char *l = NULL;
		size_t len = 0, cap = 0;
		label_put(&l, &len, &cap, "client", json_str(v, "client", ""), true);
		label_put(&l, &len, &cap, "secret", json_str(v, "secret", ""), false);
		struct series *s = series_find(&o->usage, &o->nusage, l);
		if (s) {
			if (!s->client) {
				s->client = xstrdup(json_str(v, "client", ""));
				s->secret = xstrdup(json_str(v, "secret", ""));
			}
			s->a += (uint64_t)json_int(v, "input", 0);
			s->b += (uint64_t)json_int(v, "output", 0);
			s->n += (uint64_t)json_int(v, "responses", 0);
		}
		free(l);
	}
	json_array_foreach(json_object_get(msg, "ask_buckets"), i, v)
		if (i <= IPC_ASK_BUCKETS)
			o->ask[i] += (uint64_t)json_integer_value(v);
	o->ask_sum_us += (uint64_t)json_int(msg, "ask_sum_us", 0);
	o->leaf_hits += (uint64_t)json_int(msg, "leaf_hits", 0);
	o->leaf_misses += (uint64_t)json_int(msg, "leaf_misses", 0);
	o->dropped += (uint64_t)json_int(msg, "feed_dropped", 0);
	o->conns = (uint64_t)json_int(msg, "conns", 0);
	o->preauth = (uint64_t)json_int(msg, "preauth_conns", 0);
	o->leaves = (uint64_t)json_int(msg, "leaves", 0);
}

json_t *observe_usage(struct broker *b)
{
	struct observe *o = obs(b);
	json_t *out = json_array();
	for (size_t i = 0; i < o->nusage; i++)
		json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I, s:I}", "client", o->usage[i].client,
						     "secret", o->usage[i].secret, "input_tokens",
						     (json_int_t)o->usage[i].a, "output_tokens",
						     (json_int_t)o->usage[i].b, "responses",
						     (json_int_t)o->usage[i].n));
	return out;
}

/* ---- Prometheus text ---- */

struct text {
	char *buf;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	xgrow(&t->buf, &t->cap, t->len + (size_t)n + 1, 4096);
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *observe_metrics(struct broker *b, size_t *len)
{
	struct observe *o = obs(b);
	struct text t = { 0 };
	struct supervisor_status st = { 0 };
	size_t i;
	json_t *s;

	head(&t, "airlock_decisions_total", "counter", "Proxy decisions by client, verdict and reason.");
	for (i = 0; i < o->ndec; i++)
		put(&t, "airlock_decisions_total{%s} %" PRIu64 "\n", o->dec[i].labels, o->dec[i].a);
	head(&t, "airlock_bytes_up_total", "counter", "Bytes from sandboxes, by client.");
	for (i = 0; i < o->nbytes; i++)
		put(&t, "airlock_bytes_up_total{%s} %" PRIu64 "\n", o->bytes[i].labels, o->bytes[i].a);
	head(&t, "airlock_bytes_down_total", "counter", "Bytes to sandboxes, by client.");
	for (i = 0; i < o->nbytes; i++)
		put(&t, "airlock_bytes_down_total{%s} %" PRIu64 "\n", o->bytes[i].labels, o->bytes[i].b);
	head(&t, "airlock_llm_input_tokens_total", "counter",
	     "LLM input tokens reported in answers to injected requests, by client and secret.");
	for (i = 0; i < o->nusage; i++)
		put(&t, "airlock_llm_input_tokens_total{%s} %" PRIu64 "\n", o->usage[i].labels, o->usage[i].a);
	head(&t, "airlock_llm_output_tokens_total", "counter",
	     "LLM output tokens reported in answers to injected requests, by client and secret.");
	for (i = 0; i < o->nusage; i++)
		put(&t, "airlock_llm_output_tokens_total{%s} %" PRIu64 "\n", o->usage[i].labels, o->usage[i].b);
	head(&t, "airlock_llm_responses_total", "counter",
	     "LLM answers whose usage was read, by client and secret.");
	for (i = 0; i < o->nusage; i++)
		put(&t, "airlock_llm_responses_total{%s} %" PRIu64 "\n", o->usage[i].labels, o->usage[i].n);
	head(&t, "airlock_open_connections", "gauge", "Authenticated sandbox connections open now.");
	put(&t, "airlock_open_connections %" PRIu64 "\n", o->conns);
	head(&t, "airlock_preauth_connections", "gauge", "Sandbox connections without a valid token yet.");
	put(&t, "airlock_preauth_connections %" PRIu64 "\n", o->preauth);
	head(&t, "airlock_leaf_cache_size", "gauge", "Minted leaf certificates cached now.");
	put(&t, "airlock_leaf_cache_size %" PRIu64 "\n", o->leaves);
	head(&t, "airlock_leaf_cache_hits_total", "counter", "Leaf lookups answered from the cache.");
	put(&t, "airlock_leaf_cache_hits_total %" PRIu64 "\n", o->leaf_hits);
	head(&t, "airlock_leaf_cache_misses_total", "counter", "Leaf lookups that minted (or failed to).");
	put(&t, "airlock_leaf_cache_misses_total %" PRIu64 "\n", o->leaf_misses);

	head(&t, "airlock_broker_ask_seconds", "histogram", "Latency of the enforcer's asks to the broker.");
	uint64_t cum = 0;
	for (i = 0; i < IPC_ASK_BUCKETS; i++) {
		cum += o->ask[i];
		put(&t, "airlock_broker_ask_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
		    (double)ipc_ask_bucket_us[i] / 1e6, cum);
	}
	cum += o->ask[IPC_ASK_BUCKETS];
	put(&t, "airlock_broker_ask_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
	put(&t, "airlock_broker_ask_seconds_sum %.6f\n", (double)o->ask_sum_us / 1e6);
	put(&t, "airlock_broker_ask_seconds_count %" PRIu64 "\n", cum);

	head(&t, "airlock_decision_feed_dropped_total", "counter",
	     "Decision lines the live view lost because the broker was slow or away.");
	put(&t, "airlock_decision_feed_dropped_total %" PRIu64 "\n", o->dropped);

	supervisor_status(b->sup, &st);
	head(&t, "airlock_enforcer_up", "gauge", "1 when the supervised enforcer runs.");
	put(&t, "airlock_enforcer_up %d\n", st.running ? 1 : 0);
	head(&t, "airlock_enforcer_restarts_total", "counter", "Restarts of the supervised enforcer.");
	put(&t, "airlock_enforcer_restarts_total %u\n", st.restarts);

	head(&t, "airlock_oauth_expiry_seconds", "gauge", "Seconds until an OAuth credential's access token expires.");
	int64_t now = time_now();
	json_array_foreach(state_secrets(b->state.doc), i, s) {
		json_t *exp = json_object_get(s, "expires_at");
		if (!json_is_integer(exp))
			continue;
		char *l = NULL;
		size_t ll = 0, lc = 0;
		label_put(&l, &ll, &lc, "secret", json_str(s, "name", ""), true);
		put(&t, "airlock_oauth_expiry_seconds{%s} %lld\n", l, (long long)(json_integer_value(exp) - now));
		free(l);
	}
	head(&t, "airlock_oauth_usable", "gauge", "1 when an OAuth credential's status is ok.");
	json_array_foreach(state_secrets(b->state.doc), i, s) {
		if (!json_object_get(s, "expires_at") && !json_object_get(s, "refreshed_at"))
			continue;
		char *l = NULL;
		size_t ll = 0, lc = 0;
		label_put(&l, &ll, &lc, "secret", json_str(s, "name", ""), true);
		put(&t, "airlock_oauth_usable{%s} %d\n", l, strcmp(json_str(s, "status", "ok"), "ok") == 0);
		free(l);
	}
	head(&t, "airlock_oauth_refreshes_total", "counter", "OAuth refreshes that succeeded.");
	put(&t, "airlock_oauth_refreshes_total %" PRIu64 "\n", b->oauth_refreshes);
	head(&t, "airlock_oauth_refresh_failures_total", "counter", "OAuth refreshes that failed.");
	put(&t, "airlock_oauth_refresh_failures_total %" PRIu64 "\n", b->oauth_refresh_failures);
	size_t pending;
	uint64_t outcomes[APPROVAL_OUTCOMES];
	approvals_counts(b, &pending, outcomes);
	head(&t, "airlock_approvals_pending", "gauge", "Held requests waiting for a person's decision.");
	put(&t, "airlock_approvals_pending %zu\n", pending);
	head(&t, "airlock_approvals_total", "counter", "Approvals ended, by outcome.");
	for (size_t k = 0; k < APPROVAL_OUTCOMES; k++)
		put(&t, "airlock_approvals_total{outcome=\"%s\"} %" PRIu64 "\n", approval_outcome_name(k),
		    outcomes[k]);
	if (fleet_enabled(b)) {
		bool up;
		int64_t sv, down;
		uint64_t reloads;
		fleet_metrics(b, &up, &sv, &reloads, &down);
		head(&t, "airlock_store_up", "gauge", "1 when the fleet store is reachable, 0 when it is gone.");
		put(&t, "airlock_store_up %d\n", up);
		head(&t, "airlock_store_down_seconds", "gauge", "Seconds the fleet store has been gone (0: up).");
		put(&t, "airlock_store_down_seconds %lld\n", (long long)down);
		head(&t, "airlock_store_version", "gauge", "The fleet store version this node holds.");
		put(&t, "airlock_store_version %lld\n", (long long)sv);
		head(&t, "airlock_store_reloads_total", "counter", "Times this node read the store again after a change.");
		put(&t, "airlock_store_reloads_total %" PRIu64 "\n", reloads);
	}
	head(&t, "airlock_broker_uptime_seconds", "gauge", "Seconds since the broker started.");
	put(&t, "airlock_broker_uptime_seconds %lld\n", (long long)((time_now_ms() - b->started_ms) / 1000));
	*len = t.len;
	return t.buf;
}

void observe_free(struct broker *b)
{
	struct observe *o = b->observe;
	if (!o)
		return;
	for (size_t i = 0; i < AL_DECISIONS_RING; i++)
		free(o->ring[i].line);
	for (size_t i = 0; i < o->ndec; i++)
		free(o->dec[i].labels);
	for (size_t i = 0; i < o->nbytes; i++)
		free(o->bytes[i].labels);
	for (size_t i = 0; i < o->nusage; i++) {
		free(o->usage[i].labels);
		free(o->usage[i].client);
		free(o->usage[i].secret);
	}
	free(o->dec);
	free(o->bytes);
	free(o->usage);
	free(o);
	b->observe = NULL;
}
