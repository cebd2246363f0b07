/* The CLI's shared plumbing: option parsing with one error style for every
 * command, the state dir and socket defaults (TEAM process model), aligned
 * tables, and JSON printing. Commands in cmd_*.c use only these helpers and
 * api.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fileutil.h"
#include "common/xmalloc.h"

static void vreport(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	/* One line, one write: build it first. */
	char line[1024];
	int n = snprintf(line, sizeof line, "airlock: %s", prefix);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	fprintf(stderr, "%s\n", line);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cli->cmdpath[0])
		fprintf(stderr, "airlock: %s: %s (see 'airlock %s --help')\n", cli->cmdpath, msg,
			cli->cmdpath);
	else
		fprintf(stderr, "airlock: %s (see 'airlock --help')\n", msg);
	return CLI_EXIT_USAGE;
}

void cli_opts_begin(void)
{
	optind = 0; /* glibc: full re-initialisation, also of permutation state */
	opterr = 0; /* our own messages: one line, one style */
}

int cli_optind(void)
{
	return optind;
}

int cli_getopt(struct cli *cli, int argc, char **argv, const struct option *opts, const char **arg)
{
	for (;;) {
		int c = getopt_long(argc, argv, ":h", opts, NULL);
		*arg = optarg;
		switch (c) {
		case -1:
			return CLI_OPT_DONE;
		case OPT_HELP:
			if (cli->cmd->print_help) {
				cli->cmd->print_help();
				cli->stop_rc = CLI_EXIT_OK;
				return CLI_OPT_STOP;
			}
			fputs(cli->cmd->usage, stdout);
			if (!cli->cmd->own_options)
				fputs("\n" CLI_COMMON_USAGE, stdout);
			cli->stop_rc = CLI_EXIT_OK;
			return CLI_OPT_STOP;
		case OPT_URL:
			cli->url = optarg;
			continue;
		case OPT_STATE_DIR:
			if (optarg[0] == '\0') {
				cli->stop_rc = cli_usage(cli, "--state-dir needs a directory");
				return CLI_OPT_STOP;
			}
			cli->state_dir = optarg;
			continue;
		case ':':
			cli->stop_rc = cli_usage(cli, "option '%s' needs a value", argv[optind - 1]);
			return CLI_OPT_STOP;
		case '?':
			if (optopt >= OPT_URL)
				cli->stop_rc = cli_usage(cli, "option '%s' takes no value", argv[optind - 1]);
			else if (optopt && optopt < 0x100)
				cli->stop_rc = cli_usage(cli, "unknown option '-%c'", optopt);
			else
				cli->stop_rc = cli_usage(cli, "unknown option '%s'", argv[optind - 1]);
			return CLI_OPT_STOP;
		default:
			return c;
		}
	}
}

int cli_want_args(struct cli *cli, int argc, char **argv, int n, const char *names)
{
	int have = argc - optind;
	if (have < n)
		return cli_usage(cli, "missing %s", names);
	if (have > n)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + n]);
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '\0')
			return cli_usage(cli, "empty %s", names);
	return 0;
}

const char *cli_state_dir(struct cli *cli)
{
	if (cli->state_dir)
		return cli->state_dir;
	cli->state_dir_buf = state_dir_default();
	cli->state_dir = cli->state_dir_buf;
	return cli->state_dir;
}

const char *cli_socket(struct cli *cli)
{
	if (cli->url == NULL) {
		const char *env = getenv("AIRLOCK_URL");
		if (env && env[0])
			cli->url = env;
	}
	if (cli->url == NULL) {
		bool named = cli->state_dir != NULL;
		cli->url_buf = path_join(cli_state_dir(cli), "api.sock");
		cli->url = cli->url_buf;
		/* airlock as a system service (debian/airlock.service) keeps its
		 * sockets in /run/airlock: found when nothing else was named */
		if (!named && access(cli->url, F_OK) != 0 && access(SERVICE_API_SOCKET, F_OK) == 0)
			cli->url = SERVICE_API_SOCKET;
	}
	/* Accept "unix:PATH" as a spelling of PATH. */
	if (strncmp(cli->url, "unix:", 5) == 0)
		return cli->url + 5;
	return cli->url;
}

void cli_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		wiping_free(s);
	}
}

/* ---- tables ---- */

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *header)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
	cli_table_add(t, header);
}

/* One token per cell, so that awk and cut split a row into its columns: an
 * absent or empty cell shows "-", and blanks (which no name, host, path or
 * time holds) would show as "_". */
void cli_table_add(struct cli_table *t, const char *const *row)
{
	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	for (size_t i = 0; i < t->ncols; i++) {
		char *cell = xstrdup(row[i] && row[i][0] ? row[i] : "-");
		for (char *c = cell; *c; c++)
			if (isspace((unsigned char)*c))
				*c = '_';
		t->cells[t->nrows * t->ncols + i] = cell;
	}
	t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				printf("%s\n", cell);
			else
				printf("%-*s  ", (int)w[c], cell);
		}
	}
	free(w);
}

void cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

char *cli_join_array(const json_t *arr, const char *empty)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return xstrdup(empty);
	size_t cap = 64, len = 0;
	char *out = xmalloc(cap);
	out[0] = '\0';
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		char num[32];
		const char *s = num;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		else
			s = "?";
		size_t need = len + strlen(s) + 2;
		if (need > cap) {
			cap = need * 2;
			out = xrealloc(out, cap);
		}
		len += (size_t)sprintf(out + len, "%s%s", i ? "," : "", s);
	}
	return out;
}
