/* store_pg.c: store.h on PostgreSQL through libpq. A statement's SQL is translated once (?N to
 * $N), prepared on the server at its first step under a name unique to the connection, run with
 * text parameters and text results, and its whole result read at once; store_step hands out the
 * rows. An idle connection the server ended is found and made again before the next begin,
 * exec or step outside a transaction; a connection lost under a statement fails the call (a
 * transient error) and is reset by the next call outside a transaction; inside one it stays an
 * error until rollback. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "log.h"
#include "store_impl.h"
#include "xmalloc.h"

#define PG_ERR_MAX		1024	/* bytes of the last error's message */
#define PG_PARAMS_MAX		65535	/* the protocol's limit on a statement's parameters */
#define PG_CONNECT_TIMEOUT	"10"	/* seconds, unless the URI says otherwise */
#define PG_INT64_LEN		24	/* "-9223372036854775808" and its NUL */
/* pg_advisory_xact_lock's key for migrations: "olsync" in ASCII. */
#define PG_MIGRATE_LOCK		"120628854926947"

struct pg_store {
	struct store	 base;
	PGconn		*conn;
	unsigned long	 gen;		/* bumped by each reset: older prepared names are gone */
	unsigned long	 next_name;	/* statement names, unique for the connection's life */
	int64_t		 changes;
	int		 in_tx;		/* between begin (or an outermost savepoint) and its end */
	char		*tx_savepoint;	/* the savepoint that began the transaction, or NULL */
	char		 sqlstate[6];	/* the last error's SQLSTATE, "" when it had none */
	int		 lost;		/* the last error was a lost connection */
	char		 err[PG_ERR_MAX];
	char		*password;	/* or NULL: kept to scrub it from messages */
};

struct pg_stmt {
	struct store_stmt base;
	char		*sql;		/* translated to $N */
	int		 nparams;
	const char	**values;	/* per parameter: borrowed text, ints[i], or NULL */
	char		(*ints)[PG_INT64_LEN];
	char		 name[32];
	unsigned long	 prepared_gen;	/* 0: not prepared on this connection yet */
	PGresult	*res;		/* the whole result of the last run, or NULL */
	int		 row;		/* the current row; -1 before the first */
};

static const struct store_ops pg_ops;

static struct pg_store *
pgs(struct store *s)
{
	return (struct pg_store *)s;
}

static struct pg_stmt *
pgst(struct store_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* Replaces each copy of secret in buf by "***": libpq does not echo the password, but a
 * message must never carry it whatever a server or a library version says. */
static void
scrub(char *buf, const char *secret)
{
	size_t n;
	char *p;

	if (secret == NULL || (n = strlen(secret)) == 0)
		return;
	while ((p = strstr(buf, secret)) != NULL) {
		if (n >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
		} else
			memset(p, '*', n);
	}
}

/* libpq's messages end in a newline and may hold several lines: one line for ours. */
static void
one_line(char *buf)
{
	size_t n = strlen(buf);

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

/* Records the failure of res (may be NULL: the connection's own message) as the last error. */
static void
set_error(struct pg_store *s, const PGresult *res, const char *what)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "";

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(s->conn);
	s->lost = PQstatus(s->conn) == CONNECTION_BAD;
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s",
	    state != NULL ? state : s->lost ? "08006" : "");
	snprintf(s->err, sizeof(s->err), "postgresql: %s: %s%s%s%s", what,
	    *msg != '\0' ? msg : "unknown error", *s->sqlstate != '\0' ? " (SQLSTATE " : "",
	    s->sqlstate, *s->sqlstate != '\0' ? ")" : "");
	one_line(s->err);
	scrub(s->err, s->password);
}

/* Records an error of ours (not the server's) with the SQLSTATE that fits it. */
static int
set_errorx(struct pg_store *s, const char *state, const char *msg)
{
	s->lost = 0;
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state);
	snprintf(s->err, sizeof(s->err), "%s", msg);
	return -1;
}

/* libpq's notices (a migration's "already exists, skipping", a server warning) go to our log,
 * not to its default of stderr. */
static void
notice_to_log(void *arg, const PGresult *res)
{
	struct pg_store *s = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char msg[PG_ERR_MAX];

	snprintf(msg, sizeof(msg), "%s", m != NULL ? m : "");
	one_line(msg);
	scrub(msg, s->password);
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		log_warnx("store: postgresql_warning sqlstate=%s message=\"%s\"",
		    state != NULL ? state : "", msg);
	else
		log_debug("store: postgresql_notice severity=%s sqlstate=%s message=\"%s\"",
		    sev != NULL ? sev : "", state != NULL ? state : "", msg);
}

/* An idle connection the server ended (its backend terminated, a failover, an idle timeout)
 * reads as CONNECTION_OK until something is read from it. What the server sent meanwhile is read
 * now, without waiting (libpq's socket is non-blocking): its last message, then the end of the
 * stream, mark the connection lost, so the loss is mended before the next statement is sent
 * instead of failing it. A connection with nothing to read costs one poll. */
static void
notice_hangup(struct pg_store *s)
{
	struct pollfd p;

	for (int i = 0; i < 4 && PQstatus(s->conn) == CONNECTION_OK; i++) {
		p.fd = PQsocket(s->conn);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0 || poll(&p, 1, 0) <= 0 || PQconsumeInput(s->conn) == 0)
			return;
	}
}

/* Outside a transaction a lost connection is made again; inside one the caller must roll back
 * first, since what the transaction did is gone with it. -1 when it is (still) lost. */
static int
ensure_connected(struct pg_store *s)
{
	if (!s->in_tx)
		notice_hangup(s);
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	if (s->in_tx) {
		set_errorx(s, "08006", "postgresql: the connection was lost inside a "
		    "transaction: roll back and begin again");
		s->lost = 1;
		return -1;
	}
	PQreset(s->conn);
	s->gen++;
	if (PQstatus(s->conn) != CONNECTION_OK) {
		set_error(s, NULL, "reconnecting");
		s->lost = 1;
		return -1;
	}
	log_info("store: postgresql_reconnected");
	return 0;
}

/* The rows a DML statement touched (RETURNING included); other commands leave changes alone,
 * as SQLite's do. */
static void
note_changes(struct pg_store *s, const PGresult *res)
{
	const char *status = PQcmdStatus((PGresult *)res), *n = PQcmdTuples((PGresult *)res);

	if (n == NULL || *n == '\0')
		return;
	if (strncmp(status, "INSERT ", 7) == 0 || strncmp(status, "UPDATE ", 7) == 0 ||
	    strncmp(status, "DELETE ", 7) == 0 || strncmp(status, "MERGE ", 6) == 0)
		s->changes = strtoll(n, NULL, 10);
}

/* Runs sql (one or more statements, no parameters) as a simple query. */
static int
run(struct pg_store *s, const char *sql, const char *what)
{
	PGresult *res = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		set_error(s, res, what);
		PQclear(res);
		return -1;
	}
	note_changes(s, res);
	PQclear(res);
	return 0;
}

static void
pg_close(struct store *base)
{
	struct pg_store *s = pgs(base);

	PQfinish(s->conn);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->tx_savepoint);
	free(s);
}

int
store_pg_open(const char *target, const char *password, struct store **out, char *err,
    size_t errlen)
{
	/* Ours first: what the URI says comes after and wins, and the password after that. The
	 * keepalives and the TCP user timeout make a server that vanished (a partition, a host
	 * gone) an error within about a minute instead of a call that never returns. */
	const char *keys[] = { "application_name", "connect_timeout", "client_encoding",
	    "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "dbname", "password", NULL };
	const char *vals[] = { "olsync", PG_CONNECT_TIMEOUT, "UTF8", "30", "10", "3", "60000",
	    target, password, NULL };
	struct pg_store *s;
	char msg[PG_ERR_MAX];

	*out = NULL;
	if (password == NULL)	/* the last pair: end the list before it */
		keys[sizeof(keys) / sizeof(keys[0]) - 2] = NULL;
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &pg_ops;
	s->base.kind = STORE_POSTGRESQL;
	s->gen = 1;
	s->password = password != NULL ? xstrdup(password) : NULL;
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL) {
		pg_close(&s->base);
		return err_set(err, errlen, "postgresql: out of memory");
	}
	PQsetNoticeReceiver(s->conn, notice_to_log, s);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
		one_line(msg);
		scrub(msg, password);
		pg_close(&s->base);
		return err_set(err, errlen, "postgresql: cannot connect: %s", msg);
	}
	*out = &s->base;
	return 0;
}

static const char *
pg_errmsg(struct store *base, char *buf, size_t len)
{
	snprintf(buf, len, "%s", pgs(base)->err);
	return buf;
}

static int
pg_error_is_transient(struct store *base)
{
	struct pg_store *s = pgs(base);
	static const char *const transient[] = {
		"40001",	/* serialization_failure */
		"40P01",	/* deadlock_detected */
		"55P03",	/* lock_not_available */
		"57P01",	/* admin_shutdown: the server stops or the backend was terminated */
		"57P02",	/* crash_shutdown */
		"57P03",	/* cannot_connect_now: the server is starting */
	};

	if (s->lost || strncmp(s->sqlstate, "08", 2) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strcmp(s->sqlstate, transient[i]) == 0)
			return 1;
	return 0;
}

static int
pg_exec(struct store *base, const char *sql)
{
	struct pg_store *s = pgs(base);

	if (ensure_connected(s) < 0)
		return -1;
	return run(s, sql, "exec");
}

char *
store_pg_translate(const char *sql, int *nparams)
{
	size_t len = strlen(sql);
	char *out = xmalloc(len * 6 + 1), *o = out;	/* "?" becomes at most "$65535" */
	const char *p = sql;
	int max = 0, depth;

	while (*p != '\0') {
		if (*p == '\'' || *p == '"') {
			char q = *p;

			*o++ = *p++;
			/* a doubled quote inside is one quote and stays inside */
			while (*p != '\0' && !(*p == q && p[1] != q))
				if (*p == q) {
					*o++ = *p++;
					*o++ = *p++;
				} else
					*o++ = *p++;
			if (*p != '\0')
				*o++ = *p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				*o++ = *p++;
		} else if (p[0] == '/' && p[1] == '*') {
			/* PostgreSQL's block comments nest */
			depth = 0;
			do {
				if (p[0] == '/' && p[1] == '*') {
					depth++;
					*o++ = *p++;
				} else if (p[0] == '*' && p[1] == '/') {
					depth--;
					*o++ = *p++;
				}
				*o++ = *p++;
			} while (*p != '\0' && depth > 0);
		} else if (*p == '?') {
			long n;
			char *end;

			p++;
			if (*p >= '0' && *p <= '9') {
				errno = 0;
				n = strtol(p, &end, 10);
				if (errno != 0 || n < 1 || n > PG_PARAMS_MAX)
					fatalx("store: parameter out of range in \"%s\"", sql);
				p = end;
			} else
				n = max + 1;
			if (n > PG_PARAMS_MAX)
				fatalx("store: parameter out of range in \"%s\"", sql);
			if (n > max)
				max = (int)n;
			o += snprintf(o, 8, "$%ld", n);	/* "$65535" and its NUL */
		} else
			*o++ = *p++;
	}
	*o = '\0';
	*nparams = max;
	return out;
}

static struct store_stmt *
pg_prepare(struct store *base, const char *sql)
{
	struct pg_store *s = pgs(base);
	struct pg_stmt *st = xcalloc(1, sizeof(*st));

	st->base.s = base;
	st->sql = store_pg_translate(sql, &st->nparams);
	if (st->nparams > 0) {
		st->values = xcalloc((size_t)st->nparams, sizeof(*st->values));
		st->ints = xcalloc((size_t)st->nparams, sizeof(*st->ints));
	}
	snprintf(st->name, sizeof(st->name), "olsync_%lu", ++s->next_name);
	st->row = -1;
	return &st->base;
}

static void
pg_finalize(struct store_stmt *base)
{
	struct pg_stmt *st = pgst(base);
	struct pg_store *s = pgs(base->s);
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);
	char sql[64];

	PQclear(st->res);
	/* Dropped on the server when that cannot disturb a transaction; otherwise it stays until
	 * the connection closes, which costs a little memory on the server and nothing else. */
	if (st->prepared_gen == s->gen && PQstatus(s->conn) == CONNECTION_OK &&
	    (ts == PQTRANS_IDLE || ts == PQTRANS_INTRANS)) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		PQclear(PQexec(s->conn, sql));
	}
	free(st->sql);
	free(st->values);
	free(st->ints);
	free(st);
}

static void
check_param(struct pg_stmt *st, int i)
{
	if (i < 1 || i > st->nparams)
		fatalx("store: no parameter %d in \"%s\"", i, st->sql);
}

static void
pg_bind_int64(struct store_stmt *base, int i, int64_t v)
{
	struct pg_stmt *st = pgst(base);

	check_param(st, i);
	snprintf(st->ints[i - 1], sizeof(st->ints[i - 1]), "%" PRId64, v);
	st->values[i - 1] = st->ints[i - 1];
}

static void
pg_bind_text(struct store_stmt *base, int i, const char *v)
{
	struct pg_stmt *st = pgst(base);

	check_param(st, i);
	st->values[i - 1] = v;
}

static void
pg_bind_null(struct store_stmt *base, int i)
{
	pg_bind_text(base, i, NULL);
}

static void
pg_clear_bindings(struct store_stmt *base)
{
	struct pg_stmt *st = pgst(base);

	for (int i = 0; i < st->nparams; i++)
		st->values[i] = NULL;
}

/* Prepares (once per connection) and runs the statement, keeping its whole result. */
static int
execute(struct pg_stmt *st)
{
	struct pg_store *s = pgs(st->base.s);
	PGresult *res;
	ExecStatusType rs;

	if (ensure_connected(s) < 0)
		return -1;
	if (st->prepared_gen != s->gen) {
		res = PQprepare(s->conn, st->name, st->sql, st->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_error(s, res, "prepare");
			PQclear(res);
			return -1;
		}
		PQclear(res);
		st->prepared_gen = s->gen;
	}
	res = PQexecPrepared(s->conn, st->name, st->nparams, st->values, NULL, NULL, 0);
	rs = PQresultStatus(res);
	if (res == NULL || (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)) {
		set_error(s, res, "step");
		PQclear(res);
		return -1;
	}
	note_changes(s, res);
	st->res = res;
	st->row = -1;
	return 0;
}

static int
pg_step(struct store_stmt *base)
{
	struct pg_stmt *st = pgst(base);

	if (st->res == NULL && execute(st) < 0)
		return STORE_ERROR;
	if (st->row + 1 < PQntuples(st->res)) {
		st->row++;
		return STORE_ROW;
	}
	st->row = PQntuples(st->res);
	return STORE_DONE;
}

static int
have_cell(struct pg_stmt *st, int col)
{
	return st->res != NULL && st->row >= 0 && st->row < PQntuples(st->res) && col >= 0 &&
	    col < PQnfields(st->res);
}

static int
pg_column_is_null(struct store_stmt *base, int col)
{
	struct pg_stmt *st = pgst(base);

	return !have_cell(st, col) || PQgetisnull(st->res, st->row, col);
}

static const char *
pg_column_text(struct store_stmt *base, int col)
{
	struct pg_stmt *st = pgst(base);

	if (pg_column_is_null(base, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

/* Results are text: an integer column reads back through strtoll. A boolean (a comparison's
 * value) reads 1 or 0, and a numeric's fraction is dropped, as SQLite's column_int64 does. */
static int64_t
pg_column_int64(struct store_stmt *base, int col)
{
	const char *v = pg_column_text(base, col);
	long long n;
	char *end;

	if (v == NULL)
		return 0;
	if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0)
		return *v == 't';
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end != v && errno == 0 &&
	    (*end == '\0' || (*end == '.' && strspn(end + 1, "0123456789") == strlen(end + 1))))
		return n;
	log_warnx("store: not_an_integer column=%d value=\"%.40s\"", col, v);
	return 0;
}

static void
pg_reset(struct store_stmt *base)
{
	struct pg_stmt *st = pgst(base);

	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
}

static int64_t
pg_changes(struct store *base)
{
	return pgs(base)->changes;
}

static int
pg_in_transaction(struct store *base)
{
	struct pg_store *s = pgs(base);

	switch (PQtransactionStatus(s->conn)) {
	case PQTRANS_IDLE:
		return 0;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
	case PQTRANS_ACTIVE:
		return 1;
	default:	/* lost: still one for us until rolled back */
		return s->in_tx;
	}
}

static void
tx_over(struct pg_store *s)
{
	s->in_tx = 0;
	free(s->tx_savepoint);
	s->tx_savepoint = NULL;
}

static int
pg_begin(struct store *base)
{
	struct pg_store *s = pgs(base);

	if (pg_in_transaction(base))
		return set_errorx(s, "25001",
		    "postgresql: begin: a transaction is already in progress");
	tx_over(s);	/* one ended by a COMMIT or ROLLBACK through store_exec */
	if (ensure_connected(s) < 0)
		return -1;
	/* A BEGIN that found the connection lost did nothing: it is sent again on a new one. */
	if (run(s, "BEGIN", "begin") < 0 &&
	    (!s->lost || ensure_connected(s) < 0 || run(s, "BEGIN", "begin") < 0))
		return -1;
	s->in_tx = 1;
	return 0;
}

static int
pg_rollback(struct store *base)
{
	struct pg_store *s = pgs(base);
	int rc = 0;

	/* On a lost connection the server rolled back already. */
	if (PQstatus(s->conn) == CONNECTION_OK)
		rc = run(s, "ROLLBACK", "rollback");
	tx_over(s);
	return rc;
}

static int
pg_commit(struct store *base)
{
	struct pg_store *s = pgs(base);

	/* PostgreSQL answers COMMIT of a failed transaction with a rollback and no error. */
	if (PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
		run(s, "ROLLBACK", "rollback");
		tx_over(s);
		return set_errorx(s, "25P02", "postgresql: commit: the transaction was "
		    "aborted by an earlier error and is rolled back");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		tx_over(s);
		set_errorx(s, "08006", "postgresql: commit: the connection was lost: the "
		    "transaction is rolled back");
		s->lost = 1;
		return -1;
	}
	if (run(s, "COMMIT", "commit") < 0) {
		tx_over(s);
		return -1;
	}
	tx_over(s);
	return 0;
}

/* Runs "<verb> <quoted name>". */
static int
run_named(struct pg_store *s, const char *verb, const char *name, const char *what)
{
	char *q = PQescapeIdentifier(s->conn, name, strlen(name)), *sql;
	int rc;

	if (q == NULL) {
		set_error(s, NULL, what);
		return -1;
	}
	sql = xasprintf("%s %s", verb, q);
	PQfreemem(q);
	rc = run(s, sql, what);
	free(sql);
	return rc;
}

/* Outside a transaction a savepoint begins one, as in SQLite: its release commits. */
static int
pg_savepoint(struct store *base, const char *name)
{
	struct pg_store *s = pgs(base);

	if (!s->in_tx) {
		if (pg_begin(base) < 0)
			return -1;
		s->tx_savepoint = xstrdup(name);
	}
	if (run_named(s, "SAVEPOINT", name, "savepoint") < 0) {
		if (s->tx_savepoint != NULL && strcmp(s->tx_savepoint, name) == 0)
			pg_rollback(base);
		return -1;
	}
	return 0;
}

static int
pg_release(struct store *base, const char *name)
{
	struct pg_store *s = pgs(base);

	if (s->tx_savepoint != NULL && strcmp(s->tx_savepoint, name) == 0)
		return pg_commit(base);
	return run_named(s, "RELEASE SAVEPOINT", name, "release");
}

static int
pg_rollback_to(struct store *base, const char *name)
{
	struct pg_store *s = pgs(base);

	if (s->tx_savepoint != NULL && strcmp(s->tx_savepoint, name) == 0)
		return pg_rollback(base);
	if (run_named(s, "ROLLBACK TO SAVEPOINT", name, "rollback_to") < 0)
		return -1;
	return run_named(s, "RELEASE SAVEPOINT", name, "release");
}

/* The version in schema_version, inside the caller's transaction; 0 without the table. */
static int
read_version(struct pg_store *s, int *version)
{
	PGresult *res;
	int rc = -1;

	res = PQexec(s->conn, "SELECT CASE WHEN to_regclass('schema_version') IS NULL "
	    "THEN 0 ELSE 1 END");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_error(s, res, "version");
		goto out;
	}
	*version = 0;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = PQexec(s->conn, "SELECT version FROM schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_error(s, res, "version");
		goto out;
	}
	if (PQntuples(res) > 0) {
		char *end;
		long v = strtol(PQgetvalue(res, 0, 0), &end, 10);

		if (*end != '\0' || v < 0 || v > INT_MAX) {
			set_errorx(s, "XX000", "postgresql: version: schema_version holds no version");
			goto out;
		}
		*version = (int)v;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

static int
pg_version(struct store *base, char *err, size_t errlen)
{
	struct pg_store *s = pgs(base);
	int v;

	if ((!s->in_tx && ensure_connected(s) < 0) || read_version(s, &v) < 0)
		return err_set(err, errlen, "%s", s->err);
	return v;
}

/* Each migration in its own transaction under the advisory lock, the version read again under
 * it: instances starting together take turns, and the second finds the work done. */
static int
pg_migrate(struct store *base, const char *const *pg_migrations, size_t n, char *err,
    size_t errlen)
{
	struct pg_store *s = pgs(base);
	char sql[128];
	int v;

	if (s->in_tx)
		return err_set(err, errlen, "postgresql: migrate: inside a transaction");
	for (;;) {
		if (pg_begin(base) < 0 ||
		    run(s, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", "migrate") < 0 ||
		    read_version(s, &v) < 0)
			goto fail;
		if ((size_t)v > n) {
			pg_rollback(base);
			return err_set(err, errlen, "the database's schema version %d is newer than "
			    "this olsync's %zu: use a newer olsync", v, n);
		}
		if ((size_t)v == n)
			return pg_commit(base) < 0 ? err_set(err, errlen, "%s", s->err) : 0;
		if (v == 0 && run(s, "CREATE TABLE IF NOT EXISTS schema_version ("
		    "only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),"
		    "version INTEGER NOT NULL);"
		    "INSERT INTO schema_version (version) VALUES (0) ON CONFLICT DO NOTHING",
		    "migrate") < 0)
			goto fail;
		if (run(s, pg_migrations[v], "migrate") < 0) {
			char what[PG_ERR_MAX];

			snprintf(what, sizeof(what), "%s", s->err);
			pg_rollback(base);
			return err_set(err, errlen, "migration %d: %s", v + 1, what);
		}
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v + 1);
		if (run(s, sql, "migrate") < 0 || pg_commit(base) < 0)
			goto fail;
	}
fail:
	err_set(err, errlen, "%s", s->err);
	if (s->in_tx)
		pg_rollback(base);
	return -1;
}

static const struct store_ops pg_ops = {
	.close = pg_close,
	.errmsg = pg_errmsg,
	.error_is_transient = pg_error_is_transient,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.clear_bindings = pg_clear_bindings,
	.step = pg_step,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_is_null = pg_column_is_null,
	.reset = pg_reset,
	.changes = pg_changes,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_transaction = pg_in_transaction,
	.savepoint = pg_savepoint,
	.release = pg_release,
	.rollback_to = pg_rollback_to,
	.migrate = pg_migrate,
	.version = pg_version,
};
