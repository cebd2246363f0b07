/* The request/response pump, shared by plain-HTTP forwarding of
 * absolute-URI requests (forward_start: canonical host, normalised path,
 * first-match decision) and the inner requests of an intercepted tunnel
 * (mitm.c): forward_send writes the origin-form head without hop-by-hop
 * headers (and with the injected credential headers in place of the
 * sandbox's), over a kept upstream connection to the same target or a new
 * one (resolution through the deny set: only the addresses it returns are
 * dialled; TLS verified when intercepting), then bodies stream both ways as
 * llhttp framed them (re-chunked by us when chunked), with backpressure on
 * both sides and keep-alive both sides; a 101 to an allowed WebSocket
 * upgrade turns the connection into a splice. Also the upstream connection
 * itself (upstream_open / upstream_close), which tunnel.c shares. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/uppool.h"
#include "enforcer/ipc_client.h"
#include "enforcer/policy.h"
#include "enforcer/reqhead.h"
#include "enforcer/resphead.h"
#include "enforcer/tlsconf.h"
#include "enforcer/tlsio.h"
#include "enforcer/worker.h"

/* Upstream response heads: origins send more than sandboxes do (cookies). */
#define RESP_HEAD_MAX (256 * 1024)
#define RESP_HEADERS_MAX 500

static const struct config *cfg_of(const struct conn *c)
{
	return c->w->px->cfg;
}

/* ---- the upstream connection ---- */

enum { UT_NONE, UT_CONNECT, UT_IDLE };

static void up_on_read(void *arg, const char *buf, size_t n);
static void up_on_eof(void *arg);
static void up_on_error(void *arg, int err);
static void up_on_drain(void *arg);
static void up_on_connect(void *arg, int status);

static const struct io_handler up_h = {
	.on_read = up_on_read,
	.on_eof = up_on_eof,
	.on_error = up_on_error,
	.on_drain = up_on_drain,
	.on_connect = up_on_connect,
};

static void up_timer_arm(struct conn *c, int mode, uint64_t ms);

void upstream_close(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->rr) {
		resolve_cancel(u->rr);
		u->rr = NULL;
	}
	if (u->io) {
		io_set_handler(u->io, &up_h, NULL);
		io_close(u->io);
		u->io = NULL;
	}
	u->connected = false;
	u->idle_keep = false;
	u->tls_handshaking = false;
	u->resume_stored = false;
	u->paused = false;
	if (u->pending)
		secure_free(u->pending, u->pending_len);   /* may carry an injected credential */
	u->pending = NULL;
	u->pending_len = 0;
	u->timer_mode = UT_NONE;
	if (!uv_is_closing((uv_handle_t *)&c->up_timer))
		uv_timer_stop(&c->up_timer);
}

void upstream_release(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->io && u->connected && u->idle_keep && !u->pending && client_id_is_set(&u->client) && !c->w->stopping) {
		struct io *io = u->io;
		u->io = NULL;
		uppool_put(c->w->pool, io, &u->client, u->host, u->port, u->tls);
	}
	upstream_close(c);
}

bool upstream_take_pooled(struct conn *c, const struct client_id *client, const char *host,
			  enum host_kind kind, uint16_t port, bool tls, void (*done)(struct conn *c, int status, const char *reason))
{
	struct upstream *u = &c->up;
	u->client = *client;
	struct io *io = client_id_is_set(client) ? uppool_take(c->w->pool, client, host, port, tls) : NULL;
	if (!io)
		return false;
	if (u->host != host)
		snprintf(u->host, sizeof u->host, "%s", host);
	u->port = port;
	u->kind = kind;
	u->tls = tls;
	u->done = done;
	u->io = io;
	io_set_handler(io, &up_h, c);
	u->connected = true;
	u->resume_stored = true;
	return true;
}

static void try_connect(struct conn *c)
{
	struct upstream *u = &c->up;
	while (u->next < u->naddrs) {
		const struct sockaddr *sa = (const struct sockaddr *)&u->addrs[u->next++];
		if (io_tcp_connect(&c->w->loop, sa, &up_h, c, &u->io) == 0) {
			up_timer_arm(c, UT_CONNECT, cfg_of(c)->connect_timeout_ms);
			return;
		}
		u->io = NULL;
	}
	u->done(c, AL_EUNAVAIL, "upstream-connect-failed");
}

static void on_resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t naddrs,
			const char *reason)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	u->rr = NULL;
	if (c->closing)
		return;
	if (status < 0 || naddrs == 0) {
		u->done(c, status < 0 ? status : AL_ENOTFOUND, reason ? reason : "dns-failure");
		return;
	}
	if (naddrs > RESOLVE_ADDRS_MAX)
		naddrs = RESOLVE_ADDRS_MAX;
	memcpy(u->addrs, addrs, naddrs * sizeof *addrs);
	u->naddrs = naddrs;
	u->next = 0;
	try_connect(c);
}

void upstream_open(struct conn *c, const char *host, enum host_kind kind, uint16_t port,
		   void (*done)(struct conn *c, int status, const char *reason))
{
	struct upstream *u = &c->up;
	char *pending = u->pending;
	size_t plen = u->pending_len;
	u->pending = NULL;
	upstream_close(c);
	u->pending = pending;
	u->pending_len = plen;
	if (u->host != host)
		snprintf(u->host, sizeof u->host, "%s", host);
	u->port = port;
	u->kind = kind;
	u->done = done;
	if (resolve_start(c->w->px->resolver, &c->w->loop, host, kind, port, on_resolved, c, &u->rr) < 0) {
		u->rr = NULL;
		done(c, AL_ENOTFOUND, "dns-failure");
	}
}

static void up_on_connect(void *arg, int status)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	if (!c || c->closing)
		return;
	uv_timer_stop(&c->up_timer);
	u->timer_mode = UT_NONE;
	if (status < 0) {
		io_set_handler(u->io, &up_h, NULL);
		io_close(u->io);
		u->io = NULL;
		try_connect(c);
		return;
	}
	if (u->tls && !u->tls_handshaking) {
		/* TCP is up: now our own verified TLS session to the origin */
		struct proxy *px = c->w->px;
		struct io *tio;
		u->tls_handshaking = true;
		if (tlsio_client(u->io, px->up_cred, u->host, px->resume, u->port, &tio) < 0) {
			u->io = NULL;   /* closed by tlsio_client */
			u->tls_handshaking = false;
			u->done(c, AL_ECRYPTO, "upstream-tls-failed");
			return;
		}
		u->io = tio;
		io_set_handler(tio, &up_h, c);
		up_timer_arm(c, UT_CONNECT, cfg_of(c)->connect_timeout_ms);
		return;
	}
	u->tls_handshaking = false;
	u->connected = true;
	u->done(c, 0, NULL);
}

/* The TLS handshake with the origin failed (certificate, protocol, EOF). */
static bool up_handshake_failed(struct conn *c)
{
	struct upstream *u = &c->up;
	if (!u->tls_handshaking || u->connected)
		return false;
	io_set_handler(u->io, &up_h, NULL);
	io_close(u->io);
	u->io = NULL;
	u->tls_handshaking = false;
	uv_timer_stop(&c->up_timer);
	u->timer_mode = UT_NONE;
	u->done(c, AL_ECRYPTO, "upstream-tls-failed");
	return true;
}

static void on_up_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	struct upstream *u = &c->up;
	if (c->closing)
		return;
	int mode = u->timer_mode;
	u->timer_mode = UT_NONE;
	if (mode == UT_CONNECT) {
		upstream_close(c);
		u->done(c, AL_ETIMEOUT, "upstream-timeout");
	} else if (mode == UT_IDLE) {
		if (c->state == CS_BODY && !u->resp_started) {
			c->d.reason = "upstream-timeout";
			conn_reply(c, 504, "upstream-timeout", NULL, false);
		} else if (c->state == CS_BODY) {
			c->d.reason = "upstream-timeout";
			conn_abort(c);
		} else {
			upstream_close(c);   /* idle keep-alive upstream */
		}
	}
}

static void up_timer_arm(struct conn *c, int mode, uint64_t ms)
{
	c->up.timer_mode = mode;
	uv_timer_start(&c->up_timer, on_up_timer, ms, 0);
}

/* ---- response from upstream ---- */

/* While one upstream read is parsed, what goes to the client is gathered
 * and written once: a small response (head + body) leaves in one segment. */
#define BATCH_MAX (64 * 1024)

static int flush_out(struct conn *c)
{
	struct upstream *u = &c->up;
	int rc = 0;
	if (u->outlen) {
		rc = io_write(c->io, u->out, u->outlen);
		u->outlen = 0;
	}
	if (rc == 0 && io_queued(c->io) > IO_HIGH_WATER && u->io && !u->paused) {
		io_read_stop(u->io);
		u->paused = true;
	}
	return rc;
}

static int client_write(struct conn *c, const void *buf, size_t n)
{
	struct upstream *u = &c->up;
	c->d.bytes_down += n;
	if (!u->batching)
		return io_write(c->io, buf, n) == 0 ? flush_out(c) : AL_EIO;
	if (u->outlen + n > BATCH_MAX && flush_out(c) < 0)
		return AL_EIO;
	if (n > BATCH_MAX)
		return io_write(c->io, buf, n);
	xgrow(&u->out, &u->outcap, u->outlen + n, 4096);
	memcpy(u->out + u->outlen, buf, n);
	u->outlen += n;
	return 0;
}

static int resp_on_head(void *arg)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	struct http_msg *m = &u->resp;
	int status = m->p.status_code;
	struct sbuf b = { 0 };
	char line[64];

	if (status == 101) {
		/* only after a WebSocket upgrade we forwarded; the head passes whole
		 * (Upgrade, Connection, Sec-WebSocket-*: extensions stay end to end) */
		if (!u->ws)
			return -1;
		snprintf(line, sizeof line, "HTTP/1.1 101 ");
		sbuf_str(&b, line);
		sbuf_add(&b, m->arena + m->reason, m->reason_len);
		sbuf_add(&b, "\r\n", 2);
		for (size_t i = 0; i < m->nhdrs; i++)
			if ((!http_is_hop(m, i) && !http_is_framing(m, i)) || http_name_is(m, i, "upgrade") ||
			    http_name_is(m, i, "connection"))
				sbuf_header(&b, m, i);
		sbuf_add(&b, "\r\n", 2);
		u->resp_started = true;
		secure_free(u->pending, u->pending_len);
		u->pending = NULL;
		u->pending_len = 0;
		c->d.status = 101;
		int wrc = client_write(c, b.p, b.len);
		free(b.p);
		return wrc < 0 ? -1 : 2;   /* no body; the upgrade follows */
	}
	struct resp_ctx ctx = {
		.head_req = u->head_req,
		.client10 = c->req.p.http_major == 1 && c->req.p.http_minor == 0,
		.client_keep = u->client_keep,
	};
	struct resp_plan plan;
	if (resphead_build(&b, m, &ctx, &plan) < 0) {
		free(b.p);
		return -1;   /* a 1xx announcing a body: 502 */
	}
	if (status == 401 && c->mitm && c->d.inject) {
		broker_note_upstream_401(c->w, c->d.inject, c->d.host);
		if (u->oauth) {
			/* the sandbox must never see a 401 for an OAuth credential
			 * airlock holds: its CLI would wipe or refresh its stub */
			u->swap_401 = true;
			free(b.p);
			return -1;
		}
	}
	if (plan.interim) {
		int rc = plan.drop ? 0 : client_write(c, b.p, b.len);
		free(b.p);
		return rc < 0 ? -1 : 1;   /* never a body: the real answer follows */
	}
	u->resp_started = true;
	secure_free(u->pending, u->pending_len);
	u->pending = NULL;
	u->pending_len = 0;
	c->d.status = status;
	u->resp_chunked_out = plan.chunked_out;
	u->resp_eof_delim = plan.eof_delim;
	u->close_after = u->close_after || plan.close_after;
	int rc = client_write(c, b.p, b.len);
	free(b.p);
	if (rc < 0)
		return -1;
	return plan.no_body ? 1 : 0;
}

static int resp_on_body(void *arg, const char *at, size_t n)
{
	struct conn *c = arg;
	if (n == 0)
		return 0;
	if (c->up.resp_chunked_out) {
		char hx[CHUNK_HEAD_MAX];
		if (client_write(c, hx, chunk_head(hx, n)) < 0 || client_write(c, at, n) < 0 ||
		    client_write(c, CHUNK_TAIL, 2) < 0)
			return HPE_USER;
		return 0;
	}
	return client_write(c, at, n) < 0 ? HPE_USER : 0;
}

static int resp_on_complete(void *arg)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	int status = u->resp.p.status_code;
	if (status == 101) {
		u->resp_done = true;
		u->upgraded = true;
		return HPE_PAUSED;
	}
	if (status >= 100 && status < 200)
		return 0;   /* an interim answer: the real one follows */
	u->resp_done = true;
	if (u->resp_chunked_out && client_write(c, CHUNK_LAST, sizeof CHUNK_LAST - 1) < 0)
		return HPE_USER;
	return HPE_PAUSED;
}

static const struct http_msg_cb resp_cb = {
	.on_head = resp_on_head,
	.on_body = resp_on_body,
	.on_complete = resp_on_complete,
};

/* The response is complete: reuse or drop the upstream, then next request. */
static void exchange_finish(struct conn *c, bool stray_bytes)
{
	struct upstream *u = &c->up;
	/* a request body still on its way: that upstream is mid-message */
	bool up_keep = !stray_bytes && !u->resp_eof_delim && u->req_done && http_keep_alive(&u->resp);
	uv_timer_stop(&c->up_timer);
	u->timer_mode = UT_NONE;
	if (!up_keep) {
		upstream_close(c);
	} else {
		http_msg_resume(&u->resp);
		if (u->paused) {
			io_read_start(u->io);
			u->paused = false;
		}
		/* keep it for the next request to the same host; it closes when idle */
		u->idle_keep = true;
		up_timer_arm(c, UT_IDLE, cfg_of(c)->idle_timeout_ms);
	}
	/* everything gathered has been written: an idle connection keeps no
	 * batch buffer and no response head */
	free(u->out);
	u->out = NULL;
	u->outcap = u->outlen = 0;
	http_msg_release(&u->resp);
	c->d.verdict = c->d.verdict ? c->d.verdict : "allow";
	if (!u->req_done)
		u->close_after = true;   /* the request body is still coming: cannot reuse */
	conn_exchange_done(c, !u->close_after);
}

static void up_on_read(void *arg, const char *buf, size_t n)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	if (!c || c->closing)
		return;
	if (c->state == CS_TUNNEL) {
		tunnel_up_read(c, buf, n);
		return;
	}
	if (c->state != CS_BODY || u->resp_done) {
		upstream_close(c);   /* bytes nobody asked for */
		return;
	}
	if (u->tls && !u->resume_stored) {
		/* TLS 1.3 tickets come after the handshake: keep one for the next connection */
		tlsconf_resume_store(c->w->px->resume, tlsio_session(u->io), u->host, u->port);
		u->resume_stored = true;
	}
	up_timer_arm(c, UT_IDLE, cfg_of(c)->upstream_idle_timeout_ms);
	size_t off = 0;
	enum { GO_ON, BAD, FINISH } next = GO_ON;
	u->batching = true;
	while (off < n) {
		size_t used = 0;
		enum http_feed r = http_msg_feed(&u->resp, buf + off, n - off, &used);
		if (r == HTTP_FEED_ERROR) {
			next = BAD;
			break;
		}
		off += used;
		if (r == HTTP_FEED_MORE)
			break;
		if (u->resp.phase == MSG_DONE && u->resp_done) {
			next = FINISH;
			break;
		}
		if (u->resp.phase == MSG_IDLE)
			http_msg_resume(&u->resp);
	}
	u->batching = false;
	if (flush_out(c) < 0) {
		conn_abort(c);
		return;
	}
	if (next == BAD && u->swap_401) {
		c->d.verdict = "deny";
		conn_reply(c, 503, "credential-refreshing", "Retry-After: 1\r\n", false);
	} else if (next == BAD) {
		c->d.reason = "bad-upstream-response";
		if (!u->resp_started)
			conn_reply(c, 502, "bad-upstream-response", NULL, false);
		else
			conn_abort(c);
	} else if (next == FINISH && u->upgraded) {
		uv_timer_stop(&c->up_timer);
		u->timer_mode = UT_NONE;
		tunnel_splice(c, buf + off, n - off);
	} else if (next == FINISH) {
		exchange_finish(c, off < n);
	}
}

static void on_retry_ready(struct conn *c, int status, const char *reason)
{
	struct upstream *u = &c->up;
	if (c->closing)
		return;
	if (status < 0) {
		c->d.reason = status == AL_ETIMEOUT ? "upstream-timeout" : reason ? reason : "upstream-connect-failed";
		conn_reply(c, status == AL_ETIMEOUT ? 504 : 502, c->d.reason, NULL, false);
		return;
	}
	http_msg_reset(&u->resp);
	int rc = io_write(u->io, u->pending, u->pending_len);
	secure_free(u->pending, u->pending_len);
	u->pending = NULL;
	u->pending_len = 0;
	if (rc < 0) {
		conn_reply(c, 502, "upstream-error", NULL, false);
		return;
	}
	io_read_start(u->io);
	up_timer_arm(c, UT_IDLE, cfg_of(c)->upstream_idle_timeout_ms);
}

static void up_fail(struct conn *c, const char *reason)
{
	struct upstream *u = &c->up;
	if (c->state == CS_BODY && !u->resp_started && u->reused && !u->retried && u->bodyless && u->pending &&
	    u->req_done) {
		/* The kept-alive upstream was closed by the origin as we reused it:
		 * a request without a body is sent once more on a fresh connection
		 * (to an address the resolver checks again). */
		char host[AL_HOST_BUF];
		char *p = u->pending;
		size_t plen = u->pending_len;
		snprintf(host, sizeof host, "%s", u->host);
		u->pending = NULL;
		upstream_close(c);
		u->pending = p;
		u->pending_len = plen;
		u->retried = true;
		upstream_open(c, host, u->kind, u->port, on_retry_ready);
		return;
	}
	if (c->state == CS_BODY && !u->resp_started) {
		c->d.reason = reason;
		conn_reply(c, 502, reason, NULL, false);
	} else if (c->state == CS_BODY && !u->resp_done) {
		c->d.reason = reason;
		conn_abort(c);
	} else {
		upstream_close(c);
	}
}

static void up_on_eof(void *arg)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	if (!c || c->closing || up_handshake_failed(c))
		return;
	if (c->state == CS_TUNNEL) {
		tunnel_up_eof(c);
		return;
	}
	if (c->state == CS_BODY && u->resp_started && !u->resp_done) {
		if (http_msg_finish(&u->resp) && u->resp_done) {
			exchange_finish(c, true);
			return;
		}
		c->d.reason = "upstream-closed";
		conn_abort(c);
		return;
	}
	up_fail(c, "upstream-closed");
}

static void up_on_error(void *arg, int err)
{
	struct conn *c = arg;
	(void)err;
	if (!c || c->closing || up_handshake_failed(c))
		return;
	if (c->state == CS_TUNNEL) {
		conn_abort(c);
		return;
	}
	up_fail(c, "upstream-error");
}

static void up_on_drain(void *arg)
{
	struct conn *c = arg;
	if (!c || c->closing)
		return;
	if (c->state == CS_TUNNEL)
		tunnel_up_drain(c);
	else
		conn_kick(c);
}

void forward_client_drain(struct conn *c)
{
	if (c->up.io && c->up.paused && io_queued(c->io) < IO_LOW_WATER) {
		io_read_start(c->up.io);
		c->up.paused = false;
	}
}

bool forward_congested(const struct conn *c)
{
	return c->up.io && io_queued(c->up.io) > IO_HIGH_WATER;
}

/* ---- request body to upstream ---- */

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
	if (c->up.req_chunked) {
		char hx[CHUNK_HEAD_MAX];
		if (up_write(c, hx, chunk_head(hx, n)) < 0 || up_write(c, at, n) < 0 || up_write(c, CHUNK_TAIL, 2) < 0)
			return AL_EIO;
		return 0;
	}
	return up_write(c, at, n);
}

int forward_req_chunk(struct conn *c, uint64_t size)
{
	(void)c;
	(void)size;
	return 0;   /* we re-chunk per body piece */
}

int forward_req_chunk_done(struct conn *c)
{
	(void)c;
	return 0;
}

void forward_req_done(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->req_done)
		return;
	u->req_done = true;
	if (u->req_chunked && up_write(c, CHUNK_LAST, sizeof CHUNK_LAST - 1) < 0) {
		conn_abort(c);
		return;
	}
	if (u->resp_done)
		conn_exchange_done(c, false);
}

/* ---- the request ---- */

static void exchange_begin(struct conn *c, bool reused)
{
	struct upstream *u = &c->up;
	u->reused = reused;
	u->retried = false;
	u->idle_keep = false;
	/* only idempotent methods without a body may be replayed (RFC 9110 9.2.2) */
	uint8_t mth = c->req.p.method;
	u->bodyless = !http_is_chunked(&c->req) && c->req.p.content_length == 0 &&
		      (mth == HTTP_GET || mth == HTTP_HEAD || mth == HTTP_OPTIONS || mth == HTTP_DELETE ||
		       mth == HTTP_PUT);
	u->req_chunked = http_is_chunked(&c->req);
	u->req_done = false;
	u->resp_started = u->resp_done = u->resp_chunked_out = u->resp_eof_delim = false;
	u->close_after = false;
	u->upgraded = false;
	u->swap_401 = false;
	u->head_req = c->req.p.method == HTTP_HEAD;
	u->client_keep = http_keep_alive(&c->req);
	if (!u->resp_init) {
		http_msg_init(&u->resp, false, RESP_HEAD_MAX, RESP_HEADERS_MAX, &resp_cb, c);
		u->resp_init = true;
	} else {
		http_msg_reset(&u->resp);
	}
	int rc = io_write(u->io, u->pending, u->pending_len);
	c->d.bytes_up += u->pending_len;
	if (!(reused && u->bodyless)) {
		secure_free(u->pending, u->pending_len);   /* kept only while a retry may need it; wiped: it may carry an injected credential */
		u->pending = NULL;
		u->pending_len = 0;
	}
	c->state = CS_BODY;
	if (rc < 0) {
		http_msg_resume(&c->req);
		conn_kick(c);
		up_fail(c, "upstream-error");
		return;
	}
	io_read_start(u->io);
	up_timer_arm(c, UT_IDLE, cfg_of(c)->upstream_idle_timeout_ms);
	http_msg_resume(&c->req);
	conn_kick(c);
}

static void on_upstream_ready(struct conn *c, int status, const char *reason)
{
	if (c->closing)
		return;
	if (status == 0) {
		exchange_begin(c, false);
		return;
	}
	if (status == AL_EDENIED) {
		c->d.verdict = cfg_of(c)->mode == MODE_AUDIT ? "audit" : "deny";
		conn_reply(c, 403, "denied-address", NULL, true);
	} else if (status == AL_ETIMEOUT) {
		conn_reply(c, 504, "upstream-timeout", NULL, true);
	} else if (status == AL_ENOTFOUND) {
		conn_reply(c, 502, "dns-failure", NULL, true);
	} else {
		conn_reply(c, 502, reason ? reason : "upstream-connect-failed", NULL, true);
	}
}

static void deny(struct conn *c, int status, const char *reason)
{
	c->d.verdict = cfg_of(c)->mode == MODE_AUDIT ? "audit" : "deny";
	conn_reply(c, status, reason, NULL, true);
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
		conn_reply(c, 400, "https-needs-connect", NULL, true);
		return;
	}
	if (ulen < 7 || strncasecmp(url, "http://", 7) != 0) {
		conn_reply(c, 400, "not-a-proxy-request", NULL, true);
		return;
	}
	if (memchr(url, '#', ulen)) {
		conn_reply(c, 400, "bad-url", NULL, true);
		return;
	}
	const char *auth = url + 7;
	size_t alen = 0;
	while (7 + alen < ulen && auth[alen] != '/' && auth[alen] != '?')
		alen++;
	if (authority_parse(auth, alen, 80, host, &kind, &port) < 0) {
		deny(c, 403, "bad-host");
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
			conn_reply(c, 400, "bad-path", NULL, true);
			return;
		}
		tmp[0] = '/';
		memcpy(tmp + 1, rest, rlen);
		if (path_normalise(tmp, rlen + 1, path, &query) < 0) {
			conn_reply(c, 400, "bad-path", NULL, true);
			return;
		}
		query = rlen ? rest : NULL;
	} else if (path_normalise(rest, rlen, path, &query) < 0) {
		snprintf(c->d.path, sizeof c->d.path, "%.*s", (int)(rlen < 200 ? rlen : 200), rest);
		conn_reply(c, 400, "bad-path", NULL, true);
		return;
	}
	snprintf(c->d.path, sizeof c->d.path, "%s", path);

	const struct policy_rule *rule = NULL;
	const char *reason = "no-rule";
	struct policy_req pr = {
		.host = host, .port = port, .method = c->d.method, .path = path, .now = time_now(),
	};
	enum policy_action a = policy_decide(c->client, &pr, &rule, &reason);
	if (a != POLICY_FORWARD) {
		deny(c, 403, reason ? reason : "no-rule");
		return;
	}
	c->d.rule = rule->id;
	if (rule->secret) {
		/* a secret is never sent over plaintext HTTP */
		deny(c, 403, "secret-needs-https");
		return;
	}
	c->d.verdict = "allow";

	struct fwd_req r = {
		.host = host, .kind = kind, .port = port, .tls = false, .path = path,
		.query = query, .qlen = query ? (size_t)(url + ulen - query) : 0,
		.websocket = reqhead_is_websocket(m), .inj = NULL,
	};
	forward_send(c, &r);
}

void forward_send(struct conn *c, const struct fwd_req *r)
{
	struct sbuf b = { 0 };
	reqhead_build(&b, &c->req, c->d.method, r);

	struct upstream *u = &c->up;
	u->ws = r->websocket;
	u->oauth = r->inj && r->inj->oauth;
	if (u->io && u->connected && strcmp(u->host, r->host) == 0 && u->port == r->port && u->tls == r->tls &&
	    client_id_eq(&u->client, &c->who)) {
		if (u->pending)
			secure_free(u->pending, u->pending_len);
		u->pending = b.p;
		u->pending_len = b.len;
		exchange_begin(c, true);
		return;
	}
	upstream_close(c);
	u->tls = r->tls;
	u->pending = b.p;
	u->pending_len = b.len;
	/* an idle connection this client left to the same place: no new
	 * handshake; a stale one is retried like any reused connection */
	if (upstream_take_pooled(c, &c->who, r->host, r->kind, r->port, r->tls, on_upstream_ready)) {
		exchange_begin(c, true);
		return;
	}
	upstream_open(c, r->host, r->kind, r->port, on_upstream_ready);
}
