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
#include "enforcer/budget.h"
#include "enforcer/policy.h"
#include "enforcer/worker.h"

struct ipc_client {
	struct proxy *px;
	struct broker_link link;
	atomic_bool up;           /* hello written: the broker is there (workers read it) */
	bool said_down;
	uint64_t version;
	uint64_t acked;           /* last version acknowledged on this connection */
	uv_async_t applied;       /* a worker took a policy (from its thread) */
	uv_mutex_t mu;            /* no uv_async_send once `applied` is closing */
	bool stopped;
};

/* Every worker decides with version v: say so, once per version and
 * connection (the broker holds API answers until it hears it). */
static void send_ack(struct ipc_client *ic)
{
	uint64_t v = workers_applied(ic->px);
	if (v == 0 || v <= ic->acked || v > ic->version || !atomic_load(&ic->up))
		return;
	json_t *msg = ipc_msg_policy_ack(v);
	uint8_t *buf;
	size_t len;
	if (msg && ipc_frame_encode(msg, &buf, &len) == 0 && brokerlink_write(&ic->link, buf, len) == 0)
		ic->acked = v;
	json_decref(msg);
}

static void on_applied(uv_async_t *a)
{
	send_ack(a->data);
}

void ipc_client_applied(struct ipc_client *ic)
{
	if (!ic)
		return;
	uv_mutex_lock(&ic->mu);
	if (!ic->stopped)
		uv_async_send(&ic->applied);
	uv_mutex_unlock(&ic->mu);
}

/* The day's token counts the broker kept: budgets start from them. */
static int on_tokens_today(const json_t *msg)
{
	char err[160];
	size_t i;
	json_t *v;
	if (ipc_msg_validate(msg, IPC_TOKENS_TODAY, err, sizeof err) < 0) {
		log_error("token counts refused", KV_S("why", err));
		return AL_EPROTO;
	}
	int64_t day = json_integer_value(json_object_get(msg, "day"));
	json_array_foreach(json_object_get(msg, "clients"), i, v)
		budget_seed_tokens(json_string_value(json_object_get(v, "name")), day,
				   json_integer_value(json_object_get(v, "tokens")));
	log_debug("the day's token counts read", KV_I("clients", (long long)i));
	return 0;
}

static int on_policy_frame(struct broker_link *l, json_t *msg)
{
	struct ipc_client *ic = l->data;
	const char *type = json_string_value(json_object_get(msg, "type"));
	char err[160];
	struct policy *p;
	int rc;

	if (type && strcmp(type, IPC_MSG_TOKENS_TODAY) == 0)
		return on_tokens_today(msg);
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
	budget_prune(p);
	send_ack(ic);   /* the same version again after a reconnect: at once */
	policy_unref(p);
	brokerlink_healthy(l);
	ic->said_down = false;
	log_debug("policy installed", KV_I("version", ic->version));
	return 0;
}

/* The listeners were bound before the link first connected (main.c), so
 * every connection says so at once: the broker reports ready on it. */
static void send_listening(struct ipc_client *ic)
{
	json_t *msg = ipc_msg_listening(ic->px->cfg->http_port, ic->px->cfg->https_port);
	uint8_t *buf;
	size_t len;
	if (msg && ipc_frame_encode(msg, &buf, &len) == 0 && brokerlink_write(&ic->link, buf, len) < 0)
		log_debug("cannot say listening; the link is down");
	json_decref(msg);
}

static void on_policy_up(struct broker_link *l)
{
	struct ipc_client *ic = l->data;
	atomic_store(&ic->up, true);
	ic->acked = 0;   /* a new connection: its broker waits for an ack */
	send_listening(ic);
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
	if (uv_mutex_init(&ic->mu) < 0)
		abort();
	uv_async_init(loop, &ic->applied, on_applied);
	ic->applied.data = ic;
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
	uv_mutex_lock(&ic->mu);
	ic->stopped = true;
	uv_close((uv_handle_t *)&ic->applied, NULL);
	uv_mutex_unlock(&ic->mu);
	brokerlink_stop(&ic->link);
}

void ipc_client_free(struct ipc_client *ic)
{
	if (!ic)
		return;
	brokerlink_free(&ic->link);
	uv_mutex_destroy(&ic->mu);
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
