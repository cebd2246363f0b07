/* Unit test of enforcer/tlsconf.c: the listener certificate verifies for
 * its SANs, ALPN lands on http/1.1 when a client offers h2 first (Codex),
 * a second connection resumes with a session ticket (TLS 1.3 and 1.2), the
 * upstream trust file is loaded or refused, and the SNI check. */
#include "config.h"

#include <time.h>

#include "enforcer/tlsconf.h"
#include "tests/unit/tlspair.h"

static struct ca ca;
static gnutls_certificate_credentials_t trust;

static const gnutls_datum_t alpn_codex[] = {
	{ (unsigned char *)"h2", 2 },
	{ (unsigned char *)"http/1.1", 8 },
};
static const gnutls_datum_t alpn_h2_only[] = { { (unsigned char *)"h2", 2 } };

struct client_opts {
	const char *verify_host;
	const gnutls_datum_t *alpn;     /* NULL: tlsconf's own (http/1.1) */
	unsigned nalpn;
	const char *priority;           /* NULL: tlsconf's */
	gnutls_datum_t *resume;         /* in: session data to resume with */
	gnutls_datum_t *save;           /* out: session data after the handshake */
};

struct result {
	int rc;
	int server_resumed, client_resumed;
	char alpn[16];  /* what the server selected, "" for none */
	int http11;     /* tlsconf_alpn_is_http11 on the server */
	int sni;        /* tlsconf_sni_check(server, sni_expect) */
};

static struct result
connect_once(gnutls_certificate_credentials_t server_cred, const struct client_opts *o,
	     const char *sni_expect)
{
	struct pair_side sv = { 0 }, cl = { 0 };
	struct result r = { .rc = -2, .sni = -99 };
	gnutls_datum_t sel = { NULL, 0 };

	if (tlsconf_server_session(&sv.s, server_cred, false) < 0)
		return r;
	if (o->alpn) {
		/* A foreign client with its own ALPN list. (Not tlsconf's
		 * client plus a second gnutls_alpn_set_protocols: GnuTLS 3.7.9
		 * appends to the first list instead of replacing it.) */
		CHECK(gnutls_init(&cl.s, GNUTLS_CLIENT) == 0);
		CHECK(gnutls_set_default_priority(cl.s) == 0);
		CHECK(gnutls_credentials_set(cl.s, GNUTLS_CRD_CERTIFICATE, trust) == 0);
		CHECK(gnutls_server_name_set(cl.s, GNUTLS_NAME_DNS, o->verify_host,
					     strlen(o->verify_host)) == 0);
		gnutls_session_set_verify_cert(cl.s, o->verify_host, 0);
		CHECK(gnutls_alpn_set_protocols(cl.s, o->alpn, o->nalpn, 0) == 0);
	} else if (tlsconf_client_session(&cl.s, trust, o->verify_host, false) < 0) {
		gnutls_deinit(sv.s);
		return r;
	}
	if (o->priority)
		CHECK(gnutls_priority_set_direct(cl.s, o->priority, NULL) == 0);
	if (o->resume)
		CHECK(gnutls_session_set_data(cl.s, o->resume->data, o->resume->size) == 0);
	r.rc = pair_run(&sv, &cl);
	if (r.rc == 0) {
		r.server_resumed = sv.resumed;
		r.client_resumed = cl.resumed;
		if (gnutls_alpn_get_selected_protocol(sv.s, &sel) == 0 && sel.size < sizeof(r.alpn)) {
			memcpy(r.alpn, sel.data, sel.size);
			r.alpn[sel.size] = '\0';
		}
		r.http11 = tlsconf_alpn_is_http11(sv.s);
		if (sni_expect)
			r.sni = tlsconf_sni_check(sv.s, sni_expect);
		if (o->save)
			CHECK(gnutls_session_get_data2(cl.s, o->save) == 0);
	}
	gnutls_deinit(sv.s);
	gnutls_deinit(cl.s);
	return r;
}

static void
test_listener(void)
{
	static const char *const sans[] = { "127.0.0.1", "proxy.local", "::1" };
	static const char *const unspec[] = { "0.0.0.0", "::" };
	gnutls_certificate_credentials_t cred = NULL, cred2 = NULL;
	struct result r;

	CHECK(tlsconf_listener_cred(&ca, sans, 3, &cred) == 0);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "127.0.0.1" }, NULL);
	CHECK(r.rc == 0);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local" }, NULL);
	CHECK(r.rc == 0);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "::1" }, NULL);
	CHECK(r.rc == 0);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "127.0.0.2" }, NULL);
	CHECK(r.rc == -1);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "other.local" }, NULL);
	CHECK(r.rc == -1);

	/* Only unspecified addresses: localhost and 127.0.0.1 instead. */
	CHECK(tlsconf_listener_cred(&ca, unspec, 2, &cred2) == 0);
	r = connect_once(cred2, &(struct client_opts){ .verify_host = "localhost" }, NULL);
	CHECK(r.rc == 0);
	r = connect_once(cred2, &(struct client_opts){ .verify_host = "127.0.0.1" }, NULL);
	CHECK(r.rc == 0);
	r = connect_once(cred2, &(struct client_opts){ .verify_host = "0.0.0.0" }, NULL);
	CHECK(r.rc == -1);
	gnutls_certificate_free_credentials(cred);
	gnutls_certificate_free_credentials(cred2);
}

static void
test_alpn_sni(gnutls_certificate_credentials_t cred)
{
	struct result r;

	/* Codex offers h2 first: it must land on http/1.1. */
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local", .alpn = alpn_codex,
						      .nalpn = 2 }, "proxy.local");
	CHECK(r.rc == 0 && strcmp(r.alpn, "http/1.1") == 0 && r.http11);
	CHECK(r.sni == 0);
	/* tlsconf's own client offers http/1.1. */
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local" }, "PROXY.local.");
	CHECK(r.rc == 0 && strcmp(r.alpn, "http/1.1") == 0 && r.http11);
	CHECK(r.sni == 0);
	/* h2 only: no ALPN agreed, but no failed handshake either. */
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local", .alpn = alpn_h2_only,
						      .nalpn = 1 }, "other.local");
	CHECK(r.rc == 0 && r.alpn[0] == '\0' && r.http11);
	CHECK(r.sni == AL_EDENIED);
	/* No SNI (an IP literal): nothing to mismatch. */
	r = connect_once(cred, &(struct client_opts){ .verify_host = "127.0.0.1" }, "proxy.local");
	CHECK(r.rc == 0 && r.sni == 0);
}

static void
test_resumption(gnutls_certificate_credentials_t cred, const char *priority, const char *label)
{
	gnutls_datum_t data = { NULL, 0 };
	struct result r;
	struct timespec a, b, c;

	clock_gettime(CLOCK_MONOTONIC, &a);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local", .priority = priority,
						      .save = &data }, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(r.rc == 0 && !r.server_resumed && !r.client_resumed);
	CHECK(data.size > 0);
	r = connect_once(cred, &(struct client_opts){ .verify_host = "proxy.local", .priority = priority,
						      .resume = &data }, NULL);
	clock_gettime(CLOCK_MONOTONIC, &c);
	CHECK(r.rc == 0);
	CHECK(r.server_resumed && r.client_resumed);
	printf("# %s: full handshake %.0f us, resumed %.0f us (both sides in-process)\n", label,
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3,
	       ((c.tv_sec - b.tv_sec) * 1e9 + (c.tv_nsec - b.tv_nsec)) / 1e3);
	gnutls_free(data.data);
}

/* The upstream store: a second connection to the same host:port resumes;
 * another port or host does not get the session. */
static int
resume_once(gnutls_certificate_credentials_t cred, struct tlsconf_resume *store, const char *host,
	    uint16_t port, int *resumed)
{
	struct pair_side sv = { 0 }, cl = { 0 };
	int rc = -2;

	if (tlsconf_server_session(&sv.s, cred, false) < 0)
		return rc;
	if (tlsconf_client_session(&cl.s, trust, host, false) < 0) {
		gnutls_deinit(sv.s);
		return rc;
	}
	tlsconf_resume_apply(store, cl.s, host, port);
	rc = pair_run(&sv, &cl);
	*resumed = cl.resumed;
	if (rc == 0)
		tlsconf_resume_store(store, cl.s, host, port);
	gnutls_deinit(sv.s);
	gnutls_deinit(cl.s);
	return rc;
}

static void
test_resume_store(gnutls_certificate_credentials_t cred)
{
	struct tlsconf_resume *store = NULL;
	int resumed = -1;

	CHECK(tlsconf_resume_new(0, &store) == AL_EINVAL);
	CHECK(tlsconf_resume_new(64, &store) == 0);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && !resumed);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && resumed);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && resumed);
	CHECK(resume_once(cred, store, "proxy.local", 8443, &resumed) == 0 && !resumed);
	CHECK(resume_once(cred, store, "127.0.0.1", 443, &resumed) == 0 && !resumed);
	tlsconf_resume_free(store);
	/* One slot: hosts evict each other, and nothing leaks across them. */
	CHECK(tlsconf_resume_new(1, &store) == 0);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && !resumed);
	CHECK(resume_once(cred, store, "127.0.0.1", 443, &resumed) == 0 && !resumed);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && !resumed);
	CHECK(resume_once(cred, store, "proxy.local", 443, &resumed) == 0 && resumed);
	tlsconf_resume_free(store);
}

static void
test_upstream_cred(void)
{
	gnutls_certificate_credentials_t c = NULL;
	char empty[700];
	FILE *f;

	CHECK(tlsconf_upstream_cred(NULL, &c) == 0);
	if (c)
		gnutls_certificate_free_credentials(c);
	c = NULL;
	CHECK(tlsconf_upstream_cred("/nonexistent/ca.pem", &c) == AL_ENOTFOUND && !c);
	snprintf(empty, sizeof(empty), "%s/empty.pem", ca_dir);
	f = fopen(empty, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("not a certificate\n", f);
		fclose(f);
	}
	CHECK(tlsconf_upstream_cred(empty, &c) == AL_EINVAL && !c);
	unlink(empty);
	/* Bad host names for the client side. */
	{
		gnutls_session_t s = NULL;

		CHECK(tlsconf_client_session(&s, trust, "", false) == AL_EINVAL && !s);
		CHECK(tlsconf_client_session(&s, trust, "[::1]", false) == AL_EINVAL && !s);
	}
}

int
main(void)
{
	static const char *const sans[] = { "127.0.0.1", "proxy.local" };
	gnutls_certificate_credentials_t cred = NULL;

	if (tmp_ca_load(&ca) < 0) {
		fprintf(stderr, "test-tlsconf: cannot create a CA\n");
		return 1;
	}
	if (tlsconf_upstream_cred(ca_pem_path, &trust) < 0) {
		fprintf(stderr, "test-tlsconf: cannot load the CA as trust\n");
		return 1;
	}
	test_listener();
	CHECK(tlsconf_listener_cred(&ca, sans, 2, &cred) == 0);
	if (cred) {
		test_alpn_sni(cred);
		test_resumption(cred, NULL, "TLS 1.3");
		test_resumption(cred, "NORMAL:-VERS-ALL:+VERS-TLS1.2", "TLS 1.2");
		test_resume_store(cred);
		gnutls_certificate_free_credentials(cred);
	}
	test_upstream_cred();
	gnutls_certificate_free_credentials(trust);
	ca_free(&ca);
	tmp_ca_remove();
	if (failures) {
		fprintf(stderr, "test-tlsconf: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test-tlsconf: ok\n");
	return 0;
}
