/* test_match_write.c: match.c and write.c against the real sf-sim through the real sf_client:
 * who an address is (Contacts before Leads, tie-breaks, hostile addresses), the one open
 * Opportunity, the rep's User; Tasks, EmailMessages with relations and Leads written exactly
 * once, a bad record failing alone, and the API calls each batch costs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "match.h"
#include "mono.h"
#include "normalize.h"
#include "sf_client.h"
#include "sf_fixture.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "write.h"
#include "xmalloc.h"

#define HOSTILE1	"x'or'1'='1@evil.com"
#define HOSTILE2	"x'or name!='@evil.com"
#define BAD_OWNER	"005000000000000AAA"	/* well formed, no such User */

static struct sf_fixture fx;
static struct config cfg;
static struct sf_client *sf;
static char tmpdir[] = "/tmp/olsync-mw-XXXXXX";

/* Seed: the org the tests read. Created in this order, so the older duplicate comes first. */
static const char seed_head[] = "{"
    "\"User\":["
    " {\"_key\":\"integ\",\"Username\":\"integration@contoso.com\","
    "  \"Email\":\"integration@contoso.com\",\"LastName\":\"Integration\",\"Alias\":\"integ\"},"
    " {\"_key\":\"rep\",\"Username\":\"rep@contoso.com\",\"Email\":\"rep@contoso.com\","
    "  \"LastName\":\"Rep\",\"Alias\":\"rep\"},"
    " {\"_key\":\"gone\",\"Username\":\"gone@contoso.com\",\"Email\":\"gone@contoso.com\","
    "  \"LastName\":\"Gone\",\"Alias\":\"gone\",\"IsActive\":false}],"
    "\"Account\":[{\"_key\":\"acme\",\"Name\":\"Acme\"},{\"_key\":\"globex\",\"Name\":\"Globex\"}],"
    "\"Contact\":["
    " {\"_key\":\"ann\",\"LastName\":\"Ann\",\"Email\":\"ann@acme.example\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"bob\",\"LastName\":\"Bob\",\"Email\":\"bob@acme.example\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"cat\",\"LastName\":\"Cat\",\"Email\":\"cat@acme.example\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"dupold\",\"LastName\":\"Old\",\"Email\":\"dup@globex.example\","
    "  \"AccountId\":\"@acme\",\"CreatedDate\":\"2024-01-01T00:00:00Z\","
    "  \"LastModifiedDate\":\"2024-06-01T00:00:00Z\"},"
    " {\"_key\":\"dupnew\",\"LastName\":\"New\",\"Email\":\"DUP@globex.example\","
    "  \"AccountId\":\"@globex\",\"CreatedDate\":\"2024-03-01T00:00:00Z\"},"
    " {\"_key\":\"both\",\"LastName\":\"Both\",\"Email\":\"both@x.example\"}],"
    "\"Lead\":["
    " {\"_key\":\"lee\",\"LastName\":\"Lee\",\"Company\":\"L\",\"Email\":\"lee@lead.example\"},"
    " {\"_key\":\"conv\",\"LastName\":\"Conv\",\"Company\":\"C\",\"Email\":\"conv@lead.example\","
    "  \"IsConverted\":true},"
    " {\"_key\":\"bothlead\",\"LastName\":\"BothL\",\"Company\":\"B\",\"Email\":\"both@x.example\"},"
    " {\"_key\":\"l2old\",\"LastName\":\"L2\",\"Company\":\"B\",\"Email\":\"two@lead.example\","
    "  \"CreatedDate\":\"2023-01-01T00:00:00Z\"},"
    " {\"_key\":\"l2new\",\"LastName\":\"L2\",\"Company\":\"B\",\"Email\":\"two@lead.example\","
    "  \"CreatedDate\":\"2023-05-01T00:00:00Z\"}],"
    "\"Opportunity\":["
    " {\"_key\":\"oann\",\"Name\":\"Ann deal\",\"StageName\":\"Prospecting\","
    "  \"CloseDate\":\"2030-01-01\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"obob1\",\"Name\":\"Bob one\",\"StageName\":\"Prospecting\","
    "  \"CloseDate\":\"2030-01-01\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"obob2\",\"Name\":\"Bob two\",\"StageName\":\"Qualification\","
    "  \"CloseDate\":\"2030-02-01\",\"AccountId\":\"@acme\"},"
    " {\"_key\":\"ocat\",\"Name\":\"Cat won\",\"StageName\":\"Closed Won\","
    "  \"CloseDate\":\"2024-01-01\",\"AccountId\":\"@acme\"}],"
    "\"OpportunityContactRole\":["
    " {\"OpportunityId\":\"@oann\",\"ContactId\":\"@ann\",\"Role\":\"Decision Maker\","
    "  \"IsPrimary\":true},"
    " {\"OpportunityId\":\"@oann\",\"ContactId\":\"@ann\",\"Role\":\"Influencer\"},"
    " {\"OpportunityId\":\"@obob1\",\"ContactId\":\"@bob\"},"
    " {\"OpportunityId\":\"@obob2\",\"ContactId\":\"@bob\"},"
    " {\"OpportunityId\":\"@ocat\",\"ContactId\":\"@cat\"}],"
    "\"ConnectedApp\":[{\"consumerKey\":\"OLSYNC_CK\",\"certificate\":";

static const char *
key(const char *k)
{
	const char *id = json_string_value(json_object_get(fx.keys, k));

	if (id == NULL)
		fail_msg("no seeded key %s", k);
	return id;
}

/* "" for "", else the seeded id of k. */
static const char *
key_or_empty(const char *k)
{
	return *k ? key(k) : "";
}

static long
api_calls(void)
{
	json_t *s = sim_http_ctl(fx.p.base_url, "GET", "/_sim/stats", NULL, 200);
	long n = (long)json_integer_value(json_object_get(s, "api_calls"));

	json_decref(s);
	return n;
}

/* Every record of obj, deleted ones included (caller decrefs). */
static json_t *
records(const char *obj)
{
	char path[128];
	json_t *r, *v;

	snprintf(path, sizeof(path), "/_sim/records/%s", obj);
	r = sim_http_ctl(fx.p.base_url, "GET", path, NULL, 200);
	v = json_incref(json_object_get(r, "records"));
	json_decref(r);
	return v;
}

static json_t *
record_by(json_t *recs, const char *fieldname, const char *value)
{
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, fieldname));

		if (v != NULL && strcmp(v, value) == 0)
			return r;
	}
	return NULL;
}

static size_t
count_by(json_t *recs, const char *fieldname, const char *value)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(recs, i, r) {
		const char *v = json_string_value(json_object_get(r, fieldname));

		n += v != NULL && strcmp(v, value) == 0;
	}
	return n;
}

static const char *
sfield(json_t *rec, const char *name)
{
	return json_string_value(json_object_get(rec, name));
}

static int
setup(void **state)
{
	char *cert, *keypem, *keypath, *seed, *text;
	json_t *cj;
	char *certjson;
	struct config_errors errs = { 0 };
	char err[256];
	FILE *fp;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	testkeys_pem(0, &keypem, &cert);
	cj = json_string(cert);
	certjson = json_dumps(cj, JSON_ENCODE_ANY);
	json_decref(cj);
	seed = xasprintf("%s%s,\"preauthorized\":[\"@integ\"]}]}", seed_head, certjson);
	if (sf_fixture_start(&fx, NULL, seed) == -1)
		return -1;
	keypath = xasprintf("%s/sf-key.pem", tmpdir);
	if ((fp = fopen(keypath, "w")) == NULL)
		return -1;
	fputs(keypem, fp);
	fclose(fp);
	chmod(keypath, 0600);
	setenv("OLT_MW_GRAPH_SECRET", "graph-secret-not-used", 1);
	text = xasprintf("graph_tenant t.example\n"
	    "graph_client_id 11111111-2222-3333-4444-555555555555\n"
	    "graph_client_secret env:OLT_MW_GRAPH_SECRET\n"
	    "sf_login_url %s\n"
	    "sf_client_id OLSYNC_CK\n"
	    "sf_username integration@contoso.com\n"
	    "sf_private_key_file %s\n"
	    "mailboxes rep@contoso.com\n"
	    "internal_domains contoso.com\n"
	    "free_mail_company \"Individual\"\n"
	    /* A wall-clock wait: scaled, as a 1,000-record composite under memcheck outlasts
	     * the default 30 s. */
	    "http_timeout %lds\n", fx.p.base_url, keypath, mono_scaled(30000) / 1000);
	if (config_parse("mw.conf", text, strlen(text), tmpdir, &cfg, &errs) == -1) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		config_errors_free(&errs);
		return -1;
	}
	config_errors_free(&errs);
	sf = sf_client_new(&cfg, err, sizeof(err));
	if (sf == NULL) {
		fprintf(stderr, "sf_client_new: %s\n", err);
		return -1;
	}
	free(cert);
	free(keypem);
	free(certjson);
	free(seed);
	free(text);
	free(keypath);
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc;

	(void)state;
	rc = sf_fixture_stop(&fx);
	sf_client_free(sf);
	config_free(&cfg);
	if (system(cmd) != 0)
		rc = -1;
	free(cmd);
	return rc;
}

/* Logs in outside the counted calls, and resets the policies a test may have changed. */
static int
before_each(void **state)
{
	struct remote_failure f;

	(void)state;
	cfg.tie_break = CONFIG_TIE_BREAK_OLDEST;
	cfg.opportunity_policy = CONFIG_OPPORTUNITY_SINGLE_OPEN;
	cfg.mode = CONFIG_MODE_TASK;
	free(cfg.activity_timezone);
	cfg.activity_timezone = xstrdup("UTC");
	return sf_client_login(sf, &f);
}

/* ---- match_people ---------------------------------------------------------------------- */

static const struct {
	const char *address;
	const char *id;		/* seed key, "" for nobody */
	int is_lead;
	const char *account;	/* seed key or "" */
	const char *opportunity;	/* seed key or "" */
	int candidates;
} people_cases[] = {
	{ "ann@acme.example", "ann", 0, "acme", "oann", 1 },	/* one deal, two roles */
	{ "BOB@Acme.Example", "bob", 0, "acme", "", 1 },	/* two open deals */
	{ "cat@acme.example", "cat", 0, "acme", "", 1 },	/* only a closed deal */
	{ "dup@globex.example", "dupold", 0, "acme", "", 2 },	/* oldest wins */
	{ "both@x.example", "both", 0, "", "", 1 },		/* a Contact beats a Lead */
	{ "lee@lead.example", "lee", 1, "", "", 1 },		/* a Lead: never an Opportunity */
	{ "conv@lead.example", "", 0, "", "", 0 },		/* converted Leads do not count */
	{ "two@lead.example", "l2old", 1, "", "", 2 },
	{ "nobody@none.example", "", 0, "", "", 0 },
	{ HOSTILE1, "", 0, "", "", 0 },
	{ HOSTILE2, "", 0, "", "", 0 },
	{ "ann@acme.example", "ann", 0, "acme", "oann", 1 },	/* asked twice */
	{ "", "", 0, "", "", 0 },
};
#define NPEOPLE (sizeof(people_cases) / sizeof(people_cases[0]))

static void
test_match_people(void **state)
{
	const char *addrs[NPEOPLE];
	struct match_person out[NPEOPLE];
	struct remote_failure f;
	long before, client_before;

	(void)state;
	for (size_t i = 0; i < NPEOPLE; i++)
		addrs[i] = people_cases[i].address;
	before = api_calls();
	client_before = sf_client_calls(sf);
	assert_int_equal(match_people(sf, &cfg, addrs, NPEOPLE, out, &f), 0);
	/* Contacts, Leads and Opportunity roles: three queries of one /composite call. */
	assert_int_equal(api_calls() - before, 1);
	assert_int_equal(sf_client_calls(sf) - client_before, 1);
	for (size_t i = 0; i < NPEOPLE; i++) {
		const char *addr = people_cases[i].address;

		assert_string_equal(out[i].id, key_or_empty(people_cases[i].id));
		if (strcasecmp(out[i].address, addr) != 0 || strcmp(out[i].id,
		    key_or_empty(people_cases[i].id)) != 0)
			fail_msg("case %zu %s", i, addr);
		assert_int_equal(out[i].is_lead, people_cases[i].is_lead);
		assert_string_equal(out[i].account_id, key_or_empty(people_cases[i].account));
		assert_string_equal(out[i].opportunity_id,
		    key_or_empty(people_cases[i].opportunity));
		assert_int_equal(out[i].candidates, people_cases[i].candidates);
	}
	assert_string_equal(out[1].address, "bob@acme.example");
}

static void
test_match_tie_break(void **state)
{
	static const struct {
		enum config_tie_break policy;
		const char *contact, *lead;
	} cases[] = {
		{ CONFIG_TIE_BREAK_OLDEST, "dupold", "l2old" },
		{ CONFIG_TIE_BREAK_NEWEST, "dupnew", "l2new" },
		/* dupold was modified after dupnew was created; the Leads never were */
		{ CONFIG_TIE_BREAK_MODIFIED, "dupold", "l2new" },
	};
	const char *addrs[] = { "dup@globex.example", "two@lead.example" };
	struct match_person out[2];
	struct remote_failure f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg.tie_break = cases[i].policy;
		assert_int_equal(match_people(sf, &cfg, addrs, 2, out, &f), 0);
		assert_string_equal(out[0].id, key(cases[i].contact));
		assert_string_equal(out[1].id, key(cases[i].lead));
		assert_int_equal(out[0].candidates, 2);
		assert_int_equal(out[1].candidates, 2);
	}
}

static void
test_match_policy_none(void **state)
{
	const char *addrs[] = { "ann@acme.example" };
	struct match_person out[1];
	struct remote_failure f;
	long before;

	(void)state;
	cfg.opportunity_policy = CONFIG_OPPORTUNITY_NONE;
	before = api_calls();
	assert_int_equal(match_people(sf, &cfg, addrs, 1, out, &f), 0);
	assert_string_equal(out[0].id, key("ann"));
	assert_string_equal(out[0].opportunity_id, "");
	assert_int_equal(api_calls() - before, 1);	/* Contacts and Leads, no roles: one call */
}

/* A hostile address alone matches nothing, costs its queries, and leaves the org answering. */
static void
test_match_hostile(void **state)
{
	const char *addrs[] = { HOSTILE1, HOSTILE2, "a\\'b@evil.com", "'@evil.com" };
	const char *ann[] = { "ann@acme.example" };
	struct match_person out[4];
	struct remote_failure f;
	json_t *contacts;

	(void)state;
	assert_int_equal(match_people(sf, &cfg, addrs, 4, out, &f), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(out[i].id, "");
		assert_int_equal(out[i].candidates, 0);
	}
	assert_int_equal(match_people(sf, &cfg, ann, 1, out, &f), 0);
	assert_string_equal(out[0].id, key("ann"));
	contacts = records("Contact");
	assert_int_equal(json_array_size(contacts), 6);
	json_decref(contacts);
}

/* The chunks a Contact lookup of these addresses takes. */
static long
chunks_for(const char *const *addrs, size_t n)
{
	char **lits = xcalloc(n, sizeof(*lits)), **queries, err[128];
	size_t nq;

	for (size_t i = 0; i < n; i++)
		lits[i] = normalize_soql_quote(addrs[i]);
	assert_int_equal(normalize_soql_in_chunks("SELECT Id, Email, AccountId, CreatedDate, "
	    "LastModifiedDate FROM Contact WHERE Email IN ", "", (const char *const *)lits, n,
	    SF_CLIENT_COMPOSITE_SOQL_MAX, 0, &queries, &nq, err, sizeof(err)), 0);
	normalize_strv_free(queries);
	for (size_t i = 0; i < n; i++)
		free(lits[i]);
	free(lits);
	return (long)nq;
}

/* Many addresses: chunked under the SOQL length limit, five chunks to a call. */
static void
test_match_many(void **state)
{
	enum { N = 2000 };
	char **buf = xcalloc(N, sizeof(*buf));
	const char **addrs = xcalloc(N, sizeof(*addrs));
	struct match_person *out = xcalloc(N, sizeof(*out));
	struct remote_failure f;
	long before;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		buf[i] = xasprintf("someone.with.a.long.name.%04zu@some-company-%04zu.example", i, i);
		addrs[i] = buf[i];
	}
	addrs[N / 2] = "bob@acme.example";
	before = api_calls();
	assert_int_equal(match_people(sf, &cfg, addrs, N, out, &f), 0);
	assert_string_equal(out[N / 2].id, key("bob"));
	assert_string_equal(out[0].id, "");
	/* Two chunks each of Contacts, Leads and Opportunity roles (the same addresses, heads of
	 * about one length): six queries, five to a call. */
	assert_int_equal(chunks_for(addrs, N), 2);
	assert_int_equal(api_calls() - before, 2);
	for (size_t i = 0; i < N; i++)
		free(buf[i]);
	free(buf);
	free(addrs);
	free(out);
}

static void
test_match_users(void **state)
{
	const char *boxes[] = { "rep@contoso.com", "REP@contoso.com", "gone@contoso.com",
	    "nobody@contoso.com", HOSTILE1 };
	char ids[5][MATCH_ID_LEN + 1];
	struct remote_failure f;
	long before = api_calls();

	(void)state;
	assert_int_equal(match_users(sf, boxes, 5, ids, &f), 0);
	assert_int_equal(api_calls() - before, 1);
	assert_string_equal(ids[0], key("rep"));
	assert_string_equal(ids[1], key("rep"));
	assert_string_equal(ids[2], "");	/* inactive */
	assert_string_equal(ids[3], "");
	assert_string_equal(ids[4], "");
}

/* ---- write_activities: Task mode ------------------------------------------------------- */

static void
digest_of(const char *msgid, char out[NORMALIZE_DIGEST_LEN + 1])
{
	normalize_digest(msgid, out);
}

static void
test_write_tasks_once(void **state)
{
	char ext[4][NORMALIZE_DIGEST_LEN + 1], first[4][MATCH_ID_LEN + 1];
	char *long_subject = xcalloc(1, 300 * 2 + 1);
	struct write_activity items[4];
	struct remote_failure f;
	json_t *tasks, *t;
	long before;

	(void)state;
	for (int i = 0; i < 300; i++)
		memcpy(long_subject + 2 * i, "\xc3\xa9", 2);	/* é: 300 characters */
	digest_of("task-a@mw.example", ext[0]);
	digest_of("task-b@mw.example", ext[1]);
	digest_of("task-c@mw.example", ext[2]);
	digest_of("task-d@mw.example", ext[3]);
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 4; i++) {
		items[i].ext_id = ext[i];
		items[i].inbound = 1;
		items[i].subject = "Quote";
		items[i].body_preview = "Hello there";
		items[i].when = 1714600800;	/* 2024-05-01T22:00:00Z */
		items[i].owner_id = key("rep");
		items[i].who_id = key("ann");
	}
	items[0].what_id = key("oann");
	items[1].who_id = key("lee");		/* a Lead: the WhatId must be dropped */
	items[1].what_id = key("oann");
	items[2].subject = long_subject;
	items[2].body_preview = NULL;
	items[3].owner_id = BAD_OWNER;		/* fails alone */

	for (int run = 0; run < 2; run++) {
		before = api_calls();
		assert_int_equal(write_activities(sf, &cfg, items, 4, &f), 0);
		/* One upsert; the second run finds three Tasks and sends them again without the
		 * create-only TaskSubtype. */
		assert_int_equal(api_calls() - before, run == 0 ? 1 : 2);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(items[i].failure.cls, REMOTE_OK);
			assert_int_equal(strlen(items[i].task_id), 18);
			assert_string_equal(items[i].email_message_id, "");
			if (run == 0)
				memcpy(first[i], items[i].task_id, sizeof(first[i]));
			else
				assert_string_equal(items[i].task_id, first[i]);
		}
		assert_int_equal(items[3].failure.cls, REMOTE_FINAL);
		assert_string_equal(items[3].task_id, "");
		assert_true(items[3].failure.code[0] != '\0');
		assert_true(strstr(items[3].failure.message, "OwnerId") != NULL);
	}

	tasks = records("Task");
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_by(tasks, "OutlookMessageId__c", ext[i]), 1);
	assert_int_equal(count_by(tasks, "OutlookMessageId__c", ext[3]), 0);
	t = record_by(tasks, "Id", first[0]);
	assert_non_null(t);
	assert_string_equal(sfield(t, "OutlookMessageId__c"), ext[0]);
	assert_string_equal(sfield(t, "Subject"), "Email: Quote");
	assert_string_equal(sfield(t, "WhoId"), key("ann"));
	assert_string_equal(sfield(t, "WhatId"), key("oann"));
	assert_string_equal(sfield(t, "Status"), "Completed");
	assert_string_equal(sfield(t, "Priority"), "Normal");
	assert_string_equal(sfield(t, "TaskSubtype"), "Email");
	assert_string_equal(sfield(t, "Type"), "Email");
	assert_string_equal(sfield(t, "Description"), "Hello there");
	assert_string_equal(sfield(t, "ActivityDate"), "2024-05-01");
	assert_string_equal(sfield(t, "OwnerId"), key("rep"));
	t = record_by(tasks, "Id", first[1]);
	assert_non_null(t);
	assert_string_equal(sfield(t, "WhoId"), key("lee"));
	assert_true(json_is_null(json_object_get(t, "WhatId")));
	t = record_by(tasks, "Id", first[2]);
	assert_non_null(t);
	/* "Email: " and 248 é: 255 characters, cut between two of them. */
	assert_int_equal(strlen(sfield(t, "Subject")), 7 + 248 * 2);
	assert_memory_equal(sfield(t, "Subject") + 7, long_subject, 248 * 2);
	json_decref(tasks);
	free(long_subject);
}

/* n Tasks to write, on who, for the mails "<prefix>-<i>@mw.example"; (*ext)[i] holds each one's
 * digest (both arrays the caller's to free). */
static struct write_activity *
bulk_items(const char *prefix, const char *subject, const char *who, size_t n,
    char (**ext)[NORMALIZE_DIGEST_LEN + 1])
{
	struct write_activity *items = xcalloc(n, sizeof(*items));

	*ext = xcalloc(n, sizeof(**ext));
	for (size_t i = 0; i < n; i++) {
		char id[64];

		snprintf(id, sizeof(id), "%s-%zu@mw.example", prefix, i);
		digest_of(id, (*ext)[i]);
		items[i].ext_id = (*ext)[i];
		items[i].subject = subject;
		items[i].when = 1714600800;
		items[i].who_id = key(who);
	}
	return items;
}

/* 1,000 Tasks are one call (five collections in one /composite), each result back on its own
 * email; the same 1,000 again (every Task existed, so TaskSubtype is refused) take one more. */
static void
test_write_tasks_packed(void **state)
{
	enum { N = 1000 };
	char (*ext)[NORMALIZE_DIGEST_LEN + 1];
	char (*first)[MATCH_ID_LEN + 1] = xcalloc(N, sizeof(*first));
	struct write_activity *items = bulk_items("packed", "Packed", "ann", N, &ext);
	struct remote_failure f;
	json_t *tasks;
	long before;

	(void)state;
	for (int run = 0; run < 2; run++) {
		before = api_calls();
		assert_int_equal(write_activities(sf, &cfg, items, N, &f), 0);
		assert_int_equal(api_calls() - before, run == 0 ? 1 : 2);
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(items[i].failure.cls, REMOTE_OK);
			assert_int_equal(strlen(items[i].task_id), 18);
			if (run == 0)
				memcpy(first[i], items[i].task_id, sizeof(first[i]));
			else
				assert_string_equal(items[i].task_id, first[i]);
		}
	}
	tasks = records("Task");
	for (size_t i = 0; i < N; i += 97)
		assert_string_equal(json_string_value(json_object_get(record_by(tasks,
		    "OutlookMessageId__c", ext[i]), "Id")), first[i]);
	json_decref(tasks);
	free(ext);
	free(first);
	free(items);
}

/* 200 Tasks are one call; the 201st makes a second. */
static void
test_write_tasks_budget(void **state)
{
	enum { N = 201 };
	char (*ext)[NORMALIZE_DIGEST_LEN + 1];
	struct write_activity *items = bulk_items("bulk", "Bulk", "bob", N, &ext);
	struct remote_failure f;
	long before;

	(void)state;
	before = api_calls();
	assert_int_equal(write_activities(sf, &cfg, items, 200, &f), 0);
	assert_int_equal(api_calls() - before, 1);
	before = api_calls();
	assert_int_equal(write_activities(sf, &cfg, items + 199, 2, &f), 0);
	assert_int_equal(api_calls() - before, 2);	/* #199 existed: its retry is the 2nd */
	for (size_t i = 0; i < N; i++)
		assert_int_equal(strlen(items[i].task_id), 18);
	free(ext);
	free(items);
}

/* ActivityDate is the day in activity_timezone: from the zone's transitions, and after the
 * last one (2037) from its rule. */
static void
test_write_task_dates(void **state)
{
	static const struct {
		const char *tz;
		time_t when;
		const char *date;
	} cases[] = {
		{ "UTC", 1714607940, "2024-05-01" },	/* 2024-05-01T23:59Z, 23:59 local */
		{ "Europe/Paris", 1714602600, "2024-05-02" },	/* 2024-05-01T22:30Z, 00:30 local */
		{ "Europe/Paris", 1704148200, "2024-01-01" },	/* 2024-01-01T22:30Z, 23:30 local */
		{ "Europe/Paris", 1735687800, "2025-01-01" },	/* 2024-12-31T23:30Z, 00:30 local */
		{ "America/New_York", 1714528800, "2024-04-30" },	/* 2024-05-01T02:00Z, 22:00 local */
		{ "America/New_York", 1730608200, "2024-11-03" },	/* 2024-11-03T04:30Z, 00:30 local */
		{ "America/New_York", 1730694600, "2024-11-03" },	/* 2024-11-04T04:30Z, 23:30 local */
		{ "Asia/Kolkata", 1714590000, "2024-05-02" },	/* 2024-05-01T19:00Z, 00:30 local */
		{ "Australia/Sydney", 1704115800, "2024-01-02" },	/* 2024-01-01T13:30Z, 00:30 local */
		{ "Australia/Sydney", 1719840600, "2024-07-01" },	/* 2024-07-01T13:30Z, 23:30 local */
		/* after the file's last transition (2037): the footer's rule */
		{ "Europe/Paris", 2224794600, "2040-07-02" },	/* 2040-07-01T22:30Z, 00:30 local */
		{ "Europe/Paris", 2209069800, "2040-01-01" },	/* 2040-01-01T22:30Z, 23:30 local */
		{ "America/New_York", 2235616200, "2040-11-04" },	/* 2040-11-04T04:30Z, 00:30 local */
		{ "America/New_York", 2235702600, "2040-11-04" },	/* 2040-11-05T04:30Z, 23:30 local */
		{ "Australia/Sydney", 2209555800, "2040-01-08" },	/* 2040-01-07T13:30Z, 00:30 local */
		{ "Australia/Sydney", 2225021400, "2040-07-04" },	/* 2040-07-04T13:30Z, 23:30 local */
		{ "Australia/Sydney", 2233143000, "2040-10-06" },	/* 2040-10-06T13:30Z, 23:30 local */
		{ "Australia/Sydney", 2233229400, "2040-10-08" },	/* 2040-10-07T13:30Z, 00:30 local */
		{ "Australia/Sydney", 2216899800, "2040-04-01" },	/* 2040-04-01T13:30Z, 23:30 local */
	};
	char ext[NORMALIZE_DIGEST_LEN + 1], id[64];
	struct write_activity item;
	struct remote_failure f;
	json_t *tasks, *t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(id, sizeof(id), "date-%zu@mw.example", i);
		digest_of(id, ext);
		memset(&item, 0, sizeof(item));
		item.ext_id = ext;
		item.subject = "Date";
		item.when = cases[i].when;
		/* cfg owns the string: a failing case must not leave it pointing at ours */
		free(cfg.activity_timezone);
		cfg.activity_timezone = xstrdup(cases[i].tz);
		assert_int_equal(write_activities(sf, &cfg, &item, 1, &f), 0);
		assert_int_equal(item.failure.cls, REMOTE_OK);
		tasks = records("Task");
		t = record_by(tasks, "Id", item.task_id);
		assert_non_null(t);
		if (strcmp(sfield(t, "ActivityDate"), cases[i].date) != 0)
			fail_msg("case %zu %s %lld: %s, want %s", i, cases[i].tz,
			    (long long)cases[i].when, sfield(t, "ActivityDate"), cases[i].date);
		json_decref(tasks);
	}

	/* A zone that cannot be read: UTC, with a warning, rather than no Task. */
	setenv("TZDIR", tmpdir, 1);
	digest_of("date-unreadable@mw.example", ext);
	memset(&item, 0, sizeof(item));
	item.ext_id = ext;
	item.when = 1714602600;		/* 2024-05-01T22:30Z: the 2nd in Sydney */
	assert_int_equal(write_activities(sf, &cfg, &item, 1, &f), 0);
	unsetenv("TZDIR");
	tasks = records("Task");
	t = record_by(tasks, "Id", item.task_id);
	assert_non_null(t);
	assert_string_equal(sfield(t, "ActivityDate"), "2024-05-01");
	assert_string_equal(sfield(t, "Subject"), "Email: [No Subject]");
	json_decref(tasks);
}

/* ---- write_activities: EmailMessage mode ----------------------------------------------- */

static void
test_write_email_messages_once(void **state)
{
	char ext[2][NORMALIZE_DIGEST_LEN + 1], first[2][MATCH_ID_LEN + 1];
	const char *in_rel[] = { key("ann") };
	const char *out_rel[] = { key("bob"), key("lee"), key("bob") };
	struct write_activity items[2];
	struct remote_failure f;
	size_t ems_before, rels_before;
	json_t *ems, *rels, *e;
	long before;

	(void)state;
	cfg.mode = CONFIG_MODE_EMAILMESSAGE;
	ems = records("EmailMessage");
	rels = records("EmailMessageRelation");
	ems_before = json_array_size(ems);
	rels_before = json_array_size(rels);
	json_decref(ems);
	json_decref(rels);
	digest_of("em-in@mw.example", ext[0]);
	digest_of("em-out@mw.example", ext[1]);
	memset(items, 0, sizeof(items));
	items[0] = (struct write_activity){ .ext_id = ext[0],
	    .internet_message_id = "<EM-In.1@MW.example>", .conversation_id = "AAQkconv1",
	    .inbound = 1, .subject = "Question", .body_preview = "Can you quote?",
	    .from_address = "ann@acme.example", .from_name = "Ann",
	    .to_addresses = "rep@contoso.com", .when = 1714600800, .owner_id = key("rep"),
	    .who_id = key("ann"), .what_id = key("oann"), .relation_ids = in_rel,
	    .nrelations = 1 };
	items[1] = (struct write_activity){ .ext_id = ext[1],
	    .internet_message_id = "<em-out.2@contoso.com>", .conversation_id = "AAQkconv2",
	    .inbound = 0, .subject = "Offer", .body_preview = "Here it is",
	    .from_address = "rep@contoso.com", .from_name = "Rep",
	    .to_addresses = "bob@acme.example; lee@lead.example", .cc_addresses = "",
	    .when = 1714600800, .owner_id = key("rep"), .who_id = key("bob"),
	    .relation_ids = out_rel, .nrelations = 3 };

	for (int run = 0; run < 2; run++) {
		before = api_calls();
		assert_int_equal(write_activities(sf, &cfg, items, 2, &f), 0);
		/* First: look up, create, relations. Then: look up both, nothing to create. */
		assert_int_equal(api_calls() - before, run == 0 ? 3 : 2);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(items[i].failure.cls, REMOTE_OK);
			assert_string_equal(items[i].task_id, "");
			assert_int_equal(strlen(items[i].email_message_id), 18);
			if (run == 0)
				memcpy(first[i], items[i].email_message_id, sizeof(first[i]));
			else
				assert_string_equal(items[i].email_message_id, first[i]);
		}
	}
	ems = records("EmailMessage");
	rels = records("EmailMessageRelation");
	assert_int_equal(json_array_size(ems), ems_before + 2);
	/* in: Ann (From) + the rep (To); out: Bob, Lee (To) + the rep (From) */
	assert_int_equal(json_array_size(rels), rels_before + 5);
	e = record_by(ems, "Id", first[0]);
	assert_non_null(e);
	assert_string_equal(sfield(e, "Status"), "3");
	assert_true(json_is_true(json_object_get(e, "Incoming")));
	assert_string_equal(sfield(e, "MessageIdentifier"), "<EM-In.1@MW.example>");
	assert_string_equal(sfield(e, "ThreadIdentifier"), "AAQkconv1");
	assert_string_equal(sfield(e, "Subject"), "Question");
	assert_string_equal(sfield(e, "TextBody"), "Can you quote?");
	assert_string_equal(sfield(e, "FromAddress"), "ann@acme.example");
	assert_string_equal(sfield(e, "RelatedToId"), key("oann"));
	assert_string_equal(sfield(e, "MessageDate"), "2024-05-01T22:00:00.000+0000");
	e = record_by(ems, "Id", first[1]);
	assert_non_null(e);
	assert_true(json_is_false(json_object_get(e, "Incoming")));
	assert_string_equal(sfield(e, "ToAddress"), "bob@acme.example; lee@lead.example");
	assert_true(json_is_null(json_object_get(e, "RelatedToId")));
	{
		size_t i, from = 0, to = 0;
		json_t *r;

		json_array_foreach(rels, i, r) {
			const char *em = sfield(r, "EmailMessageId"), *type = sfield(r, "RelationType");

			if (em == NULL || type == NULL)
				continue;
			if (strcmp(em, first[0]) == 0) {
				if (strcmp(sfield(r, "RelationId"), key("ann")) == 0)
					from += strcmp(type, "FromAddress") == 0;
				else if (strcmp(sfield(r, "RelationId"), key("rep")) == 0)
					to += strcmp(type, "ToAddress") == 0;
			}
		}
		assert_int_equal(from, 1);
		assert_int_equal(to, 1);
	}
	json_decref(ems);
	json_decref(rels);
}

/* Both: one activity per email. With Enhanced Email the EmailMessage's own Task
 * (ActivityId) is stamped with OutlookMessageId__c and olsync's fields; without it olsync
 * upserts its own Task; an email olsync logged in task mode before keeps that Task. Each case
 * is written twice: the second pass looks up and sends nothing. */
static const struct {
	const char *msgid;
	int enhanced;		/* sf-sim's enhanced_email */
	int task_first;		/* written once in task mode before */
	const char *who, *what, *owner;	/* seeded keys, or a raw id starting with 0 */
	int fault;		/* the first pass's Task update gets a 503 */
	int stamped;		/* the Task is the EmailMessage's ActivityId */
	size_t new_tasks;	/* Tasks the email leaves in Salesforce */
	long calls_again;	/* API calls of the second pass, -1: not checked */
	int ok;			/* 0: the email fails FINAL on every pass */
	const char *why;	/* !ok: in the failure's message */
} both_cases[] = {
	{ "<both-c@mw.example>", 1, 0, "ann", "oann", "rep", 0, 1, 1, 3, 1, NULL },
	/* A Lead: the WhatId is dropped. */
	{ "<both-l@mw.example>", 1, 0, "lee", "oann", "rep", 0, 1, 1, 3, 1, NULL },
	/* Enhanced Email off: no ActivityId, olsync's own Task. */
	{ "<both-off@mw.example>", 0, 0, "cat", NULL, "rep", 0, 0, 1, 3, 1, NULL },
	/* Logged in task mode first: that Task stays the activity (Salesforce's Enhanced Email
	 * Task of the new EmailMessage is beside it, unstamped). */
	{ "<both-t@mw.example>", 1, 1, "ann", "oann", "rep", 0, 0, 2, 3, 1, NULL },
	/* The update call fails (temp): the next pass stamps the same Task. */
	{ "<both-503@mw.example>", 1, 0, "bob", NULL, "rep", 1, 1, 1, 4, 1, NULL },
	/* Rejected: an owner that is no User (a relation is made only for a User, so the Task
	 * update is what refuses it) fails the email alone; no Task carries its id. */
	{ "<both-bad@mw.example>", 1, 0, "cat", NULL, "00G000000000000AAA", 0, 0, 1, 4, 0,
	  "OwnerId" },
	/* Rejected: an unknown User fails at its EmailMessageRelation, before any Task. */
	{ "<both-rel@mw.example>", 1, 0, "bob", NULL, BAD_OWNER, 0, 0, 1, -1, 0,
	  "RelationId" },
};

static const char *
key_or_id(const char *k)
{
	return k[0] == '0' ? k : key(k);
}

static void
set_enhanced(int on)
{
	json_decref(sim_http_ctl(fx.p.base_url, "POST", "/_sim/config",
	    on ? "{\"enhanced_email\":true}" : "{\"enhanced_email\":false}", 200));
}

static void
test_write_both(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(both_cases) / sizeof(both_cases[0]); c++) {
		char ext[NORMALIZE_DIGEST_LEN + 1], first[MATCH_ID_LEN + 1] = "", *lmd = NULL;
		const char *rel[1];
		struct write_activity item;
		struct remote_failure f;
		size_t tasks_before;
		json_t *tasks, *ems, *t, *em;
		long before;

		set_enhanced(both_cases[c].enhanced);
		tasks = records("Task");
		tasks_before = json_array_size(tasks);
		json_decref(tasks);
		digest_of(both_cases[c].msgid, ext);
		rel[0] = key(both_cases[c].who);
		memset(&item, 0, sizeof(item));
		item = (struct write_activity){ .ext_id = ext,
		    .internet_message_id = both_cases[c].msgid, .conversation_id = "AAQkboth",
		    .inbound = 1, .subject = "Both", .body_preview = "One activity",
		    .from_address = "x@acme.example", .to_addresses = "rep@contoso.com",
		    .when = 1714600800, .who_id = key(both_cases[c].who),
		    .what_id = both_cases[c].what ? key(both_cases[c].what) : NULL,
		    .owner_id = key_or_id(both_cases[c].owner),
		    .relation_ids = rel, .nrelations = 1 };
		if (both_cases[c].task_first) {
			cfg.mode = CONFIG_MODE_TASK;
			assert_int_equal(write_activities(sf, &cfg, &item, 1, &f), 0);
			assert_int_equal(item.failure.cls, REMOTE_OK);
			memcpy(first, item.task_id, sizeof(first));
		}
		cfg.mode = CONFIG_MODE_BOTH;
		for (int run = 0; run < 2; run++) {
			if (run == 0 && both_cases[c].fault)
				json_decref(sim_http_ctl(fx.p.base_url, "POST", "/_sim/faults",
				    "{\"method\":\"PATCH\",\"path\":\"/services/data/\","
				    "\"status\":503}", 200));
			before = api_calls();
			assert_int_equal(write_activities(sf, &cfg, &item, 1, &f), 0);
			if (run == 1 && both_cases[c].calls_again >= 0)
				assert_int_equal(api_calls() - before, both_cases[c].calls_again);
			assert_int_equal(strlen(item.email_message_id), 18);
			if (run == 0 && both_cases[c].fault) {
				assert_int_equal(item.failure.cls, REMOTE_TEMP);
				assert_string_equal(item.task_id, "");
				continue;
			}
			if (!both_cases[c].ok) {
				assert_int_equal(item.failure.cls, REMOTE_FINAL);
				assert_string_equal(item.task_id, "");
				if (strstr(item.failure.message, both_cases[c].why) == NULL)
					fail_msg("%s: %s", both_cases[c].msgid, item.failure.message);
				continue;
			}
			assert_int_equal(item.failure.cls, REMOTE_OK);
			assert_int_equal(strlen(item.task_id), 18);
			if (first[0] == '\0')
				memcpy(first, item.task_id, sizeof(first));
			else
				assert_string_equal(item.task_id, first);
			tasks = records("Task");
			t = record_by(tasks, "Id", first);
			assert_non_null(t);
			if (lmd == NULL)
				lmd = xstrdup(sfield(t, "LastModifiedDate"));
			else	/* nothing sent: the Task is untouched */
				assert_string_equal(sfield(t, "LastModifiedDate"), lmd);
			json_decref(tasks);
		}
		free(lmd);
		set_enhanced(1);

		tasks = records("Task");
		ems = records("EmailMessage");
		em = record_by(ems, "Id", item.email_message_id);
		assert_non_null(em);
		assert_int_equal(json_array_size(tasks), tasks_before + both_cases[c].new_tasks);
		assert_int_equal(count_by(tasks, "OutlookMessageId__c", ext), both_cases[c].ok);
		if (both_cases[c].stamped)
			assert_string_equal(sfield(em, "ActivityId"), first);
		else if (both_cases[c].ok)
			assert_string_not_equal(sfield(em, "ActivityId") ? sfield(em, "ActivityId") :
			    "", first);
		if (!both_cases[c].enhanced)
			assert_true(json_is_null(json_object_get(em, "ActivityId")));
		if (both_cases[c].ok) {
			t = record_by(tasks, "Id", first);
			assert_string_equal(sfield(t, "OutlookMessageId__c"), ext);
			assert_string_equal(sfield(t, "Subject"), "Email: Both");
			assert_string_equal(sfield(t, "WhoId"), key(both_cases[c].who));
			if (both_cases[c].what == NULL || both_cases[c].who[0] == 'l')
				assert_true(json_is_null(json_object_get(t, "WhatId")));
			else
				assert_string_equal(sfield(t, "WhatId"), key(both_cases[c].what));
			assert_string_equal(sfield(t, "OwnerId"), key(both_cases[c].owner));
			assert_string_equal(sfield(t, "Status"), "Completed");
			assert_string_equal(sfield(t, "Priority"), "Normal");
			assert_string_equal(sfield(t, "Type"), "Email");
			assert_string_equal(sfield(t, "TaskSubtype"), "Email");
			assert_string_equal(sfield(t, "Description"), "One activity");
			assert_string_equal(sfield(t, "ActivityDate"), "2024-05-01");
		}
		json_decref(tasks);
		json_decref(ems);
	}
}

/* Nothing landed because the service is down: -1 with the call's failure, and every item
 * carries it. */
static void
test_write_service_down(void **state)
{
	char ext[NORMALIZE_DIGEST_LEN + 1];
	struct write_activity item;
	struct remote_failure f;
	json_t *r;

	(void)state;
	digest_of("down@mw.example", ext);
	memset(&item, 0, sizeof(item));
	item.ext_id = ext;
	item.subject = "Down";
	item.when = 1714600800;
	r = sim_http_ctl(fx.p.base_url, "POST", "/_sim/faults", "{\"path\":\"/services/data/\","
	    "\"count\":100,\"status\":503}", 200);
	json_decref(r);
	assert_int_equal(write_activities(sf, &cfg, &item, 1, &f), -1);
	r = sim_http_ctl(fx.p.base_url, "DELETE", "/_sim/faults", NULL, 200);
	json_decref(r);
	assert_int_equal(f.cls, REMOTE_TEMP);
	assert_int_equal(item.failure.cls, REMOTE_TEMP);
	assert_string_equal(item.task_id, "");
}

/* ---- write_leads ----------------------------------------------------------------------- */

static void
test_write_leads(void **state)
{
	struct write_lead leads[4];
	struct remote_failure f;
	json_t *all, *l;
	long before;

	(void)state;
	memset(leads, 0, sizeof(leads));
	leads[0] = (struct write_lead){ .address = "jane.doe@sales.newco-industries.co.uk",
	    .display_name = "\"Doe, Jane\"", .subject = "Pricing", .body_preview = "Hi, how much?",
	    .owner_id = key("rep") };
	leads[1] = (struct write_lead){ .address = "john.smith@gmail.com", .display_name = "",
	    .subject = "Hello", .body_preview = "" };
	leads[2] = (struct write_lead){ .address = "bad.owner@newco.example",
	    .display_name = "Bad Owner", .subject = "x", .owner_id = BAD_OWNER };
	leads[3] = (struct write_lead){ .address = "a-very-long-local-part-that-goes-on-and-on@"
	    "and-a-domain-that-is-also-long.example", .display_name = "Long" };
	before = api_calls();
	assert_int_equal(write_leads(sf, &cfg, leads, 4, &f), 0);
	assert_int_equal(api_calls() - before, 1);
	assert_int_equal(leads[0].failure.cls, REMOTE_OK);
	assert_int_equal(leads[1].failure.cls, REMOTE_OK);
	assert_int_equal(leads[2].failure.cls, REMOTE_FINAL);
	assert_string_equal(leads[2].lead_id, "");
	assert_int_equal(leads[3].failure.cls, REMOTE_FINAL);	/* longer than Lead.Email */
	assert_string_equal(leads[3].failure.code, "OLSYNC_INVALID_INPUT");

	all = records("Lead");
	assert_int_equal(count_by(all, "Email", "bad.owner@newco.example"), 0);
	l = record_by(all, "Id", leads[0].lead_id);
	assert_non_null(l);
	assert_string_equal(sfield(l, "Email"), "jane.doe@sales.newco-industries.co.uk");
	assert_string_equal(sfield(l, "FirstName"), "Jane");
	assert_string_equal(sfield(l, "LastName"), "Doe");
	assert_string_equal(sfield(l, "Company"), "Newco Industries");
	assert_string_equal(sfield(l, "LeadSource"), "Email");
	assert_string_equal(sfield(l, "Description"), "Pricing: Hi, how much?");
	assert_string_equal(sfield(l, "OwnerId"), key("rep"));
	l = record_by(all, "Id", leads[1].lead_id);
	assert_non_null(l);
	assert_string_equal(sfield(l, "FirstName"), "John");
	assert_string_equal(sfield(l, "LastName"), "Smith");
	assert_string_equal(sfield(l, "Company"), "Individual");	/* free mail */
	assert_string_equal(sfield(l, "Description"), "Hello: ");
	assert_string_equal(sfield(l, "OwnerId"), key("integ"));	/* the caller */
	json_decref(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_match_people, before_each),
		cmocka_unit_test_setup(test_match_tie_break, before_each),
		cmocka_unit_test_setup(test_match_policy_none, before_each),
		cmocka_unit_test_setup(test_match_hostile, before_each),
		cmocka_unit_test_setup(test_match_many, before_each),
		cmocka_unit_test_setup(test_match_users, before_each),
		cmocka_unit_test_setup(test_write_tasks_once, before_each),
		cmocka_unit_test_setup(test_write_tasks_budget, before_each),
		cmocka_unit_test_setup(test_write_tasks_packed, before_each),
		cmocka_unit_test_setup(test_write_task_dates, before_each),
		cmocka_unit_test_setup(test_write_email_messages_once, before_each),
		cmocka_unit_test_setup(test_write_both, before_each),
		cmocka_unit_test_setup(test_write_service_down, before_each),
		cmocka_unit_test_setup(test_write_leads, before_each),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
