/* Decisions leave here: request ids (a process-wide counter behind the
 * run's start time) and the one log line per decision (SPEC §4). */
#include "config.h"

#include "enforcer/decision.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/duration.h"
#include "common/log.h"

#define REQID_MASK ((UINT64_C(1) << 40) - 1)

static uint64_t reqid_prefix;
static _Atomic uint64_t reqid_next = 1;

void reqid_init(void)
{
	reqid_prefix = (uint64_t)time_now_ms() & REQID_MASK;
}

uint64_t decision_req(struct decision *d)
{
	if (!d->req)
		d->req = atomic_fetch_add_explicit(&reqid_next, 1, memory_order_relaxed);
	return d->req;
}

void reqid_format(uint64_t req, char out[REQID_LEN + 1])
{
	snprintf(out, REQID_LEN + 1, "%010" PRIx64 "%010" PRIx64, reqid_prefix, req & REQID_MASK);
}

void decision_emit(struct decision *d, const char *mode, const char *src, const char *via)
{
	char req[REQID_LEN + 1];
	long long ms = d->start_ms ? (long long)(time_mono_ms() - (int64_t)d->start_ms) : 0;

	reqid_format(decision_req(d), req);
	log_decision(d->verdict ? d->verdict : "deny",
		     KV_S("client", d->client[0] ? d->client : NULL),
		     KV_S("method", d->method[0] ? d->method : NULL),
		     KV_S("scheme", d->scheme),
		     KV_S("host", d->host[0] ? d->host : NULL),
		     d->port ? KV_I("port", d->port) : KV_S("port", NULL),
		     KV_S("path", d->path[0] ? d->path : NULL),
		     KV_S("mode", mode),
		     d->rule ? KV_I("rule", d->rule) : KV_S("rule", NULL),
		     KV_S("inject", d->inject),
		     KV_S("reason", d->reason),
		     d->status ? KV_I("status", d->status) : KV_S("status", NULL),
		     KV_I("bytes_up", d->bytes_up),
		     KV_I("bytes_down", d->bytes_down),
		     KV_I("ms", ms),
		     d->scanned ? KV_I("scrubbed", d->scrubbed) : KV_S("scrubbed", NULL),
		     KV_S("via", via),
		     KV_S("src", src),
		     KV_S("req", req));
}
