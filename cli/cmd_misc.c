/* Commands that later work implements (SPEC §5): `sandbox env` and
 * `audit suggest`. They parse and document their options now, so --help is
 * right and scripts fail with a clear "not implemented yet" (exit 1) rather
 * than a usage error. Also the table entry of `connect` (cmd_connect.c),
 * which parses its own argv. */
#include <stdio.h>

#include "cli/cli.h"
#include "common/jsonutil.h"

enum { OPT_TOKEN = OPT_FIRST_LOCAL, OPT_CA_PATH, OPT_SHELL, OPT_SINCE };

static int not_yet(struct cli *cli, int argc, char **argv, const struct option *opts)
{
	const char *arg;
	int c;
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	return cli_fail("%s: not implemented yet", cli->cmdpath);
}

static const char sandbox_env_usage[] =
	"Usage: airlock sandbox env CLIENT --token T --ca-path P [--shell sh|json|dotenv]\n"
	"\n"
	"Print the variables a sandbox needs: HTTP_PROXY, HTTPS_PROXY, their lower-case\n"
	"twins, NO_PROXY, and the CA variables common runtimes read (SSL_CERT_FILE,\n"
	"NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO,\n"
	"DENO_CERT) pointing at P, the CA's path inside the sandbox.\n"
	"  --token T          the client's token\n"
	"  --ca-path P        where the sandbox finds airlock's CA certificate\n"
	"  --shell FORMAT     sh (default), json or dotenv\n"
	"(not implemented yet)\n";

static int sandbox_env_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "ca-path", required_argument, NULL, OPT_CA_PATH },
		{ "shell", required_argument, NULL, OPT_SHELL },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	return not_yet(cli, argc, argv, opts);
}

static int connect_run(struct cli *cli, int argc, char **argv)
{
	return cmd_connect(argc, argv);
}

static const char audit_suggest_usage[] =
	"Usage: airlock audit suggest [--since 1h] [CLIENT]\n"
	"\n"
	"Read recent audit log lines and print the `airlock allow` commands that would\n"
	"have allowed what was denied.\n"
	"  --since DURATION   how far back to read (default 1h)\n"
	"(not implemented yet)\n";

static int audit_suggest_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	return not_yet(cli, argc, argv, opts);
}

static const struct cli_cmd sandbox_cmds[] = {
	{ .name = "env", .run = sandbox_env_run, .summary = "print a sandbox's proxy and CA variables (not yet)",
	  .usage = sandbox_env_usage },
};
const struct cli_cmd cmd_sandbox = {
	.name = "sandbox",
	.summary = "what a sandbox needs to use airlock (not yet)",
	.usage = "Usage: airlock sandbox env CLIENT --token T --ca-path P [--shell sh|json|dotenv]\n",
	.subs = sandbox_cmds,
	.nsubs = ARRAY_SIZE(sandbox_cmds),
};

const struct cli_cmd cmd_connect_entry = {
	.name = "connect",
	.run = connect_run,
	.summary = "stdin/stdout tunnel through a passthrough rule (ssh ProxyCommand)",
	.usage = "Usage: airlock connect [--proxy-cacert FILE] HOST:PORT\n",
};

static const struct cli_cmd audit_cmds[] = {
	{ .name = "suggest", .run = audit_suggest_run, .summary = "allow commands from audit lines (not yet)",
	  .usage = audit_suggest_usage },
};
const struct cli_cmd cmd_audit = {
	.name = "audit",
	.summary = "turn audit log lines into rules (not yet)",
	.usage = "Usage: airlock audit suggest [--since 1h] [CLIENT]\n",
	.subs = audit_cmds,
	.nsubs = ARRAY_SIZE(audit_cmds),
};
