/* graph_auth.h: the Microsoft identity platform as graph-sim serves it: the v2.0 token endpoint
 * (client credentials with a secret or a certificate assertion), OpenID discovery and signing
 * keys, and the check of Graph access tokens on every /v1.0 call. */
#ifndef GRAPH_AUTH_H
#define GRAPH_AUTH_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "graph_sim.h"
#include "httpd.h"

/* Loads the signing key from g_key or makes one (RSA 2048 + self-signed certificate) on first
 * start; sets sim->signing_key, kid, signing_cert_pem. -1 with err. */
int graph_auth_init(struct graph_sim *sim, char *err, size_t errlen);

/* Paths under "/{tenant}/..." and "/common/...": POST oauth2/v2.0/token,
 * GET v2.0/.well-known/openid-configuration, GET discovery/v2.0/keys (and the v1
 * discovery/keys), GET /common/discovery/instance. {tenant} is the sim's id or domain,
 * organizations, common or consumers (the last two refuse client credentials, as Entra does).
 * Returns 0 when the path was one of them (resp filled), -1 when it is not an identity path.
 * Called with sim->lock held. */
int graph_auth_handle(struct graph_sim *sim, struct httpd_request *req,
    struct httpd_response *resp);

/* Checks the Authorization header of a /v1.0 call: 401 InvalidAuthenticationToken ("Access token
 * is empty.", "Lifetime validation failed, the token is expired.", "Access token validation
 * failure. Invalid audience.", "CompactToken parsing/validation failed ...") in reply, returning
 * NULL; or the token's claims (caller json_decref's them after the call) with req->app_id,
 * req->roles and req->scp set (borrowed from the claims). Called with sim->lock held. */
json_t *graph_auth_check(struct graph_sim *sim, const char *authorization, struct graph_req *req,
    struct graph_reply *reply);

/* Mints an app-only access token for client_id as the token endpoint would (for /_sim/token),
 * with appidacr "1". A disabled app gets one too, so tests can show Graph refusing it.
 * Caller frees. NULL if the app is unknown. */
char *graph_auth_mint(struct graph_sim *sim, const char *client_id);

/* The pieces below are pure functions (no store, no clock), exposed for the unit tests. */

#define GRAPH_AUTH_MAX_FORM	32	/* token request parameters read; more are ignored */
#define GRAPH_AUTH_SKEW		300	/* seconds of clock skew forgiven on assertion times */
#define GRAPH_RESOURCE		"https://graph.microsoft.com"
#define GRAPH_RESOURCE_ID	"00000003-0000-0000-c000-000000000000"

/* A refusal of the token endpoint; graph_auth_error_body turns it into Entra's JSON. */
struct graph_auth_error {
	int status;			/* 400, or 401 for invalid_client */
	const char *error;		/* OAuth error ("invalid_client"), static */
	long code;			/* AADSTS number */
	char message[1024];		/* the text after "AADSTSnnnn: " */
};

/* Entra's error body: {"error","error_description":"AADSTSn: message\r\nTrace ID: ..\r\n
 * Correlation ID: ..\r\nTimestamp: 2024-05-24 12:52:15Z","error_codes":[n],"timestamp",
 * "trace_id","correlation_id","error_uri"}. Caller owns the result. */
json_t *graph_auth_error_body(const struct graph_auth_error *e, const char *trace_id,
    const char *correlation_id, time_t now);

/* The token of "Bearer <token>" (scheme case-insensitive), borrowed from authorization; "" for
 * a bearer header without a token; NULL for no header or another scheme. */
const char *graph_auth_bearer(const char *authorization);

/* Checks the scope of a client-credentials request: 0 when it is Graph's "/.default" (by URI
 * or by app id), else -1 with e set (90014 missing, 1002012 no "/.default", 70011 several or no
 * resource, 500011 a resource other than Graph; tenant names the tenant in that message). */
int graph_auth_scope_check(const char *scope, const char *tenant, struct graph_auth_error *e);

/* A certificate client assertion and what it is checked against. */
struct graph_auth_assertion {
	const char *client_id;		/* the request's client_id */
	const char *cert_pem;		/* the app's registered certificate, or NULL */
	const char *tenant_id;
	const char *tenant_domain;
	const char *base_url;		/* the sim's own token URL is an accepted aud too */
	double now;
	/* set on success, for the caller's replay check */
	char jti[128];			/* "" when the assertion has none */
	long long exp;
};

/* Entra's checks of a client assertion: RS256 or PS256 signed by the registered certificate's
 * key, named by its "x5t" (SHA-1) and/or "x5t#S256" thumbprint; aud the tenant's v2.0 (or v1)
 * token URL on login.microsoftonline.com or on base_url; iss = sub = client id; exp and nbf
 * within GRAPH_AUTH_SKEW. 0 with a->jti and a->exp set, or -1 with e set (50027 malformed,
 * 700027 key not registered or bad signature, 700023 audience, 700021 issuer/subject, 700024
 * time range). */
int graph_auth_assertion_check(const char *assertion, struct graph_auth_assertion *a,
    struct graph_auth_error *e);

/* Graph's check of an access token without the store: signature by key (RS256), aud Graph
 * (URI or app id), iss and tid of tenant_id, not expired at now. Returns the claims (caller
 * json_decref's) or NULL with *message set to Graph's 401 text (static). */
json_t *graph_auth_token_verify(EVP_PKEY *key, const char *tenant_id, const char *token,
    time_t now, const char **message);

#endif
