/* Test helpers for the TLS unit tests (test-leafcache, test-tlsconf): a
 * temporary CA, and a real handshake in-process between a server and a
 * client GnuTLS session over a socketpair, the server on its own thread.
 * Included by one test file each (static functions). */
#ifndef AIRLOCK_TEST_TLSPAIR_H
#define AIRLOCK_TEST_TLSPAIR_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "common/ca.h"

static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static char ca_dir[] = "/tmp/airlock-test-tls.XXXXXX";
static char ca_pem_path[600];

/* Create and load a CA in a temporary directory. */
static int
tmp_ca_load(struct ca *ca)
{
	if (!mkdtemp(ca_dir))
		return -1;
	snprintf(ca_pem_path, sizeof(ca_pem_path), "%s/%s", ca_dir, CA_CERT_FILE);
	if (ca_create(ca_dir, false) < 0)
		return -1;
	return ca_load(ca_dir, ca) < 0 ? -1 : 0;
}

static void
tmp_ca_remove(void)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/%s", ca_dir, CA_KEY_FILE);
	unlink(p);
	unlink(ca_pem_path);
	rmdir(ca_dir);
}

struct pair_side {
	gnutls_session_t s;
	int fd;
	int rc;       /* handshake result */
	int resumed;  /* gnutls_session_is_resumed after the handshake */
};

/* recv that retries what GnuTLS reports as non-fatal (a post-handshake
 * message such as a TLS 1.3 session ticket surfaces as GNUTLS_E_AGAIN). */
static ssize_t
recv_retry(gnutls_session_t s, void *buf, size_t len)
{
	ssize_t n;

	do
		n = gnutls_record_recv(s, buf, len);
	while (n < 0 && !gnutls_error_is_fatal((int)n));
	return n;
}

static int
handshake(gnutls_session_t s)
{
	int rc;

	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	return rc;
}

/* Server: handshake, send "hello" (after the TLS 1.3 tickets), then read
 * until the client goes away. */
static void *
pair_server(void *arg)
{
	struct pair_side *sv = arg;
	char buf[64];

	sv->rc = handshake(sv->s);
	if (sv->rc == 0) {
		sv->resumed = gnutls_session_is_resumed(sv->s);
		if (gnutls_record_send(sv->s, "hello", 5) != 5)
			sv->rc = -1;
		while (recv_retry(sv->s, buf, sizeof(buf)) > 0)
			;
	}
	shutdown(sv->fd, SHUT_RDWR); /* a client still in its handshake sees EOF */
	return NULL;
}

/* Run one handshake between server and client sessions (transport not yet
 * set). On success the client has read "hello" (so it holds any session
 * ticket). Returns 0 when both sides completed. The sessions stay usable for
 * inspection; the sockets are closed. */
static int
pair_run(struct pair_side *sv, struct pair_side *cl)
{
	int fds[2];
	pthread_t t;
	char buf[8];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return -1;
	sv->fd = fds[0];
	cl->fd = fds[1];
	gnutls_transport_set_int(sv->s, sv->fd);
	gnutls_transport_set_int(cl->s, cl->fd);
	sv->rc = cl->rc = -1;
	sv->resumed = cl->resumed = 0;
	if (pthread_create(&t, NULL, pair_server, sv) != 0)
		return -1;
	cl->rc = handshake(cl->s);
	if (cl->rc == 0) {
		cl->resumed = gnutls_session_is_resumed(cl->s);
		if (recv_retry(cl->s, buf, 5) != 5 || memcmp(buf, "hello", 5) != 0)
			cl->rc = -1;
	}
	shutdown(cl->fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv->fd);
	close(cl->fd);
	return sv->rc == 0 && cl->rc == 0 ? 0 : -1;
}

#endif
