/* The enforcer's end of the broker door (common/ipc.h): connect to
 * ipc.sock, check the peer, say hello, take policy snapshots and hand each
 * to every worker. If the broker goes away, keep serving with the last
 * policy and reconnect with backoff. Runs on the main thread's loop. */
#ifndef AIRLOCK_ENFORCER_IPC_CLIENT_H
#define AIRLOCK_ENFORCER_IPC_CLIENT_H

#include <uv.h>

#include "common/error.h"

struct proxy;
struct ipc_client;

int ipc_client_start(uv_loop_t *loop, struct proxy *px, const char *path, struct ipc_client **out) AL_MUST_CHECK;
void ipc_client_stop(struct ipc_client *ic);   /* frees once its handles are closed */

#endif
