/* crypto.c: random tokens, digests, HMAC, key and certificate loading on OpenSSL 3 (see crypto.h).
 * Only EVP and PEM/X509 calls: the RSA_* API is deprecated in OpenSSL 3. */
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "b64.h"
#include "log.h"
#include "xmalloc.h"

static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Puts "what: <first OpenSSL error>" in err and empties the thread's OpenSSL error queue, so a
 * stale entry cannot be reported by an unrelated later call. */
static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, reason ? reason : "unknown OpenSSL error");
	ERR_clear_error();
}

void
crypto_random_bytes(void *buf, size_t len)
{
	while (len > 0) {
		int n = len > 1 << 20 ? 1 << 20 : (int)len;

		if (RAND_bytes(buf, n) != 1)
			fatalx("crypto: RAND_bytes failed");
		buf = (unsigned char *)buf + n;
		len -= (size_t)n;
	}
}

char *
crypto_random_hex(size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *raw = xmalloc(nbytes);
	char *out = xmalloc(2 * nbytes + 1);
	size_t i;

	crypto_random_bytes(raw, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(raw, nbytes);
	free(raw);
	return out;
}

char *
crypto_random_token(size_t n)
{
	char *out = xmalloc(n + 1);
	unsigned char buf[64];
	size_t have = 0, used = 0, i = 0;

	/* Rejection sampling: bytes >= 248 (4 * 62) would bias the first characters. */
	while (i < n) {
		if (used == have) {
			crypto_random_bytes(buf, sizeof(buf));
			have = sizeof(buf);
			used = 0;
		}
		if (buf[used] < 248)
			out[i++] = base62[buf[used] % 62];
		used++;
	}
	out[n] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return out;
}

static void
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
	if (EVP_Digest(data, len, out, NULL, md, NULL) != 1)
		fatalx("crypto: EVP_Digest %s failed", EVP_MD_get0_name(md));
}

void
crypto_sha1(const void *data, size_t len, unsigned char out[CRYPTO_SHA1_LEN])
{
	digest(EVP_sha1(), data, len, out);
}

void
crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	digest(EVP_sha256(), data, len, out);
}

void
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	static const unsigned char nokey;
	size_t outlen = 0;

	/* EVP_Q_mac refuses a NULL key even when keylen is 0; HMAC with an empty key is defined. */
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, keylen ? key : &nokey, keylen,
	    msg, msglen, out, CRYPTO_SHA256_LEN, &outlen) == NULL || outlen != CRYPTO_SHA256_LEN)
		fatalx("crypto: HMAC-SHA256 failed");
}

int
crypto_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int
crypto_streq(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);

	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

char *
crypto_read_pem_file(const char *path, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, cap = 4096, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			if (cap > CRYPTO_MAX_PEM) {
				snprintf(err, errlen, "%s: larger than %d bytes", path,
				    CRYPTO_MAX_PEM);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - 1 - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (len > CRYPTO_MAX_PEM) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CRYPTO_MAX_PEM);
		goto fail;
	}
	fclose(fp);
	buf[len] = '\0';
	return buf;
fail:
	fclose(fp);
	OPENSSL_cleanse(buf, cap);
	free(buf);
	return NULL;
}

/* Passphrase callback that declines: without it OpenSSL would prompt on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static BIO *
mem_bio(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);

	if (bio == NULL)
		fatalx("crypto: BIO_new_mem_buf failed");
	return bio;
}

EVP_PKEY *
crypto_privkey_load_pem(const char *pem, char *err, size_t errlen)
{
	BIO *bio;
	EVP_PKEY *key;

	if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL) {
		snprintf(err, errlen, "private key: encrypted keys are not supported");
		return NULL;
	}
	bio = mem_bio(pem);
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL)
		ssl_err(err, errlen, "private key: no usable PEM private key");
	return key;
}

static int
is_cert(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
	    strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

static int
is_public(const char *name)
{
	return is_cert(name) || strcmp(name, PEM_STRING_PUBLIC) == 0 ||
	    strcmp(name, PEM_STRING_RSA_PUBLIC) == 0;
}

/* Finds the first PEM block whose type satisfies match. Returns 0 with the block's type and DER
 * (both freed by the caller with OPENSSL_free), or -1 with a message in err. */
static int
pem_find(const char *pem, int (*match)(const char *), const char *what, char **name,
    unsigned char **der, long *derlen, char *err, size_t errlen)
{
	BIO *bio = mem_bio(pem);
	char *header = NULL;
	int found = 0;

	while (PEM_read_bio(bio, name, &header, der, derlen) == 1) {
		OPENSSL_free(header);
		header = NULL;
		if (match(*name)) {
			found = 1;
			break;
		}
		OPENSSL_free(*name);
		OPENSSL_cleanse(*der, (size_t)*derlen);
		OPENSSL_free(*der);
		*name = NULL;
		*der = NULL;
	}
	BIO_free(bio);
	ERR_clear_error();	/* the loop always ends on "no start line" unless found */
	if (!found) {
		snprintf(err, errlen, "%s: no PEM block of a usable type", what);
		return -1;
	}
	return 0;
}

EVP_PKEY *
crypto_pubkey_load_pem(const char *pem, char *err, size_t errlen)
{
	char *name = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long derlen = 0;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	if (pem_find(pem, is_public, "public key", &name, &der, &derlen, err, errlen) < 0)
		return NULL;
	p = der;
	if (is_cert(name)) {
		if ((cert = d2i_X509(NULL, &p, derlen)) == NULL) {
			ssl_err(err, errlen, "public key: bad certificate");
			goto out;
		}
		if ((key = X509_get_pubkey(cert)) == NULL)
			ssl_err(err, errlen, "public key: certificate key not usable");
	} else if (strcmp(name, PEM_STRING_PUBLIC) == 0) {
		if ((key = d2i_PUBKEY(NULL, &p, derlen)) == NULL)
			ssl_err(err, errlen, "public key: bad PUBLIC KEY block");
	} else {
		if ((key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, derlen)) == NULL)
			ssl_err(err, errlen, "public key: bad RSA PUBLIC KEY block");
	}
out:
	X509_free(cert);
	OPENSSL_free(name);
	OPENSSL_free(der);
	return key;
}

X509 *
crypto_cert_load_pem(const char *pem, char *err, size_t errlen)
{
	char *name = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long derlen = 0;
	X509 *cert;

	if (pem_find(pem, is_cert, "certificate", &name, &der, &derlen, err, errlen) < 0)
		return NULL;
	p = der;
	if ((cert = d2i_X509(NULL, &p, derlen)) == NULL)
		ssl_err(err, errlen, "certificate: bad CERTIFICATE block");
	OPENSSL_free(name);
	OPENSSL_free(der);
	return cert;
}

EVP_PKEY *
crypto_privkey_load_file(const char *path, char *err, size_t errlen)
{
	char *pem, sub[256];
	EVP_PKEY *key;

	if ((pem = crypto_read_pem_file(path, err, errlen)) == NULL)
		return NULL;
	if ((key = crypto_privkey_load_pem(pem, sub, sizeof(sub))) == NULL)
		snprintf(err, errlen, "%s: %s", path, sub);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	return key;
}

EVP_PKEY *
crypto_pubkey_load_file(const char *path, char *err, size_t errlen)
{
	char *pem, sub[256];
	EVP_PKEY *key;

	if ((pem = crypto_read_pem_file(path, err, errlen)) == NULL)
		return NULL;
	if ((key = crypto_pubkey_load_pem(pem, sub, sizeof(sub))) == NULL)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(pem);
	return key;
}

X509 *
crypto_cert_load_file(const char *path, char *err, size_t errlen)
{
	char *pem, sub[256];
	X509 *cert;

	if ((pem = crypto_read_pem_file(path, err, errlen)) == NULL)
		return NULL;
	if ((cert = crypto_cert_load_pem(pem, sub, sizeof(sub))) == NULL)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(pem);
	return cert;
}

static char *
thumbprint(const X509 *cert, const EVP_MD *md)
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	/* X509_digest hashes the DER encoding, which is what x5t and x5t#S256 are defined over. */
	if (X509_digest(cert, md, buf, &n) != 1)
		fatalx("crypto: X509_digest failed");
	return b64url_encode(buf, n);
}

char *
crypto_cert_x5t(const X509 *cert)
{
	return thumbprint(cert, EVP_sha1());
}

char *
crypto_cert_x5t_s256(const X509 *cert)
{
	return thumbprint(cert, EVP_sha256());
}
