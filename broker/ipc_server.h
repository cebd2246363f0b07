/* The broker's side of common/ipc.h: listen on <state>/ipc.sock (0600),
 * accept enforcers (same uid, SO_PEERCRED), answer their asks through a
 * dispatch table, and send every connected enforcer the policy snapshot. */
#ifndef AIRLOCK_BROKER_IPC_SERVER_H
#define AIRLOCK_BROKER_IPC_SERVER_H

#include <jansson.h>
#include <stddef.h>

#include "broker/broker.h"

int ipc_server_start(struct broker *b, const char *path, struct ipc_server **out, char *err,
		     size_t errlen) AL_MUST_CHECK;
void ipc_server_stop(struct ipc_server *s);
/* Send msg to every enforcer that has said hello. */
void ipc_server_broadcast(struct ipc_server *s, const json_t *msg);

/* The answer to a "headers" ask (exposed for tests), or NULL when the ask
 * itself is malformed (the connection is then closed). */
json_t *answer_headers(struct broker *b, const json_t *ask);

#endif
