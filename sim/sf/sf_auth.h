/* sf_auth.h: sf-sim's OAuth 2.0 token endpoint (JWT bearer, refresh token, client credentials),
 * the identity URL, and access-token checks on data calls. Connected apps and their settings
 * are rows of sim_app (seeded as "ConnectedApp" records, docs/sf-sim.md).
 *
 * sim_app as sf_auth reads it: admin_approved=1 ("Admin approved users are pre-authorized")
 * admits only the usernames in preauthorized (a JSON array; NULL admits everyone), others get
 * invalid_app_access; admin_approved=0 ("All users may self-authorize") treats preauthorized as
 * the users who approved the app, others get "user hasn't approved this consumer" from the JWT
 * flow. sim_token and the time columns are in seconds since the epoch; an access token dies at
 * expires_at or at issued_at + the current token_ttl_sec, whichever comes first. */
#ifndef SF_AUTH_H
#define SF_AUTH_H

#include <stddef.h>
#include <time.h>

#include "httpd.h"
#include "sf_error.h"
#include "sf_sim.h"

#define SF_AUTH_JWT_MAX_AHEAD	180	/* Salesforce: "exp within 3 minutes" of now */
#define SF_AUTH_JWT_SKEW	5	/* seconds of clock skew forgiven on exp */
#define SF_AUTH_MAX_FORM	32	/* token request parameters read; more are ignored */

/* A token endpoint error: {"error":..,"error_description":..}. Both point to static strings. */
struct sf_oauth_error {
	const char *error;
	const char *description;
};

/* POST /services/oauth2/token. Called with sim->lock held. */
void sf_auth_token(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp);

/* POST (or GET) /services/oauth2/revoke with token=<access or refresh token>: 200 and the token
 * is dead (a refresh token takes its app's sessions of that user along); 400
 * unsupported_token_type for a token sf-sim never issued. Called with sim->lock held. */
void sf_auth_revoke(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp);

/* GET /id/{orgId}/{userId} (the "id" URL of a token response). Called with sim->lock held. */
void sf_auth_identity(struct sf_sim *sim, struct httpd_request *req, struct httpd_response *resp);

/* Checks "Authorization: Bearer <token>" (or "OAuth <token>"; authorization may be NULL):
 * 401 INVALID_AUTH_HEADER "INVALID_HEADER_TYPE" for another scheme, 401 INVALID_SESSION_ID
 * "Session expired or invalid" when the header is missing, or the token is unknown, expired or
 * its user inactive. On success writes the token's user id. Called with sim->lock held. */
int sf_auth_check(struct sf_sim *sim, const char *authorization, char user_id[19],
    struct sf_error *err);

/* Mints an access token for user_id (used by the token endpoint and by /_sim/token for tests);
 * consumer_key and scope may be NULL. Caller frees. Called with sim->lock held. */
char *sf_auth_mint(struct sf_sim *sim, const char *user_id, const char *consumer_key,
    const char *scope);

/* Issues a refresh token for user_id and the app consumer_key (which must exist), as the
 * web-server flow would, so tests can drive grant_type=refresh_token (POST /_sim/token with
 * {"refresh":true,"consumer_key":..}). NULL if the app is unknown. Caller frees. Called with
 * sim->lock held. */
char *sf_auth_issue_refresh(struct sf_sim *sim, const char *user_id, const char *consumer_key);

/* The pieces below are pure functions, exposed for the unit tests. */

/* The token of "Bearer <token>" or "OAuth <token>" (scheme case-insensitive), borrowed from
 * authorization; "" when the scheme is right but the token is empty; NULL for anything else. */
const char *sf_auth_bearer(const char *authorization);

/* The token response "signature": base64(HMAC-SHA256(key=secret, msg=id+issued_at)). Caller
 * frees. */
char *sf_auth_signature(const char *secret, const char *id_url, const char *issued_at);

/* The "iss" of a JWT bearer assertion, read without trusting it (to find the connected app
 * whose certificate verifies it): 0, or -1 with e set (invalid_grant "invalid assertion" for a
 * malformed token, invalid_client_id when iss is missing). */
int sf_auth_jwt_issuer(const char *assertion, char *iss, size_t isslen,
    struct sf_oauth_error *e);

/* Applies Salesforce's JWT bearer rules except those about the app and the user: RS256 only,
 * signature by cert_pem's key, aud one of https://login.salesforce.com,
 * https://test.salesforce.com or instance_url (the sim's own My Domain URL), exp present, not
 * past (SF_AUTH_JWT_SKEW) and at most SF_AUTH_JWT_MAX_AHEAD ahead of now. On success writes
 * the username ("prn" if present, else "sub") and returns 0; else -1 with e set. */
int sf_auth_jwt_verify(const char *assertion, const char *cert_pem, const char *instance_url,
    time_t now, char *username, size_t usernamelen, struct sf_oauth_error *e);

#endif
