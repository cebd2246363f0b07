/* The enforcer's two lifecycles as tables: every move of the upstream's
 * phase (upstream.h) and of the connection's state (conn.h), legal or not,
 * checked against the diagrams in those headers; and the one mapping of a
 * failed upstream open to the answer every caller gives (403 for a denied
 * address, 504 for a timeout, 502 otherwise, with the reason code). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "enforcer/conn.h"
#include "enforcer/upstream.h"
#include "tests/unit/unit.h"

/* One row per phase: the phases it may move to, by their first letters
 * (N one R esolving C onnecting T ls Y ready Q request P response D one
 * I dle S plice). */
static const struct {
	enum up_phase from;
	const char *to;
} up_rows[] = {
	{ UP_NONE, "NRY" },
	{ UP_RESOLVING, "NC" },
	{ UP_CONNECTING, "NCTY" },
	{ UP_TLS, "NY" },
	{ UP_READY, "NQSI" },
	{ UP_REQUEST, "NP" },
	{ UP_RESPONSE, "ND" },
	{ UP_DONE, "NIS" },
	{ UP_IDLE, "NQ" },
	{ UP_SPLICE, "N" },
};
static const char up_letters[UP_NPHASES] = {
	[UP_NONE] = 'N', [UP_RESOLVING] = 'R', [UP_CONNECTING] = 'C', [UP_TLS] = 'T', [UP_READY] = 'Y',
	[UP_REQUEST] = 'Q', [UP_RESPONSE] = 'P', [UP_DONE] = 'D', [UP_IDLE] = 'I', [UP_SPLICE] = 'S',
};

/* H ead W ait B ody X discard T unnel D rain C losed 2 (h2) */
static const struct {
	enum conn_state from;
	const char *to;
} conn_rows[] = {
	{ CS_HEAD, "HWXDC2" },
	{ CS_WAIT, "HBXTDC" },
	{ CS_BODY, "HTDC" },
	{ CS_DISCARD, "HDC" },
	{ CS_TUNNEL, "DC" },
	{ CS_DRAIN, "C" },
	{ CS_CLOSED, "" },
	{ CS_H2, "DC" },
};
static const char conn_letters[CS_NSTATES] = {
	[CS_HEAD] = 'H', [CS_WAIT] = 'W', [CS_BODY] = 'B', [CS_DISCARD] = 'X',
	[CS_TUNNEL] = 'T', [CS_DRAIN] = 'D', [CS_CLOSED] = 'C', [CS_H2] = '2',
};

static const struct {
	int status;
	const char *reason;      /* as the open reported it */
	int want;
	const char *want_reason;
} fail_rows[] = {
	{ AL_EDENIED, "denied-address", 403, "denied-address" },
	{ AL_EDENIED, NULL, 403, "denied-address" },
	{ AL_ETIMEOUT, "upstream-timeout", 504, "upstream-timeout" },
	{ AL_ETIMEOUT, NULL, 504, "upstream-timeout" },
	{ AL_ENOTFOUND, "dns-failure", 502, "dns-failure" },
	{ AL_ENOTFOUND, NULL, 502, "dns-failure" },
	{ AL_EUNAVAIL, "upstream-connect-failed", 502, "upstream-connect-failed" },
	{ AL_ECRYPTO, "upstream-tls-failed", 502, "upstream-tls-failed" },
	{ AL_EIO, NULL, 502, "upstream-connect-failed" },
};

int main(void)
{
	CHECK(sizeof up_rows / sizeof up_rows[0] == UP_NPHASES, "a row per upstream phase");
	for (size_t i = 0; i < sizeof up_rows / sizeof up_rows[0]; i++)
		for (int to = 0; to < UP_NPHASES; to++) {
			bool want = strchr(up_rows[i].to, up_letters[to]) != NULL;
			CHECK(upstream_move_ok(up_rows[i].from, to) == want, "upstream %s -> %s: want %s",
			      upstream_phase_name(up_rows[i].from), upstream_phase_name(to), want ? "legal" : "illegal");
		}
	CHECK(!upstream_move_ok(UP_NPHASES, UP_NONE) && !upstream_move_ok(UP_NONE, UP_NPHASES), "out of range");

	CHECK(sizeof conn_rows / sizeof conn_rows[0] == CS_NSTATES, "a row per connection state");
	for (size_t i = 0; i < sizeof conn_rows / sizeof conn_rows[0]; i++)
		for (int to = 0; to < CS_NSTATES; to++) {
			bool want = strchr(conn_rows[i].to, conn_letters[to]) != NULL;
			CHECK(conn_move_ok(conn_rows[i].from, to) == want, "conn %s -> %s: want %s",
			      conn_state_name(conn_rows[i].from), conn_state_name(to), want ? "legal" : "illegal");
		}
	CHECK(!conn_move_ok(CS_NSTATES, CS_HEAD) && !conn_move_ok(CS_HEAD, CS_NSTATES), "out of range");

	for (size_t i = 0; i < sizeof fail_rows / sizeof fail_rows[0]; i++) {
		enum reason r = fail_rows[i].reason ? reason_lookup(fail_rows[i].reason, strlen(fail_rows[i].reason))
						    : REASON_NONE;
		int got = upstream_fail_status(fail_rows[i].status, &r);
		const char *reason = reason_name(r);
		CHECK(got == fail_rows[i].want, "row %zu: status %d, want %d", i, got, fail_rows[i].want);
		CHECK_STR(reason, fail_rows[i].want_reason, "fail row");
	}
	return unit_finish("test-lifecycle");
}
