/* enforcer/socks5.c: the SOCKS5 messages, table-driven. Every message is
 * also fed one byte short of whole (must ask for more, never decide). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "enforcer/socks5.h"
#include "tests/unit/unit.h"

#define M(s) (const uint8_t *)(s), sizeof(s) - 1

struct greet_case {
	const uint8_t *b;
	size_t n;
	enum socks5_parse want;
	size_t used;
	const char *what;
};

static const struct greet_case greets[] = {
	{ M("\x05\x01\x02"), SOCKS5_DONE, 3, "username/password only" },
	{ M("\x05\x02\x00\x02"), SOCKS5_DONE, 4, "no-auth and username/password" },
	{ M("\x05\x03\x01\x00\x02"), SOCKS5_DONE, 5, "GSSAPI, no-auth, username/password" },
	{ M("\x05\x01\x00"), SOCKS5_REFUSE, 0, "no-auth only" },
	{ M("\x05\x00"), SOCKS5_REFUSE, 0, "no methods" },
	{ M("\x04\x01\x02"), SOCKS5_REFUSE, 0, "SOCKS4" },
	{ M("\x05\x01"), SOCKS5_NEED_MORE, 0, "methods missing" },
	{ M("\x05"), SOCKS5_NEED_MORE, 0, "count missing" },
	{ M(""), SOCKS5_NEED_MORE, 0, "nothing" },
};

struct auth_case {
	const uint8_t *b;
	size_t n;
	enum socks5_parse want;
	size_t used;
	const char *pass;
	const char *what;
};

static const struct auth_case auths[] = {
	{ M("\x01\x05proxy\x07" "alk_tok"), SOCKS5_DONE, 15, "alk_tok", "user and token" },
	{ M("\x01\x01u\x01p"), SOCKS5_DONE, 5, "p", "one byte each" },
	{ M("\x01\x00\x07" "alk_tok"), SOCKS5_REFUSE, 0, NULL, "empty user name (RFC 1929: 1 to 255)" },
	{ M("\x01\x05proxy\x00"), SOCKS5_REFUSE, 0, NULL, "empty password" },
	{ M("\x01\x05proxy\x03" "a\x00" "b"), SOCKS5_REFUSE, 0, NULL, "NUL in the password" },
	{ M("\x01\x05proxy\x03" "a\x7f" "b"), SOCKS5_REFUSE, 0, NULL, "DEL in the password" },
	{ M("\x02\x05proxy\x01p"), SOCKS5_REFUSE, 0, NULL, "sub-negotiation version 2" },
	{ M("\x01\x05proxy\x07" "alk_to"), SOCKS5_NEED_MORE, 0, NULL, "password short" },
	{ M("\x01\x05pro"), SOCKS5_NEED_MORE, 0, NULL, "user short" },
};

struct req_case {
	const uint8_t *b;
	size_t n;
	enum socks5_parse want;
	uint8_t rep;
	size_t used;
	const char *host;
	uint16_t port;
	const char *what;
};

static const struct req_case reqs[] = {
	{ M("\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x50"), SOCKS5_DONE, 0, 10, "10.0.0.1", 80, "IPv4" },
	{ M("\x05\x01\x00\x03\x0b" "example.com\x01\xbb"), SOCKS5_DONE, 0, 18, "example.com", 443, "name" },
	{ M("\x05\x01\x00\x03\x0c" "example.com.\x01\xbb"), SOCKS5_DONE, 0, 19, "example.com.", 443, "trailing dot" },
	{ M("\x05\x01\x00\x03\x0a_srv.a-b.c\x00\x16"), SOCKS5_DONE, 0, 17, "_srv.a-b.c", 22, "underscore, hyphen" },
	{ M("\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x16"), SOCKS5_DONE,
	  0, 22, "::1", 22, "IPv6" },
	{ M("\x05\x02\x00\x01\x0a\x00\x00\x01\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_CMD_UNSUPPORTED, 0, NULL, 0,
	  "BIND" },
	{ M("\x05\x03\x00\x01\x0a\x00\x00\x01\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_CMD_UNSUPPORTED, 0, NULL, 0,
	  "UDP ASSOCIATE" },
	{ M("\x05\x09"), SOCKS5_REFUSE, SOCKS5_REP_CMD_UNSUPPORTED, 0, NULL, 0, "unknown command" },
	{ M("\x05\x01\x00\x02\x00"), SOCKS5_REFUSE, SOCKS5_REP_ATYP_UNSUPPORTED, 0, NULL, 0, "ATYP 2" },
	{ M("\x05\x01\x01\x01\x0a\x00\x00\x01\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "RSV 1" },
	{ M("\x04\x01\x00\x01"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "version 4" },
	{ M("\x05\x01\x00\x03\x00\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "empty name" },
	{ M("\x05\x01\x00\x03\x05" "a b\r\n\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "space, CR LF" },
	{ M("\x05\x01\x00\x03\x03" "a:b\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "colon in name" },
	{ M("\x05\x01\x00\x03\x03" "a\x00" "b\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "NUL in name" },
	{ M("\x05\x01\x00\x03\x04\xc3\xa9t\xc3\x00\x50"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "UTF-8" },
	{ M("\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x00"), SOCKS5_REFUSE, SOCKS5_REP_FAILURE, 0, NULL, 0, "port 0" },
};

static void greetings(void)
{
	for (size_t i = 0; i < sizeof greets / sizeof greets[0]; i++) {
		const struct greet_case *c = &greets[i];
		size_t used = 0;
		CHECK(socks5_parse_greeting(c->b, c->n, &used) == c->want, "%s", c->what);
		if (c->want == SOCKS5_DONE) {
			CHECK(used == c->used, "%s: used %zu", c->what, used);
			CHECK(socks5_parse_greeting(c->b, c->n - 1, &used) == SOCKS5_NEED_MORE, "%s short", c->what);
		}
	}
}

static void auth(void)
{
	for (size_t i = 0; i < sizeof auths / sizeof auths[0]; i++) {
		const struct auth_case *c = &auths[i];
		struct socks5_cred cred;
		size_t used = 0;
		CHECK(socks5_parse_auth(c->b, c->n, &used, &cred) == c->want, "%s", c->what);
		if (c->want == SOCKS5_DONE) {
			CHECK(used == c->used, "%s: used %zu", c->what, used);
			CHECK_STR(cred.pass, c->pass, c->what);
			CHECK(socks5_parse_auth(c->b, c->n - 1, &used, &cred) == SOCKS5_NEED_MORE, "%s short", c->what);
		}
	}
	/* the longest: 255-byte user and password */
	uint8_t big[3 + 255 + 255];
	size_t used;
	struct socks5_cred cred;
	memset(big, 'x', sizeof big);
	big[0] = 1;
	big[1] = 255;
	big[2 + 255] = 255;
	CHECK(socks5_parse_auth(big, sizeof big, &used, &cred) == SOCKS5_DONE && used == sizeof big &&
		      cred.plen == 255 && strlen(cred.pass) == 255,
	      "255-byte fields");
}

static void requests(void)
{
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		const struct req_case *c = &reqs[i];
		struct socks5_req r;
		uint8_t rep = 0xee;
		size_t used = 0;
		CHECK(socks5_parse_request(c->b, c->n, &used, &r, &rep) == c->want, "%s", c->what);
		CHECK(rep == c->rep, "%s: rep %u", c->what, rep);
		if (c->want == SOCKS5_DONE) {
			CHECK(used == c->used, "%s: used %zu", c->what, used);
			CHECK_STR(r.host, c->host, c->what);
			CHECK(r.port == c->port, "%s: port %u", c->what, r.port);
			CHECK(socks5_parse_request(c->b, c->n - 1, &used, &r, &rep) == SOCKS5_NEED_MORE, "%s short",
			      c->what);
		}
	}
	/* a 255-byte name is over any DNS name: refused; 254 with a dot passes the parser */
	uint8_t b[4 + 1 + 255 + 2];
	size_t used;
	struct socks5_req r;
	uint8_t rep;
	memcpy(b, "\x05\x01\x00\x03", 4);
	memset(b + 5, 'a', 255);
	b[4] = 255;
	b[260] = 0;
	b[261] = 80;
	CHECK(socks5_parse_request(b, sizeof b, &used, &r, &rep) == SOCKS5_REFUSE, "255-byte name");
	b[4] = 254;
	b[259] = 0;
	b[260] = 80;
	CHECK(socks5_parse_request(b, sizeof b - 1, &used, &r, &rep) == SOCKS5_DONE && strlen(r.host) == 254,
	      "254-byte name reaches host_canon, which decides");
}

static void heads(void)
{
	struct socks5_req r = { .cmd = 1, .kind = HOST_DNS, .host = "example.com", .port = 443 };
	char out[1024];
	size_t len;
	CHECK(socks5_connect_head(&r, "alk_tok", 7, out, sizeof out, &len) == 0, "head");
	/* base64("socks5:alk_tok") */
	CHECK_STR(out, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
		       "Proxy-Authorization: Basic c29ja3M1OmFsa190b2s=\r\n\r\n", "CONNECT head");
	CHECK(len == strlen(out), "length");
	struct socks5_req r6 = { .cmd = 1, .kind = HOST_IPV6, .host = "::1", .port = 22 };
	CHECK(socks5_connect_head(&r6, "p", 1, out, sizeof out, &len) == 0 &&
		      strncmp(out, "CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n", 42) == 0,
	      "IPv6 in brackets: %s", out);
	CHECK(socks5_connect_head(&r, "alk_tok", 7, out, 40, &len) == AL_ETOOBIG, "short buffer");

	static const struct {
		int status;
		const char *reason;
		uint8_t rep;
	} reps[] = {
		{ 200, NULL, 0 }, { 403, "no-rule", 2 }, { 403, "denied-address", 2 }, { 407, "proxy-auth-failed", 2 },
		{ 502, "dns-failure", 4 }, { 502, "upstream-connect-failed", 5 }, { 504, "upstream-timeout", 6 },
		{ 429, "too-many-connections", 1 }, { 503, "total-connection-cap", 1 }, { 400, "bad-host", 1 },
	};
	for (size_t i = 0; i < sizeof reps / sizeof reps[0]; i++)
		CHECK(socks5_rep_for(reps[i].status, reps[i].reason ? reason_lookup(reps[i].reason, strlen(reps[i].reason)) : REASON_NONE) == reps[i].rep, "rep for %d %s", reps[i].status,
		      reps[i].reason ? reps[i].reason : "");

	int st;
	char reason[64];
	static const char a403[] = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Airlock-Reason: no-rule\r\n"
				   "X-Airlock-Request-Id: 1\r\n\r\n";
	CHECK(socks5_answer_parse(a403, sizeof a403 - 1, &st, reason, sizeof reason) == 0 && st == 403, "403");
	CHECK_STR(reason, "no-rule", "reason");
	static const char a200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	CHECK(socks5_answer_parse(a200, sizeof a200 - 1, &st, reason, sizeof reason) == 0 && st == 200 &&
		      reason[0] == '\0',
	      "200");
	CHECK(socks5_answer_parse("HTTP/1.0 200 x\r\n\r\n", 18, &st, reason, sizeof reason) < 0, "HTTP/1.0");
	CHECK(socks5_answer_parse("HTTP/1.1 2x0 x\r\n\r\n", 18, &st, reason, sizeof reason) < 0, "bad status");
	CHECK(socks5_answer_parse("HTTP/1.1 200", 12, &st, reason, sizeof reason) < 0, "short");

	uint8_t rep[10];
	socks5_reply(rep, SOCKS5_REP_NOT_ALLOWED);
	CHECK(memcmp(rep, "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", 10) == 0, "reply bytes");
	uint8_t r4[8];
	socks4_reject(r4);
	CHECK(memcmp(r4, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8) == 0, "SOCKS4 reject bytes");
	CHECK_STR(socks5_cmd_name(3), "UDP-ASSOCIATE", "command name");
	CHECK(socks5_cmd_name(9) == NULL, "unknown command name");
}

int main(void)
{
	greetings();
	auth();
	requests();
	heads();
	return unit_finish("test-socks5");
}
