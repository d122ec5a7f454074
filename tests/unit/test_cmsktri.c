/*
 * test_cmsktri.c -- hand-built KeyTransRecipientInfos (cmsktri.c) and the
 * RecipientInfos SET around them (cmsri.c).
 *
 * With keys and certificates made here (RSA-2048 twice, EC P-256; short
 * and long issuer names, a one-octet and a 20-octet serial): our ktri has
 * the very bytes OpenSSL's CMS code emits except for the random
 * encryptedKey, for PKCS#1 v1.5 and for OAEP; a complete EnvelopedData
 * and AuthEnvelopedData around it decrypts with CMS_decrypt (key and
 * certificate) to the content, and not with another key; a SET mixing
 * our ktris with OpenSSL's kari is in DER order and every member
 * decrypts; non-RSA keys are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cmsder.h"
#include "cmsenv.h"
#include "cmsktri.h"
#include "cmsri.h"
#include "der.h"

enum { RSA_A, RSA_B, EC_C, NKEYS };

static EVP_PKEY *keys[NKEYS];
static X509 *certs[NKEYS];

static const char content[] = "Content-Type: text/plain\r\n\r\n"
    "The content to protect, encrypted with a hand-built ktri.\r\n";

/*
 * A certificate for key: issuer CN cn after nou 60-character OUs (3 make
 * the name longer than 127 octets), serial of slen octets.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, int nou,
    const unsigned char *serial, size_t slen)
{
	char ou[61];
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_bin2bn(serial, (int)slen, NULL);

	assert_non_null(x);
	assert_non_null(name);
	assert_non_null(bn);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"smime-milter test", -1, -1, 0), 1);
	memset(ou, 'u', sizeof(ou) - 1);
	ou[sizeof(ou) - 1] = '\0';
	while (nou-- > 0)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "OU",
		    MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	X509_set_version(x, 2);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	X509_set_issuer_name(x, name);
	X509_set_subject_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	BN_free(bn);
	return x;
}

static int
setup(void **state)
{
	static const unsigned char one[] = { 0x05 };
	unsigned char big[20];

	(void)state;
	memset(big, 0xc3, sizeof(big));	/* high bit: DER needs a 00 */
	keys[RSA_A] = EVP_RSA_gen(2048);
	keys[RSA_B] = EVP_RSA_gen(2048);
	keys[EC_C] = EVP_EC_gen("P-256");
	if (keys[RSA_A] == NULL || keys[RSA_B] == NULL || keys[EC_C] == NULL)
		return -1;
	certs[RSA_A] = make_cert(keys[RSA_A], "Short CA", 0, one,
	    sizeof(one));
	certs[RSA_B] = make_cert(keys[RSA_B], "Long CA", 3, big, sizeof(big));
	certs[EC_C] = make_cert(keys[EC_C], "EC CA", 0, one, sizeof(one));
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NKEYS; i++) {
		X509_free(certs[i]);
		EVP_PKEY_free(keys[i]);
	}
	return 0;
}

/* OpenSSL's own KeyTransRecipientInfo for cert (the first RI). */
static unsigned char *
openssl_ktri(X509 *cert, bool oaep, size_t *len)
{
	CMS_ContentInfo *cms = CMS_EnvelopedData_create(EVP_aes_256_cbc());
	BIO *in = BIO_new_mem_buf(content, (int)sizeof(content) - 1);
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	unsigned char *der = NULL, *out;
	const unsigned char *set;
	struct der_cur c;
	struct der_elem e;
	size_t setlen;
	int dlen;

	assert_non_null(cms);
	ri = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM);
	assert_non_null(ri);
	pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	if (oaep) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_OAEP_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx,
		    EVP_sha256()) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx,
		    EVP_sha256()) > 0);
	}
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	dlen = i2d_CMS_ContentInfo(cms, &der);
	assert_true(dlen > 0);
	assert_int_equal(cmsder_find_riset(der, (size_t)dlen, &set,
	    &setlen), 0);
	c = der_cursor(set, setlen);
	assert_int_equal(der_next(&c, DER_SET, &e), 0);
	c = der_inside(&e);
	assert_int_equal(der_next(&c, DER_SEQ, &e), 0);
	*len = (size_t)der_total(&e);
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, e.start, *len);
	OPENSSL_free(der);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return out;
}

/* Our ktri and OpenSSL's: equal up to the encryptedKey's octets. */
static void
test_same_form_as_openssl(void **state)
{
	unsigned char cek[32], *ours, *theirs;
	size_t olen, tlen, klen, i, k;
	char err[256];

	(void)state;
	assert_int_equal(RAND_bytes(cek, sizeof(cek)), 1);
	for (i = RSA_A; i <= RSA_B; i++)
		for (k = 0; k < 2; k++) {
			if (cmsktri_make(certs[i], k == 1, cek, sizeof(cek),
			    &ours, &olen, err, sizeof(err)) != 0)
				fail_msg("%s", err);
			theirs = openssl_ktri(certs[i], k == 1, &tlen);
			klen = (size_t)EVP_PKEY_get_size(keys[i]);
			assert_int_equal(olen, tlen);
			assert_true(olen > klen);
			/* Everything before the encrypted key itself. */
			assert_memory_equal(ours, theirs, olen - klen);
			assert_memory_not_equal(ours + olen - klen,
			    theirs + olen - klen, klen);
			free(ours);
			free(theirs);
		}
}

/*
 * A complete (Auth)EnvelopedData with riset around content encrypted
 * under cek (AES with keybits 128 or 256): prefix, ciphertext, (GCM)
 * mac.  malloc'd, *len set.
 */
static unsigned char *
envelope_der(bool gcm, int keybits, const unsigned char *riset,
    size_t risetlen, const unsigned char *cek, size_t *len)
{
	const EVP_CIPHER *cipher = keybits == 128 ?
	    (gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc()) :
	    (gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc());
	unsigned char iv[16], alg[CMSDER_ALG_MAX], tag[CMSDER_TAG_LEN];
	unsigned char *der, *o;
	struct cmsder_copy c;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t n = sizeof(content) - 1;
	int out, fin;

	assert_non_null(ctx);
	assert_int_equal(RAND_bytes(iv, sizeof(iv)), 1);
	memset(&c, 0, sizeof(c));
	c.auth = gcm;
	c.riset = riset;
	c.risetlen = risetlen;
	c.version = gcm ? 0 : cmsder_env_version(riset, risetlen);
	c.alg = alg;
	c.alglen = cmsder_alg(gcm, keybits, iv, alg);
	c.ctlen = gcm ? n : (n / 16 + 1) * 16;
	der = malloc(cmsder_prefix_len(&c) + c.ctlen + CMSDER_MAC_TLV);
	assert_non_null(der);
	o = der + cmsder_prefix(&c, der);
	assert_int_equal(EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL),
	    1);
	if (gcm)
		assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx,
		    EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
	assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, cek, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, o, &out,
	    (const unsigned char *)content, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, o + out, &fin), 1);
	assert_true((uint64_t)(out + fin) == c.ctlen);
	o += out + fin;
	if (gcm) {
		assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx,
		    EVP_CTRL_GCM_GET_TAG, CMSDER_TAG_LEN, tag), 1);
		cmsder_mac(tag, o);
		o += CMSDER_MAC_TLV;
	}
	EVP_CIPHER_CTX_free(ctx);
	*len = (size_t)(o - der);
	return der;
}

/* CMS_decrypt with key i and its certificate: 0 and the content, or -1. */
static int
decrypt_as(const unsigned char *der, size_t len, int i)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *out = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	assert_non_null(cms);
	assert_true(p == der + len);
	assert_non_null(out);
	if (CMS_decrypt(cms, keys[i], certs[i], NULL, out, CMS_BINARY) == 1) {
		n = BIO_get_mem_data(out, &data);
		assert_int_equal(n, sizeof(content) - 1);
		assert_memory_equal(data, content, sizeof(content) - 1);
		rc = 0;
	}
	ERR_clear_error();
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* SET { ktri } for cert i decrypts with key i only, CBC and GCM. */
static void
test_decrypts(void **state)
{
	unsigned char cek[32], *ktri, *set, *der;
	size_t klen, setlen, derlen, i, k, g;
	char err[256];

	(void)state;
	for (i = RSA_A; i <= RSA_B; i++)
		for (k = 0; k < 2; k++)
			for (g = 0; g < 2; g++) {
				assert_int_equal(RAND_priv_bytes(cek,
				    sizeof(cek)), 1);
				if (cmsktri_make(certs[i], k == 1, cek,
				    sizeof(cek), &ktri, &klen, err,
				    sizeof(err)) != 0)
					fail_msg("%s", err);
				setlen = der_hdr_len(klen) + klen;
				set = malloc(setlen);
				assert_non_null(set);
				memcpy(set + der_put_hdr(set, DER_SET, klen),
				    ktri, klen);
				der = envelope_der(g == 1, 256, set, setlen,
				    cek, &derlen);
				if (decrypt_as(der, derlen, (int)i) != 0)
					fail_msg("cert %zu, %s, %s: no "
					    "decryption", i, k ? "OAEP" :
					    "PKCS#1", g ? "GCM" : "CBC");
				assert_int_equal(decrypt_as(der, derlen,
				    (int)(i == RSA_A ? RSA_B : RSA_A)), -1);
				free(der);
				free(set);
				free(ktri);
			}
}

static void
test_refuses_non_rsa(void **state)
{
	unsigned char cek[16] = { 0 }, *der = NULL;
	size_t len;
	char err[256];

	(void)state;
	assert_int_equal(cmsktri_make(certs[EC_C], false, cek, sizeof(cek),
	    &der, &len, err, sizeof(err)), -1);
	assert_null(der);
	assert_non_null(strstr(err, "not an RSA key"));
}

/* The RecipientInfos of a SET, in their order. */
static size_t
set_elements(const unsigned char *set, size_t len, struct der_elem *el,
    size_t max)
{
	struct der_cur c = der_cursor(set, len);
	struct der_elem s;
	size_t n = 0;

	assert_int_equal(der_next(&c, DER_SET, &s), 0);
	assert_true(der_at_end(&c));
	for (c = der_inside(&s); !der_at_end(&c); n++) {
		assert_true(n < max);
		assert_int_equal(der_next(&c, 0, &el[n]), 0);
	}
	return n;
}

static int
der_cmp(const struct der_elem *a, const struct der_elem *b)
{
	size_t la = (size_t)der_total(a), lb = (size_t)der_total(b);
	int c = memcmp(a->start, b->start, la < lb ? la : lb);

	return c != 0 ? c : (la > lb) - (la < lb);
}

/*
 * cmsri_set: one RecipientInfo per certificate, sorted as DER requires
 * (given in the order EC, RSA_B, RSA_A), OpenSSL's kari and our ktris
 * carrying the same CEK: every member decrypts the whole envelope.
 */
static void
test_mixed_set(void **state)
{
	X509 *order[3] = { certs[EC_C], certs[RSA_B], certs[RSA_A] };
	struct der_elem el[4];
	struct cmsri *r;
	const unsigned char *cek;
	unsigned char *set, *der;
	size_t setlen, ceklen, derlen, n, i, g;
	char err[256];

	(void)state;
	for (g = 0; g < 2; g++) {
		r = cmsri_new(g ? CMS_CIPHER_AES256_GCM :
		    CMS_CIPHER_AES256_CBC, CMS_KT_RSA_OAEP, true, err,
		    sizeof(err));
		if (r == NULL)
			fail_msg("%s", err);
		cek = cmsri_cek(r, &ceklen);
		assert_int_equal(ceklen, 32);
		if (cmsri_set(r, order, 3, &set, &setlen, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		n = set_elements(set, setlen, el, 4);
		assert_int_equal(n, 3);
		for (i = 1; i < n; i++)
			assert_true(der_cmp(&el[i - 1], &el[i]) <= 0);
		assert_int_equal(el[0].tag, DER_SEQ);	/* ktri */
		assert_int_equal(el[1].tag, DER_SEQ);
		assert_int_equal(el[2].tag, DER_CTXC(1));	/* kari */
		assert_int_equal(cmsder_env_version(set, setlen), 2);
		der = envelope_der(g == 1, 256, set, setlen, cek, &derlen);
		for (i = 0; i < NKEYS; i++)
			if (decrypt_as(der, derlen, (int)i) != 0)
				fail_msg("member %zu cannot decrypt (%s)", i,
				    g ? "GCM" : "CBC");
		free(der);
		free(set);
		cmsri_free(r);
	}
}

/*
 * Without key agreement prepared (no EC recipient in the message) the
 * CEK is drawn directly: an EC certificate is refused, RSA ones work.
 */
static void
test_rsa_only_cek(void **state)
{
	X509 *two[2] = { certs[RSA_A], certs[RSA_B] };
	struct der_elem el[3];
	struct cmsri *r;
	const unsigned char *cek;
	unsigned char *set = NULL, *der;
	size_t setlen, ceklen, derlen;
	char err[256];

	(void)state;
	r = cmsri_new(CMS_CIPHER_AES128_CBC, CMS_KT_RSA_PKCS1, false, err,
	    sizeof(err));
	assert_non_null(r);
	cek = cmsri_cek(r, &ceklen);
	assert_int_equal(ceklen, 16);
	assert_int_equal(cmsri_set(r, &certs[EC_C], 1, &set, &setlen, err,
	    sizeof(err)), -1);
	assert_null(set);
	assert_non_null(strstr(err, "no key agreement"));
	assert_int_equal(cmsri_set(r, two, 2, &set, &setlen, err,
	    sizeof(err)), 0);
	assert_int_equal(set_elements(set, setlen, el, 3), 2);
	assert_true(der_cmp(&el[0], &el[1]) < 0);
	assert_int_equal(cmsder_env_version(set, setlen), 0);
	der = envelope_der(false, 128, set, setlen, cek, &derlen);
	assert_int_equal(decrypt_as(der, derlen, RSA_A), 0);
	assert_int_equal(decrypt_as(der, derlen, RSA_B), 0);
	assert_int_equal(decrypt_as(der, derlen, EC_C), -1);
	free(der);
	free(set);
	cmsri_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_form_as_openssl),
		cmocka_unit_test(test_decrypts),
		cmocka_unit_test(test_refuses_non_rsa),
		cmocka_unit_test(test_mixed_set),
		cmocka_unit_test(test_rsa_only_cek),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
