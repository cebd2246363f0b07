/* The one table of airlock's flags (see flags.h), the checks of each value
 * type, the help text made from the rows, and the argv loop both daemons
 * use. airlock up parses with getopt like every other command and checks
 * each value here, so all three processes accept exactly the same values. */
#include "config.h"

#include "common/flags.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

#define P_ALL (FLAG_P_UP | FLAG_P_BROKER | FLAG_P_ENFORCER)
#define P_UP_BROKER (FLAG_P_UP | FLAG_P_BROKER)
/* a proxy setting: every process takes it, the enforcer is the one that uses it */
#define PROXY FLAG_A_PASS
#define PROXY_LIVE (FLAG_A_PASS | FLAG_A_LIVE)
#define DAY_MS (86400LL * 1000)

static const char *const mode_choices[] = { "strict", "audit", NULL };
static const char *const log_format_choices[] = { "kv", "json", NULL };

const struct flag_row flag_table[FLAG_COUNT] = {
	[FLAG_CONFIG] = { "config", FLAG_T_FILE, P_UP_BROKER, FLAG_A_NOFILE, "FILE",
		.def_note = "<sysconfdir>/airlock/airlock.conf when it exists",
		.help = "read settings from FILE, one KEY = VALUE a line (KEY a flag's name); "
			"flags given here override it" },
	[FLAG_PRINT_CONFIG] = { "print-config", FLAG_T_BOOL, P_UP_BROKER, FLAG_A_NOFILE, NULL,
		.help = "print every setting, its value and where it came from, and exit" },
	[FLAG_BIND] = { "bind", FLAG_T_IP, P_ALL, PROXY, "IP", .def_str = "127.0.0.1",
		.help = "address both proxy listeners bind" },
	[FLAG_HTTP_PORT] = { "http-port", FLAG_T_PORT, P_ALL, PROXY | FLAG_A_ZERO_OFF, "N",
		.def = 3128, .help = "plain HTTP proxy port" },
	[FLAG_HTTPS_PORT] = { "https-port", FLAG_T_PORT, P_ALL, PROXY | FLAG_A_ZERO_OFF, "N",
		.def = 3129, .help = "TLS proxy port; its certificate is signed by airlock's CA" },
	/* not passed on: the broker names its own state dir to the enforcer */
	[FLAG_STATE_DIR] = { "state-dir", FLAG_T_PATH, P_ALL, 0, "DIR",
		.def_note = "$AIRLOCK_STATE_DIR, else $STATE_DIRECTORY (systemd), else "
			    "$XDG_STATE_HOME/airlock, else "
			    "~/.local/state/airlock",
		.help = "state directory: state, seal key, CA and sockets, made 0700 on first run" },
	[FLAG_RUN_DIR] = { "run-dir", FLAG_T_PATH, P_UP_BROKER, 0, "DIR",
		.def_note = "$RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), else the state dir",
		.help = "where api.sock and ipc.sock go, made 0700 when missing" },
	[FLAG_MODE] = { "mode", FLAG_T_ENUM, P_ALL, PROXY_LIVE, NULL, .def_str = "strict",
		.choices = mode_choices,
		.help = "strict denies an unknown HTTPS CONNECT at once; audit also reads and logs "
			"its first inner request before denying" },
	[FLAG_DENY_CIDR] = { "deny-cidr", FLAG_T_CIDR, P_ALL, PROXY_LIVE | FLAG_A_REPEAT, "CIDR",
		.help = "never connect to addresses in CIDR, whatever the rules say" },
	[FLAG_SAN] = { "san", FLAG_T_HOST, P_ALL, PROXY | FLAG_A_REPEAT, "NAME",
		.help = "extra name or address in the TLS listener's certificate" },
	[FLAG_SEAL_KEY_FILE] = { "seal-key-file", FLAG_T_PATH, P_UP_BROKER, 0, "F",
		.def_note = "<state dir>/seal.key",
		.help = "the key that seals secrets at rest, made 0600 on first run" },
	[FLAG_KEYRING] = { "keyring", FLAG_T_BOOL, P_UP_BROKER, 0, NULL,
		.help = "keep the seal key in the OS keyring (libsecret)" },
	[FLAG_RESOLVE] = { "resolve", FLAG_T_PIN, P_ALL, PROXY_LIVE | FLAG_A_REPEAT, "H:P:A",
		.help = "pin host H on port P to address A, for both daemons" },
	[FLAG_UPSTREAM_CA] = { "upstream-ca", FLAG_T_FILE, P_ALL, PROXY_LIVE, "F",
		.help = "also trust the CA certificates in F for upstream servers" },
	[FLAG_LOG_FORMAT] = { "log-format", FLAG_T_ENUM, P_ALL, PROXY, NULL, .def_str = "kv",
		.choices = log_format_choices, .help = "log lines as key=value or JSON" },
	[FLAG_LOG_FILE] = { "log-file", FLAG_T_PATH, P_ALL, PROXY_LIVE, "PATH",
		.def_note = "standard error",
		.help = "append log lines (decisions included) to PATH, created 0640; reopened on "
			"SIGHUP, for logrotate" },
	[FLAG_ENFORCER] = { "enforcer", FLAG_T_PROGRAM, P_UP_BROKER, 0, "PATH",
		.def_note = "the one next to airlock-broker",
		.help = "the airlock-enforcer program to run" },
	[FLAG_NO_ENFORCER] = { "no-enforcer", FLAG_T_BOOL, P_UP_BROKER, 0, NULL,
		.help = "run the broker alone: the API, no proxy (for tests)" },
	[FLAG_DEBUG] = { "debug", FLAG_T_BOOL, P_UP_BROKER, FLAG_A_LIVE, NULL,
		.help = "also log debug lines" },

	/* Limits. Their defaults are named in common/limits.h. */
	[FLAG_METRICS_LISTEN] = { "metrics-listen", FLAG_T_LISTEN, P_UP_BROKER, 0, "A:P",
		.def_note = "none: /metrics only on the API socket",
		.help = "also serve GET /metrics, /healthz and /readyz (nothing else) over TCP on "
			"this address and port, e.g. 127.0.0.1:9464; anyone who reaches it reads them" },
	/* a URI with a password is refused on the command line (broker/options.c)
	 * and never printed back (--print-config) */
	[FLAG_STORE] = { "store", FLAG_T_STORE, P_UP_BROKER, 0, "URI",
		.def_note = "none: state.json in the state dir",
		.help = "keep clients, rules, sealed secrets and the sealed CA in this PostgreSQL "
			"database (postgres://...), shared by every host of a fleet; its password only "
			"from the config file or PGPASSFILE" },
	[FLAG_UI_LISTEN] = { "ui-listen", FLAG_T_LISTEN, P_UP_BROKER, 0, "A:P",
		.def_note = "none: no web page",
		.help = "serve the web page (live decisions, denials to allow, clients, rules, secrets "
			"without values) over HTTP on this address and port, e.g. 127.0.0.1:8077, behind "
			"the login token of `airlock ui token`" },
	[FLAG_APPROVAL_WEBHOOK] = { "approval-webhook", FLAG_T_URL, P_UP_BROKER, 0, "URL",
		.def_note = "none",
		.help = "POST each new held request (an approval to decide) to URL as JSON, signed "
			"with HMAC-SHA256 of --approval-webhook-key-file's key (X-Airlock-Signature)" },
	[FLAG_APPROVAL_WEBHOOK_KEY_FILE] = { "approval-webhook-key-file", FLAG_T_FILE, P_UP_BROKER, 0, "F",
		.def_note = "none (required with --approval-webhook)",
		.help = "the webhook's signing key: the bytes of F, its last newline dropped (16 to "
			"1024 bytes)" },
	[FLAG_WORKERS] = { "workers", FLAG_T_UINT, P_ALL, PROXY, "N", 1, 256,
		.def_note = "one per core", .help = "proxy worker threads" },
	[FLAG_MAX_HEAD_BYTES] = { "max-head-bytes", FLAG_T_UINT, P_ALL, PROXY_LIVE, "N",
		1024, 1024 * 1024, AL_REQ_HEAD_MAX, .help = "request head cap in bytes, 431 past it" },
	[FLAG_MAX_HEADERS] = { "max-headers", FLAG_T_UINT, P_ALL, PROXY_LIVE, "N", 1, 10000,
		AL_REQ_HEADERS_MAX, .help = "header fields per request, 431 past it" },
	[FLAG_HEAD_TIMEOUT] = { "head-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE, "T", 1,
		3600 * 1000, AL_HEAD_TIMEOUT_MS, .help = "time to read a request head" },
	[FLAG_IDLE_TIMEOUT] = { "idle-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE, "T", 1, DAY_MS,
		AL_IDLE_TIMEOUT_MS, .help = "idle keep-alive connections close after T" },
	[FLAG_CONNECT_TIMEOUT] = { "connect-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE, "T", 1,
		3600 * 1000, AL_UPSTREAM_CONNECT_TIMEOUT_MS,
		.help = "upstream connect timeout, 504 past it" },
	[FLAG_UPSTREAM_IDLE_TIMEOUT] = { "upstream-idle-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE,
		"T", 1, DAY_MS, AL_UPSTREAM_IDLE_TIMEOUT_MS,
		.help = "an upstream silent for T is closed" },
	[FLAG_TUNNEL_IDLE_TIMEOUT] = { "tunnel-idle-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE, "T",
		1000, 7 * DAY_MS, AL_TUNNEL_IDLE_TIMEOUT_MS,
		.help = "a CONNECT tunnel (or WebSocket) moving no byte either way for T is closed" },
	[FLAG_DRAIN_TIMEOUT] = { "drain-timeout", FLAG_T_MS, P_ALL, PROXY, "T", 1, 3600 * 1000,
		AL_DRAIN_TIMEOUT_MS,
		.help = "on SIGTERM, how long open requests may take to finish before they are cut" },
	[FLAG_HOLD_TIMEOUT] = { "hold-timeout", FLAG_T_MS, P_ALL, PROXY_LIVE, "T", 1000,
		AL_HOLD_TIMEOUT_MAX_MS, AL_HOLD_TIMEOUT_MS,
		.help = "a held request (a client with on-deny hold) waits T for a person's "
			"approval, then 403 hold-timeout" },
	[FLAG_MAX_CONNS_PER_CLIENT] = { "max-conns-per-client", FLAG_T_UINT, P_ALL, PROXY_LIVE,
		"N", 1, 1000000, AL_CONNS_PER_CLIENT,
		.help = "open connections per client, 429 past it" },
	[FLAG_MAX_H2_STREAMS_PER_CLIENT] = { "max-h2-streams-per-client", FLAG_T_UINT, P_ALL,
		PROXY_LIVE, "N", 1, 1000000, AL_H2_STREAMS_PER_CLIENT,
		.help = "open HTTP/2 streams per client, over all its connections; 429 on the stream "
			"past it" },
	[FLAG_MAX_CONNS] = { "max-conns", FLAG_T_UINT, P_ALL, PROXY_LIVE, "N", 1, 10000000,
		AL_CONNS_TOTAL, .help = "connections with a valid token, in all; 503 past it" },
	[FLAG_MAX_PREAUTH_CONNS] = { "max-preauth-conns", FLAG_T_UINT, P_ALL, PROXY_LIVE, "N", 1,
		10000000, AL_PREAUTH_CONNS_TOTAL,
		.help = "connections that have not shown a valid token yet, in all; past it a new "
			"connection is closed at once" },
	[FLAG_MAX_PREAUTH_PER_SOURCE] = { "max-preauth-per-source", FLAG_T_UINT, P_ALL,
		PROXY_LIVE, "N", 1, 10000000, AL_PREAUTH_CONNS_PER_SOURCE,
		.help = "the same, from one source address: an IPv4 address or an IPv6 /64" },

	[FLAG_BANNER] = { "banner", FLAG_T_BOOL, FLAG_P_BROKER, FLAG_A_NOFILE, NULL,
		.help = "once ready, print the API socket, the CA certificate, the proxy URLs and "
			"the mode (airlock up asks for it)" },
	[FLAG_IPC_SOCKET] = { "ipc-socket", FLAG_T_PATH, FLAG_P_ENFORCER, FLAG_A_NOFILE, "PATH",
		.def_note = "<state dir>/ipc.sock",
		.help = "the broker's IPC socket" },
};

int flag_lookup(const char *name, size_t len, unsigned proc)
{
	for (int i = 0; i < FLAG_COUNT; i++) {
		const struct flag_row *r = &flag_table[i];
		if ((r->procs & proc) && strlen(r->name) == len && memcmp(r->name, name, len) == 0)
			return i;
	}
	return -1;
}

/* ---- values ----------------------------------------------------------- */

static int parse_count(const char *v, long long min, long long max, long long *out)
{
	char *end;
	if (v[0] < '0' || v[0] > '9')
		return AL_EINVAL; /* no sign, no space */
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*end)
		return AL_EINVAL;
	if (errno || n < min || n > max)
		return AL_ERANGE;
	*out = n;
	return 0;
}

static int check_ip(const char *v)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1 ? 0 : AL_EINVAL;
}

/* HOST:PORT:ADDR exactly as the enforcer's resolve_pin_parse() reads it:
 * HOST a DNS name (an IP literal is always judged as itself), ADDR an IPv4
 * literal or an IPv6 literal with or without brackets. */
static int check_pin(const char *v)
{
	const char *c1 = strchr(v, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char host[AL_HOST_BUF], port[8], addr[INET6_ADDRSTRLEN + 1];
	enum host_kind kind;
	uint16_t p;
	uint8_t buf[16];

	if (!c2 || (size_t)(c2 - c1 - 1) >= sizeof port)
		return AL_EINVAL;
	if (host_canon(v, (size_t)(c1 - v), host, &kind) < 0 || kind != HOST_DNS)
		return AL_EINVAL;
	memcpy(port, c1 + 1, (size_t)(c2 - c1 - 1));
	port[c2 - c1 - 1] = '\0';
	if (port_parse(port, &p) < 0)
		return AL_EINVAL;
	const char *a = c2 + 1;
	size_t alen = strlen(a);
	bool bracket = alen >= 2 && a[0] == '[' && a[alen - 1] == ']';
	if (bracket) {
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof addr)
		return AL_EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (!bracket && inet_pton(AF_INET, addr, buf) == 1)
		return 0;
	return inet_pton(AF_INET6, addr, buf) == 1 ? 0 : AL_EINVAL;
}

int flag_listen_split(const char *v, char ip[64], uint16_t *port)
{
	const char *colon = strrchr(v, ':');
	size_t alen;

	if (!colon)
		return AL_EINVAL;
	alen = (size_t)(colon - v);
	if (alen >= 2 && v[0] == '[' && v[alen - 1] == ']') {
		v++;
		alen -= 2;
	} else if (memchr(v, ':', alen)) {
		return AL_EINVAL;   /* an IPv6 address needs its brackets before :PORT */
	}
	if (alen == 0 || alen >= 64)
		return AL_EINVAL;
	memcpy(ip, v, alen);
	ip[alen] = '\0';
	if (check_ip(ip) < 0 || port_parse(colon + 1, port) < 0)
		return AL_EINVAL;
	return 0;
}

/* A URL libcurl will be given: its scheme, then printable bytes without
 * blanks (a header-injecting newline, a space that splits it) and a host. */
static int url_check(const char *v)
{
	size_t n = strlen(v), skip;
	if (n > 2048)
		return AL_EINVAL;
	if (strncmp(v, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return AL_EINVAL;
	if (!v[skip] || v[skip] == '/')
		return AL_EINVAL;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return AL_EINVAL;
	return 0;
}

int flag_value_parse(enum flag_id id, unsigned proc, const char *v, long long *num)
{
	const struct flag_row *r = &flag_table[id];
	long long n = 0;
	int rc = 0;

	if ((r->type == FLAG_T_BOOL) != (v == NULL))
		return AL_EINVAL;
	switch (r->type) {
	case FLAG_T_BOOL:
		n = 1;
		break;
	case FLAG_T_PATH:
		rc = v[0] ? 0 : AL_EINVAL;
		break;
	case FLAG_T_FILE:
		rc = v[0] && access(v, R_OK) == 0 ? 0 : AL_EINVAL;
		break;
	case FLAG_T_PROGRAM:
		rc = v[0] && (proc != FLAG_P_UP || access(v, X_OK) == 0) ? 0 : AL_EINVAL;
		break;
	case FLAG_T_IP:
		rc = check_ip(v);
		break;
	case FLAG_T_PORT: {
		uint16_t p = 0;
		if (!((r->attrs & FLAG_A_ZERO_OFF) && proc == FLAG_P_ENFORCER && strcmp(v, "0") == 0))
			rc = port_parse(v, &p);
		n = p;
		break;
	}
	case FLAG_T_UINT:
		rc = parse_count(v, r->min, r->max, &n);
		break;
	case FLAG_T_MS: {
		int64_t ms = 0;
		rc = duration_parse_ms(v, r->min, r->max, &ms);
		n = ms;
		break;
	}
	case FLAG_T_ENUM:
		rc = AL_EINVAL;
		for (size_t i = 0; r->choices[i]; i++)
			if (strcmp(v, r->choices[i]) == 0) {
				n = (long long)i;
				rc = 0;
			}
		break;
	case FLAG_T_CIDR: {
		struct cidr c;
		rc = cidr_parse(v, &c);
		break;
	}
	case FLAG_T_HOST: {
		char canon[AL_HOST_BUF];
		enum host_kind kind;
		rc = host_canon(v, strlen(v), canon, &kind);
		break;
	}
	case FLAG_T_PIN:
		rc = check_pin(v);
		break;
	case FLAG_T_LISTEN: {
		char ip[64];
		uint16_t p;
		rc = flag_listen_split(v, ip, &p);
		break;
	}
	case FLAG_T_STORE:
		rc = strncmp(v, "postgres://", 11) == 0 || strncmp(v, "postgresql://", 13) == 0
			     ? 0 : AL_EINVAL;
		break;
	case FLAG_T_URL:
		rc = url_check(v);
		break;
	}
	if (rc == 0 && num)
		*num = n;
	return rc;
}

/* ---- words ------------------------------------------------------------ */

void flag_expect(enum flag_id id, unsigned proc, char *buf, size_t cap)
{
	const struct flag_row *r = &flag_table[id];
	char lo[32], hi[32];

	switch (r->type) {
	case FLAG_T_BOOL:
		snprintf(buf, cap, "no value");
		break;
	case FLAG_T_PATH:
		snprintf(buf, cap, "a file or directory name");
		break;
	case FLAG_T_FILE:
		snprintf(buf, cap, "a readable file");
		break;
	case FLAG_T_PROGRAM:
		snprintf(buf, cap, "an executable file");
		break;
	case FLAG_T_IP:
		snprintf(buf, cap, "an IPv4 or IPv6 address");
		break;
	case FLAG_T_PORT:
		snprintf(buf, cap, "a port from %s to 65535",
			 (r->attrs & FLAG_A_ZERO_OFF) && proc == FLAG_P_ENFORCER ? "0 (off)" : "1");
		break;
	case FLAG_T_UINT:
		snprintf(buf, cap, "a number from %lld to %lld", r->min, r->max);
		break;
	case FLAG_T_MS:
		duration_format_ms(r->min, lo, sizeof lo);
		duration_format_ms(r->max, hi, sizeof hi);
		snprintf(buf, cap, "a time from %s to %s, such as 500ms, 10s or 1m", lo, hi);
		break;
	case FLAG_T_ENUM: {
		size_t o = 0, n = 0;
		while (r->choices[n])
			n++;
		buf[0] = '\0';
		for (size_t i = 0; i < n && o < cap; i++)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					      r->choices[i]);
		break;
	}
	case FLAG_T_CIDR:
		snprintf(buf, cap, "an address or network such as 10.0.0.0/8");
		break;
	case FLAG_T_HOST:
		snprintf(buf, cap, "a DNS name or an IP address");
		break;
	case FLAG_T_PIN:
		snprintf(buf, cap, "HOST:PORT:ADDR, HOST a DNS name and ADDR an IP address");
		break;
	case FLAG_T_LISTEN:
		snprintf(buf, cap, "IP:PORT, an IPv6 address in brackets ([::1]:9464)");
		break;
	case FLAG_T_STORE:
		snprintf(buf, cap, "a postgres:// or postgresql:// URI");
		break;
	case FLAG_T_URL:
		snprintf(buf, cap, "an http:// or https:// URL");
		break;
	}
}

void flag_metavar(enum flag_id id, char *buf, size_t cap)
{
	const struct flag_row *r = &flag_table[id];
	size_t o = 0;

	buf[0] = '\0';
	if (r->metavar)
		snprintf(buf, cap, "%s", r->metavar);
	else if (r->choices)
		for (size_t i = 0; r->choices[i] && o < cap; i++)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "|" : "", r->choices[i]);
}

bool flag_default_text(enum flag_id id, char *buf, size_t cap)
{
	const struct flag_row *r = &flag_table[id];

	if (r->def_note)
		return false;
	if (r->def_str) {
		snprintf(buf, cap, "%s", r->def_str);
		return true;
	}
	if (r->type == FLAG_T_PORT || r->type == FLAG_T_UINT) {
		snprintf(buf, cap, "%lld", r->def);
		return true;
	}
	if (r->type == FLAG_T_MS) {
		duration_format_ms(r->def, buf, cap);
		return true;
	}
	return false;
}

bool flag_range_text(enum flag_id id, char *buf, size_t cap)
{
	const struct flag_row *r = &flag_table[id];
	char lo[32], hi[32];

	if (r->type == FLAG_T_UINT) {
		snprintf(buf, cap, "%lld to %lld", r->min, r->max);
		return true;
	}
	if (r->type == FLAG_T_MS) {
		duration_format_ms(r->min, lo, sizeof lo);
		duration_format_ms(r->max, hi, sizeof hi);
		snprintf(buf, cap, "%s to %s", lo, hi);
		return true;
	}
	return false;
}

/* "  --flag VALUE   help text" with the help wrapped at 79 columns. */
static void print_wrapped(FILE *out, const char *head, const char *help)
{
	enum { INDENT = 29, WIDTH = 79 };
	int col = fprintf(out, "  %-26s", head);
	const char *p = help;
	while (*p) {
		const char *sp = strchr(p, ' ');
		int wl = sp ? (int)(sp - p) : (int)strlen(p);
		if (col + 1 + wl > WIDTH && col > INDENT)
			col = fprintf(out, "\n%*s", INDENT - 1, "") - 1;
		col += fprintf(out, " %.*s", wl, p);
		p += wl;
		while (*p == ' ')
			p++;
	}
	fprintf(out, "\n");
}

/* help, then what the row says of repeats, default and range:
 * "time to read a request head (default 10s; 1ms to 1h)" */
static void describe(enum flag_id id, unsigned proc, char *buf, size_t cap)
{
	const struct flag_row *r = &flag_table[id];
	char def[160], value[64], range[64];
	const char *parts[4];
	size_t np = 0, o;

	if (r->attrs & FLAG_A_REPEAT)
		parts[np++] = "repeatable";
	if (r->def_note) {
		snprintf(def, sizeof def, "default: %s", r->def_note);
		parts[np++] = def;
	} else if (flag_default_text(id, value, sizeof value)) {
		snprintf(def, sizeof def, "default %s", value);
		parts[np++] = def;
	}
	if (flag_range_text(id, range, sizeof range))
		parts[np++] = range;
	if ((r->attrs & FLAG_A_ZERO_OFF) && proc == FLAG_P_ENFORCER)
		parts[np++] = "0 turns it off";
	o = (size_t)snprintf(buf, cap, "%s", r->help);
	for (size_t i = 0; i < np && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s%s", i ? "; " : " (", parts[i],
				      i + 1 == np ? ")" : "");
}

void flag_help_print(FILE *out, unsigned proc)
{
	for (int i = 0; i < FLAG_COUNT; i++) {
		if (!(flag_table[i].procs & proc))
			continue;
		char head[64], meta[32], text[512];
		flag_metavar(i, meta, sizeof meta);
		snprintf(head, sizeof head, "--%s%s%s", flag_table[i].name, meta[0] ? " " : "", meta);
		describe(i, proc, text, sizeof text);
		print_wrapped(out, head, text);
	}
}

/* ---- a process's values ------------------------------------------------ */

void flagset_init(struct flagset *fs, unsigned proc)
{
	memset(fs, 0, sizeof *fs);
	fs->proc = proc;
	for (int i = 0; i < FLAG_COUNT; i++) {
		const struct flag_row *r = &flag_table[i];
		struct flag_value *v = &fs->v[i];
		v->src = FLAG_SRC_DEFAULT;
		v->str = r->def_str;
		v->num = r->def;
		if (r->type == FLAG_T_ENUM && flag_value_parse(i, proc, r->def_str, &v->num) < 0)
			abort(); /* a row whose default is not one of its choices: test-flags */
	}
}

void flagset_free(struct flagset *fs)
{
	for (size_t i = 0; i < fs->nuses; i++)
		free(fs->uses[i].value);
	free(fs->uses);
	for (int i = 0; i < FLAG_COUNT; i++)
		free(fs->v[i].list);
	memset(fs, 0, sizeof *fs);
}

int flagset_set(struct flagset *fs, enum flag_id id, const char *v, enum flag_source src,
		char *err, size_t cap)
{
	const struct flag_row *r = &flag_table[id];
	struct flag_value *fv = &fs->v[id];
	char expect[128];
	long long num;

	if (r->type == FLAG_T_BOOL && v) {
		snprintf(err, cap, "--%s takes no value", r->name);
		return AL_EINVAL;
	}
	if (r->type != FLAG_T_BOOL && !v) {
		snprintf(err, cap, "option '--%s' needs a value", r->name);
		return AL_EINVAL;
	}
	/* Twice is a typo or a script's mistake: say so rather than let the
	 * last one win silently. (The config file is a source below the
	 * command line, overridden by it (flagset_overlay), not repeated.) */
	if (fv->n && !(r->attrs & FLAG_A_REPEAT)) {
		snprintf(err, cap, "%s%s given twice", src == FLAG_SRC_FILE ? "" : "--", r->name);
		return AL_EINVAL;
	}
	if (flag_value_parse(id, fs->proc, v, &num) < 0) {
		flag_expect(id, fs->proc, expect, sizeof expect);
		snprintf(err, cap, "bad %s%s '%s': expected %s", src == FLAG_SRC_FILE ? "" : "--", r->name,
			 v, expect);
		return AL_EINVAL;
	}
	fs->uses = xrealloc(fs->uses, (fs->nuses + 1) * sizeof *fs->uses);
	fs->uses[fs->nuses] = (struct flag_use){ id, v ? xstrdup(v) : NULL, 0 };
	fv->src = src;
	fv->num = num;
	fv->str = fs->uses[fs->nuses].value;
	if (r->attrs & FLAG_A_REPEAT) {
		fv->list = xrealloc(fv->list, (fv->n + 1) * sizeof *fv->list);
		fv->list[fv->n] = fv->str;
	}
	fv->n++;
	fs->nuses++;
	return 0;
}

int flagset_parse_argv(struct flagset *fs, int argc, char *const *argv, char *err, size_t cap)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return FLAGS_HELP;
		if (strcmp(a, "--version") == 0)
			return FLAGS_VERSION;
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				snprintf(err, cap, "unexpected argument '%s'", argv[i + 1]);
				return AL_EINVAL;
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, cap, a[0] == '-' && a[1] ? "unknown option '%s'" : "unexpected argument '%s'",
				 a);
			return AL_EINVAL;
		}
		const char *name = a + 2;
		size_t len = strcspn(name, "=");
		int id = flag_lookup(name, len, fs->proc);
		if (id < 0) {
			snprintf(err, cap, "unknown option '--%.*s'", (int)len, name);
			return AL_EINVAL;
		}
		const char *v = NULL;
		if (name[len] == '=') {
			v = name + len + 1;
		} else if (flag_table[id].type != FLAG_T_BOOL) {
			if (i + 1 >= argc) {
				snprintf(err, cap, "option '--%s' needs a value", flag_table[id].name);
				return AL_EINVAL;
			}
			v = argv[++i];
		}
		int rc = flagset_set(fs, id, v, FLAG_SRC_ARGV, err, cap);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const char *flagset_str(const struct flagset *fs, enum flag_id id)
{
	return fs->v[id].str;
}
