/* sf_sim.h: sf-sim's core: its state, and the dispatcher that answers one Salesforce REST call.
 * The HTTP layer and the composite resources both call sf_sim_call, so a subrequest inside
 * /composite behaves exactly like the same request sent alone.
 *
 * Path of a request: sf_sim_handle (HTTP: auth, API counting, faults, limits) -> sf_sim_call
 * (routing by path) -> sf_rest.c (versions, limits, query, sObjects), sf_composite.c,
 * sf_auth.c (/services/oauth2), sf_control.c (/_sim) -> sf_dml.c (validated writes) -> sf_store.c. */
#ifndef SF_SIM_H
#define SF_SIM_H

#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "httpd.h"
#include "sf_error.h"
#include "sf_schema.h"
#include "sf_store.h"

#define SF_API_MIN 45
#define SF_API_MAX 62
#define SF_DEFAULT_DAILY_LIMIT 100000

/* Org-level behaviour a test or a user can change (POST /_sim/config; stored in sim_setting). */
struct sf_settings {
	long daily_api_limit;		/* DailyApiRequests Max */
	long token_ttl_sec;		/* access token lifetime (session timeout) */
	int enhanced_email;		/* EmailMessage creates its Task */
	int lead_duplicate_rule;	/* DUPLICATES_DETECTED on Lead Email */
	int contact_duplicate_rule;	/* DUPLICATES_DETECTED on Contact Email */
	int duplicate_rule_blocks;	/* 1: rule action Block (header cannot bypass); 0: Alert */
	int query_batch_size;		/* default rows per query page (2000) */
};

struct sf_sim {
	struct sf_schema schema;
	struct sf_store store;
	struct sf_settings settings;
	char base_url[128];		/* "http://127.0.0.1:PORT", the instance_url */
	char org_id[19];
	pthread_mutex_t lock;		/* one request at a time touches the store */
};

/* One REST call: an HTTP request, or a subrequest of /composite or /composite/batch. */
struct sf_call {
	const char *method;		/* upper case */
	const char *path;		/* decoded, without query: "/services/data/v62.0/query" */
	const struct httpd_param *query;	/* decoded query parameters */
	int nquery;
	json_t *body;			/* parsed JSON body, or NULL (borrowed) */
	const char *raw_body;		/* for JSON_PARSER_ERROR reporting, may be NULL */
	int body_invalid;		/* body present but not JSON: JSON_PARSER_ERROR */
	char version[8];		/* "62.0", from the path */
	int api_major;			/* 62 */
	char user_id[19];		/* the running user, from the token */
	const char *dup_rule_header;	/* Sforce-Duplicate-Rule-Header, or NULL */
	const char *query_options;	/* Sforce-Query-Options, or NULL */
	int in_composite;		/* a subrequest of /composite: counted once with its parent */
};

/* What a call answers. */
struct sf_reply {
	int status;
	json_t *body;			/* owned; NULL for no body (204) */
	char location[256];		/* Location header, or "" */
	int api_calls;			/* calls this request counts against the daily limit */
};

/* Initializes sim from a schema file and a database path. -1 with a message in err. */
int sf_sim_init(struct sf_sim *sim, const char *schema_path, const char *db_path, char *err,
    size_t errlen);
void sf_sim_free(struct sf_sim *sim);
/* Reads sf_settings back from the database (after /_sim/config or a restart). */
void sf_sim_load_settings(struct sf_sim *sim);
int sf_sim_save_setting(struct sf_sim *sim, const char *key, const char *value);

/* The HTTP entry point (an httpd_handler; arg is the struct sf_sim). */
void sf_sim_handle(struct httpd_request *req, struct httpd_response *resp, void *arg);

/* Routes and runs one data API call (path under /services/data/vXX.X/). Must be called with
 * sim->lock held. Fills reply; never fails (errors are replies). */
void sf_sim_call(struct sf_sim *sim, struct sf_call *call, struct sf_reply *reply);

/* Sets reply to an error: status and the one-element array body. */
void sf_reply_error(struct sf_reply *reply, const struct sf_error *err);
/* Salesforce's 405 METHOD_NOT_ALLOWED, e.g. "HTTP Method 'GET' not allowed. Allowed are POST"
 * (allowed: the methods, comma-separated). */
void sf_reply_method_not_allowed(struct sf_reply *reply, const char *method,
    const char *allowed);
/* Sets reply to status + body (stolen). */
void sf_reply_json(struct sf_reply *reply, int status, json_t *body);
void sf_reply_free(struct sf_reply *reply);

/* Parses "/services/data/vXX.X/rest..." into call->version / api_major; returns the rest
 * ("/query", "" for the version root) or NULL when the path is not versioned. */
const char *sf_sim_split_version(const char *path, struct sf_call *call);
/* Query parameter of a call, or NULL. */
const char *sf_call_param(const struct sf_call *call, const char *name);

/* API usage in the rolling 24 hours, and one more call counted. */
long sf_sim_api_used(struct sf_sim *sim);
void sf_sim_api_count(struct sf_sim *sim, int calls);

#endif
