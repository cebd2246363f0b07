/* Every message of the door (common/ipc.h), end to end: written by the
 * writer side's own code, framed, read back through the incremental reader,
 * checked against its table on the reader's side, and decoded by the
 * reader's own code: hello, the headers ask and its answer (bearer, and
 * an OAuth one with merge and oauth) or refusal, the shim ask and its
 * answer or refusal, upstream-401, and the policy snapshot. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/ipc_server.h"
#include "broker/oauth.h"
#include "broker/sealed.h"
#include "broker/secret_types.h"
#include "broker/snapshot.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/ipc.h"
#include "common/seal.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "enforcer/mitm.h"
#include "enforcer/policy.h"
#include "enforcer/reqhead.h"
#include "tests/unit/unit.h"

/* A Claude credential that stays usable (expiresAt in 2100). */
static const char claude_file[] =
	"{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-rtA\",\"refreshToken\":\"sk-ant-ort01-rtR\","
	"\"expiresAt\":4102444800000,\"scopes\":[\"user:inference\",\"user:profile\"]}}";

/* msg through the wire: encoded, fed to a reader in two pieces, taken
 * back, and checked as a frame from `from`; the copy the reader made. */
static json_t *wire(json_t *msg, enum ipc_from from, enum ipc_kind want, const char *ctx)
{
	struct ipc_reader r;
	uint8_t *f = NULL;
	size_t len = 0;
	json_t *got = NULL;
	enum ipc_kind kind = IPC_KIND_COUNT;
	char err[160] = "";

	CHECK(msg != NULL, "%s: written", ctx);
	if (!msg)
		return NULL;
	CHECK(ipc_frame_encode(msg, &f, &len) == 0, "%s: encoded", ctx);
	json_decref(msg);
	ipc_reader_init(&r);
	CHECK(ipc_reader_feed(&r, f, len / 2) == 0 && ipc_reader_feed(&r, f + len / 2, len - len / 2) == 0);
	CHECK(ipc_reader_next(&r, &got) == 1 && got, "%s: read back", ctx);
	ipc_reader_free(&r);
	secure_free(f, len);
	if (!got)
		return NULL;
	CHECK(ipc_msg_check(got, from, &kind, err, sizeof err) == 0, "%s: refused by its table: %s", ctx, err);
	CHECK(kind == want, "%s: kind %d, want %d", ctx, (int)kind, (int)want);
	return got;
}

static void add_secret(struct broker *b, const char *name, const char *host, const char *type, const char *value)
{
	char err[256];
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	char *sealed = NULL;
	json_t *meta = json_object();
	const struct secret_type *t = secret_type_find(type);

	CHECK(t && t->prepare((const uint8_t *)value, strlen(value), time_now(), &pt, &ptlen, meta, err, sizeof err) == 0,
	      "%s: %s", name, err);
	CHECK(sealed_seal(b, name, type, host, pt, ptlen, &sealed) == 0);
	secure_free(pt, ptlen);
	json_t *d = state_begin(&b->state);
	json_array_append_new(state_secrets(d), json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "name", name, "host", host,
							  "type", type, "sealed", sealed, "created_at", 1,
							  "status", "ok", "meta", meta));
	free(sealed);
	CHECK(state_commit(&b->state, d) == 0, "%s committed", name);
}

static void add_client_rule(struct broker *b, const char *client, const char *token, json_int_t id,
			    const char *host, const char *secret)
{
	char hex[TOKEN_HASH_HEX_LEN + 1];
	json_t *d = state_begin(&b->state);
	token_hash_hex(token, strlen(token), hex);
	json_array_append_new(state_clients(d), json_pack("{s:s,s:s,s:i}", "name", client, "token_sha256", hex,
							  "created_at", 1));
	json_t *r = json_pack("{s:I,s:s,s:s,s:[i],s:[s],s:[s],s:b,s:i}", "id", id, "client", client, "host", host,
			      "ports", 443, "methods", "POST", "paths", "/v1/*", "passthrough", 0, "created_at", 1);
	if (secret)
		json_object_set_new(r, "secret", json_string(secret));
	json_array_append_new(state_rules(d), r);
	json_object_set_new(d, "next_id", json_integer(id + 1));
	CHECK(state_commit(&b->state, d) == 0, "%s committed", client);
}

static const char *header_of(const struct inject_hdr *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

/* enforcer -> broker: hello and upstream-401 (the broker reads their fields) */
static void test_notes(void)
{
	json_t *m = wire(ipc_msg_hello(true), IPC_FROM_ENFORCER, IPC_HELLO, "hello");
	CHECK(json_integer_value(json_object_get(m, "proto")) == IPC_PROTO_VERSION);
	CHECK(json_is_true(json_object_get(m, "asks_only")));
	json_decref(m);
	m = wire(ipc_msg_hello(false), IPC_FROM_ENFORCER, IPC_HELLO, "hello (policy link)");
	CHECK(m && !json_object_get(m, "asks_only"));
	json_decref(m);
	m = wire(ipc_msg_upstream_401("c", "api.anthropic.com"), IPC_FROM_ENFORCER, IPC_UPSTREAM_401, "upstream-401");
	CHECK_STR(json_string_value(json_object_get(m, "secret")), "c", "upstream-401 secret");
	CHECK_STR(json_string_value(json_object_get(m, "host")), "api.anthropic.com", "upstream-401 host");
	json_decref(m);
}

/* a headers ask, answered by the broker, injected by the enforcer */
static void test_headers(struct broker *b)
{
	struct inject inj;
	json_t *ask = wire(ipc_msg_headers_ask(7, "gh", "api.github.com"), IPC_FROM_ENFORCER, IPC_HEADERS_ASK,
			   "headers ask");
	json_t *ans = wire(answer_headers(b, ask), IPC_FROM_BROKER, IPC_HEADERS_ANSWER, "headers answer");
	CHECK(ipc_msg_id(ans) == 7, "the answer repeats the id");
	CHECK(ans && inject_from_answer(ans, &inj) == 0, "the enforcer takes the answer");
	if (ans) {
		CHECK_STR(header_of(inj.add, inj.nadd, "Authorization"), "Bearer ghp_rt", "bearer injected");
		CHECK(!inj.oauth && inj.nmerge == 0, "no oauth, no merge");
		inject_free(&inj);
	}
	ipc_msg_wipe(ans);
	json_decref(ans);
	json_decref(ask);

	/* OAuth: provider headers, a merge list, oauth:true */
	ask = wire(ipc_msg_headers_ask(8, "c", "api.anthropic.com"), IPC_FROM_ENFORCER, IPC_HEADERS_ASK, "oauth ask");
	ans = wire(answer_headers(b, ask), IPC_FROM_BROKER, IPC_HEADERS_ANSWER, "oauth answer");
	CHECK(ans && inject_from_answer(ans, &inj) == 0, "the enforcer takes the oauth answer");
	if (ans) {
		CHECK_STR(header_of(inj.add, inj.nadd, "Authorization"), "Bearer sk-ant-oat01-rtA", "oauth injected");
		CHECK(inj.oauth, "oauth flag read");
		CHECK(header_of(inj.merge, inj.nmerge, "anthropic-beta") != NULL, "merge read");
		CHECK(inj.nstrip > 0, "strip read");
		inject_free(&inj);
	}
	ipc_msg_wipe(ans);
	json_decref(ans);
	json_decref(ask);

	/* refused: the code is what the enforcer logs */
	ask = wire(ipc_msg_headers_ask(9, "gh", "evil.example"), IPC_FROM_ENFORCER, IPC_HEADERS_ASK, "bad ask");
	ans = wire(answer_headers(b, ask), IPC_FROM_BROKER, IPC_HEADERS_REFUSAL, "headers refusal");
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "secret-host-mismatch", "refusal code");
	CHECK(ipc_msg_id(ans) == 9);
	json_decref(ans);
	json_decref(ask);
	/* with a retry hint, as the OAuth refresher writes it */
	ans = wire(ipc_msg_headers_refusal(10, "credential-refreshing", "m", 2), IPC_FROM_BROKER, IPC_HEADERS_REFUSAL,
		   "refusal with retry_after");
	CHECK(json_integer_value(json_object_get(ans, "retry_after")) == 2);
	json_decref(ans);
}

/* a shim ask, answered with placeholders or "no-shim" */
static void test_shim(struct broker *b)
{
	json_t *ask = wire(ipc_msg_shim_ask(11, "sb", "platform.claude.com", "/v1/oauth/token", "POST"),
			   IPC_FROM_ENFORCER, IPC_SHIM_ASK, "shim ask");
	json_t *ans = wire(answer_shim(b, ask), IPC_FROM_BROKER, IPC_SHIM_ANSWER, "shim answer");
	CHECK(ipc_msg_id(ans) == 11);
	CHECK(json_integer_value(json_object_get(ans, "status")) == 200);
	CHECK_STR(json_string_value(json_object_get(ans, "secret")), "c", "shim secret");
	const char *body = json_string_value(json_object_get(ans, "body"));
	CHECK(body && !strstr(body, "rtA") && !strstr(body, "rtR"), "placeholders only");
	json_decref(ans);
	json_decref(ask);

	ask = wire(ipc_msg_shim_ask(12, "other", "platform.claude.com", "/v1/oauth/token", "POST"), IPC_FROM_ENFORCER,
		   IPC_SHIM_ASK, "shim ask of a client without the rule");
	ans = wire(answer_shim(b, ask), IPC_FROM_BROKER, IPC_SHIM_REFUSAL, "shim refusal");
	CHECK_STR(json_string_value(json_object_get(ans, "error")), "no-shim", "no-shim");
	json_decref(ans);
	json_decref(ask);
}

/* the broker's snapshot, parsed by the enforcer */
static void test_policy(struct broker *b)
{
	json_t *m = wire(snapshot_build(b->state.doc, 42, time_now()), IPC_FROM_BROKER, IPC_POLICY, "policy");
	struct policy *p = NULL;
	CHECK(m && policy_parse(m, &p) == 0, "the enforcer takes the snapshot");
	if (p) {
		const struct policy_client *c = policy_client_by_name(p, "sb");
		CHECK(policy_version(p) == 42);
		CHECK(c && c->nrules == 1, "client sb and its rule");
		if (c && c->nrules == 1) {
			CHECK(c->rules[0].id == 5 && strcmp(c->rules[0].host, "api.anthropic.com") == 0);
			CHECK(c->rules[0].secret && strcmp(c->rules[0].secret, "c") == 0);
			CHECK(c->rules[0].nports == 1 && c->rules[0].ports[0] == 443);
			CHECK(c->rules[0].nmethods == 1 && c->rules[0].npaths == 1);
		}
		CHECK(policy_client_by_name(p, "other") != NULL);
	}
	policy_unref(p);
	json_decref(m);
}

int main(void)
{
	char dir[] = "/tmp/test-ipc-roundtrip-XXXXXX";
	char err[256];
	struct broker b;

	memset(&b, 0, sizeof b);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(state_open(dir, &b.state, err, sizeof err) == 0, "%s", err);
	CHECK(seal_key_generate(&b.key) == 0);
	add_secret(&b, "gh", "api.github.com", "bearer", "ghp_rt");
	add_secret(&b, "c", "api.anthropic.com", "oauth-claude", claude_file);
	add_client_rule(&b, "sb", "alk_sb-token-xxxxxxxxxxxxxxxxxxxxxxxxxxx", 5, "api.anthropic.com", "c");
	add_client_rule(&b, "other", "alk_other-token-xxxxxxxxxxxxxxxxxxxxxxxx", 6, "example.com", NULL);

	test_notes();
	test_headers(&b);
	test_shim(&b);
	test_policy(&b);

	char *p = path_join(dir, STATE_FILE_NAME);
	unlink(p);
	free(p);
	rmdir(dir);
	state_close(&b.state);
	return unit_finish("test-ipc-roundtrip");
}
