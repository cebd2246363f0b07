/* `airlock tail [CLIENT] [--denied] [--json]`: the broker's last decisions,
 * then every new one as it happens (GET /proxy/v1/decisions?follow=1, JSON
 * lines streamed over the API socket), printed as the log prints them
 * (key=value) or as they come (--json). The lines are the sandbox's choice
 * of hosts and paths: values are quoted and escaped, never printed raw. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/netmatch.h"
#include "common/xmalloc.h"

enum { OPT_DENIED = OPT_FIRST_LOCAL, OPT_JSON, OPT_SINCE, OPT_FOLLOW, OPT_NO_FOLLOW };

struct tail {
	bool json;
};

static void print_value(const char *v)
{
	bool quote = !*v;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
			quote = true;
	if (!quote) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void print_line(void *arg, const char *line, size_t n)
{
	struct tail *t = arg;
	json_error_t e;
	json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
	const char *k;
	json_t *v;

	if (!json_is_object(o)) {
		json_decref(o);
		return;   /* not ours: never echoed */
	}
	if (t->json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
	} else {
		fputs("ts=", stdout);
		print_value(json_string_value(json_object_get(o, "ts")) ? json_string_value(json_object_get(o, "ts")) : "-");
		putchar(' ');
		const char *verdict = json_string_value(json_object_get(o, "verdict"));
		print_value(verdict ? verdict : "?");
		json_object_foreach(o, k, v) {
			char num[32];
			const char *s = json_string_value(v);
			if (strcmp(k, "ts") == 0 || strcmp(k, "verdict") == 0)
				continue;
			if (json_is_integer(v)) {
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
				s = num;
			}
			if (!s)
				continue;
			putchar(' ');
			for (const char *p = k; *p; p++)
				putchar(isalnum((unsigned char)*p) || *p == '_' ? *p : '_');
			putchar('=');
			print_value(s);
		}
		putchar('\n');
	}
	fflush(stdout);
	json_decref(o);
}

static const char tail_usage[] =
	"Usage: airlock tail [--denied] [--json] [--since DURATION] [--no-follow] [CLIENT]\n"
	"\n"
	"Print the broker's last decisions (it keeps the last 4096), then each new one\n"
	"as the proxy makes it, until interrupted.\n"
	"  --denied           only denials\n"
	"  --json             one JSON object per line (the fields of the log)\n"
	"  --since DURATION   only decisions newer than this: 90s, 15m, 1h\n"
	"  -f, --follow       keep following (the default)\n"
	"  --no-follow        print what is kept and exit\n"
	"  CLIENT             only this client's decisions\n";

static int tail_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "denied", no_argument, NULL, OPT_DENIED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
		CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct tail t = { 0 };
	const char *arg, *client = NULL;
	bool denied = false, follow = true;
	int64_t since = 0;
	char url[256];
	int c;

	/* -f is the usual spelling: accept it as --follow */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-f") == 0)
			argv[i] = (char *)"--follow";
	cli_opts_begin();
	while ((c = cli_getopt(cli, argc, argv, opts, &arg)) >= 0) {
		switch (c) {
		case OPT_DENIED: denied = true; break;
		case OPT_JSON: t.json = true; break;
		case OPT_FOLLOW: follow = true; break;
		case OPT_NO_FOLLOW: follow = false; break;
		case OPT_SINCE:
			if (duration_parse(arg, 1, AL_TTL_MAX_SECONDS, &since) < 0)
				return cli_usage(cli, "bad --since '%s': expected a duration such as 90s, 15m or 1h", arg);
			break;
		}
	}
	if (c == CLI_OPT_STOP)
		return cli->stop_rc;
	if (argc - cli_optind() > 1)
		return cli_usage(cli, "unexpected argument '%s'", argv[cli_optind() + 1]);
	if (argc - cli_optind() == 1) {
		client = argv[cli_optind()];
		if (name_validate(client) < 0)
			return cli_usage(cli, "bad client name '%s'", client);
	}
	int n = snprintf(url, sizeof url, "/proxy/v1/decisions?follow=%d", follow ? 1 : 0);
	if (client)
		n += snprintf(url + n, sizeof url - (size_t)n, "&client=%s", client);
	if (denied)
		n += snprintf(url + n, sizeof url - (size_t)n, "&verdict=deny");
	if (since)
		snprintf(url + n, sizeof url - (size_t)n, "&since=%llds", (long long)since);

	return api_follow(cli, url, "decisions", print_line, &t);
}

const struct cli_cmd cmd_tail = {
	.name = "tail",
	.run = tail_run,
	.summary = "follow the proxy's decisions as they happen",
	.usage = tail_usage,
};
