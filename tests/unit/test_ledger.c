/* test_ledger.c: the ledger (src/ledger.c) on a temporary SQLite file: sightings and their
 * de-duplication, the state machine as tables of steps (refused transitions included), what is due,
 * transactions (rollback, a crash mid-page in a child process), restart, retry, stats, hostile
 * keys, Lead claims, round-robin cursors, the key-value store, subscriptions, dirty folders, the
 * next retry, meetings and their copies, the Opportunities' next meeting, and the migration of
 * ledgers made before them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"
#include "store.h"
#include "testdb.h"
#include "xmalloc.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct ledger	*l;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256] = "", *target;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ledger.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* dir/ledger.db, or a fresh PostgreSQL database for test_ledger_pg */
	if ((target = test_database(f->dir, "ledger.db")) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s", target);
	free(target);
	umask(022);
	if (ledger_open(f->path, &f->l, err, sizeof(err)) < 0) {
		fprintf(stderr, "ledger_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static void
remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		char p[160];

		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ledger_close(f->l);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fixture *f)
{
	char err[256] = "";

	ledger_close(f->l);
	f->l = NULL;
	if (ledger_open(f->path, &f->l, err, sizeof(err)) < 0)
		fail_msg("reopen: %s", err);
}

/* A stand-in for normalize.c's digest: fixed length, derived from the key. */
static void
digest(const char *key, char out[17])
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* A sighting with a stored copy (data may be NULL). */
static enum ledger_seen
record_data(struct ledger *l, const char *key, const char *mailbox, const char *folder,
    const char *graph_id, const char *data)
{
	enum ledger_dir dir = strcmp(folder, "sentitems") == 0 ? LEDGER_OUTBOUND : LEDGER_INBOUND;
	struct ledger_msg m = { key, NULL, dir, 1710504000, mailbox, folder, graph_id, data };
	enum ledger_seen seen = (enum ledger_seen)-1;
	char ext[17];

	digest(key, ext);
	m.ext_id = ext;
	if (ledger_record_sighting(l, &m, &seen) < 0)
		fail_msg("record %.40s: %s", key, ledger_error(l));
	return seen;
}

static enum ledger_seen
record(struct ledger *l, const char *key, const char *mailbox, const char *folder,
    const char *graph_id)
{
	return record_data(l, key, mailbox, folder, graph_id, NULL);
}

/* The stored copy of key ("" for none). */
static void
data_of(struct ledger *l, const char *key, char *out, size_t len)
{
	struct ledger_entry e;

	if (ledger_get(l, key, &e) != 0)
		fail_msg("get %.40s: not there (%s)", key, ledger_error(l));
	snprintf(out, len, "%s", e.data != NULL ? e.data : "");
	ledger_entry_clear(&e);
}

static enum ledger_state
state_of(struct ledger *l, const char *key)
{
	struct ledger_entry e;
	enum ledger_state s;

	if (ledger_get(l, key, &e) != 0)
		fail_msg("get %.40s: not there (%s)", key, ledger_error(l));
	s = e.state;
	ledger_entry_clear(&e);
	return s;
}

static void
test_open(void **state)
{
	struct fixture *f = *state;
	struct ledger *l = (struct ledger *)1;
	char err[256], path[160];
	sqlite3 *db;
	FILE *fp;

	/* Rejected: a missing directory, a directory, a file that is not a database, and a
	 * database from a newer olsync (its schema is beyond our migrations). */
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database. ", fp);
	fclose(fp);
	{
		const char *const bad[] = { "/nonexistent-olsync-dir/ledger.db", f->dir, path };

		for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
			err[0] = '\0';
			if (ledger_open(bad[i], &l, err, sizeof(err)) != -1)
				fail_msg("opened %s", bad[i]);
			assert_null(l);
			assert_true(err[0] != '\0');
		}
	}
	unlink(path);

	snprintf(path, sizeof(path), "%s/newer.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	assert_int_equal(ledger_open(path, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
	remove_db(path);

	/* Opening an existing ledger again migrates nothing and keeps its content. */
	record(f->l, "<kept@x>", "alice@corp.test", "inbox", "g1");
	reopen(f);
	assert_int_equal(state_of(f->l, "<kept@x>"), LEDGER_PENDING);
}

/* A postgresql:// target never reaches SQLite: without the PostgreSQL backend it is refused
 * with a message that says so, and the SQLite-only calls refuse it too instead of making a file
 * of that name. */
static void
test_postgresql_target(void **state)
{
	static const char *const uris[] = { "postgresql://olsync@db.example/olsync",
	    "postgres://db.example/olsync?sslmode=verify-full" };
	struct fixture *f = *state;
	char err[256], dest[160];
	int version, current;

	(void)f;
	for (size_t i = 0; i < ARRAY_LEN(uris); i++) {
#ifndef OLSYNC_WITH_POSTGRESQL
		struct ledger *l = (struct ledger *)1;

		err[0] = '\0';
		assert_int_equal(ledger_open(uris[i], &l, err, sizeof(err)), -1);
		assert_null(l);
		assert_non_null(strstr(err, "PostgreSQL support is not built"));
#endif
		snprintf(dest, sizeof(dest), "%s/copy.db", f->dir);
		err[0] = '\0';
		assert_int_equal(ledger_snapshot(uris[i], dest, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "PostgreSQL"));
		assert_int_equal(access(dest, F_OK), -1);
		err[0] = '\0';
		assert_int_equal(ledger_probe(uris[i], &version, &current, err, sizeof(err)),
		    LEDGER_PROBE_ERROR);
		assert_non_null(strstr(err, "PostgreSQL"));
		assert_int_equal(access(uris[i], F_OK), -1);
	}
}

static void
test_three_mailboxes(void **state)
{
	static const struct {
		const char *mailbox, *folder, *graph_id;
		enum ledger_seen seen;
	} steps[] = {
		{ "alice@corp.test", "inbox", "AAMk-alice-1", LEDGER_SEEN_NEW },
		{ "bob@corp.test", "inbox", "AAMk-bob-1", LEDGER_SEEN_COPY },
		{ "carol@corp.test", "sentitems", "AAMk-carol-1", LEDGER_SEEN_COPY },
		/* Delta replays and a 410 restart bring the same copies again. */
		{ "alice@corp.test", "inbox", "AAMk-alice-1", LEDGER_SEEN_AGAIN },
		{ "carol@corp.test", "sentitems", "AAMk-carol-1", LEDGER_SEEN_AGAIN },
		/* A copy moved to another folder keeps its immutable id: not a new copy. */
		{ "bob@corp.test", "archive", "AAMk-bob-1", LEDGER_SEEN_AGAIN },
	};
	static const char key[] = "<thread-1@customer.example>";
	struct fixture *f = *state;
	struct ledger_sighting *s;
	struct ledger_stats st;
	struct ledger_entry e;
	size_t n;

	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		enum ledger_seen seen = record(f->l, key, steps[i].mailbox, steps[i].folder,
		    steps[i].graph_id);

		if (seen != steps[i].seen)
			fail_msg("step %zu: seen %d, want %d", i, seen, steps[i].seen);
	}
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 1);
	assert_int_equal(st.sightings, 3);

	assert_int_equal(ledger_sightings(f->l, key, &s, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(s[0].mailbox, "alice@corp.test");
	assert_string_equal(s[0].graph_id, "AAMk-alice-1");
	assert_int_equal(s[0].dir, LEDGER_INBOUND);
	assert_string_equal(s[1].mailbox, "bob@corp.test");
	assert_string_equal(s[1].folder, "inbox");
	assert_string_equal(s[2].folder, "sentitems");
	assert_int_equal(s[2].dir, LEDGER_OUTBOUND);
	assert_true(s[2].seen_at > 0);
	ledger_sightings_free(s, n);

	/* Carol sent it: the message is outbound; the first copy is what a retry fetches. */
	assert_int_equal(ledger_get(f->l, key, &e), 0);
	assert_int_equal(e.dir, LEDGER_OUTBOUND);
	assert_string_equal(e.mailbox, "alice@corp.test");
	assert_string_equal(e.folder, "inbox");
	assert_string_equal(e.graph_id, "AAMk-alice-1");
	assert_int_equal(e.received_at, 1710504000);
	assert_true(e.first_seen > 0);
	ledger_entry_clear(&e);

	/* Once processed, a late Sent Items copy does not rewrite how it was processed. */
	record(f->l, "<late@x>", "dave@corp.test", "inbox", "g-dave");
	assert_int_equal(ledger_mark_logged(f->l, "<late@x>", NULL), 0);
	assert_int_equal(record(f->l, "<late@x>", "erin@corp.test", "sentitems", "g-erin"),
	    LEDGER_SEEN_COPY);
	assert_int_equal(ledger_get(f->l, "<late@x>", &e), 0);
	assert_int_equal(e.dir, LEDGER_INBOUND);
	assert_int_equal(e.state, LEDGER_LOGGED);
	ledger_entry_clear(&e);

	assert_int_equal(ledger_sightings(f->l, "<never@x>", &s, &n), LEDGER_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_null(s);
}

static void
test_sighting_rejected(void **state)
{
	struct fixture *f = *state;
	char *huge_key = xmalloc(LEDGER_KEY_MAX + 2);
	char *long_name = xmalloc(LEDGER_NAME_MAX + 2);
	char *huge_data = xmalloc(LEDGER_DATA_MAX + 2);
	struct ledger_stats st;

	memset(huge_key, 'k', LEDGER_KEY_MAX + 1);
	huge_key[LEDGER_KEY_MAX + 1] = '\0';
	memset(huge_data, ' ', LEDGER_DATA_MAX + 1);
	huge_data[LEDGER_DATA_MAX + 1] = '\0';
	memset(long_name, 'n', LEDGER_NAME_MAX + 1);
	long_name[LEDGER_NAME_MAX + 1] = '\0';
	{
#define M(key, ext, mailbox, folder, gid) \
	{ key, ext, LEDGER_INBOUND, 0, mailbox, folder, gid, NULL }
		const struct {
			struct ledger_msg m;
			const char *why;
		} cases[] = {
			{ M(NULL, "d", "a@c", "inbox", "g"), "message key is missing" },
			{ M("", "d", "a@c", "inbox", "g"), "message key is missing" },
			{ M(huge_key, "d", "a@c", "inbox", "g"), "message key is longer" },
			{ M("<k@x>", NULL, "a@c", "inbox", "g"), "external id is missing" },
			{ M("<k@x>", long_name, "a@c", "inbox", "g"), "external id is longer" },
			{ M("<k@x>", "d", NULL, "inbox", "g"), "mailbox is missing" },
			{ M("<k@x>", "d", long_name, "inbox", "g"), "mailbox is longer" },
			{ M("<k@x>", "d", "a@c", "", "g"), "folder is missing" },
			{ M("<k@x>", "d", "a@c", "inbox", NULL), "graph id is missing" },
			{ M("<k@x>", "d", "a@c", "inbox", long_name), "graph id is longer" },
			{ { "<k@x>", "d", (enum ledger_dir)7, 0, "a@c", "inbox", "g", NULL },
			    "bad direction" },
			{ { "<k@x>", "d", LEDGER_INBOUND, 0, "a@c", "inbox", "g", huge_data },
			    "copy is longer" },
		};
#undef M

		for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
			enum ledger_seen seen = (enum ledger_seen)42;

			if (ledger_record_sighting(f->l, &cases[i].m, &seen) != -1)
				fail_msg("case %zu accepted", i);
			if (strstr(ledger_error(f->l), cases[i].why) == NULL)
				fail_msg("case %zu: error \"%s\", want \"%s\"", i,
				    ledger_error(f->l), cases[i].why);
			assert_int_equal(seen, 42);
		}
	}
	assert_int_equal(ledger_stats(f->l, &st), 0);
	for (int s = 0; s < LEDGER_STATE_COUNT; s++)
		assert_int_equal(st.messages[s], 0);
	assert_int_equal(st.sightings, 0);
	free(huge_key);
	free(huge_data);
	free(long_name);
}

enum op { OP_LOGGED, OP_SKIPPED, OP_TEMP, OP_WAIT, OP_FINAL, OP_DEAD, OP_NOTE, OP_RETRY, OP_END };

struct step {
	enum op			 op;
	int			 rc;
	enum ledger_state	 state;		/* after the step */
	int			 attempts;
	const char		*reason;	/* substring; NULL: no reason */
};

static const struct {
	const char *name;
	struct step steps[10];
} transitions[] = {
	{ "logged is final", {
		{ OP_LOGGED, 0, LEDGER_LOGGED, 0, NULL },
		{ OP_SKIPPED, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_TEMP, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_FINAL, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_DEAD, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_LOGGED, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_NOTE, -1, LEDGER_LOGGED, 0, NULL },
		{ OP_RETRY, 0, LEDGER_LOGGED, 0, NULL },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "skipped is final", {
		{ OP_SKIPPED, 0, LEDGER_SKIPPED, 0, "internal-only" },
		{ OP_LOGGED, -1, LEDGER_SKIPPED, 0, "internal-only" },
		{ OP_WAIT, -1, LEDGER_SKIPPED, 0, "internal-only" },
		{ OP_RETRY, 0, LEDGER_SKIPPED, 0, "internal-only" },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "temporary failures until dead (max 3), a wait costs nothing, retry revives", {
		{ OP_TEMP, 0, LEDGER_FAILED, 1, NULL },
		{ OP_TEMP, 0, LEDGER_FAILED, 2, NULL },
		{ OP_WAIT, 0, LEDGER_FAILED, 2, NULL },
		{ OP_TEMP, 0, LEDGER_DEAD, 3, "gave up after 3 attempts" },
		{ OP_LOGGED, -1, LEDGER_DEAD, 3, "gave up" },
		{ OP_TEMP, -1, LEDGER_DEAD, 3, "gave up" },
		{ OP_RETRY, 0, LEDGER_PENDING, 0, NULL },
		{ OP_TEMP, 0, LEDGER_FAILED, 1, NULL },
		{ OP_LOGGED, 0, LEDGER_LOGGED, 1, NULL },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "a final failure is dead at once with Salesforce's error as the reason", {
		{ OP_FINAL, 0, LEDGER_DEAD, 1, "FIELD_CUSTOM_VALIDATION_EXCEPTION" },
		{ OP_SKIPPED, -1, LEDGER_DEAD, 1, "FIELD_CUSTOM_VALIDATION_EXCEPTION" },
		{ OP_RETRY, 0, LEDGER_PENDING, 0, NULL },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "waits never dead-letter", {
		{ OP_WAIT, 0, LEDGER_FAILED, 0, NULL },
		{ OP_WAIT, 0, LEDGER_FAILED, 0, NULL },
		{ OP_WAIT, 0, LEDGER_FAILED, 0, NULL },
		{ OP_WAIT, 0, LEDGER_FAILED, 0, NULL },
		{ OP_WAIT, 0, LEDGER_FAILED, 0, NULL },
		{ OP_NOTE, 0, LEDGER_FAILED, 0, NULL },
		{ OP_SKIPPED, 0, LEDGER_SKIPPED, 0, "internal-only" },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "dead by hand", {
		{ OP_DEAD, 0, LEDGER_DEAD, 0, "operator" },
		{ OP_SKIPPED, -1, LEDGER_DEAD, 0, "operator" },
		{ OP_END, 0, 0, 0, NULL } } },
	{ "failed, then dead by hand", {
		{ OP_TEMP, 0, LEDGER_FAILED, 1, NULL },
		{ OP_DEAD, 0, LEDGER_DEAD, 1, "operator" },
		{ OP_END, 0, 0, 0, NULL } } },
};

static int
apply(struct ledger *l, const char *key, enum op op)
{
	static const struct ledger_sf_ids ids = { .lead_id = "00Q000000000001AAA" };
	enum ledger_state st;
	long long count;

	switch (op) {
	case OP_LOGGED:
		return ledger_mark_logged(l, key, &ids);
	case OP_SKIPPED:
		return ledger_mark_skipped(l, key, "internal-only");
	case OP_TEMP:
		return ledger_mark_failed(l, key, "503 Service Unavailable", LEDGER_FAIL_TEMP, 100,
		    &st);
	case OP_WAIT:
		return ledger_mark_failed(l, key, "REQUEST_LIMIT_EXCEEDED", LEDGER_FAIL_WAIT, 100,
		    &st);
	case OP_FINAL:
		return ledger_mark_failed(l, key,
		    "FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject is required", LEDGER_FAIL_FINAL, 0,
		    &st);
	case OP_DEAD:
		return ledger_mark_dead(l, key, "operator said so");
	case OP_NOTE:
		return ledger_note_sf_ids(l, key, &ids);
	case OP_RETRY:
		return ledger_retry_dead(l, key, &count);
	case OP_END:
		break;
	}
	return -2;
}

static void
test_transitions(void **state)
{
	struct fixture *f = *state;

	ledger_set_max_attempts(f->l, 3);
	for (size_t c = 0; c < ARRAY_LEN(transitions); c++) {
		char key[64];

		snprintf(key, sizeof(key), "<transition-%zu@x>", c);
		record(f->l, key, "alice@corp.test", "inbox", key);
		for (size_t i = 0; transitions[c].steps[i].op != OP_END; i++) {
			const struct step *s = &transitions[c].steps[i];
			struct ledger_entry e;
			int rc = apply(f->l, key, s->op);

			if (rc != s->rc)
				fail_msg("%s, step %zu: rc %d, want %d (%s)",
				    transitions[c].name, i, rc, s->rc, ledger_error(f->l));
			if (rc < 0 && strstr(ledger_error(f->l), "cannot") == NULL)
				fail_msg("%s, step %zu: error \"%s\"", transitions[c].name, i,
				    ledger_error(f->l));
			assert_int_equal(ledger_get(f->l, key, &e), 0);
			if (e.state != s->state || e.attempts != s->attempts)
				fail_msg("%s, step %zu: %s/%d, want %s/%d", transitions[c].name, i,
				    ledger_state_name(e.state), e.attempts,
				    ledger_state_name(s->state), s->attempts);
			if (s->reason == NULL && e.reason != NULL)
				fail_msg("%s, step %zu: reason \"%s\", want none",
				    transitions[c].name, i, e.reason);
			if (s->reason != NULL && (e.reason == NULL ||
			    strstr(e.reason, s->reason) == NULL))
				fail_msg("%s, step %zu: reason \"%s\", want \"%s\"",
				    transitions[c].name, i, e.reason ? e.reason : "(none)",
				    s->reason);
			ledger_entry_clear(&e);
		}
	}

	/* Marks on a message the ledger never saw are refused, and say so. */
	for (enum op op = OP_LOGGED; op < OP_END; op++) {
		assert_int_equal(apply(f->l, "<unknown@x>", op), -1);
		assert_non_null(strstr(ledger_error(f->l), "no such message"));
	}
	assert_int_equal(ledger_mark_skipped(f->l, "<transition-0@x>", ""), -1);
	assert_int_equal(ledger_mark_failed(f->l, "<transition-0@x>", "x", (enum ledger_fail)9, 0,
	    NULL), -1);
}

static void
test_mark_failed_result(void **state)
{
	static const struct {
		enum ledger_fail fail;
		enum ledger_state want;
	} cases[] = {
		{ LEDGER_FAIL_TEMP, LEDGER_FAILED },
		{ LEDGER_FAIL_WAIT, LEDGER_FAILED },
		{ LEDGER_FAIL_TEMP, LEDGER_DEAD },	/* the second attempt, max 2 */
	};
	struct fixture *f = *state;

	ledger_set_max_attempts(f->l, 2);
	record(f->l, "<r@x>", "a@corp.test", "inbox", "g");
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum ledger_state got = LEDGER_LOGGED;

		assert_int_equal(ledger_mark_failed(f->l, "<r@x>", "timeout", cases[i].fail, 500,
		    &got), 0);
		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, ledger_state_name(got),
			    ledger_state_name(cases[i].want));
	}
}

static void
test_next_pending(void **state)
{
	static const struct {
		const char *key;
		int fail;		/* -1: stays pending */
		int64_t next;
		int final;		/* 1: logged, 2: dead */
	} msgs[] = {
		{ "<a@x>", -1, 0, 0 },
		{ "<b@x>", LEDGER_FAIL_TEMP, 100, 0 },
		{ "<c@x>", LEDGER_FAIL_WAIT, 200, 0 },
		{ "<d@x>", -1, 0, 1 },
		{ "<e@x>", -1, 0, 2 },
		{ "<f@x>", -1, 0, 0 },
	};
	static const struct {
		int64_t now;
		size_t max;
		const char *want;	/* keys in order, space-separated */
	} cases[] = {
		{ 50, 10, "<a@x> <f@x>" },
		{ 100, 10, "<a@x> <f@x> <b@x>" },
		{ 150, 10, "<a@x> <f@x> <b@x>" },
		{ 250, 10, "<a@x> <f@x> <b@x> <c@x>" },
		{ 250, 3, "<a@x> <f@x> <b@x>" },
		{ 250, 1, "<a@x>" },
		{ 250, 0, "" },
	};
	struct fixture *f = *state;
	struct ledger_entry e[10];

	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		record(f->l, msgs[i].key, "alice@corp.test", "inbox", msgs[i].key);
		if (msgs[i].fail >= 0)
			assert_int_equal(ledger_mark_failed(f->l, msgs[i].key, "503",
			    (enum ledger_fail)msgs[i].fail, msgs[i].next, NULL), 0);
		if (msgs[i].final == 1)
			assert_int_equal(ledger_mark_logged(f->l, msgs[i].key, NULL), 0);
		if (msgs[i].final == 2)
			assert_int_equal(ledger_mark_dead(f->l, msgs[i].key, "bad"), 0);
	}
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		char got[256] = "";
		size_t n = 99;

		assert_int_equal(ledger_next_pending(f->l, cases[c].now, e, cases[c].max, &n), 0);
		for (size_t i = 0; i < n; i++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			    i ? " " : "", e[i].key);
			/* What the engine needs to fetch the message again. */
			assert_string_equal(e[i].mailbox, "alice@corp.test");
			assert_string_equal(e[i].graph_id, e[i].key);
			assert_string_equal(e[i].folder, "inbox");
			if (strcmp(e[i].key, "<b@x>") == 0) {
				assert_int_equal(e[i].state, LEDGER_FAILED);
				assert_int_equal(e[i].next_attempt_at, 100);
				assert_int_equal(e[i].attempts, 1);
				assert_string_equal(e[i].last_error, "503");
			}
			ledger_entry_clear(&e[i]);
		}
		if (strcmp(got, cases[c].want) != 0)
			fail_msg("now %lld max %zu: \"%s\", want \"%s\"", (long long)cases[c].now,
			    cases[c].max, got, cases[c].want);
	}
}

static void
test_sf_ids(void **state)
{
	struct fixture *f = *state;
	struct ledger_sf_ids lead = { .lead_id = "00Q5e000001LeadAAA" };
	struct ledger_sf_ids logged = { .task_id = "00T5e000001TaskAAA",
	    .who_id = "00Q5e000001LeadAAA", .what_id = "", .email_message_id = NULL };
	struct ledger_sf_ids bad = { .task_id = NULL };
	struct ledger_entry e;
	char *long_id = xmalloc(LEDGER_NAME_MAX + 2);
	char ext[17];

	memset(long_id, 'i', LEDGER_NAME_MAX + 1);
	long_id[LEDGER_NAME_MAX + 1] = '\0';
	bad.who_id = long_id;
	record(f->l, "<ids@x>", "alice@corp.test", "inbox", "g");
	/* A Lead made, then a crash before its Task: the retry finds the Lead id noted. */
	assert_int_equal(ledger_note_sf_ids(f->l, "<ids@x>", &lead), 0);
	assert_int_equal(ledger_get(f->l, "<ids@x>", &e), 0);
	assert_int_equal(e.state, LEDGER_PENDING);
	assert_string_equal(e.sf.lead_id, "00Q5e000001LeadAAA");
	assert_null(e.sf.task_id);
	ledger_entry_clear(&e);

	assert_int_equal(ledger_mark_logged(f->l, "<ids@x>", &bad), -1);
	assert_non_null(strstr(ledger_error(f->l), "longer"));
	assert_int_equal(ledger_mark_logged(f->l, "<ids@x>", &logged), 0);
	digest("<ids@x>", ext);
	assert_int_equal(ledger_get_by_ext_id(f->l, ext, &e), 0);
	assert_string_equal(e.key, "<ids@x>");
	assert_string_equal(e.ext_id, ext);
	assert_int_equal(e.state, LEDGER_LOGGED);
	assert_string_equal(e.sf.lead_id, "00Q5e000001LeadAAA");	/* kept */
	assert_string_equal(e.sf.task_id, "00T5e000001TaskAAA");
	assert_string_equal(e.sf.who_id, "00Q5e000001LeadAAA");
	assert_null(e.sf.what_id);	/* "" is no id */
	assert_null(e.sf.email_message_id);
	ledger_entry_clear(&e);
	assert_int_equal(ledger_get_by_ext_id(f->l, "0000000000000000", &e), LEDGER_NOT_FOUND);
	assert_null(e.key);
	free(long_id);
}

static void
test_rollback(void **state)
{
	struct fixture *f = *state;
	struct ledger_delta d;
	struct ledger_stats st;
	struct ledger_entry e;
	char *v;
	size_t idx = 99;

	assert_int_equal(ledger_commit(f->l), -1);
	assert_int_equal(ledger_rollback(f->l), -1);
	assert_int_equal(ledger_begin(f->l), 0);
	assert_int_equal(ledger_begin(f->l), -1);	/* no nesting */
	record(f->l, "<r1@x>", "alice@corp.test", "inbox", "g1");
	record(f->l, "<r2@x>", "alice@corp.test", "inbox", "g2");
	record(f->l, "<r2@x>", "bob@corp.test", "inbox", "g3");
	assert_int_equal(ledger_mark_logged(f->l, "<r1@x>", NULL), 0);
	assert_int_equal(ledger_delta_set(f->l, "alice@corp.test", "inbox", "https://d/1", 7), 0);
	assert_int_equal(ledger_lead_set(f->l, "new@customer.example", "00Q"), 0);
	assert_int_equal(ledger_kv_set(f->l, "tenant", "t1"), 0);
	assert_int_equal(ledger_rr_next(f->l, "pool", 3, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(ledger_rollback(f->l), 0);

	assert_int_equal(ledger_get(f->l, "<r1@x>", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_get(f->l, "<r2@x>", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), LEDGER_NOT_FOUND);
	assert_null(d.link);
	assert_int_equal(ledger_kv_get(f->l, "tenant", &v), LEDGER_NOT_FOUND);
	assert_null(v);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING] + st.messages[LEDGER_LOGGED], 0);
	assert_int_equal(st.sightings, 0);
	assert_int_equal(ledger_rr_next(f->l, "pool", 3, &idx), 0);
	assert_int_equal(idx, 0);	/* the turn taken inside was undone too */

	/* A refused call inside a transaction undoes itself only; the page goes on. */
	assert_int_equal(ledger_begin(f->l), 0);
	record(f->l, "<p1@x>", "alice@corp.test", "inbox", "g1");
	{
		struct ledger_msg bad = { "<p2@x>", "d", LEDGER_INBOUND, 0, "alice@corp.test", "",
		    "g", NULL };

		assert_int_equal(ledger_record_sighting(f->l, &bad, NULL), -1);
	}
	assert_int_equal(ledger_mark_logged(f->l, "<nope@x>", NULL), -1);
	record(f->l, "<p3@x>", "alice@corp.test", "inbox", "g3");
	assert_int_equal(ledger_commit(f->l), 0);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 2);
	assert_int_equal(st.sightings, 2);
}

/* A child records pages and is killed (SIGKILL, as a crash test would) with the last page's
 * transaction open. Killing rather than exiting also keeps valgrind from reporting the handle the
 * child never closed. */
static void
crash_child(const char *path, int commit_first_page)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct ledger *l;
		char err[256];

		if (ledger_open(path, &l, err, sizeof(err)) < 0)
			_exit(2);
		if (commit_first_page) {
			if (ledger_begin(l) < 0)
				_exit(3);
			record(l, "<page1-a@x>", "alice@corp.test", "inbox", "g1");
			record(l, "<page1-b@x>", "alice@corp.test", "inbox", "g2");
			record(l, "<page1-c@x>", "alice@corp.test", "inbox", "g3");
			if (ledger_delta_set(l, "alice@corp.test", "inbox", "https://delta/1",
			    1700000000) < 0 || ledger_commit(l) < 0)
				_exit(4);
		}
		if (ledger_begin(l) < 0)
			_exit(5);
		record(l, "<page2-a@x>", "alice@corp.test", "inbox", "g4");
		if (ledger_delta_set(l, "alice@corp.test", "inbox", "https://delta/2",
		    1700000000) < 0)
			_exit(6);
		raise(SIGKILL);
		_exit(7);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("child did not reach the crash: status %#x", status);
}

static void
test_delta_atomic(void **state)
{
	struct fixture *f = *state;
	struct ledger_delta d;
	struct ledger_stats st;
	struct ledger_entry e;

	/* sqlite handles must not cross fork(): the child opens its own. */
	ledger_close(f->l);
	f->l = NULL;
	crash_child(f->path, 0);
	reopen(f);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 0);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), LEDGER_NOT_FOUND);

	ledger_close(f->l);
	f->l = NULL;
	crash_child(f->path, 1);
	reopen(f);
	/* The committed page and its link are there; the crashed page and its link are not. */
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 3);
	assert_int_equal(ledger_get(f->l, "<page2-a@x>", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), 0);
	assert_string_equal(d.link, "https://delta/1");
	assert_int_equal(d.window_start, 1700000000);
	assert_true(d.updated_at > 0);
	ledger_delta_clear(&d);
	assert_null(d.link);

	/* 410 Gone: forget the link, keep the window; the replayed page adds nothing. */
	assert_int_equal(ledger_delta_set(f->l, "alice@corp.test", "inbox", NULL, 1700000000), 0);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), 0);
	assert_null(d.link);
	assert_int_equal(d.window_start, 1700000000);
	assert_int_equal(record(f->l, "<page1-a@x>", "alice@corp.test", "inbox", "g1"),
	    LEDGER_SEEN_AGAIN);
	assert_int_equal(record(f->l, "<page1-c@x>", "alice@corp.test", "inbox", "g3"),
	    LEDGER_SEEN_AGAIN);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 3);
	assert_int_equal(st.sightings, 3);

	/* Closing with a transaction open keeps nothing of it. */
	assert_int_equal(ledger_begin(f->l), 0);
	record(f->l, "<unclosed@x>", "alice@corp.test", "inbox", "g9");
	assert_int_equal(ledger_delta_set(f->l, "alice@corp.test", "inbox", "https://delta/3", 1),
	    0);
	reopen(f);
	assert_int_equal(ledger_get(f->l, "<unclosed@x>", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), 0);
	assert_null(d.link);
	assert_int_equal(d.window_start, 1700000000);

	/* Folders and mailboxes are separate positions. */
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "sentitems", &d),
	    LEDGER_NOT_FOUND);
	assert_int_equal(ledger_delta_get(f->l, "bob@corp.test", "inbox", &d), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_delta_set(f->l, "", "inbox", "x", 0), -1);
}

static void
test_restart(void **state)
{
	struct fixture *f = *state;
	struct ledger_sf_ids ids = { .task_id = "00T000000000001AAA",
	    .who_id = "003000000000001AAA" };
	struct ledger_sighting *s;
	struct ledger_delta d;
	struct ledger_entry e;
	enum ledger_lead res;
	char *lead, *v;
	size_t idx, n;

	record(f->l, "<logged@x>", "alice@corp.test", "inbox", "g1");
	record(f->l, "<logged@x>", "bob@corp.test", "inbox", "g2");
	record(f->l, "<failed@x>", "alice@corp.test", "sentitems", "g3");
	record(f->l, "<skipped@x>", "alice@corp.test", "inbox", "g4");
	assert_int_equal(ledger_mark_logged(f->l, "<logged@x>", &ids), 0);
	assert_int_equal(ledger_mark_failed(f->l, "<failed@x>", "UNABLE_TO_LOCK_ROW",
	    LEDGER_FAIL_TEMP, 4242, NULL), 0);
	assert_int_equal(ledger_mark_skipped(f->l, "<skipped@x>", "automated"), 0);
	assert_int_equal(ledger_delta_set(f->l, "alice@corp.test", "inbox", "https://d/9", 77), 0);
	assert_int_equal(ledger_lead_claim(f->l, "pending@new.example", 1000, 300, &res, &lead), 0);
	assert_int_equal(res, LEDGER_LEAD_CLAIMED);
	assert_int_equal(ledger_lead_set(f->l, "done@new.example", "00Q000000000009AAA"), 0);
	assert_int_equal(ledger_rr_next(f->l, "sales", 3, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(ledger_rr_next(f->l, "sales", 3, &idx), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(ledger_kv_set(f->l, "tenant", "contoso"), 0);

	reopen(f);

	assert_int_equal(ledger_get(f->l, "<logged@x>", &e), 0);
	assert_int_equal(e.state, LEDGER_LOGGED);
	assert_string_equal(e.sf.task_id, "00T000000000001AAA");
	assert_string_equal(e.sf.who_id, "003000000000001AAA");
	ledger_entry_clear(&e);
	assert_int_equal(ledger_sightings(f->l, "<logged@x>", &s, &n), 0);
	assert_int_equal(n, 2);
	ledger_sightings_free(s, n);
	assert_int_equal(ledger_get(f->l, "<failed@x>", &e), 0);
	assert_int_equal(e.state, LEDGER_FAILED);
	assert_int_equal(e.dir, LEDGER_OUTBOUND);
	assert_int_equal(e.attempts, 1);
	assert_int_equal(e.next_attempt_at, 4242);
	assert_string_equal(e.last_error, "UNABLE_TO_LOCK_ROW");
	ledger_entry_clear(&e);
	assert_int_equal(ledger_get(f->l, "<skipped@x>", &e), 0);
	assert_int_equal(e.state, LEDGER_SKIPPED);
	assert_string_equal(e.reason, "automated");
	ledger_entry_clear(&e);
	assert_int_equal(ledger_delta_get(f->l, "alice@corp.test", "inbox", &d), 0);
	assert_string_equal(d.link, "https://d/9");
	assert_int_equal(d.window_start, 77);
	ledger_delta_clear(&d);
	assert_int_equal(ledger_lead_claim(f->l, "pending@new.example", 1001, 300, &res, &lead), 0);
	assert_int_equal(res, LEDGER_LEAD_BUSY);
	assert_int_equal(ledger_lead_claim(f->l, "done@new.example", 1001, 300, &res, &lead), 0);
	assert_int_equal(res, LEDGER_LEAD_KNOWN);
	assert_string_equal(lead, "00Q000000000009AAA");
	free(lead);
	/* The round robin goes on where it stopped, not back to the first owner. */
	assert_int_equal(ledger_rr_next(f->l, "sales", 3, &idx), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(ledger_rr_next(f->l, "sales", 3, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(ledger_kv_get(f->l, "tenant", &v), 0);
	assert_string_equal(v, "contoso");
	free(v);
}

/* The ways an open message ends or waits, for end_as. */
enum end {
	END_DEAD_FINAL, END_DEAD_ATTEMPTS, END_DEAD_HAND, END_FAILED, END_WAIT, END_LOGGED,
	END_SKIPPED
};

/* Takes the open message k the way how says (END_FAILED needs max attempts above 1). */
static void
end_as(struct ledger *l, const char *k, enum end how)
{
	enum ledger_state st = LEDGER_PENDING;

	switch (how) {
	case END_DEAD_FINAL:
		assert_int_equal(ledger_mark_failed(l, k, "INVALID_FIELD", LEDGER_FAIL_FINAL, 0,
		    NULL), 0);
		break;
	case END_DEAD_ATTEMPTS:
		for (int i = 0; i < LEDGER_MAX_ATTEMPTS && st != LEDGER_DEAD; i++)
			assert_int_equal(ledger_mark_failed(l, k, "reset", LEDGER_FAIL_TEMP, 1,
			    &st), 0);
		assert_int_equal(st, LEDGER_DEAD);
		break;
	case END_DEAD_HAND:
		assert_int_equal(ledger_mark_dead(l, k, "by hand"), 0);
		break;
	case END_FAILED:
		assert_int_equal(ledger_mark_failed(l, k, "503", LEDGER_FAIL_TEMP, 1, &st), 0);
		assert_int_equal(st, LEDGER_FAILED);
		break;
	case END_WAIT:
		assert_int_equal(ledger_mark_failed(l, k, "429", LEDGER_FAIL_WAIT, 1, NULL), 0);
		break;
	case END_LOGGED:
		assert_int_equal(ledger_mark_logged(l, k, NULL), 0);
		break;
	case END_SKIPPED:
		assert_int_equal(ledger_mark_skipped(l, k, "draft"), 0);
		break;
	}
}

static void
test_retry_dead(void **state)
{
	static const struct {
		const char *key;
		enum end how;
	} msgs[] = {
		{ "<d1@x>", END_DEAD_FINAL }, { "<d2@x>", END_DEAD_ATTEMPTS },
		{ "<d3@x>", END_DEAD_HAND }, { "<f1@x>", END_FAILED }, { "<l1@x>", END_LOGGED },
		{ "<s1@x>", END_SKIPPED },
	};
	struct fixture *f = *state;
	struct ledger_entry dead[8], e;
	struct ledger_stats st;
	long long count = -1;
	size_t n;

	ledger_set_max_attempts(f->l, 2);
	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		const char *k = msgs[i].key;

		record(f->l, k, "alice@corp.test", "inbox", k);
		end_as(f->l, k, msgs[i].how);
	}
	assert_int_equal(ledger_list_dead(f->l, dead, ARRAY_LEN(dead), &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(dead[i].state, LEDGER_DEAD);
		assert_non_null(dead[i].reason);
		ledger_entry_clear(&dead[i]);
	}
	assert_int_equal(ledger_list_dead(f->l, dead, 2, &n), 0);
	assert_int_equal(n, 2);
	ledger_entry_clear(&dead[0]);
	ledger_entry_clear(&dead[1]);

	/* One message by key; unknown keys are an error; a live one is left alone. */
	assert_int_equal(ledger_retry_dead(f->l, "<d2@x>", &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(ledger_get(f->l, "<d2@x>", &e), 0);
	assert_int_equal(e.state, LEDGER_PENDING);
	assert_int_equal(e.attempts, 0);
	assert_null(e.reason);
	assert_string_equal(e.last_error, "reset");	/* the story stays */
	ledger_entry_clear(&e);
	assert_int_equal(ledger_retry_dead(f->l, "<nobody@x>", &count), -1);
	assert_int_equal(ledger_retry_dead(f->l, "<l1@x>", &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(state_of(f->l, "<l1@x>"), LEDGER_LOGGED);

	assert_int_equal(ledger_retry_dead(f->l, NULL, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.messages[LEDGER_DEAD], 0);
	assert_int_equal(st.messages[LEDGER_PENDING], 3);
	assert_int_equal(st.messages[LEDGER_FAILED], 1);
	assert_int_equal(st.messages[LEDGER_LOGGED], 1);
	assert_int_equal(st.messages[LEDGER_SKIPPED], 1);
	assert_int_equal(ledger_list_dead(f->l, dead, ARRAY_LEN(dead), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ledger_retry_dead(f->l, NULL, &count), 0);
	assert_int_equal(count, 0);
}

static void
test_stats(void **state)
{
	static const enum ledger_state targets[] = {
		LEDGER_PENDING, LEDGER_PENDING, LEDGER_LOGGED, LEDGER_LOGGED, LEDGER_LOGGED,
		LEDGER_SKIPPED, LEDGER_FAILED, LEDGER_DEAD, LEDGER_DEAD,
	};
	struct fixture *f = *state;
	long long want[LEDGER_STATE_COUNT] = { 0 };
	struct ledger_stats st;

	assert_int_equal(ledger_stats(f->l, &st), 0);
	assert_int_equal(st.oldest_open, 0);
	for (size_t i = 0; i < ARRAY_LEN(targets); i++) {
		char key[32], gid[32];

		snprintf(key, sizeof(key), "<s%zu@x>", i);
		snprintf(gid, sizeof(gid), "g%zu", i);
		record(f->l, key, "alice@corp.test", "inbox", gid);
		snprintf(gid, sizeof(gid), "h%zu", i);
		record(f->l, key, "bob@corp.test", "inbox", gid);
		switch (targets[i]) {
		case LEDGER_LOGGED:
			assert_int_equal(ledger_mark_logged(f->l, key, NULL), 0);
			break;
		case LEDGER_SKIPPED:
			assert_int_equal(ledger_mark_skipped(f->l, key, "private"), 0);
			break;
		case LEDGER_FAILED:
			assert_int_equal(ledger_mark_failed(f->l, key, "x", LEDGER_FAIL_TEMP, 9,
			    NULL), 0);
			break;
		case LEDGER_DEAD:
			assert_int_equal(ledger_mark_dead(f->l, key, "x"), 0);
			break;
		default:
			break;
		}
		want[targets[i]]++;
	}
	assert_int_equal(ledger_stats(f->l, &st), 0);
	for (int s = 0; s < LEDGER_STATE_COUNT; s++)
		if (st.messages[s] != want[s])
			fail_msg("%s: %lld, want %lld", ledger_state_name((enum ledger_state)s),
			    st.messages[s], want[s]);
	assert_int_equal(st.sightings, 2 * ARRAY_LEN(targets));
	assert_true(st.oldest_open > 0);

	assert_string_equal(ledger_state_name(LEDGER_FAILED), "failed");
	assert_string_equal(ledger_state_name((enum ledger_state)77), "unknown");
	assert_string_equal(ledger_dir_name(LEDGER_OUTBOUND), "outbound");
}

static void
test_hostile_keys(void **state)
{
	struct fixture *f = *state;
	char *huge = xmalloc(LEDGER_KEY_MAX + 2);
	struct ledger_stats st;
	struct ledger_entry e;

	/* As long as allowed, with quotes and a NUL-free mix of everything. */
	for (size_t i = 0; i < LEDGER_KEY_MAX; i++)
		huge[i] = "'\"\\%_;<>@ax"[i % 11];
	huge[LEDGER_KEY_MAX] = '\0';
	{
		const char *const keys[] = {
			"<x'or Name!='@evil.com>",
			"'); DROP TABLE messages; --",
			"\"quoted\"@example.com",
			"%",
			"_",
			"<CaseMatters@x>",
			"<casematters@x>",
			"<\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9@\xe4\xbe\x8b\xe3\x81\x88.jp>",
			"<tab\there\nnewline@x>",
			"<back\\slash@x>",
			huge,
		};

		for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
			char gid[32];

			snprintf(gid, sizeof(gid), "g%zu", i);
			assert_int_equal(record(f->l, keys[i], "o'brien@corp.test", "inbox", gid),
			    LEDGER_SEEN_NEW);
		}
		for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
			if (ledger_get(f->l, keys[i], &e) != 0)
				fail_msg("key %zu not found: %s", i, ledger_error(f->l));
			assert_string_equal(e.key, keys[i]);
			assert_string_equal(e.mailbox, "o'brien@corp.test");
			ledger_entry_clear(&e);
			assert_int_equal(ledger_mark_logged(f->l, keys[i], NULL), 0);
		}
		assert_int_equal(ledger_stats(f->l, &st), 0);
		assert_int_equal(st.messages[LEDGER_LOGGED], ARRAY_LEN(keys));
	}
	/* Near misses are other keys. */
	assert_int_equal(ledger_get(f->l, "<CASEMATTERS@x>", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_get(f->l, "%%", &e), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_get(f->l, "<x'or Name!='@evil.com", &e), LEDGER_NOT_FOUND);

	huge[LEDGER_KEY_MAX] = 'x';
	huge[LEDGER_KEY_MAX + 1] = '\0';
	assert_int_equal(ledger_get(f->l, huge, &e), -1);
	{
		struct ledger_msg m = { huge, "d", LEDGER_INBOUND, 0, "a@corp.test", "inbox",
		    "gx", NULL };

		assert_int_equal(ledger_record_sighting(f->l, &m, NULL), -1);
	}
	free(huge);
}

static void
test_error_text(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 + 2 * LEDGER_TEXT_MAX;
	char *error = xmalloc(len + 1);
	struct ledger_entry e;

	/* "x\ny" then two-byte characters, so the byte at the cut is inside one. */
	memcpy(error, "x\ny", 3);
	for (size_t i = 3; i < len; i += 2)
		memcpy(error + i, "\xc3\xa9", 2);
	error[len] = '\0';
	record(f->l, "<err@x>", "a@corp.test", "inbox", "g");
	assert_int_equal(ledger_mark_failed(f->l, "<err@x>", error, LEDGER_FAIL_FINAL, 0, NULL), 0);
	assert_int_equal(ledger_get(f->l, "<err@x>", &e), 0);
	/* One line, and whole characters only: cut back to the "é" before the limit. */
	assert_int_equal(strlen(e.last_error), LEDGER_TEXT_MAX - 1);
	assert_int_equal(strncmp(e.last_error, "x y\xc3\xa9", 5), 0);
	assert_int_equal((unsigned char)e.last_error[LEDGER_TEXT_MAX - 2], 0xa9);
	assert_string_equal(e.reason, e.last_error);
	ledger_entry_clear(&e);
	free(error);
}

static void
test_leads(void **state)
{
	static const struct {
		const char *op;		/* "claim", "set", "release" */
		const char *address;
		int64_t now;
		int rc;
		enum ledger_lead res;
		const char *lead_id;	/* set: the id; claim: what KNOWN returns */
	} steps[] = {
		{ "claim", "New.Sender@Customer.example", 1000, 0, LEDGER_LEAD_CLAIMED, NULL },
		{ "claim", "new.sender@customer.example", 1100, 0, LEDGER_LEAD_BUSY, NULL },
		{ "claim", "NEW.SENDER@CUSTOMER.EXAMPLE", 1299, 0, LEDGER_LEAD_BUSY, NULL },
		/* 300 s later the claim is stale: a crash, most likely. */
		{ "claim", "new.sender@customer.example", 1300, 0, LEDGER_LEAD_RECLAIMED, NULL },
		{ "release", "new.sender@customer.example", 0, 0, 0, NULL },
		{ "claim", "new.sender@customer.example", 1301, 0, LEDGER_LEAD_CLAIMED, NULL },
		{ "set", "New.Sender@customer.example", 0, 0, 0, "00Q000000000042AAA" },
		{ "claim", "new.sender@customer.example", 1302, 0, LEDGER_LEAD_KNOWN,
		    "00Q000000000042AAA" },
		/* Releasing does not forget a Lead that exists. */
		{ "release", "new.sender@customer.example", 0, 0, 0, NULL },
		{ "claim", "new.sender@customer.example", 99999, 0, LEDGER_LEAD_KNOWN,
		    "00Q000000000042AAA" },
		/* A Lead found by matching can be recorded without a claim. */
		{ "set", "known@customer.example", 0, 0, 0, "00Q000000000043AAA" },
		{ "claim", "known@customer.example", 1, 0, LEDGER_LEAD_KNOWN,
		    "00Q000000000043AAA" },
		/* Rejected. */
		{ "claim", "", 1, -1, 0, NULL },
		{ "set", "x@y", 0, -1, 0, "" },
		{ "set", "", 0, -1, 0, "00Q" },
		{ "release", "", 0, -1, 0, NULL },
	};
	struct fixture *f = *state;
	int claimed = 0, busy = 0;

	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		enum ledger_lead res = (enum ledger_lead)-1;
		char *lead = (char *)"junk";
		int rc;

		if (strcmp(steps[i].op, "claim") == 0)
			rc = ledger_lead_claim(f->l, steps[i].address, steps[i].now, 300, &res,
			    &lead);
		else if (strcmp(steps[i].op, "set") == 0)
			rc = ledger_lead_set(f->l, steps[i].address, steps[i].lead_id);
		else
			rc = ledger_lead_release(f->l, steps[i].address);
		if (rc != steps[i].rc)
			fail_msg("step %zu: rc %d, want %d (%s)", i, rc, steps[i].rc,
			    ledger_error(f->l));
		if (rc < 0 || strcmp(steps[i].op, "claim") != 0)
			continue;
		if (res != steps[i].res)
			fail_msg("step %zu: result %d, want %d", i, res, steps[i].res);
		if (steps[i].res == LEDGER_LEAD_KNOWN) {
			assert_non_null(lead);
			assert_string_equal(lead, steps[i].lead_id);
			free(lead);
		} else {
			assert_null(lead);
		}
	}

	/* Ten emails from one new sender in one burst: one creator. */
	for (int i = 0; i < 10; i++) {
		enum ledger_lead res;
		char *lead;

		assert_int_equal(ledger_lead_claim(f->l, "burst@new.example", 5000, 300, &res,
		    &lead), 0);
		claimed += res == LEDGER_LEAD_CLAIMED;
		busy += res == LEDGER_LEAD_BUSY;
	}
	assert_int_equal(claimed, 1);
	assert_int_equal(busy, 9);
}

static void
test_round_robin(void **state)
{
	static const struct {
		const char *pool;
		size_t n;
		int rc;
		size_t index;
	} steps[] = {
		{ "sales", 3, 0, 0 },
		{ "sales", 3, 0, 1 },
		{ "support", 2, 0, 0 },	/* pools are independent */
		{ "sales", 3, 0, 2 },
		{ "sales", 3, 0, 0 },
		{ "sales", 2, 0, 0 },	/* the pool shrank: turn 4 of 2 owners */
		{ "support", 2, 0, 1 },
		{ "support", 1, 0, 0 },
		{ "sales", 0, -1, 0 },	/* an empty pool is refused */
		{ "", 3, -1, 0 },
		{ "sales", 5, 0, 0 },	/* turn 5: the refused calls took no turn */
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		size_t idx = 99;
		int rc = ledger_rr_next(f->l, steps[i].pool, steps[i].n, &idx);

		if (rc != steps[i].rc)
			fail_msg("step %zu: rc %d, want %d", i, rc, steps[i].rc);
		if (rc == 0 && idx != steps[i].index)
			fail_msg("step %zu: index %zu, want %zu", i, idx, steps[i].index);
	}
}

static void
test_kv(void **state)
{
	static const struct {
		const char *key;
		const char *set;	/* NULL: delete */
		int set_rc;
		int get_rc;
		const char *want;
	} steps[] = {
		{ "tenant", "contoso", 0, 0, "contoso" },
		{ "tenant", "fabrikam", 0, 0, "fabrikam" },
		{ "empty", "", 0, 0, "" },
		{ "tenant", NULL, 0, LEDGER_NOT_FOUND, NULL },
		{ "never-set", NULL, 0, LEDGER_NOT_FOUND, NULL },
		{ "quote'd \"key\"", "v'1", 0, 0, "v'1" },
		{ "", "x", -1, -1, NULL },
	};
	struct fixture *f = *state;
	char *big = xmalloc(LEDGER_VALUE_MAX + 2);

	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		char *v = (char *)"junk";
		int rc = ledger_kv_set(f->l, steps[i].key, steps[i].set);

		if (rc != steps[i].set_rc)
			fail_msg("step %zu: set rc %d, want %d", i, rc, steps[i].set_rc);
		rc = ledger_kv_get(f->l, steps[i].key, &v);
		if (rc != steps[i].get_rc)
			fail_msg("step %zu: get rc %d, want %d", i, rc, steps[i].get_rc);
		if (steps[i].want == NULL) {
			assert_null(v);
		} else {
			assert_string_equal(v, steps[i].want);
			free(v);
		}
	}
	memset(big, 'v', LEDGER_VALUE_MAX + 1);
	big[LEDGER_VALUE_MAX + 1] = '\0';
	assert_int_equal(ledger_kv_set(f->l, "big", big), -1);
	big[LEDGER_VALUE_MAX] = '\0';
	assert_int_equal(ledger_kv_set(f->l, "big", big), 0);
	free(big);
}

static struct ledger_sub
sub(const char *id, const char *mailbox, const char *kind, int64_t expires_at)
{
	struct ledger_sub s = { (char *)id, (char *)mailbox, (char *)kind,
	    (char *)"s3cret-client-state", (char *)"https://hook.corp.test/graph/notify",
	    expires_at, 1000, 1000, NULL };

	return s;
}

/* "id,id,..." from a list, to compare orders in one assertion. */
static void
sub_ids(struct ledger *l, char *buf, size_t len)
{
	struct ledger_sub *v = (struct ledger_sub *)1;
	size_t n = 99;

	buf[0] = '\0';
	if (ledger_sub_list(l, &v, &n) < 0)
		fail_msg("sub list: %s", ledger_error(l));
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", v[i].id);
	ledger_subs_free(v, n);
}

static void
test_subscriptions(void **state)
{
	struct fixture *f = *state;
	struct ledger_sub s, got;
	char ids[256];

	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "");

	/* Listed by mailbox then kind, whatever the order they were put in. */
	s = sub("sub-b-inbox", "bob@corp.test", "inbox", 5000);
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	s = sub("sub-a-sent", "alice@corp.test", "sentitems", 5000);
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	s = sub("sub-a-events", "alice@corp.test", "events", 5000);
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	s = sub("sub-a-inbox", "alice@corp.test", "inbox", 5000);
	s.action = "renew";
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-a-events,sub-a-inbox,sub-a-sent,sub-b-inbox");

	assert_int_equal(ledger_sub_get(f->l, "sub-a-inbox", &got), 0);
	assert_string_equal(got.id, "sub-a-inbox");
	assert_string_equal(got.mailbox, "alice@corp.test");
	assert_string_equal(got.kind, "inbox");
	assert_string_equal(got.client_state, "s3cret-client-state");
	assert_string_equal(got.notification_url, "https://hook.corp.test/graph/notify");
	assert_int_equal(got.expires_at, 5000);
	assert_int_equal(got.created_at, 1000);
	assert_int_equal(got.renewed_at, 1000);
	assert_string_equal(got.action, "renew");
	ledger_sub_clear(&got);
	assert_null(got.id);

	/* Put with a known id replaces every field, the action included. */
	s = sub("sub-a-inbox", "alice@corp.test", "inbox", 9000);
	s.client_state = "rotated";
	s.renewed_at = 8000;
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	assert_int_equal(ledger_sub_get(f->l, "sub-a-inbox", &got), 0);
	assert_int_equal(got.expires_at, 9000);
	assert_int_equal(got.renewed_at, 8000);
	assert_string_equal(got.client_state, "rotated");
	assert_null(got.action);
	ledger_sub_clear(&got);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-a-events,sub-a-inbox,sub-a-sent,sub-b-inbox");

	/* Actions set and cleared; an unknown id is not found, not an error. */
	assert_int_equal(ledger_sub_set_action(f->l, "sub-b-inbox", "recreate"), 0);
	assert_int_equal(ledger_sub_get(f->l, "sub-b-inbox", &got), 0);
	assert_string_equal(got.action, "recreate");
	ledger_sub_clear(&got);
	assert_int_equal(ledger_sub_set_action(f->l, "sub-b-inbox", NULL), 0);
	assert_int_equal(ledger_sub_get(f->l, "sub-b-inbox", &got), 0);
	assert_null(got.action);
	ledger_sub_clear(&got);
	assert_int_equal(ledger_sub_set_action(f->l, "sub-unknown", "renew"), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_sub_get(f->l, "sub-unknown", &got), LEDGER_NOT_FOUND);
	assert_null(got.id);

	/* Delete one; deleting it (or any unknown id) again is fine. */
	assert_int_equal(ledger_sub_delete(f->l, "sub-a-sent"), 0);
	assert_int_equal(ledger_sub_get(f->l, "sub-a-sent", &got), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_sub_delete(f->l, "sub-a-sent"), 0);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-a-events,sub-a-inbox,sub-b-inbox");

	/* They survive a restart. */
	reopen(f);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-a-events,sub-a-inbox,sub-b-inbox");
}

static void
test_sub_rejected(void **state)
{
	struct fixture *f = *state;
	char *long_name = xmalloc(LEDGER_NAME_MAX + 2);
	char long_state[LEDGER_CLIENT_STATE_MAX + 2], max_state[LEDGER_CLIENT_STATE_MAX + 1];
	char long_kind[LEDGER_KIND_MAX + 2];
	struct ledger_sub got;
	char ids[64];

	memset(long_name, 'n', LEDGER_NAME_MAX + 1);
	long_name[LEDGER_NAME_MAX + 1] = '\0';
	memset(long_state, 's', sizeof(long_state) - 1);
	long_state[sizeof(long_state) - 1] = '\0';
	memset(max_state, 's', sizeof(max_state) - 1);
	max_state[sizeof(max_state) - 1] = '\0';
	memset(long_kind, 'k', sizeof(long_kind) - 1);
	long_kind[sizeof(long_kind) - 1] = '\0';
	{
		const struct {
			const char *id, *mailbox, *kind, *client_state, *url, *action;
			const char *why;
		} cases[] = {
			{ NULL, "a@c", "inbox", "cs", "u", NULL, "subscription id is missing" },
			{ "", "a@c", "inbox", "cs", "u", NULL, "subscription id is missing" },
			{ long_name, "a@c", "inbox", "cs", "u", NULL, "subscription id is longer" },
			{ "i", NULL, "inbox", "cs", "u", NULL, "mailbox is missing" },
			{ "i", long_name, "inbox", "cs", "u", NULL, "mailbox is longer" },
			{ "i", "a@c", "", "cs", "u", NULL, "subscription kind is missing" },
			{ "i", "a@c", long_kind, "cs", "u", NULL,
			    "subscription kind is longer than 31 bytes" },
			{ "i", "a@c", "inbox", NULL, "u", NULL, "client state is missing" },
			{ "i", "a@c", "inbox", "", "u", NULL, "client state is missing" },
			{ "i", "a@c", "inbox", long_state, "u", NULL, "state is longer than 255" },
			{ "i", "a@c", "inbox", "cs", NULL, NULL, "notification url is missing" },
			{ "i", "a@c", "inbox", "cs", "u", "", "subscription action" },
			{ "i", "a@c", "inbox", "cs", "u", "delete", "subscription action" },
			{ "i", "a@c", "inbox", "cs", "u", "Renew", "subscription action" },
		};

		for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
			struct ledger_sub s = { (char *)cases[i].id, (char *)cases[i].mailbox,
			    (char *)cases[i].kind, (char *)cases[i].client_state,
			    (char *)cases[i].url, 1, 1, 1, (char *)cases[i].action };

			if (ledger_sub_put(f->l, &s) != -1)
				fail_msg("case %zu accepted", i);
			if (strstr(ledger_error(f->l), cases[i].why) == NULL)
				fail_msg("case %zu: error \"%s\", want \"%s\"", i,
				    ledger_error(f->l), cases[i].why);
		}
	}
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "");

	/* The limits themselves are allowed; a bad action is refused on an existing one too. */
	{
		struct ledger_sub s = sub("sub-1", "a@c", "0123456789012345678901234567890", 1);

		s.client_state = max_state;
		assert_int_equal(ledger_sub_put(f->l, &s), 0);
	}
	assert_int_equal(ledger_sub_set_action(f->l, "sub-1", "reauthorize"), -1);
	assert_non_null(strstr(ledger_error(f->l), "subscription action"));
	assert_int_equal(ledger_sub_set_action(f->l, "", "renew"), -1);
	assert_int_equal(ledger_sub_get(f->l, "sub-1", &got), 0);
	assert_null(got.action);
	assert_string_equal(got.client_state, max_state);
	ledger_sub_clear(&got);
	assert_int_equal(ledger_sub_get(f->l, long_name, &got), -1);
	assert_int_equal(ledger_sub_delete(f->l, NULL), -1);
	free(long_name);
}

/* "mailbox/folder@gen" for each mark, oldest first. */
static void
dirty_marks(struct ledger *l, char *buf, size_t len)
{
	struct ledger_dirty *d = (struct ledger_dirty *)1;
	size_t n = 99;

	buf[0] = '\0';
	if (ledger_dirty_list(l, &d, &n) < 0)
		fail_msg("dirty list: %s", ledger_error(l));
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s/%s@%lld", i ? " " : "",
		    d[i].mailbox, d[i].folder, (long long)d[i].gen);
	ledger_dirty_free(d, n);
}

static void
test_dirty(void **state)
{
	static const struct {
		const char *op;		/* "mark" or "done" */
		const char *mailbox, *folder;
		int64_t arg;		/* mark: now; done: gen */
		const char *want;	/* the list after the step */
	} steps[] = {
		{ "mark", "bob", "inbox", 200, "bob/inbox@1" },
		{ "mark", "alice", "inbox", 300, "bob/inbox@1 alice/inbox@1" },
		{ "mark", "alice", "sentitems", 100,
		    "alice/sentitems@1 bob/inbox@1 alice/inbox@1" },
		/* A second mark raises gen and keeps the first mark's time, so the order stays. */
		{ "mark", "bob", "inbox", 400, "alice/sentitems@1 bob/inbox@2 alice/inbox@1" },
		/* Read at gen 1 while mark 2 came in: the mark stays. */
		{ "done", "bob", "inbox", 1, "alice/sentitems@1 bob/inbox@2 alice/inbox@1" },
		{ "done", "bob", "inbox", 2, "alice/sentitems@1 alice/inbox@1" },
		/* Done for a folder not marked is nothing. */
		{ "done", "carol", "inbox", 1, "alice/sentitems@1 alice/inbox@1" },
		/* Marked again after it was read: a new mark at the new time. */
		{ "mark", "bob", "inbox", 500, "alice/sentitems@1 alice/inbox@1 bob/inbox@1" },
		{ "done", "alice", "sentitems", 1, "alice/inbox@1 bob/inbox@1" },
	};
	struct fixture *f = *state;
	struct ledger_dirty *d;
	char got[256];
	size_t n;

	dirty_marks(f->l, got, sizeof(got));
	assert_string_equal(got, "");
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		int rc = strcmp(steps[i].op, "mark") == 0 ?
		    ledger_dirty_mark(f->l, steps[i].mailbox, steps[i].folder, steps[i].arg) :
		    ledger_dirty_done(f->l, steps[i].mailbox, steps[i].folder, steps[i].arg);

		if (rc != 0)
			fail_msg("step %zu: rc %d (%s)", i, rc, ledger_error(f->l));
		dirty_marks(f->l, got, sizeof(got));
		if (strcmp(got, steps[i].want) != 0)
			fail_msg("step %zu: \"%s\", want \"%s\"", i, got, steps[i].want);
	}

	assert_int_equal(ledger_dirty_mark(f->l, "alice", "inbox", 999), 0);
	assert_int_equal(ledger_dirty_list(f->l, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].mailbox, "alice");
	assert_int_equal(d[0].gen, 2);
	assert_int_equal(d[0].marked_at, 300);
	assert_string_equal(d[1].mailbox, "bob");
	assert_int_equal(d[1].marked_at, 500);
	ledger_dirty_free(d, n);

	assert_int_equal(ledger_dirty_mark(f->l, "", "inbox", 1), -1);
	assert_non_null(strstr(ledger_error(f->l), "mailbox is missing"));
	assert_int_equal(ledger_dirty_mark(f->l, "alice", NULL, 1), -1);
	assert_non_null(strstr(ledger_error(f->l), "folder is missing"));
	assert_int_equal(ledger_dirty_done(f->l, "alice", "", 2), -1);

	/* Marks are durable: a restart reads the folders it had not read yet. */
	reopen(f);
	dirty_marks(f->l, got, sizeof(got));
	assert_string_equal(got, "alice/inbox@2 bob/inbox@1");
}

/* The receiver's threads and the worker each have a handle on one file. */
static void
test_dirty_two_handles(void **state)
{
	struct fixture *f = *state;
	struct ledger *other;
	char err[256] = "", got[128];

	if (ledger_open(f->path, &other, err, sizeof(err)) < 0)
		fail_msg("second handle: %s", err);
	assert_int_equal(ledger_dirty_mark(other, "alice", "inbox", 100), 0);
	dirty_marks(f->l, got, sizeof(got));
	assert_string_equal(got, "alice/inbox@1");
	assert_int_equal(ledger_dirty_mark(f->l, "alice", "inbox", 200), 0);
	dirty_marks(other, got, sizeof(got));
	assert_string_equal(got, "alice/inbox@2");

	/* The worker read the folder at gen 2; a notification marked it again meanwhile through
	 * the receiver's handle: the worker's done keeps that mark. */
	assert_int_equal(ledger_dirty_mark(other, "alice", "inbox", 300), 0);
	assert_int_equal(ledger_dirty_done(f->l, "alice", "inbox", 2), 0);
	dirty_marks(other, got, sizeof(got));
	assert_string_equal(got, "alice/inbox@3");
	assert_int_equal(ledger_dirty_done(f->l, "alice", "inbox", 3), 0);
	dirty_marks(other, got, sizeof(got));
	assert_string_equal(got, "");
	ledger_close(other);
}

static void
test_next_retry(void **state)
{
	struct fixture *f = *state;
	int64_t at = -1;

	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 0);

	/* Pending, logged and dead messages are not retries. */
	record(f->l, "<pending@x>", "a@corp.test", "inbox", "g1");
	record(f->l, "<logged@x>", "a@corp.test", "inbox", "g2");
	record(f->l, "<dead@x>", "a@corp.test", "inbox", "g3");
	assert_int_equal(ledger_mark_logged(f->l, "<logged@x>", NULL), 0);
	assert_int_equal(ledger_mark_failed(f->l, "<dead@x>", "INVALID", LEDGER_FAIL_FINAL, 50,
	    NULL), 0);
	at = -1;
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 0);

	record(f->l, "<f1@x>", "a@corp.test", "inbox", "g4");
	record(f->l, "<f2@x>", "a@corp.test", "inbox", "g5");
	assert_int_equal(ledger_mark_failed(f->l, "<f1@x>", "503", LEDGER_FAIL_TEMP, 7000, NULL),
	    0);
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 7000);
	assert_int_equal(ledger_mark_failed(f->l, "<f2@x>", "429", LEDGER_FAIL_WAIT, 6000, NULL),
	    0);
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 6000);
	/* The earliest one logged: the next is the other. */
	assert_int_equal(ledger_mark_logged(f->l, "<f2@x>", NULL), 0);
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 7000);
	/* Due at 0 is due now, not "none". */
	assert_int_equal(ledger_mark_failed(f->l, "<f1@x>", "503", LEDGER_FAIL_WAIT, 0, NULL), 0);
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 1);
	assert_int_equal(ledger_mark_skipped(f->l, "<f1@x>", "gave up"), 0);
	assert_int_equal(ledger_next_retry(f->l, &at), 0);
	assert_int_equal(at, 0);
}

#define EVENT_DATA	"{\"subject\":\"Demo\",\"location\":\"Room 4\"}"

static struct ledger_meeting_copy
mcopy(const char *key, const char *mailbox, const char *graph_id, const char *response,
    int attending, int64_t start_at)
{
	struct ledger_meeting_copy c = { key, mailbox, graph_id, response, attending, 0, start_at,
	    EVENT_DATA };

	return c;
}

/* Puts c, which must be accepted; returns *changed. */
static int
put(struct ledger *l, const struct ledger_meeting_copy *c)
{
	int changed = 42;

	if (ledger_meeting_copy_put(l, c, &changed) < 0)
		fail_msg("put %s/%s: %s", c->mailbox, c->graph_id, ledger_error(l));
	if (changed != 0 && changed != 1)
		fail_msg("put %s/%s: changed %d", c->mailbox, c->graph_id, changed);
	return changed;
}

static enum ledger_msync
msync_of(struct ledger *l, const char *key)
{
	struct ledger_meeting m;
	enum ledger_msync s;

	if (ledger_meeting_get(l, key, &m) != 0)
		fail_msg("get meeting %s: not there (%s)", key, ledger_error(l));
	s = m.sync;
	ledger_meeting_clear(&m);
	return s;
}

static void
mark_done(struct ledger *l, const char *key)
{
	if (ledger_meeting_done(l, key, "00U000000000001AAA", "006000000000001AAA",
	    "alice@corp.test", 1000, "digest-1") < 0)
		fail_msg("done %s: %s", key, ledger_error(l));
}

/* "key,key,..." from a list of keys, which it frees, to compare orders in one assertion. */
static void
join_keys(char **keys, size_t n, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", keys[i]);
	ledger_keys_free(keys, n);
}

/* The meetings due at now. */
static void
due_keys(struct ledger *l, int64_t now, size_t max, char *buf, size_t len)
{
	char **keys = (char **)1;
	size_t n = 99;

	if (ledger_meeting_due(l, now, max, &keys, &n) < 0)
		fail_msg("meetings due: %s", ledger_error(l));
	join_keys(keys, n, buf, len);
}

/* "mailbox/graph_id" of each copy of key, in the order ledger_meeting_get gives them. */
static void
copy_names(struct ledger *l, const char *key, char *buf, size_t len)
{
	struct ledger_meeting m;

	buf[0] = '\0';
	if (ledger_meeting_get(l, key, &m) != 0)
		fail_msg("get meeting %s: not there (%s)", key, ledger_error(l));
	for (size_t i = 0; i < m.ncopies; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s/%s", i ? "," : "",
		    m.copies[i].mailbox, m.copies[i].graph_id);
	ledger_meeting_clear(&m);
}

/* Changes arrive seconds apart in life; a test makes them in one second, so it sets the time of
 * a meeting's change behind the ledger's back to order them. */
static void
set_changed_at(struct fixture *f, const char *key, int64_t at)
{
	struct store_stmt *st;
	struct store *db;
	char err[256];

	/* through store.h: the same on SQLite and on PostgreSQL (test_ledger_pg) */
	assert_int_equal(store_open(f->path, NULL, &db, err, sizeof(err)), 0);
	st = store_prepare(db, "UPDATE meetings SET changed_at = ?2 WHERE key = ?1");
	store_bind_text(st, 1, key);
	store_bind_int64(st, 2, at);
	assert_int_equal(store_step(st), STORE_DONE);
	assert_int_equal(store_changes(db), 1);
	store_finalize(st);
	store_close(db);
}

/* One rep's copy through its changes: each change makes the meeting pending again after it was
 * done; a replay of the same copy leaves it done. */
static void
test_meeting_copies(void **state)
{
	static const struct {
		const char	*response;
		int		 attending, cancelled;
		int64_t		 start_at;
		const char	*data;
		int		 changed;
	} steps[] = {
		{ "accepted", 1, 0, 1000, EVENT_DATA, 1 },		/* new */
		{ "accepted", 1, 0, 1000, EVENT_DATA, 0 },		/* a delta replay */
		{ "accepted", 7, 0, 1000, EVENT_DATA, 0 },		/* any true is true */
		{ "tentativelyAccepted", 1, 0, 1000, EVENT_DATA, 1 },
		{ "tentativelyAccepted", 0, 0, 1000, EVENT_DATA, 1 },
		{ "tentativelyAccepted", 0, 1, 1000, EVENT_DATA, 1 },
		{ "tentativelyAccepted", 0, 1, 4600, EVENT_DATA, 1 },
		{ "tentativelyAccepted", 0, 1, 4600, "{\"subject\":\"Demo v2\"}", 1 },
		{ "tentativelyAccepted", 0, 1, 4600, "{\"subject\":\"Demo v2\"}", 0 },
	};
	struct fixture *f = *state;
	struct ledger_meeting m;

	assert_int_equal(ledger_meeting_get(f->l, "m1", &m), LEDGER_NOT_FOUND);
	assert_null(m.key);
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		struct ledger_meeting_copy c = { "m1", "alice@corp.test", "AAMk-ev-1",
		    steps[i].response, steps[i].attending, steps[i].cancelled, steps[i].start_at,
		    steps[i].data };
		enum ledger_msync want = steps[i].changed ? LEDGER_MEETING_PENDING :
		    LEDGER_MEETING_DONE;
		int changed = put(f->l, &c);

		if (changed != steps[i].changed)
			fail_msg("step %zu: changed %d, want %d", i, changed, steps[i].changed);
		assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
		if (m.sync != want)
			fail_msg("step %zu: state %d, want %d", i, (int)m.sync, (int)want);
		assert_string_equal(m.key, "m1");
		assert_int_equal(m.ncopies, 1);
		assert_string_equal(m.copies[0].mailbox, "alice@corp.test");
		assert_string_equal(m.copies[0].graph_id, "AAMk-ev-1");
		assert_string_equal(m.copies[0].response, steps[i].response);
		assert_int_equal(m.copies[0].attending, steps[i].attending != 0);
		assert_int_equal(m.copies[0].cancelled, steps[i].cancelled);
		assert_int_equal(m.copies[0].start_at, steps[i].start_at);
		assert_string_equal(m.copies[0].data, steps[i].data);
		assert_true(m.copies[0].updated_at > 0);
		ledger_meeting_clear(&m);
		assert_null(m.copies);
		if (want == LEDGER_MEETING_PENDING)
			mark_done(f->l, "m1");
	}
	/* A NULL changed is allowed. */
	{
		struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-ev-1",
		    "declined", 0, 4600);

		assert_int_equal(ledger_meeting_copy_put(f->l, &c, NULL), 0);
		assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_PENDING);
	}
}

/* A reschedule resets responses to "none": the rep who accepted still goes, until they
 * decline. */
static void
test_meeting_ever_attending(void **state)
{
	static const struct {
		const char	*mailbox, *response;
		int		 attending;
		int		 ever[2];	/* alice's and bob's ever_attending after the step */
	} steps[] = {
		{ "alice@corp.test", "accepted", 1, { 1, -1 } },
		{ "bob@corp.test", "none", 0, { 1, 0 } },
		{ "alice@corp.test", "none", 0, { 1, 0 } },	/* rescheduled: sticks */
		{ "bob@corp.test", "declined", 0, { 1, 0 } },
		/* a decline is an answer: the next reschedule does not bring the rep back */
		{ "alice@corp.test", "declined", 0, { 0, 0 } },
		{ "alice@corp.test", "none", 0, { 0, 0 } },
		{ "bob@corp.test", "tentativelyAccepted", 1, { 0, 1 } },
		{ "bob@corp.test", "none", 0, { 0, 1 } },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		struct ledger_meeting_copy c = mcopy("m1", steps[i].mailbox, steps[i].mailbox,
		    steps[i].response, steps[i].attending, 1000 + (int64_t)i);
		struct ledger_meeting m;

		assert_int_equal(put(f->l, &c), 1);
		assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
		for (size_t j = 0; j < m.ncopies; j++) {
			int want = steps[i].ever[strcmp(m.copies[j].mailbox, "bob@corp.test") == 0];

			if (m.copies[j].ever_attending != want)
				fail_msg("step %zu, %s: ever_attending %d, want %d", i,
				    m.copies[j].mailbox, m.copies[j].ever_attending, want);
		}
		assert_int_equal(m.ncopies, steps[i].ever[1] < 0 ? 1 : 2);
		ledger_meeting_clear(&m);
	}
}

/* The Opportunities whose meetings started in a span, dead meetings revived, counts by state. */
static void
test_meeting_started_retry_counts(void **state)
{
	struct fixture *f = *state;
	struct ledger_meeting_copy a = mcopy("m1", "alice@corp.test", "g1", "accepted", 1, 1000);
	struct ledger_meeting_copy b = mcopy("m2", "alice@corp.test", "g2", "accepted", 1, 3000);
	struct ledger_meeting_copy c = mcopy("m3", "alice@corp.test", "g3", "accepted", 1, 5000);
	enum ledger_msync st;
	long long counts[LEDGER_MEETING_STATES], n2;
	char **ids;
	size_t n;

	assert_int_equal(put(f->l, &a), 1);
	assert_int_equal(put(f->l, &b), 1);
	assert_int_equal(put(f->l, &c), 1);
	assert_int_equal(ledger_meeting_done(f->l, "m1", "00U000000000001", "006000000000001",
	    "alice@corp.test", 1000, "w"), 0);
	assert_int_equal(ledger_meeting_done(f->l, "m2", "00U000000000002", "006000000000002",
	    "alice@corp.test", 3000, "w"), 0);
	assert_int_equal(ledger_meeting_failed(f->l, "m3", "FINAL x", LEDGER_FAIL_FINAL, 0, &st),
	    0);
	assert_int_equal(ledger_meeting_opps_started(f->l, 999, 1000, 10, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "006000000000001");
	ledger_keys_free(ids, n);
	assert_int_equal(ledger_meeting_opps_started(f->l, 1000, 2999, 10, &ids, &n), 0);
	assert_int_equal(n, 0);
	ledger_keys_free(ids, n);
	assert_int_equal(ledger_meeting_counts(f->l, counts), 0);
	assert_int_equal(counts[LEDGER_MEETING_DONE], 2);
	assert_int_equal(counts[LEDGER_MEETING_DEAD], 1);
	assert_int_equal(counts[LEDGER_MEETING_PENDING], 0);
	assert_int_equal(ledger_meeting_retry_dead(f->l, &n2), 0);
	assert_int_equal(n2, 1);
	assert_int_equal(ledger_meeting_counts(f->l, counts), 0);
	assert_int_equal(counts[LEDGER_MEETING_DEAD], 0);
	assert_int_equal(counts[LEDGER_MEETING_PENDING], 1);
}

/* Copies of one meeting in several reps' calendars: all of them, sorted, and only them. */
static void
test_meeting_two_reps(void **state)
{
	struct fixture *f = *state;
	struct ledger_meeting_copy bob = mcopy("m1", "bob@corp.test", "AAMk-bob", "accepted", 1,
	    2000);
	struct ledger_meeting_copy alice_z = mcopy("m1", "alice@corp.test", "AAMk-z", "organizer",
	    1, 2000);
	struct ledger_meeting_copy alice_a = mcopy("m1", "alice@corp.test", "AAMk-a", "none", 0,
	    2000);
	struct ledger_meeting_copy other = mcopy("m2", "carol@corp.test", "AAMk-carol",
	    "accepted", 1, 3000);
	struct ledger_meeting m;
	char names[256];

	assert_int_equal(put(f->l, &bob), 1);
	assert_int_equal(put(f->l, &alice_z), 1);
	assert_int_equal(put(f->l, &alice_a), 1);
	assert_int_equal(put(f->l, &other), 1);
	copy_names(f->l, "m1", names, sizeof(names));
	assert_string_equal(names, "alice@corp.test/AAMk-a,alice@corp.test/AAMk-z,"
	    "bob@corp.test/AAMk-bob");
	copy_names(f->l, "m2", names, sizeof(names));
	assert_string_equal(names, "carol@corp.test/AAMk-carol");
	assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
	assert_string_equal(m.copies[1].response, "organizer");
	assert_string_equal(m.copies[2].response, "accepted");
	assert_int_equal(m.copies[0].attending, 0);
	ledger_meeting_clear(&m);

	/* Either rep's change makes the meeting pending; the other meeting is not touched. */
	mark_done(f->l, "m1");
	mark_done(f->l, "m2");
	bob.response = "declined";
	bob.attending = 0;
	assert_int_equal(put(f->l, &bob), 1);
	assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_PENDING);
	assert_int_equal(msync_of(f->l, "m2"), LEDGER_MEETING_DONE);
	copy_names(f->l, "m1", names, sizeof(names));
	assert_string_equal(names, "alice@corp.test/AAMk-a,alice@corp.test/AAMk-z,"
	    "bob@corp.test/AAMk-bob");
}

/* A Graph event that now maps to another meeting (a moved series instance) leaves one and
 * joins the other: both must be decided again. */
static void
test_meeting_copy_moves(void **state)
{
	struct fixture *f = *state;
	struct ledger_meeting_copy alice = mcopy("m-old", "alice@corp.test", "AAMk-1", "accepted",
	    1, 1000);
	struct ledger_meeting_copy bob = mcopy("m-old", "bob@corp.test", "AAMk-2", "accepted", 1,
	    1000);
	char names[256];

	assert_int_equal(put(f->l, &alice), 1);
	assert_int_equal(put(f->l, &bob), 1);
	mark_done(f->l, "m-old");
	alice.key = "m-new";
	assert_int_equal(put(f->l, &alice), 1);
	assert_int_equal(msync_of(f->l, "m-old"), LEDGER_MEETING_PENDING);
	assert_int_equal(msync_of(f->l, "m-new"), LEDGER_MEETING_PENDING);
	copy_names(f->l, "m-old", names, sizeof(names));
	assert_string_equal(names, "bob@corp.test/AAMk-2");
	copy_names(f->l, "m-new", names, sizeof(names));
	assert_string_equal(names, "alice@corp.test/AAMk-1");

	/* Replayed where it now is: nothing to do for either. */
	mark_done(f->l, "m-old");
	mark_done(f->l, "m-new");
	assert_int_equal(put(f->l, &alice), 0);
	assert_int_equal(msync_of(f->l, "m-old"), LEDGER_MEETING_DONE);
	assert_int_equal(msync_of(f->l, "m-new"), LEDGER_MEETING_DONE);
}

static void
test_meeting_remove(void **state)
{
	struct fixture *f = *state;
	struct ledger_meeting_copy alice = mcopy("m1", "alice@corp.test", "AAMk-1", "accepted", 1,
	    1000);
	struct ledger_meeting_copy bob = mcopy("m1", "bob@corp.test", "AAMk-2", "accepted", 1,
	    1000);
	static const struct {
		const char	*mailbox, *graph_id;
		int		 found;
		const char	*left;		/* m1's copies after */
	} steps[] = {
		{ "carol@corp.test", "AAMk-1", 0, "alice@corp.test/AAMk-1,bob@corp.test/AAMk-2" },
		{ "alice@corp.test", "AAMk-2", 0, "alice@corp.test/AAMk-1,bob@corp.test/AAMk-2" },
		{ "alice@corp.test", "AAMk-1", 1, "bob@corp.test/AAMk-2" },
		{ "alice@corp.test", "AAMk-1", 0, "bob@corp.test/AAMk-2" },
		{ "bob@corp.test", "AAMk-2", 1, "" },
		{ "bob@corp.test", "AAMk-2", 0, "" },
	};
	char names[256];
	int found = 42;

	assert_int_equal(ledger_meeting_copy_remove(f->l, "alice@corp.test", "AAMk-1", &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(put(f->l, &alice), 1);
	assert_int_equal(put(f->l, &bob), 1);
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		enum ledger_msync want = steps[i].found ? LEDGER_MEETING_PENDING :
		    LEDGER_MEETING_DONE;

		if (msync_of(f->l, "m1") != LEDGER_MEETING_DONE)
			mark_done(f->l, "m1");
		found = 42;
		if (ledger_meeting_copy_remove(f->l, steps[i].mailbox, steps[i].graph_id,
		    &found) < 0)
			fail_msg("step %zu: %s", i, ledger_error(f->l));
		if (found != steps[i].found)
			fail_msg("step %zu: found %d, want %d", i, found, steps[i].found);
		if (msync_of(f->l, "m1") != want)
			fail_msg("step %zu: state %d, want %d", i, (int)msync_of(f->l, "m1"),
			    (int)want);
		copy_names(f->l, "m1", names, sizeof(names));
		if (strcmp(names, steps[i].left) != 0)
			fail_msg("step %zu: copies \"%s\", want \"%s\"", i, names, steps[i].left);
	}
	assert_int_equal(ledger_meeting_copy_remove(f->l, "bob@corp.test", "AAMk-2", NULL), 0);
	assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_DONE);
	/* The copy comes back (a delta replay after the removal): a change like any other. */
	assert_int_equal(put(f->l, &bob), 1);
	assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_PENDING);
}

static void
test_meeting_due(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = { "m-b", "m-a", "m-c", "m-done", "m-dead" };
	char got[256];

	ledger_set_max_attempts(f->l, 1);
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "");
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		struct ledger_meeting_copy c = mcopy(keys[i], "alice@corp.test", keys[i],
		    "accepted", 1, 1000);

		assert_int_equal(put(f->l, &c), 1);
	}
	mark_done(f->l, "m-done");
	assert_int_equal(ledger_meeting_failed(f->l, "m-dead", "503", LEDGER_FAIL_TEMP, 10, NULL),
	    0);
	assert_int_equal(msync_of(f->l, "m-dead"), LEDGER_MEETING_DEAD);
	/* Changed in the same second: by key. */
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "m-a,m-b,m-c");

	/* The oldest change first; a pending meeting that changes again keeps its place. */
	set_changed_at(f, "m-c", 100);
	set_changed_at(f, "m-b", 200);
	set_changed_at(f, "m-a", 300);
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "m-c,m-b,m-a");
	{
		struct ledger_meeting_copy c = mcopy("m-c", "alice@corp.test", "m-c", "declined",
		    0, 1000);

		assert_int_equal(put(f->l, &c), 1);
	}
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "m-c,m-b,m-a");
	due_keys(f->l, 0, 2, got, sizeof(got));
	assert_string_equal(got, "m-c,m-b");
	due_keys(f->l, 0, 0, got, sizeof(got));
	assert_string_equal(got, "");

	/* Failed ones come after every pending one, when their time has come, earliest first. */
	ledger_set_max_attempts(f->l, 10);
	assert_int_equal(ledger_meeting_failed(f->l, "m-c", "503", LEDGER_FAIL_TEMP, 5000, NULL),
	    0);
	assert_int_equal(ledger_meeting_failed(f->l, "m-b", "429", LEDGER_FAIL_WAIT, 4000, NULL),
	    0);
	due_keys(f->l, 3999, 10, got, sizeof(got));
	assert_string_equal(got, "m-a");
	due_keys(f->l, 4000, 10, got, sizeof(got));
	assert_string_equal(got, "m-a,m-b");
	/* Pending first, even one that changed after a failed one's time. */
	set_changed_at(f, "m-a", 8000);
	due_keys(f->l, 9000, 10, got, sizeof(got));
	assert_string_equal(got, "m-a,m-b,m-c");
	{
		struct ledger_meeting m;

		assert_int_equal(ledger_meeting_get(f->l, "m-c", &m), 0);
		assert_int_equal(m.sync, LEDGER_MEETING_FAILED);
		assert_int_equal(m.next_attempt_at, 5000);
		assert_string_equal(m.last_error, "503");
		ledger_meeting_clear(&m);
	}
	/* A change makes a failed meeting pending, due at once in the pending order. */
	{
		struct ledger_meeting_copy c = mcopy("m-c", "alice@corp.test", "m-c", "accepted",
		    1, 1000);

		assert_int_equal(put(f->l, &c), 1);
	}
	set_changed_at(f, "m-c", 8500);
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "m-a,m-c");
	mark_done(f->l, "m-a");
	mark_done(f->l, "m-b");
	mark_done(f->l, "m-c");
	due_keys(f->l, 9000, 10, got, sizeof(got));
	assert_string_equal(got, "");
}

enum mop { MOP_TEMP, MOP_WAIT, MOP_FINAL, MOP_DONE, MOP_CHANGE, MOP_END };

static void
test_meeting_transitions(void **state)
{
	static const struct {
		enum mop		 op;
		int			 rc;
		enum ledger_msync	 sync;		/* after the step */
		int			 attempts;
		const char		*last_error;	/* NULL: none */
	} steps[] = {
		{ MOP_TEMP, 0, LEDGER_MEETING_FAILED, 1, "503 Service Unavailable" },
		{ MOP_WAIT, 0, LEDGER_MEETING_FAILED, 1, "REQUEST_LIMIT_EXCEEDED" },
		{ MOP_TEMP, 0, LEDGER_MEETING_FAILED, 2, "503 Service Unavailable" },
		{ MOP_WAIT, 0, LEDGER_MEETING_FAILED, 2, "REQUEST_LIMIT_EXCEEDED" },
		{ MOP_TEMP, 0, LEDGER_MEETING_DEAD, 3, "503 Service Unavailable" },
		{ MOP_TEMP, -1, LEDGER_MEETING_DEAD, 3, "503 Service Unavailable" },
		{ MOP_DONE, -1, LEDGER_MEETING_DEAD, 3, "503 Service Unavailable" },
		/* A new change revives the dead with its attempts reset; the error stays. */
		{ MOP_CHANGE, 0, LEDGER_MEETING_PENDING, 0, "503 Service Unavailable" },
		{ MOP_FINAL, 0, LEDGER_MEETING_DEAD, 1, "INVALID_CROSS_REFERENCE_KEY" },
		{ MOP_WAIT, -1, LEDGER_MEETING_DEAD, 1, "INVALID_CROSS_REFERENCE_KEY" },
		{ MOP_CHANGE, 0, LEDGER_MEETING_PENDING, 0, "INVALID_CROSS_REFERENCE_KEY" },
		/* A failed one keeps its attempts through a change. */
		{ MOP_TEMP, 0, LEDGER_MEETING_FAILED, 1, "503 Service Unavailable" },
		{ MOP_CHANGE, 0, LEDGER_MEETING_PENDING, 1, "503 Service Unavailable" },
		{ MOP_TEMP, 0, LEDGER_MEETING_FAILED, 2, "503 Service Unavailable" },
		{ MOP_DONE, 0, LEDGER_MEETING_DONE, 0, NULL },
		{ MOP_DONE, -1, LEDGER_MEETING_DONE, 0, NULL },
		{ MOP_TEMP, -1, LEDGER_MEETING_DONE, 0, NULL },
		{ MOP_FINAL, -1, LEDGER_MEETING_DONE, 0, NULL },
		{ MOP_CHANGE, 0, LEDGER_MEETING_PENDING, 0, NULL },
		{ MOP_DONE, 0, LEDGER_MEETING_DONE, 0, NULL },
		{ MOP_END, 0, 0, 0, NULL },
	};
	struct fixture *f = *state;
	struct ledger_meeting m;

	ledger_set_max_attempts(f->l, 3);
	{
		struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-1", "accepted",
		    1, 999);

		assert_int_equal(put(f->l, &c), 1);
	}
	for (size_t i = 0; steps[i].op != MOP_END; i++) {
		struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-1", "accepted",
		    1, 1000 + (int64_t)i);
		enum ledger_msync got = (enum ledger_msync)42;
		int rc = -2;

		switch (steps[i].op) {
		case MOP_TEMP:
			rc = ledger_meeting_failed(f->l, "m1", "503 Service Unavailable",
			    LEDGER_FAIL_TEMP, 100, &got);
			break;
		case MOP_WAIT:
			rc = ledger_meeting_failed(f->l, "m1", "REQUEST_LIMIT_EXCEEDED",
			    LEDGER_FAIL_WAIT, 100, &got);
			break;
		case MOP_FINAL:
			rc = ledger_meeting_failed(f->l, "m1", "INVALID_CROSS_REFERENCE_KEY",
			    LEDGER_FAIL_FINAL, 0, &got);
			break;
		case MOP_DONE:
			rc = ledger_meeting_done(f->l, "m1", "00U000000000001AAA", NULL, NULL, 1000,
			    "digest");
			got = steps[i].sync;
			break;
		case MOP_CHANGE:
			rc = put(f->l, &c) == 1 ? 0 : -2;
			got = steps[i].sync;
			break;
		case MOP_END:
			break;
		}
		if (rc != steps[i].rc)
			fail_msg("step %zu: rc %d, want %d (%s)", i, rc, steps[i].rc,
			    ledger_error(f->l));
		if (rc < 0 && strstr(ledger_error(f->l), "cannot") == NULL)
			fail_msg("step %zu: error \"%s\"", i, ledger_error(f->l));
		if (rc == 0 && got != steps[i].sync)
			fail_msg("step %zu: returned state %d, want %d", i, (int)got,
			    (int)steps[i].sync);
		assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
		if (m.sync != steps[i].sync || m.attempts != steps[i].attempts)
			fail_msg("step %zu: %d/%d, want %d/%d", i, (int)m.sync, m.attempts,
			    (int)steps[i].sync, steps[i].attempts);
		if (steps[i].last_error == NULL ? m.last_error != NULL :
		    m.last_error == NULL || strcmp(m.last_error, steps[i].last_error) != 0)
			fail_msg("step %zu: last_error \"%s\", want \"%s\"", i,
			    m.last_error ? m.last_error : "(none)",
			    steps[i].last_error ? steps[i].last_error : "(none)");
		ledger_meeting_clear(&m);
	}
	assert_int_equal(ledger_meeting_done(f->l, "m1", NULL, NULL, NULL, 0, NULL), -1);
	assert_non_null(strstr(ledger_error(f->l), "cannot mark done a meeting that is done"));
	assert_int_equal(ledger_meeting_done(f->l, "m-unknown", NULL, NULL, NULL, 0, NULL), -1);
	assert_non_null(strstr(ledger_error(f->l), "no such meeting"));
	assert_int_equal(ledger_meeting_failed(f->l, "m-unknown", "x", LEDGER_FAIL_TEMP, 0, NULL),
	    -1);
	assert_non_null(strstr(ledger_error(f->l), "no such meeting"));

	/* Done records what Salesforce now holds, and a later done replaces all of it: no Event
	 * (NULL) is an outcome too. */
	{
		struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-1", "declined",
		    0, 1000);

		assert_int_equal(put(f->l, &c), 1);
	}
	assert_int_equal(ledger_meeting_done(f->l, "m1", "00U000000000002AAA",
	    "006000000000009AAA", "bob@corp.test", 7200, "digest-2"), 0);
	assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
	assert_string_equal(m.sf_event_id, "00U000000000002AAA");
	assert_string_equal(m.opportunity_id, "006000000000009AAA");
	assert_string_equal(m.owner_mailbox, "bob@corp.test");
	assert_int_equal(m.start_at, 7200);
	assert_string_equal(m.written, "digest-2");
	assert_int_equal(m.next_attempt_at, 0);
	ledger_meeting_clear(&m);
	{
		struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-1", "accepted",
		    1, 1000);

		assert_int_equal(put(f->l, &c), 1);
	}
	assert_int_equal(ledger_meeting_done(f->l, "m1", NULL, NULL, "", 0, NULL), 0);
	assert_int_equal(ledger_meeting_get(f->l, "m1", &m), 0);
	assert_int_equal(m.sync, LEDGER_MEETING_DONE);
	assert_null(m.sf_event_id);
	assert_null(m.opportunity_id);
	assert_null(m.owner_mailbox);	/* empty is none */
	assert_null(m.written);
	ledger_meeting_clear(&m);
}

/* The next meeting on an Opportunity counts done meetings with an Event on it, after a time. */
static void
test_meeting_next_on(void **state)
{
	static const struct {
		const char	*key, *event, *opp;
		int64_t		 start_at;
		int		 pending_again;	/* done, then changed */
	} meetings[] = {
		{ "m1", "00U1", "006A", 1000, 0 },
		{ "m2", "00U2", "006A", 3000, 0 },
		{ "m3", "00U3", "006A", 2000, 0 },
		{ "m4", NULL, "006A", 1500, 0 },	/* no Event (all declined) */
		{ "m5", "00U5", "006A", 1200, 1 },	/* not done: being decided again */
		{ "m6", "00U6", "006B", 1100, 0 },
	};
	static const struct {
		const char	*opp;
		int64_t		 after, want;
	} cases[] = {
		{ "006A", 0, 1000 },
		{ "006A", 999, 1000 },
		{ "006A", 1000, 2000 },		/* strictly later; skips m4 and m5 */
		{ "006A", 2999, 3000 },
		{ "006A", 3000, 0 },
		{ "006B", 0, 1100 },
		{ "006B", 1100, 0 },
		{ "006C", 0, 0 },
	};
	struct fixture *f = *state;
	int64_t at = -1;

	assert_int_equal(ledger_meeting_next_on(f->l, "006A", 0, &at), 0);
	assert_int_equal(at, 0);
	for (size_t i = 0; i < ARRAY_LEN(meetings); i++) {
		struct ledger_meeting_copy c = mcopy(meetings[i].key, "alice@corp.test",
		    meetings[i].key, "accepted", 1, meetings[i].start_at);

		assert_int_equal(put(f->l, &c), 1);
		assert_int_equal(ledger_meeting_done(f->l, meetings[i].key, meetings[i].event,
		    meetings[i].opp, "alice@corp.test", meetings[i].start_at, "d"), 0);
		if (meetings[i].pending_again) {
			c.response = "tentativelyAccepted";
			assert_int_equal(put(f->l, &c), 1);
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		at = -1;
		assert_int_equal(ledger_meeting_next_on(f->l, cases[i].opp, cases[i].after, &at), 0);
		if (at != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i, (long long)at,
			    (long long)cases[i].want);
	}
}

static void
test_meeting_rejected(void **state)
{
	struct fixture *f = *state;
	char *long_name = xmalloc(LEDGER_NAME_MAX + 2);
	char *huge_data = xmalloc(LEDGER_VALUE_MAX + 2);
	char got[64];

	memset(long_name, 'n', LEDGER_NAME_MAX + 1);
	long_name[LEDGER_NAME_MAX + 1] = '\0';
	memset(huge_data, ' ', LEDGER_VALUE_MAX + 1);
	huge_data[LEDGER_VALUE_MAX + 1] = '\0';
	{
#define C(key, mailbox, gid, response, data) \
	{ key, mailbox, gid, response, 1, 0, 1000, data }
		const struct {
			struct ledger_meeting_copy c;
			const char *why;
		} cases[] = {
			{ C(NULL, "a@c", "g", "accepted", "{}"), "meeting key is missing" },
			{ C("", "a@c", "g", "accepted", "{}"), "meeting key is missing" },
			{ C(long_name, "a@c", "g", "accepted", "{}"), "meeting key is longer" },
			{ C("m1", NULL, "g", "accepted", "{}"), "mailbox is missing" },
			{ C("m1", long_name, "g", "accepted", "{}"), "mailbox is longer" },
			{ C("m1", "a@c", "", "accepted", "{}"), "graph id is missing" },
			{ C("m1", "a@c", long_name, "accepted", "{}"), "graph id is longer" },
			{ C("m1", "a@c", "g", NULL, "{}"), "response is missing" },
			{ C("m1", "a@c", "g", long_name, "{}"), "response is longer" },
			{ C("m1", "a@c", "g", "accepted", NULL), "event data is missing" },
			{ C("m1", "a@c", "g", "accepted", huge_data), "event data is longer" },
		};
#undef C

		for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
			int changed = 42;

			if (ledger_meeting_copy_put(f->l, &cases[i].c, &changed) != -1)
				fail_msg("case %zu accepted", i);
			if (strstr(ledger_error(f->l), cases[i].why) == NULL)
				fail_msg("case %zu: error \"%s\", want \"%s\"", i,
				    ledger_error(f->l), cases[i].why);
			assert_int_equal(changed, 42);
		}
	}
	due_keys(f->l, 0, 10, got, sizeof(got));
	assert_string_equal(got, "");

	/* Just within the limits is fine. */
	long_name[LEDGER_NAME_MAX] = '\0';
	huge_data[LEDGER_VALUE_MAX] = '\0';
	{
		struct ledger_meeting_copy c = { long_name, long_name, long_name, long_name, 1, 0,
		    1000, huge_data };

		assert_int_equal(put(f->l, &c), 1);
		assert_int_equal(put(f->l, &c), 0);
	}
	long_name[LEDGER_NAME_MAX] = 'n';

	{
		struct ledger_meeting m = { .key = (char *)1 };
		int found = 42;

		assert_int_equal(ledger_meeting_get(f->l, "", &m), -1);
		assert_null(m.key);
		assert_int_equal(ledger_meeting_copy_remove(f->l, NULL, "g", &found), -1);
		assert_int_equal(ledger_meeting_copy_remove(f->l, "a@c", long_name, &found), -1);
		assert_int_equal(found, 42);
	}
	assert_int_equal(ledger_meeting_done(f->l, "m1", long_name, NULL, NULL, 0, NULL), -1);
	assert_non_null(strstr(ledger_error(f->l), "Salesforce event id is longer"));
	assert_int_equal(ledger_meeting_done(f->l, "m1", NULL, NULL, NULL, 0, long_name), -1);
	assert_non_null(strstr(ledger_error(f->l), "written digest is longer"));
	assert_int_equal(ledger_meeting_done(f->l, NULL, NULL, NULL, NULL, 0, NULL), -1);
	assert_int_equal(ledger_meeting_failed(f->l, "m1", "", LEDGER_FAIL_TEMP, 0, NULL), -1);
	assert_non_null(strstr(ledger_error(f->l), "error is missing"));
	assert_int_equal(ledger_meeting_failed(f->l, "m1", "x", (enum ledger_fail)9, 0, NULL), -1);
	assert_non_null(strstr(ledger_error(f->l), "bad failure class"));
	{
		int64_t at = -1;

		assert_int_equal(ledger_meeting_next_on(f->l, NULL, 0, &at), -1);
		assert_int_equal(at, 0);
	}
	assert_int_equal(ledger_opp_mark(f->l, ""), -1);
	assert_non_null(strstr(ledger_error(f->l), "opportunity id is missing"));
	assert_int_equal(ledger_opp_written(f->l, "006A", long_name), -1);
	assert_non_null(strstr(ledger_error(f->l), "next meeting value is longer"));
	free(long_name);
	free(huge_data);
}

/* Inside ledger_begin the meeting calls land with the page or not at all, and a refused one
 * undoes only itself. */
static void
test_meeting_rollback(void **state)
{
	struct fixture *f = *state;
	struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-1", "accepted", 1,
	    1000);
	struct ledger_meeting_copy bad = mcopy("m2", "alice@corp.test", "", "accepted", 1, 1000);
	struct ledger_meeting m;
	char *v;

	assert_int_equal(ledger_begin(f->l), 0);
	assert_int_equal(put(f->l, &c), 1);
	assert_int_equal(ledger_opp_mark(f->l, "006A"), 0);
	assert_int_equal(ledger_rollback(f->l), 0);
	assert_int_equal(ledger_meeting_get(f->l, "m1", &m), LEDGER_NOT_FOUND);
	assert_int_equal(ledger_opp_get(f->l, "006A", &v), LEDGER_NOT_FOUND);

	assert_int_equal(ledger_begin(f->l), 0);
	assert_int_equal(put(f->l, &c), 1);
	assert_int_equal(ledger_meeting_copy_put(f->l, &bad, NULL), -1);
	assert_int_equal(ledger_meeting_done(f->l, "m-unknown", NULL, NULL, NULL, 0, NULL), -1);
	mark_done(f->l, "m1");
	assert_int_equal(ledger_meeting_copy_remove(f->l, "alice@corp.test", "AAMk-1", NULL), 0);
	assert_int_equal(ledger_commit(f->l), 0);
	reopen(f);
	assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_PENDING);
	assert_int_equal(ledger_meeting_get(f->l, "m2", &m), LEDGER_NOT_FOUND);
}

/* The marked Opportunities. */
static void
opp_marked(struct ledger *l, size_t max, char *buf, size_t len)
{
	char **ids = (char **)1;
	size_t n = 99;

	if (ledger_opp_marked(l, max, &ids, &n) < 0)
		fail_msg("opp marked: %s", ledger_error(l));
	join_keys(ids, n, buf, len);
}

static void
test_opp_next(void **state)
{
	static const struct {
		const char	*op;		/* "mark" or "written" */
		const char	*id, *value;
		const char	*marked;	/* after the step */
		const char	*got;		/* ledger_opp_get of id after the step */
	} steps[] = {
		{ "mark", "006B", NULL, "006B", NULL },		/* known, never written */
		{ "mark", "006A", NULL, "006A,006B", NULL },
		{ "mark", "006B", NULL, "006A,006B", NULL },
		{ "written", "006B", "2026-03-02", "006A", "2026-03-02" },
		{ "written", "006C", "2026-04-01", "006A", "2026-04-01" },	/* never marked */
		{ "mark", "006B", NULL, "006A,006B", "2026-03-02" },	/* keeps its value */
		{ "written", "006A", NULL, "006B", NULL },		/* cleared */
		{ "written", "006B", "2026-03-09", "", "2026-03-09" },
	};
	static const struct {
		const char	*id;
		int		 rc;
		const char	*value;
	} after[] = {
		{ "006A", 0, NULL },
		{ "006B", 0, "2026-03-09" },
		{ "006C", 0, "2026-04-01" },
		{ "006D", LEDGER_NOT_FOUND, NULL },
	};
	struct fixture *f = *state;
	char got[128], *v = (char *)1;

	assert_int_equal(ledger_opp_get(f->l, "006A", &v), LEDGER_NOT_FOUND);
	assert_null(v);
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		int rc = strcmp(steps[i].op, "mark") == 0 ? ledger_opp_mark(f->l, steps[i].id) :
		    ledger_opp_written(f->l, steps[i].id, steps[i].value);

		if (rc != 0)
			fail_msg("step %zu: rc %d (%s)", i, rc, ledger_error(f->l));
		opp_marked(f->l, 10, got, sizeof(got));
		if (strcmp(got, steps[i].marked) != 0)
			fail_msg("step %zu: marked \"%s\", want \"%s\"", i, got, steps[i].marked);
		assert_int_equal(ledger_opp_get(f->l, steps[i].id, &v), 0);
		if (steps[i].got == NULL ? v != NULL : v == NULL || strcmp(v, steps[i].got) != 0)
			fail_msg("step %zu: value \"%s\", want \"%s\"", i, v ? v : "(none)",
			    steps[i].got ? steps[i].got : "(none)");
		free(v);
	}
	assert_int_equal(ledger_opp_mark(f->l, "006A"), 0);
	opp_marked(f->l, 1, got, sizeof(got));
	assert_string_equal(got, "006A");
	opp_marked(f->l, 0, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(ledger_opp_written(f->l, "006A", NULL), 0);
	reopen(f);
	for (size_t i = 0; i < ARRAY_LEN(after); i++) {
		int rc = ledger_opp_get(f->l, after[i].id, &v);

		if (rc != after[i].rc)
			fail_msg("%s: rc %d, want %d", after[i].id, rc, after[i].rc);
		if (after[i].value == NULL ? v != NULL :
		    v == NULL || strcmp(v, after[i].value) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", after[i].id, v ? v : "(none)",
			    after[i].value ? after[i].value : "(none)");
		free(v);
	}
}

/* user_version, and every table's name into tables (may be NULL). */
static int
schema(sqlite3 *db, char *tables, size_t len)
{
	sqlite3_stmt *st;
	int version;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM"
	    " pragma_user_version), group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
	    " WHERE type = 'table' ORDER BY name)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	version = sqlite3_column_int(st, 0);
	if (tables != NULL)
		snprintf(tables, len, "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	return version;
}

/* Claims left by a run that died are made stale at once, so the next claim is RECLAIMED (look
 * up first) instead of BUSY for ENGINE_LEAD_STALE; claims of this run, and set Leads, stay. */
static void
test_lead_orphan_claims(void **state)
{
	struct fixture *f = *state;
	enum ledger_lead res;
	long long count;
	char *id;

	assert_int_equal(ledger_lead_claim(f->l, "old@x.example", 1000, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_CLAIMED);
	assert_int_equal(ledger_lead_claim(f->l, "done@x.example", 1000, 3600, &res, &id), 0);
	assert_int_equal(ledger_lead_set(f->l, "done@x.example", "00Q000000000001"), 0);
	assert_int_equal(ledger_lead_claim(f->l, "mine@x.example", 2000, 3600, &res, &id), 0);
	assert_int_equal(ledger_lead_orphan_claims(f->l, 1500, &count), 0);
	assert_int_equal(count, 1);
	/* a minute later, far under stale_after */
	assert_int_equal(ledger_lead_claim(f->l, "old@x.example", 2060, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_RECLAIMED);
	assert_int_equal(ledger_lead_claim(f->l, "mine@x.example", 2060, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_BUSY);
	assert_int_equal(ledger_lead_claim(f->l, "done@x.example", 2060, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_KNOWN);
	assert_string_equal(id, "00Q000000000001");
	free(id);
}

/* The ledger holds webhook secrets (clientState): a new file and its WAL are private even under
 * a permissive umask. */
static void
test_file_mode(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	char wal[160];
	if (test_database_is_pg())
		skip();	/* a SQLite file's own property */

	assert_int_equal(ledger_kv_set(f->l, "k", "v"), 0);	/* the WAL exists after a write */
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

/* The page cache: SQLite's 2 MiB on every handle but the one that ingests and writes
 * (ledger_set_bulk: 8 MiB), so olsync run's six handles do not each fill 8 MiB; nothing to set on
 * PostgreSQL. */
static void
test_page_cache(void **state)
{
	struct fixture *f = *state;

	if (test_database_is_pg()) {
		assert_int_equal(ledger_set_bulk(f->l), 0);
		assert_int_equal(ledger_page_cache_kib(f->l), -1);
		return;
	}
	assert_int_equal(ledger_page_cache_kib(f->l), 2000);
	assert_int_equal(ledger_set_bulk(f->l), 0);
	assert_int_equal(ledger_page_cache_kib(f->l), 8192);
	reopen(f);	/* a new handle starts small again */
	assert_int_equal(ledger_page_cache_kib(f->l), 2000);
}

/* Live mail first: only messages received at or after since, in the usual order; a message
 * whose received time is unknown is never live, and since older than LEDGER_RECENT is refused
 * (only recent mail is indexed). Times are relative to now: recent means recent when recorded. */
static void
test_next_pending_since(void **state)
{
	static const struct {
		const char *key;
		int64_t age;	/* seconds before now it was received; -1: unknown */
	} msgs[] = {
		{ "<old@x>", 7200 }, { "<new1@x>", 100 }, { "<unknown@x>", -1 },
		{ "<new2@x>", 1000 }, { "<edge@x>", 2000 },
	};
	static const struct {
		int64_t ago;	/* since = now - ago; INT64_MIN: every message */
		size_t max;
		const char *want;	/* NULL: refused */
	} cases[] = {
		{ INT64_MIN, 10, "<old@x> <new1@x> <unknown@x> <new2@x> <edge@x>" },
		{ 2000, 10, "<new1@x> <new2@x> <edge@x>" },
		{ 1999, 10, "<new1@x> <new2@x>" },
		{ 500, 10, "<new1@x>" },
		{ 2000, 1, "<new1@x>" },
		{ -1000, 10, "" },
		{ LEDGER_RECENT, 10, "<new1@x> <new2@x> <edge@x>" },
		{ LEDGER_RECENT + 3600, 10, NULL },
	};
	struct fixture *f = *state;
	struct ledger_entry e[10];
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		struct ledger_msg m = { msgs[i].key, "ext", LEDGER_INBOUND,
		    msgs[i].age < 0 ? 0 : now - msgs[i].age, "alice@corp.test", "inbox",
		    msgs[i].key, NULL };

		assert_int_equal(ledger_record_sighting(f->l, &m, NULL), 0);
	}
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		int64_t since = cases[c].ago == INT64_MIN ? INT64_MIN : now - cases[c].ago;
		char got[256] = "";
		size_t n = 99;
		int rc = ledger_next_pending_since(f->l, now + 10, since, e, cases[c].max, &n);

		if (cases[c].want == NULL) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(ledger_error(f->l), "older than the recent index"));
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		for (size_t i = 0; i < n; i++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			    i ? " " : "", e[i].key);
			ledger_entry_clear(&e[i]);
		}
		if (strcmp(got, cases[c].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", c, got, cases[c].want);
	}
}

/* The API call buckets: added to (negative amounts floor at 0), pruned, listed from a time on,
 * and kept across a reopen. */
static void
test_api_buckets(void **state)
{
	static const struct {
		int64_t at;
		long long calls;
		int64_t prune;
	} adds[] = {
		{ 60, 5, 0 }, { 120, 3, 0 }, { 60, 2, 0 }, { 180, -4, 0 }, { 120, -10, 0 },
		{ 240, 7, 0 }, { 300, 1, 100 },
	};
	struct fixture *f = *state;
	struct ledger_api_bucket *v;
	char got[128] = "";
	size_t n;

	for (size_t i = 0; i < ARRAY_LEN(adds); i++)
		assert_int_equal(ledger_api_add(f->l, adds[i].at, adds[i].calls, adds[i].prune), 0);
	reopen(f);
	/* 60 was pruned (before 100), 120 and 180 hold nothing. */
	assert_int_equal(ledger_api_buckets(f->l, 0, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld:%lld", i ? " " : "",
		    (long long)v[i].at, v[i].calls);
	free(v);
	assert_string_equal(got, "240:7 300:1");
	assert_int_equal(ledger_api_buckets(f->l, 241, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].at, 300);
	free(v);
}

/* A backfill's position per folder and range: unknown until set, then as last set (one range
 * does not see another's), kept across a reopen; a link over the limit is refused. */
static void
test_backfill_position(void **state)
{
	static const struct {
		const char *folder;
		int64_t since, until;
		const char *link;
		int done;
		long long pages;
	} sets[] = {
		{ "inbox", 100, 200, "https://g/p2", 0, 1 },
		{ "inbox", 100, 300, "https://g/other", 0, 4 },
		{ "inbox", 100, 200, NULL, 1, 2 },
		{ "sentitems", 100, 200, "https://g/s2", 0, 1 },
	};
	static const struct {
		const char *folder;
		int64_t since, until;
		int found;
		const char *link;
		int done;
		long long pages;
	} gets[] = {
		{ "inbox", 100, 200, 0, NULL, 1, 2 },
		{ "inbox", 100, 300, 0, "https://g/other", 0, 4 },
		{ "sentitems", 100, 200, 0, "https://g/s2", 0, 1 },
		{ "sentitems", 100, 300, 1, NULL, 0, 0 },
		{ "inbox", 101, 200, 1, NULL, 0, 0 },
	};
	struct fixture *f = *state;
	struct ledger_backfill b;
	char *huge;

	assert_int_equal(ledger_backfill_get(f->l, "a@x.test", "inbox", 100, 200, &b), 1);
	for (size_t i = 0; i < ARRAY_LEN(sets); i++) {
		struct ledger_backfill s = { (char *)sets[i].link, sets[i].done, sets[i].pages,
		    sets[i].pages * 10, 0 };

		assert_int_equal(ledger_backfill_set(f->l, "a@x.test", sets[i].folder,
		    sets[i].since, sets[i].until, &s), 0);
	}
	reopen(f);
	for (size_t i = 0; i < ARRAY_LEN(gets); i++) {
		assert_int_equal(ledger_backfill_get(f->l, "a@x.test", gets[i].folder, gets[i].since,
		    gets[i].until, &b), gets[i].found);
		if (gets[i].link == NULL)
			assert_null(b.link);
		else
			assert_string_equal(b.link, gets[i].link);
		assert_int_equal(b.done, gets[i].done);
		assert_int_equal(b.pages, gets[i].pages);
		assert_int_equal(b.messages, gets[i].pages * 10);
		ledger_backfill_clear(&b);
	}
	huge = xmalloc(LEDGER_LINK_MAX + 2);
	memset(huge, 'l', LEDGER_LINK_MAX + 1);
	huge[LEDGER_LINK_MAX + 1] = '\0';
	b.link = huge;
	assert_int_equal(ledger_backfill_set(f->l, "a@x.test", "inbox", 1, 2, &b), -1);
	free(huge);
}

/* Every table of the current schema, by name. */
#define SCHEMA_NOW	8	/* the ledger's user_version after every migration */
#define ALL_TABLES	"api_calls backfills delta_state dirty_folders kv lead_claims leases" \
	" meeting_copies meetings messages opp_next rr_cursors sightings subscriptions"

/* Closes f's ledger and rebuilds it as schema version `version` left it: migrations are only ever
 * appended, so dropping what the later ones made, newest first, and setting the version number
 * back is that ledger exactly. */
static void
downgrade(struct fixture *f, int version)
{
	static const char *const made_by[] = {	/* made_by[v - 1]: what migration v made */
		NULL,
		"DROP TABLE subscriptions; DROP TABLE dirty_folders;",
		"DROP TABLE meeting_copies; DROP TABLE meetings; DROP TABLE opp_next;",
		"ALTER TABLE messages DROP COLUMN data;",
		"DROP TABLE api_calls; DROP INDEX messages_open_received;",
		"DROP TABLE backfills;",
		"DROP INDEX messages_open_recent; ALTER TABLE messages DROP COLUMN recent;"
		" CREATE INDEX messages_ext_id ON messages (ext_id);"
		" CREATE INDEX messages_open_received ON messages (received_at)"
		"  WHERE state IN ('pending', 'failed');",
		"DROP TABLE leases; DROP INDEX messages_lease;"
		" ALTER TABLE messages DROP COLUMN lease_owner;"
		" ALTER TABLE messages DROP COLUMN lease_until;"
		" ALTER TABLE lead_claims DROP COLUMN owner;",
	};
	char sql[64];
	sqlite3 *db;

	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	/* A migration added without its line above fails here, not in a puzzling way later. */
	assert_int_equal(schema(db, NULL, 0), (int)ARRAY_LEN(made_by));
	for (int v = (int)ARRAY_LEN(made_by); v > version; v--)
		if (sqlite3_exec(db, made_by[v - 1], NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("undo migration %d: %s", v, sqlite3_errmsg(db));
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_migrate_v1(void **state)
{
	struct fixture *f = *state;
	struct ledger_sub s = sub("sub-1", "alice@corp.test", "inbox", 5000), got;
	char tables[256] = "", ids[64];
	sqlite3 *db;
	if (test_database_is_pg())
		skip();	/* the old ledger is made with SQLite's own calls */

	/* A ledger made before subscriptions existed gains them on open and keeps what it held. */
	record(f->l, "<old@x>", "alice@corp.test", "inbox", "g1");
	downgrade(f, 1);
	reopen(f);
	assert_int_equal(state_of(f->l, "<old@x>"), LEDGER_PENDING);
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	assert_int_equal(ledger_dirty_mark(f->l, "alice@corp.test", "inbox", 10), 0);
	reopen(f);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-1");
	assert_int_equal(ledger_sub_get(f->l, "sub-1", &got), 0);
	ledger_sub_clear(&got);
	dirty_marks(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "alice@corp.test/inbox@1");

	/* The version moved on, and the new tables are the only ones added. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_true(schema(db, tables, sizeof(tables)) > 1);
	sqlite3_close(db);
	assert_string_equal(tables, ALL_TABLES);
}

/* A ledger made before meetings existed (version 2) gains them on open and keeps what it held. */
static void
test_migrate_v2(void **state)
{
	struct fixture *f = *state;
	struct ledger_sub s = sub("sub-1", "alice@corp.test", "events", 5000);
	struct ledger_meeting_copy c = mcopy("m1", "alice@corp.test", "AAMk-ev-1", "accepted",
	    1, 1000);
	char tables[256] = "", ids[64], *v;
	sqlite3 *db;
	if (test_database_is_pg())
		skip();	/* the old ledger is made with SQLite's own calls */

	record(f->l, "<old@x>", "alice@corp.test", "inbox", "g1");
	assert_int_equal(ledger_sub_put(f->l, &s), 0);
	downgrade(f, 2);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(schema(db, tables, sizeof(tables)), 2);
	sqlite3_close(db);
	assert_null(strstr(tables, "meeting"));

	reopen(f);
	assert_int_equal(state_of(f->l, "<old@x>"), LEDGER_PENDING);
	sub_ids(f->l, ids, sizeof(ids));
	assert_string_equal(ids, "sub-1");
	assert_int_equal(put(f->l, &c), 1);
	assert_int_equal(ledger_opp_mark(f->l, "006A"), 0);
	reopen(f);
	assert_int_equal(msync_of(f->l, "m1"), LEDGER_MEETING_PENDING);
	assert_int_equal(ledger_opp_get(f->l, "006A", &v), 0);
	assert_null(v);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(schema(db, tables, sizeof(tables)), SCHEMA_NOW);
	sqlite3_close(db);
	assert_string_equal(tables, ALL_TABLES);
}

/* A ledger made before messages kept their copy (version 3): its open rows read with none (the
 * engine fetches those from Graph), and a sighting of one gives it the copy. */
static void
test_migrate_v3(void **state)
{
	struct fixture *f = *state;
	char data[64];
	if (test_database_is_pg())
		skip();	/* the old ledger is made with SQLite's own calls */

	record_data(f->l, "<old@x>", "alice@corp.test", "inbox", "g1", "{\"subject\":\"a\"}");
	record_data(f->l, "<done@x>", "alice@corp.test", "inbox", "g2", "{\"subject\":\"b\"}");
	assert_int_equal(ledger_mark_logged(f->l, "<done@x>", NULL), 0);
	downgrade(f, 3);
	reopen(f);
	assert_int_equal(state_of(f->l, "<old@x>"), LEDGER_PENDING);
	data_of(f->l, "<old@x>", data, sizeof(data));
	assert_string_equal(data, "");
	/* A replay of the same copy (a 410 restart) or another copy brings it. */
	assert_int_equal(record_data(f->l, "<old@x>", "alice@corp.test", "inbox", "g1",
	    "{\"subject\":\"a2\"}"), LEDGER_SEEN_AGAIN);
	data_of(f->l, "<old@x>", data, sizeof(data));
	assert_string_equal(data, "{\"subject\":\"a2\"}");
	/* Not to a message that is done. */
	assert_int_equal(record_data(f->l, "<done@x>", "bob@corp.test", "inbox", "g3",
	    "{\"subject\":\"b2\"}"), LEDGER_SEEN_COPY);
	data_of(f->l, "<done@x>", data, sizeof(data));
	assert_string_equal(data, "");
}

/* A ledger from before the recent index: its open messages are all reachable by a live-only
 * pass (marked recent), finished ones are not marked, and the digest still finds a message
 * without its index. */
static void
test_migrate_v6(void **state)
{
	struct fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	struct ledger_msg open_m = { "<open@x>", "d-open", LEDGER_INBOUND, now - 60,
	    "alice@corp.test", "inbox", "g1", NULL };
	struct ledger_msg done_m = { "<done@x>", "d-done", LEDGER_INBOUND, now - 60,
	    "alice@corp.test", "inbox", "g2", NULL };
	struct ledger_entry e[4];
	size_t n = 99;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (test_database_is_pg())
		skip();	/* the old ledger is made with SQLite's own calls */
	assert_int_equal(ledger_record_sighting(f->l, &open_m, NULL), 0);
	assert_int_equal(ledger_record_sighting(f->l, &done_m, NULL), 0);
	assert_int_equal(ledger_mark_logged(f->l, "<done@x>", NULL), 0);
	downgrade(f, 6);
	reopen(f);
	assert_int_equal(ledger_next_pending_since(f->l, now + 10, now - 600, e, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].key, "<open@x>");
	ledger_entry_clear(&e[0]);
	assert_int_equal(ledger_get_by_ext_id(f->l, "d-done", &e[0]), 0);
	assert_string_equal(e[0].key, "<done@x>");
	ledger_entry_clear(&e[0]);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(key || '=' || recent, ' ')"
	    " FROM (SELECT key, recent FROM messages ORDER BY key)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "<done@x>=0 <open@x>=1");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The copy: kept from the first sighting that had one, read back with the entry, kept while
 * the message is pending or failed, dropped when it is logged, skipped or dead (however it got
 * there), and not back after `olsync retry`. */
static void
test_stored_copy(void **state)
{
	static const struct {
		const char *key;
		enum end how;
		const char *left;	/* the copy afterwards */
	} msgs[] = {
		{ "<c0@x>", END_LOGGED, "" }, { "<c1@x>", END_SKIPPED, "" },
		{ "<c2@x>", END_DEAD_HAND, "" }, { "<c3@x>", END_DEAD_FINAL, "" },
		{ "<c4@x>", END_DEAD_ATTEMPTS, "" },
		{ "<c5@x>", END_FAILED, "{\"k\":\"<c5@x>\"}" },
		{ "<c6@x>", END_WAIT, "{\"k\":\"<c6@x>\"}" },
	};
	struct fixture *f = *state;
	struct ledger_entry e[8];
	char data[64], want[64];
	long long count;
	size_t n;

	ledger_set_max_attempts(f->l, 2);
	/* The first copy with data is kept: not a NULL, nor a later one. */
	record(f->l, "<first@x>", "alice@corp.test", "inbox", "g0");
	record_data(f->l, "<first@x>", "bob@corp.test", "inbox", "g1", "{\"v\":1}");
	record_data(f->l, "<first@x>", "carol@corp.test", "sentitems", "g2", "{\"v\":2}");
	data_of(f->l, "<first@x>", data, sizeof(data));
	assert_string_equal(data, "{\"v\":1}");
	assert_int_equal(ledger_next_pending(f->l, 100, e, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].data, "{\"v\":1}");
	ledger_entry_clear(&e[0]);
	assert_int_equal(ledger_mark_logged(f->l, "<first@x>", NULL), 0);

	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		const char *k = msgs[i].key;

		snprintf(want, sizeof(want), "{\"k\":\"%s\"}", k);
		record_data(f->l, k, "alice@corp.test", "inbox", k, want);
		end_as(f->l, k, msgs[i].how);
		data_of(f->l, k, data, sizeof(data));
		if (strcmp(data, msgs[i].left) != 0)
			fail_msg("%s (how %d): copy \"%s\", want \"%s\"", k, (int)msgs[i].how,
			    data, msgs[i].left);
	}
	assert_int_equal(ledger_retry_dead(f->l, NULL, &count), 0);
	assert_int_equal(count, 3);
	data_of(f->l, "<c2@x>", data, sizeof(data));
	assert_string_equal(data, "");
	assert_int_equal(state_of(f->l, "<c2@x>"), LEDGER_PENDING);
}

/* Skip reasons counted by their token (before ':'), most first, ties by name; other states and
 * a dead message's reason do not count. */
static void
test_skip_reasons(void **state)
{
	static const struct {
		const char *reason;	/* NULL: logged; "!x": dead with reason x */
	} rows[] = {
		{ "internal_only" }, { "automated: List-Unsubscribe" }, { "automated: Precedence bulk" },
		{ "unmatched" }, { "automated" }, { NULL }, { "!automated: not a skip" },
		{ "unmatched" }, { "sensitivity: private" },
	};
	static const struct {
		const char *reason;
		long long n;
	} want[] = {
		{ "automated", 3 }, { "unmatched", 2 }, { "internal_only", 1 }, { "sensitivity", 1 },
	};
	struct fixture *f = *state;
	struct ledger_reason_count *v;
	size_t n;

	assert_int_equal(ledger_skip_reasons(f->l, &v, &n), 0);
	assert_int_equal(n, 0);
	ledger_reason_counts_free(v, n);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char key[32], gid[32];

		snprintf(key, sizeof(key), "<r%zu@x>", i);
		snprintf(gid, sizeof(gid), "g%zu", i);
		record(f->l, key, "alice@corp.test", "inbox", gid);
		if (rows[i].reason == NULL)
			assert_int_equal(ledger_mark_logged(f->l, key, NULL), 0);
		else if (rows[i].reason[0] == '!')
			assert_int_equal(ledger_mark_dead(f->l, key, rows[i].reason + 1), 0);
		else
			assert_int_equal(ledger_mark_skipped(f->l, key, rows[i].reason), 0);
	}
	assert_int_equal(ledger_skip_reasons(f->l, &v, &n), 0);
	assert_int_equal(n, ARRAY_LEN(want));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].reason, want[i].reason) != 0 || v[i].n != want[i].n)
			fail_msg("row %zu: %s %lld, want %s %lld", i, v[i].reason, v[i].n,
			    want[i].reason, want[i].n);
	}
	ledger_reason_counts_free(v, n);
}

/* One statement renews every unexpired mailbox lease of an owner: not another owner's, not its
 * other kinds, not one that ran out (another instance may have it), and says which. */
static void
test_lease_renew_owned(void **state)
{
	static const struct {
		const char *name, *owner;
		int64_t at;	/* taken at (ms), for 3000 ms */
	} leases[] = {
		{ "mailbox:a", "i0", 10000 }, { "mailbox:b", "i0", 10000 },
		{ "mailbox:c", "i1", 10000 }, { "mailbox:d", "i0", 5000 },
		{ "instance:i0", "i0", 10000 }, { "mailboy:z", "i0", 10000 },
	};
	struct fixture *f = *state;
	struct ledger_lease *v;
	char got[256] = "", **names;
	size_t n;
	int held;

	for (size_t i = 0; i < ARRAY_LEN(leases); i++) {
		assert_int_equal(ledger_lease_take(f->l, leases[i].name, leases[i].owner,
		    leases[i].at, 3000, &held), 0);
		assert_int_equal(held, 1);
	}
	assert_int_equal(ledger_lease_renew_owned(f->l, "i0", "mailbox:", 12000, 3000, &names,
	    &n), 0);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
		    names[i]);
	ledger_keys_free(names, n);
	/* in no particular order */
	assert_true(strcmp(got, "mailbox:a mailbox:b") == 0 ||
	    strcmp(got, "mailbox:b mailbox:a") == 0);
	assert_int_equal(ledger_lease_list(f->l, &v, &n), 0);
	got[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%lld", i ? " " : "",
		    v[i].name, (long long)v[i].expires_at);
	ledger_leases_free(v, n);
	assert_string_equal(got, "instance:i0=13000 mailbox:a=15000 mailbox:b=15000"
	    " mailbox:c=13000 mailbox:d=8000 mailboy:z=13000");
	/* nothing of i2's */
	assert_int_equal(ledger_lease_renew_owned(f->l, "i2", "mailbox:", 12000, 3000, &names,
	    &n), 0);
	assert_int_equal(n, 0);
	ledger_keys_free(names, n);
}

/* Leases: one statement takes a free or expired lease or renews one's own, and refuses a live
 * lease of another owner, on two handles as two instances would. */
static void
test_leases(void **state)
{
	struct fixture *f = *state;
	struct ledger *b;
	struct ledger_lease *v;
	char err[256];
	size_t n;
	int held;

	assert_int_equal(ledger_open(f->path, &b, err, sizeof(err)), 0);
	assert_int_equal(ledger_lease_take(f->l, "mailbox:a", "i0", 10000, 3000, &held), 0);
	assert_int_equal(held, 1);
	/* live, another's: refused, and left as it was */
	assert_int_equal(ledger_lease_take(b, "mailbox:a", "i1", 12999, 3000, &held), 0);
	assert_int_equal(held, 0);
	/* ours: renewed */
	assert_int_equal(ledger_lease_take(f->l, "mailbox:a", "i0", 12000, 3000, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(ledger_lease_take(b, "mailbox:a", "i1", 14999, 3000, &held), 0);
	assert_int_equal(held, 0);
	/* expired (i0 stopped renewing at 12000): taken over */
	assert_int_equal(ledger_lease_take(b, "mailbox:a", "i1", 15000, 3000, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(ledger_lease_take(f->l, "mailbox:a", "i0", 15001, 3000, &held), 0);
	assert_int_equal(held, 0);
	/* a drop by another owner changes nothing; by the holder frees it */
	assert_int_equal(ledger_lease_drop(f->l, "mailbox:a", "i0"), 0);
	assert_int_equal(ledger_lease_take(f->l, "mailbox:a", "i0", 15002, 3000, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(ledger_lease_drop(b, "mailbox:a", "i1"), 0);
	assert_int_equal(ledger_lease_take(f->l, "mailbox:a", "i0", 15003, 3000, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(ledger_lease_take(b, "instance:i1", "i1", 15003, 3000, &held), 0);
	assert_int_equal(ledger_lease_list(f->l, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "instance:i1");
	assert_string_equal(v[1].name, "mailbox:a");
	assert_string_equal(v[1].owner, "i0");
	assert_int_equal(v[1].expires_at, 18003);
	ledger_leases_free(v, n);
	/* rejected: no name, an owner longer than an instance name */
	assert_int_equal(ledger_lease_take(f->l, "", "i0", 1, 1, &held), -1);
	assert_int_equal(ledger_lease_take(f->l, "x",
	    "0123456789012345678901234567890123456789012345678901234567890123456789", 1, 1,
	    &held), -1);
	ledger_close(b);
}

/* Claims: two instances take disjoint batches; a claim that ran out is taken by another; an
 * outcome mark clears it; release gives back what was not decided. */
static void
test_claims(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry e[8];
	struct ledger *b;
	char key[32], err[256];
	size_t n, m, i;
	long long count;
	int any;

	assert_int_equal(ledger_open(f->path, &b, err, sizeof(err)), 0);
	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "<c%zu@x>", i);
		record(f->l, key, "a@contoso.com", "inbox", key);
	}
	assert_int_equal(ledger_claim_pending(f->l, "i0", 100, INT64_MIN, 130, e, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(e[0].key, "<c0@x>");
	for (i = 0; i < n; i++)
		ledger_entry_clear(&e[i]);
	/* the other instance gets the other two only */
	assert_int_equal(ledger_claim_pending(b, "i1", 100, INT64_MIN, 130, e, 8, &m), 0);
	assert_int_equal(m, 2);
	assert_string_equal(e[0].key, "<c4@x>");
	assert_string_equal(e[1].key, "<c5@x>");
	for (i = 0; i < m; i++)
		ledger_entry_clear(&e[i]);
	assert_int_equal(ledger_claimable(b, 100, &any), 0);
	assert_int_equal(any, 0);
	/* i1 logs one and gives the other back; i0 dies with its four claimed */
	assert_int_equal(ledger_mark_logged(b, "<c4@x>", NULL), 0);
	assert_int_equal(ledger_claims_release(b, "i1", &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(ledger_claim_pending(b, "i1", 120, INT64_MIN, 150, e, 8, &m), 0);
	assert_int_equal(m, 1);
	assert_string_equal(e[0].key, "<c5@x>");
	ledger_entry_clear(&e[0]);
	/* at 130 i0's claims ran out: i1 takes them */
	assert_int_equal(ledger_claimable(b, 129, &any), 0);
	assert_int_equal(any, 0);
	assert_int_equal(ledger_claimable(b, 130, &any), 0);
	assert_int_equal(any, 1);
	assert_int_equal(ledger_claim_pending(b, "i1", 130, INT64_MIN, 160, e, 8, &m), 0);
	assert_int_equal(m, 5);
	for (i = 0; i < m; i++)
		ledger_entry_clear(&e[i]);
	ledger_close(b);
}

/* Renewed claims: a batch kept past its first lease_until is not taken by another instance;
 * a renewal never shortens a claim, and touches no one else's and no released one. */
static void
test_claims_renew(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry e[8];
	char key[32];
	size_t n, i;
	long long count;
	int any;

	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "<r%zu@x>", i);
		record(f->l, key, "a@contoso.com", "inbox", key);
	}
	assert_int_equal(ledger_claim_pending(f->l, "i0", 100, INT64_MIN, 130, e, 4, &n), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		ledger_entry_clear(&e[i]);
	assert_int_equal(ledger_claim_pending(f->l, "i1", 100, INT64_MIN, 130, e, 8, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		ledger_entry_clear(&e[i]);
	/* i0 is still writing at 125: its four are claimed until 160, i1's two are not */
	assert_int_equal(ledger_claims_renew(f->l, "i0", 160, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(ledger_claims_renew(f->l, "i0", 150, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(ledger_claim_pending(f->l, "i2", 140, INT64_MIN, 170, e, 8, &n), 0);
	assert_int_equal(n, 2);	/* i1's, run out at 130 */
	assert_string_equal(e[0].key, "<r4@x>");
	for (i = 0; i < n; i++)
		ledger_entry_clear(&e[i]);
	assert_int_equal(ledger_claimable(f->l, 159, &any), 0);
	assert_int_equal(any, 0);
	/* i0 logs one and gives the rest back: nothing of it is left to renew */
	assert_int_equal(ledger_mark_logged(f->l, "<r0@x>", NULL), 0);
	assert_int_equal(ledger_claims_release(f->l, "i0", &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(ledger_claims_renew(f->l, "i0", 200, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(ledger_claim_pending(f->l, "i1", 141, INT64_MIN, 171, e, 8, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		ledger_entry_clear(&e[i]);
	assert_int_equal(ledger_claims_renew(f->l, "", 200, &count), -1);
}

/* The budget reserved only while the calls of every instance leave room. */
static void
test_api_reserve(void **state)
{
	struct fixture *f = *state;
	int granted;

	assert_int_equal(ledger_api_reserve(f->l, 600, 6, 0, 20, 0, &granted), 0);
	assert_int_equal(granted, 1);
	assert_int_equal(ledger_api_reserve(f->l, 660, 6, 0, 20, 0, &granted), 0);
	assert_int_equal(granted, 1);
	assert_int_equal(ledger_api_reserve(f->l, 660, 6, 0, 20, 0, &granted), 0);
	assert_int_equal(granted, 1);
	/* 18 counted: 6 more would pass 20 */
	assert_int_equal(ledger_api_reserve(f->l, 720, 6, 0, 20, 0, &granted), 0);
	assert_int_equal(granted, 0);
	/* the bucket at 600 is out of the window from 601 */
	assert_int_equal(ledger_api_reserve(f->l, 720, 6, 601, 20, 0, &granted), 0);
	assert_int_equal(granted, 1);
	/* no limit known: counted */
	assert_int_equal(ledger_api_reserve(f->l, 720, 100, 0, -1, 0, &granted), 0);
	assert_int_equal(granted, 1);
}

/* A Lead claim carries its instance; only the claims of instances without a live heartbeat
 * lease are freed. */
static void
test_lead_orphans_of_dead(void **state)
{
	struct fixture *f = *state;
	enum ledger_lead res;
	long long count;
	int held;
	char *id;

	ledger_set_owner(f->l, "live");
	assert_int_equal(ledger_lead_claim(f->l, "a@x.example", 1000, 3600, &res, &id), 0);
	ledger_set_owner(f->l, "dead");
	assert_int_equal(ledger_lead_claim(f->l, "b@x.example", 1000, 3600, &res, &id), 0);
	assert_int_equal(ledger_lease_take(f->l, "instance:live", "live", 5000, 3000, &held), 0);
	assert_int_equal(ledger_lease_take(f->l, "instance:dead", "dead", 1000, 3000, &held), 0);
	assert_int_equal(ledger_lead_orphans_of_dead(f->l, 6000, &count), 0);
	assert_int_equal(count, 1);
	ledger_set_owner(f->l, "other");
	assert_int_equal(ledger_lead_claim(f->l, "b@x.example", 1060, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_RECLAIMED);
	assert_int_equal(ledger_lead_claim(f->l, "a@x.example", 1060, 3600, &res, &id), 0);
	assert_int_equal(res, LEDGER_LEAD_BUSY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postgresql_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_mailboxes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sighting_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_failed_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_pending_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backfill_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sf_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sub_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_ever_attending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_started_retry_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_two_reps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_copy_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_next_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opp_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lead_orphan_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_renew_owned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lead_orphans_of_dead, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
