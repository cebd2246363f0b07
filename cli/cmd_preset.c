/* `airlock preset list|show NAME` and `airlock allow CLIENT --preset NAME`:
 * the presets of preset.h shown, and turned into ordinary rules (one POST
 * /proxy/v1/allows each, in the preset's order) that `airlock rules` lists
 * and `airlock revoke` removes like any other. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/preset.h"
#include "common/jsonutil.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

#define LEARN_TTL_MAX 3600

/* Print `airlock allow` words for one entry (what `allow --preset` adds). */
static void entry_print(const char *client, const json_t *e, const char *secret)
{
	size_t i;
	json_t *v;
	printf("airlock allow %s --host %s", client, json_str(e, "host", ""));
	if (json_array_size(json_object_get(e, "ports")) == 0)
		printf(" --port 443");
	json_array_foreach(json_object_get(e, "ports"), i, v)
		printf(" --port %lld", (long long)json_integer_value(v));
	json_array_foreach(json_object_get(e, "methods"), i, v)
		printf(" --method %s", json_string_value(v));
	json_array_foreach(json_object_get(e, "paths"), i, v)
		printf(" --path '%s'", json_string_value(v));
	if (json_is_true(json_object_get(e, "secret")) && secret)
		printf(" --secret %s", secret);
	printf("\n");
}

static const char preset_list_usage[] =
	"Usage: airlock preset list\n"
	"\n"
	"List the presets: NAME, SECRET (required, optional or none: whether\n"
	"`allow --preset` needs --secret, and of which types) and what it is for.\n";

static int preset_list_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	char err[256];
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	printf("%-20s %-52s %s\n", "NAME", "SECRET", "SUMMARY");
	for (const struct preset_blob *b = preset_blobs; b->name; b++) {
		json_t *p = preset_load(b->name, err, sizeof err);
		if (p == NULL)
			return cli_fail("%s", err);
		char *types = cli_join_array(json_object_get(p, "secret_types"), "");
		char secret[160];
		snprintf(secret, sizeof secret, "%s%s%s%s", json_str(p, "secret", ""), types[0] ? " (" : "", types,
			 types[0] ? ")" : "");
		printf("%-20s %-52s %s\n", b->name, secret, json_str(p, "summary", ""));
		free(types);
		json_decref(p);
	}
	return CLI_EXIT_OK;
}

enum { OPT_SHOW_JSON = OPT_FIRST_LOCAL };

static const char preset_show_usage[] =
	"Usage: airlock preset show NAME [--json]\n"
	"\n"
	"Show what a preset adds (`airlock allow CLIENT --preset NAME --secret S`\n"
	"runs exactly these rules, in this order) and the optional calls the\n"
	"program makes and does without (telemetry, plugins...), which it leaves\n"
	"out. `airlock audit suggest` uses the same knowledge.\n"
	"  --json             print the preset file as it is compiled in\n";

static int preset_show_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_SHOW_JSON },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	bool json = false;
	char err[256];
	size_t i;
	json_t *e;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_SHOW_JSON)
			json = true;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	json_t *p = preset_load(argv[cli_optind()], err, sizeof err);
	if (p == NULL)
		return cli_fail("%s", err);
	if (json) {
		cli_print_json(p);
		json_decref(p);
		return CLI_EXIT_OK;
	}
	char *types = cli_join_array(json_object_get(p, "secret_types"), "");
	printf("# %s: %s\n# secret: %s%s%s%s\n", json_str(p, "name", ""), json_str(p, "summary", ""),
	       json_str(p, "secret", ""), types[0] ? " (" : "", types, types[0] ? ")" : "");
	free(types);
	json_array_foreach(json_object_get(p, "rules"), i, e) {
		printf("# %s%s\n", json_str(e, "why", ""),
		       json_is_true(json_object_get(e, "secret")) ? " [the secret goes here]" : "");
		entry_print("CLIENT", e, "S");
	}
	if (json_array_size(json_object_get(p, "optional")))
		printf("# left out (the program does without them):\n");
	json_array_foreach(json_object_get(p, "optional"), i, e) {
		printf("#   %s: %s\n#   ", json_str(e, "kind", ""), json_str(e, "why", ""));
		entry_print("CLIENT", e, NULL);
	}
	json_decref(p);
	return CLI_EXIT_OK;
}

/* The secret's type and host from GET /proxy/v1/secrets (values are never
 * in that answer). 1 when it does not exist. */
static int secret_lookup(struct cli *cli, const char *name, char **type, char **host)
{
	json_t *list = NULL, *s;
	size_t i;
	int rc = api_call(cli, "GET", "/proxy/v1/secrets", NULL, &list);
	if (rc != 0)
		return -1;
	rc = 1;
	json_array_foreach(list, i, s)
		if (strcmp(json_str(s, "name", ""), name) == 0) {
			*type = xstrdup(json_str(s, "type", ""));
			*host = xstrdup(json_str(s, "host", ""));
			rc = 0;
			break;
		}
	json_decref(list);
	return rc;
}

int preset_allow(struct cli *cli, const char *client, const char *name, const char *secret, bool has_ttl,
		 int64_t ttl, bool json)
{
	char err[256];
	char *type = NULL, *shost = NULL;
	json_t *p = preset_load(name, err, sizeof err), *e, *out = json_array();
	size_t i;
	int rc = CLI_EXIT_FAIL;

	if (p == NULL) {
		rc = cli_fail("%s", err);
		goto out;
	}
	const char *need = json_str(p, "secret", "none");
	if (strcmp(need, "required") == 0 && secret == NULL) {
		char *types = cli_join_array(json_object_get(p, "secret_types"), "");
		rc = cli_fail("preset %s needs --secret (a secret of type %s)", name, types);
		free(types);
		goto out;
	}
	if (strcmp(need, "none") == 0 && secret) {
		rc = cli_fail("preset %s takes no secret", name);
		goto out;
	}
	if (secret) {
		int r = secret_lookup(cli, secret, &type, &shost);
		if (r < 0)
			goto out;
		if (r > 0) {
			rc = cli_fail("no secret '%s' (see: airlock secret list)", secret);
			goto out;
		}
		if (!preset_takes_type(p, type)) {
			char *types = cli_join_array(json_object_get(p, "secret_types"), "");
			rc = cli_fail("secret %s is of type %s; preset %s takes %s", secret, type, name, types);
			free(types);
			goto out;
		}
	}
	json_array_foreach(json_object_get(p, "rules"), i, e) {
		json_t *body = json_pack("{s:s, s:s}", "client", client, "host", json_str(e, "host", "")), *resp = NULL;
		bool inject = secret && json_is_true(json_object_get(e, "secret"));
		if (json_object_get(e, "methods"))
			json_object_set(body, "methods", json_object_get(e, "methods"));
		if (json_object_get(e, "paths"))
			json_object_set(body, "paths", json_object_get(e, "paths"));
		json_object_set_new(body, "ports", json_object_get(e, "ports") ? json_deep_copy(json_object_get(e, "ports"))
									: json_pack("[i]", 443));
		if (inject)
			json_object_set_new(body, "secret", json_string(secret));
		if (has_ttl)
			json_object_set_new(body, "ttl_seconds", json_integer(ttl));
		int r = api_call(cli, "POST", "/proxy/v1/allows", body, &resp);
		json_decref(body);
		if (r != 0) {
			json_decref(resp);
			goto out; /* the rules added so far stay: `airlock rules` lists them */
		}
		if (inject && !host_pattern_match(shost, json_str(e, "host", "")) &&
		    strcmp(shost, json_str(e, "host", "")) != 0)
			cli_warn("secret %s is bound to %s: rule %lld (%s) will not inject it", secret, shost,
				 (long long)json_integer_value(json_object_get(resp, "id")), json_str(e, "host", ""));
		if (json)
			json_array_append(out, resp);
		else
			allow_print(client, resp, NULL);
		json_decref(resp);
	}
	if (json)
		cli_print_json(out);
	rc = CLI_EXIT_OK;
out:
	free(type);
	free(shost);
	json_decref(p);
	json_decref(out);
	return rc;
}

/* POST one rule; print it (or collect it for --json). */
static int learn_post(struct cli *cli, json_t *body, bool json, json_t *out, const char *client)
{
	json_t *resp = NULL;
	int rc = api_call(cli, "POST", "/proxy/v1/allows", body, &resp);
	json_decref(body);
	if (rc == 0) {
		if (json)
			json_array_append(out, resp);
		else
			allow_print(client, resp, NULL);
	}
	json_decref(resp);
	return rc;
}

int learn_allow(struct cli *cli, const char *client, const char *host, const char *secret, int64_t ttl,
		const json_t *ports, bool json)
{
	/* every method a program sends: a rule with methods is inspected, so
	 * each request is logged with its method and path */
	static const char *const all[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
	char *type = NULL, *shost = NULL;
	json_t *out = json_array(), *done = json_object(), *p, *e;
	size_t i, j;
	int rc = CLI_EXIT_FAIL, added = 0;

	if (ttl > LEARN_TTL_MAX) {
		rc = cli_fail("a learning rule lasts at most 1h (--ttl)");
		goto out;
	}
	if (secret) {
		int r = secret_lookup(cli, secret, &type, &shost);
		if (r != 0) {
			rc = r < 0 ? CLI_EXIT_FAIL : cli_fail("no secret '%s' (see: airlock secret list)", secret);
			goto out;
		}
		/* the credential only where a preset for this login says it is
		 * needed: a learning round must not send it to telemetry */
		json_array_foreach(preset_all(), i, p) {
			if (!preset_takes_type(p, type))
				continue;
			json_array_foreach(json_object_get(p, "rules"), j, e) {
				if (!json_is_true(json_object_get(e, "secret")) ||
				    strcmp(json_str(e, "host", ""), host) != 0)
					continue;
				json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "client", client, "host", host, "secret",
							 secret, "ttl_seconds", (json_int_t)ttl);
				json_object_set_new(body, "ports", json_object_get(e, "ports")
									   ? json_deep_copy(json_object_get(e, "ports"))
									   : json_pack("[i]", 443));
				if (json_object_get(e, "methods"))
					json_object_set(body, "methods", json_object_get(e, "methods"));
				if (json_object_get(e, "paths"))
					json_object_set(body, "paths", json_object_get(e, "paths"));
				char *key = json_dump_compact(body);
				bool dup = json_object_get(done, key) != NULL;
				json_object_set_new(done, key, json_true());
				free(key);
				if (dup) {
					json_decref(body);
					continue;
				}
				if (learn_post(cli, body, json, out, client) != 0)
					goto out;
				added++;
			}
		}
		if (added == 0) {
			rc = cli_fail("no preset says which calls of a %s secret on %s need it: learn without "
				      "--secret, or add an ordinary rule",
				      type, host);
			goto out;
		}
	}
	json_t *methods = json_array();
	for (i = 0; i < ARRAY_SIZE(all); i++)
		json_array_append_new(methods, json_string(all[i]));
	json_t *body = json_pack("{s:s, s:s, s:o, s:I}", "client", client, "host", host, "methods", methods,
				 "ttl_seconds", (json_int_t)ttl);
	json_object_set_new(body, "ports", json_array_size(ports) ? json_deep_copy(ports) : json_pack("[i]", 443));
	if (learn_post(cli, body, json, out, client) != 0)
		goto out;
	if (json)
		cli_print_json(out);
	rc = CLI_EXIT_OK;
out:
	free(type);
	free(shost);
	json_decref(out);
	json_decref(done);
	return rc;
}

static const struct cli_cmd preset_cmds[] = {
	{ .name = "list", .run = preset_list_run, .summary = "the presets and what they are for",
	  .usage = preset_list_usage },
	{ .name = "show", .run = preset_show_run, .summary = "the rules a preset adds, and what it leaves out",
	  .usage = preset_show_usage },
};
const struct cli_cmd cmd_preset = {
	.name = "preset",
	.summary = "rule sets for known programs (agent CLIs, apt, npm, pip, git)",
	.usage = "Usage: airlock preset list | show NAME [--json]\n",
	.subs = preset_cmds,
	.nsubs = ARRAY_SIZE(preset_cmds),
};
