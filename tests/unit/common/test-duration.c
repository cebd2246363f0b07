/* Unit tests of common/duration.c: duration parsing and formatting (units,
 * sums, bounds, overflow), RFC 3339 UTC times, and TTL expiries rounded up
 * to whole seconds. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "common/duration.h"
#include "common/limits.h"
#include "tests/unit/unit.h"

#define TTL_MIN AL_TTL_MIN_SECONDS
#define TTL_MAX AL_TTL_MAX_SECONDS

static void test_parse(void)
{
	static const struct {
		const char *in;
		int64_t min, max;
		int rc;
		int64_t want;
	} cases[] = {
		{ "90s", 0, INT64_MAX, 0, 90 },
		{ "15m", 0, INT64_MAX, 0, 900 },
		{ "1h", 0, INT64_MAX, 0, 3600 },
		{ "7d", 0, INT64_MAX, 0, 604800 },
		{ "1h30m", 0, INT64_MAX, 0, 5400 },
		{ "1d2h3m4s", 0, INT64_MAX, 0, 93784 },
		{ "2d30s", 0, INT64_MAX, 0, 172830 },
		{ "45", 0, INT64_MAX, 0, 45 },
		{ "0", 0, INT64_MAX, 0, 0 },
		{ "0s", 0, INT64_MAX, 0, 0 },
		{ "007m", 0, INT64_MAX, 0, 420 },
		{ "", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "-1h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "+1h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1x", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1H", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1h30", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "30m1h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1h1h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1.5h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ " 1h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1h ", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1 h", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "1hm", 0, INT64_MAX, AL_EINVAL, 0 },
		{ "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
		{ "9223372036854775808", 0, INT64_MAX, AL_ERANGE, 0 },
		{ "99999999999999999999", 0, INT64_MAX, AL_ERANGE, 0 },
		{ "106751991167300d", 0, INT64_MAX, 0, 106751991167300LL * 86400 },
		{ "106751991167301d", 0, INT64_MAX, AL_ERANGE, 0 },
		{ "106751991167300d15h", 0, INT64_MAX, 0, 106751991167300LL * 86400 + 15 * 3600 },
		{ "106751991167300d16h", 0, INT64_MAX, AL_ERANGE, 0 },
		{ "9223372036854775807s1s", 0, INT64_MAX, AL_EINVAL, 0 }, /* s then s: repeated unit */
		/* TTL bounds, and each bound + 1. */
		{ "1s", TTL_MIN, TTL_MAX, 0, 1 },
		{ "0s", TTL_MIN, TTL_MAX, AL_ERANGE, 0 },
		{ "366d", TTL_MIN, TTL_MAX, 0, 31622400 },
		{ "366d1s", TTL_MIN, TTL_MAX, AL_ERANGE, 0 },
		{ "31622401", TTL_MIN, TTL_MAX, AL_ERANGE, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = -42;
		int rc = duration_parse(cases[i].in, cases[i].min, cases[i].max, &v);
		CHECK(rc == cases[i].rc, "\"%s\": rc %d want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0)
			CHECK(v == cases[i].want, "\"%s\": %lld", cases[i].in, (long long)v);
		else
			CHECK(v == -42, "\"%s\": output touched on failure", cases[i].in);
	}
	CHECK(duration_parse(NULL, 0, 10, &(int64_t){ 0 }) == AL_EINVAL);
}

static void test_format(void)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{ 0, "0s" }, { 1, "1s" }, { 45, "45s" }, { 60, "1m" }, { 90, "1m30s" },
		{ 3600, "1h" }, { 5400, "1h30m" }, { 86400, "1d" }, { 604800, "7d" },
		{ 90061, "1d1h1m1s" }, { 31622400, "366d" }, { -90, "-1m30s" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t back;
		duration_format(cases[i].s, buf, sizeof buf);
		CHECK_STR(buf, cases[i].want, cases[i].want);
		if (cases[i].s >= 0)
			CHECK(duration_parse(buf, 0, INT64_MAX, &back) == 0 && back == cases[i].s,
			      "round trip of %s", buf);
	}
	/* A short buffer truncates, never overflows. */
	duration_format(90061, buf, 4);
	CHECK(strlen(buf) < 4);
	duration_format(INT64_MAX, buf, sizeof buf);
	CHECK(strlen(buf) > 0);
}

static void test_time(void)
{
	static const struct {
		const char *in;
		int rc;
		int64_t want;
	} cases[] = {
		{ "2026-11-23T04:13:50Z", 0, 1795407230 },
		{ "2026-11-23T04:13:50+00:00", 0, 1795407230 },
		{ "2026-11-23T04:13:50-00:00", 0, 1795407230 },
		{ "2026-11-23T04:13:50.123Z", 0, 1795407230 },
		{ "2026-11-23t04:13:50z", 0, 1795407230 },
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2024-02-29T00:00:00Z", 0, 1709164800 },
		{ "2038-01-19T03:14:08Z", 0, 2147483648LL },
		{ "2026-11-23T04:13:50+01:00", AL_EINVAL, 0 },
		{ "2026-02-29T00:00:00Z", AL_EINVAL, 0 },
		{ "1900-02-29T00:00:00Z", AL_EINVAL, 0 },
		{ "2026-13-01T00:00:00Z", AL_EINVAL, 0 },
		{ "2026-00-01T00:00:00Z", AL_EINVAL, 0 },
		{ "2026-04-31T00:00:00Z", AL_EINVAL, 0 },
		{ "2026-11-23 04:13:50Z", AL_EINVAL, 0 },
		{ "2026-11-23T04:13:50", AL_EINVAL, 0 },
		{ "2026-11-23T24:00:00Z", AL_EINVAL, 0 },
		{ "2026-11-23T04:60:00Z", AL_EINVAL, 0 },
		{ "2026-11-23T04:13:60Z", AL_EINVAL, 0 },
		{ "2026-11-23T04:13:50.Z", AL_EINVAL, 0 },
		{ "2026-11-23T04:13:50ZZ", AL_EINVAL, 0 },
		{ "2026-1-23T04:13:50Z", AL_EINVAL, 0 },
		{ "+026-11-23T04:13:50Z", AL_EINVAL, 0 },
		{ "", AL_EINVAL, 0 },
	};
	char buf[AL_TIME_STR_MAX];
	int64_t now = time_now(), back, m1, m2;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = 0;
		int rc = time_parse(cases[i].in, &v);
		CHECK(rc == cases[i].rc, "\"%s\": rc %d", cases[i].in, rc);
		if (rc == 0)
			CHECK(v == cases[i].want, "\"%s\": %lld", cases[i].in, (long long)v);
	}
	time_format(1795407230, buf);
	CHECK_STR(buf, "2026-11-23T04:13:50Z", "time_format");
	time_format(0, buf);
	CHECK_STR(buf, "1970-01-01T00:00:00Z", "epoch");
	time_format(now, buf);
	CHECK(time_parse(buf, &back) == 0 && back == now, "round trip of now (%s)", buf);
	CHECK(now > 1700000000, "wall clock looks sane");
	m1 = time_mono_ms();
	m2 = time_mono_ms();
	CHECK(m2 >= m1 && m1 >= 0);
}

/* time_expiry: a rule is live while the wall clock in whole seconds is
 * below its expiry, i.e. for wall times t (ms) with t < expiry * 1000. It
 * must be live for its whole TTL from its creation, and end within a second
 * after it. */
static void test_expiry(void)
{
	static const struct {
		int64_t now_ms, ttl, want;
	} cases[] = {
		{ 1795407230000, 2, 1795407232 },   /* on a second: exactly the TTL */
		{ 1795407230001, 2, 1795407233 },   /* just after: rounded up */
		{ 1795407230500, 2, 1795407233 },
		{ 1795407230999, 2, 1795407233 },   /* was 1795407232: 1.001 s of a 2 s TTL */
		{ 1795407230999, 1, 1795407232 },
		{ 1795407230000, AL_TTL_MAX_SECONDS, 1795407230 + AL_TTL_MAX_SECONDS },
		{ 1795407230250, AL_TTL_MAX_SECONDS, 1795407231 + AL_TTL_MAX_SECONDS },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t e = time_expiry(cases[i].now_ms, cases[i].ttl);
		int64_t end_ms = cases[i].now_ms + cases[i].ttl * 1000;
		CHECK(e == cases[i].want, "case %zu: %lld", i, (long long)e);
		CHECK(e * 1000 >= end_ms, "case %zu: live for its whole TTL", i);
		CHECK(e * 1000 < end_ms + 1000, "case %zu: ends within a second after", i);
	}
	/* every millisecond of one second, for the shortest TTL */
	for (int64_t ms = 0; ms < 1000; ms++) {
		int64_t now_ms = 1795407230000 + ms, e = time_expiry(now_ms, AL_TTL_MIN_SECONDS);
		CHECK(e * 1000 >= now_ms + 1000 && e * 1000 < now_ms + 2000, "ms %lld", (long long)ms);
	}
	int64_t s = time_now(), ms = time_now_ms();
	CHECK(ms / 1000 >= s && ms / 1000 <= s + 1, "time_now_ms agrees with time_now");
}

/* Time flags: "250ms" or a duration, within [min, max] milliseconds. */
static void test_parse_ms(void)
{
	static const struct {
		const char *in;
		int64_t min, max;
		int rc;
		int64_t want;
	} cases[] = {
		{ "250ms", 1, 3600000, 0, 250 },
		{ "1ms", 1, 3600000, 0, 1 },
		{ "0009ms", 1, 3600000, 0, 9 },
		{ "10s", 1, 3600000, 0, 10000 },
		{ "10", 1, 3600000, 0, 10000 },
		{ "1m", 1, 3600000, 0, 60000 },
		{ "1h", 1, 3600000, 0, 3600000 },
		{ "7d", 1000, 7 * 86400000LL, 0, 7 * 86400000LL },
		/* each bound + 1 */
		{ "0ms", 1, 3600000, AL_ERANGE, 0 },
		{ "0", 1, 3600000, AL_ERANGE, 0 },
		{ "3600001ms", 1, 3600000, AL_ERANGE, 0 },
		{ "3601s", 1, 3600000, AL_ERANGE, 0 },
		{ "2h", 1, 3600000, AL_ERANGE, 0 },
		{ "999ms", 1000, 7 * 86400000LL, AL_ERANGE, 0 },
		{ "7d1s", 1000, 7 * 86400000LL, AL_ERANGE, 0 },
		{ "99999999999999999999ms", 1, 3600000, AL_ERANGE, 0 },
		{ "99999999999999999999", 1, 3600000, AL_ERANGE, 0 },
		/* malformed */
		{ "", 1, 3600000, AL_EINVAL, 0 },
		{ "ms", 1, 3600000, AL_EINVAL, 0 },
		{ "-1ms", 1, 3600000, AL_EINVAL, 0 },
		{ "+5ms", 1, 3600000, AL_EINVAL, 0 },
		{ " 5ms", 1, 3600000, AL_EINVAL, 0 },
		{ "1.5ms", 1, 3600000, AL_EINVAL, 0 },
		{ "1s500ms", 1, 3600000, AL_EINVAL, 0 },
		{ "5MS", 1, 3600000, AL_EINVAL, 0 },
		{ "soon", 1, 3600000, AL_EINVAL, 0 },
		{ "1e3", 1, 3600000, AL_EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = -1;
		int rc = duration_parse_ms(cases[i].in, cases[i].min, cases[i].max, &got);
		CHECK(rc == cases[i].rc, "\"%s\": rc %d want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0)
			CHECK(got == cases[i].want, "\"%s\": %lld want %lld", cases[i].in, (long long)got,
			      (long long)cases[i].want);
	}
	static const struct {
		int64_t ms;
		const char *want;
	} fmt[] = {
		{ 1, "1ms" }, { 250, "250ms" }, { 1500, "1500ms" }, { 1000, "1s" }, { 10000, "10s" },
		{ 60000, "1m" }, { 300000, "5m" }, { 3600000, "1h" }, { 86400000, "1d" },
		{ 7 * 86400000LL, "7d" }, { 5400000, "1h30m" },
	};
	for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
		char buf[32];
		duration_format_ms(fmt[i].ms, buf, sizeof buf);
		CHECK_STR(buf, fmt[i].want, fmt[i].want);
	}
}

int main(void)
{
	test_parse();
	test_parse_ms();
	test_format();
	test_time();
	test_expiry();
	return unit_finish("test-duration");
}
