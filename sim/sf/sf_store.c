/* sf_store.c: sf-sim's SQLite storage: object tables derived from the schema and sf-sim's own
 * bookkeeping tables (see sf_store.h). */
#include "sf_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "log.h"
#include "sf_id.h"
#include "sf_value.h"
#include "xmalloc.h"

/* sf-sim's own tables. Object tables are not migrations: they follow the schema file. */
static const char *const migrations[] = {
	"CREATE TABLE sim_seq (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL);"
	"CREATE TABLE sim_app (consumer_key TEXT PRIMARY KEY, consumer_secret TEXT,"
	"  certificate TEXT, run_as TEXT, admin_approved INTEGER NOT NULL DEFAULT 1,"
	"  preauthorized TEXT, client_credentials INTEGER NOT NULL DEFAULT 1,"
	"  require_secret_for_refresh INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE sim_token (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
	"  consumer_key TEXT, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	"  scope TEXT);"
	"CREATE TABLE sim_refresh (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
	"  consumer_key TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sim_api_usage (minute INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
	"CREATE TABLE sim_route_stats (route TEXT PRIMARY KEY, n INTEGER NOT NULL);"
	"CREATE TABLE sim_locator (id TEXT PRIMARY KEY, soql TEXT NOT NULL,"
	"  all_rows INTEGER NOT NULL, version TEXT NOT NULL, next_offset INTEGER NOT NULL,"
	"  batch_size INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE sim_fault (id INTEGER PRIMARY KEY, method TEXT, path_prefix TEXT NOT NULL,"
	"  remaining INTEGER NOT NULL, spec TEXT NOT NULL);"
	"CREATE TABLE sim_setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
	/* Faults for the subrequests of the composite family, apart: one matching a path would
	 * otherwise be taken by the composite request around it first. */
	"CREATE TABLE sim_subfault (id INTEGER PRIMARY KEY, method TEXT,"
	"  path_prefix TEXT NOT NULL, remaining INTEGER NOT NULL, spec TEXT NOT NULL);",
};

static const char *
sql_type(const struct sf_field *f)
{
	if (f->type == SF_T_ID)
		return "TEXT COLLATE BINARY PRIMARY KEY";
	if (f->type == SF_T_REFERENCE)
		return "TEXT COLLATE BINARY";
	if (sf_ftype_is_text(f->type))
		return "TEXT COLLATE NOCASE";
	switch (f->type) {
	case SF_T_BOOLEAN: return "INTEGER NOT NULL DEFAULT 0";
	case SF_T_INT: return "INTEGER";
	case SF_T_DOUBLE: case SF_T_CURRENCY: case SF_T_PERCENT: return "REAL";
	default: return "TEXT";
	}
}

static int
stored(const struct sf_field *f)
{
	return f->type != SF_T_JUNCTIONIDLIST;
}

static int
has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ? "
	    "COLLATE NOCASE");
	int found;

	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int
sf_store_create_tables(sqlite3 *db, const struct sf_schema *schema, char *err, size_t errlen)
{
	for (size_t i = 0; i < schema->nobjects; i++) {
		const struct sf_object *obj = &schema->objects[i];
		char *table = db_quote_ident(obj->name), *sql;
		size_t cap = 256, len;
		int rc;

		for (size_t j = 0; j < obj->nfields; j++)
			cap += strlen(obj->fields[j].name) * 2 + 48;
		sql = xmalloc(cap);
		len = (size_t)snprintf(sql, cap, "CREATE TABLE IF NOT EXISTS %s (", table);
		for (size_t j = 0, n = 0; j < obj->nfields; j++) {
			const struct sf_field *f = &obj->fields[j];
			char *col;

			if (!stored(f))
				continue;
			col = db_quote_ident(f->name);
			len += (size_t)snprintf(sql + len, cap - len, "%s%s %s", n++ ? ", " : "", col,
			    sql_type(f));
			free(col);
		}
		snprintf(sql + len, cap - len, ")");
		rc = db_exec(db, sql, err, errlen);
		free(sql);
		/* Fields added to the schema file since the database was made. */
		for (size_t j = 0; rc == 0 && j < obj->nfields; j++) {
			const struct sf_field *f = &obj->fields[j];
			char *col;

			if (!stored(f) || has_column(db, obj->name, f->name))
				continue;
			col = db_quote_ident(f->name);
			sql = xasprintf("ALTER TABLE %s ADD COLUMN %s %s", table, col,
			    f->type == SF_T_BOOLEAN ? "INTEGER NOT NULL DEFAULT 0" : sql_type(f));
			rc = db_exec(db, sql, err, errlen);
			free(sql);
			free(col);
		}
		/* Salesforce indexes lookups, external ids, unique fields, Name and Email: so does
		 * sf-sim, or keyed lookups over large seeds would be table scans. */
		for (size_t j = 0; rc == 0 && j < obj->nfields; j++) {
			const struct sf_field *f = &obj->fields[j];
			char *col, *idx, *qidx;

			if (!stored(f) || f->type == SF_T_ID || !(f->type == SF_T_REFERENCE ||
			    f->external_id || f->unique || f->id_lookup || f->type == SF_T_EMAIL ||
			    strcmp(f->name, "Name") == 0))
				continue;
			col = db_quote_ident(f->name);
			idx = xasprintf("%s_%s", obj->name, f->name);
			qidx = db_quote_ident(idx);
			sql = xasprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", qidx, table, col);
			rc = db_exec(db, sql, err, errlen);
			free(sql);
			free(qidx);
			free(idx);
			free(col);
		}
		free(table);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
sf_store_open(struct sf_store *st, const char *path, const struct sf_schema *schema,
    char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	if (db_open(path, &st->db, err, errlen) < 0)
		return -1;
	st->schema = schema;
	if (db_migrate(st->db, migrations, sizeof(migrations) / sizeof(migrations[0]), err,
	    errlen) < 0 || sf_store_create_tables(st->db, schema, err, errlen) < 0) {
		sqlite3_close(st->db);
		st->db = NULL;
		return -1;
	}
	return 0;
}

void
sf_store_close(struct sf_store *st)
{
	if (st->db != NULL)
		sqlite3_close(st->db);
	st->db = NULL;
}

int
sf_store_reset(struct sf_store *st)
{
	char err[256];

	if (db_exec(st->db, "DELETE FROM sim_seq; DELETE FROM sim_app; DELETE FROM sim_token; "
	    "DELETE FROM sim_refresh; DELETE FROM sim_api_usage; DELETE FROM sim_route_stats; "
	    "DELETE FROM sim_locator; DELETE FROM sim_fault; DELETE FROM sim_subfault; "
	    "DELETE FROM sim_setting;",
	    err, sizeof(err)) < 0) {
		log_warnx("store: reset failed reason=\"%s\"", err);
		return -1;
	}
	for (size_t i = 0; i < st->schema->nobjects; i++) {
		char *table = db_quote_ident(st->schema->objects[i].name);
		char *sql = xasprintf("DELETE FROM %s", table);
		int rc = db_exec(st->db, sql, err, sizeof(err));

		free(sql);
		free(table);
		if (rc < 0) {
			log_warnx("store: reset failed reason=\"%s\"", err);
			return -1;
		}
	}
	return 0;
}

void
sf_store_new_id(struct sf_store *st, const struct sf_object *obj, char out[19])
{
	sqlite3_stmt *s = db_prepare(st->db, "INSERT INTO sim_seq (prefix, n) VALUES (?, 1) "
	    "ON CONFLICT (prefix) DO UPDATE SET n = n + 1 RETURNING n");
	unsigned long long n = 1;

	sqlite3_bind_text(s, 1, obj->key_prefix, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (unsigned long long)sqlite3_column_int64(s, 0);
	else
		fatalx("store: id sequence failed reason=\"%s\"", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	/* Offset the sequence so ids look like real ones rather than 000000001. */
	sf_id_make(obj->key_prefix, 1000000ULL + n, out);
}

static int
field_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == n && strncasecmp(p, name, n) == 0)
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

json_t *
sf_store_get(struct sf_store *st, const struct sf_object *obj, const char *id,
    const char *fields, int include_deleted, const char *api_version, struct sf_error *err)
{
	char *table = db_quote_ident(obj->name), *sql;
	sqlite3_stmt *s;
	json_t *rec = NULL, *attrs;

	/* Every requested field must exist, like Salesforce's ?fields= check. */
	for (const char *p = fields; p != NULL && *p; ) {
		const char *comma = strchr(p, ',');
		char *name = xstrndup(p, comma ? (size_t)(comma - p) : strlen(p));
		char *trim = name;

		while (*trim == ' ')
			trim++;
		if (*trim != '\0' && sf_schema_field(obj, trim) == NULL) {
			sf_error_set(err, 400, "INVALID_FIELD", "No such column '%s' on sobject of "
			    "type %s", trim, obj->name);
			free(name);
			free(table);
			return NULL;
		}
		free(name);
		p = comma ? comma + 1 : NULL;
	}
	sql = xasprintf("SELECT * FROM %s WHERE Id = ?%s", table,
	    include_deleted ? "" : " AND IsDeleted = 0");
	s = db_prepare(st->db, sql);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rec = json_object();
		attrs = json_object();
		json_object_set_new(attrs, "type", json_string(obj->name));
		json_object_set_new(attrs, "url", json_sprintf("/services/data/v%s/sobjects/%s/%s",
		    api_version, obj->name, id));
		json_object_set_new(rec, "attributes", attrs);
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			const char *cname = sqlite3_column_name(s, c);
			const struct sf_field *f = sf_schema_field(obj, cname);

			if (f == NULL || (fields != NULL && *fields && !field_listed(fields, f->name)))
				continue;
			json_object_set_new(rec, f->name, sf_value_column_json(s, c, f->type));
		}
	} else {
		sf_error_set(err, 404, "NOT_FOUND", "The requested resource does not exist");
	}
	sqlite3_finalize(s);
	free(sql);
	free(table);
	return rec;
}
