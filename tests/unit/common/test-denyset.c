/* Unit test of enforcer/denyset.c: many spellings of loopback, metadata and
 * the host's own addresses (plain, IPv4-mapped, compatible, NAT64, 6to4,
 * Teredo) are denied; public addresses are not; --deny-cidr denies; a pinned
 * name is exempt from the built-in set but never from --deny-cidr. */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "common/denyset.h"
#include "tests/unit/unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int to_sockaddr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(443);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(443);
		return 0;
	}
	fprintf(stderr, "test address does not parse: %s\n", s);
	return -1;
}

static int check(const struct denyset *d, const char *addr, bool pinned)
{
	struct sockaddr_storage ss;

	if (to_sockaddr(addr, &ss) < 0)
		return 1;
	return denyset_check(d, (struct sockaddr *)&ss, pinned);
}

/* Outcomes: D denied always, P denied unless pinned (built-in), A allowed.
 * With the user set below, U denied always because of --deny-cidr. */
enum want { A, P, U };

static const struct {
	const char *addr;
	enum want plain;   /* without user CIDRs */
	enum want user;    /* with user_cidrs */
} cases[] = {
	/* loopback, unspecified, this network */
	{ "127.0.0.1", P, P },
	{ "127.1.2.3", P, P },
	{ "127.255.255.255", P, P },
	{ "0.0.0.0", P, P },
	{ "0.1.2.3", P, P },
	{ "::1", P, P },
	{ "::", P, P },
	{ "0:0:0:0:0:0:0:1", P, P },
	/* link-local, metadata */
	{ "169.254.169.254", P, P },
	{ "169.254.0.1", P, P },
	{ "100.100.100.200", P, P },
	{ "168.63.129.16", P, P },
	{ "fd00:ec2::254", P, U },
	{ "fe80::1", P, P },
	{ "febf:ffff::1", P, P },
	{ "fec0::1", P, P },
	{ "feff::1", P, P },
	/* multicast, reserved, broadcast */
	{ "224.0.0.1", P, P },
	{ "239.255.255.250", P, P },
	{ "240.0.0.1", P, P },
	{ "255.255.255.255", P, P },
	{ "ff02::1", P, P },
	{ "ff0e::1", P, P },
	/* IPv4-mapped */
	{ "::ffff:127.0.0.1", P, P },
	{ "::ffff:7f00:1", P, P },
	{ "0:0:0:0:0:ffff:7f00:0001", P, P },
	{ "::ffff:169.254.169.254", P, P },
	{ "::ffff:0.0.0.0", P, P },
	{ "::ffff:168.63.129.16", P, P },
	/* IPv4-translated (SIIT) */
	{ "::ffff:0:127.0.0.1", P, P },
	/* IPv4-compatible */
	{ "::127.0.0.1", P, P },
	{ "::7f00:1", P, P },
	{ "::169.254.169.254", P, P },
	{ "::0.0.0.2", P, P },
	/* NAT64 well-known prefix */
	{ "64:ff9b::127.0.0.1", P, P },
	{ "64:ff9b::7f00:1", P, P },
	{ "64:ff9b::a9fe:a9fe", P, P },
	{ "64:ff9b::100.100.100.200", P, P },
	/* NAT64 local-use prefix, /96 /48 /56 /64 layouts */
	{ "64:ff9b:1::127.0.0.1", P, P },
	{ "64:ff9b:1:7f00:0:100::", P, P },
	{ "64:ff9b:1:7f:0:1::", P, P },
	{ "64:ff9b:1:0:7f:0:100:0", P, P },
	{ "64:ff9b:1:a9fe:a9:fe00::", P, P },
	/* 6to4 */
	{ "2002:7f00:1::", P, P },
	{ "2002:7f00:1:ffff::1", P, P },
	{ "2002:a9fe:a9fe::1", P, P },
	/* Teredo: client address inverted in the last 32 bits */
	{ "2001:0:4136:e378:8000:63bf:80ff:fffe", P, P },
	{ "2001:0:4136:e378:8000:63bf:5601:5601", P, P },
	{ "2001:0:4136:e378:8000:63bf:ffff:ffff", P, P },

	/* public addresses, and the same spelled inside IPv6 */
	{ "8.8.8.8", A, A },
	{ "1.1.1.1", A, A },
	{ "93.184.216.34", A, A },
	{ "126.255.255.255", A, A },
	{ "128.0.0.1", A, A },
	{ "169.253.255.255", A, A },
	{ "169.255.0.1", A, A },
	{ "223.255.255.255", A, A },
	{ "100.100.100.201", A, A },
	{ "168.63.129.17", A, A },
	{ "2606:4700:4700::1111", A, A },
	{ "2001:4860:4860::8888", A, A },
	{ "fd00:ec2::253", A, U },
	{ "fe7f::1", A, A },
	{ "::ffff:8.8.8.8", A, A },
	{ "::8.8.8.8", A, A },
	{ "64:ff9b::808:808", A, A },
	{ "64:ff9b:1::808:808", A, A },
	{ "64:ff9b:1:808:8:800::", A, A },
	{ "2002:808:808::1", A, A },
	{ "2001:0:4136:e378:8000:63bf:f7f7:f7f7", A, A },
	/* private ranges are not built in: the user adds them */
	{ "10.1.2.3", A, U },
	{ "10.255.255.255", A, U },
	{ "11.0.0.0", A, A },
	{ "192.168.1.1", A, U },
	{ "172.16.0.1", A, A },
	{ "fd12::1", A, U },
	{ "fc00::1", A, U },
	{ "fe00::1", A, A },
	{ "8.8.4.4", A, U },
	{ "8.8.4.5", A, A },
	/* a user IPv4 CIDR covers every IPv6 spelling of it */
	{ "::ffff:10.1.2.3", A, U },
	{ "::ffff:a01:203", A, U },
	{ "::10.1.2.3", A, U },
	{ "64:ff9b::10.1.2.3", A, U },
	{ "64:ff9b:1:a01:2:300::", A, U },
	{ "2002:a01:203::", A, U },
	{ "2001:0:4136:e378:8000:63bf:f5fe:fdfc", A, U },
	{ "::ffff:192.168.0.10", A, U },
	/* a user IPv6 CIDR */
	{ "2001:db8::1", A, U },
	{ "2001:db9::1", A, A },
};

static const char *const user_cidrs[] = { "10.0.0.0/8", "192.168.0.0/16", "fc00::/7", "8.8.4.4", "2001:db8::/32" };

static void run_table(const struct denyset *d, bool with_user)
{
	for (size_t i = 0; i < N(cases); i++) {
		enum want w = with_user ? cases[i].user : cases[i].plain;
		int unpinned = check(d, cases[i].addr, false), pinned = check(d, cases[i].addr, true);
		int want_unpinned = w == A ? 0 : AL_EDENIED, want_pinned = w == U ? AL_EDENIED : 0;

		CHECK(unpinned == want_unpinned && pinned == want_pinned,
		      "%s %s: unpinned %d (want %d), pinned %d (want %d)", cases[i].addr,
		      with_user ? "with user CIDRs" : "built-in only", unpinned, want_unpinned, pinned, want_pinned);
	}
}

/* The host's own addresses are denied (unless pinned), whatever they are. */
static void test_interfaces(const struct denyset *d)
{
	struct ifaddrs *ifa, *i;
	size_t seen = 0;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		CHECK(denyset_check(d, i->ifa_addr, false) == AL_EDENIED);
		CHECK(denyset_check(d, i->ifa_addr, true) == 0);
		seen++;
	}
	freeifaddrs(ifa);
	CHECK(seen > 0);
}

static void test_misc(void)
{
	struct denyset *d = NULL;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct cidr bad = { .family = AF_INET, .prefix = 33 };

	CHECK(denyset_new(NULL, 0, &d) == 0);
	CHECK(denyset_check(d, (struct sockaddr *)&un, false) == AL_EINVAL);
	CHECK(denyset_check(d, NULL, false) == AL_EINVAL);
	denyset_free(d);
	denyset_free(NULL);
	CHECK(denyset_new(&bad, 1, &d) == AL_EINVAL && d == NULL);
	bad.family = AF_UNIX;
	bad.prefix = 8;
	CHECK(denyset_new(&bad, 1, &d) == AL_EINVAL && d == NULL);
}

int main(void)
{
	struct cidr user[N(user_cidrs)];
	struct denyset *plain = NULL, *with_user = NULL;

	for (size_t i = 0; i < N(user_cidrs); i++)
		CHECK(cidr_parse(user_cidrs[i], &user[i]) == 0);
	CHECK(denyset_new(NULL, 0, &plain) == 0);
	CHECK(denyset_new(user, N(user), &with_user) == 0);
	if (plain && with_user) {
		run_table(plain, false);
		run_table(with_user, true);
		test_interfaces(plain);
	}
	denyset_free(plain);
	denyset_free(with_user);
	test_misc();
	return unit_finish("test-denyset");
}
