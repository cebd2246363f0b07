/* TLS set-up for both sides of the enforcer: listener and upstream
 * credentials, and the per-session configuration (versions, ALPN, tickets,
 * SNI, verification). Owns the process-wide priority cache and session-ticket
 * key; see tlsconf.h for what is safe across threads. */
#include "config.h"

#include "enforcer/tlsconf.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/limits.h"
#include "common/xmalloc.h"

static const gnutls_datum_t alpn_http11 = { (unsigned char *)"http/1.1", 8 };
/* h2 first: with server precedence a client offering both speaks h2 */
static const gnutls_datum_t alpn_h2_http11[2] = { { (unsigned char *)"h2", 2 }, { (unsigned char *)"http/1.1", 8 } };
static const gnutls_datum_t alpn_h2 = { (unsigned char *)"h2", 2 };

/* Made once per process. The ticket key never leaves memory: a restart of
 * the enforcer only costs the sandboxes one full handshake each. GnuTLS
 * derives rotating ticket-encryption keys from it (TLS 1.3 STEK rotation). */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_err;
static gnutls_priority_t priority;
static gnutls_datum_t ticket_key;

static void
global_init(void)
{
	if (gnutls_priority_init2(&priority, TLSCONF_PRIORITY, NULL, 0) < 0) {
		global_err = AL_ECRYPTO;
		return;
	}
	if (gnutls_session_ticket_key_generate(&ticket_key) < 0)
		global_err = AL_ECRYPTO;
}

static int
global_get(void)
{
	pthread_once(&global_once, global_init);
	return global_err;
}

/* Is s an IP literal ("[v6]" included)? Copies the bare address into buf. */
static bool
ip_literal(const char *s, char *buf, size_t cap)
{
	unsigned char addr[16];
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len >= cap)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

static bool
unspecified(const char *s)
{
	char buf[64];

	if (!ip_literal(s, buf, sizeof(buf)))
		return false;
	return strcmp(buf, "0.0.0.0") == 0 || strcmp(buf, "::") == 0 || strcmp(buf, "0:0:0:0:0:0:0:0") == 0;
}

/* cred takes a chain of leaf + CA and its own copy of key. The CA goes in
 * from a DER copy, so ca->crt itself is only exported (which, for a
 * certificate loaded from a file, copies its cached DER: safe while other
 * threads mint with the same CA). */
static int
cred_with_chain(const struct ca *ca, gnutls_x509_crt_t leaf, gnutls_x509_privkey_t key,
		gnutls_certificate_credentials_t *out)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t ca_der = { NULL, 0 };
	gnutls_pcert_st pcerts[2];
	unsigned npcerts = 0;
	gnutls_privkey_t pk = NULL;
	int err = AL_ECRYPTO;

	if (gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_DER, &ca_der) < 0)
		goto out;
	if (gnutls_pcert_import_x509(&pcerts[0], leaf, 0) < 0)
		goto out;
	npcerts = 1;
	if (gnutls_pcert_import_x509_raw(&pcerts[1], &ca_der, GNUTLS_X509_FMT_DER, 0) < 0)
		goto out;
	npcerts = 2;
	if (gnutls_privkey_init(&pk) < 0) {
		pk = NULL;
		goto out;
	}
	if (gnutls_privkey_import_x509(pk, key, GNUTLS_PRIVKEY_IMPORT_COPY) < 0)
		goto out;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		cred = NULL;
		goto out;
	}
	if (gnutls_certificate_set_key(cred, NULL, 0, pcerts, 2, pk) < 0)
		goto out;
	npcerts = 0; /* owned by cred now, as is pk */
	pk = NULL;
	*out = cred;
	cred = NULL;
	err = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (pk)
		gnutls_privkey_deinit(pk);
	while (npcerts > 0)
		gnutls_pcert_deinit(&pcerts[--npcerts]);
	gnutls_free(ca_der.data);
	return err;
}

int
tlsconf_listener_cred(const struct ca *ca, const char *const *sans, size_t n,
		      gnutls_certificate_credentials_t *out)
{
	static const char *const fallback[] = { "localhost", "127.0.0.1" };
	const char **names = xcalloc(n + 1, sizeof(*names));
	size_t i, nn = 0;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t leaf = NULL;
	int err;

	for (i = 0; i < n; i++)
		if (sans[i] && !unspecified(sans[i]))
			names[nn++] = sans[i];
	if ((err = leaf_key_generate(&key)) < 0)
		goto out;
	if (nn)
		err = ca_mint_leaf(ca, key, names, nn, TLSCONF_LISTENER_VALIDITY_SECONDS, &leaf);
	else
		err = ca_mint_leaf(ca, key, fallback, 2, TLSCONF_LISTENER_VALIDITY_SECONDS, &leaf);
	if (err < 0)
		goto out;
	err = cred_with_chain(ca, leaf, key, out);
out:
	if (leaf)
		gnutls_x509_crt_deinit(leaf);
	if (key)
		gnutls_x509_privkey_deinit(key);
	free(names);
	return err;
}

int
tlsconf_upstream_cred(const char *upstream_ca_file, gnutls_certificate_credentials_t *out)
{
	gnutls_certificate_credentials_t cred = NULL;
	int rc, err = AL_ECRYPTO;

	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		cred = NULL;
		goto out;
	}
	/* No system store (a minimal container) is not fatal when a private
	 * CA file is given; the handshake fails closed either way. */
	if (gnutls_certificate_set_x509_system_trust(cred) < 0 && !upstream_ca_file)
		goto out;
	if (upstream_ca_file) {
		rc = gnutls_certificate_set_x509_trust_file(cred, upstream_ca_file, GNUTLS_X509_FMT_PEM);
		if (rc == GNUTLS_E_FILE_ERROR) {
			err = AL_ENOTFOUND;
			goto out;
		}
		if (rc <= 0) {
			err = AL_EINVAL;
			goto out;
		}
	}
	*out = cred;
	cred = NULL;
	err = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return err;
}

int
tlsconf_server_session(gnutls_session_t *s, gnutls_certificate_credentials_t cred, bool h2)
{
	gnutls_session_t session = NULL;
	int err;

	if ((err = global_get()) < 0)
		return err;
	err = AL_ECRYPTO;
	/* NO_SIGNAL: a sandbox that hangs up must not SIGPIPE the enforcer. */
	if (gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		session = NULL;
		goto out;
	}
	if (gnutls_priority_set(session, priority) < 0)
		goto out;
	if (gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto out;
	/* Only what we speak. Without GNUTLS_ALPN_MANDATORY a client that
	 * offers neither simply gets no ALPN answer (and speaks HTTP/1.1). */
	if (gnutls_alpn_set_protocols(session, h2 ? alpn_h2_http11 : &alpn_http11, h2 ? 2 : 1,
				      GNUTLS_ALPN_SERVER_PRECEDENCE) < 0)
		goto out;
	if (gnutls_session_ticket_enable_server(session, &ticket_key) < 0)
		goto out;
	*s = session;
	session = NULL;
	err = 0;
out:
	if (session)
		gnutls_deinit(session);
	return err;
}

int
tlsconf_client_session(gnutls_session_t *s, gnutls_certificate_credentials_t cred, const char *sni_host, bool h2)
{
	gnutls_session_t session = NULL;
	unsigned char addr[16];
	bool is_ip;
	int err;

	if ((err = global_get()) < 0)
		return err;
	err = AL_EINVAL;
	/* Canonical hosts only: an IPv6 literal comes without brackets. */
	if (!sni_host || !sni_host[0] || sni_host[0] == '[' || strlen(sni_host) > AL_HOST_MAX)
		goto out;
	is_ip = inet_pton(AF_INET, sni_host, addr) == 1 || inet_pton(AF_INET6, sni_host, addr) == 1;
	err = AL_ECRYPTO;
	/* one key share (X25519): a server that wants another group asks for it
	 * (HelloRetryRequest); the default second share is a P-256 key made
	 * for nothing on almost every handshake */
	if (gnutls_init(&session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_KEY_SHARE_TOP) < 0) {
		session = NULL;
		goto out;
	}
	if (gnutls_priority_set(session, priority) < 0)
		goto out;
	if (gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto out;
	if (gnutls_alpn_set_protocols(session, h2 ? alpn_h2_http11 : &alpn_http11, h2 ? 2 : 1, 0) < 0)
		goto out;
	/* RFC 6066: no SNI for an address. */
	if (!is_ip && gnutls_server_name_set(session, GNUTLS_NAME_DNS, sni_host, strlen(sni_host)) < 0)
		goto out;
	/* GnuTLS keeps this pointer, not a copy (hence the lifetime rule in
	 * tlsconf.h). An IP literal is checked against iPAddress SANs. */
	gnutls_session_set_verify_cert(session, sni_host, 0);
	*s = session;
	session = NULL;
	err = 0;
out:
	if (session)
		gnutls_deinit(session);
	return err;
}

struct resume_slot {
	char *host;          /* NULL: empty */
	uint16_t port;
	gnutls_datum_t data; /* gnutls_session_get_data2 */
};

struct tlsconf_resume {
	pthread_mutex_t lock;
	struct resume_slot *slots;
	size_t nslots;
};

int
tlsconf_resume_new(size_t slots, struct tlsconf_resume **out)
{
	struct tlsconf_resume *r;

	if (slots == 0 || slots > (1u << 20))
		return AL_EINVAL;
	r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->slots = xcalloc(slots, sizeof(*r->slots));
	r->nslots = slots;
	*out = r;
	return 0;
}

static void
slot_clear(struct resume_slot *sl)
{
	free(sl->host);
	sl->host = NULL;
	if (sl->data.data) {
		/* Session data holds the resumption secret. */
		gnutls_memset(sl->data.data, 0, sl->data.size);
		gnutls_free(sl->data.data);
	}
	sl->data.data = NULL;
	sl->data.size = 0;
}

void
tlsconf_resume_free(struct tlsconf_resume *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nslots; i++)
		slot_clear(&r->slots[i]);
	free(r->slots);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct resume_slot *
slot_for(struct tlsconf_resume *r, const char *host, uint16_t port)
{
	uint32_t h = fnv1a_mix(fnv1a_str(FNV1A_INIT, host), port);
	return &r->slots[h % r->nslots];
}

void
tlsconf_resume_apply(struct tlsconf_resume *r, gnutls_session_t s, const char *host, uint16_t port)
{
	struct resume_slot *sl;
	unsigned char *copy = NULL;
	size_t len = 0;

	pthread_mutex_lock(&r->lock);
	sl = slot_for(r, host, port);
	if (sl->host && sl->port == port && strcmp(sl->host, host) == 0) {
		len = sl->data.size;
		copy = xmalloc(len);
		memcpy(copy, sl->data.data, len);
	}
	pthread_mutex_unlock(&r->lock);
	if (!copy)
		return;
	/* Unusable data (expired, other parameters) just means no resumption. */
	(void)gnutls_session_set_data(s, copy, len);
	secure_free(copy, len);
}

void
tlsconf_resume_store(struct tlsconf_resume *r, gnutls_session_t s, const char *host, uint16_t port)
{
	struct resume_slot *sl;
	gnutls_datum_t data = { NULL, 0 };

	if (gnutls_protocol_get_version(s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return; /* no ticket yet: the data would not resume */
	if (gnutls_session_get_data2(s, &data) < 0)
		return;
	pthread_mutex_lock(&r->lock);
	sl = slot_for(r, host, port);
	slot_clear(sl);
	sl->host = xstrdup(host);
	sl->port = port;
	sl->data = data;
	pthread_mutex_unlock(&r->lock);
}

int
tlsconf_sni_check(gnutls_session_t s, const char *canon_host)
{
	char name[AL_HOST_MAX + 2];
	size_t len = sizeof(name), hlen;
	unsigned int type = 0;
	int rc;

	rc = gnutls_server_name_get(s, name, &len, &type, 0);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (rc < 0 || type != GNUTLS_NAME_DNS)
		return AL_EDENIED;
	len = strnlen(name, sizeof(name));
	if (len && name[len - 1] == '.')
		len--;
	hlen = strlen(canon_host);
	if (hlen && canon_host[hlen - 1] == '.')
		hlen--;
	if (len != hlen || strncasecmp(name, canon_host, len) != 0)
		return AL_EDENIED;
	return 0;
}

bool
tlsconf_alpn_is_h2(gnutls_session_t s)
{
	gnutls_datum_t p = { NULL, 0 };

	if (gnutls_alpn_get_selected_protocol(s, &p) < 0)
		return false;
	return p.size == alpn_h2.size && memcmp(p.data, alpn_h2.data, p.size) == 0;
}

bool
tlsconf_alpn_is_http11(gnutls_session_t s)
{
	gnutls_datum_t p = { NULL, 0 };

	if (gnutls_alpn_get_selected_protocol(s, &p) < 0)
		return true;
	return p.size == alpn_http11.size && memcmp(p.data, alpn_http11.data, p.size) == 0;
}
