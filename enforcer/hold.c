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
	enum reason reason;       /* the would-be denial's */
};

/* What a person can cure with a rule of this exact request; never an
 * address, a path that is not one, a cap or a secret. */
static bool curable(enum reason reason)
{
	return reason == REASON_NO_RULE || reason == REASON_PATH_NOT_ALLOWED || reason == REASON_METHOD_NOT_ALLOWED;
}

static void hold_free(struct conn *c)
{
	free(c->hold);
	c->hold = NULL;
}

static void refuse(struct conn *c, int status, enum reason reason)
{
	c->d.verdict = "deny";
	conn_reply(c, status, reason, NULL, true);
}

static void on_answer(void *arg, const json_t *ans, enum reason err)
{
	struct conn *c = arg;
	struct hold *h = c->hold;
	void (*redo)(struct conn *) = h->redo;
	enum reason reason = h->reason;

	h->ask = NULL;
	hold_free(c);
	if (c->state == CS_CLOSED)
		return;
	if (err) {
		if (err == REASON_HOLD_TIMEOUT)
			refuse(c, 403, REASON_HOLD_TIMEOUT);
		else if (err == REASON_HOLD_CAP)
			refuse(c, 429, REASON_TOO_MANY_HOLDS);
		else if (err == REASON_CLIENT_GONE)
			hold_revoked(c);
		else   /* no-hold (set back to deny), no broker: denied as without holds */
			refuse(c, 403, reason);
		return;
	}
	if (strcmp(json_str(ans, "verdict", ""), "approved") != 0) {
		refuse(c, 403, REASON_HOLD_DENIED);
		return;
	}
	/* decided again with the policy of this moment, which holds the rule */
	if (c->pol)
		policy_unref(c->pol);
	c->pol = policy_ref(c->w->policy);
	c->client = policy_client_by_id(c->pol, &c->who);
	if (!c->client) {
		refuse(c, 403, REASON_CLIENT_REVOKED);
		return;
	}
	c->d.reason = REASON_NONE;
	c->d.verdict = NULL;
	redo(c);
}

bool hold_try(struct conn *c, enum reason reason, void (*redo)(struct conn *c))
{
	const struct config *cfg = c->w->px->cfg;
	bool connect = c->req.p.method == HTTP_CONNECT && !c->mitm;

	if (!c->client || !c->client->hold || c->hold_done || c->hold || !curable(reason))
		return false;
	struct ipc_hold ih = {
		.client = c->client->name,
		.method = connect ? "" : c->d.method,
		.scheme = c->d.scheme ? c->d.scheme : "http",
		.host = c->d.host,
		.path = connect ? "" : c->d.path,
		.reason = reason_name(reason),
		.port = c->d.port,
		.timeout_ms = cfg->hold_timeout_ms,
	};
	struct hold *h = xcalloc(1, sizeof *h);
	h->redo = redo;
	h->reason = reason;
	c->hold = h;
	if (broker_ask_hold(c->w, &ih, on_answer, c, &h->ask) < 0) {
		hold_free(c);
		return false;   /* no broker: denied as without holds */
	}
	c->hold_done = true;
	conn_log_hold(c, reason);
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
	conn_reply(c, 403, REASON_CLIENT_REVOKED, NULL, false);
}
