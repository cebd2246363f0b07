/* Leaf cache: a hash table plus an LRU list of minted leaves, and a short
 * list of mints in flight. One mutex guards both but is never held while
 * minting: the first thread to miss a host registers a flight, mints
 * unlocked, then publishes; threads that miss the same host meanwhile wait
 * on that flight's condition variable only. Leaves are reference-counted so
 * eviction never pulls credentials from under a live connection. */
#include "config.h"

#include "enforcer/leafcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/limits.h"
#include "common/xmalloc.h"

struct leaf {
	atomic_uint refs;
	gnutls_certificate_credentials_t cred;
	time_t not_after;
	char host[]; /* as asked for */
};

struct entry {
	struct entry *hnext;      /* hash chain */
	struct entry *prev, *next; /* LRU: head is most recent */
	uint32_t hash;
	struct leaf *leaf;        /* the cache's reference */
};

/* A mint in progress. Waiters hold a reference (refs) so the flight outlives
 * its unlinking; the flight holds its own reference on the result so that an
 * eviction before a waiter wakes cannot free it. */
struct flight {
	struct flight *next;
	char *host;
	pthread_cond_t cond;
	bool done;
	int err;
	struct leaf *leaf;
	unsigned refs;
};

struct leafcache {
	pthread_mutex_t lock;
	const struct ca *ca;
	gnutls_x509_privkey_t key; /* the one leaf key; only read after creation */
	gnutls_datum_t ca_der;     /* our own copy of the CA certificate */
	struct entry **buckets;
	size_t nbuckets;           /* power of two */
	struct entry *head, *tail;
	size_t size, max;
	struct flight *flights;
	time_t (*now)(void);
	struct leafcache_stats stats;
};

static time_t
clock_real(void)
{
	return time(NULL);
}

/* FNV-1a: hosts are canonical (lower case) already. */
static uint32_t
host_hash(const char *s)
{
	return fnv1a_str(FNV1A_INIT, s);
}

struct leaf *
leaf_ref(struct leaf *l)
{
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	return l;
}

void
leaf_unref(struct leaf *l)
{
	if (!l)
		return;
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
		return;
	gnutls_certificate_free_credentials(l->cred);
	free(l);
}

gnutls_certificate_credentials_t
leaf_cred(struct leaf *l)
{
	return l->cred;
}

time_t
leaf_not_after(const struct leaf *l)
{
	return l->not_after;
}

const char *
leaf_host(const struct leaf *l)
{
	return l->host;
}

/* Mint a leaf for host and wrap it in credentials. Runs with no lock held;
 * reads only immutable cache fields (ca, key, ca_der). */
static int
leaf_mint(struct leafcache *lc, const char *host, struct leaf **out)
{
	const char *names[1] = { host };
	gnutls_x509_crt_t crt = NULL;
	gnutls_pcert_st pcerts[2];
	unsigned npcerts = 0;
	gnutls_privkey_t pk = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	struct leaf *l;
	size_t hlen = strlen(host);
	int err;

	if ((err = ca_mint_leaf(lc->ca, lc->key, names, 1, LEAF_VALIDITY_SECONDS, &crt)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_pcert_import_x509(&pcerts[0], crt, 0) < 0)
		goto out;
	npcerts = 1;
	/* The CA from our DER copy, never from ca->crt: GnuTLS objects are
	 * not to be used from two threads at once. */
	if (gnutls_pcert_import_x509_raw(&pcerts[1], &lc->ca_der, GNUTLS_X509_FMT_DER, 0) < 0)
		goto out;
	npcerts = 2;
	if (gnutls_privkey_init(&pk) < 0) {
		pk = NULL;
		goto out;
	}
	if (gnutls_privkey_import_x509(pk, lc->key, GNUTLS_PRIVKEY_IMPORT_COPY) < 0)
		goto out;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		cred = NULL;
		goto out;
	}
	/* We just made the pair: skip GnuTLS's check that the key matches. */
	gnutls_certificate_set_flags(cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if (gnutls_certificate_set_key(cred, NULL, 0, pcerts, 2, pk) < 0)
		goto out;
	/* The credentials own the pcerts' contents and pk now. */
	npcerts = 0;
	pk = NULL;

	l = xmalloc(sizeof(*l) + hlen + 1);
	atomic_init(&l->refs, 1);
	l->cred = cred;
	cred = NULL;
	l->not_after = gnutls_x509_crt_get_expiration_time(crt);
	memcpy(l->host, host, hlen + 1);
	*out = l;
	err = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (pk)
		gnutls_privkey_deinit(pk);
	while (npcerts > 0)
		gnutls_pcert_deinit(&pcerts[--npcerts]);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return err;
}

/* --- table and LRU; all with lc->lock held --- */

static struct entry *
table_find(struct leafcache *lc, const char *host, uint32_t h)
{
	struct entry *e;

	for (e = lc->buckets[h & (lc->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->leaf->host, host) == 0)
			return e;
	return NULL;
}

static void
lru_unlink(struct leafcache *lc, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		lc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		lc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct leafcache *lc, struct entry *e)
{
	e->prev = NULL;
	e->next = lc->head;
	if (lc->head)
		lc->head->prev = e;
	lc->head = e;
	if (!lc->tail)
		lc->tail = e;
}

/* Unlink e from the table and the LRU and free it; returns its leaf
 * reference for the caller to drop after unlocking. */
static struct leaf *
table_remove(struct leafcache *lc, struct entry *e)
{
	struct entry **pp = &lc->buckets[e->hash & (lc->nbuckets - 1)];
	struct leaf *l = e->leaf;

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(lc, e);
	lc->size--;
	free(e);
	return l;
}

static void
table_insert(struct leafcache *lc, struct leaf *l, uint32_t h)
{
	struct entry *e = xcalloc(1, sizeof(*e));
	struct entry **b = &lc->buckets[h & (lc->nbuckets - 1)];

	e->hash = h;
	e->leaf = l;
	e->hnext = *b;
	*b = e;
	lru_push_front(lc, e);
	lc->size++;
}

static struct flight *
flight_find(struct leafcache *lc, const char *host)
{
	struct flight *f;

	for (f = lc->flights; f; f = f->next)
		if (strcmp(f->host, host) == 0)
			return f;
	return NULL;
}

static void
flight_unlink(struct leafcache *lc, struct flight *f)
{
	struct flight **pp = &lc->flights;

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
}

/* Drop a reference; frees the flight with lc->lock held (only memory). The
 * leaf reference it held is returned for release after unlocking. */
static struct leaf *
flight_put(struct flight *f)
{
	struct leaf *l;

	if (--f->refs > 0)
		return NULL;
	l = f->leaf;
	pthread_cond_destroy(&f->cond);
	free(f->host);
	free(f);
	return l;
}

static bool
fresh(struct leafcache *lc, const struct leaf *l)
{
	return l->not_after - lc->now() > LEAF_RENEW_SECONDS;
}

int
leafcache_new(const struct ca *ca, size_t max, struct leafcache **out)
{
	struct leafcache *lc;
	int err;

	if (!ca || !ca->crt || !ca->privkey || max == 0 || max > (1u << 20))
		return AL_EINVAL;
	lc = xcalloc(1, sizeof(*lc));
	pthread_mutex_init(&lc->lock, NULL);
	lc->ca = ca;
	lc->max = max;
	lc->now = clock_real;
	lc->nbuckets = 16;
	while (lc->nbuckets < 2 * max)
		lc->nbuckets <<= 1;
	lc->buckets = xcalloc(lc->nbuckets, sizeof(*lc->buckets));
	if ((err = leaf_key_generate(&lc->key)) < 0) {
		lc->key = NULL;
		goto out;
	}
	if (gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_DER, &lc->ca_der) < 0) {
		err = AL_ECRYPTO;
		goto out;
	}
	*out = lc;
	lc = NULL;
	err = 0;
out:
	if (lc)
		leafcache_free(lc);
	return err;
}

void
leafcache_free(struct leafcache *lc)
{
	if (!lc)
		return;
	/* No flight may be in progress: the caller stops its workers first. */
	while (lc->head)
		leaf_unref(table_remove(lc, lc->head));
	free(lc->buckets);
	if (lc->key)
		gnutls_x509_privkey_deinit(lc->key);
	gnutls_free(lc->ca_der.data);
	pthread_mutex_destroy(&lc->lock);
	free(lc);
}

int
leafcache_get(struct leafcache *lc, const char *canon_host, struct leaf **out)
{
	struct leaf *minted = NULL, *drop1 = NULL, *drop2 = NULL, *drop3 = NULL;
	struct flight *f;
	struct entry *e;
	uint32_t h;
	int err;

	*out = NULL;
	if (!canon_host || !canon_host[0] || strlen(canon_host) > AL_HOST_MAX)
		return AL_EINVAL;
	h = host_hash(canon_host);

	pthread_mutex_lock(&lc->lock);
	e = table_find(lc, canon_host, h);
	if (e && fresh(lc, e->leaf)) {
		lru_unlink(lc, e);
		lru_push_front(lc, e);
		lc->stats.hits++;
		*out = leaf_ref(e->leaf);
		pthread_mutex_unlock(&lc->lock);
		return 0;
	}
	f = flight_find(lc, canon_host);
	if (f) {
		/* Someone is minting this host: wait for that one mint. */
		f->refs++;
		lc->stats.waits++;
		while (!f->done)
			pthread_cond_wait(&f->cond, &lc->lock);
		err = f->err;
		if (err == 0)
			*out = leaf_ref(f->leaf);
		drop1 = flight_put(f);
		pthread_mutex_unlock(&lc->lock);
		leaf_unref(drop1);
		return err;
	}
	f = xcalloc(1, sizeof(*f));
	f->host = xstrdup(canon_host);
	pthread_cond_init(&f->cond, NULL);
	f->refs = 1;
	f->next = lc->flights;
	lc->flights = f;
	pthread_mutex_unlock(&lc->lock);

	err = leaf_mint(lc, canon_host, &minted);

	pthread_mutex_lock(&lc->lock);
	if (err == 0) {
		lc->stats.mints++;
		/* A stale leaf for this host (near expiry) is replaced. */
		e = table_find(lc, canon_host, h);
		if (e)
			drop2 = table_remove(lc, e);
		table_insert(lc, leaf_ref(minted), h);
		if (lc->size > lc->max) {
			drop3 = table_remove(lc, lc->tail);
			lc->stats.evictions++;
		}
		f->leaf = leaf_ref(minted);
		*out = minted; /* the mint's own reference */
	} else {
		lc->stats.failures++;
		/* A leaf about to expire is still better than none. */
		e = table_find(lc, canon_host, h);
		if (e && e->leaf->not_after > lc->now()) {
			f->leaf = leaf_ref(e->leaf);
			*out = leaf_ref(e->leaf);
			err = 0;
		}
	}
	f->err = err;
	f->done = true;
	flight_unlink(lc, f);
	pthread_cond_broadcast(&f->cond);
	drop1 = flight_put(f);
	pthread_mutex_unlock(&lc->lock);
	/* Freeing credentials is not done under the lock. */
	leaf_unref(drop1);
	leaf_unref(drop2);
	leaf_unref(drop3);
	return err;
}

void
leafcache_stats(struct leafcache *lc, struct leafcache_stats *out)
{
	pthread_mutex_lock(&lc->lock);
	*out = lc->stats;
	out->size = lc->size;
	pthread_mutex_unlock(&lc->lock);
}

void
leafcache_set_clock(struct leafcache *lc, time_t (*now)(void))
{
	pthread_mutex_lock(&lc->lock);
	lc->now = now ? now : clock_real;
	pthread_mutex_unlock(&lc->lock);
}
