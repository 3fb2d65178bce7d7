/* graph_fixture.c: graph-sim fixtures for integration tests (see graph_fixture.h). */
#include "graph_fixture.h"

#include <stdarg.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sim_http.h"
#include "sim_proc.h"

int
graph_fixture_start(struct sim_proc *p, const char *db, const char *seed, json_t **seeded)
{
	json_t *j = NULL;

	if (sim_proc_start_sim(p, "graph-sim", db) < 0)
		return -1;
	if (seed != NULL)
		j = sim_http_ctl(p->base_url, "POST", "/_sim/seed", seed, 200);
	if (seeded != NULL)
		*seeded = j;
	else
		json_decref(j);
	return 0;
}

int
graph_fixture_start_file(struct sim_proc *p, const char *seed_file, int wait_ms)
{
	char bin[4096];
	char *argv[] = { bin, "--listen", "127.0.0.1:0", "--db", ":memory:", "--seed",
	    (char *)seed_file, NULL };

	/* Our own copy: sim_proc_binary's buffer is static. */
	snprintf(bin, sizeof(bin), "%s", sim_proc_binary("graph-sim"));
	if (sim_proc_start_wait(p, argv, wait_ms) < 0) {
		fprintf(stderr, "cannot start %s with the seed %s\n", bin, seed_file);
		return -1;
	}
	return 0;
}

int
graph_fixture_stop(struct sim_proc *p)
{
	return sim_proc_stop_clean(p, "graph-sim");
}

json_t *
graph_fixture_reseed(const struct sim_proc *p, const char *seed)
{
	json_decref(sim_http_ctl(p->base_url, "POST", "/_sim/reset", NULL, 200));
	return sim_http_ctl(p->base_url, "POST", "/_sim/seed", seed, 200);
}

void
graph_fixture_config(const struct sim_proc *p, const char *body)
{
	json_decref(sim_http_ctl(p->base_url, "POST", "/_sim/config", body, 200));
}

void
graph_fixture_token(const struct sim_proc *p, const char *client_id, char *out, size_t len)
{
	char body[256];
	json_t *j;
	const char *t;

	snprintf(body, sizeof(body), "{\"clientId\":\"%s\"}", client_id);
	j = sim_http_ctl(p->base_url, "POST", "/_sim/token", body, 200);
	t = json_string_value(json_object_get(j, "access_token"));
	if (t == NULL || strlen(t) >= len)
		fail_msg("token for %s: no access_token that fits %zu bytes", client_id, len);
	snprintf(out, len, "%s", t);
	json_decref(j);
}

json_t *
graph_fixture_call(const struct sim_proc *p, const char *method, const char *path,
    const char *body, const char *token, const char *const *headers, long want)
{
	struct sim_http h;
	char what[1024];
	json_t *j;

	sim_http_do(&h, p->base_url, method, path, body, token, headers);
	snprintf(what, sizeof(what), "%s %s %s", method, path, body ? body : "");
	sim_http_expect(&h, want, what);
	j = h.json;
	h.json = NULL;
	sim_http_free(&h);
	return j;
}

const char *
graph_fixture_error_code(json_t *body)
{
	const char *c = json_string_value(json_object_get(json_object_get(body, "error"),
	    "code"));

	return c ? c : "";
}
