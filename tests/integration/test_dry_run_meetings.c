/* test_dry_run_meetings.c: `olsync dry-run` plans meetings too: the Events a real pass would
 * upsert (subject, Who, What, owner, start) and the Opportunities' next meeting dates, with
 * nothing written to Salesforce; then the real `sync --once` writes exactly those. A meeting
 * only tentatively accepted and an internal one get no Event in either. A logged meeting then
 * cancelled: the Event's deletion and the Opportunity's next date planned, then done. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "e2e.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define ALICE	"alice@contoso.com"
#define BOB	"bob@contoso.com"

static struct e2e_world world;

static int
setup(void **state)
{
	(void)state;
	return e2e_world_start(&world, "test_dry_run_meetings", E2E_SF_REPS,
	    E2E_SF_CAROL ","
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\","
	    "\"StageName\":\"Prospecting\",\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}],"
	    "\"OpportunityContactRole\":[{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\","
	    "\"IsPrimary\":true}]",
	    E2E_GRAPH_REPS, ALICE ", " BOB,
	    "activity_timezone UTC\nlog_level info\nhttp_timeout 10s\n");
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_teardown(&world, NULL);
}

/* The uid of the meeting POST /_sim/events answered last (meeting() keeps it). */
static char last_uid[256];

/* A meeting organizer invites attendee (each a plain address), days from now at hour UTC, and
 * user answers response. */
static void
meeting(const char *organizer, const char *attendee, const char *subject, int days, int hour,
    const char *user, const char *response)
{
	char start[32], end[32], *body, *path;
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;
	json_t *r;

	gmtime_r(&t, &tm);
	tm.tm_hour = hour;
	tm.tm_min = tm.tm_sec = 0;
	strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%S", &tm);
	tm.tm_min = 30;
	strftime(end, sizeof(end), "%Y-%m-%dT%H:%M:%S", &tm);
	body = xasprintf("{\"organizer\":\"%s\",\"attendees\":[{\"address\":\"%s\"}],"
	    "\"subject\":\"%s\",\"start\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"}}", organizer, attendee, subject,
	    start, end);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/events", body, 201);
	free(body);
	snprintf(last_uid, sizeof(last_uid), "%s", json_string_value(json_object_get(r, "uid")));
	path = xasprintf("/_sim/events/%s/respond", json_string_value(json_object_get(r, "uid")));
	body = xasprintf("{\"user\":\"%s\",\"response\":\"%s\"}", user, response);
	json_decref(sim_http_ctl(world.graph.base_url, "POST", path, body, 200));
	free(body);
	free(path);
	json_decref(r);
}

/* Salesforce's datetime ("2026-11-28T15:00:00.000+0000") and the plan's, compared as the same
 * instant: both from olsync's one formatter, so the text must agree up to the seconds. */
static int
same_time(const char *a, const char *b)
{
	return strncmp(a, b, 19) == 0;
}

static void
test_meetings_planned_then_written(void **state)
{
	json_t *rep, *lines, *o, *events, *opps, *planned = NULL, *next = NULL;
	char *out = NULL, *err = NULL;
	size_t i, nev = 0, nnext = 0;
	json_error_t jerr;

	(void)state;
	meeting("carol@fabrikam.com", ALICE, "Renewal terms", 2, 15, ALICE, "accepted");
	meeting("carol@fabrikam.com", BOB, "Maybe lunch", 3, 12, BOB, "tentativelyAccepted");
	meeting(ALICE, BOB, "Pipeline review", 1, 9, BOB, "accepted");

	assert_int_equal(e2e_run(world.dir, &out, &err, "-c", world.conf, "dry-run", "--json",
	    NULL), 0);
	rep = json_loads(out, 0, &jerr);
	if (rep == NULL)
		fail_msg("dry-run --json is not JSON (%s): %s", jerr.text, out);
	free(out);
	free(err);
	assert_string_equal(e2e_field(json_object_get(rep, "summary"), "meetings"), "planned");
	lines = json_object_get(rep, "lines");
	json_array_foreach(lines, i, o) {
		if (strcmp(e2e_field(o, "kind"), "event") == 0) {
			nev++;
			planned = o;
		} else if (strcmp(e2e_field(o, "kind"), "next_meeting") == 0) {
			nnext++;
			next = o;
		}
	}
	assert_int_equal(nev, 1);
	assert_int_equal(nnext, 1);
	assert_string_equal(e2e_field(planned, "subject"), "Renewal terms");
	assert_true(json_is_true(json_object_get(planned, "event_new")));
	/* Nothing was written: no Event, the Opportunity's field untouched. */
	assert_int_equal(e2e_record_count(world.sf.p.base_url, "Event"), 0);
	opps = e2e_records(world.sf.p.base_url, "Opportunity");
	assert_true(json_is_null(json_object_get(json_array_get(opps, 0), "Next_Meeting_Date__c"))
	    || json_object_get(json_array_get(opps, 0), "Next_Meeting_Date__c") == NULL);
	json_decref(opps);

	/* The real pass writes exactly the plan. */
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	events = e2e_records(world.sf.p.base_url, "Event");
	assert_int_equal(json_array_size(events), 1);
	o = json_array_get(events, 0);
	assert_string_equal(e2e_field(o, "Subject"), e2e_field(planned, "subject"));
	assert_string_equal(e2e_field(o, "WhoId"), e2e_field(planned, "who"));
	assert_string_equal(e2e_field(o, "WhatId"), e2e_field(planned, "what"));
	assert_string_equal(e2e_field(o, "OwnerId"), e2e_field(planned, "owner"));
	if (!same_time(e2e_field(o, "StartDateTime"), e2e_field(planned, "start")))
		fail_msg("Event starts %s, the plan said %s", e2e_field(o, "StartDateTime"),
		    e2e_field(planned, "start"));
	opps = e2e_records(world.sf.p.base_url, "Opportunity");
	o = json_array_get(opps, 0);
	assert_string_equal(e2e_field(o, "Id"), e2e_field(next, "opportunity"));
	if (!same_time(e2e_field(o, "Next_Meeting_Date__c"), e2e_field(next, "value")))
		fail_msg("Next_Meeting_Date__c is %s, the plan said %s",
		    e2e_field(o, "Next_Meeting_Date__c"), e2e_field(next, "value"));
	json_decref(opps);
	json_decref(events);
	json_decref(rep);
}

/* The Events of sf-sim not deleted (its records list keeps deleted ones). Caller decrefs. */
static json_t *
live_events(void)
{
	return e2e_records_unless(world.sf.p.base_url, "Event", "IsDeleted");
}

/* A fresh dry-run report (caller decrefs). */
static json_t *
dry_run(void)
{
	json_error_t jerr;
	json_t *rep;
	char *out = NULL;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "dry-run", "--json",
	    NULL), 0);
	if ((rep = json_loads(out, 0, &jerr)) == NULL)
		fail_msg("dry-run --json is not JSON (%s): %s", jerr.text, out);
	free(out);
	return rep;
}

/* Cancelled after it was logged: the dry run plans the Event's deletion and the Opportunity's
 * next meeting cleared; the real pass then does exactly that. */
static void
test_cancel_planned_then_done(void **state)
{
	json_t *rep, *o, *o2, *removed = NULL, *next = NULL, *opps, *events;
	char *path;
	size_t i;

	(void)state;
	/* Before Renewal terms: the Opportunity's next meeting until it is cancelled. */
	meeting("carol@fabrikam.com", ALICE, "Kickoff", 1, 10, ALICE, "accepted");
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	events = e2e_records(world.sf.p.base_url, "Event");
	o = e2e_find(events, "Subject", "Kickoff");
	path = xasprintf("/_sim/events/%s", last_uid);
	json_decref(sim_http_ctl(world.graph.base_url, "PATCH", path, "{\"isCancelled\":true}",
	    200));
	free(path);

	rep = dry_run();
	json_array_foreach(json_object_get(rep, "lines"), i, o2)
		if (strcmp(e2e_field(o2, "kind"), "event_removed") == 0)
			removed = o2;
		else if (strcmp(e2e_field(o2, "kind"), "next_meeting") == 0)
			next = o2;
	assert_non_null(removed);
	assert_string_equal(e2e_field(removed, "event"), e2e_field(o, "Id"));
	assert_string_equal(e2e_field(removed, "how"), "deleted");
	assert_non_null(next);
	/* Nothing done yet: both Events still there. */
	json_decref(events);
	events = live_events();
	assert_int_equal(json_array_size(events), 2);

	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
	json_decref(events);
	events = live_events();
	assert_int_equal(json_array_size(events), 1);
	assert_string_equal(e2e_field(json_array_get(events, 0), "Subject"), "Renewal terms");
	opps = e2e_records(world.sf.p.base_url, "Opportunity");
	if (!same_time(e2e_field(json_array_get(opps, 0), "Next_Meeting_Date__c"),
	    e2e_field(next, "value")))
		fail_msg("Next_Meeting_Date__c is %s, the plan said %s",
		    e2e_field(json_array_get(opps, 0), "Next_Meeting_Date__c"),
		    e2e_field(next, "value"));
	json_decref(opps);
	json_decref(events);
	json_decref(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meetings_planned_then_written),
		cmocka_unit_test(test_cancel_planned_then_done),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
