/* SOCKS5 messages (RFC 1928, RFC 1929): a strict parser that accepts only
 * what the plain listener serves (CONNECT, username/password) and says with
 * which code to refuse the rest, the replies, and the HTTP CONNECT head a
 * SOCKS request becomes. A message is parsed from the start of the buffer
 * each time; a prefix asks for more, never for a guess. */
#include "config.h"

#include "socks5.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/token.h"
#include "common/xmalloc.h"

enum socks5_parse socks5_parse_greeting(const uint8_t *b, size_t n, size_t *used)
{
	if (n < 1)
		return SOCKS5_NEED_MORE;
	if (b[0] != SOCKS5_VERSION)
		return SOCKS5_REFUSE;
	if (n < 2)
		return SOCKS5_NEED_MORE;
	size_t nm = b[1];
	if (nm == 0)
		return SOCKS5_REFUSE;
	if (n < 2 + nm)
		return SOCKS5_NEED_MORE;
	*used = 2 + nm;
	/* A client that offers only "no authentication" has no token to give:
	 * there is no anonymous use of airlock. */
	for (size_t i = 0; i < nm; i++)
		if (b[2 + i] == SOCKS5_METHOD_USERPASS)
			return SOCKS5_DONE;
	return SOCKS5_REFUSE;
}

enum socks5_parse socks5_parse_auth(const uint8_t *b, size_t n, size_t *used, struct socks5_cred *cred)
{
	if (n < 1)
		return SOCKS5_NEED_MORE;
	if (b[0] != SOCKS5_AUTH_VERSION)
		return SOCKS5_REFUSE;
	if (n < 2)
		return SOCKS5_NEED_MORE;
	size_t ulen = b[1];
	if (ulen == 0)
		return SOCKS5_REFUSE;
	if (n < 3 + ulen)
		return SOCKS5_NEED_MORE;
	size_t plen = b[2 + ulen];
	if (plen == 0)
		return SOCKS5_REFUSE;
	if (n < 3 + ulen + plen)
		return SOCKS5_NEED_MORE;
	/* a token is printable: a control byte (NUL included) is no token */
	for (size_t i = 0; i < plen; i++)
		if (b[3 + ulen + i] < 0x20 || b[3 + ulen + i] == 0x7f)
			return SOCKS5_REFUSE;
	cred->ulen = (uint8_t)ulen;
	cred->plen = (uint8_t)plen;
	memcpy(cred->pass, b + 3 + ulen, plen);
	cred->pass[plen] = '\0';
	*used = 3 + ulen + plen;
	return SOCKS5_DONE;
}

static bool name_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_';
}

enum socks5_parse socks5_parse_request(const uint8_t *b, size_t n, size_t *used, struct socks5_req *r,
				       uint8_t *rep)
{
	size_t alen;
	memset(r, 0, sizeof *r);
	*rep = SOCKS5_REP_FAILURE;
	if (n < 1)
		return SOCKS5_NEED_MORE;
	if (b[0] != SOCKS5_VERSION)
		return SOCKS5_REFUSE;
	if (n < 2)
		return SOCKS5_NEED_MORE;
	r->cmd = b[1];
	if (b[1] != SOCKS5_CMD_CONNECT) {
		*rep = SOCKS5_REP_CMD_UNSUPPORTED;
		return SOCKS5_REFUSE;
	}
	if (n < 3)
		return SOCKS5_NEED_MORE;
	if (b[2] != 0)
		return SOCKS5_REFUSE;
	if (n < 4)
		return SOCKS5_NEED_MORE;
	switch (b[3]) {
	case 1:
		alen = 4;
		break;
	case 4:
		alen = 16;
		break;
	case 3:
		if (n < 5)
			return SOCKS5_NEED_MORE;
		alen = 1 + (size_t)b[4];
		if (b[4] == 0)
			return SOCKS5_REFUSE;
		break;
	default:
		*rep = SOCKS5_REP_ATYP_UNSUPPORTED;
		return SOCKS5_REFUSE;
	}
	if (n < 4 + alen + 2)
		return SOCKS5_NEED_MORE;
	const uint8_t *a = b + 4;
	if (b[3] == 1) {
		r->kind = HOST_IPV4;
		if (!inet_ntop(AF_INET, a, r->host, sizeof r->host))
			return SOCKS5_REFUSE;
	} else if (b[3] == 4) {
		r->kind = HOST_IPV6;
		if (!inet_ntop(AF_INET6, a, r->host, sizeof r->host))
			return SOCKS5_REFUSE;
	} else {
		size_t nl = b[4];
		if (nl > AL_HOST_MAX + 1)   /* one trailing dot is canonicalised away later */
			return SOCKS5_REFUSE;
		for (size_t i = 0; i < nl; i++)
			if (!name_byte(a[1 + i]))
				return SOCKS5_REFUSE;
		r->kind = HOST_DNS;
		memcpy(r->host, a + 1, nl);
		r->host[nl] = '\0';
	}
	r->port = (uint16_t)(b[4 + alen] << 8 | b[4 + alen + 1]);
	if (r->port == 0)
		return SOCKS5_REFUSE;
	*used = 4 + alen + 2;
	*rep = SOCKS5_REP_OK;
	return SOCKS5_DONE;
}

const char *socks5_cmd_name(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT: return "CONNECT";
	case SOCKS5_CMD_BIND: return "BIND";
	case SOCKS5_CMD_UDP: return "UDP-ASSOCIATE";
	default: return NULL;
	}
}

void socks5_method_reply(uint8_t out[SOCKS5_METHOD_REPLY_LEN], uint8_t method)
{
	out[0] = SOCKS5_VERSION;
	out[1] = method;
}

void socks5_auth_reply(uint8_t out[SOCKS5_AUTH_REPLY_LEN], bool ok)
{
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = ok ? 0x00 : 0x01;
}

void socks5_reply(uint8_t out[SOCKS5_REPLY_LEN], uint8_t rep)
{
	memset(out, 0, SOCKS5_REPLY_LEN);
	out[0] = SOCKS5_VERSION;
	out[1] = rep;
	out[3] = 1;   /* ATYP IPv4, 0.0.0.0:0 */
}

void socks4_reject(uint8_t out[SOCKS4_REPLY_LEN])
{
	memset(out, 0, SOCKS4_REPLY_LEN);
	out[1] = 91;
}

int socks5_connect_head(const struct socks5_req *r, const char *pass, size_t plen, char *out, size_t cap,
			size_t *len)
{
	/* "socks5:" + a password of at most 255 bytes, base64 */
	char cred[7 + 256], b64[((7 + 256) / 3 + 1) * 4 + 1], auth[AL_HOST_BUF + 8];
	int rc = AL_ETOOBIG;
	if (plen > 255)
		goto out;
	memcpy(cred, "socks5:", 7);
	memcpy(cred + 7, pass, plen);
	if (b64_encode((const uint8_t *)cred, 7 + plen, false, b64, sizeof b64) < 0)
		goto out;
	int a = snprintf(auth, sizeof auth, r->kind == HOST_IPV6 ? "[%s]:%u" : "%s:%u", r->host, r->port);
	if (a < 0 || (size_t)a >= sizeof auth)
		goto out;
	int k = snprintf(out, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", auth,
			 auth, b64);
	if (k < 0 || (size_t)k >= cap) {
		secure_wipe(out, cap);
		goto out;
	}
	*len = (size_t)k;
	rc = 0;
out:
	secure_wipe(cred, sizeof cred);
	secure_wipe(b64, sizeof b64);
	return rc;
}

uint8_t socks5_rep_for(int status, enum reason reason)
{
	switch (status) {
	case 200:
		return SOCKS5_REP_OK;
	case 403:
	case 407:
		return SOCKS5_REP_NOT_ALLOWED;
	case 502:
		return reason == REASON_DNS_FAILURE ? SOCKS5_REP_HOST_UNREACH : SOCKS5_REP_REFUSED;
	case 504:
		return SOCKS5_REP_TTL_EXPIRED;
	default:
		return SOCKS5_REP_FAILURE;
	}
}

int socks5_answer_parse(const char *head, size_t n, int *status, char *reason, size_t rcap)
{
	static const char rname[] = "\r\nX-Airlock-Reason: ";
	if (rcap)
		reason[0] = '\0';
	if (n < 13 || memcmp(head, "HTTP/1.1 ", 9) != 0)
		return AL_EINVAL;
	int st = 0;
	for (size_t i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return AL_EINVAL;
		st = st * 10 + (head[i] - '0');
	}
	if (head[12] != ' ' || st < 100)
		return AL_EINVAL;
	*status = st;
	const char *end = head + n;
	for (const char *p = head; p + sizeof rname - 1 <= end; p++) {
		if (memcmp(p, rname, sizeof rname - 1) != 0)
			continue;
		const char *v = p + sizeof rname - 1;
		const char *e = memchr(v, '\r', (size_t)(end - v));
		size_t vl = e ? (size_t)(e - v) : 0;
		if (rcap && vl < rcap) {
			memcpy(reason, v, vl);
			reason[vl] = '\0';
		}
		break;
	}
	return 0;
}
