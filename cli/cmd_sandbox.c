/* `airlock sandbox env` (docs/airlock.1): the variables a sandbox needs, so nobody
 * writes them by hand: the proxy URL with the client's token as its password,
 * NO_PROXY, and the CA variables the common runtimes read, as sh, dotenv,
 * JSON, or the arguments docker build and docker run need. CA trust adds,
 * never replaces: a variable that replaces a program's whole trust store
 * points at the bundle (`airlock ca bundle`: system roots + airlock's CA),
 * so hosts behind a blind tunnel still verify; a variable that adds to the
 * store points at airlock's CA alone. The token is printed because the user
 * handed it to us; it goes to stdout only, never to a message, and every
 * copy we make is wiped. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

/* airlock up's defaults, for when the broker cannot tell us (it is down). */
#define DEFAULT_HTTP_PROXY "http://127.0.0.1:3128"
#define DEFAULT_HTTPS_PROXY "https://127.0.0.1:3129"
#define DEFAULT_HTTP_PORT "3128"
#define DEFAULT_HTTPS_PORT "3129"
#define PROXY_URL_MAX 512
#define CA_PATH_MAX 4096

/* Hosts a sandbox reaches without the proxy: its own loopback. */
static const char no_proxy[] = "localhost,127.0.0.1,::1";

/* Every name that carries the proxy, then the CA variables in two kinds.
 * Replacing: the file is the program's whole trust store (OpenSSL's
 * SSL_CERT_FILE for Python and many more, requests, curl, git, Deno): they
 * get the bundle. Adding: the file joins the built-in roots (Node, and Codex;
 * git's GIT_PROXY_SSL_CAINFO checks only the
 * proxy's own certificate, which airlock's CA signs): they get the CA. */
static const char *const proxy_vars[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" };
static const char *const no_proxy_vars[] = { "NO_PROXY", "no_proxy" };
static const char *const bundle_vars[] = {
	"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "DENO_CERT",
};
static const char *const ca_vars[] = { "NODE_EXTRA_CA_CERTS", "CODEX_CA_CERTIFICATE", "GIT_PROXY_SSL_CAINFO" };

/* Where docker run puts the two files inside a container. */
#define CONTAINER_CA "/etc/airlock/ca.pem"
#define CONTAINER_BUNDLE "/etc/airlock/ca-bundle.pem"

enum shell { SHELL_SH, SHELL_DOTENV, SHELL_JSON, SHELL_DOCKER };
static const struct {
	const char *name;
	enum shell shell;
} shells[] = { { "sh", SHELL_SH }, { "dotenv", SHELL_DOTENV }, { "json", SHELL_JSON }, { "docker", SHELL_DOCKER } };

enum { OPT_TOKEN = OPT_FIRST_LOCAL, OPT_CA_PATH, OPT_BUNDLE_PATH, OPT_SHELL, OPT_PROXY };

static const char sandbox_env_usage[] =
	"Usage: airlock sandbox env CLIENT --token T --ca-path P [--bundle-path B]\n"
	"                           [--shell sh|json|dotenv|docker] [--proxy http|https|URL]\n"
	"\n"
	"Print the variables a sandbox needs to go out through airlock:\n"
	"HTTP_PROXY, HTTPS_PROXY and their lower-case twins (the proxy URL with the\n"
	"client's token as its password), NO_PROXY/no_proxy (localhost,127.0.0.1,::1),\n"
	"and the CA variables common runtimes read. CA trust adds, never replaces:\n"
	"the variables that replace a program's trust store (SSL_CERT_FILE,\n"
	"REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, DENO_CERT) point at B,\n"
	"the bundle of system roots plus airlock's CA (`airlock ca bundle`), so hosts\n"
	"reached through a blind tunnel still verify; those that add to it\n"
	"(NODE_EXTRA_CA_CERTS, CODEX_CA_CERTIFICATE, GIT_PROXY_SSL_CAINFO) point at P.\n"
	"  --token T          the client's token (printed inside the proxy URL); - reads\n"
	"                     it from standard input, out of the process list:\n"
	"                     airlock client create web-1 | airlock sandbox env web-1 --token - ...\n"
	"  --ca-path P        where the sandbox finds airlock's CA certificate (a path\n"
	"                     inside the sandbox; copy `airlock ca cert` there)\n"
	"  --bundle-path B    where the sandbox finds the bundle (copy `airlock ca bundle`\n"
	"                     there); default: P with -bundle before its .pem or .crt\n"
	"                     (/etc/airlock-ca.pem -> /etc/airlock-ca-bundle.pem)\n"
	"  --shell FORMAT     sh: export K='V' lines (default); dotenv: K=V lines,\n"
	"                     quoted when needed; json: one object; docker: two sh\n"
	"                     functions, airlock_docker_build and airlock_docker_run,\n"
	"                     that call docker build (proxy build args, the CA files as\n"
	"                     BuildKit secrets) and docker run (the variables, the CA\n"
	"                     files mounted at " CONTAINER_CA " and " CONTAINER_BUNDLE ")\n"
	"  --proxy WHICH      http: the plain listener (default), https: the TLS\n"
	"                     listener, both as the running broker reports them;\n"
	"                     or a URL http://HOST:PORT or https://HOST:PORT, e.g. the\n"
	"                     address the sandbox sees the host at\n"
	"When the broker is not running, the defaults http://127.0.0.1:3128 and\n"
	"https://127.0.0.1:3129 are used (with a note on stderr).\n"
	"Example:  airlock sandbox env web-1 --token \"$TOKEN\" --ca-path /etc/airlock-ca.pem > env.sh\n";

/* RFC 3986 userinfo: everything but the unreserved characters is %XX, so a
 * token with ':', '@', '%' or '/' cannot change the URL's shape. */
static char *userinfo_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* A proxy URL as a user or the broker writes it: http[s]://HOST[:PORT][/],
 * HOST a name, an IPv4 literal or a bracketed IPv6 literal. No userinfo
 * (the token goes there), no path. A missing port is airlock's default for
 * the scheme, written out: curl and Python disagree on the default. Writes
 * "scheme://" into *scheme and "HOST:PORT" into *hostport (malloc'd). */
static int proxy_parse(const char *url, const char **scheme, char **hostport)
{
	const char *rest, *port = NULL, *def_port;
	char host[AL_HOST_BUF];
	enum host_kind kind;
	size_t hlen;

	if (strncmp(url, "http://", 7) == 0) {
		*scheme = "http://";
		rest = url + 7;
		def_port = DEFAULT_HTTP_PORT;
	} else if (strncmp(url, "https://", 8) == 0) {
		*scheme = "https://";
		rest = url + 8;
		def_port = DEFAULT_HTTPS_PORT;
	} else {
		return AL_EINVAL;
	}
	size_t len = strlen(rest);
	if (len > 0 && rest[len - 1] == '/')
		len--;
	if (len == 0 || memchr(rest, '@', len) || memchr(rest, '/', len))
		return AL_EINVAL;
	if (rest[0] == '[') {
		const char *close = memchr(rest, ']', len);
		if (close == NULL)
			return AL_EINVAL;
		hlen = (size_t)(close - rest) + 1;
		if (hlen < len) {
			if (rest[hlen] != ':')
				return AL_EINVAL;
			port = rest + hlen + 1;
		}
		if (host_canon(rest + 1, hlen - 2, host, &kind) < 0 || kind != HOST_IPV6)
			return AL_EINVAL;
	} else {
		const char *colon = memchr(rest, ':', len);
		hlen = colon ? (size_t)(colon - rest) : len;
		if (colon)
			port = colon + 1;
		if (host_canon(rest, hlen, host, &kind) < 0 || kind == HOST_IPV6)
			return AL_EINVAL;
	}
	char portbuf[8];
	if (port) {
		size_t plen = len - (size_t)(port - rest);
		uint16_t p;
		if (plen == 0 || plen >= sizeof portbuf)
			return AL_EINVAL;
		memcpy(portbuf, port, plen);
		portbuf[plen] = '\0';
		if (port_parse(portbuf, &p) < 0)
			return AL_EINVAL;
	} else {
		snprintf(portbuf, sizeof portbuf, "%s", def_port);
	}
	*hostport = xmalloc(strlen(host) + strlen(portbuf) + 4);
	sprintf(*hostport, kind == HOST_IPV6 ? "[%s]:%s" : "%s:%s", host, portbuf);
	return 0;
}

/* The listener's URL: --proxy URL as given, else what the running broker
 * reports for the wanted scheme, else airlock's default with a note. */
static int proxy_base(struct cli *cli, const char *want, char **url)
{
	struct api_reply r;
	bool tls = strcmp(want, "https") == 0;
	const char *field = tls ? "https_proxy" : "http_proxy";
	const char *fallback = tls ? DEFAULT_HTTPS_PROXY : DEFAULT_HTTP_PROXY;

	if (strcmp(want, "http") != 0 && !tls) {
		*url = xstrdup(want);
		return 0;
	}
	int err = api_request(cli, "GET", "/proxy/v1/status", NULL, &r);
	if (err == AL_EUNAVAIL) {
		cli_warn("cannot reach the broker at %s; using airlock's default %s (give --proxy URL to choose)",
			 cli_socket(cli), fallback);
		*url = xstrdup(fallback);
		return 0;
	}
	if (err < 0)
		return CLI_EXIT_FAIL; /* already reported */
	const char *v = json_is_object(r.json) ? json_string_value(json_object_get(r.json, field)) : NULL;
	if (r.status != 200 || v == NULL) {
		cli_fail("the broker's status (HTTP %ld) does not name its %s listener", r.status, want);
		api_reply_free(&r);
		return CLI_EXIT_FAIL;
	}
	*url = xstrdup(v);
	api_reply_free(&r);
	return 0;
}

/* --token -: one line on stdin (what `airlock client create` prints). */
static int token_from_stdin(char buf[AL_TOKEN_MAX + 3])
{
	if (fgets(buf, AL_TOKEN_MAX + 3, stdin) == NULL)
		return AL_EINVAL;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(stdin))
		return AL_ETOOBIG; /* no line end within the cap */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return n == 0 ? AL_EINVAL : n > AL_TOKEN_MAX ? AL_ETOOBIG : 0;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static void sh_quote(const char *v);

static void put_sh(const char *k, const char *v)
{
	printf("export %s=", k);
	sh_quote(v);
	putchar('\n');
}

/* dotenv: bare when only URL-ish characters; else single quotes (literal in
 * docker compose, python-dotenv and node's dotenv); a value holding a single
 * quote gets double quotes with \\ and \" escaped. Control characters never
 * reach here (refused or %-escaped). */
static void put_dotenv(const char *k, const char *v)
{
	bool bare = v[0] != '\0';
	for (const char *p = v; *p && bare; p++)
		bare = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@%,+~-", *p) != NULL;
	if (bare) {
		printf("%s=%s\n", k, v);
	} else if (strchr(v, '\'') == NULL) {
		printf("%s='%s'\n", k, v);
	} else {
		printf("%s=\"", k);
		for (const char *p = v; *p; p++) {
			if (*p == '"' || *p == '\\')
				putchar('\\');
			putchar(*p);
		}
		fputs("\"\n", stdout);
	}
}

/* sh: 'V' with each ' written as '\'' (close, escaped quote, reopen). */
static void sh_quote(const char *v)
{
	putchar('\'');
	for (const char *p = v; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	putchar('\'');
}

struct envset {
	const char *names[ARRAY_SIZE(proxy_vars) + ARRAY_SIZE(no_proxy_vars) + ARRAY_SIZE(bundle_vars) +
			  ARRAY_SIZE(ca_vars)];
	const char *values[ARRAY_SIZE(proxy_vars) + ARRAY_SIZE(no_proxy_vars) + ARRAY_SIZE(bundle_vars) +
			   ARRAY_SIZE(ca_vars)];
	size_t n;
};

/* Every variable in order: proxy, no-proxy, bundle, CA. */
static void envset_fill(struct envset *e, const char *proxy, const char *ca_path, const char *bundle_path)
{
	e->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++, e->n++) {
		e->names[e->n] = proxy_vars[i];
		e->values[e->n] = proxy;
	}
	for (size_t i = 0; i < ARRAY_SIZE(no_proxy_vars); i++, e->n++) {
		e->names[e->n] = no_proxy_vars[i];
		e->values[e->n] = no_proxy;
	}
	for (size_t i = 0; i < ARRAY_SIZE(bundle_vars); i++, e->n++) {
		e->names[e->n] = bundle_vars[i];
		e->values[e->n] = bundle_path;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ca_vars); i++, e->n++) {
		e->names[e->n] = ca_vars[i];
		e->values[e->n] = ca_path;
	}
}

static void docker_arg(const char *opt, const char *k, const char *v)
{
	printf("\t\t%s ", opt);
	char *kv = xmalloc(strlen(k) + strlen(v) + 2);
	sprintf(kv, "%s%s%s", k, k[0] ? "=" : "", v);
	sh_quote(kv);
	secure_free_str(kv);
	fputs(" \\\n", stdout);
}

/* docker: two functions to source. Builds get the proxy as build args
 * (HTTP_PROXY and its twins are predefined: RUN steps see them and the
 * image's history leaves them out) and the CA files as BuildKit secrets a
 * RUN step mounts; containers get every variable, the CA files mounted
 * read-only, and the variables pointing at the mounts. */
static void put_docker(const char *client, const char *proxy, const char *proxy_host, const char *ca_path,
		       const char *bundle_path)
{
	bool loop = strncmp(proxy_host, "127.", 4) == 0 || strcmp(proxy_host, "[::1]") == 0 ||
		    strcmp(proxy_host, "localhost") == 0;
	printf("# airlock sandbox env %s --shell docker: source this file, then\n"
	       "#   airlock_docker_build [docker build arguments]   e.g. -t app .\n"
	       "#   airlock_docker_run [docker run arguments]       e.g. --rm app make test\n"
	       "# The CA files are read from %s (airlock ca cert) and %s\n"
	       "# (airlock ca bundle). In a Dockerfile, a RUN step that goes out mounts the bundle:\n"
	       "#   RUN --mount=type=secret,id=airlock-ca-bundle,target=/etc/ssl/certs/ca-certificates.crt \\\n"
	       "#       apt-get update && apt-get install -y ...\n",
	       client, ca_path, bundle_path);
	if (loop)
		printf("# The proxy is on loopback: containers reach it only with --network host.\n");
	printf("airlock_docker_build() {\n\tdocker build \\\n");
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++)
		docker_arg("--build-arg", proxy_vars[i], proxy);
	for (size_t i = 0; i < ARRAY_SIZE(no_proxy_vars); i++)
		docker_arg("--build-arg", no_proxy_vars[i], no_proxy);
	char *sec = xmalloc(strlen(ca_path) + strlen(bundle_path) + 64);
	sprintf(sec, "id=airlock-ca,src=%s", ca_path);
	docker_arg("--secret", "", sec);
	sprintf(sec, "id=airlock-ca-bundle,src=%s", bundle_path);
	docker_arg("--secret", "", sec);
	printf("\t\t\"$@\"\n}\n");

	printf("airlock_docker_run() {\n\tdocker run \\\n");
	struct envset e;
	envset_fill(&e, proxy, CONTAINER_CA, CONTAINER_BUNDLE);
	for (size_t i = 0; i < e.n; i++)
		docker_arg("--env", e.names[i], e.values[i]);
	sprintf(sec, "%s:%s:ro", ca_path, CONTAINER_CA);
	docker_arg("--volume", "", sec);
	sprintf(sec, "%s:%s:ro", bundle_path, CONTAINER_BUNDLE);
	docker_arg("--volume", "", sec);
	printf("\t\t\"$@\"\n}\n");
	free(sec);
}

static void put_all(enum shell shell, const char *client, const char *proxy, const char *ca_path,
		    const char *bundle_path)
{
	struct envset e;
	envset_fill(&e, proxy, ca_path, bundle_path);
	if (shell == SHELL_JSON) {
		json_t *o = json_object(); /* strings freed by the wiping allocator */
		for (size_t i = 0; i < e.n; i++)
			json_object_set_new(o, e.names[i], json_string(e.values[i]));
		cli_print_json(o);
		json_decref(o);
		return;
	}
	/* where the two files go: a comment, both formats take them */
	fputs("# airlock sandbox env ", stdout);
	fputs(client, stdout);
	fputs(": in the sandbox, `airlock ca cert` goes to ", stdout);
	fputs(ca_path, stdout);
	fputs(" and `airlock ca bundle` to ", stdout);
	fputs(bundle_path, stdout);
	putchar('\n');
	for (size_t i = 0; i < e.n; i++) {
		if (shell == SHELL_SH)
			put_sh(e.names[i], e.values[i]);
		else
			put_dotenv(e.names[i], e.values[i]);
	}
}

/* --bundle-path by default: "-bundle" before P's .pem or .crt, else after P. */
static char *bundle_default(const char *ca_path)
{
	size_t n = strlen(ca_path);
	char *out = xmalloc(n + 16);
	const char *slash = strrchr(ca_path, '/');
	const char *dot = strrchr(ca_path, '.');
	if (dot && (!slash || dot > slash + 1) && (strcmp(dot, ".pem") == 0 || strcmp(dot, ".crt") == 0))
		sprintf(out, "%.*s-bundle%s", (int)(dot - ca_path), ca_path, dot);
	else
		sprintf(out, "%s-bundle", ca_path);
	return out;
}

static int sandbox_env_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "ca-path", required_argument, NULL, OPT_CA_PATH },
		{ "bundle-path", required_argument, NULL, OPT_BUNDLE_PATH },
		{ "shell", required_argument, NULL, OPT_SHELL },
		{ "proxy", required_argument, NULL, OPT_PROXY },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *token = NULL, *ca_path = NULL, *bundle_arg = NULL, *want = "http", *scheme;
	char *bundle_path = NULL, *base = NULL, *hostport = NULL, *user = NULL, *pass = NULL, *proxy = NULL;
	char token_buf[AL_TOKEN_MAX + 3] = "";
	size_t proxy_len = 0;
	enum shell shell = SHELL_SH;
	int c, rc;
	bool known;

	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_TOKEN:
			token = arg;
			break;
		case OPT_CA_PATH:
			ca_path = arg;
			break;
		case OPT_BUNDLE_PATH:
			bundle_arg = arg;
			break;
		case OPT_SHELL:
			known = false;
			for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
				if (strcmp(arg, shells[i].name) == 0) {
					shell = shells[i].shell;
					known = true;
				}
			if (!known)
				return cli_usage(cli, "bad --shell '%s': expected sh, json, dotenv or docker", arg);
			break;
		case OPT_PROXY:
			want = arg;
			break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if ((rc = cli_want_args(cli, argc, argv, 1, "CLIENT")) != 0)
		return rc;
	const char *client = argv[cli_optind()];
	if (name_validate(client) < 0)
		return cli_usage(cli, "bad client name '%s': 1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -",
				 client, AL_NAME_MAX);
	/* Never echo the token in a message: it is a credential. */
	if (token == NULL || token[0] == '\0')
		return cli_usage(cli, "--token is required (the token `airlock client create` printed)");
	if (strlen(token) > AL_TOKEN_MAX)
		return cli_usage(cli, "--token is longer than %d bytes", AL_TOKEN_MAX);
	if (ca_path == NULL || ca_path[0] == '\0')
		return cli_usage(cli, "--ca-path is required (where the sandbox finds airlock's CA certificate)");
	if (strlen(ca_path) > CA_PATH_MAX || has_control(ca_path))
		return cli_usage(cli, "bad --ca-path: control characters, or over %d bytes", CA_PATH_MAX);
	if (bundle_arg && (bundle_arg[0] == '\0' || strlen(bundle_arg) > CA_PATH_MAX || has_control(bundle_arg)))
		return cli_usage(cli, "bad --bundle-path: empty, control characters, or over %d bytes", CA_PATH_MAX);
	/* docker's --volume and BuildKit's --secret split on these */
	if (shell == SHELL_DOCKER && (strpbrk(ca_path, ":,") || (bundle_arg && strpbrk(bundle_arg, ":,"))))
		return cli_usage(cli, "--shell docker: --ca-path and --bundle-path cannot hold ':' or ','");
	if (strcmp(want, "http") != 0 && strcmp(want, "https") != 0 &&
	    (strlen(want) > PROXY_URL_MAX || proxy_parse(want, &scheme, &hostport) < 0))
		return cli_usage(cli, "bad --proxy '%s': expected http, https, or a URL http[s]://HOST[:PORT] "
				      "without user or path",
				 want);
	free(hostport);
	hostport = NULL;
	if (strcmp(token, "-") == 0) {
		if (token_from_stdin(token_buf) < 0) {
			rc = cli_fail("--token -: expected the token on one line of standard input, 1 to %d bytes",
				      AL_TOKEN_MAX);
			goto out;
		}
		token = token_buf;
	}
	if (ca_path[0] != '/')
		cli_warn("--ca-path '%s' is relative: the sandbox resolves it from its working directory", ca_path);
	if (bundle_arg && bundle_arg[0] != '/')
		cli_warn("--bundle-path '%s' is relative: the sandbox resolves it from its working directory",
			 bundle_arg);
	bundle_path = bundle_arg ? xstrdup(bundle_arg) : bundle_default(ca_path);

	rc = proxy_base(cli, want, &base);
	if (rc != 0)
		goto out;
	if (proxy_parse(base, &scheme, &hostport) < 0) {
		rc = cli_fail("the broker reports a proxy URL airlock cannot use: '%s'", base);
		goto out;
	}
	user = userinfo_escape(client);
	pass = userinfo_escape(token);
	proxy_len = strlen(scheme) + strlen(user) + strlen(pass) + strlen(hostport) + 3;
	proxy = xmalloc(proxy_len);
	snprintf(proxy, proxy_len, "%s%s:%s@%s", scheme, user, pass, hostport);
	if (shell == SHELL_DOCKER)
		put_docker(client, proxy, hostport, ca_path, bundle_path);
	else
		put_all(shell, client, proxy, ca_path, bundle_path);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_fail("cannot write the variables to standard output");
	else
		rc = CLI_EXIT_OK;
out:
	secure_wipe(token_buf, sizeof token_buf);
	if (pass)
		secure_free_str(pass);
	if (proxy)
		secure_free(proxy, proxy_len);
	free(user);
	free(hostport);
	free(base);
	free(bundle_path);
	return rc;
}

static const struct cli_cmd sandbox_cmds[] = {
	{ .name = "env", .run = sandbox_env_run, .summary = "print a sandbox's proxy and CA variables",
	  .usage = sandbox_env_usage },
};
const struct cli_cmd cmd_sandbox = {
	.name = "sandbox",
	.summary = "what a sandbox needs to use airlock",
	.usage = "Usage: airlock sandbox env CLIENT --token T --ca-path P [--bundle-path B]\n"
		 "                           [--shell sh|json|dotenv|docker] [--proxy http|https|URL]\n",
	.subs = sandbox_cmds,
	.nsubs = ARRAY_SIZE(sandbox_cmds),
};
