/* What a connection says of its own: its decision log line (SPEC 4) and
 * the status texts and gRPC codes of the answers airlock writes itself
 * (conn.c's reply_send). */
#include <stdio.h>
#include <strings.h>

#include "common/duration.h"
#include "common/log.h"
#include "enforcer/conn.h"
#include "enforcer/worker.h"

static const struct config *cfg_of(const struct conn *c)
{
	return c->w->px->cfg;
}


void conn_log(struct conn *c)
{
	struct decision *d = &c->d;
	if (c->logged || !d->verdict)
		return;
	c->logged = true;
	long long ms = (long long)(time_mono_ms() - (int64_t)d->start_ms);
	log_decision(d->verdict,
		     KV_S("client", d->client[0] ? d->client : NULL),
		     KV_S("method", d->method[0] ? d->method : NULL),
		     KV_S("scheme", d->scheme),
		     KV_S("host", d->host[0] ? d->host : NULL),
		     d->port ? KV_I("port", d->port) : KV_S("port", NULL),
		     KV_S("path", d->path[0] ? d->path : NULL),
		     KV_S("mode", config_mode_name(cfg_of(c)->mode)),
		     d->rule ? KV_I("rule", d->rule) : KV_S("rule", NULL),
		     KV_S("inject", d->inject),
		     KV_S("reason", d->reason),
		     d->status ? KV_I("status", d->status) : KV_S("status", NULL),
		     KV_I("bytes_up", d->bytes_up),
		     KV_I("bytes_down", d->bytes_down),
		     KV_I("ms", ms),
		     d->scanned ? KV_I("scrubbed", d->scrubbed) : KV_S("scrubbed", NULL),
		     KV_S("via", c->socks ? "socks5" : c->stream ? "h2" : NULL));
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
