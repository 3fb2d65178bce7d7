/* store.h: the ledger's database connection, SQLite or PostgreSQL behind one interface.
 *
 * ledger.c is the only user: it writes its SQL once, in the common dialect both accept (numbered
 * parameters ?1 ?2 ..., INSERT ... ON CONFLICT, RETURNING, coalesce, no rowid aliases: tables say
 * which key they sort by), and keeps one list of migrations per backend, index-aligned (entry i
 * of each makes the same schema version). The engine and the daemon see only ledger.h.
 *
 * The calls mirror SQLite's C interface so that ledger.c reads as before:
 *	st = store_prepare(s, "SELECT a FROM t WHERE k = ?1");
 *	store_bind_text(st, 1, key);
 *	while ((rc = store_step(st)) == STORE_ROW)
 *		use(store_column_text(st, 0));
 *	if (rc == STORE_ERROR) ... store_errmsg(s, ...)
 *	store_reset(st);		(again, with new bindings) or store_finalize(st)
 *
 * Backends: store_sqlite.c (a file path; WAL, foreign keys, a busy timeout), store_pg.c (libpq:
 * a postgresql:// or postgres:// URI; each statement prepared on the server at its first step,
 * the whole result read at once, the rows handed out by store_step). */
#ifndef OL_STORE_H
#define OL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum store_kind {
	STORE_SQLITE,
	STORE_POSTGRESQL,
};

/* What store_step returns. */
enum {
	STORE_ERROR = -1,	/* the message is in store_errmsg */
	STORE_DONE = 0,		/* no (more) rows */
	STORE_ROW = 1,		/* a row is ready for store_column_* */
};

struct store;
struct store_stmt;

/* 1 when target names a PostgreSQL database (postgresql:// or postgres://), 0 for a file.
 * Inline: config.c asks it too, and links no backend. */
static inline int
store_target_is_postgresql(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* Opens target: a SQLite file (created 0600 if missing) or a PostgreSQL URI; password (NULL:
 * none, or libpq's own sources such as ~/.pgpass) is given to libpq apart from the URI so it
 * never shows in a connection string or a message. -1 with a message in err on failure. */
int store_open(const char *target, const char *password, struct store **out, char *err,
    size_t errlen);
void store_close(struct store *s);	/* finalizes nothing: finalize statements first */
enum store_kind store_kind(const struct store *s);

/* The last error's message (with the system's reason where there is one: a full disk, a lost
 * connection) in buf; returns buf. */
const char *store_errmsg(struct store *s, char *buf, size_t len);
/* 1 when the last error means "try again later" (SQLite busy or locked; PostgreSQL
 * serialization failure, deadlock, lost connection). */
int store_error_is_transient(struct store *s);

/* Runs one or more statements without parameters. -1 on failure. */
int store_exec(struct store *s, const char *sql);

/* Prepares sql (the common dialect above). Never fails for a reason other than a programming
 * error in the SQL, which aborts (SQLite checks at once; PostgreSQL at the first step, where it
 * is an error like any other). */
struct store_stmt *store_prepare(struct store *s, const char *sql);
void store_finalize(struct store_stmt *st);	/* NULL is fine */

/* Parameters count from 1. Text is not copied: it must outlive the statement's steps. */
void store_bind_int64(struct store_stmt *st, int i, int64_t v);
void store_bind_text(struct store_stmt *st, int i, const char *s);	/* NULL binds NULL */
void store_bind_null(struct store_stmt *st, int i);
void store_clear_bindings(struct store_stmt *st);

int store_step(struct store_stmt *st);	/* STORE_ROW, STORE_DONE or STORE_ERROR */
/* Columns count from 0; valid until the next step, reset or finalize. */
int64_t store_column_int64(struct store_stmt *st, int col);	/* NULL reads 0 */
const char *store_column_text(struct store_stmt *st, int col);	/* NULL for NULL */
int store_column_is_null(struct store_stmt *st, int col);
void store_reset(struct store_stmt *st);	/* ready to step again; bindings kept */

/* Rows inserted, changed or deleted by the last statement that finished. */
int64_t store_changes(struct store *s);

/* Transactions. begin takes the write lock at once on SQLite (BEGIN IMMEDIATE), so two
 * writers never deadlock on an upgrade; on PostgreSQL it is BEGIN (READ COMMITTED): row locks
 * and ON CONFLICT make each statement safe, and SELECT ... FOR UPDATE SKIP LOCKED claims work.
 * Savepoints nest inside or outside a transaction. Each returns -1 on failure. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
int store_in_transaction(struct store *s);
int store_savepoint(struct store *s, const char *name);
int store_release(struct store *s, const char *name);
int store_rollback_to(struct store *s, const char *name);	/* rolls back and releases */

/* Brings the schema to version n: applies migrations[version .. n-1] of the list for this
 * backend, each in its own transaction, recording the version (SQLite: PRAGMA user_version;
 * PostgreSQL: a one-row table schema_version, under an advisory lock so that instances starting
 * together migrate once). A database newer than n is refused. -1 with a message in err. */
int store_migrate(struct store *s, const char *const *sqlite_migrations,
    const char *const *pg_migrations, size_t n, char *err, size_t errlen);
/* The schema version, or -1 with a message in err. */
int store_version(struct store *s, char *err, size_t errlen);

#endif
