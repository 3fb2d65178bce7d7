/* sf_auth.c: sf-sim's OAuth 2.0 token endpoint (JWT bearer, client credentials, refresh token),
 * the identity URL and the access-token check of every data call (see sf_auth.h). Error texts
 * are Salesforce's own; tokens and secrets never reach the log. */
#include "sf_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "b64.h"
#include "crypto.h"
#include "db.h"
#include "form.h"
#include "httpc.h"
#include "jwt.h"
#include "log.h"
#include "sf_id.h"
#include "xmalloc.h"

#define GRANT_JWT	"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define AUD_LOGIN	"https://login.salesforce.com"
#define AUD_TEST	"https://test.salesforce.com"
#define TOKEN_RANDOM	96	/* after "<org15>!AQ": about as long as Salesforce's */
#define REFRESH_RANDOM	80
#define MAX_USERNAME	256

static const struct sf_oauth_error
    err_assertion = { "invalid_grant", "invalid assertion" },
    err_audience = { "invalid_grant", "audience is invalid" },
    err_exp = { "invalid_grant", "expired authorization code" },
    err_not_approved = { "invalid_grant", "user hasn't approved this consumer" },
    err_inactive = { "invalid_grant", "inactive user" },
    err_client_id = { "invalid_client_id", "client identifier invalid" },
    err_client = { "invalid_client", "invalid client credentials" },
    err_domain = { "invalid_grant", "request not supported on this domain" },
    err_no_cc_user = { "invalid_grant", "no client credentials user enabled" },
    err_app_access = { "invalid_app_access", "user is not admin approved to access this app" },
    err_refresh = { "invalid_grant", "expired access/refresh token" },
    err_auth_code = { "invalid_grant", "invalid authorization code" },
    err_auth_failure = { "invalid_grant", "authentication failure" },
    err_unsupported = { "unsupported_grant_type", "grant type not supported" },
    err_no_grant = { "invalid_request", "grant type is missing" };

enum fmt { FMT_JSON, FMT_URLENCODED, FMT_XML };

/* One token request: its decoded form parameters and the answer format it asked for. */
struct treq {
	struct sf_sim *sim;
	struct httpd_request *req;
	struct httpd_param form[SF_AUTH_MAX_FORM];
	int nform;
};

/* A sim_app row. Strings are owned (app_free). */
struct app {
	char *consumer_key;
	char *consumer_secret;
	char *certificate;
	char *run_as;			/* username */
	char *preauthorized;		/* JSON array of usernames, or NULL for everyone */
	int admin_approved;
	int client_credentials;
	int require_secret_for_refresh;
};

struct user {
	char id[SF_ID_LEN + 1];
	char username[MAX_USERNAME];
	int active;
};

/* What a successful grant yields. */
struct grant {
	struct app app;
	struct user user;
	const char *scope;
	int signed_response;		/* issued_at + signature (refresh, client creds) */
};

/* A growable string for the urlencoded and XML renderings. */
struct buf {
	char *s;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_urlencode(struct buf *b, const char *s)
{
	char *e = httpc_escape(s);

	buf_str(b, e);
	free(e);
}

static void
buf_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_str(b, "&amp;"); break;
		case '<': buf_str(b, "&lt;"); break;
		case '>': buf_str(b, "&gt;"); break;
		case '"': buf_str(b, "&quot;"); break;
		default: buf_add(b, s, 1);
		}
	}
}

const char *
sf_auth_bearer(const char *authorization)
{
	const char *a = authorization;
	size_t n;

	if (a == NULL)
		return NULL;
	if (strncasecmp(a, "Bearer", 6) == 0)
		n = 6;
	else if (strncasecmp(a, "OAuth", 5) == 0)
		n = 5;
	else
		return NULL;
	if (a[n] == '\0')
		return a + n;
	if (a[n] != ' ')
		return NULL;
	while (a[n] == ' ')
		n++;
	return a + n;
}

char *
sf_auth_signature(const char *secret, const char *id_url, const char *issued_at)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *msg = xasprintf("%s%s", id_url, issued_at), *sig;

	crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
	sig = b64_encode(mac, sizeof(mac));
	free(msg);
	return sig;
}

int
sf_auth_jwt_issuer(const char *assertion, char *iss, size_t isslen, struct sf_oauth_error *e)
{
	struct jwt t;
	char err[256];
	const char *v;
	int rc = -1;

	if (assertion == NULL || jwt_decode(assertion, &t, err, sizeof(err)) < 0) {
		*e = err_assertion;
		return -1;
	}
	v = jwt_claim_str(&t, "iss");
	if (v == NULL || *v == '\0' || strlen(v) >= isslen) {
		*e = err_client_id;
	} else {
		snprintf(iss, isslen, "%s", v);
		rc = 0;
	}
	jwt_free(&t);
	return rc;
}

int
sf_auth_jwt_verify(const char *assertion, const char *cert_pem, const char *instance_url,
    time_t now, char *username, size_t usernamelen, struct sf_oauth_error *e)
{
	struct jwt t;
	EVP_PKEY *key = NULL;
	char err[256];
	const char *who;
	long long exp;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	*e = err_assertion;
	if (assertion == NULL || cert_pem == NULL)
		return -1;
	/* An app without a usable certificate cannot verify anything: same answer as a bad
	 * signature, which Salesforce gives when the uploaded certificate does not match. */
	if ((key = crypto_pubkey_load_pem(cert_pem, err, sizeof(err))) == NULL)
		goto out;
	if (jwt_verify(assertion, key, JWT_ALG_RS256, &t, err, sizeof(err)) < 0)
		goto out;
	if (!jwt_claim_has(&t, "aud", AUD_LOGIN) && !jwt_claim_has(&t, "aud", AUD_TEST) &&
	    (instance_url == NULL || !jwt_claim_has(&t, "aud", instance_url))) {
		*e = err_audience;
		goto out;
	}
	if (jwt_check_times(&t, now, SF_AUTH_JWT_SKEW, err, sizeof(err)) < 0 ||
	    jwt_claim_int(&t, "exp", &exp) < 0 ||
	    exp > (long long)now + SF_AUTH_JWT_MAX_AHEAD + SF_AUTH_JWT_SKEW) {
		*e = err_exp;
		goto out;
	}
	/* The older "prn" wins over "sub" when both are there. */
	if ((who = jwt_claim_str(&t, "prn")) == NULL)
		who = jwt_claim_str(&t, "sub");
	if (who == NULL || *who == '\0' || strlen(who) >= usernamelen) {
		*e = err_not_approved;
		goto out;
	}
	snprintf(username, usernamelen, "%s", who);
	rc = 0;
out:
	jwt_free(&t);
	EVP_PKEY_free(key);
	return rc;
}

static char *
column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v ? xstrdup((const char *)v) : NULL;
}

static void
app_free(struct app *a)
{
	free(a->consumer_key);
	free(a->consumer_secret);
	free(a->certificate);
	free(a->run_as);
	free(a->preauthorized);
	memset(a, 0, sizeof(*a));
}

static int
app_load(struct sf_sim *sim, const char *consumer_key, struct app *a)
{
	sqlite3_stmt *st = db_prepare(sim->store.db, "SELECT consumer_key, consumer_secret, "
	    "certificate, run_as, preauthorized, admin_approved, client_credentials, "
	    "require_secret_for_refresh FROM sim_app WHERE consumer_key = ?");
	int rc = -1;

	memset(a, 0, sizeof(*a));
	sqlite3_bind_text(st, 1, consumer_key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		a->consumer_key = column_dup(st, 0);
		a->consumer_secret = column_dup(st, 1);
		a->certificate = column_dup(st, 2);
		a->run_as = column_dup(st, 3);
		a->preauthorized = column_dup(st, 4);
		a->admin_approved = sqlite3_column_int(st, 5);
		a->client_credentials = sqlite3_column_int(st, 6);
		a->require_secret_for_refresh = sqlite3_column_int(st, 7);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* 1 if the app's preauthorized list (NULL: everyone) holds username. */
static int
app_lists(const struct app *a, const char *username)
{
	json_t *list, *v;
	size_t i;
	int found = 0;

	if (a->preauthorized == NULL)
		return 1;
	if ((list = json_loads(a->preauthorized, 0, NULL)) == NULL)
		return 0;
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), username) == 0)
			found = 1;
	json_decref(list);
	return found;
}

/* A schema without User/IsActive still serves, with every token's user taken as active. */
static int
users_have(struct sf_sim *sim, const char *field)
{
	const struct sf_object *u = sf_schema_object(&sim->schema, "User");

	return u != NULL && sf_schema_field(u, field) != NULL;
}

static int
user_load(struct sf_sim *sim, const char *by, const char *value, struct user *u)
{
	sqlite3_stmt *st;
	char *sql;
	int rc = -1;

	memset(u, 0, sizeof(*u));
	if (!users_have(sim, "Username") || !users_have(sim, "IsActive"))
		return -1;
	/* Username is COLLATE NOCASE: Salesforce usernames match case-insensitively. */
	sql = xasprintf("SELECT Id, Username, IsActive FROM \"User\" WHERE %s = ? AND "
	    "IsDeleted = 0", by);
	st = db_prepare(sim->store.db, sql);
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
		snprintf(u->id, sizeof(u->id), "%s", sqlite3_column_text(st, 0));
		snprintf(u->username, sizeof(u->username), "%s",
		    sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
		u->active = sqlite3_column_int(st, 2) != 0;
		rc = 0;
	}
	sqlite3_finalize(st);
	free(sql);
	return rc;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
sf_auth_mint(struct sf_sim *sim, const char *user_id, const char *consumer_key,
    const char *scope)
{
	sqlite3_stmt *st = db_prepare(sim->store.db, "INSERT INTO sim_token (token, user_id, "
	    "consumer_key, issued_at, expires_at, scope) VALUES (?, ?, ?, ?, ?, ?)");
	long ttl = sim->settings.token_ttl_sec > 0 ? sim->settings.token_ttl_sec : 7200;
	time_t now = time(NULL);
	char *rnd = crypto_random_token(TOKEN_RANDOM);
	/* Salesforce session ids start with the 15-character org id and "!". */
	char *token = xasprintf("%.15s!AQ%s", sim->org_id, rnd);

	free(rnd);
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	if (consumer_key != NULL)
		sqlite3_bind_text(st, 3, consumer_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (long long)now);
	sqlite3_bind_int64(st, 5, (long long)now + ttl);
	if (scope != NULL)
		sqlite3_bind_text(st, 6, scope, -1, SQLITE_STATIC);
	/* The caller still gets a token; it will just answer INVALID_SESSION_ID. */
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("auth: cannot store an access token user=%s reason=\"%s\"", user_id,
		    sqlite3_errmsg(sim->store.db));
	sqlite3_finalize(st);
	return token;
}

char *
sf_auth_issue_refresh(struct sf_sim *sim, const char *user_id, const char *consumer_key)
{
	struct app a;
	sqlite3_stmt *st;
	char *rnd, *token;

	if (consumer_key == NULL || app_load(sim, consumer_key, &a) < 0)
		return NULL;
	app_free(&a);
	rnd = crypto_random_token(REFRESH_RANDOM);
	/* Real refresh tokens all start like this one. */
	token = xasprintf("5Aep861%s", rnd);
	free(rnd);
	st = db_prepare(sim->store.db, "INSERT INTO sim_refresh (token, user_id, consumer_key, "
	    "revoked) VALUES (?, ?, ?, 0)");
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, consumer_key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("auth: cannot store a refresh token user=%s reason=\"%s\"", user_id,
		    sqlite3_errmsg(sim->store.db));
		free(token);
		token = NULL;
	} else {
		log_info("auth: refresh token issued app=%s user=%s", consumer_key, user_id);
	}
	sqlite3_finalize(st);
	return token;
}

/* The user of a live access token: 0 and user_id set, or -1. */
static int
token_user(struct sf_sim *sim, const char *token, char user_id[SF_ID_LEN + 1])
{
	sqlite3_stmt *st = db_prepare(sim->store.db, "SELECT user_id, issued_at, expires_at "
	    "FROM sim_token WHERE token = ?");
	long long now = (long long)time(NULL);
	int rc = -1;

	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
		long long issued = sqlite3_column_int64(st, 1);
		long long expires = sqlite3_column_int64(st, 2);

		/* Lowering the session timeout (/_sim/config) also ends older sessions sooner. */
		if (now < expires && now < issued + sim->settings.token_ttl_sec) {
			snprintf(user_id, SF_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
			rc = 0;
		}
	}
	sqlite3_finalize(st);
	if (rc == 0 && users_have(sim, "IsActive")) {
		struct user u;

		/* Deactivating a user ends the user's sessions. */
		if (user_load(sim, "Id", user_id, &u) < 0 || !u.active)
			rc = -1;
	}
	return rc;
}

int
sf_auth_check(struct sf_sim *sim, const char *authorization, char user_id[19],
    struct sf_error *err)
{
	const char *token;

	/* No header at all is a missing session, not a wrong header type. */
	if (authorization == NULL || *authorization == '\0')
		return sf_error_set(err, 401, "INVALID_SESSION_ID", "Session expired or invalid");
	if ((token = sf_auth_bearer(authorization)) == NULL)
		return sf_error_set(err, 401, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE");
	if (*token == '\0' || token_user(sim, token, user_id) < 0)
		return sf_error_set(err, 401, "INVALID_SESSION_ID", "Session expired or invalid");
	return 0;
}

/* A token request parameter from the form body, or else from the query string (Salesforce
 * reads both). */
static const char *
param(const struct treq *t, const char *name)
{
	for (int i = 0; i < t->nform; i++)
		if (strcmp(t->form[i].name, name) == 0)
			return t->form[i].value;
	return httpd_query(t->req, name);
}

static enum fmt
response_format(const struct treq *t)
{
	const char *f = param(t, "format"), *accept;

	if (f != NULL) {
		if (strcasecmp(f, "urlencoded") == 0)
			return FMT_URLENCODED;
		if (strcasecmp(f, "xml") == 0)
			return FMT_XML;
		return FMT_JSON;
	}
	accept = httpd_header(t->req, "Accept");
	if (accept == NULL || strstr(accept, "json") != NULL)
		return FMT_JSON;
	if (strstr(accept, "x-www-form-urlencoded") != NULL)
		return FMT_URLENCODED;
	if (strstr(accept, "xml") != NULL)
		return FMT_XML;
	return FMT_JSON;
}

/* Answers a flat object of strings in the requested format; obj is stolen. Token responses
 * must never be cached (RFC 6749 5.1). */
static void
respond(struct httpd_response *resp, enum fmt fmt, int status, json_t *obj)
{
	struct buf b = { NULL, 0, 0 };
	const char *key;
	json_t *v;
	int first = 1;

	switch (fmt) {
	case FMT_JSON:
		b.s = json_dumps(obj, JSON_COMPACT);
		httpd_respond_text(resp, status, "application/json;charset=UTF-8", b.s);
		break;
	case FMT_URLENCODED:
		buf_str(&b, "");
		json_object_foreach(obj, key, v) {
			if (!first)
				buf_str(&b, "&");
			first = 0;
			buf_urlencode(&b, key);
			buf_str(&b, "=");
			buf_urlencode(&b, json_string_value(v) ? json_string_value(v) : "");
		}
		httpd_respond_text(resp, status, "application/x-www-form-urlencoded;charset=UTF-8",
		    b.s);
		break;
	case FMT_XML:
		buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OAuth>");
		json_object_foreach(obj, key, v) {
			buf_str(&b, "<");
			buf_str(&b, key);
			buf_str(&b, ">");
			buf_xml(&b, json_string_value(v) ? json_string_value(v) : "");
			buf_str(&b, "</");
			buf_str(&b, key);
			buf_str(&b, ">");
		}
		buf_str(&b, "</OAuth>");
		httpd_respond_text(resp, status, "application/xml;charset=UTF-8", b.s);
		break;
	}
	free(b.s);
	json_decref(obj);
	httpd_response_header(resp, "Cache-Control", "no-store");
	httpd_response_header(resp, "Pragma", "no-cache");
}

/* The Host names that answer for every org; sf-sim itself stands for a My Domain host. */
static int
login_host(const struct httpd_request *req)
{
	const char *host = httpd_header(req, "Host");
	size_t n;

	if (host == NULL)
		return 0;
	n = strcspn(host, ":");
	return (n == 20 && strncasecmp(host, "login.salesforce.com", n) == 0) ||
	    (n == 19 && strncasecmp(host, "test.salesforce.com", n) == 0);
}

/* client_id / client_secret from HTTP Basic, else from the parameters. *bid and *bsecret hold
 * what Basic decoded (caller frees). */
static void
client_credentials(const struct treq *t, const char **id, const char **secret, char **bid,
    char **bsecret)
{
	if (form_basic_auth(httpd_header(t->req, "Authorization"), 0, bid, bsecret) == 0) {
		*id = *bid;
		*secret = *bsecret;
	} else {
		*id = param(t, "client_id");
		*secret = param(t, "client_secret");
	}
}

static int
secret_ok(const struct app *a, const char *secret)
{
	return secret != NULL && a->consumer_secret != NULL &&
	    crypto_streq(secret, a->consumer_secret);
}

/* Admin-approved apps refuse users not assigned to them; self-authorize apps refuse users who
 * never approved them (only JWT cares: the other flows start from an approval). */
static int
app_admits(const struct app *a, const struct user *u, int jwt, struct sf_oauth_error *e)
{
	if (app_lists(a, u->username))
		return 1;
	if (a->admin_approved) {
		*e = err_app_access;
		return 0;
	}
	if (jwt) {
		*e = err_not_approved;
		return 0;
	}
	return 1;
}

static int
grant_jwt(struct treq *t, struct grant *g, struct sf_oauth_error *e)
{
	const char *assertion = param(t, "assertion");
	char iss[256], username[MAX_USERNAME];

	if (sf_auth_jwt_issuer(assertion, iss, sizeof(iss), e) < 0)
		return -1;
	if (app_load(t->sim, iss, &g->app) < 0) {
		*e = err_client_id;
		return -1;
	}
	if (sf_auth_jwt_verify(assertion, g->app.certificate, t->sim->base_url, time(NULL),
	    username, sizeof(username), e) < 0)
		return -1;
	if (user_load(t->sim, "Username", username, &g->user) < 0) {
		*e = err_not_approved;
		return -1;
	}
	if (!g->user.active) {
		*e = err_inactive;
		return -1;
	}
	if (!app_admits(&g->app, &g->user, 1, e))
		return -1;
	g->scope = "api";
	return 0;
}

static int
grant_client_credentials(struct treq *t, struct grant *g, struct sf_oauth_error *e)
{
	const char *id, *secret;
	char *bid = NULL, *bsecret = NULL;
	int rc = -1;

	/* login.salesforce.com serves every org, so it cannot know whose Run As user to use. */
	if (login_host(t->req)) {
		*e = err_domain;
		return -1;
	}
	client_credentials(t, &id, &secret, &bid, &bsecret);
	if (id == NULL || app_load(t->sim, id, &g->app) < 0) {
		*e = err_client_id;
		goto out;
	}
	if (!secret_ok(&g->app, secret)) {
		*e = err_client;
		goto out;
	}
	if (!g->app.client_credentials || g->app.run_as == NULL ||
	    user_load(t->sim, "Username", g->app.run_as, &g->user) < 0) {
		*e = err_no_cc_user;
		goto out;
	}
	if (!g->user.active) {
		*e = err_inactive;
		goto out;
	}
	g->scope = "api";
	g->signed_response = 1;
	rc = 0;
out:
	free(bid);
	free(bsecret);
	return rc;
}

static int
grant_refresh(struct treq *t, struct grant *g, struct sf_oauth_error *e)
{
	const char *id, *secret, *rt = param(t, "refresh_token");
	char *bid = NULL, *bsecret = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, live = 0;

	client_credentials(t, &id, &secret, &bid, &bsecret);
	if (id == NULL || app_load(t->sim, id, &g->app) < 0) {
		*e = err_client_id;
		goto out;
	}
	/* A secret sent anyway must still be the right one. */
	if ((secret != NULL || g->app.require_secret_for_refresh) &&
	    !secret_ok(&g->app, secret)) {
		*e = err_client;
		goto out;
	}
	*e = err_refresh;
	if (rt == NULL)
		goto out;
	st = db_prepare(t->sim->store.db, "SELECT user_id, consumer_key, revoked FROM sim_refresh "
	    "WHERE token = ?");
	sqlite3_bind_text(st, 1, rt, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 2) == 0 &&
	    sqlite3_column_text(st, 1) != NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 1), g->app.consumer_key) == 0 &&
	    sqlite3_column_text(st, 0) != NULL)
		live = user_load(t->sim, "Id", (const char *)sqlite3_column_text(st, 0),
		    &g->user) == 0;
	if (!live)
		goto out;
	if (!g->user.active) {
		*e = err_inactive;
		goto out;
	}
	if (!app_admits(&g->app, &g->user, 0, e))
		goto out;
	g->scope = "refresh_token api";
	g->signed_response = 1;
	rc = 0;
out:
	sqlite3_finalize(st);
	free(bid);
	free(bsecret);
	return rc;
}

static void
grant_respond(struct treq *t, struct httpd_response *resp, enum fmt fmt, struct grant *g)
{
	struct sf_sim *sim = t->sim;
	char *token = sf_auth_mint(sim, g->user.id, g->app.consumer_key, g->scope);
	char *idurl = xasprintf("%s/id/%s/%s", sim->base_url, sim->org_id, g->user.id);
	char issued[32];
	json_t *o = json_object();

	/* Field order of Salesforce's own responses; no expires_in, ever. */
	snprintf(issued, sizeof(issued), "%lld", now_ms());
	json_object_set_new(o, "access_token", json_string(token));
	if (g->signed_response && g->app.consumer_secret != NULL) {
		char *sig = sf_auth_signature(g->app.consumer_secret, idurl, issued);

		json_object_set_new(o, "signature", json_string(sig));
		free(sig);
	}
	json_object_set_new(o, "scope", json_string(g->scope));
	json_object_set_new(o, "instance_url", json_string(sim->base_url));
	json_object_set_new(o, "id", json_string(idurl));
	json_object_set_new(o, "token_type", json_string("Bearer"));
	if (g->signed_response)
		json_object_set_new(o, "issued_at", json_string(issued));
	respond(resp, fmt, 200, o);
	free(token);
	free(idurl);
}

void
sf_auth_token(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp)
{
	struct treq t;
	struct grant g;
	struct sf_oauth_error e = err_unsupported;
	const char *grant;
	enum fmt fmt;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	memset(&g, 0, sizeof(g));
	t.sim = sim;
	t.req = req;
	t.nform = form_parse(req->body, req->body_len, FORM_SKIP_NAMELESS, t.form,
	    SF_AUTH_MAX_FORM);
	fmt = response_format(&t);
	grant = param(&t, "grant_type");
	if (grant == NULL || *grant == '\0')
		e = err_no_grant;
	else if (strcmp(grant, GRANT_JWT) == 0)
		rc = grant_jwt(&t, &g, &e);
	else if (strcmp(grant, "client_credentials") == 0)
		rc = grant_client_credentials(&t, &g, &e);
	else if (strcmp(grant, "refresh_token") == 0)
		rc = grant_refresh(&t, &g, &e);
	else if (strcmp(grant, "authorization_code") == 0)
		e = err_auth_code;	/* sf-sim never hands out codes */
	else if (strcmp(grant, "password") == 0)
		e = err_auth_failure;	/* nor keeps passwords */
	if (rc == 0) {
		grant_respond(&t, resp, fmt, &g);
		log_info("auth: token issued grant=%s app=%s user=%s", grant,
		    g.app.consumer_key, g.user.id);
	} else {
		respond(resp, fmt, 400, json_pack("{s:s,s:s}", "error", e.error,
		    "error_description", e.description));
		/* Only our own grant names reach the log, never what the client typed. */
		log_info("auth: token refused grant=%s error=%s reason=\"%s\"",
		    grant == NULL ? "(none)" : e.error == err_unsupported.error ? "(other)" : grant,
		    e.error, e.description);
	}
	app_free(&g.app);
	form_free(t.form, t.nform);
}

void
sf_auth_revoke(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp)
{
	struct treq t;
	const char *token;
	sqlite3_stmt *st;
	int found = 0;

	memset(&t, 0, sizeof(t));
	t.sim = sim;
	t.req = req;
	t.nform = form_parse(req->body, req->body_len, FORM_SKIP_NAMELESS, t.form,
	    SF_AUTH_MAX_FORM);
	token = param(&t, "token");
	if (token != NULL && *token != '\0') {
		/* Revoking a refresh token ends the sessions it could have made: those of the same
		 * user through the same app (sf-sim does not track which token minted which). */
		st = db_prepare(sim->store.db, "UPDATE sim_refresh SET revoked = 1 WHERE token = ? "
		    "RETURNING user_id, consumer_key");
		sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			sqlite3_stmt *del = db_prepare(sim->store.db, "DELETE FROM sim_token WHERE "
			    "user_id = ? AND consumer_key = ?");

			sqlite3_bind_value(del, 1, sqlite3_column_value(st, 0));
			sqlite3_bind_value(del, 2, sqlite3_column_value(st, 1));
			sqlite3_step(del);
			sqlite3_finalize(del);
			found = 1;
		}
		sqlite3_finalize(st);
		st = db_prepare(sim->store.db, "DELETE FROM sim_token WHERE token = ?");
		sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sim->store.db) > 0)
			found = 1;
		sqlite3_finalize(st);
	}
	if (found) {
		httpd_respond_empty(resp, 200);
		log_info("auth: token revoked");
	} else {
		respond(resp, FMT_JSON, 400, json_pack("{s:s,s:s}", "error",
		    "unsupported_token_type", "error_description",
		    "this token type is not supported"));
	}
	form_free(t.form, t.nform);
}

/* Identity service errors are bare status words, not JSON. */
static void
identity_error(struct httpd_response *resp, int status, const char *word)
{
	httpd_respond_text(resp, status, "text/plain;charset=UTF-8", word);
}

/* Salesforce's identity "user_type": "PowerPartner" -> "POWER_PARTNER". */
static json_t *
identity_user_type(const char *t)
{
	char out[64];
	size_t n = 0;

	if (t == NULL)
		t = "Standard";
	for (size_t i = 0; t[i] && n + 2 < sizeof(out); i++) {
		if (i > 0 && isupper((unsigned char)t[i]))
			out[n++] = '_';
		out[n++] = (char)toupper((unsigned char)t[i]);
	}
	out[n] = '\0';
	return json_string(out);
}

/* Standard-time UTC offsets of the schema's time zones, in milliseconds. */
static json_int_t
utc_offset(const char *tz)
{
	static const struct {
		const char *tz;
		int minutes;
	} zones[] = {
		{ "America/Los_Angeles", -480 }, { "America/Denver", -420 },
		{ "America/Chicago", -360 }, { "America/New_York", -300 },
		{ "America/Sao_Paulo", -180 }, { "GMT", 0 }, { "Europe/London", 0 },
		{ "Europe/Paris", 60 }, { "Europe/Berlin", 60 }, { "Asia/Kolkata", 330 },
		{ "Asia/Singapore", 480 }, { "Asia/Tokyo", 540 }, { "Australia/Sydney", 600 },
	};

	for (size_t i = 0; tz != NULL && i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcmp(zones[i].tz, tz) == 0)
			return (json_int_t)zones[i].minutes * 60000;
	return 0;
}

static const char *
rec_str(json_t *rec, const char *field)
{
	return json_string_value(json_object_get(rec, field));
}

static json_t *
rec_val(json_t *rec, const char *field)
{
	const char *s = rec_str(rec, field);

	return s ? json_string(s) : json_null();
}

static json_t *
identity_urls(struct sf_sim *sim, const char *version, const char *user_id)
{
	const char *b = sim->base_url, *v = version;
	char org15[16];
	json_t *u = json_object();

	snprintf(org15, sizeof(org15), "%.15s", sim->org_id);
	json_object_set_new(u, "enterprise", json_sprintf("%s/services/Soap/c/%s/%s", b, v, org15));
	json_object_set_new(u, "metadata", json_sprintf("%s/services/Soap/m/%s/%s", b, v, org15));
	json_object_set_new(u, "partner", json_sprintf("%s/services/Soap/u/%s/%s", b, v, org15));
	json_object_set_new(u, "rest", json_sprintf("%s/services/data/v%s/", b, v));
	json_object_set_new(u, "sobjects", json_sprintf("%s/services/data/v%s/sobjects/", b, v));
	json_object_set_new(u, "search", json_sprintf("%s/services/data/v%s/search/", b, v));
	json_object_set_new(u, "query", json_sprintf("%s/services/data/v%s/query/", b, v));
	json_object_set_new(u, "recent", json_sprintf("%s/services/data/v%s/recent/", b, v));
	json_object_set_new(u, "tooling_soap", json_sprintf("%s/services/Soap/T/%s/%s", b, v,
	    org15));
	json_object_set_new(u, "tooling_rest", json_sprintf("%s/services/data/v%s/tooling/", b,
	    v));
	json_object_set_new(u, "profile", json_sprintf("%s/%s", b, user_id));
	json_object_set_new(u, "feeds", json_sprintf("%s/services/data/v%s/chatter/feeds", b, v));
	json_object_set_new(u, "groups", json_sprintf("%s/services/data/v%s/chatter/groups", b,
	    v));
	json_object_set_new(u, "users", json_sprintf("%s/services/data/v%s/chatter/users", b, v));
	json_object_set_new(u, "feed_items", json_sprintf("%s/services/data/v%s/chatter/"
	    "feed-items", b, v));
	json_object_set_new(u, "feed_elements", json_sprintf("%s/services/data/v%s/chatter/"
	    "feed-elements", b, v));
	json_object_set_new(u, "custom_domain", json_string(b));
	return u;
}

static json_t *
identity_body(struct sf_sim *sim, json_t *rec, const char *user_id, const char *version,
    int asserted)
{
	const char *first = rec_str(rec, "FirstName"), *last = rec_str(rec, "LastName");
	const char *name = rec_str(rec, "Name"), *nick = rec_str(rec, "CommunityNickname");
	const char *modified = rec_str(rec, "LastModifiedDate");
	char *display = NULL;
	json_t *o = json_object();

	if (name == NULL || *name == '\0') {
		display = xasprintf("%s%s%s", first ? first : "", first ? " " : "",
		    last ? last : "");
		name = display;
	}
	if (nick == NULL)
		nick = rec_str(rec, "Alias");
	json_object_set_new(o, "id", json_sprintf("%s/id/%s/%s", sim->base_url, sim->org_id,
	    user_id));
	json_object_set_new(o, "asserted_user", json_boolean(asserted));
	json_object_set_new(o, "user_id", json_string(user_id));
	json_object_set_new(o, "organization_id", json_string(sim->org_id));
	json_object_set_new(o, "username", rec_val(rec, "Username"));
	json_object_set_new(o, "nick_name", nick ? json_string(nick) : json_null());
	json_object_set_new(o, "display_name", json_string(name));
	json_object_set_new(o, "email", rec_val(rec, "Email"));
	json_object_set_new(o, "email_verified", json_true());
	json_object_set_new(o, "first_name", rec_val(rec, "FirstName"));
	json_object_set_new(o, "last_name", rec_val(rec, "LastName"));
	json_object_set_new(o, "timezone", rec_val(rec, "TimeZoneSidKey"));
	json_object_set_new(o, "photos", json_pack("{s:o,s:o}",
	    "picture", json_sprintf("%s/profilephoto/005/F", sim->base_url),
	    "thumbnail", json_sprintf("%s/profilephoto/005/T", sim->base_url)));
	json_object_set_new(o, "addr_street", json_null());
	json_object_set_new(o, "addr_city", json_null());
	json_object_set_new(o, "addr_state", json_null());
	json_object_set_new(o, "addr_country", json_null());
	json_object_set_new(o, "addr_zip", json_null());
	json_object_set_new(o, "mobile_phone", rec_val(rec, "MobilePhone"));
	json_object_set_new(o, "mobile_phone_verified", json_false());
	json_object_set_new(o, "is_lightning_login_user", json_false());
	json_object_set_new(o, "status", json_pack("{s:n,s:n}", "created_date", "body"));
	json_object_set_new(o, "urls", identity_urls(sim, version, user_id));
	json_object_set_new(o, "active", json_boolean(json_is_true(json_object_get(rec,
	    "IsActive"))));
	json_object_set_new(o, "user_type", identity_user_type(rec_str(rec, "UserType")));
	json_object_set_new(o, "language", rec_val(rec, "LanguageLocaleKey"));
	json_object_set_new(o, "locale", rec_val(rec, "LocaleSidKey"));
	json_object_set_new(o, "utcOffset", json_integer(utc_offset(rec_str(rec,
	    "TimeZoneSidKey"))));
	/* "2024-05-06T14:08:52.000+0000" -> "2024-05-06T14:08:52Z" */
	if (modified != NULL && strlen(modified) >= 19)
		json_object_set_new(o, "last_modified_date", json_sprintf("%.19sZ", modified));
	else
		json_object_set_new(o, "last_modified_date", json_null());
	json_object_set_new(o, "is_app_installed", json_true());
	free(display);
	return o;
}

void
sf_auth_identity(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp)
{
	const struct sf_object *uobj = sf_schema_object(&sim->schema, "User");
	const char *token, *p = req->path + 4, *slash, *v;
	char org[SF_ID_LEN + 1], uid[SF_ID_LEN + 1], caller[SF_ID_LEN + 1], version[16];
	char *orgpart = NULL;
	struct sf_error err;
	struct user u;
	json_t *rec = NULL;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0 &&
	    strcmp(req->method, "HEAD") != 0) {
		identity_error(resp, 405, "Method_Not_Allowed");
		return;
	}
	if ((token = sf_auth_bearer(httpd_header(req, "Authorization"))) == NULL || *token == '\0')
		token = httpd_query(req, "oauth_token");
	if (token == NULL || *token == '\0') {
		identity_error(resp, 403, "Missing_OAuth_Token");
		return;
	}
	if (token_user(sim, token, caller) < 0) {
		identity_error(resp, 403, "Bad_OAuth_Token");
		return;
	}
	/* /id/{orgId}/{userId}, either id in its 15- or 18-character form. */
	if ((slash = strchr(p, '/')) == NULL) {
		identity_error(resp, 404, "Bad_Id");
		return;
	}
	orgpart = xstrndup(p, (size_t)(slash - p));
	p = slash + 1;
	slash = strchr(p, '/');
	if (slash != NULL && slash[1] != '\0') {
		free(orgpart);
		identity_error(resp, 404, "Bad_Id");
		return;
	}
	{
		char *userpart = xstrndup(p, slash ? (size_t)(slash - p) : strlen(p));
		int bad = sf_id_normalize(orgpart, org) < 0 || sf_id_normalize(userpart, uid) < 0;

		free(userpart);
		free(orgpart);
		if (bad) {
			identity_error(resp, 404, "Bad_Id");
			return;
		}
	}
	if (strcmp(org, sim->org_id) != 0) {
		identity_error(resp, 403, "Wrong_Org");
		return;
	}
	if (uobj == NULL || user_load(sim, "Id", uid, &u) < 0) {
		identity_error(resp, 404, "Bad_Id");
		return;
	}
	if (!u.active) {
		identity_error(resp, 404, "Inactive");
		return;
	}
	/* URLs carry the literal "{version}" unless the caller names one. */
	v = httpd_query(req, "version");
	if (v == NULL) {
		snprintf(version, sizeof(version), "{version}");
	} else if (strcmp(v, "latest") == 0) {
		snprintf(version, sizeof(version), "%d.0", SF_API_MAX);
	} else {
		int major, minor, n = 0;

		if (sscanf(v, "%d.%d%n", &major, &minor, &n) != 2 || v[n] != '\0' ||
		    major < SF_API_MIN || major > SF_API_MAX || minor != 0) {
			identity_error(resp, 406, "Invalid_Version");
			return;
		}
		snprintf(version, sizeof(version), "%d.0", major);
	}
	if ((rec = sf_store_get(&sim->store, uobj, uid, NULL, 0, "62.0", &err)) == NULL) {
		identity_error(resp, 404, "Bad_Id");
		return;
	}
	httpd_respond_json(resp, 200, identity_body(sim, rec, uid, version,
	    strcmp(caller, uid) == 0));
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json;charset=UTF-8");
	json_decref(rec);
}
