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

/* Wipe then free: for anything that held a secret or a token. */
void secure_free(void *p, size_t n);
void secure_free_str(char *s);
void secure_wipe(void *p, size_t n);

#endif
