/* testdb.h: the database a test's ledger lives in: a SQLite file in the test's directory by
 * default, or, when OL_TEST_PG_URL_FILE names the url file of the PostgreSQL server the suite
 * started (scripts/pg-test-server.sh, ctest's fixture pg), a fresh database on that server. */
#ifndef OL_TESTDB_H
#define OL_TESTDB_H

/* 1 when the tests' databases are PostgreSQL (OL_TEST_PG_URL_FILE is set), else 0. */
int test_database_is_pg(void);

/* A database target for a ledger (olsync's `database`, ledger_open's and store_open's target):
 * tmpdir/name, or a new PostgreSQL database (CREATE DATABASE, a name unique to this call, name
 * in it) and its postgresql:// URI. NULL with a message on stderr when the server cannot be
 * used: for setups, so no test assertion. Caller frees. */
char *test_database(const char *tmpdir, const char *name);

/* Drops the PostgreSQL database target that test_database made (its connections ended first);
 * a SQLite target is left to its directory's removal. 0, or -1 with a message on stderr. */
int test_database_drop(const char *target);

/* The URI of the server's own database (postgres) from OL_TEST_PG_URL_FILE, or NULL (without
 * the variable, or with a message on stderr when the file cannot be read). Caller frees. */
char *test_database_server_url(void);

/* Empties target as if the ledger had never been: a SQLite file and its -wal and -shm are
 * removed; a PostgreSQL database loses every table (its public schema made anew). 0, or -1 with
 * a message on stderr. */
int test_database_clear(const char *target);

/* PostgreSQL only: every table of target with its row count and a digest of its rows, one line
 * each, for "nothing was written" checks; NULL on SQLite (compare the file) or with a message on
 * stderr. Caller frees. */
char *test_database_fingerprint(const char *target);

/* PostgreSQL only: ends every other connection to target's database as a failover or an
 * operator's pg_terminate_backend does (its clients see SQLSTATE 57P01 at their next call).
 * Returns how many were ended, or -1 with a message on stderr (on SQLite too). */
int test_database_cut(const char *target);

#endif
