/* test_graph_auth.c: the pure parts of graph-sim's identity platform (sim/graph/graph_auth.c):
 * Entra's error body, the token request form and scope rules, client assertion checks, and the
 * check of Graph access tokens. The HTTP side is tests/integration/test_graph_tokens.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "crypto.h"
#include "form.h"
#include "graph_auth.h"
#include "jwt.h"
#include "testkeys.h"
#include "xmalloc.h"

#define NOW		1700000000L	/* 2023-11-14 22:13:20Z */
#define TID		"11111111-2222-4333-8444-555555555555"
#define DOMAIN		"fabrikam.onmicrosoft.com"
#define BASE		"http://127.0.0.1:4321"
#define CLIENT		"aaaaaaaa-0000-4000-8000-000000000001"
#define LOGIN_TOKEN	"https://login.microsoftonline.com/" TID "/oauth2/v2.0/token"
#define ABSENT		LONG_MIN	/* a time claim left out */

static void
test_error_body(void **state)
{
	struct graph_auth_error e = { 400, "invalid_scope", 70011, "The scope x is not valid." };
	json_t *b;

	(void)state;
	b = graph_auth_error_body(&e, "trace-guid", "corr-guid", 1452304932);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "error")), "invalid_scope");
	assert_string_equal(json_string_value(json_object_get(b, "error_description")),
	    "AADSTS70011: The scope x is not valid.\r\nTrace ID: trace-guid\r\n"
	    "Correlation ID: corr-guid\r\nTimestamp: 2016-01-09 02:02:12Z");
	assert_int_equal(json_array_size(json_object_get(b, "error_codes")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(b, "error_codes"), 0)),
	    70011);
	assert_string_equal(json_string_value(json_object_get(b, "timestamp")),
	    "2016-01-09 02:02:12Z");
	assert_string_equal(json_string_value(json_object_get(b, "trace_id")), "trace-guid");
	assert_string_equal(json_string_value(json_object_get(b, "correlation_id")), "corr-guid");
	assert_string_equal(json_string_value(json_object_get(b, "error_uri")),
	    "https://login.microsoftonline.com/error?code=70011");
	assert_int_equal(json_object_size(b), 7);
	json_decref(b);
}

static void
test_form_parse(void **state)
{
	static const struct {
		const char *body;
		int n;
		const char *expect[6];	/* name, value pairs */
	} cases[] = {
		{ "grant_type=client_credentials&client_id=abc", 2,
		    { "grant_type", "client_credentials", "client_id", "abc" } },
		/* '+' is a space, %2B a plus: secrets are sent form-encoded */
		{ "client_secret=a%2Bb+c%26d&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", 2,
		    { "client_secret", "a+b c&d", "scope", "https://graph.microsoft.com/.default" } },
		{ "=nameless&flag&x=", 2, { "flag", "", "x", "" } },
		{ "", 0, { NULL } },
		{ "&&&", 0, { NULL } },
		{ "a=%zz%4", 1, { "a", "%zz%4" } },
	};
	struct httpd_param p[GRAPH_AUTH_MAX_FORM];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = form_parse(cases[i].body, strlen(cases[i].body), FORM_SKIP_NAMELESS, p,
		    GRAPH_AUTH_MAX_FORM);

		assert_int_equal(n, cases[i].n);
		for (int k = 0; k < n; k++) {
			assert_string_equal(p[k].name, cases[i].expect[2 * k]);
			assert_string_equal(p[k].value, cases[i].expect[2 * k + 1]);
		}
		form_free(p, n);
	}
	/* more parameters than the limit: the rest are ignored, not overflowed */
	{
		char body[1024] = "";

		for (int k = 0; k < GRAPH_AUTH_MAX_FORM + 5; k++)
			strcat(body, "k=v&");
		assert_int_equal(form_parse(body, strlen(body), FORM_SKIP_NAMELESS, p,
		    GRAPH_AUTH_MAX_FORM), GRAPH_AUTH_MAX_FORM);
		form_free(p, GRAPH_AUTH_MAX_FORM);
	}
}

static void
test_bearer(void **state)
{
	static const struct {
		const char *header;
		const char *token;	/* NULL: refused */
	} cases[] = {
		{ "Bearer abc.def.ghi", "abc.def.ghi" },
		{ "bearer   abc", "abc" },
		{ "BEARER x", "x" },
		{ "Bearer", "" },
		{ "Bearer ", "" },
		{ "Bearerabc", NULL },
		{ "Basic dXNlcjpwYXNz", NULL },
		{ "abc.def.ghi", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = graph_auth_bearer(cases[i].header);

		if (cases[i].token == NULL)
			assert_null(t);
		else
			assert_string_equal(t, cases[i].token);
	}
}

static void
test_scope(void **state)
{
	static const struct {
		const char *scope;
		long code;		/* 0: accepted */
		const char *error;
	} cases[] = {
		{ "https://graph.microsoft.com/.default", 0, NULL },
		{ "00000003-0000-0000-c000-000000000000/.default", 0, NULL },
		{ "HTTPS://GRAPH.MICROSOFT.COM/.DEFAULT", 0, NULL },
		{ "https://graph.microsoft.com//.default", 0, NULL },
		{ "  https://graph.microsoft.com/.default  ", 0, NULL },
		{ NULL, 90014, "invalid_request" },
		{ "", 90014, "invalid_request" },
		{ "   ", 90014, "invalid_request" },
		{ "https://graph.microsoft.com/Mail.Read", 1002012, "invalid_scope" },
		{ "Mail.Read", 1002012, "invalid_scope" },
		{ "https://graph.microsoft.com/.default offline_access", 1002012, "invalid_scope" },
		{ "https://graph.microsoft.com/.default https://graph.microsoft.com/.default", 70011,
		    "invalid_scope" },
		{ "/.default", 70011, "invalid_scope" },
		{ "https://management.azure.com/.default", 500011, "invalid_resource" },
		{ "https://graph.microsoft.com.evil.example/.default", 500011, "invalid_resource" },
	};
	struct graph_auth_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(&e, 0, sizeof(e));
		rc = graph_auth_scope_check(cases[i].scope, DOMAIN, &e);
		if (cases[i].code == 0) {
			if (rc != 0)
				fail_msg("scope \"%s\" refused: %ld %s", cases[i].scope, e.code,
				    e.message);
			continue;
		}
		if (rc != -1 || e.code != cases[i].code)
			fail_msg("scope \"%s\": rc %d code %ld, want %ld", cases[i].scope ?
			    cases[i].scope : "(null)", rc, e.code, cases[i].code);
		assert_string_equal(e.error, cases[i].error);
		assert_int_equal(e.status, 400);
	}
	/* the texts clients show users */
	graph_auth_scope_check("Mail.Read", DOMAIN, &e);
	assert_non_null(strstr(e.message, "scope Mail.Read is not valid. Client credential flows "
	    "must have a scope value with /.default suffixed"));
	graph_auth_scope_check("https://management.azure.com/.default", DOMAIN, &e);
	assert_non_null(strstr(e.message, "The resource principal named "
	    "https://management.azure.com was not found in the tenant named " DOMAIN "."));
}

/* ---- client assertions ---- */

enum thumb {
	TH_X5T,			/* x5t of the registered certificate */
	TH_S256,		/* x5t#S256 of the registered certificate */
	TH_BOTH,
	TH_NONE,
	TH_X5T_OTHER,		/* x5t of another certificate */
	TH_S256_OTHER,
	TH_BOTH_MIXED,		/* right x5t, wrong x5t#S256 */
};

struct as_case {
	const char *name;
	enum jwt_alg alg;
	unsigned signer;	/* testkeys identity; 0 is the registered one */
	enum thumb thumb;
	const char *aud;
	const char *iss;
	const char *sub;
	long exp_off;		/* seconds from NOW, or ABSENT */
	long nbf_off;
	const char *jti;	/* NULL: none */
	long want;		/* 0 or the AADSTS code */
};

static char *
thumbprint(unsigned which, int sha256)
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

static char *
make_assertion(const struct as_case *c)
{
	char *key_pem, err[256], *token, *t;
	EVP_PKEY *key;
	json_t *h = json_object(), *claims = json_object();

	testkeys_pem(c->signer, &key_pem, NULL);
	key = crypto_privkey_load_pem(key_pem, err, sizeof(err));
	assert_non_null(key);
	switch (c->thumb) {
	case TH_X5T:
	case TH_BOTH:
	case TH_BOTH_MIXED:
		json_object_set_new(h, "x5t", json_string(t = thumbprint(0, 0)));
		free(t);
		if (c->thumb == TH_X5T)
			break;
		json_object_set_new(h, "x5t#S256", json_string(t = thumbprint(
		    c->thumb == TH_BOTH ? 0 : 1, 1)));
		free(t);
		break;
	case TH_S256:
		json_object_set_new(h, "x5t#S256", json_string(t = thumbprint(0, 1)));
		free(t);
		break;
	case TH_X5T_OTHER:
		json_object_set_new(h, "x5t", json_string(t = thumbprint(1, 0)));
		free(t);
		break;
	case TH_S256_OTHER:
		json_object_set_new(h, "x5t#S256", json_string(t = thumbprint(1, 1)));
		free(t);
		break;
	case TH_NONE:
		break;
	}
	if (c->aud != NULL)
		json_object_set_new(claims, "aud", json_string(c->aud));
	if (c->iss != NULL)
		json_object_set_new(claims, "iss", json_string(c->iss));
	if (c->sub != NULL)
		json_object_set_new(claims, "sub", json_string(c->sub));
	if (c->exp_off != ABSENT)
		json_object_set_new(claims, "exp", json_integer(NOW + c->exp_off));
	if (c->nbf_off != ABSENT)
		json_object_set_new(claims, "nbf", json_integer(NOW + c->nbf_off));
	if (c->jti != NULL)
		json_object_set_new(claims, "jti", json_string(c->jti));
	token = jwt_sign_json(c->alg, key, h, claims, err, sizeof(err));
	assert_non_null(token);
	json_decref(h);
	json_decref(claims);
	EVP_PKEY_free(key);
	free(key_pem);
	return token;
}

static void
test_assertion(void **state)
{
	static const struct as_case cases[] = {
		{ "RS256 + x5t", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, 600, 0,
		    "j1", 0 },
		{ "PS256 + x5t#S256", JWT_ALG_PS256, 0, TH_S256, LOGIN_TOKEN, CLIENT, CLIENT, 600, 0,
		    "j2", 0 },
		{ "both thumbprints", JWT_ALG_PS256, 0, TH_BOTH, LOGIN_TOKEN, CLIENT, CLIENT, 600,
		    0, "j3", 0 },
		{ "aud by domain, V2.0", JWT_ALG_RS256, 0, TH_X5T,
		    "https://login.microsoftonline.com/" DOMAIN "/oauth2/V2.0/token", CLIENT, CLIENT,
		    600, 0, NULL, 0 },
		{ "aud v1 token URL", JWT_ALG_RS256, 0, TH_X5T,
		    "https://login.microsoftonline.com/" TID "/oauth2/token", CLIENT, CLIENT, 600, 0,
		    NULL, 0 },
		{ "aud: the sim's own URL", JWT_ALG_RS256, 0, TH_X5T,
		    BASE "/" TID "/oauth2/v2.0/token", CLIENT, CLIENT, 600, 0, NULL, 0 },
		{ "client id in another case", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN,
		    "AAAAAAAA-0000-4000-8000-000000000001", CLIENT, 600, 0, NULL, 0 },
		{ "no nbf", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, 600, ABSENT, NULL,
		    0 },
		{ "expired within the skew", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT,
		    -60, -660, NULL, 0 },
		/* refused */
		{ "signed by another key", JWT_ALG_RS256, 1, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT,
		    600, 0, NULL, 700027 },
		{ "x5t of another cert", JWT_ALG_RS256, 1, TH_X5T_OTHER, LOGIN_TOKEN, CLIENT, CLIENT,
		    600, 0, NULL, 700027 },
		{ "x5t#S256 of another cert", JWT_ALG_PS256, 1, TH_S256_OTHER, LOGIN_TOKEN, CLIENT,
		    CLIENT, 600, 0, NULL, 700027 },
		{ "one thumbprint wrong", JWT_ALG_PS256, 0, TH_BOTH_MIXED, LOGIN_TOKEN, CLIENT,
		    CLIENT, 600, 0, NULL, 700027 },
		{ "no thumbprint", JWT_ALG_RS256, 0, TH_NONE, LOGIN_TOKEN, CLIENT, CLIENT, 600, 0,
		    NULL, 700027 },
		{ "aud: Graph", JWT_ALG_RS256, 0, TH_X5T, "https://graph.microsoft.com", CLIENT,
		    CLIENT, 600, 0, NULL, 700023 },
		{ "aud: another tenant", JWT_ALG_RS256, 0, TH_X5T,
		    "https://login.microsoftonline.com/common/oauth2/v2.0/token", CLIENT, CLIENT, 600,
		    0, NULL, 700023 },
		{ "aud: missing", JWT_ALG_RS256, 0, TH_X5T, NULL, CLIENT, CLIENT, 600, 0, NULL,
		    700023 },
		{ "aud: a prefix of the URL", JWT_ALG_RS256, 0, TH_X5T,
		    "https://login.microsoftonline.com/" TID "/oauth2/v2.0", CLIENT, CLIENT, 600, 0,
		    NULL, 700023 },
		{ "iss another app", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, "someone-else", CLIENT,
		    600, 0, NULL, 700021 },
		{ "sub another app", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, "someone-else",
		    600, 0, NULL, 700021 },
		{ "no sub", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, NULL, 600, 0, NULL,
		    700021 },
		{ "expired", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, -3600, -7200,
		    NULL, 700024 },
		{ "not yet valid", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, 7200,
		    3600, NULL, 700024 },
		{ "no exp", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, ABSENT, 0, NULL,
		    50027 },
	};
	struct graph_auth_assertion a;
	struct graph_auth_error e;
	char *reg_cert;

	(void)state;
	testkeys_pem(0, NULL, &reg_cert);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = make_assertion(&cases[i]);
		int rc;

		memset(&a, 0, sizeof(a));
		memset(&e, 0, sizeof(e));
		a.client_id = CLIENT;
		a.cert_pem = reg_cert;
		a.tenant_id = TID;
		a.tenant_domain = DOMAIN;
		a.base_url = BASE;
		a.now = (double)NOW;
		rc = graph_auth_assertion_check(tok, &a, &e);
		if (cases[i].want == 0 && rc != 0)
			fail_msg("%s: refused with %ld %s", cases[i].name, e.code, e.message);
		if (cases[i].want != 0 && (rc != -1 || e.code != cases[i].want))
			fail_msg("%s: rc %d code %ld, want %ld", cases[i].name, rc, e.code,
			    cases[i].want);
		if (rc == 0) {
			assert_string_equal(a.jti, cases[i].jti ? cases[i].jti : "");
			assert_int_equal(a.exp, NOW + cases[i].exp_off);
		} else {
			assert_int_equal(e.status, 401);
			assert_string_equal(e.error, "invalid_client");
		}
		free(tok);
	}
	free(reg_cert);
}

static void
test_assertion_rejects(void **state)
{
	static const char *const garbage[] = { "", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
	    /* {"alg":"HS256"} . {} . sig */
	    "eyJhbGciOiJIUzI1NiJ9.e30.c2ln" };
	struct graph_auth_assertion a;
	struct graph_auth_error e;
	struct as_case c = { "ok", JWT_ALG_RS256, 0, TH_X5T, LOGIN_TOKEN, CLIENT, CLIENT, 600, 0,
	    NULL, 0 };
	char *tok, *thumb_hex;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.client_id = CLIENT;
	a.tenant_id = TID;
	a.tenant_domain = DOMAIN;
	a.base_url = BASE;
	a.now = (double)NOW;
	testkeys_pem(0, NULL, (char **)&a.cert_pem);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(graph_auth_assertion_check(garbage[i], &a, &e), -1);
		assert_int_equal(e.code, 50027);
	}
	assert_int_equal(graph_auth_assertion_check(NULL, &a, &e), -1);
	assert_int_equal(e.code, 50027);

	/* an app without a registered certificate: the key is "not found", and the message
	 * names the client's thumbprint in hex */
	tok = make_assertion(&c);
	free((char *)a.cert_pem);
	a.cert_pem = NULL;
	assert_int_equal(graph_auth_assertion_check(tok, &a, &e), -1);
	assert_int_equal(e.code, 700027);
	{
		char *b = thumbprint(0, 0);
		unsigned char *raw;
		size_t len, n = 0;

		assert_int_equal(b64url_decode(b, strlen(b), &raw, &len), 0);
		thumb_hex = xmalloc(2 * len + 1);
		for (size_t k = 0; k < len; k++)
			n += (size_t)snprintf(thumb_hex + n, 3, "%02X", raw[k]);
		free(raw);
		free(b);
	}
	assert_non_null(strstr(e.message, thumb_hex));
	assert_non_null(strstr(e.message, "The key was not found"));
	free(thumb_hex);
	free(tok);

	/* the time-range text, as Entra prints it */
	testkeys_pem(0, NULL, (char **)&a.cert_pem);
	c.exp_off = -3600;
	c.nbf_off = -7200;
	tok = make_assertion(&c);
	a.now = (double)NOW + 0.25;
	assert_int_equal(graph_auth_assertion_check(tok, &a, &e), -1);
	assert_int_equal(e.code, 700024);
	assert_non_null(strstr(e.message, "Client assertion is not within its valid time range. "
	    "Current time: 2023-11-14T22:13:20.2500000Z, assertion valid from "
	    "2023-11-14T20:13:20.0000000Z, expiry time of assertion "
	    "2023-11-14T21:13:20.0000000Z."));
	free(tok);
	free((char *)a.cert_pem);
}

/* ---- access tokens ---- */

struct tok_case {
	const char *name;
	unsigned signer;	/* 0 stands for the sim's key */
	enum jwt_alg alg;
	const char *aud;
	const char *iss;
	const char *tid;
	long exp_off;		/* or ABSENT */
	long nbf_off;
	const char *message;	/* NULL: accepted */
};

static char *
make_token(const struct tok_case *c)
{
	char *key_pem, err[256], *token;
	EVP_PKEY *key;
	json_t *claims = json_object();

	testkeys_pem(c->signer, &key_pem, NULL);
	key = crypto_privkey_load_pem(key_pem, err, sizeof(err));
	assert_non_null(key);
	if (c->aud)
		json_object_set_new(claims, "aud", json_string(c->aud));
	if (c->iss)
		json_object_set_new(claims, "iss", json_string(c->iss));
	if (c->tid)
		json_object_set_new(claims, "tid", json_string(c->tid));
	if (c->exp_off != ABSENT)
		json_object_set_new(claims, "exp", json_integer(NOW + c->exp_off));
	if (c->nbf_off != ABSENT)
		json_object_set_new(claims, "nbf", json_integer(NOW + c->nbf_off));
	json_object_set_new(claims, "appid", json_string(CLIENT));
	json_object_set_new(claims, "roles", json_pack("[s]", "Mail.Read"));
	token = jwt_sign_json(c->alg, key, NULL, claims, err, sizeof(err));
	assert_non_null(token);
	json_decref(claims);
	EVP_PKEY_free(key);
	free(key_pem);
	return token;
}

#define STS	"https://sts.windows.net/" TID "/"

static void
test_token_verify(void **state)
{
	static const struct tok_case cases[] = {
		{ "good", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, 3599, -300,
		    NULL },
		{ "aud by app id", 0, JWT_ALG_RS256, GRAPH_RESOURCE_ID, STS, TID, 3599, -300, NULL },
		{ "aud with slash", 0, JWT_ALG_RS256, "https://graph.microsoft.com/", STS, TID, 3599,
		    -300, NULL },
		{ "no nbf", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, 60, ABSENT,
		    NULL },
		{ "wrong aud", 0, JWT_ALG_RS256, "https://management.azure.com", STS, TID, 3599, -300,
		    "Access token validation failure. Invalid audience." },
		{ "aud of an API", 0, JWT_ALG_RS256, "api://olsync", STS, TID, 3599, -300,
		    "Access token validation failure. Invalid audience." },
		{ "no aud", 0, JWT_ALG_RS256, NULL, STS, TID, 3599, -300,
		    "Access token validation failure. Invalid audience." },
		{ "expired", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, -1, -3900,
		    "Lifetime validation failed, the token is expired." },
		{ "expires now", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, 0, -3600,
		    "Lifetime validation failed, the token is expired." },
		{ "not yet valid", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, 7200,
		    3600, "Lifetime validation failed, the token is not yet valid." },
		{ "no exp", 0, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, ABSENT, -300,
		    "Access token validation failure." },
		{ "another key", 1, JWT_ALG_RS256, "https://graph.microsoft.com", STS, TID, 3599,
		    -300, "Access token validation failure." },
		{ "PS256", 0, JWT_ALG_PS256, "https://graph.microsoft.com", STS, TID, 3599, -300,
		    "Access token validation failure." },
		{ "another tenant", 0, JWT_ALG_RS256, "https://graph.microsoft.com",
		    "https://sts.windows.net/99999999-2222-4333-8444-555555555555/",
		    "99999999-2222-4333-8444-555555555555", 3599, -300,
		    "Access token validation failure. Invalid issuer." },
		{ "v2 issuer", 0, JWT_ALG_RS256, "https://graph.microsoft.com",
		    "https://login.microsoftonline.com/" TID "/v2.0", TID, 3599, -300,
		    "Access token validation failure. Invalid issuer." },
	};
	char *key_pem, err[256];
	EVP_PKEY *key;
	const char *msg;
	json_t *claims;

	(void)state;
	testkeys_pem(0, &key_pem, NULL);
	key = crypto_privkey_load_pem(key_pem, err, sizeof(err));
	assert_non_null(key);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = make_token(&cases[i]);

		msg = "unset";
		claims = graph_auth_token_verify(key, TID, tok, NOW, &msg);
		if (cases[i].message == NULL) {
			if (claims == NULL)
				fail_msg("%s: refused: %s", cases[i].name, msg);
			assert_string_equal(json_string_value(json_object_get(claims, "appid")),
			    CLIENT);
		} else {
			if (claims != NULL)
				fail_msg("%s: accepted", cases[i].name);
			assert_string_equal(msg, cases[i].message);
		}
		json_decref(claims);
		free(tok);
	}
	/* not tokens at all */
	{
		static const struct {
			const char *token;
			const char *message;
		} bad[] = {
			{ NULL, "Access token is empty." },
			{ "", "Access token is empty." },
			{ "garbage", "CompactToken parsing/validation failed with reason code: "
			    "80049228." },
			{ "a.b.c", "CompactToken parsing/validation failed with reason code: "
			    "80049228." },
			{ "e30.e30.", "Access token validation failure." },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			msg = "unset";
			assert_null(graph_auth_token_verify(key, TID, bad[i].token, NOW, &msg));
			assert_string_equal(msg, bad[i].message);
		}
	}
	/* a good token with one claim changed after signing */
	{
		struct tok_case good = cases[0];
		char *tok = make_token(&good), *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
		const char *evil = "{\"aud\":\"https://graph.microsoft.com\",\"appid\":\"evil\","
		    "\"exp\":1900000000}";
		char *claims_b64 = b64url_encode(evil, strlen(evil));
		char *forged = xasprintf("%.*s.%s%s", (int)(dot1 - tok), tok, claims_b64, dot2);

		msg = "unset";
		assert_null(graph_auth_token_verify(key, TID, forged, NOW, &msg));
		assert_string_equal(msg, "Access token validation failure.");
		free(forged);
		free(claims_b64);
		free(tok);
	}
	EVP_PKEY_free(key);
	free(key_pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_assertion),
		cmocka_unit_test(test_assertion_rejects),
		cmocka_unit_test(test_token_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
