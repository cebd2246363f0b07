/* The headers-answer cache of one worker (askcache.h): fixed slots in one
 * mlock'ed, MADV_DONTDUMP mapping, each a key (secret, host), an expiry and
 * the answer as inject_from_answer() checked it: its names and values one
 * after the other, each NUL-terminated (a value holds no NUL, CR or LF), so
 * a hit is a table of pointers into the slot, with no JSON to parse again
 * and no copy of the secret. */
#include "config.h"

#include "enforcer/askcache.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "enforcer/reqhead.h"

struct slot {
	uint64_t expires;                 /* monotonic ms; 0: empty */
	char secret[AL_NAME_MAX + 1];
	char host[AL_HOST_MAX + 2];
	size_t len;                       /* bytes of text in use */
	uint16_t nadd, nmerge, nstrip;
	bool oauth;
	/* add (name, value)..., merge (name, value)..., strip name...: each NUL-terminated */
	char text[AL_ASK_CACHE_SLOT_BYTES];
};

struct askcache {
	struct slot *slots;               /* the locked mapping */
	size_t maplen;
};

struct askcache *askcache_new(void)
{
	static atomic_bool told;   /* one line for all the workers */
	size_t len = AL_ASK_CACHE_SLOTS * sizeof(struct slot);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* credentials: never in swap, never in a core */
	if (mlock(p, len) != 0 || madvise(p, len, MADV_DONTDUMP) != 0) {
		int e = errno;
		munmap(p, len);
		if (!atomic_exchange(&told, true))
			log_warn("no locked memory for the headers-answer cache; every injected request asks "
				 "the broker", KV_S("error", strerror(e)));
		return NULL;
	}
	struct askcache *ac = xcalloc(1, sizeof *ac);
	ac->slots = p;
	ac->maplen = len;
	return ac;
}

static void slot_wipe(struct slot *s)
{
	secure_wipe(s, sizeof *s);
}

void askcache_free(struct askcache *ac)
{
	if (!ac)
		return;
	secure_wipe(ac->slots, ac->maplen);
	munlock(ac->slots, ac->maplen);
	munmap(ac->slots, ac->maplen);
	free(ac);
}

static struct slot *find(struct askcache *ac, const char *secret, const char *host)
{
	for (size_t i = 0; i < AL_ASK_CACHE_SLOTS; i++) {
		struct slot *s = &ac->slots[i];
		if (s->expires && strcmp(s->secret, secret) == 0 && strcmp(s->host, host) == 0)
			return s;
	}
	return NULL;
}

bool askcache_get(struct askcache *ac, const char *secret, const char *host, uint64_t now,
		  struct askcache_view *view, struct inject *inj)
{
	memset(inj, 0, sizeof *inj);
	if (!ac)
		return false;
	struct slot *s = find(ac, secret, host);
	if (!s)
		return false;
	if (s->expires <= now) {
		slot_wipe(s);
		return false;
	}
	/* askcache_put keeps no list longer than the view holds */
	size_t npairs = (size_t)s->nadd + s->nmerge;
	struct inject_hdr *h = view->hdr;
	char *t = s->text;
	for (size_t i = 0; i < npairs; i++) {
		h[i].name = t;
		t += strlen(t) + 1;
		h[i].value = t;
		h[i].vlen = strlen(t);
		t += h[i].vlen + 1;
	}
	for (size_t i = 0; i < s->nstrip; i++) {
		view->strip[i] = t;
		t += strlen(t) + 1;
	}
	inj->add = s->nadd ? h : NULL;
	inj->merge = s->nmerge ? h + s->nadd : NULL;
	inj->nadd = s->nadd;
	inj->nmerge = s->nmerge;
	inj->strip = s->nstrip ? view->strip : NULL;
	inj->nstrip = s->nstrip;
	inj->oauth = s->oauth;
	inj->borrowed = true;
	return true;
}

/* Append v (n bytes and a NUL) to the slot's text; false when it is full. */
static bool text_put(struct slot *s, const char *v, size_t n)
{
	if (n >= sizeof s->text - s->len)
		return false;
	memcpy(s->text + s->len, v, n);
	s->text[s->len + n] = '\0';
	s->len += n + 1;
	return true;
}

static bool pairs_put(struct slot *s, const struct inject_hdr *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!text_put(s, h[i].name, strlen(h[i].name)) || memchr(h[i].value, '\0', h[i].vlen) ||
		    !text_put(s, h[i].value, h[i].vlen))
			return false;
	return true;
}

void askcache_put(struct askcache *ac, const char *secret, const char *host, uint64_t now,
		  const struct inject *inj)
{
	if (!ac || strlen(secret) > AL_NAME_MAX || strlen(host) > AL_HOST_MAX + 1 || inj->nadd > AL_INJECT_HEADERS_MAX ||
	    inj->nmerge > AL_INJECT_HEADERS_MAX || inj->nstrip > AL_INJECT_HEADERS_MAX)
		return;
	struct slot *s = find(ac, secret, host);
	for (size_t i = 0; !s && i < AL_ASK_CACHE_SLOTS; i++)
		if (!ac->slots[i].expires || ac->slots[i].expires <= now)
			s = &ac->slots[i];
	if (!s) {
		/* full: the one that expires first goes */
		s = &ac->slots[0];
		for (size_t i = 1; i < AL_ASK_CACHE_SLOTS; i++)
			if (ac->slots[i].expires < s->expires)
				s = &ac->slots[i];
	}
	slot_wipe(s);
	bool ok = pairs_put(s, inj->add, inj->nadd) && pairs_put(s, inj->merge, inj->nmerge);
	for (size_t i = 0; ok && i < inj->nstrip; i++)
		ok = text_put(s, inj->strip[i], strlen(inj->strip[i]));
	if (!ok) {
		slot_wipe(s);   /* too long to keep: asked every time */
		return;
	}
	s->nadd = (uint16_t)inj->nadd;
	s->nmerge = (uint16_t)inj->nmerge;
	s->nstrip = (uint16_t)inj->nstrip;
	s->oauth = inj->oauth;
	memcpy(s->secret, secret, strlen(secret) + 1);
	memcpy(s->host, host, strlen(host) + 1);
	s->expires = now + AL_ASK_CACHE_TTL_MS;
}

void askcache_drop(struct askcache *ac, const char *secret)
{
	if (!ac)
		return;
	for (size_t i = 0; i < AL_ASK_CACHE_SLOTS; i++) {
		struct slot *s = &ac->slots[i];
		if (s->expires && (!secret || strcmp(s->secret, secret) == 0))
			slot_wipe(s);
	}
}

uint64_t askcache_expire(struct askcache *ac, uint64_t now)
{
	uint64_t next = 0;
	if (!ac)
		return 0;
	for (size_t i = 0; i < AL_ASK_CACHE_SLOTS; i++) {
		struct slot *s = &ac->slots[i];
		if (!s->expires)
			continue;
		if (s->expires <= now)
			slot_wipe(s);
		else if (!next || s->expires < next)
			next = s->expires;
	}
	return next;
}
