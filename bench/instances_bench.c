/* instances_bench.c: issue 10's benchmark (run by bench/instances.sh): 1, 2 and 3 `olsync run`
 * instances on one database (PostgreSQL when OL_TEST_PG_URL_FILE names a server) behind a
 * round-robin load balancer, a backlog and live mail: throughput, calls, CPU (olsync's and
 * PostgreSQL's), memory and exactly-once; then three instances, one SIGKILLed during load, K
 * times for each lease time: how long until the survivors hold its mailboxes and the work is
 * done. The mail and the world are perf-bench's (perf_world.c). */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "httpc.h"
#include "lbproxy.h"
#include "ledger.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "store.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define NMAX		3		/* instances at most */
#define KILLS_MAX	20
#define LEASES_MAX	2
#define POLL_MS		250		/* the ledger's logged count, while waiting */
#define DRAIN_S		1800		/* at most, for a run's last email */
#define SETTLE_S	90		/* at most, for three instances to split the mailboxes */

struct opts {
	long emails;		/* the backlog of each throughput run */
	int mailboxes;
	double rate;		/* live mail a second, while the backlog lasts */
	int counts[NMAX];	/* instance counts to run, in order */
	int ncounts;
	int kills;		/* per lease time */
	long kill_emails;	/* the backlog of each kill */
	long lease_ms[LEASES_MAX];
	int nleases;
	unsigned seed;
};

static struct opts o;
const struct perf_opts *perf_o;	/* perf_world.c reads conf and source_dir */

/* One throughput run. */
struct run {
	int n;			/* instances */
	char status[256];
	long backlog, live, emails;
	double wall_s, per_sec, sf_per_k, graph_per_k, cpu_per_k, pg_cpu_per_k;
	double pg_cpu_s;	/* -1: not PostgreSQL */
	double machine_busy;	/* the share of all the cores busy over the run (/proc/stat) */
	long rss_kib[NMAX];
	double cpu_s[NMAX];
	long owner_batches[NMAX];	/* "engine pass" lines per instance */
	long failed_passes;	/* "pass_failed" lines of all the instances */
	struct perf_row busy;	/* the emulators' busy shares (perf_sampler), tasks, check */
};

/* The kills of one lease time. */
struct kills {
	long lease_ms;
	int n;
	char status[256];
	double takeover_ms[KILLS_MAX], done_ms[KILLS_MAX];
	int held[KILLS_MAX];	/* mailboxes the victim held when killed */
	long failed_passes[KILLS_MAX];	/* "pass_failed" lines of the survivors */
	long emails[KILLS_MAX];
};

static struct run runs[NMAX];
static int nruns;
static struct kills kl[LEASES_MAX];

/* What one scenario runs, for the teardown after a failure. */
static struct perf_world pw;
static struct e2e_daemon dm[NMAX];
static int ports[NMAX];
static char *confs[NMAX];
static struct lbproxy *lb;
static struct store *mon;
static int mon_backend = -1;	/* the monitor's PostgreSQL backend, left out of the CPU */

static struct perf_mix
mix(long emails)
{
	struct perf_mix m = { .emails = emails, .mailboxes = o.mailboxes };

	/* Pools as the backfill's of perf.sh: emails/20 Contacts, /100 Leads, /50 new. */
	m.contacts = emails / 20 > 10 ? (int)(emails / 20) : 10;
	m.leads = emails / 100 > 5 ? (int)(emails / 100) : 5;
	m.unknown = emails / 50 > 5 ? (int)(emails / 50) : 5;
	return m;
}

static long
external(long n)
{
	long e = 0;

	for (long i = 0; i < n; i++)
		e += perf_mail_kind(i) != PERF_INTERNAL;
	return e;
}

/* Instance i's configuration in dir/iN: the world's, its paths made absolute, listening on
 * ports[i] with the load balancer as public_url. */
static void
instance_conf(int i, long lease_ms)
{
	char *text = tmpdir_read(pw.w.conf, 1 << 20), *dir, *line, *all;

	if (text == NULL)
		fail_msg("cannot read %s", pw.w.conf);
	line = xasprintf("sf_private_key_file %s/sf-key.pem", pw.w.dir);
	text = e2e_replace(text, "sf_private_key_file sf-key.pem", line);
	free(line);
	if (!test_database_is_pg()) {
		line = xasprintf("database %s/ledger.db", pw.w.dir);
		text = e2e_replace(text, "database ledger.db", line);
		free(line);
	}
	all = xasprintf("%slisten 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "instance_name i%d\nreconcile_interval 1h\n", text, ports[i], lbproxy_port(lb), i);
	if (lease_ms > 0) {
		line = xasprintf("%slease_time %ldms\n", all, lease_ms);
		free(all);
		all = line;
	}
	dir = xasprintf("%s/i%d", pw.w.dir, i);
	mkdir(dir, 0700);
	tmpdir_write(dir, "olsync.conf", all, 0644);
	free(confs[i]);
	confs[i] = xasprintf("%s/olsync.conf", dir);
	free(dir);
	free(all);
	free(text);
}

/* A fresh world (emulators, a new database) with emails waiting, the load balancer in front of
 * NMAX ports, the monitor's connection to the ledger and each instance's configuration. */
static void
world_up(const char *name, long emails, long lease_ms)
{
	struct perf_mix m = mix(emails);
	struct ledger *l;
	char err[256];

	fprintf(stderr, "instances-bench: %s: seeding %ld emails over %d mailboxes\n", name,
	    emails, m.mailboxes);
	if (perf_world_start(&pw, name, &m, emails, 0) == -1)
		fail_msg("cannot start the world");
	json_decref(sim_http_ctl(pw.w.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200));
	for (int i = 0; i < NMAX; i++) {
		int dup;

		do {
			ports[i] = e2e_free_port();
			dup = 0;
			for (int j = 0; j < i; j++)
				dup |= ports[j] == ports[i];
		} while (dup);
	}
	if ((lb = lbproxy_start(ports, NMAX)) == NULL)
		fail_msg("lbproxy_start");
	for (int i = 0; i < NMAX; i++)
		instance_conf(i, lease_ms);
	/* The ledger made (migrated) before any instance runs, so the monitor finds its
	 * tables. */
	if (ledger_open(pw.w.database, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open %s: %s", pw.w.database, err);
	ledger_close(l);
	if (store_open(pw.w.database, NULL, &mon, err, sizeof(err)) == -1)
		fail_msg("store_open %s: %s", pw.w.database, err);
	mon_backend = -1;
	if (store_kind(mon) == STORE_POSTGRESQL) {
		struct store_stmt *st = store_prepare(mon, "SELECT pg_backend_pid()");

		if (st != NULL && store_step(st) == STORE_ROW)
			mon_backend = (int)store_column_int64(st, 0);
		store_finalize(st);
	}
}

static void
world_down(void)
{
	for (int i = 0; i < NMAX; i++) {
		if (dm[i].pid > 0) {
			kill(dm[i].pid, SIGKILL);
			waitpid(dm[i].pid, NULL, 0);
			dm[i].pid = 0;
		}
		free(confs[i]);
		confs[i] = NULL;
	}
	store_close(mon);
	mon = NULL;
	lbproxy_stop(lb);
	lb = NULL;
	if (pw.w.dir[0] != '\0' && perf_world_stop(&pw) == -1)
		fail_msg("an emulator did not exit cleanly");
	memset(&pw, 0, sizeof(pw));
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NMAX; i++)
		if (dm[i].pid > 0) {
			kill(dm[i].pid, SIGKILL);
			waitpid(dm[i].pid, NULL, 0);
			dm[i].pid = 0;
		}
	store_close(mon);
	mon = NULL;
	lbproxy_stop(lb);
	lb = NULL;
	if (pw.w.dir[0] != '\0')
		perf_world_stop(&pw);
	memset(&pw, 0, sizeof(pw));
	return 0;
}

static long long
logged(void)
{
	struct store_stmt *st = store_prepare(mon, "SELECT count(*) FROM messages WHERE state = "
	    "'logged'");
	long long n = -1;

	if (st != NULL && store_step(st) == STORE_ROW)
		n = store_column_int64(st, 0);
	store_finalize(st);
	return n;
}

/* The live mailbox leases: held[i] by instance i; the total held by anyone. */
static int
split(int held[NMAX])
{
	struct ledger *l;
	struct ledger_lease *v = NULL;
	size_t n = 0;
	char err[256];
	int64_t now;
	int total = 0;

	memset(held, 0, NMAX * sizeof(*held));
	if (ledger_open(pw.w.database, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	if (ledger_lease_list(l, &v, &n) == -1)
		fail_msg("ledger_lease_list: %s", ledger_error(l));
	now = (int64_t)(mono_wall_sec() * 1000);
	for (size_t k = 0; k < n; k++) {
		if (strncmp(v[k].name, "mailbox:", 8) != 0 || v[k].expires_at <= now)
			continue;
		total++;
		if (v[k].owner[0] == 'i' && v[k].owner[1] >= '0' && v[k].owner[1] < '0' + NMAX &&
		    v[k].owner[2] == '\0')
			held[v[k].owner[1] - '0']++;
	}
	ledger_leases_free(v, n);
	ledger_close(l);
	return total;
}

/* Every mailbox held, the dead none, no live instance over its share (ceil: an instance keeps
 * at most that many, so with 60 over three each holds 20; with 4 over three one may hold none). */
static int
balanced(const int alive[NMAX], int live)
{
	int held[NMAX], hi = (o.mailboxes + live - 1) / live;

	if (split(held) != o.mailboxes)
		return 0;
	for (int i = 0; i < NMAX; i++)
		if (alive[i] ? held[i] > hi : held[i] > 0)
			return 0;
	return 1;
}

/* The jiffies of all the cores since boot: busy (everything but idle and iowait) and total. */
static void
machine_jiffies(long long *busy, long long *total)
{
	long long v[10] = { 0 };
	FILE *fp = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (fp == NULL)
		return;
	if (fscanf(fp, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2],
	    &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		for (int i = 0; i < 8; i++) {
			*total += v[i];
			if (i != 3 && i != 4)
				*busy += v[i];
		}
	fclose(fp);
}

/* Live mail: posted to graph-sim at o.rate a second from email first on, until stopped. */
struct poster {
	pthread_t th;
	pthread_mutex_t lock;
	const struct perf_mix *m;
	long first, posted;
	int stop, errors;
};

static void *
post_loop(void *arg)
{
	struct poster *p = arg;
	struct httpc *c = httpc_new();
	char *url = xasprintf("%s/_sim/mail", pw.w.graph.base_url), err[256];
	double t0 = mono_sec();

	for (long k = 0;; k++) {
		double due = t0 + (double)k / o.rate, now = mono_sec();
		char *body;
		struct httpc_request req = { .method = "POST", .url = url,
		    .content_type = "application/json", .timeout_ms = 30000 };
		struct httpc_response resp;
		int stop;

		if (due > now)
			usleep((useconds_t)((due - now) * 1e6));
		pthread_mutex_lock(&p->lock);
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		body = perf_mail_json(p->m, p->first + k, NULL);
		req.body = body;
		req.body_len = strlen(body);
		if (httpc_do(c, &req, &resp, err, sizeof(err)) != HTTPC_OK || resp.status != 201) {
			/* No cmocka failure from a thread: counted, and the run fails after. */
			pthread_mutex_lock(&p->lock);
			p->errors++;
			p->stop = 1;
			pthread_mutex_unlock(&p->lock);
			free(body);
			if (resp.status != 0)
				httpc_response_free(&resp);
			break;
		}
		httpc_response_free(&resp);
		free(body);
		pthread_mutex_lock(&p->lock);
		p->posted = k + 1;
		pthread_mutex_unlock(&p->lock);
	}
	httpc_free(c);
	free(url);
	return NULL;
}

static void
poster_start(struct poster *p, const struct perf_mix *m, long first)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->m = m;
	p->first = first;
	if (o.rate <= 0)
		return;
	if (pthread_create(&p->th, NULL, post_loop, p) != 0)
		fail_msg("pthread_create");
}

/* Stops p; the emails it posted. */
static long
poster_stop(struct poster *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_mutex_unlock(&p->lock);
	if (o.rate > 0)
		pthread_join(p->th, NULL);
	pthread_mutex_destroy(&p->lock);
	if (p->errors)
		fail_msg("posting live mail to graph-sim failed");
	return p->posted;
}

static void
start_instance(int i)
{
	char *dir = xasprintf("%s/i%d", pw.w.dir, i);

	e2e_daemon_start(&dm[i], dir, confs[i], ports[i]);
	free(dir);
}

/* Until the ledger has want emails logged (at most DRAIN_S); fails the test otherwise. */
static void
wait_logged(long long want, double t0)
{
	long long got;

	while ((got = logged()) < want) {
		if (mono_sec() - t0 > DRAIN_S)
			fail_msg("%lld of %lld emails logged after %d s", got, want, DRAIN_S);
		usleep(POLL_MS * 1000);
	}
}

/* n instances over a backlog of o.emails and live mail while the backlog lasts. */
static void
throughput(void **state)
{
	int n = *(int *)*state;
	struct run *r = &runs[nruns++];
	struct perf_mix m = mix(o.emails);
	struct perf_stats a, b;
	struct perf_sampler s;
	struct poster p;
	struct bench_pgcpu pg0;
	char name[32];
	double t0, cpu = 0;
	long long back = external(o.emails), busy0, total0, busy1, total1;

	memset(r, 0, sizeof(*r));
	r->n = n;
	r->pg_cpu_s = -1;
	snprintf(r->status, sizeof(r->status), "ok");
	snprintf(name, sizeof(name), "instances_%d", n);
	r->busy.extra = json_object();
	world_up(name, o.emails, 0);
	perf_stats_read(&pw, &a);
	perf_sampler_start(&s, &pw);
	(void)bench_pg_cpu_start(&pg0, mon_backend);
	machine_jiffies(&busy0, &total0);
	t0 = mono_sec();
	poster_start(&p, &m, o.emails);
	for (int i = 0; i < n; i++)
		start_instance(i);
	wait_logged(back, t0);
	r->live = poster_stop(&p);
	r->backlog = o.emails;
	r->emails = o.emails + r->live;
	wait_logged(external(r->emails), t0);
	r->wall_s = mono_sec() - t0;
	machine_jiffies(&busy1, &total1);
	r->machine_busy = total1 > total0 ? (double)(busy1 - busy0) / (double)(total1 - total0) :
	    NAN;
	perf_sampler_stop(&s, &r->busy);
	perf_stats_read(&pw, &b);
	bench_pg_cpu_sample(&pg0, mon_backend);
	r->pg_cpu_s = bench_pg_cpu_s(&pg0);
	for (int i = 0; i < n; i++) {
		r->cpu_s[i] = bench_ticks_sec(bench_cpu_ticks(dm[i].pid));
		r->rss_kib[i] = bench_vm_hwm_kib(dm[i].pid);
		cpu += r->cpu_s[i];
	}
	for (int i = 0; i < n; i++) {
		if (e2e_daemon_stop(&dm[i]) != 0)
			snprintf(r->status, sizeof(r->status), "FAILED: i%d did not stop cleanly",
			    i);
		r->owner_batches[i] = bench_file_lines(dm[i].log, "engine pass ");
		r->failed_passes += bench_file_lines(dm[i].log, "pass_failed");
	}
	r->per_sec = (double)r->emails / r->wall_s;
	r->cpu_per_k = cpu * 1000.0 / (double)r->emails;
	r->sf_per_k = (double)bench_grew(a.sf, b.sf, "api_calls", NULL) * 1000.0 /
	    (double)r->emails;
	r->graph_per_k = (double)bench_grew(a.graph, b.graph, "requests", NULL) * 1000.0 /
	    (double)r->emails;
	r->pg_cpu_per_k = r->pg_cpu_s < 0 ? NAN : r->pg_cpu_s * 1000.0 / (double)r->emails;
	perf_stats_free(&a);
	perf_stats_free(&b);
	snprintf(r->busy.status, sizeof(r->busy.status), "ok");
	perf_check_tasks(&pw, &r->busy, r->emails);
	if (strcmp(r->busy.status, "ok") != 0)
		memcpy(r->status, r->busy.status, sizeof(r->status));
	world_down();
	if (strcmp(r->status, "ok") != 0)
		fail_msg("%d instances: %s", n, r->status);
}

/* Three instances, one killed at a random moment while mail arrives, o.kills times, each on a
 * fresh world: until the survivors hold every mailbox, and until every email is logged. */
static void
takeover(void **state)
{
	struct kills *k = *state;
	struct perf_mix m = mix(o.kill_emails);

	k->n = 0;
	snprintf(k->status, sizeof(k->status), "ok");
	for (int rep = 0; rep < o.kills; rep++) {
		int alive[NMAX] = { 1, 1, 1 }, held[NMAX], victim;
		struct poster p;
		struct perf_row chk = { .extra = json_object() };
		char name[48];
		double t_settle, t_kill, took = -1;
		long posted;

		snprintf(name, sizeof(name), "instances_kill_%ld_%d", k->lease_ms, rep);
		world_up(name, o.kill_emails, k->lease_ms);
		poster_start(&p, &m, o.kill_emails);
		for (int i = 0; i < NMAX; i++)
			start_instance(i);
		t_settle = mono_sec();
		while (!balanced(alive, NMAX)) {
			if (mono_sec() - t_settle > SETTLE_S)
				fail_msg("three instances did not split the mailboxes in %d s",
				    SETTLE_S);
			usleep(100 * 1000);
		}
		/* Somewhere in the next three seconds of reading and writing; one that holds
		 * mailboxes. */
		usleep((useconds_t)(rand() % 3000) * 1000);
		split(held);
		victim = rand() % NMAX;
		while (held[victim] == 0)
			victim = (victim + 1) % NMAX;
		k->held[rep] = held[victim];
		kill(dm[victim].pid, SIGKILL);
		waitpid(dm[victim].pid, NULL, 0);
		t_kill = mono_sec();
		dm[victim].pid = 0;
		alive[victim] = 0;
		while (took < 0) {
			split(held);
			if (held[victim] == 0 && held[0] + held[1] + held[2] == o.mailboxes)
				took = (mono_sec() - t_kill) * 1000;
			else if (mono_sec() - t_kill > 3.0 * k->lease_ms / 1000 + 60)
				fail_msg("the survivors did not take i%d's mailboxes", victim);
			else
				usleep(20 * 1000);
		}
		posted = poster_stop(&p);
		k->emails[rep] = o.kill_emails + posted;
		wait_logged(external(k->emails[rep]), t_kill);
		k->takeover_ms[rep] = took;
		k->done_ms[rep] = (mono_sec() - t_kill) * 1000;
		fprintf(stderr, "instances-bench: lease_time %ld ms, kill %d: i%d (%d mailboxes) "
		    "taken over in %.0f ms, all %ld emails logged %.0f ms after the kill\n",
		    k->lease_ms, rep + 1, victim, k->held[rep], took, k->emails[rep],
		    k->done_ms[rep]);
		for (int i = 0; i < NMAX; i++) {
			if (!alive[i])
				continue;
			if (e2e_daemon_stop(&dm[i]) != 0)
				snprintf(k->status, sizeof(k->status), "FAILED: i%d did not stop "
				    "cleanly", i);
			k->failed_passes[rep] += bench_file_lines(dm[i].log, "pass_failed");
		}
		snprintf(chk.status, sizeof(chk.status), "ok");
		perf_check_tasks(&pw, &chk, k->emails[rep]);
		if (strcmp(chk.status, "ok") != 0)
			snprintf(k->status, sizeof(k->status), "%.200s (kill %d)", chk.status,
			    rep + 1);
		json_decref(chk.extra);
		k->n = rep + 1;
		world_down();
		if (strcmp(k->status, "ok") != 0)
			fail_msg("lease_time %ld ms: %s", k->lease_ms, k->status);
	}
}

static void
num(char *out, size_t len, double v, int prec)
{
	if (isnan(v) || v < 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.*f", prec, v);
}

static void
print_runs(void)
{
	printf("%-11s %7s %9s %11s %12s %9s %10s %-17s %-20s %14s %12s  %s\n", "instances",
	    "emails", "emails/s", "SF calls/1k", "Graph req/1k", "CPU s/1k", "PG CPU s/1k",
	    "peak RSS MiB", "CPU s per instance", "graph-sim busy", "sf-sim busy", "status");
	for (int i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];
		char c[6][32], rss[64] = "", cpu[64] = "";

		num(c[0], 32, r->per_sec, 1);
		num(c[1], 32, r->sf_per_k, 2);
		num(c[2], 32, r->graph_per_k, 1);
		num(c[3], 32, r->cpu_per_k, 3);
		num(c[4], 32, r->pg_cpu_per_k, 3);
		for (int j = 0; j < r->n; j++) {
			size_t l = strlen(rss), l2 = strlen(cpu);

			snprintf(rss + l, sizeof(rss) - l, "%s%.1f", j ? "/" : "",
			    r->rss_kib[j] / 1024.0);
			snprintf(cpu + l2, sizeof(cpu) - l2, "%s%.1f", j ? "/" : "", r->cpu_s[j]);
		}
		snprintf(c[5], 32, "%.0f%%/%.0f%%", r->busy.graph_busy * 100,
		    r->busy.graph_busy_max * 100);
		printf("%-11d %7ld %9s %11s %12s %9s %10s %-17s %-20s %14s", r->n, r->emails,
		    c[0], c[1], c[2], c[3], c[4], rss, cpu, c[5]);
		printf(" %5.0f%%/%4.0f%%  %s\n", r->busy.sf_busy * 100, r->busy.sf_busy_max * 100,
		    r->status);
	}
	for (int i = 0; i < nruns; i++) {
		json_t *v = json_object_get(runs[i].busy.extra, "check");

		char pg[32];

		num(pg, sizeof(pg), runs[i].pg_cpu_s, 1);
		printf("%d instance%s: backlog %ld + live %ld emails in %.1f s, PostgreSQL CPU "
		    "%s s, machine %.0f%% busy (all %ld cores), %ld failed passes; %s\n",
		    runs[i].n, runs[i].n > 1 ? "s" : "", runs[i].backlog, runs[i].live,
		    runs[i].wall_s, pg, runs[i].machine_busy * 100,
		    sysconf(_SC_NPROCESSORS_ONLN), runs[i].failed_passes,
		    v != NULL ? json_string_value(v) : "not checked");
	}
}

static void
stats3(const double *v, int n, double out[3])
{
	double s[KILLS_MAX];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), bench_cmp_double);
	out[0] = s[0];
	out[1] = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	out[2] = s[n - 1];
}

static void
print_kills(void)
{
	printf("\n%-10s %5s %-28s %-28s %-13s %s\n", "lease_time", "kills",
	    "takeover s min/median/max", "all logged s min/median/max", "failed passes",
	    "status");
	for (int i = 0; i < o.nleases; i++) {
		const struct kills *k = &kl[i];
		double t[3], d[3];
		char a[64] = "-", b[64] = "-";
		long failed = 0;

		if (k->n > 0) {
			stats3(k->takeover_ms, k->n, t);
			stats3(k->done_ms, k->n, d);
			snprintf(a, sizeof(a), "%.1f/%.1f/%.1f", t[0] / 1000, t[1] / 1000,
			    t[2] / 1000);
			snprintf(b, sizeof(b), "%.1f/%.1f/%.1f", d[0] / 1000, d[1] / 1000,
			    d[2] / 1000);
		}
		for (int j = 0; j < k->n; j++)
			failed += k->failed_passes[j];
		printf("%-10.1f %5d %-28s %-28s %13ld %s\n", k->lease_ms / 1000.0, k->n, a, b,
		    failed, k->status);
	}
}

static json_t *
jnum(double v)
{
	return isnan(v) || v < 0 ? json_null() : json_real(v);
}

static void
write_json(const char *path, double load)
{
	json_t *out = json_object(), *ra = json_array(), *ka = json_array();

	for (int i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];
		json_t *per = json_array();

		for (int j = 0; j < r->n; j++)
			json_array_append_new(per, json_pack("{s:s,s:f,s:I,s:I}", "instance",
			    j == 0 ? "i0" : j == 1 ? "i1" : "i2", "cpu_s", r->cpu_s[j],
			    "peak_rss_kib", (json_int_t)r->rss_kib[j], "passes",
			    (json_int_t)r->owner_batches[j]));
		json_array_append_new(ra, json_pack("{s:i,s:s,s:I,s:I,s:I,s:f,s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:O}", "instances", r->n, "status", r->status,
		    "emails", (json_int_t)r->emails, "backlog", (json_int_t)r->backlog, "live",
		    (json_int_t)r->live, "wall_s", r->wall_s, "emails_per_s", jnum(r->per_sec),
		    "sf_calls_per_1k", jnum(r->sf_per_k), "graph_requests_per_1k",
		    jnum(r->graph_per_k), "olsync_cpu_s_per_1k", jnum(r->cpu_per_k),
		    "postgresql_cpu_s", jnum(r->pg_cpu_s), "postgresql_cpu_s_per_1k",
		    jnum(r->pg_cpu_per_k), "graph_sim_busy", jnum(r->busy.graph_busy),
		    "graph_sim_busy_max_1s", jnum(r->busy.graph_busy_max), "sf_sim_busy",
		    jnum(r->busy.sf_busy), "sf_sim_busy_max_1s", jnum(r->busy.sf_busy_max),
		    "per_instance", per, "failed_passes", (json_int_t)r->failed_passes, "extra",
		    r->busy.extra));
		json_object_set_new(json_array_get(ra, json_array_size(ra) - 1), "machine_busy",
		    jnum(r->machine_busy));
	}
	for (int i = 0; i < o.nleases; i++) {
		json_t *t = json_array(), *d = json_array(), *h = json_array(), *f = json_array();

		for (int j = 0; j < kl[i].n; j++) {
			json_array_append_new(t, json_real(kl[i].takeover_ms[j]));
			json_array_append_new(d, json_real(kl[i].done_ms[j]));
			json_array_append_new(h, json_integer(kl[i].held[j]));
			json_array_append_new(f, json_integer(kl[i].failed_passes[j]));
		}
		json_array_append_new(ka, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o}", "lease_time_ms",
		    (json_int_t)kl[i].lease_ms, "status", kl[i].status, "takeover_ms", t,
		    "all_logged_after_kill_ms", d, "victim_mailboxes", h, "failed_passes", f));
	}
	json_object_set_new(out, "database", json_string(test_database_is_pg() ? "postgresql" :
	    "sqlite"));
	json_object_set_new(out, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(out, "loadavg_at_start", json_real(load));
	json_object_set_new(out, "options", json_pack("{s:I,s:i,s:f,s:i,s:I}", "emails",
	    (json_int_t)o.emails, "mailboxes", o.mailboxes, "rate", o.rate, "kills", o.kills,
	    "kill_emails", (json_int_t)o.kill_emails));
	json_object_set_new(out, "throughput", ra);
	json_object_set_new(out, "takeover", ka);
	if (json_dump_file(out, path, JSON_INDENT(1)) != 0)
		fprintf(stderr, "instances-bench: cannot write %s\n", path);
	json_decref(out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: instances-bench [--quick] [--emails N] [--mailboxes N] "
	    "[--rate R]\n  [--instances 1,2,3] [--kills K] [--kill-emails N] "
	    "[--lease-times MS,MS] [--seed S] [--json PATH] [--conf LINE]...\n");
	exit(2);
}

/* A comma list of at most max positive numbers into v; how many. */
static int
parse_list(const char *s, long *v, int max)
{
	char *copy = xstrdup(s), *save, *tok;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max || atol(tok) <= 0)
			usage();
		v[n++] = atol(tok);
	}
	free(copy);
	return n;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "emails", required_argument, NULL, 'e' },
		{ "mailboxes", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "instances", required_argument, NULL, 'n' },
		{ "kills", required_argument, NULL, 'k' },
		{ "kill-emails", required_argument, NULL, 'K' },
		{ "lease-times", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "conf", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static struct perf_opts po;
	static int counts[NMAX];
	struct CMUnitTest tests[NMAX + LEASES_MAX];
	const char *json = NULL;
	char *conf = xstrdup(""), *t;
	long v[NMAX];
	double load = bench_loadavg1();
	int opt, n = 0, failed, quick = 0;

	o = (struct opts){ .emails = 20000, .mailboxes = 60, .rate = 50, .counts = { 1, 2, 3 },
	    .ncounts = 3, .kills = 5, .kill_emails = 5000, .lease_ms = { 30000, 5000 },
	    .nleases = 2, .seed = (unsigned)time(NULL) };
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0) {
			o.emails = 600;
			o.mailboxes = 6;
			o.rate = 20;
			o.kills = 1;
			o.kill_emails = 300;
			o.lease_ms[0] = 3000;
			o.nleases = 1;
			quick = 1;
		}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': break;
		case 'e': o.emails = atol(optarg); break;
		case 'm': o.mailboxes = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'n':
			o.ncounts = parse_list(optarg, v, NMAX);
			for (int i = 0; i < o.ncounts; i++) {
				if (v[i] > NMAX)
					usage();
				o.counts[i] = (int)v[i];
			}
			break;
		case 'k': o.kills = atoi(optarg); break;
		case 'K': o.kill_emails = atol(optarg); break;
		case 'l': {
			long lv[LEASES_MAX];

			o.nleases = parse_list(optarg, lv, LEASES_MAX);
			for (int i = 0; i < o.nleases; i++)
				o.lease_ms[i] = lv[i];
			break;
		}
		case 's': o.seed = (unsigned)atol(optarg); break;
		case 'j': json = optarg; break;
		case 'c':
			t = xasprintf("%s%s\n", conf, optarg);
			free(conf);
			conf = t;
			break;
		default: usage();
		}
	}
	if (optind != argc || o.emails < 20 || o.mailboxes < NMAX || o.rate < 0 ||
	    o.kills < 0 || o.kills > KILLS_MAX || o.kill_emails < 20)
		usage();
	po.conf = conf;
	po.source_dir = getenv("OL_SOURCE_DIR") != NULL ? getenv("OL_SOURCE_DIR") : ".";
	perf_o = &po;
	srand(o.seed);
	for (int i = 0; i < o.ncounts; i++) {
		counts[i] = o.counts[i];
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
		    throughput, NULL, teardown, &counts[i]);
	}
	if (o.kills > 0)
		for (int i = 0; i < o.nleases; i++) {
			kl[i].lease_ms = o.lease_ms[i];
			tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
			    takeover, NULL, teardown, &kl[i]);
		}
	if (n == 0)
		usage();
	fprintf(stderr, "instances-bench: %s, load average %.2f at start, %ld cores, seed %u\n",
	    test_database_is_pg() ? "PostgreSQL" : "SQLite (no OL_TEST_PG_URL_FILE)", load,
	    sysconf(_SC_NPROCESSORS_ONLN), o.seed);
	failed = _cmocka_run_group_tests("instances-bench", tests, (size_t)n, NULL, NULL);

	printf("\nolsync instances-bench%s on %s (load average %.2f at start, %ld cores; backlog "
	    "%ld emails over %d mailboxes, live mail %.0f/s while it lasts; busy = share of one "
	    "core, mean/busiest second)\n\n", quick ? " --quick (smoke sizes)" : "",
	    test_database_is_pg() ? "PostgreSQL" : "SQLite", load,
	    sysconf(_SC_NPROCESSORS_ONLN), o.emails, o.mailboxes, o.rate);
	print_runs();
	if (o.kills > 0) {
		printf("\nthree instances, one SIGKILLed at random during load, %d times per lease "
		    "time (backlog %ld emails, live %.0f/s until the takeover); takeover = until "
		    "the survivors hold all its mailboxes, all logged = until every email posted "
		    "is logged, both from the kill\n", o.kills, o.kill_emails, o.rate);
		print_kills();
	}
	if (json != NULL)
		write_json(json, load);
	for (int i = 0; i < nruns; i++)
		json_decref(runs[i].busy.extra);
	free(conf);
	return sim_proc_exit_status(failed);
}
