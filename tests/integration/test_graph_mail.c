/* test_graph_mail.c: contract tests for graph-sim's directory and mailbox surface against the
 * reference (/work/shared/reference/microsoft-graph-api.md §2.2, §4, §5, §7): /users paging,
 * $filter and $select; folders by id and well-known name; message lists with $top, $select,
 * $filter and $orderby; reads with body conversion and internetMessageHeaders; delivery copies;
 * and per-folder delta: paging, resumption, moves with default and immutable ids, deletes, 410.
 * Each test starts its own graph-sim on a loopback port, seeded over the control API. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "graph_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IMMUTABLE "Prefer: IdType=\"ImmutableId\""

enum app { READER, MAILONLY, BASIC, WRITER, DIRONLY, NOROLES, NAPPS };
static const char *const app_ids[NAPPS] = {
	"reader", "mailonly", "basic", "writer", "dironly", "noroles"
};

struct fx {
	struct sim_proc p;
	char tokens[NAPPS][4096];
	char alice[40], bob[40], carol[40];	/* carol has no mailbox */
};

static const char seed_json[] =
	"{\"tenant\":{\"id\":\"6f1b2c3d-0000-4000-8000-00000000abcd\",\"domain\":\"contoso.com\"},"
	"\"apps\":["
	"{\"clientId\":\"reader\",\"secret\":\"s1\",\"roles\":[\"Mail.Read\",\"User.Read.All\"]},"
	"{\"clientId\":\"mailonly\",\"secret\":\"s2\",\"roles\":[\"Mail.Read\"]},"
	"{\"clientId\":\"basic\",\"secret\":\"s3\",\"roles\":[\"Mail.ReadBasic.All\"]},"
	"{\"clientId\":\"writer\",\"secret\":\"s4\",\"roles\":[\"Mail.ReadWrite\"]},"
	"{\"clientId\":\"dironly\",\"secret\":\"s5\",\"roles\":[\"Directory.Read.All\"]},"
	"{\"clientId\":\"noroles\",\"secret\":\"s6\",\"roles\":[],\"scopes\":[\"Mail.Read\"]}],"
	"\"users\":["
	"{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\","
	"\"givenName\":\"Alice\",\"surname\":\"Adams\",\"jobTitle\":\"CEO\"},"
	"{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"},"
	"{\"userPrincipalName\":\"carol@contoso.com\",\"hasMailbox\":false},"
	"{\"userPrincipalName\":\"dave@contoso.com\",\"mail\":\"david@contoso.com\"}]}";

/* ---- helpers ---- */

static void
call(struct sim_http *h, struct fx *fx, enum app app, const char *path, const char *prefer)
{
	const char *headers[] = { prefer, NULL };

	sim_http_do(h, fx->p.base_url, "GET", path, NULL, fx->tokens[app],
	    prefer ? headers : NULL);
}

static void
call_method(struct sim_http *h, struct fx *fx, enum app app, const char *method,
    const char *path, const char *body)
{
	sim_http_do(h, fx->p.base_url, method, path, body, fx->tokens[app], NULL);
}

static const char *
error_code(const struct sim_http *h)
{
	return graph_fixture_error_code(h->json);
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

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
control(struct fx *fx, const char *method, const char *path, const char *body, long want,
    json_t **out)
{
	json_t *j = sim_http_ctl(fx->p.base_url, method, path, body, want);

	if (out != NULL)
		*out = j;
	else
		json_decref(j);
}

/* POST /_sim/mail; the result (caller decrefs). */
static json_t *
deliver(struct fx *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
deliver(struct fx *fx, const char *fmt, ...)
{
	char body[8192];
	json_t *out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	control(fx, "POST", "/_sim/mail", body, 201, &out);
	return out;
}

/* The copy of a delivery result in user's folder: its rest id (or immutable id). */
static const char *
copy_id(json_t *result, const char *user, const char *folder, int immutable)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(result, "copies"), i, c)
		if (strcasecmp(jstr(c, "user"), user) == 0 && strcmp(jstr(c, "folder"), folder) == 0)
			return jstr(c, immutable ? "immutableId" : "id");
	fail_msg("no copy for %s in %s", user, folder);
	return NULL;
}

/* Delivers n mails from bob to alice, one minute apart from 2024-05-01T08:00Z + offset min. */
static void
deliver_many(struct fx *fx, int n, int offset, const char *tag)
{
	for (int i = 0; i < n; i++) {
		int m = offset + i;
		json_t *r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
		    "\"subject\":\"%s %d\",\"body\":\"<p>n %d</p>\","
		    "\"date\":\"2024-05-01T%02d:%02d:00Z\"}", tag, i, i, 8 + m / 60, m % 60);

		json_decref(r);
	}
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	json_t *seeded;

	assert_non_null(fx);
	if (graph_fixture_start(&fx->p, NULL, seed_json, &seeded) < 0)
		fail_msg("cannot start graph-sim");
	snprintf(fx->alice, sizeof(fx->alice), "%s",
	    jstr(json_object_get(seeded, "users"), "alice@contoso.com"));
	snprintf(fx->bob, sizeof(fx->bob), "%s",
	    jstr(json_object_get(seeded, "users"), "bob@contoso.com"));
	snprintf(fx->carol, sizeof(fx->carol), "%s",
	    jstr(json_object_get(seeded, "users"), "carol@contoso.com"));
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

/* ---- users ---- */

static void
test_users(void **state)
{
	static const struct {
		const char *path;
		enum app app;
		long status;
		const char *code;	/* error code, or NULL */
		int count;		/* values in the page; -1: not a list */
	} cases[] = {
		{ "/v1.0/users", READER, 200, NULL, 4 },
		{ "/v1.0/users", DIRONLY, 200, NULL, 4 },
		{ "/v1.0/users?$filter=mail%20eq%20'bob@contoso.com'", READER, 200, NULL, 1 },
		{ "/v1.0/users?$filter=mail%20eq%20'BOB@CONTOSO.COM'", READER, 200, NULL, 1 },
		{ "/v1.0/users?$filter=userPrincipalName%20eq%20'nobody@contoso.com'", READER, 200,
		    NULL, 0 },
		{ "/v1.0/users?$filter=startswith(userPrincipalName,'a')", READER, 200, NULL, 1 },
		{ "/v1.0/users?$filter=startswith(mail,'d')", READER, 200, NULL, 1 },
		{ "/v1.0/users?$filter=mail%20eq%20'david@contoso.com'", READER, 200, NULL, 1 },
		{ "/v1.0/users?$filter=mail%20eq%20'a@x'%20or%20mail%20eq%20'bob@contoso.com'",
		    READER, 200, NULL, 1 },
		{ "/v1.0/users?$top=999", READER, 200, NULL, 4 },
		{ "/v1.0/users/alice@contoso.com", READER, 200, NULL, -1 },
		{ "/v1.0/users/ALICE@contoso.com", READER, 200, NULL, -1 },
		/* rejected */
		{ "/v1.0/users", MAILONLY, 403, "Authorization_RequestDenied", -1 },
		{ "/v1.0/users/alice@contoso.com", MAILONLY, 403, "Authorization_RequestDenied",
		    -1 },
		{ "/v1.0/users/nobody@contoso.com", READER, 404, "Request_ResourceNotFound", -1 },
		{ "/v1.0/users/00000000-0000-0000-0000-000000000000", READER, 404,
		    "Request_ResourceNotFound", -1 },
		{ "/v1.0/users?$top=0", READER, 400, "Request_UnsupportedQuery", -1 },
		{ "/v1.0/users?$top=1000", READER, 400, "Request_UnsupportedQuery", -1 },
		{ "/v1.0/users?$top=x", READER, 400, "Request_UnsupportedQuery", -1 },
		{ "/v1.0/users?$filter=jobTitle%20eq%20'CEO'", READER, 400,
		    "Request_UnsupportedQuery", -1 },
		{ "/v1.0/users?$filter=mail%20eq", READER, 400, "BadRequest", -1 },
		{ "/v1.0/users?$select=nope", READER, 400, "Request_BadRequest", -1 },
		{ "/v1.0/users?$skiptoken=garbage", READER, 400, "Directory_ExpiredPageToken", -1 },
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < N(cases); i++) {
		struct sim_http h;

		call(&h, fx, cases[i].app, cases[i].path, NULL);
		sim_http_expect(&h, cases[i].status, cases[i].path);
		if (cases[i].code != NULL && strcmp(error_code(&h), cases[i].code) != 0)
			fail_msg("%s: code %s want %s", cases[i].path, error_code(&h), cases[i].code);
		if (cases[i].count >= 0 &&
		    (int)json_array_size(json_object_get(h.json, "value")) != cases[i].count)
			fail_msg("%s: %zu values, want %d", cases[i].path,
			    json_array_size(json_object_get(h.json, "value")), cases[i].count);
		sim_http_free(&h);
	}
}

static void
test_users_shape_and_paging(void **state)
{
	static const char *const defaults[] = { "id", "businessPhones", "displayName",
	    "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage",
	    "surname", "userPrincipalName" };
	struct fx *fx = *state;
	struct sim_http h;
	json_t *u, *seen = json_object();
	const char *next;
	char path[2048];
	int pages = 0;

	call(&h, fx, READER, "/v1.0/users/alice@contoso.com", NULL);
	sim_http_expect(&h, 200, "alice");
	for (size_t i = 0; i < N(defaults); i++)
		if (json_object_get(h.json, defaults[i]) == NULL)
			fail_msg("user lacks %s", defaults[i]);
	assert_string_equal(jstr(h.json, "id"), fx->alice);
	assert_string_equal(jstr(h.json, "jobTitle"), "CEO");
	assert_true(json_is_array(json_object_get(h.json, "businessPhones")));
	assert_null(json_object_get(h.json, "accountEnabled"));	/* only with $select */
	assert_non_null(strstr(jstr(h.json, "@odata.context"), "$metadata#users/$entity"));
	sim_http_free(&h);

	/* carol has no mailbox: mail is null */
	snprintf(path, sizeof(path), "/v1.0/users/%s", fx->carol);
	call(&h, fx, READER, path, NULL);
	sim_http_expect(&h, 200, "carol by id");
	assert_true(json_is_null(json_object_get(h.json, "mail")));
	sim_http_free(&h);

	call(&h, fx, READER, "/v1.0/users?$select=displayName,accountEnabled", NULL);
	sim_http_expect(&h, 200, "select");
	u = json_array_get(json_object_get(h.json, "value"), 0);
	assert_int_equal(json_object_size(u), 3);	/* id, displayName, accountEnabled */
	assert_non_null(json_object_get(u, "id"));
	assert_true(json_is_true(json_object_get(u, "accountEnabled")));
	assert_null(json_object_get(u, "mail"));
	assert_non_null(strstr(jstr(h.json, "@odata.context"),
	    "users(displayName,accountEnabled)"));
	sim_http_free(&h);

	/* $top=3 over 4 users: two pages, the nextLink carrying $skiptoken and the options */
	snprintf(path, sizeof(path), "/v1.0/users?$top=3&$select=mail");
	for (;;) {
		size_t i;

		call(&h, fx, READER, path, NULL);
		sim_http_expect(&h, 200, path);
		pages++;
		json_array_foreach(json_object_get(h.json, "value"), i, u) {
			assert_null(json_object_get(seen, jstr(u, "id")));
			json_object_set_new(seen, jstr(u, "id"), json_true());
			assert_int_equal(json_object_size(u), 2);
		}
		next = jstr(h.json, "@odata.nextLink");
		if (next == NULL) {
			sim_http_free(&h);
			break;
		}
		assert_non_null(strstr(next, "$skiptoken="));
		assert_non_null(strstr(next, "$top=3"));
		assert_int_equal(json_array_size(json_object_get(h.json, "value")), 3);
		snprintf(path, sizeof(path), "%s", link_path(next) + strlen("/v1.0") - 5);
		sim_http_free(&h);
		assert_true(pages < 5);
	}
	assert_int_equal(pages, 2);
	assert_int_equal(json_object_size(seen), 4);
	json_decref(seen);
}

/* ---- folders ---- */

static void
test_folders(void **state)
{
	struct fx *fx = *state;
	struct sim_http h;
	json_t *f, *r;
	char inbox_id[256], path[1024];
	size_t i;
	int found_inbox = 0;

	r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"one\",\"body\":\"x\"}");
	json_decref(r);
	call(&h, fx, MAILONLY, "/v1.0/users/alice@contoso.com/mailFolders", NULL);
	sim_http_expect(&h, 200, "folders");
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 8);
	json_array_foreach(json_object_get(h.json, "value"), i, f) {
		static const char *const keys[] = { "id", "displayName", "parentFolderId",
		    "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden" };

		for (size_t k = 0; k < N(keys); k++)
			if (json_object_get(f, keys[k]) == NULL)
				fail_msg("folder lacks %s", keys[k]);
		if (strcmp(jstr(f, "displayName"), "Inbox") == 0) {
			found_inbox = 1;
			snprintf(inbox_id, sizeof(inbox_id), "%s", jstr(f, "id"));
			assert_int_equal(json_integer_value(json_object_get(f, "unreadItemCount")), 1);
			assert_int_equal(json_integer_value(json_object_get(f, "totalItemCount")), 1);
		}
	}
	assert_true(found_inbox);
	assert_int_equal(strncmp(inbox_id, "AQMkA", 5), 0);
	sim_http_free(&h);

	{
		static const char *const ways[] = { "/mailFolders/inbox", "/mailFolders/INBOX",
		    "/mailFolders('Inbox')", "/mailfolders('inbox')" };

		for (i = 0; i < N(ways); i++) {
			snprintf(path, sizeof(path), "/v1.0/users/%s%s", fx->alice, ways[i]);
			call(&h, fx, MAILONLY, path, NULL);
			sim_http_expect(&h, 200, path);
			assert_string_equal(jstr(h.json, "id"), inbox_id);
			assert_string_equal(jstr(h.json, "displayName"), "Inbox");
			sim_http_free(&h);
		}
	}
	snprintf(path, sizeof(path), "/v1.0/users/alice@contoso.com/mailFolders/%s", inbox_id);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 200, "inbox by id");
	assert_string_equal(jstr(h.json, "displayName"), "Inbox");
	sim_http_free(&h);

	{
		static const struct {
			const char *path;	/* %s: alice's inbox id */
			enum app app;
			long status;
			const char *code;
		} cases[] = {
			{ "/v1.0/users/alice@contoso.com/mailFolders/sentitems", MAILONLY, 200, NULL },
			{ "/v1.0/users/alice@contoso.com/mailFolders('deleteditems')/messages",
			    BASIC, 200, NULL },
			{ "/v1.0/users/alice@contoso.com/mailFolders/notafolder", MAILONLY, 400,
			    "ErrorInvalidIdMalformed" },
			/* a well-known name this mailbox does not have */
			{ "/v1.0/users/alice@contoso.com/mailFolders/syncissues", MAILONLY, 404,
			    "ErrorItemNotFound" },
			/* alice's inbox id under bob: well-formed but not in his store */
			{ "/v1.0/users/bob@contoso.com/mailFolders/%s", MAILONLY, 404,
			    "ErrorItemNotFound" },
			{ "/v1.0/users/carol@contoso.com/mailFolders", MAILONLY, 404,
			    "MailboxNotEnabledForRESTAPI" },
			{ "/v1.0/users/nobody@contoso.com/mailFolders", MAILONLY, 404,
			    "ErrorInvalidUser" },
			{ "/v1.0/users/alice@contoso.com/mailFolders", DIRONLY, 403,
			    "ErrorAccessDenied" },
			{ "/v1.0/users/alice@contoso.com/mailFolders", NOROLES, 403,
			    "ErrorAccessDenied" },
			{ "/v1.0/users/alice@contoso.com/mailFolders/inbox/bogus", MAILONLY, 400,
			    "BadRequest" },
			{ "/v1.0/me/mailFolders", MAILONLY, 400, "BadRequest" },
		};

		for (i = 0; i < N(cases); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(path, sizeof(path), cases[i].path, inbox_id);
#pragma GCC diagnostic pop
			call(&h, fx, cases[i].app, path, NULL);
			sim_http_expect(&h, cases[i].status, path);
			if (cases[i].code != NULL && strcmp(error_code(&h), cases[i].code) != 0)
				fail_msg("%s: code %s want %s", path, error_code(&h), cases[i].code);
			sim_http_free(&h);
		}
	}
}

/* ---- message lists ---- */

static void
test_message_lists(void **state)
{
	static const struct {
		const char *query;	/* after .../mailFolders/inbox/messages */
		long status;
		const char *code;
		int count;		/* values on the page */
		int has_next;
		const char *first;	/* subject of the first value, or NULL */
	} cases[] = {
		{ "", 200, NULL, 10, 1, "m 14" },			/* newest first */
		{ "?$top=5", 200, NULL, 5, 1, "m 14" },
		{ "?$top=15", 200, NULL, 15, 0, "m 14" },
		{ "?$top=1000", 200, NULL, 15, 0, NULL },
		{ "?$skip=10", 200, NULL, 5, 0, "m 4" },
		{ "?$orderby=receivedDateTime%20asc", 200, NULL, 10, 1, "m 0" },
		{ "?$orderby=receivedDateTime%20desc&$top=2", 200, NULL, 2, 1, "m 14" },
		{ "?$filter=receivedDateTime%20ge%202024-05-01T08:10:00Z", 200, NULL, 5, 0,
		    "m 14" },
		{ "?$filter=receivedDateTime%20ge%202024-05-01T08:10:00Z%20and%20"
		    "receivedDateTime%20lt%202024-05-01T08:12:00Z&$orderby=receivedDateTime",
		    200, NULL, 2, 0, "m 10" },
		{ "?$filter=receivedDateTime%20gt%202024-05-01T10:10:00%2B02:00", 200, NULL, 4, 0,
		    "m 14" },
		{ "?$filter=isRead%20eq%20false&$top=100", 200, NULL, 15, 0, NULL },
		{ "?$filter=subject%20eq%20'm%203'", 200, NULL, 1, 0, "m 3" },
		{ "?$select=subject", 200, NULL, 10, 1, "m 14" },
		/* rejected */
		{ "?$top=0", 400, "BadRequest", 0, 0, NULL },
		{ "?$top=1001", 400, "BadRequest", 0, 0, NULL },
		{ "?$skip=-1", 400, "BadRequest", 0, 0, NULL },
		{ "?$select=subject,nope", 400, "RequestBroker--ParseUri", 0, 0, NULL },
		{ "?$filter=nope%20eq%20'x'", 400, "RequestBroker--ParseUri", 0, 0, NULL },
		{ "?$filter=receivedDateTime%20ge%20'2024-05-01'", 400,
		    "ErrorInvalidUrlQueryFilter", 0, 0, NULL },
		{ "?$filter=body%20eq%20'x'", 400, "ErrorInvalidUrlQueryFilter", 0, 0, NULL },
		{ "?$orderby=nope", 400, "BadRequest", 0, 0, NULL },
		/* Outlook sorts only on what it filtered on first */
		{ "?$filter=isRead%20eq%20false&$orderby=receivedDateTime%20desc", 400,
		    "InefficientFilter", 0, 0, NULL },
	};
	struct fx *fx = *state;
	char path[1024];

	deliver_many(fx, 15, 0, "m");
	for (size_t i = 0; i < N(cases); i++) {
		struct sim_http h;
		json_t *value, *first;

		snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages%s",
		    fx->alice, cases[i].query);
		call(&h, fx, MAILONLY, path, NULL);
		sim_http_expect(&h, cases[i].status, path);
		if (cases[i].code != NULL) {
			if (strcmp(error_code(&h), cases[i].code) != 0)
				fail_msg("%s: code %s want %s", path, error_code(&h), cases[i].code);
			sim_http_free(&h);
			continue;
		}
		value = json_object_get(h.json, "value");
		first = json_array_get(value, 0);
		if ((int)json_array_size(value) != cases[i].count)
			fail_msg("%s: %zu values want %d", path, json_array_size(value),
			    cases[i].count);
		if ((json_object_get(h.json, "@odata.nextLink") != NULL) != cases[i].has_next)
			fail_msg("%s: nextLink %s", path, jstr(h.json, "@odata.nextLink"));
		if (cases[i].first != NULL && strcmp(jstr(first, "subject"), cases[i].first) != 0)
			fail_msg("%s: first %s want %s", path, jstr(first, "subject"),
			    cases[i].first);
		if (strstr(cases[i].query, "$select=subject") != NULL) {
			/* id, subject and the etag only */
			assert_int_equal(json_object_size(first), 3);
			assert_non_null(json_object_get(first, "@odata.etag"));
		}
		sim_http_free(&h);
	}

	/* nextLink is absolute, keeps the options and pages with $skip */
	{
		struct sim_http h;
		const char *next;

		snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages?$top=6&"
		    "$select=subject", fx->alice);
		call(&h, fx, MAILONLY, path, NULL);
		next = jstr(h.json, "@odata.nextLink");
		assert_non_null(next);
		assert_int_equal(strncmp(next, fx->p.base_url, strlen(fx->p.base_url)), 0);
		assert_non_null(strstr(next, "$skip=6"));
		snprintf(path, sizeof(path), "%s", link_path(next));
		sim_http_free(&h);
		call(&h, fx, MAILONLY, path, NULL);
		sim_http_expect(&h, 200, path);
		assert_string_equal(jstr(json_array_get(json_object_get(h.json, "value"), 0),
		    "subject"), "m 8");
		sim_http_free(&h);
	}

	/* /messages spans folders: bob has 15 in Sent Items */
	{
		struct sim_http h;

		call(&h, fx, MAILONLY, "/v1.0/users/bob@contoso.com/messages?$top=100", NULL);
		sim_http_expect(&h, 200, "bob messages");
		assert_int_equal(json_array_size(json_object_get(h.json, "value")), 15);
		sim_http_free(&h);
		call(&h, fx, MAILONLY, "/v1.0/users/bob@contoso.com/mailFolders/inbox/messages",
		    NULL);
		assert_int_equal(json_array_size(json_object_get(h.json, "value")), 0);
		sim_http_free(&h);
	}
}

/* ---- one message ---- */

static void
test_message_read(void **state)
{
	static const char *const fields[] = { "@odata.etag", "id", "createdDateTime",
	    "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
	    "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
	    "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
	    "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification",
	    "body", "sender", "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo",
	    "flag" };
	struct fx *fx = *state;
	struct sim_http h;
	json_t *r, *hdrs, *v;
	char path[1024], longbody[1200];
	const char *id, *content;
	size_t i;
	int saw_custom = 0, saw_msgid = 0;

	memset(longbody, 'w', 600);
	longbody[600] = '\0';
	r = deliver(fx, "{\"from\":\"Bob Brown <bob@contoso.com>\",\"to\":[\"alice@contoso.com\"],"
	    "\"cc\":[{\"name\":\"Ext\",\"address\":\"ext@fabrikam.com\"}],\"subject\":\"Quarterly\","
	    "\"body\":\"<html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p>"
	    "<p>%s</p></body></html>\",\"headers\":{\"X-Olsync-Test\":\"42\"},"
	    "\"date\":\"2024-05-24T12:52:15Z\",\"internetMessageId\":\"<q1@contoso.com>\"}",
	    longbody);
	id = copy_id(r, "alice@contoso.com", "inbox", 0);
	assert_int_equal(strncmp(id, "AAMkA", 5), 0);
	assert_true(strlen(id) > 100);
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, id);

	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 200, "message");
	for (i = 0; i < N(fields); i++)
		if (json_object_get(h.json, fields[i]) == NULL)
			fail_msg("message lacks %s", fields[i]);
	assert_null(json_object_get(h.json, "internetMessageHeaders"));
	assert_string_equal(jstr(h.json, "id"), id);
	assert_string_equal(jstr(h.json, "receivedDateTime"), "2024-05-24T12:52:15Z");
	assert_string_equal(jstr(h.json, "internetMessageId"), "<q1@contoso.com>");
	assert_string_equal(jstr(json_object_get(h.json, "body"), "contentType"), "html");
	assert_string_equal(jstr(json_object_get(json_object_get(h.json, "from"),
	    "emailAddress"), "name"), "Bob Brown");
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(h.json,
	    "toRecipients"), 0), "emailAddress"), "name"), "Alice Adams");
	assert_int_equal(json_array_size(json_object_get(h.json, "ccRecipients")), 1);
	assert_int_equal(json_array_size(json_object_get(h.json, "bccRecipients")), 0);
	assert_string_equal(jstr(json_object_get(h.json, "flag"), "flagStatus"), "notFlagged");
	assert_int_equal(strncmp(jstr(h.json, "bodyPreview"), "Hello & welcome www", 19), 0);
	assert_int_equal(strlen(jstr(h.json, "bodyPreview")), 255);
	assert_null(sim_http_header(&h, "Preference-Applied"));
	sim_http_free(&h);

	/* body as text, and the preference echoed */
	call(&h, fx, MAILONLY, path, "Prefer: outlook.body-content-type=\"text\"");
	sim_http_expect(&h, 200, "text body");
	assert_string_equal(jstr(json_object_get(h.json, "body"), "contentType"), "text");
	content = jstr(json_object_get(h.json, "body"), "content");
	assert_int_equal(strncmp(content, "Hello & welcome", 15), 0);
	assert_null(strchr(content, '<'));
	assert_null(strstr(content, "p{}"));
	assert_non_null(sim_http_header(&h, "Preference-Applied"));
	assert_non_null(strstr(sim_http_header(&h, "Preference-Applied"),
	    "outlook.body-content-type=\"text\""));
	sim_http_free(&h);

	/* internetMessageHeaders only when selected */
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s?$select=internetMessageHeaders,"
	    "subject", fx->alice, id);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 200, "headers");
	hdrs = json_object_get(h.json, "internetMessageHeaders");
	assert_true(json_is_array(hdrs));
	json_array_foreach(hdrs, i, v) {
		if (strcmp(jstr(v, "name"), "X-Olsync-Test") == 0 &&
		    strcmp(jstr(v, "value"), "42") == 0)
			saw_custom = 1;
		if (strcasecmp(jstr(v, "name"), "Message-ID") == 0 &&
		    strcmp(jstr(v, "value"), "<q1@contoso.com>") == 0)
			saw_msgid = 1;
	}
	assert_true(saw_custom);
	assert_true(saw_msgid);
	assert_null(json_object_get(h.json, "body"));
	sim_http_free(&h);

	/* Mail.ReadBasic.All: no body, no preview */
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, id);
	call(&h, fx, BASIC, path, NULL);
	sim_http_expect(&h, 200, "basic");
	assert_null(json_object_get(h.json, "body"));
	assert_null(json_object_get(h.json, "bodyPreview"));
	assert_string_equal(jstr(h.json, "subject"), "Quarterly");
	sim_http_free(&h);

	/* ids: malformed, unknown, another mailbox's */
	{
		char other[1024];
		const char *bob_copy = copy_id(r, "alice@contoso.com", "inbox", 1);
		const struct {
			const char *path;
			long status;
			const char *code;
		} cases[] = {
			{ "/v1.0/users/alice@contoso.com/messages/not-an-id", 400,
			    "ErrorInvalidIdMalformed" },
			{ "/v1.0/users/alice@contoso.com/messages/AAMkAAAA", 400,
			    "ErrorInvalidIdMalformed" },
			{ other, 404, "ErrorItemNotFound" },
		};

		/* alice's immutable id asked of bob's mailbox */
		snprintf(other, sizeof(other), "/v1.0/users/bob@contoso.com/messages/%s", bob_copy);
		for (i = 0; i < N(cases); i++) {
			call(&h, fx, MAILONLY, cases[i].path, NULL);
			sim_http_expect(&h, cases[i].status, cases[i].path);
			assert_string_equal(error_code(&h), cases[i].code);
			if (cases[i].status == 404)
				assert_string_equal(jstr(json_object_get(h.json, "error"), "message"),
				    "The specified object was not found in the store.");
			sim_http_free(&h);
		}
	}
	json_decref(r);
}

/* ---- delivery ---- */

static void
test_delivery(void **state)
{
	static const char *const rejected[] = {
		"{}",
		"{\"to\":[\"alice@contoso.com\"]}",				/* no from */
		"{\"from\":\"not an address\",\"to\":[\"alice@contoso.com\"]}",
		"{\"from\":\"bob@contoso.com\",\"to\":[\"alice\"]}",
		"{\"from\":\"bob@contoso.com\",\"to\":[42]}",
		"{\"from\":\"bob@contoso.com\",\"to\":\"alice@contoso.com\",\"date\":\"yesterday\"}",
		"{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],\"bodyType\":\"rtf\"}",
		"{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],\"headers\":[1]}",
		"{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],\"importance\":\"x\"}",
		"{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
		"\"sensitivity\":\"secret\"}",
		/* nobody in the tenant sends or receives it */
		"{\"from\":\"x@fabrikam.com\",\"to\":[\"y@fabrikam.com\"]}",
		/* carol has no mailbox */
		"{\"from\":\"x@fabrikam.com\",\"to\":[\"carol@contoso.com\"]}",
	};
	struct fx *fx = *state;
	struct sim_http h;
	json_t *r, *copies;
	char path[1024];
	const char *imid;
	size_t i;

	for (i = 0; i < N(rejected); i++) {
		sim_http_do(&h, fx->p.base_url, "POST", "/_sim/mail", rejected[i], NULL, NULL);
		if (h.status != 400)
			fail_msg("%s: %ld, want 400", rejected[i], h.status);
		sim_http_free(&h);
	}
	/* nothing half-delivered by the refusals */
	call(&h, fx, MAILONLY, "/v1.0/users/alice@contoso.com/messages", NULL);
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 0);
	sim_http_free(&h);

	r = deliver(fx, "{\"from\":\"alice@contoso.com\",\"to\":[\"bob@contoso.com\","
	    "\"ext@fabrikam.com\"],\"cc\":[\"david@contoso.com\"],\"bcc\":[\"alice@contoso.com\"],"
	    "\"subject\":\"Plan\",\"body\":\"plain text\",\"sensitivity\":\"private\"}");
	copies = json_object_get(r, "copies");
	/* alice (sent + bcc inbox), bob, dave (by his mail address) */
	assert_int_equal(json_array_size(copies), 4);
	imid = jstr(r, "internetMessageId");
	assert_true(imid[0] == '<' && strstr(imid, "@contoso.com>") != NULL);
	{
		static const struct {
			const char *user, *folder;
			int is_read, bcc;
		} want[] = {
			{ "alice@contoso.com", "sentitems", 1, 1 },
			{ "alice@contoso.com", "inbox", 0, 0 },
			{ "bob@contoso.com", "inbox", 0, 0 },
			{ "dave@contoso.com", "inbox", 0, 0 },
		};
		const char *conv = NULL;

		for (i = 0; i < N(want); i++) {
			snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s?$select=isRead,"
			    "internetMessageId,conversationId,bccRecipients,parentFolderId,body,"
			    "internetMessageHeaders", want[i].user,
			    copy_id(r, want[i].user, want[i].folder, 0));
			call(&h, fx, MAILONLY, path, NULL);
			sim_http_expect(&h, 200, path);
			assert_int_equal(json_is_true(json_object_get(h.json, "isRead")),
			    want[i].is_read);
			assert_string_equal(jstr(h.json, "internetMessageId"), imid);
			if (conv == NULL)
				conv = jstr(r, "conversationId");
			assert_string_equal(jstr(h.json, "conversationId"), conv);
			assert_int_equal(json_array_size(json_object_get(h.json, "bccRecipients")),
			    (size_t)want[i].bcc);
			/* stored as text, shown as HTML by default */
			assert_non_null(strstr(jstr(json_object_get(h.json, "body"), "content"),
			    "plain text"));
			assert_string_equal(jstr(json_object_get(h.json, "body"), "contentType"),
			    "html");
			{
				char *dump = json_dumps(json_object_get(h.json,
				    "internetMessageHeaders"), 0);

				assert_non_null(strstr(dump, "\"Sensitivity\""));
				free(dump);
			}
			sim_http_free(&h);
		}
	}
	json_decref(r);
}

/* ---- delta ---- */

struct round {
	json_t *items;			/* every value of every page */
	int pages;
	char delta_link[1024];		/* path of the final deltaLink */
};

/* Follows a delta round from path to its deltaLink, checking the paging rules. */
static void
delta_round(struct fx *fx, enum app app, const char *path, const char *prefer,
    struct round *out, int max_pages)
{
	char next[2048];

	memset(out, 0, sizeof(*out));
	out->items = json_array();
	snprintf(next, sizeof(next), "%s", path);
	for (;;) {
		struct sim_http h;
		const char *nl, *dl, *pa;

		call(&h, fx, app, next, prefer);
		sim_http_expect(&h, 200, next);
		out->pages++;
		if (out->pages > max_pages)
			fail_msg("more than %d pages", max_pages);
		pa = sim_http_header(&h, "Preference-Applied");
		if (pa == NULL || strstr(pa, "odata.track-changes") == NULL)
			fail_msg("Preference-Applied: %s", pa ? pa : "(none)");
		assert_non_null(strstr(jstr(h.json, "@odata.context"), "Collection(message)"));
		json_array_extend(out->items, json_object_get(h.json, "value"));
		nl = jstr(h.json, "@odata.nextLink");
		dl = jstr(h.json, "@odata.deltaLink");
		if ((nl == NULL) == (dl == NULL))
			fail_msg("page %d: nextLink %s deltaLink %s (exactly one)", out->pages,
			    nl, dl);
		if (nl != NULL) {
			assert_non_null(strstr(nl, "/messages/delta?$skiptoken="));
			snprintf(next, sizeof(next), "%s", link_path(nl));
			sim_http_free(&h);
			continue;
		}
		assert_non_null(strstr(dl, "/messages/delta?$deltatoken="));
		snprintf(out->delta_link, sizeof(out->delta_link), "%s", link_path(dl));
		sim_http_free(&h);
		return;
	}
}

static json_t *
find_item(json_t *items, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(items, i, v)
		if (strcmp(jstr(v, "id"), id) == 0)
			return v;
	return NULL;
}

static int
is_removed(json_t *item)
{
	const char *reason = jstr(json_object_get(item, "@removed"), "reason");
	const char *type = jstr(item, "@odata.type");

	return reason != NULL && strcmp(reason, "deleted") == 0 && type != NULL &&
	    strcmp(type, "#microsoft.graph.message") == 0 && json_object_size(item) == 3;
}

static void
test_delta_paging_and_rounds(void **state)
{
	struct fx *fx = *state;
	struct round rd;
	struct sim_http h;
	json_t *r, *ids = json_object(), *v, *item;
	char path[4096], body[1024];
	const char *id;
	size_t i;

	deliver_many(fx, 25, 0, "d");
	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders('inbox')/messages/delta",
	    fx->alice);
	/* 25 messages, 10 a page: 10 + 10 + 5 */
	delta_round(fx, MAILONLY, path, "Prefer: odata.maxpagesize=10", &rd, 10);
	assert_int_equal(rd.pages, 3);
	assert_int_equal(json_array_size(rd.items), 25);
	json_array_foreach(rd.items, i, v) {
		assert_null(json_object_get(ids, jstr(v, "id")));
		json_object_set_new(ids, jstr(v, "id"), json_true());
		assert_non_null(json_object_get(v, "subject"));
	}
	json_decref(ids);
	json_decref(rd.items);

	/* the header is echoed with its value */
	call(&h, fx, MAILONLY, path, "Prefer: odata.maxpagesize=7");
	assert_non_null(strstr(sim_http_header(&h, "Preference-Applied"),
	    "odata.maxpagesize=7"));
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 7);
	/* a later page without the header keeps the round's page size */
	{
		char next[1024];

		snprintf(next, sizeof(next), "%s", link_path(jstr(h.json, "@odata.nextLink")));
		sim_http_free(&h);
		call(&h, fx, MAILONLY, next, NULL);
		sim_http_expect(&h, 200, next);
		assert_int_equal(json_array_size(json_object_get(h.json, "value")), 7);
	}
	sim_http_free(&h);
	/* default page size: 10 */
	call(&h, fx, MAILONLY, path, NULL);
	assert_int_equal(json_array_size(json_object_get(h.json, "value")), 10);
	sim_http_free(&h);

	/* a full round, then nothing new: an empty page with a deltaLink */
	delta_round(fx, MAILONLY, path, "Prefer: odata.maxpagesize=100", &rd, 3);
	assert_int_equal(rd.pages, 1);
	assert_int_equal(json_array_size(rd.items), 25);
	json_decref(rd.items);
	snprintf(path, sizeof(path), "%s", rd.delta_link);
	delta_round(fx, MAILONLY, path, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 0);
	json_decref(rd.items);
	snprintf(path, sizeof(path), "%s", rd.delta_link);

	/* new mail appears, in full */
	r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"fresh\",\"body\":\"b\"}");
	id = copy_id(r, "alice@contoso.com", "inbox", 0);
	delta_round(fx, MAILONLY, path, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	item = find_item(rd.items, id);
	assert_non_null(item);
	assert_string_equal(jstr(item, "subject"), "fresh");
	assert_non_null(json_object_get(item, "from"));
	json_decref(rd.items);
	snprintf(path, sizeof(path), "%s", rd.delta_link);

	/* a read-state change comes back as the updated message */
	snprintf(body, sizeof(body), "/v1.0/users/%s/messages/%s", fx->alice, id);
	call_method(&h, fx, WRITER, "PATCH", body, "{\"isRead\":true}");
	sim_http_expect(&h, 200, "patch");
	assert_true(json_is_true(json_object_get(h.json, "isRead")));
	sim_http_free(&h);
	call_method(&h, fx, MAILONLY, "PATCH", body, "{\"isRead\":false}");
	sim_http_expect(&h, 403, "patch without Mail.ReadWrite");
	assert_string_equal(error_code(&h), "ErrorAccessDenied");
	sim_http_free(&h);
	delta_round(fx, MAILONLY, path, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	assert_true(json_is_true(json_object_get(find_item(rd.items, id), "isRead")));
	json_decref(rd.items);

	/* a token replays: the same deltaLink gives the same answer */
	delta_round(fx, MAILONLY, path, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	json_decref(rd.items);
	json_decref(r);
}

static void
test_delta_move_and_ids(void **state)
{
	struct fx *fx = *state;
	struct round inbox_rd, archive_rd, rd;
	struct sim_http h;
	json_t *r, *moved, *item;
	char inbox[1024], archive[1024], inbox_imm[1024], path[4096], old_id[256], imm_id[256];
	char new_id[256];

	r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"to move\",\"body\":\"b\"}");
	snprintf(old_id, sizeof(old_id), "%s", copy_id(r, "alice@contoso.com", "inbox", 0));
	snprintf(imm_id, sizeof(imm_id), "%s", copy_id(r, "alice@contoso.com", "inbox", 1));
	assert_int_equal(strncmp(imm_id, "AAkALg", 6), 0);
	assert_string_not_equal(old_id, imm_id);

	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages/delta", fx->alice);
	delta_round(fx, MAILONLY, path, NULL, &inbox_rd, 3);
	assert_non_null(find_item(inbox_rd.items, old_id));
	delta_round(fx, MAILONLY, path, IMMUTABLE, &rd, 3);
	assert_non_null(find_item(rd.items, imm_id));	/* ids follow Prefer IdType */
	assert_null(find_item(rd.items, old_id));
	snprintf(inbox_imm, sizeof(inbox_imm), "%s", rd.delta_link);
	json_decref(rd.items);
	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/archive/messages/delta",
	    fx->alice);
	delta_round(fx, MAILONLY, path, NULL, &archive_rd, 3);
	assert_int_equal(json_array_size(archive_rd.items), 0);
	snprintf(inbox, sizeof(inbox), "%s", inbox_rd.delta_link);
	snprintf(archive, sizeof(archive), "%s", archive_rd.delta_link);
	json_decref(inbox_rd.items);
	json_decref(archive_rd.items);

	snprintf(path, sizeof(path), "/_sim/mail/alice@contoso.com/%s/move", old_id);
	control(fx, "POST", path, "{\"folder\":\"archive\"}", 200, &moved);
	snprintf(new_id, sizeof(new_id), "%s", jstr(moved, "id"));
	assert_string_not_equal(new_id, old_id);		/* default id changes */
	assert_string_equal(jstr(moved, "immutableId"), imm_id);	/* immutable does not */
	json_decref(moved);

	/* old folder: @removed with the id it had there */
	delta_round(fx, MAILONLY, inbox, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	assert_true(is_removed(find_item(rd.items, old_id)));
	json_decref(rd.items);
	delta_round(fx, MAILONLY, inbox_imm, IMMUTABLE, &rd, 3);
	assert_true(is_removed(find_item(rd.items, imm_id)));
	json_decref(rd.items);
	/* new folder: the message, with its new id */
	delta_round(fx, MAILONLY, archive, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	item = find_item(rd.items, new_id);
	assert_non_null(item);
	assert_false(is_removed(item));
	assert_string_equal(jstr(item, "subject"), "to move");
	json_decref(rd.items);

	/* GET by the stale default id: gone; by the new one or the immutable one: found */
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, old_id);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 404, "stale id");
	assert_string_equal(error_code(&h), "ErrorItemNotFound");
	sim_http_free(&h);
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, new_id);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 200, "new id");
	sim_http_free(&h);
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, imm_id);
	call(&h, fx, MAILONLY, path, IMMUTABLE);
	sim_http_expect(&h, 200, "immutable id");
	assert_string_equal(jstr(h.json, "id"), imm_id);
	sim_http_free(&h);

	/* delete: @removed in its folder's next round */
	snprintf(archive, sizeof(archive), "%s", rd.delta_link);
	snprintf(path, sizeof(path), "/_sim/mail/%s/%s", fx->alice, imm_id);
	control(fx, "DELETE", path, NULL, 200, NULL);
	delta_round(fx, MAILONLY, archive, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	assert_true(is_removed(find_item(rd.items, new_id)));
	json_decref(rd.items);
	snprintf(path, sizeof(path), "/v1.0/users/%s/messages/%s", fx->alice, imm_id);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 404, "deleted");
	sim_http_free(&h);
	json_decref(r);
}

static void
test_delta_gone(void **state)
{
	struct fx *fx = *state;
	struct round rd;
	struct sim_http h;
	char path[1024], fresh[1024], bogus[4096];
	const char *loc;

	deliver_many(fx, 3, 0, "g");
	snprintf(fresh, sizeof(fresh), "/v1.0/users/%s/mailFolders/inbox/messages/delta",
	    fx->alice);
	snprintf(bogus, sizeof(bogus), "%s?$deltatoken=bogus", fresh);
	call(&h, fx, MAILONLY, bogus, NULL);
	sim_http_expect(&h, 410, "bogus token");
	assert_string_equal(error_code(&h), "SyncStateNotFound");
	assert_non_null(strstr(jstr(json_object_get(h.json, "error"), "message"),
	    "The sync state generation is not found; generation="));
	loc = sim_http_header(&h, "Location");
	assert_non_null(loc);
	assert_string_equal(link_path(loc), fresh);
	sim_http_free(&h);
	snprintf(bogus, sizeof(bogus), "%s?$skiptoken=bogus", fresh);
	call(&h, fx, MAILONLY, bogus, NULL);
	sim_http_expect(&h, 410, "bogus skiptoken");
	sim_http_free(&h);

	/* a token of another folder does not resume this one */
	delta_round(fx, MAILONLY, fresh, NULL, &rd, 3);
	json_decref(rd.items);
	snprintf(path, sizeof(path), "%s", strchr(rd.delta_link, '?'));
	snprintf(bogus, sizeof(bogus), "/v1.0/users/%s/mailFolders/archive/messages/delta%s",
	    fx->alice, path);
	call(&h, fx, MAILONLY, bogus, NULL);
	sim_http_expect(&h, 410, "another folder's token");
	sim_http_free(&h);

	/* expired through the control API: 410 and a Location to start over */
	snprintf(path, sizeof(path), "%s", rd.delta_link);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 200, "live token");
	sim_http_free(&h);
	control(fx, "POST", "/_sim/delta/expire", "{\"token\":null}", 200, NULL);
	call(&h, fx, MAILONLY, path, NULL);
	sim_http_expect(&h, 410, "expired token");
	assert_string_equal(error_code(&h), "SyncStateNotFound");
	assert_string_equal(link_path(sim_http_header(&h, "Location")), fresh);
	sim_http_free(&h);
	/* starting over works */
	delta_round(fx, MAILONLY, fresh, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 3);
	json_decref(rd.items);
}

static void
test_delta_options(void **state)
{
	static const struct {
		const char *query;
		long status;
		const char *code;
	} rejected[] = {
		{ "?$filter=receivedDateTime%20lt%202024-05-01T08:05:00Z", 400,
		    "ErrorInvalidUrlQueryFilter" },
		{ "?$filter=subject%20eq%20'x'", 400, "ErrorInvalidUrlQueryFilter" },
		{ "?$orderby=receivedDateTime%20asc", 400, "ErrorInvalidUrlQuery" },
		{ "?changeType=moved", 400, "ErrorInvalidUrlQuery" },
		{ "?$select=nope", 400, "RequestBroker--ParseUri" },
		{ "?$search=hello", 400, "ErrorInvalidUrlQuery" },
	};
	struct fx *fx = *state;
	struct round rd;
	struct sim_http h;
	json_t *v, *r;
	char path[1024], next[4096];
	size_t i;

	deliver_many(fx, 10, 0, "f");		/* 08:00 .. 08:09 */
	for (i = 0; i < N(rejected); i++) {
		snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages/delta%s",
		    fx->alice, rejected[i].query);
		call(&h, fx, MAILONLY, path, NULL);
		sim_http_expect(&h, rejected[i].status, path);
		assert_string_equal(error_code(&h), rejected[i].code);
		sim_http_free(&h);
	}

	/* receivedDateTime ge: only the newer ones, now and in later rounds */
	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages/delta?"
	    "$filter=receivedDateTime%%20ge%%202024-05-01T08:06:00Z&$select=subject,"
	    "receivedDateTime", fx->alice);
	delta_round(fx, MAILONLY, path, "Prefer: odata.maxpagesize=3", &rd, 5);
	assert_int_equal(json_array_size(rd.items), 4);	/* 08:06 .. 08:09 */
	assert_int_equal(rd.pages, 2);
	json_array_foreach(rd.items, i, v) {
		assert_true(strcmp(jstr(v, "receivedDateTime"), "2024-05-01T08:06:00Z") >= 0);
		/* $select: id, subject, receivedDateTime and the etag */
		assert_int_equal(json_object_size(v), 4);
	}
	json_decref(rd.items);
	snprintf(next, sizeof(next), "%s", rd.delta_link);
	r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"old\",\"date\":\"2024-04-01T00:00:00Z\"}");
	json_decref(r);
	r = deliver(fx, "{\"from\":\"bob@contoso.com\",\"to\":[\"alice@contoso.com\"],"
	    "\"subject\":\"new\",\"date\":\"2024-06-01T00:00:00Z\"}");
	json_decref(r);
	delta_round(fx, MAILONLY, next, NULL, &rd, 3);
	assert_int_equal(json_array_size(rd.items), 1);
	v = json_array_get(rd.items, 0);
	assert_string_equal(jstr(v, "subject"), "new");
	assert_int_equal(json_object_size(v), 4);	/* the token kept $select */
	json_decref(rd.items);

	/* changeType=created on the first request: the round lists what exists */
	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages/delta?"
	    "changeType=created", fx->alice);
	delta_round(fx, MAILONLY, path, "Prefer: odata.maxpagesize=50", &rd, 3);
	assert_int_equal(json_array_size(rd.items), 12);
	json_decref(rd.items);
	/* Mail.ReadBasic.All may read the delta too */
	snprintf(path, sizeof(path), "/v1.0/users/%s/mailFolders/inbox/messages/delta",
	    fx->alice);
	call(&h, fx, BASIC, path, NULL);
	sim_http_expect(&h, 200, "basic delta");
	sim_http_free(&h);
	call(&h, fx, DIRONLY, path, NULL);
	sim_http_expect(&h, 403, "delta without mail role");
	assert_string_equal(error_code(&h), "ErrorAccessDenied");
	sim_http_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_shape_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_paging_and_rounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_move_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_options, setup, teardown),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
