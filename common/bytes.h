/* Small byte helpers written once for the whole tree: the value of a hex
 * digit, a bounded string copy, and the FNV-1a hash the in-memory tables (connection limits,
 * leaf cache, resume cache, the agent's pool, audit suggest) bucket by.
 * FNV-1a is for spreading keys, never for anything an attacker must not
 * predict or collide: each table caps its chains or its size. */
#ifndef AIRLOCK_BYTES_H
#define AIRLOCK_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The value 0..15 of one hex digit (either case), or -1. */
static inline int bytes_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy the NUL-terminated src into dst[cap] (cap > 0), cut to cap - 1
 * bytes as snprintf(dst, cap, "%s", src) would; the length copied. For the
 * copies every request makes: snprintf's format machinery costs a few
 * hundred instructions a call. */
static inline size_t bytes_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

#define FNV1A_INIT 2166136261u
#define FNV1A_PRIME 16777619u

/* One step: mix v (a byte, or a small number such as a port) into h. */
static inline uint32_t fnv1a_mix(uint32_t h, uint32_t v)
{
	return (h ^ v) * FNV1A_PRIME;
}

/* Mix the bytes of the NUL-terminated s into h. */
static inline uint32_t fnv1a_str(uint32_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = fnv1a_mix(h, *p);
	return h;
}

#endif
