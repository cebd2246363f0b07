/* Unit tests of common/seal.c: seal/open round trips, fresh nonces, refusal
 * of tampered, renamed, re-typed, re-hosted, truncated or foreign-key seals,
 * format 1 seals opened only as such, the key check, and the key file's
 * creation, permissions and parsing; the keyring without a Secret Service. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/limits.h"
#include "common/seal.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "tests/unit/unit.h"

static const struct seal_binding GH = { "gh", "bearer", "api.github.com" };

static void test_roundtrip(void)
{
	struct seal_key k, other;
	static const char *const values[] = { "hunter2", "", "a", "{\"refresh_token\":\"x\"}" };
	char *s1 = NULL, *s2 = NULL;
	uint8_t *pt = NULL;
	size_t len;

	CHECK(seal_key_generate(&k) == 0);
	CHECK(seal_key_generate(&other) == 0);
	CHECK(memcmp(k.k, other.k, SEAL_KEY_LEN) != 0);
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		const char *v = values[i];
		CHECK(seal_encrypt(&k, &GH, (const uint8_t *)v, strlen(v), &s1) == 0);
		CHECK(s1 && strncmp(s1, "v2:", 3) == 0, "%s", s1);
		CHECK(strlen(v) < 6 || strstr(s1, v) == NULL, "plaintext visible");
		CHECK(seal_decrypt(&k, &GH, s1, &pt, &len) == 0, "open \"%s\"", v);
		CHECK(pt && len == strlen(v) && memcmp(pt, v, len) == 0 && pt[len] == '\0', "\"%s\"", v);
		secure_free(pt, len);
		pt = NULL;
		/* Two seals of one value differ (fresh nonce). */
		CHECK(seal_encrypt(&k, &GH, (const uint8_t *)v, strlen(v), &s2) == 0);
		CHECK(strcmp(s1, s2) != 0, "two seals of \"%s\" are equal", v);
		/* Bound to its name, type and host: moved to another secret, or
		 * its type or host edited, it does not open. */
		static const struct seal_binding moved[] = {
			{ "gh2", "bearer", "api.github.com" }, { "g", "bearer", "api.github.com" },
			{ "", "bearer", "api.github.com" }, { "gh", "basic", "api.github.com" },
			{ "gh", "bearer", "evil.example" }, { "gh", "bearer", "*.github.com" },
			{ "gh", "bearer", "api.github.co" }, { "gh", "", "api.github.com" },
			/* the fields' boundaries are part of the binding */
			{ "ghb", "earer", "api.github.com" }, { "gh", "bearerapi.github.com", "" },
		};
		for (size_t m = 0; m < sizeof moved / sizeof moved[0]; m++)
			CHECK(seal_decrypt(&k, &moved[m], s1, &pt, &len) == AL_ECRYPTO, "moved %zu", m);
		CHECK(pt == NULL && len == 0);
		/* A v2 seal is no format 1 seal. */
		CHECK(seal_decrypt_v1(&k, "gh", s1, &pt, &len) == AL_EINVAL);
		/* Another key does not open it. */
		CHECK(seal_decrypt(&other, &GH, s1, &pt, &len) == AL_ECRYPTO);
		free(s1);
		free(s2);
	}
	seal_key_wipe(&k);
	seal_key_wipe(&other);
}

static void test_tamper(void)
{
	struct seal_key k;
	char *s = NULL, *t = NULL;
	uint8_t blob[256], *pt = NULL;
	size_t len;
	int n;

	CHECK(seal_key_generate(&k) == 0);
	static const struct seal_binding NAME = { "name", "bearer", "h.example" };
	CHECK(seal_encrypt(&k, &NAME, (const uint8_t *)"secret value", 12, &s) == 0);
	n = b64_decode(s + 3, strlen(s + 3), false, blob, sizeof blob);
	CHECK(n == 12 + 12 + 16, "blob %d", n);
	/* Flip each byte of nonce, ciphertext and tag in turn: every one is refused. */
	for (int i = 0; i < n; i++) {
		char txt[400];
		blob[i] ^= 0x01;
		memcpy(txt, "v2:", 3);
		CHECK(b64_encode(blob, (size_t)n, false, txt + 3, sizeof txt - 3) > 0);
		CHECK(seal_decrypt(&k, &NAME, txt, &pt, &len) == AL_ECRYPTO, "byte %d flipped", i);
		blob[i] ^= 0x01;
	}
	/* Malformed text. */
	static const char *const bad[] = { "", "v2:", "v3:AAAA", "AAAA", "v2:!!!!", "v2:AAAA",
					   "v2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1:AAAA" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(seal_decrypt(&k, &NAME, bad[i], &pt, &len) == AL_EINVAL, "\"%s\"", bad[i]);
	/* Truncated by one character. */
	t = xstrdup(s);
	t[strlen(t) - 1] = '\0';
	CHECK(seal_decrypt(&k, &NAME, t, &pt, &len) < 0);
	free(t);
	/* Good seal still opens. */
	CHECK(seal_decrypt(&k, &NAME, s, &pt, &len) == 0 && len == 12);
	secure_free(pt, len);
	free(s);

	/* The largest secret value round-trips. */
	{
		uint8_t *big = xmalloc(AL_SECRET_VALUE_MAX);
		memset(big, 'v', AL_SECRET_VALUE_MAX);
		static const struct seal_binding BIG = { "big", "bearer", "h.example" };
		CHECK(seal_encrypt(&k, &BIG, big, AL_SECRET_VALUE_MAX, &s) == 0);
		CHECK(seal_decrypt(&k, &BIG, s, &pt, &len) == 0 && len == AL_SECRET_VALUE_MAX &&
		      memcmp(pt, big, len) == 0);
		secure_free(pt, len);
		free(s);
		free(big);
	}
	seal_key_wipe(&k);
}

/* A format 1 seal (the name alone bound), made by the old code path's
 * layout: opened by seal_decrypt_v1 only, under its name only. */
static void test_v1_and_check(void)
{
	static const char v1[] = "v1:AAECAwQFBgcICQoLe5bYZx7RB1HELPB/CLmCvyE1homJJAQ=";
	struct seal_key k, other;
	uint8_t *pt = NULL;
	size_t len;
	char *check = NULL;

	memset(k.k, 0x11, sizeof k.k);
	CHECK(seal_decrypt_v1(&k, "gh", v1, &pt, &len) == 0 && len == 7 && memcmp(pt, "hunter2", 7) == 0);
	secure_free(pt, len);
	CHECK(seal_decrypt_v1(&k, "gh2", v1, &pt, &len) == AL_ECRYPTO);
	CHECK(seal_decrypt(&k, &GH, v1, &pt, &len) == AL_EINVAL, "a v1 seal is refused by the v2 opener");
	/* the key check: opens under its key only, and is no secret's seal */
	CHECK(seal_key_generate(&other) == 0);
	CHECK(seal_check_make(&k, &check) == 0 && strncmp(check, "v2:", 3) == 0);
	CHECK(seal_check_verify(&k, check) == 0);
	CHECK(seal_check_verify(&other, check) == AL_ECRYPTO);
	CHECK(seal_decrypt(&k, &GH, check, &pt, &len) == AL_ECRYPTO);
	static const struct seal_binding empty = { "", "", "" };
	CHECK(seal_decrypt(&k, &empty, check, &pt, &len) == AL_ECRYPTO);
	CHECK(seal_check_verify(&k, "v2:AAAA") < 0 && seal_check_verify(&k, "") < 0);
	free(check);
	seal_key_wipe(&k);
	seal_key_wipe(&other);
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
}

static void test_key_file(void)
{
	char dir[] = "/tmp/airlock-test-seal.XXXXXX";
	struct seal_key k1, k2;
	char *path, *content = NULL;
	size_t len;
	struct stat st;
	static const char hex[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

	CHECK(mkdtemp(dir) != NULL);
	path = path_join(dir, "seal.key");

	CHECK(seal_key_load_file(path, false, &k1) == AL_ENOTFOUND);
	CHECK(seal_key_load_file(path, true, &k1) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o", st.st_mode & 0777);
	CHECK(file_read_all(path, 1024, &content, &len) == 0 && len == 65 && content[64] == '\n');
	free(content);
	CHECK(seal_key_load_file(path, false, &k2) == 0);
	CHECK(memcmp(k1.k, k2.k, SEAL_KEY_LEN) == 0, "reload gives the same key");
	CHECK(seal_key_load_file(path, true, &k2) == 0 && memcmp(k1.k, k2.k, SEAL_KEY_LEN) == 0,
	      "create never replaces an existing key");

	/* Group or other bits: refused, not fixed. */
	chmod(path, 0640);
	CHECK(seal_key_load_file(path, false, &k2) == AL_EPERM);
	chmod(path, 0604);
	CHECK(seal_key_load_file(path, true, &k2) == AL_EPERM);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0604, "mode left alone");

	write_file(path, hex, 0600);
	CHECK(seal_key_load_file(path, false, &k2) == 0, "64 hex without newline");
	CHECK(k2.k[0] == 0x00 && k2.k[1] == 0x11 && k2.k[31] == 0xff);
	{
		static const char *const torn[] = {
			"", "0011", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
			"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
			"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\n",
			"00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
			" 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		};
		for (size_t i = 0; i < sizeof torn / sizeof torn[0]; i++) {
			write_file(path, torn[i], 0600);
			CHECK(seal_key_load_file(path, true, &k2) == AL_EINVAL, "torn \"%s\"", torn[i]);
		}
	}
	/* A symlink is not followed. */
	unlink(path);
	{
		char *target = path_join(dir, "real.key");
		write_file(target, hex, 0600);
		CHECK(symlink(target, path) == 0);
		CHECK(seal_key_load_file(path, false, &k2) < 0, "symlinked key refused");
		unlink(target);
		free(target);
	}
	unlink(path);
	/* No temp files left behind by creation. */
	CHECK(seal_key_load_file(path, true, &k2) == 0);
	unlink(path);
	CHECK(rmdir(dir) == 0, "directory empty after cleanup");
	free(path);
	seal_key_wipe(&k1);
	seal_key_wipe(&k2);
}

static void test_keyring_unavailable(void)
{
	struct seal_key k;

	/* No Secret Service on this bus: the keyring backend says so. */
	setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/airlock-test-bus", 1);
	CHECK(seal_key_load_keyring("/tmp/airlock-state", true, &k) == AL_EUNAVAIL);
	CHECK(seal_key_load_keyring("/tmp/airlock-state", false, &k) == AL_EUNAVAIL);
}

int main(void)
{
	test_roundtrip();
	test_tamper();
	test_v1_and_check();
	test_key_file();
	test_keyring_unavailable();
	return unit_finish("test-seal");
}
