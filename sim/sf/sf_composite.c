/* sf_composite.c: the composite family (see sf_composite.h). /composite runs dependent
 * subrequests with @{ref} substitution and optional all-or-none rollback; /composite/graph runs
 * several such all-or-none transactions; /composite/batch runs independent subrequests that each
 * count as a call; /composite/sobjects (sObject Collections) writes up to 200 records per call.
 * Every subrequest goes through sf_sim_call, so it behaves exactly as the same request alone.
 *
 * Facts: salesforce-rest-api.md sections 4, 5 and 7. Error texts marked UNVERIFIED below are
 * our best guess where neither the reference nor a captured response gives the wording. */
#include "sf_composite.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "form.h"
#include "log.h"
#include "sf_control.h"
#include "sf_dml.h"
#include "sf_id.h"
#include "xmalloc.h"

#define COMPOSITE_MAX_SUBREQUESTS	25	/* /composite */
#define COMPOSITE_MAX_QUERIES		5	/* of which query/queryAll/collections */
#define BATCH_MAX_SUBREQUESTS		25
#define COLLECTION_MAX_RECORDS		200	/* create, update, upsert, delete */
#define COLLECTION_MAX_RETRIEVE		2000	/* ids in one retrieve */
#define COLLECTION_MAX_CHUNKS		10	/* runs of one type in one create/update */
#define GRAPH_MAX_GRAPHS		75
#define GRAPH_MAX_NODES			500	/* per graph and per payload */
#define GRAPH_MAX_FAILURES		14	/* later graphs are not run */
#define GRAPH_MIN_VERSION		50
#define BATCH_MIN_VERSION		34
#define UPSERT_COLLECTION_MIN_VERSION	46
#define REFID_STRICT_VERSION		52	/* illegal referenceId fails the whole request */
#define REF_NULL_VERSION		52	/* references to null fields resolve */

/* UNVERIFIED: Salesforce's code and text for a malformed or over-limit composite payload were
 * not found in any capture (reference 4.1); INVALID_INPUT with a plain message. */
#define INPUT_ERROR "INVALID_INPUT"

#define SP_COMPOSITE "sf_composite"
#define SP_COLLECTION "sf_collection"

static const char rolled_back_msg[] =
    "The transaction was rolled back since another operation in the same transaction failed.";

/* One subrequest of /composite or of a graph, while the request runs. */
struct node {
	const char *ref;		/* referenceId, borrowed from the request body */
	int status;			/* httpStatusCode; 0 while not run */
	json_t *body;			/* its answer (owned), NULL for none */
	char location[256];
	int failed;			/* an error for allOrNone and for references to it */
};

static void input_error(struct sf_reply *reply, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
input_error(struct sf_reply *reply, const char *fmt, ...)
{
	struct sf_error err;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sf_error_set(&err, 400, INPUT_ERROR, "%s", msg);
	sf_reply_error(reply, &err);
}

static void
not_found(struct sf_reply *reply)
{
	struct sf_error err;

	sf_error_set(&err, 404, "NOT_FOUND", "The requested resource does not exist");
	sf_reply_error(reply, &err);
}

static json_t *
error_body(int status, const char *code, const char *msg)
{
	struct sf_error err;

	sf_error_set(&err, status, code, "%s", msg);
	return sf_error_body(&err);
}

/* Optional boolean member: 0/1, dflt when absent, -1 when of another type. */
static int
opt_bool(json_t *obj, const char *key, int dflt)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return dflt;
	if (!json_is_boolean(v))
		return -1;
	return json_is_true(v);
}

/*
 * Running one subrequest.
 */

/* The path after "/services/data/vXX.X" of a subrequest url, or NULL. Only for classifying
 * the url before it runs (the real parse happens in run_sub). */
static const char *
url_rest(const char *url)
{
	struct sf_call tmp;

	memset(&tmp, 0, sizeof(tmp));
	return sf_sim_split_version(url, &tmp);
}

static int
has_prefix_seg(const char *rest, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(rest, prefix, n) == 0 &&
	    (rest[n] == '\0' || rest[n] == '/' || rest[n] == '?');
}

/* Runs method url (a full "/services/data/vXX.X/..." path with its query) with body as a
 * subrequest of parent; r is filled (caller frees with sf_reply_free). headers may carry
 * httpHeaders of a /composite subrequest. */
static void
run_sub(struct sf_sim *sim, const struct sf_call *parent, const char *method, const char *url,
    json_t *body, json_t *headers, int min_major, struct sf_reply *r)
{
	struct httpd_param params[HTTPD_MAX_PARAMS];
	struct sf_call sub;
	const char *name;
	json_t *v;
	char *path;
	int nparams;

	memset(r, 0, sizeof(*r));
	memset(&sub, 0, sizeof(sub));
	path = httpd_parse_target(url, params, HTTPD_MAX_PARAMS, &nparams);
	sub.method = method;
	sub.path = path;
	sub.query = params;
	sub.nquery = nparams;
	sub.body = json_is_null(body) ? NULL : body;
	snprintf(sub.user_id, sizeof(sub.user_id), "%s", parent->user_id);
	sub.dup_rule_header = parent->dup_rule_header;
	sub.query_options = parent->query_options;
	json_object_foreach(headers, name, v) {
		if (!json_is_string(v))
			continue;
		if (strcasecmp(name, "Sforce-Duplicate-Rule-Header") == 0)
			sub.dup_rule_header = json_string_value(v);
		else if (strcasecmp(name, "Sforce-Query-Options") == 0)
			sub.query_options = json_string_value(v);
	}
	sub.in_composite = 1;
	if (sf_sim_split_version(path, &sub) == NULL || sub.api_major < SF_API_MIN ||
	    sub.api_major > SF_API_MAX || strcmp(sub.version + strlen(sub.version) - 2, ".0") != 0) {
		/* What the same url answers when sent alone. */
		not_found(r);
	} else if (sub.api_major > parent->api_major || sub.api_major < min_major) {
		/* UNVERIFIED text; the rule itself is documented for batch (reference 4.3) and
		 * graph (4.4), and applied to /composite the same way. */
		input_error(r, "The API version of a subrequest must be between %d.0 and the "
		    "version of the request, %s: %s", min_major, parent->version, url);
	} else {
		struct sf_fault fault;
		int faulted = sf_control_subfault_take(sim, method, path, &fault);

		r->api_calls = 1;
		if (!faulted || fault.after_commit)
			sf_sim_call(sim, &sub, r);
		if (faulted) {
			/* This subrequest alone answers the scripted error (after doing its work
			 * with after_commit); the others of the request run as they would. */
			struct sf_error err;

			sf_reply_free(r);
			memset(r, 0, sizeof(*r));
			r->api_calls = 1;
			sf_error_set(&err, fault.status, fault.error_code[0] ? fault.error_code :
			    "UNKNOWN_EXCEPTION", "%s", fault.message[0] ? fault.message :
			    "An unexpected error occurred.");
			sf_reply_error(r, &err);
		}
	}
	form_free(params, nparams);
	free(path);
}

/*
 * References: @{refId.field}, @{refId.records[0].Id}, nested . and [n], case-sensitive.
 */

static int
valid_refid(const char *s)
{
	if (s == NULL || !isalnum((unsigned char)s[0]))
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* The value expr (the text between "@{" and "}") names in the answers of nodes[0..n-1];
 * borrowed, or NULL when there is none (unknown or failed node, missing key or index). */
static json_t *
ref_value(const struct node *nodes, size_t n, const char *expr, size_t len, int api_major)
{
	const char *p = expr, *end = expr + len;
	const struct node *node = NULL;
	json_t *cur;
	size_t idlen = 0;

	while (p + idlen < end && (isalnum((unsigned char)p[idlen]) || p[idlen] == '_'))
		idlen++;
	if (idlen == 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (nodes[i].ref != NULL && strlen(nodes[i].ref) == idlen &&
		    strncmp(nodes[i].ref, p, idlen) == 0)
			node = &nodes[i];
	if (node == NULL || node->status == 0 || node->failed || node->body == NULL)
		return NULL;
	cur = node->body;
	p += idlen;
	while (p < end) {
		if (*p == '.') {
			const char *s = ++p;
			char key[256];

			while (p < end && *p != '.' && *p != '[')
				p++;
			if (p == s || (size_t)(p - s) >= sizeof(key))
				return NULL;
			memcpy(key, s, (size_t)(p - s));
			key[p - s] = '\0';
			cur = json_object_get(cur, key);
		} else if (*p == '[') {
			char *e;
			unsigned long idx;

			if (p + 1 >= end || !isdigit((unsigned char)p[1]))
				return NULL;
			idx = strtoul(p + 1, &e, 10);
			if (e >= end || *e != ']')
				return NULL;
			p = e + 1;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (cur == NULL)
			return NULL;
	}
	/* v52.0+: a reference to a null field succeeds (reference 4.1). */
	if (json_is_null(cur) && api_major < REF_NULL_VERSION)
		return NULL;
	return cur;
}

/* Appends a scalar reference value to buf as text; -1 for objects and arrays. */
static int
append_scalar(char **buf, size_t *len, json_t *v)
{
	char *text;
	size_t n;

	if (json_is_object(v) || json_is_array(v))
		return -1;
	if (json_is_string(v))
		text = xstrdup(json_string_value(v));
	else
		text = json_dumps(v, JSON_ENCODE_ANY);
	if (text == NULL)
		return -1;
	n = strlen(text);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, text, n + 1);
	*len += n;
	free(text);
	return 0;
}

struct refctx {
	const struct node *nodes;
	size_t n;
	int api_major;
	char bad[256];			/* the expression that did not resolve */
};

/* Substitutes the references in s. A string that is exactly one reference becomes the
 * referenced value itself (a number stays a number); otherwise values are embedded as text.
 * Returns a new reference, or NULL with ctx->bad set. */
static json_t *
subst_string(struct refctx *ctx, const char *s)
{
	const char *p = s, *at, *close;
	char *buf = NULL;
	size_t len = 0;
	json_t *v, *out;

	at = strstr(s, "@{");
	if (at == NULL)
		return json_string(s);
	close = strchr(at + 2, '}');
	if (at == s && close != NULL && close[1] == '\0') {
		v = ref_value(ctx->nodes, ctx->n, s + 2, (size_t)(close - s - 2), ctx->api_major);
		if (v == NULL) {
			snprintf(ctx->bad, sizeof(ctx->bad), "%.*s", (int)(close - s - 2), s + 2);
			return NULL;
		}
		return json_deep_copy(v);
	}
	buf = xstrdup("");
	while ((at = strstr(p, "@{")) != NULL && (close = strchr(at + 2, '}')) != NULL) {
		buf = xrealloc(buf, len + (size_t)(at - p) + 1);
		memcpy(buf + len, p, (size_t)(at - p));
		len += (size_t)(at - p);
		buf[len] = '\0';
		v = ref_value(ctx->nodes, ctx->n, at + 2, (size_t)(close - at - 2),
		    ctx->api_major);
		if (v == NULL || append_scalar(&buf, &len, v) < 0) {
			snprintf(ctx->bad, sizeof(ctx->bad), "%.*s", (int)(close - at - 2), at + 2);
			free(buf);
			return NULL;
		}
		p = close + 1;
	}
	buf = xrealloc(buf, len + strlen(p) + 1);
	memcpy(buf + len, p, strlen(p) + 1);
	out = json_string(buf);
	free(buf);
	return out;
}

/* A copy of v with references substituted in every string value; NULL on a bad reference. */
static json_t *
subst_json(struct refctx *ctx, json_t *v)
{
	const char *key;
	json_t *out, *item, *sub;
	size_t i;

	if (json_is_string(v))
		return subst_string(ctx, json_string_value(v));
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach(v, key, item) {
			if ((sub = subst_json(ctx, item)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, key, sub);
		}
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item) {
			if ((sub = subst_json(ctx, item)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, sub);
		}
		return out;
	}
	return json_incref(v);
}

/* The referenceId an expression names, for the error message. */
static void
expr_refid(const char *expr, char *out, size_t outlen)
{
	size_t n = strcspn(expr, ".[");

	snprintf(out, outlen, "%.*s", (int)n, expr);
}

/*
 * /composite and the graphs: dependent subrequests.
 */

/* An sObject Collections answer with a failed record: inside an allOrNone composite the outer
 * flag wins, so the whole composite rolls back (reference 4.1, allOrNone interaction). */
static int
collection_has_failure(json_t *body)
{
	size_t i;
	json_t *item;

	if (!json_is_array(body))
		return 0;
	json_array_foreach(body, i, item)
		if (json_is_false(json_object_get(item, "success")))
			return 1;
	return 0;
}

/* Graph subrequests may only be sObject, sObject rows and rows by external id (4.4). */
static int
graph_url_allowed(const char *url)
{
	const char *rest = url_rest(url);
	int segs = 0;

	if (rest == NULL || strncmp(rest, "/sobjects/", 10) != 0)
		return 0;
	for (const char *p = rest + 10; *p != '\0' && *p != '?'; p++)
		if (*p == '/')
			segs++;
	return segs <= 2;
}

static json_t *
node_response(const struct node *node, int status, json_t *body)
{
	json_t *o = json_object(), *headers = json_object();

	if (node->location[0] != '\0' && status == node->status)
		json_object_set_new(headers, "Location", json_string(node->location));
	json_object_set_new(o, "body", body ? body : json_null());
	json_object_set_new(o, "httpHeaders", headers);
	json_object_set_new(o, "httpStatusCode", json_integer(status));
	json_object_set_new(o, "referenceId", node->ref ? json_string(node->ref) : json_null());
	return o;
}

/* The url with its references embedded as text; NULL with ctx->bad set when one does not
 * resolve to a scalar. Caller frees. */
static char *
subst_url(struct refctx *ctx, const char *url)
{
	json_t *v = subst_string(ctx, url);
	char *out = NULL;

	if (v == NULL)
		return NULL;
	if (json_is_string(v))
		out = xstrdup(json_string_value(v));
	else if (!json_is_object(v) && !json_is_array(v))
		out = json_dumps(v, JSON_ENCODE_ANY);
	else
		snprintf(ctx->bad, sizeof(ctx->bad), "%.*s", (int)strlen(url) - 3, url + 2);
	json_decref(v);
	return out;
}

/* Substitutes the references of subrequest sub and runs it into node; a reference without a
 * value fails it with PROCESSING_HALTED and it does not run. */
static void
run_node(struct sf_sim *sim, const struct sf_call *call, json_t *sub, struct refctx *ctx,
    struct node *node, int all_or_none, int is_graph)
{
	json_t *body = NULL, *headers = NULL, *jbody, *jheaders;
	const char *rest;
	struct sf_reply r;
	char *url, refid[256], *msg;

	jbody = json_object_get(sub, "body");
	jheaders = json_object_get(sub, "httpHeaders");
	url = subst_url(ctx, json_string_value(json_object_get(sub, "url")));
	if (url != NULL && jbody != NULL)
		body = subst_json(ctx, jbody);
	if (url != NULL && jheaders != NULL)
		headers = subst_json(ctx, jheaders);
	node->failed = 1;
	node->status = 400;
	if (url == NULL || (jbody != NULL && body == NULL) ||
	    (jheaders != NULL && headers == NULL)) {
		/* The text up to "found in <refId>" is captured from real orgs (CumulusCI's
		 * tests, integration logs); the case-sensitivity advice after it is UNVERIFIED. */
		expr_refid(ctx->bad, refid, sizeof(refid));
		msg = xasprintf("Invalid reference specified. No value for %s found in %s. "
		    "Provided referenceId ids are case-sensitive, make sure the referenceId is "
		    "correct.", ctx->bad, refid);
		node->body = error_body(400, "PROCESSING_HALTED", msg);
		free(msg);
		goto out;
	}
	if (is_graph && !graph_url_allowed(url)) {
		/* UNVERIFIED text. */
		node->body = error_body(400, INPUT_ERROR, "Composite graph subrequests support "
		    "only the sObject, sObject rows and sObject rows by external ID resources");
		goto out;
	}
	run_sub(sim, call, json_string_value(json_object_get(sub, "method")), url, body,
	    headers, is_graph ? GRAPH_MIN_VERSION : SF_API_MIN, &r);
	node->status = r.status;
	node->body = r.body;
	snprintf(node->location, sizeof(node->location), "%s", r.location);
	rest = url_rest(url);
	node->failed = r.status >= 300 || (all_or_none && rest != NULL &&
	    has_prefix_seg(rest, "/composite/sobjects") && collection_has_failure(r.body));
out:
	free(url);
	json_decref(body);
	json_decref(headers);
}

/* Runs the subrequests subs (already validated) in order; returns the compositeResponse array
 * and sets *ok when every subrequest succeeded. all_or_none rolls back everything on the first
 * failure; is_graph restricts urls. */
static json_t *
run_nodes(struct sf_sim *sim, const struct sf_call *call, json_t *subs, int all_or_none,
    int is_graph, int *ok)
{
	size_t n = json_array_size(subs), i;
	struct node *nodes = xcalloc(n ? n : 1, sizeof(*nodes));
	json_t *responses = json_array();
	long halted = -1;

	for (i = 0; i < n; i++)
		nodes[i].ref = json_string_value(json_object_get(json_array_get(subs, i),
		    "referenceId"));
	if (all_or_none)
		db_savepoint(sim->store.db, SP_COMPOSITE);
	for (i = 0; i < n && halted < 0; i++) {
		struct refctx ctx = { nodes, i, call->api_major, "" };

		run_node(sim, call, json_array_get(subs, i), &ctx, &nodes[i], all_or_none,
		    is_graph);
		if (nodes[i].failed && all_or_none)
			halted = (long)i;
	}
	if (all_or_none) {
		if (halted >= 0)
			db_rollback_to(sim->store.db, SP_COMPOSITE);
		else
			db_release(sim->store.db, SP_COMPOSITE);
	}
	*ok = 1;
	for (i = 0; i < n; i++) {
		if (nodes[i].failed)
			*ok = 0;
		if (halted >= 0 && (long)i != halted) {
			*ok = 0;
			json_array_append_new(responses, node_response(&nodes[i], 400,
			    error_body(400, "PROCESSING_HALTED", rolled_back_msg)));
			json_decref(nodes[i].body);
		} else {
			json_array_append_new(responses, node_response(&nodes[i], nodes[i].status,
			    nodes[i].body));
		}
	}
	free(nodes);
	return responses;
}

/* Checks one subrequest's shape: method, url, referenceId; and referenceId uniqueness against
 * seen (an object used as a set). -1 with the reply set. */
static int
check_subrequest(json_t *sub, size_t idx, int strict_refid, json_t *seen, struct sf_reply *reply)
{
	const char *method, *ref;
	json_t *headers = json_object_get(sub, "httpHeaders");

	if (!json_is_object(sub)) {
		input_error(reply, "compositeRequest[%zu] must be an object", idx);
		return -1;
	}
	method = json_string_value(json_object_get(sub, "method"));
	ref = json_string_value(json_object_get(sub, "referenceId"));
	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PATCH") != 0 && strcmp(method, "PUT") != 0 &&
	    strcmp(method, "DELETE") != 0 && strcmp(method, "HEAD") != 0)) {
		input_error(reply, "compositeRequest[%zu]: method must be one of DELETE, GET, HEAD, "
		    "PATCH, POST, PUT", idx);
		return -1;
	}
	if (!json_is_string(json_object_get(sub, "url"))) {
		input_error(reply, "compositeRequest[%zu]: url is required", idx);
		return -1;
	}
	if (ref == NULL || ref[0] == '\0') {
		input_error(reply, "compositeRequest[%zu]: referenceId is required", idx);
		return -1;
	}
	if (headers != NULL && !json_is_object(headers)) {
		input_error(reply, "compositeRequest[%zu]: httpHeaders must be an object", idx);
		return -1;
	}
	/* v52.0+ refuses the whole request; before, only references to it fail (they cannot
	 * be parsed), which ref_value gives for free (reference 4.1). */
	if (strict_refid && !valid_refid(ref)) {
		input_error(reply, "Invalid referenceId '%s': a referenceId can contain only "
		    "letters, numbers and underscores, and must start with a letter or a number",
		    ref);
		return -1;
	}
	if (json_object_get(seen, ref) != NULL) {
		input_error(reply, "Duplicate referenceId '%s': each referenceId must be unique "
		    "within the request", ref);
		return -1;
	}
	json_object_set_new(seen, ref, json_true());
	return 0;
}

static void
composite(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	json_t *subs = json_object_get(call->body, "compositeRequest"), *seen, *sub, *out;
	int all_or_none = opt_bool(call->body, "allOrNone", 0), ok, queries = 0;
	size_t i;

	if (call->in_composite) {
		/* UNVERIFIED text: /composite is not among the resources a subrequest may use. */
		input_error(reply, "A composite subrequest cannot be a /composite request");
		return;
	}
	if (strcmp(call->method, "POST") != 0) {
		sf_reply_method_not_allowed(reply, call->method, "POST");
		return;
	}
	if (!json_is_object(call->body) || !json_is_array(subs)) {
		input_error(reply, "The request body must be an object with a compositeRequest "
		    "array");
		return;
	}
	/* collateSubrequests only lets Salesforce reorder independent subrequests; running
	 * them in order is one of the orders it may choose. */
	if (all_or_none < 0 || opt_bool(call->body, "collateSubrequests", 1) < 0) {
		input_error(reply, "allOrNone and collateSubrequests must be booleans");
		return;
	}
	if (json_array_size(subs) > COMPOSITE_MAX_SUBREQUESTS) {
		input_error(reply, "Composite request can have at most %d subrequests; it has %zu",
		    COMPOSITE_MAX_SUBREQUESTS, json_array_size(subs));
		return;
	}
	seen = json_object();
	json_array_foreach(subs, i, sub) {
		const char *rest;

		if (check_subrequest(sub, i, call->api_major >= REFID_STRICT_VERSION, seen,
		    reply) < 0) {
			json_decref(seen);
			return;
		}
		rest = url_rest(json_string_value(json_object_get(sub, "url")));
		if (rest != NULL && (has_prefix_seg(rest, "/query") ||
		    has_prefix_seg(rest, "/queryAll") || has_prefix_seg(rest, "/composite/sobjects")))
			queries++;
	}
	json_decref(seen);
	if (queries > COMPOSITE_MAX_QUERIES) {
		input_error(reply, "Composite request can have at most %d query, queryAll or sObject "
		    "Collections subrequests; it has %d", COMPOSITE_MAX_QUERIES, queries);
		return;
	}
	out = run_nodes(sim, call, subs, all_or_none, 0, &ok);
	sf_reply_json(reply, 200, json_pack("{s:o}", "compositeResponse", out));
}

static void
graph(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	json_t *graphs = json_object_get(call->body, "graphs"), *g, *ids, *out;
	size_t i, total = 0;
	int failures = 0;

	if (call->api_major < GRAPH_MIN_VERSION) {
		not_found(reply);
		return;
	}
	if (call->in_composite) {
		input_error(reply, "A composite subrequest cannot be a /composite/graph request");
		return;
	}
	if (strcmp(call->method, "POST") != 0) {
		sf_reply_method_not_allowed(reply, call->method, "POST");
		return;
	}
	if (!json_is_object(call->body) || !json_is_array(graphs) || json_array_size(graphs) == 0) {
		input_error(reply, "The request body must be an object with a non-empty graphs "
		    "array");
		return;
	}
	if (json_array_size(graphs) > GRAPH_MAX_GRAPHS) {
		input_error(reply, "A composite graph request can have at most %d graphs; it has %zu",
		    GRAPH_MAX_GRAPHS, json_array_size(graphs));
		return;
	}
	ids = json_object();
	json_array_foreach(graphs, i, g) {
		json_t *subs = json_object_get(g, "compositeRequest"), *seen, *sub;
		const char *gid = json_string_value(json_object_get(g, "graphId"));
		size_t j;

		if (gid == NULL || gid[0] == '\0' || !json_is_array(subs) ||
		    json_array_size(subs) == 0) {
			input_error(reply, "graphs[%zu] needs a graphId and a non-empty "
			    "compositeRequest array", i);
			goto bad;
		}
		if (json_object_get(ids, gid) != NULL) {
			input_error(reply, "Duplicate graphId '%s'", gid);
			goto bad;
		}
		json_object_set_new(ids, gid, json_true());
		total += json_array_size(subs);
		if (json_array_size(subs) > GRAPH_MAX_NODES || total > GRAPH_MAX_NODES) {
			input_error(reply, "A composite graph request can have at most %d nodes in a "
			    "graph and in the whole payload", GRAPH_MAX_NODES);
			goto bad;
		}
		/* Graphs came with v50.0: the strict referenceId rule always applies. */
		seen = json_object();
		json_array_foreach(subs, j, sub) {
			if (check_subrequest(sub, j, 1, seen, reply) < 0) {
				json_decref(seen);
				goto bad;
			}
		}
		json_decref(seen);
	}
	json_decref(ids);
	out = json_array();
	json_array_foreach(graphs, i, g) {
		json_t *subs = json_object_get(g, "compositeRequest"), *responses;
		int ok = 0;

		if (failures >= GRAPH_MAX_FAILURES) {
			json_t *sub;
			size_t j;

			/* UNVERIFIED text: past 14 failed graphs the rest are not run (4.4). */
			responses = json_array();
			json_array_foreach(subs, j, sub) {
				struct node node = { json_string_value(json_object_get(sub,
				    "referenceId")), 400, NULL, "", 1 };

				json_array_append_new(responses, node_response(&node, 400,
				    error_body(400, "PROCESSING_HALTED", "Graph not processed: too many "
				    "graphs in this request failed")));
			}
		} else {
			responses = run_nodes(sim, call, subs, 1, 1, &ok);
		}
		if (!ok)
			failures++;
		json_array_append_new(out, json_pack("{s:O,s:{s:o},s:b}", "graphId",
		    json_object_get(g, "graphId"), "graphResponse", "compositeResponse", responses,
		    "isSuccessful", ok));
	}
	sf_reply_json(reply, 200, json_pack("{s:o}", "graphs", out));
	return;
bad:
	json_decref(ids);
}

/*
 * /composite/batch: independent subrequests, each its own call.
 */

static void
batch(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	json_t *reqs = json_object_get(call->body, "batchRequests"), *req, *results;
	int halt = opt_bool(call->body, "haltOnError", 0), halted = 0, has_errors = 0;
	int executed = 0;
	size_t i;

	if (call->in_composite) {
		input_error(reply, "A composite subrequest cannot be a /composite/batch request");
		return;
	}
	if (strcmp(call->method, "POST") != 0) {
		sf_reply_method_not_allowed(reply, call->method, "POST");
		return;
	}
	/* Deserialization errors: top-level 400, nothing executed (reference 4.3). */
	if (!json_is_object(call->body) || !json_is_array(reqs) || halt < 0) {
		input_error(reply, "The request body must be an object with a batchRequests array "
		    "and an optional boolean haltOnError");
		return;
	}
	if (json_array_size(reqs) > BATCH_MAX_SUBREQUESTS) {
		input_error(reply, "Batch request can have at most %d subrequests; it has %zu",
		    BATCH_MAX_SUBREQUESTS, json_array_size(reqs));
		return;
	}
	json_array_foreach(reqs, i, req) {
		if (!json_is_string(json_object_get(req, "method")) ||
		    !json_is_string(json_object_get(req, "url"))) {
			input_error(reply, "batchRequests[%zu] needs a method and a url", i);
			return;
		}
	}
	results = json_array();
	json_array_foreach(reqs, i, req) {
		const char *url = json_string_value(json_object_get(req, "url"));
		struct sf_reply r;
		char *full;

		if (halted) {
			json_array_append_new(results, json_pack("{s:i,s:o}", "statusCode", 412,
			    "result", error_body(412, "BATCH_PROCESSING_HALTED",
			    "Batch processing halted per request")));
			continue;
		}
		/* Batch urls are relative to /services/data/ ("v62.0/sobjects/..."). */
		if (strncmp(url, "/services/data/", 15) == 0)
			full = xstrdup(url);
		else
			full = xasprintf("/services/data/%s", url[0] == '/' ? url + 1 : url);
		run_sub(sim, call, json_string_value(json_object_get(req, "method")), full,
		    json_object_get(req, "richInput"), NULL, BATCH_MIN_VERSION, &r);
		free(full);
		executed++;
		if (r.status >= 400) {
			has_errors = 1;
			halted = halt;
		}
		json_array_append_new(results, json_pack("{s:i,s:o}", "statusCode", r.status,
		    "result", r.body ? r.body : json_null()));
	}
	sf_reply_json(reply, 200, json_pack("{s:b,s:o}", "hasErrors", has_errors, "results",
	    results));
	/* Each executed subrequest counts against the daily limit (reference 4.3, 5). */
	reply->api_calls = executed > 0 ? executed : 1;
}

/*
 * /composite/sobjects: sObject Collections.
 */

static json_t *
result_ok(const char *id)
{
	return json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors");
}

static json_t *
result_fail(const struct sf_error *err)
{
	return json_pack("{s:b,s:[o]}", "success", 0, "errors", sf_error_collection_entry(err));
}

static json_t *
result_error(const char *code, const char *msg, const char *field)
{
	struct sf_error err;

	sf_error_set(&err, 400, code, "%s", msg);
	err.nfields = 0;
	if (field != NULL)
		sf_error_add_field(&err, field);
	return result_fail(&err);
}

/* allOrNone with a failure: what was written is rolled back, and each record that looked
 * successful says so (reference 4.2). */
static void
mark_rolled_back(json_t *results)
{
	struct sf_error err;
	size_t i;
	json_t *item;

	sf_error_set(&err, 400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because "
	    "not all records were valid and the request was using AllOrNone header");
	err.nfields = 0;
	json_array_foreach(results, i, item) {
		if (!json_is_true(json_object_get(item, "success")))
			continue;
		json_object_set_new(item, "success", json_false());
		json_object_set_new(item, "errors", json_pack("[o]",
		    sf_error_collection_entry(&err)));
		if (json_object_get(item, "created") != NULL)
			json_object_set_new(item, "created", json_false());
	}
}

static void
too_many_records(struct sf_reply *reply, size_t limit)
{
	struct sf_error err;

	/* UNVERIFIED for REST: the SOAP API's text for the same limit (reference 4.2). */
	sf_error_set(&err, 400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more "
	    "than %zu records into this call", limit);
	sf_reply_error(reply, &err);
}

/* A copy of rec without attributes and without the keys drop1/drop2 (any case). */
static json_t *
record_fields(json_t *rec, const char *drop1, const char *drop2)
{
	json_t *out = json_object(), *v;
	const char *key;

	json_object_foreach(rec, key, v) {
		if (strcmp(key, "attributes") == 0 || (drop1 && strcasecmp(key, drop1) == 0) ||
		    (drop2 && strcasecmp(key, drop2) == 0))
			continue;
		json_object_set(out, key, v);
	}
	return out;
}

static const char *
record_type(json_t *rec)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), "type"));
}

static json_t *
record_id(json_t *rec)
{
	json_t *v = json_object_get(rec, "id");

	return v ? v : json_object_get(rec, "Id");
}

/* Runs of one type, which Salesforce saves as separate chunks. */
static int
count_chunks(json_t *records)
{
	const char *prev = NULL, *t;
	size_t i;
	json_t *rec;
	int chunks = 0;

	json_array_foreach(records, i, rec) {
		t = record_type(rec);
		if (t == NULL)
			continue;
		if (prev == NULL || strcasecmp(prev, t) != 0)
			chunks++;
		prev = t;
	}
	return chunks;
}

/* Parses {"allOrNone":bool,"records":[objects]}; -1 with the reply set. */
static int
collection_body(struct sf_call *call, json_t **records, int *all_or_none,
    struct sf_reply *reply)
{
	size_t i;
	json_t *rec;

	*records = json_object_get(call->body, "records");
	*all_or_none = opt_bool(call->body, "allOrNone", 0);
	if (!json_is_object(call->body) || !json_is_array(*records) || *all_or_none < 0) {
		input_error(reply, "The request body must be an object with a records array and an "
		    "optional boolean allOrNone");
		return -1;
	}
	json_array_foreach(*records, i, rec) {
		if (!json_is_object(rec)) {
			input_error(reply, "records[%zu] must be an object", i);
			return -1;
		}
	}
	if (json_array_size(*records) > COLLECTION_MAX_RECORDS) {
		too_many_records(reply, COLLECTION_MAX_RECORDS);
		return -1;
	}
	return 0;
}

/* Finishes a collection write: rollback and marking for allOrNone, else commit. */
static void
collection_finish(struct sf_sim *sim, json_t *results, int all_or_none, int failed,
    struct sf_reply *reply)
{
	if (all_or_none && failed) {
		db_rollback_to(sim->store.db, SP_COLLECTION);
		mark_rolled_back(results);
	} else {
		db_release(sim->store.db, SP_COLLECTION);
	}
	sf_reply_json(reply, 200, results);
}

/* Every record gets the same error (too many chunks); nothing is written. */
static void
collection_all_fail(json_t *records, const char *code, const char *msg, struct sf_reply *reply)
{
	json_t *results = json_array();

	for (size_t i = 0; i < json_array_size(records); i++)
		json_array_append_new(results, result_error(code, msg, NULL));
	sf_reply_json(reply, 200, results);
}

/* The sObject of a collection record's attributes.type, or NULL after appending the entry
 * Salesforce answers for a missing or unknown type to results. */
static const struct sf_object *
record_object(struct sf_sim *sim, const char *type, json_t *results)
{
	const struct sf_object *obj;
	char *msg;

	if (type == NULL) {
		/* UNVERIFIED: the SOAP API's answer to a create without a type. */
		json_array_append_new(results, result_error("INVALID_TYPE",
		    "Must send a concrete entity type.", NULL));
		return NULL;
	}
	if ((obj = sf_schema_object(&sim->schema, type)) == NULL) {
		msg = xasprintf("sObject type '%s' is not supported.", type);
		json_array_append_new(results, result_error("INVALID_TYPE", msg, NULL));
		free(msg);
	}
	return obj;
}

static const char chunks_msg[] = "Cannot have more than 10 chunks in a single operation. "
    "Please rearrange the data to reduce chunking.";

/* A create or update collection's records (borrowed from the body) and allOrNone, with the
 * collection's savepoint open; -1 with the answer given (a bad body, or too many chunks). */
static int
collection_begin(struct sf_sim *sim, struct sf_call *call, json_t **records, int *all_or_none,
    struct sf_reply *reply)
{
	if (collection_body(call, records, all_or_none, reply) < 0)
		return -1;
	if (count_chunks(*records) > COLLECTION_MAX_CHUNKS) {
		/* UNVERIFIED for REST: the SOAP API's status code and text. */
		collection_all_fail(*records, "EXCEEDED_MAX_TYPES_LIMIT", chunks_msg, reply);
		return -1;
	}
	db_savepoint(sim->store.db, SP_COLLECTION);
	return 0;
}

static void
collection_create(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	json_t *records, *rec, *results;
	int all_or_none, failed = 0;
	size_t i;

	if (collection_begin(sim, call, &records, &all_or_none, reply) < 0)
		return;
	results = json_array();
	json_array_foreach(records, i, rec) {
		const char *type = record_type(rec);
		const struct sf_object *obj;
		struct sf_error err;
		char id[19];

		if ((obj = record_object(sim, type, results)) == NULL) {
			failed = 1;
			continue;
		}
		if (record_id(rec) != NULL) {
			json_array_append_new(results, result_error("INVALID_FIELD_FOR_INSERT_UPDATE",
			    "cannot specify Id in an insert call", "Id"));
			failed = 1;
			continue;
		}
		if (sf_dml_create(sim, obj, rec, call, id, &err) < 0) {
			json_array_append_new(results, result_fail(&err));
			failed = 1;
		} else {
			json_array_append_new(results, result_ok(id));
		}
	}
	collection_finish(sim, results, all_or_none, failed, reply);
}

static void
collection_update(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	json_t *records, *rec, *results;
	int all_or_none, failed = 0;
	size_t i;

	if (collection_begin(sim, call, &records, &all_or_none, reply) < 0)
		return;
	results = json_array();
	json_array_foreach(records, i, rec) {
		const char *type = record_type(rec), *id = json_string_value(record_id(rec));
		const struct sf_object *obj;
		struct sf_error err;
		json_t *fields;

		if (id == NULL) {
			/* The SOAP/Apex code and text for an update without an id. */
			json_array_append_new(results, result_error("MISSING_ARGUMENT",
			    "Id not specified in an update call", NULL));
			failed = 1;
			continue;
		}
		if ((obj = record_object(sim, type, results)) == NULL) {
			failed = 1;
			continue;
		}
		fields = record_fields(rec, "id", NULL);
		if (sf_dml_update(sim, obj, id, fields, call, &err) < 0) {
			json_array_append_new(results, result_fail(&err));
			failed = 1;
		} else {
			char id18[19];

			sf_id_normalize(id, id18);
			json_array_append_new(results, result_ok(id18));
		}
		json_decref(fields);
	}
	collection_finish(sim, results, all_or_none, failed, reply);
}

/* The comma-separated list s as an array of strings; empty items are skipped. */
static json_t *
split_list(const char *s)
{
	json_t *a = json_array();

	while (s != NULL && *s != '\0') {
		size_t n = strcspn(s, ",");

		if (n > 0)
			json_array_append_new(a, json_stringn(s, n));
		s += n;
		if (*s == ',')
			s++;
	}
	return a;
}

static void
collection_delete(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply)
{
	const char *aon = sf_call_param(call, "allOrNone");
	json_t *ids = split_list(sf_call_param(call, "ids")), *v, *results;
	int all_or_none = aon != NULL && strcasecmp(aon, "true") == 0, failed = 0;
	size_t i;

	if (json_array_size(ids) == 0) {
		json_decref(ids);
		input_error(reply, "The ids parameter is required");
		return;
	}
	if (json_array_size(ids) > COLLECTION_MAX_RECORDS) {
		json_decref(ids);
		too_many_records(reply, COLLECTION_MAX_RECORDS);
		return;
	}
	results = json_array();
	db_savepoint(sim->store.db, SP_COLLECTION);
	json_array_foreach(ids, i, v) {
		const struct sf_object *obj;
		struct sf_error err;
		char id18[19];

		obj = sf_dml_lookup(sim, json_string_value(v), id18, &err);
		if (obj == NULL || sf_dml_delete(sim, obj, id18, call, &err) < 0) {
			json_array_append_new(results, result_fail(&err));
			failed = 1;
		} else {
			json_array_append_new(results, result_ok(id18));
		}
	}
	json_decref(ids);
	collection_finish(sim, results, all_or_none, failed, reply);
}

/* GET /composite/sobjects/{SObject}?ids=&fields= or POST with {"ids":[..],"fields":[..]}
 * (jsforce's retrieve). Ids that do not name a live record of the type answer null. */
static void
collection_retrieve(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj,
    struct sf_reply *reply)
{
	json_t *ids, *fields_list, *v, *results;
	char *fields = NULL;
	size_t i, len = 0;

	if (strcmp(call->method, "GET") == 0) {
		ids = split_list(sf_call_param(call, "ids"));
		fields_list = split_list(sf_call_param(call, "fields"));
	} else {
		ids = json_deep_copy(json_object_get(call->body, "ids"));
		fields_list = json_deep_copy(json_object_get(call->body, "fields"));
	}
	if (!json_is_array(ids) || json_array_size(ids) == 0 || !json_is_array(fields_list) ||
	    json_array_size(fields_list) == 0) {
		input_error(reply, "ids and fields are required");
		goto out;
	}
	if (json_array_size(ids) > COLLECTION_MAX_RETRIEVE) {
		too_many_records(reply, COLLECTION_MAX_RETRIEVE);
		goto out;
	}
	fields = xstrdup("");
	json_array_foreach(fields_list, i, v) {
		const char *f = json_string_value(v);

		if (f == NULL) {
			input_error(reply, "fields must be strings");
			goto out;
		}
		/* Checked up front, so a bad field fails the call whatever the ids. */
		if (sf_schema_field(obj, f) == NULL) {
			struct sf_error err;

			sf_error_set(&err, 400, "INVALID_FIELD", "No such column '%s' on sobject of "
			    "type %s", f, obj->name);
			sf_reply_error(reply, &err);
			goto out;
		}
		fields = xrealloc(fields, len + strlen(f) + 2);
		len += (size_t)snprintf(fields + len, strlen(f) + 2, "%s%s", len ? "," : "", f);
	}
	results = json_array();
	json_array_foreach(ids, i, v) {
		struct sf_error err;
		char id18[19];
		json_t *rec = NULL;

		memset(&err, 0, sizeof(err));
		if (json_is_string(v) && sf_id_normalize(json_string_value(v), id18) == 0 &&
		    strncmp(id18, obj->key_prefix, 3) == 0)
			rec = sf_store_get(&sim->store, obj, id18, fields, 0, call->version, &err);
		/* Salesforce's retrieve answers the Id with the fields asked for. */
		if (rec != NULL && json_object_get(rec, "Id") == NULL)
			json_object_set_new(rec, "Id", json_string(id18));
		json_array_append_new(results, rec ? rec : json_null());
	}
	sf_reply_json(reply, 200, results);
out:
	free(fields);
	json_decref(ids);
	json_decref(fields_list);
}

static void
collection_upsert(struct sf_sim *sim, struct sf_call *call, const struct sf_object *obj,
    const char *ext, struct sf_reply *reply)
{
	const struct sf_field *f = sf_schema_field(obj, ext);
	json_t *records, *rec, *results;
	int all_or_none, failed = 0;
	size_t i;

	if (f == NULL || (!f->external_id && !f->id_lookup && f->type != SF_T_ID)) {
		struct sf_error err;

		sf_error_set(&err, 404, "NOT_FOUND", "Provided external ID field does not exist or "
		    "is not accessible: %s", ext);
		sf_reply_error(reply, &err);
		return;
	}
	if (collection_body(call, &records, &all_or_none, reply) < 0)
		return;
	results = json_array();
	db_savepoint(sim->store.db, SP_COLLECTION);
	json_array_foreach(records, i, rec) {
		const char *type = record_type(rec), *key;
		json_t *value = NULL, *fields, *matches = NULL, *item, *v;
		struct sf_error err;
		enum sf_upsert res;
		char id[19], *text, *msg;

		/* Collections upsert takes one type, named in the url. */
		if (type != NULL && strcasecmp(type, obj->name) != 0) {
			msg = xasprintf("Record type %s does not match the sObject %s of the url",
			    type, obj->name);
			item = result_error("INVALID_TYPE", msg, NULL);
			free(msg);
			goto fail;
		}
		json_object_foreach(rec, key, v)
			if (strcasecmp(key, f->name) == 0)
				value = v;
		if (value == NULL || json_is_null(value) || json_is_object(value) ||
		    json_is_array(value)) {
			/* UNVERIFIED: the SOAP API's code for an upsert without its key. */
			msg = xasprintf("%s not specified", f->name);
			item = result_error("MISSING_ARGUMENT", msg, f->name);
			free(msg);
			goto fail;
		}
		text = json_is_string(value) ? xstrdup(json_string_value(value)) :
		    json_dumps(value, JSON_ENCODE_ANY);
		fields = record_fields(rec, f->name, NULL);
		res = sf_dml_upsert(sim, obj, f->name, text, fields, 0, call, id, &matches, &err);
		json_decref(fields);
		if (res == SF_UPSERT_CREATED || res == SF_UPSERT_UPDATED) {
			item = result_ok(id);
			json_object_set_new(item, "created", json_boolean(res == SF_UPSERT_CREATED));
			json_array_append_new(results, item);
			free(text);
			continue;
		}
		if (res == SF_UPSERT_MULTIPLE) {
			json_decref(matches);
			/* The SOAP/Bulk API's code for an external id matching several rows. */
			msg = xasprintf("%s: more than one record found for external id field: %s",
			    f->name, text);
			item = result_error("DUPLICATE_EXTERNAL_ID", msg, f->name);
			free(msg);
		} else {
			item = result_fail(&err);
		}
		free(text);
fail:
		json_object_set_new(item, "created", json_false());
		json_array_append_new(results, item);
		failed = 1;
	}
	collection_finish(sim, results, all_or_none, failed, reply);
}

static void
collections(struct sf_sim *sim, struct sf_call *call, const char *rest, struct sf_reply *reply)
{
	char type[128], ext[128];
	const struct sf_object *obj;
	int n = 0;

	if (*rest == '/')
		rest++;
	if (*rest == '\0') {
		if (strcmp(call->method, "POST") == 0)
			collection_create(sim, call, reply);
		else if (strcmp(call->method, "PATCH") == 0)
			collection_update(sim, call, reply);
		else if (strcmp(call->method, "DELETE") == 0)
			collection_delete(sim, call, reply);
		else
			sf_reply_method_not_allowed(reply, call->method, "DELETE,PATCH,POST");
		return;
	}
	type[0] = ext[0] = '\0';
	if (sscanf(rest, "%127[^/]%n", type, &n) != 1) {
		not_found(reply);
		return;
	}
	rest += n;
	if (*rest == '/' && sscanf(rest + 1, "%127[^/]%n", ext, &n) == 1)
		rest += n + 1;
	if (*rest != '\0' && strcmp(rest, "/") != 0) {
		not_found(reply);
		return;
	}
	if (ext[0] != '\0' && call->api_major < UPSERT_COLLECTION_MIN_VERSION) {
		not_found(reply);
		return;
	}
	if ((obj = sf_schema_object(&sim->schema, type)) == NULL) {
		not_found(reply);
		return;
	}
	if (ext[0] == '\0') {
		if (strcmp(call->method, "GET") == 0 || strcmp(call->method, "POST") == 0)
			collection_retrieve(sim, call, obj, reply);
		else
			sf_reply_method_not_allowed(reply, call->method, "GET,POST");
	} else {
		if (strcmp(call->method, "PATCH") == 0)
			collection_upsert(sim, call, obj, ext, reply);
		else
			sf_reply_method_not_allowed(reply, call->method, "PATCH");
	}
}

void
sf_composite_call(struct sf_sim *sim, struct sf_call *call, const char *rest,
    struct sf_reply *reply)
{
	reply->api_calls = 1;
	if (strncmp(rest, "/composite", 10) != 0) {
		not_found(reply);
		return;
	}
	rest += 10;
	if (*rest == '\0' || strcmp(rest, "/") == 0)
		composite(sim, call, reply);
	else if (has_prefix_seg(rest, "/sobjects"))
		collections(sim, call, rest + 9, reply);
	else if (strcmp(rest, "/batch") == 0 || strcmp(rest, "/batch/") == 0)
		batch(sim, call, reply);
	else if (strcmp(rest, "/graph") == 0 || strcmp(rest, "/graph/") == 0)
		graph(sim, call, reply);
	else
		not_found(reply);
	log_debug("sf-sim: composite method=%s path=%s status=%d calls=%d", call->method,
	    call->path, reply->status, reply->api_calls);
}
