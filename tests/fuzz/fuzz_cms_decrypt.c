/*
 * fuzz_cms_decrypt.c -- libFuzzer target for the inbound path: arbitrary
 * bytes as an S/MIME message, through decryption with a real key and
 * through signature verification.  Neither may crash, leak or hang.
 * The key and certificate are made once per process (a self-signed
 * RSA-2048 recipient); the corpus holds messages encrypted to and signed
 * with other keys, which exercise the parsers up to the key mismatch.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "sink.h"
#include "smime_read.h"

static EVP_PKEY *key;
static X509 *cert;
static X509_STORE *anchors;

static void
setup(void)
{
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	cert = X509_new();
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_set_pubkey(cert, key);
	X509_sign(cert, key, EVP_sha256());
	anchors = X509_STORE_new();
	X509_STORE_add_cert(anchors, cert);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct membuf out = { NULL, 0, 0, 64u * 1024 * 1024 };
	struct sink s = sink_to_membuf(&out);
	struct verify_result res;
	char err[256];

	if (key == NULL)
		setup();
	(void)smime_decrypt(data, size, key, cert, &s, err, sizeof(err));
	free(out.data);
	out.data = NULL;
	out.len = out.cap = 0;
	(void)smime_verify(data, size, anchors, 0, &s, &res);
	verify_result_free(&res);
	free(out.data);
	return 0;
}
