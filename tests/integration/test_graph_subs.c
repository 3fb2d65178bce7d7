/* test_graph_subs.c: graph-sim's /v1.0/subscriptions and change notifications over HTTP against
 * the real binary, with a scriptable webhook receiver (hook_server) in this process: the
 * validation handshake (working, failing, slow, wrong echo), the limits, renew, delete,
 * reauthorize, notification shape, immutable ids, retries, slow receivers, expiry and
 * lifecycle events. */
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
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

/* APP has Mail.Read and Calendars.Read. */
#define APP		"11111111-1111-4111-8111-111111111111"
#define OTHER_APP	"22222222-2222-4222-8222-222222222222"	/* Mail.Read only */
#define NOMAIL_APP	"33333333-3333-4333-8333-333333333333"	/* User.Read.All only */
#define ALICE		"alice@contoso.onmicrosoft.com"
#define BOB		"bob@contoso.onmicrosoft.com"
#define CAROL		"carol@contoso.onmicrosoft.com"		/* no mailbox */
#define TOKEN_PREFIX	"Validation: Testing client application reachability for " \
			"subscription Request-Id: "
#define ENCODED_PREFIX	"Validation%3a+Testing+client+application+reachability+for+" \
			"subscription+Request-Id%3a+"

static struct sim_proc sim;
static struct hook_server *hook;
static char token[4096], other_token[4096], nomail_token[4096];
static char alice_id[40], bob_id[40];

/* ---- helpers ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* A control call that must answer want; returns its JSON body (caller decrefs). */
static json_t *
ctl(const char *method, const char *path, const char *body, long want)
{
	return sim_http_ctl(sim.base_url, method, path, body, want);
}

static void
config(const char *body)
{
	graph_fixture_config(&sim, body);
}

/* A Graph call as tok; fails the test unless it answers want. Returns the body (caller
 * decrefs; NULL for none). */
static json_t *
graph(const char *method, const char *path, json_t *body, const char *tok, long want,
    const char *const *headers)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_t *j = graph_fixture_call(&sim, method, path, text, tok, headers, want);

	free(text);
	return j;
}

/* A Graph call as the main app with a body given as text. */
static json_t *
graph_text(const char *method, const char *path, const char *text, long want)
{
	json_t *body = json_loads(text, JSON_DECODE_ANY, NULL), *j;

	assert_non_null(body);
	j = graph(method, path, body, token, want, NULL);
	json_decref(body);
	return j;
}

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? s : "";
}

static const char *
error_code(json_t *j)
{
	return str(json_object_get(j, "error"), "code");
}

static const char *
error_message(json_t *j)
{
	return str(json_object_get(j, "error"), "message");
}

/* UTC now + sec, as "YYYY-MM-DDTHH:MM:SS.fffffffZ". */
static char *
iso_in(double sec)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	time_t t;
	double when;

	clock_gettime(CLOCK_REALTIME, &ts);
	when = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + sec;
	t = (time_t)when;
	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%07ldZ", base, (long)((when - (double)t) * 1e7));
}

static char *
hook_url(const char *path)
{
	return xasprintf("%s%s", hook_server_url(hook), path);
}

/* A create body: resource, the receiver path, change types, lifetime in seconds, clientState
 * (may be NULL), lifecycle receiver path (may be NULL). */
static json_t *
sub_body(const char *resource, const char *path, const char *types, double lifetime,
    const char *state, const char *lifecycle_path)
{
	char *url = hook_url(path), *exp = iso_in(lifetime);
	json_t *b = json_pack("{s:s,s:s,s:s,s:s}", "changeType", types, "notificationUrl", url,
	    "resource", resource, "expirationDateTime", exp);

	if (state != NULL)
		json_object_set_new(b, "clientState", json_string(state));
	if (lifecycle_path != NULL) {
		char *l = hook_url(lifecycle_path);

		json_object_set_new(b, "lifecycleNotificationUrl", json_string(l));
		free(l);
	}
	free(url);
	free(exp);
	return b;
}

/* Creates a subscription that must succeed; its id goes to id (37 bytes). */
static json_t *
create_ok(json_t *body, const char *tok, char id[37], const char *const *headers)
{
	json_t *j = graph("POST", "/v1.0/subscriptions", body, tok, 201, headers);

	snprintf(id, 37, "%s", str(j, "id"));
	assert_int_equal(strlen(id), 36);
	return j;
}

/* The delivered mail's copy in user's mailbox: rest and immutable ids. */
static void
deliver_mail(const char *to, const char *subject, char rest_id[256], char immutable_id[256])
{
	char body[512];
	json_t *r, *copy;
	size_t i;

	snprintf(body, sizeof(body), "{\"from\":\"Ext Sender <ext@example.com>\",\"to\":[\"%s\"],"
	    "\"subject\":\"%s\",\"body\":\"hello\"}", to, subject);
	r = ctl("POST", "/_sim/mail", body, 201);
	rest_id[0] = immutable_id[0] = '\0';
	json_array_foreach(json_object_get(r, "copies"), i, copy) {
		if (strcasecmp(str(copy, "user"), to) == 0) {
			snprintf(rest_id, 256, "%s", str(copy, "id"));
			snprintf(immutable_id, 256, "%s", str(copy, "immutableId"));
		}
	}
	json_decref(r);
	assert_true(rest_id[0] != '\0');
	assert_true(immutable_id[0] != '\0');
}

/* The i-th POST to path, parsed (caller decrefs). */
static json_t *
received(const char *path, int i)
{
	struct hook_record r;
	json_t *j;

	assert_int_equal(hook_server_get(hook, path, i, &r), 0);
	j = json_loads(r.body, 0, NULL);
	if (j == NULL)
		fail_msg("POST %s #%d: body is not JSON: %s", path, i, r.body);
	hook_record_free(&r);
	return j;
}

/* Deliveries of kind for a subscription, from the control API (caller decrefs). */
static json_t *
deliveries(const char *sub_id, const char *kind)
{
	char path[256];
	json_t *j, *list;

	snprintf(path, sizeof(path), "/_sim/deliveries?subscription=%s&kind=%s", sub_id, kind);
	j = ctl("GET", path, NULL, 200);
	list = json_incref(json_object_get(j, "deliveries"));
	json_decref(j);
	assert_non_null(list);
	return list;
}

static long
stat_notifications(const char *key)
{
	json_t *j = ctl("GET", "/_sim/stats", NULL, 200);
	long n = (long)json_integer_value(json_object_get(json_object_get(j, "notifications"),
	    key));

	json_decref(j);
	return n;
}

/* Waits (up to timeout_ms) for the subscription's change delivery to leave 'pending' and
 * 'sending'; returns it (caller decrefs). */
static json_t *
settled_delivery(const char *sub_id, long timeout_ms)
{
	for (long waited = 0;; waited += 50) {
		json_t *list = deliveries(sub_id, "change"), *d = json_array_get(list, 0);
		const char *status = str(d, "status");

		if (d != NULL && strcmp(status, "pending") != 0 && strcmp(status, "sending") != 0) {
			json_incref(d);
			json_decref(list);
			return d;
		}
		json_decref(list);
		if (waited >= timeout_ms)
			fail_msg("delivery of %s still pending after %ld ms", sub_id, timeout_ms);
		sleep_ms(50);
	}
}

/* ---- fixtures ---- */

static int
start(void **state)
{
	(void)state;
	if (graph_fixture_start(&sim, NULL, NULL, NULL) < 0)
		return -1;
	hook = hook_server_start();
	return hook == NULL ? -1 : 0;
}

static int
stop(void **state)
{
	(void)state;
	hook_server_stop(hook);
	return graph_fixture_stop(&sim);
}

/* Every test starts from the same tenant, default settings but http receivers and fast
 * retries, and a receiver with no scripts or records. */
static int
reset(void **state)
{
	static const char seed[] =
	    "{\"tenant\":{\"id\":\"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\","
	    "\"domain\":\"contoso.onmicrosoft.com\"},"
	    "\"apps\":["
	    "{\"clientId\":\"" APP "\",\"secret\":\"s1\",\"roles\":[\"Mail.Read\","
	    "\"Calendars.Read\",\"User.Read.All\"]},"
	    "{\"clientId\":\"" OTHER_APP "\",\"secret\":\"s2\",\"roles\":[\"Mail.Read\"]},"
	    "{\"clientId\":\"" NOMAIL_APP "\",\"secret\":\"s3\",\"roles\":[\"User.Read.All\"]}],"
	    "\"users\":["
	    "{\"userPrincipalName\":\"" ALICE "\",\"mail\":\"" ALICE "\","
	    "\"displayName\":\"Alice\"},"
	    "{\"userPrincipalName\":\"" BOB "\",\"mail\":\"" BOB "\",\"displayName\":\"Bob\"},"
	    "{\"userPrincipalName\":\"" CAROL "\",\"displayName\":\"Carol\","
	    "\"hasMailbox\":false}]}";
	json_t *j, *users;

	(void)state;
	j = graph_fixture_reseed(&sim, seed);
	users = json_object_get(j, "users");
	snprintf(alice_id, sizeof(alice_id), "%s", str(users, ALICE));
	snprintf(bob_id, sizeof(bob_id), "%s", str(users, BOB));
	json_decref(j);
	assert_int_equal(strlen(alice_id), 36);
	config("{\"require_https\":false,\"retry_scale\":0.001,\"ack_timeout_ms\":3000}");
	graph_fixture_token(&sim, APP, token, sizeof(token));
	graph_fixture_token(&sim, OTHER_APP, other_token, sizeof(other_token));
	graph_fixture_token(&sim, NOMAIL_APP, nomail_token, sizeof(nomail_token));
	hook_server_clear(hook);
	return 0;
}

/* ---- tests ---- */

static int
is_graph_time(const char *s)
{
	/* "2026-01-08T11:00:00.0000000Z" */
	if (strlen(s) != 28 || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[27] != 'Z')
		return 0;
	for (int i = 20; i < 27; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void
test_create_handshake(void **state)
{
	static const char *const nulls[] = {
		"notificationQueryOptions", "notificationContentType", "includeResourceData",
		"encryptionCertificate", "encryptionCertificateId", "notificationUrlAppId",
	};
	json_t *body, *j, *got;
	struct hook_record r;
	char id[37], path[128], *url;

	(void)state;
	/* A notificationUrl with a query: the token is appended with '&'. */
	body = sub_body("users/" ALICE "/mailFolders('inbox')/messages", "/notify?src=crm",
	    "created,updated", 3600, "s3cret", "/lifecycle");
	j = create_ok(body, token, id, NULL);
	assert_true(strstr(str(j, "@odata.context"), "/v1.0/$metadata#subscriptions/$entity")
	    != NULL);
	assert_string_equal(str(j, "resource"), "users/" ALICE "/mailFolders('inbox')/messages");
	assert_string_equal(str(j, "applicationId"), APP);
	assert_string_equal(str(j, "changeType"), "created,updated");
	assert_string_equal(str(j, "clientState"), "s3cret");
	url = hook_url("/notify?src=crm");
	assert_string_equal(str(j, "notificationUrl"), url);
	free(url);
	url = hook_url("/lifecycle");
	assert_string_equal(str(j, "lifecycleNotificationUrl"), url);
	free(url);
	assert_true(is_graph_time(str(j, "expirationDateTime")));
	assert_int_equal(strlen(str(j, "creatorId")), 36);
	assert_string_equal(str(j, "latestSupportedTlsVersion"), "v1_2");
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (!json_is_null(json_object_get(j, nulls[i])))
			fail_msg("%s should be null", nulls[i]);
	}

	/* The handshake: a POST per URL, '+'-encoded token, text/plain, empty body. */
	assert_int_equal(hook_server_count(hook, "/notify"), 1);
	assert_int_equal(hook_server_count(hook, "/lifecycle"), 1);
	assert_int_equal(hook_server_get(hook, "/notify", 0, &r), 0);
	assert_string_equal(r.method, "POST");
	assert_true(strncmp(r.raw_query, "src=crm&validationToken=", 24) == 0);
	assert_non_null(r.raw_token);
	assert_true(strncmp(r.raw_token, ENCODED_PREFIX, strlen(ENCODED_PREFIX)) == 0);
	assert_int_equal(strlen(r.raw_token), strlen(ENCODED_PREFIX) + 36);
	assert_non_null(r.token);
	assert_true(strncmp(r.token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0);
	assert_int_equal(strlen(r.token), strlen(TOKEN_PREFIX) + 36);
	assert_non_null(r.content_type);
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	assert_string_equal(r.body, "");
	assert_int_equal(r.answered, 200);
	hook_record_free(&r);
	assert_int_equal(hook_server_get(hook, "/lifecycle", 0, &r), 0);
	assert_true(strncmp(r.raw_query, "validationToken=" ENCODED_PREFIX, 16 +
	    strlen(ENCODED_PREFIX)) == 0);
	hook_record_free(&r);

	/* GET shows it, clientState included. */
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", id);
	got = graph("GET", path, NULL, token, 200, NULL);
	assert_string_equal(str(got, "id"), id);
	assert_string_equal(str(got, "clientState"), "s3cret");
	assert_string_equal(str(got, "expirationDateTime"), str(j, "expirationDateTime"));
	json_decref(got);
	json_decref(j);
	json_decref(body);
}

/* Every refused create answers before any handshake: the receiver sees nothing. */
static void
test_create_rejects(void **state)
{
	static const struct {
		const char *name;
		const char *tok;	/* "app", "other", "nomail" */
		const char *key;	/* property to change; NULL for none */
		const char *json;	/* its new value as JSON; NULL removes it */
		int status;
		const char *code;
		const char *message;	/* a substring */
	} rows[] = {
		{ "no changeType", "app", "changeType", NULL, 400, "InvalidRequest",
		    "changeType is a required property for subscription creation." },
		{ "bad changeType", "app", "changeType", "\"created,moved\"", 400,
		    "InvalidRequest", "moved" },
		{ "empty changeType", "app", "changeType", "\"\"", 400, "InvalidRequest",
		    "changeType is a required property" },
		{ "no notificationUrl", "app", "notificationUrl", NULL, 400, "InvalidRequest",
		    "notificationUrl is a required property" },
		{ "relative notificationUrl", "app", "notificationUrl", "\"/notify\"", 400,
		    "InvalidRequest", "NotificationUrl" },
		{ "ftp notificationUrl", "app", "notificationUrl", "\"ftp://x/y\"", 400,
		    "InvalidRequest", "NotificationUrl" },
		{ "bad lifecycle url", "app", "lifecycleNotificationUrl", "\"nope\"", 400,
		    "InvalidRequest", "LifecycleNotificationUrl" },
		{ "no resource", "app", "resource", NULL, 400, "InvalidRequest",
		    "resource is a required property" },
		{ "me resource", "app", "resource", "\"me/messages\"", 400, "BadRequest",
		    "/me request is only valid with delegated authentication flow." },
		{ "/me resource", "app", "resource", "\"/me/mailFolders('inbox')/messages\"", 400,
		    "BadRequest", "/me request" },
		{ "contacts", "app", "resource", "\"users/" ALICE "/contacts\"", 400,
		    "InvalidRequest", "not supported" },
		{ "query on resource", "app", "resource",
		    "\"users/" ALICE "/messages?$filter=isRead eq false\"", 400, "InvalidRequest",
		    "Query options" },
		{ "unknown user", "app", "resource", "\"users/nobody@contoso.com/messages\"", 404,
		    "ErrorInvalidUser", "nobody@contoso.com" },
		{ "no mailbox", "app", "resource", "\"users/" CAROL "/messages\"", 404,
		    "ResourceNotFound", "Resource could not be discovered." },
		{ "unknown folder", "app", "resource",
		    "\"users/" ALICE "/mailFolders('nosuch')/messages\"", 404, "ErrorItemNotFound",
		    "not found" },
		{ "no expiration", "app", "expirationDateTime", NULL, 400, "InvalidRequest",
		    "expirationDateTime is a required property for subscription creation." },
		{ "bad expiration", "app", "expirationDateTime", "\"2030-13-01T00:00:00Z\"", 400,
		    "InvalidRequest", "Could not process subscription creation payload." },
		{ "Feb 30", "app", "expirationDateTime", "\"2030-02-30T00:00:00Z\"", 400,
		    "InvalidRequest", "Could not process" },
		{ "past expiration", "app", "expirationDateTime", "\"2020-01-01T00:00:00Z\"", 400,
		    "ExtensionError", "future" },
		{ "beyond ceiling", "app", "expirationDateTime", "\"2999-01-01T00:00:00Z\"", 400,
		    "ExtensionError",
		    "Subscription expiration can only be 10070 minutes in the future." },
		{ "clientState 256", "app", "clientState", NULL, 400, "InvalidRequest", "255" },
		{ "clientState number", "app", "clientState", "42", 400, "InvalidRequest",
		    "Could not process" },
		{ "bad tls", "app", "latestSupportedTlsVersion", "\"v2_0\"", 400,
		    "InvalidRequest", "latestSupportedTlsVersion" },
		{ "rich", "app", "includeResourceData", "true", 400, "InvalidRequest",
		    "includeResourceData" },
		{ "no mail role", "nomail", NULL, NULL, 403, "ErrorAccessDenied",
		    "Access is denied. Check credentials and try again." },
		{ "no calendar role", "other", "resource", "\"users/" ALICE "/events\"", 403,
		    "ErrorAccessDenied", "Access is denied." },
	};
	char long_state[257];

	(void)state;
	memset(long_state, 'x', 256);
	long_state[256] = '\0';
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *body = sub_body("users/" ALICE "/messages", "/notify", "created", 3600,
		    "st", NULL), *j;
		const char *tok = strcmp(rows[i].tok, "other") == 0 ? other_token :
		    strcmp(rows[i].tok, "nomail") == 0 ? nomail_token : token;

		if (rows[i].key != NULL && rows[i].json == NULL &&
		    strcmp(rows[i].key, "clientState") == 0)
			json_object_set_new(body, "clientState", json_string(long_state));
		else if (rows[i].key != NULL && rows[i].json == NULL)
			json_object_del(body, rows[i].key);
		else if (rows[i].key != NULL)
			json_object_set_new(body, rows[i].key, json_loads(rows[i].json,
			    JSON_DECODE_ANY, NULL));
		j = graph("POST", "/v1.0/subscriptions", body, tok, rows[i].status, NULL);
		if (strcmp(error_code(j), rows[i].code) != 0 ||
		    strstr(error_message(j), rows[i].message) == NULL)
			fail_msg("%s: got %s \"%s\", want %s \"%s\"", rows[i].name, error_code(j),
			    error_message(j), rows[i].code, rows[i].message);
		assert_non_null(json_object_get(json_object_get(json_object_get(j, "error"),
		    "innerError"), "request-id"));
		json_decref(j);
		json_decref(body);
	}
	assert_int_equal(hook_server_count(hook, ""), 0);
}

/* The accepted edges of the same rules, and the body shapes that are not objects. */
static void
test_create_accepts(void **state)
{
	static const struct {
		const char *resource;
		const char *types;
	} rows[] = {
		{ "users/" ALICE "/messages", "created" },
		{ "/users/" ALICE "/messages", "updated" },
		{ "Users/" ALICE "/Messages", "deleted" },
		{ "users/" ALICE "/mailFolders('Inbox')/messages", "created" },
		{ "users/" ALICE "/mailFolders/sentitems/messages", "created" },
		{ "users/" ALICE "/events", "created,updated,deleted" },
		{ "users/" BOB "/messages", " created , deleted " },
	};
	char state255[256], id[37];
	json_t *body, *j;

	(void)state;
	memset(state255, 'y', 255);
	state255[255] = '\0';
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		body = sub_body(rows[i].resource, "/notify", rows[i].types, 3600,
		    i == 0 ? state255 : NULL, NULL);
		j = create_ok(body, token, id, NULL);
		assert_string_equal(str(j, "resource"), rows[i].resource);
		if (i == 0)
			assert_string_equal(str(j, "clientState"), state255);
		else
			assert_true(json_is_null(json_object_get(j, "clientState")));
		json_decref(j);
		json_decref(body);
	}
	j = graph("GET", "/v1.0/subscriptions", NULL, token, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "value")),
	    sizeof(rows) / sizeof(rows[0]));
	json_decref(j);
	assert_int_equal(hook_server_count(hook, "/notify"), sizeof(rows) / sizeof(rows[0]));

	/* Bodies that are not subscription objects. */
	{
		static const char *const bad[] = { "[]", "\"x\"", "42" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			json_decref(graph_text("POST", "/v1.0/subscriptions", bad[i], 400));
		}
	}
}

/* The ceiling follows the configured sub_max_minutes, in the check and in the message. */
static void
test_ceiling(void **state)
{
	json_t *body, *j;
	char id[37];

	(void)state;
	config("{\"sub_max_minutes\":60}");
	body = sub_body("users/" ALICE "/messages", "/notify", "created", 61 * 60, NULL, NULL);
	j = graph("POST", "/v1.0/subscriptions", body, token, 400, NULL);
	assert_string_equal(error_code(j), "ExtensionError");
	assert_string_equal(error_message(j),
	    "Subscription expiration can only be 60 minutes in the future.");
	json_decref(j);
	json_decref(body);
	body = sub_body("users/" ALICE "/messages", "/notify", "created", 59 * 60, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
}

static void
test_validation_failures(void **state)
{
	static const struct {
		const char *name;
		struct hook_behavior notify;	/* answer to the notificationUrl handshake */
		struct hook_behavior lifecycle;	/* answer to the lifecycle handshake */
		const char *code;
		const char *message;
	} rows[] = {
		{ "500", { .status = 500 }, { 0 }, "ValidationError",
		    "Subscription validation request failed. Notification endpoint must respond "
		    "with 200 OK to validation request." },
		{ "204", { .status = 204 }, { 0 }, "ValidationError",
		    "Notification endpoint must respond with 200 OK" },
		{ "dropped", { .drop = 1 }, { 0 }, "ValidationError",
		    "Notification endpoint must respond with 200 OK" },
		{ "slow", { .delay_ms = 1500 }, { 0 }, "InvalidRequest",
		    "Subscription validation request timed out." },
		{ "wrong echo", { .echo = HOOK_ECHO_WRONG }, { 0 }, "ValidationError",
		    "Subscription validation request failed. Response must exactly match "
		    "validationToken query parameter." },
		{ "encoded echo", { .echo = HOOK_ECHO_RAW }, { 0 }, "ValidationError",
		    "Response must exactly match validationToken query parameter." },
		{ "lifecycle 500", { 0 }, { .status = 500 }, "ValidationError",
		    "must respond with 200 OK" },
	};
	json_t *body, *j;

	(void)state;
	config("{\"validation_timeout_ms\":400}");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hook_server_clear(hook);
		hook_server_script(hook, "/notify", &rows[i].notify, 1);
		hook_server_script(hook, "/lifecycle", &rows[i].lifecycle, 1);
		body = sub_body("users/" ALICE "/messages", "/notify", "created", 3600, NULL,
		    "/lifecycle");
		j = graph("POST", "/v1.0/subscriptions", body, token, 400, NULL);
		if (strcmp(error_code(j), rows[i].code) != 0 ||
		    strstr(error_message(j), rows[i].message) == NULL)
			fail_msg("%s: got %s \"%s\"", rows[i].name, error_code(j),
			    error_message(j));
		json_decref(j);
		json_decref(body);
		/* The handshake did happen, and no subscription was made. */
		assert_int_equal(hook_server_count(hook, "/notify"), 1);
		j = graph("GET", "/v1.0/subscriptions", NULL, token, 200, NULL);
		assert_int_equal(json_array_size(json_object_get(j, "value")), 0);
		json_decref(j);
	}
	/* The attempts are in the deliveries as kind "validation". */
	j = ctl("GET", "/_sim/deliveries?kind=validation", NULL, 200);
	assert_true(json_array_size(json_object_get(j, "deliveries")) >=
	    sizeof(rows) / sizeof(rows[0]));
	json_decref(j);
}

static void
test_https_required(void **state)
{
	json_t *body, *j;

	(void)state;
	config("{\"require_https\":true}");
	body = sub_body("users/" ALICE "/messages", "/notify", "created", 3600, NULL, NULL);
	j = graph("POST", "/v1.0/subscriptions", body, token, 400, NULL);
	assert_string_equal(error_code(j), "InvalidRequest");
	assert_string_equal(error_message(j), "NotificationUrl scheme='http' is not supported.");
	json_decref(j);
	json_decref(body);
	assert_int_equal(hook_server_count(hook, ""), 0);
}

static void
test_duplicates_and_quota(void **state)
{
	json_t *body, *j;
	char first[37], id[37], want[128];

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/notify", "created,updated", 3600, NULL,
	    NULL);
	json_decref(create_ok(body, token, first, NULL));
	/* Same app, resource and change types, even spelled differently: 409. */
	json_object_set_new(body, "changeType", json_string("updated,created"));
	json_object_set_new(body, "resource", json_string("/users/" ALICE "/messages"));
	j = graph("POST", "/v1.0/subscriptions", body, token, 409, NULL);
	snprintf(want, sizeof(want), "Subscription Id %s already exists for the requested "
	    "combination", first);
	assert_string_equal(error_message(j), want);
	assert_string_equal(error_code(j), "ObjectIdentifierInUse");
	json_decref(j);
	/* The user by id is the same mailbox. */
	{
		char res[128];

		snprintf(res, sizeof(res), "users/%s/messages", alice_id);
		json_object_set_new(body, "resource", json_string(res));
		json_decref(graph("POST", "/v1.0/subscriptions", body, token, 409, NULL));
	}
	/* Another app, or other change types, or another folder, are not duplicates. */
	json_decref(create_ok(body, other_token, id, NULL));
	json_object_set_new(body, "changeType", json_string("created"));
	json_decref(create_ok(body, token, id, NULL));
	json_object_set_new(body, "resource",
	    json_string("users/" ALICE "/mailFolders('inbox')/messages"));
	json_object_set_new(body, "changeType", json_string("created,updated"));
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);

	/* Quota: subscriptions per mailbox, all apps together. Alice has 4 now. */
	config("{\"subs_per_mailbox\":4}");
	body = sub_body("users/" ALICE "/events", "/notify", "created", 3600, NULL, NULL);
	j = graph("POST", "/v1.0/subscriptions", body, token, 403, NULL);
	assert_string_equal(error_code(j), "ExtensionError");
	assert_non_null(strstr(error_message(j), "limit of 4"));
	json_decref(j);
	/* Bob's mailbox has its own count. */
	json_object_set_new(body, "resource", json_string("users/" BOB "/events"));
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
}

static void
test_list_get_other_apps(void **state)
{
	json_t *body, *j, *item;
	char mine[37], theirs[37], path[128];
	size_t i;

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/notify", "created", 3600, "mine", NULL);
	json_decref(create_ok(body, token, mine, NULL));
	json_object_set_new(body, "clientState", json_string("theirs"));
	json_decref(create_ok(body, other_token, theirs, NULL));
	json_decref(body);

	j = graph("GET", "/v1.0/subscriptions", NULL, token, 200, NULL);
	assert_true(strstr(str(j, "@odata.context"), "/v1.0/$metadata#subscriptions") != NULL);
	assert_int_equal(json_array_size(json_object_get(j, "value")), 1);
	json_array_foreach(json_object_get(j, "value"), i, item) {
		assert_string_equal(str(item, "id"), mine);
		/* Lists withhold clientState. */
		assert_true(json_is_null(json_object_get(item, "clientState")));
		assert_string_equal(str(item, "applicationId"), APP);
	}
	json_decref(j);

	/* Another app's subscription does not exist for us, whatever the method. */
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", theirs);
	{
		static const char *const methods[] = { "GET", "DELETE" };

		for (i = 0; i < 2; i++) {
			j = graph(methods[i], path, NULL, token, 404, NULL);
			assert_string_equal(error_code(j), "ResourceNotFound");
			assert_string_equal(error_message(j), "The object was not found.");
			json_decref(j);
		}
	}
	body = json_pack("{s:s}", "expirationDateTime", "2999-01-01T00:00:00Z");
	json_decref(graph("PATCH", path, body, token, 404, NULL));
	json_decref(body);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s/reauthorize", theirs);
	json_decref(graph("POST", path, NULL, token, 404, NULL));
	json_decref(graph("GET", "/v1.0/subscriptions/00000000-0000-4000-8000-000000000000",
	    NULL, token, 404, NULL));
	/* Theirs is still there for them. */
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", theirs);
	j = graph("GET", path, NULL, other_token, 200, NULL);
	assert_string_equal(str(j, "clientState"), "theirs");
	json_decref(j);
}

static void
test_renew_delete(void **state)
{
	json_t *body, *j, *patch;
	char id[37], path[128], *exp;

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/notify", "created", 600, "st", NULL);
	j = create_ok(body, token, id, NULL);
	json_decref(body);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", id);

	exp = iso_in(2 * 86400);
	patch = json_pack("{s:s}", "expirationDateTime", exp);
	json_decref(j);
	j = graph("PATCH", path, patch, token, 200, NULL);
	assert_string_equal(str(j, "id"), id);
	assert_string_equal(str(j, "expirationDateTime"), exp);
	assert_string_equal(str(j, "clientState"), "st");
	json_decref(j);
	json_decref(patch);
	free(exp);
	j = graph("GET", path, NULL, token, 200, NULL);
	assert_true(is_graph_time(str(j, "expirationDateTime")));
	json_decref(j);

	/* Renewals obey the same rules as creation. */
	{
		static const struct {
			const char *body;
			const char *code;
		} rows[] = {
			{ "{\"expirationDateTime\":\"2999-01-01T00:00:00Z\"}", "ExtensionError" },
			{ "{\"expirationDateTime\":\"2001-01-01T00:00:00Z\"}", "ExtensionError" },
			{ "{\"expirationDateTime\":\"tomorrow\"}", "InvalidRequest" },
			{ "{\"expirationDateTime\":7}", "InvalidRequest" },
			{ "{\"lifecycleNotificationUrl\":\"http://127.0.0.1:1/l\"}",
			    "InvalidRequest" },
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			json_t *j400 = graph_text("PATCH", path, rows[i].body, 400);

			if (strcmp(error_code(j400), rows[i].code) != 0)
				fail_msg("PATCH %s: %s", rows[i].body, error_code(j400));
			json_decref(j400);
		}
	}

	/* A new notificationUrl is validated first. */
	{
		struct hook_behavior b = { .status = 500 };
		char *url = hook_url("/moved");

		hook_server_script(hook, "/moved", &b, 1);
		patch = json_pack("{s:s}", "notificationUrl", url);
		j = graph("PATCH", path, patch, token, 400, NULL);
		assert_string_equal(error_code(j), "ValidationError");
		json_decref(j);
		j = graph("PATCH", path, patch, token, 200, NULL);
		assert_string_equal(str(j, "notificationUrl"), url);
		json_decref(j);
		json_decref(patch);
		free(url);
		assert_int_equal(hook_server_count(hook, "/moved"), 2);
	}

	json_decref(graph("DELETE", path, NULL, token, 204, NULL));
	j = graph("GET", path, NULL, token, 404, NULL);
	assert_string_equal(error_code(j), "ResourceNotFound");
	json_decref(j);
	json_decref(graph("DELETE", path, NULL, token, 404, NULL));
	json_decref(graph("PUT", "/v1.0/subscriptions", NULL, token, 405, NULL));
}

/* Checks one change notification against §3.1's shape. */
static void
check_notification(json_t *n, const char *sub_id, const char *exp, const char *change,
    const char *user_id, const char *item_id, const char *client_state)
{
	char resource[512];
	json_t *data = json_object_get(n, "resourceData");

	snprintf(resource, sizeof(resource), "Users/%s/Messages/%s", user_id, item_id);
	assert_string_equal(str(n, "subscriptionId"), sub_id);
	assert_string_equal(str(n, "subscriptionExpirationDateTime"), exp);
	assert_string_equal(str(n, "changeType"), change);
	assert_string_equal(str(n, "resource"), resource);
	assert_string_equal(str(n, "tenantId"), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	if (client_state != NULL)
		assert_string_equal(str(n, "clientState"), client_state);
	else
		assert_true(json_is_null(json_object_get(n, "clientState")));
	assert_string_equal(str(data, "@odata.type"), "#Microsoft.Graph.Message");
	assert_string_equal(str(data, "@odata.id"), resource);
	assert_string_equal(str(data, "id"), item_id);
	assert_true(strncmp(str(data, "@odata.etag"), "W/\"", 3) == 0);
}

static void
test_notification(void **state)
{
	json_t *body, *sub, *sent_sub, *imm_sub, *payload, *value;
	char id[37], sent_id[37], imm_id[37], rest[256], imm[256], rest_b[256], imm_b[256];
	static const char *const immutable[] = { "Prefer: IdType=\"ImmutableId\"", NULL };
	struct hook_record r;

	(void)state;
	body = sub_body("users/" ALICE "/mailFolders('inbox')/messages", "/alice", "created",
	    3600, "s3cret", NULL);
	sub = create_ok(body, token, id, NULL);
	json_decref(body);
	/* A subscription on another folder hears nothing of inbox mail. */
	body = sub_body("users/" ALICE "/mailFolders('sentitems')/messages", "/sent", "created",
	    3600, NULL, NULL);
	sent_sub = create_ok(body, token, sent_id, NULL);
	json_decref(body);
	/* Bob's subscription asks for immutable ids. */
	body = sub_body("users/" BOB "/messages", "/bob", "created", 3600, NULL, NULL);
	imm_sub = create_ok(body, token, imm_id, immutable);
	json_decref(body);
	hook_server_clear(hook);

	deliver_mail(ALICE, "for alice", rest, imm);
	assert_int_equal(hook_server_wait(hook, "/alice", 1, 1000), 1);
	assert_int_equal(hook_server_get(hook, "/alice", 0, &r), 0);
	assert_string_equal(r.method, "POST");
	assert_non_null(r.content_type);
	assert_non_null(strstr(r.content_type, "application/json"));
	assert_int_equal(r.answered, 202);
	hook_record_free(&r);
	payload = received("/alice", 0);
	value = json_object_get(payload, "value");
	assert_int_equal(json_array_size(value), 1);
	check_notification(json_array_get(value, 0), id, str(sub, "expirationDateTime"),
	    "created", alice_id, rest, "s3cret");
	json_decref(payload);

	deliver_mail(BOB, "for bob", rest_b, imm_b);
	assert_string_not_equal(rest_b, imm_b);
	assert_int_equal(hook_server_wait(hook, "/bob", 1, 1000), 1);
	payload = received("/bob", 0);
	check_notification(json_array_get(json_object_get(payload, "value"), 0), imm_id,
	    str(imm_sub, "expirationDateTime"), "created", bob_id, imm_b, NULL);
	json_decref(payload);

	/* By now the sent-items subscription would have heard, had it matched. */
	sleep_ms(300);
	assert_int_equal(hook_server_count(hook, "/sent"), 0);
	assert_int_equal(hook_server_count(hook, "/alice"), 1);
	{
		json_t *d = settled_delivery(id, 2000);

		assert_string_equal(str(d, "status"), "delivered");
		assert_int_equal(json_array_size(json_object_get(d, "attempts")), 1);
		json_decref(d);
	}
	assert_true(stat_notifications("delivered") >= 2);
	json_decref(sub);
	json_decref(sent_sub);
	json_decref(imm_sub);
}

/* Deleted and moved messages, and meetings: the change types and resource shapes. */
static void
test_deleted_moved_events(void **state)
{
	json_t *body, *payload, *n, *r, *copy, *data;
	char id[37], ev_id[37], rest[256], imm[256], path[512], resource[512];
	const char *ev_item = NULL;
	size_t i;

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/gone", "deleted", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	body = sub_body("users/" BOB "/events", "/meet", "created", 3600, "cal", NULL);
	json_decref(create_ok(body, token, ev_id, NULL));
	json_decref(body);
	body = sub_body("users/" BOB "/events", "/unmeet", "deleted", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);

	/* Creation is not subscribed: only the delete is heard, without an etag. */
	deliver_mail(ALICE, "to delete", rest, imm);
	snprintf(path, sizeof(path), "/_sim/mail/%s/%s", ALICE, rest);
	json_decref(ctl("DELETE", path, NULL, 200));
	assert_int_equal(hook_server_wait(hook, "/gone", 1, 1000), 1);
	payload = received("/gone", 0);
	n = json_array_get(json_object_get(payload, "value"), 0);
	assert_string_equal(str(n, "changeType"), "deleted");
	assert_string_equal(str(json_object_get(n, "resourceData"), "id"), rest);
	assert_null(json_object_get(json_object_get(n, "resourceData"), "@odata.etag"));
	json_decref(payload);

	/* A move is a delete here and a create there: a mailbox-wide "deleted" hears it. */
	deliver_mail(ALICE, "to move", rest, imm);
	snprintf(path, sizeof(path), "/_sim/mail/%s/%s/move", ALICE, rest);
	json_decref(ctl("POST", path, "{\"folder\":\"archive\"}", 200));
	assert_int_equal(hook_server_wait(hook, "/gone", 2, 1000), 2);
	payload = received("/gone", 1);
	n = json_array_get(json_object_get(payload, "value"), 0);
	assert_string_equal(str(n, "changeType"), "deleted");
	assert_string_equal(str(json_object_get(n, "resourceData"), "id"), rest);
	json_decref(payload);

	r = ctl("POST", "/_sim/events", "{\"organizer\":\"" ALICE "\",\"attendees\":"
	    "[{\"address\":\"" BOB "\"}],\"subject\":\"Sync\",\"start\":{\"dateTime\":"
	    "\"2030-01-07T10:00:00\",\"timeZone\":\"UTC\"},\"end\":{\"dateTime\":"
	    "\"2030-01-07T11:00:00\",\"timeZone\":\"UTC\"}}", 201);
	json_array_foreach(json_object_get(r, "copies"), i, copy)
		if (strcasecmp(str(copy, "user"), BOB) == 0)
			ev_item = str(copy, "id");
	assert_non_null(ev_item);
	assert_int_equal(hook_server_wait(hook, "/meet", 1, 1000), 1);
	payload = received("/meet", 0);
	n = json_array_get(json_object_get(payload, "value"), 0);
	data = json_object_get(n, "resourceData");
	snprintf(resource, sizeof(resource), "Users/%s/Events/%s", bob_id, ev_item);
	assert_string_equal(str(n, "subscriptionId"), ev_id);
	assert_string_equal(str(n, "changeType"), "created");
	assert_string_equal(str(n, "clientState"), "cal");
	assert_string_equal(str(n, "resource"), resource);
	assert_string_equal(str(data, "@odata.type"), "#Microsoft.Graph.Event");
	assert_string_equal(str(data, "@odata.id"), resource);
	assert_string_equal(str(data, "id"), ev_item);
	assert_true(strncmp(str(data, "@odata.etag"), "W/\"", 3) == 0);
	json_decref(payload);

	/* Bob deletes the meeting from his calendar: his "deleted" subscription hears it. */
	snprintf(path, sizeof(path), "/_sim/events/%s?user=%s", str(r, "uid"), BOB);
	json_decref(ctl("DELETE", path, NULL, 200));
	assert_int_equal(hook_server_wait(hook, "/unmeet", 1, 1000), 1);
	payload = received("/unmeet", 0);
	n = json_array_get(json_object_get(payload, "value"), 0);
	assert_string_equal(str(n, "changeType"), "deleted");
	assert_string_equal(str(n, "resource"), resource);
	assert_string_equal(str(json_object_get(n, "resourceData"), "id"), ev_item);
	assert_null(json_object_get(json_object_get(n, "resourceData"), "@odata.etag"));
	json_decref(payload);
	assert_int_equal(hook_server_count(hook, "/meet"), 1);
	json_decref(r);
}

/* Several changes queued together go out in one POST. */
static void
test_batching(void **state)
{
	json_t *body, *payload;
	char id[37];

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/batch", "created", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);
	/* Alice writes to herself: a Sent Items copy and an Inbox copy, one delivery call. */
	json_decref(ctl("POST", "/_sim/mail", "{\"from\":\"" ALICE "\",\"to\":[\"" ALICE "\"],"
	    "\"subject\":\"note to self\",\"body\":\"x\"}", 201));
	assert_true(hook_server_wait(hook, "/batch", 1, 1000) >= 1);
	sleep_ms(200);
	assert_int_equal(hook_server_count(hook, "/batch"), 1);
	payload = received("/batch", 0);
	assert_int_equal(json_array_size(json_object_get(payload, "value")), 2);
	json_decref(payload);
}

static void
test_retries(void **state)
{
	struct hook_behavior fail500 = { .status = 500 };
	json_t *body, *d, *attempts;
	char id[37], rest[256], imm[256];
	long retried = stat_notifications("retried");

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/retry", "created", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);
	hook_server_script(hook, "/retry", &fail500, 2);
	deliver_mail(ALICE, "retry me", rest, imm);
	assert_int_equal(hook_server_wait(hook, "/retry", 3, 5000), 3);
	d = settled_delivery(id, 3000);
	assert_string_equal(str(d, "status"), "delivered");
	attempts = json_object_get(d, "attempts");
	assert_int_equal(json_array_size(attempts), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(attempts, 0),
	    "status")), 500);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(attempts, 1),
	    "status")), 500);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(attempts, 2),
	    "status")), 202);
	json_decref(d);
	assert_int_equal(stat_notifications("retried") - retried, 2);
	/* Each try carried the same notification. */
	{
		json_t *a = received("/retry", 0), *b = received("/retry", 2);

		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
}

/* A 2xx after the ack window does not count: the notification is sent again. */
static void
test_slow_receiver(void **state)
{
	struct hook_behavior slow = { .delay_ms = 900 };
	json_t *body, *d, *attempts;
	char id[37], rest[256], imm[256];
	long slow_before = stat_notifications("slow");

	(void)state;
	config("{\"ack_timeout_ms\":300}");
	body = sub_body("users/" ALICE "/messages", "/slow", "created", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);
	hook_server_script(hook, "/slow", &slow, 1);
	deliver_mail(ALICE, "slowly", rest, imm);
	assert_int_equal(hook_server_wait(hook, "/slow", 2, 5000), 2);
	d = settled_delivery(id, 3000);
	assert_string_equal(str(d, "status"), "delivered");
	attempts = json_object_get(d, "attempts");
	assert_int_equal(json_array_size(attempts), 2);
	/* The first got no answer in time. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(attempts, 0),
	    "status")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(attempts, 1),
	    "status")), 202);
	json_decref(d);
	assert_true(stat_notifications("slow") > slow_before);
}

/* A receiver that never succeeds: retried until the (scaled) window closes, then failed. */
static void
test_gives_up(void **state)
{
	struct hook_behavior fail503 = { .status = 503 };
	json_t *body, *d;
	char id[37], rest[256], imm[256];
	long failed = stat_notifications("failed");
	size_t tries;

	(void)state;
	/* Scaled: tries at 0, +60 ms, +180 ms, +420 ms, then the 0.5 s window is over. */
	config("{\"retry_window_sec\":500}");
	body = sub_body("users/" ALICE "/messages", "/down", "created", 3600, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);
	hook_server_script(hook, "/down", &fail503, 1000);
	deliver_mail(ALICE, "nobody home", rest, imm);
	d = settled_delivery(id, 5000);
	assert_string_equal(str(d, "status"), "failed");
	tries = json_array_size(json_object_get(d, "attempts"));
	assert_true(tries >= 2 && tries <= 5);
	assert_int_equal((int)tries, hook_server_count(hook, "/down"));
	json_decref(d);
	assert_int_equal(stat_notifications("failed") - failed, 1);
	sleep_ms(300);
	assert_int_equal((int)tries, hook_server_count(hook, "/down"));
}

static void
test_expiry(void **state)
{
	json_t *body, *j;
	char id[37], path[128], rest[256], imm[256];

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/expiring", "created", 1.5, NULL, NULL);
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	hook_server_clear(hook);
	sleep_ms(2000);
	deliver_mail(ALICE, "too late", rest, imm);
	sleep_ms(700);
	assert_int_equal(hook_server_count(hook, "/expiring"), 0);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", id);
	j = graph("GET", path, NULL, token, 404, NULL);
	assert_string_equal(error_code(j), "ResourceNotFound");
	json_decref(j);
	j = graph("GET", "/v1.0/subscriptions", NULL, token, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "value")), 0);
	json_decref(j);
}

static void
lifecycle(const char *id, const char *event, long want)
{
	char path[128], body[128];

	snprintf(path, sizeof(path), "/_sim/subscriptions/%s/lifecycle", id);
	snprintf(body, sizeof(body), "{\"event\":\"%s\"}", event);
	json_decref(ctl("POST", path, body, want));
}

static void
check_lifecycle(int i, const char *id, const char *event)
{
	json_t *p = received("/lc", i), *n = json_array_get(json_object_get(p, "value"), 0);

	assert_string_equal(str(n, "subscriptionId"), id);
	assert_string_equal(str(n, "lifecycleEvent"), event);
	assert_string_equal(str(n, "clientState"), "life");
	assert_string_equal(str(n, "tenantId"), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	assert_true(is_graph_time(str(n, "subscriptionExpirationDateTime")));
	assert_null(json_object_get(n, "changeType"));
	json_decref(p);
}

static void
test_lifecycle(void **state)
{
	json_t *body, *patch;
	char id[37], plain[37], path[128], rest[256], imm[256], *exp;

	(void)state;
	body = sub_body("users/" ALICE "/messages", "/changes", "created", 3600, "life", "/lc");
	json_decref(create_ok(body, token, id, NULL));
	json_decref(body);
	body = sub_body("users/" BOB "/messages", "/plain", "created", 3600, NULL, NULL);
	json_decref(create_ok(body, token, plain, NULL));
	json_decref(body);
	hook_server_clear(hook);

	/* missed: just the notification. */
	lifecycle(id, "missed", 200);
	assert_int_equal(hook_server_wait(hook, "/lc", 1, 1000), 1);
	check_lifecycle(0, id, "missed");

	/* reauthorizationRequired pauses change notifications until reauthorize. */
	lifecycle(id, "reauthorizationRequired", 200);
	assert_int_equal(hook_server_wait(hook, "/lc", 2, 1000), 2);
	check_lifecycle(1, id, "reauthorizationRequired");
	deliver_mail(ALICE, "while paused", rest, imm);
	sleep_ms(500);
	assert_int_equal(hook_server_count(hook, "/changes"), 0);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s/reauthorize", id);
	json_decref(graph("POST", path, NULL, token, 204, NULL));
	deliver_mail(ALICE, "after reauthorize", rest, imm);
	assert_int_equal(hook_server_wait(hook, "/changes", 1, 1000), 1);

	/* ... or until renewed. */
	lifecycle(id, "reauthorizationRequired", 200);
	assert_int_equal(hook_server_wait(hook, "/lc", 3, 1000), 3);
	deliver_mail(ALICE, "paused again", rest, imm);
	sleep_ms(400);
	assert_int_equal(hook_server_count(hook, "/changes"), 1);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", id);
	exp = iso_in(7200);
	patch = json_pack("{s:s}", "expirationDateTime", exp);
	json_decref(graph("PATCH", path, patch, token, 200, NULL));
	json_decref(patch);
	free(exp);
	deliver_mail(ALICE, "after renew", rest, imm);
	assert_int_equal(hook_server_wait(hook, "/changes", 2, 1000), 2);

	/* subscriptionRemoved: notified, then gone. */
	lifecycle(id, "subscriptionRemoved", 200);
	assert_int_equal(hook_server_wait(hook, "/lc", 4, 1000), 4);
	check_lifecycle(3, id, "subscriptionRemoved");
	json_decref(graph("GET", path, NULL, token, 404, NULL));
	deliver_mail(ALICE, "after removal", rest, imm);
	sleep_ms(400);
	assert_int_equal(hook_server_count(hook, "/changes"), 2);

	/* Refused: no lifecycle URL, unknown subscription, unknown event. */
	lifecycle(plain, "missed", 400);
	lifecycle("00000000-0000-4000-8000-000000000000", "missed", 404);
	lifecycle(plain, "renamed", 400);
	assert_int_equal(hook_server_count(hook, "/lc"), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create_handshake, reset),
		cmocka_unit_test_setup(test_create_rejects, reset),
		cmocka_unit_test_setup(test_create_accepts, reset),
		cmocka_unit_test_setup(test_ceiling, reset),
		cmocka_unit_test_setup(test_validation_failures, reset),
		cmocka_unit_test_setup(test_https_required, reset),
		cmocka_unit_test_setup(test_duplicates_and_quota, reset),
		cmocka_unit_test_setup(test_list_get_other_apps, reset),
		cmocka_unit_test_setup(test_renew_delete, reset),
		cmocka_unit_test_setup(test_notification, reset),
		cmocka_unit_test_setup(test_deleted_moved_events, reset),
		cmocka_unit_test_setup(test_batching, reset),
		cmocka_unit_test_setup(test_retries, reset),
		cmocka_unit_test_setup(test_slow_receiver, reset),
		cmocka_unit_test_setup(test_gives_up, reset),
		cmocka_unit_test_setup(test_expiry, reset),
		cmocka_unit_test_setup(test_lifecycle, reset),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, start, stop));
}
