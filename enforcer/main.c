/* airlock-enforcer: the proxy that faces the sandboxes. Only wiring here:
 * flags, deny set and resolver, TLS listener credentials, listening
 * sockets, worker threads, the IPC client, and a clean stop on SIGTERM or
 * SIGINT. Everything else is in libenforcer.a. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/ca.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/denyset.h"
#include "enforcer/budget.h"
#include "enforcer/ipc_client.h"
#include "enforcer/leafcache.h"
#include "enforcer/resolve.h"
#include "enforcer/settings.h"
#include "enforcer/tlsconf.h"
#include "enforcer/worker.h"

static struct ipc_client *ipc, *ipc_owned;
static uv_signal_t sig_term, sig_int, sig_hup;
static struct proxy *the_proxy;

/* SIGTERM: the listening sockets close here and in every worker (a
 * socket still open anywhere would take connections nobody accepts), then
 * the workers drain (workers_stop, once this loop ends). */
static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	log_info("stopping: draining open requests", KV_I("signal", signum),
		 KV_I("drain_timeout_ms", the_proxy->cfg->drain_timeout_ms));
	if (the_proxy->http_fd >= 0)
		close(the_proxy->http_fd);
	if (the_proxy->https_fd >= 0)
		close(the_proxy->https_fd);
	the_proxy->http_fd = the_proxy->https_fd = -1;
	ipc_client_stop(ipc);
	ipc = NULL;
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
}

/* SIGHUP (logrotate, or the broker passing its own on): reopen the log
 * file. Settings are the broker's to change: it restarts us with new ones. */
static void on_hup(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	const char *path = the_proxy->cfg->log_file;
	int rc = path ? log_file_open(path) : 0;
	if (rc < 0)
		log_error("cannot reopen the log file", KV_S("path", path), KV_S("error", airlock_strerror(rc)));
	else
		log_info("SIGHUP: log reopened", KV_S("path", path ? path : "stderr"));
}

static int tls_listener_cred(const struct config *cfg, gnutls_certificate_credentials_t *out)
{
	struct ca ca;
	int rc;
	if ((rc = ca_load(cfg->state_dir, &ca)) < 0) {
		log_error("cannot load the CA", KV_S("state_dir", cfg->state_dir), KV_S("error", airlock_strerror(rc)));
		return rc;
	}
	const char **sans = calloc(cfg->nsans + 1, sizeof *sans);
	if (!sans)
		abort();
	sans[0] = cfg->bind;
	for (size_t i = 0; i < cfg->nsans; i++)
		sans[i + 1] = cfg->sans[i];
	rc = tlsconf_listener_cred(&ca, sans, cfg->nsans + 1, out);
	free(sans);
	ca_free(&ca);
	if (rc < 0)
		log_error("cannot make the listener certificate", KV_S("error", airlock_strerror(rc)));
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct proxy px;
	struct denyset *deny = NULL;
	struct ca mitm_ca;
	bool have_ca = false;
	int rc, status = 1;

	json_wipe_on_free();   /* broker answers carry secrets */
	rc = config_parse(&cfg, argc, argv);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return 2;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* two descriptors per proxied connection: take all the process may have */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	/* the broker passes SIGHUP on (reopen the log): one that comes before
	 * on_hup is installed - the listeners are open by then, so the broker
	 * may already count this enforcer as started - must not end it */
	signal(SIGHUP, SIG_IGN);
	log_init("airlock-enforcer", cfg.log_format, LOG_LVL_INFO, stderr);
	if (cfg.log_file && (rc = log_file_open(cfg.log_file)) < 0) {
		fprintf(stderr, "airlock-enforcer: cannot open the log file %s: %s\n", cfg.log_file,
			airlock_strerror(rc));
		config_free(&cfg);
		return 1;
	}

	memset(&px, 0, sizeof px);
	px.cfg = &cfg;
	px.http_fd = px.https_fd = -1;
	if ((rc = denyset_new(cfg.deny, cfg.ndeny, &deny)) < 0 ||
	    (rc = resolver_new(cfg.pins, cfg.npins, deny, &px.resolver)) < 0 ||
	    (rc = connlimit_new(&px.per_client)) < 0 || (rc = connlimit_new(&px.per_source)) < 0 ||
	    (rc = connlimit_new(&px.per_client_streams)) < 0) {
		log_error("start-up failed", KV_S("error", airlock_strerror(rc)));
		goto out;
	}
	if (cfg.https_port && tls_listener_cred(&cfg, &px.tls_cred) < 0)
		goto out;
	/* interception: leaves minted from the CA, verified upstreams */
	if (ca_load(cfg.state_dir, &mitm_ca) == 0) {
		have_ca = true;
		if ((rc = leafcache_new(&mitm_ca, AL_LEAF_CACHE_MAX, &px.leaves)) < 0) {
			log_error("cannot make the leaf cache", KV_S("error", airlock_strerror(rc)));
			goto out;
		}
	} else {
		log_warn("no CA: CONNECTs that need inspection are refused");
	}
	if ((rc = tlsconf_upstream_cred(cfg.upstream_ca, &px.up_cred)) < 0 ||
	    (rc = tlsconf_resume_new(AL_RESUME_CACHE_SLOTS, &px.resume)) < 0) {
		log_error("cannot set up upstream TLS", KV_S("upstream_ca", cfg.upstream_ca),
			  KV_S("error", airlock_strerror(rc)));
		goto out;
	}
	if (cfg.http_port && listener_bind(cfg.bind, cfg.http_port, &px.http_fd) < 0)
		goto out;
	if (cfg.https_port && listener_bind(cfg.bind, cfg.https_port, &px.https_fd) < 0)
		goto out;
	uv_loop_t *loop = uv_default_loop();
	/* before the workers: they read px.ipc; nothing is read or sent before uv_run */
	if (ipc_client_start(loop, &px, cfg.ipc_socket, &ipc) < 0)
		goto out;
	ipc_owned = px.ipc = ipc;
	if (workers_start(&px, cfg.workers) < 0) {
		log_error("cannot start the workers");
		goto out;
	}

	the_proxy = &px;
	uv_signal_init(loop, &sig_term);
	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_hup, SIGHUP);
	log_info("listening", KV_S("bind", cfg.bind), KV_I("http_port", cfg.http_port),
		 KV_I("https_port", cfg.https_port), KV_I("workers", cfg.workers),
		 KV_S("mode", config_mode_name(cfg.mode)));
	uv_run(loop, UV_RUN_DEFAULT);
	status = 0;
	workers_stop(&px);
	uv_loop_close(loop);
out:
	if (px.http_fd >= 0)
		close(px.http_fd);
	if (px.https_fd >= 0)
		close(px.https_fd);
	if (px.workers)
		workers_stop(&px);
	if (ipc) {   /* start-up failed after the IPC client started */
		ipc_client_stop(ipc);
		uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	}
	ipc_client_free(ipc_owned);
	leafcache_free(px.leaves);
	if (have_ca)
		ca_free(&mitm_ca);
	if (px.up_cred)
		gnutls_certificate_free_credentials(px.up_cred);
	tlsconf_resume_free(px.resume);
	resolver_free(px.resolver);
	denyset_free(deny);
	connlimit_free(px.per_client);
	connlimit_free(px.per_source);
	connlimit_free(px.per_client_streams);
	budget_free_all();
	if (px.tls_cred)
		gnutls_certificate_free_credentials(px.tls_cred);
	config_free(&cfg);
	return status;
}
