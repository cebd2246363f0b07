/* Held requests (hold.h): the ask to the broker, the wait, and the
 * release. The connection stays in CS_WAIT while it waits, so its reads
 * stay bounded as for any request being decided. */
#include "config.h"

#include "enforcer/hold.h"

#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/conn.h"
#include "enforcer/ipc_client.h"
#include "enforcer/mitm.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

struct hold {
	struct broker_ask *ask;
	void (*redo)(struct conn *c);
	const char *reason;       /* the would-be denial's (static) */
};

/* What a person can cure with a rule; never an address, a path that is not
 * one, a cap or a secret. Static: a reply keeps its reason's pointer. */
static const char *const curable_reasons[] = { "no-rule", "path-not-allowed", "method-not-allowed" };

static const char *curable(const char *reason)
{
	for (size_t i = 0; reason && i < sizeof curable_reasons / sizeof curable_reasons[0]; i++)
		if (strcmp(reason, curable_reasons[i]) == 0)
			return curable_reasons[i];
	return NULL;
}

static void hold_free(struct conn *c)
{
	free(c->hold);
	c->hold = NULL;
}

static void refuse(struct conn *c, int status, const char *reason)
{
	c->d.verdict = "deny";
	conn_reply(c, status, reason, NULL, true);
}

static void on_answer(void *arg, const json_t *ans, const char *err)
{
	struct conn *c = arg;
	struct hold *h = c->hold;
	void (*redo)(struct conn *) = h->redo;
	const char *reason = h->reason;

	h->ask = NULL;
	hold_free(c);
	if (c->state == CS_CLOSED)
		return;
	if (err) {
		if (strcmp(err, "hold-timeout") == 0)
			refuse(c, 403, "hold-timeout");
		else if (strcmp(err, "hold-cap") == 0)
			refuse(c, 429, "too-many-holds");
		else if (strcmp(err, "client-gone") == 0)
			hold_revoked(c);
		else   /* no-hold (set back to deny), no broker: denied as without holds */
			refuse(c, 403, reason);
		return;
	}
	if (strcmp(json_str(ans, "verdict", ""), "approved") != 0) {
		refuse(c, 403, "hold-denied");
		return;
	}
	/* decided again with the policy of this moment, which holds the rule */
	if (c->pol)
		policy_unref(c->pol);
	c->pol = policy_ref(c->w->policy);
	c->client = policy_client_by_id(c->pol, &c->who);
	if (!c->client) {
		refuse(c, 403, "client-revoked");
		return;
	}
	c->d.reason = NULL;
	c->d.verdict = NULL;
	redo(c);
}

bool hold_try(struct conn *c, const char *reason, void (*redo)(struct conn *c))
{
	const struct config *cfg = c->w->px->cfg;
	bool connect = c->req.p.method == HTTP_CONNECT && !c->mitm;

	const char *why = curable(reason);
	if (!c->client || !c->client->hold || c->hold_done || c->hold || !why)
		return false;
	struct ipc_hold ih = {
		.client = c->client->name,
		.method = connect ? "" : c->d.method,
		.scheme = c->d.scheme ? c->d.scheme : "http",
		.host = c->d.host,
		.path = connect ? "" : c->d.path,
		.reason = why,
		.port = c->d.port,
		.timeout_ms = cfg->hold_timeout_ms,
	};
	struct hold *h = xcalloc(1, sizeof *h);
	h->redo = redo;
	h->reason = why;
	c->hold = h;
	if (broker_ask_hold(c->w, &ih, on_answer, c, &h->ask) < 0) {
		hold_free(c);
		return false;   /* no broker: denied as without holds */
	}
	c->hold_done = true;
	conn_log_hold(c, why);
	return true;
}

void hold_cancel(struct conn *c)
{
	if (!c->hold)
		return;
	broker_ask_cancel(c->hold->ask);
	hold_free(c);
}

void hold_revoked(struct conn *c)
{
	hold_cancel(c);
	c->d.verdict = "deny";
	conn_reply(c, 403, "client-revoked", NULL, false);
}
