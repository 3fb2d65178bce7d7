/* test_store.c: the store.h contract, the same tests on both backends: a temporary SQLite file
 * always, and a fresh PostgreSQL database when OL_TEST_PG_URL_FILE names the url file of the
 * suite's server (scripts/pg-test-server.sh; skipped with a line without it). With the argument
 * "postgresql" only the PostgreSQL group runs (ctest's test_store_pg). Bindings and columns of
 * every type, ?N translation, changes, transactions and savepoints, errors and their class,
 * migrations; on PostgreSQL also two instances migrating at once, SKIP LOCKED between two
 * connections, a serialization failure and a killed backend classed transient, and the
 * password kept out of messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logcap.h"
#include "mono.h"
#include "store.h"
#include "store_impl.h"
#include "testdb.h"
#include "tmpdir.h"
#include "xmalloc.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

struct fixture {
	char		 dir[PATH_MAX];
	char		*target;
	struct store	*s;
};

static int backend_pg;	/* the group running: 0 SQLite, 1 PostgreSQL */

static struct store *
open_or_fail(const char *target)
{
	struct store *s;
	char err[512] = "";

	if (store_open(target, NULL, &s, err, sizeof(err)) < 0)
		fail_msg("store_open %s: %s", target, err);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[512] = "";

	if (tmpdir_make(f->dir, sizeof(f->dir), "test_store") == -1)
		return -1;
	/* with OL_TEST_PG_URL_FILE (the PostgreSQL group runs only then) a new database */
	if (backend_pg)
		f->target = test_database(f->dir, "store");
	else
		f->target = xasprintf("%s/store.db", f->dir);
	if (f->target == NULL || store_open(f->target, NULL, &f->s, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	assert_int_equal(store_kind(f->s), backend_pg ? STORE_POSTGRESQL : STORE_SQLITE);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	assert_int_equal(test_database_drop(f->target), 0);
	tmpdir_remove(f->dir);
	free(f->target);
	free(f);
	return 0;
}

static void
exec_ok(struct store *s, const char *sql)
{
	char msg[512];

	if (store_exec(s, sql) < 0)
		fail_msg("%s: %s", sql, store_errmsg(s, msg, sizeof(msg)));
}

/* The one integer a query without parameters answers. */
static int64_t
scalar(struct store *s, const char *sql)
{
	struct store_stmt *st = store_prepare(s, sql);
	char msg[512];
	int64_t v;

	if (store_step(st) != STORE_ROW)
		fail_msg("%s: %s", sql, store_errmsg(s, msg, sizeof(msg)));
	v = store_column_int64(st, 0);
	assert_int_equal(store_step(st), STORE_DONE);
	store_finalize(st);
	return v;
}

/* ?N translation for the server, as a table: literals, identifiers and comments keep their '?'. */
static void
test_translate(void **state)
{
	static const struct {
		const char *in, *out;
		int n;
	} cases[] = {
		{ "SELECT 1", "SELECT 1", 0 },
		{ "SELECT ?1, ?2", "SELECT $1, $2", 2 },
		{ "SELECT ?2, ?1, ?2", "SELECT $2, $1, $2", 2 },
		{ "SELECT ?, ?", "SELECT $1, $2", 2 },
		{ "SELECT ?3, ?", "SELECT $3, $4", 4 },		/* bare: one more than the largest */
		{ "SELECT ?12", "SELECT $12", 12 },
		{ "SELECT '?1', ?1", "SELECT '?1', $1", 1 },
		{ "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1 },
		{ "SELECT \"a?\" FROM t WHERE x = ?1", "SELECT \"a?\" FROM t WHERE x = $1", 1 },
		{ "SELECT \"a\"\"?\", ?", "SELECT \"a\"\"?\", $1", 1 },
		{ "SELECT 1 -- what ?\n, ?1", "SELECT 1 -- what ?\n, $1", 1 },
		{ "SELECT /* ? /* ?2 */ ? */ ?", "SELECT /* ? /* ?2 */ ? */ $1", 1 },
		{ "SELECT 'unterminated ?", "SELECT 'unterminated ?", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int n = -1;
		char *out = store_pg_translate(cases[i].in, &n);

		if (strcmp(out, cases[i].out) != 0 || n != cases[i].n)
			fail_msg("%s: got \"%s\" (%d), want \"%s\" (%d)", cases[i].in, out, n,
			    cases[i].out, cases[i].n);
		free(out);
	}
}

/* Every kind of value in and out: integers at both ends of int64, text with quotes and UTF-8,
 * the empty string (not NULL), NULL bound both ways. */
static void
test_types(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int64_t id, i;
		const char *t;	/* NULL: bound with store_bind_null */
	} rows[] = {
		{ 1, INT64_MAX, "plain" },
		{ 2, INT64_MIN, "it's \"quoted\" ?1 ; --" },
		{ 3, -1, "" },
		{ 4, 0, "Zoë ✓ 日本" },
		{ 5, 4294967296LL, NULL },
	};
	struct store_stmt *ins, *sel;

	exec_ok(f->s, "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, t TEXT, n TEXT)");
	ins = store_prepare(f->s, "INSERT INTO t (id, i, t, n) VALUES (?1, ?2, ?3, ?4)");
	for (size_t k = 0; k < ARRAY_LEN(rows); k++) {
		store_bind_int64(ins, 1, rows[k].id);
		store_bind_int64(ins, 2, rows[k].i);
		if (rows[k].t != NULL)
			store_bind_text(ins, 3, rows[k].t);
		else
			store_bind_null(ins, 3);
		store_bind_text(ins, 4, NULL);
		assert_int_equal(store_step(ins), STORE_DONE);
		assert_int_equal(store_changes(f->s), 1);
		store_reset(ins);
		store_clear_bindings(ins);
	}
	store_finalize(ins);

	sel = store_prepare(f->s, "SELECT id, i, t, n FROM t WHERE id = ?1");
	for (size_t k = 0; k < ARRAY_LEN(rows); k++) {
		store_bind_int64(sel, 1, rows[k].id);
		assert_int_equal(store_step(sel), STORE_ROW);
		assert_int_equal(store_column_int64(sel, 0), rows[k].id);
		assert_true(store_column_int64(sel, 1) == rows[k].i);
		assert_int_equal(store_column_is_null(sel, 1), 0);
		if (rows[k].t != NULL) {
			assert_string_equal(store_column_text(sel, 2), rows[k].t);
			assert_int_equal(store_column_is_null(sel, 2), 0);
		} else {
			assert_null(store_column_text(sel, 2));
			assert_int_equal(store_column_is_null(sel, 2), 1);
			assert_int_equal(store_column_int64(sel, 2), 0);	/* NULL reads 0 */
		}
		assert_null(store_column_text(sel, 3));
		assert_int_equal(store_column_is_null(sel, 3), 1);
		assert_int_equal(store_step(sel), STORE_DONE);
		store_reset(sel);
	}
	/* no row: DONE at once */
	store_bind_int64(sel, 1, 99);
	assert_int_equal(store_step(sel), STORE_DONE);
	store_finalize(sel);
	/* an integer's text, and a text of digits read as an integer */
	assert_true(scalar(f->s, "SELECT i FROM t WHERE id = 2") == INT64_MIN);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM t WHERE t IS NULL"), 1);
}

/* '?' in a literal is a character, ?1 used twice is one parameter, and bare ? count on. */
static void
test_parameters(void **state)
{
	struct fixture *f = *state;
	struct store_stmt *st;

	exec_ok(f->s, "CREATE TABLE p (id BIGINT PRIMARY KEY, a BIGINT, s TEXT)");
	exec_ok(f->s, "INSERT INTO p VALUES (5, 5, 'x?y'), (6, 5, '?'), (7, 7, 'z')");
	st = store_prepare(f->s, "SELECT '?' || s, id FROM p -- which ? rows\n"
	    "WHERE a = ?1 AND (id = ?1 OR s = '?') ORDER BY id");
	store_bind_int64(st, 1, 5);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_string_equal(store_column_text(st, 0), "?x?y");
	assert_int_equal(store_column_int64(st, 1), 5);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_string_equal(store_column_text(st, 0), "??");
	assert_int_equal(store_column_int64(st, 1), 6);
	assert_int_equal(store_step(st), STORE_DONE);
	/* same statement, new binding: reset keeps the statement */
	store_reset(st);
	store_bind_int64(st, 1, 7);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_int_equal(store_column_int64(st, 1), 7);
	store_finalize(st);

	st = store_prepare(f->s, "SELECT id FROM p WHERE a = ? AND s = ?");
	store_bind_int64(st, 1, 5);
	store_bind_text(st, 2, "?");
	assert_int_equal(store_step(st), STORE_ROW);
	assert_int_equal(store_column_int64(st, 0), 6);
	assert_int_equal(store_step(st), STORE_DONE);
	store_finalize(st);
}

/* changes: rows an INSERT, UPDATE or DELETE touched; a SELECT leaves the count alone. */
static void
test_changes(void **state)
{
	struct fixture *f = *state;
	struct store_stmt *st;

	exec_ok(f->s, "CREATE TABLE c (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
	exec_ok(f->s, "INSERT INTO c VALUES (1, 10), (2, 20), (3, 30)");
	assert_int_equal(store_changes(f->s), 3);
	st = store_prepare(f->s, "UPDATE c SET v = v + 1 WHERE v > ?1");
	store_bind_int64(st, 1, 15);
	assert_int_equal(store_step(st), STORE_DONE);
	assert_int_equal(store_changes(f->s), 2);
	store_finalize(st);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM c"), 3);
	assert_int_equal(store_changes(f->s), 2);
	st = store_prepare(f->s, "DELETE FROM c WHERE id = ?1 RETURNING v");
	store_bind_int64(st, 1, 3);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_int_equal(store_column_int64(st, 0), 31);
	assert_int_equal(store_step(st), STORE_DONE);
	assert_int_equal(store_changes(f->s), 1);
	store_reset(st);
	assert_int_equal(store_step(st), STORE_DONE);	/* gone already */
	assert_int_equal(store_changes(f->s), 0);
	store_finalize(st);
	st = store_prepare(f->s, "INSERT INTO c VALUES (?1, 1) ON CONFLICT (id) DO NOTHING");
	store_bind_int64(st, 1, 1);
	assert_int_equal(store_step(st), STORE_DONE);
	assert_int_equal(store_changes(f->s), 0);
	store_finalize(st);
}

/* Transactions: rollback forgets, commit keeps; savepoints nest inside and outside one. */
static void
test_transactions(void **state)
{
	struct fixture *f = *state;

	exec_ok(f->s, "CREATE TABLE x (id BIGINT PRIMARY KEY)");
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_in_transaction(f->s), 1);
	exec_ok(f->s, "INSERT INTO x VALUES (1)");
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x"), 0);

	assert_int_equal(store_begin(f->s), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (2)");
	/* inside: a savepoint rolled back to undoes its part only */
	assert_int_equal(store_savepoint(f->s, "inner"), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (3)");
	assert_int_equal(store_rollback_to(f->s, "inner"), 0);
	assert_int_equal(store_in_transaction(f->s), 1);
	assert_int_equal(store_savepoint(f->s, "inner"), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (4)");
	assert_int_equal(store_release(f->s, "inner"), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x"), 2);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x WHERE id = 3"), 0);

	/* outside: the outermost savepoint is a transaction; its release commits */
	assert_int_equal(store_savepoint(f->s, "outer"), 0);
	assert_int_equal(store_in_transaction(f->s), 1);
	exec_ok(f->s, "INSERT INTO x VALUES (5)");
	assert_int_equal(store_savepoint(f->s, "nested"), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (6)");
	assert_int_equal(store_rollback_to(f->s, "nested"), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (7)");
	assert_int_equal(store_release(f->s, "outer"), 0);
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x WHERE id IN (5, 7)"), 2);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x WHERE id = 6"), 0);
	/* and rolling back to it undoes all and ends it */
	assert_int_equal(store_savepoint(f->s, "outer"), 0);
	exec_ok(f->s, "INSERT INTO x VALUES (8)");
	assert_int_equal(store_rollback_to(f->s, "outer"), 0);
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM x WHERE id = 8"), 0);
	/* begin inside a transaction is refused */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), -1);
	assert_int_equal(store_rollback(f->s), 0);
}

/* A statement first run inside a transaction that was rolled back still runs afterwards (on
 * PostgreSQL its server-side preparation outlives the transaction), and one kept across
 * commits sees each commit's rows. */
static void
test_statement_outlives_transaction(void **state)
{
	struct fixture *f = *state;
	struct store_stmt *count, *ins;

	exec_ok(f->s, "CREATE TABLE y (id BIGINT PRIMARY KEY)");
	count = store_prepare(f->s, "SELECT count(*) FROM y WHERE id > ?1");
	ins = store_prepare(f->s, "INSERT INTO y VALUES (?1)");
	assert_int_equal(store_begin(f->s), 0);
	store_bind_int64(ins, 1, 1);
	assert_int_equal(store_step(ins), STORE_DONE);
	store_bind_int64(count, 1, 0);
	assert_int_equal(store_step(count), STORE_ROW);
	assert_int_equal(store_column_int64(count, 0), 1);
	store_reset(count);
	store_reset(ins);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_step(count), STORE_ROW);
	assert_int_equal(store_column_int64(count, 0), 0);
	store_reset(count);
	for (int64_t id = 10; id < 13; id++) {
		assert_int_equal(store_begin(f->s), 0);
		store_bind_int64(ins, 1, id);
		assert_int_equal(store_step(ins), STORE_DONE);
		store_reset(ins);
		assert_int_equal(store_commit(f->s), 0);
		assert_int_equal(store_step(count), STORE_ROW);
		assert_int_equal(store_column_int64(count, 0), id - 9);
		store_reset(count);
	}
	store_finalize(count);
	store_finalize(ins);
}

/* A constraint broken: an error with the database's reason, not transient, and the connection
 * goes on; a syntax error is found at the latest at the first step. */
static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct store_stmt *st;
	char msg[512];

	exec_ok(f->s, "CREATE TABLE e (id BIGINT PRIMARY KEY)");
	exec_ok(f->s, "INSERT INTO e VALUES (1)");
	st = store_prepare(f->s, "INSERT INTO e VALUES (?1)");
	store_bind_int64(st, 1, 1);
	assert_int_equal(store_step(st), STORE_ERROR);
	store_errmsg(f->s, msg, sizeof(msg));
	if (backend_pg)
		assert_non_null(strstr(msg, "23505"));	/* the SQLSTATE is kept */
	else
		assert_non_null(strstr(msg, "UNIQUE"));
	assert_int_equal(store_error_is_transient(f->s), 0);
	store_reset(st);
	store_bind_int64(st, 1, 2);
	assert_int_equal(store_step(st), STORE_DONE);
	store_finalize(st);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM e"), 2);
	assert_int_equal(store_exec(f->s, "SELEC 1"), -1);
	store_errmsg(f->s, msg, sizeof(msg));
	assert_non_null(strstr(msg, "syntax"));
	assert_int_equal(store_error_is_transient(f->s), 0);
}

static const char *const mig_sqlite[] = {
	"CREATE TABLE m1 (id BIGINT PRIMARY KEY); INSERT INTO m1 VALUES (1)",
	"CREATE TABLE m2 (id BIGINT PRIMARY KEY)",
	"CREATE TABLE m3 (id BIGINT PRIMARY KEY); INSERT INTO m1 VALUES (1)",	/* fails */
};
static const char *const mig_pg[] = {
	"CREATE TABLE m1 (id BIGINT PRIMARY KEY); INSERT INTO m1 VALUES (1)",
	"CREATE TABLE m2 (id BIGINT PRIMARY KEY)",
	"CREATE TABLE m3 (id BIGINT PRIMARY KEY); INSERT INTO m1 VALUES (1)",	/* fails */
};

/* Migrations: step by step, idempotent, a failing one changes nothing, a newer schema is
 * refused. (m1's INSERT would fail if a migration ran twice.) */
static void
test_migrate(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";

	assert_int_equal(store_version(f->s, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(f->s, mig_sqlite, mig_pg, 1, err, sizeof(err)), 0);
	assert_int_equal(store_version(f->s, err, sizeof(err)), 1);
	assert_int_equal(store_migrate(f->s, mig_sqlite, mig_pg, 2, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(f->s, mig_sqlite, mig_pg, 2, err, sizeof(err)), 0);
	assert_int_equal(store_version(f->s, err, sizeof(err)), 2);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM m1"), 1);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM m2"), 0);

	assert_int_equal(store_migrate(f->s, mig_sqlite, mig_pg, 3, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(store_in_transaction(f->s), 0);
	assert_int_equal(store_version(f->s, err, sizeof(err)), 2);
	/* m3 was rolled back with its migration */
	assert_int_equal(store_exec(f->s, "SELECT count(*) FROM m3"), -1);

	err[0] = '\0';
	assert_int_equal(store_migrate(f->s, mig_sqlite, mig_pg, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(store_version(f->s, err, sizeof(err)), 2);
}

/* PostgreSQL: two instances starting together migrate once (each would fail the other's
 * m1 INSERT if both ran it). */
struct migrator {
	const char	*target;
	int		 rc;
	char		 err[512];
};

static void *
migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct store *s;

	if (store_open(m->target, NULL, &s, m->err, sizeof(m->err)) < 0) {
		m->rc = -1;
		return NULL;
	}
	m->rc = store_migrate(s, mig_sqlite, mig_pg, 2, m->err, sizeof(m->err));
	store_close(s);
	return NULL;
}

static void
test_pg_migrate_together(void **state)
{
	struct fixture *f = *state;
	struct migrator m[4];
	pthread_t t[4];
	char err[512];

	for (size_t i = 0; i < ARRAY_LEN(m); i++) {
		m[i] = (struct migrator){ .target = f->target };
		assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &m[i]), 0);
	}
	for (size_t i = 0; i < ARRAY_LEN(m); i++) {
		pthread_join(t[i], NULL);
		if (m[i].rc != 0)
			fail_msg("instance %zu: %s", i, m[i].err);
	}
	assert_int_equal(store_version(f->s, err, sizeof(err)), 2);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM m1"), 1);
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM schema_version"), 1);
}

/* PostgreSQL: two connections claim work with FOR UPDATE SKIP LOCKED: each gets another row,
 * and neither waits; NOWAIT on a held row is a lock error classed transient. */
static void
test_pg_skip_locked(void **state)
{
	struct fixture *f = *state;
	struct store *b = open_or_fail(f->target);
	const char *claim = "SELECT id FROM q ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
	struct store_stmt *sa, *sb, *nw;
	char msg[512];
	long start;

	exec_ok(f->s, "CREATE TABLE q (id BIGINT PRIMARY KEY)");
	exec_ok(f->s, "INSERT INTO q VALUES (1), (2), (3)");
	sa = store_prepare(f->s, claim);
	sb = store_prepare(b, claim);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(b), 0);
	start = mono_ms();
	assert_int_equal(store_step(sa), STORE_ROW);
	assert_int_equal(store_column_int64(sa, 0), 1);
	assert_int_equal(store_step(sb), STORE_ROW);
	assert_int_equal(store_column_int64(sb, 0), 2);
	assert_true(mono_ms() - start < 5000);	/* not blocked (a lock wait would hang) */

	nw = store_prepare(b, "SELECT id FROM q WHERE id = 1 FOR UPDATE NOWAIT");
	assert_int_equal(store_step(nw), STORE_ERROR);
	store_errmsg(b, msg, sizeof(msg));
	assert_non_null(strstr(msg, "55P03"));
	assert_int_equal(store_error_is_transient(b), 1);
	store_finalize(nw);
	/* the failed statement aborted b's transaction: commit says so and rolls back */
	assert_int_equal(store_commit(b), -1);
	assert_int_equal(store_in_transaction(b), 0);
	assert_int_equal(store_commit(f->s), 0);
	store_finalize(sa);
	store_finalize(sb);
	store_close(b);
}

/* PostgreSQL: a serialization failure (40001) is transient: a REPEATABLE READ transaction
 * updates a row another connection changed since its snapshot. */
static void
test_pg_serialization_transient(void **state)
{
	struct fixture *f = *state;
	struct store *b = open_or_fail(f->target);
	char msg[512];

	exec_ok(f->s, "CREATE TABLE r (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
	exec_ok(f->s, "INSERT INTO r VALUES (1, 0)");
	assert_int_equal(store_begin(f->s), 0);
	exec_ok(f->s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
	assert_int_equal(scalar(f->s, "SELECT v FROM r WHERE id = 1"), 0);	/* the snapshot */
	exec_ok(b, "UPDATE r SET v = 1 WHERE id = 1");
	assert_int_equal(store_exec(f->s, "UPDATE r SET v = 2 WHERE id = 1"), -1);
	store_errmsg(f->s, msg, sizeof(msg));
	assert_non_null(strstr(msg, "40001"));
	assert_int_equal(store_error_is_transient(f->s), 1);
	assert_int_equal(store_rollback(f->s), 0);
	/* tried again, it succeeds */
	assert_int_equal(store_begin(f->s), 0);
	exec_ok(f->s, "UPDATE r SET v = 2 WHERE id = 1");
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(scalar(b, "SELECT v FROM r WHERE id = 1"), 2);
	store_close(b);
}

/* The backend's pid, by a statement kept across the reconnect. */
static int64_t
backend_pid(struct store_stmt *st)
{
	int64_t pid;

	store_reset(st);
	if (store_step(st) != STORE_ROW)
		return -1;
	pid = store_column_int64(st, 0);
	store_reset(st);
	return pid;
}

static void
terminate(struct store *killer, int64_t pid)
{
	struct store_stmt *st = store_prepare(killer, "SELECT pg_terminate_backend(?1)");
	long start = mono_ms();

	store_bind_int64(st, 1, pid);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_int_equal(store_column_int64(st, 0), 1);
	store_finalize(st);
	/* The process is gone (its sockets closed, the server's last message and the end of the
	 * stream sent): gone from pg_stat_activity is earlier, while it is still exiting. The
	 * server runs on this machine (as another user when we are root: kill says ESRCH only
	 * once the pid is free). */
	while (!(kill((pid_t)pid, 0) == -1 && errno == ESRCH)) {
		assert_true(mono_ms() - start < 10000);
		usleep(5000);
	}
}

/* PostgreSQL: a backend killed (pg_terminate_backend): outside a transaction the next call
 * finds the idle connection ended, reconnects (and re-prepares) and succeeds; inside one the
 * call that finds it fails as transient, and the calls keep failing until rollback. */
static void
test_pg_lost_connection(void **state)
{
	struct fixture *f = *state;
	struct store *killer = open_or_fail(f->target);
	struct store_stmt *who = store_prepare(f->s, "SELECT pg_backend_pid()");
	int64_t pid, pid2, pid3;

	pid = backend_pid(who);
	assert_true(pid > 0);
	terminate(killer, pid);
	pid2 = backend_pid(who);
	assert_true(pid2 > 0);
	assert_true(pid2 != pid);
	/* store_begin too: the BEGIN is not lost with the connection */
	terminate(killer, pid2);
	assert_int_equal(store_begin(f->s), 0);
	pid = backend_pid(who);
	assert_true(pid > 0 && pid != pid2);
	assert_int_equal(store_rollback(f->s), 0);
	pid2 = pid;

	/* inside a transaction: no silent reconnect */
	assert_int_equal(store_begin(f->s), 0);
	exec_ok(f->s, "CREATE TABLE lost (id BIGINT)");
	terminate(killer, pid2);
	assert_int_equal(store_exec(f->s, "INSERT INTO lost VALUES (1)"), -1);
	assert_int_equal(store_error_is_transient(f->s), 1);
	assert_int_equal(backend_pid(who), -1);
	assert_int_equal(store_error_is_transient(f->s), 1);
	assert_int_equal(store_in_transaction(f->s), 1);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_in_transaction(f->s), 0);
	pid3 = backend_pid(who);
	assert_true(pid3 > 0 && pid3 != pid2);
	/* the table went with the transaction */
	assert_int_equal(scalar(f->s, "SELECT count(*) FROM pg_tables WHERE tablename = 'lost'"),
	    0);
	store_finalize(who);
	store_close(killer);
}

/* PostgreSQL: the password is given apart from the URI and never shows in a message, even
 * when the server's own message holds the same text (here: as the database's name). */
static void
test_pg_password_hidden(void **state)
{
	struct fixture *f = *state;
	const char *secret = "pw_Hunter2_x9";
	char *url = test_database_server_url(), *target, *slash, err[1024] = "";
	struct store *s = NULL;

	assert_non_null(url);
	slash = strrchr(url, '/');
	assert_non_null(slash);
	*slash = '\0';
	target = xasprintf("%s/%s", url, secret);
	assert_int_equal(store_open(target, secret, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "cannot connect"));
	assert_non_null(strstr(err, "does not exist"));	/* the server's message is there */
	assert_null(strstr(err, secret));
	/* a working connection with a password (trust ignores it) says nothing of it either */
	assert_int_equal(store_open(f->target, secret, &s, err, sizeof(err)), 0);
	assert_int_equal(store_exec(s, "SELECT 'pw_Hunter2_x9'::int"), -1);
	store_errmsg(s, err, sizeof(err));
	assert_non_null(strstr(err, "22P02"));
	assert_null(strstr(err, secret));
	/* nor in a server's notice that olsync logs */
	{
		char path[] = "/tmp/test_store-log-XXXXXX", *text;
		int saved = logcap_begin(path);

		assert_int_equal(store_exec(s, "DO $$ BEGIN RAISE WARNING 'echo pw_Hunter2_x9'; "
		    "END $$"), 0);
		logcap_end(saved);
		text = tmpdir_read(path, 65536);
		unlink(path);
		assert_non_null(strstr(text, "store: postgresql_warning"));
		assert_non_null(strstr(text, "echo "));
		assert_null(strstr(text, secret));
		free(text);
	}
	store_close(s);
	free(target);
	free(url);
}

/* PostgreSQL: a server's warning goes to olsync's log, as one line of ours. */
static void
test_pg_notice_logged(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/test_store-log-XXXXXX", *text;
	int saved;

	saved = logcap_begin(path);
	exec_ok(f->s, "DO $$ BEGIN RAISE WARNING 'olsync test warning'; END $$");
	logcap_end(saved);
	text = tmpdir_read(path, 65536);
	unlink(path);
	assert_non_null(strstr(text, "store: postgresql_warning"));
	assert_non_null(strstr(text, "olsync test warning"));
	assert_null(strstr(text, "WARNING:  olsync"));	/* libpq's own stderr format */
	free(text);
}

#define BOTH_TESTS \
	cmocka_unit_test_setup_teardown(test_types, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_parameters, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_changes, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_transactions, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_statement_outlives_transaction, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_errors, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_migrate, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(test_translate),
		BOTH_TESTS,
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test(test_translate),
		BOTH_TESTS,
		cmocka_unit_test_setup_teardown(test_pg_migrate_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_skip_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_serialization_transient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_lost_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_password_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_notice_logged, setup, teardown),
	};
	int pg_only = argc > 1 && strcmp(argv[1], "postgresql") == 0, failed = 0;

	if (!pg_only) {
		backend_pg = 0;
		failed += cmocka_run_group_tests_name("store on SQLite", sqlite_tests, NULL, NULL);
	}
	if (!test_database_is_pg()) {
		printf("test_store: PostgreSQL skipped: OL_TEST_PG_URL_FILE is not set "
		    "(ctest's test_store_pg sets it)\n");
		return pg_only ? 1 : failed;
	}
	backend_pg = 1;
	failed += cmocka_run_group_tests_name("store on PostgreSQL", pg_tests, NULL, NULL);
	return failed;
}
