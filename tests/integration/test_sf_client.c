/* test_sf_client.c: olsync's Salesforce client (src/sf_client.c) against the real sf-sim: JWT
 * bearer and refresh token login, paged queries, composite queries as one API call, collection
 * upsert and create with per-record failures, collection delete (a record already gone counts as
 * deleted), field types from one describe per sObject, a session ending mid-run, and every
 * scripted fault classified as the engine needs it (temp, wait, auth, final). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mono.h"
#include "remote.h"
#include "sf_client.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define V		"/services/data/v62.0"
#define USER		"integ@example.com"
#define APP		"OLSYNC"
#define APP_SECRET	"olsync-consumer-secret"
#define NO_EVENT	"00U000000000042"	/* an Event id that names no record */
#define EVENT(k, h) \
	"{\"_key\":\"" k "\",\"Subject\":\"Meeting " k "\",\"StartDateTime\":" \
	"\"2030-01-15T" h ":00:00Z\",\"DurationInMinutes\":30}"

static struct sf_fixture fx;

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "(not a string)";
}

static const char *
key_id(const char *k)
{
	const char *id = json_string_value(json_object_get(fx.keys, k));

	if (id == NULL)
		fail_msg("no seeded key %s", k);
	return id;
}

static json_t *
ctl(const char *method, const char *path, const char *body)
{
	return sim_http_ctl(fx.p.base_url, method, path, body, 200);
}

static void
ctl_void(const char *method, const char *path, const char *body)
{
	json_decref(ctl(method, path, body));
}

static long
api_calls(void)
{
	json_t *j = ctl("GET", "/_sim/stats", NULL);
	long n = (long)json_integer_value(json_object_get(j, "api_calls"));

	json_decref(j);
	return n;
}

/* Every record of sobject sf-sim holds (caller decrefs). */
static json_t *
held(const char *sobject)
{
	char *path = xasprintf("/_sim/records/%s", sobject);
	json_t *j = ctl("GET", path, NULL), *r = json_incref(json_object_get(j, "records"));

	free(path);
	json_decref(j);
	return r;
}

/* What sf-sim answers a GET of the Event id (one API call, on a token of its own: tests expire
 * the fixture's): the status, and the errorCode in code ("" on success). */
static long
get_event(const char *id, char *code, size_t codelen)
{
	struct sim_http h;
	char *path = xasprintf(V "/sobjects/Event/%s", id);
	json_t *tok = ctl("POST", "/_sim/token", "{}");
	long status;

	sim_http_do(&h, fx.p.base_url, "GET", path, NULL, jstr(tok, "access_token"), NULL);
	json_decref(tok);
	free(path);
	status = h.status;
	snprintf(code, codelen, "%s", status == 200 ? "" : sim_http_error_code(&h));
	sim_http_free(&h);
	return status;
}

static void
assert_event_deleted(const char *id)
{
	char code[64];
	long status = get_event(id, code, sizeof(code));

	if (status != 404 || strcmp(code, "ENTITY_IS_DELETED") != 0)
		fail_msg("Event %s: GET answers %ld %s, not 404 ENTITY_IS_DELETED", id, status,
		    code);
}

static void
assert_event_held(const char *id)
{
	char code[64];

	if (get_event(id, code, sizeof(code)) != 200)
		fail_msg("Event %s: GET answers %s, not 200", id, code);
}

static int
setup(void **state)
{
	char *cert0, *key0, *key1, *seed;
	json_t *cs;
	char *certjson;

	(void)state;
	testkeys_pem(0, &key0, &cert0);
	testkeys_pem(1, &key1, NULL);
	setenv("OLT_GRAPH_SECRET", "graph-secret", 1);
	setenv("OLT_SF_KEY", key0, 1);
	setenv("OLT_SF_KEY_OTHER", key1, 1);	/* a good key, but not the app's certificate */
	setenv("OLT_SF_SECRET", APP_SECRET, 1);
	cs = json_string(cert0);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	seed = xasprintf("{\"User\":[{\"_key\":\"integ\",\"Username\":\"" USER "\","
	    "\"Email\":\"" USER "\",\"LastName\":\"Integration\",\"Alias\":\"integ\"}],"
	    "\"Account\":[{\"_key\":\"acme\",\"Name\":\"Acme\"}],"
	    "\"Contact\":["
	    "{\"_key\":\"c1\",\"LastName\":\"One\",\"Email\":\"one@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c2\",\"LastName\":\"Two\",\"Email\":\"two@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c3\",\"LastName\":\"Three\",\"Email\":\"three@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c4\",\"LastName\":\"Four\",\"Email\":\"four@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c5\",\"LastName\":\"Five\",\"Email\":\"five@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c6\",\"LastName\":\"Six\",\"Email\":\"six@acme.example\",\"AccountId\":\"@acme\"},"
	    "{\"_key\":\"c7\",\"LastName\":\"Seven\",\"Email\":\"seven@acme.example\",\"AccountId\":\"@acme\"}],"
	    "\"Lead\":[{\"_key\":\"l1\",\"LastName\":\"Lead\",\"Company\":\"Initech\","
	    "\"Email\":\"lead@initech.example\"}],"
	    "\"Event\":[" EVENT("e1", "09") "," EVENT("e2", "10") "," EVENT("e3", "11") ","
	    EVENT("e4", "12") "," EVENT("e5", "13") "," EVENT("e6", "14") "],"
	    "\"ConnectedApp\":[{\"consumerKey\":\"" APP "\",\"consumerSecret\":\"" APP_SECRET "\","
	    "\"certificate\":%s,\"preauthorized\":[\"" USER "\"]}]}", certjson);
	free(certjson);
	free(cert0);
	free(key0);
	free(key1);
	if (sf_fixture_start(&fx, NULL, seed) == -1) {
		free(seed);
		return -1;
	}
	free(seed);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return sf_fixture_stop(&fx);
}

/* A test starts with no faults, default org settings and zeroed statistics. */
static int
clean(void **state)
{
	(void)state;
	ctl_void("DELETE", "/_sim/faults", NULL);
	ctl_void("POST", "/_sim/config", "{\"daily_api_limit\":100000,\"query_batch_size\":2000}");
	ctl_void("POST", "/_sim/stats/reset", NULL);
	return 0;
}

/* The configuration of a client of sf-sim; auth is the sf_auth lines. Caller config_frees. */
static void
make_config(struct config *cfg, const char *auth)
{
	struct config_errors errs = { 0 };
	char *text = xasprintf(
	    "graph_tenant contoso.onmicrosoft.com\n"
	    "graph_client_id 6731de76-14a6-49ae-97bc-6eba6914391e\n"
	    "graph_client_secret env:OLT_GRAPH_SECRET\n"
	    "internal_domains contoso.com\n"
	    "mailboxes alice@contoso.com\n"
	    "http_timeout %lds\n"
	    "sf_login_url %s\n"
	    "%s", mono_scaled(5000) / 1000, fx.p.base_url, auth);

	if (config_parse("t.conf", text, strlen(text), NULL, cfg, &errs) == -1)
		fail_msg("config: %s", errs.n ? errs.v[0] : "?");
	config_errors_free(&errs);
	free(text);
}

#define JWT_AUTH \
	"sf_auth jwt\nsf_client_id " APP "\nsf_username " USER "\nsf_private_key env:OLT_SF_KEY\n"

static struct sf_client *
new_client(struct config *cfg, const char *auth)
{
	struct sf_client *c;
	char err[256];

	make_config(cfg, auth);
	c = sf_client_new(cfg, err, sizeof(err));
	if (c == NULL)
		fail_msg("sf_client_new: %s", err);
	return c;
}

static void
test_login_jwt(void **state)
{
	struct config cfg;
	struct sf_client *c;
	struct remote_failure f;
	json_t *recs;
	long used, max;

	(void)state;
	c = new_client(&cfg, JWT_AUTH);
	assert_int_equal(sf_client_login(c, &f), 0);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_int_equal(sf_client_calls(c), 0);	/* the token request is not an API call */
	/* The token is the integration user's: it reads its own User row. */
	assert_int_equal(sf_client_query(c, "SELECT Id, Username FROM User WHERE Username = '"
	    USER "'", &recs, &f), 0);
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(jstr(json_array_get(recs, 0), "Id"), key_id("integ"));
	json_decref(recs);
	assert_int_equal(sf_client_calls(c), 1);
	sf_client_api_usage(c, &used, &max);
	assert_int_equal(used, api_calls());
	assert_int_equal(max, 100000);
	sf_client_free(c);
	config_free(&cfg);
}

/* Sforce-Limit-Info api-usage=N/M as the org reports it. */
static void
test_limit_info(void **state)
{
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	json_t *recs;
	long used = -1, max = -1;

	(void)state;
	sf_client_api_usage(c, &used, &max);
	assert_int_equal(used, 0);	/* unknown before the first answer */
	assert_int_equal(max, 0);
	ctl_void("POST", "/_sim/config", "{\"daily_api_limit\":15000,\"api_used\":14000}");
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Account", &recs, &f), 0);
	json_decref(recs);
	sf_client_api_usage(c, &used, &max);
	assert_int_equal(used, 14001);
	assert_int_equal(max, 15000);
	sf_client_free(c);
	config_free(&cfg);
}

/* Login refusals are REMOTE_AUTH with Salesforce's error and who tried; a key that is not
 * a key at all is refused before any call. */
static void
test_login_refused(void **state)
{
	static const struct {
		const char *auth;
		const char *code;
		const char *in_message;
	} cases[] = {
		{ "sf_auth jwt\nsf_client_id " APP "\nsf_username " USER
		  "\nsf_private_key env:OLT_SF_KEY_OTHER\n", "invalid_grant", USER },
		{ "sf_auth jwt\nsf_client_id NOSUCHAPP\nsf_username " USER
		  "\nsf_private_key env:OLT_SF_KEY\n", "invalid_client_id", "NOSUCHAPP" },
		{ "sf_auth jwt\nsf_client_id " APP "\nsf_username nobody@example.com"
		  "\nsf_private_key env:OLT_SF_KEY\n", "invalid_grant", "nobody@example.com" },
		{ "sf_auth refresh_token\nsf_client_id " APP "\nsf_client_secret env:OLT_SF_SECRET"
		  "\nsf_refresh_token env:OLT_GRAPH_SECRET\n", "invalid_grant", APP },
	};
	struct config cfg;
	struct sf_client *c;
	struct remote_failure f;
	json_t *recs = NULL;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = new_client(&cfg, cases[i].auth);
		assert_int_equal(sf_client_login(c, &f), -1);
		if (f.cls != REMOTE_AUTH || strcmp(f.code, cases[i].code) != 0 ||
		    strstr(f.message, cases[i].in_message) == NULL)
			fail_msg("case %zu: got %s %s \"%s\"", i, remote_class_name(f.cls), f.code,
			    f.message);
		assert_int_equal(f.status, 400);
		/* A data call fails the same way, without reaching the data API. */
		assert_int_equal(sf_client_query(c, "SELECT Id FROM Account", &recs, &f), -1);
		assert_null(recs);
		assert_int_equal(f.cls, REMOTE_AUTH);
		assert_int_equal(sf_client_calls(c), 0);
		sf_client_free(c);
		config_free(&cfg);
	}
	/* Not a key (config checks the PEM, so replace it after parsing). */
	make_config(&cfg, JWT_AUTH);
	free(cfg.sf_private_key);
	cfg.sf_private_key = xstrdup("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
	assert_null(sf_client_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "sf_private_key"));
	config_free(&cfg);
}

static void
test_refresh_token(void **state)
{
	struct config cfg;
	struct sf_client *c;
	struct remote_failure f;
	json_t *j, *recs;

	(void)state;
	j = ctl("POST", "/_sim/token", "{\"username\":\"" USER "\",\"refresh\":true,"
	    "\"consumer_key\":\"" APP "\"}");
	setenv("OLT_SF_RT", jstr(j, "refresh_token"), 1);
	json_decref(j);
	c = new_client(&cfg, "sf_auth refresh_token\nsf_client_id " APP
	    "\nsf_client_secret env:OLT_SF_SECRET\nsf_refresh_token env:OLT_SF_RT\n");
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Contact", &recs, &f), 0);
	assert_int_equal(json_array_size(recs), 7);
	json_decref(recs);
	/* A second login with the same refresh token works too. */
	ctl_void("POST", "/_sim/expire-tokens", NULL);
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Lead", &recs, &f), 0);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);
	sf_client_free(c);
	config_free(&cfg);
}

/* nextRecordsUrl is followed to the end; every page is one API call. */
static void
test_query_paging(void **state)
{
	static const struct {
		int batch;
		size_t want;
		long calls;
	} cases[] = {
		{ 2, 7, 4 }, { 3, 7, 3 }, { 7, 7, 1 }, { 2000, 7, 1 },
	};
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	json_t *recs;
	char body[64];
	long before;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"query_batch_size\":%d}", cases[i].batch);
		ctl_void("POST", "/_sim/config", body);
		ctl_void("POST", "/_sim/stats/reset", NULL);
		before = sf_client_calls(c);
		assert_int_equal(sf_client_query(c, "SELECT Id, Email FROM Contact ORDER BY "
		    "LastName", &recs, &f), 0);
		assert_int_equal(json_array_size(recs), cases[i].want);
		/* In order across pages: Five, Four, One, Seven, Six, Three, Two. */
		assert_string_equal(jstr(json_array_get(recs, 0), "Email"), "five@acme.example");
		assert_string_equal(jstr(json_array_get(recs, 6), "Email"), "two@acme.example");
		json_decref(recs);
		assert_int_equal(sf_client_calls(c) - before, cases[i].calls);
		assert_int_equal(api_calls(), cases[i].calls);
	}
	sf_client_free(c);
	config_free(&cfg);
}

static void
test_composite_queries(void **state)
{
	const char *soqls[] = {
		"SELECT Id FROM Contact WHERE Email IN ('one@acme.example','two@acme.example')",
		"SELECT Id FROM Lead WHERE Email = 'lead@initech.example' AND IsConverted = false",
		/* A hostile address, escaped by SOQL's rules: it matches nothing. */
		"SELECT Id FROM Contact WHERE Email = 'x\\'or Name!=\\'@evil.com'",
	};
	const char *bad[] = {
		"SELECT Id FROM Contact",
		"SELECT Naem FROM Contact",
	};
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	json_t *res = NULL;
	long n;

	(void)state;
	assert_int_equal(sf_client_queries(c, soqls, 3, &res, &f), 0);
	assert_int_equal(json_array_size(res), 3);
	assert_int_equal(json_array_size(json_array_get(res, 0)), 2);
	assert_int_equal(json_array_size(json_array_get(res, 1)), 1);
	assert_string_equal(jstr(json_array_get(json_array_get(res, 1), 0), "Id"), key_id("l1"));
	assert_int_equal(json_array_size(json_array_get(res, 2)), 0);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 1);
	assert_int_equal(api_calls(), 1);

	/* A query that pages inside a composite: the first page comes with the composite call,
	 * the others are fetched after it. */
	ctl_void("POST", "/_sim/config", "{\"query_batch_size\":3}");
	assert_int_equal(sf_client_queries(c, bad, 1, &res, &f), 0);
	assert_int_equal(json_array_size(json_array_get(res, 0)), 7);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 1 + 3);

	/* One bad query fails the call, FINAL, with Salesforce's errorCode. */
	res = NULL;
	assert_int_equal(sf_client_queries(c, bad, 2, &res, &f), -1);
	assert_null(res);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_string_equal(f.code, "INVALID_FIELD");
	assert_int_equal(f.status, 400);
	assert_int_equal(sf_client_queries(c, soqls, SF_CLIENT_COMPOSITE_QUERIES + 1, &res, &f),
	    -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	/* Nothing to ask: no call. */
	n = sf_client_calls(c);
	assert_int_equal(sf_client_queries(c, soqls, 0, &res, &f), 0);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), n);
	sf_client_free(c);
	config_free(&cfg);
}

/* Three Tasks by OutlookMessageId__c. */
static json_t *
tasks(const char *subject, const char *who2)
{
	return json_pack("[{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]",
	    "OutlookMessageId__c", "digest-aaa", "Subject", subject, "WhoId", key_id("c1"),
	    "Status", "Completed",
	    "OutlookMessageId__c", "digest-bbb", "Subject", subject, "WhoId", who2,
	    "Status", "Completed",
	    "OutlookMessageId__c", "digest-ccc", "Subject", subject, "WhoId", key_id("l1"),
	    "Status", "Completed");
}

static void
test_upsert_twice(void **state)
{
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	enum remote_class *cls;
	json_t *recs, *res1, *res2, *all;
	char ids[3][19];

	(void)state;
	recs = tasks("Email: first", key_id("c2"));
	assert_int_equal(sf_client_collection(c, "Task", "OutlookMessageId__c", recs, &res1, &cls,
	    &f), 0);
	json_decref(recs);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(res1, i);

		assert_int_equal(cls[i], REMOTE_OK);
		assert_true(json_is_true(json_object_get(r, "success")));
		assert_true(json_is_true(json_object_get(r, "created")));
		snprintf(ids[i], sizeof(ids[i]), "%s", jstr(r, "id"));
		assert_int_equal(strlen(ids[i]), 18);
	}
	free(cls);
	json_decref(res1);

	recs = tasks("Email: second", key_id("c2"));
	assert_int_equal(sf_client_collection(c, "Task", "OutlookMessageId__c", recs, &res2, &cls,
	    &f), 0);
	json_decref(recs);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(res2, i);

		assert_int_equal(cls[i], REMOTE_OK);
		assert_true(json_is_false(json_object_get(r, "created")));
		assert_string_equal(jstr(r, "id"), ids[i]);
	}
	free(cls);
	json_decref(res2);
	assert_int_equal(sf_client_calls(c), 2);
	all = held("Task");
	assert_int_equal(json_array_size(all), 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(jstr(json_array_get(all, i), "Subject"), "Email: second");
	json_decref(all);
	sf_client_free(c);
	config_free(&cfg);
}

/* Per-record failures fail that record alone; the rest lands in the same call. */
static void
test_per_record_failure(void **state)
{
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f, rf;
	enum remote_class *cls;
	json_t *recs, *res, *all, *leads;
	size_t before;

	(void)state;
	all = held("Task");
	before = json_array_size(all);
	json_decref(all);
	/* An Account is no WhoId. */
	recs = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
	    "OutlookMessageId__c", "digest-p1", "Subject", "ok 1", "WhoId", key_id("c3"),
	    "OutlookMessageId__c", "digest-p2", "Subject", "bad", "WhoId", key_id("acme"),
	    "OutlookMessageId__c", "digest-p3", "Subject", "ok 2", "WhoId", key_id("c4"));
	assert_int_equal(sf_client_collection(c, "Task", "OutlookMessageId__c", recs, &res, &cls,
	    &f), 0);
	json_decref(recs);
	assert_int_equal(cls[0], REMOTE_OK);
	assert_int_equal(cls[1], REMOTE_FINAL);
	assert_int_equal(cls[2], REMOTE_OK);
	assert_int_equal(sf_client_record_failure(json_array_get(res, 1), &rf), REMOTE_FINAL);
	assert_int_equal(rf.cls, REMOTE_FINAL);
	assert_true(rf.code[0] != '\0');
	assert_non_null(strstr(rf.message, rf.code));
	assert_int_equal(sf_client_record_failure(json_array_get(res, 0), &rf), REMOTE_OK);
	free(cls);
	json_decref(res);
	all = held("Task");
	assert_int_equal(json_array_size(all), before + 2);
	json_decref(all);

	/* Create: a Lead without LastName fails alone with REQUIRED_FIELD_MISSING. */
	recs = json_pack("[{s:s,s:s,s:s},{s:s,s:s},{s:s,s:s,s:s}]",
	    "LastName", "Alpha", "Company", "A Inc", "Email", "alpha@a.example",
	    "Company", "B Inc", "Email", "beta@b.example",
	    "LastName", "Gamma", "Company", "C Inc", "Email", "gamma@c.example");
	assert_int_equal(sf_client_collection(c, "Lead", NULL, recs, &res, &cls, &f), 0);
	json_decref(recs);
	assert_int_equal(cls[0], REMOTE_OK);
	assert_int_equal(cls[1], REMOTE_FINAL);
	assert_int_equal(cls[2], REMOTE_OK);
	assert_int_equal(sf_client_record_failure(json_array_get(res, 1), &rf), REMOTE_FINAL);
	assert_string_equal(rf.code, "REQUIRED_FIELD_MISSING");
	assert_non_null(strstr(rf.message, "LastName"));
	free(cls);
	json_decref(res);
	leads = held("Lead");
	assert_int_equal(json_array_size(leads), 1 + 2);
	json_decref(leads);

	/* Refused before any call: too many records, a name that is not an API name. */
	recs = json_array();
	for (int i = 0; i <= SF_CLIENT_COLLECTION_MAX; i++)
		json_array_append_new(recs, json_pack("{s:s}", "LastName", "x"));
	res = NULL;
	assert_int_equal(sf_client_collection(c, "Lead", NULL, recs, &res, &cls, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_null(res);
	json_array_clear(recs);
	assert_int_equal(sf_client_collection(c, "Task", "Id/../x", recs, &res, &cls, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	json_decref(recs);
	assert_int_equal(sf_client_calls(c), 2);
	sf_client_free(c);
	config_free(&cfg);
}

/* Three Events gone in one call; deleting them again is no failure, even after the session
 * expired in between. */
static void
test_collection_delete(void **state)
{
	const char *three[] = { key_id("e1"), key_id("e2"), key_id("e3") };
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f, rf;
	enum remote_class *cls;
	json_t *res, *r;

	(void)state;
	assert_int_equal(sf_client_collection_delete(c, three, 3, &res, &cls, &f), 0);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_int_equal(json_array_size(res), 3);
	for (size_t i = 0; i < 3; i++) {
		r = json_array_get(res, i);
		assert_int_equal(cls[i], REMOTE_OK);
		assert_true(json_is_true(json_object_get(r, "success")));
		assert_string_equal(jstr(r, "id"), three[i]);
	}
	free(cls);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 1);
	assert_int_equal(api_calls(), 1);
	for (size_t i = 0; i < 3; i++)
		assert_event_deleted(three[i]);
	assert_event_held(key_id("e4"));

	ctl_void("POST", "/_sim/expire-tokens", NULL);
	assert_int_equal(sf_client_collection_delete(c, three, 3, &res, &cls, &f), 0);
	for (size_t i = 0; i < 3; i++) {
		/* Salesforce says it failed, and why; the class says it is done. */
		r = json_array_get(res, i);
		assert_int_equal(cls[i], REMOTE_OK);
		assert_int_equal(sf_client_record_failure(r, &rf), REMOTE_FINAL);
		assert_string_equal(rf.code, "ENTITY_IS_DELETED");
	}
	free(cls);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 1 + 2);	/* the refused call and its retry */
	sf_client_free(c);
	config_free(&cfg);
}

/* Live, already deleted, never there, a 15-character id, and one whose checksum is wrong: each
 * result on its own, in one call. */
static void
test_collection_delete_mixed(void **state)
{
	static const struct {
		enum remote_class cls;
		int success;
		const char *code;	/* the errorCode Salesforce gives, NULL on success */
	} want[] = {
		{ REMOTE_OK, 1, NULL },
		{ REMOTE_OK, 0, "ENTITY_IS_DELETED" },
		{ REMOTE_OK, 0, "NOT_FOUND" },
		{ REMOTE_OK, 1, NULL },
		{ REMOTE_FINAL, 0, "MALFORMED_ID" },
	};
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f, rf;
	enum remote_class *cls;
	const char *e1 = key_id("e1"), *ids[5];
	char e5[16], bad[19];
	json_t *res, *r;

	(void)state;
	/* e1 is deleted whether or not test_collection_delete ran first. */
	assert_int_equal(sf_client_collection_delete(c, &e1, 1, &res, &cls, &f), 0);
	assert_int_equal(cls[0], REMOTE_OK);
	free(cls);
	json_decref(res);
	snprintf(e5, sizeof(e5), "%.15s", key_id("e5"));
	/* e6 with another checksum: the suffix letters are A-Z and 0-5. */
	snprintf(bad, sizeof(bad), "%s", key_id("e6"));
	bad[17] = bad[17] == '9' ? '8' : '9';
	ids[0] = key_id("e4");
	ids[1] = e1;
	ids[2] = NO_EVENT;
	ids[3] = e5;
	ids[4] = bad;
	assert_int_equal(sf_client_collection_delete(c, ids, 5, &res, &cls, &f), 0);
	assert_int_equal(json_array_size(res), 5);
	for (size_t i = 0; i < 5; i++) {
		r = json_array_get(res, i);
		if (cls[i] != want[i].cls || json_is_true(json_object_get(r, "success")) !=
		    want[i].success || (want[i].code != NULL &&
		    (sf_client_record_failure(r, &rf) != REMOTE_FINAL ||
		    strcmp(rf.code, want[i].code) != 0)))
			fail_msg("id %zu (%s): class %s, result %s", i, ids[i],
			    remote_class_name(cls[i]), json_dumps(r, JSON_COMPACT));
	}
	free(cls);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 2);
	assert_event_deleted(key_id("e4"));
	assert_event_deleted(key_id("e5"));
	assert_event_held(key_id("e6"));
	sf_client_free(c);
	config_free(&cfg);
}

/* Ids that are not ids, or more than one call takes, are refused before anything is sent; the
 * largest call that fits goes out as one. */
static void
test_collection_delete_refused(void **state)
{
	static const char *const bad[] = {
		"", "00U5g00000000A", "00U5g00000000ABC", "00U5g00000000ABCDEF",
		"00U5g0000000AB!", "00U5g00000,0ABC", "00U5g00000 00ABC", "00U5g00000000AB\n", NULL,
	};
	const char *ids[SF_CLIENT_COLLECTION_MAX + 1];
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	enum remote_class *cls;
	json_t *res;
	long before;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ids[0] = key_id("e6");
		ids[1] = bad[i];
		res = NULL;
		cls = NULL;
		assert_int_equal(sf_client_collection_delete(c, ids, 2, &res, &cls, &f), -1);
		if (f.cls != REMOTE_FINAL || strcmp(f.code, "bad_request") != 0)
			fail_msg("id \"%s\": %s %s", bad[i] ? bad[i] : "NULL",
			    remote_class_name(f.cls), f.code);
		assert_null(res);
		assert_null(cls);
	}
	for (size_t i = 0; i <= SF_CLIENT_COLLECTION_MAX; i++)
		ids[i] = NO_EVENT;
	assert_int_equal(sf_client_collection_delete(c, ids, SF_CLIENT_COLLECTION_MAX + 1, &res,
	    &cls, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_string_equal(f.code, "too_many_records");
	assert_int_equal(sf_client_calls(c), 0);
	assert_int_equal(api_calls(), 0);
	assert_event_held(key_id("e6"));

	/* Nothing to delete: no call. */
	assert_int_equal(sf_client_collection_delete(c, ids, 0, &res, &cls, &f), 0);
	assert_int_equal(json_array_size(res), 0);
	free(cls);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 0);

	before = api_calls();
	assert_int_equal(sf_client_collection_delete(c, ids, SF_CLIENT_COLLECTION_MAX, &res,
	    &cls, &f), 0);
	assert_int_equal(json_array_size(res), SF_CLIENT_COLLECTION_MAX);
	for (size_t i = 0; i < SF_CLIENT_COLLECTION_MAX; i++)
		assert_int_equal(cls[i], REMOTE_OK);
	free(cls);
	json_decref(res);
	assert_int_equal(sf_client_calls(c), 1);
	assert_int_equal(api_calls() - before, 1);
	sf_client_free(c);
	config_free(&cfg);
}

/* Field types come from one describe per sObject, kept for the client's life; a field that is
 * not there is FINAL INVALID_FIELD; a failed describe is not kept. */
static void
test_field_type(void **state)
{
	static const struct {
		const char *sobject, *field, *type;
		long calls;	/* the client's calls after it */
	} cases[] = {
		{ "Opportunity", "Next_Meeting_Date__c", "datetime", 1 },
		{ "Opportunity", "CloseDate", "date", 1 },
		{ "Opportunity", "closedate", "date", 1 },	/* API names ignore case */
		{ "Event", "StartDateTime", "datetime", 2 },
		{ "Opportunity", "Next_Meeting_Date__c", "datetime", 2 },
	};
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	const char *type;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		type = NULL;
		if (sf_client_field_type(c, cases[i].sobject, cases[i].field, &type, &f) == -1)
			fail_msg("%s.%s: %s", cases[i].sobject, cases[i].field, f.message);
		assert_string_equal(type, cases[i].type);
		assert_int_equal(sf_client_calls(c), cases[i].calls);
	}
	assert_int_equal(api_calls(), 2);

	type = "x";
	assert_int_equal(sf_client_field_type(c, "Opportunity", "Nope__c", &type, &f), -1);
	assert_null(type);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_string_equal(f.code, "INVALID_FIELD");
	assert_non_null(strstr(f.message, "Opportunity.Nope__c"));
	assert_int_equal(sf_client_calls(c), 2);

	/* A describe that failed is asked again next time. */
	ctl_void("POST", "/_sim/faults", "{\"path\":\"" V "/sobjects/Lead/describe\","
	    "\"status\":503,\"html\":true}");
	assert_int_equal(sf_client_field_type(c, "Lead", "Email", &type, &f), -1);
	assert_int_equal(f.cls, REMOTE_TEMP);
	assert_int_equal(sf_client_field_type(c, "Lead", "Email", &type, &f), 0);
	assert_string_equal(type, "email");
	assert_int_equal(sf_client_calls(c), 4);

	/* No such sObject: Salesforce's NOT_FOUND, final; not an API name: no call. */
	assert_int_equal(sf_client_field_type(c, "NoSuch__c", "Name", &type, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 404);
	assert_int_equal(sf_client_field_type(c, "Lead/../x", "Name", &type, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(sf_client_calls(c), 5);
	sf_client_free(c);
	config_free(&cfg);
}

/* An expired session costs one fresh token and a retry, invisible to the caller; a session
 * that stays refused is REMOTE_AUTH. */
static void
test_token_expiry(void **state)
{
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	json_t *recs = NULL, *j;

	(void)state;
	assert_int_equal(sf_client_login(c, &f), 0);
	j = ctl("POST", "/_sim/expire-tokens", NULL);
	assert_true(json_integer_value(json_object_get(j, "expired")) >= 1);
	json_decref(j);
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Contact", &recs, &f), 0);
	assert_int_equal(json_array_size(recs), 7);
	json_decref(recs);
	assert_int_equal(sf_client_calls(c), 2);	/* the refused call and its retry */

	/* The session is refused again right after the fresh token: give up, once. */
	ctl_void("POST", "/_sim/faults", "{\"path\":\"" V "/\",\"count\":2,"
	    "\"errorCode\":\"INVALID_SESSION_ID\"}");
	recs = NULL;
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Contact", &recs, &f), -1);
	assert_null(recs);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 401);
	assert_string_equal(f.code, "INVALID_SESSION_ID");
	assert_int_equal(sf_client_calls(c), 4);
	/* And the next call works with yet another token. */
	assert_int_equal(sf_client_query(c, "SELECT Id FROM Lead", &recs, &f), 0);
	json_decref(recs);
	sf_client_free(c);
	config_free(&cfg);
}

enum op { OP_QUERY, OP_COMPOSITE, OP_UPSERT, OP_CREATE, OP_DELETE };

static int
run_op(struct sf_client *c, enum op op, struct remote_failure *f)
{
	const char *soqls[] = { "SELECT Id FROM Contact", "SELECT Id FROM Lead" };
	const char *ids[] = { NO_EVENT };
	json_t *out = NULL, *recs;
	enum remote_class *cls = NULL;
	int rc;

	switch (op) {
	case OP_QUERY:
		rc = sf_client_query(c, "SELECT Id FROM Contact", &out, f);
		break;
	case OP_COMPOSITE:
		rc = sf_client_queries(c, soqls, 2, &out, f);
		break;
	case OP_UPSERT:
		recs = json_pack("[{s:s,s:s}]", "OutlookMessageId__c", "digest-fault",
		    "Subject", "fault");
		rc = sf_client_collection(c, "Task", "OutlookMessageId__c", recs, &out, &cls, f);
		json_decref(recs);
		break;
	case OP_DELETE:
		rc = sf_client_collection_delete(c, ids, 1, &out, &cls, f);
		break;
	default:
		recs = json_pack("[{s:s,s:s,s:s}]", "LastName", "Fault", "Company", "F Inc",
		    "Email", "fault@f.example");
		rc = sf_client_collection(c, "Lead", NULL, recs, &out, &cls, f);
		json_decref(recs);
		break;
	}
	if (rc == -1 && out != NULL)
		fail_msg("a failed call returned results");
	json_decref(out);
	free(cls);
	return rc;
}

static void
test_faults(void **state)
{
	static const struct {
		const char *fault;	/* POST /_sim/faults body; NULL: /_sim/config instead */
		const char *config;
		enum op op;
		long timeout_ms;	/* 0: as configured */
		enum remote_class cls;
		int status;
		const char *code;
		double wait_sec;
	} cases[] = {
		{ "{\"path\":\"" V "/query\",\"status\":503,\"html\":true}", NULL, OP_QUERY, 0,
		  REMOTE_TEMP, 503, "HTTP_503", 0 },
		{ "{\"path\":\"" V "/composite\",\"status\":502,\"html\":true}", NULL,
		  OP_COMPOSITE, 0, REMOTE_TEMP, 502, "HTTP_502", 0 },
		{ "{\"path\":\"" V "/query\",\"errorCode\":\"SERVER_UNAVAILABLE\"}", NULL,
		  OP_QUERY, 0, REMOTE_TEMP, 503, "SERVER_UNAVAILABLE", 0 },
		{ "{\"path\":\"" V "/composite\",\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}", NULL,
		  OP_UPSERT, 0, REMOTE_TEMP, 400, "UNABLE_TO_LOCK_ROW", 0 },
		{ "{\"path\":\"" V "/composite\",\"errorCode\":\"UNKNOWN_EXCEPTION\"}", NULL,
		  OP_CREATE, 0, REMOTE_TEMP, 500, "UNKNOWN_EXCEPTION", 0 },
		{ "{\"method\":\"DELETE\",\"path\":\"" V "/composite/sobjects\",\"status\":503,"
		  "\"html\":true}", NULL, OP_DELETE, 0, REMOTE_TEMP, 503, "HTTP_503", 0 },
		{ "{\"path\":\"" V "/query\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}", NULL,
		  OP_QUERY, 0, REMOTE_WAIT, 403, "REQUEST_LIMIT_EXCEEDED", 0 },
		{ "{\"path\":\"" V "/query\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\","
		  "\"message\":\"ConcurrentPerOrgLongTxn Limit exceeded.\"}", NULL, OP_QUERY, 0,
		  REMOTE_TEMP, 403, "REQUEST_LIMIT_EXCEEDED", 0 },
		/* The real budget, not a scripted fault. */
		{ NULL, "{\"daily_api_limit\":15000,\"api_used\":15000}", OP_UPSERT, 0,
		  REMOTE_WAIT, 403, "REQUEST_LIMIT_EXCEEDED", 0 },
		{ "{\"path\":\"" V "/query\",\"errorCode\":\"NOT_FOUND\"}", NULL, OP_QUERY, 0,
		  REMOTE_FINAL, 404, "NOT_FOUND", 0 },
		/* Twice: libcurl silently resends once on a fresh connection. */
		{ "{\"path\":\"" V "/query\",\"drop\":true,\"count\":2}", NULL, OP_QUERY, 0,
		  REMOTE_TEMP, 0, "reset", 0 },
		{ "{\"method\":\"POST\",\"path\":\"" V "/composite/sobjects\",\"drop\":true}", NULL,
		  OP_CREATE, 0, REMOTE_TEMP, 0, "reset", 0 },
		{ "{\"path\":\"" V "/query\",\"delay_ms\":1500}", NULL, OP_QUERY, 300,
		  REMOTE_TEMP, 0, "timeout", 0 },
	};
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	long configured = cfg.http_timeout_ms;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Logged in and connected first, so the fault meets a kept-alive connection. */
		assert_int_equal(run_op(c, OP_QUERY, &f), 0);
		if (cases[i].fault != NULL)
			ctl_void("POST", "/_sim/faults", cases[i].fault);
		else
			ctl_void("POST", "/_sim/config", cases[i].config);
		cfg.http_timeout_ms = cases[i].timeout_ms ? cases[i].timeout_ms : configured;
		assert_int_equal(run_op(c, cases[i].op, &f), -1);
		cfg.http_timeout_ms = configured;
		if (f.cls != cases[i].cls || f.status != cases[i].status ||
		    strcmp(f.code, cases[i].code) != 0 || f.wait_sec != cases[i].wait_sec)
			fail_msg("case %zu: got %s %d %s wait %.0f \"%s\"", i,
			    remote_class_name(f.cls), f.status, f.code, f.wait_sec, f.message);
		assert_true(f.message[0] != '\0');
		clean(NULL);
		/* Nothing stays broken. */
		assert_int_equal(run_op(c, cases[i].op, &f), 0);
	}
	sf_client_free(c);
	config_free(&cfg);
}

/* A create whose answer is lost after it committed is not sent twice behind our back: the
 * caller sees TEMP and one Lead exists (the caller then looks before it creates again). */
static void
test_create_not_resent(void **state)
{
	struct config cfg;
	struct sf_client *c = new_client(&cfg, JWT_AUTH);
	struct remote_failure f;
	json_t *recs, *res = NULL, *leads, *r;
	enum remote_class *cls = NULL;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(run_op(c, OP_QUERY, &f), 0);
	ctl_void("POST", "/_sim/faults", "{\"method\":\"POST\",\"path\":\"" V
	    "/composite/sobjects\",\"drop\":true,\"after_commit\":true}");
	recs = json_pack("[{s:s,s:s,s:s}]", "LastName", "Once", "Company", "Once Inc", "Email",
	    "once@once.example");
	assert_int_equal(sf_client_collection(c, "Lead", NULL, recs, &res, &cls, &f), -1);
	json_decref(recs);
	assert_int_equal(f.cls, REMOTE_TEMP);
	assert_string_equal(f.code, "reset");
	leads = held("Lead");
	json_array_foreach(leads, i, r)
		n += strcmp(jstr(r, "Email"), "once@once.example") == 0;
	json_decref(leads);
	assert_int_equal(n, 1);
	sf_client_free(c);
	config_free(&cfg);
}

static void
test_class_names(void **state)
{
	static const struct {
		enum remote_class cls;
		const char *name;
	} cases[] = {
		{ REMOTE_OK, "ok" }, { REMOTE_TEMP, "temp" }, { REMOTE_WAIT, "wait" },
		{ REMOTE_AUTH, "auth" }, { REMOTE_FINAL, "final" }, { (enum remote_class)99, "unknown" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(remote_class_name(cases[i].cls), cases[i].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_names),
		cmocka_unit_test_setup(test_login_jwt, clean),
		cmocka_unit_test_setup(test_limit_info, clean),
		cmocka_unit_test_setup(test_login_refused, clean),
		cmocka_unit_test_setup(test_refresh_token, clean),
		cmocka_unit_test_setup(test_query_paging, clean),
		cmocka_unit_test_setup(test_composite_queries, clean),
		cmocka_unit_test_setup(test_upsert_twice, clean),
		cmocka_unit_test_setup(test_per_record_failure, clean),
		cmocka_unit_test_setup(test_collection_delete, clean),
		cmocka_unit_test_setup(test_collection_delete_mixed, clean),
		cmocka_unit_test_setup(test_collection_delete_refused, clean),
		cmocka_unit_test_setup(test_field_type, clean),
		cmocka_unit_test_setup(test_token_expiry, clean),
		cmocka_unit_test_setup(test_faults, clean),
		cmocka_unit_test_setup(test_create_not_resent, clean),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
