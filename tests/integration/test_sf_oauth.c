/* test_sf_oauth.c: sf-sim's OAuth over HTTP against the real sf-sim binary: the JWT bearer,
 * client credentials and refresh token grants with every refusal Salesforce gives, tokens on
 * data calls (header forms, expiry, revocation) and the identity URL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "b64.h"
#include "crypto.h"
#include "httpc.h"
#include "jwt.h"
#include "sim_http.h"
#include "sim_proc.h"
#include "testkeys.h"
#include "xmalloc.h"

#define TOKEN_PATH	"/services/oauth2/token"
#define LIMITS		"/services/data/v62.0/limits"
#define LOGIN		"https://login.salesforce.com"
#define ORG15		"00D5g000004SimO"	/* sf-sim's fixed org id, 15-character form */

static struct sim_proc sim;
static char admin_token[256];
static json_t *keys;		/* seed _key -> Id */

static const char *
key_id(const char *k)
{
	const char *id = json_string_value(json_object_get(keys, k));

	if (id == NULL)
		fail_msg("no seeded key %s", k);
	return id;
}

/* A POST to the control API that must answer want; its JSON body (caller decrefs). */
static json_t *
ctl(const char *path, const char *body, long want)
{
	return sim_http_ctl(sim.base_url, "POST", path, body, want);
}

static int
setup(void **state)
{
	char *cert0, *certjson, *seed;
	json_t *cs;

	(void)state;
	if (sim_http_start_sf(&sim, NULL, admin_token, sizeof(admin_token)) < 0)
		return -1;
	testkeys_pem(0, NULL, &cert0);
	cs = json_string(cert0);
	certjson = json_dumps(cs, JSON_ENCODE_ANY);
	json_decref(cs);
	/* Users first: the apps name them. */
	seed = xasprintf("{\"User\":["
	    "{\"_key\":\"jwt\",\"Username\":\"jwt@example.com\",\"Email\":\"jwt@example.com\","
	    "\"LastName\":\"Jay\",\"FirstName\":\"Wendy\",\"Alias\":\"jwt\"},"
	    "{\"_key\":\"gone\",\"Username\":\"gone@example.com\",\"Email\":\"gone@example.com\","
	    "\"LastName\":\"Gone\",\"Alias\":\"gone\",\"IsActive\":false},"
	    "{\"_key\":\"out\",\"Username\":\"outsider@example.com\",\"Email\":"
	    "\"outsider@example.com\",\"LastName\":\"Out\",\"Alias\":\"out\"},"
	    "{\"_key\":\"runas\",\"Username\":\"runas@example.com\","
	    "\"Email\":\"runas@example.com\","
	    "\"LastName\":\"Integration\",\"Alias\":\"runas\"}],"
	    "\"ConnectedApp\":["
	    "{\"consumerKey\":\"JWTAPP\",\"certificate\":%s,\"adminApproved\":true,"
	    "\"preauthorized\":[\"jwt@example.com\",\"gone@example.com\"]},"
	    "{\"consumerKey\":\"SELFAPP\",\"certificate\":%s,\"adminApproved\":false,"
	    "\"preauthorized\":[\"jwt@example.com\"]},"
	    "{\"consumerKey\":\"NOCERT\",\"consumerSecret\":\"x\"},"
	    "{\"consumerKey\":\"CCAPP\",\"consumerSecret\":\"cc-secret\",\"runAs\":"
	    "\"runas@example.com\",\"clientCredentials\":true},"
	    "{\"consumerKey\":\"CCOFF\",\"consumerSecret\":\"off-secret\",\"runAs\":"
	    "\"runas@example.com\",\"clientCredentials\":false},"
	    "{\"consumerKey\":\"CCNORUN\",\"consumerSecret\":\"norun-secret\","
	    "\"clientCredentials\":true},"
	    "{\"consumerKey\":\"REFAPP\",\"consumerSecret\":\"ref-secret\","
	    "\"requireSecretForRefresh\":true},"
	    "{\"consumerKey\":\"REFOPEN\",\"consumerSecret\":\"open-secret\","
	    "\"requireSecretForRefresh\":false}]}",
	    certjson, certjson);
	keys = sim_http_seed_sf(&sim, seed);
	free(seed);
	free(certjson);
	free(cert0);
	if (keys == NULL) {
		sim_proc_stop(&sim);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(keys);
	/* A clean exit: under ASan a leak or a crash in sf-sim fails the test here. */
	return sim_proc_stop_clean(&sim, "sf-sim");
}

/* A JWT bearer assertion: signed with test identity `which` (0 is the apps' certificate);
 * exp is now + delta. alg "HS256" or "none" are built by hand. */
static char *
assertion(unsigned which, const char *alg, const char *iss, const char *sub, const char *aud,
    long delta)
{
	json_t *claims = json_pack("{s:s,s:s,s:s,s:I}", "iss", iss, "sub", sub, "aud", aud,
	    "exp", (json_int_t)(time(NULL) + delta));
	char *text = json_dumps(claims, JSON_COMPACT), err[256], *tok;

	json_decref(claims);
	if (strcmp(alg, "RS256") == 0) {
		char *pem;
		EVP_PKEY *key;

		testkeys_pem(which, &pem, NULL);
		key = crypto_privkey_load_pem(pem, err, sizeof(err));
		free(pem);
		tok = jwt_sign(JWT_ALG_RS256, key, NULL, text, err, sizeof(err));
		EVP_PKEY_free(key);
		if (tok == NULL)
			fail_msg("jwt_sign: %s", err);
	} else {
		char *header = xasprintf("{\"alg\":\"%s\"}", alg);
		char *h = b64url_encode(header, strlen(header)), *c = b64url_encode(text,
		    strlen(text));
		char *input = xasprintf("%s.%s", h, c), *sig = xstrdup("");

		if (strcmp(alg, "HS256") == 0) {
			unsigned char mac[CRYPTO_SHA256_LEN];
			char *cert;

			/* Keyed with the public certificate: the classic alg confusion. */
			testkeys_pem(0, NULL, &cert);
			crypto_hmac_sha256(cert, strlen(cert), input, strlen(input), mac);
			free(cert);
			free(sig);
			sig = b64url_encode(mac, sizeof(mac));
		}
		tok = xasprintf("%s.%s", input, sig);
		free(header);
		free(h);
		free(c);
		free(input);
		free(sig);
	}
	free(text);
	return tok;
}

/* Posts a token request; extra may be NULL or one header line. */
static void
token_request(struct sim_http *h, const char *form, const char *extra)
{
	const char *headers[2] = { extra, NULL };

	sim_http_form(h, sim.base_url, TOKEN_PATH, form, extra ? headers : NULL);
	if (h->fail != HTTPC_OK)
		fail_msg("token request did not get an answer");
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A 400 with exactly this error pair, not cached. */
static void
check_refusal(const char *name, struct sim_http *h, const char *error, const char *desc)
{
	const char *cc = sim_http_header(h, "Cache-Control");

	if (h->status != 400 || h->json == NULL || jstr(h->json, "error") == NULL ||
	    strcmp(jstr(h->json, "error"), error) != 0 ||
	    strcmp(jstr(h->json, "error_description"), desc) != 0)
		fail_msg("%s: got %ld %s, want 400 %s/%s", name, h->status,
		    h->resp.body ? h->resp.body : "", error, desc);
	assert_int_equal(json_object_size(h->json), 2);
	assert_non_null(cc);
	assert_non_null(strstr(cc, "no-store"));
}

/* A 200 token response for user_id; signed: issued_at + signature over secret. Returns the
 * access token (caller frees). */
static char *
check_grant(const char *name, struct sim_http *h, const char *user_id, const char *secret)
{
	const char *tok, *id, *cc = sim_http_header(h, "Cache-Control");
	char *want_id;

	if (h->status != 200 || h->json == NULL)
		fail_msg("%s: got %ld %s, want 200", name, h->status,
		    h->resp.body ? h->resp.body : "");
	tok = jstr(h->json, "access_token");
	assert_non_null(tok);
	/* Salesforce session ids: the 15-character org id, "!", then opaque text. */
	assert_memory_equal(tok, ORG15 "!", 16);
	assert_true(strlen(tok) > 40);
	assert_string_equal(jstr(h->json, "instance_url"), sim.base_url);
	assert_string_equal(jstr(h->json, "token_type"), "Bearer");
	assert_non_null(jstr(h->json, "scope"));
	id = jstr(h->json, "id");
	want_id = xasprintf("%s/id/00D5g000004SimOEAS/%s", sim.base_url, user_id);
	assert_string_equal(id, want_id);
	free(want_id);
	/* Never in a Salesforce token response from these flows. */
	assert_null(json_object_get(h->json, "expires_in"));
	assert_null(json_object_get(h->json, "refresh_token"));
	assert_non_null(cc);
	assert_non_null(strstr(cc, "no-store"));
	if (secret != NULL) {
		const char *issued = jstr(h->json, "issued_at");
		unsigned char mac[CRYPTO_SHA256_LEN];
		char *msg, *want;
		long long ms;

		assert_non_null(issued);
		ms = atoll(issued);
		/* Milliseconds, as a string, close to now. */
		assert_true(llabs(ms - (long long)time(NULL) * 1000) < 60000);
		msg = xasprintf("%s%s", id, issued);
		crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
		want = b64_encode(mac, sizeof(mac));
		assert_string_equal(jstr(h->json, "signature"), want);
		free(want);
		free(msg);
	} else {
		assert_null(json_object_get(h->json, "issued_at"));
		assert_null(json_object_get(h->json, "signature"));
	}
	return xstrdup(tok);
}

/* GET /limits with this Authorization header (NULL: none). */
static void
data_call(const char *authorization, long want_status, const char *want_code)
{
	struct sim_http h;
	char line[1024];
	const char *headers[2] = { line, NULL };

	snprintf(line, sizeof(line), "Authorization: %s", authorization ? authorization : "");
	sim_http_do(&h, sim.base_url, "GET", LIMITS, NULL, NULL, authorization ? headers : NULL);
	if (h.status != want_status)
		fail_msg("GET limits with \"%.40s\": %ld, want %ld: %s", authorization ?
		    authorization : "(none)", h.status, want_status, h.resp.body);
	if (want_code != NULL)
		assert_string_equal(sim_http_error_code(&h), want_code);
	sim_http_free(&h);
}

static void
bearer_works(const char *token)
{
	char *auth = xasprintf("Bearer %s", token);

	data_call(auth, 200, NULL);
	free(auth);
}

static void
test_jwt_bearer(void **state)
{
	static const struct {
		const char *name;
		unsigned key;
		const char *alg, *iss, *sub, *aud;
		long exp_delta;
		const char *user_key;		/* accepted: the user the token is for */
		const char *error, *desc;	/* refused */
	} cases[] = {
		{ "good", 0, "RS256", "JWTAPP", "jwt@example.com", LOGIN, 120, "jwt", NULL, NULL },
		{ "username in another case", 0, "RS256", "JWTAPP", "JWT@Example.com", LOGIN, 60,
		    "jwt", NULL, NULL },
		{ "sandbox audience", 0, "RS256", "JWTAPP", "jwt@example.com",
		    "https://test.salesforce.com", 60, "jwt", NULL, NULL },
		{ "the sim's own URL as audience", 0, "RS256", "JWTAPP", "jwt@example.com", "SELF",
		    60, "jwt", NULL, NULL },
		{ "self-authorize app, approved user", 0, "RS256", "SELFAPP", "jwt@example.com",
		    LOGIN, 60, "jwt", NULL, NULL },
		{ "expired", 0, "RS256", "JWTAPP", "jwt@example.com", LOGIN, -300, NULL,
		    "invalid_grant", "expired authorization code" },
		{ "exp too far ahead", 0, "RS256", "JWTAPP", "jwt@example.com", LOGIN, 3600, NULL,
		    "invalid_grant", "expired authorization code" },
		{ "wrong audience", 0, "RS256", "JWTAPP", "jwt@example.com",
		    "https://example.my.salesforce.com", 60, NULL, "invalid_grant",
		    "audience is invalid" },
		{ "signed by another key", 1, "RS256", "JWTAPP", "jwt@example.com", LOGIN, 60,
		    NULL, "invalid_grant", "invalid assertion" },
		{ "HS256", 0, "HS256", "JWTAPP", "jwt@example.com", LOGIN, 60, NULL,
		    "invalid_grant", "invalid assertion" },
		{ "alg none", 0, "none", "JWTAPP", "jwt@example.com", LOGIN, 60, NULL,
		    "invalid_grant", "invalid assertion" },
		{ "app without a certificate", 0, "RS256", "NOCERT", "jwt@example.com", LOGIN, 60,
		    NULL, "invalid_grant", "invalid assertion" },
		{ "unknown consumer key", 0, "RS256", "NOSUCHAPP", "jwt@example.com", LOGIN, 60,
		    NULL, "invalid_client_id", "client identifier invalid" },
		{ "unknown user", 0, "RS256", "JWTAPP", "nobody@example.com", LOGIN, 60, NULL,
		    "invalid_grant", "user hasn't approved this consumer" },
		{ "inactive user", 0, "RS256", "JWTAPP", "gone@example.com", LOGIN, 60, NULL,
		    "invalid_grant", "inactive user" },
		{ "not pre-authorized (admin approved app)", 0, "RS256", "JWTAPP",
		    "outsider@example.com", LOGIN, 60, NULL, "invalid_app_access",
		    "user is not admin approved to access this app" },
		{ "never approved (self-authorize app)", 0, "RS256", "SELFAPP",
		    "outsider@example.com", LOGIN, 60, NULL, "invalid_grant",
		    "user hasn't approved this consumer" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *aud = strcmp(cases[i].aud, "SELF") == 0 ? sim.base_url : cases[i].aud;
		char *a = assertion(cases[i].key, cases[i].alg, cases[i].iss, cases[i].sub, aud,
		    cases[i].exp_delta);
		char *form = xasprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
		    "%%3Ajwt-bearer&assertion=%s", a);
		struct sim_http h;

		token_request(&h, form, NULL);
		if (cases[i].user_key != NULL) {
			char *tok = check_grant(cases[i].name, &h, key_id(cases[i].user_key), NULL);

			bearer_works(tok);
			free(tok);
		} else {
			check_refusal(cases[i].name, &h, cases[i].error, cases[i].desc);
		}
		sim_http_free(&h);
		free(form);
		free(a);
	}
	/* No assertion at all. */
	{
		struct sim_http h;

		token_request(&h, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer", NULL);
		check_refusal("no assertion", &h, "invalid_grant", "invalid assertion");
		sim_http_free(&h);
	}
}

static char *
basic(const char *id, const char *secret)
{
	char *pair = xasprintf("%s:%s", id, secret), *b = b64_encode(pair, strlen(pair));
	char *line = xasprintf("Authorization: Basic %s", b);

	free(pair);
	free(b);
	return line;
}

static void
test_client_credentials(void **state)
{
	static const struct {
		const char *name;
		const char *form;
		const char *basic_id, *basic_secret;	/* HTTP Basic, when not NULL */
		const char *host;			/* Host header, when not NULL */
		const char *secret;			/* accepted: the app's secret */
		const char *error, *desc;
	} cases[] = {
		{ "secret in the body", "grant_type=client_credentials&client_id=CCAPP&"
		    "client_secret=cc-secret", NULL, NULL, NULL, "cc-secret", NULL, NULL },
		{ "HTTP Basic", "grant_type=client_credentials", "CCAPP", "cc-secret", NULL,
		    "cc-secret", NULL, NULL },
		{ "wrong secret", "grant_type=client_credentials&client_id=CCAPP&"
		    "client_secret=nope", NULL, NULL, NULL, NULL, "invalid_client",
		    "invalid client credentials" },
		{ "wrong secret over Basic", "grant_type=client_credentials", "CCAPP", "nope",
		    NULL, NULL, "invalid_client", "invalid client credentials" },
		{ "no secret", "grant_type=client_credentials&client_id=CCAPP", NULL, NULL, NULL,
		    NULL, "invalid_client", "invalid client credentials" },
		{ "unknown client id", "grant_type=client_credentials&client_id=NOPE&"
		    "client_secret=cc-secret", NULL, NULL, NULL, NULL, "invalid_client_id",
		    "client identifier invalid" },
		{ "no client id", "grant_type=client_credentials", NULL, NULL, NULL, NULL,
		    "invalid_client_id", "client identifier invalid" },
		{ "flow disabled", "grant_type=client_credentials&client_id=CCOFF&"
		    "client_secret=off-secret", NULL, NULL, NULL, NULL, "invalid_grant",
		    "no client credentials user enabled" },
		{ "no run-as user", "grant_type=client_credentials&client_id=CCNORUN&"
		    "client_secret=norun-secret", NULL, NULL, NULL, NULL, "invalid_grant",
		    "no client credentials user enabled" },
		{ "sent to login.salesforce.com", "grant_type=client_credentials&client_id=CCAPP&"
		    "client_secret=cc-secret", NULL, NULL, "Host: login.salesforce.com", NULL,
		    "invalid_grant", "request not supported on this domain" },
		{ "sent to test.salesforce.com", "grant_type=client_credentials&client_id=CCAPP&"
		    "client_secret=cc-secret", NULL, NULL, "Host: test.salesforce.com:443", NULL,
		    "invalid_grant", "request not supported on this domain" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = cases[i].basic_id ? basic(cases[i].basic_id, cases[i].basic_secret) :
		    NULL;
		struct sim_http h;

		token_request(&h, cases[i].form, line ? line : cases[i].host);
		if (cases[i].secret != NULL) {
			char *tok = check_grant(cases[i].name, &h, key_id("runas"),
			    cases[i].secret);

			assert_string_equal(jstr(h.json, "scope"), "api");
			bearer_works(tok);
			free(tok);
		} else {
			check_refusal(cases[i].name, &h, cases[i].error, cases[i].desc);
		}
		sim_http_free(&h);
		free(line);
	}
}

/* A refresh token for user key k and app, from the control API (the web-server flow that would
 * hand one out is not emulated). Caller frees. */
static char *
refresh_token_for(const char *username, const char *app)
{
	char *body = xasprintf("{\"username\":\"%s\",\"refresh\":true,\"consumer_key\":\"%s\"}",
	    username, app);
	json_t *j = ctl("/_sim/token", body, 200);
	const char *rt = jstr(j, "refresh_token");
	char *out;

	if (rt == NULL)
		fail_msg("/_sim/token gave no refresh_token");
	out = xstrdup(rt);
	json_decref(j);
	free(body);
	return out;
}

static void
test_refresh_token(void **state)
{
	enum which { RT_REF, RT_OPEN, RT_REVOKED, RT_UNKNOWN, RT_NONE };
	static const struct {
		const char *name;
		enum which rt;
		const char *client;	/* "client_id=..&client_secret=.." part */
		const char *secret;	/* accepted: the app's secret for the signature */
		const char *error, *desc;
	} cases[] = {
		{ "good", RT_REF, "client_id=REFAPP&client_secret=ref-secret", "ref-secret",
		    NULL, NULL },
		{ "secret not required", RT_OPEN, "client_id=REFOPEN", "open-secret", NULL, NULL },
		{ "missing secret", RT_REF, "client_id=REFAPP", NULL, "invalid_client",
		    "invalid client credentials" },
		{ "wrong secret", RT_REF, "client_id=REFAPP&client_secret=nope", NULL,
		    "invalid_client", "invalid client credentials" },
		{ "wrong secret, though not required", RT_OPEN, "client_id=REFOPEN&client_secret=x",
		    NULL, "invalid_client", "invalid client credentials" },
		{ "unknown client id", RT_REF, "client_id=NOPE&client_secret=ref-secret", NULL,
		    "invalid_client_id", "client identifier invalid" },
		{ "another app's refresh token", RT_OPEN, "client_id=REFAPP&"
		    "client_secret=ref-secret", NULL, "invalid_grant",
		    "expired access/refresh token" },
		{ "revoked", RT_REVOKED, "client_id=REFAPP&client_secret=ref-secret", NULL,
		    "invalid_grant", "expired access/refresh token" },
		{ "unknown refresh token", RT_UNKNOWN, "client_id=REFAPP&client_secret=ref-secret",
		    NULL, "invalid_grant", "expired access/refresh token" },
		{ "no refresh token", RT_NONE, "client_id=REFAPP&client_secret=ref-secret", NULL,
		    "invalid_grant", "expired access/refresh token" },
	};
	char *rt_ref = refresh_token_for("jwt@example.com", "REFAPP");
	char *rt_open = refresh_token_for("jwt@example.com", "REFOPEN");
	char *rt_revoked = refresh_token_for("jwt@example.com", "REFAPP");
	struct sim_http h;
	char *form;

	(void)state;
	/* Refresh tokens look like Salesforce's. */
	assert_memory_equal(rt_ref, "5Aep861", 7);
	assert_string_not_equal(rt_ref, rt_revoked);
	form = xasprintf("token=%s", rt_revoked);
	sim_http_form(&h, sim.base_url, "/services/oauth2/revoke", form, NULL);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
	free(form);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *rt = cases[i].rt == RT_REF ? rt_ref : cases[i].rt == RT_OPEN ? rt_open :
		    cases[i].rt == RT_REVOKED ? rt_revoked : cases[i].rt == RT_UNKNOWN ?
		    "5Aep861NotOneOfOurs" : NULL;

		form = rt ? xasprintf("grant_type=refresh_token&refresh_token=%s&%s", rt,
		    cases[i].client) : xasprintf("grant_type=refresh_token&%s", cases[i].client);
		token_request(&h, form, NULL);
		if (cases[i].secret != NULL) {
			char *tok = check_grant(cases[i].name, &h, key_id("jwt"), cases[i].secret);

			bearer_works(tok);
			free(tok);
		} else {
			check_refusal(cases[i].name, &h, cases[i].error, cases[i].desc);
		}
		sim_http_free(&h);
		free(form);
	}
	/* A refresh token is reusable (no rotation configured). */
	form = xasprintf("grant_type=refresh_token&refresh_token=%s&client_id=REFAPP&"
	    "client_secret=ref-secret", rt_ref);
	token_request(&h, form, NULL);
	assert_int_equal(h.status, 200);
	sim_http_free(&h);
	free(form);
	/* Revoking an unknown token is refused. */
	sim_http_form(&h, sim.base_url, "/services/oauth2/revoke", "token=nope", NULL);
	assert_int_equal(h.status, 400);
	assert_string_equal(jstr(h.json, "error"), "unsupported_token_type");
	sim_http_free(&h);
	free(rt_ref);
	free(rt_open);
	free(rt_revoked);
}

static void
test_grant_type_and_format(void **state)
{
	static const struct {
		const char *form;
		const char *error, *desc;
	} cases[] = {
		{ "", "invalid_request", "grant type is missing" },
		{ "client_id=CCAPP", "invalid_request", "grant type is missing" },
		{ "grant_type=", "invalid_request", "grant type is missing" },
		{ "grant_type=magic", "unsupported_grant_type", "grant type not supported" },
		{ "grant_type=CLIENT_CREDENTIALS", "unsupported_grant_type",
		    "grant type not supported" },
		{ "grant_type=authorization_code&code=abc", "invalid_grant",
		    "invalid authorization code" },
	};
	struct sim_http h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		token_request(&h, cases[i].form, NULL);
		check_refusal(cases[i].form, &h, cases[i].error, cases[i].desc);
		sim_http_free(&h);
	}
	/* format=urlencoded answers a form, errors included. */
	token_request(&h, "grant_type=client_credentials&client_id=CCAPP&client_secret=cc-secret"
	    "&format=urlencoded", NULL);
	assert_int_equal(h.status, 200);
	assert_null(h.json);
	assert_non_null(strstr(sim_http_header(&h, "Content-Type"), "x-www-form-urlencoded"));
	assert_non_null(strstr(h.resp.body, "access_token=" ORG15 "%21"));
	assert_non_null(strstr(h.resp.body, "&token_type=Bearer"));
	assert_non_null(strstr(h.resp.body, "&instance_url=http%3A%2F%2F127.0.0.1%3A"));
	sim_http_free(&h);
	token_request(&h, "grant_type=magic&format=urlencoded", NULL);
	assert_int_equal(h.status, 400);
	assert_string_equal(h.resp.body,
	    "error=unsupported_grant_type&error_description=grant%20type%20not%20supported");
	sim_http_free(&h);
}

static void
test_data_call_headers(void **state)
{
	struct sim_http h;
	char *tok, *auth;

	(void)state;
	token_request(&h, "grant_type=client_credentials&client_id=CCAPP&client_secret=cc-secret",
	    NULL);
	tok = check_grant("client credentials", &h, key_id("runas"), "cc-secret");
	sim_http_free(&h);
	auth = xasprintf("Bearer %s", tok);
	data_call(auth, 200, NULL);
	free(auth);
	auth = xasprintf("OAuth %s", tok);
	data_call(auth, 200, NULL);
	free(auth);
	auth = xasprintf("Basic %s", tok);
	data_call(auth, 401, "INVALID_AUTH_HEADER");
	free(auth);
	/* The message of INVALID_AUTH_HEADER is the literal INVALID_HEADER_TYPE. */
	{
		const char *headers[] = { "Authorization: Token abc", NULL };

		sim_http_do(&h, sim.base_url, "GET", LIMITS, NULL, NULL, headers);
		assert_int_equal(h.status, 401);
		assert_string_equal(jstr(json_array_get(h.json, 0), "message"),
		    "INVALID_HEADER_TYPE");
		sim_http_free(&h);
	}
	data_call("Bearer 00D5g000004SimO!AQnotatoken", 401, "INVALID_SESSION_ID");
	data_call("Bearer ", 401, "INVALID_SESSION_ID");
	data_call(NULL, 401, "INVALID_SESSION_ID");
	sim_http_do(&h, sim.base_url, "GET", LIMITS, NULL, "nope", NULL);
	assert_string_equal(jstr(json_array_get(h.json, 0), "message"),
	    "Session expired or invalid");
	sim_http_free(&h);
	/* Revoking an access token ends that session only. */
	{
		char *form = xasprintf("token=%s", tok), *other;

		token_request(&h, "grant_type=client_credentials&client_id=CCAPP&"
		    "client_secret=cc-secret", NULL);
		other = xstrdup(jstr(h.json, "access_token"));
		sim_http_free(&h);
		sim_http_form(&h, sim.base_url, "/services/oauth2/revoke", form, NULL);
		assert_int_equal(h.status, 200);
		sim_http_free(&h);
		auth = xasprintf("Bearer %s", tok);
		data_call(auth, 401, "INVALID_SESSION_ID");
		free(auth);
		bearer_works(other);
		free(other);
		free(form);
	}
	free(tok);
}

static void
test_identity(void **state)
{
	struct sim_http h;
	char *tok, *path, *idpath;
	const char *idurl, *uid = key_id("runas");
	json_t *urls;

	(void)state;
	token_request(&h, "grant_type=client_credentials&client_id=CCAPP&client_secret=cc-secret",
	    NULL);
	tok = check_grant("client credentials", &h, uid, "cc-secret");
	idurl = jstr(h.json, "id");
	idpath = xstrdup(idurl + strlen(sim.base_url));
	sim_http_free(&h);

	/* jsforce identity(): the version root names the same URL... */
	sim_http_do(&h, sim.base_url, "GET", "/services/data/v62.0/", NULL, tok, NULL);
	assert_int_equal(h.status, 200);
	path = xasprintf("%s%s", sim.base_url, idpath);
	assert_string_equal(jstr(h.json, "identity"), path);
	free(path);
	sim_http_free(&h);
	/* ...then GET <id>?format=json&oauth_token=... */
	path = xasprintf("%s?format=json&oauth_token=%s", idpath, tok);
	sim_http_do(&h, sim.base_url, "GET", path, NULL, NULL, NULL);
	free(path);
	assert_int_equal(h.status, 200);
	assert_string_equal(jstr(h.json, "user_id"), uid);
	assert_string_equal(jstr(h.json, "organization_id"), "00D5g000004SimOEAS");
	assert_string_equal(jstr(h.json, "username"), "runas@example.com");
	assert_string_equal(jstr(h.json, "display_name"), "Integration");
	assert_string_equal(jstr(h.json, "email"), "runas@example.com");
	assert_string_equal(jstr(h.json, "user_type"), "STANDARD");
	assert_true(json_is_true(json_object_get(h.json, "active")));
	assert_true(json_is_true(json_object_get(h.json, "asserted_user")));
	urls = json_object_get(h.json, "urls");
	path = xasprintf("%s/services/data/v{version}/", sim.base_url);
	assert_string_equal(jstr(urls, "rest"), path);
	free(path);
	sim_http_free(&h);

	/* The Bearer header works too, and ?version= fills the URLs in. */
	path = xasprintf("%s?version=62.0", idpath);
	sim_http_do(&h, sim.base_url, "GET", path, NULL, tok, NULL);
	free(path);
	assert_int_equal(h.status, 200);
	path = xasprintf("%s/services/data/v62.0/query/", sim.base_url);
	assert_string_equal(jstr(json_object_get(h.json, "urls"), "query"), path);
	free(path);
	sim_http_free(&h);

	/* Another user of the org, by its 15-character id; not the asserted user. */
	{
		const char *other = key_id("jwt");

		path = xasprintf("/id/" ORG15 "/%.15s", other);
		sim_http_do(&h, sim.base_url, "GET", path, NULL, tok, NULL);
		free(path);
		assert_int_equal(h.status, 200);
		assert_string_equal(jstr(h.json, "user_id"), other);
		assert_string_equal(jstr(h.json, "display_name"), "Wendy Jay");
		assert_true(json_is_false(json_object_get(h.json, "asserted_user")));
		sim_http_free(&h);
	}

	/* Refusals: plain status words, like Salesforce's identity service. */
	{
		static const struct {
			const char *path;	/* then the caller's user id if with_uid */
			int with_uid;
			const char *suffix;
			int token;		/* 0 none, 1 good, 2 bogus */
			long status;
			const char *body;
		} bad[] = {
			{ "/id/00D5g000004SimOEAS/", 1, "", 0, 403, "Missing_OAuth_Token" },
			{ "/id/00D5g000004SimOEAS/", 1, "", 2, 403, "Bad_OAuth_Token" },
			{ "/id/00D000000000001/", 1, "", 1, 403, "Wrong_Org" },
			{ "/id/00D5g000004SimOEAS/005000000000001", 0, "", 1, 404, "Bad_Id" },
			{ "/id/00D5g000004SimOEAS/notanid", 0, "", 1, 404, "Bad_Id" },
			{ "/id/00D5g000004SimOEAS", 0, "", 1, 404, "Bad_Id" },
			{ "/id/00D5g000004SimOEAS/", 1, "?version=12.0", 1, 406,
			    "Invalid_Version" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *p = xasprintf("%s%s%s", bad[i].path, bad[i].with_uid ? uid : "",
			    bad[i].suffix);

			sim_http_do(&h, sim.base_url, "GET", p, NULL, bad[i].token == 1 ? tok :
			    bad[i].token == 2 ? "00D5g000004SimO!AQbogus" : NULL, NULL);
			if (h.status != bad[i].status || strcmp(h.resp.body, bad[i].body) != 0)
				fail_msg("%s: %ld %s, want %ld %s", p, h.status, h.resp.body,
				    bad[i].status, bad[i].body);
			sim_http_free(&h);
			free(p);
		}
	}
	/* A deactivated user's identity is gone. */
	path = xasprintf("/id/00D5g000004SimOEAS/%s", key_id("gone"));
	sim_http_do(&h, sim.base_url, "GET", path, NULL, tok, NULL);
	assert_int_equal(h.status, 404);
	assert_string_equal(h.resp.body, "Inactive");
	sim_http_free(&h);
	free(path);
	free(idpath);
	free(tok);
}

/* Last: it shortens the session timeout and expires every token. */
static void
test_expiry(void **state)
{
	struct sim_http h;
	char *tok;

	(void)state;
	json_decref(ctl("/_sim/config", "{\"token_ttl_sec\":1}", 200));
	token_request(&h, "grant_type=client_credentials&client_id=CCAPP&client_secret=cc-secret",
	    NULL);
	tok = check_grant("client credentials", &h, key_id("runas"), "cc-secret");
	sim_http_free(&h);
	/* Whole seconds: the token may live until the end of the next second. */
	sleep(2);
	{
		char *auth = xasprintf("Bearer %s", tok);

		data_call(auth, 401, "INVALID_SESSION_ID");
		free(auth);
	}
	free(tok);
	/* Back to two hours: a new token works, until the control API expires them all. */
	json_decref(ctl("/_sim/config", "{\"token_ttl_sec\":7200}", 200));
	token_request(&h, "grant_type=client_credentials&client_id=CCAPP&client_secret=cc-secret",
	    NULL);
	tok = check_grant("client credentials", &h, key_id("runas"), "cc-secret");
	sim_http_free(&h);
	bearer_works(tok);
	json_decref(ctl("/_sim/expire-tokens", "{}", 200));
	{
		char *auth = xasprintf("Bearer %s", tok);

		data_call(auth, 401, "INVALID_SESSION_ID");
		free(auth);
	}
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_bearer),
		cmocka_unit_test(test_client_credentials),
		cmocka_unit_test(test_refresh_token),
		cmocka_unit_test(test_grant_type_and_format),
		cmocka_unit_test(test_data_call_headers),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_expiry),
	};

	return sim_proc_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
