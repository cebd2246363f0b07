/* The airlock command line: shared types of the command table, option
 * parsing with one uniform error style, and the REST client (api.c).
 * Exit status everywhere: 0 done, 1 refused or failed (one line on stderr),
 * 2 usage error (one line on stderr). --help prints usage on stdout, exit 0. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli;

/* One command or subcommand. A group (client, secret, ca, ...) has subs and
 * no run; main.c dispatches through these tables, never a strcmp chain. */
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;     /* one line, for the group's help */
	const char *usage;       /* full --help text */
	const struct cli_cmd *subs;
	size_t nsubs;
	bool own_options;        /* usage lists every option itself (up) */
	void (*print_help)(void); /* when set, --help calls it instead of printing usage */
};

struct cli {
	const char *url;         /* --url / AIRLOCK_URL: the API's unix socket path */
	const char *state_dir;   /* --state-dir / AIRLOCK_STATE_DIR */
	char *state_dir_buf;     /* the resolved default, owned */
	char *url_buf;           /* the resolved default socket path, owned */
	char cmdpath[64];        /* "client create", for messages */
	const struct cli_cmd *cmd;
	int stop_rc;             /* exit status when cli_getopt returns CLI_OPT_STOP */
};

/* Options every command accepts; their ids are above any short option. */
enum { OPT_HELP = 'h', OPT_URL = 0x1000, OPT_STATE_DIR, OPT_FIRST_LOCAL };
#define CLI_COMMON_OPTS                                          \
	{ "help", no_argument, NULL, OPT_HELP },                  \
	{ "url", required_argument, NULL, OPT_URL },              \
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR }
#define CLI_COMMON_USAGE                                                          \
	"Common options:\n"                                                        \
	"  --url PATH         the broker's API socket (default $AIRLOCK_URL, else\n" \
	"                     <state dir>/api.sock)\n"                              \
	"  --state-dir DIR    state directory (default $AIRLOCK_STATE_DIR, else\n"  \
	"                     $XDG_STATE_HOME/airlock, else ~/.local/state/airlock)\n" \
	"  -h, --help         show this help\n"

#define CLI_OPT_DONE (-1)
#define CLI_OPT_STOP (-2) /* --help shown or usage error printed: exit with cli->stop_rc */

/* Start parsing argv (argv[0] is the command word) with `opts` (terminated by
 * a zero entry). Each call returns the next option's id with its argument in
 * *arg; handles --help, --url and --state-dir itself; returns CLI_OPT_DONE
 * when the options end (positionals start at cli_optind()), CLI_OPT_STOP on
 * --help or a usage error (already reported). */
void cli_opts_begin(void);
int cli_getopt(struct cli *cli, int argc, char **argv, const struct option *opts, const char **arg);
int cli_optind(void);

/* Report a usage error ("airlock: client create: MSG (see ...)") and return 2. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a failure ("airlock: MSG") and return 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Positional argument count check: exactly n, with names for the message. */
int cli_want_args(struct cli *cli, int argc, char **argv, int n, const char *names);

/* Where the service's broker listens (RuntimeDirectory=airlock). */
#define SERVICE_API_SOCKET "/run/airlock/api.sock"
/* The state dir (flag, env, XDG, HOME) and the API socket path: --url,
 * $AIRLOCK_URL, <state dir>/api.sock, else the service's when only it is
 * there. */
const char *cli_state_dir(struct cli *cli);
const char *cli_socket(struct cli *cli);

/* Print a JSON value as the API gave it (indented, key order kept). */
void cli_print_json(const json_t *v);

/* A table printed with aligned columns, one token per cell (an empty or
 * absent cell shows "-"; blanks show as "_"). Cells are copied. */
struct cli_table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols, row 0 is the header */
};
void cli_table_init(struct cli_table *t, size_t ncols, const char *const *header);
void cli_table_add(struct cli_table *t, const char *const *row);
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);
/* "a,b,c" from a JSON array of strings or integers; `empty` when absent or empty. */
char *cli_join_array(const json_t *arr, const char *empty);

/* --- list.c: the listing commands (client list, secret list, rules) --- */

/* One listing: GET a JSON array, print it as is with --json (the API's
 * answer, the shape the seed SDKs decode), else as a table with one token
 * per column (awk and cut split it right). */
struct cli_list {
	const char *path;               /* GET this; with arg, + "/" + the escaped argument */
	const char *arg;                /* the one positional argument's name, or NULL */
	const char *const *header;      /* ncols column titles */
	size_t ncols;
	/* Fill row[0..ncols) for one item: malloc'd strings, NULL shows "-". */
	void (*row)(const json_t *item, char **row);
	/* Print the line shown for an empty list (arg: the positional, or NULL). */
	void (*empty)(const char *arg);
};
int cli_list_run(struct cli *cli, int argc, char **argv, const struct cli_list *l);
/* One deletion (client delete, secret delete): no options but the common
 * ones, one NAME, DELETE collection + "/" + the escaped NAME; on success
 * done(name, the answer's headers) says what happened. */
int cli_delete_run(struct cli *cli, int argc, char **argv, const char *collection,
		   void (*done)(const char *name, const json_t *hdrs));

/* --- api.c: the REST client over the unix socket --- */

struct api_reply {
	long status;
	char *body;      /* NUL-terminated */
	size_t len;
	json_t *json;    /* parsed when the body is JSON, else NULL */
	json_t *headers; /* the X-Airlock-* headers, names in lower case */
};

/* One HTTP request to http://airlock<path> over the API socket. `body` is
 * sent as JSON when not NULL and wiped after sending (it may hold a secret).
 * AL_EUNAVAIL when the broker cannot be reached (nothing printed). */
int api_request(struct cli *cli, const char *method, const char *path, const json_t *body,
		struct api_reply *r) AL_MUST_CHECK;
void api_reply_free(struct api_reply *r);
/* The usual case: request, then on success (2xx) hand over the JSON answer
 * (*out, may be NULL when not wanted). On failure print one line (the API's
 * error, or that the broker is down) and return 1; 0 on success. */
int api_call(struct cli *cli, const char *method, const char *path, const json_t *body, json_t **out);
/* The same, also handing over the answer's X-Airlock-* headers (an object,
 * names in lower case): a 204 has no body, its details are there. */
int api_call_headers(struct cli *cli, const char *method, const char *path, const json_t *body,
		     json_t **out, json_t **headers);
/* Read the JSON-lines stream at path (a ?follow=1 listing) until the broker
 * ends it, handing each line (without its newline; one over 64 KiB is
 * skipped whole) to on_line. Prints one line on failure, naming the stream
 * by `what`; returns the command's exit code. */
int api_follow(struct cli *cli, const char *path, const char *what,
	       void (*on_line)(void *arg, const char *line, size_t n), void *arg);
/* Escape one path segment (a name or a host) for the URL; malloc'd. */
char *api_escape(const char *segment);
void api_global_cleanup(void);

/* --- the command groups --- */
/* Each is a command or a group with its subcommands; main.c lists them. */
extern const struct cli_cmd cmd_up;        /* cmd_up.c */
extern const struct cli_cmd cmd_ca;        /* cmd_ca.c: init, cert */
extern const struct cli_cmd cmd_client;    /* cmd_client.c: create, list, delete */
extern const struct cli_cmd cmd_secret;    /* cmd_secret.c: create, list, delete (+ stub) */
extern const struct cli_cmd cmd_allow;     /* cmd_allow.c */
extern const struct cli_cmd cmd_rules;     /* cmd_allow.c */
extern const struct cli_cmd cmd_revoke;    /* cmd_allow.c */
extern const struct cli_cmd cmd_oauth;     /* cmd_oauth.c: xai */
extern const struct cli_cmd cmd_sandbox;   /* cmd_sandbox.c: env */
extern const struct cli_cmd cmd_connect_entry; /* cmd_misc.c -> cmd_connect.c */
extern const struct cli_cmd cmd_audit;     /* cmd_audit.c: suggest */
extern const struct cli_cmd cmd_tail;      /* cmd_tail.c */
extern const struct cli_cmd cmd_status;    /* cmd_status.c */
extern const struct cli_cmd cmd_explain;   /* cmd_status.c */
extern const struct cli_cmd cmd_store;     /* cmd_store.c */
extern const struct cli_cmd cmd_preset;    /* cmd_preset.c: list, show */
extern const struct cli_cmd cmd_ui;        /* cmd_ui.c: token */
extern const struct cli_cmd cmd_approvals; /* cmd_approvals.c: (list), approve, deny */
/* cmd_client.c: the budget options of `client create/set` and `allow`
 * (--max-rpm N, --max-bytes-per-hour SIZE, --max-concurrent N, and for
 * clients --max-tokens-per-day N). Their long options, ids from
 * OPT_BUDGET_FIRST; cli_budget_opt() puts one into body (0 is kept: it
 * removes a limit on `client set`), or reports a usage error (returns 2). */
enum { OPT_BUDGET_FIRST = 0x2000, OPT_MAX_RPM = OPT_BUDGET_FIRST, OPT_MAX_BYTES_HOUR, OPT_MAX_CONCURRENT,
       OPT_MAX_TOKENS_DAY };
#define CLI_BUDGET_OPTS \
	{ "max-rpm", required_argument, NULL, OPT_MAX_RPM }, \
	{ "max-bytes-per-hour", required_argument, NULL, OPT_MAX_BYTES_HOUR }, \
	{ "max-concurrent", required_argument, NULL, OPT_MAX_CONCURRENT }
#define CLI_TOKENS_OPT { "max-tokens-per-day", required_argument, NULL, OPT_MAX_TOKENS_DAY }
int cli_budget_opt(struct cli *cli, int opt, const char *arg, json_t *body);
/* cmd_allow.c: the line that says what a new rule (the API's answer) does */
void allow_print(const char *client, const json_t *resp, const char *warn_secret);
/* cmd_preset.c: `allow CLIENT --host H --learn --ttl D [--secret S]`: the
 * calls a preset marks as needing S's login (with S), then every method on
 * H without a secret, all ending after ttl; the exit status */
int learn_allow(struct cli *cli, const char *client, const char *host, const char *secret, int64_t ttl,
		const json_t *ports, bool json);
/* cmd_preset.c: `allow CLIENT --preset NAME`; the exit status */
int preset_allow(struct cli *cli, const char *client, const char *name, const char *secret, bool has_ttl,
		 int64_t ttl, bool json);
/* cmd_connect.c: `airlock connect HOST:PORT` parses its own argv (argv[0] =
 * "connect") and returns the exit status. */
int cmd_connect(int argc, char **argv);
/* cmd_oauth.c: `secret stub` belongs to the secret group */
int cmd_secret_stub(struct cli *cli, int argc, char **argv);
extern const char cmd_secret_stub_usage[];


#endif
