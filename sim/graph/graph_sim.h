/* graph_sim.h: graph-sim's core: its state, one Graph call (from HTTP or from $batch), replies
 * in Graph's shapes, and the hooks the resource modules share.
 *
 * Path of a request: graph_sim_handle (graph_sim.c: request-id, faults, /_sim -> graph_control.c,
 * /{tenant}/oauth2/v2.0/token and discovery -> graph_auth.c, then for /v1.0/...: token check ->
 * throttling (graph_throttle.c) -> graph_sim_call) -> graph_users.c, graph_mail.c,
 * graph_calendar.c, graph_subs.c, graph_batch.c. Changes to mail and events call
 * graph_notify_change (graph_notify.c), whose thread delivers notifications. */
#ifndef GRAPH_SIM_H
#define GRAPH_SIM_H

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>

#include "httpd.h"

/* Tenant behaviour a test or a user can change (POST /_sim/config; stored in g_setting). */
struct graph_settings {
	long token_ttl_sec;		/* expires_in of access tokens (3599) */
	long sub_max_minutes;		/* subscription lifetime ceiling (10070) */
	long sub_max_minutes_rich;	/* with includeResourceData (1440) */
	int require_https;		/* notificationUrl must be https (1; tests set 0) */
	double retry_scale;		/* multiplies notification retry delays (1.0; tests 0.001) */
	long ack_timeout_ms;		/* a delivery counts with a 2xx within this (3000) */
	long retry_timeout_ms;		/* timeout of retries (10000) */
	long validation_timeout_ms;	/* validation handshake answer within (10000) */
	long retry_window_sec;		/* retries stop after (14400) */
	long throttle_requests;		/* per app + mailbox per window (10000) */
	long throttle_window_sec;	/* (600) */
	int throttle_concurrency;	/* in flight per app + mailbox (4) */
	long delta_token_ttl_sec;	/* 0: delta tokens live until /_sim/delta/expire */
	long subs_per_mailbox;		/* (1000) */
};

struct graph_throttle;

struct graph_sim {
	sqlite3 *db;
	struct graph_settings settings;
	char base_url[128];		/* "https://127.0.0.1:PORT": in @odata links and token aud */
	char tenant_id[40];		/* GUID */
	char tenant_domain[128];	/* "contoso.onmicrosoft.com" */
	EVP_PKEY *signing_key;		/* signs access tokens (RS256), kept in g_key */
	char kid[64];
	char *signing_cert_pem;		/* published at /discovery/v2.0/keys */
	pthread_mutex_t lock;		/* one request at a time touches the store */
	pthread_cond_t wake;		/* wakes the notifier thread */
	struct graph_throttle *throttle;
	pthread_t notifier;
	int stopping;
};

/* One Graph call. */
struct graph_req {
	const char *method;		/* upper case */
	const char *path;		/* after "/v1.0", decoded, no query: "/users/u1/messages" */
	const struct httpd_param *query;	/* decoded query parameters ($select, ...) */
	int nquery;
	json_t *body;			/* parsed JSON body or NULL (borrowed) */
	int body_invalid;		/* a body that is not JSON */
	/* Prefer headers, parsed */
	int immutable_ids;		/* IdType="ImmutableId" */
	long maxpagesize;		/* odata.maxpagesize, 0 = none */
	char timezone[64];		/* outlook.timezone, "" = UTC */
	char body_type[8];		/* outlook.body-content-type: "", "text" or "html" */
	/* the caller, from the access token */
	char app_id[40];
	json_t *roles;			/* application permissions (array), or NULL (borrowed) */
	const char *scp;		/* delegated scopes, or NULL */
	char request_id[40];
	const char *client_request_id;	/* echoed, may be NULL */
	int in_batch;
};

#define GRAPH_REPLY_MAX_HEADERS 8

struct graph_reply {
	int status;
	json_t *body;			/* owned; NULL for no body */
	char *text;			/* owned; a non-JSON body (text/plain), or NULL */
	struct httpd_param headers[GRAPH_REPLY_MAX_HEADERS];	/* owned */
	int nheaders;
};

int graph_sim_init(struct graph_sim *sim, const char *db_path, char *err, size_t errlen);
void graph_sim_free(struct graph_sim *sim);
void graph_sim_load_settings(struct graph_sim *sim);
int graph_sim_save_setting(struct graph_sim *sim, const char *key, const char *value);

/* The HTTP entry point (an httpd_handler; arg is the struct graph_sim). */
void graph_sim_handle(struct httpd_request *req, struct httpd_response *resp, void *arg);

/* Routes and runs one /v1.0 call; must be called with sim->lock held. Never fails: errors are
 * replies. Does not throttle (the caller did). */
void graph_sim_call(struct graph_sim *sim, struct graph_req *req, struct graph_reply *reply);

/* Replies. graph_reply_error builds {"error":{"code","message","innerError":{"date",
 * "request-id","client-request-id"}}}. json is stolen. */
void graph_reply_json(struct graph_reply *reply, int status, json_t *json);
void graph_reply_error(struct graph_reply *reply, const struct graph_req *req, int status,
    const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void graph_reply_header(struct graph_reply *reply, const char *name, const char *value);
void graph_reply_free(struct graph_reply *reply);

/* Applies a Prefer header value (several may be given comma-separated or in repeated headers)
 * to req: IdType="ImmutableId", odata.maxpagesize=N, outlook.timezone="...",
 * outlook.body-content-type="text|html". */
void graph_req_prefer(struct graph_req *req, const char *prefer);

/* Query parameter of a call ("$select"), or NULL. */
const char *graph_req_param(const struct graph_req *req, const char *name);

/* 1 when the token carries one of the roles in the NULL-terminated list. Otherwise fills reply
 * with Graph's answer for that family (code: "ErrorAccessDenied" for mail and calendar,
 * "Authorization_RequestDenied" for directory) and returns 0. */
int graph_require_role(const struct graph_req *req, struct graph_reply *reply,
    const char *const *roles, const char *code, const char *message);

/* Users (graph_users.c). A user by id (GUID) or userPrincipalName (case-insensitive). */
struct graph_user {
	char id[40];
	char upn[256];
	char mail[256];
	char display_name[256];
	int has_mailbox;
};
int graph_user_find(struct graph_sim *sim, const char *id_or_upn, struct graph_user *out);

/* Absolute URL of a path under the sim: base_url + path. Caller frees. */
char *graph_url(const struct graph_sim *sim, const char *path);

/* GUIDs and timestamps in Graph's formats. */
void graph_guid(char out[37]);
/* 1 if s (may be NULL) is a GUID in its 8-4-4-4-12 hex form, either case. */
int graph_is_guid(const char *s);
void graph_now_iso(char out[32]);		/* "2024-05-24T12:52:15Z" */
double graph_now(void);				/* seconds since the epoch, with fractions */

/* Change notifications (graph_notify.c): a message in folder_id of user_id, or an event
 * (folder_id NULL), was created, updated or deleted. rest_id is the id as default ids show it,
 * immutable_id as immutable ids show it. Queues a notification for every live subscription
 * whose resource and changeType match. Called with sim->lock held. */
void graph_notify_change(struct graph_sim *sim, const char *user_id, const char *folder_id,
    const char *rest_id, const char *immutable_id, int is_event, const char *change_type);

#endif
