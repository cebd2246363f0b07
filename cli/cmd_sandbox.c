/* `airlock sandbox env` (SPEC §5): the variables a sandbox needs, so nobody
 * writes them by hand: the proxy URL with the client's token as its password,
 * NO_PROXY, and the CA variables the common runtimes read, as sh, dotenv or
 * JSON. The token is printed because the user handed it to us; it goes to
 * stdout only, never to a message, and every copy we make is wiped. */
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

/* Every name that carries the proxy, then every name that carries the CA.
 * CODEX_CA_CERTIFICATE: Codex reads it (research/real-clients.md).
 * GIT_PROXY_SSL_CAINFO: git checks an https:// proxy's own certificate
 * against this one, not GIT_SSL_CAINFO. */
static const char *const proxy_vars[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" };
static const char *const no_proxy_vars[] = { "NO_PROXY", "no_proxy" };
static const char *const ca_vars[] = {
	"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
	"GIT_SSL_CAINFO", "GIT_PROXY_SSL_CAINFO", "DENO_CERT", "CODEX_CA_CERTIFICATE",
};

enum shell { SHELL_SH, SHELL_DOTENV, SHELL_JSON };
static const struct {
	const char *name;
	enum shell shell;
} shells[] = { { "sh", SHELL_SH }, { "dotenv", SHELL_DOTENV }, { "json", SHELL_JSON } };

enum { OPT_TOKEN = OPT_FIRST_LOCAL, OPT_CA_PATH, OPT_SHELL, OPT_PROXY };

static const char sandbox_env_usage[] =
	"Usage: airlock sandbox env CLIENT --token T --ca-path P [--shell sh|json|dotenv]\n"
	"                           [--proxy http|https|URL]\n"
	"\n"
	"Print the variables a sandbox needs to go out through airlock:\n"
	"HTTP_PROXY, HTTPS_PROXY and their lower-case twins (the proxy URL with the\n"
	"client's token as its password), NO_PROXY/no_proxy (localhost,127.0.0.1,::1),\n"
	"and the CA variables common runtimes read (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,\n"
	"REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, GIT_PROXY_SSL_CAINFO,\n"
	"DENO_CERT, CODEX_CA_CERTIFICATE), all pointing at P.\n"
	"  --token T          the client's token (printed inside the proxy URL); - reads\n"
	"                     it from standard input, out of the process list:\n"
	"                     airlock client create web-1 | airlock sandbox env web-1 --token - ...\n"
	"  --ca-path P        where the sandbox finds airlock's CA certificate (a path\n"
	"                     inside the sandbox; copy `airlock ca cert` there)\n"
	"  --shell FORMAT     sh: export K='V' lines (default); dotenv: K=V lines,\n"
	"                     quoted when needed; json: one object\n"
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

/* sh: 'V' with each ' written as '\'' (close, escaped quote, reopen). */
static void put_sh(const char *k, const char *v)
{
	printf("export %s='", k);
	for (const char *p = v; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	fputs("'\n", stdout);
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

static void put_all(enum shell shell, const char *proxy, const char *ca_path)
{
	const char *names[ARRAY_SIZE(proxy_vars) + ARRAY_SIZE(no_proxy_vars) + ARRAY_SIZE(ca_vars)];
	const char *values[ARRAY_SIZE(names)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++, n++) {
		names[n] = proxy_vars[i];
		values[n] = proxy;
	}
	for (size_t i = 0; i < ARRAY_SIZE(no_proxy_vars); i++, n++) {
		names[n] = no_proxy_vars[i];
		values[n] = no_proxy;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ca_vars); i++, n++) {
		names[n] = ca_vars[i];
		values[n] = ca_path;
	}
	if (shell == SHELL_JSON) {
		json_t *o = json_object(); /* strings freed by the wiping allocator */
		for (size_t i = 0; i < n; i++)
			json_object_set_new(o, names[i], json_string(values[i]));
		cli_print_json(o);
		json_decref(o);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (shell == SHELL_SH)
			put_sh(names[i], values[i]);
		else
			put_dotenv(names[i], values[i]);
	}
}

static int sandbox_env_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "ca-path", required_argument, NULL, OPT_CA_PATH },
		{ "shell", required_argument, NULL, OPT_SHELL },
		{ "proxy", required_argument, NULL, OPT_PROXY },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *arg, *token = NULL, *ca_path = NULL, *want = "http", *scheme;
	char *base = NULL, *hostport = NULL, *user = NULL, *pass = NULL, *proxy = NULL;
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
		case OPT_SHELL:
			known = false;
			for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
				if (strcmp(arg, shells[i].name) == 0) {
					shell = shells[i].shell;
					known = true;
				}
			if (!known)
				return cli_usage(cli, "bad --shell '%s': expected sh, json or dotenv", arg);
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
	put_all(shell, proxy, ca_path);
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
	return rc;
}

static const struct cli_cmd sandbox_cmds[] = {
	{ .name = "env", .run = sandbox_env_run, .summary = "print a sandbox's proxy and CA variables",
	  .usage = sandbox_env_usage },
};
const struct cli_cmd cmd_sandbox = {
	.name = "sandbox",
	.summary = "what a sandbox needs to use airlock",
	.usage = "Usage: airlock sandbox env CLIENT --token T --ca-path P [--shell sh|json|dotenv]\n"
		 "                           [--proxy http|https|URL]\n",
	.subs = sandbox_cmds,
	.nsubs = ARRAY_SIZE(sandbox_cmds),
};
