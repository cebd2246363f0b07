/* `airlock up`: check the flags with the table of common/flags.c, then exec
 * airlock-broker --banner with the same flags. The broker creates the
 * state, serves the API and supervises the enforcer; exec (not fork) so
 * that signals, exit status and the pid a supervisor sees are the broker's. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fileutil.h"
#include "common/flags.h"
#include "common/jsonutil.h"
#include "common/xmalloc.h"

#define BROKER_NAME "airlock-broker"

static void up_help(void)
{
	printf("Usage: airlock up [--config FILE] [--print-config] [--bind IP] [--http-port 3128]\n"
	       "                  [--https-port 3129] [--state-dir DIR] [--mode strict|audit]\n"
	       "                  [--deny-cidr CIDR]... [--san NAME]... [--seal-key-file F] [--keyring]\n"
	       "                  [--resolve H:P:A]... [--upstream-ca F] [--log-format kv|json]\n"
	       "                  [--log-file PATH] [--debug] [LIMITS]\n"
	       "\n"
	       "Start airlock in the foreground: the broker (REST API on <state dir>/api.sock)\n"
	       "and the enforcer (the two proxy listeners). On first run it creates the state\n"
	       "dir, the seal key and the CA. Once the proxy listens it prints the API socket,\n"
	       "the CA certificate that sandboxes must trust, and the two proxy URLs. Every\n"
	       "flag is also a key of the config file (KEY = VALUE); flags override it.\n"
	       "SIGTERM or SIGINT stops it (open requests may finish first); SIGHUP reopens\n"
	       "the log file and reads the config file again.\n"
	       "\n"
	       "Options:\n");
	flag_help_print(stdout, FLAG_P_UP);
	printf("  %-26s %s\n", "-h, --help", "show this help");
	printf("\nThe default config file here is %s.\n", CONF_DEFAULT_PATH);
}

/* File and directory names reach the broker as absolute paths: the banner
 * shows them, and they must mean the same in the broker, the enforcer it
 * spawns and later CLI calls. */
static char *value_for_broker(enum flag_id id, const char *v)
{
	enum flag_type t = flag_table[id].type;
	bool is_path = t == FLAG_T_PATH || t == FLAG_T_FILE || t == FLAG_T_PROGRAM;
	if (!is_path || v[0] == '/')
		return xstrdup(v);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(v);
	return path_join(cwd, v);
}

/* airlock-broker next to this binary (a build tree or an install), else in
 * BINDIR, else in LIBEXECDIR. */
static char *find_broker(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = path_join(self[0] ? self : "/", BROKER_NAME);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	static const char *const dirs[] = { BINDIR, LIBEXECDIR };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = path_join(dirs[i], BROKER_NAME);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int cmd_up_run(struct cli *cli, int argc, char **argv)
{
	struct option opts[FLAG_COUNT + 2];
	size_t nopts = 0;
	struct flagset fs;
	char err[512];
	const char *arg;
	int c, rc = CLI_EXIT_OK;
	/* broker, --banner, every flag with its value, --state-dir DIR, NULL */
	char **bargv = xcalloc((size_t)argc * 2 + 6, sizeof *bargv);
	size_t nb = 2;
	char *broker = NULL;

	for (int i = 0; i < FLAG_COUNT; i++)
		if (flag_table[i].procs & FLAG_P_UP)
			opts[nopts++] = (struct option){ flag_table[i].name,
							 flag_table[i].type == FLAG_T_BOOL ? no_argument
											   : required_argument,
							 NULL, OPT_FIRST_LOCAL + i };
	opts[nopts++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[nopts] = (struct option){ NULL, 0, NULL, 0 };

	flagset_init(&fs, FLAG_P_UP);
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		enum flag_id id = (enum flag_id)(c - OPT_FIRST_LOCAL);
		if (flagset_set(&fs, id, flag_table[id].type == FLAG_T_BOOL ? NULL : arg, FLAG_SRC_ARGV,
				err, sizeof err) < 0) {
			rc = cli_usage(cli, "%s", err);
			goto out;
		}
	}
	if (c == CLI_OPT_STOP) {
		rc = cli->stop_rc;
		goto out;
	}
	if (cli_optind() < argc) {
		rc = cli_usage(cli, "unexpected argument '%s'", argv[cli_optind()]);
		goto out;
	}
	/* Normalised as "--name" "value", in the order given: the broker
	 * parses with the same table. */
	for (size_t i = 0; i < fs.nuses; i++) {
		const struct flag_use *u = &fs.uses[i];
		size_t l = strlen(flag_table[u->id].name) + 3;
		bargv[nb] = xmalloc(l);
		snprintf(bargv[nb++], l, "--%s", flag_table[u->id].name);
		if (u->value)
			bargv[nb++] = value_for_broker(u->id, u->value);
	}
	/* `airlock --state-dir DIR up`: the broker gets it as a flag. Without
	 * one the broker works out the same default as this CLI, unless a
	 * config file names another (which it may: it is not a flag here). */
	if (!fs.v[FLAG_STATE_DIR].n && cli->state_dir) {
		bargv[nb++] = xstrdup("--state-dir");
		bargv[nb++] = value_for_broker(FLAG_STATE_DIR, cli->state_dir);
	}
	broker = find_broker();
	if (broker == NULL) {
		rc = cli_fail("up: cannot find %s next to this program or in %s", BROKER_NAME, BINDIR);
		goto out;
	}
	bargv[0] = xstrdup(broker);
	bargv[1] = xstrdup("--banner");
	bargv[nb] = NULL;
	fflush(stdout);
	fflush(stderr);
	execv(broker, bargv);
	rc = cli_fail("up: cannot run %s: %s", broker, strerror(errno));
out:
	flagset_free(&fs);
	for (size_t i = 0; i < nb; i++)
		free(bargv[i]);
	free(bargv);
	free(broker);
	return rc;
}

const struct cli_cmd cmd_up = {
	.name = "up",
	.run = cmd_up_run,
	.summary = "start airlock (broker and proxy) in the foreground",
	.usage = "Usage: airlock up [OPTIONS]\n",
	.own_options = true,
	.print_help = up_help,
};
