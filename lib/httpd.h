/* httpd.h: the HTTP server layer shared by the daemon and both emulators, on libmicrohttpd.
 * One handler sees each complete request (body gathered up to a limit) and fills a response;
 * the layer enforces the limits (body size -> 413, URI length -> 414, idle timeout, request
 * deadline) so handlers never see an oversized request and a slow client cannot hold a
 * connection for ever. */
#ifndef OL_HTTPD_H
#define OL_HTTPD_H

#include <jansson.h>
#include <stddef.h>

#define HTTPD_MAX_PARAMS 64

struct httpd_param {
	char *name;
	char *value;
};

struct httpd_request {
	const char *method;		/* "GET", "POST", ... */
	const char *raw_uri;		/* as received, with the query string */
	char *path;			/* percent-decoded path, without the query */
	char *body;			/* NUL-terminated, may be "" */
	size_t body_len;
	struct httpd_param query[HTTPD_MAX_PARAMS];	/* decoded, '+' is a space */
	int nquery;
	const char *peer;		/* "127.0.0.1" */
	void *conn;			/* the MHD connection, for httpd_header */
};

struct httpd_response {
	int status;
	char *body;			/* owned by the response */
	size_t body_len;
	char content_type[96];
	struct httpd_param headers[16];
	int nheaders;
	int drop;			/* close the connection without answering */
};

/* Returns the request's first value of header name (case-insensitive) or NULL; borrowed until the
 * handler returns. */
const char *httpd_header(const struct httpd_request *req, const char *name);
/* First query parameter called name, or NULL; borrowed until the handler returns. */
const char *httpd_query(const struct httpd_request *req, const char *name);

/* Response builders; each replaces any body set before. json is stolen. */
void httpd_respond_json(struct httpd_response *resp, int status, json_t *json);
void httpd_respond_text(struct httpd_response *resp, int status, const char *content_type,
    const char *text);
void httpd_respond_empty(struct httpd_response *resp, int status);
void httpd_response_header(struct httpd_response *resp, const char *name, const char *value);
void httpd_response_clear(struct httpd_response *resp);

typedef void httpd_handler(struct httpd_request *req, struct httpd_response *resp, void *arg);

struct httpd_config {
	const char *listen;		/* "127.0.0.1:8080"; port 0 picks a free one */
	size_t max_body;		/* bytes; larger bodies get 413 */
	size_t max_uri;			/* bytes; longer request URIs get 414 */
	unsigned timeout_sec;		/* idle connection timeout */
	/* A request must have arrived whole (headers and body) within this many seconds of its
	 * first byte (to within a second), or its connection is closed: a client that trickles
	 * a byte now and then resets the idle timeout but not this. The handler's run and the
	 * response do not count, nor does an idle connection (the idle timeout closes that).
	 * 0: no deadline. */
	unsigned request_deadline_sec;
	unsigned max_connections;
	unsigned max_per_ip;		/* connections from one address; 0: only max_connections */
	const char *tls_cert_pem;	/* serve HTTPS with this certificate (PEM text), or NULL */
	const char *tls_key_pem;	/* its private key (PEM text) */
};

struct httpd;

/* Starts serving in background threads (one per connection). NULL with a message in err. */
struct httpd *httpd_start(const struct httpd_config *cfg, httpd_handler *handler, void *arg,
    char *err, size_t errlen);
int httpd_port(const struct httpd *srv);

struct httpd_stats {
	unsigned		connections;	/* open now */
	unsigned long long	deadline_cuts;	/* closed by request_deadline_sec since start */
};

void httpd_stats(struct httpd *srv, struct httpd_stats *out);
/* Stops serving (open connections are closed) and frees srv. */
void httpd_stop(struct httpd *srv);

/* Percent-decodes s (and '+' to space when plus_is_space); a '%' not followed by two hex digits
 * is kept as it is. Caller frees. */
char *httpd_decode(const char *s, size_t len, int plus_is_space);
/* The value of hex digit c, or -1. */
int httpd_hexval(char c);

/* Splits a request target ("/path?a=1&b") into its percent-decoded path (returned; caller frees)
 * and at most max decoded query parameters (form_parse with FORM_KEEP_NAMELESS; *nparams set,
 * release with form_free). Used for the requests inside batch and composite requests too, so a
 * subrequest's URL is read exactly like a request line's. */
char *httpd_parse_target(const char *target, struct httpd_param *params, int max, int *nparams);

#endif
