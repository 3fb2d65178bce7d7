/* store.c: store.h's calls, forwarded to the backend behind the handle (store_impl.h). Only
 * store_open knows the backends by name: a file path is SQLite (store_sqlite.c), a postgresql://
 * URI PostgreSQL (store_pg.c, built with OLSYNC_WITH_POSTGRESQL). */
#include "store_impl.h"

#include <stdio.h>

int
store_open(const char *target, const char *password, struct store **out, char *err,
    size_t errlen)
{
	*out = NULL;
	if (store_target_is_postgresql(target)) {
#ifdef OLSYNC_WITH_POSTGRESQL
		return store_pg_open(target, password, out, err, errlen);
#else
		(void)password;
		snprintf(err, errlen, "PostgreSQL support is not built into this olsync");
		return -1;
#endif
	}
	return store_sqlite_open(target, out, err, errlen);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

enum store_kind
store_kind(const struct store *s)
{
	return s->kind;
}

const char *
store_errmsg(struct store *s, char *buf, size_t len)
{
	return s->ops->errmsg(s, buf, len);
}

int
store_error_is_transient(struct store *s)
{
	return s->ops->error_is_transient(s);
}

int
store_exec(struct store *s, const char *sql)
{
	return s->ops->exec(s, sql);
}

struct store_stmt *
store_prepare(struct store *s, const char *sql)
{
	return s->ops->prepare(s, sql);
}

void
store_finalize(struct store_stmt *st)
{
	if (st != NULL)
		st->s->ops->finalize(st);
}

void
store_bind_int64(struct store_stmt *st, int i, int64_t v)
{
	st->s->ops->bind_int64(st, i, v);
}

void
store_bind_text(struct store_stmt *st, int i, const char *s)
{
	st->s->ops->bind_text(st, i, s);
}

void
store_bind_null(struct store_stmt *st, int i)
{
	st->s->ops->bind_null(st, i);
}

void
store_clear_bindings(struct store_stmt *st)
{
	st->s->ops->clear_bindings(st);
}

int
store_step(struct store_stmt *st)
{
	return st->s->ops->step(st);
}

int64_t
store_column_int64(struct store_stmt *st, int col)
{
	return st->s->ops->column_int64(st, col);
}

const char *
store_column_text(struct store_stmt *st, int col)
{
	return st->s->ops->column_text(st, col);
}

int
store_column_is_null(struct store_stmt *st, int col)
{
	return st->s->ops->column_is_null(st, col);
}

void
store_reset(struct store_stmt *st)
{
	st->s->ops->reset(st);
}

int64_t
store_changes(struct store *s)
{
	return s->ops->changes(s);
}

int
store_begin(struct store *s)
{
	return s->ops->begin(s);
}

int
store_commit(struct store *s)
{
	return s->ops->commit(s);
}

int
store_rollback(struct store *s)
{
	return s->ops->rollback(s);
}

int
store_in_transaction(struct store *s)
{
	return s->ops->in_transaction(s);
}

int
store_savepoint(struct store *s, const char *name)
{
	return s->ops->savepoint(s, name);
}

int
store_release(struct store *s, const char *name)
{
	return s->ops->release(s, name);
}

int
store_rollback_to(struct store *s, const char *name)
{
	return s->ops->rollback_to(s, name);
}

int
store_migrate(struct store *s, const char *const *sqlite_migrations,
    const char *const *pg_migrations, size_t n, char *err, size_t errlen)
{
	return s->ops->migrate(s, s->kind == STORE_SQLITE ? sqlite_migrations : pg_migrations, n,
	    err, errlen);
}

int
store_version(struct store *s, char *err, size_t errlen)
{
	return s->ops->version(s, err, errlen);
}
