/* httpc.h: the HTTP client layer shared by the daemon and the tests, on libcurl. One struct httpc
 * per thread keeps connections alive between requests; every request has a timeout and a cap on
 * the response size, and response headers are kept for the caller (Retry-After, Sforce-Limit-Info). */
#ifndef OL_HTTPC_H
#define OL_HTTPC_H

#include <stddef.h>

enum httpc_fail {
	HTTPC_OK,
	HTTPC_CONNECT,		/* refused, unreachable, DNS */
	HTTPC_TIMEOUT,
	HTTPC_RESET,		/* connection dropped mid-exchange, empty reply */
	HTTPC_TOO_LARGE,	/* response over max_body */
	HTTPC_OTHER,
};

struct httpc_request {
	const char *method;		/* "GET" when NULL */
	const char *url;
	const char *body;		/* may be NULL */
	size_t body_len;
	const char *content_type;	/* for the body, may be NULL */
	const char *const *headers;	/* NULL-terminated "Name: value" lines, may be NULL */
	long timeout_ms;		/* whole request; 30 s when 0 */
	size_t max_body;		/* response cap; 64 MiB when 0 */
	/* 1: a new connection, closed afterwards. libcurl re-sends a request once by itself when
	 * a reused keep-alive connection closes without an answer, POST included; a request that
	 * must never reach the server twice (a create without an idempotency key) sets this. */
	int fresh_connect;
};

struct httpc_header {
	char *name;
	char *value;
};

struct httpc_response {
	long status;
	char *body;			/* NUL-terminated; owned */
	size_t body_len;
	struct httpc_header *headers;	/* owned */
	size_t nheaders;
};

struct httpc;

struct httpc *httpc_new(void);		/* free with httpc_free */
void httpc_free(struct httpc *c);

/* Performs the request. Returns HTTPC_OK when an HTTP response arrived (any status), else the
 * failure class with a message in err. resp is always initialized; free it with
 * httpc_response_free. */
enum httpc_fail httpc_do(struct httpc *c, const struct httpc_request *req,
    struct httpc_response *resp, char *err, size_t errlen);
/* Value of the last response header called name (case-insensitive), or NULL; borrowed from resp. */
const char *httpc_header(const struct httpc_response *resp, const char *name);
void httpc_response_free(struct httpc_response *resp);

/* How httpc_encode writes what it does not keep. */
enum httpc_encoding {
	HTTPC_PERCENT,		/* %XX with upper-case hex (RFC 3986) */
	HTTPC_FORM,		/* ' ' as '+', the rest %xx in lower-case hex (.NET's UrlEncode) */
};

/* The punctuation RFC 3986 leaves unencoded. */
#define HTTPC_UNRESERVED	"-._~"

/* Encodes s for a URL, keeping ASCII letters, digits and the characters of keep. Caller frees. */
char *httpc_encode(const char *s, const char *keep, enum httpc_encoding how);
/* Percent-encodes s for a URL query value or path segment (RFC 3986 unreserved kept).
 * Caller frees. */
char *httpc_escape(const char *s);

#endif
