/* The broker's pending approvals (approvals.h): a list of what enforcers
 * hold, one timer for their deadlines, and the ring of events the API's
 * followers read. Everything runs on the broker's loop. */
#include "config.h"

#include "broker/approvals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/ipc_server.h"
#include "broker/webhook.h"
#include "common/duration.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

/* The broker waits this much past the enforcer's own timeout before it
 * drops an approval the enforcer never withdrew (hold-end lost). */
#define APPROVAL_GRACE_MS 2000

enum approval_state { AP_PENDING, AP_APPROVED };

struct approval {
	struct approval *next;
	uint64_t id;                    /* the API's */
	uint64_t conn;                  /* the IPC link that asked */
	uint32_t ask;                   /* its ask id on that link */
	enum approval_state state;
	char client[AL_NAME_MAX + 1];
	char method[AL_METHOD_MAX + 1]; /* "" for a CONNECT */
	char scheme[17];
	char host[AL_HOST_BUF];
	unsigned port;
	char path[AL_PATH_MAX + 1];     /* "" for a CONNECT */
	char reason[65];
	int64_t created_ms, expires_ms; /* wall clock */
	int64_t deadline_mono;          /* pending: dropped past it; approved: answered past it */
	uint64_t version, rule;         /* approved: answered once `version` runs everywhere */
};

struct approvals {
	struct approval *list;          /* oldest first */
	size_t n;
	uint64_t next_id;
	uv_timer_t timer;
	bool timer_open;
	char *events[AL_APPROVAL_EVENTS];
	size_t event_len[AL_APPROVAL_EVENTS];
	uint64_t events_next;           /* seq of the next event */
	uint64_t outcomes[APPROVAL_OUTCOMES];   /* /metrics, by approval_outcome_name */
};

/* What became of approvals, as /metrics counts them. */
static const char *const outcome_names[APPROVAL_OUTCOMES] = { "approved", "denied", "expired",
							     "withdrawn" };

const char *approval_outcome_name(size_t i)
{
	return i < APPROVAL_OUTCOMES ? outcome_names[i] : NULL;
}

static struct approvals *ap_of(const struct broker *b)
{
	return b->approvals;
}

/* ---- views and events ---- */

json_t *approvals_view(const struct approval *a)
{
	json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o}", "id", (json_int_t)a->id,
			      "state", "pending", "client", a->client, "method",
			      a->method[0] ? a->method : "CONNECT", "host", a->host, "port",
			      (json_int_t)a->port, "reason", a->reason, "created_at",
			      api_time(a->created_ms / 1000), "expires_at",
			      api_time((a->expires_ms + 999) / 1000));
	if (!v)
		return NULL;   /* never: the strings came through the door as UTF-8 */
	json_object_set_new(v, "scheme", json_string(a->scheme));
	if (a->path[0])
		json_object_set_new(v, "path", json_string(a->path));
	return v;
}

static void event_push(struct broker *b, const struct approval *a, const char *state, uint64_t rule)
{
	struct approvals *ap = ap_of(b);
	for (size_t i = 0; i < APPROVAL_OUTCOMES; i++)
		if (strcmp(state, outcome_names[i]) == 0)
			ap->outcomes[i]++;
	json_t *v = approvals_view(a);
	if (!v)
		return;
	json_object_set_new(v, "state", json_string(state));
	if (rule)
		json_object_set_new(v, "rule", json_integer((json_int_t)rule));
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		abort();   /* jansson fails here on OOM alone */
	size_t len = strlen(s);
	s = xrealloc(s, len + 2);
	s[len++] = '\n';
	s[len] = '\0';
	size_t slot = ap->events_next % AL_APPROVAL_EVENTS;
	free(ap->events[slot]);
	ap->events[slot] = s;
	ap->event_len[slot] = len;
	ap->events_next++;
	api_approvals_wake(b);
}

uint64_t approvals_events_oldest(const struct broker *b)
{
	const struct approvals *ap = ap_of(b);
	return ap->events_next > AL_APPROVAL_EVENTS ? ap->events_next - AL_APPROVAL_EVENTS : 0;
}

uint64_t approvals_events_next(const struct broker *b)
{
	return ap_of(b)->events_next;
}

const char *approvals_event(const struct broker *b, uint64_t seq, size_t *len)
{
	const struct approvals *ap = ap_of(b);
	if (!ap || seq >= ap->events_next || seq < approvals_events_oldest(b))
		return NULL;
	*len = ap->event_len[seq % AL_APPROVAL_EVENTS];
	return ap->events[seq % AL_APPROVAL_EVENTS];
}

char *approvals_pending_lines(struct broker *b, size_t *len)
{
	char *out = xstrdup("");
	size_t n = 0;
	for (struct approval *a = ap_of(b)->list; a; a = a->next) {
		if (a->state != AP_PENDING)
			continue;
		json_t *v = approvals_view(a);
		char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
		json_decref(v);
		if (!s)
			continue;
		size_t sl = strlen(s);
		out = xrealloc(out, n + sl + 2);
		memcpy(out + n, s, sl);
		out[n + sl] = '\n';
		n += sl + 1;
		out[n] = '\0';
		free(s);
	}
	*len = n;
	return out;
}

json_t *approvals_list(struct broker *b)
{
	json_t *arr = json_array();
	for (struct approval *a = ap_of(b)->list; a; a = a->next)
		if (a->state == AP_PENDING)
			json_array_append_new(arr, approvals_view(a));
	return arr;
}

/* ---- the list and its timer ---- */

static void on_timer(uv_timer_t *t);

static void timer_rearm(struct approvals *ap)
{
	int64_t next = 0;
	if (!ap->timer_open)
		return;
	for (struct approval *a = ap->list; a; a = a->next)
		if (!next || a->deadline_mono < next)
			next = a->deadline_mono;
	if (!next) {
		uv_timer_stop(&ap->timer);
		return;
	}
	int64_t ms = next - time_mono_ms();
	uv_timer_start(&ap->timer, on_timer, ms > 0 ? (uint64_t)ms : 0, 0);
}

static void unlink_free(struct approvals *ap, struct approval *a)
{
	struct approval **pp = &ap->list;
	while (*pp && *pp != a)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = a->next;
		ap->n--;
	}
	free(a);
}

static void send_answer(struct broker *b, const struct approval *a, bool approved, uint64_t rule)
{
	json_t *m = ipc_msg_hold_answer(a->ask, approved, rule);
	if (m && ipc_server_send_to(b->ipc, a->conn, m, false) < 0)
		log_debug("a hold's answer found its enforcer link gone", KV_I("approval", (long long)a->id));
	json_decref(m);
}

/* Answer the approved ones whose policy runs everywhere (all: or whose
 * deadline passed), drop the pending ones past their deadline. */
static void sweep(struct broker *b)
{
	struct approvals *ap = ap_of(b);
	int64_t now = time_mono_ms();
	for (struct approval *a = ap->list, *n; a; a = n) {
		n = a->next;
		if (a->state == AP_APPROVED) {
			bool done = ipc_server_applied(b->ipc, a->version);
			if (!done && now < a->deadline_mono)
				continue;
			if (!done)
				log_warn("an enforcer has not confirmed an approval's rule; releasing anyway",
					 KV_I("approval", (long long)a->id));
			send_answer(b, a, true, a->rule);
			unlink_free(ap, a);
		} else if (now >= a->deadline_mono) {
			log_info("approval expired", KV_I("approval", (long long)a->id), KV_S("client", a->client));
			event_push(b, a, "expired", 0);
			unlink_free(ap, a);
		}
	}
	timer_rearm(ap);
}

static void on_timer(uv_timer_t *t)
{
	sweep(t->data);
}

void approvals_policy_progress(struct broker *b)
{
	if (ap_of(b))
		sweep(b);
}

/* ---- the door ---- */

json_t *approvals_on_hold(struct broker *b, uint64_t conn, const json_t *ask)
{
	struct approvals *ap = ap_of(b);
	uint32_t id = ipc_msg_id(ask);
	const char *client = json_str(ask, "client", "");
	size_t mine = 0;

	json_t *rec = state_client(b->state.doc, client, NULL);
	if (!rec || !state_client_holds(rec))
		return ipc_msg_hold_refusal(id, "no-hold");   /* deleted, or set back to deny */
	for (struct approval *a = ap->list; a; a = a->next)
		if (a->state == AP_PENDING && strcmp(a->client, client) == 0)
			mine++;
	if (mine >= AL_HOLDS_PER_CLIENT || ap->n >= AL_APPROVALS_MAX) {
		log_info("hold refused: too many pending", KV_S("client", client), KV_I("pending", (long long)mine));
		return ipc_msg_hold_refusal(id, "hold-cap");
	}
	struct approval *a = xcalloc(1, sizeof *a);
	a->id = ++ap->next_id;
	a->conn = conn;
	a->ask = id;
	snprintf(a->client, sizeof a->client, "%s", client);
	snprintf(a->method, sizeof a->method, "%s", json_str(ask, "method", ""));
	snprintf(a->scheme, sizeof a->scheme, "%s", json_str(ask, "scheme", ""));
	snprintf(a->host, sizeof a->host, "%s", json_str(ask, "host", ""));
	snprintf(a->path, sizeof a->path, "%s", json_str(ask, "path", ""));
	snprintf(a->reason, sizeof a->reason, "%s", json_str(ask, "reason", ""));
	a->port = (unsigned)json_int(ask, "port", 0);
	int64_t timeout = json_int(ask, "timeout_ms", 0);
	a->created_ms = time_now_ms();
	a->expires_ms = a->created_ms + timeout;
	a->deadline_mono = time_mono_ms() + timeout + APPROVAL_GRACE_MS;
	struct approval **pp = &ap->list;
	while (*pp)
		pp = &(*pp)->next;
	*pp = a;
	ap->n++;
	log_info("request held for approval", KV_I("approval", (long long)a->id), KV_S("client", a->client),
		 KV_S("method", a->method[0] ? a->method : "CONNECT"), KV_S("host", a->host),
		 KV_I("port", a->port), KV_S("path", a->path), KV_S("reason", a->reason));
	event_push(b, a, "pending", 0);
	json_t *v = approvals_view(a);
	webhook_approval(b, v);
	json_decref(v);
	timer_rearm(ap);
	return NULL;
}

void approvals_on_hold_end(struct broker *b, uint64_t conn, uint32_t ask_id)
{
	struct approvals *ap = ap_of(b);
	for (struct approval *a = ap->list; a; a = a->next)
		if (a->conn == conn && a->ask == ask_id) {
			/* the enforcer's own timeout, or the sandbox went away */
			if (a->state == AP_PENDING)
				event_push(b, a, time_now_ms() + 100 >= a->expires_ms ? "expired" : "withdrawn", 0);
			unlink_free(ap, a);
			break;
		}
	timer_rearm(ap);
}

void approvals_conn_gone(struct broker *b, uint64_t conn)
{
	struct approvals *ap = ap_of(b);
	if (!ap)
		return;
	for (struct approval *a = ap->list, *n; a; a = n) {
		n = a->next;
		if (a->conn != conn)
			continue;
		if (a->state == AP_PENDING)
			event_push(b, a, "withdrawn", 0);
		unlink_free(ap, a);
	}
	timer_rearm(ap);
}

void approvals_client_gone(struct broker *b, const char *client)
{
	struct approvals *ap = ap_of(b);
	for (struct approval *a = ap->list, *n; a; a = n) {
		n = a->next;
		if (strcmp(a->client, client) != 0)
			continue;
		if (a->state == AP_PENDING)
			event_push(b, a, "withdrawn", 0);
		json_t *m = ipc_msg_hold_refusal(a->ask, "client-gone");
		if (m && ipc_server_send_to(b->ipc, a->conn, m, false) < 0)
			log_debug("a hold's answer found its enforcer link gone", KV_I("approval", (long long)a->id));
		json_decref(m);
		unlink_free(ap, a);
	}
	timer_rearm(ap);
}

/* ---- a person's decision ---- */

struct approval *approvals_find(struct broker *b, uint64_t id)
{
	for (struct approval *a = ap_of(b)->list; a; a = a->next)
		if (a->id == id && a->state == AP_PENDING)
			return a;
	return NULL;
}

json_t *approvals_rule_body(const struct approval *a, const char *path, int64_t ttl, char *err, size_t errlen)
{
	json_t *body = json_pack("{s:s, s:s, s:[I]}", "client", a->client, "host", a->host, "ports",
				 (json_int_t)a->port);
	if (!body)
		abort();
	if (a->method[0]) {
		const char *p = path ? path : a->path;
		if (path_pattern_parse(p) < 0) {
			snprintf(err, errlen, "%s: a path starts with /, has no dot segments, %%, ? or #, and * "
				 "only as a final /*", path ? ".path" : "the request's path (give .path, a prefix)");
			goto fail;
		}
		if (!path_pattern_match(p, a->path)) {
			snprintf(err, errlen, ".path: does not cover the held request's path");
			goto fail;
		}
		json_object_set_new(body, "methods", json_pack("[s]", a->method));
		json_object_set_new(body, "paths", json_pack("[s]", p));
	} else if (path) {
		snprintf(err, errlen, ".path: a held CONNECT has no path (the rule lets the host's port through)");
		goto fail;
	}
	if (ttl > 0)
		json_object_set_new(body, "ttl_seconds", json_integer(ttl));
	return body;
fail:
	json_decref(body);
	return NULL;
}

/* Does the rule (a POST allows body) let a's request through? */
static bool rule_covers(const json_t *rule, const struct approval *a)
{
	if (strcmp(json_str(rule, "client", ""), a->client) != 0 || strcmp(json_str(rule, "host", ""), a->host) != 0 ||
	    json_integer_value(json_array_get(json_object_get(rule, "ports"), 0)) != (json_int_t)a->port)
		return false;
	const json_t *paths = json_object_get(rule, "paths");
	if (!paths)
		return true;   /* host and port: anything goes, a CONNECT too */
	if (!a->method[0])
		return false;  /* a CONNECT needs a rule without paths */
	return strcmp(json_string_value(json_array_get(json_object_get(rule, "methods"), 0)), a->method) == 0 &&
	       path_pattern_match(json_string_value(json_array_get(paths, 0)), a->path);
}

static void approve_one(struct broker *b, struct approval *a, uint64_t version, uint64_t rule)
{
	log_info("approval approved", KV_I("approval", (long long)a->id), KV_S("client", a->client),
		 KV_I("rule", (long long)rule));
	event_push(b, a, "approved", rule);
	a->state = AP_APPROVED;
	a->version = version;
	a->rule = rule;
	a->deadline_mono = time_mono_ms() + AL_POLICY_ACK_TIMEOUT_MS;
}

void approvals_approve(struct broker *b, struct approval *a, uint64_t version, uint64_t rule,
		       const json_t *rule_body)
{
	approve_one(b, a, version, rule);
	for (struct approval *o = ap_of(b)->list; o; o = o->next)
		if (o != a && o->state == AP_PENDING && rule_covers(rule_body, o))
			approve_one(b, o, version, rule);
	sweep(b);
}

void approvals_deny(struct broker *b, struct approval *a)
{
	log_info("approval denied", KV_I("approval", (long long)a->id), KV_S("client", a->client));
	event_push(b, a, "denied", 0);
	send_answer(b, a, false, 0);
	unlink_free(ap_of(b), a);
	timer_rearm(ap_of(b));
}

/* ---- lifetime ---- */

void approvals_start(struct broker *b)
{
	struct approvals *ap = xcalloc(1, sizeof *ap);
	b->approvals = ap;
	uv_timer_init(b->loop, &ap->timer);
	ap->timer.data = b;
	ap->timer_open = true;
}

void approvals_stop(struct broker *b)
{
	struct approvals *ap = ap_of(b);
	if (ap && ap->timer_open) {
		ap->timer_open = false;
		uv_close((uv_handle_t *)&ap->timer, NULL);
	}
}

void approvals_free(struct broker *b)
{
	struct approvals *ap = ap_of(b);
	if (!ap)
		return;
	while (ap->list)
		unlink_free(ap, ap->list);
	for (size_t i = 0; i < AL_APPROVAL_EVENTS; i++)
		free(ap->events[i]);
	free(ap);
	b->approvals = NULL;
}

void approvals_counts(const struct broker *b, size_t *pending, uint64_t outcomes[APPROVAL_OUTCOMES])
{
	const struct approvals *ap = ap_of(b);
	*pending = 0;
	memset(outcomes, 0, APPROVAL_OUTCOMES * sizeof *outcomes);
	if (!ap)
		return;
	for (const struct approval *a = ap->list; a; a = a->next)
		*pending += a->state == AP_PENDING;
	memcpy(outcomes, ap->outcomes, sizeof ap->outcomes);
}
