/* graph_store.h: graph-sim's SQLite schema. Every module reads and writes these tables (column
 * meanings below, in graph_store.c); the schema changes only through a new migration there. */
#ifndef GRAPH_STORE_H
#define GRAPH_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

/* Opens path (":memory:" allowed) and applies the migrations. -1 with a message in err. */
int graph_store_open(const char *path, sqlite3 **db, char *err, size_t errlen);
/* Empties every table but g_key (POST /_sim/reset). */
int graph_store_reset(sqlite3 *db);
/* The highest g_change seq so far (0 when none): a delta round covers changes up to it. */
long long graph_store_current_seq(sqlite3 *db);

/* Stores the state behind a new $skiptoken or $deltatoken (a g_delta row) and returns the token
 * (caller frees). resource is "messages" (with folder_id) or "calendarView" (folder_id NULL);
 * params (borrowed) are the request options the token carries. */
char *graph_store_delta_save(sqlite3 *db, const char *user_id, const char *resource,
    const char *folder_id, long long seq, const char *phase, long long position,
    const json_t *params);

#endif
