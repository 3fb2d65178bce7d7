/* sf_sim.c: sf-sim's HTTP entry point and state: authentication, API-call accounting and the
 * daily limit, scripted faults, then routing to the resource modules (see sf_sim.h). */
#include "sf_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "sf_auth.h"
#include "sf_composite.h"
#include "sf_control.h"
#include "sf_rest.h"
#include "sim_setting.h"
#include "xmalloc.h"

static const struct {
	const char *key;
	long dflt;
} setting_defaults[] = {
	{ "daily_api_limit", SF_DEFAULT_DAILY_LIMIT },
	{ "token_ttl_sec", 7200 },
	{ "enhanced_email", 1 },
	{ "lead_duplicate_rule", 0 },
	{ "contact_duplicate_rule", 0 },
	{ "duplicate_rule_blocks", 0 },
	{ "query_batch_size", 2000 },
};

static long
setting(struct sf_sim *sim, const char *key, long dflt)
{
	char buf[512];

	if (sim_setting_get(sim->store.db, "sim_setting", key, buf, sizeof(buf)) == NULL)
		return dflt;
	return atol(buf);
}

void
sf_sim_load_settings(struct sf_sim *sim)
{
	long v[sizeof(setting_defaults) / sizeof(setting_defaults[0])] = { 0 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		v[i] = setting(sim, setting_defaults[i].key, setting_defaults[i].dflt);
	sim->settings.daily_api_limit = v[0];
	sim->settings.token_ttl_sec = v[1];
	sim->settings.enhanced_email = (int)v[2];
	sim->settings.lead_duplicate_rule = (int)v[3];
	sim->settings.contact_duplicate_rule = (int)v[4];
	sim->settings.duplicate_rule_blocks = (int)v[5];
	sim->settings.query_batch_size = (int)v[6];
}

int
sf_sim_save_setting(struct sf_sim *sim, const char *key, const char *value)
{
	int rc = sim_setting_put(sim->store.db, "sim_setting", key, value);

	sf_sim_load_settings(sim);
	return rc;
}

int
sf_sim_init(struct sf_sim *sim, const char *schema_path, const char *db_path, char *err,
    size_t errlen)
{
	memset(sim, 0, sizeof(*sim));
	if (sf_schema_load(&sim->schema, schema_path, err, errlen) < 0)
		return -1;
	if (sf_store_open(&sim->store, db_path, &sim->schema, err, errlen) < 0) {
		sf_schema_free(&sim->schema);
		return -1;
	}
	sf_sim_load_settings(sim);
	/* The org id is fixed so tokens and identity URLs stay stable across restarts. */
	snprintf(sim->org_id, sizeof(sim->org_id), "00D5g000004SimOEAS");
	snprintf(sim->base_url, sizeof(sim->base_url), "http://127.0.0.1");
	pthread_mutex_init(&sim->lock, NULL);
	return 0;
}

void
sf_sim_free(struct sf_sim *sim)
{
	sf_store_close(&sim->store);
	sf_schema_free(&sim->schema);
	pthread_mutex_destroy(&sim->lock);
}

long
sf_sim_api_used(struct sf_sim *sim)
{
	sqlite3_stmt *st = db_prepare(sim->store.db,
	    "SELECT coalesce(sum(n), 0) FROM sim_api_usage WHERE minute > ?");
	long used = 0;

	sqlite3_bind_int64(st, 1, (long long)(time(NULL) / 60 - 24 * 60));
	if (sqlite3_step(st) == SQLITE_ROW)
		used = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return used;
}

void
sf_sim_api_count(struct sf_sim *sim, int calls)
{
	sqlite3_stmt *st;

	if (calls <= 0)
		return;
	st = db_prepare(sim->store.db, "INSERT INTO sim_api_usage (minute, n) VALUES (?, ?) "
	    "ON CONFLICT (minute) DO UPDATE SET n = n + excluded.n");
	sqlite3_bind_int64(st, 1, (long long)(time(NULL) / 60));
	sqlite3_bind_int(st, 2, calls);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("sf-sim: cannot count an API call reason=\"%s\"",
		    sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
}

void
sf_reply_error(struct sf_reply *reply, const struct sf_error *err)
{
	json_decref(reply->body);
	reply->status = err->status ? err->status : 400;
	reply->body = sf_error_body(err);
}

void
sf_reply_method_not_allowed(struct sf_reply *reply, const char *method, const char *allowed)
{
	struct sf_error err;

	sf_error_set(&err, 405, "METHOD_NOT_ALLOWED",
	    "HTTP Method '%s' not allowed. Allowed are %s", method, allowed);
	sf_reply_error(reply, &err);
}

void
sf_reply_json(struct sf_reply *reply, int status, json_t *body)
{
	json_decref(reply->body);
	reply->status = status;
	reply->body = body;
}

void
sf_reply_free(struct sf_reply *reply)
{
	json_decref(reply->body);
	reply->body = NULL;
}

const char *
sf_sim_split_version(const char *path, struct sf_call *call)
{
	const char *p;
	int major, minor, n = 0;

	if (strncmp(path, "/services/data/v", 16) != 0)
		return NULL;
	p = path + 16;
	if (sscanf(p, "%d.%d%n", &major, &minor, &n) != 2 || n == 0 || n > 6)
		return NULL;
	if (p[n] != '\0' && p[n] != '/')
		return NULL;
	snprintf(call->version, sizeof(call->version), "%d.%d", major, minor);
	call->api_major = major;
	return p + n;
}

const char *
sf_call_param(const struct sf_call *call, const char *name)
{
	for (int i = 0; i < call->nquery; i++)
		if (strcmp(call->query[i].name, name) == 0)
			return call->query[i].value;
	return NULL;
}

static void
respond_error(struct httpd_response *resp, const struct sf_error *err)
{
	httpd_respond_json(resp, err->status, sf_error_body(err));
}

static void
limit_header(struct sf_sim *sim, struct httpd_response *resp)
{
	char v[64];

	snprintf(v, sizeof(v), "api-usage=%ld/%ld", sf_sim_api_used(sim),
	    sim->settings.daily_api_limit);
	httpd_response_header(resp, "Sforce-Limit-Info", v);
}

/* Salesforce answers "Versions" with every version this instance serves. */
static void
versions(struct httpd_response *resp)
{
	static const char *const labels[] = {
		"Spring '19", "Summer '19", "Winter '20", "Spring '20", "Summer '20", "Winter '21",
		"Spring '21", "Summer '21", "Winter '22", "Spring '22", "Summer '22", "Winter '23",
		"Spring '23", "Summer '23", "Winter '24", "Spring '24", "Summer '24", "Winter '25",
	};
	json_t *a = json_array();

	for (int v = SF_API_MIN; v <= SF_API_MAX; v++) {
		json_t *o = json_object();

		json_object_set_new(o, "label", json_string(labels[v - SF_API_MIN]));
		json_object_set_new(o, "url", json_sprintf("/services/data/v%d.0", v));
		json_object_set_new(o, "version", json_sprintf("%d.0", v));
		json_array_append_new(a, o);
	}
	httpd_respond_json(resp, 200, a);
}

static void
data_call(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp,
    const char *method)
{
	struct sf_call call;
	struct sf_reply reply;
	struct sf_error err;
	json_error_t jerr;
	json_t *body = NULL;
	const char *pretty;

	memset(&call, 0, sizeof(call));
	memset(&reply, 0, sizeof(reply));
	if (sf_sim_split_version(req->path, &call) == NULL || call.api_major < SF_API_MIN ||
	    call.api_major > SF_API_MAX || strcmp(call.version + strlen(call.version) - 2, ".0") != 0) {
		sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
		respond_error(resp, &err);
		return;
	}
	if (sf_auth_check(sim, httpd_header(req, "Authorization"), call.user_id, &err) < 0) {
		respond_error(resp, &err);
		return;
	}
	if (sf_sim_api_used(sim) >= sim->settings.daily_api_limit) {
		sf_error_set(&err, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
		respond_error(resp, &err);
		limit_header(sim, resp);
		return;
	}
	if (req->body_len > 0) {
		body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
		if (body == NULL) {
			sf_error_set(&err, 400, "JSON_PARSER_ERROR", "%s at [line:%d, column:%d]",
			    jerr.text, jerr.line, jerr.column);
			respond_error(resp, &err);
			sf_sim_api_count(sim, 1);
			limit_header(sim, resp);
			return;
		}
	}
	call.method = method;
	call.path = req->path;
	call.query = req->query;
	call.nquery = req->nquery;
	call.body = body;
	call.raw_body = req->body;
	call.dup_rule_header = httpd_header(req, "Sforce-Duplicate-Rule-Header");
	call.query_options = httpd_header(req, "Sforce-Query-Options");
	reply.api_calls = 1;
	sf_sim_call(sim, &call, &reply);
	json_decref(body);
	sf_sim_api_count(sim, reply.api_calls);
	pretty = httpd_header(req, "X-PrettyPrint");
	if (reply.body != NULL) {
		char *text = json_dumps(reply.body, JSON_ENCODE_ANY |
		    (pretty && strcmp(pretty, "1") == 0 ? JSON_INDENT(4) : JSON_COMPACT));

		httpd_respond_text(resp, reply.status, "application/json;charset=UTF-8", text);
		free(text);
	} else {
		httpd_respond_empty(resp, reply.status);
	}
	if (reply.location[0] != '\0')
		httpd_response_header(resp, "Location", reply.location);
	limit_header(sim, resp);
	sf_reply_free(&reply);
}

static void
fault_response(struct httpd_response *resp, const struct sf_fault *f)
{
	struct sf_error err;

	if (f->html) {
		char page[512];

		snprintf(page, sizeof(page), "<html><head><title>%d %s</title></head><body>"
		    "<h1>%s</h1><p>%s</p></body></html>\n", f->status,
		    f->error_code[0] ? f->error_code : "Error", f->error_code,
		    f->message[0] ? f->message : "Service Unavailable");
		httpd_respond_text(resp, f->status, "text/html;charset=UTF-8", page);
		return;
	}
	sf_error_set(&err, f->status, f->error_code[0] ? f->error_code : "SERVER_UNAVAILABLE",
	    "%s", f->message[0] ? f->message : "Server Unavailable");
	if (strcmp(err.code, "UNABLE_TO_LOCK_ROW") == 0)
		err.nfields = 0;	/* Salesforce sends "fields":[] with this one */
	respond_error(resp, &err);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

void
sf_sim_handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct sf_sim *sim = arg;
	struct sf_fault fault;
	const char *method = req->method;
	const char *override = httpd_query(req, "_HttpMethod");
	int faulted = 0;

	/* POST ...?_HttpMethod=PATCH, for clients that cannot send PATCH. */
	if (override != NULL && strcmp(method, "POST") == 0)
		method = override;
	pthread_mutex_lock(&sim->lock);
	if (strncmp(req->path, "/_sim/", 6) == 0 || strcmp(req->path, "/_sim") == 0) {
		sf_control_handle(sim, req, resp);
		pthread_mutex_unlock(&sim->lock);
		return;
	}
	sf_control_count_route(sim, method, req->path);
	faulted = sf_control_fault_take(sim, method, req->path, &fault);
	if (faulted && !fault.after_commit) {
		pthread_mutex_unlock(&sim->lock);
		if (fault.delay_ms > 0)
			sleep_ms(fault.delay_ms);
		if (fault.drop)
			resp->drop = 1;
		else if (fault.status > 0)
			fault_response(resp, &fault);
		else
			faulted = 0;	/* a pure delay: now serve the request */
		if (faulted)
			return;
		pthread_mutex_lock(&sim->lock);
	}
	if (strcmp(req->path, "/services/oauth2/token") == 0) {
		if (strcmp(method, "POST") == 0)
			sf_auth_token(sim, req, resp);
		else
			httpd_respond_json(resp, 405, json_pack("{s:s,s:s}", "error",
			    "invalid_request", "error_description", "must use HTTP POST"));
	} else if (strcmp(req->path, "/services/oauth2/revoke") == 0) {
		sf_auth_revoke(sim, req, resp);
	} else if (strncmp(req->path, "/id/", 4) == 0) {
		sf_auth_identity(sim, req, resp);
	} else if (strcmp(req->path, "/services/data") == 0 ||
	    strcmp(req->path, "/services/data/") == 0) {
		versions(resp);
	} else if (strncmp(req->path, "/services/data/", 15) == 0) {
		data_call(sim, req, resp, method);
	} else {
		struct sf_error err;

		sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
		respond_error(resp, &err);
	}
	pthread_mutex_unlock(&sim->lock);
	if (faulted && fault.after_commit) {
		/* The work is done and committed; the client just never hears about it. */
		if (fault.delay_ms > 0)
			sleep_ms(fault.delay_ms);
		if (fault.drop) {
			resp->drop = 1;
		} else if (fault.status > 0) {
			httpd_response_clear(resp);
			fault_response(resp, &fault);
		}
	}
}

void
sf_sim_call(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	const char *rest = sf_sim_split_version(call->path, call);
	struct sf_error err;

	reply->status = 0;
	if (rest == NULL || call->api_major < SF_API_MIN || call->api_major > SF_API_MAX) {
		sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
		sf_reply_error(reply, &err);
		return;
	}
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(call->method, "GET") != 0)
			sf_reply_method_not_allowed(reply, call->method, "GET,HEAD");
		else
			sf_rest_root(sim, call, reply);
	} else if (strcmp(rest, "/limits") == 0 || strcmp(rest, "/limits/") == 0) {
		if (strcmp(call->method, "GET") != 0)
			sf_reply_method_not_allowed(reply, call->method, "GET,HEAD");
		else
			sf_rest_limits(sim, call, reply);
	} else if (strncmp(rest, "/query", 6) == 0 && (rest[6] == '\0' || rest[6] == '/' ||
	    strncmp(rest + 6, "All", 3) == 0)) {
		if (strcmp(call->method, "GET") != 0)
			sf_reply_method_not_allowed(reply, call->method, "GET,HEAD");
		else
			sf_rest_query(sim, call, rest, reply);
	} else if (strncmp(rest, "/sobjects", 9) == 0 && (rest[9] == '\0' || rest[9] == '/')) {
		sf_rest_sobjects(sim, call, rest + 9, reply);
	} else if (strncmp(rest, "/composite", 10) == 0 && (rest[10] == '\0' || rest[10] == '/')) {
		sf_composite_call(sim, call, rest, reply);
	} else {
		sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
		sf_reply_error(reply, &err);
	}
}
