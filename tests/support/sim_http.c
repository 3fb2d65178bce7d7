/* sim_http.c: HTTP helpers for integration tests (see sim_http.h). */
#include "sim_http.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mono.h"
#include "sim_proc.h"

static void
run(struct sim_http *out, const char *base, const char *method, const char *path,
    const char *body, const char *content_type, const char *token,
    const char *const *extra_headers)
{
	struct httpc *c = httpc_new();
	struct httpc_request req;
	const char *headers[32];
	/* Graph access tokens run well past 1 KB (jwt.h bounds them at 16 KB). */
	char auth[16384 + 32], url[16384 + 256], err[512];
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL && n < 30; i++)
		headers[n++] = extra_headers[i];
	headers[n] = NULL;
	snprintf(url, sizeof(url), "%s%s", base, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = body ? content_type : NULL;
	req.headers = headers;
	req.timeout_ms = mono_scaled(30000);
	out->fail = httpc_do(c, &req, &out->resp, err, sizeof(err));
	if (out->fail == HTTPC_OK) {
		out->status = out->resp.status;
		if (out->resp.body_len > 0)
			out->json = json_loadb(out->resp.body, out->resp.body_len, JSON_DECODE_ANY,
			    NULL);
	}
	httpc_free(c);
}

void
sim_http_do(struct sim_http *out, const char *base, const char *method, const char *path,
    const char *body, const char *token, const char *const *extra_headers)
{
	run(out, base, method, path, body, "application/json", token, extra_headers);
}

void
sim_http_json(struct sim_http *out, const char *base, const char *method, const char *path,
    json_t *body, const char *token)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	run(out, base, method, path, text, "application/json", token, NULL);
	free(text);
}

void
sim_http_form(struct sim_http *out, const char *base, const char *path, const char *form,
    const char *const *extra_headers)
{
	run(out, base, "POST", path, form, "application/x-www-form-urlencoded", NULL,
	    extra_headers);
}

const char *
sim_http_header(const struct sim_http *h, const char *name)
{
	return httpc_header(&h->resp, name);
}

void
sim_http_free(struct sim_http *h)
{
	json_decref(h->json);
	httpc_response_free(&h->resp);
	memset(h, 0, sizeof(*h));
}

void
sim_http_expect(const struct sim_http *h, long want, const char *what)
{
	if (h->status != want)
		fail_msg("%s: status %ld, want %ld: %s", what, h->status, want,
		    h->resp.body ? h->resp.body : "(no body)");
}

json_t *
sim_http_ctl(const char *base, const char *method, const char *path, const char *body,
    long want)
{
	struct sim_http h;
	char what[512];
	json_t *j;

	sim_http_do(&h, base, method, path, body, NULL, NULL);
	snprintf(what, sizeof(what), "%s %s %s", method, path, body ? body : "");
	sim_http_expect(&h, want, what);
	if (h.json == NULL)
		fail_msg("%s: no JSON body: %s", what, h.resp.body ? h.resp.body : "(no body)");
	j = h.json;
	h.json = NULL;
	sim_http_free(&h);
	return j;
}

const char *
sim_http_error_code(const struct sim_http *h)
{
	const char *code = json_string_value(json_object_get(json_array_get(h->json, 0),
	    "errorCode"));

	return code ? code : "";
}

int
sim_http_start_sf(struct sim_proc *p, const char *db, char *token, size_t tokenlen)
{
	struct sim_http h;
	const char *t;
	int rc = -1;

	if (sim_proc_start_sim(p, "sf-sim", db) < 0)
		return -1;
	sim_http_do(&h, p->base_url, "POST", "/_sim/token", "{}", NULL, NULL);
	t = json_string_value(json_object_get(h.json, "access_token"));
	if (h.status == 200 && t != NULL && strlen(t) < tokenlen) {
		snprintf(token, tokenlen, "%s", t);
		rc = 0;
	}
	sim_http_free(&h);
	if (rc < 0)
		sim_proc_stop(p);
	return rc;
}

json_t *
sim_http_seed_sf(const struct sim_proc *p, const char *seed)
{
	struct sim_http h;
	json_t *keys = NULL;

	sim_http_do(&h, p->base_url, "POST", "/_sim/seed", seed, NULL, NULL);
	if (h.status == 200)
		keys = json_incref(json_object_get(h.json, "keys"));
	if (keys == NULL)
		fprintf(stderr, "POST /_sim/seed: status %ld: %s\n", h.status,
		    h.resp.body ? h.resp.body : "(no body)");
	sim_http_free(&h);
	return keys;
}
