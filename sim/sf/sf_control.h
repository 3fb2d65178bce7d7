/* sf_control.h: sf-sim's control API under /_sim/ (not part of Salesforce): reset, seed, record
 * dumps, statistics, settings and scripted faults for tests, benchmarks and the demo.
 * Documented call by call in docs/sf-sim.md. */
#ifndef SF_CONTROL_H
#define SF_CONTROL_H

#include "httpd.h"
#include "sf_sim.h"

/* A scripted misbehaviour, taken for one matching request. */
struct sf_fault {
	int status;			/* 0: none; else answer with this status */
	char error_code[64];		/* errorCode of the JSON error body */
	char message[256];
	int html;			/* answer an HTML page instead of JSON (503 from the edge) */
	long delay_ms;			/* wait this long before answering (or before dropping) */
	int drop;			/* close the connection without answering */
	int after_commit;		/* run the request for real, then drop/fail the answer */
	int subrequest;			/* for a subrequest of /composite, /composite/batch or a
					 * graph, not for a request: the subrequest alone fails */
};

/* Handles every /_sim/ request. Called with sim->lock held. */
void sf_control_handle(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp);

/* Takes (decrements) the first scripted fault matching method and path, if any: 1 and *out
 * filled, or 0. Called with sim->lock held. */
int sf_control_fault_take(struct sf_sim *sim, const char *method, const char *path,
    struct sf_fault *out);

/* The same for a subrequest (method and path of its url): faults scripted with "subrequest". */
int sf_control_subfault_take(struct sf_sim *sim, const char *method, const char *path,
    struct sf_fault *out);

/* Seeds records from {"User":[{...}], "Contact":[...], "ConnectedApp":[...]} (records may carry a
 * "_key" and name each other as "@key"). Used by POST /_sim/seed and --seed FILE. On success
 * *keys maps each _key to its id (caller owns). -1 with a message in err. */
int sf_control_seed(struct sf_sim *sim, json_t *seed, json_t **keys, char *err, size_t errlen);

/* Creates sf-sim's control tables and the built-in admin user (Username admin@sf-sim.local) when
 * it does not exist yet, so a fresh database is usable at once. Idempotent; called at start and
 * after POST /_sim/reset. -1 on failure (logged). Called with sim->lock held or before serving. */
int sf_control_bootstrap(struct sf_sim *sim);

/* Counts one request for GET /_sim/stats' per-route table. */
void sf_control_count_route(struct sf_sim *sim, const char *method, const char *route);

#endif
