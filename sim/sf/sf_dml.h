/* sf_dml.h: validated writes on sObjects, the way Salesforce's save order applies them: defaults,
 * required fields, field types and lengths, references, activity rules (WhoId/WhatId), unique and
 * external id fields, duplicate rules, then derived fields and side effects (Enhanced Email's
 * Task for an EmailMessage, EmailMessageRelation rows from ToIds/CcIds/BccIds).
 * Each call is atomic on its own (a savepoint); callers nest them in a wider savepoint for
 * allOrNone. Must be called with sim->lock held. */
#ifndef SF_DML_H
#define SF_DML_H

#include <jansson.h>

#include "sf_error.h"
#include "sf_sim.h"

/* Creates a record from fields (a JSON object; "attributes" is ignored). id_out gets the new id.
 * -1 with err filled (status 400 and the errorCode Salesforce would give). */
int sf_dml_create(struct sf_sim *sim, const struct sf_object *obj, json_t *fields,
    const struct sf_call *call, char id_out[19], struct sf_error *err);

/* Updates the record id (18 characters, or 15) with fields. Deleted or missing: 404
 * ENTITY_IS_DELETED / NOT_FOUND. */
int sf_dml_update(struct sf_sim *sim, const struct sf_object *obj, const char *id, json_t *fields,
    const struct sf_call *call, struct sf_error *err);

/* Soft-deletes the record (IsDeleted = 1, still visible to queryAll). */
int sf_dml_delete(struct sf_sim *sim, const struct sf_object *obj, const char *id,
    const struct sf_call *call, struct sf_error *err);

enum sf_upsert {
	SF_UPSERT_FAILED = -1,
	SF_UPSERT_CREATED,
	SF_UPSERT_UPDATED,
	SF_UPSERT_MULTIPLE,	/* *matches holds the record URLs (caller owns) */
};

/* Upserts on external id field ext (must be externalId or idLookup, else 404 NOT_FOUND "Provided
 * external ID field does not exist or is not accessible: X") matching value; fields must not set
 * Id or ext itself. update_only: never create (404 NOT_FOUND when nothing matches). */
enum sf_upsert sf_dml_upsert(struct sf_sim *sim, const struct sf_object *obj, const char *ext,
    const char *value, json_t *fields, int update_only, const struct sf_call *call,
    char id_out[19], json_t **matches, struct sf_error *err);

/* Finds the object of an id by its key prefix and checks the record exists and is not deleted.
 * Returns the object or NULL (err: MALFORMED_ID / NOT_FOUND / ENTITY_IS_DELETED). */
const struct sf_object *sf_dml_lookup(struct sf_sim *sim, const char *id, char id18[19],
    struct sf_error *err);

#endif
