/* realtime_bench.c: how long `olsync run` in real time takes from an email's arrival to its Task
 * in Salesforce, against graph-sim and sf-sim: mails posted at a steady rate, sf-sim polled for
 * the Tasks, the latency percentiles and what each email cost in Graph and Salesforce calls.
 * Usage: realtime-bench [--emails N] [--rate R] [--mailboxes M] (run by bench/realtime.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "e2e.h"
#include "httpc.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define CONTACT		"carol@fabrikam.com"	/* the seeded Contact every mail is from */
#define SUBJECT		"realtime-bench "	/* + the email's number */
#define TASK_SUBJECT	"Email: " SUBJECT	/* what olsync makes of it */
#define POLL_SEC	0.010			/* how often sf-sim is asked for new Tasks */
#define READY_MS	30000			/* subscriptions made and start-up pass done */
#define DRAIN_MS	60000			/* after the last mail, for the last Task */
#define MAILBOXES_MAX	50

struct opts {
	long emails;
	double rate;		/* emails per second */
	int mailboxes;
};

struct bench {
	const struct opts *o;
	struct e2e_world world;
	struct e2e_daemon dm;
	int port;
};

/* What the poller thread shares with the main one, under lock. */
struct watch {
	pthread_mutex_t lock;
	const char *sf_url;
	long n;
	double *seen;		/* mono_sec() when each email's Task was first seen; 0 before */
	long nseen;
	int stop;
	char err[256];		/* why the poller gave up; "" while it runs */
};

/* The counters read before and after the mails. */
struct counters {
	json_t *graph, *sf;	/* the emulators' GET /_sim/stats (owned) */
	long long cpu_ticks;	/* olsync's user + system time */
	long long passes;	/* "engine pass" lines in olsync's log */
	long long last_delivery;
};

static int
setup(void **state)
{
	struct bench *b = xcalloc(1, sizeof(*b));
	int rc;

	b->o = *state;
	rc = e2e_world_start_reps(&b->world, "realtime_bench", b->o->mailboxes,
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}],"
	    "\"Contact\":[{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"" CONTACT "\",\"AccountId\":\"@fab\"}]",
	    NULL, &b->port);
	if (rc == -1) {
		free(b);
		return -1;
	}
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	struct bench *b = *state;
	int rc;

	if (b->dm.pid > 0)
		e2e_daemon_stop(&b->dm);
	rc = e2e_world_stop(&b->world);
	free(b);
	return rc;
}

/* Until olsync holds both subscriptions of every mailbox and its start-up pass is done. */
static void
wait_ready(struct bench *b)
{
	long long want = 2LL * b->o->mailboxes;
	long t0 = mono_ms();

	for (;;) {
		char *log = e2e_daemon_log(&b->dm);
		int ready = bench_occurrences(log, "subscriptions created ") >= want &&
		    bench_occurrences(log, "engine pass ") >= 1;

		free(log);
		if (ready)
			break;
		if (mono_ms() - t0 > READY_MS)
			fail_msg("olsync not ready after %d ms (log: %s)", READY_MS, b->dm.log);
		usleep(50 * 1000);
	}
	/* Past the worker's burst window, so the first mail is not taken for part of a burst. */
	usleep(1500 * 1000);
}

static void
read_counters(struct bench *b, struct counters *c)
{
	json_t *d = sim_http_ctl(b->world.graph.base_url, "GET", "/_sim/deliveries", NULL, 200);
	json_t *v;
	size_t k;
	char *log = e2e_daemon_log(&b->dm);

	c->graph = sim_http_ctl(b->world.graph.base_url, "GET", "/_sim/stats", NULL, 200);
	c->sf = sim_http_ctl(b->world.sf.p.base_url, "GET", "/_sim/stats", NULL, 200);
	c->cpu_ticks = bench_cpu_ticks(b->dm.pid);
	c->passes = bench_occurrences(log, "engine pass ");
	c->last_delivery = 0;
	json_array_foreach(json_object_get(d, "deliveries"), k, v)
		if (json_integer_value(json_object_get(v, "id")) > c->last_delivery)
			c->last_delivery = json_integer_value(json_object_get(v, "id"));
	free(log);
	json_decref(d);
}

/* GET url on c; the parsed body, or NULL with err set. Caller decrefs. */
static json_t *
get_json(struct httpc *c, const char *url, char *err, size_t errlen)
{
	struct httpc_request req = { .method = "GET", .url = url, .timeout_ms = 10000 };
	struct httpc_response resp;
	json_t *j = NULL;

	if (httpc_do(c, &req, &resp, err, errlen) != HTTPC_OK)
		return NULL;
	if (resp.status == 200)
		j = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (j == NULL)
		snprintf(err, errlen, "GET %s: status %ld", url, resp.status);
	httpc_response_free(&resp);
	return j;
}

/* The email number of a Task's Subject, or -1 when the Task is not one of ours. */
static long
email_of(const char *subject, long n)
{
	char *end;
	long i;

	if (subject == NULL || strncmp(subject, TASK_SUBJECT, strlen(TASK_SUBJECT)) != 0)
		return -1;
	i = strtol(subject + strlen(TASK_SUBJECT), &end, 10);
	return *end == '\0' && i >= 0 && i < n ? i : -1;
}

/* The poller: every POLL_SEC, sf-sim's request count; when it moved, the Task list. sf-sim
 * serves one request at a time, so listing every Task 100 times a second would hold up the
 * writes being measured; a Task can only appear through a counted request, and sf-sim counts
 * it under the lock it serves it under, so a count that has not moved means no new Task. */
static void *
poll_tasks(void *arg)
{
	struct watch *w = arg;
	struct httpc *c = httpc_new();
	char stats_url[128], records_url[128], err[256] = "";
	long long last = -1;

	snprintf(stats_url, sizeof(stats_url), "%s/_sim/stats", w->sf_url);
	snprintf(records_url, sizeof(records_url), "%s/_sim/records/Task", w->sf_url);
	for (;;) {
		double next = mono_sec() + POLL_SEC, now;
		json_t *s, *recs, *rec;
		long long count;
		size_t k;
		int stop;

		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		if ((s = get_json(c, stats_url, err, sizeof(err))) == NULL)
			break;
		count = json_integer_value(json_object_get(s, "requests"));
		json_decref(s);
		if (count != last) {
			if ((recs = get_json(c, records_url, err, sizeof(err))) == NULL)
				break;
			now = mono_sec();
			last = count;
			pthread_mutex_lock(&w->lock);
			json_array_foreach(json_object_get(recs, "records"), k, rec) {
				long i = email_of(e2e_field(rec, "Subject"), w->n);

				if (i >= 0 && w->seen[i] == 0) {
					w->seen[i] = now;
					w->nseen++;
				}
			}
			pthread_mutex_unlock(&w->lock);
			json_decref(recs);
		}
		now = mono_sec();
		if (next > now)
			usleep((useconds_t)((next - now) * 1e6));
	}
	pthread_mutex_lock(&w->lock);
	if (!w->stop)
		snprintf(w->err, sizeof(w->err), "%s", err[0] ? err : "poller stopped");
	pthread_mutex_unlock(&w->lock);
	httpc_free(c);
	return NULL;
}

/* Until graph-sim has no change notification left to post (the last ones may be hints that
 * arrive after their Task), then the latency of every attempt after delivery id after. */
static double *
ack_latencies(struct bench *b, long long after, long *n, long *undelivered)
{
	double *lat = NULL;
	json_t *d = NULL, *v, *a;
	size_t k, j;

	for (int tries = 0; tries < 100; tries++) {
		long busy = 0;

		json_decref(d);
		d = sim_http_ctl(b->world.graph.base_url, "GET", "/_sim/deliveries?kind=change",
		    NULL, 200);
		json_array_foreach(json_object_get(d, "deliveries"), k, v) {
			const char *st = json_string_value(json_object_get(v, "status"));

			if (strcmp(st, "pending") == 0 || strcmp(st, "sending") == 0)
				busy++;
		}
		if (busy == 0)
			break;
		usleep(50 * 1000);
	}
	*n = 0;
	*undelivered = 0;
	json_array_foreach(json_object_get(d, "deliveries"), k, v) {
		if (json_integer_value(json_object_get(v, "id")) <= after)
			continue;
		if (strcmp(json_string_value(json_object_get(v, "status")), "delivered") != 0)
			(*undelivered)++;
		json_array_foreach(json_object_get(v, "attempts"), j, a) {
			lat = xrealloc(lat, ((size_t)*n + 1) * sizeof(*lat));
			lat[(*n)++] = (double)json_integer_value(json_object_get(a, "latency_ms"));
		}
	}
	json_decref(d);
	qsort(lat, (size_t)*n, sizeof(*lat), bench_cmp_double);
	return lat;
}

/* Every email's Task exactly once, and no other Task. */
static void
check_tasks(struct bench *b)
{
	json_t *recs = e2e_records(b->world.sf.p.base_url, "Task"), *rec;
	long n = b->o->emails, *times = xcalloc((size_t)n, sizeof(*times));
	size_t k;

	if ((long)json_array_size(recs) != n)
		fail_msg("sf-sim holds %zu Tasks for %ld emails", json_array_size(recs), n);
	json_array_foreach(recs, k, rec) {
		long i = email_of(e2e_field(rec, "Subject"), n);

		if (i < 0)
			fail_msg("a Task not from the bench: %s", e2e_field(rec, "Subject"));
		if (times[i]++ > 0)
			fail_msg("email %ld has more than one Task", i);
	}
	free(times);
	json_decref(recs);
}

static void
mail(struct bench *b, long i)
{
	char *body = xasprintf("{\"from\":\"Carol Chen <" CONTACT ">\","
	    "\"to\":[\"rep%ld@contoso.com\"],\"subject\":\"" SUBJECT "%ld\","
	    "\"body\":\"Bench mail %ld\"}", i % b->o->mailboxes, i, i);
	json_t *r = sim_http_ctl(b->world.graph.base_url, "POST", "/_sim/mail", body, 201);

	json_decref(r);
	free(body);
}

static void
cost_row(const char *what, long long total, long n)
{
	printf("| %s | %lld | %.2f |\n", what, total, (double)total / (double)n);
}

/* One row per route of an emulator that grew: what the run cost it, call by call. */
static void
route_rows(const char *who, json_t *before, json_t *after, long n)
{
	json_t *r0 = json_object_get(before, "routes"), *v;
	const char *k;

	json_object_foreach(json_object_get(after, "routes"), k, v) {
		long long d = json_integer_value(v) - json_integer_value(json_object_get(r0, k));
		char *what;

		if (d == 0)
			continue;
		what = xasprintf("%s `%s`", who, k);
		cost_row(what, d, n);
		free(what);
	}
}

static void
report(const struct opts *o, const double *lat, double send_s, double wall_s,
    const struct counters *c0, const struct counters *c1, const double *ack, long nack,
    long undelivered)
{
	long n = o->emails;
	double cpu_ms = bench_ticks_sec(c1->cpu_ticks - c0->cpu_ticks) * 1000.0;

	printf("olsync run (real time) against graph-sim and sf-sim: %ld emails at %g/s to %d "
	    "mailboxes\n\n", n, o->rate, o->mailboxes);
	printf("| mail posted to graph-sim -> Task in sf-sim (ms) | emails | p50 | p95 | p99 | "
	    "max |\n|---|---|---|---|---|---|\n");
	printf("| latency, sf-sim polled every %.0f ms | %ld | %.0f | %.0f | %.0f | %.0f |\n\n",
	    POLL_SEC * 1000, n, bench_pct(lat, n, 50), bench_pct(lat, n, 95), bench_pct(lat, n, 99),
	    lat[n - 1]);
	printf("| cost | total | per email |\n|---|---|---|\n");
	cost_row("Graph requests (/v1.0)", bench_grew(c0->graph, c1->graph, "requests", NULL), n);
	route_rows("Graph", c0->graph, c1->graph, n);
	cost_row("notification POSTs to olsync", bench_grew(c0->graph, c1->graph, "notifications",
	    "sent"), n);
	cost_row("olsync passes (`engine pass` lines)", c1->passes - c0->passes, n);
	cost_row("Salesforce requests", bench_grew(c0->sf, c1->sf, "requests", NULL), n);
	route_rows("Salesforce", c0->sf, c1->sf, n);
	cost_row("Salesforce API calls (daily limit)", bench_grew(c0->sf, c1->sf, "api_calls", NULL),
	    n);
	printf("| olsync CPU ms (user+system) | %.0f | %.2f |\n\n", cpu_ms, cpu_ms / (double)n);
	printf("| notification acknowledgement (ms) | attempts | not delivered | p50 | max |\n"
	    "|---|---|---|---|---|\n");
	if (nack > 0)
		printf("| graph-sim POST -> olsync 2xx | %ld | %ld | %.0f | %.0f |\n\n", nack,
		    undelivered, bench_pct(ack, nack, 50), ack[nack - 1]);
	else
		printf("| graph-sim POST -> olsync 2xx | 0 | %ld | - | - |\n\n", undelivered);
	printf("wall: mails posted over %.2f s (%.1f/s), %.2f s from the first mail to the last "
	    "Task\n", send_s, n > 1 ? (double)(n - 1) / send_s : 0.0, wall_s);
}

static void
bench_realtime(void **state)
{
	struct bench *b = *state;
	const struct opts *o = b->o;
	long n = o->emails, nack, undelivered;
	double *sent = xcalloc((size_t)n, sizeof(*sent)), *lat, *ack, t0, send_s, last = 0;
	struct watch w = { .sf_url = b->world.sf.p.base_url, .n = n };
	struct counters c0 = { 0 }, c1 = { 0 };
	pthread_t poller;
	long nseen;
	char err[256];

	w.seen = xcalloc((size_t)n, sizeof(*w.seen));
	pthread_mutex_init(&w.lock, NULL);
	/* Plain http on loopback; everything else as graph-sim models Graph by default. */
	json_decref(sim_http_ctl(b->world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200));
	e2e_daemon_start(&b->dm, b->world.dir, b->world.conf, b->port);
	wait_ready(b);
	read_counters(b, &c0);
	if (pthread_create(&poller, NULL, poll_tasks, &w) != 0)
		fail_msg("pthread_create");

	t0 = mono_sec();
	for (long i = 0; i < n; i++) {
		double due = t0 + (double)i / o->rate, now = mono_sec();

		if (due > now)
			usleep((useconds_t)((due - now) * 1e6));
		sent[i] = mono_sec();
		mail(b, i);
	}
	send_s = mono_sec() - t0;
	for (long t = mono_ms();; usleep(20 * 1000)) {
		pthread_mutex_lock(&w.lock);
		nseen = w.nseen;
		snprintf(err, sizeof(err), "%s", w.err);
		pthread_mutex_unlock(&w.lock);
		if (nseen == n || err[0] != '\0' || mono_ms() - t > DRAIN_MS)
			break;
	}
	pthread_mutex_lock(&w.lock);
	w.stop = 1;
	pthread_mutex_unlock(&w.lock);
	pthread_join(poller, NULL);
	if (err[0] != '\0')
		fail_msg("polling sf-sim: %s", err);
	if (nseen != n)
		fail_msg("%ld of %ld emails became Tasks within %d ms of the last mail", nseen, n,
		    DRAIN_MS);

	lat = xcalloc((size_t)n, sizeof(*lat));
	for (long i = 0; i < n; i++) {
		lat[i] = (w.seen[i] - sent[i]) * 1000.0;
		if (w.seen[i] > last)
			last = w.seen[i];
	}
	qsort(lat, (size_t)n, sizeof(*lat), bench_cmp_double);
	ack = ack_latencies(b, c0.last_delivery, &nack, &undelivered);
	read_counters(b, &c1);
	check_tasks(b);
	report(o, lat, send_s, last - t0, &c0, &c1, ack, nack, undelivered);
	fflush(stdout);
	if (e2e_daemon_stop(&b->dm) != 0)
		fail_msg("olsync run did not exit cleanly");
	pthread_mutex_destroy(&w.lock);
	json_decref(c0.graph);
	json_decref(c0.sf);
	json_decref(c1.graph);
	json_decref(c1.sf);
	free(ack);
	free(lat);
	free(w.seen);
	free(sent);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "emails", required_argument, NULL, 'e' },
		{ "rate", required_argument, NULL, 'r' },
		{ "mailboxes", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o = { .emails = 300, .rate = 10, .mailboxes = 2 };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(bench_realtime, setup, teardown, &o),
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': o.emails = atol(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'm': o.mailboxes = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: realtime-bench [--emails N] [--rate R] "
			    "[--mailboxes M]\n");
			return 2;
		}
	}
	if (o.emails < 1 || o.rate <= 0 || o.mailboxes < 1 || o.mailboxes > MAILBOXES_MAX) {
		fprintf(stderr, "realtime-bench: --emails >= 1, --rate > 0, --mailboxes 1..%d\n",
		    MAILBOXES_MAX);
		return 2;
	}
	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
