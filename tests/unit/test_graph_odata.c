/* test_graph_odata.c: graph-sim's OData options (sim/graph/graph_odata.c): $select matching,
 * checking and applying, $top bounds with Graph's 400, date-time literals, the $filter subset
 * (accepted and rejected forms), $orderby, and the paging links. Every case is a table row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_odata.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *select;		/* NULL: no $select */
	const char *field;
	int want;
} has_cases[] = {
	{ NULL, "subject", 1 },
	{ "", "subject", 1 },
	{ "subject", "subject", 1 },
	{ "Subject", "subject", 1 },		/* case-insensitive */
	{ "subject", "body", 0 },
	{ "subject,body", "body", 1 },
	{ " subject , body ", "body", 1 },	/* spaces around names */
	{ "subject", "id", 1 },			/* id always */
	{ "subjects", "subject", 0 },		/* no prefix matches */
	{ "subject", "subjects", 0 },
	{ "from", "fromx", 0 },
	{ ",,", "subject", 0 },
};

static void
test_select_has(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(has_cases); i++)
		if (graph_odata_select_has(has_cases[i].select, has_cases[i].field) !=
		    has_cases[i].want)
			fail_msg("select %s field %s: want %d", has_cases[i].select ?
			    has_cases[i].select : "(null)", has_cases[i].field, has_cases[i].want);
}

static const char *const known[] = { "id", "subject", "from", "receivedDateTime", NULL };

static const struct {
	const char *select;
	int ok;
	const char *bad;		/* the name reported when rejected */
	const char *canonical;		/* graph_odata_select_canonical when ok */
} check_cases[] = {
	{ NULL, 1, NULL, NULL },
	{ "subject", 1, NULL, "subject" },
	{ "SUBJECT,receiveddatetime", 1, NULL, "subject,receivedDateTime" },
	{ " from ", 1, NULL, "from" },
	{ "subject,nope", 0, "nope", NULL },
	{ "nope", 0, "nope", NULL },
	{ "subject,,from", 0, "", NULL },	/* an empty name */
	{ "subject,", 0, "", NULL },
	{ "sub ject", 0, "sub ject", NULL },
};

static void
test_select_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(check_cases); i++) {
		char bad[64] = "?";
		int rc = graph_odata_select_check(check_cases[i].select, known, bad, sizeof(bad));

		if ((rc == 0) != check_cases[i].ok)
			fail_msg("select %s: rc %d", check_cases[i].select, rc);
		if (!check_cases[i].ok && strcmp(bad, check_cases[i].bad) != 0)
			fail_msg("select %s: bad %s, want %s", check_cases[i].select, bad,
			    check_cases[i].bad);
		if (check_cases[i].ok && check_cases[i].canonical != NULL) {
			char *c = graph_odata_select_canonical(check_cases[i].select, known);

			assert_non_null(c);
			assert_string_equal(c, check_cases[i].canonical);
			free(c);
		}
	}
	assert_null(graph_odata_select_canonical(NULL, known));
}

static void
test_select_apply(void **state)
{
	static const struct {
		const char *select;
		const char *want;	/* the keys left, sorted, comma-joined */
	} cases[] = {
		{ NULL, "@odata.etag,body,id,subject" },
		{ "subject", "@odata.etag,id,subject" },
		{ "BODY", "@odata.etag,body,id" },
		{ "nothing", "@odata.etag,id" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "@odata.etag", "W/\"x\"", "id", "1",
		    "subject", "s", "body", "b");
		char got[256] = "";
		const char *keys[8];
		size_t n = 0;
		const char *k;
		json_t *v;

		graph_odata_select_apply(cases[i].select, o);
		json_object_foreach(o, k, v)
			keys[n++] = k;
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (strcmp(keys[b], keys[a]) < 0) {
					const char *t = keys[a];

					keys[a] = keys[b];
					keys[b] = t;
				}
		for (size_t a = 0; a < n; a++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", a ? "," : "",
			    keys[a]);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("apply %s: got %s want %s", cases[i].select, got, cases[i].want);
		json_decref(o);
	}
}

/* A request with one query parameter (or none). */
static void
req_with(struct graph_req *req, struct httpd_param *p, const char *name, const char *value)
{
	memset(req, 0, sizeof(*req));
	req->method = "GET";
	req->path = "/users/u1/mailFolders('inbox')/messages";
	snprintf(req->request_id, sizeof(req->request_id), "req-1");
	if (name != NULL) {
		p->name = (char *)name;
		p->value = (char *)value;
		req->query = p;
		req->nquery = 1;
	}
}

static void
test_top(void **state)
{
	static const struct {
		const char *top;	/* NULL: absent */
		long dflt, max;
		long want;		/* -1: rejected with 400 */
	} cases[] = {
		{ NULL, 10, 1000, 10 },
		{ "1", 10, 1000, 1 },
		{ "25", 10, 1000, 25 },
		{ "1000", 10, 1000, 1000 },
		{ "999", 100, 999, 999 },
		{ "1000", 100, 999, -1 },	/* above the path's maximum */
		{ "1001", 10, 1000, -1 },
		{ "0", 10, 1000, -1 },
		{ "-1", 10, 1000, -1 },
		{ "", 10, 1000, -1 },
		{ "abc", 10, 1000, -1 },
		{ "10abc", 10, 1000, -1 },
		{ " 10", 10, 1000, -1 },
		{ "1.5", 10, 1000, -1 },
		{ "99999999999999999999", 10, 1000, -1 },	/* no overflow */
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct graph_req req;
		struct httpd_param p;
		struct graph_reply reply;
		long got;

		memset(&reply, 0, sizeof(reply));
		req_with(&req, &p, cases[i].top ? "$top" : NULL, cases[i].top);
		got = graph_odata_top(&req, cases[i].dflt, cases[i].max, &reply);
		if (got != cases[i].want)
			fail_msg("$top=%s: got %ld want %ld", cases[i].top, got, cases[i].want);
		if (got < 0) {
			json_t *err = json_object_get(reply.body, "error");

			assert_int_equal(reply.status, 400);
			assert_non_null(json_string_value(json_object_get(err, "code")));
		} else {
			assert_int_equal(reply.status, 0);
		}
		graph_reply_free(&reply);
	}
}

static void
test_parse_count(void **state)
{
	static const struct {
		const char *s;
		long want;		/* -1: rejected */
	} cases[] = {
		{ "0", 0 }, { "7", 7 }, { "123456789", 123456789 },
		{ "1234567890", -1 }, { "", -1 }, { "-3", -1 }, { "+3", -1 }, { "3 ", -1 },
		{ "0x10", -1 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		long v = -99;
		int rc = graph_odata_parse_count(cases[i].s, &v);

		if (cases[i].want < 0 ? rc == 0 : (rc != 0 || v != cases[i].want))
			fail_msg("count %s: rc %d v %ld", cases[i].s, rc, v);
	}
}

static void
test_datetime(void **state)
{
	static const struct {
		const char *in;
		const char *want;	/* NULL: rejected */
	} cases[] = {
		{ "2024-05-24T12:52:15Z", "2024-05-24T12:52:15Z" },
		{ "2024-05-24T12:52Z", "2024-05-24T12:52:00Z" },
		{ "2024-05-24T12:52:15.1234567Z", "2024-05-24T12:52:15Z" },
		{ "2024-05-24T12:52:15+02:00", "2024-05-24T10:52:15Z" },
		{ "2024-05-24T00:30:00-01:00", "2024-05-24T01:30:00Z" },
		{ "2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00Z" },	/* across a year */
		{ "2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z" },
		{ "2024-05-24t12:52:15z", "2024-05-24T12:52:15Z" },
		{ "2023-02-29T00:00:00Z", NULL },	/* not a leap year */
		{ "2024-13-01T00:00:00Z", NULL },
		{ "2024-04-31T00:00:00Z", NULL },
		{ "2024-05-24T24:00:00Z", NULL },
		{ "2024-05-24T12:60:00Z", NULL },
		{ "2024-05-24T12:52:15", NULL },	/* no zone */
		{ "2024-05-24", NULL },
		{ "2024-05-24 12:52:15Z", NULL },
		{ "2024-05-24T12:52:15.Z", NULL },
		{ "2024-05-24T12:52:15.12345678Z", NULL },
		{ "2024-05-24T12:52:15+2:00", NULL },
		{ "2024-05-24T12:52:15+15:00", NULL },
		{ "2024-05-24T12:52:15Zjunk", NULL },
		{ "'2024-05-24T12:52:15Z'", NULL },
		{ "", NULL },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char out[32] = "";
		int rc = graph_odata_parse_datetime(cases[i].in, strlen(cases[i].in), out);

		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("%s accepted as %s", cases[i].in, out);
		} else if (rc != 0 || strcmp(out, cases[i].want) != 0) {
			fail_msg("%s: rc %d out %s want %s", cases[i].in, rc, out, cases[i].want);
		}
	}
}

static const struct graph_filter_prop props[] = {
	{ "mail", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "userPrincipalName", GRAPH_FILTER_STRING, GRAPH_OP_EQ | GRAPH_OP_STARTSWITH },
	{ "receivedDateTime", GRAPH_FILTER_DATETIME, GRAPH_OP_GE | GRAPH_OP_GT | GRAPH_OP_LT |
	    GRAPH_OP_LE },
	{ "isRead", GRAPH_FILTER_BOOL, GRAPH_OP_EQ | GRAPH_OP_NE },
	{ NULL, 0, 0 },
};

static void
test_filter(void **state)
{
	static const struct {
		const char *text;
		enum graph_filter_result want;
		int nterms, any;
		const char *prop0;	/* first term */
		enum graph_filter_op op0;
		const char *value0;
		const char *err;	/* for UNSUPPORTED: the property named */
	} cases[] = {
		{ "mail eq 'a@x.com'", GRAPH_FILTER_OK, 1, 0, "mail", GRAPH_OP_EQ, "a@x.com", NULL },
		{ "Mail EQ 'a@x.com'", GRAPH_FILTER_OK, 1, 0, "mail", GRAPH_OP_EQ, "a@x.com", NULL },
		{ "  mail   eq   'a b'  ", GRAPH_FILTER_OK, 1, 0, "mail", GRAPH_OP_EQ, "a b", NULL },
		{ "mail eq 'o''brien@x.com'", GRAPH_FILTER_OK, 1, 0, "mail", GRAPH_OP_EQ,
		    "o'brien@x.com", NULL },
		{ "startswith(userPrincipalName,'al')", GRAPH_FILTER_OK, 1, 0,
		    "userPrincipalName", GRAPH_OP_STARTSWITH, "al", NULL },
		{ "startswith( mail , 'b' )", GRAPH_FILTER_OK, 1, 0, "mail", GRAPH_OP_STARTSWITH,
		    "b", NULL },
		{ "receivedDateTime ge 2024-05-01T00:00:00Z", GRAPH_FILTER_OK, 1, 0,
		    "receivedDateTime", GRAPH_OP_GE, "2024-05-01T00:00:00Z", NULL },
		{ "receivedDateTime gt 2024-05-01T02:00:00+02:00", GRAPH_FILTER_OK, 1, 0,
		    "receivedDateTime", GRAPH_OP_GT, "2024-05-01T00:00:00Z", NULL },
		{ "receivedDateTime ge 2024-05-01T00:00:00Z and receivedDateTime lt "
		    "2024-06-01T00:00:00Z", GRAPH_FILTER_OK, 2, 0, "receivedDateTime", GRAPH_OP_GE,
		    "2024-05-01T00:00:00Z", NULL },
		{ "mail eq 'a@x' or mail eq 'b@x'", GRAPH_FILTER_OK, 2, 1, "mail", GRAPH_OP_EQ,
		    "a@x", NULL },
		{ "isRead eq false", GRAPH_FILTER_OK, 1, 0, "isRead", GRAPH_OP_EQ, "false", NULL },
		{ "isRead ne TRUE", GRAPH_FILTER_OK, 1, 0, "isRead", GRAPH_OP_NE, "true", NULL },
		/* rejected: syntax */
		{ "", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq a@x.com", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq 'unterminated", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail xx 'a'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq 'a' and", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq 'a' nand mail eq 'b'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "mail eq 'a' and mail eq 'b' or mail eq 'c'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0,
		    NULL, NULL },			/* mixed and/or */
		{ "receivedDateTime ge '2024-05-01T00:00:00Z'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0,
		    NULL, NULL },			/* date-times are not quoted */
		{ "receivedDateTime ge 2024-05-01", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "isRead eq 'false'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "startswith(mail 'a')", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		{ "startswith(mail,'a'", GRAPH_FILTER_SYNTAX, 0, 0, NULL, 0, NULL, NULL },
		/* rejected: not supported here */
		{ "jobTitle eq 'x'", GRAPH_FILTER_UNSUPPORTED, 0, 0, NULL, 0, NULL, "jobTitle" },
		{ "mail ne 'x'", GRAPH_FILTER_UNSUPPORTED, 0, 0, NULL, 0, NULL, "mail" },
		{ "receivedDateTime eq 2024-05-01T00:00:00Z", GRAPH_FILTER_UNSUPPORTED, 0, 0, NULL,
		    0, NULL, "receivedDateTime" },
		{ "startswith(receivedDateTime,'2024')", GRAPH_FILTER_UNSUPPORTED, 0, 0, NULL, 0,
		    NULL, "receivedDateTime" },
		{ "startswith(isRead,'t')", GRAPH_FILTER_UNSUPPORTED, 0, 0, NULL, 0, NULL,
		    "isRead" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct graph_filter f;
		char err[128] = "";
		enum graph_filter_result r = graph_odata_filter_parse(cases[i].text, props, &f,
		    err, sizeof(err));

		if (r != cases[i].want)
			fail_msg("filter \"%s\": result %d want %d (%s)", cases[i].text, r,
			    cases[i].want, err);
		if (r == GRAPH_FILTER_UNSUPPORTED && strcmp(err, cases[i].err) != 0)
			fail_msg("filter \"%s\": names %s want %s", cases[i].text, err, cases[i].err);
		if (r != GRAPH_FILTER_OK)
			continue;
		if (f.nterms != cases[i].nterms || f.any != cases[i].any ||
		    strcmp(f.terms[0].prop->name, cases[i].prop0) != 0 ||
		    f.terms[0].op != cases[i].op0 || strcmp(f.terms[0].value, cases[i].value0) != 0)
			fail_msg("filter \"%s\": n %d any %d prop %s op %d value %s", cases[i].text,
			    f.nterms, f.any, f.terms[0].prop->name, f.terms[0].op, f.terms[0].value);
	}
	assert_int_equal(graph_odata_filter_parse(NULL, props, &(struct graph_filter){ 0 },
	    (char[32]){ 0 }, 32), GRAPH_FILTER_SYNTAX);
}

static void
test_orderby(void **state)
{
	static const char *const allowed[] = { "receivedDateTime", "subject", NULL };
	static const struct {
		const char *text;
		int ok, n;
		const char *prop0;
		int desc0;
	} cases[] = {
		{ "receivedDateTime", 1, 1, "receivedDateTime", 0 },
		{ "receivedDateTime desc", 1, 1, "receivedDateTime", 1 },
		{ "receiveddatetime DESC", 1, 1, "receivedDateTime", 1 },
		{ "receivedDateTime asc,subject desc", 1, 2, "receivedDateTime", 0 },
		{ "subject  desc", 1, 1, "subject", 1 },
		{ "from", 0, 0, NULL, 0 },
		{ "receivedDateTime down", 0, 0, NULL, 0 },
		{ "receivedDateTime desc desc", 0, 0, NULL, 0 },
		{ "", 0, 0, NULL, 0 },
		{ ",", 0, 0, NULL, 0 },
		{ "subject,subject,subject,subject,subject", 0, 0, NULL, 0 },	/* too many */
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct graph_orderby ob;
		char err[64];
		int rc = graph_odata_orderby_parse(cases[i].text, allowed, &ob, err, sizeof(err));

		if ((rc == 0) != cases[i].ok)
			fail_msg("orderby \"%s\": rc %d", cases[i].text, rc);
		if (rc == 0 && (ob.n != cases[i].n || strcmp(ob.prop[0], cases[i].prop0) != 0 ||
		    ob.desc[0] != cases[i].desc0))
			fail_msg("orderby \"%s\": n %d prop %s desc %d", cases[i].text, ob.n,
			    ob.prop[0], ob.desc[0]);
	}
}

static void
test_link(void **state)
{
	struct graph_sim sim;
	struct graph_req req;
	struct httpd_param q[3] = {
		{ "$select", "subject,from" },
		{ "$filter", "receivedDateTime ge 2024-05-01T00:00:00+02:00" },
		{ "$skip", "10" },
	};
	static const char *const drop[] = { "$skip", NULL };
	char *link;

	(void)state;
	memset(&sim, 0, sizeof(sim));
	snprintf(sim.base_url, sizeof(sim.base_url), "https://127.0.0.1:8443");
	req_with(&req, NULL, NULL, NULL);
	req.query = q;
	req.nquery = 3;
	link = graph_odata_link(&sim, &req, drop, "$skip", "20");
	assert_string_equal(link, "https://127.0.0.1:8443/v1.0/users/u1/mailFolders('inbox')/"
	    "messages?$select=subject,from&$filter=receivedDateTime%20ge%20"
	    "2024-05-01T00:00:00%2B02:00&$skip=20");
	free(link);
	/* without an added parameter nor anything left: the bare path */
	{
		static const char *const all[] = { "$skip", "$select", "$filter", NULL };

		link = graph_odata_link(&sim, &req, all, NULL, NULL);
		assert_string_equal(link,
		    "https://127.0.0.1:8443/v1.0/users/u1/mailFolders('inbox')/messages");
		free(link);
	}
	link = graph_odata_escape("a b&c=d/é'");
	assert_string_equal(link, "a%20b%26c%3Dd%2F%C3%A9'");
	free(link);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_has),
		cmocka_unit_test(test_select_check),
		cmocka_unit_test(test_select_apply),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_orderby),
		cmocka_unit_test(test_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
