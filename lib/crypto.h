/* crypto.h: the few cryptographic primitives olsync needs, on OpenSSL 3 libcrypto: random tokens,
 * SHA-1/SHA-256, HMAC-SHA256, constant-time comparison, RSA keys and certificates from PEM, and
 * the certificate thumbprints that Entra client assertions carry (x5t, x5t#S256). */
#ifndef OL_CRYPTO_H
#define OL_CRYPTO_H

#include <stddef.h>

#include <openssl/types.h>

#define CRYPTO_SHA1_LEN		20
#define CRYPTO_SHA256_LEN	32
#define CRYPTO_MAX_PEM		(1024 * 1024)	/* larger key or certificate files are refused */

/* Fills buf from the OpenSSL CSPRNG; aborts if it cannot (there is no safe fallback). */
void crypto_random_bytes(void *buf, size_t len);
/* 2 * nbytes lowercase hex characters of fresh randomness. Caller frees. */
char *crypto_random_hex(size_t nbytes);
/* n characters drawn uniformly from [0-9A-Za-z] (about 5.95 bits each). Caller frees. */
char *crypto_random_token(size_t n);

void crypto_sha1(const void *data, size_t len, unsigned char out[CRYPTO_SHA1_LEN]);
void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[CRYPTO_SHA256_LEN]);

/* 1 if the len bytes at a and b are equal, else 0, in time independent of the contents. */
int crypto_memeq(const void *a, const void *b, size_t len);
/* 1 if the strings are equal, else 0. Only the lengths may leak through timing, never the
 * position of the first difference: use it for secrets, signatures and tokens. */
int crypto_streq(const char *a, const char *b);

/* Private key from PEM text (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"; other PEM blocks
 * such as a certificate in the same file are skipped). Encrypted keys are refused rather than
 * prompting for a passphrase. NULL with a message in err on failure. Caller frees the key with
 * EVP_PKEY_free. */
EVP_PKEY *crypto_privkey_load_pem(const char *pem, char *err, size_t errlen);
EVP_PKEY *crypto_privkey_load_file(const char *path, char *err, size_t errlen);

/* Public key from the first "CERTIFICATE", "PUBLIC KEY" or "RSA PUBLIC KEY" block of the PEM
 * text (other blocks are skipped). NULL with a message in err on failure. Caller frees the key
 * with EVP_PKEY_free. */
EVP_PKEY *crypto_pubkey_load_pem(const char *pem, char *err, size_t errlen);
EVP_PKEY *crypto_pubkey_load_file(const char *path, char *err, size_t errlen);

/* The first "CERTIFICATE" block of the PEM text. NULL with a message in err on failure. Caller
 * frees with X509_free. */
X509 *crypto_cert_load_pem(const char *pem, char *err, size_t errlen);
X509 *crypto_cert_load_file(const char *path, char *err, size_t errlen);

/* base64url (unpadded) SHA-1 of the certificate's DER: the JWS "x5t" header. Caller frees. */
char *crypto_cert_x5t(const X509 *cert);
/* base64url (unpadded) SHA-256 of the certificate's DER: the JWS "x5t#S256" header. Caller frees. */
char *crypto_cert_x5t_s256(const X509 *cert);

/* Reads a whole PEM (text) file of at most CRYPTO_MAX_PEM bytes into a NUL-terminated string.
 * NULL with "path: reason" in err on failure. Caller frees. */
char *crypto_read_pem_file(const char *path, char *err, size_t errlen);

#endif
