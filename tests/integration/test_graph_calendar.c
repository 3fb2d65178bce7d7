/* test_graph_calendar.c: graph-sim's calendars over HTTP against the real graph-sim binary:
 * the event resource's shape, calendarView window edges, recurring series expanded into
 * occurrences, Prefer: outlook.timezone, all-day events, calendarView delta (paging, responses,
 * reschedules out of the window, cancellations, bad and expired tokens), the errors Graph gives
 * (missing window, unknown and malformed ids, no Calendars permission), originalStart on
 * occurrences and exceptions, one user deleting a meeting from their calendar, and the meeting
 * specs the control API refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "graph_fixture.h"
#include "httpc.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define TENANT		"3f0c6a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d"
#define DOMAIN		"contoso.onmicrosoft.com"
#define APP		"6731de76-14a6-49ae-97bc-6eba6914391e"
#define APP_MAIL	"0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
#define APP_BASIC	"1c9a2b3d-4e5f-4061-9273-8495a6b7c8d9"
#define ALICE		"alice@" DOMAIN
#define BOB		"bob@" DOMAIN
#define CAROL		"carol@" DOMAIN
#define EXTERNAL	"pat@fabrikam.example"
#define PREFER_PST	"Prefer: outlook.timezone=\"Pacific Standard Time\""

static struct sim_proc sim;
static char token[8192];

static const char *const seed_text =
    "{\"tenant\":{\"id\":\"" TENANT "\",\"domain\":\"" DOMAIN "\"},"
    " \"apps\":[{\"clientId\":\"" APP "\",\"secret\":\"s1\","
    "   \"roles\":[\"User.Read.All\",\"Calendars.Read\"]},"
    "  {\"clientId\":\"" APP_MAIL "\",\"secret\":\"s2\",\"roles\":[\"Mail.Read\"]},"
    "  {\"clientId\":\"" APP_BASIC "\",\"secret\":\"s3\",\"roles\":[\"Calendars.ReadBasic.All\"]}],"
    " \"users\":[{\"userPrincipalName\":\"" ALICE "\",\"displayName\":\"Alice Adams\"},"
    "   {\"userPrincipalName\":\"" BOB "\",\"displayName\":\"Bob Brown\"},"
    "   {\"userPrincipalName\":\"" CAROL "\",\"displayName\":\"Carol Chen\"}]}";

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A control call that must answer want; its JSON body (caller decrefs). */
static json_t *
ctl(const char *method, const char *path, const char *body, long want)
{
	return sim_http_ctl(sim.base_url, method, path, body, want);
}

/* A token for client_id; caller frees. */
static char *
mint(const char *client_id)
{
	char t[sizeof(token)];

	graph_fixture_token(&sim, client_id, t, sizeof(t));
	return xstrdup(t);
}

struct reply {
	long status;
	json_t *json;
	char prefer_applied[256];
	char location[1024];
};

/* GET path (or an absolute link from the sim) with the test's token and an optional Prefer
 * header line. */
static void
get_as(const char *tok, const char *path, const char *prefer, struct reply *r)
{
	const char *headers[2] = { prefer, NULL };
	struct sim_http h;
	const char *v;

	if (strncmp(path, sim.base_url, strlen(sim.base_url)) == 0)
		path += strlen(sim.base_url);
	memset(r, 0, sizeof(*r));
	sim_http_do(&h, sim.base_url, "GET", path, NULL, tok, prefer ? headers : NULL);
	assert_int_equal(h.fail, HTTPC_OK);
	r->status = h.status;
	r->json = h.json ? json_incref(h.json) : json_null();
	if ((v = sim_http_header(&h, "Preference-Applied")) != NULL)
		snprintf(r->prefer_applied, sizeof(r->prefer_applied), "%s", v);
	if ((v = sim_http_header(&h, "Location")) != NULL)
		snprintf(r->location, sizeof(r->location), "%s", v);
	sim_http_free(&h);
}

/* A Graph GET that must answer want; its JSON body (caller decrefs). */
static json_t *
graph(const char *path, const char *prefer, long want)
{
	struct reply r;

	get_as(token, path, prefer, &r);
	if (r.status != want) {
		char *b = json_dumps(r.json, JSON_COMPACT | JSON_ENCODE_ANY);

		fail_msg("GET %s: status %ld, want %ld: %s", path, r.status, want, b);
	}
	return r.json;
}

/* A Graph error reply: status, code and (when msg is not NULL) the exact message. */
static void
graph_error(const char *tok, const char *path, long status, const char *code, const char *msg)
{
	struct reply r;
	json_t *e;

	get_as(tok, path, NULL, &r);
	if (r.status != status)
		fail_msg("GET %s: status %ld, want %ld", path, r.status, status);
	e = json_object_get(r.json, "error");
	if (str(e, "code") == NULL || strcmp(str(e, "code"), code) != 0)
		fail_msg("GET %s: code %s, want %s", path, str(e, "code") ? str(e, "code") : "none",
		    code);
	if (msg != NULL && strcmp(str(e, "message"), msg) != 0)
		fail_msg("GET %s: message \"%s\", want \"%s\"", path, str(e, "message"), msg);
	assert_non_null(str(json_object_get(e, "innerError"), "request-id"));
	json_decref(r.json);
}

/* Creates a meeting; returns the control API's result (caller decrefs). */
static json_t *
meeting(const char *spec)
{
	return ctl("POST", "/_sim/events", spec, 201);
}

/* The id of user's copy in a create result (borrowed). */
static const char *
copy_id(json_t *created, const char *user)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(created, "copies"), i, c)
		if (strcasecmp(str(c, "user"), user) == 0)
			return str(c, "id");
	fail_msg("no copy for %s", user);
	return NULL;
}

/* Every instance of user's calendarView in the window, following nextLinks. Caller decrefs. */
static json_t *
view(const char *user, const char *start, const char *end, const char *prefer)
{
	char path[1024];
	json_t *all = json_array(), *page;
	char *next = NULL;

	snprintf(path, sizeof(path), "/v1.0/users/%s/calendarView?startDateTime=%s&"
	    "endDateTime=%s", user, start, end);
	for (int guard = 0; guard < 100; guard++) {
		page = graph(next ? next : path, prefer, 200);
		json_array_extend(all, json_object_get(page, "value"));
		free(next);
		next = str(page, "@odata.nextLink") ? xstrdup(str(page, "@odata.nextLink")) : NULL;
		json_decref(page);
		if (next == NULL)
			return all;
	}
	fail_msg("calendarView paging does not end");
	return NULL;
}

static int
fresh(void **state)
{
	(void)state;
	json_decref(graph_fixture_reseed(&sim, seed_text));
	graph_fixture_token(&sim, APP, token, sizeof(token));
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return graph_fixture_start(&sim, NULL, NULL, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	return graph_fixture_stop(&sim);
}

static int
matches(const char *re, const char *s)
{
	regex_t rx;
	int ok;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = s != NULL && regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

#define SINGLE_SPEC \
    "{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"," \
    " {\"address\":\"" EXTERNAL "\",\"name\":\"Pat External\",\"type\":\"optional\"}]," \
    " \"subject\":\"Quarterly review\",\"body\":\"<p>Agenda &amp; notes</p>\"," \
    " \"bodyType\":\"html\",\"location\":\"Room 4\",\"sensitivity\":\"private\"," \
    " \"start\":{\"dateTime\":\"2026-02-10T09:00:00\",\"timeZone\":\"Pacific Standard Time\"}," \
    " \"end\":{\"dateTime\":\"2026-02-10T10:00:00\",\"timeZone\":\"Pacific Standard Time\"}}"

/* ---- tests ---- */

static void
test_event_shape(void **state)
{
	json_t *created = meeting(SINGLE_SPEC), *ev, *att, *a;
	const char *uid = str(created, "iCalUId");
	char path[512];
	size_t i;

	(void)state;
	assert_non_null(uid);
	assert_int_equal(json_array_size(json_object_get(created, "copies")), 2);

	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE, copy_id(created, ALICE));
	ev = graph(path, NULL, 200);
	assert_string_equal(str(ev, "id"), copy_id(created, ALICE));
	assert_string_equal(str(ev, "iCalUId"), uid);
	assert_string_equal(str(ev, "subject"), "Quarterly review");
	assert_string_equal(str(ev, "type"), "singleInstance");
	assert_true(json_is_null(json_object_get(ev, "seriesMasterId")));
	/* Graph returns originalStart only for occurrences and exceptions. */
	assert_null(json_object_get(ev, "originalStart"));
	assert_true(json_is_null(json_object_get(ev, "recurrence")));
	assert_true(json_is_true(json_object_get(ev, "isOrganizer")));
	assert_true(json_is_false(json_object_get(ev, "isAllDay")));
	assert_true(json_is_false(json_object_get(ev, "isCancelled")));
	assert_string_equal(str(ev, "showAs"), "busy");
	assert_string_equal(str(ev, "sensitivity"), "private");
	assert_string_equal(str(ev, "originalStartTimeZone"), "Pacific Standard Time");
	assert_string_equal(str(json_object_get(ev, "location"), "displayName"), "Room 4");
	assert_string_equal(str(json_object_get(ev, "responseStatus"), "response"), "organizer");
	assert_string_equal(str(json_object_get(ev, "responseStatus"), "time"),
	    "0001-01-01T00:00:00Z");
	assert_string_equal(str(json_object_get(json_object_get(ev, "organizer"),
	    "emailAddress"), "address"), ALICE);
	assert_string_equal(str(json_object_get(json_object_get(ev, "organizer"),
	    "emailAddress"), "name"), "Alice Adams");
	assert_string_equal(str(json_object_get(ev, "body"), "contentType"), "html");
	assert_string_equal(str(ev, "bodyPreview"), "Agenda & notes");
	assert_true(matches("^W/\"", str(ev, "@odata.etag")));
	assert_true(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{7}Z$",
	    str(ev, "createdDateTime")));
	/* dateTimeTimeZone: seven fractional digits, no offset, UTC unless asked. */
	assert_string_equal(str(json_object_get(ev, "start"), "dateTime"),
	    "2026-02-10T17:00:00.0000000");
	assert_string_equal(str(json_object_get(ev, "start"), "timeZone"), "UTC");
	assert_string_equal(str(json_object_get(ev, "end"), "dateTime"),
	    "2026-02-10T18:00:00.0000000");
	att = json_object_get(ev, "attendees");
	assert_int_equal(json_array_size(att), 2);
	json_array_foreach(att, i, a) {
		assert_string_equal(str(json_object_get(a, "status"), "response"), "none");
		assert_string_equal(str(a, "type"), i == 0 ? "required" : "optional");
	}
	assert_string_equal(str(json_object_get(json_array_get(att, 1), "emailAddress"), "name"),
	    "Pat External");
	json_decref(ev);

	/* Bob's copy: the same meeting, another id, not his to organize. */
	snprintf(path, sizeof(path), "/v1.0/users/%s/calendar/events/%s", BOB,
	    copy_id(created, BOB));
	ev = graph(path, NULL, 200);
	assert_string_equal(str(ev, "iCalUId"), uid);
	assert_string_not_equal(str(ev, "id"), copy_id(created, ALICE));
	assert_true(json_is_false(json_object_get(ev, "isOrganizer")));
	assert_string_equal(str(json_object_get(ev, "responseStatus"), "response"), "none");
	json_decref(ev);

	/* $select keeps only what was asked (and id, @odata.*). */
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s?$select=subject,start", BOB,
	    copy_id(created, BOB));
	ev = graph(path, NULL, 200);
	assert_non_null(str(ev, "subject"));
	assert_non_null(json_object_get(ev, "start"));
	assert_non_null(str(ev, "id"));
	assert_null(json_object_get(ev, "attendees"));
	assert_null(json_object_get(ev, "end"));
	json_decref(ev);

	/* Someone else's event, a well-formed unknown id, a malformed id. */
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", CAROL, copy_id(created, BOB));
	graph_error(token, path, 404, "ErrorItemNotFound",
	    "The specified object was not found in the store.");
	graph_error(token, "/v1.0/users/" BOB "/events/AAMkAGI2TG93AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAA=", 404, "ErrorItemNotFound", NULL);
	graph_error(token, "/v1.0/users/" BOB "/events/123", 400, "ErrorInvalidIdMalformed",
	    "Id is malformed.");
	graph_error(token, "/v1.0/users/" BOB "/calendarGroups", 400, "BadRequest", NULL);
	json_decref(created);
}

static void
test_window_edges(void **state)
{
	static const struct {
		const char *start, *end;
		int in;
	} cases[] = {
		/* The meeting is 10:00-11:00Z. */
		{ "2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z", 0 },	/* ends at the start */
		{ "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 0 },	/* starts at the end */
		{ "2026-03-02T09:00:00Z", "2026-03-02T10:00:01Z", 1 },
		{ "2026-03-02T10:59:59Z", "2026-03-02T12:00:00Z", 1 },
		{ "2026-03-02T10:15:00Z", "2026-03-02T10:45:00Z", 1 },	/* inside */
		{ "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", 1 },
		/* No offset means UTC; an offset is honoured. */
		{ "2026-03-02T10:30:00", "2026-03-02T10:31:00", 1 },
		{ "2026-03-02T11:00:00%2B02:00", "2026-03-02T12:00:00%2B02:00", 0 },
		{ "2026-03-02T12:30:00%2B02:00", "2026-03-02T13:00:00%2B02:00", 1 },
		{ "2026-03-02T05:00:00-05:00", "2026-03-02T05:00:01-05:00", 1 },
	};
	json_t *created = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
	    "\"subject\":\"edge\",\"start\":\"2026-03-02T10:00:00Z\","
	    "\"end\":\"2026-03-02T11:00:00Z\"}");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = view(BOB, cases[i].start, cases[i].end, NULL);

		if ((int)json_array_size(v) != cases[i].in)
			fail_msg("window %s..%s: %zu instances, want %d", cases[i].start,
			    cases[i].end, json_array_size(v), cases[i].in);
		json_decref(v);
	}
	json_decref(created);
}

static void
test_window_errors(void **state)
{
	static const char *const missing = "This request requires a time window specified by "
	    "the query string parameters StartDateTime and EndDateTime.";
	static const struct {
		const char *path;
		const char *msg;	/* exact, or NULL */
	} cases[] = {
		{ "/v1.0/users/" BOB "/calendarView", missing },
		{ "/v1.0/users/" BOB "/calendarView?startDateTime=2026-03-01T00:00:00Z", missing },
		{ "/v1.0/users/" BOB "/calendarView?endDateTime=2026-03-01T00:00:00Z", missing },
		{ "/v1.0/users/" BOB "/calendar/calendarView", missing },
		{ "/v1.0/users/" BOB "/calendarView/delta", missing },
		{ "/v1.0/users/" BOB "/calendarView/delta?startDateTime=2026-03-01T00:00:00Z",
		    missing },
		{ "/v1.0/users/" BOB "/calendarView?startDateTime=yesterday&"
		    "endDateTime=2026-03-01T00:00:00Z", NULL },
		{ "/v1.0/users/" BOB "/calendarView?startDateTime=2026-03-02T00:00:00Z&"
		    "endDateTime=2026-03-01T00:00:00Z", NULL },
		{ "/v1.0/users/" BOB "/calendarView?startDateTime=2026-02-30T00:00:00Z&"
		    "endDateTime=2026-03-01T00:00:00Z", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		graph_error(token, cases[i].path, 400, "ErrorInvalidParameter", cases[i].msg);
	/* Bad options on a good window. */
	graph_error(token, "/v1.0/users/" BOB "/calendarView?startDateTime=2026-03-01T00:00:00Z&"
	    "endDateTime=2026-03-02T00:00:00Z&$top=0", 400, "BadRequest", NULL);
	graph_error(token, "/v1.0/users/" BOB "/calendarView?startDateTime=2026-03-01T00:00:00Z&"
	    "endDateTime=2026-03-02T00:00:00Z&$orderby=color", 400, "RequestBroker--ParseUri",
	    NULL);
}

static void
test_recurring_series(void **state)
{
	json_t *created = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
	    "\"subject\":\"Weekly sync\","
	    "\"start\":{\"dateTime\":\"2026-01-05T09:00:00\",\"timeZone\":\"Pacific Standard Time\"},"
	    "\"end\":{\"dateTime\":\"2026-01-05T09:30:00\",\"timeZone\":\"Pacific Standard Time\"},"
	    "\"recurrence\":{\"pattern\":{\"type\":\"weekly\",\"interval\":1,"
	    "\"daysOfWeek\":[\"monday\"]},\"range\":{\"type\":\"numbered\","
	    "\"startDate\":\"2026-01-05\",\"numberOfOccurrences\":4}}}");
	static const char *const starts[] = { "2026-01-05T17:00:00.0000000",
		"2026-01-12T17:00:00.0000000", "2026-01-19T17:00:00.0000000",
		"2026-01-26T17:00:00.0000000" };
	static const char *const original[] = { "2026-01-05T17:00:00Z", "2026-01-12T17:00:00Z",
		"2026-01-19T17:00:00Z", "2026-01-26T17:00:00Z" };
	const char *uid = str(created, "iCalUId"), *master = copy_id(created, BOB);
	json_t *v, *ev, *m, *list;
	char path[512];
	size_t i, masters = 0;

	(void)state;
	v = view(BOB, "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 4);
	json_array_foreach(v, i, ev) {
		assert_string_equal(str(ev, "type"), "occurrence");
		assert_string_equal(str(ev, "seriesMasterId"), master);
		assert_string_equal(str(json_object_get(ev, "start"), "dateTime"), starts[i]);
		/* Where the series put it: an instant in UTC, whatever the zone of the reply. */
		assert_string_equal(str(ev, "originalStart"), original[i]);
		/* Each occurrence its own iCalUId, none the series'. */
		assert_string_not_equal(str(ev, "iCalUId"), uid);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(str(ev, "iCalUId"),
			    str(json_array_get(v, k), "iCalUId"));
		assert_string_not_equal(str(ev, "id"), master);
	}
	json_decref(v);

	/* The master: by id, with its recurrence; listed by /events, never by calendarView. */
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, master);
	m = graph(path, NULL, 200);
	assert_string_equal(str(m, "type"), "seriesMaster");
	assert_string_equal(str(m, "iCalUId"), uid);
	assert_null(json_object_get(m, "originalStart"));
	assert_string_equal(str(json_object_get(json_object_get(m, "recurrence"), "pattern"),
	    "type"), "weekly");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(m,
	    "recurrence"), "range"), "numberOfOccurrences")), 4);
	json_decref(m);
	list = graph("/v1.0/users/" BOB "/events", NULL, 200);
	json_array_foreach(json_object_get(list, "value"), i, ev) {
		assert_string_not_equal(str(ev, "type"), "occurrence");
		masters += strcmp(str(ev, "type"), "seriesMaster") == 0;
	}
	assert_int_equal(masters, 1);
	json_decref(list);
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s/instances?startDateTime="
	    "2026-01-10T00:00:00Z&endDateTime=2026-02-01T00:00:00Z", BOB, master);
	list = graph(path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(list, "value")), 3);
	json_decref(list);
	json_decref(created);

	/* A daily series across New York's spring change keeps its wall-clock time. */
	created = meeting("{\"organizer\":\"" CAROL "\",\"subject\":\"Standup\","
	    "\"start\":{\"dateTime\":\"2026-03-06T09:00:00\",\"timeZone\":\"America/New_York\"},"
	    "\"end\":{\"dateTime\":\"2026-03-06T09:15:00\",\"timeZone\":\"America/New_York\"},"
	    "\"recurrence\":{\"pattern\":{\"type\":\"daily\",\"interval\":1},"
	    "\"range\":{\"type\":\"endDate\",\"startDate\":\"2026-03-06\","
	    "\"endDate\":\"2026-03-09\"}}}");
	{
		static const char *const utc[] = { "2026-03-06T14:00:00.0000000",
			"2026-03-07T14:00:00.0000000", "2026-03-08T13:00:00.0000000",
			"2026-03-09T13:00:00.0000000" };

		v = view(CAROL, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", NULL);
		assert_int_equal(json_array_size(v), 4);
		json_array_foreach(v, i, ev)
			assert_string_equal(str(json_object_get(ev, "start"), "dateTime"), utc[i]);
		json_decref(v);
		v = view(CAROL, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z",
		    "Prefer: outlook.timezone=\"Eastern Standard Time\"");
		json_array_foreach(v, i, ev) {
			assert_true(matches("T09:00:00\\.0000000$",
			    str(json_object_get(ev, "start"), "dateTime")));
			/* originalStart is always UTC. */
			assert_true(strncmp(str(ev, "originalStart"), utc[i], 19) == 0);
			assert_true(matches("Z$", str(ev, "originalStart")));
		}
		json_decref(v);
	}
	json_decref(created);

	/* A monthly series on the 31st falls on the last day of shorter months. */
	created = meeting("{\"organizer\":\"" CAROL "\",\"subject\":\"Close\","
	    "\"start\":\"2026-01-31T15:00:00Z\",\"end\":\"2026-01-31T16:00:00Z\","
	    "\"recurrence\":{\"pattern\":{\"type\":\"absoluteMonthly\",\"interval\":1,"
	    "\"dayOfMonth\":31},\"range\":{\"type\":\"numbered\",\"startDate\":\"2026-01-31\","
	    "\"numberOfOccurrences\":3}}}");
	v = view(CAROL, "2026-01-15T00:00:00Z", "2026-05-01T00:00:00Z", NULL);
	{
		static const char *const close[] = { "2026-01-31T15:00:00.0000000",
			"2026-02-28T15:00:00.0000000", "2026-03-31T15:00:00.0000000" };
		size_t n = 0;

		json_array_foreach(v, i, ev) {
			if (strcmp(str(ev, "subject"), "Close") != 0)
				continue;
			assert_true(n < 3);
			assert_string_equal(str(json_object_get(ev, "start"), "dateTime"),
			    close[n]);
			n++;
		}
		assert_int_equal(n, 3);
	}
	json_decref(v);
	json_decref(created);
}

static void
test_outlook_timezone(void **state)
{
	static const struct {
		const char *prefer;
		const char *start, *zone;
		int applied;
	} cases[] = {
		{ NULL, "2026-02-10T17:00:00.0000000", "UTC", 0 },
		{ PREFER_PST, "2026-02-10T09:00:00.0000000", "Pacific Standard Time", 1 },
		{ "Prefer: outlook.timezone=\"America/Los_Angeles\"", "2026-02-10T09:00:00.0000000",
		    "America/Los_Angeles", 1 },
		{ "Prefer: outlook.timezone=\"W. Europe Standard Time\"",
		    "2026-02-10T18:00:00.0000000", "W. Europe Standard Time", 1 },
		{ "Prefer: outlook.timezone=\"Europe/Berlin\"", "2026-02-10T18:00:00.0000000",
		    "Europe/Berlin", 1 },
		{ "Prefer: outlook.timezone=\"India Standard Time\"", "2026-02-10T22:30:00.0000000",
		    "India Standard Time", 1 },
		/* A zone nobody knows: UTC, and nothing applied. */
		{ "Prefer: outlook.timezone=\"Mars Standard Time\"", "2026-02-10T17:00:00.0000000",
		    "UTC", 0 },
	};
	json_t *created = meeting(SINGLE_SPEC);
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(created, BOB));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r;
		json_t *s;

		get_as(token, path, cases[i].prefer, &r);
		assert_int_equal(r.status, 200);
		s = json_object_get(r.json, "start");
		if (strcmp(str(s, "dateTime"), cases[i].start) != 0 ||
		    strcmp(str(s, "timeZone"), cases[i].zone) != 0)
			fail_msg("%s: start %s %s, want %s %s", cases[i].prefer ? cases[i].prefer :
			    "no Prefer", str(s, "dateTime"), str(s, "timeZone"), cases[i].start,
			    cases[i].zone);
		assert_string_equal(str(json_object_get(r.json, "end"), "timeZone"), cases[i].zone);
		if (cases[i].applied != (strstr(r.prefer_applied, "outlook.timezone") != NULL))
			fail_msg("%s: Preference-Applied \"%s\"", cases[i].prefer ? cases[i].prefer :
			    "no Prefer", r.prefer_applied);
		json_decref(r.json);
	}
	/* Summer: Berlin is two hours ahead. */
	json_decref(created);
	created = meeting("{\"organizer\":\"" ALICE "\",\"subject\":\"summer\","
	    "\"start\":{\"dateTime\":\"2026-07-01T09:00:00\",\"timeZone\":\"Europe/Berlin\"},"
	    "\"end\":{\"dateTime\":\"2026-07-01T10:00:00\",\"timeZone\":\"Europe/Berlin\"}}");
	{
		json_t *v = view(ALICE, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z", NULL);

		assert_int_equal(json_array_size(v), 1);
		assert_string_equal(str(json_object_get(json_array_get(v, 0), "start"),
		    "dateTime"), "2026-07-01T07:00:00.0000000");
		json_decref(v);
		v = view(ALICE, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z", PREFER_PST);
		assert_string_equal(str(json_object_get(json_array_get(v, 0), "start"),
		    "dateTime"), "2026-07-01T00:00:00.0000000");
		json_decref(v);
	}
	json_decref(created);
}

static void
test_all_day(void **state)
{
	/* Berlin's spring change day: 23 hours of real time, still one calendar day. */
	json_t *created = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
	    "\"subject\":\"Offsite\",\"isAllDay\":true,"
	    "\"start\":{\"dateTime\":\"2026-03-29T00:00:00\",\"timeZone\":\"Europe/Berlin\"},"
	    "\"end\":{\"dateTime\":\"2026-03-30T00:00:00\",\"timeZone\":\"Europe/Berlin\"}}");
	static const char *const prefers[] = { NULL, PREFER_PST,
		"Prefer: outlook.timezone=\"Tokyo Standard Time\"" };
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(created, BOB));
	for (size_t i = 0; i < sizeof(prefers) / sizeof(prefers[0]); i++) {
		json_t *ev = graph(path, prefers[i], 200);

		assert_true(json_is_true(json_object_get(ev, "isAllDay")));
		assert_string_equal(str(json_object_get(ev, "start"), "dateTime"),
		    "2026-03-29T00:00:00.0000000");
		assert_string_equal(str(json_object_get(ev, "end"), "dateTime"),
		    "2026-03-30T00:00:00.0000000");
		json_decref(ev);
	}
	/* It occupies Berlin's day: 2026-03-28T23:00Z up to 2026-03-29T22:00Z. */
	{
		json_t *v = view(BOB, "2026-03-28T22:00:00Z", "2026-03-28T23:00:00Z", NULL);

		assert_int_equal(json_array_size(v), 0);
		json_decref(v);
		v = view(BOB, "2026-03-28T23:00:00Z", "2026-03-28T23:30:00Z", NULL);
		assert_int_equal(json_array_size(v), 1);
		json_decref(v);
		v = view(BOB, "2026-03-29T22:00:00Z", "2026-03-30T00:00:00Z", NULL);
		assert_int_equal(json_array_size(v), 0);
		json_decref(v);
	}
	json_decref(created);
}

/* One delta page: GET link (or the initial path) with maxpagesize; caller decrefs. */
static json_t *
delta_page(const char *user, const char *link, long maxpage, struct reply *r)
{
	char path[512], prefer[128];

	if (link == NULL) {
		snprintf(path, sizeof(path), "/v1.0/users/%s/calendarView/delta?startDateTime="
		    "2026-04-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z&$select=subject", user);
		link = path;
	}
	snprintf(prefer, sizeof(prefer), "Prefer: odata.maxpagesize=%ld", maxpage);
	get_as(token, link, prefer, r);
	if (r->status != 200) {
		char *b = json_dumps(r->json, JSON_COMPACT | JSON_ENCODE_ANY);

		fail_msg("delta %s: status %ld: %s", link, r->status, b);
	}
	return r->json;
}

/* A whole delta round from link; returns the deltaLink (caller frees) and adds every item to
 * items. pages counts the pages. */
static char *
delta_round(const char *user, const char *link, long maxpage, json_t *items, int *pages)
{
	char *next = link ? xstrdup(link) : NULL;

	*pages = 0;
	for (int guard = 0; guard < 100; guard++) {
		struct reply r;
		json_t *page = delta_page(user, next, maxpage, &r);
		const char *nl = str(page, "@odata.nextLink"), *dl = str(page, "@odata.deltaLink");

		(*pages)++;
		assert_true(strstr(r.prefer_applied, "odata.maxpagesize") != NULL);
		assert_true(json_array_size(json_object_get(page, "value")) <= (size_t)maxpage);
		/* A page has one of the two links, never both. */
		assert_true((nl == NULL) != (dl == NULL));
		json_array_extend(items, json_object_get(page, "value"));
		free(next);
		if (dl != NULL) {
			assert_non_null(strstr(dl, "$deltatoken="));
			next = xstrdup(dl);
			json_decref(page);
			return next;
		}
		assert_non_null(strstr(nl, "$skiptoken="));
		next = xstrdup(nl);
		json_decref(page);
	}
	fail_msg("delta round does not end");
	return NULL;
}

/* The item with id in items (borrowed), or NULL. */
static json_t *
item(json_t *items, const char *id)
{
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it)
		if (strcmp(str(it, "id"), id) == 0)
			return it;
	return NULL;
}

static void
test_delta(void **state)
{
	json_t *m[5], *items = json_array(), *it;
	char *dlink, spec[1024];
	int pages;
	size_t i;

	(void)state;
	for (int k = 0; k < 5; k++) {
		snprintf(spec, sizeof(spec), "{\"organizer\":\"" ALICE "\",\"attendees\":"
		    "[\"" BOB "\"],\"subject\":\"m%d\",\"start\":\"2026-04-%02dT10:00:00Z\","
		    "\"end\":\"2026-04-%02dT11:00:00Z\"}", k, 10 + k, 10 + k);
		m[k] = meeting(spec);
	}
	/* Out of the window: never in the initial round. */
	json_decref(meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
	    "\"subject\":\"june\",\"start\":\"2026-06-10T10:00:00Z\","
	    "\"end\":\"2026-06-10T11:00:00Z\"}"));

	/* Initial round, two per page: 2 + 2 + 1, full properties ($select is ignored). */
	dlink = delta_round(BOB, NULL, 2, items, &pages);
	assert_int_equal(pages, 3);
	assert_int_equal(json_array_size(items), 5);
	for (int k = 0; k < 5; k++) {
		it = item(items, copy_id(m[k], BOB));
		assert_non_null(it);
		assert_non_null(json_object_get(it, "attendees"));
		assert_non_null(json_object_get(it, "start"));
	}
	json_array_clear(items);

	/* Nothing happened: an empty round. */
	{
		char *d2 = delta_round(BOB, dlink, 2, items, &pages);

		assert_int_equal(json_array_size(items), 0);
		free(dlink);
		dlink = d2;
	}

	/* Bob accepts m0: the next round carries it, updated. */
	snprintf(spec, sizeof(spec), "/_sim/events/%s/respond", str(m[0], "iCalUId"));
	json_decref(ctl("POST", spec, "{\"user\":\"" BOB "\",\"response\":\"accepted\"}", 200));
	{
		char *d2 = delta_round(BOB, dlink, 10, items, &pages);

		assert_int_equal(json_array_size(items), 1);
		it = item(items, copy_id(m[0], BOB));
		assert_non_null(it);
		assert_string_equal(str(json_object_get(it, "responseStatus"), "response"),
		    "accepted");
		assert_string_equal(str(it, "showAs"), "busy");
		free(dlink);
		dlink = d2;
		json_array_clear(items);
	}
	/* ... and Alice's copy shows Bob's answer. */
	{
		char path[512];
		json_t *ev;

		snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE, copy_id(m[0], ALICE));
		ev = graph(path, NULL, 200);
		assert_string_equal(str(json_object_get(json_array_get(json_object_get(ev,
		    "attendees"), 0), "status"), "response"), "accepted");
		json_decref(ev);
	}

	/* m1 moves to June (out of the window): @removed. m2 moves inside it: updated. A new
	 * meeting in the window appears. */
	snprintf(spec, sizeof(spec), "/_sim/events/%s", str(m[1], "iCalUId"));
	json_decref(ctl("PATCH", spec, "{\"start\":\"2026-06-01T10:00:00Z\","
	    "\"end\":\"2026-06-01T11:00:00Z\"}", 200));
	snprintf(spec, sizeof(spec), "/_sim/events/%s", str(m[2], "iCalUId"));
	json_decref(ctl("PATCH", spec, "{\"start\":\"2026-04-20T15:00:00Z\"}", 200));
	{
		json_t *m5 = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
		    "\"subject\":\"new\",\"start\":\"2026-04-25T10:00:00Z\","
		    "\"end\":\"2026-04-25T10:30:00Z\"}");
		char *d2 = delta_round(BOB, dlink, 10, items, &pages);

		assert_int_equal(json_array_size(items), 3);
		it = item(items, copy_id(m[1], BOB));
		assert_non_null(it);
		assert_string_equal(str(json_object_get(it, "@removed"), "reason"), "deleted");
		it = item(items, copy_id(m[2], BOB));
		assert_null(json_object_get(it, "@removed"));
		assert_string_equal(str(json_object_get(it, "start"), "dateTime"),
		    "2026-04-20T15:00:00.0000000");
		/* The length stayed one hour; a new time asks Bob again. */
		assert_string_equal(str(json_object_get(it, "end"), "dateTime"),
		    "2026-04-20T16:00:00.0000000");
		assert_string_equal(str(json_object_get(it, "responseStatus"), "response"), "none");
		assert_non_null(item(items, copy_id(m5, BOB)));
		free(dlink);
		dlink = d2;
		json_array_clear(items);
		json_decref(m5);
	}

	/* Alice cancels m3: Bob keeps it, cancelled; Alice's calendar drops it. */
	{
		char *alice_link, *d2;
		json_t *alice_items = json_array();
		char path[512];

		alice_link = delta_round(ALICE, NULL, 50, alice_items, &pages);
		assert_non_null(item(alice_items, copy_id(m[3], ALICE)));
		json_array_clear(alice_items);

		snprintf(spec, sizeof(spec), "/_sim/events/%s", str(m[3], "iCalUId"));
		json_decref(ctl("PATCH", spec, "{\"isCancelled\":true}", 200));
		d2 = delta_round(BOB, dlink, 10, items, &pages);
		assert_int_equal(json_array_size(items), 1);
		it = item(items, copy_id(m[3], BOB));
		assert_true(json_is_true(json_object_get(it, "isCancelled")));
		assert_string_equal(str(it, "subject"), "Canceled: m3");
		free(dlink);
		dlink = d2;

		free(delta_round(ALICE, alice_link, 10, alice_items, &pages));
		assert_int_equal(json_array_size(alice_items), 1);
		it = item(alice_items, copy_id(m[3], ALICE));
		assert_string_equal(str(json_object_get(it, "@removed"), "reason"), "deleted");
		snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE,
		    copy_id(m[3], ALICE));
		graph_error(token, path, 404, "ErrorItemNotFound", NULL);
		free(alice_link);
		json_decref(alice_items);
	}

	/* Replaying an old deltaLink is allowed and gives the same round again. */
	json_array_clear(items);
	free(delta_round(BOB, dlink, 10, items, &pages));
	assert_int_equal(json_array_size(items), 0);

	free(dlink);
	json_decref(items);
	for (i = 0; i < 5; i++)
		json_decref(m[i]);
}

static void
test_delta_tokens_gone(void **state)
{
	json_t *items = json_array();
	char *dlink;
	int pages;
	struct reply r;

	(void)state;
	json_decref(meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\"],"
	    "\"subject\":\"x\",\"start\":\"2026-04-10T10:00:00Z\","
	    "\"end\":\"2026-04-10T11:00:00Z\"}"));
	graph_error(token, "/v1.0/users/" BOB "/calendarView/delta?$deltatoken=nope", 410,
	    "SyncStateNotFound", NULL);
	graph_error(token, "/v1.0/users/" BOB "/calendarView/delta?$skiptoken=nope", 410,
	    "SyncStateNotFound", NULL);
	get_as(token, "/v1.0/users/" BOB "/calendarView/delta?$deltatoken=nope", NULL, &r);
	assert_true(strstr(r.location, "/calendarView/delta") != NULL);
	json_decref(r.json);

	dlink = delta_round(BOB, NULL, 5, items, &pages);
	assert_int_equal(json_array_size(items), 1);
	/* Another mailbox's token is not a token here. */
	{
		const char *q = strstr(dlink, "?");
		char path[1024];

		snprintf(path, sizeof(path), "/v1.0/users/%s/calendarView/delta%s", CAROL, q);
		graph_error(token, path, 410, "SyncStateNotFound", NULL);
	}
	/* Expired: 410 with a Location that starts over with the same window. */
	json_decref(ctl("POST", "/_sim/delta/expire", "{\"token\":null}", 200));
	get_as(token, dlink, NULL, &r);
	assert_int_equal(r.status, 410);
	assert_string_equal(str(json_object_get(r.json, "error"), "code"), "SyncStateNotFound");
	assert_true(strstr(r.location, "startDateTime=2026-04-01T00:00:00Z") != NULL);
	json_decref(r.json);
	/* Following the Location works. */
	json_array_clear(items);
	free(delta_round(BOB, r.location, 5, items, &pages));
	assert_int_equal(json_array_size(items), 1);
	free(dlink);
	json_decref(items);
}

static void
test_permissions(void **state)
{
	static const char *const paths[] = {
		"/v1.0/users/" BOB "/calendarView?startDateTime=2026-02-01T00:00:00Z&"
		    "endDateTime=2026-03-01T00:00:00Z",
		"/v1.0/users/" BOB "/calendarView/delta?startDateTime=2026-02-01T00:00:00Z&"
		    "endDateTime=2026-03-01T00:00:00Z",
		"/v1.0/users/" BOB "/events",
		"/v1.0/users/" BOB "/calendar",
	};
	char *mail_only = mint(APP_MAIL), *basic = mint(APP_BASIC), path[512];
	json_t *created = meeting(SINGLE_SPEC);
	struct reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		graph_error(mail_only, paths[i], 403, "ErrorAccessDenied",
		    "Access is denied. Check credentials and try again.");
		get_as(basic, paths[i], NULL, &r);
		assert_int_equal(r.status, 200);
		json_decref(r.json);
	}
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(created, BOB));
	graph_error(mail_only, path, 403, "ErrorAccessDenied", NULL);
	/* Calendars.ReadBasic.All: everything but the body. */
	get_as(basic, path, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(json_object_get(r.json, "body"));
	assert_null(json_object_get(r.json, "bodyPreview"));
	assert_non_null(json_object_get(r.json, "attendees"));
	json_decref(r.json);
	{
		json_t *ev = graph(path, NULL, 200);

		assert_non_null(json_object_get(ev, "body"));
		json_decref(ev);
	}
	free(mail_only);
	free(basic);
	json_decref(created);
}

static void
test_occurrence_changes(void **state)
{
	json_t *created = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\","
	    "\"" CAROL "\"],\"subject\":\"Series\","
	    "\"start\":{\"dateTime\":\"2026-05-04T10:00:00\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"2026-05-04T11:00:00\",\"timeZone\":\"UTC\"},"
	    "\"recurrence\":{\"pattern\":{\"type\":\"weekly\",\"interval\":1,"
	    "\"daysOfWeek\":[\"monday\",\"wednesday\"]},\"range\":{\"type\":\"endDate\","
	    "\"startDate\":\"2026-05-04\",\"endDate\":\"2026-05-13\"}}}");
	const char *uid = str(created, "iCalUId");
	json_t *v, *ev;
	char path[512], moved_id[256], moved_ical[256];
	size_t i;
	int accepted = 0, exceptions = 0;

	(void)state;
	v = view(BOB, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 4);	/* 4, 6, 11, 13 May */
	json_decref(v);

	/* Bob accepts only the second occurrence (by date). */
	snprintf(path, sizeof(path), "/_sim/events/%s/respond", uid);
	json_decref(ctl("POST", path, "{\"user\":\"" BOB "\",\"response\":\"accepted\","
	    "\"occurrence\":\"2026-05-06\"}", 200));
	v = view(BOB, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	json_array_foreach(v, i, ev)
		accepted += strcmp(str(json_object_get(ev, "responseStatus"), "response"),
		    "accepted") == 0;
	assert_int_equal(accepted, 1);
	assert_string_equal(str(json_object_get(json_array_get(v, 1), "responseStatus"),
	    "response"), "accepted");
	json_decref(v);

	/* Carol declines the whole series. */
	json_decref(ctl("POST", path, "{\"user\":\"" CAROL "\",\"response\":\"declined\"}",
	    200));
	v = view(CAROL, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	json_array_foreach(v, i, ev) {
		assert_string_equal(str(json_object_get(ev, "responseStatus"), "response"),
		    "declined");
		assert_string_equal(str(ev, "showAs"), "free");
	}
	json_decref(v);

	/* The 11 May occurrence moves to 12 May: an exception, in every copy, that keeps its
	 * iCalUId and originalStart. */
	v = view(ALICE, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	ev = json_array_get(v, 2);
	assert_string_equal(str(ev, "originalStart"), "2026-05-11T10:00:00Z");
	snprintf(moved_id, sizeof(moved_id), "%s", str(ev, "id"));
	snprintf(moved_ical, sizeof(moved_ical), "%s", str(ev, "iCalUId"));
	json_decref(v);
	snprintf(path, sizeof(path), "/_sim/events/%s", uid);
	json_decref(ctl("PATCH", path, "{\"occurrence\":\"2026-05-11T10:00:00Z\","
	    "\"start\":\"2026-05-12T14:00:00Z\",\"end\":\"2026-05-12T15:00:00Z\"}", 200));
	for (int k = 0; k < 2; k++) {
		exceptions = 0;
		v = view(k == 0 ? ALICE : BOB, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z",
		    PREFER_PST);
		assert_int_equal(json_array_size(v), 4);
		json_array_foreach(v, i, ev) {
			if (strcmp(str(ev, "type"), "exception") != 0) {
				assert_string_equal(str(ev, "type"), "occurrence");
				continue;
			}
			exceptions++;
			assert_string_equal(str(json_object_get(ev, "start"), "dateTime"),
			    "2026-05-12T07:00:00.0000000");
			assert_string_equal(str(ev, "originalStart"), "2026-05-11T10:00:00Z");
			assert_string_equal(str(ev, "iCalUId"), moved_ical);
			if (k == 0)
				assert_string_equal(str(ev, "id"), moved_id);
		}
		assert_int_equal(exceptions, 1);
		json_decref(v);
	}

	/* Any change to one occurrence makes an exception, a new subject too. */
	json_decref(ctl("PATCH", path, "{\"occurrence\":\"2026-05-13\","
	    "\"subject\":\"Series (room 2)\"}", 200));
	v = view(CAROL, "2026-05-13T00:00:00Z", "2026-05-14T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 1);
	ev = json_array_get(v, 0);
	assert_string_equal(str(ev, "type"), "exception");
	assert_string_equal(str(ev, "subject"), "Series (room 2)");
	assert_string_equal(str(ev, "originalStart"), "2026-05-13T10:00:00Z");
	assert_string_equal(str(json_object_get(ev, "start"), "dateTime"),
	    "2026-05-13T10:00:00.0000000");
	json_decref(v);

	/* Cancelling the series: gone from Alice's calendar, cancelled in Bob's. */
	json_decref(ctl("PATCH", path, "{\"isCancelled\":true}", 200));
	v = view(ALICE, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	v = view(BOB, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 4);
	json_array_foreach(v, i, ev)
		assert_true(json_is_true(json_object_get(ev, "isCancelled")));
	json_decref(v);
	json_decref(created);
}

/* The item of a delta round whose originalStart is orig (borrowed), or NULL. */
static json_t *
item_at(json_t *items, const char *orig)
{
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it)
		if (str(it, "originalStart") != NULL && strcmp(str(it, "originalStart"), orig) == 0)
			return it;
	return NULL;
}

/* The next delta round of each of the three users from its deltaLink in dl (replaced by the
 * next one): who's reports id @removed (reason deleted) and nothing else; the others' are
 * empty. */
static void
next_rounds(const char *const users[3], char *dl[3], const char *who, const char *id)
{
	json_t *items = json_array(), *it;
	int pages;

	for (int u = 0; u < 3; u++) {
		char *next = delta_round(users[u], dl[u], 50, items, &pages);

		if (strcmp(users[u], who) == 0) {
			assert_int_equal(json_array_size(items), 1);
			it = item(items, id);
			assert_non_null(it);
			assert_string_equal(str(json_object_get(it, "@removed"), "reason"),
			    "deleted");
		} else {
			assert_int_equal(json_array_size(items), 0);
		}
		free(dl[u]);
		dl[u] = next;
		json_array_clear(items);
	}
	json_decref(items);
}

#define APRIL_SERIES \
    "{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\",\"" CAROL "\"]," \
    " \"subject\":\"Pipeline\",\"start\":\"2026-04-06T10:00:00Z\"," \
    " \"end\":\"2026-04-06T10:30:00Z\",\"recurrence\":{\"pattern\":{\"type\":\"weekly\"," \
    " \"daysOfWeek\":[\"monday\",\"wednesday\"]},\"range\":{\"type\":\"endDate\"," \
    " \"startDate\":\"2026-04-06\",\"endDate\":\"2026-04-15\"}}}"

/* An attendee deletes a meeting, then one occurrence of a series, from their calendar: only
 * their next delta round reports it; nobody else's copy changes. */
static void
test_delete_by_attendee(void **state)
{
	static const char *const users[] = { ALICE, BOB, CAROL };
	json_t *single = meeting("{\"organizer\":\"" ALICE "\",\"attendees\":[\"" BOB "\",\""
	    CAROL "\"],\"subject\":\"Demo\",\"start\":\"2026-04-20T10:00:00Z\","
	    "\"end\":\"2026-04-20T11:00:00Z\"}");
	json_t *series = meeting(APRIL_SERIES);
	json_t *items = json_array(), *it, *r, *v;
	char *dl[3], path[1024], occ_id[256];
	int pages;

	(void)state;
	/* Initial rounds: the meeting and four occurrences, each with the start the series gave
	 * it; the single meeting has none. */
	for (int u = 0; u < 3; u++) {
		dl[u] = delta_round(users[u], NULL, 50, items, &pages);
		assert_int_equal(json_array_size(items), 5);
		assert_null(json_object_get(item(items, copy_id(single, users[u])),
		    "originalStart"));
		assert_non_null(item_at(items, "2026-04-06T10:00:00Z"));
		assert_non_null(item_at(items, "2026-04-13T10:00:00Z"));
		assert_non_null(item_at(items, "2026-04-15T10:00:00Z"));
		it = item_at(items, "2026-04-08T10:00:00Z");
		assert_non_null(it);
		assert_string_equal(str(it, "type"), "occurrence");
		if (u == 1)
			snprintf(occ_id, sizeof(occ_id), "%s", str(it, "id"));
		json_array_clear(items);
	}

	/* Bob deletes the meeting. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s", str(single, "uid"), BOB);
	r = ctl("DELETE", path, NULL, 200);
	assert_string_equal(str(r, "uid"), str(single, "uid"));
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
	json_decref(r);
	next_rounds(users, dl, BOB, copy_id(single, BOB));
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(single, BOB));
	graph_error(token, path, 404, "ErrorItemNotFound", NULL);
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", CAROL, copy_id(single, CAROL));
	v = graph(path, NULL, 200);
	assert_true(json_is_false(json_object_get(v, "isCancelled")));
	assert_string_equal(str(v, "subject"), "Demo");
	json_decref(v);
	/* No response went to the organizer. */
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE, copy_id(single, ALICE));
	v = graph(path, NULL, 200);
	assert_string_equal(str(json_object_get(json_array_get(json_object_get(v, "attendees"),
	    0), "status"), "response"), "none");
	json_decref(v);
	/* Gone is gone: a second delete finds no copy. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s", str(single, "uid"), BOB);
	r = ctl("DELETE", path, NULL, 404);
	assert_non_null(strstr(str(r, "error"), "no copy"));
	json_decref(r);

	/* Bob deletes the 8 April occurrence: the rest of his series stays. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s&occurrence=2026-04-08",
	    str(series, "uid"), BOB);
	r = ctl("DELETE", path, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
	json_decref(r);
	next_rounds(users, dl, BOB, occ_id);
	v = view(BOB, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 3);
	assert_null(item(v, occ_id));
	assert_null(item_at(v, "2026-04-08T10:00:00Z"));
	json_decref(v);
	v = view(CAROL, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 5);
	json_decref(v);
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(series, BOB));
	json_decref(graph(path, NULL, 200));
	/* The same occurrence again, one on a day the series does not meet, one of a single
	 * meeting: none is in Bob's calendar. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s&occurrence=2026-04-08",
	    str(series, "uid"), BOB);
	json_decref(ctl("DELETE", path, NULL, 404));
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s&occurrence=2026-04-07",
	    str(series, "uid"), BOB);
	json_decref(ctl("DELETE", path, NULL, 404));
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s&occurrence=2026-04-20",
	    str(single, "uid"), CAROL);
	json_decref(ctl("DELETE", path, NULL, 404));

	for (int u = 0; u < 3; u++)
		free(dl[u]);
	json_decref(items);
	json_decref(single);
	json_decref(series);
}

/* The organizer deleting a meeting cancels it for the attendees, as Exchange does; and the
 * deletes the control API refuses. */
static void
test_delete_by_organizer(void **state)
{
	json_t *series = meeting(APRIL_SERIES), *single = meeting(SINGLE_SPEC), *r, *v, *ev;
	char path[1024];
	size_t i;
	int cancelled = 0;

	(void)state;
	/* One occurrence, by its instant: gone from Alice's calendar, cancelled in Bob's. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s&occurrence=2026-04-13T10:00:00Z",
	    str(series, "uid"), ALICE);
	r = ctl("DELETE", path, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "cancelled")), 2);
	json_decref(r);
	v = view(ALICE, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 3);
	assert_null(item_at(v, "2026-04-13T10:00:00Z"));
	json_decref(v);
	v = view(BOB, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", NULL);
	assert_int_equal(json_array_size(v), 4);
	json_array_foreach(v, i, ev) {
		int is_it = strcmp(str(ev, "originalStart"), "2026-04-13T10:00:00Z") == 0;

		assert_int_equal(json_is_true(json_object_get(ev, "isCancelled")), is_it);
		cancelled += is_it;
		if (is_it) {
			assert_string_equal(str(ev, "type"), "exception");
			assert_string_equal(str(ev, "subject"), "Canceled: Pipeline");
		}
	}
	assert_int_equal(cancelled, 1);
	json_decref(v);

	/* The whole meeting. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s", str(single, "uid"), ALICE);
	r = ctl("DELETE", path, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "cancelled")), 1);
	json_decref(r);
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE, copy_id(single, ALICE));
	graph_error(token, path, 404, "ErrorItemNotFound", NULL);
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", BOB, copy_id(single, BOB));
	ev = graph(path, NULL, 200);
	assert_true(json_is_true(json_object_get(ev, "isCancelled")));
	json_decref(ev);

	/* Refused: no such meeting (404), no user given (400), a user nobody knows or who has no
	 * copy (404), an occurrence that is no date (400). */
	r = ctl("DELETE", "/_sim/events/no-such-meeting?user=" BOB, NULL, 404);
	assert_non_null(strstr(str(r, "error"), "no event"));
	json_decref(r);
	snprintf(path, sizeof(path), "/_sim/events/%s", str(series, "uid"));
	r = ctl("DELETE", path, NULL, 400);
	assert_non_null(strstr(str(r, "error"), "user"));
	json_decref(r);
	snprintf(path, sizeof(path), "/_sim/events/%s?user=nobody@" DOMAIN, str(series, "uid"));
	r = ctl("DELETE", path, NULL, 404);
	assert_non_null(strstr(str(r, "error"), "no user"));
	json_decref(r);
	snprintf(path, sizeof(path), "/_sim/events/%s?user=" CAROL, str(single, "uid"));
	json_decref(ctl("DELETE", path, NULL, 404));
	snprintf(path, sizeof(path), "/_sim/events/%s?user=" BOB "&occurrence=someday",
	    str(series, "uid"));
	r = ctl("DELETE", path, NULL, 400);
	assert_non_null(strstr(str(r, "error"), "occurrence"));
	json_decref(r);
	json_decref(series);
	json_decref(single);
}

static void
test_control_refusals(void **state)
{
	static const struct {
		const char *spec;
		const char *needle;
	} cases[] = {
		{ "{\"attendees\":[\"" BOB "\"],\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\"}", "organizer" },
		{ "{\"organizer\":\"not-an-address\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\"}", "organizer" },
		{ "{\"organizer\":\"" ALICE "\",\"end\":\"2026-01-01T11:00:00Z\"}", "start" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":{\"dateTime\":\"2026-01-01T10:00:00\","
		    "\"timeZone\":\"Mars Standard Time\"},\"end\":\"2026-01-01T11:00:00Z\"}",
		    "time zone" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T25:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\"}", "ISO 8601" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T09:00:00Z\"}", "before" },
		{ "{\"organizer\":\"" EXTERNAL "\",\"attendees\":[\"x@fabrikam.example\"],"
		    "\"start\":\"2026-01-01T10:00:00Z\",\"end\":\"2026-01-01T11:00:00Z\"}",
		    "tenant" },
		{ "{\"organizer\":\"" ALICE "\",\"isAllDay\":true,\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-02T10:00:00Z\"}", "midnight" },
		{ "{\"organizer\":\"" ALICE "\",\"attendees\":[{\"address\":\"" BOB "\","
		    "\"type\":\"vip\"}],\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\"}", "type" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\",\"recurrence\":{\"pattern\":{\"type\":"
		    "\"hourly\"},\"range\":{\"type\":\"noEnd\"}}}", "pattern.type" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\",\"recurrence\":{\"pattern\":{\"type\":"
		    "\"weekly\"},\"range\":{\"type\":\"noEnd\"}}}", "daysOfWeek" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\",\"recurrence\":{\"pattern\":{\"type\":"
		    "\"daily\"},\"range\":{\"type\":\"numbered\",\"numberOfOccurrences\":0}}}",
		    "numberOfOccurrences" },
		{ "{\"organizer\":\"" ALICE "\",\"start\":\"2026-01-01T10:00:00Z\","
		    "\"end\":\"2026-01-01T11:00:00Z\",\"recurrence\":{\"pattern\":{\"type\":"
		    "\"daily\"},\"range\":{\"type\":\"endDate\",\"startDate\":\"2026-01-01\","
		    "\"endDate\":\"2025-12-01\"}}}", "endDate" },
		{ "{\"organizer\":\"" ALICE "\",\"sensitivity\":\"secret\","
		    "\"start\":\"2026-01-01T10:00:00Z\",\"end\":\"2026-01-01T11:00:00Z\"}",
		    "sensitivity" },
	};
	json_t *created, *j;
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg;

		j = ctl("POST", "/_sim/events", cases[i].spec, 400);
		msg = str(j, "error");
		if (msg == NULL || strstr(msg, cases[i].needle) == NULL)
			fail_msg("spec %zu: error \"%s\" lacks \"%s\"", i, msg ? msg : "",
			    cases[i].needle);
		json_decref(j);
	}
	/* Nothing was stored by the refusals. */
	j = graph("/v1.0/users/" ALICE "/events", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "value")), 0);
	json_decref(j);

	created = meeting(SINGLE_SPEC);
	snprintf(path, sizeof(path), "/_sim/events/%s/respond", str(created, "iCalUId"));
	/* Not an attendee; the organizer; an occurrence of a single meeting. */
	json_decref(ctl("POST", path, "{\"user\":\"" CAROL "\",\"response\":\"accepted\"}",
	    400));
	json_decref(ctl("POST", path, "{\"user\":\"" ALICE "\",\"response\":\"accepted\"}",
	    400));
	json_decref(ctl("POST", path, "{\"user\":\"" BOB "\",\"response\":\"accepted\","
	    "\"occurrence\":\"2026-02-10\"}", 400));
	/* An external attendee's answer shows in the organizer's copy. */
	json_decref(ctl("POST", path, "{\"user\":\"" EXTERNAL "\",\"response\":"
	    "\"tentativelyAccepted\"}", 200));
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", ALICE, copy_id(created, ALICE));
	j = graph(path, NULL, 200);
	assert_string_equal(str(json_object_get(json_array_get(json_object_get(j, "attendees"),
	    1), "status"), "response"), "tentativelyAccepted");
	json_decref(j);
	snprintf(path, sizeof(path), "/_sim/events/%s", str(created, "iCalUId"));
	json_decref(ctl("PATCH", path, "{\"isCancelled\":false}", 400));
	json_decref(ctl("PATCH", path, "{\"start\":\"2026-02-10T20:00:00Z\","
	    "\"end\":\"2026-02-10T19:00:00Z\"}", 400));
	json_decref(ctl("PATCH", "/_sim/events/no-such-meeting", "{\"subject\":\"x\"}", 404));
	json_decref(created);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_event_shape, fresh),
		cmocka_unit_test_setup(test_window_edges, fresh),
		cmocka_unit_test_setup(test_window_errors, fresh),
		cmocka_unit_test_setup(test_recurring_series, fresh),
		cmocka_unit_test_setup(test_outlook_timezone, fresh),
		cmocka_unit_test_setup(test_all_day, fresh),
		cmocka_unit_test_setup(test_delta, fresh),
		cmocka_unit_test_setup(test_delta_tokens_gone, fresh),
		cmocka_unit_test_setup(test_permissions, fresh),
		cmocka_unit_test_setup(test_occurrence_changes, fresh),
		cmocka_unit_test_setup(test_delete_by_attendee, fresh),
		cmocka_unit_test_setup(test_delete_by_organizer, fresh),
		cmocka_unit_test_setup(test_control_refusals, fresh),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
