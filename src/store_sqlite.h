/* store_sqlite.h: what only a SQLite ledger file can do, outside store.h: look at a file without
 * changing it (`olsync doctor`) and copy it while others use it (`olsync dry-run`). */
#ifndef OL_STORE_SQLITE_H
#define OL_STORE_SQLITE_H

#include <stddef.h>

enum store_sqlite_probe {
	STORE_SQLITE_PROBE_OK,		/* opens, *version read, the write lock can be taken */
	STORE_SQLITE_PROBE_READONLY,	/* opens, but cannot be written */
	STORE_SQLITE_PROBE_BUSY,	/* another connection kept the write lock busy_ms */
	STORE_SQLITE_PROBE_ERROR,	/* cannot be opened or read */
};

/* Opens the existing file path without creating, migrating or writing it: *version gets its
 * schema version (-1 unknown), err why for anything but OK. */
enum store_sqlite_probe store_sqlite_probe(const char *path, int busy_ms, int *version,
    char *err, size_t errlen);

/* Copies the database at path to a new file dest (made as store_open makes one), opening path
 * read-only so that it is left exactly as it was. 0, or -1 with err. */
int store_sqlite_snapshot(const char *path, const char *dest, char *err, size_t errlen);

#endif
