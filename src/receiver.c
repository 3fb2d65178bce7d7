/* receiver.c: the Graph webhook (see receiver.h). A request is answered from what it carries and
 * what the store says: no remote call, no lock held across ops. Rejections are counted and
 * summarised in at most one log line a second, so a flood of forged posts cannot fill the disk. */
#include "receiver.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "normalize.h"
#include "xmalloc.h"

#define DEFAULT_CONNECTIONS	64
/* A RECEIVER_MAX_TOKEN token percent-encoded is up to 3 KiB; the rest is path and slack. */
#define MAX_URI			8192
/* Graph retries with a 10 s timeout; a client slower than that is not Graph. And Graph's POSTs
 * are small and Graph wants the answer within seconds: a request still arriving 10 s after its
 * first byte is a client trickling bytes to hold the connection. Both are
 * receiver_config.timeout_sec when set. */
#define DEFAULT_TIMEOUT_SEC	10
/* Subscription ids are GUIDs; anything much longer is not one and never reaches the store. */
#define MAX_SUB_ID		256
#define LOG_INTERVAL_NS		1000000000LL

#define TEXT_PLAIN		"text/plain; charset=utf-8"

struct receiver {
	struct httpd		*srv;
	struct receiver_ops	 ops;
	pthread_mutex_t		 lock;		/* guards what follows */
	struct receiver_stats	 st;
	struct receiver_stats	 unlogged;	/* since the last summary line (its rejections) */
	long long		 logged_at;	/* CLOCK_MONOTONIC ns of that line, 0: never */
	char			 last_peer[64];	/* of the latest unlogged rejection */
};

/* A subscription seen in the POST being answered: looked up once, each event marked once. */
struct seen {
	const char		*id;		/* borrowed from the request's items */
	int			 unknown;
	unsigned		 marked;	/* 1 << event, for each event marked */
	struct receiver_sub	 sub;
};

struct batch {
	struct receiver		*r;
	struct seen		*seen;
	size_t			 nseen, cap;
	int			 marked;	/* anything: the worker needs waking */
	struct receiver_stats	 delta;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
rejections(const struct receiver_stats *s)
{
	return s->bad_tokens + s->bad_requests + s->unknown + s->forged + s->malformed +
	    s->store_errors;
}

/* Counts only, never a token, a clientState or a body. */
static void
log_rejections(const struct receiver_stats *s, const char *peer)
{
	log_warnx("receiver rejected bad_tokens=%lld bad_requests=%lld unknown=%lld forged=%lld "
	    "malformed=%lld store_errors=%lld last_peer=%s", s->bad_tokens, s->bad_requests,
	    s->unknown, s->forged, s->malformed, s->store_errors, peer);
}

static void
stats_add(struct receiver_stats *to, const struct receiver_stats *d)
{
	to->validations += d->validations;
	to->bad_tokens += d->bad_tokens;
	to->posts += d->posts;
	to->notifications += d->notifications;
	to->accepted += d->accepted;
	to->unknown += d->unknown;
	to->forged += d->forged;
	to->malformed += d->malformed;
	to->bad_requests += d->bad_requests;
	to->store_errors += d->store_errors;
}

/* Adds d to the counters; logs the rejections not yet logged when the last line is a second old
 * (the ones in between wait for the next line, or receiver_stop). */
static void
account(struct receiver *r, const struct receiver_stats *d, const char *peer)
{
	struct receiver_stats line;
	char linepeer[sizeof(r->last_peer)];
	long long now;
	int emit = 0;

	pthread_mutex_lock(&r->lock);
	stats_add(&r->st, d);
	if (rejections(d) > 0) {
		stats_add(&r->unlogged, d);
		snprintf(r->last_peer, sizeof(r->last_peer), "%s", peer ? peer : "?");
		now = now_ns();
		if (r->logged_at == 0 || now - r->logged_at >= LOG_INTERVAL_NS) {
			line = r->unlogged;
			memcpy(linepeer, r->last_peer, sizeof(linepeer));
			memset(&r->unlogged, 0, sizeof(r->unlogged));
			r->logged_at = now;
			emit = 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	/* Written outside the lock: a slow stderr must not hold up the other requests. */
	if (emit)
		log_rejections(&line, linepeer);
}

int
receiver_token_ok(const char *token, size_t len)
{
	size_t i = 0;

	if (token == NULL || len == 0 || len > RECEIVER_MAX_TOKEN)
		return 0;
	while (i < len) {
		/* The decoder reads up to four bytes: give it a copy that ends where the token does. */
		char seq[5] = { 0 };
		size_t left = len - i < 4 ? len - i : 4;
		uint32_t cp;
		int n;

		memcpy(seq, token + i, left);
		n = normalize_utf8_next(seq, &cp);
		/* n == 0 is an embedded NUL. C1 controls are refused with C0 and DEL. */
		if (n <= 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return 0;
		i += (size_t)n;
	}
	return 1;
}

/* Every text answer: never sniffed, never rendered, never cached, whatever the text is. */
static void
respond_text(struct httpd_response *resp, int status, const char *text)
{
	httpd_respond_text(resp, status, TEXT_PLAIN, text);
	httpd_response_header(resp, "X-Content-Type-Options", "nosniff");
	httpd_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
	httpd_response_header(resp, "Cache-Control", "no-store");
}

/* The n raw bytes at s form-decoded, or NULL when they hold "%00": the decoded string would end
 * early at that NUL and compare as something shorter. (No other input decodes to a NUL: a '%'
 * is never a hex digit, so every "%00" is decoded as an escape.) Caller frees. */
static char *
decode_whole(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == '%' && s[i + 1] == '0' && s[i + 2] == '0')
			return NULL;
	return httpd_decode(s, n, 1);
}

/* Finds the first validationToken parameter in the raw target. 0: none; 1: *token set to its
 * decoded value (caller frees) or to NULL when it cannot be decoded faithfully. The layer's
 * decoded query loses the length, so the raw one is read here. */
static int
find_token(const char *raw_uri, char **token)
{
	const char *p = strchr(raw_uri, '?');

	*token = NULL;
	while (p != NULL) {
		const char *end, *eq;
		char *name;
		int match;

		p++;
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		name = decode_whole(p, (size_t)((eq ? eq : end) - p));
		match = name != NULL && strcmp(name, "validationToken") == 0;
		free(name);
		if (match) {
			if (eq == NULL)
				*token = xstrdup("");
			else
				*token = decode_whole(eq + 1, (size_t)(end - eq - 1));
			return 1;
		}
		p = *end == '&' ? end : NULL;
	}
	return 0;
}

static void
handshake(struct receiver *r, const struct httpd_request *req, char *token,
    struct httpd_response *resp)
{
	struct receiver_stats d;

	memset(&d, 0, sizeof(d));
	if (token != NULL && receiver_token_ok(token, strlen(token))) {
		respond_text(resp, 200, token);
		d.validations = 1;
	} else {
		respond_text(resp, 400, "invalid validationToken\n");
		d.bad_tokens = 1;
	}
	account(r, &d, req->peer);
}

static int
parse_event(const json_t *item, enum receiver_event *ev)
{
	const json_t *le = json_object_get(item, "lifecycleEvent");
	const char *s;

	/* changeType and lifecycleEvent are exclusive; a serializer may write the absent one as
	 * null. */
	if (le == NULL || json_is_null(le)) {
		*ev = RECEIVER_CHANGE;
		return 0;
	}
	if ((s = json_string_value(le)) == NULL)
		return -1;
	if (strcmp(s, "reauthorizationRequired") == 0)
		*ev = RECEIVER_REAUTHORIZE;
	else if (strcmp(s, "subscriptionRemoved") == 0)
		*ev = RECEIVER_REMOVED;
	else if (strcmp(s, "missed") == 0)
		*ev = RECEIVER_MISSED;
	else
		return -1;
	return 0;
}

/* The subscription id as b has seen it, looked up in the store the first time. NULL when the
 * store failed. */
static struct seen *
seen_get(struct batch *b, const char *id)
{
	struct seen *s;
	int rc;

	for (size_t i = 0; i < b->nseen; i++)
		if (strcmp(b->seen[i].id, id) == 0)
			return &b->seen[i];
	if (b->nseen == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->seen = xrealloc(b->seen, b->cap * sizeof(*b->seen));
	}
	s = &b->seen[b->nseen];
	memset(s, 0, sizeof(*s));
	rc = b->r->ops.lookup(b->r->ops.arg, id, &s->sub);
	if (rc == -1)
		return NULL;
	/* Whatever the store wrote, the strings end inside their buffers. */
	s->sub.mailbox[sizeof(s->sub.mailbox) - 1] = '\0';
	s->sub.kind[sizeof(s->sub.kind) - 1] = '\0';
	s->sub.client_state[sizeof(s->sub.client_state) - 1] = '\0';
	s->id = id;
	s->unknown = rc != 0;
	b->nseen++;
	return s;
}

/* One notification of a POST: counted in b->delta, marked when genuine. -1 when the store
 * failed (the POST is then answered 503). */
static int
notification(struct batch *b, const struct receiver_item *it)
{
	struct seen *s;

	if (it->malformed) {
		b->delta.malformed++;
		return 0;
	}
	if ((s = seen_get(b, it->id)) == NULL)
		return -1;
	if (s->unknown) {
		b->delta.unknown++;
		return 0;
	}
	/* A subscription stored without a secret cannot vouch for anything. */
	if (it->client_state == NULL || s->sub.client_state[0] == '\0' ||
	    !crypto_streq(it->client_state, s->sub.client_state)) {
		b->delta.forged++;
		return 0;
	}
	if ((s->marked & (1u << it->ev)) == 0) {
		if (b->r->ops.mark(b->r->ops.arg, it->id, &s->sub, it->ev) == -1)
			return -1;
		s->marked |= 1u << it->ev;
		b->marked = 1;
	}
	b->delta.accepted++;
	return 0;
}

int
receiver_parse(const char *body, size_t len, struct receiver_item **items, size_t *n)
{
	json_t *root, *value, *item;
	size_t i;

	*items = NULL;
	*n = 0;
	root = json_loadb(body, len, 0, NULL);
	value = json_object_get(root, "value");
	if (!json_is_object(root) || !json_is_array(value) ||
	    json_array_size(value) > RECEIVER_MAX_ITEMS) {
		json_decref(root);
		return -1;
	}
	if (json_array_size(value) > 0)
		*items = xcalloc(json_array_size(value), sizeof(**items));
	json_array_foreach(value, i, item) {
		struct receiver_item *it = &(*items)[i];
		const char *id = json_string_value(json_object_get(item, "subscriptionId"));
		const char *cs = json_string_value(json_object_get(item, "clientState"));

		if (id == NULL || id[0] == '\0' || strlen(id) > MAX_SUB_ID ||
		    parse_event(item, &it->ev) < 0) {
			it->malformed = 1;
			continue;
		}
		it->id = xstrdup(id);
		it->client_state = cs != NULL ? xstrdup(cs) : NULL;
	}
	*n = json_array_size(value);
	json_decref(root);
	return 0;
}

void
receiver_items_free(struct receiver_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].id);
		free(items[i].client_state);
	}
	free(items);
}

/* A notification POST. Unknown, forged and genuine items get the same 202, so a prober learns
 * nothing; only a broken body (400) or the store (503) changes the answer. */
static void
notifications(struct receiver *r, const struct httpd_request *req, struct httpd_response *resp)
{
	struct batch b;
	struct receiver_item *items;
	size_t n;
	int failed = 0;

	memset(&b, 0, sizeof(b));
	b.r = r;
	if (receiver_parse(req->body, req->body_len, &items, &n) == -1) {
		respond_text(resp, 400, "not a notification collection\n");
		b.delta.bad_requests = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (notification(&b, &items[i]) == -1) {
			failed = 1;
			break;
		}
	}
	/* Marks made before a store failure are durable: the worker may as well read them. */
	if (b.marked && r->ops.wake != NULL)
		r->ops.wake(r->ops.arg);
	if (failed) {
		/* Graph sends the whole POST again; its items are counted when it is answered. */
		memset(&b.delta, 0, sizeof(b.delta));
		b.delta.store_errors = 1;
		respond_text(resp, 503, "store unavailable, retry later\n");
	} else {
		b.delta.posts = 1;
		b.delta.notifications = (long long)n;
		metrics_notified(b.delta.accepted);
		httpd_respond_empty(resp, 202);
	}
	receiver_items_free(items, n);
out:
	account(r, &b.delta, req->peer);
	free(b.seen);
}

/* The path of the raw target, exactly: the decoded one would let "/graph/notify%00x" pass. */
static int
path_is(const char *raw_uri, const char *path)
{
	size_t n = strlen(path);

	return strncmp(raw_uri, path, n) == 0 && (raw_uri[n] == '\0' || raw_uri[n] == '?');
}

static void
handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct receiver *r = arg;
	char *token;

	if (path_is(req->raw_uri, RECEIVER_PATH_HEALTH)) {
		if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
			respond_text(resp, 200, "ok\n");
		} else {
			respond_text(resp, 405, "method not allowed\n");
			httpd_response_header(resp, "Allow", "GET, HEAD");
		}
		return;
	}
	if (!path_is(req->raw_uri, RECEIVER_PATH_NOTIFY) &&
	    !path_is(req->raw_uri, RECEIVER_PATH_LIFECYCLE)) {
		respond_text(resp, 404, "not found\n");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		respond_text(resp, 405, "method not allowed\n");
		httpd_response_header(resp, "Allow", "POST");
		return;
	}
	if (find_token(req->raw_uri, &token)) {
		handshake(r, req, token, resp);
		free(token);
		return;
	}
	notifications(r, req, resp);
}

struct receiver *
receiver_start(const struct receiver_config *cfg, const struct receiver_ops *ops, char *err,
    size_t errlen)
{
	struct receiver *r;
	struct httpd_config hc;

	if (ops == NULL || ops->lookup == NULL || ops->mark == NULL) {
		snprintf(err, errlen, "receiver: lookup and mark are required");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->ops = *ops;
	pthread_mutex_init(&r->lock, NULL);
	memset(&hc, 0, sizeof(hc));
	hc.listen = cfg->listen;
	hc.max_body = RECEIVER_MAX_BODY;
	hc.max_uri = MAX_URI;
	hc.timeout_sec = cfg->timeout_sec ? cfg->timeout_sec : DEFAULT_TIMEOUT_SEC;
	hc.request_deadline_sec = hc.timeout_sec;
	hc.max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_CONNECTIONS;
	/* One address that opens connections and holds them idle would otherwise take every
	 * slot for the idle timeout at a time, and Graph's POSTs would be refused meanwhile. Behind
	 * a proxy all requests come from its address: it answers in milliseconds, so half the
	 * slots are plenty. */
	hc.max_per_ip = hc.max_connections > 1 ? hc.max_connections / 2 : 1;
	hc.tls_cert_pem = cfg->tls_cert_pem;
	hc.tls_key_pem = cfg->tls_key_pem;
	if ((r->srv = httpd_start(&hc, handle, r, err, errlen)) == NULL) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

int
receiver_port(const struct receiver *r)
{
	return httpd_port(r->srv);
}

void
receiver_stats(struct receiver *r, struct receiver_stats *out)
{
	struct httpd_stats hs;

	httpd_stats(r->srv, &hs);
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	pthread_mutex_unlock(&r->lock);
	out->deadline_cuts = (long long)hs.deadline_cuts;
}

void
receiver_stop(struct receiver *r)
{
	if (r == NULL)
		return;
	httpd_stop(r->srv);
	if (rejections(&r->unlogged) > 0)
		log_rejections(&r->unlogged, r->last_peer);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
