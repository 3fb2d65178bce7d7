/* jwt.c: compact JWS signing, decoding and verification with RS256 and PS256 (see jwt.h). */
#include "jwt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "log.h"
#include "xmalloc.h"

/* The segments of a token, pointing into it: header.claims.signature. */
struct segments {
	const char	*header;
	size_t		 header_len;
	const char	*claims;
	size_t		 claims_len;
	const char	*sig;
	size_t		 sig_len;
};

const char *
jwt_alg_name(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_RS256:
		return "RS256";
	case JWT_ALG_PS256:
		return "PS256";
	}
	return NULL;
}

enum jwt_alg
jwt_alg_parse(const char *name)
{
	if (strcmp(name, "RS256") == 0)
		return JWT_ALG_RS256;
	if (strcmp(name, "PS256") == 0)
		return JWT_ALG_PS256;
	return 0;
}

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s: %s", what, reason ? reason : "unknown OpenSSL error");
	ERR_clear_error();
}

static int
check_key(EVP_PKEY *key, char *err, size_t errlen)
{
	if (key == NULL || !EVP_PKEY_is_a(key, "RSA")) {
		snprintf(err, errlen, "key is not an RSA key");
		return -1;
	}
	if (EVP_PKEY_get_bits(key) < JWT_MIN_RSA_BITS) {
		snprintf(err, errlen, "RSA key has %d bits, at least %d required",
		    EVP_PKEY_get_bits(key), JWT_MIN_RSA_BITS);
		return -1;
	}
	return 0;
}

/* Sets the padding the alg calls for; PS256 per RFC 7518 §3.5: MGF1 with SHA-256, salt as long
 * as the hash. */
static int
set_padding(EVP_PKEY_CTX *pctx, enum jwt_alg alg)
{
	if (alg == JWT_ALG_RS256)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 ? 0 : -1;
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
		return -1;
	return 0;
}

char *
jwt_sign_input(enum jwt_alg alg, EVP_PKEY *key, const char *input, size_t len,
    char *err, size_t errlen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *result = NULL;

	if (jwt_alg_name(alg) == NULL) {
		snprintf(err, errlen, "cannot sign with alg %d: only RS256 and PS256", (int)alg);
		return NULL;
	}
	if (check_key(key, err, errlen) < 0)
		return NULL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("jwt: EVP_MD_CTX_new failed");
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    set_padding(pctx, alg) < 0) {
		ssl_err(err, errlen, "cannot set up signing");
		goto out;
	}
	if (EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, len) != 1) {
		ssl_err(err, errlen, "cannot sign");
		goto out;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, len) != 1) {
		ssl_err(err, errlen, "cannot sign");
		goto out;
	}
	result = b64url_encode(sig, siglen);
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return result;
}

static char *
encode_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	char *enc;

	if (text == NULL)
		fatalx("jwt: json_dumps failed");
	enc = b64url_encode(text, strlen(text));
	free(text);
	return enc;
}

char *
jwt_sign_json(enum jwt_alg alg, EVP_PKEY *key, const json_t *header_extra,
    const json_t *claims, char *err, size_t errlen)
{
	json_t *header = NULL;
	char *h = NULL, *c = NULL, *input = NULL, *sig = NULL, *token = NULL;

	if (jwt_alg_name(alg) == NULL) {
		snprintf(err, errlen, "cannot sign with alg %d: only RS256 and PS256", (int)alg);
		goto out;
	}
	if (!json_is_object(claims)) {
		snprintf(err, errlen, "claims must be a JSON object");
		goto out;
	}
	header = json_pack("{s:s, s:s}", "alg", jwt_alg_name(alg), "typ", "JWT");
	if (header == NULL)
		fatalx("jwt: json_pack failed");
	if (header_extra != NULL) {
		if (!json_is_object(header_extra)) {
			snprintf(err, errlen, "extra header must be a JSON object");
			goto out;
		}
		if (json_object_get(header_extra, "alg") != NULL) {
			snprintf(err, errlen, "extra header may not set alg");
			goto out;
		}
		/* json_object_update takes a non-const source but does not modify it. */
		if (json_object_update(header, (json_t *)header_extra) != 0)
			fatalx("jwt: json_object_update failed");
	}
	h = encode_json(header);
	c = encode_json(claims);
	input = xasprintf("%s.%s", h, c);
	if ((sig = jwt_sign_input(alg, key, input, strlen(input), err, errlen)) == NULL)
		goto out;
	token = xasprintf("%s.%s", input, sig);
	if (strlen(token) > JWT_MAX_LEN) {
		snprintf(err, errlen, "token of %zu bytes exceeds the %d-byte limit",
		    strlen(token), JWT_MAX_LEN);
		free(token);
		token = NULL;
	}
out:
	json_decref(header);
	free(h);
	free(c);
	free(input);
	free(sig);
	return token;
}

static json_t *
load_object(const char *text, const char *what, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	if ((v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "%s is not valid JSON: %s", what, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s is not a JSON object", what);
		json_decref(v);
		return NULL;
	}
	return v;
}

char *
jwt_sign(enum jwt_alg alg, EVP_PKEY *key, const char *header_extra_json,
    const char *claims_json, char *err, size_t errlen)
{
	json_t *extra = NULL, *claims = NULL;
	char *token = NULL;

	if (header_extra_json != NULL &&
	    (extra = load_object(header_extra_json, "extra header", err, errlen)) == NULL)
		goto out;
	if ((claims = load_object(claims_json, "claims", err, errlen)) == NULL)
		goto out;
	token = jwt_sign_json(alg, key, extra, claims, err, errlen);
out:
	json_decref(extra);
	json_decref(claims);
	return token;
}

static int
split(const char *token, struct segments *s, char *err, size_t errlen)
{
	size_t len = strnlen(token, JWT_MAX_LEN + 1);
	const char *d1, *d2, *end = token + len;

	if (len > JWT_MAX_LEN) {
		snprintf(err, errlen, "malformed token: longer than %d bytes", JWT_MAX_LEN);
		return -1;
	}
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL) {
		snprintf(err, errlen, "malformed token: not three dot-separated segments");
		return -1;
	}
	s->header = token;
	s->header_len = (size_t)(d1 - token);
	s->claims = d1 + 1;
	s->claims_len = (size_t)(d2 - d1 - 1);
	s->sig = d2 + 1;
	s->sig_len = (size_t)(end - d2 - 1);
	if (s->header_len == 0 || s->claims_len == 0) {
		snprintf(err, errlen, "malformed token: empty %s segment",
		    s->header_len == 0 ? "header" : "claims");
		return -1;
	}
	return 0;
}

/* Decodes one base64url segment holding a JSON object. */
static json_t *
segment_json(const char *seg, size_t len, const char *what, char *err, size_t errlen)
{
	unsigned char *raw;
	size_t rawlen;
	json_error_t jerr;
	json_t *v;

	if (b64url_decode(seg, len, &raw, &rawlen) < 0) {
		snprintf(err, errlen, "malformed token: %s is not base64url", what);
		return NULL;
	}
	/* No JSON_ALLOW_NUL: a NUL inside a string would let two readers see different claims. */
	v = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (v == NULL) {
		snprintf(err, errlen, "malformed token: %s is not valid JSON: %s", what, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		snprintf(err, errlen, "malformed token: %s is not a JSON object", what);
		json_decref(v);
		return NULL;
	}
	return v;
}

int
jwt_decode(const char *token, struct jwt *out, char *err, size_t errlen)
{
	struct segments s;
	const char *alg;

	memset(out, 0, sizeof(*out));
	if (split(token, &s, err, errlen) < 0)
		return -1;
	if ((out->header = segment_json(s.header, s.header_len, "header", err, errlen)) == NULL)
		goto fail;
	if ((out->claims = segment_json(s.claims, s.claims_len, "claims", err, errlen)) == NULL)
		goto fail;
	if ((alg = json_string_value(json_object_get(out->header, "alg"))) != NULL)
		out->alg = jwt_alg_parse(alg);
	return 0;
fail:
	jwt_free(out);
	return -1;
}

/* The peer's alg name is quoted in errors that end up in logs: keep it short and printable. */
static int
printable(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 32 || s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* Why an alg is refused, for the error message. */
static const char *
alg_refusal(const char *alg, unsigned allowed)
{
	enum jwt_alg a = jwt_alg_parse(alg);

	if (a != 0 && (allowed & a) == 0)
		return "not allowed here";
	if (strcmp(alg, "none") == 0)
		return "unsigned tokens are refused";
	if (strncmp(alg, "HS", 2) == 0)
		return "symmetric algs are refused";
	if (a == 0)
		return "unsupported";
	return NULL;
}

static int
verify_sig(enum jwt_alg alg, EVP_PKEY *key, const struct segments *s, char *err, size_t errlen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc, result = -1;

	if (s->sig_len == 0) {
		snprintf(err, errlen, "malformed token: empty signature");
		return -1;
	}
	if (b64url_decode(s->sig, s->sig_len, &sig, &siglen) < 0) {
		snprintf(err, errlen, "malformed token: signature is not base64url");
		return -1;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("jwt: EVP_MD_CTX_new failed");
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    set_padding(pctx, alg) < 0) {
		ssl_err(err, errlen, "cannot set up verification");
		goto out;
	}
	/* The signed bytes are the token's own header.claims text, not a re-encoding. */
	rc = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)s->header,
	    s->header_len + 1 + s->claims_len);
	ERR_clear_error();
	if (rc != 1) {
		snprintf(err, errlen, "bad signature");
		goto out;
	}
	result = 0;
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return result;
}

int
jwt_verify(const char *token, EVP_PKEY *key, unsigned allowed_algs, struct jwt *out,
    char *err, size_t errlen)
{
	struct segments s;
	const char *alg, *why;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (split(token, &s, err, errlen) < 0)
		return -1;
	if ((out->header = segment_json(s.header, s.header_len, "header", err, errlen)) == NULL)
		goto fail;
	v = json_object_get(out->header, "alg");
	if ((alg = json_string_value(v)) == NULL) {
		snprintf(err, errlen, "malformed token: header has no alg string");
		goto fail;
	}
	if ((why = alg_refusal(alg, allowed_algs)) != NULL) {
		snprintf(err, errlen, "alg %s refused: %s", printable(alg) ? alg : "(garbled)",
		    why);
		goto fail;
	}
	out->alg = jwt_alg_parse(alg);
	/* RFC 7515 §4.1.11: extensions we do not implement must make the token invalid. */
	if (json_object_get(out->header, "crit") != NULL) {
		snprintf(err, errlen, "header crit is not supported");
		goto fail;
	}
	if (check_key(key, err, errlen) < 0)
		goto fail;
	if (verify_sig(out->alg, key, &s, err, errlen) < 0)
		goto fail;
	if ((out->claims = segment_json(s.claims, s.claims_len, "claims", err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	jwt_free(out);
	return -1;
}

void
jwt_free(struct jwt *t)
{
	if (t == NULL)
		return;
	json_decref(t->header);
	json_decref(t->claims);
	memset(t, 0, sizeof(*t));
}

/* The NumericDate in v; -1 if v is not a usable number. */
static int
numeric_date(const json_t *v, long long *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = floor(json_real_value(v));
	/* 2^62 keeps later "+ leeway" arithmetic far from overflow. */
	if (!isfinite(d) || d > 4611686018427387904.0 || d < -4611686018427387904.0)
		return -1;
	*out = (long long)d;
	return 0;
}

int
jwt_check_times(const struct jwt *t, time_t now, int leeway, char *err, size_t errlen)
{
	json_t *v;
	long long exp, nbf, n = (long long)now;

	if (leeway < 0)
		leeway = 0;
	if ((v = json_object_get(t->claims, "exp")) == NULL) {
		snprintf(err, errlen, "token has no exp claim");
		return -1;
	}
	if (numeric_date(v, &exp) < 0 || exp > (1LL << 62) || exp < -(1LL << 62)) {
		snprintf(err, errlen, "token exp is not a NumericDate");
		return -1;
	}
	if (n >= exp + leeway) {
		snprintf(err, errlen, "token expired: exp=%lld now=%lld", exp, n);
		return -1;
	}
	if ((v = json_object_get(t->claims, "nbf")) != NULL) {
		if (numeric_date(v, &nbf) < 0 || nbf > (1LL << 62) || nbf < -(1LL << 62)) {
			snprintf(err, errlen, "token nbf is not a NumericDate");
			return -1;
		}
		if (n + leeway < nbf) {
			snprintf(err, errlen, "token not yet valid: nbf=%lld now=%lld", nbf, n);
			return -1;
		}
	}
	return 0;
}

const char *
jwt_claim_str(const struct jwt *t, const char *name)
{
	return json_string_value(json_object_get(t->claims, name));
}

const char *
jwt_header_str(const struct jwt *t, const char *name)
{
	return json_string_value(json_object_get(t->header, name));
}

int
jwt_claim_int(const struct jwt *t, const char *name, long long *out)
{
	return numeric_date(json_object_get(t->claims, name), out);
}

int
jwt_claim_has(const struct jwt *t, const char *name, const char *value)
{
	json_t *v = json_object_get(t->claims, name), *item;
	size_t i;

	if (json_is_string(v))
		return strcmp(json_string_value(v), value) == 0;
	json_array_foreach(v, i, item) {
		if (json_is_string(item) && strcmp(json_string_value(item), value) == 0)
			return 1;
	}
	return 0;
}
