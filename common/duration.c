/* Durations ("90s", "15m", "1h30m", "7d", a bare number of seconds; "250ms"
 * where milliseconds are wanted) and RFC 3339 UTC times. Parsing is strict: signs, spaces, unknown or
 * repeated units and overflow are refused rather than guessed at. */
#include "config.h"

#include "common/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


static int unit_rank(char u, int64_t *mult)
{
	switch (u) {
	case 'd': *mult = 86400; return 4;
	case 'h': *mult = 3600; return 3;
	case 'm': *mult = 60; return 2;
	case 's': *mult = 1; return 1;
	}
	return 0;
}

/* Units must come largest first and once each ("1h30m", not "30m1h"). */
int duration_parse(const char *s, int64_t min, int64_t max, int64_t *seconds)
{
	int64_t total = 0;
	int last_rank = 5;
	const char *p = s;

	if (!s || !*s)
		return AL_EINVAL;
	while (*p) {
		int64_t n = 0, mult = 1;
		int rank;
		const char *start = p;

		while (*p >= '0' && *p <= '9') {
			if (n > (INT64_MAX - (*p - '0')) / 10)
				return AL_ERANGE;
			n = n * 10 + (*p - '0');
			p++;
		}
		if (p == start)
			return AL_EINVAL; /* "h", "-1h", " 1h" */
		if (*p == '\0') {
			/* A bare number is seconds, but only on its own: "1h30" is a typo. */
			if (start != s)
				return AL_EINVAL;
			rank = 0;
		} else {
			rank = unit_rank(*p, &mult);
			if (rank == 0 || rank >= last_rank)
				return AL_EINVAL;
			p++;
		}
		last_rank = rank;
		if (n > INT64_MAX / mult || total > INT64_MAX - n * mult)
			return AL_ERANGE;
		total += n * mult;
	}
	if (total < min || total > max)
		return AL_ERANGE;
	*seconds = total;
	return 0;
}

/* "250ms" is digits then "ms", alone: "1s500ms" is refused rather than
 * summed, so that one spelling means one thing. */
int duration_parse_ms(const char *s, int64_t min_ms, int64_t max_ms, int64_t *ms)
{
	size_t n = s ? strlen(s) : 0;
	int64_t v = 0;

	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		for (size_t i = 0; i < n - 2; i++) {
			if (s[i] < '0' || s[i] > '9')
				return AL_EINVAL;
			if (v > (INT64_MAX - (s[i] - '0')) / 10)
				return AL_ERANGE;
			v = v * 10 + (s[i] - '0');
		}
	} else {
		int64_t sec;
		/* bound the seconds first: sec * 1000 cannot overflow */
		int rc = duration_parse(s, 0, max_ms / 1000 + 1, &sec);
		if (rc < 0)
			return rc;
		v = sec * 1000;
	}
	if (v < min_ms || v > max_ms)
		return AL_ERANGE;
	*ms = v;
	return 0;
}

void duration_format_ms(int64_t ms, char *buf, size_t cap)
{
	if (ms % 1000 != 0)
		snprintf(buf, cap, "%lldms", (long long)ms);
	else
		duration_format(ms / 1000, buf, cap);
}

void duration_format(int64_t seconds, char *buf, size_t cap)
{
	static const struct { char u; int64_t mult; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t o = 0;
	uint64_t v;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (seconds == 0) {
		snprintf(buf, cap, "0s");
		return;
	}
	if (seconds < 0) {
		o += (size_t)snprintf(buf, cap, "-");
		v = (uint64_t)0 - (uint64_t)seconds;
	} else {
		v = (uint64_t)seconds;
	}
	for (size_t i = 0; i < 4 && o < cap; i++) {
		uint64_t n = v / (uint64_t)units[i].mult;
		if (n == 0)
			continue;
		v -= n * (uint64_t)units[i].mult;
		o += (size_t)snprintf(buf + o, cap - o, "%llu%c", (unsigned long long)n, units[i].u);
	}
}

int64_t time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_expiry(int64_t now_ms, int64_t ttl_seconds)
{
	/* truncating now to whole seconds first would end a rule up to a
	 * second early ("--ttl 2s" refused after 1.01 s) */
	int64_t end_ms = now_ms + ttl_seconds * 1000;
	return end_ms / 1000 + (end_ms % 1000 != 0);
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_format(int64_t unix_seconds, char buf[AL_TIME_STR_MAX])
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, AL_TIME_STR_MAX, "1970-01-01T00:00:00Z");
		return;
	}
	if (strftime(buf, AL_TIME_STR_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, AL_TIME_STR_MAX, "1970-01-01T00:00:00Z");
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00|-00:00)": UTC only; fractions are
 * dropped (times here are whole seconds). */
int time_parse(const char *s, int64_t *unix_seconds)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, dim;
	const char *p;
	struct tm tm;
	time_t t;

	if (!s || strlen(s) < 20)
		return AL_EINVAL;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
		return AL_EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return AL_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (!((strcmp(p, "Z") == 0) || strcmp(p, "z") == 0 || strcmp(p, "+00:00") == 0 ||
	      strcmp(p, "-00:00") == 0))
		return AL_EINVAL;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return AL_EINVAL;
	dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
	if (d < 1 || d > dim)
		return AL_EINVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	*unix_seconds = (int64_t)t;
	return 0;
}
