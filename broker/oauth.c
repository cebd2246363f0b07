/* OAuth secrets in the broker: one slot per OAuth secret holds the loop
 * state that is not worth persisting (refresh timer, the transfer in
 * flight, backoff, asks waiting for a refresh). Everything durable is in
 * state.json: a refresh's result is sealed and committed before any answer
 * can carry its access token, because answers read the committed state.
 * Losing a rotated refresh token logs the user out of their plan. */
#include "config.h"

#include "broker/oauth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/api.h"
#include "broker/fleet.h"
#include "broker/ipc_server.h"
#include "broker/sealed.h"
#include "broker/secret_types.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/seal.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/provider.h"
#include "oauth-providers/refresh.h"

/* A refreshed credential that could not be saved is retried this often;
 * the old refresh token is spent, so the network is not asked again. */
#define OAUTH_SAVE_RETRY_S 5

struct oauth_waiter {
	uint64_t conn;
	json_int_t id;
	char host[AL_HOST_BUF];
	struct oauth_waiter *next;
};

struct oauth_slot {
	struct oauth_mgr *m;
	char name[AL_NAME_MAX + 1];
	uv_timer_t timer;             /* the next refresh (or save retry) */
	uv_timer_t hold;              /* waiting asks' deadline */
	bool hold_armed;
	struct oauth_http_xfer *xfer; /* in flight: single flight per secret */
	int64_t started_ms;
	int attempts;                 /* consecutive transient failures */
	int64_t not_before_ms;        /* backoff / Retry-After (unix ms) */
	/* a fleet node holds the refresh lease: asks wait for its commit */
	int64_t remote_ms;
	int64_t due_ms;               /* what the timer waits for (unix ms) */
	int64_t last_forced;          /* last upstream-401 forced refresh */
	json_t *unsaved;              /* refreshed, not yet committed */
	/* the flight in progress took over the lease of this node, which never
	 * gave it back: a refusal of the refresh token then means that node's
	 * refresh spent it and its answer was lost with it */
	char lost_holder[FLEET_NODE_MAX];
	/* single host: an earlier refresh of this login was sent then and no
	 * answer to it was ever saved (the broker was killed, or the answer
	 * never came): a refusal now means that refresh spent the token */
	int64_t lost_sent_at;
	struct oauth_waiter *waiters, **wtail;
	size_t nwaiters;
	int open_handles;
	struct oauth_slot *next;
};

struct oauth_mgr {
	struct broker *b;
	struct oauth_http *http;
	struct oauth_slot *slots;
	const char **resolve;
	size_t nresolve;
	bool stopping;
	uv_timer_t drain;             /* bounds the wait for refreshes at stop */
	bool drain_armed, freed;
};

static void slot_schedule(struct oauth_slot *s);
static int refresh_start(struct oauth_slot *s, bool forced);

/* ---- slots ---- */

static struct oauth_slot *slot_find(struct oauth_mgr *m, const char *name)
{
	for (struct oauth_slot *s = m ? m->slots : NULL; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void on_slot_handle_closed(uv_handle_t *h)
{
	struct oauth_slot *s = h->data;
	if (--s->open_handles == 0)
		free(s);
}

static json_t *headers_error(json_int_t id, const char *code, const char *message, int64_t retry)
{
	return ipc_msg_headers_refusal((uint32_t)id, code, message, retry);
}

static void send_answer(struct oauth_mgr *m, uint64_t conn, json_t *ans)
{
	if (ipc_server_send_to(m->b->ipc, conn, ans, true) < 0)
		log_debug("a held headers ask lost its enforcer");
	oauth_json_free(ans);
}

/* Answer every waiting ask: from the committed credential when usable,
 * else with the error given. */
static void waiters_answer(struct oauth_slot *s, const char *code, const char *message,
			   int64_t retry)
{
	struct oauth_mgr *m = s->m;
	struct oauth_waiter *w = s->waiters;
	s->waiters = NULL;
	s->wtail = &s->waiters;
	s->nwaiters = 0;
	if (s->hold_armed) {
		uv_timer_stop(&s->hold);
		s->hold_armed = false;
	}
	while (w) {
		struct oauth_waiter *next = w->next;
		json_t *ans = NULL;
		const json_t *sec = state_secret(m->b->state.doc, s->name, NULL);
		/* the secret may have been re-adopted meanwhile: check again */
		if (!code && sec && !secret_host_allowed(sec, w->host))
			ans = headers_error(w->id, "secret-host-mismatch",
					    "secret is not bound to this host", 0);
		else if (!code && sec)
			ans = oauth_answer_headers(m->b, sec, w->host, w->id, 0, NULL);
		if (!ans)
			ans = headers_error(w->id, code ? code : "secret-not-found",
					    code ? message : "no such secret", retry);
		send_answer(m, w->conn, ans);
		free(w);
		w = next;
	}
}

static void on_hold(uv_timer_t *t)
{
	struct oauth_slot *s = t->data;
	s->hold_armed = false;
	log_info("headers asks answered credential-refreshing: the refresh is slow",
		 KV_S("secret", s->name), KV_I("asks", (long long)s->nwaiters));
	waiters_answer(s, "credential-refreshing", "the credential is being refreshed", 2);
}

static struct oauth_slot *slot_get(struct oauth_mgr *m, const char *name)
{
	struct oauth_slot *s = slot_find(m, name);
	if (s)
		return s;
	s = xcalloc(1, sizeof *s);
	s->m = m;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->wtail = &s->waiters;
	uv_timer_init(m->b->loop, &s->timer);
	uv_timer_init(m->b->loop, &s->hold);
	s->timer.data = s->hold.data = s;
	s->open_handles = 2;
	s->next = m->slots;
	m->slots = s;
	return s;
}

static void slot_cancel(struct oauth_slot *s)
{
	if (s->xfer) {
		oauth_http_cancel(s->xfer);
		s->xfer = NULL;
	}
	uv_timer_stop(&s->timer);
	oauth_cred_close(s->unsaved);
	s->unsaved = NULL;
	s->attempts = 0;
	s->not_before_ms = 0;
	s->remote_ms = 0;
}

static void slot_free(struct oauth_slot *s, bool stopping)
{
	struct oauth_slot **pp = &s->m->slots;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	slot_cancel(s);
	if (stopping)
		waiters_answer(s, "broker-error", "the broker is stopping", 0);
	else
		waiters_answer(s, "secret-not-found", "no such secret", 0);
	uv_close((uv_handle_t *)&s->timer, on_slot_handle_closed);
	uv_close((uv_handle_t *)&s->hold, on_slot_handle_closed);
}

/* ---- scheduling ---- */

/* The loop's timers run on the monotonic clock, which stands still while
 * the machine sleeps; expiries are wall-clock times. So a timer never waits
 * longer than this, and each firing checks the wall clock again. */
#define OAUTH_TIMER_MAX_MS (10 * 60 * 1000)

/* A fleet node that finds another refreshing (or the store gone) looks
 * again after this long. */
#define OAUTH_LEASE_WAIT_MS 1000

/* The monotonic timer may run a little ahead of the wall clock. */
#define OAUTH_TIMER_SLACK_MS 5

static void on_timer(uv_timer_t *t);

/* Wall clock in milliseconds: whole seconds (time_now()) would let a
 * Retry-After or a backoff end up to a second early. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_at_ms(struct oauth_slot *s, int64_t when_ms)
{
	int64_t left = when_ms - wall_ms();
	uint64_t ms = left <= 0 ? 0 : (uint64_t)left + OAUTH_TIMER_SLACK_MS;
	if (ms > OAUTH_TIMER_MAX_MS)
		ms = OAUTH_TIMER_MAX_MS;
	s->due_ms = when_ms;
	uv_update_time(s->m->b->loop);
	uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct oauth_slot *s = t->data;
	if (s->due_ms > wall_ms() && !s->unsaved) {
		slot_schedule(s);   /* woken early (the cap, or a clock change) */
		return;
	}
	(void)refresh_start(s, false);
}

static void slot_schedule(struct oauth_slot *s)
{
	struct broker *b = s->m->b;
	const json_t *sec = state_secret(b->state.doc, s->name, NULL);
	if (!sec || s->xfer)
		return;
	if (s->unsaved) {
		timer_at_ms(s, wall_ms() + OAUTH_SAVE_RETRY_S * 1000);
		return;
	}
	if (strcmp(json_str(sec, "status", "ok"), "relogin-required") == 0) {
		uv_timer_stop(&s->timer);
		return;
	}
	const struct oauth_provider *p = oauth_provider_find(json_str(sec, "type", ""));
	json_t *c = oauth_cred_open(b, sec);
	if (!p || !c) {
		oauth_cred_close(c);
		uv_timer_stop(&s->timer);
		return;
	}
	int64_t due = oauth_refresh_due(p, c);
	oauth_cred_close(c);
	if (due == INT64_MAX) {
		uv_timer_stop(&s->timer);
		return;
	}
	int64_t due_ms = due > INT64_MAX / 1000 ? INT64_MAX / 2 : due * 1000;
	if (due_ms < s->not_before_ms)
		due_ms = s->not_before_ms;
	timer_at_ms(s, due_ms);
}

void broker_oauth_secret_changed(struct broker *b, const char *name)
{
	struct oauth_mgr *m = b->oauth;
	if (!m || m->stopping)
		return;
	const json_t *sec = state_secret(b->state.doc, name, NULL);
	struct oauth_slot *s = slot_find(m, name);
	if (!sec || !broker_oauth_type(json_str(sec, "type", ""))) {
		if (s)
			slot_free(s, false);
		return;
	}
	s = slot_get(m, name);
	/* a re-adopted login starts over: a refresh in flight belongs to the
	 * old token family */
	slot_cancel(s);
	slot_schedule(s);
	if (s->nwaiters) {
		/* in a fleet, another node's refresh lands here: serve it */
		json_t *c = oauth_cred_open(b, sec);
		bool usable = c && oauth_access_usable(c, time_now());
		oauth_cred_close(c);
		if (usable)
			waiters_answer(s, NULL, NULL, 0);
		else
			(void)refresh_start(s, false);
	}
}

/* ---- refresh ---- */

static int64_t backoff_s(int attempts)
{
	int64_t d = OAUTH_BACKOFF_FIRST_S;
	for (int i = 1; i < attempts && d < OAUTH_BACKOFF_MAX_S; i++)
		d *= 2;
	if (d > OAUTH_BACKOFF_MAX_S)
		d = OAUTH_BACKOFF_MAX_S;
	/* +-25% jitter so that many secrets (or brokers) do not retry in step */
	uint32_t r = 0;
	(void)!gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof r);
	int64_t span = d / 2;
	return d - d / 4 + (span ? (int64_t)(r % (uint32_t)(span + 1)) : 0);
}

/* ---- stopping ---- */

/* A clean stop waits this long for refreshes in flight: the provider may
 * already have consumed the refresh token, so dropping the answer would
 * lose the login. */
#define OAUTH_STOP_DRAIN_MS 10000

static void on_drain_closed(uv_handle_t *h);

static void mgr_free(struct oauth_mgr *m)
{
	if (m->drain_armed)
		uv_close((uv_handle_t *)&m->drain, on_drain_closed);
	oauth_http_close(m->http);
	free(m->resolve);
	m->b->oauth = NULL;
	/* the drain timer's close callback may still come: the memory goes
	 * with the last handle */
	m->freed = true;
	if (!m->drain_armed)
		free(m);
}

static void on_drain_closed(uv_handle_t *h)
{
	struct oauth_mgr *m = h->data;
	if (m->freed)
		free(m);
}

/* A slot whose refresh ended while stopping: forget it; the last one frees
 * the manager. */
static void stop_drained(struct oauth_slot *s)
{
	struct oauth_mgr *m = s->m;
	slot_free(s, true);
	if (!m->slots) {
		log_info("OAuth refreshes in flight finished; stopping");
		mgr_free(m);
	}
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct oauth_mgr *m = t->data;
	for (struct oauth_slot *s = m->slots; s; s = s->next)
		log_error("an OAuth refresh was still in flight at stop; if the provider consumed the "
			  "refresh token, the login needs re-adopting", KV_S("secret", s->name));
	while (m->slots)
		slot_free(m->slots, true);
	mgr_free(m);
}

static void on_refresh_done(void *arg, const struct oauth_http_resp *resp)
{
	struct oauth_slot *s = arg;
	struct broker *b = s->m->b;
	struct oauth_result res = { .outcome = OAUTH_TRANSIENT };
	json_t *next = NULL, *c = NULL;
	const json_t *sec;
	const struct oauth_provider *p;
	int64_t now = time_now();
	int64_t took = time_mono_ms() - s->started_ms;

	s->xfer = NULL;
	sec = state_secret(b->state.doc, s->name, NULL);
	p = sec ? oauth_provider_find(json_str(sec, "type", "")) : NULL;
	if (!p || !(c = oauth_cred_open(b, sec))) {
		fleet_lease_drop(b, s->name);
		waiters_answer(s, "broker-error", "the credential did not open", 0);
		return;
	}
	if (p->refresh_parse(c, resp, now, &next, &res) < 0)
		res.outcome = OAUTH_TRANSIENT;
	if (res.outcome == OAUTH_OK && next)
		b->oauth_refreshes++;
	else
		b->oauth_refresh_failures++;   /* counted by /metrics */
	if (res.outcome == OAUTH_OK && next) {
		if (oauth_state_save(s->m->b, s->name, next) < 0) {
			/* the old refresh token is spent: keep the new one in
			 * memory and keep trying to save it; the old access
			 * token goes on being served meanwhile */
			log_error("refreshed OAuth credential not saved yet; retrying",
				  KV_S("secret", s->name));
			s->unsaved = next;
			next = NULL;
			waiters_answer(s, "credential-refreshing", "the credential is being saved",
				       OAUTH_SAVE_RETRY_S);
		} else {
			s->attempts = 0;
			s->not_before_ms = 0;
			if (oauth_access_usable(next, now))
				log_info("OAuth credential refreshed", KV_S("secret", s->name),
					 KV_S("type", p->type),
					 KV_I("expires_at", json_int(next, "expires_at", 0)), KV_I("ms", took));
			else
				log_info("credential updated; its token is asked for next",
					 KV_S("secret", s->name), KV_S("type", p->type), KV_I("ms", took));
			oauth_cred_write_back(state_secret(b->state.doc, s->name, NULL), next);
			/* a step that brought no token yet (github-app found its
			 * installation): the next one is due now and the asks
			 * keep waiting for it, within their hold */
			if (oauth_access_usable(next, now) || oauth_refresh_due(p, next) > now)
				waiters_answer(s, NULL, NULL, 0);
		}
	} else if (res.outcome == OAUTH_PERMANENT && s->lost_holder[0]) {
		log_error("the refresh token was spent by a refresh whose answer was lost: the node "
			  "holding the lease died (or lost the store) after the provider rotated the "
			  "token and before the rotation was committed",
			  KV_S("secret", s->name), KV_S("holder", s->lost_holder),
			  KV_S("provider_said", res.reason));
		oauth_state_relogin(s->m->b, s->name, "rotation lost: refused after taking over the lease of a node that "
				"died while refreshing");
		waiters_answer(s, "relogin-required", "the secret needs a new login", 0);
	} else if (res.outcome == OAUTH_PERMANENT && s->lost_sent_at) {
		log_error("the refresh token was spent by an earlier refresh whose answer was never "
			  "saved: airlock was killed (or the answer lost) after the provider rotated the "
			  "token", KV_S("secret", s->name), KV_I("sent_at", s->lost_sent_at),
			  KV_S("provider_said", res.reason));
		oauth_state_relogin(s->m->b, s->name, "rotation lost: refused after an earlier refresh's answer was never "
				"saved");
		waiters_answer(s, "relogin-required", "the secret needs a new login", 0);
	} else if (res.outcome == OAUTH_PERMANENT) {
		oauth_state_relogin(s->m->b, s->name, res.reason);
		waiters_answer(s, "relogin-required", "the secret needs a new login", 0);
	} else {
		/* the provider answered without tokens, or the request never
		 * left: this one rotated nothing, and an earlier refresh whose
		 * answer was lost (lost_sent_at) stays known */
		if ((resp->status || resp->unsent) && !fleet_enabled(b) && !p->mints)
			oauth_state_unsent(b, s->name, s->lost_sent_at);
		fleet_lease_drop(b, s->name);
		s->attempts++;
		int64_t d = res.retry_after > 0 ? res.retry_after : backoff_s(s->attempts);
		/* from now, in ms: not from the start of this second */
		s->not_before_ms = wall_ms() + d * 1000;
		log_warn("OAuth refresh failed; will retry", KV_S("secret", s->name),
			 KV_S("reason", res.reason), KV_S("error", resp->status ? NULL : resp->error),
			 KV_I("retry_in", d), KV_I("attempt", s->attempts));
		/* asks get the old access token while it lasts */
		waiters_answer(s, oauth_access_usable(c, now) ? NULL : "credential-refreshing",
			       "the credential is being refreshed", d < 60 ? d : 60);
	}
	oauth_cred_close(next);
	oauth_cred_close(c);
	if (s->m->stopping)
		stop_drained(s);
	else
		slot_schedule(s);
}

/* 1: a refresh is in flight; 0: not now (backoff, saving, stopping);
 * AL_ESTATE: this credential cannot be refreshed at all. */
static int refresh_start(struct oauth_slot *s, bool forced)
{
	struct broker *b = s->m->b;
	struct oauth_http_req req = { 0 };
	int ret;

	if (s->xfer)
		return 1;
	if (s->m->stopping)
		return 0;
	if (s->unsaved) {
		if (oauth_state_save(s->m->b, s->name, s->unsaved) == 0) {
			log_info("refreshed OAuth credential saved", KV_S("secret", s->name));
			oauth_cred_write_back(state_secret(b->state.doc, s->name, NULL), s->unsaved);
			oauth_cred_close(s->unsaved);
			s->unsaved = NULL;
			waiters_answer(s, NULL, NULL, 0);
		}
		slot_schedule(s);
		return 0;
	}
	const json_t *sec = state_secret(b->state.doc, s->name, NULL);
	if (!sec || strcmp(json_str(sec, "status", "ok"), "relogin-required") == 0)
		return AL_ESTATE;
	if (!forced && s->remote_ms > wall_ms())
		return 1;
	if (!forced && s->not_before_ms > wall_ms()) {
		slot_schedule(s);
		return 0;
	}
	/* one refresher per login across a fleet: the lease, and a credential
	 * that no other node has rotated meanwhile */
	int lease = fleet_lease_take(b, s->name, s->lost_holder, sizeof s->lost_holder);
	if (lease == 0) {
		/* another node refreshes: its commit reaches this one (NOTIFY);
		 * look again shortly in case it dies first */
		s->not_before_ms = s->remote_ms = wall_ms() + OAUTH_LEASE_WAIT_MS;
		slot_schedule(s);
		return 1;   /* in flight, on another node: asks wait for it */
	}
	if (lease < 0) {
		s->not_before_ms = wall_ms() + OAUTH_LEASE_WAIT_MS;
		waiters_answer(s, "store-unavailable",
			       "the fleet store is not reachable and the cached access token has expired",
			       5);
		slot_schedule(s);
		return 0;
	}
	const struct oauth_provider *p = oauth_provider_find(json_str(sec, "type", ""));
	json_t *c = oauth_cred_open(b, sec);
	if (!p || !c) {
		oauth_cred_close(c);
		fleet_lease_drop(b, s->name);
		return 0;
	}
	char err[192];
	if ((ret = oauth_cred_read_file(c, err, sizeof err)) < 0) {
		/* the key file may be in the middle of a replacement: retry */
		oauth_cred_close(c);
		s->attempts++;
		int64_t d = backoff_s(s->attempts);
		s->not_before_ms = wall_ms() + d * 1000;
		fleet_lease_drop(b, s->name);
		log_error("cannot read the credential's key file; will retry", KV_S("secret", s->name),
			  KV_S("error", err), KV_I("retry_in", d));
		waiters_answer(s, "credential-refreshing", "the credential's key file is unreadable",
			       d < 60 ? d : 60);
		slot_schedule(s);
		return 0;
	}
	ret = p->refresh_request(c, &req);
	oauth_cred_close(c);
	if (ret == AL_ESTATE) {
		/* nothing to refresh with (Copilot gho_, no refresh token) */
		waiters_answer(s, "relogin-required", "the credential cannot be refreshed", 0);
		oauth_http_req_free(&req);
		fleet_lease_drop(b, s->name);
		return AL_ESTATE;
	}
	if (ret == 0 && !fleet_enabled(b) && !p->mints)
		s->lost_sent_at = oauth_state_sent(b, s->name);
	if (ret < 0 || (ret = oauth_http_start(s->m->http, &req, on_refresh_done, s, &s->xfer)) < 0) {
		log_error("cannot start an OAuth refresh", KV_S("secret", s->name),
			  KV_S("error", airlock_strerror(ret)));
		oauth_http_req_free(&req);
		fleet_lease_drop(b, s->name);
		s->attempts++;
		s->not_before_ms = wall_ms() + backoff_s(s->attempts) * 1000;
		slot_schedule(s);
		return 0;
	}
	oauth_http_req_free(&req);
	s->started_ms = time_mono_ms();
	uv_timer_stop(&s->timer);
	log_debug("OAuth refresh started", KV_S("secret", s->name), KV_S("forced", forced ? "yes" : "no"));
	return 1;
}

void oauth_store_back(struct broker *b)
{
	for (struct oauth_slot *s = b->oauth ? b->oauth->slots : NULL; s; s = s->next)
		if (s->unsaved && !s->xfer)
			timer_at_ms(s, wall_ms());
}

/* ---- headers ---- */

json_t *oauth_answer_headers(struct broker *b, const json_t *sec, const char *host,
			     json_int_t id, uint64_t conn, bool *deferred)
{
	struct oauth_mgr *m = b->oauth;
	const char *name = json_str(sec, "name", "");
	const struct oauth_provider *p = oauth_provider_find(json_str(sec, "type", ""));
	int64_t now = time_now();
	json_t *c, *ans = NULL;

	if (deferred)
		*deferred = false;
	if (!p)
		return headers_error(id, "broker-error", "secret type not supported", 0);
	/* the key opened its check at start: a value that does not open now
	 * was moved to this record (sealed.c logged which) */
	if (!(c = oauth_cred_open(b, sec)))
		return headers_error(id, SEALED_MISMATCH_CODE, SEALED_MISMATCH_TEXT, 0);
	if (oauth_access_usable(c, now)) {
		json_t *h = json_array(), *strip = json_array(), *merge = json_array();
		if (p->headers(c, host, h, strip, merge) == 0) {
			/* "oauth": an upstream 401 to this injection must be reported
			 * (upstream-401) and the sandbox answered 503, never 401 */
			ans = json_pack("{s:s, s:I, s:o, s:o, s:b}", "type", IPC_MSG_HEADERS, "id", id,
					"headers", h, "strip", strip, "oauth", 1);
			if (json_array_size(merge))
				json_object_set_new(ans, "merge", merge);
			else
				json_decref(merge);
			oauth_cred_close(c);
			return ans;
		}
		oauth_cred_close(h);
		json_decref(strip);
		json_decref(merge);
	}
	oauth_cred_close(c);
	/* expired, or nothing to inject yet (Copilot ghu_ before its first
	 * exchange): refresh, and let the ask wait for it a little */
	struct oauth_slot *s = m && !m->stopping ? slot_get(m, name) : NULL;
	int started = s ? refresh_start(s, false) : 0;
	if (started == AL_ESTATE)
		return headers_error(id, "relogin-required", "the credential cannot be refreshed", 0);
	if (started == 1 && conn && deferred && s->nwaiters < OAUTH_WAITERS_MAX) {
		struct oauth_waiter *w = xcalloc(1, sizeof *w);
		w->conn = conn;
		w->id = id;
		snprintf(w->host, sizeof w->host, "%s", host);
		*s->wtail = w;
		s->wtail = &w->next;
		s->nwaiters++;
		if (!s->hold_armed) {
			uv_update_time(b->loop);
			uv_timer_start(&s->hold, on_hold, OAUTH_HOLD_MS, 0);
			s->hold_armed = true;
		}
		*deferred = true;
		return NULL;
	}
	if (fleet_enabled(b) && !fleet_store_up(b))
		return headers_error(id, "store-unavailable",
				     "the fleet store is not reachable and the cached access token has expired", 5);
	int64_t left_ms = s ? s->not_before_ms - wall_ms() : 0;
	int64_t retry = left_ms > 0 ? (left_ms + 999) / 1000 : 2;
	return headers_error(id, "credential-refreshing", "the credential is being refreshed",
			     retry < 60 ? retry : 60);
}

void oauth_on_upstream_401(struct broker *b, const char *name, const char *host)
{
	struct oauth_mgr *m = b->oauth;
	const json_t *sec = state_secret(b->state.doc, name, NULL);
	if (!m || m->stopping || !sec || !broker_oauth_type(json_str(sec, "type", "")))
		return;
	struct oauth_slot *s = slot_get(m, name);
	int64_t now = time_now();
	if (s->xfer)
		return;   /* the refresh in flight answers this too */
	if (now - s->last_forced < OAUTH_FORCED_MIN_INTERVAL_S) {
		log_warn("upstream refused a freshly refreshed OAuth credential; not refreshing again yet",
			 KV_S("secret", name), KV_S("host", host));
		return;
	}
	s->last_forced = now;
	log_info("upstream refused an injected OAuth credential; forcing a refresh",
		 KV_S("secret", name), KV_S("host", host));
	if (refresh_start(s, true) == AL_ESTATE)
		log_warn("the credential cannot be refreshed; if upstream keeps refusing it, log in "
			 "again and re-adopt it", KV_S("secret", name));
}

/* ---- start / stop ---- */

int broker_oauth_start(struct broker *b)
{
	struct oauth_mgr *m = xcalloc(1, sizeof *m);
	struct oauth_http_opts o = { 0 };
	int ret;

	m->b = b;
	/* the enforcer's --resolve and --upstream-ca apply to token endpoints */
	m->resolve = xcalloc(b->cfg.enforcer_argc + 1, sizeof *m->resolve);
	for (size_t i = 0; i + 1 < b->cfg.enforcer_argc; i++) {
		if (strcmp(b->cfg.enforcer_argv[i], "--resolve") == 0)
			m->resolve[m->nresolve++] = b->cfg.enforcer_argv[++i];
		else if (strcmp(b->cfg.enforcer_argv[i], "--upstream-ca") == 0)
			o.ca_file = b->cfg.enforcer_argv[++i];
	}
	o.resolve = m->resolve;
	if ((ret = oauth_http_new(b->loop, &o, &m->http)) < 0) {
		free(m->resolve);
		free(m);
		return ret;
	}
	b->oauth = m;
	size_t i;
	json_t *sec;
	json_array_foreach(state_secrets(b->state.doc), i, sec)
		if (broker_oauth_type(json_str(sec, "type", "")))
			broker_oauth_secret_changed(b, json_str(sec, "name", ""));
	return 0;
}

void broker_oauth_stop(struct broker *b)
{
	struct oauth_mgr *m = b->oauth;
	if (!m || m->stopping)
		return;
	m->stopping = true;
	/* slots with a refresh in flight stay until it ends (stop_drained) */
	for (struct oauth_slot *s = m->slots, *next; s; s = next) {
		next = s->next;
		if (s->xfer) {
			uv_timer_stop(&s->timer);
			waiters_answer(s, "broker-error", "the broker is stopping", 0);
		} else {
			slot_free(s, true);
		}
	}
	if (!m->slots) {
		mgr_free(m);
		return;
	}
	log_info("waiting for OAuth refreshes in flight before stopping");
	uv_timer_init(b->loop, &m->drain);
	m->drain.data = m;
	m->drain_armed = true;
	uv_timer_start(&m->drain, on_drain_timeout, OAUTH_STOP_DRAIN_MS, 0);
}
