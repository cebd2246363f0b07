/* `airlock audit suggest`: turn the denials in a decision log (key=value
 * lines, or --log-format json lines; common/logread.c reads them) into the
 * `airlock allow` commands that would have let them through, grouped and
 * counted. Reads a file or stdin, or the broker's last decisions; this file
 * checks the decisions, suggest.c decides the rules (with the broker's
 * secrets when it answers, without otherwise). The log is untrusted input
 * (a sandbox chooses hosts, methods and paths): lines that are not decision
 * lines are skipped, over-long lines are skipped whole, every value is
 * checked with the rule vocabulary (netmatch.h) before it is printed, and
 * every printed word is shell-quoted. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/suggest.h"
#include "common/bytes.h"
#include "common/denyset.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/logread.h"
#include "common/netmatch.h"
#include "common/reasons.h"
#include "common/xmalloc.h"

#define AUDIT_LINE_MAX AL_AUDIT_LINE_MAX
#define AUDIT_SUGGEST_MAX AL_AUDIT_SUGGEST_MAX
#define AUDIT_HASH_SLOTS (2 * AUDIT_SUGGEST_MAX) /* a power of two */
#define AUDIT_SINCE_MAX (3650LL * 24 * 3600)

struct suggest {
	int64_t cutoff;
	const char *client; /* only this client, or NULL */
	bool learned;       /* allowed requests count too (after a --learn round) */
	struct denyset *deny; /* addresses the enforcer never dials */
	struct suggestion *s;
	size_t n;
	int32_t slots[AUDIT_HASH_SLOTS]; /* index + 1 into s, 0 empty */
	/* what was read, for the summary on stderr */
	unsigned long lines, decisions, denials, allowed, old, other_client, unfixable, malformed, too_long, dropped;
};

/* ---- from a denial to a rule ---- */

/* A path a rule can hold exactly, or else the nearest suffix glob above the
 * first character a rule path cannot hold ('%' of a byte that stays encoded,
 * '*' that a rule would read as a glob...): /a/b%20c/d -> /a/<star>. */
static char *rule_path(const char *path, bool *generalised)
{
	*generalised = false;
	if (strchr(path, '*') == NULL && path_pattern_parse(path) == 0)
		return xstrdup(path);
	if (path[0] != '/')
		return NULL;
	size_t bad = 0;
	while (path[bad] && path[bad] != '*' && path[bad] != '%' && path[bad] != '?' && path[bad] != '#' &&
	       path[bad] != '\\' && (unsigned char)path[bad] > ' ' && (unsigned char)path[bad] < 0x7f)
		bad++;
	size_t slash = bad;
	while (slash > 0 && path[slash] != '/')
		slash--;
	if (slash > AL_PATH_MAX - 2)
		return NULL;
	char *glob = xmalloc(slash + 3);
	memcpy(glob, path, slash + 1);
	glob[slash + 1] = '*';
	glob[slash + 2] = '\0';
	if (path_pattern_parse(glob) < 0) {
		free(glob);
		return NULL;
	}
	*generalised = true;
	return glob;
}

/* FNV-1a of s then a separator (NULL and "" differ). */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	return fnv1a_mix(fnv1a_str(h, s ? s : ""), s ? 0xff : 0xfe);
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void suggest_add(struct suggest *sg, const char *client, const char *host, uint16_t port,
			const char *method, const char *path, bool generalised, int64_t ts, const char *reason)
{
	uint32_t h = FNV1A_INIT;
	h = fnv1a(h, client);
	h = fnv1a(h, host);
	h = fnv1a_mix(h, port);
	h = fnv1a(h, method);
	h = fnv1a(h, path);

	struct suggestion *s = NULL;
	for (uint32_t i = 0; s == NULL; i++) {
		int32_t *slot = &sg->slots[(h + i) & (AUDIT_HASH_SLOTS - 1)];
		if (*slot == 0) {
			if (sg->n >= AUDIT_SUGGEST_MAX) {
				sg->dropped++;
				return;
			}
			s = &sg->s[sg->n];
			*s = (struct suggestion){
				.client = xstrdup(client), .host = xstrdup(host), .port = port,
				.method = method ? xstrdup(method) : NULL, .path = path ? xstrdup(path) : NULL,
				.generalised = generalised, .last = ts,
			};
			*slot = (int32_t)++sg->n;
			break;
		}
		struct suggestion *t = &sg->s[*slot - 1];
		if (t->port == port && strcmp(t->client, client) == 0 && strcmp(t->host, host) == 0 &&
		    same(t->method, method) && same(t->path, path))
			s = t;
	}
	s->count++;
	if (ts >= s->last || s->reason[0] == '\0') {
		/* the latest denial's reason tells what the rule must add */
		s->last = ts > s->last ? ts : s->last;
		snprintf(s->reason, sizeof s->reason, "%s", reason);
	}
}

/* Denials an added allow rule can cure (common/reasons.h), and
 * tls-handshake-failed in audit mode. The others (denied-address,
 * host-mismatch, bad requests, limits...) no rule can or should open. */
static bool is_fixable(const struct logread_line *f)
{
	if (reason_curable(reason_lookup(f->reason, strlen(f->reason))))
		return true;
	/* Audit mode intercepts a CONNECT no rule allows; a sandbox that does
	 * not trust the CA fails that handshake and only the host is logged.
	 * With no rule id on the line no rule matched: a bare host rule (a blind
	 * tunnel, no interception) is what would have let it through. */
	return reason_lookup(f->reason, strlen(f->reason)) == REASON_TLS_HANDSHAKE_FAILED && logread_has(f, LF_MODE) &&
	       strcmp(f->mode, "audit") == 0 && !logread_has(f, LF_RULE);
}

/* An IP literal the enforcer would refuse to dial (its built-in deny set
 * and this host's own addresses): a policy check runs before the dial, so
 * such a CONNECT is logged no-rule, yet no rule would let it through. */
static bool never_dialled(const struct suggest *sg, const char *host, enum host_kind kind)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (kind == HOST_IPV4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return false;
	} else if (kind == HOST_IPV6) {
		char bare[AL_HOST_BUF];
		size_t n = strlen(host);
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
			memcpy(bare, host + 1, n - 2);
			bare[n - 2] = '\0';
		} else {
			snprintf(bare, sizeof bare, "%s", host);
		}
		in6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, bare, &in6->sin6_addr) != 1)
			return false;
	} else {
		return false;
	}
	return sg->deny && denyset_check(sg->deny, (struct sockaddr *)&ss, false) < 0;
}

/* One decision, parsed: keep it when it is a fixable denial in the window. */
static void suggest_take(struct suggest *sg, const struct logread_line *f)
{
	char host[AL_HOST_BUF], method[AL_METHOD_MAX + 1];
	enum host_kind kind;
	uint16_t port;
	int64_t ts;
	bool generalised = false;
	char *path = NULL;

	sg->decisions++;
	/* --learned: what a learning rule let through is what strict mode will
	 * meet (an allow line with a reason is airlock's own answer: skipped) */
	bool allowed = sg->learned && strcmp(f->verdict, "allow") == 0 && !logread_has(f, LF_REASON);
	if (!allowed && strcmp(f->verdict, "deny") != 0 && strcmp(f->verdict, "audit") != 0)
		return;
	if (allowed)
		sg->allowed++;
	else
		sg->denials++;
	/* every field used must be there and valid, or the line is not trusted */
	if (!logread_has(f, LF_TS) || time_parse(f->ts, &ts) < 0 || (!allowed && !logread_has(f, LF_REASON)) ||
	    !logread_has(f, LF_HOST) || !logread_has(f, LF_PORT)) {
		sg->malformed++;
		return;
	}
	if (ts < sg->cutoff) {
		sg->old++;
		return;
	}
	if (!allowed && !is_fixable(f)) {
		sg->unfixable++;
		return;
	}
	if (!logread_has(f, LF_CLIENT) || name_validate(f->client) < 0 ||
	    host_canon(f->host, strlen(f->host), host, &kind) < 0 || port_parse(f->port, &port) < 0) {
		sg->malformed++;
		return;
	}
	if (sg->client && strcmp(sg->client, f->client) != 0) {
		sg->other_client++;
		return;
	}
	if (never_dialled(sg, host, kind)) {
		sg->unfixable++;
		return;
	}
	/* CONNECT, or an audit-mode client that did not trust the CA: only the
	 * host is known, so the suggestion is a bare host rule. */
	bool bare = !logread_has(f, LF_METHOD) || strcmp(f->method, "CONNECT") == 0;
	if (!bare) {
		if (method_parse(f->method, method) < 0) {
			sg->malformed++;
			return;
		}
		if (logread_has(f, LF_PATH)) {
			path = rule_path(f->path, &generalised);
			if (path == NULL) {
				sg->malformed++;
				return;
			}
		}
	}
	suggest_add(sg, f->client, host, port, bare ? NULL : method, path, generalised, ts, allowed ? "allowed" : f->reason);
	free(path);
}

static void suggest_line(struct suggest *sg, char *line, size_t len, char *scratch)
{
	struct logread_line f;
	int err = logread_parse(line, len, &f, scratch);
	if (err < 0)
		sg->malformed++;
	if (err != 0)
		return;
	suggest_take(sg, &f);
}

/* Read lines of at most AUDIT_LINE_MAX bytes; a longer one is skipped whole. */
static int suggest_read(struct suggest *sg, FILE *in)
{
	char *line = xmalloc(AUDIT_LINE_MAX + 1), *scratch = xmalloc(AUDIT_LINE_MAX + 1);
	size_t len = 0;
	bool over = false;
	int c, ret = 0;

	for (;;) {
		c = getc_unlocked(in);
		if (c == EOF || c == '\n') {
			if (len || over || c == '\n') {
				sg->lines++;
				if (over)
					sg->too_long++;
				else
					suggest_line(sg, line, len, scratch);
			}
			len = 0;
			over = false;
			if (c == EOF)
				break;
			continue;
		}
		if (over)
			continue;
		if (len == AUDIT_LINE_MAX) {
			over = true;
			continue;
		}
		line[len++] = (char)c;
	}
	if (ferror(in))
		ret = AL_EIO;
	free(line);
	free(scratch);
	return ret;
}

/* ---- output (suggest.c) ---- */

static void suggest_summary(const struct suggest *sg, const char *since, const struct suggest_counts *c,
			    const json_t *secrets)
{
	if (secrets)
		fprintf(stderr, "airlock: audit suggest: %zu secrets known to the broker\n", json_array_size(secrets));
	else
		fprintf(stderr, "airlock: audit suggest: the broker did not list its secrets: no --secret suggested\n");
	fprintf(stderr,
		"airlock: audit suggest: %lu lines, %lu decisions, %lu denials, %lu allowed taken; %lu rules suggested "
		"(%lu needed calls added that the log did not show; left out: %lu optional, %lu answered by "
		"the token shim, %lu to token hosts; %lu before the last %s, %lu of other clients, "
		"%lu not curable by a rule, %lu malformed, %lu over %d bytes, %lu past %d suggestions)\n",
		sg->lines, sg->decisions, sg->denials, sg->allowed, c->rules, c->completed, c->optional, c->shim, c->token_host,
		sg->old, since, sg->other_client, sg->unfixable, sg->malformed, sg->too_long, AUDIT_LINE_MAX,
		sg->dropped, AUDIT_SUGGEST_MAX);
}

enum { OPT_SINCE = OPT_FIRST_LOCAL, OPT_LOG, OPT_QUIET, OPT_INCLUDE_OPTIONAL, OPT_LEARNED };

static const char audit_suggest_usage[] =
	"Usage: airlock audit suggest [--since DURATION] [--log FILE] [--include-optional]\n"
	"                             [--learned] [--quiet] [CLIENT]\n"
	"\n"
	"Read airlock's decision log (key=value or JSON lines) and print the\n"
	"`airlock allow` commands that would have let its denials through: one per\n"
	"distinct (client, host, port, path), methods merged, each with a comment\n"
	"saying why, sorted by client and host. --secret goes exactly where a call\n"
	"needs it: the broker says which secret is bound to which host, the presets\n"
	"which calls of an adopted login need it (airlock preset show). Optional\n"
	"calls (telemetry, plugins...) are left out, listed as comments; token\n"
	"endpoints are never suggested (airlock answers them); a preset's needed\n"
	"calls the log did not show (the CLI stopped at a denial) are added.\n"
	"A strict-mode CONNECT (or an audit-mode client that did not trust the CA)\n"
	"logs only host and port: it gets a bare host rule.\n"
	"Denials no rule can cure (denied-address, host-mismatch, malformed requests,\n"
	"limits, an address airlock never dials such as 169.254.169.254) are counted,\n"
	"not suggested. Review before running: a sandbox chose\n"
	"these hosts and paths.\n"
	"  --since DURATION   only lines newer than this: 90s, 15m, 1h, 7d (default 1h)\n"
	"  --log FILE         the log (- is standard input). Without it: standard\n"
	"                     input when it is piped, else the broker's last\n"
	"                     decisions (GET /proxy/v1/decisions). The daemons log\n"
	"                     to the standard error of `airlock up`:\n"
	"                     airlock up 2>>airlock.log\n"
	"  --include-optional keep the optional calls, marked\n"
	"  --learned          count allowed requests too: after a learning round\n"
	"                     (airlock allow CLIENT --host H --learn --ttl 10m)\n"
	"  --quiet            no summary lines on standard error\n"
	"  CLIENT             only this client's denials\n"
	"Example:  airlock audit suggest --since 30m --log airlock.log web-1\n";

static int audit_suggest_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "include-optional", no_argument, NULL, OPT_INCLUDE_OPTIONAL },
		{ "learned", no_argument, NULL, OPT_LEARNED },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *since = "1h", *path = NULL;
	int64_t since_s = 3600;
	bool quiet = false, learned = false;
	struct suggest_opts so = { 0 };
	struct suggest_counts counts;
	json_t *secrets = NULL;
	FILE *in = stdin;
	char *broker_log = NULL;
	struct suggest *sg = NULL;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_SINCE:
			if (duration_parse(arg, 1, AUDIT_SINCE_MAX, &since_s) < 0)
				return cli_usage(cli, "bad --since '%s': expected a duration such as 90s, 15m, 1h or 7d",
						 arg);
			since = arg;
			break;
		case OPT_LOG:
			if (arg[0] == '\0')
				return cli_usage(cli, "--log needs a file (or - for standard input)");
			path = arg;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_INCLUDE_OPTIONAL:
			so.include_optional = true;
			break;
		case OPT_LEARNED:
			learned = true;
			break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	int extra = argc - cli_optind();
	if (extra > 1)
		return cli_usage(cli, "unexpected argument '%s'", argv[cli_optind() + 1]);
	const char *client = extra == 1 ? argv[cli_optind()] : NULL;
	if (client && name_validate(client) < 0)
		return cli_usage(cli, "bad client name '%s'", client);
	if (path && strcmp(path, "-") != 0) {
		in = fopen(path, "r");
		if (in == NULL)
			return cli_fail("cannot read %s: %s", path, strerror(errno));
	} else if (!path && isatty(STDIN_FILENO)) {
		/* no log given: the broker's last decisions (GET /proxy/v1/decisions) */
		struct api_reply r;
		char q[96];
		snprintf(q, sizeof q, "/proxy/v1/decisions?since=%llds", (long long)since_s);
		rc = api_request(cli, "GET", q, NULL, &r);
		if (rc == AL_EUNAVAIL)
			return cli_fail("the broker is not running (give --log FILE to read a saved log)");
		if (rc < 0 || r.status != 200) {
			rc = cli_fail("cannot read the broker's decisions (status %ld)", r.status);
			api_reply_free(&r);
			return rc;
		}
		broker_log = r.body;
		r.body = NULL;
		api_reply_free(&r);
		in = fmemopen(broker_log, strlen(broker_log) + 1, "r");
		if (!in) {
			free(broker_log);
			return cli_fail("out of memory");
		}
		path = "the broker's decisions";
	}

	sg = xcalloc(1, sizeof *sg);
	sg->s = xcalloc(AUDIT_SUGGEST_MAX, sizeof *sg->s);
	sg->cutoff = time_now() - since_s;
	sg->client = client;
	sg->learned = learned;
	if (denyset_new(NULL, 0, &sg->deny) < 0) {
		rc = cli_fail("cannot build the set of addresses airlock never dials");
		goto out;
	}
	if (suggest_read(sg, in) < 0) {
		rc = cli_fail("error reading %s", path ? path : "standard input");
		goto out;
	}
	/* which secret is bound to which host: names, hosts and types only */
	struct api_reply r;
	if (api_request(cli, "GET", "/proxy/v1/secrets", NULL, &r) == 0) {
		if (r.status == 200 && json_is_array(r.json))
			secrets = json_incref(r.json);
		api_reply_free(&r);
	}
	so.secrets = secrets;
	suggest_emit(sg->s, sg->n, &so, &counts);
	if (!quiet)
		suggest_summary(sg, since, &counts, secrets);
	rc = fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK : cli_fail("cannot write to standard output");
out:
	json_decref(secrets);
	if (in != stdin)
		fclose(in);
	free(broker_log);
	for (size_t i = 0; sg && i < sg->n; i++) {
		free(sg->s[i].client);
		free(sg->s[i].host);
		free(sg->s[i].method);
		free(sg->s[i].path);
	}
	if (sg) {
		denyset_free(sg->deny);
		free(sg->s);
	}
	free(sg);
	return rc;
}

static const struct cli_cmd audit_cmds[] = {
	{ .name = "suggest", .run = audit_suggest_run, .summary = "allow commands written from denied requests",
	  .usage = audit_suggest_usage },
};
const struct cli_cmd cmd_audit = {
	.name = "audit",
	.summary = "turn the decision log's denials into rules",
	.usage = "Usage: airlock audit suggest [--since DURATION] [--log FILE] [--include-optional] [--learned] [--quiet] [CLIENT]\n",
	.subs = audit_cmds,
	.nsubs = ARRAY_SIZE(audit_cmds),
};
