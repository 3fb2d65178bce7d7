/* test_graph_client.c: olsync's Graph client (src/graph_client.c) against the real graph-sim:
 * tokens with a secret and a certificate, the delegated-only pitfall, delta paging, new mail
 * through the deltaLink, moves as @removed, 410 on an expired token, every failure class from
 * scripted faults, token renewal, calendarView delta (occurrences, responses, cancellations,
 * times in UTC, the request as sent), the mailboxes to watch, and change-notification
 * subscriptions (created, listed, renewed, deleted, refused, faulted) whose notifications reach
 * a real webhook (hook_server). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "graph_client.h"
#include "graph_fixture.h"
#include "hook_server.h"
#include "httpc.h"
#include "httpd.h"
#include "mono.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define TID		"11111111-2222-4333-8444-555555555555"
#define DOMAIN		"contoso.onmicrosoft.com"
#define APP		"aaaaaaaa-0000-4000-8000-000000000001"	/* secret + certificate, roles */
#define DELEGATED	"aaaaaaaa-0000-4000-8000-000000000002"	/* scopes only */
#define SECRET		"Qw8~client secret&value=1"	/* needs form encoding */
#define ALICE		"alice@" DOMAIN
#define BOB		"bob@" DOMAIN
#define CAROL		"carol@" DOMAIN
#define NOBOX		"nobox@" DOMAIN
#define SINCE		1704067200	/* 2024-01-01T00:00:00Z */
#define GROUP		"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"	/* Carol, nobox, Bob */
#define NO_GROUP	"0b1c2d3e-4f50-4617-8293-000000000000"
/* APP's application permissions: GroupMember.Read.All for "mailboxes group:" */
#define APP_ROLES	"\"Mail.Read\",\"User.Read.All\",\"Calendars.Read\"," \
	"\"GroupMember.Read.All\""

static struct sim_proc sim;
static char tmpdir[PATH_MAX];
static char *cert_path;		/* identity 0: registered on APP */
static char *other_cert_path;	/* identity 1: not registered */
static struct hook_server *hook;	/* the webhook subscriptions point at */

/* The tenant every test starts from; roles is APP's "roles" array without brackets. */
static char *
seed_text(const char *roles)
{
	char *cert, *certjson, *seed;
	json_t *cs;

	testkeys_pem(0, NULL, &cert);
	cs = json_string(cert);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	seed = xasprintf("{\"tenant\":{\"id\":\"" TID "\",\"domain\":\"" DOMAIN "\"},"
	    "\"apps\":["
	    "{\"clientId\":\"" APP "\",\"secret\":\"" SECRET "\",\"certificate\":%s,"
	    "\"roles\":[%s]},"
	    "{\"clientId\":\"" DELEGATED "\",\"secret\":\"deleg-secret\",\"roles\":[],"
	    "\"scopes\":[\"Mail.Read\",\"User.Read.All\"]}],"
	    "\"users\":[{\"userPrincipalName\":\"" ALICE "\"},"
	    "{\"userPrincipalName\":\"" BOB "\"},"
	    "{\"userPrincipalName\":\"Carol@" DOMAIN "\",\"mail\":\"carol@contoso.com\"},"
	    "{\"userPrincipalName\":\"" NOBOX "\",\"hasMailbox\":false}],"
	    "\"groups\":[{\"id\":\"" GROUP "\",\"displayName\":\"Sales\","
	    "\"members\":[\"Carol@" DOMAIN "\",\"" NOBOX "\",\"" BOB "\"]}]}", certjson, roles);
	free(cert);
	free(certjson);
	return seed;
}

static int
group_setup(void **state)
{
	char tmpl[] = "/tmp/graph-client-XXXXXX";
	char *key_pem;

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	testkeys_write(0, tmpdir, NULL, &cert_path);
	testkeys_write(1, tmpdir, NULL, &other_cert_path);
	testkeys_pem(0, &key_pem, NULL);
	setenv("OLTEST_GRAPH_KEY0", key_pem, 1);
	free(key_pem);
	testkeys_pem(1, &key_pem, NULL);
	setenv("OLTEST_GRAPH_KEY1", key_pem, 1);
	setenv("OLTEST_SF_KEY", key_pem, 1);
	free(key_pem);
	setenv("OLTEST_GRAPH_SECRET", SECRET, 1);
	setenv("OLTEST_WRONG_SECRET", "not-the-secret", 1);
	setenv("OLTEST_DELEG_SECRET", "deleg-secret", 1);
	log_init("test_graph_client", LOG_LEVEL_WARN);
	if ((hook = hook_server_start()) == NULL)
		return -1;
	return graph_fixture_start(&sim, NULL, NULL, NULL);
}

static int
group_teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(cert_path);
	free(other_cert_path);
	hook_server_stop(hook);
	return graph_fixture_stop(&sim);
}

/* Every test starts from the same tenant, settings and an empty fault table. */
static int
setup(void **state)
{
	char *seed = seed_text(APP_ROLES);

	(void)state;
	json_decref(graph_fixture_reseed(&sim, seed));
	free(seed);
	return 0;
}

enum auth { AUTH_SECRET, AUTH_WRONG_SECRET, AUTH_DELEGATED, AUTH_CERT, AUTH_OTHER_CERT };

/* A configuration for graph-sim; mailboxes is the value of the "mailboxes" line; Graph is
 * at graph_base (NULL: graph-sim's /v1.0), tokens always come from graph-sim. */
static void
make_config_at(struct config *cfg, enum auth auth, const char *mailboxes,
    const char *graph_base)
{
	char simbase[128];

	struct config_errors errs = { 0 };
	const char *cred;
	char *text, *credbuf = NULL;

	switch (auth) {
	case AUTH_SECRET:
		cred = "graph_client_id " APP "\ngraph_client_secret env:OLTEST_GRAPH_SECRET\n";
		break;
	case AUTH_WRONG_SECRET:
		cred = "graph_client_id " APP "\ngraph_client_secret env:OLTEST_WRONG_SECRET\n";
		break;
	case AUTH_DELEGATED:
		cred = "graph_client_id " DELEGATED "\n"
		    "graph_client_secret env:OLTEST_DELEG_SECRET\n";
		break;
	case AUTH_CERT:
		cred = credbuf = xasprintf("graph_client_id " APP "\ngraph_certificate_file %s\n"
		    "graph_private_key env:OLTEST_GRAPH_KEY0\n", cert_path);
		break;
	default:
		cred = credbuf = xasprintf("graph_client_id " APP "\ngraph_certificate_file %s\n"
		    "graph_private_key env:OLTEST_GRAPH_KEY1\n", other_cert_path);
		break;
	}
	snprintf(simbase, sizeof(simbase), "%s/v1.0", sim.base_url);
	text = xasprintf("graph_tenant " TID "\n%s"
	    "graph_base_url %s\ngraph_login_url %s\n"
	    "sf_client_id 3MVG9test\nsf_username olsync@example.com\n"
	    "sf_private_key env:OLTEST_SF_KEY\n"
	    "mailboxes %s\ninternal_domains " DOMAIN "\n"
	    "http_timeout 3s\ndatabase %s/olsync.db\n", cred,
	    graph_base != NULL ? graph_base : simbase, sim.base_url, mailboxes, tmpdir);
	if (config_parse("test.conf", text, strlen(text), tmpdir, cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		fail_msg("the test configuration does not load");
	}
	config_errors_free(&errs);
	free(text);
	free(credbuf);
}

static void
make_config(struct config *cfg, enum auth auth, const char *mailboxes)
{
	make_config_at(cfg, auth, mailboxes, NULL);
}

/* Delivers a mail through the control API; returns the immutable id of the copy in user's
 * folder (caller frees) when user is not NULL. */
static char *
deliver(const char *from, const char *to, const char *date, const char *subject,
    const char *user, const char *folder)
{
	json_t *body, *ans, *copy;
	char *text, *id = NULL;
	size_t i;

	body = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:{s:s}}", "from", from, "to", to,
	    "date", date, "subject", subject, "body", "hello",
	    "headers", "Auto-Submitted", "auto-replied");
	text = json_dumps(body, 0);
	ans = sim_http_ctl(sim.base_url, "POST", "/_sim/mail", text, 201);
	json_array_foreach(json_object_get(ans, "copies"), i, copy) {
		if (user != NULL &&
		    strcmp(json_string_value(json_object_get(copy, "user")), user) == 0 &&
		    strcmp(json_string_value(json_object_get(copy, "folder")), folder) == 0)
			id = xstrdup(json_string_value(json_object_get(copy, "immutableId")));
	}
	if (user != NULL && id == NULL)
		fail_msg("no copy of the mail in %s/%s", user, folder);
	json_decref(ans);
	json_decref(body);
	free(text);
	return id;
}

/* One delta page from link (NULL: from scratch): of folder's messages received since start,
 * or (folder NULL) of the calendar over [start, end). */
static int
page_of(struct graph_client *c, const char *mailbox, const char *folder, time_t start,
    time_t end, const char *link, json_t **items, char **next, char **delta,
    struct remote_failure *f)
{
	if (folder != NULL)
		return graph_client_delta_page(c, mailbox, folder, link, start, items, next, delta,
		    f);
	return graph_client_calendar_delta_page(c, mailbox, link, start, end, items, next,
	    delta, f);
}

/* Reads a whole delta round as page_of does; returns the items of every page, with the page
 * count and the final deltaLink (caller frees). */
static json_t *
round_pages(struct graph_client *c, const char *mailbox, const char *folder, time_t start,
    time_t end, const char *link, int *pages, char **delta_link)
{
	struct remote_failure f;
	json_t *all = json_array(), *items;
	char *next = NULL, *delta = NULL, *cur = link ? xstrdup(link) : NULL;

	*pages = 0;
	for (;;) {
		if (page_of(c, mailbox, folder, start, end, cur, &items, &next, &delta, &f) != 0)
			fail_msg("delta page %d: %s", *pages, f.message);
		assert_int_equal(f.cls, REMOTE_OK);
		assert_true((next == NULL) != (delta == NULL));
		(*pages)++;
		json_array_extend(all, items);
		json_decref(items);
		free(cur);
		cur = next;
		if (delta != NULL)
			break;
		assert_true(*pages < 100);
	}
	*delta_link = delta;
	return all;
}

static json_t *
round_all(struct graph_client *c, const char *mailbox, const char *folder, const char *link,
    int *pages, char **delta_link)
{
	return round_pages(c, mailbox, folder, SINCE, 0, link, pages, delta_link);
}

static void
test_login_secret(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *claims;
	char err[256];

	(void)state;
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(graph_client_login(c, &claims, &f), 0);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_non_null(claims);
	assert_string_equal(json_string_value(json_object_get(claims, "appid")), APP);
	assert_string_equal(json_string_value(json_object_get(claims, "tid")), TID);
	assert_int_equal(json_array_size(json_object_get(claims, "roles")), 4);
	assert_int_equal(graph_client_calls(c), 1);
	json_decref(claims);
	graph_client_free(c);
	config_free(&cfg);

	/* Rejected: a wrong secret is a configuration problem, said clearly. */
	make_config(&cfg, AUTH_WRONG_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(graph_client_login(c, &claims, &f), -1);
	assert_null(claims);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 401);
	assert_string_equal(f.code, "invalid_client");
	assert_non_null(strstr(f.message, "AADSTS7000215"));
	assert_null(strstr(f.message, "not-the-secret"));
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_login_certificate(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *claims;
	char err[256];

	(void)state;
	make_config(&cfg, AUTH_CERT, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	if (graph_client_login(c, &claims, &f) != 0)
		fail_msg("certificate login: %s", f.message);
	assert_string_equal(json_string_value(json_object_get(claims, "appid")), APP);
	/* appidacr 2: the token was got with a certificate, not a secret (reference §1.6). */
	assert_string_equal(json_string_value(json_object_get(claims, "appidacr")), "2");
	json_decref(claims);
	/* The assertion's jti is fresh each time: a second login is not a replay. */
	assert_int_equal(graph_client_login(c, NULL, &f), 0);
	graph_client_free(c);
	config_free(&cfg);

	/* Rejected: a certificate the app registration does not know. */
	make_config(&cfg, AUTH_OTHER_CERT, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(graph_client_login(c, NULL, &f), -1);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_string_equal(f.code, "invalid_client");
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_delegated_only(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *claims, *msgs, *upns;
	char err[256], *next, *delta;

	(void)state;
	make_config(&cfg, AUTH_DELEGATED, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	/* The token endpoint is happy: the flow works without application permissions. */
	assert_int_equal(graph_client_login(c, &claims, &f), 0);
	assert_null(json_object_get(claims, "roles"));
	json_decref(claims);
	assert_int_equal(graph_client_delta_page(c, ALICE, "inbox", NULL, SINCE, &msgs, &next,
	    &delta, &f), -1);
	assert_null(msgs);
	assert_null(next);
	assert_null(delta);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 403);
	assert_string_equal(f.code, "ErrorAccessDenied");
	assert_non_null(strstr(f.message, "application permission Mail.Read (not delegated)"));
	assert_non_null(strstr(f.message, "no roles claim"));
	graph_client_free(c);
	config_free(&cfg);

	/* The same with mailboxes all: the directory names User.Read.All. */
	make_config(&cfg, AUTH_DELEGATED, "all");
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_int_equal(graph_client_mailboxes(c, &upns, &f), -1);
	assert_null(upns);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 403);
	assert_non_null(strstr(f.message, "User.Read.All"));
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_delta_pages(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *all, *m, *msgs;
	char err[256], date[32], subject[32], *delta, *delta2, *next, *ids[25], *new_id;
	int pages;
	size_t i;

	(void)state;
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	graph_client_set_page_size(c, 10);
	for (i = 0; i < 25; i++) {
		snprintf(date, sizeof(date), "2024-05-%02zuT09:00:00Z", i + 1);
		snprintf(subject, sizeof(subject), "Quote %zu", i);
		ids[i] = deliver("Jane Doe <jane@fabrikam.com>", ALICE, date, subject, ALICE,
		    "inbox");
	}
	/* Before the window: never read. */
	free(deliver("jane@fabrikam.com", ALICE, "2023-12-31T23:59:59Z", "old", NULL, NULL));

	all = round_all(c, ALICE, "inbox", NULL, &pages, &delta);
	assert_int_equal(pages, 3);
	assert_int_equal(json_array_size(all), 25);
	assert_non_null(delta);
	assert_non_null(strstr(delta, "$deltatoken="));
	/* Immutable ids, and exactly the selected fields (headers only come when selected). */
	for (size_t k = 0; k < 25; k++) {
		int found = 0;

		json_array_foreach(all, i, m) {
			if (strcmp(json_string_value(json_object_get(m, "id")), ids[k]) == 0)
				found = 1;
		}
		assert_true(found);
	}
	m = json_array_get(all, 0);
	assert_non_null(json_object_get(m, "internetMessageId"));
	assert_non_null(json_object_get(m, "internetMessageHeaders"));
	assert_non_null(json_object_get(m, "bodyPreview"));
	assert_non_null(json_object_get(m, "toRecipients"));
	assert_null(json_object_get(m, "body"));
	assert_null(json_object_get(m, "isRead"));
	json_decref(all);

	/* A new mail comes through the deltaLink, alone. */
	new_id = deliver("jane@fabrikam.com", ALICE, "2024-06-01T10:00:00Z", "New", ALICE,
	    "inbox");
	assert_int_equal(graph_client_delta_page(c, ALICE, "inbox", delta, SINCE, &msgs, &next,
	    &delta2, &f), 0);
	assert_null(next);
	assert_non_null(delta2);
	assert_int_equal(json_array_size(msgs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "id")),
	    new_id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0),
	    "subject")), "New");
	json_decref(msgs);
	free(delta);

	/* Sent Items of the sender is its own folder round. */
	free(deliver("Alice <" ALICE ">", "jane@fabrikam.com", "2024-06-02T10:00:00Z", "Out",
	    NULL, NULL));
	all = round_all(c, ALICE, "sentitems", NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	free(delta);

	for (i = 0; i < 25; i++)
		free(ids[i]);
	free(new_id);
	free(delta2);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_delta_moved(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *all, *msgs, *ans, *m;
	char err[256], *delta, *delta2, *next, *id, *path, *eid;
	int pages;

	(void)state;
	make_config(&cfg, AUTH_SECRET, BOB);
	c = graph_client_new(&cfg, err, sizeof(err));
	id = deliver("jane@fabrikam.com", BOB, "2024-05-01T09:00:00Z", "Move me", BOB, "inbox");
	all = round_all(c, BOB, "inbox", NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);

	eid = httpc_escape(id);
	path = xasprintf("/_sim/mail/" BOB "/%s/move", eid);
	ans = sim_http_ctl(sim.base_url, "POST", path, "{\"folder\":\"archive\"}", 200);
	assert_string_equal(json_string_value(json_object_get(ans, "immutableId")), id);
	json_decref(ans);

	assert_int_equal(graph_client_delta_page(c, BOB, "inbox", delta, SINCE, &msgs, &next,
	    &delta2, &f), 0);
	assert_int_equal(json_array_size(msgs), 1);
	m = json_array_get(msgs, 0);
	assert_non_null(json_object_get(m, "@removed"));
	assert_string_equal(json_string_value(json_object_get(m, "id")), id);
	json_decref(msgs);

	/* The immutable id still reads the message, now in another folder. */
	if (graph_client_message(c, BOB, id, &m, &f) != 0)
		fail_msg("message by immutable id: %s", f.message);
	assert_string_equal(json_string_value(json_object_get(m, "id")), id);
	assert_string_equal(json_string_value(json_object_get(m, "subject")), "Move me");
	assert_non_null(json_object_get(m, "internetMessageHeaders"));
	assert_null(json_object_get(m, "body"));
	json_decref(m);
	/* Rejected: a deleted message (404), and an id that is not one (400). */
	free(path);
	path = xasprintf("/_sim/mail/" BOB "/%s", eid);
	json_decref(sim_http_ctl(sim.base_url, "DELETE", path, NULL, 200));
	assert_int_equal(graph_client_message(c, BOB, id, &m, &f), -1);
	assert_null(m);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 404);
	assert_string_equal(f.code, "ErrorItemNotFound");
	assert_int_equal(graph_client_message(c, BOB, "no such id", &m, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 400);
	free(delta);
	free(delta2);
	free(next);
	free(path);
	free(eid);
	free(id);
	graph_client_free(c);
	config_free(&cfg);
}

/* A round of Alice's (folder as page_of) holding one item, whose deltaLink is then expired:
 * following it is FINAL SyncStateNotFound, and a new round from the window works. */
static void
expect_expired(const char *folder, time_t start, time_t end)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *all, *items, *body, *ans;
	char err[256], *delta, *delta2, *next, *text;
	int pages;

	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	all = round_pages(c, ALICE, folder, start, end, NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	body = json_pack("{s:s}", "token", delta);
	text = json_dumps(body, 0);
	ans = sim_http_ctl(sim.base_url, "POST", "/_sim/delta/expire", text, 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "expired")), 1);
	json_decref(ans);

	assert_int_equal(page_of(c, ALICE, folder, start, end, delta, &items, &next, &delta2,
	    &f), -1);
	assert_null(items);
	assert_null(next);
	assert_null(delta2);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 410);
	assert_string_equal(f.code, "SyncStateNotFound");
	/* Neither the delta token nor the query is in the message. */
	assert_null(strstr(f.message, "deltatoken"));

	/* Restarting from the window works. */
	all = round_pages(c, ALICE, folder, start, end, NULL, &pages, &delta2);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	free(delta2);
	free(text);
	json_decref(body);
	free(delta);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_delta_expired(void **state)
{
	(void)state;
	free(deliver("jane@fabrikam.com", ALICE, "2024-05-01T09:00:00Z", "x", NULL, NULL));
	expect_expired("inbox", SINCE, 0);
}

/* How a call must end: what it returns and what it fills in its remote_failure. */
struct want {
	int rc;
	enum remote_class cls;
	int status;
	const char *code;
	double wait_sec;
};

/* Fails case i unless the call returned rc with f as w says. */
static void
expect(size_t i, const struct want *w, int rc, const struct remote_failure *f)
{
	if (rc != w->rc)
		fail_msg("case %zu: want rc %d, got %d: %s", i, w->rc, rc, f->message);
	assert_int_equal(f->cls, w->cls);
	assert_int_equal(f->status, w->status);
	assert_string_equal(f->code, w->code);
	assert_true(f->wait_sec > w->wait_sec - 0.001 && f->wait_sec < w->wait_sec + 0.001);
}

/* Each fault is scripted on alice's mail folders, then one delta page is asked for; then the
 * same on her calendar. */
static const struct {
	const char *fault;
	struct want want;
} fault_cases[] = {
	{ "\"status\":429,\"retry_after\":3", { -1, REMOTE_WAIT, 429, "TooManyRequests", 3 } },
	{ "\"status\":429,\"retry_after\":1.5,\"code\":\"ApplicationThrottled\"",
	    { -1, REMOTE_WAIT, 429, "ApplicationThrottled", 1.5 } },
	{ "\"status\":503", { -1, REMOTE_TEMP, 503, "serviceNotAvailable", 0 } },
	{ "\"status\":503,\"retry_after\":4", { -1, REMOTE_TEMP, 503, "serviceNotAvailable", 4 } },
	{ "\"status\":504", { -1, REMOTE_TEMP, 504, "UnknownError", 0 } },
	{ "\"status\":500", { -1, REMOTE_TEMP, 500, "generalException", 0 } },
	{ "\"drop\":true,\"count\":2", { -1, REMOTE_TEMP, 0, "reset", 0 } },
	{ "\"delay_ms\":4000", { -1, REMOTE_TEMP, 0, "timeout", 0 } },
	{ "\"status\":404", { -1, REMOTE_FINAL, 404, "ErrorItemNotFound", 0 } },
	{ "\"status\":400", { -1, REMOTE_FINAL, 400, "BadRequest", 0 } },
	{ "\"status\":403", { -1, REMOTE_AUTH, 403, "ErrorAccessDenied", 0 } },
	/* One 401: a fresh token and the retry succeed. Two: a clear auth failure. */
	{ "\"status\":401", { 0, REMOTE_OK, 0, "", 0 } },
	{ "\"status\":401,\"count\":2",
	    { -1, REMOTE_AUTH, 401, "InvalidAuthenticationToken", 0 } },
};

/* The calendar's window in the tests below: June 2024. */
#define JUNE		1717200000	/* 2024-06-01T00:00:00Z */
#define JULY		1719792000	/* 2024-07-01T00:00:00Z */

/* Scripts fault case i on Alice's mail folders (folder "inbox") or (folder NULL) calendar, and
 * asks a fresh client for one page: a known number of calls, a fresh connection. */
static void
fault_case(const struct config *cfg, const char *folder, size_t i)
{
	struct graph_client *c;
	struct remote_failure f;
	json_t *items;
	char err[256], *next, *delta, *fault;
	int rc;

	json_decref(sim_http_ctl(sim.base_url, "DELETE", "/_sim/faults", NULL, 200));
	fault = xasprintf("{\"method\":\"GET\",\"path\":\"/v1.0/users/" ALICE "/%s\",%s}",
	    folder != NULL ? "mailFolders" : "calendarView", fault_cases[i].fault);
	json_decref(sim_http_ctl(sim.base_url, "POST", "/_sim/faults", fault, 200));
	free(fault);
	c = graph_client_new(cfg, err, sizeof(err));
	assert_non_null(c);
	rc = page_of(c, ALICE, folder, folder != NULL ? SINCE : JUNE, JULY, NULL, &items, &next,
	    &delta, &f);
	expect(i, &fault_cases[i].want, rc, &f);
	if (rc == 0) {
		/* token, 401, token, 200 */
		assert_int_equal(graph_client_calls(c), 4);
		json_decref(items);
		free(next);
		free(delta);
	} else {
		assert_null(items);
		assert_null(next);
		assert_null(delta);
		assert_true(strlen(f.message) > 0);
	}
	/* A 403 names the permission this read needs. */
	if (f.status == 403)
		assert_non_null(strstr(f.message, folder != NULL ? "permission Mail.Read " :
		    "permission Calendars.Read "));
	graph_client_free(c);
}

static void
test_faults(void **state)
{
	struct config cfg;

	(void)state;
	make_config(&cfg, AUTH_SECRET, ALICE);
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++) {
		fault_case(&cfg, "inbox", i);
		fault_case(&cfg, NULL, i);
	}
	json_decref(sim_http_ctl(sim.base_url, "DELETE", "/_sim/faults", NULL, 200));
	config_free(&cfg);
}

static void
test_bad_link(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *msgs;
	char err[256], *next, *delta;
	static const char *const links[] = {
		"http://evil.example/v1.0/users/x/mailFolders/inbox/messages/delta?$deltatoken=1",
		"http://127.0.0.1:1/v1.0/users/x/messages/delta",	/* another port */
		"",
	};

	(void)state;
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		assert_int_equal(graph_client_delta_page(c, ALICE, "inbox", links[i], SINCE, &msgs,
		    &next, &delta, &f), -1);
		assert_int_equal(f.cls, REMOTE_FINAL);
		assert_string_equal(f.code, "bad_link");
		assert_int_equal(graph_client_calendar_delta_page(c, ALICE, links[i], SINCE, SINCE,
		    &msgs, &next, &delta, &f), -1);
		assert_int_equal(f.cls, REMOTE_FINAL);
		assert_string_equal(f.code, "bad_link");
	}
	/* The token never left: not even fetched. */
	assert_int_equal(graph_client_calls(c), 0);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_token_expiry(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *msgs;
	char err[256], *next, *delta, *ttl;

	(void)state;
	/* A token of 1 s, scaled: under valgrind the fresh token would be stale at its use too. */
	ttl = xasprintf("{\"token_ttl_sec\":%ld}", mono_scaled(1000) / 1000);
	graph_fixture_config(&sim, ttl);
	free(ttl);
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_int_equal(graph_client_login(c, NULL, &f), 0);
	mono_sleep(2000);
	if (graph_client_delta_page(c, ALICE, "inbox", NULL, SINCE, &msgs, &next, &delta,
	    &f) != 0)
		fail_msg("after expiry: %s", f.message);
	assert_int_equal(f.cls, REMOTE_OK);
	/* login, a new token, the page */
	assert_int_equal(graph_client_calls(c), 3);
	json_decref(msgs);
	free(next);
	free(delta);
	graph_client_free(c);
	config_free(&cfg);
}

/* ---- calendar ---- */

#define OCT15		1728950400	/* 2024-10-15T00:00:00Z */
#define NOV15		1731628800	/* 2024-11-15T00:00:00Z; the US fell back on Nov 3 */
#define WEEKLY(n, from) ",\"recurrence\":{\"pattern\":{\"type\":\"weekly\",\"interval\":1," \
	"\"daysOfWeek\":[\"monday\"]},\"range\":{\"type\":\"numbered\",\"startDate\":\"" from \
	"\",\"numberOfOccurrences\":" #n "}}"

/* Makes a meeting of Alice's with Bob through the control API, from start to end (wall times
 * in zone tz), with extra JSON members (or ""). Returns the answer; caller decrefs. */
static json_t *
meeting(const char *subject, const char *start, const char *end, const char *tz,
    const char *extra)
{
	char *spec = xasprintf("{\"organizer\":\"" ALICE "\",\"attendees\":[{\"address\":\"" BOB
	    "\"}],\"subject\":\"%s\",\"start\":{\"dateTime\":\"%s\",\"timeZone\":\"%s\"},"
	    "\"end\":{\"dateTime\":\"%s\",\"timeZone\":\"%s\"}%s}", subject, start, tz, end, tz,
	    extra);
	json_t *ans = sim_http_ctl(sim.base_url, "POST", "/_sim/events", spec, 201);

	free(spec);
	return ans;
}

/* The event id of user's copy of a meeting() (the first instance's for a series). */
static const char *
copy_id(json_t *created, const char *user)
{
	json_t *copy;
	size_t i;

	json_array_foreach(json_object_get(created, "copies"), i, copy) {
		if (strcmp(json_string_value(json_object_get(copy, "user")), user) == 0)
			return json_string_value(json_object_get(copy, "id"));
	}
	fail_msg("no copy of the meeting for %s", user);
	return NULL;
}

/* The events of a round with this subject, in the order they came. Caller decrefs. */
static json_t *
pick(json_t *events, const char *subject)
{
	json_t *out = json_array(), *ev;
	const char *s;
	size_t i;

	json_array_foreach(events, i, ev) {
		s = json_string_value(json_object_get(ev, "subject"));
		if (s != NULL && strcmp(s, subject) == 0)
			json_array_append(out, ev);
	}
	return out;
}

/* A string two members down, or "" (cmocka's string asserts crash on NULL). */
static const char *
str2(json_t *o, const char *k1, const char *k2)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, k1), k2));

	return s != NULL ? s : "";
}

/* The one item of a round, which must be event id's. */
static json_t *
only(json_t *items, const char *id)
{
	json_t *ev = json_array_get(items, 0);
	const char *got = json_string_value(json_object_get(ev, "id"));

	assert_int_equal(json_array_size(items), 1);
	assert_non_null(got);
	assert_string_equal(got, id);
	return ev;
}

/* ev's start or end (which) is the UTC wall time want, as Graph writes it without a zone. */
static void
expect_utc(json_t *ev, const char *which, const char *want)
{
	char full[40];

	snprintf(full, sizeof(full), "%s.0000000", want);
	assert_string_equal(str2(ev, which, "dateTime"), full);
	assert_string_equal(str2(ev, which, "timeZone"), "UTC");
}

static void
test_calendar_delta_pages(void **state)
{
	static const char *const mondays[] = {
		"2024-06-03T09:00:00", "2024-06-10T09:00:00", "2024-06-17T09:00:00",
		"2024-06-24T09:00:00",
	};
	struct config cfg;
	struct graph_client *c;
	json_t *single, *series, *all, *ev, *evs, *weekly, *att;
	char err[256], *delta, *delta2;
	const char *master;
	int pages;
	size_t i, k;

	(void)state;
	single = meeting("Renewal call", "2024-06-05T15:00:00", "2024-06-05T15:30:00", "UTC", "");
	/* Six Mondays: the last two (July 1 and 8) are past the window. */
	series = meeting("Weekly sync", "2024-06-03T09:00:00", "2024-06-03T09:30:00", "UTC",
	    WEEKLY(6, "2024-06-03"));
	json_decref(meeting("Kick-off", "2024-05-20T10:00:00", "2024-05-20T11:00:00", "UTC", ""));
	json_decref(meeting("Later", "2024-07-15T10:00:00", "2024-07-15T11:00:00", "UTC", ""));
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_non_null(c);
	graph_client_set_page_size(c, 2);

	all = round_pages(c, ALICE, NULL, JUNE, JULY, NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), 5);
	assert_int_equal(pages, 3);
	assert_non_null(strstr(delta, "$deltatoken="));
	ev = pick(all, "Kick-off");
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	ev = pick(all, "Later");
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);

	/* The single meeting: Alice's copy, in UTC, with what meeting.c reads. */
	evs = pick(all, "Renewal call");
	ev = only(evs, copy_id(single, ALICE));
	assert_string_equal(json_string_value(json_object_get(ev, "iCalUId")),
	    json_string_value(json_object_get(single, "iCalUId")));
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "singleInstance");
	expect_utc(ev, "start", "2024-06-05T15:00:00");
	expect_utc(ev, "end", "2024-06-05T15:30:00");
	assert_true(json_is_false(json_object_get(ev, "isAllDay")));
	assert_true(json_is_false(json_object_get(ev, "isCancelled")));
	assert_string_equal(str2(ev, "responseStatus", "response"), "organizer");
	assert_string_equal(str2(json_object_get(ev, "organizer"), "emailAddress", "address"),
	    ALICE);
	assert_int_equal(json_array_size(json_object_get(ev, "attendees")), 1);
	att = json_array_get(json_object_get(ev, "attendees"), 0);
	assert_string_equal(str2(att, "emailAddress", "address"), BOB);
	assert_string_equal(str2(att, "status", "response"), "none");
	json_decref(evs);

	/* The series as its occurrences in the window, each with its own iCalUId. */
	weekly = pick(all, "Weekly sync");
	assert_int_equal(json_array_size(weekly), 4);
	master = json_string_value(json_object_get(json_array_get(weekly, 0), "seriesMasterId"));
	assert_non_null(master);
	json_array_foreach(weekly, i, ev) {
		assert_string_equal(json_string_value(json_object_get(ev, "type")), "occurrence");
		assert_string_equal(json_string_value(json_object_get(ev, "seriesMasterId")),
		    master);
		assert_string_equal(str2(ev, "responseStatus", "response"), "organizer");
		assert_int_equal(json_array_size(json_object_get(ev, "attendees")), 1);
		assert_non_null(json_string_value(json_object_get(ev, "iCalUId")));
		for (k = 0; k < i; k++)
			assert_string_not_equal(json_string_value(json_object_get(ev, "iCalUId")),
			    json_string_value(json_object_get(json_array_get(weekly, k),
			    "iCalUId")));
	}
	for (k = 0; k < 4; k++) {
		int found = 0;
		char want[40];

		snprintf(want, sizeof(want), "%s.0000000", mondays[k]);
		json_array_foreach(weekly, i, ev) {
			if (strcmp(str2(ev, "start", "dateTime"), want) == 0) {
				expect_utc(ev, "start", mondays[k]);
				found++;
			}
		}
		assert_int_equal(found, 1);
	}
	json_decref(weekly);
	json_decref(all);

	/* Nothing changed: the next round is one empty page. */
	all = round_pages(c, ALICE, NULL, JUNE, JULY, delta, &pages, &delta2);
	assert_int_equal(json_array_size(all), 0);
	assert_int_equal(pages, 1);
	json_decref(all);
	free(delta2);
	free(delta);

	/* Bob's calendar is his own round, with his copies. */
	all = round_pages(c, BOB, NULL, JUNE, JULY, NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), 5);
	evs = pick(all, "Renewal call");
	ev = only(evs, copy_id(single, BOB));
	assert_string_equal(str2(ev, "responseStatus", "response"), "none");
	json_decref(evs);
	json_decref(all);
	free(delta);

	json_decref(single);
	json_decref(series);
	graph_client_free(c);
	config_free(&cfg);
}

/* One round of each of Alice's and Bob's calendars from their deltaLinks (renewed). */
static void
cal_rounds(struct graph_client *c, char **alice_delta, char **bob_delta, json_t **alice,
    json_t **bob)
{
	char *next;
	int pages;

	*alice = round_pages(c, ALICE, NULL, JUNE, JULY, *alice_delta, &pages, &next);
	free(*alice_delta);
	*alice_delta = next;
	*bob = round_pages(c, BOB, NULL, JUNE, JULY, *bob_delta, &pages, &next);
	free(*bob_delta);
	*bob_delta = next;
}

static void
test_calendar_delta_changes(void **state)
{
	struct config cfg;
	struct graph_client *c;
	json_t *created, *alice, *bob, *ev;
	char err[256], *ad = NULL, *bd = NULL, *path;
	const char *uid;

	(void)state;
	created = meeting("Renewal call", "2024-06-05T15:00:00", "2024-06-05T15:30:00", "UTC", "");
	uid = json_string_value(json_object_get(created, "uid"));
	/* Never changed: in the first rounds only. */
	json_decref(meeting("Pipeline review", "2024-06-12T15:00:00", "2024-06-12T16:00:00",
	    "UTC", ""));
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	cal_rounds(c, &ad, &bd, &alice, &bob);
	assert_int_equal(json_array_size(alice), 2);
	assert_int_equal(json_array_size(bob), 2);
	json_decref(alice);
	json_decref(bob);

	/* Bob accepts: his copy changes, and Alice's, which tallies his answer. */
	path = xasprintf("/_sim/events/%s/respond", uid);
	json_decref(sim_http_ctl(sim.base_url, "POST", path,
	    "{\"user\":\"" BOB "\",\"response\":\"accepted\"}", 200));
	free(path);
	cal_rounds(c, &ad, &bd, &alice, &bob);
	ev = only(bob, copy_id(created, BOB));
	assert_null(json_object_get(ev, "@removed"));
	assert_string_equal(str2(ev, "responseStatus", "response"), "accepted");
	ev = only(alice, copy_id(created, ALICE));
	assert_string_equal(str2(json_array_get(json_object_get(ev, "attendees"), 0), "status",
	    "response"), "accepted");
	json_decref(alice);
	json_decref(bob);

	/* Alice cancels: Bob's copy stays, cancelled; Alice's is gone. */
	path = xasprintf("/_sim/events/%s", uid);
	json_decref(sim_http_ctl(sim.base_url, "PATCH", path, "{\"isCancelled\":true}", 200));
	free(path);
	cal_rounds(c, &ad, &bd, &alice, &bob);
	ev = only(bob, copy_id(created, BOB));
	assert_null(json_object_get(ev, "@removed"));
	assert_true(json_is_true(json_object_get(ev, "isCancelled")));
	ev = only(alice, copy_id(created, ALICE));
	assert_string_equal(str2(ev, "@removed", "reason"), "deleted");
	json_decref(alice);
	json_decref(bob);

	free(ad);
	free(bd);
	json_decref(created);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_calendar_delta_times(void **state)
{
	/* Wall times in Pacific time; the US left daylight time on 2024-11-03. */
	static const struct {
		const char *subject, *start, *end, *extra;
		const char *utc_start, *utc_end;	/* as the round must give them */
		int all_day;
	} cases[] = {
		{ "Before the change", "2024-10-30T10:00:00", "2024-10-30T11:00:00", "",
		    "2024-10-30T17:00:00", "2024-10-30T18:00:00", 0 },
		{ "After the change", "2024-11-06T10:00:00", "2024-11-06T11:00:00", "",
		    "2024-11-06T18:00:00", "2024-11-06T19:00:00", 0 },
		{ "Weekly across", "2024-10-28T10:00:00", "2024-10-28T10:30:00",
		    WEEKLY(2, "2024-10-28"), "2024-10-28T17:00:00", "2024-10-28T17:30:00", 0 },
		{ "Weekly across", NULL, NULL, NULL,
		    "2024-11-04T18:00:00", "2024-11-04T18:30:00", 0 },
		/* All-day: its own dates at midnight, floating, not 07:00Z. */
		{ "Offsite", "2024-11-01T00:00:00", "2024-11-02T00:00:00", ",\"isAllDay\":true",
		    "2024-11-01T00:00:00", "2024-11-02T00:00:00", 1 },
	};
	struct config cfg;
	struct graph_client *c;
	json_t *all, *evs, *ev;
	char err[256], *delta, want[40];
	int pages, found;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].start != NULL)
			json_decref(meeting(cases[i].subject, cases[i].start, cases[i].end,
			    "Pacific Standard Time", cases[i].extra));
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	all = round_pages(c, ALICE, NULL, OCT15, NOV15, NULL, &pages, &delta);
	assert_int_equal(json_array_size(all), sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		evs = pick(all, cases[i].subject);
		snprintf(want, sizeof(want), "%s.0000000", cases[i].utc_start);
		found = 0;
		json_array_foreach(evs, k, ev) {
			if (strcmp(str2(ev, "start", "dateTime"), want) != 0)
				continue;
			found++;
			expect_utc(ev, "start", cases[i].utc_start);
			expect_utc(ev, "end", cases[i].utc_end);
			assert_int_equal(json_is_true(json_object_get(ev, "isAllDay")),
			    cases[i].all_day);
		}
		if (found != 1)
			fail_msg("case %zu: %s starting %s came %d times", i, cases[i].subject,
			    want, found);
		json_decref(evs);
	}
	json_decref(all);
	free(delta);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_calendar_delta_expired(void **state)
{
	(void)state;
	json_decref(meeting("Renewal call", "2024-06-05T15:00:00", "2024-06-05T15:30:00", "UTC",
	    ""));
	expect_expired(NULL, JUNE, JULY);
}

static void
test_calendar_delta_denied(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *items;
	char err[256], *next, *delta, *seed;
	int pages;

	(void)state;
	seed = seed_text("\"Mail.Read\",\"User.Read.All\"");
	json_decref(graph_fixture_reseed(&sim, seed));
	free(seed);
	make_config(&cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(&cfg, err, sizeof(err));
	/* Mail is readable: only the calendar's permission is missing. */
	json_decref(round_all(c, ALICE, "inbox", NULL, &pages, &delta));
	free(delta);
	assert_int_equal(graph_client_calendar_delta_page(c, ALICE, NULL, JUNE, JULY, &items,
	    &next, &delta, &f), -1);
	assert_null(items);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 403);
	assert_string_equal(f.code, "ErrorAccessDenied");
	assert_non_null(strstr(f.message, "application permission Calendars.Read (not "
	    "delegated)"));
	graph_client_free(c);
	config_free(&cfg);
}

/* What a stand-in for Graph saw of the last calendar request. */
struct seen {
	int port;
	char uri[512];
	char prefer[256];
};

static void
seen_handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct seen *s = arg;
	const char *prefer = httpd_header(req, "Prefer");
	char link[160];

	snprintf(s->uri, sizeof(s->uri), "%s", req->raw_uri);
	snprintf(s->prefer, sizeof(s->prefer), "%s", prefer != NULL ? prefer : "");
	snprintf(link, sizeof(link), "http://127.0.0.1:%d/v1.0/users/x/calendarView/delta"
	    "?$deltatoken=a%%2Bb", s->port);
	httpd_respond_json(resp, 200, json_pack("{s:[], s:s}", "value", "@odata.deltaLink",
	    link));
}

/* A stand-in for Graph serving handler (with arg) on a free port (*port), and a configuration
 * (secret auth, as ALICE) pointed at it. */
static struct httpd *
standin_start(httpd_handler *handler, void *arg, int *port, struct config *cfg)
{
	struct httpd_config hc = { .listen = "127.0.0.1:0", .max_body = 1 << 20,
	    .max_uri = 8192, .timeout_sec = 10, .max_connections = 16 };
	struct httpd *srv;
	char err[256], base[64];

	if ((srv = httpd_start(&hc, handler, arg, err, sizeof(err))) == NULL)
		fail_msg("stand-in: %s", err);
	*port = httpd_port(srv);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1.0", *port);
	make_config_at(cfg, AUTH_SECRET, ALICE, base);
	return srv;
}

/* A client for cfg; fails the test when it cannot be made. */
static struct graph_client *
client_for(const struct config *cfg)
{
	char err[256];
	struct graph_client *c = graph_client_new(cfg, err, sizeof(err));

	if (c == NULL)
		fail_msg("graph_client_new: %s", err);
	return c;
}

static void
test_calendar_delta_request(void **state)
{
	struct seen s = { 0 };
	struct httpd *srv;
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *events;
	char *next, *delta, *delta2;

	(void)state;
	srv = standin_start(seen_handle, &s, &s.port, &cfg);
	c = client_for(&cfg);
	graph_client_set_page_size(c, 7);
	if (graph_client_calendar_delta_page(c, ALICE, NULL, JUNE, JULY, &events, &next, &delta,
	    &f) != 0)
		fail_msg("stand-in page: %s", f.message);
	/* The window in UTC, and no $select: calendarView delta does not take it (§4.2). */
	assert_string_equal(s.uri, "/v1.0/users/alice%40" DOMAIN "/calendarView/delta"
	    "?startDateTime=2024-06-01T00:00:00Z&endDateTime=2024-07-01T00:00:00Z");
	/* Immutable ids as for mail; no outlook.timezone, so times stay UTC. */
	assert_string_equal(s.prefer, "odata.maxpagesize=7, IdType=\"ImmutableId\"");
	json_decref(events);

	/* A link is followed as given, its encoding untouched. */
	if (graph_client_calendar_delta_page(c, ALICE, delta, JUNE, JULY, &events, &next,
	    &delta2, &f) != 0)
		fail_msg("stand-in link: %s", f.message);
	assert_string_equal(s.uri, "/v1.0/users/x/calendarView/delta?$deltatoken=a%2Bb");
	json_decref(events);
	free(delta);
	free(delta2);
	graph_client_free(c);
	config_free(&cfg);
	httpd_stop(srv);
}

static void
nul_handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct seen *s = arg;
	char *text;

	(void)req;
	text = xasprintf("{\"value\":[{\"id\":\"e1\",\"subject\":\"before\\u0000after\"}],"
	    "\"@odata.deltaLink\":\"http://127.0.0.1:%d/v1.0/users/x/calendarView/delta"
	    "?$deltatoken=t\"}", s->port);
	httpd_respond_text(resp, 200, "application/json", text);
	free(text);
}

/* A string with an escaped NUL in a page (JSON allows it) does not fail the page: one odd field
 * must not stop a mailbox for ever. The value reads up to the NUL. */
static void
test_page_with_nul(void **state)
{
	struct seen s = { 0 };
	struct httpd *srv;
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *events;
	char *next = NULL, *delta = NULL;

	(void)state;
	srv = standin_start(nul_handle, &s, &s.port, &cfg);
	c = client_for(&cfg);
	if (graph_client_calendar_delta_page(c, ALICE, NULL, JUNE, JULY, &events, &next, &delta,
	    &f) != 0)
		fail_msg("a page with a NUL in a string failed: %s", f.message);
	assert_int_equal(json_array_size(events), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0),
	    "subject")), "before");
	assert_non_null(delta);
	json_decref(events);
	free(next);
	free(delta);
	graph_client_free(c);
	config_free(&cfg);
	httpd_stop(srv);
}

static void
test_mailboxes(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *upns;
	char err[256], *s;
	static const struct {
		const char *mailboxes;
		int rc;
		const char *want;	/* JSON, sorted; NULL when rc is -1 */
		enum remote_class cls;
	} cases[] = {
		{ ALICE ", " BOB, 0, "[\"" ALICE "\",\"" BOB "\"]", REMOTE_OK },
		/* nobox has no mailbox (no mail); Carol's UPN is lowercased. */
		{ "all", 0, "[\"" ALICE "\",\"" BOB "\",\"" CAROL "\"]", REMOTE_OK },
		/* The group's members with a mail, lowercased; nobox has none and is skipped. */
		{ "group:" GROUP, 0, "[\"" BOB "\",\"" CAROL "\"]", REMOTE_OK },
		/* 404 Request_ResourceNotFound: a wrong id in the configuration. */
		{ "group:" NO_GROUP, -1, NULL, REMOTE_FINAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_config(&cfg, AUTH_SECRET, cases[i].mailboxes);
		c = graph_client_new(&cfg, err, sizeof(err));
		assert_int_equal(graph_client_mailboxes(c, &upns, &f), cases[i].rc);
		assert_int_equal(f.cls, cases[i].cls);
		if (cases[i].rc == 0) {
			/* Sort for a stable comparison. */
			size_t n = json_array_size(upns);

			for (size_t a = 0; a + 1 < n; a++)
				for (size_t b = a + 1; b < n; b++) {
					json_t *x = json_array_get(upns, a), *y = json_array_get(upns, b);

					if (strcmp(json_string_value(x), json_string_value(y)) > 0) {
						json_incref(x);
						json_array_set(upns, a, y);
						json_array_set_new(upns, b, x);
					}
				}
			s = json_dumps(upns, JSON_COMPACT);
			assert_string_equal(s, cases[i].want);
			free(s);
			json_decref(upns);
		} else {
			assert_null(upns);
			assert_non_null(strstr(f.message, "group"));
			assert_int_equal(f.status, 404);
		}
		graph_client_free(c);
		config_free(&cfg);
	}
}

/* An app consented without a group permission: 403, an auth failure that names the
 * permission to grant. */
static void
test_mailboxes_group_denied(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	json_t *upns;
	char err[256], *seed;

	(void)state;
	seed = seed_text("\"Mail.Read\",\"User.Read.All\"");
	json_decref(graph_fixture_reseed(&sim, seed));
	free(seed);
	make_config(&cfg, AUTH_SECRET, "group:" GROUP);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_int_equal(graph_client_mailboxes(c, &upns, &f), -1);
	assert_null(upns);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_int_equal(f.status, 403);
	assert_non_null(strstr(f.message, "GroupMember.Read.All"));
	graph_client_free(c);
	config_free(&cfg);

	/* Members without User.Read.All come back with their ids only: an error, not an empty
	 * (silently idle) list of mailboxes. */
	seed = seed_text("\"Mail.Read\",\"GroupMember.Read.All\"");
	json_decref(graph_fixture_reseed(&sim, seed));
	free(seed);
	make_config(&cfg, AUTH_SECRET, "group:" GROUP);
	c = graph_client_new(&cfg, err, sizeof(err));
	assert_int_equal(graph_client_mailboxes(c, &upns, &f), -1);
	assert_null(upns);
	assert_int_equal(f.cls, REMOTE_AUTH);
	assert_string_equal(f.code, "limited_information");
	assert_non_null(strstr(f.message, "User.Read.All"));
	graph_client_free(c);
	config_free(&cfg);
}

/* ---- subscriptions ---- */

#define STATE		"s3cret-state"
#define HOUR		3600

/* A client for alice's tenant with graph-sim calling our plain-http receiver, which starts
 * without scripts or records. */
static struct graph_client *
sub_client(struct config *cfg)
{
	struct graph_client *c;
	char err[256];

	graph_fixture_config(&sim, "{\"require_https\":false}");
	hook_server_clear(hook);
	make_config(cfg, AUTH_SECRET, ALICE);
	c = graph_client_new(cfg, err, sizeof(err));
	assert_non_null(c);
	return c;
}

/* Creates kind of mailbox notifying the receiver's path (and lifecycle_path when not NULL),
 * expiring at expires. */
static int
sub_create(struct graph_client *c, const char *mailbox, const char *kind, const char *path,
    const char *lifecycle_path, time_t expires, struct graph_sub *out,
    struct remote_failure *f)
{
	char *url = xasprintf("%s%s", hook_server_url(hook), path);
	char *lurl = lifecycle_path ? xasprintf("%s%s", hook_server_url(hook),
	    lifecycle_path) : NULL;
	int rc;

	rc = graph_client_sub_create(c, mailbox, kind, url, lurl, STATE, expires, out, f);
	free(url);
	free(lurl);
	return rc;
}

/* This app's subscriptions, which must number want. Caller frees with graph_subs_free. */
static struct graph_sub *
sub_list(struct graph_client *c, size_t want)
{
	struct remote_failure f;
	struct graph_sub *v;
	size_t n;

	if (graph_client_sub_list(c, &v, &n, &f) != 0)
		fail_msg("list subscriptions: %s", f.message);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_int_equal(n, want);
	return v;
}

/* The resource strings olsync subscribes to; what Graph takes is checked by the creates. */
static void
test_sub_resource(void **state)
{
	static const struct {
		const char *mailbox, *kind, *want;	/* want NULL: refused */
	} cases[] = {
		{ ALICE, "inbox", "users/" ALICE "/mailFolders('inbox')/messages" },
		{ ALICE, "sentitems", "users/" ALICE "/mailFolders('sentitems')/messages" },
		{ ALICE, "events", "users/" ALICE "/events" },
		/* A quote would end mailFolders('...'), a '/' or '?' the segment. */
		{ "o'neil+x/y?z@" DOMAIN, "events", "users/o%27neil%2Bx%2Fy%3Fz@" DOMAIN "/events" },
		{ ALICE, "drafts", NULL },
		{ ALICE, "Inbox", NULL },
		{ ALICE, "", NULL },
	};
	char *r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = graph_client_sub_resource(cases[i].mailbox, cases[i].kind);
		if (cases[i].want == NULL) {
			assert_null(r);
			continue;
		}
		assert_non_null(r);
		assert_string_equal(r, cases[i].want);
		free(r);
	}
}

static void
test_sub_create_list(void **state)
{
	static const struct {
		const char *kind, *types, *lifecycle;
	} kinds[] = {
		{ "inbox", "created,updated", "/lifecycle" },
		{ "sentitems", "created,updated", NULL },
		{ "events", "created,updated,deleted", NULL },
	};
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub subs[3], *v, dup;
	time_t expires = time(NULL) + HOUR;
	char tok[4096], *want, *path;
	json_t *j, *e;
	size_t i, k;

	(void)state;
	c = sub_client(&cfg);
	for (i = 0; i < 3; i++) {
		if (sub_create(c, ALICE, kinds[i].kind, "/notify", kinds[i].lifecycle, expires,
		    &subs[i], &f) != 0)
			fail_msg("create %s: %s", kinds[i].kind, f.message);
		assert_int_equal(f.cls, REMOTE_OK);
		assert_true(strlen(subs[i].id) > 0);
		want = graph_client_sub_resource(ALICE, kinds[i].kind);
		assert_string_equal(subs[i].resource, want);
		free(want);
		assert_string_equal(subs[i].change_type, kinds[i].types);
		want = xasprintf("%s/notify", hook_server_url(hook));
		assert_string_equal(subs[i].notification_url, want);
		free(want);
		if (kinds[i].lifecycle != NULL) {
			want = xasprintf("%s/lifecycle", hook_server_url(hook));
			assert_string_equal(subs[i].lifecycle_url, want);
			free(want);
		} else
			assert_null(subs[i].lifecycle_url);
		assert_int_equal(subs[i].expires, expires);
	}
	/* A token and three creates; Graph validated each URL before it answered. */
	assert_int_equal(graph_client_calls(c), 4);
	assert_int_equal(hook_server_count(hook, "/notify"), 3);
	assert_int_equal(hook_server_count(hook, "/lifecycle"), 1);

	/* Rejected: the same resource and change types again. */
	assert_int_equal(sub_create(c, ALICE, "inbox", "/other", NULL, expires, &dup, &f), -1);
	assert_null(dup.id);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 409);

	v = sub_list(c, 3);
	for (i = 0; i < 3; i++) {
		int found = 0;

		for (k = 0; k < 3; k++) {
			if (strcmp(v[k].id, subs[i].id) != 0)
				continue;
			found = 1;
			assert_string_equal(v[k].resource, subs[i].resource);
			assert_string_equal(v[k].change_type, subs[i].change_type);
			assert_int_equal(v[k].expires, expires);
			if (subs[i].lifecycle_url != NULL)
				assert_string_equal(v[k].lifecycle_url, subs[i].lifecycle_url);
			else
				assert_null(v[k].lifecycle_url);
		}
		assert_true(found);
	}
	graph_subs_free(v, 3);

	/* The clientState went out with the create, and Graph never lists it. */
	graph_fixture_token(&sim, APP, tok, sizeof(tok));
	path = xasprintf("/v1.0/subscriptions/%s", subs[0].id);
	j = graph_fixture_call(&sim, "GET", path, NULL, tok, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "clientState")), STATE);
	json_decref(j);
	free(path);
	j = graph_fixture_call(&sim, "GET", "/v1.0/subscriptions", NULL, tok, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "value")), 3);
	json_array_foreach(json_object_get(j, "value"), i, e)
		assert_null(json_string_value(json_object_get(e, "clientState")));
	json_decref(j);

	for (i = 0; i < 3; i++)
		graph_sub_clear(&subs[i]);
	assert_null(subs[0].id);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_sub_renew(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub s, r, *v;
	time_t now = time(NULL);

	(void)state;
	c = sub_client(&cfg);
	if (sub_create(c, ALICE, "inbox", "/notify", NULL, now + HOUR, &s, &f) != 0)
		fail_msg("create: %s", f.message);
	if (graph_client_sub_renew(c, s.id, now + 5 * HOUR, &r, &f) != 0)
		fail_msg("renew: %s", f.message);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_string_equal(r.id, s.id);
	assert_string_equal(r.resource, s.resource);
	assert_int_equal(r.expires, now + 5 * HOUR);
	graph_sub_clear(&r);
	v = sub_list(c, 1);
	assert_int_equal(v[0].expires, now + 5 * HOUR);
	graph_subs_free(v, 1);

	/* Rejected: beyond the lifetime ceiling (10070 minutes), and the expiry is unchanged. */
	assert_int_equal(graph_client_sub_renew(c, s.id, now + 10071 * 60, &r, &f), -1);
	assert_null(r.id);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 400);
	assert_string_equal(f.code, "ExtensionError");
	assert_non_null(strstr(f.message, "10070 minutes"));
	v = sub_list(c, 1);
	assert_int_equal(v[0].expires, now + 5 * HOUR);
	graph_subs_free(v, 1);

	/* Rejected: a subscription Graph no longer has, and one it never had. */
	assert_int_equal(graph_client_sub_delete(c, s.id, &f), 0);
	assert_int_equal(graph_client_sub_renew(c, s.id, now + 2 * HOUR, &r, &f), -1);
	assert_null(r.id);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 404);
	assert_int_equal(graph_client_sub_renew(c, "0f6e0f4c-5b8a-4d55-9a0e-7c3e1f2a9b11",
	    now + 2 * HOUR, &r, &f), -1);
	assert_int_equal(f.cls, REMOTE_FINAL);
	assert_int_equal(f.status, 404);
	graph_sub_clear(&s);
	graph_client_free(c);
	config_free(&cfg);
}

static void
test_sub_delete(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub a, b, *v;
	long calls;

	(void)state;
	c = sub_client(&cfg);
	if (sub_create(c, ALICE, "inbox", "/notify", NULL, time(NULL) + HOUR, &a, &f) != 0 ||
	    sub_create(c, BOB, "inbox", "/notify", NULL, time(NULL) + HOUR, &b, &f) != 0)
		fail_msg("create: %s", f.message);
	assert_int_equal(graph_client_sub_delete(c, a.id, &f), 0);
	assert_int_equal(f.cls, REMOTE_OK);
	v = sub_list(c, 1);
	assert_string_equal(v[0].id, b.id);
	graph_subs_free(v, 1);
	/* Already gone (404): done all the same, after asking. */
	calls = graph_client_calls(c);
	assert_int_equal(graph_client_sub_delete(c, a.id, &f), 0);
	assert_int_equal(f.cls, REMOTE_OK);
	assert_int_equal(graph_client_calls(c), calls + 1);
	assert_int_equal(graph_client_sub_delete(c, b.id, &f), 0);
	v = sub_list(c, 0);
	graph_subs_free(v, 0);
	graph_sub_clear(&a);
	graph_sub_clear(&b);
	graph_client_free(c);
	config_free(&cfg);
}

/* Creates Graph refuses; none leaves a subscription behind. */
static void
test_sub_create_refused(void **state)
{
	static const struct {
		const char *roles;		/* APP's roles, else APP_ROLES */
		const char *config;		/* settings besides require_https, or NULL */
		struct hook_behavior hook;	/* how the receiver answers the validation */
		const char *mailbox, *kind;
		long lifetime;			/* seconds from now */
		enum remote_class cls;
		int status;
		const char *code, *in_message;
	} cases[] = {
		{ NULL, NULL, { .echo = HOOK_ECHO_WRONG }, ALICE, "inbox", HOUR, REMOTE_FINAL, 400,
		    "ValidationError", "must exactly match" },
		{ NULL, NULL, { .echo = HOOK_ECHO_RAW }, ALICE, "inbox", HOUR, REMOTE_FINAL, 400,
		    "ValidationError", "must exactly match" },
		{ NULL, NULL, { .status = 500 }, ALICE, "inbox", HOUR, REMOTE_FINAL, 400,
		    "ValidationError", "200 OK" },
		{ NULL, "\"validation_timeout_ms\":200", { .delay_ms = 600 }, ALICE, "inbox", HOUR,
		    REMOTE_FINAL, 400, "InvalidRequest", "timed out" },
		{ NULL, NULL, { 0 }, ALICE, "inbox", 10071 * 60, REMOTE_FINAL, 400,
		    "ExtensionError", "10070 minutes in the future" },
		{ NULL, "\"sub_max_minutes\":60", { 0 }, ALICE, "events", HOUR + 60, REMOTE_FINAL,
		    400, "ExtensionError", "60 minutes in the future" },
		{ NULL, NULL, { 0 }, ALICE, "inbox", -60, REMOTE_FINAL, 400, "ExtensionError",
		    "future" },
		{ "\"Calendars.Read\"", NULL, { 0 }, ALICE, "inbox", HOUR, REMOTE_AUTH, 403,
		    "ErrorAccessDenied", "application permission Mail.Read (not delegated)" },
		{ "\"Mail.Read\"", NULL, { 0 }, ALICE, "events", HOUR, REMOTE_AUTH, 403,
		    "ErrorAccessDenied", "application permission Calendars.Read (not delegated)" },
		/* The mailbox's quota is not a permission to grant. */
		{ NULL, "\"subs_per_mailbox\":0", { 0 }, ALICE, "inbox", HOUR, REMOTE_FINAL, 403,
		    "ExtensionError", "limit of 0" },
		{ NULL, NULL, { 0 }, NOBOX, "inbox", HOUR, REMOTE_FINAL, 404, "ResourceNotFound",
		    "" },
		{ NULL, NULL, { 0 }, ALICE, "drafts", HOUR, REMOTE_FINAL, 0, "bad_kind", "drafts" },
	};
	static const struct hook_behavior well = { 0 };
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub s, *v;
	char *seed, *settings;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		seed = seed_text(cases[i].roles ? cases[i].roles : APP_ROLES);
		json_decref(graph_fixture_reseed(&sim, seed));
		free(seed);
		c = sub_client(&cfg);
		if (cases[i].config != NULL) {
			settings = xasprintf("{%s}", cases[i].config);
			graph_fixture_config(&sim, settings);
			free(settings);
		}
		if (memcmp(&cases[i].hook, &well, sizeof(well)) != 0)
			hook_server_script(hook, "/notify", &cases[i].hook, 1);
		if (sub_create(c, cases[i].mailbox, cases[i].kind, "/notify", NULL,
		    time(NULL) + cases[i].lifetime, &s, &f) != -1)
			fail_msg("case %zu: created", i);
		assert_null(s.id);
		assert_int_equal(f.cls, cases[i].cls);
		assert_int_equal(f.status, cases[i].status);
		assert_string_equal(f.code, cases[i].code);
		if (strstr(f.message, cases[i].in_message) == NULL)
			fail_msg("case %zu: \"%s\" not in \"%s\"", i, cases[i].in_message,
			    f.message);
		/* A validation failure happened at the receiver; the others never reached it. */
		assert_int_equal(hook_server_count(hook, "/notify"),
		    memcmp(&cases[i].hook, &well, sizeof(well)) != 0);
		v = sub_list(c, 0);
		graph_subs_free(v, 0);
		graph_client_free(c);
		config_free(&cfg);
	}
}

enum sub_op { OP_CREATE, OP_RENEW, OP_DELETE, OP_LIST };

/* Each fault is scripted on /v1.0/subscriptions for one method; one call then meets it. */
static const struct {
	const char *method;
	enum sub_op op;
	const char *fault;
	struct want want;
	long calls;
} sub_fault_cases[] = {
	{ "POST", OP_CREATE, "\"status\":503",
	    { -1, REMOTE_TEMP, 503, "serviceNotAvailable", 0 }, 2 },
	{ "POST", OP_CREATE, "\"status\":429,\"retry_after\":2",
	    { -1, REMOTE_WAIT, 429, "TooManyRequests", 2 }, 2 },
	{ "POST", OP_CREATE, "\"status\":403", { -1, REMOTE_AUTH, 403, "ErrorAccessDenied", 0 },
	    2 },
	{ "POST", OP_CREATE, "\"status\":401,\"count\":2",
	    { -1, REMOTE_AUTH, 401, "InvalidAuthenticationToken", 0 }, 4 },
	{ "PATCH", OP_RENEW, "\"status\":503,\"retry_after\":4",
	    { -1, REMOTE_TEMP, 503, "serviceNotAvailable", 4 }, 2 },
	{ "PATCH", OP_RENEW, "\"status\":429,\"retry_after\":1.5",
	    { -1, REMOTE_WAIT, 429, "TooManyRequests", 1.5 }, 2 },
	{ "PATCH", OP_RENEW, "\"status\":401", { 0, REMOTE_OK, 0, "", 0 }, 4 },
	{ "DELETE", OP_DELETE, "\"status\":504", { -1, REMOTE_TEMP, 504, "UnknownError", 0 },
	    2 },
	{ "DELETE", OP_DELETE, "\"status\":429,\"retry_after\":3",
	    { -1, REMOTE_WAIT, 429, "TooManyRequests", 3 }, 2 },
	{ "GET", OP_LIST, "\"status\":500", { -1, REMOTE_TEMP, 500, "generalException", 0 },
	    2 },
	{ "GET", OP_LIST, "\"status\":429,\"retry_after\":2",
	    { -1, REMOTE_WAIT, 429, "TooManyRequests", 2 }, 2 },
	/* One 401: a fresh token and the retry succeed (token, 401, token, 201). */
	{ "POST", OP_CREATE, "\"status\":401", { 0, REMOTE_OK, 0, "", 0 }, 4 },
};

static void
test_sub_faults(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub kept, s, *v = NULL;
	char err[256], *fault;
	size_t n;
	int rc = 0;

	(void)state;
	c = sub_client(&cfg);
	if (sub_create(c, ALICE, "inbox", "/notify", NULL, time(NULL) + HOUR, &kept, &f) != 0)
		fail_msg("create: %s", f.message);
	graph_client_free(c);
	for (size_t i = 0; i < sizeof(sub_fault_cases) / sizeof(sub_fault_cases[0]); i++) {
		json_decref(sim_http_ctl(sim.base_url, "DELETE", "/_sim/faults", NULL, 200));
		fault = xasprintf("{\"method\":\"%s\",\"path\":\"/v1.0/subscriptions\",%s}",
		    sub_fault_cases[i].method, sub_fault_cases[i].fault);
		json_decref(sim_http_ctl(sim.base_url, "POST", "/_sim/faults", fault, 200));
		free(fault);
		/* A fresh client each time: a known number of calls. */
		c = graph_client_new(&cfg, err, sizeof(err));
		assert_non_null(c);
		memset(&s, 0, sizeof(s));
		switch (sub_fault_cases[i].op) {
		case OP_CREATE:
			rc = sub_create(c, BOB, "sentitems", "/notify", NULL, time(NULL) + HOUR, &s,
			    &f);
			break;
		case OP_RENEW:
			rc = graph_client_sub_renew(c, kept.id, time(NULL) + 2 * HOUR, &s, &f);
			break;
		case OP_DELETE:
			rc = graph_client_sub_delete(c, kept.id, &f);
			break;
		case OP_LIST:
			rc = graph_client_sub_list(c, &v, &n, &f);
			break;
		}
		expect(i, &sub_fault_cases[i].want, rc, &f);
		assert_int_equal(graph_client_calls(c), sub_fault_cases[i].calls);
		if (rc == 0)
			assert_non_null(s.id);
		else
			assert_null(s.id);
		if (rc != 0 && sub_fault_cases[i].op == OP_LIST) {
			assert_null(v);
			assert_int_equal(n, 0);
		}
		graph_sub_clear(&s);
		graph_client_free(c);
	}
	json_decref(sim_http_ctl(sim.base_url, "DELETE", "/_sim/faults", NULL, 200));
	/* The faulted delete deleted nothing; the 401 retry created exactly one. */
	c = graph_client_new(&cfg, err, sizeof(err));
	v = sub_list(c, 2);
	graph_subs_free(v, 2);
	graph_sub_clear(&kept);
	graph_client_free(c);
	config_free(&cfg);
}

/* libcurl re-sends a request on its own when a reused connection closes unanswered; a
 * create goes on a fresh connection, so a lost answer is reported and nothing doubles. */
static void
test_sub_create_fresh_connection(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub s, r, *v;
	json_t *faults;

	(void)state;
	c = sub_client(&cfg);
	graph_subs_free(sub_list(c, 0), 0);	/* a kept-alive connection now exists */
	json_decref(sim_http_ctl(sim.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"POST\",\"path\":\"/v1.0/subscriptions\",\"drop\":true}", 200));
	assert_int_equal(sub_create(c, ALICE, "inbox", "/notify", NULL, time(NULL) + HOUR, &s,
	    &f), -1);
	assert_int_equal(f.cls, REMOTE_TEMP);
	assert_int_equal(f.status, 0);
	assert_string_equal(f.code, "reset");
	graph_subs_free(sub_list(c, 0), 0);

	/* The same drop on a renew over a reused connection is hidden by that re-send: the
	 * create above would have been too. */
	if (sub_create(c, ALICE, "inbox", "/notify", NULL, time(NULL) + HOUR, &s, &f) != 0)
		fail_msg("create: %s", f.message);
	graph_subs_free(sub_list(c, 1), 1);
	json_decref(sim_http_ctl(sim.base_url, "POST", "/_sim/faults",
	    "{\"method\":\"PATCH\",\"path\":\"/v1.0/subscriptions\",\"drop\":true}", 200));
	if (graph_client_sub_renew(c, s.id, time(NULL) + 2 * HOUR, &r, &f) != 0)
		fail_msg("renew: %s", f.message);
	/* It was taken: a spent fault leaves the table. */
	faults = sim_http_ctl(sim.base_url, "GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(faults, "faults")), 0);
	json_decref(faults);
	v = sub_list(c, 1);
	graph_subs_free(v, 1);
	graph_sub_clear(&s);
	graph_sub_clear(&r);
	graph_client_free(c);
	config_free(&cfg);
}

/* The subscription is real: a mail to alice reaches the receiver as Graph's notification,
 * with the clientState and the immutable id asked for at create. */
static void
test_sub_notification(void **state)
{
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub s;
	struct hook_record rec;
	json_t *body, *n;
	char *id;

	(void)state;
	c = sub_client(&cfg);
	if (sub_create(c, ALICE, "inbox", "/alice", NULL, time(NULL) + HOUR, &s, &f) != 0)
		fail_msg("create: %s", f.message);
	assert_int_equal(hook_server_count(hook, "/alice"), 1);	/* the validation */
	id = deliver("jane@fabrikam.com", ALICE, "2024-06-01T10:00:00Z", "Ping", ALICE,
	    "inbox");
	assert_int_equal(hook_server_wait(hook, "/alice", 2, 5000), 2);
	assert_int_equal(hook_server_get(hook, "/alice", 1, &rec), 0);
	assert_string_equal(rec.method, "POST");
	assert_null(rec.token);
	body = json_loads(rec.body, 0, NULL);
	assert_non_null(body);
	assert_int_equal(json_array_size(json_object_get(body, "value")), 1);
	n = json_array_get(json_object_get(body, "value"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "subscriptionId")), s.id);
	assert_string_equal(json_string_value(json_object_get(n, "clientState")), STATE);
	assert_string_equal(json_string_value(json_object_get(n, "changeType")), "created");
	assert_string_equal(json_string_value(json_object_get(json_object_get(n,
	    "resourceData"), "id")), id);
	json_decref(body);
	hook_record_free(&rec);
	free(id);
	graph_sub_clear(&s);
	graph_client_free(c);
	config_free(&cfg);
}

/* graph-sim answers GET /subscriptions in one page; this stand-in for Graph pages it. */
enum pages_mode { PAGES_TWO, PAGES_LOOP, PAGES_OUTSIDE, PAGES_NO_ID };

struct pages {
	enum pages_mode mode;
	int port;
	int served;
};

static void
pages_handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct pages *p = arg;
	const char *skip = httpd_query(req, "$skiptoken");
	char next[160];
	json_t *page;

	__atomic_add_fetch(&p->served, 1, __ATOMIC_SEQ_CST);
	if (strcmp(req->path, "/v1.0/subscriptions") != 0 ||
	    httpd_header(req, "Authorization") == NULL) {
		httpd_respond_empty(resp, 404);
		return;
	}
	snprintf(next, sizeof(next), "http://127.0.0.1:%d/v1.0/subscriptions?$skiptoken=2",
	    p->mode == PAGES_OUTSIDE ? 1 : p->port);
	if (skip == NULL || p->mode == PAGES_LOOP) {
		page = json_pack("{s:[{s:s, s:s, s:s, s:n}, {s:s, s:s}], s:s}", "value",
		    "id", "s1", "resource", "users/a/events",
		    "expirationDateTime", "2030-01-02T03:04:05.1234567Z",
		    "lifecycleNotificationUrl",
		    "id", "s2", "expirationDateTime", "2030-01-02T03:04:05",
		    "@odata.nextLink", next);
	} else {
		/* Graph never sends these; nothing it sends may crash the client. */
		page = json_pack("{s:[{s:s, s:i, s:s}, {s:s, s:s}]}", "value",
		    "id", p->mode == PAGES_NO_ID ? "" : "s3", "resource", 7,
		    "expirationDateTime", "soon",
		    "id", "s4", "expirationDateTime", "2030-02-30T00:00:00Z");
	}
	httpd_respond_json(resp, 200, page);
}

static void
test_sub_list_pages(void **state)
{
	static const struct {
		enum pages_mode mode;
		int rc;
		const char *code;
		int served;
	} cases[] = {
		{ PAGES_TWO, 0, "", 2 },
		{ PAGES_LOOP, -1, "too_many_pages", 1000 },
		{ PAGES_OUTSIDE, -1, "bad_link", 1 },
		{ PAGES_NO_ID, -1, "bad_response", 2 },
	};
	struct pages p = { 0 };
	struct httpd *srv;
	struct config cfg;
	struct graph_client *c;
	struct remote_failure f;
	struct graph_sub *v;
	size_t n;

	(void)state;
	srv = standin_start(pages_handle, &p, &p.port, &cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.mode = cases[i].mode;
		__atomic_store_n(&p.served, 0, __ATOMIC_SEQ_CST);
		c = client_for(&cfg);
		assert_int_equal(graph_client_sub_list(c, &v, &n, &f), cases[i].rc);
		assert_string_equal(f.code, cases[i].code);
		assert_int_equal(__atomic_load_n(&p.served, __ATOMIC_SEQ_CST), cases[i].served);
		if (cases[i].rc == 0) {
			assert_int_equal(n, 4);
			assert_string_equal(v[0].id, "s1");
			assert_string_equal(v[0].resource, "users/a/events");
			assert_null(v[0].lifecycle_url);
			assert_int_equal(v[0].expires, 1893553445);	/* 2030-01-02T03:04:05Z */
			assert_null(v[1].resource);
			assert_int_equal(v[1].expires, 1893553445);	/* no zone: UTC */
			assert_string_equal(v[2].id, "s3");
			assert_null(v[2].resource);			/* not a string */
			assert_int_equal(v[2].expires, 0);		/* unreadable */
			assert_int_equal(v[3].expires, 0);		/* no such day */
			graph_subs_free(v, n);
		} else {
			assert_null(v);
			assert_int_equal(n, 0);
		}
		graph_client_free(c);
	}
	config_free(&cfg);
	httpd_stop(srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_login_secret, setup),
		cmocka_unit_test_setup(test_login_certificate, setup),
		cmocka_unit_test_setup(test_delegated_only, setup),
		cmocka_unit_test_setup(test_delta_pages, setup),
		cmocka_unit_test_setup(test_delta_moved, setup),
		cmocka_unit_test_setup(test_delta_expired, setup),
		cmocka_unit_test_setup(test_faults, setup),
		cmocka_unit_test_setup(test_bad_link, setup),
		cmocka_unit_test_setup(test_token_expiry, setup),
		cmocka_unit_test_setup(test_calendar_delta_pages, setup),
		cmocka_unit_test_setup(test_calendar_delta_changes, setup),
		cmocka_unit_test_setup(test_calendar_delta_times, setup),
		cmocka_unit_test_setup(test_calendar_delta_expired, setup),
		cmocka_unit_test_setup(test_calendar_delta_denied, setup),
		cmocka_unit_test_setup(test_calendar_delta_request, setup),
		cmocka_unit_test_setup(test_mailboxes, setup),
		cmocka_unit_test_setup(test_mailboxes_group_denied, setup),
		cmocka_unit_test(test_sub_resource),
		cmocka_unit_test_setup(test_sub_create_list, setup),
		cmocka_unit_test_setup(test_sub_renew, setup),
		cmocka_unit_test_setup(test_sub_delete, setup),
		cmocka_unit_test_setup(test_sub_create_refused, setup),
		cmocka_unit_test_setup(test_sub_faults, setup),
		cmocka_unit_test_setup(test_sub_create_fresh_connection, setup),
		cmocka_unit_test_setup(test_sub_notification, setup),
		cmocka_unit_test_setup(test_sub_list_pages, setup),
		cmocka_unit_test_setup(test_page_with_nul, setup),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, group_setup,
	    group_teardown));
}
