/* testkeys.h: RSA-2048 keys with self-signed X.509 certificates for tests, made in memory with
 * OpenSSL on first use and cached for the rest of the process (key generation is slow). Several
 * distinct identities are available so a test can sign with one and verify with another. */
#ifndef OL_TESTKEYS_H
#define OL_TESTKEYS_H

#define TESTKEYS_MAX	4	/* identities 0 .. TESTKEYS_MAX - 1 */

/* PEM of identity which's private key (PKCS#8) and certificate (CN=olsync-test-<which>). Either
 * out pointer may be NULL. Caller frees both. Aborts on failure or a bad which. */
void testkeys_pem(unsigned which, char **key_pem, char **cert_pem);
/* PEM of identity which's public key ("PUBLIC KEY"). Caller frees. */
char *testkeys_pubkey_pem(unsigned which);

/* Writes identity which to <dir>/testkey<which>.pem (mode 0600) and <dir>/testcert<which>.pem
 * and returns the paths (either out pointer may be NULL; caller frees). Aborts on failure. */
void testkeys_write(unsigned which, const char *dir, char **key_path, char **cert_path);

#endif
