/* libFuzzer target for enforcer/tlsframe.c, the framer that cuts a relayed
 * stream at the TLS record boundaries of the client's own records. Input:
 * one byte k, then k & 15 read sizes (1..255; 0 reads what is left), then
 * the stream, fed to tls_framer_next read by read (the sizes repeat until
 * the stream is used up). Invariant, against a reference that walks the
 * records of the whole stream at once (content type 20..24, version 3.x,
 * at most TLS_RECORD_PAYLOAD_MAX bytes of payload): the framer cuts
 * exactly at the read boundaries plus the record boundaries up to the
 * first header that is not a TLS record header, and from there on at read
 * boundaries only (it turned itself off, and says so in f.off). Every
 * piece is at least one byte of what is left of its read. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/tlsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t nsizes = data[0] & 15;
	if (size < 1 + nsizes)
		return 0;
	const uint8_t *sizes = data + 1;
	const uint8_t *s = data + 1 + nsizes;
	size_t n = size - 1 - nsizes;

	/* expected cuts: want[i] when a piece must end at offset i (0 < i < n) */
	bool *want = calloc(n + 1, 1), *got = calloc(n + 1, 1);
	if (!want || !got)
		abort();
	bool bad = false;
	size_t off = 0;
	while (off + 5 <= n) {
		size_t len = (size_t)s[off + 3] << 8 | s[off + 4];
		if (s[off] < 20 || s[off] > 24 || s[off + 1] != 3 || len > TLS_RECORD_PAYLOAD_MAX) {
			bad = true;
			break;
		}
		off += 5 + len;
		if (off < n)
			want[off] = true;
	}

	struct tls_framer f;
	memset(&f, 0, sizeof f);
	size_t pos = 0, k = 0;
	while (pos < n) {
		size_t r = nsizes ? sizes[k++ % nsizes] : 0;
		if (r == 0 || r > n - pos)
			r = n - pos;
		size_t end = pos + r;
		if (end < n)
			want[end] = true;
		while (pos < end) {
			size_t piece = tls_framer_next(&f, s + pos, end - pos);
			if (piece == 0 || piece > end - pos)
				__builtin_trap();   /* no progress, or past the read */
			pos += piece;
			if (pos < n)
				got[pos] = true;
		}
	}
	if (f.off != bad)
		__builtin_trap();   /* off exactly when a header is not TLS */
	for (size_t i = 1; i < n; i++)
		if (want[i] != got[i])
			__builtin_trap();   /* a cut inside a record, or a boundary missed */
	free(want);
	free(got);
	return 0;
}
