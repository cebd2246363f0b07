/* The vocabulary of rules: canonical hosts (IDNA, IP literals), host
 * patterns, ports, methods, path patterns and request-path normalisation,
 * CIDRs and names. The broker validates with these and the enforcer matches
 * with them, so a rule means the same thing on both sides. */
#include "config.h"

#include "common/netmatch.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"


/* Input longer than this cannot canonicalise to AL_HOST_MAX bytes even as
 * U-labels (at most 4 bytes of UTF-8 per code point). */
#define HOST_INPUT_MAX (4 * AL_HOST_MAX + 4)

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

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

struct cp_range {
	uint32_t lo, hi;
};

/* Code points that a backend may turn into a character with a meaning in a
 * path: '.', '/' or '\\', or ';', '%', '?', '#' (which reopen the same
 * questions one step later, e.g. U+FF05 U+0032 U+0065 is "%2e" after NFKC).
 * Every code point whose compatibility form (NFKC, Unicode 14) holds one, the
 * Windows "best fit" conversions to code page 1252 (WideCharToMultiByte
 * without WC_NO_BEST_FIT_CHARS, as IIS, ASP.NET and C runtimes do), and the
 * yen and won signs, which are 0x5C ('\\') in code pages 932 and 949. */
static const struct cp_range path_folds[] = {
	{ 0x00A5, 0x00A5 },   /* YEN SIGN: '\\' in cp932 */
	{ 0x037E, 0x037E },   /* GREEK QUESTION MARK: ';' even under NFC */
	{ 0x066A, 0x066A },   /* ARABIC PERCENT SIGN: best fit '%' */
	{ 0x2024, 0x2026 },   /* ONE DOT LEADER, TWO DOT LEADER, ELLIPSIS: ".", "..", "..." */
	{ 0x2044, 0x2044 },   /* FRACTION SLASH: best fit '/' */
	{ 0x2047, 0x2049 },   /* "??", "?!", "!?" */
	{ 0x20A9, 0x20A9 },   /* WON SIGN: '\\' in cp949 */
	{ 0x2100, 0x2101 },   /* "a/c", "a/s" */
	{ 0x2105, 0x2106 },   /* "c/o", "c/u" */
	{ 0x2215, 0x2216 },   /* DIVISION SLASH, SET MINUS: best fit '/', '\\' */
	{ 0x2488, 0x249B },   /* "1." .. "20." */
	{ 0x33C2, 0x33C2 },   /* "a.m." */
	{ 0x33C7, 0x33C7 },   /* "Co." */
	{ 0x33D8, 0x33D8 },   /* "p.m." */
	{ 0xFE14, 0xFE14 },   /* vertical ';' */
	{ 0xFE16, 0xFE16 },   /* vertical '?' */
	{ 0xFE19, 0xFE19 },   /* vertical "..." */
	{ 0xFE30, 0xFE30 },   /* vertical ".." */
	{ 0xFE52, 0xFE52 },   /* small '.' */
	{ 0xFE54, 0xFE54 },   /* small ';' */
	{ 0xFE56, 0xFE56 },   /* small '?' */
	{ 0xFE5F, 0xFE5F },   /* small '#' */
	{ 0xFE68, 0xFE68 },   /* small '\\' */
	{ 0xFE6A, 0xFE6A },   /* small '%' */
	{ 0xFF03, 0xFF03 },   /* fullwidth '#' */
	{ 0xFF05, 0xFF05 },   /* fullwidth '%' */
	{ 0xFF0E, 0xFF0F },   /* fullwidth '.', '/' */
	{ 0xFF1B, 0xFF1B },   /* fullwidth ';' */
	{ 0xFF1F, 0xFF1F },   /* fullwidth '?' */
	{ 0xFF3C, 0xFF3C },   /* fullwidth '\\' */
	{ 0x1F100, 0x1F100 }, /* "0." */
};

/* Spaces (NFKC or best fit turn them into ' ') and invisible format
 * characters (which some backends strip): in a name otherwise made of dots
 * they may vanish and leave "..". */
static const struct cp_range path_blanks[] = {
	{ 0x00A0, 0x00A0 }, { 0x00AD, 0x00AD }, { 0x1680, 0x1680 }, { 0x180E, 0x180E },
	{ 0x2000, 0x200F }, { 0x2028, 0x202F }, { 0x205F, 0x206F }, { 0x3000, 0x3000 },
	{ 0xFEFF, 0xFEFF },
};

static bool cp_in(const struct cp_range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/* The byte that "%XX" at in[i] encodes, or -1 when there is none. */
static int pct_byte(const char *in, size_t len, size_t i)
{
	if (i >= len || len - i < 3 || in[i] != '%' || !is_hex((unsigned char)in[i + 1]) ||
	    !is_hex((unsigned char)in[i + 2]))
		return -1;
	return bytes_hexval((unsigned char)in[i + 1]) * 16 + bytes_hexval((unsigned char)in[i + 2]);
}

/* One percent-encoded UTF-8 character whose lead byte b0 is the "%XX" at
 * in[i]: each continuation byte must follow as "%XX" too, and the sequence
 * must be well-formed UTF-8 (RFC 3629, Unicode table 3-7): no overlong form
 * ("%C0%AE" is '.' to a lax decoder), no surrogate, nothing past U+10FFFF,
 * no lone continuation byte, nothing truncated. Returns the code point and
 * sets *n to its length in bytes, or returns -1. */
static long pct_utf8(const char *in, size_t len, size_t i, int b0, unsigned *n)
{
	int lo = 0x80, hi = 0xBF;
	long cp;

	if (b0 >= 0xC2 && b0 <= 0xDF) {
		*n = 2;
		cp = b0 & 0x1F;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		*n = 3;
		cp = b0 & 0x0F;
		lo = b0 == 0xE0 ? 0xA0 : 0x80;   /* overlong below U+0800 */
		hi = b0 == 0xED ? 0x9F : 0xBF;   /* surrogates U+D800..U+DFFF */
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		*n = 4;
		cp = b0 & 0x07;
		lo = b0 == 0xF0 ? 0x90 : 0x80;   /* overlong below U+10000 */
		hi = b0 == 0xF4 ? 0x8F : 0xBF;   /* past U+10FFFF */
	} else {
		return -1;   /* a continuation byte, C0/C1 (always overlong), F5..FF */
	}
	for (unsigned k = 1; k < *n; k++) {
		int b = pct_byte(in, len, i + 3 * k);
		if (b < lo || b > hi)
			return -1;
		lo = 0x80;
		hi = 0xBF;
		cp = cp << 6 | (b & 0x3F);
	}
	return cp;
}

/* What the name of the segment being read (the part before its first ';'
 * or "%3B") is made of. A name of only dots and blanks may mean "." or ".."
 * to some backend: Tomcat and Spring drop ";params" ("..;x" is ".."), Windows
 * trims trailing dots and spaces from names (".. " and "..." are not what
 * they look like). Only the bare "." and ".." are accepted, and resolved. */
struct seg_scan {
	unsigned dots;   /* '.' in the name */
	bool blank;      /* a space or a path_blanks character in the name */
	bool other;      /* anything else in the name */
	bool params;     /* a ';' was seen: the rest of the segment is parameters */
};

static bool seg_scan_end(struct seg_scan *s)
{
	bool ok = s->other || s->dots == 0 || (!s->blank && !s->params && s->dots <= 2);

	memset(s, 0, sizeof *s);
	return ok;
}

static void seg_scan_add(struct seg_scan *s, uint32_t c)
{
	if (s->params)
		return;
	if (c == ';')
		s->params = true;
	else if (c == '.')
		s->dots++;
	else if (c == ' ' || cp_in(path_blanks, sizeof path_blanks / sizeof path_blanks[0], c))
		s->blank = true;
	else
		s->other = true;
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
	/* No dot segment, and no name that a backend reads as one ("..;x",
	 * "..."): a request for it is refused (path_normalise), so such a rule
	 * could never match. */
	for (const char *p = in + 1;;) {
		const char *e = strchr(p, '/');
		size_t sl = e ? (size_t)(e - p) : strlen(p);
		struct seg_scan scan = { 0 };

		for (size_t i = 0; i < sl; i++)
			seg_scan_add(&scan, (unsigned char)p[i]);
		if (is_dot_segment(p, sl) || !seg_scan_end(&scan))
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
	static const char hx[] = "0123456789ABCDEF";
	char dec[AL_PATH_MAX + 1];
	const char *q;
	size_t plen, d = 0, o = 0;
	const char *seg;
	bool last_plain = false;
	struct seg_scan scan = { 0 };

	*query = NULL;
	if (!in || len == 0)
		return AL_EINVAL;
	q = memchr(in, '?', len);
	plen = q ? (size_t)(q - in) : len;
	if (plen == 0 || in[0] != '/')
		return AL_EINVAL;

	/* Pass 1: decode what is safe to decode, refuse what would change
	 * meaning or what backends read differently, and keep every other
	 * escape in one spelling (upper-case hex). */
	for (size_t i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)in[i];
		char enc[12];
		size_t elen = 1;

		if (c == '%') {
			int v = pct_byte(in, plen, i);
			unsigned n = 1;
			long cp;

			if (v < 0)
				return AL_EINVAL;
			if (v == '/' || v == '.' || v == '%' || v == '\\' || v < 0x20 || v == 0x7f)
				return AL_EINVAL;
			if (v < 0x80) {
				cp = v;
			} else {
				cp = pct_utf8(in, plen, i, v, &n);
				/* C1 controls are controls; the others fold into path syntax */
				if (cp < 0 || cp <= 0x9F ||
				    cp_in(path_folds, sizeof path_folds / sizeof path_folds[0], (uint32_t)cp))
					return AL_EINVAL;
			}
			if (v < 0x80 && is_unreserved((unsigned char)v)) {
				enc[0] = (char)v;
			} else {
				for (unsigned k = 0; k < n; k++) {
					unsigned b = (unsigned)pct_byte(in, plen, i + 3 * k);
					enc[3 * k] = '%';
					enc[3 * k + 1] = hx[b >> 4];
					enc[3 * k + 2] = hx[b & 15];
				}
				elen = 3 * n;
			}
			i += 3 * n - 1;
			seg_scan_add(&scan, (uint32_t)cp);
		} else if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#') {
			return AL_EINVAL;
		} else {
			enc[0] = (char)c;
			if (c == '/') {
				if (!seg_scan_end(&scan))
					return AL_EINVAL;
			} else {
				seg_scan_add(&scan, c);
			}
		}
		if (d + elen > AL_PATH_MAX)
			return AL_ETOOBIG;
		memcpy(dec + d, enc, elen);
		d += elen;
	}
	if (!seg_scan_end(&scan))
		return AL_EINVAL;
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
