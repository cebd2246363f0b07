/* Unit tests of common/ipc.c: frame encoding at the cap and cap + 1, the
 * incremental reader (split, batched, zero-length, oversized and malformed
 * frames), peer credentials, and the blocking helpers' deadlines and EOFs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "tests/unit/unit.h"

static json_t *hello(void)
{
	return json_pack("{s:s, s:i, s:i}", "type", IPC_MSG_HELLO, "proto", IPC_PROTO_VERSION, "pid", 42);
}

/* An object whose compact encoding is exactly n bytes: {"type":"x","p":"aaa..."} */
static json_t *msg_of_size(size_t n)
{
	const size_t overhead = strlen("{\"type\":\"x\",\"p\":\"\"}");
	char *pad = xmalloc(n - overhead + 1);
	json_t *m;

	memset(pad, 'a', n - overhead);
	pad[n - overhead] = '\0';
	m = json_pack("{s:s, s:s}", "type", "x", "p", pad);
	free(pad);
	return m;
}

static void test_encode(void)
{
	json_t *m = hello(), *arr = json_array(), *got = NULL;
	uint8_t *f = NULL;
	size_t len;
	struct ipc_reader r;

	CHECK(ipc_frame_encode(m, &f, &len) == 0);
	CHECK(len > 4 && f[0] == 0 && f[1] == 0 && (size_t)(f[2] << 8 | f[3]) == len - 4);
	CHECK(memcmp(f + 4, "{\"type\":\"hello\"", 15) == 0, "%.*s", (int)len - 4, f + 4);
	free(f);
	CHECK(ipc_frame_encode(arr, &f, &len) == AL_EINVAL && f == NULL, "not an object");
	json_decref(arr);
	json_decref(m);

	/* Cap: a frame body of exactly AL_IPC_FRAME_MAX encodes and reads back; one more is refused. */
	m = msg_of_size(AL_IPC_FRAME_MAX);
	CHECK(ipc_frame_encode(m, &f, &len) == 0 && len == IPC_HEADER_LEN + AL_IPC_FRAME_MAX, "len %zu", len);
	ipc_reader_init(&r);
	CHECK(ipc_reader_feed(&r, f, len) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1 && got, "frame of cap read back");
	json_decref(got);
	ipc_reader_free(&r);
	free(f);
	json_decref(m);
	m = msg_of_size(AL_IPC_FRAME_MAX + 1);
	CHECK(ipc_frame_encode(m, &f, &len) == AL_ETOOBIG && f == NULL, "frame of cap + 1");
	CHECK(len == IPC_HEADER_LEN + AL_IPC_FRAME_MAX + 1, "refused frame's size %zu", len);
	json_decref(m);
}

static void test_reader(void)
{
	struct ipc_reader r;
	json_t *m = hello(), *got = NULL;
	uint8_t *f = NULL, *two;
	size_t len;

	CHECK(ipc_frame_encode(m, &f, &len) == 0);

	/* Byte by byte: nothing until the last byte. */
	ipc_reader_init(&r);
	for (size_t i = 0; i < len; i++) {
		CHECK(ipc_reader_feed(&r, f + i, 1) == 0);
		if (i + 1 < len)
			CHECK(ipc_reader_next(&r, &got) == 0 && got == NULL, "byte %zu", i);
	}
	CHECK(ipc_reader_next(&r, &got) == 1);
	CHECK(got && json_equal(got, m));
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 0, "buffer drained");
	ipc_reader_free(&r);

	/* Two frames and a half in one feed. */
	two = xmalloc(3 * len);
	memcpy(two, f, len);
	memcpy(two + len, f, len);
	memcpy(two + 2 * len, f, len);
	ipc_reader_init(&r);
	CHECK(ipc_reader_feed(&r, two, 2 * len + 3) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	CHECK(ipc_reader_next(&r, &got) == 0);
	CHECK(ipc_reader_feed(&r, two + 2 * len + 3, len - 3) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1);
	json_decref(got);
	ipc_reader_free(&r);
	free(two);

	/* Bad headers close the connection at once, before any body arrives. */
	{
		static const struct {
			uint8_t hdr[4];
			int rc;
		} hdrs[] = {
			{ { 0, 0, 0, 0 }, AL_EPROTO },
			{ { 0x01, 0x00, 0x00, 0x01 }, AL_ETOOBIG },   /* AL_IPC_FRAME_MAX + 1 */
			{ { 0xff, 0xff, 0xff, 0xff }, AL_ETOOBIG },
			{ { 0x01, 0x00, 0x00, 0x00 }, 0 },            /* exactly the cap: wait for it */
		};
		for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
			ipc_reader_init(&r);
			CHECK(ipc_reader_feed(&r, hdrs[i].hdr, 4) == hdrs[i].rc, "header %zu", i);
			CHECK(ipc_reader_next(&r, &got) == (hdrs[i].rc ? hdrs[i].rc : 0), "next %zu", i);
			ipc_reader_free(&r);
		}
	}

	/* Bodies that are not a JSON object with a string "type". */
	{
		static const char *const bodies[] = {
			"not json", "[1,2]", "\"hello\"", "{}", "{\"type\":1}", "{\"type\":null}",
			"{\"type\":\"a\",\"type\":\"b\"}", "{\"type\":\"hello\"} trailing",
		};
		for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
			size_t bl = strlen(bodies[i]);
			uint8_t hdr[4] = { 0, 0, (uint8_t)(bl >> 8), (uint8_t)bl };
			ipc_reader_init(&r);
			CHECK(ipc_reader_feed(&r, hdr, 4) == 0);
			CHECK(ipc_reader_feed(&r, (const uint8_t *)bodies[i], bl) == 0);
			CHECK(ipc_reader_next(&r, &got) == AL_EPROTO && got == NULL, "body %s", bodies[i]);
			ipc_reader_free(&r);
		}
	}
	free(f);
	json_decref(m);
}

static void test_sockets(void)
{
	int sv[2];
	json_t *m = hello(), *got = NULL;
	int pid = 0;
	pid_t child;
	int status;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ipc_peer_check(sv[0], &pid) == 0 && pid == getpid(), "pid %d", pid);
	CHECK(ipc_peer_check(sv[0], NULL) == 0);
	{
		int pp[2];
		CHECK(pipe(pp) == 0);
		CHECK(ipc_peer_check(pp[0], &pid) == AL_EPERM, "a pipe has no peer credentials");
		close(pp[0]);
		close(pp[1]);
	}

	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0 && got && json_equal(got, m));
	json_decref(got);

	/* Nothing to read: the deadline passes. */
	CHECK(ipc_recv_blocking(sv[1], 50, &got) == AL_ETIMEOUT && got == NULL);

	/* Two frames back to back: each read takes exactly one. */
	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_send_blocking(sv[0], m) == 0);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0);
	json_decref(got);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == 0);
	json_decref(got);

	/* A header announcing cap + 1 is refused without reading the body. */
	CHECK(write(sv[0], "\x01\x00\x00\x01", 4) == 4);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_ETOOBIG);
	CHECK(write(sv[0], "\x00\x00\x00\x00", 4) == 4);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EPROTO);

	/* A frame cut short by the peer closing is a protocol error; a clean
	 * close between frames is "unavailable". */
	CHECK(write(sv[0], "\x00\x00\x00\x10{\"ty", 8) == 8);
	close(sv[0]);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EPROTO);
	CHECK(ipc_recv_blocking(sv[1], 1000, &got) == AL_EUNAVAIL);
	/* Writing to a closed peer fails, without SIGPIPE. */
	CHECK(ipc_send_blocking(sv[1], m) < 0);
	close(sv[1]);

	/* A big frame through a socket needs a concurrent reader: fork one. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	child = fork();
	if (child == 0) {
		json_t *big = msg_of_size(4 * 1024 * 1024);
		int rc;
		close(sv[1]);
		rc = ipc_send_blocking(sv[0], big);
		json_decref(big);
		close(sv[0]);
		_exit(rc == 0 ? 0 : 1);
	}
	close(sv[0]);
	CHECK(ipc_recv_blocking(sv[1], 10000, &got) == 0 && got &&
	      strlen(json_string_value(json_object_get(got, "p"))) > 4000000);
	json_decref(got);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	json_decref(m);
}

int main(void)
{
	test_encode();
	test_reader();
	test_sockets();
	return unit_finish("test-ipc");
}
