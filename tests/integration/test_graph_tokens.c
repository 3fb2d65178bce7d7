/* test_graph_tokens.c: graph-sim's identity platform over HTTP against the real binary: the
 * client-credentials token endpoint with secrets (body and Basic) and certificate assertions
 * (RS256 + x5t, PS256 + x5t#S256) and every AADSTS refusal, the claims of issued tokens, the
 * token check of Graph calls (401s, delegated-only consent -> 403), discovery documents, and a
 * signing key that survives a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "crypto.h"
#include "graph_fixture.h"
#include "httpc.h"
#include "jwt.h"
#include "logcap.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define TID		"11111111-2222-4333-8444-555555555555"
#define DOMAIN		"fabrikam.onmicrosoft.com"
#define TOKEN_PATH	"/" TID "/oauth2/v2.0/token"
#define LOGIN_AUD	"https://login.microsoftonline.com/" TID "/oauth2/v2.0/token"
#define SCOPE		"https%3A%2F%2Fgraph.microsoft.com%2F.default"
#define APP		"aaaaaaaa-0000-4000-8000-000000000001"	/* secret + certificate, roles */
#define DELEGATED	"aaaaaaaa-0000-4000-8000-000000000002"	/* scopes only */
#define EXPIRED		"aaaaaaaa-0000-4000-8000-000000000003"	/* expired secret */
#define DISABLED	"aaaaaaaa-0000-4000-8000-000000000004"
#define ODD		"aaaaaaaa-0000-4000-8000-000000000005"	/* a secret that needs encoding */
#define UNKNOWN		"aaaaaaaa-0000-4000-8000-0000000000ff"
#define SECRET		"Qw8~sim.secret_value-1"
#define ODD_SECRET	"a+b c&d=e%f:g"
#define USER		"adele@" DOMAIN
#define ACCESS_DENIED	"Access is denied. Check credentials and try again."

static struct sim_proc sim;
static char *dbfile;

static int
setup(void **state)
{
	char *cert0, *certjson, *seed, tmpl[] = "/tmp/graph-tokens-XXXXXX";
	json_t *cs;
	int fd, rc;

	(void)state;
	if ((fd = mkstemp(tmpl)) < 0)
		return -1;
	close(fd);
	unlink(tmpl);		/* graph-sim creates it */
	dbfile = xstrdup(tmpl);
	testkeys_pem(0, NULL, &cert0);
	cs = json_string(cert0);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	seed = xasprintf("{\"tenant\":{\"id\":\"" TID "\",\"domain\":\"" DOMAIN "\"},"
	    "\"apps\":["
	    "{\"clientId\":\"" APP "\",\"displayName\":\"olsync\",\"secret\":\"" SECRET "\","
	    "\"certificate\":%s,\"roles\":[\"Mail.Read\",\"Calendars.Read\",\"User.Read.All\"]},"
	    "{\"clientId\":\"" DELEGATED "\",\"displayName\":\"delegated only\","
	    "\"secret\":\"deleg-secret\",\"roles\":[],\"scopes\":[\"Mail.Read\","
	    "\"Calendars.Read\"]},"
	    "{\"clientId\":\"" EXPIRED "\",\"secret\":\"old-secret\",\"secretExpired\":true,"
	    "\"roles\":[\"Mail.Read\"]},"
	    "{\"clientId\":\"" DISABLED "\",\"secret\":\"off-secret\",\"disabled\":true,"
	    "\"roles\":[\"Mail.Read\"]},"
	    "{\"clientId\":\"" ODD "\",\"secret\":\"%s\",\"roles\":[\"Mail.Read\"]}],"
	    "\"users\":[{\"userPrincipalName\":\"" USER "\",\"mail\":\"" USER "\","
	    "\"displayName\":\"Adele Vance\"}]}", certjson, ODD_SECRET);
	rc = graph_fixture_start(&sim, dbfile, seed, NULL);
	free(seed);
	free(certjson);
	free(cert0);
	return rc;
}

static int
teardown(void **state)
{
	int status;

	(void)state;
	/* A clean exit also means no sanitizer report from the sim. */
	status = graph_fixture_stop(&sim);
	unlink(dbfile);
	{
		char *side = xasprintf("%s-wal", dbfile);

		unlink(side);
		free(side);
		side = xasprintf("%s-shm", dbfile);
		unlink(side);
		free(side);
	}
	free(dbfile);
	return status == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static char *
enc(const char *s)
{
	return httpc_escape(s);
}

static EVP_PKEY *
test_key(unsigned which)
{
	char *pem, err[256];
	EVP_PKEY *k;

	testkeys_pem(which, &pem, NULL);
	k = crypto_privkey_load_pem(pem, err, sizeof(err));
	free(pem);
	assert_non_null(k);
	return k;
}

static char *
thumb(unsigned which, int sha256)
{
	char *pem, err[256], *t;
	X509 *cert;

	testkeys_pem(which, NULL, &pem);
	cert = crypto_cert_load_pem(pem, err, sizeof(err));
	assert_non_null(cert);
	t = sha256 ? crypto_cert_x5t_s256(cert) : crypto_cert_x5t(cert);
	X509_free(cert);
	free(pem);
	return t;
}

/* A client assertion as MSAL makes it: signer's key, the thumbprint header of alg's kind
 * (x5t for RS256, x5t#S256 for PS256) of thumb_of's certificate. */
static char *
assertion(enum jwt_alg alg, unsigned signer, unsigned thumb_of, const char *aud, long exp_off,
    const char *jti)
{
	EVP_PKEY *k = test_key(signer);
	char *t = thumb(thumb_of, alg == JWT_ALG_PS256), err[256], *tok, guid[40];
	long now = (long)time(NULL);
	json_t *h, *c;

	if (jti == NULL) {
		char *r = crypto_random_hex(16);

		snprintf(guid, sizeof(guid), "%s", r);
		free(r);
		jti = guid;
	}
	h = json_pack("{s:s}", alg == JWT_ALG_PS256 ? "x5t#S256" : "x5t", t);
	c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", aud, "iss", APP, "sub", APP,
	    "jti", jti, "iat", (json_int_t)now, "nbf", (json_int_t)(exp_off < 0 ?
	    now + exp_off - 600 : now), "exp", (json_int_t)(now + exp_off));
	tok = jwt_sign_json(alg, k, h, c, err, sizeof(err));
	assert_non_null(tok);
	json_decref(h);
	json_decref(c);
	free(t);
	EVP_PKEY_free(k);
	return tok;
}

static char *
assertion_form(const char *a)
{
	char *e = enc(a), *f;

	f = xasprintf("grant_type=client_credentials&client_id=" APP "&scope=%s"
	    "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type"
	    "%%3Ajwt-bearer&client_assertion=%s", SCOPE, e);
	free(e);
	return f;
}

static char *
secret_form(const char *client, const char *secret)
{
	char *e = enc(secret), *f;

	f = xasprintf("grant_type=client_credentials&client_id=%s&scope=%s&client_secret=%s",
	    client, SCOPE, e);
	free(e);
	return f;
}

/* Checks an Entra error answer in full: status, error, the AADSTS code in error_codes and at
 * the head of error_description, the trace lines and the other members. */
static void
expect_entra_error(const struct sim_http *h, long status, const char *error, long code,
    const char *what)
{
	const char *desc, *uri;
	char head[32];

	if (h->status != status)
		fail_msg("%s: status %ld, want %ld: %s", what, h->status, status,
		    h->resp.body ? h->resp.body : "");
	assert_non_null(h->json);
	if (strcmp(json_string_value(json_object_get(h->json, "error")), error) != 0)
		fail_msg("%s: error %s, want %s", what, h->resp.body, error);
	assert_int_equal(json_array_size(json_object_get(h->json, "error_codes")), 1);
	if (json_integer_value(json_array_get(json_object_get(h->json, "error_codes"), 0)) != code)
		fail_msg("%s: %s, want AADSTS%ld", what, h->resp.body, code);
	desc = json_string_value(json_object_get(h->json, "error_description"));
	assert_non_null(desc);
	snprintf(head, sizeof(head), "AADSTS%ld: ", code);
	assert_memory_equal(desc, head, strlen(head));
	assert_non_null(strstr(desc, "\r\nTrace ID: "));
	assert_non_null(strstr(desc, "\r\nCorrelation ID: "));
	assert_non_null(strstr(desc, "\r\nTimestamp: "));
	assert_non_null(json_string_value(json_object_get(h->json, "timestamp")));
	assert_int_equal(strlen(json_string_value(json_object_get(h->json, "trace_id"))), 36);
	assert_int_equal(strlen(json_string_value(json_object_get(h->json, "correlation_id"))),
	    36);
	uri = json_string_value(json_object_get(h->json, "error_uri"));
	assert_non_null(uri);
	snprintf(head, sizeof(head), "?code=%ld", code);
	assert_non_null(strstr(uri, head));
	assert_string_equal(sim_http_header(h, "Cache-Control"), "no-store, no-cache");
}

/* Gets a token with form, or fails the test. Caller frees. */
static char *
get_token(const char *path, const char *form, const char *const *headers, struct jwt *claims)
{
	struct sim_http h;
	char err[256], *tok;

	sim_http_form(&h, sim.base_url, path, form, headers);
	if (h.status != 200)
		fail_msg("token: status %ld: %s", h.status, h.resp.body ? h.resp.body : "");
	tok = xstrdup(json_string_value(json_object_get(h.json, "access_token")));
	if (claims != NULL)
		assert_int_equal(jwt_decode(tok, claims, err, sizeof(err)), 0);
	sim_http_free(&h);
	return tok;
}

/* ---- token endpoint ---- */

static void
test_secret_in_body(void **state)
{
	struct sim_http h;
	struct jwt t;
	char *form = secret_form(APP, SECRET), err[256];
	long long exp, iat, nbf;
	time_t now = time(NULL);

	(void)state;
	sim_http_form(&h, sim.base_url, TOKEN_PATH, form, NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(json_string_value(json_object_get(h.json, "token_type")), "Bearer");
	assert_int_equal(json_integer_value(json_object_get(h.json, "expires_in")), 3599);
	assert_int_equal(json_integer_value(json_object_get(h.json, "ext_expires_in")), 3599);
	assert_null(json_object_get(h.json, "refresh_token"));
	assert_string_equal(sim_http_header(&h, "Cache-Control"), "no-store, no-cache");
	assert_string_equal(sim_http_header(&h, "Pragma"), "no-cache");
	assert_string_equal(sim_http_header(&h, "Expires"), "-1");
	assert_int_equal(jwt_decode(json_string_value(json_object_get(h.json, "access_token")),
	    &t, err, sizeof(err)), 0);
	/* header and claims of Graph's app-only v1.0 tokens */
	assert_int_equal(t.alg, JWT_ALG_RS256);
	assert_string_equal(jwt_header_str(&t, "typ"), "JWT");
	assert_non_null(jwt_header_str(&t, "kid"));
	assert_string_equal(jwt_header_str(&t, "kid"), jwt_header_str(&t, "x5t"));
	assert_string_equal(jwt_claim_str(&t, "aud"), "https://graph.microsoft.com");
	assert_string_equal(jwt_claim_str(&t, "iss"), "https://sts.windows.net/" TID "/");
	assert_string_equal(jwt_claim_str(&t, "idp"), "https://sts.windows.net/" TID "/");
	assert_string_equal(jwt_claim_str(&t, "tid"), TID);
	assert_string_equal(jwt_claim_str(&t, "appid"), APP);
	assert_string_equal(jwt_claim_str(&t, "app_displayname"), "olsync");
	assert_string_equal(jwt_claim_str(&t, "appidacr"), "1");
	assert_string_equal(jwt_claim_str(&t, "idtyp"), "app");
	assert_string_equal(jwt_claim_str(&t, "ver"), "1.0");
	assert_non_null(jwt_claim_str(&t, "oid"));
	assert_string_equal(jwt_claim_str(&t, "oid"), jwt_claim_str(&t, "sub"));
	assert_string_not_equal(jwt_claim_str(&t, "oid"), APP);	/* the service principal */
	assert_non_null(jwt_claim_str(&t, "uti"));
	assert_non_null(jwt_claim_str(&t, "rh"));
	assert_true(jwt_claim_has(&t, "roles", "Mail.Read"));
	assert_true(jwt_claim_has(&t, "roles", "Calendars.Read"));
	assert_true(jwt_claim_has(&t, "roles", "User.Read.All"));
	assert_int_equal(json_array_size(json_object_get(t.claims, "roles")), 3);
	assert_null(json_object_get(t.claims, "scp"));
	assert_int_equal(jwt_claim_int(&t, "exp", &exp), 0);
	assert_int_equal(jwt_claim_int(&t, "iat", &iat), 0);
	assert_int_equal(jwt_claim_int(&t, "nbf", &nbf), 0);
	assert_in_range(exp - (long long)now, 3597, 3601);
	assert_true(nbf <= (long long)now && iat <= (long long)now);
	jwt_free(&t);
	sim_http_free(&h);
	free(form);
}

static void
test_secret_forms(void **state)
{
	char *basic_raw, *basic, hdr[512], *form, *tok;
	const char *headers[2] = { hdr, NULL };
	struct jwt t;

	(void)state;
	/* HTTP Basic: client id and secret form-encoded, then base64 (RFC 6749 §2.3.1) */
	{
		char *es = enc(ODD_SECRET);

		basic_raw = xasprintf("%s:%s", ODD, es);
		free(es);
	}
	basic = b64_encode(basic_raw, strlen(basic_raw));
	snprintf(hdr, sizeof(hdr), "Authorization: Basic %s", basic);
	tok = get_token(TOKEN_PATH, "grant_type=client_credentials&scope=" SCOPE, headers, &t);
	assert_string_equal(jwt_claim_str(&t, "appid"), ODD);
	assert_string_equal(jwt_claim_str(&t, "appidacr"), "1");
	jwt_free(&t);
	free(tok);
	free(basic);
	free(basic_raw);

	/* the same secret in the body, '+' and '&' encoded */
	form = secret_form(ODD, ODD_SECRET);
	tok = get_token(TOKEN_PATH, form, NULL, NULL);
	free(tok);
	free(form);

	/* the tenant by domain, by id in upper case, and /organizations */
	form = secret_form(APP, SECRET);
	tok = get_token("/" DOMAIN "/oauth2/v2.0/token", form, NULL, &t);
	assert_string_equal(jwt_claim_str(&t, "tid"), TID);
	jwt_free(&t);
	free(tok);
	tok = get_token("/11111111-2222-4333-8444-555555555555/OAuth2/V2.0/Token", form, NULL,
	    NULL);
	free(tok);
	tok = get_token("/organizations/oauth2/v2.0/token", form, NULL, NULL);
	free(tok);
	/* scope by Graph's app id */
	free(form);
	form = xasprintf("grant_type=client_credentials&client_id=" APP "&client_secret=%s"
	    "&scope=00000003-0000-0000-c000-000000000000%%2F.default", SECRET);
	tok = get_token(TOKEN_PATH, form, NULL, NULL);
	free(tok);
	free(form);
}

static void
test_certificate(void **state)
{
	static const struct {
		const char *name;
		enum jwt_alg alg;
		const char *aud;
	} ok[] = {
		{ "RS256 + x5t", JWT_ALG_RS256, LOGIN_AUD },
		{ "PS256 + x5t#S256", JWT_ALG_PS256, LOGIN_AUD },
		{ "aud by domain", JWT_ALG_PS256,
		    "https://login.microsoftonline.com/" DOMAIN "/oauth2/v2.0/token" },
	};
	struct jwt t;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *a = assertion(ok[i].alg, 0, 0, ok[i].aud, 600, NULL);
		char *form = assertion_form(a), *tok;

		tok = get_token(TOKEN_PATH, form, NULL, &t);
		assert_string_equal(jwt_claim_str(&t, "appid"), APP);
		assert_string_equal(jwt_claim_str(&t, "appidacr"), "2");
		assert_true(jwt_claim_has(&t, "roles", "Mail.Read"));
		jwt_free(&t);
		free(tok);
		free(form);
		free(a);
	}
	/* the sim's own token URL as aud (a client pointed at graph-sim builds it so) */
	{
		char *aud = xasprintf("%s" TOKEN_PATH, sim.base_url);
		char *a = assertion(JWT_ALG_RS256, 0, 0, aud, 600, NULL);
		char *form = assertion_form(a), *tok = get_token(TOKEN_PATH, form, NULL, NULL);

		free(tok);
		free(form);
		free(a);
		free(aud);
	}
}

/* Every refusal of the token endpoint, each with Entra's status, error and AADSTS code. */
static void
test_refusals(void **state)
{
	struct refusal {
		const char *name;
		const char *path;
		const char *form;	/* NULL: built by the case below */
		long status;
		const char *error;
		long code;
	};
	char *wrong_thumb = assertion(JWT_ALG_RS256, 1, 1, LOGIN_AUD, 600, NULL);
	char *wrong_key = assertion(JWT_ALG_PS256, 1, 0, LOGIN_AUD, 600, NULL);
	char *wrong_aud = assertion(JWT_ALG_RS256, 0, 0,
	    "https://login.microsoftonline.com/common/oauth2/v2.0/token", 600, NULL);
	char *graph_aud = assertion(JWT_ALG_RS256, 0, 0, "https://graph.microsoft.com", 600,
	    NULL);
	char *expired = assertion(JWT_ALG_RS256, 0, 0, LOGIN_AUD, -3600, NULL);
	char *f_thumb = assertion_form(wrong_thumb), *f_key = assertion_form(wrong_key);
	char *f_aud = assertion_form(wrong_aud), *f_gaud = assertion_form(graph_aud);
	char *f_exp = assertion_form(expired);
	char *f_wrong = secret_form(APP, "not-the-secret");
	char *f_expired = secret_form(EXPIRED, "old-secret");
	char *f_disabled = secret_form(DISABLED, "off-secret");
	char *f_unknown = secret_form(UNKNOWN, "whatever");
	char *f_type = xasprintf("grant_type=client_credentials&client_id=" APP "&scope=%s"
	    "&client_assertion_type=jwt&client_assertion=%s", SCOPE, wrong_aud);
	const struct refusal cases[] = {
		{ "wrong secret", TOKEN_PATH, f_wrong, 401, "invalid_client", 7000215 },
		{ "expired secret", TOKEN_PATH, f_expired, 401, "invalid_client", 7000222 },
		{ "no credential", TOKEN_PATH, "grant_type=client_credentials&client_id=" APP
		    "&scope=" SCOPE, 401, "invalid_client", 7000218 },
		{ "unknown client", TOKEN_PATH, f_unknown, 400, "unauthorized_client", 700016 },
		{ "disabled app", TOKEN_PATH, f_disabled, 400, "unauthorized_client", 7000112 },
		{ "scope without /.default", TOKEN_PATH, "grant_type=client_credentials&client_id="
		    APP "&client_secret=" SECRET "&scope=https%3A%2F%2Fgraph.microsoft.com%2F"
		    "Mail.Read", 400, "invalid_scope", 1002012 },
		{ "two resources", TOKEN_PATH, "grant_type=client_credentials&client_id=" APP
		    "&client_secret=" SECRET "&scope=" SCOPE "+" SCOPE, 400, "invalid_scope", 70011 },
		{ "another resource", TOKEN_PATH, "grant_type=client_credentials&client_id=" APP
		    "&client_secret=" SECRET "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
		    400, "invalid_resource", 500011 },
		{ "no scope", TOKEN_PATH, "grant_type=client_credentials&client_id=" APP
		    "&client_secret=" SECRET, 400, "invalid_request", 90014 },
		{ "no grant_type", TOKEN_PATH, "client_id=" APP "&client_secret=" SECRET "&scope="
		    SCOPE, 400, "invalid_request", 900144 },
		{ "password grant", TOKEN_PATH, "grant_type=password&client_id=" APP
		    "&client_secret=" SECRET "&scope=" SCOPE "&username=a&password=b", 400,
		    "unsupported_grant_type", 70003 },
		{ "no client_id", TOKEN_PATH, "grant_type=client_credentials&client_secret=" SECRET
		    "&scope=" SCOPE, 400, "invalid_request", 900144 },
		{ "unknown tenant", "/99999999-2222-4333-8444-555555555555/oauth2/v2.0/token",
		    "grant_type=client_credentials&client_id=" APP "&client_secret=" SECRET
		    "&scope=" SCOPE, 400, "invalid_request", 90002 },
		{ "/common", "/common/oauth2/v2.0/token", "grant_type=client_credentials"
		    "&client_id=" APP "&client_secret=" SECRET "&scope=" SCOPE, 400,
		    "invalid_request", 9001023 },
		{ "/consumers", "/consumers/oauth2/v2.0/token", "grant_type=client_credentials"
		    "&client_id=" APP "&client_secret=" SECRET "&scope=" SCOPE, 400,
		    "invalid_request", 9001023 },
		{ "certificate not registered", TOKEN_PATH, f_thumb, 401, "invalid_client",
		    700027 },
		{ "signed by another key", TOKEN_PATH, f_key, 401, "invalid_client", 700027 },
		{ "assertion aud /common", TOKEN_PATH, f_aud, 401, "invalid_client", 700023 },
		{ "assertion aud Graph", TOKEN_PATH, f_gaud, 401, "invalid_client", 700023 },
		{ "expired assertion", TOKEN_PATH, f_exp, 401, "invalid_client", 700024 },
		{ "wrong assertion type", TOKEN_PATH, f_type, 400, "invalid_request", 900144 },
	};
	struct sim_http h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sim_http_form(&h, sim.base_url, cases[i].path, cases[i].form, NULL);
		expect_entra_error(&h, cases[i].status, cases[i].error, cases[i].code,
		    cases[i].name);
		if (cases[i].code == 700024)
			assert_non_null(strstr(json_string_value(json_object_get(h.json,
			    "error_description")), "Current time: "));
		sim_http_free(&h);
	}
	/* a JSON body is not read: no grant_type */
	sim_http_do(&h, sim.base_url, "POST", TOKEN_PATH, "{\"grant_type\":"
	    "\"client_credentials\"}", NULL, NULL);
	expect_entra_error(&h, 400, "invalid_request", 900144, "JSON body");
	sim_http_free(&h);
	/* GET on the token endpoint */
	sim_http_do(&h, sim.base_url, "GET", TOKEN_PATH, NULL, NULL, NULL);
	expect_entra_error(&h, 400, "invalid_request", 900561, "GET");
	sim_http_free(&h);
	/* the caller's client-request-id becomes the correlation id */
	{
		const char *hdrs[] = { "client-request-id: 0d8e52c5-8c5b-4a5e-9b0f-6a3c1f2e9d47",
		    NULL };

		sim_http_form(&h, sim.base_url, TOKEN_PATH, f_wrong, hdrs);
		assert_string_equal(json_string_value(json_object_get(h.json, "correlation_id")),
		    "0d8e52c5-8c5b-4a5e-9b0f-6a3c1f2e9d47");
		sim_http_free(&h);
	}
	free(f_thumb);
	free(f_key);
	free(f_aud);
	free(f_gaud);
	free(f_exp);
	free(f_wrong);
	free(f_expired);
	free(f_disabled);
	free(f_unknown);
	free(f_type);
	free(wrong_thumb);
	free(wrong_key);
	free(wrong_aud);
	free(graph_aud);
	free(expired);
}

static void
test_replayed_jti(void **state)
{
	char jti[40], *r = crypto_random_hex(16), *a, *form, *tok;
	struct sim_http h;

	(void)state;
	snprintf(jti, sizeof(jti), "%s", r);
	free(r);
	a = assertion(JWT_ALG_PS256, 0, 0, LOGIN_AUD, 600, jti);
	form = assertion_form(a);
	tok = get_token(TOKEN_PATH, form, NULL, NULL);
	free(tok);
	sim_http_form(&h, sim.base_url, TOKEN_PATH, form, NULL);
	expect_entra_error(&h, 401, "invalid_client", 50027, "replayed jti");
	sim_http_free(&h);
	free(form);
	free(a);
	/* a fresh jti is fine again */
	a = assertion(JWT_ALG_PS256, 0, 0, LOGIN_AUD, 600, NULL);
	form = assertion_form(a);
	tok = get_token(TOKEN_PATH, form, NULL, NULL);
	free(tok);
	free(form);
	free(a);
}

/* ---- tokens on Graph calls ---- */

static void
expect_401(const char *token, const char *message, const char *what)
{
	struct sim_http h;
	json_t *err;

	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users", NULL, token, NULL);
	if (h.status != 401)
		fail_msg("%s: status %ld: %s", what, h.status, h.resp.body ? h.resp.body : "");
	err = json_object_get(h.json, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
	    "InvalidAuthenticationToken");
	if (strcmp(json_string_value(json_object_get(err, "message")), message) != 0)
		fail_msg("%s: message \"%s\", want \"%s\"", what,
		    json_string_value(json_object_get(err, "message")), message);
	assert_non_null(json_object_get(json_object_get(err, "innerError"), "request-id"));
	assert_non_null(sim_http_header(&h, "WWW-Authenticate"));
	sim_http_free(&h);
}

static void
test_graph_tokens(void **state)
{
	char *form = secret_form(APP, SECRET), *good = get_token(TOKEN_PATH, form, NULL, NULL);
	struct sim_http h;

	(void)state;
	/* the token works */
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users", NULL, good, NULL);
	if (h.status != 200)
		fail_msg("GET /v1.0/users: %ld %s", h.status, h.resp.body ? h.resp.body : "");
	sim_http_free(&h);

	expect_401(NULL, "Access token is empty.", "no header");
	expect_401("", "Access token is empty.", "empty bearer");
	expect_401("garbage", "CompactToken parsing/validation failed with reason code: "
	    "80049228.", "not a JWT");
	/* the sim's token with its claims swapped for forged ones */
	{
		char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
		const char *forged_claims = "{\"aud\":\"https://graph.microsoft.com\",\"iss\":"
		    "\"https://sts.windows.net/" TID "/\",\"tid\":\"" TID "\",\"appid\":\"" APP "\","
		    "\"roles\":[\"Mail.ReadWrite\"],\"exp\":4102444800}";
		char *c = b64url_encode(forged_claims, strlen(forged_claims));
		char *forged = xasprintf("%.*s.%s%s", (int)(dot1 - good), good, c, dot2);

		expect_401(forged, "Access token validation failure.", "tampered");
		free(forged);
		free(c);
	}
	/* a well-formed Graph token signed by a key that is not the sim's */
	{
		EVP_PKEY *k = test_key(2);
		char err[256], *kid = thumb(2, 0), *other;
		json_t *hd = json_pack("{s:s,s:s}", "x5t", kid, "kid", kid);
		json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:[s]}",
		    "aud", "https://graph.microsoft.com", "iss", "https://sts.windows.net/" TID "/",
		    "tid", TID, "appid", APP, "ver", "1.0", "nbf", (json_int_t)time(NULL) - 300,
		    "exp", (json_int_t)time(NULL) + 3600, "roles", "Mail.Read");

		other = jwt_sign_json(JWT_ALG_RS256, k, hd, c, err, sizeof(err));
		assert_non_null(other);
		expect_401(other, "Access token validation failure.", "another key");
		free(other);
		json_decref(hd);
		json_decref(c);
		free(kid);
		EVP_PKEY_free(k);
	}
	free(good);
	free(form);
}

static void
test_disabled_app_token(void **state)
{
	char tok[4096];

	(void)state;
	graph_fixture_token(&sim, DISABLED, tok, sizeof(tok));
	expect_401(tok, "Access token validation failure.", "disabled app");
}

static void
test_expired_token(void **state)
{
	char *form = secret_form(APP, SECRET), *tok;
	struct sim_http h;

	(void)state;
	graph_fixture_config(&sim, "{\"token_ttl_sec\":1}");
	sim_http_form(&h, sim.base_url, TOKEN_PATH, form, NULL);
	assert_int_equal(h.status, 200);
	assert_int_equal(json_integer_value(json_object_get(h.json, "expires_in")), 1);
	tok = xstrdup(json_string_value(json_object_get(h.json, "access_token")));
	sim_http_free(&h);
	graph_fixture_config(&sim, "{\"token_ttl_sec\":3599}");
	sleep(2);
	expect_401(tok, "Lifetime validation failed, the token is expired.", "expired");
	free(tok);
	free(form);
}

static void
test_delegated_only(void **state)
{
	char *form = secret_form(DELEGATED, "deleg-secret"), *tok;
	struct sim_http h;
	struct jwt t;
	json_t *err;
	static const char *const paths[] = {
		"/v1.0/users/" USER "/messages",
		"/v1.0/users/" USER "/mailFolders/inbox/messages/delta",
		"/v1.0/users/" USER "/events",
	};

	(void)state;
	/* the flow succeeds; the token has no roles, and (sim only) scp shows the consent */
	tok = get_token(TOKEN_PATH, form, NULL, &t);
	assert_null(json_object_get(t.claims, "roles"));
	assert_string_equal(jwt_claim_str(&t, "scp"), "Mail.Read Calendars.Read");
	assert_string_equal(jwt_claim_str(&t, "idtyp"), "app");
	jwt_free(&t);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		sim_http_do(&h, sim.base_url, "GET", paths[i], NULL, tok, NULL);
		if (h.status != 403)
			fail_msg("GET %s: %ld %s", paths[i], h.status, h.resp.body ? h.resp.body :
			    "");
		err = json_object_get(h.json, "error");
		assert_string_equal(json_string_value(json_object_get(err, "code")),
		    "ErrorAccessDenied");
		assert_string_equal(json_string_value(json_object_get(err, "message")),
		    ACCESS_DENIED);
		sim_http_free(&h);
	}
	free(tok);
	free(form);
}

/* ---- discovery ---- */

static void
test_openid_configuration(void **state)
{
	static const char *const tenants[] = { TID, DOMAIN };
	struct sim_http h;

	(void)state;
	for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
		char *path = xasprintf("/%s/v2.0/.well-known/openid-configuration", tenants[i]);
		char *want;
		json_t *m;

		sim_http_do(&h, sim.base_url, "GET", path, NULL, NULL, NULL);
		assert_int_equal(h.status, 200);
		want = xasprintf("%s/" TID "/oauth2/v2.0/token", sim.base_url);
		assert_string_equal(json_string_value(json_object_get(h.json, "token_endpoint")),
		    want);
		free(want);
		want = xasprintf("%s/" TID "/discovery/v2.0/keys", sim.base_url);
		assert_string_equal(json_string_value(json_object_get(h.json, "jwks_uri")), want);
		free(want);
		want = xasprintf("%s/" TID "/oauth2/v2.0/authorize", sim.base_url);
		assert_string_equal(json_string_value(json_object_get(h.json,
		    "authorization_endpoint")), want);
		free(want);
		assert_string_equal(json_string_value(json_object_get(h.json, "issuer")),
		    "https://login.microsoftonline.com/" TID "/v2.0");
		assert_string_equal(json_string_value(json_object_get(h.json, "msgraph_host")),
		    "graph.microsoft.com");
		assert_non_null(json_string_value(json_object_get(h.json, "tenant_region_scope")));
		m = json_object_get(h.json, "token_endpoint_auth_methods_supported");
		assert_int_equal(json_array_size(m), 3);
		assert_string_equal(json_string_value(json_array_get(m, 0)), "client_secret_post");
		assert_string_equal(json_string_value(json_array_get(m, 1)), "private_key_jwt");
		assert_string_equal(json_string_value(json_array_get(m, 2)), "client_secret_basic");
		sim_http_free(&h);
		free(path);
	}
	/* /organizations keeps its name in endpoints, the issuer is the template */
	sim_http_do(&h, sim.base_url, "GET", "/organizations/v2.0/.well-known/"
	    "openid-configuration", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	assert_string_equal(json_string_value(json_object_get(h.json, "issuer")),
	    "https://login.microsoftonline.com/{tenantid}/v2.0");
	assert_non_null(strstr(json_string_value(json_object_get(h.json, "token_endpoint")),
	    "/organizations/oauth2/v2.0/token"));
	sim_http_free(&h);
	/* unknown tenant */
	sim_http_do(&h, sim.base_url, "GET", "/nosuch.onmicrosoft.com/v2.0/.well-known/"
	    "openid-configuration", NULL, NULL, NULL);
	assert_int_equal(h.status, 400);
	assert_string_equal(json_string_value(json_object_get(h.json, "error")), "invalid_tenant");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(h.json, "error_codes"),
	    0)), 90002);
	sim_http_free(&h);
}

/* The published key verifies the tokens the endpoint issues. */
static void
test_jwks(void **state)
{
	static const char *const paths[] = { "/common/discovery/v2.0/keys",
	    "/" TID "/discovery/v2.0/keys" };
	char *form = secret_form(APP, SECRET), *tok = get_token(TOKEN_PATH, form, NULL, NULL);
	struct sim_http h;
	struct jwt t, v;
	char err[256];

	(void)state;
	assert_int_equal(jwt_decode(tok, &t, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_t *k;
		const char *x5c;
		char *pem;
		EVP_PKEY *pub;

		sim_http_do(&h, sim.base_url, "GET", paths[i], NULL, NULL, NULL);
		assert_int_equal(h.status, 200);
		assert_int_equal(json_array_size(json_object_get(h.json, "keys")), 1);
		k = json_array_get(json_object_get(h.json, "keys"), 0);
		assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
		assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
		assert_string_equal(json_string_value(json_object_get(k, "kid")),
		    jwt_header_str(&t, "kid"));
		assert_string_equal(json_string_value(json_object_get(k, "x5t")),
		    jwt_header_str(&t, "x5t"));
		assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
		assert_true(strlen(json_string_value(json_object_get(k, "n"))) >= 342);
		x5c = json_string_value(json_array_get(json_object_get(k, "x5c"), 0));
		assert_non_null(x5c);
		pem = xasprintf("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n",
		    x5c);
		pub = crypto_pubkey_load_pem(pem, err, sizeof(err));
		assert_non_null(pub);
		assert_int_equal(jwt_verify(tok, pub, JWT_ALG_RS256, &v, err, sizeof(err)), 0);
		jwt_free(&v);
		EVP_PKEY_free(pub);
		free(pem);
		sim_http_free(&h);
	}
	jwt_free(&t);
	free(tok);
	free(form);
}

static void
test_instance_discovery(void **state)
{
	struct sim_http h;
	char *want, *alias;
	json_t *meta, *aliases;
	int found = 0;
	size_t i;
	json_t *v;

	(void)state;
	sim_http_do(&h, sim.base_url, "GET", "/common/discovery/instance?api-version=1.1"
	    "&authorization_endpoint=https%3A%2F%2Flogin.microsoftonline.com%2F" TID
	    "%2Foauth2%2Fv2.0%2Fauthorize", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	want = xasprintf("%s/" TID "/v2.0/.well-known/openid-configuration", sim.base_url);
	assert_string_equal(json_string_value(json_object_get(h.json,
	    "tenant_discovery_endpoint")), want);
	assert_string_equal(json_string_value(json_object_get(h.json, "api-version")), "1.1");
	meta = json_object_get(h.json, "metadata");
	assert_true(json_array_size(meta) >= 1);
	alias = xasprintf("127.0.0.1:%d", sim.port);
	aliases = json_object_get(json_array_get(meta, 0), "aliases");
	json_array_foreach(aliases, i, v)
		found |= strcmp(json_string_value(v), alias) == 0;
	assert_true(found);
	assert_string_equal(json_string_value(json_object_get(json_array_get(meta, 0),
	    "preferred_network")), alias);
	free(alias);
	free(want);
	sim_http_free(&h);
}

/* Tokens issued before a restart still verify after it: the key is kept in the database. */
static void
test_key_survives_restart(void **state)
{
	char *form = secret_form(APP, SECRET), *before = get_token(TOKEN_PATH, form, NULL, NULL);
	struct sim_http h;

	(void)state;
	assert_int_equal(sim_proc_stop(&sim), 0);
	assert_int_equal(graph_fixture_start(&sim, dbfile, NULL, NULL), 0);
	sim_http_do(&h, sim.base_url, "GET", "/v1.0/users", NULL, before, NULL);
	if (h.status != 200)
		fail_msg("token after restart: %ld %s", h.status, h.resp.body ? h.resp.body : "");
	sim_http_free(&h);
	free(before);
	free(form);
}

/* The whole of file path, NUL-terminated (caller frees). */
static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = xmalloc(65536);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Writes text to a new file dir/name (0600); returns its path (caller frees). */
static char *
write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* GRAPH_SIM_SIGNING_KEY_FILE pins the signing key (scripts/valgrind.sh: making one takes minutes
 * under memcheck): a new database signs with the file's key, published with its certificate's
 * x5t; a file without a certificate, or whose certificate is another key's, stops graph-sim at
 * start with the reason. */
static void
test_pinned_signing_key(void **state)
{
	const char *old = getenv("GRAPH_SIM_SIGNING_KEY_FILE");
	char *saved = old != NULL ? xstrdup(old) : NULL;
	char *key, *cert, *other_cert, *text, *good, *nocert, *mismatch, *x5t, err[256];
	char dir[] = "/tmp/ol-pinned-key-XXXXXX";
	struct sim_proc p;
	struct sim_http h;
	X509 *x;
	json_t *k;

	(void)state;
	assert_non_null(mkdtemp(dir));
	testkeys_pem(2, &key, &cert);
	testkeys_pem(3, NULL, &other_cert);
	text = xasprintf("%s%s", key, cert);
	good = write_file(dir, "good.pem", text);
	free(text);
	nocert = write_file(dir, "nocert.pem", key);
	text = xasprintf("%s%s", key, other_cert);
	mismatch = write_file(dir, "mismatch.pem", text);
	free(text);

	assert_int_equal(setenv("GRAPH_SIM_SIGNING_KEY_FILE", good, 1), 0);
	assert_int_equal(graph_fixture_start(&p, NULL, NULL, NULL), 0);
	sim_http_do(&h, p.base_url, "GET", "/common/discovery/v2.0/keys", NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	k = json_array_get(json_object_get(h.json, "keys"), 0);
	x = crypto_cert_load_pem(cert, err, sizeof(err));
	assert_non_null(x);
	x5t = crypto_cert_x5t(x);
	assert_string_equal(json_string_value(json_object_get(k, "x5t")), x5t);
	free(x5t);
	X509_free(x);
	sim_http_free(&h);
	assert_int_equal(graph_fixture_stop(&p), 0);

	/* Either bad file: graph-sim does not start, and says why on its stderr. */
	{
		static const char *const why[] = { "certificate: no PEM block", "is not the key's" };
		const char *files[] = { nocert, mismatch };

		for (int i = 0; i < 2; i++) {
			char logpath[] = "/tmp/ol-pinned-log-XXXXXX";
			char *log;
			int saved_fd;

			assert_int_equal(setenv("GRAPH_SIM_SIGNING_KEY_FILE", files[i], 1), 0);
			saved_fd = logcap_begin(logpath);
			assert_int_equal(graph_fixture_start(&p, NULL, NULL, NULL), -1);
			logcap_end(saved_fd);
			log = read_text(logpath);
			unlink(logpath);
			if (strstr(log, "GRAPH_SIM_SIGNING_KEY_FILE") == NULL ||
			    strstr(log, why[i]) == NULL)
				fail_msg("%s: graph-sim said: %s", files[i], log);
			free(log);
		}
	}

	if (saved != NULL)
		assert_int_equal(setenv("GRAPH_SIM_SIGNING_KEY_FILE", saved, 1), 0);
	else
		assert_int_equal(unsetenv("GRAPH_SIM_SIGNING_KEY_FILE"), 0);
	unlink(good);
	unlink(nocert);
	unlink(mismatch);
	rmdir(dir);
	free(good);
	free(nocert);
	free(mismatch);
	free(key);
	free(cert);
	free(other_cert);
	free(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_in_body),
		cmocka_unit_test(test_secret_forms),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_replayed_jti),
		cmocka_unit_test(test_graph_tokens),
		cmocka_unit_test(test_disabled_app_token),
		cmocka_unit_test(test_expired_token),
		cmocka_unit_test(test_delegated_only),
		cmocka_unit_test(test_openid_configuration),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_instance_discovery),
		cmocka_unit_test(test_key_survives_restart),
		cmocka_unit_test(test_pinned_signing_key),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
