/* `airlock client create|list|delete`: the sandboxes (or workloads) that may
 * use the proxy. The token is shown once, bare on stdout, at creation: it is
 * the only thing on stdout so that `TOKEN=$(airlock client create web-1)`
 * works, and it is wiped from memory once printed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#define BUDGET_USAGE \
	"  --max-rpm N        at most N requests per minute (a burst of N, then N/60\n" \
	"                     a second)\n" \
	"  --max-bytes-per-hour SIZE  request + response bytes per hour (1000000,\n" \
	"                     512K, 20M, 1G)\n" \
	"  --max-concurrent N at most N requests at once\n" \
	"  --max-tokens-per-day N  LLM tokens (input + output, read from the\n" \
	"                     answers to injected requests) per UTC day; the\n" \
	"                     request that crosses it completes, the next gets 429\n" \
	"Over a limit the proxy answers 429 with Retry-After and X-Airlock-Reason\n" \
	"(rate-limit, byte-budget, concurrency-limit, token-budget).\n"

static const char create_usage[] =
	"Usage: airlock client create [--on-deny hold|deny] NAME [--max-rpm N]\n"
	"                             [--max-bytes-per-hour SIZE] [--max-concurrent N]\n"
	"                             [--max-tokens-per-day N]\n"
	"\n"
	"Create a client and print its token, bare on stdout, exactly once:\n"
	"  TOKEN=$(airlock client create web-1)\n"
	"The sandbox presents the token as the proxy password\n"
	"(HTTPS_PROXY=https://proxy:TOKEN@HOST:3129). Only its hash is stored: a lost\n"
	"token cannot be shown again; delete the client and create it anew.\n"
	"NAME: 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -).\n"
	"  --on-deny hold     a request no rule allows waits for a person's approval\n"
	"                     (airlock approvals) instead of a 403; deny (the default)\n"
	"                     refuses it at once\n"
	BUDGET_USAGE;

static const char set_usage[] =
	"Usage: airlock client set NAME [--on-deny hold|deny] [--max-rpm N]\n"
	"                          [--max-bytes-per-hour SIZE] [--max-concurrent N]\n"
	"                          [--max-tokens-per-day N]\n"
	"\n"
	"Change a client's settings; an option not given stays as it is.\n"
	"  --on-deny hold     a request no rule allows (no rule for the host, or its\n"
	"                     method or path not allowed) waits up to --hold-timeout\n"
	"                     for a person's approval (airlock approvals)\n"
	"  --on-deny deny     refuse it at once with 403 (the default)\n"
	"Budgets: 0 removes a limit; the client's counters carry on.\n"
	BUDGET_USAGE;

static const char list_usage[] =
	"Usage: airlock client list [--json]\n"
	"\n"
	"List clients with their number of rules and their --on-deny setting (tokens\n"
	"are never shown).\n"
	"  --json             print the API's answer as is: a JSON array of\n"
	"                     {name, created_at, rules, on_deny, max_rpm?,\n"
	"                     max_bytes_per_hour?, max_concurrent?, max_tokens_per_day?}\n";

static const char delete_usage[] =
	"Usage: airlock client delete NAME\n"
	"\n"
	"Delete a client: its token stops working and its rules are dropped at once.\n";

static const char group_usage[] =
	"Usage: airlock client create [--on-deny hold|deny] NAME | client list [--json] |\n"
	"       client set NAME [--on-deny hold|deny] [--max-rpm N] ... | client delete NAME\n"
	"\n"
	"Clients are the sandboxes or workloads that use the proxy; each has a name\n"
	"and a token.\n";

enum { OPT_ON_DENY = OPT_FIRST_LOCAL };

static bool on_deny_ok(const char *v)
{
	return strcmp(v, "hold") == 0 || strcmp(v, "deny") == 0;
}

/* SIZE: a number of bytes, or with K, M, G, T (powers of 1024; KB, KiB
 * and the like read the same). */
static int size_parse(const char *s, long long max, long long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && *end == 'i')
		end++;
	if (shift && (*end == 'B' || *end == 'b'))
		end++;
	else if (!shift && *end == 'B')
		end++;
	if (*end || v > (unsigned long long)max >> shift)
		return -1;
	*out = (long long)(v << shift);
	return 0;
}

static int count_parse(const char *s, long long max, long long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > (unsigned long long)max)
		return -1;
	*out = (long long)v;
	return 0;
}

int cli_budget_opt(struct cli *cli, int opt, const char *arg, json_t *body)
{
	static const struct {
		int opt;
		const char *flag, *field;
		long long max;
		bool size;
	} tab[] = {
		{ OPT_MAX_RPM, "--max-rpm", "max_rpm", AL_BUDGET_RPM_MAX, false },
		{ OPT_MAX_BYTES_HOUR, "--max-bytes-per-hour", "max_bytes_per_hour", AL_BUDGET_BYTES_MAX, true },
		{ OPT_MAX_CONCURRENT, "--max-concurrent", "max_concurrent", AL_BUDGET_CONCURRENT_MAX, false },
		{ OPT_MAX_TOKENS_DAY, "--max-tokens-per-day", "max_tokens_per_day", AL_BUDGET_TOKENS_MAX, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++) {
		if (tab[i].opt != opt)
			continue;
		long long v;
		if ((tab[i].size ? size_parse(arg, tab[i].max, &v) : count_parse(arg, tab[i].max, &v)) < 0)
			return cli_usage(cli, "bad %s '%s': expected %s from 0 to %lld", tab[i].flag, arg,
					 tab[i].size ? "a size such as 1000000, 512K or 20M" : "a whole number",
					 tab[i].max);
		json_object_set_new(body, tab[i].field, json_integer(v));
		return 0;
	}
	return cli_usage(cli, "unknown option");
}

/* A client's budget as one line's tail: " max_rpm=60 ..." ("" when none). */
static void budget_text(const json_t *o, char *buf, size_t cap)
{
	static const char *const keys[] = { "max_rpm", "max_bytes_per_hour", "max_concurrent",
					    "max_tokens_per_day" };
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(keys) && n < cap; i++) {
		json_t *v = json_object_get(o, keys[i]);
		if (json_is_integer(v))
			n += (size_t)snprintf(buf + n, cap - n, " %s=%lld", keys[i], (long long)json_integer_value(v));
	}
}

static int client_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "on-deny", required_argument, NULL, OPT_ON_DENY },
		CLI_BUDGET_OPTS, CLI_TOKENS_OPT, CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *on_deny = NULL;
	int c, rc;
	json_t *body = NULL, *resp = NULL, *limits = json_object();

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_ON_DENY) {
			if (!on_deny_ok(arg)) {
				json_decref(limits);
				return cli_usage(cli, "bad --on-deny '%s': hold or deny", arg);
			}
			on_deny = arg;
		} else if ((rc = cli_budget_opt(cli, c, arg, limits)) != 0) {
			json_decref(limits);
			return rc;
		}
	if (c == CLI_OPT_STOP) {
		json_decref(limits);
		return cli->stop_rc;
	}
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0) {
		json_decref(limits);
		return rc;
	}
	const char *name = argv[cli_optind()];

	body = json_pack("{s:s}", "name", name);
	if (on_deny)
		json_object_set_new(body, "on_deny", json_string(on_deny));
	json_object_update(body, limits);
	json_decref(limits);
	rc = api_call(cli, "POST", "/proxy/v1/clients", body, &resp);
	if (rc != 0)
		goto out;
	const char *tok = json_string_value(json_object_get(resp, "token"));
	if (tok == NULL || tok[0] == '\0') {
		rc = cli_fail("the broker's answer has no token");
		goto out;
	}
	printf("%s\n", tok);
	fflush(stdout);
	fprintf(stderr, "airlock: client %s created; its token is shown only this once "
			"(the sandbox uses it as the proxy password)\n",
		name);
out:
	json_decref(body);
	json_decref(resp); /* wipes the token (cli_wiping_free) */
	return rc;
}

static void client_row(const json_t *cl, char **row)
{
	char rules[32], budget[160];
	snprintf(rules, sizeof rules, "%lld", (long long)json_integer_value(json_object_get(cl, "rules")));
	budget_text(cl, budget, sizeof budget);
	row[0] = xstrdup(json_string_value(json_object_get(cl, "name")) ?: "-");
	row[1] = xstrdup(rules);
	row[2] = xstrdup(json_string_value(json_object_get(cl, "created_at")) ?: "-");
	row[3] = xstrdup(json_string_value(json_object_get(cl, "on_deny")) ?: "deny");
	row[4] = xstrdup(budget[0] ? budget + 1 : "-");
}

static void client_none(const char *arg)
{
	printf("no clients (create one with: airlock client create NAME)\n");
}

static int client_list(struct cli *cli, int argc, char **argv)
{
	static const char *const header[] = { "NAME", "RULES", "CREATED", "ON-DENY", "BUDGET" };
	static const struct cli_list list = {
		.path = "/proxy/v1/clients",
		.header = header,
		.ncols = ARRAY_SIZE(header),
		.row = client_row,
		.empty = client_none,
	};
	return cli_list_run(cli, argc, argv, &list);
}

/* 204: the count is in a header (absent from other servers) */
static void client_deleted(const char *name, const json_t *hdrs)
{
	const char *n = json_string_value(json_object_get(hdrs, "x-airlock-rules-dropped"));
	if (n)
		printf("deleted client %s (%s rules dropped)\n", name, n);
	else
		printf("deleted client %s\n", name);
}

static int client_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "on-deny", required_argument, NULL, OPT_ON_DENY },
		CLI_BUDGET_OPTS, CLI_TOKENS_OPT, CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	int c, rc;
	json_t *body = json_object(), *resp = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_ON_DENY) {
			if (!on_deny_ok(arg)) {
				rc = cli_usage(cli, "bad --on-deny '%s': hold or deny", arg);
				goto out;
			}
			json_object_set_new(body, "on_deny", json_string(arg));
		} else if ((rc = cli_budget_opt(cli, c, arg, body)) != 0) {
			goto out;
		}
	if (c == CLI_OPT_STOP) {
		rc = cli->stop_rc;
		goto out;
	}
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		goto out;
	if (json_object_size(body) == 0) {
		rc = cli_usage(cli, "nothing to set: give --on-deny, --max-rpm, --max-bytes-per-hour, "
				    "--max-concurrent or --max-tokens-per-day");
		goto out;
	}
	const char *name = argv[cli_optind()];
	char *esc = api_escape(name);
	char *path = xmalloc(strlen(esc) + sizeof "/proxy/v1/clients/");
	sprintf(path, "/proxy/v1/clients/%s", esc);
	rc = api_call(cli, "PATCH", path, body, &resp);
	if (rc == 0) {
		char budget[160];
		budget_text(resp, budget, sizeof budget);
		printf("client %s: on-deny %s;%s\n", name, json_string_value(json_object_get(resp, "on_deny")) ?: "deny",
		       budget[0] ? budget : " no limits");
	}
	free(path);
	free(esc);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int client_delete(struct cli *cli, int argc, char **argv)
{
	return cli_delete_run(cli, argc, argv, "/proxy/v1/clients", client_deleted);
}


static const struct cli_cmd client_cmds[] = {
	{ .name = "create", .run = client_create, .summary = "create a client, print its token once",
	  .usage = create_usage },
	{ .name = "list", .run = client_list, .summary = "list clients", .usage = list_usage },
	{ .name = "set", .run = client_set, .summary = "change a client's --on-deny and budget",
	  .usage = set_usage },
	{ .name = "delete", .run = client_delete, .summary = "delete a client and its rules",
	  .usage = delete_usage },
};

const struct cli_cmd cmd_client = {
	.name = "client",
	.summary = "create, list, set, delete clients (sandboxes)",
	.usage = group_usage,
	.subs = client_cmds,
	.nsubs = ARRAY_SIZE(client_cmds),
};
