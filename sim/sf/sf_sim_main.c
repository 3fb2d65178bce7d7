/* sf_sim_main.c: the sf-sim command: a local Salesforce REST API for tests, benchmarks, demos
 * and pilots. Parses the command line, opens the store, seeds it, serves until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "log.h"
#include "sf_control.h"
#include "sf_sim.h"
#include "sim_setting.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sf-sim --listen HOST:PORT --db FILE|:memory: [--seed FILE.json]\n"
	    "              [--schema FILE.json] [--token-ttl SECONDS] [--daily-limit N]\n"
	    "              [--log-level debug|info|warn|error]\n");
	exit(2);
}

static long
number(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min)
		fatalx("sf-sim: %s wants a number >= %ld, got \"%s\"", opt, min, s);
	return v;
}

static json_t *
load_json_file(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (j == NULL)
		fatalx("sf-sim: %s:%d: %s", path, jerr.line, jerr.text);
	return j;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "schema", required_argument, NULL, 'S' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "daily-limit", required_argument, NULL, 'L' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *db = NULL, *seed = NULL, *schema = SF_SIM_DEFAULT_SCHEMA;
	long ttl = -1, limit = -1;
	enum log_level level = LOG_LEVEL_INFO;
	struct sf_sim sim;
	struct httpd_config cfg;
	struct httpd *srv;
	char err[1024], buf[32];
	sigset_t sigs;
	int c, sig;

	log_init("sf-sim", LOG_LEVEL_INFO);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 's': seed = optarg; break;
		case 'S': schema = optarg; break;
		case 't': ttl = number("--token-ttl", optarg, 1); break;
		case 'L': limit = number("--daily-limit", optarg, 0); break;
		case 'v':
			if (log_level_parse(optarg, &level) < 0)
				fatalx("sf-sim: unknown log level \"%s\"", optarg);
			break;
		default: usage();
		}
	}
	if (listen == NULL || db == NULL || optind != argc)
		usage();
	log_set_level(level);

	if (sf_sim_init(&sim, schema, db, err, sizeof(err)) < 0)
		fatalx("sf-sim: %s", err);
	if (ttl > 0) {
		snprintf(buf, sizeof(buf), "%ld", ttl);
		sf_sim_save_setting(&sim, "token_ttl_sec", buf);
	}
	if (limit >= 0) {
		snprintf(buf, sizeof(buf), "%ld", limit);
		sf_sim_save_setting(&sim, "daily_api_limit", buf);
	}
	if (sf_control_bootstrap(&sim) < 0)
		fatalx("sf-sim: cannot create the default admin user");
	/* A file database keeps its records across restarts: seed it only the first time. */
	if (seed != NULL && sim_setting_get(sim.store.db, "sim_setting", "seeded_from", buf,
	    sizeof(buf)) != NULL) {
		log_info("sf-sim: seed skipped, database already seeded file=%s", seed);
	} else if (seed != NULL) {
		json_t *j = load_json_file(seed), *keys = NULL;

		if (sf_control_seed(&sim, j, &keys, err, sizeof(err)) < 0)
			fatalx("sf-sim: %s: %s", seed, err);
		sf_sim_save_setting(&sim, "seeded_from", seed);
		json_decref(keys);
		json_decref(j);
	}

	/* Block the stop signals before the server threads start, so only sigwait sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = listen;
	cfg.max_body = 64u << 20;	/* composite bodies with long email bodies */
	cfg.max_uri = 16384;		/* Salesforce's URI + headers limit: longer is 414 */
	cfg.timeout_sec = 120;
	/* A request trickling in for a minute is a test gone wrong or a slow-client attack. */
	cfg.request_deadline_sec = 60;
	srv = httpd_start(&cfg, sf_sim_handle, &sim, err, sizeof(err));
	if (srv == NULL)
		fatalx("sf-sim: %s", err);
	pthread_mutex_lock(&sim.lock);
	snprintf(sim.base_url, sizeof(sim.base_url), "http://127.0.0.1:%d", httpd_port(srv));
	pthread_mutex_unlock(&sim.lock);
	printf("listening on 127.0.0.1:%d\n", httpd_port(srv));
	fflush(stdout);
	log_info("sf-sim: started listen=127.0.0.1:%d db=%s", httpd_port(srv), db);

	sigwait(&sigs, &sig);
	log_info("sf-sim: stopping signal=%d", sig);
	httpd_stop(srv);
	sf_sim_free(&sim);
	return 0;
}
