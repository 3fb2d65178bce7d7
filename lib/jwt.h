/* jwt.h: compact JWS tokens (RFC 7515/7519) signed with RS256 or PS256: the daemon signs Salesforce
 * JWT-bearer and Entra client assertions, the emulators verify those and mint their own tokens.
 * Only the signature and the time claims are checked here; aud/iss/sub policy is the caller's. */
#ifndef OL_JWT_H
#define OL_JWT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/types.h>

#define JWT_MAX_LEN		(16 * 1024)	/* longer tokens are refused unread */
#define JWT_MIN_RSA_BITS	2048		/* smaller RSA keys are refused for signing and verifying */

/* Supported algorithms; values are bits so a set of allowed ones fits in an unsigned mask. */
enum jwt_alg {
	JWT_ALG_RS256 = 1 << 0,		/* RSASSA-PKCS1-v1_5 with SHA-256 */
	JWT_ALG_PS256 = 1 << 1,		/* RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt */
};
#define JWT_ALGS_ALL	(JWT_ALG_RS256 | JWT_ALG_PS256)

/* A decoded token. Both JSON objects are owned by the struct: release with jwt_free. */
struct jwt {
	enum jwt_alg	 alg;		/* 0 if jwt_decode met an alg we do not support */
	json_t		*header;
	json_t		*claims;
};

/* "RS256" / "PS256", or NULL for anything else. */
const char *jwt_alg_name(enum jwt_alg alg);
/* The alg for a JWS "alg" name, or 0 if unsupported (including "none" and HS*). */
enum jwt_alg jwt_alg_parse(const char *name);

/* Signs claims (a JSON object) into a compact JWS. The header is {"alg":..,"typ":"JWT"} plus
 * the members of header_extra (a JSON object or NULL; it may override "typ" and add "x5t",
 * "x5t#S256", "kid", but may not set "alg"). key is an RSA private key of at least
 * JWT_MIN_RSA_BITS. Returns the token, caller frees; NULL with a message in err on failure. */
char *jwt_sign(enum jwt_alg alg, EVP_PKEY *key, const char *header_extra_json,
    const char *claims_json, char *err, size_t errlen);
/* Same with jansson values; both are borrowed, not stolen. */
char *jwt_sign_json(enum jwt_alg alg, EVP_PKEY *key, const json_t *header_extra,
    const json_t *claims, char *err, size_t errlen);
/* The base64url signature of an already built signing input "b64(header).b64(claims)" (for
 * fixed test vectors and callers that serialise JSON themselves). Caller frees; NULL with a
 * message in err on failure. */
char *jwt_sign_input(enum jwt_alg alg, EVP_PKEY *key, const char *input, size_t len,
    char *err, size_t errlen);

/* Splits and decodes token WITHOUT checking the signature: for diagnostics only (what roles or
 * scp does this token carry), never for trust decisions. The signature segment may be empty.
 * 0 and *out filled (caller calls jwt_free), or -1 with a message in err and *out zeroed. */
int jwt_decode(const char *token, struct jwt *out, char *err, size_t errlen);

/* Verifies token with the RSA public key: the header "alg" must be one of the bits in
 * allowed_algs ("none", HS* and unknown algs are always refused), a "crit" header is refused,
 * the signature must match, and header and claims must be JSON objects. Does not look at any
 * claim: call jwt_check_times and apply the caller's aud/iss/sub policy next.
 * 0 and *out filled (caller calls jwt_free), or -1 with a message in err and *out zeroed. */
int jwt_verify(const char *token, EVP_PKEY *key, unsigned allowed_algs, struct jwt *out,
    char *err, size_t errlen);

/* Releases header and claims and zeroes *t; safe on a zeroed or already freed struct. */
void jwt_free(struct jwt *t);

/* Requires "exp" (a NumericDate) with now < exp + leeway, and if "nbf" is present,
 * now + leeway >= nbf. "iat" is not checked. 0, or -1 with a message in err. */
int jwt_check_times(const struct jwt *t, time_t now, int leeway, char *err, size_t errlen);

/* Claim or header member as a string; borrowed until jwt_free. NULL if absent or not a string. */
const char *jwt_claim_str(const struct jwt *t, const char *name);
const char *jwt_header_str(const struct jwt *t, const char *name);
/* Claim as an integer: JSON integers, and reals rounded down (NumericDate may carry a
 * fraction). 0 and *out set, or -1 if absent, not a number or out of range. */
int jwt_claim_int(const struct jwt *t, const char *name, long long *out);
/* 1 if the claim is the string value or an array holding it (the shapes "aud" and "roles"
 * take), else 0. */
int jwt_claim_has(const struct jwt *t, const char *name, const char *value);

#endif
