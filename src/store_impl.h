/* store_impl.h: what a store.h backend provides, private to store.c and the backends.
 *
 * A backend's handle and statement embed struct store and struct store_stmt as their first
 * member; store.c checks nothing and forwards each call through the handle's ops. The backend
 * owns everything behind its handle: close frees it, finalize frees a statement. */
#ifndef OL_STORE_IMPL_H
#define OL_STORE_IMPL_H

#include "store.h"

struct store_ops;

struct store {
	enum store_kind		 kind;
	const struct store_ops	*ops;
};

struct store_stmt {
	struct store		*s;	/* the handle that prepared it */
};

/* One entry per store.h call, with the same meaning; migrate gets this backend's list only. */
struct store_ops {
	void		 (*close)(struct store *);
	const char	*(*errmsg)(struct store *, char *, size_t);
	int		 (*error_is_transient)(struct store *);
	int		 (*exec)(struct store *, const char *);
	struct store_stmt *(*prepare)(struct store *, const char *);
	void		 (*finalize)(struct store_stmt *);
	void		 (*bind_int64)(struct store_stmt *, int, int64_t);
	void		 (*bind_text)(struct store_stmt *, int, const char *);
	void		 (*bind_null)(struct store_stmt *, int);
	void		 (*clear_bindings)(struct store_stmt *);
	int		 (*step)(struct store_stmt *);
	int64_t		 (*column_int64)(struct store_stmt *, int);
	const char	*(*column_text)(struct store_stmt *, int);
	int		 (*column_is_null)(struct store_stmt *, int);
	void		 (*reset)(struct store_stmt *);
	int64_t		 (*changes)(struct store *);
	int		 (*begin)(struct store *);
	int		 (*commit)(struct store *);
	int		 (*rollback)(struct store *);
	int		 (*in_transaction)(struct store *);
	int		 (*savepoint)(struct store *, const char *);
	int		 (*release)(struct store *, const char *);
	int		 (*rollback_to)(struct store *, const char *);
	int		 (*migrate)(struct store *, const char *const *, size_t, char *, size_t);
	int		 (*version)(struct store *, char *, size_t);
};

/* The backends' openers; store_open picks one by the target. */
int store_sqlite_open(const char *path, struct store **out, char *err, size_t errlen);
#ifdef OLSYNC_WITH_POSTGRESQL
int store_pg_open(const char *uri, const char *password, struct store **out, char *err,
    size_t errlen);
/* store_pg.c's SQL for the server: ?N as $N and a bare ? as the next number (SQLite's rule: one
 * more than the largest so far), outside string literals, quoted identifiers and comments; the
 * highest number in *nparams. A number out of 1..65535 aborts (the SQL is ours). Caller frees.
 * Here for test_store. */
char *store_pg_translate(const char *sql, int *nparams);
#endif

#endif
