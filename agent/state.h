/* airlock-agent's state directory (default /run/airlock-agent, mode 0700;
 * --state-dir or AIRLOCK_AGENT_STATE_DIR): what install set up and how to
 * undo it, the daemon's configuration, the tunnels. Small key=value and
 * one-line-per-entry files, written whole (temp file, fsync, rename) and
 * read strictly: an unknown key or a malformed line is an error. */
#ifndef AIRLOCK_AGENT_STATE_H
#define AIRLOCK_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define AGENT_STATE_DIR "/run/airlock-agent"
#define AGENT_TOKEN_MAX 128
#define AGENT_TUNNELS_MAX 64
#define AGENT_TUNNEL_NAME_MAX 64
#define AGENT_FILE_MAX (64 * 1024)
#define AGENT_REDIRECT_PORT 15001
#define AGENT_MARK 0x616c          /* "al": the agent's own sockets, exempt from its rules */

struct agent_config {
	char proxy[64];                     /* canonical ADDR:PORT text */
	struct sockaddr_storage proxy_addr;
	socklen_t proxy_len;
	char token[AGENT_TOKEN_MAX + 1];
	uint16_t redirect_port;
	uint32_t mark;
	char log[1024];                     /* the daemon's log; "" = agent.log in the state dir */
};

/* What install changed, so that uninstall undoes exactly that. */
enum resolv_kind { RESOLV_NONE, RESOLV_REGULAR, RESOLV_SYMLINK, RESOLV_ABSENT };
struct agent_installed {
	enum resolv_kind resolv;            /* the original's kind (saved in resolv.conf.orig) */
	unsigned resolv_mode;
	bool route;                         /* we added the pool's route */
	bool ca;                            /* we added the CA to the system store */
};

struct tunnel_def {
	char name[AGENT_TUNNEL_NAME_MAX + 1];
	char listen[64];                    /* canonical ADDR:PORT */
	char host[254];
	uint16_t port;
};

const char *state_dir(void);
void state_dir_set(const char *dir);
/* path of a file in the state dir (static buffer per call site is the
 * caller's: writes into buf) */
const char *state_path(const char *name, char *buf, size_t cap);
int state_mkdir(void);

int file_read(const char *path, char **out, size_t *len);   /* -1 with errno */
int file_write_atomic(const char *path, const char *data, size_t len, unsigned mode);

int config_load(struct agent_config *c);
int config_save(const struct agent_config *c);
int installed_load(struct agent_installed *in);   /* absent: all false, 0 */
int installed_save(const struct agent_installed *in);

int tunnels_load(struct tunnel_def *t, size_t *n);  /* absent: none */
int tunnels_save(const struct tunnel_def *t, size_t n);
bool tunnel_name_ok(const char *name);

#endif
