/* graph_control.h: graph-sim's control API under /_sim/ (not part of Graph): reset, seed,
 * mail delivery and moves, meetings and responses, lifecycle events, statistics, deliveries,
 * settings and scripted faults. Documented in docs/graph-sim.md. */
#ifndef GRAPH_CONTROL_H
#define GRAPH_CONTROL_H

#include "graph_sim.h"
#include "httpd.h"

/* A scripted misbehaviour for one matching request. */
struct graph_fault {
	int status;			/* 0: none */
	char code[64];			/* error code of the Graph error body */
	char message[256];
	double retry_after;		/* Retry-After header when > 0 */
	long delay_ms;
	int drop;			/* close the connection without answering */
};

/* Handles every /_sim request. Called with sim->lock held. */
void graph_control_handle(struct graph_sim *sim, struct httpd_request *req,
    struct httpd_response *resp);

/* Seeds {"tenant":{"id","domain"},"apps":[{"clientId","secret","certificate","roles":[],
 * "scopes":[],"displayName"}],"users":[{...}],"mail":[{...}],"events":[{...}]}. -1 with err;
 * nothing is kept on failure. Called with sim->lock held. */
int graph_control_seed(struct graph_sim *sim, json_t *seed, char *err, size_t errlen);

/* Takes the first scripted fault matching method and path: 1 and *out, or 0. */
int graph_control_fault_take(struct graph_sim *sim, const char *method, const char *path,
    struct graph_fault *out);

/* Adds n to counter key of GET /_sim/stats ("route:GET /v1.0/users/{id}/messages",
 * "mailbox:<user id>", "throttled", "notifications.sent", ...). */
void graph_control_count(struct graph_sim *sim, const char *key, long n);

/* The statistics key of a request: "route:" + method + path with keys replaced
 * ("route:GET /v1.0/users/{id}/mailFolders/{id}/messages/delta"; mailFolders('inbox') counts as
 * mailFolders/{id}, the tenant of identity paths as {tenant}). path is decoded, without the
 * query. Always NUL-terminates out. */
void graph_control_route_key(const char *method, const char *path, char *out, size_t outlen);

#endif
