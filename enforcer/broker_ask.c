/* Asks to the broker, on the asking worker's own thread. Each worker owns
 * a broker link (brokerlink.c, hello with asks_only) on its own loop and
 * writes its asks there; the answer comes back on the same loop, so an ask
 * costs no thread hop and no lock. Its decision feed and stats go on a
 * second link of its own (note_send), so an ask never waits behind them.
 * This file keeps the asks in flight: their ids, the deadline of each, the
 * requests waiting for each (a headers ask is shared by the requests that
 * need the same key meanwhile), cancel, and the answers, checked against
 * the door's tables (common/ipc.c) and wiped after the callbacks (they
 * carry credentials).
 *
 * While a worker's link is down its asks fail at once (503
 * broker-unavailable), as when the broker is gone; but when the policy link
 * says the broker is there, a link still waiting out its backoff connects
 * at once and the ask waits for hello instead (a local connect: well under
 * a millisecond), so a worker that lost the race to a restarted broker
 * does not refuse what its neighbours serve.
 *
 * A headers answer is checked and made into headers once, when it arrives
 * (inject_from_answer), and kept so for up to a second (askcache.c,
 * docs/custody.md): broker_headers_kept() hands it to a request at
 * once, without an ask, a round trip, a parse or a copy; a policy change, an
 * upstream 401 for the secret, or the second's end wipes it. */
#include "config.h"

#include "enforcer/ipc_client.h"

#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/ipc.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/askcache.h"
#include "enforcer/brokerlink.h"
#include "enforcer/decision.h"
#include "enforcer/mitm.h"
#include "enforcer/reqhead.h"
#include "enforcer/worker.h"

/* per worker, its thread only: its links and its asks in flight */
struct ask_box {
	struct worker *w;
	struct broker_link link;  /* asks and their answers, and the short notes about them */
	struct broker_link notes; /* the decision feed and stats: never waited for */
	bool linked;              /* there is a broker (--ipc-socket) */
	bool stopped;
	struct ask_wire *asks;    /* written, waiting for their answers */
	uint32_t next_id;         /* ids are per link: the broker answers on the link asked */
	uint64_t cache_gen;       /* +1 at every wipe of the cache (policy change, 401) */
	struct askcache *cache;   /* NULL: no locked memory, every ask goes to the broker */
	uv_timer_t cache_timer;   /* wipes each kept answer at its expiry */
	bool cache_timer_open;
};

/* One ask written on the link: its id, deadline and key, and the requests
 * waiting for its answer. A "headers" ask is shared: a request that needs
 * the same (secret, host) while one is on its way waits for that answer
 * instead of writing another (broker_ask_headers), so a worker asks once
 * per key however many requests arrive during the round trip. */
struct ask_wire {
	struct ask_wire *next, *prev;   /* in the box's list while it waits */
	struct ask_box *box;
	uint32_t id;
	uv_timer_t timer;
	bool shim;                /* cb, not hcb: the answer is JSON (shim, hold) */
	bool hold;                /* a "hold" ask: withdrawn (hold-end) when it stops waiting */
	bool done;                /* answered or past its deadline: handing the result out */
	uint64_t start_ns;        /* for the latency histogram (/metrics) */
	uint64_t cache_gen;       /* the box's cache_gen when the ask was written */
	char secret[AL_NAME_MAX + 1], host[AL_HOST_MAX + 2];   /* a headers ask's key */
	struct broker_ask *waiters;
};

/* One request's wait (the handle its caller keeps to cancel). */
struct broker_ask {
	struct broker_ask *next, *prev;   /* in its wire's waiters */
	struct ask_wire *wire;
	broker_ask_cb cb;         /* a "shim" or "hold" ask's */
	broker_headers_cb hcb;    /* a "headers" ask's */
	void *arg;
};

static void on_ask_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_cache_timer(uv_timer_t *t)
{
	struct ask_box *b = t->data;
	uint64_t now = (uint64_t)time_mono_ms();
	uint64_t next = askcache_expire(b->cache, now);
	if (next)
		uv_timer_start(&b->cache_timer, on_cache_timer, next > now ? next - now : 0, 0);
}

static void cache_keep(struct ask_box *b, const struct ask_wire *a, const struct inject *inj)
{
	/* an answer asked before the last wipe (a policy change or a 401 that
	 * came while it was on its way) serves its own request, but is not
	 * kept: the change may have deleted or replaced the secret */
	if (!b->cache || a->shim || !a->secret[0] || a->cache_gen != b->cache_gen)
		return;
	askcache_put(b->cache, a->secret, a->host, (uint64_t)time_mono_ms(), inj);
	if (!uv_is_active((uv_handle_t *)&b->cache_timer))
		uv_timer_start(&b->cache_timer, on_cache_timer, AL_ASK_CACHE_TTL_MS, 0);
}

/* Out of the box's list: no answer finds it, no request joins it. */
static void wire_unlink(struct ask_wire *a)
{
	struct ask_box *b = a->box;
	if (a->prev)
		a->prev->next = a->next;
	else if (b->asks == a)
		b->asks = a->next;
	if (a->next)
		a->next->prev = a->prev;
	a->next = a->prev = NULL;
	uv_timer_stop(&a->timer);
}

/* Unlinked, without its waiters: freed once its timer is closed. */
static void wire_close(struct ask_wire *a)
{
	wire_unlink(a);
	uv_close((uv_handle_t *)&a->timer, on_ask_timer_closed);
}

static void waiter_unlink(struct broker_ask *q)
{
	struct ask_wire *a = q->wire;
	if (q->prev)
		q->prev->next = q->next;
	else
		a->waiters = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

/* Hand the result of wire a to each request that waits for it, then free
 * it. A callback may cancel another waiter of the same wire (it is then
 * just gone) or ask again (a new wire: this one is out of the list). */
static void wire_finish(struct ask_wire *a, const json_t *msg, const struct inject *inj, enum reason err)
{
	wire_unlink(a);
	a->done = true;
	while (a->waiters) {
		struct broker_ask *q = a->waiters;
		waiter_unlink(q);
		broker_ask_cb cb = q->cb;
		broker_headers_cb hcb = q->hcb;
		void *arg = q->arg;
		free(q);
		if (a->shim)
			cb(arg, err ? NULL : msg, err);
		else
			hcb(arg, err ? NULL : inj, err);
	}
	wire_close(a);
}

/* The error codes the door lists, as reasons; any other is broker-error. */
static enum reason error_code(const char *e)
{
	static const enum reason known[] = { REASON_SECRET_NOT_FOUND, REASON_SECRET_HOST_MISMATCH,
					     REASON_SECRET_SEAL_MISMATCH, REASON_RELOGIN_REQUIRED,
					     REASON_CREDENTIAL_REFRESHING, REASON_BROKER_ERROR, REASON_NO_SHIM,
					     REASON_STORE_UNAVAILABLE, REASON_HOLD_CAP, REASON_NO_HOLD,
					     REASON_CLIENT_GONE };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (e && strcmp(e, reason_name(known[i])) == 0)
			return known[i];
	return REASON_BROKER_ERROR;
}

/* The answer of `kind` (IPC_KIND_COUNT: one its table refused; msg NULL:
 * the link went down) to ask id, if it still waits: its callback, then the
 * ask is gone. A headers answer is made into headers here, kept, and
 * wiped after the callback; the caller wipes msg. */
static void answer_ask(struct ask_box *b, uint32_t id, const json_t *msg, enum ipc_kind kind)
{
	struct ask_wire *a = b->asks;
	while (a && a->id != id)
		a = a->next;
	if (!a)
		return;   /* cancelled, or past its deadline */
	enum ipc_kind want = a->hold ? IPC_HOLD_ANSWER : a->shim ? IPC_SHIM_ANSWER : IPC_HEADERS_ANSWER;
	if (!a->hold)
		decision_note_ask(b->w, (uv_hrtime() - a->start_ns) / 1000);
	enum reason err = REASON_NONE;
	if (!msg)
		err = REASON_BROKER_UNAVAILABLE;
	else if (kind == IPC_HEADERS_REFUSAL || kind == IPC_SHIM_REFUSAL || kind == IPC_HOLD_REFUSAL)
		err = error_code(json_string_value(json_object_get(msg, "error")));
	else if (kind != want)
		err = REASON_BROKER_ERROR;
	if (a->shim) {
		wire_finish(a, msg, NULL, err);
		return;
	}
	struct inject inj;
	if (!err && inject_from_answer(msg, &inj) < 0)
		err = REASON_BROKER_ERROR;   /* headers it must not inject: never kept */
	if (!err)
		cache_keep(b, a, &inj);
	wire_finish(a, NULL, err ? NULL : &inj, err);
	if (!err)
		inject_free(&inj);
}

static void hold_end_send(struct ask_box *b, uint32_t id);

static void on_ask_timeout(uv_timer_t *t)
{
	struct ask_wire *a = t->data;
	if (a->hold) {
		/* a person's time, not the broker's: no latency sample */
		hold_end_send(a->box, a->id);
		wire_finish(a, NULL, NULL, REASON_HOLD_TIMEOUT);
		return;
	}
	/* libuv runs due timers before it reads: after a stall longer than
	 * the deadline, the answer may be here unread. Read it first; a wire
	 * finished meanwhile stays allocated until its timer's close. */
	brokerlink_read_now(&a->box->link);
	if (a->done)
		return;
	decision_note_ask(a->box->w, (uv_hrtime() - a->start_ns) / 1000);
	wire_finish(a, NULL, NULL, REASON_BROKER_UNAVAILABLE);
}

/* ---- the worker's link ---- */

/* Only answers pass on a worker's link. One whose table refuses it fails
 * its ask ("broker-error"); without an id to find the ask by, or of a type
 * the broker does not answer with, the link goes. */
static int on_answer_frame(struct broker_link *l, json_t *msg)
{
	struct ask_box *b = l->data;
	enum ipc_kind kind = IPC_KIND_COUNT;
	char err[160];
	int rc = ipc_msg_check(msg, IPC_FROM_BROKER, &kind, err, sizeof err);
	uint32_t id = ipc_msg_id(msg);

	if (rc == AL_EPROTO || kind == IPC_POLICY || id == 0) {
		log_warn("unexpected IPC message on a worker's link", KV_S("error", rc < 0 ? err : "a policy"));
		rc = AL_EPROTO;
	} else if (rc < 0) {
		log_warn("broker answer refused", KV_S("error", err));
		answer_ask(b, id, msg, IPC_KIND_COUNT);
		rc = 0;
	} else {
		answer_ask(b, id, msg, kind);
	}
	ipc_msg_wipe(msg);
	return rc;
}

static void on_answer_up(struct broker_link *l)
{
	brokerlink_healthy(l);
}

/* Every ask written on the link is answered "unavailable" now rather than
 * at its deadline; by id: a callback may cancel other asks of the list. */
static void on_answer_down(struct broker_link *l, const char *why)
{
	struct ask_box *b = l->data;
	size_t n = 0, i = 0;
	(void)why;
	for (struct ask_wire *a = b->asks; a; a = a->next)
		n++;
	if (!n)
		return;
	uint32_t *ids = xcalloc(n, sizeof *ids);
	for (struct ask_wire *a = b->asks; a && i < n; a = a->next)
		ids[i++] = a->id;
	for (i = 0; i < n; i++)
		answer_ask(b, ids[i], NULL, IPC_KIND_COUNT);
	free(ids);
}

static const struct brokerlink_ops answer_ops = {
	.on_frame = on_answer_frame,
	.on_up = on_answer_up,
	.on_down = on_answer_down,
};

/* The broker answers nothing on the notes link: a frame there is a bug. */
static int on_note_frame(struct broker_link *l, json_t *msg)
{
	(void)l;
	ipc_msg_wipe(msg);
	log_warn("unexpected IPC message on a worker's notes link");
	return AL_EPROTO;
}

static void on_note_down(struct broker_link *l, const char *why)
{
	(void)l;
	(void)why;   /* nothing waits on it; the link retries on its own */
}

static const struct brokerlink_ops note_ops = {
	.on_frame = on_note_frame,
	.on_up = on_answer_up,
	.on_down = on_note_down,
};

/* w's box when the broker is there, its link connecting if it was down;
 * NULL otherwise (the ask fails at once). */
static struct ask_box *box_ready(struct worker *w)
{
	struct ask_box *b = w->asks;
	if (!b || !b->linked || b->stopped || !ipc_client_up(w->px->ipc))
		return NULL;
	if (b->link.state == BROKERLINK_DOWN)
		brokerlink_connect(&b->link);
	return b;
}

static uint32_t box_next_id(struct ask_box *b)
{
	if (++b->next_id == 0)
		b->next_id = 1;
	return b->next_id;
}

/* A new waiter of wire a, first in its list: the caller's handle. */
static struct broker_ask *waiter_add(struct ask_wire *a, broker_ask_cb cb, broker_headers_cb hcb, void *arg)
{
	struct broker_ask *q = xcalloc(1, sizeof *q);
	q->wire = a;
	q->cb = cb;
	q->hcb = hcb;
	q->arg = arg;
	q->next = a->waiters;
	if (q->next)
		q->next->prev = q;
	a->waiters = q;
	return q;
}

/* Write ask (taken) and wait for its answer, or its deadline (ms), on b's loop.
 * cb for a "shim" or "hold" ask (its answer as JSON), hcb for a "headers" ask. */
static int ask_send(struct ask_box *b, json_t *ask, uint32_t id, uint64_t timeout_ms, broker_ask_cb cb,
		    broker_headers_cb hcb, void *arg, struct ask_wire **wire, struct broker_ask **out)
{
	uint8_t *buf;
	size_t len;
	int rc = ask ? ipc_frame_encode(ask, &buf, &len) : AL_EINVAL;
	json_decref(ask);
	if (rc < 0 || (rc = brokerlink_write(&b->link, buf, len)) < 0)
		return rc;

	struct ask_wire *a = xcalloc(1, sizeof *a);
	a->box = b;
	a->id = id;
	a->shim = cb != NULL;
	a->start_ns = uv_hrtime();
	a->cache_gen = b->cache_gen;
	uv_timer_init(&b->w->loop, &a->timer);
	a->timer.data = a;
	uv_timer_start(&a->timer, on_ask_timeout, timeout_ms, 0);
	a->next = b->asks;
	if (a->next)
		a->next->prev = a;
	b->asks = a;
	*out = waiter_add(a, cb, hcb, arg);
	if (wire)
		*wire = a;
	return 0;
}

int broker_ask_headers(struct worker *w, const char *secret, const char *host, broker_headers_cb cb, void *arg,
		       struct broker_ask **out)
{
	struct ask_box *b = box_ready(w);
	struct ask_wire *a;
	*out = NULL;
	if (!b)
		return AL_EUNAVAIL;
	/* the same key on its way, asked since the last wipe (an answer from
	 * before a policy change or a 401 may carry a replaced value): wait
	 * for that answer rather than ask again */
	for (a = b->asks; a; a = a->next)
		if (!a->shim && a->secret[0] && a->cache_gen == b->cache_gen && strcmp(a->secret, secret) == 0 &&
		    strcmp(a->host, host) == 0) {
			*out = waiter_add(a, NULL, cb, arg);
			return 0;
		}
	uint32_t id = box_next_id(b);
	int rc = ask_send(b, ipc_msg_headers_ask(id, secret, host), id, AL_BROKER_ASK_TIMEOUT_MS, NULL, cb, arg,
			  &a, out);
	if (rc == 0 && strlen(secret) <= AL_NAME_MAX && strlen(host) <= AL_HOST_MAX + 1) {
		memcpy(a->secret, secret, strlen(secret) + 1);
		memcpy(a->host, host, strlen(host) + 1);
	}
	return rc;
}

bool broker_headers_kept(struct worker *w, const char *secret, const char *host, struct askcache_view *view,
			 struct inject *inj)
{
	/* fail closed stays: with the broker gone - the policy link or this
	 * worker's own link - nothing kept is served */
	struct ask_box *b = box_ready(w);
	memset(inj, 0, sizeof *inj);
	return b && b->link.state == BROKERLINK_UP &&
	       askcache_get(b->cache, secret, host, (uint64_t)time_mono_ms(), view, inj);
}

int broker_ask_shim(struct worker *w, const char *client, const char *host, const char *path, const char *method,
		    broker_ask_cb cb, void *arg, struct broker_ask **out)
{
	struct ask_box *b = box_ready(w);
	*out = NULL;
	if (!b)
		return AL_EUNAVAIL;
	uint32_t id = box_next_id(b);
	return ask_send(b, ipc_msg_shim_ask(id, client, host, path, method), id, AL_BROKER_ASK_TIMEOUT_MS, cb,
			NULL, arg, NULL, out);
}

int broker_ask_hold(struct worker *w, const struct ipc_hold *h, broker_ask_cb cb, void *arg, struct broker_ask **out)
{
	struct ask_box *b = box_ready(w);
	*out = NULL;
	if (!b)
		return AL_EUNAVAIL;
	uint32_t id = box_next_id(b);
	struct ask_wire *a;
	int rc = ask_send(b, ipc_msg_hold_ask(id, h), id, (uint64_t)h->timeout_ms, cb, NULL, arg, &a, out);
	if (rc == 0)
		a->hold = true;
	return rc;
}

static void hold_end_send(struct ask_box *b, uint32_t id)
{
	uint8_t *buf;
	size_t len;
	if (b->stopped || b->link.state == BROKERLINK_DOWN)
		return;   /* the broker dropped it with the link */
	json_t *msg = ipc_msg_hold_end(id);
	int rc = msg ? ipc_frame_encode(msg, &buf, &len) : AL_EINVAL;
	json_decref(msg);
	if (rc == 0 && brokerlink_write(&b->link, buf, len) < 0)
		log_debug("a hold-end note was dropped with the broker link");
}

void broker_ask_cancel(struct broker_ask *q)
{
	if (!q)
		return;
	struct ask_wire *a = q->wire;
	waiter_unlink(q);
	free(q);
	if (a->waiters || a->done)
		return;   /* others still wait for it, or it is being handed out */
	/* nobody waits any more: a late answer is dropped (not kept) */
	if (a->hold)
		hold_end_send(a->box, a->id);
	wire_close(a);
}

void broker_note_upstream_401(struct worker *w, const char *secret, const char *host)
{
	struct ask_box *b = box_ready(w);
	uint8_t *buf;
	size_t len;
	/* the kept answer was refused upstream: the next ask goes to the broker */
	if (w->asks) {
		askcache_drop(w->asks->cache, secret);
		w->asks->cache_gen++;
	}
	if (!b)
		return;
	json_t *msg = ipc_msg_upstream_401(secret, host);
	int rc = msg ? ipc_frame_encode(msg, &buf, &len) : AL_EINVAL;
	json_decref(msg);
	if (rc == 0 && brokerlink_write(&b->link, buf, len) < 0)
		log_debug("an upstream-401 note was dropped with the broker link");
}

/* Notes that are never waited for (decision.c), on their own link: the
 * feed is bulk (a batch can be 150 KiB) and an ask written behind it on the
 * same socket waited for the broker to read all of it first - under load
 * longer than the ask's deadline (503 broker-unavailable while the broker
 * idled; bench/soak). Written only when the notes link is up and has little
 * unwritten, so a slow broker costs the proxy a dropped batch, never memory
 * or time. Takes buf. */
static int note_send(struct worker *w, uint8_t *buf, size_t len)
{
	struct ask_box *b = box_ready(w);
	if (b && b->notes.state == BROKERLINK_DOWN)
		brokerlink_connect(&b->notes);   /* this batch is dropped; the next one goes */
	if (!b || b->notes.state != BROKERLINK_UP ||
	    uv_stream_get_write_queue_size((uv_stream_t *)b->notes.pipe) > AL_DECISIONS_FEED_QUEUE) {
		free(buf);
		return AL_EUNAVAIL;
	}
	return brokerlink_write(&b->notes, buf, len);
}

int broker_note_decisions(struct worker *w, uint8_t *frame, size_t len)
{
	return note_send(w, frame, len);
}

int broker_note_stats(struct worker *w, uint8_t *frame, size_t len)
{
	return note_send(w, frame, len);
}

void broker_box_init(struct worker *w)
{
	struct ask_box *b = xcalloc(1, sizeof *b);
	b->w = w;
	w->asks = b;
	if (w->px->ipc) {
		b->cache = askcache_new();
		uv_timer_init(&w->loop, &b->cache_timer);
		b->cache_timer.data = b;
		b->cache_timer_open = true;
		brokerlink_init(&b->link, &w->loop, ipc_client_path(w->px->ipc), true, &answer_ops, b);
		brokerlink_init(&b->notes, &w->loop, ipc_client_path(w->px->ipc), true, &note_ops, b);
		b->linked = true;
		brokerlink_connect(&b->link);   /* the loop runs once the thread starts */
		brokerlink_connect(&b->notes);
	}
}

void broker_box_stop(struct worker *w)
{
	struct ask_box *b = w->asks;
	if (!b)
		return;
	b->stopped = true;
	/* the connections that asked are gone already: no callback */
	while (b->asks) {
		struct ask_wire *a = b->asks;
		while (a->waiters) {
			struct broker_ask *q = a->waiters;
			waiter_unlink(q);
			free(q);
		}
		wire_close(a);
	}
	askcache_drop(b->cache, NULL);
	if (b->cache_timer_open) {
		b->cache_timer_open = false;
		uv_close((uv_handle_t *)&b->cache_timer, NULL);
	}
	if (b->linked) {
		brokerlink_stop(&b->link);
		brokerlink_stop(&b->notes);
	}
}

void broker_box_free(struct worker *w)
{
	struct ask_box *b = w->asks;
	if (!b)
		return;
	if (b->linked) {
		brokerlink_free(&b->link);
		brokerlink_free(&b->notes);
	}
	askcache_free(b->cache);
	free(b);
	w->asks = NULL;
}

void broker_box_policy_changed(struct worker *w)
{
	/* a policy change comes with every secret change (broker/api_secrets.c,
	 * broker/oauth.c): nothing kept may outlive the policy it was asked under */
	if (w->asks) {
		askcache_drop(w->asks->cache, NULL);
		w->asks->cache_gen++;
	}
}
