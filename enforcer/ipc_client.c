/* The policy feed: one broker link (brokerlink.c) on the main loop. Each
 * "policy" frame is parsed into an immutable snapshot and given to every
 * worker; any other frame drops the link (the door lists what the broker
 * sends on it). If the broker goes away the workers keep the last policy
 * and the link reconnects with backoff. Asks do not pass here: each worker
 * has its own link (broker_ask.c); this one tells them whether the broker
 * is there. */
#include "config.h"

#include "enforcer/ipc_client.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/brokerlink.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

struct ipc_client {
	struct proxy *px;
	struct broker_link link;
	atomic_bool up;           /* hello written: the broker is there (workers read it) */
	bool said_down;
	uint64_t version;
};

static int on_policy_frame(struct broker_link *l, json_t *msg)
{
	struct ipc_client *ic = l->data;
	const char *type = json_string_value(json_object_get(msg, "type"));
	char err[160];
	struct policy *p;
	int rc;

	if (!type || strcmp(type, IPC_MSG_POLICY) != 0) {
		ipc_msg_wipe(msg);   /* an answer here would be a bug; it may carry a credential */
		log_warn("unexpected IPC message on the policy link", KV_S("type", type));
		return AL_EPROTO;
	}
	rc = policy_parse(msg, &p);
	if (rc < 0) {
		/* name the field when it is the table that refused it */
		if (ipc_msg_validate(msg, IPC_POLICY, err, sizeof err) == 0)
			snprintf(err, sizeof err, "a value the enforcer does not understand");
		log_error("policy refused", KV_S("error", airlock_strerror(rc)), KV_S("why", err));
		return rc;
	}
	ic->version = policy_version(p);
	workers_set_policy(ic->px, p);
	policy_unref(p);
	brokerlink_healthy(l);
	ic->said_down = false;
	log_debug("policy installed", KV_I("version", ic->version));
	return 0;
}

static void on_policy_up(struct broker_link *l)
{
	struct ipc_client *ic = l->data;
	atomic_store(&ic->up, true);
	if (ic->said_down)
		log_info("broker reachable again", KV_S("socket", l->path));
}

static void on_policy_down(struct broker_link *l, const char *why)
{
	struct ipc_client *ic = l->data;
	atomic_store(&ic->up, false);
	if (!ic->said_down) {
		log_warn("broker not reachable; serving with the last policy", KV_S("why", why),
			 KV_S("socket", l->path));
		ic->said_down = true;
	}
}

static const struct brokerlink_ops policy_ops = {
	.on_frame = on_policy_frame,
	.on_up = on_policy_up,
	.on_down = on_policy_down,
};

int ipc_client_start(uv_loop_t *loop, struct proxy *px, const char *path, struct ipc_client **out)
{
	struct ipc_client *ic = xcalloc(1, sizeof *ic);
	ic->px = px;
	atomic_init(&ic->up, false);
	brokerlink_init(&ic->link, loop, path, false, &policy_ops, ic);
	brokerlink_connect(&ic->link);
	*out = ic;
	return 0;
}

void ipc_client_stop(struct ipc_client *ic)
{
	if (!ic)
		return;
	atomic_store(&ic->up, false);
	brokerlink_stop(&ic->link);
}

void ipc_client_free(struct ipc_client *ic)
{
	if (!ic)
		return;
	brokerlink_free(&ic->link);
	free(ic);
}

bool ipc_client_up(const struct ipc_client *ic)
{
	return ic && atomic_load(&ic->up);
}

const char *ipc_client_path(const struct ipc_client *ic)
{
	return ic->link.path;
}
