/* graph_notify.c: graph-sim's change and lifecycle notification delivery (see graph_notify.h):
 * matching changes to subscriptions, queueing collections in g_delivery, the notifier thread
 * that posts them with Graph's ack window and backoff, and the validation handshake. */
#include "graph_notify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "graph_control.h"
#include "graph_subs.h"
#include "httpc.h"
#include "log.h"
#include "xmalloc.h"

#define BATCH_MAX		50	/* notifications per POST, as Graph batches them */
#define FIRST_RETRY_SEC		60.0	/* backoff starts at a minute and doubles ... */
#define MAX_RETRY_SEC		1800.0	/* ... up to half an hour (times retry_scale) */
#define IDLE_WAIT_SEC		1.0	/* the thread rechecks at least this often */
#define MAX_REPLY_BYTES		(64 * 1024)	/* receivers answer briefly */
#define VALIDATION_TEXT		"Validation: Testing client application reachability for " \
				"subscription Request-Id: "

/* One delivery taken for posting: copies, because the row may change while we post. */
struct job {
	long long id;
	char *url;
	char *payload;
	char *kind;
	int attempts;		/* before this one */
	int items;		/* notifications in value[] */
	double created;
	long timeout_ms;
	long ack_ms;
	long retry_window_sec;
	double retry_scale;
};

struct outcome {
	long status;		/* 0: no answer */
	long latency_ms;
	char error[128];
};

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int
items_of(const char *payload)
{
	json_t *j = json_loads(payload, 0, NULL);
	int n = (int)json_array_size(json_object_get(j, "value"));

	json_decref(j);
	return n;
}

void
graph_notify_queue(struct graph_sim *sim, const char *subscription_id, const char *url,
    const char *kind, json_t *payload)
{
	json_t *items = json_object_get(payload, "value");
	sqlite3_stmt *st;
	char *text;
	int merged = 0, n = (int)json_array_size(items);

	/* A collection not yet posted for the same subscription and URL takes these too: Graph
	 * puts the notifications it has at hand into one POST. */
	st = db_prepare(sim->db, "SELECT id, payload FROM g_delivery WHERE status = 'pending' "
	    "AND attempts = 0 AND url = ? AND kind = ? AND subscription_id IS ? "
	    "ORDER BY id DESC LIMIT 1");
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, subscription_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		json_t *old = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		json_t *value = json_object_get(old, "value");

		if (json_is_array(value) && json_array_size(value) + (size_t)n <= BATCH_MAX) {
			sqlite3_stmt *up;

			json_array_extend(value, items);
			text = json_dumps(old, JSON_COMPACT);
			up = db_prepare(sim->db, "UPDATE g_delivery SET payload = ? WHERE id = ?");
			sqlite3_bind_text(up, 1, text, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(up, 2, id);
			merged = sqlite3_step(up) == SQLITE_DONE;
			sqlite3_finalize(up);
			free(text);
		}
		json_decref(old);
	}
	sqlite3_finalize(st);
	if (!merged) {
		double now = graph_now();

		text = json_dumps(payload, JSON_COMPACT);
		st = db_prepare(sim->db, "INSERT INTO g_delivery (subscription_id, url, kind, "
		    "payload, next_at, created) VALUES (?, ?, ?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, subscription_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 5, now);
		sqlite3_bind_double(st, 6, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_warnx("graph-notify: cannot queue reason=\"%s\"",
			    sqlite3_errmsg(sim->db));
		sqlite3_finalize(st);
		free(text);
	}
	json_decref(payload);
	graph_control_count(sim, "notifications.queued", n);
	pthread_cond_signal(&sim->wake);
}

/* W/"<changeKey>" of the item, or NULL when it is gone (a deleted item has no etag). */
static char *
etag_of(struct graph_sim *sim, const char *immutable_id, const char *rest_id, int is_event)
{
	sqlite3_stmt *st;
	char *etag = NULL;

	if (is_event) {
		st = db_prepare(sim->db, "SELECT change_key FROM g_event WHERE id = ?");
		sqlite3_bind_text(st, 1, rest_id, -1, SQLITE_STATIC);
	} else {
		st = db_prepare(sim->db, "SELECT change_key FROM g_message WHERE immutable_id = ? "
		    "OR rest_id = ? LIMIT 1");
		sqlite3_bind_text(st, 1, immutable_id ? immutable_id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rest_id ? rest_id : "", -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		etag = xasprintf("W/\"%s\"", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return etag;
}

void
graph_notify_change(struct graph_sim *sim, const char *user_id, const char *folder_id,
    const char *rest_id, const char *immutable_id, int is_event, const char *change_type)
{
	sqlite3_stmt *st;
	char now[40], *etag = NULL;
	int deleted = strcmp(change_type, "deleted") == 0;

	graph_subs_format_time(graph_subs_now_ticks(), now);
	if (!deleted)
		etag = etag_of(sim, immutable_id, rest_id, is_event);
	/* Expiration is stored in one fixed format, so text order is time order. A paused
	 * subscription loses its changes: Graph does not keep them for it. */
	st = db_prepare(sim->db, "SELECT id, change_types, notification_url, expiration, "
	    "client_state, immutable_ids, folder_id, paused FROM g_subscription "
	    "WHERE user_id = ? AND kind = ? AND expiration > ? ORDER BY created, id");
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, is_event ? "event" : "message", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sub_id = (const char *)sqlite3_column_text(st, 0);
		const char *types = (const char *)sqlite3_column_text(st, 1);
		const char *url = (const char *)sqlite3_column_text(st, 2);
		const char *sub_folder = (const char *)sqlite3_column_text(st, 6);
		const char *id;
		char *resource;
		json_t *data, *item;

		if (!graph_subs_has_change_type(types, change_type))
			continue;
		if (!is_event && sub_folder != NULL &&
		    (folder_id == NULL || strcmp(sub_folder, folder_id) != 0))
			continue;
		if (sqlite3_column_int(st, 7)) {
			graph_control_count(sim, "notifications.dropped", 1);
			continue;
		}
		id = sqlite3_column_int(st, 5) && immutable_id ? immutable_id : rest_id;
		resource = xasprintf("Users/%s/%s/%s", user_id, is_event ? "Events" : "Messages",
		    id);
		data = json_pack("{s:s,s:s}", "@odata.type", is_event ? "#Microsoft.Graph.Event" :
		    "#Microsoft.Graph.Message", "@odata.id", resource);
		if (etag != NULL)
			json_object_set_new(data, "@odata.etag", json_string(etag));
		json_object_set_new(data, "id", json_string(id));
		item = json_pack("{s:s,s:s,s:s,s:s,s:o}", "subscriptionId", sub_id,
		    "subscriptionExpirationDateTime", (const char *)sqlite3_column_text(st, 3),
		    "changeType", change_type, "resource", resource, "resourceData", data);
		json_object_set_new(item, "clientState",
		    sqlite3_column_type(st, 4) == SQLITE_NULL ? json_null() :
		    json_string((const char *)sqlite3_column_text(st, 4)));
		json_object_set_new(item, "tenantId", json_string(sim->tenant_id));
		graph_notify_queue(sim, sub_id, url, "change", json_pack("{s:[o]}", "value", item));
		free(resource);
	}
	sqlite3_finalize(st);
	free(etag);
}

/* A change collection keeps only the notifications of subscriptions that still exist and are
 * not paused: a deleted subscription's notifications are not sent. Returns the number kept;
 * *payload is replaced when some were removed. */
static int
still_wanted(struct graph_sim *sim, char **payload, int *dropped)
{
	json_t *j = json_loads(*payload, 0, NULL), *value = json_object_get(j, "value");
	json_t *kept = json_array(), *item;
	size_t i;
	int n;

	json_array_foreach(value, i, item) {
		sqlite3_stmt *st = db_prepare(sim->db, "SELECT paused FROM g_subscription "
		    "WHERE id = ?");
		const char *sub = json_string_value(json_object_get(item, "subscriptionId"));

		sqlite3_bind_text(st, 1, sub ? sub : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
			json_array_append(kept, item);
		sqlite3_finalize(st);
	}
	n = (int)json_array_size(kept);
	*dropped = (int)json_array_size(value) - n;
	if (*dropped > 0 && n > 0) {
		json_object_set(j, "value", kept);
		free(*payload);
		*payload = json_dumps(j, JSON_COMPACT);
	}
	json_decref(kept);
	json_decref(j);
	return n;
}

static void
set_status(struct graph_sim *sim, long long id, const char *status)
{
	sqlite3_stmt *st = db_prepare(sim->db, "UPDATE g_delivery SET status = ? WHERE id = ?");

	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void
job_free(struct job *job)
{
	free(job->url);
	free(job->payload);
	free(job->kind);
	memset(job, 0, sizeof(*job));
}

/* Takes the oldest due delivery and marks it 'sending' (so nothing is merged into it while it
 * is on the wire). 0 and *job, or -1 when nothing is due. */
static int
take_due(struct graph_sim *sim, double now, struct job *job)
{
	sqlite3_stmt *st;
	int dropped = 0, rc = -1;

	memset(job, 0, sizeof(*job));
	for (;;) {
		st = db_prepare(sim->db, "SELECT id, url, payload, kind, attempts, created "
		    "FROM g_delivery WHERE status = 'pending' AND next_at <= ? "
		    "ORDER BY next_at, id LIMIT 1");
		sqlite3_bind_double(st, 1, now);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			return -1;
		}
		job->id = sqlite3_column_int64(st, 0);
		job->url = xstrdup((const char *)sqlite3_column_text(st, 1));
		job->payload = xstrdup((const char *)sqlite3_column_text(st, 2));
		job->kind = xstrdup((const char *)sqlite3_column_text(st, 3));
		job->attempts = sqlite3_column_int(st, 4);
		job->created = sqlite3_column_double(st, 5);
		sqlite3_finalize(st);
		job->items = items_of(job->payload);
		if (strcmp(job->kind, "change") == 0 &&
		    (job->items = still_wanted(sim, &job->payload, &dropped)) == 0) {
			set_status(sim, job->id, "dropped");
			graph_control_count(sim, "notifications.dropped", dropped);
			job_free(job);
			continue;
		}
		if (strcmp(job->kind, "change") == 0 && dropped > 0)
			graph_control_count(sim, "notifications.dropped", dropped);
		break;
	}
	job->ack_ms = sim->settings.ack_timeout_ms;
	job->timeout_ms = job->attempts == 0 ? sim->settings.ack_timeout_ms :
	    sim->settings.retry_timeout_ms;
	job->retry_window_sec = sim->settings.retry_window_sec;
	job->retry_scale = sim->settings.retry_scale;
	st = db_prepare(sim->db, "UPDATE g_delivery SET status = 'sending', payload = ? "
	    "WHERE id = ?");
	sqlite3_bind_text(st, 1, job->payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, job->id);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	if (rc < 0)
		job_free(job);
	return rc;
}

static void
post(struct httpc *hc, const struct job *job, struct outcome *out)
{
	static const char *const headers[] = { "Accept: */*", NULL };
	struct httpc_request req;
	struct httpc_response resp;
	enum httpc_fail fail;
	char err[256];
	double t0;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = job->url;
	req.body = job->payload;
	req.body_len = strlen(job->payload);
	req.content_type = "application/json; charset=utf-8";
	req.headers = headers;
	req.timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : 1;
	req.max_body = MAX_REPLY_BYTES;
	t0 = mono_ms();
	fail = httpc_do(hc, &req, &resp, err, sizeof(err));
	out->latency_ms = (long)(mono_ms() - t0);
	if (fail == HTTPC_OK) {
		out->status = resp.status;
	} else {
		snprintf(out->error, sizeof(out->error), "%s",
		    fail == HTTPC_TIMEOUT ? "timeout" : fail == HTTPC_CONNECT ? "connect" :
		    fail == HTTPC_RESET ? "reset" : fail == HTTPC_TOO_LARGE ? "too large" :
		    "error");
	}
	httpc_response_free(&resp);
}

static void
record_attempt(struct graph_sim *sim, long long id, double at, const struct outcome *o)
{
	sqlite3_stmt *st = db_prepare(sim->db, "INSERT INTO g_attempt (delivery_id, at, status, "
	    "latency_ms, error) VALUES (?, ?, ?, ?, ?)");

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_double(st, 2, at);
	sqlite3_bind_int(st, 3, (int)o->status);
	sqlite3_bind_int64(st, 4, o->latency_ms);
	if (o->error[0] != '\0')
		sqlite3_bind_text(st, 5, o->error, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Applies one attempt's outcome: delivered, retried later with backoff, or given up. */
static void
finish(struct graph_sim *sim, struct job *job, struct outcome *o, double started)
{
	sqlite3_stmt *st;
	double now = graph_now(), next = 0, delay;
	int ok_status = o->status >= 200 && o->status < 300;
	int in_time = o->latency_ms <= (job->attempts == 0 ? job->ack_ms : job->timeout_ms);
	int slow = o->latency_ms > job->ack_ms || (job->attempts == 0 && o->status == 0 &&
	    strcmp(o->error, "timeout") == 0);
	const char *status;

	if (ok_status && !in_time)
		snprintf(o->error, sizeof(o->error), "answered after the %ld ms ack window",
		    job->attempts == 0 ? job->ack_ms : job->timeout_ms);
	else if (!ok_status && o->status != 0)
		snprintf(o->error, sizeof(o->error), "status %ld", o->status);
	if (ok_status && in_time) {
		status = "delivered";
	} else {
		/* 1, 2, 4, ... minutes, capped, all scaled so tests run in milliseconds. */
		delay = FIRST_RETRY_SEC * pow(2.0, job->attempts);
		if (delay > MAX_RETRY_SEC)
			delay = MAX_RETRY_SEC;
		next = now + delay * job->retry_scale;
		status = next > job->created + (double)job->retry_window_sec * job->retry_scale ?
		    "failed" : "pending";
	}
	/* Only the row we took: a reset while we posted empties g_delivery, and SQLite then
	 * hands the same ids to new rows. */
	st = db_prepare(sim->db, "UPDATE g_delivery SET attempts = attempts + 1, status = ?, "
	    "last_status = ?, last_latency_ms = ?, next_at = CASE WHEN ? > 0 THEN ? ELSE next_at "
	    "END, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END "
	    "WHERE id = ? AND status = 'sending' AND created = ?");
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)o->status);
	sqlite3_bind_int64(st, 3, o->latency_ms);
	sqlite3_bind_double(st, 4, next);
	sqlite3_bind_double(st, 5, next);
	sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 7, now);
	sqlite3_bind_int64(st, 8, job->id);
	sqlite3_bind_double(st, 9, job->created);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(sim->db) != 1) {
		log_info("graph-notify: delivery=%lld gone while posting (reset?)", job->id);
		return;
	}
	record_attempt(sim, job->id, started, o);
	graph_control_count(sim, "notifications.sent", 1);
	if (job->attempts > 0)
		graph_control_count(sim, "notifications.retried", 1);
	if (slow)
		graph_control_count(sim, "notifications.slow", 1);
	if (strcmp(status, "delivered") == 0)
		graph_control_count(sim, "notifications.delivered", job->items);
	else if (strcmp(status, "failed") == 0)
		graph_control_count(sim, "notifications.failed", job->items);
	log_info("graph-notify: attempt delivery=%lld kind=%s try=%d status=%ld latency_ms=%ld "
	    "result=%s", job->id, job->kind, job->attempts + 1, o->status, o->latency_ms, status);
}

/* Seconds since the epoch of the next pending delivery, or 0 when there is none. */
static double
next_due(struct graph_sim *sim)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT min(next_at) FROM g_delivery "
	    "WHERE status = 'pending'");
	double next = 0;

	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		next = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return next;
}

static void *
notifier_main(void *arg)
{
	struct graph_sim *sim = arg;
	struct httpc *hc = httpc_new();
	struct outcome o;
	struct job job;

	pthread_mutex_lock(&sim->lock);
	while (!sim->stopping) {
		double now = graph_now(), next, started;
		struct timespec until;

		if (take_due(sim, now, &job) == 0) {
			pthread_mutex_unlock(&sim->lock);
			started = graph_now();
			post(hc, &job, &o);
			pthread_mutex_lock(&sim->lock);
			finish(sim, &job, &o, started);
			job_free(&job);
			continue;
		}
		next = next_due(sim);
		if (next == 0 || next > now + IDLE_WAIT_SEC)
			next = now + IDLE_WAIT_SEC;
		/* The condition variable runs on CLOCK_REALTIME, as graph_now does. */
		until.tv_sec = (time_t)next;
		until.tv_nsec = (long)((next - (double)until.tv_sec) * 1e9);
		if (until.tv_nsec >= 1000000000L)
			until.tv_nsec = 999999999L;
		pthread_cond_timedwait(&sim->wake, &sim->lock, &until);
	}
	pthread_mutex_unlock(&sim->lock);
	httpc_free(hc);
	return NULL;
}

int
graph_notify_start(struct graph_sim *sim)
{
	int rc;

	pthread_mutex_lock(&sim->lock);
	sim->stopping = 0;
	/* A delivery cut short by a stop is sent again: the receiver may see it twice, as it
	 * may from Graph. */
	db_exec(sim->db, "UPDATE g_delivery SET status = 'pending' WHERE status = 'sending'",
	    NULL, 0);
	pthread_mutex_unlock(&sim->lock);
	if ((rc = pthread_create(&sim->notifier, NULL, notifier_main, sim)) != 0) {
		errno = rc;
		log_warn("graph-notify: cannot start the notifier thread");
		return -1;
	}
	return 0;
}

void
graph_notify_stop(struct graph_sim *sim)
{
	pthread_mutex_lock(&sim->lock);
	sim->stopping = 1;
	pthread_cond_broadcast(&sim->wake);
	pthread_mutex_unlock(&sim->lock);
	pthread_join(sim->notifier, NULL);
}

/* Keeps the handshake in g_delivery and g_attempt beside the notifications, so GET
 * /_sim/deliveries shows what the receiver was asked. */
static void
record_validation(struct graph_sim *sim, const char *url, const char *token, int ok,
    double started, const struct outcome *o)
{
	sqlite3_stmt *st;
	double now = graph_now();

	pthread_mutex_lock(&sim->lock);
	st = db_prepare(sim->db, "INSERT INTO g_delivery (url, kind, payload, attempts, next_at, "
	    "status, last_status, last_latency_ms, created, delivered_at) "
	    "VALUES (?, 'validation', ?, 1, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, started);
	sqlite3_bind_text(st, 4, ok ? "delivered" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)o->status);
	sqlite3_bind_int64(st, 6, o->latency_ms);
	sqlite3_bind_double(st, 7, started);
	if (ok)
		sqlite3_bind_double(st, 8, now);
	else
		sqlite3_bind_null(st, 8);
	if (sqlite3_step(st) == SQLITE_DONE)
		record_attempt(sim, sqlite3_last_insert_rowid(sim->db), started, o);
	sqlite3_finalize(st);
	graph_control_count(sim, ok ? "validations.succeeded" : "validations.failed", 1);
	pthread_mutex_unlock(&sim->lock);
}

int
graph_notify_validate(struct graph_sim *sim, const char *url, long timeout_ms, char code[64],
    char *err, size_t errlen)
{
	struct httpc_request req;
	struct httpc_response resp;
	struct httpc *hc;
	struct outcome o;
	enum httpc_fail fail;
	char guid[37], neterr[256], *token, *encoded, *full;
	double t0, started = graph_now();
	int ok = 0;

	graph_guid(guid);
	token = xasprintf(VALIDATION_TEXT "%s", guid);
	/* Encoded as Graph sends it: form style, '+' for a space, lower-case hex. */
	encoded = httpc_encode(token, "-_.*", HTTPC_FORM);
	full = xasprintf("%s%svalidationToken=%s", url, strchr(url, '?') ? "&" : "?", encoded);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = full;
	req.body = "";
	req.body_len = 0;
	req.content_type = "text/plain; charset=utf-8";
	req.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	req.max_body = MAX_REPLY_BYTES;
	memset(&o, 0, sizeof(o));
	hc = httpc_new();
	t0 = mono_ms();
	fail = httpc_do(hc, &req, &resp, neterr, sizeof(neterr));
	o.latency_ms = (long)(mono_ms() - t0);
	httpc_free(hc);
	if (fail == HTTPC_TIMEOUT) {
		snprintf(o.error, sizeof(o.error), "timeout");
		snprintf(code, 64, "InvalidRequest");
		snprintf(err, errlen, "Subscription validation request timed out.");
	} else if (fail != HTTPC_OK || resp.status != 200) {
		o.status = fail == HTTPC_OK ? resp.status : 0;
		snprintf(o.error, sizeof(o.error), "%s", fail == HTTPC_OK ? "not 200" :
		    fail == HTTPC_CONNECT ? "connect" : "no answer");
		snprintf(code, 64, "ValidationError");
		snprintf(err, errlen, "Subscription validation request failed. Notification "
		    "endpoint must respond with 200 OK to validation request.");
	} else if (resp.body_len != strlen(token) || memcmp(resp.body, token, resp.body_len) != 0) {
		o.status = resp.status;
		snprintf(o.error, sizeof(o.error), "wrong echo");
		snprintf(code, 64, "ValidationError");
		snprintf(err, errlen, "Subscription validation request failed. Response must "
		    "exactly match validationToken query parameter.");
	} else {
		o.status = resp.status;
		ok = 1;
	}
	httpc_response_free(&resp);
	record_validation(sim, url, token, ok, started, &o);
	log_info("graph-notify: validation status=%ld latency_ms=%ld result=%s", o.status,
	    o.latency_ms, ok ? "ok" : o.error);
	free(full);
	free(encoded);
	free(token);
	return ok ? 0 : -1;
}
