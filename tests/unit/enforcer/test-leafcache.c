/* Unit test of enforcer/leafcache.c: hits, the LRU bound, single-flight
 * minting under concurrency, re-minting near expiry, and a real TLS
 * handshake with a cached leaf that a CA-trusting client accepts for its
 * host and refuses for another. Prints the mint time (not asserted). */
#include "config.h"

#include <time.h>

#include "enforcer/leafcache.h"
#include "enforcer/tlsconf.h"
#include "tests/unit/tlspair.h"

static struct ca ca;

static void
test_hit(void)
{
	struct leafcache *lc = NULL;
	struct leaf *a = NULL, *b = NULL;
	struct leafcache_stats st;

	CHECK(leafcache_new(&ca, 8, &lc) == 0);
	CHECK(leafcache_get(lc, "api.example.com", &a) == 0);
	CHECK(leafcache_get(lc, "api.example.com", &b) == 0);
	CHECK(a && a == b);
	CHECK(a && leaf_cred(a) != NULL);
	CHECK(a && strcmp(leaf_host(a), "api.example.com") == 0);
	CHECK(a && leaf_not_after(a) > time(NULL) + LEAF_VALIDITY_SECONDS - 60);
	leafcache_stats(lc, &st);
	CHECK(st.mints == 1 && st.hits == 1 && st.size == 1);
	/* Bad input. */
	CHECK(leafcache_get(lc, "", &b) == AL_EINVAL && !b);
	{
		struct leafcache *bad = NULL;

		CHECK(leafcache_new(&ca, 0, &bad) == AL_EINVAL && !bad);
	}
	leaf_unref(a);
	leaf_unref(a);
	leafcache_free(lc);
}

static void
test_lru(void)
{
	static const char *const hosts[] = { "h0.example", "h1.example", "h2.example", "h3.example",
					     "h4.example" };
	struct leafcache *lc = NULL;
	struct leaf *l = NULL, *kept = NULL;
	struct leafcache_stats st;
	size_t i;

	CHECK(leafcache_new(&ca, 4, &lc) == 0);
	for (i = 0; i < 4; i++) {
		CHECK(leafcache_get(lc, hosts[i], &l) == 0);
		if (i == 1)
			kept = l; /* held by a "connection" across its eviction */
		else
			leaf_unref(l);
	}
	CHECK(leafcache_get(lc, hosts[0], &l) == 0); /* h0 becomes most recent */
	leaf_unref(l);
	CHECK(leafcache_get(lc, hosts[4], &l) == 0); /* evicts h1, the least recent */
	leaf_unref(l);
	leafcache_stats(lc, &st);
	CHECK(st.size == 4 && st.evictions == 1 && st.mints == 5 && st.hits == 1);
	CHECK(leafcache_get(lc, hosts[0], &l) == 0); /* still cached */
	leaf_unref(l);
	leafcache_stats(lc, &st);
	CHECK(st.mints == 5 && st.hits == 2);
	CHECK(leafcache_get(lc, hosts[1], &l) == 0); /* minted again */
	CHECK(l != kept);
	leaf_unref(l);
	leafcache_stats(lc, &st);
	CHECK(st.mints == 6 && st.size == 4 && st.evictions == 2);
	/* The evicted leaf is still usable by its holder. */
	CHECK(strcmp(leaf_host(kept), "h1.example") == 0 && leaf_cred(kept) != NULL);
	leafcache_free(lc);
	leaf_unref(kept); /* after the cache is gone, too */
}

#define NTHREADS 8

struct racer {
	struct leafcache *lc;
	pthread_barrier_t *start;
	struct leaf *leaf;
	int rc;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	r->rc = leafcache_get(r->lc, "same.example.com", &r->leaf);
	return NULL;
}

static void
test_single_flight(void)
{
	struct leafcache *lc = NULL;
	pthread_t t[NTHREADS];
	struct racer r[NTHREADS];
	pthread_barrier_t start;
	struct leafcache_stats st;
	int round, i;

	CHECK(leafcache_new(&ca, 64, &lc) == 0);
	/* Several rounds, each on a fresh cache entry, to give the race a chance. */
	for (round = 0; round < 5; round++) {
		uint64_t before;

		leafcache_stats(lc, &st);
		before = st.mints;
		pthread_barrier_init(&start, NULL, NTHREADS);
		for (i = 0; i < NTHREADS; i++) {
			r[i] = (struct racer){ .lc = lc, .start = &start };
			CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0);
		}
		for (i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		leafcache_stats(lc, &st);
		CHECK(st.mints - before == (round == 0 ? 1 : 0));
		for (i = 0; i < NTHREADS; i++) {
			CHECK(r[i].rc == 0 && r[i].leaf == r[0].leaf);
			leaf_unref(r[i].leaf);
		}
	}
	leafcache_stats(lc, &st);
	printf("# single flight: %llu mint(s), %llu wait(s), %llu hit(s) for %d x 5 gets\n",
	       (unsigned long long)st.mints, (unsigned long long)st.waits,
	       (unsigned long long)st.hits, NTHREADS);
	leafcache_free(lc);
}

/* Many hosts from many threads at once: everything is minted exactly once
 * per host and nothing crashes (run under ASan/TSan). */
struct spreader {
	struct leafcache *lc;
	int id;
	int errors;
};

static void *
spread(void *arg)
{
	struct spreader *s = arg;
	char host[64];
	int i;

	for (i = 0; i < 40; i++) {
		struct leaf *l = NULL;

		snprintf(host, sizeof(host), "h%d.spread.example", (i * 7 + s->id) % 24);
		if (leafcache_get(s->lc, host, &l) != 0 || strcmp(leaf_host(l), host) != 0)
			s->errors++;
		leaf_unref(l);
	}
	return NULL;
}

static void
test_spread(void)
{
	struct leafcache *lc = NULL;
	pthread_t t[4];
	struct spreader s[4];
	struct leafcache_stats st;
	int i;

	CHECK(leafcache_new(&ca, 64, &lc) == 0);
	for (i = 0; i < 4; i++) {
		s[i] = (struct spreader){ .lc = lc, .id = i };
		CHECK(pthread_create(&t[i], NULL, spread, &s[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(s[i].errors == 0);
	}
	leafcache_stats(lc, &st);
	CHECK(st.mints == 24 && st.size == 24);
	CHECK(st.mints + st.hits + st.waits == 160);
	leafcache_free(lc);
}

static time_t
clock_late(void)
{
	/* Less than LEAF_RENEW_SECONDS before the leaves expire. */
	return time(NULL) + LEAF_VALIDITY_SECONDS - LEAF_RENEW_SECONDS / 2;
}

static void
test_renew(void)
{
	struct leafcache *lc = NULL;
	struct leaf *a = NULL, *b = NULL, *c = NULL;
	struct leafcache_stats st;

	CHECK(leafcache_new(&ca, 8, &lc) == 0);
	CHECK(leafcache_get(lc, "renew.example", &a) == 0);
	leafcache_set_clock(lc, clock_late);
	CHECK(leafcache_get(lc, "renew.example", &b) == 0);
	CHECK(a != b);
	leafcache_set_clock(lc, NULL);
	CHECK(leafcache_get(lc, "renew.example", &c) == 0);
	CHECK(b == c);
	leafcache_stats(lc, &st);
	CHECK(st.mints == 2 && st.size == 1);
	leaf_unref(a);
	leaf_unref(b);
	leaf_unref(c);
	leafcache_free(lc);
}

/* A real handshake: server with the cached leaf, client trusting the CA and
 * verifying the host name. */
static int
handshake_with(struct leaf *l, gnutls_certificate_credentials_t trust, const char *verify_host)
{
	struct pair_side sv = { 0 }, cl = { 0 };
	int rc;

	if (tlsconf_server_session(&sv.s, leaf_cred(l), false) < 0)
		return -2;
	if (tlsconf_client_session(&cl.s, trust, verify_host, false) < 0) {
		gnutls_deinit(sv.s);
		return -2;
	}
	rc = pair_run(&sv, &cl);
	if (rc == 0)
		CHECK(tlsconf_sni_check(sv.s, leaf_host(l)) == 0);
	gnutls_deinit(sv.s);
	gnutls_deinit(cl.s);
	return rc;
}

static void
test_handshake(void)
{
	struct leafcache *lc = NULL;
	gnutls_certificate_credentials_t trust = NULL;
	struct leaf *l = NULL, *ip = NULL;

	CHECK(leafcache_new(&ca, 8, &lc) == 0);
	CHECK(tlsconf_upstream_cred(ca_pem_path, &trust) == 0);
	CHECK(leafcache_get(lc, "api.example.com", &l) == 0);
	CHECK(handshake_with(l, trust, "api.example.com") == 0);
	CHECK(handshake_with(l, trust, "API.Example.com") == 0);
	CHECK(handshake_with(l, trust, "other.example.com") == -1);
	CHECK(handshake_with(l, trust, "example.com") == -1);
	CHECK(leafcache_get(lc, "192.0.2.7", &ip) == 0);
	CHECK(handshake_with(ip, trust, "192.0.2.7") == 0);
	CHECK(handshake_with(ip, trust, "192.0.2.8") == -1);
	leaf_unref(l);
	leaf_unref(ip);
	l = NULL;
	CHECK(leafcache_get(lc, "2001:db8::1", &l) == 0);
	CHECK(handshake_with(l, trust, "2001:db8::1") == 0);
	CHECK(handshake_with(l, trust, "[2001:db8::1]") == -2); /* not canonical */
	CHECK(handshake_with(l, trust, "2001:db8::2") == -1);
	leaf_unref(l);
	gnutls_certificate_free_credentials(trust);
	leafcache_free(lc);
}

/* Worker threads share one leaf's credentials: handshakes on several
 * threads at once with the same leaf, each fetching it from the cache. */
struct shaker {
	struct leafcache *lc;
	gnutls_certificate_credentials_t trust;
	int ok;
};

static void *
shake(void *arg)
{
	struct shaker *sh = arg;
	int i;

	for (i = 0; i < 5; i++) {
		struct leaf *l = NULL;

		if (leafcache_get(sh->lc, "shared.example.com", &l) == 0 &&
		    handshake_with(l, sh->trust, "shared.example.com") == 0)
			sh->ok++;
		leaf_unref(l);
	}
	return NULL;
}

static void
test_shared_cred(void)
{
	struct leafcache *lc = NULL;
	gnutls_certificate_credentials_t trust = NULL;
	pthread_t t[4];
	struct shaker sh[4];
	struct leafcache_stats st;
	int i;

	CHECK(leafcache_new(&ca, 8, &lc) == 0);
	CHECK(tlsconf_upstream_cred(ca_pem_path, &trust) == 0);
	for (i = 0; i < 4; i++) {
		sh[i] = (struct shaker){ .lc = lc, .trust = trust };
		CHECK(pthread_create(&t[i], NULL, shake, &sh[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(sh[i].ok == 5);
	}
	leafcache_stats(lc, &st);
	CHECK(st.mints == 1);
	gnutls_certificate_free_credentials(trust);
	leafcache_free(lc);
}

static double
us_between(const struct timespec *a, const struct timespec *b)
{
	return ((b->tv_sec - a->tv_sec) * 1e9 + (b->tv_nsec - a->tv_nsec)) / 1e3;
}

/* What a first contact costs: mint + credentials for a new host. CPU time
 * is printed beside wall time: it does not move when the machine is busy. */
static void
test_mint_time(void)
{
	struct leafcache *lc = NULL;
	struct timespec a, b, ca0, cb0;
	char host[64];
	int i, n = 100;

	CHECK(leafcache_new(&ca, 1024, &lc) == 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca0);
	for (i = 0; i < n; i++) {
		struct leaf *l = NULL;

		snprintf(host, sizeof(host), "host%d.timing.example", i);
		CHECK(leafcache_get(lc, host, &l) == 0);
		leaf_unref(l);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# leafcache_get, new host: %.1f us wall, %.1f us CPU per mint (%d hosts; "
	       "sanitizer builds are slower)\n", us_between(&a, &b) / n, us_between(&ca0, &cb0) / n, n);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 10 * n; i++) {
		struct leaf *l = NULL;

		snprintf(host, sizeof(host), "host%d.timing.example", i % n);
		CHECK(leafcache_get(lc, host, &l) == 0);
		leaf_unref(l);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# leafcache_get, cached host: %.2f us per get\n", us_between(&a, &b) / (10 * n));
	leafcache_free(lc);
}

int
main(void)
{
	if (tmp_ca_load(&ca) < 0) {
		fprintf(stderr, "test-leafcache: cannot create a CA\n");
		return 1;
	}
	test_hit();
	test_lru();
	test_single_flight();
	test_spread();
	test_renew();
	test_handshake();
	test_shared_cred();
	test_mint_time();
	ca_free(&ca);
	tmp_ca_remove();
	if (failures) {
		fprintf(stderr, "test-leafcache: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test-leafcache: ok\n");
	return 0;
}
