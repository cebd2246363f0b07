/* Reflected credentials (scrub.c): an origin that echoes a request (debug
 * endpoints, httpbin-style APIs, error pages quoting the request, a
 * redirect carrying a token) would hand the secret airlock injected
 * straight back to the sandbox. For a response to an injected request,
 * every form in which airlock sent the secret is replaced, in the head and
 * in the body stream, by a placeholder of the same length (so lengths and
 * frames stay valid), across any read, TLS record or chunk boundary. */
#ifndef AIRLOCK_ENFORCER_SCRUB_H
#define AIRLOCK_ENFORCER_SCRUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct inject;

/* Forms shorter than this are not scrubbed: a few bytes would turn up in
 * ordinary bodies by chance, and a secret that short is no secret. */
#define SCRUB_MIN_LEN 8
/* At most this many forms (an injection adds a handful of headers). */
#define SCRUB_PATTERNS_MAX 16

struct scrub_pat {
	char *s;                      /* secret bytes: wiped when freed */
	size_t len;
};

struct scrub {
	struct scrub_pat pats[SCRUB_PATTERNS_MAX];
	size_t npats;
	size_t maxlen;                /* the longest form */
	size_t minlen;                /* the shortest form */
	char *work;                   /* held-back tail + the bytes being scanned */
	uint8_t *marks;               /* per byte of work: part of a form */
	size_t wlen, wcap;
	bool in_form;                 /* the last byte replaced ended a run of marks? */
	size_t off_in_form;           /* placeholder position in the current run */
	uint64_t count;               /* runs of replaced bytes so far */
};

/* Emit bytes that are final (no form can straddle them any more). */
typedef int (*scrub_emit)(void *arg, const char *p, size_t n);

/* The forms of the secret in inj's added headers: for Authorization (and
 * Proxy-Authorization) the credentials after the scheme word, and for
 * Basic also "user:pass" and the password; for a header whose name says it
 * holds a credential (…key…, …token…, …secret…, …auth…, cookie, session)
 * its whole value. Other added headers (an account id, a beta flag) are
 * not secret and stay. Returns the number of forms (0: nothing to do), or
 * AL_ERANGE when there are more than SCRUB_PATTERNS_MAX (the response
 * cannot be scrubbed: refuse it). */
int scrub_init(struct scrub *s, const struct inject *inj) AL_MUST_CHECK;
/* Add one form by hand (tests). AL_ERANGE past SCRUB_PATTERNS_MAX. */
int scrub_add(struct scrub *s, const char *v, size_t n) AL_MUST_CHECK;
/* Replace every form inside buf (n bytes, in place): a whole header value. */
void scrub_inplace(struct scrub *s, char *buf, size_t n);
/* Stream n more bytes: the ones that are final go to emit; an end that
 * could begin a form (at most maxlen - 1 bytes) waits for the next piece. */
int scrub_feed(struct scrub *s, const char *in, size_t n, scrub_emit emit, void *arg) AL_MUST_CHECK;
/* The stream ended: emit what was held back (it holds no whole form). */
int scrub_flush(struct scrub *s, scrub_emit emit, void *arg) AL_MUST_CHECK;
/* Wipe the forms and the buffered bytes. */
void scrub_free(struct scrub *s);

#endif
