/* The vocabulary of rules: canonical hosts (IDNA, IP literals), host
 * patterns, ports, methods, path patterns and request-path normalisation,
 * CIDRs and names. The broker validates with these and the enforcer matches
 * with them, so a rule means the same thing on both sides. */
#include "config.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netmatch.h"

/* Input longer than this cannot canonicalise to AL_HOST_MAX bytes even as
 * U-labels (at most 4 bytes of UTF-8 per code point). */
#define HOST_INPUT_MAX (4 * AL_HOST_MAX + 4)

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static int hex_val(unsigned char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* A label that inet_aton() would read as a number: decimal, 0-octal or
 * 0x-hex. Resolvers treat "127.1", "0x7f.1" and "2130706433" as addresses. */
static bool label_is_numeric(const char *l, size_t n)
{
	size_t i = 0;

	if (n >= 2 && l[0] == '0' && (l[1] | 0x20) == 'x') {
		for (i = 2; i < n; i++)
			if (!is_hex((unsigned char)l[i]))
				return false;
		return true;
	}
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)l[i]))
			return false;
	return n > 0;
}

/* Exactly four decimal labels 0..255 without leading zeros. */
static bool is_dotted_quad(const char *s, uint8_t addr[4])
{
	int parts = 0;
	const char *p = s;

	while (parts < 4) {
		unsigned v = 0;
		size_t n = 0;
		while (is_digit((unsigned char)p[n])) {
			v = v * 10 + (unsigned)(p[n] - '0');
			if (++n > 3)
				return false;
		}
		if (n == 0 || v > 255 || (n > 1 && p[0] == '0'))
			return false;
		addr[parts++] = (uint8_t)v;
		p += n;
		if (parts < 4) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

/* LDH labels of 1..63 bytes, hyphens not at either end, total <= 253. */
static int check_dns_name(const char *s)
{
	size_t total = strlen(s);
	const char *p = s;

	if (total == 0 || total > AL_HOST_MAX)
		return AL_EINVAL;
	while (*p) {
		size_t n = 0;
		while (p[n] && p[n] != '.') {
			unsigned char c = (unsigned char)p[n];
			if (!(is_alpha(c) || is_digit(c) || c == '-'))
				return AL_EINVAL;
			n++;
		}
		if (n == 0 || n > AL_LABEL_MAX || p[0] == '-' || p[n - 1] == '-')
			return AL_EINVAL;
		p += n;
		if (*p == '.') {
			p++;
			if (!*p)
				return AL_EINVAL;
		}
	}
	return 0;
}

static int canon_ipv6(const char *s, char out[AL_HOST_BUF], enum host_kind *kind)
{
	struct in6_addr a;

	/* inet_pton refuses zone ids ("%eth0"), which have no meaning here. */
	if (inet_pton(AF_INET6, s, &a) != 1)
		return AL_EINVAL;
	if (!inet_ntop(AF_INET6, &a, out, AL_HOST_BUF))
		return AL_EINVAL;
	*kind = HOST_IPV6;
	return 0;
}

int host_canon(const char *in, size_t len, char out[AL_HOST_BUF], enum host_kind *kind)
{
	char buf[HOST_INPUT_MAX + 1];
	const char *last;
	bool ascii = true;
	uint8_t *idn = NULL;
	uint8_t v4[4];
	int rc = AL_EINVAL;

	if (!in || len == 0 || len > HOST_INPUT_MAX || memchr(in, '\0', len))
		goto out;
	memcpy(buf, in, len);
	buf[len] = '\0';

	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			goto out;
		buf[len - 1] = '\0';
		rc = canon_ipv6(buf + 1, out, kind);
		goto out;
	}
	if (strchr(buf, ':')) {
		rc = canon_ipv6(buf, out, kind);
		goto out;
	}

	if (len > 1 && buf[len - 1] == '.')
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c >= 0x80)
			ascii = false;
		else if (c >= 'A' && c <= 'Z')
			buf[i] = (char)(c | 0x20);
		else if (c < 0x21 || c == 0x7f)
			goto out;
	}
	if (!ascii) {
		if (idn2_lookup_u8((const uint8_t *)buf, &idn, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
			    IDN2_OK ||
		    strlen((const char *)idn) > AL_HOST_MAX)
			goto out;
		strcpy(buf, (const char *)idn);
		for (char *p = buf; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p | 0x20);
	}
	if (check_dns_name(buf) < 0)
		goto out;

	/* A name whose last label is numeric is an address attempt (WHATWG URL
	 * does the same): only the plain dotted quad is accepted. */
	last = strrchr(buf, '.');
	last = last ? last + 1 : buf;
	if (label_is_numeric(last, strlen(last))) {
		if (!is_dotted_quad(buf, v4))
			goto out;
		if (!inet_ntop(AF_INET, v4, out, AL_HOST_BUF))
			goto out;
		*kind = HOST_IPV4;
		rc = 0;
		goto out;
	}
	memcpy(out, buf, strlen(buf) + 1);
	*kind = HOST_DNS;
	rc = 0;
out:
	if (idn)
		idn2_free(idn);
	return rc;
}

int host_pattern_parse(const char *in, char out[AL_HOST_BUF + 2])
{
	enum host_kind kind;
	char canon[AL_HOST_BUF];
	int rc;

	if (!in)
		return AL_EINVAL;
	if (strcmp(in, "*") == 0) {
		strcpy(out, "*");
		return 0;
	}
	if (in[0] == '*' && in[1] == '.') {
		rc = host_canon(in + 2, strlen(in + 2), canon, &kind);
		if (rc < 0)
			return rc;
		if (kind != HOST_DNS)
			return AL_EINVAL;
		snprintf(out, AL_HOST_BUF + 2, "*.%s", canon);
		return 0;
	}
	rc = host_canon(in, strlen(in), canon, &kind);
	if (rc < 0)
		return rc;
	memcpy(out, canon, strlen(canon) + 1);
	return 0;
}

bool host_pattern_match(const char *pattern, const char *host)
{
	size_t plen, hlen;

	if (!pattern || !host)
		return false;
	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* Compare ".example.com" as a suffix with at least one byte before it. */
		plen = strlen(pattern + 1);
		hlen = strlen(host);
		return hlen > plen && strcmp(host + hlen - plen, pattern + 1) == 0;
	}
	return strcmp(pattern, host) == 0;
}

int port_parse(const char *s, uint16_t *out)
{
	unsigned v = 0;
	size_t n = 0;

	if (!s || s[0] == '0')
		return AL_EINVAL;
	for (; s[n]; n++) {
		if (!is_digit((unsigned char)s[n]) || n >= 5)
			return AL_EINVAL;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (n == 0 || v > 65535)
		return AL_EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int method_parse(const char *s, char out[AL_METHOD_MAX + 1])
{
	size_t n;

	if (!s)
		return AL_EINVAL;
	n = strlen(s);
	if (n == 0 || n > AL_METHOD_MAX)
		return AL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_tchar(c))
			return AL_EINVAL;
		out[i] = (char)((c >= 'a' && c <= 'z') ? c - 32 : c);
	}
	out[n] = '\0';
	return 0;
}

/* A segment "." or ".." between p and p+n. */
static bool is_dot_segment(const char *p, size_t n)
{
	return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

int path_pattern_parse(const char *in)
{
	size_t n;

	if (!in || in[0] != '/')
		return AL_EINVAL;
	n = strlen(in);
	if (n > AL_PATH_MAX)
		return AL_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '\\')
			return AL_EINVAL;
		if (c == '*' && !(i == n - 1 && in[i - 1] == '/'))
			return AL_EINVAL;
	}
	for (const char *p = in + 1;;) {
		const char *e = strchr(p, '/');
		size_t sl = e ? (size_t)(e - p) : strlen(p);
		if (is_dot_segment(p, sl))
			return AL_EINVAL;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

bool path_pattern_match(const char *pattern, const char *path)
{
	size_t plen;

	if (!pattern || !path)
		return false;
	plen = strlen(pattern);
	if (plen >= 2 && pattern[plen - 1] == '*' && pattern[plen - 2] == '/')
		return strncmp(path, pattern, plen - 1) == 0;
	return strcmp(pattern, path) == 0;
}

static bool is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int path_normalise(const char *in, size_t len, char out[AL_PATH_MAX + 1], const char **query)
{
	char dec[AL_PATH_MAX + 1];
	const char *q;
	size_t plen, d = 0, o = 0;
	const char *seg;
	bool last_plain = false;

	*query = NULL;
	if (!in || len == 0)
		return AL_EINVAL;
	q = memchr(in, '?', len);
	plen = q ? (size_t)(q - in) : len;
	if (plen == 0 || in[0] != '/')
		return AL_EINVAL;

	/* Pass 1: decode what is safe to decode, refuse what would change meaning. */
	for (size_t i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)in[i];
		char enc[3];
		size_t elen = 1;

		if (c == '%') {
			unsigned v;
			if (i + 2 >= plen)
				return AL_EINVAL;
			if (!is_hex((unsigned char)in[i + 1]) || !is_hex((unsigned char)in[i + 2]))
				return AL_EINVAL;
			v = (unsigned)(hex_val((unsigned char)in[i + 1]) * 16 +
				       hex_val((unsigned char)in[i + 2]));
			i += 2;
			if (v == '/' || v == '.' || v == '%' || v == '\\' || v < 0x20 || v == 0x7f)
				return AL_EINVAL;
			if (is_unreserved((unsigned char)v)) {
				enc[0] = (char)v;
			} else {
				/* Keep it encoded, in one spelling (upper-case hex). */
				static const char hx[] = "0123456789ABCDEF";
				enc[0] = '%';
				enc[1] = hx[v >> 4];
				enc[2] = hx[v & 15];
				elen = 3;
			}
		} else if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#') {
			return AL_EINVAL;
		} else {
			enc[0] = (char)c;
		}
		if (d + elen > AL_PATH_MAX)
			return AL_ETOOBIG;
		memcpy(dec + d, enc, elen);
		d += elen;
	}
	dec[d] = '\0';

	/* Pass 2: resolve dot segments (RFC 3986 5.2.4), refusing ".." above the
	 * root; out always ends in '/' while segments are appended. */
	out[o++] = '/';
	seg = dec + 1;
	for (;;) {
		const char *e = strchr(seg, '/');
		size_t sl = e ? (size_t)(e - seg) : strlen(seg);

		if (sl == 1 && seg[0] == '.') {
			last_plain = false;
		} else if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o == 1)
				return AL_EINVAL;
			o--; /* drop the trailing '/' */
			while (o > 0 && out[o - 1] != '/')
				o--;
			last_plain = false;
		} else {
			if (o + sl + 1 > AL_PATH_MAX + 1)
				return AL_ETOOBIG;
			memcpy(out + o, seg, sl);
			o += sl;
			out[o++] = '/';
			last_plain = true;
		}
		if (!e)
			break;
		seg = e + 1;
	}
	/* The '/' appended after a final plain segment is ours, not the path's. */
	if (last_plain)
		o--;
	if (o > AL_PATH_MAX)
		return AL_ETOOBIG;
	out[o] = '\0';
	*query = q;
	return 0;
}

static bool parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; s[n]; n++) {
		if (!is_digit((unsigned char)s[n]) || n >= 3)
			return false;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int cidr_parse(const char *s, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t alen;
	unsigned max, prefix;

	if (!s)
		return AL_EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof addr)
		return AL_EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return AL_EINVAL;
	}
	prefix = max;
	if (slash && !parse_prefix(slash + 1, max, &prefix))
		return AL_EINVAL;
	out->prefix = prefix;
	/* Host bits beyond the prefix are refused: "10.1.2.3/8" is usually a typo. */
	for (unsigned bit = prefix; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return AL_EINVAL;
	return 0;
}

bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	unsigned full, rem;

	if (!c || !addr || c->family != family)
		return false;
	full = c->prefix / 8;
	rem = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((c->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

void cidr_format(const struct cidr *c, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (cap == 0)
		return;
	if (!inet_ntop(c->family, c->addr, a, sizeof a)) {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, "%s/%u", a, c->prefix);
}

int name_validate(const char *s)
{
	size_t n;

	if (!s)
		return AL_EINVAL;
	n = strlen(s);
	if (n == 0 || n > AL_NAME_MAX || s[0] == '.' || s[0] == '-')
		return AL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-'))
			return AL_EINVAL;
	}
	return 0;
}
