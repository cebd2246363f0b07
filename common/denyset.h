/* Addresses the enforcer never dials: a built-in set (loopback, link-local,
 * multicast, cloud metadata, the host's own interface addresses), plus the
 * user's --deny-cidr list. IPv4 carried inside IPv6 (mapped, compatible,
 * NAT64, 6to4, Teredo) is judged by the IPv4 inside, so no spelling of
 * 127.0.0.1 gets through. Immutable after denyset_new: shared by workers. */
#ifndef AIRLOCK_DENYSET_H
#define AIRLOCK_DENYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/error.h"
#include "common/netmatch.h"

struct denyset;

/* Build the set: built-in ranges, the nuser user CIDRs (copied), and the
 * addresses of the host's interfaces (getifaddrs, read once here). */
int denyset_new(const struct cidr *user, size_t nuser, struct denyset **out) AL_MUST_CHECK;
void denyset_free(struct denyset *d);

/* 0 if the address may be dialled; AL_EDENIED otherwise (AL_EINVAL for a
 * family that is neither AF_INET nor AF_INET6). pinned=true (the name was
 * pinned with --resolve) exempts from the built-in set, interface addresses
 * included, but never from user CIDRs. Built-in: 0.0.0.0/8, 127.0.0.0/8,
 * 169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4 (with 255.255.255.255),
 * 100.100.100.200, 168.63.129.16, fd00:ec2::254, ::/128, ::1/128, fe80::/10,
 * ff00::/8, fec0::/10, the interface addresses. IPv4 inside IPv6
 * (::ffff:0:0/96, ::/96 but :: and ::1, 64:ff9b::/96, 64:ff9b:1::/48,
 * 2002::/16, Teredo 2001::/32) is also judged against the IPv4 sets. */
int denyset_check(const struct denyset *d, const struct sockaddr *sa, bool pinned) AL_MUST_CHECK;

#endif
