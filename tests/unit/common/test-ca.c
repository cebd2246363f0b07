/* Unit test of common/ca.c: the CA is created once with private files, loads
 * back, and mints leaves that verify against it with the key identifiers
 * and SANs that strict clients (Python 3.13, OpenSSL) check. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ca.h"
#include "common/fileutil.h"

static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static char dir[] = "/tmp/airlock-test-ca.XXXXXX";

static mode_t
file_mode(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void
test_create_load(void)
{
	struct ca ca;
	char *pem = NULL;
	size_t len = 0;
	unsigned char ski[64];
	size_t skilen = sizeof(ski);
	unsigned int critical = 0, is_ca = 0;
	int pathlen = -1;
	char cn[256];
	size_t cnlen = sizeof(cn);

	CHECK(ca_load(dir, &ca) < 0); /* nothing yet */
	CHECK(ca_create(dir, false) == 0);
	CHECK(file_mode(CA_KEY_FILE) == 0600);
	CHECK(file_mode(CA_CERT_FILE) == 0600);
	CHECK(ca_create(dir, false) == AL_EEXIST);
	CHECK(ca_ensure(dir) == 0);

	CHECK(ca_load(dir, &ca) == 0);
	CHECK(ca.crt && ca.key && ca.privkey);
	CHECK(gnutls_x509_crt_get_basic_constraints(ca.crt, &critical, &is_ca, &pathlen) >= 0);
	CHECK(is_ca && critical && pathlen == 0);
	CHECK(gnutls_x509_crt_get_subject_key_id(ca.crt, ski, &skilen, &critical) >= 0 && skilen > 0);
	CHECK(gnutls_x509_crt_get_dn_by_oid(ca.crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) >= 0);
	CHECK(strncmp(cn, "airlock CA ", 11) == 0);
	CHECK(gnutls_x509_crt_get_pk_algorithm(ca.crt, NULL) == GNUTLS_PK_ECDSA);
	ca_free(&ca);

	CHECK(ca_cert_pem(dir, &pem, &len) == 0);
	CHECK(pem && len > 0 && strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL);
	free(pem);

	/* force replaces: a different key. */
	{
		struct ca a, b;
		unsigned char ida[64], idb[64];
		size_t la = sizeof(ida), lb = sizeof(idb);

		CHECK(ca_load(dir, &a) == 0);
		CHECK(ca_create(dir, true) == 0);
		CHECK(ca_load(dir, &b) == 0);
		CHECK(gnutls_x509_crt_get_key_id(a.crt, 0, ida, &la) >= 0);
		CHECK(gnutls_x509_crt_get_key_id(b.crt, 0, idb, &lb) >= 0);
		CHECK(la != lb || memcmp(ida, idb, la) != 0);
		ca_free(&a);
		ca_free(&b);
	}
}

/* A CA dir where the key does not belong to the certificate is refused. */
static void
test_mismatch(void)
{
	char other[] = "/tmp/airlock-test-ca2.XXXXXX";
	char src[600], dst[600];
	char *buf = NULL;
	size_t len = 0;
	struct ca ca;

	CHECK(mkdtemp(other) != NULL);
	CHECK(ca_create(other, false) == 0);
	snprintf(src, sizeof(src), "%s/%s", dir, CA_CERT_FILE);
	CHECK(file_read_all(src, 1 << 16, &buf, &len) == 0);
	snprintf(dst, sizeof(dst), "%s/%s", other, CA_CERT_FILE);
	CHECK(file_write_atomic(dst, buf, len, 0600) == 0);
	free(buf);
	CHECK(ca_load(other, &ca) < 0);
	/* ca.pem present, ca.key missing: ca_ensure must not replace it. */
	snprintf(dst, sizeof(dst), "%s/%s", other, CA_KEY_FILE);
	CHECK(unlink(dst) == 0);
	CHECK(ca_ensure(other) == AL_ESTATE);
	snprintf(dst, sizeof(dst), "%s/%s", other, CA_CERT_FILE);
	CHECK(unlink(dst) == 0);
	CHECK(ca_ensure(other) == 0); /* nothing there: created */
	CHECK(ca_load(other, &ca) == 0);
	ca_free(&ca);
	snprintf(dst, sizeof(dst), "%s/%s", other, CA_CERT_FILE);
	unlink(dst);
	snprintf(dst, sizeof(dst), "%s/%s", other, CA_KEY_FILE);
	unlink(dst);
	rmdir(other);
}

struct san_want {
	const char *names[4];
	size_t n;
};

static const struct san_want san_table[] = {
	{ { "api.example.com" }, 1 },
	{ { "127.0.0.1", "airlock.local" }, 2 },
	{ { "::1" }, 1 },
	{ { "[2001:db8::7]", "a.b.example" }, 2 },
	{ { "xn--bcher-kva.example", "10.1.2.3", "*.wild.example" }, 3 },
	/* Longer than a CN may be (64): SAN only. */
	{ { "a-very-long-label-that-goes-on-and-on.another-long-label-here.example.com" }, 1 },
};

/* Does the certificate's SAN list hold exactly what names[] says, in order? */
static int
sans_match(gnutls_x509_crt_t crt, const struct san_want *w)
{
	size_t i;

	for (i = 0; i <= w->n; i++) {
		unsigned char buf[300];
		size_t len = sizeof(buf);
		unsigned int type;
		int rc = gnutls_x509_crt_get_subject_alt_name2(crt, (unsigned)i, buf, &len, &type, NULL);

		if (i == w->n)
			return rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
		if (rc < 0)
			return 0;
		{
			const char *name = w->names[i];
			char tmp[64];
			unsigned char addr[16];
			size_t nl = strlen(name);

			if (nl > 2 && name[0] == '[') {
				memcpy(tmp, name + 1, nl - 2);
				tmp[nl - 2] = '\0';
				name = tmp;
			}
			if (inet_pton(AF_INET, name, addr) == 1) {
				if (type != GNUTLS_SAN_IPADDRESS || len != 4 || memcmp(buf, addr, 4))
					return 0;
			} else if (inet_pton(AF_INET6, name, addr) == 1) {
				if (type != GNUTLS_SAN_IPADDRESS || len != 16 || memcmp(buf, addr, 16))
					return 0;
			} else if (type != GNUTLS_SAN_DNSNAME || len != strlen(name) ||
				   memcmp(buf, name, len)) {
				return 0;
			}
		}
	}
	return 1;
}

static int
verify_leaf(const struct ca *ca, gnutls_x509_crt_t leaf)
{
	gnutls_x509_crt_t list[2] = { leaf, ca->crt };
	gnutls_x509_crt_t trust[1] = { ca->crt };
	unsigned int status = 0;

	if (gnutls_x509_crt_list_verify(list, 2, trust, 1, NULL, 0, 0, &status) < 0)
		return -1;
	return (int)status;
}

/* openssl verify, when openssl is installed: an independent implementation
 * checking the chain, key usage, and the host name. Returns -1 to skip. */
static int
openssl_verify(gnutls_x509_crt_t leaf, const char *host, const char *ip)
{
	char leaf_path[600], ca_path[600], cmd[2000];
	gnutls_datum_t pem = { NULL, 0 };
	int rc;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return -1;
	snprintf(leaf_path, sizeof(leaf_path), "%s/leaf.pem", dir);
	snprintf(ca_path, sizeof(ca_path), "%s/%s", dir, CA_CERT_FILE);
	if (gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_PEM, &pem) < 0)
		return 1;
	rc = file_write_atomic(leaf_path, pem.data, pem.size, 0600);
	gnutls_free(pem.data);
	if (rc < 0)
		return 1;
	snprintf(cmd, sizeof(cmd),
		 "openssl verify -x509_strict -purpose sslserver %s%s %s%s -CAfile %s %s >/dev/null 2>&1",
		 host ? "-verify_hostname " : "", host ? host : "", ip ? "-verify_ip " : "",
		 ip ? ip : "", ca_path, leaf_path);
	rc = system(cmd);
	unlink(leaf_path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

static void
test_mint(void)
{
	struct ca ca;
	gnutls_x509_privkey_t key = NULL;
	size_t i;

	CHECK(ca_load(dir, &ca) == 0);
	CHECK(leaf_key_generate(&key) == 0);

	for (i = 0; i < sizeof(san_table) / sizeof(san_table[0]); i++) {
		const struct san_want *w = &san_table[i];
		gnutls_x509_crt_t leaf = NULL;
		unsigned char ski[64], aki[64], kid[64];
		size_t skilen = sizeof(ski), akilen = sizeof(aki), kidlen = sizeof(kid);
		unsigned int critical = 0, is_ca = 1, usage = 0;
		char oid[128];
		size_t oidlen = sizeof(oid);
		time_t now = time(NULL), nb, na;

		CHECK(ca_mint_leaf(&ca, key, w->names, w->n, LEAF_VALIDITY_SECONDS, &leaf) == 0);
		if (!leaf)
			continue;
		CHECK(verify_leaf(&ca, leaf) == 0);
		CHECK(sans_match(leaf, w));
		/* AKI == CA's SKI; SKI == the leaf key's id. */
		CHECK(gnutls_x509_crt_get_subject_key_id(ca.crt, ski, &skilen, &critical) >= 0);
		CHECK(gnutls_x509_crt_get_authority_key_id(leaf, aki, &akilen, &critical) >= 0);
		CHECK(akilen == skilen && memcmp(aki, ski, skilen) == 0);
		skilen = sizeof(ski);
		CHECK(gnutls_x509_crt_get_subject_key_id(leaf, ski, &skilen, &critical) >= 0);
		CHECK(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, kid, &kidlen) >= 0);
		CHECK(skilen == kidlen && memcmp(ski, kid, kidlen) == 0);
		CHECK(gnutls_x509_crt_get_basic_constraints(leaf, NULL, &is_ca, NULL) >= 0 && !is_ca);
		CHECK(gnutls_x509_crt_get_key_usage(leaf, &usage, &critical) >= 0);
		CHECK(usage == GNUTLS_KEY_DIGITAL_SIGNATURE && critical);
		CHECK(gnutls_x509_crt_get_key_purpose_oid(leaf, 0, oid, &oidlen, NULL) >= 0);
		CHECK(strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0);
		nb = gnutls_x509_crt_get_activation_time(leaf);
		na = gnutls_x509_crt_get_expiration_time(leaf);
		CHECK(nb <= now - LEAF_BACKDATE_SECONDS + 5 && nb >= now - LEAF_BACKDATE_SECONDS - 5);
		CHECK(na >= now + LEAF_VALIDITY_SECONDS - 5 && na <= now + LEAF_VALIDITY_SECONDS + 5);
		{
			char cn[128];
			size_t cnlen = sizeof(cn);
			int rc = gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
							       cn, &cnlen);

			if (strlen(w->names[0]) <= 64)
				CHECK(rc >= 0 && strcmp(cn, w->names[0]) == 0);
			else
				CHECK(rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
		}
		/* GnuTLS's own host name check, as the enforcer's clients do. */
		if (w->names[0][0] != '[' && !strchr(w->names[0], ':'))
			CHECK(gnutls_x509_crt_check_hostname(leaf, w->names[0]));
		CHECK(!gnutls_x509_crt_check_hostname(leaf, "other.example.org"));
		gnutls_x509_crt_deinit(leaf);
	}

	/* Independent check with OpenSSL, when it is there. */
	{
		const char *dns[] = { "api.example.com" };
		const char *ip[] = { "127.0.0.1" };
		gnutls_x509_crt_t leaf = NULL;
		int rc;

		CHECK(ca_mint_leaf(&ca, key, dns, 1, 3600, &leaf) == 0);
		rc = openssl_verify(leaf, "api.example.com", NULL);
		if (rc < 0) {
			printf("# openssl not installed: skipping openssl verify\n");
		} else {
			CHECK(rc == 0);
			CHECK(openssl_verify(leaf, "evil.example.com", NULL) != 0);
		}
		gnutls_x509_crt_deinit(leaf);
		leaf = NULL;
		CHECK(ca_mint_leaf(&ca, key, ip, 1, 3600, &leaf) == 0);
		if (rc >= 0) {
			CHECK(openssl_verify(leaf, NULL, "127.0.0.1") == 0);
			CHECK(openssl_verify(leaf, NULL, "127.0.0.2") != 0);
		}
		gnutls_x509_crt_deinit(leaf);
	}

	/* A leaf signed by another CA does not verify against ours. */
	{
		char other[] = "/tmp/airlock-test-ca3.XXXXXX";
		struct ca ca2;
		const char *dns[] = { "api.example.com" };
		gnutls_x509_crt_t leaf = NULL;
		char p[600];

		CHECK(mkdtemp(other) != NULL);
		CHECK(ca_create(other, false) == 0);
		CHECK(ca_load(other, &ca2) == 0);
		CHECK(ca_mint_leaf(&ca2, key, dns, 1, 3600, &leaf) == 0);
		CHECK(verify_leaf(&ca, leaf) != 0);
		gnutls_x509_crt_deinit(leaf);
		ca_free(&ca2);
		snprintf(p, sizeof(p), "%s/%s", other, CA_CERT_FILE);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s", other, CA_KEY_FILE);
		unlink(p);
		rmdir(other);
	}

	/* Bad input. */
	{
		const char *bad[] = { "" };
		gnutls_x509_crt_t leaf = NULL;

		CHECK(ca_mint_leaf(&ca, key, bad, 1, 3600, &leaf) == AL_EINVAL && !leaf);
		CHECK(ca_mint_leaf(&ca, key, bad, 0, 3600, &leaf) == AL_EINVAL && !leaf);
	}

	/* Mint time, printed for the record (not a timing test). */
	{
		const char *dns[] = { "timing.example.com" };
		struct timespec a, b;
		int n = 200, j;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (j = 0; j < n; j++) {
			gnutls_x509_crt_t leaf = NULL;

			CHECK(ca_mint_leaf(&ca, key, dns, 1, 3600, &leaf) == 0);
			gnutls_x509_crt_deinit(leaf);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("# ca_mint_leaf: %.1f us per leaf (%d leaves)\n",
		       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n, n);
	}

	gnutls_x509_privkey_deinit(key);
	ca_free(&ca);
}

int
main(void)
{
	char p[600];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_create_load();
	test_mismatch();
	test_mint();

	snprintf(p, sizeof(p), "%s/%s", dir, CA_CERT_FILE);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s", dir, CA_KEY_FILE);
	unlink(p);
	rmdir(dir);
	if (failures) {
		fprintf(stderr, "test-ca: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test-ca: ok\n");
	return 0;
}
