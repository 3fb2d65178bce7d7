/* sf_control.c: sf-sim's control API under /_sim/ (see sf_control.h; every call is documented in
 * docs/sf-sim.md): reset and seed the org, dump records, count requests per route, change org
 * settings, mint and expire tokens, and script faults. None of it exists in Salesforce. */
#include "sf_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "sf_auth.h"
#include "sf_dml.h"
#include "sf_id.h"
#include "sf_value.h"
#include "sim_control.h"
#include "sim_fault.h"
#include "xmalloc.h"

#define ADMIN_USERNAME	"admin@sf-sim.local"
#define MAX_ROUTES	1000	/* distinct routes counted; later new ones share "other" */
#define MAX_SEGMENTS	32	/* path segments looked at when normalizing a route */
#define MAX_DELAY_MS	600000	/* a fault delay above Salesforce's 10-minute call limit is a typo */
#define SEED_SAVEPOINT	"sim_seed"

/* sim_key is ours, not part of sf_store's migrations: seed keys only matter to the control API. */
static int
ensure_tables(struct sf_sim *sim)
{
	char err[256];

	if (db_exec(sim->store.db, "CREATE TABLE IF NOT EXISTS sim_key (key TEXT PRIMARY KEY, "
	    "id TEXT NOT NULL)", err, sizeof(err)) < 0) {
		log_warnx("control: cannot create sim_key reason=\"%s\"", err);
		return -1;
	}
	return 0;
}

static int
has_users(const struct sf_sim *sim)
{
	const struct sf_object *user = sf_schema_object(&sim->schema, "User");

	return user != NULL && sf_schema_field(user, "Username") != NULL &&
	    sf_schema_field(user, "IsActive") != NULL;
}

/* The live User with this Username (case-insensitive, like Salesforce's login). 0 or -1. */
static int
find_user(struct sf_sim *sim, const char *username, char id[19], int *active)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (!has_users(sim))
		return -1;
	st = db_prepare(sim->store.db, "SELECT Id, IsActive FROM \"User\" WHERE Username = ? "
	    "AND IsDeleted = 0");
	sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(id, 19, "%s", (const char *)sqlite3_column_text(st, 0));
		if (active != NULL)
			*active = sqlite3_column_int(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Username of a live User id, or -1. */
static int
username_of(struct sf_sim *sim, const char *id, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (!has_users(sim))
		return -1;
	st = db_prepare(sim->store.db, "SELECT Username FROM \"User\" WHERE Id = ? AND "
	    "IsDeleted = 0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* A DML call as the control API makes it: the newest API version, running as user_id. */
static void
control_call(struct sf_call *call, const char *user_id, const char *path)
{
	memset(call, 0, sizeof(*call));
	call->method = "POST";
	call->path = path;
	snprintf(call->version, sizeof(call->version), "%d.0", SF_API_MAX);
	call->api_major = SF_API_MAX;
	snprintf(call->user_id, sizeof(call->user_id), "%s", user_id);
}

int
sf_control_bootstrap(struct sf_sim *sim)
{
	/* Alias is required on User; the locale picklists come from the schema's defaults. */
	static const struct {
		const char *field, *value;
	} admin[] = {
		{ "Username", ADMIN_USERNAME }, { "Email", ADMIN_USERNAME },
		{ "LastName", "Admin" }, { "FirstName", "Sim" }, { "Alias", "sadmin" },
	};
	const struct sf_object *user = sf_schema_object(&sim->schema, "User");
	struct sf_call call;
	struct sf_error err;
	sqlite3_stmt *st;
	json_t *fields;
	char id[19], path[64];
	int rc;

	if (ensure_tables(sim) < 0)
		return -1;
	if (!has_users(sim)) {
		log_warnx("control: the schema has no User object, no admin user made");
		return 0;
	}
	if (find_user(sim, ADMIN_USERNAME, id, NULL) == 0)
		return 0;
	fields = json_object();
	for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
		/* A custom schema may lack the optional ones. */
		if (sf_schema_field(user, admin[i].field) == NULL)
			continue;
		json_object_set_new(fields, admin[i].field, json_string(admin[i].value));
	}
	json_object_set_new(fields, "IsActive", json_true());
	snprintf(path, sizeof(path), "/services/data/v%d.0/sobjects/User", SF_API_MAX);
	control_call(&call, "", path);
	db_savepoint(sim->store.db, "sim_bootstrap");
	rc = sf_dml_create(sim, user, fields, &call, id, &err);
	json_decref(fields);
	if (rc < 0) {
		db_rollback_to(sim->store.db, "sim_bootstrap");
		log_warnx("control: cannot create the admin user code=%s reason=\"%s\"", err.code,
		    err.message);
		return -1;
	}
	/* Nobody ran the creation: the first user of an org stands for itself. */
	st = db_prepare(sim->store.db, "UPDATE \"User\" SET CreatedById = Id, "
	    "LastModifiedById = Id WHERE Id = ?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (rc < 0) {
		db_rollback_to(sim->store.db, "sim_bootstrap");
		log_warnx("control: cannot stamp the admin user reason=\"%s\"",
		    sqlite3_errmsg(sim->store.db));
		return -1;
	}
	db_release(sim->store.db, "sim_bootstrap");
	log_info("control: admin user created id=%s username=%s", id, ADMIN_USERNAME);
	return 0;
}

/* ---- seeding ---- */

/* The id a seed key stands for: this call's keys first, then earlier seed calls'. */
static int
key_id(struct sf_sim *sim, json_t *newkeys, const char *key, char id[19])
{
	const char *s = json_string_value(json_object_get(newkeys, key));
	sqlite3_stmt *st;
	int rc = -1;

	if (s != NULL) {
		snprintf(id, 19, "%s", s);
		return 0;
	}
	st = db_prepare(sim->store.db, "SELECT id FROM sim_key WHERE key = ?");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(id, 19, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Replaces "@key" strings (also inside arrays, for ToIds) by ids; "@@x" is the literal "@x".
 * NULL with a message on an unknown key. Caller owns the result. */
static json_t *
resolve(struct sf_sim *sim, json_t *v, json_t *newkeys, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	char id[19];

	if (json_is_array(v)) {
		json_t *out = json_array(), *item, *r;
		size_t i;

		json_array_foreach(v, i, item) {
			if ((r = resolve(sim, item, newkeys, err, errlen)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, r);
		}
		return out;
	}
	if (s == NULL || s[0] != '@')
		return json_incref(v);
	if (s[1] == '@')
		return json_string(s + 1);
	if (key_id(sim, newkeys, s + 1, id) < 0) {
		err_set(err, errlen, "unknown key \"%s\" (keys are set with \"_key\" on an earlier "
		    "record; write \"@@\" for a literal \"@\")", s);
		return NULL;
	}
	return json_string(id);
}

static int
is_audit_field(const char *name)
{
	static const char *const audit[] = {
		"CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
		"SystemModstamp", "IsDeleted",
	};

	for (size_t i = 0; i < sizeof(audit) / sizeof(audit[0]); i++)
		if (strcasecmp(name, audit[i]) == 0)
			return 1;
	return 0;
}

/* Like Salesforce's "Set Audit Fields upon Record Creation": history a seed wants to show (old
 * CreatedDate, another creator, a deleted row) is written after the validated insert. */
static int
apply_audit(struct sf_sim *sim, const struct sf_object *obj, const char *id, json_t *audit,
    char *err, size_t errlen)
{
	static const char *const dates[] = { "CreatedDate", "LastModifiedDate", "SystemModstamp" };
	static const char *const users[] = { "CreatedById", "LastModifiedById" };
	char canon[3][SF_DATETIME_LEN + 1], uid[2][19];
	const char *date[3] = { NULL, NULL, NULL }, *user[2] = { NULL, NULL };
	json_t *deleted = NULL;
	char *table, *sql;
	sqlite3_stmt *st;
	int rc;

	if (json_object_size(audit) == 0)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(audit, dates[i]);

		if (v == NULL)
			continue;
		if (!json_is_string(v) || sf_value_datetime(json_string_value(v), canon[i]) < 0)
			return err_set(err, errlen, "%s: not a datetime", dates[i]);
		date[i] = canon[i];
	}
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(audit, users[i]);
		char name[128];

		if (v == NULL)
			continue;
		if (!json_is_string(v) || sf_id_normalize(json_string_value(v), uid[i]) < 0 ||
		    username_of(sim, uid[i], name, sizeof(name)) < 0)
			return err_set(err, errlen, "%s: not the id of a User", users[i]);
		user[i] = uid[i];
	}
	deleted = json_object_get(audit, "IsDeleted");
	if (deleted != NULL && !json_is_boolean(deleted))
		return err_set(err, errlen, "IsDeleted: not a boolean");
	/* Unless told otherwise, a record seeded in the past was last touched when it was made. */
	if (date[1] == NULL)
		date[1] = date[0];
	if (date[2] == NULL)
		date[2] = date[1];
	if (user[1] == NULL)
		user[1] = user[0];
	table = db_quote_ident(obj->name);
	sql = xasprintf("UPDATE %s SET CreatedDate = coalesce(?1, CreatedDate), "
	    "LastModifiedDate = coalesce(?2, LastModifiedDate), "
	    "SystemModstamp = coalesce(?3, SystemModstamp), "
	    "CreatedById = coalesce(?4, CreatedById), "
	    "LastModifiedById = coalesce(?5, LastModifiedById), "
	    "IsDeleted = coalesce(?6, IsDeleted) WHERE Id = ?7", table);
	st = db_prepare(sim->store.db, sql);
	for (int i = 0; i < 3; i++)
		if (date[i] != NULL)
			sqlite3_bind_text(st, i + 1, date[i], -1, SQLITE_STATIC);
	for (int i = 0; i < 2; i++)
		if (user[i] != NULL)
			sqlite3_bind_text(st, i + 4, user[i], -1, SQLITE_STATIC);
	if (deleted != NULL)
		sqlite3_bind_int(st, 6, json_is_true(deleted));
	sqlite3_bind_text(st, 7, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc < 0)
		err_set(err, errlen, "cannot set audit fields: %s", sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
	free(sql);
	free(table);
	return rc;
}

static int
remember_key(struct sf_sim *sim, json_t *newkeys, const char *key, const char *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if (json_object_get(newkeys, key) != NULL)
		return err_set(err, errlen, "_key \"%s\" is used twice in this seed", key);
	json_object_set_new(newkeys, key, json_string(id));
	/* A later seed may reuse a key: the newest record wins, like re-running a fixture. */
	st = db_prepare(sim->store.db, "INSERT INTO sim_key (key, id) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET id = excluded.id");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc < 0)
		err_set(err, errlen, "cannot keep _key: %s", sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
	return rc;
}

static int
seed_record(struct sf_sim *sim, const struct sf_object *obj, json_t *rec, const char *admin_id,
    json_t *newkeys, char *err, size_t errlen)
{
	json_t *fields = json_object(), *audit = json_object(), *v, *r;
	const char *name, *key = NULL;
	struct sf_call call;
	struct sf_error serr;
	char id[19], path[128];
	int rc = -1;

	if (!json_is_object(rec)) {
		err_set(err, errlen, "a record must be a JSON object");
		goto out;
	}
	json_object_foreach(rec, name, v) {
		if (strcmp(name, "_key") == 0) {
			key = json_string_value(v);
			if (key == NULL || *key == '\0') {
				err_set(err, errlen, "_key must be a non-empty string");
				goto out;
			}
			continue;
		}
		if ((r = resolve(sim, v, newkeys, err, errlen)) == NULL)
			goto out;
		json_object_set_new(is_audit_field(name) ? audit : fields, name, r);
	}
	snprintf(path, sizeof(path), "/services/data/v%d.0/sobjects/%s", SF_API_MAX, obj->name);
	control_call(&call, admin_id, path);
	if (sf_dml_create(sim, obj, fields, &call, id, &serr) < 0) {
		err_set(err, errlen, "%s: %s", serr.code, serr.message);
		goto out;
	}
	if (apply_audit(sim, obj, id, audit, err, errlen) < 0)
		goto out;
	if (key != NULL && remember_key(sim, newkeys, key, id, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_decref(fields);
	json_decref(audit);
	return rc;
}

/* A username given as "name", or as "@key" of a seeded User. */
static int
app_username(struct sf_sim *sim, json_t *v, json_t *newkeys, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	char id[19];

	if (s == NULL)
		return err_set(err, errlen, "usernames must be strings");
	if (s[0] == '@' && s[1] != '@') {
		if (key_id(sim, newkeys, s + 1, id) < 0 || username_of(sim, id, out, outlen) < 0)
			return err_set(err, errlen, "\"%s\" is not the key of a User", s);
		return 0;
	}
	if (find_user(sim, s[0] == '@' ? s + 1 : s, id, NULL) < 0)
		return err_set(err, errlen, "no User with Username \"%s\"", s);
	return username_of(sim, id, out, outlen);
}

enum app_kind { APP_STRING, APP_USER, APP_USERS, APP_BOOL };

/* A ConnectedApp record: what the admin sets on the app in Setup, as sf_auth reads it. */
static int
seed_app(struct sf_sim *sim, json_t *rec, json_t *newkeys, char *err, size_t errlen)
{
	static const struct {
		const char *name, *alias;
		enum app_kind kind;
		int dflt;	/* booleans */
	} cols[] = {
		{ "consumerKey", "consumer_key", APP_STRING, 0 },
		{ "consumerSecret", "consumer_secret", APP_STRING, 0 },
		{ "certificate", "certificate", APP_STRING, 0 },
		{ "runAs", "run_as", APP_USER, 0 },
		{ "adminApproved", "admin_approved", APP_BOOL, 1 },
		{ "preauthorized", "preauthorized", APP_USERS, 0 },
		{ "clientCredentials", "client_credentials", APP_BOOL, 1 },
		{ "requireSecretForRefresh", "require_secret_for_refresh", APP_BOOL, 1 },
	};
	enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
	json_t *val[NCOLS], *v;
	char *text[NCOLS];
	const char *name;
	sqlite3_stmt *st;
	int rc = -1;

	memset(val, 0, sizeof(val));
	memset(text, 0, sizeof(text));
	if (!json_is_object(rec))
		return err_set(err, errlen, "a ConnectedApp must be a JSON object");
	json_object_foreach(rec, name, v) {
		size_t i;

		for (i = 0; i < NCOLS; i++)
			if (strcmp(name, cols[i].name) == 0 || strcmp(name, cols[i].alias) == 0)
				break;
		if (i == NCOLS)
			return err_set(err, errlen, "unknown ConnectedApp setting \"%s\"", name);
		val[i] = v;
	}
	for (size_t i = 0; i < NCOLS; i++) {
		char user[256];

		v = val[i];
		if (v == NULL || json_is_null(v))
			continue;
		switch (cols[i].kind) {
		case APP_STRING:
			if (!json_is_string(v)) {
				err_set(err, errlen, "%s must be a string", cols[i].name);
				goto out;
			}
			text[i] = xstrdup(json_string_value(v));
			break;
		case APP_USER:
			if (app_username(sim, v, newkeys, user, sizeof(user), err, errlen) < 0)
				goto out;
			text[i] = xstrdup(user);
			break;
		case APP_USERS: {
			json_t *list = json_array(), *item;
			size_t j;

			if (!json_is_array(v)) {
				json_decref(list);
				err_set(err, errlen,
				    "preauthorized must be an array of usernames or null");
				goto out;
			}
			json_array_foreach(v, j, item) {
				if (app_username(sim, item, newkeys, user, sizeof(user), err,
				    errlen) < 0) {
					json_decref(list);
					goto out;
				}
				json_array_append_new(list, json_string(user));
			}
			text[i] = json_dumps(list, JSON_COMPACT);
			json_decref(list);
			break;
		}
		case APP_BOOL:
			if (!json_is_boolean(v)) {
				err_set(err, errlen, "%s must be true or false", cols[i].name);
				goto out;
			}
			break;
		}
	}
	if (text[0] == NULL || text[0][0] == '\0') {
		err_set(err, errlen, "consumerKey is required");
		goto out;
	}
	if (text[2] != NULL) {
		/* A certificate that does not parse would only show up as a JWT failure later. */
		char cerr[256];
		EVP_PKEY *key = crypto_pubkey_load_pem(text[2], cerr, sizeof(cerr));

		if (key == NULL) {
			err_set(err, errlen, "certificate: %s", cerr);
			goto out;
		}
		EVP_PKEY_free(key);
	}
	st = db_prepare(sim->store.db, "INSERT INTO sim_app (consumer_key, consumer_secret, "
	    "certificate, run_as, admin_approved, preauthorized, client_credentials, "
	    "require_secret_for_refresh) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	for (size_t i = 0; i < NCOLS; i++) {
		if (cols[i].kind == APP_BOOL)
			sqlite3_bind_int(st, (int)i + 1, val[i] != NULL && json_is_boolean(val[i]) ?
			    json_is_true(val[i]) : cols[i].dflt);
		else if (text[i] != NULL)
			sqlite3_bind_text(st, (int)i + 1, text[i], -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else if (sqlite3_extended_errcode(sim->store.db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		err_set(err, errlen, "consumerKey \"%s\" already exists", text[0]);
	else
		err_set(err, errlen, "%s", sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
out:
	for (size_t i = 0; i < NCOLS; i++)
		free(text[i]);
	return rc;
}

/* Runs a whole seed inside one savepoint; created gets a count per object, newkeys the keys. */
static int
seed_run(struct sf_sim *sim, json_t *seed, json_t *created, json_t *newkeys, char *err,
    size_t errlen)
{
	char admin_id[19] = "", msg[1024];
	const char *objname;
	json_t *list;

	if (!json_is_object(seed))
		return err_set(err, errlen,
		    "a seed is a JSON object of arrays: {\"Account\":[{...}]}");
	if (ensure_tables(sim) < 0)
		return err_set(err, errlen, "cannot create sim_key");
	/* Seeded records are owned and created by the admin unless they say otherwise. */
	find_user(sim, ADMIN_USERNAME, admin_id, NULL);
	if (db_savepoint(sim->store.db, SEED_SAVEPOINT) < 0)
		return err_set(err, errlen, "cannot open a savepoint");
	/* jansson >= 2.8 iterates in insertion order, so the file's order is the creation order
	 * and a Contact can name an Account seeded above it. */
	json_object_foreach(seed, objname, list) {
		const struct sf_object *obj = NULL;
		int is_app = strcmp(objname, "ConnectedApp") == 0;
		json_t *rec;
		size_t i;

		if (!is_app && (obj = sf_schema_object(&sim->schema, objname)) == NULL) {
			err_set(err, errlen, "%s: no such sObject in the schema", objname);
			goto fail;
		}
		if (!json_is_array(list)) {
			err_set(err, errlen, "%s: must be an array of records", objname);
			goto fail;
		}
		json_array_foreach(list, i, rec) {
			int rc = is_app ? seed_app(sim, rec, newkeys, msg, sizeof(msg)) :
			    seed_record(sim, obj, rec, admin_id, newkeys, msg, sizeof(msg));

			if (rc < 0) {
				err_set(err, errlen,
				    "%s[%zu]: %s", is_app ? objname : obj->name, i, msg);
				goto fail;
			}
		}
		json_object_set_new(created, is_app ? objname : obj->name,
		    json_integer((json_int_t)json_array_size(list)));
	}
	db_release(sim->store.db, SEED_SAVEPOINT);
	return 0;
fail:
	db_rollback_to(sim->store.db, SEED_SAVEPOINT);
	return -1;
}

int
sf_control_seed(struct sf_sim *sim, json_t *seed, json_t **keys, char *err, size_t errlen)
{
	json_t *created = json_object(), *newkeys = json_object();
	int rc;

	*keys = NULL;
	rc = seed_run(sim, seed, created, newkeys, err, errlen);
	json_decref(created);
	if (rc < 0) {
		json_decref(newkeys);
		log_warnx("control: seed failed reason=\"%s\"", err);
		return -1;
	}
	*keys = newkeys;
	return 0;
}

/* ---- routes ---- */

static int
known_subresource(const char *seg)
{
	static const char *const sub[] = {
		"describe", "updated", "deleted", "listviews", "quickActions", "layouts",
		"compactLayouts", "defaultValues", "eventSchema", "relationships",
	};

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		if (strcmp(seg, sub[i]) == 0)
			return 1;
	return 0;
}

/* 18 characters with a correct case-safe suffix, or 15 with a known key prefix: a field name
 * like "OutlookMessageI" must not be mistaken for an id. */
static int
looks_like_id(const struct sf_sim *sim, const char *seg)
{
	char id18[19];

	if (sf_id_normalize(seg, id18) < 0)
		return 0;
	return strlen(seg) == 18 || strncmp(seg, "00D", 3) == 0 ||
	    sf_schema_object_by_prefix(&sim->schema, seg) != NULL;
}

/* "GET /services/data/v62.0/sobjects/Lead/00Q5g..." -> "GET /services/data/v62.0/sobjects/Lead/{id}":
 * ids, external id values and query locators vary per call, the route does not. */
static void
normalize_route(const struct sf_sim *sim, const char *method, const char *path, char *out,
    size_t outlen)
{
	char *copy = xstrdup(path), *seg[MAX_SEGMENTS], *p, *save = NULL;
	size_t n = 0, len;
	int sobjects = -1;

	for (p = strtok_r(copy, "/", &save); p != NULL && n < MAX_SEGMENTS;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	len = (size_t)snprintf(out, outlen, "%s ", method);
	if (n == 0)
		snprintf(out + len, len < outlen ? outlen - len : 0, "/");
	for (size_t i = 0; i < n && len < outlen; i++) {
		const char *s = seg[i];
		int stop = 0;

		if (looks_like_id(sim, s))
			s = "{id}";
		else if (i > 0 && (strcmp(seg[i - 1], "query") == 0 ||
		    strcmp(seg[i - 1], "queryAll") == 0))
			s = "{locator}";
		else if (sobjects >= 0 && i == (size_t)sobjects + 3 &&
		    !looks_like_id(sim, seg[sobjects + 2]) &&
		    !known_subresource(seg[sobjects + 2])) {
			/* /sobjects/Obj/ExtField/value: a value may hold decoded slashes too. */
			s = "{value}";
			stop = 1;
		}
		if (strcmp(seg[i], "sobjects") == 0 && sobjects < 0 &&
		    (i == 0 || strcmp(seg[i - 1], "composite") != 0))
			sobjects = (int)i;
		len += (size_t)snprintf(out + len, outlen - len, "/%s", s);
		if (stop)
			break;
	}
	free(copy);
	sim_control_utf8(out);
}

void
sf_control_count_route(struct sf_sim *sim, const char *method, const char *route)
{
	char key[512];
	sqlite3_stmt *st;
	int changed;

	normalize_route(sim, method, route, key, sizeof(key));
	st = db_prepare(sim->store.db, "UPDATE sim_route_stats SET n = n + 1 WHERE route = ?");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	changed = sqlite3_changes(sim->store.db);
	if (changed > 0)
		return;
	/* A client probing random paths must not grow the table without end. */
	st = db_prepare(sim->store.db, "SELECT count(*) FROM sim_route_stats");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) >= MAX_ROUTES)
		snprintf(key, sizeof(key), "other");
	sqlite3_finalize(st);
	st = db_prepare(sim->store.db, "INSERT INTO sim_route_stats (route, n) VALUES (?, 1) "
	    "ON CONFLICT (route) DO UPDATE SET n = n + 1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("control: cannot count a route reason=\"%s\"",
		    sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
}

/* ---- faults ---- */

/* What Salesforce sends for these codes (reference §5, §7). */
static const struct {
	const char *code;
	int status;
	const char *message;
} presets[] = {
	{ "SERVER_UNAVAILABLE", 503, "Server Unavailable" },
	{ "UNABLE_TO_LOCK_ROW", 400, "unable to obtain exclusive access to this record or "
	    "1 records: %s" },
	{ "REQUEST_LIMIT_EXCEEDED", 403, "TotalRequests Limit exceeded." },
	{ "INVALID_SESSION_ID", 401, "Session expired or invalid" },
	{ "UNKNOWN_EXCEPTION", 500, "An unexpected error occurred. Please include this ErrorId "
	    "if you contact support: 1958713285-17324 (-1370427826)" },
	{ "NOT_FOUND", 404, "The requested resource does not exist" },
};

static int
preset_by_code(const char *code)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].code, code) == 0)
			return (int)i;
	return -1;
}

static int
preset_by_status(int status)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (presets[i].status == status)
			return (int)i;
	return -1;
}

static void
preset_message(struct sf_sim *sim, int p, char *out, size_t outlen)
{
	if (strstr(presets[p].message, "%s") != NULL) {
		/* The lock message names a record; any id of the org looks right. */
		const struct sf_object *obj = sf_schema_object(&sim->schema, "Contact");
		char id[19];

		sf_id_make(obj ? obj->key_prefix : "003", 1000001ULL, id);
		snprintf(out, outlen, "unable to obtain exclusive access to this record or "
		    "1 records: %s", id);
	} else {
		snprintf(out, outlen, "%s", presets[p].message);
	}
}

/* Checks a POST /_sim/faults body and fills in what presets imply. */
static int
fault_parse(struct sf_sim *sim, json_t *body, char *method, size_t methodlen, const char **path,
    long *count, struct sf_fault *f, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"method", "path", "count", "status", "errorCode", "message", "html", "delay_ms",
		"drop", "after_commit", "subrequest",
	};
	json_t *v;
	const char *key, *code, *msg;
	long status;
	int p;

	memset(f, 0, sizeof(*f));
	if ((key = sim_control_unknown_key(body, keys, sizeof(keys) / sizeof(keys[0]))) != NULL)
		return err_set(err, errlen, "unknown fault setting \"%s\"", key);
	v = json_object_get(body, "method");
	if (v != NULL && !json_is_null(v) && json_string_value(v) == NULL)
		return err_set(err, errlen, "method must be an HTTP method or null");
	if (sim_fault_method(json_string_value(v), method, methodlen, err, errlen) < 0)
		return -1;
	*path = json_string_value(json_object_get(body, "path"));
	if (*path == NULL || (*path)[0] != '/')
		return err_set(err, errlen, "path must be a path prefix starting with \"/\"");
	if (sim_control_long(body, "count", 1, 1000000, 1, count, err, errlen) < 0 ||
	    sim_control_long(body, "status", 100, 599, 0, &status, err, errlen) < 0 ||
	    sim_control_long(body, "delay_ms", 0, MAX_DELAY_MS, 0, &f->delay_ms, err, errlen) < 0 ||
	    sim_control_bool(body, "html", &f->html, err, errlen) < 0 ||
	    sim_control_bool(body, "drop", &f->drop, err, errlen) < 0 ||
	    sim_control_bool(body, "after_commit", &f->after_commit, err, errlen) < 0 ||
	    sim_control_bool(body, "subrequest", &f->subrequest, err, errlen) < 0)
		return -1;
	/* A subrequest has no connection or page of its own: only its answer can fail. */
	if (f->subrequest && (f->drop || f->html || f->delay_ms > 0))
		return err_set(err, errlen, "a subrequest fault takes a status, not drop, html or "
		    "delay_ms");
	v = json_object_get(body, "errorCode");
	code = json_string_value(v);
	if (v != NULL && !json_is_null(v) && (code == NULL || *code == '\0' ||
	    strlen(code) >= sizeof(f->error_code)))
		return err_set(err, errlen, "errorCode must be a non-empty string");
	v = json_object_get(body, "message");
	msg = json_string_value(v);
	if (v != NULL && !json_is_null(v) && (msg == NULL || strlen(msg) >= sizeof(f->message)))
		return err_set(err, errlen, "message must be a string of at most %zu bytes",
		    sizeof(f->message) - 1);
	p = code != NULL ? preset_by_code(code) : -1;
	if (status == 0 && p >= 0)
		status = presets[p].status;
	if (code != NULL && status == 0)
		return err_set(err, errlen, "errorCode %s has no preset: give its status", code);
	if (f->drop && status != 0)
		return err_set(err, errlen, "drop and status exclude each other");
	if (f->html && status == 0)
		return err_set(err, errlen, "html needs a status");
	if (status == 0 && !f->drop && f->delay_ms == 0)
		return err_set(err, errlen, "a fault needs a status, drop or delay_ms");
	f->status = (int)status;
	if (status != 0 && !f->html && code == NULL && (p = preset_by_status(f->status)) >= 0)
		code = presets[p].code;
	if (code != NULL)
		snprintf(f->error_code, sizeof(f->error_code), "%s", code);
	if (msg != NULL)
		snprintf(f->message, sizeof(f->message), "%s", msg);
	else if (p >= 0 && !f->html)
		preset_message(sim, p, f->message, sizeof(f->message));
	return 0;
}

static json_t *
fault_json(const struct sf_fault *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", f->status ? json_integer(f->status) : json_null());
	json_object_set_new(o, "errorCode", f->error_code[0] ? json_string(f->error_code) :
	    json_null());
	json_object_set_new(o, "message", f->message[0] ? json_string(f->message) : json_null());
	json_object_set_new(o, "html", json_boolean(f->html));
	json_object_set_new(o, "delay_ms", json_integer(f->delay_ms));
	json_object_set_new(o, "drop", json_boolean(f->drop));
	json_object_set_new(o, "after_commit", json_boolean(f->after_commit));
	json_object_set_new(o, "subrequest", json_boolean(f->subrequest));
	return o;
}

/* The stored spec is our own JSON, but it lives in a file a user could edit: read it leniently. */
static void
fault_from_json(const char *spec, struct sf_fault *f)
{
	json_t *o = json_loads(spec, 0, NULL);
	const char *s;

	memset(f, 0, sizeof(*f));
	if (o == NULL)
		return;
	f->status = (int)json_integer_value(json_object_get(o, "status"));
	if ((s = json_string_value(json_object_get(o, "errorCode"))) != NULL)
		snprintf(f->error_code, sizeof(f->error_code), "%s", s);
	if ((s = json_string_value(json_object_get(o, "message"))) != NULL)
		snprintf(f->message, sizeof(f->message), "%s", s);
	f->html = json_is_true(json_object_get(o, "html"));
	f->delay_ms = (long)json_integer_value(json_object_get(o, "delay_ms"));
	f->drop = json_is_true(json_object_get(o, "drop"));
	f->after_commit = json_is_true(json_object_get(o, "after_commit"));
	f->subrequest = json_is_true(json_object_get(o, "subrequest"));
	json_decref(o);
}

/* A stored spec as GET /_sim/faults shows it (through struct sf_fault, as it will act). */
static json_t *
spec_json(const char *spec)
{
	struct sf_fault f;

	fault_from_json(spec, &f);
	return fault_json(&f);
}

static int
fault_take(struct sf_sim *sim, const char *table, const char *method, const char *path,
    struct sf_fault *out)
{
	long long id;
	char *spec = sim_fault_take(sim->store.db, table, method, path, &id);

	if (spec == NULL)
		return 0;
	fault_from_json(spec, out);
	free(spec);
	log_info("control: fault taken id=%lld method=%s path=%s status=%d drop=%d delay_ms=%ld "
	    "after_commit=%d subrequest=%d", id, method, path, out->status, out->drop,
	    out->delay_ms, out->after_commit, out->subrequest);
	return 1;
}

int
sf_control_fault_take(struct sf_sim *sim, const char *method, const char *path,
    struct sf_fault *out)
{
	return fault_take(sim, "sim_fault", method, path, out);
}

int
sf_control_subfault_take(struct sf_sim *sim, const char *method, const char *path,
    struct sf_fault *out)
{
	return fault_take(sim, "sim_subfault", method, path, out);
}

/* ---- handlers ---- */

struct ctl {
	struct sf_sim *sim;
	struct httpd_request *req;
	struct httpd_response *resp;
	json_t *body;		/* parsed JSON object, or NULL when the request had none */
};

static void
h_health(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, json_pack("{s:b}", "ok", 1));
}

static void
h_reset(struct ctl *c)
{
	struct sf_sim *sim = c->sim;
	char id[19] = "", err[256];

	db_savepoint(sim->store.db, "sim_reset");
	if (sf_store_reset(&sim->store) < 0 || ensure_tables(sim) < 0 ||
	    db_exec(sim->store.db, "DELETE FROM sim_key", err, sizeof(err)) < 0) {
		db_rollback_to(sim->store.db, "sim_reset");
		sf_sim_load_settings(sim);
		sim_control_error(c->resp, 500, "reset failed (see the log)");
		return;
	}
	sf_sim_load_settings(sim);
	if (sf_control_bootstrap(sim) < 0) {
		db_rollback_to(sim->store.db, "sim_reset");
		sf_sim_load_settings(sim);
		sim_control_error(c->resp, 500, "cannot re-create the admin user (see the log)");
		return;
	}
	db_release(sim->store.db, "sim_reset");
	find_user(sim, ADMIN_USERNAME, id, NULL);
	log_info("control: reset admin=%s", id);
	httpd_respond_json(c->resp, 200, json_pack("{s:b,s:{s:s,s:s}}", "ok", 1, "admin",
	    "Id", id, "Username", ADMIN_USERNAME));
}

static void
h_seed(struct ctl *c)
{
	json_t *created = json_object(), *newkeys = json_object();
	char err[1024];

	if (c->body == NULL) {
		sim_control_error(c->resp, 400, "seed needs a JSON body: {\"Account\":[{...}]}");
	} else if (seed_run(c->sim, c->body, created, newkeys, err, sizeof(err)) < 0) {
		log_warnx("control: seed failed reason=\"%s\"", err);
		sim_control_error(c->resp, 400, "seed failed, nothing was kept: %s", err);
	} else {
		log_info("control: seeded objects=%zu keys=%zu", json_object_size(created),
		    json_object_size(newkeys));
		httpd_respond_json(c->resp, 200, json_pack("{s:O,s:O}", "created", created,
		    "keys", newkeys));
	}
	json_decref(created);
	json_decref(newkeys);
}

static void
h_records(struct ctl *c, const char *objname)
{
	struct sf_sim *sim = c->sim;
	const struct sf_object *obj = sf_schema_object(&sim->schema, objname);
	json_t *records;
	char *table, *sql;
	sqlite3_stmt *st;

	if (obj == NULL) {
		sim_control_error(c->resp, 404, "no such sObject: %s", objname);
		return;
	}
	records = json_array();
	table = db_quote_ident(obj->name);
	sql = xasprintf("SELECT * FROM %s ORDER BY CreatedDate, Id", table);
	st = db_prepare(sim->store.db, sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *rec = json_object();
		const char *id = NULL;

		json_object_set_new(rec, "attributes", json_object());
		for (int col = 0; col < sqlite3_column_count(st); col++) {
			const struct sf_field *f = sf_schema_field(obj, sqlite3_column_name(st, col));

			if (f == NULL)
				continue;
			json_object_set_new(rec, f->name, sf_value_column_json(st, col, f->type));
			if (f->type == SF_T_ID)
				id = (const char *)sqlite3_column_text(st, col);
		}
		json_object_set_new(json_object_get(rec, "attributes"), "type",
		    json_string(obj->name));
		json_object_set_new(json_object_get(rec, "attributes"), "url",
		    json_sprintf("/services/data/v%d.0/sobjects/%s/%s", SF_API_MAX, obj->name,
		    id ? id : ""));
		json_array_append_new(records, rec);
	}
	sqlite3_finalize(st);
	free(sql);
	free(table);
	httpd_respond_json(c->resp, 200, json_pack("{s:o}", "records", records));
}

static void
h_stats(struct ctl *c)
{
	sqlite3_stmt *st = db_prepare(c->sim->store.db, "SELECT route, n FROM sim_route_stats "
	    "ORDER BY route");
	json_t *routes = json_object();
	json_int_t total = 0;

	while (sqlite3_step(st) == SQLITE_ROW) {
		json_int_t n = (json_int_t)sqlite3_column_int64(st, 1);

		json_object_set_new(routes, (const char *)sqlite3_column_text(st, 0),
		    json_integer(n));
		total += n;
	}
	sqlite3_finalize(st);
	httpd_respond_json(c->resp, 200, json_pack("{s:I,s:I,s:o,s:I}",
	    "api_calls", (json_int_t)sf_sim_api_used(c->sim),
	    "daily_api_limit", (json_int_t)c->sim->settings.daily_api_limit,
	    "routes", routes, "requests", total));
}

static void
h_stats_reset(struct ctl *c)
{
	char err[256];

	/* API usage goes too: a benchmark resets, runs, and reads the calls of that run alone. */
	if (db_exec(c->sim->store.db, "DELETE FROM sim_route_stats; DELETE FROM sim_api_usage",
	    err, sizeof(err)) < 0) {
		sim_control_error(c->resp, 500, "cannot reset statistics: %s", err);
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:b}", "ok", 1));
}

static void
h_faults_add(struct ctl *c)
{
	struct sf_fault f;
	char method[16], err[512];
	const char *path = NULL;
	long count = 0;
	long long id;
	json_t *spec;

	if (c->body == NULL) {
		sim_control_error(c->resp, 400,
		    "a fault needs a JSON body: {\"path\":..,\"status\":..}");
		return;
	}
	if (fault_parse(c->sim, c->body, method, sizeof(method), &path, &count, &f, err,
	    sizeof(err)) < 0) {
		sim_control_error(c->resp, 400, "%s", err);
		return;
	}
	spec = fault_json(&f);
	id = sim_fault_add(c->sim->store.db, f.subrequest ? "sim_subfault" : "sim_fault", method,
	    path, count, spec, err,
	    sizeof(err));
	if (id < 0) {
		sim_control_error(c->resp, 500, "cannot store the fault: %s", err);
		json_decref(spec);
		return;
	}
	log_info("control: fault added method=%s path=%s count=%ld status=%d drop=%d "
	    "delay_ms=%ld after_commit=%d", method[0] ? method : "any", path, count, f.status,
	    f.drop, f.delay_ms, f.after_commit);
	httpd_respond_json(c->resp, 200, sim_fault_entry(id, method[0] ? method : NULL, path,
	    count, spec));
}

static void
h_faults_list(struct ctl *c)
{
	json_t *all = sim_fault_list(c->sim->store.db, "sim_fault", spec_json);
	json_t *sub = sim_fault_list(c->sim->store.db, "sim_subfault", spec_json);

	json_array_extend(all, sub);
	json_decref(sub);
	httpd_respond_json(c->resp, 200, json_pack("{s:o}", "faults", all));
}

static void
h_faults_clear(struct ctl *c)
{
	static const char *const tables[] = { "sim_fault", "sim_subfault" };
	json_int_t n = 0;
	char sql[64], err[256];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[i]);
		if (db_exec(c->sim->store.db, sql, err, sizeof(err)) < 0) {
			sim_control_error(c->resp, 500, "cannot clear faults: %s", err);
			return;
		}
		n += (json_int_t)sqlite3_changes(c->sim->store.db);
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:I}", "cleared", n));
}

/* The settings POST /_sim/config accepts, with their ranges. */
static const struct {
	const char *key;
	int is_bool;
	long min, max;
} config_keys[] = {
	{ "daily_api_limit", 0, 0, 1000000000L },
	{ "token_ttl_sec", 0, 1, 366L * 24 * 3600 },
	{ "enhanced_email", 1, 0, 1 },
	{ "lead_duplicate_rule", 1, 0, 1 },
	{ "contact_duplicate_rule", 1, 0, 1 },
	{ "duplicate_rule_blocks", 1, 0, 1 },
	/* Salesforce's default page is 2000; below 200 only a test wants it (short pages). */
	{ "query_batch_size", 0, 1, 2000 },
};

static json_t *
config_json(struct sf_sim *sim)
{
	const struct sf_settings *s = &sim->settings;

	return json_pack("{s:I,s:I,s:b,s:b,s:b,s:b,s:i,s:I}",
	    "daily_api_limit", (json_int_t)s->daily_api_limit,
	    "token_ttl_sec", (json_int_t)s->token_ttl_sec,
	    "enhanced_email", s->enhanced_email,
	    "lead_duplicate_rule", s->lead_duplicate_rule,
	    "contact_duplicate_rule", s->contact_duplicate_rule,
	    "duplicate_rule_blocks", s->duplicate_rule_blocks,
	    "query_batch_size", s->query_batch_size,
	    "api_used", (json_int_t)sf_sim_api_used(sim));
}

static void
h_config_get(struct ctl *c)
{
	httpd_respond_json(c->resp, 200, config_json(c->sim));
}

static int
set_api_used(struct sf_sim *sim, long used)
{
	sqlite3_stmt *st;
	char err[256];
	int rc;

	if (db_exec(sim->store.db, "DELETE FROM sim_api_usage", err, sizeof(err)) < 0)
		return -1;
	if (used == 0)
		return 0;
	st = db_prepare(sim->store.db, "INSERT INTO sim_api_usage (minute, n) VALUES (?, ?)");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(time(NULL) / 60));
	sqlite3_bind_int64(st, 2, used);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

static void
h_config_set(struct ctl *c)
{
	struct sf_sim *sim = c->sim;
	const char *key;
	json_t *v;
	long api_used = -1;
	int rc = 0;

	if (c->body == NULL) {
		h_config_get(c);
		return;
	}
	/* Everything is checked before anything is saved: a bad key changes nothing. */
	json_object_foreach(c->body, key, v) {
		size_t i;

		if (strcmp(key, "api_used") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 1000000000L) {
				sim_control_error(c->resp, 400,
				    "api_used must be an integer from 0 to "
				    "1000000000");
				return;
			}
			api_used = (long)json_integer_value(v);
			continue;
		}
		for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
			if (strcmp(key, config_keys[i].key) == 0)
				break;
		if (i == sizeof(config_keys) / sizeof(config_keys[0])) {
			sim_control_error(c->resp, 400, "unknown setting \"%s\"", key);
			return;
		}
		if (config_keys[i].is_bool ? !json_is_boolean(v) : (!json_is_integer(v) ||
		    json_integer_value(v) < config_keys[i].min ||
		    json_integer_value(v) > config_keys[i].max)) {
			if (config_keys[i].is_bool)
				sim_control_error(c->resp, 400, "%s must be true or false", key);
			else
				sim_control_error(c->resp, 400,
				    "%s must be an integer from %ld to %ld",
				    key, config_keys[i].min, config_keys[i].max);
			return;
		}
	}
	db_savepoint(sim->store.db, "sim_config");
	json_object_foreach(c->body, key, v) {
		char text[32];

		if (strcmp(key, "api_used") == 0)
			continue;
		if (json_is_boolean(v))
			snprintf(text, sizeof(text), "%d", json_is_true(v));
		else
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		if (sf_sim_save_setting(sim, key, text) < 0)
			rc = -1;
		else
			log_info("control: setting %s=%s", key, text);
	}
	if (rc == 0 && api_used >= 0)
		rc = set_api_used(sim, api_used);
	if (rc < 0) {
		db_rollback_to(sim->store.db, "sim_config");
		sf_sim_load_settings(sim);
		sim_control_error(c->resp, 500, "cannot save settings: %s",
		    sqlite3_errmsg(sim->store.db));
		return;
	}
	db_release(sim->store.db, "sim_config");
	h_config_get(c);
}

static void
h_token(struct ctl *c)
{
	struct sf_sim *sim = c->sim;
	const char *username = ADMIN_USERNAME;
	json_t *v = c->body ? json_object_get(c->body, "username") : NULL;
	char id[19], idurl[256];
	int active = 0;
	char *token, *refresh = NULL;
	const char *app = NULL;
	json_t *out;

	if (v != NULL && !json_is_null(v)) {
		if ((username = json_string_value(v)) == NULL) {
			sim_control_error(c->resp, 400, "username must be a string");
			return;
		}
	}
	if (find_user(sim, username, id, &active) < 0) {
		sim_control_error(c->resp, 400, "no User with Username \"%s\"", username);
		return;
	}
	/* Salesforce never issues a session to a deactivated user. */
	if (!active) {
		sim_control_error(c->resp, 400, "User \"%s\" is inactive", username);
		return;
	}
	/* {"refresh":true,"consumer_key":K}: also the refresh token app K's web-server flow would
	 * have handed out, for tests of grant_type=refresh_token. */
	if (json_is_true(json_object_get(c->body, "refresh"))) {
		app = json_string_value(json_object_get(c->body, "consumer_key"));
		if (app == NULL || (refresh = sf_auth_issue_refresh(sim, id, app)) == NULL) {
			sim_control_error(c->resp, 400,
			    "refresh needs the consumer_key of a ConnectedApp");
			return;
		}
	}
	token = sf_auth_mint(sim, id, app, "api");
	/* The identity URL, like the token endpoint's: {instance}/id/{orgId}/{userId}. */
	snprintf(idurl, sizeof(idurl), "%s/id/%s/%s", sim->base_url, sim->org_id, id);
	out = json_pack("{s:s,s:s,s:s,s:s}", "access_token", token, "instance_url",
	    sim->base_url, "token_type", "Bearer", "id", idurl);
	if (refresh != NULL)
		json_object_set_new(out, "refresh_token", json_string(refresh));
	httpd_respond_json(c->resp, 200, out);
	free(refresh);
	free(token);
}

static void
h_expire_tokens(struct ctl *c)
{
	char err[256];

	if (db_exec(c->sim->store.db, "UPDATE sim_token SET expires_at = 0", err,
	    sizeof(err)) < 0) {
		sim_control_error(c->resp, 500, "cannot expire tokens: %s", err);
		return;
	}
	httpd_respond_json(c->resp, 200, json_pack("{s:I}", "expired",
	    (json_int_t)sqlite3_changes(c->sim->store.db)));
}

static const struct {
	const char *method, *path;
	void (*fn)(struct ctl *);
} routes[] = {
	{ "GET", "/_sim/health", h_health },
	{ "POST", "/_sim/reset", h_reset },
	{ "POST", "/_sim/seed", h_seed },
	{ "GET", "/_sim/stats", h_stats },
	{ "POST", "/_sim/stats/reset", h_stats_reset },
	{ "POST", "/_sim/faults", h_faults_add },
	{ "GET", "/_sim/faults", h_faults_list },
	{ "DELETE", "/_sim/faults", h_faults_clear },
	{ "GET", "/_sim/config", h_config_get },
	{ "POST", "/_sim/config", h_config_set },
	{ "POST", "/_sim/token", h_token },
	{ "POST", "/_sim/expire-tokens", h_expire_tokens },
};

void
sf_control_handle(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp)
{
	struct ctl c = { sim, req, resp, NULL };
	size_t plen = strlen(req->path);
	char path[256];
	int path_known = 0;

	/* A trailing slash names the same resource. */
	snprintf(path, sizeof(path), "%s", req->path);
	if (plen < sizeof(path) && plen > 1 && path[plen - 1] == '/')
		path[plen - 1] = '\0';
	if (strncmp(path, "/_sim/records/", 14) == 0 && path[14] != '\0' &&
	    strchr(path + 14, '/') == NULL) {
		if (strcmp(req->method, "GET") != 0)
			sim_control_error(resp, 405,
			    "%s /_sim/records/{SObject}: use GET", req->method);
		else
			h_records(&c, path + 14);
		return;
	}
	if (sim_control_body(req, resp, &c.body) < 0)
		return;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(req->method, routes[i].method) == 0) {
			routes[i].fn(&c);
			json_decref(c.body);
			return;
		}
	}
	if (path_known)
		sim_control_error(resp, 405, "method %s not allowed on %s", req->method, path);
	else
		sim_control_error(resp, 404, "no such control call: %s %s (see docs/sf-sim.md)",
		    req->method, req->path);
	json_decref(c.body);
}
