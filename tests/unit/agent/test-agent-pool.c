/* agent/pool.c: names get addresses in turn, keep them, and give the
 * oldest up when the pool is full; addresses outside it have no name. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "agent/pool.h"
#include "tests/unit/unit.h"

int main(void)
{
	struct pool *p = pool_new(POOL_BASE, 4);
	uint32_t a = pool_addr(p, "a.test"), b = pool_addr(p, "b.test");
	CHECK(a == POOL_BASE + 1 && b == POOL_BASE + 2, "in turn from base + 1");
	CHECK(pool_addr(p, "a.test") == a, "a name keeps its address");
	CHECK_STR(pool_name(p, a), "a.test", "name of a");
	CHECK(pool_name(p, POOL_BASE) == NULL, "the base itself: none");
	CHECK(pool_name(p, POOL_BASE + 3) == NULL, "not given yet: none");
	CHECK(pool_name(p, POOL_BASE + 5) == NULL, "past the pool: none");
	CHECK(pool_name(p, 0x7f000001) == NULL, "127.0.0.1: none");
	pool_addr(p, "c.test");
	pool_addr(p, "d.test");
	uint32_t e = pool_addr(p, "e.test");
	CHECK(e == a, "full: the oldest address is given again");
	CHECK_STR(pool_name(p, a), "e.test", "it now stands for the new name");
	CHECK(pool_addr(p, "a.test") == b, "the old name gets the next oldest");
	CHECK_STR(pool_name(p, b), "a.test", "b.test gave its address up");
	/* many names through a small pool: every live name maps back */
	char n[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(n, sizeof n, "n%d.test", i);
		uint32_t x = pool_addr(p, n);
		CHECK(x > POOL_BASE && x <= POOL_BASE + 4 && strcmp(pool_name(p, x), n) == 0, "%s", n);
	}
	pool_free(p);
	/* the real size */
	p = pool_new(POOL_BASE, POOL_SIZE);
	for (int i = 0; i < 70000; i++) {
		snprintf(n, sizeof n, "h%d.example", i);
		pool_addr(p, n);
	}
	CHECK_STR(pool_name(p, POOL_BASE + 1), "h0.example", "198.18.0.1");
	CHECK_STR(pool_name(p, 0xc6131170), "h69999.example", "198.19.17.112 (index 70000 - 1 + 1)");
	CHECK(pool_name(p, 0xc613ffff) == NULL, "198.19.255.255: outside");
	pool_free(p);
	return unit_finish("test-agent-pool");
}
