/* receiver.h: the webhook olsync serves to Microsoft Graph (lib/httpd underneath): the
 * validation handshake, change notifications and lifecycle notifications. A notification is only
 * a hint: the receiver checks it against the subscription's secret clientState, has the affected
 * mailbox folder marked for a delta read (durably, through ops->mark) and answers 202 at once.
 * The request path never makes a remote call, so Graph's 3-second window holds whatever
 * Salesforce or Graph are doing.
 *
 * Endpoints (paths relative to the server root; a reverse proxy may add a prefix):
 *	POST RECEIVER_PATH_NOTIFY	change notifications (and lifecycle ones, if sent there)
 *	POST RECEIVER_PATH_LIFECYCLE	lifecycle notifications (and change ones, if sent there)
 *	either with ?validationToken=	the handshake: 200 text/plain, the decoded token
 *	GET  RECEIVER_PATH_HEALTH	200 "ok" (for a load balancer)
 * Anything else is 404 (405 for a known path with another method). */
#ifndef OL_RECEIVER_H
#define OL_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#define RECEIVER_PATH_NOTIFY	"/graph/notify"
#define RECEIVER_PATH_LIFECYCLE	"/graph/lifecycle"
#define RECEIVER_PATH_HEALTH	"/healthz"

#define RECEIVER_MAX_BODY	(1024 * 1024)	/* larger notification bodies get 413 */
#define RECEIVER_MAX_TOKEN	1024		/* bytes of a decoded validationToken */
#define RECEIVER_MAX_ITEMS	1000		/* notifications in one POST; more is 400 */

/* What a verified notification asks for. */
enum receiver_event {
	RECEIVER_CHANGE,		/* created/updated/deleted: read the folder's delta */
	RECEIVER_MISSED,		/* lifecycle "missed": read the folder's delta */
	RECEIVER_REMOVED,		/* lifecycle "subscriptionRemoved": recreate, then read */
	RECEIVER_REAUTHORIZE,		/* lifecycle "reauthorizationRequired": renew */
};

/* A subscription as the receiver needs it; ops->lookup fills the buffers. */
struct receiver_sub {
	char	mailbox[1024];
	char	kind[32];		/* "inbox", "sentitems", "events" */
	char	client_state[256];
};

/* The daemon's side: the durable store and the wake-up. Called from the server's threads,
 * possibly at the same time: the implementation serializes what needs it. */
struct receiver_ops {
	/* 0 and *out filled when id is a subscription olsync holds; 1 when it is unknown;
	 * -1 when the store failed. */
	int	(*lookup)(void *arg, const char *id, struct receiver_sub *out);
	/* Records durably what ev asks for on subscription id (sub is what lookup gave); 0, or
	 * -1 when the store failed (the POST is then answered 503 so Graph sends it again). */
	int	(*mark)(void *arg, const char *id, const struct receiver_sub *sub,
		    enum receiver_event ev);
	/* Called once per POST that marked anything, after the marks: wake the worker. */
	void	(*wake)(void *arg);
	void	*arg;
};

struct receiver_config {
	const char	*listen;	/* "127.0.0.1:8443"; port 0 picks a free one */
	const char	*tls_cert_pem;	/* serve HTTPS with this certificate (PEM text), or NULL */
	const char	*tls_key_pem;
	unsigned	 max_connections;	/* 0: a default (64) */
	/* A connection idle this long is closed, and a request still arriving this long after
	 * its first byte is cut; 0: a default (10 s, Graph's own timeout). */
	unsigned	 timeout_sec;
};

/* Counters since start (for logs, tests and metrics); read with receiver_stats. */
struct receiver_stats {
	long long	validations;	/* handshakes answered 200 */
	long long	bad_tokens;	/* handshakes refused (too long, binary, empty) */
	long long	posts;		/* notification POSTs answered 202 */
	long long	notifications;	/* items in them */
	long long	accepted;	/* items verified and marked */
	long long	unknown;	/* items for a subscription olsync does not hold */
	long long	forged;		/* items whose clientState did not match */
	long long	malformed;	/* items without subscriptionId or with an unknown event */
	long long	bad_requests;	/* POSTs answered 400 (not JSON, no value array, ...) */
	long long	store_errors;	/* POSTs answered 503 because lookup or mark failed */
	long long	deadline_cuts;	/* connections closed with a request still arriving 10 s
					 * after its first byte (httpd's request deadline) */
};

struct receiver;

/* Starts serving. NULL with a message in err (address in use, bad certificate, ...). ops is
 * copied. */
struct receiver *receiver_start(const struct receiver_config *cfg, const struct receiver_ops *ops,
    char *err, size_t errlen);
int receiver_port(const struct receiver *r);
void receiver_stats(struct receiver *r, struct receiver_stats *out);
/* Stops serving (waits for requests in flight) and frees r; NULL is fine. */
void receiver_stop(struct receiver *r);

/* One item of a notification POST as its body says, before the store vouches for it. */
struct receiver_item {
	char			*id;		/* subscriptionId; NULL when malformed */
	char			*client_state;	/* NULL when absent or not a string */
	enum receiver_event	 ev;
	int			 malformed;	/* no usable subscriptionId, or an unknown event */
};

/* Parses a notification POST body (len bytes, not NUL-terminated) into its items, in order: the
 * pure half of the handler, so it can be tested and fuzzed without a server. 0 with *items an
 * array of *n (caller frees with receiver_items_free; NULL when *n is 0); -1 when the body is not
 * a notification collection (not JSON, no "value" array, more than RECEIVER_MAX_ITEMS items),
 * which the handler answers 400, with *items NULL and *n 0. */
int receiver_parse(const char *body, size_t len, struct receiver_item **items, size_t *n);
void receiver_items_free(struct receiver_item *items, size_t n);

/* 1 when the decoded validation token may be echoed: 1..RECEIVER_MAX_TOKEN bytes of valid UTF-8
 * without control characters. */
int receiver_token_ok(const char *token, size_t len);

#endif
