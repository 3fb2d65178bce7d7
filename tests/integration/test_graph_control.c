/* test_graph_control.c: graph-sim's /_sim control API over HTTP against the real graph-sim
 * binary: seeding and its all-or-nothing rollback, tokens, mail delivery, moves and deletes seen
 * through /v1.0, meetings and responses, delta token expiry, statistics, notification
 * deliveries and lifecycle events (with a webhook receiver), faults, settings, reset, and the
 * inputs each call refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "graph_fixture.h"
#include "hook_server.h"
#include "httpc.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define TENANT	"3f0c6a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d"
#define DOMAIN	"contoso.onmicrosoft.com"
#define APP	"6731de76-14a6-49ae-97bc-6eba6914391e"
#define ALICE	"alice@" DOMAIN
#define BOB	"bob@" DOMAIN
#define CAROL	"carol@" DOMAIN
#define DAVE	"dave@" DOMAIN

static struct sim_proc sim;
static struct hook_server *hooks;
static char token[8192];

static const char *const seed_text =
    "{\"tenant\":{\"id\":\"" TENANT "\",\"domain\":\"" DOMAIN "\"},"
    " \"apps\":[{\"clientId\":\"" APP "\",\"displayName\":\"olsync\",\"secret\":\"s3cret\","
    "   \"roles\":[\"User.Read.All\",\"Mail.Read\",\"Calendars.Read\"]}],"
    " \"users\":[{\"userPrincipalName\":\"" ALICE "\",\"displayName\":\"Alice Adams\"},"
    "   {\"userPrincipalName\":\"" BOB "\",\"displayName\":\"Bob Brown\"},"
    "   {\"userPrincipalName\":\"" CAROL "\",\"displayName\":\"Carol Chen\"},"
    "   {\"userPrincipalName\":\"" DAVE "\",\"displayName\":\"Dave Diaz\"}]}";

/* A control call that must answer want; returns its JSON body (caller decrefs). */
static json_t *
ctl(const char *method, const char *path, const char *body, long want)
{
	return sim_http_ctl(sim.base_url, method, path, body, want);
}

/* A refused control call: want, and an "error" message containing needle. */
static void
ctl_refused(const char *method, const char *path, const char *body, long want,
    const char *needle)
{
	json_t *j = ctl(method, path, body, want);
	const char *msg = json_string_value(json_object_get(j, "error"));

	assert_non_null(msg);
	if (needle != NULL && strstr(msg, needle) == NULL)
		fail_msg("%s %s %s: error \"%s\" lacks \"%s\"", method, path, body ? body : "",
		    msg, needle);
	json_decref(j);
}

/* A Graph call with the test's token that must answer want; its JSON body (caller decrefs). */
static json_t *
graph(const char *method, const char *path, long want)
{
	json_t *j = graph_fixture_call(&sim, method, path, NULL, token, NULL, want);

	return j ? j : json_null();
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Every test starts from the same tenant: reset, seed, http webhooks allowed, a token. */
static int
fresh(void **state)
{
	(void)state;
	json_decref(graph_fixture_reseed(&sim, seed_text));
	graph_fixture_config(&sim, "{\"require_https\":false,\"retry_scale\":0.001}");
	graph_fixture_token(&sim, APP, token, sizeof(token));
	hook_server_clear(hooks);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	if (graph_fixture_start(&sim, NULL, NULL, NULL) < 0)
		return -1;
	if ((hooks = hook_server_start()) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hook_server_stop(hooks);
	return graph_fixture_stop(&sim);
}

/* Number of messages with this subject in a folder of a user, seen through Graph. */
static int
count_subject(const char *user, const char *folder, const char *subject)
{
	char path[512];
	json_t *j, *m;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/%s/messages?$top=100", user,
	    folder);
	j = graph("GET", path, 200);
	json_array_foreach(json_object_get(j, "value"), i, m)
		n += str(m, "subject") != NULL && strcmp(str(m, "subject"), subject) == 0;
	json_decref(j);
	return n;
}

/* The copy of a delivery result for user in folder (borrowed), or NULL. */
static json_t *
copy_of(json_t *result, const char *user, const char *folder)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(result, "copies"), i, c)
		if (strcasecmp(str(c, "user"), user) == 0 &&
		    (folder == NULL || strcmp(str(c, "folder"), folder) == 0))
			return c;
	return NULL;
}

/* tmpl with its "{id}" replaced by id: table rows name a path before the id exists. */
static void
fill(char *out, size_t outlen, const char *tmpl, const char *id)
{
	const char *at = strstr(tmpl, "{id}");

	if (at == NULL)
		snprintf(out, outlen, "%s", tmpl);
	else
		snprintf(out, outlen, "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 4);
}

/* ---- tests ---- */

static void
test_health_and_unknown_paths(void **state)
{
	static const struct {
		const char *method, *path;
		long status;
	} cases[] = {
		{ "GET", "/_sim", 404 },
		{ "GET", "/_sim/", 404 },
		{ "GET", "/_sim/nope", 404 },
		{ "POST", "/_sim/stats/reset/now", 404 },
		{ "POST", "/_sim/mail/a/b/copy", 404 },
		{ "POST", "/_sim/subscriptions/x/renew", 404 },
		{ "GET", "/_sim/a/b/c/d/e/f/g/h/i/j", 404 },
		{ "GET", "/_sim/seed", 405 },
		{ "PUT", "/_sim/faults", 405 },
		{ "GET", "/_sim/mail/a/b", 405 },
		{ "DELETE", "/_sim/events", 405 },
	};
	json_t *j;

	(void)state;
	j = ctl("GET", "/_sim/health", NULL, 200);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(str(j, "tenantId"), TENANT);
	assert_string_equal(str(j, "tenantDomain"), DOMAIN);
	json_decref(j);
	/* A trailing slash names the same call. */
	json_decref(ctl("GET", "/_sim/health/", NULL, 200));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ctl_refused(cases[i].method, cases[i].path, NULL, cases[i].status,
		    cases[i].status == 404 ? "no such control call" : "not allowed");
}

static void
test_bad_json(void **state)
{
	static const struct {
		const char *method, *path, *body;
	} cases[] = {
		{ "POST", "/_sim/seed", "{" },
		{ "POST", "/_sim/seed", "[]" },
		{ "POST", "/_sim/seed", "\"users\"" },
		{ "POST", "/_sim/token", "{\"clientId\":" },
		{ "POST", "/_sim/mail", "not json" },
		{ "POST", "/_sim/faults", "[{\"path\":\"/v1.0\"}]" },
		{ "POST", "/_sim/config", "{\"token_ttl_sec\":60,}" },
		{ "POST", "/_sim/events", "42" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ctl_refused(cases[i].method, cases[i].path, cases[i].body, 400, "JSON object");
}

static void
test_seed_and_token(void **state)
{
	char *cert = NULL, *seed, *escaped;
	json_t *j, *users;
	struct sim_http h;

	(void)state;
	/* The standard seed's answer: upn -> id, apps by client id, the tenant. */
	json_decref(ctl("POST", "/_sim/reset", NULL, 200));
	j = ctl("POST", "/_sim/seed", seed_text, 200);
	users = json_object_get(j, "users");
	assert_int_equal(json_object_size(users), 4);
	assert_non_null(str(users, ALICE));
	assert_int_equal(strlen(str(users, ALICE)), 36);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "apps"), 0)), APP);
	assert_string_equal(str(json_object_get(j, "tenant"), "id"), TENANT);
	assert_int_equal(json_array_size(json_object_get(j, "mail")), 0);
	graph_fixture_token(&sim, APP, token, sizeof(token));
	/* The id from the seed is the user Graph shows. */
	{
		char path[256];
		json_t *u;

		snprintf(path, sizeof(path), "/v1.0/users/%s", BOB);
		u = graph("GET", path, 200);
		assert_string_equal(str(u, "id"), str(users, BOB));
		assert_string_equal(str(u, "displayName"), "Bob Brown");
		json_decref(u);
	}
	json_decref(j);

	/* A second seed adds to the first: an app with a certificate and one with only delegated
	 * consent (its token carries no roles, so mail answers 403). */
	testkeys_pem(0, NULL, &cert);
	j = json_string(cert);
	escaped = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	seed = xasprintf("{\"apps\":[{\"clientId\":\"cert-app\",\"certificate\":%s,"
	    "\"roles\":[\"Mail.Read\"]},{\"clientId\":\"delegated-app\",\"secret\":\"x\","
	    "\"scopes\":[\"Mail.Read\",\"offline_access\"]}]}", escaped);
	j = ctl("POST", "/_sim/seed", seed, 200);
	assert_int_equal(json_array_size(json_object_get(j, "apps")), 2);
	json_decref(j);
	j = ctl("POST", "/_sim/token", "{\"clientId\":\"delegated-app\"}", 200);
	assert_string_equal(str(j, "token_type"), "Bearer");
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 3599);
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users/" BOB "/mailFolders/inbox/messages",
	    NULL, str(j, "access_token"), NULL);
	assert_int_equal(h.status, 403);
	assert_string_equal(str(json_object_get(h.json, "error"), "code"), "ErrorAccessDenied");
	sim_http_free(&h);
	json_decref(j);
	j = ctl("POST", "/_sim/token", "{\"clientId\":\"cert-app\"}", 200);
	assert_non_null(str(j, "access_token"));
	json_decref(j);
	free(seed);
	free(escaped);
	free(cert);

	/* Tokens: unknown apps and malformed requests. */
	ctl_refused("POST", "/_sim/token", "{\"clientId\":\"nobody\"}", 400, "no app");
	ctl_refused("POST", "/_sim/token", "{}", 400, "clientId");
	ctl_refused("POST", "/_sim/token", NULL, 400, "clientId");
	ctl_refused("POST", "/_sim/token", "{\"clientId\":7}", 400, "clientId");
	ctl_refused("POST", "/_sim/token", "{\"clientId\":\"" APP "\",\"x\":1}", 400, "clientId");
}

static void
test_seed_rejects_and_keeps_nothing(void **state)
{
	static const struct {
		const char *seed, *needle;
	} cases[] = {
		{ "{\"contacts\":[]}", "unknown seed key \"contacts\"" },
		{ "{\"users\":{}}", "users must be an array" },
		{ "{\"tenant\":{\"id\":\"not-a-guid\"}}", "tenant.id must be a GUID" },
		{ "{\"tenant\":{\"domain\":\"nodots\"}}", "tenant.domain" },
		{ "{\"tenant\":{\"domain\":\"a..b\"}}", "tenant.domain" },
		{ "{\"tenant\":{\"name\":\"x\"}}", "unknown tenant setting" },
		{ "{\"tenant\":[]}", "tenant must be an object" },
		{ "{\"apps\":[{\"secret\":\"x\"}]}", "apps[0]: clientId is required" },
		{ "{\"apps\":[{\"clientId\":\"has space\"}]}", "clientId is required" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"certificate\":\"junk\"}]}", "apps[0]: certificate" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"roles\":\"Mail.Read\"}]}", "roles must be an array" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"roles\":[\"Mail Read\"]}]}", "roles[0]" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"roles\":[\"Mail.Read\",\"Mail.Read\"]}]}",
		    "twice" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"disabled\":\"yes\"}]}", "disabled must be true" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"secret\":\"\"}]}", "secret must not be empty" },
		{ "{\"apps\":[{\"clientId\":\"a\",\"owner\":\"x\"}]}", "unknown app setting" },
		{ "{\"apps\":[{\"clientId\":\"" APP "\"}]}", "already exists" },
		{ "{\"users\":[{\"displayName\":\"x\"}]}", "users[0]" },
		{ "{\"users\":[\"bob\"]}", "users[0]" },
		{ "{\"mail\":[7]}", "mail[0]" },
		{ "{\"events\":[[]]}", "events[0]" },
	};
	const char *atomic = "{\"tenant\":{\"id\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\","
	    "\"domain\":\"fabrikam.onmicrosoft.com\"},"
	    "\"apps\":[{\"clientId\":\"new-app\",\"secret\":\"x\",\"roles\":[\"User.Read.All\"]}],"
	    "\"users\":[{\"userPrincipalName\":\"erin@" DOMAIN "\"},"
	    "{\"userPrincipalName\":\"frank@" DOMAIN "\"},"
	    "{\"userPrincipalName\":\"ERIN@" DOMAIN "\"}]}";
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ctl_refused("POST", "/_sim/seed", cases[i].seed, 400, cases[i].needle);
	ctl_refused("POST", "/_sim/seed", NULL, 400, "JSON body");

	/* A duplicate user at the end: the tenant change, the app and the first users go too. */
	ctl_refused("POST", "/_sim/seed", atomic, 400, "nothing was kept: users[2]");
	ctl_refused("POST", "/_sim/token", "{\"clientId\":\"new-app\"}", 400, "no app");
	json_decref(graph("GET", "/v1.0/users/erin@" DOMAIN, 404));
	json_decref(graph("GET", "/v1.0/users/frank@" DOMAIN, 404));
	j = ctl("GET", "/_sim/health", NULL, 200);
	assert_string_equal(str(j, "tenantId"), TENANT);
	assert_string_equal(str(j, "tenantDomain"), DOMAIN);
	json_decref(j);
	/* What was there before is untouched. */
	json_decref(graph("GET", "/v1.0/users/" ALICE, 200));
}

static void
test_mail_delivery_routes_copies(void **state)
{
	json_t *r, *c, *copies;
	const char *imid;
	size_t i;

	(void)state;
	r = ctl("POST", "/_sim/mail", "{\"from\":\"Alice Adams <" ALICE ">\","
	    "\"to\":[\"" BOB "\"],\"cc\":[\"Carol <" CAROL ">\",\"someone@example.com\"],"
	    "\"subject\":\"Quarterly numbers\",\"body\":\"See attached.\"}", 201);
	imid = str(r, "internetMessageId");
	assert_non_null(imid);
	copies = json_object_get(r, "copies");
	/* bob and carol in their Inbox, alice (a tenant sender) in Sent Items; not dave. */
	assert_int_equal(json_array_size(copies), 3);
	assert_non_null(copy_of(r, BOB, "inbox"));
	assert_non_null(copy_of(r, CAROL, "inbox"));
	assert_non_null(copy_of(r, ALICE, "sentitems"));
	assert_null(copy_of(r, DAVE, NULL));
	assert_int_equal(count_subject(BOB, "inbox", "Quarterly numbers"), 1);
	assert_int_equal(count_subject(CAROL, "inbox", "Quarterly numbers"), 1);
	assert_int_equal(count_subject(ALICE, "sentitems", "Quarterly numbers"), 1);
	assert_int_equal(count_subject(ALICE, "inbox", "Quarterly numbers"), 0);
	assert_int_equal(count_subject(DAVE, "inbox", "Quarterly numbers"), 0);
	/* All copies share one internetMessageId, as Graph shows it. */
	json_array_foreach(copies, i, c) {
		char path[1024];
		char *id = httpc_escape(str(c, "id"));
		json_t *m;

		snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", str(c, "user"), id);
		m = graph("GET", path, 200);
		assert_string_equal(str(m, "internetMessageId"), imid);
		json_decref(m);
		free(id);
	}
	json_decref(r);

	/* A mail between outsiders has no mailbox to go to, and is refused. */
	ctl_refused("POST", "/_sim/mail", "{\"from\":\"x@example.com\",\"to\":[\"y@example.org\"],"
	    "\"subject\":\"Elsewhere\"}", 400, "no mailbox in the tenant");
	ctl_refused("POST", "/_sim/mail", NULL, 400, "JSON body");
}

static void
test_move_and_delete(void **state)
{
	static const struct {
		const char *method, *path, *body;
		long status;
		const char *needle;
	} refused[] = {
		{ "POST", "/_sim/mail/nobody@" DOMAIN "/{id}/move", "{\"folder\":\"archive\"}", 404,
		    "no user" },
		{ "POST", "/_sim/mail/" DAVE "/{id}/move", "{\"folder\":\"archive\"}", 404,
		    "no message" },
		{ "POST", "/_sim/mail/" BOB "/{id}/move", "{}", 400, "folder" },
		{ "POST", "/_sim/mail/" BOB "/{id}/move", NULL, 400, "folder" },
		{ "POST", "/_sim/mail/" BOB "/{id}/move", "{\"folder\":\"\"}", 400, "folder" },
		{ "POST", "/_sim/mail/" BOB "/{id}/move", "{\"folder\":\"x\",\"y\":1}", 400, "folder" },
		{ "DELETE", "/_sim/mail/" BOB "/AAMkNoSuchMessage{id}", NULL, 404, "no message" },
	};
	json_t *r, *moved;
	char path[2048], *id, *newid;

	(void)state;
	r = ctl("POST", "/_sim/mail", "{\"from\":\"" ALICE "\",\"to\":[\"" BOB "\"],"
	    "\"subject\":\"Move me\"}", 201);
	assert_non_null(copy_of(r, BOB, "inbox"));
	id = httpc_escape(str(copy_of(r, BOB, "inbox"), "id"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		fill(path, sizeof(path), refused[i].path, id);
		ctl_refused(refused[i].method, path, refused[i].body, refused[i].status,
		    refused[i].needle);
	}
	assert_int_equal(count_subject(BOB, "inbox", "Move me"), 1);

	snprintf(path, sizeof(path), "/_sim/mail/%s/%s/move", BOB, id);
	moved = ctl("POST", path, "{\"folder\":\"deleteditems\"}", 200);
	assert_int_equal(count_subject(BOB, "inbox", "Move me"), 0);
	assert_int_equal(count_subject(BOB, "deleteditems", "Move me"), 1);
	/* A move gives a new default id and keeps the immutable one (reference §5.1, §5.4). */
	assert_non_null(str(moved, "id"));
	assert_string_not_equal(str(moved, "id"), str(copy_of(r, BOB, "inbox"), "id"));
	assert_string_equal(str(moved, "immutableId"),
	    str(copy_of(r, BOB, "inbox"), "immutableId"));
	/* The old id is gone. */
	snprintf(path, sizeof(path), "/_sim/mail/%s/%s", BOB, id);
	ctl_refused("DELETE", path, NULL, 404, "no message");

	/* Deleting by the immutable id works too. */
	newid = httpc_escape(str(moved, "immutableId"));
	snprintf(path, sizeof(path), "/_sim/mail/%s/%s", BOB, newid);
	json_decref(ctl("DELETE", path, NULL, 200));
	assert_int_equal(count_subject(BOB, "deleteditems", "Move me"), 0);
	ctl_refused("DELETE", path, NULL, 404, "no message");
	/* Alice's Sent Items copy is another message and stays. */
	assert_int_equal(count_subject(ALICE, "sentitems", "Move me"), 1);
	free(newid);
	free(id);
	json_decref(moved);
	json_decref(r);
}

/* The copy of a meeting in user's calendar as Graph shows it, which must answer want (caller
 * decrefs). */
static json_t *
event_of(json_t *created, const char *user, long want)
{
	char path[1024], *id;
	json_t *c = NULL, *e;
	size_t i;

	json_array_foreach(json_object_get(created, "copies"), i, c)
		if (strcasecmp(str(c, "user"), user) == 0)
			break;
	assert_non_null(c);
	assert_string_equal(str(c, "user"), user);
	id = httpc_escape(str(c, "id"));
	snprintf(path, sizeof(path), "/v1.0/users/%s/events/%s", user, id);
	e = graph("GET", path, want);
	free(id);
	return e;
}

static const char *
attendee_response(json_t *event, const char *address)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(event, "attendees"), i, a) {
		const char *addr = str(json_object_get(a, "emailAddress"), "address");

		if (addr != NULL && strcasecmp(addr, address) == 0)
			return str(json_object_get(a, "status"), "response");
	}
	return NULL;
}

static void
test_events_respond_update(void **state)
{
	static const struct {
		const char *method, *path, *body;
		long status;
		const char *needle;
	} refused[] = {
		{ "POST", "/_sim/events/{id}/respond", "{\"user\":\"" BOB "\",\"response\":\"maybe\"}",
		    400, "response" },
		{ "POST", "/_sim/events/{id}/respond", "{\"response\":\"accepted\"}", 400, "user" },
		{ "POST", "/_sim/events/{id}/respond", NULL, 400, "response" },
		{ "POST", "/_sim/events/no-such-uid{id}/respond",
		    "{\"user\":\"" BOB "\",\"response\":\"accepted\"}", 404, "no event" },
		{ "PATCH", "/_sim/events/{id}", NULL, 400, "update needs" },
		{ "PATCH", "/_sim/events/{id}", "{}", 400, "update needs" },
		{ "PATCH", "/_sim/events/no-such-uid{id}", "{\"subject\":\"x\"}", 404, "no event" },
	};
	json_t *created, *e, *r;
	char path[1024], *uid;
	int n;

	(void)state;
	created = ctl("POST", "/_sim/events", "{\"organizer\":\"" ALICE "\","
	    "\"attendees\":[{\"address\":\"" BOB "\"},{\"address\":\"" CAROL "\","
	    "\"type\":\"optional\"}],\"subject\":\"Kickoff\","
	    "\"start\":{\"dateTime\":\"2030-01-10T10:00:00\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"2030-01-10T11:00:00\",\"timeZone\":\"UTC\"}}", 201);
	assert_non_null(str(created, "uid"));
	/* The organizer and both tenant attendees hold a copy. */
	assert_int_equal(json_array_size(json_object_get(created, "copies")), 3);
	uid = httpc_escape(str(created, "uid"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		fill(path, sizeof(path), refused[i].path, uid);
		ctl_refused(refused[i].method, path, refused[i].body, refused[i].status,
		    refused[i].needle);
	}
	e = graph("GET", "/v1.0/users/" BOB "/events", 200);
	n = 0;
	{
		json_t *v;
		size_t i;

		json_array_foreach(json_object_get(e, "value"), i, v)
			n += strcmp(str(v, "subject"), "Kickoff") == 0;
	}
	assert_int_equal(n, 1);
	json_decref(e);

	snprintf(path, sizeof(path), "/_sim/events/%s/respond", uid);
	json_decref(ctl("POST", path, "{\"user\":\"" BOB "\",\"response\":\"accepted\"}", 200));
	json_decref(ctl("POST", path, "{\"user\":\"" CAROL "\",\"response\":\"declined\"}",
	    200));
	e = event_of(created, ALICE, 200);
	assert_string_equal(attendee_response(e, BOB), "accepted");
	assert_string_equal(attendee_response(e, CAROL), "declined");
	json_decref(e);

	snprintf(path, sizeof(path), "/_sim/events/%s", uid);
	r = ctl("PATCH", path, "{\"subject\":\"Kickoff (moved)\","
	    "\"start\":{\"dateTime\":\"2030-01-11T10:00:00\",\"timeZone\":\"UTC\"},"
	    "\"end\":{\"dateTime\":\"2030-01-11T11:00:00\",\"timeZone\":\"UTC\"}}", 200);
	json_decref(r);
	e = event_of(created, ALICE, 200);
	assert_string_equal(str(e, "subject"), "Kickoff (moved)");
	assert_non_null(strstr(str(json_object_get(e, "start"), "dateTime"), "2030-01-11T10:00"));
	json_decref(e);
	e = event_of(created, BOB, 200);
	assert_string_equal(str(e, "subject"), "Kickoff (moved)");
	json_decref(e);
	/* Cancelling removes the organizer's copy, as Outlook does; attendees keep theirs,
	 * marked cancelled, until they remove it. */
	json_decref(ctl("PATCH", path, "{\"isCancelled\":true}", 200));
	json_decref(event_of(created, ALICE, 404));
	e = event_of(created, BOB, 200);
	assert_true(json_is_true(json_object_get(e, "isCancelled")));
	json_decref(e);
	ctl_refused("POST", "/_sim/events", NULL, 400, "JSON body");
	free(uid);
	json_decref(created);
}

static void
test_delta_expire(void **state)
{
	const char *link;
	char *body, *path;
	json_t *j, *page, *e;

	(void)state;
	json_decref(ctl("POST", "/_sim/mail", "{\"from\":\"" ALICE "\",\"to\":[\"" BOB "\"],"
	    "\"subject\":\"Delta\"}", 201));
	page = graph("GET", "/v1.0/users/" BOB "/mailFolders/inbox/messages/delta", 200);
	link = str(page, "@odata.deltaLink");
	assert_non_null(link);
	path = xstrdup(strstr(link, "/v1.0/"));
	json_decref(graph("GET", path, 200));

	ctl_refused("POST", "/_sim/delta/expire", "{\"token\":\"no-such-token\"}", 404,
	    "no such delta token");
	ctl_refused("POST", "/_sim/delta/expire", "{\"token\":5}", 400, "token must be");
	ctl_refused("POST", "/_sim/delta/expire", "{\"token\":\"\"}", 400, "token must be");
	ctl_refused("POST", "/_sim/delta/expire", "{\"tokens\":null}", 400, "delta/expire takes");
	/* The whole deltaLink is accepted in place of the bare token. */
	e = json_pack("{s:s}", "token", link);
	body = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	j = ctl("POST", "/_sim/delta/expire", body, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "expired")), 1);
	json_decref(j);
	e = graph("GET", path, 410);
	assert_string_equal(str(json_object_get(e, "error"), "code"), "SyncStateNotFound");
	json_decref(e);
	/* Expiring it again finds it, already expired. */
	j = ctl("POST", "/_sim/delta/expire", body, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "expired")), 0);
	json_decref(j);

	/* null (or no body) expires every live token. */
	json_decref(page);
	page = graph("GET", "/v1.0/users/" CAROL "/mailFolders/inbox/messages/delta", 200);
	assert_non_null(str(page, "@odata.deltaLink"));
	j = ctl("POST", "/_sim/delta/expire", "{\"token\":null}", 200);
	assert_true(json_integer_value(json_object_get(j, "expired")) >= 1);
	json_decref(j);
	free(path);
	path = xstrdup(strstr(str(page, "@odata.deltaLink"), "/v1.0/"));
	json_decref(graph("GET", path, 410));
	json_decref(page);
	free(path);
	free(body);
}

static void
test_stats(void **state)
{
	json_t *j, *routes, *mb;

	(void)state;
	json_decref(ctl("POST", "/_sim/stats/reset", NULL, 200));
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 0);
	assert_int_equal(json_object_size(json_object_get(j, "routes")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "throttled")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "batch_items")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "notifications"),
	    "delivered")), 0);
	json_decref(j);

	for (int i = 0; i < 3; i++)
		count_subject(BOB, "inbox", "x");
	count_subject(CAROL, "inbox", "x");
	/* OData key syntax counts as the same route. */
	json_decref(graph("GET", "/v1.0/users/" BOB "/mailFolders('inbox')/messages", 200));
	json_decref(graph("GET", "/v1.0/users/" BOB "/mailFolders/inbox/messages/delta", 200));
	json_decref(graph("GET", "/v1.0/users/" ALICE, 200));
	/* Control calls are not counted. */
	json_decref(ctl("GET", "/_sim/health", NULL, 200));

	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 7);
	routes = json_object_get(j, "routes");
	assert_int_equal(json_object_size(routes), 3);
	assert_int_equal(json_integer_value(json_object_get(routes,
	    "GET /v1.0/users/{id}/mailFolders/{id}/messages")), 5);
	assert_int_equal(json_integer_value(json_object_get(routes,
	    "GET /v1.0/users/{id}/mailFolders/{id}/messages/delta")), 1);
	assert_int_equal(json_integer_value(json_object_get(routes, "GET /v1.0/users/{id}")), 1);
	mb = json_object_get(j, "mailboxes");
	assert_int_equal(json_integer_value(json_object_get(mb, BOB)), 5);
	assert_int_equal(json_integer_value(json_object_get(mb, CAROL)), 1);
	assert_null(json_object_get(mb, DAVE));
	json_decref(j);

	json_decref(ctl("POST", "/_sim/stats/reset", NULL, 200));
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 0);
	assert_int_equal(json_object_size(json_object_get(j, "mailboxes")), 0);
	json_decref(j);
}

/* A subscription to bob's Inbox with both URLs on the hook server; its id (caller frees). */
static char *
subscribe(void)
{
	char exp[32], *body, *id;
	time_t t = time(NULL) + 3600;
	struct tm tm;
	struct sim_http h;

	gmtime_r(&t, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	body = xasprintf("{\"changeType\":\"created,updated,deleted\","
	    "\"notificationUrl\":\"%s/notify\",\"lifecycleNotificationUrl\":\"%s/lifecycle\","
	    "\"resource\":\"users/%s/mailFolders('inbox')/messages\","
	    "\"expirationDateTime\":\"%s\",\"clientState\":\"s3cret-state\"}",
	    hook_server_url(hooks), hook_server_url(hooks), BOB, exp);
	sim_http_do(&h, sim.base_url, "POST", "/v1.0/subscriptions", body, token, NULL);
	if (h.status != 201)
		fail_msg("subscription create: status %ld: %s", h.status,
		    h.resp.body ? h.resp.body : "");
	id = xstrdup(str(h.json, "id"));
	sim_http_free(&h);
	free(body);
	return id;
}

/* GET /_sim/deliveries?subscription=id, waiting up to 5 s until one has status want. */
static json_t *
wait_delivery(const char *query, const char *kind, const char *want)
{
	long deadline = mono_ms() + 5000;
	char path[256];

	snprintf(path, sizeof(path), "/_sim/deliveries?%s", query);
	for (;;) {
		json_t *j = ctl("GET", path, NULL, 200), *d;
		size_t i;

		json_array_foreach(json_object_get(j, "deliveries"), i, d) {
			if (strcmp(str(d, "kind"), kind) == 0 && strcmp(str(d, "status"), want) == 0) {
				json_t *keep = json_incref(d);

				json_decref(j);
				return keep;
			}
		}
		json_decref(j);
		if (mono_ms() > deadline)
			fail_msg("no %s delivery with status %s for %s", kind, want, query);
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void
test_deliveries_and_lifecycle(void **state)
{
	static const struct {
		const char *path, *body;
		long status;
		const char *needle;
	} refused[] = {
		{ "/_sim/subscriptions/{id}/lifecycle", "{\"event\":\"expired\"}", 400, "lifecycle needs" },
		{ "/_sim/subscriptions/{id}/lifecycle", "{}", 400, "lifecycle needs" },
		{ "/_sim/subscriptions/{id}/lifecycle", NULL, 400, "lifecycle needs" },
		{ "/_sim/subscriptions/{id}/lifecycle", "{\"event\":\"missed\",\"x\":1}", 400,
		    "lifecycle needs" },
		{ "/_sim/subscriptions/00000000-0000-4000-8000-000000000000{id}/lifecycle",
		    "{\"event\":\"missed\"}", 404, "no subscription" },
	};
	char *sub, query[128], path[256];
	json_t *d, *a, *j, *item;

	(void)state;
	sub = subscribe();
	json_decref(ctl("POST", "/_sim/mail", "{\"from\":\"" ALICE "\",\"to\":[\"" BOB "\"],"
	    "\"subject\":\"Notify me\"}", 201));
	snprintf(query, sizeof(query), "subscription=%s", sub);
	d = wait_delivery(query, "change", "delivered");
	assert_string_equal(str(d, "subscriptionId"), sub);
	assert_non_null(strstr(str(d, "url"), "/notify"));
	assert_non_null(str(d, "created"));
	assert_non_null(str(d, "delivered_at"));
	a = json_array_get(json_object_get(d, "attempts"), 0);
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "status")), 202);
	assert_true(json_is_integer(json_object_get(a, "latency_ms")));
	assert_non_null(str(a, "at"));
	/* The payload is the notification collection Graph posts (reference §3.1). */
	item = json_array_get(json_object_get(json_object_get(d, "payload"), "value"), 0);
	assert_string_equal(str(item, "subscriptionId"), sub);
	assert_string_equal(str(item, "changeType"), "created");
	assert_string_equal(str(item, "clientState"), "s3cret-state");
	json_decref(d);
	/* The filter works both ways. */
	j = ctl("GET", "/_sim/deliveries?subscription=00000000-0000-4000-8000-000000000000", NULL,
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "deliveries")), 0);
	json_decref(j);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		fill(path, sizeof(path), refused[i].path, sub);
		ctl_refused("POST", path, refused[i].body, refused[i].status, refused[i].needle);
	}
	snprintf(path, sizeof(path), "/_sim/subscriptions/%s/lifecycle", sub);
	j = ctl("POST", path, "{\"event\":\"missed\"}", 200);
	assert_string_equal(str(j, "lifecycleEvent"), "missed");
	json_decref(j);
	snprintf(query, sizeof(query), "subscription=%s&kind=lifecycle", sub);
	d = wait_delivery(query, "lifecycle", "delivered");
	assert_non_null(strstr(str(d, "url"), "/lifecycle"));
	item = json_array_get(json_object_get(json_object_get(d, "payload"), "value"), 0);
	assert_string_equal(str(item, "lifecycleEvent"), "missed");
	json_decref(d);
	assert_true(hook_server_wait(hooks, "/lifecycle", 2, 5000) >= 2);

	/* subscriptionRemoved has its real effect: the subscription is gone. */
	json_decref(ctl("POST", path, "{\"event\":\"subscriptionRemoved\"}", 200));
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", sub);
	json_decref(graph("GET", path, 404));
	snprintf(path, sizeof(path), "/_sim/subscriptions/%s/lifecycle", sub);
	ctl_refused("POST", path, "{\"event\":\"missed\"}", 404, "no subscription");

	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_true(json_integer_value(json_object_get(json_object_get(j, "notifications"),
	    "delivered")) >= 2);
	json_decref(j);
	free(sub);
}

static void
test_faults(void **state)
{
	static const struct {
		const char *fault;
		long status;
		const char *code, *message, *retry_after;
	} answers[] = {
		{ "{\"path\":\"/v1.0/users\",\"status\":429}", 429, "TooManyRequests",
		    "Please retry again later.", "2" },
		{ "{\"path\":\"/v1.0/users\",\"status\":429,\"retry_after\":7.5}", 429,
		    "TooManyRequests", "Please retry again later.", "7.5" },
		{ "{\"path\":\"/v1.0/users\",\"code\":\"ApplicationThrottled\"}", 429,
		    "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", "2" },
		{ "{\"path\":\"/v1.0/users\",\"status\":429,\"retry_after\":0}", 429,
		    "TooManyRequests", "Please retry again later.", NULL },
		{ "{\"path\":\"/v1.0/\",\"status\":503}", 503, "serviceNotAvailable", NULL, NULL },
		{ "{\"path\":\"/v1.0/\",\"status\":503,\"retry_after\":3}", 503, "serviceNotAvailable",
		    NULL, "3" },
		{ "{\"path\":\"/v1.0/\",\"status\":504}", 504, "UnknownError", "", NULL },
		{ "{\"path\":\"/v1.0/users/\",\"status\":401}", 401, "InvalidAuthenticationToken",
		    NULL, NULL },
		{ "{\"method\":\"get\",\"path\":\"/v1.0/users\",\"status\":418,\"code\":\"Teapot\","
		    "\"message\":\"short and stout\"}", 418, "Teapot", "short and stout", NULL },
	};
	static const struct {
		const char *fault, *needle;
	} rejected[] = {
		{ "{\"status\":503}", "path" },
		{ "{\"path\":\"v1.0\",\"status\":503}", "path" },
		{ "{\"path\":\"/_sim/stats\",\"status\":503}", "not to /_sim" },
		{ "{\"path\":\"/v1.0\"}", "needs a status, drop or delay_ms" },
		{ "{\"path\":\"/v1.0\",\"status\":99}", "status must be" },
		{ "{\"path\":\"/v1.0\",\"status\":600}", "status must be" },
		{ "{\"path\":\"/v1.0\",\"status\":\"503\"}", "status must be" },
		{ "{\"path\":\"/v1.0\",\"status\":503,\"drop\":true}", "exclude" },
		{ "{\"path\":\"/v1.0\",\"status\":418}", "no preset" },
		{ "{\"path\":\"/v1.0\",\"code\":\"Teapot\"}", "no preset" },
		{ "{\"path\":\"/v1.0\",\"code\":\"bad code\",\"status\":400}", "code must be" },
		{ "{\"path\":\"/v1.0\",\"message\":\"x\",\"delay_ms\":5}", "need a status" },
		{ "{\"path\":\"/v1.0\",\"status\":429,\"retry_after\":-1}", "retry_after" },
		{ "{\"path\":\"/v1.0\",\"status\":429,\"retry_after\":\"2\"}", "retry_after" },
		{ "{\"path\":\"/v1.0\",\"status\":503,\"count\":0}", "count" },
		{ "{\"path\":\"/v1.0\",\"delay_ms\":600001}", "delay_ms" },
		{ "{\"path\":\"/v1.0\",\"drop\":1}", "drop must be" },
		{ "{\"path\":\"/v1.0\",\"status\":503,\"method\":\"G T\"}", "method" },
		{ "{\"path\":\"/v1.0\",\"status\":503,\"errorCode\":\"x\"}", "unknown fault setting" },
	};
	struct sim_http h;
	json_t *j, *err;
	long t0;

	(void)state;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		ctl_refused("POST", "/_sim/faults", rejected[i].fault, 400, rejected[i].needle);
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "faults")), 0);
	json_decref(j);

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const char *ra;

		json_decref(ctl("POST", "/_sim/faults", answers[i].fault, 200));
		sim_http_do(&h, sim.base_url, "GET", "/v1.0/users/" BOB, NULL, token, NULL);
		assert_int_equal(h.fail, HTTPC_OK);
		if (h.status != answers[i].status)
			fail_msg("%s: status %ld", answers[i].fault, h.status);
		err = json_object_get(h.json, "error");
		assert_string_equal(str(err, "code"), answers[i].code);
		if (answers[i].message != NULL)
			assert_string_equal(str(err, "message"), answers[i].message);
		else
			assert_true(strlen(str(err, "message")) > 0);
		/* Graph's error shape: innerError with request-id and date (reference §7.1). */
		assert_non_null(str(json_object_get(err, "innerError"), "request-id"));
		assert_non_null(str(json_object_get(err, "innerError"), "date"));
		ra = sim_http_header(&h, "Retry-After");
		if (answers[i].retry_after == NULL)
			assert_null(ra);
		else
			assert_string_equal(ra, answers[i].retry_after);
		sim_http_free(&h);
		/* A fault is taken once (count 1): the next call is served. */
		json_decref(graph("GET", "/v1.0/users/" BOB, 200));
	}

	/* count, method and path: only matching requests take it, in order. */
	j = ctl("POST", "/_sim/faults", "{\"method\":\"GET\",\"path\":\"/v1.0/users/" CAROL "\","
	    "\"count\":2,\"status\":503}", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "remaining")), 2);
	assert_string_equal(str(j, "method"), "GET");
	assert_string_equal(str(j, "code"), "serviceNotAvailable");
	json_decref(j);
	json_decref(graph("GET", "/v1.0/users/" BOB, 200));
	json_decref(graph("GET", "/v1.0/users/" CAROL, 503));
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "faults"), 0), "remaining")), 1);
	json_decref(j);
	json_decref(graph("GET", "/v1.0/users/" CAROL, 503));
	json_decref(graph("GET", "/v1.0/users/" CAROL, 200));

	/* delay: served, late. */
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/v1.0/users\",\"delay_ms\":600}",
	    200));
	t0 = mono_ms();
	json_decref(graph("GET", "/v1.0/users/" BOB, 200));
	assert_true(mono_ms() - t0 >= 550);
	/* drop: no answer at all (a fresh connection, so libcurl cannot silently resend). */
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/v1.0/users\",\"drop\":true}", 200));
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users/" BOB, NULL, token, NULL);
	assert_int_not_equal(h.fail, HTTPC_OK);
	assert_int_equal(h.status, 0);
	sim_http_free(&h);
	json_decref(graph("GET", "/v1.0/users/" BOB, 200));
	/* The token endpoint can fail too. */
	json_decref(ctl("POST", "/_sim/faults", "{\"method\":\"POST\",\"path\":\"/" TENANT
	    "/oauth2/\",\"status\":503}", 200));
	sim_http_form(&h, sim.base_url, "/" TENANT "/oauth2/v2.0/token", "grant_type="
	    "client_credentials&client_id=" APP "&client_secret=s3cret&scope=https%3A%2F%2F"
	    "graph.microsoft.com%2F.default", NULL);
	assert_int_equal(h.status, 503);
	sim_http_free(&h);

	/* DELETE clears what is left. */
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/v1.0\",\"status\":500,"
	    "\"count\":5}", 200));
	j = ctl("DELETE", "/_sim/faults", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "cleared")), 1);
	json_decref(j);
	json_decref(graph("GET", "/v1.0/users/" BOB, 200));
}

static void
test_config(void **state)
{
	static const struct {
		const char *body, *needle;
	} rejected[] = {
		{ "{\"bogus\":1}", "unknown setting \"bogus\"" },
		{ "{\"token_ttl_sec\":0}", "token_ttl_sec must be an integer from 1" },
		{ "{\"token_ttl_sec\":\"60\"}", "token_ttl_sec must be" },
		{ "{\"token_ttl_sec\":1.5}", "token_ttl_sec must be" },
		{ "{\"require_https\":1}", "require_https must be true or false" },
		{ "{\"retry_scale\":-0.5}", "retry_scale must be a number" },
		{ "{\"retry_scale\":true}", "retry_scale must be a number" },
		{ "{\"throttle_concurrency\":0}", "throttle_concurrency" },
		{ "{\"sub_max_minutes\":525601}", "sub_max_minutes" },
		/* All checked before any is saved. */
		{ "{\"token_ttl_sec\":120,\"ack_timeout_ms\":-1}", "ack_timeout_ms" },
	};
	static const char *const keys[] = {
		"token_ttl_sec", "sub_max_minutes", "sub_max_minutes_rich", "require_https",
		"retry_scale", "ack_timeout_ms", "retry_timeout_ms", "validation_timeout_ms",
		"retry_window_sec", "throttle_requests", "throttle_window_sec",
		"throttle_concurrency", "delta_token_ttl_sec", "subs_per_mailbox",
	};
	json_t *j;

	(void)state;
	json_decref(ctl("POST", "/_sim/reset", NULL, 200));
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_object_size(j), sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(j, keys[i]));
	/* The defaults the reference gives (§0, §2.3, §3.3, §6.1). */
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 3599);
	assert_int_equal(json_integer_value(json_object_get(j, "sub_max_minutes")), 10070);
	assert_int_equal(json_integer_value(json_object_get(j, "sub_max_minutes_rich")), 1440);
	assert_true(json_is_true(json_object_get(j, "require_https")));
	assert_true(json_real_value(json_object_get(j, "retry_scale")) == 1.0);
	assert_int_equal(json_integer_value(json_object_get(j, "ack_timeout_ms")), 3000);
	assert_int_equal(json_integer_value(json_object_get(j, "throttle_requests")), 10000);
	assert_int_equal(json_integer_value(json_object_get(j, "throttle_window_sec")), 600);
	assert_int_equal(json_integer_value(json_object_get(j, "throttle_concurrency")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "subs_per_mailbox")), 1000);
	json_decref(j);

	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		ctl_refused("POST", "/_sim/config", rejected[i].body, 400, rejected[i].needle);
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 3599);
	json_decref(j);

	j = ctl("POST", "/_sim/config", "{\"token_ttl_sec\":120,\"require_https\":false,"
	    "\"retry_scale\":0.25,\"throttle_concurrency\":2,\"delta_token_ttl_sec\":30}", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 120);
	assert_true(json_is_false(json_object_get(j, "require_https")));
	assert_true(json_real_value(json_object_get(j, "retry_scale")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(j, "throttle_concurrency")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "delta_token_ttl_sec")), 30);
	assert_int_equal(json_integer_value(json_object_get(j, "sub_max_minutes")), 10070);
	json_decref(j);
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 120);
	json_decref(j);
	/* The setting takes effect: minted tokens say so. */
	json_decref(ctl("POST", "/_sim/seed", seed_text, 200));
	j = ctl("POST", "/_sim/token", "{\"clientId\":\"" APP "\"}", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 120);
	json_decref(j);
}

static void
test_reset(void **state)
{
	json_t *j;
	char *old = xstrdup(token);
	struct sim_http h;

	(void)state;
	json_decref(ctl("POST", "/_sim/config", "{\"token_ttl_sec\":77}", 200));
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/nowhere\",\"status\":503}", 200));
	json_decref(ctl("POST", "/_sim/mail", "{\"from\":\"" ALICE "\",\"to\":[\"" BOB "\"],"
	    "\"subject\":\"Before reset\"}", 201));
	count_subject(BOB, "inbox", "Before reset");

	j = ctl("POST", "/_sim/reset", NULL, 200);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	ctl_refused("POST", "/_sim/token", "{\"clientId\":\"" APP "\"}", 400, "no app");
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 3599);
	json_decref(j);
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "faults")), 0);
	json_decref(j);
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 0);
	json_decref(j);
	/* The users are gone: a token of the old app still verifies (the key is kept) but finds
	 * nobody. */
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users/" BOB, NULL, old, NULL);
	assert_int_equal(h.fail, HTTPC_OK);
	assert_int_not_equal(h.status, 200);
	sim_http_free(&h);
	/* The same seed goes in again: nothing of it was left. */
	json_decref(ctl("POST", "/_sim/seed", seed_text, 200));
	graph_fixture_token(&sim, APP, token, sizeof(token));
	assert_int_equal(count_subject(BOB, "inbox", "Before reset"), 0);
	free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_health_and_unknown_paths, fresh),
		cmocka_unit_test_setup(test_bad_json, fresh),
		cmocka_unit_test_setup(test_seed_and_token, fresh),
		cmocka_unit_test_setup(test_seed_rejects_and_keeps_nothing, fresh),
		cmocka_unit_test_setup(test_mail_delivery_routes_copies, fresh),
		cmocka_unit_test_setup(test_move_and_delete, fresh),
		cmocka_unit_test_setup(test_events_respond_update, fresh),
		cmocka_unit_test_setup(test_delta_expire, fresh),
		cmocka_unit_test_setup(test_stats, fresh),
		cmocka_unit_test_setup(test_deliveries_and_lifecycle, fresh),
		cmocka_unit_test_setup(test_faults, fresh),
		cmocka_unit_test_setup(test_config, fresh),
		cmocka_unit_test_setup(test_reset, fresh),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
