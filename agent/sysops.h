/* The changes install makes to the sandbox and their undo (sysops.c):
 * the nftables table inet airlock_agent, the route of the stand-in
 * addresses, /etc/resolv.conf pointed at the stub, airlock's CA in the
 * system store. Each returns 0, or -1 with one line in err. */
#ifndef AIRLOCK_AGENT_SYSOPS_H
#define AIRLOCK_AGENT_SYSOPS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/state.h"

extern const char sys_resolv_ours[];

/* Run argv (PATH lookup, no shell) with input on stdin; 0 when it exits 0,
 * else -1 with the tail of its stderr in err. */
int sys_run(char *const argv[], const char *input, char *err, size_t cap);

int sys_nft_apply(const struct agent_config *c, char *err, size_t cap);
bool sys_nft_present(void);
int sys_nft_remove(char *err, size_t cap);
/* Adds 198.18.0.0/15 dev lo unless a route for it exists; *added says. */
int sys_route_add(bool *added, char *err, size_t cap);
int sys_route_del(char *err, size_t cap);
/* The first call saves the original (file, link or absence) in the state
 * dir and records it in `in` (saved at once); every call writes ours. */
int sys_resolv_point(struct agent_installed *in, char *err, size_t cap);
/* Puts the original back, if the file is still ours. */
int sys_resolv_restore(struct agent_installed *in, char *err, size_t cap);
int sys_ca_add(const char *pem_path, char *err, size_t cap);
int sys_ca_remove(char *err, size_t cap);

#endif
