/* graph_fixture.h: what the graph-sim integration tests do around their requests: start
 * graph-sim and seed a tenant, reset it between tests, mint a token for an app, and call Graph
 * with a token expecting a status. Failures fail the running cmocka test. */
#ifndef GRAPH_FIXTURE_H
#define GRAPH_FIXTURE_H

#include <stddef.h>

#include <jansson.h>

struct sim_proc;

/* Starts graph-sim with database db (NULL: in memory) and, when seed (JSON text) is not NULL,
 * POSTs it to /_sim/seed. Returns the seed answer (caller decrefs; NULL when seed is NULL) in
 * *seeded when seeded is not NULL. -1 when graph-sim does not start. */
int graph_fixture_start(struct sim_proc *p, const char *db, const char *seed, json_t **seeded);
/* Starts graph-sim with an in-memory database seeded from the file seed_file at start
 * (`--seed`), for seeds too large for one control call; waits up to wait_ms for it. -1 when it
 * does not start. */
int graph_fixture_start_file(struct sim_proc *p, const char *seed_file, int wait_ms);
/* Stops graph-sim: 0 for a clean exit, else -1 (see sim_proc_stop_clean). */
int graph_fixture_stop(struct sim_proc *p);
/* POST /_sim/reset, then /_sim/seed with seed. Returns the seed answer; caller decrefs. */
json_t *graph_fixture_reseed(const struct sim_proc *p, const char *seed);
/* POST /_sim/config with body (JSON text), which must answer 200. */
void graph_fixture_config(const struct sim_proc *p, const char *body);
/* Mints an access token for client_id (POST /_sim/token) into out, which must hold it. */
void graph_fixture_token(const struct sim_proc *p, const char *client_id, char *out,
    size_t len);
/* A Graph call as token (NULL: none) with a body (JSON text or NULL) and extra header lines
 * (NULL-terminated, or NULL) that fails the test unless it answers want. Returns the parsed
 * body, NULL when there is none; caller decrefs. */
json_t *graph_fixture_call(const struct sim_proc *p, const char *method, const char *path,
    const char *body, const char *token, const char *const *headers, long want);
/* error.code of a Graph error body, or "" (never NULL: cmocka's string asserts crash on it). */
const char *graph_fixture_error_code(json_t *body);

#endif
