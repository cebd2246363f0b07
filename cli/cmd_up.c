/* `airlock up`: validate the flags (one table: name, value, check, help),
 * then exec airlock-broker --banner with the same flags. The broker creates
 * the state, serves the API and supervises the enforcer; exec (not fork) so
 * that signals, exit status and the pid a supervisor sees are the broker's. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

#define BROKER_NAME "airlock-broker"

struct up_flag;
typedef int up_check_fn(const struct up_flag *f, const char *v);

struct up_flag {
	const char *name;
	const char *metavar;     /* NULL: takes no value */
	bool repeat;
	up_check_fn *check;      /* 0 when the value is acceptable */
	const char *expect;      /* what a good value looks like, for the error */
	const char *help;
	long long min, max;      /* check_count (a number), check_ms (milliseconds) */
};

static int check_ip(const struct up_flag *f, const char *v)
{
	uint8_t buf[16];
	(void)f;
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1 ? 0 : -1;
}

static int check_port(const struct up_flag *f, const char *v)
{
	uint16_t p;
	return port_parse(v, &p);
}

static int check_nonempty(const struct up_flag *f, const char *v)
{
	return v[0] ? 0 : -1;
}

static int check_mode(const struct up_flag *f, const char *v)
{
	return strcmp(v, "strict") == 0 || strcmp(v, "audit") == 0 ? 0 : -1;
}

static int check_log_format(const struct up_flag *f, const char *v)
{
	return strcmp(v, "kv") == 0 || strcmp(v, "json") == 0 ? 0 : -1;
}

static int check_cidr(const struct up_flag *f, const char *v)
{
	struct cidr c;
	return cidr_parse(v, &c);
}

static int check_host(const struct up_flag *f, const char *v)
{
	char out[AL_HOST_BUF];
	enum host_kind kind;
	return host_canon(v, strlen(v), out, &kind);
}

static int check_readable(const struct up_flag *f, const char *v)
{
	return v[0] && access(v, R_OK) == 0 ? 0 : -1;
}

static int check_exec(const struct up_flag *f, const char *v)
{
	return v[0] && access(v, X_OK) == 0 ? 0 : -1;
}

/* HOST:PORT:ADDR as the enforcer reads it: HOST a DNS name (an IP literal
 * is always judged as itself), ADDR an IPv4 literal or an IPv6 literal
 * (brackets optional). */
static int check_resolve(const struct up_flag *f, const char *v)
{
	int ret = -1;
	char *s = xstrdup(v);
	char *c1 = strchr(s, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char host[AL_HOST_BUF];
	enum host_kind kind;
	uint8_t buf[16];
	if (c2 == NULL)
		goto out;
	*c1 = *c2 = '\0';
	char *addr = c2 + 1;
	size_t al = strlen(addr);
	bool v6_only = false;
	if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']') {
		addr[al - 1] = '\0';
		addr++;
		v6_only = true;
	}
	if (host_canon(s, strlen(s), host, &kind) < 0 || kind != HOST_DNS)
		goto out;
	if (check_port(f, c1 + 1) == 0 &&
	    (v6_only ? inet_pton(AF_INET6, addr, buf) == 1 : check_ip(f, addr) == 0))
		ret = 0;
out:
	free(s);
	return ret;
}

/* A decimal count in [min, max]. */
static int check_count(const struct up_flag *f, const char *v)
{
	char *end;
	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	return errno == 0 && *end == '\0' && n >= f->min && n <= f->max ? 0 : -1;
}

/* A time in [min, max] milliseconds: "250ms", or a duration ("10s", "1m",
 * a bare number of seconds), as the enforcer reads it. */
static int check_ms(const struct up_flag *f, const char *v)
{
	int64_t ms;
	return duration_parse_ms(v, f->min, f->max, &ms);
}

static const struct up_flag up_flags[] = {
	{ "bind", "IP", false, check_ip, "an IPv4 or IPv6 address",
	  "address both proxy listeners bind (default 127.0.0.1)", 0, 0 },
	{ "http-port", "N", false, check_port, "a port from 1 to 65535",
	  "plain HTTP proxy port (default 3128)", 0, 0 },
	{ "https-port", "N", false, check_port, "a port from 1 to 65535",
	  "TLS proxy port (default 3129)", 0, 0 },
	{ "state-dir", "DIR", false, check_nonempty, "a directory",
	  "state directory (default $AIRLOCK_STATE_DIR, else $XDG_STATE_HOME/airlock, else "
	  "~/.local/state/airlock); made 0700 on first run", 0, 0 },
	{ "mode", "strict|audit", false, check_mode, "strict or audit",
	  "strict (default) denies unknown HTTPS at once; audit also reads and logs the first "
	  "inner request before denying", 0, 0 },
	{ "deny-cidr", "CIDR", true, check_cidr, "an address or network such as 10.0.0.0/8",
	  "never connect to addresses in CIDR, whatever the rules say (repeatable)", 0, 0 },
	{ "san", "NAME", true, check_host, "a DNS name or an IP address",
	  "extra name or address in the TLS listener's certificate (repeatable)", 0, 0 },
	{ "seal-key-file", "F", false, check_nonempty, "a file name",
	  "the key that seals secrets at rest (default <state dir>/seal.key, made 0600 on first "
	  "run)", 0, 0 },
	{ "keyring", NULL, false, NULL, NULL, "keep the seal key in the OS keyring (libsecret)", 0, 0 },
	{ "resolve", "H:P:A", true, check_resolve, "HOST:PORT:ADDR, like curl's --resolve",
	  "pin host H on port P to address A, for both daemons (repeatable)", 0, 0 },
	{ "upstream-ca", "F", false, check_readable, "a readable PEM file",
	  "also trust the CA certificates in F for upstream servers", 0, 0 },
	{ "log-format", "kv|json", false, check_log_format, "kv or json",
	  "decision log lines as key=value (default) or JSON", 0, 0 },
	{ "enforcer", "PATH", false, check_exec, "an executable file",
	  "the airlock-enforcer binary to run (default: next to airlock-broker)", 0, 0 },
	{ "no-enforcer", NULL, false, NULL, NULL, "run the broker alone (API only; for tests)", 0, 0 },
	{ "debug", NULL, false, NULL, NULL, "also log debug lines", 0, 0 },
	/* Limits (SPEC §3), passed through to the enforcer. */
	{ "workers", "N", false, check_count, "a number from 1 to 256",
	  "proxy worker threads (default: one per core)", 1, 256 },
	{ "max-head-bytes", "N", false, check_count, "a number from 1024 to 1048576",
	  "request head cap in bytes, 431 past it (default 65536)", 1024, 1024 * 1024 },
	{ "max-headers", "N", false, check_count, "a number from 1 to 10000",
	  "header fields per request, 431 past it (default 100)", 1, 10000 },
	{ "head-timeout", "T", false, check_ms, "a time such as 500ms, 10s or 1m (up to 1h)",
	  "time to read a request head (default 10s)", 1, 3600000 },
	{ "idle-timeout", "T", false, check_ms, "a time such as 500ms, 60s or 5m (up to 1d)",
	  "idle keep-alive connections close after T (default 60s)", 1, 86400000 },
	{ "connect-timeout", "T", false, check_ms, "a time such as 500ms, 10s or 1m (up to 1h)",
	  "upstream connect timeout, 504 past it (default 10s)", 1, 3600000 },
	{ "upstream-idle-timeout", "T", false, check_ms, "a time such as 30s or 5m (up to 1d)",
	  "an upstream silent for T is closed (default 300s)", 1, 86400000 },
	{ "tunnel-idle-timeout", "T", false, check_ms, "a time such as 10m or 1h (1s to 7d)",
	  "a CONNECT tunnel moving no byte for T is closed (default 1h)", 1000, 7 * 86400000LL },
	{ "max-conns-per-client", "N", false, check_count, "a number from 1 to 1000000",
	  "open connections per client, 429 past it (default 512)", 1, 1000000 },
	{ "max-conns", "N", false, check_count, "a number from 1 to 10000000",
	  "connections with a valid token, in all; past it 503 (default 10000)", 1, 10000000 },
	{ "max-preauth-conns", "N", false, check_count, "a number from 1 to 10000000",
	  "connections that have not shown a valid token yet, in all; past it a new connection is "
	  "closed at once (default 2048)", 1, 10000000 },
	{ "max-preauth-per-source", "N", false, check_count, "a number from 1 to 10000000",
	  "the same, from one source address: an IPv4 address or an IPv6 /64 (default 128)", 1, 10000000 },
};
#define NFLAGS ARRAY_SIZE(up_flags)

/* "  --flag VALUE   help text" with the help wrapped at 79 columns. */
static void print_wrapped(const char *head, const char *help)
{
	enum { INDENT = 29, WIDTH = 79 };
	int col = printf("  %-26s", head);
	const char *p = help;
	while (*p) {
		const char *sp = strchr(p, ' ');
		int wl = sp ? (int)(sp - p) : (int)strlen(p);
		if (col + 1 + wl > WIDTH && col > INDENT)
			col = printf("\n%*s", INDENT - 1, "") - 1;
		col += printf(" %.*s", wl, p);
		p += wl;
		while (*p == ' ')
			p++;
	}
	printf("\n");
}

static void up_help(void)
{
	printf("Usage: airlock up [--bind IP] [--http-port 3128] [--https-port 3129] [--state-dir DIR]\n"
	       "                  [--mode strict|audit] [--deny-cidr CIDR]... [--san NAME]...\n"
	       "                  [--seal-key-file F] [--keyring] [--resolve H:P:A]... [--upstream-ca F]\n"
	       "                  [--log-format kv|json] [--debug] [LIMITS]\n"
	       "\n"
	       "Start airlock in the foreground: the broker (REST API on <state dir>/api.sock)\n"
	       "and the enforcer (the two proxy listeners). On first run it creates the state\n"
	       "dir, the seal key and the CA. It prints the API socket, the CA certificate\n"
	       "that sandboxes must trust, and the two proxy URLs. SIGTERM or SIGINT stops it.\n"
	       "\n"
	       "Options:\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		char head[64];
		snprintf(head, sizeof head, "--%s%s%s", up_flags[i].name, up_flags[i].metavar ? " " : "",
			 up_flags[i].metavar ? up_flags[i].metavar : "");
		print_wrapped(head, up_flags[i].help);
	}
	printf("  %-26s %s\n", "-h, --help", "show this help");
}

/* Flags whose value is a file or directory (metavar DIR, F or PATH) reach
 * the broker as absolute paths: the banner shows them, and they must mean
 * the same in the broker, the enforcer it spawns and later CLI calls. */
static char *value_for_broker(const struct up_flag *f, const char *v)
{
	bool is_path = f->metavar && (strcmp(f->metavar, "DIR") == 0 || strcmp(f->metavar, "F") == 0 ||
				      strcmp(f->metavar, "PATH") == 0);
	if (!is_path || v[0] == '/')
		return xstrdup(v);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(v);
	return path_join(cwd, v);
}

/* airlock-broker next to this binary (a build tree or an install), else in
 * BINDIR, else in LIBEXECDIR. */
static char *find_broker(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = path_join(self[0] ? self : "/", BROKER_NAME);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	static const char *const dirs[] = { BINDIR, LIBEXECDIR };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = path_join(dirs[i], BROKER_NAME);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int cmd_up_run(struct cli *cli, int argc, char **argv)
{
	struct option opts[NFLAGS + 2];
	size_t seen[NFLAGS] = { 0 };
	const char *arg;
	int c, rc = CLI_EXIT_OK;
	/* broker, --banner, every flag with its value, --state-dir DIR, NULL */
	char **bargv = xcalloc((size_t)argc * 2 + 6, sizeof *bargv);
	size_t nb = 2;
	char *broker = NULL;
	bool state_dir_given = false;

	for (size_t i = 0; i < NFLAGS; i++)
		opts[i] = (struct option){ up_flags[i].name,
					   up_flags[i].metavar ? required_argument : no_argument, NULL,
					   OPT_FIRST_LOCAL + (int)i };
	opts[NFLAGS] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[NFLAGS + 1] = (struct option){ NULL, 0, NULL, 0 };

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		size_t i = (size_t)(c - OPT_FIRST_LOCAL);
		const struct up_flag *f = &up_flags[i];
		if (seen[i]++ && !f->repeat) {
			rc = cli_usage(cli, "--%s given twice", f->name);
			goto out;
		}
		if (f->check && f->check(f, arg) != 0) {
			rc = cli_usage(cli, "bad --%s '%s': expected %s", f->name, arg, f->expect);
			goto out;
		}
		/* Normalised as "--name" "value": the broker parses the same way. */
		size_t l = strlen(f->name) + 3;
		bargv[nb] = xmalloc(l);
		snprintf(bargv[nb++], l, "--%s", f->name);
		if (f->metavar)
			bargv[nb++] = value_for_broker(f, arg);
		if (strcmp(f->name, "state-dir") == 0)
			state_dir_given = true;
	}
	if (c == CLI_OPT_STOP) {
		rc = cli->stop_rc;
		goto out;
	}
	if (cli_optind() < argc) {
		rc = cli_usage(cli, "unexpected argument '%s'", argv[cli_optind()]);
		goto out;
	}
	/* Always name the state dir: the broker and this CLI (which finds the
	 * API socket inside it) must agree on one. */
	if (!state_dir_given) {
		static const struct up_flag dir = { .name = "state-dir", .metavar = "DIR" };
		bargv[nb++] = xstrdup("--state-dir");
		bargv[nb++] = value_for_broker(&dir, cli_state_dir(cli));
	}
	broker = find_broker();
	if (broker == NULL) {
		rc = cli_fail("up: cannot find %s next to this program or in %s", BROKER_NAME, BINDIR);
		goto out;
	}
	bargv[0] = xstrdup(broker);
	bargv[1] = xstrdup("--banner");
	bargv[nb] = NULL;
	fflush(stdout);
	fflush(stderr);
	execv(broker, bargv);
	rc = cli_fail("up: cannot run %s: %s", broker, strerror(errno));
out:
	for (size_t i = 0; i < nb; i++)
		free(bargv[i]);
	free(bargv);
	free(broker);
	return rc;
}

const struct cli_cmd cmd_up = {
	.name = "up",
	.run = cmd_up_run,
	.summary = "start airlock (broker and proxy) in the foreground",
	.usage = "Usage: airlock up [OPTIONS]\n",
	.own_options = true,
	.print_help = up_help,
};
