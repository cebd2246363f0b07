/* Sealing of secret values at rest: AES-256-GCM (GnuTLS AEAD), a fresh
 * 96-bit nonce per seal, and what the value means bound as associated data:
 * the secret's name, type and bound host, so a sealed value moved to another
 * name, or whose type or host is edited, does not open. Format (text, JSON):
 *   "v2:" base64(nonce || ciphertext || tag)
 * "v1:" seals (state format 1) bound the name alone; they are only opened to
 * migrate them (seal_decrypt_v1). The seal key is 32 bytes: a 0600 file
 * (hex), or the OS keyring. */
#ifndef AIRLOCK_SEAL_H
#define AIRLOCK_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SEAL_KEY_LEN 32

struct seal_key {
	uint8_t k[SEAL_KEY_LEN];
};

int seal_key_generate(struct seal_key *key) AL_MUST_CHECK;
/* Load a key file (64 hex chars and an optional newline). Refuses a file
 * readable by group or others, a short or torn file. With create, a missing
 * file is made (0600, atomically). */
int seal_key_load_file(const char *path, bool create, struct seal_key *key) AL_MUST_CHECK;
/* OS keyring (libsecret), when built with it: AL_EUNAVAIL otherwise or when
 * no Secret Service answers. With create, a missing key is generated and stored. */
int seal_key_load_keyring(const char *state_dir, bool create, struct seal_key *key) AL_MUST_CHECK;
void seal_key_wipe(struct seal_key *key);

/* What a sealed value is bound to: it opens only under the same three. */
struct seal_binding {
	const char *name;
	const char *type;
	const char *host;
};

/* out is malloc'd text; free with free(). */
int seal_encrypt(const struct seal_key *key, const struct seal_binding *bind, const uint8_t *pt,
		 size_t len, char **out) AL_MUST_CHECK;
/* pt is malloc'd (NUL-terminated for convenience, *len excludes it); wipe it
 * with secure_free(pt, *len) when done. AL_ECRYPTO when the tag, key or
 * binding does not match; AL_EINVAL when it is not a "v2:" seal. */
int seal_decrypt(const struct seal_key *key, const struct seal_binding *bind, const char *sealed,
		 uint8_t **pt, size_t *len) AL_MUST_CHECK;
/* A format 1 seal ("v1:", the name alone bound): for the migration only. */
int seal_decrypt_v1(const struct seal_key *key, const char *name, const char *sealed, uint8_t **pt,
		    size_t *len) AL_MUST_CHECK;

/* A check value sealed under the key (with its own associated data, so it
 * is no secret's seal): proves on load that this key is the state's key,
 * told apart from a secret whose binding was edited. */
int seal_check_make(const struct seal_key *key, char **out) AL_MUST_CHECK;
int seal_check_verify(const struct seal_key *key, const char *check) AL_MUST_CHECK;

#endif
