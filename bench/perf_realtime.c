/* perf_realtime.c: `olsync run` in real time: mail posted to graph-sim at a steady rate
 * (latency from the post to the Task's CreatedDate in sf-sim), and many mailboxes mostly idle
 * (start time, memory, how the subscription renewals spread). */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "bench_util.h"
#include "config.h"
#include "httpc.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "subscriptions.h"
#include "xmalloc.h"

#define DRAIN_SEC	60	/* after the last mail, for the last Task */
#define SETTLE_US	1500000	/* after start, past the worker's burst window */
#define SPREAD_BUCKETS	100

/* Posts mails first..first+n-1 of m to graph-sim at rate a second on one kept-alive
 * connection; sent[i - first] = CLOCK_REALTIME just before each POST. The seconds it took. */
static double
post_mail(struct perf_world *pw, const struct perf_mix *m, long first, long n, double rate,
    double *sent)
{
	struct httpc *c = httpc_new();
	char *url = xasprintf("%s/_sim/mail", pw->w.graph.base_url), err[256];
	double t0 = mono_sec();

	for (long k = 0; k < n; k++) {
		double due = t0 + (double)k / rate, now = mono_sec();
		char *body = perf_mail_json(m, first + k, NULL);
		struct httpc_request req = { .method = "POST", .url = url, .body = body,
		    .body_len = strlen(body), .content_type = "application/json",
		    .timeout_ms = 30000 };
		struct httpc_response resp;

		if (due > now)
			usleep((useconds_t)((due - now) * 1e6));
		sent[k] = mono_wall_sec();
		if (httpc_do(c, &req, &resp, err, sizeof(err)) != HTTPC_OK || resp.status != 201)
			fail_msg("POST /_sim/mail: %s status %ld", err, (long)resp.status);
		httpc_response_free(&resp);
		free(body);
	}
	httpc_free(c);
	free(url);
	return mono_sec() - t0;
}

static long
external(long first, long n)
{
	long e = 0;

	for (long i = first; i < first + n; i++)
		e += perf_mail_kind(i) != PERF_INTERNAL;
	return e;
}

/* Until the ledger has logged want emails, at most timeout_s; the count. */
static long long
wait_logged(struct perf_world *pw, long want, double timeout_s)
{
	double t0 = mono_sec();
	long long got;

	while ((got = perf_ledger_int(pw, "SELECT count(*) FROM messages WHERE state = "
	    "'logged'")) < want && mono_sec() - t0 < timeout_s)
		usleep(50 * 1000);
	return got;
}

struct created {
	long n;
	double *at;	/* CreatedDate of email i's Task; 0 before */
	long twice, foreign;
};

static void
task_created(json_t *rec, void *arg)
{
	struct created *c = arg;
	const char *s = e2e_field(rec, "Subject");
	long i;

	if (sscanf(s, "Email: perf %ld", &i) != 1 || i < 0 || i >= c->n) {
		c->foreign++;
		return;
	}
	if (c->at[i] != 0)
		c->twice++;
	c->at[i] = perf_sf_time(json_string_value(json_object_get(rec, "CreatedDate")));
}

void
perf_realtime(void **state)
{
	double rate = *(double *)*state, *sent, *lat, t_first, t_last = 0;
	long n = (long)(rate * perf_o->rt_seconds), want, nlat = 0, missing = 0;
	struct perf_mix m = { .emails = n, .mailboxes = perf_o->rt_mailboxes, .contacts = 50,
	    .leads = 10, .unknown = 20 };
	static struct perf_world pw;	/* static: perf_teardown reads it after a failure */
	struct perf_stats a, b;
	struct perf_sampler s;
	struct perf_row *r;
	struct created cr = { .n = n };
	char name[40];
	long long t0, t1;

	snprintf(name, sizeof(name), "realtime %g/s", rate);
	r = perf_row_add(name);
	if (perf_world_start(&pw, "perf_realtime", &m, 0, 1) == -1)
		fail_msg("cannot start the world");
	perf_row_set(r, "start_s", json_real(perf_daemon_ready(&pw, m.mailboxes, 120)));
	usleep(SETTLE_US);
	sent = xcalloc((size_t)n, sizeof(*sent));
	cr.at = xcalloc((size_t)n, sizeof(*cr.at));
	want = external(0, n);
	perf_stats_read(&pw, &a);
	t0 = bench_cpu_ticks(pw.dm.pid);
	perf_sampler_start(&s, &pw);
	perf_row_set(r, "posting_s", json_real(post_mail(&pw, &m, 0, n, rate, sent)));
	perf_row_set(r, "logged", json_integer(wait_logged(&pw, want, DRAIN_SEC)));
	perf_sampler_stop(&s, r);
	t1 = bench_cpu_ticks(pw.dm.pid);
	perf_stats_read(&pw, &b);
	r->rss_kib = bench_vm_hwm_kib(pw.dm.pid);
	perf_soql(&pw, "SELECT Subject, CreatedDate FROM Task", task_created, &cr);

	lat = xcalloc((size_t)n, sizeof(*lat));
	t_first = sent[0];
	for (long i = 0; i < n; i++) {
		if (perf_mail_kind(i) == PERF_INTERNAL)
			continue;
		if (cr.at[i] <= 0) {
			missing++;
			continue;
		}
		lat[nlat++] = (cr.at[i] - sent[i]) * 1000.0;
		if (cr.at[i] > t_last)
			t_last = cr.at[i];
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), bench_cmp_double);
	r->emails = n;
	if (nlat > 0) {
		r->p50_ms = bench_pct(lat, nlat, 50);
		r->p99_ms = bench_pct(lat, nlat, 99);
		perf_row_set(r, "latency_max_ms", json_real(lat[nlat - 1]));
		r->wall_s = t_last - t_first;
		r->per_sec = (double)n / r->wall_s;
	}
	r->cpu_per_k = bench_ticks_sec(t1 - t0) * 1000.0 / (double)n;
	perf_stats_rows(r, &a, &b, n);
	perf_row_set(r, "check", json_sprintf("%ld emails with an external party: %ld with a "
	    "Task, %ld missing, %ld more than once, %ld other Tasks", want, nlat, missing,
	    cr.twice, cr.foreign));
	if (missing != 0 || cr.twice != 0 || cr.foreign != 0)
		snprintf(r->status, sizeof(r->status), "FAILED: %ld of %ld emails without a Task, "
		    "%ld twice", missing, want, cr.twice);
	perf_stats_free(&a);
	perf_stats_free(&b);
	free(lat);
	free(cr.at);
	free(sent);
	if (strcmp(r->status, "ok") != 0)
		fail_msg("%s: %s", name, r->status);
	if (perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
}

/* When each stored subscription is due for renewal, as olsync itself computes it
 * (subs_renew_due: renew_every after the last renewal, never later than lifetime - renew_every
 * before the expiry, then up to a quarter of renew_every earlier by a hash of its id): the first
 * and last (seconds from now), their distance, the standard deviation and the busiest hundredth
 * of the interval, into r. */
static void
renewal_spread(struct perf_world *pw, struct perf_row *r)
{
	struct config cfg;
	struct config_errors errs = { 0 };
	struct ledger *l;
	struct ledger_sub *ls = NULL;
	size_t nsubs = 0;
	char err[256];
	double every, sum = 0, sq = 0, lo = 0, hi = 0, mean, peak = 0;
	long bucket[SPREAD_BUCKETS] = { 0 }, n = 0;
	double *due = NULL;

	if (config_load(pw->w.conf, &cfg, &errs) == -1)
		fail_msg("%s: %s", pw->w.conf, errs.n > 0 ? errs.v[0] : "cannot load");
	config_errors_free(&errs);
	every = (double)cfg.subscription_renew_every_ms / 1000.0;
	if (ledger_open(pw->ledger, &l, err, sizeof(err)) == -1)
		fail_msg("cannot open %s: %s", pw->ledger, err);
	if (ledger_sub_list(l, &ls, &nsubs) == -1)
		fail_msg("cannot read the subscriptions of %s: %s", pw->ledger, ledger_error(l));
	ledger_close(l);
	due = xcalloc(nsubs > 0 ? nsubs : 1, sizeof(*due));
	for (size_t i = 0; i < nsubs; i++, n++) {
		due[n] = (double)subs_renew_due(&cfg, &ls[i]);
		if (n == 0 || due[n] < lo)
			lo = due[n];
		if (n == 0 || due[n] > hi)
			hi = due[n];
		sum += due[n];
	}
	ledger_subs_free(ls, nsubs);
	config_free(&cfg);
	if (n == 0)
		fail_msg("no subscriptions in the ledger");
	mean = sum / (double)n;
	for (long i = 0; i < n; i++) {
		long k = (long)((due[i] - lo) / every * SPREAD_BUCKETS);

		sq += (due[i] - mean) * (due[i] - mean);
		bucket[k < 0 ? 0 : k >= SPREAD_BUCKETS ? SPREAD_BUCKETS - 1 : k]++;
	}
	for (int k = 0; k < SPREAD_BUCKETS; k++)
		if ((double)bucket[k] / (double)n > peak)
			peak = (double)bucket[k] / (double)n;
	perf_row_set(r, "subscriptions", json_integer(n));
	perf_row_set(r, "renew_every_s", json_real(every));
	perf_row_set(r, "renewal_first_in_s", json_real(lo - (double)time(NULL)));
	perf_row_set(r, "renewal_last_in_s", json_real(hi - (double)time(NULL)));
	perf_row_set(r, "renewal_spread_s", json_real(hi - lo));
	perf_row_set(r, "renewal_stddev_s", json_real(sqrt(sq / (double)n)));
	perf_row_set(r, "renewal_spread_share", json_real((hi - lo) / every));
	/* Spread evenly over the interval, each hundredth holds 1%; all at once, 100%. */
	perf_row_set(r, "renewal_busiest_pct", json_real(peak * 100));
	free(due);
}

void
perf_idle(void **state)
{
	long n = (long)perf_o->idle_seconds;
	struct perf_mix m = { .emails = n, .mailboxes = perf_o->idle_mailboxes, .contacts = 20,
	    .leads = 5, .unknown = 5 };
	struct perf_row *r = perf_row_add("idle");
	static struct perf_world pw;	/* static: perf_teardown reads it after a failure */
	struct perf_stats a, b;
	struct perf_sampler s;
	double *sent, watch;
	long long t0, t1;

	(void)state;
	fprintf(stderr, "perf: idle: %d mailboxes\n", m.mailboxes);
	if (perf_world_start(&pw, "perf_idle", &m, 0, 1) == -1)
		fail_msg("cannot start the world");
	perf_row_set(r, "mailboxes", json_integer(m.mailboxes));
	perf_row_set(r, "start_s", json_real(perf_daemon_ready(&pw, m.mailboxes, 3600)));
	perf_row_set(r, "rss_after_start_kib", json_integer(bench_vm_hwm_kib(pw.dm.pid)));
	renewal_spread(&pw, r);
	/* Mostly idle: one email a second to the mailboxes in turn. */
	sent = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*sent));
	perf_stats_read(&pw, &a);
	t0 = bench_cpu_ticks(pw.dm.pid);
	perf_sampler_start(&s, &pw);
	watch = mono_sec();
	post_mail(&pw, &m, 0, n, 1.0, sent);
	perf_row_set(r, "logged", json_integer(wait_logged(&pw, external(0, n), DRAIN_SEC)));
	watch = mono_sec() - watch;
	perf_sampler_stop(&s, r);
	t1 = bench_cpu_ticks(pw.dm.pid);
	perf_stats_read(&pw, &b);
	r->emails = n;
	r->wall_s = watch;
	r->rss_kib = bench_vm_hwm_kib(pw.dm.pid);
	perf_row_set(r, "olsync_cpu_s_per_min", json_real(bench_ticks_sec(t1 - t0) * 60 / watch));
	perf_row_set(r, "graph_requests_per_min", json_real((double)bench_grew(a.graph, b.graph,
	    "requests", NULL) * 60 / watch));
	perf_row_set(r, "sf_calls_per_min", json_real((double)bench_grew(a.sf, b.sf,
	    "api_calls", NULL) * 60 / watch));
	perf_stats_free(&a);
	perf_stats_free(&b);
	free(sent);
	if (perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
}
