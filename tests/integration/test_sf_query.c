/* test_sf_query.c: contract tests for sf-sim's /query and /queryAll resources against the
 * reference (section 2): record shape, paging with query locators (batch size from the org
 * setting or Sforce-Query-Options), locator reuse and bad locators, queryAll with deleted rows,
 * COUNT(), relationship fields, the error bodies, and the 16,384-byte URI limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_fixture.h"
#include "sf_id.h"
#include "sim_http.h"
#include "sim_proc.h"

#define D "/services/data/v62.0"
#define NCONTACTS 450

static int
setup(void **state)
{
	struct sf_fixture *fx = calloc(1, sizeof(*fx));
	json_t *seed, *contacts;
	char *text;
	int rc;

	if (fx == NULL)
		return -1;
	/* NCONTACTS contacts, every tenth on Acme; LastName Person0000.. sorts by creation;
	 * Email p000@x.e.. (NCONTACTS < 1000). */
	contacts = json_array();
	for (int i = 0; i < NCONTACTS; i++) {
		char last[32], email[32];
		json_t *c;

		snprintf(last, sizeof(last), "Person%04d", i);
		snprintf(email, sizeof(email), "p%03d@x.e", i);
		c = json_pack("{s:s,s:s}", "LastName", last, "Email", email);
		if (i % 10 == 0)
			json_object_set_new(c, "AccountId", json_string("@acme"));
		json_array_append_new(contacts, c);
	}
	seed = json_pack("{s:[{s:s,s:s},{s:s,s:s}],s:o,s:[{s:s,s:s,s:s,s:s}]}",
	    "Account", "_key", "acme", "Name", "Acme", "_key", "globex", "Name", "Globex Corp",
	    "Contact", contacts,
	    "Lead", "_key", "smith", "LastName", "Smith", "Company", "Smith & Sons",
	    "Email", "John.Smith@Example.com");
	text = json_dumps(seed, JSON_COMPACT);
	json_decref(seed);
	rc = sf_fixture_start(fx, NULL, text);
	free(text);
	if (rc < 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct sf_fixture *fx = *state;
	/* A clean exit: under ASan a leak or a crash in sf-sim fails the test here. */
	int rc = sf_fixture_stop(fx);

	free(fx);
	return rc;
}

static void
get(struct sim_http *h, struct sf_fixture *fx, const char *path, const char *header)
{
	const char *headers[] = { header, NULL };

	sim_http_do(h, fx->p.base_url, "GET", path, NULL, fx->token, header ? headers : NULL);
}

/* GET resource?q=<soql, escaped>. */
static void
soql(struct sim_http *h, struct sf_fixture *fx, const char *resource, const char *q,
    const char *header)
{
	char *e = httpc_escape(q), *path = malloc(strlen(e) + 128);

	assert_non_null(path);
	sprintf(path, D "/%s?q=%s", resource, e);
	get(h, fx, path, header);
	free(path);
	free(e);
}

static void
config(struct sf_fixture *fx, const char *json)
{
	json_decref(sim_http_ctl(fx->p.base_url, "POST", "/_sim/config", json, 200));
}

static const char *
key(struct sf_fixture *fx, const char *name)
{
	return json_string_value(json_object_get(fx->keys, name));
}

static void
expect_ok(const struct sim_http *h, const char *what)
{
	if (h->status != 200)
		fail_msg("%s: status %ld body %s", what, h->status, h->resp.body ? h->resp.body : "");
	if (sim_http_header(h, "Sforce-Limit-Info") == NULL)
		fail_msg("%s: no Sforce-Limit-Info", what);
}

/* Checks a page's shape and collects its ids into seen (duplicates fail). Returns the number of
 * records; *next gets nextRecordsUrl (copied) or "". */
static size_t
page(const struct sim_http *h, json_t *seen, char *next, size_t nextlen)
{
	json_t *records = json_object_get(h->json, "records"), *r;
	const char *url = json_string_value(json_object_get(h->json, "nextRecordsUrl"));
	int done = json_is_true(json_object_get(h->json, "done"));
	size_t i;

	assert_true(json_is_boolean(json_object_get(h->json, "done")));
	assert_true(json_is_integer(json_object_get(h->json, "totalSize")));
	assert_true(json_is_array(records));
	/* nextRecordsUrl exactly when not done. */
	assert_int_equal(url == NULL, done);
	json_array_foreach(records, i, r) {
		const char *id = json_string_value(json_object_get(r, "Id"));

		assert_non_null(id);
		if (json_object_get(seen, id) != NULL)
			fail_msg("record %s returned twice", id);
		json_object_set_new(seen, id, json_true());
	}
	snprintf(next, nextlen, "%s", url ? url : "");
	return json_array_size(records);
}

/* ---- record shape ---- */

static void
test_basic(void **state)
{
	struct sf_fixture *fx = *state;
	struct sim_http h;
	json_t *r, *attrs;
	char url[128];

	soql(&h, fx, "query", "SELECT Id, Name, Email, Company, CreatedDate FROM Lead", NULL);
	expect_ok(&h, "basic");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), 1);
	assert_true(json_is_true(json_object_get(h.json, "done")));
	assert_null(json_object_get(h.json, "nextRecordsUrl"));
	assert_int_equal(json_object_size(h.json), 3);
	r = json_array_get(json_object_get(h.json, "records"), 0);
	/* attributes first-class: type and url with the request's version. */
	attrs = json_object_get(r, "attributes");
	assert_string_equal(json_string_value(json_object_get(attrs, "type")), "Lead");
	snprintf(url, sizeof(url), D "/sobjects/Lead/%s", key(fx, "smith"));
	assert_string_equal(json_string_value(json_object_get(attrs, "url")), url);
	assert_string_equal(json_string_value(json_object_get(r, "Id")), key(fx, "smith"));
	assert_string_equal(json_string_value(json_object_get(r, "Name")), "Smith");
	assert_string_equal(json_string_value(json_object_get(r, "Company")), "Smith & Sons");
	/* Only the selected fields, plus attributes. */
	assert_int_equal(json_object_size(r), 6);
	/* Datetimes as "2013-05-20T20:49:32.000+0000" (reference section 2). */
	{
		static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddd+0000";
		const char *cd = json_string_value(json_object_get(r, "CreatedDate"));

		assert_non_null(cd);
		assert_int_equal(strlen(cd), sizeof(pat) - 1);
		for (size_t k = 0; k < sizeof(pat) - 1; k++)
			if (pat[k] == 'd' ? (cd[k] < '0' || cd[k] > '9') : cd[k] != pat[k])
				fail_msg("CreatedDate %s", cd);
	}
	sim_http_free(&h);

	/* Spaces as '+' work as well as %20; a trailing slash on /query too. */
	get(&h, fx, D "/query/?q=SELECT+Id+FROM+Lead", NULL);
	expect_ok(&h, "plus");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), 1);
	sim_http_free(&h);

	/* Another version shows in attributes.url. */
	get(&h, fx, "/services/data/v50.0/query?q=SELECT+Id+FROM+Lead", NULL);
	expect_ok(&h, "v50");
	snprintf(url, sizeof(url), "/services/data/v50.0/sobjects/Lead/%s", key(fx, "smith"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(h.json, "records"), 0), "attributes"), "url")), url);
	sim_http_free(&h);

	/* No rows: done, empty array. */
	soql(&h, fx, "query", "SELECT Id FROM Lead WHERE LastName = 'Nobody'", NULL);
	expect_ok(&h, "empty");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), 0);
	assert_true(json_is_true(json_object_get(h.json, "done")));
	assert_int_equal(json_array_size(json_object_get(h.json, "records")), 0);
	sim_http_free(&h);
}

/* = and IN on text compare case-insensitively (reference section 2.3). */
static void
test_case_insensitive(void **state)
{
	struct sf_fixture *fx = *state;
	static const struct {
		const char *q;
		long n;
	} cases[] = {
		{ "SELECT Id FROM Lead WHERE Email = 'john.smith@example.com'", 1 },
		{ "SELECT Id FROM Lead WHERE Email = 'JOHN.SMITH@EXAMPLE.COM'", 1 },
		{ "SELECT Id FROM Lead WHERE LastName = 'smith'", 1 },
		{ "SELECT Id FROM Lead WHERE LastName IN ('SMITH', 'jones')", 1 },
		{ "SELECT Id FROM Lead WHERE LastName = 'smit'", 0 },
		{ "SELECT Id FROM Lead WHERE LastName != 'SMITH'", 0 },
		{ "SELECT Id FROM Account WHERE Name LIKE 'globex%'", 1 },
		{ "SELECT Id FROM Contact WHERE LastName = 'PERSON0007'", 1 },
		{ "SELECT Id FROM Contact WHERE Email IN ('P007@X.E', 'p008@x.e', 'none@x.e')", 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_http h;

		soql(&h, fx, "query", cases[i].q, NULL);
		expect_ok(&h, cases[i].q);
		if (json_integer_value(json_object_get(h.json, "totalSize")) != cases[i].n)
			fail_msg("%s: totalSize %lld, want %ld", cases[i].q,
			    (long long)json_integer_value(json_object_get(h.json, "totalSize")),
			    cases[i].n);
		sim_http_free(&h);
	}
}

static void
test_count_and_relationships(void **state)
{
	struct sf_fixture *fx = *state;
	struct sim_http h;
	json_t *r, *acct;
	size_t i;

	/* COUNT(): totalSize is the count, records empty (reference section 2). */
	soql(&h, fx, "query", "SELECT COUNT() FROM Contact", NULL);
	expect_ok(&h, "count");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), NCONTACTS);
	assert_true(json_is_true(json_object_get(h.json, "done")));
	assert_int_equal(json_array_size(json_object_get(h.json, "records")), 0);
	sim_http_free(&h);
	soql(&h, fx, "query", "SELECT COUNT() FROM Contact WHERE AccountId != null", NULL);
	expect_ok(&h, "count where");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), NCONTACTS / 10);
	sim_http_free(&h);

	/* A parent field comes as a nested object with its own attributes. */
	soql(&h, fx, "query", "SELECT Id, LastName, Account.Name FROM Contact "
	    "WHERE AccountId != null ORDER BY LastName LIMIT 3", NULL);
	expect_ok(&h, "relationship");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), 3);
	json_array_foreach(json_object_get(h.json, "records"), i, r) {
		acct = json_object_get(r, "Account");
		assert_true(json_is_object(acct));
		assert_string_equal(json_string_value(json_object_get(acct, "Name")), "Acme");
		assert_string_equal(json_string_value(json_object_get(json_object_get(acct,
		    "attributes"), "type")), "Account");
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
	    h.json, "records"), 0), "LastName")), "Person0000");
	sim_http_free(&h);

	/* No parent: the relationship is null. */
	soql(&h, fx, "query", "SELECT Id, Account.Name FROM Contact WHERE AccountId = null "
	    "LIMIT 1", NULL);
	expect_ok(&h, "null relationship");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(h.json,
	    "records"), 0), "Account")));
	sim_http_free(&h);

	/* Filtering on a parent field. */
	soql(&h, fx, "query", "SELECT COUNT() FROM Contact WHERE Account.Name = 'ACME'", NULL);
	expect_ok(&h, "parent filter");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), NCONTACTS / 10);
	sim_http_free(&h);
}

/* ---- paging ---- */

/* Reads every page of q; checks each page's size and the locator format. Returns the ids. */
static json_t *
read_all(struct sf_fixture *fx, const char *resource, const char *q, const char *header, long total,
    size_t batch, char *first_next, size_t first_len)
{
	struct sim_http h;
	json_t *seen = json_object();
	char next[512];
	size_t got = 0, n;
	int pages = 0;

	soql(&h, fx, resource, q, header);
	expect_ok(&h, q);
	for (;;) {
		assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), total);
		n = page(&h, seen, next, sizeof(next));
		got += n;
		pages++;
		if (next[0] == '\0') {
			assert_int_equal(n, (size_t)total - (got - n));
			sim_http_free(&h);
			break;
		}
		assert_int_equal(n, batch);
		/* "/services/data/v62.0/query/<locator>-<offset>", offset = rows so far; queryAll's
		 * locator still says /query/ (reference section 2). */
		{
			const char *loc = next + strlen(D "/query/");
			const char *dash = strrchr(next, '-');

			if (strncmp(next, D "/query/", strlen(D "/query/")) != 0 || dash == NULL)
				fail_msg("nextRecordsUrl %s", next);
			assert_true(dash - loc == 15 || dash - loc == 18);
			assert_int_equal(atol(dash + 1), (long)got);
		}
		if (pages == 1 && first_next != NULL)
			snprintf(first_next, first_len, "%s", next);
		sim_http_free(&h);
		get(&h, fx, next, NULL);
		expect_ok(&h, next);
	}
	assert_int_equal(got, (size_t)total);
	assert_int_equal(json_object_size(seen), (size_t)total);
	return seen;
}

static void
test_paging(void **state)
{
	struct sf_fixture *fx = *state;
	char first[512];
	struct sim_http h;
	json_t *ids, *again, *r;
	size_t i;
	static const char q[] = "SELECT Id, LastName FROM Contact ORDER BY LastName";

	/* Default batch 2000: one page. */
	ids = read_all(fx, "query", q, NULL, NCONTACTS, 2000, NULL, 0);
	json_decref(ids);

	/* The org setting: pages of 200, 200, 50. */
	config(fx, "{\"query_batch_size\":200}");
	ids = read_all(fx, "query", q, NULL, NCONTACTS, 200, first, sizeof(first));
	json_decref(ids);

	/* A locator can be read again: the same second page. */
	get(&h, fx, first, NULL);
	expect_ok(&h, "reuse");
	again = json_object();
	page(&h, again, first, sizeof(first));
	assert_int_equal(json_object_size(again), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
	    h.json, "records"), 0), "LastName")), "Person0200");
	json_array_foreach(json_object_get(h.json, "records"), i, r)
		assert_string_equal(json_string_value(json_object_get(json_object_get(r,
		    "attributes"), "type")), "Contact");
	json_decref(again);
	sim_http_free(&h);

	/* Sforce-Query-Options: batchSize=N, clamped to 200..2000 (reference section 2). */
	config(fx, "{\"query_batch_size\":2000}");
	ids = read_all(fx, "query", q, "Sforce-Query-Options: batchSize=200", NCONTACTS, 200,
	    NULL, 0);
	json_decref(ids);
	ids = read_all(fx, "query", q, "Sforce-Query-Options: batchSize=300", NCONTACTS, 300,
	    NULL, 0);
	json_decref(ids);
	ids = read_all(fx, "query", q, "Sforce-Query-Options: batchSize=10", NCONTACTS, 200,
	    NULL, 0);
	json_decref(ids);
	ids = read_all(fx, "query", q, "Sforce-Query-Options: batchSize=5000", NCONTACTS, 2000,
	    NULL, 0);
	json_decref(ids);

	/* LIMIT caps totalSize and the pages. */
	ids = read_all(fx, "query", "SELECT Id FROM Contact ORDER BY LastName LIMIT 250",
	    "Sforce-Query-Options: batchSize=200", 250, 200, NULL, 0);
	json_decref(ids);
}

static void
test_query_all(void **state)
{
	struct sf_fixture *fx = *state;
	struct sim_http h;
	json_t *ids, *deleted = json_array(), *r;
	size_t i;
	long n;

	/* Delete three contacts. */
	soql(&h, fx, "query", "SELECT Id FROM Contact ORDER BY LastName LIMIT 3", NULL);
	expect_ok(&h, "pick");
	json_array_foreach(json_object_get(h.json, "records"), i, r)
		json_array_append_new(deleted, json_string(json_string_value(json_object_get(r,
		    "Id"))));
	sim_http_free(&h);
	json_array_foreach(deleted, i, r) {
		char path[128];

		snprintf(path, sizeof(path), D "/sobjects/Contact/%s", json_string_value(r));
		sim_http_do(&h, fx->p.base_url, "DELETE", path, NULL, fx->token, NULL);
		assert_int_equal(h.status, 204);
		sim_http_free(&h);
	}

	/* query no longer sees them, queryAll does, with IsDeleted true. */
	ids = read_all(fx, "query", "SELECT Id FROM Contact", NULL, NCONTACTS - 3, 2000, NULL, 0);
	json_array_foreach(deleted, i, r)
		assert_null(json_object_get(ids, json_string_value(r)));
	json_decref(ids);
	ids = read_all(fx, "queryAll", "SELECT Id FROM Contact", NULL, NCONTACTS, 2000, NULL, 0);
	json_array_foreach(deleted, i, r)
		assert_non_null(json_object_get(ids, json_string_value(r)));
	json_decref(ids);
	soql(&h, fx, "queryAll", "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true",
	    NULL);
	expect_ok(&h, "queryAll deleted");
	assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")), 3);
	json_array_foreach(json_object_get(h.json, "records"), i, r)
		assert_true(json_is_true(json_object_get(r, "IsDeleted")));
	sim_http_free(&h);

	/* Paging through queryAll keeps the deleted rows; the locator says /query/. */
	ids = read_all(fx, "queryAll", "SELECT Id FROM Contact ORDER BY LastName",
	    "Sforce-Query-Options: batchSize=200", NCONTACTS, 200, NULL, 0);
	json_array_foreach(deleted, i, r)
		assert_non_null(json_object_get(ids, json_string_value(r)));
	json_decref(ids);

	soql(&h, fx, "query", "SELECT COUNT() FROM Contact", NULL);
	n = (long)json_integer_value(json_object_get(h.json, "totalSize"));
	assert_int_equal(n, NCONTACTS - 3);
	sim_http_free(&h);
	json_decref(deleted);
}

/* ---- errors ---- */

struct err_case {
	const char *what;
	const char *path;	/* raw path with query string, or NULL to build from q */
	const char *q;
	long status;
	const char *code;
	const char *body;	/* exact body, or NULL */
	const char *message;	/* substring of the message, or NULL */
};

static void
test_errors(void **state)
{
	struct sf_fixture *fx = *state;
	static const struct err_case cases[] = {
		/* Live-org capture (reference section 2.1). */
		{ "q=invalid", D "/query/?q=invalid", NULL, 400, "MALFORMED_QUERY",
		  "[{\"message\":\"unexpected token: 'invalid'\",\"errorCode\":\"MALFORMED_QUERY\"}]",
		  NULL },
		{ "q=invalid without slash", D "/query?q=invalid", NULL, 400, "MALFORMED_QUERY",
		  "[{\"message\":\"unexpected token: 'invalid'\",\"errorCode\":\"MALFORMED_QUERY\"}]",
		  NULL },
		{ "unknown field", NULL, "SELECT Naem FROM Account", 400, "INVALID_FIELD", NULL,
		  "No such column 'Naem' on entity 'Account'. If you are attempting to use a custom "
		  "field, be sure to append the '__c' after the custom field name. Please reference "
		  "your WSDL or the describe call for the appropriate names." },
		{ "positioned error", NULL, "SELECT Naem FROM Account", 400, "INVALID_FIELD", NULL,
		  "\nERROR at Row:1:Column:8\n" },
		{ "unknown object", NULL, "SELECT Id FROM Contact123", 400, "INVALID_TYPE", NULL,
		  "sObject type 'Contact123' is not supported. If you are attempting to use a "
		  "custom object, be sure to append the '__c' after the entity name. Please "
		  "reference your WSDL or the describe call for the appropriate names." },
		{ "unknown field in WHERE", NULL, "SELECT Id FROM Lead WHERE Bogus = 1", 400,
		  "INVALID_FIELD", NULL, "Bogus" },
		{ "unexpected token", NULL, "SELECT Id FROM Account WHERE", 400, "MALFORMED_QUERY",
		  NULL, "unexpected token: <EOF>" },
		{ "missing q", D "/query", NULL, 400, "MALFORMED_QUERY", NULL, NULL },
		{ "empty q", D "/query?q=", NULL, 400, "MALFORMED_QUERY", NULL, NULL },
		{ "queryAll: invalid", D "/queryAll?q=invalid", NULL, 400, "MALFORMED_QUERY",
		  "[{\"message\":\"unexpected token: 'invalid'\",\"errorCode\":\"MALFORMED_QUERY\"}]",
		  NULL },
		{ "unknown locator", D "/query/01gXXXXXXXXXXXXAAA-200", NULL, 400,
		  "INVALID_QUERY_LOCATOR", NULL, NULL },
		{ "locator without offset", D "/query/01gXXXXXXXXXXXXAAA", NULL, 400,
		  "INVALID_QUERY_LOCATOR", NULL, NULL },
		{ "garbage locator", D "/query/not-a-locator", NULL, 400, "INVALID_QUERY_LOCATOR",
		  NULL, NULL },
	};
	struct sim_http h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		const char *msg;

		if (c->path != NULL)
			get(&h, fx, c->path, NULL);
		else
			soql(&h, fx, "query", c->q, NULL);
		if (h.status != c->status || strcmp(sim_http_error_code(&h), c->code) != 0)
			fail_msg("%s: %ld %s, want %ld %s", c->what, h.status,
			    h.resp.body ? h.resp.body : "", c->status, c->code);
		assert_int_equal(json_array_size(h.json), 1);
		if (c->body != NULL) {
			json_t *want = json_loads(c->body, 0, NULL);

			if (!json_equal(want, h.json))
				fail_msg("%s: body %s, want %s", c->what, h.resp.body, c->body);
			json_decref(want);
		}
		msg = json_string_value(json_object_get(json_array_get(h.json, 0), "message"));
		assert_non_null(msg);
		if (c->message != NULL && strstr(msg, c->message) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->what, msg, c->message);
		sim_http_free(&h);
	}

	/* Query is GET only. */
	sim_http_do(&h, fx->p.base_url, "POST", D "/query?q=SELECT+Id+FROM+Lead", "{}", fx->token,
	    NULL);
	assert_int_equal(h.status, 405);
	assert_string_equal(sim_http_error_code(&h), "METHOD_NOT_ALLOWED");
	sim_http_free(&h);
	/* A locator of a real query, past its end, is refused too. */
	config(fx, "{\"query_batch_size\":200}");
	soql(&h, fx, "query", "SELECT Id FROM Contact", NULL);
	expect_ok(&h, "locator source");
	{
		char bad[512];
		const char *next = json_string_value(json_object_get(h.json, "nextRecordsUrl"));

		assert_non_null(next);
		snprintf(bad, sizeof(bad), "%.*s-0", (int)(strrchr(next, '-') - next), next);
		sim_http_free(&h);
		get(&h, fx, bad, NULL);
		assert_int_equal(h.status, 400);
		assert_string_equal(sim_http_error_code(&h), "INVALID_QUERY_LOCATOR");
	}
	sim_http_free(&h);
}

/* A long IN list: the URI limit is 16,384 bytes (reference section 2.3). */
static void
test_uri_limit(void **state)
{
	struct sf_fixture *fx = *state;
	struct sim_http h;
	size_t cap = 40000, len;
	char *q = malloc(cap), *e, *path;
	int n;

	assert_non_null(q);
	/* Grows the IN list until the whole URI is just under, then just over, the limit. */
	for (int over = 0; over < 2; over++) {
		len = (size_t)snprintf(q, cap, "SELECT Id FROM Contact WHERE Email IN ('p000@x.e'");
		for (n = 1; ; n++) {
			char item[32];
			size_t uri;

			snprintf(item, sizeof(item), ",'p%03d@x.e'", n % 1000);
			memcpy(q + len, item, strlen(item) + 1);
			len += strlen(item);
			e = httpc_escape(q);
			uri = strlen(D "/query?q=") + strlen(e) + 1;	/* +1: the ")" */
			free(e);
			if ((!over && uri + 40 > 16384) || (over && uri > 16384 + 100))
				break;
		}
		memcpy(q + len, ")", 2);
		e = httpc_escape(q);
		path = malloc(strlen(e) + 64);
		assert_non_null(path);
		sprintf(path, D "/query?q=%s", e);
		get(&h, fx, path, NULL);
		if (!over) {
			assert_true(strlen(path) < 16384);
			expect_ok(&h, "just under the URI limit");
			/* The list names p000..p800 or so: every contact. */
			assert_int_equal(json_integer_value(json_object_get(h.json, "totalSize")),
			    NCONTACTS);
		} else {
			assert_true(strlen(path) > 16384);
			assert_int_equal(h.status, 414);
		}
		sim_http_free(&h);
		free(path);
		free(e);
	}
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_and_relationships, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uri_limit, setup, teardown),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
