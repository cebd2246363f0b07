/* airlock-broker's options, as one table: each row names the flag, whether
 * it takes an argument, and whether the enforcer receives it too (the proxy
 * flags are checked here so a typo fails at start, not in a restart loop). */
#include "config.h"

#include "broker/options.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

enum opt_id {
	OPT_STATE_DIR = 256, OPT_SEAL_KEY_FILE, OPT_KEYRING, OPT_BIND, OPT_HTTP_PORT,
	OPT_HTTPS_PORT, OPT_MODE, OPT_DENY_CIDR, OPT_SAN, OPT_RESOLVE, OPT_UPSTREAM_CA,
	OPT_LOG_FORMAT, OPT_ENFORCER, OPT_NO_ENFORCER, OPT_BANNER, OPT_DEBUG, OPT_HELP,
	OPT_VERSION, OPT_LIMIT,
};

struct opt_row {
	const char *name;
	int has_arg;
	enum opt_id id;
	bool to_enforcer;
	const char *arg;
	const char *help;
};

static const struct opt_row opt_table[] = {
	{ "state-dir", 1, OPT_STATE_DIR, false, "DIR", "state directory (0700)" },
	{ "seal-key-file", 1, OPT_SEAL_KEY_FILE, false, "F", "seal key file (default <state>/seal.key)" },
	{ "keyring", 0, OPT_KEYRING, false, "", "keep the seal key in the OS keyring (libsecret)" },
	{ "bind", 1, OPT_BIND, true, "IP", "proxy listen address (default 127.0.0.1)" },
	{ "http-port", 1, OPT_HTTP_PORT, true, "N", "plain HTTP proxy port (default 3128)" },
	{ "https-port", 1, OPT_HTTPS_PORT, true, "N", "TLS proxy port (default 3129)" },
	{ "mode", 1, OPT_MODE, true, "MODE", "strict (default) or audit" },
	{ "deny-cidr", 1, OPT_DENY_CIDR, true, "CIDR", "deny these addresses (repeatable)" },
	{ "san", 1, OPT_SAN, true, "NAME", "extra SAN of the TLS listener (repeatable)" },
	{ "resolve", 1, OPT_RESOLVE, true, "H:P:A", "pin a name to an address (repeatable)" },
	{ "upstream-ca", 1, OPT_UPSTREAM_CA, true, "F", "extra trusted CA for upstreams" },
	{ "log-format", 1, OPT_LOG_FORMAT, true, "kv|json", "log line format" },
	{ "workers", 1, OPT_LIMIT, true, "N", "enforcer worker threads (default: one per core)" },
	{ "max-head-bytes", 1, OPT_LIMIT, true, "N", "request head cap (431)" },
	{ "max-headers", 1, OPT_LIMIT, true, "N", "header field cap (431)" },
	{ "head-timeout", 1, OPT_LIMIT, true, "T", "request head read timeout (10s)" },
	{ "idle-timeout", 1, OPT_LIMIT, true, "T", "idle keep-alive timeout (60s)" },
	{ "connect-timeout", 1, OPT_LIMIT, true, "T", "upstream connect timeout (10s)" },
	{ "upstream-idle-timeout", 1, OPT_LIMIT, true, "T", "upstream idle timeout (300s)" },
	{ "tunnel-idle-timeout", 1, OPT_LIMIT, true, "T", "CONNECT tunnel idle timeout (1h)" },
	{ "max-conns-per-client", 1, OPT_LIMIT, true, "N", "open connections per client (429)" },
	{ "max-conns", 1, OPT_LIMIT, true, "N", "authenticated connections in all (503)" },
	{ "max-preauth-conns", 1, OPT_LIMIT, true, "N", "connections without a valid token yet" },
	{ "max-preauth-per-source", 1, OPT_LIMIT, true, "N", "pre-auth connections from one address (IPv6: /64)" },
	{ "enforcer", 1, OPT_ENFORCER, false, "PATH", "airlock-enforcer binary to run" },
	{ "no-enforcer", 0, OPT_NO_ENFORCER, false, "", "serve the API only" },
	{ "banner", 0, OPT_BANNER, false, "", "print where things are once ready" },
	{ "debug", 0, OPT_DEBUG, false, "", "debug log lines" },
	{ "help", 0, OPT_HELP, false, "", "this text" },
	{ "version", 0, OPT_VERSION, false, "", "print the version" },
};
#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))
#define ROW_BASE 1000

static void usage(FILE *out)
{
	fprintf(out, "usage: airlock-broker [options]\n");
	for (size_t i = 0; i < NOPTS; i++)
	{
		char left[64];
		snprintf(left, sizeof left, "--%s %s", opt_table[i].name, opt_table[i].arg);
		fprintf(out, "  %-30s %s\n", left, opt_table[i].help);
	}
}

static int bad(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "airlock-broker: --%s %s: %s\n", flag, val, why);
	return AL_EINVAL;
}

static int check_resolve(const char *s)
{
	/* HOST:PORT:ADDR, ADDR an IP literal (IPv6 with or without brackets). */
	const char *c1 = strchr(s, ':');
	if (!c1)
		return AL_EINVAL;
	const char *c2 = strchr(c1 + 1, ':');
	if (!c2)
		return AL_EINVAL;
	char host[AL_HOST_BUF];
	enum host_kind kind;
	/* a pin is for a name: the enforcer judges an IP literal as itself
	 * and refuses such a pin */
	if (host_canon(s, (size_t)(c1 - s), host, &kind) < 0 || kind != HOST_DNS)
		return AL_EINVAL;
	char port[8];
	size_t plen = (size_t)(c2 - c1 - 1);
	if (plen == 0 || plen >= sizeof port)
		return AL_EINVAL;
	memcpy(port, c1 + 1, plen);
	port[plen] = '\0';
	uint16_t p;
	if (port_parse(port, &p) < 0)
		return AL_EINVAL;
	char addr[64];
	const char *a = c2 + 1;
	size_t alen = strlen(a);
	bool v6_only = false;
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
		v6_only = true; /* "[1.2.3.4]" is not an address the enforcer reads */
	}
	if (alen == 0 || alen >= sizeof addr)
		return AL_EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	unsigned char buf[16];
	if ((v6_only || inet_pton(AF_INET, addr, buf) != 1) && inet_pton(AF_INET6, addr, buf) != 1)
		return AL_EINVAL;
	return 0;
}

static int check_value(const struct opt_row *row, const char *v, struct broker_config *cfg)
{
	char canon[AL_HOST_BUF];
	enum host_kind kind;
	struct cidr c;
	uint16_t port;

	switch (row->id) {
	case OPT_BIND:
		/* an address as the enforcer binds it: no brackets ("[::1]"
		 * passes host_canon but not the enforcer's bind) */
		if (strchr(v, '[') || host_canon(v, strlen(v), canon, &kind) < 0 || kind == HOST_DNS)
			return bad(row->name, v, "not an IP address");
		free(cfg->bind);
		cfg->bind = xstrdup(canon);
		return 0;
	case OPT_HTTP_PORT:
	case OPT_HTTPS_PORT:
		if (port_parse(v, &port) < 0)
			return bad(row->name, v, "not a port (1..65535)");
		if (row->id == OPT_HTTP_PORT)
			cfg->http_port = port;
		else
			cfg->https_port = port;
		return 0;
	case OPT_MODE:
		if (strcmp(v, "strict") != 0 && strcmp(v, "audit") != 0)
			return bad(row->name, v, "must be strict or audit");
		free(cfg->mode);
		cfg->mode = xstrdup(v);
		return 0;
	case OPT_DENY_CIDR:
		if (cidr_parse(v, &c) < 0)
			return bad(row->name, v, "not a CIDR (10.0.0.0/8, fd00::/8)");
		return 0;
	case OPT_SAN:
		if (host_canon(v, strlen(v), canon, &kind) < 0)
			return bad(row->name, v, "not a DNS name or IP address");
		return 0;
	case OPT_RESOLVE:
		if (check_resolve(v) < 0)
			return bad(row->name, v, "expected HOST:PORT:ADDR");
		return 0;
	case OPT_UPSTREAM_CA:
		if (access(v, R_OK) != 0)
			return bad(row->name, v, "cannot read the file");
		return 0;
	case OPT_LOG_FORMAT:
		if (log_format_parse(v, &cfg->log_format) < 0)
			return bad(row->name, v, "must be kv or json");
		return 0;
	case OPT_LIMIT:
		/* the enforcer owns the ranges; refuse here what cannot be a
		 * number or a duration, so a typo fails now */
		if (!*v || strlen(v) > 16 || strspn(v, "0123456789msh") != strlen(v) ||
		    !(v[0] >= '0' && v[0] <= '9'))
			return bad(row->name, v, "expected a number or a duration (500ms, 10s, 1m)");
		return 0;
	default:
		return 0;
	}
}

char *options_default_state_dir(void)
{
	return state_dir_default();
}

static void enforcer_arg(struct broker_config *cfg, const char *a)
{
	cfg->enforcer_argv = xrealloc(cfg->enforcer_argv, (cfg->enforcer_argc + 2) * sizeof(char *));
	cfg->enforcer_argv[cfg->enforcer_argc++] = xstrdup(a);
	cfg->enforcer_argv[cfg->enforcer_argc] = NULL;
}

int options_parse(int argc, char **argv, struct broker_config *cfg)
{
	struct option longopts[NOPTS + 1];
	int ret = 0;

	memset(cfg, 0, sizeof *cfg);
	cfg->bind = xstrdup("127.0.0.1");
	cfg->http_port = 3128;
	cfg->https_port = 3129;
	cfg->mode = xstrdup("strict");
	cfg->log_format = LOG_FMT_KV;

	for (size_t i = 0; i < NOPTS; i++)
		/* val is the row: several rows share an id (OPT_LIMIT) */
		longopts[i] = (struct option){ opt_table[i].name, opt_table[i].has_arg, NULL,
					       ROW_BASE + (int)i };
	memset(&longopts[NOPTS], 0, sizeof longopts[NOPTS]);

	optind = 0; /* glibc: 0 re-initialises getopt fully (tests parse more than once) */
	opterr = 0;
	for (;;) {
		int idx = -1;
		int c = getopt_long(argc, argv, "", longopts, &idx);
		if (c == -1)
			break;
		const struct opt_row *row = NULL;
		if (c >= ROW_BASE && c < ROW_BASE + (int)NOPTS)
			row = &opt_table[c - ROW_BASE];
		if (!row) {
			fprintf(stderr, "airlock-broker: unknown or incomplete option %s (see --help)\n",
				argv[optind - 1]);
			ret = AL_EINVAL;
			goto out;
		}
		if (row->has_arg) {
			ret = check_value(row, optarg, cfg);
			if (ret < 0)
				goto out;
		}
		switch (row->id) {
		case OPT_STATE_DIR:
			free(cfg->state_dir);
			cfg->state_dir = xstrdup(optarg);
			break;
		case OPT_SEAL_KEY_FILE:
			free(cfg->seal_key_file);
			cfg->seal_key_file = xstrdup(optarg);
			break;
		case OPT_KEYRING:
			cfg->keyring = true;
			break;
		case OPT_ENFORCER:
			free(cfg->enforcer_path);
			cfg->enforcer_path = xstrdup(optarg);
			break;
		case OPT_NO_ENFORCER:
			cfg->no_enforcer = true;
			break;
		case OPT_BANNER:
			cfg->banner = true;
			break;
		case OPT_DEBUG:
			cfg->debug = true;
			break;
		case OPT_HELP:
			usage(stdout);
			ret = 1;
			goto out;
		case OPT_VERSION:
			printf("airlock-broker %s\n", PACKAGE_VERSION);
			ret = 1;
			goto out;
		default:
			break;
		}
		if (row->to_enforcer) {
			char flag[64];
			snprintf(flag, sizeof flag, "--%s", row->name);
			enforcer_arg(cfg, flag);
			if (row->has_arg)
				enforcer_arg(cfg, optarg);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "airlock-broker: unexpected argument %s (see --help)\n", argv[optind]);
		ret = AL_EINVAL;
		goto out;
	}
	if (cfg->keyring && cfg->seal_key_file) {
		fprintf(stderr, "airlock-broker: --keyring and --seal-key-file exclude each other\n");
		ret = AL_EINVAL;
		goto out;
	}
	if (!cfg->state_dir)
		cfg->state_dir = options_default_state_dir();
out:
	return ret;
}

void options_free(struct broker_config *cfg)
{
	free(cfg->state_dir);
	free(cfg->seal_key_file);
	free(cfg->bind);
	free(cfg->mode);
	free(cfg->enforcer_path);
	for (size_t i = 0; i < cfg->enforcer_argc; i++)
		free(cfg->enforcer_argv[i]);
	free(cfg->enforcer_argv);
	memset(cfg, 0, sizeof *cfg);
}
