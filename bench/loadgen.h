/* bench/loadgen.h: what the load generator's files share: its options,
 * one connection's state, and the response parser (lgresp.c). */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum mode { M_KA, M_HS, M_IDLE };
enum state { S_TCP, S_PXW, S_PXR, S_HS, S_REQ, S_RESP, S_HELD, S_DEAD };

struct opts {
	enum mode mode;
	const char *host;        /* name in Host/SNI/CONNECT */
	const char *host_fmt;    /* e.g. h%u.origin.bench, with --hosts N */
	unsigned nhosts;
	unsigned port;           /* origin port (in Host and CONNECT) */
	struct sockaddr_in dial; /* where TCP goes: the origin or the proxy */
	bool via_proxy;
	bool tls;
	const char *ca;
	const char *auth;        /* proxy token -> Proxy-Authorization: Basic */
	const char *path;
	const char *method;
	size_t body;             /* upload bytes */
	long expect;             /* expected body bytes, -1 = any */
	unsigned conns;
	double warmup, duration;
	unsigned long max_req;   /* stop after this many (0 = by time) */
	unsigned long max_err;   /* stop after this many errors (0 = never) */
	const char *prio;
	bool sse;
	unsigned pending;        /* idle: parallel setups */
	double setup_timeout, hold;
	int pids[16];
	int npids;
};

struct conn {
	uv_poll_t poll;
	int fd;
	enum state st;
	gnutls_session_t tls;
	unsigned idx;
	char host[256];
	/* write side */
	char wbuf[4096];
	size_t wlen, woff;
	size_t body_left;
	/* read side */
	char hbuf[16384];
	size_t hlen;
	bool in_body;
	int status;
	long clen;        /* -1: none */
	bool chunked, close_after, eof_body;
	long remain;      /* CL body or current chunk */
	int cst;          /* chunk parser state */
	unsigned long csize;
	int lastnl;       /* sse / trailer line tracking */
	bool ttfe_done;
	size_t got;
	uint64_t t_conn, t_req, t_first;
	unsigned nreq;
	int events;
	bool closing;
};

extern struct opts O;
uint64_t now_us(void);

/* lgopts.c: fill O from the command line (exit 2 with the usage on a bad
 * one); the Proxy-Authorization header line for a proxy token. */
void lg_parse_args(int argc, char **argv);
void lg_proxy_auth(const char *token, char *out, size_t outlen);

/* lgresp.c: parse a response head (0, or -1 when it is not HTTP/1.x);
 * feed body bytes (1: the response is complete, 0: more needed, -1: bytes
 * beyond it); "status N (reason)" of a head for error reports. */
int lg_parse_head(struct conn *c, size_t hend);
int lg_body_feed(struct conn *c, const char *p, size_t n);
void lg_describe(const char *head, char *out, size_t len);

#endif
