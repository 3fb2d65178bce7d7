/* test_sf_rest.c: contract tests for sf-sim's plain REST surface against the reference
 * (docs: /work/shared/reference/salesforce-rest-api.md): versions, auth errors, API usage and the
 * daily limit, describe, sObject create/read/update/delete with their validation errors, derived
 * fields, Enhanced Email, duplicate rules, upsert by external id per API version, and persistence.
 * Each test starts its own sf-sim on a loopback port; most cases are rows of tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sf_fixture.h"
#include "sf_id.h"
#include "sim_http.h"
#include "sim_proc.h"

#define D "/services/data/v62.0"

struct fx {
	struct sf_fixture sf;		/* sf-sim and the admin's token */
	char user_id[SF_ID_LEN + 1];	/* the running user (the built-in admin) */
	json_t *vars;			/* {name} substitutions for table paths and bodies */
};

/* ---- helpers ---- */

static void
call(struct sim_http *h, struct fx *fx, const char *method, const char *path, const char *body)
{
	sim_http_do(h, fx->sf.p.base_url, method, path, body, fx->sf.token, NULL);
}

static void
call_hdr(struct sim_http *h, struct fx *fx, const char *method, const char *path,
    const char *body, const char *header)
{
	const char *headers[] = { header, NULL };

	sim_http_do(h, fx->sf.p.base_url, method, path, body, fx->sf.token,
	    header ? headers : NULL);
}

/* Replaces each {name} in tmpl by the string fx->vars[name]. Caller frees. */
static char *
expand(struct fx *fx, const char *tmpl)
{
	size_t cap = strlen(tmpl) + 1024, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	for (const char *p = tmpl; *p; ) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		char name[64];
		const char *v = NULL;

		if (close != NULL && (size_t)(close - p - 1) < sizeof(name) && close > p + 1) {
			memcpy(name, p + 1, (size_t)(close - p - 1));
			name[close - p - 1] = '\0';
			v = json_string_value(json_object_get(fx->vars, name));
		}
		if (v != NULL) {
			size_t n = strlen(v);

			if (len + n + 1 > cap) {
				cap = (len + n + 1) * 2;
				out = realloc(out, cap);
				assert_non_null(out);
			}
			memcpy(out + len, v, n);
			len += n;
			p = close + 1;
			continue;
		}
		if (len + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		out[len++] = *p++;
	}
	out[len] = '\0';
	return out;
}

static void
set_var(struct fx *fx, const char *name, const char *value)
{
	json_object_set_new(fx->vars, name, json_string(value));
}

/* POST /_sim/seed; every _key becomes a variable holding the record's id. */
static void
seed(struct fx *fx, const char *json)
{
	const char *key;
	json_t *j, *v;

	j = sim_http_ctl(fx->sf.p.base_url, "POST", "/_sim/seed", json, 200);
	json_object_foreach(json_object_get(j, "keys"), key, v)
		json_object_set(fx->vars, key, v);
	json_decref(j);
}

static void
config(struct fx *fx, const char *json)
{
	json_decref(sim_http_ctl(fx->sf.p.base_url, "POST", "/_sim/config", json, 200));
}

static long
api_calls(struct fx *fx)
{
	struct sim_http h;
	long n;

	sim_http_do(&h, fx->sf.p.base_url, "GET", "/_sim/stats", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	n = (long)json_integer_value(json_object_get(h.json, "api_calls"));
	sim_http_free(&h);
	return n;
}

static void
dump_fail(const char *what, const struct sim_http *h, long want)
{
	fail_msg("%s: status %ld (want %ld) body %s", what, h->status, want,
	    h->resp.body ? h->resp.body : "(none)");
}

/* Creates a record (body expanded) and stores its id as variable name (may be NULL). The id
 * is written to out. */
static void
create(struct fx *fx, const char *obj, const char *body, const char *name,
    char out[SF_ID_LEN + 1])
{
	struct sim_http h;
	char path[256], *b = expand(fx, body);
	const char *id;

	snprintf(path, sizeof(path), D "/sobjects/%s", obj);
	call(&h, fx, "POST", path, b);
	if (h.status != 201)
		dump_fail(path, &h, 201);
	id = json_string_value(json_object_get(h.json, "id"));
	assert_non_null(id);
	if (out != NULL)
		snprintf(out, SF_ID_LEN + 1, "%s", id);
	if (name != NULL)
		set_var(fx, name, id);
	sim_http_free(&h);
	free(b);
}

/* GET a record (path expanded); caller owns the JSON. */
static json_t *
get_record(struct fx *fx, const char *obj, const char *id)
{
	struct sim_http h;
	char path[256];
	json_t *rec;

	snprintf(path, sizeof(path), D "/sobjects/%s/%s", obj, id);
	call(&h, fx, "GET", path, NULL);
	if (h.status != 200)
		dump_fail(path, &h, 200);
	rec = json_incref(h.json);
	sim_http_free(&h);
	return rec;
}

static const char *
sfield(json_t *rec, const char *name)
{
	return json_string_value(json_object_get(rec, name));
}

/* One query through the REST API; caller owns the body. */
static json_t *
query(struct fx *fx, const char *soql)
{
	struct sim_http h;
	char *q = httpc_escape(soql), *path = malloc(strlen(q) + 64);
	json_t *out;

	assert_non_null(path);
	sprintf(path, D "/query?q=%s", q);
	call(&h, fx, "GET", path, NULL);
	if (h.status != 200)
		dump_fail(soql, &h, 200);
	out = json_incref(h.json);
	sim_http_free(&h);
	free(path);
	free(q);
	return out;
}

static long
count(struct fx *fx, const char *soql)
{
	json_t *r = query(fx, soql);
	long n = (long)json_integer_value(json_object_get(r, "totalSize"));

	json_decref(r);
	return n;
}

/* "2024-03-15T12:00:00.000+0000" */
static int
is_sf_datetime(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddd+0000";

	if (s == NULL || strlen(s) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
			return 0;
	return 1;
}

static int
is_valid_id(const char *id, const char *prefix)
{
	char norm[SF_ID_LEN + 1];

	return id != NULL && strlen(id) == SF_ID_LEN && strncmp(id, prefix, 3) == 0 &&
	    sf_id_normalize(id, norm) == 0 && strcmp(norm, id) == 0;
}

/* A table row: one request and what Salesforce answers to it. */
struct rest_case {
	const char *what;
	const char *method;
	const char *path;	/* {name} expands to a variable */
	const char *body;	/* JSON text (expanded), or NULL */
	const char *header;	/* one extra request header, or NULL */
	long status;
	const char *code;	/* errorCode of the one-element error array, or NULL */
	const char *message;	/* exact message (expanded), or NULL: not checked */
	const char *fields;	/* exact "fields" JSON, "-" for absent, NULL: not checked */
};

static void
check_error_body(struct fx *fx, const char *what, const struct sim_http *h, const char *code,
    const char *message, const char *fields)
{
	json_t *e = json_array_get(h->json, 0);

	if (!json_is_array(h->json) || json_array_size(h->json) != 1 || !json_is_object(e))
		fail_msg("%s: error body is not a one-element array: %s", what,
		    h->resp.body ? h->resp.body : "(none)");
	if (strcmp(sim_http_error_code(h), code) != 0)
		fail_msg("%s: errorCode %s, want %s (body %s)", what, sim_http_error_code(h), code,
		    h->resp.body);
	if (!json_is_string(json_object_get(e, "message")))
		fail_msg("%s: no message in %s", what, h->resp.body);
	if (message != NULL) {
		char *m = expand(fx, message);

		if (strcmp(m, json_string_value(json_object_get(e, "message"))) != 0)
			fail_msg("%s: message \"%s\", want \"%s\"", what,
			    json_string_value(json_object_get(e, "message")), m);
		free(m);
	}
	if (fields != NULL && strcmp(fields, "-") == 0) {
		if (json_object_get(e, "fields") != NULL)
			fail_msg("%s: unexpected fields in %s", what, h->resp.body);
	} else if (fields != NULL) {
		json_t *want = json_loads(fields, 0, NULL);

		assert_non_null(want);
		if (!json_equal(want, json_object_get(e, "fields")))
			fail_msg("%s: fields in %s, want %s", what, h->resp.body, fields);
		json_decref(want);
	}
}

static void
run_cases(struct fx *fx, const struct rest_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rest_case *c = &cases[i];
		char *path = expand(fx, c->path), *body = c->body ? expand(fx, c->body) : NULL;
		struct sim_http h;

		call_hdr(&h, fx, c->method, path, body, c->header);
		if (h.status != c->status)
			fail_msg("%s: %s %s: status %ld, want %ld (body %s)", c->what, c->method, path,
			    h.status, c->status, h.resp.body ? h.resp.body : "(none)");
		if (c->code != NULL)
			check_error_body(fx, c->what, &h, c->code, c->message, c->fields);
		/* Every data API answer is JSON of this exact type (reference section 7). */
		if (h.resp.body_len > 0) {
			const char *ct = sim_http_header(&h, "Content-Type");

			if (ct == NULL || strcmp(ct, "application/json;charset=UTF-8") != 0)
				fail_msg("%s: Content-Type %s", c->what, ct ? ct : "(none)");
		}
		sim_http_free(&h);
		free(path);
		free(body);
	}
}

#define RUN(fx, cases) run_cases(fx, cases, sizeof(cases) / sizeof(cases[0]))

static int
start(struct fx *fx, const char *db)
{
	struct sim_http h;
	const char *identity, *slash;

	if (sf_fixture_start(&fx->sf, db, NULL) < 0)
		return -1;
	/* The running user's id is the last segment of the identity URL. */
	sim_http_do(&h, fx->sf.p.base_url, "GET", D "/", NULL, fx->sf.token, NULL);
	identity = json_string_value(json_object_get(h.json, "identity"));
	slash = identity ? strrchr(identity, '/') : NULL;
	if (h.status != 200 || slash == NULL || strlen(slash + 1) != SF_ID_LEN) {
		sim_http_free(&h);
		sim_proc_stop(&fx->sf.p);
		return -1;
	}
	snprintf(fx->user_id, sizeof(fx->user_id), "%s", slash + 1);
	sim_http_free(&h);
	set_var(fx, "user", fx->user_id);
	return 0;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->vars = json_object();
	if (start(fx, NULL) < 0) {
		json_decref(fx->vars);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	/* A clean exit: under ASan a leak or a crash in sf-sim fails the test here. */
	int rc = sf_fixture_stop(&fx->sf);

	json_decref(fx->vars);
	free(fx);
	return rc;
}

/* ---- versions, auth, limits ---- */

static void
test_versions(void **state)
{
	struct fx *fx = *state;
	static const char *const paths[] = { "/services/data/", "/services/data" };
	struct sim_http h;

	for (size_t k = 0; k < 2; k++) {
		/* No token: the versions list needs none and counts no call. */
		long before = api_calls(fx);

		sim_http_do(&h, fx->sf.p.base_url, "GET", paths[k], NULL, NULL, NULL);
		assert_int_equal(h.status, 200);
		assert_true(json_is_array(h.json));
		assert_int_equal(json_array_size(h.json), 62 - 45 + 1);
		for (int v = 45; v <= 62; v++) {
			json_t *e = json_array_get(h.json, (size_t)(v - 45));
			char version[16], url[64];

			snprintf(version, sizeof(version), "%d.0", v);
			snprintf(url, sizeof(url), "/services/data/v%d.0", v);
			assert_string_equal(sfield(e, "version"), version);
			assert_string_equal(sfield(e, "url"), url);
			assert_non_null(sfield(e, "label"));
		}
		assert_string_equal(sfield(json_array_get(h.json, 62 - 45), "label"), "Winter '25");
		assert_null(sim_http_header(&h, "Sforce-Limit-Info"));
		sim_http_free(&h);
		assert_int_equal(api_calls(fx), before);
	}

	/* The version root: a map of resources, identity as an absolute URL. */
	call(&h, fx, "GET", D "/", NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "sobjects"), D "/sobjects");
	assert_string_equal(sfield(h.json, "query"), D "/query");
	assert_string_equal(sfield(h.json, "queryAll"), D "/queryAll");
	assert_string_equal(sfield(h.json, "limits"), D "/limits");
	assert_string_equal(sfield(h.json, "composite"), D "/composite");
	assert_non_null(strstr(sfield(h.json, "identity"), "/id/00D"));
	assert_non_null(sim_http_header(&h, "Sforce-Limit-Info"));
	sim_http_free(&h);
	call(&h, fx, "GET", "/services/data/v45.0", NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "sobjects"), "/services/data/v45.0/sobjects");
	sim_http_free(&h);

	static const struct rest_case cases[] = {
		{ "v44.0 is too old", "GET", "/services/data/v44.0/", NULL, NULL, 404, "NOT_FOUND",
		  "The requested resource does not exist", NULL },
		{ "v63.0 is not served", "GET", "/services/data/v63.0/limits", NULL, NULL, 404,
		  "NOT_FOUND", "The requested resource does not exist", NULL },
		{ "v62.5 does not exist", "GET", "/services/data/v62.5/", NULL, NULL, 404,
		  "NOT_FOUND", NULL, NULL },
		{ "vX is not a version", "GET", "/services/data/vX/sobjects", NULL, NULL, 404,
		  "NOT_FOUND", NULL, NULL },
		{ "unknown resource", "GET", D "/nosuchthing", NULL, NULL, 404, "NOT_FOUND",
		  "The requested resource does not exist", NULL },
		{ "root is GET only", "POST", D "/", "{}", NULL, 405, "METHOD_NOT_ALLOWED", NULL,
		  NULL },
	};
	RUN(fx, cases);
}

static void
test_auth(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	const char *basic[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
	const char *bad[] = { "Authorization: Bearer 00D5g000004SimO!notatoken", NULL };
	char fresh[512];
	long before = api_calls(fx);

	/* Exact bodies of reference section 7: a missing token is an invalid session, a header
	 * that is not "Bearer ..." an invalid header. */
	sim_http_do(&h, fx->sf.p.base_url, "GET", D "/limits", NULL, NULL, NULL);
	assert_int_equal(h.status, 401);
	check_error_body(fx, "no Authorization", &h, "INVALID_SESSION_ID",
	    "Session expired or invalid", "-");
	sim_http_free(&h);
	sim_http_do(&h, fx->sf.p.base_url, "GET", D "/limits", NULL, NULL, basic);
	assert_int_equal(h.status, 401);
	check_error_body(fx, "Basic", &h, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE", "-");
	sim_http_free(&h);
	sim_http_do(&h, fx->sf.p.base_url, "GET", D "/sobjects", NULL, NULL, bad);
	assert_int_equal(h.status, 401);
	check_error_body(fx, "bad token", &h, "INVALID_SESSION_ID",
	    "Session expired or invalid", "-");
	sim_http_free(&h);
	/* Refused calls do not count against the daily limit. */
	assert_int_equal(api_calls(fx), before);

	/* A good token works until the session expires. */
	call(&h, fx, "GET", D "/limits", NULL);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
	sim_http_do(&h, fx->sf.p.base_url, "POST", "/_sim/expire-tokens", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
	call(&h, fx, "GET", D "/limits", NULL);
	assert_int_equal(h.status, 401);
	check_error_body(fx, "expired", &h, "INVALID_SESSION_ID", "Session expired or invalid",
	    "-");
	sim_http_free(&h);

	/* A new token works again. */
	sim_http_do(&h, fx->sf.p.base_url, "POST", "/_sim/token", "{}", NULL, NULL);
	assert_int_equal(h.status, 200);
	snprintf(fresh, sizeof(fresh), "%s", sfield(h.json, "access_token"));
	sim_http_free(&h);
	assert_string_not_equal(fresh, fx->sf.token);
	sim_http_do(&h, fx->sf.p.base_url, "GET", D "/limits", NULL, fresh, NULL);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
}

/* "api-usage=N/M" -> N, M */
static void
parse_usage(const struct sim_http *h, long *used, long *max)
{
	const char *v = sim_http_header(h, "Sforce-Limit-Info");

	if (v == NULL || sscanf(v, "api-usage=%ld/%ld", used, max) != 2)
		fail_msg("Sforce-Limit-Info: %s", v ? v : "(none)");
}

static void
test_limits(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	long used, max, used2, max2;
	json_t *daily;

	call(&h, fx, "GET", D "/sobjects", NULL);
	assert_int_equal(h.status, 200);
	parse_usage(&h, &used, &max);
	assert_int_equal(max, 100000);
	assert_true(used >= 1);
	assert_int_equal(used, api_calls(fx));
	sim_http_free(&h);

	/* Every data call counts one. */
	call(&h, fx, "GET", D "/", NULL);
	parse_usage(&h, &used2, &max2);
	assert_int_equal(used2, used + 1);
	sim_http_free(&h);

	/* /limits agrees with the header of the same answer. */
	config(fx, "{\"api_used\":100}");
	call(&h, fx, "GET", D "/limits", NULL);
	assert_int_equal(h.status, 200);
	parse_usage(&h, &used, &max);
	assert_int_equal(used, 101);
	daily = json_object_get(h.json, "DailyApiRequests");
	assert_int_equal(json_integer_value(json_object_get(daily, "Max")), 100000);
	assert_int_equal(json_integer_value(json_object_get(daily, "Remaining")), 100000 - 101);
	assert_non_null(json_object_get(h.json, "DataStorageMB"));
	sim_http_free(&h);

	config(fx, "{\"daily_api_limit\":15000,\"api_used\":0}");
	call(&h, fx, "GET", D "/limits", NULL);
	daily = json_object_get(h.json, "DailyApiRequests");
	assert_int_equal(json_integer_value(json_object_get(daily, "Max")), 15000);
	assert_int_equal(json_integer_value(json_object_get(daily, "Remaining")), 15000 - 1);
	parse_usage(&h, &used, &max);
	assert_int_equal(used, 1);
	assert_int_equal(max, 15000);
	sim_http_free(&h);

	static const struct rest_case cases[] = {
		{ "limits is GET only", "POST", D "/limits", "{}", NULL, 405, "METHOD_NOT_ALLOWED",
		  NULL, NULL },
	};
	RUN(fx, cases);
}

static void
test_daily_limit(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	long used, max;

	/* Three calls left: two succeed, then the third is refused. */
	config(fx, "{\"daily_api_limit\":5,\"api_used\":3}");
	for (int i = 0; i < 2; i++) {
		call(&h, fx, "GET", D "/limits", NULL);
		assert_int_equal(h.status, 200);
		sim_http_free(&h);
	}
	call(&h, fx, "GET", D "/limits", NULL);
	assert_int_equal(h.status, 403);
	/* Exact body (reference section 0.1): no "fields". */
	{
		json_t *want = json_loads("[{\"message\":\"TotalRequests Limit exceeded.\","
		    "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]", 0, NULL);

		assert_true(json_equal(want, h.json));
		json_decref(want);
	}
	parse_usage(&h, &used, &max);
	assert_int_equal(used, 5);
	assert_int_equal(max, 5);
	/* No 429, no Retry-After on the core REST API. */
	assert_null(sim_http_header(&h, "Retry-After"));
	sim_http_free(&h);

	/* Writes and queries are refused too; the versions list is not counted or limited. */
	static const struct rest_case cases[] = {
		{ "create refused", "POST", D "/sobjects/Account", "{\"Name\":\"X\"}", NULL, 403,
		  "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", "-" },
		{ "query refused", "GET", D "/query?q=SELECT+Id+FROM+Account", NULL, NULL, 403,
		  "REQUEST_LIMIT_EXCEEDED", NULL, NULL },
		{ "versions still served", "GET", "/services/data/", NULL, NULL, 200, NULL, NULL,
		  NULL },
	};
	RUN(fx, cases);
}

/* ---- describe ---- */

static json_t *
describe_field(json_t *describe, const char *name)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(describe, "fields"), i, f)
		if (strcmp(sfield(f, "name"), name) == 0)
			return f;
	fail_msg("no field %s in describe", name);
	return NULL;
}

static void
test_describe(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	json_t *o, *f;
	size_t i;
	int found = 0;
	static const char *const keys[] = {
		"name", "type", "length", "nillable", "createable", "updateable", "externalId",
		"unique", "label", "defaultedOnCreate", "idLookup", "picklistValues", "referenceTo",
	};

	/* describeGlobal */
	call(&h, fx, "GET", D "/sobjects", NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "encoding"), "UTF-8");
	assert_int_equal(json_integer_value(json_object_get(h.json, "maxBatchSize")), 200);
	json_array_foreach(json_object_get(h.json, "sobjects"), i, o) {
		if (strcmp(sfield(o, "name"), "Lead") != 0)
			continue;
		found = 1;
		assert_string_equal(sfield(o, "keyPrefix"), "00Q");
		assert_true(json_is_true(json_object_get(o, "createable")));
		assert_string_equal(sfield(json_object_get(o, "urls"), "sobject"),
		    D "/sobjects/Lead");
		assert_string_equal(sfield(json_object_get(o, "urls"), "describe"),
		    D "/sobjects/Lead/describe");
	}
	assert_true(found);
	sim_http_free(&h);

	/* Basic information */
	call(&h, fx, "GET", D "/sobjects/Lead", NULL);
	assert_int_equal(h.status, 200);
	o = json_object_get(h.json, "objectDescribe");
	assert_string_equal(sfield(o, "name"), "Lead");
	assert_string_equal(sfield(o, "keyPrefix"), "00Q");
	assert_true(json_is_array(json_object_get(h.json, "recentItems")));
	sim_http_free(&h);

	/* Full describe: every field carries the properties a client reads. */
	call(&h, fx, "GET", D "/sobjects/Lead/describe", NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "name"), "Lead");
	json_array_foreach(json_object_get(h.json, "fields"), i, f)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (json_object_get(f, keys[k]) == NULL)
				fail_msg("Lead.%s has no %s", sfield(f, "name"), keys[k]);
	f = describe_field(h.json, "LastName");
	assert_string_equal(sfield(f, "type"), "string");
	assert_int_equal(json_integer_value(json_object_get(f, "length")), 80);
	assert_true(json_is_false(json_object_get(f, "nillable")));
	assert_true(json_is_true(json_object_get(f, "createable")));
	f = describe_field(h.json, "Company");
	assert_int_equal(json_integer_value(json_object_get(f, "length")), 255);
	f = describe_field(h.json, "Email");
	assert_string_equal(sfield(f, "type"), "email");
	f = describe_field(h.json, "Name");
	assert_true(json_is_false(json_object_get(f, "createable")));
	assert_true(json_is_false(json_object_get(f, "updateable")));
	f = describe_field(h.json, "Id");
	assert_string_equal(sfield(f, "type"), "id");
	assert_true(json_is_false(json_object_get(f, "createable")));
	f = describe_field(h.json, "CreatedDate");
	assert_string_equal(sfield(f, "type"), "datetime");
	sim_http_free(&h);

	call(&h, fx, "GET", D "/sobjects/Task/describe", NULL);
	assert_int_equal(h.status, 200);
	f = describe_field(h.json, "OutlookMessageId__c");
	assert_true(json_is_true(json_object_get(f, "externalId")));
	assert_true(json_is_true(json_object_get(f, "unique")));
	assert_true(json_is_true(json_object_get(f, "custom")));
	f = describe_field(h.json, "WhoId");
	assert_string_equal(sfield(f, "type"), "reference");
	assert_int_equal(json_array_size(json_object_get(f, "referenceTo")), 2);
	sim_http_free(&h);

	call(&h, fx, "GET", D "/sobjects/Opportunity/describe", NULL);
	assert_int_equal(h.status, 200);
	f = describe_field(h.json, "Next_Meeting_Date__c");
	assert_string_equal(sfield(f, "type"), "datetime");
	f = describe_field(h.json, "StageName");
	assert_true(json_is_true(json_object_get(f, "restrictedPicklist")));
	assert_true(json_array_size(json_object_get(f, "picklistValues")) >= 2);
	sim_http_free(&h);

	call(&h, fx, "GET", D "/sobjects/EmailMessage/describe", NULL);
	assert_int_equal(h.status, 200);
	f = describe_field(h.json, "MessageIdentifier");
	assert_true(json_is_true(json_object_get(f, "idLookup")));
	assert_true(json_is_false(json_object_get(f, "unique")));
	sim_http_free(&h);

	static const struct rest_case cases[] = {
		{ "unknown sObject", "GET", D "/sobjects/Nope__c", NULL, NULL, 404, "NOT_FOUND",
		  "The requested resource does not exist", NULL },
		{ "describe of unknown", "GET", D "/sobjects/Nope__c/describe", NULL, NULL, 404,
		  "NOT_FOUND", NULL, NULL },
		{ "describe is GET only", "POST", D "/sobjects/Lead/describe", "{}", NULL, 405,
		  "METHOD_NOT_ALLOWED", NULL, NULL },
		{ "describeGlobal is GET only", "POST", D "/sobjects", "{}", NULL, 405,
		  "METHOD_NOT_ALLOWED", NULL, NULL },
		{ "object names are case-insensitive", "GET", D "/sobjects/lead/describe", NULL,
		  NULL, 200, NULL, NULL, NULL },
	};
	RUN(fx, cases);
}

/* ---- create ---- */

static void
base_seed(struct fx *fx)
{
	char missing[SF_ID_LEN + 1];

	seed(fx, "{\"Account\":[{\"_key\":\"acme\",\"Name\":\"Acme\"}],"
	    "\"Contact\":[{\"_key\":\"contact\",\"LastName\":\"Smith\",\"FirstName\":\"Ann\","
	    "\"Email\":\"ann@acme.example\",\"AccountId\":\"@acme\"}],"
	    "\"Lead\":[{\"_key\":\"lead\",\"LastName\":\"Lee\",\"Company\":\"LeeCo\"}],"
	    "\"Opportunity\":[{\"_key\":\"opp\",\"Name\":\"Deal\",\"StageName\":\"Prospecting\","
	    "\"CloseDate\":\"2024-06-30\",\"AccountId\":\"@acme\"}]}");
	/* Well-formed ids of records that were never created. */
	sf_id_make("001", 999999999ULL, missing);
	set_var(fx, "no_account", missing);
	sf_id_make("00Q", 999999999ULL, missing);
	set_var(fx, "no_lead", missing);
}

static void
test_create_errors(void **state)
{
	struct fx *fx = *state;
	static const struct rest_case cases[] = {
		{ "Lead without its required fields", "POST", D "/sobjects/Lead", "{}", NULL, 400,
		  "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName, Company]",
		  "[\"LastName\",\"Company\"]" },
		{ "Lead without Company", "POST", D "/sobjects/Lead", "{\"LastName\":\"X\"}", NULL,
		  400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]",
		  "[\"Company\"]" },
		{ "null is missing too", "POST", D "/sobjects/Lead",
		  "{\"LastName\":null,\"Company\":\"C\"}", NULL, 400, "REQUIRED_FIELD_MISSING",
		  "Required fields are missing: [LastName]", "[\"LastName\"]" },
		{ "LastName over 80", "POST", D "/sobjects/Lead",
		  "{\"Company\":\"C\",\"LastName\":\"" "0123456789012345678901234567890123456789"
		  "01234567890123456789012345678901234567890\"}", NULL, 400, "STRING_TOO_LONG", NULL,
		  "[\"LastName\"]" },
		{ "bad Email", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"Email\":\"not an email\"}", NULL, 400,
		  "INVALID_EMAIL_ADDRESS", "Email: invalid email address: not an email",
		  "[\"Email\"]" },
		{ "unknown field", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"Foo__c\":\"1\"}", NULL, 400,
		  "INVALID_FIELD", "No such column 'Foo__c' on sobject of type Lead", NULL },
		{ "non-createable field", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"ConvertedDate\":\"2024-01-01\"}", NULL,
		  400, "INVALID_FIELD_FOR_INSERT_UPDATE", NULL, "[\"ConvertedDate\"]" },
		{ "calculated field", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"Name\":\"X Y\"}", NULL, 400,
		  "INVALID_FIELD_FOR_INSERT_UPDATE", NULL, "[\"Name\"]" },
		{ "Id on create", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"Id\":\"{lead}\"}", NULL, 400,
		  "INVALID_FIELD_FOR_INSERT_UPDATE", NULL, NULL },
		{ "restricted picklist", "POST", D "/sobjects/Opportunity",
		  "{\"Name\":\"O\",\"StageName\":\"Bogus\",\"CloseDate\":\"2024-01-01\"}", NULL, 400,
		  "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", NULL, "[\"StageName\"]" },
		{ "Opportunity without required", "POST", D "/sobjects/Opportunity",
		  "{\"Name\":\"O\"}", NULL, 400, "REQUIRED_FIELD_MISSING",
		  "Required fields are missing: [StageName, CloseDate]", NULL },
		{ "bad date", "POST", D "/sobjects/Opportunity",
		  "{\"Name\":\"O\",\"StageName\":\"Prospecting\",\"CloseDate\":\"2023-02-29\"}", NULL,
		  400, "JSON_PARSER_ERROR", NULL, NULL },
		{ "malformed reference", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"X\",\"AccountId\":\"xyz\"}", NULL, 400, "MALFORMED_ID",
		  "Account ID: id value of incorrect type: xyz", "[\"AccountId\"]" },
		{ "reference with a wrong suffix", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"X\",\"AccountId\":\"001M000000qfPySAAA\"}", NULL, 400,
		  "MALFORMED_ID", NULL, "[\"AccountId\"]" },
		{ "reference to a missing record", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"X\",\"AccountId\":\"{no_account}\"}", NULL, 400,
		  "INVALID_CROSS_REFERENCE_KEY", NULL, "[\"AccountId\"]" },
		{ "reference of the wrong type", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"X\",\"AccountId\":\"{lead}\"}", NULL, 400,
		  "FIELD_INTEGRITY_EXCEPTION", NULL, "[\"AccountId\"]" },
		{ "Task on a Lead with a WhatId", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"T\",\"WhoId\":\"{lead}\",\"WhatId\":\"{acme}\"}", NULL, 400,
		  "FIELD_INTEGRITY_EXCEPTION", NULL, NULL },
		{ "bad JSON", "POST", D "/sobjects/Lead", "{\"LastName\" \"X\"}", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
		{ "truncated JSON", "POST", D "/sobjects/Lead", "{\"LastName\":", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
		{ "array body", "POST", D "/sobjects/Lead", "[{\"LastName\":\"X\"}]", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
		{ "no body", "POST", D "/sobjects/Lead", NULL, NULL, 400, "JSON_PARSER_ERROR", NULL,
		  NULL },
		{ "wrong type for a boolean", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"DoNotCall\":\"maybe\"}", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
		{ "create on unknown object", "POST", D "/sobjects/Nope__c", "{\"Name\":\"X\"}",
		  NULL, 404, "NOT_FOUND", NULL, NULL },
		{ "PUT is not allowed", "PUT", D "/sobjects/Lead", "{}", NULL, 405,
		  "METHOD_NOT_ALLOWED", NULL, NULL },
		/* Accepted variants. */
		{ "boolean as a string", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"X\",\"Company\":\"C\",\"DoNotCall\":\"true\"}", NULL, 201, NULL,
		  NULL, NULL },
		{ "15-character reference", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"Y\",\"AccountId\":\"{acme15}\"}", NULL, 201, NULL, NULL, NULL },
		{ "Task on a Lead alone", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"T\",\"WhoId\":\"{lead}\"}", NULL, 201, NULL, NULL, NULL },
	};
	char acme15[16];

	base_seed(fx);
	snprintf(acme15, sizeof(acme15), "%.15s", json_string_value(json_object_get(fx->vars,
	    "acme")));
	set_var(fx, "acme15", acme15);
	RUN(fx, cases);
	/* Nothing of the refused writes was kept: only the three accepted rows were added. */
	assert_int_equal(count(fx, "SELECT COUNT() FROM Lead"), 2);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Contact"), 2);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Task"), 1);
}

static void
test_create_and_read(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	char id[SF_ID_LEN + 1], path[256];
	json_t *rec, *want;
	size_t nkeys;

	call(&h, fx, "POST", D "/sobjects/Lead",
	    "{\"FirstName\":\"Ada\",\"LastName\":\"Lovelace\",\"Company\":\"Engines\","
	    "\"Email\":\"ada@engines.example\"}");
	assert_int_equal(h.status, 201);
	/* Exactly {"id","success":true,"errors":[]} (reference section 3). */
	assert_int_equal(json_object_size(h.json), 3);
	assert_true(is_valid_id(sfield(h.json, "id"), "00Q"));
	snprintf(id, sizeof(id), "%s", sfield(h.json, "id"));
	want = json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors");
	assert_true(json_equal(want, h.json));
	json_decref(want);
	sim_http_free(&h);

	rec = get_record(fx, "Lead", id);
	assert_string_equal(sfield(json_object_get(rec, "attributes"), "type"), "Lead");
	snprintf(path, sizeof(path), D "/sobjects/Lead/%s", id);
	assert_string_equal(sfield(json_object_get(rec, "attributes"), "url"), path);
	assert_string_equal(sfield(rec, "Id"), id);
	assert_string_equal(sfield(rec, "Name"), "Ada Lovelace");
	assert_string_equal(sfield(rec, "Status"), "Open - Not Contacted");
	assert_string_equal(sfield(rec, "OwnerId"), fx->user_id);
	assert_string_equal(sfield(rec, "CreatedById"), fx->user_id);
	assert_string_equal(sfield(rec, "LastModifiedById"), fx->user_id);
	assert_true(is_sf_datetime(sfield(rec, "CreatedDate")));
	assert_true(is_sf_datetime(sfield(rec, "LastModifiedDate")));
	assert_true(is_sf_datetime(sfield(rec, "SystemModstamp")));
	assert_true(json_is_false(json_object_get(rec, "IsDeleted")));
	assert_true(json_is_false(json_object_get(rec, "IsConverted")));
	assert_true(json_is_null(json_object_get(rec, "Phone")));
	/* Every field is there, unset ones as null. */
	nkeys = json_object_size(rec);
	json_decref(rec);
	call(&h, fx, "GET", D "/sobjects/Lead/describe", NULL);
	assert_int_equal(nkeys, json_array_size(json_object_get(h.json, "fields")) + 1);
	sim_http_free(&h);

	/* ?fields= returns those fields and the attributes. */
	snprintf(path, sizeof(path), D "/sobjects/Lead/%s?fields=LastName,Company", id);
	call(&h, fx, "GET", path, NULL);
	assert_int_equal(h.status, 200);
	assert_int_equal(json_object_size(h.json), 3);
	assert_string_equal(sfield(h.json, "LastName"), "Lovelace");
	assert_string_equal(sfield(h.json, "Company"), "Engines");
	assert_non_null(json_object_get(h.json, "attributes"));
	sim_http_free(&h);

	/* The 15-character id names the same record; the answer uses 18. */
	snprintf(path, sizeof(path), D "/sobjects/Lead/%.15s", id);
	call(&h, fx, "GET", path, NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "Id"), id);
	sim_http_free(&h);

	/* The version of the request shows in attributes.url. */
	snprintf(path, sizeof(path), "/services/data/v50.0/sobjects/Lead/%s", id);
	call(&h, fx, "GET", path, NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(json_object_get(h.json, "attributes"), "url"), path);
	sim_http_free(&h);

	/* Ids keep increasing and stay unique. */
	{
		char id2[SF_ID_LEN + 1];

		create(fx, "Lead", "{\"LastName\":\"B\",\"Company\":\"C\"}", NULL, id2);
		assert_true(is_valid_id(id2, "00Q"));
		assert_true(strcmp(id2, id) > 0);
	}

	set_var(fx, "id", id);
	static const struct rest_case cases[] = {
		{ "unknown ?fields", "GET", D "/sobjects/Lead/{id}?fields=LastName,Bogus", NULL,
		  NULL, 400, "INVALID_FIELD", NULL, NULL },
		{ "missing record", "GET", D "/sobjects/Lead/{no_lead}", NULL, NULL, 404,
		  "NOT_FOUND", "The requested resource does not exist", NULL },
		{ "id of another object", "GET", D "/sobjects/Account/{id}", NULL, NULL, 404,
		  "NOT_FOUND", NULL, NULL },
		{ "POST on a record", "POST", D "/sobjects/Lead/{id}", "{}", NULL, 405,
		  "METHOD_NOT_ALLOWED", NULL, NULL },
	};
	base_seed(fx);
	RUN(fx, cases);
}

static void
test_update_delete(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	char id[SF_ID_LEN + 1];
	json_t *rec;
	char *created;

	base_seed(fx);
	create(fx, "Lead", "{\"FirstName\":\"Ada\",\"LastName\":\"Byron\",\"Company\":\"C\"}",
	    "id", id);
	rec = get_record(fx, "Lead", id);
	created = strdup(sfield(rec, "CreatedDate"));
	json_decref(rec);
	usleep(20000);

	static const struct rest_case updates[] = {
		{ "PATCH", "PATCH", D "/sobjects/Lead/{id}",
		  "{\"LastName\":\"Lovelace\",\"Title\":\"Countess\"}", NULL, 204, NULL, NULL,
		  NULL },
		/* jsforce sends Id in update bodies; Salesforce ignores it there. */
		{ "PATCH with Id", "PATCH", D "/sobjects/Lead/{id}",
		  "{\"Id\":\"{id}\",\"Phone\":\"555\"}", NULL, 204, NULL, NULL, NULL },
		{ "PATCH by 15-character id", "PATCH", D "/sobjects/Lead/{id15}",
		  "{\"MobilePhone\":\"556\"}", NULL, 204, NULL, NULL, NULL },
		/* Nothing to change, twice in a row (same millisecond): still a success. */
		{ "PATCH {}", "PATCH", D "/sobjects/Lead/{id}", "{}", NULL, 204, NULL, NULL, NULL },
		{ "PATCH {} again", "PATCH", D "/sobjects/Lead/{id}", "{}", NULL, 204, NULL, NULL,
		  NULL },
		{ "PATCH the same value", "PATCH", D "/sobjects/Lead/{id}",
		  "{\"MobilePhone\":\"556\"}", NULL, 204, NULL, NULL, NULL },
		{ "PATCH a bad email", "PATCH", D "/sobjects/Lead/{id}", "{\"Email\":\"@\"}", NULL,
		  400, "INVALID_EMAIL_ADDRESS", NULL, "[\"Email\"]" },
		{ "PATCH clears a required field", "PATCH", D "/sobjects/Lead/{id}",
		  "{\"Company\":\"\"}", NULL, 400, "REQUIRED_FIELD_MISSING",
		  "Required fields are missing: [Company]", "[\"Company\"]" },
		{ "PATCH a non-updateable field", "PATCH", D "/sobjects/Lead/{id}",
		  "{\"IsConverted\":true}", NULL, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", NULL,
		  "[\"IsConverted\"]" },
		{ "PATCH an unknown field", "PATCH", D "/sobjects/Lead/{id}", "{\"Nope\":1}", NULL,
		  400, "INVALID_FIELD", NULL, NULL },
		{ "PATCH a malformed id", "PATCH", D "/sobjects/Lead/bogus", "{\"Title\":\"x\"}",
		  NULL, 400, "MALFORMED_ID", "Lead ID: id value of incorrect type: bogus",
		  "[\"Id\"]" },
		{ "PATCH a missing record", "PATCH", D "/sobjects/Lead/{no_lead}",
		  "{\"Title\":\"x\"}", NULL, 404, "NOT_FOUND", NULL, NULL },
		{ "PATCH bad JSON", "PATCH", D "/sobjects/Lead/{id}", "{", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
	};
	{
		char id15[16];

		snprintf(id15, sizeof(id15), "%.15s", id);
		set_var(fx, "id15", id15);
	}
	RUN(fx, updates);
	rec = get_record(fx, "Lead", id);
	assert_string_equal(sfield(rec, "LastName"), "Lovelace");
	assert_string_equal(sfield(rec, "Name"), "Ada Lovelace");	/* recomputed */
	assert_string_equal(sfield(rec, "Title"), "Countess");
	assert_string_equal(sfield(rec, "Phone"), "555");
	assert_string_equal(sfield(rec, "MobilePhone"), "556");
	assert_string_equal(sfield(rec, "Company"), "C");	/* the refused PATCH left it */
	assert_true(json_is_null(json_object_get(rec, "Email")));
	assert_string_equal(sfield(rec, "CreatedDate"), created);
	assert_true(strcmp(sfield(rec, "LastModifiedDate"), created) > 0);
	json_decref(rec);
	free(created);

	/* DELETE, then the record is gone for every verb (reference section 3). */
	{
		char path[128];

		snprintf(path, sizeof(path), D "/sobjects/Lead/%s", id);
		call(&h, fx, "DELETE", path, NULL);
		assert_int_equal(h.status, 204);
		assert_int_equal(h.resp.body_len, 0);
		sim_http_free(&h);
	}
	static const struct rest_case deleted[] = {
		{ "DELETE again", "DELETE", D "/sobjects/Lead/{id}", NULL, NULL, 404,
		  "ENTITY_IS_DELETED", "entity is deleted", "[]" },
		{ "GET deleted", "GET", D "/sobjects/Lead/{id}", NULL, NULL, 404,
		  "ENTITY_IS_DELETED", "entity is deleted", "[]" },
		{ "PATCH deleted", "PATCH", D "/sobjects/Lead/{id}", "{\"Title\":\"x\"}", NULL, 404,
		  "ENTITY_IS_DELETED", "entity is deleted", "[]" },
		{ "DELETE missing", "DELETE", D "/sobjects/Lead/{no_lead}", NULL, NULL, 404,
		  "NOT_FOUND", NULL, NULL },
		{ "DELETE malformed", "DELETE", D "/sobjects/Lead/bogus", NULL, NULL, 400,
		  "MALFORMED_ID", NULL, NULL },
		{ "reference to a deleted record", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"T\",\"WhoId\":\"{id}\"}", NULL, 400,
		  "INVALID_CROSS_REFERENCE_KEY", NULL, "[\"WhoId\"]" },
	};
	RUN(fx, deleted);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Lead WHERE LastName = 'Lovelace'"), 0);
}

/* ---- derived fields ---- */

static void
test_opportunity_closed(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *stage;
		int closed, won;
	} stages[] = {
		{ "Prospecting", 0, 0 },
		{ "Closed Won", 1, 1 },
		{ "Negotiation/Review", 0, 0 },
		{ "Closed Lost", 1, 0 },
	};
	char id[SF_ID_LEN + 1], body[128], path[128];
	struct sim_http h;

	create(fx, "Opportunity", "{\"Name\":\"Deal\",\"StageName\":\"Prospecting\","
	    "\"CloseDate\":\"2024-06-30\"}", NULL, id);
	snprintf(path, sizeof(path), D "/sobjects/Opportunity/%s", id);
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		json_t *rec;

		snprintf(body, sizeof(body), "{\"StageName\":\"%s\"}", stages[i].stage);
		call(&h, fx, "PATCH", path, body);
		assert_int_equal(h.status, 204);
		sim_http_free(&h);
		rec = get_record(fx, "Opportunity", id);
		if (json_is_true(json_object_get(rec, "IsClosed")) != stages[i].closed ||
		    json_is_true(json_object_get(rec, "IsWon")) != stages[i].won)
			fail_msg("stage %s: IsClosed/IsWon wrong", stages[i].stage);
		assert_string_equal(sfield(rec, "CloseDate"), "2024-06-30");
		json_decref(rec);
	}
	/* Derived fields are not writable. */
	call(&h, fx, "PATCH", path, "{\"IsClosed\":true}");
	assert_int_equal(h.status, 400);
	assert_string_equal(sim_http_error_code(&h), "INVALID_FIELD_FOR_INSERT_UPDATE");
	sim_http_free(&h);
}

static void
test_event_duration(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *body;
		const char *start, *end;
		int duration;
		const char *code;	/* errorCode when refused */
	} cases[] = {
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		  "\"DurationInMinutes\":30}", "2024-03-15T10:00:00.000+0000",
		  "2024-03-15T10:30:00.000+0000", 30, NULL },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00+01:00\","
		  "\"EndDateTime\":\"2024-03-15T10:45:00+01:00\"}", "2024-03-15T09:00:00.000+0000",
		  "2024-03-15T09:45:00.000+0000", 45, NULL },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		  "\"EndDateTime\":\"2024-03-15T11:00:00Z\",\"DurationInMinutes\":60}",
		  "2024-03-15T10:00:00.000+0000", "2024-03-15T11:00:00.000+0000", 60, NULL },
		/* All-day without a duration: one day (reference section 6.4). */
		{ "{\"Subject\":\"M\",\"IsAllDayEvent\":true,\"ActivityDate\":\"2024-03-15\"}",
		  "2024-03-15T00:00:00.000+0000", "2024-03-16T00:00:00.000+0000", 1440, NULL },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00Z\"}", NULL, NULL, 0,
		  "REQUIRED_FIELD_MISSING" },
		{ "{\"Subject\":\"M\",\"DurationInMinutes\":30}", NULL, NULL, 0,
		  "REQUIRED_FIELD_MISSING" },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		  "\"EndDateTime\":\"2024-03-15T09:00:00Z\"}", NULL, NULL, 0,
		  "FIELD_INTEGRITY_EXCEPTION" },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		  "\"DurationInMinutes\":30000}", NULL, NULL, 0, "FIELD_INTEGRITY_EXCEPTION" },
		{ "{\"Subject\":\"M\",\"StartDateTime\":\"2024-13-15T10:00:00Z\","
		  "\"DurationInMinutes\":30}", NULL, NULL, 0, "JSON_PARSER_ERROR" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_http h;
		json_t *rec;

		call(&h, fx, "POST", D "/sobjects/Event", cases[i].body);
		if (cases[i].code != NULL) {
			if (h.status != 400 || strcmp(sim_http_error_code(&h), cases[i].code) != 0)
				fail_msg("Event %s: %ld %s, want 400 %s", cases[i].body, h.status,
				    h.resp.body, cases[i].code);
			sim_http_free(&h);
			continue;
		}
		if (h.status != 201)
			dump_fail(cases[i].body, &h, 201);
		rec = get_record(fx, "Event", sfield(h.json, "id"));
		sim_http_free(&h);
		assert_string_equal(sfield(rec, "StartDateTime"), cases[i].start);
		assert_string_equal(sfield(rec, "EndDateTime"), cases[i].end);
		assert_int_equal(json_integer_value(json_object_get(rec, "DurationInMinutes")),
		    cases[i].duration);
		assert_string_equal(sfield(rec, "ActivityDateTime"), cases[i].start);
		json_decref(rec);
	}
	/* A missing duration names the field. */
	{
		struct sim_http h;

		call(&h, fx, "POST", D "/sobjects/Event",
		    "{\"StartDateTime\":\"2024-03-15T10:00:00Z\"}");
		check_error_body(fx, "no duration", &h, "REQUIRED_FIELD_MISSING",
		    "Required fields are missing: [DurationInMinutes]", "[\"DurationInMinutes\"]");
		sim_http_free(&h);
	}
}

static void
test_email_message(void **state)
{
	struct fx *fx = *state;
	char em[SF_ID_LEN + 1], path[256];
	json_t *rec, *task, *r;
	long tasks;

	base_seed(fx);
	create(fx, "Task", "{\"Subject\":\"existing\"}", "t0", NULL);
	static const struct rest_case bad[] = {
		{ "Status 0", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"0\"}", NULL, 400, "FIELD_INTEGRITY_EXCEPTION",
		  NULL, "[\"Status\"]" },
		{ "Status 1", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"1\"}", NULL, 400, "FIELD_INTEGRITY_EXCEPTION",
		  NULL, "[\"Status\"]" },
		{ "Status 2", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"2\"}", NULL, 400, "FIELD_INTEGRITY_EXCEPTION",
		  NULL, "[\"Status\"]" },
		{ "Status 4", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"4\"}", NULL, 400, "FIELD_INTEGRITY_EXCEPTION",
		  NULL, "[\"Status\"]" },
		{ "Status 5 (draft) is for case emails only", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"5\"}", NULL, 400, "FIELD_INTEGRITY_EXCEPTION",
		  NULL, "[\"Status\"]" },
		{ "Status not in the picklist", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"9\"}", NULL, 400,
		  "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", NULL, "[\"Status\"]" },
		{ "no Status", "POST", D "/sobjects/EmailMessage", "{\"Subject\":\"s\"}", NULL, 400,
		  "REQUIRED_FIELD_MISSING", NULL, "[\"Status\"]" },
		{ "ActivityId is for case emails", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"3\",\"ActivityId\":\"{t0}\"}", NULL, 400,
		  "FIELD_INTEGRITY_EXCEPTION", NULL, "[\"ActivityId\"]" },
		{ "RelatedToId cannot be a Contact", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"3\",\"RelatedToId\":\"{contact}\"}", NULL, 400,
		  "FIELD_INTEGRITY_EXCEPTION", NULL, NULL },
		{ "ToIds must be ids", "POST", D "/sobjects/EmailMessage",
		  "{\"Subject\":\"s\",\"Status\":\"3\",\"ToIds\":[\"nope\"]}", NULL, 400,
		  "MALFORMED_ID", NULL, NULL },
	};
	RUN(fx, bad);
	assert_int_equal(count(fx, "SELECT COUNT() FROM EmailMessage"), 0);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Task"), 1);
	assert_int_equal(count(fx, "SELECT COUNT() FROM EmailMessageRelation"), 0);

	/* Enhanced Email: the EmailMessage comes with its Task (reference section 6.5). */
	create(fx, "EmailMessage", "{\"Subject\":\"Quarterly review\",\"Status\":\"3\","
	    "\"FromAddress\":\"me@example.com\",\"TextBody\":\"Hello\","
	    "\"MessageDate\":\"2024-03-15T09:00:00Z\",\"RelatedToId\":\"{acme}\","
	    "\"ToIds\":[\"{contact}\"],\"CcIds\":[\"{user}\"]}", "em", em);
	assert_true(is_valid_id(em, "02s"));
	rec = get_record(fx, "EmailMessage", em);
	assert_string_equal(sfield(rec, "Name"), "Quarterly review");
	assert_true(is_valid_id(sfield(rec, "ActivityId"), "00T"));
	task = get_record(fx, "Task", sfield(rec, "ActivityId"));
	assert_string_equal(sfield(task, "TaskSubtype"), "Email");
	assert_string_equal(sfield(task, "WhatId"), json_string_value(json_object_get(fx->vars,
	    "acme")));
	assert_string_equal(sfield(task, "WhoId"), json_string_value(json_object_get(fx->vars,
	    "contact")));
	assert_non_null(strstr(sfield(task, "Subject"), "Quarterly review"));
	assert_string_equal(sfield(task, "ActivityDate"), "2024-03-15");
	json_decref(task);
	json_decref(rec);

	/* ToIds and CcIds became EmailMessageRelation rows. */
	snprintf(path, sizeof(path), "SELECT RelationId, RelationType, RelationAddress FROM "
	    "EmailMessageRelation WHERE EmailMessageId = '%s' ORDER BY RelationType", em);
	r = query(fx, path);
	assert_int_equal(json_integer_value(json_object_get(r, "totalSize")), 2);
	rec = json_array_get(json_object_get(r, "records"), 0);
	assert_string_equal(sfield(rec, "RelationType"), "CcAddress");
	assert_string_equal(sfield(rec, "RelationId"), fx->user_id);
	rec = json_array_get(json_object_get(r, "records"), 1);
	assert_string_equal(sfield(rec, "RelationType"), "ToAddress");
	assert_string_equal(sfield(rec, "RelationId"), json_string_value(json_object_get(
	    fx->vars, "contact")));
	assert_string_equal(sfield(rec, "RelationAddress"), "ann@acme.example");
	json_decref(r);

	/* A sent email is not editable. */
	static const struct rest_case sent[] = {
		{ "edit a sent email", "PATCH", D "/sobjects/EmailMessage/{em}",
		  "{\"Subject\":\"changed\"}", NULL, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", NULL,
		  NULL },
	};
	RUN(fx, sent);

	/* With Enhanced Email off there is no Task. */
	tasks = count(fx, "SELECT COUNT() FROM Task");
	assert_int_equal(tasks, 2);
	config(fx, "{\"enhanced_email\":false}");
	create(fx, "EmailMessage", "{\"Subject\":\"No task\",\"Status\":\"3\","
	    "\"RelatedToId\":\"{acme}\"}", NULL, em);
	rec = get_record(fx, "EmailMessage", em);
	assert_true(json_is_null(json_object_get(rec, "ActivityId")));
	json_decref(rec);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Task"), tasks);

	/* No subject: Name is [No Subject]. */
	create(fx, "EmailMessage", "{\"Status\":\"3\"}", NULL, em);
	rec = get_record(fx, "EmailMessage", em);
	assert_string_equal(sfield(rec, "Name"), "[No Subject]");
	json_decref(rec);
}

/* ---- unique values and duplicate rules ---- */

static void
test_duplicates(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	char first[SF_ID_LEN + 1], task[SF_ID_LEN + 1];
	json_t *dr;

	/* A unique external id: DUPLICATE_VALUE, case-insensitively (caseSensitive false). */
	create(fx, "Task", "{\"Subject\":\"a\",\"OutlookMessageId__c\":\"msg-1\"}", "task", task);
	static const struct rest_case unique[] = {
		{ "same value", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"b\",\"OutlookMessageId__c\":\"msg-1\"}", NULL, 400,
		  "DUPLICATE_VALUE", "duplicate value found: OutlookMessageId__c duplicates value "
		  "on record with id: {task}", NULL },
		{ "other case", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"b\",\"OutlookMessageId__c\":\"MSG-1\"}", NULL, 400,
		  "DUPLICATE_VALUE", NULL, NULL },
		{ "update into a duplicate", "PATCH", D "/sobjects/Task/{task2}",
		  "{\"OutlookMessageId__c\":\"msg-1\"}", NULL, 400, "DUPLICATE_VALUE", NULL, NULL },
		{ "other value", "POST", D "/sobjects/Task",
		  "{\"Subject\":\"b\",\"OutlookMessageId__c\":\"msg-3\"}", NULL, 201, NULL, NULL,
		  NULL },
		{ "same value on its own record", "PATCH", D "/sobjects/Task/{task}",
		  "{\"OutlookMessageId__c\":\"msg-1\",\"Subject\":\"a2\"}", NULL, 204, NULL, NULL,
		  NULL },
	};
	create(fx, "Task", "{\"Subject\":\"c\",\"OutlookMessageId__c\":\"msg-2\"}", "task2", NULL);
	RUN(fx, unique);

	/* Lead duplicate rule off: same e-mail is fine. */
	create(fx, "Lead", "{\"LastName\":\"A\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}",
	    "lead1", first);
	create(fx, "Lead", "{\"LastName\":\"B\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}",
	    NULL, NULL);

	config(fx, "{\"lead_duplicate_rule\":true}");
	call(&h, fx, "POST", D "/sobjects/Lead",
	    "{\"LastName\":\"C\",\"Company\":\"C\",\"Email\":\"DUP@x.example\"}");
	assert_int_equal(h.status, 400);
	check_error_body(fx, "duplicate lead", &h, "DUPLICATES_DETECTED", "You're creating a "
	    "duplicate record. We recommend you use an existing record instead.", NULL);
	/* The matching record is named in duplicateResult (reference section 7). */
	dr = json_object_get(json_array_get(h.json, 0), "duplicateResult");
	assert_non_null(dr);
	assert_string_equal(sfield(dr, "duplicateRuleEntityType"), "Lead");
	/* An alerting rule (the default) lets the header save anyway: allowSave says so. */
	assert_true(json_is_true(json_object_get(dr, "allowSave")));
	assert_string_equal(sfield(json_object_get(json_array_get(json_object_get(json_array_get(
	    json_object_get(dr, "matchResults"), 0), "matchRecords"), 0), "record"), "Id"), first);
	sim_http_free(&h);

	static const struct rest_case rule[] = {
		{ "other e-mail passes", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"D\",\"Company\":\"C\",\"Email\":\"unique@x.example\"}", NULL, 201,
		  NULL, NULL, NULL },
		{ "alert rule: allowSave bypasses", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"E\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}",
		  "Sforce-Duplicate-Rule-Header: allowSave=true; includeRecordDetails=true; "
		  "runAsCurrentUser=true", 201, NULL, NULL, NULL },
		{ "allowSave=false does not", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"E\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}",
		  "Sforce-Duplicate-Rule-Header: allowSave=false", 400, "DUPLICATES_DETECTED", NULL,
		  NULL },
		{ "update into a duplicate", "PATCH", D "/sobjects/Lead/{lead1}",
		  "{\"Title\":\"x\"}", NULL, 400, "DUPLICATES_DETECTED", NULL, NULL },
		{ "Contacts have no rule on", "POST", D "/sobjects/Contact",
		  "{\"LastName\":\"E\",\"Email\":\"dup@x.example\"}", NULL, 201, NULL, NULL, NULL },
	};
	RUN(fx, rule);

	/* A blocking rule cannot be bypassed. */
	config(fx, "{\"duplicate_rule_blocks\":true}");
	static const struct rest_case blocking[] = {
		{ "block rule ignores allowSave", "POST", D "/sobjects/Lead",
		  "{\"LastName\":\"F\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}",
		  "Sforce-Duplicate-Rule-Header: allowSave=true", 400, "DUPLICATES_DETECTED", NULL,
		  NULL },
	};
	RUN(fx, blocking);
	call(&h, fx, "POST", D "/sobjects/Lead",
	    "{\"LastName\":\"G\",\"Company\":\"C\",\"Email\":\"dup@x.example\"}");
	assert_int_equal(h.status, 400);
	dr = json_object_get(json_array_get(h.json, 0), "duplicateResult");
	assert_true(json_is_false(json_object_get(dr, "allowSave")));
	sim_http_free(&h);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Lead WHERE Email = 'dup@x.example'"), 3);
}

/* ---- upsert and external ids ---- */

static void
test_upsert(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	char id[SF_ID_LEN + 1], loc[256];
	json_t *want, *rec;

	/* New: 201 with created:true and a Location (API 46.0+). */
	call(&h, fx, "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-1",
	    "{\"Subject\":\"first\"}");
	if (h.status != 201)
		dump_fail("upsert new", &h, 201);
	assert_true(is_valid_id(sfield(h.json, "id"), "00T"));
	snprintf(id, sizeof(id), "%s", sfield(h.json, "id"));
	set_var(fx, "id", id);
	want = json_pack("{s:s,s:b,s:[],s:b}", "id", id, "success", 1, "errors", "created", 1);
	assert_true(json_equal(want, h.json));
	json_decref(want);
	snprintf(loc, sizeof(loc), D "/sobjects/Task/%s", id);
	assert_non_null(sim_http_header(&h, "Location"));
	assert_string_equal(sim_http_header(&h, "Location"), loc);
	sim_http_free(&h);

	/* Existing: 200 with created:false, the same id. */
	call(&h, fx, "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-1",
	    "{\"Subject\":\"second\"}");
	assert_int_equal(h.status, 200);
	want = json_pack("{s:s,s:b,s:[],s:b}", "id", id, "success", 1, "errors", "created", 0);
	assert_true(json_equal(want, h.json));
	json_decref(want);
	sim_http_free(&h);
	rec = get_record(fx, "Task", id);
	assert_string_equal(sfield(rec, "Subject"), "second");
	assert_string_equal(sfield(rec, "OutlookMessageId__c"), "abc-1");
	json_decref(rec);

	/* Unique and case-insensitive: ABC-1 is the same record. */
	call(&h, fx, "PATCH", D "/sobjects/Task/OutlookMessageId__c/ABC-1",
	    "{\"Subject\":\"third\"}");
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "id"), id);
	assert_true(json_is_false(json_object_get(h.json, "created")));
	sim_http_free(&h);
	assert_int_equal(count(fx, "SELECT COUNT() FROM Task"), 1);

	/* POST ...?_HttpMethod=PATCH is PATCH (reference section 3). */
	call(&h, fx, "POST", D "/sobjects/Task/OutlookMessageId__c/abc-1?_HttpMethod=PATCH",
	    "{\"Subject\":\"fourth\"}");
	assert_int_equal(h.status, 200);
	assert_string_equal(sfield(h.json, "id"), id);
	sim_http_free(&h);
	{
		char path[256];

		snprintf(path, sizeof(path), D "/sobjects/Task/%s?_HttpMethod=PATCH", id);
		call(&h, fx, "POST", path, "{\"Subject\":\"fifth\"}");
		assert_int_equal(h.status, 204);
		sim_http_free(&h);
	}
	rec = get_record(fx, "Task", id);
	assert_string_equal(sfield(rec, "Subject"), "fifth");
	json_decref(rec);

	/* Two EmailMessages with one MessageIdentifier (idLookup, not unique): 300. Enhanced
	 * Email is off so that Task counts below stay about upserts. */
	config(fx, "{\"enhanced_email\":false}");
	create(fx, "EmailMessage", "{\"Status\":\"3\",\"MessageIdentifier\":\"mid-1\"}", "em1",
	    NULL);
	create(fx, "EmailMessage", "{\"Status\":\"3\",\"MessageIdentifier\":\"mid-1\"}", "em2",
	    NULL);
	call(&h, fx, "PATCH", D "/sobjects/EmailMessage/MessageIdentifier/mid-1",
	    "{\"IsExternallyVisible\":true}");
	assert_int_equal(h.status, 300);
	{
		char *urls = expand(fx, "[\"" D "/sobjects/EmailMessage/{em1}\",\"" D
		    "/sobjects/EmailMessage/{em2}\"]");

		want = json_loads(urls, 0, NULL);
		assert_true(json_equal(want, h.json));
		json_decref(want);
		sim_http_free(&h);
		call(&h, fx, "GET", D "/sobjects/EmailMessage/MessageIdentifier/mid-1", NULL);
		assert_int_equal(h.status, 300);
		want = json_loads(urls, 0, NULL);
		assert_true(json_equal(want, h.json));
		json_decref(want);
		free(urls);
	}
	sim_http_free(&h);

	static const struct rest_case cases[] = {
		{ "unknown external id field", "PATCH", D "/sobjects/Task/Bogus__c/x",
		  "{\"Subject\":\"s\"}", NULL, 404, "NOT_FOUND",
		  "Provided external ID field does not exist or is not accessible: Bogus__c", "-" },
		{ "field that is not an external id", "PATCH", D "/sobjects/Task/Subject/x",
		  "{\"Description\":\"s\"}", NULL, 404, "NOT_FOUND",
		  "Provided external ID field does not exist or is not accessible: Subject", NULL },
		{ "GET by unknown field", "GET", D "/sobjects/Task/Bogus__c/x", NULL, NULL, 404,
		  "NOT_FOUND",
		  "Provided external ID field does not exist or is not accessible: Bogus__c", NULL },
		{ "body with the external id field", "PATCH",
		  D "/sobjects/Task/OutlookMessageId__c/abc-9",
		  "{\"Subject\":\"s\",\"OutlookMessageId__c\":\"abc-9\"}", NULL, 400, NULL, NULL,
		  NULL },
		{ "body with Id", "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-9",
		  "{\"Subject\":\"s\",\"Id\":\"{id}\"}", NULL, 400, NULL, NULL, NULL },
		{ "invalid value on create", "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-9",
		  "{\"TaskSubtype\":\"Bogus\"}", NULL, 400,
		  "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", NULL, "[\"TaskSubtype\"]" },
		{ "bad JSON", "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-9", "{", NULL, 400,
		  "JSON_PARSER_ERROR", NULL, NULL },
		{ "updateOnly on a missing record", "PATCH",
		  D "/sobjects/Task/OutlookMessageId__c/abc-9?updateOnly=true",
		  "{\"Subject\":\"s\"}", NULL, 404, "NOT_FOUND", NULL, NULL },
		{ "updateOnly on an existing record", "PATCH",
		  D "/sobjects/Task/OutlookMessageId__c/abc-1?updateOnly=true",
		  "{\"Subject\":\"sixth\"}", NULL, 200, NULL, NULL, NULL },
		{ "GET by external id", "GET", D "/sobjects/Task/OutlookMessageId__c/abc-1", NULL,
		  NULL, 200, NULL, NULL, NULL },
		{ "GET by a missing external id", "GET",
		  D "/sobjects/Task/OutlookMessageId__c/abc-9", NULL, NULL, 404, "NOT_FOUND", NULL,
		  NULL },
		{ "DELETE by a missing external id", "DELETE",
		  D "/sobjects/Task/OutlookMessageId__c/abc-9", NULL, NULL, 404, "NOT_FOUND", NULL,
		  NULL },
	};
	RUN(fx, cases);
	/* Nothing was created by the refused upserts. */
	assert_int_equal(count(fx, "SELECT COUNT() FROM Task"), 1);

	/* GET by external id answers the record. */
	call(&h, fx, "GET", D "/sobjects/Task/OutlookMessageId__c/abc-1", NULL);
	assert_string_equal(sfield(h.json, "Id"), id);
	assert_string_equal(sfield(h.json, "Subject"), "sixth");
	sim_http_free(&h);

	/* DELETE by external id, then it is gone. */
	call(&h, fx, "DELETE", D "/sobjects/Task/OutlookMessageId__c/ABC-1", NULL);
	assert_int_equal(h.status, 204);
	sim_http_free(&h);
	call(&h, fx, "GET", D "/sobjects/Task/OutlookMessageId__c/abc-1", NULL);
	assert_int_equal(h.status, 404);
	sim_http_free(&h);
	/* Upserting the deleted value creates a new record. */
	call(&h, fx, "PATCH", D "/sobjects/Task/OutlookMessageId__c/abc-1",
	    "{\"Subject\":\"again\"}");
	assert_int_equal(h.status, 201);
	assert_string_not_equal(sfield(h.json, "id"), id);
	sim_http_free(&h);

	/* POST /sobjects/Task/Id creates (v37.0+). */
	call(&h, fx, "POST", D "/sobjects/Task/Id", "{\"Subject\":\"via Id\"}");
	assert_int_equal(h.status, 201);
	assert_true(is_valid_id(sfield(h.json, "id"), "00T"));
	sim_http_free(&h);
}

/* The answers that depend on the API version of the request (reference section 0.4). */
static void
test_upsert_versions(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *version;
		const char *value;
		long status;
		int has_body, created;	/* created: -1 absent */
	} cases[] = {
		{ "45.0", "v-45", 201, 1, -1 },	/* new */
		{ "45.0", "v-45", 204, 0, -1 },	/* existing: no body */
		{ "46.0", "v-46", 201, 1, 1 },
		{ "46.0", "v-46", 200, 1, 0 },
		{ "45.0", "v-46", 204, 0, -1 },	/* the same record seen by an older client */
		{ "60.0", "v-60", 201, 1, 1 },
		{ "62.0", "v-60", 200, 1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_http h;
		char path[256];
		json_t *c;

		snprintf(path, sizeof(path), "/services/data/v%s/sobjects/Event/OutlookEventId__c/%s",
		    cases[i].version, cases[i].value);
		call(&h, fx, "PATCH", path, "{\"Subject\":\"s\",\"StartDateTime\":"
		    "\"2024-03-15T10:00:00Z\",\"DurationInMinutes\":15}");
		if (h.status != cases[i].status)
			dump_fail(path, &h, cases[i].status);
		if (!cases[i].has_body) {
			assert_int_equal(h.resp.body_len, 0);
			sim_http_free(&h);
			continue;
		}
		assert_true(is_valid_id(sfield(h.json, "id"), "00U"));
		assert_true(json_is_true(json_object_get(h.json, "success")));
		c = json_object_get(h.json, "created");
		if (cases[i].created < 0)
			assert_null(c);
		else
			assert_int_equal(json_is_true(c), cases[i].created);
		sim_http_free(&h);
	}
	assert_int_equal(count(fx, "SELECT COUNT() FROM Event"), 3);

	/* updateOnly is a v61.0 parameter: older versions ignore it and create. */
	{
		struct sim_http h;

		call(&h, fx, "PATCH", "/services/data/v60.0/sobjects/Event/OutlookEventId__c/"
		    "uo-60?updateOnly=true", "{\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		    "\"DurationInMinutes\":15}");
		assert_int_equal(h.status, 201);
		sim_http_free(&h);
		call(&h, fx, "PATCH", "/services/data/v61.0/sobjects/Event/OutlookEventId__c/"
		    "uo-61?updateOnly=true", "{\"StartDateTime\":\"2024-03-15T10:00:00Z\","
		    "\"DurationInMinutes\":15}");
		assert_int_equal(h.status, 404);
		assert_string_equal(sim_http_error_code(&h), "NOT_FOUND");
		sim_http_free(&h);
	}
}

/* ---- persistence ---- */

static void
test_persistence(void **state)
{
	struct fx *fx = *state;
	char dir[] = "/tmp/sfsim-rest-XXXXXX", db[128], old_token[512], id[SF_ID_LEN + 1];
	struct sim_http h;
	json_t *rec;

	/* Replace the in-memory instance of setup by one on a file. */
	sim_proc_stop(&fx->sf.p);
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/sf.db", dir);
	assert_int_equal(start(fx, db), 0);
	create(fx, "Lead", "{\"LastName\":\"Kept\",\"Company\":\"Disk\"}", NULL, id);
	config(fx, "{\"query_batch_size\":300}");
	snprintf(old_token, sizeof(old_token), "%s", fx->sf.token);
	assert_int_equal(sim_proc_stop(&fx->sf.p), 0);

	/* Restart on the same file: the record, the setting and the old token survive. */
	assert_int_equal(start(fx, db), 0);
	snprintf(fx->sf.token, sizeof(fx->sf.token), "%s", old_token);
	rec = get_record(fx, "Lead", id);
	assert_string_equal(sfield(rec, "LastName"), "Kept");
	json_decref(rec);
	sim_http_do(&h, fx->sf.p.base_url, "GET", "/_sim/config", NULL, NULL, NULL);
	assert_int_equal(json_integer_value(json_object_get(h.json, "query_batch_size")), 300);
	sim_http_free(&h);
	/* New ids do not collide with ids handed out before the restart. */
	{
		char id2[SF_ID_LEN + 1];

		create(fx, "Lead", "{\"LastName\":\"New\",\"Company\":\"Disk\"}", NULL, id2);
		assert_true(strcmp(id2, id) > 0);
	}
	assert_int_equal(count(fx, "SELECT COUNT() FROM Lead"), 2);
	sim_proc_stop(&fx->sf.p);
	/* setup's teardown stops the process again: give it a running one. */
	assert_int_equal(start(fx, NULL), 0);
	unlink(db);
	{
		char side[160];

		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-journal", db);
		unlink(side);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opportunity_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_duration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upsert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upsert_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
