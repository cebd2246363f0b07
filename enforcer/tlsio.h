/* A TLS byte stream on top of another io (io.h): GnuTLS with memory
 * transport functions, so the layer below can be a TCP socket or, for
 * interception inside a CONNECT that arrived over TLS, another TLS stream.
 * The listener on --https-port wraps each accepted socket in one. */
#ifndef AIRLOCK_ENFORCER_TLSIO_H
#define AIRLOCK_ENFORCER_TLSIO_H

#include <gnutls/gnutls.h>

#include "common/error.h"
#include "enforcer/io.h"

/* Server side over `lower` (which the new io owns from now on) with the
 * listener's credentials; the handshake runs as bytes arrive; ALPN offers
 * h2 as well when h2 is set (tlsconf_server_session). */
int tlsio_server(struct io *lower, gnutls_certificate_credentials_t cred, bool h2, struct io **out) AL_MUST_CHECK;
struct tlsconf_resume;
/* Client side over `lower` (owned from now on; closed on failure) toward an
 * upstream: the certificate is verified for host (tlsconf_client_session),
 * the session resumed from `resume` when it holds one for host:port. The
 * ClientHello leaves at once; on_connect(0) reports the finished handshake,
 * on_error a failed one. ALPN offers h2 too with h2 set. */
int tlsio_client(struct io *lower, gnutls_certificate_credentials_t cred, const char *host,
		 struct tlsconf_resume *resume, uint16_t port, bool h2, struct io **out) AL_MUST_CHECK;
/* Hand ciphertext that arrived before the TLS io existed (bytes the client
 * sent right behind its CONNECT). */
void tlsio_feed(struct io *io, const char *buf, size_t n);
/* The GnuTLS session of a TLS io (NULL if io is not one). */
gnutls_session_t tlsio_session(struct io *io);

#endif
