/* sim_setting.c: the emulators' settings tables (see sim_setting.h). */
#include "sim_setting.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "xmalloc.h"

const char *
sim_setting_get(sqlite3 *db, const char *table, const char *key, char *buf, size_t len)
{
	char *sql = xasprintf("SELECT value FROM %s WHERE key = ?", table);
	sqlite3_stmt *st = db_prepare(db, sql);
	const char *v = NULL;

	free(sql);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
		v = buf;
	}
	sqlite3_finalize(st);
	return v;
}

int
sim_setting_put(sqlite3 *db, const char *table, const char *key, const char *value)
{
	char *sql = xasprintf("INSERT INTO %s (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", table);
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;

	free(sql);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}
