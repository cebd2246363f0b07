/* Sockets the broker listens on. Unix ones (api.sock, ipc.sock): owner-only
 * (chmod 0600 before listen), a stale file from a dead broker removed, one
 * that still answers refused (another broker owns it). TCP ones
 * (--metrics-listen, --ui-listen): an IP literal and a port. */
#include "config.h"

#include "broker/unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "common/flags.h"

/* A socket file left by a broker that died: unlink it. One that answers
 * belongs to a running broker: refuse to steal it. */
static int clear_stale_socket(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return AL_EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
		int c = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (c == 0) {
			snprintf(err, errlen, "%s is in use: is another airlock-broker running?", path);
			return AL_EEXIST;
		}
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %s: %s", path, strerror(errno));
		return AL_EIO;
	}
	return 0;
}

int unixsock_listen(const char *path, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1;
	int ret;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return AL_EINVAL;
	}
	ret = clear_stale_socket(path, err, errlen);
	if (ret < 0)
		return ret;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail;
	/* owner only, before anyone can connect */
	if (chmod(path, 0600) != 0)
		goto fail;
	if (listen(fd, backlog) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return AL_EIO;
}


int tcpsock_listen(const char *addrport, const char *flag, int backlog, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char ip[64];
	uint16_t port;
	int one = 1, fd;

	memset(&ss, 0, sizeof ss);
	if (flag_listen_split(addrport, ip, &port) < 0) {
		snprintf(err, errlen, "bad %s '%s'", flag, addrport);
		return AL_EINVAL;
	}
	if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) == 0)
		len = sizeof(struct sockaddr_in);
	else if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) == 0)
		len = sizeof(struct sockaddr_in6);
	else {
		snprintf(err, errlen, "bad %s '%s'", flag, addrport);
		return AL_EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a socket for %s: %s", flag, strerror(errno));
		return AL_EIO;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errlen, "cannot listen on %s %s: %s", flag, addrport, strerror(errno));
		close(fd);
		return AL_EIO;
	}
	return fd;
}
