/* The builders of the messages both daemons write the same way (common/
 * ipc.h), and the latency buckets of "stats": kept apart from ipc.c, which
 * checks and frames them. */
#include "config.h"

#include "common/ipc.h"

#include <unistd.h>

/* The key order is the one both daemons always wrote (tests read frames). */
json_t *ipc_msg_hello(bool asks_only)
{
	json_t *m = json_pack("{s:s, s:i, s:I}", "type", IPC_MSG_HELLO, "proto", IPC_PROTO_VERSION, "pid",
			      (json_int_t)getpid());
	if (m && asks_only)
		json_object_set_new(m, "asks_only", json_true());
	return m;
}

json_t *ipc_msg_headers_ask(uint32_t id, const char *secret, const char *host)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "type", IPC_MSG_HEADERS, "secret", secret, "host", host, "id",
			 (json_int_t)id);
}

json_t *ipc_msg_shim_ask(uint32_t id, const char *client, const char *host, const char *path, const char *method)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", IPC_MSG_SHIM, "client", client, "host", host,
			 "path", path, "method", method, "id", (json_int_t)id);
}

json_t *ipc_msg_upstream_401(const char *secret, const char *host)
{
	return json_pack("{s:s, s:s, s:s}", "type", IPC_MSG_UPSTREAM_401, "secret", secret, "host", host);
}

json_t *ipc_msg_policy_ack(uint64_t version)
{
	return json_pack("{s:s, s:I}", "type", IPC_MSG_POLICY_ACK, "version", (json_int_t)version);
}

json_t *ipc_msg_listening(unsigned http_port, unsigned https_port)
{
	return json_pack("{s:s, s:I, s:I}", "type", IPC_MSG_LISTENING, "http_port", (json_int_t)http_port,
			 "https_port", (json_int_t)https_port);
}

const int64_t ipc_ask_bucket_us[IPC_ASK_BUCKETS] = { 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000, 1000000 };

json_t *ipc_msg_headers_refusal(uint32_t id, const char *code, const char *message, int64_t retry_after)
{
	json_t *m = json_pack("{s:s, s:I, s:s, s:s}", "type", IPC_MSG_HEADERS, "id", (json_int_t)id, "error", code,
			      "message", message);
	if (m && retry_after > 0)
		json_object_set_new(m, "retry_after", json_integer(retry_after));
	return m;
}

json_t *ipc_msg_shim_refusal(uint32_t id, const char *code)
{
	return json_pack("{s:s, s:I, s:s}", "type", IPC_MSG_SHIM, "id", (json_int_t)id, "error", code);
}
