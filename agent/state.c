/* The state directory's files (state.h). */
#include "config.h"

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/util.h"

static char dir_buf[4096] = AGENT_STATE_DIR;

const char *state_dir(void)
{
	return dir_buf;
}

void state_dir_set(const char *dir)
{
	snprintf(dir_buf, sizeof dir_buf, "%s", dir);
}

const char *state_path(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", dir_buf, name);
	return buf;
}

int state_mkdir(void)
{
	if (mkdir(dir_buf, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir_buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return errno = EPERM, -1;
	return chmod(dir_buf, 0700);
}

int file_read(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char *buf = xmalloc(AGENT_FILE_MAX + 1);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, AGENT_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return errno = e, -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > AGENT_FILE_MAX) {
			close(fd);
			free(buf);
			return errno = EFBIG, -1;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int file_write_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	close(fd);
	return rename(tmp, path);
fail:;
	int e = errno;
	close(fd);
	unlink(tmp);
	return errno = e, -1;
}

/* key=value lines; each key offered to set(), which refuses unknown ones. */
static int kv_parse(char *text, int (*set)(void *arg, const char *k, const char *v), void *arg)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq || eq == line)
			return errno = EINVAL, -1;
		*eq = '\0';
		if (set(arg, line, eq + 1) < 0)
			return errno = EINVAL, -1;
	}
	return 0;
}

static int kv_load(const char *name, int (*set)(void *arg, const char *k, const char *v), void *arg, bool optional)
{
	char path[4200], *text;
	size_t len;
	if (file_read(state_path(name, path, sizeof path), &text, &len) < 0)
		return optional && errno == ENOENT ? 0 : -1;
	int rc = strlen(text) == len ? kv_parse(text, set, arg) : (errno = EINVAL, -1);
	wipe(text, len);
	free(text);
	return rc;
}

static bool num(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 0);
	if (errno || end == v || *end || x > max || v[0] == '-')
		return false;
	*out = x;
	return true;
}

static int config_set(void *arg, const char *k, const char *v)
{
	struct agent_config *c = arg;
	unsigned long x;
	if (strcmp(k, "proxy") == 0) {
		if (strlen(v) >= sizeof c->proxy || !addr_parse(v, 0, &c->proxy_addr, &c->proxy_len))
			return -1;
		snprintf(c->proxy, sizeof c->proxy, "%s", v);
	} else if (strcmp(k, "token") == 0) {
		if (!*v || strlen(v) > AGENT_TOKEN_MAX)
			return -1;
		snprintf(c->token, sizeof c->token, "%s", v);
	} else if (strcmp(k, "redirect_port") == 0) {
		if (!num(v, 65535, &x) || x == 0)
			return -1;
		c->redirect_port = (uint16_t)x;
	} else if (strcmp(k, "log") == 0) {
		if (v[0] != '/' || strlen(v) >= sizeof c->log)
			return -1;
		snprintf(c->log, sizeof c->log, "%s", v);
	} else if (strcmp(k, "mark") == 0) {
		if (!num(v, UINT32_MAX, &x) || x == 0)
			return -1;
		c->mark = (uint32_t)x;
	} else {
		return -1;
	}
	return 0;
}

int config_load(struct agent_config *c)
{
	memset(c, 0, sizeof *c);
	if (kv_load("config", config_set, c, false) < 0)
		return -1;
	if (!c->proxy[0] || !c->token[0] || !c->redirect_port || !c->mark)
		return errno = EINVAL, -1;
	return 0;
}

int config_save(const struct agent_config *c)
{
	char buf[2048], path[4200];
	int n = snprintf(buf, sizeof buf, "proxy=%s\ntoken=%s\nredirect_port=%u\nmark=0x%x\n%s%s%s", c->proxy, c->token,
			 c->redirect_port, c->mark, c->log[0] ? "log=" : "", c->log, c->log[0] ? "\n" : "");
	int rc = file_write_atomic(state_path("config", path, sizeof path), buf, (size_t)n, 0600);
	wipe(buf, sizeof buf);
	return rc;
}

static const char *const resolv_names[] = { "none", "regular", "symlink", "absent" };

static int installed_set(void *arg, const char *k, const char *v)
{
	struct agent_installed *in = arg;
	unsigned long x;
	if (strcmp(k, "resolv") == 0) {
		for (int i = 0; i < 4; i++)
			if (strcmp(v, resolv_names[i]) == 0) {
				in->resolv = (enum resolv_kind)i;
				return 0;
			}
		return -1;
	}
	if (strcmp(k, "resolv_mode") == 0) {
		if (!num(v, 07777, &x))
			return -1;
		in->resolv_mode = (unsigned)x;
		return 0;
	}
	if (strcmp(k, "route") == 0 || strcmp(k, "ca") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return -1;
		*(k[0] == 'r' ? &in->route : &in->ca) = v[0] == 'y';
		return 0;
	}
	return -1;
}

int installed_load(struct agent_installed *in)
{
	memset(in, 0, sizeof *in);
	return kv_load("installed", installed_set, in, true);
}

int installed_save(const struct agent_installed *in)
{
	char buf[256], path[4200];
	int n = snprintf(buf, sizeof buf, "resolv=%s\nresolv_mode=0%o\nroute=%s\nca=%s\n", resolv_names[in->resolv],
			 in->resolv_mode, in->route ? "yes" : "no", in->ca ? "yes" : "no");
	return file_write_atomic(state_path("installed", path, sizeof path), buf, (size_t)n, 0600);
}

bool tunnel_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > AGENT_TUNNEL_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int tunnels_load(struct tunnel_def *t, size_t *n)
{
	char path[4200], *text, *save = NULL;
	size_t len;
	*n = 0;
	if (file_read(state_path("tunnels", path, sizeof path), &text, &len) < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = strlen(text) == len ? 0 : -1;
	for (char *line = strtok_r(text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		char name[128], listen[128], target[300];
		struct sockaddr_storage ss;
		socklen_t sl;
		if (*n >= AGENT_TUNNELS_MAX || sscanf(line, "%127s %127s %299s", name, listen, target) != 3 ||
		    !tunnel_name_ok(name) || strlen(listen) >= sizeof t->listen || !addr_parse(listen, 0, &ss, &sl) ||
		    !target_parse(target, t[*n].host, &t[*n].port)) {
			rc = -1;
			break;
		}
		memcpy(t[*n].name, name, strlen(name) + 1);       /* checked: at most 64 */
		memcpy(t[*n].listen, listen, strlen(listen) + 1); /* checked: fits */
		(*n)++;
	}
	free(text);
	return rc < 0 ? (errno = EINVAL, -1) : 0;
}

int tunnels_save(const struct tunnel_def *t, size_t n)
{
	char path[4200];
	char *buf = xmalloc(AGENT_TUNNELS_MAX * 400 + 1);
	size_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, strchr(t[i].host, ':') ? "%s %s [%s]:%u\n" : "%s %s %s:%u\n", t[i].name,
				       t[i].listen, t[i].host, t[i].port);
	int rc = file_write_atomic(state_path("tunnels", path, sizeof path), buf, off, 0600);
	free(buf);
	return rc;
}
