/* Interception of a CONNECT whose rule needs to see inside (methods, paths,
 * a secret), or that audit mode reads before refusing: answer 200, terminate
 * the sandbox's TLS with a leaf minted for the CONNECT host (an SNI naming
 * any other host fails the handshake), then check each inner request on its
 * own against the worker's current policy, pinned to the CONNECT target,
 * ask the broker for the secret's headers when the rule injects one, and
 * hand the request to forward.c's pump (forward_send) over our own verified
 * TLS connection to the address that passed the deny check (upstream.c). A request to an OAuth token
 * endpoint of a client that injects a secret is first offered to the broker
 * (token shim): when it answers, airlock answers the sandbox itself. */
#include "config.h"

#include "enforcer/mitm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/askcache.h"
#include "enforcer/conn.h"
#include "enforcer/h2.h"
#include "enforcer/ipc_client.h"
#include "enforcer/leafcache.h"
#include "enforcer/hold.h"
#include "enforcer/policy.h"
#include "enforcer/tlsconf.h"
#include "enforcer/tlsio.h"
#include "enforcer/worker.h"

struct mitm {
	char host[AL_HOST_BUF];        /* the CONNECT target, canonical */
	enum host_kind kind;
	uint16_t port;
	uint64_t connect_rule;
	bool audit;                    /* no rule: log the first request, refuse it */
	enum reason audit_reason;
	struct leaf *leaf;
	struct broker_ask *ask;
	/* the request waiting for the broker (its checked path is c->d.path) */
	const char *query;             /* into c->req's arena (stable while paused) */
	size_t qlen;
	bool websocket;
	char secret[AL_NAME_MAX + 1];
	int target_rc;                 /* mitm_target()'s verdict on the request */
	enum reason target_reason;
};

static void deny(struct conn *c, int status, enum reason reason, bool keep)
{
	c->d.verdict = "deny";
	conn_reply(c, status, reason, NULL, keep);
}

/* The CONNECT itself is refused (before any 200): the connection goes back
 * to reading proxy requests. */
static void refuse(struct conn *c, int status, enum reason reason)
{
	mitm_free(c);
	deny(c, status, reason, true);
}

/* ---- inner request targets ---- */

int mitm_target(const char *url, size_t ulen, const char *hostval, size_t hlen, bool has_host,
		const char *host, uint16_t port, char path[AL_PATH_MAX + 1], const char **query,
		enum reason *reason)
{
	char h[AL_HOST_BUF];
	enum host_kind kind;
	uint16_t p;
	const char *rest = url;
	size_t rlen = ulen;

	*query = NULL;
	if (ulen >= 8 && strncasecmp(url, "https://", 8) == 0) {
		/* absolute form: accepted when it names the tunnel's own host */
		const char *auth = url + 8;
		size_t alen = 0;
		while (8 + alen < ulen && auth[alen] != '/' && auth[alen] != '?')
			alen++;
		if (authority_parse(auth, alen, 443, h, &kind, &p) < 0 || strcmp(h, host) != 0 || p != port) {
			*reason = REASON_HOST_MISMATCH;
			return AL_EDENIED;
		}
		rest = auth + alen;
		rlen = ulen - 8 - alen;
	} else if (ulen == 0 || url[0] != '/') {
		*reason = REASON_BAD_URL;
		return AL_EINVAL;
	}
	if (memchr(url, '#', ulen)) {
		*reason = REASON_BAD_URL;
		return AL_EINVAL;
	}
	if (has_host) {
		if (authority_parse(hostval, hlen, 443, h, &kind, &p) < 0 || strcmp(h, host) != 0 || p != port) {
			*reason = REASON_HOST_MISMATCH;
			return AL_EDENIED;
		}
	} else if (rest == url) {
		*reason = REASON_MISSING_HOST;
		return AL_EINVAL;
	}
	if (rlen == 0 || rest[0] == '?') {
		char tmp[AL_PATH_MAX + 2];
		if (rlen + 1 > AL_PATH_MAX) {
			*reason = REASON_BAD_PATH;
			return AL_EINVAL;
		}
		tmp[0] = '/';
		memcpy(tmp + 1, rest, rlen);
		const char *q;
		if (path_normalise(tmp, rlen + 1, path, &q) < 0) {
			*reason = REASON_BAD_PATH;
			return AL_EINVAL;
		}
		*query = rlen ? rest : NULL;
		return 0;
	}
	if (path_normalise(rest, rlen, path, query) < 0) {
		*reason = REASON_BAD_PATH;
		return AL_EINVAL;
	}
	return 0;
}

/* ---- injection ---- */

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("!#$%&'*+-.^_`|~", *s) && !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
							 (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* Names the broker may not add: framing and hop-by-hop fields would let an
 * answer change how the request is delimited or upgraded. */
static bool name_allowed(const char *n)
{
	static const char *const refused[] = { "host", "content-length", "transfer-encoding", "connection",
					       "upgrade", "te", "trailer", "keep-alive", "http2-settings",
					       "expect" };
	if (strncasecmp(n, "proxy-", 6) == 0)
		return false;
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (strcasecmp(n, refused[i]) == 0)
			return false;
	return true;
}

static bool value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
			return false;
	return true;
}

void inject_free(struct inject *inj)
{
	if (inj->borrowed) {   /* a kept answer's (askcache.c): its slot is wiped there */
		memset(inj, 0, sizeof *inj);
		return;
	}
	for (size_t i = 0; i < inj->nadd; i++) {
		free(inj->add[i].name);
		secure_free(inj->add[i].value, inj->add[i].vlen);
	}
	for (size_t i = 0; i < inj->nmerge; i++) {
		free(inj->merge[i].name);
		secure_free(inj->merge[i].value, inj->merge[i].vlen);
	}
	for (size_t i = 0; i < inj->nstrip; i++)
		free(inj->strip[i]);
	free(inj->add);
	free(inj->merge);
	free(inj->strip);
	memset(inj, 0, sizeof *inj);
}

static int pairs_from(const json_t *arr, struct inject_hdr **out, size_t *n)
{
	size_t i;
	const json_t *e;
	*out = NULL;
	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > AL_INJECT_HEADERS_MAX)
		return AL_EPROTO;
	*out = xcalloc(json_array_size(arr) + 1, sizeof **out);
	json_array_foreach(arr, i, e) {
		const char *name = json_string_value(json_array_get(e, 0));
		const char *val = json_string_value(json_array_get(e, 1));
		if (!json_is_array(e) || json_array_size(e) != 2 || !name || !val || !is_token(name) ||
		    !name_allowed(name))
			return AL_EPROTO;
		size_t vl = json_string_length(json_array_get(e, 1));
		if (!value_ok(val, vl))
			return AL_EPROTO;
		(*out)[*n].name = xstrdup(name);
		(*out)[*n].value = xmalloc(vl + 1);
		memcpy((*out)[*n].value, val, vl + 1);
		(*out)[*n].vlen = vl;
		(*n)++;
	}
	return 0;
}

int inject_from_answer(const json_t *ans, struct inject *inj)
{
	size_t i;
	const json_t *e;
	int rc;
	memset(inj, 0, sizeof *inj);
	if (!json_is_object(ans) || !json_is_array(json_object_get(ans, "headers"))) {
		rc = AL_EPROTO;
		goto out;
	}
	if ((rc = pairs_from(json_object_get(ans, "headers"), &inj->add, &inj->nadd)) < 0 ||
	    (rc = pairs_from(json_object_get(ans, "merge"), &inj->merge, &inj->nmerge)) < 0)
		goto out;
	inj->oauth = json_is_true(json_object_get(ans, "oauth"));
	const json_t *strip = json_object_get(ans, "strip");
	if (strip) {
		if (!json_is_array(strip) || json_array_size(strip) > AL_INJECT_HEADERS_MAX) {
			rc = AL_EPROTO;
			goto out;
		}
		inj->strip = xcalloc(json_array_size(strip) + 1, sizeof *inj->strip);
		json_array_foreach(strip, i, e) {
			if (!json_is_string(e) || !is_token(json_string_value(e)) || !name_allowed(json_string_value(e))) {
				rc = AL_EPROTO;
				goto out;
			}
			inj->strip[inj->nstrip++] = xstrdup(json_string_value(e));
		}
	}
	/* A merge folds the sandbox's own field into what goes upstream: never
	 * for a field that carries a credential (Authorization, one the answer
	 * strips or adds), or the sandbox's placeholder would travel beside or
	 * inside the real credential. */
	for (i = 0; i < inj->nmerge; i++) {
		const char *n = inj->merge[i].name;
		bool cred = strcasecmp(n, "authorization") == 0;
		for (size_t k = 0; !cred && k < inj->nstrip; k++)
			cred = strcasecmp(n, inj->strip[k]) == 0;
		for (size_t k = 0; !cred && k < inj->nadd; k++)
			cred = strcasecmp(n, inj->add[k].name) == 0;
		if (cred) {
			rc = AL_EPROTO;
			goto out;
		}
	}
out:
	if (rc < 0)
		inject_free(inj);
	return rc;
}

/* ---- one inner request ---- */

static void send_upstream(struct conn *c, const struct inject *inj)
{
	struct mitm *m = c->mitm;
	struct fwd_req r = {
		.host = m->host, .kind = m->kind, .port = m->port, .tls = true, .path = c->d.path,
		.query = m->query, .qlen = m->qlen, .websocket = m->websocket, .inj = inj,
	};
	c->d.verdict = "allow";
	forward_send(c, &r);
}

static void on_headers(void *arg, const struct inject *inj, enum reason reason)
{
	struct conn *c = arg;
	c->mitm->ask = NULL;
	if (conn_ending(c))
		return;
	if (!inj) {
		int status = 503;
		const char *extra = NULL;
		if (reason == REASON_SECRET_NOT_FOUND || reason == REASON_SECRET_HOST_MISMATCH ||
		    reason == REASON_SECRET_SEAL_MISMATCH)
			status = 403;
		else if (reason == REASON_BROKER_ERROR)
			status = 502;
		else if (reason == REASON_CREDENTIAL_REFRESHING)
			extra = "Retry-After: 1\r\n";
		else if (reason == REASON_STORE_UNAVAILABLE)
			extra = "Retry-After: 5\r\n";
		c->d.verdict = "deny";
		conn_reply(c, status, reason, extra, true);
		return;
	}
	send_upstream(c, inj);
}

/* ---- the token shim ---- */

/* The OAuth token endpoints (oauth-providers/: claude.c, codex.c,
 * github-copilot.c, xai.c); the broker decides method, client and secret. */
static const struct {
	const char *host, *path;
} token_endpoints[] = {
	{ "platform.claude.com", "/v1/oauth/token" },
	{ "console.anthropic.com", "/v1/oauth/token" },
	{ "auth.openai.com", "/oauth/token" },
	{ "github.com", "/login/oauth/access_token" },
	{ "api.github.com", "/copilot_internal/v2/token" },
	{ "auth.x.ai", "/oauth2/token" },
};

static bool client_has_secret(const struct policy_client *cl)
{
	for (size_t i = 0; cl && i < cl->nrules; i++)
		if (cl->rules[i].secret)
			return true;
	return false;
}

bool mitm_shim_host(const struct policy_client *cl, const char *host, uint16_t port)
{
	if (port != 443 || !client_has_secret(cl))
		return false;
	for (size_t i = 0; i < sizeof token_endpoints / sizeof token_endpoints[0]; i++)
		if (strcmp(token_endpoints[i].host, host) == 0)
			return true;
	return false;
}

static bool shim_endpoint(const char *host, uint16_t port, const char *path)
{
	if (port != 443)
		return false;
	for (size_t i = 0; i < sizeof token_endpoints / sizeof token_endpoints[0]; i++)
		if (strcmp(token_endpoints[i].host, host) == 0 && strcmp(token_endpoints[i].path, path) == 0)
			return true;
	return false;
}

static void mitm_decide(struct conn *c);

static void on_shim(void *arg, const json_t *answer, enum reason reason)
{
	struct conn *c = arg;
	struct mitm *m = c->mitm;
	m->ask = NULL;
	if (conn_ending(c))
		return;
	if (!answer) {
		if (reason == REASON_NO_SHIM) {
			mitm_decide(c);   /* not ours to answer: the usual checks */
			return;
		}
		deny(c, reason == REASON_BROKER_ERROR ? 502 : 503, reason, true);
		return;
	}
	const char *body = json_string_value(json_object_get(answer, "body"));
	const char *sec = json_string_value(json_object_get(answer, "secret"));
	if (sec) {
		snprintf(m->secret, sizeof m->secret, "%s", sec);
		c->d.inject = m->secret;
	}
	/* answered here: the sandbox's own (refresh) token never leaves */
	c->d.verdict = "allow";
	conn_reply_body(c, (int)json_integer_value(json_object_get(answer, "status")), REASON_TOKEN_SHIM,
			json_string_value(json_object_get(answer, "content_type")), body, strlen(body), true);
}

void mitm_request(struct conn *c)
{
	struct mitm *m = c->mitm;
	const struct http_msg *req = &c->req;
	enum reason reason = REASON_NONE;

	c->d.scheme = "https";
	bytes_copy_str(c->d.client, sizeof c->d.client, c->who.name);
	bytes_copy_str(c->d.host, sizeof c->d.host, m->host);
	c->d.port = m->port;
	/* the client instance that opened this connection, by its token hash:
	 * a client deleted and created again under the same name is another
	 * one (worker.c closes the connection when the policy changes) */
	c->client = policy_client_by_id(c->pol, &c->who);
	if (!c->client) {
		deny(c, 403, REASON_CLIENT_REVOKED, false);
		return;
	}
	if (req->p.method == HTTP_CONNECT) {
		deny(c, 400, REASON_CONNECT_IN_TUNNEL, false);
		return;
	}
	if (req->p.method == HTTP_TRACE) {
		/* it would echo the injected credential back to the sandbox */
		c->d.verdict = "deny";
		conn_reply(c, 405, REASON_TRACE_REFUSED, "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n", true);
		return;
	}
	long hi = http_find(req, "host", 0);
	/* the normalised path lands in the decision itself: it is what is
	 * checked, logged and sent (no second copy per connection) */
	int rc = mitm_target(req->arena + req->url, req->url_len, hi >= 0 ? http_value(req, (size_t)hi) : NULL,
			     hi >= 0 ? req->hdrs[hi].vlen : 0, hi >= 0, m->host, m->port, c->d.path, &m->query, &reason);
	if (rc != 0) {   /* refused: log what was asked, not a half-normalised path */
		c->d.path[0] = '\0';
		if (req->url_len && req->arena[req->url] == '/')
			snprintf(c->d.path, sizeof c->d.path, "%.*s", (int)(req->url_len < AL_LOG_BAD_TARGET_MAX ? req->url_len : AL_LOG_BAD_TARGET_MAX),
				 req->arena + req->url);
	}
	m->qlen = m->query ? (size_t)(req->arena + req->url + req->url_len - m->query) : 0;
	m->target_rc = rc;
	m->target_reason = reason;

	if (rc == 0 && c->client && shim_endpoint(m->host, m->port, c->d.path) && client_has_secret(c->client)) {
		/* an OAuth token endpoint: the broker may answer it itself */
		if (broker_ask_shim(c->w, c->who.name, m->host, c->d.path, c->d.method, on_shim, c, &m->ask) < 0) {
			m->ask = NULL;
			deny(c, 503, REASON_BROKER_UNAVAILABLE, true);
		}
		return;
	}
	mitm_decide(c);
}

/* The inner request's target is parsed: audit, policy, secret. */
static void mitm_decide(struct conn *c)
{
	struct mitm *m = c->mitm;
	const struct http_msg *req = &c->req;
	int rc = m->target_rc;
	enum reason reason = m->target_reason;

	if (m->audit) {
		/* audit: log what the sandbox tried, refuse it, never dial out */
		c->d.verdict = "deny";
		conn_reply(c, 403, rc == 0 ? m->audit_reason : reason, NULL, false);
		return;
	}
	if (rc < 0) {
		/* a request aimed elsewhere than the approved target: the tunnel is done */
		if (rc == AL_EDENIED)
			deny(c, 403, reason, false);
		else
			deny(c, 400, reason, false);
		return;
	}

	const struct policy_rule *rule = NULL;
	reason = REASON_NO_RULE;
	struct policy_req pr = {
		.host = m->host, .port = m->port, .method = c->d.method, .path = c->d.path, .now = time_now(),
	};
	if (policy_decide(c->client, &pr, &rule, &reason) != POLICY_FORWARD) {
		if (hold_try(c, reason ? reason : REASON_NO_RULE, mitm_decide))
			return;   /* a person decides; approved, this runs again */
		deny(c, 403, reason ? reason : REASON_NO_RULE, true);
		return;
	}
	c->d.rule = rule->id;
	if (!conn_budget_admit(c, rule, true))
		return;
	m->websocket = reqhead_is_websocket(req);
	if (!rule->secret) {
		send_upstream(c, NULL);
		return;
	}
	bytes_copy_str(m->secret, sizeof m->secret, rule->secret);
	c->d.inject = m->secret;
	struct askcache_view view;
	struct inject kept;
	if (broker_headers_kept(c->w, m->secret, m->host, &view, &kept)) {
		/* asked within the last second: no round trip. kept is read in
		 * place from the cache's locked slot: forward_send copies what it
		 * needs (the head, the scrubber's forms) before anything can
		 * change the slot (only the loop's callbacks do) */
		send_upstream(c, &kept);
		inject_free(&kept);
		return;
	}
	if (broker_ask_headers(c->w, m->secret, m->host, on_headers, c, &m->ask) < 0) {
		m->ask = NULL;
		deny(c, 503, REASON_BROKER_UNAVAILABLE, true);
	}
}

/* ---- the TLS session toward the sandbox ---- */

static int on_client_hello(gnutls_session_t s)
{
	struct conn *c = gnutls_session_get_ptr(s);
	if (c && c->mitm && tlsconf_sni_check(s, c->mitm->host) < 0) {
		c->d.reason = REASON_SNI_MISMATCH;
		return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	return 0;
}

static void begin_tls(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct mitm *m = c->mitm;
	struct io *tio;
	int64_t t0 = time_mono_ms();
	int rc = leafcache_get(c->w->px->leaves, m->host, &m->leaf);
	if (rc < 0) {
		m->leaf = NULL;
		upstream_close(c);
		log_error("cannot mint a leaf", KV_S("host", m->host), KV_S("error", airlock_strerror(rc)));
		refuse(c, 502, REASON_LEAF_FAILED);
		return;
	}
	log_debug("leaf", KV_S("host", m->host), KV_I("ms", time_mono_ms() - t0));
	if (io_write(c->io, ok, sizeof ok - 1) < 0) {
		conn_abort(c);
		return;
	}
	c->d.bytes_down += sizeof ok - 1;
	if (c->pol) {
		policy_unref(c->pol);
		c->pol = NULL;
		c->client = NULL;
	}
	/* Until the handshake is done, a failure is logged with the host alone
	 * (a sandbox that does not trust the CA: nothing more is known). */
	c->d.verdict = "deny";
	c->d.reason = REASON_TLS_HANDSHAKE_FAILED;
	c->d.method[0] = '\0';
	c->d.status = 0;
	const char *early;
	size_t n;
	conn_take_input(c, &early, &n);
	if (tlsio_server(c->io, leaf_cred(m->leaf), true, &tio) < 0) {
		conn_abort(c);
		return;
	}
	gnutls_session_t s = tlsio_session(tio);
	gnutls_session_set_ptr(s, c);
	gnutls_handshake_set_post_client_hello_function(s, on_client_hello);
	conn_set_io(c, tio);
	tlsio_feed(tio, early, n);
}

void mitm_handshake_done(struct conn *c)
{
	/* the CONNECT itself leaves no line; each inner request will */
	c->d.verdict = NULL;
	c->d.reason = REASON_NONE;
	if (c->state != CS_HEAD || !tlsconf_alpn_is_h2(tlsio_session(c->io)))
		return;
	/* HTTP/2: each stream dials (or takes from the pool) its own
	 * upstream; the one dialled and verified for the CONNECT goes to the
	 * pool for the first stream to take */
	upstream_park_unused(c);
	if (h2_start(c) < 0)
		conn_abort(c);
}

void mitm_share(struct conn *c, const struct conn *parent)
{
	const struct mitm *p = parent->mitm;
	struct mitm *m = xcalloc(1, sizeof *m);
	snprintf(m->host, sizeof m->host, "%s", p->host);
	m->kind = p->kind;
	m->port = p->port;
	m->connect_rule = p->connect_rule;
	m->audit = p->audit;
	m->audit_reason = p->audit_reason;
	c->mitm = m;
}

static void on_upstream(struct conn *c, int status, enum reason reason)
{
	struct mitm *m = c->mitm;
	if (status < 0) {
		int code = upstream_fail_status(status, &reason);
		refuse(c, code, reason);
		return;
	}
	/* the policy may have changed while we resolved and dialled */
	if (!policy_rule_live(c->w->policy, &c->who, m->connect_rule, time_now())) {
		upstream_close(c);
		refuse(c, 403, REASON_RULE_REVOKED);
		return;
	}
	begin_tls(c);
}

void mitm_start(struct conn *c, const char *host, enum host_kind kind, uint16_t port, uint64_t rule_id,
		bool audit, enum reason audit_reason)
{
	if (!c->w->px->leaves) {
		c->d.rule = rule_id;
		deny(c, 403, REASON_NO_CA, true);
		return;
	}
	struct mitm *m = xcalloc(1, sizeof *m);
	snprintf(m->host, sizeof m->host, "%s", host);
	m->kind = kind;
	m->port = port;
	m->connect_rule = rule_id;
	m->audit = audit;
	m->audit_reason = audit_reason;
	c->mitm = m;
	c->d.rule = rule_id;
	c->d.scheme = "https";
	if (audit) {
		begin_tls(c);   /* audit never dials the upstream */
		return;
	}
	/* dial (and verify) the origin first: a denied address or a bad
	 * certificate is answered on the CONNECT, before any 200; or take the
	 * idle connection this client left to it (dialled and verified then;
	 * a policy change since would have closed it) */
	if (upstream_take_pooled(c, host, kind, port, true, on_upstream)) {
		on_upstream(c, 0, REASON_NONE);
		return;
	}
	upstream_open(c, host, kind, port, true, on_upstream);
}

void mitm_abort(struct conn *c)
{
	if (c->mitm && c->mitm->ask) {
		broker_ask_cancel(c->mitm->ask);
		c->mitm->ask = NULL;
	}
}

void mitm_free(struct conn *c)
{
	struct mitm *m = c->mitm;
	if (!m)
		return;
	mitm_abort(c);
	leaf_unref(m->leaf);
	free(m);
	c->mitm = NULL;
}
