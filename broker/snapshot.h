/* The policy snapshot the enforcer receives (common/ipc.h, "policy"):
 * every client with its token hash and its live rules in declaration
 * order. Expired rules are left out at the instant they expire, and rules
 * whose secret does not exist (deleted) for as long as it does not. */
#ifndef AIRLOCK_BROKER_SNAPSHOT_H
#define AIRLOCK_BROKER_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

json_t *snapshot_build(const json_t *doc, uint64_t version, int64_t now);

#endif
