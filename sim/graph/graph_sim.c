/* graph_sim.c: graph-sim's HTTP entry point and shared helpers: request ids, scripted faults,
 * identity paths, token checks, throttling, then routing of /v1.0 calls (see graph_sim.h). */
#include "graph_sim.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "db.h"
#include "graph_auth.h"
#include "graph_batch.h"
#include "graph_calendar.h"
#include "graph_control.h"
#include "graph_groups.h"
#include "graph_mail.h"
#include "graph_notify.h"
#include "graph_policy.h"
#include "graph_store.h"
#include "graph_subs.h"
#include "graph_throttle.h"
#include "graph_users.h"
#include "isotime.h"
#include "log.h"
#include "sim_setting.h"
#include "xmalloc.h"

static const struct {
	const char *key;
	const char *dflt;
} setting_defaults[] = {
	{ "token_ttl_sec", "3599" },
	{ "sub_max_minutes", "10070" },
	{ "sub_max_minutes_rich", "1440" },
	{ "require_https", "1" },
	{ "retry_scale", "1.0" },
	{ "ack_timeout_ms", "3000" },
	{ "retry_timeout_ms", "10000" },
	{ "validation_timeout_ms", "10000" },
	{ "retry_window_sec", "14400" },
	{ "throttle_requests", "10000" },
	{ "throttle_window_sec", "600" },
	{ "throttle_concurrency", "4" },
	{ "delta_token_ttl_sec", "0" },
	{ "subs_per_mailbox", "1000" },
};

static const char *
setting(struct graph_sim *sim, const char *key, char *buf, size_t len)
{
	return sim_setting_get(sim->db, "g_setting", key, buf, len);
}

void
graph_sim_load_settings(struct graph_sim *sim)
{
	struct graph_settings *s = &sim->settings;
	char buf[256];
	double v[sizeof(setting_defaults) / sizeof(setting_defaults[0])] = { 0 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *text = setting(sim, setting_defaults[i].key, buf, sizeof(buf));

		v[i] = atof(text ? text : setting_defaults[i].dflt);
	}
	s->token_ttl_sec = (long)v[0];
	s->sub_max_minutes = (long)v[1];
	s->sub_max_minutes_rich = (long)v[2];
	s->require_https = (int)v[3];
	s->retry_scale = v[4];
	s->ack_timeout_ms = (long)v[5];
	s->retry_timeout_ms = (long)v[6];
	s->validation_timeout_ms = (long)v[7];
	s->retry_window_sec = (long)v[8];
	s->throttle_requests = (long)v[9];
	s->throttle_window_sec = (long)v[10];
	s->throttle_concurrency = (int)v[11];
	s->delta_token_ttl_sec = (long)v[12];
	s->subs_per_mailbox = (long)v[13];
	if (setting(sim, "tenant_id", buf, sizeof(buf)) != NULL)
		snprintf(sim->tenant_id, sizeof(sim->tenant_id), "%.39s", buf);
	if (setting(sim, "tenant_domain", buf, sizeof(buf)) != NULL)
		snprintf(sim->tenant_domain, sizeof(sim->tenant_domain), "%.127s", buf);
}

int
graph_sim_save_setting(struct graph_sim *sim, const char *key, const char *value)
{
	int rc = sim_setting_put(sim->db, "g_setting", key, value);

	graph_sim_load_settings(sim);
	return rc;
}

int
graph_sim_init(struct graph_sim *sim, const char *db_path, char *err, size_t errlen)
{
	memset(sim, 0, sizeof(*sim));
	if (graph_store_open(db_path, &sim->db, err, errlen) < 0)
		return -1;
	/* A fixed default tenant, so a demo's ids and URLs are the same every run. */
	snprintf(sim->tenant_id, sizeof(sim->tenant_id), "8a6b2a1c-52f8-4e0e-9c3a-5d6f3a1b7c01");
	snprintf(sim->tenant_domain, sizeof(sim->tenant_domain), "contoso.onmicrosoft.com");
	snprintf(sim->base_url, sizeof(sim->base_url), "http://127.0.0.1");
	graph_sim_load_settings(sim);
	pthread_mutex_init(&sim->lock, NULL);
	pthread_cond_init(&sim->wake, NULL);
	sim->throttle = graph_throttle_new();
	if (graph_auth_init(sim, err, errlen) < 0) {
		graph_sim_free(sim);
		return -1;
	}
	return 0;
}

void
graph_sim_free(struct graph_sim *sim)
{
	graph_throttle_free(sim->throttle);
	sim->throttle = NULL;
	EVP_PKEY_free(sim->signing_key);
	sim->signing_key = NULL;
	free(sim->signing_cert_pem);
	sim->signing_cert_pem = NULL;
	if (sim->db != NULL)
		sqlite3_close(sim->db);
	sim->db = NULL;
	pthread_cond_destroy(&sim->wake);
	pthread_mutex_destroy(&sim->lock);
}

void
graph_guid(char out[37])
{
	unsigned char b[16];

	crypto_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
}

int
graph_is_guid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

double
graph_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
graph_now_iso(char out[32])
{
	isotime_format(time(NULL), 0, 0, "Z", out, 32);
}

char *
graph_url(const struct graph_sim *sim, const char *path)
{
	return xasprintf("%s%s", sim->base_url, path);
}

void
graph_reply_json(struct graph_reply *reply, int status, json_t *json)
{
	json_decref(reply->body);
	free(reply->text);
	reply->text = NULL;
	reply->status = status;
	reply->body = json;
}

void
graph_reply_error(struct graph_reply *reply, const struct graph_req *req, int status,
    const char *code, const char *fmt, ...)
{
	char message[1024], date[32];
	va_list ap;
	json_t *inner;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	graph_now_iso(date);
	date[19] = '\0';	/* innerError.date has no zone designator */
	inner = json_pack("{s:s,s:s}", "date", date, "request-id", req ? req->request_id : "");
	json_object_set_new(inner, "client-request-id",
	    json_string(req && req->client_request_id ? req->client_request_id :
	    req ? req->request_id : ""));
	graph_reply_json(reply, status, json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code,
	    "message", message, "innerError", inner));
}

void
graph_reply_header(struct graph_reply *reply, const char *name, const char *value)
{
	for (int i = 0; i < reply->nheaders; i++) {
		if (strcasecmp(reply->headers[i].name, name) == 0) {
			free(reply->headers[i].value);
			reply->headers[i].value = xstrdup(value);
			return;
		}
	}
	if (reply->nheaders >= GRAPH_REPLY_MAX_HEADERS)
		fatalx("graph-sim: too many reply headers");
	reply->headers[reply->nheaders].name = xstrdup(name);
	reply->headers[reply->nheaders].value = xstrdup(value);
	reply->nheaders++;
}

void
graph_reply_free(struct graph_reply *reply)
{
	json_decref(reply->body);
	free(reply->text);
	for (int i = 0; i < reply->nheaders; i++) {
		free(reply->headers[i].name);
		free(reply->headers[i].value);
	}
	memset(reply, 0, sizeof(*reply));
}

const char *
graph_req_param(const struct graph_req *req, const char *name)
{
	for (int i = 0; i < req->nquery; i++)
		if (strcasecmp(req->query[i].name, name) == 0)
			return req->query[i].value;
	return NULL;
}

static void
copy_quoted(char *out, size_t len, const char *v)
{
	size_t n = 0;

	while (*v == ' ')
		v++;
	if (*v == '"')
		v++;
	while (*v && *v != '"' && *v != ',' && n + 1 < len)
		out[n++] = *v++;
	out[n] = '\0';
}

void
graph_req_prefer(struct graph_req *req, const char *prefer)
{
	const char *p = prefer;

	while (p != NULL && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncasecmp(p, "IdType=", 7) == 0) {
			char v[32];

			copy_quoted(v, sizeof(v), p + 7);
			req->immutable_ids = strcasecmp(v, "ImmutableId") == 0;
		} else if (strncasecmp(p, "odata.maxpagesize=", 18) == 0) {
			req->maxpagesize = atol(p + 18);
		} else if (strncasecmp(p, "outlook.timezone=", 17) == 0) {
			copy_quoted(req->timezone, sizeof(req->timezone), p + 17);
		} else if (strncasecmp(p, "outlook.body-content-type=", 26) == 0) {
			copy_quoted(req->body_type, sizeof(req->body_type), p + 26);
		}
		/* Next preference: after the next comma outside quotes. */
		{
			int quoted = 0;

			for (; *p; p++) {
				if (*p == '"')
					quoted = !quoted;
				else if (*p == ',' && !quoted)
					break;
			}
		}
	}
}

int
graph_require_role(const struct graph_req *req, struct graph_reply *reply,
    const char *const *roles, const char *code, const char *message)
{
	size_t i;
	json_t *r;

	json_array_foreach(req->roles, i, r) {
		for (size_t k = 0; roles[k] != NULL; k++)
			if (json_is_string(r) && strcmp(json_string_value(r), roles[k]) == 0)
				return 1;
	}
	graph_reply_error(reply, req, 403, code, "%s", message);
	return 0;
}

/* "/users/{x}/rest" -> user segment and the rest; NULL rest when the path has no user part. */
static char *
user_segment(const char *path, const char **rest)
{
	const char *s = path + 7, *slash;	/* after "/users/" */

	slash = strchr(s, '/');
	*rest = slash ? slash : s + strlen(s);
	return xstrndup(s, (size_t)(*rest - s));
}

static int
has_prefix(const char *rest, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(rest, prefix, n) == 0 && (rest[n] == '\0' || rest[n] == '/' ||
	    rest[n] == '(');
}

void
graph_sim_call(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply)
{
	const char *p = req->path;

	if (strcasecmp(p, "/me") == 0 || strncasecmp(p, "/me/", 4) == 0) {
		graph_reply_error(reply, req, 400, "BadRequest",
		    "/me request is only valid with delegated authentication flow.");
	} else if (strncasecmp(p, "/users/", 7) == 0 && strchr(p + 7, '/') != NULL) {
		const char *rest;
		char *who = user_segment(p, &rest);
		struct graph_user user;

		if (graph_user_find(sim, who, &user) < 0) {
			graph_reply_error(reply, req, 404, "ErrorInvalidUser",
			    "The requested user '%s' is invalid.", who);
		} else if (!graph_policy_allows(sim, req->app_id, user.id)) {
			/* An application access policy keeps this app out of the mailbox. */
			graph_reply_error(reply, req, 403, "ErrorAccessDenied", "%s",
			    GRAPH_POLICY_DENIED);
		} else if (has_prefix(rest, "/mailFolders") || has_prefix(rest, "/messages")) {
			graph_mail_call(sim, req, &user, rest, reply);
		} else if (has_prefix(rest, "/events") || has_prefix(rest, "/calendarView") ||
		    has_prefix(rest, "/calendar")) {
			graph_calendar_call(sim, req, &user, rest, reply);
		} else {
			graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the "
			    "segment '%s'.", rest + 1);
		}
		free(who);
	} else if (strncasecmp(p, "/users", 6) == 0 && (p[6] == '\0' || p[6] == '/')) {
		graph_users_call(sim, req, p + 6, reply);
	} else if (strncasecmp(p, "/groups", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
		graph_groups_call(sim, req, p + 7, reply);
	} else if (strncasecmp(p, "/subscriptions", 14) == 0 && (p[14] == '\0' || p[14] == '/')) {
		graph_subs_call(sim, req, p + 14, reply);
	} else if (strcmp(p, "/$batch") == 0) {
		if (req->in_batch)
			graph_reply_error(reply, req, 400, "BadRequest", "A batch request cannot "
			    "contain another batch request.");
		else
			graph_batch_call(sim, req, reply);
	} else {
		graph_reply_error(reply, req, 400, "BadRequest", "Resource not found for the "
		    "segment '%s'.", p + (*p == '/'));
	}
}

static void
respond(struct httpd_response *resp, const struct graph_req *req, struct graph_reply *reply)
{
	if (reply->body != NULL) {
		char *text = json_dumps(reply->body, JSON_COMPACT | JSON_ENCODE_ANY);

		httpd_respond_text(resp, reply->status,
		    "application/json;odata.metadata=minimal;odata.streaming=true;"
		    "IEEE754Compatible=false;charset=utf-8", text);
		free(text);
	} else if (reply->text != NULL) {
		httpd_respond_text(resp, reply->status, "text/plain", reply->text);
	} else {
		httpd_respond_empty(resp, reply->status ? reply->status : 500);
	}
	for (int i = 0; i < reply->nheaders; i++)
		httpd_response_header(resp, reply->headers[i].name, reply->headers[i].value);
	httpd_response_header(resp, "request-id", req->request_id);
	httpd_response_header(resp, "client-request-id",
	    req->client_request_id ? req->client_request_id : req->request_id);
	httpd_response_header(resp, "OData-Version", "4.0");
	httpd_response_header(resp, "Cache-Control", "no-cache");
}

/* Route key for statistics: ids and names replaced, so the table stays small
 * (graph_control.c keeps the rules, with GET /_sim/stats). */
static void
route_key(const char *method, const char *path, char *out, size_t len)
{
	graph_control_route_key(method, path, out, len);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

static void
prefer_headers(struct graph_req *req, struct httpd_request *hreq)
{
	/* MHD joins nothing: read the first Prefer; clients send one header with commas. */
	const char *prefer = httpd_header(hreq, "Prefer");

	if (prefer != NULL)
		graph_req_prefer(req, prefer);
}

/* slow_ms: a scripted delay-only fault, served while the request is in flight (admitted by the
 * throttle), as a slow Outlook backend is: slow requests then hold concurrency slots. */
static void
v1_call(struct graph_sim *sim, struct httpd_request *hreq, struct httpd_response *resp,
    struct graph_req *req, long slow_ms)
{
	struct graph_reply reply;
	json_t *claims = NULL, *body = NULL;
	char mailbox[40] = "", key[512];
	double retry_after = 0;
	int concurrency = 0, admitted = 0;

	memset(&reply, 0, sizeof(reply));
	req->method = hreq->method;
	req->path = hreq->path + 5;	/* after "/v1.0" */
	req->query = hreq->query;
	req->nquery = hreq->nquery;
	prefer_headers(req, hreq);
	route_key(req->method, hreq->path, key, sizeof(key));
	graph_control_count(sim, "requests", 1);
	graph_control_count(sim, key, 1);
	claims = graph_auth_check(sim, httpd_header(hreq, "Authorization"), req, &reply);
	if (claims == NULL)
		goto out;
	if (hreq->body_len > 0) {
		body = json_loadb(hreq->body, hreq->body_len, 0, NULL);
		if (body == NULL) {
			graph_reply_error(&reply, req, 400, "BadRequest", "Unable to read JSON request "
			    "payload. Please ensure Content-Type header is set and payload is of valid "
			    "JSON format.");
			goto out;
		}
		req->body = body;
	}
	graph_throttle_mailbox(sim, req->path, mailbox);
	if (mailbox[0] != '\0') {
		snprintf(key, sizeof(key), "mailbox:%s", mailbox);
		graph_control_count(sim, key, 1);
		/* Enter without the lock: requests waiting for it are in flight for Outlook. */
		pthread_mutex_unlock(&sim->lock);
		admitted = graph_throttle_enter(sim, req->app_id, mailbox, &retry_after,
		    &concurrency) == 0;
		pthread_mutex_lock(&sim->lock);
		if (!admitted) {
			graph_control_count(sim, "throttled", 1);
			graph_throttle_reply(req, &reply, retry_after, concurrency);
			graph_throttle_told_wait(sim->throttle, mailbox, retry_after < 1 ? 1 :
			    retry_after);
			goto out;
		}
	}
	if (slow_ms > 0) {
		pthread_mutex_unlock(&sim->lock);
		sleep_ms(slow_ms);
		pthread_mutex_lock(&sim->lock);
	}
	graph_sim_call(sim, req, &reply);
out:
	respond(resp, req, &reply);
	if (admitted) {
		pthread_mutex_unlock(&sim->lock);
		graph_throttle_leave(sim, req->app_id, mailbox);
		pthread_mutex_lock(&sim->lock);
	}
	graph_reply_free(&reply);
	json_decref(body);
	json_decref(claims);
}

static void
fault_reply(struct graph_sim *sim, struct httpd_response *resp, struct graph_req *req,
    const struct graph_fault *f, const char *mailbox)
{
	struct graph_reply reply;
	char ra[32];

	memset(&reply, 0, sizeof(reply));
	graph_reply_error(&reply, req, f->status, f->code[0] ? f->code : "serviceNotAvailable",
	    "%s", f->message);
	if (f->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%g", f->retry_after);
		graph_reply_header(&reply, "Retry-After", ra);
		graph_throttle_told_wait(sim->throttle, mailbox, f->retry_after);
	}
	respond(resp, req, &reply);
	graph_reply_free(&reply);
}

void
graph_sim_handle(struct httpd_request *hreq, struct httpd_response *resp, void *arg)
{
	struct graph_sim *sim = arg;
	struct graph_req req;
	struct graph_fault fault;
	char mailbox[40] = "";
	int faulted, v1;
	long slow_ms = 0;

	memset(&req, 0, sizeof(req));
	graph_guid(req.request_id);
	req.client_request_id = httpd_header(hreq, "client-request-id");
	pthread_mutex_lock(&sim->lock);
	if (strncmp(hreq->path, "/_sim/", 6) == 0 || strcmp(hreq->path, "/_sim") == 0) {
		graph_control_handle(sim, hreq, resp);
		pthread_mutex_unlock(&sim->lock);
		return;
	}
	v1 = strncmp(hreq->path, "/v1.0/", 6) == 0 || strcmp(hreq->path, "/v1.0") == 0;
	if (v1) {
		double early;

		graph_throttle_mailbox(sim, hreq->path + 5, mailbox);
		if ((early = graph_throttle_early(sim->throttle, mailbox)) > 0) {
			graph_control_count(sim, "retry_after.early", 1);
			log_warnx("graph-sim: request before its Retry-After mailbox=%s early_ms=%.0f "
			    "path=%s", mailbox[0] ? mailbox : "-", early * 1000, hreq->path);
		}
	}
	faulted = graph_control_fault_take(sim, hreq->method, hreq->path, &fault);
	if (faulted && v1 && !fault.drop && fault.status == 0) {
		slow_ms = fault.delay_ms;
	} else if (faulted) {
		pthread_mutex_unlock(&sim->lock);
		if (fault.delay_ms > 0)
			sleep_ms(fault.delay_ms);
		if (fault.drop) {
			resp->drop = 1;
			return;
		}
		pthread_mutex_lock(&sim->lock);
		if (fault.status > 0) {
			fault_reply(sim, resp, &req, &fault, mailbox);
			pthread_mutex_unlock(&sim->lock);
			return;
		}
	}
	if (v1) {
		v1_call(sim, hreq, resp, &req, slow_ms);
	} else if (graph_auth_handle(sim, hreq, resp) < 0) {
		struct graph_reply reply;

		memset(&reply, 0, sizeof(reply));
		graph_reply_error(&reply, &req, 404, "NotFound", "Resource not found for the "
		    "segment '%s'.", hreq->path);
		respond(resp, &req, &reply);
		graph_reply_free(&reply);
	}
	pthread_mutex_unlock(&sim->lock);
}
