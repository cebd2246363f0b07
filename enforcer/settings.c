/* The enforcer's flags: parsed with the one table of common/flags.c (the
 * broker checks the same values before it passes them on), then copied
 * into struct config, which the workers read. */
#include "config.h"

#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/flags.h"
#include "common/ipc.h"
#include "common/xmalloc.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: airlock-enforcer [flags]\n");
	flag_help_print(out, FLAG_P_ENFORCER);
	fprintf(out, "  %-26s %s\n", "-h, --help", "this text");
	fprintf(out, "  %-26s %s\n", "--version", "print the version");
}

/* The values the table checked, as the workers read them. Only --resolve
 * is parsed again, into the resolver's own struct. */
static int config_from_flags(struct config *cfg, const struct flagset *fs)
{
	const struct flag_value *v = fs->v;
	int rc;

	cfg->state_dir = v[FLAG_STATE_DIR].n ? xstrdup(v[FLAG_STATE_DIR].str) : state_dir_default();
	cfg->ipc_socket = v[FLAG_IPC_SOCKET].n ? xstrdup(v[FLAG_IPC_SOCKET].str)
					       : path_join(cfg->state_dir, IPC_SOCKET_NAME);
	cfg->bind = xstrdup(flagset_str(fs, FLAG_BIND));
	cfg->http_port = (uint16_t)v[FLAG_HTTP_PORT].num;
	cfg->https_port = (uint16_t)v[FLAG_HTTPS_PORT].num;
	cfg->mode = strcmp(flagset_str(fs, FLAG_MODE), "audit") == 0 ? MODE_AUDIT : MODE_STRICT;
	cfg->log_format = strcmp(flagset_str(fs, FLAG_LOG_FORMAT), "json") == 0 ? LOG_FMT_JSON : LOG_FMT_KV;
	if (v[FLAG_UPSTREAM_CA].n)
		cfg->upstream_ca = xstrdup(v[FLAG_UPSTREAM_CA].str);

	cfg->ndeny = v[FLAG_DENY_CIDR].n;
	cfg->deny = xcalloc(cfg->ndeny + 1, sizeof *cfg->deny);
	for (size_t i = 0; i < cfg->ndeny; i++)
		if ((rc = cidr_parse(v[FLAG_DENY_CIDR].list[i], &cfg->deny[i])) < 0)
			return rc;
	cfg->nsans = v[FLAG_SAN].n;
	cfg->sans = xcalloc(cfg->nsans + 1, sizeof *cfg->sans);
	for (size_t i = 0; i < cfg->nsans; i++)
		cfg->sans[i] = xstrdup(v[FLAG_SAN].list[i]);
	cfg->npins = v[FLAG_RESOLVE].n;
	cfg->pins = xcalloc(cfg->npins + 1, sizeof *cfg->pins);
	for (size_t i = 0; i < cfg->npins; i++)
		if ((rc = resolve_pin_parse(v[FLAG_RESOLVE].list[i], &cfg->pins[i])) < 0)
			return rc;

	if (v[FLAG_WORKERS].n) {
		cfg->workers = (unsigned)v[FLAG_WORKERS].num;
	} else {
		/* one per core, within the flag's range: 256 cores or more is 256, not 1 */
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		long max = (long)flag_table[FLAG_WORKERS].max;
		cfg->workers = n < 1 ? 1 : n > max ? (unsigned)max : (unsigned)n;
	}
	cfg->max_head_bytes = (size_t)v[FLAG_MAX_HEAD_BYTES].num;
	cfg->max_headers = (size_t)v[FLAG_MAX_HEADERS].num;
	cfg->head_timeout_ms = (unsigned)v[FLAG_HEAD_TIMEOUT].num;
	cfg->idle_timeout_ms = (unsigned)v[FLAG_IDLE_TIMEOUT].num;
	cfg->connect_timeout_ms = (unsigned)v[FLAG_CONNECT_TIMEOUT].num;
	cfg->upstream_idle_timeout_ms = (unsigned)v[FLAG_UPSTREAM_IDLE_TIMEOUT].num;
	cfg->tunnel_idle_timeout_ms = (unsigned)v[FLAG_TUNNEL_IDLE_TIMEOUT].num;
	cfg->drain_timeout_ms = (unsigned)v[FLAG_DRAIN_TIMEOUT].num;
	cfg->hold_timeout_ms = (unsigned)v[FLAG_HOLD_TIMEOUT].num;
	if (v[FLAG_LOG_FILE].n)
		cfg->log_file = xstrdup(v[FLAG_LOG_FILE].str);
	cfg->max_conns_per_client = (unsigned)v[FLAG_MAX_CONNS_PER_CLIENT].num;
	cfg->max_conns = (unsigned)v[FLAG_MAX_CONNS].num;
	cfg->max_preauth_conns = (unsigned)v[FLAG_MAX_PREAUTH_CONNS].num;
	cfg->max_preauth_per_source = (unsigned)v[FLAG_MAX_PREAUTH_PER_SOURCE].num;
	return 0;
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	struct flagset fs;
	char err[512];
	int rc;

	memset(cfg, 0, sizeof *cfg);
	flagset_init(&fs, FLAG_P_ENFORCER);
	rc = flagset_parse_argv(&fs, argc, argv, err, sizeof err);
	if (rc == FLAGS_HELP) {
		usage(stdout);
		rc = 1;
	} else if (rc == FLAGS_VERSION) {
		printf("airlock-enforcer %s\n", PACKAGE_VERSION);
		rc = 1;
	} else if (rc < 0) {
		fprintf(stderr, "airlock-enforcer: %s (see --help)\n", err);
	} else if ((rc = config_from_flags(cfg, &fs)) < 0) {
		/* not expected: the table checks with cidr_parse() and the same
		 * rules as resolve_pin_parse() */
		fprintf(stderr, "airlock-enforcer: bad --deny-cidr or --resolve (%s)\n", airlock_strerror(rc));
		rc = AL_EINVAL;
	}
	flagset_free(&fs);
	if (rc != 0)
		config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	free(cfg->state_dir);
	free(cfg->ipc_socket);
	free(cfg->bind);
	free(cfg->upstream_ca);
	free(cfg->log_file);
	free(cfg->deny);
	for (size_t i = 0; i < cfg->nsans; i++)
		free(cfg->sans[i]);
	free(cfg->sans);
	free(cfg->pins);
	memset(cfg, 0, sizeof *cfg);
}

const char *config_mode_name(enum proxy_mode m)
{
	return m == MODE_AUDIT ? "audit" : "strict";
}
