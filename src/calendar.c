/* calendar.c: a rep's calendar, read with calendarView delta, recorded as copies of meetings in
 * the ledger (see calendar.h). */
#include "calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crashpoint.h"
#include "delta.h"
#include "err.h"
#include "isotime.h"
#include "log.h"
#include "tz.h"
#include "xmalloc.h"

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
calendar_key(const json_t *event, char out[NORMALIZE_DIGEST_LEN + 1])
{
	const char *uid = jstr(event, "iCalUId"), *type = jstr(event, "type");
	const char *orig = jstr(event, "originalStart");
	char *text;

	if (uid == NULL || *uid == '\0')
		return -1;
	/* iCalUId already differs per occurrence in Graph; originalStart keeps two occurrences
	 * apart even where it does not, and does not move when the occurrence does. */
	if (type != NULL && (strcmp(type, "occurrence") == 0 || strcmp(type, "exception") == 0) &&
	    orig != NULL)
		text = xasprintf("meeting|%s|%s", uid, orig);
	else
		text = xasprintf("meeting|%s", uid);
	normalize_digest(text, out);
	free(text);
	return 0;
}

int
calendar_time(const json_t *dtz, int all_day, const char *all_day_tz, int64_t *utc)
{
	const char *dt = jstr(dtz, "dateTime"), *zone = jstr(dtz, "timeZone"), *iana;
	struct isotime t;
	struct tz *z;

	if (dt == NULL || isotime_parse(dt, strlen(dt), &t) == -1 || t.sep == 0)
		return -1;
	if (t.zone != 0) {
		/* An explicit offset wins over the zone name. */
		*utc = t.utc;
		return 0;
	}
	if (all_day) {
		/* Floating: midnight of the meeting's own date, wherever the reader is; olsync reads
		 * it in its activity time zone. */
		zone = all_day_tz;
	}
	if (zone == NULL || (iana = tz_resolve(zone)) == NULL ||
	    (z = tz_load(iana, NULL, 0)) == NULL)
		return -1;
	*utc = (int64_t)tz_local_to_utc(z, t.local);
	tz_free(z);
	return 0;
}

int
calendar_attending(const struct config *cfg, const json_t *event)
{
	const char *r = jstr(json_object_get(event, "responseStatus"), "response");

	if (r == NULL)
		return 0;
	if (strcmp(r, "accepted") == 0)
		return 1;
	if (strcmp(r, "tentativelyAccepted") == 0)
		return cfg->meeting_tentative;
	if (strcmp(r, "organizer") == 0 || json_is_true(json_object_get(event, "isOrganizer")))
		return cfg->meeting_match == CONFIG_MEETING_MATCH_ANY_EXTERNAL;
	return 0;
}

/* What meeting.c needs of an event, as compact JSON text (caller frees). */
static char *
event_data(const json_t *ev)
{
	json_t *d = json_object(), *att = json_array(), *a;
	size_t i;
	char *text;

	json_object_set_new(d, "subject", json_string(jstr(ev, "subject") ? jstr(ev, "subject") :
	    ""));
	json_object_set_new(d, "bodyPreview", json_string(jstr(ev, "bodyPreview") ?
	    jstr(ev, "bodyPreview") : ""));
	json_object_set(d, "start", json_object_get(ev, "start"));
	json_object_set(d, "end", json_object_get(ev, "end"));
	json_object_set_new(d, "isAllDay", json_boolean(json_is_true(json_object_get(ev,
	    "isAllDay"))));
	json_object_set_new(d, "location", json_string(jstr(json_object_get(ev, "location"),
	    "displayName") ? jstr(json_object_get(ev, "location"), "displayName") : ""));
	json_object_set_new(d, "organizer", json_string(jstr(json_object_get(json_object_get(ev,
	    "organizer"), "emailAddress"), "address") ? jstr(json_object_get(json_object_get(ev,
	    "organizer"), "emailAddress"), "address") : ""));
	json_array_foreach(json_object_get(ev, "attendees"), i, a) {
		const char *addr = jstr(json_object_get(a, "emailAddress"), "address");

		if (addr != NULL)
			json_array_append_new(att, json_pack("{s:s, s:s}", "address", addr, "type",
			    jstr(a, "type") ? jstr(a, "type") : "required"));
	}
	json_object_set_new(d, "attendees", att);
	json_object_set_new(d, "type", json_string(jstr(ev, "type") ? jstr(ev, "type") :
	    "singleInstance"));
	json_object_set_new(d, "sensitivity", json_string(jstr(ev, "sensitivity") ?
	    jstr(ev, "sensitivity") : "normal"));
	text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	if (text == NULL)
		fatalx("calendar: out of memory");
	return text;
}

/* Records one page's events and the link after them, all or nothing. */
static int
record_page(const struct config *cfg, struct ledger *l, const char *mailbox, json_t *events,
    const char *link, int64_t window_start, struct calendar_stats *st, char *err,
    size_t errlen)
{
	char key[NORMALIZE_DIGEST_LEN + 1];
	struct ledger_meeting_copy c;
	json_t *ev;
	size_t i;
	int changed, found;

	if (ledger_begin(l) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(l));
	json_array_foreach(events, i, ev) {
		const char *id = jstr(ev, "id"), *type = jstr(ev, "type");
		int64_t start;
		char *data;

		if (id == NULL) {
			st->skipped++;
			continue;
		}
		if (json_object_get(ev, "@removed") != NULL) {
			if (ledger_meeting_copy_remove(l, mailbox, id, &found) == -1)
				goto fail;
			st->removed += found;
			continue;
		}
		st->events++;
		if ((type != NULL && strcmp(type, "seriesMaster") == 0) ||
		    calendar_key(ev, key) == -1 ||
		    calendar_time(json_object_get(ev, "start"), json_is_true(json_object_get(ev,
		    "isAllDay")), cfg->activity_timezone, &start) == -1) {
			st->skipped++;
			log_info("calendar skip mailbox=%s reason=%s", mailbox,
			    type != NULL && strcmp(type, "seriesMaster") == 0 ? "series_master" :
			    "no_uid_or_time");
			continue;
		}
		data = event_data(ev);
		memset(&c, 0, sizeof(c));
		c.key = key;
		c.mailbox = mailbox;
		c.graph_id = id;
		c.response = jstr(json_object_get(ev, "responseStatus"), "response");
		if (c.response == NULL)
			c.response = "none";
		c.attending = calendar_attending(cfg, ev);
		c.cancelled = json_is_true(json_object_get(ev, "isCancelled"));
		c.start_at = start;
		c.data = data;
		if (ledger_meeting_copy_put(l, &c, &changed) == -1) {
			free(data);
			goto fail;
		}
		free(data);
		st->changed += changed;
	}
	if (ledger_delta_set(l, mailbox, CALENDAR_FOLDER, link, window_start) == -1 ||
	    ledger_commit(l) == -1)
		goto fail;
	crashpoint("calendar_committed");
	return 0;
fail:
	err_set(err, errlen, "ledger: %s", ledger_error(l));
	ledger_rollback(l);
	return -1;
}

/* One calendar's round, for delta_round. */
struct cal_round {
	const struct config	*cfg;
	struct ledger		*l;
	struct graph_client	*g;
	const char		*mailbox;
	int64_t			 round_start;	/* the window is around it */
	struct calendar_stats	*st;
};

static int
cal_fetch(void *arg, const char *link, json_t **items, char **next, char **delta,
    struct remote_failure *f)
{
	struct cal_round *cr = arg;

	return graph_client_calendar_delta_page(cr->g, cr->mailbox, link,
	    (time_t)(cr->round_start - cr->cfg->meeting_window_past_ms / 1000),
	    (time_t)(cr->round_start + cr->cfg->meeting_window_future_ms / 1000), items, next,
	    delta, f);
}

static int
cal_record(void *arg, json_t *items, const char *link, char *err, size_t errlen)
{
	struct cal_round *cr = arg;

	return record_page(cr->cfg, cr->l, cr->mailbox, items, link, cr->round_start, cr->st,
	    err, errlen);
}

static int
cal_restart(void *arg, char *err, size_t errlen)
{
	struct cal_round *cr = arg;

	(void)err;
	(void)errlen;
	cr->round_start = (int64_t)time(NULL);
	return 0;
}

int
calendar_read(const struct config *cfg, struct ledger *l, struct graph_client *g,
    const char *mailbox, const volatile sig_atomic_t *stop, struct calendar_stats *st,
    struct remote_failure *f, char *err, size_t errlen)
{
	struct cal_round cr;
	struct delta_ops ops;
	struct ledger_delta d;
	char *link = NULL, what[512];
	int64_t now = (int64_t)time(NULL);
	int found;

	memset(&d, 0, sizeof(d));
	if ((found = ledger_delta_get(l, mailbox, CALENDAR_FOLDER, &d)) == -1)
		return err_set(err, errlen, "ledger: %s", ledger_error(l));
	memset(&cr, 0, sizeof(cr));
	cr.cfg = cfg;
	cr.l = l;
	cr.g = g;
	cr.mailbox = mailbox;
	cr.st = st;
	cr.round_start = now;
	/* window_start holds when the round began: its window is [that - past, that + future). */
	if (found == 0 && d.link != NULL && now - d.window_start < CALENDAR_REBASE) {
		link = xstrdup(d.link);
		cr.round_start = d.window_start;
	} else if (found == 0 && d.link != NULL) {
		st->restarts++;
		log_info("calendar rebase mailbox=%s", mailbox);
	}
	ledger_delta_clear(&d);
	snprintf(what, sizeof(what), "mailbox=%s folder=" CALENDAR_FOLDER, mailbox);
	memset(&ops, 0, sizeof(ops));
	ops.fetch = cal_fetch;
	ops.record = cal_record;
	ops.restart = cal_restart;
	ops.arg = &cr;
	ops.what = what;
	return delta_round(&ops, link, stop, &st->pages, &st->restarts, f, err, errlen);
}
