/* Durations ("90s", "15m", "1h", "7d", or a sum "1h30m") and wall-clock
 * times (RFC 3339 UTC, "2026-11-23T04:13:50Z"). */
#ifndef AIRLOCK_DURATION_H
#define AIRLOCK_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Parse into seconds. A bare number is seconds. Refuses empty, negative,
 * unknown units, overflow, and results outside [min, max]. */
int duration_parse(const char *s, int64_t min, int64_t max, int64_t *seconds) AL_MUST_CHECK;

/* Parse into milliseconds: "250ms", or a duration_parse() string ("10s",
 * "1m", a bare number of seconds). AL_EINVAL when malformed, AL_ERANGE
 * outside [min_ms, max_ms]. The one parser of every time flag. */
int duration_parse_ms(const char *s, int64_t min_ms, int64_t max_ms, int64_t *ms) AL_MUST_CHECK;

/* "1h30m", "45s", "7d" */
void duration_format(int64_t seconds, char *buf, size_t cap);
/* "250ms" when not whole seconds, else as duration_format ("10s", "1h"). */
void duration_format_ms(int64_t ms, char *buf, size_t cap);

#define AL_TIME_STR_MAX 32
/* Seconds since the epoch, wall clock. */
int64_t time_now(void);
/* Milliseconds since the epoch, wall clock. */
int64_t time_now_ms(void);
/* The whole second (unix time) at which something that lasts ttl_seconds
 * from now_ms (wall clock, ms) ends. Expiries are whole seconds and a rule
 * is live while the wall clock in seconds is below its expiry, so this
 * rounds up: it lasts its whole TTL, and ends less than a second after. */
int64_t time_expiry(int64_t now_ms, int64_t ttl_seconds);
/* Milliseconds, monotonic. */
int64_t time_mono_ms(void);
void time_format(int64_t unix_seconds, char buf[AL_TIME_STR_MAX]);
int time_parse(const char *s, int64_t *unix_seconds) AL_MUST_CHECK;

#endif
