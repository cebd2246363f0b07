/* airlock's CA: creation and loading of ca.key / ca.pem in the state dir, and
 * minting of leaves (listener certificate, per-host MITM leaves) signed by it.
 * Everything is ECDSA P-256 with SHA-256; certificates carry subject and
 * authority key identifiers because Python 3.13's default context checks
 * them. ca_mint_leaf may run on several threads at once with one struct ca
 * (see copy_issuer() for why that needs care). */
#include "config.h"

#include "common/ca.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "common/fileutil.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#define SERIAL_BYTES 16
#define KEY_ID_MAX 64
#define CN_MAX 64 /* ub-common-name (RFC 5280): longer names live in the SAN only */

/* A random positive 16-byte serial (RFC 5280: at most 20 octets, positive,
 * unpredictable). The top byte is forced into 0x40..0x7f so the DER integer
 * needs no leading zero and is never shorter than 16 bytes. */
static int
serial_random(gnutls_x509_crt_t crt)
{
	unsigned char serial[SERIAL_BYTES];

	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0)
		return AL_ECRYPTO;
	serial[0] = (unsigned char)((serial[0] & 0x3f) | 0x40);
	if (gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0)
		return AL_ECRYPTO;
	return 0;
}

/* A fresh ECDSA P-256 private key. */
static int
key_generate(gnutls_x509_privkey_t *out)
{
	gnutls_x509_privkey_t key = NULL;
	int err = AL_ECRYPTO;

	if (gnutls_x509_privkey_init(&key) < 0)
		goto out;
	if (gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0) < 0)
		goto out;
	*out = key;
	key = NULL;
	err = 0;
out:
	if (key)
		gnutls_x509_privkey_deinit(key);
	return err;
}

int
leaf_key_generate(gnutls_x509_privkey_t *key)
{
	return key_generate(key);
}

/* Subject key identifier of `key` (RFC 7093 method 1: truncated SHA-256 would
 * do too; GnuTLS's default SHA-1 of the public key is what every CA uses). */
static int
set_ski(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char id[KEY_ID_MAX];
	size_t idlen = sizeof(id);

	if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id, &idlen) < 0)
		return AL_ECRYPTO;
	if (gnutls_x509_crt_set_subject_key_id(crt, id, idlen) < 0)
		return AL_ECRYPTO;
	return 0;
}

static int
set_validity(gnutls_x509_crt_t crt, time_t now, time_t not_after)
{
	if (gnutls_x509_crt_set_activation_time(crt, now - LEAF_BACKDATE_SECONDS) < 0)
		return AL_ECRYPTO;
	if (gnutls_x509_crt_set_expiration_time(crt, not_after) < 0)
		return AL_ECRYPTO;
	return 0;
}

static int
build_ca_cert(gnutls_x509_privkey_t key, gnutls_x509_crt_t *out)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t signer = NULL;
	char host[256];
	char date[16];
	char cn[CN_MAX + 1];
	time_t now = time(NULL);
	struct tm tm;
	int err = AL_ECRYPTO;

	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	/* "airlock CA " + host + " " + date, the host cut so the CN fits 64. */
	snprintf(cn, sizeof(cn), "airlock CA %.*s %s",
		 (int)(CN_MAX - strlen("airlock CA ") - 1 - strlen(date)), host, date);

	if (gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (gnutls_x509_crt_set_version(crt, 3) < 0)
		goto out;
	if ((err = serial_random(crt)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "airlock",
					  strlen("airlock")) < 0)
		goto out;
	if (gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) < 0)
		goto out;
	if (gnutls_x509_crt_set_key(crt, key) < 0)
		goto out;
	if ((err = set_validity(crt, now, now + (time_t)CA_VALIDITY_DAYS * 24 * 3600)) < 0)
		goto out;
	err = AL_ECRYPTO;
	/* GnuTLS marks basicConstraints and keyUsage critical. */
	if (gnutls_x509_crt_set_basic_constraints(crt, 1, 0) < 0)
		goto out;
	if (gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) < 0)
		goto out;
	if ((err = set_ski(crt, key)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_privkey_init(&signer) < 0)
		goto out;
	if (gnutls_privkey_import_x509(signer, key, 0) < 0)
		goto out;
	if (gnutls_x509_crt_privkey_sign(crt, crt, signer, GNUTLS_DIG_SHA256, 0) < 0)
		goto out;
	*out = crt;
	crt = NULL;
	err = 0;
out:
	if (signer)
		gnutls_privkey_deinit(signer);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return err;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
ca_create(const char *dir, bool force)
{
	char *key_path = path_join(dir, CA_KEY_FILE);
	char *crt_path = path_join(dir, CA_CERT_FILE);
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 };
	gnutls_datum_t crt_pem = { NULL, 0 };
	int err;

	if (!force && (file_exists(key_path) || file_exists(crt_path))) {
		err = AL_EEXIST;
		goto out;
	}
	if ((err = key_generate(&key)) < 0)
		goto out;
	if ((err = build_ca_cert(key, &crt)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
					      &key_pem) < 0)
		goto out;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem) < 0)
		goto out;
	/* Key first: a crash between the two writes leaves a key without its
	 * certificate, which ca_ensure() replaces and ca_load() refuses (the
	 * key no longer matches); never a certificate whose key is lost. */
	if ((err = file_write_atomic(key_path, key_pem.data, key_pem.size, 0600)) < 0)
		goto out;
	if ((err = file_write_atomic(crt_path, crt_pem.data, crt_pem.size, 0600)) < 0)
		goto out;
	err = 0;
out:
	if (key_pem.data) {
		gnutls_memset(key_pem.data, 0, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(crt_pem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	free(key_path);
	free(crt_path);
	return err;
}

int
ca_ensure(const char *dir)
{
	char *key_path = path_join(dir, CA_KEY_FILE);
	char *crt_path = path_join(dir, CA_CERT_FILE);
	int err;

	if (!file_exists(crt_path))
		/* No certificate: nobody can trust this CA yet, so a stray key
		 * (a crash inside ca_create) is simply replaced. */
		err = ca_create(dir, true);
	else if (!file_exists(key_path))
		/* The certificate may already be trusted by sandboxes: do not
		 * silently replace it. `airlock ca init --force` does. */
		err = AL_ESTATE;
	else
		err = 0;
	free(key_path);
	free(crt_path);
	return err;
}

/* Does the key belong to the certificate? (Compares public key ids.) */
static int
key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char a[KEY_ID_MAX], b[KEY_ID_MAX];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &alen) < 0)
		return AL_ECRYPTO;
	if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &blen) < 0)
		return AL_ECRYPTO;
	if (alen != blen || memcmp(a, b, alen) != 0)
		return AL_ECRYPTO;
	return 0;
}

int
ca_load(const char *dir, struct ca *ca)
{
	char *key_path = path_join(dir, CA_KEY_FILE);
	char *crt_path = path_join(dir, CA_CERT_FILE);
	char *key_pem = NULL, *crt_pem = NULL;
	size_t key_len = 0, crt_len = 0;
	unsigned int is_ca = 0;
	gnutls_datum_t d;
	int err;

	memset(ca, 0, sizeof(*ca));
	if ((err = file_read_all(crt_path, AL_PEM_MAX, &crt_pem, &crt_len)) < 0)
		goto out;
	if ((err = file_read_all(key_path, AL_PEM_MAX, &key_pem, &key_len)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_init(&ca->crt) < 0) {
		ca->crt = NULL;
		goto out;
	}
	d.data = (unsigned char *)crt_pem;
	d.size = (unsigned)crt_len;
	if (gnutls_x509_crt_import(ca->crt, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	if (gnutls_x509_crt_get_basic_constraints(ca->crt, NULL, &is_ca, NULL) < 0 || !is_ca)
		goto out;
	if (gnutls_x509_privkey_init(&ca->key) < 0) {
		ca->key = NULL;
		goto out;
	}
	d.data = (unsigned char *)key_pem;
	d.size = (unsigned)key_len;
	/* import2 takes PKCS#8 ("PRIVATE KEY") and "EC PRIVATE KEY" alike. */
	if (gnutls_x509_privkey_import2(ca->key, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0)
		goto out;
	if ((err = key_matches(ca->crt, ca->key)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_privkey_init(&ca->privkey) < 0) {
		ca->privkey = NULL;
		goto out;
	}
	/* No copy: privkey borrows key; ca_free releases privkey first. */
	if (gnutls_privkey_import_x509(ca->privkey, ca->key, 0) < 0)
		goto out;
	err = 0;
out:
	if (err < 0)
		ca_free(ca);
	if (key_pem)
		secure_free(key_pem, key_len);
	free(crt_pem);
	free(key_path);
	free(crt_path);
	return err;
}

void
ca_free(struct ca *ca)
{
	if (!ca)
		return;
	if (ca->privkey)
		gnutls_privkey_deinit(ca->privkey);
	if (ca->key)
		gnutls_x509_privkey_deinit(ca->key);
	if (ca->crt)
		gnutls_x509_crt_deinit(ca->crt);
	memset(ca, 0, sizeof(*ca));
}

int
ca_cert_pem(const char *dir, char **pem, size_t *len)
{
	char *crt_path = path_join(dir, CA_CERT_FILE);
	int err = file_read_all(crt_path, AL_PEM_MAX, pem, len);

	free(crt_path);
	return err;
}

/* A private copy of the CA certificate for one mint. gnutls_x509_crt_privkey_sign
 * DER-encodes the issuer's subject out of the issuer's ASN.1 tree, and
 * libtasn1's encoder keeps scratch lengths in the tree's nodes: two threads
 * signing with one issuer object would race. So each mint parses its own
 * copy (tens of microseconds). Exporting the shared object only copies the
 * DER cached at import (ca_load); the lock is there in case a caller ever
 * hands in a CA built in memory, whose export re-encodes the tree. */
static pthread_mutex_t issuer_lock = PTHREAD_MUTEX_INITIALIZER;

static int
copy_issuer(const struct ca *ca, gnutls_x509_crt_t *out)
{
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;
	int rc, err = AL_ECRYPTO;

	pthread_mutex_lock(&issuer_lock);
	rc = gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_DER, &der);
	pthread_mutex_unlock(&issuer_lock);
	if (rc < 0)
		goto out;
	if (gnutls_x509_crt_init(&crt) < 0) {
		crt = NULL;
		goto out;
	}
	if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	*out = crt;
	crt = NULL;
	err = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(der.data);
	return err;
}

/* One SAN: an IP literal (v4, v6, v6 in brackets) as an iPAddress, anything
 * else as a dNSName (callers pass canonical names only). */
static int
add_san(gnutls_x509_crt_t crt, const char *name)
{
	unsigned char addr[16];
	char buf[64];
	size_t len = strlen(name);

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, name + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1)
			goto v6;
		return AL_EINVAL;
	}
	if (inet_pton(AF_INET, name, addr) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4,
							    GNUTLS_FSAN_APPEND) < 0 ? AL_ECRYPTO : 0;
	if (inet_pton(AF_INET6, name, addr) == 1)
		goto v6;
	if (len == 0 || len > AL_HOST_MAX)
		return AL_EINVAL;
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, (unsigned)len,
						    GNUTLS_FSAN_APPEND) < 0 ? AL_ECRYPTO : 0;
v6:
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16,
						    GNUTLS_FSAN_APPEND) < 0 ? AL_ECRYPTO : 0;
}

/* A certificate built in memory is only half a certificate to GnuTLS: the
 * cached raw issuer and subject names that verification and
 * gnutls_x509_crt_get_raw_*dn() use are filled in by import. Round-trip the
 * signed certificate through DER so callers get an ordinary parsed one. */
static int
reparse(gnutls_x509_crt_t *built, gnutls_x509_crt_t *out)
{
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;
	int err = AL_ECRYPTO;

	if (gnutls_x509_crt_export2(*built, GNUTLS_X509_FMT_DER, &der) < 0)
		goto out;
	if (gnutls_x509_crt_init(&crt) < 0) {
		crt = NULL;
		goto out;
	}
	if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	gnutls_x509_crt_deinit(*built);
	*built = NULL;
	*out = crt;
	crt = NULL;
	err = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(der.data);
	return err;
}

int
ca_mint_leaf(const struct ca *ca, gnutls_x509_privkey_t key, const char *const *names,
	     size_t nnames, unsigned validity, gnutls_x509_crt_t *out)
{
	gnutls_x509_crt_t crt = NULL, issuer = NULL;
	unsigned char aki[KEY_ID_MAX];
	size_t akilen = sizeof(aki);
	unsigned int critical = 0;
	time_t now = time(NULL);
	size_t i;
	int err = AL_EINVAL;

	*out = NULL;
	if (!ca || !ca->crt || !ca->privkey || !key || !names || nnames == 0 || validity == 0)
		goto out;
	for (i = 0; i < nnames; i++)
		if (!names[i] || !names[i][0] || strlen(names[i]) > AL_HOST_MAX)
			goto out;
	if ((err = copy_issuer(ca, &issuer)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_get_subject_key_id(issuer, aki, &akilen, &critical) < 0)
		goto out;
	if (gnutls_x509_crt_init(&crt) < 0) {
		crt = NULL;
		goto out;
	}
	if (gnutls_x509_crt_set_version(crt, 3) < 0)
		goto out;
	if ((err = serial_random(crt)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "airlock",
					  strlen("airlock")) < 0)
		goto out;
	if (strlen(names[0]) <= CN_MAX &&
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, names[0],
					  strlen(names[0])) < 0)
		goto out;
	for (i = 0; i < nnames; i++)
		if ((err = add_san(crt, names[i])) < 0)
			goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_set_key(crt, key) < 0)
		goto out;
	if ((err = set_validity(crt, now, now + (time_t)validity)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0)
		goto out;
	if (gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0)
		goto out;
	if (gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0)
		goto out;
	if ((err = set_ski(crt, key)) < 0)
		goto out;
	err = AL_ECRYPTO;
	if (gnutls_x509_crt_set_authority_key_id(crt, aki, akilen) < 0)
		goto out;
	if (gnutls_x509_crt_privkey_sign(crt, issuer, ca->privkey, GNUTLS_DIG_SHA256, 0) < 0)
		goto out;
	err = reparse(&crt, out);
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (issuer)
		gnutls_x509_crt_deinit(issuer);
	return err;
}
