/* graph_auth.c: the Microsoft identity platform as graph-sim serves it (see graph_auth.h): the
 * v2.0 client-credentials token endpoint with Entra's AADSTS errors, OpenID and instance
 * discovery, the signing keys, and the check of the Graph access token on every /v1.0 call. */
#include "graph_auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "b64.h"
#include "crypto.h"
#include "db.h"
#include "form.h"
#include "isotime.h"
#include "jwt.h"
#include "log.h"
#include "xmalloc.h"

#define LOGIN		"https://login.microsoftonline.com"
#define ASSERTION_TYPE	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CERT_DOCS	"https://docs.microsoft.com/en-us/azure/active-directory/develop/" \
			"active-directory-certificate-credentials"
#define CONSUMERS_TID	"9188040d-6c67-4c5b-b112-36a304b66dad"
#define REGION		"NA"
#define TENANT_CREATED	1600000000	/* xms_tcdt: when the sim's tenant was "created" */
#define MAX_SEGMENT	256		/* longer tenant segments are not identity paths */
/* What Graph answers a 401 with, as the real service does. */
#define WWW_AUTHENTICATE "Bearer realm=\"\", authorization_uri=\"" LOGIN "/common/oauth2/" \
			"authorize\", client_id=\"" GRAPH_RESOURCE_ID "\""

#define MSG_EMPTY	"Access token is empty."
#define MSG_COMPACT	"CompactToken parsing/validation failed with reason code: 80049228."
#define MSG_INVALID	"Access token validation failure."
#define MSG_AUDIENCE	"Access token validation failure. Invalid audience."
#define MSG_ISSUER	"Access token validation failure. Invalid issuer."
#define MSG_EXPIRED	"Lifetime validation failed, the token is expired."
#define MSG_NOT_YET	"Lifetime validation failed, the token is not yet valid."

/* Which kind of tenant a path segment names. */
enum tenant {
	TENANT_UNKNOWN,
	TENANT_OURS,			/* the sim's id or domain */
	TENANT_ORGANIZATIONS,
	TENANT_COMMON,
	TENANT_CONSUMERS,
};

/* A g_app row. Strings and JSON owned (app_free). */
struct app {
	char *client_id;
	char *display_name;
	char *secret;
	char *certificate;
	char *sp_id;
	json_t *roles;
	json_t *scopes;
	int secret_expired;
	int disabled;
};

static int
fail(struct graph_auth_error *e, int status, const char *error, long code, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct graph_auth_error *e, int status, const char *error, long code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->error = error;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* "2024-05-24 12:52:15Z": the timestamps of Entra error bodies. */
static void
time_entra(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* "2024-05-24T12:52:15.1234567Z": .NET's round-trip format, in which Entra prints assertion
 * times. A time of 0 prints as DateTime.MinValue, as Entra shows a missing claim. */
static void
time_dotnet(double t, char out[40])
{
	time_t secs = (time_t)t;
	long ticks = (long)((t - (double)secs) * 1e7);

	if (t <= 0) {
		snprintf(out, 40, "0001-01-01T00:00:00.0000000Z");
		return;
	}
	if (ticks < 0 || ticks > 9999999)
		ticks = 0;
	isotime_format(secs, 7, ticks, "Z", out, 40);
}

json_t *
graph_auth_error_body(const struct graph_auth_error *e, const char *trace_id,
    const char *correlation_id, time_t now)
{
	char ts[32];

	time_entra(now, ts);
	return json_pack("{s:s,s:o,s:[I],s:s,s:s,s:s,s:o}",
	    "error", e->error,
	    "error_description", json_sprintf("AADSTS%ld: %s\r\nTrace ID: %s\r\nCorrelation ID: "
	    "%s\r\nTimestamp: %s", e->code, e->message, trace_id, correlation_id, ts),
	    "error_codes", (json_int_t)e->code,
	    "timestamp", ts,
	    "trace_id", trace_id,
	    "correlation_id", correlation_id,
	    "error_uri", json_sprintf(LOGIN "/error?code=%ld", e->code));
}

const char *
graph_auth_bearer(const char *authorization)
{
	const char *a = authorization;

	if (a == NULL || strncasecmp(a, "Bearer", 6) != 0)
		return NULL;
	a += 6;
	if (*a == '\0')
		return a;
	if (*a != ' ')
		return NULL;
	while (*a == ' ')
		a++;
	return a;
}

/* 1 if resource (the part of a scope before "/.default") names Microsoft Graph. A trailing
 * slash is tolerated ("https://graph.microsoft.com//.default"), as Entra does. */
static int
is_graph_resource(const char *resource, size_t len)
{
	static const char *const names[] = { GRAPH_RESOURCE, GRAPH_RESOURCE "/",
	    GRAPH_RESOURCE_ID };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], resource, len) == 0)
			return 1;
	return 0;
}

int
graph_auth_scope_check(const char *scope, const char *tenant, struct graph_auth_error *e)
{
	const char *p = scope, *resource = NULL;
	size_t rlen = 0;
	int ndefault = 0;

	while (p != NULL && *p == ' ')
		p++;
	if (p == NULL || *p == '\0')
		return fail(e, 400, "invalid_request", 90014, "The required field 'scope' is "
		    "missing from the credential. Ensure that you have all the necessary "
		    "parameters for the login request.");
	while (*p) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n < 9 || strncasecmp(p + n - 9, "/.default", 9) != 0)
			return fail(e, 400, "invalid_scope", 1002012, "The provided value for scope "
			    "%.*s is not valid. Client credential flows must have a scope value with "
			    "/.default suffixed to the resource identifier (application ID URI).",
			    (int)(n > 256 ? 256 : n), p);
		ndefault++;
		resource = p;
		rlen = n - 9;
		p += n;
		while (*p == ' ')
			p++;
	}
	/* A token is for one resource: two "/.default" scopes, or one without a resource,
	 * cannot be served. */
	if (ndefault != 1 || rlen == 0)
		return fail(e, 400, "invalid_scope", 70011, "The provided value for the input "
		    "parameter 'scope' is not valid. The scope %.256s is not valid.", scope);
	/* The sim's tenant has one resource principal, Graph: any other is "not found", which
	 * is what Entra says for a resource that is not in the tenant. */
	if (!is_graph_resource(resource, rlen))
		return fail(e, 400, "invalid_resource", 500011, "The resource principal named "
		    "%.*s was not found in the tenant named %s. This can happen if the application "
		    "has not been installed by the administrator of the tenant or consented to by "
		    "any user in the tenant. You might have sent your authentication request to "
		    "the wrong tenant.", (int)(rlen > 256 ? 256 : rlen), resource, tenant);
	return 0;
}

/* Upper-case hex of a base64url thumbprint, for messages; "" when it does not decode. */
static void
thumbprint_hex(const char *b64, char *out, size_t outlen)
{
	unsigned char *raw = NULL;
	size_t len = 0, n = 0;

	out[0] = '\0';
	if (b64 == NULL || b64url_decode(b64, strlen(b64), &raw, &len) < 0)
		return;
	for (size_t i = 0; i < len && n + 3 <= outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%02X", raw[i]);
	free(raw);
}

/* 1 if url is one of the token URLs of the tenant on host: v2.0 or v1, by id or by domain,
 * compared without regard to case (the docs' own example writes "V2.0"). */
static int
token_url_match(const char *url, const char *host, const struct graph_auth_assertion *a)
{
	static const char *const paths[] = { "/oauth2/v2.0/token", "/oauth2/token" };
	const char *tenants[] = { a->tenant_id, a->tenant_domain };

	if (host == NULL || url == NULL)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 2; j++) {
			char *want;
			int eq;

			if (tenants[i] == NULL || tenants[i][0] == '\0')
				continue;
			want = xasprintf("%s/%s%s", host, tenants[i], paths[j]);
			eq = strcasecmp(want, url) == 0;
			free(want);
			if (eq)
				return 1;
		}
	}
	return 0;
}

static int
audience_ok(const struct jwt *t, const struct graph_auth_assertion *a)
{
	json_t *aud = json_object_get(t->claims, "aud"), *v;
	size_t i;

	if (json_is_string(aud))
		return token_url_match(json_string_value(aud), LOGIN, a) ||
		    token_url_match(json_string_value(aud), a->base_url, a);
	json_array_foreach(aud, i, v)
		if (token_url_match(json_string_value(v), LOGIN, a) ||
		    token_url_match(json_string_value(v), a->base_url, a))
			return 1;
	return 0;
}

int
graph_auth_assertion_check(const char *assertion, struct graph_auth_assertion *a,
    struct graph_auth_error *e)
{
	struct jwt t;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char *x5t = NULL, *s256 = NULL, err[256], hex[80], now_s[40], from_s[40], exp_s[40];
	const char *hx5t, *hs256, *iss, *sub, *jti;
	long long exp, nbf;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	a->jti[0] = '\0';
	a->exp = 0;
	if (assertion == NULL || strlen(assertion) > JWT_MAX_LEN ||
	    jwt_decode(assertion, &t, err, sizeof(err)) < 0 || t.alg == 0) {
		fail(e, 401, "invalid_client", 50027, "JWT token is invalid or malformed.");
		goto out;
	}
	hx5t = jwt_header_str(&t, "x5t");
	hs256 = jwt_header_str(&t, "x5t#S256");
	thumbprint_hex(hs256 ? hs256 : hx5t, hex, sizeof(hex));
	if (a->cert_pem != NULL)
		cert = crypto_cert_load_pem(a->cert_pem, err, sizeof(err));
	if (cert != NULL) {
		x5t = crypto_cert_x5t(cert);
		s256 = crypto_cert_x5t_s256(cert);
	}
	/* Every thumbprint the client names must be the registered certificate's: that is how
	 * Entra picks the key, so a wrong one means "no such key", not "bad signature". */
	if (cert == NULL || (hx5t == NULL && hs256 == NULL) ||
	    (hx5t != NULL && strcmp(hx5t, x5t) != 0) ||
	    (hs256 != NULL && strcmp(hs256, s256) != 0)) {
		fail(e, 401, "invalid_client", 700027, "Client assertion contains an invalid "
		    "signature. [Reason - The key was not found., Thumbprint of key used by client: "
		    "'%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
		    "see configured keys for app Id '%s'. Review the documentation at "
		    "https://docs.microsoft.com/en-us/graph/deployments to determine the "
		    "corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/"
		    "application-get?view=graph-rest-1.0&tabs=http to build a query request URL, "
		    "such as 'https://graph.microsoft.com/beta/applications/%s']", hex,
		    a->client_id, a->client_id);
		goto out;
	}
	jwt_free(&t);
	if ((key = X509_get_pubkey(cert)) == NULL ||
	    jwt_verify(assertion, key, JWT_ALGS_ALL, &t, err, sizeof(err)) < 0) {
		fail(e, 401, "invalid_client", 700027, "Client assertion contains an invalid "
		    "signature. [Reason - The provided signature value did not match the expected "
		    "signature value., Thumbprint of key used by client: '%s', Found key "
		    "'Start=01/01/2024 00:00:00, End=01/01/2034 00:00:00']", hex);
		goto out;
	}
	if (!audience_ok(&t, a)) {
		fail(e, 401, "invalid_client", 700023, "Client assertion audience claim does not "
		    "match Realm issuer. Review the documentation at " CERT_DOCS " .");
		goto out;
	}
	iss = jwt_claim_str(&t, "iss");
	sub = jwt_claim_str(&t, "sub");
	if (iss == NULL || sub == NULL || strcasecmp(iss, a->client_id) != 0 ||
	    strcasecmp(sub, a->client_id) != 0) {
		fail(e, 401, "invalid_client", 700021, "Client assertion application identifier "
		    "doesn't match 'client_id' parameter. Review the documentation at " CERT_DOCS
		    " .");
		goto out;
	}
	if (jwt_claim_int(&t, "exp", &exp) < 0 || exp < 0 || exp > (1LL << 40)) {
		fail(e, 401, "invalid_client", 50027, "JWT token is invalid or malformed.");
		goto out;
	}
	if (jwt_claim_int(&t, "nbf", &nbf) < 0 && jwt_claim_int(&t, "iat", &nbf) < 0)
		nbf = 0;
	if (nbf < 0 || nbf > (1LL << 40))
		nbf = 0;
	if (a->now >= (double)(exp + GRAPH_AUTH_SKEW) ||
	    (nbf > 0 && a->now + GRAPH_AUTH_SKEW < (double)nbf)) {
		time_dotnet(a->now, now_s);
		time_dotnet((double)nbf, from_s);
		time_dotnet((double)exp, exp_s);
		fail(e, 401, "invalid_client", 700024, "Client assertion is not within its valid "
		    "time range. Current time: %s, assertion valid from %s, expiry time of "
		    "assertion %s. Review the documentation at " CERT_DOCS " .", now_s, from_s,
		    exp_s);
		goto out;
	}
	if ((jti = jwt_claim_str(&t, "jti")) != NULL) {
		if (strlen(jti) >= sizeof(a->jti)) {
			fail(e, 401, "invalid_client", 50027, "JWT token is invalid or malformed.");
			goto out;
		}
		snprintf(a->jti, sizeof(a->jti), "%s", jti);
	}
	a->exp = exp;
	rc = 0;
out:
	jwt_free(&t);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(x5t);
	free(s256);
	return rc;
}

json_t *
graph_auth_token_verify(EVP_PKEY *key, const char *tenant_id, const char *token, time_t now,
    const char **message)
{
	struct jwt t;
	char err[256], *iss = NULL;
	const char *aud, *tid, *claim_iss;
	long long exp, nbf;
	json_t *claims = NULL;

	memset(&t, 0, sizeof(t));
	if (token == NULL || *token == '\0') {
		*message = MSG_EMPTY;
		return NULL;
	}
	*message = MSG_COMPACT;
	if (strlen(token) > JWT_MAX_LEN || jwt_decode(token, &t, err, sizeof(err)) < 0)
		goto out;
	jwt_free(&t);
	*message = MSG_INVALID;
	if (key == NULL || jwt_verify(token, key, JWT_ALG_RS256, &t, err, sizeof(err)) < 0)
		goto out;
	aud = jwt_claim_str(&t, "aud");
	if (aud == NULL || !is_graph_resource(aud, strlen(aud))) {
		*message = MSG_AUDIENCE;
		goto out;
	}
	iss = xasprintf("https://sts.windows.net/%s/", tenant_id);
	claim_iss = jwt_claim_str(&t, "iss");
	tid = jwt_claim_str(&t, "tid");
	if (claim_iss == NULL || tid == NULL || strcasecmp(claim_iss, iss) != 0 ||
	    strcasecmp(tid, tenant_id) != 0) {
		*message = MSG_ISSUER;
		goto out;
	}
	if (jwt_claim_int(&t, "exp", &exp) < 0)
		goto out;
	if ((long long)now >= exp) {
		*message = MSG_EXPIRED;
		goto out;
	}
	if (jwt_claim_int(&t, "nbf", &nbf) == 0 && (long long)now < nbf) {
		*message = MSG_NOT_YET;
		goto out;
	}
	claims = json_incref(t.claims);
	*message = NULL;
out:
	free(iss);
	jwt_free(&t);
	return claims;
}

/* ---- the store side ---- */

static char *
column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v ? xstrdup((const char *)v) : NULL;
}

/* A JSON array of strings from a column; an empty array for NULL or garbage. */
static json_t *
column_array(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	json_t *a = v ? json_loads((const char *)v, 0, NULL) : NULL;

	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static void
app_free(struct app *a)
{
	free(a->client_id);
	free(a->display_name);
	free(a->secret);
	free(a->certificate);
	free(a->sp_id);
	json_decref(a->roles);
	json_decref(a->scopes);
	memset(a, 0, sizeof(*a));
}

/* Client ids are GUIDs, which Entra compares without regard to case. */
static int
app_load(struct graph_sim *sim, const char *client_id, struct app *a)
{
	sqlite3_stmt *st = db_prepare(sim->db, "SELECT client_id, display_name, secret, "
	    "secret_expired, certificate, roles, scopes, disabled, sp_id FROM g_app "
	    "WHERE client_id = ? COLLATE NOCASE");
	int rc = -1;

	memset(a, 0, sizeof(*a));
	sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		a->client_id = column_dup(st, 0);
		a->display_name = column_dup(st, 1);
		a->secret = column_dup(st, 2);
		a->secret_expired = sqlite3_column_int(st, 3);
		a->certificate = column_dup(st, 4);
		a->roles = column_array(st, 5);
		a->scopes = column_array(st, 6);
		a->disabled = sqlite3_column_int(st, 7);
		a->sp_id = column_dup(st, 8);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Records an assertion's jti for its client; 0 if it is new, -1 if it was used before. Rows
 * are kept until their assertion could no longer pass the time check anyway. */
static int
jti_use(struct graph_sim *sim, const char *client_id, const char *jti, long long exp)
{
	sqlite3_stmt *st;
	int fresh;

	st = db_prepare(sim->db, "DELETE FROM g_jti WHERE exp < ?");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL) - GRAPH_AUTH_SKEW);
	sqlite3_step(st);
	sqlite3_finalize(st);
	st = db_prepare(sim->db, "INSERT OR IGNORE INTO g_jti (client_id, jti, exp) "
	    "VALUES (lower(?), ?, ?)");
	sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, jti, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)exp + GRAPH_AUTH_SKEW);
	fresh = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sim->db) > 0;
	sqlite3_finalize(st);
	return fresh ? 0 : -1;
}

static char *
random_b64url(size_t nbytes)
{
	unsigned char buf[64];

	if (nbytes > sizeof(buf))
		nbytes = sizeof(buf);
	crypto_random_bytes(buf, nbytes);
	return b64url_encode(buf, nbytes);
}

/* An app-only v1.0 Graph access token for app; acr "1" (secret) or "2" (certificate). */
static char *
mint(struct graph_sim *sim, const struct app *a, const char *acr)
{
	time_t now = time(NULL);
	char *iss = xasprintf("https://sts.windows.net/%s/", sim->tenant_id);
	char *rh = random_b64url(48), *uti = random_b64url(16), *token, err[256];
	json_t *claims = json_object(), *header;

	json_object_set_new(claims, "aud", json_string(GRAPH_RESOURCE));
	json_object_set_new(claims, "iss", json_string(iss));
	/* Entra back-dates iat and nbf by five minutes to absorb clock skew. */
	json_object_set_new(claims, "iat", json_integer((json_int_t)now - 300));
	json_object_set_new(claims, "nbf", json_integer((json_int_t)now - 300));
	json_object_set_new(claims, "exp", json_integer((json_int_t)now +
	    sim->settings.token_ttl_sec));
	json_object_set_new(claims, "app_displayname", json_string(a->display_name ?
	    a->display_name : a->client_id));
	json_object_set_new(claims, "appid", json_string(a->client_id));
	json_object_set_new(claims, "appidacr", json_string(acr));
	json_object_set_new(claims, "idp", json_string(iss));
	json_object_set_new(claims, "idtyp", json_string("app"));
	json_object_set_new(claims, "oid", json_string(a->sp_id));
	json_object_set_new(claims, "rh", json_sprintf("0.%s.", rh));
	/* Entra leaves "roles" out when nothing is consented rather than sending []. */
	if (json_array_size(a->roles) > 0)
		json_object_set(claims, "roles", a->roles);
	/* Real client-credentials tokens never carry scp. The sim adds the delegated scopes of
	 * an app that has no application permissions, so `olsync doctor` and the tests can show
	 * the classic misconfiguration (delegated consent, app-only flow) from the token; Graph
	 * still answers such a token's mail and calendar calls with 403 ErrorAccessDenied. */
	if (json_array_size(a->roles) == 0 && json_array_size(a->scopes) > 0) {
		size_t i, len = 0;
		json_t *v;
		char *scp = xstrdup("");

		json_array_foreach(a->scopes, i, v) {
			const char *s = json_string_value(v);
			char *next;

			if (s == NULL)
				continue;
			next = xasprintf("%s%s%s", scp, len ? " " : "", s);
			free(scp);
			scp = next;
			len = strlen(scp);
		}
		json_object_set_new(claims, "scp", json_string(scp));
		free(scp);
	}
	json_object_set_new(claims, "sub", json_string(a->sp_id));
	json_object_set_new(claims, "tenant_region_scope", json_string(REGION));
	json_object_set_new(claims, "tid", json_string(sim->tenant_id));
	json_object_set_new(claims, "uti", json_string(uti));
	json_object_set_new(claims, "ver", json_string("1.0"));
	json_object_set_new(claims, "wids", json_pack("[s]",
	    "0997a1d0-0d1d-4acb-b408-d5ca73121e90"));	/* every app-only token's role template */
	json_object_set_new(claims, "xms_tcdt", json_integer(TENANT_CREATED));
	header = json_pack("{s:s,s:s,s:s}", "typ", "JWT", "x5t", sim->kid, "kid", sim->kid);
	token = jwt_sign_json(JWT_ALG_RS256, sim->signing_key, header, claims, err, sizeof(err));
	if (token == NULL)
		fatalx("graph-auth: cannot sign an access token: %s", err);
	json_decref(header);
	json_decref(claims);
	free(iss);
	free(rh);
	free(uti);
	return token;
}

char *
graph_auth_mint(struct graph_sim *sim, const char *client_id)
{
	struct app a;
	char *token;

	if (client_id == NULL || app_load(sim, client_id, &a) < 0)
		return NULL;
	token = mint(sim, &a, "1");
	app_free(&a);
	return token;
}

static enum tenant
tenant_kind(const struct graph_sim *sim, const char *seg)
{
	if (sim->tenant_id[0] != '\0' && strcasecmp(seg, sim->tenant_id) == 0)
		return TENANT_OURS;
	if (sim->tenant_domain[0] != '\0' && strcasecmp(seg, sim->tenant_domain) == 0)
		return TENANT_OURS;
	if (strcasecmp(seg, "organizations") == 0)
		return TENANT_ORGANIZATIONS;
	if (strcasecmp(seg, "common") == 0)
		return TENANT_COMMON;
	if (strcasecmp(seg, "consumers") == 0)
		return TENANT_CONSUMERS;
	return TENANT_UNKNOWN;
}

static int
tenant_not_found(struct graph_auth_error *e, const char *error, const char *seg)
{
	return fail(e, 400, error, 90002, "Tenant '%.256s' not found. Check to make sure you have "
	    "the correct tenant ID and are signing into the correct cloud. Check with your "
	    "subscription administrator, this may happen if there are no active subscriptions "
	    "for the tenant.", seg);
}

static const char *
form_get(const struct httpd_param *form, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(form[i].name, name) == 0)
			return form[i].value;
	return NULL;
}

/* One client-credentials request, checked in the order Entra reports problems: the request,
 * the app, then its credential. 0 with the app loaded and *acr set, or -1 with e. */
static int
token_grant(struct graph_sim *sim, struct httpd_request *req, const char *seg,
    struct app *app, const char **acr, struct graph_auth_error *e)
{
	struct httpd_param form[GRAPH_AUTH_MAX_FORM];
	struct graph_auth_assertion as;
	const char *ctype = httpd_header(req, "Content-Type");
	const char *grant, *client_id, *secret, *assertion, *atype;
	const char *tenant_label = sim->tenant_domain[0] ? sim->tenant_domain : sim->tenant_id;
	char *bid = NULL, *bsecret = NULL;
	enum tenant kind = tenant_kind(sim, seg);
	int nform = 0, rc = -1;

	/* Entra reads only a form body; anything else is a request without parameters. */
	if (ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0)
		nform = form_parse(req->body, req->body_len, FORM_SKIP_NAMELESS, form,
		    GRAPH_AUTH_MAX_FORM);
	if (kind == TENANT_UNKNOWN) {
		tenant_not_found(e, "invalid_request", seg);
		goto out;
	}
	grant = form_get(form, nform, "grant_type");
	if (grant == NULL || *grant == '\0') {
		fail(e, 400, "invalid_request", 900144, "The request body must contain the "
		    "following parameter: 'grant_type'.");
		goto out;
	}
	if (strcmp(grant, "client_credentials") != 0) {
		fail(e, 400, "unsupported_grant_type", 70003, "The app requested an unsupported "
		    "grant type '%.64s'.", grant);
		goto out;
	}
	if (kind == TENANT_COMMON || kind == TENANT_CONSUMERS) {
		fail(e, 400, "invalid_request", 9001023, "The grant type is not supported over the "
		    "/common or /consumers endpoints. Please use the /organizations or "
		    "tenant-specific endpoint.");
		goto out;
	}
	client_id = form_get(form, nform, "client_id");
	secret = form_get(form, nform, "client_secret");
	if (form_basic_auth(httpd_header(req, "Authorization"), 1, &bid, &bsecret) == 0) {
		if (client_id == NULL || *client_id == '\0')
			client_id = bid;
		if (secret == NULL)
			secret = bsecret;
	}
	if (client_id == NULL || *client_id == '\0') {
		fail(e, 400, "invalid_request", 900144, "The request body must contain the "
		    "following parameter: 'client_id'.");
		goto out;
	}
	if (graph_auth_scope_check(form_get(form, nform, "scope"), tenant_label, e) < 0)
		goto out;
	if (app_load(sim, client_id, app) < 0) {
		fail(e, 400, "unauthorized_client", 700016, "Application with identifier '%.64s' "
		    "was not found in the directory '%s'. This can happen if the application has "
		    "not been installed by the administrator of the tenant or consented to by any "
		    "user in the tenant. You may have sent your authentication request to the wrong "
		    "tenant.", client_id, tenant_label);
		goto out;
	}
	if (app->disabled) {
		fail(e, 400, "unauthorized_client", 7000112, "Application '%s'(%s) is disabled.",
		    app->client_id, app->display_name ? app->display_name : "");
		goto out;
	}
	assertion = form_get(form, nform, "client_assertion");
	atype = form_get(form, nform, "client_assertion_type");
	if (secret != NULL && *secret != '\0') {
		/* A right secret that has expired is told apart from a wrong one. */
		if (app->secret == NULL || !crypto_streq(secret, app->secret)) {
			fail(e, 401, "invalid_client", 7000215, "Invalid client secret provided. "
			    "Ensure the secret being sent in the request is the client secret value, "
			    "not the client secret ID, for a secret added to app '%s'.",
			    app->client_id);
			goto out;
		}
		if (app->secret_expired) {
			fail(e, 401, "invalid_client", 7000222, "The provided client secret keys for "
			    "app '%s' are expired. Visit the Azure portal to create new keys for your "
			    "app: https://aka.ms/NewClientSecret, or consider using certificate "
			    "credentials for added security: https://aka.ms/certCreds.",
			    app->client_id);
			goto out;
		}
		*acr = "1";
	} else if (assertion != NULL && *assertion != '\0') {
		if (atype == NULL || strcmp(atype, ASSERTION_TYPE) != 0) {
			fail(e, 400, "invalid_request", 900144, "The request body must contain the "
			    "following parameter: 'client_assertion_type'.");
			goto out;
		}
		memset(&as, 0, sizeof(as));
		as.client_id = app->client_id;
		as.cert_pem = app->certificate;
		as.tenant_id = sim->tenant_id;
		as.tenant_domain = sim->tenant_domain;
		as.base_url = sim->base_url;
		as.now = graph_now();
		if (graph_auth_assertion_check(assertion, &as, e) < 0)
			goto out;
		if (as.jti[0] != '\0' && jti_use(sim, app->client_id, as.jti, as.exp) < 0) {
			fail(e, 401, "invalid_client", 50027, "JWT token is invalid or malformed. "
			    "The client assertion with this 'jti' has already been used.");
			goto out;
		}
		*acr = "2";
	} else {
		fail(e, 401, "invalid_client", 7000218, "The request body must contain the "
		    "following parameter: 'client_assertion' or 'client_secret'.");
		goto out;
	}
	rc = 0;
out:
	form_free(form, nform);
	free(bid);
	free(bsecret);
	return rc;
}

/* 1 if s looks like a GUID (Entra adopts the client's client-request-id as correlation id). */
/* Entra's headers on token responses (and errors): never cached. */
static void
entra_headers(struct httpd_request *req, struct httpd_response *resp, const char *trace_id)
{
	const char *crid = httpd_header(req, "client-request-id");

	snprintf(resp->content_type, sizeof(resp->content_type), "application/json; charset=utf-8");
	httpd_response_header(resp, "Cache-Control", "no-store, no-cache");
	httpd_response_header(resp, "Pragma", "no-cache");
	httpd_response_header(resp, "Expires", "-1");
	httpd_response_header(resp, "x-ms-request-id", trace_id);
	httpd_response_header(resp, "x-ms-ests-server", "2.1.0 graph-sim");
	if (graph_is_guid(crid))
		httpd_response_header(resp, "client-request-id", crid);
}

static void
entra_error(struct httpd_request *req, struct httpd_response *resp,
    const struct graph_auth_error *e)
{
	const char *crid = httpd_header(req, "client-request-id");
	char trace[37], corr[37];

	graph_guid(trace);
	if (graph_is_guid(crid))
		snprintf(corr, sizeof(corr), "%s", crid);
	else
		graph_guid(corr);
	httpd_respond_json(resp, e->status, graph_auth_error_body(e, trace, corr, time(NULL)));
	entra_headers(req, resp, trace);
}

static void
token_endpoint(struct graph_sim *sim, struct httpd_request *req, struct httpd_response *resp,
    const char *seg)
{
	struct graph_auth_error e;
	struct app app;
	const char *acr = "1";
	char trace[37], *token;

	memset(&e, 0, sizeof(e));
	memset(&app, 0, sizeof(app));
	if (strcmp(req->method, "OPTIONS") == 0) {
		httpd_respond_empty(resp, 200);
		httpd_response_header(resp, "Allow", "OPTIONS, POST");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		fail(&e, 400, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS "
		    "requests. Received a %.16s request.", req->method);
		entra_error(req, resp, &e);
		return;
	}
	if (token_grant(sim, req, seg, &app, &acr, &e) < 0) {
		entra_error(req, resp, &e);
		/* The client id is only logged once it named a registered app. */
		log_info("graph-auth: token refused app=%s error=%s code=%ld",
		    app.client_id ? app.client_id : "(unknown)", e.error, e.code);
		app_free(&app);
		return;
	}
	token = mint(sim, &app, acr);
	graph_guid(trace);
	httpd_respond_json(resp, 200, json_pack("{s:s,s:I,s:I,s:s}", "token_type", "Bearer",
	    "expires_in", (json_int_t)sim->settings.token_ttl_sec,
	    "ext_expires_in", (json_int_t)sim->settings.token_ttl_sec,
	    "access_token", token));
	entra_headers(req, resp, trace);
	log_info("graph-auth: token issued app=%s credential=%s roles=%zu", app.client_id,
	    strcmp(acr, "2") == 0 ? "certificate" : "secret", json_array_size(app.roles));
	free(token);
	app_free(&app);
}

/* The tenant as discovery documents print it: endpoints keep the segment a client used for
 * common/organizations/consumers, issuers name a tenant ("{tenantid}" for the multi-tenant
 * ones, as Entra writes it). */
static void
discovery_names(const struct graph_sim *sim, const char *seg, enum tenant kind,
    const char **path_tenant, const char **issuer_tenant)
{
	switch (kind) {
	case TENANT_OURS:
		*path_tenant = *issuer_tenant = sim->tenant_id;
		break;
	case TENANT_CONSUMERS:
		*path_tenant = "consumers";
		*issuer_tenant = CONSUMERS_TID;
		break;
	default:
		*path_tenant = strcasecmp(seg, "common") == 0 ? "common" : "organizations";
		*issuer_tenant = "{tenantid}";
		break;
	}
}

static json_t *
openid_configuration(const struct graph_sim *sim, const char *seg, enum tenant kind)
{
	const char *b = sim->base_url, *pt, *it;
	json_t *o = json_object();

	discovery_names(sim, seg, kind, &pt, &it);
	json_object_set_new(o, "token_endpoint", json_sprintf("%s/%s/oauth2/v2.0/token", b, pt));
	json_object_set_new(o, "token_endpoint_auth_methods_supported", json_pack("[s,s,s]",
	    "client_secret_post", "private_key_jwt", "client_secret_basic"));
	json_object_set_new(o, "jwks_uri", json_sprintf("%s/%s/discovery/v2.0/keys", b, pt));
	json_object_set_new(o, "response_modes_supported", json_pack("[s,s,s]", "query",
	    "fragment", "form_post"));
	json_object_set_new(o, "subject_types_supported", json_pack("[s]", "pairwise"));
	json_object_set_new(o, "id_token_signing_alg_values_supported", json_pack("[s]",
	    "RS256"));
	json_object_set_new(o, "response_types_supported", json_pack("[s,s,s,s]", "code",
	    "id_token", "code id_token", "id_token token"));
	json_object_set_new(o, "scopes_supported", json_pack("[s,s,s,s]", "openid", "profile",
	    "email", "offline_access"));
	json_object_set_new(o, "issuer", json_sprintf(LOGIN "/%s/v2.0", it));
	json_object_set_new(o, "request_uri_parameter_supported", json_false());
	json_object_set_new(o, "userinfo_endpoint", json_string(GRAPH_RESOURCE "/oidc/userinfo"));
	json_object_set_new(o, "authorization_endpoint", json_sprintf("%s/%s/oauth2/v2.0/"
	    "authorize", b, pt));
	json_object_set_new(o, "device_authorization_endpoint", json_sprintf("%s/%s/oauth2/v2.0/"
	    "devicecode", b, pt));
	json_object_set_new(o, "http_logout_supported", json_true());
	json_object_set_new(o, "frontchannel_logout_supported", json_true());
	json_object_set_new(o, "end_session_endpoint", json_sprintf("%s/%s/oauth2/v2.0/logout",
	    b, pt));
	json_object_set_new(o, "claims_supported", json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]",
	    "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
	    "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
	    "preferred_username", "name", "tid", "ver"));
	json_object_set_new(o, "kerberos_endpoint", json_sprintf("%s/%s/kerberos", b, pt));
	json_object_set_new(o, "tenant_region_scope", kind == TENANT_OURS ? json_string(REGION) :
	    json_null());
	json_object_set_new(o, "cloud_instance_name", json_string("microsoftonline.com"));
	json_object_set_new(o, "cloud_graph_host_name", json_string("graph.windows.net"));
	json_object_set_new(o, "msgraph_host", json_string("graph.microsoft.com"));
	json_object_set_new(o, "rbac_url", json_string("https://pas.windows.net"));
	return o;
}

static json_t *
bn_b64url(const EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	char *enc;
	int len;
	json_t *v;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		fatalx("graph-auth: signing key has no %s", param);
	len = BN_num_bytes(bn);
	bin = xmalloc((size_t)len + 1);
	BN_bn2bin(bn, bin);
	enc = b64url_encode(bin, (size_t)len);
	v = json_string(enc);
	free(enc);
	free(bin);
	BN_free(bn);
	return v;
}

static json_t *
jwks(const struct graph_sim *sim, const char *seg, enum tenant kind)
{
	const char *pt, *it;
	char err[256] = "", *x5c;
	unsigned char *der = NULL;
	X509 *cert = crypto_cert_load_pem(sim->signing_cert_pem, err, sizeof(err));
	int len;
	json_t *k;

	if (cert == NULL || (len = i2d_X509(cert, &der)) <= 0)
		fatalx("graph-auth: signing certificate unusable: %s", err);
	x5c = b64_encode(der, (size_t)len);
	discovery_names(sim, seg, kind, &pt, &it);
	k = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:[s],s:s,s:o}",
	    "kty", "RSA", "use", "sig", "kid", sim->kid, "x5t", sim->kid,
	    "n", bn_b64url(sim->signing_key, OSSL_PKEY_PARAM_RSA_N),
	    "e", bn_b64url(sim->signing_key, OSSL_PKEY_PARAM_RSA_E),
	    "x5c", x5c, "cloud_instance_name", "microsoftonline.com",
	    "issuer", json_sprintf(LOGIN "/%s/v2.0", it));
	OPENSSL_free(der);
	X509_free(cert);
	free(x5c);
	return json_pack("{s:[o]}", "keys", k);
}

/* The tenant segment of an authorization endpoint URL ("https://host/{tenant}/oauth2/..."),
 * or "common". Caller frees. */
static char *
authority_tenant(const char *url)
{
	const char *p, *end;

	if (url == NULL || (p = strstr(url, "://")) == NULL || (p = strchr(p + 3, '/')) == NULL)
		return xstrdup("common");
	p++;
	end = strchr(p, '/');
	if (end == NULL)
		end = p + strlen(p);
	if (end == p || end - p > MAX_SEGMENT)
		return xstrdup("common");
	return xstrndup(p, (size_t)(end - p));
}

static json_t *
instance_discovery(const struct graph_sim *sim, struct httpd_request *req)
{
	const char *host = strstr(sim->base_url, "://");
	const char *version = httpd_query(req, "api-version");
	char *tenant = authority_tenant(httpd_query(req, "authorization_endpoint"));
	json_t *o;

	host = host ? host + 3 : sim->base_url;
	o = json_pack("{s:o,s:s,s:[{s:s,s:s,s:[s]},{s:s,s:s,s:[s,s,s,s]}]}",
	    "tenant_discovery_endpoint", json_sprintf("%s/%s/v2.0/.well-known/"
	    "openid-configuration", sim->base_url, tenant),
	    "api-version", version ? version : "1.1",
	    "metadata",
	    "preferred_network", host, "preferred_cache", host, "aliases", host,
	    "preferred_network", "login.microsoftonline.com",
	    "preferred_cache", "login.windows.net", "aliases", "login.microsoftonline.com",
	    "login.windows.net", "login.microsoft.com", "sts.windows.net");
	free(tenant);
	return o;
}

static void
discovery_respond(struct httpd_response *resp, json_t *doc)
{
	httpd_respond_json(resp, 200, doc);
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json; charset=utf-8");
	httpd_response_header(resp, "Cache-Control", "max-age=86400, private");
	httpd_response_header(resp, "Access-Control-Allow-Origin", "*");
}

int
graph_auth_handle(struct graph_sim *sim, struct httpd_request *req,
    struct httpd_response *resp)
{
	const char *p = req->path, *slash, *rest;
	char seg[MAX_SEGMENT + 1];
	enum tenant kind;
	struct graph_auth_error e;

	if (p == NULL || p[0] != '/' || (slash = strchr(p + 1, '/')) == NULL ||
	    slash == p + 1 || slash - (p + 1) > MAX_SEGMENT)
		return -1;
	snprintf(seg, sizeof(seg), "%.*s", (int)(slash - (p + 1)), p + 1);
	rest = slash;
	kind = tenant_kind(sim, seg);
	memset(&e, 0, sizeof(e));
	/* Entra's paths are case-insensitive ("oauth2/V2.0/token" in its own docs). */
	if (strcasecmp(rest, "/oauth2/v2.0/token") == 0) {
		token_endpoint(sim, req, resp, seg);
		return 0;
	}
	if (strcasecmp(rest, "/v2.0/.well-known/openid-configuration") != 0 &&
	    strcasecmp(rest, "/discovery/v2.0/keys") != 0 &&
	    strcasecmp(rest, "/discovery/keys") != 0 &&
	    strcasecmp(rest, "/discovery/instance") != 0)
		return -1;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		httpd_respond_empty(resp, 405);
		httpd_response_header(resp, "Allow", "GET");
		return 0;
	}
	if (kind == TENANT_UNKNOWN) {
		tenant_not_found(&e, "invalid_tenant", seg);
		entra_error(req, resp, &e);
		return 0;
	}
	if (strcasecmp(rest, "/v2.0/.well-known/openid-configuration") == 0)
		discovery_respond(resp, openid_configuration(sim, seg, kind));
	else if (strcasecmp(rest, "/discovery/instance") == 0)
		discovery_respond(resp, instance_discovery(sim, req));
	else
		discovery_respond(resp, jwks(sim, seg, kind));
	return 0;
}

json_t *
graph_auth_check(struct graph_sim *sim, const char *authorization, struct graph_req *req,
    struct graph_reply *reply)
{
	const char *message, *appid;
	json_t *claims, *roles;
	struct app a;
	int live = 0;

	claims = graph_auth_token_verify(sim->signing_key, sim->tenant_id,
	    graph_auth_bearer(authorization), time(NULL), &message);
	if (claims == NULL)
		goto refuse;
	/* A token outlives nothing: the app it was issued to must still be there and enabled. */
	appid = json_string_value(json_object_get(claims, "appid"));
	if (appid != NULL && strlen(appid) < sizeof(req->app_id) && app_load(sim, appid, &a) == 0) {
		live = !a.disabled;
		app_free(&a);
	}
	if (!live) {
		message = MSG_INVALID;
		goto refuse;
	}
	snprintf(req->app_id, sizeof(req->app_id), "%s", appid);
	roles = json_object_get(claims, "roles");
	req->roles = json_is_array(roles) ? roles : NULL;
	req->scp = json_string_value(json_object_get(claims, "scp"));
	return claims;
refuse:
	json_decref(claims);
	graph_reply_error(reply, req, 401, "InvalidAuthenticationToken", "%s", message);
	graph_reply_header(reply, "WWW-Authenticate", WWW_AUTHENTICATE);
	return NULL;
}

/* The key and certificate of GRAPH_SIM_SIGNING_KEY_FILE (PEM, both in the one file); -1 with
 * err when it cannot be read or lacks either. */
static int
load_key_file(const char *path, EVP_PKEY **key, X509 **cert, char *err, size_t errlen)
{
	char e[256];
	char *pem = crypto_read_pem_file(path, e, sizeof(e));

	*key = NULL;
	*cert = NULL;
	if (pem == NULL) {
		snprintf(err, errlen, "graph-auth: GRAPH_SIM_SIGNING_KEY_FILE: %s", e);
		return -1;
	}
	if ((*key = crypto_privkey_load_pem(pem, e, sizeof(e))) == NULL ||
	    (*cert = crypto_cert_load_pem(pem, e, sizeof(e))) == NULL)
		snprintf(err, errlen, "graph-auth: GRAPH_SIM_SIGNING_KEY_FILE %s: %s", path, e);
	else if (X509_check_private_key(*cert, *key) != 1)
		snprintf(err, errlen, "graph-auth: GRAPH_SIM_SIGNING_KEY_FILE %s: the certificate "
		    "is not the key's", path);
	else if (EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA)
		snprintf(err, errlen, "graph-auth: GRAPH_SIM_SIGNING_KEY_FILE %s: not an RSA key "
		    "(tokens are RS256)", path);
	else {
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
		return 0;
	}
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	EVP_PKEY_free(*key);
	X509_free(*cert);
	*key = NULL;
	*cert = NULL;
	return -1;
}

/* The signing key and its certificate, both as PEM: those of GRAPH_SIM_SIGNING_KEY_FILE when
 * set (a pinned key: tests under valgrind, where making one takes minutes), else a fresh RSA
 * key and a self-signed certificate for it. *how says which. */
static int
make_key(char **key_pem, char **cert_pem, const char **how, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	BIO *kb = NULL, *cb = NULL;
	const char *file = getenv("GRAPH_SIM_SIGNING_KEY_FILE");
	char *data;
	long len;
	int rc = -1;

	*key_pem = *cert_pem = NULL;
	if (file != NULL && *file != '\0') {
		*how = "from GRAPH_SIM_SIGNING_KEY_FILE";
		if (load_key_file(file, &key, &cert, err, errlen) < 0)
			goto out;
		goto write;
	}
	*how = "created";
	if ((key = EVP_RSA_gen(2048)) == NULL || (cert = X509_new()) == NULL) {
		snprintf(err, errlen, "graph-auth: cannot generate the signing key");
		goto out;
	}
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)time(NULL)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"accounts.accesscontrol.windows.net", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 || X509_sign(cert, key, EVP_sha256()) == 0) {
		snprintf(err, errlen, "graph-auth: cannot make the signing certificate");
		goto out;
	}
write:
	if ((kb = BIO_new(BIO_s_mem())) == NULL || (cb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, cert) != 1) {
		snprintf(err, errlen, "graph-auth: cannot write the signing key");
		goto out;
	}
	len = BIO_get_mem_data(kb, &data);
	*key_pem = xstrndup(data, (size_t)len);
	len = BIO_get_mem_data(cb, &data);
	*cert_pem = xstrndup(data, (size_t)len);
	rc = 0;
out:
	BIO_free(kb);
	BIO_free(cb);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int
graph_auth_init(struct graph_sim *sim, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char *key_pem = NULL, *cert_pem = NULL, *kid = NULL;
	const char *how = "loaded";
	X509 *cert = NULL;
	int rc = -1, fresh = 0;

	/* Used assertion ids (replay check); not in the shared schema, so created here. */
	if (db_exec(sim->db, "CREATE TABLE IF NOT EXISTS g_jti (client_id TEXT NOT NULL,"
	    " jti TEXT NOT NULL, exp INTEGER NOT NULL, PRIMARY KEY (client_id, jti))",
	    err, errlen) < 0)
		goto out;
	st = db_prepare(sim->db, "SELECT private_pem, cert_pem FROM g_key ORDER BY rowid LIMIT 1");
	if (sqlite3_step(st) == SQLITE_ROW) {
		key_pem = column_dup(st, 0);
		cert_pem = column_dup(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (key_pem == NULL || cert_pem == NULL) {
		free(key_pem);
		free(cert_pem);
		if (make_key(&key_pem, &cert_pem, &how, err, errlen) < 0)
			goto out;
		fresh = 1;
	}
	if ((sim->signing_key = crypto_privkey_load_pem(key_pem, err, errlen)) == NULL ||
	    (cert = crypto_cert_load_pem(cert_pem, err, errlen)) == NULL)
		goto out;
	/* Entra's kid for v1.0 tokens is the certificate's x5t. */
	kid = crypto_cert_x5t(cert);
	snprintf(sim->kid, sizeof(sim->kid), "%s", kid);
	if (fresh) {
		st = db_prepare(sim->db, "INSERT INTO g_key (kid, private_pem, cert_pem) "
		    "VALUES (?, ?, ?)");
		sqlite3_bind_text(st, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key_pem, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, cert_pem, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errlen, "graph-auth: cannot store the signing key: %s",
			    sqlite3_errmsg(sim->db));
			goto out;
		}
	}
	sim->signing_cert_pem = cert_pem;
	cert_pem = NULL;
	log_info("graph-auth: signing key kid=%s %s", sim->kid, how);
	rc = 0;
out:
	if (rc < 0) {
		EVP_PKEY_free(sim->signing_key);
		sim->signing_key = NULL;
	}
	sqlite3_finalize(st);
	X509_free(cert);
	free(kid);
	free(cert_pem);
	if (key_pem != NULL)
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	free(key_pem);
	return rc;
}
