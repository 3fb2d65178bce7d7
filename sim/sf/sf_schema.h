/* sf_schema.h: the sObject schema sf-sim serves, loaded from a JSON file so a user can add objects
 * and custom fields (format: docs/sf-sim.md, default: sim/sf/schema.json).
 *
 * Storage convention shared by every sf-sim module: each sObject is a SQLite table named exactly
 * like the object, with one column per field named exactly like the field. Text-like columns are
 * declared COLLATE NOCASE (Salesforce compares strings case-insensitively); Id and reference
 * columns are BINARY and always hold 18-character ids. Values: booleans 0/1, date 'YYYY-MM-DD',
 * datetime 'YYYY-MM-DDTHH:MM:SS.sss+0000' in UTC (sorts as text), numbers as REAL or INTEGER. */
#ifndef SF_SCHEMA_H
#define SF_SCHEMA_H

#include <stddef.h>

enum sf_ftype {
	SF_T_ID,
	SF_T_STRING,
	SF_T_TEXTAREA,
	SF_T_EMAIL,
	SF_T_PHONE,
	SF_T_URL,
	SF_T_PICKLIST,
	SF_T_MULTIPICKLIST,
	SF_T_COMBOBOX,
	SF_T_REFERENCE,
	SF_T_BOOLEAN,
	SF_T_DATE,
	SF_T_DATETIME,
	SF_T_DOUBLE,
	SF_T_INT,
	SF_T_CURRENCY,
	SF_T_PERCENT,
	SF_T_JUNCTIONIDLIST,	/* EmailMessage.ToIds: accepted on write, not stored as a column */
};

struct sf_field {
	char *name;			/* API name with its canonical case */
	enum sf_ftype type;
	int length;			/* max characters for text types, else 0 */
	int nillable;
	int createable;
	int updateable;
	int defaulted_on_create;
	int external_id;
	int unique;
	int case_sensitive;		/* for unique/external id matching */
	int id_lookup;
	int filterable;
	int sortable;
	int calculated;			/* computed by sf-sim (Lead.Name, Opportunity.IsClosed, ...) */
	int restricted_picklist;
	char **picklist;		/* values, in order */
	size_t npicklist;
	char *default_value;		/* default on create, as text, or NULL */
	char **reference_to;		/* object names a reference may point to */
	size_t nreference_to;
	char *relationship_name;	/* "Account" for AccountId, or NULL */
	char *label;
};

struct sf_object {
	char *name;			/* canonical case, e.g. "OpportunityContactRole" */
	char *key_prefix;		/* 3 characters, e.g. "006" */
	char *label;
	char *label_plural;
	int createable, updateable, deletable, queryable;
	int activity;			/* Task/Event: IsArchived semantics */
	struct sf_field *fields;
	size_t nfields;
};

struct sf_schema {
	struct sf_object *objects;
	size_t nobjects;
};

/* Loads and validates a schema file; system fields (Id, IsDeleted, CreatedDate, CreatedById,
 * LastModifiedDate, LastModifiedById, SystemModstamp) are added to every object. On failure
 * returns -1 with a message in err. The schema owns everything; free with sf_schema_free. */
int sf_schema_load(struct sf_schema *schema, const char *path, char *err, size_t errlen);
/* Same, from a JSON text. */
int sf_schema_load_string(struct sf_schema *schema, const char *json, char *err, size_t errlen);
void sf_schema_free(struct sf_schema *schema);

/* Case-insensitive lookups; NULL when absent. Results are borrowed from the schema. */
const struct sf_object *sf_schema_object(const struct sf_schema *schema, const char *name);
const struct sf_object *sf_schema_object_by_prefix(const struct sf_schema *schema,
    const char *id);	/* by the first 3 characters of an id */
const struct sf_field *sf_schema_field(const struct sf_object *obj, const char *name);
/* The reference field whose relationshipName is rel (e.g. "Account" -> AccountId). */
const struct sf_field *sf_schema_relationship(const struct sf_object *obj, const char *rel);

const char *sf_ftype_name(enum sf_ftype type);	/* describe's "type" value, e.g. "datetime" */
int sf_ftype_is_text(enum sf_ftype type);	/* stored as TEXT COLLATE NOCASE */

#endif
