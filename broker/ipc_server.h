/* The broker's side of common/ipc.h: listen on <state>/ipc.sock (0600),
 * accept enforcers (same uid, SO_PEERCRED), answer their asks through a
 * dispatch table, and send every connected enforcer the policy snapshot. */
#ifndef AIRLOCK_BROKER_IPC_SERVER_H
#define AIRLOCK_BROKER_IPC_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

int ipc_server_start(struct broker *b, const char *path, struct ipc_server **out, char *err,
		     size_t errlen) AL_MUST_CHECK;
void ipc_server_stop(struct ipc_server *s);
/* Send an encoded policy frame (broker_policy_prepare) to every enforcer
 * that has said hello; one that says hello later gets b->policy. */
void ipc_server_broadcast(struct ipc_server *s, const uint8_t *frame, size_t len);

/* Does every connected enforcer run policy `version` or a later one
 * (policy-ack)? True when none is connected. */
bool ipc_server_applied(const struct ipc_server *s, uint64_t version);
/* Enforcers connected (policy links that said hello). */
unsigned ipc_server_enforcers(const struct ipc_server *s);

/* The answer to a "headers" ask (exposed for tests), or NULL when the ask
 * does not pass its table in common/ipc.c (the connection is then closed). */
json_t *answer_headers(struct broker *b, const json_t *ask);
/* The same for an ask already checked against its table, from connection
 * `conn` (a serial): an OAuth ask may wait for a refresh in flight, then
 * NULL is returned with *deferred set and the answer goes out later through
 * ipc_server_send_to. */
json_t *answer_headers_conn(struct broker *b, const json_t *ask, uint64_t conn, bool *deferred);
/* Send msg to the connection with this serial; AL_ENOTFOUND when it is gone. */
int ipc_server_send_to(struct ipc_server *s, uint64_t conn, const json_t *msg, bool wipe);

#endif
