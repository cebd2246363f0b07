/* The headers-answer cache of one worker (askcache.h): fixed slots in one
 * mlock'ed, MADV_DONTDUMP mapping, each a key (secret, host), an expiry and
 * the answer's JSON text written there directly (json_dumpb: no heap copy). */
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

struct slot {
	uint64_t expires;                 /* monotonic ms; 0: empty */
	char secret[AL_NAME_MAX + 1];
	char host[AL_HOST_MAX + 2];
	size_t len;
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

json_t *askcache_get(struct askcache *ac, const char *secret, const char *host, uint64_t now)
{
	if (!ac)
		return NULL;
	struct slot *s = find(ac, secret, host);
	if (!s)
		return NULL;
	if (s->expires <= now) {
		slot_wipe(s);
		return NULL;
	}
	json_t *msg = json_loadb(s->text, s->len, JSON_REJECT_DUPLICATES, NULL);
	if (!msg)
		slot_wipe(s);   /* cannot happen: we wrote it */
	return msg;
}

void askcache_put(struct askcache *ac, const char *secret, const char *host, uint64_t now,
		  const json_t *answer)
{
	if (!ac || strlen(secret) > AL_NAME_MAX || strlen(host) > AL_HOST_MAX + 1)
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
	size_t n = json_dumpb(answer, s->text, sizeof s->text, JSON_COMPACT);
	if (n == 0 || n > sizeof s->text) {
		slot_wipe(s);   /* too long to keep: asked every time */
		return;
	}
	s->len = n;
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
