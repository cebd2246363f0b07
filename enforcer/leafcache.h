/* The per-host MITM leaves: one ECDSA P-256 key per enforcer, one leaf per
 * canonical host signed by airlock's CA, kept in a bounded LRU so that only
 * the first connection to a host pays for minting. Shared by all worker
 * threads. */
#ifndef AIRLOCK_LEAFCACHE_H
#define AIRLOCK_LEAFCACHE_H

#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/ca.h"
#include "common/error.h"

/* Re-mint a cached leaf when it has less than this left to live. */
#define LEAF_RENEW_SECONDS (24 * 3600)

/* A minted leaf: credentials (leaf + CA chain, the enforcer's leaf key) for
 * one host. Reference-counted with atomics: a connection keeps its leaf
 * alive after the cache evicted it. */
struct leaf;

struct leafcache;

struct leafcache_stats {
	uint64_t mints;     /* leaves minted (successful) */
	uint64_t hits;      /* gets answered from the cache */
	uint64_t waits;     /* gets that waited on another thread's mint */
	uint64_t evictions; /* leaves dropped by the LRU bound */
	uint64_t failures;  /* mints that failed */
	size_t size;        /* leaves cached now */
};

/* A cache of at most max leaves (AL_LEAF_CACHE_MAX in the enforcer), minted
 * by ca, which must outlive the cache. Generates the leaf key. */
int leafcache_new(const struct ca *ca, size_t max, struct leafcache **out) AL_MUST_CHECK;
/* Leaves already handed out stay valid (they hold their own reference). */
void leafcache_free(struct leafcache *lc);

/* The leaf for canon_host (a canonical DNS name or IP literal), minted on
 * first use. Thread-safe. Concurrent first requests for one host mint once:
 * the others wait on that mint alone; no cache-wide lock is held while
 * minting, so other hosts are never stalled. The caller owns one reference:
 * leaf_unref() when done. */
int leafcache_get(struct leafcache *lc, const char *canon_host, struct leaf **out) AL_MUST_CHECK;

void leafcache_stats(struct leafcache *lc, struct leafcache_stats *out);
/* Tests only: the clock used to judge expiry (default time()). */
void leafcache_set_clock(struct leafcache *lc, time_t (*now)(void));

/* Credentials to give gnutls_credentials_set() (via tlsconf_server_session);
 * valid while the caller holds its reference. */
gnutls_certificate_credentials_t leaf_cred(struct leaf *l);
time_t leaf_not_after(const struct leaf *l);
const char *leaf_host(const struct leaf *l);
struct leaf *leaf_ref(struct leaf *l);
void leaf_unref(struct leaf *l); /* thread-safe; NULL is fine */

#endif
