/* ledger_copy.h: a whole ledger copied from one database to another through store.h, for
 * `olsync migrate-database` (a SQLite ledger into PostgreSQL). */
#ifndef OL_LEDGER_COPY_H
#define OL_LEDGER_COPY_H

#include <stddef.h>

#include "store.h"

/* The schema version whose tables and columns ledger_copy knows (ledger.c's migrations). */
#define LEDGER_COPY_VERSION	8

/* The ledger's i-th table in the order they are copied (a referenced table before the tables
 * that reference it), or NULL past the last. */
const char *ledger_copy_table(size_t i);

/* Copies every row of every ledger table from from to to, in one transaction on to (and a
 * read transaction on from, for one consistent picture). Both must be migrated to
 * LEDGER_COPY_VERSION and to must be empty; on PostgreSQL the id sequences are set past the
 * copied ids. On failure nothing is written to to: -1 with the reason in err. */
int ledger_copy(struct store *from, struct store *to, char *err, size_t errlen);

#endif
