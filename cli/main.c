/* airlock: the command line. Thin: global options, then a dispatch through
 * the command table (groups such as `client` dispatch through their own
 * table of subcommands). Each command lives in cli/cmd_*.c. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/xmalloc.h"
#include "common/jsonutil.h"

static const struct cli_cmd *const commands[] = {
	&cmd_up, &cmd_ca, &cmd_client, &cmd_secret, &cmd_allow, &cmd_rules, &cmd_revoke,
	&cmd_oauth, &cmd_sandbox, &cmd_connect_entry, &cmd_audit, &cmd_tail, &cmd_status, &cmd_explain, &cmd_store,
	&cmd_preset, &cmd_approvals, &cmd_ui,
};

static const char main_usage[] =
	"Usage: airlock [--url PATH] [--state-dir DIR] COMMAND [ARGS...]\n"
	"\n"
	"airlock is the egress gate for sandboxes: every HTTP(S) request that leaves\n"
	"a sandbox goes through it, per-client allow rules decide what may leave, and\n"
	"credentials are added on the way out so the sandbox never holds a secret.\n"
	"\n"
	"Commands:\n";

static void print_group(const char *head, const struct cli_cmd *const *cmds, const struct cli_cmd *subs,
			size_t n)
{
	fputs(head, stdout);
	for (size_t i = 0; i < n; i++) {
		const struct cli_cmd *c = cmds ? cmds[i] : &subs[i];
		printf("  %-10s %s\n", c->name, c->summary);
	}
}

static void cmdpath_add(struct cli *cli, const char *word)
{
	size_t l = strlen(cli->cmdpath);
	snprintf(cli->cmdpath + l, sizeof cli->cmdpath - l, "%s%s", l ? " " : "", word);
}

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

static int run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	cmdpath_add(cli, cmd->name);
	cli->cmd = cmd;
	if (cmd->subs == NULL)
		return cmd->run(cli, argc, argv);
	/* a group that is also a command of its own (approvals): options or
	 * nothing after it are its own, a word is a subcommand */
	if (cmd->run && (argc < 2 || (argv[1][0] == '-' && !is_help(argv[1]))))
		return cmd->run(cli, argc, argv);

	if (argc < 2)
		return cli_usage(cli, "missing subcommand");
	if (is_help(argv[1])) {
		fputs(cmd->usage, stdout);
		print_group("\nSubcommands:\n", NULL, cmd->subs, cmd->nsubs);
		printf("\nRun 'airlock %s SUBCOMMAND --help' for its options.\n", cli->cmdpath);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < cmd->nsubs; i++)
		if (strcmp(argv[1], cmd->subs[i].name) == 0)
			return run(cli, &cmd->subs[i], argc - 1, argv + 1);
	return cli_usage(cli, "unknown subcommand '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct cli_cmd top = { .name = "", .usage = main_usage };
	struct cli cli = { .cmd = &top };
	int rc = CLI_EXIT_USAGE;

	/* Every JSON string may hold a secret or a token: wipe on free. */
	json_wipe_on_free();

	/* Global options stop at the command word ("+"). */
	opterr = 0;
	optind = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "+:hV", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'V':
			printf("airlock %s\n", PACKAGE_VERSION);
			return CLI_EXIT_OK;
		case OPT_HELP:
			fputs(main_usage, stdout);
			print_group("", commands, NULL, ARRAY_SIZE(commands));
			fputs("\nRun 'airlock COMMAND --help' for a command's options.\n\n" CLI_COMMON_USAGE,
			      stdout);
			return CLI_EXIT_OK;
		case OPT_URL:
			cli.url = optarg;
			break;
		case OPT_STATE_DIR:
			cli.state_dir = optarg;
			break;
		case ':':
			return cli_usage(&cli, "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage(&cli, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(&cli, "missing command");

	const char *word = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(word, commands[i]->name) == 0) {
			rc = run(&cli, commands[i], argc - optind, argv + optind);
			goto out;
		}
	if (is_help(word)) {
		fputs(main_usage, stdout);
		print_group("", commands, NULL, ARRAY_SIZE(commands));
		rc = CLI_EXIT_OK;
		goto out;
	}
	rc = cli_usage(&cli, "unknown command '%s'", word);
out:
	api_global_cleanup();
	free(cli.state_dir_buf);
	free(cli.url_buf);
	return rc;
}
