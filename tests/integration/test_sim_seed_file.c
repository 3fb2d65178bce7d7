/* test_sim_seed_file.c: `--seed FILE` on a file database seeds it once: a restart with the same
 * seed keeps the records (no second copy, no refusal on unique keys), for both emulators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim_http.h"
#include "sim_proc.h"
#include "tmpdir.h"

/* Starts name with a file database and a seed file; 0 when it came up. */
static int
start_seeded(struct sim_proc *p, const char *name, const char *db, const char *seed)
{
	char bin[4096];
	char *argv[] = { bin, "--listen", "127.0.0.1:0", "--db", (char *)db, "--seed",
	    (char *)seed, NULL };

	snprintf(bin, sizeof(bin), "%s", sim_proc_binary(name));
	return sim_proc_start(p, argv);
}

static size_t
sf_accounts(const char *base)
{
	struct sim_http h;
	size_t n;

	sim_http_do(&h, base, "GET", "/_sim/records/Account", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	n = json_array_size(json_object_get(h.json, "records"));
	sim_http_free(&h);
	return n;
}

static void
test_sf_sim_seeds_once(void **state)
{
	char dir[256], db[512], seed[512];
	struct sim_proc p;

	(void)state;
	assert_int_equal(tmpdir_make(dir, sizeof(dir), "seedfile"), 0);
	tmpdir_write(dir, "seed.json", "{\"User\":[{\"Username\":\"rep@x.example\","
	    "\"Email\":\"rep@x.example\",\"LastName\":\"Rep\",\"Alias\":\"rep\"}],"
	    "\"Account\":[{\"Name\":\"Acme\"}]}", 0600);
	snprintf(db, sizeof(db), "%s/sf.db", dir);
	snprintf(seed, sizeof(seed), "%s/seed.json", dir);
	for (int run = 0; run < 2; run++) {
		/* The second start would fail on the unique Username if it seeded again. */
		assert_int_equal(start_seeded(&p, "sf-sim", db, seed), 0);
		assert_int_equal(sf_accounts(p.base_url), 1);
		assert_int_equal(sim_proc_stop_clean(&p, "sf-sim"), 0);
	}
	tmpdir_remove(dir);
}

static void
test_graph_sim_seeds_once(void **state)
{
	char dir[256], db[512], seed[512];
	struct sim_proc p;
	struct sim_http h;

	(void)state;
	assert_int_equal(tmpdir_make(dir, sizeof(dir), "seedfile"), 0);
	tmpdir_write(dir, "seed.json", "{\"apps\":[{\"clientId\":\"app1\",\"secret\":\"s\","
	    "\"roles\":[\"User.Read.All\"]}],\"users\":[{\"userPrincipalName\":"
	    "\"rep@contoso.onmicrosoft.com\"}]}", 0600);
	snprintf(db, sizeof(db), "%s/graph.db", dir);
	snprintf(seed, sizeof(seed), "%s/seed.json", dir);
	for (int run = 0; run < 2; run++) {
		/* Seeding twice would refuse the duplicate app and user and stop the sim. */
		assert_int_equal(start_seeded(&p, "graph-sim", db, seed), 0);
		sim_http_do(&h, p.base_url, "POST", "/_sim/token", "{\"clientId\":\"app1\"}", NULL,
		    NULL);
		assert_int_equal(h.status, 200);
		sim_http_free(&h);
		assert_int_equal(sim_proc_stop_clean(&p, "graph-sim"), 0);
	}
	tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sf_sim_seeds_once),
		cmocka_unit_test(test_graph_sim_seeds_once),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
