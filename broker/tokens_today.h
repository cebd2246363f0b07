/* The LLM tokens each client with a max_tokens_per_day has used on the
 * current UTC day, as the enforcer's budget counts them (common/ipc.h
 * stats "tokens_today", gauges), kept in the state dir (tokens-today.json)
 * so that neither a restarted enforcer nor a restarted airlock gives a
 * client a fresh day's budget: each enforcer that says hello is told them
 * ("tokens-today") right before its policy. What was counted in the last
 * second before a kill -9 of the enforcer (its last stats frame) is not
 * kept. Per host: in a fleet each node counts its own. Loop thread only. */
#ifndef AIRLOCK_BROKER_TOKENS_TODAY_H
#define AIRLOCK_BROKER_TOKENS_TODAY_H

#include <jansson.h>

#include "broker/broker.h"

/* Read tokens-today.json from the state dir (a missing file, another
 * day's or one that does not parse: start from nothing, said in the log). */
void tokens_today_load(struct broker *b);
/* A stats frame (checked against its table): its tokens_today, when it
 * has one, is the enforcer's whole table and replaces the day's counts. */
void tokens_today_note(struct broker *b, const json_t *msg);
/* The "tokens-today" message for an enforcer that said hello, or NULL
 * when nothing was counted today. */
json_t *tokens_today_msg(struct broker *b);
/* [{client, tokens, max_tokens_per_day}...] for GET /proxy/v1/status:
 * each client with a budget of tokens per day and what it used today. */
json_t *tokens_today_status(struct broker *b);
/* Write what is not written yet (at stop), then forget. */
void tokens_today_free(struct broker *b);

#endif
