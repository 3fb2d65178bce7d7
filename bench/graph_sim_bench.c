/* graph_sim_bench.c: how fast graph-sim serves the calls olsync's ingest leans on: a delta page
 * of 100 messages (the first page of a folder's initial round), a no-change delta round, and a
 * single message read. One client, one keep-alive connection, sequential requests.
 * Usage: graph-sim-bench [--messages N] [--pages N] (run by bench/graph-sim.sh). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "sim_http.h"
#include "sim_proc.h"

#define CLIENT_ID "bbbbbbbb-0000-4000-8000-000000000001"
#define UPN "rep@contoso.onmicrosoft.com"

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
control(const char *base, const char *path, json_t *body, json_t **out)
{
	struct sim_http h;

	sim_http_json(&h, base, "POST", path, body, NULL);
	if (h.status < 200 || h.status > 299) {
		fprintf(stderr, "graph-sim-bench: POST %s -> %ld %.300s\n", path, h.status,
		    h.resp.body ? h.resp.body : "");
		exit(1);
	}
	if (out != NULL)
		*out = json_incref(h.json);
	sim_http_free(&h);
}

/* GETs url on the shared connection, expects 200; returns the parsed body (caller frees). */
static json_t *
get(struct httpc *c, const char *url, const char *auth, const char *prefer)
{
	const char *headers[] = { auth, prefer, NULL };
	struct httpc_request req = { .method = "GET", .url = url, .headers = headers,
	    .timeout_ms = 30000 };
	struct httpc_response resp;
	char err[256];
	json_t *j;

	if (httpc_do(c, &req, &resp, err, sizeof(err)) != HTTPC_OK || resp.status != 200) {
		fprintf(stderr, "graph-sim-bench: GET %s: %s status=%ld %.300s\n", url, err,
		    resp.status, resp.body ? resp.body : "");
		exit(1);
	}
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	httpc_response_free(&resp);
	return j;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, 'm' },
		{ "pages", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	long messages = 1000, pages = 300;
	char *argv_sim[] = { NULL, "--listen", "127.0.0.1:0", "--db", ":memory:", NULL };
	char bin[4096], auth[4096], url[2048], *delta_link = NULL, *msg_id = NULL;
	struct sim_proc sim;
	struct httpc *c;
	json_t *seed, *tok, *page;
	double t0, page_s, empty_s, read_s;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': messages = atol(optarg); break;
		case 'p': pages = atol(optarg); break;
		default:
			fprintf(stderr, "usage: graph-sim-bench [--messages N] [--pages N]\n");
			return 2;
		}
	}
	if (messages < 100 || pages < 1)
		return 2;
	snprintf(bin, sizeof(bin), "%s", sim_proc_binary("graph-sim"));
	argv_sim[0] = bin;
	if (sim_proc_start(&sim, argv_sim) < 0) {
		fprintf(stderr, "graph-sim-bench: cannot start %s\n", bin);
		return 1;
	}
	seed = json_pack("{s:[{s:s,s:s,s:[s]}],s:[{s:s,s:s}]}", "apps", "clientId", CLIENT_ID,
	    "secret", "bench-secret", "roles", "Mail.Read", "users", "userPrincipalName", UPN,
	    "displayName", "Rep");
	control(sim.base_url, "/_sim/seed", seed, NULL);
	json_decref(seed);
	for (long i = 0; i < messages; i++) {
		json_t *mail = json_pack("{s:s,s:[s],s:o,s:s}", "from", "customer@example.com",
		    "to", UPN, "subject", json_sprintf("Quote request %ld", i), "body",
		    "<p>Hello, could you send a quote for 20 units? Thanks.</p>");

		control(sim.base_url, "/_sim/mail", mail, NULL);
		json_decref(mail);
	}
	seed = json_pack("{s:s}", "clientId", CLIENT_ID);
	control(sim.base_url, "/_sim/token", seed, &tok);
	json_decref(seed);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    json_string_value(json_object_get(tok, "access_token")));
	json_decref(tok);
	c = httpc_new();

	/* The first page of an initial round: 100 messages with the fields olsync selects. */
	snprintf(url, sizeof(url), "%s/v1.0/users/%s/mailFolders/inbox/messages/delta?$select="
	    "internetMessageId,subject,from,toRecipients,ccRecipients,receivedDateTime,"
	    "sentDateTime,conversationId,bodyPreview", sim.base_url, UPN);
	t0 = now_sec();
	for (long i = 0; i < pages; i++) {
		page = get(c, url, auth, "Prefer: odata.maxpagesize=100");
		if (json_array_size(json_object_get(page, "value")) != 100) {
			fprintf(stderr, "graph-sim-bench: a page without 100 messages\n");
			return 1;
		}
		if (msg_id == NULL)
			msg_id = strdup(json_string_value(json_object_get(json_array_get(
			    json_object_get(page, "value"), 0), "id")));
		json_decref(page);
	}
	page_s = now_sec() - t0;

	/* Follow one round to its deltaLink, then time rounds that find nothing new. */
	page = get(c, url, auth, "Prefer: odata.maxpagesize=1000");
	while (json_object_get(page, "@odata.nextLink") != NULL) {
		snprintf(url, sizeof(url), "%s",
		    json_string_value(json_object_get(page, "@odata.nextLink")));
		json_decref(page);
		page = get(c, url, auth, "Prefer: odata.maxpagesize=1000");
	}
	delta_link = strdup(json_string_value(json_object_get(page, "@odata.deltaLink")));
	json_decref(page);
	t0 = now_sec();
	for (long i = 0; i < pages; i++)
		json_decref(get(c, delta_link, auth, NULL));
	empty_s = now_sec() - t0;

	snprintf(url, sizeof(url), "%s/v1.0/users/%s/messages/%s", sim.base_url, UPN, msg_id);
	t0 = now_sec();
	for (long i = 0; i < pages; i++)
		json_decref(get(c, url, auth, NULL));
	read_s = now_sec() - t0;

	printf("| graph-sim call (one connection, sequential; %ld messages in the inbox) | "
	    "requests | seconds | requests/s |\n|---|---|---|---|\n", messages);
	printf("| delta page of 100 messages ($select, odata.maxpagesize=100) | %ld | %.2f | %.0f |\n",
	    pages, page_s, pages / page_s);
	printf("| delta round with no changes (deltaLink) | %ld | %.2f | %.0f |\n", pages, empty_s,
	    pages / empty_s);
	printf("| GET one message | %ld | %.2f | %.0f |\n", pages, read_s, pages / read_s);
	free(delta_link);
	free(msg_id);
	httpc_free(c);
	return sim_proc_stop(&sim) == 0 ? 0 : 1;
}
