/* sim_setting.h: the key/value settings table each emulator keeps in its database (what
 * POST /_sim/config and the command line change), read and written as text. The table:
 *   (key TEXT PRIMARY KEY, value TEXT) */
#ifndef SIM_SETTING_H
#define SIM_SETTING_H

#include <sqlite3.h>
#include <stddef.h>

/* The value of key copied into buf (len bytes, truncated): buf, or NULL when it is not set. */
const char *sim_setting_get(sqlite3 *db, const char *table, const char *key, char *buf,
    size_t len);
/* Sets key to value (insert or replace): 0, or -1. */
int sim_setting_put(sqlite3 *db, const char *table, const char *key, const char *value);

#endif
