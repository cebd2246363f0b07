/* Shared by the differential fuzz targets: what an llhttp-based next hop
 * reads back from the bytes airlock wrote. A plain llhttp parser (strict,
 * no airlock callbacks) over the whole output, counting messages and
 * keeping the first one's method or status, URL and body. */
#ifndef AIRLOCK_FUZZ_REPARSE_H
#define AIRLOCK_FUZZ_REPARSE_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct reparse {
	llhttp_t p;
	llhttp_settings_t s;
	bool skip_body;          /* a response to HEAD */
	int messages;            /* complete messages */
	int heads;               /* heads seen */
	int status[8];           /* each head's status (responses) */
	int method;
	char url[64];
	size_t url_len;
	char *body;              /* bodies of the last message */
	size_t body_len, body_cap;
	int auth_headers;        /* Authorization fields seen */
	bool auth_ok;            /* ... each with the expected value */
	const char *auth_want;
	bool in_auth;
	char field[32];
	size_t field_len;
	char value[64];
	size_t value_len;
};

static inline struct reparse *reparse_of(llhttp_t *p) { return p->data; }

static inline int rp_on_url(llhttp_t *p, const char *at, size_t n)
{
	struct reparse *r = reparse_of(p);
	size_t k = n < sizeof r->url - r->url_len ? n : sizeof r->url - r->url_len;
	memcpy(r->url + r->url_len, at, k);
	r->url_len += k;
	return 0;
}

static inline int rp_on_field(llhttp_t *p, const char *at, size_t n)
{
	struct reparse *r = reparse_of(p);
	size_t k = n < sizeof r->field - r->field_len ? n : sizeof r->field - r->field_len;
	memcpy(r->field + r->field_len, at, k);
	r->field_len += k;
	return 0;
}

static inline int rp_on_field_done(llhttp_t *p)
{
	struct reparse *r = reparse_of(p);
	r->in_auth = r->field_len == 13 && strncasecmp(r->field, "authorization", 13) == 0;
	r->field_len = 0;
	r->value_len = 0;
	return 0;
}

static inline int rp_on_value(llhttp_t *p, const char *at, size_t n)
{
	struct reparse *r = reparse_of(p);
	size_t k = n < sizeof r->value - r->value_len ? n : sizeof r->value - r->value_len;
	memcpy(r->value + r->value_len, at, k);
	r->value_len += k;
	return 0;
}

static inline int rp_on_value_done(llhttp_t *p)
{
	struct reparse *r = reparse_of(p);
	if (r->in_auth) {
		r->auth_headers++;
		if (!r->auth_want || strlen(r->auth_want) != r->value_len ||
		    memcmp(r->value, r->auth_want, r->value_len) != 0)
			r->auth_ok = false;
	}
	r->in_auth = false;
	return 0;
}

static inline int rp_on_begin(llhttp_t *p)
{
	struct reparse *r = reparse_of(p);
	r->body_len = 0;
	return 0;
}

static inline int rp_on_headers(llhttp_t *p)
{
	struct reparse *r = reparse_of(p);
	if (r->heads < 8)
		r->status[r->heads] = p->status_code;
	r->heads++;
	r->method = p->method;
	/* as every HTTP client does (RFC 9112 6.3): no body after HEAD, 204
	 * or 304, whatever the head says */
	if (p->type == HTTP_RESPONSE && (p->status_code == 204 || p->status_code == 304))
		return 1;
	return r->skip_body && p->type == HTTP_RESPONSE && p->status_code >= 200 ? 1 : 0;
}

static inline int rp_on_body(llhttp_t *p, const char *at, size_t n)
{
	struct reparse *r = reparse_of(p);
	if (r->body_len + n > r->body_cap) {
		r->body_cap = (r->body_len + n) * 2;
		r->body = realloc(r->body, r->body_cap);
		if (!r->body)
			abort();
	}
	memcpy(r->body + r->body_len, at, n);
	r->body_len += n;
	return 0;
}

static inline int rp_on_complete(llhttp_t *p)
{
	reparse_of(p)->messages++;
	return 0;
}

static inline void reparse_init(struct reparse *r, bool request)
{
	memset(r, 0, sizeof *r);
	llhttp_settings_init(&r->s);
	r->s.on_message_begin = rp_on_begin;
	r->s.on_url = rp_on_url;
	r->s.on_header_field = rp_on_field;
	r->s.on_header_field_complete = rp_on_field_done;
	r->s.on_header_value = rp_on_value;
	r->s.on_header_value_complete = rp_on_value_done;
	r->s.on_headers_complete = rp_on_headers;
	r->s.on_body = rp_on_body;
	r->s.on_message_complete = rp_on_complete;
	llhttp_init(&r->p, request ? HTTP_REQUEST : HTTP_RESPONSE, &r->s);
	r->p.data = r;
	r->auth_ok = true;
}

static inline void reparse_free(struct reparse *r)
{
	free(r->body);
}

#endif
