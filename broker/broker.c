/* Bringing the broker up and down: state dir, seal key, CA, state, the two
 * sockets, the enforcer, signals; the policy frame (built and checked to fit
 * one IPC frame before a change is committed, then sent as is), and the TTL
 * timer that pushes a new policy at the instant a rule expires. */
#include "config.h"

#include "broker/broker.h"
#include "broker/approvals.h"
#include "broker/observe.h"
#include "broker/tokens_today.h"
#include "broker/webhook.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/fleet.h"
#include "broker/ipc_server.h"
#include "broker/oauth.h"
#include "broker/sealed.h"
#include "broker/snapshot.h"
#include "broker/supervise.h"
#include "common/ca.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/uitoken.h"
#include "common/xmalloc.h"

/* The timer may run a little ahead of the wall clock that TTLs use. */
#define TTL_SLACK_MS 5

static void ttl_rearm(struct broker *b);

static void on_ttl_timer(uv_timer_t *t)
{
	struct broker *b = t->data;
	if (time_now_ms() < b->ttl_armed_for * 1000) {
		/* early by the clocks' drift: nothing has expired yet */
		ttl_rearm(b);
		return;
	}
	log_info("rule TTL ended; pushing a new policy", KV_I("expires_at", b->ttl_armed_for));
	broker_policy_push(b);
}

static void ttl_rearm(struct broker *b)
{
	int64_t now = time_now();
	int64_t next = state_next_expiry(b->state.doc, now);
	b->ttl_armed_for = next;
	if (next == 0) {
		uv_timer_stop(&b->ttl_timer);
		return;
	}
	/* the loop's cached time may be stale (a commit's fsync ran since):
	 * the timer counts from it */
	uv_update_time(b->loop);
	int64_t ms = next * 1000 - time_now_ms() + TTL_SLACK_MS;
	uv_timer_start(&b->ttl_timer, on_ttl_timer, ms > 0 ? (uint64_t)ms : 0, 0);
}

void policy_frame_free(struct policy_frame *pf)
{
	free(pf->buf);
	memset(pf, 0, sizeof *pf);
}

int broker_policy_prepare(const struct broker *b, const json_t *doc, struct policy_frame *pf,
			  char *err, size_t errlen)
{
	uint64_t version = b->policy_version + 1;
	json_t *snap = snapshot_build(doc, version, time_now());
	int ret = ipc_frame_encode(snap, &pf->buf, &pf->len);
	json_decref(snap);
	if (ret == AL_ETOOBIG) {
		/* the enforcer refuses a frame past the cap and would keep its old
		 * policy: a change it cannot receive must not be made at all */
		snprintf(err, errlen, "the policy would be %zu bytes, over the IPC frame cap of %zu bytes",
			 pf->len - IPC_HEADER_LEN, (size_t)AL_IPC_FRAME_MAX);
	} else if (ret < 0) {
		snprintf(err, errlen, "cannot encode the policy: %s", airlock_strerror(ret));
	}
	if (ret < 0) {
		memset(pf, 0, sizeof *pf);
		return ret;
	}
	pf->version = version;
	return 0;
}

void broker_policy_publish(struct broker *b, struct policy_frame *pf)
{
	policy_frame_free(&b->policy);
	b->policy = *pf;
	memset(pf, 0, sizeof *pf);
	b->policy_version = b->policy.version;
	ipc_server_broadcast(b->ipc, b->policy.buf, b->policy.len);
	ttl_rearm(b);
}

/* After an expiry (it only takes rules out of a policy that fitted, so
 * this always fits; were it ever not so, the enforcer keeps the last
 * policy, whose rules carry their expires_at and end on its own clock) or
 * a refreshed credential (the same rules, a new version). */
void broker_policy_push(struct broker *b)
{
	struct policy_frame pf = { 0 };
	char err[128];
	if (broker_policy_prepare(b, b->state.doc, &pf, err, sizeof err) < 0) {
		log_error("cannot push the policy", KV_S("error", err));
		ttl_rearm(b);
		return;
	}
	broker_policy_publish(b, &pf);
}

void broker_proxy_url(const struct broker *b, const char *scheme, unsigned port, char *buf,
		      size_t cap)
{
	bool v6 = strchr(b->cfg.bind, ':') != NULL;
	snprintf(buf, cap, "%s://%s%s%s:%u", scheme, v6 ? "[" : "", b->cfg.bind, v6 ? "]" : "", port);
}

static int load_seal_key(struct broker *b, char *err, size_t errlen)
{
	int ret;
	if (b->cfg.keyring) {
		ret = seal_key_load_keyring(b->cfg.state_dir, true, &b->key);
		if (ret < 0)
			snprintf(err, errlen, "the OS keyring is not available (%s): run without "
				 "--keyring to use a seal-key file", airlock_strerror(ret));
		return ret;
	}
	char *path = b->cfg.seal_key_file ? xstrdup(b->cfg.seal_key_file)
					  : path_join(b->cfg.state_dir, SEAL_KEY_FILE_NAME);
	ret = seal_key_load_file(path, true, &b->key);
	if (ret < 0)
		snprintf(err, errlen, "seal key %s: %s", path, airlock_strerror(ret));
	free(path);
	return ret;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct broker *b = h->data;
	if (signum == SIGHUP) {
		broker_reload(b);
		return;
	}
	log_info("stopping", KV_S("signal", signum == SIGTERM ? "TERM" : "INT"));
	broker_stop(b);
}

static void print_banner(const struct broker *b)
{
	char http[128], https[128];
	broker_proxy_url(b, "http", b->cfg.http_port, http, sizeof http);
	broker_proxy_url(b, "https", b->cfg.https_port, https, sizeof https);
	printf("API socket:      %s\n"
	       "CA certificate:  %s   (sandboxes must trust it)\n"
	       "HTTP proxy:      %s\n"
	       "HTTPS proxy:     %s\n"
	       "mode:            %s\n"
	       "airlock is up\n",
	       b->api_sock_path, b->ca_path, http, https, b->cfg.mode);
	fflush(stdout);
}

/* The sockets' directory: made 0700 when missing; one systemd made
 * (RuntimeDirectory=, its mode the unit's) is taken when it is ours. */
static int run_dir_ensure(const char *path)
{
	struct stat st;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return AL_EIO;
	if (stat(path, &st) < 0)
		return AL_EIO;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0002))
		return AL_EPERM;
	return 0;
}

/* Said once, when the proxy really answers: the banner a terminal user
 * reads, and systemd's READY=1 (a no-op without $NOTIFY_SOCKET). */
static void announce_ready(struct broker *b)
{
	b->ready = true;
	log_info("airlock is up", KV_S("api", b->api_sock_path), KV_S("mode", b->cfg.mode));
	if (b->cfg.banner)
		print_banner(b);
	sd_notifyf(0, "READY=1\nSTATUS=proxy on %s:%u and %s:%u, mode %s", b->cfg.bind,
		   b->cfg.http_port, b->cfg.bind, b->cfg.https_port, b->cfg.mode);
}

/* --ui-listen: the page's login token is <state dir>/ui-token, made on
 * first use (`airlock ui token` prints it). */
static int ui_start(struct broker *b, char *err, size_t errlen)
{
	char tok[UI_TOKEN_LEN + 1];
	bool created;
	int ret = ui_token_load(b->cfg.state_dir, tok, &created);
	if (ret < 0) {
		snprintf(err, errlen, "--ui-listen: %s/%s: %s%s", b->cfg.state_dir, UI_TOKEN_FILE, airlock_strerror(ret),
			 ret == AL_EPERM ? " (it must be ours and mode 0600)" : "");
		return ret;
	}
	ret = api_ui_start(b, b->cfg.ui_listen, tok, &b->ui, err, errlen);
	secure_wipe(tok, sizeof tok);
	if (ret == 0)
		log_info("web page serving", KV_S("listen", b->cfg.ui_listen),
			 KV_S("login", created ? "a new token: airlock ui token prints it" : "airlock ui token prints it"));
	return ret;
}

int broker_start(struct broker *b, uv_loop_t *loop, char *err, size_t errlen)
{
	int ret;
	const char *dir = b->cfg.state_dir;
	struct policy_frame first = { 0 };
	char why[160];

	b->loop = loop;
	b->api_sock_path = path_join(b->cfg.run_dir, API_SOCKET_NAME);
	b->ipc_sock_path = path_join(b->cfg.run_dir, IPC_SOCKET_NAME);
	b->ca_path = path_join(dir, CA_CERT_FILE);

	if ((ret = dir_ensure_private(dir, 0700)) < 0) {
		snprintf(err, errlen, "state dir %s: %s (it must be ours and closed to others)", dir,
			 airlock_strerror(ret));
		return ret;
	}
	if (strcmp(b->cfg.run_dir, dir) != 0 && (ret = run_dir_ensure(b->cfg.run_dir)) < 0) {
		snprintf(err, errlen, "run dir %s: %s (it must be a directory of ours)", b->cfg.run_dir,
			 airlock_strerror(ret));
		return ret;
	}
	if ((ret = load_seal_key(b, err, errlen)) < 0)
		return ret;
	if (b->cfg.store) {
		/* the fleet's CA and state, from the store */
		if ((ret = fleet_open(b, err, errlen)) < 0)
			return ret;
	} else {
		if ((ret = ca_ensure(dir)) < 0) {
			snprintf(err, errlen, "CA in %s: %s", dir, airlock_strerror(ret));
			return ret;
		}
		if ((ret = state_open(dir, &b->state, err, errlen)) < 0)
			return ret;
	}
	/* the broker never runs with a policy it cannot deliver: it would
	 * answer for changes that never reach the enforcer */
	b->policy_version = 0;
	if ((ret = broker_policy_prepare(b, b->state.doc, &first, why, sizeof why)) < 0) {
		snprintf(err, errlen, "%s: %s; the enforcer could never receive it: remove rules or "
			 "clients from that file (refusing to start)", b->state.path, why);
		return ret;
	}
	/* the key check, a format 1 state migrated (written: so only once
	 * nothing else refuses the start), values that no longer open named;
	 * the policy does not depend on sealed values */
	if ((ret = sealed_load(b, err, errlen)) < 0) {
		policy_frame_free(&first);
		return ret;
	}

	uv_timer_init(loop, &b->ttl_timer);
	b->ttl_timer.data = b;
	uv_signal_init(loop, &b->sig_term);
	uv_signal_init(loop, &b->sig_int);
	uv_signal_init(loop, &b->sig_hup);
	b->sig_term.data = b;
	b->sig_int.data = b;
	b->sig_hup.data = b;
	uv_signal_start(&b->sig_term, on_signal, SIGTERM);
	uv_signal_start(&b->sig_int, on_signal, SIGINT);
	uv_signal_start(&b->sig_hup, on_signal, SIGHUP);
	b->handles_open = true;
	broker_policy_publish(b, &first);   /* version 1; re-arms the TTL timer */
	fleet_start(b);

	b->started_ms = time_now_ms();
	approvals_start(b);
	tokens_today_load(b);
	if ((ret = webhook_start(b, err, errlen)) < 0)
		return ret;
	if ((ret = ipc_server_start(b, b->ipc_sock_path, &b->ipc, err, errlen)) < 0)
		return ret;
	if ((ret = broker_oauth_start(b)) < 0) {
		snprintf(err, errlen, "cannot start OAuth refreshes: %s", airlock_strerror(ret));
		return ret;
	}
	if (b->cfg.metrics_listen &&
	    (ret = api_metrics_start(b, b->cfg.metrics_listen, &b->metrics, err, errlen)) < 0)
		return ret;
	if (b->cfg.ui_listen && (ret = ui_start(b, err, errlen)) < 0)
		return ret;
	/* api.sock last: its appearance means the API serves; "ready" (banner,
	 * READY=1) waits for the enforcer to say it listens */
	if ((ret = api_server_start(b, b->api_sock_path, &b->api, err, errlen)) < 0)
		return ret;
	if (!b->cfg.no_enforcer && (ret = supervisor_start(b, &b->sup, err, errlen)) < 0)
		return ret;
	log_info("broker serving", KV_S("state_dir", dir), KV_S("api", b->api_sock_path),
		 KV_S("mode", b->cfg.mode), KV_I("clients", json_array_size(state_clients(b->state.doc))),
		 KV_I("rules", json_array_size(state_rules(b->state.doc))),
		 KV_I("secrets", json_array_size(state_secrets(b->state.doc))));
	if (b->cfg.no_enforcer)
		announce_ready(b);
	return 0;
}

void broker_enforcer_ready(struct broker *b, unsigned http_port, unsigned https_port)
{
	if (b->ready || b->stopping)
		return;
	log_info("enforcer listening", KV_I("http_port", http_port), KV_I("https_port", https_port));
	announce_ready(b);
}

void broker_fail(struct broker *b, const char *why)
{
	if (b->stopping)
		return;
	log_error("stopping: the enforcer cannot run", KV_S("reason", why));
	dprintf(b->tty_fd > 2 ? b->tty_fd : 2, "airlock-broker: %s\n", why);
	b->exit_code = 1;
	broker_stop(b);
}

/* The enforcer is gone: only now the IPC door closes (a draining enforcer
 * still asks for headers, and sees no broker vanish under it). */
static void on_supervisor_done(void *arg)
{
	struct broker *b = arg;
	ipc_server_stop(b->ipc);
	b->ipc = NULL;
	broker_oauth_stop(b);
}

/* Stop in the order a drain needs: no new API calls, then the enforcer
 * (which stops accepting and lets open requests finish), then the door. */
void broker_stop(struct broker *b)
{
	if (b->stopping)
		return;
	b->stopping = true;
	sd_notify(0, "STOPPING=1");
	api_server_stop(b->api);
	b->api = NULL;
	api_server_stop(b->metrics);
	b->metrics = NULL;
	api_server_stop(b->ui);
	b->ui = NULL;
	if (b->handles_open) {
		uv_close((uv_handle_t *)&b->ttl_timer, NULL);
		uv_close((uv_handle_t *)&b->sig_term, NULL);
		uv_close((uv_handle_t *)&b->sig_int, NULL);
		uv_close((uv_handle_t *)&b->sig_hup, NULL);
		b->handles_open = false;
	}
	fleet_stop(b);
	approvals_stop(b);
	struct supervisor *sup = b->sup;
	b->sup = NULL;
	supervisor_stop(sup, on_supervisor_done, b);
}

void broker_free(struct broker *b)
{
	observe_free(b);
	approvals_free(b);
	tokens_today_free(b);
	webhook_free(b);
	state_close(&b->state);
	fleet_free(b);
	policy_frame_free(&b->policy);
	seal_key_wipe(&b->key);
	free(b->api_sock_path);
	free(b->ipc_sock_path);
	free(b->ca_path);
	options_free(&b->cfg);
}
