/* Unit tests of common/netmatch.c: host canonicalisation (IDNA, IP literals,
 * numeric-host tricks, caps), host and path patterns, request-path
 * normalisation, ports, methods, CIDRs and names. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/netmatch.h"
#include "tests/unit/unit.h"

struct host_case {
	const char *in;
	int rc;
	const char *out;
	enum host_kind kind;
};

static const struct host_case host_cases[] = {
	{ "example.com", 0, "example.com", HOST_DNS },
	{ "Example.COM", 0, "example.com", HOST_DNS },
	{ "example.com.", 0, "example.com", HOST_DNS },
	{ "a-b.example.com", 0, "a-b.example.com", HOST_DNS },
	{ "123.example.com", 0, "123.example.com", HOST_DNS },
	{ "localhost", 0, "localhost", HOST_DNS },
	{ "xn--bcher-kva.de", 0, "xn--bcher-kva.de", HOST_DNS },
	{ "b\xc3\xbc" "cher.de", 0, "xn--bcher-kva.de", HOST_DNS },         /* bücher.de */
	{ "B\xc3\x9c" "CHER.DE", 0, "xn--bcher-kva.de", HOST_DNS },         /* BÜCHER.DE */
	{ "fa\xc3\x9f.de", 0, "xn--fa-hia.de", HOST_DNS },                  /* faß: non-transitional */
	{ "example.com..", AL_EINVAL, NULL, 0 },
	{ "", AL_EINVAL, NULL, 0 },
	{ ".", AL_EINVAL, NULL, 0 },
	{ "..", AL_EINVAL, NULL, 0 },
	{ "a..b", AL_EINVAL, NULL, 0 },
	{ ".a", AL_EINVAL, NULL, 0 },
	{ "bad host!", AL_EINVAL, NULL, 0 },
	{ "bad_host.com", AL_EINVAL, NULL, 0 },
	{ "-a.com", AL_EINVAL, NULL, 0 },
	{ "a-.com", AL_EINVAL, NULL, 0 },
	{ "user@host.com", AL_EINVAL, NULL, 0 },
	{ "host.com:443", AL_EINVAL, NULL, 0 },
	{ "%41.com", AL_EINVAL, NULL, 0 },
	{ "*.a.com", AL_EINVAL, NULL, 0 },
	{ "a/b.com", AL_EINVAL, NULL, 0 },
	{ "a\tb.com", AL_EINVAL, NULL, 0 },
	{ " a.com", AL_EINVAL, NULL, 0 },
	/* IPv4: the dotted quad only; every other form inet_aton accepts is refused. */
	{ "127.0.0.1", 0, "127.0.0.1", HOST_IPV4 },
	{ "1.2.3.4.", 0, "1.2.3.4", HOST_IPV4 },
	{ "0.0.0.0", 0, "0.0.0.0", HOST_IPV4 },
	{ "255.255.255.255", 0, "255.255.255.255", HOST_IPV4 },
	{ "127.1", AL_EINVAL, NULL, 0 },
	{ "127.0.1", AL_EINVAL, NULL, 0 },
	{ "0x7f.1", AL_EINVAL, NULL, 0 },
	{ "0x7f.0.0.1", AL_EINVAL, NULL, 0 },
	{ "0X7F.0.0.1", AL_EINVAL, NULL, 0 },
	{ "2130706433", AL_EINVAL, NULL, 0 },
	{ "0x7f000001", AL_EINVAL, NULL, 0 },
	{ "0177.0.0.1", AL_EINVAL, NULL, 0 },
	{ "127.0.0.01", AL_EINVAL, NULL, 0 },
	{ "1.2.3.4.5", AL_EINVAL, NULL, 0 },
	{ "256.1.1.1", AL_EINVAL, NULL, 0 },
	{ "1.2.3.0x4", AL_EINVAL, NULL, 0 },
	{ "example.123", AL_EINVAL, NULL, 0 },
	{ "0x", AL_EINVAL, NULL, 0 },
	/* IPv6, bracketed or bare, printed by inet_ntop. */
	{ "[::1]", 0, "::1", HOST_IPV6 },
	{ "::1", 0, "::1", HOST_IPV6 },
	{ "[2001:DB8:0:0::1]", 0, "2001:db8::1", HOST_IPV6 },
	{ "::ffff:127.0.0.1", 0, "::ffff:127.0.0.1", HOST_IPV6 },
	{ "[::1", AL_EINVAL, NULL, 0 },
	{ "[]", AL_EINVAL, NULL, 0 },
	{ "[fe80::1%eth0]", AL_EINVAL, NULL, 0 },
	{ "[127.0.0.1]", AL_EINVAL, NULL, 0 },
	{ "[::1]:443", AL_EINVAL, NULL, 0 },
	{ ":::1", AL_EINVAL, NULL, 0 },
};

static void test_host_canon(void)
{
	char out[AL_HOST_BUF];
	enum host_kind kind;

	for (size_t i = 0; i < sizeof host_cases / sizeof host_cases[0]; i++) {
		const struct host_case *c = &host_cases[i];
		int rc = host_canon(c->in, strlen(c->in), out, &kind);
		CHECK(rc == c->rc, "host \"%s\": rc %d want %d", c->in, rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			CHECK_STR(out, c->out, c->in);
			CHECK(kind == c->kind, "host \"%s\": kind %d", c->in, kind);
		}
	}
	/* An embedded NUL is refused, not truncated at. */
	CHECK(host_canon("a\0b.com", 7, out, &kind) == AL_EINVAL);
	/* len is honoured: only the first bytes count. */
	CHECK(host_canon("example.comXYZ", 11, out, &kind) == 0);
	CHECK_STR(out, "example.com", "len honoured");
}

static void fill_labels(char *buf, const size_t *labels, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf[o++] = '.';
		memset(buf + o, 'a' + (int)i, labels[i]);
		o += labels[i];
	}
	buf[o] = '\0';
}

static void test_host_caps(void)
{
	char in[600], out[AL_HOST_BUF];
	enum host_kind kind;
	static const size_t ok253[] = { 63, 63, 63, 61 };  /* 63*3 + 61 + 3 dots = 253 */
	static const size_t bad254[] = { 63, 63, 63, 62 };
	static const size_t label63[] = { 63, 3 };
	static const size_t label64[] = { 64, 3 };

	fill_labels(in, ok253, 4);
	CHECK(strlen(in) == AL_HOST_MAX);
	CHECK(host_canon(in, strlen(in), out, &kind) == 0, "253 bytes");
	CHECK(strcmp(out, in) == 0);
	strcat(in, ".");
	CHECK(host_canon(in, strlen(in), out, &kind) == 0, "253 bytes and a trailing dot");
	fill_labels(in, bad254, 4);
	CHECK(strlen(in) == AL_HOST_MAX + 1);
	CHECK(host_canon(in, strlen(in), out, &kind) == AL_EINVAL, "254 bytes");
	fill_labels(in, label63, 2);
	CHECK(host_canon(in, strlen(in), out, &kind) == 0, "label of 63");
	fill_labels(in, label64, 2);
	CHECK(host_canon(in, strlen(in), out, &kind) == AL_EINVAL, "label of 64");
	/* Far over any cap. */
	memset(in, 'a', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	CHECK(host_canon(in, strlen(in), out, &kind) == AL_EINVAL);
}

static void test_host_patterns(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} parse[] = {
		{ "*", 0, "*" },
		{ "*.Example.com", 0, "*.example.com" },
		{ "*.example.com.", 0, "*.example.com" },
		{ "API.example.com", 0, "api.example.com" },
		{ "10.0.0.1", 0, "10.0.0.1" },
		{ "[::1]", 0, "::1" },
		{ "*.1.2.3.4", AL_EINVAL, NULL },
		{ "*.[::1]", AL_EINVAL, NULL },
		{ "**.a.com", AL_EINVAL, NULL },
		{ "a.*.com", AL_EINVAL, NULL },
		{ "*.", AL_EINVAL, NULL },
		{ "*a.com", AL_EINVAL, NULL },
		{ "", AL_EINVAL, NULL },
	};
	static const struct {
		const char *pattern, *host;
		bool match;
	} match[] = {
		{ "*", "anything.example", true },
		{ "*", "10.0.0.1", true },
		{ "*.example.com", "a.example.com", true },
		{ "*.example.com", "a.b.example.com", true },
		{ "*.example.com", "example.com", false },
		{ "*.example.com", "badexample.com", false },
		{ "*.example.com", ".example.com", false },
		{ "example.com", "example.com", true },
		{ "example.com", "a.example.com", false },
		{ "example.com", "example.co", false },
	};
	char out[AL_HOST_BUF + 2];

	for (size_t i = 0; i < sizeof parse / sizeof parse[0]; i++) {
		int rc = host_pattern_parse(parse[i].in, out);
		CHECK(rc == parse[i].rc, "pattern \"%s\": rc %d", parse[i].in, rc);
		if (rc == 0 && parse[i].out)
			CHECK_STR(out, parse[i].out, parse[i].in);
	}
	for (size_t i = 0; i < sizeof match / sizeof match[0]; i++)
		CHECK(host_pattern_match(match[i].pattern, match[i].host) == match[i].match,
		      "\"%s\" vs \"%s\"", match[i].pattern, match[i].host);
}

static void test_ports_methods_names(void)
{
	static const struct {
		const char *in;
		int rc;
		uint16_t v;
	} ports[] = {
		{ "1", 0, 1 }, { "80", 0, 80 }, { "443", 0, 443 }, { "65535", 0, 65535 },
		{ "0", AL_EINVAL, 0 }, { "65536", AL_EINVAL, 0 }, { "70000", AL_EINVAL, 0 },
		{ "100000", AL_EINVAL, 0 }, { "080", AL_EINVAL, 0 }, { "+80", AL_EINVAL, 0 },
		{ "-1", AL_EINVAL, 0 }, { " 80", AL_EINVAL, 0 }, { "80 ", AL_EINVAL, 0 },
		{ "", AL_EINVAL, 0 }, { "8a", AL_EINVAL, 0 }, { "0x50", AL_EINVAL, 0 },
	};
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} methods[] = {
		{ "GET", 0, "GET" }, { "get", 0, "GET" }, { "M-SEARCH", 0, "M-SEARCH" },
		{ "brew", 0, "BREW" }, { "X!#$%&'*+.^_`|~1", 0, "X!#$%&'*+.^_`|~1" },
		{ "", AL_EINVAL, NULL }, { "GET ", AL_EINVAL, NULL }, { "G(T", AL_EINVAL, NULL },
		{ "G\"T", AL_EINVAL, NULL }, { "G/T", AL_EINVAL, NULL }, { "G:T", AL_EINVAL, NULL },
		{ "G\xc3\xa9T", AL_EINVAL, NULL }, { "G\tT", AL_EINVAL, NULL },
	};
	static const struct {
		const char *in;
		int rc;
	} names[] = {
		{ "web-1", 0 }, { "a", 0 }, { "A.b_c-d", 0 }, { "_a", 0 }, { "9", 0 },
		{ "", AL_EINVAL }, { ".a", AL_EINVAL }, { "-a", AL_EINVAL }, { "a b", AL_EINVAL },
		{ "a/b", AL_EINVAL }, { "a:b", AL_EINVAL }, { "\xc3\xa9", AL_EINVAL }, { "a\n", AL_EINVAL },
	};
	char m[AL_METHOD_MAX + 1], big[AL_NAME_MAX + 2];
	uint16_t p;

	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		int rc = port_parse(ports[i].in, &p);
		CHECK(rc == ports[i].rc, "port \"%s\": rc %d", ports[i].in, rc);
		if (rc == 0)
			CHECK(p == ports[i].v, "port \"%s\": %u", ports[i].in, p);
	}
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		int rc = method_parse(methods[i].in, m);
		CHECK(rc == methods[i].rc, "method \"%s\": rc %d", methods[i].in, rc);
		if (rc == 0)
			CHECK_STR(m, methods[i].out, methods[i].in);
	}
	memset(big, 'A', AL_METHOD_MAX);
	big[AL_METHOD_MAX] = '\0';
	CHECK(method_parse(big, m) == 0, "method of AL_METHOD_MAX");
	big[AL_METHOD_MAX] = 'A';
	big[AL_METHOD_MAX + 1] = '\0';
	CHECK(method_parse(big, m) == AL_EINVAL, "method of AL_METHOD_MAX + 1");

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		CHECK(name_validate(names[i].in) == names[i].rc, "name \"%s\"", names[i].in);
	memset(big, 'n', AL_NAME_MAX);
	big[AL_NAME_MAX] = '\0';
	CHECK(name_validate(big) == 0, "name of AL_NAME_MAX");
	big[AL_NAME_MAX] = 'n';
	big[AL_NAME_MAX + 1] = '\0';
	CHECK(name_validate(big) == AL_EINVAL, "name of AL_NAME_MAX + 1");
}

static void test_path_patterns(void)
{
	static const struct {
		const char *in;
		int rc;
	} parse[] = {
		{ "/", 0 }, { "/a", 0 }, { "/a/b/", 0 }, { "/a/*", 0 }, { "/*", 0 }, { "/..a", 0 },
		{ "/a//b", 0 }, { "/v1/chat.completions", 0 },
		{ "", AL_EINVAL }, { "a", AL_EINVAL }, { "*", AL_EINVAL }, { "/a*", AL_EINVAL },
		{ "/a/*/b", AL_EINVAL }, { "/*/", AL_EINVAL }, { "/a/**", AL_EINVAL },
		{ "/a/./b", AL_EINVAL }, { "/a/..", AL_EINVAL }, { "/.", AL_EINVAL },
		{ "/a%20", AL_EINVAL }, { "/a?b", AL_EINVAL }, { "/a#b", AL_EINVAL },
		{ "/a b", AL_EINVAL }, { "/a\\b", AL_EINVAL }, { "/\xc3\xa9", AL_EINVAL },
		{ "/a\x7f", AL_EINVAL }, { "/a\n", AL_EINVAL },
		/* a name that a backend reads as a dot segment never matches a request */
		{ "/a/..;x", AL_EINVAL }, { "/a/.;/b", AL_EINVAL }, { "/a/..;", AL_EINVAL },
		{ "/...", AL_EINVAL }, { "/a/..../*", AL_EINVAL },
		{ "/a;v=1/*", 0 }, { "/a/;x/b", 0 }, { "/a/..b;x", 0 }, { "/a/;../b", 0 },
	};
	static const struct {
		const char *pattern, *path;
		bool match;
	} match[] = {
		{ "/x/*", "/x/", true }, { "/x/*", "/x/y", true }, { "/x/*", "/x/y/z", true },
		{ "/x/*", "/x", false }, { "/x/*", "/x10", false }, { "/x/*", "/", false },
		{ "/*", "/", true }, { "/*", "/anything/at/all", true },
		{ "/x", "/x", true }, { "/x", "/x/", false }, { "/x", "/x/y", false },
		{ "/x/", "/x/", true }, { "/x/", "/x", false },
	};
	char big[AL_PATH_MAX + 2];

	for (size_t i = 0; i < sizeof parse / sizeof parse[0]; i++) {
		int rc = path_pattern_parse(parse[i].in);
		CHECK(rc == parse[i].rc, "path pattern \"%s\": rc %d", parse[i].in, rc);
	}
	for (size_t i = 0; i < sizeof match / sizeof match[0]; i++)
		CHECK(path_pattern_match(match[i].pattern, match[i].path) == match[i].match,
		      "\"%s\" vs \"%s\"", match[i].pattern, match[i].path);

	big[0] = '/';
	memset(big + 1, 'p', AL_PATH_MAX - 1);
	big[AL_PATH_MAX] = '\0';
	CHECK(path_pattern_parse(big) == 0, "pattern of AL_PATH_MAX");
	big[AL_PATH_MAX] = 'p';
	big[AL_PATH_MAX + 1] = '\0';
	CHECK(path_pattern_parse(big) == AL_ETOOBIG, "pattern of AL_PATH_MAX + 1");
}

static void test_path_normalise(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
		const char *query;
	} cases[] = {
		{ "/", 0, "/", NULL },
		{ "/a/b", 0, "/a/b", NULL },
		{ "/a/b/", 0, "/a/b/", NULL },
		{ "/a/./b", 0, "/a/b", NULL },
		{ "/./a", 0, "/a", NULL },
		{ "/a/../b", 0, "/b", NULL },
		{ "/a/b/..", 0, "/a/", NULL },
		{ "/a/b/.", 0, "/a/b/", NULL },
		{ "/a/..", 0, "/", NULL },
		{ "/a//b", 0, "/a//b", NULL },
		{ "/a//..", 0, "/a/", NULL },
		{ "/..a/b..", 0, "/..a/b..", NULL },
		{ "/a/%7Euser", 0, "/a/~user", NULL },
		{ "/%41%62c", 0, "/Abc", NULL },
		{ "/a%2db%5F", 0, "/a-b_", NULL },
		{ "/a%20b", 0, "/a%20b", NULL },
		{ "/caf%c3%a9", 0, "/caf%C3%A9", NULL },
		{ "/a?x=1", 0, "/a", "?x=1" },
		{ "/a?x/../..", 0, "/a", "?x/../.." },
		{ "/a/../b?", 0, "/b", "?" },
		{ "/..", AL_EINVAL, NULL, NULL },
		{ "/../a", AL_EINVAL, NULL, NULL },
		{ "/a/../..", AL_EINVAL, NULL, NULL },
		{ "/a%2Fb", AL_EINVAL, NULL, NULL },
		{ "/a%2fb", AL_EINVAL, NULL, NULL },
		{ "/%2E%2E/x", AL_EINVAL, NULL, NULL },
		{ "/a/%2e", AL_EINVAL, NULL, NULL },
		{ "/a%25", AL_EINVAL, NULL, NULL },
		{ "/a%252F", AL_EINVAL, NULL, NULL },
		{ "/a%5C", AL_EINVAL, NULL, NULL },
		{ "/a%5c..", AL_EINVAL, NULL, NULL },
		{ "/a%00", AL_EINVAL, NULL, NULL },
		{ "/a%0A", AL_EINVAL, NULL, NULL },
		{ "/a%7F", AL_EINVAL, NULL, NULL },
		{ "/a%", AL_EINVAL, NULL, NULL },
		{ "/a%4", AL_EINVAL, NULL, NULL },
		{ "/a%zz", AL_EINVAL, NULL, NULL },
		{ "/a%4?x", AL_EINVAL, NULL, NULL },
		{ "a", AL_EINVAL, NULL, NULL },
		{ "?x", AL_EINVAL, NULL, NULL },
		{ "*", AL_EINVAL, NULL, NULL },
		{ "/a b", AL_EINVAL, NULL, NULL },
		{ "/a\\b", AL_EINVAL, NULL, NULL },
		{ "/a#b", AL_EINVAL, NULL, NULL },
		{ "/a\x01", AL_EINVAL, NULL, NULL },
		{ "/\xc3\xa9", AL_EINVAL, NULL, NULL },
	};
	char out[AL_PATH_MAX + 1];
	char *big;
	const char *q;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in;
		int rc = path_normalise(in, strlen(in), out, &q);
		CHECK(rc == cases[i].rc, "path \"%s\": rc %d want %d", in, rc, cases[i].rc);
		if (rc != 0 || cases[i].rc != 0)
			continue;
		CHECK_STR(out, cases[i].out, in);
		if (cases[i].query)
			CHECK_STR(q, cases[i].query, in);
		else
			CHECK(q == NULL, "path \"%s\": query", in);
	}
	CHECK(path_normalise("", 0, out, &q) == AL_EINVAL);
	CHECK(path_normalise("/a\0b", 4, out, &q) == AL_EINVAL, "raw NUL");
	/* len bounds the input: "/ab" of which only "/a" counts. */
	CHECK(path_normalise("/ab", 2, out, &q) == 0 && strcmp(out, "/a") == 0);

	big = malloc(AL_PATH_MAX + 16);
	big[0] = '/';
	memset(big + 1, 'p', AL_PATH_MAX - 1);
	big[AL_PATH_MAX] = '\0';
	CHECK(path_normalise(big, AL_PATH_MAX, out, &q) == 0, "path of AL_PATH_MAX");
	CHECK(strlen(out) == AL_PATH_MAX);
	big[AL_PATH_MAX] = 'p';
	big[AL_PATH_MAX + 1] = '\0';
	CHECK(path_normalise(big, AL_PATH_MAX + 1, out, &q) == AL_ETOOBIG, "path of AL_PATH_MAX + 1");
	/* A query does not count against the path's cap. */
	memcpy(big + AL_PATH_MAX, "?q=1", 5);
	CHECK(path_normalise(big, strlen(big), out, &q) == 0, "path of AL_PATH_MAX plus a query");
	free(big);
}

/* Spellings of a path that backends may read differently (".." hidden
 * behind parameters, lax UTF-8, Unicode that folds into path syntax, encoded
 * controls), each refused, and each refused one's negative twin accepted
 * with its normalised form. tests/integration/test-proxy-path-spellings.py
 * sends the same spellings through airlock. */
static void test_path_spellings(void)
{
	static const struct {
		const char *in;
		const char *out;   /* NULL: refused (AL_EINVAL) */
	} cases[] = {
		/* ';' parameters on a dot segment: Tomcat and Spring read "..;" as ".." */
		{ "/public/..;/admin", NULL },
		{ "/public/..;jsessionid=1/admin", NULL },
		{ "/public/..;a;b/admin", NULL },
		{ "/public/.;x/admin", NULL },
		{ "/public/.;/admin", NULL },
		{ "/public/x/..;", NULL },
		{ "/public/..%3B/admin", NULL },
		{ "/public/..%3bx/admin", NULL },
		{ "/public/.%3B", NULL },
		{ "/public/%2e%2e;/admin", NULL },
		{ "/public/a;v=1", "/public/a;v=1" },
		{ "/public/a;v=1/b", "/public/a;v=1/b" },
		{ "/public/a%3bv=1", "/public/a%3Bv=1" },
		{ "/public/..a;x", "/public/..a;x" },
		{ "/public/a..;x", "/public/a..;x" },
		{ "/public/x/..", "/public/" },
		/* segments made only of parameters: an empty name, kept */
		{ "/public/;x/b", "/public/;x/b" },
		{ "/public/;/b", "/public/;/b" },
		{ "/public/%3B", "/public/%3B" },
		{ "/public/;../b", "/public/;../b" },
		{ "/public/;x/../b", "/public/b" },
		/* only dots and blanks: Windows drops trailing dots and spaces */
		{ "/public/...", NULL },
		{ "/public/..../admin", NULL },
		{ "/public/..%20/admin", NULL },
		{ "/public/%20../admin", NULL },
		{ "/public/.%20", NULL },
		{ "/public/..%C2%A0/admin", NULL },        /* NO-BREAK SPACE */
		{ "/public/..%E3%80%80/admin", NULL },     /* IDEOGRAPHIC SPACE */
		{ "/public/.%E2%80%8B./admin", NULL },     /* ZERO WIDTH SPACE */
		{ "/public/..%EF%BB%BF", NULL },           /* BOM */
		{ "/public/..%C2%AD", NULL },              /* SOFT HYPHEN */
		{ "/public/.hidden", "/public/.hidden" },
		{ "/public/a.", "/public/a." },
		{ "/public/a..", "/public/a.." },
		{ "/public/..%20a", "/public/..%20a" },
		{ "/public/%20", "/public/%20" },
		{ "/public/a%C2%A0b", "/public/a%C2%A0b" },
		/* percent-encoded bytes >= 0x80 that are not well-formed UTF-8 */
		{ "/public/%C0%AE%C0%AE/admin", NULL },    /* overlong '.' */
		{ "/public/%c0%ae", NULL },
		{ "/public/%E0%80%AE", NULL },             /* overlong '.', 3 bytes */
		{ "/public/%F0%80%80%AE", NULL },          /* overlong '.', 4 bytes */
		{ "/public/%C0%AF", NULL },                /* overlong '/' */
		{ "/public/%C1%9C", NULL },                /* overlong '\\' */
		{ "/public/%C0%80", NULL },                /* overlong NUL */
		{ "/public/%E0%9F%BF", NULL },             /* overlong U+07FF */
		{ "/public/%F0%8F%BF%BF", NULL },          /* overlong U+FFFF */
		{ "/public/%80", NULL },                   /* lone continuation bytes */
		{ "/public/%BF", NULL },
		{ "/public/a%A9", NULL },
		{ "/public/%C3%A9%A9", NULL },
		{ "/public/%C3", NULL },                   /* truncated */
		{ "/public/%C3/x", NULL },
		{ "/public/%C3a", NULL },
		{ "/public/%C3%", NULL },
		{ "/public/%C3%4", NULL },
		{ "/public/%C3?x", NULL },
		{ "/public/%C3%C3%A9", NULL },
		{ "/public/%E2%82", NULL },
		{ "/public/%F0%9F%98", NULL },
		{ "/public/%E2%82%AC%82", NULL },
		{ "/public/%ED%A0%80", NULL },             /* surrogates */
		{ "/public/%ED%BF%BF", NULL },
		{ "/public/%ED%A0%BD%ED%B8%80", NULL },    /* CESU-8 pair */
		{ "/public/%F4%90%80%80", NULL },          /* past U+10FFFF */
		{ "/public/%F5%80%80%80", NULL },
		{ "/public/%F8%88%80%80%80", NULL },
		{ "/public/%C0", NULL },                   /* never a lead byte */
		{ "/public/%C1%81", NULL },
		{ "/public/%FE", NULL },
		{ "/public/%FF", NULL },
		{ "/public/caf%C3%A9", "/public/caf%C3%A9" },
		{ "/public/caf%c3%a9", "/public/caf%C3%A9" },
		{ "/public/%C2%A1", "/public/%C2%A1" },            /* U+00A1 */
		{ "/public/%DF%BF", "/public/%DF%BF" },            /* U+07FF */
		{ "/public/%E0%A0%80", "/public/%E0%A0%80" },      /* U+0800 */
		{ "/public/%E2%82%AC", "/public/%E2%82%AC" },      /* U+20AC */
		{ "/public/%ED%9F%BF", "/public/%ED%9F%BF" },      /* U+D7FF */
		{ "/public/%EE%80%80", "/public/%EE%80%80" },      /* U+E000 */
		{ "/public/%EF%BF%BD", "/public/%EF%BF%BD" },      /* U+FFFD */
		{ "/public/%F0%90%80%80", "/public/%F0%90%80%80" },/* U+10000 */
		{ "/public/%F0%9F%98%80", "/public/%F0%9F%98%80" },/* U+1F600 */
		{ "/public/%F4%8F%BF%BF", "/public/%F4%8F%BF%BF" },/* U+10FFFF */
		/* encoded controls: C0, DEL, C1 */
		{ "/public/%00", NULL },
		{ "/public/%1F", NULL },
		{ "/public/%0D%0A", NULL },
		{ "/public/%7F", NULL },
		{ "/public/%C2%80", NULL },
		{ "/public/%C2%85", NULL },                /* NEXT LINE */
		{ "/public/%C2%9F", NULL },
		{ "/public/%C2%A0", "/public/%C2%A0" },    /* U+00A0 follows the C1 block */
		/* Unicode that NFKC or Windows best fit turns into path syntax */
		{ "/public/%EF%BC%8E%EF%BC%8E/admin", NULL },  /* FULLWIDTH FULL STOP */
		{ "/public/..%EF%BC%8Fadmin", NULL },          /* FULLWIDTH SOLIDUS */
		{ "/public/..%E2%88%95admin", NULL },          /* DIVISION SLASH */
		{ "/public/..%EF%BC%BCadmin", NULL },          /* FULLWIDTH REVERSE SOLIDUS */
		{ "/public/%E2%80%A4%E2%80%A4/admin", NULL },  /* ONE DOT LEADER */
		{ "/public/%E2%80%A5/admin", NULL },           /* TWO DOT LEADER */
		{ "/public/%E2%80%A6", NULL },                 /* HORIZONTAL ELLIPSIS */
		{ "/public/%EF%B9%92%EF%B9%92", NULL },        /* SMALL FULL STOP */
		{ "/public/%EF%B8%B0", NULL },                 /* vertical TWO DOT LEADER */
		{ "/public/..%EF%B9%A8admin", NULL },          /* SMALL REVERSE SOLIDUS */
		{ "/public/..%E2%81%84admin", NULL },          /* FRACTION SLASH */
		{ "/public/..%E2%88%96admin", NULL },          /* SET MINUS */
		{ "/public/..%C2%A5admin", NULL },             /* YEN SIGN (cp932) */
		{ "/public/..%E2%82%A9admin", NULL },          /* WON SIGN (cp949) */
		{ "/public/..%CD%BE/admin", NULL },            /* GREEK QUESTION MARK: ';' */
		{ "/public/..%EF%BC%9B/admin", NULL },         /* FULLWIDTH SEMICOLON */
		{ "/public/%EF%BC%852e%EF%BC%852e/admin", NULL }, /* FULLWIDTH PERCENT SIGN */
		{ "/public/%EF%B9%AA2e", NULL },               /* SMALL PERCENT SIGN */
		{ "/public/a%EF%BC%9Fb", NULL },               /* FULLWIDTH QUESTION MARK */
		{ "/public/a%EF%BC%83b", NULL },               /* FULLWIDTH NUMBER SIGN */
		{ "/public/%E2%92%88", NULL },                 /* DIGIT ONE FULL STOP: "1." */
		{ "/public/%F0%9F%84%80", NULL },              /* DIGIT ZERO FULL STOP: "0." */
		{ "/public/%E2%84%80", NULL },                 /* ACCOUNT OF: "a/c" */
		{ "/public/%EF%BC%8D", "/public/%EF%BC%8D" },  /* FULLWIDTH HYPHEN-MINUS */
		{ "/public/%EF%BC%90", "/public/%EF%BC%90" },  /* FULLWIDTH DIGIT ZERO */
		{ "/public/%EF%BC%BB", "/public/%EF%BC%BB" },  /* FULLWIDTH LEFT SQUARE BRACKET */
		{ "/public/%E2%88%94", "/public/%E2%88%94" },  /* DOT PLUS */
		{ "/public/%E2%80%A7", "/public/%E2%80%A7" },  /* HYPHENATION POINT */
		{ "/public/%E3%80%82", "/public/%E3%80%82" },  /* IDEOGRAPHIC FULL STOP: not '.' */
		/* the existing rules, restated against the same prefix */
		{ "/public/%2e%2e/admin", NULL },
		{ "/public/.%2E/admin", NULL },
		{ "/public/%2F", NULL },
		{ "/public/%2f..", NULL },
		{ "/public/..%5Cadmin", NULL },
		{ "/public/..\\admin", NULL },
		{ "/public/%25", NULL },
		{ "/public/%252e%252e/admin", NULL },
		{ "/public/a#b", NULL },
		{ "/public/a b", NULL },
		{ "/public/a\t", NULL },
		{ "/public/%41", "/public/A" },
		{ "/public//x", "/public//x" },
		{ "/public/x//", "/public/x//" },
		{ "/public/a.b", "/public/a.b" },
		{ "/public/a%3Fb", "/public/a%3Fb" },
	};
	char out[AL_PATH_MAX + 1], again[AL_PATH_MAX + 1];
	const char *q;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in;
		int rc = path_normalise(in, strlen(in), out, &q);
		if (!cases[i].out) {
			CHECK(rc == AL_EINVAL, "\"%s\": rc %d, want refused", in, rc);
			continue;
		}
		CHECK(rc == 0, "\"%s\": rc %d, want accepted", in, rc);
		if (rc != 0)
			continue;
		CHECK_STR(out, cases[i].out, in);
		/* the output is a fixed point: what is sent upstream normalises to itself */
		CHECK(path_normalise(out, strlen(out), again, &q) == 0 && strcmp(out, again) == 0,
		      "\"%s\": not idempotent", in);
	}
	/* the query is not read: nothing in it changes the path or its verdict */
	static const char withq[] = "/public/x?a=..;/../%2e%C0%AE%ZZ\\";
	CHECK(path_normalise(withq, strlen(withq), out, &q) == 0 && strcmp(out, "/public/x") == 0 &&
	      q == withq + 9, "query");
}

static void test_cidr(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} parse[] = {
		{ "10.0.0.0/8", 0, "10.0.0.0/8" },
		{ "10.0.0.1", 0, "10.0.0.1/32" },
		{ "0.0.0.0/0", 0, "0.0.0.0/0" },
		{ "192.168.1.128/25", 0, "192.168.1.128/25" },
		{ "fd00::/8", 0, "fd00::/8" },
		{ "::1", 0, "::1/128" },
		{ "::/0", 0, "::/0" },
		{ "2001:DB8::/32", 0, "2001:db8::/32" },
		{ "10.1.0.0/8", AL_EINVAL, NULL },
		{ "192.168.1.129/25", AL_EINVAL, NULL },
		{ "fd00::1/8", AL_EINVAL, NULL },
		{ "10.0.0.0/33", AL_EINVAL, NULL },
		{ "fd00::/129", AL_EINVAL, NULL },
		{ "10.0.0.0/08", AL_EINVAL, NULL },
		{ "10.0.0.0/", AL_EINVAL, NULL },
		{ "10.0.0.0/-1", AL_EINVAL, NULL },
		{ "10.0.0.0/8/9", AL_EINVAL, NULL },
		{ "10.0.0.0/ 8", AL_EINVAL, NULL },
		{ "/8", AL_EINVAL, NULL },
		{ "10.0.0/8", AL_EINVAL, NULL },
		{ "010.0.0.0/8", AL_EINVAL, NULL },
		{ "example.com/8", AL_EINVAL, NULL },
		{ "", AL_EINVAL, NULL },
	};
	static const struct {
		const char *cidr, *addr;
		bool in;
	} contains[] = {
		{ "10.0.0.0/8", "10.255.1.2", true },
		{ "10.0.0.0/8", "11.0.0.1", false },
		{ "10.0.0.0/9", "10.127.255.255", true },
		{ "10.0.0.0/9", "10.128.0.0", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "169.254.169.254", "169.254.169.254", true },
		{ "169.254.169.254", "169.254.169.253", false },
		/* IPv4 CIDRs see only AF_INET: the enforcer unwraps mapped forms first. */
		{ "10.0.0.0/8", "::ffff:10.0.0.1", false },
		{ "fd00::/8", "fdab::1", true },
		{ "fd00::/8", "fe00::1", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "10.0.0.1", false },
		{ "fe80::/10", "febf::1", true },
		{ "fe80::/10", "fec0::1", false },
	};
	struct cidr c;
	char buf[64];

	for (size_t i = 0; i < sizeof parse / sizeof parse[0]; i++) {
		int rc = cidr_parse(parse[i].in, &c);
		CHECK(rc == parse[i].rc, "cidr \"%s\": rc %d", parse[i].in, rc);
		if (rc == 0 && parse[i].out) {
			cidr_format(&c, buf, sizeof buf);
			CHECK_STR(buf, parse[i].out, parse[i].in);
		}
	}
	for (size_t i = 0; i < sizeof contains / sizeof contains[0]; i++) {
		uint8_t a[16];
		int fam = strchr(contains[i].addr, ':') ? AF_INET6 : AF_INET;
		CHECK(cidr_parse(contains[i].cidr, &c) == 0);
		CHECK(inet_pton(fam, contains[i].addr, a) == 1);
		CHECK(cidr_contains(&c, fam, a) == contains[i].in, "%s in %s", contains[i].addr,
		      contains[i].cidr);
	}
}

int main(void)
{
	test_host_canon();
	test_host_caps();
	test_host_patterns();
	test_ports_methods_names();
	test_path_patterns();
	test_path_normalise();
	test_path_spellings();
	test_cidr();
	return unit_finish("test-netmatch");
}
