/* Unit tests of common/token.c: token generation and validation, hashing,
 * constant-time compare, and both base64 codecs (RFC 4648 vectors, strict
 * decoding, output caps). */
#include "config.h"

#include <string.h>

#include "common/limits.h"
#include "common/token.h"
#include "tests/unit/unit.h"

static void test_generate_validate(void)
{
	char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1], buf[AL_TOKEN_MAX + 2];
	static const struct {
		const char *in;
		int rc;
	} cases[] = {
		{ "alk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 },
		{ "abcdefghijklmnopqrstuvwx", 0 },            /* 24 printable */
		{ "abcdefghijklmnopqrstuvw", AL_EINVAL },     /* 23 */
		{ "abcdefghijkl mnopqrstuvwx", AL_EINVAL },   /* space */
		{ "abcdefghijkl\tmnopqrstuvwx", AL_EINVAL },
		{ "abcdefghijklmnopqrstuvwx\x7f", AL_EINVAL },
		{ "abcdefghijklmnopqrstuvwx\xc3\xa9", AL_EINVAL },
		{ "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", 0 },
		{ "", AL_EINVAL },
	};

	CHECK(token_generate(a) == 0);
	CHECK(token_generate(b) == 0);
	CHECK(strlen(a) == TOKEN_LEN && strncmp(a, TOKEN_PREFIX, 4) == 0, "%s", a);
	CHECK(strcmp(a, b) != 0, "two tokens differ");
	CHECK(strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
	CHECK(token_validate(a) == 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(token_validate(cases[i].in) == cases[i].rc, "\"%s\"", cases[i].in);
	CHECK(token_validate(NULL) == AL_EINVAL);
	memset(buf, 'x', AL_TOKEN_MAX);
	buf[AL_TOKEN_MAX] = '\0';
	CHECK(token_validate(buf) == 0, "AL_TOKEN_MAX");
	buf[AL_TOKEN_MAX] = 'x';
	buf[AL_TOKEN_MAX + 1] = '\0';
	CHECK(token_validate(buf) == AL_EINVAL, "AL_TOKEN_MAX + 1");
}

static void test_hash(void)
{
	char hex[TOKEN_HASH_HEX_LEN + 1], upper[TOKEN_HASH_HEX_LEN + 1];
	uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];

	token_hash_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
	token_hash_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256()");
	token_hash("abc", 3, h1);
	CHECK(token_hash_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", h2) == 0);
	CHECK(memcmp(h1, h2, TOKEN_HASH_LEN) == 0);
	strcpy(upper, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
	CHECK(token_hash_from_hex(upper, h2) == 0 && memcmp(h1, h2, TOKEN_HASH_LEN) == 0);
	CHECK(token_hash_from_hex("ba7816bf", h2) == AL_EINVAL, "short");
	CHECK(token_hash_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a", h2) == AL_EINVAL, "63");
	CHECK(token_hash_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add", h2) == AL_EINVAL, "65");
	CHECK(token_hash_from_hex("za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", h2) == AL_EINVAL, "non-hex");
	CHECK(token_hash_from_hex(NULL, h2) == AL_EINVAL);

	CHECK(ct_memeq("abcd", "abcd", 4));
	CHECK(!ct_memeq("abcd", "abce", 4));
	CHECK(!ct_memeq("xbcd", "abcd", 4));
	CHECK(ct_memeq("a", "b", 0));
}

static void test_b64(void)
{
	static const struct {
		const char *raw, *std, *url;
	} vec[] = {
		{ "", "", "" },
		{ "f", "Zg==", "Zg" },
		{ "fo", "Zm8=", "Zm8" },
		{ "foo", "Zm9v", "Zm9v" },
		{ "foob", "Zm9vYg==", "Zm9vYg" },
		{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
		{ "\xfb\xff", "+/8=", "-_8" },
		{ "\xfb\xef\xbe", "++++", "----" },
	};
	static const struct {
		const char *in;
		bool url;
	} bad[] = {
		{ "Zg=", false }, { "Zg", false }, { "Zh==", false }, { "Zm9=", false },
		{ "Z===", false }, { "====", false }, { "Zg==Zg==", false }, { "Zm9v\n", false },
		{ "Zm 9", false }, { "-_8=", false }, { "Zg=a", false },
		{ "Zg==", true }, { "+/8", true }, { "Z", true }, { "Zh", true }, { "Zm9vY", true },
	};
	char out[64];
	uint8_t dec[64];

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		size_t rl = strlen(vec[i].raw);
		int n = b64_encode((const uint8_t *)vec[i].raw, rl, false, out, sizeof out);
		CHECK(n == (int)strlen(vec[i].std), "std len of \"%s\"", vec[i].std);
		CHECK_STR(out, vec[i].std, "std encode");
		n = b64_encode((const uint8_t *)vec[i].raw, rl, true, out, sizeof out);
		CHECK(n == (int)strlen(vec[i].url));
		CHECK_STR(out, vec[i].url, "url encode");
		n = b64_decode(vec[i].std, strlen(vec[i].std), false, dec, sizeof dec);
		CHECK(n == (int)rl && memcmp(dec, vec[i].raw, rl) == 0, "std decode \"%s\"", vec[i].std);
		n = b64_decode(vec[i].url, strlen(vec[i].url), true, dec, sizeof dec);
		CHECK(n == (int)rl && memcmp(dec, vec[i].raw, rl) == 0, "url decode \"%s\"", vec[i].url);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(b64_decode(bad[i].in, strlen(bad[i].in), bad[i].url, dec, sizeof dec) == AL_EINVAL,
		      "refuses \"%s\" (%s)", bad[i].in, bad[i].url ? "url" : "std");

	/* Output caps: exactly enough (with the NUL) works, one less refuses. */
	CHECK(b64_encode((const uint8_t *)"foo", 3, false, out, 5) == 4);
	CHECK(b64_encode((const uint8_t *)"foo", 3, false, out, 4) == AL_ETOOBIG);
	CHECK(b64_encode((const uint8_t *)"fo", 2, true, out, 4) == 3);
	CHECK(b64_encode((const uint8_t *)"fo", 2, true, out, 3) == AL_ETOOBIG);
	CHECK(b64_decode("Zm9v", 4, false, dec, 4) == 3);
	CHECK(b64_decode("Zm9v", 4, false, dec, 3) == AL_ETOOBIG);
}

int main(void)
{
	test_generate_validate();
	test_hash();
	test_b64();
	return unit_finish("test-token");
}
