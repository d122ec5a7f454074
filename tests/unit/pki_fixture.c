/*
 * pki_fixture.c -- locate or generate the test PKI.
 */
#include "pki_fixture.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static char dir[PATH_MAX];
static int generated;

/* TOP is three levels above build/tests/test_x. */
static int
find_top(char *top, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", top, len - 1);
	int i;

	if (n <= 0)
		return -1;
	top[n] = '\0';
	for (i = 0; i < 3; i++) {
		char *slash = strrchr(top, '/');

		if (slash == NULL)
			return -1;
		*slash = '\0';
	}
	return 0;
}

const char *
pki_dir(void)
{
	const char *env = getenv("SMIME_TEST_PKI");
	char top[PATH_MAX], cmd[2 * PATH_MAX + 64];

	if (dir[0] != '\0')
		return dir;
	if (env != NULL && *env != '\0') {
		/* Configuration paths must be absolute. */
		if (realpath(env, dir) == NULL)
			return NULL;
		return dir;
	}
	if (find_top(top, sizeof(top)) != 0)
		return NULL;
	snprintf(dir, sizeof(dir), "/tmp/smime-pki.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(cmd, sizeof(cmd), "'%s/tests/pki/mkpki' '%s' >/dev/null",
	    top, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "pki_fixture: %s failed\n", cmd);
		dir[0] = '\0';
		return NULL;
	}
	generated = 1;
	return dir;
}

const char *
pki_path(const char *rel)
{
	static char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", pki_dir(), rel);
	return path;
}

X509 *
pki_cert(const char *name)
{
	char rel[256];
	FILE *f;
	X509 *x;

	snprintf(rel, sizeof(rel), "certs/%s.pem", name);
	if ((f = fopen(pki_path(rel), "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

void
pki_cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (generated) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "pki_fixture: cleanup failed\n");
	}
}

char *
pki_enveloped_b64(const char *name)
{
	X509 *alice = pki_cert(name);
	STACK_OF(X509) *to = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf("Content-Type: text/plain\r\n\r\nSecret."
	    "\r\n", -1);
	unsigned char *der = NULL, *p;
	char *text, *o;
	int len, i;
	CMS_ContentInfo *cms;

	sk_X509_push(to, alice);
	cms = CMS_encrypt(to, in, EVP_aes_256_cbc(), CMS_BINARY);
	if (cms == NULL)
		abort();
	len = i2d_CMS_ContentInfo(cms, &der);
	if (len <= 0)
		abort();
	text = malloc((size_t)len * 2 + 16);
	if (text == NULL)
		abort();
	for (i = 0, o = text, p = der; i < len; i += 48, p += 48) {
		o += EVP_EncodeBlock((unsigned char *)o, p, len - i < 48 ?
		    len - i : 48);
		*o++ = '\r';
		*o++ = '\n';
	}
	*o = '\0';
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_pop_free(to, X509_free);
	return text;
}
