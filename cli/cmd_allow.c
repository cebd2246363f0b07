/* `airlock allow`, `airlock rules`, `airlock revoke`: a client's allow rules.
 * Rules are first-match-wins in the order they were added. revoke is bulk by
 * host without tuple flags (DELETE /proxy/v1/allows/{client}/{host}) and
 * surgical with them (POST /proxy/v1/allows/revoke, exact tuple match). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

static const char allow_usage[] =
	"Usage: airlock allow CLIENT --host H [--path P]... [--method M]... [--port N]...\n"
	"                     [--ttl 1h] [--secret S] [--passthrough] [--json]\n"
	"                     [--max-rpm N] [--max-bytes-per-hour SIZE] [--max-concurrent N]\n"
	"       airlock allow CLIENT --preset NAME [--secret S] [--ttl 1h] [--json]\n"
	"       airlock allow CLIENT --host H --learn --ttl 10m [--secret S] [--port N]...\n"
	"\n"
	"Add an allow rule for CLIENT. A client with no rules reaches nothing; rules\n"
	"are first-match-wins in the order they were added (add the narrowest first).\n"
	"  --learn            with --ttl (at most 1h): a learning rule on H: every\n"
	"                     method and path forwarded and logged, --secret only on\n"
	"                     the calls a preset marks as needing it; then run\n"
	"                     `airlock audit suggest --learned`\n"
	"  --preset NAME      add the rules a known program needs (claude-code, codex,\n"
	"                     debian-apt...: see airlock preset list), --secret only\n"
	"                     where the preset says the credential goes; ordinary\n"
	"                     rules that `rules` lists and `revoke` removes\n"
	"  --host H           exact name, *.example.com (subdomains), or * (any)\n"
	"  --path P           exact path or suffix glob /ubuntu/* (repeatable; default any)\n"
	"  --method M         HTTP method (repeatable; default any)\n"
	"  --port N           upstream port (repeatable; default 80 and 443)\n"
	"  --ttl DURATION     the rule ends by itself after 90s, 15m, 1h, 7d... (max 366d)\n"
	"  --secret S         inject secret S into matching requests\n"
	"  --passthrough      splice the TCP stream, no TLS termination (SSH, databases,\n"
	"                     pinned certificates); not with --secret/--method/--path\n"
	"  --json             print the created rule as the API's JSON\n"
	"  --max-rpm N        this rule passes at most N requests a minute\n"
	"  --max-bytes-per-hour SIZE  ... request + response bytes an hour (20M)\n"
	"  --max-concurrent N ... N requests at once (over any: 429, Retry-After)\n";

static const char rules_usage[] =
	"Usage: airlock rules CLIENT [--json]\n"
	"\n"
	"List CLIENT's rules in declaration order (the order they are evaluated in).\n"
	"Expired rules are not listed. Columns: ID HOST PORTS METHODS PATHS ACTION\n"
	"(allow, inject or passthrough) SECRET EXPIRES (RFC 3339 time or never)\n"
	"STATUS (active, or secret-missing: the secret was deleted, the rule does not\n"
	"match until it exists again).\n"
	"  --json             print the API's answer as is: a JSON array of rules\n";

static const char revoke_usage[] =
	"Usage: airlock revoke CLIENT --host H [--method M]... [--path P]... [--port N]...\n"
	"                      [--secret S] [--passthrough]\n"
	"\n"
	"Remove rules. With --host only: every rule of CLIENT for host H (bulk).\n"
	"With any of --method, --path, --port, --secret, --passthrough: only the rule\n"
	"with exactly that tuple, as given to `airlock allow` (surgical; TTL is not\n"
	"part of a rule's identity).\n";

enum {
	OPT_HOST = OPT_FIRST_LOCAL, OPT_PATH, OPT_METHOD, OPT_PORT, OPT_TTL, OPT_SECRET,
	OPT_PASSTHROUGH, OPT_JSON, OPT_PRESET, OPT_LEARN,
};

/* The rule tuple shared by allow and surgical revoke. */
struct tuple {
	const char *host, *secret, *preset;
	json_t *paths, *methods, *ports;
	json_t *budget;               /* max_rpm, ... given to allow */
	bool passthrough, has_ttl, json, learn;
	int64_t ttl;
};

static void tuple_free(struct tuple *t)
{
	json_decref(t->paths);
	json_decref(t->methods);
	json_decref(t->ports);
	json_decref(t->budget);
}

/* Parse CLIENT and the tuple flags. Returns TUPLE_GO to go on, else the
 * command is over (--help, usage error) with that exit status. */
#define TUPLE_GO (-1)
static int tuple_parse(struct cli *cli, int argc, char **argv, bool allow_ttl, struct tuple *t)
{
	static const struct option allow_opts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "method", required_argument, NULL, OPT_METHOD },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "passthrough", no_argument, NULL, OPT_PASSTHROUGH },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "preset", required_argument, NULL, OPT_PRESET },
		{ "learn", no_argument, NULL, OPT_LEARN },
		CLI_BUDGET_OPTS,
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct option revoke_opts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "method", required_argument, NULL, OPT_METHOD },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "passthrough", no_argument, NULL, OPT_PASSTHROUGH },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	int c, rc;
	uint16_t port;

	memset(t, 0, sizeof *t);
	t->paths = json_array();
	t->methods = json_array();
	t->ports = json_array();
	t->budget = json_object();
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, allow_ttl ? allow_opts : revoke_opts, &arg)) >= 0) {
		switch (c) {
		case OPT_HOST:
			t->host = arg;
			break;
		case OPT_PATH:
			json_array_append_new(t->paths, json_string(arg));
			break;
		case OPT_METHOD:
			json_array_append_new(t->methods, json_string(arg));
			break;
		case OPT_PORT:
			if (port_parse(arg, &port) < 0)
				return cli_usage(cli, "bad --port '%s': expected 1 to 65535", arg);
			json_array_append_new(t->ports, json_integer(port));
			break;
		case OPT_TTL:
			if (duration_parse(arg, AL_TTL_MIN_SECONDS, AL_TTL_MAX_SECONDS, &t->ttl) < 0)
				return cli_usage(cli, "bad --ttl '%s': expected a duration such as 90s, 15m, "
						      "1h or 7d, from 1s to 366d",
						 arg);
			t->has_ttl = true;
			break;
		case OPT_SECRET:
			t->secret = arg;
			break;
		case OPT_PASSTHROUGH:
			t->passthrough = true;
			break;
		case OPT_JSON:
			t->json = true;
			break;
		case OPT_PRESET:
			t->preset = arg;
			break;
		case OPT_LEARN:
			t->learn = true;
			break;
		default:
			if (c >= OPT_BUDGET_FIRST && (rc = cli_budget_opt(cli, c, arg, t->budget)) != 0)
				return rc;
			break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "CLIENT")) != 0)
		return rc;
	if (json_object_size(t->budget) && (t->preset || t->learn))
		return cli_usage(cli, "--max-rpm, --max-bytes-per-hour and --max-concurrent go on one rule "
				      "(--host), not with --preset or --learn");
	if (t->preset) {
		if (t->host || t->passthrough || t->learn || json_array_size(t->paths) || json_array_size(t->methods) ||
		    json_array_size(t->ports))
			return cli_usage(cli, "--preset brings its own hosts, paths, methods and ports");
		if (t->secret && t->secret[0] == '\0')
			return cli_usage(cli, "--secret needs a name");
		return TUPLE_GO;
	}
	if (t->host == NULL || t->host[0] == '\0')
		return cli_usage(cli, "--host is required");
	if (t->learn && (t->passthrough || json_array_size(t->paths) || json_array_size(t->methods)))
		return cli_usage(cli, "--learn covers every path and method of the host");
	if (t->learn && !t->has_ttl)
		return cli_usage(cli, "--learn needs --ttl (a learning rule ends by itself; at most 1h)");
	if (t->secret && t->secret[0] == '\0')
		return cli_usage(cli, "--secret needs a name");
	return TUPLE_GO;
}

/* Build the JSON body {client, host, ...} with only the fields given. */
static json_t *tuple_body(const char *client, const struct tuple *t)
{
	json_t *b = json_pack("{s:s, s:s}", "client", client, "host", t->host);
	if (t->secret)
		json_object_set_new(b, "secret", json_string(t->secret));
	if (json_array_size(t->methods))
		json_object_set(b, "methods", t->methods);
	if (json_array_size(t->paths))
		json_object_set(b, "paths", t->paths);
	if (json_array_size(t->ports))
		json_object_set(b, "ports", t->ports);
	if (t->has_ttl)
		json_object_set_new(b, "ttl_seconds", json_integer(t->ttl));
	if (t->passthrough)
		json_object_set_new(b, "passthrough", json_true());
	if (t->budget)
		json_object_update(b, t->budget);
	return b;
}

/* When the rule ends: its RFC 3339 time, or "never". */
static char *expiry_text(const json_t *rule)
{
	const char *at = json_string_value(json_object_get(rule, "expires"));
	if (at == NULL)
		at = json_string_value(json_object_get(rule, "expires_at"));
	return xstrdup(at ? at : "never");
}

/* How long it has left ("59m"), or NULL without an expiry. */
static char *left_text(const json_t *rule)
{
	const char *at = json_string_value(json_object_get(rule, "expires"));
	int64_t t;
	if (at == NULL || time_parse(at, &t) < 0)
		return NULL;
	char d[32];
	int64_t left = t - time_now();
	duration_format(left > 0 ? left : 0, d, sizeof d);
	return xstrdup(d);
}

/* allow, inject or passthrough */
static const char *action_text(const json_t *rule)
{
	if (json_is_true(json_object_get(rule, "passthrough")))
		return "passthrough";
	return json_object_get(rule, "secret") ? "inject" : "allow";
}

static const char *rule_status(const json_t *rule)
{
	return json_is_true(json_object_get(rule, "secret_missing")) ? "secret-missing" : "active";
}

/* The one line that says what a new rule does; warn when its secret does
 * not exist (warn_secret: the name given, or NULL not to check). */
void allow_print(const char *client, const json_t *resp, const char *warn_secret)
{
	char *ports = cli_join_array(json_object_get(resp, "ports"), "80,443");
	char *methods = cli_join_array(json_object_get(resp, "methods"), "any");
	char *paths = cli_join_array(json_object_get(resp, "paths"), "any");
	const char *secret = json_string_value(json_object_get(resp, "secret"));
	char *exp = expiry_text(resp);
	char *left = left_text(resp);
	printf("rule %lld: %s may reach %s ports=%s methods=%s paths=%s action=%s%s%s expires=%s%s%s",
	       (long long)json_integer_value(json_object_get(resp, "id")), client,
	       json_string_value(json_object_get(resp, "host")) ?: "-", ports, methods, paths,
	       action_text(resp), secret ? " secret=" : "", secret ? secret : "", exp,
	       left ? " left=" : "", left ? left : "");
	static const char *const budget_keys[] = { "max_rpm", "max_bytes_per_hour", "max_concurrent" };
	for (size_t i = 0; i < ARRAY_SIZE(budget_keys); i++)
		if (json_is_integer(json_object_get(resp, budget_keys[i])))
			printf(" %s=%lld", budget_keys[i],
			       (long long)json_integer_value(json_object_get(resp, budget_keys[i])));
	printf("\n");
	if (warn_secret && json_is_true(json_object_get(resp, "secret_missing")))
		cli_warn("secret %s does not exist: the rule never matches until it does", warn_secret);
	free(ports);
	free(methods);
	free(paths);
	free(exp);
	free(left);
}

static int cmd_allow_run(struct cli *cli, int argc, char **argv)
{
	struct tuple t;
	json_t *body = NULL, *resp = NULL;
	int rc = tuple_parse(cli, argc, argv, true, &t);
	if (rc != TUPLE_GO)
		goto out;
	const char *client = argv[cli_optind()];
	if (t.preset) {
		rc = preset_allow(cli, client, t.preset, t.secret, t.has_ttl, t.ttl, t.json);
		goto out;
	}
	if (t.learn) {
		rc = learn_allow(cli, client, t.host, t.secret, t.ttl, t.ports, t.json);
		goto out;
	}
	body = tuple_body(client, &t);
	rc = api_call(cli, "POST", "/proxy/v1/allows", body, &resp);
	if (rc != 0)
		goto out;
	if (t.json) {
		cli_print_json(resp);
		goto out;
	}
	allow_print(client, resp, t.secret);
out:
	tuple_free(&t);
	json_decref(body);
	json_decref(resp);
	return rc;
}

static void rule_row(const json_t *r, char **row)
{
	char id[32];
	snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(r, "id")));
	const char *secret = json_string_value(json_object_get(r, "secret"));
	row[0] = xstrdup(id);
	row[1] = xstrdup(json_string_value(json_object_get(r, "host")) ?: "-");
	row[2] = cli_join_array(json_object_get(r, "ports"), "80,443");
	row[3] = cli_join_array(json_object_get(r, "methods"), "any");
	row[4] = cli_join_array(json_object_get(r, "paths"), "any");
	row[5] = xstrdup(action_text(r));
	row[6] = secret ? xstrdup(secret) : NULL;
	row[7] = expiry_text(r);
	row[8] = xstrdup(rule_status(r));
}

static void rules_none(const char *client)
{
	printf("no rules: %s reaches nothing (add one with: airlock allow %s --host H)\n", client,
	       client);
}

static int cmd_rules_run(struct cli *cli, int argc, char **argv)
{
	static const char *const header[] = { "ID", "HOST", "PORTS", "METHODS", "PATHS", "ACTION",
					      "SECRET", "EXPIRES", "STATUS" };
	static const struct cli_list list = {
		.path = "/proxy/v1/clients",
		.arg = "CLIENT",
		.header = header,
		.ncols = ARRAY_SIZE(header),
		.row = rule_row,
		.empty = rules_none,
	};
	return cli_list_run(cli, argc, argv, &list);
}

static int cmd_revoke_run(struct cli *cli, int argc, char **argv)
{
	struct tuple t;
	json_t *body = NULL, *hdrs = NULL;
	char *path = NULL;
	int rc = tuple_parse(cli, argc, argv, false, &t);
	if (rc != TUPLE_GO)
		goto out;
	const char *client = argv[cli_optind()];
	bool surgical = t.secret || t.passthrough || json_array_size(t.methods) ||
			json_array_size(t.paths) || json_array_size(t.ports);
	if (surgical) {
		body = tuple_body(client, &t);
		rc = api_call_headers(cli, "POST", "/proxy/v1/allows/revoke", body, NULL, &hdrs);
	} else {
		char *ec = api_escape(client), *eh = api_escape(t.host);
		path = xmalloc(strlen(ec) + strlen(eh) + sizeof "/proxy/v1/allows//");
		sprintf(path, "/proxy/v1/allows/%s/%s", ec, eh);
		free(ec);
		free(eh);
		rc = api_call_headers(cli, "DELETE", path, NULL, NULL, &hdrs);
	}
	if (rc != 0)
		goto out;
	/* 204: the ids are in a header (absent from other servers) */
	const char *ids = json_string_value(json_object_get(hdrs, "x-airlock-revoked"));
	if (ids && ids[0])
		printf("revoked rule%s %s of %s for %s\n", strchr(ids, ',') ? "s" : "", ids, client,
		       t.host);
	else
		printf("revoked the matching rules of %s for %s\n", client, t.host);
out:
	tuple_free(&t);
	free(path);
	json_decref(body);
	json_decref(hdrs);
	return rc;
}

const struct cli_cmd cmd_allow = {
	.name = "allow",
	.run = cmd_allow_run,
	.summary = "add an allow rule for a client",
	.usage = allow_usage,
};

const struct cli_cmd cmd_rules = {
	.name = "rules",
	.run = cmd_rules_run,
	.summary = "list a client's rules in evaluation order",
	.usage = rules_usage,
};

const struct cli_cmd cmd_revoke = {
	.name = "revoke",
	.run = cmd_revoke_run,
	.summary = "remove rules (bulk by host, or one exact rule)",
	.usage = revoke_usage,
};
