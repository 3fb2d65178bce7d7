/* test_migrate_db.c: `olsync migrate-database FILE URI`: a SQLite ledger filled through ledger.h
 * (every table holds rows, NULLs and large numbers among them) copied into a fresh PostgreSQL
 * database, then every table compared row by row; a second run into the now full database is
 * refused and changes nothing; a new message after the copy gets an id past the copied ones.
 * Needs the suite's PostgreSQL (OL_TEST_PG_URL_FILE, ctest's test_migrate_db_pg); skipped with a
 * line without it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "ledger.h"
#include "ledger_copy.h"
#include "store.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

static char dir[PATH_MAX];

/* A ledger with rows in each of its tables. */
static void
fill(const char *path)
{
	struct ledger *l;
	struct ledger_sf_ids ids = { .task_id = "00T000000000001AAA", .who_id = "003000000000001AAA" };
	struct ledger_sub sub = { .id = "sub-1", .mailbox = "alice@contoso.com", .kind = "inbox",
	    .client_state = "cs-0123456789abcdef0123456789abcdef",
	    .notification_url = "https://olsync.example.com/hook", .expires_at = 4102444800LL,
	    .created_at = 1700000000, .renewed_at = 1700000100 };
	struct ledger_meeting_copy mc = { .key = "meeting-1", .mailbox = "alice@contoso.com",
	    .graph_id = "AAMk-event-1", .response = "accepted", .attending = 1,
	    .start_at = 1800000000, .data = "{\"subject\":\"Q3 review\"}" };
	struct ledger_backfill bf = { .link = NULL, .done = 1, .pages = 3, .messages = 250 };
	enum ledger_seen seen;
	enum ledger_lead lead;
	char err[512], *lead_id;
	struct ledger_entry claimed[2];
	size_t idx;
	int changed, held;

	if (ledger_open(path, &l, err, sizeof(err)) == -1)
		fail_msg("ledger_open %s: %s", path, err);
	for (int i = 0; i < 5; i++) {
		char key[64], ext[64], gid[64];
		struct ledger_msg m = { .key = key, .ext_id = ext, .dir = i % 2 ? LEDGER_OUTBOUND :
		    LEDGER_INBOUND, .received_at = 1700000000 + i, .mailbox = "alice@contoso.com",
		    .folder = i % 2 ? "sentitems" : "inbox", .graph_id = gid,
		    .data = i == 0 ? NULL : "{\"subject\":\"it's \\\"quoted\\\" ? ok\"}" };

		snprintf(key, sizeof(key), "<m%d@fabrikam.com>", i);
		snprintf(ext, sizeof(ext), "ext%d", i);
		snprintf(gid, sizeof(gid), "AAMk-%d", i);
		assert_int_equal(ledger_record_sighting(l, &m, &seen), 0);
	}
	assert_int_equal(ledger_mark_logged(l, "<m1@fabrikam.com>", &ids), 0);
	assert_int_equal(ledger_mark_skipped(l, "<m2@fabrikam.com>", "no known contact"), 0);
	assert_int_equal(ledger_delta_set(l, "alice@contoso.com", "inbox", "https://graph/delta?x=1",
	    1690000000), 0);
	assert_int_equal(ledger_delta_set(l, "alice@contoso.com", "sentitems", NULL, 1690000000), 0);
	assert_int_equal(ledger_lead_claim(l, "new@example.org", 1700000000, 300, &lead,
	    &lead_id), 0);
	free(lead_id);
	assert_int_equal(ledger_lead_set(l, "new@example.org", "00Q000000000001AAA"), 0);
	assert_int_equal(ledger_rr_next(l, "pool-a", 3, &idx), 0);
	assert_int_equal(ledger_kv_set(l, "tenant", "contoso.com"), 0);
	assert_int_equal(ledger_sub_put(l, &sub), 0);
	assert_int_equal(ledger_dirty_mark(l, "alice@contoso.com", "inbox", 1700000200), 0);
	assert_int_equal(ledger_meeting_copy_put(l, &mc, &changed), 0);
	assert_int_equal(ledger_meeting_done(l, "meeting-1", "00U000000000001AAA",
	    "006000000000001AAA", "alice@contoso.com", 1800000000, "2027-01-15"), 0);
	assert_int_equal(ledger_opp_mark(l, "006000000000001AAA"), 0);
	assert_int_equal(ledger_api_add(l, 1700000000, 42, 0), 0);
	assert_int_equal(ledger_backfill_set(l, "alice@contoso.com", "inbox", 1600000000,
	    INT64_C(1700000000), &bf), 0);
	/* several instances: a lease, a claimed batch, a Lead claim with its owner */
	assert_int_equal(ledger_lease_take(l, "mailbox:alice@contoso.com", "olsync-a",
	    INT64_C(1700000000000), 30000, &held), 0);
	assert_int_equal(held, 1);
	ledger_set_owner(l, "olsync-a");
	assert_int_equal(ledger_lead_claim(l, "other@example.org", 1700000000, 300, &lead,
	    &lead_id), 0);
	free(lead_id);
	assert_int_equal(ledger_claim_pending(l, "olsync-a", 1700000300, INT64_MIN, 1700000330,
	    claimed, 2, &idx), 0);
	assert_int_equal(idx, 2);
	ledger_entry_clear(&claimed[0]);
	ledger_entry_clear(&claimed[1]);
	ledger_close(l);
}

/* Every row of table in a (SQLite) and b (PostgreSQL), in one order, column by column as text;
 * the sightings' order too (SQLite's rowid, PostgreSQL's seq, after the other columns). */
static void
same_table(struct store *a, struct store *b, const char *table)
{
	int sightings = strcmp(table, "sightings") == 0;
	char *sql = xasprintf("SELECT *%s FROM %s ORDER BY %s", sightings ? ", rowid" : "",
	    table, sightings ? "2, 4" : "1, 2");
	char *sql_pg = xasprintf("SELECT * FROM %s ORDER BY %s", table, sightings ? "2, 4" :
	    "1, 2");
	struct store_stmt *sa = store_prepare(a, sql), *sb = store_prepare(b, sql_pg);
	int ra, rb, rows = 0;

	for (;;) {
		ra = store_step(sa);
		rb = store_step(sb);
		assert_int_equal(ra, rb);
		if (ra != STORE_ROW)
			break;
		rows++;
		/* every column the copy knows: the tables have at most 18 */
		for (int c = 0; c < 18; c++) {
			const char *va = store_column_text(sa, c), *vb = store_column_text(sb, c);

			if ((va == NULL) != (vb == NULL) || (va != NULL && strcmp(va, vb) != 0))
				fail_msg("%s row %d column %d: \"%s\" and \"%s\"", table, rows, c,
				    va != NULL ? va : "NULL", vb != NULL ? vb : "NULL");
		}
	}
	assert_int_equal(ra, STORE_DONE);
	if (rows == 0)
		fail_msg("%s: no rows to compare (the fill left it empty)", table);
	store_finalize(sa);
	store_finalize(sb);
	free(sql);
	free(sql_pg);
}

static void
test_migrate_database(void **state)
{
	char *src = xasprintf("%s/ledger.db", dir), *dst = test_database(dir, "migrated");
	char *conf, *out = NULL, *err = NULL, msg[512];
	struct store *a, *b;
	struct ledger *l;
	struct ledger_msg m = { .key = "<after@fabrikam.com>", .ext_id = "after",
	    .mailbox = "alice@contoso.com", .folder = "inbox", .graph_id = "AAMk-after" };
	enum ledger_seen seen;

	(void)state;
	assert_non_null(dst);
	fill(src);
	conf = e2e_config_write(dir, "http://127.0.0.1:9", "http://127.0.0.1:9",
	    "alice@contoso.com", NULL);
	assert_int_equal(e2e_run(dir, &out, &err, "-c", conf, "migrate-database", src, dst, NULL),
	    0);
	for (size_t i = 0; ledger_copy_table(i) != NULL; i++) {
		char *line = xasprintf("%s ", ledger_copy_table(i));

		assert_non_null(strstr(out, line));
		free(line);
	}
	assert_non_null(strstr(out, "messages         5\n"));
	free(out);
	free(err);

	assert_int_equal(store_open(src, NULL, &a, msg, sizeof(msg)), 0);
	assert_int_equal(store_open(dst, NULL, &b, msg, sizeof(msg)), 0);
	for (size_t i = 0; ledger_copy_table(i) != NULL; i++)
		same_table(a, b, ledger_copy_table(i));
	store_close(a);
	store_close(b);

	/* again: the destination is not empty, nothing changes */
	assert_int_equal(e2e_run(dir, &out, &err, "-c", conf, "migrate-database", src, dst, NULL),
	    1);
	assert_non_null(strstr(err, "not empty"));
	free(out);
	free(err);

	/* the sequences went past the copied ids and order: a new message and its sighting fit */
	assert_int_equal(ledger_open(dst, &l, msg, sizeof(msg)), 0);
	assert_int_equal(ledger_record_sighting(l, &m, &seen), 0);
	assert_int_equal(seen, LEDGER_SEEN_NEW);
	ledger_close(l);

	assert_int_equal(test_database_drop(dst), 0);
	free(conf);
	free(src);
	free(dst);
}

static int
setup(void **state)
{
	char *app, *user;

	(void)state;
	if (tmpdir_make(dir, sizeof(dir), "test_migrate_db") == -1)
		return -1;
	e2e_sf_login_seed(dir, &app, &user);	/* the key file the configuration names */
	free(app);
	free(user);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_database),
	};

	if (!test_database_is_pg()) {
		printf("test_migrate_db: skipped: OL_TEST_PG_URL_FILE is not set "
		    "(ctest's test_migrate_db_pg sets it)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
