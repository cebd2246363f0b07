/* HTTP/1.1 heads with llhttp (strict: no lenient flag is ever set) and the
 * extra strictness a proxy needs (in a proxy every leniency is a smuggling
 * bug). The head is collected into a per-message arena that grows up to
 * the head cap; names and values are NUL-terminated there. Requests pause
 * at the end of the head and at the end of the message, so the owner
 * decides before any body byte moves and never parses a pipelined request
 * before the previous answer is done. */
#include "config.h"

#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/netmatch.h"
#include "common/xmalloc.h"

static struct http_msg *M(llhttp_t *p) { return p->data; }

static int fail(struct http_msg *m, int status, enum reason reason)
{
	if (!m->err_status) {
		m->err_status = status;
		m->err_reason = reason;
	}
	return HPE_USER;
}

/* Append to the arena (growing by doubling up to the head cap); false past
 * the cap. One byte is always kept for a terminating NUL. */
static bool arena_put(struct http_msg *m, const char *at, size_t n)
{
	size_t need = m->alen + n + 1;
	if (need > m->acap)
		return false;
	if (need > m->aalloc) {
		size_t a = m->aalloc ? m->aalloc : 1024;
		while (a < need)
			a *= 2;
		if (a > m->acap)
			a = m->acap;
		m->arena = xrealloc(m->arena, a);
		m->aalloc = a;
	}
	memcpy(m->arena + m->alen, at, n);
	m->alen += n;
	return true;
}

static bool arena_nul(struct http_msg *m)
{
	if (m->alen + 1 > m->acap)
		return false;
	if (!arena_put(m, "", 0))
		return false;
	m->arena[m->alen++] = '\0';
	return true;
}

static int on_message_begin(llhttp_t *p)
{
	struct http_msg *m = M(p);
	m->phase = MSG_HEAD;
	m->alen = 0;
	m->nhdrs = 0;
	m->url = m->url_len = 0;
	m->reason = m->reason_len = 0;
	m->in_value = false;
	m->in_field = false;
	m->trailer_bytes = 0;
	m->tlen = 0;
	m->tin_field = false;
	return 0;
}

static void trailer_put(struct http_msg *m, const char *at, size_t n)
{
	xgrow(&m->trailers, &m->tcap, m->tlen + n, 256);
	memcpy(m->trailers + m->tlen, at, n);
	m->tlen += n;
}

static int span(struct http_msg *m, const char *at, size_t n)
{
	if (m->phase != MSG_HEAD) {
		/* trailers: not kept, but bounded like a head */
		m->trailer_bytes += n;
		if (m->trailer_bytes > m->acap)
			return fail(m, 431, REASON_HEAD_TOO_LARGE);
		if (m->keep_trailers)
			trailer_put(m, at, n);
		return 0;
	}
	return arena_put(m, at, n) ? 0 : fail(m, 431, REASON_HEAD_TOO_LARGE);
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
	struct http_msg *m = M(p);
	if (m->url_len == 0 && m->phase == MSG_HEAD)
		m->url = (uint32_t)m->alen;
	m->url_len += (uint32_t)n;
	return span(m, at, n);
}

static int on_url_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	if (m->url_len == 0)
		m->url = (uint32_t)m->alen;
	return arena_nul(m) ? 0 : fail(m, 431, REASON_HEAD_TOO_LARGE);
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
	struct http_msg *m = M(p);
	if (m->reason_len == 0 && m->phase == MSG_HEAD)
		m->reason = (uint32_t)m->alen;
	m->reason_len += (uint32_t)n;
	return span(m, at, n);
}

static int on_status_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	if (m->reason_len == 0)
		m->reason = (uint32_t)m->alen;
	return arena_nul(m) ? 0 : fail(m, 431, REASON_HEAD_TOO_LARGE);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct http_msg *m = M(p);
	if (m->phase != MSG_HEAD && !m->tin_field) {
		m->tin_field = true;
		m->tmark = m->tlen;
	}
	if (m->phase == MSG_HEAD && !m->in_field) {
		/* first piece of a new field (a field may arrive in several reads) */
		if (m->nhdrs >= m->max_hdrs)
			return fail(m, 431, REASON_TOO_MANY_HEADERS);
		if (m->nhdrs >= m->hdrs_alloc) {
			size_t a = m->hdrs_alloc ? m->hdrs_alloc * 2 : 16;
			if (a > m->max_hdrs)
				a = m->max_hdrs;
			m->hdrs = xrealloc(m->hdrs, a * sizeof *m->hdrs);
			m->hdrs_alloc = a;
		}
		m->hdrs[m->nhdrs].name = (uint32_t)m->alen;
		m->in_field = true;
	}
	return span(m, at, n);
}

static bool is_tchar(unsigned char c);

/* A trailer field that frames, routes or belongs to one hop is never
 * passed on (RFC 9110 6.5.1). */
static bool trailer_refused(const char *n, size_t len)
{
	static const char *const names[] = { "content-length", "transfer-encoding", "host", "connection", "te",
					     "trailer", "keep-alive", "upgrade", "authorization", "set-cookie" };
	if (len >= 6 && strncasecmp(n, "proxy-", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len && strncasecmp(n, names[i], len) == 0)
			return true;
	return false;
}

static int on_header_field_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	if (m->phase != MSG_HEAD) {
		m->tin_field = false;
		if (!m->keep_trailers)
			return 0;
		if (m->tlen == m->tmark)
			return fail(m, 400, REASON_BAD_TRAILER);
		for (size_t k = m->tmark; k < m->tlen; k++)
			if (!is_tchar((unsigned char)m->trailers[k]))
				return fail(m, 400, REASON_BAD_TRAILER);
		m->tdrop = trailer_refused(m->trailers + m->tmark, m->tlen - m->tmark);
		trailer_put(m, ": ", 2);
		m->tval = m->tlen;
		return 0;
	}
	if (!m->in_field)
		return fail(m, 400, REASON_BAD_REQUEST);   /* empty field name */
	m->in_field = false;
	struct http_hdr *h = &m->hdrs[m->nhdrs];
	h->nlen = (uint32_t)(m->alen - h->name);
	if (!arena_nul(m))
		return fail(m, 431, REASON_HEAD_TOO_LARGE);
	h->val = (uint32_t)m->alen;
	h->vlen = 0;
	m->in_value = true;
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
	return span(M(p), at, n);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	if (m->phase != MSG_HEAD) {
		if (!m->keep_trailers)
			return 0;
		for (size_t k = m->tval; k < m->tlen; k++) {
			unsigned char ch = (unsigned char)m->trailers[k];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(m, 400, REASON_BAD_TRAILER);
		}
		if (m->tdrop)
			m->tlen = m->tmark;
		else
			trailer_put(m, "\r\n", 2);
		return 0;
	}
	if (!m->in_value)
		return fail(m, 400, REASON_BAD_REQUEST);
	struct http_hdr *h = &m->hdrs[m->nhdrs];
	h->vlen = (uint32_t)(m->alen - h->val);
	if (!arena_nul(m))
		return fail(m, 431, REASON_HEAD_TOO_LARGE);
	m->in_value = false;
	m->nhdrs++;
	return 0;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The checks llhttp's strict mode does not do for us (or that we do not
 * want to depend on it doing). */
/* Headers that frame or route a message are end-to-end by nature: a
 * Connection header naming one would let a hop drop it while the bytes it
 * frames still flow, so the next hop reads them as another message. */
static const char *const never_hop[] = { "content-length", "transfer-encoding", "host" };

static bool nominates_never_hop(const struct http_msg *m, size_t i)
{
	const char *v = http_value(m, i);
	for (size_t k = 0; k < sizeof never_hop / sizeof never_hop[0]; k++)
		if (http_list_has(v, m->hdrs[i].vlen, never_hop[k]))
			return true;
	return false;
}

static enum reason head_check(struct http_msg *m)
{
	int ncl = 0, nte = 0, nhost = 0;
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct http_hdr *h = &m->hdrs[i];
		const unsigned char *n = (const unsigned char *)m->arena + h->name;
		const unsigned char *v = (const unsigned char *)m->arena + h->val;
		if (h->nlen == 0)
			return REASON_BAD_HEADER_NAME;
		for (size_t k = 0; k < h->nlen; k++)
			if (!is_tchar(n[k]))
				return REASON_BAD_HEADER_NAME;
		for (size_t k = 0; k < h->vlen; k++)
			if ((v[k] < 0x20 && v[k] != '\t') || v[k] == 0x7f)
				return REASON_BAD_HEADER_VALUE;
		if (strcasecmp((const char *)n, "content-length") == 0)
			ncl++;
		else if (strcasecmp((const char *)n, "transfer-encoding") == 0) {
			nte++;
			/* only one coding is ever accepted: a lone "chunked" */
			const char *s = (const char *)v;
			size_t len = h->vlen;
			while (len && (*s == ' ' || *s == '\t')) {
				s++;
				len--;
			}
			while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len != 7 || strncasecmp(s, "chunked", 7) != 0)
				return REASON_BAD_TRANSFER_ENCODING;
		} else if (strcasecmp((const char *)n, "host") == 0) {
			nhost++;
		} else if (strcasecmp((const char *)n, "connection") == 0 && nominates_never_hop(m, i)) {
			return REASON_BAD_CONNECTION_HEADER;
		}
	}
	if (ncl > 1)
		return REASON_DUPLICATE_CONTENT_LENGTH;
	if (nte > 1)
		return REASON_BAD_TRANSFER_ENCODING;
	if (ncl && nte)
		return REASON_CONTENT_LENGTH_WITH_TRANSFER_ENCODING;
	if (m->is_request && nhost > 1)
		return REASON_DUPLICATE_HOST;
	/* llhttp takes a request line without a version as HTTP/0.9 (no
	 * headers: what follows would be read as another message by the next
	 * hop), and "PRI * HTTP/2.0" as a request: only HTTP/1.0 and 1.1 are
	 * spoken here, and what is forwarded is written as HTTP/1.1 */
	if (m->p.http_major != 1 || m->p.http_minor > 1)
		return m->is_request ? REASON_BAD_VERSION : REASON_BAD_STATUS;
	/* llhttp 8.1 reads "HTTP/1.1  OK" as status 0: RFC 9110 15 allows
	 * 100-599 only, and we write the status we parsed */
	if (!m->is_request && (m->p.status_code < 100 || m->p.status_code > 599))
		return REASON_BAD_STATUS;
	return REASON_NONE;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	if (m->in_value)
		return fail(m, 400, REASON_BAD_REQUEST), -1;
	m->phase = MSG_BODY;
	enum reason bad = head_check(m);
	if (bad) {
		fail(m, bad == REASON_BAD_VERSION ? 505 : 400, bad);
		return -1;
	}
	return m->cb->on_head(m->arg);
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct http_msg *m = M(p);
	return m->cb->on_body ? m->cb->on_body(m->arg, at, n) : 0;
}

static int on_chunk_header(llhttp_t *p)
{
	struct http_msg *m = M(p);
	return m->cb->on_chunk_header ? m->cb->on_chunk_header(m->arg, p->content_length) : 0;
}

static int on_chunk_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	return m->cb->on_chunk_complete ? m->cb->on_chunk_complete(m->arg) : 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct http_msg *m = M(p);
	m->phase = MSG_DONE;
	return m->cb->on_complete ? m->cb->on_complete(m->arg) : 0;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
	.on_url_complete = on_url_complete,
	.on_status_complete = on_status_complete,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value_complete = on_header_value_complete,
	.on_chunk_header = on_chunk_header,
	.on_chunk_complete = on_chunk_complete,
};

void http_msg_init(struct http_msg *m, bool is_request, size_t max_head_bytes, size_t max_hdrs,
		   const struct http_msg_cb *cb, void *arg)
{
	memset(m, 0, sizeof *m);
	llhttp_init(&m->p, is_request ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
	m->p.data = m;
	m->is_request = is_request;
	m->acap = max_head_bytes;
	m->max_hdrs = max_hdrs;
	m->cb = cb;
	m->arg = arg;
	m->phase = MSG_IDLE;
	m->line_start = true;
}

void http_msg_free(struct http_msg *m)
{
	free(m->trailers);
	m->trailers = NULL;
	m->tlen = m->tcap = 0;
	free(m->arena);
	free(m->hdrs);
	m->arena = NULL;
	m->hdrs = NULL;
	m->aalloc = m->hdrs_alloc = 0;
}

void http_msg_release(struct http_msg *m)
{
	if (m->phase != MSG_IDLE && m->phase != MSG_DONE)
		return;
	http_msg_free(m);
	m->alen = 0;
	m->nhdrs = 0;
	m->url = m->url_len = 0;
	m->reason = m->reason_len = 0;
}

/* Line ends in a head are CRLF and nothing else, and no line starts with
 * whitespace: llhttp 8.1 in strict mode still accepts obsolete line folding
 * (and joins the lines), so it is refused here. */
static bool scan_line_ends(struct http_msg *m, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (m->prev_cr && c != '\n')
			return false;
		if (c == '\n' && !m->prev_cr)
			return false;
		if (c == '\0')
			return false;
		if (m->line_start && (c == ' ' || c == '\t'))
			return false;
		m->line_start = c == '\n';
		m->prev_cr = c == '\r';
	}
	return true;
}

enum http_feed http_msg_feed(struct http_msg *m, const char *data, size_t n, size_t *consumed)
{
	bool head = m->is_request && (m->phase == MSG_IDLE || m->phase == MSG_HEAD);
	llhttp_errno_t e = llhttp_execute(&m->p, data, n);
	size_t used;

	*consumed = 0;
	if (e == HPE_OK) {
		used = n;
	} else if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
		used = (size_t)(llhttp_get_error_pos(&m->p) - data);
	} else {
		if (!m->err_status) {
			m->err_status = 400;
			m->err_reason = e == HPE_UNEXPECTED_CONTENT_LENGTH ? REASON_CONTENT_LENGTH_WITH_TRANSFER_ENCODING
				      : e == HPE_INVALID_TRANSFER_ENCODING ? REASON_BAD_TRANSFER_ENCODING
				      : e == HPE_INVALID_CONTENT_LENGTH ? REASON_BAD_CONTENT_LENGTH
				      : e == HPE_INVALID_CHUNK_SIZE ? REASON_BAD_CHUNK
				      : e == HPE_INVALID_METHOD ? REASON_BAD_METHOD
				      : REASON_BAD_REQUEST;
		}
		return HTTP_FEED_ERROR;
	}
	if (head) {
		if (!scan_line_ends(m, data, used)) {
			m->err_status = 400;
			m->err_reason = REASON_BAD_LINE_ENDING;
			return HTTP_FEED_ERROR;
		}
		m->head_bytes += used;
		if (m->head_bytes > m->acap) {
			m->err_status = 431;
			m->err_reason = REASON_HEAD_TOO_LARGE;
			return HTTP_FEED_ERROR;
		}
	}
	*consumed = used;
	return e == HPE_OK ? HTTP_FEED_MORE : HTTP_FEED_PAUSED;
}

void http_msg_resume(struct http_msg *m)
{
	if (m->phase == MSG_DONE) {
		m->phase = MSG_IDLE;
		m->head_bytes = 0;
		m->prev_cr = false;
		m->line_start = true;
	}
	if (llhttp_get_errno(&m->p) == HPE_PAUSED_UPGRADE)
		llhttp_resume_after_upgrade(&m->p);
	else if (llhttp_get_errno(&m->p) == HPE_PAUSED)
		llhttp_resume(&m->p);
}

void http_msg_reset(struct http_msg *m)
{
	llhttp_reset(&m->p);
	m->p.data = m;
	m->phase = MSG_IDLE;
	m->head_bytes = 0;
	m->prev_cr = false;
	m->line_start = true;
	m->err_status = 0;
	m->err_reason = REASON_NONE;
}

bool http_msg_finish(struct http_msg *m)
{
	llhttp_errno_t e = llhttp_finish(&m->p);
	return e == HPE_OK || e == HPE_PAUSED;
}

bool http_name_is(const struct http_msg *m, size_t i, const char *name)
{
	return strcasecmp(http_name(m, i), name) == 0;
}

long http_find(const struct http_msg *m, const char *name, size_t from)
{
	/* hot (several lookups per header of every message): names of another
	 * length or first letter are skipped without a strcasecmp */
	size_t n = strlen(name);
	int first = name[0] | 0x20;
	for (size_t i = from; i < m->nhdrs; i++)
		if (m->hdrs[i].nlen == n && (m->arena[m->hdrs[i].name] | 0x20) == first && http_name_is(m, i, name))
			return (long)i;
	return -1;
}

bool http_list_has(const char *val, size_t len, const char *token)
{
	size_t tl = strlen(token);
	size_t i = 0;
	while (i < len) {
		while (i < len && (val[i] == ' ' || val[i] == '\t' || val[i] == ','))
			i++;
		size_t s = i;
		while (i < len && val[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (val[e - 1] == ' ' || val[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(val + s, token, tl) == 0)
			return true;
	}
	return false;
}

const char *http_method_str(const struct http_msg *m)
{
	return llhttp_method_name((llhttp_method_t)m->p.method);
}

bool http_is_chunked(const struct http_msg *m)
{
	return (m->p.flags & F_CHUNKED) != 0;
}

bool http_keep_alive(const struct http_msg *m)
{
	return llhttp_should_keep_alive(&m->p) != 0;
}

bool http_is_framing(const struct http_msg *m, size_t i)
{
	size_t n = m->hdrs[i].nlen;
	return (n == 14 && http_name_is(m, i, "content-length")) ||
	       (n == 17 && http_name_is(m, i, "transfer-encoding"));
}

bool http_has_length(const struct http_msg *m)
{
	return (m->p.flags & F_CONTENT_LENGTH) != 0;
}

bool http_is_hop(const struct http_msg *m, size_t i)
{
#define HOP(s) { s, sizeof s - 1 }
	static const struct { const char *s; size_t n; } hop[] = {
		HOP("connection"), HOP("keep-alive"), HOP("proxy-connection"), HOP("proxy-authorization"),
		HOP("proxy-authenticate"), HOP("te"), HOP("trailer"), HOP("transfer-encoding"), HOP("upgrade"),
	};
#undef HOP
	const char *n = http_name(m, i);
	size_t nlen = m->hdrs[i].nlen;
	/* called for every header of every forwarded message: compare only
	 * names of the same length */
	for (size_t k = 0; k < sizeof hop / sizeof hop[0]; k++)
		if (hop[k].n == nlen && (n[0] | 0x20) == hop[k].s[0] && strcasecmp(n, hop[k].s) == 0)
			return true;
	if (strncasecmp(n, "proxy-", 6) == 0)
		return true;
	/* framing and routing are never a hop's to drop (head_check refuses a
	 * Connection header that names one; this keeps the rule whatever the
	 * caller checked) */
	for (size_t k = 0; k < sizeof never_hop / sizeof never_hop[0]; k++)
		if (strcasecmp(n, never_hop[k]) == 0)
			return false;
	for (long c = http_find(m, "connection", 0); c >= 0; c = http_find(m, "connection", (size_t)c + 1))
		if (http_list_has(http_value(m, (size_t)c), m->hdrs[c].vlen, n))
			return true;
	return false;
}

/* Authority of a CONNECT target or an absolute URI. Userinfo and percent
 * signs are refused outright (host confusion); an IPv6 literal needs its
 * brackets; the host is canonicalised once, here. */
int authority_parse(const char *s, size_t n, uint16_t dflt, char host[AL_HOST_BUF], enum host_kind *kind,
		    uint16_t *port)
{
	char tmp[AL_HOST_BUF + 8], pbuf[8];
	size_t hlen;
	const char *p = NULL;
	size_t plen = 0;

	if (n == 0 || memchr(s, '@', n) || memchr(s, '%', n))
		return AL_EINVAL;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return AL_EINVAL;
		hlen = (size_t)(rb - s) + 1;
		if (hlen < n) {
			if (s[hlen] != ':')
				return AL_EINVAL;
			p = s + hlen + 1;
			plen = n - hlen - 1;
		}
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
			return AL_EINVAL;   /* an IPv6 literal needs brackets */
		hlen = colon ? (size_t)(colon - s) : n;
		if (colon) {
			p = colon + 1;
			plen = n - hlen - 1;
		}
	}
	if (hlen == 0 || hlen >= sizeof tmp)
		return AL_EINVAL;
	memcpy(tmp, s, hlen);
	tmp[hlen] = '\0';
	if (host_canon(tmp, hlen, host, kind) < 0)
		return AL_EINVAL;
	if (p) {
		if (plen == 0 || plen >= sizeof pbuf)
			return AL_EINVAL;
		memcpy(pbuf, p, plen);
		pbuf[plen] = '\0';
		if (port_parse(pbuf, port) < 0)
			return AL_EINVAL;
	} else {
		if (!dflt)
			return AL_EINVAL;
		*port = dflt;
	}
	return 0;
}
