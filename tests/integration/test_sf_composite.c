/* test_sf_composite.c: the composite family of the real sf-sim binary over HTTP: /composite
 * (references, allOrNone rollback, PROCESSING_HALTED, limits), sObject Collections, batch
 * (haltOnError, per-subrequest API counting) and graph; what Salesforce ends up holding is
 * checked with queries afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "sf_id.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

#define V	"/services/data/v62.0"

static struct sim_proc sim;
static char token[256];
static char acme_id[19];
static char absent_account[19];	/* well-formed ids of records that do not exist */
static char absent_contact[19];

/* The text of a JSON string, or "(not a string)": cmocka's string asserts crash on NULL. */
static const char *
jstr(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* Sends method path body (may be NULL) with the token. Returns the status; *out (may be NULL)
 * gets the parsed body or NULL when empty; location (may be NULL) the Location header. */
static long
request(const char *method, const char *path, const char *body, json_t **out, char *location,
    size_t loclen)
{
	struct sim_http h;
	const char *loc;
	long status;

	sim_http_do(&h, sim.base_url, method, path, body, token, NULL);
	if (h.fail != HTTPC_OK)
		fail_msg("%s %s: no answer (httpc failure %d)", method, path, (int)h.fail);
	status = h.status;
	if (h.resp.body_len > 0 && h.json == NULL)
		fail_msg("%s %s: not JSON: %s", method, path, h.resp.body);
	if (out != NULL) {
		*out = h.json;
		h.json = NULL;
	}
	if (location != NULL) {
		loc = sim_http_header(&h, "Location");
		snprintf(location, loclen, "%s", loc ? loc : "");
	}
	sim_http_free(&h);
	return status;
}

/* Sends body (stolen, may be NULL), asserts the status and returns the parsed answer. */
static json_t *
call_json(const char *method, const char *path, json_t *body, long expect)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *out;
	long status;

	status = request(method, path, text, &out, NULL, 0);
	if (status != expect)
		fail_msg("%s %s: status %ld, expected %ld: %s", method, path, status, expect,
		    out ? json_dumps(out, JSON_COMPACT) : "(no body)");
	free(text);
	json_decref(body);
	return out;
}

static json_t *
query(const char *soql)
{
	char *q = httpc_escape(soql), *path = xasprintf(V "/query?q=%s", q);
	json_t *res = call_json("GET", path, NULL, 200);

	free(q);
	free(path);
	return res;
}

static long
query_count(const char *soql)
{
	json_t *res = query(soql);
	long n = (long)json_integer_value(json_object_get(res, "totalSize"));

	json_decref(res);
	return n;
}

static long
api_calls(void)
{
	json_t *stats;
	long n;

	assert_int_equal(request("GET", "/_sim/stats", NULL, &stats, NULL, 0), 200);
	assert_true(json_is_integer(json_object_get(stats, "api_calls")));
	n = (long)json_integer_value(json_object_get(stats, "api_calls"));
	json_decref(stats);
	return n;
}

/* body is a Salesforce error array whose first entry has errorCode code. */
static void
assert_error(json_t *body, const char *code)
{
	json_t *e = json_array_get(body, 0);

	if (!json_is_array(body) || json_array_size(body) != 1 ||
	    strcmp(jstr(json_object_get(e, "errorCode")), code) != 0 ||
	    !json_is_string(json_object_get(e, "message")))
		fail_msg("expected a %s error array, got %s", code, json_dumps(body, JSON_COMPACT));
}

/* A collections per-record failure: statusCode (never errorCode), message, fields. */
static void
assert_record_error(json_t *item, const char *code)
{
	json_t *e = json_array_get(json_object_get(item, "errors"), 0);

	if (!json_is_false(json_object_get(item, "success")) || !json_is_object(e) ||
	    json_object_get(e, "errorCode") != NULL || !json_is_array(json_object_get(e, "fields")) ||
	    !json_is_string(json_object_get(e, "message")) ||
	    strcmp(jstr(json_object_get(e, "statusCode")), code) != 0)
		fail_msg("expected a %s record error, got %s", code, json_dumps(item, JSON_COMPACT));
}

static json_t *
sub(const char *method, const char *url, const char *ref, json_t *body)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "method", method, "url", url, "referenceId", ref);

	if (body != NULL)
		json_object_set_new(o, "body", body);
	return o;
}

/* The compositeResponse entry i, checked for its referenceId and status. */
static json_t *
entry(json_t *res, size_t i, const char *ref, long status)
{
	json_t *e = json_array_get(json_object_get(res, "compositeResponse"), i);

	if (e == NULL || strcmp(jstr(json_object_get(e, "referenceId")), ref) != 0 ||
	    json_integer_value(json_object_get(e, "httpStatusCode")) != status ||
	    !json_is_object(json_object_get(e, "httpHeaders")))
		fail_msg("entry %zu: expected %s/%ld in %s", i, ref, status,
		    json_dumps(res, JSON_COMPACT));
	return e;
}

static const char rolled_back[] =
    "The transaction was rolled back since another operation in the same transaction failed.";

static void
assert_rolled_back(json_t *e)
{
	json_t *b = json_object_get(e, "body");

	assert_error(b, "PROCESSING_HALTED");
	assert_string_equal(jstr(json_object_get(json_array_get(b, 0), "message")),
	    rolled_back);
}

static int
setup(void **state)
{
	json_t *res, *rec, *keys;

	(void)state;
	if (sim_http_start_sf(&sim, NULL, token, sizeof(token)) < 0)
		return -1;
	keys = sim_http_seed_sf(&sim, "{\"Account\":[{\"_key\":\"acme\",\"Name\":\"Acme\"}],"
	    "\"Contact\":[{\"LastName\":\"Seeded\",\"AccountId\":\"@acme\"}]}");
	if (keys == NULL) {
		sim_proc_stop(&sim);
		return -1;
	}
	json_decref(keys);
	res = query("SELECT Id FROM Account WHERE Name = 'Acme'");
	rec = json_array_get(json_object_get(res, "records"), 0);
	if (!json_is_string(json_object_get(rec, "Id")))
		return -1;
	snprintf(acme_id, sizeof(acme_id), "%s", json_string_value(json_object_get(rec, "Id")));
	json_decref(res);
	sf_id_make("001", 999999, absent_account);
	sf_id_make("003", 999999, absent_contact);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	/* A clean exit: under ASan a leak or a crash in sf-sim fails the test here. */
	return sim_proc_stop_clean(&sim, "sf-sim");
}

/*
 * /composite
 */

static void
test_composite_reference_to_created(void **state)
{
	json_t *res, *e, *acct;
	char *soql, loc[256];

	(void)state;
	res = call_json("POST", V "/composite", json_pack("{s:b,s:[o,o]}", "allOrNone", 1,
	    "compositeRequest",
	    sub("POST", V "/sobjects/Account", "refAccount", json_pack("{s:s}", "Name", "Ref Co")),
	    sub("POST", V "/sobjects/Contact", "refContact", json_pack("{s:s,s:s}", "LastName",
	    "Referenced", "AccountId", "@{refAccount.id}"))), 200);
	e = entry(res, 0, "refAccount", 201);
	acct = json_object_get(json_object_get(e, "body"), "id");
	assert_true(json_is_string(acct));
	assert_true(json_is_true(json_object_get(json_object_get(e, "body"), "success")));
	snprintf(loc, sizeof(loc), V "/sobjects/Account/%s", json_string_value(acct));
	assert_string_equal(jstr(json_object_get(json_object_get(e, "httpHeaders"),
	    "Location")), loc);
	entry(res, 1, "refContact", 201);
	/* The contact really points at the account created one subrequest before. */
	soql = xasprintf("SELECT Id FROM Contact WHERE LastName = 'Referenced' AND AccountId = "
	    "'%s'", json_string_value(acct));
	assert_int_equal(query_count(soql), 1);
	free(soql);
	json_decref(res);
}

static void
test_composite_reference_into_query_result(void **state)
{
	json_t *res, *e, *contact;
	char *path;

	(void)state;
	/* records[0].Id in the url, records[0].Name embedded in a longer string, and a
	 * reference nested inside the body. */
	res = call_json("POST", V "/composite", json_pack("{s:[o,o,o,o]}", "compositeRequest",
	    sub("GET", V "/query?q=SELECT+Id,+Name+FROM+Account+WHERE+Name+=+'Acme'", "acct",
	    NULL),
	    sub("PATCH", V "/sobjects/Account/@{acct.records[0].Id}", "rename",
	    json_pack("{s:s}", "Description", "seen by composite")),
	    sub("POST", V "/sobjects/Contact", "boss", json_pack("{s:s,s:s}", "LastName",
	    "Boss of @{acct.records[0].Name}", "AccountId", "@{acct.records[0].Id}")),
	    sub("GET", V "/sobjects/Contact/@{boss.id}", "read", NULL)), 200);
	entry(res, 0, "acct", 200);
	e = entry(res, 1, "rename", 204);
	assert_true(json_is_null(json_object_get(e, "body")));
	entry(res, 2, "boss", 201);
	e = entry(res, 3, "read", 200);
	contact = json_object_get(e, "body");
	assert_string_equal(jstr(json_object_get(contact, "LastName")),
	    "Boss of Acme");
	assert_string_equal(jstr(json_object_get(contact, "AccountId")), acme_id);
	json_decref(res);
	path = xasprintf(V "/sobjects/Account/%s", acme_id);
	res = call_json("GET", path, NULL, 200);
	assert_string_equal(jstr(json_object_get(res, "Description")),
	    "seen by composite");
	free(path);
	json_decref(res);
}

static void
test_composite_all_or_none_rolls_back(void **state)
{
	json_t *res, *e;

	(void)state;
	res = call_json("POST", V "/composite", json_pack("{s:b,s:[o,o,o]}", "allOrNone", 1,
	    "compositeRequest",
	    sub("POST", V "/sobjects/Account", "first", json_pack("{s:s}", "Name", "AON One")),
	    sub("POST", V "/sobjects/Contact", "broken", json_pack("{s:s}", "FirstName", "NoLast")),
	    sub("POST", V "/sobjects/Account", "third", json_pack("{s:s}", "Name", "AON Three"))),
	    200);
	assert_rolled_back(entry(res, 0, "first", 400));
	e = entry(res, 1, "broken", 400);
	assert_error(json_object_get(e, "body"), "REQUIRED_FIELD_MISSING");
	assert_rolled_back(entry(res, 2, "third", 400));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'AON%'"), 0);
	assert_int_equal(query_count("SELECT Id FROM Contact WHERE FirstName = 'NoLast'"), 0);
}

static void
test_composite_dependent_is_halted(void **state)
{
	json_t *res, *e;
	const char *msg;

	(void)state;
	/* allOrNone false: the independent subrequest still runs and commits. */
	res = call_json("POST", V "/composite", json_pack("{s:b,s:[o,o,o,o]}", "allOrNone", 0,
	    "compositeRequest",
	    sub("POST", V "/sobjects/Contact", "bad", json_pack("{s:s}", "FirstName", "Halt")),
	    sub("POST", V "/sobjects/Task", "dependent", json_pack("{s:s,s:s}", "Subject",
	    "never", "WhoId", "@{bad.id}")),
	    sub("POST", V "/sobjects/Account", "independent", json_pack("{s:s}", "Name",
	    "Independent Co")),
	    sub("GET", V "/sobjects/Account/@{independent.Id}", "wrongCase", NULL)), 200);
	assert_error(json_object_get(entry(res, 0, "bad", 400), "body"), "REQUIRED_FIELD_MISSING");
	e = entry(res, 1, "dependent", 400);
	assert_error(json_object_get(e, "body"), "PROCESSING_HALTED");
	msg = jstr(json_object_get(json_array_get(json_object_get(e, "body"), 0),
	    "message"));
	assert_non_null(strstr(msg, "Invalid reference specified. No value for bad.id found in "
	    "bad"));
	entry(res, 2, "independent", 201);
	/* A POST answers "id": references are case-sensitive, so "Id" has no value. */
	e = entry(res, 3, "wrongCase", 400);
	assert_error(json_object_get(e, "body"), "PROCESSING_HALTED");
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Independent Co'"), 1);
	assert_int_equal(query_count("SELECT Id FROM Task WHERE Subject = 'never'"), 0);
}

/* v52.0+: a reference to a null field resolves (to null); before, it has no value. */
static void
test_composite_null_reference_by_version(void **state)
{
	static const struct {
		const char *version;
		long status;		/* of the subrequest using the null field */
	} cases[] = {
		{ "v62.0", 201 },
		{ "v52.0", 201 },
		{ "v51.0", 400 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64], get[128], post[64];
		json_t *res, *e;

		snprintf(path, sizeof(path), "/services/data/%s/composite", cases[i].version);
		snprintf(get, sizeof(get), "/services/data/%s/sobjects/Account/%s?fields=Name,Website",
		    cases[i].version, acme_id);
		snprintf(post, sizeof(post), "/services/data/%s/sobjects/Contact", cases[i].version);
		res = call_json("POST", path, json_pack("{s:[o,o]}", "compositeRequest",
		    sub("GET", get, "acme", NULL),
		    sub("POST", post, "c", json_pack("{s:s,s:s}", "LastName", "Null Ref",
		    "Email", "@{acme.Website}"))), 200);
		e = entry(res, 0, "acme", 200);
		assert_true(json_is_null(json_object_get(json_object_get(e, "body"), "Website")));
		e = entry(res, 1, "c", cases[i].status);
		if (cases[i].status == 400)
			assert_error(json_object_get(e, "body"), "PROCESSING_HALTED");
		json_decref(res);
	}
	assert_int_equal(query_count("SELECT Id FROM Contact WHERE LastName = 'Null Ref' AND "
	    "Email = null"), 2);
}

/* n subrequests; the first nquery of them queries. */
static json_t *
composite_of(int n, int nquery, const char *version)
{
	json_t *subs = json_array();
	char ref[16], url[128];

	for (int i = 0; i < n; i++) {
		snprintf(ref, sizeof(ref), "r%d", i);
		if (i < nquery)
			snprintf(url, sizeof(url), "/services/data/%s/query?q=SELECT+Id+FROM+User",
			    version);
		else
			snprintf(url, sizeof(url), "/services/data/%s/sobjects/Account/%s", version,
			    acme_id);
		json_array_append_new(subs, sub("GET", url, ref, NULL));
	}
	return json_pack("{s:o}", "compositeRequest", subs);
}

static void
test_composite_top_level_rules(void **state)
{
	static const struct {
		const char *name;
		const char *method;
		const char *path;
		int n, nquery;		/* generated body, when body is NULL */
		const char *body;
		long status;
		const char *code;	/* errorCode of a rejection, NULL when accepted */
	} cases[] = {
		{ "25 subrequests", "POST", V "/composite", 25, 0, NULL, 200, NULL },
		{ "26 subrequests", "POST", V "/composite", 26, 0, NULL, 400, "INVALID_INPUT" },
		{ "5 queries", "POST", V "/composite", 6, 5, NULL, 200, NULL },
		{ "6 queries", "POST", V "/composite", 6, 6, NULL, 400, "INVALID_INPUT" },
		{ "6 collections", "POST", V "/composite", 0, 0, "{\"compositeRequest\":["
		    "{\"method\":\"DELETE\",\"url\":\"" V "/composite/sobjects?ids=001\","
		    "\"referenceId\":\"a\"},{\"method\":\"DELETE\",\"url\":\"" V "/composite/sobjects"
		    "?ids=001\",\"referenceId\":\"b\"},{\"method\":\"DELETE\",\"url\":\"" V
		    "/composite/sobjects?ids=001\",\"referenceId\":\"c\"},{\"method\":\"DELETE\","
		    "\"url\":\"" V "/composite/sobjects?ids=001\",\"referenceId\":\"d\"},"
		    "{\"method\":\"GET\",\"url\":\"" V "/queryAll?q=SELECT+Id+FROM+User\","
		    "\"referenceId\":\"e\"},{\"method\":\"GET\",\"url\":\"" V "/query?q=SELECT+Id+"
		    "FROM+User\",\"referenceId\":\"f\"}]}", 400, "INVALID_INPUT" },
		{ "duplicate referenceId", "POST", V "/composite", 0, 0, "{\"compositeRequest\":["
		    "{\"method\":\"GET\",\"url\":\"" V "/limits\",\"referenceId\":\"same\"},"
		    "{\"method\":\"GET\",\"url\":\"" V "/limits\",\"referenceId\":\"same\"}]}", 400,
		    "INVALID_INPUT" },
		{ "illegal referenceId v52+", "POST", V "/composite", 0, 0, "{\"compositeRequest\":["
		    "{\"method\":\"GET\",\"url\":\"" V "/limits\",\"referenceId\":\"bad-ref\"}]}",
		    400, "INVALID_INPUT" },
		{ "referenceId starting with _", "POST", V "/composite", 0, 0,
		    "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"" V "/limits\","
		    "\"referenceId\":\"_x\"}]}", 400, "INVALID_INPUT" },
		{ "illegal referenceId v51", "POST", "/services/data/v51.0/composite", 0, 0,
		    "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"/services/data/v51.0/"
		    "limits\",\"referenceId\":\"bad-ref\"}]}", 200, NULL },
		{ "no compositeRequest", "POST", V "/composite", 0, 0, "{\"allOrNone\":true}", 400,
		    "INVALID_INPUT" },
		{ "allOrNone not boolean", "POST", V "/composite", 0, 0, "{\"allOrNone\":\"yes\","
		    "\"compositeRequest\":[]}", 400, "INVALID_INPUT" },
		{ "missing method", "POST", V "/composite", 0, 0, "{\"compositeRequest\":[{\"url\":"
		    "\"" V "/limits\",\"referenceId\":\"a\"}]}", 400, "INVALID_INPUT" },
		{ "collateSubrequests accepted", "POST", V "/composite", 0, 0,
		    "{\"collateSubrequests\":false,\"compositeRequest\":[{\"method\":\"GET\",\"url\":"
		    "\"" V "/limits\",\"referenceId\":\"a\"}]}", 200, NULL },
		{ "GET /composite", "GET", V "/composite", 0, 0, NULL, 405, "METHOD_NOT_ALLOWED" },
		{ "PATCH /composite/batch", "PATCH", V "/composite/batch", 0, 0, "{}", 405,
		    "METHOD_NOT_ALLOWED" },
		{ "graph below v50", "POST", "/services/data/v49.0/composite/graph", 0, 0,
		    "{\"graphs\":[]}", 404, "NOT_FOUND" },
		{ "upsert collection below v46", "PATCH",
		    "/services/data/v45.0/composite/sobjects/Task/OutlookMessageId__c", 0, 0,
		    "{\"records\":[]}", 404, "NOT_FOUND" },
		{ "unknown composite resource", "POST", V "/composite/nothing", 0, 0, "{}", 404,
		    "NOT_FOUND" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *out = NULL;
		char *body = NULL;
		long status;

		if (cases[i].body != NULL) {
			body = xstrdup(cases[i].body);
		} else if (cases[i].n > 0) {
			json_t *b = composite_of(cases[i].n, cases[i].nquery, "v62.0");

			body = json_dumps(b, JSON_COMPACT);
			json_decref(b);
		}
		status = request(cases[i].method, cases[i].path, body, &out, NULL, 0);
		if (status != cases[i].status)
			fail_msg("%s: status %ld, expected %ld: %s", cases[i].name, status,
			    cases[i].status, out ? json_dumps(out, JSON_COMPACT) : "");
		if (cases[i].code != NULL)
			assert_error(out, cases[i].code);
		else
			assert_true(json_is_array(json_object_get(out, "compositeResponse")));
		free(body);
		json_decref(out);
	}
}

static void
test_composite_subrequest_rules(void **state)
{
	json_t *res, *e;

	(void)state;
	/* Sent as v50.0: a v62.0 subrequest is newer than its request; v63.0 does not exist. */
	res = call_json("POST", "/services/data/v50.0/composite", json_pack("{s:[o,o,o,o,o,o]}",
	    "compositeRequest",
	    sub("POST", "/services/data/v50.0/composite", "nested", json_pack("{s:[]}",
	    "compositeRequest")),
	    sub("GET", "/services/apexrest/foo", "notData", NULL),
	    sub("GET", "/services/data/v62.0/limits", "newer", NULL),
	    sub("GET", "/services/data/v63.0/limits", "noSuchVersion", NULL),
	    sub("GET", "/services/data/v49.0/sobjects/Account/@{nested.id}", "refToFailed", NULL),
	    sub("GET", "/services/data/v49.0/limits", "older", NULL)), 200);
	assert_error(json_object_get(entry(res, 0, "nested", 400), "body"), "INVALID_INPUT");
	assert_error(json_object_get(entry(res, 1, "notData", 404), "body"), "NOT_FOUND");
	assert_error(json_object_get(entry(res, 2, "newer", 400), "body"), "INVALID_INPUT");
	assert_error(json_object_get(entry(res, 3, "noSuchVersion", 404), "body"), "NOT_FOUND");
	e = entry(res, 4, "refToFailed", 400);
	assert_error(json_object_get(e, "body"), "PROCESSING_HALTED");
	e = entry(res, 5, "older", 200);
	assert_true(json_is_object(json_object_get(json_object_get(e, "body"),
	    "DailyApiRequests")));
	json_decref(res);
}

static void
test_composite_counts_one_call(void **state)
{
	long before, after;
	json_t *res;

	(void)state;
	before = api_calls();
	res = call_json("POST", V "/composite", composite_of(5, 2, "v62.0"), 200);
	after = api_calls();
	assert_int_equal(after - before, 1);
	json_decref(res);
}

/*
 * /composite/sobjects
 */

static json_t *
account_rec(const char *name)
{
	return json_pack("{s:{s:s},s:s}", "attributes", "type", "Account", "Name", name);
}

static void
test_collections_create_update_delete(void **state)
{
	json_t *res, *item, *ids;
	char *path;
	const char *id1, *id2, *contact_id;

	(void)state;
	res = call_json("POST", V "/composite/sobjects", json_pack("{s:b,s:[o,o,o]}",
	    "allOrNone", 0, "records", account_rec("Coll One"), account_rec("Coll Two"),
	    json_pack("{s:{s:s},s:s}", "attributes", "type", "Contact", "LastName", "CollC")), 200);
	assert_int_equal(json_array_size(res), 3);
	for (size_t i = 0; i < 3; i++) {
		item = json_array_get(res, i);
		assert_true(json_is_true(json_object_get(item, "success")));
		assert_true(json_is_string(json_object_get(item, "id")));
		assert_int_equal(json_array_size(json_object_get(item, "errors")), 0);
		assert_null(json_object_get(item, "created"));
	}
	ids = json_deep_copy(res);
	json_decref(res);
	id1 = json_string_value(json_object_get(json_array_get(ids, 0), "id"));
	id2 = json_string_value(json_object_get(json_array_get(ids, 1), "id"));
	contact_id = json_string_value(json_object_get(json_array_get(ids, 2), "id"));
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'Coll %'"), 2);

	/* Update: one good record, one with an id of the wrong type (the new contact's). */
	res = call_json("PATCH", V "/composite/sobjects", json_pack("{s:[{s:{s:s},s:s,s:s},"
	    "{s:{s:s},s:s,s:s}]}", "records", "attributes", "type", "Account", "id", id1, "Name",
	    "Coll Renamed", "attributes", "type", "Account", "id", contact_id, "Name", "x"), 200);
	item = json_array_get(res, 0);
	assert_true(json_is_true(json_object_get(item, "success")));
	assert_string_equal(jstr(json_object_get(item, "id")), id1);
	assert_record_error(json_array_get(res, 1), "MALFORMED_ID");
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Coll Renamed'"), 1);

	/* Delete: both accounts, then again (already deleted). */
	path = xasprintf(V "/composite/sobjects?ids=%s,%s&allOrNone=false", id1, id2);
	res = call_json("DELETE", path, NULL, 200);
	assert_true(json_is_true(json_object_get(json_array_get(res, 0), "success")));
	assert_true(json_is_true(json_object_get(json_array_get(res, 1), "success")));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'Coll %'"), 0);
	res = call_json("DELETE", path, NULL, 200);
	assert_record_error(json_array_get(res, 0), "ENTITY_IS_DELETED");
	json_decref(res);
	free(path);
	json_decref(ids);
}

static void
test_collections_all_or_none(void **state)
{
	json_t *res, *item, *e;

	(void)state;
	res = call_json("POST", V "/composite/sobjects", json_pack("{s:b,s:[o,o,o]}", "allOrNone",
	    1, "records", account_rec("AllOrNone A"), json_pack("{s:{s:s},s:s}", "attributes",
	    "type", "Contact", "FirstName", "NoLastName"), account_rec("AllOrNone B")), 200);
	assert_int_equal(json_array_size(res), 3);
	for (size_t i = 0; i < 3; i += 2) {
		item = json_array_get(res, i);
		assert_record_error(item, "ALL_OR_NONE_OPERATION_ROLLED_BACK");
		assert_true(json_is_string(json_object_get(item, "id")));
		e = json_array_get(json_object_get(item, "errors"), 0);
		assert_string_equal(jstr(json_object_get(e, "message")), "Record rolled "
		    "back because not all records were valid and the request was using AllOrNone "
		    "header");
	}
	assert_record_error(json_array_get(res, 1), "REQUIRED_FIELD_MISSING");
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'AllOrNone%'"), 0);

	/* The same without allOrNone keeps the valid records. */
	res = call_json("POST", V "/composite/sobjects", json_pack("{s:[o,o,o]}", "records",
	    account_rec("AllOrNone A"), json_pack("{s:{s:s},s:s}", "attributes", "type",
	    "Contact", "FirstName", "NoLastName"), account_rec("AllOrNone B")), 200);
	assert_true(json_is_true(json_object_get(json_array_get(res, 0), "success")));
	assert_record_error(json_array_get(res, 1), "REQUIRED_FIELD_MISSING");
	assert_true(json_is_true(json_object_get(json_array_get(res, 2), "success")));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'AllOrNone%'"), 2);
}

static void
test_collections_record_errors(void **state)
{
	static const struct {
		const char *record;
		const char *status_code;	/* NULL: success */
	} cases[] = {
		{ "{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Rec Ok\"}", NULL },
		{ "{\"Name\":\"No type\"}", "INVALID_TYPE" },
		{ "{\"attributes\":{},\"Name\":\"Empty attributes\"}", "INVALID_TYPE" },
		{ "{\"attributes\":{\"type\":\"Nonexistent__c\"},\"Name\":\"x\"}", "INVALID_TYPE" },
		{ "{\"attributes\":{\"type\":\"Account\"},\"Id\":\"001000000000000AAA\","
		    "\"Name\":\"x\"}", "INVALID_FIELD_FOR_INSERT_UPDATE" },
		{ "{\"attributes\":{\"type\":\"Account\"}}", "REQUIRED_FIELD_MISSING" },
		{ "{\"attributes\":{\"type\":\"Account\"},\"Name\":\"x\",\"NoSuchField\":1}",
		    "INVALID_FIELD" },
	};
	json_t *records = json_array(), *res;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		json_array_append_new(records, json_loads(cases[i].record, 0, NULL));
	res = call_json("POST", V "/composite/sobjects", json_pack("{s:o}", "records", records),
	    200);
	assert_int_equal(json_array_size(res), sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *item = json_array_get(res, i);

		if (cases[i].status_code == NULL)
			assert_true(json_is_true(json_object_get(item, "success")));
		else
			assert_record_error(item, cases[i].status_code);
	}
	json_decref(res);
}

static void
test_collections_limits(void **state)
{
	static const struct {
		const char *method;
		int n;
		long status;
	} cases[] = {
		{ "POST", 200, 200 },
		{ "POST", 201, 400 },
		{ "PATCH", 201, 400 },
		{ "DELETE", 201, 400 },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		json_t *res, *records = json_array();
		char *path;

		if (strcmp(cases[c].method, "DELETE") == 0) {
			size_t len = 0;

			path = xmalloc(64 + (size_t)cases[c].n * 19);
			len = (size_t)sprintf(path, V "/composite/sobjects?ids=");
			for (int i = 0; i < cases[c].n; i++)
				len += (size_t)sprintf(path + len, "%s%s", i ? "," : "", acme_id);
			res = call_json("DELETE", path, NULL, cases[c].status);
			free(path);
			json_decref(records);
		} else {
			for (int i = 0; i < cases[c].n; i++)
				json_array_append_new(records, account_rec("Bulk Limit"));
			res = call_json(cases[c].method, V "/composite/sobjects", json_pack("{s:b,s:o}",
			    "allOrNone", 1, "records", records), cases[c].status);
		}
		if (cases[c].status == 400) {
			assert_error(res, "EXCEEDED_ID_LIMIT");
			assert_string_equal(jstr(json_object_get(json_array_get(res, 0),
			    "message")), "record limit reached. cannot submit more than 200 records "
			    "into this call");
		} else {
			assert_int_equal(json_array_size(res), (size_t)cases[c].n);
		}
		json_decref(res);
	}
	/* Only the 200-record create went through; the refused calls wrote nothing. */
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Bulk Limit'"), 200);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Acme'"), 1);
}

static json_t *
task_rec(const char *ext, const char *subject)
{
	return json_pack("{s:{s:s},s:s,s:s}", "attributes", "type", "Task", "OutlookMessageId__c",
	    ext, "Subject", subject);
}

static void
test_collections_upsert(void **state)
{
	json_t *res, *item;

	(void)state;
	res = call_json("PATCH", V "/composite/sobjects/Task/OutlookMessageId__c",
	    json_pack("{s:b,s:[o,o]}", "allOrNone", 0, "records", task_rec("<m1@x>", "first"),
	    task_rec("<m2@x>", "second")), 200);
	for (size_t i = 0; i < 2; i++) {
		item = json_array_get(res, i);
		assert_true(json_is_true(json_object_get(item, "success")));
		assert_true(json_is_true(json_object_get(item, "created")));
	}
	json_decref(res);
	res = call_json("PATCH", V "/composite/sobjects/Task/OutlookMessageId__c",
	    json_pack("{s:[o,o,o]}", "records", task_rec("<m1@x>", "first again"),
	    task_rec("<m3@x>", "third"), json_pack("{s:{s:s},s:s}", "attributes", "type", "Task",
	    "Subject", "no key")), 200);
	item = json_array_get(res, 0);
	assert_true(json_is_true(json_object_get(item, "success")));
	assert_true(json_is_false(json_object_get(item, "created")));
	assert_true(json_is_true(json_object_get(json_array_get(res, 1), "created")));
	assert_record_error(json_array_get(res, 2), "MISSING_ARGUMENT");
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Task WHERE OutlookMessageId__c = '<m1@x>' "
	    "AND Subject = 'first again'"), 1);
	assert_int_equal(query_count("SELECT Id FROM Task WHERE OutlookMessageId__c LIKE '<m%'"),
	    3);

	/* allOrNone: the update of m2 is rolled back with the failing record. */
	res = call_json("PATCH", V "/composite/sobjects/Task/OutlookMessageId__c",
	    json_pack("{s:b,s:[o,o]}", "allOrNone", 1, "records", task_rec("<m2@x>", "changed"),
	    json_pack("{s:{s:s},s:s,s:s}", "attributes", "type", "Task", "OutlookMessageId__c",
	    "<m4@x>", "CallType", "Sideways")), 200);
	assert_record_error(json_array_get(res, 0), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
	assert_false(json_is_true(json_object_get(json_array_get(res, 1), "success")));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Task WHERE Subject = 'changed'"), 0);

	res = call_json("PATCH", V "/composite/sobjects/Task/Subject", json_pack("{s:[]}",
	    "records"), 404);
	assert_error(res, "NOT_FOUND");
	json_decref(res);
}

static void
test_collections_retrieve(void **state)
{
	json_t *res, *rec;
	char *path;

	(void)state;
	path = xasprintf(V "/composite/sobjects/Account?ids=%s,%s,%s&fields=Name", acme_id,
	    absent_account, absent_contact);
	res = call_json("GET", path, NULL, 200);
	free(path);
	assert_int_equal(json_array_size(res), 3);
	rec = json_array_get(res, 0);
	assert_string_equal(jstr(json_object_get(rec, "Name")), "Acme");
	assert_string_equal(jstr(json_object_get(rec, "Id")), acme_id);
	assert_null(json_object_get(rec, "Description"));
	assert_string_equal(jstr(json_object_get(json_object_get(rec, "attributes"),
	    "type")), "Account");
	assert_true(json_is_null(json_array_get(res, 1)));
	assert_true(json_is_null(json_array_get(res, 2)));
	json_decref(res);

	/* jsforce's form: POST {ids, fields}. */
	res = call_json("POST", V "/composite/sobjects/Account", json_pack("{s:[s],s:[s,s]}",
	    "ids", acme_id, "fields", "Name", "Description"), 200);
	rec = json_array_get(res, 0);
	assert_string_equal(jstr(json_object_get(rec, "Name")), "Acme");
	assert_non_null(json_object_get(rec, "Description"));
	json_decref(res);

	res = call_json("POST", V "/composite/sobjects/Account", json_pack("{s:[s],s:[s]}",
	    "ids", acme_id, "fields", "NoSuchField"), 400);
	assert_error(res, "INVALID_FIELD");
	json_decref(res);
	res = call_json("GET", V "/composite/sobjects/NoSuchObject?ids=001&fields=Name", NULL,
	    404);
	assert_error(res, "NOT_FOUND");
	json_decref(res);
}

static void
test_collections_methods(void **state)
{
	static const struct {
		const char *method;
		const char *path;
		long status;
	} cases[] = {
		{ "PUT", V "/composite/sobjects", 405 },
		{ "GET", V "/composite/sobjects", 405 },
		{ "DELETE", V "/composite/sobjects/Account", 405 },
		{ "POST", V "/composite/sobjects/Task/OutlookMessageId__c", 405 },
		{ "PATCH", V "/composite/sobjects/Task/OutlookMessageId__c/extra", 404 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *out;
		long status = request(cases[i].method, cases[i].path, "{}", &out, NULL, 0);

		if (status != cases[i].status)
			fail_msg("%s %s: %ld, expected %ld", cases[i].method, cases[i].path, status,
			    cases[i].status);
		assert_error(out, status == 405 ? "METHOD_NOT_ALLOWED" : "NOT_FOUND");
		json_decref(out);
	}
}

static void
test_collections_inside_composite(void **state)
{
	json_t *res, *e;

	(void)state;
	/* Outer allOrNone wins over the collection's own allOrNone:false (reference 4.1). */
	res = call_json("POST", V "/composite", json_pack("{s:b,s:[o,o]}", "allOrNone", 1,
	    "compositeRequest",
	    sub("POST", V "/composite/sobjects", "coll", json_pack("{s:b,s:[o,{s:{s:s}}]}",
	    "allOrNone", 0, "records", account_rec("Nested Coll"), "attributes", "type",
	    "Contact")),
	    sub("POST", V "/sobjects/Account", "after", json_pack("{s:s}", "Name",
	    "Nested After"))), 200);
	e = entry(res, 0, "coll", 200);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(e, "body"), 0),
	    "success")));
	assert_rolled_back(entry(res, 1, "after", 400));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'Nested%'"), 0);
}

/* A subrequest fault: the matching subrequest alone answers it, inside the composite; the
 * composite itself and a plain request to the same path do not take it. */
static void
test_subrequest_fault(void **state)
{
	json_t *res, *e, *faults;

	(void)state;
	assert_int_equal(request("POST", "/_sim/faults", "{\"method\":\"POST\",\"path\":\""
	    V "/composite/sobjects\",\"subrequest\":true,\"errorCode\":\"UNKNOWN_EXCEPTION\"}",
	    NULL, NULL, 0), 200);
	assert_int_equal(request("POST", "/_sim/faults", "{\"path\":\"/\",\"subrequest\":true,"
	    "\"drop\":true}", &e, NULL, 0), 400);	/* a subrequest has no connection */
	json_decref(e);
	/* Not taken by a plain collection call to the same path. */
	res = call_json("POST", V "/composite/sobjects", json_pack("{s:b,s:[o]}", "allOrNone", 0,
	    "records", account_rec("Subfault Plain")), 200);
	assert_true(json_is_true(json_object_get(json_array_get(res, 0), "success")));
	json_decref(res);
	res = call_json("POST", V "/composite", json_pack("{s:b,s:[o,o]}", "allOrNone", 0,
	    "compositeRequest",
	    sub("POST", V "/composite/sobjects", "first", json_pack("{s:b,s:[o]}", "allOrNone", 0,
	    "records", account_rec("Subfault One"))),
	    sub("POST", V "/composite/sobjects", "second", json_pack("{s:b,s:[o]}", "allOrNone",
	    0, "records", account_rec("Subfault Two")))), 200);
	e = entry(res, 0, "first", 500);
	assert_error(json_object_get(e, "body"), "UNKNOWN_EXCEPTION");
	e = entry(res, 1, "second", 200);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(e, "body"), 0),
	    "success")));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name LIKE 'Subfault%'"), 2);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Subfault One'"), 0);
	assert_int_equal(request("GET", "/_sim/faults", NULL, &faults, NULL, 0), 200);
	assert_int_equal(json_array_size(json_object_get(faults, "faults")), 0);
	json_decref(faults);
}

/*
 * /composite/batch
 */

static json_t *
batch_body(int halt, const char *bad_id)
{
	char get[128], patch[128];

	snprintf(get, sizeof(get), "v62.0/sobjects/Account/%s?fields=Name", acme_id);
	snprintf(patch, sizeof(patch), "v62.0/sobjects/Account/%s", bad_id);
	return json_pack("{s:b,s:[{s:s,s:s},{s:s,s:s,s:{s:s}},{s:s,s:s}]}", "haltOnError", halt,
	    "batchRequests", "method", "GET", "url", get, "method", "PATCH", "url", patch,
	    "richInput", "Name", "Renamed", "method", "GET", "url", get);
}

static void
test_batch(void **state)
{
	static const struct {
		int halt;
		const char *bad_id;
		long second;		/* statusCode of the PATCH */
		long third;		/* statusCode of the last GET */
		int has_errors;
		long calls;		/* API calls counted */
	} cases[] = {
		{ 1, absent_account, 404, 412, 1, 2 },
		{ 0, absent_account, 404, 200, 1, 3 },
		{ 1, absent_contact, 400, 412, 1, 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *res, *results, *r;
		long before = api_calls();

		res = call_json("POST", V "/composite/batch", batch_body(cases[i].halt,
		    cases[i].bad_id), 200);
		assert_int_equal(api_calls() - before, cases[i].calls);
		assert_int_equal(json_is_true(json_object_get(res, "hasErrors")),
		    cases[i].has_errors);
		results = json_object_get(res, "results");
		assert_int_equal(json_array_size(results), 3);
		r = json_array_get(results, 0);
		assert_int_equal(json_integer_value(json_object_get(r, "statusCode")), 200);
		assert_string_equal(jstr(json_object_get(json_object_get(r, "result"),
		    "Name")), "Acme");
		r = json_array_get(results, 1);
		assert_int_equal(json_integer_value(json_object_get(r, "statusCode")),
		    cases[i].second);
		assert_true(json_is_array(json_object_get(r, "result")));
		r = json_array_get(results, 2);
		assert_int_equal(json_integer_value(json_object_get(r, "statusCode")),
		    cases[i].third);
		if (cases[i].third == 412) {
			assert_error(json_object_get(r, "result"), "BATCH_PROCESSING_HALTED");
			assert_string_equal(jstr(json_object_get(json_array_get(
			    json_object_get(r, "result"), 0), "message")),
			    "Batch processing halted per request");
		}
		json_decref(res);
	}
}

static void
test_batch_commits_each_and_rules(void **state)
{
	json_t *res;
	char url[128], *body;
	long before;

	(void)state;
	/* No rollback in batch: the first PATCH stays although the second fails. */
	snprintf(url, sizeof(url), "v62.0/sobjects/Account/%s", acme_id);
	res = call_json("POST", V "/composite/batch", json_pack("{s:[{s:s,s:s,s:{s:s}},"
	    "{s:s,s:s,s:{s:s}}]}", "batchRequests", "method", "PATCH", "url", url, "richInput",
	    "AccountNumber", "batch-kept", "method", "PATCH", "url", url, "richInput", "Name", ""),
	    200);
	assert_true(json_is_true(json_object_get(res, "hasErrors")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(res,
	    "results"), 0), "statusCode")), 204);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(res, "results"),
	    0), "result")));
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE AccountNumber = 'batch-kept'"),
	    1);

	/* 26 subrequests: refused before anything runs, counted once. */
	res = json_pack("{s:[]}", "batchRequests");
	for (int i = 0; i < 26; i++)
		json_array_append_new(json_object_get(res, "batchRequests"), json_pack("{s:s,s:s}",
		    "method", "GET", "url", "v62.0/limits"));
	body = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	before = api_calls();
	assert_int_equal(request("POST", V "/composite/batch", body, &res, NULL, 0), 400);
	assert_int_equal(api_calls() - before, 1);
	assert_error(res, "INVALID_INPUT");
	json_decref(res);
	free(body);
}

/*
 * /composite/graph
 */

static void
test_graph(void **state)
{
	json_t *res, *g, *resp, *body;
	long before;

	(void)state;
	before = api_calls();
	res = call_json("POST", V "/composite/graph", json_pack("{s:[{s:s,s:[o,o]},{s:s,s:[o,o]}]}",
	    "graphs",
	    "graphId", "good", "compositeRequest",
	    sub("POST", V "/sobjects/Account", "acc", json_pack("{s:s}", "Name", "Graph Good")),
	    sub("POST", V "/sobjects/Contact", "con", json_pack("{s:s,s:s}", "LastName", "G",
	    "AccountId", "@{acc.id}")),
	    "graphId", "bad", "compositeRequest",
	    sub("POST", V "/sobjects/Account", "acc", json_pack("{s:s}", "Name", "Graph Bad")),
	    sub("POST", V "/sobjects/Contact", "con", json_pack("{s:s}", "FirstName", "G"))), 200);
	assert_int_equal(api_calls() - before, 1);
	g = json_array_get(json_object_get(res, "graphs"), 0);
	assert_string_equal(jstr(json_object_get(g, "graphId")), "good");
	assert_true(json_is_true(json_object_get(g, "isSuccessful")));
	resp = json_object_get(g, "graphResponse");
	entry(resp, 0, "acc", 201);
	entry(resp, 1, "con", 201);
	g = json_array_get(json_object_get(res, "graphs"), 1);
	assert_string_equal(jstr(json_object_get(g, "graphId")), "bad");
	assert_true(json_is_false(json_object_get(g, "isSuccessful")));
	resp = json_object_get(g, "graphResponse");
	assert_rolled_back(entry(resp, 0, "acc", 400));
	body = json_object_get(entry(resp, 1, "con", 400), "body");
	assert_error(body, "REQUIRED_FIELD_MISSING");
	json_decref(res);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Graph Good'"), 1);
	assert_int_equal(query_count("SELECT Id FROM Account WHERE Name = 'Graph Bad'"), 0);

	/* Only sObject resources in a graph; a query fails its graph. */
	res = call_json("POST", V "/composite/graph", json_pack("{s:[{s:s,s:[o]}]}", "graphs",
	    "graphId", "q", "compositeRequest", sub("GET", V "/query?q=SELECT+Id+FROM+User", "q1",
	    NULL)), 200);
	g = json_array_get(json_object_get(res, "graphs"), 0);
	assert_true(json_is_false(json_object_get(g, "isSuccessful")));
	json_decref(res);
}

static void
test_graph_limits(void **state)
{
	static const struct {
		int graphs, nodes;
		long status;
	} cases[] = {
		{ 75, 1, 200 },
		{ 76, 1, 400 },
		{ 1, 500, 200 },
		{ 1, 501, 400 },
		{ 2, 300, 400 },	/* 600 nodes in the payload */
		{ 0, 0, 400 },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		json_t *graphs = json_array(), *res;
		char url[128];

		snprintf(url, sizeof(url), V "/sobjects/Account/%s", acme_id);
		for (int g = 0; g < cases[c].graphs; g++) {
			json_t *subs = json_array();
			char gid[16];

			for (int n = 0; n < cases[c].nodes; n++) {
				char ref[16];

				snprintf(ref, sizeof(ref), "n%d", n);
				json_array_append_new(subs, sub("GET", url, ref, NULL));
			}
			snprintf(gid, sizeof(gid), "g%d", g);
			json_array_append_new(graphs, json_pack("{s:s,s:o}", "graphId", gid,
			    "compositeRequest", subs));
		}
		res = call_json("POST", V "/composite/graph", json_pack("{s:o}", "graphs", graphs),
		    cases[c].status);
		if (cases[c].status == 400)
			assert_error(res, "INVALID_INPUT");
		else
			assert_int_equal(json_array_size(json_object_get(res, "graphs")),
			    (size_t)cases[c].graphs);
		json_decref(res);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_composite_reference_to_created),
		cmocka_unit_test(test_composite_reference_into_query_result),
		cmocka_unit_test(test_composite_all_or_none_rolls_back),
		cmocka_unit_test(test_composite_dependent_is_halted),
		cmocka_unit_test(test_composite_null_reference_by_version),
		cmocka_unit_test(test_composite_top_level_rules),
		cmocka_unit_test(test_composite_subrequest_rules),
		cmocka_unit_test(test_composite_counts_one_call),
		cmocka_unit_test(test_collections_create_update_delete),
		cmocka_unit_test(test_collections_all_or_none),
		cmocka_unit_test(test_collections_record_errors),
		cmocka_unit_test(test_collections_limits),
		cmocka_unit_test(test_collections_upsert),
		cmocka_unit_test(test_collections_retrieve),
		cmocka_unit_test(test_collections_methods),
		cmocka_unit_test(test_collections_inside_composite),
		cmocka_unit_test(test_subrequest_fault),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_commits_each_and_rules),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_graph_limits),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
