/* perf_world.c: the world perf-bench runs olsync in: reps, Contacts and Leads, mail seeded from
 * a file, the ledger and sf-sim read back, and the emulators' CPU sampled (see perf.h). */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "httpc.h"
#include "mono.h"
#include "sim_http.h"
#include "store.h"
#include "tmpdir.h"
#include "xmalloc.h"

/* The world of the running scenario, for perf_teardown when it fails half-way. */
static struct perf_world *live;

void
perf_row_set(struct perf_row *r, const char *key, json_t *value)
{
	json_object_set_new(r->extra, key, value != NULL ? value : json_null());
}

#define BACKFILL_SPAN_SEC	(25 * 86400)	/* seeded mail is dated over this, inside backfill_days */

static const enum perf_kind pattern[20] = {
	PERF_CONTACT_IN, PERF_UNKNOWN_IN, PERF_CONTACT_IN, PERF_LEAD_IN, PERF_UNKNOWN_IN,
	PERF_CONTACT_OUT, PERF_UNKNOWN_IN, PERF_INTERNAL, PERF_CONTACT_IN, PERF_UNKNOWN_IN,
	PERF_CONTACT_IN, PERF_UNKNOWN_IN, PERF_LEAD_IN, PERF_CONTACT_OUT, PERF_UNKNOWN_IN,
	PERF_CONTACT_IN, PERF_INTERNAL, PERF_UNKNOWN_IN, PERF_CONTACT_IN, PERF_UNKNOWN_IN,
};

enum perf_kind
perf_mail_kind(long i)
{
	return pattern[i % 20];
}

/* How many emails of its kind come before email i. */
static long
nth_of_kind(long i)
{
	long before = 0, per_cycle = 0;
	enum perf_kind k = perf_mail_kind(i);

	for (int j = 0; j < 20; j++) {
		per_cycle += pattern[j] == k;
		before += pattern[j] == k && j < i % 20;
	}
	return i / 20 * per_cycle + before;
}

char *
perf_mail_json(const struct perf_mix *m, long i, const char *date)
{
	long rep = i % m->mailboxes, other = (i / m->mailboxes + 1 + rep) % m->mailboxes;
	/* The n-th email of its kind takes the n-th sender of its pool, round robin. */
	long nth = nth_of_kind(i);
	long c = nth % m->contacts, l = nth % m->leads, u = nth % m->unknown;
	char from[128], to[128], dates[64] = "";

	switch (perf_mail_kind(i)) {
	case PERF_CONTACT_IN:
		snprintf(from, sizeof(from), "Client %ld <c%ld@client%ld.example>", c, c, c % 500);
		snprintf(to, sizeof(to), "rep%ld@contoso.com", rep);
		break;
	case PERF_CONTACT_OUT:
		snprintf(from, sizeof(from), "Rep %ld <rep%ld@contoso.com>", rep, rep);
		snprintf(to, sizeof(to), "c%ld@client%ld.example", c, c % 500);
		break;
	case PERF_LEAD_IN:
		snprintf(from, sizeof(from), "Lead %ld <l%ld@leadco%ld.example>", l, l, l % 100);
		snprintf(to, sizeof(to), "rep%ld@contoso.com", rep);
		break;
	case PERF_UNKNOWN_IN:
		snprintf(from, sizeof(from), "Pat Prospect%ld <u%ld@prospect%ld.example>", u, u,
		    u % 300);
		snprintf(to, sizeof(to), "rep%ld@contoso.com", rep);
		break;
	case PERF_INTERNAL:
		snprintf(from, sizeof(from), "Rep %ld <rep%ld@contoso.com>", rep, rep);
		snprintf(to, sizeof(to), "rep%ld@contoso.com", other == rep ? (rep + 1) %
		    m->mailboxes : other);
		break;
	}
	if (date != NULL)
		snprintf(dates, sizeof(dates), ",\"date\":\"%s\"", date);
	return xasprintf("{\"from\":\"%s\",\"to\":[\"%s\"],\"subject\":\"perf %ld\","
	    "\"body\":\"Bench mail %ld: about the renewal and the quote.\","
	    "\"internetMessageId\":\"<perf-%ld@bench.example>\"%s}", from, to, i, i, i, dates);
}

char *
perf_mix_sf_rest(const struct perf_mix *m)
{
	size_t len;
	char *out;
	FILE *fp = open_memstream(&out, &len);

	if (fp == NULL)
		fail_msg("open_memstream");
	fputs("\"Contact\":[", fp);
	for (int i = 0; i < m->contacts; i++)
		fprintf(fp, "%s{\"FirstName\":\"Client\",\"LastName\":\"C%d\","
		    "\"Email\":\"c%d@client%d.example\"}", i ? "," : "", i, i, i % 500);
	fputs("],\"Lead\":[", fp);
	for (int i = 0; i < m->leads; i++)
		fprintf(fp, "%s{\"FirstName\":\"Lead\",\"LastName\":\"L%d\",\"Company\":"
		    "\"Leadco %d\",\"Email\":\"l%d@leadco%d.example\"}", i ? "," : "", i, i % 100, i,
		    i % 100);
	fputs("]", fp);
	fclose(fp);
	return out;
}

/* graph-sim's seed: the tenant, the app, the reps and the first n mails of m. */
static void
write_graph_seed(const char *path, const char *graph_users, const struct perf_mix *m, long n)
{
	char *head = e2e_graph_seed(graph_users);
	FILE *fp = fopen(path, "w");
	time_t now = time(NULL);

	if (fp == NULL)
		fail_msg("cannot write %s", path);
	/* The seed object without its closing brace, then the mail. */
	fwrite(head, 1, strlen(head) - 1, fp);
	fputs(",\"mail\":[", fp);
	for (long i = 0; i < n; i++) {
		/* Oldest first, a minute apart at most, the newest a minute ago. */
		time_t t = now - 60 - (time_t)(((n - 1 - i) * (BACKFILL_SPAN_SEC / (n ? n : 1))));
		char date[32], *mail;
		struct tm tm;

		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		mail = perf_mail_json(m, i, date);
		fprintf(fp, "%s%s\n", i ? "," : "", mail);
		free(mail);
	}
	fputs("]}\n", fp);
	if (fclose(fp) != 0)
		fail_msg("cannot write %s", path);
	free(head);
}

int
perf_world_start(struct perf_world *pw, const char *name, const struct perf_mix *m,
    long seeded, int realtime)
{
	char *sf_users, *g_users, *mailboxes, *sf_rest, *lines, *seed;
	double t0 = mono_sec();
	int rc;

	memset(pw, 0, sizeof(*pw));
	if (tmpdir_make(pw->w.dir, sizeof(pw->w.dir), name) == -1)
		return -1;
	e2e_reps(m->mailboxes, &sf_users, &g_users, &mailboxes);
	seed = xasprintf("%s/graph-seed.json", pw->w.dir);
	write_graph_seed(seed, g_users, m, seeded);
	sf_rest = perf_mix_sf_rest(m);
	if (realtime)
		lines = e2e_realtime_lines(&pw->port, perf_o->conf);
	else
		lines = xasprintf("log_level info\n%s", perf_o->conf);
	/* `all`: a list of 200 or 10,000 addresses would pass the configuration's line limit,
	 * and it is what a large deployment writes. */
	rc = e2e_world_start_file(&pw->w, sf_users, sf_rest, seed, "all", lines);
	pw->seed_s = mono_sec() - t0;
	if (rc == 0)
		live = pw;
	/* a file in the world, or with OL_TEST_PG_URL_FILE a PostgreSQL URI */
	snprintf(pw->ledger, sizeof(pw->ledger), "%s", rc == 0 ? pw->w.database : "");
	if (rc == 0 && realtime)
		/* Plain http on loopback; everything else as graph-sim models Graph by default. */
		json_decref(sim_http_ctl(pw->w.graph.base_url, "POST", "/_sim/config",
		    "{\"require_https\":false}", 200));
	free(seed);
	free(sf_users);
	free(g_users);
	free(mailboxes);
	free(sf_rest);
	free(lines);
	return rc;
}

int
perf_world_stop(struct perf_world *pw)
{
	live = NULL;
	return e2e_world_teardown(&pw->w, &pw->dm);
}

int
perf_teardown(void **state)
{
	(void)state;
	return live != NULL ? perf_world_stop(live) : 0;
}

long long
perf_ledger_int(struct perf_world *pw, const char *sql)
{
	struct store *db = NULL;
	struct store_stmt *st;
	char err[256];
	long long v = -1;

	/* the world's ledger: a SQLite file, or its PostgreSQL database */
	if (store_open(pw->w.database, NULL, &db, err, sizeof(err)) == -1)
		return -1;
	if ((st = store_prepare(db, sql)) != NULL && store_step(st) == STORE_ROW)
		v = store_column_int64(st, 0);
	store_finalize(st);
	store_close(db);
	return v;
}

int
perf_conf_value(struct perf_world *pw, const char *key, char *val, size_t len)
{
	char *out = NULL, *p, *want = xasprintf("\n%s ", key);
	int rc = -1;

	e2e_run(pw->w.dir, &out, NULL, "-c", pw->w.conf, "check-config", "-v", NULL);
	if ((p = strstr(out, want)) != NULL) {
		p += strlen(want);
		p += strspn(p, " =\t");
		snprintf(val, len, "%.*s", (int)strcspn(p, " \t\n#"), p);
		rc = 0;
	}
	free(want);
	free(out);
	return rc;
}

int
perf_kinds(struct perf_world *pw)
{
	char v[32];

	return perf_conf_value(pw, "meetings", v, sizeof(v)) == 0 && strcmp(v, "no") == 0 ? 2 :
	    3;
}

double
perf_daemon_ready(struct perf_world *pw, int mailboxes, double timeout_s)
{
	long long want = (long long)perf_kinds(pw) * mailboxes;
	double t0 = mono_sec();

	e2e_daemon_start(&pw->dm, pw->w.dir, pw->w.conf, pw->port);
	for (;;) {
		long long subs = perf_ledger_int(pw, "SELECT count(*) FROM subscriptions");

		/* A new subscription marks its folder (mail may have come before it): start-up
		 * ends when those reads are done too. */
		if (subs >= want && bench_file_lines(pw->dm.log, "engine pass ") >= 1 &&
		    perf_ledger_int(pw, "SELECT count(*) FROM dirty_folders") == 0)
			return mono_sec() - t0;
		if (mono_sec() - t0 > timeout_s)
			fail_msg("olsync not ready after %.0f s: %lld of %lld subscriptions (log: %s)",
			    timeout_s, subs, want, pw->dm.log);
		usleep(100 * 1000);
	}
}

void
perf_soql(struct perf_world *pw, const char *soql, void (*fn)(json_t *rec, void *arg),
    void *arg)
{
	char *q = httpc_escape(soql);
	char *path = xasprintf("/services/data/v62.0/query?q=%s", q);

	free(q);
	while (path != NULL) {
		struct sim_http h;
		json_t *rec;
		const char *next;
		size_t k;

		sim_http_do(&h, pw->w.sf.p.base_url, "GET", path, NULL, pw->w.sf.token, NULL);
		sim_http_expect(&h, 200, soql);
		json_array_foreach(json_object_get(h.json, "records"), k, rec)
			fn(rec, arg);
		next = json_string_value(json_object_get(h.json, "nextRecordsUrl"));
		free(path);
		path = next != NULL && !json_is_true(json_object_get(h.json, "done")) ?
		    xstrdup(next) : NULL;
		sim_http_free(&h);
	}
}

/* Tasks counted by OutlookMessageId__c: digest -> count. */
static void
count_task(json_t *rec, void *arg)
{
	json_t *seen = arg;
	const char *d = json_string_value(json_object_get(rec, "OutlookMessageId__c"));

	if (d != NULL)
		json_object_set_new(seen, d, json_integer(json_integer_value(json_object_get(seen,
		    d)) + 1));
}

void
perf_check_tasks(struct perf_world *pw, struct perf_row *r, long n)
{
	json_t *seen = json_object();
	long once = 0, missing = 0, twice = 0, internal = 0, expected = 0;
	long long tasks = 0, unexpected;
	const char *k;
	json_t *v;

	perf_soql(pw, "SELECT OutlookMessageId__c FROM Task", count_task, seen);
	json_object_foreach(seen, k, v)
		tasks += json_integer_value(v);
	for (long i = 0; i < n; i++) {
		char mid[64], digest[NORMALIZE_DIGEST_LEN + 1];
		long c;

		snprintf(mid, sizeof(mid), "<perf-%ld@bench.example>", i);
		e2e_digest(mid, digest);
		c = (long)json_integer_value(json_object_get(seen, digest));
		json_object_del(seen, digest);
		if (perf_mail_kind(i) == PERF_INTERNAL) {
			internal += c;
			continue;
		}
		expected++;
		if (c == 0)
			missing++;
		else if (c == 1)
			once++;
		else
			twice++;
	}
	unexpected = (long long)json_object_size(seen);
	json_decref(seen);
	perf_row_set(r, "tasks", json_integer(tasks));
	perf_row_set(r, "check", json_sprintf("%ld emails with an external party: %ld logged "
	    "exactly once, %ld missing, %ld more than once; %ld Tasks for internal mail, %lld "
	    "for unknown ids", expected, once, missing, twice, internal, unexpected));
	if (once != expected || internal != 0 || unexpected != 0)
		snprintf(r->status, sizeof(r->status), "FAILED: %ld of %ld logged exactly once",
		    once, expected);
}

static void *
sample(void *arg)
{
	struct perf_sampler *s = arg;

	for (;;) {
		long long t[2];
		double now;
		int stop;

		usleep(1000 * 1000);
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		now = mono_sec();
		for (int i = 0; i < 2; i++) {
			t[i] = bench_cpu_ticks(s->pid[i]);
			if (now > s->t_last) {
				double share = bench_ticks_sec(t[i] - s->last[i]) / (now - s->t_last);

				if (share > s->max_share[i])
					s->max_share[i] = share;
			}
			s->last[i] = t[i];
		}
		s->t_last = now;
		bench_pg_cpu_sample(&s->pg, 0);
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

void
perf_sampler_start(struct perf_sampler *s, struct perf_world *pw)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->pid[0] = pw->w.graph.pid;
	s->pid[1] = pw->w.sf.p.pid;
	s->t0 = s->t_last = mono_sec();
	for (int i = 0; i < 2; i++)
		s->first[i] = s->last[i] = bench_cpu_ticks(s->pid[i]);
	(void)bench_pg_cpu_start(&s->pg, 0);
	if (pthread_create(&s->th, NULL, sample, s) != 0)
		fail_msg("pthread_create");
}

void
perf_sampler_stop(struct perf_sampler *s, struct perf_row *r)
{
	double wall;

	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	/* The last sample was taken after the stop: the whole run is covered. */
	wall = s->t_last - s->t0;
	r->graph_busy = bench_ticks_sec(s->last[0] - s->first[0]) / wall;
	r->sf_busy = bench_ticks_sec(s->last[1] - s->first[1]) / wall;
	r->graph_busy_max = s->max_share[0];
	r->sf_busy_max = s->max_share[1];
	if (bench_pg_cpu_s(&s->pg) >= 0)
		perf_row_set(r, "postgresql_cpu_s", json_real(bench_pg_cpu_s(&s->pg)));
	pthread_mutex_destroy(&s->lock);
}

void
perf_stats_read(struct perf_world *pw, struct perf_stats *st)
{
	st->graph = sim_http_ctl(pw->w.graph.base_url, "GET", "/_sim/stats", NULL, 200);
	st->sf = sim_http_ctl(pw->w.sf.p.base_url, "GET", "/_sim/stats", NULL, 200);
}

void
perf_stats_free(struct perf_stats *st)
{
	json_decref(st->graph);
	json_decref(st->sf);
	st->graph = st->sf = NULL;
}

/* The routes of one emulator that grew, into an object of r's extra named key. */
static void
routes(struct perf_row *r, const char *key, json_t *before, json_t *after)
{
	json_t *r0 = json_object_get(before, "routes"), *v, *o = json_object();
	const char *k;

	json_object_foreach(json_object_get(after, "routes"), k, v) {
		long long d = json_integer_value(v) - json_integer_value(json_object_get(r0, k));

		if (d != 0)
			json_object_set_new(o, k, json_integer(d));
	}
	perf_row_set(r, key, o);
}

void
perf_stats_rows(struct perf_row *r, const struct perf_stats *a, const struct perf_stats *b,
    long n)
{
	long long sf = bench_grew(a->sf, b->sf, "api_calls", NULL);
	long long g = bench_grew(a->graph, b->graph, "requests", NULL);

	r->sf_per_k = (double)sf * 1000.0 / (double)n;
	r->graph_per_k = (double)g * 1000.0 / (double)n;
	perf_row_set(r, "sf_api_calls", json_integer(sf));
	perf_row_set(r, "graph_requests", json_integer(g));
	perf_row_set(r, "graph_notifications_sent", json_integer(bench_grew(a->graph, b->graph,
	    "notifications", "sent")));
	routes(r, "graph_routes", a->graph, b->graph);
	routes(r, "sf_routes", a->sf, b->sf);
}

pid_t
perf_spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == -1)
		fail_msg("fork");
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd == -1)
			_exit(127);
		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

double
perf_sf_time(const char *v)
{
	struct tm tm;
	int ms = 0;

	memset(&tm, 0, sizeof(tm));
	if (v == NULL || sscanf(v, "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}
