/* Held requests: a request of a client whose policy says hold (on_deny
 * "hold") that would be denied for a reason a rule can cure (no-rule,
 * path-not-allowed, method-not-allowed) waits, its connection idle and the
 * loop free, while the broker publishes it for a person's approval
 * (common/ipc.h "hold"). Approved, it is decided again against the policy
 * of that moment, which holds the new rule; denied, 403 hold-denied; past
 * --hold-timeout, 403 hold-timeout; the client already holding its cap,
 * 429 too-many-holds. A hold, and what ends it, are decision lines. */
#ifndef AIRLOCK_ENFORCER_HOLD_H
#define AIRLOCK_ENFORCER_HOLD_H

#include <stdbool.h>

struct conn;

/* c's request (CS_WAIT, its decision fields filled) would be denied for
 * reason: hold it when its client holds and reason is curable; true when
 * held (redo(c) runs on approval, once), false to deny as usual. */
bool hold_try(struct conn *c, const char *reason, void (*redo)(struct conn *c));
/* The connection ends: the hold is withdrawn (no answer). */
void hold_cancel(struct conn *c);
/* The client instance behind a held request is gone: 403 client-revoked,
 * then the connection closes. */
void hold_revoked(struct conn *c);

#endif
