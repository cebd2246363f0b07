/* Every cap on a buffer or count that grows from input, named once.
 * Each has a unit test at cap + 1. Changing one here changes it everywhere. */
#ifndef AIRLOCK_LIMITS_H
#define AIRLOCK_LIMITS_H

/* Names and identifiers */
#define AL_HOST_MAX            253     /* DNS name, RFC 1035, without the trailing dot */
#define AL_LABEL_MAX           63      /* one DNS label */
#define AL_NAME_MAX            64      /* client and secret names: [A-Za-z0-9._-] */
#define AL_METHOD_MAX          32      /* an HTTP method token */
#define AL_PATH_MAX            2048    /* a rule path pattern or a normalised request path */
#define AL_TOKEN_MAX           128     /* a client token as presented */

/* Rules */
#define AL_RULE_LIST_MAX       32      /* entries in one rule's methods, paths or ports */
#define AL_RULES_PER_CLIENT    1024
#define AL_CLIENTS_MAX         4096
#define AL_SECRETS_MAX         1024
#define AL_TTL_MIN_SECONDS     1
#define AL_TTL_MAX_SECONDS     (366LL * 24 * 3600)   /* one year */

/* Control API */
#define AL_API_BODY_MAX        (64 * 1024)           /* JSON request body; secrets included */
#define AL_SECRET_VALUE_MAX    (32 * 1024)           /* a secret's value (OAuth files are a few KiB) */
#define AL_JSON_DEPTH_MAX      16                    /* nesting in any JSON we accept */
#define AL_STATE_FILE_MAX      (64 * 1024 * 1024)    /* state.json */

/* IPC between broker and enforcer */
/* An API change answers once every enforcer runs its policy, or after this
 * long (then with X-Airlock-Policy-Applied: false). */
#define AL_POLICY_ACK_TIMEOUT_MS 2000
#define AL_IPC_FRAME_MAX       (16 * 1024 * 1024)    /* one frame; a full policy snapshot fits */
#define AL_INJECT_HEADERS_MAX  32                    /* pairs (and strip names) in a headers answer */
#define AL_INJECT_NAME_MAX     256                   /* a header name in it */
#define AL_INJECT_VALUE_MAX    AL_REQ_HEAD_MAX       /* a header value: no longer than a whole head */
#define AL_SHIM_BODY_MAX       (64 * 1024)           /* a token shim's answer body */
#define AL_IPC_TEXT_MAX        512                   /* an error code or message, a content type */

/* Proxy (defaults; each is a flag of `airlock up`, whose range is in
 * common/flags.c) */
#define AL_REQ_HEAD_MAX        (64 * 1024)           /* request head bytes -> 431 */
#define AL_REQ_HEADERS_MAX     100                   /* header fields -> 431 */
#define AL_HEAD_TIMEOUT_MS     10000                 /* slowloris */
#define AL_IDLE_TIMEOUT_MS     60000                 /* idle keep-alive */
#define AL_CONNS_PER_CLIENT    512                   /* -> 429 */
#define AL_CONNS_TOTAL         10000                 /* authenticated: -> 503 */
#define AL_PREAUTH_CONNS_TOTAL 2048                  /* no valid token yet: closed at accept */
#define AL_PREAUTH_CONNS_PER_SOURCE 128              /* ... from one address (an IPv6 /64) */
#define AL_SOURCE_KEY_MAX      64                    /* that address as text, NUL included */
#define AL_UPSTREAM_CONNECT_TIMEOUT_MS 10000         /* -> 504 */
#define AL_UPSTREAM_IDLE_TIMEOUT_MS    300000        /* an LLM may think for minutes */
/* A CONNECT tunnel (or spliced WebSocket) that moves no byte either way for
 * this long is closed: long enough for a quiet SSH or WebSocket session,
 * short enough that abandoned tunnels do not pile up (HAProxy's usual
 * "timeout tunnel"). */
#define AL_TUNNEL_IDLE_TIMEOUT_MS      (3600 * 1000)
/* SIGTERM: open requests get this long to finish before they are cut
 * (systemd waits 90 s by default; a rolling restart should not). */
#define AL_DRAIN_TIMEOUT_MS            5000
#define AL_LEAF_CACHE_MAX      1024                  /* minted leaves kept (LRU) */
#define AL_UPSTREAM_POOL_MAX   256                   /* idle upstream connections a worker keeps */
#define AL_UPSTREAM_POOL_PER_KEY 32                  /* ... for one (client, host, port) */
#define AL_UPSTREAM_POOL_IDLE_MS 30000               /* a parked upstream unused this long closes */
#define AL_BROKER_ASK_TIMEOUT_MS 2000                /* headers ask -> 503 broker-unavailable */
#define AL_DECISIONS_BATCH_MAX 512                   /* decision lines in one IPC frame (one loop turn) */
#define AL_DECISIONS_BATCH_BYTES (1024 * 1024)        /* ... and their bytes; past either, dropped */
#define AL_DECISION_LINE_MAX   (8 * AL_PATH_MAX)     /* one decision line as JSON (a path of \u00XX escapes fits) */
#define AL_DECISIONS_FEED_QUEUE (256 * 1024)          /* a worker link's unwritten bytes past which a batch is dropped */
#define AL_DECISIONS_RING      4096                  /* decisions the broker keeps for GET /decisions */
#define AL_DECISIONS_FOLLOWERS 16                    /* GET /decisions?follow=1 streams at once */
#define AL_STATS_SERIES_MAX    16384                 /* (client, verdict, reason) series in one stats frame, and kept */

/* Budgets per client and per rule (enforcer/budget.c): the largest limit
 * the API takes for each (0 or absent: no limit), and how many counter
 * entries the enforcer keeps at once (one per client or rule that has a
 * limit, or that has requests in flight; past it a request that needs a
 * new entry is refused 429 budget-table-full). */
#define AL_BUDGET_RPM_MAX      1000000               /* requests per minute */
#define AL_BUDGET_BYTES_MAX    (1LL << 50)           /* bytes per hour, request + response */
#define AL_BUDGET_CONCURRENT_MAX 100000              /* requests at once */
#define AL_BUDGET_TOKENS_MAX   1000000000000LL       /* LLM tokens per UTC day */
#define AL_BUDGET_ENTRIES_MAX  8192
/* LLM usage metering (enforcer/usage.c), on responses to injected requests:
 * a JSON answer is kept up to this many bytes, then parsed (past it, not
 * counted); an SSE line up to this many (a longer one is skipped). */
#define AL_USAGE_JSON_MAX      (1024 * 1024)
#define AL_USAGE_SSE_LINE_MAX  (1024 * 1024)

/* HTTP/2 toward the sandbox inside an intercepted tunnel (enforcer/h2.c).
 * Each stream is a request with its own upstream connection, so the stream
 * cap is also how many upstream connections one sandbox connection may
 * hold. The others bound what nghttp2 accepts before a connection error:
 * HPACK's dynamic table (SETTINGS_HEADER_TABLE_SIZE), CONTINUATION frames
 * per header block (CVE-2024-27316), the rapid-reset token bucket
 * (CVE-2023-44487: a burst, then this many resets per second), entries in
 * one SETTINGS frame, and SETTINGS/PING acknowledgements queued unsent (a
 * flood that never reads its acks). The header list is the request head
 * cap (--max-head-bytes, 431), as for HTTP/1.1. */
#define AL_H2_MAX_STREAMS      100                   /* concurrent per connection: REFUSED_STREAM */
#define AL_H2_STREAMS_PER_CLIENT 512                 /* open over all a client's connections: 429 */
#define AL_H2_HPACK_TABLE_MAX  4096                  /* bytes, the RFC 9113 default */
#define AL_H2_MAX_CONTINUATIONS 8                    /* CONTINUATION frames in one header block */
#define AL_H2_RESET_BURST      200                   /* stream resets at once ... */
#define AL_H2_RESET_RATE       33                    /* ... then per second: GOAWAY past them */
#define AL_H2_MAX_SETTINGS     32                    /* entries in one SETTINGS frame */
#define AL_H2_MAX_OUTBOUND_ACK 1000                  /* unsent SETTINGS/PING acks: GOAWAY */
#define AL_H2_STREAM_WINDOW    (256 * 1024)          /* a stream's receive window (request body in flight) */
#define AL_H2_CONN_WINDOW      (4 * 1024 * 1024)     /* the connection's */

/* SOCKS5 on the plain listener (enforcer/socks5.c): the three negotiation
 * messages together are at most 257 + 513 + 262 bytes (RFC 1928, 1929);
 * bytes a client sends behind its request, before the answer, are held up
 * to a cap; our own HTTP answer to the CONNECT it becomes is one short head. */
#define AL_SOCKS5_NEGOTIATION_MAX 1032
#define AL_SOCKS5_EARLY_MAX    (64 * 1024)
#define AL_SOCKS5_ANSWER_MAX   2048

/* airlock audit suggest: common/log.c writes at most 8192 bytes per line;
 * twice that leaves room for a collector's additions. Distinct suggestions
 * past the cap are counted, not stored. */
#define AL_AUDIT_LINE_MAX      (16 * 1024)
#define AL_AUDIT_SUGGEST_MAX   4096                  /* a power of two */

/* Sockets and reads: listen(2) backlogs (the proxy's is for bursts of
 * sandbox connections; the broker's doors see a few local callers), the
 * enforcer's IPC read buffer (a policy frame arrives in pieces of this), and
 * the upstream TLS session-resumption cache (slots; one per host:port,
 * overwritten on collision). */
#define AL_PROXY_BACKLOG       1024
#define AL_IPC_BACKLOG         16
#define AL_API_BACKLOG         64
#define AL_IPC_READ_CHUNK      (64 * 1024)
#define AL_IPC_READ_NOW_CHUNKS 16         /* an ask's deadline reads at most this many chunks at once */
#define AL_RESUME_CACHE_SLOTS  256

/* Logging what was refused: a request target airlock could not parse is
 * logged (as host or path) cut to this many bytes; an OAuth endpoint's
 * header value (Retry-After...) longer than this is not read. */
#define AL_LOG_BAD_TARGET_MAX  200
#define AL_OAUTH_HEADER_VALUE_MAX 200
/* Held requests (enforcer/hold.c, broker/approvals.c): a client whose
 * policy says hold waits for a person instead of a 403. Each held request
 * keeps its connection (counted in the connection caps) and a pending
 * approval in the broker; a client may have this many at once (the next
 * is answered 429 too-many-holds), the broker this many in all. The
 * approvals stream keeps its last events in a ring for its followers. */
#define AL_HOLDS_PER_CLIENT    8
#define AL_APPROVALS_MAX       256
#define AL_HOLD_TIMEOUT_MS     60000                 /* --hold-timeout default */
#define AL_HOLD_TIMEOUT_MAX_MS (3600 * 1000)
#define AL_APPROVAL_TTL_DEFAULT 3600                 /* seconds: an approval's rule, unless told */
#define AL_APPROVAL_EVENTS     1024
#define AL_APPROVAL_FOLLOWERS  16
#define AL_WEBHOOK_KEY_MAX     1024                  /* --approval-webhook-key-file bytes */
#define AL_WEBHOOK_QUEUE_MAX   64                    /* webhook posts waiting; past it, dropped */

/* The web page (--ui-listen): the login body {"token": ...}, and the
 * ui-token file as read (one token and a newline; more is not a token). */
#define AL_UI_LOGIN_BODY_MAX   1024
#define AL_UI_TOKEN_FILE_MAX   256

/* Files */
#define AL_CRED_FILE_MAX       (256 * 1024)          /* a vendor credential file */
#define AL_PEM_MAX             (64 * 1024)
#define AL_CA_BUNDLE_MAX       (4 * 1024 * 1024)     /* the system's roots (Debian's: ~220 KiB) */
#define AL_STORE_DELETIONS_KEEP_S (24 * 3600)         /* the fleet store keeps deletions this long (s) */

#endif
