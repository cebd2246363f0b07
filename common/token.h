/* Client tokens: 32 random bytes from gnutls_rnd(GNUTLS_RND_KEY), printed as
 * "alk_" + base64url (no padding). Stored only as SHA-256 (a random 256-bit
 * token needs no slow KDF), compared in constant time. */
#ifndef AIRLOCK_TOKEN_H
#define AIRLOCK_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TOKEN_PREFIX "alk_"
#define TOKEN_LEN (4 + 43)             /* prefix + base64url(32 bytes) */
#define TOKEN_HASH_LEN 32
#define TOKEN_HASH_HEX_LEN (2 * TOKEN_HASH_LEN)

int token_generate(char out[TOKEN_LEN + 1]) AL_MUST_CHECK;
/* A user-supplied token (POST {token}) must look like a generated one or be
 * 24..AL_TOKEN_MAX printable non-space ASCII bytes. */
int token_validate(const char *tok) AL_MUST_CHECK;
void token_hash(const char *tok, size_t len, uint8_t out[TOKEN_HASH_LEN]);
void token_hash_hex(const char *tok, size_t len, char out[TOKEN_HASH_HEX_LEN + 1]);
int token_hash_from_hex(const char *hex, uint8_t out[TOKEN_HASH_LEN]) AL_MUST_CHECK;
/* Constant time in n. */
bool ct_memeq(const void *a, const void *b, size_t n);

/* base64 helpers used by token, seal and proxy auth. Output NUL-terminated;
 * returns length or a negative error. `url` selects the URL-safe alphabet
 * without padding. Decode refuses bad characters and bad padding. */
int b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t cap) AL_MUST_CHECK;
int b64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap) AL_MUST_CHECK;

#endif
