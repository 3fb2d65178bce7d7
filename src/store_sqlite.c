/* store_sqlite.c: the SQLite backend of store.h, and the file-only calls of store_sqlite.h.
 *
 * Design: struct store carries its kind and a table of operations (store_impl.h); store.c
 * forwards every call through it, and store_open picks the backend by the target (a path here, a
 * postgresql:// URI for store_pg.c). This file is a thin layer over lib/db.c's helpers (open with
 * WAL and a busy timeout, the error text with the system's reason, migrations in PRAGMA
 * user_version, savepoints), plus the settings only the ledger wants. A statement is a heap
 * wrapper around the sqlite3_stmt; ledger.c keeps its statements prepared, so this costs one
 * allocation per statement per handle. */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "err.h"
#include "store_impl.h"
#include "xmalloc.h"

struct lite {
	struct store	 base;
	sqlite3		*db;
};

struct lite_stmt {
	struct store_stmt base;
	sqlite3_stmt	*st;
};

static sqlite3 *
db_of(struct store *s)
{
	return ((struct lite *)s)->db;
}

static sqlite3_stmt *
st_of(struct store_stmt *st)
{
	return ((struct lite_stmt *)st)->st;
}

static void
lite_close(struct store *s)
{
	struct lite *l = (struct lite *)s;

	if (!sqlite3_get_autocommit(l->db))
		db_exec(l->db, "ROLLBACK", NULL, 0);
	sqlite3_close(l->db);
	free(l);
}

static const char *
lite_errmsg(struct store *s, char *buf, size_t len)
{
	return db_errmsg(db_of(s), buf, len);
}

static int
lite_error_is_transient(struct store *s)
{
	int code = sqlite3_errcode(db_of(s)) & 0xff;

	return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

static int
lite_exec(struct store *s, const char *sql)
{
	return db_exec(db_of(s), sql, NULL, 0);
}

static struct store_stmt *
lite_prepare(struct store *s, const char *sql)
{
	struct lite_stmt *st = xmalloc(sizeof(*st));

	st->base.s = s;
	st->st = db_prepare(db_of(s), sql);
	return &st->base;
}

static void
lite_finalize(struct store_stmt *st)
{
	sqlite3_finalize(st_of(st));
	free(st);
}

static void
lite_bind_int64(struct store_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st_of(st), i, v);
}

static void
lite_bind_text(struct store_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st_of(st), i);
	else
		sqlite3_bind_text(st_of(st), i, s, -1, SQLITE_STATIC);
}

static void
lite_bind_null(struct store_stmt *st, int i)
{
	sqlite3_bind_null(st_of(st), i);
}

static void
lite_clear_bindings(struct store_stmt *st)
{
	sqlite3_clear_bindings(st_of(st));
}

static int
lite_step(struct store_stmt *st)
{
	switch (sqlite3_step(st_of(st))) {
	case SQLITE_ROW:
		return STORE_ROW;
	case SQLITE_DONE:
		return STORE_DONE;
	default:
		return STORE_ERROR;
	}
}

static int64_t
lite_column_int64(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(st_of(st), col);
}

static const char *
lite_column_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st_of(st), col);
}

static int
lite_column_is_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(st_of(st), col) == SQLITE_NULL;
}

static void
lite_reset(struct store_stmt *st)
{
	sqlite3_reset(st_of(st));
}

static int64_t
lite_changes(struct store *s)
{
	return sqlite3_changes64(db_of(s));
}

/* IMMEDIATE: the write lock at once, so a second process waits on the busy timeout instead of
 * failing a read-to-write upgrade halfway. */
static int
lite_begin(struct store *s)
{
	return lite_exec(s, "BEGIN IMMEDIATE");
}

static int
lite_commit(struct store *s)
{
	return lite_exec(s, "COMMIT");
}

static int
lite_rollback(struct store *s)
{
	return lite_exec(s, "ROLLBACK");
}

static int
lite_in_transaction(struct store *s)
{
	return !sqlite3_get_autocommit(db_of(s));
}

static int
lite_savepoint(struct store *s, const char *name)
{
	return db_savepoint(db_of(s), name);
}

static int
lite_release(struct store *s, const char *name)
{
	return db_release(db_of(s), name);
}

static int
lite_rollback_to(struct store *s, const char *name)
{
	return db_rollback_to(db_of(s), name);
}

static int
lite_migrate(struct store *s, const char *const *migrations, size_t n, char *err, size_t errlen)
{
	return db_migrate(db_of(s), migrations, n, err, errlen);
}

static int
lite_version(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_prepare(db_of(s), "PRAGMA user_version");
	int v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		err_set(err, errlen, "%s", sqlite3_errmsg(db_of(s)));
	sqlite3_finalize(st);
	return v;
}

static const struct store_ops lite_ops = {
	.close = lite_close,
	.errmsg = lite_errmsg,
	.error_is_transient = lite_error_is_transient,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_null = lite_bind_null,
	.clear_bindings = lite_clear_bindings,
	.step = lite_step,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
	.column_is_null = lite_column_is_null,
	.reset = lite_reset,
	.changes = lite_changes,
	.begin = lite_begin,
	.commit = lite_commit,
	.rollback = lite_rollback,
	.in_transaction = lite_in_transaction,
	.savepoint = lite_savepoint,
	.release = lite_release,
	.rollback_to = lite_rollback_to,
	.migrate = lite_migrate,
	.version = lite_version,
};

int
store_sqlite_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct lite *l;
	sqlite3 *db;

	*out = NULL;
	if (db_open(path, &db, err, errlen) < 0)
		return -1;
	/* The ledger is what makes a delta link safe to save and a Salesforce write safe to
	 * forget: a commit must survive a power cut, not only a crash, so sync on every commit.
	 * Callers batch work in transactions to pay for it once per page. */
	/* SQLite's default page cache (2 MiB) here; the handle that ingests and writes asks for
	 * more (ledger_set_bulk), the others stay small. */
	if (db_exec(db, "PRAGMA synchronous=FULL", err, errlen) < 0) {
		sqlite3_close(db);
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->base.kind = STORE_SQLITE;
	l->base.ops = &lite_ops;
	l->db = db;
	*out = &l->base;
	return 0;
}

enum store_sqlite_probe
store_sqlite_probe(const char *path, int busy_ms, int *version, char *err, size_t errlen)
{
	enum store_sqlite_probe r = STORE_SQLITE_PROBE_ERROR;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	int rc;

	*version = -1;
	/* Never created nor migrated here: the probe looks, the next start changes. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s", db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, busy_ms);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	rc = sqlite3_finalize(st);
	if (*version < 0 || rc != SQLITE_OK) {
		err_set(err, errlen, "%s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_db_readonly(db, "main") == 1) {
		err_set(err, errlen, "the file is read-only for this user");
		r = STORE_SQLITE_PROBE_READONLY;
		goto out;
	}
	/* The write lock a pass takes: a read-only file, directory (WAL) or a writer that
	 * never lets go all fail here, and nothing is written. */
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err_set(err, errlen, "%s", sqlite3_errmsg(db));
		r = (rc & 0xff) == SQLITE_BUSY ? STORE_SQLITE_PROBE_BUSY :
		    STORE_SQLITE_PROBE_READONLY;
		goto out;
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	r = STORE_SQLITE_PROBE_OK;
out:
	sqlite3_close(db);
	return r;
}

/* A file: URI naming path (SQLite's URI rules: '%', '?' and '#' escaped). Caller frees. */
static char *
file_uri(const char *path, const char *query)
{
	size_t len = strlen(path) * 3 + strlen(query) + 8, at;
	char *out = xmalloc(len);

	at = (size_t)snprintf(out, len, "file:");
	for (const char *p = path; *p != '\0'; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			at += (size_t)snprintf(out + at, len - at, "%%%02X", (unsigned char)*p);
		else
			out[at++] = *p;
	}
	snprintf(out + at, len - at, "?%s", query);
	return out;
}

/* One copy of path to dest; immutable: path has no WAL, so no process has it open. */
static int
copy_db(const char *path, const char *dest, int immutable, char *err, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	char *uri = file_uri(path, immutable ? "mode=ro&immutable=1" : "mode=ro");
	int rc = -1;

	if (sqlite3_open_v2(uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
	    SQLITE_OK) {
		err_set(err, errlen, "%s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	if (db_open(dest, &dst, err, errlen) < 0)
		goto out;
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		err_set(err, errlen, "%s: %s", dest, sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_backup_step(bk, -1) != SQLITE_DONE) {
		err_set(err, errlen, "copy of %s: %s", path, sqlite3_errmsg(dst));
		sqlite3_backup_finish(bk);
		goto out;
	}
	if (sqlite3_backup_finish(bk) != SQLITE_OK) {
		err_set(err, errlen, "copy of %s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	free(uri);
	return rc;
}

int
store_sqlite_snapshot(const char *path, const char *dest, char *err, size_t errlen)
{
	char *wal = xasprintf("%s-wal", path);
	int quiet, rc;

	/* Read-only, and without a WAL (no olsync has it open) also immutable: a read-only
	 * connection would otherwise leave an empty -wal and a -shm beside a ledger that had
	 * none. A process that opened it meanwhile makes one: then copy again the shared way. */
	quiet = access(wal, F_OK) != 0;
	rc = copy_db(path, dest, quiet, err, errlen);
	if (rc == 0 && quiet && access(wal, F_OK) == 0) {
		(void)unlink(dest);
		rc = copy_db(path, dest, 0, err, errlen);
	}
	free(wal);
	return rc;
}
