/* What the enforcer tells the broker about its traffic (common/ipc.h
 * "decisions" and "stats"): the last AL_DECISIONS_RING decision lines, for
 * GET /proxy/v1/decisions (broker/api_decisions.c), and the counters added
 * up from every stats frame, rendered with the broker's own for GET
 * /metrics (Prometheus text format). Loop thread only. */
#ifndef AIRLOCK_BROKER_OBSERVE_H
#define AIRLOCK_BROKER_OBSERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "common/limits.h"

struct observe_entry {
	uint64_t seq;              /* 1, 2, ... in arrival order */
	int64_t at_ms;             /* when the broker received it (wall clock) */
	char *line;                /* the decision's JSON line as the enforcer sent it, '\n' included */
	size_t len;
	bool checked;              /* line parsed and checked against its table (when first read) */
	bool bad;                  /* ... and refused: never served */
	char client[AL_NAME_MAX + 1];
	char verdict[16];
};

/* on_msg_decisions / on_msg_stats (ipc_server.c): msg was checked against
 * its table. */
void observe_decisions(struct broker *b, const json_t *msg);
void observe_stats(struct broker *b, const json_t *msg);
/* The entry numbered seq, or NULL when it is gone from the ring or not yet
 * there; observe_oldest() is the first still kept, observe_next() the
 * number the next one will get. */
struct observe_entry *observe_at(struct broker *b, uint64_t seq);
/* e's JSON line ('\n' included), or NULL when it is not the JSON object of
 * a decision: each line is parsed and checked the first time it is read,
 * not when it arrives (most are never read). */
const char *observe_line(struct observe_entry *e, size_t *len);
uint64_t observe_oldest(const struct broker *b);
uint64_t observe_next(const struct broker *b);
/* LLM usage added up since the broker started: [{client, secret,
 * input_tokens, output_tokens, responses}...] (GET /proxy/v1/status). */
json_t *observe_usage(struct broker *b);
/* The Prometheus text of every metric (malloc'd, *len set). */
char *observe_metrics(struct broker *b, size_t *len);
void observe_free(struct broker *b);

#endif
