/* test_sf_control.c: sf-sim's /_sim control API over HTTP against the real sf-sim binary: seeding
 * with keys and its all-or-nothing rollback, record dumps, route statistics, every fault kind,
 * settings (the daily API limit), token minting and expiry, reset, and the inputs each refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define V	"/services/data/v62.0"
#define ADMIN	"admin@sf-sim.local"

static struct sim_proc sim;

struct reply {
	enum httpc_fail fail;
	long status;
	json_t *json;		/* the body parsed as JSON, or NULL */
	char *body;
	char ctype[128];
	char limit_info[128];	/* Sforce-Limit-Info */
	long ms;		/* wall time of the exchange */
};

static void
request(const char *method, const char *path, const char *body, const char *token,
    struct reply *r)
{
	struct sim_http sh;
	const char *h;
	long t0;

	memset(r, 0, sizeof(*r));
	/* sim_http_do takes a fresh connection each time: libcurl silently resends a request once
	 * when a reused connection closes without an answer, which would hide every dropped
	 * connection. */
	t0 = mono_ms();
	sim_http_do(&sh, sim.base_url, method, path, body, token, NULL);
	r->ms = mono_ms() - t0;
	r->fail = sh.fail;
	r->status = sh.status;
	if (r->fail == HTTPC_OK) {
		r->body = xstrdup(sh.resp.body ? sh.resp.body : "");
		r->json = json_loads(r->body, JSON_DECODE_ANY, NULL);
		if ((h = sim_http_header(&sh, "Content-Type")) != NULL)
			snprintf(r->ctype, sizeof(r->ctype), "%s", h);
		if ((h = sim_http_header(&sh, "Sforce-Limit-Info")) != NULL)
			snprintf(r->limit_info, sizeof(r->limit_info), "%s", h);
	}
	sim_http_free(&sh);
}

static void
reply_free(struct reply *r)
{
	json_decref(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* A control call that must answer want; returns its JSON body (caller decrefs). */
static json_t *
ctl(const char *method, const char *path, const char *body, long want)
{
	struct reply r;
	json_t *j;

	request(method, path, body, NULL, &r);
	assert_int_equal(r.fail, HTTPC_OK);
	if (r.status != want)
		fail_msg("%s %s %s: status %ld, want %ld: %s", method, path, body ? body : "",
		    r.status, want, r.body);
	assert_non_null(r.json);
	j = json_incref(r.json);
	reply_free(&r);
	return j;
}

static json_t *
records(const char *obj)
{
	char path[128];
	json_t *j, *recs;

	snprintf(path, sizeof(path), "/_sim/records/%s", obj);
	j = ctl("GET", path, NULL, 200);
	recs = json_incref(json_object_get(j, "records"));
	json_decref(j);
	assert_true(json_is_array(recs));
	return recs;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The record in recs whose field equals value, or NULL (borrowed from recs). */
static json_t *
find(json_t *recs, const char *field, const char *value)
{
	json_t *rec;
	size_t i;

	json_array_foreach(recs, i, rec) {
		const char *v = str(rec, field);

		if (v != NULL && strcmp(v, value) == 0)
			return rec;
	}
	return NULL;
}

/* A fresh access token for username (NULL: the default admin). Caller frees. */
static char *
token_for(const char *username)
{
	char body[256];
	json_t *j;
	char *tok;

	if (username)
		snprintf(body, sizeof(body), "{\"username\":\"%s\"}", username);
	j = ctl("POST", "/_sim/token", username ? body : NULL, 200);
	assert_non_null(str(j, "access_token"));
	tok = xstrdup(str(j, "access_token"));
	json_decref(j);
	return tok;
}

static char *
admin_id(void)
{
	json_t *users = records("User"), *admin = find(users, "Username", ADMIN);
	char *id;

	assert_non_null(admin);
	id = xstrdup(str(admin, "Id"));
	json_decref(users);
	return id;
}

static void
error_has(json_t *j, const char *needle)
{
	const char *e = str(j, "error");

	assert_non_null(e);
	if (strstr(e, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", e, needle);
}

/* The data API's one-element error array. */
static void
sf_error_is(const struct reply *r, long status, const char *code, const char *msg_part)
{
	json_t *e;

	if (r->status != status)
		fail_msg("status %ld, want %ld: %s", r->status, status, r->body);
	assert_true(json_is_array(r->json));
	e = json_array_get(r->json, 0);
	assert_string_equal(str(e, "errorCode"), code);
	if (msg_part != NULL && strstr(str(e, "message"), msg_part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", str(e, "message"), msg_part);
}

static int
group_setup(void **state)
{
	(void)state;
	return sim_proc_start_sim(&sim, "sf-sim", NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	/* A clean exit: under ASan a leak or a crash in sf-sim fails the test here. */
	return sim_proc_stop_clean(&sim, "sf-sim");
}

/* Every test starts from a reset org. */
static int
reset(void **state)
{
	json_t *j = ctl("POST", "/_sim/reset", NULL, 200);

	(void)state;
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	return 0;
}

static void
test_rejects(void **state)
{
	static const struct {
		const char *method, *path, *body;
		long status;
		const char *error;	/* part of {"error":..}, NULL for a success row */
	} cases[] = {
		{ "GET", "/_sim/health", NULL, 200, NULL },
		{ "GET", "/_sim/health/", NULL, 200, NULL },
		{ "GET", "/_sim/nothing", NULL, 404, "no such control call" },
		{ "GET", "/_sim", NULL, 404, "no such control call" },
		{ "PUT", "/_sim/health", NULL, 405, "not allowed" },
		{ "GET", "/_sim/seed", NULL, 405, "not allowed" },
		{ "POST", "/_sim/seed", NULL, 400, "JSON body" },
		{ "POST", "/_sim/seed", "not json", 400, "JSON object" },
		{ "POST", "/_sim/seed", "[1]", 400, "JSON object" },
		{ "GET", "/_sim/records/NoSuchThing", NULL, 404, "no such sObject" },
		{ "POST", "/_sim/records/Account", NULL, 405, "GET" },
		{ "GET", "/_sim/records/Account/extra", NULL, 404, "no such control call" },
		{ "POST", "/_sim/faults", NULL, 400, "JSON body" },
		{ "POST", "/_sim/faults", "{\"status\":503}", 400, "path" },
		{ "POST", "/_sim/faults", "{\"path\":\"x\",\"status\":503}", 400, "path" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\"}", 400, "status, drop or delay_ms" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":503,\"count\":0}", 400, "count" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":600}", 400, "status" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":99}", 400, "status" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":\"503\"}", 400, "status" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":503,\"drop\":true}", 400,
		    "exclude" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"errorCode\":\"MY_CODE\"}", 400,
		    "no preset" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"html\":true,\"drop\":true}", 400,
		    "html needs a status" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"status\":503,\"delayMs\":5}", 400,
		    "unknown fault setting" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"delay_ms\":-1}", 400, "delay_ms" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"delay_ms\":600001}", 400, "delay_ms" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"drop\":1}", 400, "drop" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"method\":5,\"status\":503}", 400,
		    "method" },
		{ "POST", "/_sim/faults", "{\"path\":\"/x\",\"method\":\"P OST\",\"status\":503}",
		    400, "method" },
		{ "POST", "/_sim/config", "{\"daily_api_limit\":\"5\"}", 400, "daily_api_limit" },
		{ "POST", "/_sim/config", "{\"daily_api_limit\":-1}", 400, "daily_api_limit" },
		{ "POST", "/_sim/config", "{\"token_ttl_sec\":0}", 400, "token_ttl_sec" },
		{ "POST", "/_sim/config", "{\"enhanced_email\":1}", 400, "true or false" },
		{ "POST", "/_sim/config", "{\"query_batch_size\":2001}", 400, "query_batch_size" },
		{ "POST", "/_sim/config", "{\"api_used\":-1}", 400, "api_used" },
		{ "POST", "/_sim/config", "{\"daily_api_limit\":7,\"bogus\":1}", 400,
		    "unknown setting" },
		{ "POST", "/_sim/token", "{\"username\":\"nobody@example.com\"}", 400, "no User" },
		{ "POST", "/_sim/token", "{\"username\":5}", 400, "string" },
		{ "DELETE", "/_sim/stats", NULL, 405, "not allowed" },
	};
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = ctl(cases[i].method, cases[i].path, cases[i].body, cases[i].status);
		if (cases[i].error != NULL)
			error_has(j, cases[i].error);
		else
			assert_true(json_is_true(json_object_get(j, "ok")));
		json_decref(j);
	}
	/* Nothing refused was kept: no fault is pending and the settings are the defaults. */
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "faults")), 0);
	json_decref(j);
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 100000);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 7200);
	json_decref(j);
}

static void
test_seed_and_records(void **state)
{
	const char *seed1 =
	    "{\"User\":[{\"_key\":\"rep\",\"Username\":\"rep@example.com\",\"Email\":"
	    "\"rep@example.com\",\"LastName\":\"Rep\",\"Alias\":\"rep\"}],"
	    "\"Account\":[{\"_key\":\"acme\",\"Name\":\"Acme\"},"
	    "{\"_key\":\"globex\",\"Name\":\"Globex\",\"CreatedDate\":\"2020-01-02T03:04:05Z\"}],"
	    "\"Contact\":[{\"_key\":\"c1\",\"LastName\":\"One\",\"AccountId\":\"@acme\","
	    "\"Description\":\"@@handle\"},"
	    "{\"LastName\":\"Two\",\"AccountId\":\"@globex\",\"OwnerId\":\"@rep\","
	    "\"CreatedDate\":\"2019-06-01T00:00:00.000+0000\","
	    "\"LastModifiedDate\":\"2021-01-01T00:00:00Z\"}]}";
	json_t *seeded, *j, *keys, *recs, *rec, *attrs;
	char *admin = admin_id(), *cert;
	char body[8192];
	const char *acme, *globex, *rep;

	(void)state;
	seeded = ctl("POST", "/_sim/seed", seed1, 200);
	j = json_object_get(seeded, "created");
	assert_int_equal(json_object_size(j), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "Contact")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "Account")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "User")), 1);
	keys = json_object_get(seeded, "keys");
	assert_int_equal(json_object_size(keys), 4);
	acme = str(keys, "acme");
	globex = str(keys, "globex");
	rep = str(keys, "rep");
	assert_non_null(acme);
	assert_non_null(globex);
	assert_non_null(rep);
	assert_int_equal(strlen(acme), 18);
	assert_memory_equal(acme, "001", 3);
	assert_memory_equal(str(keys, "c1"), "003", 3);
	assert_memory_equal(rep, "005", 3);

	/* Ordered by CreatedDate: the back-dated Contact comes first. */
	recs = records("Contact");
	assert_int_equal(json_array_size(recs), 2);
	rec = json_array_get(recs, 0);
	assert_string_equal(str(rec, "LastName"), "Two");
	assert_string_equal(str(rec, "AccountId"), globex);
	assert_string_equal(str(rec, "OwnerId"), rep);
	assert_string_equal(str(rec, "CreatedDate"), "2019-06-01T00:00:00.000+0000");
	assert_string_equal(str(rec, "LastModifiedDate"), "2021-01-01T00:00:00.000+0000");
	attrs = json_object_get(rec, "attributes");
	assert_string_equal(str(attrs, "type"), "Contact");
	assert_non_null(strstr(str(attrs, "url"), "/sobjects/Contact/"));
	rec = json_array_get(recs, 1);
	assert_string_equal(str(rec, "LastName"), "One");
	assert_string_equal(str(rec, "Id"), str(keys, "c1"));
	assert_string_equal(str(rec, "AccountId"), acme);
	assert_string_equal(str(rec, "Description"), "@handle");
	assert_string_equal(str(rec, "OwnerId"), admin);
	assert_string_equal(str(rec, "CreatedById"), admin);
	assert_true(json_is_false(json_object_get(rec, "IsDeleted")));
	json_decref(recs);

	recs = records("Account");
	assert_int_equal(json_array_size(recs), 2);
	rec = json_array_get(recs, 0);
	assert_string_equal(str(rec, "Name"), "Globex");
	/* Only CreatedDate given: the record was last modified when it was made. */
	assert_string_equal(str(rec, "CreatedDate"), "2020-01-02T03:04:05.000+0000");
	assert_string_equal(str(rec, "LastModifiedDate"), "2020-01-02T03:04:05.000+0000");
	assert_string_equal(str(rec, "SystemModstamp"), "2020-01-02T03:04:05.000+0000");
	json_decref(recs);

	/* The built-in admin exists beside the seeded user. */
	recs = records("User");
	assert_int_equal(json_array_size(recs), 2);
	rec = find(recs, "Username", ADMIN);
	assert_non_null(rec);
	assert_string_equal(str(rec, "Email"), ADMIN);
	assert_string_equal(str(rec, "LastName"), "Admin");
	assert_string_equal(str(rec, "FirstName"), "Sim");
	assert_true(json_is_true(json_object_get(rec, "IsActive")));
	json_decref(recs);

	/* A later seed call names records of an earlier one; a soft-deleted row is still dumped. */
	json_decref(ctl("POST", "/_sim/seed", "{\"Contact\":[{\"LastName\":\"Three\","
	    "\"AccountId\":\"@acme\"}],\"Account\":[{\"Name\":\"Gone\",\"IsDeleted\":true}]}", 200));
	recs = records("Contact");
	assert_int_equal(json_array_size(recs), 3);
	assert_string_equal(str(find(recs, "LastName", "Three"), "AccountId"), acme);
	json_decref(recs);
	recs = records("Account");
	assert_int_equal(json_array_size(recs), 3);
	assert_true(json_is_true(json_object_get(find(recs, "Name", "Gone"), "IsDeleted")));
	json_decref(recs);

	/* A connected app with a real certificate and a run-as user named by key; the same
	 * consumer key again is refused, which shows the first one was stored. */
	testkeys_pem(0, NULL, &cert);
	{
		json_t *app = json_pack("{s:[{s:s,s:s,s:s,s:s,s:[s],s:b}]}", "ConnectedApp",
		    "consumerKey", "ck-1", "consumerSecret", "secret", "certificate", cert,
		    "runAs", "@rep", "preauthorized", ADMIN, "clientCredentials", 1);
		char *text = json_dumps(app, JSON_COMPACT);

		j = ctl("POST", "/_sim/seed", text, 200);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "created"),
		    "ConnectedApp")), 1);
		json_decref(j);
		j = ctl("POST", "/_sim/seed", text, 400);
		error_has(j, "ConnectedApp[0]");
		error_has(j, "already exists");
		json_decref(j);
		free(text);
		json_decref(app);
	}
	snprintf(body, sizeof(body), "{\"ConnectedApp\":[{\"consumer_key\":\"ck-2\","
	    "\"run_as\":\"" ADMIN "\",\"admin_approved\":false,\"preauthorized\":null}]}");
	json_decref(ctl("POST", "/_sim/seed", body, 200));
	free(cert);
	free(admin);
	json_decref(seeded);
}

static void
test_seed_rolls_back(void **state)
{
	/* Each seed starts with a valid Account keyed "k"; something later fails. */
#define KEEP "\"Account\":[{\"_key\":\"k\",\"Name\":\"Kept?\"}]"
	static const struct {
		const char *seed, *error1, *error2;
	} cases[] = {
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"ok\",\"AccountId\":\"@k\"},"
		    "{\"FirstName\":\"x\"}]}", "Contact[1]", "REQUIRED_FIELD_MISSING" },
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"x\",\"AccountId\":\"@nokey\"}]}",
		    "Contact[0]", "unknown key \"@nokey\"" },
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"x\",\"Nope__c\":1}]}", "Contact[0]",
		    "INVALID_FIELD" },
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"x\",\"AccountId\":\"@k\","
		    "\"CreatedDate\":\"yesterday\"}]}", "Contact[0]", "CreatedDate" },
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"x\",\"CreatedById\":\"@k\"}]}",
		    "Contact[0]", "CreatedById" },
		{ "{" KEEP ",\"Contact\":[{\"LastName\":\"x\",\"_key\":\"\"}]}", "Contact[0]",
		    "_key" },
		{ "{" KEEP ",\"Nope\":[{}]}", "Nope", "no such sObject" },
		{ "{" KEEP ",\"Contact\":{\"LastName\":\"x\"}}", "Contact", "array" },
		{ "{" KEEP ",\"Contact\":[\"x\"]}", "Contact[0]", "JSON object" },
		{ "{\"Account\":[{\"_key\":\"k\",\"Name\":\"A\"},{\"_key\":\"k\",\"Name\":\"B\"}]}",
		    "Account[1]", "twice" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerSecret\":\"s\"}]}", "ConnectedApp[0]",
		    "consumerKey" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerKey\":\"c\",\"certificate\":\"not a "
		    "pem\"}]}", "ConnectedApp[0]", "certificate" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerKey\":\"c\",\"runAsUser\":\"x\"}]}",
		    "ConnectedApp[0]", "unknown ConnectedApp setting" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerKey\":\"c\",\"runAs\":\"who@x.com\"}]}",
		    "ConnectedApp[0]", "no User" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerKey\":\"c\",\"preauthorized\":\"x\"}]}",
		    "ConnectedApp[0]", "preauthorized" },
		{ "{" KEEP ",\"ConnectedApp\":[{\"consumerKey\":\"c\",\"clientCredentials\":1}]}",
		    "ConnectedApp[0]", "clientCredentials" },
	};
#undef KEEP
	json_t *j, *recs;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = ctl("POST", "/_sim/seed", cases[i].seed, 400);
		error_has(j, "nothing was kept");
		error_has(j, cases[i].error1);
		error_has(j, cases[i].error2);
		json_decref(j);
		recs = records("Account");
		if (json_array_size(recs) != 0)
			fail_msg("case %zu kept %zu Accounts", i, json_array_size(recs));
		json_decref(recs);
		recs = records("Contact");
		assert_int_equal(json_array_size(recs), 0);
		json_decref(recs);
		/* The key of the rolled-back Account is gone too. */
		j = ctl("POST", "/_sim/seed", "{\"Contact\":[{\"LastName\":\"x\",\"AccountId\":"
		    "\"@k\"}]}", 400);
		error_has(j, "unknown key");
		json_decref(j);
	}
	/* The rolled-back apps left no row: consumer key "c" is still free. */
	json_decref(ctl("POST", "/_sim/seed", "{\"ConnectedApp\":[{\"consumerKey\":\"c\"}]}",
	    200));
}

static void
test_stats(void **state)
{
	static const struct {
		const char *method, *path;
		int with_id;	/* the path ends with a seeded Account's id */
	} calls[] = {
		{ "GET", V "/query?q=SELECT+Id+FROM+Account", 0 },
		{ "GET", V "/query?q=SELECT+Name+FROM+Account+LIMIT+1", 0 },
		{ "GET", V "/sobjects/Account/", 1 },
		{ "GET", V "/sobjects/Account/", 1 },
		{ "GET", V "/sobjects/Contact/describe", 0 },
		{ "PATCH", V "/sobjects/Task/OutlookMessageId__c/abc%2Fdef", 0 },
		{ "GET", V "/query/01g5g0000000001AAA-2000", 0 },
		{ "GET", "/services/data/v61.0/limits", 0 },
	};
	static const struct {
		const char *route;
		long n;
	} want[] = {
		{ "GET " V "/query", 2 },
		{ "GET " V "/sobjects/Account/{id}", 2 },
		{ "GET " V "/sobjects/Contact/describe", 1 },
		{ "PATCH " V "/sobjects/Task/OutlookMessageId__c/{value}", 1 },
		{ "GET " V "/query/{locator}", 1 },
		{ "GET /services/data/v61.0/limits", 1 },
	};
	json_t *j, *keys, *routes;
	char *tok = token_for(NULL);
	const char *ids[2];
	long total = 0;

	(void)state;
	j = ctl("POST", "/_sim/seed", "{\"Account\":[{\"_key\":\"a\",\"Name\":\"A\"},"
	    "{\"_key\":\"b\",\"Name\":\"B\"}]}", 200);
	keys = json_object_get(j, "keys");
	ids[0] = str(keys, "a");
	ids[1] = str(keys, "b");
	json_decref(ctl("POST", "/_sim/stats/reset", NULL, 200));
	for (size_t i = 0, k = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		char path[256];
		struct reply r;

		snprintf(path, sizeof(path), "%s%s", calls[i].path, calls[i].with_id ?
		    ids[k++ % 2] : "");
		request(calls[i].method, path, strcmp(calls[i].method, "PATCH") == 0 ?
		    "{\"Subject\":\"x\"}" : NULL, tok, &r);
		assert_int_equal(r.fail, HTTPC_OK);
		reply_free(&r);
	}
	json_decref(j);
	j = ctl("GET", "/_sim/stats", NULL, 200);
	routes = json_object_get(j, "routes");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *n = json_object_get(routes, want[i].route);

		if (n == NULL || json_integer_value(n) != want[i].n)
			fail_msg("route \"%s\": %lld, want %ld", want[i].route,
			    n ? (long long)json_integer_value(n) : -1LL, want[i].n);
		total += want[i].n;
	}
	assert_int_equal(json_object_size(routes), sizeof(want) / sizeof(want[0]));
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), total);
	/* Every authenticated REST call counts once against the daily limit, failed ones too. */
	assert_int_equal(json_integer_value(json_object_get(j, "api_calls")), total);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 100000);
	json_decref(j);

	/* Control calls are not counted; a reset zeroes routes and usage. */
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), total);
	json_decref(j);
	json_decref(ctl("POST", "/_sim/stats/reset", NULL, 200));
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "api_calls")), 0);
	assert_int_equal(json_object_size(json_object_get(j, "routes")), 0);
	json_decref(j);
	free(tok);
}

enum expect { E_JSON, E_HTML, E_RESET, E_OK };

static void
test_faults(void **state)
{
	static const struct {
		const char *fault;
		enum expect expect;
		long status;
		const char *code, *message;	/* E_JSON: errorCode and part of the message */
		long min_ms;
		int left;			/* faults still pending afterwards */
	} cases[] = {
		{ "{\"path\":\"" V "/limits\",\"errorCode\":\"SERVER_UNAVAILABLE\"}", E_JSON, 503,
		    "SERVER_UNAVAILABLE", "Server Unavailable", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}", E_JSON, 400,
		    "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 "
		    "records: ", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}", E_JSON,
		    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"errorCode\":\"INVALID_SESSION_ID\"}", E_JSON, 401,
		    "INVALID_SESSION_ID", "Session expired or invalid", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"status\":500}", E_JSON, 500, "UNKNOWN_EXCEPTION",
		    "An unexpected error occurred", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\","
		    "\"message\":\"down for maintenance\"}", E_JSON, 503, "SERVER_UNAVAILABLE",
		    "down for maintenance", 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"status\":429,\"errorCode\":\"ODD\"}", E_JSON, 429,
		    "ODD", NULL, 0, 0 },
		{ "{\"method\":\"get\",\"path\":\"/services/data\",\"status\":503,\"html\":true}",
		    E_HTML, 503, NULL, NULL, 0, 0 },
		{ "{\"path\":\"/services/\",\"status\":502,\"html\":true}", E_HTML, 502, NULL, NULL,
		    0, 0 },
		{ "{\"path\":\"" V "/limits\",\"drop\":true}", E_RESET, 0, NULL, NULL, 0, 0 },
		{ "{\"path\":\"" V "/limits\",\"drop\":true,\"delay_ms\":300}", E_RESET, 0, NULL,
		    NULL, 300, 0 },
		{ "{\"path\":\"" V "/limits\",\"delay_ms\":400}", E_OK, 200, NULL, NULL, 400, 0 },
		/* Not matching: another method, another path prefix. */
		{ "{\"method\":\"POST\",\"path\":\"/services/data\",\"status\":503}", E_OK, 200,
		    NULL, NULL, 0, 1 },
		{ "{\"path\":\"" V "/sobjects\",\"status\":503}", E_OK, 200, NULL, NULL, 0, 1 },
		{ "{\"path\":\"/services/data/v61.0\",\"status\":503}", E_OK, 200, NULL, NULL, 0,
		    1 },
	};
	char *tok = token_for(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r;
		json_t *j;

		json_decref(ctl("DELETE", "/_sim/faults", NULL, 200));
		json_decref(ctl("POST", "/_sim/faults", cases[i].fault, 200));
		request("GET", V "/limits", NULL, tok, &r);
		switch (cases[i].expect) {
		case E_JSON:
			assert_int_equal(r.fail, HTTPC_OK);
			assert_non_null(strstr(r.ctype, "application/json"));
			sf_error_is(&r, cases[i].status, cases[i].code, cases[i].message);
			break;
		case E_HTML:
			assert_int_equal(r.fail, HTTPC_OK);
			assert_int_equal(r.status, cases[i].status);
			if (strncmp(r.ctype, "text/html", 9) != 0)
				fail_msg("case %zu: content type \"%s\"", i, r.ctype);
			assert_null(r.json);
			break;
		case E_RESET:
			assert_int_equal(r.fail, HTTPC_RESET);
			break;
		case E_OK:
			assert_int_equal(r.fail, HTTPC_OK);
			if (r.status != 200)
				fail_msg("case %zu: status %ld: %s", i, r.status, r.body);
			assert_true(json_is_object(r.json));
			break;
		}
		if (r.ms < cases[i].min_ms)
			fail_msg("case %zu: answered after %ld ms, want >= %ld", i, r.ms,
			    cases[i].min_ms);
		reply_free(&r);
		j = ctl("GET", "/_sim/faults", NULL, 200);
		if ((int)json_array_size(json_object_get(j, "faults")) != cases[i].left)
			fail_msg("case %zu: %zu faults pending, want %d", i,
			    json_array_size(json_object_get(j, "faults")), cases[i].left);
		json_decref(j);
	}
	free(tok);
}

static void
test_fault_count(void **state)
{
	char *tok = token_for(NULL);
	json_t *j, *f;
	struct reply r;

	(void)state;
	j = ctl("POST", "/_sim/faults", "{\"path\":\"" V "/limits\",\"status\":503,\"count\":2}",
	    200);
	assert_int_equal(json_integer_value(json_object_get(j, "remaining")), 2);
	assert_string_equal(str(j, "errorCode"), "SERVER_UNAVAILABLE");
	assert_true(json_is_null(json_object_get(j, "method")));
	json_decref(j);
	for (int i = 0; i < 2; i++) {
		j = ctl("GET", "/_sim/faults", NULL, 200);
		f = json_array_get(json_object_get(j, "faults"), 0);
		assert_non_null(f);
		assert_int_equal(json_integer_value(json_object_get(f, "remaining")), 2 - i);
		assert_string_equal(str(f, "path"), V "/limits");
		assert_int_equal(json_integer_value(json_object_get(f, "status")), 503);
		json_decref(j);
		request("GET", V "/limits", NULL, tok, &r);
		assert_int_equal(r.fail, HTTPC_OK);
		sf_error_is(&r, 503, "SERVER_UNAVAILABLE", "Server Unavailable");
		reply_free(&r);
	}
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "faults")), 0);
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	assert_int_equal(r.fail, HTTPC_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	/* Faults are taken in the order they were added; DELETE clears what is left. */
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/\",\"errorCode\":"
	    "\"UNABLE_TO_LOCK_ROW\"}", 200));
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/\",\"status\":503}", 200));
	request("GET", V "/limits", NULL, tok, &r);
	sf_error_is(&r, 400, "UNABLE_TO_LOCK_ROW", NULL);
	reply_free(&r);
	j = ctl("DELETE", "/_sim/faults", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "cleared")), 1);
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(tok);
}

static void
test_after_commit(void **state)
{
	static const struct {
		const char *fault, *name;
		enum expect expect;
		int committed;
	} cases[] = {
		{ "{\"method\":\"POST\",\"path\":\"" V "/sobjects/Account\",\"drop\":true,"
		    "\"after_commit\":true}", "Committed drop", E_RESET, 1 },
		{ "{\"method\":\"POST\",\"path\":\"" V "/sobjects/Account\",\"errorCode\":"
		    "\"SERVER_UNAVAILABLE\",\"after_commit\":true}", "Committed 503", E_JSON, 1 },
		{ "{\"method\":\"POST\",\"path\":\"" V "/sobjects/Account\",\"status\":504,"
		    "\"html\":true,\"after_commit\":true}", "Committed html", E_HTML, 1 },
		/* The control row: a plain fault never reaches the store. */
		{ "{\"method\":\"POST\",\"path\":\"" V "/sobjects/Account\",\"drop\":true}",
		    "Never stored", E_RESET, 0 },
		{ "{\"method\":\"POST\",\"path\":\"" V "/sobjects/Account\",\"status\":503}",
		    "Never stored either", E_JSON, 0 },
	};
	char *tok = token_for(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[128];
		struct reply r;
		json_t *recs;

		json_decref(ctl("POST", "/_sim/faults", cases[i].fault, 200));
		snprintf(body, sizeof(body), "{\"Name\":\"%s\"}", cases[i].name);
		request("POST", V "/sobjects/Account", body, tok, &r);
		if (cases[i].expect == E_RESET) {
			assert_int_equal(r.fail, HTTPC_RESET);
		} else {
			assert_int_equal(r.fail, HTTPC_OK);
			assert_true(r.status >= 500);
		}
		reply_free(&r);
		recs = records("Account");
		if ((find(recs, "Name", cases[i].name) != NULL) != cases[i].committed)
			fail_msg("case %zu: record \"%s\" %s", i, cases[i].name,
			    cases[i].committed ? "missing" : "stored");
		json_decref(recs);
	}
	free(tok);
}

static void
test_config(void **state)
{
	static const struct {
		const char *body, *key;
		long value;	/* booleans as 0/1 */
	} cases[] = {
		{ "{\"token_ttl_sec\":60}", "token_ttl_sec", 60 },
		{ "{\"enhanced_email\":false}", "enhanced_email", 0 },
		{ "{\"lead_duplicate_rule\":true}", "lead_duplicate_rule", 1 },
		{ "{\"contact_duplicate_rule\":true}", "contact_duplicate_rule", 1 },
		{ "{\"duplicate_rule_blocks\":true}", "duplicate_rule_blocks", 1 },
		{ "{\"query_batch_size\":200}", "query_batch_size", 200 },
		{ "{\"daily_api_limit\":15000}", "daily_api_limit", 15000 },
		{ "{\"api_used\":1234}", "api_used", 1234 },
	};
	char *tok = token_for(NULL);
	struct reply r;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v;

		json_decref(ctl("POST", "/_sim/config", cases[i].body, 200));
		j = ctl("GET", "/_sim/config", NULL, 200);
		v = json_object_get(j, cases[i].key);
		if (json_is_boolean(v))
			assert_int_equal(json_is_true(v), cases[i].value);
		else
			assert_int_equal(json_integer_value(v), cases[i].value);
		json_decref(j);
	}

	/* An org at its daily limit: data calls get 403 and are not counted. */
	j = ctl("POST", "/_sim/config", "{\"daily_api_limit\":50,\"api_used\":50}", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 50);
	assert_int_equal(json_integer_value(json_object_get(j, "api_used")), 50);
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	sf_error_is(&r, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
	assert_string_equal(r.limit_info, "api-usage=50/50");
	reply_free(&r);
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "api_calls")), 50);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 50);
	json_decref(j);
	/* Usage set below the limit: calls go through and count again. */
	json_decref(ctl("POST", "/_sim/config", "{\"api_used\":10}", 200));
	request("GET", V "/limits", NULL, tok, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.limit_info, "api-usage=11/50");
	reply_free(&r);

	/* Reset brings the defaults back. */
	json_decref(ctl("POST", "/_sim/reset", NULL, 200));
	j = ctl("GET", "/_sim/config", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 100000);
	assert_int_equal(json_integer_value(json_object_get(j, "token_ttl_sec")), 7200);
	assert_int_equal(json_integer_value(json_object_get(j, "query_batch_size")), 2000);
	assert_true(json_is_true(json_object_get(j, "enhanced_email")));
	assert_true(json_is_false(json_object_get(j, "lead_duplicate_rule")));
	assert_int_equal(json_integer_value(json_object_get(j, "api_used")), 0);
	json_decref(j);
	free(tok);
}

static void
test_tokens(void **state)
{
	json_t *j, *keys;
	struct reply r;
	char *tok, *rep_tok, *admin = admin_id(), *later;
	const char *rep;
	char suffix[32];

	(void)state;
	j = ctl("POST", "/_sim/token", NULL, 200);
	assert_string_equal(str(j, "token_type"), "Bearer");
	assert_string_equal(str(j, "instance_url"), sim.base_url);
	snprintf(suffix, sizeof(suffix), "/%s", admin);
	assert_non_null(str(j, "id"));
	assert_string_equal(str(j, "id") + strlen(str(j, "id")) - strlen(suffix), suffix);
	tok = xstrdup(str(j, "access_token"));
	assert_true(strlen(tok) > 0);
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	j = ctl("POST", "/_sim/seed", "{\"User\":[{\"_key\":\"rep\",\"Username\":"
	    "\"rep@example.com\",\"Email\":\"rep@example.com\",\"LastName\":\"Rep\","
	    "\"Alias\":\"rep\"},{\"Username\":\"gone@example.com\",\"Email\":"
	    "\"gone@example.com\",\"LastName\":\"Gone\",\"Alias\":\"gone\",\"IsActive\":false}]}",
	    200);
	keys = json_object_get(j, "keys");
	rep = str(keys, "rep");
	/* Usernames match case-insensitively, like Salesforce logins. */
	rep_tok = token_for("REP@example.com");
	{
		json_t *t = ctl("POST", "/_sim/token", "{\"username\":\"rep@example.com\"}", 200);

		snprintf(suffix, sizeof(suffix), "/%s", rep);
		assert_string_equal(str(t, "id") + strlen(str(t, "id")) - strlen(suffix), suffix);
		json_decref(t);
	}
	json_decref(j);
	j = ctl("POST", "/_sim/token", "{\"username\":\"gone@example.com\"}", 400);
	error_has(j, "inactive");
	json_decref(j);

	/* Expiry hits every token minted so far, not the ones minted after. */
	j = ctl("POST", "/_sim/expire-tokens", NULL, 200);
	assert_true(json_integer_value(json_object_get(j, "expired")) >= 3);
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	sf_error_is(&r, 401, "INVALID_SESSION_ID", "Session expired or invalid");
	reply_free(&r);
	request("GET", V "/limits", NULL, rep_tok, &r);
	sf_error_is(&r, 401, "INVALID_SESSION_ID", NULL);
	reply_free(&r);
	later = token_for(NULL);
	request("GET", V "/limits", NULL, later, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(later);
	free(rep_tok);
	free(tok);
	free(admin);
}

static void
test_reset(void **state)
{
	char *tok = token_for(NULL);
	json_t *j, *recs;
	struct reply r;

	(void)state;
	json_decref(ctl("POST", "/_sim/seed", "{\"Account\":[{\"_key\":\"a\",\"Name\":\"A\"}],"
	    "\"User\":[{\"Username\":\"u@example.com\",\"Email\":\"u@example.com\","
	    "\"LastName\":\"U\",\"Alias\":\"u\"}]}", 200));
	json_decref(ctl("POST", "/_sim/faults", "{\"path\":\"/nowhere\",\"status\":503}", 200));
	json_decref(ctl("POST", "/_sim/config", "{\"daily_api_limit\":7}", 200));
	request("GET", V "/limits", NULL, tok, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	j = ctl("POST", "/_sim/reset", NULL, 200);
	assert_string_equal(str(json_object_get(j, "admin"), "Username"), ADMIN);
	json_decref(j);
	recs = records("Account");
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);
	recs = records("User");
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(str(json_array_get(recs, 0), "Username"), ADMIN);
	json_decref(recs);
	j = ctl("GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "faults")), 0);
	json_decref(j);
	j = ctl("GET", "/_sim/stats", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "daily_api_limit")), 100000);
	json_decref(j);
	/* Keys and tokens are gone with the records. */
	j = ctl("POST", "/_sim/seed", "{\"Contact\":[{\"LastName\":\"x\",\"AccountId\":\"@a\"}]}",
	    400);
	error_has(j, "unknown key");
	json_decref(j);
	request("GET", V "/limits", NULL, tok, &r);
	sf_error_is(&r, 401, "INVALID_SESSION_ID", NULL);
	reply_free(&r);
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rejects, reset),
		cmocka_unit_test_setup(test_seed_and_records, reset),
		cmocka_unit_test_setup(test_seed_rolls_back, reset),
		cmocka_unit_test_setup(test_stats, reset),
		cmocka_unit_test_setup(test_faults, reset),
		cmocka_unit_test_setup(test_fault_count, reset),
		cmocka_unit_test_setup(test_after_commit, reset),
		cmocka_unit_test_setup(test_config, reset),
		cmocka_unit_test_setup(test_tokens, reset),
		cmocka_unit_test_setup(test_reset, reset),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
