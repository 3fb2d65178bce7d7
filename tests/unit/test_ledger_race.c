/* test_ledger_race.c: the ledger's shared state under several connections at once, as several
 * olsync instances use one database (docs/architecture.md, "Several instances"). RACERS threads,
 * each with its own ledger handle and owner name, start together and race for round-robin turns,
 * Lead claims, batches of pending messages, leases and the API budget; each turn, claim, message
 * and call must be won exactly once. On a SQLite file here, on PostgreSQL as test_ledger_race_pg
 * (the row locks and FOR UPDATE SKIP LOCKED the instances rely on). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "testdb.h"
#include "xmalloc.h"

#define RACERS		4
#define TURNS		100	/* round-robin turns each racer takes */
#define ADDRESSES	100	/* new senders every racer tries to claim */
#define MESSAGES	400	/* pending messages the racers share out in batches */
#define BATCH		16
#define LEASES		50
#define API_LIMIT	100	/* calls the budget allows; the racers ask for 60 each */
#define API_ASKS	60

struct fixture {
	char		 dir[64];
	char		*target;
	struct ledger	*l;		/* the main thread's handle: setup and checks */
};

/* One racer: its handle, what it won, and the first error it met (cmocka's assertions are for
 * the main thread only). */
struct racer {
	struct fixture	*f;
	int		 no;
	struct ledger	*l;
	char		 owner[16];
	size_t		 rr[TURNS];
	int		 leads[ADDRESSES];	/* 1: this racer's claim won the address */
	int		 messages[MESSAGES];	/* times this racer was given message i */
	int		 leases[LEASES];
	int		 granted;		/* API calls granted */
	char		 error[256];
};

static pthread_barrier_t start_line;

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256] = "";

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ledger_race.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if ((f->target = test_database(f->dir, "ledger.db")) == NULL)
		return -1;
	if (ledger_open(f->target, &f->l, err, sizeof(err)) < 0) {
		fprintf(stderr, "ledger_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	ledger_close(f->l);
	if (test_database_is_pg()) {
		(void)test_database_drop(f->target);
	} else {
		static const char *const suffixes[] = { "", "-wal", "-shm" };

		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", f->target, suffixes[i]);
			unlink(path);
		}
	}
	rmdir(f->dir);
	free(f->target);
	free(f);
	return 0;
}

static int
racer_failed(struct racer *r, const char *what)
{
	snprintf(r->error, sizeof(r->error), "racer %d: %s: %s", r->no, what,
	    ledger_error(r->l));
	return -1;
}

/* Round-robin turns from a pool far larger than the turns taken: every index comes once. */
static int
race_rr(struct racer *r)
{
	for (int i = 0; i < TURNS; i++)
		if (ledger_rr_next(r->l, "race", 1u << 20, &r->rr[i]) == -1)
			return racer_failed(r, "ledger_rr_next");
	return 0;
}

/* Every racer claims every new sender, each starting at another place in the list. */
static int
race_leads(struct racer *r)
{
	for (int k = 0; k < ADDRESSES; k++) {
		int i = (k + r->no * ADDRESSES / RACERS) % ADDRESSES;
		char addr[64], *lead = NULL;
		enum ledger_lead res;

		snprintf(addr, sizeof(addr), "new%d@race.example", i);
		if (ledger_lead_claim(r->l, addr, (int64_t)time(NULL), 300, &res, &lead) == -1)
			return racer_failed(r, "ledger_lead_claim");
		free(lead);
		if (res == LEDGER_LEAD_CLAIMED)
			r->leads[i] = 1;
		else if (res != LEDGER_LEAD_BUSY) {
			snprintf(r->error, sizeof(r->error), "racer %d: %s: result %d", r->no,
			    addr, (int)res);
			return -1;
		}
	}
	return 0;
}

/* Batches claimed and logged until none is left. */
static int
race_batches(struct racer *r)
{
	struct ledger_entry e[BATCH];

	for (;;) {
		int64_t now = (int64_t)time(NULL);
		size_t n;

		if (ledger_claim_pending(r->l, r->owner, now, INT64_MIN, now + 300, e, BATCH,
		    &n) == -1)
			return racer_failed(r, "ledger_claim_pending");
		if (n == 0)
			return 0;
		for (size_t i = 0; i < n; i++) {
			int no = -1;

			if (sscanf(e[i].key, "<race%d@x>", &no) != 1 || no < 0 || no >= MESSAGES) {
				snprintf(r->error, sizeof(r->error), "racer %d: unknown key %s",
				    r->no, e[i].key);
				return -1;
			}
			r->messages[no]++;
			if (ledger_mark_logged(r->l, e[i].key, NULL) == -1)
				return racer_failed(r, "ledger_mark_logged");
			ledger_entry_clear(&e[i]);
		}
	}
}

static int
race_leases(struct racer *r)
{
	for (int k = 0; k < LEASES; k++) {
		int i = (k + r->no * LEASES / RACERS) % LEASES;
		char name[64];

		snprintf(name, sizeof(name), "mailbox:m%d@race.example", i);
		if (ledger_lease_take(r->l, name, r->owner, (int64_t)time(NULL) * 1000, 60000,
		    &r->leases[i]) == -1)
			return racer_failed(r, "ledger_lease_take");
	}
	return 0;
}

static int
race_api(struct racer *r)
{
	int64_t now = (int64_t)time(NULL);

	for (int i = 0; i < API_ASKS; i++) {
		int granted;

		if (ledger_api_reserve(r->l, now, 1, now - 3600, API_LIMIT, 0, &granted) == -1)
			return racer_failed(r, "ledger_api_reserve");
		r->granted += granted;
	}
	return 0;
}

static int (*race)(struct racer *);

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(&start_line);
	(void)race(r);
	return NULL;
}

/* Runs fn in RACERS threads at once, each on its own handle; fails on any racer's error. */
static struct racer *
run_race(struct fixture *f, int (*fn)(struct racer *))
{
	struct racer *r = xcalloc(RACERS, sizeof(*r));
	pthread_t th[RACERS];
	char err[256];

	race = fn;
	for (int i = 0; i < RACERS; i++) {
		r[i].f = f;
		r[i].no = i;
		snprintf(r[i].owner, sizeof(r[i].owner), "i%d", i);
		if (ledger_open(f->target, &r[i].l, err, sizeof(err)) < 0)
			fail_msg("racer %d: ledger_open: %s", i, err);
		ledger_set_owner(r[i].l, r[i].owner);
	}
	assert_int_equal(pthread_barrier_init(&start_line, NULL, RACERS), 0);
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start_line);
	for (int i = 0; i < RACERS; i++) {
		ledger_close(r[i].l);
		r[i].l = NULL;
	}
	for (int i = 0; i < RACERS; i++)
		if (r[i].error[0] != '\0')
			fail_msg("%s", r[i].error);
	return r;
}

static void
test_rr_turns(void **state)
{
	struct racer *r = run_race(*state, race_rr);
	int *seen = xcalloc(RACERS * TURNS, sizeof(*seen));
	size_t idx;

	for (int i = 0; i < RACERS; i++)
		for (int t = 0; t < TURNS; t++) {
			if (r[i].rr[t] >= RACERS * TURNS)
				fail_msg("racer %d got turn %zu of %d taken", i, r[i].rr[t],
				    RACERS * TURNS);
			if (seen[r[i].rr[t]]++ != 0)
				fail_msg("turn %zu given twice", r[i].rr[t]);
		}
	/* and the cursor stands after them */
	assert_int_equal(ledger_rr_next(((struct fixture *)*state)->l, "race", 1u << 20, &idx), 0);
	assert_int_equal(idx, RACERS * TURNS);
	free(seen);
	free(r);
}

static void
test_lead_claims(void **state)
{
	struct racer *r = run_race(*state, race_leads);

	for (int a = 0; a < ADDRESSES; a++) {
		int won = 0;

		for (int i = 0; i < RACERS; i++)
			won += r[i].leads[a];
		if (won != 1)
			fail_msg("new%d@race.example claimed %d times", a, won);
	}
	free(r);
}

static void
test_batch_claims(void **state)
{
	struct fixture *f = *state;
	struct racer *r;
	struct ledger_stats st;
	int64_t now = (int64_t)time(NULL) - 60;
	int per_racer[RACERS] = { 0 };

	for (int i = 0; i < MESSAGES; i++) {
		char key[32], gid[32];
		struct ledger_msg m;
		enum ledger_seen seen;

		snprintf(key, sizeof(key), "<race%d@x>", i);
		snprintf(gid, sizeof(gid), "g%d", i);
		memset(&m, 0, sizeof(m));
		m.key = key;
		m.ext_id = key;
		m.dir = LEDGER_INBOUND;
		m.received_at = now;
		m.mailbox = "rep@contoso.com";
		m.folder = "inbox";
		m.graph_id = gid;
		assert_int_equal(ledger_record_sighting(f->l, &m, &seen), 0);
	}
	r = run_race(f, race_batches);
	for (int m = 0; m < MESSAGES; m++) {
		int given = 0;

		for (int i = 0; i < RACERS; i++) {
			given += r[i].messages[m];
			per_racer[i] += r[i].messages[m];
		}
		if (given != 1)
			fail_msg("<race%d@x> given to the racers %d times", m, given);
	}
	for (int i = 0; i < RACERS; i++)
		fprintf(stderr, "racer %d logged %d messages\n", i, per_racer[i]);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_LOGGED], MESSAGES);
	assert_int_equal(st.messages[LEDGER_PENDING], 0);
	free(r);
}

static void
test_lease_takes(void **state)
{
	struct racer *r = run_race(*state, race_leases);

	for (int k = 0; k < LEASES; k++) {
		int holders = 0;

		for (int i = 0; i < RACERS; i++)
			holders += r[i].leases[k];
		if (holders != 1)
			fail_msg("mailbox:m%d@race.example held by %d racers", k, holders);
	}
	free(r);
}

static void
test_api_budget(void **state)
{
	struct racer *r = run_race(*state, race_api);
	int granted = 0;

	for (int i = 0; i < RACERS; i++)
		granted += r[i].granted;
	assert_int_equal(granted, API_LIMIT);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rr_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lead_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_takes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_budget, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
