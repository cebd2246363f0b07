/* `airlock ca init|cert`: the CA that signs the TLS listener's certificate and
 * the minted leaves. `init` works locally on the state dir (common/ca.h);
 * `cert` asks the broker, or reads <state>/ca.pem when the broker is down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/ca.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"

static const char init_usage[] =
	"Usage: airlock ca init [--state-dir DIR] [--force]\n"
	"\n"
	"Create the CA (ECDSA P-256; ca.key 0600 and ca.pem) in the state dir.\n"
	"`airlock up` does this by itself on first run.\n"
	"  --force            replace an existing CA (sandboxes must then trust the\n"
	"                     new one, and a running airlock must be restarted)\n";

static const char cert_usage[] =
	"Usage: airlock ca cert\n"
	"\n"
	"Print the CA certificate (PEM) that sandboxes must trust. Asks the running\n"
	"broker, or reads <state dir>/ca.pem when it is not running.\n";

static const char group_usage[] =
	"Usage: airlock ca init [--force] | airlock ca cert\n"
	"\n"
	"airlock's certificate authority signs the TLS proxy listener's certificate\n"
	"and the per-host certificates it mints to inspect HTTPS.\n";

enum { OPT_FORCE = OPT_FIRST_LOCAL };

static int ca_init_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	bool force = false;
	int c, rc, err;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_FORCE)
			force = true;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;

	const char *dir = cli_state_dir(cli);
	err = dir_ensure_private(dir, 0700);
	if (err < 0)
		return cli_fail("ca init: state dir %s: %s (it must be ours and closed to group and others)",
				dir, airlock_strerror(err));
	err = ca_create(dir, force);
	if (err == AL_EEXIST)
		return cli_fail("ca init: a CA already exists in %s (--force replaces it)", dir);
	if (err < 0)
		return cli_fail("ca init: %s: %s", dir, airlock_strerror(err));
	char *pem = path_join(dir, CA_CERT_FILE);
	printf("%s\n", pem);
	free(pem);
	if (force)
		cli_warn("if airlock is running, restart it to use the new CA; sandboxes must trust the "
			 "new certificate");
	return CLI_EXIT_OK;
}

static int ca_cert_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	int c, rc, err;
	struct api_reply r;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;

	err = api_request(cli, "GET", "/proxy/v1/ca", NULL, &r);
	if (err == 0) {
		if (r.status == 200 && strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
			fwrite(r.body, 1, r.len, stdout);
			rc = CLI_EXIT_OK;
		} else {
			const char *msg = json_is_object(r.json)
						  ? json_string_value(json_object_get(r.json, "error"))
						  : NULL;
			rc = msg ? cli_fail("%s", msg) : cli_fail("the broker answered HTTP %ld", r.status);
		}
		api_reply_free(&r);
		return rc;
	}
	if (err != AL_EUNAVAIL)
		return CLI_EXIT_FAIL; /* reported by api_request */

	/* The broker is not running: the file is the same certificate. */
	char *path = path_join(cli_state_dir(cli), CA_CERT_FILE);
	char *pem = NULL;
	size_t len = 0;
	err = file_read_all(path, AL_PEM_MAX, &pem, &len);
	if (err < 0 && access(path, F_OK) != 0)
		rc = cli_fail("no CA at %s: run `airlock ca init` or `airlock up`", path);
	else if (err < 0)
		rc = cli_fail("cannot read %s: %s", path, airlock_strerror(err));
	else {
		fwrite(pem, 1, len, stdout);
		rc = CLI_EXIT_OK;
	}
	free(pem);
	free(path);
	return rc;
}

static const struct cli_cmd ca_cmds[] = {
	{ .name = "init", .run = ca_init_run, .summary = "create the CA in the state dir", .usage = init_usage },
	{ .name = "cert", .run = ca_cert_run, .summary = "print the CA certificate (PEM)", .usage = cert_usage },
};

const struct cli_cmd cmd_ca = {
	.name = "ca",
	.summary = "create the CA, print its certificate",
	.usage = group_usage,
	.subs = ca_cmds,
	.nsubs = ARRAY_SIZE(ca_cmds),
};
