/* A worker's short memory of the broker's headers answers (docs/custody.md):
 * the answer to a headers ask for (secret, host), kept at most
 * AL_ASK_CACHE_TTL_MS so that a keep-alive stream of injected requests asks
 * the broker once a second instead of once a request. It holds credentials,
 * so it lives in its own mapping, locked in RAM (mlock: never swapped) and
 * left out of core dumps (MADV_DONTDUMP); a slot is wiped when it expires,
 * on every policy change (which every secret change brings), when an
 * upstream refuses the secret, and when the worker stops. Only answers are
 * kept, never refusals; a bounded number of slots, each of a bounded size.
 * One per worker thread: no lock. */
#ifndef AIRLOCK_ENFORCER_ASKCACHE_H
#define AIRLOCK_ENFORCER_ASKCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "enforcer/reqhead.h"

#define AL_ASK_CACHE_TTL_MS 1000      /* a slot is wiped this long after the answer came */
#define AL_ASK_CACHE_SLOTS 8          /* per worker */
#define AL_ASK_CACHE_SLOT_BYTES 4096  /* an answer's names and values; longer ones are not kept */

struct askcache;

/* NULL when the locked mapping cannot be had (RLIMIT_MEMLOCK): the worker
 * then asks every time; the reason is logged once. */
struct askcache *askcache_new(void);
/* Wipes and unmaps. NULL is fine. */
void askcache_free(struct askcache *ac);
/* The table of a kept answer's headers, on the caller's stack: the names
 * and values themselves stay in the locked slot. */
struct askcache_view {
	struct inject_hdr hdr[2 * AL_INJECT_HEADERS_MAX];
	char *strip[AL_INJECT_HEADERS_MAX];
};

/* The kept answer for (secret, host) into *inj, as inject_from_answer()
 * made it when it came: true, or false when none is kept. now: monotonic
 * ms. Nothing is copied: inj's arrays are in *view and its names and values
 * in the slot (inj->borrowed; inject_free only forgets them), so inj is
 * valid until the next call into this cache: use it at once. */
bool askcache_get(struct askcache *ac, const char *secret, const char *host, uint64_t now,
		  struct askcache_view *view, struct inject *inj);
/* Keep a copy of a headers answer, already checked (inject_from_answer);
 * one with more than AL_INJECT_HEADERS_MAX in a list is not kept. */
void askcache_put(struct askcache *ac, const char *secret, const char *host, uint64_t now,
		  const struct inject *inj);
/* Wipe the slots of secret (NULL: every slot). */
void askcache_drop(struct askcache *ac, const char *secret);
/* Wipe what has expired; the monotonic ms of the next expiry, or 0 when
 * nothing is kept. */
uint64_t askcache_expire(struct askcache *ac, uint64_t now);

#endif
