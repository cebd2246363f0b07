/* Request heads written upstream (reqhead.c): what is forwarded, what is
 * dropped, what is injected. */
#ifndef AIRLOCK_ENFORCER_REQHEAD_H
#define AIRLOCK_ENFORCER_REQHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netmatch.h"
#include "enforcer/http.h"

/* A growing byte buffer (heads we write; always NUL-terminated). */
struct sbuf {
	char *p;
	size_t len, cap;
};
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_str(struct sbuf *b, const char *s);
void sbuf_header(struct sbuf *b, const struct http_msg *m, size_t i);

/* Headers a request carries upstream in place of the sandbox's credentials
 * (the broker's "headers" answer). Values are secret: wiped when freed. */
struct inject_hdr {
	char *name;
	char *value;
	size_t vlen;
};
struct inject {
	struct inject_hdr *add, *merge;
	size_t nadd, nmerge;
	char **strip;
	size_t nstrip;
	bool oauth;                   /* an OAuth credential: an upstream 401 becomes a 503 */
	bool borrowed;                /* the arrays and strings are a kept answer's (askcache.h): not freed here */
};

/* One request to send upstream, whatever brought it (plain proxy request or
 * an inner request of an intercepted tunnel). */
struct fwd_req {
	const char *host;             /* canonical */
	enum host_kind kind;
	uint16_t port;
	bool tls;
	const char *path;             /* normalised */
	const char *query;            /* "?..." or NULL */
	size_t qlen;
	bool websocket;               /* keep "Upgrade: websocket" and "Connection: Upgrade" */
	const struct inject *inj;     /* NULL: nothing injected */
};

/* Chunked bodies are re-chunked piece by piece as llhttp hands them on:
 * CHUNK_HEAD_MAX bytes hold the head of one chunk. */
#define CHUNK_HEAD_MAX 24
#define CHUNK_TAIL "\r\n"
#define CHUNK_LAST "0\r\n\r\n"
/* The head of one chunk of n > 0 bytes ("%zx\r\n") into buf; its length. */
size_t chunk_head(char buf[CHUNK_HEAD_MAX], size_t n);

/* GET with "Upgrade: websocket" and "Connection: upgrade". */
bool reqhead_is_websocket(const struct http_msg *m);
/* Append the upstream head for r (method, m's end-to-end headers) to out.
 * The result may hold a secret: wipe it (secure_free) when done. */
void reqhead_build(struct sbuf *out, const struct http_msg *m, const char *method, const struct fwd_req *r);

#endif
