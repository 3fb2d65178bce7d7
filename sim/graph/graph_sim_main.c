/* graph_sim_main.c: the graph-sim command: a local Microsoft Graph (mail, calendar, change
 * notifications) and Entra token endpoint. Parses the command line, opens the store, seeds it,
 * starts the notifier, serves until SIGTERM/SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "graph_control.h"
#include "graph_notify.h"
#include "graph_sim.h"
#include "httpd.h"
#include "log.h"
#include "sim_setting.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: graph-sim --listen HOST:PORT --db FILE|:memory: [--seed FILE.json]\n"
	    "                 [--tls-cert FILE --tls-key FILE] [--log-level debug|info|warn|error]\n");
	exit(2);
}

static char *
read_pem(const char *path)
{
	char err[512];
	char *pem = crypto_read_pem_file(path, err, sizeof(err));

	if (pem == NULL)
		fatalx("graph-sim: %s", err);
	return pem;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *db = NULL, *seed = NULL, *cert = NULL, *key = NULL;
	enum log_level level = LOG_LEVEL_INFO;
	struct graph_sim sim;
	struct httpd_config cfg;
	struct httpd *srv;
	char err[1024], buf[64];
	sigset_t sigs;
	int c, sig;

	log_init("graph-sim", LOG_LEVEL_INFO);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 's': seed = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'v':
			if (log_level_parse(optarg, &level) < 0)
				fatalx("graph-sim: unknown log level \"%s\"", optarg);
			break;
		default: usage();
		}
	}
	if (listen == NULL || db == NULL || optind != argc || (cert == NULL) != (key == NULL))
		usage();
	log_set_level(level);

	if (graph_sim_init(&sim, db, err, sizeof(err)) < 0)
		fatalx("graph-sim: %s", err);
	/* A file database keeps its data across restarts: seed it only the first time. */
	if (seed != NULL) {
		json_error_t jerr;
		json_t *j;

		pthread_mutex_lock(&sim.lock);
		if (sim_setting_get(sim.db, "g_setting", "seeded_from", buf, sizeof(buf)) != NULL) {
			log_info("graph-sim: seed skipped, database already seeded file=%s", seed);
		} else {
			if ((j = json_load_file(seed, 0, &jerr)) == NULL)
				fatalx("graph-sim: %s:%d: %s", seed, jerr.line, jerr.text);
			if (graph_control_seed(&sim, j, err, sizeof(err)) < 0)
				fatalx("graph-sim: %s: %s", seed, err);
			graph_sim_save_setting(&sim, "seeded_from", seed);
			json_decref(j);
		}
		pthread_mutex_unlock(&sim.lock);
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = listen;
	cfg.max_body = 16u << 20;
	cfg.max_uri = 16384;
	cfg.timeout_sec = 120;
	/* A request trickling in for a minute is a test gone wrong or a slow-client attack. */
	cfg.request_deadline_sec = 60;
	if (cert != NULL) {
		cfg.tls_cert_pem = read_pem(cert);
		cfg.tls_key_pem = read_pem(key);
	}
	srv = httpd_start(&cfg, graph_sim_handle, &sim, err, sizeof(err));
	if (srv == NULL)
		fatalx("graph-sim: %s", err);
	pthread_mutex_lock(&sim.lock);
	snprintf(sim.base_url, sizeof(sim.base_url), "%s://127.0.0.1:%d", cert ? "https" : "http",
	    httpd_port(srv));
	pthread_mutex_unlock(&sim.lock);
	if (graph_notify_start(&sim) < 0)
		fatalx("graph-sim: cannot start the notifier");
	printf("listening on 127.0.0.1:%d\n", httpd_port(srv));
	fflush(stdout);
	snprintf(buf, sizeof(buf), "%d", httpd_port(srv));
	log_info("graph-sim: started listen=127.0.0.1:%s db=%s tls=%s", buf, db,
	    cert ? "on" : "off");

	sigwait(&sigs, &sig);
	log_info("graph-sim: stopping signal=%d", sig);
	httpd_stop(srv);
	graph_notify_stop(&sim);
	graph_sim_free(&sim);
	free((char *)cfg.tls_cert_pem);
	free((char *)cfg.tls_key_pem);
	return 0;
}
