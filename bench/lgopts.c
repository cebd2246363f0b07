/* bench/lgopts.c: the load generator's command line (struct opts O) and its
 * Proxy-Authorization header. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --dial ADDR:PORT [--proxy] [--tls --ca FILE] --host NAME --port N\n"
		"  [--mode ka|hs|idle] [--conns N] [--warmup S] [--duration S] [--max-requests N]\n"
		"  [--path P] [--method M] [--body BYTES] [--expect BYTES] [--sse]\n"
		"  [--host-fmt FMT --hosts N] [--auth TOKEN] [--pids PID,...]\n"
		"  [--pending N] [--setup-timeout S] [--hold S] [--max-errors N] [--priority GNUTLS-PRIO]\n");
	exit(2);
}

void lg_parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dial", 1, 0, 'd' }, { "proxy", 0, 0, 'x' }, { "tls", 0, 0, 't' }, { "ca", 1, 0, 'c' },
		{ "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "mode", 1, 0, 'm' }, { "conns", 1, 0, 'n' },
		{ "warmup", 1, 0, 'w' }, { "duration", 1, 0, 'D' }, { "max-requests", 1, 0, 'R' },
		{ "path", 1, 0, 'P' }, { "method", 1, 0, 'M' }, { "body", 1, 0, 'b' }, { "expect", 1, 0, 'e' },
		{ "sse", 0, 0, 's' }, { "host-fmt", 1, 0, 'f' }, { "hosts", 1, 0, 'H' }, { "auth", 1, 0, 'a' },
		{ "pids", 1, 0, 'i' }, { "pending", 1, 0, 'q' }, { "setup-timeout", 1, 0, 'T' },
		{ "hold", 1, 0, 'o' }, { "max-errors", 1, 0, 'E' }, { "priority", 1, 0, 'y' }, { 0, 0, 0, 0 } };
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': {
			char a[64];
			snprintf(a, sizeof a, "%s", optarg);
			char *colon = strrchr(a, ':');
			if (!colon)
				usage();
			*colon = 0;
			O.dial.sin_family = AF_INET;
			O.dial.sin_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET, a, &O.dial.sin_addr) != 1)
				usage();
			break;
		}
		case 'x': O.via_proxy = true; break;
		case 't': O.tls = true; break;
		case 'c': O.ca = optarg; break;
		case 'h': O.host = optarg; break;
		case 'p': O.port = (unsigned)atoi(optarg); break;
		case 'm':
			O.mode = !strcmp(optarg, "ka") ? M_KA : !strcmp(optarg, "hs") ? M_HS : !strcmp(optarg, "idle") ? M_IDLE : (usage(), M_KA);
			break;
		case 'n': O.conns = (unsigned)atoi(optarg); break;
		case 'w': O.warmup = atof(optarg); break;
		case 'D': O.duration = atof(optarg); break;
		case 'R': O.max_req = strtoul(optarg, NULL, 10); break;
		case 'P': O.path = optarg; break;
		case 'M': O.method = optarg; break;
		case 'b': O.body = strtoull(optarg, NULL, 10); break;
		case 'e': O.expect = atol(optarg); break;
		case 's': O.sse = true; break;
		case 'f': O.host_fmt = optarg; break;
		case 'H': O.nhosts = (unsigned)atoi(optarg); break;
		case 'a': O.auth = optarg; break;
		case 'i': {
			char *s = optarg, *tok;
			while ((tok = strsep(&s, ",")) && O.npids < 16)
				if (*tok)
					O.pids[O.npids++] = atoi(tok);
			break;
		}
		case 'q': O.pending = (unsigned)atoi(optarg); break;
		case 'T': O.setup_timeout = atof(optarg); break;
		case 'o': O.hold = atof(optarg); break;
		case 'E': O.max_err = strtoul(optarg, NULL, 10); break;
		case 'y': O.prio = optarg; break;
		default: usage();
		}
	}
	if (!O.dial.sin_family || (!O.host && !O.host_fmt) || !O.conns)
		usage();
	if (!O.host)
		O.host = O.host_fmt;
}

void lg_proxy_auth(const char *token, char *out, size_t outlen)
{
	char raw[300];
	int n = snprintf(raw, sizeof raw, "bench:%s", token);
	gnutls_datum_t in = { (unsigned char *)raw, (unsigned)n }, enc = { NULL, 0 };
	if (n < 0 || (size_t)n >= sizeof raw || gnutls_base64_encode2(&in, &enc) < 0) {
		fprintf(stderr, "loadgen: bad --auth\n");
		exit(2);
	}
	snprintf(out, outlen, "Proxy-Authorization: Basic %.*s\r\n", (int)enc.size, enc.data);
	gnutls_free(enc.data);
}
