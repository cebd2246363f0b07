/* airlock's certificate authority: an ECDSA P-256 key and a self-signed CA
 * certificate in the state dir (ca.key and ca.pem, both 0600), made by
 * `airlock ca init` or on the first `airlock up`. Leaves (the TLS listener's
 * certificate and the per-host MITM leaves) are minted here: ECDSA P-256,
 * authority and subject key identifiers (Python 3.13 checks them), short
 * validity, SANs as DNS names or IP addresses. */
#ifndef AIRLOCK_CA_H
#define AIRLOCK_CA_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CA_KEY_FILE "ca.key"
#define CA_CERT_FILE "ca.pem"
#define CA_VALIDITY_DAYS 3650
#define LEAF_VALIDITY_SECONDS (7 * 24 * 3600)
#define LEAF_BACKDATE_SECONDS 3600 /* tolerate a sandbox clock a little behind */

struct ca {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_privkey_t privkey; /* abstract view of key, for signing */
};

/* Create ca.key and ca.pem in dir. AL_EEXIST when they exist and !force. */
int ca_create(const char *dir, bool force) AL_MUST_CHECK;
/* Create when missing, else leave alone. */
int ca_ensure(const char *dir) AL_MUST_CHECK;
int ca_load(const char *dir, struct ca *ca) AL_MUST_CHECK;
void ca_free(struct ca *ca);
/* The PEM text of ca.pem (malloc'd). */
int ca_cert_pem(const char *dir, char **pem, size_t *len) AL_MUST_CHECK;

/* A fresh ECDSA P-256 key for leaves. */
int leaf_key_generate(gnutls_x509_privkey_t *key) AL_MUST_CHECK;
/* Mint a leaf for `names` (each a canonical DNS name or an IP literal; the
 * first is the subject CN) with `key`, signed by ca, valid from now - backdate
 * for validity seconds. */
int ca_mint_leaf(const struct ca *ca, gnutls_x509_privkey_t key, const char *const *names,
		 size_t nnames, unsigned validity, gnutls_x509_crt_t *out) AL_MUST_CHECK;

#endif
