/* Scrubbing reflected credentials out of responses (scrub.h). The forms of
 * the injected secret are few (a handful) and long (tens of bytes), so each
 * piece of a stream is scanned with memmem per form, longest first; a
 * match becomes a placeholder of the same length, made of characters that
 * are safe in JSON, headers and URLs, each differing from the byte it
 * replaces. Occurrences are found in the original bytes, overlapping ones
 * too, so none survives whole. Only the end of a piece that could begin
 * a form (a suffix that is a prefix of one) is held back, unreplaced, until
 * the next piece says whether it does.
 *
 * Most responses quote no form at all, so the common case is kept cheap: a
 * piece is first searched for each whole form (memmem, which skips along
 * the first byte), and when none is there and nothing was held back, the
 * piece goes out as it is, without a copy, a mark array or a byte loop;
 * only its held-back end (if any) is copied. A piece shorter than the
 * shortest form cannot hold one and is not searched. */
#include "config.h"

#include "enforcer/scrub.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/token.h"
#include "common/xmalloc.h"
#include "enforcer/reqhead.h"

static const char placeholder[] = "airlock-scrubbed-";

int scrub_add(struct scrub *s, const char *v, size_t n)
{
	if (n < SCRUB_MIN_LEN)
		return 0;
	for (size_t i = 0; i < s->npats; i++)
		if (s->pats[i].len == n && memcmp(s->pats[i].s, v, n) == 0)
			return 0;
	if (s->npats == SCRUB_PATTERNS_MAX)
		return AL_ERANGE;
	/* longest first: a form inside a longer one is replaced with it */
	size_t at = 0;
	while (at < s->npats && s->pats[at].len >= n)
		at++;
	memmove(&s->pats[at + 1], &s->pats[at], (s->npats - at) * sizeof s->pats[0]);
	s->pats[at].s = xmalloc(n);
	memcpy(s->pats[at].s, v, n);
	s->pats[at].len = n;
	s->npats++;
	if (n > s->maxlen)
		s->maxlen = n;
	if (!s->minlen || n < s->minlen)
		s->minlen = n;
	return 0;
}

static bool name_holds_credential(const char *n)
{
	static const char *const words[] = { "key", "token", "secret", "auth", "cookie", "session",
					     "password", "credential" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(n, words[i]))
			return true;
	return false;
}

/* "Scheme credentials": the credentials, and for Basic what they decode to. */
static int add_authorization(struct scrub *s, const char *v, size_t n)
{
	const char *sp = memchr(v, ' ', n);
	if (!sp)
		return scrub_add(s, v, n);
	const char *cred = sp + 1;
	size_t clen = n - (size_t)(cred - v);
	int rc = scrub_add(s, cred, clen);
	if (rc == 0 && (size_t)(sp - v) == 5 && strncasecmp(v, "basic", 5) == 0) {
		uint8_t dec[512];
		int dl = b64_decode(cred, clen, false, dec, sizeof dec);
		if (dl > 0) {
			rc = scrub_add(s, (const char *)dec, (size_t)dl);
			const char *colon = memchr(dec, ':', (size_t)dl);
			if (rc == 0 && colon)
				rc = scrub_add(s, colon + 1, (size_t)dl - (size_t)(colon + 1 - (const char *)dec));
		}
		secure_wipe(dec, sizeof dec);
	}
	return rc;
}

int scrub_init(struct scrub *s, const struct inject *inj)
{
	int rc = 0;
	memset(s, 0, sizeof *s);
	for (size_t i = 0; rc == 0 && inj && i < inj->nadd; i++) {
		const struct inject_hdr *h = &inj->add[i];
		if (strcasecmp(h->name, "authorization") == 0 || strcasecmp(h->name, "proxy-authorization") == 0)
			rc = add_authorization(s, h->value, h->vlen);
		else if (name_holds_credential(h->name))
			rc = scrub_add(s, h->value, h->vlen);
	}
	return rc < 0 ? rc : (int)s->npats;
}

/* Mark every byte of every occurrence of every form in buf[0, n) (step 1:
 * overlapping occurrences too, found in the original bytes), then replace
 * the marked bytes in buf[0, upto): each becomes a placeholder byte that
 * differs from the byte it replaces, so no occurrence survives whole. */
static void mark(const struct scrub *s, const char *buf, size_t n, uint8_t *marks)
{
	for (size_t k = 0; k < s->npats; k++) {
		const struct scrub_pat *p = &s->pats[k];
		size_t pos = 0;
		const char *hit;
		while (pos + p->len <= n && (hit = memmem(buf + pos, n - pos, p->s, p->len)) != NULL) {
			size_t at = (size_t)(hit - buf);
			memset(marks + at, 1, p->len);
			pos = at + 1;
		}
	}
}

static void replace(struct scrub *s, char *buf, const uint8_t *marks, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		if (!marks[i]) {
			s->in_form = false;
			continue;
		}
		if (!s->in_form) {
			s->count++;
			s->off_in_form = 0;
		}
		s->in_form = true;
		char c = placeholder[s->off_in_form++ % (sizeof placeholder - 1)];
		buf[i] = c != buf[i] ? c : 'X';   /* 'X' is not in the placeholder */
	}
}

/* Does buf[0, n) hold a whole form? */
static bool any_form(const struct scrub *s, const char *buf, size_t n)
{
	if (n < s->minlen)
		return false;
	for (size_t k = 0; k < s->npats; k++)
		if (s->pats[k].len <= n && memmem(buf, n, s->pats[k].s, s->pats[k].len))
			return true;
	return false;
}

void scrub_inplace(struct scrub *s, char *buf, size_t n)
{
	if (s->npats == 0 || !any_form(s, buf, n))
		return;
	uint8_t *marks = xcalloc(n, 1);
	bool was = s->in_form;
	size_t off = s->off_in_form;
	s->in_form = false;
	mark(s, buf, n, marks);
	replace(s, buf, marks, n);
	s->in_form = was;
	s->off_in_form = off;
	free(marks);
}

/* How many bytes at the end of the window could begin a form that ends in
 * a later piece: the longest suffix that is a proper prefix of some form.
 * Only those wait; everything else goes now, so an event stream (SSE, a
 * WebSocket) is not held up by the scrubbing. */
static size_t held_back(const struct scrub *s, const char *buf, size_t len)
{
	size_t keep = 0;
	for (size_t k = 0; k < s->npats; k++) {
		const struct scrub_pat *p = &s->pats[k];
		size_t most = p->len - 1 < len ? p->len - 1 : len;
		/* the longest such suffix starts at the leftmost place, among the
		 * last `most` bytes and left of the `keep` already found, where the
		 * form's first byte is: memchr finds those */
		const char *at = buf + len - most, *end = buf + len - keep;
		while (at < end && (at = memchr(at, p->s[0], (size_t)(end - at))) != NULL) {
			size_t n = (size_t)(buf + len - at);
			if (memcmp(at, p->s, n) == 0) {
				keep = n;
				break;
			}
			at++;
		}
	}
	return keep;
}

/* Room for need bytes in the work buffer, and as many marks. The work
 * buffer holds response bytes that may quote the secret before they are
 * replaced: grown by copy + wipe, never realloc. */
static void work_reserve(struct scrub *s, size_t need)
{
	size_t mcap = s->wcap;
	xgrow_secure(&s->work, &s->wcap, s->wlen, need, 2 * s->maxlen);
	if (s->wcap != mcap) {
		uint8_t *m = xcalloc(s->wcap, 1);
		if (s->marks)
			memcpy(m, s->marks, s->wlen);
		free(s->marks);
		s->marks = m;
	}
}

int scrub_feed(struct scrub *s, const char *in, size_t n, scrub_emit emit, void *arg)
{
	if (n == 0)
		return 0;
	if (s->npats == 0)
		return emit(arg, in, n);
	if (s->wlen == 0 && !any_form(s, in, n)) {
		/* nothing held back and no whole form here: what cannot begin
		 * a form goes out as it is; its end waits if it could */
		size_t keep = held_back(s, in, n), out = n - keep;
		int rc = out ? emit(arg, in, out) : 0;
		if (out)
			s->in_form = false;
		if (keep) {
			work_reserve(s, keep);
			memcpy(s->work, in + out, keep);
			memset(s->marks, 0, keep);
			s->wlen = keep;
		}
		return rc;
	}
	work_reserve(s, s->wlen + n);
	memcpy(s->work + s->wlen, in, n);
	memset(s->marks + s->wlen, 0, n);
	s->wlen += n;
	/* the held-back bytes are still the originals: an occurrence that
	 * began there is found whole now */
	mark(s, s->work, s->wlen, s->marks);
	size_t keep = held_back(s, s->work, s->wlen);
	size_t out = s->wlen - keep;
	replace(s, s->work, s->marks, out);
	int rc = out ? emit(arg, s->work, out) : 0;
	secure_wipe(s->work, out);
	memmove(s->work, s->work + out, keep);
	memmove(s->marks, s->marks + out, keep);
	s->wlen = keep;
	return rc;
}

int scrub_flush(struct scrub *s, scrub_emit emit, void *arg)
{
	if (s->wlen)
		replace(s, s->work, s->marks, s->wlen);
	int rc = s->wlen ? emit(arg, s->work, s->wlen) : 0;
	if (s->work)
		secure_free(s->work, s->wcap);
	free(s->marks);
	s->work = NULL;
	s->marks = NULL;
	s->wlen = s->wcap = 0;
	s->in_form = false;
	s->off_in_form = 0;
	return rc;
}

void scrub_free(struct scrub *s)
{
	for (size_t i = 0; i < s->npats; i++)
		secure_free(s->pats[i].s, s->pats[i].len);
	if (s->work)
		secure_free(s->work, s->wcap);
	free(s->marks);
	memset(s, 0, sizeof *s);
}
