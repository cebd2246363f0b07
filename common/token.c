/* Client tokens (random, shown once, stored as SHA-256, compared in
 * constant time) and the base64 codecs that tokens, seals and proxy
 * authentication share. */
#include "config.h"

#include "common/token.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/xmalloc.h"

#define TOKEN_RAW_LEN 32

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t cap)
{
	const char *al = url ? b64_url : b64_std;
	size_t need = url ? (len * 4 + 2) / 3 : (len + 2) / 3 * 4;
	size_t o = 0, i = 0;

	if (need + 1 > cap || need > (size_t)INT32_MAX)
		return AL_ETOOBIG;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = al[(v >> 6) & 63];
		out[o++] = al[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		if (!url) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = al[(v >> 6) & 63];
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_val(char c, bool url)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == (url ? '-' : '+')) return 62;
	if (c == (url ? '_' : '/')) return 63;
	return -1;
}

/* Strict: the standard alphabet needs its padding, the URL one has none, and
 * the unused low bits of the last character must be zero (one spelling per
 * value, so a tampered seal cannot decode to the same bytes). */
int b64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap)
{
	size_t data = len, o = 0, need, i;
	uint32_t acc = 0;
	int bits = 0;

	if (!url) {
		if (len % 4)
			return AL_EINVAL;
		if (len && in[len - 1] == '=')
			data--;
		if (len > 1 && in[len - 2] == '=')
			data--;
	}
	if (data % 4 == 1)
		return AL_EINVAL;
	need = data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0);
	if (need + 1 > cap || need > (size_t)INT32_MAX)
		return AL_ETOOBIG;
	for (i = 0; i < data; i++) {
		int v = b64_val(in[i], url);
		if (v < 0)
			return AL_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return AL_EINVAL;
	out[o] = 0;
	return (int)o;
}

int token_generate(char out[TOKEN_LEN + 1])
{
	uint8_t raw[TOKEN_RAW_LEN];
	int rc = AL_ECRYPTO;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof raw) < 0)
		goto out;
	memcpy(out, TOKEN_PREFIX, 4);
	if (b64_encode(raw, sizeof raw, true, out + 4, TOKEN_LEN + 1 - 4) != TOKEN_LEN - 4)
		goto out;
	rc = 0;
out:
	secure_wipe(raw, sizeof raw);
	return rc;
}

int token_validate(const char *tok)
{
	size_t n;

	if (!tok)
		return AL_EINVAL;
	n = strlen(tok);
	if (n == TOKEN_LEN && strncmp(tok, TOKEN_PREFIX, 4) == 0) {
		bool ok = true;
		for (size_t i = 4; i < n && ok; i++)
			ok = b64_val(tok[i], true) >= 0;
		if (ok)
			return 0;
	}
	if (n < 24 || n > AL_TOKEN_MAX)
		return AL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (tok[i] < 0x21 || tok[i] > 0x7e)
			return AL_EINVAL;
	return 0;
}

void token_hash(const char *tok, size_t len, uint8_t out[TOKEN_HASH_LEN])
{
	/* SHA-256 is always there; if GnuTLS cannot hash, nothing can be trusted. */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, tok, len, out) < 0)
		abort();
}

void token_hash_hex(const char *tok, size_t len, char out[TOKEN_HASH_HEX_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t h[TOKEN_HASH_LEN];

	token_hash(tok, len, h);
	for (size_t i = 0; i < TOKEN_HASH_LEN; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[TOKEN_HASH_HEX_LEN] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int token_hash_from_hex(const char *hex, uint8_t out[TOKEN_HASH_LEN])
{
	if (!hex || strlen(hex) != TOKEN_HASH_HEX_LEN)
		return AL_EINVAL;
	for (size_t i = 0; i < TOKEN_HASH_LEN; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return AL_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	return acc == 0;
}
