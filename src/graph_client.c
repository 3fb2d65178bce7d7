/* graph_client.c: olsync's Microsoft Graph client (graph_client.h): client-credentials tokens,
 * the one place where a Graph or token endpoint answer is classified (remote.h), the reads
 * ingest needs (mailboxes, per-folder message and calendarView delta pages, one message by
 * immutable id) and the change-notification subscriptions of real time. */
#include "graph_client.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "err.h"
#include "httpc.h"
#include "isotime.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define SCOPE			"https://graph.microsoft.com/.default"
#define ASSERTION_TYPE		"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ASSERTION_LIFETIME	600		/* s, as MSAL signs them (reference §1.2) */
#define TOKEN_MARGIN		300		/* s: a token is renewed this long before it expires */
#define TOKEN_MAX_BODY		(64 * 1024)	/* a token answer is a few KiB */
#define PAGE_MAX_BODY		(32 * 1024 * 1024) /* 1000 messages with headers fit easily */
#define USERS_PAGE		999		/* $top of /users: Graph's maximum */
#define MAX_USER_PAGES		10000		/* 10 million users: a link loop, not a tenant */
#define MAX_SUB_PAGES		1000		/* GET /subscriptions: far more than any tenant */

/* Exactly what olsync reads of a message (reference §5.1); internetMessageHeaders is only
 * returned when selected, and carries Auto-Submitted, Precedence, List-* and Sensitivity. */
#define MESSAGE_SELECT \
	"id,internetMessageId,conversationId,subject,bodyPreview,from,sender,toRecipients," \
	"ccRecipients,receivedDateTime,sentDateTime,isDraft,parentFolderId,internetMessageHeaders"

struct graph_client {
	const struct config	*cfg;		/* borrowed */
	struct httpc		*http;		/* keeps the connection alive between calls */
	EVP_PKEY		*key;		/* certificate auth: the assertion's signing key */
	char			*x5t_s256;	/* certificate auth: its thumbprint */
	char			*token;		/* current access token, or NULL; wiped when dropped */
	time_t			 token_renew;	/* get a new token from this time on */
	int			 token_roles;	/* the token carries application permissions */
	int			 page_size;	/* Prefer: odata.maxpagesize */
	long			 calls;
};

/* Which permission a call needs, for the message of a 403. */
enum need {
	NEED_MAIL,
	NEED_USERS,
	NEED_GROUPS,
	NEED_CALENDARS,
	NEED_SUBSCRIPTION,	/* renew, delete, list: the kind is not known */
};

static const char *const need_names[] = {
	[NEED_MAIL] = "Mail.Read",
	[NEED_USERS] = "User.Read.All",
	[NEED_GROUPS] = "GroupMember.Read.All",
	[NEED_CALENDARS] = "Calendars.Read",
	[NEED_SUBSCRIPTION] = "Mail.Read or Calendars.Read",
};

static void
fail_set(struct remote_failure *f, enum remote_class cls, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
fail_set(struct remote_failure *f, enum remote_class cls, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	f->cls = cls;
	f->status = status;
	f->wait_sec = 0;
	snprintf(f->code, sizeof(f->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

static void
fail_clear(struct remote_failure *f)
{
	memset(f, 0, sizeof(*f));
	f->cls = REMOTE_OK;
}

static void
token_drop(struct graph_client *c)
{
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
	c->token_renew = 0;
}

struct graph_client *
graph_client_new(const struct config *cfg, char *err, size_t errlen)
{
	struct graph_client *c;
	X509 *cert = NULL;

	if (cfg->graph_tenant == NULL || cfg->graph_client_id == NULL ||
	    cfg->graph_base_url == NULL || cfg->graph_login_url == NULL) {
		err_set(err, errlen, "graph: tenant, client id, base and login URLs are required");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->cfg = cfg;
	c->page_size = GRAPH_CLIENT_PAGE_SIZE;
	switch (cfg->graph_auth) {
	case CONFIG_GRAPH_AUTH_SECRET:
		if (cfg->graph_client_secret == NULL) {
			err_set(err, errlen, "graph: no client secret");
			goto fail;
		}
		break;
	case CONFIG_GRAPH_AUTH_CERTIFICATE:
		if (cfg->graph_certificate_file == NULL || cfg->graph_private_key == NULL) {
			err_set(err, errlen, "graph: certificate auth needs a certificate and a key");
			goto fail;
		}
		if ((cert = crypto_cert_load_file(cfg->graph_certificate_file, err,
		    errlen)) == NULL)
			goto fail;
		if ((c->key = crypto_privkey_load_pem(cfg->graph_private_key, err,
		    errlen)) == NULL)
			goto fail;
		c->x5t_s256 = crypto_cert_x5t_s256(cert);
		X509_free(cert);
		cert = NULL;
		break;
	default:
		err_set(err, errlen, "graph: unknown authentication kind %d", (int)cfg->graph_auth);
		goto fail;
	}
	c->http = httpc_new();
	return c;
fail:
	X509_free(cert);
	graph_client_free(c);
	return NULL;
}

void
graph_client_free(struct graph_client *c)
{
	if (c == NULL)
		return;
	token_drop(c);
	EVP_PKEY_free(c->key);
	free(c->x5t_s256);
	httpc_free(c->http);
	free(c);
}

void
graph_client_set_page_size(struct graph_client *c, int n)
{
	if (n <= 0)
		n = GRAPH_CLIENT_PAGE_SIZE;
	if (n > GRAPH_CLIENT_PAGE_MAX)
		n = GRAPH_CLIENT_PAGE_MAX;
	c->page_size = n;
}

long
graph_client_calls(const struct graph_client *c)
{
	return c->calls;
}

/* A transport failure: nothing came back. Every kind is worth retrying later except an answer
 * over our cap, which will be as large the next time. */
static void
transport_failure(enum httpc_fail hf, const char *what, const char *msg,
    struct remote_failure *f)
{
	switch (hf) {
	case HTTPC_TIMEOUT:
		fail_set(f, REMOTE_TEMP, 0, "timeout", "graph: %s: %s", what, msg);
		break;
	case HTTPC_CONNECT:
		fail_set(f, REMOTE_TEMP, 0, "connect", "graph: %s: %s", what, msg);
		break;
	case HTTPC_RESET:
		fail_set(f, REMOTE_TEMP, 0, "reset", "graph: %s: %s", what, msg);
		break;
	case HTTPC_TOO_LARGE:
		fail_set(f, REMOTE_FINAL, 0, "too_large", "graph: %s: %s", what, msg);
		break;
	default:
		fail_set(f, REMOTE_TEMP, 0, "transport", "graph: %s: %s", what, msg);
		break;
	}
}

/* Retry-After in seconds (Graph sends fractions, §6.2), or -1 when absent or not a number. An
 * HTTP date is not parsed: Graph does not send one, and the caller then backs off itself. */
static double
retry_after(const struct httpc_response *resp)
{
	const char *v = httpc_header(resp, "Retry-After");
	char *end;
	double d;

	if (v == NULL)
		return -1;
	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno != 0 || !isfinite(d) || d < 0)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0')
		return -1;
	return d > 86400 ? 86400 : d;
}

/* Classifies a Graph answer that is not 200, once (STYLE.md); 401 arrives here only after the
 * fresh token was refused too. */
static void
classify(const struct graph_client *c, const char *what, const struct httpc_response *resp,
    enum need need, struct remote_failure *f)
{
	json_t *body = NULL, *e;
	const char *code = NULL, *msg = NULL;
	char fallback[32];
	int status = (int)resp->status;
	double ra;

	if (resp->body_len > 0)
		body = json_loadb(resp->body, resp->body_len, 0, NULL);
	e = json_object_get(body, "error");
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code == NULL || *code == '\0') {
		snprintf(fallback, sizeof(fallback), "http_%d", status);
		code = fallback;
	}
	if (msg == NULL)
		msg = "";
	ra = retry_after(resp);

	if (status == 429) {
		fail_set(f, REMOTE_WAIT, status, code, "graph: %s: throttled (429 %s), retry "
		    "after %.3g s", what, code, ra > 0 ? ra : 0.0);
		f->wait_sec = ra > 0 ? ra : 0;
	} else if (status == 401) {
		fail_set(f, REMOTE_AUTH, status, code, "graph: %s: a fresh access token was "
		    "refused too (401 %s: %.200s); check graph_tenant and graph_client_id", what,
		    code, msg);
	} else if (status == 403 && strcmp(code, "ExtensionError") == 0) {
		/* Not a missing permission: Exchange refused this one mailbox (its subscription
		 * quota, reference §2.6, or an application access policy, §7.2). */
		fail_set(f, REMOTE_FINAL, status, code, "graph: %s: refused for this mailbox "
		    "(403 %s): %.300s", what, code, msg);
	} else if (status == 403 && strcmp(code, "ErrorAccessDenied") == 0 &&
	    strcmp(msg, GRAPH_CLIENT_POLICY_MESSAGE) == 0) {
		/* The app has the permission, but Exchange keeps it out of this mailbox: an
		 * application access policy or an RBAC for Applications scope (reference §8). */
		fail_set(f, REMOTE_AUTH, status, GRAPH_CLIENT_POLICY_CODE, "graph: %s: refused "
		    "for this mailbox by an Exchange application access policy or RBAC for "
		    "Applications scope (403 %s: %s)", what, code, msg);
	} else if (status == 403) {
		/* The guide's pitfall: permissions consented as delegated, not application. */
		fail_set(f, REMOTE_AUTH, status, code, "graph: %s: access denied (403 %s): the app "
		    "registration needs the application permission %s (not delegated) with admin "
		    "consent%s", what, code, need_names[need], c->token_roles ? "" :
		    "; the access token carries no application permissions (no roles claim)");
	} else if (status == 408 || status >= 500) {
		fail_set(f, REMOTE_TEMP, status, code, "graph: %s: %d %s: %.200s", what, status,
		    code, msg);
		/* 503 may say when to come back; a hint, the class stays TEMP (§6.2). */
		f->wait_sec = ra > 0 ? ra : 0;
	} else {
		/* 404, 410 SyncStateNotFound, 400 and the other 4xx: asking again changes nothing. */
		fail_set(f, REMOTE_FINAL, status, code, "graph: %s: %d %s: %.200s", what, status,
		    code, msg);
	}
	log_warnx("graph: call failed what=\"%s\" status=%d code=%s class=%s wait=%.3g", what,
	    status, f->code, remote_class_name(f->cls), f->wait_sec);
	json_decref(body);
}

/* A GUID of fresh randomness (version 4), for the assertion's jti. */
static void
guid(char out[37])
{
	unsigned char b[16];

	crypto_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
	    b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The signed client assertion of reference §1.2 (PS256 + x5t#S256). Caller frees. */
static char *
assertion(const struct graph_client *c, const char *token_url, char *err, size_t errlen)
{
	json_t *hdr, *claims;
	time_t now = time(NULL);
	char jti[37];
	char *s;

	guid(jti);
	hdr = json_pack("{s:s}", "x5t#S256", c->x5t_s256);
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", token_url,
	    "iss", c->cfg->graph_client_id, "sub", c->cfg->graph_client_id, "jti", jti,
	    "nbf", (json_int_t)now, "iat", (json_int_t)now,
	    "exp", (json_int_t)now + ASSERTION_LIFETIME);
	s = jwt_sign_json(JWT_ALG_PS256, c->key, hdr, claims, err, errlen);
	json_decref(hdr);
	json_decref(claims);
	return s;
}

/* Appends "&name=value" (form-encoded) to *body. */
static void
form_add(char **body, const char *name, const char *value)
{
	char *v = httpc_encode(value, HTTPC_UNRESERVED, HTTPC_FORM);
	char *n = xasprintf("%s%s%s=%s", *body ? *body : "", *body ? "&" : "", name, v);

	if (*body != NULL) {
		explicit_bzero(*body, strlen(*body));
		free(*body);
	}
	explicit_bzero(v, strlen(v));
	free(v);
	*body = n;
}

/* Classifies a refused token request (reference §1.4): branch on "error", never on the
 * description; the AADSTS number goes in the message for the operator. */
static void
token_failure(const struct httpc_response *resp, struct remote_failure *f)
{
	json_t *body = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char *error = json_string_value(json_object_get(body, "error"));
	json_int_t aadsts = json_integer_value(json_array_get(json_object_get(body,
	    "error_codes"), 0));
	int status = (int)resp->status;
	double ra = retry_after(resp);

	if (error == NULL)
		error = "";
	if (status == 429) {
		fail_set(f, REMOTE_WAIT, status, "TooManyRequests", "graph: token endpoint "
		    "throttled (429)");
		f->wait_sec = ra > 0 ? ra : 0;
	} else if (status >= 500 || status == 408 || strcmp(error, "temporarily_unavailable") == 0) {
		fail_set(f, REMOTE_TEMP, status, *error ? error : "token_unavailable",
		    "graph: token endpoint unavailable (%d %s)", status, error);
		f->wait_sec = ra > 0 ? ra : 0;
	} else {
		/* invalid_client, unauthorized_client, invalid_scope...: the configuration. */
		fail_set(f, REMOTE_AUTH, status, *error ? error : "token_refused",
		    "graph: token request refused (%d %s AADSTS%lld): check graph_tenant, "
		    "graph_client_id and the client secret or certificate", status,
		    *error ? error : "?", (long long)aadsts);
	}
	log_warnx("graph: token refused status=%d error=%s aadsts=%lld", status,
	    *error ? error : "-", (long long)aadsts);
	json_decref(body);
}

/* Gets a new access token into c->token. 0, or -1 with f filled. */
static int
token_fetch(struct graph_client *c, struct remote_failure *f)
{
	const struct config *cfg = c->cfg;
	struct httpc_request req;
	struct httpc_response resp;
	char *url, *body = NULL, *sig = NULL, err[256];
	const char *tok;
	json_t *j = NULL;
	json_int_t expires_in;
	struct jwt t;
	enum httpc_fail hf;
	int rc = -1;
	time_t margin;

	memset(&resp, 0, sizeof(resp));
	token_drop(c);
	url = xasprintf("%s/%s/oauth2/v2.0/token", cfg->graph_login_url, cfg->graph_tenant);
	form_add(&body, "client_id", cfg->graph_client_id);
	form_add(&body, "scope", SCOPE);
	form_add(&body, "grant_type", "client_credentials");
	if (cfg->graph_auth == CONFIG_GRAPH_AUTH_CERTIFICATE) {
		if ((sig = assertion(c, url, err, sizeof(err))) == NULL) {
			fail_set(f, REMOTE_AUTH, 0, "assertion", "graph: cannot sign the client "
			    "assertion: %s", err);
			goto out;
		}
		form_add(&body, "client_assertion_type", ASSERTION_TYPE);
		form_add(&body, "client_assertion", sig);
	} else
		form_add(&body, "client_secret", cfg->graph_client_secret);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.content_type = "application/x-www-form-urlencoded";
	req.timeout_ms = cfg->http_timeout_ms;
	req.max_body = TOKEN_MAX_BODY;
	c->calls++;
	hf = httpc_do(c->http, &req, &resp, err, sizeof(err));
	if (hf != HTTPC_OK) {
		transport_failure(hf, "token request", err, f);
		log_warnx("graph: token request failed code=%s", f->code);
		goto out;
	}
	if (resp.status != 200) {
		token_failure(&resp, f);
		goto out;
	}
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	tok = json_string_value(json_object_get(j, "access_token"));
	expires_in = json_integer_value(json_object_get(j, "expires_in"));
	if (tok == NULL || *tok == '\0' || expires_in <= 0) {
		fail_set(f, REMOTE_TEMP, (int)resp.status, "bad_token_response", "graph: the "
		    "token endpoint answered 200 without access_token and expires_in");
		goto out;
	}
	c->token = xstrdup(tok);
	/* Renew 5 minutes early (clock skew, calls in flight); a short-lived token is renewed
	 * at half its life instead, so it is still used at all. */
	margin = expires_in > 2 * TOKEN_MARGIN ? TOKEN_MARGIN : (time_t)expires_in / 2;
	c->token_renew = time(NULL) + (time_t)expires_in - margin;
	/* Diagnostics only (never trusted): does the token carry application permissions? */
	c->token_roles = 0;
	if (jwt_decode(c->token, &t, err, sizeof(err)) == 0) {
		c->token_roles = json_array_size(json_object_get(t.claims, "roles")) > 0;
		jwt_free(&t);
	}
	log_info("graph: token acquired client_id=%s auth=%s expires_in=%lld roles=%s",
	    cfg->graph_client_id, cfg->graph_auth == CONFIG_GRAPH_AUTH_CERTIFICATE ?
	    "certificate" : "secret", (long long)expires_in, c->token_roles ? "yes" : "none");
	rc = 0;
out:
	json_decref(j);
	/* The raw answer holds the token (jansson's copy cannot be wiped). */
	if (resp.body != NULL)
		explicit_bzero(resp.body, resp.body_len);
	httpc_response_free(&resp);
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	if (sig != NULL) {
		explicit_bzero(sig, strlen(sig));
		free(sig);
	}
	free(url);
	return rc;
}

static int
token_ensure(struct graph_client *c, struct remote_failure *f)
{
	if (c->token != NULL && time(NULL) < c->token_renew)
		return 0;
	return token_fetch(c, f);
}

int
graph_client_login(struct graph_client *c, json_t **claims, struct remote_failure *f)
{
	struct jwt t;
	char err[256];

	fail_clear(f);
	if (claims != NULL)
		*claims = NULL;
	if (token_fetch(c, f) < 0)
		return -1;
	if (claims != NULL && jwt_decode(c->token, &t, err, sizeof(err)) == 0) {
		*claims = json_incref(t.claims);
		jwt_free(&t);
	}
	return 0;
}

/* One Graph call, as request() sends it. */
struct call {
	const char	*method;	/* NULL: GET */
	const char	*url;
	json_t		*body;		/* sent as JSON when not NULL */
	const char	*prefer;	/* the Prefer header's value, or NULL */
	int		 fresh;		/* on a new connection: libcurl must never re-send it */
	long		 ok;		/* the status of success; 200 when 0 */
	long		 also_ok;	/* another status that means done (DELETE: 404), or 0 */
	enum need	 need;		/* the permission a 403 names */
	const char	*what;		/* what the call does, for messages and logs */
};

/* Sends call with a token; a 401 gets one fresh token and a retry (expired early, revoked, or
 * signed with a rotated key; Graph refused it before doing anything, so even a create may go
 * again). Returns the status answered when it is call->ok or
 * call->also_ok, with *out (when out is not NULL) the JSON object of a call->ok answer (caller
 * decrefs); else -1 with f filled. */
static int
request(struct graph_client *c, const struct call *call, json_t **out,
    struct remote_failure *f)
{
	struct httpc_request req;
	struct httpc_response resp;
	const char *headers[3];
	char *auth = NULL, *prefer = NULL, *body = NULL, err[256];
	long ok = call->ok ? call->ok : 200;
	enum httpc_fail hf;
	int rc = -1, attempt;

	if (out != NULL)
		*out = NULL;
	memset(&resp, 0, sizeof(resp));
	if (call->prefer != NULL)
		prefer = xasprintf("Prefer: %s", call->prefer);
	if (call->body != NULL)
		body = json_dumps(call->body, JSON_COMPACT);
	for (attempt = 0; attempt < 2; attempt++) {
		if (token_ensure(c, f) < 0)
			goto out;
		auth = xasprintf("Authorization: Bearer %s", c->token);
		headers[0] = auth;
		headers[1] = prefer;
		headers[2] = NULL;
		memset(&req, 0, sizeof(req));
		req.method = call->method;
		req.url = call->url;
		req.body = body;
		req.body_len = body != NULL ? strlen(body) : 0;
		req.content_type = body != NULL ? "application/json" : NULL;
		req.headers = headers;
		req.timeout_ms = c->cfg->http_timeout_ms;
		req.max_body = PAGE_MAX_BODY;
		req.fresh_connect = call->fresh;
		c->calls++;
		metrics_call(METRICS_GRAPH);
		hf = httpc_do(c->http, &req, &resp, err, sizeof(err));
		explicit_bzero(auth, strlen(auth));
		free(auth);
		auth = NULL;
		if (hf != HTTPC_OK) {
			transport_failure(hf, call->what, err, f);
			log_warnx("graph: call failed what=\"%s\" code=%s class=%s", call->what,
			    f->code, remote_class_name(f->cls));
			goto out;
		}
		if (resp.status != 401 || attempt == 1)
			break;
		log_info("graph: token refused by graph, renewing what=\"%s\"", call->what);
		token_drop(c);
		httpc_response_free(&resp);
	}
	if (resp.status != ok && (call->also_ok == 0 || resp.status != call->also_ok)) {
		classify(c, call->what, &resp, call->need, f);
		goto out;
	}
	if (out != NULL && resp.status == ok) {
		/* JSON_ALLOW_NUL: an escaped NUL in one field of one item must not fail the
		 * page (and stop the mailbox for good); such a value reads up to the NUL. */
		if ((*out = json_loadb(resp.body, resp.body_len, JSON_ALLOW_NUL, NULL)) == NULL ||
		    !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			fail_set(f, REMOTE_TEMP, (int)resp.status, "bad_response", "graph: %s: the "
			    "answer is not a JSON object", call->what);
			goto out;
		}
	}
	rc = (int)resp.status;
out:
	if (rc == -1)
		metrics_error(METRICS_GRAPH, f->cls);
	httpc_response_free(&resp);
	free(prefer);
	free(body);
	return rc;
}

/* GET url; prefer asks for the page size and immutable ids. 0 with *out the JSON object
 * answered, or -1 with f filled. */
static int
get_json(struct graph_client *c, const char *url, int prefer, enum need need,
    const char *what, json_t **out, struct remote_failure *f)
{
	struct call call = { .url = url, .need = need, .what = what };
	char prefer_hdr[80];

	snprintf(prefer_hdr, sizeof(prefer_hdr), "odata.maxpagesize=%d, IdType=\"ImmutableId\"",
	    c->page_size);
	if (prefer)
		call.prefer = prefer_hdr;
	return request(c, &call, out, f) < 0 ? -1 : 0;
}

/* A link Graph handed out must lead back to graph_base_url: the bearer token goes with it. */
static int
link_ok(const struct graph_client *c, const char *link)
{
	size_t n = strlen(c->cfg->graph_base_url);

	return link != NULL && strncasecmp(link, c->cfg->graph_base_url, n) == 0 && link[n] == '/';
}

/* One page of a delta round: first is the URL that starts a round (built from
 * graph_base_url), else link is a saved nextLink or deltaLink, checked before the token goes
 * with it. The page must hold value and exactly one link, which must lead back to
 * graph_base_url too. *items and the link set are the caller's; -1 with f filled (and
 * nothing set). */
static int
delta_page(struct graph_client *c, const char *first, const char *link, enum need need,
    const char *what, json_t **items, char **next_link, char **delta_link,
    struct remote_failure *f)
{
	const char *next, *delta;
	json_t *page = NULL, *value;
	int rc = -1;

	fail_clear(f);
	*items = NULL;
	*next_link = NULL;
	*delta_link = NULL;
	if (first == NULL && !link_ok(c, link)) {
		fail_set(f, REMOTE_FINAL, 0, "bad_link", "graph: %s: the saved link does not "
		    "start with graph_base_url %s", what, c->cfg->graph_base_url);
		goto out;
	}
	/* A link is followed verbatim: its token encodes the round's query (§4). */
	if (get_json(c, first != NULL ? first : link, 1, need, what, &page, f) < 0)
		goto out;
	value = json_object_get(page, "value");
	next = json_string_value(json_object_get(page, "@odata.nextLink"));
	delta = json_string_value(json_object_get(page, "@odata.deltaLink"));
	if (!json_is_array(value) || (next == NULL) == (delta == NULL)) {
		fail_set(f, REMOTE_TEMP, 200, "bad_response", "graph: %s: a delta page needs "
		    "value and exactly one of @odata.nextLink and @odata.deltaLink", what);
		goto out;
	}
	if (!link_ok(c, next != NULL ? next : delta)) {
		fail_set(f, REMOTE_FINAL, 200, "bad_link", "graph: %s: Graph handed out a link "
		    "outside graph_base_url %s", what, c->cfg->graph_base_url);
		goto out;
	}
	*items = json_incref(value);
	if (next != NULL)
		*next_link = xstrdup(next);
	else
		*delta_link = xstrdup(delta);
	log_debug("graph: delta page what=\"%s\" items=%zu last=%s", what,
	    json_array_size(value), delta != NULL ? "yes" : "no");
	rc = 0;
out:
	json_decref(page);
	return rc;
}

int
graph_client_delta_page(struct graph_client *c, const char *mailbox, const char *folder,
    const char *link, time_t since, json_t **messages, char **next_link, char **delta_link,
    struct remote_failure *f)
{
	char *url = NULL, *mb, *fo, iso[32], what[320];
	int rc;

	snprintf(what, sizeof(what), "delta of %s/%s", mailbox, folder);
	if (link == NULL) {
		isotime_format((long long)since, 0, 0, "Z", iso, sizeof(iso));
		mb = httpc_escape(mailbox);
		fo = httpc_escape(folder);
		url = xasprintf("%s/users/%s/mailFolders/%s/messages/delta?$select=" MESSAGE_SELECT
		    "&$filter=receivedDateTime%%20ge%%20%s", c->cfg->graph_base_url, mb, fo, iso);
		free(mb);
		free(fo);
	}
	rc = delta_page(c, url, link, NEED_MAIL, what, messages, next_link, delta_link, f);
	free(url);
	return rc;
}

int
graph_client_list_page(struct graph_client *c, const char *mailbox, const char *folder,
    const char *link, time_t since, time_t until, json_t **messages, char **next_link,
    struct remote_failure *f)
{
	char *url = NULL, *mb, *fo, from[32], to[80], what[320];
	json_t *page = NULL, *value;
	const char *next;
	int rc = -1;

	fail_clear(f);
	*messages = NULL;
	*next_link = NULL;
	snprintf(what, sizeof(what), "messages of %s/%s", mailbox, folder);
	if (link != NULL && !link_ok(c, link)) {
		fail_set(f, REMOTE_FINAL, 0, "bad_link", "graph: %s: the saved link does not "
		    "start with graph_base_url %s", what, c->cfg->graph_base_url);
		goto out;
	}
	if (link == NULL) {
		isotime_format((long long)since, 0, 0, "Z", from, sizeof(from));
		to[0] = '\0';
		if (until != 0) {
			memcpy(to, "%20and%20receivedDateTime%20lt%20", 33);
			isotime_format((long long)until, 0, 0, "Z", to + 33, sizeof(to) - 33);
		}
		mb = httpc_escape(mailbox);
		fo = httpc_escape(folder);
		/* Oldest first: mail arriving meanwhile lands after the position, not before
		 * it, so a saved nextLink still points at the next unread message. */
		url = xasprintf("%s/users/%s/mailFolders/%s/messages?$select=" MESSAGE_SELECT
		    "&$filter=receivedDateTime%%20ge%%20%s%s&$orderby=receivedDateTime%%20asc"
		    "&$top=%d", c->cfg->graph_base_url, mb, fo, from, to, c->page_size);
		free(mb);
		free(fo);
	}
	if (get_json(c, url != NULL ? url : link, 1, NEED_MAIL, what, &page, f) < 0)
		goto out;
	value = json_object_get(page, "value");
	next = json_string_value(json_object_get(page, "@odata.nextLink"));
	if (!json_is_array(value)) {
		fail_set(f, REMOTE_TEMP, 200, "bad_response", "graph: %s: a page needs value",
		    what);
		goto out;
	}
	if (next != NULL && !link_ok(c, next)) {
		fail_set(f, REMOTE_FINAL, 200, "bad_link", "graph: %s: Graph handed out a link "
		    "outside graph_base_url %s", what, c->cfg->graph_base_url);
		goto out;
	}
	*messages = json_incref(value);
	if (next != NULL)
		*next_link = xstrdup(next);
	rc = 0;
out:
	json_decref(page);
	free(url);
	return rc;
}

int
graph_client_calendar_delta_page(struct graph_client *c, const char *mailbox,
    const char *link, time_t start, time_t end, json_t **events, char **next_link,
    char **delta_link, struct remote_failure *f)
{
	char *url = NULL, *mb, from[32], to[32], what[320];
	int rc;

	snprintf(what, sizeof(what), "calendar delta of %s", mailbox);
	if (link == NULL) {
		isotime_format((long long)start, 0, 0, "Z", from, sizeof(from));
		isotime_format((long long)end, 0, 0, "Z", to, sizeof(to));
		mb = httpc_escape(mailbox);
		/* No $select: calendarView delta does not take it and returns every property
		 * (reference §4.2). No Prefer: outlook.timezone either, so times come in UTC. */
		url = xasprintf("%s/users/%s/calendarView/delta?startDateTime=%s&endDateTime=%s",
		    c->cfg->graph_base_url, mb, from, to);
		free(mb);
	}
	rc = delta_page(c, url, link, NEED_CALENDARS, what, events, next_link, delta_link, f);
	free(url);
	return rc;
}

int
graph_client_message(struct graph_client *c, const char *mailbox, const char *id,
    json_t **message, struct remote_failure *f)
{
	char *url, *mb, *mid, what[320];
	int rc;

	fail_clear(f);
	mb = httpc_escape(mailbox);
	mid = httpc_escape(id);
	url = xasprintf("%s/users/%s/messages/%s?$select=" MESSAGE_SELECT,
	    c->cfg->graph_base_url, mb, mid);
	snprintf(what, sizeof(what), "message of %s", mailbox);
	rc = get_json(c, url, 1, NEED_MAIL, what, message, f);
	free(url);
	free(mb);
	free(mid);
	return rc;
}

int
graph_client_mailbox_probe(struct graph_client *c, const char *mailbox, int calendar,
    struct remote_failure *f)
{
	char *url, *mb, what[320];
	json_t *page = NULL;
	int rc;

	fail_clear(f);
	mb = httpc_escape(mailbox);
	if (calendar)
		url = xasprintf("%s/users/%s/events?$top=1&$select=id", c->cfg->graph_base_url,
		    mb);
	else
		url = xasprintf("%s/users/%s/mailFolders/inbox/messages?$top=1&$select=id",
		    c->cfg->graph_base_url, mb);
	snprintf(what, sizeof(what), "%s of %s", calendar ? "calendar" : "inbox", mailbox);
	rc = get_json(c, url, 0, calendar ? NEED_CALENDARS : NEED_MAIL, what, &page, f);
	json_decref(page);
	free(url);
	free(mb);
	return rc;
}

/* The roles that grant each permission olsync asks for: the least privileged first, then the
 * broader ones Graph accepts for the same calls. */
static const char *const grants_mail[] = { "Mail.Read", "Mail.ReadWrite", NULL };
static const char *const grants_calendars[] = { "Calendars.Read", "Calendars.ReadWrite",
	NULL };
static const char *const grants_users[] = { "User.Read.All", "User.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All", NULL };
static const char *const grants_groups[] = { "GroupMember.Read.All",
	"GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
	"Directory.ReadWrite.All", NULL };

size_t
graph_client_permissions(const struct config *cfg,
    struct graph_permission out[GRAPH_PERMISSION_MAX])
{
	size_t n = 0;

	out[n++] = (struct graph_permission){ need_names[NEED_MAIL],
	    "reads the Inbox and Sent Items of every mailbox", grants_mail };
	if (cfg->meetings)
		out[n++] = (struct graph_permission){ need_names[NEED_CALENDARS],
		    "reads the calendars (meetings yes)", grants_calendars };
	/* A list of addresses reads no directory; `all` lists the users; a group lists its
	 * members and needs their addresses, which only a user read permission shows. */
	if (cfg->mailboxes_kind == CONFIG_MAILBOXES_ALL)
		out[n++] = (struct graph_permission){ need_names[NEED_USERS],
		    "lists the users (mailboxes all)", grants_users };
	if (cfg->mailboxes_kind == CONFIG_MAILBOXES_GROUP) {
		out[n++] = (struct graph_permission){ need_names[NEED_GROUPS],
		    "lists the group's members (mailboxes group:)", grants_groups };
		out[n++] = (struct graph_permission){ need_names[NEED_USERS],
		    "reads the members' addresses (mailboxes group:)", grants_users };
	}
	return n;
}

/* Follows the pages of a user collection from url, appending the lowercased userPrincipalName
 * of every user with a mail to upns. 0, or -1 with f filled. */
static int
list_users(struct graph_client *c, const char *first_url, enum need need, const char *what,
    json_t *upns, struct remote_failure *f)
{
	char *url = xstrdup(first_url);
	const char *next;
	json_t *page = NULL, *u;
	size_t i;
	int rc = -1, pages;

	for (pages = 0; url != NULL; pages++) {
		if (pages == MAX_USER_PAGES) {
			fail_set(f, REMOTE_FINAL, 200, "too_many_pages", "graph: %s: more than %d "
			    "pages", what, MAX_USER_PAGES);
			goto out;
		}
		if (get_json(c, url, 0, need, what, &page, f) < 0)
			goto out;
		if (!json_is_array(json_object_get(page, "value"))) {
			fail_set(f, REMOTE_TEMP, 200, "bad_response", "graph: %s: no value array",
			    what);
			goto out;
		}
		json_array_foreach(json_object_get(page, "value"), i, u) {
			const char *upn = json_string_value(json_object_get(u, "userPrincipalName"));
			const char *mail = json_string_value(json_object_get(u, "mail"));
			char *low;

			/* A member that comes back with only its id is Graph's "limited information":
			 * the app may list members (GroupMember.Read.All) but not read users. Skipping
			 * them would silently watch no mailbox at all. */
			if (upn == NULL && json_is_string(json_object_get(u, "id"))) {
				fail_set(f, REMOTE_AUTH, 200, "limited_information", "graph: %s: members "
				    "come back without their addresses: grant the application permission "
				    "User.Read.All (not delegated) so their mailboxes can be found", what);
				goto out;
			}
			/* No mail: no mailbox to read (unlicensed, guests without Exchange). */
			if (upn == NULL || mail == NULL || *mail == '\0')
				continue;
			low = xstrdup(upn);
			for (char *p = low; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			json_array_append_new(upns, json_string(low));
			free(low);
		}
		free(url);
		url = NULL;
		next = json_string_value(json_object_get(page, "@odata.nextLink"));
		if (next != NULL) {
			if (!link_ok(c, next)) {
				fail_set(f, REMOTE_FINAL, 200, "bad_link", "graph: %s: a nextLink "
				    "outside graph_base_url", what);
				goto out;
			}
			url = xstrdup(next);
		}
		json_decref(page);
		page = NULL;
	}
	rc = 0;
out:
	json_decref(page);
	free(url);
	return rc;
}

int
graph_client_mailboxes(struct graph_client *c, json_t **upns, struct remote_failure *f)
{
	const struct config *cfg = c->cfg;
	json_t *a = json_array();
	char *url = NULL, *gid = NULL, what[200];
	int rc = -1;

	fail_clear(f);
	*upns = NULL;
	switch (cfg->mailboxes_kind) {
	case CONFIG_MAILBOXES_LIST:
		for (size_t i = 0; i < cfg->mailboxes.n; i++)
			json_array_append_new(a, json_string(cfg->mailboxes.v[i]));
		break;
	case CONFIG_MAILBOXES_ALL:
		url = xasprintf("%s/users?$select=userPrincipalName,mail&$top=%d",
		    cfg->graph_base_url, USERS_PAGE);
		if (list_users(c, url, NEED_USERS, "list users", a, f) < 0)
			goto out;
		break;
	case CONFIG_MAILBOXES_GROUP:
		if (cfg->mailbox_group == NULL) {
			fail_set(f, REMOTE_FINAL, 0, "no_group", "graph: mailboxes group: without "
			    "a group id");
			goto out;
		}
		gid = httpc_escape(cfg->mailbox_group);
		url = xasprintf("%s/groups/%s/members/microsoft.graph.user"
		    "?$select=userPrincipalName,mail&$top=%d", cfg->graph_base_url, gid,
		    USERS_PAGE);
		/* Say what was asked, not only how it failed: a wrong id and a Graph (or
		 * graph-sim) without /groups both end here. */
		snprintf(what, sizeof(what), "list members of group %s (is the group id right, "
		    "and is /groups served?)", cfg->mailbox_group);
		if (list_users(c, url, NEED_GROUPS, what, a, f) < 0)
			goto out;
		break;
	default:
		fail_set(f, REMOTE_FINAL, 0, "bad_config", "graph: unknown mailboxes kind %d",
		    (int)cfg->mailboxes_kind);
		goto out;
	}
	*upns = a;
	a = NULL;
	rc = 0;
out:
	json_decref(a);
	free(url);
	free(gid);
	return rc;
}

char *
graph_client_sub_resource(const char *mailbox, const char *kind)
{
	char *mb, *r;

	if (strcmp(kind, "inbox") != 0 && strcmp(kind, "sentitems") != 0 &&
	    strcmp(kind, "events") != 0)
		return NULL;
	/* '@' is allowed in a path segment, and Graph's samples write users/{upn} with it. */
	mb = httpc_encode(mailbox, HTTPC_UNRESERVED "@", HTTPC_PERCENT);
	if (strcmp(kind, "events") == 0)
		r = xasprintf("users/%s/events", mb);
	else
		r = xasprintf("users/%s/mailFolders('%s')/messages", mb, kind);
	free(mb);
	return r;
}

static char *
dup_member(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? xstrdup(v) : NULL;
}

/* A subscription as Graph answered it into s; -1 without an id. An expirationDateTime that
 * is missing or unreadable leaves expires 0 (long past: renew or recreate it). */
static int
sub_parse(const json_t *j, struct graph_sub *s)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *exp = json_string_value(json_object_get(j, "expirationDateTime"));
	struct isotime t;

	memset(s, 0, sizeof(*s));
	if (id == NULL || *id == '\0')
		return -1;
	s->id = xstrdup(id);
	s->resource = dup_member(j, "resource");
	s->change_type = dup_member(j, "changeType");
	s->notification_url = dup_member(j, "notificationUrl");
	s->lifecycle_url = dup_member(j, "lifecycleNotificationUrl");
	/* Graph's DateTimeOffset: a zone-less one is UTC, and isotime gives offset 0 then. */
	if (exp != NULL && isotime_parse(exp, strlen(exp), &t) == 0 && t.sep != 0)
		s->expires = (time_t)t.utc;
	return 0;
}

/* Sends call and reads the subscription answered into out. 0, or -1 with f filled. */
static int
sub_call(struct graph_client *c, const struct call *call, struct graph_sub *out,
    struct remote_failure *f)
{
	json_t *j;

	if (request(c, call, &j, f) < 0)
		return -1;
	if (sub_parse(j, out) < 0) {
		json_decref(j);
		fail_set(f, REMOTE_TEMP, (int)call->ok, "bad_response", "graph: %s: the answer "
		    "has no subscription id", call->what);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* expirationDateTime as Graph writes it: UTC with 7 fractional digits. */
static void
sub_time(time_t t, char out[40])
{
	isotime_format((long long)t, 7, 0, "Z", out, 40);
}

int
graph_client_sub_create(struct graph_client *c, const char *mailbox, const char *kind,
    const char *notification_url, const char *lifecycle_url, const char *client_state,
    time_t expires, struct graph_sub *out, struct remote_failure *f)
{
	struct call call = { .method = "POST", .prefer = "IdType=\"ImmutableId\"", .fresh = 1,
	    .ok = 201 };
	char *resource, *url = NULL, iso[40], what[320];
	int events = strcmp(kind, "events") == 0;
	json_t *body = NULL;
	int rc = -1;

	fail_clear(f);
	memset(out, 0, sizeof(*out));
	if ((resource = graph_client_sub_resource(mailbox, kind)) == NULL) {
		fail_set(f, REMOTE_FINAL, 0, "bad_kind", "graph: no subscription kind \"%.40s\"",
		    kind);
		return -1;
	}
	sub_time(expires, iso);
	body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "changeType", events ?
	    "created,updated,deleted" : "created,updated", "notificationUrl", notification_url,
	    "resource", resource, "expirationDateTime", iso, "latestSupportedTlsVersion", "v1_2");
	if (lifecycle_url != NULL)
		json_object_set_new(body, "lifecycleNotificationUrl", json_string(lifecycle_url));
	if (client_state != NULL)
		json_object_set_new(body, "clientState", json_string(client_state));
	url = xasprintf("%s/subscriptions", c->cfg->graph_base_url);
	snprintf(what, sizeof(what), "create subscription to %s of %s", kind, mailbox);
	call.url = url;
	call.body = body;
	call.need = events ? NEED_CALENDARS : NEED_MAIL;
	call.what = what;
	if (sub_call(c, &call, out, f) < 0)
		goto out;
	log_info("graph: subscription created id=%s mailbox=%s kind=%s expires=%s", out->id,
	    mailbox, kind, iso);
	rc = 0;
out:
	json_decref(body);
	free(url);
	free(resource);
	return rc;
}

/* {graph_base_url}/subscriptions/{id}. Caller frees. */
static char *
sub_url(const struct graph_client *c, const char *id)
{
	char *eid = httpc_escape(id), *url;

	url = xasprintf("%s/subscriptions/%s", c->cfg->graph_base_url, eid);
	free(eid);
	return url;
}

int
graph_client_sub_renew(struct graph_client *c, const char *id, time_t expires,
    struct graph_sub *out, struct remote_failure *f)
{
	struct call call = { .method = "PATCH", .need = NEED_SUBSCRIPTION };
	char iso[40], what[160], *url = sub_url(c, id);
	json_t *body;
	int rc;

	fail_clear(f);
	memset(out, 0, sizeof(*out));
	sub_time(expires, iso);
	body = json_pack("{s:s}", "expirationDateTime", iso);
	snprintf(what, sizeof(what), "renew subscription %.80s", id);
	call.url = url;
	call.body = body;
	call.what = what;
	rc = sub_call(c, &call, out, f);
	if (rc == 0)
		log_info("graph: subscription renewed id=%s expires=%s", id, iso);
	json_decref(body);
	free(url);
	return rc;
}

int
graph_client_sub_delete(struct graph_client *c, const char *id, struct remote_failure *f)
{
	struct call call = { .method = "DELETE", .ok = 204, .also_ok = 404,
	    .need = NEED_SUBSCRIPTION };
	char what[160], *url = sub_url(c, id);
	int rc;

	fail_clear(f);
	snprintf(what, sizeof(what), "delete subscription %.80s", id);
	call.url = url;
	call.what = what;
	rc = request(c, &call, NULL, f);
	if (rc > 0)
		log_info("graph: subscription deleted id=%s already_gone=%s", id,
		    rc == 404 ? "yes" : "no");
	free(url);
	return rc < 0 ? -1 : 0;
}

int
graph_client_sub_list(struct graph_client *c, struct graph_sub **out, size_t *n,
    struct remote_failure *f)
{
	struct graph_sub *v = NULL;
	size_t nv = 0, cap = 0, i;
	char *url = xasprintf("%s/subscriptions", c->cfg->graph_base_url);
	const char *next;
	json_t *page = NULL, *value, *e;
	int rc = -1, pages;

	fail_clear(f);
	*out = NULL;
	*n = 0;
	for (pages = 0; url != NULL; pages++) {
		if (pages == MAX_SUB_PAGES) {
			fail_set(f, REMOTE_FINAL, 200, "too_many_pages", "graph: list subscriptions: "
			    "more than %d pages", MAX_SUB_PAGES);
			goto out;
		}
		if (get_json(c, url, 0, NEED_SUBSCRIPTION, "list subscriptions", &page, f) < 0)
			goto out;
		if (!json_is_array(value = json_object_get(page, "value"))) {
			fail_set(f, REMOTE_TEMP, 200, "bad_response", "graph: list subscriptions: no "
			    "value array");
			goto out;
		}
		json_array_foreach(value, i, e) {
			if (nv == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			if (sub_parse(e, &v[nv]) < 0) {
				fail_set(f, REMOTE_TEMP, 200, "bad_response", "graph: list "
				    "subscriptions: an entry without an id");
				goto out;
			}
			nv++;
		}
		free(url);
		url = NULL;
		if ((next = json_string_value(json_object_get(page, "@odata.nextLink"))) != NULL) {
			if (!link_ok(c, next)) {
				fail_set(f, REMOTE_FINAL, 200, "bad_link", "graph: list subscriptions: "
				    "a nextLink outside graph_base_url");
				goto out;
			}
			url = xstrdup(next);
		}
		json_decref(page);
		page = NULL;
	}
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
out:
	graph_subs_free(v, nv);
	json_decref(page);
	free(url);
	return rc;
}

void
graph_sub_clear(struct graph_sub *s)
{
	free(s->id);
	free(s->resource);
	free(s->change_type);
	free(s->notification_url);
	free(s->lifecycle_url);
	memset(s, 0, sizeof(*s));
}

void
graph_subs_free(struct graph_sub *s, size_t n)
{
	for (size_t i = 0; i < n && s != NULL; i++)
		graph_sub_clear(&s[i]);
	free(s);
}
