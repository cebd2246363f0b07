/* airlock-broker's command line, parsed with the table of common/flags.c
 * into struct broker_config. Proxy flags are validated here and handed to
 * the enforcer unchanged. */
#ifndef AIRLOCK_BROKER_OPTIONS_H
#define AIRLOCK_BROKER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"

struct broker_config {
	char *state_dir;
	char *run_dir;         /* api.sock and ipc.sock: --run-dir, $RUNTIME_DIRECTORY, state_dir */
	char *log_file;        /* NULL: stderr */
	char *config_path;     /* the config file read (NULL: none), read again on SIGHUP */
	uint64_t drain_timeout_ms;
	char *seal_key_file;   /* NULL: <state>/seal.key */
	bool keyring;
	char *bind;            /* "127.0.0.1" */
	uint16_t http_port, https_port;
	char *mode;            /* "strict" | "audit" */
	char *enforcer_path;   /* NULL: look next to /proc/self/exe, then BINDIR/LIBEXECDIR */
	bool no_enforcer;
	bool banner;
	enum log_format log_format;
	bool debug;
	char *metrics_listen;  /* "IP:PORT" or NULL */
	char *store;           /* --store: the fleet store's URI (may hold a password), or NULL */
	char *ui_listen;       /* --ui-listen "IP:PORT" or NULL */
	char *approval_webhook;          /* URL or NULL (broker/webhook.c) */
	char *approval_webhook_key_file; /* its signing key's file, or NULL */
	/* Arguments passed to the enforcer as they were given (NULL-terminated). */
	char **enforcer_argv;
	size_t enforcer_argc;
};

/* Parse argv and the config file (--config, else the default one when it
 * exists; the command line overrides it). Returns 0, or 1 when --help,
 * --version or --print-config was handled (exit 0), or an error after
 * printing a one-line reason to stderr (exit 2); a config file's names
 * FILE:LINE and the key. */
int options_parse(int argc, char **argv, struct broker_config *cfg) AL_MUST_CHECK;
void options_free(struct broker_config *cfg);
/* The default state dir: $AIRLOCK_STATE_DIR, $XDG_STATE_HOME/airlock,
 * ~/.local/state/airlock (malloc'd). */
char *options_default_state_dir(void);

#endif
