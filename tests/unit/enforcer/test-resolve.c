/* Unit test of enforcer/resolve.c: --resolve pins parse strictly; literals
 * are judged as themselves (never pinned); pins answer for host AND port;
 * "localhost" resolves to a denied address; a .invalid name is a DNS
 * failure; callbacks never run inside resolve_start; cancel means no
 * callback and no leak. Only /etc/hosts and .invalid names are looked up. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/resolve.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- pin parsing ------------------------------------------------------- */

static const struct {
	const char *spec;
	const char *host;   /* NULL: refused */
	uint16_t port;
	const char *addr;
} pin_cases[] = {
	{ "example.com:443:127.0.0.1", "example.com", 443, "127.0.0.1" },
	{ "Example.COM.:8443:10.0.0.1", "example.com", 8443, "10.0.0.1" },
	{ "example.com:443:[::1]", "example.com", 443, "::1" },
	{ "example.com:443:::1", "example.com", 443, "::1" },
	{ "example.com:1:[2001:db8::5]", "example.com", 1, "2001:db8::5" },
	{ "a.b.c.example:65535:1.2.3.4", "a.b.c.example", 65535, "1.2.3.4" },
	{ "localhost:80:127.0.0.1", "localhost", 80, "127.0.0.1" },
	{ "", NULL, 0, NULL },
	{ "example.com", NULL, 0, NULL },
	{ "example.com:443", NULL, 0, NULL },
	{ "example.com:443:", NULL, 0, NULL },
	{ ":443:1.2.3.4", NULL, 0, NULL },
	{ "example.com::1.2.3.4", NULL, 0, NULL },
	{ "example.com:0:1.2.3.4", NULL, 0, NULL },
	{ "example.com:65536:1.2.3.4", NULL, 0, NULL },
	{ "example.com:0443:1.2.3.4", NULL, 0, NULL },
	{ "example.com:+443:1.2.3.4", NULL, 0, NULL },
	{ "example.com:443:1.2.3", NULL, 0, NULL },
	{ "example.com:443:0x7f.1", NULL, 0, NULL },
	{ "example.com:443:2130706433", NULL, 0, NULL },
	{ "example.com:443:1.2.3.4:5", NULL, 0, NULL },
	{ "example.com:443:[1.2.3.4]", NULL, 0, NULL },
	{ "example.com:443:[::1", NULL, 0, NULL },
	{ "example.com:443:::1]", NULL, 0, NULL },
	{ "example.com:443:[]", NULL, 0, NULL },
	{ "example.com:443:host.example", NULL, 0, NULL },
	{ "example.com:443: 1.2.3.4", NULL, 0, NULL },
	{ "exa mple.com:443:1.2.3.4", NULL, 0, NULL },
	{ "user@example.com:443:1.2.3.4", NULL, 0, NULL },
	{ "127.0.0.1:80:1.2.3.4", NULL, 0, NULL },   /* a literal is never pinned */
	{ "[::1]:80:1.2.3.4", NULL, 0, NULL },
	{ "*.example.com:443:1.2.3.4", NULL, 0, NULL },
};

static void addr_string(const struct sockaddr_storage *ss, char *buf, size_t cap, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)cap);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)cap);
		*port = ntohs(s6->sin6_port);
	} else {
		snprintf(buf, cap, "family %d", ss->ss_family);
		*port = 0;
	}
}

static void test_pin_parse(void)
{
	for (size_t i = 0; i < N(pin_cases); i++) {
		struct resolve_pin pin;
		int rc = resolve_pin_parse(pin_cases[i].spec, &pin);

		char buf[INET6_ADDRSTRLEN];
		uint16_t port;

		if (!pin_cases[i].host) {
			CHECK(rc < 0, "pin %s: accepted, should be refused", pin_cases[i].spec);
			continue;
		}
		CHECK(rc == 0, "pin %s: refused (%d), should parse", pin_cases[i].spec, rc);
		if (rc < 0)
			continue;
		addr_string(&pin.addr, buf, sizeof buf, &port);
		CHECK(strcmp(pin.host, pin_cases[i].host) == 0 && pin.port == pin_cases[i].port &&
		      strcmp(buf, pin_cases[i].addr) == 0 && port == pin_cases[i].port,
		      "pin %s: got %s %u %s:%u", pin_cases[i].spec, pin.host, pin.port, buf, port);
	}
	CHECK(resolve_pin_parse(NULL, &(struct resolve_pin){ 0 }) == AL_EINVAL);
}

/* ---- resolution -------------------------------------------------------- */

struct outcome {
	int calls;
	int status;
	size_t n;
	char addrs[RESOLVE_ADDRS_MAX][INET6_ADDRSTRLEN + 8];
	const char *reason;
	struct resolve_req *self;   /* cancel from inside the callback */
};

static void on_resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t n, enum reason reason)
{
	struct outcome *o = arg;

	o->calls++;
	o->status = status;
	o->n = n;
	o->reason = reason_name(reason);
	for (size_t i = 0; i < n && i < RESOLVE_ADDRS_MAX; i++) {
		char buf[INET6_ADDRSTRLEN];
		uint16_t port;

		addr_string(&addrs[i], buf, sizeof buf, &port);
		snprintf(o->addrs[i], sizeof o->addrs[i], "%s/%u", buf, port);
	}
	if (o->self)
		resolve_cancel(o->self);   /* too late: must be a no-op */
}

static void on_watchdog(uv_timer_t *t)
{
	CHECK(false, "the loop did not finish in time");
	uv_stop(t->loop);
}

/* Run the loop until every request is done, with a watchdog. */
static void run(uv_loop_t *loop)
{
	uv_timer_t dog;

	uv_timer_init(loop, &dog);
	uv_timer_start(&dog, on_watchdog, 30000, 0);
	uv_unref((uv_handle_t *)&dog);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&dog, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}

static bool has_addr(const struct outcome *o, const char *a)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->addrs[i], a) == 0)
			return true;
	return false;
}

static const struct {
	const char *host;
	enum host_kind kind;
	uint16_t port;
	int status;
	const char *first;      /* status 0: the first address, "addr/port" */
	size_t n;               /* status 0: how many (0: do not check) */
} resolve_cases[] = {
	/* literals: judged as themselves, never exempt through a pin */
	{ "93.184.216.34", HOST_IPV4, 443, 0, "93.184.216.34/443", 1 },
	{ "2606:4700:4700::1111", HOST_IPV6, 80, 0, "2606:4700:4700::1111/80", 1 },
	{ "127.0.0.1", HOST_IPV4, 443, AL_EDENIED, NULL, 0 },
	{ "127.0.0.1", HOST_IPV4, 8080, AL_EDENIED, NULL, 0 },   /* pinned.invalid's address */
	{ "169.254.169.254", HOST_IPV4, 80, AL_EDENIED, NULL, 0 },
	{ "::1", HOST_IPV6, 443, AL_EDENIED, NULL, 0 },
	{ "::ffff:127.0.0.1", HOST_IPV6, 443, AL_EDENIED, NULL, 0 },
	{ "10.9.9.9", HOST_IPV4, 443, AL_EDENIED, NULL, 0 },      /* --deny-cidr */
	/* pins: host and port */
	{ "pinned.invalid", HOST_DNS, 8080, 0, "127.0.0.1/8080", 1 },
	{ "pinned.invalid", HOST_DNS, 9090, AL_ENOTFOUND, NULL, 0 },  /* the pin is for 8080 only */
	{ "dual.test", HOST_DNS, 443, 0, "127.0.0.2/443", 2 },
	{ "lan.test", HOST_DNS, 80, AL_EDENIED, NULL, 0 },        /* pinned into --deny-cidr */
	{ "half.test", HOST_DNS, 80, 0, "127.0.0.3/80", 1 },      /* one of two pins in --deny-cidr */
	/* DNS */
	{ "localhost", HOST_DNS, 80, AL_EDENIED, NULL, 0 },
	{ "nothing-here.invalid", HOST_DNS, 443, AL_ENOTFOUND, NULL, 0 },
	{ "sub.pinned.invalid", HOST_DNS, 8080, AL_ENOTFOUND, NULL, 0 },
};

static void test_resolve(uv_loop_t *loop, const struct resolver *r)
{
	struct outcome out[N(resolve_cases)];
	struct resolve_req *req[N(resolve_cases)];

	memset(out, 0, sizeof out);
	for (size_t i = 0; i < N(resolve_cases); i++) {
		int rc = resolve_start(r, loop, resolve_cases[i].host, resolve_cases[i].kind, resolve_cases[i].port,
				       on_resolved, &out[i], &req[i]);

		CHECK(rc == 0);
		CHECK(out[i].calls == 0);   /* never from inside resolve_start */
	}
	run(loop);
	for (size_t i = 0; i < N(resolve_cases); i++) {
		const struct outcome *o = &out[i];
		bool ok = o->calls == 1 && o->status == resolve_cases[i].status;

		if (resolve_cases[i].status == 0)
			ok = ok && o->reason == NULL && o->n >= 1 && strcmp(o->addrs[0], resolve_cases[i].first) == 0 &&
			     (resolve_cases[i].n == 0 || o->n == resolve_cases[i].n);
		else if (resolve_cases[i].status == AL_EDENIED)
			ok = ok && o->n == 0 && o->reason && strcmp(o->reason, "denied-address") == 0;
		else
			ok = ok && o->n == 0 && o->reason && strcmp(o->reason, "dns-failure") == 0;
		CHECK(ok, "resolve %s:%u: calls %d status %d reason %s n %zu first %s", resolve_cases[i].host,
		      resolve_cases[i].port, o->calls, o->status, o->reason ? o->reason : "(none)", o->n,
		      o->n ? o->addrs[0] : "-");
	}
	/* dual.test: two pins for one host:port, the third a duplicate */
	CHECK(has_addr(&out[10], "127.0.0.2/443") && has_addr(&out[10], "::1/443"));
}

/* More pins than RESOLVE_ADDRS_MAX: the first eight, deduplicated. */
static void test_cap(uv_loop_t *loop, struct denyset *deny)
{
	struct resolve_pin pins[12];
	struct resolver *r = NULL;
	struct outcome o = { 0 };
	struct resolve_req *req;
	char spec[64];

	for (size_t i = 0; i < N(pins); i++) {
		snprintf(spec, sizeof spec, "many.test:443:127.0.1.%zu", i < 2 ? 1 : i);
		CHECK(resolve_pin_parse(spec, &pins[i]) == 0);
	}
	CHECK(resolver_new(pins, N(pins), deny, &r) == 0);
	CHECK(resolve_start(r, loop, "many.test", HOST_DNS, 443, on_resolved, &o, &req) == 0);
	run(loop);
	CHECK(o.calls == 1 && o.status == 0 && o.n == RESOLVE_ADDRS_MAX);
	CHECK(strcmp(o.addrs[0], "127.0.1.1/443") == 0 && strcmp(o.addrs[1], "127.0.1.2/443") == 0);
	CHECK(strcmp(o.addrs[7], "127.0.1.8/443") == 0);
	resolver_free(r);
}

/* Cancel before the loop runs: no callback, nothing leaks (ASan). */
static void test_cancel(uv_loop_t *loop, const struct resolver *r)
{
	static const struct {
		const char *host;
		enum host_kind kind;
	} c[] = {
		{ "93.184.216.34", HOST_IPV4 },
		{ "pinned.invalid", HOST_DNS },
		{ "localhost", HOST_DNS },
		{ "cancelled.invalid", HOST_DNS },
	};
	struct outcome o[N(c)];
	struct resolve_req *req;

	memset(o, 0, sizeof o);
	for (size_t i = 0; i < N(c); i++) {
		CHECK(resolve_start(r, loop, c[i].host, c[i].kind, 8080, on_resolved, &o[i], &req) == 0);
		resolve_cancel(req);
		resolve_cancel(req);   /* twice is harmless */
	}
	run(loop);
	for (size_t i = 0; i < N(c); i++)
		CHECK(o[i].calls == 0);

	/* cancel from inside the callback is a no-op */
	memset(o, 0, sizeof o);
	CHECK(resolve_start(r, loop, "93.184.216.34", HOST_IPV4, 443, on_resolved, &o[0], &o[0].self) == 0);
	CHECK(resolve_start(r, loop, "localhost", HOST_DNS, 443, on_resolved, &o[1], &o[1].self) == 0);
	run(loop);
	CHECK(o[0].calls == 1 && o[0].status == 0);
	CHECK(o[1].calls == 1 && o[1].status == AL_EDENIED);
}

static void test_bad_args(uv_loop_t *loop, const struct resolver *r)
{
	struct outcome o = { 0 };
	struct resolve_req *req = (struct resolve_req *)&o;

	CHECK(resolve_start(r, loop, "1.2.3", HOST_IPV4, 443, on_resolved, &o, &req) == AL_EINVAL && !req);
	CHECK(resolve_start(r, loop, "example.com", HOST_IPV6, 443, on_resolved, &o, &req) == AL_EINVAL);
	CHECK(resolve_start(r, loop, "::1", HOST_IPV4, 443, on_resolved, &o, &req) == AL_EINVAL);
	CHECK(resolve_start(r, loop, "example.com", HOST_DNS, 0, on_resolved, &o, &req) == AL_EINVAL);
	CHECK(resolve_start(r, loop, NULL, HOST_DNS, 443, on_resolved, &o, &req) == AL_EINVAL);
	CHECK(resolve_start(r, loop, "example.com", HOST_DNS, 443, NULL, &o, &req) == AL_EINVAL);
	run(loop);
	CHECK(o.calls == 0);
	resolve_cancel(NULL);
	CHECK(resolver_new(NULL, 0, NULL, &(struct resolver *){ NULL }) == AL_EINVAL);
}

int main(void)
{
	static const char *const pin_specs[] = {
		"pinned.invalid:8080:127.0.0.1",
		"dual.test:443:127.0.0.2",
		"dual.test:443:[::1]",
		"dual.test:443:127.0.0.2",
		"lan.test:80:10.0.0.7",
		"half.test:80:10.0.0.8",
		"half.test:80:127.0.0.3",
	};
	struct resolve_pin pins[N(pin_specs)];
	struct cidr lan;
	struct denyset *deny = NULL;
	struct resolver *r = NULL;
	uv_loop_t loop;

	test_pin_parse();
	for (size_t i = 0; i < N(pin_specs); i++)
		CHECK(resolve_pin_parse(pin_specs[i], &pins[i]) == 0);
	CHECK(cidr_parse("10.0.0.0/8", &lan) == 0);
	CHECK(denyset_new(&lan, 1, &deny) == 0);
	CHECK(resolver_new(pins, N(pins), deny, &r) == 0);
	CHECK(uv_loop_init(&loop) == 0);
	if (r) {
		test_resolve(&loop, r);
		test_cap(&loop, deny);
		test_cancel(&loop, r);
		test_bad_args(&loop, r);
	}
	CHECK(uv_loop_close(&loop) == 0);
	resolver_free(r);
	denyset_free(deny);
	return unit_finish("test-resolve");
}
