/* meeting.c: meetings -> Salesforce Events and Next_Meeting_Date__c (see meeting.h). A batch of
 * due meetings is decided from their copies, looked up in Salesforce together (Contacts, roles
 * on open Opportunities, the reps' Users), then written together: one upsert call for the
 * Events, one for their EventRelations, one delete call; each outcome goes to the ledger. */
#include "crashpoint.h"
#include "meeting.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "engine.h"
#include "err.h"
#include "filter.h"
#include "isotime.h"
#include "log.h"
#include "match.h"
#include "normalize.h"
#include "tz.h"
#include "xmalloc.h"

#define SUBJECT_MAX	255	/* Event.Subject */
#define LOCATION_MAX	255	/* Event.Location */
#define DESCRIPTION_MAX	32000	/* Event.Description */
#define CANCELED_PREFIX	"Canceled: "
#define MEETING_STARTED_MAX	100000	/* Opportunities marked per run when meetings start */

/* One meeting of a batch and what was decided for it. */
struct item {
	struct ledger_meeting	 m;
	const struct ledger_meeting_copy_row *src;	/* the owner's copy: its data is written */
	json_t			*data;		/* src's data parsed */
	int			 live;		/* still to be decided or written */
	int			 want;		/* an Event should exist */
	int			 cancelled;	/* the meeting was cancelled */
	const char		*why;		/* why no Event (for the log) */
	const char		*owner;		/* owner mailbox (borrowed from m) */
	char			 who[MATCH_ID_LEN + 1];
	char			 what[MATCH_ID_LEN + 1];
	char			 owner_id[MATCH_ID_LEN + 1];
	json_t			*relations;	/* Contact ids besides who */
	int			 org_first;	/* the organizer heads the candidates */
	json_t			*record;	/* the Event to upsert */
	char			 written[NORMALIZE_DIGEST_LEN + 1];
	char			 event_id[MATCH_ID_LEN + 1];	/* after the upsert */
	int64_t			 start_at;
};

struct run {
	const struct config	*cfg;
	struct ledger		*l;
	struct sf_client	*sf;
	struct filter_policy	 policy;
	int64_t			 now;
	long			 retry_base;
	struct meeting_stats	*st;
	int64_t			*hold_until;
	int			 fatal;
	char			*err;
	size_t			 errlen;
	struct item		*it;
	size_t			 n;
	meeting_plan_fn		*plan;		/* dry run: writes reported here, not made */
	void			*plan_arg;
	long			 plan_seq;	/* placeholders of new Events */
};

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
ledger_failed(struct run *r, const char *what)
{
	if (r->fatal == 0)
		err_set(r->err, r->errlen, "ledger: %s: %s", what, ledger_error(r->l));
	r->fatal = -1;
}

/* A failed attempt for it, by class (as the engine does for email). */
static void
fail(struct run *r, struct item *it, const struct remote_failure *f)
{
	enum ledger_fail lf = LEDGER_FAIL_TEMP;
	enum ledger_msync state;
	int64_t next = r->now;
	char *error;

	if (!it->live)
		return;
	it->live = 0;
	switch (f->cls) {
	case REMOTE_AUTH:
		if (r->fatal == 0)
			err_set(r->err, r->errlen, "credentials refused (status %d %s): %s",
			    f->status, f->code, f->message);
		r->fatal = -1;
		return;
	case REMOTE_WAIT:
		lf = LEDGER_FAIL_WAIT;
		next += f->wait_sec > 0 ? (int64_t)f->wait_sec + 1 :
		    engine_backoff(r->retry_base, 1);
		if (r->hold_until != NULL && next > *r->hold_until)
			*r->hold_until = next;
		break;
	case REMOTE_FINAL:
		lf = LEDGER_FAIL_FINAL;
		break;
	default:
		next += engine_backoff(r->retry_base, it->m.attempts + 1);
		break;
	}
	error = xasprintf("%s %s%s%s", remote_class_name(f->cls), f->code, f->code[0] ? ": " : "",
	    f->message);
	if (ledger_meeting_failed(r->l, it->m.key, error, lf, next, &state) == -1) {
		free(error);
		ledger_failed(r, "meeting_failed");
		return;
	}
	free(error);
	if (state == LEDGER_MEETING_DEAD)
		r->st->dead++;
	else
		r->st->failed++;
	log_warnx("meeting failed key=%s class=%s status=%d code=%s state=%s", it->m.key,
	    remote_class_name(f->cls), f->status, f->code, state == LEDGER_MEETING_DEAD ? "dead" :
	    "failed");
}

static void
fail_live(struct run *r, const struct remote_failure *f)
{
	for (size_t i = 0; i < r->n && r->fatal == 0; i++)
		fail(r, &r->it[i], f);
}

static void
local_failure(struct remote_failure *f, enum remote_class cls, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
local_failure(struct remote_failure *f, enum remote_class cls, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->cls = cls;
	snprintf(f->code, sizeof(f->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

/* A copy counts if its rep attends: accepted (or what the policy adds), or accepted before and
 * not answered since (a reschedule resets the response; declining is an answer). */
static int
copy_attends(const struct ledger_meeting_copy_row *c)
{
	if (c->cancelled)
		return 0;
	if (c->attending)
		return 1;
	return c->ever_attending && (strcmp(c->response, "none") == 0 ||
	    strcmp(c->response, "notResponded") == 0);
}

/* From the copies: whether an Event is wanted so far (a Contact is still to be found), whose it
 * is, and which copy's data to write. */
static void
decide_copies(struct item *it)
{
	struct ledger_meeting *m = &it->m;
	size_t i;

	it->live = 1;
	it->owner = NULL;
	for (i = 0; i < m->ncopies; i++)
		if (m->copies[i].cancelled)
			it->cancelled = 1;
	/* The owner stays who it was while they attend; else the first rep who does. */
	for (i = 0; i < m->ncopies; i++)
		if (copy_attends(&m->copies[i]) && m->owner_mailbox != NULL &&
		    strcmp(m->copies[i].mailbox, m->owner_mailbox) == 0)
			it->src = &m->copies[i];
	for (i = 0; it->src == NULL && i < m->ncopies; i++)
		if (copy_attends(&m->copies[i]))
			it->src = &m->copies[i];
	if (it->cancelled) {
		it->why = "cancelled";
		return;
	}
	if (it->src == NULL) {
		it->why = m->ncopies == 0 ? "removed" : "not_attending";
		return;
	}
	it->owner = it->src->mailbox;
	it->data = json_loads(it->src->data, 0, NULL);
	if (it->data == NULL) {
		it->why = "bad_data";
		return;
	}
	it->want = 1;
}

/* The email filters hold for meetings too: a sensitivity olsync skips, or anyone blocked on
 * it, and no Event is made. */
static void
screen(struct run *r, struct item *it)
{
	struct filter_message fm;
	struct filter_decision d;
	const char **to;
	json_t *a;
	size_t i, n = 0;

	to = xcalloc(json_array_size(json_object_get(it->data, "attendees")) + 1, sizeof(*to));
	json_array_foreach(json_object_get(it->data, "attendees"), i, a)
		if (jstr(a, "address") != NULL)
			to[n++] = jstr(a, "address");
	memset(&fm, 0, sizeof(fm));
	fm.direction = FILTER_INBOUND;
	fm.from = jstr(it->data, "organizer");
	fm.to = to;
	fm.nto = n;
	fm.sensitivity = filter_sensitivity_parse(jstr(it->data, "sensitivity"));
	switch (filter_decide(&fm, &r->policy, &d)) {
	case FILTER_SKIP_SENSITIVITY:
		it->want = 0;
		it->why = "sensitivity";
		break;
	case FILTER_SKIP_BLOCKED:
		it->want = 0;
		it->why = "blocked";
		break;
	default:
		/* internal_only and no_counterpart are email rules: a meeting's counterpart is
		 * the Contact found next. */
		break;
	}
	free(to);
}

/* The meeting's external addresses: the organizer first (*org_first set when it is external),
 * then the other attendees. Their Contacts are the Event's WhoId and EventRelations. */
static void
candidates(struct run *r, const struct item *it, json_t *addrs, int *org_first)
{
	const char *org = jstr(it->data, "organizer");
	json_t *a;
	size_t i, k;
	char *norm, why[64];

	*org_first = 0;
	if (org != NULL && (norm = normalize_address(org, why, sizeof(why))) != NULL) {
		if (!filter_is_internal(norm, &r->policy)) {
			json_array_append_new(addrs, json_string(norm));
			*org_first = 1;
		}
		free(norm);
	}
	json_array_foreach(json_object_get(it->data, "attendees"), i, a) {
		int dup = 0;

		if ((norm = normalize_address(jstr(a, "address"), why, sizeof(why))) == NULL)
			continue;
		for (k = 0; k < json_array_size(addrs); k++)
			if (strcmp(json_string_value(json_array_get(addrs, k)), norm) == 0)
				dup = 1;
		if (!dup && !filter_is_internal(norm, &r->policy))
			json_array_append_new(addrs, json_string(norm));
		free(norm);
	}
}

/* Contacts by address (Leads are not meeting counterparts: an Event's WhatId needs a Contact).
 * Fills who and relations. */
static int
find_contacts(struct run *r)
{
	json_t *all = json_array(), *per = json_array(), *v;
	const char **addrs = NULL;
	struct match_person *people = NULL;
	struct remote_failure f;
	size_t i, k, n;
	int rc = -1;

	for (i = 0; i < r->n; i++) {
		json_t *mine = json_array();

		if (r->it[i].live && r->it[i].want)
			candidates(r, &r->it[i], mine, &r->it[i].org_first);
		json_array_extend(all, mine);
		json_array_append_new(per, mine);
	}
	n = json_array_size(all);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	addrs = xcalloc(n, sizeof(*addrs));
	people = xcalloc(n, sizeof(*people));
	json_array_foreach(all, i, v)
		addrs[i] = json_string_value(v);
	if (match_people(r->sf, r->cfg, addrs, n, people, &f) == -1) {
		fail_live(r, &f);
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];
		json_t *mine = json_array_get(per, i);

		if (!it->live || !it->want)
			continue;
		it->relations = json_array();
		json_array_foreach(mine, k, v) {
			const char *addr = json_string_value(v);
			/* WhoId: the organizer's Contact; with any-external, else the first
			 * attendee's. The other Contacts are related. */
			int may_be_who = (k == 0 && it->org_first) ||
			    r->cfg->meeting_match == CONFIG_MEETING_MATCH_ANY_EXTERNAL;

			for (size_t p = 0; p < n; p++) {
				if (strcmp(people[p].address, addr) != 0 || people[p].id[0] == '\0' ||
				    people[p].is_lead)
					continue;
				if (it->who[0] == '\0' && may_be_who)
					snprintf(it->who, sizeof(it->who), "%s", people[p].id);
				else if (strcmp(it->who, people[p].id) != 0)
					json_array_append_new(it->relations,
					    json_string(people[p].id));
				break;
			}
		}
		if (it->who[0] == '\0') {
			json_array_clear(it->relations);
			it->want = 0;
			it->why = "no_contact";
		}
	}
	rc = 0;
out:
	free(addrs);
	free(people);
	json_decref(all);
	json_decref(per);
	return rc;
}

/* Days between today and a CloseDate ("YYYY-MM-DD"), as a distance; huge when unreadable. */
static long long
close_distance(const char *date, int64_t now)
{
	struct isotime t;
	long long d;

	if (date == NULL || isotime_parse(date, strlen(date), &t) == -1)
		return (long long)1 << 40;
	d = isotime_days(t.year, t.month, t.day) - isotime_floor_div(now, 86400);
	return d < 0 ? -d : d;
}

/* The Opportunity of each Contact: open ones where it has a role, primary first, then the
 * nearest CloseDate, then the smaller Id. */
static int
find_opportunities(struct run *r)
{
	json_t *records = NULL, *rec;
	const char **ids = xcalloc(r->n + 1, sizeof(*ids));
	struct remote_failure f;
	size_t i, k, n = 0;
	int rc = -1;

	for (i = 0; i < r->n; i++)
		if (r->it[i].live && r->it[i].want)
			ids[n++] = r->it[i].who;
	if (n == 0 || r->cfg->meeting_opportunity == CONFIG_MEETING_OPP_NONE)
		goto done;
	if (match_query_in(r->sf, "SELECT ContactId, OpportunityId, IsPrimary, "
	    "Opportunity.CloseDate FROM OpportunityContactRole WHERE Opportunity.IsClosed = false "
	    "AND ContactId IN ", "", ids, n, &records, &f) == -1) {
		fail_live(r, &f);
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];
		const json_t *best = NULL;
		long long best_dist = 0;

		if (!it->live || !it->want)
			continue;
		json_array_foreach(records, k, rec) {
			const char *opp = jstr(rec, "OpportunityId");
			int primary = json_is_true(json_object_get(rec, "IsPrimary"));
			long long dist = close_distance(jstr(json_object_get(rec, "Opportunity"),
			    "CloseDate"), r->now);
			int bprimary;

			if (opp == NULL || jstr(rec, "ContactId") == NULL ||
			    strncmp(jstr(rec, "ContactId"), it->who, 15) != 0)
				continue;
			bprimary = best != NULL && json_is_true(json_object_get(best, "IsPrimary"));
			if (best == NULL || primary > bprimary || (primary == bprimary &&
			    (dist < best_dist || (dist == best_dist &&
			    strcmp(opp, jstr(best, "OpportunityId")) < 0)))) {
				best = rec;
				best_dist = dist;
			}
		}
		if (best != NULL)
			snprintf(it->what, sizeof(it->what), "%s", jstr(best, "OpportunityId"));
	}
done:
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];

		if (it->live && it->want && it->what[0] == '\0' &&
		    !r->cfg->meeting_without_opportunity) {
			it->want = 0;
			it->why = "no_opportunity";
		}
	}
	rc = 0;
out:
	json_decref(records);
	free(ids);
	return rc;
}

/* The reps' Salesforce Users: the Event's owner. */
static int
find_owners(struct run *r)
{
	const char **boxes = xcalloc(r->n + 1, sizeof(*boxes));
	char (*ids)[MATCH_ID_LEN + 1] = xcalloc(r->n + 1, sizeof(*ids));
	struct remote_failure f;
	size_t i, n = 0;
	int rc = -1;

	for (i = 0; i < r->n; i++)
		if (r->it[i].live && r->it[i].want)
			boxes[n++] = r->it[i].owner;
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (match_users(r->sf, boxes, n, ids, &f) == -1) {
		fail_live(r, &f);
		goto out;
	}
	for (i = 0, n = 0; i < r->n; i++) {
		struct item *it = &r->it[i];

		if (!it->live || !it->want)
			continue;
		if (ids[n][0] == '\0') {
			local_failure(&f, REMOTE_FINAL, "NO_USER", "no active Salesforce User has "
			    "the rep's address %s", it->owner);
			fail(r, it, &f);
		} else {
			snprintf(it->owner_id, sizeof(it->owner_id), "%s", ids[n]);
		}
		n++;
	}
	rc = 0;
out:
	free(boxes);
	free(ids);
	return rc;
}

static void
put_text(json_t *rec, const char *name, const char *s, size_t max)
{
	char *cut = normalize_truncate_utf8(s != NULL ? s : "", max);

	json_object_set_new(rec, name, json_string(cut));
	free(cut);
}

/* "YYYY-MM-DDTHH:MM:SS.000+0000" of a UTC instant. */
static void
sf_datetime(int64_t t, char out[40])
{
	isotime_format(t, 3, 0, "+0000", out, 40);
}

/* The Event for a wanted meeting, and the digest of what it says. */
static int
build(struct run *r, struct item *it)
{
	const json_t *d = it->data;
	int all_day = json_is_true(json_object_get(d, "isAllDay"));
	int64_t start, end;
	char buf[40], *text, *hashed;
	struct remote_failure f;

	if (calendar_time(json_object_get(d, "start"), all_day, r->cfg->activity_timezone,
	    &start) == -1 || calendar_time(json_object_get(d, "end"), all_day,
	    r->cfg->activity_timezone, &end) == -1 || end < start) {
		local_failure(&f, REMOTE_FINAL, "BAD_TIME", "the meeting's start or end cannot be "
		    "read");
		fail(r, it, &f);
		return -1;
	}
	it->start_at = start;
	it->record = json_object();
	put_text(it->record, "Subject", jstr(d, "subject"), SUBJECT_MAX);
	if (all_day) {
		const char *dt = jstr(json_object_get(d, "start"), "dateTime");
		const char *de = jstr(json_object_get(d, "end"), "dateTime");
		struct isotime ts, te;
		long long days = 1;

		/* Whole days between the floating dates: no clock change can stretch them. */
		if (isotime_parse(dt, 10, &ts) == 0 && de != NULL &&
		    isotime_parse(de, 10, &te) == 0)
			days = isotime_days(te.year, te.month, te.day) -
			    isotime_days(ts.year, ts.month, ts.day);

		/* The floating date as written, whatever the zones. */
		snprintf(buf, 11, "%s", dt);
		json_object_set_new(it->record, "IsAllDayEvent", json_true());
		json_object_set_new(it->record, "ActivityDate", json_string(buf));
		json_object_set_new(it->record, "DurationInMinutes",
		    json_integer((json_int_t)(days < 1 ? 1 : days) * 1440));
	} else {
		json_object_set_new(it->record, "IsAllDayEvent", json_false());
		sf_datetime(start, buf);
		json_object_set_new(it->record, "StartDateTime", json_string(buf));
		sf_datetime(end, buf);
		json_object_set_new(it->record, "EndDateTime", json_string(buf));
	}
	put_text(it->record, "Location", jstr(d, "location"), LOCATION_MAX);
	put_text(it->record, "Description", jstr(d, "bodyPreview"), DESCRIPTION_MAX);
	json_object_set_new(it->record, "WhoId", json_string(it->who));
	json_object_set_new(it->record, "WhatId", it->what[0] ? json_string(it->what) :
	    json_null());
	json_object_set_new(it->record, "OwnerId", json_string(it->owner_id));
	json_object_set_new(it->record, "OutlookEventId__c", json_string(it->m.key));
	text = json_dumps(it->record, JSON_COMPACT | JSON_SORT_KEYS);
	hashed = json_dumps(it->relations, JSON_COMPACT);
	{
		char *both = xasprintf("%s|%s", text, hashed);

		normalize_digest(both, it->written);
		free(both);
	}
	free(text);
	free(hashed);
	return 0;
}

/* Marks the Opportunities whose next meeting may have changed: where it was and where it is. */
static int
mark_opps(struct run *r, const struct item *it)
{
	if (r->cfg->next_meeting_field == NULL)
		return 0;
	if (it->m.opportunity_id != NULL && ledger_opp_mark(r->l, it->m.opportunity_id) == -1)
		return -1;
	if (it->what[0] != '\0' && ledger_opp_mark(r->l, it->what) == -1)
		return -1;
	return 0;
}

static void
done(struct run *r, struct item *it, const char *event_id, const char *written)
{
	if (mark_opps(r, it) == -1 || ledger_meeting_done(r->l, it->m.key, event_id,
	    event_id != NULL && it->what[0] ? it->what : NULL, it->owner, event_id != NULL ?
	    it->start_at : 0, written) == -1) {
		ledger_failed(r, "meeting_done");
		return;
	}
	it->live = 0;
	r->st->processed++;
}

/* A dry run: the Event it would upsert, its id the one it has or a placeholder. */
static void
plan_event(struct run *r, struct item *it)
{
	struct meeting_plan p;
	const json_t *rec = it->record;

	if (it->m.sf_event_id != NULL)
		snprintf(it->event_id, sizeof(it->event_id), "%s", it->m.sf_event_id);
	else
		snprintf(it->event_id, sizeof(it->event_id), MEETING_PLAN_EVENT_PREFIX "%u",
		    (unsigned)(++r->plan_seq % 100000000));
	memset(&p, 0, sizeof(p));
	p.kind = MEETING_PLAN_EVENT;
	p.key = it->m.key;
	p.event_id = it->event_id;
	p.subject = jstr(rec, "Subject");
	p.who_id = jstr(rec, "WhoId");
	p.what_id = jstr(rec, "WhatId");
	p.owner_id = jstr(rec, "OwnerId");
	p.start = jstr(rec, "StartDateTime") != NULL ? jstr(rec, "StartDateTime") :
	    jstr(rec, "ActivityDate");
	p.relations = json_array_size(it->relations);
	r->plan(r->plan_arg, &p);
}

/* Upserts the Events that changed; those already as written are done at no cost. */
static void
write_events(struct run *r)
{
	json_t *records = json_array(), *results = NULL;
	enum remote_class *classes = NULL;
	size_t *map = xcalloc(r->n + 1, sizeof(*map)), n = 0, i;
	struct remote_failure f;

	for (i = 0; i < r->n && r->fatal == 0; i++) {
		struct item *it = &r->it[i];

		if (!it->live || !it->want || build(r, it) == -1)
			continue;
		if (it->m.sf_event_id != NULL && it->m.written != NULL &&
		    strcmp(it->m.written, it->written) == 0 && it->m.sync != LEDGER_MEETING_DEAD) {
			snprintf(it->event_id, sizeof(it->event_id), "%s", it->m.sf_event_id);
			r->st->unchanged++;
			done(r, it, it->event_id, it->written);
			continue;
		}
		json_array_append(records, it->record);
		map[n++] = i;
	}
	if (n == 0 || r->fatal != 0)
		goto out;
	if (r->plan != NULL) {
		for (i = 0; i < n; i++)
			plan_event(r, &r->it[map[i]]);
		goto out;
	}
	crashpoint("before_event_write");
	if (sf_client_collection(r->sf, "Event", "OutlookEventId__c", records, &results, &classes,
	    &f) == -1) {
		for (i = 0; i < n; i++)
			fail(r, &r->it[map[i]], &f);
		goto out;
	}
	crashpoint("after_event_write");
	for (i = 0; i < n; i++) {
		struct item *it = &r->it[map[i]];
		json_t *res = json_array_get(results, i);

		if (classes[i] != REMOTE_OK) {
			sf_client_record_failure(res, &f);
			f.cls = classes[i];
			fail(r, it, &f);
			continue;
		}
		if (jstr(res, "id") != NULL)
			snprintf(it->event_id, sizeof(it->event_id), "%s", jstr(res, "id"));
	}
out:
	json_decref(records);
	json_decref(results);
	free(classes);
	free(map);
}

/* Runs one sObject Collections call (create, update by Id, or delete) over the records of
 * several items (owner[k] is the item of record k) in chunks, failing each item whose record
 * failed. kind: 'c' create on sobject, 'u' update, 'd' delete (records are id strings). */
static void
collection_for(struct run *r, char kind, const char *sobject, json_t *records,
    const size_t *owner)
{
	size_t total = json_array_size(records), at, k;
	struct remote_failure f;

	for (at = 0; at < total && r->fatal == 0; at += SF_CLIENT_COLLECTION_MAX) {
		size_t n = total - at < SF_CLIENT_COLLECTION_MAX ? total - at :
		    SF_CLIENT_COLLECTION_MAX;
		json_t *chunk = json_array(), *results = NULL;
		enum remote_class *classes = NULL;
		const char **ids = xcalloc(n + 1, sizeof(*ids));
		int rc;

		for (k = 0; k < n; k++) {
			json_array_append(chunk, json_array_get(records, at + k));
			ids[k] = json_string_value(json_array_get(records, at + k));
		}
		if (kind == 'c')
			rc = sf_client_collection(r->sf, sobject, NULL, chunk, &results, &classes,
			    &f);
		else if (kind == 'u')
			rc = sf_client_collection_update(r->sf, sobject, chunk, &results,
			    &classes, &f);
		else
			rc = sf_client_collection_delete(r->sf, ids, n, &results, &classes, &f);
		for (k = 0; k < n; k++) {
			if (rc == 0 && classes[k] == REMOTE_OK)
				continue;
			if (rc == 0) {
				sf_client_record_failure(json_array_get(results, k), &f);
				f.cls = classes[k];
			}
			fail(r, &r->it[owner[at + k]], &f);
		}
		json_decref(chunk);
		json_decref(results);
		free(classes);
		free(ids);
	}
}

/* The EventRelations of the other Contacts: those missing are created. (A dry run reports
 * their number with the Event.) */
static void
write_relations(struct run *r)
{
	const char **events = xcalloc(r->n + 1, sizeof(*events));
	json_t *existing = NULL, *create = json_array(), *v, *rec;
	size_t *owner = NULL, i, k, j, n = 0, nc = 0, total = 0;
	struct remote_failure f;

	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];

		if (it->live && it->want && it->event_id[0] && json_array_size(it->relations) > 0) {
			events[n++] = it->event_id;
			total += json_array_size(it->relations);
		}
	}
	if (n == 0)
		goto out;
	if (match_query_in(r->sf, "SELECT EventId, RelationId FROM EventRelation WHERE EventId IN ",
	    "", events, n, &existing, &f) == -1) {
		for (i = 0; i < r->n; i++)
			if (r->it[i].live && r->it[i].want && r->it[i].event_id[0] &&
			    json_array_size(r->it[i].relations) > 0)
				fail(r, &r->it[i], &f);
		goto out;
	}
	owner = xcalloc(total + 1, sizeof(*owner));
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];

		if (!it->live || !it->want || !it->event_id[0])
			continue;
		json_array_foreach(it->relations, k, v) {
			int have = 0;

			json_array_foreach(existing, j, rec)
				if (jstr(rec, "EventId") && jstr(rec, "RelationId") &&
				    strncmp(jstr(rec, "EventId"), it->event_id, 15) == 0 &&
				    strncmp(jstr(rec, "RelationId"), json_string_value(v), 15) == 0)
					have = 1;
			if (have)
				continue;
			json_array_append_new(create, json_pack("{s:s, s:O}", "EventId",
			    it->event_id, "RelationId", v));
			owner[nc++] = i;
		}
	}
	collection_for(r, 'c', "EventRelation", create, owner);
out:
	json_decref(existing);
	json_decref(create);
	free(owner);
	free(events);
}

/* The subject a cancelled meeting's Event is marked with. Caller frees. */
static char *
canceled_subject(const struct item *it)
{
	const char *subject = NULL;
	json_t *data = NULL;
	char *s;

	for (size_t c = 0; c < it->m.ncopies && subject == NULL; c++) {
		json_decref(data);
		data = json_loads(it->m.copies[c].data, 0, NULL);
		subject = jstr(data, "subject");
	}
	if (subject == NULL)
		subject = "";
	s = strncmp(subject, CANCELED_PREFIX, strlen(CANCELED_PREFIX)) == 0 ? xstrdup(subject) :
	    xasprintf(CANCELED_PREFIX "%s", subject);
	json_decref(data);
	return s;
}

/* Meetings that no longer deserve their Event: deleted, or (cancelled, meeting_cancelled mark)
 * marked; those that never had one are simply done. */
static void
remove_events(struct run *r)
{
	json_t *dels = json_array(), *marks = json_array();
	size_t *dmap = xcalloc(r->n + 1, sizeof(*dmap)), *mmap = xcalloc(r->n + 1, sizeof(*mmap));
	size_t nd = 0, nm = 0, i;
	int mark = r->cfg->meeting_cancelled == CONFIG_MEETING_CANCELLED_MARK;

	for (i = 0; i < r->n; i++) {
		struct item *it = &r->it[i];

		if (!it->live || it->want)
			continue;
		if (it->m.sf_event_id == NULL) {
			/* Nothing in Salesforce: nothing to undo. */
			r->st->not_logged++;
			log_info("meeting not_logged key=%s reason=%s", it->m.key, it->why);
			done(r, it, NULL, NULL);
		} else if (mark && it->cancelled) {
			char *subject = canceled_subject(it);
			json_t *rec = json_pack("{s:s}", "Id", it->m.sf_event_id);

			put_text(rec, "Subject", subject, SUBJECT_MAX);
			json_array_append_new(marks, rec);
			mmap[nm++] = i;
			free(subject);
		} else {
			json_array_append_new(dels, json_string(it->m.sf_event_id));
			dmap[nd++] = i;
		}
	}
	if (r->plan != NULL) {
		for (i = 0; i < r->n; i++) {
			struct item *it = &r->it[i];
			struct meeting_plan p;

			if (!it->live || it->want || it->m.sf_event_id == NULL)
				continue;
			memset(&p, 0, sizeof(p));
			p.kind = MEETING_PLAN_REMOVE;
			p.key = it->m.key;
			p.event_id = it->m.sf_event_id;
			p.how = mark && it->cancelled ? "marked" : "deleted";
			r->plan(r->plan_arg, &p);
		}
	} else {
		if (nm + nd > 0)
			crashpoint("before_event_write");
		collection_for(r, 'u', "Event", marks, mmap);
		collection_for(r, 'd', NULL, dels, dmap);
		if (nm + nd > 0)
			crashpoint("after_event_write");
	}
	for (i = 0; i < r->n && r->fatal == 0; i++) {
		struct item *it = &r->it[i];

		if (!it->live || it->want)
			continue;
		r->st->deleted++;
		log_info("meeting removed key=%s event=%s reason=%s how=%s", it->m.key,
		    it->m.sf_event_id, it->why, mark && it->cancelled ? "marked" : "deleted");
		it->what[0] = '\0';
		done(r, it, NULL, NULL);
	}
	json_decref(dels);
	json_decref(marks);
	free(dmap);
	free(mmap);
}

static void
item_clear(struct item *it)
{
	ledger_meeting_clear(&it->m);
	json_decref(it->data);
	json_decref(it->relations);
	json_decref(it->record);
	memset(it, 0, sizeof(*it));
}

/* One batch of keys. */
static void
run_batch(struct run *r, char **keys, size_t n)
{
	size_t i;

	r->n = 0;
	for (i = 0; i < n; i++) {
		struct item *it = &r->it[r->n];
		int g = ledger_meeting_get(r->l, keys[i], &it->m);

		if (g == -1) {
			ledger_failed(r, "meeting_get");
			return;
		}
		if (g != 0)
			continue;
		decide_copies(it);
		if (it->want)
			screen(r, it);
		r->n++;
	}
	if (find_contacts(r) == -1 || r->fatal)
		return;
	if (find_opportunities(r) == -1 || r->fatal)
		return;
	if (find_owners(r) == -1 || r->fatal)
		return;
	write_events(r);
	if (r->fatal)
		return;
	if (r->plan == NULL)
		write_relations(r);
	for (i = 0; i < r->n && r->fatal == 0; i++) {
		struct item *it = &r->it[i];

		if (!it->live || !it->want || !it->event_id[0])
			continue;
		r->st->written++;
		log_info("meeting logged key=%s event=%s who=%s what=%s owner=%s", it->m.key,
		    it->event_id, it->who, it->what[0] ? it->what : "-", it->owner);
		done(r, it, it->event_id, it->written);
	}
	if (r->fatal == 0)
		remove_events(r);
}

/* "Next meeting" of one Opportunity as the field's type wants it, or NULL for none. */
static char *
field_value(const struct run *r, const char *type, int64_t t)
{
	char buf[40];
	struct tz *z;
	long long local = t;

	if (t == 0)
		return NULL;
	if (strcmp(type, "date") == 0) {
		if ((z = tz_load(r->cfg->activity_timezone, NULL, 0)) != NULL) {
			local = t + tz_offset_at(z, t);
			tz_free(z);
		}
		isotime_format(local, 0, 0, "", buf, sizeof(buf));
		buf[10] = '\0';
		return xstrdup(buf);
	}
	sf_datetime(t, buf);
	return xstrdup(buf);
}

/* The instant a field value stands for (date: its midnight in the activity zone), or 0. */
static int64_t
value_time(const struct run *r, const char *v)
{
	struct isotime t;
	struct tz *z;
	int64_t at;

	if (v == NULL || isotime_parse(v, strlen(v), &t) == -1)
		return 0;
	if (t.sep != 0)
		return (int64_t)t.utc;
	at = (int64_t)t.local;
	if ((z = tz_load(r->cfg->activity_timezone, NULL, 0)) != NULL) {
		at = (int64_t)tz_local_to_utc(z, t.local);
		tz_free(z);
	}
	return at;
}

/* Meetings that started since the last run: their Opportunity's next meeting is now a later
 * one (or none). The time of the last look is kept in the ledger. */
static int
mark_started(struct run *r)
{
	char *since_text = NULL, **ids = NULL, now_text[24];
	int64_t since = r->now;
	size_t n = 0;
	int got;

	if (r->cfg->next_meeting_field == NULL)
		return 0;
	if ((got = ledger_kv_get(r->l, "meetings_started_until", &since_text)) == -1)
		goto fail;
	if (got == 0)
		since = strtoll(since_text, NULL, 10);
	free(since_text);
	if (since >= r->now)
		goto save;
	if (ledger_meeting_opps_started(r->l, since, r->now, MEETING_STARTED_MAX, &ids, &n) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (ledger_opp_mark(r->l, ids[i]) == -1) {
			ledger_keys_free(ids, n);
			goto fail;
		}
	ledger_keys_free(ids, n);
save:
	snprintf(now_text, sizeof(now_text), "%lld", (long long)r->now);
	if (ledger_kv_set(r->l, "meetings_started_until", now_text) == -1)
		goto fail;
	return 0;
fail:
	ledger_failed(r, "meetings started");
	return -1;
}

/* Recomputes the next meeting date of the marked Opportunities. */
static int
next_meetings(struct run *r)
{
	const char *field = r->cfg->next_meeting_field, *type;
	char **ids = NULL, *head = NULL;
	size_t n = 0, i, k;
	json_t *current = NULL, *updates = NULL, *results = NULL, *rec;
	enum remote_class *classes = NULL;
	struct remote_failure f;
	char **values = NULL;
	int rc = -1;

	if (field == NULL)
		return 0;
	if (ledger_opp_marked(r->l, SF_CLIENT_COLLECTION_MAX, &ids, &n) == -1) {
		ledger_failed(r, "opp_marked");
		return -1;
	}
	if (n == 0)
		return 0;
	if (sf_client_field_type(r->sf, "Opportunity", field, &type, &f) == -1)
		goto remote;
	head = xasprintf("SELECT Id, %s FROM Opportunity WHERE Id IN ", field);
	if (match_query_in(r->sf, head, "", (const char *const *)ids, n, &current, &f) == -1)
		goto remote;
	updates = json_array();
	values = xcalloc(n, sizeof(*values));
	for (i = 0; i < n; i++) {
		const char *now_v = NULL;
		char *mine = NULL, *want;
		int64_t earliest, have_t;
		int found = 0;

		json_array_foreach(current, k, rec)
			if (jstr(rec, "Id") != NULL && strncmp(jstr(rec, "Id"), ids[i], 15) == 0) {
				found = 1;
				now_v = jstr(rec, field);
			}
		if (!found) {
			/* Deleted (or not visible): nothing to keep up to date. */
			values[i] = NULL;
			continue;
		}
		if (ledger_meeting_next_on(r->l, ids[i], r->now, &earliest) == -1 ||
		    ledger_opp_get(r->l, ids[i], &mine) == -1) {
			ledger_failed(r, "opp");
			goto out;
		}
		have_t = value_time(r, now_v);
		if (now_v != NULL && (mine == NULL || value_time(r, mine) != have_t) &&
		    have_t > r->now) {
			/* Set by hand, for a meeting olsync may not know, and still ahead: leave
			 * it. olsync takes the field back once that date has passed. */
			log_info("meeting next_kept opportunity=%s reason=set_by_hand", ids[i]);
			values[i] = mine;
			continue;
		}
		want = field_value(r, type, earliest);
		if ((want == NULL && now_v == NULL) || (want != NULL && now_v != NULL &&
		    value_time(r, want) == have_t)) {
			values[i] = want;
			free(mine);
			continue;
		}
		json_array_append_new(updates, json_pack("{s:s, s:o}", "Id", ids[i], field,
		    want != NULL ? json_string(want) : json_null()));
		values[i] = want;
		free(mine);
	}
	if (json_array_size(updates) > 0 && r->plan != NULL) {
		json_array_foreach(updates, k, rec) {
			struct meeting_plan p;

			memset(&p, 0, sizeof(p));
			p.kind = MEETING_PLAN_NEXT;
			p.opportunity_id = jstr(rec, "Id");
			p.value = jstr(rec, field);
			r->plan(r->plan_arg, &p);
			r->st->opportunities++;
		}
	} else if (json_array_size(updates) > 0) {
		if (sf_client_collection_update(r->sf, "Opportunity", updates, &results, &classes,
		    &f) == -1)
			goto remote;
		crashpoint("after_opp_write");
		for (k = 0; k < json_array_size(updates); k++) {
			const char *id = jstr(json_array_get(updates, k), "Id");

			if (classes[k] == REMOTE_OK) {
				r->st->opportunities++;
				continue;
			}
			sf_client_record_failure(json_array_get(results, k), &f);
			log_warnx("meeting next_failed opportunity=%s code=%s error=\"%s\"", id,
			    f.code, f.message);
			/* Left marked: tried again at the next run. */
			for (i = 0; i < n; i++)
				if (ids[i] != NULL && id != NULL && strcmp(ids[i], id) == 0) {
					free(ids[i]);
					ids[i] = NULL;
				}
		}
	}
	for (i = 0; i < n; i++)
		if (ids[i] != NULL && ledger_opp_written(r->l, ids[i], values[i]) == -1) {
			ledger_failed(r, "opp_written");
			goto out;
		}
	rc = 0;
	goto out;
remote:
	if (f.cls == REMOTE_AUTH) {
		err_set(r->err, r->errlen, "credentials refused (status %d %s): %s", f.status,
		    f.code, f.message);
		r->fatal = -1;
	} else {
		log_warnx("meeting next_failed class=%s code=%s error=\"%s\"",
		    remote_class_name(f.cls), f.code, f.message);
		if (f.cls == REMOTE_WAIT && r->hold_until != NULL)
			*r->hold_until = r->now + (f.wait_sec > 0 ? (int64_t)f.wait_sec + 1 :
			    engine_backoff(r->retry_base, 1));
		rc = 0;
	}
out:
	if (values != NULL)
		for (i = 0; i < n; i++)
			free(values[i]);
	free(values);
	free(head);
	json_decref(current);
	json_decref(updates);
	json_decref(results);
	free(classes);
	ledger_keys_free(ids, n);
	return rc == -1 || r->fatal ? -1 : 0;
}

/* The loop of meeting_run over r, whose planner fields (zero: none) the caller set. */
static int
run_all(struct run *r, const struct config *cfg, struct ledger *l, struct sf_client *sf,
    int64_t now, long retry_base, const volatile sig_atomic_t *stop, struct meeting_stats *st,
    int64_t *hold_until, char *err, size_t errlen)
{
	struct meeting_stats local;
	char **keys = NULL;
	size_t n = 0, i;
	json_t *seen = json_object();
	int rc = -1;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	r->cfg = cfg;
	r->l = l;
	r->sf = sf;
	r->now = now;
	r->retry_base = retry_base;
	r->st = st;
	r->hold_until = hold_until;
	r->err = err;
	r->errlen = errlen;
	engine_filter_policy(cfg, &r->policy);
	r->it = xcalloc(MEETING_BATCH, sizeof(*r->it));
	for (;;) {
		int again = 0;

		if (stop != NULL && *stop)
			break;
		if (ledger_meeting_due(l, now, MEETING_BATCH, &keys, &n) == -1) {
			err_set(err, errlen, "ledger: %s", ledger_error(l));
			goto out;
		}
		if (n == 0)
			break;
		/* A meeting coming back in the same run would be a loop: stop rather than spin. */
		for (i = 0; i < n; i++) {
			if (json_object_get(seen, keys[i]) != NULL)
				again = 1;
			json_object_set_new(seen, keys[i], json_true());
		}
		if (again) {
			log_warnx("meeting loop_guard: meetings came back in the same run");
			break;
		}
		run_batch(r, keys, n);
		for (i = 0; i < r->n; i++)
			item_clear(&r->it[i]);
		ledger_keys_free(keys, n);
		keys = NULL;
		n = 0;
		if (r->fatal)
			goto out;
		if (hold_until != NULL && *hold_until > now)
			break;
	}
	if (mark_started(r) == -1 || next_meetings(r) == -1)
		goto out;
	rc = 0;
out:
	if (rc == 0 || st->processed > 0)
		log_info("meeting run rc=%d processed=%ld written=%ld unchanged=%ld deleted=%ld "
		    "not_logged=%ld failed=%ld dead=%ld opportunities=%ld", rc, st->processed,
		    st->written, st->unchanged, st->deleted, st->not_logged, st->failed, st->dead,
		    st->opportunities);
	ledger_keys_free(keys, n);
	json_decref(seen);
	free(r->it);
	return rc;
}

int
meeting_run(const struct config *cfg, struct ledger *l, struct sf_client *sf, int64_t now,
    long retry_base, const volatile sig_atomic_t *stop, struct meeting_stats *st,
    int64_t *hold_until, char *err, size_t errlen)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	return run_all(&r, cfg, l, sf, now, retry_base, stop, st, hold_until, err, errlen);
}

int
meeting_plan_run(const struct config *cfg, struct ledger *l, struct sf_client *sf,
    int64_t now, meeting_plan_fn *plan, void *arg, struct meeting_stats *st, char *err,
    size_t errlen)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.plan = plan;
	r.plan_arg = arg;
	return run_all(&r, cfg, l, sf, now, (long)(cfg->retry_base_ms / 1000), NULL, st, NULL, err,
	    errlen);
}
