/* db.h: SQLite helpers shared by the daemon and the emulators: open with sane pragmas, run
 * schema migrations tracked in PRAGMA user_version, and small exec/transaction wrappers. */
#ifndef OL_DB_H
#define OL_DB_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens path (":memory:" allowed) with WAL, foreign keys and a busy timeout. On failure returns
 * -1 with a message in err. Caller closes *out with sqlite3_close. */
int db_open(const char *path, sqlite3 **out, char *err, size_t errlen);
/* The message of db's last error in buf (len bytes), with the system's reason when SQLite
 * has one (a full disk, a file size limit); returns buf. */
const char *db_errmsg(sqlite3 *db, char *buf, size_t len);

/* Applies migrations[user_version .. n-1] in order, each in its own transaction, and bumps
 * user_version after each. A database newer than n migrations is refused. -1 on failure. */
int db_migrate(sqlite3 *db, const char *const *migrations, size_t n, char *err, size_t errlen);

/* Runs one or more statements; -1 on failure with sqlite's message in err (may be NULL). */
int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* Prepares sql or aborts: the SQL is ours, so a failure is a programming error. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql);

/* Named savepoints nest, so these work inside or outside a transaction. -1 on failure. */
int db_savepoint(sqlite3 *db, const char *name);
int db_release(sqlite3 *db, const char *name);
int db_rollback_to(sqlite3 *db, const char *name);	/* rolls back and releases */

/* Quotes an identifier for SQL ("name" with inner quotes doubled). Caller frees. */
char *db_quote_ident(const char *name);

#endif
