/* broker_policy_prepare/publish (broker/broker.c) and api_commit
 * (broker/api_server.c): a change whose policy snapshot fits one IPC frame
 * exactly is committed and that very frame published; one byte more is
 * refused with 413 before anything is written (state.json, the committed
 * document and the published policy stay as they were). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "broker/api.h"
#include "broker/broker.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "tests/unit/unit.h"

static const char *const hash = "578c3652f963722993878180e71398ab225164692d1a1dbd26df424da34f8a4e";

/* A draft of b's state with client "web" and one more rule whose only path
 * is "/" and n - 1 'a': the path is ASCII, so each byte of n is one byte of
 * the encoded policy. */
static json_t *draft_with_path(struct broker *b, const char *host, size_t n)
{
	json_t *d = state_begin(&b->state);
	if (!state_client(d, "web", NULL))
		json_array_append_new(state_clients(d), json_pack("{s:s,s:s,s:i}", "name", "web",
								  "token_sha256", hash,
								  "created_at", 1));
	char *p = xmalloc(n + 1);
	p[0] = '/';
	memset(p + 1, 'a', n - 1);
	p[n] = '\0';
	json_array_append_new(state_rules(d),
			      json_pack("{s:I,s:s,s:s,s:[i],s:[],s:[s],s:b,s:i}", "id",
					(json_int_t)state_take_id(d), "client", "web", "host", host,
					"ports", 443, "methods", "paths", p, "passthrough", 0,
					"created_at", 1));
	free(p);
	return d;
}

static char *read_state(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	if (file_read_all(path, AL_STATE_FILE_MAX, &buf, &len) < 0)
		return NULL;
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/test-broker-policy-XXXXXX";
	char err[256], want[256];
	struct broker b;
	struct policy_frame pf = { 0 };
	struct api_answer ans = { 0 };
	uv_loop_t loop;
	json_t *d;

	memset(&b, 0, sizeof b);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(uv_loop_init(&loop) == 0);
	b.loop = &loop;
	uv_timer_init(&loop, &b.ttl_timer);
	b.ttl_timer.data = &b;
	CHECK(state_open(dir, &b.state, err, sizeof err) == 0, "%s", err);
	char *path = path_join(dir, STATE_FILE_NAME);

	/* the first policy, as at start: version 1 */
	CHECK(broker_policy_prepare(&b, b.state.doc, &pf, err, sizeof err) == 0, "%s", err);
	CHECK(pf.version == 1 && pf.buf && pf.len > IPC_HEADER_LEN);
	broker_policy_publish(&b, &pf);
	CHECK(pf.buf == NULL, "publish takes the frame");
	CHECK(b.policy_version == 1 && b.policy.buf && b.policy.version == 1);
	size_t first_len = b.policy.len;

	/* measure the policy around a 2-byte path, then aim at the cap */
	d = draft_with_path(&b, "big.example", 2);
	CHECK(broker_policy_prepare(&b, d, &pf, err, sizeof err) == 0, "%s", err);
	CHECK(pf.version == 2, "prepared at the next version");
	CHECK(b.policy_version == 1, "preparing changes nothing");
	size_t base = pf.len - IPC_HEADER_LEN - 2;
	size_t at_cap = AL_IPC_FRAME_MAX - base;
	policy_frame_free(&pf);
	json_decref(d);

	/* cap + 1: prepare refuses and says by how much */
	snprintf(want, sizeof want, "the policy would be %d bytes, over the IPC frame cap of %d bytes",
		 AL_IPC_FRAME_MAX + 1, AL_IPC_FRAME_MAX);
	d = draft_with_path(&b, "big.example", at_cap + 1);
	CHECK(broker_policy_prepare(&b, d, &pf, err, sizeof err) == AL_ETOOBIG, "cap + 1 prepared");
	CHECK(pf.buf == NULL && pf.len == 0, "nothing kept of a refused frame");
	CHECK_STR(err, want, "cap + 1 message");
	json_decref(d);

	/* ... and api_commit answers 413 with it, writing nothing */
	d = draft_with_path(&b, "big.example", at_cap + 1);
	CHECK(!api_commit(&b, &ans, d, true), "cap + 1 committed");
	CHECK(ans.status == 413, "status %u", ans.status);
	const char *msg = json_string_value(json_object_get(ans.json, "error"));
	CHECK(msg && strstr(msg, want) && strstr(msg, "remove rules or clients first"), "%s", msg);
	CHECK(access(path, F_OK) != 0, "a refused change wrote state.json");
	CHECK(json_array_size(state_rules(b.state.doc)) == 0, "a refused change reached the state");
	CHECK(b.policy_version == 1 && b.policy.len == first_len, "a refused change was published");
	json_decref(ans.json);
	memset(&ans, 0, sizeof ans);

	/* at the cap: committed, and the frame checked is the one published */
	d = draft_with_path(&b, "big.example", at_cap);
	CHECK(api_commit(&b, &ans, d, true), "at the cap refused: %s",
	      json_string_value(json_object_get(ans.json, "error")));
	CHECK(b.policy_version == 2 && b.policy.version == 2);
	CHECK(b.policy.len == IPC_HEADER_LEN + AL_IPC_FRAME_MAX, "len %zu", b.policy.len);
	CHECK(json_array_size(state_rules(b.state.doc)) == 1);
	struct ipc_reader rd;
	json_t *got = NULL;
	ipc_reader_init(&rd);
	CHECK(ipc_reader_feed(&rd, b.policy.buf, b.policy.len) == 0);
	CHECK(ipc_reader_next(&rd, &got) == 1 && got, "the frame at the cap reads back");
	json_t *rule = json_array_get(json_object_get(json_array_get(json_object_get(got, "clients"), 0),
						      "rules"), 0);
	CHECK(json_integer_value(json_object_get(got, "version")) == 2);
	CHECK(json_string_length(json_array_get(json_object_get(rule, "paths"), 0)) == at_cap,
	      "the rule at the cap is in it");
	json_decref(got);
	ipc_reader_free(&rd);

	/* any growth now is refused: state.json stays byte for byte */
	char *before = read_state(path);
	CHECK(before != NULL, "state written at the cap");
	d = draft_with_path(&b, "more.example", 2);
	CHECK(!api_commit(&b, &ans, d, true) && ans.status == 413, "growth past the cap: %u",
	      ans.status);
	char *after = read_state(path);
	CHECK(before && after && strcmp(before, after) == 0, "state.json changed by a refused change");
	CHECK(b.policy_version == 2 && json_array_size(state_rules(b.state.doc)) == 1);
	free(before);
	free(after);
	json_decref(ans.json);
	memset(&ans, 0, sizeof ans);

	/* a change that shrinks it goes through */
	d = state_begin(&b.state);
	json_array_clear(state_rules(d));
	CHECK(api_commit(&b, &ans, d, true), "shrinking refused");
	CHECK(b.policy_version == 3 && b.policy.len < 256, "len %zu", b.policy.len);
	json_decref(ans.json);

	uv_close((uv_handle_t *)&b.ttl_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&loop) == 0);
	policy_frame_free(&b.policy);
	state_close(&b.state);
	unlink(path);
	rmdir(dir);
	free(path);
	return unit_finish("test-broker-policy");
}
