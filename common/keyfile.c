/*
 * keyfile.c -- private key files, read through one descriptor opened
 * with O_NOFOLLOW and judged by fstat, so that what is checked is what is
 * read (signer_load, which opens files by name, must agree with us; see
 * keyfile_load_pem).
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "sslerr.h"

#define KEYFILE_MAX_BYTES (1024 * 1024)

static int
check_mode(const char *path, const struct stat *st, const char *what,
    char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets group or others "
		    "access the %s (chmod 600)", path,
		    (unsigned)(st->st_mode & 07777), what);
		return -1;
	}
	return 0;
}

/*
 * Read a whole secret file into a new buffer (free with
 * OPENSSL_clear_free(buf, len)); NUL-terminated for convenience.
 * nofollow: refuse symbolic links (key files).  O_NONBLOCK keeps a FIFO
 * planted under the name from blocking the open; fstat then refuses it.
 */
static int
read_secret_file(const char *path, bool nofollow, const char *what,
    unsigned char **bufp, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	unsigned char *buf = NULL;
	ssize_t n;
	int fd = -1, rc = -1;

	if (nofollow && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link (the %s must "
		    "be a regular file)", path, what);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (check_mode(path, &st, what, err, errlen) != 0)
		goto cleanup;
	if (st.st_size > KEYFILE_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    KEYFILE_MAX_BYTES);
		goto cleanup;
	}
	if ((buf = OPENSSL_malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		OPENSSL_clear_free(buf, (size_t)st.st_size + 1);
		buf = NULL;
		goto cleanup;
	}
	buf[n] = '\0';
	*bufp = buf;
	*lenp = (size_t)n + 1;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
keyfile_read_passphrase(const char *path, char pass[KEYFILE_PASS_MAX],
    char *err, size_t errlen)
{
	unsigned char *buf = NULL, *nl;
	size_t len, n;
	int rc = -1;

	if (read_secret_file(path, false, "passphrase", &buf, &len, err,
	    errlen) != 0)
		return -1;
	/* len counts the NUL read_secret_file appends. */
	nl = memchr(buf, '\n', len - 1);
	n = nl != NULL ? (size_t)(nl - buf) : len - 1;
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		snprintf(err, errlen, "%s: the first line (the passphrase) is "
		    "empty", path);
	else if (n >= KEYFILE_PASS_MAX)
		snprintf(err, errlen, "%s: passphrase longer than %d bytes",
		    path, KEYFILE_PASS_MAX - 1);
	else if (memchr(buf, '\0', n) != NULL)
		snprintf(err, errlen, "%s: passphrase contains a NUL byte",
		    path);
	else {
		memcpy(pass, buf, n);
		pass[n] = '\0';
		rc = 0;
	}
	OPENSSL_clear_free(buf, len);
	return rc;
}

int
keyfile_load_p12(struct signer *s, const char *path, const char *pass,
    char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	const unsigned char *p;
	size_t len = 0;
	PKCS12 *p12 = NULL;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (read_secret_file(path, true, "key", &buf, &len, err, errlen) != 0)
		return -1;
	p = buf;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)(len - 1))) == NULL) {
		snprintf(err, errlen, "%s: not a PKCS#12 file", path);
		ssl_append_errors(err, errlen);
		goto cleanup;
	}
	/* Checking the MAC first tells a wrong passphrase from a bad file. */
	if (PKCS12_mac_present(p12) &&
	    PKCS12_verify_mac(p12, pass, -1) != 1) {
		snprintf(err, errlen, "%s: wrong passphrase (PKCS#12 MAC "
		    "verification failed)", path);
		ERR_clear_error();
		goto cleanup;
	}
	if (PKCS12_parse(p12, pass, &s->key, &s->cert, &s->chain) != 1) {
		snprintf(err, errlen, "%s: cannot decrypt PKCS#12", path);
		ssl_append_errors(err, errlen);
		goto cleanup;
	}
	if (s->key == NULL || s->cert == NULL) {
		snprintf(err, errlen, "%s: PKCS#12 without %s", path,
		    s->key == NULL ? "a private key" :
		    "the certificate of its key");
		goto cleanup;
	}
	if (X509_check_private_key(s->cert, s->key) != 1) {
		snprintf(err, errlen, "%s: key does not match its "
		    "certificate", path);
		ERR_clear_error();
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		signer_free(s);
	PKCS12_free(p12);
	OPENSSL_clear_free(buf, len);
	return rc;
}

/*
 * A PEM key file must hold an encrypted PKCS#8 key and no other kind:
 * PEM_read_PrivateKey would read an unencrypted key whatever the
 * passphrase, and a traditional "Proc-Type: ENCRYPTED" key uses the
 * weak legacy key derivation.
 */
static int
check_pem_labels(const char *text, const char *path, char *err,
    size_t errlen)
{
	static const char begin[] = "-----BEGIN ";
	const char *p, *end;
	bool encrypted = false;

	for (p = text; (p = strstr(p, begin)) != NULL; p = end) {
		p += sizeof(begin) - 1;
		if ((end = strstr(p, "-----")) == NULL)
			break;
		if ((size_t)(end - p) == strlen("ENCRYPTED PRIVATE KEY") &&
		    strncmp(p, "ENCRYPTED PRIVATE KEY", end - p) == 0)
			encrypted = true;
		else if (end - p >= 11 &&
		    strncmp(end - 11, "PRIVATE KEY", 11) == 0) {
			snprintf(err, errlen, "%s: key is not encrypted PKCS#8 "
			    "(BEGIN %.*s); unencrypted keys are refused: "
			    "openssl pkcs8 -topk8 -v2 aes-256-cbc", path,
			    (int)(end - p), p);
			return -1;
		}
	}
	if (!encrypted) {
		snprintf(err, errlen, "%s: no ENCRYPTED PRIVATE KEY in the "
		    "file", path);
		return -1;
	}
	return 0;
}

/*
 * The key is decrypted from the bytes read through the checked
 * descriptor; signer_load then reads the files by name and must come up
 * with the same key, so a file swapped in between is refused too.
 */
int
keyfile_load_pem(struct signer *s, const char *path, const char *crt,
    const char *pass, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	EVP_PKEY *vetted = NULL;
	BIO *bio = NULL;
	char why[512];
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (read_secret_file(path, true, "key", &buf, &len, err, errlen) != 0)
		return -1;
	if (check_pem_labels((char *)buf, path, err, errlen) != 0)
		goto cleanup;
	if ((bio = BIO_new_mem_buf(buf, (int)(len - 1))) == NULL ||
	    (vetted = PEM_read_bio_PrivateKey(bio, NULL, NULL,
	    (void *)pass)) == NULL) {
		snprintf(err, errlen, "%s: cannot decrypt the key (wrong "
		    "passphrase or damaged file)", path);
		ERR_clear_error();
		goto cleanup;
	}
	if (access(crt, F_OK) != 0) {
		snprintf(err, errlen, "%s: no certificate file %s", path, crt);
		goto cleanup;
	}
	if (signer_load(s, path, crt, crt, pass, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto cleanup;
	}
	if (EVP_PKEY_eq(vetted, s->key) != 1) {
		snprintf(err, errlen, "%s: changed while being read", path);
		ERR_clear_error();
		signer_free(s);
		goto cleanup;
	}
	/* The chain file is the certificate file: drop the leaf. */
	if (sk_X509_num(s->chain) > 0 &&
	    X509_cmp(sk_X509_value(s->chain, 0), s->cert) == 0)
		X509_free(sk_X509_shift(s->chain));
	rc = 0;
cleanup:
	EVP_PKEY_free(vetted);
	BIO_free(bio);
	OPENSSL_clear_free(buf, len);
	return rc;
}
