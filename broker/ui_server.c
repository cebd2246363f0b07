/* The gate of the --ui-listen listener. A browser reaches it, so it trusts
 * nothing the API socket may: a page from another origin may send it
 * requests (CSRF) or, through DNS rebinding, read its answers. Hence: the
 * Host must be an IP literal or localhost; every API call needs the login
 * token (an HttpOnly SameSite=Strict cookie set by POST /ui/login, or a
 * bearer), compared in constant time; every write needs the X-Airlock-UI
 * header (which no cross-origin form can send, and no cross-origin fetch can
 * without a CORS preflight that nothing here answers) and, when the browser
 * names one, an Origin equal to the Host; and only the calls the page makes
 * pass, none that answers a token (POST clients) or changes a secret. */
#include "config.h"

#include "broker/ui.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/api.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/token.h"
#include "common/xmalloc.h"

#define UI_HOST_MAX 256             /* a Host header's name part */
#define UI_COOKIE_VALUE_MAX (AL_TOKEN_MAX + 128)
#define UI_COOKIE_MAX_AGE "43200"   /* 12 h, then log in again */

struct ui_gate {
	uint8_t hash[TOKEN_HASH_LEN];
};

/* What the page calls: "*" is one path segment. */
static const struct {
	const char *method;
	const char *path;
} allowed[] = {
	{ "GET", "/proxy/v1/status" },
	{ "GET", "/proxy/v1/clients" },
	{ "GET", "/proxy/v1/clients/*" },
	{ "GET", "/proxy/v1/secrets" },
	{ "GET", "/proxy/v1/decisions" },
	{ "POST", "/proxy/v1/allows" },
	{ "POST", "/proxy/v1/allows/revoke" },
	{ "GET", "/proxy/v1/approvals" },
	{ "POST", "/proxy/v1/approvals/*" },
};

static const struct json_field login_fields[] = {
	{ "token", JF_STRING, true, 0, 0, AL_TOKEN_MAX, 0 },
};

const struct api_body_table api_ui_bodies[] = {
	{ "POST /ui/login", login_fields, ARRAY_SIZE(login_fields) },
	{ NULL, NULL, 0 },
};

struct ui_gate *ui_gate_new(const char *token)
{
	struct ui_gate *g = xcalloc(1, sizeof *g);
	token_hash(token, strlen(token), g->hash);
	return g;
}

void ui_gate_free(struct ui_gate *g)
{
	if (!g)
		return;
	secure_wipe(g->hash, sizeof g->hash);
	free(g);
}

void ui_security_headers(struct MHD_Response *resp)
{
	/* the page is its own three files: nothing inline, nothing from
	 * elsewhere, never framed, no form posts anywhere */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
				"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

static bool path_matches(const char *pattern, const char *url)
{
	while (*pattern && *url) {
		if (*pattern == '*') {
			size_t n = strcspn(url, "/");
			if (n == 0)
				return false;
			url += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *url++)
			return false;
	}
	return *pattern == '\0' && *url == '\0';
}

/* An IP literal or localhost: a name that DNS rebinding cannot point here. */
static bool host_ok(const char *host)
{
	char name[UI_HOST_MAX];
	unsigned char addr[16];
	const char *end;

	if (!host || !*host)
		return false;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || (size_t)(end - host - 1) >= sizeof name)
			return false;
		memcpy(name, host + 1, (size_t)(end - host - 1));
		name[end - host - 1] = '\0';
		end++;
		return (*end == '\0' || *end == ':') && inet_pton(AF_INET6, name, addr) == 1;
	}
	end = strchr(host, ':');
	size_t n = end ? (size_t)(end - host) : strlen(host);
	if (n >= sizeof name)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return strcasecmp(name, "localhost") == 0 || inet_pton(AF_INET, name, addr) == 1;
}

static bool token_ok(const struct ui_gate *g, const char *tok, size_t len)
{
	uint8_t h[TOKEN_HASH_LEN];
	if (!tok || len == 0 || len > AL_TOKEN_MAX)
		return false;
	token_hash(tok, len, h);
	bool ok = ct_memeq(h, g->hash, sizeof h);
	secure_wipe(h, sizeof h);
	return ok;
}

static bool authenticated(const struct ui_gate *g, struct MHD_Connection *conn)
{
	const char *c = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, UI_COOKIE);
	if (c)
		return token_ok(g, c, strlen(c));
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (a && strncasecmp(a, "Bearer ", 7) == 0)
		return token_ok(g, a + 7, strlen(a + 7));
	return false;
}

/* A write must come from the page itself: the custom header, and an Origin
 * (browsers send one on every POST) naming this very host. */
static bool csrf_ok(struct MHD_Connection *conn, const char *host)
{
	const char *x = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, UI_CSRF_HEADER);
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (!x || strcmp(x, "1") != 0)
		return false;
	if (!origin)
		return true;
	return strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

static void login(struct ui_gate *g, struct MHD_Connection *conn, const char *body, size_t len,
		  struct api_answer *ans)
{
	char err[256], cookie[UI_COOKIE_VALUE_MAX];
	json_t *obj = NULL;

	if (json_parse_object(body ? body : "", len, AL_UI_LOGIN_BODY_MAX, &obj, err, sizeof err) < 0 ||
	    json_validate(obj, login_fields, ARRAY_SIZE(login_fields), "", err, sizeof err) < 0) {
		api_error(ans, 400, "the body must be {\"token\": \"...\"}");
		goto out;
	}
	json_t *t = json_object_get(obj, "token");
	const char *tok = json_string_value(t);
	if (!token_ok(g, tok, json_string_length(t))) {
		log_warn("ui: login refused: wrong token");
		api_error(ans, 401, "wrong token");
		goto out;
	}
	snprintf(cookie, sizeof cookie, UI_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=" UI_COOKIE_MAX_AGE,
		 tok);
	api_header_str(ans, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	secure_wipe(cookie, sizeof cookie);
	log_info("ui: logged in");
	api_no_content(ans);
out:
	if (json_is_object(obj)) {
		json_t *v = json_object_get(obj, "token");
		if (json_is_string(v))
			secure_wipe((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(obj);
	(void)conn;
}

bool ui_gate(struct ui_gate *g, struct MHD_Connection *conn, const char *url, const char *method,
	     const char *body, size_t len, struct api_answer *ans)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (!host_ok(host)) {
		api_error(ans, 403, "the Host must be localhost or an IP address");
		return true;
	}
	if (!get && !csrf_ok(conn, host)) {
		api_error(ans, 403, "a write needs the " UI_CSRF_HEADER " header and this page's Origin");
		return true;
	}
	if (strcmp(url, "/ui/login") == 0 || strcmp(url, "/ui/logout") == 0) {
		if (strcmp(method, "POST") != 0) {
			api_error(ans, 405, "only POST here");
		} else if (strcmp(url, "/ui/login") == 0) {
			login(g, conn, body, len, ans);
		} else {
			api_header_str(ans, MHD_HTTP_HEADER_SET_COOKIE,
				       UI_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
			api_no_content(ans);
		}
		return true;
	}
	for (const struct ui_asset *a = ui_assets; a->path; a++) {
		if (strcmp(url, a->path) != 0)
			continue;
		if (!get) {
			api_error(ans, 405, "only GET here");
			return true;
		}
		/* the files carry nothing private: the page asks for the token */
		ans->status = 200;
		ans->text = xmalloc(a->len + 1);
		memcpy(ans->text, a->data, a->len + 1);
		ans->text_len = a->len;
		ans->content_type = a->type;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		if (strcmp(allowed[i].method, method) != 0 || !path_matches(allowed[i].path, url))
			continue;
		if (!authenticated(g, conn)) {
			api_error(ans, 401, "log in first (the token of `airlock ui token`)");
			return true;
		}
		return false;
	}
	api_error(ans, 404, "not on this listener");
	return true;
}
