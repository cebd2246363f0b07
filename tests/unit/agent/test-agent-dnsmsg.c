/* agent/dnsmsg.c: queries in, answers out, table-driven. Each row is a
 * query built by hand (header, question, maybe EDNS) and what the answer's
 * rcode and answer count must be; the A answers are checked byte for
 * byte once. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agent/dnsmsg.h"
#include "tests/unit/unit.h"

static int lookups;

static int lookup(void *arg, const char *name, uint8_t addr[4])
{
	(void)arg;
	lookups++;
	if (strcmp(name, "nxdomain.test") == 0)
		return DNS_NXDOMAIN;
	memcpy(addr, "\xc6\x12\x00\x07", 4);   /* 198.18.0.7 */
	return DNS_NOERROR;
}

/* header: id 0x1234, flags, counts */
static size_t header(uint8_t *b, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	uint8_t h[12] = { 0x12, 0x34, (uint8_t)(flags >> 8), (uint8_t)flags, (uint8_t)(qd >> 8), (uint8_t)qd,
			  (uint8_t)(an >> 8), (uint8_t)an, (uint8_t)(ns >> 8), (uint8_t)ns, (uint8_t)(ar >> 8),
			  (uint8_t)ar };
	memcpy(b, h, 12);
	return 12;
}

static size_t name(uint8_t *b, const char *dotted)
{
	size_t o = 0;
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		b[o++] = (uint8_t)l;
		memcpy(b + o, dotted, l);
		o += l;
		dotted += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	return o;
}

static size_t query(uint8_t *b, const char *qname, uint16_t qtype, uint16_t qclass)
{
	size_t n = header(b, 0x0100, 1, 0, 0, 0);
	n += name(b + n, qname);
	b[n++] = (uint8_t)(qtype >> 8);
	b[n++] = (uint8_t)qtype;
	b[n++] = (uint8_t)(qclass >> 8);
	b[n++] = (uint8_t)qclass;
	return n;
}

static void answer_of(const uint8_t *q, size_t n, int *rcode, int *ancount, size_t *len, uint8_t *out)
{
	*len = dnsmsg_respond(q, n, out, 512, lookup, NULL);
	*rcode = *len >= 12 ? out[3] & 0xf : -1;
	*ancount = *len >= 12 ? out[6] << 8 | out[7] : -1;
}

struct row {
	const char *what;
	const char *qname;
	uint16_t qtype, qclass;
	int rcode, ancount;
};

static const struct row rows[] = {
	{ "A", "Origin.Test", 1, 1, 0, 1 },
	{ "AAAA: no records", "origin.test", 28, 1, 0, 0 },
	{ "TXT: no records", "origin.test", 16, 1, 0, 0 },
	{ "HTTPS (65): no records", "origin.test", 65, 1, 0, 0 },
	{ "ANY: no records", "origin.test", 255, 1, 0, 0 },
	{ "A localhost", "localhost", 1, 1, 0, 1 },
	{ "A x.localhost", "x.localhost", 1, 1, 0, 1 },
	{ "class CH refused", "origin.test", 1, 3, 5, 0 },
	{ "a name with a space refused", "a b.test", 1, 1, 5, 0 },
	{ "underscore passes", "_srv._tcp.test", 1, 1, 0, 1 },
	{ "the lookup's NXDOMAIN", "nxdomain.test", 1, 1, 3, 0 },
	{ "root, A: no records", "", 1, 1, 0, 0 },
};

static void table(void)
{
	uint8_t q[600], out[512];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		size_t n = query(q, r->qname, r->qtype, r->qclass), len;
		int rc, an;
		answer_of(q, n, &rc, &an, &len, out);
		CHECK(rc == r->rcode && an == r->ancount, "%s: rcode %d an %d", r->what, rc, an);
		CHECK(len >= n && out[0] == 0x12 && out[1] == 0x34, "%s: id echoed", r->what);
		CHECK((out[2] & 0x80) && (out[2] & 0x01) && (out[3] & 0x80), "%s: QR, RD, RA", r->what);
		CHECK(memcmp(out + 12, q + 12, n - 12) == 0, "%s: question echoed as sent (case kept)", r->what);
	}
	/* the A answer, byte for byte */
	size_t n = query(q, "origin.test", 1, 1), len;
	int rc, an;
	answer_of(q, n, &rc, &an, &len, out);
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, DNS_TTL, 0, 4, 198, 18, 0, 7 };
	CHECK(len == n + sizeof rr && memcmp(out + n, rr, sizeof rr) == 0, "A record bytes");
	n = query(q, "localhost", 1, 1);
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(memcmp(out + len - 4, "\x7f\x00\x00\x01", 4) == 0, "localhost is 127.0.0.1");
}

static void malformed(void)
{
	uint8_t q[600], out[512];
	size_t n, len;
	int rc, an;

	/* no answer at all: short, or a response */
	CHECK(dnsmsg_respond((const uint8_t *)"\x12\x34", 2, out, sizeof out, lookup, NULL) == 0, "short: dropped");
	n = query(q, "a.test", 1, 1);
	q[2] |= 0x80;
	CHECK(dnsmsg_respond(q, n, out, sizeof out, lookup, NULL) == 0, "a response: dropped (no loops)");

	/* NOTIMP: opcode other than QUERY (answered without a question) */
	n = query(q, "a.test", 1, 1);
	q[2] |= 0x28;   /* opcode 5, UPDATE */
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(rc == DNS_NOTIMP && len == 12 && out[5] == 0, "UPDATE: NOTIMP, no question");

	/* FORMERR: counts, sections, framing */
	static const uint16_t counts[][4] = { { 0, 0, 0, 0 }, { 2, 0, 0, 0 }, { 1, 1, 0, 0 }, { 1, 0, 1, 0 }, { 1, 0, 0, 2 } };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		n = query(q, "a.test", 1, 1);
		header(q, 0x0100, counts[i][0], counts[i][1], counts[i][2], counts[i][3]);
		answer_of(q, n, &rc, &an, &len, out);
		CHECK(rc == DNS_FORMERR, "counts %u/%u/%u/%u: FORMERR", counts[i][0], counts[i][1], counts[i][2],
		      counts[i][3]);
	}
	n = query(q, "a.test", 1, 1);
	q[n++] = 0;
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "a byte after the message");
	n = query(q, "a.test", 1, 1);
	answer_of(q, n - 1, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "question cut short");

	/* EDNS: one OPT at the root passes; another record does not */
	n = query(q, "a.test", 1, 1);
	q[11] = 1;
	memcpy(q + n, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
	answer_of(q, n + 11, &rc, &an, &len, out);
	CHECK(rc == DNS_NOERROR && an == 1, "EDNS OPT accepted");
	memcpy(q + n, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04", 11);
	answer_of(q, n + 11, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "OPT data past the end");
	memcpy(q + n, "\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00", 11);
	answer_of(q, n + 11, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "an A record as additional");

	/* label types 0x40 and 0x80 */
	n = header(q, 0x0100, 1, 0, 0, 0);
	memcpy(q + n, "\x41" "a\x00\x00\x01\x00\x01", 7);
	answer_of(q, n + 7, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "label type 0x40");

	/* a name of 255 wire octets passes, 256 does not: 4 labels of 63 */
	char big[300];
	memset(big, 'a', sizeof big);
	for (int i = 63; i < 256; i += 64)
		big[i] = '.';
	big[253] = '\0';   /* 63.63.63.61: 253 characters, 255 on the wire */
	n = query(q, big, 1, 1);
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(rc == DNS_NOERROR && an == 1, "253-character name");
	big[253] = 'a';
	big[254] = '\0';
	n = query(q, big, 1, 1);
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "254-character name (256 octets)");
	/* a 64-byte label: its length byte reads as type 0x40 */
	memset(big, 'a', 64);
	big[64] = '\0';
	n = query(q, big, 1, 1);
	answer_of(q, n, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "64-byte label");
}

static void pointers(void)
{
	uint8_t q[600], out[512];
	size_t n, len;
	int rc, an;
	/* "a" then a pointer to itself: a loop */
	n = header(q, 0x0100, 1, 0, 0, 0);
	memcpy(q + n, "\x01" "a\xc0\x0c\x00\x01\x00\x01", 8);
	answer_of(q, n + 8, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "pointer back to its own name: a loop");
	/* pointer forwards */
	memcpy(q + n, "\xc0\x0e\x01" "a\x00\x00\x01\x00\x01", 9);
	answer_of(q, n + 9, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "pointer forwards");
	/* pointer into the header */
	memcpy(q + n, "\xc0\x02\x00\x01\x00\x01", 6);
	answer_of(q, n + 6, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "pointer into the header");
	/* pointer at the last byte */
	memcpy(q + n, "\xc0", 1);
	answer_of(q, n + 1, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "half a pointer");
	/* the question is a query's first name: before it is only the header,
	 * so no pointer in it can be valid, whatever it loops through */
	memcpy(q + n, "\x01" "b\xc0\x0c\x00\x01\x00\x01", 8);
	answer_of(q, n + 8, &rc, &an, &len, out);
	CHECK(rc == DNS_FORMERR, "any pointer in the question");
}

int main(void)
{
	table();
	malformed();
	pointers();
	CHECK(lookups > 0, "the pool was asked");
	return unit_finish("test-agent-dnsmsg");
}
