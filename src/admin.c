/* admin.c: the admin endpoint (see admin.h). Each request reads the ledger through the admin's
 * handle under its lock (requests take turns; the worker does not wait for them) and answers
 * from what it read: nothing is cached, so what is shown is what the ledger says now. */
#include "admin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "budget.h"
#include "crypto.h"
#include "err.h"
#include "httpd.h"
#include "ledger.h"
#include "log.h"
#include "normalize.h"
#include "xmalloc.h"

#define MAX_BODY	(64 * 1024)
#define MAX_URI		4096
#define TIMEOUT_SEC	10
#define CONNECTIONS	32

#define TEXT_PLAIN	"text/plain; charset=utf-8"
#define PROM_TEXT	"text/plain; version=0.0.4; charset=utf-8"
/* The dashboard's own files, and nothing inline: a value the page shows can never run. */
#define PAGE_CSP	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"
#define DATA_CSP	"default-src 'none'; sandbox"

struct admin {
	const struct config	*cfg;
	struct admin_ops	 ops;
	struct httpd		*srv;
	pthread_mutex_t		 lock;		/* guards l */
	struct ledger		*l;
	int64_t			 started;
};

static const char *const meeting_states[LEDGER_MEETING_STATES] = {
	"pending", "done", "failed", "dead"
};

static const char *const folders[] = { "inbox", "sentitems", "calendar" };

static void
secure_headers(struct httpd_response *resp, const char *csp)
{
	httpd_response_header(resp, "X-Content-Type-Options", "nosniff");
	httpd_response_header(resp, "Content-Security-Policy", csp);
	httpd_response_header(resp, "Cache-Control", "no-store");
	httpd_response_header(resp, "Referrer-Policy", "no-referrer");
}

static void
text(struct httpd_response *resp, int status, const char *body)
{
	httpd_respond_text(resp, status, TEXT_PLAIN, body);
	secure_headers(resp, DATA_CSP);
}

/* j (stolen) may be NULL: a json_pack that met a string jansson refuses (not UTF-8). */
static void
json(struct httpd_response *resp, int status, json_t *j)
{
	if (j == NULL) {
		text(resp, 500, "answer not representable as JSON\n");
		return;
	}
	httpd_respond_json(resp, status, j);
	secure_headers(resp, DATA_CSP);
}

static void
json_error(struct httpd_response *resp, int status, const char *msg)
{
	json(resp, status, json_pack("{s:s}", "error", msg));
}

/* 1 when the request may go on. The token is compared in constant time and never logged. */
static int
authorized(const struct admin *a, const struct httpd_request *req)
{
	const char *h;

	if (a->cfg->admin_token == NULL)
		return 1;
	h = httpd_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return crypto_streq(h, a->cfg->admin_token);
}

/* What the summary and /metrics both say, read in one go. */
struct counts {
	struct ledger_stats	st;
	long long		meetings[LEDGER_MEETING_STATES];
	struct budget_report	br;
	size_t			marked;		/* folders marked, not read yet */
	int64_t			now;
	long long		queue;		/* pending and failed */
	long long		oldest_age;	/* s; 0: none waiting */
};

/* Under a->lock. -1 with the ledger's error. */
static int
read_counts(struct admin *a, struct counts *c)
{
	struct ledger_dirty *dl = NULL;

	memset(c, 0, sizeof(*c));
	c->now = (int64_t)time(NULL);
	if (ledger_stats(a->l, &c->st) == -1 || ledger_meeting_counts(a->l, c->meetings) == -1 ||
	    budget_report(a->l, a->cfg, c->now, &c->br) == -1 ||
	    ledger_dirty_list(a->l, &dl, &c->marked) == -1)
		return -1;
	ledger_dirty_free(dl, c->marked);
	c->queue = c->st.messages[LEDGER_PENDING] + c->st.messages[LEDGER_FAILED];
	if (c->st.oldest_open > 0 && c->now > c->st.oldest_open)
		c->oldest_age = (long long)(c->now - c->st.oldest_open);
	return 0;
}

static long long
budget_left(const struct budget_report *br)
{
	if (br->limit < 0)
		return -1;
	return br->limit > br->ours ? br->limit - br->ours : 0;
}

static void
gauge(FILE *fp, const char *name, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* Under a->lock: the subscriptions' series. */
static int
write_subs(struct admin *a, FILE *fp, int64_t now)
{
	struct ledger_sub *s = NULL;
	size_t n = 0;
	int64_t first = 0;

	if (ledger_sub_list(a->l, &s, &n) == -1)
		return -1;
	gauge(fp, "olsync_subscriptions", "Graph subscriptions olsync holds.");
	fprintf(fp, "olsync_subscriptions %zu\n", n);
	gauge(fp, "olsync_subscription_expiry_seconds",
	    "Seconds until each subscription expires (negative: expired).");
	for (size_t i = 0; i < n; i++) {
		fputs("olsync_subscription_expiry_seconds{mailbox=\"", fp);
		metrics_label(fp, s[i].mailbox);
		fputs("\",kind=\"", fp);
		metrics_label(fp, s[i].kind);
		fprintf(fp, "\"} %lld\n", (long long)(s[i].expires_at - now));
		if (first == 0 || s[i].expires_at < first)
			first = s[i].expires_at;
	}
	if (n > 0) {
		gauge(fp, "olsync_subscription_next_expiry_seconds",
		    "Seconds until the earliest subscription expiry.");
		fprintf(fp, "olsync_subscription_next_expiry_seconds %lld\n",
		    (long long)(first - now));
	}
	ledger_subs_free(s, n);
	return 0;
}

static void
get_metrics(struct admin *a, struct httpd_response *resp)
{
	struct counts c;
	const struct budget_report *br = &c.br;
	int64_t at;
	size_t len = 0;
	char *buf = NULL, perr[8];
	FILE *fp = open_memstream(&buf, &len);
	int rc, ok;

	if (fp == NULL)
		fatal("admin: open_memstream");
	pthread_mutex_lock(&a->lock);
	rc = read_counts(a, &c);
	if (rc == 0) {
		gauge(fp, "olsync_emails", "Emails in the ledger, by state.");
		for (int i = 0; i < LEDGER_STATE_COUNT; i++)
			fprintf(fp, "olsync_emails{state=\"%s\"} %lld\n",
			    ledger_state_name((enum ledger_state)i), c.st.messages[i]);
		gauge(fp, "olsync_meetings", "Meetings in the ledger, by state.");
		for (int i = 0; i < LEDGER_MEETING_STATES; i++)
			fprintf(fp, "olsync_meetings{state=\"%s\"} %lld\n", meeting_states[i],
			    c.meetings[i]);
		gauge(fp, "olsync_queue_depth",
		    "Emails waiting to be written: pending, and failed waiting for a retry.");
		fprintf(fp, "olsync_queue_depth %lld\n", c.queue);
		gauge(fp, "olsync_oldest_pending_age_seconds",
		    "Age of the oldest email waiting to be written (0: none).");
		fprintf(fp, "olsync_oldest_pending_age_seconds %lld\n", c.oldest_age);
		gauge(fp, "olsync_marked_folders", "Folders marked for a read, not read yet.");
		fprintf(fp, "olsync_marked_folders %zu\n", c.marked);
		gauge(fp, "olsync_sf_budget_used",
		    "Salesforce API calls olsync counted in the last 24 hours (budget.c).");
		fprintf(fp, "olsync_sf_budget_used %lld\n", br->ours);
		if (br->limit >= 0) {
			gauge(fp, "olsync_sf_budget_limit",
			    "olsync's share of the org's daily API allowance.");
			fprintf(fp, "olsync_sf_budget_limit %lld\n", br->limit);
			gauge(fp, "olsync_sf_budget_left", "Calls left in olsync's share.");
			fprintf(fp, "olsync_sf_budget_left %lld\n", budget_left(br));
		}
		if (br->org_max > 0) {
			gauge(fp, "olsync_sf_org_api_used",
			    "The org's API usage in the last Sforce-Limit-Info seen.");
			fprintf(fp, "olsync_sf_org_api_used %ld\n", br->org_used);
			gauge(fp, "olsync_sf_org_api_max", "The org's daily API allowance.");
			fprintf(fp, "olsync_sf_org_api_max %ld\n", br->org_max);
		}
		gauge(fp, "olsync_sf_budget_state", "1 for the budget's state now.");
		for (int s = BUDGET_GO; s <= BUDGET_EXHAUSTED; s++)
			fprintf(fp, "olsync_sf_budget_state{state=\"%s\"} %d\n",
			    budget_state_name((enum budget_state)s), (int)br->state == s);
		rc = write_subs(a, fp, c.now);
	}
	if (rc == -1)
		log_warnx("admin ledger_failed error=\"%s\"", ledger_error(a->l));
	pthread_mutex_unlock(&a->lock);
	metrics_last_pass(&at, &ok, perr, sizeof(perr));
	gauge(fp, "olsync_last_pass_timestamp_seconds", "When the last pass ended (0: none yet).");
	fprintf(fp, "olsync_last_pass_timestamp_seconds %lld\n", (long long)at);
	gauge(fp, "olsync_last_pass_ok", "1 when the last pass could go on, 0 when it failed.");
	fprintf(fp, "olsync_last_pass_ok %d\n", at == 0 || ok);
	gauge(fp, "olsync_start_time_seconds", "When this endpoint started (Unix seconds).");
	fprintf(fp, "olsync_start_time_seconds %lld\n", (long long)a->started);
	metrics_write(fp);
	fclose(fp);
	if (rc == -1) {
		free(buf);
		text(resp, 503, "ledger unavailable\n");
		return;
	}
	httpd_respond_text(resp, 200, PROM_TEXT, buf);
	secure_headers(resp, DATA_CSP);
	free(buf);
}

/* Why olsync is not ready, or NULL. The ledger is opened anew: "it opens" is the question. */
static char *
not_ready(struct admin *a)
{
	struct ledger *l = NULL;
	struct ledger_stats st;
	struct ledger_sub *s = NULL;
	size_t n = 0;
	int64_t at;
	int ok;
	char err[512], *why = NULL;

	if (ledger_connect(a->cfg->database, a->cfg->database_password, &l, err, sizeof(err)) == -1)
		return xasprintf("ledger: %s", err);
	if (ledger_stats(l, &st) == -1) {
		why = xasprintf("ledger: %s", ledger_error(l));
		goto out;
	}
	metrics_last_pass(&at, &ok, err, sizeof(err));
	if (at != 0 && !ok) {
		why = xasprintf("last pass failed: %s", err);
		goto out;
	}
	if (a->cfg->listen != NULL) {
		if (ledger_sub_list(l, &s, &n) == -1)
			why = xasprintf("ledger: %s", ledger_error(l));
		else if (n == 0)
			why = xstrdup("no Graph subscription yet");
		ledger_subs_free(s, n);
	}
out:
	ledger_close(l);
	return why;
}

static void
get_readyz(struct admin *a, struct httpd_response *resp)
{
	char *why = not_ready(a), *body;

	if (why == NULL) {
		text(resp, 200, "ready\n");
		return;
	}
	body = xasprintf("not ready: %s\n", why);
	text(resp, 503, body);
	free(body);
	free(why);
}

static json_t *
budget_json(const struct budget_report *br)
{
	json_t *o = json_pack("{s:I,s:s}", "used", (json_int_t)br->ours, "state",
	    budget_state_name(br->state));

	if (br->limit >= 0) {
		json_object_set_new(o, "limit", json_integer(br->limit));
		json_object_set_new(o, "left", json_integer(budget_left(br)));
	}
	if (br->org_max > 0) {
		json_object_set_new(o, "org_used", json_integer(br->org_used));
		json_object_set_new(o, "org_max", json_integer(br->org_max));
	}
	return o;
}

static void
get_summary(struct admin *a, struct httpd_response *resp)
{
	struct counts c;
	int64_t at;
	json_t *o, *emails, *mt;
	char inst[512], perr[512], *why;
	int ok;

	pthread_mutex_lock(&a->lock);
	if (read_counts(a, &c) == -1) {
		log_warnx("admin ledger_failed error=\"%s\"", ledger_error(a->l));
		pthread_mutex_unlock(&a->lock);
		json_error(resp, 503, "ledger unavailable");
		return;
	}
	pthread_mutex_unlock(&a->lock);
	emails = json_object();
	for (int i = 0; i < LEDGER_STATE_COUNT; i++)
		json_object_set_new(emails, ledger_state_name((enum ledger_state)i),
		    json_integer(c.st.messages[i]));
	mt = json_object();
	for (int i = 0; i < LEDGER_MEETING_STATES; i++)
		json_object_set_new(mt, meeting_states[i], json_integer(c.meetings[i]));
	metrics_instance(inst, sizeof(inst));
	metrics_last_pass(&at, &ok, perr, sizeof(perr));
	why = not_ready(a);
	o = json_pack("{s:o,s:o,s:I,s:I,s:I,s:o,s:s,s:b,s:I,s:I,s:I,s:I}",
	    "emails", emails, "meetings", mt,
	    "queue", (json_int_t)c.queue, "oldest_pending_age", (json_int_t)c.oldest_age,
	    "marked_folders", (json_int_t)c.marked, "budget", budget_json(&c.br),
	    "instance_url", inst, "realtime", a->cfg->listen != NULL,
	    "sf_api_calls", (json_int_t)metrics_calls(METRICS_SALESFORCE),
	    "graph_api_calls", (json_int_t)metrics_calls(METRICS_GRAPH),
	    "started", (json_int_t)a->started, "now", (json_int_t)c.now);
	if (o == NULL) {
		free(why);
		json(resp, 500, NULL);
		return;
	}
	json_object_set_new(o, "last_pass", at == 0 ? json_null() :
	    json_pack("{s:I,s:b,s:s}", "at", (json_int_t)at, "ok", ok, "error", perr));
	json_object_set_new(o, "ready", json_boolean(why == NULL));
	if (why != NULL)
		json_object_set_new(o, "not_ready", json_string(why));
	free(why);
	json(resp, 200, o);
}

/* The entry of mailbox in the array mbs (added when missing). */
static json_t *
mailbox_entry(json_t *mbs, json_t *index, const char *mailbox)
{
	json_t *o = json_object_get(index, mailbox);

	if (o == NULL && json_array_size(mbs) < ADMIN_MAILBOXES_MAX) {
		o = json_pack("{s:s,s:[],s:{}}", "mailbox", mailbox, "subscriptions", "folders");
		json_array_append_new(mbs, o);
		json_object_set(index, mailbox, o);
	}
	return o;
}

static void
get_mailboxes(struct admin *a, struct httpd_response *resp)
{
	json_t *list = metrics_mailbox_list(), *mbs = json_array(), *index = json_object(), *v, *o;
	struct ledger_sub *s = NULL;
	struct ledger_dirty *dl = NULL;
	size_t n = 0, nd = 0, i;
	int rc = 0;

	json_array_foreach(list, i, v)
		if (json_is_string(v))
			mailbox_entry(mbs, index, json_string_value(v));
	pthread_mutex_lock(&a->lock);
	if (ledger_sub_list(a->l, &s, &n) == -1 || ledger_dirty_list(a->l, &dl, &nd) == -1) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((o = mailbox_entry(mbs, index, s[i].mailbox)) == NULL)
			continue;
		json_array_append_new(json_object_get(o, "subscriptions"), json_pack(
		    "{s:s,s:I,s:I,s:s?}", "kind", s[i].kind, "expires_at",
		    (json_int_t)s[i].expires_at, "renewed_at", (json_int_t)s[i].renewed_at,
		    "action", s[i].action));
	}
	json_array_foreach(mbs, i, o) {
		const char *mb = json_string_value(json_object_get(o, "mailbox"));
		int64_t last = 0;

		for (size_t f = 0; f < sizeof(folders) / sizeof(folders[0]); f++) {
			struct ledger_delta d;
			int r;

			memset(&d, 0, sizeof(d));
			if ((r = ledger_delta_get(a->l, mb, folders[f], &d)) == -1) {
				rc = -1;
				goto out;
			}
			if (r == 0) {
				json_object_set_new(json_object_get(o, "folders"), folders[f],
				    json_integer(d.updated_at));
				if (d.updated_at > last)
					last = d.updated_at;
			}
			ledger_delta_clear(&d);
		}
		json_object_set_new(o, "last_sync", json_integer(last));
		json_object_set_new(o, "marked", json_integer(0));
	}
	for (i = 0; i < nd; i++)
		if ((o = json_object_get(index, dl[i].mailbox)) != NULL)
			json_object_set_new(o, "marked", json_integer(json_integer_value(
			    json_object_get(o, "marked")) + 1));
out:
	if (rc == -1)
		log_warnx("admin ledger_failed error=\"%s\"", ledger_error(a->l));
	pthread_mutex_unlock(&a->lock);
	ledger_subs_free(s, n);
	ledger_dirty_free(dl, nd);
	json_decref(list);
	json_decref(index);
	if (rc == -1) {
		json_decref(mbs);
		json_error(resp, 503, "ledger unavailable");
		return;
	}
	json(resp, 200, json_pack("{s:o,s:I}", "mailboxes", mbs, "now",
	    (json_int_t)time(NULL)));
}

static void
get_messages(const struct httpd_request *req, struct httpd_response *resp)
{
	const char *v = httpd_query(req, "limit");
	long limit = 50;
	char *end;

	if (v != NULL) {
		limit = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || limit < 1 || limit > ADMIN_MESSAGES_MAX) {
			json_error(resp, 400, "limit must be a number from 1 to 200");
			return;
		}
	}
	json(resp, 200, json_pack("{s:o}", "messages", metrics_recent((size_t)limit)));
}

static void
get_dead(struct admin *a, struct httpd_response *resp)
{
	struct ledger_entry *v = xcalloc(ADMIN_DEAD_MAX, sizeof(*v));
	size_t n = 0;
	json_t *arr;
	int rc;

	pthread_mutex_lock(&a->lock);
	if ((rc = ledger_list_dead(a->l, v, ADMIN_DEAD_MAX, &n)) == -1)
		log_warnx("admin ledger_failed error=\"%s\"", ledger_error(a->l));
	pthread_mutex_unlock(&a->lock);
	if (rc == -1) {
		free(v);
		json_error(resp, 503, "ledger unavailable");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:i,s:s?,s:s?,s:I}",
		    "ext_id", v[i].ext_id, "key", v[i].key, "mailbox", v[i].mailbox,
		    "attempts", v[i].attempts, "reason", v[i].reason, "last_error",
		    v[i].last_error, "at", (json_int_t)v[i].updated_at));
		ledger_entry_clear(&v[i]);
	}
	free(v);
	json(resp, 200, json_pack("{s:o}", "dead", arr));
}

/* POST {"key": internetMessageId or digest}: that dead letter back to pending. */
static void
post_retry(struct admin *a, const struct httpd_request *req, struct httpd_response *resp)
{
	const char *csrf = httpd_header(req, ADMIN_CSRF_HEADER), *arg;
	json_t *body;
	struct ledger_entry e;
	long long count = 0;
	char err[256], *key;
	int r = LEDGER_NOT_FOUND;

	if (csrf == NULL || csrf[0] == '\0') {
		json_error(resp, 403, "missing " ADMIN_CSRF_HEADER " header");
		return;
	}
	body = json_loadb(req->body, req->body_len, 0, NULL);
	if ((arg = json_string_value(json_object_get(body, "key"))) == NULL || arg[0] == '\0') {
		json_decref(body);
		json_error(resp, 400, "body must be {\"key\": internetMessageId or digest}");
		return;
	}
	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&a->lock);
	if ((key = normalize_message_id(arg, err, sizeof(err))) != NULL) {
		r = ledger_get(a->l, key, &e);
		free(key);
	}
	if (r == LEDGER_NOT_FOUND)
		r = ledger_get_by_ext_id(a->l, arg, &e);
	if (r == 0 && e.state == LEDGER_DEAD && ledger_retry_dead(a->l, e.key, &count) == -1)
		r = -1;
	if (r == -1)
		log_warnx("admin ledger_failed op=retry error=\"%s\"", ledger_error(a->l));
	pthread_mutex_unlock(&a->lock);
	if (r == -1)
		json_error(resp, 503, "ledger unavailable");
	else if (r == LEDGER_NOT_FOUND)
		json_error(resp, 404, "no such message in the ledger");
	else if (e.state != LEDGER_DEAD)
		json_error(resp, 409, "the message is not dead");
	else {
		log_info("admin retry msg=%s revived=%lld", e.ext_id, count);
		if (count > 0 && a->ops.wake != NULL)
			a->ops.wake(a->ops.arg);
		json(resp, 200, json_pack("{s:s,s:I}", "ext_id", e.ext_id, "revived",
		    (json_int_t)count));
	}
	ledger_entry_clear(&e);
	json_decref(body);
}

/* The dashboard's files: public (no data in them), so the page can load before it has the
 * token from its URL fragment. 1 when path was one. */
static int
asset(const char *path, struct httpd_response *resp)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (size_t i = 0; i < admin_nassets; i++) {
		if (strcmp(path, admin_assets[i].path) != 0)
			continue;
		httpd_respond_text(resp, 200, admin_assets[i].type,
		    (const char *)admin_assets[i].data);
		secure_headers(resp, PAGE_CSP);
		return 1;
	}
	return 0;
}

static void
handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct admin *a = arg;
	const char *p = req->path;
	int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (get && asset(p, resp))
		return;
	if (!authorized(a, req)) {
		text(resp, 401, "unauthorized\n");
		httpd_response_header(resp, "WWW-Authenticate", "Bearer realm=\"olsync\"");
		return;
	}
	if (strcmp(p, "/api/dead/retry") == 0) {
		if (strcmp(req->method, "POST") == 0) {
			post_retry(a, req, resp);
		} else {
			json_error(resp, 405, "method not allowed");
			httpd_response_header(resp, "Allow", "POST");
		}
		return;
	}
	if (!get) {
		text(resp, 405, "method not allowed\n");
		httpd_response_header(resp, "Allow", "GET, HEAD");
		return;
	}
	if (strcmp(p, "/healthz") == 0)
		text(resp, 200, "ok\n");
	else if (strcmp(p, "/readyz") == 0)
		get_readyz(a, resp);
	else if (strcmp(p, "/metrics") == 0)
		get_metrics(a, resp);
	else if (strcmp(p, "/api/summary") == 0)
		get_summary(a, resp);
	else if (strcmp(p, "/api/mailboxes") == 0)
		get_mailboxes(a, resp);
	else if (strcmp(p, "/api/messages") == 0)
		get_messages(req, resp);
	else if (strcmp(p, "/api/dead") == 0)
		get_dead(a, resp);
	else
		text(resp, 404, "not found\n");
}

struct admin *
admin_start(const struct config *cfg, const struct admin_ops *ops, char *err, size_t errlen)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	struct httpd_config hc;

	a->cfg = cfg;
	if (ops != NULL)
		a->ops = *ops;
	a->started = (int64_t)time(NULL);
	pthread_mutex_init(&a->lock, NULL);
	if (ledger_connect(cfg->database, cfg->database_password, &a->l, err, errlen) == -1)
		goto fail;
	memset(&hc, 0, sizeof(hc));
	hc.listen = cfg->admin_listen;
	hc.max_body = MAX_BODY;
	hc.max_uri = MAX_URI;
	hc.timeout_sec = TIMEOUT_SEC;
	hc.request_deadline_sec = TIMEOUT_SEC;
	hc.max_connections = CONNECTIONS;
	hc.max_per_ip = CONNECTIONS / 2;
	if ((a->srv = httpd_start(&hc, handle, a, err, errlen)) == NULL)
		goto fail;
	return a;
fail:
	ledger_close(a->l);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

int
admin_port(const struct admin *a)
{
	return httpd_port(a->srv);
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	httpd_stop(a->srv);
	ledger_close(a->l);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
