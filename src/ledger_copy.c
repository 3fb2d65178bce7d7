/* ledger_copy.c: every row of every ledger table, read from one store and written to another
 * (ledger_copy.h). Values travel as text: both backends take an integer's text for an integer
 * column, and NULL stays NULL. The sightings' order travels too: SQLite's rowid is PostgreSQL's
 * seq. The tables and columns are those of schema version 8 (ledger.c's
 * migrations); a ledger at another version is refused rather than copied in part. */
#include "ledger_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "xmalloc.h"

struct copy_table {
	const char	*name;
	const char	*columns;	/* quoted: some are keywords ("key", "until") */
	int		 ncolumns;
	int		 ordered;	/* its rows' order is SQLite's rowid, PostgreSQL's seq */
};

/* Version 8. messages before sightings, meetings before meeting_copies (foreign keys). */
static const struct copy_table tables[] = {
	{ "messages", "\"id\", \"key\", \"ext_id\", \"direction\", \"state\", \"reason\", "
	    "\"last_error\", \"attempts\", \"due_at\", \"received_at\", \"first_seen\", "
	    "\"updated_at\", \"task_id\", \"email_message_id\", \"lead_id\", \"who_id\", "
	    "\"what_id\", \"data\", \"recent\", \"lease_owner\", \"lease_until\"", 21, 0 },
	{ "sightings", "\"message_id\", \"mailbox\", \"folder\", \"graph_id\", \"direction\", "
	    "\"seen_at\"", 6, 1 },
	{ "delta_state", "\"mailbox\", \"folder\", \"link\", \"window_start\", \"updated_at\"", 5, 0 },
	{ "lead_claims", "\"address\", \"lead_id\", \"claimed_at\", \"updated_at\", \"owner\"", 5,
	    0 },
	{ "rr_cursors", "\"pool\", \"cursor\"", 2, 0 },
	{ "kv", "\"key\", \"value\"", 2, 0 },
	{ "subscriptions", "\"id\", \"mailbox\", \"kind\", \"client_state\", "
	    "\"notification_url\", \"expires_at\", \"created_at\", \"renewed_at\", \"action\"", 9, 0 },
	{ "dirty_folders", "\"mailbox\", \"folder\", \"gen\", \"marked_at\"", 4, 0 },
	{ "meetings", "\"key\", \"state\", \"sf_event_id\", \"opportunity_id\", "
	    "\"owner_mailbox\", \"start_at\", \"written\", \"attempts\", \"next_attempt_at\", "
	    "\"last_error\", \"changed_at\", \"updated_at\"", 12, 0 },
	{ "meeting_copies", "\"mailbox\", \"graph_id\", \"key\", \"response\", \"attending\", "
	    "\"ever_attending\", \"cancelled\", \"start_at\", \"data\", \"updated_at\"", 10, 0 },
	{ "opp_next", "\"opportunity_id\", \"written\", \"marked\"", 3, 0 },
	{ "api_calls", "\"at\", \"calls\"", 2, 0 },
	{ "backfills", "\"mailbox\", \"folder\", \"since\", \"until\", \"link\", \"done\", "
	    "\"pages\", \"messages\", \"updated_at\"", 9, 0 },
	{ "leases", "\"name\", \"owner\", \"expires_at\"", 3, 0 },
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

const char *
ledger_copy_table(size_t i)
{
	return i < NTABLES ? tables[i].name : NULL;
}

static int
store_err(struct store *s, const char *side, const char *what, char *err, size_t errlen)
{
	char msg[512];

	return err_set(err, errlen, "%s: %s: %s", side, what, store_errmsg(s, msg, sizeof(msg)));
}

static int
check_version(struct store *s, const char *side, char *err, size_t errlen)
{
	char msg[512];
	int v = store_version(s, msg, sizeof(msg));

	if (v < 0)
		return err_set(err, errlen, "%s: %s", side, msg);
	if (v != LEDGER_COPY_VERSION)
		return err_set(err, errlen, "%s: the ledger's schema is at version %d; this copy "
		    "knows version %d", side, v, LEDGER_COPY_VERSION);
	return 0;
}

/* -1 unless table is empty in to. */
static int
check_empty(struct store *to, const char *table, char *err, size_t errlen)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	struct store_stmt *st = store_prepare(to, sql);
	int rc = -1;

	if (store_step(st) != STORE_ROW)
		store_err(to, "destination", table, err, errlen);
	else if (store_column_int64(st, 0) != 0)
		err_set(err, errlen, "destination: not empty: table %s has %lld rows", table,
		    (long long)store_column_int64(st, 0));
	else
		rc = 0;
	store_finalize(st);
	free(sql);
	return rc;
}

/* The column that keeps a table's insertion order on kind's backend (ledger.c: sightings are
 * read in the order they were recorded). */
static const char *
order_column(struct store *s)
{
	return store_kind(s) == STORE_SQLITE ? "rowid" : "\"seq\"";
}

static int
copy_table(struct store *from, struct store *to, const struct copy_table *t, char *err,
    size_t errlen)
{
	char *sel, *ins;
	struct store_stmt *rd, *wr;
	size_t len = 80 + strlen(t->columns) + strlen(t->name) + (size_t)t->ncolumns * 8, n;
	int rc = -1, step, ncolumns = t->ncolumns + (t->ordered ? 1 : 0);

	sel = xasprintf("SELECT %s%s%s FROM %s", t->columns, t->ordered ? ", " : "",
	    t->ordered ? order_column(from) : "", t->name);
	ins = xmalloc(len);
	n = (size_t)snprintf(ins, len, "INSERT INTO %s (%s%s%s) VALUES (", t->name, t->columns,
	    t->ordered ? ", " : "", t->ordered ? order_column(to) : "");
	for (int i = 1; i <= ncolumns; i++)
		n += (size_t)snprintf(ins + n, len - n, "%s?%d", i > 1 ? ", " : "", i);
	snprintf(ins + n, len - n, ")");
	rd = store_prepare(from, sel);
	wr = store_prepare(to, ins);
	while ((step = store_step(rd)) == STORE_ROW) {
		store_clear_bindings(wr);
		for (int c = 0; c < ncolumns; c++)
			store_bind_text(wr, c + 1, store_column_text(rd, c));	/* NULL binds NULL */
		if (store_step(wr) != STORE_DONE) {
			store_err(to, "destination", t->name, err, errlen);
			goto out;
		}
		store_reset(wr);
	}
	if (step != STORE_DONE) {
		store_err(from, "source", t->name, err, errlen);
		goto out;
	}
	rc = 0;
out:
	store_finalize(rd);
	store_finalize(wr);
	free(sel);
	free(ins);
	return rc;
}

/* PostgreSQL: the sequence (serial or identity) of a table's column past the largest copied
 * value, so the next row does not collide with one copied. */
static int
bump_sequence(struct store *to, const char *table, const char *column, char *err,
    size_t errlen)
{
	char *sql = xasprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'), max(%s)) "
	    "FROM %s HAVING max(%s) IS NOT NULL AND pg_get_serial_sequence('%s', '%s') "
	    "IS NOT NULL", table, column, column, table, column, table, column);
	int rc = store_exec(to, sql);

	free(sql);
	return rc < 0 ? store_err(to, "destination", table, err, errlen) : 0;
}

int
ledger_copy(struct store *from, struct store *to, char *err, size_t errlen)
{
	size_t i;

	if (check_version(from, "source", err, errlen) < 0 ||
	    check_version(to, "destination", err, errlen) < 0)
		return -1;
	if (store_begin(from) < 0)
		return store_err(from, "source", "begin", err, errlen);
	if (store_begin(to) < 0) {
		store_rollback(from);
		return store_err(to, "destination", "begin", err, errlen);
	}
	for (i = 0; i < NTABLES; i++)
		if (check_empty(to, tables[i].name, err, errlen) < 0)
			goto fail;
	for (i = 0; i < NTABLES; i++)
		if (copy_table(from, to, &tables[i], err, errlen) < 0)
			goto fail;
	/* the generated keys: messages.id, and sightings.seq (the order) */
	if (store_kind(to) == STORE_POSTGRESQL &&
	    (bump_sequence(to, "messages", "id", err, errlen) < 0 ||
	    bump_sequence(to, "sightings", "seq", err, errlen) < 0))
		goto fail;
	if (store_commit(to) < 0) {
		store_err(to, "destination", "commit", err, errlen);
		goto fail;
	}
	store_rollback(from);	/* it only read */
	return 0;
fail:
	if (store_in_transaction(to))
		store_rollback(to);
	store_rollback(from);
	return -1;
}
