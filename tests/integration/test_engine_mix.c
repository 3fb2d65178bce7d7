/* test_engine_mix.c: issue 4's "Done means", end to end: graph-sim and sf-sim seeded with a
 * realistic mix (three reps, duplicates, a converted Lead, Opportunities with contact roles, every
 * sender name shape, automated and hostile senders, a burst), the real `olsync sync --once` run,
 * and exactly the expected Tasks, Leads and EmailMessages checked field by field; then the same
 * mix under faults from both emulators' control APIs, still ending with every email logged once. */
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

#include "e2e.h"
#include "graph_fixture.h"
#include "mono.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define FAULT_PASSES	40	/* sync --once runs allowed to reach a final state under faults */
#define BURST		10	/* mails from one new sender in one burst */
#define SF_DATA		"/services/data/v62.0"

static struct e2e_world world;
static char day[16];		/* the mails' date, YYYY-MM-DD (UTC) */
static struct tm mail_tm;	/* and its start */
static json_t *mids;		/* mail name -> internetMessageId as graph-sim answered */

/* Salesforce: the reps as Users, Accounts, Contacts (two sharing an address, the older one
 * seeded second; Carol with one open and one closed Opportunity, Dave with two open ones; Erin,
 * a Contact who also sends newsletters and auto-replies), an open Lead and a converted one. */
#define SF_SEED_REST \
	"\"Account\":[{\"_key\":\"fab\",\"Name\":\"Fabrikam\"}," \
	"{\"_key\":\"nw\",\"Name\":\"Northwind\"},{\"_key\":\"ts\",\"Name\":\"Tailspin\"}]," \
	"\"Contact\":[" \
	"{\"_key\":\"carol\",\"FirstName\":\"Carol\",\"LastName\":\"Chen\"," \
	"\"Email\":\"carol@fabrikam.com\",\"AccountId\":\"@fab\"}," \
	"{\"_key\":\"dave\",\"FirstName\":\"Dave\",\"LastName\":\"Diaz\"," \
	"\"Email\":\"dave@northwind.com\",\"AccountId\":\"@nw\"}," \
	"{\"_key\":\"erin\",\"FirstName\":\"Erin\",\"LastName\":\"Eno\"," \
	"\"Email\":\"erin@northwind.com\",\"AccountId\":\"@nw\"}," \
	"{\"_key\":\"tim\",\"FirstName\":\"Tim\",\"LastName\":\"Newer\"," \
	"\"Email\":\"Shared@Tailspin.com\",\"AccountId\":\"@ts\"," \
	"\"CreatedDate\":\"2024-06-01T09:00:00Z\"}," \
	"{\"_key\":\"tia\",\"FirstName\":\"Tia\",\"LastName\":\"Older\"," \
	"\"Email\":\"shared@tailspin.com\",\"AccountId\":\"@ts\"," \
	"\"CreatedDate\":\"2023-01-01T09:00:00Z\"}]," \
	"\"Opportunity\":[" \
	"{\"_key\":\"opp\",\"Name\":\"Fabrikam renewal\",\"StageName\":\"Prospecting\"," \
	"\"CloseDate\":\"2030-01-31\",\"AccountId\":\"@fab\"}," \
	"{\"_key\":\"won\",\"Name\":\"Fabrikam 2023\",\"StageName\":\"Closed Won\"," \
	"\"CloseDate\":\"2023-12-31\",\"AccountId\":\"@fab\"}," \
	"{\"_key\":\"nw1\",\"Name\":\"Northwind pilot\",\"StageName\":\"Prospecting\"," \
	"\"CloseDate\":\"2030-03-31\",\"AccountId\":\"@nw\"}," \
	"{\"_key\":\"nw2\",\"Name\":\"Northwind rollout\",\"StageName\":\"Qualification\"," \
	"\"CloseDate\":\"2030-06-30\",\"AccountId\":\"@nw\"}]," \
	"\"OpportunityContactRole\":[" \
	"{\"OpportunityId\":\"@opp\",\"ContactId\":\"@carol\"}," \
	"{\"OpportunityId\":\"@won\",\"ContactId\":\"@carol\"}," \
	"{\"OpportunityId\":\"@nw1\",\"ContactId\":\"@dave\"}," \
	"{\"OpportunityId\":\"@nw2\",\"ContactId\":\"@dave\"}]," \
	"\"Lead\":[{\"_key\":\"lena\",\"FirstName\":\"Lena\",\"LastName\":\"Lund\"," \
	"\"Company\":\"Lund AB\",\"Email\":\"lena@lund-ab.se\"}," \
	"{\"_key\":\"conv\",\"FirstName\":\"Connie\",\"LastName\":\"Verted\"," \
	"\"Company\":\"Oldco\",\"Email\":\"connie@oldco.com\",\"IsConverted\":true}]"

#define REP(k, first, last) \
	"{\"_key\":\"" k "\",\"Username\":\"" k "@contoso.com\",\"Email\":\"" k "@contoso.com\"," \
	"\"FirstName\":\"" first "\",\"LastName\":\"" last "\",\"Alias\":\"" k "\"}"

/* One mail of the world. from and to/cc entries are "Name <a@b>", "a@b", or with name set a
 * bare address whose display name is exactly name (quotes and all). */
struct mail {
	const char *name;
	const char *from;
	const char *from_name;		/* NULL: as in from */
	const char *to[4];
	const char *cc[3];
	const char *subject, *body;
	const char *header, *value;	/* one extra internet message header, or NULL */
	int minute;			/* after 10:00 of the day */
};

static const struct mail mails[] = {
	{ "in_carol", "Carol Chen <carol@fabrikam.com>", NULL, { "alice@contoso.com" }, { NULL },
	  "Renewal quote", "Could you send the renewal quote?", NULL, NULL, 0 },
	/* Outbound to a Contact with two open Opportunities, cc an open Lead. */
	{ "out_dave", "Alice Adams <alice@contoso.com>", NULL, { "Dave Diaz <dave@northwind.com>" },
	  { "lena@lund-ab.se" }, "Intro", "Nice to meet you both.", NULL, NULL, 1 },
	/* One email in three reps' inboxes. */
	{ "thread", "Carol Chen <carol@fabrikam.com>", NULL,
	  { "alice@contoso.com", "bob@contoso.com", "cora@contoso.com" }, { NULL },
	  "Next steps", "Meeting all three of you on Friday.", NULL, NULL, 2 },
	/* Bob's reply: in his Sent Items and in Alice's and Cora's inboxes; Bob's. */
	{ "reply_bob", "Bob Brown <bob@contoso.com>", NULL, { "carol@fabrikam.com" },
	  { "alice@contoso.com", "cora@contoso.com" }, "Re: Next steps", "Friday works.", NULL,
	  NULL, 3 },
	{ "internal", "alice@contoso.com", NULL, { "bob@contoso.com" }, { NULL }, "Lunch?", "Noon?",
	  NULL, NULL, 4 },
	{ "news_unknown", "Weekly News <news@newsletters.example>", NULL, { "bob@contoso.com" },
	  { NULL }, "This week", "Top stories", "List-Unsubscribe",
	  "<mailto:unsub@newsletters.example>", 5 },
	{ "ooo_unknown", "Olly Away <olly@randomco.example>", NULL, { "cora@contoso.com" },
	  { NULL }, "Out of office", "I am away until Monday.", "Auto-Submitted", "auto-replied",
	  6 },
	/* The same automation from a known Contact: logged on her, no Lead. */
	{ "news_erin", "Erin Eno <erin@northwind.com>", NULL, { "alice@contoso.com" }, { NULL },
	  "Northwind monthly", "Our news.", "List-Unsubscribe", "<https://northwind.com/unsub>", 7 },
	{ "ooo_erin", "Erin Eno <erin@northwind.com>", NULL, { "bob@contoso.com" }, { NULL },
	  "Automatic reply: Intro", "Back next week.", "Auto-Submitted", "auto-replied", 8 },
	/* Two Contacts with the address: the older wins (tie_break oldest). */
	{ "dup", "T. <shared@tailspin.com>", NULL, { "cora@contoso.com" }, { NULL },
	  "Shared inbox", "Who reads this?", NULL, NULL, 9 },
	{ "lead_in", "Lena Lund <lena@lund-ab.se>", NULL, { "bob@contoso.com" }, { NULL },
	  "Question", "Is there a trial?", NULL, NULL, 10 },
	/* A converted Lead is nobody: a new Lead. */
	{ "converted", "Connie Verted <connie@oldco.com>", NULL, { "alice@contoso.com" }, { NULL },
	  "Back again", "We are looking again.", NULL, NULL, 11 },
	/* Every name shape. */
	{ "n_first_last", "Jane Doe <jane.doe@acme-corp.com>", NULL, { "alice@contoso.com" },
	  { NULL }, "Pricing", "What does it cost?", NULL, NULL, 12 },
	{ "n_last_first", "john@initech.com", "Doe, John", { "bob@contoso.com" }, { NULL },
	  "TPS reports", "About the cover sheets.", NULL, NULL, 13 },
	{ "n_one_word", "Cher <cher@umbrella.com>", NULL, { "cora@contoso.com" }, { NULL },
	  "Tour", "Believe it.", NULL, NULL, 14 },
	{ "n_quoted", "jdoe@hooli.com", "\"Doe, Jane\"", { "alice@contoso.com" }, { NULL },
	  "Compression", "Middle out.", NULL, NULL, 15 },
	{ "n_accents", "zoe@stark-industries.com", "Zo\u00eb \u00c5ngstr\u00f6m",
	  { "bob@contoso.com" }, { NULL }, "Caf\u00e9 order", "D\u00e9j\u00e0 vu.", NULL, NULL,
	  16 },
	{ "n_empty", "mary.smith@wayne-enterprises.com", "", { "cora@contoso.com" }, { NULL },
	  "Hello", "From Mary.", NULL, NULL, 17 },
	{ "freemail", "Fred Free <fred.free@yahoo.com>", NULL, { "alice@contoso.com" }, { NULL },
	  "Personal", "Sent from my phone.", NULL, NULL, 18 },
	/* A hostile but valid address (RFC 5322 atext): quoted into SOQL, it matches nobody and
	 * becomes an ordinary Lead. */
	{ "hostile", "x'or'1'='1@evil.com", "", { "bob@contoso.com" }, { NULL },
	  "'; DELETE FROM Lead --", "Robert'); DROP TABLE Students;--", NULL, NULL, 19 },
	/* Outbound to Carol, cc two hostile addresses (graph-sim takes no blank or quote in one):
	 * one valid (atext), quoted into the lookup; one invalid, dropped before it. */
	{ "out_hostile", "Cora Cruz <cora@contoso.com>", NULL, { "carol@fabrikam.com" },
	  { "x'or'Name!='@evil.com", "x')OR(Name!='@evil.com" }, "Numbers", "See attached.", NULL,
	  NULL, 20 },
};
#define NMAILS	(sizeof(mails) / sizeof(mails[0]))

static const struct e2e_want_task want_tasks[] = {
	{ "in_carol", "Email: Renewal quote", "carol", "opp", "alice",
	  "Could you send the renewal quote?" },
	/* Two open Opportunities: no WhatId; the Contact wins over the Lead in Cc. */
	{ "out_dave", "Email: Intro", "dave", NULL, "alice", "Nice to meet you both." },
	/* Three copies, one Task, on the first configured mailbox's rep. */
	{ "thread", "Email: Next steps", "carol", "opp", "alice",
	  "Meeting all three of you on Friday." },
	{ "reply_bob", "Email: Re: Next steps", "carol", "opp", "bob", "Friday works." },
	{ "news_erin", "Email: Northwind monthly", "erin", NULL, "alice", "Our news." },
	{ "ooo_erin", "Email: Automatic reply: Intro", "erin", NULL, "bob", "Back next week." },
	{ "dup", "Email: Shared inbox", "tia", NULL, "cora", "Who reads this?" },
	/* A Lead: never a WhatId. */
	{ "lead_in", "Email: Question", "lena", NULL, "bob", "Is there a trial?" },
	{ "converted", "Email: Back again", "lead:connie@oldco.com", NULL, "alice",
	  "We are looking again." },
	{ "n_first_last", "Email: Pricing", "lead:jane.doe@acme-corp.com", NULL, "alice",
	  "What does it cost?" },
	{ "n_last_first", "Email: TPS reports", "lead:john@initech.com", NULL, "bob",
	  "About the cover sheets." },
	{ "n_one_word", "Email: Tour", "lead:cher@umbrella.com", NULL, "cora", "Believe it." },
	{ "n_quoted", "Email: Compression", "lead:jdoe@hooli.com", NULL, "alice", "Middle out." },
	{ "n_accents", "Email: Caf\u00e9 order", "lead:zoe@stark-industries.com", NULL, "bob",
	  "D\u00e9j\u00e0 vu." },
	{ "n_empty", "Email: Hello", "lead:mary.smith@wayne-enterprises.com", NULL, "cora",
	  "From Mary." },
	{ "freemail", "Email: Personal", "lead:fred.free@yahoo.com", NULL, "alice",
	  "Sent from my phone." },
	{ "hostile", "Email: '; DELETE FROM Lead --", "lead:x'or'1'='1@evil.com", NULL, "bob",
	  "Robert'); DROP TABLE Students;--" },
	{ "out_hostile", "Email: Numbers", "carol", "opp", "cora", "See attached." },
};
#define NTASKS	(sizeof(want_tasks) / sizeof(want_tasks[0]))

static const struct e2e_want_lead want_leads[] = {
	{ "connie@oldco.com", "Connie", "Verted", "Oldco", "alice",
	  "Back again: We are looking again." },
	{ "jane.doe@acme-corp.com", "Jane", "Doe", "Acme Corp", "alice",
	  "Pricing: What does it cost?" },
	{ "john@initech.com", "John", "Doe", "Initech", "bob",
	  "TPS reports: About the cover sheets." },
	{ "cher@umbrella.com", "(null)", "Cher", "Umbrella", "cora", "Tour: Believe it." },
	{ "jdoe@hooli.com", "Jane", "Doe", "Hooli", "alice", "Compression: Middle out." },
	{ "zoe@stark-industries.com", "Zo\u00eb", "\u00c5ngstr\u00f6m", "Stark Industries", "bob",
	  "Caf\u00e9 order: D\u00e9j\u00e0 vu." },
	{ "mary.smith@wayne-enterprises.com", "Mary", "Smith", "Wayne Enterprises", "cora",
	  "Hello: From Mary." },
	{ "fred.free@yahoo.com", "Fred", "Free", "[not provided]", "alice",
	  "Personal: Sent from my phone." },
	{ "x'or'1'='1@evil.com", "(null)", "X'or'1'='1", "Evil", "bob",
	  "'; DELETE FROM Lead --: Robert'); DROP TABLE Students;--" },
	{ "bea@burst-co.com", "Bea", "Burst", "Burst Co", "cora", "Burst 1: Note 1 of 10." },
};
#define NLEADS	(sizeof(want_leads) / sizeof(want_leads[0]))
#define SEEDED_LEADS	2
#define NSKIPPED	3	/* internal, news_unknown, ooo_unknown */

static json_t *
address(const char *s, const char *name)
{
	if (name != NULL)
		return json_pack("{s:{s:s,s:s}}", "emailAddress", "name", name, "address", s);
	return json_string(s);
}

static json_t *
addresses(const char *const *v, size_t max)
{
	json_t *a = json_array();

	for (size_t i = 0; i < max && v[i] != NULL; i++) {
		/* graph-sim parses "Name <a@b>" itself; what it cannot parse goes as an object */
		if (strchr(v[i], '<') == NULL && strpbrk(v[i], " \"") != NULL)
			json_array_append_new(a, json_pack("{s:s,s:s}", "name", "", "address",
			    v[i]));
		else
			json_array_append_new(a, address(v[i], NULL));
	}
	return a;
}

static const char *
mail_time(int minute, char *buf, size_t len)
{
	struct tm tm = mail_tm;
	time_t t = timegm(&tm) + minute * 60;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static json_t *
send_json(const char *name, json_t *m)
{
	char *body = json_dumps(m, JSON_COMPACT);
	json_t *r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/mail", body, 201);

	json_object_set(mids, name, json_object_get(r, "internetMessageId"));
	free(body);
	json_decref(m);
	return r;
}

static void
send_mail(const struct mail *ml)
{
	char when[40];
	json_t *m, *r;

	m = json_pack("{s:o,s:o,s:o,s:s,s:s,s:s}", "from", address(ml->from, ml->from_name),
	    "to", addresses(ml->to, 4), "cc", addresses(ml->cc, 3), "subject", ml->subject,
	    "body", ml->body, "date", mail_time(ml->minute, when, sizeof(when)));
	if (ml->header != NULL)
		json_object_set_new(m, "headers", json_pack("{s:s}", ml->header, ml->value));
	r = send_json(ml->name, m);
	if (strcmp(ml->name, "thread") == 0)
		assert_int_equal(json_array_size(json_object_get(r, "copies")), 3);
	json_decref(r);
}

/* The burst: BURST mails from one new sender, delivered newest first. */
static void
send_burst(void)
{
	char when[40], name[16], subject[32], body[32];

	for (int i = BURST; i >= 1; i--) {
		snprintf(name, sizeof(name), "burst%d", i);
		snprintf(subject, sizeof(subject), "Burst %d", i);
		snprintf(body, sizeof(body), "Note %d of %d.", i, BURST);
		json_decref(send_json(name, json_pack("{s:s,s:[s],s:s,s:s,s:s}",
		    "from", "Bea Burst <bea@burst-co.com>", "to", "cora@contoso.com",
		    "subject", subject, "body", body,
		    "date", mail_time(30 + i, when, sizeof(when)))));
	}
}

static void
deliver(void)
{
	for (size_t i = 0; i < NMAILS; i++)
		send_mail(&mails[i]);
	send_burst();
}

/* Starts a fresh world: both emulators seeded, a new ledger, the configuration with extra. */
static int
world_start(const char *extra)
{
	char *more;
	time_t t = time(NULL) - 2 * 86400;
	int rc;

	gmtime_r(&t, &mail_tm);
	mail_tm.tm_hour = 10;
	mail_tm.tm_min = 0;
	mail_tm.tm_sec = 0;
	strftime(day, sizeof(day), "%Y-%m-%d", &mail_tm);

	/* http_timeout is a wall-clock wait too: 5 s, scaled (under valgrind sf-sim took over 5 s
	 * for one 28-record upsert). */
	more = xasprintf("backfill_days 30\n"
	    "tie_break oldest\n"
	    "activity_timezone UTC\n"
	    "retry_base 1s\n"
	    "log_level info\n"
	    "http_timeout %lds\n"
	    "%s", mono_scaled(5000) / 1000, extra != NULL ? extra : "");
	rc = e2e_world_start(&world, "test_engine_mix",
	    REP("alice", "Alice", "Adams") "," REP("bob", "Bob", "Brown") ","
	    REP("cora", "Cora", "Cruz"), SF_SEED_REST,
	    "[{\"userPrincipalName\":\"alice@contoso.com\",\"displayName\":\"Alice Adams\"},"
	    "{\"userPrincipalName\":\"bob@contoso.com\",\"displayName\":\"Bob Brown\"},"
	    "{\"userPrincipalName\":\"cora@contoso.com\",\"displayName\":\"Cora Cruz\"}]",
	    "alice@contoso.com, bob@contoso.com, cora@contoso.com", more);
	free(more);
	if (rc == -1)
		return -1;
	mids = json_object();
	return 0;
}

static int
world_stop(void **state)
{
	(void)state;
	json_decref(mids);
	mids = NULL;
	return e2e_world_stop(&world);
}

static int
world_task(void **state)
{
	(void)state;
	return world_start(NULL);
}

static int
world_emailmessage(void **state)
{
	(void)state;
	return world_start("mode emailmessage\n");
}

static int
world_both(void **state)
{
	(void)state;
	return world_start("mode both\n");
}

static void
digest_of(const char *name, char out[NORMALIZE_DIGEST_LEN + 1])
{
	e2e_digest(json_string_value(json_object_get(mids, name)), out);
}

static int
sync_once(char **errout)
{
	return e2e_run(world.dir, NULL, errout, "-c", world.conf, "sync", "--once", NULL);
}

/* Ids and LastModifiedDate of every record of the objects olsync writes, to compare passes. */
static char *
snapshot(void)
{
	static const char *const objs[] = { "Task", "Lead", "EmailMessage",
	    "EmailMessageRelation" };

	return e2e_snapshot(world.sf.p.base_url, objs, sizeof(objs) / sizeof(objs[0]));
}

/* No two records of recs share field (for OutlookMessageId__c, Lead Email). */
static void
assert_unique(json_t *recs, const char *field)
{
	json_t *r;
	size_t i;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, field));

		if (v != NULL && e2e_count(recs, field, v) != 1)
			fail_msg("%zu records with %s = %s", e2e_count(recs, field, v), field, v);
	}
}

/* The Leads that are not converted: the ones an email can be on. Caller decrefs. */
static json_t *
open_leads(void)
{
	return e2e_records_unless(world.sf.p.base_url, "Lead", "IsConverted");
}

/* The Task-mode outcome of the whole mix: exactly the expected Leads and Tasks. */
static void
check_task_world(void)
{
	char digest[NORMALIZE_DIGEST_LEN + 1], name[16];
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	json_t *all = e2e_records(world.sf.p.base_url, "Lead");
	json_t *leads = open_leads();
	json_t *rec;
	const char *bea;
	size_t i;

	assert_int_equal(json_array_size(all), SEEDED_LEADS + NLEADS);
	assert_int_equal(json_array_size(leads), SEEDED_LEADS - 1 + NLEADS);
	assert_unique(leads, "Email");
	for (i = 0; i < NLEADS; i++)
		e2e_check_lead(leads, world.sf.keys, &want_leads[i]);
	/* Automated mail from unknown senders makes no Lead. */
	assert_int_equal(e2e_count(leads, "Email", "news@newsletters.example"), 0);
	assert_int_equal(e2e_count(leads, "Email", "olly@randomco.example"), 0);
	/* The converted Lead was not matched, and not touched. */
	rec = e2e_find(all, "Id", e2e_key_id(world.sf.keys, "conv"));
	assert_true(json_is_true(json_object_get(rec, "IsConverted")));
	assert_string_equal(e2e_field(rec, "LastModifiedDate"), e2e_field(rec, "CreatedDate"));

	assert_int_equal(json_array_size(tasks), NTASKS + BURST);
	assert_unique(tasks, "OutlookMessageId__c");
	for (i = 0; i < NTASKS; i++)
		e2e_check_task(tasks, leads, world.sf.keys, mids, day, &want_tasks[i]);
	/* One Lead for the burst, all ten Tasks on it. */
	bea = e2e_field(e2e_find(leads, "Email", "bea@burst-co.com"), "Id");
	for (i = 1; i <= BURST; i++) {
		snprintf(name, sizeof(name), "burst%zu", i);
		digest_of(name, digest);
		rec = e2e_find(tasks, "OutlookMessageId__c", digest);
		assert_string_equal(e2e_field(rec, "WhoId"), bea);
		assert_string_equal(e2e_field(rec, "OwnerId"), e2e_key_id(world.sf.keys, "cora"));
	}
	assert_int_equal(e2e_count(tasks, "WhoId", bea), BURST);
	json_decref(tasks);
	json_decref(leads);
	json_decref(all);
}

static void
check_status(long long logged, long long skipped)
{
	char *out = NULL;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	assert_int_equal(e2e_status_count(out, "logged "), logged);
	assert_int_equal(e2e_status_count(out, "skipped "), skipped);
	assert_int_equal(e2e_status_count(out, "pending "), 0);
	assert_int_equal(e2e_status_count(out, "failed "), 0);
	assert_int_equal(e2e_status_count(out, "dead "), 0);
	free(out);
}

static void
test_mix(void **state)
{
	char *before, *after, *show = NULL;

	(void)state;
	deliver();
	assert_int_equal(sync_once(NULL), 0);
	check_task_world();
	check_status(NTASKS + BURST, NSKIPPED);

	/* A second pass: nothing new in Graph, nothing written. */
	before = snapshot();
	assert_int_equal(sync_once(NULL), 0);
	after = snapshot();
	assert_string_equal(after, before);
	free(before);
	free(after);

	/* Why the unknown sender's auto-reply made nothing. */
	assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show",
	    json_string_value(json_object_get(mids, "ooo_unknown")), NULL), 0);
	assert_non_null(strstr(show, "state            skipped\n"));
	assert_non_null(strstr(show, "automated"));
	free(show);
	assert_int_equal(e2e_run(world.dir, &show, NULL, "-c", world.conf, "show",
	    json_string_value(json_object_get(mids, "thread")), NULL), 0);
	assert_non_null(strstr(show, "mailbox=alice@contoso.com folder=inbox"));
	assert_non_null(strstr(show, "mailbox=bob@contoso.com folder=inbox"));
	assert_non_null(strstr(show, "mailbox=cora@contoso.com folder=inbox"));
	free(show);
}

/* EmailMessage mode: one EmailMessage per email with its relations, and the same after a
 * second pass. both: the same EmailMessages, each one's Enhanced Email Task (ActivityId) being
 * the email's only Task, stamped with the digest and olsync's fields. */
static void
check_email_world(int both)
{
	static const struct {
		const char *mail;
		int incoming;
		const char *from, *subject;
		const char *what;	/* RelatedToId: seeded key or NULL */
		const char *rel[4];	/* RelationType:who ("lead:" for a made Lead) */
	} want[] = {
		{ "in_carol", 1, "carol@fabrikam.com", "Renewal quote", "opp",
		  { "FromAddress:carol", "ToAddress:alice" } },
		{ "out_dave", 0, "alice@contoso.com", "Intro", NULL,
		  { "ToAddress:dave", "ToAddress:lena", "FromAddress:alice" } },
		{ "thread", 1, "carol@fabrikam.com", "Next steps", "opp",
		  { "FromAddress:carol", "ToAddress:alice" } },
		{ "n_first_last", 1, "jane.doe@acme-corp.com", "Pricing", NULL,
		  { "FromAddress:lead:jane.doe@acme-corp.com", "ToAddress:alice" } },
		{ "lead_in", 1, "lena@lund-ab.se", "Question", NULL,
		  { "FromAddress:lena", "ToAddress:bob" } },
	};
	char digest[NORMALIZE_DIGEST_LEN + 1];
	json_t *ems = e2e_records(world.sf.p.base_url, "EmailMessage");
	json_t *rels = e2e_records(world.sf.p.base_url, "EmailMessageRelation");
	json_t *leads = open_leads();
	json_t *tasks = e2e_records(world.sf.p.base_url, "Task");
	json_t *em, *r;
	size_t i, j, k, nrel = 0;

	assert_int_equal(json_array_size(ems), NTASKS + BURST);
	assert_unique(ems, "MessageIdentifier");
	assert_int_equal(json_array_size(leads), SEEDED_LEADS - 1 + NLEADS);
	assert_unique(leads, "Email");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *raw = json_string_value(json_object_get(mids, want[i].mail));

		em = e2e_find(ems, "MessageIdentifier", raw);
		assert_string_equal(e2e_field(em, "Status"), "3");
		assert_int_equal(json_is_true(json_object_get(em, "Incoming")), want[i].incoming);
		assert_string_equal(e2e_field(em, "FromAddress"), want[i].from);
		assert_string_equal(e2e_field(em, "Subject"), want[i].subject);
		assert_string_equal(e2e_field(em, "RelatedToId"),
		    want[i].what ? e2e_key_id(world.sf.keys, want[i].what) : "(null)");
		assert_string_not_equal(e2e_field(em, "ThreadIdentifier"), "(null)");
		assert_string_not_equal(e2e_field(em, "MessageDate"), "(null)");
		for (k = 0; k < 4 && want[i].rel[k] != NULL; k++) {
			const char *colon = strchr(want[i].rel[k], ':');
			char type[32];
			int found = 0;

			snprintf(type, sizeof(type), "%.*s", (int)(colon - want[i].rel[k]),
			    want[i].rel[k]);
			json_array_foreach(rels, j, r)
				if (strcmp(e2e_field(r, "EmailMessageId"), e2e_field(em, "Id")) == 0 &&
				    strcmp(e2e_field(r, "RelationId"),
				    e2e_who_id(world.sf.keys, leads, colon + 1)) == 0 &&
				    strcmp(e2e_field(r, "RelationType"), type) == 0)
					found++;
			if (found != 1)
				fail_msg("%s: %d relations %s", want[i].mail, found, want[i].rel[k]);
		}
		json_array_foreach(rels, j, r)
			if (strcmp(e2e_field(r, "EmailMessageId"), e2e_field(em, "Id")) == 0)
				nrel++;
		assert_int_equal(nrel, k);
		nrel = 0;
		if (both) {
			digest_of(want[i].mail, digest);
			assert_string_equal(e2e_field(e2e_find(tasks, "OutlookMessageId__c", digest),
			    "Id"), e2e_field(em, "ActivityId"));
		}
	}
	/* No EmailMessageRelation twice. */
	json_array_foreach(rels, j, r) {
		size_t n = 0, m;
		json_t *o;

		json_array_foreach(rels, m, o)
			if (strcmp(e2e_field(o, "EmailMessageId"), e2e_field(r, "EmailMessageId")) ==
			    0 && strcmp(e2e_field(o, "RelationId"), e2e_field(r, "RelationId")) == 0)
				n++;
		assert_int_equal(n, 1);
	}
	if (both) {
		assert_int_equal(e2e_count(tasks, "TaskSubtype", "Email"),
		    json_array_size(tasks));
		assert_unique(tasks, "OutlookMessageId__c");
		/* Every email's Task is its EmailMessage's, and carries the digest. */
		json_array_foreach(ems, j, em)
			assert_string_not_equal(e2e_field(e2e_find(tasks, "Id",
			    e2e_field(em, "ActivityId")), "OutlookMessageId__c"), "(null)");
	}
	/* Enhanced Email (sf-sim's default, as most orgs) makes a Task of every EmailMessage:
	 * one per email in emailmessage mode, and in both too, since olsync makes that Task its
	 * own instead of writing a second one. */
	assert_int_equal(json_array_size(tasks), NTASKS + BURST);
	print_message("%s: %zu EmailMessages, %zu relations, %zu Tasks\n",
	    both ? "both" : "emailmessage", json_array_size(ems), json_array_size(rels),
	    json_array_size(tasks));
	json_decref(ems);
	json_decref(rels);
	json_decref(leads);
	json_decref(tasks);
}

static void
run_email_world(int both)
{
	char *before, *after;

	deliver();
	assert_int_equal(sync_once(NULL), 0);
	check_email_world(both);
	if (both)	/* field by field, as in task mode */
		check_task_world();
	check_status(NTASKS + BURST, NSKIPPED);
	before = snapshot();
	assert_int_equal(sync_once(NULL), 0);
	after = snapshot();
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void
test_emailmessage(void **state)
{
	(void)state;
	run_email_world(0);
}

static void
test_both(void **state)
{
	(void)state;
	run_email_world(1);
}

static void
sf_fault(const char *body)
{
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/faults", body, 200));
}

static void
graph_fault(const char *body)
{
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/faults", body, 200));
}

static void
assert_faults_taken(const char *base)
{
	json_t *r = sim_http_ctl(base, "GET", "/_sim/faults", NULL, 200), *f;
	size_t i;

	json_array_foreach(json_object_get(r, "faults"), i, f)
		if (json_integer_value(json_object_get(f, "remaining")) != 0)
			fail_msg("%s: fault on %s not taken", base, e2e_field(f, "path"));
	json_decref(r);
}

/* `olsync status`: pending + failed (what another pass would still do) and dead. */
static long long
open_messages(long long *dead)
{
	char *out = NULL;
	long long n;

	assert_int_equal(e2e_run(world.dir, &out, NULL, "-c", world.conf, "status", NULL), 0);
	n = e2e_status_count(out, "pending ") + e2e_status_count(out, "failed ");
	*dead = e2e_status_count(out, "dead ");
	free(out);
	return n;
}

/* Passes until nothing is open; the number of passes. */
static int
passes_until_done(int first)
{
	long long open = 1, dead = 0;
	int n;

	for (n = first; n < FAULT_PASSES && open > 0; n++) {
		assert_int_equal(sync_once(NULL), 0);
		if ((open = open_messages(&dead)) > 0)
			sleep(1);
	}
	assert_int_equal(open, 0);
	assert_int_equal(dead, 0);
	return n;
}

/* The mix under faults from both emulators: every email still logged once. */
static void
test_faults(void **state)
{
	long long dead;
	int passes;

	(void)state;
	deliver();
	/* Pass 1: Graph throttles one folder, fails another, drops a third; Salesforce's edge
	 * answers HTML 503 to the first lookup. */
	graph_fault("{\"method\":\"GET\",\"path\":\"/v1.0/users/alice@contoso.com/mailFolders/"
	    "inbox\",\"status\":429,\"retry_after\":1}");
	graph_fault("{\"method\":\"GET\",\"path\":\"/v1.0/users/bob@contoso.com/mailFolders/"
	    "sentitems\",\"status\":503}");
	graph_fault("{\"method\":\"GET\",\"path\":\"/v1.0/users/cora@contoso.com/mailFolders/"
	    "inbox\",\"drop\":true,\"count\":2}");
	sf_fault("{\"path\":\"" SF_DATA "/composite\",\"status\":503,\"html\":true}");
	assert_int_equal(sync_once(NULL), 0);
	assert_true(open_messages(&dead) > 0);

	/* Pass 2: the session ends mid-run, then a row lock, then the Leads' creation lands but
	 * its answer is lost. */
	sleep(2);
	sf_fault("{\"path\":\"" SF_DATA "/\",\"errorCode\":\"INVALID_SESSION_ID\"}");
	sf_fault("{\"method\":\"PATCH\",\"path\":\"" SF_DATA "/composite/sobjects\","
	    "\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}");
	sf_fault("{\"method\":\"POST\",\"path\":\"" SF_DATA "/composite/sobjects\","
	    "\"drop\":true,\"after_commit\":true}");
	assert_int_equal(sync_once(NULL), 0);

	/* Pass 3: every delta token expires (410), tokens expire, and the org is at its daily
	 * API limit. */
	sleep(2);
	json_decref(sim_http_ctl(world.graph.base_url, "POST", "/_sim/delta/expire", NULL, 200));
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/expire-tokens", NULL, 200));
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config",
	    "{\"daily_api_limit\":15000,\"api_used\":15000}", 200));
	assert_int_equal(sync_once(NULL), 0);
	json_decref(sim_http_ctl(world.sf.p.base_url, "POST", "/_sim/config", "{\"api_used\":0}",
	    200));
	/* And a REQUEST_LIMIT_EXCEEDED answer on its own. */
	sf_fault("{\"path\":\"" SF_DATA "/composite\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}");

	passes = passes_until_done(3);
	print_message("faults: final state after %d passes\n", passes);
	/* Every scripted fault was met. */
	assert_faults_taken(world.graph.base_url);
	assert_faults_taken(world.sf.p.base_url);
	check_task_world();
	check_status(NTASKS + BURST, NSKIPPED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mix, world_task, world_stop),
		cmocka_unit_test_setup_teardown(test_emailmessage, world_emailmessage, world_stop),
		cmocka_unit_test_setup_teardown(test_both, world_both, world_stop),
		cmocka_unit_test_setup_teardown(test_faults, world_task, world_stop),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
