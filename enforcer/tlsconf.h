/* TLS configuration of the enforcer, in one place: the credentials of the
 * :3129 listener and of the upstream side, and how each session is set up
 * (protocol versions, ALPN, session tickets, SNI, certificate verification).
 *
 * Threads: credentials returned here are built once and then only read; a
 * gnutls_certificate_credentials_t may be shared by sessions on every worker
 * thread (GnuTLS documents credentials as shareable once set up). The
 * process-wide priority cache and session-ticket key are made once, on first
 * use, under pthread_once; tlsconf_server_session and tlsconf_client_session
 * may be called from any thread at any time. A gnutls_session_t itself
 * belongs to one thread. */
#ifndef AIRLOCK_TLSCONF_H
#define AIRLOCK_TLSCONF_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ca.h"
#include "common/error.h"

/* TLS 1.2 and 1.3 only: what every client of the last decade speaks. The
 * ciphers and groups are NORMAL's, reordered for the cost of a handshake:
 * AES-128-GCM first (its TLS 1.3 key schedule is SHA-256, which the CPU
 * does in hardware; SHA-384 it does not), X25519 first (cheaper than
 * P-256, and what clients send a key share for). */
#define TLSCONF_PRIORITY                                                                       \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"                                           \
	":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:+AES-256-CCM"  \
	":+AES-128-CBC:+AES-256-CBC"                                                           \
	":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"         \
	":+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144"     \
	":+GROUP-FFDHE8192:%SERVER_PRECEDENCE"
/* The listener certificate lives as long as the enforcer process; 397 days
 * is the longest validity any mainstream client accepts for a leaf. */
#define TLSCONF_LISTENER_VALIDITY_SECONDS (397 * 24 * 3600)

/* Credentials of the TLS proxy listener: a fresh ECDSA P-256 key and a leaf
 * signed by ca for `sans` (the bind address and the --san names; unspecified
 * addresses 0.0.0.0 and :: are skipped, and with nothing left "localhost" and
 * 127.0.0.1 are used), served with the CA certificate as chain. */
int tlsconf_listener_cred(const struct ca *ca, const char *const *sans, size_t n,
			  gnutls_certificate_credentials_t *out) AL_MUST_CHECK;

/* Credentials for upstream connections: the system trust store plus, when
 * upstream_ca_file is not NULL, the PEM certificates in it (AL_EINVAL when the
 * file holds none, AL_ENOTFOUND when it cannot be read). */
int tlsconf_upstream_cred(const char *upstream_ca_file, gnutls_certificate_credentials_t *out) AL_MUST_CHECK;

/* A server session toward a sandbox using cred (the listener's or a leaf's):
 * TLSCONF_PRIORITY, ALPN offering h2 then http/1.1 with h2 set (an
 * intercepted tunnel: h2.c speaks it), http/1.1 only without (the :3129
 * proxy listener: the proxy protocol is HTTP/1.1); a client that offers
 * none of them gets no ALPN, not a failed handshake. Session tickets under
 * the process's ticket key so a sandbox's second connection resumes
 * instead of a full handshake. */
int tlsconf_server_session(gnutls_session_t *s, gnutls_certificate_credentials_t cred, bool h2) AL_MUST_CHECK;
/* Note for both session kinds: do not call gnutls_alpn_set_protocols() on
 * them again: GnuTLS 3.7.9 appends to the list already set, and the stale
 * entry it then sends breaks the handshake. */

/* A client session toward an upstream: SNI for DNS names only (never for an
 * IP literal, RFC 6066 §3), the certificate verified during the handshake
 * for sni_host (a canonical host: DNS name, or IP literal without brackets,
 * checked against iPAddress SANs; AL_EINVAL otherwise), ALPN h2 and
 * http/1.1 with h2 set (the origin picks; h2up.h), http/1.1 alone without.
 * sni_host must stay valid and unchanged for the session's whole life:
 * gnutls_session_set_verify_cert() keeps the pointer, not a copy (keep the
 * connection's canonical host string until gnutls_deinit). */
int tlsconf_client_session(gnutls_session_t *s, gnutls_certificate_credentials_t cred,
			   const char *sni_host, bool h2) AL_MUST_CHECK;

/* Upstream session resumption: a bounded store of the newest session data
 * per host:port, so that a new upstream connection to a host we spoke to
 * recently skips the full handshake (and its certificate verification,
 * done once for the session that is resumed). Direct-mapped: two hosts that
 * share a slot evict each other; a miss only costs a full handshake.
 * Thread-safe. Keys are canonical hosts: a session is only ever offered
 * to the host:port it was verified for. */
struct tlsconf_resume;
int tlsconf_resume_new(size_t slots, struct tlsconf_resume **out) AL_MUST_CHECK;
void tlsconf_resume_free(struct tlsconf_resume *r);
/* Before the handshake of a session from tlsconf_client_session. */
void tlsconf_resume_apply(struct tlsconf_resume *r, gnutls_session_t s, const char *host, uint16_t port);
/* After a successful handshake. Under TLS 1.3 the ticket arrives after the
 * handshake, so call it once the first response bytes have been read (it
 * does nothing while no ticket has arrived; calling it again is harmless). */
void tlsconf_resume_store(struct tlsconf_resume *r, gnutls_session_t s, const char *host, uint16_t port);

/* After (or during) a server handshake: does the SNI the sandbox sent name
 * canon_host? 0 when it does or when the client sent none (clients omit it
 * for IP literals), AL_EDENIED otherwise (log reason "sni-mismatch").
 * Compares case-insensitively and ignores one trailing dot. */
int tlsconf_sni_check(gnutls_session_t s, const char *canon_host) AL_MUST_CHECK;

/* True when the negotiated ALPN protocol is h2. */
bool tlsconf_alpn_is_h2(gnutls_session_t s);
/* True when the negotiated ALPN protocol is http/1.1 or none was negotiated. */
bool tlsconf_alpn_is_http11(gnutls_session_t s);

#endif
