/* The table entry of `connect` (cmd_connect.c), which parses its own argv
 * (it runs inside sandboxes, without the broker or the state dir). */
#include "config.h"

#include <stdio.h>

#include "cli/cli.h"

static int connect_run(struct cli *cli, int argc, char **argv)
{
	return cmd_connect(argc, argv);
}

const struct cli_cmd cmd_connect_entry = {
	.name = "connect",
	.run = connect_run,
	.summary = "stdin/stdout tunnel through a passthrough rule (ssh ProxyCommand)",
	.usage = "Usage: airlock connect [--proxy-cacert FILE] HOST:PORT\n",
};
