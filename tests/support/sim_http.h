/* sim_http.h: one-line HTTP exchanges with an emulator for integration tests: send a request,
 * get the status, the parsed JSON body and the headers back. */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <jansson.h>

#include "httpc.h"

struct sim_http {
	long status;			/* 0 when no HTTP response arrived */
	enum httpc_fail fail;		/* HTTPC_OK when a response arrived */
	json_t *json;			/* parsed body, or NULL (not JSON, or empty) */
	struct httpc_response resp;	/* raw body and headers */
};

/* Sends method base+path with an optional JSON body (text, may be NULL) and an optional bearer
 * token (may be NULL). extra_headers: NULL-terminated "Name: value" lines or NULL. Always fills
 * out; release with sim_http_free. */
void sim_http_do(struct sim_http *out, const char *base, const char *method, const char *path,
    const char *body, const char *token, const char *const *extra_headers);
/* Same, body given as a jansson value (not stolen). */
void sim_http_json(struct sim_http *out, const char *base, const char *method, const char *path,
    json_t *body, const char *token);
/* application/x-www-form-urlencoded POST. */
void sim_http_form(struct sim_http *out, const char *base, const char *path, const char *form,
    const char *const *extra_headers);
const char *sim_http_header(const struct sim_http *h, const char *name);
void sim_http_free(struct sim_http *h);

/* Fails the running cmocka test unless h answered status want; the message names what and
 * shows the body. */
void sim_http_expect(const struct sim_http *h, long want, const char *what);
/* A call to an emulator's /_sim control API (no token, body JSON text or NULL) that fails the
 * test unless it answers want with a JSON body (every control answer has one). Returns the
 * parsed body; caller decrefs. */
json_t *sim_http_ctl(const char *base, const char *method, const char *path, const char *body,
    long want);

/* The errorCode of a Salesforce error array body ([{"errorCode":..}]), or "". */
const char *sim_http_error_code(const struct sim_http *h);

/* Starts sf-sim on an ephemeral port with an in-memory database (or db when not NULL) and gets
 * a token for the default admin via POST /_sim/token. token is a static-lifetime buffer the
 * caller passes in (at least 256 bytes). -1 on failure. */
struct sim_proc;
int sim_http_start_sf(struct sim_proc *p, const char *db, char *token, size_t tokenlen);
/* For fixtures, so no test assertion: POSTs seed (JSON text) to sf-sim's /_sim/seed and returns
 * the answer's "keys" (_key -> Id; caller decrefs), or NULL with a line on stderr when the seed
 * is refused. */
json_t *sim_http_seed_sf(const struct sim_proc *p, const char *seed);

#endif
