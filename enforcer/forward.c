/* The HTTP pump (forward.h), shared by plain-HTTP forwarding of
 * absolute-URI requests (forward_start: canonical host, normalised path,
 * first-match decision) and the inner requests of an intercepted tunnel
 * (mitm.c, through forward_send): the origin-form head without hop-by-hop
 * headers (and with the injected credential headers in place of the
 * sandbox's) goes over a kept upstream connection to the same target, a
 * parked one, or a new one (upstream.c); then bodies stream both ways as
 * llhttp framed them (re-chunked by us when chunked), with backpressure on
 * both sides and keep-alive both sides; a 101 to an allowed WebSocket
 * upgrade turns the connection into a splice (tunnel.c). Where the
 * exchange stands is its upstream's phase: REQUEST until the response head,
 * RESPONSE while its body streams, DONE once it is complete. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/duration.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/hold.h"
#include "enforcer/ipc_client.h"
#include "enforcer/policy.h"
#include "enforcer/resphead.h"
#include "enforcer/scrub.h"
#include "enforcer/worker.h"

/* Upstream response heads: origins send more than sandboxes do (cookies). */
#define RESP_HEAD_MAX (256 * 1024)
#define RESP_HEADERS_MAX 500

/* While one upstream read is parsed, what goes to the client is gathered
 * and written once: a small response (head + body) leaves in one segment. */
#define BATCH_MAX (64 * 1024)

static void deny(struct conn *c, int status, enum reason reason)
{
	c->d.verdict = "deny";   /* in audit mode too: mode=audit says so */
	conn_reply(c, status, reason, NULL, true);
}

/* The request head may carry an injected credential: wiped, never just freed. */
static void pending_free(struct exchange *x)
{
	if (x->pending)
		secure_free(x->pending, x->pending_len);
	x->pending = NULL;
	x->pending_len = 0;
}

/* ---- the injected secret, scrubbed from the answer ---- */

static void scrub_done(struct conn *c)
{
	struct exchange *x = &c->x;
	if (!x->scrub)
		return;
	c->d.scrubbed = x->scrub->count;
	scrub_free(x->scrub);
	free(x->scrub);
	x->scrub = NULL;
}

/* A compressed answer cannot be scanned for the secret: the request asked
 * for identity (reqhead.c), so anything else is refused, not passed blind. */
static bool encoded(const struct http_msg *m)
{
	for (long i = http_find(m, "content-encoding", 0); i >= 0; i = http_find(m, "content-encoding", (size_t)i + 1)) {
		const char *v = http_value(m, (size_t)i);
		size_t n = m->hdrs[i].vlen;
		while (n && (*v == ' ' || *v == '\t')) {
			v++;
			n--;
		}
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n && !(n == 8 && strncasecmp(v, "identity", 8) == 0))
			return true;
	}
	return false;
}

/* ---- the response, toward the sandbox ---- */

static int flush_out(struct conn *c)
{
	struct exchange *x = &c->x;
	struct upstream *u = &c->up;
	int rc = 0;
	if (x->outlen) {
		rc = io_write(c->io, x->out, x->outlen);
		x->outlen = 0;
	}
	if (rc == 0 && io_queued(c->io) > IO_HIGH_WATER && u->io && !u->paused) {
		io_read_stop(u->io);
		u->paused = true;
	}
	return rc;
}

static int client_write(struct conn *c, const void *buf, size_t n)
{
	struct exchange *x = &c->x;
	c->d.bytes_down += n;
	if (!x->batching)
		return io_write(c->io, buf, n) == 0 ? flush_out(c) : AL_EIO;
	if (x->outlen + n > BATCH_MAX && flush_out(c) < 0)
		return AL_EIO;
	if (n > BATCH_MAX)
		return io_write(c->io, buf, n);
	xgrow(&x->out, &x->outcap, x->outlen + n, 4096);
	memcpy(x->out + x->outlen, buf, n);
	x->outlen += n;
	return 0;
}

/* A final (or 101) response head is passed on: the request head is not
 * needed for a retry any more. */
static void response_started(struct conn *c, int status)
{
	upstream_set_phase(c, UP_RESPONSE);
	pending_free(&c->x);
	c->d.status = status;
}

static int resp_on_head(void *arg)
{
	struct conn *c = arg;
	struct exchange *x = &c->x;
	struct http_msg *m = &x->resp;
	int status = m->p.status_code;
	struct sbuf b = { 0 };

	if (status == 101) {
		/* only after a WebSocket upgrade we forwarded; the head passes whole
		 * (Upgrade, Connection, Sec-WebSocket-*: extensions stay end to end) */
		if (!x->ws)
			return -1;
		sbuf_str(&b, "HTTP/1.1 101 ");
		sbuf_add(&b, m->arena + m->reason, m->reason_len);
		sbuf_add(&b, "\r\n", 2);
		for (size_t i = 0; i < m->nhdrs; i++)
			if ((!http_is_hop(m, i) && !http_is_framing(m, i)) || http_name_is(m, i, "upgrade") ||
			    http_name_is(m, i, "connection"))
				sbuf_header(&b, m, i);
		sbuf_add(&b, "\r\n", 2);
		if (x->scrub)
			scrub_inplace(x->scrub, b.p, b.len);
		response_started(c, 101);
		int wrc = client_write(c, b.p, b.len);
		free(b.p);
		if (wrc >= 0)
			conn_log_upgrade(c);   /* now, not only when it closes (minutes later) */
		return wrc < 0 ? -1 : 2;   /* no body; the upgrade follows */
	}
	struct resp_ctx ctx = {
		.head_req = x->head_req,
		.client10 = c->req.p.http_major == 1 && c->req.p.http_minor == 0,
		.client_keep = x->client_keep,
	};
	struct resp_plan plan;
	if (resphead_build(&b, m, &ctx, &plan) < 0) {
		free(b.p);
		return -1;   /* a 1xx announcing a body: 502 */
	}
	if (status == 401 && c->mitm && c->d.inject) {
		broker_note_upstream_401(c->w, c->d.inject, c->d.host);
		if (x->oauth) {
			/* the sandbox must never see a 401 for an OAuth credential
			 * airlock holds: its CLI would wipe or refresh its stub */
			x->swap_401 = true;
			free(b.p);
			return -1;
		}
	}
	if (x->meter) {
		long ct = http_find(m, "content-type", 0);
		usage_begin(&x->usage, status, ct < 0 ? NULL : http_value(m, (size_t)ct),
			    ct < 0 ? 0 : m->hdrs[ct].vlen);
	}
	if (x->scrub) {
		if (!plan.no_body && encoded(m)) {
			x->unscannable = true;
			free(b.p);
			return -1;
		}
		scrub_inplace(x->scrub, b.p, b.len);
		c->d.scrubbed = x->scrub->count;
	}
	if (plan.interim) {
		int rc = plan.drop ? 0 : client_write(c, b.p, b.len);
		free(b.p);
		return rc < 0 ? -1 : 1;   /* never a body: the real answer follows */
	}
	response_started(c, status);
	x->resp_chunked_out = plan.chunked_out;
	x->resp_eof_delim = plan.eof_delim;
	x->close_after = x->close_after || plan.close_after;
	int rc = client_write(c, b.p, b.len);
	free(b.p);
	if (rc < 0)
		return -1;
	return plan.no_body ? 1 : 0;
}

/* One piece of the body as it goes to the sandbox (re-chunked or not). */
static int body_out(void *arg, const char *at, size_t n)
{
	struct conn *c = arg;
	if (c->x.resp_chunked_out) {
		char hx[CHUNK_HEAD_MAX];
		if (client_write(c, hx, chunk_head(hx, n)) < 0 || client_write(c, at, n) < 0 ||
		    client_write(c, CHUNK_TAIL, 2) < 0)
			return HPE_USER;
		return 0;
	}
	return client_write(c, at, n) < 0 ? HPE_USER : 0;
}

static int resp_on_body(void *arg, const char *at, size_t n)
{
	struct conn *c = arg;
	if (n == 0)
		return 0;
	if (c->x.usage.mode != USAGE_OFF)
		usage_feed(&c->x.usage, at, n);
	if (!c->x.scrub)
		return body_out(c, at, n);
	int rc = scrub_feed(c->x.scrub, at, n, body_out, c);
	c->d.scrubbed = c->x.scrub->count;
	return rc < 0 ? HPE_USER : 0;
}

static int resp_on_complete(void *arg)
{
	struct conn *c = arg;
	int status = c->x.resp.p.status_code;
	if (status >= 100 && status < 200 && status != 101)
		return 0;   /* an interim answer: the real one follows */
	upstream_set_phase(c, UP_DONE);
	forward_usage_take(c);
	if (status != 101 && c->x.scrub) {
		if (scrub_flush(c->x.scrub, body_out, c) < 0)
			return HPE_USER;
		c->d.scrubbed = c->x.scrub->count;
	}
	if (status != 101 && c->x.resp_chunked_out) {
		/* the origin's trailers pass (gRPC's status is there), scrubbed
		 * like the head when a secret was injected */
		struct http_msg *m = &c->x.resp;
		if (m->tlen) {
			char *t = xmalloc(m->tlen);
			memcpy(t, m->trailers, m->tlen);
			if (c->x.scrub)
				scrub_inplace(c->x.scrub, t, m->tlen);
			int rc = client_write(c, "0\r\n", 3) < 0 || client_write(c, t, m->tlen) < 0 ||
					 client_write(c, "\r\n", 2) < 0;
			free(t);
			if (rc)
				return HPE_USER;
		} else if (client_write(c, CHUNK_LAST, sizeof CHUNK_LAST - 1) < 0) {
			return HPE_USER;
		}
	}
	return HPE_PAUSED;
}

static const struct http_msg_cb resp_cb = {
	.on_head = resp_on_head,
	.on_body = resp_on_body,
	.on_complete = resp_on_complete,
};

/* The response is complete: keep or drop the upstream, then next request. */
static void exchange_finish(struct conn *c, bool stray_bytes)
{
	struct exchange *x = &c->x;
	struct upstream *u = &c->up;
	/* a request body still on its way: that upstream is mid-message */
	bool up_keep = !stray_bytes && !x->resp_eof_delim && x->req_done && http_keep_alive(&x->resp);
	if (!up_keep) {
		upstream_close(c);
	} else {
		http_msg_resume(&x->resp);
		if (u->paused) {
			io_read_start(u->io);
			u->paused = false;
		}
		/* kept for the next request to the same place; it closes when idle */
		upstream_set_phase(c, UP_IDLE);
	}
	/* everything gathered has been written: an idle connection keeps no
	 * batch buffer and no response head */
	free(x->out);
	x->out = NULL;
	x->outcap = x->outlen = 0;
	scrub_done(c);
	http_msg_release(&x->resp);
	c->d.verdict = c->d.verdict ? c->d.verdict : "allow";
	if (!x->req_done)
		x->close_after = true;   /* the request body is still coming: cannot reuse */
	conn_exchange_done(c, !x->close_after);
}

/* ---- failures ---- */

/* The upstream's open for this request failed: answer it (a denied
 * address is a deny, logged as one). */
static void answer_open_failure(struct conn *c, int status, enum reason reason, bool keep)
{
	int code = upstream_fail_status(status, &reason);
	pending_free(&c->x);
	if (code == 403)
		c->d.verdict = "deny";   /* in audit mode too: mode=audit says so */
	c->d.reason = reason;
	conn_reply(c, code, reason, NULL, keep);
}

static void on_retry_ready(struct conn *c, int status, enum reason reason)
{
	struct exchange *x = &c->x;
	struct upstream *u = &c->up;
	if (status < 0) {
		answer_open_failure(c, status, reason, false);
		return;
	}
	http_msg_reset(&x->resp);
	upstream_set_phase(c, UP_REQUEST);
	int rc = io_write(u->io, x->pending, x->pending_len);
	pending_free(x);
	if (rc < 0) {
		conn_reply(c, 502, REASON_UPSTREAM_ERROR, NULL, false);
		return;
	}
	io_read_start(u->io);
}

/* The upstream failed while the exchange was in flight. */
static void up_fail(struct conn *c, enum reason reason)
{
	struct exchange *x = &c->x;
	struct upstream *u = &c->up;
	if (conn_ending(c))
		return;
	if (u->phase == UP_REQUEST && x->reused && !x->retried && x->bodyless && x->pending && x->req_done) {
		/* The kept-alive upstream was closed by the origin as we reused it:
		 * a request without a body is sent once more on a fresh connection
		 * (to an address the resolver checks again). */
		x->retried = true;
		upstream_open(c, u->host, u->kind, u->port, u->tls, on_retry_ready);
		return;
	}
	c->d.reason = reason;
	if (u->phase == UP_REQUEST)
		conn_reply(c, 502, reason, NULL, false);
	else
		conn_abort(c);   /* part of the answer went out already */
}

/* ---- the upstream's events during the exchange ---- */

void forward_up_read(struct conn *c, const char *buf, size_t n)
{
	struct exchange *x = &c->x;
	size_t off = 0;
	enum { GO_ON, BAD, FINISH } next = GO_ON;
	x->batching = true;
	while (off < n) {
		size_t used = 0;
		enum http_feed r = http_msg_feed(&x->resp, buf + off, n - off, &used);
		if (r == HTTP_FEED_ERROR) {
			next = BAD;
			break;
		}
		off += used;
		if (r == HTTP_FEED_MORE)
			break;
		if (x->resp.phase == MSG_DONE && c->up.phase == UP_DONE) {
			next = FINISH;
			break;
		}
		if (x->resp.phase == MSG_IDLE)
			http_msg_resume(&x->resp);
	}
	x->batching = false;
	if (flush_out(c) < 0) {
		conn_abort(c);
		return;
	}
	if (next == BAD && x->swap_401) {
		c->d.verdict = "deny";
		conn_reply(c, 503, REASON_CREDENTIAL_REFRESHING, "Retry-After: 1\r\n", false);
	} else if (next == BAD && x->unscannable) {
		c->d.reason = REASON_UNSCANNABLE_RESPONSE;
		conn_reply(c, 502, REASON_UNSCANNABLE_RESPONSE, NULL, false);
	} else if (next == BAD) {
		c->d.reason = REASON_BAD_UPSTREAM_RESPONSE;
		if (c->up.phase == UP_REQUEST)
			conn_reply(c, 502, REASON_BAD_UPSTREAM_RESPONSE, NULL, false);
		else
			conn_abort(c);
	} else if (next == FINISH && x->resp.p.status_code == 101) {
		tunnel_splice(c, buf + off, n - off);
	} else if (next == FINISH) {
		exchange_finish(c, off < n);
	}
}

void forward_up_eof(struct conn *c)
{
	if (c->up.phase == UP_RESPONSE) {
		/* a body delimited by the close ends here; any other is cut short */
		if (http_msg_finish(&c->x.resp) && c->up.phase == UP_DONE) {
			exchange_finish(c, true);
			return;
		}
		c->d.reason = REASON_UPSTREAM_CLOSED;
		conn_abort(c);
		return;
	}
	up_fail(c, REASON_UPSTREAM_CLOSED);
}

void forward_up_error(struct conn *c)
{
	up_fail(c, REASON_UPSTREAM_ERROR);
}

void forward_up_timeout(struct conn *c)
{
	c->d.reason = REASON_UPSTREAM_TIMEOUT;
	if (c->up.phase == UP_REQUEST)
		conn_reply(c, 504, REASON_UPSTREAM_TIMEOUT, NULL, false);
	else
		conn_abort(c);
}

void forward_client_drain(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->io && u->paused && io_queued(c->io) < IO_LOW_WATER) {
		io_read_start(u->io);
		u->paused = false;
	}
}

/* ---- the request body, toward the upstream ---- */

bool forward_wants_body(const struct conn *c)
{
	const struct upstream *u = &c->up;
	return !c->x.req_done && (u->phase == UP_REQUEST || u->phase == UP_RESPONSE) &&
	       io_queued(u->io) <= IO_HIGH_WATER;
}

bool forward_req_sent(const struct conn *c)
{
	return c->x.req_done;
}

static int up_write(struct conn *c, const void *buf, size_t n)
{
	if (!c->up.io)
		return AL_EIO;
	return io_write(c->up.io, buf, n);
}

int forward_req_body(struct conn *c, const char *at, size_t n)
{
	if (n == 0)
		return 0;   /* llhttp may end a span with no bytes; never a "0" chunk */
	if (c->x.req_chunked) {
		/* re-chunked per body piece, whatever the sandbox's chunks were */
		char hx[CHUNK_HEAD_MAX];
		if (up_write(c, hx, chunk_head(hx, n)) < 0 || up_write(c, at, n) < 0 || up_write(c, CHUNK_TAIL, 2) < 0)
			return AL_EIO;
		return 0;
	}
	return up_write(c, at, n);
}

void forward_req_done(struct conn *c)
{
	struct exchange *x = &c->x;
	if (x->req_done)
		return;
	x->req_done = true;
	if (x->req_chunked && up_write(c, CHUNK_LAST, sizeof CHUNK_LAST - 1) < 0)
		conn_abort(c);
}

/* ---- the request ---- */

static void exchange_begin(struct conn *c, bool reused)
{
	struct exchange *x = &c->x;
	struct upstream *u = &c->up;
	x->reused = reused;
	x->retried = false;
	/* only idempotent methods without a body may be replayed (RFC 9110 9.2.2) */
	uint8_t mth = c->req.p.method;
	x->bodyless = !http_is_chunked(&c->req) && c->req.p.content_length == 0 &&
		      (mth == HTTP_GET || mth == HTTP_HEAD || mth == HTTP_OPTIONS || mth == HTTP_DELETE ||
		       mth == HTTP_PUT);
	x->req_chunked = http_is_chunked(&c->req);
	x->req_done = false;
	x->resp_chunked_out = x->resp_eof_delim = false;
	x->close_after = false;
	x->swap_401 = false;
	x->unscannable = false;
	x->head_req = c->req.p.method == HTTP_HEAD;
	x->client_keep = http_keep_alive(&c->req);
	if (!x->resp_init) {
		http_msg_init(&x->resp, false, RESP_HEAD_MAX, RESP_HEADERS_MAX, &resp_cb, c);
		x->resp.keep_trailers = true;
		x->resp_init = true;
	} else {
		http_msg_reset(&x->resp);
	}
	upstream_set_phase(c, UP_REQUEST);
	int rc = io_write(u->io, x->pending, x->pending_len);
	c->d.bytes_up += x->pending_len;
	if (!(reused && x->bodyless))
		pending_free(x);   /* kept only while a retry may need it */
	conn_set_state(c, CS_BODY);
	if (rc < 0) {
		http_msg_resume(&c->req);
		conn_kick(c);
		up_fail(c, REASON_UPSTREAM_ERROR);
		return;
	}
	io_read_start(u->io);
	http_msg_resume(&c->req);
	conn_kick(c);
}

static void on_upstream_ready(struct conn *c, int status, enum reason reason)
{
	if (status == 0)
		exchange_begin(c, false);
	else
		answer_open_failure(c, status, reason, true);
}

void forward_send(struct conn *c, const struct fwd_req *r)
{
	struct exchange *x = &c->x;
	struct sbuf b = { 0 };
	reqhead_build(&b, &c->req, c->d.method, r);
	x->ws = r->websocket;
	x->oauth = r->inj && r->inj->oauth;
	x->meter = r->inj && usage_wanted(c->d.method, r->path);
	usage_free(&x->usage);
	x->usage.mode = USAGE_OFF;
	c->up.h1_only = r->websocket;
	scrub_done(c);
	if (r->inj) {
		struct scrub *sc = xmalloc(sizeof *sc);   /* scrub_init zeroes it */
		int n = scrub_init(sc, r->inj);
		if (n < 0) {   /* more forms than it can follow: refuse, never pass blind */
			scrub_free(sc);
			free(sc);
			free(b.p);
			c->d.verdict = "deny";
			conn_reply(c, 502, REASON_UNSCANNABLE_RESPONSE, NULL, true);
			return;
		}
		c->d.scanned = true;
		if (n == 0) {
			scrub_free(sc);
			free(sc);
		} else {
			x->scrub = sc;
		}
	}
	pending_free(x);
	x->pending = b.p;
	x->pending_len = b.len;
	/* the connection's own upstream, kept from its previous request; or an
	 * idle one this client left to the same place: no new handshake. A
	 * stale one is retried like any reused connection. */
	if (upstream_serves(c, r->host, r->port, r->tls) ||
	    upstream_take_pooled(c, r->host, r->kind, r->port, r->tls, on_upstream_ready)) {
		exchange_begin(c, true);
		return;
	}
	upstream_open(c, r->host, r->kind, r->port, r->tls, on_upstream_ready);
}

void forward_start(struct conn *c)
{
	const struct http_msg *m = &c->req;
	const char *url = m->arena + m->url;
	size_t ulen = m->url_len;
	char host[AL_HOST_BUF];
	char path[AL_PATH_MAX + 1];
	enum host_kind kind;
	uint16_t port;
	const char *query = NULL;

	if (ulen >= 8 && strncasecmp(url, "https://", 8) == 0) {
		conn_reply(c, 400, REASON_HTTPS_NEEDS_CONNECT, NULL, true);
		return;
	}
	if (ulen < 7 || strncasecmp(url, "http://", 7) != 0) {
		conn_reply(c, 400, REASON_NOT_A_PROXY_REQUEST, NULL, true);
		return;
	}
	if (memchr(url, '#', ulen)) {
		conn_reply(c, 400, REASON_BAD_URL, NULL, true);
		return;
	}
	const char *auth = url + 7;
	size_t alen = 0;
	while (7 + alen < ulen && auth[alen] != '/' && auth[alen] != '?')
		alen++;
	if (authority_parse(auth, alen, 80, host, &kind, &port) < 0) {
		deny(c, 403, REASON_BAD_HOST);
		return;
	}
	snprintf(c->d.host, sizeof c->d.host, "%s", host);
	c->d.port = port;
	const char *rest = auth + alen;
	size_t rlen = ulen - 7 - alen;
	if (rlen == 0 || rest[0] == '?') {
		/* "http://h" and "http://h?q" mean the root */
		char tmp[AL_PATH_MAX + 2];
		if (rlen + 1 > AL_PATH_MAX) {
			conn_reply(c, 400, REASON_BAD_PATH, NULL, true);
			return;
		}
		tmp[0] = '/';
		memcpy(tmp + 1, rest, rlen);
		if (path_normalise(tmp, rlen + 1, path, &query) < 0) {
			conn_reply(c, 400, REASON_BAD_PATH, NULL, true);
			return;
		}
		query = rlen ? rest : NULL;
	} else if (path_normalise(rest, rlen, path, &query) < 0) {
		snprintf(c->d.path, sizeof c->d.path, "%.*s", (int)(rlen < AL_LOG_BAD_TARGET_MAX ? rlen : AL_LOG_BAD_TARGET_MAX), rest);
		conn_reply(c, 400, REASON_BAD_PATH, NULL, true);
		return;
	}
	snprintf(c->d.path, sizeof c->d.path, "%s", path);

	const struct policy_rule *rule = NULL;
	enum reason reason = REASON_NO_RULE;
	struct policy_req pr = {
		.host = host, .port = port, .method = c->d.method, .path = path, .now = time_now(),
	};
	enum policy_action a = policy_decide(c->client, &pr, &rule, &reason);
	if (a != POLICY_FORWARD) {
		if (hold_try(c, reason ? reason : REASON_NO_RULE, forward_start))
			return;   /* a person decides; approved, this runs again */
		deny(c, 403, reason ? reason : REASON_NO_RULE);
		return;
	}
	c->d.rule = rule->id;
	if (rule->secret) {
		/* a secret is never sent over plaintext HTTP */
		deny(c, 403, REASON_SECRET_NEEDS_HTTPS);
		return;
	}
	if (!conn_budget_admit(c, rule, true))
		return;
	c->d.verdict = "allow";

	struct fwd_req r = {
		.host = host, .kind = kind, .port = port, .tls = false, .path = path,
		.query = query, .qlen = query ? (size_t)(url + ulen - query) : 0,
		.websocket = reqhead_is_websocket(m), .inj = NULL,
	};
	forward_send(c, &r);
}

/* ---- LLM usage ---- */

void forward_usage_take(struct conn *c)
{
	struct usage *u = &c->x.usage;
	if (u->mode == USAGE_OFF)
		return;
	usage_end(u);
	if (u->seen && !c->d.metered) {
		c->d.metered = true;
		c->d.tokens_in = u->input;
		c->d.tokens_out = u->output;
	}
}

/* ---- the connection's end ---- */

void forward_end(struct conn *c)
{
	pending_free(&c->x);
	scrub_done(c);
	usage_free(&c->x.usage);
}

void forward_free(struct conn *c)
{
	struct exchange *x = &c->x;
	pending_free(x);
	scrub_done(c);
	usage_free(&x->usage);
	if (x->resp_init)
		http_msg_free(&x->resp);
	free(x->out);
}

static int raw_out(void *arg, const char *at, size_t n)
{
	struct conn *c = arg;
	return io_write(c->io, at, n);
}

int forward_scrub_down(struct conn *c, const char *buf, size_t n)
{
	int rc = scrub_feed(c->x.scrub, buf, n, raw_out, c);
	c->d.scrubbed = c->x.scrub->count;
	return rc;
}

int forward_scrub_end(struct conn *c)
{
	int rc = scrub_flush(c->x.scrub, raw_out, c);
	scrub_done(c);
	return rc;
}
