/* The upstream connection's lifecycle (upstream.h): resolve, connect one
 * address after the other, our TLS to the origin, the pool, the timer, and
 * the events of its byte stream, handed on by phase. What an HTTP exchange
 * does with the bytes is forward.c's; what a splice does, tunnel.c's.
 *
 * The connection `c` handed to every callback here is live: its upstream io
 * is closed, its resolution cancelled and its timer stopped before the
 * connection ends (upstream_release), and an io makes no callback after
 * io_close() (io.h). */
#include "config.h"

#include "enforcer/upstream.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "enforcer/conn.h"
#include "enforcer/h2up.h"
#include "enforcer/tlsconf.h"
#include "enforcer/tlsio.h"
#include "enforcer/uppool.h"
#include "enforcer/worker.h"

static const struct config *cfg_of(const struct conn *c)
{
	return c->w->px->cfg;
}

/* ---- the phase ---- */

static const char *const phase_names[UP_NPHASES] = {
	[UP_NONE] = "none",         [UP_RESOLVING] = "resolving", [UP_CONNECTING] = "connecting",
	[UP_TLS] = "tls",           [UP_READY] = "ready",         [UP_REQUEST] = "request",
	[UP_RESPONSE] = "response", [UP_DONE] = "done",           [UP_IDLE] = "idle",
	[UP_SPLICE] = "splice",
};

/* The diagram of upstream.h, row by row: where each phase may go. Every
 * phase may close (NONE); NONE to NONE is closing what is already closed. */
#define TO(p) (1u << (p))
static const unsigned moves[UP_NPHASES] = {
	[UP_NONE] = TO(UP_NONE) | TO(UP_RESOLVING) | TO(UP_READY),
	[UP_RESOLVING] = TO(UP_NONE) | TO(UP_CONNECTING),
	[UP_CONNECTING] = TO(UP_NONE) | TO(UP_CONNECTING) | TO(UP_TLS) | TO(UP_READY),
	[UP_TLS] = TO(UP_NONE) | TO(UP_READY),
	[UP_READY] = TO(UP_NONE) | TO(UP_REQUEST) | TO(UP_SPLICE) | TO(UP_IDLE),
	[UP_REQUEST] = TO(UP_NONE) | TO(UP_RESPONSE),
	[UP_RESPONSE] = TO(UP_NONE) | TO(UP_DONE),
	[UP_DONE] = TO(UP_NONE) | TO(UP_IDLE) | TO(UP_SPLICE),
	[UP_IDLE] = TO(UP_NONE) | TO(UP_REQUEST),
	[UP_SPLICE] = TO(UP_NONE),
};

const char *upstream_phase_name(enum up_phase p)
{
	return (unsigned)p < UP_NPHASES ? phase_names[p] : "?";
}

bool upstream_move_ok(enum up_phase from, enum up_phase to)
{
	return (unsigned)from < UP_NPHASES && (unsigned)to < UP_NPHASES && (moves[from] & TO(to));
}

static void on_timer(uv_timer_t *t);

void upstream_set_phase(struct conn *c, enum up_phase to)
{
	struct upstream *u = &c->up;
	uint64_t ms;
	if (!upstream_move_ok(u->phase, to)) {
		log_error("illegal upstream phase move", KV_S("from", upstream_phase_name(u->phase)),
			  KV_S("to", upstream_phase_name(to)));
		assert(!"illegal upstream phase move");
	}
	u->phase = to;
	switch (to) {
	case UP_CONNECTING:
	case UP_TLS:
		ms = cfg_of(c)->connect_timeout_ms;
		break;
	case UP_REQUEST:
		ms = cfg_of(c)->upstream_idle_timeout_ms;
		break;
	case UP_RESPONSE:
		return;   /* the read that brought the head has re-armed it */
	case UP_IDLE:
		ms = cfg_of(c)->idle_timeout_ms;
		break;
	default:
		if (!uv_is_closing((uv_handle_t *)&u->timer))
			uv_timer_stop(&u->timer);
		return;
	}
	uv_timer_start(&u->timer, on_timer, ms, 0);
}

int upstream_fail_status(int status, enum reason *reason)
{
	switch (status) {
	case AL_EDENIED:
		*reason = REASON_DENIED_ADDRESS;
		return 403;
	case AL_ETIMEOUT:
		*reason = REASON_UPSTREAM_TIMEOUT;
		return 504;
	case AL_ENOTFOUND:
		*reason = REASON_DNS_FAILURE;
		return 502;
	default:
		if (!*reason)
			*reason = REASON_UPSTREAM_CONNECT_FAILED;
		return 502;
	}
}

/* ---- the byte stream's events, by phase ---- */

static void try_connect(struct conn *c);
static void on_up_connect(void *arg, int status);

/* The TLS handshake with the origin failed (certificate, protocol, EOF). */
static void handshake_failed(struct conn *c)
{
	struct upstream *u = &c->up;
	io_close(u->io);
	u->io = NULL;
	upstream_set_phase(c, UP_NONE);
	u->done(c, AL_ECRYPTO, REASON_UPSTREAM_TLS_FAILED);
}

static void on_up_read(void *arg, const char *buf, size_t n)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	switch (u->phase) {
	case UP_SPLICE:
		tunnel_up_read(c, buf, n);
		return;
	case UP_REQUEST:
	case UP_RESPONSE:
		if (u->tls && !u->resume_stored) {
			/* TLS 1.3 tickets come after the handshake: keep one for the next connection */
			tlsconf_resume_store(c->w->px->resume, tlsio_session(u->io), u->host, u->port);
			u->resume_stored = true;
		}
		uv_timer_start(&u->timer, on_timer, cfg_of(c)->upstream_idle_timeout_ms, 0);
		forward_up_read(c, buf, n);
		return;
	default:
		upstream_close(c);   /* bytes nobody asked for */
		return;
	}
}

static void on_up_eof(void *arg)
{
	struct conn *c = arg;
	switch (c->up.phase) {
	case UP_TLS:
		handshake_failed(c);
		return;
	case UP_SPLICE:
		tunnel_up_eof(c);
		return;
	case UP_REQUEST:
	case UP_RESPONSE:
		forward_up_eof(c);
		return;
	default:
		upstream_close(c);   /* an idle origin closed: nothing lost */
		return;
	}
}

static void on_up_error(void *arg, int err)
{
	struct conn *c = arg;
	(void)err;
	switch (c->up.phase) {
	case UP_CONNECTING:
		on_up_connect(c, AL_EIO);   /* this address failed: the next one */
		return;
	case UP_TLS:
		handshake_failed(c);
		return;
	case UP_SPLICE:
		conn_abort(c);
		return;
	case UP_REQUEST:
	case UP_RESPONSE:
		forward_up_error(c);
		return;
	default:
		upstream_close(c);
		return;
	}
}

static void on_up_drain(void *arg)
{
	struct conn *c = arg;
	if (c->up.phase == UP_SPLICE)
		tunnel_up_drain(c);
	else
		conn_kick(c);   /* a request body may move again */
}

static const struct io_handler up_h = {
	.on_read = on_up_read,
	.on_eof = on_up_eof,
	.on_error = on_up_error,
	.on_drain = on_up_drain,
	.on_connect = on_up_connect,
};

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	struct upstream *u = &c->up;
	switch (u->phase) {
	case UP_CONNECTING:
	case UP_TLS:
		upstream_close(c);
		u->done(c, AL_ETIMEOUT, REASON_UPSTREAM_TIMEOUT);
		return;
	case UP_REQUEST:
	case UP_RESPONSE:
		forward_up_timeout(c);
		return;
	case UP_IDLE:
		upstream_close(c);   /* kept, and no request came */
		return;
	default:
		return;   /* no timer runs in the other phases */
	}
}

/* ---- opening ---- */

static void on_up_connect(void *arg, int status)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	if (status < 0) {
		io_close(u->io);
		u->io = NULL;
		try_connect(c);
		return;
	}
	if (u->phase == UP_CONNECTING && u->tls) {
		/* TCP is up: now our own verified TLS session to the origin */
		struct proxy *px = c->w->px;
		struct io *tio;
		if (tlsio_client(u->io, px->up_cred, u->host, px->resume, u->port, !u->h1_only, &tio) < 0) {
			u->io = NULL;   /* closed by tlsio_client */
			upstream_set_phase(c, UP_NONE);
			u->done(c, AL_ECRYPTO, REASON_UPSTREAM_TLS_FAILED);
			return;
		}
		u->io = tio;
		io_set_handler(tio, &up_h, c);
		upstream_set_phase(c, UP_TLS);
		return;
	}
	if (u->tls && tlsconf_alpn_is_h2(tlsio_session(u->io))) {
		/* the origin speaks HTTP/2: forward.c still writes and reads
		 * HTTP/1.1, h2up.c translates (one exchange per stream) */
		struct io *hio;
		if (h2up_wrap(u->io, &c->w->h2up, &u->client, u->host, u->port, &hio) < 0) {
			io_close(u->io);
			u->io = NULL;
			upstream_set_phase(c, UP_NONE);
			u->done(c, AL_EUNAVAIL, REASON_UPSTREAM_CONNECT_FAILED);
			return;
		}
		u->io = hio;
		io_set_handler(hio, &up_h, c);
		u->resume_stored = true;   /* its ticket stays below, with the TLS stream */
	}
	upstream_set_phase(c, UP_READY);
	u->done(c, 0, REASON_NONE);
}

static void try_connect(struct conn *c)
{
	struct upstream *u = &c->up;
	while (u->next < u->naddrs) {
		const struct sockaddr *sa = (const struct sockaddr *)&u->addrs[u->next++];
		if (io_tcp_connect(&c->w->loop, sa, &up_h, c, &u->io) == 0) {
			upstream_set_phase(c, UP_CONNECTING);
			return;
		}
		u->io = NULL;
	}
	upstream_set_phase(c, UP_NONE);
	u->done(c, AL_EUNAVAIL, REASON_UPSTREAM_CONNECT_FAILED);
}

static void on_resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t naddrs,
			enum reason reason)
{
	struct conn *c = arg;
	struct upstream *u = &c->up;
	u->rr = NULL;
	if (status < 0 || naddrs == 0) {
		upstream_set_phase(c, UP_NONE);
		u->done(c, status < 0 ? status : AL_ENOTFOUND, reason ? reason : REASON_DNS_FAILURE);
		return;
	}
	if (naddrs > RESOLVE_ADDRS_MAX)
		naddrs = RESOLVE_ADDRS_MAX;
	memcpy(u->addrs, addrs, naddrs * sizeof *addrs);
	u->naddrs = naddrs;
	u->next = 0;
	try_connect(c);
}

/* Target and owner of the connection about to be opened or taken. */
static void target_set(struct conn *c, const char *host, enum host_kind kind, uint16_t port, bool tls,
		       upstream_done_cb done)
{
	struct upstream *u = &c->up;
	if (u->host != host)
		snprintf(u->host, sizeof u->host, "%s", host);
	u->kind = kind;
	u->port = port;
	u->tls = tls;
	u->done = done;
}

void upstream_open(struct conn *c, const char *host, enum host_kind kind, uint16_t port, bool tls,
		   upstream_done_cb done)
{
	struct upstream *u = &c->up;
	upstream_close(c);
	u->client = c->who;
	target_set(c, host, kind, port, tls, done);
	upstream_set_phase(c, UP_RESOLVING);
	if (resolve_start(c->w->px->resolver, &c->w->loop, u->host, kind, port, on_resolved, c, &u->rr) < 0) {
		u->rr = NULL;
		upstream_set_phase(c, UP_NONE);
		done(c, AL_ENOTFOUND, REASON_DNS_FAILURE);
	}
}

bool upstream_take_pooled(struct conn *c, const char *host, enum host_kind kind, uint16_t port, bool tls,
			  upstream_done_cb done)
{
	struct upstream *u = &c->up;
	/* whatever c had goes first: taking must not leak it */
	upstream_close(c);
	u->client = c->who;
	bool unused = false;
	if (!client_id_is_set(&c->who))
		return false;
	struct io *io;
	while ((io = uppool_take(c->w->pool, &c->who, host, port, tls, &unused)) != NULL &&
	       ((u->h1_only && h2up_is(io)) || (h2up_is(io) && !h2up_usable(io))))
		io_close(io);   /* an upgrade cannot cross HTTP/2; a connection past its GOAWAY takes no stream */
	/* an HTTP/2 connection of this client to this origin with room: a
	 * stream of its own there */
	if (!io && tls && !u->h1_only && h2up_join(&c->w->h2up, &c->who, host, port, &io) < 0)
		io = NULL;
	if (!io)
		return false;
	target_set(c, host, kind, port, tls, done);
	u->io = io;
	io_set_handler(io, &up_h, c);
	u->resume_stored = !unused;
	upstream_set_phase(c, UP_READY);
	return true;
}

bool upstream_serves(const struct conn *c, const char *host, uint16_t port, bool tls)
{
	const struct upstream *u = &c->up;
	return (u->phase == UP_READY || u->phase == UP_IDLE) && strcmp(u->host, host) == 0 && u->port == port &&
	       u->tls == tls && client_id_eq(&u->client, &c->who) && !(u->h1_only && h2up_is(u->io));
}

/* ---- closing ---- */

void upstream_close(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->rr) {
		resolve_cancel(u->rr);
		u->rr = NULL;
	}
	if (u->io) {
		io_close(u->io);
		u->io = NULL;
	}
	u->resume_stored = false;
	u->paused = false;
	upstream_set_phase(c, UP_NONE);
}

void upstream_release(struct conn *c)
{
	struct upstream *u = &c->up;
	if (u->phase == UP_IDLE && client_id_is_set(&u->client) && !c->w->stopping) {
		struct io *io = u->io;
		u->io = NULL;
		uppool_put(c->w->pool, io, &u->client, u->host, u->port, u->tls, !u->resume_stored);
	}
	upstream_close(c);
}

void upstream_park_unused(struct conn *c)
{
	if (c->up.phase == UP_READY) {
		upstream_set_phase(c, UP_IDLE);
		upstream_release(c);
	} else {
		upstream_close(c);
	}
}

void upstream_init(struct conn *c)
{
	uv_timer_init(&c->w->loop, &c->up.timer);
	c->up.timer.data = c;
}

void upstream_free(struct conn *c)
{
	client_id_wipe(&c->up.client);
}
