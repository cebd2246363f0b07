/* `airlock secret create|list|delete`: credentials that live on the host and
 * are injected by the proxy. The value goes from a file (or stdin, or --value
 * with a warning) straight into one request body and is wiped after sending;
 * nothing ever prints it, and the API never returns it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

static const char create_usage[] =
	"Usage: airlock secret create NAME --host H [--type T] (--value-file F | --value V) [--force]\n"
	"       airlock secret create NAME --type oauth-* [--host H] --value-file F [--write-back]\n"
	"       airlock secret create NAME --type github-app|github-app-user [--host H] --value-file F\n"
	"       airlock secret create NAME --type oauth-client-creds --host H --value-file F\n"
	"\n"
	"Store a credential on the host, bound to one host; rules that name it\n"
	"(airlock allow CLIENT --host H --secret NAME) inject it into matching requests.\n"
	"  --host H           the host it may be sent to: a name or *.example.com\n"
	"                     (oauth-* logins: default the provider's API host;\n"
	"                     github-app, github-app-user: default github.com, which\n"
	"                     also covers api.github.com)\n"
	"  --type T           bearer (default), basic (value user:pass), oauth-claude,\n"
	"                     oauth-codex, oauth-github-copilot, oauth-xai (the vendor\n"
	"                     CLI's credential file: adopted, then refreshed by airlock),\n"
	"                     github-app (JSON: app_id, private_key_file; airlock mints\n"
	"                     installation tokens), github-app-user (JSON: a user token\n"
	"                     with refresh_token, client_id, client_secret),\n"
	"                     oauth-client-creds (JSON: token_endpoint, client_id,\n"
	"                     client_secret; airlock obtains the bearer token)\n"
	"  --value-file F     read the value from file F ('-' reads stdin); trailing\n"
	"                     line ends are dropped (--from-file F is the same)\n"
	"  --value V          the value itself (lands in shell history: prefer a file)\n"
	"  --force            replace an existing secret of that name (re-adopt)\n"
	"  --write-back       oauth-*: write refreshed tokens back to F, so the vendor\n"
	"                     CLI on this host stays logged in\n";

static const char list_usage[] =
	"Usage: airlock secret list [--json]\n"
	"\n"
	"List secrets: name, type, bound host, status. Values are never shown.\n"
	"  --json             print the API's answer as is: a JSON array of\n"
	"                     {name, host, type, created_at, ..., status}\n";

static const char delete_usage[] =
	"Usage: airlock secret delete NAME\n"
	"\n"
	"Delete a secret. Rules that name it stay (listed as secret-missing by\n"
	"`airlock rules`) but no longer match: requests fall through to later rules.\n"
	"Creating a secret of that name again brings them back. They are reported\n"
	"so you can revoke them.\n";

static const char group_usage[] =
	"Usage: airlock secret create NAME --host H [--type T] (--value-file F | --value V) [--force]\n"
	"       airlock secret list [--json] | secret delete NAME | secret stub NAME\n"
	"\n"
	"Secrets are credentials kept on the host (sealed at rest) and added to the\n"
	"sandbox's requests by the proxy; the sandbox never holds them.\n";

enum { OPT_HOST = OPT_FIRST_LOCAL, OPT_TYPE, OPT_VALUE_FILE, OPT_VALUE, OPT_FORCE, OPT_WRITE_BACK };

/* Drop trailing CR/LF: `echo token > file` must not send "token\n". */
static void chomp(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		s[--*len] = '\0';
}

static int secret_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "value-file", required_argument, NULL, OPT_VALUE_FILE },
		{ "from-file", required_argument, NULL, OPT_VALUE_FILE }, /* the seed CLI's spelling */
		{ "value", required_argument, NULL, OPT_VALUE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "write-back", no_argument, NULL, OPT_WRITE_BACK },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *host = NULL, *type = NULL, *file = NULL;
	char *value = NULL;
	size_t vlen = 0;
	int nvalues = 0;
	bool force = false, write_back = false;
	int c, rc;
	json_t *body = NULL, *resp = NULL, *jv = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_HOST: host = arg; break;
		case OPT_TYPE: type = arg; break;
		case OPT_VALUE_FILE: file = arg; break;
		case OPT_VALUE:
			/* Keep a copy, then blank the one in argv so it leaves the
			 * process list (/proc/PID/cmdline) as early as we can. */
			if (value)
				secure_free(value, vlen);
			vlen = strlen(arg);
			value = xstrndup(arg, vlen);
			secure_wipe((char *)arg, vlen);
			nvalues++;
			break;
		case OPT_FORCE: force = true; break;
		case OPT_WRITE_BACK: write_back = true; break;
		}
	}
	if (c == CLI_OPT_STOP) {
		rc = cli->stop_rc;
		goto out;
	}
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		goto out;
	const char *name = argv[cli_optind()];
	/* OAuth logins know their provider's API host, the GitHub types
	 * github.com: the broker fills it. A client-credentials token's API is
	 * the user's to name. */
	bool github = type && (strcmp(type, "github-app") == 0 || strcmp(type, "github-app-user") == 0);
	bool oauth = type && strncmp(type, "oauth-", 6) == 0 && strcmp(type, "oauth-client-creds") != 0;
	bool rotates = type && strcmp(type, "github-app-user") == 0;
	if ((host == NULL && !oauth && !github) || (host && host[0] == '\0')) {
		rc = cli_usage(cli, "--host is required");
		goto out;
	}
	if ((file != NULL) == (value != NULL) || nvalues > 1) {
		rc = cli_usage(cli, "give exactly one of --value-file F or --value V");
		goto out;
	}
	if (type && type[0] == '\0') {
		rc = cli_usage(cli, "--type needs a value");
		goto out;
	}
	if (write_back && (!oauth || file == NULL || strcmp(file, "-") == 0)) {
		rc = cli_usage(cli, "--write-back needs an oauth-* --type and a --value-file that is a file");
		goto out;
	}
	if (value) {
		cli_warn("--value lands in your shell history and the process list; "
			 "prefer --value-file FILE or --value-file - (stdin)");
	} else {
		int err = file_read_all(file, AL_SECRET_VALUE_MAX, &value, &vlen);
		if (err == AL_ETOOBIG) {
			rc = cli_fail("secret create: %s is over %d bytes", strcmp(file, "-") ? file : "stdin",
				      AL_SECRET_VALUE_MAX);
			goto out;
		}
		if (err < 0) {
			rc = cli_fail("secret create: cannot read %s: %s", strcmp(file, "-") ? file : "stdin",
				      airlock_strerror(err));
			goto out;
		}
	}
	chomp(value, &vlen);
	if (vlen == 0) {
		rc = cli_fail("secret create: the value is empty");
		goto out;
	}
	if (vlen > AL_SECRET_VALUE_MAX) {
		rc = cli_fail("secret create: the value is over %d bytes", AL_SECRET_VALUE_MAX);
		goto out;
	}
	jv = json_stringn(value, vlen);
	if (jv == NULL) {
		rc = cli_fail("secret create: the value is not UTF-8 text without NUL bytes");
		goto out;
	}

	body = json_pack("{s:s}", "name", name);
	if (host)
		json_object_set_new(body, "host", json_string(host));
	if (type)
		json_object_set_new(body, "type", json_string(type));
	json_object_set(body, "value", jv);
	if (write_back) {
		/* The broker writes rotated tokens back to the vendor's file. */
		char *abs = realpath(file, NULL);
		if (abs == NULL) {
			rc = cli_fail("secret create: %s: %s", file, strerror(errno));
			goto out;
		}
		json_object_set_new(body, "write_back", json_true());
		json_object_set_new(body, "source_file", json_string(abs));
		free(abs);
	}
	if (force)
		json_object_set_new(body, "force", json_true());

	rc = api_call(cli, "POST", "/proxy/v1/secrets", body, &resp);
	if (rc != 0)
		goto out;
	printf("%s secret %s (%s, for %s)\n", force ? "stored" : "created", name,
	       json_string_value(json_object_get(resp, "type")) ?: (type ? type : "bearer"),
	       json_string_value(json_object_get(resp, "host")) ?: (host ? host : "?"));
	if (oauth && write_back)
		fprintf(stderr, "airlock: airlock refreshes this login and writes the new tokens "
				"back to %s\n",
			file);
	else if (oauth)
		fprintf(stderr, "airlock: the login now lives in airlock: its refresh tokens rotate, "
				"so the CLI on this host will be logged out at airlock's first refresh "
				"(use --write-back to keep %s in sync, or log in again and re-adopt with "
				"--force)\n",
			file ? file : "its file");
	else if (rotates)
		fprintf(stderr, "airlock: the token now lives in airlock: GitHub's refresh tokens are "
				"single-use, so whatever else holds this one loses it at airlock's first "
				"refresh\n");
out:
	if (value)
		secure_free(value, vlen);
	json_decref(jv);
	json_decref(body); /* jansson's copy of the value is wiped on free */
	json_decref(resp);
	return rc;
}

static void secret_row(const json_t *s, char **row)
{
	static const char *const keys[] = { "name", "type", "host", "status", "created_at", "expires_at" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = json_string_value(json_object_get(s, keys[i]));
		row[i] = v ? xstrdup(v) : NULL;
	}
}

static void secret_none(const char *arg)
{
	printf("no secrets (add one with: airlock secret create NAME --host H --value-file F)\n");
}

static int secret_list(struct cli *cli, int argc, char **argv)
{
	static const char *const header[] = { "NAME", "TYPE", "HOST", "STATUS", "CREATED", "EXPIRES" };
	static const struct cli_list list = {
		.path = "/proxy/v1/secrets",
		.header = header,
		.ncols = ARRAY_SIZE(header),
		.row = secret_row,
		.empty = secret_none,
	};
	return cli_list_run(cli, argc, argv, &list);
}

/* 204: the rules that name it are in a header */
static void secret_deleted(const char *name, const json_t *hdrs)
{
	printf("deleted secret %s\n", name);
	const char *ids = json_string_value(json_object_get(hdrs, "x-airlock-rules-affected"));
	if (ids && ids[0])
		cli_warn("rules %s name secret %s: they no longer match (requests fall through "
			 "to later rules) until it is created again; revoke them if it is gone "
			 "for good",
			 ids, name);
}

static int secret_delete(struct cli *cli, int argc, char **argv)
{
	return cli_delete_run(cli, argc, argv, "/proxy/v1/secrets", secret_deleted);
}

static const struct cli_cmd secret_cmds[] = {
	{ .name = "create", .run = secret_create, .summary = "store a credential for one host",
	  .usage = create_usage },
	{ .name = "list", .run = secret_list, .summary = "list secrets (never their values)",
	  .usage = list_usage },
	{ .name = "delete", .run = secret_delete, .summary = "delete a secret", .usage = delete_usage },
	{ .name = "stub", .run = cmd_secret_stub, .summary = "print a placeholder credential file for the sandbox",
	  .usage = cmd_secret_stub_usage },
};

const struct cli_cmd cmd_secret = {
	.name = "secret",
	.summary = "create, list, delete secrets (credentials to inject)",
	.usage = group_usage,
	.subs = secret_cmds,
	.nsubs = ARRAY_SIZE(secret_cmds),
};
