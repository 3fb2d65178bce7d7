/* graph_store.h: graph-sim's SQLite schema. Every module reads and writes these tables (column
 * meanings below, in graph_store.c); the schema changes only through a new migration there. */
#ifndef GRAPH_STORE_H
#define GRAPH_STORE_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens path (":memory:" allowed) and applies the migrations. -1 with a message in err. */
int graph_store_open(const char *path, sqlite3 **db, char *err, size_t errlen);
/* Empties every table but g_key (POST /_sim/reset). */
int graph_store_reset(sqlite3 *db);
/* The highest g_change seq so far (0 when none): a delta round covers changes up to it. */
long long graph_store_current_seq(sqlite3 *db);

#endif
