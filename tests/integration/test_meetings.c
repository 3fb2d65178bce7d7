/* test_meetings.c: meetings become Salesforce Events (issue 6), end to end: graph-sim holds the
 * reps' calendars, sf-sim the Contacts, Opportunities and their roles, the real `olsync sync
 * --once` runs between changes, and the Events, EventRelations and Next_Meeting_Date__c that
 * sf-sim ends up holding are checked field by field. Five worlds: the defaults; the other
 * choices (tentative, any external attendee, cancelled meetings marked, no Event without an
 * Opportunity, blocked addresses and domains); time zones and daylight saving changes, with a
 * daylight saving activity_timezone; an app without Calendars.Read; and one for the meeting
 * counts of `olsync status`. */
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
#include "isotime.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define ALICE		"alice@contoso.com"
#define BOB		"bob@contoso.com"
#define ZED		"zed@unknown.example"	/* external, no Contact */
#define SF_DATA		"/services/data/v62.0"

static struct e2e_world w_main;	/* the defaults */
static struct e2e_world w_alt;	/* tentative, any-external, mark, skip */
static struct e2e_world w_tz;	/* zones and daylight saving */
static struct e2e_world w_nocal;	/* the Graph app lacks Calendars.Read */
static struct e2e_world w_st;	/* olsync status: meetings in every state */
static long long today;		/* days since the epoch (UTC) when the group started */

/* Times ----------------------------------------------------------------------------------------*/

/* UTC seconds of hh:mm on today + days. */
static long long
at(int days, int hh, int mm)
{
	return (today + days) * 86400 + hh * 3600 + mm * 60;
}

/* As sf-sim prints a datetime: 2026-11-28T10:00:00.000+0000. */
static void
sf_time(long long secs, char out[40])
{
	isotime_format(secs, 3, 0, "+0000", out, 40);
}

/* A wall time for graph-sim's {"dateTime","timeZone"}: 2026-11-28T10:00:00. */
static void
wall_time(long long secs, char out[40])
{
	isotime_format(secs, 0, 0, "", out, 40);
}

static void
ymd(long long days, char out[16])
{
	int y, m, d;

	isotime_civil(days, &y, &m, &d);
	snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

static const char *const weekdays[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
};

/* The day number of the last Sunday of month, and of the n-th Sunday. */
static long long
last_sunday(int year, int month)
{
	long long d = isotime_days(year, month, isotime_month_days(year, month));

	while (isotime_weekday(d) != 0)
		d--;
	return d;
}

static long long
nth_sunday(int year, int month, int n)
{
	long long d = isotime_days(year, month, 1);

	while (isotime_weekday(d) != 0)
		d++;
	return d + 7 * (n - 1);
}

/* Hours east of UTC at 09:00 local on day d, by the rules written out here rather than by a
 * zone database, so the test does not share olsync's source of truth:
 * - W. Europe Standard Time (Berlin): UTC+1, and UTC+2 from the last Sunday of March
 *   (01:00 UTC) to the last Sunday of October (01:00 UTC).
 * - Pacific Standard Time: UTC-8, and UTC-7 from the second Sunday of March (02:00 local) to
 *   the first Sunday of November (02:00 local). */
static int
berlin_offset(long long d)
{
	int y, m, dd;

	isotime_civil(d, &y, &m, &dd);
	return d >= last_sunday(y, 3) && d < last_sunday(y, 10) ? 2 : 1;
}

static int
pacific_offset(long long d)
{
	int y, m, dd;

	isotime_civil(d, &y, &m, &dd);
	return d >= nth_sunday(y, 3, 2) && d < nth_sunday(y, 11, 1) ? -7 : -8;
}

/* Seeds ----------------------------------------------------------------------------------------*/

#define REPS_SF \
	"{\"_key\":\"alice\",\"Username\":\"alice@contoso.com\",\"Email\":\"alice@contoso.com\"," \
	"\"FirstName\":\"Alice\",\"LastName\":\"Adams\",\"Alias\":\"aadams\"}," \
	"{\"_key\":\"bob\",\"Username\":\"bob@contoso.com\",\"Email\":\"bob@contoso.com\"," \
	"\"FirstName\":\"Bob\",\"LastName\":\"Brown\",\"Alias\":\"bbrown\"}"
#define REPS_GRAPH \
	"[{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"}," \
	"{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"}]"

static void
seed_add(json_t *seed, const char *sobject, json_t *rec)
{
	json_t *list = json_object_get(seed, sobject);

	if (list == NULL) {
		list = json_array();
		json_object_set_new(seed, sobject, list);
	}
	json_array_append_new(list, rec);
}

static void
seed_account(json_t *seed, const char *key, const char *name)
{
	seed_add(seed, "Account", json_pack("{s:s,s:s}", "_key", key, "Name", name));
}

/* A Contact of Account @account; key is also its first name, lower case. */
static void
seed_contact(json_t *seed, const char *key, const char *first, const char *last,
    const char *email, const char *account)
{
	char *acc = xasprintf("@%s", account);

	seed_add(seed, "Contact", json_pack("{s:s,s:s,s:s,s:s,s:s}", "_key", key, "FirstName",
	    first, "LastName", last, "Email", email, "AccountId", acc));
	free(acc);
}

/* An Opportunity closing close_days from today; next (may be NULL) its Next_Meeting_Date__c as
 * someone set it by hand. */
static void
seed_opp(json_t *seed, const char *key, const char *name, const char *stage, int close_days,
    const char *account, const char *next)
{
	char close[16], *acc = xasprintf("@%s", account);
	json_t *rec;

	ymd(today + close_days, close);
	rec = json_pack("{s:s,s:s,s:s,s:s,s:s}", "_key", key, "Name", name, "StageName", stage,
	    "CloseDate", close, "AccountId", acc);
	if (next != NULL)
		json_object_set_new(rec, "Next_Meeting_Date__c", json_string(next));
	seed_add(seed, "Opportunity", rec);
	free(acc);
}

static void
seed_role(json_t *seed, const char *opp, const char *contact, int primary)
{
	char *o = xasprintf("@%s", opp), *c = xasprintf("@%s", contact);

	seed_add(seed, "OpportunityContactRole", json_pack("{s:s,s:s,s:s,s:b}", "OpportunityId", o,
	    "ContactId", c, "Role", "Decision Maker", "IsPrimary", primary));
	free(o);
	free(c);
}

/* The seed object as e2e_world_start's sf_rest: its members without the braces. Caller frees. */
static char *
seed_text(json_t *seed)
{
	char *s = json_dumps(seed, JSON_COMPACT), *t;
	size_t n = strlen(s);

	t = xstrndup(s + 1, n - 2);
	free(s);
	return t;
}

/* graph-sim and sf-sim ---------------------------------------------------------------------------*/

/* A single meeting in UTC. attendees: NULL-terminated. */
static json_t *
meeting_spec(const char *organizer, const char *const *attendees, const char *subject,
    const char *body, const char *location, long long start, long long end)
{
	char s[40], e[40];
	json_t *spec, *att = json_array();

	for (size_t i = 0; attendees[i] != NULL; i++)
		json_array_append_new(att, json_pack("{s:s}", "address", attendees[i]));
	wall_time(start, s);
	wall_time(end, e);
	spec = json_pack("{s:s,s:o,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "organizer", organizer,
	    "attendees", att, "subject", subject, "body", body, "location", location,
	    "start", "dateTime", s, "timeZone", "UTC", "end", "dateTime", e, "timeZone", "UTC");
	return spec;
}

/* POST /_sim/events: the meeting's uid (caller frees). spec is consumed. */
static char *
meeting_post(struct e2e_world *w, json_t *spec)
{
	char *text = json_dumps(spec, JSON_COMPACT), *uid;
	json_t *r = sim_http_ctl(w->graph.base_url, "POST", "/_sim/events", text, 201);

	if (json_string_value(json_object_get(r, "uid")) == NULL)
		fail_msg("POST /_sim/events answered no uid");
	uid = xstrdup(json_string_value(json_object_get(r, "uid")));
	json_decref(r);
	json_decref(spec);
	free(text);
	return uid;
}

static char *
meeting(struct e2e_world *w, const char *organizer, const char *const *attendees,
    const char *subject, const char *body, const char *location, long long start,
    long long end)
{
	return meeting_post(w, meeting_spec(organizer, attendees, subject, body, location, start,
	    end));
}

/* A rep's answer; occurrence (may be NULL) names one instance of a series by its date. */
static void
respond(struct e2e_world *w, const char *uid, const char *user, const char *response,
    const char *occurrence)
{
	json_t *b = json_pack("{s:s,s:s}", "user", user, "response", response);
	char *text, *path = xasprintf("/_sim/events/%s/respond", uid);

	if (occurrence != NULL)
		json_object_set_new(b, "occurrence", json_string(occurrence));
	text = json_dumps(b, JSON_COMPACT);
	json_decref(sim_http_ctl(w->graph.base_url, "POST", path, text, 200));
	free(text);
	free(path);
	json_decref(b);
}

/* PATCH /_sim/events/{uid}: reschedule or cancel (body JSON text). */
static void
change(struct e2e_world *w, const char *uid, const char *body)
{
	char *path = xasprintf("/_sim/events/%s", uid);

	json_decref(sim_http_ctl(w->graph.base_url, "PATCH", path, body, 200));
	free(path);
}

static void
reschedule(struct e2e_world *w, const char *uid, long long start, long long end)
{
	char s[40], e[40], *b;

	wall_time(start, s);
	wall_time(end, e);
	b = xasprintf("{\"start\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"%s\",\"timeZone\":\"UTC\"}}", s, e);
	change(w, uid, b);
	free(b);
}

static void
sync_once(struct e2e_world *w)
{
	assert_int_equal(e2e_run(w->dir, NULL, NULL, "-c", w->conf, "sync", "--once", NULL), 0);
}

/* sync --once, which must succeed; its log (standard error). Caller frees. */
static char *
sync_log(struct e2e_world *w)
{
	char *log = NULL;

	assert_int_equal(e2e_run(w->dir, NULL, &log, "-c", w->conf, "sync", "--once", NULL), 0);
	return log;
}

/* A meeting with a sensitivity ("normal", "personal", "private", "confidential"). */
static char *
meeting_sensitive(struct e2e_world *w, const char *organizer, const char *const *attendees,
    const char *subject, const char *sensitivity, long long start, long long end)
{
	json_t *spec = meeting_spec(organizer, attendees, subject, "x", "Teams", start, end);

	json_object_set_new(spec, "sensitivity", json_string(sensitivity));
	return meeting_post(w, spec);
}

static const char *
key_id(struct e2e_world *w, const char *key)
{
	return e2e_key_id(w->sf.keys, key);
}

static int
deleted(json_t *rec)
{
	return json_is_true(json_object_get(rec, "IsDeleted"));
}

/* The Events with subject; live only, or deleted ones too. Caller decrefs. */
static json_t *
events_named(struct e2e_world *w, const char *subject, int live_only)
{
	json_t *all = e2e_records(w->sf.p.base_url, "Event"), *out = json_array(), *r;
	size_t i;

	json_array_foreach(all, i, r)
		if (strcmp(e2e_field(r, "Subject"), subject) == 0 && (!live_only || !deleted(r)))
			json_array_append(out, r);
	json_decref(all);
	return out;
}

/* How many Event records ever had subject (deleted ones too). */
static size_t
events_ever(struct e2e_world *w, const char *subject)
{
	json_t *l = events_named(w, subject, 0);
	size_t n = json_array_size(l);

	json_decref(l);
	return n;
}

/* How many live Events have subject. */
static size_t
events_live(struct e2e_world *w, const char *subject)
{
	json_t *l = events_named(w, subject, 1);
	size_t n = json_array_size(l);

	json_decref(l);
	return n;
}

/* The one live Event with subject; fails the test unless exactly one. Caller decrefs. */
static json_t *
the_event(struct e2e_world *w, const char *subject)
{
	json_t *l = events_named(w, subject, 1), *r;

	if (json_array_size(l) != 1)
		fail_msg("%zu live Events \"%s\", want 1", json_array_size(l), subject);
	r = json_incref(json_array_get(l, 0));
	json_decref(l);
	return r;
}

/* The record of sobject with Id id, deleted or not, or NULL. Caller decrefs. */
static json_t *
record_by_id(struct e2e_world *w, const char *sobject, const char *id)
{
	json_t *all = e2e_records(w->sf.p.base_url, sobject), *r, *found = NULL;
	size_t i;

	json_array_foreach(all, i, r)
		if (strcmp(e2e_field(r, "Id"), id) == 0)
			found = json_incref(r);
	json_decref(all);
	return found;
}

/* The Event id is gone from Salesforce (deleted, or never there). */
static void
assert_event_gone(struct e2e_world *w, const char *id)
{
	json_t *r = record_by_id(w, "Event", id);

	if (r != NULL && !deleted(r))
		fail_msg("Event %s (%s) is still there", id, e2e_field(r, "Subject"));
	json_decref(r);
}

/* The Event id is there, not deleted; returns its LastModifiedDate (caller frees). */
static char *
assert_event_live(struct e2e_world *w, const char *id)
{
	json_t *r = record_by_id(w, "Event", id);
	char *lm;

	if (r == NULL || deleted(r))
		fail_msg("Event %s is %s", id, r == NULL ? "missing" : "deleted");
	lm = xstrdup(e2e_field(r, "LastModifiedDate"));
	json_decref(r);
	return lm;
}

/* A field of the Opportunity seeded under key; caller frees. */
static char *
opp_field(struct e2e_world *w, const char *key, const char *field)
{
	json_t *opps = e2e_records(w->sf.p.base_url, "Opportunity");
	char *v = xstrdup(e2e_field(e2e_find(opps, "Id", key_id(w, key)), field));

	json_decref(opps);
	return v;
}

/* Opportunity key's Next_Meeting_Date__c is want (UTC seconds), or null when want is 0. */
static void
assert_next(struct e2e_world *w, const char *key, long long want)
{
	char *v = opp_field(w, key, "Next_Meeting_Date__c"), t[40];

	if (want == 0)
		snprintf(t, sizeof(t), "(null)");
	else
		sf_time(want, t);
	if (strcmp(v, t) != 0)
		fail_msg("Opportunity %s: Next_Meeting_Date__c %s, want %s", key, v, t);
	free(v);
}

struct want_event {
	const char *subject;
	long long start, end;		/* UTC */
	const char *location, *description;
	const char *who, *what, *owner;	/* seeded keys; what NULL: no Opportunity */
};

static void
check_event(struct e2e_world *w, json_t *ev, const struct want_event *want)
{
	char s[40], e[40];
	const char *oid = e2e_field(ev, "OutlookEventId__c");

	sf_time(want->start, s);
	sf_time(want->end, e);
	assert_false(deleted(ev));
	assert_string_equal(e2e_field(ev, "Subject"), want->subject);
	assert_string_equal(e2e_field(ev, "StartDateTime"), s);
	assert_string_equal(e2e_field(ev, "EndDateTime"), e);
	assert_false(json_is_true(json_object_get(ev, "IsAllDayEvent")));
	if (want->location != NULL)
		assert_string_equal(e2e_field(ev, "Location"), want->location);
	if (want->description != NULL)
		assert_string_equal(e2e_field(ev, "Description"), want->description);
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(w, want->who));
	assert_string_equal(e2e_field(ev, "WhatId"),
	    want->what != NULL ? key_id(w, want->what) : "(null)");
	assert_string_equal(e2e_field(ev, "OwnerId"), key_id(w, want->owner));
	assert_string_not_equal(oid, "(null)");
	assert_true(strlen(oid) > 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, comma-joined ids. Caller frees. */
static char *
join_sorted(const char **ids, size_t n)
{
	char *s = xstrdup(""), *t;

	qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 0; i < n; i++) {
		t = xasprintf("%s%s%s", s, i ? "," : "", ids[i]);
		free(s);
		s = t;
	}
	return s;
}

/* The Contacts (RelationId 003...) of event_id's live EventRelations, sorted and joined, each
 * as often as it appears. Users as invitees are not looked at. Caller frees. */
static char *
contact_relations(struct e2e_world *w, const char *event_id)
{
	json_t *rels = e2e_records(w->sf.p.base_url, "EventRelation"), *r;
	const char *ids[64];
	size_t i, n = 0;
	char *s;

	json_array_foreach(rels, i, r) {
		const char *rid = e2e_field(r, "RelationId");

		if (!deleted(r) && strcmp(e2e_field(r, "EventId"), event_id) == 0 &&
		    strncmp(rid, "003", 3) == 0 && n < 64)
			ids[n++] = rid;
	}
	s = join_sorted(ids, n);
	json_decref(rels);
	return s;
}

/* The seeded keys' ids, sorted and joined. keys: NULL-terminated. Caller frees. */
static char *
key_ids(struct e2e_world *w, const char *const *keys)
{
	const char *ids[64];
	size_t n = 0;

	while (keys[n] != NULL && n < 64) {
		ids[n] = key_id(w, keys[n]);
		n++;
	}
	return join_sorted(ids, n);
}

/* The default world ---------------------------------------------------------------------------*/

/* Every group's teardown: the world its setup started (in *state). */
static int
teardown_world(void **state)
{
	return e2e_world_stop(*state);
}

static int
setup_main(void **state)
{
	json_t *seed = json_object();
	char hand_future[40], hand_past[40], hand_ev[40];
	char *rest;
	int rc;

	*state = &w_main;
	today = (long long)time(NULL) / 86400;
	sf_time(at(2, 8, 0), hand_future);
	sf_time(at(-3, 8, 0), hand_past);
	sf_time(at(1, 9, 0), hand_ev);

	seed_account(seed, "fab", "Fabrikam");
	seed_account(seed, "ini", "Initech");
	seed_account(seed, "nw", "Northwind");
	seed_account(seed, "umb", "Umbrella");
	seed_account(seed, "tail", "Tailspin");
	seed_account(seed, "van", "Vandelay");
	seed_account(seed, "wood", "Woodgrove");
	seed_account(seed, "lit", "Litware");
	seed_account(seed, "ad", "Adatum");
	seed_account(seed, "four", "Fourth Coffee");
	seed_account(seed, "pro", "Proseware");
	seed_account(seed, "gd", "Graphic Design Institute");
	seed_account(seed, "sie", "Sierra Labs");
	seed_account(seed, "rvb", "Riverbend");
	seed_account(seed, "nim", "Nimbus");

	seed_contact(seed, "carol", "Carol", "Chen", "carol@fabrikam.example", "fab");
	seed_contact(seed, "dave", "Dave", "Diaz", "dave@fabrikam.example", "fab");
	seed_contact(seed, "ivan", "Ivan", "Ito", "ivan@initech.example", "ini");
	seed_contact(seed, "nina", "Nina", "Nash", "nina@northwind.example", "nw");
	seed_contact(seed, "ula", "Ula", "Underwood", "ula@umbrella.example", "umb");
	seed_contact(seed, "tara", "Tara", "Tate", "tara@tailspin.example", "tail");
	seed_contact(seed, "vera", "Vera", "Vance", "vera@vandelay.example", "van");
	seed_contact(seed, "walt", "Walt", "West", "walt@woodgrove.example", "wood");
	seed_contact(seed, "lina", "Lina", "Lee", "lina@litware.example", "lit");
	seed_contact(seed, "leo", "Leo", "Lund", "leo@litware.example", "lit");
	seed_contact(seed, "ada", "Ada", "Abbott", "ada@adatum.example", "ad");
	seed_contact(seed, "fern", "Fern", "Fox", "fern@fourthcoffee.example", "four");
	seed_contact(seed, "paul", "Paul", "Park", "paul@proseware.example", "pro");
	seed_contact(seed, "gil", "Gil", "Gray", "gil@graphicdesign.example", "gd");
	seed_contact(seed, "sid", "Sid", "Soto", "sid@sierra.example", "sie");
	seed_contact(seed, "rita", "Rita", "Reyes", "rita@riverbend.example", "rvb");
	seed_contact(seed, "ned", "Ned", "Noble", "ned@nimbus.example", "nim");

	/* Carol: a non-primary open one, a primary open one closing much later, and a primary
	 * closed one closing sooner (closed ones are not candidates). */
	seed_opp(seed, "opp_renew", "Fabrikam renewal", "Prospecting", 60, "fab", NULL);
	seed_opp(seed, "opp_expand", "Fabrikam expansion", "Qualification", 300, "fab", NULL);
	seed_opp(seed, "opp_won", "Fabrikam 2025 deal", "Closed Won", 5, "fab", NULL);
	/* Ivan: no primary; the open one closing nearest to today wins, a lost one is ignored. */
	seed_opp(seed, "ini_far", "Initech platform", "Prospecting", 90, "ini", NULL);
	seed_opp(seed, "ini_near", "Initech pilot", "Needs Analysis", 20, "ini", NULL);
	seed_opp(seed, "ini_lost", "Initech legacy", "Closed Lost", 2, "ini", NULL);
	/* Nina: only a lost one. */
	seed_opp(seed, "nw_lost", "Northwind trial", "Closed Lost", 10, "nw", NULL);
	seed_opp(seed, "umb_opp", "Umbrella rollout", "Prospecting", 45, "umb", NULL);
	seed_opp(seed, "tail_opp", "Tailspin fleet", "Prospecting", 30, "tail", NULL);
	seed_opp(seed, "van_opp", "Vandelay import", "Prospecting", 30, "van", NULL);
	seed_opp(seed, "wood_opp", "Woodgrove branches", "Prospecting", 30, "wood", NULL);
	seed_opp(seed, "lit_opp", "Litware suite", "Prospecting", 30, "lit", NULL);
	/* Next meeting dates set by hand: one still ahead, one already past. */
	seed_opp(seed, "four_opp", "Fourth Coffee roastery", "Prospecting", 30, "four",
	    hand_future);
	seed_opp(seed, "pro_opp", "Proseware migration", "Prospecting", 30, "pro", hand_past);
	seed_opp(seed, "gd_opp", "Graphic Design licences", "Prospecting", 30, "gd", NULL);
	seed_opp(seed, "sie_opp", "Sierra lab kits", "Prospecting", 30, "sie", NULL);
	seed_opp(seed, "rvb_opp", "Riverbend barges", "Prospecting", 30, "rvb", NULL);
	seed_opp(seed, "nim_opp", "Nimbus cloud", "Prospecting", 30, "nim", NULL);

	seed_role(seed, "opp_renew", "carol", 0);
	seed_role(seed, "opp_expand", "carol", 1);
	seed_role(seed, "opp_won", "carol", 1);
	seed_role(seed, "ini_far", "ivan", 0);
	seed_role(seed, "ini_near", "ivan", 0);
	seed_role(seed, "ini_lost", "ivan", 0);
	seed_role(seed, "nw_lost", "nina", 1);
	seed_role(seed, "umb_opp", "ula", 1);
	seed_role(seed, "tail_opp", "tara", 1);
	seed_role(seed, "van_opp", "vera", 1);
	seed_role(seed, "wood_opp", "walt", 1);
	seed_role(seed, "lit_opp", "lina", 1);
	seed_role(seed, "four_opp", "fern", 1);
	seed_role(seed, "pro_opp", "paul", 1);
	seed_role(seed, "gd_opp", "gil", 1);
	seed_role(seed, "sie_opp", "sid", 1);
	seed_role(seed, "rvb_opp", "rita", 1);
	seed_role(seed, "nim_opp", "ned", 1);

	/* An Event a rep logged by hand on Proseware, sooner than any meeting: not olsync's. */
	seed_add(seed, "Event", json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "_key", "hand_event",
	    "Subject", "Proseware call (logged by hand)", "StartDateTime", hand_ev,
	    "DurationInMinutes", 30, "WhoId", "@paul", "WhatId", "@pro_opp", "OwnerId", "@alice"));

	rest = seed_text(seed);
	json_decref(seed);
	rc = e2e_world_start(&w_main, "test_meetings", REPS_SF, rest, REPS_GRAPH,
	    ALICE ", " BOB,
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "http_timeout 10s\n");
	free(rest);
	return rc;
}

/* Carol (a Contact) organizes; Alice's Event appears only once she accepts, with every field,
 * on Carol's primary open Opportunity (not the non-primary one closing sooner, not the closed
 * primary one), Dave (another Contact attending) as an EventRelation, and the Opportunity's
 * next meeting date set. */
static void
test_accepted_event(void **state)
{
	static const char *const rel_keys[] = { "dave", NULL };
	const struct want_event want = {
		"Renewal review", at(3, 14, 0), at(3, 15, 0), "Fabrikam HQ",
		"Agenda: pricing, timeline and the pilot.", "carol", "opp_expand", "alice",
	};
	char *uid, *rels, *want_rels;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "Carol Chen <carol@fabrikam.example>",
	    (const char *const[]){ ALICE, "dave@fabrikam.example", ZED, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	/* Not answered yet: nothing. */
	sync_once(&w_main);
	assert_int_equal(events_ever(&w_main, want.subject), 0);

	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	rels = contact_relations(&w_main, e2e_field(ev, "Id"));
	want_rels = key_ids(&w_main, rel_keys);
	assert_string_equal(rels, want_rels);
	assert_next(&w_main, "opp_expand", want.start);
	assert_next(&w_main, "opp_renew", 0);
	assert_next(&w_main, "opp_won", 0);
	free(rels);
	free(want_rels);
	json_decref(ev);
	free(uid);
}

/* No primary role: the open Opportunity closing nearest to today; a lost one closing sooner is
 * not a candidate. */
static void
test_opportunity_nearest_close(void **state)
{
	const struct want_event want = {
		"Initech scoping", at(2, 15, 0), at(2, 16, 0), "Teams", "Scope the pilot.",
		"ivan", "ini_near", "alice",
	};
	char *uid;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "ivan@initech.example", (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	assert_next(&w_main, "ini_near", want.start);
	assert_next(&w_main, "ini_far", 0);
	assert_next(&w_main, "ini_lost", 0);
	json_decref(ev);
	free(uid);
}

/* A Contact with no open Opportunity (only a lost one): the Event is on the Contact alone. */
static void
test_without_opportunity(void **state)
{
	const struct want_event want = {
		"Northwind intro", at(3, 16, 0), at(3, 16, 30), "Phone", "First call.",
		"nina", NULL, "alice",
	};
	char *uid;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "Nina Nash <nina@northwind.example>",
	    (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	assert_next(&w_main, "nw_lost", 0);
	json_decref(ev);
	free(uid);
}

/* What is not a meeting olsync logs with the defaults: declined, tentative (meeting_tentative
 * no), unanswered, organized by the rep (meeting_match organizer), organized by an external
 * address that is no Contact. One accepted meeting on the same Contact is the control: its Event
 * is the only one, and only it sets the next meeting date, though the others come sooner. */
static void
test_not_attending(void **state)
{
	static const char *const none[] = {
		"Umbrella declined", "Umbrella tentative", "Umbrella unanswered",
		"Umbrella internal plan", "Umbrella via partner",
	};
	char *u1, *u2, *u3, *u4, *u5, *u6;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_main, "ula@umbrella.example", (const char *const[]){ ALICE, NULL },
	    none[0], "x", "Room 1", at(2, 9, 0), at(2, 10, 0));
	u2 = meeting(&w_main, "ula@umbrella.example", (const char *const[]){ ALICE, NULL },
	    none[1], "x", "Room 1", at(3, 9, 0), at(3, 10, 0));
	u3 = meeting(&w_main, "ula@umbrella.example", (const char *const[]){ ALICE, NULL },
	    none[2], "x", "Room 1", at(4, 9, 0), at(4, 10, 0));
	u4 = meeting(&w_main, ALICE, (const char *const[]){ "ula@umbrella.example", NULL },
	    none[3], "x", "Room 1", at(5, 9, 0), at(5, 10, 0));
	u5 = meeting(&w_main, ZED, (const char *const[]){ ALICE, "ula@umbrella.example", NULL },
	    none[4], "x", "Room 1", at(6, 9, 0), at(6, 10, 0));
	u6 = meeting(&w_main, "ula@umbrella.example", (const char *const[]){ ALICE, NULL },
	    "Umbrella accepted", "y", "Room 2", at(9, 9, 0), at(9, 10, 0));
	respond(&w_main, u1, ALICE, "declined", NULL);
	respond(&w_main, u2, ALICE, "tentativelyAccepted", NULL);
	respond(&w_main, u5, ALICE, "accepted", NULL);
	respond(&w_main, u6, ALICE, "accepted", NULL);
	sync_once(&w_main);

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (events_ever(&w_main, none[i]) != 0)
			fail_msg("an Event for \"%s\"", none[i]);
	ev = the_event(&w_main, "Umbrella accepted");
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(&w_main, "ula"));
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_main, "umb_opp"));
	assert_next(&w_main, "umb_opp", at(9, 9, 0));
	json_decref(ev);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
	free(u5);
	free(u6);
}

/* An all-day meeting from organizer to Alice over [d0, d2) in zone, accepted and synced. */
static void
all_day_accepted(struct e2e_world *w, const char *organizer, const char *subject,
    const char *body, const char *location, const char *d0, const char *d2, const char *zone)
{
	char s[40], e[40], *uid;
	json_t *spec;

	snprintf(s, sizeof(s), "%sT00:00:00", d0);
	snprintf(e, sizeof(e), "%sT00:00:00", d2);
	spec = json_pack("{s:s,s:[{s:s}],s:s,s:s,s:s,s:b,s:{s:s,s:s},s:{s:s,s:s}}",
	    "organizer", organizer, "attendees", "address", ALICE, "subject", subject, "body",
	    body, "location", location, "isAllDay", 1, "start", "dateTime", s, "timeZone", zone,
	    "end", "dateTime", e, "timeZone", zone);
	uid = meeting_post(w, spec);
	respond(w, uid, ALICE, "accepted", NULL);
	sync_once(w);
	free(uid);
}

/* A two-day all-day meeting: IsAllDayEvent, its first date, 1440 minutes a day. */
static void
test_all_day(void **state)
{
	char d0[16], d2[16], want_start[40];
	json_t *ev;

	(void)state;
	ymd(today + 10, d0);
	ymd(today + 12, d2);
	all_day_accepted(&w_main, "ada@adatum.example", "Adatum offsite", "Two days of planning.",
	    "Lisbon", d0, d2, "UTC");

	ev = the_event(&w_main, "Adatum offsite");
	assert_true(json_is_true(json_object_get(ev, "IsAllDayEvent")));
	assert_string_equal(e2e_field(ev, "ActivityDate"), d0);
	/* activity_timezone is UTC: the day starts at midnight UTC. */
	sf_time(at(10, 0, 0), want_start);
	assert_string_equal(e2e_field(ev, "StartDateTime"), want_start);
	assert_int_equal(json_integer_value(json_object_get(ev, "DurationInMinutes")), 2 * 1440);
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(&w_main, "ada"));
	assert_string_equal(e2e_field(ev, "WhatId"), "(null)");
	assert_string_equal(e2e_field(ev, "OwnerId"), key_id(&w_main, "alice"));
	assert_string_equal(e2e_field(ev, "Location"), "Lisbon");
	json_decref(ev);
}

/* Two meetings on one Opportunity through their life: the next meeting date is the earliest
 * future one on create, reschedule (the same Event moves, though graph-sim resets Alice's
 * answer to none), decline and cancel, and null when none is left. */
static void
test_reschedule_decline_cancel(void **state)
{
	struct want_event demo = {
		"Tailspin demo", at(4, 10, 0), at(4, 11, 0), "Teams",
		"Demo of the fleet tracker.", "tara", "tail_opp", "alice",
	};
	const struct want_event follow = {
		"Tailspin follow-up", at(8, 10, 0), at(8, 10, 30), "Teams", "Questions.",
		"tara", "tail_opp", "alice",
	};
	char *u1, *u2, *id1, *id2;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_main, "tara@tailspin.example", (const char *const[]){ ALICE, NULL },
	    demo.subject, demo.description, demo.location, demo.start, demo.end);
	respond(&w_main, u1, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, demo.subject);
	check_event(&w_main, ev, &demo);
	id1 = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	assert_next(&w_main, "tail_opp", demo.start);

	/* A later meeting: the date stays on the earlier one. */
	u2 = meeting(&w_main, "tara@tailspin.example", (const char *const[]){ ALICE, NULL },
	    follow.subject, follow.description, follow.location, follow.start, follow.end);
	respond(&w_main, u2, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, follow.subject);
	check_event(&w_main, ev, &follow);
	id2 = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	assert_next(&w_main, "tail_opp", demo.start);

	/* The demo moves after the follow-up: same Event, new times; the follow-up is next. */
	demo.start = at(12, 15, 0);
	demo.end = at(12, 16, 0);
	reschedule(&w_main, u1, demo.start, demo.end);
	sync_once(&w_main);
	ev = the_event(&w_main, demo.subject);
	assert_string_equal(e2e_field(ev, "Id"), id1);
	check_event(&w_main, ev, &demo);
	json_decref(ev);
	assert_int_equal(events_ever(&w_main, demo.subject), 1);
	assert_next(&w_main, "tail_opp", follow.start);

	/* Alice declines the follow-up she had accepted: its Event goes, the demo is next. */
	respond(&w_main, u2, ALICE, "declined", NULL);
	sync_once(&w_main);
	assert_event_gone(&w_main, id2);
	free(assert_event_live(&w_main, id1));
	assert_next(&w_main, "tail_opp", demo.start);

	/* Tara cancels the demo: no Event left, no next meeting. */
	change(&w_main, u1, "{\"isCancelled\":true}");
	sync_once(&w_main);
	assert_event_gone(&w_main, id1);
	assert_int_equal(events_ever(&w_main, "Canceled: Tailspin demo"), 0);
	assert_next(&w_main, "tail_opp", 0);
	free(id1);
	free(id2);
	free(u1);
	free(u2);
}

/* NEEDS graph-sim's `DELETE /_sim/events/{uid}?user=UPN[&occurrence=..]` (being added by
 * another change; until it is there this test fails at that call, with 404 or 405): the meeting
 * deleted from Alice's calendar loses its Event and its Opportunity's date. */
static void
test_deleted_from_calendar(void **state)
{
	const struct want_event want = {
		"Vandelay import call", at(5, 13, 0), at(5, 14, 0), "Teams", "Customs paperwork.",
		"vera", "van_opp", "alice",
	};
	char *uid, *id, *path;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "vera@vandelay.example", (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	id = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	assert_next(&w_main, "van_opp", want.start);

	path = xasprintf("/_sim/events/%s?user=" ALICE, uid);
	json_decref(sim_http_ctl(w_main.graph.base_url, "DELETE", path, NULL, 200));
	sync_once(&w_main);
	assert_event_gone(&w_main, id);
	assert_next(&w_main, "van_opp", 0);
	free(path);
	free(id);
	free(uid);
}

/* A weekly series of three: one Event per instance, each with its own OutlookEventId__c;
 * cancelling one instance, then declining another, removes that instance's Event only (the
 * others are not even rewritten). */
static void
test_weekly_series(void **state)
{
	char d0[16], d2[16], s[40], e[40];
	const char *ids[3], *oids[3];
	char *lm[3], *uid;
	json_t *spec, *live, *ev;
	size_t i;

	(void)state;
	ymd(today + 2, d0);
	ymd(today + 16, d2);
	wall_time(at(2, 11, 0), s);
	wall_time(at(2, 11, 30), e);
	spec = json_pack("{s:s,s:[{s:s}],s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},"
	    "s:{s:{s:s,s:i,s:[s]},s:{s:s,s:s,s:i}}}",
	    "organizer", "walt@woodgrove.example", "attendees", "address", ALICE,
	    "subject", "Woodgrove weekly", "body", "Pipeline review.", "location", "Teams",
	    "start", "dateTime", s, "timeZone", "UTC", "end", "dateTime", e, "timeZone", "UTC",
	    "recurrence", "pattern", "type", "weekly", "interval", 1, "daysOfWeek",
	    weekdays[isotime_weekday(today + 2)], "range", "type", "numbered", "startDate", d0,
	    "numberOfOccurrences", 3);
	uid = meeting_post(&w_main, spec);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);

	/* Ordered by start: instance k is today + 2 + 7k at 11:00 UTC. */
	live = events_named(&w_main, "Woodgrove weekly", 1);
	assert_int_equal(json_array_size(live), 3);
	for (i = 0; i < 3; i++) {
		const struct want_event want = {
			"Woodgrove weekly", at(2 + 7 * (int)i, 11, 0), at(2 + 7 * (int)i, 11, 30),
			"Teams", "Pipeline review.", "walt", "wood_opp", "alice",
		};
		char st[40];
		size_t k;

		sf_time(want.start, st);
		ev = NULL;
		json_array_foreach(live, k, ev)
			if (strcmp(e2e_field(ev, "StartDateTime"), st) == 0)
				break;
		if (k == json_array_size(live))
			fail_msg("no Woodgrove weekly Event at %s", st);
		check_event(&w_main, ev, &want);
		ids[i] = e2e_field(ev, "Id");
		oids[i] = e2e_field(ev, "OutlookEventId__c");
		lm[i] = xstrdup(e2e_field(ev, "LastModifiedDate"));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(oids[j], oids[i]);
	}
	assert_next(&w_main, "wood_opp", at(2, 11, 0));

	/* Walt cancels the first instance. */
	{
		char *b = xasprintf("{\"isCancelled\":true,\"occurrence\":\"%s\"}", d0);

		change(&w_main, uid, b);
		free(b);
	}
	sync_once(&w_main);
	assert_event_gone(&w_main, ids[0]);
	for (i = 1; i < 3; i++) {
		char *now = assert_event_live(&w_main, ids[i]);

		assert_string_equal(now, lm[i]);
		free(now);
	}
	assert_next(&w_main, "wood_opp", at(9, 11, 0));

	/* Alice declines the third. */
	respond(&w_main, uid, ALICE, "declined", d2);
	sync_once(&w_main);
	assert_event_gone(&w_main, ids[2]);
	{
		char *now = assert_event_live(&w_main, ids[1]);

		assert_string_equal(now, lm[1]);
		free(now);
	}
	assert_next(&w_main, "wood_opp", at(9, 11, 0));
	for (i = 0; i < 3; i++)
		free(lm[i]);
	json_decref(live);
	free(uid);
}

/* Alice and Bob both accept Lina's meeting: one Event (on Alice, the first mailbox), Leo once
 * as an EventRelation. It stays while one of them still attends, and goes when both declined. */
static void
test_two_reps(void **state)
{
	static const char *const rel_keys[] = { "leo", NULL };
	const struct want_event want = {
		"Litware kickoff", at(3, 13, 0), at(3, 14, 0), "Litware office", "Kickoff.",
		"lina", "lit_opp", "alice",
	};
	char *uid, *id, *rels, *want_rels;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "Lina Lee <lina@litware.example>",
	    (const char *const[]){ ALICE, BOB, "leo@litware.example", NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	respond(&w_main, uid, BOB, "accepted", NULL);
	sync_once(&w_main);
	assert_int_equal(events_ever(&w_main, want.subject), 1);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	id = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	rels = contact_relations(&w_main, id);
	want_rels = key_ids(&w_main, rel_keys);
	assert_string_equal(rels, want_rels);
	free(rels);
	assert_next(&w_main, "lit_opp", want.start);

	/* Alice drops out; Bob still goes. */
	respond(&w_main, uid, ALICE, "declined", NULL);
	sync_once(&w_main);
	free(assert_event_live(&w_main, id));
	assert_int_equal(events_ever(&w_main, want.subject), 1);
	rels = contact_relations(&w_main, id);
	assert_string_equal(rels, want_rels);
	free(rels);
	assert_next(&w_main, "lit_opp", want.start);

	respond(&w_main, uid, BOB, "declined", NULL);
	sync_once(&w_main);
	assert_event_gone(&w_main, id);
	assert_next(&w_main, "lit_opp", 0);
	free(want_rels);
	free(id);
	free(uid);
}

/* A meeting two days ago gets its Event but is no next meeting; a future one is. */
static void
test_next_meeting_future_only(void **state)
{
	const struct want_event retro = {
		"Graphic Design retro", at(-2, 10, 0), at(-2, 11, 0), "Teams", "Looking back.",
		"gil", "gd_opp", "alice",
	};
	char *u1, *u2;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_main, "gil@graphicdesign.example", (const char *const[]){ ALICE, NULL },
	    retro.subject, retro.description, retro.location, retro.start, retro.end);
	respond(&w_main, u1, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, retro.subject);
	check_event(&w_main, ev, &retro);
	json_decref(ev);
	assert_next(&w_main, "gd_opp", 0);

	u2 = meeting(&w_main, "gil@graphicdesign.example", (const char *const[]){ ALICE, NULL },
	    "Graphic Design planning", "Next quarter.", "Teams", at(7, 10, 0), at(7, 11, 0));
	respond(&w_main, u2, ALICE, "accepted", NULL);
	sync_once(&w_main);
	assert_next(&w_main, "gd_opp", at(7, 10, 0));
	free(u1);
	free(u2);
}

/* Next_Meeting_Date__c set by hand: a future one is neither overwritten nor cleared (its
 * Opportunity is not even written); a past one is replaced by olsync's; an Event logged by hand
 * does not count; and a future value set by hand after olsync wrote is left alone too. */
static void
test_next_meeting_hand_set(void **state)
{
	char *u1, *u2, *u3, *lm_four, *lm_hand, *now, *path, *body, v[40];
	json_t *ev;
	struct sim_http h;

	(void)state;
	lm_four = opp_field(&w_main, "four_opp", "LastModifiedDate");
	lm_hand = assert_event_live(&w_main, key_id(&w_main, "hand_event"));

	u1 = meeting(&w_main, "fern@fourthcoffee.example", (const char *const[]){ ALICE, NULL },
	    "Fourth Coffee tasting", "New blends.", "Roastery", at(5, 10, 0), at(5, 11, 0));
	u2 = meeting(&w_main, "paul@proseware.example", (const char *const[]){ ALICE, NULL },
	    "Proseware review", "Migration status.", "Teams", at(6, 10, 0), at(6, 11, 0));
	respond(&w_main, u1, ALICE, "accepted", NULL);
	respond(&w_main, u2, ALICE, "accepted", NULL);
	sync_once(&w_main);

	ev = the_event(&w_main, "Fourth Coffee tasting");
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_main, "four_opp"));
	json_decref(ev);
	assert_next(&w_main, "four_opp", at(2, 8, 0));
	now = opp_field(&w_main, "four_opp", "LastModifiedDate");
	assert_string_equal(now, lm_four);
	free(now);

	ev = the_event(&w_main, "Proseware review");
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_main, "pro_opp"));
	json_decref(ev);
	/* Not the past hand value, not the hand-logged Event tomorrow: olsync's meeting. */
	assert_next(&w_main, "pro_opp", at(6, 10, 0));
	now = assert_event_live(&w_main, key_id(&w_main, "hand_event"));
	assert_string_equal(now, lm_hand);
	free(now);

	/* Fern cancels: the hand value stays. */
	change(&w_main, u1, "{\"isCancelled\":true}");
	sync_once(&w_main);
	assert_int_equal(events_live(&w_main, "Fourth Coffee tasting"), 0);
	assert_next(&w_main, "four_opp", at(2, 8, 0));
	now = opp_field(&w_main, "four_opp", "LastModifiedDate");
	assert_string_equal(now, lm_four);
	free(now);

	/* Someone sets Proseware's date by hand, ahead; a new meeting does not move it. */
	sf_time(at(4, 12, 0), v);
	body = xasprintf("{\"Next_Meeting_Date__c\":\"%s\"}", v);
	path = xasprintf(SF_DATA "/sobjects/Opportunity/%s", key_id(&w_main, "pro_opp"));
	sim_http_do(&h, w_main.sf.p.base_url, "PATCH", path, body, w_main.sf.token, NULL);
	sim_http_expect(&h, 204, "PATCH Opportunity Next_Meeting_Date__c");
	sim_http_free(&h);
	u3 = meeting(&w_main, "paul@proseware.example", (const char *const[]){ ALICE, NULL },
	    "Proseware follow-up", "Cutover.", "Teams", at(7, 10, 0), at(7, 11, 0));
	respond(&w_main, u3, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, "Proseware follow-up");
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_main, "pro_opp"));
	json_decref(ev);
	assert_next(&w_main, "pro_opp", at(4, 12, 0));

	free(body);
	free(path);
	free(lm_four);
	free(lm_hand);
	free(u1);
	free(u2);
	free(u3);
}

/* The email filters hold for meetings: with the default skip_sensitivity (private,
 * confidential), Sid's private and confidential meetings, accepted, get no Event and do not set
 * the next meeting date though they come first; his personal one (not skipped) is the control. */
static void
test_sensitivity_skipped(void **state)
{
	char *u1, *u2, *u3, *log;
	json_t *ev;

	(void)state;
	u1 = meeting_sensitive(&w_main, "sid@sierra.example", (const char *const[]){ ALICE, NULL },
	    "Sierra private", "private", at(2, 13, 0), at(2, 14, 0));
	u2 = meeting_sensitive(&w_main, "sid@sierra.example", (const char *const[]){ ALICE, NULL },
	    "Sierra confidential", "confidential", at(3, 13, 0), at(3, 14, 0));
	u3 = meeting_sensitive(&w_main, "sid@sierra.example", (const char *const[]){ ALICE, NULL },
	    "Sierra personal", "personal", at(4, 13, 0), at(4, 14, 0));
	respond(&w_main, u1, ALICE, "accepted", NULL);
	respond(&w_main, u2, ALICE, "accepted", NULL);
	respond(&w_main, u3, ALICE, "accepted", NULL);
	log = sync_log(&w_main);
	assert_int_equal(events_ever(&w_main, "Sierra private"), 0);
	assert_int_equal(events_ever(&w_main, "Sierra confidential"), 0);
	ev = the_event(&w_main, "Sierra personal");
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(&w_main, "sid"));
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_main, "sie_opp"));
	json_decref(ev);
	assert_next(&w_main, "sie_opp", at(4, 13, 0));
	assert_non_null(strstr(log, "reason=sensitivity"));
	free(log);
	free(u1);
	free(u2);
	free(u3);
}

/* Alice accepts Rita's meeting, then declines it: the Event goes. Rita then moves it, which
 * resets Alice's answer to none: the decline stands, no Event comes back (an accept before the
 * decline must not count as "accepted, then rescheduled"). Alice accepting the new time brings
 * an Event back, at the new time. */
static void
test_decline_then_reschedule(void **state)
{
	struct want_event want = {
		"Riverbend survey", at(5, 10, 0), at(5, 11, 0), "Teams", "Survey of the docks.",
		"rita", "rvb_opp", "alice",
	};
	char *uid, *id;
	size_t ever;
	json_t *ev;

	(void)state;
	uid = meeting(&w_main, "rita@riverbend.example", (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	id = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	assert_next(&w_main, "rvb_opp", want.start);

	respond(&w_main, uid, ALICE, "declined", NULL);
	sync_once(&w_main);
	assert_event_gone(&w_main, id);
	assert_next(&w_main, "rvb_opp", 0);
	ever = events_ever(&w_main, want.subject);

	want.start = at(6, 14, 0);
	want.end = at(6, 15, 0);
	reschedule(&w_main, uid, want.start, want.end);
	sync_once(&w_main);
	assert_int_equal(events_live(&w_main, want.subject), 0);
	assert_int_equal(events_ever(&w_main, want.subject), ever);
	assert_event_gone(&w_main, id);
	assert_next(&w_main, "rvb_opp", 0);

	/* The control: the meeting is still followed; an accept of the new time counts. */
	respond(&w_main, uid, ALICE, "accepted", NULL);
	sync_once(&w_main);
	ev = the_event(&w_main, want.subject);
	check_event(&w_main, ev, &want);
	json_decref(ev);
	assert_next(&w_main, "rvb_opp", want.start);
	free(id);
	free(uid);
}

/* Two accepted meetings on Nimbus, the first starting a few seconds from now: the next meeting
 * date is the first; once it has started, a sync with nothing new in Graph moves the date on to
 * the second. */
static void
test_next_meeting_moves_on(void **state)
{
	/* Far enough for the first sync to end before it (4 s, scaled under valgrind). */
	const long long soon = (long long)time(NULL) + mono_scaled(4000) / 1000;
	const long long later = at(6, 9, 0);
	char *u1, *u2;

	(void)state;
	u1 = meeting(&w_main, "ned@nimbus.example", (const char *const[]){ ALICE, NULL },
	    "Nimbus standup", "Soon.", "Teams", soon, soon + 900);
	u2 = meeting(&w_main, "ned@nimbus.example", (const char *const[]){ ALICE, NULL },
	    "Nimbus review", "Later.", "Teams", later, later + 3600);
	respond(&w_main, u1, ALICE, "accepted", NULL);
	respond(&w_main, u2, ALICE, "accepted", NULL);
	sync_once(&w_main);
	if ((long long)time(NULL) >= soon)
		fail_msg("the first sync took until the meeting started: nothing to compare");
	assert_int_equal(events_live(&w_main, "Nimbus standup"), 1);
	assert_int_equal(events_live(&w_main, "Nimbus review"), 1);
	assert_next(&w_main, "nim_opp", soon);

	while ((long long)time(NULL) <= soon)
		usleep(100 * 1000);
	sync_once(&w_main);
	assert_next(&w_main, "nim_opp", later);
	/* The meeting that started keeps its Event. */
	assert_int_equal(events_live(&w_main, "Nimbus standup"), 1);
	free(u1);
	free(u2);
}

/* Every delta token expires and the whole calendar is read again: Events, EventRelations and
 * Opportunities are exactly as they were (same Ids, same LastModifiedDate), and Salesforce saw
 * no write, only reads. */
static void
test_replay(void **state)
{
	static const char *const objs[] = { "Event", "EventRelation", "Opportunity" };
	json_t *events, *s, *v, *r;
	char *before, *after;
	const char *k;
	long reads = 0;
	size_t i, live = 0;

	(void)state;
	/* What the earlier tests left: enough Events that an empty replay would show. */
	events = e2e_records(w_main.sf.p.base_url, "Event");
	json_array_foreach(events, i, r)
		live += !deleted(r) && strcmp(e2e_field(r, "OutlookEventId__c"), "(null)") != 0;
	json_decref(events);
	assert_true(live >= 10);

	json_decref(sim_http_ctl(w_main.graph.base_url, "POST", "/_sim/delta/expire", NULL, 200));
	json_decref(sim_http_ctl(w_main.graph.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	json_decref(sim_http_ctl(w_main.sf.p.base_url, "POST", "/_sim/stats/reset", NULL, 200));
	before = e2e_snapshot(w_main.sf.p.base_url, objs, sizeof(objs) / sizeof(objs[0]));
	sync_once(&w_main);
	after = e2e_snapshot(w_main.sf.p.base_url, objs, sizeof(objs) / sizeof(objs[0]));
	assert_string_equal(after, before);
	/* The calendars were read again (a 410, then a new round, per mailbox). */
	assert_true(e2e_route_calls(w_main.graph.base_url, "calendarView/delta") >= 2);

	s = sim_http_ctl(w_main.sf.p.base_url, "GET", "/_sim/stats", NULL, 200);
	json_object_foreach(json_object_get(s, "routes"), k, v) {
		size_t n = strlen(k);

		if (strncmp(k, "GET /services/data", 18) == 0 ||
		    (strncmp(k, "POST /services/data/", 20) == 0 && n > 10 &&
		    strcmp(k + n - 10, "/composite") == 0))
			reads += (long)json_integer_value(v);
		else if (strncmp(k, "POST /services/oauth2/", 22) != 0)
			fail_msg("the replay called %s %lld times", k,
			    (long long)json_integer_value(v));
	}
	assert_int_equal(json_integer_value(json_object_get(s, "api_calls")), reads);
	json_decref(s);
	free(before);
	free(after);
}

/* The other choices ------------------------------------------------------------------------------*/

static int
setup_alt(void **state)
{
	json_t *seed = json_object();
	char *rest;
	int rc;

	*state = &w_alt;
	today = (long long)time(NULL) / 86400;
	seed_account(seed, "kap", "Kappa");
	seed_account(seed, "noor", "Noor Ltd");
	seed_account(seed, "mu", "Mu Systems");
	seed_account(seed, "omega", "Omega");
	seed_account(seed, "riv", "Rival Corp");
	seed_contact(seed, "kim", "Kim", "Kerr", "kim@kappa.example", "kap");
	seed_contact(seed, "noora", "Noor", "Nasser", "noor@noor.example", "noor");
	seed_contact(seed, "mia", "Mia", "Moss", "mia@mu.example", "mu");
	seed_contact(seed, "omar", "Omar", "Ortiz", "omar@omega.example", "omega");
	seed_contact(seed, "rex", "Rex", "Rowe", "rex@rival.example", "riv");
	seed_opp(seed, "kap_opp", "Kappa platform", "Prospecting", 40, "kap", NULL);
	seed_opp(seed, "noor_lost", "Noor pilot", "Closed Lost", 3, "noor", NULL);
	seed_opp(seed, "mu_opp", "Mu licences", "Prospecting", 40, "mu", NULL);
	seed_opp(seed, "omega_opp", "Omega renewal", "Prospecting", 40, "omega", NULL);
	seed_opp(seed, "riv_opp", "Rival takeover", "Prospecting", 40, "riv", NULL);
	seed_role(seed, "kap_opp", "kim", 1);
	seed_role(seed, "noor_lost", "noora", 1);
	seed_role(seed, "mu_opp", "mia", 1);
	seed_role(seed, "omega_opp", "omar", 1);
	seed_role(seed, "riv_opp", "rex", 1);
	rest = seed_text(seed);
	json_decref(seed);
	rc = e2e_world_start(&w_alt, "test_meetings_alt", REPS_SF, rest, REPS_GRAPH,
	    ALICE ", " BOB,
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "http_timeout 10s\n"
	    "meeting_tentative yes\n"
	    "meeting_match any-external\n"
	    "meeting_cancelled mark\n"
	    "meeting_without_opportunity skip\n"
	    "blocked_addresses lawyer@firm.example\n"
	    "blocked_domains rival.example\n");
	free(rest);
	return rc;
}

/* meeting_tentative yes: tentative counts; declined still does not. */
static void
test_alt_tentative(void **state)
{
	const struct want_event want = {
		"Kappa tentative", at(3, 10, 0), at(3, 11, 0), "Teams", "Maybe.",
		"kim", "kap_opp", "alice",
	};
	char *u1, *u2;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_alt, "kim@kappa.example", (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	u2 = meeting(&w_alt, "kim@kappa.example", (const char *const[]){ ALICE, NULL },
	    "Kappa declined", "No.", "Teams", at(2, 10, 0), at(2, 11, 0));
	respond(&w_alt, u1, ALICE, "tentativelyAccepted", NULL);
	respond(&w_alt, u2, ALICE, "declined", NULL);
	sync_once(&w_alt);
	ev = the_event(&w_alt, want.subject);
	check_event(&w_alt, ev, &want);
	json_decref(ev);
	assert_int_equal(events_ever(&w_alt, "Kappa declined"), 0);
	assert_next(&w_alt, "kap_opp", want.start);
	free(u1);
	free(u2);
}

/* meeting_match any-external: a meeting Alice organizes with a Contact is hers to log. */
static void
test_alt_rep_organized(void **state)
{
	const struct want_event want = {
		"Kappa workshop", at(5, 10, 0), at(5, 12, 0), "Contoso office", "Hands-on.",
		"kim", "kap_opp", "alice",
	};
	char *uid;
	json_t *ev;

	(void)state;
	uid = meeting(&w_alt, ALICE, (const char *const[]){ "kim@kappa.example", NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	sync_once(&w_alt);
	ev = the_event(&w_alt, want.subject);
	check_event(&w_alt, ev, &want);
	json_decref(ev);
	free(uid);
}

/* meeting_match any-external: organized by an outsider who is no Contact, attended by Kim who
 * is: the Event is on Kim. */
static void
test_alt_external_attendee(void **state)
{
	const struct want_event want = {
		"Kappa partner call", at(6, 10, 0), at(6, 11, 0), "Phone", "With the reseller.",
		"kim", "kap_opp", "alice",
	};
	char *uid;
	json_t *ev;

	(void)state;
	uid = meeting(&w_alt, ZED, (const char *const[]){ ALICE, "kim@kappa.example", NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_alt, uid, ALICE, "accepted", NULL);
	sync_once(&w_alt);
	ev = the_event(&w_alt, want.subject);
	check_event(&w_alt, ev, &want);
	json_decref(ev);
	/* The tentative meeting of test_alt_tentative is still the earliest on Kappa. */
	assert_next(&w_alt, "kap_opp", at(3, 10, 0));
	free(uid);
}

/* meeting_without_opportunity skip: a Contact with no open Opportunity gets no Event. */
static void
test_alt_without_opportunity_skip(void **state)
{
	char *u1, *u2;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_alt, "noor@noor.example", (const char *const[]){ ALICE, NULL },
	    "Noor intro", "Hello.", "Teams", at(3, 11, 0), at(3, 12, 0));
	/* The control: the same day, a Contact with an open Opportunity. */
	u2 = meeting(&w_alt, "mia@mu.example", (const char *const[]){ ALICE, NULL },
	    "Mu intro", "Hello.", "Teams", at(3, 13, 0), at(3, 14, 0));
	respond(&w_alt, u1, ALICE, "accepted", NULL);
	respond(&w_alt, u2, ALICE, "accepted", NULL);
	sync_once(&w_alt);
	assert_int_equal(events_ever(&w_alt, "Noor intro"), 0);
	ev = the_event(&w_alt, "Mu intro");
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_alt, "mu_opp"));
	json_decref(ev);
	assert_next(&w_alt, "noor_lost", 0);
	free(u1);
	free(u2);
}

/* meeting_cancelled mark: the cancelled meeting's Event stays, same Id, its Subject "Canceled:
 * ...", and it no longer is a next meeting. */
static void
test_alt_cancel_mark(void **state)
{
	const struct want_event want = {
		"Omega review", at(6, 14, 0), at(6, 15, 0), "Teams", "Quarterly.",
		"omar", "omega_opp", "alice",
	};
	char *uid, *id, s[40];
	json_t *ev;

	(void)state;
	uid = meeting(&w_alt, "omar@omega.example", (const char *const[]){ ALICE, NULL },
	    want.subject, want.description, want.location, want.start, want.end);
	respond(&w_alt, uid, ALICE, "accepted", NULL);
	sync_once(&w_alt);
	ev = the_event(&w_alt, want.subject);
	check_event(&w_alt, ev, &want);
	id = xstrdup(e2e_field(ev, "Id"));
	json_decref(ev);
	assert_next(&w_alt, "omega_opp", want.start);

	change(&w_alt, uid, "{\"isCancelled\":true}");
	sync_once(&w_alt);
	ev = record_by_id(&w_alt, "Event", id);
	assert_non_null(ev);
	assert_false(deleted(ev));
	assert_string_equal(e2e_field(ev, "Subject"), "Canceled: Omega review");
	sf_time(want.start, s);
	assert_string_equal(e2e_field(ev, "StartDateTime"), s);
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_alt, "omega_opp"));
	json_decref(ev);
	assert_int_equal(events_ever(&w_alt, want.subject), 0);
	assert_next(&w_alt, "omega_opp", 0);
	free(id);
	free(uid);
}

/* blocked_addresses and blocked_domains hold for meetings, for the organizer and for any
 * attendee: Kim's meeting with a blocked address, Kim's meeting with someone of a subdomain of a
 * blocked domain, and a meeting Rex (a Contact of the blocked domain, with an open Opportunity)
 * organizes get no Event though Alice accepts all three. Kim's meeting with someone else of the
 * blocked address's domain is the control. */
static void
test_alt_blocked(void **state)
{
	static const char *const none[] = {
		"Kappa with counsel", "Kappa with a rival scout", "Rival pitch",
	};
	char *u1, *u2, *u3, *u4, *log;
	json_t *ev;

	(void)state;
	u1 = meeting(&w_alt, "kim@kappa.example",
	    (const char *const[]){ ALICE, "lawyer@firm.example", NULL },
	    none[0], "x", "Teams", at(7, 9, 0), at(7, 10, 0));
	u2 = meeting(&w_alt, "kim@kappa.example",
	    (const char *const[]){ ALICE, "scout@eu.rival.example", NULL },
	    none[1], "x", "Teams", at(7, 11, 0), at(7, 12, 0));
	u3 = meeting(&w_alt, "rex@rival.example", (const char *const[]){ ALICE, NULL },
	    none[2], "x", "Teams", at(7, 13, 0), at(7, 14, 0));
	u4 = meeting(&w_alt, "kim@kappa.example",
	    (const char *const[]){ ALICE, "clerk@firm.example", NULL },
	    "Kappa with the clerk", "y", "Teams", at(7, 15, 0), at(7, 16, 0));
	respond(&w_alt, u1, ALICE, "accepted", NULL);
	respond(&w_alt, u2, ALICE, "accepted", NULL);
	respond(&w_alt, u3, ALICE, "accepted", NULL);
	respond(&w_alt, u4, ALICE, "accepted", NULL);
	log = sync_log(&w_alt);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (events_ever(&w_alt, none[i]) != 0)
			fail_msg("an Event for \"%s\"", none[i]);
	ev = the_event(&w_alt, "Kappa with the clerk");
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(&w_alt, "kim"));
	assert_string_equal(e2e_field(ev, "WhatId"), key_id(&w_alt, "kap_opp"));
	json_decref(ev);
	assert_next(&w_alt, "riv_opp", 0);
	assert_non_null(strstr(log, "reason=blocked"));
	free(log);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
}

/* Zones -----------------------------------------------------------------------------------------*/

static int
setup_tz(void **state)
{
	json_t *seed = json_object();
	char *rest;
	int rc;

	*state = &w_tz;
	today = (long long)time(NULL) / 86400;
	seed_account(seed, "hum", "Humongous Insurance");
	seed_account(seed, "wing", "Wingtip Toys");
	seed_contact(seed, "hugo", "Hugo", "Hale", "hugo@humongous.example", "hum");
	seed_contact(seed, "elke", "Elke", "Engel", "elke@wingtip.example", "wing");
	rest = seed_text(seed);
	json_decref(seed);
	/* A window of 400 days ahead: the next change of W. Europe time can be 7 months off.
	 * activity_timezone has daylight saving too: it must not move meetings with a time (their
	 * own zone says when they are), and all-day meetings are read in it. */
	rc = e2e_world_start(&w_tz, "test_meetings_tz", REPS_SF, rest, REPS_GRAPH, ALICE,
	    "activity_timezone Europe/Berlin\n"
	    "log_level info\n"
	    "http_timeout 10s\n"
	    "meeting_window_future 400d\n");
	free(rest);
	return rc;
}

/* 09:00 Pacific time in five days: 17:00 UTC in winter (PST, UTC-8), 16:00 in summer (PDT). */
static void
test_tz_pacific(void **state)
{
	const long long d = today + 5;
	const int off = pacific_offset(d);
	const struct want_event want = {
		"Humongous call (Pacific)", d * 86400 + (9 - off) * 3600,
		d * 86400 + (10 - off) * 3600, "Seattle", "Claims workflow.",
		"hugo", NULL, "alice",
	};
	char day[16], s[40], e[40], *uid;
	json_t *spec, *ev;

	(void)state;
	ymd(d, day);
	snprintf(s, sizeof(s), "%sT09:00:00", day);
	snprintf(e, sizeof(e), "%sT10:00:00", day);
	spec = json_pack("{s:s,s:[{s:s}],s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}",
	    "organizer", "hugo@humongous.example", "attendees", "address", ALICE,
	    "subject", want.subject, "body", want.description, "location", want.location,
	    "start", "dateTime", s, "timeZone", "Pacific Standard Time",
	    "end", "dateTime", e, "timeZone", "Pacific Standard Time");
	uid = meeting_post(&w_tz, spec);
	respond(&w_tz, uid, ALICE, "accepted", NULL);
	sync_once(&w_tz);
	ev = the_event(&w_tz, want.subject);
	check_event(&w_tz, ev, &want);
	json_decref(ev);
	free(uid);
}

/* A weekly meeting at 09:00 Berlin time, Mondays, around the next change of W. Europe time
 * (last Sunday of March or October) at least two weeks off: T-13 and T-6 are on one side, T+1
 * and T+8 on the other. In March: 08:00 UTC (CET) then 07:00 UTC (CEST); in October the
 * reverse. Each instance its own Event at its own UTC time. */
/* The day of the next European clock change (last Sunday of March or October) at least
 * min_days from today. */
static long long
next_change(int min_days)
{
	long long t = 0;
	int y, m, dd;

	isotime_civil(today, &y, &m, &dd);
	for (int yy = y; yy <= y + 1 && t == 0; yy++) {
		if (last_sunday(yy, 3) >= today + min_days)
			t = last_sunday(yy, 3);
		else if (last_sunday(yy, 10) >= today + min_days)
			t = last_sunday(yy, 10);
	}
	assert_true(t != 0);
	return t;
}

static void
test_tz_dst_series(void **state)
{
	long long t = 0, first;
	char d0[16], s[40], e[40], *uid;
	json_t *spec, *live;

	(void)state;
	t = next_change(14);
	first = t - 13;		/* a Monday */
	assert_int_equal(isotime_weekday(first), 1);
	/* The instances straddle the change: two offsets, whichever month it is. */
	assert_int_not_equal(berlin_offset(first), berlin_offset(first + 21));
	ymd(first, d0);
	snprintf(s, sizeof(s), "%sT09:00:00", d0);
	snprintf(e, sizeof(e), "%sT09:45:00", d0);
	spec = json_pack("{s:s,s:[{s:s}],s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},"
	    "s:{s:{s:s,s:i,s:[s]},s:{s:s,s:s,s:i}}}",
	    "organizer", "elke@wingtip.example", "attendees", "address", ALICE,
	    "subject", "Wingtip weekly (Berlin)", "body", "Toy fair planning.", "location", "Berlin",
	    "start", "dateTime", s, "timeZone", "W. Europe Standard Time",
	    "end", "dateTime", e, "timeZone", "W. Europe Standard Time",
	    "recurrence", "pattern", "type", "weekly", "interval", 1, "daysOfWeek", "monday",
	    "range", "type", "numbered", "startDate", d0, "numberOfOccurrences", 4);
	uid = meeting_post(&w_tz, spec);
	respond(&w_tz, uid, ALICE, "accepted", NULL);
	sync_once(&w_tz);

	live = events_named(&w_tz, "Wingtip weekly (Berlin)", 1);
	assert_int_equal(json_array_size(live), 4);
	for (int k = 0; k < 4; k++) {
		long long d = first + 7 * k;
		int off = berlin_offset(d);
		const struct want_event want = {
			"Wingtip weekly (Berlin)", d * 86400 + (9 - off) * 3600,
			d * 86400 + (9 - off) * 3600 + 45 * 60, "Berlin", "Toy fair planning.",
			"elke", NULL, "alice",
		};
		char st[40];
		json_t *ev = NULL;
		size_t i;

		sf_time(want.start, st);
		json_array_foreach(live, i, ev)
			if (strcmp(e2e_field(ev, "StartDateTime"), st) == 0)
				break;
		if (i == json_array_size(live))
			fail_msg("no Wingtip weekly Event at %s (09:00 UTC%+d)", st, off);
		check_event(&w_tz, ev, &want);
	}
	json_decref(live);
	free(uid);
}

/* A two-day all-day meeting over the next change of W. Europe time (Saturday and Sunday, the
 * last Sunday of March or October), activity_timezone Europe/Berlin: the two local days are 47
 * or 49 hours, yet the Event is 2880 minutes, dated the Saturday as Outlook holds it (not the
 * Friday its Berlin midnight is in UTC). */
static void
test_tz_all_day_dst(void **state)
{
	long long t = 0;
	char d0[16], d2[16];
	json_t *ev;

	(void)state;
	t = next_change(2);
	/* The two days straddle the change. */
	assert_int_not_equal(berlin_offset(t - 1), berlin_offset(t + 1));
	ymd(t - 1, d0);
	ymd(t + 1, d2);
	all_day_accepted(&w_tz, "elke@wingtip.example", "Wingtip toy fair (two days)", "Stand 4.",
	    "Nuremberg", d0, d2, "W. Europe Standard Time");

	ev = the_event(&w_tz, "Wingtip toy fair (two days)");
	assert_true(json_is_true(json_object_get(ev, "IsAllDayEvent")));
	assert_string_equal(e2e_field(ev, "ActivityDate"), d0);
	assert_int_equal(json_integer_value(json_object_get(ev, "DurationInMinutes")), 2880);
	assert_string_equal(e2e_field(ev, "WhoId"), key_id(&w_tz, "elke"));
	assert_string_equal(e2e_field(ev, "OwnerId"), key_id(&w_tz, "alice"));
	json_decref(ev);
}

/* No Calendars.Read -----------------------------------------------------------------------------*/

static int
setup_nocal(void **state)
{
	json_t *seed = json_object();
	char *rest, *gseed;
	int rc;

	*state = &w_nocal;
	today = (long long)time(NULL) / 86400;
	seed_account(seed, "kes", "Kestrel");
	seed_contact(seed, "kai", "Kai", "Koch", "kai@kestrel.example", "kes");
	rest = seed_text(seed);
	json_decref(seed);
	rc = e2e_world_start(&w_nocal, "test_meetings_nocal", REPS_SF, rest, REPS_GRAPH, ALICE,
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "http_timeout 10s\n");
	free(rest);
	if (rc == -1)
		return -1;
	/* The same tenant, its app consented Mail.Read and User.Read.All but not Calendars.Read
	 * (e2e_graph_seed's app has all three: start again from nothing). */
	gseed = xasprintf("{\"tenant\":{\"domain\":\"contoso.com\"},"
	    "\"apps\":[{\"clientId\":\"" E2E_GRAPH_APP "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"User.Read.All\"]}],\"users\":%s}", REPS_GRAPH);
	json_decref(sim_http_ctl(w_nocal.graph.base_url, "POST", "/_sim/reset", NULL, 200));
	json_decref(sim_http_ctl(w_nocal.graph.base_url, "POST", "/_sim/seed", gseed, 200));
	free(gseed);
	return 0;
}

/* Calendars.Read missing: `sync --once` still succeeds, Kai's mail is a Task on Kai, the
 * meeting Alice accepted from Kai is no Event, and the log says the calendar was refused. */
static void
test_nocal_mail_goes_on(void **state)
{
	char digest[NORMALIZE_DIGEST_LEN + 1], when[40], *body, *log, *uid;
	const long long sent = (long long)time(NULL) - 600;
	json_t *r, *tasks, *task;

	(void)state;
	isotime_format(sent, 0, 0, "Z", when, sizeof(when));
	body = xasprintf("{\"from\":\"Kai Koch <kai@kestrel.example>\",\"to\":[\"" ALICE "\"],"
	    "\"subject\":\"Kestrel price list\",\"body\":\"Could you send the price list?\","
	    "\"bodyType\":\"text\",\"date\":\"%s\"}", when);
	r = sim_http_ctl(w_nocal.graph.base_url, "POST", "/_sim/mail", body, 201);
	e2e_digest(json_string_value(json_object_get(r, "internetMessageId")), digest);
	json_decref(r);
	free(body);
	uid = meeting(&w_nocal, "kai@kestrel.example", (const char *const[]){ ALICE, NULL },
	    "Kestrel visit", "Plant tour.", "Kestrel plant", at(3, 10, 0), at(3, 12, 0));
	respond(&w_nocal, uid, ALICE, "accepted", NULL);

	log = sync_log(&w_nocal);
	assert_non_null(strstr(log, "calendar refused"));
	tasks = e2e_records(w_nocal.sf.p.base_url, "Task");
	task = e2e_find(tasks, "OutlookMessageId__c", digest);
	assert_string_equal(e2e_field(task, "Subject"), "Email: Kestrel price list");
	assert_string_equal(e2e_field(task, "WhoId"), key_id(&w_nocal, "kai"));
	assert_string_equal(e2e_field(task, "OwnerId"), key_id(&w_nocal, "alice"));
	json_decref(tasks);
	assert_int_equal(events_ever(&w_nocal, "Kestrel visit"), 0);
	free(log);
	free(uid);
}

/* olsync status ---------------------------------------------------------------------------------*/

static int
setup_st(void **state)
{
	json_t *seed = json_object();
	char *rest;
	int rc;

	*state = &w_st;
	today = (long long)time(NULL) / 86400;
	seed_account(seed, "stark", "Stark Freight");
	seed_contact(seed, "sam", "Sam", "Stone", "sam@stark.example", "stark");
	seed_opp(seed, "stark_opp", "Stark fleet", "Prospecting", 30, "stark", NULL);
	seed_role(seed, "stark_opp", "sam", 1);
	rest = seed_text(seed);
	json_decref(seed);
	/* retry_base 1h: a meeting that failed is not due again while the test runs. */
	rc = e2e_world_start(&w_st, "test_meetings_status", REPS_SF, rest, REPS_GRAPH, ALICE,
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "http_timeout 10s\n"
	    "retry_base 1h\n");
	free(rest);
	return rc;
}

/* n meetings from Sam that Alice accepts, on day day, subjects "<prefix> 1".. */
static void
accepted_meetings(const char *prefix, int day, int n)
{
	for (int i = 1; i <= n; i++) {
		char *subject = xasprintf("%s %d", prefix, i), *uid;

		uid = meeting(&w_st, "sam@stark.example", (const char *const[]){ ALICE, NULL },
		    subject, "x", "Teams", at(day, 8 + i, 0), at(day, 8 + i, 30));

		respond(&w_st, uid, ALICE, "accepted", NULL);
		free(subject);
		free(uid);
	}
}

/* The next Event upsert answers fault (the fields of POST /_sim/faults, JSON text without
 * braces), count times. */
static void
event_upsert_fault(const char *fault, int count)
{
	char *b = xasprintf("{\"method\":\"PATCH\",\"path\":\"" SF_DATA
	    "/composite/sobjects/Event/OutlookEventId__c\",\"count\":%d,%s}", count, fault);

	json_decref(sim_http_ctl(w_st.sf.p.base_url, "POST", "/_sim/faults", b, 200));
	free(b);
}

/* One meeting done, two failed (503, retried later), three dead (a final 400) and four
 * pending (the session refused: the run stops before deciding them): `olsync status` counts
 * each state on its own line. */
static void
test_status_meeting_counts(void **state)
{
	char *out = NULL;

	(void)state;
	accepted_meetings("Stark done", 2, 1);
	sync_once(&w_st);
	assert_int_equal(events_live(&w_st, "Stark done 1"), 1);

	accepted_meetings("Stark failed", 3, 2);
	event_upsert_fault("\"errorCode\":\"SERVER_UNAVAILABLE\"", 1);
	sync_once(&w_st);

	accepted_meetings("Stark dead", 4, 3);
	event_upsert_fault("\"status\":400,\"errorCode\":\"INVALID_FIELD\","
	    "\"message\":\"No such column 'OutlookEventId__c' on entity 'Event'\"", 1);
	sync_once(&w_st);

	accepted_meetings("Stark pending", 5, 4);
	event_upsert_fault("\"errorCode\":\"INVALID_SESSION_ID\"", 2);
	assert_int_not_equal(e2e_run(w_st.dir, NULL, NULL, "-c", w_st.conf, "sync", "--once",
	    NULL), 0);
	json_decref(sim_http_ctl(w_st.sf.p.base_url, "DELETE", "/_sim/faults", NULL, 200));
	assert_int_equal(events_ever(&w_st, "Stark failed 1") + events_ever(&w_st,
	    "Stark dead 1") + events_ever(&w_st, "Stark pending 1"), 0);

	assert_int_equal(e2e_run(w_st.dir, &out, NULL, "-c", w_st.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "\nmeetings_pending "), 4);
	assert_int_equal(e2e_status_count(out, "\nmeetings_done "), 1);
	assert_int_equal(e2e_status_count(out, "\nmeetings_failed "), 2);
	assert_int_equal(e2e_status_count(out, "\nmeetings_dead "), 3);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest main_tests[] = {
		cmocka_unit_test(test_accepted_event),
		cmocka_unit_test(test_opportunity_nearest_close),
		cmocka_unit_test(test_without_opportunity),
		cmocka_unit_test(test_not_attending),
		cmocka_unit_test(test_all_day),
		cmocka_unit_test(test_reschedule_decline_cancel),
		cmocka_unit_test(test_deleted_from_calendar),
		cmocka_unit_test(test_weekly_series),
		cmocka_unit_test(test_two_reps),
		cmocka_unit_test(test_next_meeting_future_only),
		cmocka_unit_test(test_next_meeting_hand_set),
		cmocka_unit_test(test_sensitivity_skipped),
		cmocka_unit_test(test_decline_then_reschedule),
		cmocka_unit_test(test_next_meeting_moves_on),
		cmocka_unit_test(test_replay),
	};
	const struct CMUnitTest alt_tests[] = {
		cmocka_unit_test(test_alt_tentative),
		cmocka_unit_test(test_alt_rep_organized),
		cmocka_unit_test(test_alt_external_attendee),
		cmocka_unit_test(test_alt_without_opportunity_skip),
		cmocka_unit_test(test_alt_cancel_mark),
		cmocka_unit_test(test_alt_blocked),
	};
	const struct CMUnitTest tz_tests[] = {
		cmocka_unit_test(test_tz_pacific),
		cmocka_unit_test(test_tz_dst_series),
		cmocka_unit_test(test_tz_all_day_dst),
	};
	const struct CMUnitTest nocal_tests[] = {
		cmocka_unit_test(test_nocal_mail_goes_on),
	};
	const struct CMUnitTest st_tests[] = {
		cmocka_unit_test(test_status_meeting_counts),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("meetings", main_tests, setup_main, teardown_world);
	failed += cmocka_run_group_tests_name("meetings_alt", alt_tests, setup_alt, teardown_world);
	failed += cmocka_run_group_tests_name("meetings_tz", tz_tests, setup_tz, teardown_world);
	failed += cmocka_run_group_tests_name("meetings_nocal", nocal_tests, setup_nocal,
	    teardown_world);
	failed += cmocka_run_group_tests_name("meetings_status", st_tests, setup_st, teardown_world);
	return sim_proc_exit_status(failed);
}
