/* Where one TLS record ends, in a byte stream we only relay.
 *
 * A blind tunnel through the TLS listener wraps the client's own TLS
 * records in ours. Some clients (libcurl 7.88 with an https:// proxy, the
 * one Debian 12's git and curl use) stall when one of our records carries
 * the end of one inner record and the start of the next: the inner TLS
 * reads one record, the rest waits decrypted inside the outer TLS, and the
 * client goes back to poll(2) on a socket that has nothing more to say.
 * So the tunnel never lets one write span two inner records: tls_framer
 * cuts the stream at inner record boundaries. Bytes that do not look like
 * TLS records (a passthrough tunnel carrying SSH, say) turn it off for the
 * rest of the stream. */
#ifndef AIRLOCK_ENFORCER_TLSFRAME_H
#define AIRLOCK_ENFORCER_TLSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TLS 1.2 allows 2^14 + 2048 bytes of record payload; TLS 1.3 less. */
#define TLS_RECORD_PAYLOAD_MAX (16384 + 2048)

struct tls_framer {
	uint32_t left;        /* payload bytes of the current record still to come */
	uint8_t hdr[5];       /* the header being read, when it spans two reads */
	uint8_t hlen;
	bool off;             /* not TLS: no more cutting */
};

/* The length of the first piece of buf[0..n) that holds bytes of a single
 * record only (n itself once the framer is off); the state moves past it.
 * Call again on what follows until the buffer is used up. */
size_t tls_framer_next(struct tls_framer *f, const uint8_t *buf, size_t n);

#endif
