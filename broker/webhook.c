/* The approval webhook (webhook.h): sign on the loop, post on the pool. */
#include "config.h"

#include "broker/webhook.h"

#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define WEBHOOK_KEY_MIN 16
#define WEBHOOK_TIMEOUT_S 5

struct webhook {
	char *key;
	size_t key_len, key_alloc;
	unsigned queued;     /* posts not done yet */
};

struct post {
	uv_work_t req;
	struct broker *b;
	char *url;
	char *body;
	char sig[sizeof "X-Airlock-Signature: sha256=" + 64];
	long status;
	CURLcode rc;
	long long id;
};

static struct webhook hook;

int webhook_start(struct broker *b, char *err, size_t errlen)
{
	const char *url = b->cfg.approval_webhook, *kf = b->cfg.approval_webhook_key_file;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!url && !kf)
		return 0;
	if (!url || !kf) {
		snprintf(err, errlen, "--approval-webhook and --approval-webhook-key-file go together");
		return AL_EINVAL;
	}
	if ((rc = file_read_all(kf, AL_WEBHOOK_KEY_MAX + 1, &buf, &len)) < 0) {
		snprintf(err, errlen, "--approval-webhook-key-file %s: %s", kf, airlock_strerror(rc));
		return rc;
	}
	size_t full = len;
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len < WEBHOOK_KEY_MIN || len > AL_WEBHOOK_KEY_MAX) {
		secure_free(buf, full);
		snprintf(err, errlen, "--approval-webhook-key-file %s: the key must be %d to %d bytes", kf,
			 WEBHOOK_KEY_MIN, AL_WEBHOOK_KEY_MAX);
		return AL_EINVAL;
	}
	hook.key = buf;
	hook.key_len = len;
	hook.key_alloc = full;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
	log_info("approval webhook on", KV_S("url", url));
	return 0;
}

static void on_post(uv_work_t *req)
{
	struct post *p = (struct post *)req;
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	if (!c) {
		p->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "X-Airlock-Event: approval");
	h = curl_slist_append(h, p->sig);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "airlock-broker/" PACKAGE_VERSION);
	p->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void on_posted(uv_work_t *req, int status)
{
	struct post *p = (struct post *)req;
	hook.queued--;
	if (status != 0 || p->rc != CURLE_OK || p->status < 200 || p->status > 299)
		log_warn("approval webhook failed", KV_I("approval", p->id),
			 KV_S("error", status != 0 ? "cancelled" : p->rc != CURLE_OK ? curl_easy_strerror(p->rc) : "status"),
			 KV_I("status", p->status));
	else
		log_debug("approval webhook posted", KV_I("approval", p->id), KV_I("status", p->status));
	free(p->url);
	free(p->body);
	free(p);
}

void webhook_approval(struct broker *b, const json_t *approval)
{
	uint8_t mac[32];
	char hex[65];

	if (!hook.key || !b->cfg.approval_webhook || !approval)
		return;
	if (hook.queued >= AL_WEBHOOK_QUEUE_MAX) {
		log_warn("approval webhook: too many posts waiting; this one is dropped",
			 KV_I("approval", (long long)json_integer_value(json_object_get(approval, "id"))));
		return;
	}
	char *body = json_dumps(approval, JSON_COMPACT);
	if (!body)
		abort();   /* jansson fails here on OOM alone */
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, hook.key, hook.key_len, body, strlen(body), mac) < 0) {
		log_error("approval webhook: HMAC failed");
		free(body);
		return;
	}
	for (size_t i = 0; i < sizeof mac; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	struct post *p = xcalloc(1, sizeof *p);
	p->b = b;
	p->url = xstrdup(b->cfg.approval_webhook);
	p->body = body;
	p->id = (long long)json_integer_value(json_object_get(approval, "id"));
	snprintf(p->sig, sizeof p->sig, "X-Airlock-Signature: sha256=%s", hex);
	if (uv_queue_work(b->loop, &p->req, on_post, on_posted) != 0) {
		free(p->url);
		free(p->body);
		free(p);
		return;
	}
	hook.queued++;
}

void webhook_free(struct broker *b)
{
	(void)b;
	if (hook.key)
		secure_free(hook.key, hook.key_alloc);
	hook.key = NULL;
	hook.key_len = 0;
}
