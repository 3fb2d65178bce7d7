/* test_batching.c: what a backfill costs in Salesforce API calls, end to end: 1,000 emails from
 * 300 known Contacts and Leads and 20 unknown senders, read and written by the real `olsync sync
 * --once` against graph-sim and sf-sim, every email logged exactly once within a few calls (sf-sim
 * counts them); a pass with no new mail costs none; one collection of a packed write failing as
 * a whole (a subrequest fault) fails its records alone, which the next pass logs; reading the
 * same mail again with a fresh ledger doubles nothing; and the reps' Users are looked up once an
 * hour, not at every pass. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "e2e.h"
#include "engine.h"
#include "graph_client.h"
#include "ledger.h"
#include "mono.h"
#include "normalize.h"
#include "sf_client.h"
#include "sim_http.h"
#include "testdb.h"
#include "xmalloc.h"

#define CONTACTS	240
#define LEADS		60
#define UNKNOWN		20
#define PEOPLE		(CONTACTS + LEADS + UNKNOWN)
#define BACKFILL	1000	/* emails of the first pass */
#define OPPS		40	/* Contacts 0..OPPS-1 have one open Opportunity each */
#define SMALL		40	/* emails of a real-time sized batch */
#define FAULTED		450	/* emails of the subrequest-fault round: three collections */
/* What a backfill of 1,000 emails may cost: one /composite of lookups (Contacts, Leads,
 * Opportunity roles, Users), one sObject Collections call for the 20 new Leads, one /composite
 * carrying the 1,000 Tasks as five collections of 200; and, because the ledger is new, one
 * GET /limits, the API budget learning the org's allowance before it spends (budget.c). */
#define BACKFILL_CALLS	4
#define SF_DATA		"/services/data/v62.0/"

static struct e2e_world world;
static char when[40];
static json_t *mids;		/* name -> internetMessageId */
static size_t nmails;

static int
setup(void **state)
{
	time_t t = time(NULL) - 86400;
	struct tm tm;
	char *rest, *conf, *p, *contacts = xstrdup(""), *leads = xstrdup(""), *opps = xstrdup("");
	char *roles = xstrdup("");
	int rc;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT10:00:00Z", &tm);
	for (int i = 0; i < CONTACTS; i++) {
		p = xasprintf("%s%s{\"_key\":\"c%d\",\"FirstName\":\"Cora\",\"LastName\":\"Contact%d\","
		    "\"Email\":\"contact%03d@customer-%02d.example\",\"AccountId\":\"@acct\"}",
		    contacts, i ? "," : "", i, i, i, i % 30);
		free(contacts);
		contacts = p;
	}
	for (int i = 0; i < LEADS; i++) {
		p = xasprintf("%s%s{\"_key\":\"l%d\",\"LastName\":\"Lead%d\",\"Company\":\"Prospect\","
		    "\"Email\":\"lead%03d@prospect-%02d.example\"}", leads, i ? "," : "", i, i, i,
		    i % 10);
		free(leads);
		leads = p;
	}
	for (int i = 0; i < OPPS; i++) {
		p = xasprintf("%s%s{\"_key\":\"o%d\",\"Name\":\"Deal %d\",\"StageName\":\"Prospecting\","
		    "\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@acct\"}", opps, i ? "," : "", i, i);
		free(opps);
		opps = p;
		p = xasprintf("%s%s{\"OpportunityId\":\"@o%d\",\"ContactId\":\"@c%d\"}", roles,
		    i ? "," : "", i, i);
		free(roles);
		roles = p;
	}
	rest = xasprintf("\"Account\":[{\"_key\":\"acct\",\"Name\":\"Customers\"}],"
	    "\"Contact\":[%s],\"Lead\":[%s],\"Opportunity\":[%s],\"OpportunityContactRole\":[%s]",
	    contacts, leads, opps, roles);
	/* http_timeout is a wall-clock wait: 20 s, scaled (a 1,000-record composite under memcheck
	 * takes long). */
	conf = xasprintf("backfill_days 30\n"
	    "create_leads yes\n"
	    "activity_timezone UTC\n"
	    "log_level info\n"
	    "retry_base 1s\n"
	    "http_timeout %lds\n", mono_scaled(20000) / 1000);
	rc = e2e_world_start(&world, "test_batching", E2E_SF_REPS, rest, E2E_GRAPH_REPS,
	    "alice@contoso.com, bob@contoso.com", conf);
	free(conf);
	free(rest);
	free(contacts);
	free(leads);
	free(opps);
	free(roles);
	mids = json_object();
	return rc;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(mids);
	return e2e_world_stop(&world);
}

/* Person k's address: Contacts, then Leads, then unknown senders. */
static char *
address(int k)
{
	if (k < CONTACTS)
		return xasprintf("contact%03d@customer-%02d.example", k, k % 30);
	if (k < CONTACTS + LEADS)
		return xasprintf("lead%03d@prospect-%02d.example", k - CONTACTS,
		    (k - CONTACTS) % 10);
	return xasprintf("stranger%02d@newco-%02d.example", k - CONTACTS - LEADS,
	    k - CONTACTS - LEADS);
}

/* n more emails: the m-th from or to person m % PEOPLE, each rep in turn; every fifth from a
 * known person is outbound (the rep writing to them). */
static void
deliver(size_t n)
{
	for (size_t i = 0; i < n; i++, nmails++) {
		int k = (int)(nmails % PEOPLE);
		const char *rep = nmails % 2 ? "alice@contoso.com" : "bob@contoso.com";
		char *addr = address(k), *b, name[32];
		json_t *r;

		if (k < CONTACTS + LEADS && nmails % 5 == 0)
			b = xasprintf("{\"from\":\"%s\",\"to\":[\"%s\"],\"subject\":\"Note %zu\","
			    "\"body\":\"About item %zu.\",\"date\":\"%s\"}", rep, addr, nmails,
			    nmails, when);
		else
			b = xasprintf("{\"from\":\"Person %d <%s>\",\"to\":[\"%s\"],"
			    "\"subject\":\"Question %zu\",\"body\":\"About item %zu.\","
			    "\"date\":\"%s\"}", k, addr, rep, nmails, nmails, when);
		r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", b, 201);
		snprintf(name, sizeof(name), "m%zu", nmails);
		json_object_set(mids, name, json_object_get(r, "internetMessageId"));
		json_decref(r);
		free(b);
		free(addr);
	}
}

static void
stats_reset(void)
{
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/stats/reset", NULL, 200));
}

static void
sync_once(void)
{
	assert_int_equal(e2e_run(world.dir, NULL, NULL, "-c", world.conf, "sync", "--once", NULL),
	    0);
}

/* Every email delivered has exactly one Task, and there are no others; every unknown sender has
 * exactly one Lead. Returns how many emails have no Task (none allowed unless allow_missing). */
static size_t
check_tasks(int allow_missing)
{
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	json_t *leads = e2e_records(world.sf.p.base_url, "Lead");
	char digest[NORMALIZE_DIGEST_LEN + 1], name[32];
	size_t missing = 0, n;

	for (size_t i = 0; i < nmails; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		e2e_digest(json_string_value(json_object_get(mids, name)), digest);
		n = e2e_count(tasks, "OutlookMessageId__c", digest);
		if (n > 1 || (n == 0 && !allow_missing))
			fail_msg("mail %zu: %zu Tasks", i, n);
		missing += n == 0;
	}
	assert_int_equal(json_array_size(tasks), nmails - missing);
	for (int k = CONTACTS + LEADS; k < PEOPLE; k++) {
		char *addr = address(k);

		if (e2e_count(leads, "Email", addr) != 1)
			fail_msg("%s: %zu Leads", addr, e2e_count(leads, "Email", addr));
		free(addr);
	}
	assert_int_equal(json_array_size(leads), LEADS + UNKNOWN);
	json_decref(tasks);
	json_decref(leads);
	return missing;
}

static void
status_counts(long long logged, long long failed)
{
	char *out = NULL;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), logged);
	assert_int_equal(e2e_status_count(out, "pending "), 0);
	assert_int_equal(e2e_status_count(out, "failed "), failed);
	assert_int_equal(e2e_status_count(out, "dead "), 0);
	free(out);
}

/* The backfill: 1,000 emails, every one logged once, for BACKFILL_CALLS calls at most. The
 * Tasks of a Contact with one open Opportunity are related to it (the roles were found by the
 * Contact's email in the same lookup). */
static void
test_backfill(void **state)
{
	json_t *tasks;
	char digest[NORMALIZE_DIGEST_LEN + 1];
	long calls;
	size_t i;

	(void)state;
	deliver(BACKFILL);
	stats_reset();
	sync_once();
	calls = e2e_sf_api_calls(world.sf.p.base_url);
	print_message("backfill: %d emails, %ld Salesforce API calls\n", BACKFILL, calls);
	check_tasks(0);
	status_counts(BACKFILL, 0);
	tasks = e2e_records(world.sf.p.base_url, "Task");
	/* m0..m5 are with contact000..contact005 (m0 and m5 outbound), each with one open deal. */
	for (i = 0; i < 6; i++) {
		char name[32], key[8];
		json_t *t;

		snprintf(name, sizeof(name), "m%zu", i);
		e2e_digest(json_string_value(json_object_get(mids, name)), digest);
		t = e2e_find(tasks, "OutlookMessageId__c", digest);
		snprintf(key, sizeof(key), "c%zu", i);
		assert_string_equal(e2e_field(t, "WhoId"), e2e_key_id(world.sf.keys, key));
		snprintf(key, sizeof(key), "o%zu", i);
		assert_string_equal(e2e_field(t, "WhatId"), e2e_key_id(world.sf.keys, key));
	}
	json_decref(tasks);
	assert_true(calls <= BACKFILL_CALLS);
}

/* No new mail: not a single Salesforce call. */
static void
test_idle_pass(void **state)
{
	(void)state;
	stats_reset();
	sync_once();
	assert_int_equal(e2e_sf_api_calls(world.sf.p.base_url), 0);
	check_tasks(0);
}

/* A real-time sized batch (40 emails, none from a new sender): the lookup (people and Users in
 * one /composite) and the write, two calls. */
static void
test_small_batch(void **state)
{
	long calls;

	(void)state;
	assert_true(nmails % PEOPLE + SMALL <= CONTACTS + LEADS);	/* known people only */
	deliver(SMALL);
	stats_reset();
	sync_once();
	calls = e2e_sf_api_calls(world.sf.p.base_url);
	print_message("small batch: %d emails, %ld Salesforce API calls\n", SMALL, calls);
	assert_int_equal(calls, 2);
	check_tasks(0);
}

/* FAULTED new emails are written as three collections in one /composite; the first Task
 * collection of it fails as a whole (500 UNKNOWN_EXCEPTION, a TEMP failure): its 200 emails fail
 * and wait for their retry, the other 250 are logged. The next pass after the backoff logs the
 * 200 and nothing twice. */
static void
test_subrequest_fault(void **state)
{
	json_t *f;
	size_t missing;

	(void)state;
	deliver(FAULTED);
	f = sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults", "{\"method\":\"PATCH\","
	    "\"path\":\"" SF_DATA "composite/sobjects/Task\",\"subrequest\":true,"
	    "\"errorCode\":\"UNKNOWN_EXCEPTION\"}", 200);
	json_decref(f);
	sync_once();
	f = sim_http_ctl(world.sf.p.base_url, "GET", "/_sim/faults", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(f, "faults")), 0);	/* taken */
	json_decref(f);
	missing = check_tasks(1);
	assert_int_equal(missing, 200);
	status_counts(BACKFILL + SMALL + FAULTED - 200, 200);
	sleep(2);	/* retry_base 1s: the first retry is due within a second */
	sync_once();
	check_tasks(0);
	status_counts(BACKFILL + SMALL + FAULTED, 0);
}

/* The same mail read again from the start (the ledger gone): every Task is found by its
 * external id and updated in place, every sender is matched (the Leads made above included):
 * nothing is doubled. */
static void
test_again(void **state)
{
	(void)state;
	assert_int_equal(test_database_clear(world.database), 0);
	sync_once();
	check_tasks(0);
	status_counts(BACKFILL + SMALL + FAULTED, 0);
}

/* One olsync process as the daemon has it: the engine and its clients, over the world's
 * configuration, for passes that share what the engine keeps between them. */
struct proc {
	struct config cfg;
	struct ledger *l;
	struct graph_client *g;
	struct sf_client *sf;
	struct engine *e;
};

static void
proc_start(struct proc *p)
{
	struct config_errors errs;
	char err[512];

	memset(p, 0, sizeof(*p));
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(config_load(world.conf, &p->cfg, &errs), 0);
	config_errors_free(&errs);
	assert_int_equal(ledger_open(p->cfg.database, &p->l, err, sizeof(err)), 0);
	assert_non_null(p->g = graph_client_new(&p->cfg, err, sizeof(err)));
	assert_non_null(p->sf = sf_client_new(&p->cfg, err, sizeof(err)));
	p->e = engine_new(&p->cfg, p->l, p->g, p->sf);
}

static void
proc_pass(struct proc *p)
{
	char err[512];

	assert_int_equal(engine_pass(p->e, NULL, NULL, err, sizeof(err)), 0);
}

static void
proc_stop(struct proc *p)
{
	engine_free(p->e);
	sf_client_free(p->sf);
	graph_client_free(p->g);
	ledger_close(p->l);
	config_free(&p->cfg);
}

/* The OwnerId of the Task of mail m. */
static char *
task_owner(size_t m)
{
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	char digest[NORMALIZE_DIGEST_LEN + 1], name[32], *owner;

	snprintf(name, sizeof(name), "m%zu", m);
	e2e_digest(json_string_value(json_object_get(mids, name)), digest);
	owner = xstrdup(e2e_field(e2e_find(tasks, "OutlookMessageId__c", digest), "OwnerId"));
	json_decref(tasks);
	return owner;
}

/* The reps' Users are looked up once an hour, not at every pass: after alice's User stops
 * carrying her address, the engine that looked her up still owns her new mail's Task by her;
 * a fresh one (a restart) looks again and finds no User for her mailbox. */
static void
test_user_cache(void **state)
{
	const char *alice = e2e_key_id(world.sf.keys, "alice");
	json_t *recs, *results = NULL;
	enum remote_class *classes = NULL;
	struct remote_failure f;
	struct proc p;
	char *owner;

	(void)state;
	proc_start(&p);
	nmails += nmails % 2 ? 0 : 1;	/* odd mails go to alice */
	deliver(1);
	proc_pass(&p);
	owner = task_owner(nmails - 1);
	assert_string_equal(owner, alice);
	free(owner);

	recs = json_pack("[{s:s,s:s}]", "Id", alice, "Email", "alice.moved@contoso.com");
	assert_int_equal(sf_client_collection_update(p.sf, "User", recs, &results, &classes, &f),
	    0);
	assert_int_equal(classes[0], REMOTE_OK);
	json_decref(results);
	free(classes);
	json_decref(recs);

	nmails++;
	deliver(1);
	proc_pass(&p);
	owner = task_owner(nmails - 1);
	assert_string_equal(owner, alice);	/* cached */
	free(owner);
	proc_stop(&p);

	proc_start(&p);
	nmails++;
	deliver(1);
	proc_pass(&p);
	owner = task_owner(nmails - 1);
	assert_string_not_equal(owner, alice);	/* looked up again: no User has her address */
	free(owner);
	proc_stop(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill),
		cmocka_unit_test(test_idle_pass),
		cmocka_unit_test(test_small_batch),
		cmocka_unit_test(test_subrequest_fault),
		cmocka_unit_test(test_again),
		cmocka_unit_test(test_user_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
