/* sf_client.c: the Salesforce REST client (see sf_client.h): one keep-alive connection, a token
 * from the JWT bearer or refresh token grant, and every failure classified here, once, from the
 * status and Salesforce's errorCode (reference §5, §7), never later from message strings. */
#include "sf_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "err.h"
#include "httpc.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/* Salesforce wants exp within 3 minutes; a little less leaves room for our clock running fast. */
#define JWT_LIFETIME		150
#define MAX_RESPONSE		((size_t)64 << 20)	/* a query page of wide rows stays under */
#define MAX_TOKEN_RESPONSE	((size_t)64 << 10)
#define AUD_PROD		"https://login.salesforce.com"
#define AUD_TEST		"https://test.salesforce.com"
#define GRANT_JWT		"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
#define DATA_PREFIX		"/services/data/"

struct sf_client {
	const struct config	*cfg;
	struct httpc		*http;		/* one connection kept alive for every call */
	EVP_PKEY		*key;		/* JWT bearer; NULL with a refresh token */
	char			*aud;		/* the assertion's audience */
	char			*refresh_token;	/* secret; a rotated one replaces the configured */
	char			*token;		/* secret; NULL until logged in */
	char			*instance_url;	/* where data calls go, from the token response */
	long			 used, max;	/* Sforce-Limit-Info api-usage */
	long			 calls;
	json_t			*field_types;	/* sObject -> {field: describe type}, cached */
	sf_client_gate_fn	*gate;		/* asked before each data call, or NULL */
	void			*gate_arg;
};

/* Copies src into dst (size bytes), cut at a UTF-8 character boundary when too long. */
static void
copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
fail(struct remote_failure *f, enum remote_class cls, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
fail(struct remote_failure *f, enum remote_class cls, int status, const char *code,
    const char *fmt, ...)
{
	char buf[sizeof(f->message)];
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->cls = cls;
	f->status = status;
	copy_text(f->code, sizeof(f->code), code);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	copy_text(f->message, sizeof(f->message), buf);
}

static void
ok(struct remote_failure *f)
{
	memset(f, 0, sizeof(*f));
	f->cls = REMOTE_OK;
}

/* Wipes and frees a secret string. */
static void
wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* The audience a JWT bearer assertion names: Salesforce's hosts (login, My Domain) accept only
 * the login or test URL; anything else (sf-sim, an Experience Cloud site) is its own. */
static char *
login_audience(const char *login_url)
{
	const char *host = strstr(login_url, "://");
	size_t len;
	char *h;
	char *aud;

	host = host ? host + 3 : login_url;
	len = strcspn(host, ":/");
	h = xstrndup(host, len);
	for (char *p = h; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	len = strlen(h);
#define ENDS(suffix) (len >= sizeof(suffix) - 1 && strcmp(h + len - (sizeof(suffix) - 1), \
	suffix) == 0)
	if (strcmp(h, "test.salesforce.com") == 0 || ENDS(".sandbox.my.salesforce.com"))
		aud = xstrdup(AUD_TEST);
	else if (strcmp(h, "login.salesforce.com") == 0 || ENDS(".salesforce.com"))
		aud = xstrdup(AUD_PROD);
	else
		aud = xstrdup(login_url);
#undef ENDS
	free(h);
	return aud;
}

struct sf_client *
sf_client_new(const struct config *cfg, char *err, size_t errlen)
{
	struct sf_client *c;
	EVP_PKEY *key = NULL;
	char kerr[256];

	if (cfg->sf_login_url == NULL || cfg->sf_api_version == NULL || cfg->sf_client_id == NULL) {
		err_set(err, errlen, "sf: sf_login_url, sf_api_version and sf_client_id are needed");
		return NULL;
	}
	if (cfg->sf_auth == CONFIG_SF_AUTH_JWT) {
		if (cfg->sf_username == NULL || cfg->sf_private_key == NULL) {
			err_set(err, errlen, "sf: JWT bearer needs sf_username and sf_private_key");
			return NULL;
		}
		if ((key = crypto_privkey_load_pem(cfg->sf_private_key, kerr, sizeof(kerr))) ==
		    NULL) {
			err_set(err, errlen, "sf: sf_private_key: %s", kerr);
			return NULL;
		}
	} else if (cfg->sf_refresh_token == NULL) {
		err_set(err, errlen, "sf: the refresh token flow needs sf_refresh_token");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->cfg = cfg;
	c->http = httpc_new();
	c->key = key;
	c->aud = login_audience(cfg->sf_login_url);
	c->field_types = json_object();
	if (cfg->sf_refresh_token != NULL)
		c->refresh_token = xstrdup(cfg->sf_refresh_token);
	return c;
}

void
sf_client_free(struct sf_client *c)
{
	if (c == NULL)
		return;
	httpc_free(c->http);
	EVP_PKEY_free(c->key);
	free(c->aud);
	wipe(c->refresh_token);
	wipe(c->token);
	free(c->instance_url);
	json_decref(c->field_types);
	free(c);
}

/* Saves api-usage=N/M from Sforce-Limit-Info; other members (per-app-api-usage=, api-bursts=)
 * are skipped, as jsforce does. */
static void
note_usage(struct sf_client *c, const char *v)
{
	const char *p = v;
	char *end, *end2;
	long used, max;

	while (p != NULL && (p = strstr(p, "api-usage=")) != NULL) {
		if (p != v && p[-1] != ' ' && p[-1] != ',' && p[-1] != ';') {
			p += 10;
			continue;
		}
		used = strtol(p + 10, &end, 10);
		if (end == p + 10 || *end != '/')
			return;
		max = strtol(end + 1, &end2, 10);
		if (end2 == end + 1 || used < 0 || max <= 0)
			return;
		c->used = used;
		c->max = max;
		return;
	}
}

/* The first error of a Salesforce error body: an array of {errorCode|statusCode, message}.
 * Borrowed from body; NULL when it is not that shape. */
static const char *
error_code(const json_t *body, const char **message)
{
	const json_t *e = json_is_array(body) ? json_array_get(body, 0) : NULL;
	const char *code;

	*message = NULL;
	if (!json_is_object(e))
		return NULL;
	code = json_string_value(json_object_get(e, "errorCode"));
	if (code == NULL)
		code = json_string_value(json_object_get(e, "statusCode"));
	*message = json_string_value(json_object_get(e, "message"));
	return code;
}

/* Classifies a failed data API answer (reference §5, §7). body may be NULL (HTML, empty). */
static void
classify(int status, const json_t *body, const char *what, struct remote_failure *f)
{
	const char *message, *code = error_code(body, &message);
	char hcode[32];
	enum remote_class cls;

	if (code == NULL) {
		snprintf(hcode, sizeof(hcode), "HTTP_%d", status);
		code = hcode;
	}
	if (message == NULL)
		message = body == NULL ? "no JSON error in the answer" : "no message";
	if (strcmp(code, "UNABLE_TO_LOCK_ROW") == 0 || strcmp(code, "SERVER_UNAVAILABLE") == 0 ||
	    strcmp(code, "QUERY_TIMEOUT") == 0)
		/* NOLINTNEXTLINE(bugprone-branch-clone): a table of causes; several share a class */
		cls = REMOTE_TEMP;
	else if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0)
		/* The concurrent long-request limit clears in seconds; the daily one does not. */
		cls = strstr(message, "ConcurrentPerOrgLongTxn") != NULL ? REMOTE_TEMP : REMOTE_WAIT;
	else if (status == 401)
		cls = REMOTE_AUTH;
	else if (status >= 500 || status == 408 || status == 420)
		cls = REMOTE_TEMP;	/* 420 and 502 are Salesforce's edge, often HTML */
	else if (status == 429)
		cls = REMOTE_WAIT;
	else
		cls = REMOTE_FINAL;
	fail(f, cls, status, code, "%s: %s: %s", what, code, message);
}

/* Maps a transport failure to its class: the peer may be back in a moment. */
static void
transport_failure(enum httpc_fail hf, const char *what, const char *herr,
    struct remote_failure *f)
{
	static const char *const names[] = {
		[HTTPC_OK] = "ok", [HTTPC_CONNECT] = "connect", [HTTPC_TIMEOUT] = "timeout",
		[HTTPC_RESET] = "reset", [HTTPC_TOO_LARGE] = "too_large", [HTTPC_OTHER] = "transport",
	};

	/* An oversized answer will be as large next time. */
	fail(f, hf == HTTPC_TOO_LARGE ? REMOTE_FINAL : REMOTE_TEMP, 0, names[hf], "%s: %s",
	    what, herr);
}

/* The route of url for logs and messages: no scheme, host or query string (SOQL holds
 * addresses). Writes into buf. */
static const char *
route(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://");

	p = p ? strchr(p + 3, '/') : url;
	if (p == NULL)
		p = "/";
	snprintf(buf, len, "%.*s", (int)strcspn(p, "?"), p);
	return buf;
}

static int
login(struct sf_client *c, struct remote_failure *f)
{
	const struct config *cfg = c->cfg;
	struct httpc_request req;
	struct httpc_response resp;
	const char *headers[] = { "Accept: application/json", NULL };
	char herr[256], jerr[256];
	char *form = NULL, *url = NULL, *assertion = NULL, *a = NULL, *b = NULL, *d = NULL;
	const char *tok, *inst, *rt, *e, *desc;
	json_t *claims, *body = NULL;
	enum httpc_fail hf;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	wipe(c->token);
	c->token = NULL;
	if (c->key != NULL) {
		claims = json_pack("{s:s,s:s,s:s,s:I}", "iss", cfg->sf_client_id, "sub",
		    cfg->sf_username, "aud", c->aud, "exp", (json_int_t)time(NULL) + JWT_LIFETIME);
		assertion = jwt_sign_json(JWT_ALG_RS256, c->key, NULL, claims, jerr, sizeof(jerr));
		json_decref(claims);
		if (assertion == NULL) {
			fail(f, REMOTE_AUTH, 0, "jwt_sign", "sf: signing the JWT bearer assertion: %s",
			    jerr);
			goto out;
		}
		a = httpc_escape(assertion);
		form = xasprintf("grant_type=%s&assertion=%s", GRANT_JWT, a);
	} else {
		a = httpc_escape(cfg->sf_client_id);
		b = httpc_escape(c->refresh_token);
		d = cfg->sf_client_secret ? httpc_escape(cfg->sf_client_secret) : NULL;
		form = xasprintf("grant_type=refresh_token&client_id=%s&refresh_token=%s%s%s", a,
		    b, d ? "&client_secret=" : "", d ? d : "");
	}
	url = xasprintf("%s/services/oauth2/token", cfg->sf_login_url);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = form;
	req.body_len = strlen(form);
	req.content_type = "application/x-www-form-urlencoded";
	req.headers = headers;
	req.timeout_ms = cfg->http_timeout_ms;
	req.max_body = MAX_TOKEN_RESPONSE;
	hf = httpc_do(c->http, &req, &resp, herr, sizeof(herr));
	if (hf != HTTPC_OK) {
		transport_failure(hf, "sf: login", herr, f);
		goto out;
	}
	body = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (resp.status == 200) {
		tok = json_string_value(json_object_get(body, "access_token"));
		inst = json_string_value(json_object_get(body, "instance_url"));
		/* Our token goes wherever instance_url says: plain http only when the login URL
		 * itself is (the emulator on loopback; config allows nothing else). */
		if (tok == NULL || *tok == '\0' || inst == NULL || !(strncmp(inst, "https://", 8) ==
		    0 || (strncmp(inst, "http://", 7) == 0 &&
		    strncmp(cfg->sf_login_url, "http://", 7) == 0))) {
			fail(f, REMOTE_AUTH, 200, "bad_token_response", "sf: login at %s: the "
			    "answer has no usable access_token and instance_url: is this a "
			    "Salesforce login URL?", cfg->sf_login_url);
			goto out;
		}
		c->token = xstrdup(tok);
		free(c->instance_url);
		c->instance_url = xstrndup(inst, strlen(inst) - (inst[strlen(inst) - 1] == '/'));
		metrics_sf_instance(c->instance_url);
		if ((rt = json_string_value(json_object_get(body, "refresh_token"))) != NULL &&
		    c->key == NULL) {
			/* Rotation: the old refresh token no longer works. */
			wipe(c->refresh_token);
			c->refresh_token = xstrdup(rt);
		}
		log_info("sf: event=login grant=%s user=%s instance=%s", c->key ? "jwt-bearer" :
		    "refresh_token", cfg->sf_username ? cfg->sf_username : "-", c->instance_url);
		ok(f);
		rc = 0;
		goto out;
	}
	e = json_string_value(json_object_get(body, "error"));
	desc = json_string_value(json_object_get(body, "error_description"));
	if (resp.status >= 500 || resp.status == 408 || resp.status == 420 || resp.status == 429)
		fail(f, REMOTE_TEMP, (int)resp.status, e ? e : "login_unavailable",
		    "sf: login at %s: HTTP %ld", cfg->sf_login_url, resp.status);
	else
		/* invalid_grant and friends: the key, the app or the user is wrong; retrying
		 * will not help, a person must. */
		fail(f, REMOTE_AUTH, (int)resp.status, e ? e : "login_refused",
		    "sf: login as %s (client id %s) at %s refused: %s: %s",
		    cfg->sf_username ? cfg->sf_username : "(refresh token)", cfg->sf_client_id,
		    cfg->sf_login_url, e ? e : "HTTP error", desc ? desc : "no description");
out:
	if (rc == -1)
		log_warnx("sf: event=login_failed class=%s status=%d code=%s",
		    remote_class_name(f->cls), f->status, f->code);
	json_decref(body);
	httpc_response_free(&resp);
	wipe(form);
	wipe(assertion);
	wipe(a);
	wipe(b);
	wipe(d);
	free(url);
	return rc;
}

int
sf_client_login(struct sf_client *c, struct remote_failure *f)
{
	return login(c, f);
}

/* One request to the data API with the current token. 0 with *out the parsed 2xx body (NULL
 * when empty), or -1 with f classified. */
static int
exchange(struct sf_client *c, const char *method, const char *path, const char *body,
    int fresh, json_t **out, struct remote_failure *f)
{
	struct httpc_request req;
	struct httpc_response resp;
	char herr[256], rbuf[256], *url, *auth;
	const char *headers[3];
	const char *what;
	char whatbuf[320];
	json_t *j = NULL;
	enum httpc_fail hf;
	int rc = -1;

	*out = NULL;
	url = xasprintf("%s%s", c->instance_url, path);
	auth = xasprintf("Authorization: Bearer %s", c->token);
	headers[0] = auth;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	snprintf(whatbuf, sizeof(whatbuf), "%s %s", method, route(url, rbuf, sizeof(rbuf)));
	what = whatbuf;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = body ? "application/json" : NULL;
	req.headers = headers;
	req.timeout_ms = c->cfg->http_timeout_ms;
	req.max_body = MAX_RESPONSE;
	req.fresh_connect = fresh;
	c->calls++;
	metrics_call(METRICS_SALESFORCE);
	hf = httpc_do(c->http, &req, &resp, herr, sizeof(herr));
	wipe(auth);
	if (hf != HTTPC_OK) {
		/* herr names the URL: keep the query string (addresses) out of it. */
		transport_failure(hf, what, hf == HTTPC_TIMEOUT ? "timed out" :
		    hf == HTTPC_TOO_LARGE ? "response too large" : hf == HTTPC_CONNECT ?
		    "could not connect" : "connection lost without an answer", f);
		goto out;
	}
	note_usage(c, httpc_header(&resp, "Sforce-Limit-Info"));
	if (resp.body_len > 0)
		j = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (resp.status >= 200 && resp.status < 300) {
		if (resp.body_len > 0 && j == NULL) {
			/* A garbled answer is a transport problem more often than not. */
			fail(f, REMOTE_TEMP, (int)resp.status, "bad_response",
			    "%s: the answer is not JSON", what);
			goto out;
		}
		*out = j;
		j = NULL;
		ok(f);
		rc = 0;
		goto out;
	}
	classify((int)resp.status, j, what, f);
out:
	if (rc == -1) {
		metrics_error(METRICS_SALESFORCE, f->cls);
		log_warnx("sf: event=call_failed method=%s route=%s status=%d class=%s code=%s",
		    method, rbuf, f->status, remote_class_name(f->cls), f->code);
	}
	json_decref(j);
	httpc_response_free(&resp);
	free(url);
	return rc;
}

/* A data API call: logs in when needed, and on a 401 gets one fresh token and tries once more
 * (an expired session is routine; a second 401 is not). */
static int
call(struct sf_client *c, const char *method, const char *path, const char *body, int fresh,
    json_t **out, struct remote_failure *f)
{
	*out = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		double wait = 0;

		if (c->gate != NULL && c->gate(c->gate_arg, &wait) == -1) {
			/* Nothing is sent: the call would overrun olsync's API budget. */
			fail(f, REMOTE_WAIT, 0, SF_CLIENT_BUDGET_CODE, "sf: %s not sent: olsync's "
			    "share of the daily API allowance is spent (sf_budget_share)", method);
			f->wait_sec = wait;
			return -1;
		}
		if (c->token == NULL && login(c, f) == -1)
			return -1;
		if (exchange(c, method, path, body, fresh, out, f) == 0)
			return 0;
		if (f->status != 401)
			return -1;
		wipe(c->token);
		c->token = NULL;
		if (attempt == 0)
			log_info("sf: event=session_expired action=login");
	}
	f->cls = REMOTE_AUTH;
	return -1;
}

/* Appends the records of page and of every page after it to acc. Consumes page. */
static int
drain(struct sf_client *c, json_t *page, json_t *acc, struct remote_failure *f)
{
	json_t *records;
	const char *next;
	char *path;

	for (int pages = 1;; pages++) {
		records = json_object_get(page, "records");
		if (!json_is_array(records)) {
			fail(f, REMOTE_TEMP, 200, "bad_response", "sf: query: no records array");
			goto bad;
		}
		json_array_extend(acc, records);
		if (json_is_true(json_object_get(page, "done")))
			break;
		next = json_string_value(json_object_get(page, "nextRecordsUrl"));
		/* The token follows this URL: only ever to our instance's data API. */
		if (next == NULL || strncmp(next, DATA_PREFIX, strlen(DATA_PREFIX)) != 0 ||
		    strstr(next, "..") != NULL) {
			fail(f, REMOTE_TEMP, 200, "bad_response",
			    "sf: query: not done and no usable nextRecordsUrl");
			goto bad;
		}
		if (pages >= SF_CLIENT_QUERY_MAX_PAGES) {
			fail(f, REMOTE_FINAL, 200, "too_many_pages",
			    "sf: query: more than %d pages", SF_CLIENT_QUERY_MAX_PAGES);
			goto bad;
		}
		path = xstrdup(next);
		json_decref(page);
		page = NULL;
		if (call(c, "GET", path, NULL, 0, &page, f) == -1) {
			free(path);
			return -1;
		}
		free(path);
	}
	json_decref(page);
	ok(f);
	return 0;
bad:
	json_decref(page);
	return -1;
}

static char *
query_path(const struct sf_client *c, const char *soql)
{
	char *q = httpc_escape(soql), *path;

	path = xasprintf(DATA_PREFIX "%s/query?q=%s", c->cfg->sf_api_version, q);
	free(q);
	return path;
}

int
sf_client_query(struct sf_client *c, const char *soql, json_t **records,
    struct remote_failure *f)
{
	char *path = query_path(c, soql);
	json_t *page, *acc;
	int rc;

	*records = NULL;
	rc = call(c, "GET", path, NULL, 0, &page, f);
	free(path);
	if (rc == -1)
		return -1;
	acc = json_array();
	if (drain(c, page, acc, f) == -1) {
		json_decref(acc);
		return -1;
	}
	*records = acc;
	return 0;
}

/* Sends subs (stolen) as one /composite call, allOrNone false, and checks that it answered
 * once per subrequest. The compositeResponse array (borrowed from *resp, which the caller
 * decrefs), or NULL with f. fresh: see exchange. what names the subrequests in messages. */
static json_t *
composite_post(struct sf_client *c, json_t *subs, int fresh, const char *what, json_t **resp,
    struct remote_failure *f)
{
	size_t n = json_array_size(subs);
	json_t *req = json_pack("{s:b,s:o}", "allOrNone", 0, "compositeRequest", subs), *cr;
	char *body = json_dumps(req, JSON_COMPACT);
	char *path = xasprintf(DATA_PREFIX "%s/composite", c->cfg->sf_api_version);

	cr = NULL;
	json_decref(req);
	if (call(c, "POST", path, body, fresh, resp, f) == 0) {
		cr = json_object_get(*resp, "compositeResponse");
		if (!json_is_array(cr) || json_array_size(cr) != n) {
			fail(f, REMOTE_TEMP, 200, "bad_response", "sf: composite: %zu answers for "
			    "%zu %s", json_array_size(cr), n, what);
			cr = NULL;
		}
	}
	free(body);
	free(path);
	return cr;
}

/* The answer to subrequest ref in cr (borrowed), or NULL: matched by referenceId, as collated
 * subrequests may answer out of order. */
static json_t *
composite_answer(json_t *cr, const char *ref)
{
	json_t *sub;
	size_t j;

	json_array_foreach(cr, j, sub) {
		const char *rid = json_string_value(json_object_get(sub, "referenceId"));

		if (rid != NULL && strcmp(rid, ref) == 0)
			return sub;
	}
	return NULL;
}

int
sf_client_queries(struct sf_client *c, const char *const *soqls, size_t n, json_t **results,
    struct remote_failure *f)
{
	json_t *subs, *resp = NULL, *acc = NULL, *cr, *sub, *records;
	char ref[16];
	size_t i;
	int status, rc = -1;

	*results = NULL;
	if (n > SF_CLIENT_COMPOSITE_QUERIES) {
		fail(f, REMOTE_FINAL, 0, "too_many_queries", "sf: %zu queries in one composite "
		    "call, at most %d", n, SF_CLIENT_COMPOSITE_QUERIES);
		return -1;
	}
	acc = json_array();
	if (n == 0)
		goto done;
	subs = json_array();
	for (i = 0; i < n; i++) {
		char *qp = query_path(c, soqls[i]);

		snprintf(ref, sizeof(ref), "q%zu", i);
		json_array_append_new(subs, json_pack("{s:s,s:s,s:s}", "method", "GET", "url", qp,
		    "referenceId", ref));
		free(qp);
	}
	if ((cr = composite_post(c, subs, 0, "queries", &resp, f)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(ref, sizeof(ref), "q%zu", i);
		if ((sub = composite_answer(cr, ref)) == NULL) {
			fail(f, REMOTE_TEMP, 200, "bad_response", "sf: composite: no answer for %s",
			    ref);
			goto out;
		}
		status = (int)json_integer_value(json_object_get(sub, "httpStatusCode"));
		if (status < 200 || status >= 300) {
			char what[64];

			snprintf(what, sizeof(what), "sf: composite query %zu", i);
			classify(status, json_object_get(sub, "body"), what, f);
			log_warnx("sf: event=call_failed method=POST route=composite sub=%zu "
			    "status=%d class=%s code=%s", i, status, remote_class_name(f->cls),
			    f->code);
			goto out;
		}
		records = json_array();
		if (drain(c, json_incref(json_object_get(sub, "body")), records, f) == -1) {
			json_decref(records);
			goto out;
		}
		json_array_append_new(acc, records);
	}
done:
	*results = acc;
	acc = NULL;
	ok(f);
	rc = 0;
out:
	json_decref(acc);
	json_decref(resp);
	return rc;
}

/* sObject and field names go into the URL path: API names only. */
static int
api_name(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 80)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

enum remote_class
sf_client_record_failure(const json_t *result, struct remote_failure *f)
{
	struct remote_failure local;
	const json_t *errors = json_object_get(result, "errors"), *fields, *v;
	const char *code, *message;
	char flist[160];
	size_t i, len = 0;

	if (f == NULL)
		f = &local;
	if (json_is_true(json_object_get(result, "success"))) {
		ok(f);
		return REMOTE_OK;
	}
	code = error_code(errors, &message);
	if (code == NULL)
		code = "UNKNOWN_ERROR";
	flist[0] = '\0';
	fields = json_object_get(json_array_get(errors, 0), "fields");
	json_array_foreach(fields, i, v) {
		if (json_is_string(v) && len < sizeof(flist))
			len += (size_t)snprintf(flist + len, sizeof(flist) - len, "%s%s",
			    i ? ", " : " (fields: ", json_string_value(v));
	}
	if (len > 0 && len < sizeof(flist))
		snprintf(flist + len, sizeof(flist) - len, ")");
	/* A locked row is another transaction's, for a moment; anything else is about the record
	 * itself (validation, lengths, duplicates) and will fail the same way again. */
	fail(f, strcmp(code, "UNABLE_TO_LOCK_ROW") == 0 ? REMOTE_TEMP : REMOTE_FINAL, 0, code,
	    "%s: %s%s", code, message ? message : "no message", flist);
	metrics_error(METRICS_SALESFORCE, f->cls);
	return f->cls;
}

/* A delete's result: a record already deleted (ENTITY_IS_DELETED, in the recycle bin) or not
 * there at all (NOT_FOUND from sf-sim, INVALID_CROSS_REFERENCE_KEY from Salesforce's batches) is
 * what the delete wanted: a retry after a lost answer meets its own work. MALFORMED_ID stays
 * final: such an id never named a record. */
static enum remote_class
delete_failure(const json_t *result, struct remote_failure *f)
{
	static const char *const gone[] = {
		"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY",
	};
	struct remote_failure local;

	if (f == NULL)
		f = &local;
	if (sf_client_record_failure(result, f) != REMOTE_FINAL)
		return f->cls;
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (strcmp(f->code, gone[i]) == 0) {
			ok(f);
			break;
		}
	return f->cls;
}

/* Refuses a call of more records than sObject Collections takes, before it is sent. */
static int
collection_fits(size_t n, struct remote_failure *f)
{
	if (n <= SF_CLIENT_COLLECTION_MAX)
		return 0;
	fail(f, REMOTE_FINAL, 0, "too_many_records", "sf: collection: %zu records, at most %d", n,
	    SF_CLIENT_COLLECTION_MAX);
	return -1;
}

/* Checks that resp, a collection's answer, is n result objects and classifies each by
 * record_failure. 0 with *results (resp, a new reference) and *classes (caller frees), or -1
 * with f. */
static int
collection_results(json_t *resp, size_t n, enum remote_class (*record_failure)(const json_t *,
    struct remote_failure *), json_t **results, enum remote_class **classes,
    struct remote_failure *f)
{
	enum remote_class *cls;
	json_t *r;
	size_t i;

	if (!json_is_array(resp) || json_array_size(resp) != n) {
		fail(f, REMOTE_TEMP, 200, "bad_response", "sf: collection: %zu results for %zu "
		    "records", json_array_size(resp), n);
		return -1;
	}
	cls = xcalloc(n ? n : 1, sizeof(*cls));
	json_array_foreach(resp, i, r) {
		if (!json_is_object(r)) {
			fail(f, REMOTE_TEMP, 200, "bad_response", "sf: collection: result %zu is "
			    "not an object", i);
			free(cls);
			return -1;
		}
		cls[i] = record_failure(r, NULL);
	}
	*results = json_incref(resp);
	*classes = cls;
	ok(f);
	return 0;
}

/* Sends one sObject Collections call (method on /composite/sobjects + suffix) for n records
 * and checks that its answer is n result objects, each classified by record_failure. Nothing
 * to send: no call, empty results. fresh: see exchange. */
static int
collection_send(struct sf_client *c, const char *method, const char *suffix, const char *body,
    int fresh, size_t n, enum remote_class (*record_failure)(const json_t *,
    struct remote_failure *), json_t **results, enum remote_class **classes,
    struct remote_failure *f)
{
	json_t *resp = NULL;
	char *path;
	int rc = -1;

	if (n == 0) {
		*results = json_array();
		*classes = xcalloc(1, sizeof(**classes));
		ok(f);
		return 0;
	}
	path = xasprintf(DATA_PREFIX "%s/composite/sobjects%s", c->cfg->sf_api_version, suffix);
	if (call(c, method, path, body, fresh, &resp, f) == 0)
		rc = collection_results(resp, n, record_failure, results, classes, f);
	json_decref(resp);
	free(path);
	return rc;
}

/* One collection's request: the body ({"allOrNone":false,"records":[...]} with each record's
 * attributes.type), the path after /composite/sobjects and the method. -1 with f for input we
 * must not send. */
static int
collection_request(enum sf_collection_op op, const char *sobject, const char *ext_field,
    json_t *records, json_t **req, char **suffix, const char **method, struct remote_failure *f)
{
	json_t *recs, *rec, *copy;
	size_t i;

	*req = NULL;
	*suffix = NULL;
	if (!api_name(sobject) || (op == SF_COLLECTION_UPSERT && !api_name(ext_field)) ||
	    !json_is_array(records)) {
		fail(f, REMOTE_FINAL, 0, "bad_request", "sf: collection: bad sObject, field or "
		    "records");
		return -1;
	}
	if (collection_fits(json_array_size(records), f) == -1)
		return -1;
	recs = json_array();
	json_array_foreach(records, i, rec) {
		if (!json_is_object(rec) || (op == SF_COLLECTION_UPDATE &&
		    !json_is_string(json_object_get(rec, "Id")))) {
			json_decref(recs);
			fail(f, REMOTE_FINAL, 0, "bad_request", "sf: collection: record %zu is not "
			    "an object%s", i, op == SF_COLLECTION_UPDATE ? " with an Id" : "");
			return -1;
		}
		copy = json_pack("{s:{s:s}}", "attributes", "type", sobject);
		json_object_update_missing(copy, rec);
		json_array_append_new(recs, copy);
	}
	*req = json_pack("{s:b,s:o}", "allOrNone", 0, "records", recs);
	*suffix = op == SF_COLLECTION_UPSERT ? xasprintf("/%s/%s", sobject, ext_field) :
	    xstrdup("");
	*method = op == SF_COLLECTION_CREATE ? "POST" : "PATCH";
	return 0;
}

static int
collection(struct sf_client *c, enum sf_collection_op op, const char *sobject,
    const char *ext_field, json_t *records, json_t **results, enum remote_class **classes,
    struct remote_failure *f)
{
	json_t *req;
	const char *method;
	char *body, *suffix;
	int rc;

	*results = NULL;
	*classes = NULL;
	if (collection_request(op, sobject, ext_field, records, &req, &suffix, &method, f) == -1)
		return -1;
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	/* Upserts are idempotent by their key, and an update sets given values by Id again: a
	 * resend by libcurl does no harm. A create must reach Salesforce at most once: no reused
	 * connection libcurl could silently resend it on. */
	rc = collection_send(c, method, suffix, body, op == SF_COLLECTION_CREATE,
	    json_array_size(records), sf_client_record_failure, results, classes, f);
	free(suffix);
	free(body);
	return rc;
}

int
sf_client_collection(struct sf_client *c, const char *sobject, const char *ext_field,
    json_t *records, json_t **results, enum remote_class **classes, struct remote_failure *f)
{
	return collection(c, ext_field != NULL ? SF_COLLECTION_UPSERT : SF_COLLECTION_CREATE,
	    sobject, ext_field, records, results, classes, f);
}

int
sf_client_collection_update(struct sf_client *c, const char *sobject, json_t *records,
    json_t **results, enum remote_class **classes, struct remote_failure *f)
{
	return collection(c, SF_COLLECTION_UPDATE, sobject, NULL, records, results, classes, f);
}

int
sf_client_collections(struct sf_client *c, struct sf_collection *cols, size_t n,
    struct remote_failure *f)
{
	json_t *subs = NULL, *resp = NULL, *cr, *sub;
	char ref[16];
	size_t i;
	int fresh = 0, rc = -1;

	for (i = 0; i < n; i++) {
		cols[i].results = NULL;
		cols[i].classes = NULL;
		ok(&cols[i].failure);
	}
	if (n > SF_CLIENT_COMPOSITE_QUERIES) {
		fail(f, REMOTE_FINAL, 0, "too_many_collections", "sf: %zu collections in one "
		    "composite call, at most %d", n, SF_CLIENT_COMPOSITE_QUERIES);
		return -1;
	}
	if (n == 1)
		/* One collection is one call either way: the plain one. */
		return collection(c, cols[0].op, cols[0].sobject, cols[0].ext_field,
		    cols[0].records, &cols[0].results, &cols[0].classes, f);
	subs = json_array();
	for (i = 0; i < n; i++) {
		json_t *creq;
		const char *method;
		char *suffix, *url;

		/* Input we must not send fails the call, as it does the plain one. */
		if (collection_request(cols[i].op, cols[i].sobject, cols[i].ext_field,
		    cols[i].records, &creq, &suffix, &method, f) == -1)
			goto out;
		url = xasprintf(DATA_PREFIX "%s/composite/sobjects%s", c->cfg->sf_api_version,
		    suffix);
		snprintf(ref, sizeof(ref), "c%zu", i);
		json_array_append_new(subs, json_pack("{s:s,s:s,s:s,s:o}", "method", method, "url",
		    url, "referenceId", ref, "body", creq));
		fresh |= cols[i].op == SF_COLLECTION_CREATE;
		free(url);
		free(suffix);
	}
	/* allOrNone false: each collection stands alone, its records each on their own too. A
	 * create inside must reach Salesforce at most once (see collection). */
	cr = composite_post(c, subs, fresh, "collections", &resp, f);
	subs = NULL;
	if (cr == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		int status;

		snprintf(ref, sizeof(ref), "c%zu", i);
		if ((sub = composite_answer(cr, ref)) == NULL) {
			fail(&cols[i].failure, REMOTE_TEMP, 200, "bad_response",
			    "sf: composite: no answer for %s", ref);
			continue;
		}
		status = (int)json_integer_value(json_object_get(sub, "httpStatusCode"));
		if (status >= 200 && status < 300) {
			collection_results(json_object_get(sub, "body"),
			    json_array_size(cols[i].records), sf_client_record_failure,
			    &cols[i].results, &cols[i].classes, &cols[i].failure);
			continue;
		}
		/* This collection alone failed (a 500 inside, a limit): classified as the same
		 * answer to a plain call would be. */
		classify(status, json_object_get(sub, "body"), "sf: composite collection",
		    &cols[i].failure);
		log_warnx("sf: event=call_failed method=POST route=composite sub=%zu object=%s "
		    "status=%d class=%s code=%s", i, cols[i].sobject, status,
		    remote_class_name(cols[i].failure.cls), cols[i].failure.code);
	}
	ok(f);
	rc = 0;
out:
	json_decref(subs);
	json_decref(resp);
	return rc;
}

/* A record id as Salesforce writes them: 15 or 18 letters and digits (whether the checksum of
 * an 18-character one is right is Salesforce's to say). */
static int
record_id(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	return s[n] == '\0' && (n == 15 || n == 18);
}

int
sf_client_collection_delete(struct sf_client *c, const char *const *ids, size_t n,
    json_t **results, enum remote_class **classes, struct remote_failure *f)
{
	static const char head[] = "?ids=", tail[] = "&allOrNone=false";
	char *suffix, *p;
	size_t i, len;
	int rc;

	*results = NULL;
	*classes = NULL;
	if (collection_fits(n, f) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (!record_id(ids[i])) {
			fail(f, REMOTE_FINAL, 0, "bad_request", "sf: collection: delete id %zu "
			    "(%.40s) is not a record id", i, ids[i] ? ids[i] : "NULL");
			return -1;
		}
	/* Letters and digits only: the list goes into the query string as it is, each id (at most
	 * 18) with its comma. */
	p = suffix = xmalloc(sizeof(head) + n * 19 + sizeof(tail));
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		len = strlen(ids[i]);
		memcpy(p, ids[i], len);
		p += len;
		if (i + 1 < n)
			*p++ = ',';
	}
	memcpy(p, tail, sizeof(tail));
	/* Deleting twice is harmless, so libcurl may resend it on a kept-alive connection. */
	rc = collection_send(c, "DELETE", suffix, NULL, 0, n, delete_failure, results, classes,
	    f);
	free(suffix);
	return rc;
}

int
sf_client_describe(struct sf_client *c, const char *sobject, json_t **describe,
    struct remote_failure *f)
{
	char *path;
	int rc;

	*describe = NULL;
	if (!api_name(sobject)) {
		fail(f, REMOTE_FINAL, 0, "bad_request", "sf: describe: bad sObject name");
		return -1;
	}
	path = xasprintf(DATA_PREFIX "%s/sobjects/%s/describe", c->cfg->sf_api_version, sobject);
	rc = call(c, "GET", path, NULL, 0, describe, f);
	free(path);
	if (rc == -1)
		return -1;
	if (!json_is_array(json_object_get(*describe, "fields"))) {
		fail(f, REMOTE_TEMP, 200, "bad_response", "sf: describe %s: no fields array",
		    sobject);
		json_decref(*describe);
		*describe = NULL;
		return -1;
	}
	ok(f);
	return 0;
}

/* The {field: type} of sobject, from one describe call per sobject for the client's life.
 * Borrowed from the client; NULL with f when the describe failed (not cached: a TEMP failure
 * may pass). */
static json_t *
field_types(struct sf_client *c, const char *sobject, struct remote_failure *f)
{
	json_t *types = json_object_get(c->field_types, sobject), *d, *fields, *v, *type;
	const char *name;
	size_t i;

	if (types != NULL)
		return types;
	if (sf_client_describe(c, sobject, &d, f) == -1)
		return NULL;
	fields = json_object_get(d, "fields");
	types = json_object();
	json_array_foreach(fields, i, v) {
		name = json_string_value(json_object_get(v, "name"));
		type = json_object_get(v, "type");
		if (name != NULL && json_is_string(type))
			json_object_set(types, name, type);
	}
	json_object_set_new(c->field_types, sobject, types);
	json_decref(d);
	return types;
}

int
sf_client_field_type(struct sf_client *c, const char *sobject, const char *field,
    const char **type, struct remote_failure *f)
{
	json_t *types, *t, *v;
	const char *name;

	*type = NULL;
	if (!api_name(sobject) || field == NULL) {
		fail(f, REMOTE_FINAL, 0, "bad_request", "sf: describe: bad sObject or field");
		return -1;
	}
	if ((types = field_types(c, sobject, f)) == NULL)
		return -1;
	/* API names are case-insensitive, as in SOQL. */
	if ((t = json_object_get(types, field)) == NULL) {
		json_object_foreach(types, name, v)
			if (strcasecmp(name, field) == 0) {
				t = v;
				break;
			}
	}
	if (t == NULL) {
		fail(f, REMOTE_FINAL, 0, "INVALID_FIELD", "sf: %s.%.80s: no such field",
		    sobject, field);
		return -1;
	}
	*type = json_string_value(t);
	ok(f);
	return 0;
}

void
sf_client_api_usage(const struct sf_client *c, long *used, long *max)
{
	*used = c->used;
	*max = c->max;
}

long
sf_client_calls(const struct sf_client *c)
{
	return c->calls;
}

void
sf_client_set_gate(struct sf_client *c, sf_client_gate_fn *gate, void *arg)
{
	c->gate = gate;
	c->gate_arg = arg;
}

int
sf_client_limits(struct sf_client *c, struct remote_failure *f)
{
	char *path = xasprintf(DATA_PREFIX "%s/limits", c->cfg->sf_api_version);
	json_t *d = NULL;
	int rc;

	/* The answer's Sforce-Limit-Info is what we want (note_usage): the body says the same. */
	rc = call(c, "GET", path, NULL, 0, &d, f);
	json_decref(d);
	free(path);
	return rc;
}
