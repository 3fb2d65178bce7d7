/* test_graph_groups.c: contract tests for graph-sim's groups: the "groups" part of the seed (all
 * or nothing with the rest), GET /v1.0/groups/{id}, and the direct members with and without the
 * OData cast to users: $select, $top, @odata.nextLink paging, @odata.context, the permissions
 * (403, and ids only without a user read permission) and the errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SALES	"5a1e5000-0000-4000-8000-00000000aaaa"
#define EMPTY	"e0000000-0000-4000-8000-00000000bbbb"
#define NOSUCH	"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
#define MEMBERS	"/v1.0/groups/" SALES "/members"
#define CAST	MEMBERS "/microsoft.graph.user"

enum app { FULL, GROUPONLY, DIRONLY, USERONLY, NAPPS };
static const char *const app_ids[NAPPS] = { "full", "grouponly", "dironly", "useronly" };

struct fx {
	struct sim_proc p;
	char tokens[NAPPS][4096];
	char generated[40];	/* the id graph-sim made for the group seeded without one */
};

/* Sales lists its members out of directory order (Carol by a differently cased UPN, dave by
 * id is not possible before the seed answers, so by UPN), and carol has no mailbox. */
static const char seed_json[] =
	"{\"tenant\":{\"id\":\"6f1b2c3d-0000-4000-8000-00000000abcd\",\"domain\":\"contoso.com\"},"
	"\"apps\":["
	"{\"clientId\":\"full\",\"secret\":\"s1\","
	"\"roles\":[\"GroupMember.Read.All\",\"User.Read.All\"]},"
	"{\"clientId\":\"grouponly\",\"secret\":\"s2\",\"roles\":[\"GroupMember.Read.All\"]},"
	"{\"clientId\":\"dironly\",\"secret\":\"s3\",\"roles\":[\"Directory.Read.All\"]},"
	"{\"clientId\":\"useronly\",\"secret\":\"s4\",\"roles\":[\"User.Read.All\",\"Mail.Read\"]}],"
	"\"users\":["
	"{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"},"
	"{\"userPrincipalName\":\"bob@contoso.com\"},"
	"{\"userPrincipalName\":\"carol@contoso.com\",\"hasMailbox\":false},"
	"{\"userPrincipalName\":\"dave@contoso.com\",\"mail\":\"david@contoso.com\"}],"
	"\"groups\":["
	"{\"id\":\"" SALES "\",\"displayName\":\"Sales reps\",\"mail\":\"sales-reps@contoso.com\","
	"\"members\":[\"dave@contoso.com\",\"CAROL@contoso.com\",\"alice@contoso.com\"]},"
	"{\"id\":\"" EMPTY "\",\"displayName\":\"Nobody\"},"
	"{\"displayName\":\"Generated\",\"members\":[\"bob@contoso.com\"]}]}";

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	json_t *seeded, *groups;

	assert_non_null(fx);
	if (graph_fixture_start(&fx->p, NULL, seed_json, &seeded) < 0)
		fail_msg("cannot start graph-sim");
	groups = json_object_get(seeded, "groups");
	assert_int_equal(json_array_size(groups), 3);
	/* ids come back in seed order, lower-cased */
	assert_string_equal(json_string_value(json_array_get(groups, 0)), SALES);
	assert_string_equal(json_string_value(json_array_get(groups, 1)), EMPTY);
	snprintf(fx->generated, sizeof(fx->generated), "%s",
	    json_string_value(json_array_get(groups, 2)));
	assert_int_equal(strlen(fx->generated), 36);
	json_decref(seeded);
	for (int a = 0; a < NAPPS; a++)
		graph_fixture_token(&fx->p, app_ids[a], fx->tokens[a], sizeof(fx->tokens[a]));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	/* A clean exit: under ASan a leak or a crash in graph-sim fails the test here. */
	int rc = graph_fixture_stop(&fx->p);

	free(fx);
	return rc;
}

static void
get(struct sim_http *h, struct fx *fx, enum app app, const char *method, const char *path)
{
	sim_http_do(h, fx->p.base_url, method, path, NULL, fx->tokens[app], NULL);
}

/* The path of an absolute link the sim handed out ("/v1.0/..."). */
static const char *
link_path(const char *link)
{
	const char *p = link ? strstr(link, "/v1.0/") : NULL;

	if (p == NULL)
		fail_msg("not a graph-sim link: %s", link ? link : "(null)");
	return p;
}

/* ---- the seed ---- */

static void
test_seed_refused(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *groups;	/* the "groups" value of a seed that also adds a user */
		const char *reason;	/* in the error */
	} cases[] = {
		{ "[{\"displayName\":\"X\",\"members\":[\"nobody@contoso.com\"]}]",
		    "member \"nobody@contoso.com\" is not a user of the tenant" },
		{ "[{\"displayName\":\"X\",\"members\":[\"bob@contoso.com\",\"BOB@contoso.com\"]}]",
		    "listed twice" },
		{ "[{\"displayName\":\"X\",\"members\":[42]}]", "members[0]" },
		{ "[{\"displayName\":\"X\",\"members\":\"bob@contoso.com\"}]", "must be an array" },
		{ "[{\"id\":\"not-a-guid\",\"displayName\":\"X\"}]", "id must be a GUID" },
		{ "[{\"id\":\"" SALES "\",\"displayName\":\"X\"}]", "id already exists" },
		{ "[{\"members\":[]}]", "needs a displayName" },
		{ "[{\"displayName\":\"\"}]", "needs a displayName" },
		{ "[{\"displayName\":\"X\",\"mail\":\"nomail\"}]", "mail must be name@domain" },
		{ "[{\"displayName\":\"X\",\"owners\":[]}]", "unknown group key \"owners\"" },
		{ "[\"Sales\"]", "must be a JSON object" },
		{ "{\"displayName\":\"X\"}", "groups must be an array" },
		/* the new user may be a member: users come before groups; the mistake is after */
		{ "[{\"displayName\":\"Y\",\"members\":[\"erin@contoso.com\"]},"
		    "{\"displayName\":\"X\",\"members\":[\"nobody@contoso.com\"]}]", "groups[1]" },
	};
	struct sim_http h;

	for (size_t i = 0; i < N(cases); i++) {
		char body[1024];
		json_t *j;

		snprintf(body, sizeof(body), "{\"users\":[{\"userPrincipalName\":"
		    "\"erin@contoso.com\"}],\"groups\":%s}", cases[i].groups);
		j = sim_http_ctl(fx->p.base_url, "POST", "/_sim/seed", body, 400);
		if (strstr(jstr(j, "error") ? jstr(j, "error") : "", cases[i].reason) == NULL)
			fail_msg("case %zu: error %s lacks \"%s\"", i, jstr(j, "error"),
			    cases[i].reason);
		json_decref(j);
		/* all or nothing: the user of the refused seed is not there either */
		get(&h, fx, FULL, "GET", "/v1.0/users/erin@contoso.com");
		sim_http_expect(&h, 404, "erin after a refused seed");
		sim_http_free(&h);
	}
	/* and a good one after them works, its member being a user of the same seed */
	json_decref(sim_http_ctl(fx->p.base_url, "POST", "/_sim/seed",
	    "{\"users\":[{\"userPrincipalName\":\"erin@contoso.com\"}],\"groups\":["
	    "{\"id\":\"" NOSUCH "\",\"displayName\":\"Late\",\"members\":[\"erin@contoso.com\"]}]}",
	    200));
	get(&h, fx, FULL, "GET", "/v1.0/groups/" NOSUCH "/members/microsoft.graph.user");
	sim_http_expect(&h, 200, "members of the late group");
	assert_string_equal(jstr(json_array_get(json_object_get(h.json, "value"), 0),
	    "userPrincipalName"), "erin@contoso.com");
	sim_http_free(&h);
	/* reset forgets groups */
	json_decref(sim_http_ctl(fx->p.base_url, "POST", "/_sim/reset", NULL, 200));
	json_decref(sim_http_ctl(fx->p.base_url, "POST", "/_sim/seed",
	    "{\"apps\":[{\"clientId\":\"full\",\"secret\":\"s1\","
	    "\"roles\":[\"GroupMember.Read.All\"]}]}", 200));
	graph_fixture_token(&fx->p, "full", fx->tokens[FULL], sizeof(fx->tokens[FULL]));
	get(&h, fx, FULL, "GET", "/v1.0/groups/" SALES);
	sim_http_expect(&h, 404, "a group after reset");
	sim_http_free(&h);
}

/* ---- GET /groups/{id} and the errors of the whole path ---- */

static void
test_group_get(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *method;
		const char *path;
		enum app app;
		long status;
		const char *code;	/* error code, or NULL */
		const char *message;	/* error message, or NULL */
	} cases[] = {
		{ "GET", "/v1.0/groups/" SALES, FULL, 200, NULL, NULL },
		{ "GET", "/v1.0/groups/5A1E5000-0000-4000-8000-00000000AAAA", GROUPONLY, 200, NULL,
		    NULL },
		{ "GET", "/v1.0/groups/" SALES, DIRONLY, 200, NULL, NULL },
		{ "GET", "/v1.0/groups/" SALES, USERONLY, 403, "Authorization_RequestDenied",
		    "Insufficient privileges to complete the operation." },
		{ "GET", MEMBERS, USERONLY, 403, "Authorization_RequestDenied",
		    "Insufficient privileges to complete the operation." },
		{ "GET", CAST, USERONLY, 403, "Authorization_RequestDenied", NULL },
		{ "GET", "/v1.0/groups/" NOSUCH, FULL, 404, "Request_ResourceNotFound",
		    "Resource '" NOSUCH "' does not exist or one of its queried reference-property "
		    "objects are not present." },
		{ "GET", "/v1.0/groups/" NOSUCH "/members/microsoft.graph.user", FULL, 404,
		    "Request_ResourceNotFound", NULL },
		{ "GET", "/v1.0/groups/" NOSUCH "/members", FULL, 404, "Request_ResourceNotFound",
		    NULL },
		{ "GET", "/v1.0/groups/sales", FULL, 400, "Request_BadRequest",
		    "Invalid object identifier 'sales'." },
		{ "GET", "/v1.0/groups/" SALES "?$select=displayName,owner", FULL, 400,
		    "Request_BadRequest", "Could not find a property named 'owner' on type "
		    "'microsoft.graph.group'." },
		{ "GET", "/v1.0/groups/" SALES "/owners", FULL, 400, "BadRequest", NULL },
		{ "GET", "/v1.0/groups/" SALES "/members/microsoft.graph.device", FULL, 400,
		    "BadRequest", NULL },
		{ "GET", "/v1.0/groups", FULL, 400, "Request_BadRequest", NULL },
		{ "POST", MEMBERS, FULL, 405, "Request_BadRequest", NULL },
		{ "DELETE", "/v1.0/groups/" SALES, FULL, 405, "Request_BadRequest", NULL },
	};
	struct sim_http h;

	for (size_t i = 0; i < N(cases); i++) {
		char what[300];

		snprintf(what, sizeof(what), "case %zu: %s %s", i, cases[i].method, cases[i].path);
		get(&h, fx, cases[i].app, cases[i].method, cases[i].path);
		sim_http_expect(&h, cases[i].status, what);
		if (cases[i].code != NULL)
			assert_string_equal(graph_fixture_error_code(h.json), cases[i].code);
		if (cases[i].message != NULL)
			assert_string_equal(jstr(json_object_get(h.json, "error"), "message"),
			    cases[i].message);
		if (cases[i].status == 200) {
			assert_string_equal(jstr(h.json, "id"), SALES);
			assert_string_equal(jstr(h.json, "displayName"), "Sales reps");
			assert_string_equal(jstr(h.json, "mail"), "sales-reps@contoso.com");
			assert_true(json_is_true(json_object_get(h.json, "mailEnabled")));
			assert_non_null(strstr(jstr(h.json, "@odata.context"),
			    "/v1.0/$metadata#groups/$entity"));
		}
		sim_http_free(&h);
	}
	/* $select keeps id and the selected, and says so in the context */
	get(&h, fx, FULL, "GET", "/v1.0/groups/" EMPTY "?$select=mail");
	sim_http_expect(&h, 200, "group with $select");
	assert_true(json_is_null(json_object_get(h.json, "mail")));
	assert_string_equal(jstr(h.json, "id"), EMPTY);
	assert_null(json_object_get(h.json, "displayName"));
	assert_non_null(strstr(jstr(h.json, "@odata.context"), "#groups(mail)/$entity"));
	sim_http_free(&h);
}

/* ---- members ---- */

static void
test_members(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *path;
		enum app app;
		const char *upns;	/* the page's userPrincipalNames, space-separated, "-" for null */
		const char *context;	/* the end of @odata.context */
		int typed;		/* entries carry @odata.type */
	} cases[] = {
		/* seed order, not directory order; carol has no mailbox: mail null */
		{ CAST, FULL, "dave@contoso.com carol@contoso.com alice@contoso.com",
		    "#users", 0 },
		{ MEMBERS, FULL, "dave@contoso.com carol@contoso.com alice@contoso.com",
		    "#directoryObjects", 1 },
		{ CAST "?$select=userPrincipalName,mail&$top=999", FULL,
		    "dave@contoso.com carol@contoso.com alice@contoso.com",
		    "#users(userPrincipalName,mail)", 0 },
		{ MEMBERS "?$select=userPrincipalName,MAIL", DIRONLY,
		    "dave@contoso.com carol@contoso.com alice@contoso.com",
		    "#directoryObjects(userPrincipalName,mail)", 1 },
		/* no user read permission: ids only (Graph's "limited information") */
		{ CAST "?$select=userPrincipalName,mail", GROUPONLY, "- - -",
		    "#users(userPrincipalName,mail)", 0 },
		{ "/v1.0/groups/" EMPTY "/members/microsoft.graph.user", FULL, "", "#users", 0 },
	};
	struct sim_http h;

	for (size_t i = 0; i < N(cases); i++) {
		char got[512] = "", what[300];
		json_t *value, *u;
		size_t k;

		snprintf(what, sizeof(what), "case %zu: %s", i, cases[i].path);
		get(&h, fx, cases[i].app, "GET", cases[i].path);
		sim_http_expect(&h, 200, what);
		value = json_object_get(h.json, "value");
		assert_true(json_is_array(value));
		json_array_foreach(value, k, u) {
			const char *upn = jstr(u, "userPrincipalName");

			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			    k ? " " : "", upn ? upn : "-");
			assert_int_equal(strlen(jstr(u, "id")), 36);
			if (cases[i].typed)
				assert_string_equal(jstr(u, "@odata.type"), "#microsoft.graph.user");
			else
				assert_null(json_object_get(u, "@odata.type"));
			if (upn != NULL && strcmp(upn, "carol@contoso.com") == 0)
				assert_true(json_is_null(json_object_get(u, "mail")));
			if (upn != NULL && strcmp(upn, "dave@contoso.com") == 0)
				assert_string_equal(jstr(u, "mail"), "david@contoso.com");
		}
		if (strcmp(got, cases[i].upns) != 0)
			fail_msg("%s: members \"%s\", want \"%s\"", what, got, cases[i].upns);
		{
			const char *ctx = jstr(h.json, "@odata.context");
			size_t a = strlen(ctx), b = strlen(cases[i].context);

			if (a < b || strcmp(ctx + a - b, cases[i].context) != 0 ||
			    strstr(ctx, "/v1.0/$metadata#") == NULL)
				fail_msg("%s: context %s", what, ctx);
		}
		assert_null(json_object_get(h.json, "@odata.nextLink"));
		sim_http_free(&h);
	}
	/* A $select without mail leaves it out of the entries. */
	get(&h, fx, FULL, "GET", CAST "?$select=userPrincipalName");
	sim_http_expect(&h, 200, "select upn only");
	assert_null(json_object_get(json_array_get(json_object_get(h.json, "value"), 0), "mail"));
	sim_http_free(&h);
}

static void
test_members_paging(void **state)
{
	struct fx *fx = *state;
	char path[2048], got[512] = "";
	struct sim_http h;
	int pages = 0;

	snprintf(path, sizeof(path), "%s", CAST "?$select=userPrincipalName&$top=2");
	while (path[0] != '\0') {
		const char *next;
		json_t *u;
		size_t k;

		get(&h, fx, FULL, "GET", path);
		sim_http_expect(&h, 200, path);
		assert_true(json_array_size(json_object_get(h.json, "value")) <= 2);
		json_array_foreach(json_object_get(h.json, "value"), k, u)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s ",
			    jstr(u, "userPrincipalName"));
		next = jstr(h.json, "@odata.nextLink");
		path[0] = '\0';
		if (next != NULL) {
			/* the link keeps the request's options */
			assert_non_null(strstr(next, "$select=userPrincipalName"));
			assert_non_null(strstr(next, "$top=2"));
			snprintf(path, sizeof(path), "%s", link_path(next));
		}
		sim_http_free(&h);
		pages++;
	}
	assert_int_equal(pages, 2);
	assert_string_equal(got, "dave@contoso.com carol@contoso.com alice@contoso.com ");
	/* the same with the cast left out: the same members, typed */
	get(&h, fx, DIRONLY, "GET", MEMBERS "?$top=1");
	sim_http_expect(&h, 200, "members top 1");
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 1);
	assert_non_null(strstr(jstr(h.json, "@odata.nextLink"), "/members?"));
	sim_http_free(&h);
}

static void
test_members_rejected(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *query;
		const char *code;
		const char *message;	/* the start of the error message */
	} cases[] = {
		{ "$top=0", "Request_UnsupportedQuery", "Invalid page size specified: '0'." },
		{ "$top=1000", "Request_UnsupportedQuery", "Invalid page size specified: '1000'." },
		{ "$top=many", "Request_UnsupportedQuery", "Invalid page size specified: 'many'." },
		{ "$skiptoken=bogus", "Directory_ExpiredPageToken", "The specified page token" },
		{ "$select=userPrincipalName,manager", "Request_BadRequest",
		    "Could not find a property named 'manager' on type 'microsoft.graph.user'." },
		{ "$filter=mail%20eq%20'x@contoso.com'", "Request_UnsupportedQuery",
		    "graph-sim does not support $filter" },
		{ "$orderby=displayName", "Request_UnsupportedQuery",
		    "graph-sim does not support $orderby" },
	};
	struct sim_http h;

	for (size_t i = 0; i < N(cases); i++) {
		char path[512];
		const char *msg;

		snprintf(path, sizeof(path), CAST "?%s", cases[i].query);
		get(&h, fx, FULL, "GET", path);
		sim_http_expect(&h, 400, path);
		assert_string_equal(graph_fixture_error_code(h.json), cases[i].code);
		msg = jstr(json_object_get(h.json, "error"), "message");
		assert_non_null(msg);
		if (strncmp(msg, cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("%s: message %s", path, msg);
		sim_http_free(&h);
	}
}

/* The generated id works like a given one, and /$batch reaches /groups too. */
static void
test_generated_and_batch(void **state)
{
	struct fx *fx = *state;
	char path[256], body[512];
	struct sim_http h;
	json_t *r;

	snprintf(path, sizeof(path), "/v1.0/groups/%s/members/microsoft.graph.user",
	    fx->generated);
	get(&h, fx, FULL, "GET", path);
	sim_http_expect(&h, 200, path);
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(h.json, "value"), 0),
	    "userPrincipalName"), "bob@contoso.com");
	sim_http_free(&h);
	snprintf(body, sizeof(body), "{\"requests\":["
	    "{\"id\":\"1\",\"method\":\"GET\",\"url\":\"/groups/%s\"},"
	    "{\"id\":\"2\",\"method\":\"GET\",\"url\":\"/groups/" NOSUCH "\"}]}", fx->generated);
	sim_http_do(&h, fx->p.base_url, "POST", "/v1.0/$batch", body, fx->tokens[FULL], NULL);
	sim_http_expect(&h, 200, "batch");
	for (size_t k = 0; k < 2; k++) {
		r = json_array_get(json_object_get(h.json, "responses"), k);
		if (strcmp(jstr(r, "id"), "1") == 0) {
			assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
			assert_string_equal(jstr(json_object_get(r, "body"), "displayName"),
			    "Generated");
		} else {
			assert_int_equal(json_integer_value(json_object_get(r, "status")), 404);
		}
	}
	sim_http_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_members_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_members_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated_and_batch, setup, teardown),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
