/* test_crash.c: olsync killed at every named commit point (src/crashpoint.h) and run again ends
 * exactly as a run that was never interrupted: the same Tasks, Leads, EmailMessages, Events,
 * EventRelations and next meeting dates, nothing missing and nothing twice (isync's test runner,
 * STYLE.md), without reading any message from Graph a second time. Each run is a fresh world: graph-sim and sf-sim seeded with a few reps, Contacts, an
 * open Opportunity, ~20 mails (inbound, outbound, to two reps, unknown senders) and accepted
 * meetings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "crashpoint.h"
#include "e2e.h"
#include "graph_fixture.h"
#include "isotime.h"
#include "mono.h"
#include "sim_http.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define KILLED		(128 + 9)	/* e2e_run's status for SIGKILL */
#define N_MAX		3		/* kills per point: its first N_MAX hits */
#define MAILS		20

/* The points placed in src/, in pipeline order. `sync --once` reaches all but the subscription
 * ones (only `olsync run` with listen subscribes; bench/crash.sh kills that at random). */
static const char *const points[] = {
	"ingest_committed", "calendar_committed", "before_lead_create", "after_lead_create",
	"before_sf_write", "after_sf_write", "after_ledger_mark", "before_event_write",
	"after_event_write", "after_opp_write", "after_sub_create", "after_sub_renew",
};
#define NPOINTS	(sizeof(points) / sizeof(points[0]))

/* The world of the run under test and its daemon, static so that the teardown of a failed test
 * stops them (emulators left running hold ctest's output open). */
static struct e2e_world world;
static int world_up;
static struct e2e_daemon daemon_run;

static time_t mail_time;	/* the first mail's time, two days ago; one a minute after */
static time_t meet_day;		/* midnight UTC three days ahead */

static int
setup(void **state)
{
	time_t t = time(NULL);

	(void)state;
	mail_time = t - 2 * 86400;
	meet_day = (t / 86400 + 3) * 86400;
	return 0;
}

/* extra: more configuration lines (NULL: none). */
static void
world_start_with(struct e2e_world *w, const char *name, const char *extra)
{
	char *conf = xasprintf("backfill_days 30\n"
	    "create_leads yes\n"
	    "activity_timezone UTC\n"
	    "log_level warn\n"
	    "http_timeout 10s\n%s", extra != NULL ? extra : "");

	if (e2e_world_start(w, name,
	    "{\"_key\":\"alice\",\"Username\":\"alice@contoso.com\","
	    "\"Email\":\"alice@contoso.com\",\"FirstName\":\"Alice\",\"LastName\":\"Adams\","
	    "\"Alias\":\"aadams\"},"
	    "{\"_key\":\"bob\",\"Username\":\"bob@contoso.com\",\"Email\":\"bob@contoso.com\","
	    "\"FirstName\":\"Bob\",\"LastName\":\"Brown\",\"Alias\":\"bbrown\"},"
	    "{\"_key\":\"erin\",\"Username\":\"erin@contoso.com\",\"Email\":\"erin@contoso.com\","
	    "\"FirstName\":\"Erin\",\"LastName\":\"Evans\",\"Alias\":\"eevans\"}",
	    "\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"},"
	    "{\"_key\":\"nw\",\"Name\":\"Northwind\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\","
	    "\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"},"
	    "{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\","
	    "\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\","
	    "\"IsPrimary\":true}],"
	    "\"Lead\":[{\"_key\":\"lena\",\"FirstName\":\"Lena\",\"LastName\":\"Lund\","
	    "\"Company\":\"Tailspin\",\"Email\":\"lena@tailspin.com\"}]",
	    "[{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"},"
	    "{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"},"
	    "{\"userPrincipalName\":\"erin@contoso.com\",\"displayName\":\"Erin Evans\"}]",
	    "alice@contoso.com, bob@contoso.com, erin@contoso.com", conf) == -1)
		fail_msg("world %s did not start", name);
	world_up = w == &world;
	free(conf);
}

static void
world_start(struct e2e_world *w, const char *name)
{
	world_start_with(w, name, NULL);
}

/* Stops the world the test started; the teardown does it for a test that failed. */
static void
world_stop(void)
{
	world_up = 0;
	assert_int_equal(e2e_world_stop(&world), 0);
}

static int
teardown(void **state)
{
	(void)state;
	if (daemon_run.pid > 0)
		e2e_daemon_stop(&daemon_run);
	if (world_up) {
		world_up = 0;
		return e2e_world_stop(&world);
	}
	return 0;
}

/* A meeting organized by organizer three days ahead at hour (UTC), accepted by who. */
static void
meeting(struct e2e_world *w, const char *organizer, const char *attendees, const char *subject,
    int hour, const char *who)
{
	char s[40], e[40], *b, *path;
	json_t *r;

	isotime_format((long long)meet_day + hour * 3600, 0, 0, "", s, sizeof(s));
	isotime_format((long long)meet_day + (hour + 1) * 3600, 0, 0, "", e, sizeof(e));
	b = xasprintf("{\"organizer\":\"%s\",\"attendees\":[%s],\"subject\":\"%s\","
	    "\"start\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"}}", organizer, attendees, subject, s,
	    e);
	r = sim_http_ctl(w->graph.base_url, "POST", "/_sim/events", b, 201);
	free(b);
	path = xasprintf("/_sim/events/%s/respond", json_string_value(json_object_get(r, "uid")));
	b = xasprintf("{\"user\":\"%s\",\"response\":\"accepted\"}", who);
	json_decref(sim_http_ctl(w->graph.base_url, "POST", path, b, 200));
	free(b);
	free(path);
	json_decref(r);
}

/* The world's mail and meetings. Every mail has its own internetMessageId, so the Tasks'
 * OutlookMessageId__c are the same in every world. */
static void
deliver(struct e2e_world *w)
{
	static const char *const kinds[] = {
		/* inbound from a Contact with an Opportunity */
		"\"from\":\"Carol Chen <carol@fabrikam.com>\",\"to\":[\"alice@contoso.com\"]",
		/* outbound to a Contact, a Lead in Cc */
		"\"from\":\"Bob Brown <bob@contoso.com>\",\"to\":[\"dave@northwind.com\"],"
		"\"cc\":[\"lena@tailspin.com\"]",
		/* to two reps */
		"\"from\":\"Dave Diaz <dave@northwind.com>\","
		"\"to\":[\"alice@contoso.com\",\"erin@contoso.com\"]",
		/* unknown senders: Leads, a few mails each */
		"\"from\":\"Pat Quinn <pat@globex-corp.com>\",\"to\":[\"bob@contoso.com\"]",
		"\"from\":\"Sam Stone <sam.stone@gmail.com>\",\"to\":[\"erin@contoso.com\"]",
		"\"from\":\"Uma Ueda <uma@litware.com>\",\"to\":[\"alice@contoso.com\","
		"\"bob@contoso.com\"]",
		/* internal: skipped */
		"\"from\":\"alice@contoso.com\",\"to\":[\"erin@contoso.com\"]",
	};
	char *b, when[40];

	for (int i = 0; i < MAILS; i++) {
		isotime_format((long long)mail_time + i * 60, 0, 0, "Z", when, sizeof(when));
		b = xasprintf("{%s,\"subject\":\"Mail %d\",\"body\":\"Body of mail %d.\","
		    "\"date\":\"%s\",\"internetMessageId\":\"<crash-%d@test.example>\"}",
		    kinds[i % (sizeof(kinds) / sizeof(kinds[0]))], i, i, when, i);
		json_decref(sim_http_ctl(w->graph.base_url, "POST", "/_sim/mail", b, 201));
		free(b);
	}
	meeting(w, "Carol Chen <carol@fabrikam.com>",
	    "{\"address\":\"alice@contoso.com\"},{\"address\":\"dave@northwind.com\"}",
	    "Renewal review", 14, "alice@contoso.com");
	meeting(w, "Dave Diaz <dave@northwind.com>",
	    "{\"address\":\"bob@contoso.com\"},{\"address\":\"erin@contoso.com\"}",
	    "Northwind kickoff", 9, "erin@contoso.com");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the world's Salesforce holds, Ids replaced by stable names, one sorted line per record:
 * equal texts mean the same records, none missing, none twice. Caller frees. */
static char *
state(struct e2e_world *w)
{
	static const struct {
		const char *obj, *label;	/* label: the field that names a record */
		const char *fields[8];
	} objs[] = {
		{ "User", "Username", { NULL } },
		{ "Account", "Name", { NULL } },
		{ "Contact", "Email", { NULL } },
		{ "Lead", "Email", { "FirstName", "LastName", "Company", "OwnerId",
		  "Description", NULL } },
		{ "Opportunity", "Name", { "Next_Meeting_Date__c", NULL } },
		{ "Task", "OutlookMessageId__c", { "Subject", "WhoId", "WhatId", "OwnerId",
		  "ActivityDate", "Status", NULL } },
		{ "EmailMessage", "MessageIdentifier", { "Subject", "ActivityId", "FromAddress",
		  "ToAddress", NULL } },
		{ "EmailMessageRelation", NULL, { "EmailMessageId", "RelationId",
		  "RelationType", NULL } },
		{ "Event", "Subject", { "WhoId", "WhatId", "OwnerId", "StartDateTime",
		  "EndDateTime", NULL } },
		{ "EventRelation", NULL, { "EventId", "RelationId", NULL } },
	};
	json_t *names = json_object(), *recs[sizeof(objs) / sizeof(objs[0])], *r;
	char **lines = NULL, *text, *line, *t;
	size_t n = 0, i, k;

	for (k = 0; k < sizeof(objs) / sizeof(objs[0]); k++) {
		recs[k] = e2e_records(w->sf.p.base_url, objs[k].obj);
		json_array_foreach(recs[k], i, r)
			if (objs[k].label != NULL)
				json_object_set_new(names, e2e_field(r, "Id"), json_sprintf("%s:%s",
				    objs[k].obj, e2e_field(r, objs[k].label)));
	}
	for (k = 0; k < sizeof(objs) / sizeof(objs[0]); k++) {
		if (objs[k].fields[0] == NULL)
			continue;
		json_array_foreach(recs[k], i, r) {
			line = xasprintf("%s %s", objs[k].obj,
			    objs[k].label ? e2e_field(r, objs[k].label) : "");
			for (const char *const *f = objs[k].fields; *f != NULL; f++) {
				const char *v = e2e_field(r, *f);
				json_t *nm = json_object_get(names, v);

				t = xasprintf("%s %s=%s", line, *f, nm ? json_string_value(nm) : v);
				free(line);
				line = t;
			}
			lines = xrealloc(lines, (n + 1) * sizeof(*lines));
			lines[n++] = line;
		}
		json_decref(recs[k]);
	}
	for (k = 0; k < sizeof(objs) / sizeof(objs[0]); k++)
		if (objs[k].fields[0] == NULL)
			json_decref(recs[k]);
	qsort(lines, n, sizeof(*lines), cmp_str);
	text = xstrdup("");
	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s\n", text, lines[i]);
		free(text);
		text = t;
		free(lines[i]);
	}
	free(lines);
	json_decref(names);
	return text;
}

/* `olsync sync --once` with OLSYNC_CRASH_AT set to crash_at (NULL: unset); its status. */
static int
sync_once(struct e2e_world *w, const char *crash_at)
{
	int rc;

	if (crash_at != NULL)
		setenv(CRASHPOINT_ENV, crash_at, 1);
	rc = e2e_run(w->dir, NULL, NULL, "-c", w->conf, "sync", "--once", NULL);
	unsetenv(CRASHPOINT_ENV);
	return rc;
}

/* The hits of each point in an uninterrupted run (count mode), and the final state. */
static char *
baseline(long hits[NPOINTS])
{
	struct e2e_world *w = &world;
	char *crash_at, *path, *counts, *again, *st, *line;

	world_start(w, "test_crash_base");
	deliver(w);
	path = xasprintf("%s/counts", w->dir);
	crash_at = xasprintf("count:%s", path);
	assert_int_equal(sync_once(w, crash_at), 0);
	counts = tmpdir_read(path, 64 * 1024);
	for (size_t i = 0; i < NPOINTS; i++) {
		size_t len = strlen(points[i]);

		hits[i] = 0;
		for (line = counts; line != NULL && *line != '\0'; line = strchr(line, '\n'),
		    line = line ? line + 1 : NULL)
			if (strncmp(line, points[i], len) == 0 && line[len] == ' ')
				hits[i] = strtol(line + len + 1, NULL, 10);
	}
	st = state(w);
	/* The scenario is what it claims: Tasks, Leads made, Events, a next meeting date. */
	assert_non_null(strstr(st, "Lead pat@globex-corp.com"));
	assert_non_null(strstr(st, "Event Renewal review"));
	assert_non_null(strstr(st, "Event Northwind kickoff"));
	assert_null(strstr(st, "Next_Meeting_Date__c=(null)"));
	assert_non_null(strstr(st, "Task "));
	/* A second pass changes nothing. */
	assert_int_equal(sync_once(w, NULL), 0);
	again = state(w);
	assert_string_equal(again, st);
	fprintf(stderr, "--- expected state:\n%s", st);
	free(again);
	free(counts);
	free(crash_at);
	free(path);
	world_stop();
	return st;
}

/* How many single messages graph-sim was asked for since its statistics were reset. */
static long
message_gets(struct e2e_world *w)
{
	json_t *st = sim_http_ctl(w->graph.base_url, "GET", "/_sim/stats", NULL, 200);
	long n = (long)json_integer_value(json_object_get(json_object_get(st, "routes"),
	    "GET /v1.0/users/{id}/messages/{id}"));

	json_decref(st);
	return n;
}

/* A fresh world, olsync killed at crash_at, then run twice: the state must be want, and the
 * messages the killed run recorded are written from the copies the ledger kept of them, not
 * read from Graph again. */
static void
crash_and_check(const char *crash_at, const char *want)
{
	struct e2e_world *w = &world;
	char *got;

	world_start(w, "test_crash");
	deliver(w);
	if (sync_once(w, crash_at) != KILLED)
		fail_msg("%s: olsync was not killed", crash_at);
	json_decref(sim_http_ctl(w->graph.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	assert_int_equal(sync_once(w, NULL), 0);
	assert_int_equal(sync_once(w, NULL), 0);
	if (message_gets(w) != 0)
		fail_msg("%s: %ld messages read again from Graph", crash_at, message_gets(w));
	/* A Lead claim the killed run left is reclaimed by the next run at once (it looks the
	 * Lead up first), so no mail waits for the claim to go stale. */
	got = state(w);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "--- %s: state differs:\n%s", crash_at, got);
	assert_string_equal(got, want);
	free(got);
	world_stop();
}

/* The state of an uninterrupted run. Caller frees. */
static char *
baseline_state(void)
{
	long hits[NPOINTS];

	return baseline(hits);
}

/* With olsync under valgrind (scripts/valgrind.sh OLSYNC=1, usually with SIMS=1) a world takes
 * minutes instead of about a second (two emulators started and stopped, three olsync runs), and
 * the full run's 54 kills would take hours. There each point reached is killed at its
 * first hit only, once, without the sweep over every hit, so every point and the recovery
 * from it still runs under memcheck; the summary says so. */
static int
reduced(void)
{
	const char *vg = getenv("OL_VALGRIND_OLSYNC");

	return vg != NULL && *vg != '\0';
}

/* Each point at its first N_MAX hits, then every hit of the run in order (any:N). */
static void
test_crash_anywhere(void **state_)
{
	long hits[NPOINTS], total = 0;
	char *want = baseline(hits), crash_at[CRASHPOINT_NAME_MAX + 16];
	int tried = 0, kills = 0, nmax = reduced() ? 1 : N_MAX;

	(void)state_;
	for (size_t i = 0; i < NPOINTS; i++) {
		fprintf(stderr, "--- point %s: %ld hits in an uninterrupted run\n", points[i],
		    hits[i]);
		total += hits[i];
		if (hits[i] > 0)
			tried++;
		for (long n = 1; n <= hits[i] && n <= nmax; n++) {
			snprintf(crash_at, sizeof(crash_at), "%s:%ld", points[i], n);
			crash_and_check(crash_at, want);
			kills++;
		}
	}
	for (long n = 1; n <= total && !reduced(); n++) {
		snprintf(crash_at, sizeof(crash_at), "any:%ld", n);
		crash_and_check(crash_at, want);
		kills++;
	}
	printf("crash summary: points=%zu reached=%d hits=%ld kills=%d all_identical=yes%s\n",
	    NPOINTS, tried, total, kills, reduced() ? " (reduced under valgrind: each point at "
	    "its first hit, no sweep over every hit)" : "");
	free(want);
}

/* Graph's subscriptions: how many, failing the test when two watch one resource. */
static size_t
graph_subscriptions(struct e2e_world *w)
{
	char token[4096];
	json_t *r, *v;
	size_t i, j, n;

	graph_fixture_token(&w->graph, E2E_GRAPH_APP, token, sizeof(token));
	r = graph_fixture_call(&w->graph, "GET", "/v1.0/subscriptions", NULL, token, NULL, 200);
	n = json_array_size(json_object_get(r, "value"));
	json_array_foreach(json_object_get(r, "value"), i, v)
		for (j = i + 1; j < n; j++)
			if (strcmp(e2e_field(v, "resource"), e2e_field(json_array_get(
			    json_object_get(r, "value"), j), "resource")) == 0)
				fail_msg("two subscriptions on %s", e2e_field(v, "resource"));
	json_decref(r);
	return n;
}

/* `olsync run` (real time, renewing every second) killed after a subscription is created or
 * renewed on Graph and before the ledger keeps it, then started again: one subscription per
 * folder on Graph, each known to the ledger, and the mail and meetings end as in the
 * uninterrupted run. */
static void
test_crash_subscriptions(void **state_)
{
	static const char *const subs_points[] = { "after_sub_create", "after_sub_renew" };
	char *want = baseline_state(), crash_at[CRASHPOINT_NAME_MAX + 16], *extra, *got, *out;
	struct e2e_world *w = &world;
	struct e2e_daemon *dm = &daemon_run;
	int kills = 0, port, status;
	size_t ng;
	long t0;

	(void)state_;
	for (size_t i = 0; i < sizeof(subs_points) / sizeof(subs_points[0]); i++)
		for (long n = 1; n <= (reduced() ? 1 : 2); n++) {
			port = e2e_free_port();
			extra = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
			    "reconcile_interval 1h\nsubscription_renew_every 1s\n", port, port);
			world_start_with(w, "test_crash_subs", extra);
			free(extra);
			graph_fixture_config(&w->graph, "{\"require_https\":false}");
			deliver(w);
			snprintf(crash_at, sizeof(crash_at), "%s:%ld", subs_points[i], n);
			setenv(CRASHPOINT_ENV, crash_at, 1);
			e2e_daemon_start(dm, w->dir, w->conf, 0);
			unsetenv(CRASHPOINT_ENV);
			t0 = mono_ms();
			while (waitpid(dm->pid, &status, WNOHANG) == 0) {
				if (mono_ms() - t0 > mono_scaled(20000)) {
					kill(dm->pid, SIGKILL);
					waitpid(dm->pid, &status, 0);
					dm->pid = 0;
					fail_msg("%s: olsync run was not killed in %ld s", crash_at,
					    mono_scaled(20000) / 1000);
				}
				usleep(20 * 1000);
			}
			dm->pid = 0;
			if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
				fail_msg("%s: olsync run ended otherwise", crash_at);
			kills++;
			e2e_daemon_start(dm, w->dir, w->conf, port);
			/* Settled: the state of the uninterrupted run, and renewals going on. */
			for (t0 = mono_ms(); ; usleep(200 * 1000)) {
				got = state(w);
				if (strcmp(got, want) == 0 || mono_ms() - t0 > mono_scaled(30000))
					break;
				free(got);
			}
			mono_sleep(1500);
			ng = graph_subscriptions(w);
			assert_int_equal(e2e_daemon_stop(dm), 0);
			assert_string_equal(got, want);
			assert_int_equal(e2e_run(w->dir, &out, NULL, "-c", w->conf, "status", NULL), 0);
			/* one per mailbox and folder (Inbox, Sent Items, calendar), all in the ledger */
			assert_int_equal(ng, 9);
			assert_non_null(strstr(out, "subscriptions 9\n"));
			free(out);
			free(got);
			world_stop();
		}
	printf("crash summary: subscription points=2 kills=%d all_identical=yes%s\n", kills,
	    reduced() ? " (reduced under valgrind: each point at its first hit)" : "");
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_crash_anywhere, teardown),
		cmocka_unit_test_teardown(test_crash_subscriptions, teardown),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
