/* metrics.c: the process counters of metrics.h. Counters are relaxed atomics (a scrape may see
 * one a moment old, never a torn one); the marks, the recent emails, the last pass and the
 * instance URL are under one mutex. */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define ADD(v, n)	__atomic_add_fetch(&(v), (n), __ATOMIC_RELAXED)
#define GET(v)		__atomic_load_n(&(v), __ATOMIC_RELAXED)

/* Seconds: a live email waits up to batch_window (2 s) plus its writes; a held one minutes. */
static const double bounds[METRICS_BUCKETS] = {
	0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800
};

struct recent {
	char	*ext_id, *mailbox, *reason;
	char	*ids[5];		/* task, email message, lead, who, what */
	int	 state;
	int64_t	 at;
};

static const char *const id_names[5] = {
	"task_id", "email_message_id", "lead_id", "who_id", "what_id"
};

static long long calls[METRICS_SERVICES];
static long long errors[METRICS_SERVICES][REMOTE_FINAL + 1];
static long long notified;
static long long passes_ok, passes_failed;
static long long lat_count, lat_buckets[METRICS_BUCKETS];
static double lat_sum;		/* under lock */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *marks;		/* "mailbox\nfolder" -> [mono ms, wall s] of the first mark */
static struct recent ring[METRICS_RECENT];
static size_t ring_next, ring_n;
static char instance[512];
static int64_t pass_at;
static int pass_ok;
static char pass_error[512];
static json_t *mailboxes;

static const char *const service_names[METRICS_SERVICES] = { "graph", "salesforce" };

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

void
metrics_call(enum metrics_service service)
{
	ADD(calls[service], 1);
}

void
metrics_error(enum metrics_service service, enum remote_class cls)
{
	if (cls > REMOTE_OK && cls <= REMOTE_FINAL)
		ADD(errors[service][cls], 1);
}

long long
metrics_calls(enum metrics_service service)
{
	return GET(calls[service]);
}

void
metrics_notified(long long n)
{
	ADD(notified, n);
}

void
metrics_sf_instance(const char *url)
{
	pthread_mutex_lock(&lock);
	snprintf(instance, sizeof(instance), "%s", url != NULL ? url : "");
	pthread_mutex_unlock(&lock);
}

void
metrics_instance(char *buf, size_t len)
{
	pthread_mutex_lock(&lock);
	snprintf(buf, len, "%s", instance);
	pthread_mutex_unlock(&lock);
}

static char *
mark_key(const char *mailbox, const char *folder)
{
	return xasprintf("%s\n%s", mailbox, folder);
}

void
metrics_mark(const char *mailbox, const char *folder)
{
	char *k = mark_key(mailbox, folder);

	pthread_mutex_lock(&lock);
	if (marks == NULL)
		marks = json_object();
	if (json_object_get(marks, k) == NULL)
		json_object_set_new(marks, k, json_pack("[I,I]", (json_int_t)mono_ms(),
		    (json_int_t)time(NULL)));
	pthread_mutex_unlock(&lock);
	free(k);
}

void
metrics_mark_done(const char *mailbox, const char *folder)
{
	char *k = mark_key(mailbox, folder);

	pthread_mutex_lock(&lock);
	if (marks != NULL)
		json_object_del(marks, k);
	pthread_mutex_unlock(&lock);
	free(k);
}

/* Under lock: the latency of a logged email, when a mark of its folder came before it. */
static void
observe(const struct ledger_entry *e)
{
	json_t *m;
	char *k;
	double sec;

	if (marks == NULL || e->mailbox == NULL || e->folder == NULL)
		return;
	k = mark_key(e->mailbox, e->folder);
	m = json_object_get(marks, k);
	free(k);
	/* Seen before the notification (a retry, a backfill): not its latency. Wall seconds,
	 * so a second of slack. */
	if (m == NULL || e->first_seen < json_integer_value(json_array_get(m, 1)) - 1)
		return;
	sec = (double)(mono_ms() - json_integer_value(json_array_get(m, 0))) / 1000.0;
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		if (sec <= bounds[i])
			ADD(lat_buckets[i], 1);
	ADD(lat_count, 1);
	lat_sum += sec;
}

static void
recent_clear(struct recent *r)
{
	free(r->ext_id);
	free(r->mailbox);
	free(r->reason);
	for (size_t i = 0; i < 5; i++)
		free(r->ids[i]);
	memset(r, 0, sizeof(*r));
}

void
metrics_email(const struct ledger_entry *e, const char *mailbox, enum ledger_state state,
    const char *reason, const struct metrics_ids *ids)
{
	struct recent *r;

	pthread_mutex_lock(&lock);
	if (state == LEDGER_LOGGED)
		observe(e);
	r = &ring[ring_next];
	recent_clear(r);
	r->ext_id = dup_or_null(e->ext_id);
	r->mailbox = dup_or_null(mailbox != NULL ? mailbox : e->mailbox);
	r->reason = dup_or_null(reason);
	r->state = (int)state;
	r->at = (int64_t)time(NULL);
	if (ids != NULL) {
		r->ids[0] = dup_or_null(ids->task);
		r->ids[1] = dup_or_null(ids->email_message);
		r->ids[2] = dup_or_null(ids->lead);
		r->ids[3] = dup_or_null(ids->who);
		r->ids[4] = dup_or_null(ids->what);
	}
	ring_next = (ring_next + 1) % METRICS_RECENT;
	if (ring_n < METRICS_RECENT)
		ring_n++;
	pthread_mutex_unlock(&lock);
}

json_t *
metrics_recent(size_t limit)
{
	json_t *a = json_array();

	json_t *seen = json_object();

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ring_n && json_array_size(a) < limit; i++) {
		const struct recent *r = &ring[(ring_next + METRICS_RECENT - 1 - i) %
		    METRICS_RECENT];
		json_t *o;

		/* An email decided again (a dead letter retried) shows its latest outcome. */
		if (r->ext_id != NULL && json_object_get(seen, r->ext_id) != NULL)
			continue;
		if (r->ext_id != NULL)
			json_object_set_new(seen, r->ext_id, json_true());
		o = json_object();

		json_object_set_new(o, "ext_id", json_string(r->ext_id ? r->ext_id : ""));
		json_object_set_new(o, "mailbox", json_string(r->mailbox ? r->mailbox : ""));
		json_object_set_new(o, "state",
		    json_string(ledger_state_name((enum ledger_state)r->state)));
		json_object_set_new(o, "at", json_integer(r->at));
		/* A reason is UTF-8 cut by the ledger's rules; a value jansson refuses is left
		 * out rather than failing the list. */
		if (r->reason != NULL)
			json_object_set_new(o, "reason", json_string(r->reason));
		for (size_t k = 0; k < 5; k++)
			if (r->ids[k] != NULL)
				json_object_set_new(o, id_names[k], json_string(r->ids[k]));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&lock);
	json_decref(seen);
	return a;
}

void
metrics_pass(int ok, const char *error)
{
	if (ok)
		ADD(passes_ok, 1);
	else
		ADD(passes_failed, 1);
	pthread_mutex_lock(&lock);
	pass_at = (int64_t)time(NULL);
	pass_ok = ok;
	snprintf(pass_error, sizeof(pass_error), "%s", ok || error == NULL ? "" : error);
	pthread_mutex_unlock(&lock);
}

void
metrics_last_pass(int64_t *at, int *ok, char *error, size_t errlen)
{
	pthread_mutex_lock(&lock);
	*at = pass_at;
	*ok = pass_ok;
	snprintf(error, errlen, "%s", pass_error);
	pthread_mutex_unlock(&lock);
}

void
metrics_mailboxes(const json_t *list)
{
	json_t *copy = list != NULL ? json_deep_copy(list) : json_array();

	pthread_mutex_lock(&lock);
	json_decref(mailboxes);
	mailboxes = copy;
	pthread_mutex_unlock(&lock);
}

json_t *
metrics_mailbox_list(void)
{
	json_t *copy;

	pthread_mutex_lock(&lock);
	copy = mailboxes != NULL ? json_deep_copy(mailboxes) : json_array();
	pthread_mutex_unlock(&lock);
	return copy;
}

void
metrics_label(FILE *fp, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(fp, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

static void
head(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_write(FILE *fp)
{
	static const char *const cls[] = { "ok", "temp", "wait", "auth", "final" };
	double sum;

	head(fp, "olsync_api_calls_total", "counter",
	    "Requests sent by this process (Salesforce: data API calls, which count against the "
	    "daily allowance).");
	for (int s = 0; s < METRICS_SERVICES; s++)
		fprintf(fp, "olsync_api_calls_total{service=\"%s\"} %lld\n", service_names[s],
		    GET(calls[s]));
	head(fp, "olsync_errors_total", "counter",
	    "Failed calls and failed records, by service and class.");
	for (int s = 0; s < METRICS_SERVICES; s++)
		for (int c = REMOTE_TEMP; c <= REMOTE_FINAL; c++)
			fprintf(fp, "olsync_errors_total{service=\"%s\",class=\"%s\"} %lld\n",
			    service_names[s], cls[c], GET(errors[s][c]));
	head(fp, "olsync_notifications_total", "counter",
	    "Change notifications verified and accepted by the receiver.");
	fprintf(fp, "olsync_notifications_total %lld\n", GET(notified));
	head(fp, "olsync_passes_total", "counter", "Worker passes, by result.");
	fprintf(fp, "olsync_passes_total{result=\"ok\"} %lld\n", GET(passes_ok));
	fprintf(fp, "olsync_passes_total{result=\"failed\"} %lld\n", GET(passes_failed));
	head(fp, "olsync_notification_latency_seconds", "histogram",
	    "From the first notification that marked a folder to the record of an email the "
	    "read of that folder found.");
	pthread_mutex_lock(&lock);
	sum = lat_sum;
	pthread_mutex_unlock(&lock);
	/* Each bucket counts every sample at or under its bound: cumulative already. */
	for (int i = 0; i < METRICS_BUCKETS; i++)
		fprintf(fp, "olsync_notification_latency_seconds_bucket{le=\"%g\"} %lld\n",
		    bounds[i], GET(lat_buckets[i]));
	fprintf(fp, "olsync_notification_latency_seconds_bucket{le=\"+Inf\"} %lld\n",
	    GET(lat_count));
	fprintf(fp, "olsync_notification_latency_seconds_sum %.3f\n", sum);
	fprintf(fp, "olsync_notification_latency_seconds_count %lld\n", GET(lat_count));
}
