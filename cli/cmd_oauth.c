/* OAuth commands of the CLI (docs/oauth.md): `airlock oauth xai` runs the xAI
 * loopback login on the host (oauth-providers/xai_login.c) and prints the
 * credential; `airlock secret stub NAME` asks the broker for a placeholder
 * vendor file (GET /proxy/v1/secrets/NAME/stub) and prints it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "oauth-providers/provider.h"
#include "oauth-providers/xai.h"

enum { OPT_PORT = OPT_FIRST_LOCAL, OPT_ISSUER, OPT_DEVICE, OPT_TIMEOUT, OPT_RESOLVE,
       OPT_UPSTREAM_CA };

#define OAUTH_RESOLVE_MAX 64

const char cmd_secret_stub_usage[] =
	"Usage: airlock secret stub NAME > creds.json\n"
	"\n"
	"Print a placeholder credential file in the vendor's own format for OAuth\n"
	"secret NAME: Claude's .credentials.json (oauth-claude), Codex's auth.json\n"
	"(oauth-codex), opencode's auth.json (oauth-github-copilot, oauth-xai). Tokens\n"
	"are dummies with the right prefixes and a far-future expiry; the identity the\n"
	"client and upstream must agree on (Codex's account id) is the real one. The\n"
	"vendor CLI in the sandbox runs as if logged in and never holds a real token.\n";

int cmd_secret_stub(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	json_t *resp = NULL;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	char *esc = api_escape(argv[cli_optind()]);
	char *path = xmalloc(strlen(esc) + sizeof "/proxy/v1/secrets//stub");
	sprintf(path, "/proxy/v1/secrets/%s/stub", esc);
	rc = api_call(cli, "GET", path, NULL, &resp);
	if (rc == 0)
		cli_print_json(resp);
	json_decref(resp);
	free(path);
	free(esc);
	return rc;
}

static const char oauth_xai_usage[] =
	"Usage: airlock oauth xai [--port N] [--device] [--timeout SECONDS] > xai.json\n"
	"\n"
	"Log in to xAI (Grok) with the Grok CLI's public client: airlock prints an\n"
	"authorize URL on stderr, waits for the browser's redirect on\n"
	"http://127.0.0.1:56121/callback (PKCE S256, state and nonce checked), exchanges\n"
	"the code and prints the credential JSON on stdout (made 0600 when stdout is a\n"
	"file). Store it with:\n"
	"  airlock secret create NAME --type oauth-xai --value-file xai.json\n"
	"When the port cannot be bound, the device-code flow is used instead.\n"
	"  --port N           loopback port (default 56121; xAI may refuse others)\n"
	"  --device           use the device-code flow\n"
	"  --timeout SECONDS  how long to wait for the browser (default 300)\n"
	"  --issuer URL       another issuer (tests; its endpoints must be on its host)\n"
	"  --resolve H:P:A    pin a name to an address, as `airlock up` does (tests)\n"
	"  --upstream-ca F    trust this CA too, as `airlock up` does (tests)\n";

static int oauth_xai_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "issuer", required_argument, NULL, OPT_ISSUER },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "resolve", required_argument, NULL, OPT_RESOLVE },
		{ "upstream-ca", required_argument, NULL, OPT_UPSTREAM_CA },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *resolve[OAUTH_RESOLVE_MAX + 1] = { NULL };
	struct xai_login_opts o = { .msg = stderr };
	size_t nres = 0;
	const char *arg;
	char *end, err[256];
	json_t *out = NULL;
	int c, rc;
	long v;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_PORT:
			v = strtol(arg, &end, 10);
			if (*end || v < 1 || v > 65535)
				return cli_usage(cli, "--port: 1..65535");
			o.port = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			v = strtol(arg, &end, 10);
			if (*end || v < 1 || v > 3600)
				return cli_usage(cli, "--timeout: 1..3600 seconds");
			o.timeout_s = (int)v;
			break;
		case OPT_ISSUER:
			if (strncmp(arg, "https://", 8) != 0)
				return cli_usage(cli, "--issuer must be an https URL");
			o.issuer = arg;
			break;
		case OPT_DEVICE: o.device = true; break;
		case OPT_RESOLVE:
			if (nres >= OAUTH_RESOLVE_MAX)
				return cli_usage(cli, "--resolve: at most %d", OAUTH_RESOLVE_MAX);
			resolve[nres++] = arg;
			break;
		case OPT_UPSTREAM_CA: o.http.ca_file = arg; break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	o.http.resolve = resolve;
	if (xai_login(&o, &out, err, sizeof err) < 0)
		return cli_fail("oauth xai: %s", err);
	/* stdout holds a live refresh token: a file the shell made gets 0600 */
	struct stat st;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		(void)fchmod(STDOUT_FILENO, 0600);
	char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	oauth_json_wipe(out);
	json_decref(out);
	if (!s)
		abort();
	fputs(s, stdout);
	fputc('\n', stdout);
	secure_free_str(s);
	if (fflush(stdout) != 0)
		return cli_fail("oauth xai: cannot write the credential");
	fprintf(stderr, "airlock: logged in to xAI; store it with: airlock secret create NAME "
		"--type oauth-xai --value-file FILE\n");
	return CLI_EXIT_OK;
}

static const struct cli_cmd oauth_cmds[] = {
	{ .name = "xai", .run = oauth_xai_run, .summary = "log in to xAI, print the credential",
	  .usage = oauth_xai_usage },
};
const struct cli_cmd cmd_oauth = {
	.name = "oauth",
	.summary = "host-side OAuth logins",
	.usage = "Usage: airlock oauth xai > xai.json\n",
	.subs = oauth_cmds,
	.nsubs = ARRAY_SIZE(oauth_cmds),
};
