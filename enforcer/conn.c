/* The sandbox connection's state machine: read a request head (head
 * timeout, caps), check it (strictness, TRACE, client identity, per-client
 * cap), then hand it to forward.c (absolute-URI request) or tunnel.c
 * (CONNECT), and come back here for the next request on the same
 * connection. Every refusal is a short text answer; refusals that leave the
 * stream in a known state keep the connection open (407 must: clients retry
 * on the same connection). A connection is pre-auth until its first valid
 * token: it counts in the pre-auth budget and lives on one head deadline. */
#include "config.h"

#include "conn.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/h2.h"
#include "enforcer/hold.h"
#include "enforcer/policy.h"
#include "enforcer/proxyauth.h"
#include "enforcer/socks5io.h"
#include "enforcer/worker.h"

/* unparsed client bytes kept beyond one head (pipelined requests) */
#define CONN_IN_MAX_EXTRA (64 * 1024)
#define CONN_CLOSE_GRACE_MS 2000

static void conn_process(struct conn *c);
static void update_reading(struct conn *c);

static const struct config *cfg_of(const struct conn *c)
{
	return c->w->px->cfg;
}

/* ---- the state ---- */

static const char *const state_names[CS_NSTATES] = {
	[CS_HEAD] = "head",     [CS_WAIT] = "wait",   [CS_BODY] = "body",     [CS_DISCARD] = "discard",
	[CS_TUNNEL] = "tunnel", [CS_DRAIN] = "drain", [CS_CLOSED] = "closed",   [CS_H2] = "h2",
};

/* The diagram of conn.h, row by row: where each state may go. */
#define TO(s) (1u << (s))
#define ENDS (TO(CS_DRAIN) | TO(CS_CLOSED))
static const unsigned moves[CS_NSTATES] = {
	/* HEAD -> HEAD: a CONNECT refused at once (its next request follows) */
	[CS_HEAD] = TO(CS_HEAD) | TO(CS_WAIT) | TO(CS_DISCARD) | TO(CS_H2) | ENDS,
	[CS_WAIT] = TO(CS_HEAD) | TO(CS_BODY) | TO(CS_DISCARD) | TO(CS_TUNNEL) | ENDS,
	[CS_BODY] = TO(CS_HEAD) | TO(CS_TUNNEL) | ENDS,
	[CS_DISCARD] = TO(CS_HEAD) | ENDS,
	[CS_TUNNEL] = ENDS,
	[CS_DRAIN] = TO(CS_CLOSED),
	[CS_CLOSED] = 0,
	[CS_H2] = ENDS,
};

const char *conn_state_name(enum conn_state st)
{
	return (unsigned)st < CS_NSTATES ? state_names[st] : "?";
}

bool conn_move_ok(enum conn_state from, enum conn_state to)
{
	return (unsigned)from < CS_NSTATES && (unsigned)to < CS_NSTATES && (moves[from] & TO(to));
}

void conn_set_state(struct conn *c, enum conn_state to)
{
	if (!conn_move_ok(c->state, to)) {
		log_error("illegal connection state move", KV_S("from", conn_state_name(c->state)),
			  KV_S("to", conn_state_name(to)));
		assert(!"illegal connection state move");
	}
	c->state = to;
}

/* ---- freeing and closing ---- */

static void conn_free_if_done(struct conn *c)
{
	if (--c->handles > 0)
		return;
	budget_release(&c->bh, c->d.bytes_up + c->d.bytes_down, c->d.tokens_in + c->d.tokens_out);
	mitm_free(c);
	client_id_wipe(&c->who);
	upstream_free(c);
	forward_free(c);
	http_msg_free(&c->req);
	if (c->in)
		secure_free(c->in, c->incap);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	conn_free_if_done(h->data);
}

static void on_io_closed(void *arg)
{
	conn_free_if_done(arg);
}

void conn_abort(struct conn *c)
{
	if (c->state == CS_CLOSED)
		return;
	if (c->d.verdict && !c->logged)
		conn_log(c);
	conn_set_state(c, CS_CLOSED);
	hold_cancel(c);
	forward_end(c);
	upstream_release(c);
	mitm_abort(c);
	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	if (c->counted[0]) {
		connlimit_release(c->w->px->per_client, c->counted);
		c->counted[0] = '\0';
	}
	if (c->stream) {
		/* counted nowhere, listed nowhere: its session holds it */
	} else {
		if (c->preauth)
			preauth_release(c->w->px, c->src);
		else
			atomic_fetch_sub(&c->w->px->nconns, 1);
		if (c->prev)
			c->prev->next = c->next;
		else
			c->w->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->next = c->prev = NULL;
	}
	h2_free(c, false);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->up.timer, on_handle_closed);
	io_close(c->io);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->tkind == T_HEAD && c->state != CS_DRAIN) {
		conn_reply(c, 408, REASON_HEAD_TIMEOUT, NULL, false);
		return;
	}
	conn_abort(c);
}

static void timer_arm(struct conn *c, enum timer_kind k, uint64_t ms)
{
	if (c->preauth && (k == T_HEAD || k == T_IDLE)) {
		/* no valid token yet: one deadline from accept, which neither a
		 * new request nor a 407 renews (a peer without a token must not
		 * hold a slot on the keep-alive timer) */
		uint64_t now = uv_now(&c->w->loop);
		k = T_HEAD;
		ms = c->preauth_deadline > now ? c->preauth_deadline - now : 0;
	}
	c->tkind = k;
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void timer_stop(struct conn *c)
{
	c->tkind = T_NONE;
	uv_timer_stop(&c->timer);
}

/* Close gracefully after a last answer: FIN (and a TLS close_notify) goes
 * out behind what is queued, then we keep reading and dropping until the
 * client closes or a grace timer runs out. Closing with unread bytes in the
 * socket would send a RST, which can destroy the answer before the client
 * reads it. */
static void close_after_flush(struct conn *c)
{
	if (conn_ending(c))
		return;
	conn_set_state(c, CS_DRAIN);
	forward_end(c);
	upstream_release(c);
	io_shutdown(c->io);
	io_read_start(c->io);
	c->reading = true;
	timer_arm(c, T_GRACE, CONN_CLOSE_GRACE_MS);
}

void conn_finish(struct conn *c)
{
	close_after_flush(c);
}

/* ---- answers of our own ---- */

static void reply_send(struct conn *c, int status, enum reason reason, const char *extra, const char *ctype,
		       const char *body, size_t blen, bool keep);

void conn_reply(struct conn *c, int status, enum reason reason, const char *extra, bool keep)
{
	char body[256];
	if (conn_ending(c))
		return;
	/* A client that sent "Expect: 100-continue" holds its body back: after a
	 * refusal we cannot tell its next request from a late body, so close. */
	if (keep && c->req.phase == MSG_BODY && (c->req.p.content_length > 0 || http_is_chunked(&c->req))) {
		long e = http_find(&c->req, "expect", 0);
		if (e >= 0 && http_list_has(http_value(&c->req, (size_t)e), c->req.hdrs[e].vlen, "100-continue"))
			keep = false;
	}
	int blen = snprintf(body, sizeof body, "airlock: %s: %s\n", conn_status_text(status), reason_name(reason));
	reply_send(c, status, reason, extra, "text/plain; charset=utf-8", body, (size_t)blen, keep);
}

void conn_reply_body(struct conn *c, int status, enum reason reason, const char *ctype, const char *body,
		     size_t blen, bool keep)
{
	if (conn_ending(c))
		return;
	if (keep && c->req.phase == MSG_BODY && (c->req.p.content_length > 0 || http_is_chunked(&c->req))) {
		long e = http_find(&c->req, "expect", 0);
		if (e >= 0 && http_list_has(http_value(&c->req, (size_t)e), c->req.hdrs[e].vlen, "100-continue"))
			keep = false;
	}
	reply_send(c, status, reason, "Cache-Control: no-store\r\n", ctype, body, blen, keep);
}

static void reply_send(struct conn *c, int status, enum reason reason, const char *extra, const char *ctype,
		       const char *body, size_t blen, bool keep)
{
	char head[1024], req[REQID_LEN + 1];
	bool is_head = c->req.phase != MSG_IDLE && c->req.p.method == HTTP_HEAD;
	int grpc = conn_grpc_code(c, status);
	/* the client half-closed while we decided: this is its last answer */
	if (c->peer_eof)
		keep = false;
	/* the id of this answer's decision line: a sandbox's error is found in the log by it */
	reqid_format(decision_req(&c->d), req);
	int hlen;
	if (grpc >= 0) {
		hlen = snprintf(head, sizeof head,
				"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nGrpc-Status: %d\r\n"
				"Grpc-Message: airlock: %s\r\nContent-Length: 0\r\nX-Airlock-Reason: %s\r\n"
				"X-Airlock-Request-Id: %s\r\n%s%s\r\n",
				grpc, reason_name(reason), reason_name(reason), req, extra ? extra : "", keep ? "" : "Connection: close\r\n");
		blen = 0;
	} else {
		hlen = snprintf(head, sizeof head,
				"HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
				"Content-Length: %zu\r\nX-Airlock-Reason: %s\r\nX-Airlock-Request-Id: %s\r\n%s%s\r\n",
				status, conn_status_text(status), ctype, blen, reason_name(reason), req, extra ? extra : "",
				keep ? "" : "Connection: close\r\n");
	}
	if (hlen < 0 || (size_t)hlen >= sizeof head)
		hlen = 0;
	if (io_write(c->io, head, (size_t)hlen) == 0 && !is_head && blen)
		(void)io_write(c->io, body, blen);
	if (!c->d.verdict)
		c->d.verdict = "deny";
	c->d.status = status;
	c->d.reason = reason;
	c->d.bytes_down += (uint64_t)hlen + (is_head ? 0 : (uint64_t)blen);
	conn_log(c);

	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	if (!keep || c->req.phase == MSG_IDLE || c->req.phase == MSG_HEAD) {
		close_after_flush(c);
		return;
	}
	if (c->req.p.method == HTTP_CONNECT) {
		/* a CONNECT has no body: the next bytes are a new request */
		http_msg_reset(&c->req);
		conn_set_state(c, CS_HEAD);
		timer_arm(c, T_IDLE, cfg_of(c)->idle_timeout_ms);
	} else {
		/* skip the refused request's body, then read the next one */
		conn_set_state(c, CS_DISCARD);
		http_msg_resume(&c->req);
		timer_arm(c, T_IDLE, cfg_of(c)->idle_timeout_ms);
	}
	conn_kick(c);
}

/* ---- one request head ---- */

static void on_request_head(struct conn *c)
{
	const struct config *cfg = cfg_of(c);
	timer_stop(c);
	budget_release(&c->bh, c->d.bytes_up + c->d.bytes_down, c->d.tokens_in + c->d.tokens_out);
	memset(&c->d, 0, sizeof c->d);
	c->hold_done = false;
	c->logged = false;
	c->d.start_ms = (uint64_t)time_mono_ms();
	c->d.scheme = c->req.p.method == HTTP_CONNECT ? "tcp" : "http";
	bytes_copy_str(c->d.method, sizeof c->d.method, http_method_str(&c->req));

	/* The worker's policy of this moment decides this request. */
	if (c->pol)
		policy_unref(c->pol);
	c->pol = policy_ref(c->w->policy);
	c->client = NULL;

	if (c->mitm) {
		/* inside an intercepted tunnel: the client is the CONNECT's */
		conn_set_state(c, CS_WAIT);
		mitm_request(c);
		return;
	}
	if (c->req.p.method == HTTP_TRACE) {
		conn_reply(c, 405, REASON_TRACE_REFUSED, "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT\r\n", true);
		return;
	}

	long ai = http_find(&c->req, "proxy-authorization", 0);
	static const char challenge[] = "Proxy-Authenticate: Basic realm=\"airlock\"\r\n";
	if (ai < 0) {
		conn_reply(c, 407, REASON_PROXY_AUTH_REQUIRED, challenge, true);
		return;
	}
	if (http_find(&c->req, "proxy-authorization", (size_t)ai + 1) >= 0) {
		conn_reply(c, 400, REASON_DUPLICATE_PROXY_AUTHORIZATION, NULL, false);
		return;
	}
	c->client = proxyauth_client(c->pol, http_value(&c->req, (size_t)ai), c->req.hdrs[ai].vlen);
	/* the header's bytes are not needed any more: wipe them from the arena */
	secure_wipe(c->req.arena + c->req.hdrs[ai].val, c->req.hdrs[ai].vlen);
	if (!c->client) {
		conn_reply(c, 407, REASON_PROXY_AUTH_FAILED, challenge, true);
		return;
	}
	snprintf(c->d.client, sizeof c->d.client, "%s", c->client->name);

	if (c->preauth) {
		/* the first valid token: from the pre-auth budget to --max-conns.
		 * Refused, it stays pre-auth until it is closed. */
		struct proxy *px = c->w->px;
		if (atomic_fetch_add(&px->nconns, 1) >= cfg->max_conns) {
			atomic_fetch_sub(&px->nconns, 1);
			conn_reply(c, 503, REASON_TOTAL_CONNECTION_CAP, NULL, false);
			return;
		}
		preauth_release(px, c->src);
		c->preauth = false;
	}
	/* this connection now belongs to this client instance (its token) */
	client_id_set(&c->who, c->client);

	if (strcmp(c->counted, c->client->name) != 0) {
		if (c->counted[0])
			connlimit_release(c->w->px->per_client, c->counted);
		c->counted[0] = '\0';
		if (connlimit_acquire(c->w->px->per_client, c->client->name, cfg->max_conns_per_client) < 0) {
			conn_reply(c, 429, REASON_TOO_MANY_CONNECTIONS, NULL, false);
			return;
		}
		snprintf(c->counted, sizeof c->counted, "%s", c->client->name);
	}

	conn_set_state(c, CS_WAIT);
	if (c->req.p.method == HTTP_CONNECT)
		tunnel_start(c);
	else
		forward_start(c);
}

/* ---- parser callbacks (request) ---- */

static int req_on_head(void *arg)
{
	(void)arg;
	return HPE_PAUSED;   /* decided after llhttp_execute returns */
}

static int req_on_body(void *arg, const char *at, size_t n)
{
	struct conn *c = arg;
	if (c->state != CS_BODY)
		return 0;
	return forward_req_body(c, at, n) < 0 ? HPE_USER : 0;
}

static int req_on_complete(void *arg)
{
	(void)arg;
	return HPE_PAUSED;
}

static const struct http_msg_cb req_cb = {
	.on_head = req_on_head,
	.on_body = req_on_body,   /* chunk boundaries: forward.c re-chunks each body piece */
	.on_complete = req_on_complete,
};

/* ---- the loop over buffered input ---- */

static bool may_parse(const struct conn *c)
{
	switch (c->state) {
	case CS_HEAD:
	case CS_DISCARD:
		return true;
	case CS_BODY:
		return forward_wants_body(c);
	default:
		return false;
	}
}

static void on_parse_error(struct conn *c)
{
	int status = c->req.err_status ? c->req.err_status : 400;
	enum reason reason = c->req.err_reason ? c->req.err_reason : REASON_BAD_REQUEST;
	if (c->state == CS_BODY) {
		/* the head went upstream already: nothing sane to answer */
		c->d.reason = reason;
		conn_abort(c);
		return;
	}
	/* llhttp does not know TRACK; it must still be a 405 */
	if (c->inlen - c->inoff >= 6 && memcmp(c->in + c->inoff, "TRACK ", 6) == 0) {
		status = 405;
		reason = REASON_TRACE_REFUSED;
	}
	if (!c->d.start_ms || c->logged) {
		memset(&c->d, 0, sizeof c->d);
		c->logged = false;
		c->d.start_ms = (uint64_t)time_mono_ms();
	}
	conn_reply(c, status, reason, NULL, false);
}

static void conn_process(struct conn *c)
{
	if (c->in_process)
		return;
	c->in_process = true;
	while (may_parse(c) && c->inoff < c->inlen) {
		size_t used = 0;
		bool was_idle = c->req.phase == MSG_IDLE;
		enum http_feed r = http_msg_feed(&c->req, c->in + c->inoff, c->inlen - c->inoff, &used);
		if (r == HTTP_FEED_ERROR) {
			on_parse_error(c);
			break;
		}
		c->inoff += used;
		if (c->state == CS_BODY)
			c->d.bytes_up += used;
		if (was_idle && c->state == CS_HEAD && c->req.phase != MSG_IDLE)
			timer_arm(c, T_HEAD, cfg_of(c)->head_timeout_ms);
		if (r == HTTP_FEED_MORE)
			break;
		/* paused */
		if (c->req.phase == MSG_BODY && c->state == CS_HEAD) {
			on_request_head(c);
		} else if (c->req.phase == MSG_DONE) {
			if (c->state == CS_DISCARD) {
				conn_set_state(c, CS_HEAD);
				http_msg_resume(&c->req);
			} else if (c->state == CS_BODY) {
				forward_req_done(c);
			}
		} else if (c->req.phase == MSG_IDLE) {
			http_msg_resume(&c->req);    /* after an Upgrade: header */
		}
	}
	/* a message without body completes without input: give it a turn */
	if (may_parse(c) && c->inoff == c->inlen && c->req.phase == MSG_BODY &&
	    (c->state == CS_BODY || c->state == CS_DISCARD)) {
		size_t used;
		if (http_msg_feed(&c->req, "", 0, &used) == HTTP_FEED_PAUSED && c->req.phase == MSG_DONE) {
			if (c->state == CS_DISCARD) {
				conn_set_state(c, CS_HEAD);
				http_msg_resume(&c->req);
			} else {
				forward_req_done(c);
			}
		}
	}
	c->in_process = false;
	if (c->state == CS_CLOSED)
		return;
	if (c->inoff == c->inlen) {
		/* consumed heads carried Proxy-Authorization: do not leave it lying
		 * around; and an idle connection holds no input buffer */
		if (c->in)
			secure_free(c->in, c->incap);
		c->in = NULL;
		c->incap = 0;
		c->inoff = c->inlen = 0;
	} else if (c->inoff > c->incap / 2) {
		secure_wipe(c->in, c->inoff);
		memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
		c->inlen -= c->inoff;
		c->inoff = 0;
	}
	update_reading(c);
}

void conn_kick(struct conn *c)
{
	if (c->state == CS_CLOSED || c->in_process)
		return;
	conn_process(c);
}

static void update_reading(struct conn *c)
{
	/* a tunnel reads as its backpressure says; a draining connection
	 * reads (and drops) until the client's FIN: close_after_flush() */
	if (c->state == CS_TUNNEL || conn_ending(c))
		return;
	if (c->state == CS_H2) {
		/* nghttp2 takes every byte as it comes: its windows and caps
		 * bound what the sandbox may send */
		if (!c->reading)
			io_read_start(c->io);
		c->reading = true;
		return;
	}
	/* While a request is decided or answered, keep reading (into the bounded
	 * buffer, unparsed): a pipelined request waits there, and the socket is
	 * not switched off and on again for every request. Only a congested
	 * upstream stops us reading a body. */
	bool waiting = c->state == CS_WAIT || (c->state == CS_BODY && forward_req_sent(c));
	bool want = (may_parse(c) || waiting) && !c->peer_eof &&
		    c->inlen - c->inoff < cfg_of(c)->max_head_bytes + CONN_IN_MAX_EXTRA;
	if (want && !c->reading)
		io_read_start(c->io);
	else if (!want && c->reading)
		io_read_stop(c->io);
	c->reading = want;
}

void conn_take_input(struct conn *c, const char **buf, size_t *n)
{
	if (c->in)
		secure_wipe(c->in, c->inoff);   /* the CONNECT head and its credentials */
	*buf = c->in + c->inoff;
	*n = c->inlen - c->inoff;
	c->inoff = c->inlen = 0;
}

void conn_exchange_done(struct conn *c, bool keep)
{
	if (conn_ending(c))
		return;
	conn_log(c);
	http_msg_release(&c->req);   /* logged: an idle connection keeps no head */
	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	if (!keep || c->peer_eof) {
		close_after_flush(c);
		return;
	}
	conn_set_state(c, CS_HEAD);
	http_msg_resume(&c->req);
	timer_arm(c, T_IDLE, cfg_of(c)->idle_timeout_ms);
	conn_kick(c);
}

/* ---- client stream events ---- */

static void on_read(void *arg, const char *buf, size_t n)
{
	struct conn *c = arg;
	if (conn_ending(c))
		return;   /* draining: what the client still sends is dropped */
	if (c->state == CS_H2) {
		h2_read(c, buf, n);
		return;
	}
	if (c->state == CS_TUNNEL) {
		tunnel_client_read(c, buf, n);
		return;
	}
	if (!c->sniffed) {
		c->sniffed = true;
		if (!c->tls && socks5io_first_byte((uint8_t)buf[0])) {
			/* SOCKS on the plain listener: socks5io.c turns it into a CONNECT */
			c->socks = true;
			c->io = socks5io_wrap(c->io, c->w);
			socks5io_feed(c->io, buf, n);
			return;
		}
	}
	/* heads carry Proxy-Authorization: growing leaves no copy behind */
	xgrow_secure(&c->in, &c->incap, c->inlen, c->inlen + n, 4096);
	memcpy(c->in + c->inlen, buf, n);
	c->inlen += n;
	conn_process(c);
}

static void on_eof(void *arg)
{
	struct conn *c = arg;
	if (c->state == CS_DRAIN) {
		/* the client is done; what we still queue for it is not lost:
		 * closing now would drop it (a half-closed client reads on) */
		c->peer_eof = true;
		if (io_queued(c->io) == 0)
			conn_abort(c);
		return;
	}
	if (c->state == CS_TUNNEL) {
		tunnel_client_eof(c);
		return;
	}
	if (c->state == CS_H2) {
		/* the sandbox is done sending: whatever its streams still await
		 * could not be asked for again; they end with the connection */
		conn_abort(c);
		return;
	}
	c->reading = false;
	if (c->hold) {
		/* held for a person: a sandbox that hung up will not read the answer */
		conn_abort(c);
		return;
	}
	if (c->state == CS_WAIT || (c->state == CS_BODY && forward_req_sent(c))) {
		c->peer_eof = true;   /* half-closed: answer, then close */
		return;
	}
	conn_abort(c);
}

static void on_error(void *arg, int err)
{
	(void)err;
	conn_abort(arg);
}

static void on_connect(void *arg, int status)
{
	struct conn *c = arg;
	if (c->state != CS_CLOSED && status == 0 && c->mitm)
		mitm_handshake_done(c);
}

static void on_drain(void *arg)
{
	struct conn *c = arg;
	if (c->state == CS_CLOSED)
		return;
	if (c->state == CS_DRAIN) {
		/* waiting for the client's FIN, or, having it, for the queue */
		if (c->peer_eof && io_queued(c->io) == 0)
			conn_abort(c);
		return;
	}
	if (c->state == CS_TUNNEL)
		tunnel_client_drain(c);
	else if (c->state == CS_H2)
		h2_drain(c);
	else if (c->state == CS_BODY)
		forward_client_drain(c);
}

static const struct io_handler client_h = {
	.on_read = on_read,
	.on_eof = on_eof,
	.on_error = on_error,
	.on_drain = on_drain,
	.on_closed = on_io_closed,
	.on_connect = on_connect,
};

void conn_set_io(struct conn *c, struct io *io)
{
	c->io = io;
	io_set_handler(io, &client_h, c);
	http_msg_reset(&c->req);
	conn_set_state(c, CS_HEAD);
	c->reading = false;
	c->peer_eof = false;
	/* the handshake and the first inner head share one deadline */
	timer_arm(c, T_HEAD, cfg_of(c)->head_timeout_ms);
	update_reading(c);
}

void conn_revoke(struct conn *c, enum reason why)
{
	if (c->state == CS_CLOSED)
		return;
	log_info("connection closed", KV_S("client", c->who.name), KV_S("reason", reason_name(why)),
		 KV_S("src", c->src[0] ? c->src : NULL));
	/* a request or tunnel under way: its decision line says why it ended */
	if (c->d.verdict && !c->logged)
		c->d.reason = why;
	/* opened for an instance that is gone: closed, never parked */
	upstream_close(c);
	h2_free(c, true);
	conn_abort(c);
}

void conn_h2_idle(struct conn *c, bool idle)
{
	if (idle && c->tkind != T_IDLE)
		timer_arm(c, T_IDLE, cfg_of(c)->idle_timeout_ms);
	else if (!idle && c->tkind != T_NONE)
		timer_stop(c);
}

struct conn *conn_new_stream(struct conn *parent, struct io *io)
{
	struct worker *w = parent->w;
	const struct config *cfg = w->px->cfg;
	struct conn *c = xcalloc(1, sizeof *c);
	c->w = w;
	c->io = io;
	c->tls = true;
	c->stream = true;
	c->socks = parent->socks;   /* the decision line says how it came: via=socks5 wins over h2 */
	c->who = parent->who;
	snprintf(c->src, sizeof c->src, "%s", parent->src);
	snprintf(c->peer, sizeof c->peer, "%s", parent->peer);
	c->state = CS_HEAD;
	http_msg_init(&c->req, true, cfg->max_head_bytes, cfg->max_headers, &req_cb, c);
	uv_timer_init(&w->loop, &c->timer);
	c->timer.data = c;
	upstream_init(c);
	c->handles = 3;   /* timer, upstream timer, io */
	mitm_share(c, parent);
	io_set_handler(io, &client_h, c);
	timer_arm(c, T_HEAD, cfg->head_timeout_ms);
	update_reading(c);
	return c;
}

void conn_new(struct worker *w, struct io *io, bool tls, const char *src, const char *peer)
{
	const struct config *cfg = w->px->cfg;
	struct conn *c = xcalloc(1, sizeof *c);
	c->w = w;
	c->io = io;
	c->tls = tls;
	c->preauth = true;
	c->preauth_deadline = uv_now(&w->loop) + cfg->head_timeout_ms;
	snprintf(c->src, sizeof c->src, "%s", src);
	snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
	c->state = CS_HEAD;
	http_msg_init(&c->req, true, cfg->max_head_bytes, cfg->max_headers, &req_cb, c);
	uv_timer_init(&w->loop, &c->timer);
	c->timer.data = c;
	upstream_init(c);
	c->handles = 3;   /* timer, upstream timer, io */
	io_set_handler(io, &client_h, c);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	timer_arm(c, T_HEAD, cfg->head_timeout_ms);
	update_reading(c);
}
