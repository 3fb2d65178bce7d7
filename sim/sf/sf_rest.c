/* sf_rest.c: versions root, limits, query with locators, and the sObject resources (see
 * sf_rest.h). */
#include "sf_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "db.h"
#include "sf_dml.h"
#include "sf_id.h"
#include "sf_soql.h"
#include "xmalloc.h"

static void
reply_error(struct sf_reply *reply, int status, const char *code, const char *message)
{
	struct sf_error err;

	sf_error_set(&err, status, code, "%s", message);
	sf_reply_error(reply, &err);
}

void
sf_rest_root(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	static const char *const resources[] = {
		"tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs",
		"appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics",
		"search", "identity", "composite", "parameterizedSearch", "fingerprint", "theme",
		"nouns", "domino", "event", "serviceTemplates", "recent", "connect", "licensing",
		"limits", "process", "async-queries", "query", "match", "emailConnect",
		"compactLayouts", "knowledgeManagement", "sobjects", "actions", "support",
	};
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		if (strcmp(resources[i], "identity") == 0)
			json_object_set_new(o, "identity", json_sprintf("%s/id/%s/%s", sim->base_url,
			    sim->org_id, call->user_id));
		else
			json_object_set_new(o, resources[i], json_sprintf("/services/data/v%s/%s",
			    call->version, resources[i]));
	}
	sf_reply_json(reply, 200, o);
}

void
sf_rest_limits(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	long max = sim->settings.daily_api_limit, used = sf_sim_api_used(sim);
	json_t *o;

	(void)call;
	/* The call asking counts too: Remaining is after it, as on Salesforce. */
	used += 1;
	o = json_pack("{s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},"
	    "s:{s:i,s:i},s:{s:i,s:i}}",
	    "ConcurrentAsyncGetReportInstances", "Max", 200, "Remaining", 200,
	    "ConcurrentSyncReportRuns", "Max", 20, "Remaining", 20,
	    "DailyApiRequests", "Max", (json_int_t)max, "Remaining",
	    (json_int_t)(used > max ? 0 : max - used),
	    "DailyAsyncApexExecutions", "Max", 250000, "Remaining", 250000,
	    "DailyBulkApiBatches", "Max", 15000, "Remaining", 15000,
	    "DataStorageMB", "Max", 1024, "Remaining", 1024,
	    "SingleEmail", "Max", 5000, "Remaining", 5000);
	sf_reply_json(reply, 200, o);
}

/* Sforce-Query-Options: batchSize=N, 200..2000, a hint (reference section 2). */
static long
batch_size(struct sf_sim *sim, const struct sf_call *call)
{
	const char *p = call->query_options ? strcasestr(call->query_options, "batchSize=") : NULL;
	long n = sim->settings.query_batch_size > 0 ? sim->settings.query_batch_size : 2000;

	if (p != NULL) {
		n = atol(p + 10);
		if (n < 200)
			n = 200;
		if (n > 2000)
			n = 2000;
	}
	return n;
}

static void
query_page(struct sf_sim *sim, struct sf_call *call, const char *soql, int all_rows,
    long offset, long batch, const char *locator, struct sf_reply *reply)
{
	struct sf_soql_opts opts;
	struct sf_soql_result res;
	struct sf_error err;
	json_t *o;

	memset(&opts, 0, sizeof(opts));
	memset(&res, 0, sizeof(res));
	opts.all_rows = all_rows;
	opts.api_version = call->version;
	opts.offset = offset;
	opts.batch_size = batch;
	if (sf_soql_run(sim->store.db, &sim->schema, soql, &opts, &res, &err) < 0) {
		sf_reply_error(reply, &err);
		return;
	}
	o = json_object();
	json_object_set_new(o, "totalSize", json_integer(res.total_size));
	json_object_set_new(o, "done", json_boolean(res.done));
	if (!res.done) {
		char id[19];
		sqlite3_stmt *st;

		if (locator == NULL) {
			/* A query locator: "01g" id plus the offset, as Salesforce shows them. */
			char *rnd = crypto_random_token(12);

			memcpy(id, "01g", 3);
			for (int i = 0; i < 12; i++)
				id[3 + i] = rnd[i];
			sf_id_suffix(id, id + 15);
			id[18] = '\0';
			free(rnd);
			st = db_prepare(sim->store.db, "INSERT INTO sim_locator (id, soql, all_rows, "
			    "version, next_offset, batch_size, created) VALUES (?, ?, ?, ?, ?, ?, ?)");
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, soql, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, all_rows);
			sqlite3_bind_text(st, 4, call->version, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, res.next_offset);
			sqlite3_bind_int64(st, 6, batch);
			sqlite3_bind_int64(st, 7, (long long)time(NULL));
			sqlite3_step(st);
			sqlite3_finalize(st);
			locator = id;
		}
		/* queryAll's locator still says /query/ (reference section 2). */
		json_object_set_new(o, "nextRecordsUrl", json_sprintf("/services/data/v%s/query/%s-%ld",
		    call->version, locator, res.next_offset));
	}
	json_object_set_new(o, "records", res.records);
	res.records = NULL;
	sf_soql_result_free(&res);
	sf_reply_json(reply, 200, o);
}

void
sf_rest_query(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply)
{
	int all_rows = strncmp(rest, "/queryAll", 9) == 0;
	const char *tail = rest + (all_rows ? 9 : 6);
	const char *q = sf_call_param(call, "q");

	if (*tail == '\0' || strcmp(tail, "/") == 0) {
		if (q == NULL || *q == '\0') {
			reply_error(reply, 400, "MALFORMED_QUERY", "A query string has to be specified");
			return;
		}
		query_page(sim, call, q, all_rows, 0, batch_size(sim, call), NULL, reply);
		return;
	}
	/* /query/{locator}-{offset} */
	{
		char locator[32];
		const char *dash = strrchr(tail + 1, '-');
		sqlite3_stmt *st;
		long offset;

		if (dash == NULL || (size_t)(dash - (tail + 1)) >= sizeof(locator)) {
			reply_error(reply, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
			return;
		}
		memcpy(locator, tail + 1, (size_t)(dash - (tail + 1)));
		locator[dash - (tail + 1)] = '\0';
		offset = atol(dash + 1);
		st = db_prepare(sim->store.db, "SELECT soql, all_rows, batch_size FROM sim_locator "
		    "WHERE id = ?");
		sqlite3_bind_text(st, 1, locator, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW || offset <= 0) {
			sqlite3_finalize(st);
			reply_error(reply, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
			return;
		}
		{
			char *soql = xstrdup((const char *)sqlite3_column_text(st, 0));
			int rows_all = sqlite3_column_int(st, 1);
			long batch = (long)sqlite3_column_int64(st, 2);

			sqlite3_finalize(st);
			query_page(sim, call, soql, rows_all, offset, batch, locator, reply);
			free(soql);
		}
	}
}

static json_t *
object_urls(const struct sf_object *obj, const char *version)
{
	return json_pack("{s:o,s:o,s:o}",
	    "sobject", json_sprintf("/services/data/v%s/sobjects/%s", version, obj->name),
	    "describe", json_sprintf("/services/data/v%s/sobjects/%s/describe", version, obj->name),
	    "rowTemplate", json_sprintf("/services/data/v%s/sobjects/%s/{ID}", version, obj->name));
}

static int
is_custom(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, "__c") == 0;
}

static json_t *
object_summary(const struct sf_object *obj, const char *version)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(obj->name));
	json_object_set_new(o, "label", json_string(obj->label));
	json_object_set_new(o, "labelPlural", json_string(obj->label_plural));
	json_object_set_new(o, "keyPrefix", json_string(obj->key_prefix));
	json_object_set_new(o, "custom", json_boolean(is_custom(obj->name)));
	json_object_set_new(o, "createable", json_boolean(obj->createable));
	json_object_set_new(o, "updateable", json_boolean(obj->updateable));
	json_object_set_new(o, "deletable", json_boolean(obj->deletable));
	json_object_set_new(o, "queryable", json_boolean(obj->queryable));
	json_object_set_new(o, "retrieveable", json_true());
	json_object_set_new(o, "searchable", json_true());
	json_object_set_new(o, "layoutable", json_true());
	json_object_set_new(o, "triggerable", json_true());
	json_object_set_new(o, "urls", object_urls(obj, version));
	return o;
}

static const char *
soap_type(enum sf_ftype t)
{
	switch (t) {
	case SF_T_ID: case SF_T_REFERENCE: return "tns:ID";
	case SF_T_BOOLEAN: return "xsd:boolean";
	case SF_T_DATE: return "xsd:date";
	case SF_T_DATETIME: return "xsd:dateTime";
	case SF_T_INT: return "xsd:int";
	case SF_T_DOUBLE: case SF_T_CURRENCY: case SF_T_PERCENT: return "xsd:double";
	case SF_T_JUNCTIONIDLIST: return "tns:JunctionIdListNames";
	default: return "xsd:string";
	}
}

static json_t *
field_describe(const struct sf_field *f)
{
	json_t *o = json_object(), *pl = json_array(), *refs = json_array();

	for (size_t i = 0; i < f->npicklist; i++)
		json_array_append_new(pl, json_pack("{s:b,s:b,s:s,s:s}", "active", 1,
		    "defaultValue", f->default_value && strcmp(f->default_value, f->picklist[i]) == 0,
		    "label", f->picklist[i], "value", f->picklist[i]));
	for (size_t i = 0; i < f->nreference_to; i++)
		json_array_append_new(refs, json_string(f->reference_to[i]));
	json_object_set_new(o, "name", json_string(f->name));
	json_object_set_new(o, "label", json_string(f->label));
	json_object_set_new(o, "type", json_string(sf_ftype_name(f->type)));
	json_object_set_new(o, "soapType", json_string(soap_type(f->type)));
	json_object_set_new(o, "length", json_integer(f->length));
	json_object_set_new(o, "byteLength", json_integer(f->length * 3));
	json_object_set_new(o, "precision", json_integer(f->type == SF_T_CURRENCY ? 18 : 0));
	json_object_set_new(o, "scale", json_integer(f->type == SF_T_CURRENCY ? 2 : 0));
	json_object_set_new(o, "digits", json_integer(f->type == SF_T_INT ? 9 : 0));
	json_object_set_new(o, "nillable", json_boolean(f->nillable));
	json_object_set_new(o, "createable", json_boolean(f->createable));
	json_object_set_new(o, "updateable", json_boolean(f->updateable));
	json_object_set_new(o, "defaultedOnCreate", json_boolean(f->defaulted_on_create));
	json_object_set_new(o, "defaultValue", f->default_value ?
	    json_string(f->default_value) : json_null());
	json_object_set_new(o, "externalId", json_boolean(f->external_id));
	json_object_set_new(o, "unique", json_boolean(f->unique));
	json_object_set_new(o, "caseSensitive", json_boolean(f->case_sensitive));
	json_object_set_new(o, "idLookup", json_boolean(f->id_lookup || f->type == SF_T_ID));
	json_object_set_new(o, "calculated", json_boolean(f->calculated));
	json_object_set_new(o, "custom", json_boolean(is_custom(f->name)));
	json_object_set_new(o, "filterable", json_boolean(f->filterable));
	json_object_set_new(o, "sortable", json_boolean(f->sortable));
	json_object_set_new(o, "groupable", json_boolean(f->sortable));
	json_object_set_new(o, "restrictedPicklist", json_boolean(f->restricted_picklist));
	json_object_set_new(o, "picklistValues", pl);
	json_object_set_new(o, "referenceTo", refs);
	json_object_set_new(o, "relationshipName", f->relationship_name ?
	    json_string(f->relationship_name) : json_null());
	json_object_set_new(o, "polymorphicForeignKey", json_boolean(f->nreference_to > 1));
	return o;
}

json_t *
sf_rest_describe(struct sf_sim *sim, const struct sf_object *obj, const char *version)
{
	json_t *o = object_summary(obj, version), *fields = json_array();

	(void)sim;
	for (size_t i = 0; i < obj->nfields; i++)
		json_array_append_new(fields, field_describe(&obj->fields[i]));
	json_object_set_new(o, "fields", fields);
	json_object_set_new(o, "childRelationships", json_array());
	json_object_set_new(o, "recordTypeInfos", json_array());
	return o;
}

static void
create(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj,
    struct sf_reply *reply)
{
	struct sf_error err;
	char id[19];

	if (call->body == NULL) {
		reply_error(reply, 400, "JSON_PARSER_ERROR", "The request body is empty");
		return;
	}
	if (sf_dml_create(sim, obj, call->body, call, id, &err) < 0) {
		sf_reply_error(reply, &err);
		return;
	}
	sf_reply_json(reply, 201, json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors"));
	/* Salesforce sends Location on a create (/composite shows it in httpHeaders, 4.1). */
	snprintf(reply->location, sizeof(reply->location), "/services/data/v%s/sobjects/%s/%s",
	    call->version, obj->name, id);
}

static void
by_id(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj, const char *id,
    struct sf_reply *reply)
{
	struct sf_error err;
	char id18[19];
	json_t *rec;

	if (strcmp(call->method, "GET") == 0) {
		if (sf_id_normalize(id, id18) < 0 || strncmp(id18, obj->key_prefix, 3) != 0) {
			reply_error(reply, 404, "NOT_FOUND", "The requested resource does not exist");
			return;
		}
		rec = sf_store_get(&sim->store, obj, id18, sf_call_param(call, "fields"), 0,
		    call->version, &err);
		if (rec == NULL && strcmp(err.code, "NOT_FOUND") == 0) {
			/* A deleted record answers ENTITY_IS_DELETED, as PATCH and DELETE do. */
			struct sf_error del;
			char tmp[19];

			if (sf_dml_lookup(sim, id18, tmp, &del) == NULL &&
			    strcmp(del.code, "ENTITY_IS_DELETED") == 0)
				err = del;
		}
		if (rec == NULL)
			sf_reply_error(reply, &err);
		else
			sf_reply_json(reply, 200, rec);
	} else if (strcmp(call->method, "PATCH") == 0) {
		if (call->body == NULL) {
			reply_error(reply, 400, "JSON_PARSER_ERROR", "The request body is empty");
			return;
		}
		if (sf_dml_update(sim, obj, id, call->body, call, &err) < 0)
			sf_reply_error(reply, &err);
		else
			sf_reply_json(reply, 204, NULL);
	} else if (strcmp(call->method, "DELETE") == 0) {
		if (sf_dml_delete(sim, obj, id, call, &err) < 0)
			sf_reply_error(reply, &err);
		else
			sf_reply_json(reply, 204, NULL);
	} else {
		sf_reply_method_not_allowed(reply, call->method, "HEAD,GET,PATCH,DELETE");
	}
}

static void
upsert(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj, const char *ext,
    const char *value, struct sf_reply *reply)
{
	struct sf_error err;
	char id[19];
	json_t *matches = NULL;
	const char *uo = sf_call_param(call, "updateOnly");
	int update_only = call->api_major >= 61 && uo != NULL && strcasecmp(uo, "true") == 0;
	enum sf_upsert r;

	if (call->body == NULL) {
		reply_error(reply, 400, "JSON_PARSER_ERROR", "The request body is empty");
		return;
	}
	r = sf_dml_upsert(sim, obj, ext, value, call->body, update_only, call, id, &matches, &err);
	switch (r) {
	case SF_UPSERT_CREATED:
		/* "created" appears in API 46.0 and later (reference section 3). */
		sf_reply_json(reply, 201, call->api_major >= 46 ?
		    json_pack("{s:s,s:b,s:[],s:b}", "id", id, "success", 1, "errors", "created", 1) :
		    json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors"));
		snprintf(reply->location, sizeof(reply->location), "/services/data/v%s/sobjects/%s/%s",
		    call->version, obj->name, id);
		break;
	case SF_UPSERT_UPDATED:
		if (call->api_major >= 46)
			sf_reply_json(reply, 200, json_pack("{s:s,s:b,s:[],s:b}", "id", id,
			    "success", 1, "errors", "created", 0));
		else
			sf_reply_json(reply, 204, NULL);
		break;
	case SF_UPSERT_MULTIPLE:
		sf_reply_json(reply, 300, matches);
		matches = NULL;
		break;
	default:
		sf_reply_error(reply, &err);
		break;
	}
	json_decref(matches);
}

/* /sobjects/{obj}/{field}/{value}: read, upsert or delete by an external id. */
static void
by_external_id(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj,
    const char *ext, const char *value, struct sf_reply *reply)
{
	const struct sf_field *f = sf_schema_field(obj, ext);
	struct sf_error err;
	char id[19];

	if (strcmp(call->method, "PATCH") == 0) {
		upsert(sim, call, obj, ext, value, reply);
		return;
	}
	if (strcmp(call->method, "POST") == 0 && f != NULL && f->type == SF_T_ID) {
		create(sim, call, obj, reply);	/* POST /sobjects/Obj/Id creates (v37.0+) */
		return;
	}
	if (f == NULL || (!f->external_id && !f->id_lookup)) {
		sf_error_set(&err, 404, "NOT_FOUND", "Provided external ID field does not exist or "
		    "is not accessible: %s", ext);
		sf_reply_error(reply, &err);
		return;
	}
	if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "DELETE") != 0) {
		sf_reply_method_not_allowed(reply, call->method, "HEAD,GET,PATCH,DELETE");
		return;
	}
	{
		char *table = db_quote_ident(obj->name), *col = db_quote_ident(f->name);
		char *sql = xasprintf("SELECT Id FROM %s WHERE %s = ? COLLATE %s AND IsDeleted = 0 "
		    "ORDER BY Id LIMIT 100", table, col, f->case_sensitive ? "BINARY" : "NOCASE");
		sqlite3_stmt *st = db_prepare(sim->store.db, sql);
		json_t *urls = json_array();

		sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(id, sizeof(id), "%s", sqlite3_column_text(st, 0));
			json_array_append_new(urls, json_sprintf("/services/data/v%s/sobjects/%s/%s",
			    call->version, obj->name, id));
		}
		sqlite3_finalize(st);
		free(sql);
		free(col);
		free(table);
		if (json_array_size(urls) == 0) {
			json_decref(urls);
			reply_error(reply, 404, "NOT_FOUND", "The requested resource does not exist");
			return;
		}
		if (json_array_size(urls) > 1) {
			sf_reply_json(reply, 300, urls);
			return;
		}
		json_decref(urls);
	}
	by_id(sim, call, obj, id, reply);
}

static char *
segment(const char **p)
{
	const char *s = *p, *slash;
	char *seg;

	if (*s == '/')
		s++;
	slash = strchr(s, '/');
	seg = xstrndup(s, slash ? (size_t)(slash - s) : strlen(s));
	*p = slash ? slash : s + strlen(s);
	return seg;
}

void
sf_rest_sobjects(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply)
{
	const struct sf_object *obj;
	char *name = NULL, *second = NULL, *third = NULL;
	const char *p = rest;
	struct sf_error err;

	if (*p == '\0' || strcmp(p, "/") == 0) {
		json_t *list;

		if (strcmp(call->method, "GET") != 0) {
			reply_error(reply, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed. "
			    "Allowed are HEAD,GET");
			return;
		}
		list = json_array();
		for (size_t i = 0; i < sim->schema.nobjects; i++)
			json_array_append_new(list, object_summary(&sim->schema.objects[i],
			    call->version));
		sf_reply_json(reply, 200, json_pack("{s:s,s:i,s:o}", "encoding", "UTF-8",
		    "maxBatchSize", 200, "sobjects", list));
		return;
	}
	name = segment(&p);
	obj = sf_schema_object(&sim->schema, name);
	if (obj == NULL) {
		sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
		sf_reply_error(reply, &err);
		goto out;
	}
	if (*p != '\0' && strcmp(p, "/") != 0)
		second = segment(&p);
	if (*p != '\0' && strcmp(p, "/") != 0)
		third = xstrdup(*p == '/' ? p + 1 : p);	/* external id values may hold '/' */
	if (second == NULL) {
		if (strcmp(call->method, "GET") == 0)
			sf_reply_json(reply, 200, json_pack("{s:o,s:[]}", "objectDescribe",
			    object_summary(obj, call->version), "recentItems"));
		else if (strcmp(call->method, "POST") == 0)
			create(sim, call, obj, reply);
		else
			reply_error(reply, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed. "
			    "Allowed are HEAD,GET,POST");
	} else if (third == NULL && strcmp(second, "describe") == 0) {
		if (strcmp(call->method, "GET") == 0)
			sf_reply_json(reply, 200, sf_rest_describe(sim, obj, call->version));
		else
			reply_error(reply, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed. "
			    "Allowed are HEAD,GET");
	} else if (third == NULL) {
		if (strcmp(call->method, "POST") == 0 && strcasecmp(second, "Id") == 0)
			create(sim, call, obj, reply);
		else
			by_id(sim, call, obj, second, reply);
	} else {
		by_external_id(sim, call, obj, second, third, reply);
	}
out:
	free(name);
	free(second);
	free(third);
}
