/* What a connection says of its own: its decision log line (docs/airlock-enforcer.8, LOG) and
 * the status texts and gRPC codes of the answers airlock writes itself
 * (conn.c's reply_send). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/duration.h"
#include "common/log.h"
#include "enforcer/budget.h"
#include "enforcer/conn.h"
#include "enforcer/decision.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

static const struct config *cfg_of(const struct conn *c)
{
	return c->w->px->cfg;
}


static void log_line(struct conn *c, const char *upgrade)
{
	struct decision *d = &c->d;
	/* allowed, nothing injected, and a secret exists for this host: a 401
	 * upstream most likely wants --secret on the rule */
	d->hint = strcmp(d->verdict, "allow") == 0 && d->rule && !d->inject && !d->reason &&
			  policy_secret_host(c->pol, d->host) ? "secret-available" : NULL;
	d->upgrade_line = upgrade;
	decision_emit(c->w, d, config_mode_name(cfg_of(c)->mode), c->peer[0] ? c->peer : NULL,
		      c->socks ? "socks5" : c->stream ? "h2" : NULL);
}

void conn_log(struct conn *c)
{
	if (!c->logged && c->d.verdict) {
		c->logged = true;
		forward_usage_take(c);   /* an answer cut short still counts what it reported */
		log_line(c, c->d.upgrade ? "websocket-closed" : NULL);
	}
	budget_release(&c->bh, c->d.bytes_up + c->d.bytes_down, c->d.tokens_in + c->d.tokens_out);
}

bool conn_budget_admit(struct conn *c, const struct policy_rule *rule, bool keep)
{
	enum reason reason;
	int64_t retry;
	char extra[48];

	budget_release(&c->bh, 0, 0);   /* never two holds (a retried decision) */
	if (budget_admit(c->client, rule, &c->bh, &reason, &retry) == 0)
		return true;
	snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)retry);
	c->d.verdict = "deny";
	conn_reply(c, 429, reason, extra, keep);
	return false;
}

void conn_log_hold(struct conn *c, enum reason reason)
{
	/* its own line, with the request's id: the final line follows it */
	decision_req(&c->d);
	struct decision d = c->d;
	d.verdict = "hold";
	d.reason = reason;
	d.status = 0;
	d.hint = NULL;
	d.upgrade_line = NULL;
	decision_emit(c->w, &d, config_mode_name(cfg_of(c)->mode), c->peer[0] ? c->peer : NULL,
		      c->socks ? "socks5" : c->stream ? "h2" : NULL);
}

void conn_log_upgrade(struct conn *c)
{
	if (c->logged || !c->d.verdict)
		return;
	c->d.upgrade = "websocket";
	log_line(c, "websocket");
}

const char *conn_status_text(int status)
{
	switch (status) {
	case 200: return "Connection established";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* A gRPC call on an HTTP/2 stream: airlock's own refusal is answered the
 * way gRPC reports errors (status 200, grpc-status in a trailers-only
 * answer), so the client sees PERMISSION_DENIED (or the like) with
 * airlock's reason as its message instead of a bare HTTP status. */
int conn_grpc_code(const struct conn *c, int status)
{
	if (!c->stream || c->req.phase == MSG_IDLE || c->req.phase == MSG_HEAD)
		return -1;
	long i = http_find(&c->req, "content-type", 0);
	if (i < 0 || c->req.hdrs[i].vlen < 16 || strncasecmp(http_value(&c->req, (size_t)i), "application/grpc", 16) != 0)
		return -1;
	switch (status) {
	case 403: return 7;    /* PERMISSION_DENIED */
	case 407: return 16;   /* UNAUTHENTICATED */
	case 429: return 8;    /* RESOURCE_EXHAUSTED */
	case 504: return 4;    /* DEADLINE_EXCEEDED */
	case 502:
	case 503: return 14;   /* UNAVAILABLE */
	default: return 13;    /* INTERNAL */
	}
}
