/* hook_server.c: the scriptable webhook receiver of integration tests (see hook_server.h).
 * Scripts and records live under one mutex; the answer's delay is slept without it, so a
 * slow answer to one request does not hold up the others or the test. */
#include "hook_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpd.h"
#include "mono.h"
#include "xmalloc.h"

#define MAX_SCRIPTS	64
#define MAX_RECORDS	4096	/* later requests are answered but not recorded */

struct script {
	char prefix[256];
	struct hook_behavior b;
	int left;
};

struct hook_server {
	struct httpd *srv;
	char url[64];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct script scripts[MAX_SCRIPTS];
	int nscripts;
	struct hook_record *records;
	int nrecords;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* validationToken exactly as it was in the URL: what the receiver must decode. */
static char *
raw_param(const char *raw_uri, const char *name)
{
	const char *q = strchr(raw_uri, '?');
	size_t n = strlen(name);

	while (q != NULL) {
		const char *end;

		q++;
		end = q + strcspn(q, "&#");
		if (strncmp(q, name, n) == 0 && q[n] == '=')
			return xstrndup(q + n + 1, (size_t)(end - q - n - 1));
		q = *end == '&' ? end : NULL;
	}
	return NULL;
}

static void
handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct hook_server *hs = arg;
	struct hook_behavior b;
	const char *token = httpd_query(req, "validationToken"), *q, *ct;
	char *raw = raw_param(req->raw_uri, "validationToken");

	memset(&b, 0, sizeof(b));
	pthread_mutex_lock(&hs->lock);
	for (int i = 0; i < hs->nscripts; i++) {
		if (hs->scripts[i].left > 0 && has_prefix(req->path, hs->scripts[i].prefix)) {
			b = hs->scripts[i].b;
			hs->scripts[i].left--;
			break;
		}
	}
	/* The answer is decided now and sent when the handler returns, after the delay: the
	 * record can say what will be answered as soon as the request is seen. */
	if (b.drop) {
		resp->drop = 1;
	} else if (b.status != 0) {
		httpd_respond_text(resp, b.status, "text/plain", "scripted\n");
	} else if (token != NULL) {
		const char *echo = b.echo == HOOK_ECHO_RAW ? (raw ? raw : "") :
		    b.echo == HOOK_ECHO_WRONG ? "not the token" : token;

		httpd_respond_text(resp, 200, "text/plain", echo);
	} else {
		httpd_respond_empty(resp, 202);
	}
	if (hs->nrecords < MAX_RECORDS) {
		struct hook_record *r = &hs->records[hs->nrecords++];

		memset(r, 0, sizeof(*r));
		snprintf(r->method, sizeof(r->method), "%s", req->method);
		r->path = xstrdup(req->path);
		q = strchr(req->raw_uri, '?');
		r->raw_query = xstrdup(q ? q + 1 : "");
		r->token = token ? xstrdup(token) : NULL;
		r->raw_token = raw ? xstrdup(raw) : NULL;
		ct = httpd_header(req, "Content-Type");
		r->content_type = ct ? xstrdup(ct) : NULL;
		r->body = xstrndup(req->body, req->body_len);
		r->at = mono_sec();
		r->answered = b.drop ? 0 : resp->status;
	}
	pthread_cond_broadcast(&hs->changed);
	pthread_mutex_unlock(&hs->lock);
	free(raw);
	if (b.delay_ms > 0)
		sleep_ms(b.delay_ms);
}

struct hook_server *
hook_server_start(void)
{
	struct hook_server *hs = xcalloc(1, sizeof(*hs));
	struct httpd_config cfg;
	char err[256];

	pthread_mutex_init(&hs->lock, NULL);
	pthread_cond_init(&hs->changed, NULL);
	hs->records = xcalloc(MAX_RECORDS, sizeof(*hs->records));
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "127.0.0.1:0";
	cfg.max_body = 4u << 20;
	cfg.max_uri = 16384;
	cfg.timeout_sec = 60;
	cfg.max_connections = 256;
	hs->srv = httpd_start(&cfg, handle, hs, err, sizeof(err));
	if (hs->srv == NULL) {
		fprintf(stderr, "hook_server: %s\n", err);
		free(hs->records);
		free(hs);
		return NULL;
	}
	snprintf(hs->url, sizeof(hs->url), "http://127.0.0.1:%d", httpd_port(hs->srv));
	return hs;
}

void
hook_record_free(struct hook_record *r)
{
	free(r->path);
	free(r->raw_query);
	free(r->token);
	free(r->raw_token);
	free(r->content_type);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void
hook_server_clear(struct hook_server *hs)
{
	pthread_mutex_lock(&hs->lock);
	for (int i = 0; i < hs->nrecords; i++)
		hook_record_free(&hs->records[i]);
	hs->nrecords = 0;
	hs->nscripts = 0;
	pthread_mutex_unlock(&hs->lock);
}

void
hook_server_stop(struct hook_server *hs)
{
	if (hs == NULL)
		return;
	httpd_stop(hs->srv);
	hook_server_clear(hs);
	free(hs->records);
	pthread_cond_destroy(&hs->changed);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
}

const char *
hook_server_url(const struct hook_server *hs)
{
	return hs->url;
}

void
hook_server_script(struct hook_server *hs, const char *path_prefix,
    const struct hook_behavior *b, int n)
{
	pthread_mutex_lock(&hs->lock);
	if (hs->nscripts < MAX_SCRIPTS) {
		struct script *s = &hs->scripts[hs->nscripts++];

		snprintf(s->prefix, sizeof(s->prefix), "%s", path_prefix);
		s->b = *b;
		s->left = n;
	}
	pthread_mutex_unlock(&hs->lock);
}

static int
count_locked(struct hook_server *hs, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < hs->nrecords; i++)
		n += has_prefix(hs->records[i].path, prefix);
	return n;
}

int
hook_server_count(struct hook_server *hs, const char *path_prefix)
{
	int n;

	pthread_mutex_lock(&hs->lock);
	n = count_locked(hs, path_prefix);
	pthread_mutex_unlock(&hs->lock);
	return n;
}

int
hook_server_wait(struct hook_server *hs, const char *path_prefix, int n, long timeout_ms)
{
	struct timespec until;
	int have;

	timeout_ms = mono_scaled(timeout_ms);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hs->lock);
	while ((have = count_locked(hs, path_prefix)) < n)
		if (pthread_cond_timedwait(&hs->changed, &hs->lock, &until) != 0)
			break;
	have = count_locked(hs, path_prefix);
	pthread_mutex_unlock(&hs->lock);
	return have;
}

int
hook_server_get(struct hook_server *hs, const char *path_prefix, int i,
    struct hook_record *out)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&hs->lock);
	for (int k = 0; k < hs->nrecords; k++) {
		const struct hook_record *r = &hs->records[k];

		if (!has_prefix(r->path, path_prefix) || i-- > 0)
			continue;
		memcpy(out->method, r->method, sizeof(out->method));
		out->path = xstrdup(r->path);
		out->raw_query = xstrdup(r->raw_query);
		out->token = r->token ? xstrdup(r->token) : NULL;
		out->raw_token = r->raw_token ? xstrdup(r->raw_token) : NULL;
		out->content_type = r->content_type ? xstrdup(r->content_type) : NULL;
		out->body = xstrdup(r->body);
		out->at = r->at;
		out->answered = r->answered;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&hs->lock);
	return rc;
}
