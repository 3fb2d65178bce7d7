/* hook_server.h: a webhook receiver for integration tests, on lib/httpd.h: it answers Graph's
 * validation handshakes and notification POSTs the way a test scripts it (echo right or
 * wrong, late, with a status, or not at all) and records every request it got. Thread-safe:
 * requests arrive on server threads while the test reads the records. */
#ifndef HOOK_SERVER_H
#define HOOK_SERVER_H

#include <stddef.h>

/* How to answer one request. All zero: the well-behaved receiver (a validation gets 200
 * text/plain with the decoded token, anything else 202 with no body). */
struct hook_behavior {
	int status;		/* answer with this status instead (and no echo) */
	long delay_ms;		/* wait this long before answering */
	int drop;		/* close the connection without answering (after delay_ms) */
	int echo;		/* validations: HOOK_ECHO_* */
};

enum {
	HOOK_ECHO_DECODED,	/* the decoded token, as Graph requires */
	HOOK_ECHO_RAW,		/* the token still URL-encoded, as received */
	HOOK_ECHO_WRONG,	/* some other text */
};

/* One request as received. */
struct hook_record {
	char method[16];
	char *path;		/* decoded, without the query */
	char *raw_query;	/* as received after '?', or "" */
	char *token;		/* validationToken decoded ('+' as space), or NULL */
	char *raw_token;	/* validationToken as it appeared in the URL, or NULL */
	char *content_type;	/* or NULL */
	char *body;		/* "" when none */
	double at;		/* arrival, CLOCK_MONOTONIC seconds */
	int answered;		/* the status answered (after any delay); 0 when dropped */
};

struct hook_server;

/* Starts on an ephemeral loopback port. NULL on failure. */
struct hook_server *hook_server_start(void);
/* Stops serving (waits for requests in progress) and frees everything. */
void hook_server_stop(struct hook_server *hs);
/* "http://127.0.0.1:PORT"; borrowed until hook_server_stop. */
const char *hook_server_url(const struct hook_server *hs);

/* The next n requests whose path starts with path_prefix get b (in order of scripting; a
 * request takes the first script that matches). */
void hook_server_script(struct hook_server *hs, const char *path_prefix,
    const struct hook_behavior *b, int n);
/* Forgets scripts and records. */
void hook_server_clear(struct hook_server *hs);

/* Number of requests recorded whose path starts with path_prefix ("" for all). */
int hook_server_count(struct hook_server *hs, const char *path_prefix);
/* Waits until at least n such requests were recorded, up to timeout_ms (mono_scaled); returns
 * the count. */
int hook_server_wait(struct hook_server *hs, const char *path_prefix, int n, long timeout_ms);
/* Copies the i-th (from 0) such request into out: 0, or -1 when there is none. Free the copy
 * with hook_record_free. */
int hook_server_get(struct hook_server *hs, const char *path_prefix, int i,
    struct hook_record *out);
void hook_record_free(struct hook_record *r);

#endif
