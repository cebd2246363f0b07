/* The fleet store in the broker's loop: uv_poll on libpq's socket for
 * NOTIFYs, a one-second retry timer while the store is gone, and the
 * reload that catches this node up (policy pushed, OAuth slots told of
 * every secret whose record changed). */
#include "config.h"

#include "broker/fleet.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/oauth.h"
#include "broker/store_pg.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* How often a broker tries the store again while it is gone. */
#define FLEET_RETRY_MS 1000
/* A refresh lease outlives the longest token request (its HTTP timeout),
 * so that only a dead holder's lease runs out. */
#define FLEET_LEASE_S 60
/* A lease another node never gave back is taken over only once this node
 * has been connected this long: a node that lost the store while holding a
 * refreshed credential it had not committed commits it as soon as the store
 * is back (see oauth_store_back), before anyone presents the refresh token
 * that credential's refresh spent. */
#define FLEET_TAKEOVER_GRACE_MS 10000
/* A reconnect (TCP, TLS, startup) that has not finished in this time is
 * given up and tried again at the next second. */
#define FLEET_CONNECT_DEADLINE_MS 3000

struct fleet {
	struct broker *b;
	struct store_pg *pg;
	uv_poll_t *poll;       /* NULL while down */
	uv_poll_t *cpoll;      /* a reconnect in progress: its socket */
	int64_t connect_started_ms; /* 0: no reconnect in progress */
	uv_timer_t retry;      /* reconnects while down */
	uv_timer_t kick;       /* after a commit: read what arrived, reload when stale */
	bool handles, stale;
	int64_t down_since_ms; /* 0: up */
	int64_t up_since_ms;   /* the last (re)connect */
	char last_error[256];
	uint64_t reloads, reconnects;
};

bool fleet_enabled(const struct broker *b)
{
	return b->fleet != NULL;
}

static void poll_close(struct fleet *f);
static void poll_open(struct fleet *f);
static void went_down(struct fleet *f, const char *why);

/* The one answer to "is the store up": libpq may have seen the connection
 * break inside any query (a lease, a commit) before the fleet's own timer
 * looks, so a broken connection is noticed here too, and the status, the
 * metrics and the refresh path never disagree. */
static bool store_up(struct fleet *f)
{
	if (f->down_since_ms == 0 && !store_pg_up(f->pg))
		went_down(f, "the connection to the store was lost");
	return f->down_since_ms == 0;
}

bool fleet_store_up(struct broker *b)
{
	return b->fleet && store_up(b->fleet);
}

static void went_down(struct fleet *f, const char *why)
{
	if (f->down_since_ms)
		return;
	f->down_since_ms = time_now_ms();
	snprintf(f->last_error, sizeof f->last_error, "%s", why);
	log_error("the fleet store is gone: enforcing the last policy, serving cached tokens until "
		  "they expire, refusing writes; retrying every second",
		  KV_S("store", store_pg_target(f->pg)), KV_S("reason", why));
	poll_close(f);
}

/* Read the whole store; replace the document when it is newer than the
 * one held (or when forced: this node's own write found it stale). */
static void reload(struct fleet *f, bool force)
{
	struct broker *b = f->b;
	json_t *doc = NULL;
	int64_t v = 0;
	char err[256];
	int ret = store_pg_load(f->pg, &doc, &v, err, sizeof err);
	if (ret < 0) {
		if (ret == AL_EUNAVAIL)
			went_down(f, err);
		else
			log_error("cannot read the fleet store; keeping the state held",
				  KV_S("error", err));
		return;
	}
	if (!force && v <= b->state.store_version) {
		json_decref(doc);
		return;
	}
	if (state_check(doc, err, sizeof err) < 0) {
		log_error("the fleet store holds a state this broker refuses; keeping the one held",
			  KV_S("error", err), KV_I("store_version", v));
		json_decref(doc);
		return;
	}
	json_t *old = b->state.doc;
	b->state.doc = doc;
	int64_t from = b->state.store_version;
	b->state.store_version = v;
	f->reloads++;
	broker_policy_push(b);
	/* OAuth slots follow their secrets: a credential another node
	 * refreshed is served from here, a deleted one stops */
	json_t *names = json_object();
	size_t i;
	json_t *s;
	json_array_foreach(state_secrets(old), i, s)
		json_object_set_new(names, json_str(s, "name", ""), json_true());
	json_array_foreach(state_secrets(doc), i, s)
		json_object_set_new(names, json_str(s, "name", ""), json_true());
	const char *name;
	json_t *unused;
	json_object_foreach(names, name, unused) {
		const json_t *a = state_secret(old, name, NULL), *c = state_secret(doc, name, NULL);
		if (!a || !c || !json_equal(a, c))
			broker_oauth_secret_changed(b, name);
	}
	json_decref(names);
	json_decref(old);
	log_info("caught up with the fleet store", KV_I("from", from), KV_I("to", v),
		 KV_I("policy_version", b->policy_version));
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct fleet *f = h->data;
	int ret = store_pg_poll(f->pg, f->b->state.store_version);
	if (ret == AL_EUNAVAIL || status < 0)
		went_down(f, "the connection to the store was lost");
	else if (ret == 1)
		reload(f, false);
}

static void on_poll_closed(uv_handle_t *h)
{
	free(h);
}

static void poll_close(struct fleet *f)
{
	if (!f->poll)
		return;
	uv_close((uv_handle_t *)f->poll, on_poll_closed);
	f->poll = NULL;
}

static void poll_open(struct fleet *f)
{
	int fd = store_pg_socket(f->pg);
	if (fd < 0 || f->poll)
		return;
	f->poll = xcalloc(1, sizeof *f->poll);
	f->poll->data = f;
	if (uv_poll_init(f->b->loop, f->poll, fd) != 0) {
		free(f->poll);
		f->poll = NULL;
		return;
	}
	uv_poll_start(f->poll, UV_READABLE, on_readable);
}

static void came_back(struct fleet *f)
{
	int64_t down = time_now_ms() - f->down_since_ms;
	f->down_since_ms = 0;
	f->up_since_ms = time_now_ms();
	f->last_error[0] = '\0';
	f->reconnects++;
	log_info("the fleet store is back; catching up", KV_S("store", store_pg_target(f->pg)),
		 KV_I("down_ms", down), KV_I("from", f->b->state.store_version));
	poll_open(f);
	/* refreshes that waited for the store retry on their own timers; a
	 * refreshed credential not saved yet is saved now, before any other
	 * node may take over its lease */
	reload(f, false);
	oauth_store_back(f->b);
}

static void cpoll_close(struct fleet *f)
{
	if (!f->cpoll)
		return;
	uv_close((uv_handle_t *)f->cpoll, on_poll_closed);
	f->cpoll = NULL;
}

static void connect_failed(struct fleet *f, const char *err)
{
	cpoll_close(f);
	store_pg_reconnect_abort(f->pg);
	f->connect_started_ms = 0;
	snprintf(f->last_error, sizeof f->last_error, "%s", err);
}

static void on_connecting(uv_poll_t *h, int status, int events);

/* Wait for the socket libpq names now (it changes when libpq moves on to
 * another address), in the direction it asks for. */
static void connect_wait(struct fleet *f, bool want_write)
{
	int fd = store_pg_pending_socket(f->pg);
	cpoll_close(f);
	if (fd < 0) {
		connect_failed(f, "the connection to the store has no socket");
		return;
	}
	f->cpoll = xcalloc(1, sizeof *f->cpoll);
	f->cpoll->data = f;
	if (uv_poll_init(f->b->loop, f->cpoll, fd) != 0) {
		free(f->cpoll);
		f->cpoll = NULL;
		connect_failed(f, "cannot watch the store's socket");
		return;
	}
	uv_poll_start(f->cpoll, want_write ? UV_WRITABLE : UV_READABLE, on_connecting);
}

static void on_connecting(uv_poll_t *h, int status, int events)
{
	struct fleet *f = h->data;
	char err[256];
	bool want_write = false;
	(void)status;
	(void)events;
	int ret = store_pg_reconnect_step(f->pg, &want_write, err, sizeof err);
	if (ret == 0) {
		connect_wait(f, want_write);
		return;
	}
	if (ret < 0) {
		connect_failed(f, err);
		return;
	}
	cpoll_close(f);
	f->connect_started_ms = 0;
	came_back(f);
}

static void on_retry(uv_timer_t *t)
{
	struct fleet *f = t->data;
	char err[256];
	bool want_write = false;
	if (!f->down_since_ms) {
		/* up: look at the socket now and then even without traffic, so
		 * a store that went away quietly is seen */
		if (store_pg_poll(f->pg, f->b->state.store_version) == AL_EUNAVAIL)
			went_down(f, "the connection to the store was lost");
		return;
	}
	if (f->connect_started_ms) {
		/* a store that takes the connection and never answers */
		if (time_now_ms() - f->connect_started_ms >= FLEET_CONNECT_DEADLINE_MS)
			connect_failed(f, "the store did not answer the connection in time");
		return;
	}
	if (store_pg_reconnect_start(f->pg, &want_write, err, sizeof err) < 0) {
		snprintf(f->last_error, sizeof f->last_error, "%s", err);
		return;
	}
	f->connect_started_ms = time_now_ms();
	connect_wait(f, want_write);
}

static void on_kick(uv_timer_t *t)
{
	struct fleet *f = t->data;
	bool stale = f->stale;
	f->stale = false;
	if (f->down_since_ms)
		return;
	int ret = store_pg_poll(f->pg, f->b->state.store_version);
	if (ret == AL_EUNAVAIL)
		went_down(f, "the connection to the store was lost");
	else if (ret == 1 || stale)
		reload(f, stale);
}

/* A commit reads the connection: NOTIFYs of other nodes may now sit in
 * libpq's queue, which the socket's readiness no longer shows. */
static void after_commit(void *arg, bool stale)
{
	struct fleet *f = arg;
	f->stale |= stale;
	if (f->handles)
		uv_timer_start(&f->kick, on_kick, 0, 0);
}

static void on_queued(void *arg)
{
	struct fleet *f = arg;
	if (f->handles)
		uv_timer_start(&f->kick, on_kick, 0, 0);
}

static void node_name(char *buf, size_t cap)
{
	char host[128] = "?";
	uint32_t r = 0;
	(void)gethostname(host, sizeof host - 1);
	(void)!gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof r);
	snprintf(buf, cap, "%s:%ld:%08x", host, (long)getpid(), (unsigned)r);
}

int fleet_open(struct broker *b, char *err, size_t errlen)
{
	struct fleet *f = xcalloc(1, sizeof *f);
	char node[FLEET_NODE_MAX];
	int ret;

	f->b = b;
	b->fleet = f;
	node_name(node, sizeof node);
	if ((ret = store_pg_open(b->cfg.store, node, &f->pg, err, errlen)) < 0)
		return ret;
	if ((ret = store_pg_ca_sync(f->pg, &b->key, b->cfg.state_dir, err, errlen)) < 0)
		return ret;
	if ((ret = state_open_store(b->cfg.state_dir, f->pg, &b->state, err, errlen)) < 0)
		return ret;
	f->up_since_ms = time_now_ms();
	store_pg_on_notify(f->pg, on_queued, f);
	b->state.after_commit = after_commit;
	b->state.after_arg = f;
	log_info("fleet store connected", KV_S("store", store_pg_target(f->pg)), KV_S("node", node),
		 KV_I("store_version", b->state.store_version));
	return 0;
}

void fleet_start(struct broker *b)
{
	struct fleet *f = b->fleet;
	if (!f)
		return;
	uv_timer_init(b->loop, &f->retry);
	uv_timer_init(b->loop, &f->kick);
	f->retry.data = f;
	f->kick.data = f;
	f->handles = true;
	uv_timer_start(&f->retry, on_retry, FLEET_RETRY_MS, FLEET_RETRY_MS);
	poll_open(f);
	/* a seal check made at start (new store) goes in with the first write:
	 * make that write now, so every node checks its key against it */
	if (!b->state.store_version) {
		json_t *draft = state_begin(&b->state);
		if (state_commit(&b->state, draft) < 0)
			log_warn("cannot record the seal key check in the store yet");
	}
}

void fleet_stop(struct broker *b)
{
	struct fleet *f = b->fleet;
	if (!f || !f->handles)
		return;
	poll_close(f);
	cpoll_close(f);
	uv_close((uv_handle_t *)&f->retry, NULL);
	uv_close((uv_handle_t *)&f->kick, NULL);
	f->handles = false;
}

void fleet_free(struct broker *b)
{
	struct fleet *f = b->fleet;
	if (!f)
		return;
	store_pg_close(f->pg);
	free(f);
	b->fleet = NULL;
}

int fleet_lease_take(struct broker *b, const char *name, char *abandoned, size_t abandoned_len)
{
	struct fleet *f = b->fleet;
	int64_t gen = 0;
	char *sealed = NULL;
	abandoned[0] = '\0';
	if (!f)
		return 1;
	if (f->down_since_ms)
		return AL_EUNAVAIL;
	bool takeover = time_now_ms() - f->up_since_ms >= FLEET_TAKEOVER_GRACE_MS;
	int ret = store_pg_lease_take(f->pg, name, FLEET_LEASE_S, takeover, &gen, &sealed, abandoned,
				      abandoned_len);
	if (ret == AL_EUNAVAIL) {
		went_down(f, "the connection to the store was lost");
		return ret;
	}
	if (ret < 0)
		return AL_EUNAVAIL;
	if (ret == 0) {
		log_debug("another node holds the refresh lease", KV_S("secret", name),
			  KV_S("takeover", takeover ? "yes" : "not yet"));
		return 0;
	}
	const json_t *sec = state_secret(b->state.doc, name, NULL);
	bool same = sec && strcmp(json_str(sec, "sealed", ""), sealed) == 0;
	free(sealed);
	if (!same) {
		/* another node refreshed since this one read the store: take its
		 * credential instead of spending the rotated refresh token */
		store_pg_lease_drop(f->pg, name);
		abandoned[0] = '\0';
		log_info("another node refreshed this credential; reading it", KV_S("secret", name));
		f->stale = true;
		if (f->handles)
			uv_timer_start(&f->kick, on_kick, 0, 0);
		return 0;
	}
	if (abandoned[0])
		log_warn("taking over a refresh lease its holder never gave back (it died or lost the "
			 "store while refreshing); if its refresh reached the provider, the refresh "
			 "token held is spent",
			 KV_S("secret", name), KV_S("holder", abandoned), KV_I("generation", gen));
	else
		log_debug("refresh lease taken", KV_S("secret", name), KV_I("generation", gen));
	return 1;
}

void fleet_lease_drop(struct broker *b, const char *name)
{
	if (b->fleet && !b->fleet->down_since_ms)
		store_pg_lease_drop(b->fleet->pg, name);
}

json_t *fleet_describe(struct broker *b)
{
	struct fleet *f = b->fleet;
	bool up = store_up(f);
	json_t *o = store_pg_describe(f->pg);
	json_object_set_new(o, "connected", json_boolean(up));
	json_object_set_new(o, "store_version_held", json_integer(b->state.store_version));
	json_object_set_new(o, "reloads", json_integer((json_int_t)f->reloads));
	json_object_set_new(o, "reconnects", json_integer((json_int_t)f->reconnects));
	if (f->down_since_ms) {
		json_object_set_new(o, "down_seconds",
				    json_integer((time_now_ms() - f->down_since_ms) / 1000));
		json_object_set_new(o, "error", json_string(f->last_error));
	}
	return o;
}

void fleet_metrics(struct broker *b, bool *up, int64_t *version, uint64_t *reloads,
		   int64_t *down_s)
{
	struct fleet *f = b->fleet;
	*up = store_up(f);
	*version = b->state.store_version;
	*reloads = f->reloads;
	*down_s = f->down_since_ms ? (time_now_ms() - f->down_since_ms) / 1000 : 0;
}
