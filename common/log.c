/* Structured logging: renders one event as a key=value or JSON line and
 * writes it with one write(2). Owns the redaction of credentials: a key that
 * names one, or a value that looks like one, is written as [redacted]. */
#include "config.h"

#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

#define LOG_LINE_MAX 8192
#define REDACTED "[redacted]"

static struct {
	const char *program;
	enum log_format fmt;
	enum log_level min;
	int fd;
} log_cfg = { "airlock", LOG_FMT_KV, LOG_LVL_INFO, 2 };

void log_init(const char *program, enum log_format fmt, enum log_level min, FILE *out)
{
	log_cfg.program = program ? program : "airlock";
	log_cfg.fmt = fmt;
	log_cfg.min = min;
	log_cfg.fd = out ? fileno(out) : 2;
}

/* dup2 onto the descriptor lines go to: its number never changes, so a
 * thread writing a line at that instant writes to the old file or the new
 * one, never to a closed descriptor (logrotate's rename-then-HUP). */
int log_file_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd >= 0) {
		/* the daemons run with umask 077: say 0640 (group adm reads logs) */
		if (fchmod(fd, 0640) < 0) {
			close(fd);
			return AL_EIO;
		}
	} else if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return errno == EACCES ? AL_EPERM : AL_EIO;
	int rc = dup2(fd, log_cfg.fd) < 0 ? AL_EIO : 0;
	close(fd);
	return rc;
}

void log_set_level(enum log_level min)
{
	log_cfg.min = min;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (!s)
		return AL_EINVAL;
	if (strcmp(s, "kv") == 0)
		*out = LOG_FMT_KV;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return AL_EINVAL;
	return 0;
}

/* ---- redaction ---- */

bool log_key_is_sensitive(const char *key)
{
#define K(s) { s, sizeof s - 1 }
	static const struct { const char *s; size_t n; } exact[] = {
		K("token"), K("value"), K("password"), K("passwd"), K("authorization"), K("proxy-authorization"),
		K("proxy_authorization"), K("cookie"), K("set-cookie"), K("set_cookie"), K("secret_value"),
		K("client_secret"), K("api_key"), K("apikey"), K("api-key"), K("private_key"), K("seal_key"),
		K("credentials"), K("x-api-key"),
	}, suffixes[] = { K("_token"), K("-token"), K("_password"), K("_secret"), K("_key") };
#undef K
	size_t klen;

	if (!key)
		return false;
	/* every field of every decision line comes through here: compare only
	 * strings of the right length and first letter (the list is lower case) */
	klen = strlen(key);
	unsigned char k0 = (unsigned char)tolower((unsigned char)key[0]);
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (exact[i].n == klen && (unsigned char)exact[i].s[0] == k0 && strcasecmp(key, exact[i].s) == 0)
			return true;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t slen = suffixes[i].n;
		if (klen > slen && key[klen - slen] == suffixes[i].s[0] &&
		    strcasecmp(key + klen - slen, suffixes[i].s) == 0)
			return true;
	}
	return false;
}

static bool is_b64url(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* Count of base64url-ish characters starting at s. */
static size_t run_b64url(const char *s)
{
	size_t n = 0;
	while (s[n] && is_b64url((unsigned char)s[n]))
		n++;
	return n;
}

/* A credential prefix counts only at the start of a word, so "vehicle" does
 * not look like "Bearer" but "x Bearer abc" does. */
static bool at_word_start(const char *base, const char *p)
{
	return p == base || !isalnum((unsigned char)p[-1]);
}

static bool looks_like_jwt(const char *p)
{
	size_t a, b;
	if (strncmp(p, "eyJ", 3) != 0)
		return false;
	a = run_b64url(p);
	if (a < 10 || p[a] != '.')
		return false;
	b = run_b64url(p + a + 1);
	return b >= 10 && p[a + 1 + b] == '.';
}

bool log_value_is_sensitive(const char *value)
{
	static const struct {
		const char *prefix;
		size_t min_tail; /* base64url chars that must follow */
		bool nocase;
	} pats[] = {
		{ "alk_", 16, false },  { "bearer ", 1, true }, { "basic ", 1, true },
		{ "sk-ant-", 8, false }, { "sk-proj-", 8, false }, { "sk-", 20, false },
		{ "gho_", 16, false },  { "ghu_", 16, false },  { "ghp_", 16, false },
		{ "ghs_", 16, false },  { "ghr_", 16, false },  { "github_pat_", 16, false },
		{ "xai-", 16, false },  { "ya29.", 16, false },
	};

	if (!value)
		return false;
	for (const char *p = value; *p; p++) {
		/* every string of every decision line comes through here: most
		 * bytes cannot begin a JWT ("eyJ") or any prefix above (their first
		 * letters; "b" either case), so skip those with one test */
		switch (*p) {
		case 'a': case 'b': case 'B': case 'e': case 'g': case 's': case 'x': case 'y':
			break;
		default:
			continue;
		}
		if (!at_word_start(value, p))
			continue;
		if (looks_like_jwt(p))
			return true;
		for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
			/* prefixes are lower case: a cheap first-letter test first */
			if ((pats[i].nocase ? tolower((unsigned char)*p) : *p) != pats[i].prefix[0])
				continue;
			size_t plen = strlen(pats[i].prefix);
			int cmp = pats[i].nocase ? strncasecmp(p, pats[i].prefix, plen)
						 : strncmp(p, pats[i].prefix, plen);
			if (cmp != 0)
				continue;
			if (pats[i].min_tail == 1) {
				/* "Bearer x", "Basic x": anything non-blank after it. */
				const char *t = p + plen;
				while (*t == ' ')
					t++;
				if (*t && !isspace((unsigned char)*t))
					return true;
			} else if (run_b64url(p + plen) >= pats[i].min_tail) {
				return true;
			}
		}
	}
	return false;
}

/* ---- rendering ---- */

struct sb {
	char *buf;
	size_t cap, len;
	bool trunc;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	if (b->trunc)
		return;
	if (b->len + n >= b->cap) {
		size_t room = b->cap - 1 - b->len;
		memcpy(b->buf + b->len, s, room);
		b->len += room;
		b->trunc = true;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char c)
{
	if (!b->trunc && b->len + 1 < b->cap)
		b->buf[b->len++] = c;
	else
		sb_putn(b, &c, 1);
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_putn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A decimal integer without printf (one per field of every decision line). */
static void sb_put_int(struct sb *b, long long v)
{
	char tmp[24];
	size_t i = sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	sb_putn(b, tmp + i, sizeof tmp - i);
}

static void render_ts(struct sb *b)
{
	/* the date and time to the second change once a second: format them
	 * once per second per thread */
	static __thread time_t last_sec = (time_t)-1;
	static __thread char sec_text[32];
	static __thread size_t sec_len;
	struct timespec ts;
	char ms[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		/* strftime, not snprintf: gcc cannot bound tm's fields and would warn. */
		sec_len = strftime(sec_text, sizeof sec_text, "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = ts.tv_sec;
	}
	int m = (int)(ts.tv_nsec / 1000000) % 1000;
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	ms[2] = (char)('0' + m / 10 % 10);
	ms[3] = (char)('0' + m % 10);
	ms[4] = 'Z';
	sb_putn(b, sec_text, sec_len);
	sb_putn(b, ms, 5);
}

static bool key_char_ok(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* Keys come from code, but a key with odd bytes must still not break a line:
 * each odd byte becomes '_'; the runs between go out whole. */
static void render_key(struct sb *b, const char *key)
{
	const char *p = key;
	while (*p) {
		const char *run = p;
		while (*p && key_char_ok((unsigned char)*p))
			p++;
		if (p > run)
			sb_putn(b, run, (size_t)(p - run));
		if (*p) {
			sb_putc(b, '_');
			p++;
		}
	}
}

static bool kv_needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
			return true;
	return false;
}

/* key=value value: bare when safe; otherwise quoted with \" \\ \n \r \t and
 * \xHH for every other control or non-ASCII byte, so a value can never
 * forge a second line or a second field. */
static void render_kv_value(struct sb *b, const char *v)
{
	if (!kv_needs_quotes(v)) {
		sb_puts(b, v);
		return;
	}
	sb_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\t': sb_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				sb_printf(b, "\\x%02x", *p);
			else
				sb_putc(b, (char)*p);
		}
	}
	sb_putc(b, '"');
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; min = 0x10000; }
	else return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string: valid UTF-8 passes, invalid bytes become U+FFFD. */
static void render_json_string(struct sb *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	sb_putc(b, '"');
	while (*p) {
		/* printable ASCII other than '"' and '\\' passes as it is: a run
		 * of it goes out in one copy */
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			sb_putn(b, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		size_t n = utf8_seq(p);
		if (n == 0) {
			sb_puts(b, "\\ufffd");
			p++;
			continue;
		}
		if (n > 1) {
			sb_putn(b, (const char *)p, n);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\t': sb_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_printf(b, "\\u%04x", *p);
			else
				sb_putc(b, (char)*p);
		}
		p++;
	}
	sb_putc(b, '"');
}

static const char *safe_value(const char *key, const char *v)
{
	if (log_key_is_sensitive(key) || log_value_is_sensitive(v))
		return REDACTED;
	return v;
}

void log_kv_redact(struct log_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!kv[i].key)
			continue;
		if (kv[i].type == LOG_KV_STR && kv[i].s) {
			kv[i].s = safe_value(kv[i].key, kv[i].s);
			kv[i].type = LOG_KV_CHECKED;
		} else if (kv[i].type == LOG_KV_INT) {
			if (log_key_is_sensitive(kv[i].key)) {
				kv[i].s = REDACTED;
				kv[i].type = LOG_KV_CHECKED;
			} else {
				kv[i].type = LOG_KV_INT_CHECKED;
			}
		}
	}
}

static void render_field(struct sb *b, enum log_format fmt, const struct log_kv *kv)
{
	if (!kv->key || ((kv->type == LOG_KV_STR || kv->type == LOG_KV_CHECKED) && !kv->s))
		return;
	if (fmt == LOG_FMT_JSON) {
		sb_putc(b, ',');
		render_json_string(b, kv->key);
		sb_putc(b, ':');
	} else {
		sb_putc(b, ' ');
		render_key(b, kv->key);
		sb_putc(b, '=');
	}
	if (kv->type == LOG_KV_INT_CHECKED) {
		sb_put_int(b, kv->i);
		return;
	}
	if (kv->type == LOG_KV_INT) {
		if (!log_key_is_sensitive(kv->key))
			sb_put_int(b, kv->i);
		else if (fmt == LOG_FMT_JSON)
			render_json_string(b, REDACTED);
		else
			sb_puts(b, REDACTED);
		return;
	}
	const char *v = kv->type == LOG_KV_CHECKED ? kv->s : safe_value(kv->key, kv->s);
	if (fmt == LOG_FMT_JSON)
		render_json_string(b, v);
	else
		render_kv_value(b, v);
}

size_t log_render(char *buf, size_t cap, enum log_format fmt, const char *verdict_or_level,
		  const char *msg, const struct log_kv *kv, size_t n)
{
	struct sb b = { buf, cap, 0, false };
	const char *word = verdict_or_level ? verdict_or_level : "info";

	if (cap == 0)
		return 0;
	if (fmt == LOG_FMT_JSON) {
		sb_puts(&b, "{\"ts\":\"");
		render_ts(&b);
		sb_putc(&b, '"');
		if (msg) {
			sb_puts(&b, ",\"level\":");
			render_json_string(&b, word);
			sb_puts(&b, ",\"msg\":");
			render_json_string(&b, log_value_is_sensitive(msg) ? REDACTED : msg);
		} else {
			sb_puts(&b, ",\"verdict\":");
			render_json_string(&b, word);
		}
	} else {
		sb_puts(&b, "ts=");
		render_ts(&b);
		if (msg) {
			sb_puts(&b, " level=");
			render_kv_value(&b, word);
			sb_puts(&b, " msg=");
			render_kv_value(&b, log_value_is_sensitive(msg) ? REDACTED : msg);
		} else {
			sb_putc(&b, ' ');
			render_key(&b, word);
		}
	}
	for (size_t i = 0; i < n; i++)
		render_field(&b, fmt, &kv[i]);
	if (fmt == LOG_FMT_JSON)
		sb_putc(&b, '}');

	/* sb stops at cap - 1: mark the cut so a reader knows the line is not whole. */
	if (b.trunc && cap >= 4)
		memcpy(b.buf + cap - 4, "...", 3);
	b.buf[b.len] = '\0';
	return b.len;
}

static void write_all(const char *line, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(log_cfg.fd, line + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to complain */
		}
		off += (size_t)w;
	}
}

static __thread bool tl_batching;
static __thread size_t tl_blen;
static __thread char tl_batch[LOG_BATCH_MAX];

void log_batch_start(void)
{
	tl_batching = true;
}

void log_batch_flush(void)
{
	if (tl_blen) {
		write_all(tl_batch, tl_blen);
		tl_blen = 0;
	}
}

void log_batch_stop(void)
{
	log_batch_flush();
	tl_batching = false;
}

static void log_write_line(char *line, size_t len)
{
	line[len++] = '\n';
	if (!tl_batching) {
		write_all(line, len);
		return;
	}
	if (tl_blen + len > sizeof tl_batch)
		log_batch_flush();
	if (len > sizeof tl_batch) {
		write_all(line, len);
		return;
	}
	memcpy(tl_batch + tl_blen, line, len);
	tl_blen += len;
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERROR: return "error";
	case LOG_LVL_WARN: return "warn";
	case LOG_LVL_INFO: return "info";
	case LOG_LVL_DEBUG: return "debug";
	}
	return "info";
}

void log_msg_(enum log_level lvl, const char *msg, const struct log_kv *kv, size_t n)
{
	char line[LOG_LINE_MAX + 1];
	size_t len;
	int saved = errno;

	if (lvl > log_cfg.min)
		return;
	len = log_render(line, LOG_LINE_MAX, log_cfg.fmt, level_name(lvl), msg ? msg : "", kv, n);
	log_write_line(line, len);
	errno = saved;
}

void log_decision_(const char *verdict, const struct log_kv *kv, size_t n)
{
	char line[LOG_LINE_MAX + 1];
	size_t len;
	int saved = errno;

	len = log_render(line, LOG_LINE_MAX, log_cfg.fmt, verdict ? verdict : "deny", NULL, kv, n);
	log_write_line(line, len);
	errno = saved;
}
