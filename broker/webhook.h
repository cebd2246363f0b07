/* --approval-webhook: each new held request is POSTed as JSON (the
 * APPROVAL of docs/api.md) to a URL of the operator's, for chat bots and
 * pagers, signed so the receiver knows it came from this broker:
 *   X-Airlock-Signature: sha256=HEX(HMAC-SHA256(key, body))
 * The key is the bytes of --approval-webhook-key-file (never a flag value,
 * never logged). Posts run on libuv's thread pool with libcurl, one at a
 * time per post, 5 s each at most; past AL_WEBHOOK_QUEUE_MAX waiting, a new
 * one is dropped and logged. A failed post is logged, not retried: the
 * approval is still listed by the API. */
#ifndef AIRLOCK_BROKER_WEBHOOK_H
#define AIRLOCK_BROKER_WEBHOOK_H

#include <jansson.h>

#include "broker/broker.h"

/* Read the key (with a URL: required, 16 to AL_WEBHOOK_KEY_MAX bytes). */
int webhook_start(struct broker *b, char *err, size_t errlen) AL_MUST_CHECK;
/* Post this approval (a copy is taken) when a URL is configured. */
void webhook_approval(struct broker *b, const json_t *approval);
/* Wipe the key (posts still running keep their own copy until done). */
void webhook_free(struct broker *b);

#endif
