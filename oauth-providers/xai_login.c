/* `airlock oauth xai`: the Grok CLI's public-client login, done by airlock
 * on the host. Discovery (endpoints must be https on x.ai), PKCE S256,
 * state and nonce, a one-shot libmicrohttpd listener on 127.0.0.1:56121
 * that refuses a wrong state, the code exchange; the RFC 8628 device flow
 * when the port cannot be bound. Blocking: this runs in the CLI. */
#include "config.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/jsonutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "oauth-providers/internal.h"
#include "oauth-providers/xai.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct login {
	const struct xai_login_opts *o;
	char issuer_host[256];
	bool custom_issuer;
	char *auth_ep, *token_ep, *device_ep;
	char verifier[64], challenge[64], state[32], nonce[32];
	char redirect[96];
	/* set by the listener thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *code;
	char error[160];
	bool result;   /* code or error recorded by the callback */
	bool done;     /* ... and its answer sent: the listener may stop */
};

static void say(const struct login *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct login *l, const char *fmt, ...)
{
	va_list ap;
	FILE *f = l->o->msg ? l->o->msg : stderr;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fflush(f);
}

static void rand_b64url(char *out, size_t cap, size_t nbytes)
{
	uint8_t raw[32];
	if (nbytes > sizeof raw || gnutls_rnd(GNUTLS_RND_NONCE, raw, nbytes) < 0 ||
	    b64_encode(raw, nbytes, true, out, cap) < 0)
		abort();
}

/* ---- endpoints ---- */

static int url_host(const char *url, char *host, size_t cap)
{
	if (!url || strncmp(url, "https://", 8) != 0)
		return AL_EINVAL;
	const char *p = url + 8;
	size_t n = strcspn(p, "/?#");
	if (n == 0 || n >= cap || memchr(p, '@', n))
		return AL_EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* The real issuer's endpoints must be on x.ai; a test issuer's on its own host. */
static int endpoint_ok(const struct login *l, const char *url)
{
	char host[256];
	if (!l->custom_issuer)
		return xai_endpoint_check(url);
	if (url_host(url, host, sizeof host) < 0 || strcmp(host, l->issuer_host) != 0)
		return AL_EINVAL;
	for (const char *q = url; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return AL_EINVAL;
	return 0;
}

static int discover(struct login *l, char *err, size_t errlen)
{
	struct oauth_http_req req = { 0 };
	struct oauth_http_resp resp = { 0 };
	json_t *doc = NULL;
	char url[512];
	int ret = AL_EPROTO;

	snprintf(url, sizeof url, "%s/.well-known/openid-configuration", l->o->issuer ? l->o->issuer
										     : XAI_ISSUER);
	req.method = xstrdup("GET");
	req.url = xstrdup(url);
	oa_req_header(&req, "Accept: application/json");
	if (oauth_http_perform(&l->o->http, &req, &resp) < 0) {
		oa_err(err, errlen, "discovery failed: %s", resp.error);
		ret = AL_EUNAVAIL;
		goto out;
	}
	if (resp.status != 200 ||
	    oa_parse_object(resp.body, resp.body_len, AL_OAUTH_RESPONSE_MAX, &doc, err, errlen) < 0) {
		oa_err(err, errlen, "discovery answered HTTP %ld, not a JSON document", resp.status);
		goto out;
	}
	const char *a = json_str(doc, "authorization_endpoint", NULL);
	const char *t = json_str(doc, "token_endpoint", NULL);
	const char *d = json_str(doc, "device_authorization_endpoint", NULL);
	if (!a || endpoint_ok(l, a) < 0) {
		oa_err(err, errlen, "discovery: authorization_endpoint missing or not https on x.ai");
		goto out;
	}
	if (!t || endpoint_ok(l, t) < 0) {
		oa_err(err, errlen, "discovery: token_endpoint missing or not https on x.ai");
		goto out;
	}
	l->auth_ep = xstrdup(a);
	l->token_ep = xstrdup(t);
	if (d && endpoint_ok(l, d) == 0)
		l->device_ep = xstrdup(d);
	ret = 0;
out:
	json_decref(doc);
	oauth_http_req_free(&req);
	oauth_http_resp_free(&resp);
	return ret;
}

/* ---- the loopback listener ---- */

static MHD_RESULT answer(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_RESULT ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct login *l = cls;

	if (strcmp(method, "OPTIONS") == 0) {
		/* xAI's consent page may preflight the loopback redirect */
		const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
									 MHD_RESPMEM_PERSISTENT);
		if (origin && (strcmp(origin, "https://accounts.x.ai") == 0 ||
			       strcmp(origin, "https://auth.x.ai") == 0)) {
			MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
			MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, OPTIONS");
			MHD_add_response_header(r, "Access-Control-Allow-Private-Network", "true");
		}
		MHD_RESULT ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
		MHD_destroy_response(r);
		return ret;
	}
	const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
	const char *error = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "error");
	struct xai_callback cb;
	pthread_mutex_lock(&l->mu);
	xai_callback_decide(method, url, state, code, error, l->state, l->result, &cb);
	if (cb.ends) {
		l->code = cb.code;
		snprintf(l->error, sizeof l->error, "%s", cb.error);
		l->result = true;
		/* the main thread stops the listener once this answer is sent
		 * (on_completed), not before: the browser gets its page */
		*con_cls = l;
	}
	pthread_mutex_unlock(&l->mu);
	if (cb.wrong_state)
		say(l, "airlock: refused a callback with a wrong state\n");
	return answer(c, cb.status, cb.text);
}

void xai_callback_decide(const char *method, const char *url, const char *state,
			 const char *code, const char *error, const char *want_state, bool over,
			 struct xai_callback *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(method, "GET") != 0) {
		out->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		out->text = "method not allowed\n";
		return;
	}
	if (strcmp(url, "/callback") != 0) {
		out->status = MHD_HTTP_NOT_FOUND;
		out->text = "not found\n";
		return;
	}
	/* a wrong state is someone else's redirect (login CSRF): refused,
	 * and the login goes on waiting for the right one */
	if (!state || strlen(state) != strlen(want_state) ||
	    !ct_memeq(state, want_state, strlen(want_state))) {
		out->wrong_state = true;
		out->status = MHD_HTTP_BAD_REQUEST;
		out->text = "state mismatch: this is not the login airlock started\n";
		return;
	}
	if (over) {
		out->status = MHD_HTTP_GONE;
		out->text = "this login is already complete\n";
		return;
	}
	out->ends = true;
	if (error) {
		snprintf(out->error, sizeof out->error, "xAI refused the login: %.64s", error);
		for (char *p = out->error; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	} else if (code && *code && strlen(code) < 4096) {
		out->code = xstrdup(code);
	} else {
		snprintf(out->error, sizeof out->error, "the callback carried no code");
	}
	if (!out->code) {   /* "complete" only when the login can go on */
		out->status = MHD_HTTP_BAD_REQUEST;
		out->text = "login failed; see the terminal\n";
		return;
	}
	out->status = MHD_HTTP_OK;
	out->text = "airlock: login complete. You can close this tab.\n";
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct login *l = cls;
	if (!*con_cls)
		return;
	pthread_mutex_lock(&l->mu);
	l->done = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static char *authorize_url(const struct login *l)
{
	const char *kv[] = { "response_type", "code", "client_id", XAI_CLIENT_ID, "redirect_uri",
			     l->redirect, "scope", XAI_SCOPES, "code_challenge", l->challenge,
			     "code_challenge_method", "S256", "state", l->state, "nonce", l->nonce,
			     "plan", "generic", "referrer", "airlock", NULL };
	char *q = oa_form(kv), *u;
	if (asprintf(&u, "%s%c%s", l->auth_ep, strchr(l->auth_ep, '?') ? '&' : '?', q) < 0)
		abort();
	free(q);
	return u;
}

/* 1 when the listener ran (code or error set), 0 when the port could not
 * be bound (device fallback), negative on timeout. */
static int loopback(struct login *l, char *err, size_t errlen)
{
	unsigned port = l->o->port ? l->o->port : XAI_LOOPBACK_PORT;
	int timeout = l->o->timeout_s > 0 ? l->o->timeout_s : XAI_LOGIN_TIMEOUT_S;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, on_request, l,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_LIMIT, 8u,
		MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
		MHD_OPTION_END);
	if (!d)
		return 0;
	snprintf(l->redirect, sizeof l->redirect, "http://127.0.0.1:%u/callback", port);
	char *url = authorize_url(l);
	say(l, "Open this URL in a browser on this machine to log in to xAI:\n\n  %s\n\n"
	       "Waiting for the redirect to %s (%d s)...\n", url, l->redirect, timeout);
	if (l->o->on_url)
		l->o->on_url(l->o->arg, url);
	free(url);

	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout;
	pthread_mutex_lock(&l->mu);
	while (!l->done)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &until) != 0)
			break;
	bool done = l->result;
	l->result = true;   /* late callbacks are told the login is over */
	pthread_mutex_unlock(&l->mu);
	MHD_stop_daemon(d);
	if (!done) {
		oa_err(err, errlen, "timed out after %d s waiting for the browser", timeout);
		return AL_ETIMEOUT;
	}
	return 1;
}

/* ---- token endpoint ---- */

static int token_call(struct login *l, const char *const *kv, struct oauth_http_resp *resp)
{
	struct oauth_http_req req = { 0 };
	oa_req_form(&req, l->token_ep, oa_form(kv));
	int ret = oauth_http_perform(&l->o->http, &req, resp);
	oauth_http_req_free(&req);
	return ret;
}

static int make_output(struct login *l, const json_t *body, int64_t now, json_t **out, char *err,
		       size_t errlen)
{
	const char *at, *rt, *idt;
	int64_t ein;
	bool has;
	char ts[AL_TIME_STR_MAX], es[AL_TIME_STR_MAX];

	if (oa_string(body, "answer", "access_token", OA_REQUIRED | OA_HEADER, &at, err, errlen) < 0 ||
	    oa_string(body, "answer", "refresh_token", OA_REQUIRED | OA_HEADER, &rt, err, errlen) < 0 ||
	    oa_string(body, "answer", "id_token", 0, &idt, err, errlen) < 0 ||
	    oa_int(body, "answer", "expires_in", &ein, &has, err, errlen) < 0)
		return AL_EPROTO;
	int64_t exp = has && ein > 0 ? now + ein : oa_jwt_exp(at);
	if (!exp)
		exp = now + 3600;
	time_format(now, ts);
	time_format(exp, es);
	*out = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:s}", "type", "oauth-xai",
			 "access_token", at, "refresh_token", rt, "id_token", idt, "token_type",
			 "Bearer", "token_endpoint", l->token_ep, "obtained_at", ts, "expires_at",
			 es);
	return 0;
}

static int exchange_code(struct login *l, json_t **out, char *err, size_t errlen)
{
	struct oauth_http_resp resp = { 0 };
	struct oauth_result res;
	json_t *body = NULL;
	const char *kv[] = { "grant_type", "authorization_code", "code", l->code, "redirect_uri",
			     l->redirect, "client_id", XAI_CLIENT_ID, "code_verifier", l->verifier,
			     NULL };
	int ret = token_call(l, kv, &resp);
	if (ret < 0) {
		oa_err(err, errlen, "token endpoint: %s", resp.error);
		goto out;
	}
	if ((ret = oa_classify(&resp, &body, &res)) < 0)
		goto out;
	if (res.outcome != OAUTH_OK) {
		oa_err(err, errlen, "token endpoint refused the code: %s", res.reason);
		ret = AL_EDENIED;
		goto out;
	}
	ret = make_output(l, body, (int64_t)time(NULL), out, err, errlen);
out:
	oauth_json_free(body);
	oauth_http_resp_free(&resp);
	return ret;
}

static int device_flow(struct login *l, json_t **out, char *err, size_t errlen)
{
	struct oauth_http_req req = { 0 };
	struct oauth_http_resp resp = { 0 };
	json_t *dev = NULL;
	int ret = AL_EPROTO;

	if (!l->device_ep) {
		oa_err(err, errlen, "cannot listen on 127.0.0.1 and the issuer offers no device flow");
		return AL_EUNAVAIL;
	}
	const char *kv[] = { "client_id", XAI_CLIENT_ID, "scope", XAI_SCOPES, NULL };
	oa_req_form(&req, l->device_ep, oa_form(kv));
	if (oauth_http_perform(&l->o->http, &req, &resp) < 0) {
		oa_err(err, errlen, "device endpoint: %s", resp.error);
		ret = AL_EUNAVAIL;
		goto out;
	}
	if (resp.status != 200 ||
	    oa_parse_object(resp.body, resp.body_len, AL_OAUTH_RESPONSE_MAX, &dev, err, errlen) < 0) {
		oa_err(err, errlen, "device endpoint answered HTTP %ld", resp.status);
		goto out;
	}
	const char *dc = json_str(dev, "device_code", NULL), *uc = json_str(dev, "user_code", NULL);
	const char *vu = json_str(dev, "verification_uri_complete", NULL);
	if (!vu)
		vu = json_str(dev, "verification_uri", NULL);
	long long interval = json_int(dev, "interval", 5);
	long long life = json_int(dev, "expires_in", 600);
	if (!dc || !uc || !vu) {
		oa_err(err, errlen, "device endpoint: answer lacks device_code, user_code or "
			"verification_uri");
		goto out;
	}
	if (interval < 1 || interval > 60)
		interval = 5;
	say(l, "Open %s and enter the code %s to log in to xAI.\n", vu, uc);
	if (l->o->on_url)
		l->o->on_url(l->o->arg, vu);
	time_t end = time(NULL) + (life > 0 && life < 3600 ? life : 600);
	while (time(NULL) < end) {
		struct oauth_result res;
		json_t *body = NULL;
		oauth_http_resp_free(&resp);
		sleep((unsigned)interval);
		const char *pk[] = { "grant_type", "urn:ietf:params:oauth:grant-type:device_code",
				     "device_code", dc, "client_id", XAI_CLIENT_ID, NULL };
		if (token_call(l, pk, &resp) < 0)
			continue;   /* network blips: keep polling until the code expires */
		if (resp.status == 200 && oa_classify(&resp, &body, &res) == 0 &&
		    res.outcome == OAUTH_OK) {
			ret = make_output(l, body, (int64_t)time(NULL), out, err, errlen);
			oauth_json_free(body);
			goto out;
		}
		json_t *e = NULL;
		char e2[32];
		(void)!oa_parse_object(resp.body, resp.body_len, AL_OAUTH_RESPONSE_MAX, &e, e2,
				       sizeof e2);
		const char *code = json_str(e, "error", "");
		if (strcmp(code, "slow_down") == 0) {
			interval += 5;
		} else if (strcmp(code, "authorization_pending") != 0) {
			oa_err(err, errlen, "device login failed: %s",
			       *code ? (strcmp(code, "expired_token") == 0 ? "the code expired"
				       : strcmp(code, "access_denied") == 0 ? "access denied"
				       : "the token endpoint refused it")
				     : "unexpected answer");
			json_decref(e);
			ret = AL_EDENIED;
			goto out;
		}
		json_decref(e);
	}
	oa_err(err, errlen, "the device code expired before the login completed");
	ret = AL_ETIMEOUT;
out:
	json_decref(dev);
	oauth_http_req_free(&req);
	oauth_http_resp_free(&resp);
	return ret;
}

int xai_login(const struct xai_login_opts *o, json_t **out, char *err, size_t errlen)
{
	struct login l;
	uint8_t digest[32];
	int ret;

	*out = NULL;
	memset(&l, 0, sizeof l);
	l.o = o;
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.cv, NULL);
	if (o->issuer && strcmp(o->issuer, XAI_ISSUER) != 0) {
		if (url_host(o->issuer, l.issuer_host, sizeof l.issuer_host) < 0) {
			oa_err(err, errlen, "--issuer must be an https URL");
			ret = AL_EINVAL;
			goto out;
		}
		l.custom_issuer = true;
	}
	/* PKCE S256: 32 random bytes as the verifier, SHA-256 as the challenge */
	rand_b64url(l.verifier, sizeof l.verifier, 32);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, l.verifier, strlen(l.verifier), digest) < 0 ||
	    b64_encode(digest, sizeof digest, true, l.challenge, sizeof l.challenge) < 0)
		abort();
	rand_b64url(l.state, sizeof l.state, 16);
	rand_b64url(l.nonce, sizeof l.nonce, 16);
	if ((ret = discover(&l, err, errlen)) < 0)
		goto out;
	ret = o->device ? 0 : loopback(&l, err, errlen);
	if (ret < 0)
		goto out;
	if (ret == 0) {
		if (!o->device)
			say(&l, "airlock: cannot listen on 127.0.0.1:%u; using the device flow\n",
			    o->port ? o->port : XAI_LOOPBACK_PORT);
		ret = device_flow(&l, out, err, errlen);
		goto out;
	}
	if (!l.code) {
		oa_err(err, errlen, "%s", l.error);
		ret = AL_EDENIED;
		goto out;
	}
	ret = exchange_code(&l, out, err, errlen);
out:
	if (l.code)
		secure_free_str(l.code);
	secure_wipe(l.verifier, sizeof l.verifier);
	free(l.auth_ep);
	free(l.token_ep);
	free(l.device_ep);
	pthread_mutex_destroy(&l.mu);
	pthread_cond_destroy(&l.cv);
	return ret;
}
