/* testdb.c: a ledger's database for a test, SQLite or PostgreSQL (testdb.h). */
#include "testdb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tmpdir.h"
#include "xmalloc.h"

#define TESTDB_URL_MAX	4096

int
test_database_is_pg(void)
{
	const char *f = getenv("OL_TEST_PG_URL_FILE");

	return f != NULL && *f != '\0';
}

char *
test_database_server_url(void)
{
	const char *f = getenv("OL_TEST_PG_URL_FILE");
	char *url;

	if (f == NULL || *f == '\0')
		return NULL;
	url = tmpdir_read(f, TESTDB_URL_MAX);
	url[strcspn(url, "\r\n")] = '\0';
	if (url[0] == '\0') {
		fprintf(stderr, "testdb: no URI in %s (is the pg fixture's server up?)\n", f);
		free(url);
		return NULL;
	}
	return url;
}

/* url with its database (the path after the host) replaced by db; the query is kept. */
static char *
with_database(const char *url, const char *db)
{
	const char *host = strstr(url, "://"), *path, *query;

	host = host != NULL ? host + 3 : url;
	path = host + strcspn(host, "/?");
	query = strchr(path, '?');
	return xasprintf("%.*s/%s%s", (int)(path - url), url, db, query != NULL ? query : "");
}

/* One connection to target's PostgreSQL database, or NULL with a message on stderr. */
static PGconn *
connect_target(const char *target)
{
	PGconn *c = PQconnectdb(target);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "testdb: %s: %s", target, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs sql (no rows) on target's database; 0, or -1 with a message on stderr. */
static int
target_exec(const char *target, const char *sql)
{
	PGconn *c = connect_target(target);
	PGresult *res;
	int rc = -1;

	if (c == NULL)
		return -1;
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "testdb: %s: %s", sql, PQresultErrorMessage(res));
	else
		rc = 0;
	PQclear(res);
	PQfinish(c);
	return rc;
}

/* Runs sql on the server's own database. */
static int
server_exec(const char *sql)
{
	char *url = test_database_server_url();
	int rc;

	if (url == NULL)
		return -1;
	rc = target_exec(url, sql);
	free(url);
	return rc;
}

char *
test_database(const char *tmpdir, const char *name)
{
	static unsigned counter;
	char db[64], *url, *uri = NULL, *sql;
	size_t n;

	if (!test_database_is_pg())
		return xasprintf("%s/%s", tmpdir, name);
	if ((url = test_database_server_url()) == NULL)
		return NULL;
	/* olsync_<name's letters and digits>_<pid>_<count>_<time>: unique across the suite's
	 * programs, which run one after another or side by side on one server. */
	n = (size_t)snprintf(db, sizeof(db), "olsync_");
	for (const char *c = name; *c != '\0' && n < 24; c++)
		if (isalnum((unsigned char)*c))
			db[n++] = (char)tolower((unsigned char)*c);
	snprintf(db + n, sizeof(db) - n, "_%ld_%u_%lld", (long)getpid(), ++counter,
	    (long long)time(NULL) % 100000);
	sql = xasprintf("CREATE DATABASE %s", db);
	if (server_exec(sql) == 0)
		uri = with_database(url, db);
	free(sql);
	free(url);
	return uri;
}

int
test_database_drop(const char *target)
{
	const char *host = strstr(target, "://"), *path;
	char *sql;
	int rc;

	if (!test_database_is_pg() || host == NULL)
		return 0;
	path = strchr(host + 3, '/');
	if (path == NULL)
		return 0;
	/* the name test_database made: letters, digits and '_' only, so no quoting */
	sql = xasprintf("DROP DATABASE IF EXISTS %.*s WITH (FORCE)", (int)strcspn(path + 1, "?"),
	    path + 1);
	rc = server_exec(sql);
	free(sql);
	return rc;
}

int
test_database_clear(const char *target)
{
	static const char *const files[] = { "", "-wal", "-shm", "-journal" };

	if (!test_database_is_pg()) {
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char *path = xasprintf("%s%s", target, files[i]);

			if (unlink(path) == -1 && i == 0) {
				fprintf(stderr, "testdb: unlink %s failed\n", path);
				free(path);
				return -1;
			}
			free(path);
		}
		return 0;
	}
	return target_exec(target, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

char *
test_database_fingerprint(const char *target)
{
	PGresult *tables, *r;
	PGconn *c;
	char *out = xstrdup(""), *next;

	if (!test_database_is_pg() || (c = connect_target(target)) == NULL)
		return NULL;
	tables = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
	    " ORDER BY tablename");
	for (int i = 0; PQresultStatus(tables) == PGRES_TUPLES_OK && i < PQntuples(tables); i++) {
		const char *t = PQgetvalue(tables, i, 0);
		/* the table names are the ledger's own: plain identifiers, no quoting needed */
		char *sql = xasprintf("SELECT count(*), coalesce(md5(string_agg(x::text, '|'"
		    " ORDER BY x::text)), '') FROM %s x", t);

		r = PQexec(c, sql);
		free(sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "testdb: fingerprint %s: %s", t, PQerrorMessage(c));
			PQclear(r);
			free(out);
			out = NULL;
			break;
		}
		next = xasprintf("%s%s %s %s\n", out, t, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
		free(out);
		out = next;
		PQclear(r);
	}
	PQclear(tables);
	PQfinish(c);
	return out;
}

int
test_database_cut(const char *target)
{
	PGconn *c;
	PGresult *res;
	int n = -1;

	if (!test_database_is_pg()) {
		fprintf(stderr, "testdb: test_database_cut: %s is not a PostgreSQL database\n",
		    target);
		return -1;
	}
	if ((c = connect_target(target)) == NULL)
		return -1;
	res = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND pid <> pg_backend_pid()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fprintf(stderr, "testdb: cutting %s's connections: %s", target,
		    PQresultErrorMessage(res));
	else
		n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return n;
}
