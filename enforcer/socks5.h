/* SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), as
 * the plain listener speaks it: the strict parser of the three client
 * messages, the replies, and the translation of a SOCKS CONNECT into the
 * HTTP CONNECT head the rest of the enforcer decides (socks5io.c does the
 * I/O). Only CONNECT with username/password is accepted; everything else is
 * refused with the protocol's own codes. Pure functions: no I/O, no policy. */
#ifndef AIRLOCK_ENFORCER_SOCKS5_H
#define AIRLOCK_ENFORCER_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/reasons.h"
#include "common/netmatch.h"

#define SOCKS4_VERSION 0x04
#define SOCKS5_VERSION 0x05
#define SOCKS5_AUTH_VERSION 0x01       /* RFC 1929's sub-negotiation */
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_NONE 0xff        /* no acceptable method */

enum socks5_cmd { SOCKS5_CMD_CONNECT = 1, SOCKS5_CMD_BIND = 2, SOCKS5_CMD_UDP = 3 };

/* RFC 1928 §6 reply codes */
enum socks5_rep {
	SOCKS5_REP_OK = 0x00,
	SOCKS5_REP_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACH = 0x03,
	SOCKS5_REP_HOST_UNREACH = 0x04,
	SOCKS5_REP_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_UNSUPPORTED = 0x07,
	SOCKS5_REP_ATYP_UNSUPPORTED = 0x08,
};

enum socks5_parse {
	SOCKS5_NEED_MORE,   /* a prefix of a valid message: read on */
	SOCKS5_DONE,        /* one whole message; *used says how long */
	SOCKS5_REFUSE,      /* answer with the refusal and close */
};

/* Sizes of the replies we write. */
#define SOCKS5_METHOD_REPLY_LEN 2
#define SOCKS5_AUTH_REPLY_LEN 2
#define SOCKS5_REPLY_LEN 10
#define SOCKS4_REPLY_LEN 8

struct socks5_cred {
	uint8_t ulen, plen;
	char pass[256];               /* the token; NUL-terminated; wipe after use */
};

struct socks5_req {
	uint8_t cmd;                  /* what was asked (for the log), even when refused */
	enum host_kind kind;
	char host[AL_HOST_BUF];       /* as sent: a name of [A-Za-z0-9._-], or the address as text */
	uint16_t port;
};

/* The method selection message: VER NMETHODS METHODS. DONE when
 * username/password is offered; REFUSE for another version, no methods, or
 * no username/password among them (then answer socks5_method_reply with
 * SOCKS5_METHOD_NONE). */
enum socks5_parse socks5_parse_greeting(const uint8_t *b, size_t n, size_t *used);

/* RFC 1929: VER(1) ULEN UNAME PLEN PASSWD, both lengths at least 1, no
 * control byte in the password (a token is printable). The password goes
 * to cred->pass (the user name is not kept: any is fine). */
enum socks5_parse socks5_parse_auth(const uint8_t *b, size_t n, size_t *used, struct socks5_cred *cred);

/* VER CMD RSV ATYP DST.ADDR DST.PORT. REFUSE sets *rep: CMD_UNSUPPORTED
 * for BIND, UDP ASSOCIATE and unknown commands, ATYP_UNSUPPORTED for an
 * unknown address type, FAILURE for a bad version, a non-zero RSV, a name
 * with other bytes than letters, digits, '.', '-' and '_', or port 0. */
enum socks5_parse socks5_parse_request(const uint8_t *b, size_t n, size_t *used, struct socks5_req *r,
				       uint8_t *rep);

/* The command's name for the log: CONNECT, BIND, UDP-ASSOCIATE, or NULL. */
const char *socks5_cmd_name(uint8_t cmd);

void socks5_method_reply(uint8_t out[SOCKS5_METHOD_REPLY_LEN], uint8_t method);
void socks5_auth_reply(uint8_t out[SOCKS5_AUTH_REPLY_LEN], bool ok);
/* A reply with BND.ADDR 0.0.0.0:0: the address we connect from is ours to
 * keep, and clients do not use it after a CONNECT. */
void socks5_reply(uint8_t out[SOCKS5_REPLY_LEN], uint8_t rep);
/* SOCKS4 (and 4a): "request rejected or failed" (CD 91). */
void socks4_reject(uint8_t out[SOCKS4_REPLY_LEN]);

/* The HTTP CONNECT head that stands for request r, carrying the password
 * as the token (Proxy-Authorization: Basic, user "socks5"): the enforcer
 * decides it exactly as it decides one sent over HTTP. Written into out
 * (NUL-terminated); AL_ETOOBIG when cap is short. The caller wipes out. */
int socks5_connect_head(const struct socks5_req *r, const char *pass, size_t plen, char *out, size_t cap,
			size_t *len) AL_MUST_CHECK;

/* The reply code for our HTTP answer to that CONNECT: 200 OK; 403 and 407
 * not allowed by ruleset; 502 host unreachable (dns-failure) or connection
 * refused; 504 TTL expired (the RFC's nearest word for a timeout); anything
 * else general failure. */
uint8_t socks5_rep_for(int status, enum reason reason);

/* Parse our own answer head "HTTP/1.1 NNN ...\r\n...\r\n\r\n": its status
 * and the X-Airlock-Reason value (copied into reason, NUL-terminated).
 * AL_EINVAL when it is not such a head. */
int socks5_answer_parse(const char *head, size_t n, int *status, char *reason, size_t rcap) AL_MUST_CHECK;

#endif
