/* store_impl.h: what a backend of store.h provides (private to store.c and the backends).
 * Each backend's connection starts with struct store, and each of its statements with struct
 * store_stmt, so store.c dispatches through ops without knowing either backend. */
#ifndef OL_STORE_IMPL_H
#define OL_STORE_IMPL_H

#include "store.h"

/* One function per store.h call, named after it without the store_ prefix; same contracts. */
struct store_ops {
	void (*close)(struct store *s);
	const char *(*errmsg)(struct store *s, char *buf, size_t len);
	int (*error_is_transient)(struct store *s);
	int (*exec)(struct store *s, const char *sql);
	struct store_stmt *(*prepare)(struct store *s, const char *sql);
	void (*finalize)(struct store_stmt *st);
	void (*bind_int64)(struct store_stmt *st, int i, int64_t v);
	void (*bind_text)(struct store_stmt *st, int i, const char *v);
	void (*bind_null)(struct store_stmt *st, int i);
	void (*clear_bindings)(struct store_stmt *st);
	int (*step)(struct store_stmt *st);
	int64_t (*column_int64)(struct store_stmt *st, int col);
	const char *(*column_text)(struct store_stmt *st, int col);
	int (*column_is_null)(struct store_stmt *st, int col);
	void (*reset)(struct store_stmt *st);
	int64_t (*changes)(struct store *s);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*in_transaction)(struct store *s);
	int (*savepoint)(struct store *s, const char *name);
	int (*release)(struct store *s, const char *name);
	int (*rollback_to)(struct store *s, const char *name);
	int (*migrate)(struct store *s, const char *const *sqlite_migrations,
	    const char *const *pg_migrations, size_t n, char *err, size_t errlen);
	int (*version)(struct store *s, char *err, size_t errlen);
};

struct store {
	const struct store_ops	*ops;
	enum store_kind		 kind;
};

struct store_stmt {
	struct store		*store;	/* the connection it was prepared on */
};

/* The backends' open calls (store_open's contract). */
int store_pg_open(const char *target, const char *password, struct store **out, char *err,
    size_t errlen);

/* store_pg.c's SQL for the server: ?N as $N and a bare ? as the next number (SQLite's rule: one
 * more than the largest so far), outside string literals, quoted identifiers and comments; the
 * highest number in *nparams. A number out of 1..65535 aborts (the SQL is ours). Caller frees.
 * Here for test_store. */
char *store_pg_translate(const char *sql, int *nparams);

#endif
