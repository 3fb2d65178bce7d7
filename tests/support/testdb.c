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

/* Runs one statement on the server's own database: 0, or -1 with a message on stderr. */
static int
server_exec(const char *sql)
{
	char *url = test_database_server_url();
	PGconn *conn;
	PGresult *res;
	int rc = -1;

	if (url == NULL)
		return -1;
	conn = PQconnectdb(url);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "testdb: cannot connect to %s: %s", url, PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "testdb: %s: %s", sql, PQresultErrorMessage(res));
	else
		rc = 0;
	PQclear(res);
out:
	PQfinish(conn);
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
