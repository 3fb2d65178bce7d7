/* dryrun.c: `olsync dry-run` (see dryrun.h). The window is read like a backfill (backfill.c)
 * into a copy of the ledger in a private temporary directory, the engine decides every pending
 * message there with a planner instead of Salesforce writes, and what the planner heard is the
 * report. The copy starts where the real ledger is (what is logged, the round-robin cursor, the
 * API calls of the day), so the report is what the next real pass would write for that mail. */
#include "dryrun.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backfill.h"
#include "engine.h"
#include "err.h"
#include "graph_client.h"
#include "ingest.h"
#include "isotime.h"
#include "ledger.h"
#include "ledger_copy.h"
#include "log.h"
#include "sf_client.h"
#include "store.h"
#include "xmalloc.h"

/* What the planner heard, in the order the engine decided. */
struct report {
	const struct config	*cfg;
	json_t			*lines;		/* one object per Lead, email or skip */
	long			 activities, leads, skipped, failed, ambiguous;
	long			 events, removals, next_dates;	/* meetings */
};

static const char *const mode_names[] = {
	[CONFIG_MODE_TASK] = "task",
	[CONFIG_MODE_EMAILMESSAGE] = "emailmessage",
	[CONFIG_MODE_BOTH] = "task+emailmessage",
};

static const char *const tie_break_names[] = {
	[CONFIG_TIE_BREAK_OLDEST] = "oldest",
	[CONFIG_TIE_BREAK_NEWEST] = "newest",
	[CONFIG_TIE_BREAK_MODIFIED] = "most-recently-modified",
};

int
dryrun_args(int argc, char *argv[], struct backfill_opts *o, char *err, size_t errlen)
{
	return backfill_options(argc, argv, BACKFILL_OPT_DAYS | BACKFILL_OPT_JSON, o, err,
	    errlen);
}

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (json_object_set_new(o, key, v != NULL ? json_string(v) : json_null()) == -1)
		fatalx("dryrun: out of memory");
}

static void
set_new(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		fatalx("dryrun: out of memory");
}

static const char *const kind_names[] = {
	[ENGINE_PLAN_ACTIVITY] = "activity",
	[ENGINE_PLAN_LEAD] = "lead",
	[ENGINE_PLAN_SKIP] = "skip",
	[ENGINE_PLAN_FAIL] = "failed",
};

/* The planner: one line of the report per call. */
static void
heard(void *arg, const struct engine_plan *p)
{
	struct report *r = arg;
	json_t *o = json_object();

	if (o == NULL)
		fatalx("dryrun: out of memory");
	set_str(o, "kind", kind_names[p->kind]);
	set_str(o, "message_id", p->key);
	set_str(o, "digest", p->ext_id);
	set_str(o, "mailbox", p->mailbox);
	set_str(o, "direction", p->direction);
	set_str(o, "subject", p->subject);
	switch (p->kind) {
	case ENGINE_PLAN_ACTIVITY:
		r->activities++;
		set_str(o, "record", mode_names[r->cfg->mode]);
		set_str(o, "owner", p->owner_id);
		set_str(o, "who", p->who_id);
		set_str(o, "who_type", p->who_is_lead ? "Lead" : "Contact");
		set_str(o, "who_address", p->who_address);
		set_new(o, "who_new_lead", json_boolean(strncmp(p->who_id, ENGINE_PLAN_LEAD_PREFIX,
		    strlen(ENGINE_PLAN_LEAD_PREFIX)) == 0));
		set_str(o, "what", p->what_id);
		if (p->candidates > 1) {
			r->ambiguous++;
			set_new(o, "ambiguous", json_pack("{s:i,s:s,s:s}", "candidates",
			    p->candidates, "tie_break", tie_break_names[r->cfg->tie_break],
			    "picked", p->who_id));
		}
		break;
	case ENGINE_PLAN_LEAD:
		r->leads++;
		set_str(o, "lead", p->lead_id);
		set_str(o, "address", p->address);
		set_str(o, "name", p->name);
		set_str(o, "owner", p->lead_owner_id);
		set_str(o, "owner_rule", p->lead_owner_rule);
		break;
	case ENGINE_PLAN_SKIP:
		r->skipped++;
		set_str(o, "reason", p->reason);
		break;
	case ENGINE_PLAN_FAIL:
		r->failed++;
		set_str(o, "reason", p->reason);
		break;
	}
	if (json_array_append_new(r->lines, o) == -1)
		fatalx("dryrun: out of memory");
}

/* The meeting planner: one line per Event upserted or removed, or next meeting date set. */
static void
heard_meeting(void *arg, const struct meeting_plan *p)
{
	struct report *r = arg;
	json_t *o = json_object();

	if (o == NULL)
		fatalx("dryrun: out of memory");
	switch (p->kind) {
	case MEETING_PLAN_EVENT:
		r->events++;
		set_str(o, "kind", "event");
		set_str(o, "meeting", p->key);
		set_str(o, "event", p->event_id);
		set_new(o, "event_new", json_boolean(strncmp(p->event_id,
		    MEETING_PLAN_EVENT_PREFIX, strlen(MEETING_PLAN_EVENT_PREFIX)) == 0));
		set_str(o, "subject", p->subject);
		set_str(o, "who", p->who_id);
		set_str(o, "what", p->what_id);
		set_str(o, "owner", p->owner_id);
		set_str(o, "start", p->start);
		set_new(o, "relations", json_integer((json_int_t)p->relations));
		break;
	case MEETING_PLAN_REMOVE:
		r->removals++;
		set_str(o, "kind", "event_removed");
		set_str(o, "meeting", p->key);
		set_str(o, "event", p->event_id);
		set_str(o, "how", p->how);
		break;
	case MEETING_PLAN_NEXT:
		r->next_dates++;
		set_str(o, "kind", "next_meeting");
		set_str(o, "opportunity", p->opportunity_id);
		set_str(o, "field", r->cfg->next_meeting_field);
		set_str(o, "value", p->value);
		break;
	}
	if (json_array_append_new(r->lines, o) == -1)
		fatalx("dryrun: out of memory");
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
print_text(FILE *out, const struct report *r, const json_t *head)
{
	const json_t *o;
	size_t i;

	fprintf(out, "dry-run since=%s until=%s mailboxes=%s\n", jstr(head, "since"),
	    jstr(head, "until"), jstr(head, "mailboxes_text"));
	json_array_foreach(r->lines, i, o) {
		const char *kind = jstr(o, "kind");
		const json_t *amb = json_object_get(o, "ambiguous");

		if (strcmp(kind, "event") == 0) {
			fprintf(out, "event    %s %s who=%s what=%s owner=%s start=%s relations=%lld "
			    "subject=\"%s\"\n", jstr(o, "meeting"),
			    json_is_true(json_object_get(o, "event_new")) ? "new" : jstr(o, "event"),
			    jstr(o, "who"), jstr(o, "what"), jstr(o, "owner"), jstr(o, "start"),
			    (long long)json_integer_value(json_object_get(o, "relations")),
			    jstr(o, "subject"));
			continue;
		}
		if (strcmp(kind, "event_removed") == 0) {
			fprintf(out, "removed  %s %s how=%s\n", jstr(o, "meeting"), jstr(o, "event"),
			    jstr(o, "how"));
			continue;
		}
		if (strcmp(kind, "next_meeting") == 0) {
			fprintf(out, "next     %s %s=%s\n", jstr(o, "opportunity"), jstr(o, "field"),
			    jstr(o, "value"));
			continue;
		}
		if (strcmp(kind, "lead") == 0) {
			fprintf(out, "lead     %s name=\"%s\" owner=%s rule=%s lead=%s first=%s\n",
			    jstr(o, "address"), jstr(o, "name"), jstr(o, "owner"),
			    jstr(o, "owner_rule"), jstr(o, "lead"), jstr(o, "digest"));
			continue;
		}
		if (strcmp(kind, "activity") == 0) {
			fprintf(out, "%-8s %s %s %s who=%s%s %s (%s) what=%s owner=%s",
			    jstr(o, "record"), jstr(o, "digest"), jstr(o, "direction"),
			    jstr(o, "mailbox"),
			    json_is_true(json_object_get(o, "who_new_lead")) ? "new " : "",
			    jstr(o, "who_type"), jstr(o, "who"), jstr(o, "who_address"),
			    jstr(o, "what"), jstr(o, "owner"));
			if (amb != NULL)
				fprintf(out, " ambiguous=\"%lld records have %s; tie_break %s "
				    "picks %s\"", (long long)json_integer_value(json_object_get(amb,
				    "candidates")), jstr(o, "who_address"), jstr(amb, "tie_break"),
				    jstr(amb, "picked"));
		} else {
			fprintf(out, "%-8s %s %s %s reason=\"%s\"", kind, jstr(o, "digest"),
			    jstr(o, "direction"), jstr(o, "mailbox"), jstr(o, "reason"));
		}
		fprintf(out, " subject=\"%s\"\n", jstr(o, "subject"));
	}
	o = json_object_get(head, "summary");
	fprintf(out, "summary  seen=%lld processed=%lld %s=%ld leads=%ld skipped=%ld failed=%ld "
	    "ambiguous=%ld held=%s meetings=%s events=%ld removed=%ld next_dates=%ld\n",
	    (long long)json_integer_value(json_object_get(o, "seen")),
	    (long long)json_integer_value(json_object_get(o, "processed")),
	    mode_names[r->cfg->mode], r->activities, r->leads, r->skipped, r->failed,
	    r->ambiguous, json_is_true(json_object_get(o, "held")) ? "yes" : "no",
	    jstr(o, "meetings"), r->events, r->removals, r->next_dates);
}

static void
time_text(int64_t t, char *buf, size_t len)
{
	isotime_format((long long)t, 0, 0, "Z", buf, len);
}

/* A PostgreSQL ledger copied into a new SQLite file at path (migrated, then filled by
 * ledger_copy in one read transaction on the database): the dry run works on the copy, as it
 * does on a snapshot of a SQLite ledger. */
static int
copy_from_postgresql(const struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct store *from = NULL, *to = NULL;
	struct ledger *l;
	int rc = -1;

	if (ledger_open(path, &l, err, errlen) == -1)
		return -1;
	ledger_close(l);
	if (store_open(cfg->database, cfg->database_password, &from, err, errlen) == 0 &&
	    store_open(path, NULL, &to, err, errlen) == 0) {
		/* a database olsync never started on is an empty ledger, as a missing file is */
		if ((rc = store_version(from, err, errlen)) > 0)
			rc = ledger_copy(from, to, err, errlen);
	}
	store_close(from);
	store_close(to);
	return rc;
}

/* The throwaway ledger: a copy of the real one, or a new one, in a private directory dir
 * (mkdtemp'd; the caller removes it with scrap). */
static int
scratch_ledger(const struct config *cfg, char *dir, size_t dirlen, struct ledger **l, char *err,
    size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX], why[512];

	snprintf(dir, dirlen, "%s/olsync-dry-run-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		err_set(err, errlen, "cannot make a temporary directory %s: %s", dir,
		    strerror(errno));
		dir[0] = '\0';
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	if (store_target_is_postgresql(cfg->database)) {
		if (copy_from_postgresql(cfg, path, why, sizeof(why)) == -1)
			return err_set(err, errlen, "cannot copy the ledger: %s", why);
	} else if (access(cfg->database, F_OK) == 0 &&
	    ledger_snapshot(cfg->database, path, why, sizeof(why)) == -1)
		return err_set(err, errlen, "cannot copy the ledger: %s", why);
	if (ledger_open(path, l, why, sizeof(why)) == -1)
		return err_set(err, errlen, "cannot open the ledger's copy: %s", why);
	ledger_set_max_attempts(*l, cfg->max_attempts);
	if (ledger_set_bulk(*l) == -1)
		return err_set(err, errlen, "%s", ledger_error(*l));
	return 0;
}

static void
scrap(const char *dir)
{
	static const char *const files[] = { "ledger.db", "ledger.db-wal", "ledger.db-shm",
	    "ledger.db-journal" };
	char path[PATH_MAX];

	if (dir[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	if (rmdir(dir) == -1)
		log_warn("dryrun cannot remove %s", dir);
}

int
dryrun_run(const struct config *cfg, const struct backfill_opts *o, FILE *out, char *err,
    size_t errlen)
{
	struct report r;
	struct ledger *l = NULL;
	struct graph_client *g = NULL;
	struct sf_client *sf = NULL;
	struct engine *e = NULL;
	struct engine_stats st;
	struct backfill_progress pr;
	struct backfill_range range;
	struct ingest_folder none;
	json_t *boxes = NULL, *head = NULL, *summary, *v;
	char dir[PATH_MAX] = "", since[32], until[32], *text = NULL, *s;
	long seen = 0;
	size_t i;
	int rc = -1, next_pass;

	/* Without a window or mailboxes chosen, the report is the next pass's. */
	next_pass = o->nmailboxes == 0 && o->since == 0 && o->days == 0 && o->until == 0;
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.lines = json_array();
	range.since = o->since;
	if (range.since == 0)
		range.since = (int64_t)time(NULL) - (int64_t)(o->days ? o->days :
		    cfg->backfill_days) * 86400;
	range.until = o->until;
	if (range.until != 0 && range.until <= range.since) {
		err_set(err, errlen, "--until must be after the window's start");
		goto out;
	}
	if (scratch_ledger(cfg, dir, sizeof(dir), &l, err, errlen) == -1)
		goto out;
	if ((g = graph_client_new(cfg, err, errlen)) == NULL ||
	    (sf = sf_client_new(cfg, err, errlen)) == NULL)
		goto out;
	if ((boxes = backfill_mailboxes(g, o->mailboxes, o->nmailboxes, err, errlen)) == NULL)
		goto out;
	e = engine_new(cfg, l, g, sf);
	engine_set_planner(e, heard, &r);
	/* Meetings are planned with the next pass (their calendars are read by delta as it
	 * would); a window of chosen mail reads no calendar. */
	if (next_pass)
		engine_set_meeting_planner(e, heard_meeting, &r);
	log_info("dryrun start mailboxes=%zu since=%lld until=%lld next_pass=%d",
	    json_array_size(boxes), (long long)range.since, (long long)range.until, next_pass);
	if (next_pass) {
		/* The next pass itself: delta from the copy's positions, in Graph's order, so
		 * even the round robin meets the new senders in the order it will. */
		if (engine_pass(e, NULL, &st, err, errlen) == -1)
			goto out;
		seen = st.ingest.messages;
		snprintf(since, sizeof(since), "last_pass");
	} else {
		json_array_foreach(boxes, i, v) {
			range.mailbox = json_string_value(v);
			if (backfill_run(cfg, l, g, NULL, &range, 0, NULL, NULL, NULL, &pr, err,
			    errlen) != 0)
				goto out;
			seen += pr.seen;
		}
		memset(&none, 0, sizeof(none));
		if (engine_pass_folders(e, &none, 0, NULL, &st, err, errlen) == -1)
			goto out;
		time_text(range.since, since, sizeof(since));
	}
	if (range.until != 0)
		time_text(range.until, until, sizeof(until));
	else
		snprintf(until, sizeof(until), "now");
	json_array_foreach(boxes, i, v) {
		s = xasprintf("%s%s%s", text ? text : "", text ? "," : "", json_string_value(v));
		free(text);
		text = s;
	}
	summary = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:I,s:I,s:I}", "seen",
	    (json_int_t)seen, "processed", (json_int_t)st.processed, "activities",
	    (json_int_t)r.activities, "leads", (json_int_t)r.leads, "skipped",
	    (json_int_t)r.skipped, "failed", (json_int_t)r.failed, "ambiguous",
	    (json_int_t)r.ambiguous, "held", st.held, "meetings", !cfg->meetings ? "off" :
	    next_pass ? "planned" : "not_in_a_window", "events", (json_int_t)r.events,
	    "events_removed", (json_int_t)r.removals, "next_dates", (json_int_t)r.next_dates);
	head = json_pack("{s:s,s:s,s:s,s:O,s:s,s:s,s:O,s:o}", "since", since, "until", until,
	    "mailboxes_text", text ? text : "", "mailboxes", boxes,
	    "record", mode_names[cfg->mode], "tie_break", tie_break_names[cfg->tie_break],
	    "lines", r.lines, "summary", summary);
	if (head == NULL)
		fatalx("dryrun: out of memory");
	if (o->json) {
		json_object_del(head, "mailboxes_text");
		if (json_dumpf(head, out, JSON_INDENT(1)) == -1)
			goto io;
		fputc('\n', out);
	} else
		print_text(out, &r, head);
	if (fflush(out) == EOF)
		goto io;
	rc = 0;
	goto out;
io:
	err_set(err, errlen, "cannot write the report: %s", strerror(errno));
out:
	free(text);
	json_decref(head);
	json_decref(boxes);
	json_decref(r.lines);
	engine_free(e);
	sf_client_free(sf);
	graph_client_free(g);
	ledger_close(l);
	scrap(dir);
	return rc;
}
