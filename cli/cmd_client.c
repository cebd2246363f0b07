/* `airlock client create|list|delete`: the sandboxes (or workloads) that may
 * use the proxy. The token is shown once, bare on stdout, at creation: it is
 * the only thing on stdout so that `TOKEN=$(airlock client create web-1)`
 * works, and it is wiped from memory once printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"

static const char create_usage[] =
	"Usage: airlock client create [--on-deny hold|deny] NAME\n"
	"\n"
	"Create a client and print its token, bare on stdout, exactly once:\n"
	"  TOKEN=$(airlock client create web-1)\n"
	"The sandbox presents the token as the proxy password\n"
	"(HTTPS_PROXY=https://proxy:TOKEN@HOST:3129). Only its hash is stored: a lost\n"
	"token cannot be shown again; delete the client and create it anew.\n"
	"NAME: 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -).\n"
	"  --on-deny hold     a request no rule allows waits for a person's approval\n"
	"                     (airlock approvals) instead of a 403; deny (the default)\n"
	"                     refuses it at once\n";

static const char set_usage[] =
	"Usage: airlock client set NAME --on-deny hold|deny\n"
	"\n"
	"Change a client's setting:\n"
	"  --on-deny hold     a request no rule allows (no rule for the host, or its\n"
	"                     method or path not allowed) waits up to --hold-timeout\n"
	"                     for a person's approval (airlock approvals)\n"
	"  --on-deny deny     refuse it at once with 403 (the default)\n";

static const char list_usage[] =
	"Usage: airlock client list [--json]\n"
	"\n"
	"List clients with their number of rules and their --on-deny setting (tokens\n"
	"are never shown).\n"
	"  --json             print the API's answer as is: a JSON array of\n"
	"                     {name, created_at, rules, on_deny}\n";

static const char delete_usage[] =
	"Usage: airlock client delete NAME\n"
	"\n"
	"Delete a client: its token stops working and its rules are dropped at once.\n";

static const char group_usage[] =
	"Usage: airlock client create [--on-deny hold|deny] NAME | client list [--json] |\n"
	"       client set NAME --on-deny hold|deny | client delete NAME\n"
	"\n"
	"Clients are the sandboxes or workloads that use the proxy; each has a name\n"
	"and a token.\n";

enum { OPT_ON_DENY = OPT_FIRST_LOCAL };

static bool on_deny_ok(const char *v)
{
	return strcmp(v, "hold") == 0 || strcmp(v, "deny") == 0;
}

static int client_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "on-deny", required_argument, NULL, OPT_ON_DENY },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *on_deny = NULL;
	int c, rc;
	json_t *body = NULL, *resp = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_ON_DENY) {
			if (!on_deny_ok(arg))
				return cli_usage(cli, "bad --on-deny '%s': hold or deny", arg);
			on_deny = arg;
		}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	const char *name = argv[cli_optind()];

	body = json_pack("{s:s}", "name", name);
	if (on_deny)
		json_object_set_new(body, "on_deny", json_string(on_deny));
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
	char rules[32];
	snprintf(rules, sizeof rules, "%lld", (long long)json_integer_value(json_object_get(cl, "rules")));
	row[0] = xstrdup(json_string_value(json_object_get(cl, "name")) ?: "-");
	row[1] = xstrdup(rules);
	row[2] = xstrdup(json_string_value(json_object_get(cl, "created_at")) ?: "-");
	row[3] = xstrdup(json_string_value(json_object_get(cl, "on_deny")) ?: "deny");
}

static void client_none(const char *arg)
{
	printf("no clients (create one with: airlock client create NAME)\n");
}

static int client_list(struct cli *cli, int argc, char **argv)
{
	static const char *const header[] = { "NAME", "RULES", "CREATED", "ON-DENY" };
	static const struct cli_list list = {
		.path = "/proxy/v1/clients",
		.header = header,
		.ncols = ARRAY_SIZE(header),
		.row = client_row,
		.empty = client_none,
	};
	return cli_list_run(cli, argc, argv, &list);
}

static int client_delete(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	int c, rc;
	json_t *hdrs = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	const char *name = argv[cli_optind()];

	char *esc = api_escape(name);
	char *path = xmalloc(strlen(esc) + sizeof "/proxy/v1/clients/");
	sprintf(path, "/proxy/v1/clients/%s", esc);
	rc = api_call_headers(cli, "DELETE", path, NULL, NULL, &hdrs);
	if (rc == 0) {
		/* 204: the count is in a header (absent from other servers) */
		const char *n = json_string_value(json_object_get(hdrs, "x-airlock-rules-dropped"));
		if (n)
			printf("deleted client %s (%s rules dropped)\n", name, n);
		else
			printf("deleted client %s\n", name);
	}
	json_decref(hdrs);
	free(path);
	free(esc);
	return rc;
}

static int client_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "on-deny", required_argument, NULL, OPT_ON_DENY },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *on_deny = NULL;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_ON_DENY) {
			if (!on_deny_ok(arg))
				return cli_usage(cli, "bad --on-deny '%s': hold or deny", arg);
			on_deny = arg;
		}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	if (!on_deny)
		return cli_usage(cli, "nothing to set (--on-deny hold|deny)");
	const char *name = argv[cli_optind()];
	char *esc = api_escape(name);
	char *path = xmalloc(strlen(esc) + sizeof "/proxy/v1/clients/");
	sprintf(path, "/proxy/v1/clients/%s", esc);
	json_t *body = json_pack("{s:s}", "on_deny", on_deny);
	rc = api_call(cli, "PATCH", path, body, NULL);
	if (rc == 0)
		printf("client %s: on-deny %s\n", name, on_deny);
	json_decref(body);
	free(path);
	free(esc);
	return rc;
}

static const struct cli_cmd client_cmds[] = {
	{ .name = "create", .run = client_create, .summary = "create a client, print its token once",
	  .usage = create_usage },
	{ .name = "list", .run = client_list, .summary = "list clients", .usage = list_usage },
	{ .name = "set", .run = client_set, .summary = "change a client's setting (--on-deny)",
	  .usage = set_usage },
	{ .name = "delete", .run = client_delete, .summary = "delete a client and its rules",
	  .usage = delete_usage },
};

const struct cli_cmd cmd_client = {
	.name = "client",
	.summary = "create, list, delete clients (sandboxes)",
	.usage = group_usage,
	.subs = client_cmds,
	.nsubs = ARRAY_SIZE(client_cmds),
};
