/* The request head airlock writes upstream, built from the head the sandbox
 * sent as llhttp parsed it: origin form with the normalised path that was
 * matched, our own Host, no hop-by-hop header (so "Upgrade: h2c" never goes
 * upstream), and, when a secret is injected, the sandbox's credential
 * headers (Authorization, Proxy-Authorization, the broker's strip list and
 * the names it adds) replaced by the broker's, with its merge list folded
 * into the sandbox's own field. Shared by plain forwarding and the inner
 * requests of an intercepted tunnel. */
#include "config.h"

#include "enforcer/reqhead.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	/* not realloc: a head may hold an injected secret, and the old block
	 * must be wiped, not left behind in freed memory */
	xgrow_secure(&b->p, &b->cap, b->len, b->len + n + 1, 1024);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_header(struct sbuf *b, const struct http_msg *m, size_t i)
{
	sbuf_add(b, http_name(m, i), m->hdrs[i].nlen);
	sbuf_add(b, ": ", 2);
	sbuf_add(b, http_value(m, i), m->hdrs[i].vlen);
	sbuf_add(b, "\r\n", 2);
}

size_t chunk_head(char buf[CHUNK_HEAD_MAX], size_t n)
{
	return (size_t)snprintf(buf, CHUNK_HEAD_MAX, "%zx\r\n", n);
}

bool reqhead_is_websocket(const struct http_msg *m)
{
	long u = http_find(m, "upgrade", 0), k = http_find(m, "connection", 0);
	return m->p.method == HTTP_GET && u >= 0 && k >= 0 &&
	       http_list_has(http_value(m, (size_t)u), m->hdrs[u].vlen, "websocket") &&
	       http_list_has(http_value(m, (size_t)k), m->hdrs[k].vlen, "upgrade");
}

static bool name_in(const char *name, size_t nlen, char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == nlen && strncasecmp(list[i], name, nlen) == 0)
			return true;
	return false;
}

static bool header_is_credential(const struct http_msg *m, size_t i, const struct inject *inj)
{
	if (!inj)
		return false;
	if (http_name_is(m, i, "authorization") || http_name_is(m, i, "proxy-authorization"))
		return true;
	if (name_in(http_name(m, i), m->hdrs[i].nlen, inj->strip, inj->nstrip))
		return true;
	for (size_t k = 0; k < inj->nadd; k++)
		if (http_name_is(m, i, inj->add[k].name))
			return true;
	return false;
}

/* Does a comma-separated list hold tok (case-insensitive, spaces trimmed)? */
static bool list_has_exact(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && v[j] != ',')
			j++;
		size_t a = i, e = j;
		while (a < e && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (e > a && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - a == tl && strncasecmp(v + a, tok, tl) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

/* merge: the request's NAME fields joined into one, TOKEN appended unless
 * already there; "NAME: TOKEN" when the request has none. */
static void add_merged(struct sbuf *b, const struct http_msg *m, const struct inject_hdr *mg)
{
	struct sbuf v = { 0 };
	bool has = false;
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (!http_name_is(m, i, mg->name))
			continue;
		if (v.len)
			sbuf_add(&v, ", ", 2);
		sbuf_add(&v, http_value(m, i), m->hdrs[i].vlen);
		has = has || list_has_exact(http_value(m, i), m->hdrs[i].vlen, mg->value);
	}
	sbuf_str(b, mg->name);
	sbuf_add(b, ": ", 2);
	if (v.len)
		sbuf_add(b, v.p, v.len);
	if (!has) {
		if (v.len)
			sbuf_add(b, ", ", 2);
		sbuf_add(b, mg->value, mg->vlen);
	}
	sbuf_add(b, "\r\n", 2);
	if (v.p)
		secure_free(v.p, v.cap);
}

static bool name_is_merged(const struct http_msg *m, size_t i, const struct inject *inj)
{
	for (size_t k = 0; inj && k < inj->nmerge; k++)
		if (http_name_is(m, i, inj->merge[k].name))
			return true;
	return false;
}

/* What would make an answer to an injected request unscannable: the
 * sandbox's own Accept-Encoding (ours says identity) and WebSocket
 * extensions (permessage-deflate compresses the frames). */
static bool not_scannable(const struct http_msg *m, size_t i)
{
	return http_name_is(m, i, "accept-encoding") || http_name_is(m, i, "sec-websocket-extensions");
}

void reqhead_build(struct sbuf *out, const struct http_msg *m, const char *method, const struct fwd_req *r)
{
	const struct inject *inj = r->inj;
	struct sbuf b = *out;
	sbuf_str(&b, method);
	sbuf_add(&b, " ", 1);
	sbuf_str(&b, r->path);
	if (r->query)
		sbuf_add(&b, r->query, r->qlen);
	sbuf_str(&b, " HTTP/1.1\r\nHost: ");
	if (r->kind == HOST_IPV6)
		sbuf_add(&b, "[", 1);
	sbuf_str(&b, r->host);
	if (r->kind == HOST_IPV6)
		sbuf_add(&b, "]", 1);
	if (r->port != (r->tls ? 443 : 80)) {
		char pb[8];
		snprintf(pb, sizeof pb, ":%u", (unsigned)r->port);
		sbuf_str(&b, pb);
	}
	sbuf_add(&b, "\r\n", 2);
	for (size_t i = 0; i < m->nhdrs; i++)
		if (!http_is_hop(m, i) && !http_is_framing(m, i) && !http_name_is(m, i, "host") &&
		    !header_is_credential(m, i, inj) && !name_is_merged(m, i, inj) &&
		    !(inj && not_scannable(m, i)))
			sbuf_header(&b, m, i);
	/* an answer to an injected request is scanned for the secret
	 * (scrub.h): it must come uncompressed */
	if (inj)
		sbuf_str(&b, "Accept-Encoding: identity\r\n");
	for (size_t k = 0; inj && k < inj->nadd; k++) {
		sbuf_str(&b, inj->add[k].name);
		sbuf_add(&b, ": ", 2);
		sbuf_add(&b, inj->add[k].value, inj->add[k].vlen);
		sbuf_add(&b, "\r\n", 2);
	}
	for (size_t k = 0; inj && k < inj->nmerge; k++)
		add_merged(&b, m, &inj->merge[k]);
	/* the framing is what llhttp parsed, written by us: the sandbox's own
	 * framing headers never go upstream, so nothing it spells can make the
	 * origin delimit the body differently from the bytes we forward */
	if (http_is_chunked(m)) {
		sbuf_str(&b, "Transfer-Encoding: chunked\r\n");
	} else if (http_has_length(m)) {
		char cl[48];
		snprintf(cl, sizeof cl, "Content-Length: %" PRIu64 "\r\n", m->p.content_length);
		sbuf_str(&b, cl);
	}
	/* Connection is per hop: the sandbox closing its connection says
	 * nothing about ours, which stays open for its next request or its
	 * next connection (uppool.h) */
	if (r->websocket)
		sbuf_str(&b, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
	sbuf_add(&b, "\r\n", 2);
	*out = b;
}
