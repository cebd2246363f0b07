/* Stand-in addresses: the DNS stub answers every name it may stand in for
 * with an address of 198.18.0.0/15 (RFC 2544's benchmarking range: never a
 * real destination) and remembers which name it stands for, so a
 * redirected connection to that address goes to the proxy as a CONNECT to
 * the name. Addresses are handed out in turn; when all are taken the
 * oldest is given to the next new name (answers carry a short TTL). One
 * thread: the agent's loop. */
#ifndef AIRLOCK_AGENT_POOL_H
#define AIRLOCK_AGENT_POOL_H

#include <stdint.h>

#define POOL_BASE 0xc6120000u          /* 198.18.0.0 */
#define POOL_SIZE ((1u << 17) - 2)     /* 198.18.0.1 .. 198.19.255.254 */

struct pool;

/* A pool of size addresses from base + 1 (tests use small ones). */
struct pool *pool_new(uint32_t base, uint32_t size);
void pool_free(struct pool *p);
/* The address (host order) standing for name (lower case), given now if it
 * has none. */
uint32_t pool_addr(struct pool *p, const char *name);
/* The name addr stands for, or NULL (outside the pool, or not given). */
const char *pool_name(const struct pool *p, uint32_t addr);

#endif
