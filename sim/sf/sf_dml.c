/* sf_dml.c: validated writes (see sf_dml.h). A write builds the record's final state as a JSON
 * object of canonical values (existing row + normalized changes), checks it the way Salesforce's
 * save order does, derives calculated fields, and writes it in one statement; side effects
 * (Enhanced Email's Task, EmailMessageRelation rows) run inside the same savepoint. */
#include "sf_dml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "sf_id.h"
#include "sf_value.h"
#include "xmalloc.h"

#define SAVEPOINT "sf_dml"

static const char *
str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static int
is_obj(const struct sf_object *obj, const char *name)
{
	return strcmp(obj->name, name) == 0;
}

static void
now_datetime(char out[SF_DATETIME_LEN + 1])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sf_value_format_datetime(ts.tv_sec, (int)(ts.tv_nsec / 1000000), out);
}

/* The stored row as canonical JSON values, or NULL. */
static json_t *
load_row(struct sf_sim *sim, const struct sf_object *obj, const char *id)
{
	char *table = db_quote_ident(obj->name);
	char *sql = xasprintf("SELECT * FROM %s WHERE Id = ?", table);
	sqlite3_stmt *st = db_prepare(sim->store.db, sql);
	json_t *rec = NULL;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		rec = json_object();
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const struct sf_field *f = sf_schema_field(obj, sqlite3_column_name(st, c));

			if (f != NULL)
				json_object_set_new(rec, f->name, sf_value_column_json(st, c, f->type));
		}
	}
	sqlite3_finalize(st);
	free(sql);
	free(table);
	return rec;
}

const struct sf_object *
sf_dml_lookup(struct sf_sim *sim, const char *id, char id18[19], struct sf_error *err)
{
	const struct sf_object *obj;
	json_t *row;
	int deleted;

	if (id == NULL || sf_id_normalize(id, id18) < 0) {
		sf_error_set(err, 400, "MALFORMED_ID", "malformed id %s", id ? id : "");
		return NULL;
	}
	obj = sf_schema_object_by_prefix(&sim->schema, id18);
	if (obj == NULL || (row = load_row(sim, obj, id18)) == NULL) {
		sf_error_set(err, 404, "NOT_FOUND", "The requested resource does not exist");
		return NULL;
	}
	deleted = json_is_true(json_object_get(row, "IsDeleted"));
	json_decref(row);
	if (deleted) {
		sf_error_set(err, 404, "ENTITY_IS_DELETED", "entity is deleted");
		err->nfields = 0;
		return NULL;
	}
	return obj;
}

static int
field_error(struct sf_error *err, const struct sf_field *f, const char *code, const char *msg)
{
	sf_error_set(err, 400, code, "%s", msg);
	sf_error_add_field(err, f->name);
	return -1;
}

/* Merges the caller's fields into rec after checking each is known, writable and well-typed.
 * Junction id lists (ToIds, ...) go to *junctions instead of rec. */
static int
apply_fields(const struct sf_object *obj, json_t *rec, json_t *fields, int creating,
    json_t *junctions, struct sf_error *err)
{
	const char *key;
	json_t *v;
	char msg[512];

	if (!json_is_object(fields))
		return sf_error_set(err, 400, "JSON_PARSER_ERROR", "The request body must be a "
		    "JSON object of field values");
	json_object_foreach(fields, key, v) {
		const struct sf_field *f;
		json_t *norm;

		if (strcmp(key, "attributes") == 0)
			continue;
		f = sf_schema_field(obj, key);
		if (f == NULL)
			return sf_error_set(err, 400, "INVALID_FIELD", "No such column '%s' on sobject "
			    "of type %s", key, obj->name);
		if (strcmp(f->name, "Id") == 0) {
			/* jsforce and others send Id in update bodies; Salesforce ignores it there. */
			if (creating)
				return sf_error_set(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE",
				    "Unable to create/update fields: Id. Please check the security "
				    "settings of this field and verify that it is read/write for your "
				    "profile or permission set.");
			continue;
		}
		if ((creating && !f->createable) || (!creating && !f->updateable)) {
			snprintf(msg, sizeof(msg), "Unable to create/update fields: %s. Please check "
			    "the security settings of this field and verify that it is read/write for "
			    "your profile or permission set.", f->name);
			return field_error(err, f, "INVALID_FIELD_FOR_INSERT_UPDATE", msg);
		}
		norm = sf_value_normalize(f, v, err);
		if (norm == NULL)
			return -1;
		if (f->type == SF_T_JUNCTIONIDLIST)
			json_object_set_new(junctions, f->name, norm);
		else
			json_object_set_new(rec, f->name, norm);
	}
	return 0;
}

static void
apply_defaults(struct sf_sim *sim, const struct sf_object *obj, json_t *rec,
    const struct sf_call *call)
{
	struct sf_error ignored;

	for (size_t i = 0; i < obj->nfields; i++) {
		const struct sf_field *f = &obj->fields[i];
		json_t *v = json_object_get(rec, f->name), *d;

		if (v != NULL && !json_is_null(v))
			continue;
		if (f->default_value != NULL) {
			json_t *dv = json_string(f->default_value);

			d = sf_value_normalize(f, dv, &ignored);
			json_decref(dv);
			if (d != NULL)
				json_object_set_new(rec, f->name, d);
		} else if (f->type == SF_T_BOOLEAN) {
			json_object_set_new(rec, f->name, json_false());
		}
	}
	if (sf_schema_field(obj, "OwnerId") != NULL && str(rec, "OwnerId") == NULL)
		json_object_set_new(rec, "OwnerId", json_string(call->user_id));
	(void)sim;
}

static int
check_required(const struct sf_object *obj, json_t *rec, struct sf_error *err)
{
	char list[1024] = "";
	int n = 0;

	for (size_t i = 0; i < obj->nfields; i++) {
		const struct sf_field *f = &obj->fields[i];
		json_t *v = json_object_get(rec, f->name);

		if (f->nillable || f->calculated || f->type == SF_T_BOOLEAN ||
		    f->type == SF_T_ID || !f->createable)
			continue;
		if (v != NULL && !json_is_null(v))
			continue;
		if (n == 0)
			sf_error_set(err, 400, "REQUIRED_FIELD_MISSING", "x");
		sf_error_add_field(err, f->name);
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", n ? ", " : "",
		    f->name);
		n++;
	}
	if (n == 0)
		return 0;
	snprintf(err->message, sizeof(err->message), "Required fields are missing: [%s]", list);
	return -1;
}

/* Every reference must point at a live record of an allowed type. */
static int
check_references(struct sf_sim *sim, const struct sf_object *obj, json_t *rec,
    struct sf_error *err)
{
	for (size_t i = 0; i < obj->nfields; i++) {
		const struct sf_field *f = &obj->fields[i];
		const char *id = str(rec, f->name);
		const struct sf_object *target;
		char id18[19], msg[256];
		size_t k;

		if (f->type != SF_T_REFERENCE || id == NULL || f->calculated)
			continue;
		if (strncmp(f->name, "CreatedById", 11) == 0 || strcmp(f->name, "LastModifiedById") == 0)
			continue;
		target = sf_schema_object_by_prefix(&sim->schema, id);
		for (k = 0; target != NULL && k < f->nreference_to; k++)
			if (strcmp(f->reference_to[k], target->name) == 0)
				break;
		if (target == NULL || k == f->nreference_to) {
			snprintf(msg, sizeof(msg), "%s: id value of incorrect type: %s", f->label, id);
			return field_error(err, f, "FIELD_INTEGRITY_EXCEPTION", msg);
		}
		if (sf_dml_lookup(sim, id, id18, err) == NULL) {
			snprintf(msg, sizeof(msg), "invalid cross reference id");
			return field_error(err, f, "INVALID_CROSS_REFERENCE_KEY", msg);
		}
	}
	return 0;
}

/* Unique fields (and unique external ids): DUPLICATE_VALUE against live records. */
static int
check_unique(struct sf_sim *sim, const struct sf_object *obj, json_t *rec, const char *self,
    struct sf_error *err)
{
	char *table = db_quote_ident(obj->name);
	int rc = 0;

	for (size_t i = 0; i < obj->nfields && rc == 0; i++) {
		const struct sf_field *f = &obj->fields[i];
		json_t *v = json_object_get(rec, f->name);
		char *col, *sql;
		sqlite3_stmt *st;

		if (!f->unique || v == NULL || json_is_null(v))
			continue;
		col = db_quote_ident(f->name);
		sql = xasprintf("SELECT Id FROM %s WHERE %s = ? COLLATE %s AND IsDeleted = 0 "
		    "AND Id != ? LIMIT 1", table, col, f->case_sensitive ? "BINARY" : "NOCASE");
		st = db_prepare(sim->store.db, sql);
		sf_value_bind(st, 1, v);
		sqlite3_bind_text(st, 2, self ? self : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			sf_error_set(err, 400, "DUPLICATE_VALUE", "duplicate value found: %s duplicates "
			    "value on record with id: %s", f->name, sqlite3_column_text(st, 0));
			rc = -1;
		}
		sqlite3_finalize(st);
		free(sql);
		free(col);
	}
	free(table);
	return rc;
}

/* Sforce-Duplicate-Rule-Header: allowSave=true bypasses a rule whose action is Alert. */
static int
header_allows_save(const char *header)
{
	const char *p = header ? strcasestr(header, "allowSave") : NULL;

	if (p == NULL)
		return 0;
	p += 9;
	while (*p == ' ' || *p == '=')
		p++;
	return strncasecmp(p, "true", 4) == 0;
}

static int
check_duplicate_rule(struct sf_sim *sim, const struct sf_object *obj, json_t *rec,
    const char *self, const struct sf_call *call, struct sf_error *err)
{
	int enabled = (is_obj(obj, "Lead") && sim->settings.lead_duplicate_rule) ||
	    (is_obj(obj, "Contact") && sim->settings.contact_duplicate_rule);
	const char *email = str(rec, "Email");
	char *table, *sql;
	sqlite3_stmt *st;
	int rc = 0;

	if (!enabled || email == NULL)
		return 0;
	if (!sim->settings.duplicate_rule_blocks && header_allows_save(call->dup_rule_header))
		return 0;
	table = db_quote_ident(obj->name);
	sql = xasprintf("SELECT Id FROM %s WHERE Email = ? COLLATE NOCASE AND IsDeleted = 0 "
	    "AND Id != ? ORDER BY CreatedDate LIMIT 1", table);
	st = db_prepare(sim->store.db, sql);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, self ? self : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		sf_error_set(err, 400, "DUPLICATES_DETECTED", "You're creating a duplicate record. "
		    "We recommend you use an existing record instead.");
		snprintf(err->dup_id, sizeof(err->dup_id), "%s", sqlite3_column_text(st, 0));
		snprintf(err->dup_object, sizeof(err->dup_object), "%s", obj->name);
		err->dup_allow_save = !sim->settings.duplicate_rule_blocks;
		rc = -1;
	}
	sqlite3_finalize(st);
	free(sql);
	free(table);
	return rc;
}

static const char *
ref_object(struct sf_sim *sim, const char *id)
{
	const struct sf_object *o = id ? sf_schema_object_by_prefix(&sim->schema, id) : NULL;

	return o ? o->name : "";
}

/* A field of another record, as canonical JSON (new reference), or NULL. */
static json_t *
other_field(struct sf_sim *sim, const char *id, const char *field)
{
	const struct sf_object *o = id ? sf_schema_object_by_prefix(&sim->schema, id) : NULL;
	json_t *row, *v = NULL;

	if (o == NULL || (row = load_row(sim, o, id)) == NULL)
		return NULL;
	v = json_incref(json_object_get(row, field));
	json_decref(row);
	return v;
}

static void
set_name(json_t *rec)
{
	const char *first = str(rec, "FirstName"), *last = str(rec, "LastName");

	if (last == NULL)
		return;
	json_object_set_new(rec, "Name", first ? json_sprintf("%s %s", first, last) :
	    json_string(last));
}

/* Task and Event: WhoId/WhatId integrity, derived AccountId, Event times. */
static int
activity_rules(struct sf_sim *sim, const struct sf_object *obj, json_t *rec, json_t *given,
    struct sf_error *err)
{
	const char *who = str(rec, "WhoId"), *what = str(rec, "WhatId");
	json_t *account = NULL;

	if (who != NULL && what != NULL && strcmp(ref_object(sim, who), "Lead") == 0) {
		/* "If the WhoId refers to a lead, then the WhatId field must be empty." */
		sf_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "Related To ID: id value of "
		    "type %s is not allowed when Name ID is a lead", ref_object(sim, what));
		sf_error_add_field(err, "WhatId");
		return -1;
	}
	if (what != NULL && strcmp(ref_object(sim, what), "Account") == 0)
		account = json_string(what);
	else if (what != NULL)
		account = other_field(sim, what, "AccountId");
	if ((account == NULL || json_is_null(account)) && who != NULL &&
	    strcmp(ref_object(sim, who), "Contact") == 0) {
		json_decref(account);
		account = other_field(sim, who, "AccountId");
	}
	if (sf_schema_field(obj, "AccountId") != NULL)
		json_object_set_new(rec, "AccountId", account ? account : json_null());
	else
		json_decref(account);

	if (is_obj(obj, "Task")) {
		const char *status = str(rec, "Status");
		int closed = status && (strcmp(status, "Completed") == 0 ||
		    strcmp(status, "Deferred") == 0);

		json_object_set_new(rec, "IsClosed", json_boolean(closed));
		json_object_set_new(rec, "IsHighPriority",
		    json_boolean(str(rec, "Priority") && strcmp(str(rec, "Priority"), "High") == 0));
		if (closed && str(rec, "CompletedDateTime") == NULL) {
			char now[SF_DATETIME_LEN + 1];

			now_datetime(now);
			json_object_set_new(rec, "CompletedDateTime", json_string(now));
		}
		return 0;
	}
	if (is_obj(obj, "Event")) {
		const char *start = str(rec, "StartDateTime"), *end = str(rec, "EndDateTime");
		int allday = json_is_true(json_object_get(rec, "IsAllDayEvent"));
		json_t *dur = json_object_get(rec, "DurationInMinutes");
		char buf[SF_DATETIME_LEN + 1];
		time_t ts, te;

		if (start == NULL && str(rec, "ActivityDateTime") != NULL)
			start = str(rec, "ActivityDateTime");
		if (start == NULL && allday && str(rec, "ActivityDate") != NULL) {
			snprintf(buf, sizeof(buf), "%sT00:00:00.000+0000", str(rec, "ActivityDate"));
			json_object_set_new(rec, "StartDateTime", json_string(buf));
			start = str(rec, "StartDateTime");
		}
		if (start == NULL) {
			sf_error_set(err, 400, "REQUIRED_FIELD_MISSING",
			    "Required fields are missing: [StartDateTime]");
			sf_error_add_field(err, "StartDateTime");
			return -1;
		}
		ts = sf_value_datetime_epoch(start);
		if (json_object_get(given, "EndDateTime") == NULL && json_is_integer(dur) &&
		    json_object_get(given, "DurationInMinutes") != NULL)
			end = NULL;	/* a new duration moves the end */
		if (end == NULL && !json_is_integer(dur)) {
			if (!allday) {
				sf_error_set(err, 400, "REQUIRED_FIELD_MISSING",
				    "Required fields are missing: [DurationInMinutes]");
				sf_error_add_field(err, "DurationInMinutes");
				return -1;
			}
			dur = NULL;
			json_object_set_new(rec, "DurationInMinutes", json_integer(1440));
			dur = json_object_get(rec, "DurationInMinutes");
		}
		if (end != NULL) {
			te = sf_value_datetime_epoch(end);
			if (te < ts) {
				sf_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "End Date Time: "
				    "End time can't be before start time");
				sf_error_add_field(err, "EndDateTime");
				return -1;
			}
			json_object_set_new(rec, "DurationInMinutes",
			    json_integer((json_int_t)((te - ts) / 60)));
		} else {
			te = ts + (time_t)json_integer_value(dur) * 60;
			sf_value_format_datetime(te, 0, buf);
			json_object_set_new(rec, "EndDateTime", json_string(buf));
		}
		if (te - ts > 14 * 24 * 3600) {
			sf_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "Duration: Event duration "
			    "can't exceed 14 days");
			sf_error_add_field(err, "DurationInMinutes");
			return -1;
		}
		json_object_set(rec, "ActivityDateTime", json_object_get(rec, "StartDateTime"));
		snprintf(buf, 11, "%s", str(rec, "StartDateTime"));
		json_object_set_new(rec, "ActivityDate", json_string(buf));
	}
	return 0;
}

static int
email_message_rules(json_t *rec, json_t *given, int creating, json_t *before,
    struct sf_error *err)
{
	const char *status = str(rec, "Status"), *subject = str(rec, "Subject");
	char name[256];

	if (creating && json_object_get(given, "ActivityId") != NULL &&
	    !json_is_null(json_object_get(given, "ActivityId"))) {
		sf_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "Activity ID: ActivityId can "
		    "only be set for emails related to a case");
		sf_error_add_field(err, "ActivityId");
		return -1;
	}
	/* "For emails not sent as part of a case, only the status 3 (Sent) is valid" (reference
	 * section 0.5); sf-sim has no Case object, so every email is a non-case email. */
	if (creating && status != NULL && strcmp(status, "3") != 0) {
		sf_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "Status: only Sent (3) is a "
		    "valid status for an email that is not related to a case");
		sf_error_add_field(err, "Status");
		return -1;
	}
	if (!creating && before != NULL && str(before, "Status") != NULL &&
	    strcmp(str(before, "Status"), "5") != 0) {
		const char *key;
		json_t *v;

		json_object_foreach(given, key, v) {
			size_t n = strlen(key);

			if (strcmp(key, "attributes") == 0 || strcasecmp(key, "Id") == 0 ||
			    strcasecmp(key, "IsExternallyVisible") == 0 ||
			    (n > 3 && strcmp(key + n - 3, "__c") == 0))
				continue;
			sf_error_set(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to "
			    "create/update fields: %s. An email message can be edited only while it "
			    "is a draft.", key);
			sf_error_add_field(err, key);
			return -1;
		}
	}
	snprintf(name, sizeof(name), "%s", subject && *subject ? subject : "[No Subject]");
	json_object_set_new(rec, "Name", json_string(name));
	return 0;
}

static void
derive(struct sf_sim *sim, const struct sf_object *obj, json_t *rec)
{
	if (is_obj(obj, "Contact") || is_obj(obj, "Lead") || is_obj(obj, "User"))
		set_name(rec);
	if (is_obj(obj, "Opportunity")) {
		const char *stage = str(rec, "StageName");
		int won = stage && strcmp(stage, "Closed Won") == 0;
		int closed = won || (stage && strcmp(stage, "Closed Lost") == 0);

		json_object_set_new(rec, "IsClosed", json_boolean(closed));
		json_object_set_new(rec, "IsWon", json_boolean(won));
	}
	if (is_obj(obj, "EmailMessageRelation") || is_obj(obj, "EventRelation")) {
		const char *rid = str(rec, "RelationId");

		if (sf_schema_field(obj, "RelationObjectType") != NULL)
			json_object_set_new(rec, "RelationObjectType",
			    rid ? json_string(ref_object(sim, rid)) : json_null());
		if (rid != NULL && sf_schema_field(obj, "RelationAddress") != NULL &&
		    str(rec, "RelationAddress") == NULL) {
			json_t *email = other_field(sim, rid, "Email");

			json_object_set_new(rec, "RelationAddress", email ? email : json_null());
		}
	}
}

static int
write_row(struct sf_sim *sim, const struct sf_object *obj, json_t *rec, const char *id,
    int insert, struct sf_error *err)
{
	char *table = db_quote_ident(obj->name);
	size_t cap = 256, len = 0;
	char *sql;
	const char *key;
	json_t *v;
	sqlite3_stmt *st;
	int n = 0, rc;

	json_object_foreach(rec, key, v)
		cap += strlen(key) * 2 + 16;
	sql = xmalloc(cap);
	if (insert) {
		len = (size_t)snprintf(sql, cap, "INSERT INTO %s (", table);
		json_object_foreach(rec, key, v) {
			char *col = db_quote_ident(key);

			len += (size_t)snprintf(sql + len, cap - len, "%s%s", n++ ? ", " : "", col);
			free(col);
		}
		len += (size_t)snprintf(sql + len, cap - len, ") VALUES (");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(sql + len, cap - len, "%s?", i ? ", " : "");
		snprintf(sql + len, cap - len, ")");
	} else {
		len = (size_t)snprintf(sql, cap, "UPDATE %s SET ", table);
		json_object_foreach(rec, key, v) {
			char *col = db_quote_ident(key);

			len += (size_t)snprintf(sql + len, cap - len, "%s%s = ?", n++ ? ", " : "", col);
			free(col);
		}
		snprintf(sql + len, cap - len, " WHERE Id = ?");
	}
	st = db_prepare(sim->store.db, sql);
	n = 0;
	json_object_foreach(rec, key, v)
		sf_value_bind(st, ++n, v);
	if (!insert)
		sqlite3_bind_text(st, ++n, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc < 0)
		sf_error_set(err, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred: %s",
		    sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
	free(sql);
	free(table);
	return rc;
}

static void
stamp(json_t *rec, const struct sf_call *call, int creating)
{
	char now[SF_DATETIME_LEN + 1];

	now_datetime(now);
	if (creating) {
		json_object_set_new(rec, "CreatedDate", json_string(now));
		json_object_set_new(rec, "CreatedById", json_string(call->user_id));
		json_object_set_new(rec, "IsDeleted", json_false());
	}
	json_object_set_new(rec, "LastModifiedDate", json_string(now));
	json_object_set_new(rec, "LastModifiedById", json_string(call->user_id));
	json_object_set_new(rec, "SystemModstamp", json_string(now));
}

static int create_record(struct sf_sim *sim, const struct sf_object *obj, json_t *fields,
    const struct sf_call *call, char id_out[19], struct sf_error *err);

/* EmailMessage.ToIds/CcIds/BccIds: one EmailMessageRelation per id. */
static int
junction_relations(struct sf_sim *sim, const char *email_id, json_t *junctions,
    const struct sf_call *call, struct sf_error *err)
{
	static const struct {
		const char *field, *type;
	} kinds[] = { { "ToIds", "ToAddress" }, { "CcIds", "CcAddress" }, { "BccIds", "BccAddress" } };
	const struct sf_object *rel = sf_schema_object(&sim->schema, "EmailMessageRelation");

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		json_t *ids = json_object_get(junctions, kinds[k].field), *id;
		size_t i;

		if (ids == NULL || json_is_null(ids))
			continue;
		if (!json_is_array(ids) || rel == NULL) {
			sf_error_set(err, 400, "JSON_PARSER_ERROR", "Cannot deserialize instance of "
			    "JunctionIdList from %s", kinds[k].field);
			return -1;
		}
		json_array_foreach(ids, i, id) {
			json_t *r = json_pack("{s:s,s:O,s:s}", "EmailMessageId", email_id,
			    "RelationId", id, "RelationType", kinds[k].type);
			char rid[19];
			int rc = create_record(sim, rel, r, call, rid, err);

			json_decref(r);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* Enhanced Email: each EmailMessage is also stored as a Task (reference section 6.5). */
static int
enhanced_email_task(struct sf_sim *sim, const char *email_id, json_t *rec, json_t *junctions,
    const struct sf_call *call, struct sf_error *err)
{
	const struct sf_object *task = sf_schema_object(&sim->schema, "Task");
	const char *subject = str(rec, "Subject"), *what = str(rec, "RelatedToId");
	const char *who = NULL, *when = str(rec, "MessageDate"), *body = str(rec, "TextBody");
	json_t *t, *ids = json_object_get(junctions, "ToIds");
	char tid[19], date[11], subj[256];
	struct sf_error ignored;
	int rc;

	if (task == NULL || !sim->settings.enhanced_email)
		return 0;
	/* The first Contact or Lead among the recipients becomes the Task's Name (WhoId). */
	for (size_t i = 0; json_is_array(ids) && i < json_array_size(ids) && who == NULL; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		const char *type = ref_object(sim, id);

		if (strcmp(type, "Contact") == 0 || strcmp(type, "Lead") == 0)
			who = id;
	}
	if (who != NULL && what != NULL && strcmp(ref_object(sim, who), "Lead") == 0)
		who = NULL;
	snprintf(subj, sizeof(subj), "Email: %s", subject ? subject : "[No Subject]");
	if (when == NULL || sf_value_date(when, date) < 0)
		sf_value_date(str(rec, "CreatedDate"), date);
	t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Subject", subj, "TaskSubtype", "Email",
	    "Status", "Completed", "Priority", "Normal", "ActivityDate", date,
	    "OwnerId", call->user_id);
	if (what != NULL)
		json_object_set_new(t, "WhatId", json_string(what));
	if (who != NULL)
		json_object_set_new(t, "WhoId", json_string(who));
	if (body != NULL)
		json_object_set_new(t, "Description", json_stringn(body,
		    strlen(body) > 32000 ? 32000 : strlen(body)));
	rc = create_record(sim, task, t, call, tid, err);
	json_decref(t);
	if (rc < 0)
		return -1;
	json_object_set_new(rec, "ActivityId", json_string(tid));
	t = json_pack("{s:s}", "ActivityId", tid);
	rc = write_row(sim, sf_schema_object(&sim->schema, "EmailMessage"), t, email_id, 0,
	    &ignored);
	json_decref(t);
	return rc;
}

/* A relation added later names the Task's contact or lead, as Salesforce's Task shows it. */
static void
relation_updates_task(struct sf_sim *sim, json_t *rel)
{
	json_t *activity = other_field(sim, str(rel, "EmailMessageId"), "ActivityId");
	const char *rid = str(rel, "RelationId"), *type = ref_object(sim, rid);
	const struct sf_object *task = sf_schema_object(&sim->schema, "Task");
	json_t *row;
	struct sf_error ignored;

	if (activity == NULL || !json_is_string(activity) || task == NULL ||
	    (strcmp(type, "Contact") != 0 && strcmp(type, "Lead") != 0)) {
		json_decref(activity);
		return;
	}
	row = load_row(sim, task, json_string_value(activity));
	if (row != NULL && str(row, "WhoId") == NULL &&
	    (strcmp(type, "Contact") == 0 || str(row, "WhatId") == NULL)) {
		json_t *upd = json_pack("{s:s}", "WhoId", rid);

		write_row(sim, task, upd, json_string_value(activity), 0, &ignored);
		json_decref(upd);
	}
	json_decref(row);
	json_decref(activity);
}

static int
create_record(struct sf_sim *sim, const struct sf_object *obj, json_t *fields,
    const struct sf_call *call, char id_out[19], struct sf_error *err)
{
	json_t *rec = json_object(), *junctions = json_object();
	int rc = -1;

	if (!obj->createable) {
		sf_error_set(err, 400, "INVALID_TYPE", "sObject type '%s' is not supported for "
		    "create", obj->name);
		goto out;
	}
	if (apply_fields(obj, rec, fields, 1, junctions, err) < 0)
		goto out;
	apply_defaults(sim, obj, rec, call);
	if (check_required(obj, rec, err) < 0 || check_references(sim, obj, rec, err) < 0)
		goto out;
	if (obj->activity && activity_rules(sim, obj, rec, fields, err) < 0)
		goto out;
	if (is_obj(obj, "EmailMessage") && email_message_rules(rec, fields, 1, NULL, err) < 0)
		goto out;
	derive(sim, obj, rec);
	if (check_unique(sim, obj, rec, NULL, err) < 0 ||
	    check_duplicate_rule(sim, obj, rec, NULL, call, err) < 0)
		goto out;
	sf_store_new_id(&sim->store, obj, id_out);
	json_object_set_new(rec, "Id", json_string(id_out));
	stamp(rec, call, 1);
	if (write_row(sim, obj, rec, NULL, 1, err) < 0)
		goto out;
	if (is_obj(obj, "EmailMessage")) {
		if (junction_relations(sim, id_out, junctions, call, err) < 0 ||
		    enhanced_email_task(sim, id_out, rec, junctions, call, err) < 0)
			goto out;
	}
	if (is_obj(obj, "EmailMessageRelation"))
		relation_updates_task(sim, rec);
	rc = 0;
out:
	json_decref(rec);
	json_decref(junctions);
	return rc;
}

static int
run_atomic(struct sf_sim *sim, int rc)
{
	if (rc < 0)
		db_rollback_to(sim->store.db, SAVEPOINT);
	else
		db_release(sim->store.db, SAVEPOINT);
	return rc;
}

int
sf_dml_create(struct sf_sim *sim, const struct sf_object *obj, json_t *fields,
    const struct sf_call *call, char id_out[19], struct sf_error *err)
{
	db_savepoint(sim->store.db, SAVEPOINT);
	return run_atomic(sim, create_record(sim, obj, fields, call, id_out, err));
}

/* The object's id check of Salesforce: an id of another type is MALFORMED_ID on Id. */
static int
own_id(const struct sf_object *obj, const char *id, char id18[19], struct sf_error *err)
{
	if (id == NULL || sf_id_normalize(id, id18) < 0 ||
	    strncmp(id18, obj->key_prefix, 3) != 0) {
		sf_error_set(err, 400, "MALFORMED_ID", "%s ID: id value of incorrect type: %s",
		    obj->label, id ? id : "");
		sf_error_add_field(err, "Id");
		return -1;
	}
	return 0;
}

static int
update_record(struct sf_sim *sim, const struct sf_object *obj, const char *id, json_t *fields,
    const struct sf_call *call, struct sf_error *err)
{
	char id18[19];
	json_t *before = NULL, *rec = NULL, *junctions = json_object(), *changes = NULL;
	const char *key;
	json_t *v;
	int rc = -1;

	if (own_id(obj, id, id18, err) < 0)
		goto out;
	before = load_row(sim, obj, id18);
	if (before == NULL) {
		sf_error_set(err, 404, "NOT_FOUND", "The requested resource does not exist");
		goto out;
	}
	if (json_is_true(json_object_get(before, "IsDeleted"))) {
		sf_error_set(err, 404, "ENTITY_IS_DELETED", "entity is deleted");
		err->nfields = 0;
		goto out;
	}
	rec = json_deep_copy(before);
	if (apply_fields(obj, rec, fields, 0, junctions, err) < 0)
		goto out;
	if (check_required(obj, rec, err) < 0 || check_references(sim, obj, rec, err) < 0)
		goto out;
	if (obj->activity && activity_rules(sim, obj, rec, fields, err) < 0)
		goto out;
	if (is_obj(obj, "EmailMessage") && email_message_rules(rec, fields, 0, before, err) < 0)
		goto out;
	derive(sim, obj, rec);
	if (check_unique(sim, obj, rec, id18, err) < 0 ||
	    check_duplicate_rule(sim, obj, rec, id18, call, err) < 0)
		goto out;
	stamp(rec, call, 0);
	/* Write only what changed, so concurrent readers see a minimal update. */
	changes = json_object();
	json_object_foreach(rec, key, v)
		if (!json_equal(v, json_object_get(before, key)))
			json_object_set(changes, key, v);
	/* Nothing changed (same values within the same millisecond): an empty SET list is not
	 * SQL, and Salesforce answers such an update with success. */
	rc = json_object_size(changes) == 0 ? 0 : write_row(sim, obj, changes, id18, 0, err);
out:
	json_decref(before);
	json_decref(rec);
	json_decref(changes);
	json_decref(junctions);
	return rc;
}

int
sf_dml_update(struct sf_sim *sim, const struct sf_object *obj, const char *id, json_t *fields,
    const struct sf_call *call, struct sf_error *err)
{
	db_savepoint(sim->store.db, SAVEPOINT);
	return run_atomic(sim, update_record(sim, obj, id, fields, call, err));
}

int
sf_dml_delete(struct sf_sim *sim, const struct sf_object *obj, const char *id,
    const struct sf_call *call, struct sf_error *err)
{
	char id18[19];
	json_t *row, *upd;
	int rc;

	if (!obj->deletable) {
		sf_error_set(err, 400, "INVALID_TYPE", "sObject type '%s' is not supported for "
		    "delete", obj->name);
		return -1;
	}
	if (own_id(obj, id, id18, err) < 0)
		return -1;
	row = load_row(sim, obj, id18);
	if (row == NULL)
		return sf_error_set(err, 404, "NOT_FOUND", "The requested resource does not exist");
	if (json_is_true(json_object_get(row, "IsDeleted"))) {
		json_decref(row);
		sf_error_set(err, 404, "ENTITY_IS_DELETED", "entity is deleted");
		err->nfields = 0;
		return -1;
	}
	json_decref(row);
	upd = json_pack("{s:b}", "IsDeleted", 1);
	stamp(upd, call, 0);
	db_savepoint(sim->store.db, SAVEPOINT);
	rc = write_row(sim, obj, upd, id18, 0, err);
	json_decref(upd);
	return run_atomic(sim, rc);
}

enum sf_upsert
sf_dml_upsert(struct sf_sim *sim, const struct sf_object *obj, const char *ext,
    const char *value, json_t *fields, int update_only, const struct sf_call *call,
    char id_out[19], json_t **matches, struct sf_error *err)
{
	const struct sf_field *f = sf_schema_field(obj, ext);
	char *table, *col, *sql;
	sqlite3_stmt *st;
	json_t *ids, *body = NULL, *norm, *vj;
	enum sf_upsert result = SF_UPSERT_FAILED;
	int rc;

	*matches = NULL;
	if (f == NULL || (!f->external_id && !f->id_lookup && f->type != SF_T_ID)) {
		sf_error_set(err, 404, "NOT_FOUND", "Provided external ID field does not exist or "
		    "is not accessible: %s", ext);
		return SF_UPSERT_FAILED;
	}
	if (!json_is_object(fields)) {
		sf_error_set(err, 400, "JSON_PARSER_ERROR", "The request body must be a JSON "
		    "object of field values");
		return SF_UPSERT_FAILED;
	}
	if (json_object_get(fields, "Id") != NULL || json_object_get(fields, f->name) != NULL) {
		sf_error_set(err, 400, "INVALID_FIELD", "The %s field should not be specified in "
		    "the sobject data.", json_object_get(fields, "Id") ? "Id" : f->name);
		return SF_UPSERT_FAILED;
	}
	vj = json_string(value);
	norm = sf_value_normalize(f, vj, err);
	json_decref(vj);
	if (norm == NULL)
		return SF_UPSERT_FAILED;
	table = db_quote_ident(obj->name);
	col = db_quote_ident(f->name);
	/* Matching is case-insensitive only for unique, case-insensitive fields (section 2.3). */
	sql = xasprintf("SELECT Id FROM %s WHERE %s = ? COLLATE %s AND IsDeleted = 0 ORDER BY Id "
	    "LIMIT 100", table, col, f->unique && !f->case_sensitive ? "NOCASE" : "BINARY");
	st = db_prepare(sim->store.db, sql);
	sf_value_bind(st, 1, norm);
	ids = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(ids, json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	free(sql);
	free(col);
	free(table);

	if (json_is_null(norm) || json_array_size(ids) == 0) {
		if (update_only) {
			sf_error_set(err, 404, "NOT_FOUND", "The requested resource does not exist");
			goto out;
		}
		body = json_deep_copy(fields);
		if (f->type != SF_T_ID)
			json_object_set(body, f->name, norm);
		rc = sf_dml_create(sim, obj, body, call, id_out, err);
		result = rc < 0 ? SF_UPSERT_FAILED : SF_UPSERT_CREATED;
	} else if (json_array_size(ids) == 1) {
		snprintf(id_out, 19, "%s", json_string_value(json_array_get(ids, 0)));
		rc = sf_dml_update(sim, obj, id_out, fields, call, err);
		result = rc < 0 ? SF_UPSERT_FAILED : SF_UPSERT_UPDATED;
	} else {
		size_t i;
		json_t *id;

		*matches = json_array();
		json_array_foreach(ids, i, id)
			json_array_append_new(*matches, json_sprintf("/services/data/v%s/sobjects/%s/%s",
			    call->version, obj->name, json_string_value(id)));
		sf_error_set(err, 300, "MULTIPLE_CHOICES", "Multiple records found for %s = %s",
		    f->name, value);
		result = SF_UPSERT_MULTIPLE;
	}
out:
	json_decref(ids);
	json_decref(body);
	json_decref(norm);
	return result;
}
