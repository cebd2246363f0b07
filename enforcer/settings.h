/* airlock-enforcer's configuration: every flag, parsed with the table of
 * common/flags.c, with defaults from common/limits.h. Read-only once the
 * workers start; shared by all of them. (Not "config.h": that name is
 * autoconf's.) */
#ifndef AIRLOCK_ENFORCER_SETTINGS_H
#define AIRLOCK_ENFORCER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"
#include "common/netmatch.h"
#include "enforcer/resolve.h"

enum proxy_mode { MODE_STRICT, MODE_AUDIT };

struct config {
	char *state_dir;
	char *ipc_socket;
	char *bind;                  /* an IP literal */
	uint16_t http_port;          /* 0: no plain listener */
	uint16_t https_port;         /* 0: no TLS listener */
	enum proxy_mode mode;
	struct cidr *deny;
	size_t ndeny;
	char **sans;
	size_t nsans;
	struct resolve_pin *pins;
	size_t npins;
	char *upstream_ca;
	enum log_format log_format;
	char *log_file;              /* NULL: stderr */
	unsigned workers;
	/* limits */
	size_t max_head_bytes;
	size_t max_headers;
	unsigned head_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned connect_timeout_ms;
	unsigned upstream_idle_timeout_ms;
	unsigned tunnel_idle_timeout_ms;  /* CONNECT tunnel with no byte either way */
	unsigned hold_timeout_ms;         /* a held request waits this long for a person */
	unsigned drain_timeout_ms;        /* SIGTERM: open requests may finish this long */
	unsigned max_conns_per_client;
	unsigned max_conns;               /* authenticated connections in all */
	unsigned max_preauth_conns;       /* connections without a valid token yet */
	unsigned max_preauth_per_source;  /* ... from one address (IPv6: one /64) */
};

/* Parse argv. Returns 0, 1 when --help was printed (exit 0), or AL_EINVAL
 * with a one-line message on stderr (exit 2). */
int config_parse(struct config *cfg, int argc, char **argv) AL_MUST_CHECK;
void config_free(struct config *cfg);
const char *config_mode_name(enum proxy_mode m);

#endif
