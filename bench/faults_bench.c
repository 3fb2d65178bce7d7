/* faults_bench.c: the long form of tests/integration/test_faults.c: many mails over many rounds of
 * `olsync sync --once` while graph-sim and sf-sim fail a given share of requests with faults
 * drawn at random (Graph 429/503/504/drops/slow answers, Salesforce 401/403/HTML 503/lock/drops,
 * commits whose answer is lost); then, once the faults stop, what Salesforce holds: emails lost,
 * duplicated, dead. Usage: faults-bench [--emails N] [--rounds R] [--rate P] [--seed S]
 * (run by bench/faults.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "normalize.h"
#include "sim_http.h"
#include "xmalloc.h"

#define FAULT_PASSES	3	/* passes of a round with faults; then the round settles */
#define SETTLE_PASSES	30	/* passes of a round without faults before it must be done */
#define CONTACTS	5
#define STRANGERS	25	/* unknown senders: Leads */

struct opts {
	long emails;
	int rounds;
	double rate;		/* share of requests that take a fault, 0..1 */
	unsigned seed;
};

static struct e2e_world world;
static const struct opts *o;
static char when[40];
static json_t *mids;		/* internetMessageId of every mail */
static long injected, passes, failed_runs, faulted;	/* faulted: requests made while faults were on */
static long kinds[32];

static const char *const contacts[CONTACTS] = {
	"carol@fabrikam.com", "dave@northwind.com", "erin@fabrikam.com", "finn@northwind.com",
	"gina@northwind.com",
};
static const char *const reps[] = { "[\"alice@contoso.com\"]", "[\"bob@contoso.com\"]" };

/* The fault table: which emulator, the spec, how many requests it takes. */
static const struct {
	int sf;
	const char *name;
	const char *spec;
	int count;
} table[] = {
	{ 0, "graph 429", "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"status\":429,"
	  "\"retry_after\":1}", 1 },
	{ 0, "graph 503", "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"status\":503}", 1 },
	{ 0, "graph 504", "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"status\":504}", 1 },
	{ 0, "graph drop", "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"drop\":true,"
	  "\"count\":2}", 2 },
	{ 0, "graph slow", "{\"method\":\"GET\",\"path\":\"/v1.0/users/\",\"delay_ms\":300}", 1 },
	{ 1, "sf 401", "{\"path\":\"/services/data/v62.0/\",\"errorCode\":\"INVALID_SESSION_ID\"}",
	  1 },
	{ 1, "sf 403 limit", "{\"path\":\"/services/data/v62.0/\","
	  "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}", 1 },
	{ 1, "sf 503 html", "{\"path\":\"/services/data/v62.0/\",\"status\":503,\"html\":true}", 1 },
	{ 1, "sf lock", "{\"path\":\"/services/data/v62.0/composite/sobjects\","
	  "\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}", 1 },
	{ 1, "sf drop", "{\"path\":\"/services/data/v62.0/\",\"drop\":true,\"count\":2}", 2 },
	{ 1, "sf commit+drop Task", "{\"method\":\"PATCH\",\"path\":"
	  "\"/services/data/v62.0/composite/sobjects/Task\",\"drop\":true,\"after_commit\":true,"
	  "\"count\":2}", 2 },
	{ 1, "sf commit+drop create", "{\"method\":\"POST\",\"path\":"
	  "\"/services/data/v62.0/composite/sobjects\",\"drop\":true,\"after_commit\":true,"
	  "\"count\":2}", 2 },
};
#define NKINDS	(sizeof(table) / sizeof(table[0]))

static int
setup(void **state)
{
	time_t t = time(NULL) - 86400;
	struct tm tm;
	char *rest = xstrdup("\"Account\":[{\"_key\":\"acc\",\"Name\":\"Fabrikam\"}],\"Contact\":["), *s;

	o = *state;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	for (int i = 0; i < CONTACTS; i++) {
		s = xasprintf("%s%s{\"FirstName\":\"C%d\",\"LastName\":\"Contact\",\"Email\":\"%s\","
		    "\"AccountId\":\"@acc\"}", rest, i ? "," : "", i, contacts[i]);
		free(rest);
		rest = s;
	}
	s = xasprintf("%s]", rest);
	free(rest);
	rest = s;
	mids = json_object();
	if (e2e_world_start(&world, "faults_bench",
	    "{\"Username\":\"alice@contoso.com\",\"Email\":\"alice@contoso.com\","
	    "\"FirstName\":\"Alice\",\"LastName\":\"Adams\",\"Alias\":\"aadams\"},"
	    "{\"Username\":\"bob@contoso.com\",\"Email\":\"bob@contoso.com\","
	    "\"FirstName\":\"Bob\",\"LastName\":\"Brown\",\"Alias\":\"bbrown\"}", rest,
	    "[{\"userPrincipalName\":\"alice@contoso.com\"},{\"userPrincipalName\":\"bob@contoso.com\"}]",
	    "alice@contoso.com, bob@contoso.com",
	    "backfill_days 30\ncreate_leads yes\nmeetings no\nlog_level info\nretry_base 1s\n"
	    "http_timeout 4s\n") == -1) {
		free(rest);
		return -1;
	}
	free(rest);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(mids);
	return e2e_world_stop(&world);
}

static long
requests(void)
{
	json_t *g = sim_http_ctl(world.graph.base_url, "GET", "/_sim/stats", NULL, 200);
	json_t *s = sim_http_ctl(world.sf.p.base_url, "GET", "/_sim/stats", NULL, 200);
	long n = (long)(json_integer_value(json_object_get(g, "requests")) +
	    json_integer_value(json_object_get(s, "requests")));

	json_decref(g);
	json_decref(s);
	return n;
}

/* Clears what was scripted and not taken: only taken faults count as injected. */
static void
faults_clear(void)
{
	const char *bases[] = { world.graph.base_url, world.sf.p.base_url };
	json_t *r, *f;
	size_t i;

	for (int b = 0; b < 2; b++) {
		r = sim_http_ctl(bases[b], "GET", "/_sim/faults", NULL, 200);
		json_array_foreach(json_object_get(r, "faults"), i, f)
			injected -= (long)json_integer_value(json_object_get(f, "remaining"));
		json_decref(r);
		json_decref(sim_http_ctl(bases[b], "DELETE", "/_sim/faults", NULL, 200));
	}
}

/* Scripts about rate x n requests' worth of faults, kinds at random. */
static void
faults_script(long n)
{
	double want = o->rate * (double)n;
	long k = (long)want + ((double)rand() / RAND_MAX < want - (long)want ? 1 : 0);

	for (long i = 0; i < k; i++) {
		size_t j = (size_t)rand() % NKINDS;

		json_decref(sim_http_ctl(table[j].sf ? world.sf.p.base_url : world.graph.base_url,
		    "POST", "/_sim/faults", table[j].spec, 200));
		injected += table[j].count;
		kinds[j]++;
	}
}

static void
deliver(long n0, long n)
{
	for (long i = n0; i < n0 + n; i++) {
		int r = rand() % 10;
		char from[64], *b, key[32];
		json_t *res;

		if (r < 6)
			snprintf(from, sizeof(from), "%s", contacts[rand() % CONTACTS]);
		else
			snprintf(from, sizeof(from), "stranger%d@example%d.com", rand() % STRANGERS,
			    rand() % 3);
		/* One in ten to both reps: one Task for the two copies. */
		b = xasprintf("{\"from\":\"%s\",\"to\":%s,\"subject\":\"bench %ld\","
		    "\"body\":\"Mail %ld.\",\"date\":\"%s\"}", from, r == 9 ?
		    "[\"alice@contoso.com\",\"bob@contoso.com\"]" : reps[r % 2], i, i, when);
		res = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", b, 201);
		free(b);
		snprintf(key, sizeof(key), "%ld", i);
		json_object_set(mids, key, json_object_get(res, "internetMessageId"));
		json_decref(res);
	}
}

/* One `sync --once`; 1 when it read every folder and nothing is pending or failed. Under
 * faults a run may end 1: two INVALID_SESSION_IDs in a row are a fresh token refused, which
 * olsync reports as a credentials problem and leaves the messages pending. */
static int
pass(int faulty)
{
	char *err = NULL, *out = NULL;
	int done, rc;

	rc = e2e_run(world.dir, NULL, &err, "-c", world.conf, "sync", "--once", NULL);
	if (rc != 0 && !(faulty && rc == 1))
		fail_msg("sync --once exit %d", rc);
	failed_runs += rc != 0;
	passes++;
	done = strstr(err, "delta failed") == NULL;
	free(err);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	done = done && e2e_status_count(out, "pending ") == 0 &&
	    e2e_status_count(out, "failed ") == 0;
	free(out);
	return done;
}

static void
bench_faults(void **state)
{
	long per = 0, sent = 0, lost = 0, dup = 0, dead, logged, n, leads_dup = 0;
	double t0 = mono_sec();
	json_t *tasks, *leads, *v;
	char digest[NORMALIZE_DIGEST_LEN + 1], *out = NULL;
	const char *key;
	size_t i;

	(void)state;
	srand(o->seed);
	for (int r = 0; r < o->rounds; r++) {
		n = o->emails / o->rounds + (r < o->emails % o->rounds ? 1 : 0);
		deliver(sent, n);
		sent += n;
		for (int p = 0; p < FAULT_PASSES; p++) {
			long before = requests();

			faults_script(per > 0 ? per : 20);
			(void)pass(1);
			per = requests() - before;
			faulted += per;
			faults_clear();
			usleep(300 * 1000);
		}
		for (int p = 0; ; p++) {
			if (pass(0))
				break;
			if (p == SETTLE_PASSES)
				fail_msg("round %d not settled", r);
			usleep(1100 * 1000);
		}
	}

	tasks = e2e_records(world.sf.p.base_url, "Task");
	json_object_foreach(mids, key, v) {
		size_t c;

		e2e_digest(json_string_value(v), digest);
		c = e2e_count(tasks, "OutlookMessageId__c", digest);
		lost += c == 0;
		dup += c > 1;
	}
	leads = e2e_records(world.sf.p.base_url, "Lead");
	for (i = 0; i < STRANGERS * 3; i++) {
		char addr[64];

		snprintf(addr, sizeof(addr), "stranger%zu@example%zu.com", i / 3, i % 3);
		leads_dup += e2e_count(leads, "Email", addr) > 1;
	}
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	dead = (long)e2e_status_count(out, "dead ");
	logged = (long)e2e_status_count(out, "logged ");
	free(out);
	printf("faults-bench: emails=%ld rounds=%d rate=%.2f seed=%u\n", o->emails, o->rounds,
	    o->rate, o->seed);
	printf("faults injected   %ld in %ld requests of the faulted passes (1 in %.1f)\n",
	    injected, faulted, injected > 0 ? (double)faulted / (double)injected : 0.0);
	for (i = 0; i < NKINDS; i++)
		printf("  %-22s %ld scripted\n", table[i].name, kinds[i]);
	printf("messages          %ld\n", sent);
	printf("logged            %ld\n", logged);
	printf("tasks             %zu\n", json_array_size(tasks));
	printf("leads             %zu\n", json_array_size(leads));
	printf("lost              %ld\n", lost);
	printf("duplicated        %ld (leads duplicated %ld)\n", dup, leads_dup);
	printf("dead              %ld\n", dead);
	printf("passes            %ld (%ld ended 1 under faults)\n", passes, failed_runs);
	printf("wall              %.1f s\n", mono_sec() - t0);
	json_decref(tasks);
	json_decref(leads);
	assert_int_equal(lost, 0);
	assert_int_equal(dup, 0);
	assert_int_equal(leads_dup, 0);
	assert_int_equal(dead, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "emails", required_argument, NULL, 'e' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts opt_v = { .emails = 400, .rounds = 20, .rate = 0.1, .seed = 7 };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(bench_faults, setup, teardown, &opt_v),
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': opt_v.emails = atol(optarg); break;
		case 'n': opt_v.rounds = atoi(optarg); break;
		case 'r': opt_v.rate = atof(optarg); break;
		case 's': opt_v.seed = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: faults-bench [--emails N] [--rounds R] [--rate P] "
			    "[--seed S]\n");
			return 2;
		}
	}
	if (opt_v.emails < 1 || opt_v.rounds < 1 || opt_v.rounds > opt_v.emails ||
	    opt_v.rate < 0 || opt_v.rate > 1) {
		fprintf(stderr, "faults-bench: --emails >= 1, --rounds 1..emails, --rate 0..1\n");
		return 2;
	}
	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
