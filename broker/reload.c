/* SIGHUP: reopen the log file and read the config file again (logrotate
 * and `systemctl reload`). What changes where:
 *   - live in the broker: --debug, --log-file, --log-format;
 *   - the proxy's settings (every flag the broker hands to the enforcer:
 *     mode, deny CIDRs, pins, upstream CA, limits, ports, bind): the broker
 *     restarts the enforcer with them (it drains first; new connections are
 *     refused for that moment);
 *   - the state dir, the sockets' dir, the seal key, --keyring and the
 *     enforcer program: only at the next start (a warning says so).
 * A config file that no longer parses changes nothing: the error is
 * logged and the running settings stay. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "broker/broker.h"
#include "broker/supervise.h"
#include "common/log.h"

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool argv_differs(const struct broker_config *a, const struct broker_config *b)
{
	if (a->enforcer_argc != b->enforcer_argc)
		return true;
	for (size_t i = 0; i < a->enforcer_argc; i++)
		if (strcmp(a->enforcer_argv[i], b->enforcer_argv[i]) != 0)
			return true;
	return false;
}

static void warn_needs_restart(const struct broker_config *old, const struct broker_config *nc)
{
	static const char *const fmt = "changed in the config file; takes effect when airlock restarts";
	if (str_differs(old->state_dir, nc->state_dir))
		log_warn(fmt, KV_S("key", "state-dir"));
	if (str_differs(old->run_dir, nc->run_dir))
		log_warn(fmt, KV_S("key", "run-dir"));
	if (str_differs(old->seal_key_file, nc->seal_key_file) || old->keyring != nc->keyring)
		log_warn(fmt, KV_S("key", "seal-key-file/keyring"));
	if (str_differs(old->enforcer_path, nc->enforcer_path) || old->no_enforcer != nc->no_enforcer)
		log_warn(fmt, KV_S("key", "enforcer/no-enforcer"));
	if (str_differs(old->store, nc->store))
		log_warn(fmt, KV_S("key", "store"));
	if (str_differs(old->metrics_listen, nc->metrics_listen))
		log_warn(fmt, KV_S("key", "metrics-listen"));
	if (str_differs(old->ui_listen, nc->ui_listen))
		log_warn(fmt, KV_S("key", "ui-listen"));
}

#define SWAP(a, b) do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

void broker_reload(struct broker *b)
{
	struct broker_config nc;
	int ret;

	sd_notify(0, "RELOADING=1");
	if (b->cfg.log_file && (ret = log_file_open(b->cfg.log_file)) < 0)
		log_error("cannot reopen the log file", KV_S("path", b->cfg.log_file),
			  KV_S("error", airlock_strerror(ret)));
	log_info("SIGHUP: log reopened; reading the config file again",
		 KV_S("config", b->cfg.config_path ? b->cfg.config_path : "none"));
	ret = options_parse(b->argc, b->argv, &nc);
	if (ret != 0) {
		/* options_parse said why on stderr (the log) */
		log_error("config not reloaded; the running settings stay");
		options_free(&nc);
		supervisor_signal(b->sup, SIGHUP);
		sd_notify(0, "READY=1");
		return;
	}
	warn_needs_restart(&b->cfg, &nc);
	bool restart = argv_differs(&b->cfg, &nc);
	if (str_differs(b->cfg.log_file, nc.log_file) && nc.log_file &&
	    (ret = log_file_open(nc.log_file)) < 0) {
		log_error("cannot open the new log file; keeping the old one", KV_S("path", nc.log_file),
			  KV_S("error", airlock_strerror(ret)));
	} else if (b->cfg.log_file && !nc.log_file) {
		log_warn("log-file removed from the config: stays until airlock restarts");
	} else {
		SWAP(b->cfg.log_file, nc.log_file);
	}
	b->cfg.debug = nc.debug;
	b->cfg.log_format = nc.log_format;
	log_init("airlock-broker", b->cfg.log_format, b->cfg.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, stderr);
	if (restart) {
		/* what the enforcer runs with, and what status and the banner say */
		SWAP(b->cfg.enforcer_argv, nc.enforcer_argv);
		SWAP(b->cfg.enforcer_argc, nc.enforcer_argc);
		SWAP(b->cfg.mode, nc.mode);
		SWAP(b->cfg.bind, nc.bind);
		b->cfg.http_port = nc.http_port;
		b->cfg.https_port = nc.https_port;
		b->cfg.drain_timeout_ms = nc.drain_timeout_ms;
		log_info("proxy settings changed; restarting the enforcer with them", KV_S("mode", b->cfg.mode));
		supervisor_restart(b->sup);
	} else {
		supervisor_signal(b->sup, SIGHUP);
	}
	options_free(&nc);
	log_info("reloaded");
	sd_notify(0, "READY=1");
}
