/* sim_fault.c: the scripted faults table (see sim_fault.h). */
#include "sim_fault.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "sim_control.h"
#include "xmalloc.h"

int
sim_fault_method(const char *m, char *method, size_t methodlen, char *err, size_t errlen)
{
	size_t i;

	method[0] = '\0';
	if (m == NULL)
		return 0;
	if (*m == '\0' || strlen(m) >= methodlen)
		return err_set(err, errlen, "method must be an HTTP method or null");
	for (i = 0; m[i]; i++) {
		if (!((m[i] >= 'A' && m[i] <= 'Z') || (m[i] >= 'a' && m[i] <= 'z')))
			return err_set(err, errlen, "method must be an HTTP method or null");
		method[i] = (char)(m[i] >= 'a' ? m[i] - 'a' + 'A' : m[i]);
	}
	method[i] = '\0';
	return 0;
}

long long
sim_fault_add(sqlite3 *db, const char *table, const char *method, const char *path,
    long count, json_t *spec, char *err, size_t errlen)
{
	char *sql = xasprintf("INSERT INTO %s (method, path_prefix, remaining, spec) "
	    "VALUES (?, ?, ?, ?)", table);
	char *text = json_dumps(spec, JSON_COMPACT);
	sqlite3_stmt *st = db_prepare(db, sql);
	long long id = -1;

	if (method[0] != '\0')
		sqlite3_bind_text(st, 1, method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, count);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err_set(err, errlen, "%s", sqlite3_errmsg(db));
	else
		id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	free(text);
	free(sql);
	return id;
}

char *
sim_fault_take(sqlite3 *db, const char *table, const char *method, const char *path,
    long long *id)
{
	char *sql = xasprintf("SELECT id, remaining, spec FROM %s "
	    "WHERE (method IS NULL OR method = upper(?1)) AND "
	    "substr(?2, 1, length(path_prefix)) = path_prefix ORDER BY id LIMIT 1", table);
	sqlite3_stmt *st = db_prepare(db, sql);
	const char *text;
	char *spec = NULL;
	long remaining;

	free(sql);
	sqlite3_bind_text(st, 1, method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	*id = sqlite3_column_int64(st, 0);
	remaining = (long)sqlite3_column_int64(st, 1);
	text = (const char *)sqlite3_column_text(st, 2);
	spec = xstrdup(text ? text : "");
	sqlite3_finalize(st);
	sql = remaining <= 1 ? xasprintf("DELETE FROM %s WHERE id = ?", table) :
	    xasprintf("UPDATE %s SET remaining = remaining - 1 WHERE id = ?", table);
	st = db_prepare(db, sql);
	free(sql);
	sqlite3_bind_int64(st, 1, *id);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("control: cannot consume a fault reason=\"%s\"", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return spec;
}

json_t *
sim_fault_entry(long long id, const char *method, const char *path, long long remaining,
    json_t *spec)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "method", method ? json_string(method) : json_null());
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "remaining", json_integer(remaining));
	json_object_update(o, spec);
	json_decref(spec);
	return o;
}

json_t *
sim_fault_list(sqlite3 *db, const char *table, json_t *(*spec_json)(const char *spec))
{
	char *sql = xasprintf("SELECT id, method, path_prefix, remaining, spec FROM %s "
	    "ORDER BY id", table);
	sqlite3_stmt *st = db_prepare(db, sql);
	json_t *list = json_array();

	free(sql);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, sim_fault_entry(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
		    spec_json((const char *)sqlite3_column_text(st, 4))));
	sqlite3_finalize(st);
	return list;
}

void
sim_fault_clear(sqlite3 *db, const char *table, struct httpd_response *resp)
{
	char *sql = xasprintf("DELETE FROM %s", table), err[256];

	if (db_exec(db, sql, err, sizeof(err)) < 0)
		sim_control_error(resp, 500, "cannot clear faults: %s", err);
	else
		httpd_respond_json(resp, 200, json_pack("{s:I}", "cleared",
		    (json_int_t)sqlite3_changes(db)));
	free(sql);
}
