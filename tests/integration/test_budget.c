/* test_budget.c: the API budget and the batch window of `olsync run`, against graph-sim and
 * sf-sim: a backfill under a small daily allowance never makes olsync's calls (counted by
 * sf-sim) pass its share, says why, and finishes once the allowance is raised; a restart
 * remembers the calls of the last 24 hours; with the org's allowance short, live mail is written
 * while backfill waits; and the batch window gathers a burst into one batch (or, at 0, handles
 * each notification at once). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "sim_http.h"
#include "xmalloc.h"

#define REP		"rep0@contoso.com"
#define BACKFILL	1200	/* six batches of ENGINE_BATCH */

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port;
static char old_date[40];	/* backfill: three days ago */

static void
iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A world of one rep and Carol (a Contact), olsync in real time with extra lines. */
static int
setup(void **state)
{
	char *lines;
	json_t *r;
	int rc;

	/* Under OL_TEST_TIME_SCALE the default 2 s window is scaled too: posting test_window_gathers'
	 * 40 emails can take longer than 2 s when graph-sim runs under memcheck. */
	if (*state == NULL && mono_scale() > 1)
		lines = xasprintf("meetings no\nretry_base 2s\nhttp_timeout %lds\n"
		    "batch_window %ldms\n", mono_scaled(10000) / 1000, mono_scaled(2000));
	else
		lines = xasprintf("meetings no\nretry_base 2s\nhttp_timeout %lds\n%s",
		    mono_scaled(10000) / 1000, *state != NULL ? (const char *)*state : "");

	iso(time(NULL) - 3 * 86400, old_date, sizeof(old_date));
	rc = e2e_world_start_reps(&world, "test_budget", 1, E2E_SF_CAROL, lines, &port);
	free(lines);
	if (rc == -1)
		return -1;
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false,\"retry_scale\":0.001}", 200);
	json_decref(r);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_teardown(&world, &daemon_proc);
}

static void
sf_config(const char *body)
{
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config", body, 200));
}

#define TASK_WRITES()	e2e_route_calls(world.sf.p.base_url, "composite/sobjects/Task")

static void
backfill(int n)
{
	char subject[64];

	for (int i = 0; i < n; i++) {
		snprintf(subject, sizeof(subject), "Backfill %d", i);
		free(e2e_mail_from_carol(world.graph.base_url, REP, subject, old_date));
	}
}

static void
start(void)
{
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
}

/* Starts olsync and waits until it is subscribed and its first pass is over: what comes next
 * is the notifications' doing. */
static void
start_idle(void)
{
	start();
	assert_true(e2e_daemon_wait_log(&daemon_proc, "subscriptions reconciled", 10000));
	assert_true(e2e_daemon_wait_log(&daemon_proc, "engine pass rc=0", 10000));
	mono_sleep(500);
}

static char *
status(void)
{
	char *out = NULL;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	return out;
}

/* Tasks whose OutlookMessageId__c are all different (each email written once). */
static size_t
distinct_tasks(void)
{
	json_t *recs = e2e_records(world.sf.p.base_url, "Task"), *seen = json_object(), *v;
	size_t i;

	json_array_foreach(recs, i, v)
		json_object_set_new(seen, e2e_field(v, "OutlookMessageId__c"), json_true());
	i = json_object_size(seen);
	json_decref(seen);
	json_decref(recs);
	return i;
}

/* An org allowance of 100 a day (sf_budget_share 20 in the configuration: 20 calls for olsync),
 * a backfill bigger than that buys, and olsync started until it holds. */
static void
spend_share(void)
{
	sf_config("{\"daily_api_limit\":100}");
	backfill(BACKFILL);
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	start();
	assert_true(e2e_daemon_wait_log(&daemon_proc, "budget hold reason=share_spent", 60000));
}

/* A daily allowance of 100 with a share of 20%: the backfill stops at 20 calls, pending (not
 * dead), with the reason in the log and in `olsync status`; raising the org's allowance lets it
 * finish, each email once. */
static void
test_share_never_exceeded(void **state)
{
	long calls;
	size_t tasks;
	char *out;

	(void)state;
	spend_share();
	calls = e2e_sf_api_calls(world.sf.p.base_url);
	tasks = e2e_record_count(world.sf.p.base_url, "Task");
	fprintf(stderr, "held: %ld calls, %zu Tasks\n", calls, tasks);
	assert_true(calls > 0);
	assert_true(calls <= 20);
	assert_true(tasks >= 200);		/* some batches went */
	assert_true(tasks < BACKFILL);		/* not all */
	out = status();
	assert_non_null(strstr(out, "api_budget exhausted"));
	assert_non_null(strstr(out, "of 20 (sf_budget_share 20% of the org's 100"));
	assert_true(e2e_status_count(out, "api_calls ") <= 20);
	assert_int_equal(e2e_status_count(out, "logged "), (long long)tasks);
	assert_int_equal(e2e_status_count(out, "pending ") + e2e_status_count(out, "failed "),
	    (long long)(BACKFILL - tasks));
	assert_int_equal(e2e_status_count(out, "dead "), 0);
	free(out);
	/* A while later: still no more than the share (a look at /limits is a call too). */
	mono_sleep(3000);
	assert_true(e2e_sf_api_calls(world.sf.p.base_url) <= 20);

	sf_config("{\"daily_api_limit\":100000}");
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", BACKFILL, 90000),
	    BACKFILL);
	assert_int_equal(distinct_tasks(), BACKFILL);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	out = status();
	assert_int_equal(e2e_status_count(out, "logged "), BACKFILL);
	assert_non_null(strstr(out, "api_budget ok"));
	free(out);
}

/* The calls of the last 24 hours are in the ledger: a restarted olsync does not spend the share
 * again. */
static void
test_restart_remembers(void **state)
{
	long calls, after;
	char *log;

	(void)state;
	spend_share();
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	calls = e2e_sf_api_calls(world.sf.p.base_url);
	assert_true(calls <= 20);

	start();
	assert_true(e2e_daemon_wait_log(&daemon_proc, "budget hold reason=share_spent", 30000));
	mono_sleep(3000);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	after = e2e_sf_api_calls(world.sf.p.base_url);
	fprintf(stderr, "before the restart %ld calls, after %ld\n", calls, after);
	assert_true(after <= 20);
	log = e2e_daemon_log(&daemon_proc);
	/* The second run wrote nothing: every batch it could afford was spent by the first. */
	assert_null(strstr(log, "engine logged"));
	free(log);
}

/* The org's allowance nearly spent by others (4% left): the backfill waits, pending, while a new
 * email, notified, is written, after a batch window widened about 12 times (50 / 4). */
static void
test_live_before_backfill(void **state)
{
	char now_date[40], *out, *log;
	const char *p;
	double widened = 0;
	json_t *tasks;

	(void)state;
	sf_config("{\"daily_api_limit\":10000,\"api_used\":9600}");
	backfill(300);
	start();
	assert_true(e2e_daemon_wait_log(&daemon_proc, "subscriptions reconciled", 10000));
	assert_true(e2e_daemon_wait_log(&daemon_proc, "budget short", 10000));
	assert_true(e2e_daemon_wait_log(&daemon_proc, "engine pass rc=0", 10000));
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "Task"), 0);

	iso(time(NULL), now_date, sizeof(now_date));
	free(e2e_mail_from_carol(world.graph.base_url, REP, "Live one", now_date));
	assert_int_equal(e2e_wait_records(world.sf.p.base_url, "Task", 1, 20000), 1);
	mono_sleep(1000);
	tasks = e2e_records(world.sf.p.base_url, "Task");
	assert_int_equal(json_array_size(tasks), 1);
	assert_string_equal(e2e_field(json_array_get(tasks, 0), "Subject"), "Email: Live one");
	json_decref(tasks);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	log = e2e_daemon_log(&daemon_proc);
	assert_non_null(strstr(log, "action=live_mail_only"));
	assert_non_null(p = strstr(log, "daemon batch notifications=1 "));
	assert_non_null(p = strstr(p, "widened="));
	widened = strtod(p + strlen("widened="), NULL);
	fprintf(stderr, "org at 4%%: the window widened %g times\n", widened);
	assert_true(widened >= 10 && widened <= 15);
	free(log);
	out = status();
	assert_int_equal(e2e_status_count(out, "pending "), 300);
	assert_int_equal(e2e_status_count(out, "logged "), 1);
	assert_non_null(strstr(out, "api_budget short"));
	free(out);
}

/* Posts a new email (dated now) with subject "<prefix> <i>", written into subject; returns
 * when (monotonic ms). */
static long
post_live(char subject[32], const char *prefix, int i)
{
	char now_date[40];
	long t;

	iso(time(NULL), now_date, sizeof(now_date));
	snprintf(subject, 32, "%s %d", prefix, i);
	t = mono_ms();
	free(e2e_mail_from_carol(world.graph.base_url, REP, subject, now_date));
	return t;
}

/* Polls until every subject of subjects[0..n-1] is a Task, noting when each was first seen
 * (monotonic ms) in seen[]; gives up after timeout_ms (scaled). */
static void
wait_subjects(char subjects[][32], long *seen, int n, long timeout_ms)
{
	long t0 = mono_ms();

	timeout_ms = mono_scaled(timeout_ms);
	int left = n;

	for (int i = 0; i < n; i++)
		seen[i] = 0;
	while (left > 0 && mono_ms() - t0 < timeout_ms) {
		json_t *recs = e2e_records(world.sf.p.base_url, "Task"), *v;
		size_t k;

		json_array_foreach(recs, k, v) {
			const char *s = e2e_field(v, "Subject");

			if (strncmp(s, "Email: ", 7) != 0)
				continue;
			for (int i = 0; i < n; i++)
				if (seen[i] == 0 && strcmp(s + 7, subjects[i]) == 0) {
					seen[i] = mono_ms();
					left--;
				}
		}
		json_decref(recs);
		usleep(20 * 1000);
	}
	assert_int_equal(left, 0);
}

/* batch_window 2s (the default): 40 emails posted over about a second are written in one batch,
 * each within about 3 s; the first waited for the others. Then the ledger's count of calls is
 * sf-sim's, and survives a restart. */
static void
test_window_gathers(void **state)
{
	char subjects[40][32], *out;
	long posted[40], seen[40], writes, worst = 0;
	long long counted;

	(void)state;
	start_idle();
	writes = TASK_WRITES();
	for (int i = 0; i < 40; i++) {
		posted[i] = post_live(subjects[i], "Burst", i);
		usleep(25 * 1000);
	}
	wait_subjects(subjects, seen, 40, 15000);
	for (int i = 0; i < 40; i++)
		if (seen[i] - posted[i] > worst)
			worst = seen[i] - posted[i];
	fprintf(stderr, "window 2 s: 40 emails in %ld ms, first logged after %ld ms, worst "
	    "%ld ms, %ld Task writes\n", posted[39] - posted[0], seen[0] - posted[0], worst,
	    TASK_WRITES() - writes);
	assert_int_equal(TASK_WRITES() - writes, 1);
	/* It waited for the others: the window less the last pass (at 0, some 30 ms). */
	assert_true(seen[0] - posted[0] >= 1000);
	if (mono_timing("every email of the burst logged within 4 s"))
		assert_true(worst < 4000);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);

	/* Every call olsync made was counted first, none twice. */
	out = status();
	counted = e2e_status_count(out, "api_calls ");
	free(out);
	assert_int_equal(counted, e2e_sf_api_calls(world.sf.p.base_url));
	start();
	assert_true(e2e_daemon_wait_log(&daemon_proc, "engine pass rc=0", 10000));
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	out = status();
	assert_int_equal(e2e_status_count(out, "api_calls "), e2e_sf_api_calls(world.sf.p.base_url));
	assert_true(e2e_status_count(out, "api_calls ") >= counted);
	free(out);
}

/* batch_window 0: each notification is handled at once, one write each. */
static void
test_window_zero(void **state)
{
	char subjects[5][32];
	long posted[5], seen[5], writes;

	(void)state;
	start_idle();
	writes = TASK_WRITES();
	for (int i = 0; i < 5; i++) {
		posted[i] = post_live(subjects[i], "One by one", i);
		wait_subjects(subjects + i, seen + i, 1, 5000);
		fprintf(stderr, "window 0: email %d logged after %ld ms\n", i,
		    seen[i] - posted[i]);
		if (mono_timing("an email logged within 1.5 s with batch_window 0"))
			assert_true(seen[i] - posted[i] < 1500);
	}
	assert_int_equal(TASK_WRITES() - writes, 5);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* batch_size 50: the backfill takes many batches (two or three calls each), so 20
		 * calls run out in the middle of it. */
		cmocka_unit_test_prestate_setup_teardown(test_share_never_exceeded, setup,
		    teardown, "sf_budget_share 20\nbatch_size 50\n"),
		cmocka_unit_test_prestate_setup_teardown(test_restart_remembers, setup, teardown,
		    "sf_budget_share 20\nbatch_size 50\n"),
		cmocka_unit_test_prestate_setup_teardown(test_live_before_backfill, setup,
		    teardown, "batch_window 500ms\n"),
		cmocka_unit_test_prestate_setup_teardown(test_window_gathers, setup, teardown,
		    NULL),
		cmocka_unit_test_prestate_setup_teardown(test_window_zero, setup, teardown,
		    "batch_window 0\n"),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
