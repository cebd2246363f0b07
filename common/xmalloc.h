/* Allocation that never returns NULL: out of memory aborts the process.
 * This is the decision for every airlock binary: the broker's state is on
 * disk (atomic writes), the enforcer is restarted by the broker, and a
 * proxy that limps on after a failed allocation is a proxy with bugs. */
#ifndef AIRLOCK_XMALLOC_H
#define AIRLOCK_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow the buffer *p (*cap bytes allocated) to hold at least need bytes,
 * doubling from first. xgrow may move it with realloc; xgrow_secure copies
 * its len bytes into a new block and wipes the old one (a buffer that may
 * hold a token or a secret must not leave copies in freed memory). */
void xgrow(char **p, size_t *cap, size_t need, size_t first);
void xgrow_secure(char **p, size_t *cap, size_t len, size_t need, size_t first);

/* Wipe then free: for anything that held a secret or a token. */
void secure_free(void *p, size_t n);
void secure_free_str(char *s);
void secure_wipe(void *p, size_t n);
/* free() that wipes the whole block first (malloc_usable_size): for
 * allocators that do not know sizes, such as jansson's (below). */
void wiping_free(void *p);
/* realloc() that never leaves the old block unwiped: a new block, the
 * bytes copied, the old one wiped and freed. NULL on failure or for 0. */
void *wiping_realloc(void *p, size_t n);
/* Every JSON value of this process (bodies, state, IPC frames, credential
 * files) may hold a secret or a token: jansson wipes what it frees. Call
 * once, first thing in main(). */
void json_wipe_on_free(void);

#endif
