/* DNS messages for airlock-agent's stub (RFC 1035): a strict parser of one
 * query and the builder of its answer. The stub answers A with a stand-in
 * address from the pool and everything else with no records; it never
 * forwards a query, so nothing here has to understand an answer from
 * elsewhere. Pure functions: no I/O; the pool is reached through a callback
 * (so the fuzz target drives the whole decision). */
#ifndef AIRLOCK_AGENT_DNSMSG_H
#define AIRLOCK_AGENT_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 253            /* text, without the trailing dot */
#define DNS_WIRE_NAME_MAX 255       /* RFC 1035 §3.1 */
#define DNS_MSG_MAX 4096            /* a query larger than this is dropped (TCP too) */
#define DNS_PTR_HOPS_MAX 16         /* compression pointers followed in one name */
#define DNS_TTL 60                  /* seconds: stand-in addresses are recycled, keep caches short */

enum dns_type { DNS_T_A = 1, DNS_T_AAAA = 28, DNS_T_OPT = 41 };
enum dns_rcode { DNS_NOERROR = 0, DNS_FORMERR = 1, DNS_SERVFAIL = 2, DNS_NXDOMAIN = 3, DNS_NOTIMP = 4, DNS_REFUSED = 5 };

struct dns_query {
	uint16_t id;
	bool rd;                              /* recursion desired: echoed */
	uint16_t qtype, qclass;
	char name[DNS_NAME_MAX + 1];          /* lower case, no trailing dot; "" for the root */
	uint8_t wire[DNS_WIRE_NAME_MAX];      /* the name as sent, pointers expanded (case kept:
					       * some resolvers check it, RFC 0x20 draft) */
	size_t wirelen;
	bool host_ok;                         /* every label is [A-Za-z0-9_-]: a name we may stand in for */
};

/* Parse one query. Returns a dns_rcode: NOERROR when q is whole, FORMERR or
 * NOTIMP for what deserves that answer (q->id is then set), or -1 for what
 * deserves none (shorter than a header, or a response: answering those
 * could loop between two servers). Refused: a count other than one
 * question and no answer or authority records; an additional section other
 * than one EDNS OPT record; a label type other than plain or pointer; a
 * pointer that does not point strictly backwards into the message, or more
 * than DNS_PTR_HOPS_MAX of them; a name over 255 octets; bytes after the
 * message. */
int dnsmsg_parse(const uint8_t *m, size_t n, struct dns_query *q);

/* The lookup the answer needs: 0 and the address for a name the stub
 * stands in for, else a dns_rcode to answer with. */
typedef int (*dns_lookup_fn)(void *arg, const char *name, uint8_t addr[4]);

/* The whole answer to a query of n bytes, into out (cap at least 512):
 * its length, or 0 when nothing is to be sent. */
size_t dnsmsg_respond(const uint8_t *m, size_t n, uint8_t *out, size_t cap, dns_lookup_fn lookup, void *arg);

#endif
