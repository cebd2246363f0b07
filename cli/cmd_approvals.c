/* `airlock approvals`: the requests held for a person (clients with
 * --on-deny hold). Without a subcommand it lists the pending ones (GET
 * /proxy/v1/approvals); --follow prints each event as it happens (the JSON
 * lines of ?follow=1) and, when stdin and stdout are a terminal, asks about
 * each new one: approve, approve a prefix, deny, or leave it. `approve ID`
 * and `deny ID` decide one (POST /proxy/v1/approvals/ID). Hosts and paths
 * are the sandbox's choice: printed quoted and escaped when not plain. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

enum { OPT_JSON = OPT_FIRST_LOCAL, OPT_FOLLOW, OPT_PREFIX, OPT_TTL, OPT_NO_ASK };

static const char approvals_usage[] =
	"Usage: airlock approvals [--json] [-f|--follow [--no-ask]]\n"
	"       airlock approvals approve ID [--prefix PATH] [--ttl DURATION]\n"
	"       airlock approvals deny ID\n"
	"\n"
	"Requests of a client created with --on-deny hold that no rule allows wait\n"
	"for a person here, up to the proxy's --hold-timeout. Without a subcommand,\n"
	"list the pending ones.\n"
	"  --json             the API's answer as is (with --follow: JSON lines)\n"
	"  -f, --follow       print each new held request, approval, refusal and\n"
	"                     expiry as it happens, until interrupted; at a terminal,\n"
	"                     ask about each new one: [a]pprove, approve a [p]refix,\n"
	"                     [d]eny, or [s]kip (leave it to someone else)\n"
	"  --no-ask           with --follow at a terminal: only print\n";

static const char approve_usage[] =
	"Usage: airlock approvals approve ID [--prefix PATH] [--ttl DURATION]\n"
	"\n"
	"Approve a held request: a rule for its client, host and port, its method and\n"
	"exactly its path (or every path under --prefix) is created, and the request\n"
	"is let through by it. A held CONNECT's rule lets the host's port through.\n"
	"  --prefix PATH      every path under PATH: /v1/ or /v1/* (the request's path\n"
	"                     must be under it)\n"
	"  --ttl DURATION     the rule ends after DURATION: 90s, 15m, 8h, 7d (default\n"
	"                     1h); 'never' for a rule without an end\n";

static const char deny_usage[] =
	"Usage: airlock approvals deny ID\n"
	"\n"
	"Refuse a held request: the sandbox gets 403 hold-denied now.\n";

/* A value as the terminal shows it: plain, or quoted with escapes. */
static void print_value(FILE *f, const char *v)
{
	bool quote = !*v;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			quote = true;
	if (!quote) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* "3 pending web-1 GET api.example.com:443 /v1/x (no-rule)" */
static void print_approval(const json_t *a)
{
	printf("%lld %s ", (long long)json_integer_value(json_object_get(a, "id")), json_str(a, "state", "?"));
	print_value(stdout, json_str(a, "client", "?"));
	putchar(' ');
	print_value(stdout, json_str(a, "method", "?"));
	putchar(' ');
	print_value(stdout, json_str(a, "host", "?"));
	printf(":%lld", (long long)json_integer_value(json_object_get(a, "port")));
	if (json_str(a, "path", NULL)) {
		putchar(' ');
		print_value(stdout, json_str(a, "path", ""));
	}
	printf(" (%s)", json_str(a, "reason", "?"));
	if (strcmp(json_str(a, "state", ""), "pending") == 0)
		printf(" until %s", json_str(a, "expires_at", "?"));
	if (json_is_integer(json_object_get(a, "rule")))
		printf(" rule %lld", (long long)json_integer_value(json_object_get(a, "rule")));
	putchar('\n');
	fflush(stdout);
}

static int decide(struct cli *cli, long long id, const char *decision, const char *prefix, bool has_ttl,
		  int64_t ttl, bool quiet)
{
	char path[64];
	json_t *resp = NULL;
	json_t *body = json_pack("{s:s}", "decision", decision);

	snprintf(path, sizeof path, "/proxy/v1/approvals/%lld", id);
	if (prefix) {
		char p[AL_PATH_MAX + 3];
		size_t n = strlen(prefix);
		/* "/v1" and "/v1/" both mean every path under /v1/ */
		if (n >= 2 && strcmp(prefix + n - 2, "/*") == 0)
			snprintf(p, sizeof p, "%s", prefix);
		else
			snprintf(p, sizeof p, "%s%s*", prefix, n && prefix[n - 1] == '/' ? "" : "/");
		json_object_set_new(body, "path", json_string(p));
	}
	if (has_ttl)
		json_object_set_new(body, "ttl_seconds", json_integer(ttl));
	int rc = api_call(cli, "POST", path, body, &resp);
	if (rc == 0 && !quiet) {
		if (strcmp(decision, "approve") == 0) {
			const json_t *rule = json_object_get(resp, "rule");
			long long rid = json_is_object(rule) ? (long long)json_integer_value(json_object_get(rule, "id"))
							      : (long long)json_integer_value(rule);
			printf("approved %lld: rule %lld", id, rid);
			if (json_is_object(rule) && json_str(rule, "expires_at", NULL))
				printf(" until %s", json_str(rule, "expires_at", ""));
			printf("\n");
		} else {
			printf("denied %lld\n", id);
		}
	} else if (rc == 0) {
		printf("%s %lld\n", strcmp(decision, "approve") == 0 ? "approved" : "denied", id);
	}
	fflush(stdout);
	json_decref(body);
	json_decref(resp);
	return rc;
}

/* ---- --follow ---- */

struct follow {
	struct cli *cli;
	bool json, ask;
	FILE *tty;
};

static void ask_about(struct follow *f, const json_t *a)
{
	char line[AL_PATH_MAX + 8];
	long long id = (long long)json_integer_value(json_object_get(a, "id"));
	bool connect = !json_str(a, "path", NULL);

	for (;;) {
		fprintf(stdout, "approve %lld? [a]pprove%s, [d]eny, [s]kip: ", id, connect ? "" : ", [p]refix");
		fflush(stdout);
		if (!fgets(line, sizeof line, f->tty))
			return;
		switch (line[0]) {
		case 'a':
			decide(f->cli, id, "approve", NULL, false, 0, false);
			return;
		case 'd':
			decide(f->cli, id, "deny", NULL, false, 0, false);
			return;
		case 's':
		case '\n':
			return;
		case 'p':
			if (connect)
				break;
			fprintf(stdout, "prefix (every path under it): ");
			fflush(stdout);
			if (!fgets(line, sizeof line, f->tty))
				return;
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '/') {
				decide(f->cli, id, "approve", line, false, 0, false);
				return;
			}
			fprintf(stdout, "a prefix starts with /\n");
			break;
		default:
			break;
		}
	}
}

static void follow_line(void *arg, const char *line, size_t n)
{
	struct follow *f = arg;
	json_error_t e;
	json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(o)) {
		json_decref(o);
		return;   /* not ours: never echoed */
	}
	if (f->json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		fflush(stdout);
	} else {
		print_approval(o);
		if (f->ask && strcmp(json_str(o, "state", ""), "pending") == 0)
			ask_about(f, o);
	}
	json_decref(o);
}

static int follow_run(struct cli *cli, bool json, bool ask)
{
	struct follow f = { .cli = cli, .json = json, .ask = ask && !json && isatty(0) && isatty(1) };

	if (f.ask && !(f.tty = fdopen(dup(0), "r")))
		f.ask = false;
	int rc = api_follow(cli, "/proxy/v1/approvals?follow=1", "approvals", follow_line, &f);
	if (f.tty)
		fclose(f.tty);
	return rc;
}

static int approvals_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "no-ask", no_argument, NULL, OPT_NO_ASK },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	bool json = false, follow = false, ask = true;
	json_t *resp = NULL;
	int c, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-f") == 0)
			argv[i] = (char *)"--follow";
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_FOLLOW: follow = true; break;
		case OPT_NO_ASK: ask = false; break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if (argc - cli_optind() > 0)
		return cli_usage(cli, "unknown subcommand '%s' (approve ID, deny ID)", argv[cli_optind()]);
	if (follow)
		return follow_run(cli, json, ask);
	rc = api_call(cli, "GET", "/proxy/v1/approvals", NULL, &resp);
	if (rc != 0)
		return rc;
	if (json) {
		cli_print_json(resp);
	} else if (json_array_size(resp) == 0) {
		printf("no held requests\n");
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(resp, i, a)
			print_approval(a);
	}
	json_decref(resp);
	return CLI_EXIT_OK;
}

static bool parse_id(const char *s, long long *id)
{
	char *end;
	if (!s || *s < '1' || *s > '9')
		return false;
	*id = strtoll(s, &end, 10);
	return *end == '\0' && *id > 0;
}

static int approvals_approve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "ttl", required_argument, NULL, OPT_TTL },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *prefix = NULL;
	bool has_ttl = false;
	int64_t ttl = 0;
	long long id;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_PREFIX:
			if (arg[0] != '/' || strlen(arg) > AL_PATH_MAX)
				return cli_usage(cli, "bad --prefix '%s': a path starting with /", arg);
			prefix = arg;
			break;
		case OPT_TTL:
			has_ttl = true;
			if (strcmp(arg, "never") == 0)
				ttl = 0;
			else if (duration_parse(arg, AL_TTL_MIN_SECONDS, AL_TTL_MAX_SECONDS, &ttl) < 0)
				return cli_usage(cli, "bad --ttl '%s': a duration such as 90s, 15m, 8h, 7d, or never",
						 arg);
			break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "ID")) != 0)
		return rc;
	if (!parse_id(argv[cli_optind()], &id))
		return cli_usage(cli, "bad ID '%s': the number airlock approvals shows", argv[cli_optind()]);
	return decide(cli, id, "approve", prefix, has_ttl, ttl, false);
}

static int approvals_deny(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	long long id;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "ID")) != 0)
		return rc;
	if (!parse_id(argv[cli_optind()], &id))
		return cli_usage(cli, "bad ID '%s': the number airlock approvals shows", argv[cli_optind()]);
	return decide(cli, id, "deny", NULL, false, 0, false);
}

static const struct cli_cmd approvals_cmds[] = {
	{ .name = "approve", .run = approvals_approve, .summary = "approve a held request (creates its rule)",
	  .usage = approve_usage },
	{ .name = "deny", .run = approvals_deny, .summary = "refuse a held request (403 hold-denied)",
	  .usage = deny_usage },
};

const struct cli_cmd cmd_approvals = {
	.name = "approvals",
	.run = approvals_list,
	.summary = "list, follow, approve or deny requests held for a person",
	.usage = approvals_usage,
	.subs = approvals_cmds,
	.nsubs = ARRAY_SIZE(approvals_cmds),
};
