/* CONNECT: decide on host and port alone, dial the checked address, answer
 * 200 and copy bytes both ways (bare rules: blind TLS tunnel; passthrough:
 * any TCP). Backpressure stops reading a side while the other's write queue
 * is full. A tunnel belongs to its connection's client instance (conn.who)
 * and rule id and is closed when a policy change or the rule's TTL makes
 * that rule no longer live for that instance, or when no byte has moved
 * either way for --tunnel-idle-timeout. One log line when it ends, with byte
 * counts and duration. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/duration.h"
#include "common/limits.h"
#include "enforcer/conn.h"
#include "enforcer/hold.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

static void deny(struct conn *c, int status, enum reason reason)
{
	c->d.verdict = "deny";   /* in audit mode too: mode=audit says so */
	conn_reply(c, status, reason, NULL, true);
}

/* The idle timer is armed once per period, not per read: each read only
 * stamps the loop time, and the timer re-arms for what is left. */
static void on_idle_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state != CS_TUNNEL)
		return;
	uint64_t limit = c->w->px->cfg->tunnel_idle_timeout_ms;
	uint64_t idle = uv_now(t->loop) - c->tun.last_io;
	if (idle < limit) {
		uv_timer_start(t, on_idle_timer, limit - idle, 0);
		return;
	}
	c->d.reason = REASON_TUNNEL_IDLE_TIMEOUT;
	conn_abort(c);
}

static void idle_timer_start(struct conn *c)
{
	c->tun.last_io = uv_now(&c->w->loop);
	c->tkind = T_IDLE;
	uv_timer_start(&c->timer, on_idle_timer, c->w->px->cfg->tunnel_idle_timeout_ms, 0);
}

static void on_tunnel_ready(struct conn *c, int status, enum reason reason)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (status < 0) {
		int code = upstream_fail_status(status, &reason);
		if (code == 403)
			deny(c, code, reason);   /* a denied address */
		else
			conn_reply(c, code, reason, NULL, true);
		return;
	}
	/* the policy may have changed while we resolved and dialled */
	if (!policy_rule_live(c->w->policy, &c->who, c->tun.rule_id, time_now())) {
		upstream_close(c);
		deny(c, 403, REASON_RULE_REVOKED);
		return;
	}
	if (io_write(c->io, ok, sizeof ok - 1) < 0) {
		conn_abort(c);
		return;
	}
	c->d.status = 200;
	upstream_set_phase(c, UP_SPLICE);
	conn_set_state(c, CS_TUNNEL);
	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	/* bytes the client sent right behind its CONNECT belong to the tunnel */
	const char *early;
	size_t n;
	conn_take_input(c, &early, &n);
	if (n) {
		c->d.bytes_up += n;
		if (io_write(c->up.io, early, n) < 0) {
			conn_abort(c);
			return;
		}
	}
	/* through the TLS listener, our records must not straddle the client's */
	c->tun.align = c->tls;
	/* bytes are written on as they are read: read big chunks (fewer syscalls) */
	io_set_read_size(c->io, IO_READ_MAX);
	io_set_read_size(c->up.io, IO_READ_MAX);
	idle_timer_start(c);
	io_read_start(c->io);
	c->reading = true;
	io_read_start(c->up.io);
}

void tunnel_start(struct conn *c)
{
	const struct http_msg *m = &c->req;
	char host[AL_HOST_BUF];
	enum host_kind kind;
	uint16_t port;

	if (authority_parse(m->arena + m->url, m->url_len, 0, host, &kind, &port) < 0) {
		snprintf(c->d.host, sizeof c->d.host, "%.*s", (int)(m->url_len < AL_LOG_BAD_TARGET_MAX ? m->url_len : AL_LOG_BAD_TARGET_MAX),
			 m->arena + m->url);
		deny(c, 403, REASON_BAD_HOST);
		return;
	}
	snprintf(c->d.host, sizeof c->d.host, "%s", host);
	c->d.port = port;
	c->d.scheme = port == 443 ? "https" : "tcp";

	const struct policy_rule *rule = NULL;
	enum reason reason = REASON_NO_RULE;
	struct policy_req pr = { .host = host, .port = port, .method = NULL, .path = NULL, .now = time_now() };
	enum policy_action a = policy_decide(c->client, &pr, &rule, &reason);
	if (a != POLICY_INSPECT && a != POLICY_PASSTHROUGH && c->w->px->leaves &&
	    mitm_shim_host(c->client, host, port)) {
		/* an OAuth token endpoint of a client that injects a secret: look
		 * inside so the token shim can answer it (mitm.c); without a rule
		 * of its own, nothing else passes (never dialled) */
		if (a == POLICY_TUNNEL)
			mitm_start(c, host, kind, port, rule->id, false, REASON_NONE);
		else
			mitm_start(c, host, kind, port, 0, true, reason ? reason : REASON_NO_RULE);
		return;
	}
	switch (a) {
	case POLICY_TUNNEL:
	case POLICY_PASSTHROUGH:
		break;
	case POLICY_INSPECT:
		/* methods, paths or a secret: terminate TLS and check every request */
		mitm_start(c, host, kind, port, rule ? rule->id : 0, false, REASON_NONE);
		return;
	default:
		if (hold_try(c, reason ? reason : REASON_NO_RULE, tunnel_start))
			return;   /* the CONNECT itself waits for a person */
		if (c->w->px->cfg->mode == MODE_AUDIT && c->w->px->leaves) {
			/* audit: read the first inner request to log it, then refuse */
			mitm_start(c, host, kind, port, 0, true, reason ? reason : REASON_NO_RULE);
			return;
		}
		deny(c, 403, reason ? reason : REASON_NO_RULE);
		return;
	}
	c->d.rule = rule->id;
	if (!conn_budget_admit(c, rule, true))
		return;
	c->d.verdict = "allow";
	memset(&c->tun, 0, sizeof c->tun);
	c->tun.rule_id = rule->id;
	c->tun.passthrough = a == POLICY_PASSTHROUGH;
	/* the client's bytes as they are: no TLS of ours toward the origin */
	upstream_open(c, host, kind, port, false, on_tunnel_ready);
}

static void tunnel_end(struct conn *c)
{
	conn_finish(c);
}

void tunnel_splice(struct conn *c, const char *early_down, size_t n)
{
	memset(&c->tun, 0, sizeof c->tun);
	c->tun.rule_id = c->d.rule;   /* revoking the rule closes the WebSocket too */
	upstream_set_phase(c, UP_SPLICE);
	conn_set_state(c, CS_TUNNEL);
	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	idle_timer_start(c);
	if (n)
		tunnel_up_read(c, early_down, n);
	if (c->state != CS_TUNNEL)
		return;   /* the first bytes ended it */
	const char *early;
	size_t m;
	conn_take_input(c, &early, &m);
	if (m)
		tunnel_client_read(c, early, m);
	if (c->state != CS_TUNNEL)
		return;
	if (!c->tun.client_paused) {
		io_read_start(c->io);
		c->reading = true;
	}
	if (!c->tun.up_paused)
		io_read_start(c->up.io);
}

void tunnel_client_read(struct conn *c, const char *buf, size_t n)
{
	c->d.bytes_up += n;
	c->tun.last_io = uv_now(&c->w->loop);
	if (io_write(c->up.io, buf, n) < 0) {
		tunnel_end(c);
		return;
	}
	if (io_queued(c->up.io) > IO_HIGH_WATER && !c->tun.client_paused) {
		io_read_stop(c->io);
		c->tun.client_paused = true;
	}
}

void tunnel_up_read(struct conn *c, const char *buf, size_t n)
{
	c->d.bytes_down += n;
	c->tun.last_io = uv_now(&c->w->loop);
	if (c->x.scrub) {
		/* a WebSocket opened with an injected secret: frames are
		 * scrubbed as a stream (no compression was offered) */
		if (forward_scrub_down(c, buf, n) < 0) {
			tunnel_end(c);
			return;
		}
	} else if (!c->tun.align) {
		if (io_write(c->io, buf, n) < 0) {
			tunnel_end(c);
			return;
		}
	} else {
		/* the TLS listener: one of our records per inner record, all of
		 * them in one write to the socket */
		int rc = 0;
		io_cork(c->io);
		while (n && rc == 0) {
			size_t k = tls_framer_next(&c->tun.down, (const uint8_t *)buf, n);
			rc = io_write(c->io, buf, k);
			buf += k;
			n -= k;
		}
		if (io_uncork(c->io) < 0 || rc < 0) {
			tunnel_end(c);
			return;
		}
	}
	if (io_queued(c->io) > IO_HIGH_WATER && !c->tun.up_paused) {
		io_read_stop(c->up.io);
		c->tun.up_paused = true;
	}
}

void tunnel_client_drain(struct conn *c)
{
	if (c->tun.up_paused && io_queued(c->io) < IO_LOW_WATER) {
		c->tun.up_paused = false;
		if (!c->tun.up_eof)
			io_read_start(c->up.io);
	}
}

void tunnel_up_drain(struct conn *c)
{
	if (c->tun.client_paused && io_queued(c->up.io) < IO_LOW_WATER) {
		c->tun.client_paused = false;
		if (!c->tun.client_eof)
			io_read_start(c->io);
	}
}

void tunnel_client_eof(struct conn *c)
{
	c->tun.client_eof = true;
	if (c->tun.up_eof) {
		tunnel_end(c);
		return;
	}
	io_shutdown(c->up.io);
}

void tunnel_up_eof(struct conn *c)
{
	c->tun.up_eof = true;
	if (c->x.scrub && forward_scrub_end(c) < 0) {
		tunnel_end(c);
		return;
	}
	if (c->tun.client_eof) {
		tunnel_end(c);
		return;
	}
	io_shutdown(c->io);
}

void tunnel_check(struct conn *c, int64_t now, enum reason why)
{
	if (c->state != CS_TUNNEL)
		return;
	if (policy_rule_live(c->w->policy, &c->who, c->tun.rule_id, now))
		return;
	c->d.reason = why;
	conn_abort(c);   /* cut at once: the permission is gone */
}
