/* test_engine.c: olsync end to end: graph-sim and sf-sim seeded with a small realistic world (two
 * reps, Contacts, an open Opportunity, a Lead, inbound, outbound, a thread to both reps, internal
 * mail, a newsletter, unknown senders), the real `olsync sync --once` run against them, and what
 * sf-sim holds afterwards checked field by field; a second pass changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "engine.h"
#include "graph_fixture.h"
#include "isotime.h"
#include "mono.h"
#include "normalize.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "tmpdir.h"
#include "xmalloc.h"

static struct e2e_world world;
static char day[16];		/* the mails' date, YYYY-MM-DD (UTC) */
static char when[40];		/* and time */
static char later[40];		/* an hour after when */

/* The mails of the world: internetMessageId as graph-sim answered, by name. */
static json_t *mids;

static void
send_mail(const char *name, const char *body)
{
	json_t *r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", body, 201);

	json_object_set(mids, name, json_object_get(r, "internetMessageId"));
	json_decref(r);
}

static int
setup(void **state)
{
	time_t t = time(NULL) - 2 * 86400;
	struct tm tm;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	strftime(later, sizeof(later), "%Y-%m-%dT11:00:00Z", &tm);

	/* Salesforce: the integration user with its connected app, two reps as Users with the
	 * reps' mail addresses, Contacts (Carol with an open Opportunity), a Lead. */
	if (e2e_world_start(&world, "test_engine",
	    E2E_SF_REPS,
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"},"
	    "{\"_key\":\"nw\",\"Name\":\"Northwind\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\"}],"
	    "\"Lead\":[{\"_key\":\"lena\",\"FirstName\":\"Lena\",\"LastName\":\"Lund\","
	    "\"Company\":\"Tailspin\",\"Email\":\"lena@tailspin.com\"}]",
	    E2E_GRAPH_REPS,
	    "alice@contoso.com, bob@contoso.com",
	    "backfill_days 30\n"
	    "create_leads yes\n"
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "http_timeout 10s\n") == -1)
		return -1;
	mids = json_object();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(mids);
	return e2e_world_stop(&world);
}

/* The world's mail, one POST /_sim/mail each. */
static void
deliver(void)
{
	char *b;

#define MAIL(name, fmt) MAIL_AT(name, fmt, when)
#define MAIL_AT(name, fmt, at) do { \
	b = xasprintf(fmt, at); \
	send_mail(name, b); \
	free(b); \
} while (0)
	MAIL("inbound", "{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Renewal quote\","
	    "\"body\":\"Could you send the renewal quote?\",\"date\":\"%s\"}");
	MAIL("outbound", "{\"from\":\"Alice Adams <alice@contoso.com>\","
	    "\"to\":[\"Dave Diaz <dave@northwind.com>\"],\"cc\":[\"lena@tailspin.com\"],"
	    "\"subject\":\"Intro\",\"body\":\"Nice to meet you both.\",\"date\":\"%s\"}");
	MAIL("thread", "{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\",\"bob@contoso.com\"],\"subject\":\"Next steps\","
	    "\"body\":\"Meeting both of you on Friday.\",\"date\":\"%s\"}");
	MAIL("internal", "{\"from\":\"alice@contoso.com\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Lunch?\",\"body\":\"Noon?\",\"date\":\"%s\"}");
	MAIL("newsletter", "{\"from\":\"Weekly News <news@newsletters.example>\","
	    "\"to\":[\"bob@contoso.com\"],\"subject\":\"This week\",\"body\":\"Top stories\","
	    "\"headers\":{\"List-Unsubscribe\":\"<mailto:unsub@newsletters.example>\"},"
	    "\"date\":\"%s\"}");
	MAIL("unknown", "{\"from\":\"Pat Quinn <pat@globex-corp.com>\",\"to\":[\"bob@contoso.com\"],"
	    "\"subject\":\"Pricing question\",\"body\":\"What does the pro plan cost?\","
	    "\"date\":\"%s\"}");
	/* Delivered first but written later: the earlier one makes the Lead. */
	MAIL_AT("burst2", "{\"from\":\"Sam Stone <sam.stone@gmail.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Hello again\","
	    "\"body\":\"Second note.\",\"date\":\"%s\"}", later);
	MAIL("burst1", "{\"from\":\"Sam Stone <sam.stone@gmail.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Hello\",\"body\":\"First note.\","
	    "\"date\":\"%s\"}");
#undef MAIL_AT
#undef MAIL
}

static void
digest_of(const char *name, char out[NORMALIZE_DIGEST_LEN + 1])
{
	e2e_digest(json_string_value(json_object_get(mids, name)), out);
}

static const struct e2e_want_task want_tasks[] = {
	{ "inbound", "Email: Renewal quote", "carol", "opp", "alice",
	  "Could you send the renewal quote?" },
	{ "outbound", "Email: Intro", "dave", NULL, "alice", "Nice to meet you both." },
	/* One internetMessageId in two mailboxes: one Task, on the first mailbox's rep. */
	{ "thread", "Email: Next steps", "carol", "opp", "alice",
	  "Meeting both of you on Friday." },
	{ "unknown", "Email: Pricing question", "lead:pat@globex-corp.com", NULL, "bob",
	  "What does the pro plan cost?" },
	{ "burst1", "Email: Hello", "lead:sam.stone@gmail.com", NULL, "alice", "First note." },
	{ "burst2", "Email: Hello again", "lead:sam.stone@gmail.com", NULL, "alice",
	  "Second note." },
};

static const struct e2e_want_lead want_leads[] = {
	{ "pat@globex-corp.com", "Pat", "Quinn", "Globex Corp", "bob",
	  "Pricing question: What does the pro plan cost?" },
	/* Two mails, one Lead; free mail gets the placeholder Company. */
	{ "sam.stone@gmail.com", "Sam", "Stone", "[not provided]", "alice",
	  "Hello: First note." },
};

/* Task and Lead ids and LastModifiedDate, to compare two passes. */
static char *
snapshot(void)
{
	static const char *const objs[] = { "Task", "Lead" };

	return e2e_snapshot(world.sf.p.base_url, objs, sizeof(objs) / sizeof(objs[0]));
}

static void
test_sync_once(void **state)
{
	json_t *tasks, *leads, *rec;
	char *out = NULL, *before, *after, *show;
	size_t i;

	(void)state;
	deliver();
	assert_int_equal(e2e_run(world.dir, NULL, NULL,
	    "-c", world.conf, "sync", "--once", NULL), 0);

	leads = e2e_records(world.sf.p.base_url, "Lead");
	/* The seeded Lena, and one Lead per unknown, non-automated sender. */
	assert_int_equal(json_array_size(leads), 1 + sizeof(want_leads) / sizeof(want_leads[0]));
	for (i = 0; i < sizeof(want_leads) / sizeof(want_leads[0]); i++)
		e2e_check_lead(leads, world.sf.keys, &want_leads[i]);
	/* The newsletter's sender is automated: no Lead. */
	json_array_foreach(leads, i, rec)
		assert_string_not_equal(e2e_field(rec, "Email"), "news@newsletters.example");

	tasks = e2e_records(world.sf.p.base_url, "Task");
	assert_int_equal(json_array_size(tasks), sizeof(want_tasks) / sizeof(want_tasks[0]));
	for (i = 0; i < sizeof(want_tasks) / sizeof(want_tasks[0]); i++)
		e2e_check_task(tasks, leads, world.sf.keys, mids, day, &want_tasks[i]);
	json_decref(tasks);
	json_decref(leads);

	/* A second pass: nothing new in Graph, nothing written. */
	before = snapshot();
	assert_int_equal(e2e_run(world.dir, NULL, NULL,
	    "-c", world.conf, "sync", "--once", NULL), 0);
	after = snapshot();
	assert_string_equal(after, before);
	free(before);
	free(after);

	/* The ledger: 6 logged, internal and newsletter skipped (each with its reason), nothing open. */
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_non_null(strstr(out, "logged    6\n"));
	assert_non_null(strstr(out, "skipped   2  (internal_only 1, unmatched 1)\n"));
	assert_non_null(strstr(out, "pending   0\n"));
	assert_non_null(strstr(out, "failed    0\n"));
	assert_non_null(strstr(out, "dead      0\n"));
	free(out);

	/* The thread: one entry, two sightings, and why the internal mail was not logged. */
	assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show",
	    json_string_value(json_object_get(mids, "thread")), NULL), 0);
	assert_non_null(strstr(show, "state            logged\n"));
	assert_non_null(strstr(show, "mailbox=alice@contoso.com folder=inbox"));
	assert_non_null(strstr(show, "mailbox=bob@contoso.com folder=inbox"));
	free(show);
	assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show",
	    json_string_value(json_object_get(mids, "internal")), NULL), 0);
	assert_non_null(strstr(show, "state            skipped\n"));
	assert_non_null(strstr(show, "reason           internal_only"));
	free(show);
	assert_int_equal(e2e_run(world.dir, NULL, NULL,
	    "-c", world.conf, "show", "<nope@nowhere.example>",
	    NULL), 1);
}

/* After the first pass: every delta token expires (410) while a new email arrives, and
 * Salesforce refuses the next write with a final error. Nothing is duplicated, the email is
 * dead with the reason, and `olsync retry` brings it back to be logged once. */
static void
test_recovery(void **state)
{
	char *out = NULL, *err = NULL, *b, digest[NORMALIZE_DIGEST_LEN + 1];
	json_t *tasks;

	(void)state;
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/delta/expire", NULL, 200));
	b = xasprintf("{\"from\":\"Carol Chen <carol@fabrikam.com>\","
	    "\"to\":[\"alice@contoso.com\"],\"subject\":\"Re: Renewal quote\","
	    "\"body\":\"Signed copy attached.\",\"date\":\"%s\"}", later);
	send_mail("followup", b);
	free(b);
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults",
	    "{\"path\":\"/services/data/v62.0/composite/sobjects\",\"status\":400,"
	    "\"errorCode\":\"INVALID_FIELD\",\"message\":\"No such column on Task\"}", 200));

	assert_int_equal(e2e_run(world.dir, NULL, &err,
	    "-c", world.conf, "sync", "--once", NULL), 0);
	/* Every folder read again from the window: 10 old copies again, 1 new message. */
	assert_non_null(strstr(err, "restarts=4 "));
	assert_non_null(strstr(err, "new=1 copies=0 again=10 "));
	free(err);
	tasks = e2e_records(world.sf.p.base_url, "Task");
	assert_int_equal(json_array_size(tasks), 6);
	json_decref(tasks);

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), 6);
	assert_int_equal(e2e_status_count(out, "dead "), 1);
	free(out);
	digest_of("followup", digest);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "dead", NULL), 0);
	assert_non_null(strstr(out, digest));
	assert_non_null(strstr(out, "INVALID_FIELD"));
	assert_non_null(strstr(out, "1 dead\n"));
	free(out);

	assert_int_equal(e2e_run(world.dir, &out, NULL,
	    "-c", world.conf, "retry", digest, NULL), 0);
	assert_string_equal(out, "1 revived\n");
	free(out);
	assert_int_equal(e2e_run(world.dir, NULL, NULL,
	    "-c", world.conf, "sync", "--once", NULL), 0);
	tasks = e2e_records(world.sf.p.base_url, "Task");
	assert_int_equal(json_array_size(tasks), 7);
	assert_string_equal(e2e_field(e2e_find(tasks, "OutlookMessageId__c", digest), "Subject"),
	    "Email: Re: Renewal quote");
	json_decref(tasks);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), 7);
	assert_int_equal(e2e_status_count(out, "dead "), 0);
	free(out);
}

/* `olsync run` passes until SIGTERM, then exits 0 having logged what arrived. */
static void
test_run_until_sigterm(void **state)
{
	char *argv[] = { (char *)sim_proc_binary("olsync"), "-c", world.conf, "run", NULL };
	char *b, *out = NULL;
	pid_t pid;
	int status, i;

	(void)state;
	b = xasprintf("{\"from\":\"Dave Diaz <dave@northwind.com>\","
	    "\"to\":[\"bob@contoso.com\"],\"subject\":\"Order\","
	    "\"body\":\"Please ship it.\",\"date\":\"%s\"}", later);
	send_mail("order", b);
	free(b);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		sim_proc_exec(argv);
		_exit(127);
	}
	/* Wait for the pass to log it (the interval is 15 minutes: one pass only). */
	for (i = 0; i < 100; i++) {
		json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
		size_t n = json_array_size(tasks);

		json_decref(tasks);
		if (n == 8)
			break;
		mono_sleep(100);
	}
	assert_int_not_equal(i, 100);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), 8);
	free(out);
}

/* The retry delay: doubling from the base (retry_base), capped, jittered into [d/2, d]. */
static void
test_backoff(void **state)
{
	static const struct {
		long base;
		int attempts;
		long lo, hi;
	} cases[] = {
		{ 60, 0, 30, 60 },
		{ 60, 1, 30, 60 },
		{ 60, 2, 60, 120 },
		{ 60, 5, 480, 960 },
		{ 60, 30, ENGINE_BACKOFF_MAX / 2, ENGINE_BACKOFF_MAX },
		{ 60, 1000, ENGINE_BACKOFF_MAX / 2, ENGINE_BACKOFF_MAX },
		/* retry_base 1s, as the fault tests run: never below a second */
		{ 1, 1, 1, 1 },
		{ 1, 2, 1, 2 },
		{ 1, 4, 4, 8 },
		{ 3600, 1, 1800, 3600 },
		{ 3600, 4, ENGINE_BACKOFF_MAX / 2, ENGINE_BACKOFF_MAX },
		/* a base below a second is taken as one */
		{ 0, 1, 1, 1 },
	};
	long seen_lo = ENGINE_BACKOFF_MAX, seen_hi = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int k = 0; k < 200; k++) {
			long d = engine_backoff(cases[i].base, cases[i].attempts);

			assert_in_range(d, cases[i].lo, cases[i].hi);
			if (cases[i].attempts == 30) {
				seen_lo = d < seen_lo ? d : seen_lo;
				seen_hi = d > seen_hi ? d : seen_hi;
			}
		}
	}
	/* Jitter: 200 draws are not all the same. */
	assert_true(seen_hi > seen_lo);
}

static void
test_check_config(void **state)
{
	char *out = NULL, *err = NULL, *bad;

	(void)state;
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "check-config", NULL), 0);
	assert_string_equal(out, "configuration OK\n");
	free(out);
	assert_int_equal(e2e_run(world.dir, &out, NULL, "-n", "-c", world.conf, NULL), 0);
	assert_string_equal(out, "configuration OK\n");
	free(out);

	tmpdir_write(world.dir, "bad.conf", "graph_tenant contoso.com\n"
	    "backfill_days many\n"
	    "no_such_option 1\n", 0644);
	bad = xasprintf("%s/bad.conf", world.dir);
	assert_int_not_equal(e2e_run(world.dir, &out, &err, "-c", bad, "check-config", NULL), 0);
	assert_null(strstr(out, "configuration OK"));
	/* Every error at once, each as file:line. */
	assert_non_null(strstr(err, "bad.conf:2: "));
	assert_non_null(strstr(err, "bad.conf:3: "));
	free(out);
	free(err);
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", bad, "frobnicate", NULL), 2);
	free(bad);
}

/* log_format json holds for sync --once too, not only for run: every line olsync writes to
 * stderr is one JSON object with its level and message. */
static void
test_json_logs(void **state)
{
	char *text = tmpdir_read(world.conf, 65536), *conf, *err = NULL, *line, *save = NULL;
	int lines = 0;

	(void)state;
	assert_non_null(text);
	conf = xasprintf("%s/json.conf", world.dir);
	{
		char *body = xasprintf("%slog_format json\n", text);

		tmpdir_write(world.dir, "json.conf", body, 0600);
		free(body);
	}
	deliver();
	assert_int_equal(e2e_run(world.dir, NULL, &err, "-c", conf, "sync", "--once", NULL), 0);
	for (line = strtok_r(err, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);

		if (o == NULL || !json_is_string(json_object_get(o, "level")) ||
		    !json_is_string(json_object_get(o, "msg")))
			fail_msg("not a JSON log line: %s", line);
		json_decref(o);
		lines++;
	}
	assert_true(lines >= 2);	/* the pass's ingest and engine lines at least */
	free(err);
	free(conf);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_sync_once),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_run_until_sigterm),
		cmocka_unit_test(test_json_logs),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
