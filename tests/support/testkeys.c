/* testkeys.c: per-process cache of generated RSA keys and self-signed certificates for tests
 * (see testkeys.h). */
#include "testkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "xmalloc.h"

struct identity {
	char	*key_pem;
	char	*cert_pem;
	char	*pub_pem;
};

static struct identity cache[TESTKEYS_MAX];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static char *
bio_string(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0)
		fatalx("testkeys: empty PEM output");
	return xstrndup(data, (size_t)len);
}

static void
generate(unsigned which, struct identity *id)
{
	EVP_PKEY *key;
	X509 *cert;
	X509_NAME *name;
	BIO *bio;
	char cn[64];

	if ((key = EVP_RSA_gen(2048)) == NULL)
		fatalx("testkeys: RSA key generation failed");
	if ((cert = X509_new()) == NULL)
		fatalx("testkeys: X509_new failed");
	snprintf(cn, sizeof(cn), "olsync-test-%u", which);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)which + 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600) == NULL ||
	    X509_set_pubkey(cert, key) != 1)
		fatalx("testkeys: cannot fill certificate");
	name = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
	    -1, -1, 0) != 1 || X509_set_issuer_name(cert, name) != 1)
		fatalx("testkeys: cannot name certificate");
	if (X509_sign(cert, key, EVP_sha256()) == 0)
		fatalx("testkeys: cannot sign certificate");

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		fatalx("testkeys: cannot write private key");
	id->key_pem = bio_string(bio);
	BIO_free(bio);
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(bio, cert) != 1)
		fatalx("testkeys: cannot write certificate");
	id->cert_pem = bio_string(bio);
	BIO_free(bio);
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PUBKEY(bio, key) != 1)
		fatalx("testkeys: cannot write public key");
	id->pub_pem = bio_string(bio);
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* The cached identity; its strings live until the process exits. */
static const struct identity *
get(unsigned which)
{
	struct identity *id;

	if (which >= TESTKEYS_MAX)
		fatalx("testkeys: identity %u out of range", which);
	pthread_mutex_lock(&cache_lock);
	id = &cache[which];
	if (id->key_pem == NULL)
		generate(which, id);
	pthread_mutex_unlock(&cache_lock);
	return id;
}

void
testkeys_pem(unsigned which, char **key_pem, char **cert_pem)
{
	const struct identity *id = get(which);

	if (key_pem != NULL)
		*key_pem = xstrdup(id->key_pem);
	if (cert_pem != NULL)
		*cert_pem = xstrdup(id->cert_pem);
}

char *
testkeys_pubkey_pem(unsigned which)
{
	return xstrdup(get(which)->pub_pem);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text), off = 0;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) == -1)
		fatal("testkeys: open %s", path);
	/* O_CREAT leaves the mode of an existing file alone. */
	if (fchmod(fd, mode) == -1)
		fatal("testkeys: chmod %s", path);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("testkeys: write %s", path);
		off += (size_t)n;
	}
	if (close(fd) == -1)
		fatal("testkeys: close %s", path);
}

void
testkeys_write(unsigned which, const char *dir, char **key_path, char **cert_path)
{
	const struct identity *id = get(which);
	char *kp = xasprintf("%s/testkey%u.pem", dir, which);
	char *cp = xasprintf("%s/testcert%u.pem", dir, which);

	write_file(kp, id->key_pem, 0600);
	write_file(cp, id->cert_pem, 0644);
	if (key_path != NULL)
		*key_path = kp;
	else
		free(kp);
	if (cert_path != NULL)
		*cert_path = cp;
	else
		free(cp);
}
