/* `airlock ca init|cert|bundle`: the CA that signs the TLS listener's
 * certificate and the minted leaves. `init` works locally on the state dir
 * (common/ca.h); `cert` asks the broker, or reads <state>/ca.pem when the
 * broker is down; `bundle` prints the system's roots followed by that
 * certificate, for the variables that replace a program's trust store. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "cli/cli.h"
#include "common/ca.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

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

static const char bundle_usage[] =
	"Usage: airlock ca bundle [--system FILE]\n"
	"\n"
	"Print the system's root certificates followed by airlock's CA certificate\n"
	"(PEM), for sandbox variables that replace a program's trust store\n"
	"(SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO,\n"
	"DENO_CERT): with airlock's CA alone there, hosts reached through a blind\n"
	"tunnel (bare rules) would fail verification. `airlock sandbox env` points\n"
	"those variables at the bundle and the adding ones (NODE_EXTRA_CA_CERTS)\n"
	"at the CA alone.\n"
	"  --system FILE      the roots to start from (default\n"
	"                     /etc/ssl/certs/ca-certificates.crt, this machine's store)\n"
	"Example:  airlock ca bundle > airlock-ca-bundle.pem\n";

static const char group_usage[] =
	"Usage: airlock ca init [--force] | airlock ca cert | airlock ca bundle [--system FILE]\n"
	"\n"
	"airlock's certificate authority signs the TLS proxy listener's certificate\n"
	"and the per-host certificates it mints to inspect HTTPS.\n";

enum { OPT_FORCE = OPT_FIRST_LOCAL, OPT_SYSTEM };

#define SYSTEM_ROOTS "/etc/ssl/certs/ca-certificates.crt"

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

/* airlock's CA certificate (PEM, malloc'd): from the broker, or from
 * <state>/ca.pem when it is not running. Reports its own failures. */
static int ca_pem(struct cli *cli, char **out, size_t *outlen)
{
	struct api_reply r;
	int rc, err = api_request(cli, "GET", "/proxy/v1/ca", NULL, &r);
	if (err == 0) {
		if (r.status == 200 && strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
			*out = xmalloc(r.len + 1);
			memcpy(*out, r.body, r.len);
			(*out)[r.len] = '\0';
			*outlen = r.len;
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
	err = file_read_all(path, AL_PEM_MAX, out, outlen);
	if (err < 0 && access(path, F_OK) != 0)
		rc = cli_fail("no CA at %s: run `airlock ca init` or `airlock up`", path);
	else if (err < 0)
		rc = cli_fail("cannot read %s: %s", path, airlock_strerror(err));
	else
		rc = CLI_EXIT_OK;
	free(path);
	return rc;
}

static int ca_cert_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	const char *arg;
	int c, rc;
	char *pem = NULL;
	size_t len = 0;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	rc = ca_pem(cli, &pem, &len);
	if (rc == CLI_EXIT_OK)
		fwrite(pem, 1, len, stdout);
	free(pem);
	return rc;
}

/* How many certificates a PEM text holds, every block parsed (GnuTLS):
 * a bundle that some program would choke on is refused here instead. */
static int pem_count(const char *pem, size_t len, unsigned *n)
{
	gnutls_x509_crt_t *list = NULL;
	unsigned size = 0;
	gnutls_datum_t d = { .data = (unsigned char *)pem, .size = (unsigned)len };
	int rc = gnutls_x509_crt_list_import2(&list, &size, &d, GNUTLS_X509_FMT_PEM,
					      0);
	if (rc < 0)
		return AL_EINVAL;
	for (unsigned i = 0; i < size; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	*n = size;
	return size ? 0 : AL_EINVAL;
}

static int ca_bundle_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "system", required_argument, NULL, OPT_SYSTEM },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *system = SYSTEM_ROOTS;
	int c, rc, err;
	char *roots = NULL, *pem = NULL;
	size_t rlen = 0, plen = 0;
	unsigned n;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0)
		if (c == OPT_SYSTEM)
			system = arg;
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 0, "")) != 0)
		return rc;
	if (system[0] == '\0')
		return cli_usage(cli, "--system needs a file");

	err = file_read_all(system, AL_CA_BUNDLE_MAX, &roots, &rlen);
	if (err < 0) {
		rc = cli_fail("cannot read the system roots %s: %s%s", system, airlock_strerror(err),
			      strcmp(system, SYSTEM_ROOTS) == 0 ? " (install ca-certificates, or give --system FILE)"
								 : "");
		goto out;
	}
	if (pem_count(roots, rlen, &n) < 0) {
		rc = cli_fail("%s holds no PEM certificates that parse", system);
		goto out;
	}
	rc = ca_pem(cli, &pem, &plen);
	if (rc != CLI_EXIT_OK)
		goto out;
	fwrite(roots, 1, rlen, stdout);
	if (rlen && roots[rlen - 1] != '\n')
		putchar('\n');
	fwrite(pem, 1, plen, stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_fail("cannot write the bundle to standard output");
out:
	free(roots);
	free(pem);
	return rc;
}

static const struct cli_cmd ca_cmds[] = {
	{ .name = "init", .run = ca_init_run, .summary = "create the CA in the state dir", .usage = init_usage },
	{ .name = "cert", .run = ca_cert_run, .summary = "print the CA certificate (PEM)", .usage = cert_usage },
	{ .name = "bundle", .run = ca_bundle_run, .summary = "print the system roots plus the CA (PEM)",
	  .usage = bundle_usage },
};

const struct cli_cmd cmd_ca = {
	.name = "ca",
	.summary = "create the CA, print its certificate or a bundle with the system roots",
	.usage = group_usage,
	.subs = ca_cmds,
	.nsubs = ARRAY_SIZE(ca_cmds),
};
