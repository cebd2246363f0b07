/* The deny set: addresses no rule can open. Built-in ranges (loopback,
 * unspecified, link-local, multicast, cloud metadata), the host's own
 * interface addresses read once at start, and the user's --deny-cidr list.
 * IPv4 tucked inside IPv6 is unwrapped and judged as the IPv4 it carries. */
#include "config.h"

#include "common/denyset.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct net {
	uint8_t addr[16];
	unsigned prefix;
};

struct denyset {
	struct cidr *user;      /* --deny-cidr: never exempt */
	size_t nuser;
	struct net *if4;        /* the host's own addresses, as /32 and /128 */
	size_t nif4;
	struct net *if6;
	size_t nif6;
};

static const struct net builtin4[] = {
	{ { 0, 0, 0, 0 }, 8 },            /* "this network"; 0.0.0.0 reaches the host */
	{ { 127, 0, 0, 0 }, 8 },          /* loopback */
	{ { 169, 254, 0, 0 }, 16 },       /* link-local, 169.254.169.254 metadata */
	{ { 224, 0, 0, 0 }, 4 },          /* multicast */
	{ { 240, 0, 0, 0 }, 4 },          /* reserved, and 255.255.255.255 broadcast */
	{ { 100, 100, 100, 200 }, 32 },   /* Alibaba Cloud metadata */
	{ { 168, 63, 129, 16 }, 32 },     /* Azure wire server */
};

static const struct net builtin6[] = {
	{ { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 }, 128 },  /* fd00:ec2::254, AWS metadata */
	{ { 0 }, 128 },                                  /* :: */
	{ { [15] = 1 }, 128 },                           /* ::1 */
	{ { 0xfe, 0x80 }, 10 },                          /* link-local */
	{ { 0xff, 0x00 }, 8 },                           /* multicast */
	{ { 0xfe, 0xc0 }, 10 },                          /* site-local (deprecated) */
};

static bool prefix_match(const uint8_t *addr, const uint8_t *net, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(addr, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool in_table(const struct net *t, size_t n, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix_match(addr, t[i].addr, t[i].prefix))
			return true;
	return false;
}

static bool in_user(const struct denyset *d, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < d->nuser; i++) {
		const struct cidr *c = &d->user[i];

		if (c->family == family && prefix_match(addr, c->addr, c->prefix))
			return true;
	}
	return false;
}

static int check4(const struct denyset *d, const uint8_t a[4], bool pinned)
{
	if (in_user(d, AF_INET, a))
		return AL_EDENIED;
	if (!pinned && (in_table(builtin4, sizeof builtin4 / sizeof builtin4[0], a) ||
			in_table(d->if4, d->nif4, a)))
		return AL_EDENIED;
	return 0;
}

/* IPv4 inside IPv6: every place an IPv4 address can hide in an IPv6 one
 * that some stack on the path would turn back into that IPv4. Writes up to
 * 4 candidates. */
static size_t embedded4(const uint8_t a[16], uint8_t out[4][4])
{
	static const uint8_t zero[12];
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t translated[12] = { [8] = 0xff, [9] = 0xff };  /* ::ffff:0:0:0/96, SIIT */
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 };
	/* RFC 6052 §2.2: where the 32 bits go for prefix lengths 48, 56 and 64
	 * (byte 8 is the "u" octet, always zero), and where the zero suffix
	 * after them starts. */
	static const struct {
		uint8_t at[4], suffix;
	} layout[3] = { { { 6, 7, 9, 10 }, 11 }, { { 7, 9, 10, 11 }, 12 }, { { 9, 10, 11, 12 }, 13 } };
	size_t n = 0, i, k;

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, translated, 12) == 0 || memcmp(a, nat64, 12) == 0) {
		memcpy(out[n++], a + 12, 4);
	} else if (memcmp(a, zero, 12) == 0) {
		/* IPv4-compatible ::a.b.c.d, except :: and ::1 (in the IPv6 set). */
		if (memcmp(a + 12, zero, 4) != 0 && memcmp(a + 12, one, 4) != 0)
			memcpy(out[n++], a + 12, 4);
	} else if (memcmp(a, nat64_local, 6) == 0) {
		/* The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) may be cut
		 * into any RFC 6052 prefix length >= 48, and the address does not
		 * say which: judge every layout whose zero bits fit. The /96
		 * reading is always taken, except as 0.0.0.0 when a shorter
		 * layout fits (that is how /48../64 addresses look as /96). */
		for (i = 0; i < 3; i++) {
			if (a[8] != 0 || memcmp(a + layout[i].suffix, zero, 16 - layout[i].suffix) != 0)
				continue;
			for (k = 0; k < 4; k++)
				out[n][k] = a[layout[i].at[k]];
			n++;
		}
		if (n == 0 || memcmp(a + 12, zero, 4) != 0)
			memcpy(out[n++], a + 12, 4);
	} else if (a[0] == 0x20 && a[1] == 0x02) {
		memcpy(out[n++], a + 2, 4);   /* 6to4 2002:AABB:CCDD::/48 */
	} else if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		/* Teredo: the client's public IPv4 is stored inverted. */
		for (k = 0; k < 4; k++)
			out[n][k] = a[12 + k] ^ 0xff;
		n++;
	}
	return n;
}

static int check6(const struct denyset *d, const uint8_t a[16], bool pinned)
{
	uint8_t inner[4][4];
	size_t i, n;
	int rc;

	if (in_user(d, AF_INET6, a))
		return AL_EDENIED;
	if (!pinned && (in_table(builtin6, sizeof builtin6 / sizeof builtin6[0], a) ||
			in_table(d->if6, d->nif6, a)))
		return AL_EDENIED;
	n = embedded4(a, inner);
	for (i = 0; i < n; i++) {
		rc = check4(d, inner[i], pinned);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int denyset_check(const struct denyset *d, const struct sockaddr *sa, bool pinned)
{
	if (!d || !sa)
		return AL_EINVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		return check4(d, (const uint8_t *)&s4->sin_addr, pinned);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		return check6(d, s6->sin6_addr.s6_addr, pinned);
	}
	return AL_EINVAL;
}

static void read_interfaces(struct denyset *d)
{
	struct ifaddrs *ifa = NULL, *i;
	size_t n = 0;

	/* Without the list the host's own addresses would be reachable; a
	 * failure here leaves only the built-in ranges, which still hold
	 * loopback. getifaddrs fails only on resource exhaustion. */
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next)
		n++;
	d->if4 = xcalloc(n + 1, sizeof *d->if4);
	d->if6 = xcalloc(n + 1, sizeof *d->if6);
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)i->ifa_addr;

			memcpy(d->if4[d->nif4].addr, &s4->sin_addr, 4);
			d->if4[d->nif4++].prefix = 32;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;

			memcpy(d->if6[d->nif6].addr, &s6->sin6_addr, 16);
			d->if6[d->nif6++].prefix = 128;
		}
	}
	freeifaddrs(ifa);
}

int denyset_new(const struct cidr *user, size_t nuser, struct denyset **out)
{
	struct denyset *d;
	size_t i;

	*out = NULL;
	for (i = 0; i < nuser; i++)
		if ((user[i].family != AF_INET && user[i].family != AF_INET6) ||
		    user[i].prefix > (user[i].family == AF_INET ? 32u : 128u))
			return AL_EINVAL;
	d = xcalloc(1, sizeof *d);
	if (nuser) {
		d->user = xcalloc(nuser, sizeof *d->user);
		memcpy(d->user, user, nuser * sizeof *user);
		d->nuser = nuser;
	}
	read_interfaces(d);
	*out = d;
	return 0;
}

void denyset_free(struct denyset *d)
{
	if (!d)
		return;
	free(d->user);
	free(d->if4);
	free(d->if6);
	free(d);
}
