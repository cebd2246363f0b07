/* What `audit suggest` does with the requests it read (cmd_audit.c reads
 * them from a decision log; a reader of the broker's decisions stream feeds
 * the same struct suggestion list): turn them into the rule set to run,
 * knowing which secret is bound to which host (GET /proxy/v1/secrets) and,
 * for the secret types a preset takes, which calls need the credential,
 * which are optional (telemetry...) and which the token shim answers. */
#ifndef AIRLOCK_CLI_SUGGEST_H
#define AIRLOCK_CLI_SUGGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUGGEST_REASON_MAX 64

/* One distinct request that was denied (or let through by a learning
 * rule), and how often. Every string has been checked with the rule
 * vocabulary (netmatch.h) before it gets here. */
struct suggestion {
	char *client, *host, *method, *path; /* method and path NULL: only the host was seen */
	uint16_t port;
	bool generalised;                    /* path widened to a glob a rule can spell */
	unsigned long count;
	int64_t last;
	char reason[SUGGEST_REASON_MAX];
};

struct suggest_opts {
	const json_t *secrets;   /* GET /proxy/v1/secrets, or NULL when the broker is not there */
	bool include_optional;   /* keep the optional calls, marked */
};

/* What was left out, for the summary line. */
struct suggest_counts {
	unsigned long rules, shim, token_host, optional, completed;
};

/* Print the `airlock allow` commands for s[0..n) (reordered), one comment
 * each saying why, then the left-out optional calls as comments. */
void suggest_emit(struct suggestion *s, size_t n, const struct suggest_opts *o, struct suggest_counts *c);

#endif
