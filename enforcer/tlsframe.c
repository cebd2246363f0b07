/* TLS record boundaries in a relayed stream (see tlsframe.h). */
#include "config.h"

#include "tlsframe.h"


/* content types 20..24: change_cipher_spec, alert, handshake,
 * application_data, heartbeat; every version on the wire is 3.x */
static bool header_ok(const uint8_t h[5], uint32_t *len)
{
	*len = (uint32_t)h[3] << 8 | h[4];
	return h[0] >= 20 && h[0] <= 24 && h[1] == 3 && *len <= TLS_RECORD_PAYLOAD_MAX;
}

size_t tls_framer_next(struct tls_framer *f, const uint8_t *buf, size_t n)
{
	size_t used = 0;
	if (f->off || n == 0)
		return n;
	if (f->left == 0) {
		while (f->hlen < sizeof f->hdr && used < n)
			f->hdr[f->hlen++] = buf[used++];
		if (f->hlen < sizeof f->hdr)
			return used;              /* the header goes on in the next read */
		f->hlen = 0;
		if (!header_ok(f->hdr, &f->left)) {
			f->off = true;
			return n;
		}
	}
	size_t body = n - used < f->left ? n - used : f->left;
	f->left -= (uint32_t)body;
	return used + body;
}
