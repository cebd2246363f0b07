/* The enforcer's flags, described once as a table (name, type, range,
 * default, help) and parsed from it: "--flag VALUE" or "--flag=VALUE".
 * Unknown flags and out-of-range values are usage errors. */
#include "settings.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/limits.h"
#include "common/xmalloc.h"

enum flag_type { F_STR, F_PORT, F_UINT, F_MS, F_MODE, F_LOGFMT, F_CIDR, F_SAN, F_RESOLVE };

struct flag {
	const char *name;
	enum flag_type type;
	size_t off;                  /* offset in struct config (scalar flags) */
	long long min, max;          /* F_UINT, F_MS (ms) */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct flag flags[] = {
	{ "state-dir", F_STR, OFF(state_dir), 0, 0, "state directory (ca.pem, ca.key; default as the broker's)" },
	{ "ipc-socket", F_STR, OFF(ipc_socket), 0, 0, "the broker's IPC socket (default STATE/ipc.sock)" },
	{ "bind", F_STR, OFF(bind), 0, 0, "listen address (default 127.0.0.1)" },
	{ "http-port", F_PORT, OFF(http_port), 0, 65535, "plain HTTP proxy port (default 3128, 0 = off)" },
	{ "https-port", F_PORT, OFF(https_port), 0, 65535, "TLS proxy port (default 3129, 0 = off)" },
	{ "mode", F_MODE, OFF(mode), 0, 0, "strict|audit (default strict)" },
	{ "deny-cidr", F_CIDR, 0, 0, 0, "never dial this range (repeatable)" },
	{ "san", F_SAN, 0, 0, 0, "extra SAN of the TLS listener certificate (repeatable)" },
	{ "resolve", F_RESOLVE, 0, 0, 0, "HOST:PORT:ADDR pin (repeatable)" },
	{ "upstream-ca", F_STR, OFF(upstream_ca), 0, 0, "extra CA file trusted upstream" },
	{ "log-format", F_LOGFMT, OFF(log_format), 0, 0, "kv|json (default kv)" },
	{ "workers", F_UINT, OFF(workers), 1, 256, "worker threads (default: one per core)" },
	{ "max-head-bytes", F_UINT, OFF(max_head_bytes), 1024, 1024 * 1024, "request head cap (431)" },
	{ "max-headers", F_UINT, OFF(max_headers), 1, 10000, "header field cap (431)" },
	{ "head-timeout", F_MS, OFF(head_timeout_ms), 1, 3600000, "request head read timeout (10s; 500ms, 2s, 1m)" },
	{ "idle-timeout", F_MS, OFF(idle_timeout_ms), 1, 86400000, "idle keep-alive timeout (60s)" },
	{ "connect-timeout", F_MS, OFF(connect_timeout_ms), 1, 3600000, "upstream connect timeout (10s)" },
	{ "upstream-idle-timeout", F_MS, OFF(upstream_idle_timeout_ms), 1, 86400000, "upstream idle timeout (300s)" },
	{ "tunnel-idle-timeout", F_MS, OFF(tunnel_idle_timeout_ms), 1000, 7 * 86400000LL, "CONNECT tunnel idle timeout (1h)" },
	{ "max-conns-per-client", F_UINT, OFF(max_conns_per_client), 1, 1000000, "open connections per client (429)" },
	{ "max-conns", F_UINT, OFF(max_conns), 1, 10000000, "authenticated connections in all (503)" },
	{ "max-preauth-conns", F_UINT, OFF(max_preauth_conns), 1, 10000000, "connections without a valid token yet (2048)" },
	{ "max-preauth-per-source", F_UINT, OFF(max_preauth_per_source), 1, 10000000, "pre-auth ones from one address or /64 (128)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: airlock-enforcer [flags]\n");
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		fprintf(out, "  --%-24s %s\n", flags[i].name, flags[i].help);
	fprintf(out, "  --%-24s %s\n", "help", "this text");
}

static int parse_uint(const char *s, long long min, long long max, unsigned long long *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return AL_EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return AL_EINVAL;
	if ((long long)v < min || (long long)v > max)
		return AL_ERANGE;
	*out = v;
	return 0;
}

static int apply(struct config *cfg, const struct flag *f, const char *val)
{
	char *base = (char *)cfg;
	unsigned long long u;
	int rc = 0;

	switch (f->type) {
	case F_STR: {
		char **p = (char **)(base + f->off);
		free(*p);
		*p = xstrdup(val);
		break;
	}
	case F_PORT:
		if ((rc = parse_uint(val, f->min, f->max, &u)) < 0)
			break;
		*(uint16_t *)(base + f->off) = (uint16_t)u;
		break;
	case F_UINT:
		if ((rc = parse_uint(val, f->min, f->max, &u)) < 0)
			break;
		if (f->off == OFF(max_head_bytes) || f->off == OFF(max_headers))
			*(size_t *)(base + f->off) = (size_t)u;
		else
			*(unsigned *)(base + f->off) = (unsigned)u;
		break;
	case F_MS:
	{
		int64_t ms;
		if ((rc = duration_parse_ms(val, f->min, f->max, &ms)) == 0)
			*(unsigned *)(base + f->off) = (unsigned)ms;
		break;
	}
	case F_MODE:
		if (strcmp(val, "strict") == 0)
			cfg->mode = MODE_STRICT;
		else if (strcmp(val, "audit") == 0)
			cfg->mode = MODE_AUDIT;
		else
			rc = AL_EINVAL;
		break;
	case F_LOGFMT:
		rc = log_format_parse(val, &cfg->log_format);
		break;
	case F_CIDR: {
		struct cidr c;
		if ((rc = cidr_parse(val, &c)) < 0)
			break;
		cfg->deny = xrealloc(cfg->deny, (cfg->ndeny + 1) * sizeof *cfg->deny);
		cfg->deny[cfg->ndeny++] = c;
		break;
	}
	case F_SAN:
		cfg->sans = xrealloc(cfg->sans, (cfg->nsans + 1) * sizeof *cfg->sans);
		cfg->sans[cfg->nsans++] = xstrdup(val);
		break;
	case F_RESOLVE: {
		struct resolve_pin pin;
		if ((rc = resolve_pin_parse(val, &pin)) < 0)
			break;
		cfg->pins = xrealloc(cfg->pins, (cfg->npins + 1) * sizeof *cfg->pins);
		cfg->pins[cfg->npins++] = pin;
		break;
	}
	}
	return rc;
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->http_port = 3128;
	cfg->https_port = 3129;
	cfg->mode = MODE_STRICT;
	cfg->log_format = LOG_FMT_KV;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	/* one per core, within the flag's range: 256 cores or more is 256, not 1 */
	cfg->workers = n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
	cfg->max_head_bytes = AL_REQ_HEAD_MAX;
	cfg->max_headers = AL_REQ_HEADERS_MAX;
	cfg->head_timeout_ms = AL_HEAD_TIMEOUT_MS;
	cfg->idle_timeout_ms = AL_IDLE_TIMEOUT_MS;
	cfg->connect_timeout_ms = AL_UPSTREAM_CONNECT_TIMEOUT_MS;
	cfg->upstream_idle_timeout_ms = AL_UPSTREAM_IDLE_TIMEOUT_MS;
	cfg->tunnel_idle_timeout_ms = TUNNEL_IDLE_TIMEOUT_MS;
	cfg->max_conns_per_client = AL_CONNS_PER_CLIENT;
	cfg->max_conns = AL_CONNS_TOTAL;
	cfg->max_preauth_conns = AL_PREAUTH_CONNS_TOTAL;
	cfg->max_preauth_per_source = AL_PREAUTH_CONNS_PER_SOURCE;
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	config_defaults(cfg);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, "airlock-enforcer: unexpected argument '%s'\n", arg);
			return AL_EINVAL;
		}
		arg += 2;
		size_t nlen = strcspn(arg, "=");
		const struct flag *f = NULL;
		for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
			if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, arg, nlen) == 0)
				f = &flags[k];
		if (!f) {
			fprintf(stderr, "airlock-enforcer: unknown flag '--%.*s' (see --help)\n", (int)nlen, arg);
			return AL_EINVAL;
		}
		if (arg[nlen] == '=') {
			val = arg + nlen + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "airlock-enforcer: --%s needs a value\n", f->name);
			return AL_EINVAL;
		}
		int rc = apply(cfg, f, val);
		if (rc < 0) {
			fprintf(stderr, "airlock-enforcer: --%s: bad value '%s' (%s)\n", f->name, val,
				airlock_strerror(rc));
			return AL_EINVAL;
		}
	}
	if (!cfg->bind)
		cfg->bind = xstrdup("127.0.0.1");
	/* the broker's default: run on their own, the two find each other */
	if (!cfg->state_dir)
		cfg->state_dir = state_dir_default();
	if (!cfg->ipc_socket)
		cfg->ipc_socket = path_join(cfg->state_dir, IPC_SOCKET_NAME);
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->state_dir);
	free(cfg->ipc_socket);
	free(cfg->bind);
	free(cfg->upstream_ca);
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
