/* The listing commands' one skeleton (`client list`, `secret list`,
 * `rules CLIENT`): options (--json), the GET, the check that the answer is
 * the JSON array the API promises, then either that answer printed as is
 * or a table built row by row by the command's own callback. And the
 * deleting commands' (`client delete`, `secret delete`). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/xmalloc.h"

enum { OPT_LIST_JSON = OPT_FIRST_LOCAL };

int cli_list_run(struct cli *cli, int argc, char **argv, const struct cli_list *l)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_LIST_JSON },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *positional = NULL;
	bool json = false;
	char *path = NULL;
	json_t *resp = NULL;
	int c, rc;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_LIST_JSON)
			json = true;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, l->arg ? 1 : 0, l->arg ? l->arg : "")) != 0)
		return rc;
	if (l->arg) {
		positional = argv[cli_optind()];
		char *esc = api_escape(positional);
		path = xmalloc(strlen(l->path) + strlen(esc) + 2);
		sprintf(path, "%s/%s", l->path, esc);
		free(esc);
	} else {
		path = xstrdup(l->path);
	}

	rc = api_call(cli, "GET", path, NULL, &resp);
	if (rc != 0)
		goto out;
	if (!json_is_array(resp)) {
		rc = cli_fail("the broker's answer to GET %s is not a JSON array", path);
		goto out;
	}
	if (json) {
		cli_print_json(resp);
		goto out;
	}
	if (json_array_size(resp) == 0) {
		l->empty(positional);
		goto out;
	}
	struct cli_table t;
	char **row = xcalloc(l->ncols, sizeof *row);
	size_t i;
	const json_t *item;
	cli_table_init(&t, l->ncols, l->header);
	json_array_foreach(resp, i, item) {
		l->row(item, row);
		cli_table_add(&t, (const char *const *)row);
		for (size_t k = 0; k < l->ncols; k++) {
			free(row[k]);
			row[k] = NULL;
		}
	}
	cli_table_print(&t);
	cli_table_free(&t);
	free(row);
out:
	free(path);
	json_decref(resp);
	return rc;
}

int cli_delete_run(struct cli *cli, int argc, char **argv, const char *collection,
		   void (*done)(const char *name, const json_t *hdrs))
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	int c, rc;
	json_t *hdrs = NULL;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "NAME")) != 0)
		return rc;
	const char *name = argv[cli_optind()];

	char *esc = api_escape(name);
	char *path = xmalloc(strlen(collection) + strlen(esc) + 2);
	sprintf(path, "%s/%s", collection, esc);
	rc = api_call_headers(cli, "DELETE", path, NULL, NULL, &hdrs);
	if (rc == 0)
		done(name, hdrs);
	json_decref(hdrs);
	free(path);
	free(esc);
	return rc;
}
