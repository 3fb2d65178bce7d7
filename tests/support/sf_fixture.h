/* sf_fixture.h: the sf-sim a Salesforce integration test runs against: started on an ephemeral
 * port, a token for the default admin, optionally seeded, and stopped at the end with a check
 * that it exited cleanly (under ASan a leak or a crash in sf-sim then fails the test). */
#ifndef SF_FIXTURE_H
#define SF_FIXTURE_H

#include <jansson.h>

#include "sim_proc.h"

struct sf_fixture {
	struct sim_proc p;
	char token[512];	/* the default admin's access token */
	json_t *keys;		/* the seed's _key -> Id, or NULL when not seeded (owned) */
};

/* Fills fx: starts sf-sim with database db (NULL: in memory), gets the admin token and, when
 * seed (JSON text) is not NULL, POSTs it to /_sim/seed. For setups, so no test assertion: -1
 * on failure, with nothing left running. */
int sf_fixture_start(struct sf_fixture *fx, const char *db, const char *seed);
/* Stops sf-sim and drops fx->keys: 0 for a clean exit, else -1 (see sim_proc_stop_clean). */
int sf_fixture_stop(struct sf_fixture *fx);

#endif
