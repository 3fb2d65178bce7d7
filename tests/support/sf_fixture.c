/* sf_fixture.c: sf-sim fixtures for integration tests (see sf_fixture.h). */
#include "sf_fixture.h"

#include "sim_http.h"

int
sf_fixture_start(struct sf_fixture *fx, const char *db, const char *seed)
{
	fx->keys = NULL;
	if (sim_http_start_sf(&fx->p, db, fx->token, sizeof(fx->token)) < 0)
		return -1;
	if (seed != NULL && (fx->keys = sim_http_seed_sf(&fx->p, seed)) == NULL) {
		sim_proc_stop(&fx->p);
		return -1;
	}
	return 0;
}

int
sf_fixture_stop(struct sf_fixture *fx)
{
	int rc = sim_proc_stop_clean(&fx->p, "sf-sim");

	json_decref(fx->keys);
	fx->keys = NULL;
	return rc;
}
