/* One DNS query in, one answer out (dnsmsg.h). Names are read label by
 * label with every bound checked before the byte is touched; compression
 * pointers are allowed (a query may use them, RFC 1035 §4.1.4) only
 * strictly backwards and a bounded number of times, so no input loops. */
#include "config.h"

#include "dnsmsg.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool host_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Read the name at *off; *off moves past it (past the first pointer, if
 * any). -1 on anything malformed. */
static int read_name(const uint8_t *m, size_t n, size_t *off, struct dns_query *q)
{
	size_t pos = *off, end = 0, tlen = 0, last = 0;
	unsigned hops = 0;
	bool jumped = false;
	q->wirelen = 0;
	q->host_ok = true;
	for (;;) {
		if (pos >= n)
			return -1;
		uint8_t len = m[pos];
		if ((len & 0xc0) == 0xc0) {
			if (pos + 1 >= n || ++hops > DNS_PTR_HOPS_MAX)
				return -1;
			size_t target = (size_t)(len & 0x3f) << 8 | m[pos + 1];
			/* strictly before the pointer, and before every earlier
			 * jump's target: each jump goes further back, so no
			 * chain of them can loop; never into the header */
			if (target < DNS_HEADER_LEN || target >= pos || (jumped && target >= last))
				return -1;
			last = target;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (len & 0xc0)
			return -1;   /* 0x40 and 0x80: extended and reserved label types */
		if (q->wirelen + 1 + len > DNS_WIRE_NAME_MAX)
			return -1;
		q->wire[q->wirelen++] = len;
		if (len == 0) {
			pos++;
			break;
		}
		if (pos + 1 + len > n)
			return -1;
		if (tlen)
			q->name[tlen++] = '.';
		for (size_t i = 0; i < len; i++) {
			uint8_t c = m[pos + 1 + i];
			q->wire[q->wirelen++] = c;
			if (!host_byte(c))
				q->host_ok = false;
			/* a label byte that is a dot, or not printable, keeps no
			 * text form: such a name is refused, never looked up */
			q->name[tlen++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (c > 0x20 && c < 0x7f) ? (char)c : '?';
		}
		pos += 1 + len;
	}
	if (tlen > DNS_NAME_MAX)
		return -1;
	q->name[tlen] = '\0';
	*off = jumped ? end : pos;
	return 0;
}

int dnsmsg_parse(const uint8_t *m, size_t n, struct dns_query *q)
{
	memset(q, 0, sizeof *q);
	if (n < DNS_HEADER_LEN || n > DNS_MSG_MAX)
		return -1;
	uint16_t flags = get16(m + 2);
	if (flags & 0x8000)
		return -1;   /* a response */
	q->id = get16(m);
	q->rd = (flags & 0x0100) != 0;
	if ((flags >> 11 & 0xf) != 0)
		return DNS_NOTIMP;   /* only QUERY */
	if (get16(m + 4) != 1 || get16(m + 6) != 0 || get16(m + 8) != 0 || get16(m + 10) > 1)
		return DNS_FORMERR;
	size_t off = DNS_HEADER_LEN;
	if (read_name(m, n, &off, q) < 0 || off + 4 > n)
		return DNS_FORMERR;
	q->qtype = get16(m + off);
	q->qclass = get16(m + off + 2);
	off += 4;
	if (get16(m + 10) == 1) {
		/* EDNS (RFC 6891): one OPT record, owner the root, its data whole */
		if (off + 11 > n || m[off] != 0 || get16(m + off + 1) != DNS_T_OPT)
			return DNS_FORMERR;
		size_t rdlen = get16(m + off + 9);
		off += 11;
		if (off + rdlen > n)
			return DNS_FORMERR;
		off += rdlen;
	}
	if (off != n)
		return DNS_FORMERR;
	return DNS_NOERROR;
}

/* localhost and its subdomains are loopback (RFC 6761 §6.3). */
static bool is_localhost(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "localhost") == 0 || (n > 10 && strcmp(name + n - 10, ".localhost") == 0);
}

size_t dnsmsg_respond(const uint8_t *m, size_t n, uint8_t *out, size_t cap, dns_lookup_fn lookup, void *arg)
{
	struct dns_query q;
	uint8_t addr[4];
	int rc = dnsmsg_parse(m, n, &q);
	bool answer = false;
	if (rc < 0 || cap < 512)
		return 0;
	if (rc == DNS_NOERROR) {
		if (q.qclass != 1)
			rc = DNS_REFUSED;       /* only IN */
		else if (!q.host_ok && q.name[0])
			rc = DNS_REFUSED;       /* not a host name: no stand-in */
		else if (q.qtype == DNS_T_A && q.name[0] && is_localhost(q.name)) {
			memcpy(addr, "\x7f\x00\x00\x01", 4);
			answer = true;
		} else if (q.qtype == DNS_T_A && q.name[0]) {
			rc = lookup(arg, q.name, addr);
			answer = rc == DNS_NOERROR;
		}
		/* AAAA and every other type: no records (NOERROR, NODATA) */
	}
	memset(out, 0, DNS_HEADER_LEN);
	put16(out, q.id);
	/* QR, AA, RA; RD echoed; opcode 0 */
	put16(out + 2, (uint16_t)(0x8000 | 0x0400 | 0x0080 | (q.rd ? 0x0100 : 0) | (rc & 0xf)));
	size_t off = DNS_HEADER_LEN;
	if (rc == DNS_FORMERR || rc == DNS_NOTIMP)
		return off;   /* no question: it may be what was malformed */
	put16(out + 4, 1);
	memcpy(out + off, q.wire, q.wirelen);
	off += q.wirelen;
	put16(out + off, q.qtype);
	put16(out + off + 2, q.qclass);
	off += 4;
	if (answer) {
		put16(out + 6, 1);
		put16(out + off, 0xc000 | DNS_HEADER_LEN);   /* the question's name */
		put16(out + off + 2, DNS_T_A);
		put16(out + off + 4, 1);
		put16(out + off + 6, 0);
		put16(out + off + 8, DNS_TTL);
		put16(out + off + 10, 4);
		memcpy(out + off + 12, addr, 4);
		off += 16;
	}
	return off;
}
