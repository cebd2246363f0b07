/* Decisions leave here: request ids (a process-wide counter behind the
 * run's start time), the one log line per decision (docs/airlock-enforcer.8, LOG), and, on a
 * worker thread, the broker's copies: each line as JSON in a batch written
 * once per loop turn on the worker's own broker link ("decisions", for the
 * live view: each line behind its verdict and client, unparsed by the
 * broker until someone reads it), and counters sent as deltas about once a second ("stats",
 * for /metrics). Neither ever waits: a batch the link cannot take now is
 * dropped and counted. Everything but the ids is the worker thread's own. */
#include "config.h"

#include "enforcer/decision.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/budget.h"
#include "enforcer/ipc_client.h"
#include "enforcer/leafcache.h"
#include "enforcer/worker.h"

#define REQID_MASK ((UINT64_C(1) << 40) - 1)
#define STATS_PERIOD_MS 1000
/* A batch leaves every FEED_PERIOD_MS, or at the end of a loop turn once it
 * holds FEED_EARLY_ITEMS: a frame per loop turn woke the broker (and cost a
 * write) every few requests; the live view only promises a second. The
 * lines travel as a payload the broker does not parse as JSON on arrival:
 * that parse was the feed's main cost (~65,000 instructions, ~18 µs of
 * broker CPU per decision; docs/custody.md). */
#define FEED_PERIOD_MS 100
#define FEED_EARLY_ITEMS 256
/* one record: verdict, client, the decision as JSON (a path of AL_PATH_MAX
 * bytes, each escaped as \u00XX, fits), tabs and newline */
#define ITEM_MAX (16 + AL_NAME_MAX + AL_DECISION_LINE_MAX + 3)
#define SERIES_KEY_MAX (AL_NAME_MAX + 1 + 16 + 1 + 64 + 1)

static uint64_t reqid_prefix;
static _Atomic uint64_t reqid_next = 1;

void reqid_init(void)
{
	reqid_prefix = (uint64_t)time_now_ms() & REQID_MASK;
}

uint64_t decision_req(struct decision *d)
{
	if (!d->req)
		d->req = atomic_fetch_add_explicit(&reqid_next, 1, memory_order_relaxed);
	return d->req;
}

void reqid_format(uint64_t req, char out[REQID_LEN + 1])
{
	snprintf(out, REQID_LEN + 1, "%010" PRIx64 "%010" PRIx64, reqid_prefix, req & REQID_MASK);
}

/* ---- counters by key (a worker's deltas until the next stats frame) ---- */

struct series {
	char key[SERIES_KEY_MAX];   /* "" = free slot */
	uint64_t a, b, n;
};

struct series_map {
	struct series *slot;
	size_t cap, used;           /* cap: a power of two */
};

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot for key, made when missing; NULL past AL_STATS_SERIES_MAX (the
 * broker keeps no more either). */
static struct series *series_get(struct series_map *m, const char *key)
{
	if (m->used * 4 >= m->cap * 3) {
		if (m->cap >= AL_STATS_SERIES_MAX)
			goto find;
		struct series_map n = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof *n.slot), m->cap ? m->cap * 2 : 64, 0 };
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slot[i].key[0])
				continue;
			size_t j = key_hash(m->slot[i].key) & (n.cap - 1);
			while (n.slot[j].key[0])
				j = (j + 1) & (n.cap - 1);
			n.slot[j] = m->slot[i];
			n.used++;
		}
		free(m->slot);
		*m = n;
	}
find:
	for (size_t j = key_hash(key) & (m->cap - 1), k = 0; k < m->cap; j = (j + 1) & (m->cap - 1), k++) {
		if (strcmp(m->slot[j].key, key) == 0)
			return &m->slot[j];
		if (!m->slot[j].key[0]) {
			if (m->used * 4 >= m->cap * 3)
				return NULL;
			snprintf(m->slot[j].key, sizeof m->slot[j].key, "%s", key);
			m->used++;
			return &m->slot[j];
		}
	}
	return NULL;
}

static void series_clear(struct series_map *m)
{
	if (m->used)
		memset(m->slot, 0, m->cap * sizeof *m->slot);
	m->used = 0;
}

/* ---- the worker's feed ---- */

struct feed {
	struct worker *w;
	uv_timer_t timer;           /* stats */
	uv_timer_t flush;           /* the batch */
	char *buf;                  /* the batch: records, each ending in '\n' */
	size_t len, cap;
	unsigned n;
	uint64_t dropped;           /* lines lost since the last batch that left */
	uint64_t dropped_total;     /* ... since the last stats frame */
	struct series_map decisions, bytes, usage;
	uint64_t ask[IPC_ASK_BUCKETS + 1], ask_sum_us;
	uint64_t leaf_hits, leaf_misses;   /* worker 0: what the last stats frame said */
	char item[ITEM_MAX];
};

static __thread struct feed *tl_feed;

static void count_decision(struct feed *f, const struct decision *d, const char *verdict)
{
	char key[SERIES_KEY_MAX];
	snprintf(key, sizeof key, "%s\t%s\t%s", d->client, verdict,
		 strcmp(verdict, "allow") == 0 || !d->reason ? "" : reason_name(d->reason));
	struct series *s = series_get(&f->decisions, key);
	if (s)
		s->a++;
	if (d->client[0] && (d->bytes_up || d->bytes_down) && (s = series_get(&f->bytes, d->client))) {
		s->a += d->bytes_up;
		s->b += d->bytes_down;
	}
	if (d->metered && d->client[0] && d->inject) {
		snprintf(key, sizeof key, "%s\t%s", d->client, d->inject);
		if ((s = series_get(&f->usage, key))) {
			s->a += d->tokens_in;
			s->b += d->tokens_out;
			s->n++;
		}
	}
}

void decision_emit(struct worker *w, struct decision *d, const char *mode, const char *src, const char *via)
{
	char req[REQID_LEN + 1];
	long long ms = d->start_ms ? (long long)(time_mono_ms() - (int64_t)d->start_ms) : 0;
	const char *verdict = d->verdict ? d->verdict : "deny";
	struct feed *f = tl_feed;

	reqid_format(decision_req(d), req);
	struct log_kv kv[] = {
		KV_S("client", d->client[0] ? d->client : NULL),
		KV_S("method", d->method[0] ? d->method : NULL),
		KV_S("scheme", d->scheme),
		KV_S("host", d->host[0] ? d->host : NULL),
		d->port ? KV_I("port", d->port) : KV_S("port", NULL),
		KV_S("path", d->path[0] ? d->path : NULL),
		KV_S("mode", mode),
		d->rule ? KV_I("rule", d->rule) : KV_S("rule", NULL),
		KV_S("inject", d->inject),
		KV_S("reason", reason_name(d->reason)),
		d->status ? KV_I("status", d->status) : KV_S("status", NULL),
		KV_I("bytes_up", d->bytes_up),
		KV_I("bytes_down", d->bytes_down),
		KV_I("ms", ms),
		d->scanned ? KV_I("scrubbed", d->scrubbed) : KV_S("scrubbed", NULL),
		d->metered ? KV_I("tokens_in", d->tokens_in) : KV_S("tokens_in", NULL),
		d->metered ? KV_I("tokens_out", d->tokens_out) : KV_S("tokens_out", NULL),
		KV_S("hint", d->hint),
		KV_S("upgrade", d->upgrade_line),
		KV_S("via", via),
		KV_S("src", src),
		KV_S("req", req),
	};
	/* checked once for the log line and the feed's copy */
	log_kv_redact(kv, sizeof kv / sizeof kv[0]);
	log_decision_(verdict, kv, sizeof kv / sizeof kv[0]);

	if (!f || f->w != w)
		return;
	count_decision(f, d, verdict);
	if (!w->px->ipc)
		return;
	/* the record: "VERDICT\tCLIENT\t" and the line (common/ipc.h) */
	int h = snprintf(f->item, sizeof f->item, "%s\t%s\t", verdict, d->client);
	size_t n = h > 0 && (size_t)h < sizeof f->item
			   ? log_render(f->item + h, sizeof f->item - (size_t)h, LOG_FMT_JSON, verdict, NULL, kv,
					sizeof kv / sizeof kv[0])
			   : sizeof f->item;
	/* a cut line is not JSON; a full batch waits for no one */
	if (n > AL_DECISION_LINE_MAX || (size_t)h + n + 1 >= sizeof f->item || f->n >= AL_DECISIONS_BATCH_MAX ||
	    f->len + (size_t)h + n + 1 > AL_DECISIONS_BATCH_BYTES) {
		f->dropped++;
		return;
	}
	n += (size_t)h;
	f->item[n++] = '\n';
	xgrow(&f->buf, &f->cap, f->len + n, 4096);
	memcpy(f->buf + f->len, f->item, n);
	f->len += n;
	f->n++;
}

/* Frame a JSON head and its payload (the header of common/ipc.h by hand:
 * the batch is already text, encoding it through jansson would cost the
 * worker). */
static uint8_t *frame_text(const char *head, const char *body, size_t blen, size_t *len)
{
	size_t hl = strlen(head), n = hl + blen;
	uint8_t *buf = xmalloc(IPC_HEADER_LEN + n);
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	memcpy(buf + IPC_HEADER_LEN, head, hl);
	memcpy(buf + IPC_HEADER_LEN + hl, body, blen);
	*len = IPC_HEADER_LEN + n;
	return buf;
}

static void feed_send(struct feed *f)
{
	struct worker *w = f->w;
	char head[96];
	size_t len;

	if (!f->n && !f->dropped)
		return;
	snprintf(head, sizeof head, "{\"type\":\"" IPC_MSG_DECISIONS "\",\"dropped\":%" PRIu64 "}\n", f->dropped);
	uint8_t *frame = frame_text(head, f->buf ? f->buf : "", f->len, &len);
	if (broker_note_decisions(w, frame, len) < 0) {
		f->dropped += f->n;
		f->dropped_total += f->n;
	} else {
		f->dropped = 0;
	}
	f->len = 0;
	f->n = 0;
}

void decision_feed_flush(struct worker *w)
{
	struct feed *f = tl_feed;
	if (f && f->w == w && (f->n >= FEED_EARLY_ITEMS || f->len >= AL_DECISIONS_BATCH_BYTES / 4))
		feed_send(f);
}

static void on_feed_timer(uv_timer_t *t)
{
	feed_send(t->data);
}

void decision_note_ask(struct worker *w, uint64_t us)
{
	struct feed *f = tl_feed;
	size_t i = 0;
	if (!f || f->w != w)
		return;
	while (i < IPC_ASK_BUCKETS && (int64_t)us > ipc_ask_bucket_us[i])
		i++;
	f->ask[i]++;
	f->ask_sum_us += us;
}

static void add_tokens_today(void *arg, const char *client, int64_t day, int64_t tokens)
{
	json_array_append_new(arg, json_pack("{s:s, s:I, s:I}", "client", client, "day", (json_int_t)day,
					     "tokens", (json_int_t)tokens));
}

static void on_stats_timer(uv_timer_t *t)
{
	struct feed *f = t->data;
	struct worker *w = f->w;
	struct proxy *px = w->px;
	json_t *dec = json_array(), *bytes = json_array(), *ask = json_array(), *usage = json_array();
	uint64_t hits = 0, misses = 0, leaves = 0;

	for (size_t i = 0; i < f->decisions.cap; i++) {
		struct series *s = &f->decisions.slot[i];
		char client[SERIES_KEY_MAX], verdict[SERIES_KEY_MAX], reason[SERIES_KEY_MAX];
		if (!s->key[0])
			continue;
		const char *t1 = strchr(s->key, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			continue;
		snprintf(client, sizeof client, "%.*s", (int)(t1 - s->key), s->key);
		snprintf(verdict, sizeof verdict, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
		snprintf(reason, sizeof reason, "%s", t2 + 1);
		json_array_append_new(dec, json_pack("{s:s, s:s, s:s, s:I}", "client", client, "verdict", verdict,
						     "reason", reason, "n", (json_int_t)s->a));
	}
	for (size_t i = 0; i < f->bytes.cap; i++) {
		struct series *s = &f->bytes.slot[i];
		if (s->key[0])
			json_array_append_new(bytes, json_pack("{s:s, s:I, s:I}", "client", s->key, "up",
							       (json_int_t)s->a, "down", (json_int_t)s->b));
	}
	for (size_t i = 0; i < f->usage.cap; i++) {
		struct series *s = &f->usage.slot[i];
		char client[SERIES_KEY_MAX];
		const char *t1 = s->key[0] ? strchr(s->key, '\t') : NULL;
		if (!t1)
			continue;
		snprintf(client, sizeof client, "%.*s", (int)(t1 - s->key), s->key);
		json_array_append_new(usage, json_pack("{s:s, s:s, s:I, s:I, s:I}", "client", client, "secret",
						       t1 + 1, "input", (json_int_t)s->a, "output",
						       (json_int_t)s->b, "responses", (json_int_t)s->n));
	}
	for (size_t i = 0; i <= IPC_ASK_BUCKETS; i++)
		json_array_append_new(ask, json_integer((json_int_t)f->ask[i]));
	if (px->leaves) {
		struct leafcache_stats ls;
		leafcache_stats(px->leaves, &ls);
		leaves = ls.size;
		if (w->id == 0) {
			/* the cache is the enforcer's: one worker reports its counters */
			hits = ls.hits - f->leaf_hits;
			misses = ls.mints + ls.failures - f->leaf_misses;
			f->leaf_hits = ls.hits;
			f->leaf_misses = ls.mints + ls.failures;
		}
	}
	json_t *msg = json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "type", IPC_MSG_STATS,
				"decisions", dec, "bytes", bytes, "ask_buckets", ask, "ask_sum_us",
				(json_int_t)f->ask_sum_us, "leaf_hits", (json_int_t)hits, "leaf_misses",
				(json_int_t)misses, "feed_dropped", (json_int_t)f->dropped_total, "conns",
				(json_int_t)atomic_load(&px->nconns), "preauth_conns",
				(json_int_t)atomic_load(&px->npreauth), "leaves", (json_int_t)leaves);
	if (msg && json_array_size(usage))
		json_object_set(msg, "usage", usage);
	json_decref(usage);
	if (msg && w->id == 0) {
		/* the budget table is the enforcer's: one worker reports it whole */
		json_t *tt = json_array();
		if (budget_each_tokens_today(add_tokens_today, tt))
			json_object_set(msg, "tokens_today", tt);
		json_decref(tt);
	}
	uint8_t *buf;
	size_t len;
	if (msg && ipc_frame_encode(msg, &buf, &len) == 0 && broker_note_stats(w, buf, len) == 0) {
		series_clear(&f->decisions);
		series_clear(&f->bytes);
		series_clear(&f->usage);
		memset(f->ask, 0, sizeof f->ask);
		f->ask_sum_us = 0;
		f->dropped_total = 0;
	} else if (w->id == 0) {
		/* not sent: the next frame carries these too */
		f->leaf_hits -= hits;
		f->leaf_misses -= misses;
	}
	json_decref(msg);
}

void decision_feed_start(struct worker *w)
{
	struct feed *f = xcalloc(1, sizeof *f);
	f->w = w;
	tl_feed = f;
	if (!w->px->ipc)
		return;
	uv_timer_init(&w->loop, &f->timer);
	f->timer.data = f;
	uv_timer_start(&f->timer, on_stats_timer, STATS_PERIOD_MS, STATS_PERIOD_MS);
	uv_unref((uv_handle_t *)&f->timer);
	uv_timer_init(&w->loop, &f->flush);
	f->flush.data = f;
	uv_timer_start(&f->flush, on_feed_timer, FEED_PERIOD_MS, FEED_PERIOD_MS);
	uv_unref((uv_handle_t *)&f->flush);
}

void decision_feed_stop(struct worker *w)
{
	struct feed *f = tl_feed;
	if (f && f->w == w && w->px->ipc && !uv_is_closing((uv_handle_t *)&f->timer)) {
		uv_close((uv_handle_t *)&f->timer, NULL);
		uv_close((uv_handle_t *)&f->flush, NULL);
	}
}

void decision_feed_free(void)
{
	struct feed *f = tl_feed;
	if (!f)
		return;
	tl_feed = NULL;
	free(f->buf);
	free(f->decisions.slot);
	free(f->bytes.slot);
	free(f->usage.slot);
	free(f);
}
