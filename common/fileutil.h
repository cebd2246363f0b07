/* Files: atomic replace (temp file in the same directory, write, fsync,
 * rename, fsync of the directory: a crash leaves the old or the new file,
 * never a torn one), bounded reads, private directories. */
#ifndef AIRLOCK_FILEUTIL_H
#define AIRLOCK_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

int file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode) AL_MUST_CHECK;
/* Read a whole file of at most cap bytes (AL_ETOOBIG past it) into a
 * malloc'd NUL-terminated buffer. "-" reads stdin. */
int file_read_all(const char *path, size_t cap, char **out, size_t *len) AL_MUST_CHECK;
/* mkdir -p with the final component at `mode`; refuses an existing dir that
 * is not owned by us or is open to group/others. */
int dir_ensure_private(const char *path, mode_t mode) AL_MUST_CHECK;
/* Join dir and name into a malloc'd path. */
char *path_join(const char *dir, const char *name);
/* The default state directory, the same for the CLI and both daemons:
 * $AIRLOCK_STATE_DIR, else $STATE_DIRECTORY (systemd's StateDirectory=),
 * else $XDG_STATE_HOME/airlock (when absolute), else ~/.local/state/airlock
 * (malloc'd). */
char *state_dir_default(void);

#endif
