/* The web page's login token file: made with O_EXCL so the broker and the
 * CLI, racing on first use, agree on one; refused when others may read it
 * (ssh's rule for private keys). */
#include "config.h"

#include "common/uitoken.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/limits.h"
#include "common/token.h"
#include "common/xmalloc.h"

#define UI_TOKEN_RAW_LEN 32

static int make(char out[UI_TOKEN_LEN + 1])
{
	uint8_t raw[UI_TOKEN_RAW_LEN];
	int rc = AL_ECRYPTO;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof raw) < 0)
		goto out;
	memcpy(out, UI_TOKEN_PREFIX, strlen(UI_TOKEN_PREFIX));
	if (b64_encode(raw, sizeof raw, true, out + strlen(UI_TOKEN_PREFIX),
		       UI_TOKEN_LEN + 1 - strlen(UI_TOKEN_PREFIX)) != UI_TOKEN_LEN - (int)strlen(UI_TOKEN_PREFIX))
		goto out;
	rc = 0;
out:
	secure_wipe(raw, sizeof raw);
	return rc;
}

static bool well_formed(const char *s, size_t n)
{
	if (n != UI_TOKEN_LEN || strncmp(s, UI_TOKEN_PREFIX, strlen(UI_TOKEN_PREFIX)) != 0)
		return false;
	for (size_t i = strlen(UI_TOKEN_PREFIX); i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static int read_token(const char *path, char out[UI_TOKEN_LEN + 1])
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? AL_ENOTFOUND : AL_EIO;
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return AL_EPERM;
	if ((rc = file_read_all(path, AL_UI_TOKEN_FILE_MAX, &buf, &len)) < 0)
		return rc;
	size_t got = len;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (!well_formed(buf, len)) {
		rc = AL_EINVAL;
	} else {
		memcpy(out, buf, UI_TOKEN_LEN);
		out[UI_TOKEN_LEN] = '\0';
	}
	secure_free(buf, got + 1);
	return rc;
}

int ui_token_load(const char *dir, char out[UI_TOKEN_LEN + 1], bool *created)
{
	char *path = path_join(dir, UI_TOKEN_FILE);
	char line[UI_TOKEN_LEN + 2];
	int rc, fd;

	*created = false;
	rc = read_token(path, out);
	if (rc != AL_ENOTFOUND)
		goto out;
	if ((rc = make(out)) < 0)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		/* the other one made it first: theirs is the token */
		rc = errno == EEXIST ? read_token(path, out) : AL_EIO;
		goto out;
	}
	memcpy(line, out, UI_TOKEN_LEN);
	line[UI_TOKEN_LEN] = '\n';
	rc = write(fd, line, UI_TOKEN_LEN + 1) == UI_TOKEN_LEN + 1 && fsync(fd) == 0 ? 0 : AL_EIO;
	if (close(fd) < 0)
		rc = AL_EIO;
	if (rc < 0)
		unlink(path);
	else
		*created = true;
	secure_wipe(line, sizeof line);
out:
	free(path);
	return rc;
}

int ui_token_rotate(const char *dir, char out[UI_TOKEN_LEN + 1])
{
	char *path = path_join(dir, UI_TOKEN_FILE);
	char line[UI_TOKEN_LEN + 2];
	int rc;

	if ((rc = make(out)) == 0) {
		memcpy(line, out, UI_TOKEN_LEN);
		line[UI_TOKEN_LEN] = '\n';
		rc = file_write_atomic(path, line, UI_TOKEN_LEN + 1, 0600);
		secure_wipe(line, sizeof line);
	}
	free(path);
	return rc;
}
