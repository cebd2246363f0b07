/* Files: atomic replace (a crash leaves the old or the new file, never a torn
 * one), bounded whole-file reads, private directories, path joining. */
#include "config.h"

#include "common/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

static int errno_to_al(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: return AL_ENOTFOUND;
	case EACCES: case EPERM: return AL_EPERM;
	case EEXIST: return AL_EEXIST;
	case EFBIG: return AL_ETOOBIG;
	case ENOSPC: case EDQUOT: return AL_ENOSPC;
	}
	return AL_EIO;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno_to_al(errno);
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The directory holding path ("." when it has no slash), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return AL_EIO;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = AL_EIO;
	close(fd);
	return rc;
}

int file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, rc = AL_EIO;
	size_t plen = strlen(path);

	tmp = xmalloc(plen + sizeof ".tmp.XXXXXX");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = errno_to_al(errno);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, mode) < 0)
		goto out;
	if ((rc = write_all(fd, buf, len)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = errno_to_al(errno);
		goto out;
	}
	if (close(fd) < 0) {
		rc = errno_to_al(errno);
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = errno_to_al(errno);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The rename is durable only once the directory entry is. */
	dir = dir_of(path);
	rc = fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

int file_read_all(const char *path, size_t cap, char **out, size_t *len)
{
	int fd = -1, rc = AL_EIO;
	char *buf = NULL;
	size_t n = 0, bcap = 0;
	bool is_stdin = strcmp(path, "-") == 0;
	struct stat st;

	*out = NULL;
	if (len)
		*len = 0;
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno_to_al(errno);
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > cap) {
		rc = AL_ETOOBIG;
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = AL_EINVAL;
		goto out;
	}
	for (;;) {
		ssize_t r;
		if (n == bcap) {
			/* Grow up to cap + 1: one byte past the cap proves the file is too big. */
			if (bcap > cap) {
				rc = AL_ETOOBIG;
				goto out;
			}
			size_t ncap = bcap ? bcap * 2 : 4096;
			if (ncap > cap + 1)
				ncap = cap + 1;
			/* credential files pass here: grown by copying, the old
			 * block wiped (the alloc size is bcap + 1) */
			size_t alloc = bcap ? bcap + 1 : 0;
			xgrow_secure(&buf, &alloc, n, ncap + 1, 0);
			bcap = ncap;
		}
		r = read(fd, buf + n, bcap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = AL_EIO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			rc = AL_ETOOBIG;
			goto out;
		}
	}
	if (!buf)
		buf = xmalloc(1);
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
	rc = 0;
out:
	if (buf)
		secure_free(buf, n);
	if (fd >= 0 && !is_stdin)
		close(fd);
	return rc;
}

static int check_private(const char *path, bool final)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno_to_al(errno);
	if (!S_ISDIR(st.st_mode))
		return AL_EINVAL;
	/* Only the final directory must be ours alone; parents such as /tmp
	 * or a home directory may be shared. */
	if (final && (st.st_uid != geteuid() || (st.st_mode & 077)))
		return AL_EPERM;
	return 0;
}

int dir_ensure_private(const char *path, mode_t mode)
{
	char *p = NULL;
	size_t n;
	int rc = AL_EINVAL;

	if (!path || !*path)
		goto out;
	p = xstrdup(path);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	/* Parents: create the missing ones private too (0700). */
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = errno_to_al(errno);
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, mode) == 0) {
		/* Ours, just made: set the exact mode whatever the umask did. */
		if (chmod(p, mode) < 0) {
			rc = AL_EIO;
			goto out;
		}
	} else if (errno != EEXIST) {
		rc = errno_to_al(errno);
		goto out;
	}
	rc = check_private(p, true);
out:
	free(p);
	return rc;
}

char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl == 0 || dir[dl - 1] == '/'; /* "" + "x" is "x", not "/x" */
	char *p = xmalloc(dl + nl + 2);

	memcpy(p, dir, dl);
	if (!slash)
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

/* The XDG base directory spec says a relative XDG_STATE_HOME is invalid and
 * must be ignored; without HOME (a bare systemd unit) the password database
 * knows the home directory. */
char *state_dir_default(void)
{
	const char *env = getenv("AIRLOCK_STATE_DIR");
	if (env && env[0])
		return xstrdup(env);
	/* systemd's StateDirectory= (one directory: no ':' list) */
	env = getenv("STATE_DIRECTORY");
	if (env && env[0] == '/' && !strchr(env, ':'))
		return xstrdup(env);
	env = getenv("XDG_STATE_HOME");
	if (env && env[0] == '/')
		return path_join(env, "airlock");
	const char *home = getenv("HOME");
	if (home == NULL || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	char *local = path_join(home, ".local/state");
	char *dir = path_join(local, "airlock");
	free(local);
	return dir;
}
