/* graph_batch.c: JSON batching, POST /v1.0/$batch (see graph_batch.h). The payload is checked as
 * a whole first (a malformed batch is one 400); then every request runs in order through
 * graph_sim_call exactly as it would alone, throttled and counted on its own, and the answers
 * are collected into {"responses":[...]} with status 200.
 *
 * Facts: reference 6.3 (limits, dependsOn, 424, per-item 429 with Retry-After) and the JSON
 * batching page (ids are case-insensitive; url relative, with or without the leading slash;
 * headers with Content-Type whenever there is a body). Texts marked UNVERIFIED are our best
 * guess where no capture of Graph's answer was found. */
#include "graph_batch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "form.h"
#include "graph_control.h"
#include "graph_throttle.h"
#include "log.h"
#include "xmalloc.h"

#define BATCH_MAX_REQUESTS	20
#define BATCH_MAX_METHOD	16

/* Graph's own Content-Type on JSON answers, as batch responses show it (reference 6.3). */
#define JSON_CONTENT_TYPE "application/json;odata.metadata=minimal;odata.streaming=true;" \
    "IEEE754Compatible=false;charset=utf-8"

/* One request of the batch; the strings and values are borrowed from the request body. */
struct item {
	const char *id;
	char method[BATCH_MAX_METHOD];
	const char *url;
	json_t *headers;		/* object or NULL */
	json_t *body;			/* NULL when absent */
	json_t *depends;		/* array of earlier ids, or NULL */
	int status;			/* once run */
};

/* Observed: 400 BadRequest "Number of requests inside batch exceed the limit." (a 2024 capture
 * in vgrem/office365-rest-python-client#835; a 2019 one says "exceeds"). */
static const char too_many_msg[] = "Number of requests inside batch exceed the limit.";
/* UNVERIFIED: the text for a payload that is not {"requests":[...]} of well-formed requests. */
static const char invalid_msg[] = "Invalid batch payload format.";

static int
is_2xx(int status)
{
	return status >= 200 && status < 300;
}

/* The member of headers called name, case-insensitively, as a string, or NULL. */
static const char *
item_header(const struct item *it, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach(it->headers, key, v) {
		if (strcasecmp(key, name) == 0 && json_is_string(v))
			return json_string_value(v);
	}
	return NULL;
}

/* Index of the item called id (case-insensitive) among items[0..n-1], or -1. */
static int
item_index(const struct item *items, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(items[i].id, id) == 0)
			return i;
	return -1;
}

/* Reads and checks one request of the payload into it. -1 with reply filled. */
static int
parse_item(json_t *obj, struct item *it, const struct graph_req *req,
    struct graph_reply *reply)
{
	json_t *id = json_object_get(obj, "id"), *method = json_object_get(obj, "method");
	json_t *url = json_object_get(obj, "url"), *headers = json_object_get(obj, "headers");
	json_t *depends = json_object_get(obj, "dependsOn");
	const char *m;
	size_t n;

	memset(it, 0, sizeof(*it));
	if (!json_is_object(obj) || !json_is_string(id) || json_string_length(id) == 0 ||
	    !json_is_string(method) || !json_is_string(url) || json_string_length(url) == 0 ||
	    (headers != NULL && !json_is_null(headers) && !json_is_object(headers)) ||
	    (depends != NULL && !json_is_null(depends) && !json_is_array(depends))) {
		graph_reply_error(reply, req, 400, "BadRequest", "%s", invalid_msg);
		return -1;
	}
	it->id = json_string_value(id);
	it->url = json_string_value(url);
	it->headers = json_is_object(headers) ? headers : NULL;
	it->body = json_object_get(obj, "body");
	if (json_is_null(it->body))
		it->body = NULL;
	it->depends = json_is_array(depends) ? depends : NULL;
	m = json_string_value(method);
	n = strlen(m);
	if (n == 0 || n >= sizeof(it->method)) {
		graph_reply_error(reply, req, 400, "BadRequest", "%s", invalid_msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalpha((unsigned char)m[i])) {
			graph_reply_error(reply, req, 400, "BadRequest", "%s", invalid_msg);
			return -1;
		}
		it->method[i] = (char)toupper((unsigned char)m[i]);
	}
	/* Relative urls only: an absolute one names another service (UNVERIFIED text). */
	if (strstr(it->url, "://") != NULL) {
		graph_reply_error(reply, req, 400, "BadRequest", "Invalid request URI for request "
		    "Id %s: the url of a batched request must be relative.", it->id);
		return -1;
	}
	/* The JSON batching page: headers are required with a body and must carry Content-Type
	 * (UNVERIFIED text). */
	if (it->body != NULL && item_header(it, "Content-Type") == NULL) {
		graph_reply_error(reply, req, 400, "BadRequest", "Content-Type header must be "
		    "specified for request Id %s because it has a body.", it->id);
		return -1;
	}
	return 0;
}

/* Checks ids and dependencies across the payload: ids unique (case-insensitive, observed:
 * "Request Id A has to be unique in a batch." in microsoft-graph-docs#4449), and each
 * dependsOn naming an earlier request ("Invalid dependency for request Id ..." observed in
 * msgraph-sdk-dotnet-core#891; the rest of that text is ours). */
static int
check_items(const struct item *items, int n, const struct graph_req *req,
    struct graph_reply *reply)
{
	for (int i = 0; i < n; i++) {
		size_t k;
		json_t *d;

		if (item_index(items, i, items[i].id) >= 0) {
			graph_reply_error(reply, req, 400, "BadRequest", "Request Id %s has to be "
			    "unique in a batch.", items[i].id);
			return -1;
		}
		json_array_foreach(items[i].depends, k, d) {
			if (json_is_string(d) && item_index(items, i, json_string_value(d)) >= 0)
				continue;
			graph_reply_error(reply, req, 400, "BadRequest", "Invalid dependency for "
			    "request Id %s: dependsOn must name an earlier request in the batch.",
			    items[i].id);
			return -1;
		}
	}
	return 0;
}

/* The decoded path of url (with a leading '/', and without a "/v1.0" prefix, which the JS
 * client's BatchRequestContent sends for absolute request urls) and its decoded query
 * parameters. Caller frees with form_free and free(). */
static char *
parse_url(const char *url, struct httpd_param *params, int *nparams)
{
	const char *p = url;
	char *raw, *path;

	if (*p == '/')
		p++;
	if (strncasecmp(p, "v1.0/", 5) == 0 || strcasecmp(p, "v1.0") == 0 ||
	    (strncasecmp(p, "v1.0", 4) == 0 && p[4] == '?'))
		p += 4;
	raw = httpd_parse_target(p, params, HTTPD_MAX_PARAMS, nparams);
	path = xasprintf("%s%s", raw[0] == '/' ? "" : "/", raw);
	free(raw);
	return path;
}

/* Runs one request as the caller of the batch; r is filled (caller frees). */
static void
run_item(struct graph_sim *sim, const struct graph_req *outer, const struct item *it,
    struct graph_reply *r)
{
	struct httpd_param params[HTTPD_MAX_PARAMS];
	struct graph_req sub;
	const char *prefer, *crid;
	char mailbox[40], key[80];
	double retry_after = 0;
	int nparams, concurrency = 0;
	char *path;

	memset(r, 0, sizeof(*r));
	memset(&sub, 0, sizeof(sub));
	path = parse_url(it->url, params, &nparams);
	sub.method = it->method;
	sub.path = path;
	sub.query = params;
	sub.nquery = nparams;
	sub.body = it->body;
	snprintf(sub.app_id, sizeof(sub.app_id), "%s", outer->app_id);
	sub.roles = outer->roles;
	sub.scp = outer->scp;
	graph_guid(sub.request_id);
	crid = item_header(it, "client-request-id");
	sub.client_request_id = crid ? crid : outer->client_request_id;
	sub.in_batch = 1;
	if ((prefer = item_header(it, "Prefer")) != NULL)
		graph_req_prefer(&sub, prefer);

	graph_control_count(sim, "batch_items", 1);
	/* Each request is evaluated against the limits on its own (reference 6.3). sim->lock is
	 * held; enter and leave only take the throttle's own lock. */
	graph_throttle_mailbox(sim, sub.path, mailbox);
	if (mailbox[0] != '\0') {
		snprintf(key, sizeof(key), "mailbox:%s", mailbox);
		graph_control_count(sim, key, 1);
		if (graph_throttle_enter(sim, sub.app_id, mailbox, &retry_after,
		    &concurrency) < 0) {
			graph_control_count(sim, "throttled", 1);
			graph_throttle_reply(&sub, r, retry_after, concurrency);
			goto out;
		}
		graph_sim_call(sim, &sub, r);
		graph_throttle_leave(sim, sub.app_id, mailbox);
	} else {
		graph_sim_call(sim, &sub, r);
	}
out:
	form_free(params, nparams);
	free(path);
}

/* {"id","status","headers","body"} for one answer. */
static json_t *
response_of(const char *id, struct graph_reply *r)
{
	json_t *headers = json_object(), *out;

	out = json_pack("{s:s,s:i}", "id", id, "status", r->status ? r->status : 500);
	for (int i = 0; i < r->nheaders; i++)
		json_object_set_new(headers, r->headers[i].name, json_string(r->headers[i].value));
	json_object_set_new(headers, "Cache-Control", json_string("no-cache"));
	if (r->body != NULL) {
		json_object_set_new(headers, "OData-Version", json_string("4.0"));
		json_object_set_new(headers, "Content-Type", json_string(JSON_CONTENT_TYPE));
		json_object_set(out, "body", r->body);
	} else if (r->text != NULL) {
		/* A body that is not JSON travels base64-encoded (JSON batching page). */
		char *enc = b64_encode(r->text, strlen(r->text));

		json_object_set_new(headers, "Content-Type", json_string("text/plain"));
		json_object_set_new(out, "body", json_string(enc));
		free(enc);
	}
	json_object_set_new(out, "headers", headers);
	return out;
}

/* The answer of a request whose dependency failed (UNVERIFIED code and text; the status is
 * documented). */
static json_t *
failed_dependency(const struct graph_req *outer, const char *id)
{
	struct graph_reply r;
	json_t *out;

	memset(&r, 0, sizeof(r));
	graph_reply_error(&r, outer, 424, "FailedDependency", "The request was not run because a "
	    "request it depends on failed.");
	out = response_of(id, &r);
	graph_reply_free(&r);
	return out;
}

void
graph_batch_call(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply)
{
	struct item items[BATCH_MAX_REQUESTS];
	json_t *requests, *responses = NULL;
	size_t n, i;

	if (strcmp(req->method, "POST") != 0) {
		/* UNVERIFIED text. */
		graph_reply_error(reply, req, 405, "BadRequest", "The HTTP method '%s' is not "
		    "allowed for $batch; use POST.", req->method);
		return;
	}
	requests = json_object_get(req->body, "requests");
	if (req->body_invalid || !json_is_array(requests) || json_array_size(requests) == 0) {
		graph_reply_error(reply, req, 400, "BadRequest", "%s", invalid_msg);
		return;
	}
	n = json_array_size(requests);
	if (n > BATCH_MAX_REQUESTS) {
		graph_reply_error(reply, req, 400, "BadRequest", "%s", too_many_msg);
		return;
	}
	for (i = 0; i < n; i++)
		if (parse_item(json_array_get(requests, i), &items[i], req, reply) < 0)
			return;
	if (check_items(items, (int)n, req, reply) < 0)
		return;

	/* In payload order: every dependency is earlier, so it has run. */
	responses = json_array();
	for (i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct graph_reply r;
		int failed = 0;
		size_t k;
		json_t *d;

		json_array_foreach(it->depends, k, d) {
			int j = item_index(items, (int)i, json_string_value(d));

			if (!is_2xx(items[j].status))
				failed = 1;
		}
		if (failed) {
			it->status = 424;
			json_array_append_new(responses, failed_dependency(req, it->id));
			continue;
		}
		run_item(sim, req, it, &r);
		it->status = r.status ? r.status : 500;
		json_array_append_new(responses, response_of(it->id, &r));
		graph_reply_free(&r);
	}
	log_debug("graph-batch: ran requests=%zu app=%s", n, req->app_id);
	graph_reply_json(reply, 200, json_pack("{s:o}", "responses", responses));
}
