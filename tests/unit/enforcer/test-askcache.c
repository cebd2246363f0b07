/* enforcer/askcache.c: a kept headers answer comes back exactly as it went
 * in (names, values, merge, strip, oauth), read in place from the locked
 * slot (inject_free frees nothing of it), and not at all once expired,
 * dropped, too long to keep, or with more headers than a view holds. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "enforcer/askcache.h"
#include "enforcer/mitm.h"
#include "enforcer/reqhead.h"
#include "tests/unit/unit.h"

static bool same_pairs(const struct inject_hdr *a, const struct inject_hdr *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || a[i].vlen != b[i].vlen ||
		    memcmp(a[i].value, b[i].value, a[i].vlen) != 0 || a[i].value[a[i].vlen] != '\0')
			return false;
	return true;
}

int main(void)
{
	struct askcache *ac = askcache_new();
	if (!ac) {
		/* RLIMIT_MEMLOCK too small here: the enforcer then asks every time */
		printf("# no locked memory for the cache: skipped\n");
		return 77;
	}
	char n1[] = "Authorization", v1[] = "Bearer sk-ant-0123456789abcdef";
	char n2[] = "X-Api-Key", v2[] = "key-with spaces,and=signs";
	char n3[] = "anthropic-beta", v3[] = "oauth-2025-04-20";
	char s1[] = "x-api-key", s2[] = "cookie";
	struct inject_hdr add[] = { { n1, v1, sizeof v1 - 1 }, { n2, v2, sizeof v2 - 1 } };
	struct inject_hdr merge[] = { { n3, v3, sizeof v3 - 1 } };
	char *strip[] = { s1, s2 };
	struct inject in = { .add = add, .nadd = 2, .merge = merge, .nmerge = 1, .strip = strip, .nstrip = 2,
			     .oauth = true };
	struct inject got;
	struct askcache_view view;

	CHECK(!askcache_get(ac, "tok", "api.example", 1000, &view, &got), "nothing kept yet");
	askcache_put(ac, "tok", "api.example", 1000, &in);
	CHECK(askcache_get(ac, "tok", "api.example", 1500, &view, &got), "kept");
	CHECK(got.borrowed && got.nadd == 2 && got.nmerge == 1 && got.nstrip == 2 && got.oauth, "the shape");
	CHECK(same_pairs(got.add, add, 2) && same_pairs(got.merge, merge, 1), "names and values");
	CHECK(strcmp(got.strip[0], s1) == 0 && strcmp(got.strip[1], s2) == 0, "strip names");
	CHECK(got.add == view.hdr && got.merge == view.hdr + 2 && got.strip == view.strip, "the table in the view");
	CHECK(got.add[0].value != v1 && got.add[1].value != v2, "the values read from the slot, not the caller's");
	inject_free(&got);   /* ASan: nothing of the slot is freed */
	CHECK(!got.borrowed && got.nadd == 0 && !got.add, "forgotten");
	CHECK(askcache_get(ac, "tok", "api.example", 1500, &view, &got) && same_pairs(got.add, add, 2),
	      "and still kept");
	inject_free(&got);

	CHECK(!askcache_get(ac, "tok", "other.example", 1500, &view, &got), "another host is another key");
	CHECK(!askcache_get(ac, "tok", "api.example", 1000 + AL_ASK_CACHE_TTL_MS, &view, &got), "expired");
	CHECK(!askcache_get(ac, "tok", "api.example", 1500, &view, &got), "and wiped when found expired");

	/* a bare answer (headers only) */
	struct inject bare = { .add = add, .nadd = 1 };
	askcache_put(ac, "tok", "api.example", 2000, &bare);
	CHECK(askcache_get(ac, "tok", "api.example", 2001, &view, &got), "kept");
	CHECK(got.nadd == 1 && !got.merge && !got.strip && !got.oauth && same_pairs(got.add, add, 1), "as it was");
	inject_free(&got);
	askcache_drop(ac, "tok");
	CHECK(!askcache_get(ac, "tok", "api.example", 2001, &view, &got), "dropped");

	/* an answer longer than a slot is never kept */
	size_t big = AL_ASK_CACHE_SLOT_BYTES;
	char *vb = malloc(big + 1);
	memset(vb, 'a', big);
	vb[big] = '\0';
	struct inject_hdr addb[] = { { n1, vb, big } };
	struct inject binj = { .add = addb, .nadd = 1 };
	askcache_put(ac, "tok", "api.example", 3000, &binj);
	CHECK(!askcache_get(ac, "tok", "api.example", 3001, &view, &got), "too long to keep");
	free(vb);

	/* more headers than a view holds (inject_from_answer refuses them
	 * anyway): never kept */
	struct inject_hdr many[AL_INJECT_HEADERS_MAX + 1];
	for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
		many[i] = (struct inject_hdr){ n3, v3, sizeof v3 - 1 };
	struct inject minj = { .add = many, .nadd = AL_INJECT_HEADERS_MAX + 1 };
	askcache_put(ac, "tok", "api.example", 4000, &minj);
	CHECK(!askcache_get(ac, "tok", "api.example", 4001, &view, &got), "too many to keep");
	minj.nadd = AL_INJECT_HEADERS_MAX;
	askcache_put(ac, "tok", "api.example", 4000, &minj);
	CHECK(askcache_get(ac, "tok", "api.example", 4001, &view, &got) && got.nadd == AL_INJECT_HEADERS_MAX &&
	      same_pairs(got.add, many, AL_INJECT_HEADERS_MAX), "as many as a view holds: kept");
	inject_free(&got);

	askcache_free(ac);
	return unit_finish("test-askcache");
}
