/* test_jwt.c: base64, digests, HMAC, key loading, certificate thumbprints and RS256/PS256 JWS
 * (lib/b64.c, lib/crypto.c, lib/jwt.c). Fixed vectors come from RFC 4648, RFC 4231 and RFC 7515
 * A.2; tests/unit/data holds keys made once with the openssl CLI and Python "cryptography":
 *   openssl req -x509 -newkey rsa:2048 -nodes -keyout testkey.pem -out testcert.pem \
 *       -days 36500 -subj /CN=olsync-unit-test -sha256
 *   rfc7515_a2_{key,pub}.pem: the RFC 7515 A.2 JWK converted to PEM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "crypto.h"
#include "jwt.h"
#include "testkeys.h"
#include "xmalloc.h"

#define NOW	1000000

/* RFC 7515 A.2: RS256 over {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true} */
static const char a2_input[] =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a2_sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1"
    "L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYE"
    "UipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/* PS256 tokens made with Python "cryptography" and the A.2 key over {"alg":"PS256"} and
 * {"iss":"joe","exp":1300819380}: salt 32 bytes (RFC 7518) and the maximum salt (refused). */
static const char ps256_salt32[] =
    "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJqb2UiLCJleHAiOjEzMDA4MTkzODB9."
    "KtcLEI2dJ26HOVPadqGda10G-CZoJ_Qc38ESBvEV34wAzGe3_rkTL19Z4UWFhvAH-aczmxyZWMFb1MeQ0OojARPETxW7"
    "mODuF9Ekvw6rtphKRPaTGDyUJIqhT8ZnhKVR8dVARLEDDn0FA4X7WN3ZUrSziyudroJiWWvTMc7VpcXaAIObCFvnqrMX"
    "Zh6jbYQxRIK0WF0wOYou1-km65uKs-u_Yddc7Clvt_7N4apAwnCQjIDG_qtYWVInkbl3zZDpeyocuo7nSbi2OS5MCwGK"
    "cJvBplvixNwPJnF6PWJcSwufox_szGPC-PGV5EaN0aWovHIfFRNWlHqVdcDP9ssjfw";
static const char ps256_saltmax[] =
    "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJqb2UiLCJleHAiOjEzMDA4MTkzODB9."
    "KcwY7jRdwIDoe3LfGSTkW3XbGEM-_GwOuivJltA55AFC0B1FhCoJaE98wNxbkRqUDE8f1PCj3l0GEOkQgUuqV1f0hCCW"
    "I48n6aEhmI48GAsX9xuvAxbiOhfqA3C3ssmzT0a9VGrJSgVDvFNyO8p6Dvhx1BDrXCIC2Ht8At3x1opAdrGwaNJCAL0_"
    "ueURxMw-9YP1WItXVChShYTtna9-UbRyb5DAqrBpc0OAkWb-dwpyeIX1hNy9QD1LmQdz212JHEufDv26rq81T4VFFvMF"
    "sppOlqzS6afj75ZF2LepnXPb49ZT9LLmvaz50sE_KEc53KOICbaza_3GUqcJoL0-Cg";

/* tests/unit/data/testcert.pem, from `openssl x509 -noout -fingerprint -sha1 / -sha256`. */
static const char testcert_sha1_hex[] = "CA48A1ADA499CE175D91383FCCBAB1F82649326E";
static const char testcert_sha256_hex[] =
    "F6C2CE136DCBA814E5D22865354EC44177D74AA0225EBAEBDEBF278063EBEAC7";
/* ... and the same piped through `openssl dgst -binary | basenc --base64url`, padding removed. */
static const char testcert_x5t[] = "ykihraSZzhddkTg_zLqx-CZJMm4";
static const char testcert_x5t_s256[] = "9sLOE23LqBTl0ihlNU7EQXfXSqAiXrrr3r8ngGPr6sc";

static char *
data_path(const char *name)
{
	const char *src = getenv("OL_SOURCE_DIR");

	if (src == NULL)
		fail_msg("OL_SOURCE_DIR is not set (run through ctest)");
	return xasprintf("%s/tests/unit/data/%s", src, name);
}

static EVP_PKEY *
data_privkey(const char *name)
{
	char err[256], *path = data_path(name);
	EVP_PKEY *key = crypto_privkey_load_file(path, err, sizeof(err));

	if (key == NULL)
		fail_msg("%s", err);
	free(path);
	return key;
}

static EVP_PKEY *
data_pubkey(const char *name)
{
	char err[256], *path = data_path(name);
	EVP_PKEY *key = crypto_pubkey_load_file(path, err, sizeof(err));

	if (key == NULL)
		fail_msg("%s", err);
	free(path);
	return key;
}

static EVP_PKEY *
test_privkey(unsigned which)
{
	char err[256], *pem;
	EVP_PKEY *key;

	testkeys_pem(which, &pem, NULL);
	if ((key = crypto_privkey_load_pem(pem, err, sizeof(err))) == NULL)
		fail_msg("testkeys %u: %s", which, err);
	free(pem);
	return key;
}

/* Public key of a test identity, from its certificate as an emulator would hold it. */
static EVP_PKEY *
test_pubkey(unsigned which)
{
	char err[256], *pem;
	EVP_PKEY *key;

	testkeys_pem(which, NULL, &pem);
	if ((key = crypto_pubkey_load_pem(pem, err, sizeof(err))) == NULL)
		fail_msg("testkeys %u: %s", which, err);
	free(pem);
	return key;
}

static char *
hex(const unsigned char *p, size_t len)
{
	char *out = xmalloc(2 * len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02X", p[i]);
	out[2 * len] = '\0';
	return out;
}

static char *
b64url_str(const char *s)
{
	return b64url_encode(s, strlen(s));
}

/* ---- base64 ---- */

static const struct {
	const char	*raw;
	size_t		 rawlen;
	const char	*std;
	const char	*url;
} b64_vectors[] = {
	/* RFC 4648 §10 */
	{ "", 0, "", "" },
	{ "f", 1, "Zg==", "Zg" },
	{ "fo", 2, "Zm8=", "Zm8" },
	{ "foo", 3, "Zm9v", "Zm9v" },
	{ "foob", 4, "Zm9vYg==", "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy", "Zm9vYmFy" },
	/* the two alphabets differ in the last two characters */
	{ "\xfb\xff", 2, "+/8=", "-_8" },
	{ "\xfb\xff\xbf", 3, "+/+/", "-_-_" },
	/* binary-safe: NUL bytes */
	{ "\x00\x01\x00", 3, "AAEA", "AAEA" },
	{ "\x00", 1, "AA==", "AA" },
};

static void
test_b64_vectors(void **state)
{
	size_t i, outlen;
	unsigned char *out;
	char *enc, *padded;

	(void)state;
	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		const char *raw = b64_vectors[i].raw, *std = b64_vectors[i].std;
		const char *url = b64_vectors[i].url;
		size_t rawlen = b64_vectors[i].rawlen;

		enc = b64_encode(raw, rawlen);
		assert_string_equal(enc, std);
		free(enc);
		enc = b64url_encode(raw, rawlen);
		assert_string_equal(enc, url);
		free(enc);

		assert_int_equal(b64_decode(std, strlen(std), &out, &outlen), 0);
		assert_int_equal(outlen, rawlen);
		assert_memory_equal(out, raw, rawlen);
		assert_int_equal(out[outlen], '\0');
		free(out);
		assert_int_equal(b64url_decode(url, strlen(url), &out, &outlen), 0);
		assert_int_equal(outlen, rawlen);
		assert_memory_equal(out, raw, rawlen);
		free(out);

		/* base64url also accepts the padded form */
		padded = xstrdup(std);
		for (char *p = padded; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
		assert_int_equal(b64url_decode(padded, strlen(padded), &out, &outlen), 0);
		assert_int_equal(outlen, rawlen);
		assert_memory_equal(out, raw, rawlen);
		free(out);
		free(padded);
	}
}

static const struct {
	int		 url;
	const char	*in;
} b64_rejects[] = {
	{ 0, "Zg" },		/* standard base64 must be padded */
	{ 0, "Zg=" },		/* partial padding */
	{ 0, "Zh==" },		/* non-zero trailing bits ("Zg==" is canonical) */
	{ 0, "Zm9=" },		/* non-zero trailing bits ("Zm8=" is canonical) */
	{ 0, "Z===" },
	{ 0, "====" },
	{ 0, "Zm9v\n" },	/* whitespace is not skipped */
	{ 0, " Zm9v" },
	{ 0, "Zm-v" },		/* URL alphabet in standard base64 */
	{ 0, "Zm_v" },
	{ 0, "Zm=v" },		/* padding in the middle */
	{ 0, "Zg==Zg==" },
	{ 0, "Zm9vYg=A" },
	{ 0, "Zm9\x80" },
	{ 1, "Zm+v" },		/* standard alphabet in base64url */
	{ 1, "Zm/v" },
	{ 1, "Z" },		/* one leftover character cannot encode a byte */
	{ 1, "Zm9vY" },
	{ 1, "Zg=" },		/* padding, if present, must be complete */
	{ 1, "Zg===" },
	{ 1, "Zm9v=" },
	{ 1, "Zh" },		/* non-zero trailing bits */
	{ 1, "Zm9.v" },
	{ 1, "=" },
};

static void
test_b64_rejects(void **state)
{
	size_t i, outlen = 99;
	unsigned char *out = (unsigned char *)"x";

	(void)state;
	for (i = 0; i < sizeof(b64_rejects) / sizeof(b64_rejects[0]); i++) {
		const char *in = b64_rejects[i].in;
		int rc = b64_rejects[i].url ? b64url_decode(in, strlen(in), &out, &outlen) :
		    b64_decode(in, strlen(in), &out, &outlen);

		if (rc != -1)
			fail_msg("case %zu (%s \"%s\") was accepted", i,
			    b64_rejects[i].url ? "url" : "std", in);
		assert_null(out);
		assert_int_equal(outlen, 0);
	}
	/* the explicit length is honoured: "Zg==" cut to two characters is unpadded */
	assert_int_equal(b64_decode("Zg==", 2, &out, &outlen), -1);
	assert_int_equal(b64url_decode("ZgXX", 2, &out, &outlen), 0);
	assert_int_equal(outlen, 1);
	assert_int_equal(out[0], 'f');
	free(out);
}

/* ---- digests, HMAC, comparison, randomness ---- */

static void
test_digests(void **state)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char *h;

	(void)state;
	crypto_sha1("abc", 3, md);
	h = hex(md, CRYPTO_SHA1_LEN);
	assert_string_equal(h, "A9993E364706816ABA3E25717850C26C9CD0D89D");	/* FIPS 180 */
	free(h);
	crypto_sha256("abc", 3, md);
	h = hex(md, CRYPTO_SHA256_LEN);
	assert_string_equal(h, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
	free(h);
}

static void
test_hmac_rfc4231(void **state)
{
	static unsigned char key1[20], key6[131];
	const struct {
		const void	*key;
		size_t		 keylen;
		const char	*msg;
		const char	*mac;
	} cases[] = {
		{ key1, sizeof(key1), "Hi There",	/* RFC 4231 4.2 */
		  "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7" },
		{ "Jefe", 4, "what do ya want for nothing?",	/* 4.3 */
		  "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843" },
		{ key6, sizeof(key6), "Test Using Larger Than Block-Size Key - Hash Key First",
		  "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54" },	/* 4.7 */
		{ "", 0, "",
		  "B613679A0814D9EC772F95D778C35FC5FF1697C493715653C6C712144292C5AD" },
	};
	unsigned char mac[CRYPTO_SHA256_LEN];
	size_t i;
	char *h;

	(void)state;
	memset(key1, 0x0b, sizeof(key1));
	memset(key6, 0xaa, sizeof(key6));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		crypto_hmac_sha256(cases[i].key, cases[i].keylen, cases[i].msg,
		    strlen(cases[i].msg), mac);
		h = hex(mac, sizeof(mac));
		if (strcmp(h, cases[i].mac) != 0)
			fail_msg("case %zu: got %s want %s", i, h, cases[i].mac);
		free(h);
	}
}

static void
test_compare(void **state)
{
	const struct {
		const char	*a, *b;
		int		 eq;
	} cases[] = {
		{ "", "", 1 },
		{ "secret", "secret", 1 },
		{ "secret", "secreT", 0 },
		{ "secret", "secret2", 0 },
		{ "secret2", "secret", 0 },
		{ "", "x", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(crypto_streq(cases[i].a, cases[i].b), cases[i].eq);
		if (strlen(cases[i].a) == strlen(cases[i].b))
			assert_int_equal(crypto_memeq(cases[i].a, cases[i].b,
			    strlen(cases[i].a)), cases[i].eq);
	}
}

static void
test_random(void **state)
{
	char *a, *b;
	size_t i;
	int seen[256] = { 0 };

	(void)state;
	a = crypto_random_token(40);
	b = crypto_random_token(40);
	assert_int_equal(strlen(a), 40);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	a = crypto_random_token(0);
	assert_string_equal(a, "");
	free(a);
	/* 4000 characters: every one in [0-9A-Za-z], and nearly all 62 show up */
	a = crypto_random_token(4000);
	for (i = 0; i < 4000; i++) {
		unsigned char c = (unsigned char)a[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			fail_msg("character %u at %zu is not base62", c, i);
		seen[c] = 1;
	}
	for (i = 0; i < 256; i++)
		seen[0] += i > 0 ? seen[i] : 0;
	assert_int_equal(seen[0], 62);
	free(a);
	a = crypto_random_hex(16);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	free(a);
}

/* ---- keys and certificates ---- */

static void
test_key_loading(void **state)
{
	char err[256], *key_pem, *cert_pem, *both, *pub_pem, *path;
	EVP_PKEY *key;
	X509 *cert;
	const struct {
		const char	*pem;
		const char	*want;
	} bad_priv[] = {
		{ "", "no usable PEM private key" },
		{ "hello", "no usable PEM private key" },
		{ "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		  "no usable PEM private key" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
		  "encrypted" },
	}, bad_pub[] = {
		{ "", "no PEM block" },
		{ "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "bad certificate" },
		{ "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "bad PUBLIC KEY" },
	};
	size_t i;

	(void)state;
	testkeys_pem(0, &key_pem, &cert_pem);
	pub_pem = testkeys_pubkey_pem(0);

	/* a private key file that also carries the certificate, in either order */
	both = xasprintf("%s%s", cert_pem, key_pem);
	key = crypto_privkey_load_pem(both, err, sizeof(err));
	assert_non_null(key);
	assert_true(EVP_PKEY_is_a(key, "RSA"));
	EVP_PKEY_free(key);
	key = crypto_pubkey_load_pem(both, err, sizeof(err));
	assert_non_null(key);
	EVP_PKEY_free(key);
	free(both);
	both = xasprintf("%s%s", key_pem, cert_pem);
	key = crypto_pubkey_load_pem(both, err, sizeof(err));
	assert_non_null(key);
	EVP_PKEY_free(key);
	cert = crypto_cert_load_pem(both, err, sizeof(err));
	assert_non_null(cert);
	X509_free(cert);
	free(both);

	/* a bare public key and a private key are not certificates */
	key = crypto_pubkey_load_pem(pub_pem, err, sizeof(err));
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_get_bits(key), 2048);
	EVP_PKEY_free(key);
	assert_null(crypto_cert_load_pem(pub_pem, err, sizeof(err)));
	assert_null(crypto_pubkey_load_pem(key_pem, err, sizeof(err)));

	for (i = 0; i < sizeof(bad_priv) / sizeof(bad_priv[0]); i++) {
		err[0] = '\0';
		assert_null(crypto_privkey_load_pem(bad_priv[i].pem, err, sizeof(err)));
		if (strstr(err, bad_priv[i].want) == NULL)
			fail_msg("private case %zu: error \"%s\" lacks \"%s\"", i, err,
			    bad_priv[i].want);
	}
	for (i = 0; i < sizeof(bad_pub) / sizeof(bad_pub[0]); i++) {
		err[0] = '\0';
		assert_null(crypto_pubkey_load_pem(bad_pub[i].pem, err, sizeof(err)));
		if (strstr(err, bad_pub[i].want) == NULL)
			fail_msg("public case %zu: error \"%s\" lacks \"%s\"", i, err,
			    bad_pub[i].want);
	}

	/* files: PKCS#8, PKCS#1, and a missing one named in the error */
	EVP_PKEY_free(data_privkey("testkey.pem"));
	EVP_PKEY_free(data_privkey("rfc7515_a2_key.pem"));
	path = data_path("no-such-key.pem");
	assert_null(crypto_privkey_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-key.pem"));
	assert_non_null(strstr(err, "No such file"));
	free(path);
	path = data_path("testcert.pem");
	assert_null(crypto_privkey_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "testcert.pem: "));
	free(path);
	free(key_pem);
	free(cert_pem);
	free(pub_pem);
}

static void
test_thumbprints(void **state)
{
	char err[256], *path, *x5t, *x5t256, *h, *pem;
	unsigned char *raw, *der = NULL, md[CRYPTO_SHA256_LEN];
	size_t rawlen;
	int derlen;
	X509 *cert;

	(void)state;
	path = data_path("testcert.pem");
	if ((cert = crypto_cert_load_file(path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	x5t = crypto_cert_x5t(cert);
	x5t256 = crypto_cert_x5t_s256(cert);
	assert_string_equal(x5t, testcert_x5t);
	assert_string_equal(x5t256, testcert_x5t_s256);
	/* and they are the openssl CLI's fingerprints, base64url-encoded */
	assert_int_equal(b64url_decode(x5t, strlen(x5t), &raw, &rawlen), 0);
	h = hex(raw, rawlen);
	assert_string_equal(h, testcert_sha1_hex);
	free(h);
	free(raw);
	assert_int_equal(b64url_decode(x5t256, strlen(x5t256), &raw, &rawlen), 0);
	h = hex(raw, rawlen);
	assert_string_equal(h, testcert_sha256_hex);
	free(h);
	free(raw);
	free(x5t);
	free(x5t256);
	X509_free(cert);
	free(path);

	/* a generated certificate: x5t is SHA-1 over its DER encoding */
	testkeys_pem(1, NULL, &pem);
	assert_non_null(cert = crypto_cert_load_pem(pem, err, sizeof(err)));
	assert_true((derlen = i2d_X509(cert, &der)) > 0);
	crypto_sha1(der, (size_t)derlen, md);
	h = b64url_encode(md, CRYPTO_SHA1_LEN);
	x5t = crypto_cert_x5t(cert);
	assert_string_equal(x5t, h);
	assert_int_equal(strlen(x5t), 27);
	free(h);
	free(x5t);
	crypto_sha256(der, (size_t)derlen, md);
	h = b64url_encode(md, CRYPTO_SHA256_LEN);
	x5t = crypto_cert_x5t_s256(cert);
	assert_string_equal(x5t, h);
	assert_int_equal(strlen(x5t), 43);
	free(h);
	free(x5t);
	OPENSSL_free(der);
	X509_free(cert);
	free(pem);
}

static void
test_testkeys_write(void **state)
{
	char dir[] = "/tmp/test_jwt.XXXXXX", err[256], *kp, *cp, *a, *b;
	struct stat st;
	EVP_PKEY *key;

	(void)state;
	assert_non_null(mkdtemp(dir));
	testkeys_write(2, dir, &kp, &cp);
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(key = crypto_privkey_load_file(kp, err, sizeof(err)));
	EVP_PKEY_free(key);
	assert_non_null(key = crypto_pubkey_load_file(cp, err, sizeof(err)));
	EVP_PKEY_free(key);
	/* cached: the same identity twice, distinct identities differ */
	testkeys_pem(2, &a, NULL);
	testkeys_pem(2, &b, NULL);
	assert_string_equal(a, b);
	free(b);
	testkeys_pem(3, &b, NULL);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	unlink(kp);
	unlink(cp);
	rmdir(dir);
	free(kp);
	free(cp);
}

/* ---- JWS ---- */

static void
test_rfc7515_a2(void **state)
{
	EVP_PKEY *priv = data_privkey("rfc7515_a2_key.pem"), *pub = data_pubkey("rfc7515_a2_pub.pem");
	char err[256], *sig, *token;
	struct jwt t;
	long long exp;

	(void)state;
	/* PKCS#1 v1.5 is deterministic: our signature must be the RFC's, byte for byte */
	sig = jwt_sign_input(JWT_ALG_RS256, priv, a2_input, strlen(a2_input), err, sizeof(err));
	assert_non_null(sig);
	assert_string_equal(sig, a2_sig);
	free(sig);

	token = xasprintf("%s.%s", a2_input, a2_sig);
	if (jwt_verify(token, pub, JWT_ALG_RS256, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(t.alg, JWT_ALG_RS256);
	assert_string_equal(jwt_claim_str(&t, "iss"), "joe");
	assert_int_equal(jwt_claim_int(&t, "exp", &exp), 0);
	assert_int_equal(exp, 1300819380);
	assert_int_equal(jwt_check_times(&t, 1300819379, 0, err, sizeof(err)), 0);
	assert_int_equal(jwt_check_times(&t, NOW * 2000LL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expired"));
	jwt_free(&t);
	/* the same token is refused where only PS256 is allowed */
	assert_int_equal(jwt_verify(token, pub, JWT_ALG_PS256, &t, err, sizeof(err)), -1);
	assert_null(t.header);
	free(token);

	/* PS256 from another implementation, 32-byte salt */
	if (jwt_verify(ps256_salt32, pub, JWT_ALG_PS256, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(t.alg, JWT_ALG_PS256);
	jwt_free(&t);
	/* RFC 7518 §3.5 fixes the salt at the hash length */
	assert_int_equal(jwt_verify(ps256_saltmax, pub, JWT_ALGS_ALL, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad signature"));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

static const struct {
	enum jwt_alg	 alg;
	const char	*extra;
	const char	*claims;
	const char	*typ;	/* expected header typ */
} roundtrips[] = {
	{ JWT_ALG_RS256, NULL,
	  "{\"iss\":\"3MVG9client\",\"sub\":\"user@example.com\","
	  "\"aud\":\"https://login.salesforce.com\",\"exp\":2000000000}", "JWT" },
	{ JWT_ALG_PS256, "{\"x5t#S256\":\"9sLOE23LqBTl0ihlNU7EQXfXSqAiXrrr3r8ngGPr6sc\"}",
	  "{\"aud\":\"https://login.microsoftonline.com/t/oauth2/v2.0/token\",\"iss\":\"c\","
	  "\"sub\":\"c\",\"jti\":\"j\",\"nbf\":1,\"exp\":2000000000}", "JWT" },
	{ JWT_ALG_RS256, "{\"x5t\":\"ykihraSZzhddkTg_zLqx-CZJMm4\",\"typ\":\"at+jwt\"}",
	  "{\"roles\":[\"Mail.Read\"],\"exp\":2000000000,\"uni\":\"\\u00e9\\u4e2d\"}",
	  "at+jwt" },
	{ JWT_ALG_PS256, "{}", "{}", "JWT" },
};

static void
test_roundtrip(void **state)
{
	EVP_PKEY *priv = test_privkey(0), *pub = test_pubkey(0);
	char err[256], *token, *again;
	json_t *want, *extra;
	struct jwt t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
		token = jwt_sign(roundtrips[i].alg, priv, roundtrips[i].extra,
		    roundtrips[i].claims, err, sizeof(err));
		if (token == NULL)
			fail_msg("case %zu: sign: %s", i, err);
		if (jwt_verify(token, pub, roundtrips[i].alg, &t, err, sizeof(err)) != 0)
			fail_msg("case %zu: verify: %s", i, err);
		assert_int_equal(t.alg, roundtrips[i].alg);
		assert_string_equal(jwt_header_str(&t, "alg"), jwt_alg_name(roundtrips[i].alg));
		assert_string_equal(jwt_header_str(&t, "typ"), roundtrips[i].typ);
		want = json_loads(roundtrips[i].claims, 0, NULL);
		assert_true(json_equal(want, t.claims));
		json_decref(want);
		if (roundtrips[i].extra != NULL) {
			const char *k;
			json_t *v;

			extra = json_loads(roundtrips[i].extra, 0, NULL);
			json_object_foreach(extra, k, v)
				assert_true(json_equal(v, json_object_get(t.header, k)));
			json_decref(extra);
		}
		jwt_free(&t);
		/* decode sees the same without a key */
		assert_int_equal(jwt_decode(token, &t, err, sizeof(err)), 0);
		assert_int_equal(t.alg, roundtrips[i].alg);
		jwt_free(&t);
		/* RS256 signatures repeat, PS256 ones are salted */
		again = jwt_sign(roundtrips[i].alg, priv, roundtrips[i].extra,
		    roundtrips[i].claims, err, sizeof(err));
		assert_non_null(again);
		if (roundtrips[i].alg == JWT_ALG_RS256)
			assert_string_equal(token, again);
		else
			assert_string_not_equal(token, again);
		free(again);
		free(token);
	}
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* How a rejected token is built from a good RS256 token "h.c.s" or from parts. */
enum mangle {
	M_FLIP_SIG,		/* change one signature character */
	M_FLIP_CLAIMS,		/* change one claims character */
	M_TRUNC_SIG,		/* signature one byte short, validly encoded */
	M_EMPTY_SIG,		/* "h.c." */
	M_WRONG_KEY,		/* signed by another identity */
	M_DROP_SIG,		/* "h.c": two segments */
	M_EXTRA_SEG,		/* "h.c.s.x" */
	M_EMPTY_HEADER,		/* ".c.s" */
	M_OVERSIZE,		/* a correctly signed token over JWT_MAX_LEN */
	M_HEADER,		/* header replaced by the case's text (base64url of it), signed */
	M_HEADER_RAW,		/* header segment replaced by the case's text verbatim */
	M_CLAIMS,		/* claims replaced by base64url of the case's text, validly signed */
	M_SIG_RAW,		/* signature segment replaced by the case's text verbatim */
	M_HS256_CONFUSION,	/* HS256 signed with the public key PEM as the HMAC secret */
	M_PS_AS_RS,		/* a PS256 token where only RS256 is allowed */
};

static const struct {
	const char	*name;
	enum mangle	 how;
	const char	*text;
	const char	*want;	/* substring of the error */
} rejects[] = {
	{ "flipped signature", M_FLIP_SIG, NULL, "bad signature" },
	{ "tampered claims", M_FLIP_CLAIMS, NULL, "bad signature" },
	{ "truncated signature", M_TRUNC_SIG, NULL, "bad signature" },
	{ "empty signature", M_EMPTY_SIG, NULL, "empty signature" },
	{ "wrong key", M_WRONG_KEY, NULL, "bad signature" },
	{ "two segments", M_DROP_SIG, NULL, "three dot-separated" },
	{ "four segments", M_EXTRA_SEG, NULL, "three dot-separated" },
	{ "empty header", M_EMPTY_HEADER, NULL, "empty header" },
	{ "oversize", M_OVERSIZE, NULL, "longer than 16384" },
	{ "alg none", M_HEADER, "{\"alg\":\"none\"}", "alg none refused: unsigned" },
	{ "alg None", M_HEADER, "{\"alg\":\"None\"}", "unsupported" },
	{ "alg HS256", M_HS256_CONFUSION, NULL, "alg HS256 refused: symmetric" },
	{ "alg ES256", M_HEADER, "{\"alg\":\"ES256\"}", "alg ES256 refused: unsupported" },
	{ "alg rs256", M_HEADER, "{\"alg\":\"rs256\"}", "unsupported" },
	{ "alg garbled", M_HEADER, "{\"alg\":\"RS\\n256\"}", "alg (garbled) refused" },
	{ "alg not allowed", M_PS_AS_RS, NULL, "alg PS256 refused: not allowed here" },
	{ "no alg", M_HEADER, "{\"typ\":\"JWT\"}", "no alg" },
	{ "alg not a string", M_HEADER, "{\"alg\":256}", "no alg" },
	{ "crit", M_HEADER, "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", "crit" },
	{ "header not JSON", M_HEADER, "{\"alg\":\"RS256\"", "header is not valid JSON" },
	{ "header array", M_HEADER, "[\"RS256\"]", "header is not a JSON object" },
	{ "header duplicate alg", M_HEADER, "{\"alg\":\"none\",\"alg\":\"RS256\"}",
	  "header is not valid JSON" },
	{ "header bad base64", M_HEADER_RAW, "eyJhbGciOiJSUzI1NiJ9!", "header is not base64url" },
	{ "header std base64", M_HEADER_RAW, "eyJhbGciOiJSUzI1NiJ9+", "header is not base64url" },
	{ "signature bad base64", M_SIG_RAW, "abc$", "signature is not base64url" },
	{ "claims not JSON", M_CLAIMS, "{\"exp\":", "claims is not valid JSON" },
	{ "claims string", M_CLAIMS, "\"exp\"", "claims is not valid JSON" },
	{ "claims array", M_CLAIMS, "[{\"exp\":2000000000}]", "claims is not a JSON object" },
	{ "claims duplicate", M_CLAIMS, "{\"sub\":\"a\",\"sub\":\"b\"}", "claims is not valid JSON" },
	{ "claims NUL", M_CLAIMS, "{\"sub\":\"a\\u0000b\"}", "claims is not valid JSON" },
};

static char *
build_reject(size_t i, EVP_PKEY *priv, EVP_PKEY *other, const char *pub_pem)
{
	static const char claims[] = "{\"sub\":\"user@example.com\",\"exp\":2000000000}";
	char err[256], *good, *token = NULL, *h = NULL, *c = NULL, *input, *sig, *dot, *pad;
	unsigned char mac[CRYPTO_SHA256_LEN], *raw;
	size_t rawlen;

	good = jwt_sign(JWT_ALG_RS256, priv, NULL, claims, err, sizeof(err));
	assert_non_null(good);
	c = b64url_str(claims);
	switch (rejects[i].how) {
	case M_FLIP_SIG:
		token = xstrdup(good);
		dot = strrchr(token, '.');
		dot[5] = dot[5] == 'A' ? 'B' : 'A';
		break;
	case M_FLIP_CLAIMS:
		token = xstrdup(good);
		dot = strchr(token, '.');
		dot[1] = dot[1] == 'e' ? 'f' : 'e';
		break;
	case M_TRUNC_SIG:
		dot = strrchr(good, '.');
		assert_int_equal(b64url_decode(dot + 1, strlen(dot + 1), &raw, &rawlen), 0);
		sig = b64url_encode(raw, rawlen - 1);
		token = xasprintf("%.*s.%s", (int)(dot - good), good, sig);
		free(sig);
		free(raw);
		break;
	case M_EMPTY_SIG:
		token = xstrndup(good, (size_t)(strrchr(good, '.') - good) + 1);
		break;
	case M_WRONG_KEY:
		token = jwt_sign(JWT_ALG_RS256, other, NULL, claims, err, sizeof(err));
		break;
	case M_DROP_SIG:
		token = xstrndup(good, (size_t)(strrchr(good, '.') - good));
		break;
	case M_EXTRA_SEG:
		token = xasprintf("%s.AAAA", good);
		break;
	case M_EMPTY_HEADER:
		token = xstrdup(strchr(good, '.'));
		break;
	case M_OVERSIZE:
		pad = xmalloc(JWT_MAX_LEN);
		memset(pad, 'x', JWT_MAX_LEN - 1);
		pad[JWT_MAX_LEN - 1] = '\0';
		h = xasprintf("{\"sub\":\"%s\",\"exp\":2000000000}", pad);
		free(pad);
		/* jwt_sign refuses to make it, so build it by hand */
		assert_null(jwt_sign(JWT_ALG_RS256, priv, NULL, h, err, sizeof(err)));
		free(c);
		c = b64url_str(h);
		free(h);
		h = b64url_str("{\"alg\":\"RS256\"}");
		input = xasprintf("%s.%s", h, c);
		sig = jwt_sign_input(JWT_ALG_RS256, priv, input, strlen(input), err, sizeof(err));
		token = xasprintf("%s.%s", input, sig);
		free(input);
		free(sig);
		break;
	case M_HEADER:
	case M_HEADER_RAW:
	case M_CLAIMS:
		if (rejects[i].how == M_HEADER)
			h = b64url_str(rejects[i].text);
		else if (rejects[i].how == M_HEADER_RAW)
			h = xstrdup(rejects[i].text);
		else {
			h = b64url_str("{\"alg\":\"RS256\"}");
			free(c);
			c = b64url_str(rejects[i].text);
		}
		input = xasprintf("%s.%s", h, c);
		sig = jwt_sign_input(JWT_ALG_RS256, priv, input, strlen(input), err, sizeof(err));
		token = xasprintf("%s.%s", input, sig);
		free(input);
		free(sig);
		break;
	case M_SIG_RAW:
		token = xstrndup(good, (size_t)(strrchr(good, '.') - good) + 1);
		input = xasprintf("%s%s", token, rejects[i].text);
		free(token);
		token = input;
		break;
	case M_HS256_CONFUSION:
		h = b64url_str("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
		input = xasprintf("%s.%s", h, c);
		crypto_hmac_sha256(pub_pem, strlen(pub_pem), input, strlen(input), mac);
		sig = b64url_encode(mac, sizeof(mac));
		token = xasprintf("%s.%s", input, sig);
		free(input);
		free(sig);
		break;
	case M_PS_AS_RS:
		token = jwt_sign(JWT_ALG_PS256, priv, NULL, claims, err, sizeof(err));
		break;
	}
	assert_non_null(token);
	free(good);
	free(h);
	free(c);
	return token;
}

static void
test_verify_rejects(void **state)
{
	EVP_PKEY *priv = test_privkey(0), *pub = test_pubkey(0), *other = test_privkey(1);
	char err[256], *token, *pub_pem = testkeys_pubkey_pem(0);
	struct jwt t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		token = build_reject(i, priv, other, pub_pem);
		err[0] = '\0';
		memset(&t, 0xa5, sizeof(t));
		if (jwt_verify(token, pub, JWT_ALG_RS256, &t, err, sizeof(err)) != -1)
			fail_msg("case \"%s\" was accepted", rejects[i].name);
		if (strstr(err, rejects[i].want) == NULL)
			fail_msg("case \"%s\": error \"%s\" lacks \"%s\"", rejects[i].name, err,
			    rejects[i].want);
		assert_null(t.header);
		assert_null(t.claims);
		free(token);
	}
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);
	free(pub_pem);
}

static void
test_sign_rejects(void **state)
{
	EVP_PKEY *priv = test_privkey(0), *pub = test_pubkey(0), *small, *ec;
	char err[256], *token;
	struct jwt t;
	const struct {
		const char	*name;
		enum jwt_alg	 alg;
		int		 key;	/* 0 good, 1 public only, 2 RSA-1024, 3 EC */
		const char	*extra;
		const char	*claims;
		const char	*want;
	} cases[] = {
		{ "alg 0", 0, 0, NULL, "{}", "only RS256 and PS256" },
		{ "alg mask", JWT_ALGS_ALL, 0, NULL, "{}", "only RS256 and PS256" },
		{ "alg unknown bit", 1 << 5, 0, NULL, "{}", "only RS256 and PS256" },
		{ "extra sets alg", JWT_ALG_RS256, 0, "{\"alg\":\"none\"}", "{}", "may not set alg" },
		{ "extra not object", JWT_ALG_RS256, 0, "[]", "{}", "extra header is not a JSON object" },
		{ "extra not JSON", JWT_ALG_RS256, 0, "{", "{}", "extra header is not valid JSON" },
		{ "claims array", JWT_ALG_RS256, 0, NULL, "[1]", "claims is not a JSON object" },
		{ "claims not JSON", JWT_ALG_RS256, 0, NULL, "{\"a\":}", "claims is not valid JSON" },
		{ "claims duplicate", JWT_ALG_RS256, 0, NULL, "{\"a\":1,\"a\":2}", "claims is not valid" },
		{ "public key only", JWT_ALG_RS256, 1, NULL, "{}", "cannot sign" },
		{ "RSA-1024", JWT_ALG_PS256, 2, NULL, "{}", "at least 2048" },
		{ "EC key", JWT_ALG_RS256, 3, NULL, "{}", "not an RSA key" },
	};
	EVP_PKEY *keys[4];
	size_t i;

	(void)state;
	small = EVP_RSA_gen(1024);
	ec = EVP_EC_gen("P-256");
	assert_non_null(small);
	assert_non_null(ec);
	keys[0] = priv;
	keys[1] = pub;
	keys[2] = small;
	keys[3] = ec;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		token = jwt_sign(cases[i].alg, keys[cases[i].key], cases[i].extra, cases[i].claims,
		    err, sizeof(err));
		if (token != NULL)
			fail_msg("case \"%s\" signed", cases[i].name);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case \"%s\": error \"%s\" lacks \"%s\"", cases[i].name, err,
			    cases[i].want);
	}
	/* and verification refuses the small and the non-RSA key even before the signature */
	token = jwt_sign(JWT_ALG_RS256, priv, NULL, "{}", err, sizeof(err));
	assert_non_null(token);
	assert_int_equal(jwt_verify(token, small, JWT_ALGS_ALL, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 2048"));
	assert_int_equal(jwt_verify(token, ec, JWT_ALGS_ALL, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an RSA key"));
	/* allowed mask 0 allows nothing */
	assert_int_equal(jwt_verify(token, pub, 0, &t, err, sizeof(err)), -1);
	free(token);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}

static void
test_times(void **state)
{
	const struct {
		const char	*claims;
		int		 leeway;
		const char	*want;	/* NULL: accepted */
	} cases[] = {
		{ "{\"exp\":1000100}", 0, NULL },
		{ "{\"exp\":1000001}", 0, NULL },
		{ "{\"exp\":1000000}", 0, "expired" },
		{ "{\"exp\":999999}", 0, "expired" },
		{ "{\"exp\":999990}", 30, NULL },
		{ "{\"exp\":999970}", 30, "expired" },
		{ "{\"exp\":1000100.75}", 0, NULL },
		{ "{\"exp\":999999.5}", 0, "expired" },
		{ "{}", 0, "no exp" },
		{ "{\"iat\":1000000,\"nbf\":1000000}", 0, "no exp" },
		{ "{\"exp\":\"1000100\"}", 0, "exp is not a NumericDate" },
		{ "{\"exp\":null}", 0, "exp is not a NumericDate" },
		{ "{\"exp\":1e300}", 0, "exp is not a NumericDate" },
		{ "{\"exp\":9223372036854775807}", 0, "exp is not a NumericDate" },
		{ "{\"exp\":1000100,\"nbf\":1000000}", 0, NULL },
		{ "{\"exp\":1000100,\"nbf\":1000050}", 0, "not yet valid" },
		{ "{\"exp\":1000100,\"nbf\":1000050}", 60, NULL },
		{ "{\"exp\":1000100,\"nbf\":\"soon\"}", 0, "nbf is not a NumericDate" },
		{ "{\"exp\":1000100,\"nbf\":-9223372036854775807}", 0, "nbf is not a NumericDate" },
		{ "{\"exp\":1000100,\"iat\":2000000}", 0, NULL },	/* iat is policy */
	};
	char err[256];
	struct jwt t;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&t, 0, sizeof(t));
		t.claims = json_loads(cases[i].claims, 0, NULL);
		assert_non_null(t.claims);
		err[0] = '\0';
		rc = jwt_check_times(&t, NOW, cases[i].leeway, err, sizeof(err));
		if (cases[i].want == NULL && rc != 0)
			fail_msg("case %s: refused: %s", cases[i].claims, err);
		if (cases[i].want != NULL && (rc != -1 || strstr(err, cases[i].want) == NULL))
			fail_msg("case %s: rc %d error \"%s\" lacks \"%s\"", cases[i].claims, rc,
			    err, cases[i].want);
		jwt_free(&t);
	}
}

static void
test_decode_and_getters(void **state)
{
	char err[256], *h, *c, *token;
	struct jwt t;
	long long v;

	(void)state;
	/* an unsigned token is fine for diagnostics, and its alg is reported as unsupported */
	h = b64url_str("{\"alg\":\"none\",\"kid\":\"k1\"}");
	c = b64url_str("{\"aud\":[\"a\",\"https://graph.microsoft.com\"],\"roles\":[\"Mail.Read\","
	    "\"Mail.ReadWrite\"],\"scp\":\"Mail.Read User.Read\",\"iss\":\"x\",\"n\":42,"
	    "\"r\":1.9,\"s\":\"42\",\"big\":1e40}");
	token = xasprintf("%s.%s.", h, c);
	if (jwt_decode(token, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(t.alg, 0);
	assert_string_equal(jwt_header_str(&t, "kid"), "k1");
	assert_null(jwt_header_str(&t, "x5t"));
	assert_string_equal(jwt_claim_str(&t, "iss"), "x");
	assert_string_equal(jwt_claim_str(&t, "scp"), "Mail.Read User.Read");
	assert_null(jwt_claim_str(&t, "n"));
	assert_null(jwt_claim_str(&t, "missing"));
	assert_int_equal(jwt_claim_int(&t, "n", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(jwt_claim_int(&t, "r", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(jwt_claim_int(&t, "s", &v), -1);
	assert_int_equal(jwt_claim_int(&t, "big", &v), -1);
	assert_int_equal(jwt_claim_int(&t, "missing", &v), -1);
	assert_true(jwt_claim_has(&t, "aud", "https://graph.microsoft.com"));
	assert_false(jwt_claim_has(&t, "aud", "https://graph.microsoft.co"));
	assert_true(jwt_claim_has(&t, "roles", "Mail.ReadWrite"));
	assert_true(jwt_claim_has(&t, "iss", "x"));
	assert_false(jwt_claim_has(&t, "n", "42"));
	assert_false(jwt_claim_has(&t, "missing", "x"));
	jwt_free(&t);
	jwt_free(&t);	/* twice is harmless */
	free(token);

	/* decode still refuses what it cannot read */
	token = xasprintf("%s.%s", h, c);
	assert_int_equal(jwt_decode(token, &t, err, sizeof(err)), -1);
	assert_null(t.header);
	free(token);
	token = xasprintf("%s.e30x.", h);	/* "{}1" is not JSON */
	assert_int_equal(jwt_decode(token, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "claims"));
	assert_null(t.header);
	free(token);
	free(h);
	free(c);

	assert_int_equal(jwt_alg_parse("PS256"), JWT_ALG_PS256);
	assert_int_equal(jwt_alg_parse("RS256"), JWT_ALG_RS256);
	assert_int_equal(jwt_alg_parse("none"), 0);
	assert_int_equal(jwt_alg_parse("HS256"), 0);
	assert_null(jwt_alg_name(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_rejects),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_key_loading),
		cmocka_unit_test(test_thumbprints),
		cmocka_unit_test(test_testkeys_write),
		cmocka_unit_test(test_rfc7515_a2),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_verify_rejects),
		cmocka_unit_test(test_sign_rejects),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_decode_and_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
