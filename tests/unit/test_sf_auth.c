/* test_sf_auth.c: the pure parts of sf-sim's OAuth (sim/sf/sf_auth.c): JWT bearer assertion
 * rules, the token request form parser and Basic credentials (lib/form.c), Authorization header
 * parsing and the token response signature. The HTTP side is tests/integration/test_sf_oauth.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "b64.h"
#include "crypto.h"
#include "form.h"
#include "jwt.h"
#include "sf_auth.h"
#include "testkeys.h"
#include "xmalloc.h"

#define NOW		1700000000L
#define INSTANCE	"http://127.0.0.1:4321"
#define LOGIN		"https://login.salesforce.com"
#define BAD_ASSERTION	"invalid assertion"
#define BAD_AUD		"audience is invalid"
#define BAD_EXP		"expired authorization code"
#define NOT_APPROVED	"user hasn't approved this consumer"

/* How a test assertion is signed. */
enum signer {
	SIGN_RS256,		/* the app's key */
	SIGN_RS256_OTHER,	/* a key the app's certificate does not match */
	SIGN_PS256,		/* the app's key, but an algorithm Salesforce does not take */
	SIGN_HS256_CERT,	/* HMAC keyed with the public certificate: alg confusion */
	SIGN_NONE,		/* "alg":"none", empty signature */
	SIGN_TAMPERED,		/* RS256, then the claims swapped for others */
};

static char *
b64url_str(const char *s)
{
	return b64url_encode(s, strlen(s));
}

/* A compact JWS by hand, for the algorithms jwt_sign refuses to make. */
static char *
handmade(const char *alg, const char *claims, const char *hmac_key)
{
	char *header = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	char *h = b64url_str(header), *c = b64url_str(claims);
	char *input = xasprintf("%s.%s", h, c), *sig = xstrdup(""), *out;

	if (hmac_key != NULL) {
		unsigned char mac[CRYPTO_SHA256_LEN];

		crypto_hmac_sha256(hmac_key, strlen(hmac_key), input, strlen(input), mac);
		free(sig);
		sig = b64url_encode(mac, sizeof(mac));
	}
	out = xasprintf("%s.%s", input, sig);
	free(header);
	free(h);
	free(c);
	free(input);
	free(sig);
	return out;
}

static EVP_PKEY *
key_of(unsigned which)
{
	char *pem, err[256];
	EVP_PKEY *key;

	testkeys_pem(which, &pem, NULL);
	key = crypto_privkey_load_pem(pem, err, sizeof(err));
	free(pem);
	if (key == NULL)
		fail_msg("%s", err);
	return key;
}

static char *
make_assertion(enum signer signer, const char *claims, const char *cert_pem)
{
	char err[256], *tok = NULL;
	EVP_PKEY *key;

	switch (signer) {
	case SIGN_RS256:
	case SIGN_RS256_OTHER:
	case SIGN_PS256:
	case SIGN_TAMPERED:
		key = key_of(signer == SIGN_RS256_OTHER ? 1 : 0);
		tok = jwt_sign(signer == SIGN_PS256 ? JWT_ALG_PS256 : JWT_ALG_RS256, key, NULL,
		    claims, err, sizeof(err));
		EVP_PKEY_free(key);
		if (tok == NULL)
			fail_msg("jwt_sign: %s", err);
		if (signer == SIGN_TAMPERED) {
			/* Same header and signature, claims naming someone else. */
			char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
			char *c = b64url_str("{\"iss\":\"KEY\",\"sub\":\"mallory@example.com\","
			    "\"aud\":\"" LOGIN "\",\"exp\":1700000060}");
			char *t2 = xasprintf("%.*s.%s%s", (int)(dot1 - tok), tok, c, dot2);

			free(c);
			free(tok);
			tok = t2;
		}
		return tok;
	case SIGN_HS256_CERT:
		return handmade("HS256", claims, cert_pem);
	case SIGN_NONE:
		return handmade("none", claims, NULL);
	}
	return NULL;
}

/* Claims: aud is a string, a JSON array literal ("[...]") or NULL for none; exp is NOW + delta
 * unless no_exp; prn and sub are left out when NULL. */
static char *
claims_json(const char *aud, int no_exp, long delta, const char *sub, const char *prn)
{
	json_t *c = json_pack("{s:s}", "iss", "KEY");
	char *s;

	if (aud != NULL)
		json_object_set_new(c, "aud", aud[0] == '[' ? json_loads(aud, 0, NULL) :
		    json_string(aud));
	if (!no_exp)
		json_object_set_new(c, "exp", json_integer(NOW + delta));
	if (sub != NULL)
		json_object_set_new(c, "sub", json_string(sub));
	if (prn != NULL)
		json_object_set_new(c, "prn", json_string(prn));
	s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

static void
test_jwt_verify(void **state)
{
	static const struct {
		const char *name;
		enum signer signer;
		const char *aud;
		int no_exp;
		long exp_delta;
		const char *sub, *prn;
		const char *want_desc;	/* NULL: accepted */
		const char *want_user;
	} cases[] = {
		{ "good, login audience", SIGN_RS256, LOGIN, 0, 120, "u@x.com", NULL, NULL,
		    "u@x.com" },
		{ "good, sandbox audience", SIGN_RS256, "https://test.salesforce.com", 0, 60,
		    "u@x.com", NULL, NULL, "u@x.com" },
		{ "good, the sim's own URL", SIGN_RS256, INSTANCE, 0, 60, "u@x.com", NULL, NULL,
		    "u@x.com" },
		{ "good, aud array", SIGN_RS256, "[\"https://a.example\",\"" LOGIN "\"]", 0, 60,
		    "u@x.com", NULL, NULL, "u@x.com" },
		{ "exp exactly 3 minutes ahead", SIGN_RS256, LOGIN, 0, 180, "u@x.com", NULL, NULL,
		    "u@x.com" },
		{ "exp just passed, within skew", SIGN_RS256, LOGIN, 0, -2, "u@x.com", NULL, NULL,
		    "u@x.com" },
		{ "prn wins over sub", SIGN_RS256, LOGIN, 0, 60, "sub@x.com", "prn@x.com", NULL,
		    "prn@x.com" },
		{ "prn alone", SIGN_RS256, LOGIN, 0, 60, NULL, "prn@x.com", NULL, "prn@x.com" },
		{ "expired", SIGN_RS256, LOGIN, 0, -60, "u@x.com", NULL, BAD_EXP, NULL },
		{ "exp too far ahead", SIGN_RS256, LOGIN, 0, 600, "u@x.com", NULL, BAD_EXP, NULL },
		{ "exp in milliseconds", SIGN_RS256, LOGIN, 0, NOW * 999L, "u@x.com", NULL,
		    BAD_EXP, NULL },
		{ "no exp", SIGN_RS256, LOGIN, 1, 0, "u@x.com", NULL, BAD_EXP, NULL },
		{ "wrong audience", SIGN_RS256, "https://evil.example", 0, 60, "u@x.com", NULL,
		    BAD_AUD, NULL },
		{ "audience with a trailing slash", SIGN_RS256, LOGIN "/", 0, 60, "u@x.com", NULL,
		    BAD_AUD, NULL },
		{ "no audience", SIGN_RS256, NULL, 0, 60, "u@x.com", NULL, BAD_AUD, NULL },
		{ "aud array without ours", SIGN_RS256, "[\"https://a.example\"]", 0, 60,
		    "u@x.com", NULL, BAD_AUD, NULL },
		{ "signed by another key", SIGN_RS256_OTHER, LOGIN, 0, 60, "u@x.com", NULL,
		    BAD_ASSERTION, NULL },
		{ "PS256", SIGN_PS256, LOGIN, 0, 60, "u@x.com", NULL, BAD_ASSERTION, NULL },
		{ "HS256 keyed with the certificate", SIGN_HS256_CERT, LOGIN, 0, 60, "u@x.com",
		    NULL, BAD_ASSERTION, NULL },
		{ "alg none", SIGN_NONE, LOGIN, 0, 60, "u@x.com", NULL, BAD_ASSERTION, NULL },
		{ "claims swapped after signing", SIGN_TAMPERED, LOGIN, 0, 60, "u@x.com", NULL,
		    BAD_ASSERTION, NULL },
		{ "no subject", SIGN_RS256, LOGIN, 0, 60, NULL, NULL, NOT_APPROVED, NULL },
		{ "empty subject", SIGN_RS256, LOGIN, 0, 60, "", NULL, NOT_APPROVED, NULL },
	};
	char *cert;

	(void)state;
	testkeys_pem(0, NULL, &cert);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *claims = claims_json(cases[i].aud, cases[i].no_exp, cases[i].exp_delta,
		    cases[i].sub, cases[i].prn);
		char *tok = make_assertion(cases[i].signer, claims, cert);
		char user[256] = "";
		struct sf_oauth_error e = { NULL, NULL };
		int rc = sf_auth_jwt_verify(tok, cert, INSTANCE, NOW, user, sizeof(user), &e);

		if (cases[i].want_desc == NULL) {
			if (rc != 0)
				fail_msg("%s: refused: %s", cases[i].name, e.description);
			assert_string_equal(user, cases[i].want_user);
		} else {
			if (rc == 0)
				fail_msg("%s: accepted", cases[i].name);
			assert_string_equal(e.error, "invalid_grant");
			if (strcmp(e.description, cases[i].want_desc) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
				    e.description, cases[i].want_desc);
		}
		free(claims);
		free(tok);
	}
	free(cert);
}

/* Inputs that are not a usable assertion or certificate at all. */
static void
test_jwt_verify_garbage(void **state)
{
	static const struct {
		const char *assertion;
		int bad_cert;
	} cases[] = {
		{ NULL, 0 }, { "", 0 }, { "abc", 0 }, { "a.b.c", 0 }, { "..", 0 },
		{ "eyJhbGciOiJSUzI1NiJ9.e30.", 0 },
		{ "GOOD", 1 },		/* a good assertion, a junk certificate */
	};
	char *cert, *claims = claims_json(LOGIN, 0, 60, "u@x.com", NULL), *good;

	(void)state;
	testkeys_pem(0, NULL, &cert);
	good = make_assertion(SIGN_RS256, claims, cert);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].assertion;
		char user[64];
		struct sf_oauth_error e = { NULL, NULL };

		if (a != NULL && strcmp(a, "GOOD") == 0)
			a = good;
		assert_int_equal(sf_auth_jwt_verify(a, cases[i].bad_cert ? "-----BEGIN "
		    "CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" : cert, INSTANCE, NOW,
		    user, sizeof(user), &e), -1);
		assert_string_equal(e.error, "invalid_grant");
		assert_string_equal(e.description, BAD_ASSERTION);
	}
	/* No certificate uploaded at all. */
	{
		char user[64];
		struct sf_oauth_error e = { NULL, NULL };

		assert_int_equal(sf_auth_jwt_verify(good, NULL, INSTANCE, NOW, user, sizeof(user),
		    &e), -1);
		assert_string_equal(e.description, BAD_ASSERTION);
	}
	free(good);
	free(claims);
	free(cert);
}

static void
test_jwt_issuer(void **state)
{
	static const struct {
		const char *claims;	/* NULL: the assertion is the literal below */
		const char *literal;
		const char *want_iss;	/* NULL: refused */
		const char *want_error, *want_desc;
	} cases[] = {
		{ "{\"iss\":\"3MVG9abc\",\"sub\":\"u\"}", NULL, "3MVG9abc", NULL, NULL },
		{ "{\"sub\":\"u\"}", NULL, NULL, "invalid_client_id", "client identifier invalid" },
		{ "{\"iss\":\"\"}", NULL, NULL, "invalid_client_id", "client identifier invalid" },
		{ "{\"iss\":42}", NULL, NULL, "invalid_client_id", "client identifier invalid" },
		{ NULL, "not-a-jwt", NULL, "invalid_grant", BAD_ASSERTION },
		{ NULL, "", NULL, "invalid_grant", BAD_ASSERTION },
		{ NULL, NULL, NULL, "invalid_grant", BAD_ASSERTION },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The issuer is read before anything is verified, so an unsigned one will do. */
		char *tok = cases[i].claims ? handmade("RS256", cases[i].claims, NULL) :
		    (cases[i].literal ? xstrdup(cases[i].literal) : NULL);
		char iss[128] = "";
		struct sf_oauth_error e = { NULL, NULL };
		int rc = sf_auth_jwt_issuer(tok, iss, sizeof(iss), &e);

		if (cases[i].want_iss != NULL) {
			assert_int_equal(rc, 0);
			assert_string_equal(iss, cases[i].want_iss);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.error, cases[i].want_error);
			assert_string_equal(e.description, cases[i].want_desc);
		}
		free(tok);
	}
}

static void
test_form_parse(void **state)
{
	static const struct {
		const char *body;
		int max;
		int n;
		const char *pairs[4][2];
	} cases[] = {
		{ "grant_type=client_credentials&client_id=abc", 8, 2,
		    { { "grant_type", "client_credentials" }, { "client_id", "abc" } } },
		{ "client_secret=a%2Bb+c%26d%3D", 8, 1, { { "client_secret", "a+b c&d=" } } },
		{ "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", 8, 1,
		    { { "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer" } } },
		{ "&&a=&=x&b&", 8, 2, { { "a", "" }, { "b", "" } } },
		{ "a=1&a=2", 8, 2, { { "a", "1" }, { "a", "2" } } },
		{ "a=%zz%4", 8, 1, { { "a", "%zz%4" } } },
		{ "a=1&b=2&c=3", 2, 2, { { "a", "1" }, { "b", "2" } } },
		{ "", 8, 0, { { NULL, NULL } } },
		{ "=", 8, 0, { { NULL, NULL } } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct httpd_param p[8];
		int n = form_parse(cases[i].body, strlen(cases[i].body), FORM_SKIP_NAMELESS, p,
		    cases[i].max);

		assert_int_equal(n, cases[i].n);
		for (int j = 0; j < n; j++) {
			assert_string_equal(p[j].name, cases[i].pairs[j][0]);
			assert_string_equal(p[j].value, cases[i].pairs[j][1]);
		}
		form_free(p, n);
	}
	/* The length bounds the parse, not the NUL. */
	{
		struct httpd_param p[2];
		int n = form_parse("a=1&b=2", 3, FORM_SKIP_NAMELESS, p, 2);

		assert_int_equal(n, 1);
		assert_string_equal(p[0].value, "1");
		form_free(p, n);
	}
}

static void
test_bearer(void **state)
{
	static const struct {
		const char *header;
		const char *want;	/* NULL: not a bearer header */
	} cases[] = {
		{ "Bearer 00Dx!AQabc", "00Dx!AQabc" },
		{ "bearer abc", "abc" },
		{ "BEARER   abc", "abc" },
		{ "OAuth abc", "abc" },
		{ "Bearer", "" },
		{ "Bearer ", "" },
		{ "Bearerabc", NULL },
		{ "Basic YTpi", NULL },
		{ "abc", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = sf_auth_bearer(cases[i].header);

		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
	}
}

static void
test_basic(void **state)
{
	static const struct {
		const char *header;
		int rc;
		const char *id, *secret;
	} cases[] = {
		{ "Basic aWQ6c2VjcmV0", 0, "id", "secret" },
		{ "basic  aWQ6c2VjcmV0 ", 0, "id", "secret" },
		{ "Basic M01WRzk6c2U6Y3JldA==", 0, "3MVG9", "se:cret" },
		{ "Basic OnM=", 0, "", "s" },
		{ "Basic bm9jb2xvbg==", -1, NULL, NULL },	/* "nocolon" */
		{ "Basic YQBiOmM=", -1, NULL, NULL },		/* NUL inside */
		{ "Basic !!!!", -1, NULL, NULL },
		{ "Basic aWQ6c2VjcmV0\n", -1, NULL, NULL },
		{ "Bearer aWQ6c2VjcmV0", -1, NULL, NULL },
		{ "Basic", -1, NULL, NULL },
		{ NULL, -1, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = (char *)"x", *secret = (char *)"x";
		int rc = form_basic_auth(cases[i].header, 0, &id, &secret);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(id, cases[i].id);
			assert_string_equal(secret, cases[i].secret);
		} else {
			assert_null(id);
			assert_null(secret);
		}
		free(id);
		free(secret);
	}
}

/* Expected values from Python: base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()). */
static void
test_signature(void **state)
{
	static const struct {
		const char *secret, *id, *issued_at, *want;
	} cases[] = {
		{ "s3cr3t", "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P",
		    "1278448832702", "QLaj+1Eyx6XlrzuAVulfuQTBiM2M4O2Lte8WOVn6Kl4=" },
		{ "", "x", "", "TLyWCZpkZ84AJGHxBUm0iYJl6+YYi0XvrMRCk1FuYsQ=" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *sig = sf_auth_signature(cases[i].secret, cases[i].id, cases[i].issued_at);

		assert_string_equal(sig, cases[i].want);
		free(sig);
	}
	/* A different issued_at changes it. */
	{
		char *a = sf_auth_signature("s3cr3t", "id", "1"), *b = sf_auth_signature("s3cr3t",
		    "id", "2");

		assert_string_not_equal(a, b);
		free(a);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_verify),
		cmocka_unit_test(test_jwt_verify_garbage),
		cmocka_unit_test(test_jwt_issuer),
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
