/* sf_store.h: sf-sim's record storage in SQLite: one table per sObject (convention in
 * sf_schema.h), plus sf-sim's own bookkeeping tables (tokens, counters, query locators, faults). */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "sf_error.h"
#include "sf_schema.h"

struct sf_store {
	sqlite3 *db;
	const struct sf_schema *schema;	/* borrowed; outlives the store */
};

/* Opens path (":memory:" allowed), applies sf-sim's migrations and creates every object table
 * (adding columns for fields added to the schema since). -1 with a message in err. */
int sf_store_open(struct sf_store *st, const char *path, const struct sf_schema *schema,
    char *err, size_t errlen);
void sf_store_close(struct sf_store *st);

/* CREATE TABLE IF NOT EXISTS for every object, then ALTER TABLE ADD COLUMN for new fields. */
int sf_store_create_tables(sqlite3 *db, const struct sf_schema *schema, char *err, size_t errlen);

/* Deletes every record and every bookkeeping row (POST /_sim/reset). */
int sf_store_reset(struct sf_store *st);

/* Next 18-character id for obj (sequence kept per key prefix in the database). */
void sf_store_new_id(struct sf_store *st, const struct sf_object *obj, char out[19]);

/* The record with this 18-character id as {"attributes":{..},"Field":value,...} with every field
 * (or only those in the comma-separated list fields, when not NULL); NULL if absent. Deleted rows
 * are returned only when include_deleted. Caller owns the result. */
json_t *sf_store_get(struct sf_store *st, const struct sf_object *obj, const char *id,
    const char *fields, int include_deleted, const char *api_version, struct sf_error *err);

#endif
