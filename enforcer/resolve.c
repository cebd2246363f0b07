/* Host to dialable addresses, without blocking a worker loop: IP literals
 * are judged as they are, --resolve pins answer for their host and port,
 * anything else goes to uv_getaddrinfo. Every address passes the deny set
 * here, once, and the survivors are the only addresses the caller gets: the
 * connection dials what was checked (no second lookup to rebind). */
#include "config.h"

#include "enforcer/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct resolver {
	struct resolve_pin *pins;
	size_t npins;
	struct denyset *deny;
};

struct resolve_req {
	union {
		uv_getaddrinfo_t gai;   /* DNS */
		uv_timer_t timer;       /* literal or pin: answer on the next loop turn */
	} u;
	bool dns;
	bool cancelled;
	bool done;                  /* the callback has been entered */
	const struct resolver *r;
	uint16_t port;
	resolve_cb cb;
	void *arg;
	struct resolve_result {
		struct sockaddr_storage addrs[RESOLVE_ADDRS_MAX];
		size_t n;
		bool any;           /* some address was found (perhaps denied) */
	} res;
};


/* ---- pins -------------------------------------------------------------- */

/* An IPv4 dotted quad, or an IPv6 literal with or without brackets. */
static int addr_parse(const char *s, size_t len, struct sockaddr_storage *out)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	char buf[INET6_ADDRSTRLEN + 1];
	bool bracket = false;

	memset(out, 0, sizeof *out);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		bracket = true;
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof buf)
		return AL_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* inet_pton takes only the dotted quad: no "0x7f.1", no "2130706433". */
	if (!bracket && inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return AL_EINVAL;
}

static void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int resolve_pin_parse(const char *spec, struct resolve_pin *out)
{
	char portbuf[8];
	const char *c1, *c2;
	enum host_kind kind;
	int rc;

	memset(out, 0, sizeof *out);
	if (!spec)
		return AL_EINVAL;
	c1 = strchr(spec, ':');
	if (!c1)
		return AL_EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || (size_t)(c2 - c1 - 1) >= sizeof portbuf)
		return AL_EINVAL;
	/* A pin is for a name: an IP literal is always judged as itself. */
	rc = host_canon(spec, (size_t)(c1 - spec), out->host, &kind);
	if (rc < 0 || kind != HOST_DNS) {
		rc = AL_EINVAL;
		goto out;
	}
	memcpy(portbuf, c1 + 1, (size_t)(c2 - c1 - 1));
	portbuf[c2 - c1 - 1] = '\0';
	rc = port_parse(portbuf, &out->port);
	if (rc < 0)
		goto out;
	rc = addr_parse(c2 + 1, strlen(c2 + 1), &out->addr);
	if (rc < 0)
		goto out;
	addr_set_port(&out->addr, out->port);
out:
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int resolver_new(const struct resolve_pin *pins, size_t npins, struct denyset *deny, struct resolver **out)
{
	struct resolver *r;

	*out = NULL;
	if (!deny || (npins && !pins))
		return AL_EINVAL;
	r = xcalloc(1, sizeof *r);
	if (npins) {
		r->pins = xcalloc(npins, sizeof *r->pins);
		memcpy(r->pins, pins, npins * sizeof *pins);
		r->npins = npins;
	}
	r->deny = deny;
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	free(r->pins);
	free(r);
}

/* ---- collecting -------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)(const void *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 16) == 0;
}

/* Judge one address and keep it if it passes, is new, and fits. */
static void result_add(struct resolve_result *res, const struct denyset *deny,
		       const struct sockaddr *sa, uint16_t port, bool pinned)
{
	size_t i, len;

	if (sa->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		return;
	res->any = true;
	if (denyset_check(deny, sa, pinned) < 0)
		return;
	for (i = 0; i < res->n; i++)
		if (same_addr(&res->addrs[i], sa))
			return;
	if (res->n == RESOLVE_ADDRS_MAX)
		return;
	memset(&res->addrs[res->n], 0, sizeof res->addrs[res->n]);
	memcpy(&res->addrs[res->n], sa, len);
	addr_set_port(&res->addrs[res->n], port);
	res->n++;
}

static void deliver(struct resolve_req *req)
{
	const struct resolve_result *res = &req->res;

	req->done = true;
	if (res->n > 0)
		req->cb(req->arg, 0, res->addrs, res->n, REASON_NONE);
	else if (res->any)
		req->cb(req->arg, AL_EDENIED, NULL, 0, REASON_DENIED_ADDRESS);
	else
		req->cb(req->arg, AL_ENOTFOUND, NULL, 0, REASON_DNS_FAILURE);
}

/* ---- async plumbing ---------------------------------------------------- */

static void on_timer_close(uv_handle_t *h)
{
	free(h->data);
}

static void on_timer(uv_timer_t *t)
{
	struct resolve_req *req = t->data;

	if (!req->cancelled)
		deliver(req);
	uv_close((uv_handle_t *)t, on_timer_close);
}

static void on_getaddrinfo(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
	struct resolve_req *req = g->data;
	const struct addrinfo *ai;

	if (!req->cancelled) {
		if (status == 0)
			for (ai = res; ai; ai = ai->ai_next)
				if (ai->ai_addr)
					result_add(&req->res, req->r->deny, ai->ai_addr, req->port, false);
		deliver(req);
	}
	uv_freeaddrinfo(res);
	free(req);
}

int resolve_start(const struct resolver *r, uv_loop_t *loop, const char *host, enum host_kind kind,
		  uint16_t port, resolve_cb cb, void *arg, struct resolve_req **out)
{
	struct resolve_req *req;
	struct addrinfo hints;
	size_t i;
	int rc;

	*out = NULL;
	if (!r || !loop || !host || !cb || port == 0)
		return AL_EINVAL;
	req = xcalloc(1, sizeof *req);
	req->r = r;
	req->port = port;
	req->cb = cb;
	req->arg = arg;

	if (kind == HOST_IPV4 || kind == HOST_IPV6) {
		struct sockaddr_storage ss;

		memset(&ss, 0, sizeof ss);
		if (kind == HOST_IPV4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			rc = inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : AL_EINVAL;
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			rc = inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : AL_EINVAL;
		}
		if (rc < 0)
			goto out;
		/* The address itself, asked for as a literal, is never
		 * exempt, even when some pinned name points at it. */
		result_add(&req->res, r->deny, (struct sockaddr *)&ss, port, false);
	} else if (kind == HOST_DNS) {
		for (i = 0; i < r->npins; i++)
			if (r->pins[i].port == port && strcmp(r->pins[i].host, host) == 0)
				result_add(&req->res, r->deny, (const struct sockaddr *)&r->pins[i].addr,
					   port, true);
		if (!req->res.any) {
			memset(&hints, 0, sizeof hints);
			hints.ai_family = AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			/* No AI_ADDRCONFIG: it hides ::1 and 127.0.0.1 answers on
			 * hosts without such addresses, and those are what we must
			 * see to deny them. */
			hints.ai_flags = 0;
			req->dns = true;
			req->u.gai.data = req;
			if (uv_getaddrinfo(loop, &req->u.gai, on_getaddrinfo, host, NULL, &hints) < 0) {
				rc = AL_EIO;
				goto out;
			}
			*out = req;
			return 0;
		}
	} else {
		rc = AL_EINVAL;
		goto out;
	}

	/* Literal or pin: the answer is known, but the callback still comes
	 * from the loop, so callers never see it re-entrantly. */
	if (uv_timer_init(loop, &req->u.timer) < 0) {
		rc = AL_EIO;
		goto out;
	}
	req->u.timer.data = req;
	if (uv_timer_start(&req->u.timer, on_timer, 0, 0) < 0) {
		uv_close((uv_handle_t *)&req->u.timer, on_timer_close);
		*out = NULL;
		return AL_EIO;
	}
	*out = req;
	return 0;
out:
	free(req);
	return rc;
}

void resolve_cancel(struct resolve_req *req)
{
	if (!req || req->cancelled || req->done)
		return;
	req->cancelled = true;
	if (req->dns) {
		/* Succeeds only while the request is still queued; either way
		 * on_getaddrinfo runs later, sees `cancelled` and frees. */
		(void)uv_cancel((uv_req_t *)&req->u.gai);
	} else {
		uv_timer_stop(&req->u.timer);
		uv_close((uv_handle_t *)&req->u.timer, on_timer_close);
	}
}
