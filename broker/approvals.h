/* Pending approvals: the requests an enforcer holds for a person (a client
 * with on_deny "hold", common/ipc.h "hold"). The broker keeps each one
 * until a person decides (POST /proxy/v1/approvals/{id}, api_approvals.c),
 * the enforcer stops waiting (hold-end, or its link goes), the hold's
 * timeout passes, or its client is deleted; and a ring of the events (new,
 * approved, denied, expired, withdrawn) for GET /proxy/v1/approvals?follow=1.
 * An approval's answer goes to the enforcer only once every enforcer runs
 * the policy with the rule it created (or AL_POLICY_ACK_TIMEOUT_MS later),
 * so the held request is decided again against that rule. */
#ifndef AIRLOCK_BROKER_APPROVALS_H
#define AIRLOCK_BROKER_APPROVALS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

struct approval;

void approvals_start(struct broker *b);
/* Close the timer; the enforcer links going down drop the rest. */
void approvals_stop(struct broker *b);
void approvals_free(struct broker *b);

/* A "hold" ask from IPC connection `conn` (checked against its table):
 * NULL when it is now pending (answered later through ipc_server_send_to),
 * or the refusal to send at once. */
json_t *approvals_on_hold(struct broker *b, uint64_t conn, const json_t *ask);
/* hold-end: the enforcer stopped waiting for ask id on conn. */
void approvals_on_hold_end(struct broker *b, uint64_t conn, uint32_t ask_id);
/* An enforcer link closed: its holds are gone with it. */
void approvals_conn_gone(struct broker *b, uint64_t conn);
/* A client was deleted: its holds are answered "client-gone" (403
 * client-revoked). */
void approvals_client_gone(struct broker *b, const char *client);
/* An enforcer acknowledged a policy, or went: answer the approvals whose
 * rule now runs everywhere. */
void approvals_policy_progress(struct broker *b);

/* The pending approval with this id, NULL when none (decided or gone). */
struct approval *approvals_find(struct broker *b, uint64_t id);
/* The approval as the API shows it (APPROVAL in docs/api.md). */
json_t *approvals_view(const struct approval *a);
/* What a person approves: the rule body (POST allows) that lets exactly
 * this request through, with `path` (NULL: exactly the request's path)
 * and ttl_seconds (0: no expiry). NULL with err set when path does not
 * cover the request or the request has none (a CONNECT). */
json_t *approvals_rule_body(const struct approval *a, const char *path, int64_t ttl, char *err, size_t errlen);
/* Approve: the answer goes once policy `version` runs everywhere; every
 * other pending approval of the same client that rule covers goes with it.
 * The approval is no longer pending. */
void approvals_approve(struct broker *b, struct approval *a, uint64_t version, uint64_t rule,
		       const json_t *rule_body);
/* Deny now: the held request is answered 403 hold-denied. */
void approvals_deny(struct broker *b, struct approval *a);
/* Every pending approval, oldest first, as a JSON array. */
json_t *approvals_list(struct broker *b);

/* The event ring: each event is one JSON line (an approval view with its
 * new "state"), numbered from 0 up. */
uint64_t approvals_events_oldest(const struct broker *b);
uint64_t approvals_events_next(const struct broker *b);
const char *approvals_event(const struct broker *b, uint64_t seq, size_t *len);
/* The pending approvals as JSON lines (state "pending"), malloc'd. */
char *approvals_pending_lines(struct broker *b, size_t *len);

/* For /metrics: approvals pending now, and how many ended each way since
 * the broker started (approved, denied, expired, withdrawn). */
#define APPROVAL_OUTCOMES 4
const char *approval_outcome_name(size_t i);
void approvals_counts(const struct broker *b, size_t *pending, uint64_t outcomes[APPROVAL_OUTCOMES]);

#endif
