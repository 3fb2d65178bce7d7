/* graph_store.c: graph-sim's tables (see graph_store.h).
 *
 * g_user        directory users; id is a GUID, upn unique (case-insensitive)
 * g_app         app registrations: client_id, secret, certificate PEM, consented application
 *               permissions (roles, JSON array) and delegated scopes (scopes, JSON array)
 * g_folder      mail folders per user; well_known is "inbox", "sentitems", ... or NULL
 * g_message     one row per copy of a message in a mailbox. immutable_id never changes;
 *               rest_id (the default id) changes when the message moves. deleted = 1 once gone.
 * g_event       one row per event instance in a calendar (series master, occurrences and
 *               single instances each a row; occurrences carry series_master_id)
 * g_change      every change to a message or event, in sequence: kind 'message' | 'event',
 *               change 'upsert' (created or updated) | 'removed' (deleted or moved out of
 *               folder_id); delta rounds replay the changes after their token's seq
 * g_delta       delta state behind $skiptoken and $deltatoken values: what is tracked
 *               (user, resource 'messages' | 'calendarView', folder, window), the round's seq,
 *               the paging position, and the request options (JSON)
 * g_subscription  change-notification subscriptions
 * g_delivery    notifications queued, retried and delivered (validation handshakes too)
 * g_attempt     each delivery attempt: HTTP status (0 = no answer), latency
 * g_fault, g_stat, g_setting, g_key   scripted faults, counters, settings, the signing key
 * g_group       directory groups (migration 2): id a GUID, display_name, mail (NULL when not
 *               mail-enabled)
 * g_group_member  direct members of a group, users only; rowid keeps the seed's order
 * g_policy      Exchange application access policies (migration 3): app_id, group_id (a
 *               mail-enabled group), access_right RestrictAccess or DenyAccess */
#include "graph_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto.h"
#include "db.h"
#include "log.h"

static const char *const migrations[] = {
	"CREATE TABLE g_user (id TEXT PRIMARY KEY, upn TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  mail TEXT COLLATE NOCASE, display_name TEXT, given_name TEXT, surname TEXT,"
	"  job_title TEXT, account_enabled INTEGER NOT NULL DEFAULT 1,"
	"  has_mailbox INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL);"
	"CREATE INDEX g_user_mail ON g_user (mail);"
	"CREATE TABLE g_app (client_id TEXT PRIMARY KEY, display_name TEXT, secret TEXT,"
	"  secret_expired INTEGER NOT NULL DEFAULT 0, certificate TEXT,"
	"  roles TEXT NOT NULL DEFAULT '[]', scopes TEXT NOT NULL DEFAULT '[]',"
	"  disabled INTEGER NOT NULL DEFAULT 0, sp_id TEXT NOT NULL);"
	"CREATE TABLE g_folder (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, well_known TEXT,"
	"  display_name TEXT NOT NULL, parent_id TEXT, created TEXT NOT NULL,"
	"  UNIQUE (user_id, well_known));"
	"CREATE TABLE g_message (immutable_id TEXT PRIMARY KEY, rest_id TEXT NOT NULL UNIQUE,"
	"  user_id TEXT NOT NULL, folder_id TEXT NOT NULL, internet_message_id TEXT,"
	"  conversation_id TEXT, conversation_index TEXT, subject TEXT, body_type TEXT,"
	"  body TEXT, body_preview TEXT, from_json TEXT, sender_json TEXT, to_json TEXT,"
	"  cc_json TEXT, bcc_json TEXT, reply_to_json TEXT, headers_json TEXT,"
	"  received TEXT, sent TEXT, created TEXT, modified TEXT,"
	"  is_draft INTEGER NOT NULL DEFAULT 0, is_read INTEGER NOT NULL DEFAULT 0,"
	"  has_attachments INTEGER NOT NULL DEFAULT 0, importance TEXT, inference TEXT,"
	"  categories TEXT, change_key TEXT, deleted INTEGER NOT NULL DEFAULT 0,"
	"  seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX g_message_folder ON g_message (user_id, folder_id, received);"
	"CREATE INDEX g_message_imid ON g_message (internet_message_id);"
	"CREATE TABLE g_event (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, ical_uid TEXT NOT NULL,"
	"  uid TEXT NOT NULL, series_master_id TEXT, type TEXT NOT NULL, subject TEXT,"
	"  body_type TEXT, body TEXT, body_preview TEXT, start_utc TEXT NOT NULL,"
	"  end_utc TEXT NOT NULL, start_tz TEXT, end_tz TEXT, original_start TEXT,"
	"  is_all_day INTEGER NOT NULL DEFAULT 0, is_cancelled INTEGER NOT NULL DEFAULT 0,"
	"  is_organizer INTEGER NOT NULL DEFAULT 0, organizer_json TEXT, attendees_json TEXT,"
	"  response TEXT NOT NULL DEFAULT 'none', response_time TEXT, location_json TEXT,"
	"  recurrence_json TEXT, show_as TEXT, sensitivity TEXT, importance TEXT,"
	"  created TEXT, modified TEXT, change_key TEXT, deleted INTEGER NOT NULL DEFAULT 0,"
	"  seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX g_event_user ON g_event (user_id, start_utc);"
	"CREATE INDEX g_event_uid ON g_event (uid);"
	"CREATE TABLE g_change (seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL, folder_id TEXT, item_id TEXT NOT NULL, rest_id TEXT,"
	"  change TEXT NOT NULL, at TEXT NOT NULL);"
	"CREATE INDEX g_change_user ON g_change (user_id, kind, folder_id, seq);"
	"CREATE TABLE g_delta (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
	"  resource TEXT NOT NULL, folder_id TEXT, seq INTEGER NOT NULL,"
	"  phase TEXT NOT NULL, position INTEGER NOT NULL DEFAULT 0, params TEXT NOT NULL,"
	"  created REAL NOT NULL, expired INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE g_subscription (id TEXT PRIMARY KEY, app_id TEXT NOT NULL,"
	"  resource TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL, folder_id TEXT,"
	"  change_types TEXT NOT NULL, notification_url TEXT NOT NULL, lifecycle_url TEXT,"
	"  expiration TEXT NOT NULL, client_state TEXT, immutable_ids INTEGER NOT NULL DEFAULT 0,"
	"  include_resource_data INTEGER NOT NULL DEFAULT 0, tls_version TEXT,"
	"  creator_id TEXT, created TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX g_subscription_user ON g_subscription (user_id, kind);"
	"CREATE TABLE g_delivery (id INTEGER PRIMARY KEY, subscription_id TEXT, url TEXT NOT NULL,"
	"  kind TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
	"  last_status INTEGER, last_latency_ms INTEGER, created REAL NOT NULL,"
	"  delivered_at REAL);"
	"CREATE INDEX g_delivery_due ON g_delivery (status, next_at);"
	"CREATE TABLE g_attempt (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL,"
	"  at REAL NOT NULL, status INTEGER NOT NULL, latency_ms INTEGER NOT NULL,"
	"  error TEXT);"
	"CREATE TABLE g_fault (id INTEGER PRIMARY KEY, method TEXT, path_prefix TEXT NOT NULL,"
	"  remaining INTEGER NOT NULL, spec TEXT NOT NULL);"
	"CREATE TABLE g_stat (key TEXT PRIMARY KEY, n INTEGER NOT NULL);"
	"CREATE TABLE g_setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE g_key (kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL,"
	"  cert_pem TEXT NOT NULL);",
	"CREATE TABLE g_group (id TEXT PRIMARY KEY, display_name TEXT NOT NULL,"
	"  mail TEXT COLLATE NOCASE, created TEXT NOT NULL);"
	"CREATE TABLE g_group_member (group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	"  PRIMARY KEY (group_id, user_id));",
	"CREATE TABLE g_policy (id INTEGER PRIMARY KEY, app_id TEXT NOT NULL,"
	"  group_id TEXT NOT NULL, access_right TEXT NOT NULL, UNIQUE (app_id, group_id));",
};

int
graph_store_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	if (db_open(path, db, err, errlen) < 0)
		return -1;
	if (db_migrate(*db, migrations, sizeof(migrations) / sizeof(migrations[0]), err,
	    errlen) < 0) {
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}

int
graph_store_reset(sqlite3 *db)
{
	char err[256];

	if (db_exec(db, "DELETE FROM g_user; DELETE FROM g_app; DELETE FROM g_folder;"
	    "DELETE FROM g_message; DELETE FROM g_event; DELETE FROM g_change;"
	    "DELETE FROM g_delta; DELETE FROM g_subscription; DELETE FROM g_delivery;"
	    "DELETE FROM g_attempt; DELETE FROM g_fault; DELETE FROM g_stat;"
	    "DELETE FROM g_setting; DELETE FROM g_group; DELETE FROM g_group_member;"
	    "DELETE FROM g_policy;", err, sizeof(err)) < 0) {
		log_warnx("graph-store: reset failed reason=\"%s\"", err);
		return -1;
	}
	return 0;
}

long long
graph_store_current_seq(sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT coalesce(max(seq), 0) FROM g_change");
	long long seq = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return seq;
}

char *
graph_store_delta_save(sqlite3 *db, const char *user_id, const char *resource,
    const char *folder_id, long long seq, const char *phase, long long position,
    const json_t *params)
{
	/* Opaque, unguessable and URL-safe, like Graph's own tokens. */
	char *token = crypto_random_token(64);
	char *ptext = json_dumps(params, JSON_COMPACT);
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO g_delta (token, user_id, resource, "
	    "folder_id, seq, phase, position, params, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, resource, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, folder_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, seq);
	sqlite3_bind_text(st, 6, phase, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, position);
	sqlite3_bind_text(st, 8, ptext ? ptext : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 9, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("graph-store: delta token not stored resource=%s reason=\"%s\"", resource,
		    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(ptext);
	return token;
}
