/*
 * cmsktri.c -- one KeyTransRecipientInfo: the RSA operation and its DER.
 */
#include "cmsktri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "der.h"
#include "sslerr.h"

/* SEQUENCE { rsaEncryption, NULL } */
static const unsigned char alg_pkcs1[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x01, 0x05, 0x00 };

/*
 * SEQUENCE { id-RSAES-OAEP, RSAES-OAEP-params {
 *     [0] SEQUENCE { id-sha256 },
 *     [1] SEQUENCE { id-mgf1, SEQUENCE { id-sha256 } } } }
 */
static const unsigned char alg_oaep[] = {
	0x30, 0x38, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x07, 0x30, 0x2b, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0xa1, 0x1a, 0x30,
	0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x08, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	0x04, 0x02, 0x01 };

#define VERSION_TLV	3	/* INTEGER 0 */

const unsigned char *
cmsktri_alg(bool oaep, size_t *len)
{
	*len = oaep ? sizeof(alg_oaep) : sizeof(alg_pkcs1);
	return oaep ? alg_oaep : alg_pkcs1;
}

/* A context for one encryption to pk with our padding. */
static EVP_PKEY_CTX *
rsa_ctx(EVP_PKEY *pk, bool oaep)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0)
		goto fail;
	if (!oaep) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
			goto fail;
		return ctx;
	}
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)
		goto fail;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

int
cmsktri_make(X509 *cert, bool oaep, const unsigned char *cek, size_t ceklen,
    unsigned char **der, size_t *derlen, char *err, size_t errlen)
{
	const X509_NAME *issuer = X509_get_issuer_name(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *out = NULL, *o;
	const unsigned char *alg;
	size_t alglen, klen, got, ias, body, total;
	int nl, sl, rc = -1;

	*der = NULL;
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		snprintf(err, errlen, "not an RSA key: no key transport");
		return -1;
	}
	alg = cmsktri_alg(oaep, &alglen);
	nl = i2d_X509_NAME(issuer, NULL);
	sl = i2d_ASN1_INTEGER(serial, NULL);
	if (nl <= 0 || sl <= 0 || (ctx = rsa_ctx(pk, oaep)) == NULL ||
	    EVP_PKEY_encrypt(ctx, NULL, &klen, cek, ceklen) <= 0) {
		ssl_error(err, errlen, "cannot encrypt the key to a recipient");
		goto cleanup;
	}
	ias = (size_t)nl + (size_t)sl;
	body = VERSION_TLV + der_hdr_len(ias) + ias + alglen +
	    der_hdr_len(klen) + klen;
	total = der_hdr_len(body) + body;
	if ((out = malloc(total)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	o = out + der_put_hdr(out, DER_SEQ, body);
	*o++ = DER_INTEGER;
	*o++ = 1;
	*o++ = 0;
	o += der_put_hdr(o, DER_SEQ, ias);
	/* i2d with a buffer writes there and moves the pointer on. */
	if (i2d_X509_NAME(issuer, &o) != nl ||
	    i2d_ASN1_INTEGER(serial, &o) != sl) {
		ssl_error(err, errlen, "cannot encode issuer and serial");
		goto cleanup;
	}
	memcpy(o, alg, alglen);
	o += alglen;
	o += der_put_hdr(o, DER_OCTETS, klen);
	got = klen;
	if (EVP_PKEY_encrypt(ctx, o, &got, cek, ceklen) <= 0 || got != klen) {
		ssl_error(err, errlen, "cannot encrypt the key to a recipient");
		goto cleanup;
	}
	*der = out;
	*derlen = total;
	out = NULL;
	rc = 0;
cleanup:
	EVP_PKEY_CTX_free(ctx);
	free(out);
	return rc;
}
