/* `airlock status` and `airlock explain CLIENT METHOD URL`: read-only views
 * of the running broker (GET /proxy/v1/status, POST /proxy/v1/explain),
 * printed as one "key: value" per line (or the API's JSON with --json). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"

enum { OPT_JSON = OPT_FIRST_LOCAL };

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CLI_COMMON_OPTS,
	{ NULL, 0, NULL, 0 },
};

/* --json, then exactly n positionals; < 0: exit with cli->stop_rc or 2 */
static int parse(struct cli *cli, int argc, char **argv, int n, const char *names, bool *json)
{
	const char *arg;
	int c;
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, json_opts, &arg)) >= 0)
		if (c == OPT_JSON)
			*json = true;
	if (c == CLI_OPT_STOP)
		return -1;
	if (cli_want_args(cli, argc, argv, n, names) != 0)
		return -2;
	return 0;
}

static const char status_usage[] =
	"Usage: airlock status [--json]\n"
	"\n"
	"How the running airlock is: version, uptime, mode, listeners, the enforcer's\n"
	"pid and restarts, how many clients, rules and secrets, and each OAuth\n"
	"secret's health (ok, or relogin-required) and expiry, and the LLM tokens\n"
	"read from answers to injected requests (llm_usage, per client and secret,\n"
	"since the broker started), and each token-budgeted client's tokens of the\n"
	"UTC day against its budget (tokens_today).\n"
	"  --json             the API's answer as is\n";

static int status_run(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	json_t *st = NULL, *v;
	size_t i;
	int rc = parse(cli, argc, argv, 0, "", &json);
	if (rc == -1)
		return cli->stop_rc;
	if (rc < 0)
		return CLI_EXIT_USAGE;
	if ((rc = api_call(cli, "GET", "/proxy/v1/status", NULL, &st)) != 0)
		return rc;
	if (json) {
		cli_print_json(st);
		json_decref(st);
		return CLI_EXIT_OK;
	}
	json_t *enf = json_object_get(st, "enforcer"), *counts = json_object_get(st, "counts");
	printf("version: %s\n", json_str(st, "version", "?"));
	printf("uptime: %llds\n", json_int(st, "uptime_seconds", 0));
	printf("mode: %s\n", json_str(st, "mode", "?"));
	printf("http_proxy: %s\n", json_str(st, "http_proxy", "-"));
	printf("https_proxy: %s\n", json_str(st, "https_proxy", "-"));
	printf("api_socket: %s\n", json_str(st, "api_socket", "-"));
	printf("metrics_listen: %s\n", json_str(st, "metrics_listen", "-"));
	printf("ca_cert: %s\n", json_str(st, "ca_cert", "-"));
	printf("enforcer: %s pid=%lld restarts=%lld\n",
	       json_is_true(json_object_get(enf, "disabled")) ? "disabled"
	       : json_is_true(json_object_get(enf, "running")) ? "running" : "down",
	       json_int(enf, "pid", 0), json_int(enf, "restarts", 0));
	printf("policy_version: %lld\n", json_int(st, "policy_version", 0));
	printf("clients: %lld\nrules: %lld\nsecrets: %lld\n", json_int(counts, "clients", 0),
	       json_int(counts, "rules", 0), json_int(counts, "secrets", 0));
	json_array_foreach(json_object_get(st, "oauth"), i, v)
		printf("oauth: %s %s %s expires=%s\n", json_str(v, "name", "?"), json_str(v, "type", "?"),
		       json_str(v, "status", "?"), json_str(v, "expires_at", "-"));
	json_array_foreach(json_object_get(st, "llm_usage"), i, v)
		printf("llm_usage: client=%s secret=%s input_tokens=%lld output_tokens=%lld responses=%lld\n",
		       json_str(v, "client", "?"), json_str(v, "secret", "?"), json_int(v, "input_tokens", 0),
		       json_int(v, "output_tokens", 0), json_int(v, "responses", 0));
	json_array_foreach(json_object_get(st, "tokens_today"), i, v)
		printf("tokens_today: client=%s tokens=%lld max_tokens_per_day=%lld\n", json_str(v, "client", "?"),
		       json_int(v, "tokens", 0), json_int(v, "max_tokens_per_day", 0));
	json_decref(st);
	return CLI_EXIT_OK;
}

static const char explain_usage[] =
	"Usage: airlock explain [--json] CLIENT METHOD URL\n"
	"\n"
	"Say what the proxy would do now with this request of CLIENT: the rule that\n"
	"lets it through (and how: forward, inspect, tunnel or passthrough), or the\n"
	"refusal's reason; then each of the client's rules, in order, and why it\n"
	"does not match (host-does-not-match, port-not-allowed, method-not-allowed,\n"
	"path-not-allowed, expired, not-in-policy). Decided by the proxy's own\n"
	"matcher on the policy the enforcer has. Nothing is sent anywhere.\n"
	"  --json             the API's answer as is\n"
	"Example:  airlock explain web-1 GET https://api.github.com/repos/x/y\n";

static int explain_run(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	json_t *ans = NULL, *r;
	size_t i;
	int rc = parse(cli, argc, argv, 3, "CLIENT METHOD URL", &json);
	if (rc == -1)
		return cli->stop_rc;
	if (rc < 0)
		return CLI_EXIT_USAGE;
	int a = cli_optind();
	json_t *body = json_pack("{s:s, s:s, s:s}", "client", argv[a], "method", argv[a + 1], "url", argv[a + 2]);
	if (!body)
		return cli_usage(cli, "arguments must be UTF-8");
	rc = api_call(cli, "POST", "/proxy/v1/explain", body, &ans);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (json) {
		cli_print_json(ans);
		json_decref(ans);
		return CLI_EXIT_OK;
	}
	if (strcmp(json_str(ans, "verdict", ""), "allow") == 0)
		printf("allow: rule %lld (%s)%s%s\n", json_int(ans, "rule", 0), json_str(ans, "how", "?"),
		       json_str(ans, "note", NULL) ? ": " : "", json_str(ans, "note", ""));
	else
		printf("deny: %s\n", json_str(ans, "reason", "?"));
	json_array_foreach(json_object_get(ans, "rules"), i, r)
		printf("  rule %lld host=%s: %s\n", json_int(r, "id", 0), json_str(r, "host", "?"),
		       json_is_true(json_object_get(r, "matches")) ? "matches" : json_str(r, "reason", "?"));
	if (json_array_size(json_object_get(ans, "rules")) == 0)
		printf("  (the client has no rules: default deny)\n");
	json_decref(ans);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_status = {
	.name = "status",
	.run = status_run,
	.summary = "how the running airlock is: uptime, listeners, enforcer, counts, OAuth health",
	.usage = status_usage,
};

const struct cli_cmd cmd_explain = {
	.name = "explain",
	.run = explain_run,
	.summary = "which rule would let a request through, or why none does",
	.usage = explain_usage,
};
