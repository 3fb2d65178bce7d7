/* db.c: SQLite helpers (see db.h). */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/* The errno of the last failed call on the write-ahead log, else on the database file; 0 when
 * neither failed. SQLite records the errno of a write that fails while a transaction commits
 * (the log grows) or a checkpoint copies it back only on the file, not where
 * sqlite3_system_errno looks. The value stays until the file's next failure, so it is asked
 * only about an error that just happened. */
static int
file_errno(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	int e = 0;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) == SQLITE_OK &&
	    f != NULL && f->pMethods != NULL &&
	    f->pMethods->xFileControl(f, SQLITE_FCNTL_LAST_ERRNO, &e) == SQLITE_OK && e != 0)
		return e;
	e = 0;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &e) != SQLITE_OK)
		return 0;
	return e;
}

const char *
db_errmsg(sqlite3 *db, char *buf, size_t len)
{
	int code = sqlite3_errcode(db), e = 0;

	/* SQLite's "disk I/O error" does not say which: a full disk, a file size limit, EIO. */
	if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN)
		e = sqlite3_system_errno(db) != 0 ? sqlite3_system_errno(db) : file_errno(db);
	if (e != 0)
		snprintf(buf, len, "%s (%s)", sqlite3_errmsg(db), strerror(e));
	else
		snprintf(buf, len, "%s", sqlite3_errmsg(db));
	return buf;
}

static void
set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	char msg[256];

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what,
		    db ? db_errmsg(db, msg, sizeof(msg)) : "out of memory");
}

int
db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	/* A new database file is private (olsync's holds webhook secrets); SQLite gives its -wal
	 * and -shm files the same mode. */
	if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, path, db);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	    "PRAGMA foreign_keys=ON;", err, errlen) < 0) {
		sqlite3_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

int
db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL, buf[256];

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s", db_errmsg(db, buf, sizeof(buf)));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fatalx("db: cannot prepare sql=\"%s\" reason=\"%s\"", sql, sqlite3_errmsg(db));
	return st;
}

int
db_migrate(sqlite3 *db, const char *const *migrations, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_prepare(db, "PRAGMA user_version");
	long version = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (version > (long)n) {
		snprintf(err, errlen, "database schema version %ld is newer than this program "
		    "knows (%zu)", version, n);
		return -1;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		char bump[64];

		snprintf(bump, sizeof(bump), "PRAGMA user_version=%zu", i + 1);
		if (db_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
			return -1;
		if (db_exec(db, migrations[i], err, errlen) < 0 ||
		    db_exec(db, bump, err, errlen) < 0) {
			db_exec(db, "ROLLBACK", NULL, 0);
			return -1;
		}
		if (db_exec(db, "COMMIT", err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int
savepoint_cmd(sqlite3 *db, const char *verb, const char *name, int release)
{
	char sql[256];
	char *q = db_quote_ident(name);
	int rc;

	if (release)
		snprintf(sql, sizeof(sql), "%s %s; RELEASE %s", verb, q, q);
	else
		snprintf(sql, sizeof(sql), "%s %s", verb, q);
	free(q);
	rc = db_exec(db, sql, NULL, 0);
	if (rc < 0)
		log_warnx("db: savepoint command failed sql=\"%s\" reason=\"%s\"", sql,
		    sqlite3_errmsg(db));
	return rc;
}

int
db_savepoint(sqlite3 *db, const char *name)
{
	return savepoint_cmd(db, "SAVEPOINT", name, 0);
}

int
db_release(sqlite3 *db, const char *name)
{
	return savepoint_cmd(db, "RELEASE", name, 0);
}

int
db_rollback_to(sqlite3 *db, const char *name)
{
	return savepoint_cmd(db, "ROLLBACK TO", name, 1);
}

char *
db_quote_ident(const char *name)
{
	size_t n = strlen(name), j = 0;
	char *q = xmalloc(2 * n + 3);

	q[j++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"')
			q[j++] = '"';
		q[j++] = name[i];
	}
	q[j++] = '"';
	q[j] = '\0';
	return q;
}
