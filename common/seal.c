/* Sealing of secret values at rest (AES-256-GCM, fresh nonce, the secret's
 * name, type and host bound as associated data), the key check value, and the seal key's two homes: a 0600 hex
 * file, or the OS keyring through libsecret when built with it. */
#include "config.h"

#include "common/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "common/limits.h"
#include "common/token.h"
#include "common/xmalloc.h"

#define SEAL_PREFIX_V1 "v1:"
#define SEAL_PREFIX "v2:"
#define SEAL_PREFIX_LEN 3
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
/* Domain separation: a sealed secret value and nothing else. The NUL keeps
 * "airlock-secret" + "x" apart from any other prefix + name (format 1). */
#define SEAL_AAD_V1 "airlock-secret"
/* Format 2: the prefix, then name, type and host, each as a 2-byte
 * big-endian length and its bytes, so no two bindings share an encoding. */
#define SEAL_AAD_V2 "airlock-secret-v2"
#define SEAL_AAD_CHECK "airlock-seal-check"
#define SEAL_CHECK_TEXT "airlock seal key check"
#define SEAL_KEY_HEX_LEN (2 * SEAL_KEY_LEN)

int seal_key_generate(struct seal_key *key)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, key->k, sizeof key->k) < 0)
		return AL_ECRYPTO;
	return 0;
}

void seal_key_wipe(struct seal_key *key)
{
	if (key)
		secure_wipe(key->k, sizeof key->k);
}

static void key_to_hex(const struct seal_key *key, char hex[SEAL_KEY_HEX_LEN + 2])
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		hex[2 * i] = hx[key->k[i] >> 4];
		hex[2 * i + 1] = hx[key->k[i] & 15];
	}
	hex[SEAL_KEY_HEX_LEN] = '\n';
	hex[SEAL_KEY_HEX_LEN + 1] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* 64 hex characters and at most one newline: a torn or padded key is refused
 * rather than half-used. */
static int key_from_hex(const char *s, size_t len, struct seal_key *key)
{
	if (len == SEAL_KEY_HEX_LEN + 1 && s[SEAL_KEY_HEX_LEN] == '\n')
		len--;
	if (len != SEAL_KEY_HEX_LEN)
		return AL_EINVAL;
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return AL_EINVAL;
		key->k[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int key_file_read(const char *path, struct seal_key *key)
{
	char buf[SEAL_KEY_HEX_LEN + 8];
	struct stat st;
	size_t n = 0;
	int fd, rc = AL_EIO;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? AL_ENOTFOUND : errno == EACCES ? AL_EPERM : AL_EIO;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		rc = AL_EINVAL;
		goto out;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		rc = AL_EPERM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sizeof buf)
			break;
	}
	rc = key_from_hex(buf, n, key);
out:
	secure_wipe(buf, sizeof buf);
	close(fd);
	return rc;
}

/* Create the key file without ever replacing one: write a private temp
 * file, then link(2) it into place, which fails if another process won the
 * race. Replacing a seal key would make every sealed secret unreadable. */
static int key_file_create(const char *path, struct seal_key *key)
{
	char hex[SEAL_KEY_HEX_LEN + 2];
	char *tmp = NULL;
	size_t plen = strlen(path);
	int fd = -1, rc;
	ssize_t w;

	rc = seal_key_generate(key);
	if (rc < 0)
		goto out;
	key_to_hex(key, hex);
	tmp = xmalloc(plen + sizeof ".tmp.XXXXXX");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
	rc = AL_EIO;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) < 0)
		goto out;
	do
		w = write(fd, hex, SEAL_KEY_HEX_LEN + 1);
	while (w < 0 && errno == EINTR);
	if (w != SEAL_KEY_HEX_LEN + 1 || fsync(fd) < 0)
		goto out;
	if (link(tmp, path) < 0) {
		rc = errno == EEXIST ? AL_EEXIST : AL_EIO;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (rc == 0) {
		/* Make the new name durable. */
		char *slash = strrchr(path, '/');
		char *dir = slash ? (slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path)))
				  : xstrdup(".");
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			if (fsync(dfd) < 0)
				rc = AL_EIO;
			close(dfd);
		}
		free(dir);
	}
	secure_wipe(hex, sizeof hex);
	if (rc < 0)
		seal_key_wipe(key);
	return rc;
}

int seal_key_load_file(const char *path, bool create, struct seal_key *key)
{
	int rc = key_file_read(path, key);

	if (rc == AL_ENOTFOUND && create) {
		rc = key_file_create(path, key);
		if (rc == AL_EEXIST)
			rc = key_file_read(path, key); /* lost the race: use the winner's */
	}
	if (rc < 0)
		seal_key_wipe(key);
	return rc;
}

#ifdef HAVE_LIBSECRET
static const SecretSchema seal_schema = {
	.name = "org.airlock.SealKey",
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ "state_dir", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};
#endif

int seal_key_load_keyring(const char *state_dir, bool create, struct seal_key *key)
{
#ifdef HAVE_LIBSECRET
	GError *error = NULL;
	gchar *stored;
	char hex[SEAL_KEY_HEX_LEN + 2];
	int rc = AL_EUNAVAIL;

	stored = secret_password_lookup_sync(&seal_schema, NULL, &error, "state_dir", state_dir, NULL);
	if (error)
		goto out;
	if (stored) {
		rc = key_from_hex(stored, strlen(stored), key);
		goto out;
	}
	if (!create) {
		rc = AL_ENOTFOUND;
		goto out;
	}
	rc = seal_key_generate(key);
	if (rc < 0)
		goto out;
	key_to_hex(key, hex);
	hex[SEAL_KEY_HEX_LEN] = '\0';
	if (!secret_password_store_sync(&seal_schema, SECRET_COLLECTION_DEFAULT, "airlock seal key",
					hex, NULL, &error, "state_dir", state_dir, NULL))
		rc = AL_EUNAVAIL;
	secure_wipe(hex, sizeof hex);
out:
	if (stored)
		secret_password_free(stored);
	if (error)
		g_error_free(error);
	if (rc < 0)
		seal_key_wipe(key);
	return rc;
#else
	(void)state_dir;
	(void)create;
	seal_key_wipe(key);
	return AL_EUNAVAIL;
#endif
}

static int aead_open(const struct seal_key *key, gnutls_aead_cipher_hd_t *h)
{
	gnutls_datum_t k = { (unsigned char *)key->k, SEAL_KEY_LEN };

	if (gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
		return AL_ECRYPTO;
	return 0;
}

struct aad {
	uint8_t *p;
	size_t len;
};

static void aad_put(struct aad *a, const void *data, size_t n)
{
	memcpy(a->p + a->len, data, n);
	a->len += n;
}

/* prefix (with its NUL), then each field length-prefixed (v2) or the bare
 * name (v1); fields past 64 KiB cannot be bound and are refused. */
static int aad_make(struct aad *a, const char *prefix, const char *const *fields, size_t nfields,
		    bool lengths)
{
	size_t cap = strlen(prefix) + 1;
	for (size_t i = 0; i < nfields; i++) {
		if (strlen(fields[i]) > UINT16_MAX)
			return AL_ETOOBIG;
		cap += 2 + strlen(fields[i]);
	}
	a->p = xmalloc(cap);
	a->len = 0;
	aad_put(a, prefix, strlen(prefix) + 1);
	for (size_t i = 0; i < nfields; i++) {
		size_t n = strlen(fields[i]);
		uint8_t be[2] = { (uint8_t)(n >> 8), (uint8_t)n };
		if (lengths)
			aad_put(a, be, 2);
		aad_put(a, fields[i], n);
	}
	return 0;
}

static int aad_binding(struct aad *a, const struct seal_binding *b)
{
	const char *f[3] = { b->name, b->type, b->host };
	if (!b->name || !b->type || !b->host)
		return AL_EINVAL;
	return aad_make(a, SEAL_AAD_V2, f, 3, true);
}

static int seal_with(const struct seal_key *key, const struct aad *a, const uint8_t *pt, size_t len,
		     char **out)
{
	gnutls_aead_cipher_hd_t h = NULL;
	uint8_t *blob = NULL;
	size_t bloblen, ctlen, txtcap;
	char *txt = NULL;
	int rc = AL_ECRYPTO, n;

	*out = NULL;
	if (len > AL_STATE_FILE_MAX) {
		rc = AL_ETOOBIG;
		goto out;
	}
	bloblen = SEAL_NONCE_LEN + len + SEAL_TAG_LEN;
	blob = xmalloc(bloblen);
	if (gnutls_rnd(GNUTLS_RND_NONCE, blob, SEAL_NONCE_LEN) < 0)
		goto out;
	if (aead_open(key, &h) < 0)
		goto out;
	ctlen = len + SEAL_TAG_LEN;
	if (gnutls_aead_cipher_encrypt(h, blob, SEAL_NONCE_LEN, a->p, a->len, SEAL_TAG_LEN, pt, len,
				       blob + SEAL_NONCE_LEN, &ctlen) < 0 ||
	    ctlen != len + SEAL_TAG_LEN)
		goto out;
	txtcap = SEAL_PREFIX_LEN + 1 + (bloblen + 2) / 3 * 4 + 1;
	txt = xmalloc(txtcap);
	memcpy(txt, SEAL_PREFIX, SEAL_PREFIX_LEN);
	n = b64_encode(blob, bloblen, false, txt + SEAL_PREFIX_LEN, txtcap - SEAL_PREFIX_LEN);
	if (n < 0) {
		rc = n;
		goto out;
	}
	*out = txt;
	txt = NULL;
	rc = 0;
out:
	if (h)
		gnutls_aead_cipher_deinit(h);
	free(txt);
	free(blob);
	return rc;
}

static int open_with(const struct seal_key *key, const char *prefix, const struct aad *a,
		     const char *sealed, uint8_t **pt, size_t *len)
{
	gnutls_aead_cipher_hd_t h = NULL;
	uint8_t *blob = NULL, *plain = NULL;
	size_t slen, bcap = 0, plen = 0;
	int rc = AL_EINVAL, n;

	*pt = NULL;
	*len = 0;
	if (!sealed || strncmp(sealed, prefix, SEAL_PREFIX_LEN) != 0)
		goto out;
	sealed += SEAL_PREFIX_LEN;
	slen = strlen(sealed);
	if (slen > (size_t)AL_STATE_FILE_MAX * 2) {
		rc = AL_ETOOBIG;
		goto out;
	}
	bcap = slen / 4 * 3 + 1;
	blob = xmalloc(bcap);
	n = b64_decode(sealed, slen, false, blob, bcap);
	if (n < 0) {
		rc = AL_EINVAL;
		goto out;
	}
	if ((size_t)n < SEAL_NONCE_LEN + SEAL_TAG_LEN)
		goto out;
	rc = AL_ECRYPTO;
	if (aead_open(key, &h) < 0)
		goto out;
	plen = (size_t)n - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	plain = xmalloc(plen + 1);
	if (gnutls_aead_cipher_decrypt(h, blob, SEAL_NONCE_LEN, a->p, a->len, SEAL_TAG_LEN,
				       blob + SEAL_NONCE_LEN, (size_t)n - SEAL_NONCE_LEN, plain,
				       &plen) < 0)
		goto out;
	plain[plen] = '\0';
	*pt = plain;
	*len = plen;
	plain = NULL;
	rc = 0;
out:
	if (h)
		gnutls_aead_cipher_deinit(h);
	if (plain)
		secure_free(plain, plen + 1);
	if (blob)
		secure_free(blob, bcap);
	return rc;
}

int seal_encrypt(const struct seal_key *key, const struct seal_binding *bind, const uint8_t *pt,
		 size_t len, char **out)
{
	struct aad a;
	int rc = aad_binding(&a, bind);
	*out = NULL;
	if (rc < 0)
		return rc;
	rc = seal_with(key, &a, pt, len, out);
	free(a.p);
	return rc;
}

int seal_decrypt(const struct seal_key *key, const struct seal_binding *bind, const char *sealed,
		 uint8_t **pt, size_t *len)
{
	struct aad a;
	int rc = aad_binding(&a, bind);
	*pt = NULL;
	*len = 0;
	if (rc < 0)
		return rc;
	rc = open_with(key, SEAL_PREFIX, &a, sealed, pt, len);
	free(a.p);
	return rc;
}

int seal_decrypt_v1(const struct seal_key *key, const char *name, const char *sealed, uint8_t **pt,
		    size_t *len)
{
	struct aad a;
	int rc = aad_make(&a, SEAL_AAD_V1, &name, 1, false);
	*pt = NULL;
	*len = 0;
	if (rc < 0)
		return rc;
	rc = open_with(key, SEAL_PREFIX_V1, &a, sealed, pt, len);
	free(a.p);
	return rc;
}

int seal_check_make(const struct seal_key *key, char **out)
{
	struct aad a;
	int rc = aad_make(&a, SEAL_AAD_CHECK, NULL, 0, true);
	if (rc < 0)
		return rc;
	rc = seal_with(key, &a, (const uint8_t *)SEAL_CHECK_TEXT, strlen(SEAL_CHECK_TEXT), out);
	free(a.p);
	return rc;
}

int seal_check_verify(const struct seal_key *key, const char *check)
{
	struct aad a;
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc = aad_make(&a, SEAL_AAD_CHECK, NULL, 0, true);
	if (rc < 0)
		return rc;
	rc = open_with(key, SEAL_PREFIX, &a, check, &pt, &len);
	free(a.p);
	if (rc == 0 && (len != strlen(SEAL_CHECK_TEXT) || memcmp(pt, SEAL_CHECK_TEXT, len) != 0))
		rc = AL_ECRYPTO;
	if (pt)
		secure_free(pt, len);
	return rc;
}
