/* sf_sim_bench.c: how fast sf-sim answers the two calls olsync leans on most: a keyed SOQL
 * lookup and a 200-record sObject Collection upsert. One client, one keep-alive connection, one
 * request at a time, so the figure is sf-sim's single-threaded service rate.
 * Usage: sf-sim-bench [--contacts N] [--lookups N] [--upserts N] (run by bench/sf-sim.sh). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "xmalloc.h"

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
seed_contacts(const char *base, long n)
{
	for (long done = 0; done < n; ) {
		json_t *contacts = json_array(), *body;
		struct sim_http h;

		for (long i = 0; i < 1000 && done < n; i++, done++)
			json_array_append_new(contacts, json_pack("{s:o,s:o}", "LastName",
			    json_sprintf("Person %ld", done), "Email",
			    json_sprintf("p%ld@bench.example", done)));
		body = json_pack("{s:o}", "Contact", contacts);
		sim_http_json(&h, base, "POST", "/_sim/seed", body, NULL);
		json_decref(body);
		if (h.status != 200) {
			fprintf(stderr, "sf-sim-bench: seed failed with %ld\n", h.status);
			exit(1);
		}
		sim_http_free(&h);
	}
}

/* Sends one request on the shared connection; exits on anything but the expected status. */
static void
send(struct httpc *c, const char *method, const char *url, const char *body, const char *auth,
    long want)
{
	const char *headers[] = { auth, NULL };
	struct httpc_request req = { .method = method, .url = url, .body = body,
	    .body_len = body ? strlen(body) : 0, .content_type = body ? "application/json" : NULL,
	    .headers = headers, .timeout_ms = 30000 };
	struct httpc_response resp;
	char err[256];

	if (httpc_do(c, &req, &resp, err, sizeof(err)) != HTTPC_OK || resp.status != want) {
		fprintf(stderr, "sf-sim-bench: %s %s: %s status=%ld body=%.300s\n", method, url, err,
		    resp.status, resp.body ? resp.body : "");
		exit(1);
	}
	httpc_response_free(&resp);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "contacts", required_argument, NULL, 'c' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "upserts", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	long contacts = 10000, lookups = 5000, upserts = 200;
	struct sim_proc sim;
	char token[512], auth[600], url[1024];
	struct httpc *c;
	double t0, lookup_s, create_s = 0, update_s;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': contacts = atol(optarg); break;
		case 'l': lookups = atol(optarg); break;
		case 'u': upserts = atol(optarg); break;
		default:
			fprintf(stderr, "usage: sf-sim-bench [--contacts N] [--lookups N] "
			    "[--upserts N]\n");
			return 2;
		}
	}
	if (contacts < 1 || lookups < 1 || upserts < 1)
		return 2;
	if (sim_http_start_sf(&sim, NULL, token, sizeof(token)) < 0) {
		fprintf(stderr, "sf-sim-bench: cannot start %s\n", sim_proc_binary("sf-sim"));
		return 1;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	seed_contacts(sim.base_url, contacts);
	c = httpc_new();

	srand(42);
	t0 = now_sec();
	for (long i = 0; i < lookups; i++) {
		char soql[256], *q;

		snprintf(soql, sizeof(soql), "SELECT Id, AccountId, OwnerId FROM Contact WHERE "
		    "Email = 'p%ld@bench.example'", (long)rand() % contacts);
		q = httpc_escape(soql);
		snprintf(url, sizeof(url), "%s/services/data/v62.0/query?q=%s", sim.base_url, q);
		free(q);
		send(c, "GET", url, NULL, auth, 200);
	}
	lookup_s = now_sec() - t0;

	/* Two rounds over the same keys: the first creates 200 Tasks a call, the second updates. */
	snprintf(url, sizeof(url), "%s/services/data/v62.0/composite/sobjects/Task/"
	    "OutlookMessageId__c", sim.base_url);
	t0 = now_sec();
	for (int round = 0; round < 2; round++) {
		for (long i = 0; i < upserts; i++) {
			json_t *records = json_array(), *body;
			char *text;

			for (int r = 0; r < 200; r++)
				json_array_append_new(records, json_pack("{s:{s:s},s:o,s:o,s:s}",
				    "attributes", "type", "Task", "OutlookMessageId__c",
				    json_sprintf("<m%ld.%d@bench.example>", i, r), "Subject",
				    json_sprintf("Email: message %ld/%d round %d", i, r, round),
				    "Status", "Completed"));
			body = json_pack("{s:b,s:o}", "allOrNone", 0, "records", records);
			text = json_dumps(body, JSON_COMPACT);
			send(c, "PATCH", url, text, auth, 200);
			free(text);
			json_decref(body);
		}
		if (round == 0) {
			create_s = now_sec() - t0;
			t0 = now_sec();
		}
	}
	update_s = now_sec() - t0;

	printf("| sf-sim call (one connection, sequential) | requests | seconds | requests/s | "
	    "records/s |\n|---|---|---|---|---|\n");
	printf("| keyed SOQL lookup (Contact by Email, %ld contacts) | %ld | %.2f | %.0f | - |\n",
	    contacts, lookups, lookup_s, lookups / lookup_s);
	printf("| 200-record collection upsert, all new | %ld | %.2f | %.1f | %.0f |\n", upserts,
	    create_s, upserts / create_s, upserts * 200 / create_s);
	printf("| 200-record collection upsert, all existing | %ld | %.2f | %.1f | %.0f |\n",
	    upserts, update_s, upserts / update_s, upserts * 200 / update_s);
	httpc_free(c);
	sim_proc_stop(&sim);
	return 0;
}
