/* airlock-agent helpers (util.h). */
#include "config.h"

#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "agent/peek.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

void alog(const char *level, const char *msg, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list ap;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	/* one fprintf per line: lines from one process never interleave */
	char line[1024];
	int k = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s msg=\"%s\" ", ts, (long)(tv.tv_usec / 1000), level,
			 msg);
	if (k < 0 || (size_t)k >= sizeof line)
		k = 0;
	va_start(ap, fmt);
	vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

void b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static bool port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	if (!*s || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

bool addr_parse(const char *s, uint16_t dflt_port, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *ps = NULL;
	uint16_t port = dflt_port;
	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (size_t)(e - s - 1) >= sizeof host)
			return false;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		if (e[1] == ':')
			ps = e + 2;
		else if (e[1])
			return false;
	} else {
		const char *c = strchr(s, ':');
		size_t hl = c ? (size_t)(c - s) : strlen(s);
		if (hl >= sizeof host || (c && strchr(c + 1, ':')))
			return false;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (c)
			ps = c + 1;
	}
	if (ps && !port_parse(ps, &port))
		return false;
	if (port == 0)
		return false;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof *a4;
		return true;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof *a6;
		return true;
	}
	return false;
}

bool target_parse(const char *s, char host[254], uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (addr_parse(s, 0, &ss, &len)) {
		addr_str((struct sockaddr *)&ss, false, host, 254);
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		return true;
	}
	const char *c = strrchr(s, ':');
	if (!c || (size_t)(c - s) > PEEK_NAME_MAX || !port_parse(c + 1, port))
		return false;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	return peek_host_ok(host);
}

void addr_str(const struct sockaddr *sa, bool with_port, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		if (with_port)
			snprintf(out, cap, "%s:%u", a, port);
		else
			snprintf(out, cap, "%s", a);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a);
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		if (with_port)
			snprintf(out, cap, "[%s]:%u", a, port);
		else
			snprintf(out, cap, "%s", a);
	}
}
