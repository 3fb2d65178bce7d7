/* graph_calendar.c: calendars in graph-sim (see graph_calendar.h): events, calendarView and its
 * delta over a window, recurring series stored as expanded instances, output in the Prefer:
 * outlook.timezone zone; and the meeting changes (create, respond, reschedule, cancel, delete
 * from one calendar) the control API drives, each recorded in g_change and notified.
 *
 * Choices where the reference is silent (also in docs/graph-sim.md):
 * - A recurring series is expanded when it is created: at most CAL_MAX_INSTANCES instances and,
 *   for a noEnd range, CAL_HORIZON_DAYS days from its start date.
 * - An all-day event is floating: it is output as midnight to midnight of its own dates in
 *   whatever zone the caller prefers, as Outlook shows it.
 * - An unknown zone in Prefer: outlook.timezone is ignored (UTC, no Preference-Applied).
 * - calendarView/delta ignores $select (the reference: not supported, full properties).
 * - A delta round reports every changed instance outside the window as @removed (Graph may).
 * - Cancelling removes the meeting from the organizer's calendar and marks attendees' copies
 *   isCancelled with the subject prefixed "Canceled: ", as Exchange does; a new time resets
 *   attendees' responses to "none".
 * - originalStart (occurrences and exceptions only, "YYYY-MM-DDTHH:MM:SSZ") is the start the
 *   series gave the instance; any change to one instance makes it an exception that keeps its
 *   iCalUId (the GlobalObjectId holds the original date, MS-OXOCAL 2.2.1.27) and originalStart.
 * - An attendee deleting their copy sends no response and changes no other copy; the organizer
 *   deleting it cancels it for everyone (Graph: "deleting the event on the organizer's calendar
 *   sends a cancellation message to the meeting attendees"). */
#include "graph_calendar.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "db.h"
#include "err.h"
#include "graph_odata.h"
#include "graph_store.h"
#include "graph_tz.h"
#include "isotime.h"
#include "log.h"
#include "xmalloc.h"

#define CAL_MAX_INSTANCES	500	/* instances one series expands into */
#define CAL_HORIZON_DAYS	730	/* how far a noEnd series is expanded */
#define CAL_MAX_ITERATIONS	20000	/* pattern steps tried while expanding */
#define CAL_PAGE_DEFAULT	10	/* Graph's default page for events and calendarView */
#define CAL_PAGE_MAX		1000
#define CAL_DELTA_PAGE_DEFAULT	10
#define CAL_MAX_ATTENDEES	500
#define CAL_PREVIEW_MAX		255	/* bodyPreview length, in characters */
#define CAL_SAVEPOINT		"graph_calendar"
#define NO_TIME			"0001-01-01T00:00:00Z"
#define ID_PREFIX		"AAMkA"
#define GOID_CLASS		"040000008200E00074C5B7101A82E008"

static const char *const read_roles[] = {
	"Calendars.Read", "Calendars.ReadBasic.All", "Calendars.ReadBasic", "Calendars.ReadWrite",
	NULL
};
static const char *const full_roles[] = { "Calendars.Read", "Calendars.ReadWrite", NULL };
static const char *const day_names[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
};
static const char *const index_names[] = { "first", "second", "third", "fourth", "last" };

/* Columns of g_event in the order the C_* indexes name them. */
#define EV_COLS	"id, ical_uid, series_master_id, type, subject, body_type, body, body_preview," \
	" start_utc, end_utc, start_tz, end_tz, original_start, is_all_day, is_cancelled," \
	" is_organizer, organizer_json, attendees_json, response, response_time, location_json," \
	" recurrence_json, show_as, sensitivity, importance, created, modified, change_key," \
	" user_id, deleted, uid, rowid"
enum {
	C_ID, C_ICAL, C_MASTER, C_TYPE, C_SUBJECT, C_BODY_TYPE, C_BODY, C_PREVIEW, C_START,
	C_END, C_START_TZ, C_END_TZ, C_ORIG_START, C_ALL_DAY, C_CANCELLED, C_ORGANIZER,
	C_ORG_JSON, C_ATT_JSON, C_RESPONSE, C_RESP_TIME, C_LOC_JSON, C_REC_JSON, C_SHOW_AS,
	C_SENSITIVITY, C_IMPORTANCE, C_CREATED, C_MODIFIED, C_CHANGE_KEY, C_USER, C_DELETED,
	C_UID, C_ROWID
};

/* Window instances overlap: an instance ending exactly at the window's start is out, a
 * zero-length one at the start is in. Parameters ?1 window start, ?2 window end. */
#define OVERLAP	"((start_utc < ?2 AND end_utc > ?1) OR (start_utc = end_utc AND" \
	" start_utc >= ?1 AND start_utc < ?2))"

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Time formats ------------------------------------------------------------------------------*/

/* Stored instants: "YYYY-MM-DDTHH:MM:SSZ", which sort as text. */
static void
utc_text(long long secs, char out[32])
{
	isotime_format(secs, 0, 0, "Z", out, 32);
}

static long long
utc_parse(const char *s)
{
	long long v = 0;
	int off;

	if (s == NULL || graph_tz_parse_iso(s, &v, &off) < 0)
		return 0;
	return v;
}

/* "2024-05-24T12:52:15.1234567Z", as Graph writes createdDateTime. */
static void
now_iso7(char out[40])
{
	double now = graph_now();
	long long secs = (long long)now;
	size_t n;

	isotime_format(secs, 0, 0, "", out, 40);
	n = strlen(out);
	snprintf(out + n, 40 - n, ".%07dZ", (int)((now - (double)secs) * 1e7) % 10000000);
}

/* The day number of a local time (floor, so times before 1970 work too). */
static long long
day_of(long long local)
{
	return local / 86400 - (local % 86400 < 0);
}

/* Ids ----------------------------------------------------------------------------------------*/

/* Graph's ids: base64 of an Exchange entry id, with '-' and '_' for '/' and '+'. */
static void
new_id(char out[96])
{
	unsigned char raw[66];
	char *b;

	crypto_random_bytes(raw, sizeof(raw));
	b = b64_encode(raw, sizeof(raw));
	for (char *p = b; *p; p++) {
		if (*p == '/')
			*p = '-';
		else if (*p == '+')
			*p = '_';
	}
	snprintf(out, 96, "%s%s=", ID_PREFIX, b);
	free(b);
}

static int
id_well_formed(const char *id)
{
	size_t n = strlen(id);

	if (n < 40 || n > 200 || strncmp(id, ID_PREFIX, strlen(ID_PREFIX)) != 0)
		return 0;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '=')
			return 0;
	return 1;
}

/* An Outlook GlobalObjectId in hex: the class id, the instance date (zero for a series or a
 * single meeting), the creation time, reserved bytes, then 16 random bytes of data. */
static void
new_goid(char out[120])
{
	unsigned long long ft = ((unsigned long long)time(NULL) + 11644473600ULL) * 10000000ULL;
	unsigned char data[16];
	size_t n;

	crypto_random_bytes(data, sizeof(data));
	n = (size_t)snprintf(out, 120, "%s00000000", GOID_CLASS);
	for (int i = 0; i < 8; i++)	/* FILETIME, little-endian */
		n += (size_t)snprintf(out + n, 120 - n, "%02X", (unsigned)((ft >> (8 * i)) & 0xff));
	n += (size_t)snprintf(out + n, 120 - n, "000000000000000010000000");
	for (size_t i = 0; i < sizeof(data); i++)
		n += (size_t)snprintf(out + n, 120 - n, "%02X", data[i]);
}

/* The iCalUId of the occurrence on local date day: the series' with the date filled in. */
static void
occurrence_goid(const char *uid, long long day, char out[120])
{
	int y, m, d;
	char date[9];

	snprintf(out, 120, "%s", uid);
	if (strlen(out) < 40)
		return;
	isotime_civil(day, &y, &m, &d);
	snprintf(date, sizeof(date), "%04X%02X%02X", y, m, d);
	memcpy(out + strlen(GOID_CLASS), date, 8);
}

static void
new_change_key(char out[48])
{
	char *t = crypto_random_token(30);

	snprintf(out, 48, "DwAAABYAAA%s", t);
	free(t);
}

/* Bodies -------------------------------------------------------------------------------------*/

/* Text of an HTML body: tags dropped, a few entities decoded, whitespace collapsed. */
static char *
html_to_text(const char *html)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&#39;", '\'' }, { "&nbsp;", ' ' } };
	size_t n = 0, len = strlen(html);
	char *out = xmalloc(len + 1);
	int space = 0, in_tag = 0;

	for (const char *p = html; *p; p++) {
		char c = *p;

		if (in_tag) {
			in_tag = c != '>';
			if (!in_tag)
				space = 1;
			continue;
		}
		if (c == '<') {
			in_tag = 1;
			continue;
		}
		if (c == '&') {
			for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
				size_t el = strlen(ents[i].ent);

				if (strncasecmp(p, ents[i].ent, el) == 0) {
					c = ents[i].c;
					p += el - 1;
					break;
				}
			}
		}
		if (isspace((unsigned char)c)) {
			space = 1;
			continue;
		}
		if (space && n > 0)
			out[n++] = ' ';
		space = 0;
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static char *
text_to_html(const char *text)
{
	size_t len = strlen(text), n = 0;
	char *out = xmalloc(len * 6 + 64);

	/* Each character grows to at most 5 bytes ("&amp;"), so len * 6 + 64 always fits. */
	n += (size_t)snprintf(out, len * 6 + 64, "<html><body>");
	for (const char *p = text; *p; p++) {
		const char *ent = NULL;

		switch (*p) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '\n': ent = "<br>"; break;
		default: out[n++] = *p; break;
		}
		if (ent != NULL) {
			memcpy(out + n, ent, strlen(ent));
			n += strlen(ent);
		}
	}
	snprintf(out + n, len * 6 + 64 - n, "</body></html>");
	return out;
}

/* The first CAL_PREVIEW_MAX characters of the body's text, cut on a character boundary. */
static char *
body_preview(const char *type, const char *body)
{
	char *text = strcasecmp(type, "html") == 0 ? html_to_text(body) : xstrdup(body);
	size_t chars = 0, i;

	for (i = 0; text[i] != '\0'; i++) {
		if (((unsigned char)text[i] & 0xc0) != 0x80 && chars++ == CAL_PREVIEW_MAX)
			break;
	}
	text[i] = '\0';
	return text;
}

/* Event JSON ---------------------------------------------------------------------------------*/

/* The zone a reply uses: the Prefer: outlook.timezone value when we know it, else UTC. */
static const char *
out_zone(const struct graph_req *req)
{
	if (req->timezone[0] != '\0' && graph_tz_known(req->timezone))
		return req->timezone;
	return "UTC";
}

static json_t *
date_time_tz(long long utc, const char *own_tz, int all_day, const char *zone)
{
	long long local = utc;
	char buf[40];

	if (all_day) {
		/* Floating: the event's own dates, whatever the reader's zone. */
		if (graph_tz_from_utc(own_tz, utc, &local) < 0)
			local = utc;
	} else if (graph_tz_from_utc(zone, utc, &local) < 0) {
		local = utc;
	}
	isotime_format(local, 7, 0, "", buf, sizeof(buf));
	return json_pack("{s:s,s:s}", "dateTime", buf, "timeZone", zone);
}

static json_t *
parsed_or(const char *text, json_t *dflt)
{
	json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

	if (j == NULL)
		return dflt;
	json_decref(dflt);
	return j;
}

static int
has_full_read(const struct graph_req *req)
{
	size_t i;
	json_t *r;

	json_array_foreach(req->roles, i, r)
		for (int k = 0; full_roles[k] != NULL; k++)
			if (json_is_string(r) && strcmp(json_string_value(r), full_roles[k]) == 0)
				return 1;
	return 0;
}

/* The event resource of the row st is on (EV_COLS), as the caller's options want it. */
static json_t *
event_json(const struct graph_req *req, sqlite3_stmt *st)
{
	const char *zone = out_zone(req), *type = col(st, C_TYPE), *id = col(st, C_ID);
	const char *btype = col(st, C_BODY_TYPE) ? col(st, C_BODY_TYPE) : "html";
	const char *body = col(st, C_BODY) ? col(st, C_BODY) : "";
	int all_day = sqlite3_column_int(st, C_ALL_DAY), is_master;
	long long start = utc_parse(col(st, C_START)), end = utc_parse(col(st, C_END));
	char etag[80], *weblink, *esc, *content;
	const char *stz = col(st, C_START_TZ) ? col(st, C_START_TZ) : "UTC";
	const char *etz = col(st, C_END_TZ) ? col(st, C_END_TZ) : stz;
	json_t *ev, *occ_id = json_null();

	is_master = strcmp(type, "seriesMaster") == 0;
	snprintf(etag, sizeof(etag), "W/\"%s\"", col(st, C_CHANGE_KEY) ? col(st,
	    C_CHANGE_KEY) : "");
	esc = graph_odata_escape(id);
	weblink = xasprintf("https://outlook.office365.com/owa/?itemid=%s&exvsurl=1"
	    "&path=/calendar/item", esc);
	free(esc);
	if (col(st, C_MASTER) != NULL) {
		long long orig = utc_parse(col(st, C_ORIG_START)), local = orig;
		char date[32];

		graph_tz_from_utc(stz, orig, &local);
		isotime_format(local, 0, 0, "", date, sizeof(date));
		date[10] = '\0';
		occ_id = json_sprintf("OID.%s.%s", col(st, C_MASTER), date);
	}

	if (req->body_type[0] != '\0' && strcasecmp(req->body_type, btype) != 0 &&
	    (strcasecmp(req->body_type, "text") == 0 || strcasecmp(req->body_type, "html") == 0)) {
		content = strcasecmp(req->body_type, "text") == 0 ? html_to_text(body) :
		    text_to_html(body);
		btype = strcasecmp(req->body_type, "text") == 0 ? "text" : "html";
	} else {
		content = xstrdup(body);
	}

	ev = json_object();
	json_object_set_new(ev, "@odata.etag", json_string(etag));
	json_object_set_new(ev, "id", json_string(id));
	json_object_set_new(ev, "createdDateTime", json_string(col(st, C_CREATED) ?
	    col(st, C_CREATED) : NO_TIME));
	json_object_set_new(ev, "lastModifiedDateTime", json_string(col(st, C_MODIFIED) ?
	    col(st, C_MODIFIED) : NO_TIME));
	json_object_set_new(ev, "changeKey", json_string(col(st, C_CHANGE_KEY) ?
	    col(st, C_CHANGE_KEY) : ""));
	json_object_set_new(ev, "categories", json_array());
	json_object_set_new(ev, "transactionId", json_null());
	json_object_set_new(ev, "originalStartTimeZone", json_string(stz));
	json_object_set_new(ev, "originalEndTimeZone", json_string(etz));
	/* Occurrences and exceptions only, in UTC, never moved with the instance. */
	if (col(st, C_MASTER) != NULL && col(st, C_ORIG_START) != NULL)
		json_object_set_new(ev, "originalStart", json_string(col(st, C_ORIG_START)));
	json_object_set_new(ev, "iCalUId", json_string(col(st, C_ICAL)));
	json_object_set_new(ev, "reminderMinutesBeforeStart", json_integer(15));
	json_object_set_new(ev, "isReminderOn", json_true());
	json_object_set_new(ev, "hasAttachments", json_false());
	json_object_set_new(ev, "subject", json_string(col(st, C_SUBJECT) ?
	    col(st, C_SUBJECT) : ""));
	json_object_set_new(ev, "bodyPreview", json_string(col(st, C_PREVIEW) ?
	    col(st, C_PREVIEW) : ""));
	json_object_set_new(ev, "importance", json_string(col(st, C_IMPORTANCE) ?
	    col(st, C_IMPORTANCE) : "normal"));
	json_object_set_new(ev, "sensitivity", json_string(col(st, C_SENSITIVITY) ?
	    col(st, C_SENSITIVITY) : "normal"));
	json_object_set_new(ev, "isAllDay", json_boolean(all_day));
	json_object_set_new(ev, "isCancelled", json_boolean(sqlite3_column_int(st, C_CANCELLED)));
	json_object_set_new(ev, "isOrganizer", json_boolean(sqlite3_column_int(st, C_ORGANIZER)));
	json_object_set_new(ev, "responseRequested", json_true());
	json_object_set_new(ev, "seriesMasterId", col(st, C_MASTER) ?
	    json_string(col(st, C_MASTER)) : json_null());
	json_object_set_new(ev, "showAs", json_string(col(st, C_SHOW_AS) ?
	    col(st, C_SHOW_AS) : "busy"));
	json_object_set_new(ev, "type", json_string(type));
	json_object_set_new(ev, "webLink", json_string(weblink));
	json_object_set_new(ev, "onlineMeetingUrl", json_null());
	json_object_set_new(ev, "isOnlineMeeting", json_false());
	json_object_set_new(ev, "onlineMeetingProvider", json_string("unknown"));
	json_object_set_new(ev, "allowNewTimeProposals", json_true());
	json_object_set_new(ev, "occurrenceId", occ_id);
	json_object_set_new(ev, "isDraft", json_false());
	json_object_set_new(ev, "hideAttendees", json_false());
	json_object_set_new(ev, "responseStatus", json_pack("{s:s,s:s}", "response",
	    col(st, C_RESPONSE) ? col(st, C_RESPONSE) : "none", "time",
	    col(st, C_RESP_TIME) ? col(st, C_RESP_TIME) : NO_TIME));
	json_object_set_new(ev, "body", json_pack("{s:s,s:s}", "contentType", btype,
	    "content", content));
	json_object_set_new(ev, "start", date_time_tz(start, stz, all_day, zone));
	json_object_set_new(ev, "end", date_time_tz(end, etz, all_day, zone));
	json_object_set_new(ev, "location", parsed_or(col(st, C_LOC_JSON), json_pack(
	    "{s:s,s:s,s:s,s:{},s:{}}", "displayName", "", "locationType", "default",
	    "uniqueIdType", "unknown", "address", "coordinates")));
	{
		json_t *loc = json_object_get(ev, "location");
		const char *dn = str(loc, "displayName");

		json_object_set_new(ev, "locations", dn != NULL && *dn != '\0' ?
		    json_pack("[O]", loc) : json_array());
	}
	json_object_set_new(ev, "recurrence", is_master ? parsed_or(col(st, C_REC_JSON),
	    json_null()) : json_null());
	json_object_set_new(ev, "attendees", parsed_or(col(st, C_ATT_JSON), json_array()));
	json_object_set_new(ev, "organizer", parsed_or(col(st, C_ORG_JSON), json_object()));
	json_object_set_new(ev, "onlineMeeting", json_null());
	if (!has_full_read(req)) {
		/* Calendars.ReadBasic.All: everything but the body. */
		json_object_del(ev, "body");
		json_object_del(ev, "bodyPreview");
	}
	free(weblink);
	free(content);
	return ev;
}

/* Preference-Applied for what this reply honoured. */
static void
prefer_applied(const struct graph_req *req, struct graph_reply *reply, long pagesize,
    int track)
{
	char buf[256] = "";
	size_t n = 0;

	if (track)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "odata.track-changes");
	if (pagesize > 0)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sodata.maxpagesize=%ld",
		    n ? ", " : "", pagesize);
	if (req->timezone[0] != '\0' && graph_tz_known(req->timezone))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%soutlook.timezone=\"%s\"",
		    n ? ", " : "", req->timezone);
	if (req->body_type[0] != '\0' && (strcasecmp(req->body_type, "text") == 0 ||
	    strcasecmp(req->body_type, "html") == 0))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "%soutlook.body-content-type=\"%s\"", n ? ", " : "", req->body_type);
	if (n > 0 && n < sizeof(buf))
		graph_reply_header(reply, "Preference-Applied", buf);
}

static void
not_found(const struct graph_req *req, struct graph_reply *reply)
{
	graph_reply_error(reply, req, 404, "ErrorItemNotFound",
	    "The specified object was not found in the store.");
}

/* Reads ---------------------------------------------------------------------------------------*/

static void
get_event(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *id, struct graph_reply *reply)
{
	sqlite3_stmt *st;
	json_t *ev;
	char *ctx;

	if (!id_well_formed(id)) {
		graph_reply_error(reply, req, 400, "ErrorInvalidIdMalformed", "Id is malformed.");
		return;
	}
	st = db_prepare(sim->db, "SELECT " EV_COLS " FROM g_event WHERE id = ? AND user_id = ?"
	    " AND deleted = 0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		not_found(req, reply);
		return;
	}
	ev = event_json(req, st);
	sqlite3_finalize(st);
	graph_odata_apply_select(req, ev);
	ctx = xasprintf("/v1.0/$metadata#users('%s')/events/$entity", user->id);
	{
		char *url = graph_url(sim, ctx);
		json_t *out = json_pack("{s:s}", "@odata.context", url);

		json_object_update(out, ev);
		json_decref(ev);
		free(url);
		graph_reply_json(reply, 200, out);
	}
	free(ctx);
	prefer_applied(req, reply, 0, 0);
}

/* startDateTime/endDateTime of the query as stored instants; an offset is honoured, none
 * means UTC. 1 when both are there, 0 (a 400 answered) when not. */
static int
window(const struct graph_req *req, struct graph_reply *reply, char ws[32], char we[32])
{
	const char *s = graph_req_param(req, "startDateTime");
	const char *e = graph_req_param(req, "endDateTime");
	long long a, b;
	int off;

	if (s == NULL || e == NULL || *s == '\0' || *e == '\0') {
		graph_reply_error(reply, req, 400, "ErrorInvalidParameter", "This request requires "
		    "a time window specified by the query string parameters StartDateTime and "
		    "EndDateTime.");
		return 0;
	}
	if (graph_tz_parse_iso(s, &a, &off) < 0) {
		graph_reply_error(reply, req, 400, "ErrorInvalidParameter", "The value '%s' of "
		    "parameter 'StartDateTime' is invalid.", s);
		return 0;
	}
	if (graph_tz_parse_iso(e, &b, &off) < 0) {
		graph_reply_error(reply, req, 400, "ErrorInvalidParameter", "The value '%s' of "
		    "parameter 'EndDateTime' is invalid.", e);
		return 0;
	}
	if (b < a) {
		graph_reply_error(reply, req, 400, "ErrorInvalidParameter", "The parameter "
		    "'EndDateTime' must be later than 'StartDateTime'.");
		return 0;
	}
	utc_text(a, ws);
	utc_text(b, we);
	return 1;
}

enum list_kind { LIST_EVENTS, LIST_VIEW, LIST_INSTANCES };

/* /events (series masters and single instances), /calendarView (instances in a window) and
 * /events/{id}/instances, with $top, $skip, $select and $orderby, paged by $skip links. */
static void
list_events(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    enum list_kind kind, const char *master, struct graph_reply *reply)
{
	static const char *const orderable[] = { "start/dateTime", "end/dateTime", "subject",
		"createdDateTime", "lastModifiedDateTime", NULL };
	static const char *const drop[] = { "$skip", NULL };
	const char *skip_text = graph_req_param(req, "$skip");
	const char *orderby = graph_req_param(req, "$orderby");
	struct graph_orderby ob;
	char ws[32] = "", we[32] = "", err[128], order[256] = "";
	long top, skip = 0;
	size_t n = 0;
	sqlite3_stmt *st;
	json_t *value;
	char *sql, *ctx, *url;
	int count = 0, more = 0;

	if (kind != LIST_EVENTS && !window(req, reply, ws, we))
		return;
	if (graph_req_param(req, "$filter") != NULL) {
		graph_reply_error(reply, req, 400, "ErrorInvalidUrlQueryFilter",
		    "graph-sim does not support $filter on this path.");
		return;
	}
	if ((top = graph_odata_top(req, req->maxpagesize > 0 && req->maxpagesize <= CAL_PAGE_MAX ?
	    req->maxpagesize : CAL_PAGE_DEFAULT, CAL_PAGE_MAX, reply)) < 0)
		return;
	if (skip_text != NULL && graph_odata_parse_count(skip_text, &skip) < 0) {
		graph_reply_error(reply, req, 400, "BadRequest", "Invalid value '%s' for query "
		    "option $skip.", skip_text);
		return;
	}
	if (orderby != NULL) {
		if (graph_odata_orderby_parse(orderby, orderable, &ob, err, sizeof(err)) < 0) {
			graph_reply_error(reply, req, 400, "RequestBroker--ParseUri", "Could not "
			    "find a property named '%s' on type 'microsoft.graph.event'.", err);
			return;
		}
		for (int i = 0; i < ob.n; i++) {
			const char *c = strcmp(ob.prop[i], "start/dateTime") == 0 ? "start_utc" :
			    strcmp(ob.prop[i], "end/dateTime") == 0 ? "end_utc" :
			    strcmp(ob.prop[i], "subject") == 0 ? "subject" :
			    strcmp(ob.prop[i], "createdDateTime") == 0 ? "created" : "modified";

			n += (size_t)snprintf(order + n, sizeof(order) - n, "%s %s, ", c,
			    ob.desc[i] ? "DESC" : "ASC");
		}
	}
	snprintf(order + n, sizeof(order) - n, "start_utc, id");

	sql = xasprintf("SELECT " EV_COLS " FROM g_event WHERE user_id = ?3 AND deleted = 0 AND "
	    "%s ORDER BY %s LIMIT ?4 OFFSET ?5",
	    kind == LIST_EVENTS ? "type IN ('singleInstance', 'seriesMaster')" :
	    kind == LIST_VIEW ? "type <> 'seriesMaster' AND " OVERLAP :
	    "series_master_id = ?6 AND " OVERLAP, order);
	st = db_prepare(sim->db, sql);
	free(sql);
	if (kind != LIST_EVENTS) {
		sqlite3_bind_text(st, 1, ws, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, we, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(st, 3, user->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, top + 1);
	sqlite3_bind_int64(st, 5, skip);
	if (kind == LIST_INSTANCES)
		sqlite3_bind_text(st, 6, master, -1, SQLITE_STATIC);
	value = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *ev;

		if (count == top) {
			more = 1;
			break;
		}
		ev = event_json(req, st);
		graph_odata_apply_select(req, ev);
		json_array_append_new(value, ev);
		count++;
	}
	sqlite3_finalize(st);

	ctx = xasprintf("/v1.0/$metadata#users('%s')/%s", user->id,
	    kind == LIST_VIEW ? "calendarView" : "events");
	url = graph_url(sim, ctx);
	free(ctx);
	{
		json_t *out = json_pack("{s:s,s:o}", "@odata.context", url, "value", value);

		if (more) {
			char next[32];
			char *link;

			snprintf(next, sizeof(next), "%ld", skip + top);
			link = graph_odata_link(sim, req, drop, "$skip", next);
			json_object_set_new(out, "@odata.nextLink", json_string(link));
			free(link);
		}
		graph_reply_json(reply, 200, out);
	}
	free(url);
	prefer_applied(req, reply, 0, 0);
}

/* Delta ---------------------------------------------------------------------------------------*/

struct delta_state {
	char user_id[40];
	long long base;		/* changes after this seq are the round's */
	long long upto;		/* ... up to this one */
	long long position;	/* keyset: rowid (initial) or change seq (changes) */
	char phase[16];		/* "initial", "changes", "delta" */
	char ws[32], we[32];
	int expired;
};

static char *
delta_path(const struct graph_user *user)
{
	return xasprintf("/v1.0/users/%s/calendarView/delta", user->id);
}

static int
delta_load(struct graph_sim *sim, const char *token, struct delta_state *ds)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT user_id, seq, phase, position, params,"
	    " created, expired FROM g_delta WHERE token = ? AND resource = 'calendarView'");
	int found = 0;

	memset(ds, 0, sizeof(*ds));
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_t *params = json_loads(col(st, 4), 0, NULL);
		long ttl = sim->settings.delta_token_ttl_sec;

		found = 1;
		snprintf(ds->user_id, sizeof(ds->user_id), "%s", col(st, 0));
		ds->base = sqlite3_column_int64(st, 1);
		snprintf(ds->phase, sizeof(ds->phase), "%s", col(st, 2));
		ds->position = sqlite3_column_int64(st, 3);
		ds->expired = sqlite3_column_int(st, 6) ||
		    (ttl > 0 && graph_now() - sqlite3_column_double(st, 5) > (double)ttl);
		snprintf(ds->ws, sizeof(ds->ws), "%s", str(params, "start") ? str(params,
		    "start") : "");
		snprintf(ds->we, sizeof(ds->we), "%s", str(params, "end") ? str(params,
		    "end") : "");
		ds->upto = json_integer_value(json_object_get(params, "upto"));
		json_decref(params);
	}
	sqlite3_finalize(st);
	return found;
}

/* Stores the state behind a new $skiptoken or $deltatoken. Caller frees the token. */
static char *
delta_save(struct graph_sim *sim, const struct delta_state *ds)
{
	json_t *params = json_pack("{s:s,s:s,s:I}", "start", ds->ws, "end", ds->we, "upto",
	    (json_int_t)ds->upto);
	char *token = graph_store_delta_save(sim->db, ds->user_id, "calendarView", NULL, ds->base,
	    ds->phase, ds->position, params);

	json_decref(params);
	return token;
}

static void
sync_state_gone(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const struct delta_state *known, struct graph_reply *reply)
{
	char *path = delta_path(user), *loc, *url;

	graph_reply_error(reply, req, 410, "SyncStateNotFound", "The sync state generation is "
	    "not found; generation=%lld;[highest=%lld].", known ? known->base : 0LL,
	    graph_store_current_seq(sim->db));
	if (known != NULL && known->ws[0] != '\0') {
		char *a = graph_odata_escape(known->ws), *b = graph_odata_escape(known->we);

		loc = xasprintf("%s?startDateTime=%s&endDateTime=%s", path, a, b);
		free(a);
		free(b);
	} else {
		loc = xasprintf("%s?$deltatoken=", path);
	}
	url = graph_url(sim, loc);
	graph_reply_header(reply, "Location", url);
	free(url);
	free(loc);
	free(path);
}

static json_t *
removed_json(const char *id)
{
	return json_pack("{s:s,s:s,s:{s:s}}", "@odata.type", "#microsoft.graph.event", "id", id,
	    "@removed", "reason", "deleted");
}

/* One page of an initial round: the window's instances after the keyset position. */
static int
delta_initial_page(struct graph_sim *sim, struct graph_req *req, struct delta_state *ds,
    long pagesize, json_t *value)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT " EV_COLS " FROM g_event WHERE"
	    " user_id = ?3 AND deleted = 0 AND type <> 'seriesMaster' AND " OVERLAP
	    " AND rowid > ?4 ORDER BY rowid LIMIT ?5");
	int n = 0, more = 0;

	sqlite3_bind_text(st, 1, ds->ws, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ds->we, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ds->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ds->position);
	sqlite3_bind_int64(st, 5, pagesize + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *ev;

		if (n == pagesize) {
			more = 1;
			break;
		}
		ev = event_json(req, st);
		json_object_set_new(ev, "@odata.type", json_string("#microsoft.graph.event"));
		json_array_append_new(value, ev);
		ds->position = sqlite3_column_int64(st, C_ROWID);
		n++;
	}
	sqlite3_finalize(st);
	return more;
}

/* One page of a later round: instances changed in (base, upto], as they are now; removed,
 * cancelled-and-gone and out-of-window ones as @removed. Series masters are not in a
 * calendarView, so their changes show only through their instances. */
static int
delta_changes_page(struct graph_sim *sim, struct graph_req *req, struct delta_state *ds,
    long pagesize, json_t *value)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT item_id, max(seq) AS m FROM g_change"
	    " WHERE user_id = ? AND kind = 'event' AND seq > ? AND seq <= ? GROUP BY item_id"
	    " HAVING m > ? ORDER BY m LIMIT ?");
	sqlite3_stmt *ev_st = db_prepare(sim->db, "SELECT " EV_COLS ", " OVERLAP " FROM g_event"
	    " WHERE id = ?3 AND user_id = ?4");
	int n = 0, more = 0;

	sqlite3_bind_text(st, 1, ds->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ds->base);
	sqlite3_bind_int64(st, 3, ds->upto);
	sqlite3_bind_int64(st, 4, ds->position);
	sqlite3_bind_int64(st, 5, pagesize + 1);
	sqlite3_bind_text(ev_st, 1, ds->ws, -1, SQLITE_STATIC);
	sqlite3_bind_text(ev_st, 2, ds->we, -1, SQLITE_STATIC);
	sqlite3_bind_text(ev_st, 4, ds->user_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *item = col(st, 0);

		if (n == pagesize) {
			more = 1;
			break;
		}
		ds->position = sqlite3_column_int64(st, 1);
		n++;
		sqlite3_reset(ev_st);
		sqlite3_bind_text(ev_st, 3, item, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ev_st) != SQLITE_ROW) {
			json_array_append_new(value, removed_json(item));
			continue;
		}
		if (strcmp(col(ev_st, C_TYPE), "seriesMaster") == 0)
			continue;
		if (sqlite3_column_int(ev_st, C_DELETED) ||
		    !sqlite3_column_int(ev_st, C_ROWID + 1)) {
			json_array_append_new(value, removed_json(item));
		} else {
			json_t *ev = event_json(req, ev_st);

			json_object_set_new(ev, "@odata.type",
			    json_string("#microsoft.graph.event"));
			json_array_append_new(value, ev);
		}
	}
	sqlite3_finalize(ev_st);
	sqlite3_finalize(st);
	return more;
}

static void
delta(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    struct graph_reply *reply)
{
	const char *skip = graph_req_param(req, "$skiptoken");
	const char *dtok = graph_req_param(req, "$deltatoken");
	long pagesize = req->maxpagesize > 0 ? req->maxpagesize : CAL_DELTA_PAGE_DEFAULT;
	struct delta_state ds;
	json_t *value, *out;
	char *token, *path, *link, *url;
	int more;

	if (pagesize > CAL_PAGE_MAX)
		pagesize = CAL_PAGE_MAX;
	if ((skip != NULL && *skip != '\0') || (dtok != NULL && *dtok != '\0')) {
		const char *t = skip && *skip ? skip : dtok;
		int is_skip = skip && *skip;

		if (!delta_load(sim, t, &ds) || strcmp(ds.user_id, user->id) != 0) {
			sync_state_gone(sim, req, user, NULL, reply);
			return;
		}
		if (ds.expired || is_skip != (strcmp(ds.phase, "delta") != 0)) {
			sync_state_gone(sim, req, user, &ds, reply);
			return;
		}
		if (strcmp(ds.phase, "delta") == 0) {
			/* A new round: the changes since the last one, up to now. */
			snprintf(ds.phase, sizeof(ds.phase), "changes");
			ds.upto = graph_store_current_seq(sim->db);
			ds.position = 0;
		}
	} else {
		memset(&ds, 0, sizeof(ds));
		if (!window(req, reply, ds.ws, ds.we))
			return;
		snprintf(ds.user_id, sizeof(ds.user_id), "%s", user->id);
		snprintf(ds.phase, sizeof(ds.phase), "initial");
		ds.upto = graph_store_current_seq(sim->db);
	}

	value = json_array();
	if (strcmp(ds.phase, "initial") == 0)
		more = delta_initial_page(sim, req, &ds, pagesize, value);
	else
		more = delta_changes_page(sim, req, &ds, pagesize, value);

	url = graph_url(sim, "/v1.0/$metadata#Collection(event)");
	out = json_pack("{s:s,s:o}", "@odata.context", url, "value", value);
	free(url);
	path = delta_path(user);
	if (more) {
		token = delta_save(sim, &ds);
		link = xasprintf("%s?$skiptoken=%s", path, token);
		url = graph_url(sim, link);
		json_object_set_new(out, "@odata.nextLink", json_string(url));
	} else {
		struct delta_state next = ds;

		next.base = ds.upto;
		next.upto = 0;
		next.position = 0;
		snprintf(next.phase, sizeof(next.phase), "delta");
		token = delta_save(sim, &next);
		link = xasprintf("%s?$deltatoken=%s", path, token);
		url = graph_url(sim, link);
		json_object_set_new(out, "@odata.deltaLink", json_string(url));
	}
	free(url);
	free(link);
	free(token);
	free(path);
	graph_reply_json(reply, 200, out);
	prefer_applied(req, reply, req->maxpagesize > 0 ? pagesize : 0, 1);
}

static void
calendar_resource(struct graph_sim *sim, const struct graph_user *user, struct graph_reply *reply)
{
	unsigned char digest[CRYPTO_SHA256_LEN];
	char *b, *ctx, *url, id[96];
	json_t *cal;

	/* Stable per user, shaped like the other ids. */
	crypto_sha256(user->id, strlen(user->id), digest);
	b = b64_encode(digest, sizeof(digest));
	for (char *p = b; *p; p++) {
		if (*p == '/')
			*p = '-';
		else if (*p == '+')
			*p = '_';
	}
	snprintf(id, sizeof(id), "%sAAAAAAEGAAA%s", ID_PREFIX, b);
	free(b);
	ctx = xasprintf("/v1.0/$metadata#users('%s')/calendar/$entity", user->id);
	url = graph_url(sim, ctx);
	cal = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:s,s:[s],s:{s:s,s:s}}",
	    "@odata.context", url, "id", id, "name", "Calendar", "color", "auto", "hexColor", "",
	    "changeKey", "DwAAABYAAAA", "canShare", 1, "canViewPrivateItems", 1, "canEdit", 1,
	    "isDefaultCalendar", 1, "isRemovable", 0, "isTallyingResponses", 1,
	    "defaultOnlineMeetingProvider", "teamsForBusiness", "allowedOnlineMeetingProviders",
	    "teamsForBusiness", "owner", "name", user->display_name, "address",
	    user->mail[0] ? user->mail : user->upn);
	graph_reply_json(reply, 200, cal);
	free(url);
	free(ctx);
}

static int
seg_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

void
graph_calendar_call(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *rest, struct graph_reply *reply)
{
	const char *seg[4];
	size_t len[4];
	int nseg = 0;
	const char *p;

	if (!graph_require_role(req, reply, read_roles, "ErrorAccessDenied",
	    "Access is denied. Check credentials and try again."))
		return;
	if (!user->has_mailbox) {
		graph_reply_error(reply, req, 404, "MailboxNotEnabledForRESTAPI",
		    "REST API is not yet supported for this mailbox.");
		return;
	}
	if (strcmp(req->method, "GET") != 0) {
		graph_reply_error(reply, req, 405, "ErrorInvalidRequest", "graph-sim serves "
		    "calendars read-only; meetings are made through /_sim/events.");
		return;
	}
	for (p = rest; *p == '/' && nseg < 4; ) {
		const char *e = strchr(p + 1, '/');

		seg[nseg] = p + 1;
		len[nseg] = e ? (size_t)(e - p - 1) : strlen(p + 1);
		nseg++;
		p = e ? e : p + strlen(p);
	}
	if (*p != '\0' || nseg == 0) {
		graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the "
		    "segment '%s'.", rest);
		return;
	}
	/* /calendar/... is the default calendar: the same events. */
	if (seg_is(seg[0], len[0], "calendar")) {
		if (nseg == 1) {
			calendar_resource(sim, user, reply);
			return;
		}
		for (int i = 1; i < nseg; i++) {
			seg[i - 1] = seg[i];
			len[i - 1] = len[i];
		}
		nseg--;
	}
	if (seg_is(seg[0], len[0], "calendarView")) {
		if (nseg == 1)
			list_events(sim, req, user, LIST_VIEW, NULL, reply);
		else if (nseg == 2 && seg_is(seg[1], len[1], "delta"))
			delta(sim, req, user, reply);
		else if (nseg == 2) {
			char *id = xstrndup(seg[1], len[1]);

			get_event(sim, req, user, id, reply);
			free(id);
		} else
			graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for "
			    "the segment '%.*s'.", (int)len[2], seg[2]);
		return;
	}
	if (seg_is(seg[0], len[0], "events")) {
		char *id;

		if (nseg == 1) {
			list_events(sim, req, user, LIST_EVENTS, NULL, reply);
			return;
		}
		id = xstrndup(seg[1], len[1]);
		if (nseg == 2)
			get_event(sim, req, user, id, reply);
		else if (nseg == 3 && seg_is(seg[2], len[2], "instances"))
			list_events(sim, req, user, LIST_INSTANCES, id, reply);
		else
			graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for "
			    "the segment '%.*s'.", (int)len[nseg - 1], seg[nseg - 1]);
		free(id);
		return;
	}
	graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the segment "
	    "'%.*s'.", (int)len[0], seg[0]);
}

/* Meetings from the control API -------------------------------------------------------------*/

/* A tenant user by id, userPrincipalName or mail. */
static int
tenant_user(struct graph_sim *sim, const char *who, struct graph_user *out)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT id, upn, coalesce(mail, ''),"
	    " coalesce(display_name, ''), has_mailbox FROM g_user WHERE id = ?1 OR"
	    " upn = ?1 COLLATE NOCASE OR mail = ?1 COLLATE NOCASE ORDER BY (id = ?1) DESC,"
	    " (upn = ?1 COLLATE NOCASE) DESC LIMIT 1");
	int found = 0;

	sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "%s", col(st, 0));
		snprintf(out->upn, sizeof(out->upn), "%s", col(st, 1));
		snprintf(out->mail, sizeof(out->mail), "%s", col(st, 2));
		snprintf(out->display_name, sizeof(out->display_name), "%s", col(st, 3));
		out->has_mailbox = sqlite3_column_int(st, 4);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* "a@x.com", "Name <a@x.com>", {"address","name"} or {"emailAddress":{..}} -> address and
 * name (name may come back ""). -1 when it is none of those. */
static int
parse_address(json_t *j, char *addr, size_t alen, char *name, size_t nlen)
{
	const char *s, *lt, *gt;

	name[0] = '\0';
	if (json_is_object(j) && json_is_object(json_object_get(j, "emailAddress")))
		j = json_object_get(j, "emailAddress");
	if (json_is_object(j)) {
		s = str(j, "address");
		if (s == NULL || strchr(s, '@') == NULL || strlen(s) >= alen)
			return -1;
		snprintf(addr, alen, "%s", s);
		if (str(j, "name") != NULL)
			snprintf(name, nlen, "%s", str(j, "name"));
		return 0;
	}
	if ((s = json_string_value(j)) == NULL)
		return -1;
	if ((lt = strchr(s, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		const char *e = lt;

		while (e > s && e[-1] == ' ')
			e--;
		snprintf(name, nlen, "%.*s", (int)(e - s), s);
		if (name[0] == '"' && strlen(name) > 1 && name[strlen(name) - 1] == '"') {
			memmove(name, name + 1, strlen(name));
			name[strlen(name) - 1] = '\0';
		}
		if ((size_t)(gt - lt - 1) >= alen)
			return -1;
		snprintf(addr, alen, "%.*s", (int)(gt - lt - 1), lt + 1);
	} else {
		if (strlen(s) >= alen)
			return -1;
		snprintf(addr, alen, "%s", s);
	}
	return strchr(addr, '@') != NULL && strchr(addr, ' ') == NULL ? 0 : -1;
}

static int
one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}

/* {"dateTime","timeZone"} or an ISO string -> the instant, and the zone name to keep
 * (dflt_tz when the value names none). An ISO string with an offset is that instant. */
static int
parse_when(json_t *j, const char *what, const char *dflt_tz, long long *utc, char *tz,
    size_t tzlen, long long *local, char *err, size_t errlen)
{
	const char *dt, *zone = dflt_tz;
	int has_off;

	if (json_is_object(j)) {
		dt = str(j, "dateTime");
		if (str(j, "timeZone") != NULL && *str(j, "timeZone") != '\0')
			zone = str(j, "timeZone");
	} else {
		dt = json_string_value(j);
	}
	if (dt == NULL)
		return err_set(err, errlen, "%s needs {\"dateTime\":..,\"timeZone\":..}", what);
	if (strlen(zone) >= tzlen || !graph_tz_known(zone))
		return err_set(err, errlen, "%s: unknown time zone \"%s\"", what, zone);
	if (graph_tz_parse_iso(dt, local, &has_off) < 0)
		return err_set(err, errlen, "%s: \"%s\" is not an ISO 8601 date-time", what, dt);
	snprintf(tz, tzlen, "%s", zone);
	if (has_off) {
		*utc = *local;
		graph_tz_from_utc(zone, *utc, local);
	} else {
		graph_tz_to_utc(zone, *local, utc);
	}
	return 0;
}

/* Recurrence --------------------------------------------------------------------------------*/

struct recurrence {
	int type;		/* index into rec_types */
	int interval;
	int days;		/* bit per weekday, bit 0 Sunday */
	int first_dow;
	int day_of_month;
	int month;
	int index;		/* index_names */
	int range;		/* 0 endDate, 1 noEnd, 2 numbered */
	long long start_day, end_day;
	int count;
};

static const char *const rec_types[] = { "daily", "weekly", "absoluteMonthly",
	"relativeMonthly", "absoluteYearly", "relativeYearly" };
static const char *const range_types[] = { "endDate", "noEnd", "numbered" };

static int
parse_date(const char *s, long long *day)
{
	long long secs;
	int off;

	if (s == NULL || strlen(s) != 10 || graph_tz_parse_iso(s, &secs, &off) < 0)
		return -1;
	*day = secs / 86400;
	return 0;
}

static int
parse_recurrence(json_t *j, long long first_day, const char *tz, struct recurrence *r,
    json_t **normal, char *err, size_t errlen)
{
	json_t *pat = json_object_get(j, "pattern"), *range = json_object_get(j, "range");
	json_t *dows, *d, *ndays;
	const char *t;
	size_t i;
	int k;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(pat) || !json_is_object(range))
		return err_set(err, errlen, "recurrence needs {\"pattern\":{..},\"range\":{..}}");
	if ((t = str(pat, "type")) == NULL || (r->type = one_of(t, rec_types,
	    sizeof(rec_types) / sizeof(rec_types[0]))) < 0)
		return err_set(err, errlen, "recurrence.pattern.type must be daily, weekly, "
		    "absoluteMonthly, relativeMonthly, absoluteYearly or relativeYearly");
	r->interval = json_object_get(pat, "interval") ?
	    (int)json_integer_value(json_object_get(pat, "interval")) : 1;
	if (r->interval < 1 || r->interval > 99)
		return err_set(err, errlen, "recurrence.pattern.interval must be 1..99");
	dows = json_object_get(pat, "daysOfWeek");
	ndays = json_array();
	json_array_foreach(dows, i, d) {
		if (!json_is_string(d) || (k = one_of(json_string_value(d), day_names, 7)) < 0) {
			json_decref(ndays);
			return err_set(err, errlen, "recurrence.pattern.daysOfWeek: unknown day");
		}
		r->days |= 1 << k;
	}
	for (k = 0; k < 7; k++)
		if (r->days & (1 << k))
			json_array_append_new(ndays, json_string(day_names[k]));
	r->first_dow = 0;
	if ((t = str(pat, "firstDayOfWeek")) != NULL && (r->first_dow = one_of(t, day_names,
	    7)) < 0) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.pattern.firstDayOfWeek: unknown day");
	}
	r->day_of_month = (int)json_integer_value(json_object_get(pat, "dayOfMonth"));
	r->month = (int)json_integer_value(json_object_get(pat, "month"));
	r->index = 0;
	if ((t = str(pat, "index")) != NULL && (r->index = one_of(t, index_names, 5)) < 0) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.pattern.index: first..fourth or last");
	}
	if ((r->type == 1 || r->type == 3 || r->type == 5) && r->days == 0) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.pattern.daysOfWeek is required for %s",
		    rec_types[r->type]);
	}
	if ((r->type == 2 || r->type == 4) && (r->day_of_month < 1 || r->day_of_month > 31)) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.pattern.dayOfMonth must be 1..31");
	}
	if ((r->type == 4 || r->type == 5) && (r->month < 1 || r->month > 12)) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.pattern.month must be 1..12");
	}

	if ((t = str(range, "type")) == NULL || (r->range = one_of(t, range_types, 3)) < 0) {
		json_decref(ndays);
		return err_set(err, errlen,
		    "recurrence.range.type must be endDate, noEnd or numbered");
	}
	r->start_day = first_day;
	if (str(range, "startDate") != NULL && parse_date(str(range, "startDate"),
	    &r->start_day) < 0) {
		json_decref(ndays);
		return err_set(err, errlen, "recurrence.range.startDate must be YYYY-MM-DD");
	}
	if (r->range == 0 && (parse_date(str(range, "endDate"), &r->end_day) < 0 ||
	    r->end_day < r->start_day)) {
		json_decref(ndays);
		return err_set(err, errlen,
		    "recurrence.range.endDate must be a YYYY-MM-DD on or after "
		    "startDate");
	}
	if (r->range == 2) {
		r->count = (int)json_integer_value(json_object_get(range, "numberOfOccurrences"));
		if (r->count < 1 || r->count > CAL_MAX_INSTANCES) {
			json_decref(ndays);
			return err_set(err, errlen,
			    "recurrence.range.numberOfOccurrences must be 1..%d "
			    "(graph-sim expands at most %d instances)", CAL_MAX_INSTANCES,
			    CAL_MAX_INSTANCES);
		}
		r->end_day = r->start_day + 366LL * 100;
	}
	if (r->range == 1)
		r->end_day = r->start_day + CAL_HORIZON_DAYS;

	{
		char sd[32], ed[32];

		isotime_format(r->start_day * 86400, 0, 0, "", sd, sizeof(sd));
		sd[10] = '\0';
		if (r->range == 0) {
			isotime_format(r->end_day * 86400, 0, 0, "", ed, sizeof(ed));
			ed[10] = '\0';
		} else {
			snprintf(ed, sizeof(ed), "0001-01-01");
		}
		*normal = json_pack("{s:{s:s,s:i,s:i,s:i,s:o,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:i}}",
		    "pattern", "type", rec_types[r->type], "interval", r->interval, "month",
		    r->month, "dayOfMonth", r->day_of_month, "daysOfWeek", ndays, "firstDayOfWeek",
		    day_names[r->first_dow], "index", index_names[r->index], "range", "type",
		    range_types[r->range], "startDate", sd, "endDate", ed, "recurrenceTimeZone", tz,
		    "numberOfOccurrences", r->range == 2 ? r->count : 0);
	}
	return 0;
}

/* The day in month (1-based) that the relative pattern picks, or 0: the index-th day (or the
 * last) of the month that falls on one of the pattern's weekdays. */
static int
relative_day(const struct recurrence *r, int y, int m)
{
	int days[31], n = 0, md = isotime_month_days(y, m);
	long long first = isotime_days(y, m, 1);

	for (int d = 1; d <= md; d++)
		if (r->days & (1 << isotime_weekday(first + d - 1)))
			days[n++] = d;
	if (n == 0)
		return 0;
	if (r->index == 4)
		return days[n - 1];
	return r->index < n ? days[r->index] : 0;
}

/* The local days the series falls on, ascending; at most CAL_MAX_INSTANCES. */
static int
expand(const struct recurrence *r, long long *out)
{
	int n = 0, iter = 0;
	int sy, sm, sd;
	long long d;

	isotime_civil(r->start_day, &sy, &sm, &sd);
#define EMIT(day)	do {							\
		if ((day) >= r->start_day && (day) <= r->end_day &&		\
		    n < CAL_MAX_INSTANCES && (r->range != 2 || n < r->count))	\
			out[n++] = (day);					\
	} while (0)
#define DONE(day)	((day) > r->end_day || n >= CAL_MAX_INSTANCES ||	\
	(r->range == 2 && n >= r->count) || ++iter > CAL_MAX_ITERATIONS)

	switch (r->type) {
	case 0:	/* daily */
		for (d = r->start_day; !DONE(d); d += r->interval)
			EMIT(d);
		break;
	case 1:	/* weekly: weeks counted from the one holding startDate */
		d = r->start_day - (isotime_weekday(r->start_day) - r->first_dow + 7) % 7;
		for (; !DONE(d); d += 7LL * r->interval)
			for (int i = 0; i < 7; i++)
				if (r->days & (1 << isotime_weekday(d + i)))
					EMIT(d + i);
		break;
	case 2:	/* absoluteMonthly: a short month uses its last day, as Outlook does */
	case 3:	/* relativeMonthly */
		for (int k = 0;; k += r->interval) {
			int y = sy + (sm - 1 + k) / 12, m = (sm - 1 + k) % 12 + 1, day;

			if (DONE(isotime_days(y, m, 1)))
				break;
			if (r->type == 2) {
				day = r->day_of_month;
				if (day > isotime_month_days(y, m))
					day = isotime_month_days(y, m);
			} else {
				day = relative_day(r, y, m);
			}
			if (day > 0)
				EMIT(isotime_days(y, m, day));
		}
		break;
	default:	/* absoluteYearly, relativeYearly */
		for (int y = sy;; y += r->interval) {
			int day;

			if (DONE(isotime_days(y, r->month, 1)))
				break;
			if (r->type == 4) {
				day = r->day_of_month;
				if (day > isotime_month_days(y, r->month))
					day = isotime_month_days(y, r->month);
			} else {
				day = relative_day(r, y, r->month);
			}
			if (day > 0)
				EMIT(isotime_days(y, r->month, day));
		}
		break;
	}
#undef EMIT
#undef DONE
	return n;
}

/* Rows and changes --------------------------------------------------------------------------*/

struct newrow {
	char id[96];
	const char *user_id;
	char ical_uid[120];
	const char *uid;
	const char *master_id;
	const char *type;
	const char *subject, *body_type, *body, *preview;
	long long start, end, original_start;
	const char *start_tz, *end_tz;
	int all_day, organizer;
	const char *organizer_json, *attendees_json, *response, *location_json;
	const char *recurrence_json, *show_as, *sensitivity, *importance;
};

/* Records a change to an event row: a g_change entry that delta rounds replay, and the row's
 * seq. change is "upsert" or "removed". */
static void
record_change(struct graph_sim *sim, const char *user_id, const char *id, const char *change)
{
	sqlite3_stmt *st = db_prepare(sim->db, "INSERT INTO g_change (user_id, kind, folder_id,"
	    " item_id, rest_id, change, at) VALUES (?, 'event', NULL, ?, ?, ?, ?)");
	char now[32];
	long long seq;

	graph_now_iso(now);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, change, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("graph-calendar: change not recorded reason=\"%s\"",
		    sqlite3_errmsg(sim->db));
	sqlite3_finalize(st);
	seq = sqlite3_last_insert_rowid(sim->db);
	st = db_prepare(sim->db, "UPDATE g_event SET seq = ? WHERE id = ?");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Notifications wait until the change is kept: notes is {id: [user, id, changeType]}; a
 * deletion outranks an update of the same item. */
static void
note(json_t *notes, const char *user_id, const char *id, const char *change_type)
{
	json_t *old = json_object_get(notes, id);

	if (old != NULL && strcmp(json_string_value(json_array_get(old, 2)), "updated") != 0 &&
	    strcmp(change_type, "deleted") != 0)
		return;
	json_object_set_new(notes, id, json_pack("[s,s,s]", user_id, id, change_type));
}

static void
send_notes(struct graph_sim *sim, json_t *notes)
{
	const char *key;
	json_t *v;

	json_object_foreach(notes, key, v)
		graph_notify_change(sim, json_string_value(json_array_get(v, 0)), NULL,
		    json_string_value(json_array_get(v, 1)), json_string_value(json_array_get(v, 1)),
		    1, json_string_value(json_array_get(v, 2)));
}

static int
insert_row(struct graph_sim *sim, const struct newrow *r, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_prepare(sim->db, "INSERT INTO g_event (id, user_id, ical_uid, uid,"
	    " series_master_id, type, subject, body_type, body, body_preview, start_utc, end_utc,"
	    " start_tz, end_tz, original_start, is_all_day, is_cancelled, is_organizer,"
	    " organizer_json, attendees_json, response, response_time, location_json,"
	    " recurrence_json, show_as, sensitivity, importance, created, modified, change_key)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 0,"
	    " ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?27, ?28)");
	char s[32], e[32], o[32], now[40], ck[48];
	int rc;

	utc_text(r->start, s);
	utc_text(r->end, e);
	utc_text(r->original_start, o);
	now_iso7(now);
	new_change_key(ck);
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->ical_uid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->uid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->master_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->body_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->preview, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, e, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->start_tz, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, r->end_tz, -1, SQLITE_STATIC);
	if (r->master_id != NULL)
		sqlite3_bind_text(st, 15, o, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 16, r->all_day);
	sqlite3_bind_int(st, 17, r->organizer);
	sqlite3_bind_text(st, 18, r->organizer_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, r->attendees_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 20, r->response, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 21, NO_TIME, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 22, r->location_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 23, r->recurrence_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, r->show_as, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 25, r->sensitivity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 26, r->importance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 27, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 28, ck, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(err, errlen,
		    "storing the event failed: %s", sqlite3_errmsg(sim->db));
	record_change(sim, r->user_id, r->id, "upsert");
	return 0;
}

/* The body of a spec: a string (text unless bodyType says html) or {"contentType","content"}. */
static void
spec_body(json_t *spec, const char **type, const char **content)
{
	json_t *b = json_object_get(spec, "body");

	*type = "text";
	*content = "";
	if (json_is_object(b)) {
		*content = str(b, "content") ? str(b, "content") : "";
		*type = str(b, "contentType") && strcasecmp(str(b, "contentType"), "html") == 0 ?
		    "html" : "text";
	} else if (json_is_string(b)) {
		*content = json_string_value(b);
		*type = str(spec, "bodyType") && strcasecmp(str(spec, "bodyType"), "html") == 0 ?
		    "html" : "text";
	}
}

static json_t *
spec_location(json_t *loc)
{
	if (json_is_string(loc))
		return json_pack("{s:s,s:s,s:s,s:s,s:{},s:{}}", "displayName",
		    json_string_value(loc), "locationType", "default", "uniqueId",
		    json_string_value(loc), "uniqueIdType", "private", "address", "coordinates");
	if (json_is_object(loc) && json_is_string(json_object_get(loc, "displayName"))) {
		json_t *l = json_deep_copy(loc);

		if (json_object_get(l, "locationType") == NULL)
			json_object_set_new(l, "locationType", json_string("default"));
		if (json_object_get(l, "uniqueIdType") == NULL)
			json_object_set_new(l, "uniqueIdType", json_string("private"));
		if (json_object_get(l, "address") == NULL)
			json_object_set_new(l, "address", json_object());
		if (json_object_get(l, "coordinates") == NULL)
			json_object_set_new(l, "coordinates", json_object());
		return l;
	}
	return NULL;
}

static int
check_choice(json_t *spec, const char *key, const char *const *allowed, size_t n,
    const char *dflt, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(spec, key);

	*out = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || one_of(json_string_value(v), allowed, n) < 0)
		return err_set(err, errlen, "%s: unknown value", key);
	*out = json_string_value(v);
	return 0;
}

int
graph_calendar_create(struct graph_sim *sim, json_t *spec, json_t **result, char *err,
    size_t errlen)
{
	static const char *const show_as[] = { "free", "tentative", "busy", "oof",
		"workingElsewhere", "unknown" };
	static const char *const sensitivities[] = { "normal", "personal", "private",
		"confidential" };
	static const char *const importances[] = { "low", "normal", "high" };
	static const char *const att_types[] = { "required", "optional", "resource" };
	char org_addr[256], org_name[256], stz[GRAPH_TZ_NAME_MAX], etz[GRAPH_TZ_NAME_MAX];
	char uid[120], *org_text = NULL, *att_text = NULL, *loc_text = NULL, *rec_text = NULL;
	char *preview = NULL;
	const char *subject, *btype, *body, *showas, *sens, *imp;
	long long start, end, lstart, lend, tod, *days = NULL;
	struct graph_user org_user, *copies = NULL;
	int org_tenant, ncopies = 0, ndays = 0, all_day, rc = -1, saved = 0;
	json_t *attendees, *a, *loc = NULL, *rec_norm = NULL, *notes = NULL, *copies_json = NULL;
	struct recurrence rec;
	size_t i;

	*result = NULL;
	if (!json_is_object(spec))
		return err_set(err, errlen, "an event is a JSON object");
	if (parse_address(json_object_get(spec, "organizer"), org_addr, sizeof(org_addr),
	    org_name, sizeof(org_name)) < 0)
		return err_set(err, errlen, "organizer must be an email address");
	subject = str(spec, "subject") ? str(spec, "subject") : "";
	if (json_object_get(spec, "subject") != NULL && !json_is_string(json_object_get(spec,
	    "subject")))
		return err_set(err, errlen, "subject must be a string");
	if (parse_when(json_object_get(spec, "start"), "start", "UTC", &start, stz, sizeof(stz),
	    &lstart, err, errlen) < 0)
		return -1;
	if (parse_when(json_object_get(spec, "end"), "end", stz, &end, etz, sizeof(etz), &lend,
	    err, errlen) < 0)
		return -1;
	if (end < start)
		return err_set(err, errlen, "end is before start");
	all_day = json_is_true(json_object_get(spec, "isAllDay"));
	tod = lstart - day_of(lstart) * 86400;
	if (all_day && (tod != 0 || lend - day_of(lend) * 86400 != 0 || lend <= lstart))
		return err_set(err, errlen,
		    "an all-day event starts and ends at midnight, at least "
		    "a day apart");
	if (check_choice(spec, "showAs", show_as, 6, "busy", &showas, err, errlen) < 0 ||
	    check_choice(spec, "sensitivity", sensitivities, 4, "normal", &sens, err,
	    errlen) < 0 ||
	    check_choice(spec, "importance", importances, 3, "normal", &imp, err, errlen) < 0)
		return -1;
	if (json_object_get(spec, "location") != NULL &&
	    (loc = spec_location(json_object_get(spec, "location"))) == NULL)
		return err_set(err, errlen, "location is a string or {\"displayName\":..}");
	if (loc == NULL)
		loc = json_pack("{s:s,s:s,s:s,s:{},s:{}}", "displayName", "", "locationType",
		    "default", "uniqueIdType", "unknown", "address", "coordinates");
	spec_body(spec, &btype, &body);

	if (json_object_get(spec, "recurrence") != NULL &&
	    !json_is_null(json_object_get(spec, "recurrence"))) {
		if (parse_recurrence(json_object_get(spec, "recurrence"), day_of(lstart), stz, &rec,
		    &rec_norm, err, errlen) < 0)
			goto out;
		days = xcalloc(CAL_MAX_INSTANCES, sizeof(*days));
		if ((ndays = expand(&rec, days)) == 0) {
			err_set(err, errlen, "the recurrence has no occurrence");
			goto out;
		}
		if (ndays == CAL_MAX_INSTANCES)
			log_info("graph-calendar: series cut at %d instances", CAL_MAX_INSTANCES);
	}

	/* Who gets a copy: a tenant organizer, then every tenant attendee with a mailbox. */
	copies = xcalloc(CAL_MAX_ATTENDEES + 1, sizeof(*copies));
	org_tenant = tenant_user(sim, org_addr, &org_user) && org_user.has_mailbox;
	if (org_tenant)
		copies[ncopies++] = org_user;
	if (org_name[0] == '\0')
		snprintf(org_name, sizeof(org_name), "%s", org_tenant &&
		    org_user.display_name[0] ? org_user.display_name : org_addr);
	attendees = json_array();
	json_array_foreach(json_object_get(spec, "attendees"), i, a) {
		char addr[256], name[256];
		const char *type = "required";
		struct graph_user u;
		json_t *e;
		size_t k;
		int dup;

		if (parse_address(a, addr, sizeof(addr), name, sizeof(name)) < 0) {
			json_decref(attendees);
			err_set(err, errlen, "attendees[%zu] must be an email address", i);
			goto out;
		}
		if (json_is_object(a) && str(a, "type") != NULL) {
			type = str(a, "type");
			if (one_of(type, att_types, 3) < 0) {
				json_decref(attendees);
				err_set(err, errlen,
				    "attendees[%zu].type must be required, optional or "
				    "resource", i);
				goto out;
			}
		}
		dup = strcasecmp(addr, org_addr) == 0;
		json_array_foreach(attendees, k, e)
			if (strcasecmp(str(json_object_get(e, "emailAddress"), "address"), addr) == 0)
				dup = 1;
		if (dup)
			continue;
		if (json_array_size(attendees) >= CAL_MAX_ATTENDEES) {
			json_decref(attendees);
			err_set(err, errlen, "at most %d attendees", CAL_MAX_ATTENDEES);
			goto out;
		}
		if (tenant_user(sim, addr, &u) && u.has_mailbox) {
			int have = 0;

			for (int c = 0; c < ncopies; c++)
				if (strcmp(copies[c].id, u.id) == 0)
					have = 1;
			if (!have)
				copies[ncopies++] = u;
			if (name[0] == '\0' && u.display_name[0] != '\0')
				snprintf(name, sizeof(name), "%s", u.display_name);
		}
		json_array_append_new(attendees, json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s}}", "type",
		    type, "status", "response", "none", "time", NO_TIME, "emailAddress", "name",
		    name[0] ? name : addr, "address", addr));
	}
	if (json_object_get(spec, "attendees") != NULL &&
	    !json_is_array(json_object_get(spec, "attendees"))) {
		json_decref(attendees);
		err_set(err, errlen, "attendees must be an array");
		goto out;
	}
	if (ncopies == 0) {
		json_decref(attendees);
		err_set(err, errlen, "neither the organizer nor any attendee is a tenant mailbox");
		goto out;
	}
	att_text = json_dumps(attendees, JSON_COMPACT);
	json_decref(attendees);
	{
		json_t *o = json_pack("{s:{s:s,s:s}}", "emailAddress", "name", org_name,
		    "address", org_addr);

		org_text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	loc_text = json_dumps(loc, JSON_COMPACT);
	rec_text = rec_norm ? json_dumps(rec_norm, JSON_COMPACT) : NULL;
	preview = body_preview(btype, body);

	if (str(spec, "iCalUId") != NULL) {
		sqlite3_stmt *st = db_prepare(sim->db, "SELECT 1 FROM g_event WHERE uid = ?1 OR"
		    " ical_uid = ?1 LIMIT 1");
		int taken;

		sqlite3_bind_text(st, 1, str(spec, "iCalUId"), -1, SQLITE_STATIC);
		taken = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (taken || strlen(str(spec, "iCalUId")) < 8 ||
		    strlen(str(spec, "iCalUId")) >= sizeof(uid)) {
			err_set(err, errlen, "iCalUId is taken or not 8..119 characters");
			goto out;
		}
		snprintf(uid, sizeof(uid), "%s", str(spec, "iCalUId"));
	} else {
		new_goid(uid);
	}

	if (db_savepoint(sim->db, CAL_SAVEPOINT) < 0) {
		err_set(err, errlen, "the store is busy");
		goto out;
	}
	saved = 1;
	notes = json_object();
	copies_json = json_array();
	for (int c = 0; c < ncopies; c++) {
		struct newrow r;
		int is_org = org_tenant && c == 0;

		memset(&r, 0, sizeof(r));
		new_id(r.id);
		r.user_id = copies[c].id;
		r.uid = uid;
		r.subject = subject;
		r.body_type = btype;
		r.body = body;
		r.preview = preview;
		r.start_tz = stz;
		r.end_tz = etz;
		r.all_day = all_day;
		r.organizer = is_org;
		r.organizer_json = org_text;
		r.attendees_json = att_text;
		r.response = is_org ? "organizer" : "none";
		r.location_json = loc_text;
		r.show_as = is_org ? showas : "tentative";
		r.sensitivity = sens;
		r.importance = imp;
		snprintf(r.ical_uid, sizeof(r.ical_uid), "%s", uid);
		if (ndays == 0) {
			r.type = "singleInstance";
			r.start = start;
			r.end = end;
			if (insert_row(sim, &r, err, errlen) < 0)
				goto out;
		} else {
			struct newrow o;
			char master_id[96];

			/* The master spans the first occurrence, as Graph shows it. */
			r.type = "seriesMaster";
			r.recurrence_json = rec_text;
			graph_tz_to_utc(stz, days[0] * 86400 + tod, &r.start);
			r.end = r.start + (end - start);
			if (strcmp(stz, etz) == 0)
				graph_tz_to_utc(etz, days[0] * 86400 + tod + (lend - lstart),
				    &r.end);
			if (insert_row(sim, &r, err, errlen) < 0)
				goto out;
			snprintf(master_id, sizeof(master_id), "%s", r.id);
			for (int k = 0; k < ndays; k++) {
				long long ls = days[k] * 86400 + tod;

				o = r;
				new_id(o.id);
				o.type = "occurrence";
				o.master_id = master_id;
				o.recurrence_json = NULL;
				occurrence_goid(uid, days[k], o.ical_uid);
				graph_tz_to_utc(stz, ls, &o.start);
				if (strcmp(stz, etz) == 0)
					graph_tz_to_utc(etz, ls + (lend - lstart), &o.end);
				else
					o.end = o.start + (end - start);
				o.original_start = o.start;
				if (insert_row(sim, &o, err, errlen) < 0)
					goto out;
			}
		}
		note(notes, copies[c].id, r.id, "created");
		json_array_append_new(copies_json, json_pack("{s:s,s:s,s:i}", "user",
		    copies[c].upn, "id", r.id, "instances", ndays ? ndays : 1));
	}
	if (db_release(sim->db, CAL_SAVEPOINT) < 0) {
		err_set(err, errlen, "the store refused the event");
		goto out;
	}
	saved = 0;
	send_notes(sim, notes);
	*result = json_pack("{s:s,s:s,s:o}", "uid", uid, "iCalUId", uid, "copies", copies_json);
	copies_json = NULL;
	log_info("graph-calendar: meeting created copies=%d instances=%d", ncopies,
	    ndays ? ndays : 1);
	rc = 0;
out:
	if (saved) {
		json_decref(copies_json);
		db_rollback_to(sim->db, CAL_SAVEPOINT);
	}
	json_decref(notes);
	json_decref(loc);
	json_decref(rec_norm);
	free(days);
	free(copies);
	free(org_text);
	free(att_text);
	free(loc_text);
	free(rec_text);
	free(preview);
	return rc;
}

/* Changes to existing meetings ---------------------------------------------------------------*/

struct evrow {
	char *id, *user_id, *uid, *master_id, *type, *subject, *body_type, *body, *preview;
	char *start_tz, *end_tz, *attendees, *response, *response_time, *location, *show_as;
	long long start, end, original_start;
	int all_day, cancelled, organizer, deleted, dirty;
};

static char *
dup_col(sqlite3_stmt *st, int i)
{
	return col(st, i) ? xstrdup(col(st, i)) : NULL;
}

static void
rows_free(struct evrow *rows, int n)
{
	for (int i = 0; i < n; i++) {
		struct evrow *r = &rows[i];

		free(r->id);
		free(r->user_id);
		free(r->uid);
		free(r->master_id);
		free(r->type);
		free(r->subject);
		free(r->body_type);
		free(r->body);
		free(r->preview);
		free(r->start_tz);
		free(r->end_tz);
		free(r->attendees);
		free(r->response);
		free(r->response_time);
		free(r->location);
		free(r->show_as);
	}
	free(rows);
}

/* The live rows of a meeting found by uid, or by one occurrence's iCalUId (then *occ_start
 * is that occurrence's original start). Caller frees with rows_free. */
static struct evrow *
rows_load(struct graph_sim *sim, const char *key, int *n, long long *occ_start)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT uid, original_start FROM g_event WHERE"
	    " ical_uid = ? AND uid <> ical_uid LIMIT 1");
	struct evrow *rows = NULL;
	char *uid = xstrdup(key);
	int cap = 0;

	*n = 0;
	*occ_start = 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		free(uid);
		uid = xstrdup(col(st, 0));
		*occ_start = utc_parse(col(st, 1));
	}
	sqlite3_finalize(st);
	st = db_prepare(sim->db, "SELECT " EV_COLS " FROM g_event WHERE uid = ? AND deleted = 0"
	    " ORDER BY user_id, start_utc");
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct evrow *r;

		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, (size_t)cap * sizeof(*rows));
		}
		r = &rows[(*n)++];
		memset(r, 0, sizeof(*r));
		r->id = dup_col(st, C_ID);
		r->user_id = dup_col(st, C_USER);
		r->uid = dup_col(st, C_UID);
		r->master_id = dup_col(st, C_MASTER);
		r->type = dup_col(st, C_TYPE);
		r->subject = dup_col(st, C_SUBJECT);
		r->body_type = dup_col(st, C_BODY_TYPE);
		r->body = dup_col(st, C_BODY);
		r->preview = dup_col(st, C_PREVIEW);
		r->start_tz = dup_col(st, C_START_TZ);
		r->end_tz = dup_col(st, C_END_TZ);
		r->attendees = dup_col(st, C_ATT_JSON);
		r->response = dup_col(st, C_RESPONSE);
		r->response_time = dup_col(st, C_RESP_TIME);
		r->location = dup_col(st, C_LOC_JSON);
		r->show_as = dup_col(st, C_SHOW_AS);
		r->start = utc_parse(col(st, C_START));
		r->end = utc_parse(col(st, C_END));
		r->original_start = col(st, C_ORIG_START) ? utc_parse(col(st, C_ORIG_START)) : 0;
		r->all_day = sqlite3_column_int(st, C_ALL_DAY);
		r->cancelled = sqlite3_column_int(st, C_CANCELLED);
		r->organizer = sqlite3_column_int(st, C_ORGANIZER);
		if (r->start_tz == NULL)
			r->start_tz = xstrdup("UTC");
		if (r->end_tz == NULL)
			r->end_tz = xstrdup(r->start_tz);
	}
	sqlite3_finalize(st);
	free(uid);
	return rows;
}

static void
set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

/* Writes a changed row back, with a new changeKey and lastModifiedDateTime. */
static void
row_save(struct graph_sim *sim, struct evrow *r)
{
	sqlite3_stmt *st = db_prepare(sim->db, "UPDATE g_event SET type = ?, subject = ?,"
	    " body_type = ?, body = ?, body_preview = ?, start_utc = ?, end_utc = ?,"
	    " is_cancelled = ?, attendees_json = ?, response = ?, response_time = ?,"
	    " location_json = ?, show_as = ?, deleted = ?, modified = ?, change_key = ?"
	    " WHERE id = ?");
	char s[32], e[32], now[40], ck[48];

	utc_text(r->start, s);
	utc_text(r->end, e);
	now_iso7(now);
	new_change_key(ck);
	sqlite3_bind_text(st, 1, r->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->body_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->preview, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, e, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, r->cancelled);
	sqlite3_bind_text(st, 9, r->attendees, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->response, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->response_time, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->location, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->show_as, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, r->deleted);
	sqlite3_bind_text(st, 15, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, ck, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("graph-calendar: event not updated reason=\"%s\"",
		    sqlite3_errmsg(sim->db));
	sqlite3_finalize(st);
	record_change(sim, r->user_id, r->id, r->deleted ? "removed" : "upsert");
}

/* Saves every dirty row inside the open savepoint, releases it, and only then notifies (a
 * change not kept is not heard): occurrences notify as their series master (Exchange keeps
 * exceptions inside the master item). *changed and *removed count the rows. -1 with err,
 * rolled back, when the store refuses the what. */
static int
rows_keep(struct graph_sim *sim, struct evrow *rows, int n, int *changed, int *removed,
    const char *what, char *err, size_t errlen)
{
	json_t *notes = json_object();

	for (int i = 0; i < n; i++) {
		struct evrow *r = &rows[i];

		if (!r->dirty)
			continue;
		row_save(sim, r);
		if (r->deleted)
			(*removed)++;
		else
			(*changed)++;
		if (r->master_id != NULL)
			note(notes, r->user_id, r->master_id, "updated");
		else
			note(notes, r->user_id, r->id, r->deleted ? "deleted" : "updated");
	}
	if (db_release(sim->db, CAL_SAVEPOINT) < 0) {
		db_rollback_to(sim->db, CAL_SAVEPOINT);
		json_decref(notes);
		return err_set(err, errlen, "the store refused the %s", what);
	}
	send_notes(sim, notes);
	json_decref(notes);
	return 0;
}

/* Which instance "occurrence" names: an ISO instant (with an offset), a wall time in the
 * meeting's zone, or a date (the occurrence that day). Matched on original starts. */
static int
occurrence_matches(const struct evrow *r, const char *occ, long long occ_start)
{
	long long v, local;
	int has_off;

	if (r->master_id == NULL)
		return 0;
	if (occ == NULL)
		return r->original_start == occ_start;
	if (graph_tz_parse_iso(occ, &v, &has_off) < 0)
		return 0;
	if (strlen(occ) == 10) {
		graph_tz_from_utc(r->start_tz, r->original_start, &local);
		return day_of(local) == day_of(v);
	}
	if (!has_off)
		graph_tz_to_utc(r->start_tz, v, &v);
	return r->original_start == v || r->start == v;
}

/* Marks in sel the rows an occurrence names (see occurrence_matches; with occ NULL, the one
 * occ_start names; with neither, every row). Returns how many, or -1 with err when occ is not an
 * ISO date or date-time. */
static int
select_occurrence(const struct evrow *rows, int n, const char *occ, long long occ_start,
    int *sel, char *err, size_t errlen)
{
	int count = 0;

	if (occ != NULL) {
		long long v;
		int off;

		if (graph_tz_parse_iso(occ, &v, &off) < 0)
			return err_set(err, errlen,
			    "occurrence \"%s\" is not an ISO date or date-time",
			    occ);
	}
	for (int i = 0; i < n; i++) {
		sel[i] = occ == NULL && occ_start == 0 ? 1 :
		    occurrence_matches(&rows[i], occ, occ_start);
		count += sel[i];
	}
	return count;
}

/* Selects the rows a change applies to: every row, or one occurrence's across all copies.
 * -1 with err when the occurrence is malformed or not there. */
static int
select_rows(struct evrow *rows, int n, json_t *spec, long long occ_start, int *sel,
    char *err, size_t errlen)
{
	const char *occ = str(spec, "occurrence");
	int count;

	if (json_object_get(spec, "occurrence") != NULL && occ == NULL)
		return err_set(err, errlen, "occurrence is an ISO date or date-time");
	if ((count = select_occurrence(rows, n, occ, occ_start, sel, err, errlen)) < 0)
		return -1;
	if (count == 0)
		return err_set(err, errlen, "the meeting has no such occurrence");
	return 0;
}

/* Sets address's status in a copy's attendees list; 1 when it is there. */
static int
set_attendee_status(struct evrow *r, const char *const *addrs, const char *response,
    const char *when)
{
	json_t *list = r->attendees ? json_loads(r->attendees, 0, NULL) : NULL, *a;
	size_t i;
	int hit = 0;

	json_array_foreach(list, i, a) {
		const char *addr = str(json_object_get(a, "emailAddress"), "address");

		for (int k = 0; addr != NULL && addrs[k] != NULL; k++) {
			if (addrs[k][0] != '\0' && strcasecmp(addr, addrs[k]) == 0) {
				json_object_set_new(a, "status", json_pack("{s:s,s:s}", "response",
				    response, "time", when));
				hit = 1;
				break;
			}
		}
	}
	if (hit) {
		free(r->attendees);
		r->attendees = json_dumps(list, JSON_COMPACT);
	}
	json_decref(list);
	return hit;
}

int
graph_calendar_respond(struct graph_sim *sim, const char *uid, json_t *spec,
    json_t **result, char *err, size_t errlen)
{
	static const char *const answers[] = { "accepted", "tentativelyAccepted", "declined" };
	const char *who = str(spec, "user"), *response = str(spec, "response");
	const char *addrs[4] = { NULL, NULL, NULL, NULL };
	struct graph_user u;
	struct evrow *rows;
	long long occ_start;
	int n, *sel = NULL, rc = -1, changed = 0, removed = 0, is_attendee = 0, tenant;
	char when[40];

	*result = NULL;
	if (who == NULL || response == NULL || one_of(response, answers, 3) < 0)
		return err_set(err, errlen, "respond needs {\"user\":..,\"response\":\"accepted|"
		    "tentativelyAccepted|declined\"}");
	rows = rows_load(sim, uid, &n, &occ_start);
	if (n == 0) {
		err_set(err, errlen, "no meeting with uid or iCalUId \"%s\"", uid);
		goto out;
	}
	tenant = tenant_user(sim, who, &u);
	addrs[0] = who;
	addrs[1] = tenant ? u.upn : "";
	addrs[2] = tenant ? u.mail : "";
	sel = xcalloc((size_t)n, sizeof(*sel));
	if (select_rows(rows, n, spec, occ_start, sel, err, errlen) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (tenant && strcmp(rows[i].user_id, u.id) == 0 && rows[i].organizer) {
			err_set(err, errlen, "%s organizes this meeting", who);
			goto out;
		}
	now_iso7(when);
	if (db_savepoint(sim->db, CAL_SAVEPOINT) < 0) {
		err_set(err, errlen, "the store is busy");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct evrow *r = &rows[i];

		if (!sel[i])
			continue;
		if (set_attendee_status(r, addrs, response, when)) {
			is_attendee = 1;
			r->dirty = 1;
		}
		if (tenant && strcmp(r->user_id, u.id) == 0) {
			set_str(&r->response, response);
			set_str(&r->response_time, when);
			set_str(&r->show_as, strcmp(response, "accepted") == 0 ? "busy" :
			    strcmp(response, "declined") == 0 ? "free" : "tentative");
			r->dirty = 1;
		}
	}
	if (!is_attendee) {
		db_rollback_to(sim->db, CAL_SAVEPOINT);
		err_set(err, errlen, "%s is not an attendee of this meeting", who);
		goto out;
	}
	if (rows_keep(sim, rows, n, &changed, &removed, "response", err, errlen) < 0)
		goto out;
	*result = json_pack("{s:s,s:s,s:i}", "uid", rows[0].uid, "response", response,
	    "updated", changed);
	rc = 0;
out:
	free(sel);
	rows_free(rows, n);
	return rc;
}

/* A new time for one row: start moved to new_start, the length set to dur (seconds of wall
 * clock in the row's zone when it has one zone). */
static void
reschedule_row(struct evrow *r, long long new_local_start, long long wall_dur, long long abs_dur)
{
	graph_tz_to_utc(r->start_tz, new_local_start, &r->start);
	if (strcmp(r->start_tz, r->end_tz) == 0)
		graph_tz_to_utc(r->end_tz, new_local_start + wall_dur, &r->end);
	else
		r->end = r->start + abs_dur;
}

int
graph_calendar_update(struct graph_sim *sim, const char *uid, json_t *spec,
    json_t **result, char *err, size_t errlen)
{
	json_t *jstart = json_object_get(spec, "start"), *jend = json_object_get(spec, "end");
	json_t *jcancel = json_object_get(spec, "isCancelled"), *loc = NULL;
	const char *subject = str(spec, "subject");
	struct evrow *rows, *ref = NULL;
	long long occ_start, ns = 0, ne = 0, ls = 0, le = 0;
	int n, *sel = NULL, rc = -1, changed = 0, removed = 0, retime, series = 0;
	char tz[GRAPH_TZ_NAME_MAX], *loc_text = NULL;

	*result = NULL;
	rows = rows_load(sim, uid, &n, &occ_start);
	if (n == 0) {
		err_set(err, errlen, "no meeting with uid or iCalUId \"%s\"", uid);
		goto out;
	}
	if (!json_is_object(spec) || (jcancel != NULL && !json_is_true(jcancel))) {
		err_set(err, errlen, "isCancelled can only be set to true");
		goto out;
	}
	if (json_object_get(spec, "subject") != NULL && subject == NULL) {
		err_set(err, errlen, "subject must be a string");
		goto out;
	}
	if (json_object_get(spec, "location") != NULL &&
	    (loc = spec_location(json_object_get(spec, "location"))) == NULL) {
		err_set(err, errlen, "location is a string or {\"displayName\":..}");
		goto out;
	}
	if (jstart == NULL && jend == NULL && jcancel == NULL && subject == NULL && loc == NULL) {
		err_set(err, errlen,
		    "nothing to change: start, end, subject, location or isCancelled");
		goto out;
	}
	sel = xcalloc((size_t)n, sizeof(*sel));
	if (select_rows(rows, n, spec, occ_start, sel, err, errlen) < 0)
		goto out;
	/* The reference row: the series master (or single instance), else the occurrence. */
	for (int i = 0; i < n; i++)
		if (sel[i] && (ref == NULL || rows[i].master_id == NULL))
			ref = &rows[i];
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): select_rows selected a row */
	series = ref->master_id == NULL && strcmp(ref->type, "seriesMaster") == 0;

	retime = jstart != NULL || jend != NULL;
	if (retime) {
		long long ref_ls, ref_le;

		graph_tz_from_utc(ref->start_tz, ref->start, &ref_ls);
		graph_tz_from_utc(ref->end_tz, ref->end, &ref_le);
		ns = ref->start;
		ls = ref_ls;
		if (jstart != NULL && parse_when(jstart, "start", ref->start_tz, &ns, tz,
		    sizeof(tz), &ls, err, errlen) < 0)
			goto out;
		/* A wall time given in another zone: the row's own zone reads it. */
		graph_tz_from_utc(ref->start_tz, ns, &ls);
		if (jend != NULL) {
			if (parse_when(jend, "end", ref->end_tz, &ne, tz, sizeof(tz), &le, err,
			    errlen) < 0)
				goto out;
			graph_tz_from_utc(ref->end_tz, ne, &le);
		} else {
			ne = ns + (ref->end - ref->start);
			le = ls + (ref_le - ref_ls);
			graph_tz_to_utc(ref->end_tz, le, &ne);
		}
		if (ne < ns) {
			err_set(err, errlen, "end is before start");
			goto out;
		}
		if (ref->all_day && (ls != day_of(ls) * 86400 || le != day_of(le) * 86400 ||
		    le <= ls)) {
			err_set(err, errlen, "an all-day event starts and ends at midnight");
			goto out;
		}
	}
	if (loc != NULL)
		loc_text = json_dumps(loc, JSON_COMPACT);

	if (db_savepoint(sim->db, CAL_SAVEPOINT) < 0) {
		err_set(err, errlen, "the store is busy");
		goto out;
	}
	{
		long long ref_ls;

		graph_tz_from_utc(ref->start_tz, ref->start, &ref_ls);
		for (int i = 0; i < n; i++) {
			struct evrow *r = &rows[i];

			if (!sel[i])
				continue;
			r->dirty = 1;
			/* One instance changed, whatever the change, is an exception; it keeps
			 * its iCalUId and originalStart (MS-OXOCAL 3.1.4.6.2, PidLidGlobalObjectId). */
			if (!series && strcmp(r->type, "occurrence") == 0)
				set_str(&r->type, "exception");
			if (retime) {
				long long my_ls;

				graph_tz_from_utc(r->start_tz, r->start, &my_ls);
				/* A series moves as a whole: every instance by the same wall-clock
				 * shift. */
				reschedule_row(r, series ? my_ls + (ls - ref_ls) : ls, le - ls,
				    ne - ns);
				if (!r->organizer) {
					/* A new time asks attendees again. */
					set_str(&r->response, "none");
					set_str(&r->response_time, NO_TIME);
					set_str(&r->show_as, "tentative");
				}
				{
					json_t *list = r->attendees ? json_loads(r->attendees, 0, NULL) :
					    NULL, *a;
					size_t k;

					json_array_foreach(list, k, a)
						json_object_set_new(a, "status", json_pack("{s:s,s:s}",
						    "response", "none", "time", NO_TIME));
					if (list != NULL) {
						free(r->attendees);
						r->attendees = json_dumps(list, JSON_COMPACT);
					}
					json_decref(list);
				}
			}
			if (subject != NULL)
				set_str(&r->subject, subject);
			if (loc_text != NULL)
				set_str(&r->location, loc_text);
			if (jcancel != NULL) {
				if (r->organizer) {
					/* The organizer's calendar drops a cancelled meeting. */
					r->deleted = 1;
				} else {
					r->cancelled = 1;
					set_str(&r->show_as, "free");
					if (strncmp(r->subject ? r->subject : "", "Canceled: ", 10) != 0) {
						char *s = xasprintf("Canceled: %s", r->subject ?
						    r->subject : "");

						free(r->subject);
						r->subject = s;
					}
				}
			}
		}
	}
	if (rows_keep(sim, rows, n, &changed, &removed, "update", err, errlen) < 0)
		goto out;
	*result = json_pack("{s:s,s:i,s:i}", "uid", rows[0].uid, "updated", changed, "removed",
	    removed);
	rc = 0;
out:
	json_decref(loc);
	free(loc_text);
	free(sel);
	rows_free(rows, n);
	return rc;
}

enum graph_cal_rc
graph_calendar_delete(struct graph_sim *sim, const char *uid, const char *who, const char *occ,
    json_t **result, char *err, size_t errlen)
{
	struct graph_user u;
	struct evrow *rows;
	long long occ_start;
	enum graph_cal_rc rc = GRAPH_CAL_NOT_FOUND;
	int n, *sel = NULL, mine = 0, organizer = 0, changed = 0, removed = 0;

	*result = NULL;
	rows = rows_load(sim, uid, &n, &occ_start);
	if (n == 0) {
		err_set(err, errlen, "no meeting with uid or iCalUId \"%s\"", uid);
		goto out;
	}
	if (!tenant_user(sim, who, &u)) {
		err_set(err, errlen, "no user \"%s\"", who);
		goto out;
	}
	sel = xcalloc((size_t)n, sizeof(*sel));
	if (select_occurrence(rows, n, occ, occ_start, sel, err, errlen) < 0) {
		rc = GRAPH_CAL_REFUSED;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		sel[i] = sel[i] && strcmp(rows[i].user_id, u.id) == 0;
		mine += sel[i];
		organizer |= sel[i] && rows[i].organizer;
	}
	if (mine == 0) {
		err_set(err, errlen, "%s has no copy of this %s", u.upn,
		    occ != NULL || occ_start != 0 ? "occurrence" : "meeting");
		goto out;
	}
	if (organizer) {
		/* Exchange sends attendees a cancellation when the organizer deletes a meeting. */
		json_t *spec = json_pack("{s:b}", "isCancelled", 1), *done = NULL;

		if (occ != NULL)
			json_object_set_new(spec, "occurrence", json_string(occ));
		rc = graph_calendar_update(sim, uid, spec, &done, err, errlen) < 0 ?
		    GRAPH_CAL_REFUSED : GRAPH_CAL_OK;
		json_decref(spec);
		if (rc == GRAPH_CAL_OK)
			*result = json_pack("{s:O,s:O,s:O}", "uid", json_object_get(done, "uid"),
			    "removed", json_object_get(done, "removed"), "cancelled",
			    json_object_get(done, "updated"));
		json_decref(done);
		goto out;
	}
	rc = GRAPH_CAL_REFUSED;
	if (db_savepoint(sim->db, CAL_SAVEPOINT) < 0) {
		err_set(err, errlen, "the store is busy");
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (sel[i])
			rows[i].deleted = rows[i].dirty = 1;
	if (rows_keep(sim, rows, n, &changed, &removed, "deletion", err, errlen) < 0)
		goto out;
	*result = json_pack("{s:s,s:i}", "uid", rows[0].uid, "removed", removed);
	log_info("graph-calendar: copy deleted user=%s removed=%d", u.id, removed);
	rc = GRAPH_CAL_OK;
out:
	free(sel);
	rows_free(rows, n);
	return rc;
}
