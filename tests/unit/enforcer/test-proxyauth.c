/* enforcer/proxyauth.c: Basic (any user, the token as password) and Bearer,
 * and everything else refused; the token cap at AL_TOKEN_MAX and + 1. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/token.h"
#include "enforcer/proxyauth.h"
#include "tests/unit/unit.h"

struct row {
	const char *in;
	int rc;            /* 0 or < 0 */
	const char *tok;
};

static const struct row rows[] = {
	{ "Basic dTphbGtfeHl6", 0, "alk_xyz" },          /* u:alk_xyz */
	{ "basic   dTphbGtfeHl6  ", 0, "alk_xyz" },
	{ "Basic OmFsa194eXo=", 0, "alk_xyz" },          /* :alk_xyz (no user) */
	{ "Basic dTphOmI=", 0, "a:b" },                  /* u:a:b: the password keeps its colons */
	{ "Bearer alk_xyz", 0, "alk_xyz" },
	{ "BEARER alk_xyz", 0, "alk_xyz" },
	{ "Basic dXNlcg==", -1, NULL },                  /* "user": no colon */
	{ "Basic dTo=", -1, NULL },                      /* "u:": empty token */
	{ "Basic !!!!", -1, NULL },
	{ "Basic dTphbGtfeHl6 extra", -1, NULL },
	{ "Digest dTphbGtfeHl6", -1, NULL },
	{ "Bearer", -1, NULL },
	{ "Bearer ", -1, NULL },
	{ "", -1, NULL },
	{ "Basic dTphAWI=", -1, NULL },                  /* control byte in the token */
};

int main(void)
{
	char tok[AL_TOKEN_MAX + 1];
	size_t tl;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		int rc = proxyauth_parse(r->in, strlen(r->in), tok, &tl);
		CHECK((rc < 0) == (r->rc < 0), "'%s': rc %d", r->in, rc);
		if (rc == 0 && r->tok) {
			CHECK_STR(tok, r->tok, r->in);
			CHECK(tl == strlen(r->tok), "'%s': length", r->in);
		}
	}
	/* Bearer at the cap and one past it */
	char val[AL_TOKEN_MAX + 16];
	for (int extra = 0; extra < 2; extra++) {
		int n = snprintf(val, sizeof val, "Bearer ");
		memset(val + n, 'a', AL_TOKEN_MAX + (size_t)extra);
		val[n + AL_TOKEN_MAX + extra] = '\0';
		int rc = proxyauth_parse(val, strlen(val), tok, &tl);
		CHECK(extra ? rc == AL_ETOOBIG : rc == 0, "bearer of %d bytes: rc %d", AL_TOKEN_MAX + extra, rc);
	}
	/* Basic at the cap and one past it */
	for (int extra = 0; extra < 2; extra++) {
		char raw[AL_TOKEN_MAX + 8];
		raw[0] = 'u';
		raw[1] = ':';
		memset(raw + 2, 'b', AL_TOKEN_MAX + (size_t)extra);
		int n = snprintf(val, sizeof val, "Basic ");
		char b64[512];
		int bl = b64_encode((const uint8_t *)raw, 2 + AL_TOKEN_MAX + (size_t)extra, false, b64, sizeof b64);
		CHECK(bl > 0);
		char full[600];
		snprintf(full, sizeof full, "%.*s%s", n, val, b64);
		int rc = proxyauth_parse(full, strlen(full), tok, &tl);
		CHECK(extra ? rc == AL_ETOOBIG : rc == 0, "basic token of %d bytes: rc %d", AL_TOKEN_MAX + extra, rc);
	}
	return unit_finish("test-proxyauth");
}
