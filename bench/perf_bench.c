/* perf_bench.c: issue 8's benchmark (run by bench/perf.sh): olsync against graph-sim and
 * sf-sim in five scenarios (backfill, the naive reference, real time at given rates, many idle
 * mailboxes, webhook intake under wrk), one results table with the targets, and the
 * same as JSON. The scenarios are cmocka tests (perf_*.c); a failing one still gets its row. */
#include "perf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "sim_proc.h"
#include "testdb.h"
#include "xmalloc.h"

#define ROWS_MAX	16
#define CELLS		12
#define TABLE_MAX	32

const struct perf_opts *perf_o;
static struct perf_row rows[ROWS_MAX];
static int nrows;

struct perf_row *
perf_row_add(const char *name)
{
	struct perf_row *r;

	if (nrows == ROWS_MAX)
		fail_msg("too many rows");
	r = &rows[nrows++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->status, sizeof(r->status), "ok");
	r->emails = -1;
	r->rss_kib = -1;
	r->wall_s = r->per_sec = r->p50_ms = r->p99_ms = NAN;
	r->sf_per_k = r->graph_per_k = r->cpu_per_k = NAN;
	r->graph_busy = r->graph_busy_max = r->sf_busy = r->sf_busy_max = NAN;
	r->extra = json_object();
	return r;
}

struct perf_row *
perf_row_find(const char *name)
{
	for (int i = 0; i < nrows; i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

/* A plain-text table: cells[row][col], the first row the heading; columns padded to their
 * widest cell. */
struct table {
	char cell[TABLE_MAX][CELLS][64];
	int nrow, ncol;
};

static void
table_add(struct table *t, const char *const *cells, int ncol)
{
	if (t->nrow == TABLE_MAX)
		return;
	for (int c = 0; c < ncol; c++)
		snprintf(t->cell[t->nrow][c], sizeof(t->cell[0][0]), "%s", cells[c]);
	t->ncol = ncol;
	t->nrow++;
}

static void
table_print(const struct table *t)
{
	int w[CELLS] = { 0 };

	for (int r = 0; r < t->nrow; r++)
		for (int c = 0; c < t->ncol; c++)
			if ((int)strlen(t->cell[r][c]) > w[c])
				w[c] = (int)strlen(t->cell[r][c]);
	for (int r = 0; r < t->nrow; r++) {
		for (int c = 0; c < t->ncol; c++)
			/* Text left, numbers right. */
			printf(c == 0 ? "%-*s" : "  %*s", w[c], t->cell[r][c]);
		printf("\n");
		if (r == 0) {
			for (int c = 0, n = 0; c < t->ncol; c++, n = 0)
				while (n++ < w[c] + (c ? 2 : 0))
					putchar('-');
			printf("\n");
		}
	}
}

static void
num(char *out, double v, int prec)
{
	if (isnan(v))
		snprintf(out, 64, "-");
	else
		snprintf(out, 64, "%.*f", prec, v);
}

static void
busy(char *out, double avg, double max)
{
	if (isnan(avg))
		snprintf(out, 64, "-");
	else
		snprintf(out, 64, "%.0f%%/%.0f%%", avg * 100, max * 100);
}

static void
print_results(void)
{
	static const char *const head[CELLS] = { "scenario", "emails", "emails/s", "p50 ms",
	    "p99 ms", "SF calls/1k", "Graph req/1k", "CPU s/1k", "peak RSS MiB",
	    "graph-sim busy", "sf-sim busy", "status" };
	struct table t = { 0 };
	char c[CELLS][64];
	const char *cells[CELLS];

	table_add(&t, head, CELLS);
	for (int i = 0; i < nrows; i++) {
		const struct perf_row *r = &rows[i];

		snprintf(c[0], 64, "%.39s", r->name);
		if (r->emails < 0)
			snprintf(c[1], 64, "-");
		else
			snprintf(c[1], 64, "%ld", r->emails);
		num(c[2], r->per_sec, 1);
		num(c[3], r->p50_ms, 1);
		num(c[4], r->p99_ms, 1);
		num(c[5], r->sf_per_k, 1);
		num(c[6], r->graph_per_k, 1);
		num(c[7], r->cpu_per_k, 3);
		num(c[8], r->rss_kib < 0 ? NAN : (double)r->rss_kib / 1024, 1);
		busy(c[9], r->graph_busy, r->graph_busy_max);
		busy(c[10], r->sf_busy, r->sf_busy_max);
		snprintf(c[11], 64, "%.63s", r->status);
		for (int k = 0; k < CELLS; k++)
			cells[k] = c[k];
		table_add(&t, cells, CELLS);
	}
	table_print(&t);
}

struct target {
	const char *row, *what;
	double (*get)(const struct perf_row *r);
	int below;		/* 1: pass when under limit, 0: when at least limit */
	double limit;
};

static double get_sf(const struct perf_row *r) { return r->sf_per_k; }
static double get_graph(const struct perf_row *r) { return r->graph_per_k; }
static double get_rate(const struct perf_row *r) { return r->per_sec; }
static double get_p99(const struct perf_row *r) { return r->p99_ms; }
static double get_rss(const struct perf_row *r) { return r->rss_kib < 0 ? NAN :
    (double)r->rss_kib / 1024; }

static double
get_extra(const struct perf_row *r, const char *key)
{
	json_t *v = json_object_get(r->extra, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static double get_sf_ratio(const struct perf_row *r) { return get_extra(r, "sf_calls_ratio"); }
static double get_cpu_ratio(const struct perf_row *r) { return get_extra(r, "cpu_ratio"); }

/* Issue 8's targets. */
static const struct target targets[] = {
	{ "backfill", "SF calls per 1,000 emails <= 5", get_sf, 1, 5.0001 },
	{ "backfill", "Graph requests per 1,000 emails <= 20", get_graph, 1, 20.0001 },
	{ "backfill", "emails/s >= 500", get_rate, 0, 500 },
	{ "backfill", "peak RSS < 64 MiB", get_rss, 1, 64 },
	{ "realtime 20/s", "SF calls per 1,000 emails <= 60", get_sf, 1, 60.0001 },
	{ "realtime 20/s", "p99 latency < 3 s", get_p99, 1, 3000 },
	{ "realtime 200/s", "p99 latency < 3 s", get_p99, 1, 3000 },
	{ "intake", "acknowledged/s >= 5,000", get_rate, 0, 5000 },
	{ "intake", "p99 < 50 ms", get_p99, 1, 50 },
	{ "idle", "peak RSS < 32 MiB (stated for 1,000 mailboxes)", get_rss, 1, 32 },
	{ "naive", "naive/olsync SF calls per email >= 100x", get_sf_ratio, 0, 100 },
	{ "naive", "naive/olsync CPU per email >= 10x", get_cpu_ratio, 0, 10 },
};

static json_t *
print_targets(void)
{
	static const char *const head[] = { "target", "measured", "" };
	struct table t = { 0 };
	json_t *out = json_array();

	table_add(&t, head, 3);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *g = &targets[i];
		const struct perf_row *r = perf_row_find(g->row);
		double v = r != NULL && strcmp(r->status, "ok") == 0 ? g->get(r) : NAN;
		const char *verdict = isnan(v) ? "n/a" : (g->below ? v < g->limit : v >= g->limit) ?
		    "pass" : "miss";
		char what[64], val[64];
		const char *cells[3] = { what, val, verdict };

		snprintf(what, sizeof(what), "%s: %s", g->row, g->what);
		num(val, v, v < 10 ? 2 : 1);
		if (!isnan(v) && (g->get == get_sf_ratio || g->get == get_cpu_ratio)) {
			size_t len = strlen(val);

			snprintf(val + len, sizeof(val) - len, "x");
		}
		table_add(&t, cells, 3);
		json_array_append_new(out, json_pack("{s:s,s:s,s:o,s:s}", "scenario", g->row,
		    "target", g->what, "measured", isnan(v) ? json_null() : json_real(v),
		    "verdict", verdict));
	}
	table_print(&t);
	return out;
}

/* The scenario's own figures (numbers and texts; the per-route counts go to JSON only). */
static void
print_extras(void)
{
	for (int i = 0; i < nrows; i++) {
		const char *k;
		json_t *v;

		printf("%s:", rows[i].name);
		json_object_foreach(rows[i].extra, k, v) {
			if (json_is_integer(v))
				printf(" %s=%lld", k, (long long)json_integer_value(v));
			else if (json_is_real(v))
				printf(" %s=%.6g", k, json_real_value(v));
		}
		printf("\n");
		json_object_foreach(rows[i].extra, k, v)
			if (json_is_string(v))
				printf("  %s: %s\n", k, json_string_value(v));
	}
}

static json_t *
num_json(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static void
write_json(const char *path, json_t *targets_json, double loadavg)
{
	json_t *out = json_object(), *arr = json_array();

	for (int i = 0; i < nrows; i++) {
		const struct perf_row *r = &rows[i];

		json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o,s:o,s:o,s:O}", "scenario", r->name, "status", r->status,
		    "emails", r->emails < 0 ? json_null() : json_integer(r->emails),
		    "wall_s", num_json(r->wall_s), "emails_per_s", num_json(r->per_sec),
		    "p50_ms", num_json(r->p50_ms), "p99_ms", num_json(r->p99_ms),
		    "sf_calls_per_1k", num_json(r->sf_per_k),
		    "graph_requests_per_1k", num_json(r->graph_per_k),
		    "olsync_cpu_s_per_1k", num_json(r->cpu_per_k),
		    "peak_rss_kib", r->rss_kib < 0 ? json_null() : json_integer(r->rss_kib),
		    "graph_sim_busy", num_json(r->graph_busy),
		    "graph_sim_busy_max_1s", num_json(r->graph_busy_max),
		    "sf_sim_busy", num_json(r->sf_busy), "sf_sim_busy_max_1s",
		    num_json(r->sf_busy_max), "extra", r->extra));
	}
	json_object_set_new(out, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(out, "loadavg_at_start", json_real(loadavg));
	json_object_set_new(out, "scenarios", arr);
	json_object_set_new(out, "targets", targets_json);
	if (json_dump_file(out, path, JSON_INDENT(1)) != 0)
		fprintf(stderr, "perf-bench: cannot write %s\n", path);
	json_decref(out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: perf-bench [--quick] [--scenarios LIST] [--json PATH] "
	    "[--conf LINE]...\n"
	    "  [--backfill-emails N] [--backfill-mailboxes N] [--naive-emails N]\n"
	    "  [--rates R,R..] [--rt-seconds S] [--rt-mailboxes N]\n"
	    "  [--idle-mailboxes N] [--idle-seconds S]\n"
	    "  [--intake-seconds S] [--intake-conns N] [--intake-mailboxes N]\n"
	    "LIST: backfill,naive,realtime,idle,intake (the default: all)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "scenarios", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "conf", required_argument, NULL, 'c' },
		{ "backfill-emails", required_argument, NULL, 'e' },
		{ "backfill-mailboxes", required_argument, NULL, 'm' },
		{ "naive-emails", required_argument, NULL, 'n' },
		{ "rates", required_argument, NULL, 'r' },
		{ "rt-seconds", required_argument, NULL, 'd' },
		{ "rt-mailboxes", required_argument, NULL, 'M' },
		{ "idle-mailboxes", required_argument, NULL, 'i' },
		{ "idle-seconds", required_argument, NULL, 'I' },
		{ "intake-seconds", required_argument, NULL, 'w' },
		{ "intake-conns", required_argument, NULL, 'C' },
		{ "intake-mailboxes", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	static struct perf_opts o = {
		.backfill_emails = 100000, .backfill_mailboxes = 200, .rates = { 20, 200 },
		.nrates = 2, .rt_seconds = 120, .rt_mailboxes = 10, .idle_mailboxes = 10000,
		.idle_seconds = 60, .intake_seconds = 30, .intake_conns = 32,
		.intake_mailboxes = 10, .naive_emails = 2000,
	};
	struct CMUnitTest tests[8 + PERF_RATES_MAX];
	const char *scenarios = "backfill,naive,realtime,idle,intake", *json = NULL;
	char *conf = xstrdup(""), *t, *list, *tok, *save;
	double load = bench_loadavg1();
	int opt, n = 0, failed;
	json_t *tj;

	/* --quick first, so that sizes given with it still count. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0) {
			o.backfill_emails = 2000;
			o.backfill_mailboxes = 20;
			o.naive_emails = 300;
			o.rt_seconds = 5;
			o.rt_mailboxes = 4;
			o.idle_mailboxes = 50;
			o.idle_seconds = 3;
			o.intake_seconds = 5;
			o.intake_mailboxes = 4;
			o.quick = 1;
		}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': break;
		case 's': scenarios = optarg; break;
		case 'j': json = optarg; break;
		case 'c':
			t = xasprintf("%s%s\n", conf, optarg);
			free(conf);
			conf = t;
			break;
		case 'e': o.backfill_emails = atol(optarg); break;
		case 'm': o.backfill_mailboxes = atoi(optarg); break;
		case 'n': o.naive_emails = atol(optarg); break;
		case 'r':
			o.nrates = 0;
			list = xstrdup(optarg);
			for (tok = strtok_r(list, ",", &save); tok != NULL && o.nrates <
			    PERF_RATES_MAX; tok = strtok_r(NULL, ",", &save))
				o.rates[o.nrates++] = atof(tok);
			free(list);
			break;
		case 'd': o.rt_seconds = atof(optarg); break;
		case 'M': o.rt_mailboxes = atoi(optarg); break;
		case 'i': o.idle_mailboxes = atoi(optarg); break;
		case 'I': o.idle_seconds = atof(optarg); break;
		case 'w': o.intake_seconds = atof(optarg); break;
		case 'C': o.intake_conns = atoi(optarg); break;
		case 'W': o.intake_mailboxes = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o.backfill_emails < 20 || o.backfill_mailboxes < 2 ||
	    o.naive_emails < 20 || o.naive_emails > o.backfill_emails || o.rt_seconds <= 0 ||
	    o.rt_mailboxes < 2 || o.idle_mailboxes < 2 || o.intake_mailboxes < 2 ||
	    o.intake_conns < 1 || o.intake_seconds < 1 || o.nrates < 1)
		usage();
	for (int i = 0; i < o.nrates; i++)
		if (o.rates[i] <= 0)
			usage();
	o.conf = conf;
	o.source_dir = getenv("OL_SOURCE_DIR") != NULL ? getenv("OL_SOURCE_DIR") : ".";
	perf_o = &o;

	list = xasprintf(",%s,", scenarios);
#define WANT(s)	(strstr(list, "," s ",") != NULL)
	if (WANT("backfill"))
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(perf_backfill,
		    perf_teardown);
	if (WANT("naive"))
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(perf_naive,
		    perf_teardown);
	if (WANT("realtime"))
		for (int i = 0; i < o.nrates; i++)
			tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
			    perf_realtime, NULL, perf_teardown, &o.rates[i]);
	if (WANT("idle"))
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(perf_idle,
		    perf_teardown);
	if (WANT("intake"))
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(perf_intake,
		    perf_teardown);
#undef WANT
	free(list);
	if (n == 0)
		usage();
	fprintf(stderr, "perf-bench: load average %.2f at start, %ld cores\n", load,
	    sysconf(_SC_NPROCESSORS_ONLN));
	failed = _cmocka_run_group_tests("perf-bench", tests, (size_t)n, NULL, NULL);

	printf("\nolsync perf-bench%s, ledger on %s (load average %.2f at start; busy = share of "
	    "one core, mean/busiest second)\n\n", o.quick ? " --quick (smoke sizes: not the "
	    "issue's)" : "", test_database_is_pg() ? "PostgreSQL (the throwaway server of "
	    "OL_TEST_PG_URL_FILE: its CPU is postgresql_cpu_s below)" : "SQLite", load);
	print_results();
	printf("\n");
	tj = print_targets();
	printf("\n");
	print_extras();
	if (json != NULL)
		write_json(json, tj, load);
	json_decref(tj);
	for (int i = 0; i < nrows; i++)
		json_decref(rows[i].extra);
	free(conf);
	return sim_proc_exit_status(failed);
}
