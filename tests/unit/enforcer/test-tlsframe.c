/* Unit test of enforcer/tlsframe.c: a stream of TLS records (empty, small,
 * the largest allowed) handed over in reads cut at every offset, and in
 * one-byte reads, comes back as pieces that each hold bytes of one record
 * only and together are the whole stream; bytes that are not TLS (an SSH
 * banner, a bad version, an oversized length) turn the framer off and come
 * back as whole reads. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/tlsframe.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t stream[3 * (5 + TLS_RECORD_PAYLOAD_MAX) + 64];
static size_t bound[16];     /* offsets where a record ends */
static size_t nbound;

static size_t add_record(size_t at, uint8_t type, size_t len)
{
	stream[at] = type;
	stream[at + 1] = 3;
	stream[at + 2] = 3;
	stream[at + 3] = (uint8_t)(len >> 8);
	stream[at + 4] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		stream[at + 5 + i] = (uint8_t)(i * 7 + type);
	at += 5 + len;
	bound[nbound++] = at;
	return at;
}

/* does [from, to) hold bytes of two records? */
static bool straddles(size_t from, size_t to)
{
	for (size_t i = 0; i < nbound; i++)
		if (bound[i] > from && bound[i] < to)
			return true;
	return false;
}

/* Feed stream[0..len) in reads of the given sizes (cycled); check pieces. */
static void feed(size_t len, const size_t *reads, size_t nreads, const char *what)
{
	struct tls_framer f = { 0 };
	size_t at = 0, r = 0, pieces = 0, bad = 0;
	while (at < len) {
		size_t n = reads[r++ % nreads];
		if (n > len - at)
			n = len - at;
		size_t end = at + n;
		while (at < end) {
			size_t k = tls_framer_next(&f, stream + at, end - at);
			if (k == 0 || k > end - at) {
				CHECK(false, "%s: piece of %zu from %zu left", what, k, end - at);
				return;
			}
			if (straddles(at, at + k))
				bad++;
			at += k;
			pieces++;
		}
	}
	CHECK(bad == 0, "%s: %zu of %zu pieces hold two records", what, bad, pieces);
	CHECK(!f.off && f.left == 0 && f.hlen == 0, "%s: ends between records", what);
}

static void records(void)
{
	size_t len = 0;
	nbound = 0;
	len = add_record(len, 22, 90);                      /* handshake */
	len = add_record(len, 23, 0);                       /* an empty record */
	len = add_record(len, 23, 1);
	len = add_record(len, 21, 2);                       /* alert */
	len = add_record(len, 23, 16384 + 256);             /* largest TLS 1.3 ciphertext */
	len = add_record(len, 20, 1);                       /* change_cipher_spec */
	len = add_record(len, 23, TLS_RECORD_PAYLOAD_MAX);  /* largest TLS 1.2 payload */
	len = add_record(len, 23, 3);

	size_t whole[] = { len };
	feed(len, whole, 1, "one read");
	size_t ones[] = { 1 };
	feed(len, ones, 1, "one byte at a time");
	size_t odd[] = { 3, 7, 4, 11, 2, 5000, 1, 6 };
	feed(len, odd, N(odd), "odd sizes");
	char what[64];
	/* every cut of the first 200 bytes, then the rest at once */
	for (size_t cut = 1; cut < 200; cut++) {
		size_t two[] = { cut, len };
		snprintf(what, sizeof what, "cut at %zu", cut);
		feed(len, two, 2, what);
	}
	/* cuts around the big records' edges */
	for (size_t i = 0; i < nbound; i++)
		for (size_t d = 0; d < 7; d++) {
			if (bound[i] < d + 1)
				continue;
			size_t two[] = { bound[i] - d, len };
			snprintf(what, sizeof what, "cut %zu before end %zu", d, i);
			feed(len, two, 2, what);
		}
}

static void not_tls(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *what;
	} rows[] = {
		{ "SSH-2.0-OpenSSH_9.2p1\r\n", 23, "SSH banner" },
		{ "\x16\x02\x00\x00\x10", 5, "version 2.x" },
		{ "\x19\x03\x03\x00\x10", 5, "content type 25" },
		{ "\x13\x03\x03\x00\x10", 5, "content type 19" },
		{ "\x17\x03\x03\x48\x01", 5, "length over the cap" },
		{ "GET / HTTP/1.1\r\n\r\n", 18, "plain HTTP" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		uint8_t buf[64];
		memcpy(buf, rows[i].bytes, rows[i].len);
		memset(buf + rows[i].len, 'x', sizeof buf - rows[i].len);
		struct tls_framer f = { 0 };
		size_t k = tls_framer_next(&f, buf, sizeof buf);
		CHECK(k == sizeof buf && f.off, "%s: got %zu, off %d", rows[i].what, k, f.off);
		CHECK(tls_framer_next(&f, buf, 9) == 9, "%s: stays off", rows[i].what);
		/* the same bytes one at a time: off once the header is read */
		struct tls_framer g = { 0 };
		size_t got = 0;
		for (int j = 0; j < 5; j++)
			got += tls_framer_next(&g, buf + j, 1);
		CHECK(got == 5 && g.off, "%s: byte by byte, off after the header", rows[i].what);
	}
	/* a good record, then garbage: cut after the record, then off */
	uint8_t buf[32] = { 23, 3, 3, 0, 2, 'o', 'k' };
	memcpy(buf + 7, "SSH-2.0-x", 9);
	struct tls_framer f = { 0 };
	CHECK(tls_framer_next(&f, buf, 16) == 7, "the record first");
	CHECK(tls_framer_next(&f, buf + 7, 9) == 9 && f.off, "then the rest, off");
	CHECK(tls_framer_next(&f, buf, 0) == 0, "an empty read is empty");
}

int main(void)
{
	records();
	not_tls();
	return unit_finish("test-tlsframe");
}
