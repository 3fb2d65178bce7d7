/* test_doctor.c: the real `olsync doctor` against graph-sim and sf-sim configured wrongly in each
 * way it checks (a configuration that does not load; a database without its directory, locked by
 * another writer, read-only for a non-root runner, made by an older olsync (a warning) or a newer
 * one; a Graph app with delegated consent only, without Calendars.Read, without User.Read.All
 * for `mailboxes all` or a group; mailboxes an application access policy refuses
 * (RestrictAccess, DenyAccess); a webhook that does not validate or does not run; wrong
 * Salesforce credentials; objects the user may not create or edit; each key field missing, of
 * the wrong type, not External ID or not Unique; the API allowance nearly or wholly spent): the
 * exact line of each failing check and a non-zero exit; and a correct world with the daemon
 * running, where every line is ok and the exit is 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "e2e.h"
#include "ledger.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "store.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define ALICE		"alice@contoso.com"
#define BOB		"bob@contoso.com"
#define APP_DELEGATED	"0d7c3a1e-5f2b-4c8d-9e6a-1b2c3d4e5f60"	/* scopes only */
#define APP_NO_CAL	"0d7c3a1e-5f2b-4c8d-9e6a-1b2c3d4e5f61"	/* no Calendars.Read */
#define APP_POLICY	"0d7c3a1e-5f2b-4c8d-9e6a-1b2c3d4e5f62"	/* policy: Alice only */
#define APP_DENY	"0d7c3a1e-5f2b-4c8d-9e6a-1b2c3d4e5f63"	/* policy: not Alice */
#define APP_GROUP	"0d7c3a1e-5f2b-4c8d-9e6a-1b2c3d4e5f64"	/* members, not users */
#define GROUP_ALICE	"5a1e5000-0000-4000-8000-00000000aaaa"
#define FIX		" -- fix: "

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port;		/* the correct world's webhook */

static int
setup(void **state)
{
	char *extra;
	json_t *r;

	(void)state;
	extra = e2e_realtime_lines(&port, NULL);
	if (e2e_world_start(&world, "test_doctor", E2E_SF_REPS, E2E_SF_CAROL, E2E_GRAPH_REPS,
	    ALICE ", " BOB, extra) == -1) {
		free(extra);
		return -1;
	}
	free(extra);
	/* The misconfigured apps beside the good one (same secret), and a mail-enabled group
	 * holding Alice alone for the policy. */
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/seed", "{\"apps\":["
	    "{\"clientId\":\"" APP_DELEGATED "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"scopes\":[\"Mail.Read\",\"Calendars.Read\"]},"
	    "{\"clientId\":\"" APP_NO_CAL "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\"]},"
	    "{\"clientId\":\"" APP_POLICY "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"Calendars.Read\"]},"
	    "{\"clientId\":\"" APP_DENY "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"Calendars.Read\"]},"
	    "{\"clientId\":\"" APP_GROUP "\",\"secret\":\"" E2E_GRAPH_SECRET "\","
	    "\"roles\":[\"Mail.Read\",\"Calendars.Read\",\"GroupMember.Read.All\"]}],"
	    "\"groups\":[{\"id\":\"" GROUP_ALICE "\",\"displayName\":\"Sales reps\","
	    "\"mail\":\"sales-reps@contoso.com\",\"members\":[\"" ALICE "\"]}]}", 200);
	json_decref(r);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/policies", "{\"appId\":\""
	    APP_POLICY "\",\"groupId\":\"" GROUP_ALICE "\",\"accessRight\":\"RestrictAccess\"}",
	    200);
	json_decref(r);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/policies", "{\"appId\":\""
	    APP_DENY "\",\"groupId\":\"" GROUP_ALICE "\",\"accessRight\":\"DenyAccess\"}", 200);
	json_decref(r);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200);
	json_decref(r);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return e2e_world_teardown(&world, &daemon_proc);
}

/* A configuration dir/name for the emulators: the world's, with the Graph app, the Salesforce
 * login URL and user and the database given, then the lines of extra; the mailboxes are Alice
 * and Bob unless extra starts with its own mailboxes line. Returns its path; caller frees. */
static char *
conf_make(const char *name, const char *app, const char *sf_url, const char *sf_user,
    const char *database, const char *extra)
{
	/* extra may name the mailboxes itself. */
	int own = extra != NULL && strncmp(extra, "mailboxes ", 10) == 0;
	char *text = xasprintf("graph_tenant contoso.com\ngraph_client_id %s\n"
	    "graph_client_secret env:OLSYNC_TEST_GRAPH_SECRET\ngraph_base_url %s/v1.0\n"
	    "graph_login_url %s\nsf_login_url %s\nsf_auth jwt\nsf_client_id " E2E_SF_APP "\n"
	    "sf_username %s\nsf_private_key_file sf-key.pem\n%s"
	    "internal_domains contoso.com\ndatabase %s\n%s", app, world.graph.base_url,
	    world.graph.base_url, sf_url, sf_user, own ? "" : "mailboxes " ALICE ", " BOB "\n",
	    database, extra != NULL ? extra : "");

	tmpdir_write(world.dir, name, text, 0644);
	free(text);
	return xasprintf("%s/%s", world.dir, name);
}

/* A configuration with one thing changed from the correct world's (no real time). */
static char *
conf_simple(const char *name, const char *app, const char *sf_user)
{
	return conf_make(name, app, world.sf.p.base_url, sf_user, "ledger.db", NULL);
}

/* Runs `olsync -c conf doctor`; returns its exit status, its output in *out (caller frees). */
static int
doctor(const char *conf, char **out)
{
	char *err;
	int rc = e2e_run(world.dir, out, &err, "-c", conf, "doctor", NULL);

	/* For whoever reads a failing test: what the operator would have seen. */
	fputs(*out, stderr);
	free(err);
	return rc;
}

/* The line of out that starts with prefix (the level and what was checked), or NULL; caller
 * frees. */
static char *
line_of(const char *out, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = out; *p != '\0';) {
		const char *end = p + strcspn(p, "\n");

		if ((size_t)(end - p) >= n && strncmp(p, prefix, n) == 0)
			return xstrndup(p, (size_t)(end - p));
		p = *end == '\n' ? end + 1 : end;
	}
	return NULL;
}

/* out must hold exactly the line want. */
static void
expect_line(const char *out, const char *want)
{
	const char *sep = strstr(want, ": ");
	char *prefix = xstrndup(want, sep != NULL ? (size_t)(sep - want) : strlen(want));
	char *got = line_of(out, prefix);

	if (got == NULL)
		fail_msg("no line starting \"%s\" in:\n%s", prefix, out);
	assert_string_equal(got, want);
	free(got);
	free(prefix);
}

/* The line that starts with prefix exists and ends with suffix (its middle is the system's
 * wording). */
static void
expect_line_ends(const char *out, const char *prefix, const char *suffix)
{
	char *got = line_of(out, prefix);
	size_t n, m = strlen(suffix);

	if (got == NULL)
		fail_msg("no line starting \"%s\" in:\n%s", prefix, out);
	n = strlen(got);
	if (n < m || strcmp(got + n - m, suffix) != 0)
		fail_msg("line \"%s\" does not end with \"%s\"", got, suffix);
	free(got);
}

/* Every line but the summary is ok, and the summary says so. */
static void
expect_all_ok(const char *out)
{
	int lines = 0;

	for (const char *p = out; *p != '\0';) {
		const char *end = p + strcspn(p, "\n");

		if (strncmp(p, "all checks passed", 17) != 0 && strncmp(p, "ok    ", 6) != 0)
			fail_msg("not ok: %.*s\nin:\n%s", (int)(end - p), p, out);
		lines++;
		p = *end == '\n' ? end + 1 : end;
	}
	/* config, database, token, 2 permissions, 2 mailboxes, endpoint, login, 5 objects,
	 * 3 fields, budget, the summary */
	assert_int_equal(lines, 19);
	assert_non_null(strstr(out, "\nall checks passed\n"));
}

#define FIX_PERMS(p) FIX "in the Entra admin center, App registrations > the app > API " \
	"permissions > Add a permission > Microsoft Graph > Application permissions, add " p \
	", then Grant admin consent"

static void
test_correct_world(void **state)
{
	char *out, *want;

	(void)state;
	/* Before the first start: no database yet, no webhook. */
	assert_int_equal(doctor(world.conf, &out), 1);
	want = xasprintf("ok    database %s/ledger.db: not created yet; its directory is "
	    "writable, so the first start creates it", world.dir);
	expect_line(out, want);
	free(want);
	free(out);

	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
	assert_int_equal(doctor(world.conf, &out), 0);
	expect_all_ok(out);
	expect_line(out, "ok    graph token: application permissions (roles Mail.Read, "
	    "User.Read.All, Calendars.Read)");
	expect_line(out, "ok    graph permission Calendars.Read: granted (olsync reads the "
	    "calendars (meetings yes))");
	expect_line(out, "ok    graph mailbox " BOB ": readable (mail and calendar)");
	expect_line(out, "ok    salesforce object Task: readable, createable, updateable");
	expect_line(out, "ok    salesforce field Task.OutlookMessageId__c: string, External ID, "
	    "Unique");
	expect_line(out, "ok    salesforce field Opportunity.Next_Meeting_Date__c: datetime");
	free(out);
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);

	/* The same configuration with the daemon stopped: nobody answers Graph's handshake. */
	assert_int_equal(doctor(world.conf, &out), 1);
	want = xasprintf("FAIL  subscription endpoint http://127.0.0.1:%d/graph/notify: nothing "
	    "answers (Couldn't connect to server)" FIX "start olsync run (the endpoint is the running "
	    "daemon's), and make public_url lead to listen (reverse proxy, firewall, DNS)", port);
	expect_line(out, want);
	free(want);
	free(out);
}

static void
test_bad_config(void **state)
{
	char *conf, *out, *want;

	(void)state;
	tmpdir_write(world.dir, "bad.conf", "graph_tenant contoso.com\nsync_intervall 5m\n", 0644);
	conf = xasprintf("%s/bad.conf", world.dir);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  config: %s:2: unknown key 'sync_intervall' (did you mean "
	    "'sync_interval'?)" FIX "correct the configuration (docs/configuration.md)", conf);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "failed: the other checks need the configuration\n"));
	/* Nothing after the configuration is checked. */
	assert_null(strstr(out, "database"));
	free(want);
	free(out);
	free(conf);
}

/* Sets PRAGMA user_version of the SQLite file at path to v (v < 0: leaves it); returns the
 * value it had. */
static int
user_version(const char *path, int v)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[64];
	int old = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		old = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(db);
	assert_true(old > 0);
	return old;
}

static void
test_database_file(void **state)
{
	char *conf, *out, *want, *path, err[256];
	int version;
	struct ledger *l;
	sqlite3 *db;

	(void)state;
	/* A directory that is not there. */
	conf = conf_make("nodir.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "nodir/ledger.db", NULL);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  database %s/nodir/ledger.db: cannot be used: its directory "
	    "%s/nodir does not exist" FIX "make the directory (owned by the user olsync runs "
	    "as), or point database at a SQLite file olsync may create", world.dir, world.dir);
	expect_line(out, want);
	free(want);
	free(out);
	free(conf);

	/* A ledger whose write lock another process holds (root writes any file, so a mode
	 * cannot make it read-only for every test runner; a lock can). */
	path = xasprintf("%s/locked.db", world.dir);
	if (ledger_open(path, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	ledger_close(l);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	conf = conf_make("locked.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "locked.db", NULL);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  database %s: not writable: another process held its write lock "
	    "for 2000 ms (database is locked)" FIX "find the process that holds it (a second "
	    "olsync on the same database, a sqlite3 shell left in a transaction: fuser the file) "
	    "and stop it", path);
	expect_line(out, want);
	free(want);
	free(out);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);

	/* Released, the same database passes (and so does everything else). */
	assert_int_equal(doctor(conf, &out), 0);
	version = user_version(path, -1);
	want = xasprintf("ok    database %s: opens, schema version %d is current, writable", path,
	    version);
	expect_line(out, want);
	free(want);
	free(out);

	/* Made by an older olsync: a warning, and the exit status stays 0. */
	user_version(path, version - 1);
	assert_int_equal(doctor(conf, &out), 0);
	want = xasprintf("warn  database %s: schema version %d of %d, migrations pending" FIX
	    "nothing to do: the next olsync start migrates it (back the file up first if you may "
	    "go back to the older olsync)", path, version - 1, version);
	expect_line(out, want);
	assert_non_null(strstr(out, "\nall checks passed (see the warnings)\n"));
	free(want);
	free(out);

	/* Made by a newer one. */
	user_version(path, version + 1);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  database %s: schema version %d is newer than this olsync's (%d)"
	    FIX "run the newer olsync that made it, or point database at another file", path,
	    version + 1, version);
	expect_line(out, want);
	free(want);
	free(out);
	user_version(path, version);

	/* Read-only for the user (only a non-root runner can see this one). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(path, 0400), 0);
		assert_int_equal(doctor(conf, &out), 1);
		want = xasprintf("FAIL  database %s: not writable: the file is read-only for "
		    "this user" FIX "let the user olsync runs as write the file and its directory "
		    "(chown, chmod u+w; a read-only mount will not do)", path);
		expect_line(out, want);
		free(want);
		free(out);
		assert_int_equal(chmod(path, 0600), 0);
	} else {
		fprintf(stderr, "test_doctor: running as root: the read-only file case is "
		    "skipped\n");
	}
	free(conf);
	free(path);
}

/* The Graph side wrongly configured, one app each: its configuration, and lines doctor must
 * print (exactly). */
#define FIX_POLICY(mb, app) FIX "an Exchange admin lets the app in: with an application " \
	"access policy, add the mailbox to the policy's group (check with " \
	"Test-ApplicationAccessPolicy -Identity " mb " -AppId " app "); with RBAC for " \
	"Applications, widen the management scope (Test-ServicePrincipalAuthorization); or " \
	"remove " mb " from mailboxes. Changes can take an hour to apply"
#define POLICY_REFUSED "mail refused by an application access policy or RBAC for " \
	"Applications (403 ErrorAccessDenied: Access to OData is disabled.)"

static const struct graph_case {
	const char *conf, *app;
	const char *extra;		/* more configuration lines, or NULL */
	const char *lines[5];
} graph_cases[] = {
	{ "delegated.conf", APP_DELEGATED, NULL, {
	    "FAIL  graph token: delegated permissions only (scp Mail.Read Calendars.Read), no "
	    "application permission: olsync runs as a daemon without a user and can use "
	    "application permissions only" FIX_PERMS("Mail.Read, Calendars.Read"),
	    "FAIL  graph permission Mail.Read: not granted (olsync reads the Inbox and Sent Items "
	    "of every mailbox)" FIX_PERMS("Mail.Read"),
	    "skip  graph mailboxes: not checked (no usable token)" } },
	{ "nocal.conf", APP_NO_CAL, NULL, {
	    "ok    graph token: application permissions (roles Mail.Read)",
	    "ok    graph permission Mail.Read: granted (olsync reads the Inbox and Sent Items of "
	    "every mailbox)",
	    "FAIL  graph permission Calendars.Read: not granted (olsync reads the calendars "
	    "(meetings yes))" FIX_PERMS("Calendars.Read"),
	    "FAIL  graph mailbox " ALICE ": graph: calendar of " ALICE ": access denied (403 "
	    "ErrorAccessDenied): the app registration needs the application permission "
	    "Calendars.Read (not delegated) with admin consent" FIX "grant the permission named, "
	    "as an Application permission with admin consent" } },
	/* RestrictAccess to a group of Alice alone. */
	{ "policy.conf", APP_POLICY, NULL, {
	    "ok    graph mailbox " ALICE ": readable (mail and calendar)",
	    "FAIL  graph mailbox " BOB ": " POLICY_REFUSED FIX_POLICY(BOB, APP_POLICY) } },
	/* DenyAccess to the same group: the other way round. */
	{ "deny.conf", APP_DENY, NULL, {
	    "FAIL  graph mailbox " ALICE ": " POLICY_REFUSED FIX_POLICY(ALICE, APP_DENY),
	    "ok    graph mailbox " BOB ": readable (mail and calendar)" } },
	/* An address without a mailbox in the tenant. */
	{ "nobody.conf", E2E_GRAPH_APP, "mailboxes " ALICE ", nobody@contoso.com\n", {
	    "ok    graph mailbox " ALICE ": readable (mail and calendar)",
	    "FAIL  graph mailbox nobody@contoso.com: no such mailbox: graph: inbox of "
	    "nobody@contoso.com: 404 ErrorInvalidUser: The requested user 'nobody@contoso.com' is "
	    "invalid." FIX "check the address in mailboxes; the user needs an Exchange Online "
	    "mailbox (a license)" } },
	/* Every user: the directory must be readable. */
	{ "all.conf", APP_NO_CAL, "mailboxes all\nmeetings no\n", {
	    "ok    graph permission Mail.Read: granted (olsync reads the Inbox and Sent Items of "
	    "every mailbox)",
	    "FAIL  graph permission User.Read.All: not granted (olsync lists the users "
	    "(mailboxes all))" FIX_PERMS("User.Read.All"),
	    "FAIL  graph mailboxes: cannot be listed: graph: list users: access denied (403 "
	    "Authorization_RequestDenied): the app registration needs the application permission "
	    "User.Read.All (not delegated) with admin consent" FIX "see the reason (mailboxes in "
	    "the configuration)" } },
	/* A group's members: listing them is not enough, their addresses need a user read. */
	{ "group.conf", APP_GROUP, "mailboxes group:" GROUP_ALICE "\n", {
	    "ok    graph permission GroupMember.Read.All: granted (olsync lists the group's "
	    "members (mailboxes group:))",
	    "FAIL  graph permission User.Read.All: not granted (olsync reads the members' "
	    "addresses (mailboxes group:))" FIX_PERMS("User.Read.All"),
	    "FAIL  graph mailboxes: cannot be listed: graph: list members of group " GROUP_ALICE
	    " (is the group id right, and is /groups served?): members come back without their "
	    "addresses: grant the application permission User.Read.All (not delegated) so their "
	    "mailboxes can be found" FIX "see the reason (mailboxes in the configuration)" } },
};

/* A PostgreSQL database: a server that is not there fails with the fix; a new database warns
 * that the first start migrates it (doctor creates nothing: it stays at version 0); a migrated
 * one passes, and so does everything else. */
static void
test_database_postgresql(void **state)
{
	char *conf, *out, *want, *uri, *bad, err[512];
	struct store *s;
	struct ledger *l;
	const char *colon;

	(void)state;
	if (!test_database_is_pg())
		skip();	/* needs the suite's PostgreSQL (test_doctor_pg) */
	uri = test_database(world.dir, "doctor");
	assert_non_null(uri);
	/* the same server and database on a port nobody listens on */
	colon = strrchr(uri, ':');
	assert_non_null(colon);
	bad = xasprintf("%.*s:1%s", (int)(colon - uri), uri, colon + strcspn(colon, "/"));
	conf = conf_make("pg-bad.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER, bad,
	    NULL);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  database %s: postgresql: cannot connect: ", bad);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "database_password_file"));
	free(want);
	free(out);
	free(conf);

	conf = conf_make("pg.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER, uri, NULL);
	assert_int_equal(doctor(conf, &out), 0);
	want = xasprintf("warn  database %s: schema version 0 of %d, migrations pending" FIX
	    "nothing to do: the next olsync start migrates it (one instance does it; the others "
	    "wait)", uri, ledger_schema_current());
	expect_line(out, want);
	free(want);
	free(out);
	assert_int_equal(store_open(uri, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(store_version(s, err, sizeof(err)), 0);
	store_close(s);

	if (ledger_open(uri, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	ledger_close(l);
	assert_int_equal(doctor(conf, &out), 0);
	want = xasprintf("ok    database %s: connects, schema version %d is current", uri,
	    ledger_schema_current());
	expect_line(out, want);
	free(want);
	free(out);
	free(conf);
	free(bad);
	test_database_drop(uri);
	free(uri);
}

static void
test_graph_wrong(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(graph_cases) / sizeof(graph_cases[0]); i++) {
		const struct graph_case *c = &graph_cases[i];
		char *conf = conf_make(c->conf, c->app, world.sf.p.base_url, E2E_SF_USER,
		    "ledger.db", c->extra), *out;

		assert_int_equal(doctor(conf, &out), 1);
		for (size_t k = 0; k < 5 && c->lines[k] != NULL; k++)
			expect_line(out, c->lines[k]);
		free(out);
		free(conf);
	}
}

/* graph-sim's policy knob beyond what doctor reads: its refusals, the list, and the subscription
 * create Exchange refuses on a mailbox the policy keeps the app from. */
static void
test_policy_knob(void **state)
{
	const char *g = world.graph.base_url;
	struct sim_http h;
	char *body;
	json_t *r;

	(void)state;
	r = sim_http_ctl(g, "POST", "/_sim/seed", "{\"groups\":[{\"id\":"
	    "\"5a1e5000-0000-4000-8000-00000000bbbb\",\"displayName\":\"No mail\","
	    "\"members\":[\"" BOB "\"]}]}", 200);
	json_decref(r);
	r = sim_http_ctl(g, "POST", "/_sim/policies", "{\"appId\":\"" APP_POLICY "\","
	    "\"groupId\":\"5a1e5000-0000-4000-8000-00000000bbbb\",\"accessRight\":"
	    "\"RestrictAccess\"}", 400);
	assert_string_equal(json_string_value(json_object_get(r, "error")), "group "
	    "\"5a1e5000-0000-4000-8000-00000000bbbb\" is not mail-enabled: an application access "
	    "policy needs a mail-enabled security group");
	json_decref(r);
	r = sim_http_ctl(g, "POST", "/_sim/policies", "{\"appId\":\"" APP_POLICY "\","
	    "\"groupId\":\"" GROUP_ALICE "\",\"accessRight\":\"AllowAccess\"}", 400);
	json_decref(r);
	r = sim_http_ctl(g, "POST", "/_sim/policies", "{\"appId\":\"" APP_POLICY "\","
	    "\"groupId\":\"" GROUP_ALICE "\",\"accessRight\":\"DenyAccess\"}", 400);
	json_decref(r);
	r = sim_http_ctl(g, "GET", "/_sim/policies", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(r, "policies")), 2);
	json_decref(r);

	r = sim_http_ctl(g, "POST", "/_sim/token", "{\"clientId\":\"" APP_POLICY "\"}", 200);
	body = xasprintf("{\"changeType\":\"created\",\"notificationUrl\":"
	    "\"http://127.0.0.1:%d/graph/notify\",\"resource\":\"users/" BOB "/mailFolders('inbox')"
	    "/messages\",\"expirationDateTime\":\"2099-01-01T00:00:00Z\"}", port);
	sim_http_do(&h, g, "POST", "/v1.0/subscriptions", body,
	    json_string_value(json_object_get(r, "access_token")), NULL);
	sim_http_expect(&h, 403, "subscription create on a mailbox the policy refuses");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h.json, "error"),
	    "code")), "ExtensionError");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h.json, "error"),
	    "message")), "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access "
	    "to OData is disabled.]");
	sim_http_free(&h);
	free(body);
	json_decref(r);
}

static void
test_endpoint_not_validating(void **state)
{
	char *extra, *conf, *out, *want;
	int p = e2e_free_port();

	(void)state;
	/* public_url leads to something else (sf-sim here) than olsync's receiver. */
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url %s\n", p, world.sf.p.base_url);
	conf = conf_make("wrongurl.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "ledger.db", extra);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  subscription endpoint %s/graph/notify: answered 404 without the "
	    "validation token" FIX "public_url must lead to olsync's listen address with the "
	    "path unchanged (check the proxy's location and any path prefix); Graph creates no "
	    "subscription until the token comes back as it was sent", world.sf.p.base_url);
	expect_line(out, want);
	free(want);
	free(out);
	free(conf);
	free(extra);

	/* https where a plain HTTP server answers: no TLS, so no answer Graph could take. */
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url https://127.0.0.1:%d\n", p,
	    world.sf.p.port);
	conf = conf_make("notls.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "ledger.db", extra);
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  subscription endpoint https://127.0.0.1:%d/graph/notify: no "
	    "answer to the validation request (", world.sf.p.port);
	expect_line_ends(out, want, FIX "Graph gives the endpoint 10 s over HTTPS with a "
	    "certificate from a public authority: check the proxy in front of listen, the "
	    "certificate and the daemon's log");
	free(want);
	free(out);
	free(conf);
	free(extra);
}

static void
test_sf_login(void **state)
{
	char *conf = conf_simple("sfuser.conf", E2E_GRAPH_APP, "nobody@contoso.com"), *out, *want;

	(void)state;
	assert_int_equal(doctor(conf, &out), 1);
	want = xasprintf("FAIL  salesforce login: refused: sf: login as nobody@contoso.com (client "
	    "id " E2E_SF_APP ") at %s refused: invalid_grant: user hasn't approved this consumer"
	    FIX "check sf_login_url, sf_client_id (the connected app's consumer key), that "
	    "sf_username is pre-authorized for the app (Manage Connected Apps > Edit Policies: "
	    "admin approved users, and the user's profile or permission set) and that the app "
	    "holds the certificate of sf_private_key", world.sf.p.base_url);
	expect_line(out, want);
	free(want);
	expect_line(out, "skip  salesforce object Task: not checked (no login)");
	expect_line(out, "skip  salesforce field Task.OutlookMessageId__c: not checked (no "
	    "describe of Task)");
	expect_line(out, "skip  salesforce api budget: not checked (no login)");
	free(out);
	free(conf);
}

/* ---- Salesforce metadata: a second sf-sim serving an edited schema file ---- */

/* The index of the member of array whose "name" is name; fails the test without one. */
static size_t
named(json_t *array, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(array, i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return i;
	fail_msg("no %s in the schema", name);
	return 0;
}

/* sf-sim's default schema, to edit (caller decrefs). */
static json_t *
schema_load(void)
{
	json_t *schema = json_load_file(sim_proc_source("sim/sf/schema.json"), 0, NULL);

	assert_non_null(schema);
	return schema;
}

/* The object obj of schema (borrowed). */
static json_t *
schema_object(json_t *schema, const char *obj)
{
	json_t *objects = json_object_get(schema, "objects");

	return json_array_get(objects, named(objects, obj));
}

/* Sets key of obj.field to v (stolen), or with key NULL removes the field. */
static void
schema_set(json_t *schema, const char *obj, const char *field, const char *key, json_t *v)
{
	json_t *o = schema_object(schema, obj);
	size_t i = named(json_object_get(o, "fields"), field);

	if (key == NULL)
		json_array_remove(json_object_get(o, "fields"), i);
	else
		json_object_set_new(json_array_get(json_object_get(o, "fields"), i), key, v);
}

/* An sf-sim serving schema (written to world.dir/name), seeded with the integration user and
 * its connected app. */
static void
sf_start_schema(struct sim_proc *p, json_t *schema, const char *name)
{
	char *path = xasprintf("%s/%s", world.dir, name), *app, *user, *seed;
	char *argv[] = { (char *)sim_proc_binary("sf-sim"), "--listen", "127.0.0.1:0", "--db",
		":memory:", "--schema", path, NULL };
	json_t *r;

	assert_int_equal(json_dump_file(schema, path, 0), 0);
	assert_int_equal(sim_proc_start(p, argv), 0);
	e2e_sf_login_seed(world.dir, &app, &user);
	seed = xasprintf("{\"User\":[%s],%s}", user, app);
	r = sim_http_ctl(p->base_url, "POST", "/_sim/seed", seed, 200);
	json_decref(r);
	free(seed);
	free(user);
	free(app);
	free(path);
}

#define FIX_FIELD_KEY(obj, f) FIX "in Setup > Object Manager > " obj " > Fields & " \
	"Relationships > " f " > Edit, tick External ID and Unique (treat values as " \
	"case-insensitive) and let the integration user edit it (Set Field-Level Security); " \
	"or deploy salesforce/ with the Salesforce CLI"

static void
test_sf_metadata_flags(void **state)
{
	json_t *schema = schema_load();
	struct sim_proc sf;
	char *conf, *out;

	(void)state;
	json_object_set_new(schema_object(schema, "Task"), "createable", json_false());
	schema_set(schema, "Task", "OutlookMessageId__c", "unique", json_false());
	schema_set(schema, "Event", "OutlookEventId__c", "externalId", json_false());
	schema_set(schema, "Opportunity", "Next_Meeting_Date__c", "type", json_string("string"));
	json_object_set_new(schema_object(schema, "EmailMessage"), "createable", json_false());
	sf_start_schema(&sf, schema, "schema-flags.json");
	conf = conf_make("flags.conf", E2E_GRAPH_APP, sf.base_url, E2E_SF_USER, "ledger.db",
	    NULL);
	assert_int_equal(doctor(conf, &out), 1);
	expect_line(out, "FAIL  salesforce object Task: not createable for the integration user "
	    "(olsync upserts a Task per email)" FIX "give the integration user Read, Create, Edit "
	    "on Task (Setup > Permission Sets > the integration user's set > Object Settings > "
	    "Task), or assign the permission set in salesforce/");
	expect_line(out, "ok    salesforce object Event: readable, createable, updateable");
	expect_line(out, "FAIL  salesforce field Task.OutlookMessageId__c: not Unique"
	    FIX_FIELD_KEY("Activity", "OutlookMessageId__c"));
	expect_line(out, "FAIL  salesforce field Event.OutlookEventId__c: not External ID"
	    FIX_FIELD_KEY("Activity", "OutlookEventId__c"));
	expect_line(out, "FAIL  salesforce field Opportunity.Next_Meeting_Date__c: type string, "
	    "must be Date or Date/Time" FIX "in Setup > Object Manager > Opportunity > Fields & "
	    "Relationships > Next_Meeting_Date__c, change its type to Date or Date/Time (or "
	    "delete it and create it again), or deploy salesforce/ with the Salesforce CLI");
	/* mode task writes no EmailMessage: not checked. */
	assert_null(strstr(out, "EmailMessage"));
	free(out);
	free(conf);

	/* mode both does. */
	conf = conf_make("flags-both.conf", E2E_GRAPH_APP, sf.base_url, E2E_SF_USER, "ledger.db",
	    "mode both\n");
	assert_int_equal(doctor(conf, &out), 1);
	expect_line(out, "FAIL  salesforce object EmailMessage: not createable for the "
	    "integration user (olsync creates EmailMessages (mode emailmessage or both))" FIX
	    "give the integration user Read, Create on EmailMessage (Setup > Permission Sets > "
	    "the integration user's set > Object Settings > EmailMessage), or assign the "
	    "permission set in salesforce/");
	expect_line(out, "ok    salesforce field EmailMessage.MessageIdentifier: string");
	free(out);
	free(conf);
	assert_int_equal(sim_proc_stop_clean(&sf, "sf-sim"), 0);
	json_decref(schema);
}

static void
test_sf_metadata_missing(void **state)
{
	json_t *schema = schema_load();
	struct sim_proc sf;
	char *conf, *out;

	(void)state;
	json_object_set_new(schema_object(schema, "Lead"), "updateable", json_false());
	schema_set(schema, "Task", "OutlookMessageId__c", NULL, NULL);
	schema_set(schema, "Event", "OutlookEventId__c", "type", json_string("textarea"));
	schema_set(schema, "Opportunity", "Next_Meeting_Date__c", NULL, NULL);
	sf_start_schema(&sf, schema, "schema-missing.json");
	conf = conf_make("missing.conf", E2E_GRAPH_APP, sf.base_url, E2E_SF_USER, "ledger.db",
	    NULL);
	assert_int_equal(doctor(conf, &out), 1);
	expect_line(out, "FAIL  salesforce object Lead: not updateable for the integration user "
	    "(olsync matches and creates Leads (create_leads yes))" FIX "give the integration "
	    "user Read, Create, Edit on Lead (Setup > Permission Sets > the integration user's "
	    "set > Object Settings > Lead), or assign the permission set in salesforce/");
	expect_line(out, "FAIL  salesforce field Task.OutlookMessageId__c: missing, or hidden "
	    "from the integration user by field-level security" FIX "create it in Setup > Object "
	    "Manager > Activity > Fields & Relationships > New: Text(255), External ID, Unique "
	    "(case-insensitive), and make it visible to the integration user (field-level "
	    "security); or deploy salesforce/ with the Salesforce CLI");
	expect_line(out, "FAIL  salesforce field Event.OutlookEventId__c: type textarea, must be "
	    "Text(255)" FIX "in Setup > Object Manager > Activity > Fields & Relationships > "
	    "OutlookEventId__c, change its type to Text(255) (or delete it and create it again), "
	    "or deploy salesforce/ with the Salesforce CLI");
	expect_line(out, "FAIL  salesforce field Opportunity.Next_Meeting_Date__c: missing, or "
	    "hidden from the integration user by field-level security" FIX "create it in Setup > "
	    "Object Manager > Opportunity > Fields & Relationships > New: Date or Date/Time, and "
	    "make it visible to the integration user (field-level security); or deploy "
	    "salesforce/ with the Salesforce CLI");
	free(out);
	free(conf);
	assert_int_equal(sim_proc_stop_clean(&sf, "sf-sim"), 0);
	json_decref(schema);
}

static void
test_budget_exhausted(void **state)
{
	char *conf = conf_simple("budget.conf", E2E_GRAPH_APP, E2E_SF_USER), *out, *path;
	char err[256];
	struct ledger *l;
	json_t *r;

	(void)state;
	/* The org has 9 calls left: doctor's /limits and 5 describes leave 3, fewer than a
	 * batch needs; everything else passes. */
	r = sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"daily_api_limit\":1000,\"api_used\":991}", 200);
	json_decref(r);
	assert_int_equal(doctor(conf, &out), 1);
	assert_non_null(strstr(out, "\n1 failed, 0 warnings\n"));
	expect_line(out, "FAIL  salesforce api budget: the org has 3 of 1000 daily API calls "
	    "left, less than one batch needs (6)" FIX "wait until the rolling 24 hours free "
	    "calls, find what spends them (Setup > System Overview) or buy more");
	free(out);

	/* Spent altogether: even /limits is refused. */
	r = sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config", "{\"api_used\":1000}", 200);
	json_decref(r);
	assert_int_equal(doctor(conf, &out), 1);
	expect_line(out, "FAIL  salesforce api budget: the org's daily API allowance is spent "
	    "(GET /services/data/v62.0/limits: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit "
	    "exceeded.)" FIX "wait until the rolling 24 hours free calls, find what spends them "
	    "(Setup > System Overview, API usage reports) or buy more; lower sf_budget_share if "
	    "olsync should leave more to others");
	/* The describes fail the same way, and say where to look. */
	expect_line(out, "FAIL  salesforce object Task: describe failed: GET "
	    "/services/data/v62.0/sobjects/Task/describe: REQUEST_LIMIT_EXCEEDED: TotalRequests "
	    "Limit exceeded." FIX "see the API budget line");
	free(out);
	free(conf);

	/* Short: under 5 % of the org's allowance left after doctor's 6 calls (34 of 1000), on a
	 * new ledger (olsync has spent nothing): a warning, exit 0. */
	r = sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config", "{\"api_used\":960}", 200);
	json_decref(r);
	conf = conf_make("short.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "short.db", NULL);
	assert_int_equal(doctor(conf, &out), 0);
	expect_line(out, "warn  salesforce api budget: short, live mail only: olsync used 0 of its "
	    "500, the org has 34 of 1000 left" FIX "raise sf_budget_share or the org's allowance, "
	    "or find what spends the org's calls (Setup > System Overview), if backfill should "
	    "go on");
	assert_non_null(strstr(out, "\nall checks passed (see the warnings)\n"));
	free(out);
	free(conf);
	r = sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"daily_api_limit\":100000,\"api_used\":0}", 200);
	json_decref(r);

	/* olsync's own share spent (its ledger counts 1000 calls, 1 % of 100000), the org's
	 * allowance nowhere near. */
	path = xasprintf("%s/share.db", world.dir);
	if (ledger_open(path, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open: %s", err);
	assert_int_equal(ledger_api_add(l, (int64_t)time(NULL), 1000, 0), 0);
	ledger_close(l);
	conf = conf_make("share.conf", E2E_GRAPH_APP, world.sf.p.base_url, E2E_SF_USER,
	    "share.db", "sf_budget_share 1\n");
	assert_int_equal(doctor(conf, &out), 1);
	expect_line(out, "FAIL  salesforce api budget: olsync's share is spent: 1000 of 1000 "
	    "calls in 24 h (sf_budget_share 1% of 100000)" FIX "raise sf_budget_share, or wait: "
	    "olsync writes again when the last 24 hours leave room (olsync status says when)");
	free(out);
	free(conf);
	free(path);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_correct_world),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_database_file),
		cmocka_unit_test(test_database_postgresql),
		cmocka_unit_test(test_graph_wrong),
		cmocka_unit_test(test_policy_knob),
		cmocka_unit_test(test_endpoint_not_validating),
		cmocka_unit_test(test_sf_login),
		cmocka_unit_test(test_sf_metadata_flags),
		cmocka_unit_test(test_sf_metadata_missing),
		cmocka_unit_test(test_budget_exhausted),
	};

	/* test_doctor_pg runs the PostgreSQL test alone: the others check SQLite files */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
