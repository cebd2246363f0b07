/* One HTTP/1.1 message head at a time, parsed by llhttp in strict mode (no
 * lenient flag on), plus the checks llhttp leaves to us: caps on head bytes
 * and header count (431), one Content-Length, Transfer-Encoding only as a
 * single "chunked", header names that are tokens (so no whitespace before
 * the colon), no control bytes in values, no bare CR or LF line ends, one
 * Host. Bodies are not kept: their bytes and chunk boundaries are handed to
 * the owner as llhttp understood them, so whatever is forwarded is framed
 * exactly as parsed. */
#ifndef AIRLOCK_ENFORCER_HTTP_H
#define AIRLOCK_ENFORCER_HTTP_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/netmatch.h"
#include "common/reasons.h"

struct http_hdr {
	uint32_t name, nlen;    /* offsets into the arena */
	uint32_t val, vlen;
};

struct http_msg_cb {
	/* Head complete and checked. For requests return HPE_PAUSED (the owner
	 * decides asynchronously); for responses 0, or 1 for "no body" (HEAD). */
	int (*on_head)(void *arg);
	int (*on_body)(void *arg, const char *at, size_t n);
	int (*on_chunk_header)(void *arg, uint64_t size);   /* size 0: the last chunk */
	int (*on_chunk_complete)(void *arg);
	/* Return HPE_PAUSED to stop between messages (the owner resumes). */
	int (*on_complete)(void *arg);
};

enum http_phase { MSG_IDLE, MSG_HEAD, MSG_BODY, MSG_DONE };

struct http_msg {
	llhttp_t p;
	const struct http_msg_cb *cb;
	void *arg;
	bool is_request;
	enum http_phase phase;
	/* head collection */
	char *arena;
	size_t alen, aalloc, acap;  /* acap = head byte cap */
	size_t head_bytes;
	struct http_hdr *hdrs;
	size_t nhdrs, hdrs_alloc, max_hdrs;
	uint32_t url, url_len;
	uint32_t reason, reason_len; /* response status text */
	bool in_field, in_value;
	bool prev_cr, line_start;
	size_t trailer_bytes;
	/* trailers, kept when the owner asks (keep_trailers: responses that
	 * are passed on, for gRPC's status) as "name: value\r\n" lines, names
	 * tokens, values without control bytes, framing and hop-by-hop names
	 * dropped; bounded like a head */
	bool keep_trailers;
	char *trailers;
	size_t tlen, tcap, tmark, tval;
	bool tin_field, tdrop;
	/* error to answer with */
	int err_status;             /* 400 or 431 */
	enum reason err_reason;     /* log reason: bad-request, head-too-large, ... */
};

enum http_feed { HTTP_FEED_MORE, HTTP_FEED_PAUSED, HTTP_FEED_ERROR };

void http_msg_init(struct http_msg *m, bool is_request, size_t max_head_bytes, size_t max_hdrs,
		   const struct http_msg_cb *cb, void *arg);
void http_msg_free(struct http_msg *m);
/* Between messages (phase idle or done): free the head's buffers, so an
 * idle connection holds none; the next message allocates them again. */
void http_msg_release(struct http_msg *m);
/* Feed bytes. *consumed is how many the parser took (the rest must be fed
 * again after http_msg_resume). */
enum http_feed http_msg_feed(struct http_msg *m, const char *data, size_t n, size_t *consumed);
/* Continue after HTTP_FEED_PAUSED. */
void http_msg_resume(struct http_msg *m);
/* Forget the current message and expect a new one (after a CONNECT refusal). */
void http_msg_reset(struct http_msg *m);
/* The peer closed: true when that ends the message cleanly (EOF-delimited body). */
bool http_msg_finish(struct http_msg *m);

static inline const char *http_name(const struct http_msg *m, size_t i) { return m->arena + m->hdrs[i].name; }
static inline const char *http_value(const struct http_msg *m, size_t i) { return m->arena + m->hdrs[i].val; }
/* Index of the first header named `name` (case-insensitive) at or after
 * `from`, or -1. */
long http_find(const struct http_msg *m, const char *name, size_t from);
bool http_name_is(const struct http_msg *m, size_t i, const char *name);
/* Does a comma-separated header value list contain `token` (case-insensitive)? */
bool http_list_has(const char *val, size_t len, const char *token);
const char *http_method_str(const struct http_msg *m);
bool http_is_chunked(const struct http_msg *m);
bool http_keep_alive(const struct http_msg *m);

/* Hop-by-hop: Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding,
 * Upgrade, and any header named in Connection except the ones that frame or
 * route a message (Content-Length, Transfer-Encoding, Host): a head whose
 * Connection names one of those is refused by the parser
 * ("bad-connection-header"). */
bool http_is_hop(const struct http_msg *m, size_t i);
/* Content-Length or Transfer-Encoding: never copied from one hop to the
 * next; whoever forwards writes the framing it parsed (reqhead.h). */
bool http_is_framing(const struct http_msg *m, size_t i);
/* The head had a Content-Length (its value: m->p.content_length, valid
 * until the first body byte is parsed). */
bool http_has_length(const struct http_msg *m);

/* "host", "host:port", "[v6]:port" -> canonical host (host_canon); dflt 0:
 * the port is required (CONNECT). AL_EINVAL for anything else. */
int authority_parse(const char *s, size_t n, uint16_t dflt, char host[AL_HOST_BUF], enum host_kind *kind,
		    uint16_t *port) AL_MUST_CHECK;

#endif
