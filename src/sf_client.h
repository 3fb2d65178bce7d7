/* sf_client.h: olsync's Salesforce REST client: JWT-bearer (or refresh-token) login, one fresh
 * token on 401 INVALID_SESSION_ID, failures classified once (remote.h), the API budget from
 * Sforce-Limit-Info, and the calls olsync makes: SOQL queries (paged), /composite with up to 5
 * query subrequests, and sObject Collections (create, update by Id, upsert by external id; 200 a
 * collection, up to 5 collections packed in one /composite call). */
#ifndef OL_SF_CLIENT_H
#define OL_SF_CLIENT_H

#include <jansson.h>

#include "config.h"
#include "remote.h"

#define SF_CLIENT_COLLECTION_MAX 200	/* records per sObject Collections call */
#define SF_CLIENT_COMPOSITE_QUERIES 5	/* query subrequests per /composite call */
/* The longest query sent inside /composite: SOQL's statement limit of 100,000 characters
 * (reference 2.3). A query there travels in the request body, not in a GET URL, so the 16,384-byte
 * URI limit that bounds a plain query does not apply. Measured percent-encoded (never shorter
 * than the characters), so any query that fits is under both. */
#define SF_CLIENT_COMPOSITE_SOQL_MAX 100000
/* REQUEST_LIMIT_EXCEEDED (REMOTE_WAIT) carries no Retry-After and the daily budget is a rolling
 * 24 hours, so the earliest useful retry is unknowable: wait_sec is 0 and the engine decides
 * when to look again (its retry_base option). */
#define SF_CLIENT_QUERY_MAX_PAGES 1000	/* a query paging further fails (a looping peer) */

struct sf_client;

/* Creates a client for cfg (borrowed for the client's life). Logs in lazily on the first call.
 * NULL with err on a bad configuration (e.g. an unreadable key). */
struct sf_client *sf_client_new(const struct config *cfg, char *err, size_t errlen);
void sf_client_free(struct sf_client *c);

/* Logs in now (for `olsync doctor` and start-up checks). 0, or -1 with f filled. */
int sf_client_login(struct sf_client *c, struct remote_failure *f);

/* Runs one SOQL query and follows nextRecordsUrl; *records is the array of every record (caller
 * owns). 0 or -1 with f. */
int sf_client_query(struct sf_client *c, const char *soql, json_t **records,
    struct remote_failure *f);

/* Runs up to SF_CLIENT_COMPOSITE_QUERIES queries in one /composite call (one API call);
 * (*results)[i] is the records array of soqls[i] (caller owns *results). A query that failed on
 * its own makes the whole call fail with f (they are lookups: all or nothing is simpler). */
int sf_client_queries(struct sf_client *c, const char *const *soqls, size_t n, json_t **results,
    struct remote_failure *f);

/* sObject Collections: creates or upserts up to SF_CLIENT_COLLECTION_MAX records of one type
 * (allOrNone false). records: array of field objects (no "attributes": the client adds them).
 * On a call-level success returns 0 and (*results)[i] is {"id"?, "success", "errors":[...],
 * "created"?} for records[i], with per-record failures classified in (*classes)[i] (caller frees
 * both); -1 with f when the whole call failed. ext_field NULL: create. */
int sf_client_collection(struct sf_client *c, const char *sobject, const char *ext_field,
    json_t *records, json_t **results, enum remote_class **classes, struct remote_failure *f);

/* sObject Collections update: like sf_client_collection, but each record names the record it
 * changes by "Id" (a record without one fails the call before anything is sent). */
int sf_client_collection_update(struct sf_client *c, const char *sobject, json_t *records,
    json_t **results, enum remote_class **classes, struct remote_failure *f);

/* One sObject Collections write of a packed call. */
enum sf_collection_op {
	SF_COLLECTION_CREATE,
	SF_COLLECTION_UPDATE,		/* by each record's "Id" */
	SF_COLLECTION_UPSERT,		/* on ext_field */
};

struct sf_collection {
	enum sf_collection_op	 op;
	const char		*sobject;
	const char		*ext_field;	/* SF_COLLECTION_UPSERT only */
	json_t			*records;	/* at most SF_CLIENT_COLLECTION_MAX; borrowed */
	/* outcome when the call went through: results and classes as sf_client_collection's
	 * (caller frees both), or failure (not REMOTE_OK) when this collection failed as a whole,
	 * e.g. a 500 for its subrequest alone */
	json_t			*results;
	enum remote_class	*classes;
	struct remote_failure	 failure;
};

/* Up to SF_CLIENT_COMPOSITE_QUERIES collections in one API call: one /composite (allOrNone
 * false) with a collection subrequest each, or, for a single one, the plain collection call.
 * 0 when the call went through (each collection's outcome in cols[i]); -1 with f when it did
 * not, or when one of them cannot be sent (nothing was). */
int sf_client_collections(struct sf_client *c, struct sf_collection *cols, size_t n,
    struct remote_failure *f);

/* sObject Collections delete: up to SF_CLIENT_COLLECTION_MAX ids (of any types), allOrNone
 * false; results and classes as sf_client_collection. A record already deleted
 * (ENTITY_IS_DELETED) or gone (INVALID_CROSS_REFERENCE_KEY, NOT_FOUND) counts as deleted:
 * its class is REMOTE_OK. */
int sf_client_collection_delete(struct sf_client *c, const char *const *ids, size_t n,
    json_t **results, enum remote_class **classes, struct remote_failure *f);
/* GET /sobjects/{sobject}/describe, uncached (for `olsync doctor`): *describe is the whole
 * answer, as the integration user sees it (createable, updateable, and per field type,
 * externalId, unique, ...), with a "fields" array (caller decrefs). 0 or -1 with f. */
int sf_client_describe(struct sf_client *c, const char *sobject, json_t **describe,
    struct remote_failure *f);
/* The type describe gives field of sobject ("date", "datetime", ...): one describe call per
 * sobject for the life of the client (cached). *type is borrowed from the client. A field that
 * does not exist is REMOTE_FINAL with code "INVALID_FIELD" and a message naming it. */
int sf_client_field_type(struct sf_client *c, const char *sobject, const char *field,
    const char **type, struct remote_failure *f);

/* The class of one sObject Collections result ({"success", "errors":[{"statusCode",
 * "message", "fields"}]}): REMOTE_OK on success, REMOTE_TEMP for UNABLE_TO_LOCK_ROW, else
 * REMOTE_FINAL; f (may be NULL) gets the first error's code and message, for the ledger. */
enum remote_class sf_client_record_failure(const json_t *result, struct remote_failure *f);

/* The API usage seen in the last Sforce-Limit-Info header: used and max (0 when unknown). */
void sf_client_api_usage(const struct sf_client *c, long *used, long *max);
/* Requests this client sent to the data API, answered or not, token requests excluded (for
 * tests and bench). */
long sf_client_calls(const struct sf_client *c);

/* The API budget's say before each data call (budget.c): 0 lets the call go; -1 refuses it:
 * nothing is sent and the call fails REMOTE_WAIT with code SF_CLIENT_BUDGET_CODE and wait_sec
 * from *wait_sec. */
typedef int sf_client_gate_fn(void *arg, double *wait_sec);
#define SF_CLIENT_BUDGET_CODE	"OLSYNC_BUDGET"
/* Installs gate (NULL: none); arg is borrowed for the client's life. */
void sf_client_set_gate(struct sf_client *c, sf_client_gate_fn *gate, void *arg);
/* GET /limits: one call, made to learn the org's usage (sf_client_api_usage) when there is no
 * other call to learn it from. 0 or -1 with f. */
int sf_client_limits(struct sf_client *c, struct remote_failure *f);

#endif
