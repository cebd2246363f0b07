/* `airlock ui token`: the login token of the web page (--ui-listen), read
 * from the state dir, or made there when airlock has not made it yet
 * (common/uitoken.h). Local, like `ca init`: the API never hands it out. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/uitoken.h"
#include "common/xmalloc.h"

static const char token_usage[] =
	"Usage: airlock ui token [--state-dir DIR] [--rotate]\n"
	"\n"
	"Print the login token of the web page that `airlock up --ui-listen A:P`\n"
	"serves (<state dir>/ui-token, 0600; made when missing). Paste it into the\n"
	"page once: the page keeps it in an HttpOnly cookie.\n"
	"  --rotate           replace it with a new token (a running airlock keeps\n"
	"                     the old one until it restarts)\n";

static const char group_usage[] =
	"Usage: airlock ui token [--rotate]\n"
	"\n"
	"The web page (`airlock up --ui-listen 127.0.0.1:PORT`): live decisions,\n"
	"denials to allow, pending approvals, clients, rules and secrets.\n";

enum { OPT_ROTATE = OPT_FIRST_LOCAL };

static int ui_token_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rotate", no_argument, NULL, OPT_ROTATE },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	char tok[UI_TOKEN_LEN + 1];
	const char *arg;
	bool rotate = false, created;
	int c, rc, err;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_ROTATE)
			rotate = true;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;

	const char *dir = cli_state_dir(cli);
	err = dir_ensure_private(dir, 0700);
	if (err < 0)
		return cli_fail("ui token: state dir %s: %s (it must be ours and closed to group and others)", dir,
				airlock_strerror(err));
	err = rotate ? ui_token_rotate(dir, tok) : ui_token_load(dir, tok, &created);
	if (err < 0)
		return cli_fail("ui token: %s/%s: %s%s", dir, UI_TOKEN_FILE, airlock_strerror(err),
				err == AL_EPERM ? " (it must be ours and mode 0600)" : "");
	printf("%s\n", tok);
	secure_wipe(tok, sizeof tok);
	if (rotate)
		cli_warn("a running airlock keeps the old token until it restarts");
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail("cannot write to standard output");
}

static const struct cli_cmd ui_cmds[] = {
	{ .name = "token", .run = ui_token_run, .summary = "print (or make) the web page's login token",
	  .usage = token_usage },
};

const struct cli_cmd cmd_ui = {
	.name = "ui",
	.summary = "the web page's login token",
	.usage = group_usage,
	.subs = ui_cmds,
	.nsubs = ARRAY_SIZE(ui_cmds),
};
