/* perf.h: perf-bench (bench/perf.sh), issue 8's benchmark: its scenarios (perf_*.c), the world
 * they run olsync in (perf_world.c) and the row each adds to the one results table
 * (perf_bench.c). Failures fail the running cmocka test, after the row is filled. */
#ifndef PERF_H
#define PERF_H

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "bench_util.h"
#include "e2e.h"

#define PERF_RATES_MAX	4

struct perf_opts {
	int quick;
	long backfill_emails;
	int backfill_mailboxes;
	double rates[PERF_RATES_MAX];	/* real time: emails per second, one scenario each */
	int nrates;
	double rt_seconds;
	int rt_mailboxes;
	int idle_mailboxes;
	double idle_seconds;		/* the watch after start, one email a second */
	double intake_seconds;
	int intake_conns;
	int intake_mailboxes;
	long naive_emails;
	const char *conf;		/* extra lines for olsync's configuration ("" for none) */
	const char *source_dir;		/* for bench/naive_reference.mjs and bench/intake.lua */
};

/* One line of the results table. NAN or -1: not measured in this scenario. */
struct perf_row {
	char name[40];
	char status[256];	/* "ok", "skipped: ...", "FAILED: ..." */
	long emails;
	double wall_s, per_sec;
	double p50_ms, p99_ms;
	double sf_per_k, graph_per_k, cpu_per_k;	/* per 1,000 emails */
	long rss_kib;
	double graph_busy, graph_busy_max, sf_busy, sf_busy_max;	/* shares of one core */
	json_t *extra;		/* scenario's own figures, name -> number or text (owned) */
};

extern const struct perf_opts *perf_o;

/* A new row named name (all NAN/-1, status "ok"), kept for the table; borrowed. */
struct perf_row *perf_row_add(const char *name);
/* The row named name, or NULL when that scenario did not run. */
struct perf_row *perf_row_find(const char *name);
void perf_row_set(struct perf_row *r, const char *key, json_t *value);	/* steals value */

/* The mail of a world: emails from the seeded Contacts and Leads, from unknown senders (who
 * become Leads) and between reps (internal, skipped), to and from mailboxes reps. */
struct perf_mix {
	long emails;
	int mailboxes;
	int contacts, leads, unknown;	/* the sizes of the sender pools */
};

enum perf_kind { PERF_CONTACT_IN, PERF_CONTACT_OUT, PERF_LEAD_IN, PERF_UNKNOWN_IN,
	PERF_INTERNAL };

/* What email i of m is (a fixed pattern of 20: 6 from a Contact, 2 to one, 2 from a Lead,
 * 8 from unknown senders, 2 internal). */
enum perf_kind perf_mail_kind(long i);
/* Email i as a graph-sim mail object (POST /_sim/mail, the seed's "mail"), JSON text dated
 * date (ISO 8601; NULL: now) with internetMessageId <perf-i@bench.example>; each kind takes
 * the senders of its pool in turn. Caller frees. */
char *perf_mail_json(const struct perf_mix *m, long i, const char *date);
/* The sf-sim seed records of the Contacts and Leads of m: "\"Contact\":[..],\"Lead\":[..]".
 * Caller frees. */
char *perf_mix_sf_rest(const struct perf_mix *m);

struct perf_world {
	struct e2e_world w;
	int port;			/* the webhook's, 0 without real time */
	struct e2e_daemon dm;
	char ledger[PATH_MAX + 16];
	double seed_s;			/* writing and loading the graph seed file */
};

/* Starts a world of m->mailboxes reps (olsync reading `mailboxes all`), sf-sim seeded with
 * m's Contacts and Leads, graph-sim from a seed file holding m's first seeded mails (emails
 * dated over the last 25 days); olsync in real time when realtime, with perf_o->conf. For
 * setups: -1 on failure. */
int perf_world_start(struct perf_world *pw, const char *name, const struct perf_mix *m,
    long seeded, int realtime);
int perf_world_stop(struct perf_world *pw);
/* Every scenario's teardown: stops the world a failed scenario left running. */
int perf_teardown(void **state);
/* olsync run, then until the ledger holds a subscription of each kind for every mailbox, a
 * pass is logged and no folder is left marked (at most timeout_s): the seconds from start to
 * then. */
double perf_daemon_ready(struct perf_world *pw, int mailboxes, double timeout_s);
/* The subscriptions per mailbox olsync makes with this configuration (3 with meetings). */
int perf_kinds(struct perf_world *pw);
/* A number from the ledger: the first column of the first row of sql, or -1. */
long long perf_ledger_int(struct perf_world *pw, const char *sql);
/* Calls fn for each record of the SOQL query (every page) on sf-sim as its admin. */
void perf_soql(struct perf_world *pw, const char *soql, void (*fn)(json_t *rec, void *arg),
    void *arg);
/* Checks the Tasks in sf-sim against emails 0..n-1 of the mix (perf_mail_kind): each one with
 * an external party logged exactly once, none for internal mail or unknown ids; the "tasks" and
 * "check" figures into r, and r's status FAILED otherwise. */
void perf_check_tasks(struct perf_world *pw, struct perf_row *r, long n);
/* A configuration value as `olsync check-config -v` prints it, in val. -1 when absent. */
int perf_conf_value(struct perf_world *pw, const char *key, char *val, size_t len);

/* Emulator CPU shares over a run, sampled once a second (each emulator serves one request at
 * a time, so 1.0 is its ceiling). */
struct perf_sampler {
	pthread_t th;
	pthread_mutex_t lock;
	pid_t pid[2];
	long long first[2], last[2];
	double max_share[2], t0, t_last;
	int stop;
	struct bench_pgcpu pg;	/* the ledger's PostgreSQL server, when the world has one */
};
void perf_sampler_start(struct perf_sampler *s, struct perf_world *pw);
/* Stops s and puts the mean and the busiest second of each emulator into r, and with a
 * PostgreSQL ledger the server's CPU seconds (r's extra "postgresql_cpu_s"). */
void perf_sampler_stop(struct perf_sampler *s, struct perf_row *r);

/* The emulators' /_sim/stats now (owned). */
struct perf_stats {
	json_t *graph, *sf;
};
void perf_stats_read(struct perf_world *pw, struct perf_stats *st);
void perf_stats_free(struct perf_stats *st);
/* sf_per_k and graph_per_k of r for n emails, from a and b; the routes into r's extra. */
void perf_stats_rows(struct perf_row *r, const struct perf_stats *a, const struct perf_stats *b,
    long n);

/* Starts argv (argv[0] found on PATH) with its standard output into the file out; the pid. */
pid_t perf_spawn(char *const argv[], const char *out);
/* A Salesforce datetime ("2026-11-26T06:01:02.345+0000") in seconds since the epoch, or -1. */
double perf_sf_time(const char *v);

/* The scenarios, as cmocka tests with their own world (state: unused). */
void perf_backfill(void **state);
void perf_naive(void **state);
void perf_realtime(void **state);	/* every rate of perf_o->rates */
void perf_idle(void **state);
void perf_intake(void **state);

#endif
