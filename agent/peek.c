/* TLS server name and HTTP Host from a connection's first bytes (peek.h).
 * Every length read from the input is checked against what is left of its
 * enclosing structure before it is used. */
#include "config.h"

#include "peek.h"

#include <string.h>
#include <strings.h>

static unsigned get16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static unsigned get24(const uint8_t *p)
{
	return (unsigned)(p[0] << 16 | p[1] << 8 | p[2]);
}

bool peek_host_ok(char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = '\0';
	if (n == 0 || n > PEEK_NAME_MAX || name[0] == '.' || name[n - 1] == '.')
		return false;   /* empty labels, first or last */
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			name[i] = (char)(c + 32);
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
		if (c == '.' && name[i + 1] == '.')
			return false;
	}
	return true;
}

static enum peek found(const uint8_t *p, size_t n, char name[PEEK_NAME_MAX + 1])
{
	char tmp[PEEK_NAME_MAX + 2];   /* room for one trailing dot */
	if (n == 0 || n > PEEK_NAME_MAX + 1 || memchr(p, '\0', n))
		return PEEK_NONE;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (!peek_host_ok(tmp))
		return PEEK_NONE;
	memcpy(name, tmp, strlen(tmp) + 1);   /* at most 253 now */
	return PEEK_FOUND;
}

enum peek peek_sni(const uint8_t *b, size_t n, char name[PEEK_NAME_MAX + 1])
{
	/* record: type 22 (handshake), version 3.x, length */
	if (n >= 1 && b[0] != 22)
		return PEEK_NONE;
	if (n >= 2 && b[1] != 3)
		return PEEK_NONE;
	if (n < 5)
		return PEEK_MORE;
	size_t rlen = get16(b + 3);
	if (rlen < 4 || rlen > 16384 + 256)
		return PEEK_NONE;
	if (n < 5 + rlen)
		return n >= PEEK_MAX ? PEEK_NONE : PEEK_MORE;
	const uint8_t *h = b + 5;
	/* handshake: ClientHello, whole inside this one record */
	if (h[0] != 1)
		return PEEK_NONE;
	size_t hlen = get24(h + 1);
	if (hlen + 4 > rlen)
		return PEEK_NONE;
	const uint8_t *p = h + 4, *end = h + 4 + hlen;
	/* version, random */
	if (end - p < 34)
		return PEEK_NONE;
	p += 34;
	/* session id */
	if (end - p < 1 || (size_t)(end - p) < 1u + p[0] || p[0] > 32)
		return PEEK_NONE;
	p += 1 + p[0];
	/* cipher suites */
	if (end - p < 2)
		return PEEK_NONE;
	size_t cs = get16(p);
	if (cs < 2 || cs % 2 || (size_t)(end - p) < 2 + cs)
		return PEEK_NONE;
	p += 2 + cs;
	/* compression methods */
	if (end - p < 1 || p[0] < 1 || (size_t)(end - p) < 1u + p[0])
		return PEEK_NONE;
	p += 1 + p[0];
	/* extensions */
	if (end - p < 2)
		return PEEK_NONE;
	size_t el = get16(p);
	p += 2;
	if ((size_t)(end - p) != el)
		return PEEK_NONE;
	while (end - p >= 4) {
		unsigned type = get16(p);
		size_t len = get16(p + 2);
		p += 4;
		if ((size_t)(end - p) < len)
			return PEEK_NONE;
		if (type == 0) {
			/* server_name: list length, then entries type(1) len(2) name */
			if (len < 5 || get16(p) != len - 2 || p[2] != 0)
				return PEEK_NONE;
			size_t nl = get16(p + 3);
			if (nl + 5 > len)
				return PEEK_NONE;
			return found(p + 5, nl, name);
		}
		p += len;
	}
	return PEEK_NONE;
}

static bool tchar(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool peek_is_http(const uint8_t *b, size_t n)
{
	size_t i = 0;
	while (i < n && i < 32 && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	return i > 0 && i < n && b[i] == ' ';
}

enum peek peek_http_host(const uint8_t *b, size_t n, char name[PEEK_NAME_MAX + 1])
{
	size_t lim = n < PEEK_MAX ? n : PEEK_MAX, i = 0;
	while (i < lim && i < 32 && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	if (i == lim)
		return i < 32 ? PEEK_MORE : PEEK_NONE;   /* still inside the method */
	if (i == 0 || b[i] != ' ')
		return PEEK_NONE;
	const uint8_t *eol = memchr(b, '\n', lim);
	if (!eol)
		return n >= PEEK_MAX ? PEEK_NONE : PEEK_MORE;
	if (eol[-1] != '\r')
		return PEEK_NONE;
	size_t llen = (size_t)(eol - b) - 1;
	if (llen < 14 || memcmp(b + llen - 9, " HTTP/1.", 8) != 0 || (b[llen - 1] != '0' && b[llen - 1] != '1'))
		return PEEK_NONE;
	const uint8_t *p = eol + 1, *hostv = NULL;
	size_t hostl = 0;
	for (;;) {
		const uint8_t *e = memchr(p, '\n', lim - (size_t)(p - b));
		if (!e)
			return n >= PEEK_MAX ? PEEK_NONE : PEEK_MORE;
		if (e == p || e[-1] != '\r')
			return PEEK_NONE;   /* bare LF */
		size_t len = (size_t)(e - p) - 1;
		if (len == 0)
			break;   /* the head's end */
		size_t k = 0;
		while (k < len && tchar(p[k]))
			k++;
		if (k == 0 || k >= len || p[k] != ':')
			return PEEK_NONE;
		if (k == 4 && strncasecmp((const char *)p, "host", 4) == 0) {
			if (hostv)
				return PEEK_NONE;   /* two Host headers: nothing to trust */
			const uint8_t *v = p + 5, *ve = p + len;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			hostv = v;
			hostl = (size_t)(ve - v);
		}
		p = e + 1;
	}
	if (!hostv || hostl == 0 || hostv[0] == '[')
		return PEEK_NONE;   /* an IPv6 literal is no name */
	const uint8_t *colon = memchr(hostv, ':', hostl);
	if (colon) {
		for (const uint8_t *d = colon + 1; d < hostv + hostl; d++)
			if (*d < '0' || *d > '9')
				return PEEK_NONE;
		hostl = (size_t)(colon - hostv);
	}
	return found(hostv, hostl, name);
}
