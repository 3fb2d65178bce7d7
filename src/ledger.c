/* ledger.c: the ledger on store.h, SQLite or PostgreSQL (see ledger.h for the model and the
 * state machine). Its SQL is written once in the dialect both accept (store.h); the few
 * statements that must differ are chosen by BY_KIND, both texts side by side.
 *
 * messages	one row per normalized internetMessageId. due_at orders the open (pending, failed)
 *		messages: 0 for pending, so they always come first, next_attempt_at for failed.
 *		data is the part of the message the engine writes (ingest.c's trimmed copy: subject,
 *		preview, addresses, the filter's headers) while the message is open, so that a
 *		backfill needs neither memory nor a Graph read per message between reading and
 *		writing; it is dropped when the message ends (logged, skipped, dead). No body is
 *		stored, and nothing of a message once it is done: the ledger answers "what
 *		happened", Graph and Salesforce hold the content.
 * sightings	one row per copy (mailbox, immutable graph id) of a message
 * delta_state	per (mailbox, folder): the delta link (NULL: start from window_start)
 * lead_claims	per lower-cased sender address: the Lead made for it, or a claim in progress
 * rr_cursors	per owner pool: how many assignments were handed out
 * kv		small named values
 * subscriptions	per Graph subscription id: what it watches, its clientState, its expiry
 * dirty_folders	per (mailbox, folder) a notification marked: a generation and the first
 *		unread mark's time
 * meetings	one row per meeting key: its sync state and what was last written for it.
 *		changed_at orders the pending ones (the oldest unhandled change first).
 * meeting_copies	per (mailbox, Graph event id): which meeting it is a copy of, and the rep's
 *		response and the event's fields as calendar.c gave them
 * opp_next	per Opportunity: the Next_Meeting_Date__c olsync last wrote, and when it was
 *		marked for a recompute (0: not marked)
 * api_calls	olsync's own Salesforce API calls per bucket of time (budget.c), the last day
 *		or so: the start of the bucket and the calls counted in it
 *
 * Times are Unix seconds. Statements are prepared once per handle and kept (prepare/release
 * below): parsing SQL was a quarter of a backfill's CPU.
 *
 * Several writers. On SQLite every call that writes more than one statement holds the write
 * lock (BEGIN IMMEDIATE), so callers are serialized. On PostgreSQL several olsync processes
 * share the tables under READ COMMITTED, where each statement sees what was committed when it
 * started and a write waits for the row another transaction holds, then re-checks its WHERE on
 * the row as it now is. So nothing here reads a row in one statement and writes what it read in
 * another; each read-then-write is one of:
 *   record_sighting	INSERT .. ON CONFLICT DO NOTHING RETURNING id (the loser waits for the
 *			winner's commit, then finds its row), the copy the same way (changes()
 *			says whose it is), direction and data by conditional UPDATEs
 *			(state open, direction not yet outbound, data still NULL).
 *   lead_claim		three atomic steps: the INSERT (one winner), the takeover of a stale
 *			claim by an UPDATE whose WHERE is the staleness (one winner: the loser
 *			re-reads the fresh claim), then a read for KNOWN or BUSY.
 *   lead_set, lead_release	an upsert; a DELETE only of an unfinished claim.
 *   rr_next		one upsert cursor = cursor + 1 RETURNING the old value: distinct turns
 *			(two processes, 800 turns, 800 distinct values on PostgreSQL 15).
 *   kv_set, delta_set, backfill_set, sub_put, opp_written	upserts: last writer wins,
 *			which is what they mean (one owner per mailbox or value).
 *   dirty_mark		upsert gen = gen + 1; dirty_done deletes only the gen it read, so a
 *			mark that arrived meanwhile survives.
 *   meeting_copy_put	the copy is read FOR UPDATE on PostgreSQL and replaced only if it
 *			still belongs to the meeting read (NULL: none, so a copy inserted
 *			meanwhile makes the upsert change nothing and the call reads again).
 *   meeting_copy_remove	DELETE .. RETURNING key, then the meeting touched.
 *   meeting_touch, opp_mark	upserts whose new values are CASEs of the row's own.
 *   mark_logged, mark_skipped, mark_dead, note_sf_ids, meeting_done	UPDATE .. WHERE state
 *			is open: of two writers one makes the transition, the other is refused.
 *   mark_failed, meeting_failed	one UPDATE .. RETURNING state: attempts counted under
 *			the row lock.
 *   retry_dead, meeting_retry_dead, lead_orphan_claims	one UPDATE each.
 *   api_add		upsert calls = calls + n (floored at 0), then a DELETE of old buckets.
 *   next_pending, next_pending_since, meeting_due, opp_marked	read only: two processes
 *			may be handed the same rows; the marks above keep the outcome single,
 *			and the leases of several instances (deployment.md) keep the work apart.
 * Not closed here, and left to those leases: lead_orphan_claims assumes one olsync per ledger
 * (it would orphan a live instance's claims); a meeting touched by one instance while another
 * writes its Event, or an Opportunity marked while another writes its date, loses that change
 * when meeting_done or opp_written lands after it (a change counter needs a schema change). */
#include "ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "xmalloc.h"

/* Statements kept prepared, by the address of their SQL text (a string literal): parsing a
 * statement cost a quarter of a backfill's CPU when every call prepared its own. */
#define STMT_CACHE	64

struct cached_stmt {
	const char	*sql;
	struct store_stmt	*st;
	int		 busy;	/* handed out by prepare, not yet back through release */
};

struct ledger {
	struct store *s;
	int	 in_tx;		/* inside ledger_begin .. ledger_commit/rollback */
	int	 transient;	/* the last failure of the database was "try again" */
	int	 max_attempts;
	char	 err[512];
	struct cached_stmt cache[STMT_CACHE];
	size_t	 ncache;
	char	 owner[LEDGER_OWNER_MAX + 1];	/* ledger_set_owner; "" for none */
};

/* The schema grows only by appending a migration, to both lists. */
static const char *const migrations[] = {
	"CREATE TABLE messages (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
	"  ext_id TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'skipped', 'logged', 'failed', 'dead')),"
	"  reason TEXT, last_error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
	"  due_at INTEGER NOT NULL DEFAULT 0, received_at INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  task_id TEXT, email_message_id TEXT, lead_id TEXT, who_id TEXT, what_id TEXT);"
	"CREATE INDEX messages_open ON messages (due_at, id)"
	"  WHERE state IN ('pending', 'failed');"
	"CREATE INDEX messages_state ON messages (state, updated_at);"
	"CREATE INDEX messages_ext_id ON messages (ext_id);"
	"CREATE TABLE sightings (message_id INTEGER NOT NULL REFERENCES messages (id),"
	"  mailbox TEXT NOT NULL, folder TEXT NOT NULL, graph_id TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),"
	"  seen_at INTEGER NOT NULL, PRIMARY KEY (mailbox, graph_id));"
	"CREATE INDEX sightings_message ON sightings (message_id);"
	"CREATE TABLE delta_state (mailbox TEXT NOT NULL, folder TEXT NOT NULL, link TEXT,"
	"  window_start INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (mailbox, folder));"
	"CREATE TABLE lead_claims (address TEXT PRIMARY KEY, lead_id TEXT, claimed_at INTEGER,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE rr_cursors (pool TEXT PRIMARY KEY, cursor INTEGER NOT NULL);"
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",

	"CREATE TABLE subscriptions (id TEXT PRIMARY KEY, mailbox TEXT NOT NULL,"
	"  kind TEXT NOT NULL, client_state TEXT NOT NULL, notification_url TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	"  renewed_at INTEGER NOT NULL,"
	"  action TEXT CHECK (action IN ('renew', 'recreate')));"
	"CREATE TABLE dirty_folders (mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
	"  gen INTEGER NOT NULL, marked_at INTEGER NOT NULL, PRIMARY KEY (mailbox, folder));",

	"CREATE TABLE meetings (key TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'done', 'failed', 'dead')),"
	"  sf_event_id TEXT, opportunity_id TEXT, owner_mailbox TEXT,"
	"  start_at INTEGER NOT NULL DEFAULT 0, written TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT, changed_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE INDEX meetings_open ON meetings (state, changed_at)"
	"  WHERE state IN ('pending', 'failed');"
	"CREATE INDEX meetings_opportunity ON meetings (opportunity_id, start_at)"
	"  WHERE state = 'done' AND sf_event_id IS NOT NULL;"
	"CREATE TABLE meeting_copies (mailbox TEXT NOT NULL, graph_id TEXT NOT NULL,"
	"  key TEXT NOT NULL REFERENCES meetings (key), response TEXT NOT NULL,"
	"  attending INTEGER NOT NULL, ever_attending INTEGER NOT NULL,"
	"  cancelled INTEGER NOT NULL, start_at INTEGER NOT NULL, data TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL, PRIMARY KEY (mailbox, graph_id));"
	"CREATE INDEX meeting_copies_key ON meeting_copies (key);"
	"CREATE TABLE opp_next (opportunity_id TEXT PRIMARY KEY, written TEXT,"
	"  marked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX opp_next_marked ON opp_next (marked, opportunity_id) WHERE marked <> 0;",

	/* Rows from before it have no copy: the engine reads those from Graph. */
	"ALTER TABLE messages ADD COLUMN data TEXT;",

	"CREATE TABLE api_calls (at INTEGER PRIMARY KEY, calls INTEGER NOT NULL);"
	"CREATE INDEX messages_open_received ON messages (received_at)"
	"  WHERE state IN ('pending', 'failed');",

	/* `olsync backfill`: how far each folder of a range was read (dry-run copies it). */
	"CREATE TABLE backfills (mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
	"  since INTEGER NOT NULL, until INTEGER NOT NULL, link TEXT,"
	"  done INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,"
	"  messages INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (mailbox, folder, since, until));",

	/* Indexes whose inserts land at random places cost a backfill about a leaf page written
	 * per email each (bench/perf.sh, olsync's write syscalls and CPU per 1,000 emails): the
	 * digest's, looked up only by an operator (`olsync show`, a retry from the dashboard),
	 * now reads the table (ledger_get_by_ext_id); and received_at's over every open message,
	 * which a backfill of old mail filled in no order. Only mail received within
	 * LEDGER_RECENT of being recorded is indexed now (recent, set at its first sighting):
	 * live mail, recorded as it arrives, so the index grows at its end. Open rows of an
	 * older ledger are all marked recent: more than needed, never less. */
	"DROP INDEX IF EXISTS messages_ext_id;"
	"DROP INDEX IF EXISTS messages_open_received;"
	"ALTER TABLE messages ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;"
	"UPDATE messages SET recent = 1 WHERE state IN ('pending', 'failed');"
	"CREATE INDEX messages_open_recent ON messages (received_at)"
	"  WHERE recent <> 0 AND state IN ('pending', 'failed');",

	/* Several instances on one database: leases (expires_at in Unix ms), the batch a message
	 * is claimed for (lease_until in Unix seconds), and whose instance made a Lead claim. */
	"CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"ALTER TABLE messages ADD COLUMN lease_owner TEXT;"
	"ALTER TABLE messages ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_lease ON messages (lease_owner) WHERE lease_owner IS NOT NULL;"
	"ALTER TABLE lead_claims ADD COLUMN owner TEXT;",
};

/*
 * The same schema on PostgreSQL, entry i making what SQLite's entry i makes: BIGINT for SQLite's
 * INTEGER, an identity column for messages.id (SQLite's INTEGER PRIMARY KEY), and text compared
 * byte by byte (COLLATE "C", SQLite's BINARY), so every ORDER BY sorts as it does on SQLite.
 * sightings has an explicit seq where SQLite orders by its rowid (the first copy recorded).
 */
#define PG_TEXT	"TEXT COLLATE \"C\""
static const char *const pg_migrations[] = {
	"CREATE TABLE messages (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  key " PG_TEXT " NOT NULL UNIQUE, ext_id " PG_TEXT " NOT NULL,"
	"  direction " PG_TEXT " NOT NULL CHECK (direction IN ('inbound', 'outbound')),"
	"  state " PG_TEXT " NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'skipped', 'logged', 'failed', 'dead')),"
	"  reason " PG_TEXT ", last_error " PG_TEXT ", attempts BIGINT NOT NULL DEFAULT 0,"
	"  due_at BIGINT NOT NULL DEFAULT 0, received_at BIGINT NOT NULL DEFAULT 0,"
	"  first_seen BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	"  task_id " PG_TEXT ", email_message_id " PG_TEXT ", lead_id " PG_TEXT ","
	"  who_id " PG_TEXT ", what_id " PG_TEXT ");"
	"CREATE INDEX messages_open ON messages (due_at, id)"
	"  WHERE state IN ('pending', 'failed');"
	"CREATE INDEX messages_state ON messages (state, updated_at);"
	"CREATE INDEX messages_ext_id ON messages (ext_id);"
	"CREATE TABLE sightings (message_id BIGINT NOT NULL REFERENCES messages (id),"
	"  mailbox " PG_TEXT " NOT NULL, folder " PG_TEXT " NOT NULL,"
	"  graph_id " PG_TEXT " NOT NULL,"
	"  direction " PG_TEXT " NOT NULL CHECK (direction IN ('inbound', 'outbound')),"
	"  seen_at BIGINT NOT NULL, seq BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE,"
	"  PRIMARY KEY (mailbox, graph_id));"
	"CREATE INDEX sightings_message ON sightings (message_id, seq);"
	"CREATE TABLE delta_state (mailbox " PG_TEXT " NOT NULL, folder " PG_TEXT " NOT NULL,"
	"  link " PG_TEXT ", window_start BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	"  PRIMARY KEY (mailbox, folder));"
	"CREATE TABLE lead_claims (address " PG_TEXT " PRIMARY KEY, lead_id " PG_TEXT ","
	"  claimed_at BIGINT, updated_at BIGINT NOT NULL);"
	"CREATE TABLE rr_cursors (pool " PG_TEXT " PRIMARY KEY, cursor BIGINT NOT NULL);"
	"CREATE TABLE kv (key " PG_TEXT " PRIMARY KEY, value " PG_TEXT " NOT NULL);",

	"CREATE TABLE subscriptions (id " PG_TEXT " PRIMARY KEY, mailbox " PG_TEXT " NOT NULL,"
	"  kind " PG_TEXT " NOT NULL, client_state " PG_TEXT " NOT NULL,"
	"  notification_url " PG_TEXT " NOT NULL,"
	"  expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL, renewed_at BIGINT NOT NULL,"
	"  action " PG_TEXT " CHECK (action IN ('renew', 'recreate')));"
	"CREATE TABLE dirty_folders (mailbox " PG_TEXT " NOT NULL, folder " PG_TEXT " NOT NULL,"
	"  gen BIGINT NOT NULL, marked_at BIGINT NOT NULL, PRIMARY KEY (mailbox, folder));",

	"CREATE TABLE meetings (key " PG_TEXT " PRIMARY KEY,"
	"  state " PG_TEXT " NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'done', 'failed', 'dead')),"
	"  sf_event_id " PG_TEXT ", opportunity_id " PG_TEXT ", owner_mailbox " PG_TEXT ","
	"  start_at BIGINT NOT NULL DEFAULT 0, written " PG_TEXT ","
	"  attempts BIGINT NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL DEFAULT 0,"
	"  last_error " PG_TEXT ", changed_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
	"CREATE INDEX meetings_open ON meetings (state, changed_at)"
	"  WHERE state IN ('pending', 'failed');"
	"CREATE INDEX meetings_opportunity ON meetings (opportunity_id, start_at)"
	"  WHERE state = 'done' AND sf_event_id IS NOT NULL;"
	"CREATE TABLE meeting_copies (mailbox " PG_TEXT " NOT NULL, graph_id " PG_TEXT " NOT NULL,"
	"  key " PG_TEXT " NOT NULL REFERENCES meetings (key), response " PG_TEXT " NOT NULL,"
	"  attending BIGINT NOT NULL, ever_attending BIGINT NOT NULL,"
	"  cancelled BIGINT NOT NULL, start_at BIGINT NOT NULL, data " PG_TEXT " NOT NULL,"
	"  updated_at BIGINT NOT NULL, PRIMARY KEY (mailbox, graph_id));"
	"CREATE INDEX meeting_copies_key ON meeting_copies (key);"
	"CREATE TABLE opp_next (opportunity_id " PG_TEXT " PRIMARY KEY, written " PG_TEXT ","
	"  marked BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX opp_next_marked ON opp_next (marked, opportunity_id) WHERE marked <> 0;",

	"ALTER TABLE messages ADD COLUMN data " PG_TEXT ";",

	"CREATE TABLE api_calls (at BIGINT PRIMARY KEY, calls BIGINT NOT NULL);"
	"CREATE INDEX messages_open_received ON messages (received_at)"
	"  WHERE state IN ('pending', 'failed');",

	"CREATE TABLE backfills (mailbox " PG_TEXT " NOT NULL, folder " PG_TEXT " NOT NULL,"
	"  since BIGINT NOT NULL, until BIGINT NOT NULL, link " PG_TEXT ","
	"  done BIGINT NOT NULL DEFAULT 0, pages BIGINT NOT NULL DEFAULT 0,"
	"  messages BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL,"
	"  PRIMARY KEY (mailbox, folder, since, until));",

	"DROP INDEX IF EXISTS messages_ext_id;"
	"DROP INDEX IF EXISTS messages_open_received;"
	"ALTER TABLE messages ADD COLUMN recent BIGINT NOT NULL DEFAULT 0;"
	"UPDATE messages SET recent = 1 WHERE state IN ('pending', 'failed');"
	"CREATE INDEX messages_open_recent ON messages (received_at)"
	"  WHERE recent <> 0 AND state IN ('pending', 'failed');",

	"CREATE TABLE leases (name " PG_TEXT " PRIMARY KEY, owner " PG_TEXT " NOT NULL,"
	"  expires_at BIGINT NOT NULL);"
	"ALTER TABLE messages ADD COLUMN lease_owner " PG_TEXT ";"
	"ALTER TABLE messages ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_lease ON messages (lease_owner) WHERE lease_owner IS NOT NULL;"
	"ALTER TABLE lead_claims ADD COLUMN owner " PG_TEXT ";",
};

#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(sizeof(pg_migrations) == sizeof(migrations),
    "each SQLite migration has its PostgreSQL twin");

static const char *const state_names[LEDGER_STATE_COUNT] = {
	[LEDGER_PENDING] = "pending",
	[LEDGER_SKIPPED] = "skipped",
	[LEDGER_LOGGED] = "logged",
	[LEDGER_FAILED] = "failed",
	[LEDGER_DEAD] = "dead",
};

static const char *const msync_names[] = {
	[LEDGER_MEETING_PENDING] = "pending",
	[LEDGER_MEETING_DONE] = "done",
	[LEDGER_MEETING_FAILED] = "failed",
	[LEDGER_MEETING_DEAD] = "dead",
};

/* A table of keyed things whose state moves through pending, failed and dead: what the refusals
 * and the failure bookkeeping shared by messages and meetings need to know of it. */
struct keyed {
	const char		*noun;		/* for errors: "cannot skip a message that ..." */
	const char		*state_sql;	/* the state of key ?1 */
	const char *const	*names;		/* state names by enum value */
	int			 nnames;
	int			 unknown;	/* what a state not in names reads as */
};

/* The CHECK constraints keep other states out; a hand-edited row reads as dead so it is listed
 * for an operator rather than silently retried. */
static const struct keyed messages_t = { "message", "SELECT state FROM messages WHERE key = ?1",
	state_names, LEDGER_STATE_COUNT, LEDGER_DEAD };
static const struct keyed meetings_t = { "meeting", "SELECT state FROM meetings WHERE key = ?1",
	msync_names, (int)(sizeof(msync_names) / sizeof(msync_names[0])), LEDGER_MEETING_DEAD };

/* The columns read_entry expects, with the first sighting of the message: ORD is what orders
 * sightings as they were recorded (SQLite's rowid, PostgreSQL's seq). */
#define ENTRY_SELECT(ORD) \
	"SELECT m.key, m.ext_id, m.direction, m.state, m.reason, m.last_error, m.attempts," \
	" m.due_at, m.received_at, m.first_seen, m.updated_at, m.task_id, m.email_message_id," \
	" m.lead_id, m.who_id, m.what_id, s.mailbox, s.folder, s.graph_id, m.data," \
	" (SELECT count(*) FROM sightings WHERE message_id = m.id)" \
	" FROM messages m" \
	" LEFT JOIN sightings s ON s." ORD " = (SELECT " ORD " FROM sightings" \
	"   WHERE message_id = m.id ORDER BY " ORD " LIMIT 1) "

/* A statement whose text differs by backend: both literals, so prepare caches each by address.
 * Rare on purpose (the sightings' order, an index hint, strpos). */
#define BY_KIND(l, sqlite_sql, pg_sql) \
	(store_kind((l)->s) == STORE_SQLITE ? (sqlite_sql) : (pg_sql))
/* An entry query: ENTRY_SELECT followed by tail, for l's backend (tail is a literal pasted on,
 * so it cannot be parenthesized). */
/* NOLINTNEXTLINE(bugprone-macro-parentheses) */
#define ENTRY_SQL(l, tail) BY_KIND(l, ENTRY_SELECT("rowid") tail, ENTRY_SELECT("seq") tail)

/* Instances' clocks may differ a little: a message is marked recent this much more readily. */
#define RECENT_SKEW	600

#define OPEN_STATES	"('pending', 'failed')"

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int
fail_db(struct ledger *l, const char *what)
{
	char msg[256];

	l->transient = store_error_is_transient(l->s);
	return err_set(l->err, sizeof(l->err), "ledger: %s: %s", what,
	    store_errmsg(l->s, msg, sizeof(msg)));
}

/* A required string: present, not empty, at most max bytes. */
static int
check_str(struct ledger *l, const char *what, const char *s, size_t max)
{
	if (s == NULL || *s == '\0')
		return err_set(l->err, sizeof(l->err), "ledger: %s is missing", what);
	if (strnlen(s, max + 1) > max)
		return err_set(l->err, sizeof(l->err), "ledger: %s is longer than %zu bytes",
		    what, max);
	return 0;
}

/* Free text, cut to LEDGER_TEXT_MAX later: only its presence is checked. */
static int
check_present(struct ledger *l, const char *what, const char *s)
{
	if (s == NULL || *s == '\0')
		return err_set(l->err, sizeof(l->err), "ledger: %s is missing", what);
	return 0;
}

/* A LIMIT from a count; past any real batch size anyway. */
static int64_t
limit_of(size_t max)
{
	return max > (size_t)INT32_MAX ? INT32_MAX : (int64_t)max;
}

static int
check_ids(struct ledger *l, const struct ledger_sf_ids *ids)
{
	const char *const v[] = { ids->task_id, ids->email_message_id, ids->lead_id,
	    ids->who_id, ids->what_id };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] != NULL && strnlen(v[i], LEDGER_NAME_MAX + 1) > LEDGER_NAME_MAX)
			return err_set(l->err, sizeof(l->err),
			    "ledger: a Salesforce id is longer than %d bytes", LEDGER_NAME_MAX);
	return 0;
}

/* Reasons and errors come from filters and from Salesforce's messages: keep them one line (so
 * `olsync dead` stays one line per message) and bounded, cut at a UTF-8 character boundary.
 * Caller frees; NULL for NULL. */
static char *
clean_text(const char *s)
{
	size_t n;
	char *t;

	if (s == NULL)
		return NULL;
	n = strnlen(s, LEDGER_TEXT_MAX + 1);
	if (n > LEDGER_TEXT_MAX) {
		n = LEDGER_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	t = xstrndup(s, n);
	for (char *p = t; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return t;
}

/* Lower-cased ASCII copy: senders differ in case, Salesforce matches email case-insensitively. */
static char *
lower_address(const char *s)
{
	char *t = xstrdup(s);

	for (char *p = t; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return t;
}

static void
bind_text(struct store_stmt *st, int i, const char *s)
{
	/* Every string bound here outlives the statement's steps. An empty optional value is
	 * stored as NULL so "no id" has one spelling. */
	if (s == NULL || *s == '\0')
		store_bind_null(st, i);
	else
		store_bind_text(st, i, s);
}

static char *
col_dup(struct store_stmt *st, int i)
{
	const char *s = store_column_text(st, i);

	return s != NULL ? xstrdup(s) : NULL;
}

static int
parse_name(const struct keyed *t, const char *s)
{
	for (int i = 0; i < t->nnames; i++)
		if (s != NULL && strcmp(s, t->names[i]) == 0)
			return i;
	return t->unknown;
}

static enum ledger_state
parse_state(const char *s)
{
	return (enum ledger_state)parse_name(&messages_t, s);
}

static enum ledger_dir
parse_dir(const char *s)
{
	return s != NULL && strcmp(s, "outbound") == 0 ? LEDGER_OUTBOUND :
	    LEDGER_INBOUND;
}

/* A prepared statement for sql, which must be a string literal (it is cached by its address;
 * SQL built at run time goes to store_prepare and store_finalize). Give it back with release. A
 * statement still in use (a nested call) is prepared afresh. */
static struct store_stmt *
prepare(struct ledger *l, const char *sql)
{
	struct store_stmt *st;

	for (size_t i = 0; i < l->ncache; i++) {
		if (l->cache[i].sql != sql)
			continue;
		if (l->cache[i].busy)
			return store_prepare(l->s, sql);
		l->cache[i].busy = 1;
		return l->cache[i].st;
	}
	st = store_prepare(l->s, sql);
	if (l->ncache < STMT_CACHE) {
		l->cache[l->ncache].sql = sql;
		l->cache[l->ncache].st = st;
		l->cache[l->ncache].busy = 1;
		l->ncache++;
	}
	return st;
}

/* Back from prepare (or store_prepare): a cached statement is reset and unbound for its next use,
 * any other finalized. NULL is fine. */
static void
release(struct ledger *l, struct store_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < l->ncache; i++) {
		if (l->cache[i].st == st) {
			store_reset(st);
			store_clear_bindings(st);
			l->cache[i].busy = 0;
			return;
		}
	}
	store_finalize(st);
}

/* Steps a statement that returns no row. */
static int
step_done(struct ledger *l, struct store_stmt *st, const char *what)
{
	if (store_step(st) != STORE_DONE)
		return fail_db(l, what);
	return 0;
}

/* step_done, then finalizes st: a call that is one statement. */
static int
run_done(struct ledger *l, struct store_stmt *st, const char *what)
{
	int rc = step_done(l, st, what);

	release(l, st);
	return rc;
}

/* step_done, then releases st: the rows it changed, or -1. */
static int64_t
run_changes(struct ledger *l, struct store_stmt *st, const char *what)
{
	int64_t n = step_done(l, st, what) < 0 ? -1 : store_changes(l->s);

	release(l, st);
	return n;
}

/* Steps a statement that returns at most one row: 0 on a row (read it, then finalize),
 * LEDGER_NOT_FOUND without one, -1 on failure. */
static int
step_row(struct ledger *l, struct store_stmt *st, const char *what)
{
	switch (store_step(st)) {
	case STORE_ROW:
		return 0;
	case STORE_DONE:
		return LEDGER_NOT_FOUND;
	default:
		return fail_db(l, what);
	}
}

/* A (mailbox, folder) key. */
static int
check_folder(struct ledger *l, const char *mailbox, const char *folder)
{
	if (check_str(l, "mailbox", mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "folder", folder, LEDGER_NAME_MAX) < 0)
		return -1;
	return 0;
}

/*
 * Several statements that must land together. Outside ledger_begin this is its own transaction,
 * taken IMMEDIATE so a second process waits on the busy timeout instead of failing a read-to-write
 * upgrade; inside, a savepoint, so a failure undoes this call and leaves the caller's transaction
 * open for it to decide.
 */
static int
atomic_begin(struct ledger *l)
{
	if (l->in_tx) {
		/* SQLite ends a transaction by itself on some errors (disk full): carrying on
		 * would commit half of what the caller meant as one unit. */
		if (!store_in_transaction(l->s))
			return err_set(l->err, sizeof(l->err),
			    "ledger: the transaction was aborted by an earlier error");
		if (store_savepoint(l->s, "ledger_op") < 0)
			return fail_db(l, "savepoint");
		return 0;
	}
	if (store_begin(l->s) < 0)
		return fail_db(l, "begin");
	return 0;
}

static int
atomic_end(struct ledger *l, int ok)
{
	if (l->in_tx) {
		if (ok)
			return store_release(l->s, "ledger_op") < 0 ? fail_db(l, "release") : 0;
		store_rollback_to(l->s, "ledger_op");
		return -1;
	}
	if (ok) {
		if (store_commit(l->s) == 0)
			return 0;
		fail_db(l, "commit");
	}
	if (store_in_transaction(l->s))
		store_rollback(l->s);
	return -1;
}

/* A one-statement call needs no transaction of its own, but inside ledger_begin it must not run
 * after SQLite aborted the transaction: it would land in autocommit, outside the caller's unit. */
static int
check_tx(struct ledger *l)
{
	if (l->in_tx && !store_in_transaction(l->s))
		return err_set(l->err, sizeof(l->err),
		    "ledger: the transaction was aborted by an earlier error");
	return 0;
}

int
ledger_open(const char *path, struct ledger **out, char *err, size_t errlen)
{
	return ledger_connect(path, NULL, out, err, errlen);
}

int
ledger_schema_current(void)
{
	return (int)NMIGRATIONS;
}

int
ledger_connect(const char *target, const char *password, struct ledger **out, char *err,
    size_t errlen)
{
	struct ledger *l;
	struct store *s;

	*out = NULL;
	if (store_open(target, password, &s, err, errlen) < 0)
		return -1;
	if (store_migrate(s, migrations, pg_migrations, NMIGRATIONS, err, errlen) < 0) {
		store_close(s);
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->s = s;
	l->max_attempts = LEDGER_MAX_ATTEMPTS;
	*out = l;
	return 0;
}

enum ledger_probe
ledger_probe(const char *path, int *version, int *current, char *err, size_t errlen)
{
	enum ledger_probe r = LEDGER_PROBE_ERROR;
	struct stat sb;
	char *dir, *slash;

	*version = -1;
	*current = (int)NMIGRATIONS;
	err[0] = '\0';
	if (store_target_is_postgresql(path)) {
		err_set(err, errlen, "probing a PostgreSQL ledger is not supported yet");
		return r;
	}
	if (stat(path, &sb) == -1 && errno == ENOENT) {
		/* Not made yet: the first start makes it, in a directory it must be able to write. */
		dir = xstrdup(path);
		if ((slash = strrchr(dir, '/')) == NULL) {
			free(dir);
			dir = xstrdup(".");
		} else if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
			err_set(err, errlen, "its directory %s does not exist", dir);
		else if (access(dir, W_OK | X_OK) == -1)
			err_set(err, errlen, "its directory %s is not writable: %s", dir,
			    strerror(errno));
		else
			r = LEDGER_PROBE_MISSING;
		free(dir);
		return r;
	}
	switch (store_sqlite_probe(path, LEDGER_PROBE_BUSY_MS, version, err, errlen)) {
	case STORE_SQLITE_PROBE_OK:
		if (*version < *current)
			return LEDGER_PROBE_OLDER;
		if (*version > *current)
			return LEDGER_PROBE_NEWER;
		return LEDGER_PROBE_OK;
	case STORE_SQLITE_PROBE_READONLY:
		return LEDGER_PROBE_READONLY;
	case STORE_SQLITE_PROBE_BUSY:
		return LEDGER_PROBE_BUSY;
	case STORE_SQLITE_PROBE_ERROR:
		break;
	}
	return r;
}

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	if (store_in_transaction(l->s))
		store_rollback(l->s);
	for (size_t i = 0; i < l->ncache; i++)
		store_finalize(l->cache[i].st);
	store_close(l->s);
	free(l);
}

int
ledger_error_is_transient(const struct ledger *l)
{
	return l->transient;
}

const char *
ledger_error(const struct ledger *l)
{
	return l->err;
}

void
ledger_set_max_attempts(struct ledger *l, int max)
{
	l->max_attempts = max < 1 ? 1 : max;
}

int
ledger_set_bulk(struct ledger *l)
{
	if (store_kind(l->s) != STORE_SQLITE)
		return 0;
	if (store_exec(l->s, "PRAGMA cache_size=-8192") < 0)
		return fail_db(l, "page cache");
	return 0;
}

long
ledger_page_cache_kib(struct ledger *l)
{
	struct store_stmt *st;
	long kib = -1;

	if (store_kind(l->s) != STORE_SQLITE)
		return -1;
	st = store_prepare(l->s, "PRAGMA cache_size");
	/* Negative means KiB, as SQLite's default and ledger_set_bulk set it (positive would
	 * count pages, which nothing here sets). */
	if (store_step(st) == STORE_ROW && store_column_int64(st, 0) < 0)
		kib = (long)-store_column_int64(st, 0);
	store_finalize(st);
	return kib;
}

int
ledger_begin(struct ledger *l)
{
	if (l->in_tx)
		return err_set(l->err, sizeof(l->err), "ledger: a transaction is already open");
	l->transient = 0;
	if (store_begin(l->s) < 0)
		return fail_db(l, "begin");
	l->in_tx = 1;
	return 0;
}

int
ledger_commit(struct ledger *l)
{
	if (!l->in_tx)
		return err_set(l->err, sizeof(l->err), "ledger: commit without a transaction");
	l->in_tx = 0;
	if (!store_in_transaction(l->s))
		return err_set(l->err, sizeof(l->err),
		    "ledger: the transaction was aborted by an earlier error");
	if (store_commit(l->s) < 0) {
		/* Nothing of the transaction is kept: the caller starts the page again. */
		fail_db(l, "commit");
		if (store_in_transaction(l->s))
			store_rollback(l->s);
		return -1;
	}
	return 0;
}

int
ledger_rollback(struct ledger *l)
{
	if (!l->in_tx)
		return err_set(l->err, sizeof(l->err), "ledger: rollback without a transaction");
	l->in_tx = 0;
	if (store_in_transaction(l->s) && store_rollback(l->s) < 0)
		return fail_db(l, "rollback");
	return 0;
}

int
ledger_record_sighting(struct ledger *l, const struct ledger_msg *m, enum ledger_seen *seen)
{
	struct store_stmt *st = NULL;
	const char *dir;
	int64_t now = now_s(), id, n;
	int ok = 0, new_msg = 0, new_copy = 0;

	if (check_str(l, "message key", m->key, LEDGER_KEY_MAX) < 0 ||
	    check_str(l, "external id", m->ext_id, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "mailbox", m->mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "folder", m->folder, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "graph id", m->graph_id, LEDGER_NAME_MAX) < 0)
		return -1;
	if (m->dir != LEDGER_INBOUND && m->dir != LEDGER_OUTBOUND)
		return err_set(l->err, sizeof(l->err), "ledger: bad direction %d", (int)m->dir);
	if (m->data != NULL && strnlen(m->data, LEDGER_DATA_MAX + 1) > LEDGER_DATA_MAX)
		return err_set(l->err, sizeof(l->err),
		    "ledger: a message's copy is longer than %d bytes", LEDGER_DATA_MAX);
	dir = ledger_dir_name(m->dir);
	if (atomic_begin(l) < 0)
		return -1;

	/* A new message returns its id (most mail: one statement); a known one is looked up. */
	st = prepare(l, "INSERT INTO messages (key, ext_id, direction, received_at,"
	    " first_seen, updated_at, data, recent) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)"
	    " ON CONFLICT (key) DO NOTHING RETURNING id");
	bind_text(st, 1, m->key);
	bind_text(st, 2, m->ext_id);
	bind_text(st, 3, dir);
	store_bind_int64(st, 4, m->received_at);
	store_bind_int64(st, 5, now);
	bind_text(st, 6, m->data);
	store_bind_int64(st, 7, m->received_at >= now - LEDGER_RECENT - RECENT_SKEW);
	switch (store_step(st)) {
	case STORE_ROW:
		new_msg = 1;
		id = store_column_int64(st, 0);
		break;
	case STORE_DONE:
		break;
	default:
		fail_db(l, "insert message");
		goto out;
	}
	release(l, st);
	st = NULL;

	if (!new_msg) {
		st = prepare(l, "SELECT id, ext_id FROM messages WHERE key = ?1");
		bind_text(st, 1, m->key);
		if (store_step(st) != STORE_ROW) {
			fail_db(l, "find message");
			goto out;
		}
		id = store_column_int64(st, 0);
		/* The external id is what Salesforce already knows the message by: keep the
		 * first. */
		if (strcmp((const char *)store_column_text(st, 1), m->ext_id) != 0)
			log_warnx("ledger: external id differs from the recorded one, keeping the "
			    "first mailbox=\"%s\" graph_id=\"%s\"", m->mailbox, m->graph_id);
		release(l, st);
	}

	st = prepare(l, "INSERT INTO sightings (message_id, mailbox, folder, graph_id,"
	    " direction, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (mailbox, graph_id) DO NOTHING");
	store_bind_int64(st, 1, id);
	bind_text(st, 2, m->mailbox);
	bind_text(st, 3, m->folder);
	bind_text(st, 4, m->graph_id);
	bind_text(st, 5, dir);
	store_bind_int64(st, 6, now);
	n = run_changes(l, st, "insert sighting");
	st = NULL;
	if (n < 0)
		goto out;
	new_copy = n > 0;

	/* A rep's Sent Items copy means we sent it, whoever else received it. Once a message is
	 * final its direction stays the one it was processed with. */
	if (new_copy && !new_msg && m->dir == LEDGER_OUTBOUND) {
		st = prepare(l, "UPDATE messages SET direction = 'outbound', updated_at = ?2"
		    " WHERE id = ?1 AND direction <> 'outbound' AND state IN " OPEN_STATES);
		store_bind_int64(st, 1, id);
		store_bind_int64(st, 2, now);
		if (step_done(l, st, "update direction") < 0)
			goto out;
		release(l, st);
		st = NULL;
	}
	/* An open row without its copy (written before copies were kept, or revived from dead)
	 * gets this one: the engine need not read it from Graph. */
	if (!new_msg && m->data != NULL) {
		st = prepare(l, "UPDATE messages SET data = ?2"
		    " WHERE id = ?1 AND data IS NULL AND state IN " OPEN_STATES);
		store_bind_int64(st, 1, id);
		bind_text(st, 2, m->data);
		if (step_done(l, st, "store copy") < 0)
			goto out;
	}
	if (seen != NULL)
		*seen = new_msg ? LEDGER_SEEN_NEW : new_copy ? LEDGER_SEEN_COPY : LEDGER_SEEN_AGAIN;
	ok = 1;
out:
	release(l, st);
	return atomic_end(l, ok);
}

static void
read_entry(struct store_stmt *st, struct ledger_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key = col_dup(st, 0);
	e->ext_id = col_dup(st, 1);
	e->dir = parse_dir(store_column_text(st, 2));
	e->state = parse_state(store_column_text(st, 3));
	e->reason = col_dup(st, 4);
	e->last_error = col_dup(st, 5);
	e->attempts = (int)store_column_int64(st, 6);
	e->next_attempt_at = e->state == LEDGER_FAILED ? store_column_int64(st, 7) : 0;
	e->received_at = store_column_int64(st, 8);
	e->first_seen = store_column_int64(st, 9);
	e->updated_at = store_column_int64(st, 10);
	e->sf.task_id = col_dup(st, 11);
	e->sf.email_message_id = col_dup(st, 12);
	e->sf.lead_id = col_dup(st, 13);
	e->sf.who_id = col_dup(st, 14);
	e->sf.what_id = col_dup(st, 15);
	e->mailbox = col_dup(st, 16);
	e->folder = col_dup(st, 17);
	e->graph_id = col_dup(st, 18);
	e->data = col_dup(st, 19);
	e->copies = (long)store_column_int64(st, 20);
}

/* Runs a prepared entry query into out[0..max-1]. Finalizes st. */
static int
read_entries(struct ledger *l, struct store_stmt *st, struct ledger_entry *out, size_t max,
    size_t *n, const char *what)
{
	int rc = STORE_DONE;

	*n = 0;
	while (*n < max && (rc = store_step(st)) == STORE_ROW)
		read_entry(st, &out[(*n)++]);
	if (*n < max && rc != STORE_DONE) {
		fail_db(l, what);
		for (size_t i = 0; i < *n; i++)
			ledger_entry_clear(&out[i]);
		*n = 0;
		release(l, st);
		return -1;
	}
	release(l, st);
	return 0;
}

int
ledger_next_pending(struct ledger *l, int64_t now, struct ledger_entry *out, size_t max,
    size_t *n)
{
	struct store_stmt *st;

	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (max == 0)
		return 0;
	/* SQLite, without statistics, took messages_state for the states and sorted every open
	 * message (with its copy and sightings) to return the first batch: each batch of a
	 * backfill read the whole rest of it, and the CPU per email grew with the backfill's
	 * size. The batch's ids come from messages_open in order; only they are read in full. */
	st = prepare(l, BY_KIND(l, ENTRY_SELECT("rowid") "WHERE m.id IN (SELECT id FROM messages"
	    " INDEXED BY messages_open WHERE state IN " OPEN_STATES " AND due_at <= ?1"
	    " ORDER BY due_at, id LIMIT ?2) ORDER BY m.due_at, m.id",
	    ENTRY_SELECT("seq") "WHERE m.state IN " OPEN_STATES
	    " AND m.due_at <= ?1 ORDER BY m.due_at, m.id LIMIT ?2"));
	store_bind_int64(st, 1, now);
	store_bind_int64(st, 2, limit_of(max));
	return read_entries(l, st, out, max, n, "next pending");
}

/* A live-only query's since must be one the recent index answers for: half the skew
 * allowance for the caller's clock read a moment ago, half for the clocks of other instances
 * that recorded the mail. */
static int
check_recent(struct ledger *l, int64_t since)
{
	if (since < now_s() - LEDGER_RECENT - RECENT_SKEW / 2)
		return err_set(l->err, sizeof(l->err), "ledger: mail received since %lld is older "
		    "than the recent index holds (%d s)", (long long)since, LEDGER_RECENT);
	return 0;
}

int
ledger_next_pending_since(struct ledger *l, int64_t now, int64_t since,
    struct ledger_entry *out, size_t max, size_t *n)
{
	struct store_stmt *st;

	if (since == INT64_MIN)
		return ledger_next_pending(l, now, out, max, n);
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (max == 0)
		return 0;
	if (check_recent(l, since) < 0)
		return -1;
	/* The few recent ones through their index, not a walk over a backfill of any size
	 * (SQLite's planner must be told; PostgreSQL's statistics find it). Every message
	 * received since `since` was recent when it was first seen, which was before now. */
	st = prepare(l, BY_KIND(l, ENTRY_SELECT("rowid") "WHERE m.id IN (SELECT id FROM messages"
	    " INDEXED BY messages_open_recent WHERE recent <> 0 AND state IN " OPEN_STATES
	    " AND received_at >= ?3 AND due_at <= ?1) ORDER BY m.due_at, m.id LIMIT ?2",
	    ENTRY_SELECT("seq") "WHERE m.id IN (SELECT id FROM messages WHERE recent <> 0"
	    " AND state IN " OPEN_STATES " AND received_at >= ?3 AND due_at <= ?1)"
	    " ORDER BY m.due_at, m.id LIMIT ?2"));
	store_bind_int64(st, 1, now);
	store_bind_int64(st, 2, limit_of(max));
	store_bind_int64(st, 3, since);
	return read_entries(l, st, out, max, n, "next pending since");
}

/* After an UPDATE ... WHERE state IN open matched nothing: say why. */
static int
refuse(struct ledger *l, const struct keyed *t, const char *key, const char *what)
{
	struct store_stmt *st = prepare(l, t->state_sql);
	int rc;

	bind_text(st, 1, key);
	rc = store_step(st);
	if (rc == STORE_ROW)
		err_set(l->err, sizeof(l->err), "ledger: cannot %s a %s that is %s", what, t->noun,
		    (const char *)store_column_text(st, 0));
	else if (rc == STORE_DONE)
		err_set(l->err, sizeof(l->err), "ledger: cannot %s: no such %s", what, t->noun);
	else
		fail_db(l, what);
	release(l, st);
	return -1;
}

/* Runs an UPDATE on one open message or meeting (of t) whose first parameter is the key.
 * Finalizes st. */
static int
update_open(struct ledger *l, const struct keyed *t, struct store_stmt *st, const char *key,
    const char *what)
{
	int64_t changed = run_changes(l, st, what);

	if (changed < 0)
		return -1;
	return changed > 0 ? 0 : refuse(l, t, key, what);
}

static void
bind_ids(struct store_stmt *st, int first, const struct ledger_sf_ids *ids)
{
	bind_text(st, first, ids->task_id);
	bind_text(st, first + 1, ids->email_message_id);
	bind_text(st, first + 2, ids->lead_id);
	bind_text(st, first + 3, ids->who_id);
	bind_text(st, first + 4, ids->what_id);
}

#define SET_IDS \
	" task_id = coalesce(?3, task_id), email_message_id = coalesce(?4, email_message_id)," \
	" lead_id = coalesce(?5, lead_id), who_id = coalesce(?6, who_id)," \
	" what_id = coalesce(?7, what_id)"

int
ledger_mark_logged(struct ledger *l, const char *key, const struct ledger_sf_ids *ids)
{
	static const struct ledger_sf_ids none;
	struct store_stmt *st;

	if (ids == NULL)
		ids = &none;
	if (check_tx(l) < 0 || check_str(l, "message key", key, LEDGER_KEY_MAX) < 0 ||
	    check_ids(l, ids) < 0)
		return -1;
	st = prepare(l, "UPDATE messages SET state = 'logged', reason = NULL, due_at = 0,"
	    " data = NULL, lease_owner = NULL, lease_until = 0, updated_at = ?2," SET_IDS
	    " WHERE key = ?1 AND state IN " OPEN_STATES);
	bind_text(st, 1, key);
	store_bind_int64(st, 2, now_s());
	bind_ids(st, 3, ids);
	return update_open(l, &messages_t, st, key, "mark logged");
}

int
ledger_note_sf_ids(struct ledger *l, const char *key, const struct ledger_sf_ids *ids)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "message key", key, LEDGER_KEY_MAX) < 0 ||
	    check_ids(l, ids) < 0)
		return -1;
	st = prepare(l, "UPDATE messages SET updated_at = ?2," SET_IDS
	    " WHERE key = ?1 AND state IN " OPEN_STATES);
	bind_text(st, 1, key);
	store_bind_int64(st, 2, now_s());
	bind_ids(st, 3, ids);
	return update_open(l, &messages_t, st, key, "note ids of");
}

/* skipped or dead with a reason. */
static int
mark_final(struct ledger *l, const char *key, const char *state, const char *reason,
    const char *what)
{
	struct store_stmt *st;
	char *r;
	int rc;

	if (check_tx(l) < 0 || check_str(l, "message key", key, LEDGER_KEY_MAX) < 0 ||
	    check_present(l, "reason", reason) < 0)
		return -1;
	r = clean_text(reason);
	st = prepare(l, "UPDATE messages SET state = ?2, reason = ?3, due_at = 0,"
	    " data = NULL, lease_owner = NULL, lease_until = 0, updated_at = ?4"
	    " WHERE key = ?1 AND state IN " OPEN_STATES);
	bind_text(st, 1, key);
	bind_text(st, 2, state);
	bind_text(st, 3, r);
	store_bind_int64(st, 4, now_s());
	rc = update_open(l, &messages_t, st, key, what);
	free(r);
	return rc;
}

int
ledger_mark_skipped(struct ledger *l, const char *key, const char *reason)
{
	return mark_final(l, key, "skipped", reason, "skip");
}

int
ledger_mark_dead(struct ledger *l, const char *key, const char *reason)
{
	return mark_final(l, key, "dead", reason, "mark dead");
}

/*
 * A failed attempt on an open message or meeting. sql is an UPDATE of t's row ?1 that applies the
 * transition in one statement (so it is atomic without a lock) and returns the new state, with
 * ?2 whether the attempt counts, ?3 the error, ?4 whether it is final, ?5 the maximum attempts,
 * ?6 next_attempt_at and ?7 now. *state gets the state as an index into t->names.
 */
static int
fail_attempt(struct ledger *l, const struct keyed *t, const char *sql, const char *key,
    const char *error, enum ledger_fail fail, int64_t next_attempt_at, int *state)
{
	struct store_stmt *st;
	char *e;
	int rc = -1;

	if (check_present(l, "error", error) < 0)
		return -1;
	if (fail != LEDGER_FAIL_TEMP && fail != LEDGER_FAIL_WAIT && fail != LEDGER_FAIL_FINAL)
		return err_set(l->err, sizeof(l->err), "ledger: bad failure class %d", (int)fail);
	e = clean_text(error);
	st = prepare(l, sql);
	bind_text(st, 1, key);
	/* A wait is the service pacing us, not the item failing: it costs no attempt, or a
	 * long rate limit would dead-letter work that is fine. */
	store_bind_int64(st, 2, fail != LEDGER_FAIL_WAIT);
	bind_text(st, 3, e);
	store_bind_int64(st, 4, fail == LEDGER_FAIL_FINAL);
	store_bind_int64(st, 5, l->max_attempts);
	store_bind_int64(st, 6, next_attempt_at);
	store_bind_int64(st, 7, now_s());
	switch (store_step(st)) {
	case STORE_ROW:
		*state = parse_name(t, store_column_text(st, 0));
		if (store_step(st) != STORE_DONE) {
			fail_db(l, "mark failed");
			goto out;
		}
		rc = 0;
		break;
	case STORE_DONE:
		refuse(l, t, key, "mark failed");
		break;
	default:
		fail_db(l, "mark failed");
		break;
	}
out:
	release(l, st);
	free(e);
	return rc;
}

/* The state a failure leaves: dead when final or when a counted attempt reaches the maximum. */
#define FAIL_STATE \
	"CASE WHEN ?4 <> 0 OR (?2 <> 0 AND attempts + 1 >= ?5) THEN 'dead' ELSE 'failed' END"

int
ledger_mark_failed(struct ledger *l, const char *key, const char *error, enum ledger_fail fail,
    int64_t next_attempt_at, enum ledger_state *state)
{
	int s;

	if (check_tx(l) < 0 || check_str(l, "message key", key, LEDGER_KEY_MAX) < 0)
		return -1;
	if (fail_attempt(l, &messages_t, "UPDATE messages SET attempts = attempts + ?2,"
	    " last_error = ?3, state = " FAIL_STATE ","
	    " reason = CASE WHEN ?4 <> 0 THEN ?3"
	    "   WHEN ?2 <> 0 AND attempts + 1 >= ?5"
	    "   THEN 'gave up after ' || (attempts + 1) || ' attempts' END,"
	    " data = CASE WHEN " FAIL_STATE " = 'dead' THEN NULL ELSE data END,"
	    " due_at = ?6, lease_owner = NULL, lease_until = 0, updated_at = ?7"
	    " WHERE key = ?1 AND state IN " OPEN_STATES " RETURNING state", key, error, fail,
	    next_attempt_at, &s) < 0)
		return -1;
	if (state != NULL)
		*state = (enum ledger_state)s;
	return 0;
}

int
ledger_retry_dead(struct ledger *l, const char *key, long long *count)
{
	struct store_stmt *st;
	int64_t changed;

	if (count != NULL)
		*count = 0;
	if (check_tx(l) < 0)
		return -1;
	if (key != NULL && check_str(l, "message key", key, LEDGER_KEY_MAX) < 0)
		return -1;
	/* last_error stays: the next failure, or `olsync show`, still tells the story. */
	st = prepare(l, "UPDATE messages SET state = 'pending', attempts = 0,"
	    " reason = NULL, due_at = 0, updated_at = ?1"
	    " WHERE state = 'dead' AND (CAST(?2 AS TEXT) IS NULL OR key = ?2)");
	store_bind_int64(st, 1, now_s());
	bind_text(st, 2, key);
	if ((changed = run_changes(l, st, "retry dead")) < 0)
		return -1;
	if (changed == 0 && key != NULL) {
		struct ledger_entry e;
		int rc = ledger_get(l, key, &e);

		if (rc == LEDGER_NOT_FOUND)
			return err_set(l->err, sizeof(l->err),
			    "ledger: cannot retry: no such message");
		if (rc < 0)
			return -1;
		ledger_entry_clear(&e);
	}
	if (count != NULL)
		*count = changed;
	return 0;
}

static int
get_where(struct ledger *l, const char *where, const char *value, struct ledger_entry *out)
{
	struct store_stmt *st;
	size_t n;
	char *sql;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0)
		return -1;
	sql = xasprintf("%s%s", ENTRY_SQL(l, ""), where);
	st = store_prepare(l->s, sql);	/* built here: not cached (see prepare) */
	free(sql);
	bind_text(st, 1, value);
	if (read_entries(l, st, out, 1, &n, "get") < 0)
		return -1;
	return n == 1 ? 0 : LEDGER_NOT_FOUND;
}

int
ledger_get(struct ledger *l, const char *key, struct ledger_entry *out)
{
	if (check_str(l, "message key", key, LEDGER_KEY_MAX) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return get_where(l, "WHERE m.key = ?1", key, out);
}

int
ledger_get_by_ext_id(struct ledger *l, const char *ext_id, struct ledger_entry *out)
{
	if (check_str(l, "external id", ext_id, LEDGER_NAME_MAX) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	/* No index (migration 7 says why): a walk over the table, for an operator. */
	return get_where(l, "WHERE m.ext_id = ?1 ORDER BY m.id LIMIT 1", ext_id, out);
}

int
ledger_sightings(struct ledger *l, const char *key, struct ledger_sighting **out, size_t *n)
{
	struct ledger_sighting *v = NULL;
	struct store_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0 || check_str(l, "message key", key, LEDGER_KEY_MAX) < 0)
		return -1;
#define SIGHTINGS_SQL(ORD) "SELECT s.mailbox, s.folder, s.graph_id, s.direction, s.seen_at" \
	    " FROM messages m LEFT JOIN sightings s ON s.message_id = m.id" \
	    " WHERE m.key = ?1 ORDER BY s." ORD
	st = prepare(l, BY_KIND(l, SIGHTINGS_SQL("rowid"), SIGHTINGS_SQL("seq")));
	bind_text(st, 1, key);
	rc = store_step(st);
	if (rc == STORE_DONE) {
		release(l, st);
		return LEDGER_NOT_FOUND;
	}
	for (; rc == STORE_ROW; rc = store_step(st)) {
		if (store_column_is_null(st, 0))
			continue;	/* a message without sightings (not made by this API) */
		if (*n == cap) {
			cap = cap ? 2 * cap : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[*n].mailbox = col_dup(st, 0);
		v[*n].folder = col_dup(st, 1);
		v[*n].graph_id = col_dup(st, 2);
		v[*n].dir = parse_dir(store_column_text(st, 3));
		v[*n].seen_at = store_column_int64(st, 4);
		(*n)++;
	}
	if (rc != STORE_DONE) {
		fail_db(l, "sightings");
		release(l, st);
		ledger_sightings_free(v, *n);
		*n = 0;
		return -1;
	}
	release(l, st);
	*out = v;
	return 0;
}

int
ledger_list_dead(struct ledger *l, struct ledger_entry *out, size_t max, size_t *n)
{
	struct store_stmt *st;

	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (max == 0)
		return 0;
	st = prepare(l, ENTRY_SQL(l, "WHERE m.state = 'dead'"
	    " ORDER BY m.updated_at DESC, m.id DESC LIMIT ?1"));
	store_bind_int64(st, 1, limit_of(max));
	return read_entries(l, st, out, max, n, "list dead");
}

int
ledger_stats(struct ledger *l, struct ledger_stats *out)
{
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT state, count(*) FROM messages GROUP BY state");
	while ((rc = store_step(st)) == STORE_ROW)
		out->messages[parse_state(store_column_text(st, 0))] +=
		    store_column_int64(st, 1);
	release(l, st);
	if (rc != STORE_DONE)
		return fail_db(l, "stats");
	st = prepare(l, "SELECT (SELECT count(*) FROM sightings),"
	    " (SELECT coalesce(min(first_seen), 0) FROM messages WHERE state IN " OPEN_STATES ")");
	rc = store_step(st);
	if (rc == STORE_ROW) {
		out->sightings = store_column_int64(st, 0);
		out->oldest_open = store_column_int64(st, 1);
	}
	release(l, st);
	return rc == STORE_ROW ? 0 : fail_db(l, "stats");
}

int
ledger_skip_reasons(struct ledger *l, struct ledger_reason_count **out, size_t *n)
{
	struct store_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	/* POS: the function that finds a substring (instr on SQLite, strpos on PostgreSQL). */
#define SKIP_REASONS_SQL(POS) "SELECT CASE WHEN " POS "(reason, ':') > 0" \
	    " THEN substr(reason, 1, " POS "(reason, ':') - 1) ELSE coalesce(reason, '') END AS r," \
	    " count(*) AS c FROM messages WHERE state = 'skipped' GROUP BY r ORDER BY c DESC, r"
	st = prepare(l, BY_KIND(l, SKIP_REASONS_SQL("instr"), SKIP_REASONS_SQL("strpos")));
	while ((rc = store_step(st)) == STORE_ROW) {
		const char *r = store_column_text(st, 0);

		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[*n].reason = xstrdup(r != NULL ? r : "");
		(*out)[*n].n = store_column_int64(st, 1);
		(*n)++;
	}
	release(l, st);
	if (rc != STORE_DONE) {
		ledger_reason_counts_free(*out, *n);
		*out = NULL;
		*n = 0;
		return fail_db(l, "skip_reasons");
	}
	return 0;
}

void
ledger_reason_counts_free(struct ledger_reason_count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].reason);
	free(v);
}

void
ledger_entry_clear(struct ledger_entry *e)
{
	if (e == NULL)
		return;
	free(e->key);
	free(e->ext_id);
	free(e->reason);
	free(e->last_error);
	free(e->sf.task_id);
	free(e->sf.email_message_id);
	free(e->sf.lead_id);
	free(e->sf.who_id);
	free(e->sf.what_id);
	free(e->mailbox);
	free(e->folder);
	free(e->graph_id);
	free(e->data);
	memset(e, 0, sizeof(*e));
}

void
ledger_sightings_free(struct ledger_sighting *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].mailbox);
		free(s[i].folder);
		free(s[i].graph_id);
	}
	free(s);
}

const char *
ledger_state_name(enum ledger_state state)
{
	if ((int)state < 0 || state >= LEDGER_STATE_COUNT)
		return "unknown";
	return state_names[state];
}

const char *
ledger_dir_name(enum ledger_dir dir)
{
	return dir == LEDGER_OUTBOUND ? "outbound" : "inbound";
}

int
ledger_delta_get(struct ledger *l, const char *mailbox, const char *folder,
    struct ledger_delta *out)
{
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	st = prepare(l, "SELECT link, window_start, updated_at FROM delta_state"
	    " WHERE mailbox = ?1 AND folder = ?2");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	if ((rc = step_row(l, st, "delta get")) == 0) {
		out->link = col_dup(st, 0);
		out->window_start = store_column_int64(st, 1);
		out->updated_at = store_column_int64(st, 2);
	}
	release(l, st);
	return rc;
}

int
ledger_delta_set(struct ledger *l, const char *mailbox, const char *folder, const char *link,
    int64_t window_start)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	if (link != NULL && check_str(l, "delta link", link, LEDGER_LINK_MAX) < 0)
		return -1;
	st = prepare(l, "INSERT INTO delta_state (mailbox, folder, link, window_start,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (mailbox, folder) DO UPDATE SET"
	    " link = excluded.link, window_start = excluded.window_start,"
	    " updated_at = excluded.updated_at");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	bind_text(st, 3, link);
	store_bind_int64(st, 4, window_start);
	store_bind_int64(st, 5, now_s());
	return run_done(l, st, "delta set");
}

void
ledger_delta_clear(struct ledger_delta *d)
{
	if (d == NULL)
		return;
	free(d->link);
	memset(d, 0, sizeof(*d));
}

int
ledger_backfill_get(struct ledger *l, const char *mailbox, const char *folder, int64_t since,
    int64_t until, struct ledger_backfill *out)
{
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	st = store_prepare(l->s, "SELECT link, done, pages, messages, updated_at FROM backfills"
	    " WHERE mailbox = ?1 AND folder = ?2 AND since = ?3 AND until = ?4");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	store_bind_int64(st, 3, since);
	store_bind_int64(st, 4, until);
	if ((rc = step_row(l, st, "backfill get")) == 0) {
		out->link = col_dup(st, 0);
		out->done = (int)store_column_int64(st, 1);
		out->pages = store_column_int64(st, 2);
		out->messages = store_column_int64(st, 3);
		out->updated_at = store_column_int64(st, 4);
	}
	store_finalize(st);
	return rc;
}

int
ledger_backfill_set(struct ledger *l, const char *mailbox, const char *folder, int64_t since,
    int64_t until, const struct ledger_backfill *b)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	if (b->link != NULL && check_str(l, "backfill link", b->link, LEDGER_LINK_MAX) < 0)
		return -1;
	st = store_prepare(l->s, "INSERT INTO backfills (mailbox, folder, since, until, link, done,"
	    " pages, messages, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (mailbox, folder, since, until) DO UPDATE SET link = excluded.link,"
	    " done = excluded.done, pages = excluded.pages, messages = excluded.messages,"
	    " updated_at = excluded.updated_at");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	store_bind_int64(st, 3, since);
	store_bind_int64(st, 4, until);
	bind_text(st, 5, b->link);
	store_bind_int64(st, 6, b->done != 0);
	store_bind_int64(st, 7, b->pages);
	store_bind_int64(st, 8, b->messages);
	store_bind_int64(st, 9, now_s());
	return run_done(l, st, "backfill set");
}

void
ledger_backfill_clear(struct ledger_backfill *b)
{
	if (b == NULL)
		return;
	free(b->link);
	memset(b, 0, sizeof(*b));
}

int
ledger_snapshot(const char *path, const char *dest, char *err, size_t errlen)
{
	if (store_target_is_postgresql(path))
		return err_set(err, errlen, "a copy of a PostgreSQL ledger is not supported yet");
	return store_sqlite_snapshot(path, dest, err, errlen);
}

/* One statement of a claim: ?1 the address, ?2 now, ?3 *stale unless NULL (PostgreSQL refuses
 * a parameter the statement lacks); *changed: whether it wrote a row. */
static int
claim_step(struct ledger *l, const char *sql, const char *addr, int64_t now,
    const int64_t *stale, int *changed)
{
	struct store_stmt *st = prepare(l, sql);
	int64_t n;

	bind_text(st, 1, addr);
	store_bind_int64(st, 2, now);
	bind_text(st, 3, l->owner);	/* "" binds NULL: no instance named */
	if (stale != NULL)
		store_bind_int64(st, 4, *stale);
	n = run_changes(l, st, "lead claim");
	*changed = n > 0;
	return n < 0 ? -1 : 0;
}

/*
 * Each step is one statement a concurrent claimer cannot interleave with: the insert is won by
 * one; the takeover of a stale claim by one (on PostgreSQL the loser's UPDATE waits for the
 * winner's row, reads it again and finds it fresh); then what is there is read. A claim released
 * between the steps (ledger_lead_release) sends the caller round once more.
 */
int
ledger_lead_claim(struct ledger *l, const char *address, int64_t now, int64_t stale_after,
    enum ledger_lead *result, char **lead_id)
{
	struct store_stmt *st = NULL;
	int64_t stale = now - stale_after;
	char *addr;
	int ok = 0, rc, changed;

	*lead_id = NULL;
	if (check_str(l, "address", address, LEDGER_NAME_MAX) < 0)
		return -1;
	addr = lower_address(address);
	if (atomic_begin(l) < 0) {
		free(addr);
		return -1;
	}
	for (int round = 0; round < 2 && !ok; round++) {
		if (claim_step(l, "INSERT INTO lead_claims (address, lead_id, claimed_at,"
		    " updated_at, owner) VALUES (?1, NULL, ?2, ?2, ?3)"
		    " ON CONFLICT (address) DO NOTHING",
		    addr, now, NULL, &changed) < 0)
			goto out;
		if (changed) {
			*result = LEDGER_LEAD_CLAIMED;
			ok = 1;
			break;
		}
		/* claimed_at 0: an orphan of a dead run (ledger_lead_orphan_claims), stale at
		 * once. */
		if (claim_step(l, "UPDATE lead_claims SET claimed_at = ?2, updated_at = ?2,"
		    " owner = ?3 WHERE address = ?1 AND lead_id IS NULL"
		    " AND (coalesce(claimed_at, 0) <= 0 OR claimed_at <= ?4)", addr, now,
		    &stale, &changed) < 0)
			goto out;
		if (changed) {
			*result = LEDGER_LEAD_RECLAIMED;
			ok = 1;
			break;
		}
		st = prepare(l, "SELECT lead_id FROM lead_claims WHERE address = ?1");
		bind_text(st, 1, addr);
		if ((rc = step_row(l, st, "lead claim")) < 0)
			goto out;
		if (rc == 0) {
			*lead_id = col_dup(st, 0);
			*result = *lead_id != NULL ? LEDGER_LEAD_KNOWN : LEDGER_LEAD_BUSY;
			ok = 1;
		}
		release(l, st);
		st = NULL;
	}
	if (!ok) {
		/* Claimed and released twice meanwhile: someone is busy with it. */
		*result = LEDGER_LEAD_BUSY;
		ok = 1;
	}
out:
	release(l, st);
	free(addr);
	if (atomic_end(l, ok) < 0) {
		free(*lead_id);
		*lead_id = NULL;
		return -1;
	}
	return 0;
}

int
ledger_lead_orphan_claims(struct ledger *l, int64_t before, long long *count)
{
	struct store_stmt *st;
	int64_t n;

	*count = 0;
	if (check_tx(l) < 0)
		return -1;
	/* claimed_at 0: stale for any stale_after, so the next claim is LEDGER_LEAD_RECLAIMED
	 * and looks the Lead up in Salesforce before creating it. */
	st = prepare(l, "UPDATE lead_claims SET claimed_at = 0"
	    " WHERE lead_id IS NULL AND claimed_at <= ?1 AND claimed_at > 0");
	store_bind_int64(st, 1, before);
	if ((n = run_changes(l, st, "orphan lead claims")) < 0)
		return -1;
	*count = n;
	return 0;
}

int
ledger_lead_set(struct ledger *l, const char *address, const char *lead_id)
{
	struct store_stmt *st;
	char *addr;
	int rc;

	if (check_tx(l) < 0 || check_str(l, "address", address, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "lead id", lead_id, LEDGER_NAME_MAX) < 0)
		return -1;
	addr = lower_address(address);
	st = prepare(l, "INSERT INTO lead_claims (address, lead_id, claimed_at,"
	    " updated_at) VALUES (?1, ?2, NULL, ?3) ON CONFLICT (address) DO UPDATE SET"
	    " lead_id = excluded.lead_id, claimed_at = NULL, updated_at = excluded.updated_at");
	bind_text(st, 1, addr);
	bind_text(st, 2, lead_id);
	store_bind_int64(st, 3, now_s());
	rc = run_done(l, st, "lead set");
	free(addr);
	return rc;
}

int
ledger_lead_release(struct ledger *l, const char *address)
{
	struct store_stmt *st;
	char *addr;
	int rc;

	if (check_tx(l) < 0 || check_str(l, "address", address, LEDGER_NAME_MAX) < 0)
		return -1;
	addr = lower_address(address);
	st = prepare(l, "DELETE FROM lead_claims WHERE address = ?1 AND lead_id IS NULL");
	bind_text(st, 1, addr);
	rc = run_done(l, st, "lead release");
	free(addr);
	return rc;
}

int
ledger_rr_next(struct ledger *l, const char *pool, size_t n, size_t *index)
{
	struct store_stmt *st;
	int rc;

	if (check_tx(l) < 0 || check_str(l, "pool", pool, LEDGER_NAME_MAX) < 0)
		return -1;
	if (n == 0)
		return err_set(l->err, sizeof(l->err), "ledger: round robin over an empty pool");
	/* One statement reads and advances the cursor, so two writers never get one turn. The
	 * cursor counts turns; the modulo follows the pool when it grows or shrinks. */
	st = prepare(l, "INSERT INTO rr_cursors (pool, cursor) VALUES (?1, 1)"
	    " ON CONFLICT (pool) DO UPDATE SET cursor = rr_cursors.cursor + 1 RETURNING cursor - 1");
	bind_text(st, 1, pool);
	rc = store_step(st);
	if (rc == STORE_ROW) {
		*index = (size_t)((uint64_t)store_column_int64(st, 0) % n);
		rc = store_step(st);
	}
	release(l, st);
	return rc == STORE_DONE ? 0 : fail_db(l, "round robin");
}

/* Runs sql, which selects one text column of the row whose key is ?1: 0 with *value (caller
 * frees; NULL for NULL), LEDGER_NOT_FOUND without a row, -1. */
static int
lookup_text(struct ledger *l, const char *sql, const char *key, char **value, const char *what)
{
	struct store_stmt *st = prepare(l, sql);
	int rc;

	bind_text(st, 1, key);
	if ((rc = step_row(l, st, what)) == 0)
		*value = col_dup(st, 0);
	release(l, st);
	return rc;
}

int
ledger_kv_get(struct ledger *l, const char *key, char **value)
{
	*value = NULL;
	if (check_tx(l) < 0 || check_str(l, "kv key", key, LEDGER_NAME_MAX) < 0)
		return -1;
	return lookup_text(l, "SELECT value FROM kv WHERE key = ?1", key, value, "kv get");
}

int
ledger_kv_set(struct ledger *l, const char *key, const char *value)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "kv key", key, LEDGER_NAME_MAX) < 0)
		return -1;
	if (value != NULL && strnlen(value, LEDGER_VALUE_MAX + 1) > LEDGER_VALUE_MAX)
		return err_set(l->err, sizeof(l->err), "ledger: kv value is longer than %d bytes",
		    LEDGER_VALUE_MAX);
	if (value == NULL) {
		st = prepare(l, "DELETE FROM kv WHERE key = ?1");
	} else {
		st = prepare(l, "INSERT INTO kv (key, value) VALUES (?1, ?2)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
		/* An empty value is a value, not NULL. */
		store_bind_text(st, 2, value);
	}
	bind_text(st, 1, key);
	return run_done(l, st, "kv set");
}

/* Steps st to the end, reading each row with read_row into a growing array of size-byte
 * elements. Finalizes st. On -1 *v and *n hold what was read, for the caller's free function. */
static int
read_rows(struct ledger *l, struct store_stmt *st, size_t size,
    void (*read_row)(struct store_stmt *, void *), void **v, size_t *n, const char *what)
{
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	while ((rc = store_step(st)) == STORE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			*v = xrealloc(*v, cap * size);
		}
		read_row(st, (char *)*v + *n * size);
		(*n)++;
	}
	if (rc != STORE_DONE)
		fail_db(l, what);
	release(l, st);
	return rc == STORE_DONE ? 0 : -1;
}

static int
check_action(struct ledger *l, const char *action)
{
	if (action == NULL || strcmp(action, "renew") == 0 || strcmp(action, "recreate") == 0)
		return 0;
	return err_set(l->err, sizeof(l->err),
	    "ledger: a subscription action is \"renew\", \"recreate\" or none");
}

#define SUB_SELECT \
	"SELECT id, mailbox, kind, client_state, notification_url, expires_at, created_at," \
	" renewed_at, action FROM subscriptions "

static void
read_sub(struct store_stmt *st, void *p)
{
	struct ledger_sub *s = p;

	s->id = col_dup(st, 0);
	s->mailbox = col_dup(st, 1);
	s->kind = col_dup(st, 2);
	s->client_state = col_dup(st, 3);
	s->notification_url = col_dup(st, 4);
	s->expires_at = store_column_int64(st, 5);
	s->created_at = store_column_int64(st, 6);
	s->renewed_at = store_column_int64(st, 7);
	s->action = col_dup(st, 8);
}

int
ledger_sub_put(struct ledger *l, const struct ledger_sub *s)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "subscription id", s->id, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "mailbox", s->mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "subscription kind", s->kind, LEDGER_KIND_MAX) < 0 ||
	    check_str(l, "client state", s->client_state, LEDGER_CLIENT_STATE_MAX) < 0 ||
	    check_str(l, "notification url", s->notification_url, LEDGER_LINK_MAX) < 0 ||
	    check_action(l, s->action) < 0)
		return -1;
	st = prepare(l, "INSERT INTO subscriptions (id, mailbox, kind,"
	    " client_state, notification_url, expires_at, created_at, renewed_at, action)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET"
	    " mailbox = excluded.mailbox, kind = excluded.kind,"
	    " client_state = excluded.client_state, notification_url = excluded.notification_url,"
	    " expires_at = excluded.expires_at, created_at = excluded.created_at,"
	    " renewed_at = excluded.renewed_at, action = excluded.action");
	bind_text(st, 1, s->id);
	bind_text(st, 2, s->mailbox);
	bind_text(st, 3, s->kind);
	bind_text(st, 4, s->client_state);
	bind_text(st, 5, s->notification_url);
	store_bind_int64(st, 6, s->expires_at);
	store_bind_int64(st, 7, s->created_at);
	store_bind_int64(st, 8, s->renewed_at);
	bind_text(st, 9, s->action);
	return run_done(l, st, "subscription put");
}

int
ledger_sub_get(struct ledger *l, const char *id, struct ledger_sub *out)
{
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0 || check_str(l, "subscription id", id, LEDGER_NAME_MAX) < 0)
		return -1;
	st = prepare(l, SUB_SELECT "WHERE id = ?1");
	bind_text(st, 1, id);
	if ((rc = step_row(l, st, "subscription get")) == 0)
		read_sub(st, out);
	release(l, st);
	return rc;
}

int
ledger_sub_list(struct ledger *l, struct ledger_sub **out, size_t *n)
{
	void *v;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (read_rows(l, prepare(l, SUB_SELECT "ORDER BY mailbox, kind, id"),
	    sizeof(**out), read_sub, &v, n, "subscription list") < 0) {
		ledger_subs_free(v, *n);
		*n = 0;
		return -1;
	}
	*out = v;
	return 0;
}

int
ledger_sub_delete(struct ledger *l, const char *id)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "subscription id", id, LEDGER_NAME_MAX) < 0)
		return -1;
	st = prepare(l, "DELETE FROM subscriptions WHERE id = ?1");
	bind_text(st, 1, id);
	return run_done(l, st, "subscription delete");
}

int
ledger_sub_set_action(struct ledger *l, const char *id, const char *action)
{
	struct store_stmt *st;
	int64_t n;

	if (check_tx(l) < 0 || check_str(l, "subscription id", id, LEDGER_NAME_MAX) < 0 ||
	    check_action(l, action) < 0)
		return -1;
	st = prepare(l, "UPDATE subscriptions SET action = ?2 WHERE id = ?1");
	bind_text(st, 1, id);
	bind_text(st, 2, action);
	if ((n = run_changes(l, st, "subscription set action")) < 0)
		return -1;
	return n == 0 ? LEDGER_NOT_FOUND : 0;
}

int
ledger_sub_actions(struct ledger *l, long long *count)
{
	struct store_stmt *st;
	int rc;

	*count = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT count(*) FROM subscriptions WHERE action IS NOT NULL");
	if ((rc = step_row(l, st, "subscription actions")) == 0)
		*count = store_column_int64(st, 0);
	release(l, st);
	return rc < 0 ? -1 : 0;
}

void
ledger_sub_clear(struct ledger_sub *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->mailbox);
	free(s->kind);
	free(s->client_state);
	free(s->notification_url);
	free(s->action);
	memset(s, 0, sizeof(*s));
}

void
ledger_subs_free(struct ledger_sub *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ledger_sub_clear(&s[i]);
	free(s);
}

int
ledger_dirty_mark(struct ledger *l, const char *mailbox, const char *folder, int64_t now)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	/* One statement on the primary key: the receiver calls this for every notification.
	 * A mark whose gen was read removed the row, so an existing row's marked_at is the
	 * first unread mark (or, after a read that raced newer marks, an earlier one: such a
	 * folder only sorts sooner). */
	st = prepare(l, "INSERT INTO dirty_folders (mailbox, folder, gen, marked_at)"
	    " VALUES (?1, ?2, 1, ?3) ON CONFLICT (mailbox, folder) DO UPDATE SET"
	    " gen = dirty_folders.gen + 1");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	store_bind_int64(st, 3, now);
	return run_done(l, st, "dirty mark");
}

static void
read_dirty(struct store_stmt *st, void *p)
{
	struct ledger_dirty *d = p;

	d->mailbox = col_dup(st, 0);
	d->folder = col_dup(st, 1);
	d->gen = store_column_int64(st, 2);
	d->marked_at = store_column_int64(st, 3);
}

int
ledger_dirty_list(struct ledger *l, struct ledger_dirty **out, size_t *n)
{
	void *v;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (read_rows(l, prepare(l, "SELECT mailbox, folder, gen, marked_at"
	    " FROM dirty_folders ORDER BY marked_at, mailbox, folder"), sizeof(**out),
	    read_dirty, &v, n, "dirty list") < 0) {
		ledger_dirty_free(v, *n);
		*n = 0;
		return -1;
	}
	*out = v;
	return 0;
}

int
ledger_dirty_done(struct ledger *l, const char *mailbox, const char *folder, int64_t gen)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_folder(l, mailbox, folder) < 0)
		return -1;
	st = prepare(l, "DELETE FROM dirty_folders"
	    " WHERE mailbox = ?1 AND folder = ?2 AND gen = ?3");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, folder);
	store_bind_int64(st, 3, gen);
	return run_done(l, st, "dirty done");
}

void
ledger_dirty_free(struct ledger_dirty *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].mailbox);
		free(d[i].folder);
	}
	free(d);
}

int
ledger_next_retry(struct ledger *l, int64_t *at)
{
	struct store_stmt *st;
	int rc;

	*at = 0;
	if (check_tx(l) < 0)
		return -1;
	/* A failed message keeps its next_attempt_at in due_at. 0 must keep meaning "none",
	 * so one due at 0 or before (due now all the same) reads as 1. */
	st = prepare(l, "SELECT CASE WHEN min(due_at) < 1 THEN 1 ELSE min(due_at) END"
	    " FROM messages WHERE state = 'failed'");
	/* An aggregate always has its row; NULL (none failed) reads as 0. */
	if ((rc = step_row(l, st, "next retry")) == 0)
		*at = store_column_int64(st, 0);
	release(l, st);
	return rc;
}

/* An optional id: NULL (or empty, stored as NULL), or at most max bytes. */
static int
check_opt(struct ledger *l, const char *what, const char *s, size_t max)
{
	if (s != NULL && strnlen(s, max + 1) > max)
		return err_set(l->err, sizeof(l->err), "ledger: %s is longer than %zu bytes",
		    what, max);
	return 0;
}

static int
check_meeting_key(struct ledger *l, const char *key)
{
	return check_str(l, "meeting key", key, LEDGER_NAME_MAX);
}

static int
check_copy(struct ledger *l, const struct ledger_meeting_copy *c)
{
	if (check_meeting_key(l, c->key) < 0 ||
	    check_str(l, "mailbox", c->mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "graph id", c->graph_id, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "response", c->response, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "event data", c->data, LEDGER_VALUE_MAX) < 0)
		return -1;
	return 0;
}

/* ?1 .. ?8: the copy's mailbox, graph id, key, response, attending, cancelled, start, data. */
static void
bind_copy(struct store_stmt *st, const struct ledger_meeting_copy *c)
{
	bind_text(st, 1, c->mailbox);
	bind_text(st, 2, c->graph_id);
	bind_text(st, 3, c->key);
	bind_text(st, 4, c->response);
	store_bind_int64(st, 5, c->attending != 0);
	store_bind_int64(st, 6, c->cancelled != 0);
	store_bind_int64(st, 7, c->start_at);
	bind_text(st, 8, c->data);
}

/*
 * Makes the meeting key pending, creating it if new. A meeting already pending keeps its
 * changed_at: the oldest unhandled change sets its place in line, so one that keeps changing is
 * not pushed back for ever. A dead one comes back with its attempts reset (the change may be
 * what it needed); a failed one keeps them, so a meeting that fails whatever happens to it
 * still ends dead.
 */
static int
meeting_touch(struct ledger *l, const char *key, int64_t now)
{
	struct store_stmt *st = prepare(l, "INSERT INTO meetings (key, changed_at, updated_at)"
	    " VALUES (?1, ?2, ?2) ON CONFLICT (key) DO UPDATE SET state = 'pending',"
	    " changed_at = CASE WHEN meetings.state = 'pending' THEN meetings.changed_at"
	    "  ELSE excluded.changed_at END,"
	    " attempts = CASE WHEN meetings.state = 'dead' THEN 0 ELSE meetings.attempts END,"
	    " next_attempt_at = 0, updated_at = excluded.updated_at");
	int rc;

	bind_text(st, 1, key);
	store_bind_int64(st, 2, now);
	rc = step_done(l, st, "meeting pending");
	release(l, st);
	return rc;
}

int
ledger_meeting_copy_put(struct ledger *l, const struct ledger_meeting_copy *c, int *changed)
{
	struct store_stmt *st = NULL;
	char *old_key = NULL;
	int64_t now = now_s(), n;
	int ok = 0, rc, same = 0;

	if (check_copy(l, c) < 0 || atomic_begin(l) < 0)
		return -1;
	/*
	 * The database compares: data may be tens of kilobytes, and a delta replay is the common
	 * case. The write below replaces the copy only if it still belongs to the meeting read
	 * here (NULL: there was none), and PostgreSQL locks the copy read: a concurrent move of
	 * it is seen, never lost, and a copy inserted meanwhile by another writer sends us round
	 * again to read it. On SQLite the write lock is held from the start: one round.
	 */
	for (int round = 0; round < 3 && !ok; round++) {
		free(old_key);
		old_key = NULL;
#define COPY_SAME_SQL "SELECT key, CASE WHEN key = ?3 AND response = ?4 AND attending = ?5" \
	    " AND cancelled = ?6 AND start_at = ?7 AND data = ?8 THEN 1 ELSE 0 END" \
	    " FROM meeting_copies WHERE mailbox = ?1 AND graph_id = ?2"
		st = prepare(l, BY_KIND(l, COPY_SAME_SQL, COPY_SAME_SQL " FOR UPDATE"));
		bind_copy(st, c);
		if ((rc = step_row(l, st, "find meeting copy")) < 0)
			goto out;
		same = rc == 0 && store_column_int64(st, 1) != 0;
		if (rc == 0)
			old_key = col_dup(st, 0);
		release(l, st);
		st = NULL;
		if (same) {
			ok = 1;
			break;
		}

		/* The meeting first: the copy references it. */
		if (meeting_touch(l, c->key, now) < 0)
			goto out;
		st = prepare(l, "INSERT INTO meeting_copies (mailbox, graph_id, key, response,"
		    " attending, ever_attending, cancelled, start_at, data, updated_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)"
		    " ON CONFLICT (mailbox, graph_id) DO UPDATE SET key = excluded.key,"
		    " response = excluded.response, attending = excluded.attending,"
		    " ever_attending = CASE WHEN excluded.response = 'declined' THEN 0"
		    "  WHEN meeting_copies.ever_attending <> 0 OR excluded.attending <> 0"
		    "  THEN 1 ELSE 0 END,"
		    " cancelled = excluded.cancelled, start_at = excluded.start_at,"
		    " data = excluded.data, updated_at = excluded.updated_at"
		    " WHERE meeting_copies.key = ?10");
		bind_copy(st, c);
		store_bind_int64(st, 9, now);
		bind_text(st, 10, old_key);
		n = run_changes(l, st, "put meeting copy");
		st = NULL;
		if (n < 0)
			goto out;
		ok = n > 0;
	}
	if (!ok) {
		err_set(l->err, sizeof(l->err), "ledger: a meeting copy kept changing under us");
		goto out;
	}
	/* The Graph event now belongs to another meeting (a series instance moved): the one it
	 * left lost a copy, which may change its Event too. */
	if (!same && old_key != NULL && strcmp(old_key, c->key) != 0 &&
	    meeting_touch(l, old_key, now) < 0)
		ok = 0;
out:
	release(l, st);
	free(old_key);
	if (atomic_end(l, ok) < 0)
		return -1;
	if (changed != NULL)
		*changed = !same;
	return 0;
}

int
ledger_meeting_copy_remove(struct ledger *l, const char *mailbox, const char *graph_id,
    int *found)
{
	struct store_stmt *st;
	char *key = NULL;
	int ok = 0, rc;

	if (check_str(l, "mailbox", mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "graph id", graph_id, LEDGER_NAME_MAX) < 0 || atomic_begin(l) < 0)
		return -1;
	st = prepare(l, "DELETE FROM meeting_copies WHERE mailbox = ?1 AND graph_id = ?2"
	    " RETURNING key");
	bind_text(st, 1, mailbox);
	bind_text(st, 2, graph_id);
	if ((rc = step_row(l, st, "remove meeting copy")) < 0)
		goto out;
	if (rc == 0) {
		key = col_dup(st, 0);
		if (step_done(l, st, "remove meeting copy") < 0)
			goto out;
	}
	release(l, st);
	st = NULL;
	if (key != NULL && meeting_touch(l, key, now_s()) < 0)
		goto out;
	ok = 1;
out:
	release(l, st);
	if (atomic_end(l, ok) < 0) {
		free(key);
		return -1;
	}
	if (found != NULL)
		*found = key != NULL;
	free(key);
	return 0;
}

static void
read_key(struct store_stmt *st, void *p)
{
	*(char **)p = col_dup(st, 0);
}

/* Reads a query of one text column into *keys (see ledger_keys_free). Finalizes st. */
static int
read_keys(struct ledger *l, struct store_stmt *st, char ***keys, size_t *n, const char *what)
{
	void *v;

	if (read_rows(l, st, sizeof(**keys), read_key, &v, n, what) < 0) {
		ledger_keys_free(v, *n);
		*n = 0;
		return -1;
	}
	*keys = v;
	return 0;
}

int
ledger_meeting_due(struct ledger *l, int64_t now, size_t max, char ***keys, size_t *n)
{
	struct store_stmt *st;

	*keys = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT key FROM meetings WHERE state = 'pending'"
	    " OR (state = 'failed' AND next_attempt_at <= ?1)"
	    " ORDER BY CASE state WHEN 'failed' THEN 1 ELSE 0 END,"
	    " CASE state WHEN 'pending' THEN changed_at ELSE next_attempt_at END, key LIMIT ?2");
	store_bind_int64(st, 1, now);
	store_bind_int64(st, 2, limit_of(max));
	return read_keys(l, st, keys, n, "meetings due");
}

void
ledger_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int
ledger_meeting_get(struct ledger *l, const char *key, struct ledger_meeting *out)
{
	struct store_stmt *st;
	size_t cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_tx(l) < 0 || check_meeting_key(l, key) < 0)
		return -1;
	/* One statement, so the meeting and its copies are one snapshot even outside a
	 * transaction. */
	st = prepare(l, "SELECT m.key, m.state, m.sf_event_id, m.opportunity_id,"
	    " m.owner_mailbox, m.start_at, m.written, m.attempts, m.next_attempt_at, m.last_error,"
	    " c.mailbox, c.graph_id, c.response, c.attending, c.ever_attending, c.cancelled,"
	    " c.start_at, c.data, c.updated_at FROM meetings m"
	    " LEFT JOIN meeting_copies c ON c.key = m.key"
	    " WHERE m.key = ?1 ORDER BY c.mailbox, c.graph_id");
	bind_text(st, 1, key);
	if ((rc = store_step(st)) != STORE_ROW) {
		release(l, st);
		return rc == STORE_DONE ? LEDGER_NOT_FOUND : fail_db(l, "meeting get");
	}
	out->key = col_dup(st, 0);
	out->sync = (enum ledger_msync)parse_name(&meetings_t, store_column_text(st, 1));
	out->sf_event_id = col_dup(st, 2);
	out->opportunity_id = col_dup(st, 3);
	out->owner_mailbox = col_dup(st, 4);
	out->start_at = store_column_int64(st, 5);
	out->written = col_dup(st, 6);
	out->attempts = (int)store_column_int64(st, 7);
	out->next_attempt_at = store_column_int64(st, 8);
	out->last_error = col_dup(st, 9);
	for (; rc == STORE_ROW; rc = store_step(st)) {
		struct ledger_meeting_copy_row *c;

		if (store_column_is_null(st, 10))
			continue;	/* no copy left: the LEFT JOIN's one row */
		if (out->ncopies == cap) {
			cap = cap ? 2 * cap : 4;
			out->copies = xrealloc(out->copies, cap * sizeof(*out->copies));
		}
		c = &out->copies[out->ncopies++];
		c->mailbox = col_dup(st, 10);
		c->graph_id = col_dup(st, 11);
		c->response = col_dup(st, 12);
		c->attending = (int)store_column_int64(st, 13);
		c->ever_attending = (int)store_column_int64(st, 14);
		c->cancelled = (int)store_column_int64(st, 15);
		c->start_at = store_column_int64(st, 16);
		c->data = col_dup(st, 17);
		c->updated_at = store_column_int64(st, 18);
	}
	release(l, st);
	if (rc != STORE_DONE) {
		fail_db(l, "meeting get");
		ledger_meeting_clear(out);
		return -1;
	}
	return 0;
}

void
ledger_meeting_clear(struct ledger_meeting *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->ncopies; i++) {
		free(m->copies[i].mailbox);
		free(m->copies[i].graph_id);
		free(m->copies[i].response);
		free(m->copies[i].data);
	}
	free(m->copies);
	free(m->key);
	free(m->sf_event_id);
	free(m->opportunity_id);
	free(m->owner_mailbox);
	free(m->written);
	free(m->last_error);
	memset(m, 0, sizeof(*m));
}

int
ledger_meeting_done(struct ledger *l, const char *key, const char *sf_event_id,
    const char *opportunity_id, const char *owner_mailbox, int64_t start_at,
    const char *written)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_meeting_key(l, key) < 0 ||
	    check_opt(l, "Salesforce event id", sf_event_id, LEDGER_NAME_MAX) < 0 ||
	    check_opt(l, "opportunity id", opportunity_id, LEDGER_NAME_MAX) < 0 ||
	    check_opt(l, "owner mailbox", owner_mailbox, LEDGER_NAME_MAX) < 0 ||
	    check_opt(l, "written digest", written, LEDGER_NAME_MAX) < 0)
		return -1;
	st = prepare(l, "UPDATE meetings SET state = 'done', sf_event_id = ?2,"
	    " opportunity_id = ?3, owner_mailbox = ?4, start_at = ?5, written = ?6, attempts = 0,"
	    " next_attempt_at = 0, last_error = NULL, updated_at = ?7"
	    " WHERE key = ?1 AND state IN " OPEN_STATES);
	bind_text(st, 1, key);
	bind_text(st, 2, sf_event_id);
	bind_text(st, 3, opportunity_id);
	bind_text(st, 4, owner_mailbox);
	store_bind_int64(st, 5, start_at);
	bind_text(st, 6, written);
	store_bind_int64(st, 7, now_s());
	return update_open(l, &meetings_t, st, key, "mark done");
}

int
ledger_meeting_failed(struct ledger *l, const char *key, const char *error,
    enum ledger_fail fail, int64_t next_attempt_at, enum ledger_msync *state)
{
	int s;

	if (check_tx(l) < 0 || check_meeting_key(l, key) < 0)
		return -1;
	/* No reason column: last_error says why a dead meeting died. */
	if (fail_attempt(l, &meetings_t, "UPDATE meetings SET attempts = attempts + ?2,"
	    " last_error = ?3, state = " FAIL_STATE ", next_attempt_at = ?6, updated_at = ?7"
	    " WHERE key = ?1 AND state IN " OPEN_STATES " RETURNING state", key, error, fail,
	    next_attempt_at, &s) < 0)
		return -1;
	if (state != NULL)
		*state = (enum ledger_msync)s;
	return 0;
}

int
ledger_meeting_next_on(struct ledger *l, const char *opportunity_id, int64_t after,
    int64_t *earliest)
{
	struct store_stmt *st;
	int rc;

	*earliest = 0;
	if (check_tx(l) < 0 || check_str(l, "opportunity id", opportunity_id, LEDGER_NAME_MAX) < 0)
		return -1;
	st = prepare(l, "SELECT coalesce(min(start_at), 0) FROM meetings"
	    " WHERE opportunity_id = ?1 AND start_at > ?2 AND state = 'done'"
	    " AND sf_event_id IS NOT NULL");
	bind_text(st, 1, opportunity_id);
	store_bind_int64(st, 2, after);
	/* An aggregate always has its row. */
	if ((rc = step_row(l, st, "next meeting")) == 0)
		*earliest = store_column_int64(st, 0);
	release(l, st);
	return rc;
}

int
ledger_meeting_opps_started(struct ledger *l, int64_t since, int64_t until, size_t max,
    char ***ids, size_t *n)
{
	struct store_stmt *st;

	*ids = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT DISTINCT opportunity_id FROM meetings"
	    " WHERE state = 'done' AND sf_event_id IS NOT NULL AND opportunity_id IS NOT NULL"
	    " AND start_at > ?1 AND start_at <= ?2 ORDER BY opportunity_id LIMIT ?3");
	store_bind_int64(st, 1, since);
	store_bind_int64(st, 2, until);
	store_bind_int64(st, 3, limit_of(max));
	return read_keys(l, st, ids, n, "started meetings");
}

int
ledger_meeting_retry_dead(struct ledger *l, long long *count)
{
	struct store_stmt *st;
	int64_t n;

	*count = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "UPDATE meetings SET state = 'pending', attempts = 0,"
	    " next_attempt_at = 0, updated_at = ?1 WHERE state = 'dead'");
	store_bind_int64(st, 1, now_s());
	if ((n = run_changes(l, st, "retry dead meetings")) < 0)
		return -1;
	*count = n;
	return 0;
}

int
ledger_meeting_counts(struct ledger *l, long long counts[LEDGER_MEETING_STATES])
{
	static const char *const names[LEDGER_MEETING_STATES] = { "pending", "done", "failed",
	    "dead" };
	struct store_stmt *st;
	int rc;

	memset(counts, 0, sizeof(long long) * LEDGER_MEETING_STATES);
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT state, count(*) FROM meetings GROUP BY state");
	while ((rc = store_step(st)) == STORE_ROW)
		for (int i = 0; i < LEDGER_MEETING_STATES; i++)
			if (strcmp((const char *)store_column_text(st, 0), names[i]) == 0)
				counts[i] = store_column_int64(st, 1);
	release(l, st);
	return rc == STORE_DONE ? 0 : fail_db(l, "meeting counts");
}

int
ledger_opp_mark(struct ledger *l, const char *opportunity_id)
{
	struct store_stmt *st;
	int64_t now = now_s();

	if (check_tx(l) < 0 || check_str(l, "opportunity id", opportunity_id, LEDGER_NAME_MAX) < 0)
		return -1;
	/* marked keeps the first mark not yet written, so the marked are listed oldest first. */
	st = prepare(l, "INSERT INTO opp_next (opportunity_id, marked)"
	    " VALUES (?1, ?2) ON CONFLICT (opportunity_id) DO UPDATE SET"
	    " marked = CASE WHEN opp_next.marked = 0 THEN excluded.marked ELSE opp_next.marked END");
	bind_text(st, 1, opportunity_id);
	store_bind_int64(st, 2, now > 1 ? now : 1);	/* 0 means not marked */
	return run_done(l, st, "mark opportunity");
}

int
ledger_opp_marked(struct ledger *l, size_t max, char ***ids, size_t *n)
{
	struct store_stmt *st;

	*ids = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT opportunity_id FROM opp_next WHERE marked <> 0"
	    " ORDER BY marked, opportunity_id LIMIT ?1");
	store_bind_int64(st, 1, limit_of(max));
	return read_keys(l, st, ids, n, "marked opportunities");
}

int
ledger_opp_written(struct ledger *l, const char *opportunity_id, const char *value)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "opportunity id", opportunity_id, LEDGER_NAME_MAX) < 0 ||
	    check_opt(l, "next meeting value", value, LEDGER_NAME_MAX) < 0)
		return -1;
	st = prepare(l, "INSERT INTO opp_next (opportunity_id, written, marked)"
	    " VALUES (?1, ?2, 0) ON CONFLICT (opportunity_id) DO UPDATE SET"
	    " written = excluded.written, marked = 0");
	bind_text(st, 1, opportunity_id);
	bind_text(st, 2, value);
	return run_done(l, st, "opportunity written");
}

int
ledger_opp_get(struct ledger *l, const char *opportunity_id, char **value)
{
	*value = NULL;
	if (check_tx(l) < 0 || check_str(l, "opportunity id", opportunity_id, LEDGER_NAME_MAX) < 0)
		return -1;
	return lookup_text(l, "SELECT written FROM opp_next WHERE opportunity_id = ?1",
	    opportunity_id, value, "opportunity get");
}

int
ledger_api_add(struct ledger *l, int64_t at, long long calls, int64_t prune_before)
{
	struct store_stmt *st;

	if (check_tx(l) < 0)
		return -1;
	/* A reservation given back never takes a bucket below nothing. */
	st = prepare(l, "INSERT INTO api_calls (at, calls) VALUES (?1, ?3)"
	    " ON CONFLICT (at) DO UPDATE SET calls = CASE WHEN api_calls.calls + ?2 > 0"
	    " THEN api_calls.calls + ?2 ELSE 0 END");
	store_bind_int64(st, 1, at);
	store_bind_int64(st, 2, calls);
	store_bind_int64(st, 3, calls > 0 ? calls : 0);
	if (run_done(l, st, "api add") < 0)
		return -1;
	st = prepare(l, "DELETE FROM api_calls WHERE at < ?1");
	store_bind_int64(st, 1, prune_before);
	return run_done(l, st, "api prune");
}

static void
read_api_bucket(struct store_stmt *st, void *p)
{
	struct ledger_api_bucket *b = p;

	b->at = store_column_int64(st, 0);
	b->calls = store_column_int64(st, 1);
}

int
ledger_api_buckets(struct ledger *l, int64_t since, struct ledger_api_bucket **out, size_t *n)
{
	struct store_stmt *st;
	void *v;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT at, calls FROM api_calls WHERE at >= ?1 AND calls > 0"
	    " ORDER BY at");
	store_bind_int64(st, 1, since);
	if (read_rows(l, st, sizeof(**out), read_api_bucket, &v, n, "api buckets") < 0) {
		free(v);
		*n = 0;
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Several instances on one database (docs/architecture.md#several-instances): leases, the
 * batches of messages claimed by one instance, Lead claims of dead instances, and the API
 * budget reserved atomically. Each call is one statement, or a few inside atomic_begin, in the
 * dialect SQLite and PostgreSQL share.
 */

void
ledger_set_owner(struct ledger *l, const char *owner)
{
	snprintf(l->owner, sizeof(l->owner), "%s", owner != NULL ? owner : "");
}

int
ledger_lease_take(struct ledger *l, const char *name, const char *owner, int64_t now_ms,
    int64_t ttl_ms, int *held)
{
	struct store_stmt *st;
	int rc;

	*held = 0;
	if (check_tx(l) < 0 || check_str(l, "lease name", name, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0)
		return -1;
	/* Free, expired, or ours (a renewal): one statement, so two takers never both win.
	 * Without a row back the lease is someone else's. */
	/* The casts give PostgreSQL the parameters' type where no column does. */
	st = prepare(l, "INSERT INTO leases (name, owner, expires_at)"
	    " VALUES (?1, ?2, CAST(?3 AS BIGINT) + CAST(?4 AS BIGINT))"
	    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
	    " expires_at = excluded.expires_at"
	    " WHERE leases.owner = excluded.owner OR leases.expires_at <= ?3"
	    " RETURNING owner");
	bind_text(st, 1, name);
	bind_text(st, 2, owner);
	store_bind_int64(st, 3, now_ms);
	store_bind_int64(st, 4, ttl_ms);
	rc = store_step(st);
	if (rc == STORE_ROW) {
		*held = 1;
		rc = store_step(st);
	}
	release(l, st);
	return rc == STORE_DONE ? 0 : fail_db(l, "lease take");
}

int
ledger_lease_renew_owned(struct ledger *l, const char *owner, const char *prefix,
    int64_t now_ms, int64_t ttl_ms, char ***names, size_t *n)
{
	struct store_stmt *st;
	char *upper;
	size_t len;
	int rc;

	*names = NULL;
	*n = 0;
	if (check_tx(l) < 0 || check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0 ||
	    check_str(l, "lease prefix", prefix, LEDGER_NAME_MAX) < 0)
		return -1;
	/* The names starting with prefix are those in [prefix, prefix with its last byte
	 * raised): a range both backends answer from the primary key (text compared byte by
	 * byte on both). */
	len = strlen(prefix);
	upper = xstrdup(prefix);
	if ((unsigned char)upper[len - 1] == 0xff) {
		free(upper);
		return err_set(l->err, sizeof(l->err), "ledger: lease prefix ends in 0xff");
	}
	upper[len - 1] = (char)(upper[len - 1] + 1);
	st = prepare(l, "UPDATE leases SET expires_at = CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT)"
	    " WHERE owner = ?1 AND expires_at > ?2 AND name >= ?4 AND name < ?5 RETURNING name");
	bind_text(st, 1, owner);
	store_bind_int64(st, 2, now_ms);
	store_bind_int64(st, 3, ttl_ms);
	bind_text(st, 4, prefix);
	bind_text(st, 5, upper);
	rc = read_keys(l, st, names, n, "lease renew");
	free(upper);
	return rc;
}

int
ledger_lease_drop(struct ledger *l, const char *name, const char *owner)
{
	struct store_stmt *st;

	if (check_tx(l) < 0 || check_str(l, "lease name", name, LEDGER_NAME_MAX) < 0 ||
	    check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0)
		return -1;
	st = prepare(l, "DELETE FROM leases WHERE name = ?1 AND owner = ?2");
	bind_text(st, 1, name);
	bind_text(st, 2, owner);
	return run_done(l, st, "lease drop");
}

static void
read_lease(struct store_stmt *st, void *p)
{
	struct ledger_lease *e = p;

	e->name = col_dup(st, 0);
	e->owner = col_dup(st, 1);
	e->expires_at = store_column_int64(st, 2);
}

int
ledger_lease_list(struct ledger *l, struct ledger_lease **out, size_t *n)
{
	void *v;

	*out = NULL;
	*n = 0;
	if (check_tx(l) < 0)
		return -1;
	if (read_rows(l, prepare(l, "SELECT name, owner, expires_at FROM leases ORDER BY name"),
	    sizeof(**out), read_lease, &v, n, "lease list") < 0) {
		ledger_leases_free(v, *n);
		*n = 0;
		return -1;
	}
	*out = v;
	return 0;
}

void
ledger_leases_free(struct ledger_lease *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].owner);
	}
	free(v);
}

int
ledger_claim_pending(struct ledger *l, const char *owner, int64_t now, int64_t since,
    int64_t lease_until, struct ledger_entry *out, size_t max, size_t *n)
{
	struct store_stmt *st;
	int ok = 0;

	*n = 0;
	if (check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0 ||
	    (since != INT64_MIN && check_recent(l, since) < 0))
		return -1;
	if (max == 0)
		return 0;
	if (atomic_begin(l) < 0)
		return -1;
	/* Open and due, unclaimed or claimed by an instance whose claim ran out (it died, or
	 * its batch outlived the lease: every write is idempotent, so a batch done twice is
	 * safe), or ours. PostgreSQL skips the rows another instance is claiming this moment
	 * (FOR UPDATE SKIP LOCKED), so two claimers take different rows instead of waiting;
	 * SQLite's IMMEDIATE transaction around the claim already excludes every other writer.
	 * The ids come through messages_open in order (ledger_next_pending says why), or,
	 * for live mail only, through the recent index (ledger_next_pending_since). */
	if (since == INT64_MIN)
		st = prepare(l, BY_KIND(l, "UPDATE messages SET lease_owner = ?3, lease_until = ?4"
		    " WHERE id IN (SELECT id FROM messages INDEXED BY messages_open WHERE state IN "
		    OPEN_STATES " AND due_at <= ?1"
		    " AND (lease_owner IS NULL OR lease_until <= ?1 OR lease_owner = ?3)"
		    " ORDER BY due_at, id LIMIT ?2)",
		    "UPDATE messages SET lease_owner = ?3, lease_until = ?4"
		    " WHERE id IN (SELECT id FROM messages WHERE state IN " OPEN_STATES
		    " AND due_at <= ?1"
		    " AND (lease_owner IS NULL OR lease_until <= ?1 OR lease_owner = ?3)"
		    " ORDER BY due_at, id LIMIT ?2 FOR UPDATE SKIP LOCKED)"));
	else
		st = prepare(l, BY_KIND(l, "UPDATE messages SET lease_owner = ?3, lease_until = ?4"
		    " WHERE id IN (SELECT id FROM messages INDEXED BY messages_open_recent"
		    " WHERE recent <> 0 AND state IN " OPEN_STATES " AND due_at <= ?1"
		    " AND received_at >= ?5"
		    " AND (lease_owner IS NULL OR lease_until <= ?1 OR lease_owner = ?3)"
		    " ORDER BY due_at, id LIMIT ?2)",
		    "UPDATE messages SET lease_owner = ?3, lease_until = ?4"
		    " WHERE id IN (SELECT id FROM messages WHERE recent <> 0 AND state IN "
		    OPEN_STATES " AND due_at <= ?1 AND received_at >= ?5"
		    " AND (lease_owner IS NULL OR lease_until <= ?1 OR lease_owner = ?3)"
		    " ORDER BY due_at, id LIMIT ?2 FOR UPDATE SKIP LOCKED)"));
	store_bind_int64(st, 1, now);
	store_bind_int64(st, 2, limit_of(max));
	bind_text(st, 3, owner);
	store_bind_int64(st, 4, lease_until);
	if (since != INT64_MIN)
		store_bind_int64(st, 5, since);
	if (run_done(l, st, "claim pending") < 0)
		goto out;
	st = prepare(l, ENTRY_SQL(l, "WHERE m.lease_owner = ?3 AND m.lease_until = ?4"
	    " AND m.state IN " OPEN_STATES " AND m.due_at <= ?1 ORDER BY m.due_at, m.id"
	    " LIMIT ?2"));
	store_bind_int64(st, 1, now);
	store_bind_int64(st, 2, limit_of(max));
	bind_text(st, 3, owner);
	store_bind_int64(st, 4, lease_until);
	ok = read_entries(l, st, out, max, n, "claimed") == 0;
out:
	if (atomic_end(l, ok) < 0) {
		for (size_t i = 0; i < *n; i++)
			ledger_entry_clear(&out[i]);
		*n = 0;
		return -1;
	}
	return 0;
}

int
ledger_claims_release(struct ledger *l, const char *owner, long long *count)
{
	struct store_stmt *st;
	int64_t changed;

	if (count != NULL)
		*count = 0;
	if (check_tx(l) < 0 || check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0)
		return -1;
	st = prepare(l, "UPDATE messages SET lease_owner = NULL, lease_until = 0"
	    " WHERE lease_owner = ?1");
	bind_text(st, 1, owner);
	if ((changed = run_changes(l, st, "release claims")) < 0)
		return -1;
	if (count != NULL)
		*count = changed;
	return 0;
}

int
ledger_claims_renew(struct ledger *l, const char *owner, int64_t lease_until, long long *count)
{
	struct store_stmt *st;
	int64_t changed;

	if (count != NULL)
		*count = 0;
	if (check_tx(l) < 0 || check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0)
		return -1;
	/* SKIP LOCKED: the worker marking its batch holds those rows, in key order; waiting on
	 * them in another order could deadlock with it. */
	st = prepare(l, BY_KIND(l,
	    "UPDATE messages SET lease_until = ?2 WHERE lease_owner = ?1 AND lease_until < ?2",
	    "UPDATE messages SET lease_until = ?2 WHERE id IN (SELECT id FROM messages"
	    " WHERE lease_owner = ?1 AND lease_until < ?2 FOR UPDATE SKIP LOCKED)"));
	bind_text(st, 1, owner);
	store_bind_int64(st, 2, lease_until);
	if ((changed = run_changes(l, st, "renew claims")) < 0)
		return -1;
	if (count != NULL)
		*count = changed;
	return 0;
}

int
ledger_claimable(struct ledger *l, int64_t now, int *any)
{
	struct store_stmt *st;
	int rc;

	*any = 0;
	if (check_tx(l) < 0)
		return -1;
	st = prepare(l, "SELECT 1 FROM messages WHERE state IN " OPEN_STATES
	    " AND due_at <= ?1 AND (lease_owner IS NULL OR lease_until <= ?1) LIMIT 1");
	store_bind_int64(st, 1, now);
	rc = step_row(l, st, "claimable");
	release(l, st);
	if (rc < 0)
		return -1;
	*any = rc == 0;
	return 0;
}

int
ledger_lead_orphans_of_dead(struct ledger *l, int64_t now_ms, long long *count)
{
	struct store_stmt *st;
	int64_t changed;

	*count = 0;
	if (check_tx(l) < 0)
		return -1;
	/* A claim whose instance holds no live "instance:" lease was left mid-create by an
	 * instance that died: stale at once (claimed_at 0), as ledger_lead_orphan_claims does
	 * for a single olsync. A claim of an olsync from before owners (NULL) counts as dead. */
	st = prepare(l, "UPDATE lead_claims SET claimed_at = 0"
	    " WHERE lead_id IS NULL AND claimed_at > 0 AND (owner IS NULL OR NOT EXISTS"
	    " (SELECT 1 FROM leases WHERE leases.name = 'instance:' || lead_claims.owner"
	    " AND leases.expires_at > ?1))");
	store_bind_int64(st, 1, now_ms);
	if ((changed = run_changes(l, st, "orphan lead claims of dead instances")) < 0)
		return -1;
	*count = changed;
	return 0;
}

int
ledger_api_reserve(struct ledger *l, int64_t at, long long calls, int64_t since,
    long long limit, int64_t prune_before, int *granted)
{
	struct store_stmt *st;
	int64_t changed;
	int ok = 0;

	*granted = 0;
	if (atomic_begin(l) < 0)
		return -1;
	/* A write to one row first: on PostgreSQL its row lock queues the instances reserving
	 * at once, so each sees the others' calls in its sum (SQLite's IMMEDIATE transaction
	 * already does). */
	st = prepare(l, "INSERT INTO kv (key, value) VALUES ('budget_lock', '')"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (run_done(l, st, "budget lock") < 0)
		goto out;
	/* INSERT ... SELECT: PostgreSQL takes no type from the columns, so the casts say it. */
	st = prepare(l, "INSERT INTO api_calls (at, calls)"
	    " SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT) WHERE CAST(?4 AS BIGINT) < 0"
	    " OR (SELECT coalesce(sum(calls), 0) FROM api_calls WHERE at >= CAST(?3 AS BIGINT))"
	    "   + CAST(?2 AS BIGINT) <= CAST(?4 AS BIGINT)"
	    " ON CONFLICT (at) DO UPDATE SET calls = api_calls.calls + excluded.calls");
	store_bind_int64(st, 1, at);
	store_bind_int64(st, 2, calls);
	store_bind_int64(st, 3, since);
	store_bind_int64(st, 4, limit);
	if ((changed = run_changes(l, st, "api reserve")) < 0)
		goto out;
	*granted = changed > 0;
	st = prepare(l, "DELETE FROM api_calls WHERE at < ?1");
	store_bind_int64(st, 1, prune_before);
	ok = run_done(l, st, "api prune") == 0;
out:
	if (atomic_end(l, ok) < 0) {
		*granted = 0;
		return -1;
	}
	return 0;
}

int
ledger_lease_expire_owner(struct ledger *l, const char *owner, long long *count)
{
	struct store_stmt *st;
	int64_t changed;

	if (count != NULL)
		*count = 0;
	if (check_tx(l) < 0 || check_str(l, "lease owner", owner, LEDGER_OWNER_MAX) < 0)
		return -1;
	st = prepare(l, "UPDATE leases SET expires_at = 0 WHERE owner = ?1 AND expires_at > 0");
	bind_text(st, 1, owner);
	if ((changed = run_changes(l, st, "expire leases")) < 0)
		return -1;
	if (count != NULL)
		*count = changed;
	return 0;
}
