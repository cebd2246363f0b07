/* Unit test of xai_callback_decide (oauth-providers/xai_login.c), the
 * loopback listener's decision on one request of the browser: which
 * request ends the login, with a code or an error, and what the browser
 * and the terminal are told. Table-driven; the last column is what the
 * terminal gets ("" with a code). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "oauth-providers/xai.h"
#include "tests/unit/unit.h"

#define STATE "q3V8-xk_2mZ0aLr9TfWc4A"

static void test_decide(void)
{
	static const struct {
		const char *what, *method, *url, *state, *code, *error;
		bool over;
		unsigned status;
		bool ends;
		const char *want_code, *want_error;
	} cases[] = {
		{ "the redirect", "GET", "/callback", STATE, "ac_123", NULL, false, 200, true, "ac_123", "" },
		{ "after the end", "GET", "/callback", STATE, "ac_123", NULL, true, 410, false, NULL, "" },
		{ "wrong state", "GET", "/callback", STATE "x", "ac_123", NULL, false, 400, false, NULL, "" },
		{ "no state", "GET", "/callback", NULL, "ac_123", NULL, false, 400, false, NULL, "" },
		{ "POST", "POST", "/callback", STATE, "ac_123", NULL, false, 405, false, NULL, "" },
		{ "other path", "GET", "/favicon.ico", STATE, "ac_123", NULL, false, 404, false, NULL, "" },
		{ "xAI's error", "GET", "/callback", STATE, NULL, "access_denied", false, 400, true, NULL,
		  "xAI refused the login: access_denied" },
		{ "error with controls", "GET", "/callback", STATE, NULL, "a\r\nb", false, 400, true, NULL,
		  "xAI refused the login: a??b" },
		{ "no code", "GET", "/callback", STATE, NULL, NULL, false, 400, true, NULL,
		  "the callback carried no code" },
		/* the browser was told "login complete" while the terminal said
		 * the login failed (fuzz-xai-callback) */
		{ "empty code", "GET", "/callback", STATE, "", NULL, false, 400, true, NULL,
		  "the callback carried no code" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct xai_callback cb;
		xai_callback_decide(cases[i].method, cases[i].url, cases[i].state, cases[i].code,
				    cases[i].error, STATE, cases[i].over, &cb);
		CHECK(cb.status == cases[i].status, "%s: status %u", cases[i].what, cb.status);
		CHECK(cb.ends == cases[i].ends, "%s: ends", cases[i].what);
		CHECK((cb.code == NULL) == (cases[i].want_code == NULL) &&
		      (!cb.code || strcmp(cb.code, cases[i].want_code) == 0), "%s: code", cases[i].what);
		CHECK(strcmp(cb.error, cases[i].want_error) == 0, "%s: error \"%s\"", cases[i].what,
		      cb.error);
		CHECK(cb.text && *cb.text, "%s: a body", cases[i].what);
		free(cb.code);
	}
	/* a code too long to be one */
	char *big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	struct xai_callback cb;
	xai_callback_decide("GET", "/callback", STATE, big, NULL, STATE, false, &cb);
	CHECK(cb.status == 400 && cb.ends && !cb.code, "a 4999-byte code is refused");
	free(big);
}

int main(void)
{
	test_decide();
	return unit_finish("test-xai-callback");
}
