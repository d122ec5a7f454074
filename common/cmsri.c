/*
 * cmsri.c -- the CEK and RecipientInfos.
 *
 * RSA recipients (KeyTransRecipientInfo): cmsktri_make(), one
 * EVP_PKEY_encrypt() per certificate, no OpenSSL CMS object at all.
 *
 * EC recipients (KeyAgreeRecipientInfo) through OpenSSL's CMS code;
 * what is done, exactly:
 *
 *  1. Template.  CMS_EnvelopedData_create(cipher) (AES-CBC) or
 *     CMS_AuthEnvelopedData_create(cipher) (AES-GCM), one recipient
 *     CMS_add0_recipient_key(NID_id_aes256_wrap, KEK) where KEK is 32
 *     random bytes of ours, CMS_final() over an empty content, then
 *     i2d_CMS_ContentInfo().  OpenSSL has drawn a random CEK and wrapped
 *     it under our KEK (RFC 3394) in the KEKRecipientInfo.  The template
 *     never leaves this process; its own (empty) ciphertext is unused.
 *  2. CEK.  The KEKRecipientInfo's encryptedKey is taken from the template
 *     DER (cmsder_kekri_key) and unwrapped with EVP id-aes256-wrap: that
 *     is the CEK our own content encryption uses (cmsenv.c), and the one
 *     the hand-built KeyTransRecipientInfos carry.
 *  3. Loading the CEK into OpenSSL.  d2i_CMS_ContentInfo(template), then on
 *     its only RecipientInfo CMS_RecipientInfo_set0_key(KEK) and
 *     CMS_RecipientInfo_decrypt(): OpenSSL unwraps the same CEK into the
 *     object, as when a KEK recipient reads a message.
 *  4. Recipients.  Per EC certificate CMS_add1_recipient_cert(..,
 *     CMS_KEY_PARAM) (pushes a new RecipientInfo on the object's stack),
 *     parameters on CMS_RecipientInfo_get0_pkey_ctx() (X9.63 KDF with
 *     SHA-256, i.e. dhSinglePass-stdDH-sha256kdf-scheme instead of
 *     OpenSSL's SHA-1 default, and an AES key wrap as strong as the
 *     content cipher set on CMS_RecipientInfo_kari_get0_ctx()), then
 *     CMS_RecipientInfo_encrypt().
 *  5. Serialising only one group's RecipientInfos.  CMS_get0_RecipientInfos
 *     returns the object's live stack (not a copy).  We take a shallow
 *     copy of it (sk_dup), empty it with sk_zero (no element is freed),
 *     push just this group's RecipientInfos, i2d_CMS_ContentInfo(), then
 *     sk_zero again and push every saved element back in the old order.
 *     The stack's storage is never shrunk by sk_zero, so those pushes
 *     cannot fail.  Every RecipientInfo therefore stays owned by the
 *     object and is freed by CMS_ContentInfo_free() (OpenSSL 3.0 exports
 *     no CMS_RecipientInfo_free).  The SET is cut from that DER
 *     (cmsder_find_riset) and split into its RecipientInfos.
 *
 * One parsed template serves up to RI_BATCH EC recipients (several
 * groups) before it is freed and parsed again: that saves a d2i and an
 * unwrap per group while keeping memory bounded.  A failure discards it.
 *
 * A group's RecipientInfos, hand-built and OpenSSL's, are then sorted
 * as DER requires for a SET OF (X.690 11.6) and wrapped in one SET.
 */
#include "cmsri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "cmsder.h"
#include "cmsktri.h"
#include "der.h"
#include "sslerr.h"

#define KEK_LEN		32
#define RI_BATCH	64

struct cmsri {
	enum cms_keytransport kt;
	int keybits;			/* content cipher: 128 or 256 */
	bool agree;			/* template made (EC recipients) */
	unsigned char kek[KEK_LEN];
	unsigned char cek[EVP_MAX_KEY_LENGTH];
	size_t ceklen;
	unsigned char *tmpl;		/* template DER (OPENSSL_malloc) */
	size_t tmpllen;
	CMS_ContentInfo *cms;		/* parsed template with the CEK */
	size_t used;			/* recipients added to cms */
};

static const EVP_CIPHER *
content_cipher(enum cms_cipher c, int *keybits, bool *gcm)
{
	*gcm = c == CMS_CIPHER_AES128_GCM || c == CMS_CIPHER_AES256_GCM;
	*keybits = c == CMS_CIPHER_AES128_GCM || c == CMS_CIPHER_AES128_CBC ?
	    128 : 256;
	return cms_cipher_evp(c);
}

/* Step 1: the template, encrypted by OpenSSL to our KEK only. */
static int
make_template(struct cmsri *r, const EVP_CIPHER *cipher, bool gcm, char *err,
    size_t errlen)
{
	static const unsigned char kekid[] = "smime-milter template";
	CMS_ContentInfo *cms = NULL;
	unsigned char *key = NULL, *id = NULL, *der = NULL;
	BIO *empty = NULL;
	int len, rc = -1;

	if (RAND_priv_bytes(r->kek, KEK_LEN) != 1) {
		ssl_error(err, errlen, "cannot draw a random KEK");
		goto cleanup;
	}
	cms = gcm ? CMS_AuthEnvelopedData_create(cipher) :
	    CMS_EnvelopedData_create(cipher);
	key = OPENSSL_memdup(r->kek, KEK_LEN);
	id = OPENSSL_memdup(kekid, sizeof(kekid) - 1);
	empty = BIO_new_mem_buf("", 0);
	if (cms == NULL || key == NULL || id == NULL || empty == NULL) {
		ssl_error(err, errlen, "cannot create the CMS template");
		goto cleanup;
	}
	/* add0: on success the object owns key and id. */
	if (CMS_add0_recipient_key(cms, NID_id_aes256_wrap, key, KEK_LEN, id,
	    sizeof(kekid) - 1, NULL, NULL, NULL) == NULL) {
		ssl_error(err, errlen, "cannot add the template KEK");
		goto cleanup;
	}
	key = id = NULL;
	if (CMS_final(cms, empty, NULL, CMS_BINARY) != 1 ||
	    (len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		ssl_error(err, errlen, "cannot encrypt the CMS template");
		goto cleanup;
	}
	r->tmpl = der;
	r->tmpllen = (size_t)len;
	rc = 0;
cleanup:
	OPENSSL_clear_free(key, KEK_LEN);
	OPENSSL_free(id);
	BIO_free(empty);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* Step 2: unwrap the CEK from the template's KEKRecipientInfo. */
static int
recover_cek(struct cmsri *r, size_t want, char *err, size_t errlen)
{
	const unsigned char *wrapped;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t wlen;
	int n, fin, rc = -1;

	if (cmsder_kekri_key(r->tmpl, r->tmpllen, &wrapped, &wlen) != 0 ||
	    wlen != want + 8) {
		snprintf(err, errlen, "CMS template: no wrapped key of the "
		    "expected size");
		goto cleanup;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto fail;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap(), NULL, r->kek,
	    NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, r->cek, &n, wrapped, (int)wlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, r->cek + n, &fin) != 1 ||
	    (size_t)(n + fin) != want)
		goto fail;
	r->ceklen = want;
	rc = 0;
	goto cleanup;
fail:
	ssl_error(err, errlen, "cannot unwrap the content-encryption key");
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Step 3: a parsed template with the CEK loaded. */
static int
load_template(struct cmsri *r, char *err, size_t errlen)
{
	const unsigned char *p = r->tmpl;
	STACK_OF(CMS_RecipientInfo) *ris;
	CMS_RecipientInfo *kekri;
	unsigned char *key = NULL;

	CMS_ContentInfo_free(r->cms);
	r->used = 0;
	r->cms = d2i_CMS_ContentInfo(NULL, &p, (long)r->tmpllen);
	if (r->cms == NULL || (ris = CMS_get0_RecipientInfos(r->cms)) == NULL ||
	    sk_CMS_RecipientInfo_num(ris) != 1)
		goto fail;
	kekri = sk_CMS_RecipientInfo_value(ris, 0);
	if (CMS_RecipientInfo_type(kekri) != CMS_RECIPINFO_KEK ||
	    (key = OPENSSL_memdup(r->kek, KEK_LEN)) == NULL)
		goto fail;
	if (CMS_RecipientInfo_set0_key(kekri, key, KEK_LEN) != 1)
		goto fail;
	key = NULL;		/* owned by kekri now */
	if (CMS_RecipientInfo_decrypt(r->cms, kekri) != 1)
		goto fail;
	return 0;
fail:
	OPENSSL_clear_free(key, KEK_LEN);
	ssl_error(err, errlen, "cannot load the CMS template");
	CMS_ContentInfo_free(r->cms);
	r->cms = NULL;
	return -1;
}

struct cmsri *
cmsri_new(enum cms_cipher cipher, enum cms_keytransport kt, bool agree,
    char *err, size_t errlen)
{
	const EVP_CIPHER *evp;
	struct cmsri *r;
	bool gcm;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->kt = kt;
	if ((evp = content_cipher(cipher, &r->keybits, &gcm)) == NULL) {
		snprintf(err, errlen, "no content cipher chosen");
		goto fail;
	}
	r->agree = agree;
	if (!agree) {
		r->ceklen = (size_t)r->keybits / 8;
		if (RAND_priv_bytes(r->cek, (int)r->ceklen) != 1) {
			ssl_error(err, errlen, "cannot draw a content key");
			goto fail;
		}
		return r;
	}
	if (make_template(r, evp, gcm, err, errlen) != 0 ||
	    recover_cek(r, (size_t)r->keybits / 8, err, errlen) != 0)
		goto fail;
	return r;
fail:
	cmsri_free(r);
	return NULL;
}

const unsigned char *
cmsri_cek(const struct cmsri *r, size_t *len)
{
	*len = r->ceklen;
	return r->cek;
}

int
cmsri_check_key(X509 *cert, char *err, size_t errlen)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	char curve[64];
	size_t n;

	if (pk == NULL) {
		ssl_error(err, errlen, "cannot read the certificate's key");
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		return 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk, "group", curve,
		    sizeof(curve), &n) == 1 && (strcmp(curve, "prime256v1") ==
		    0 || strcmp(curve, "secp384r1") == 0 ||
		    strcmp(curve, "secp521r1") == 0))
			return 0;
		ERR_clear_error();
		snprintf(err, errlen, "EC key not on P-256, P-384 or P-521");
		return -1;
	case EVP_PKEY_RSA_PSS:
		snprintf(err, errlen, "RSA-PSS key: not for key transport");
		return -1;
	case EVP_PKEY_X25519:
	case EVP_PKEY_X448:
		snprintf(err, errlen, "X25519/X448 key: OpenSSL 3.0 CMS "
		    "cannot encrypt to it");
		return -1;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		snprintf(err, errlen, "EdDSA key: signature only");
		return -1;
	case EVP_PKEY_DSA:
		snprintf(err, errlen, "DSA key: signature only");
		return -1;
	default:
		snprintf(err, errlen, "unsupported key type %s",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
		return -1;
	}
}

/* Step 4: parameters of a new KeyAgreeRecipientInfo. */
static int
set_params(struct cmsri *r, CMS_RecipientInfo *ri)
{
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	EVP_CIPHER_CTX *wrap;

	if (pctx == NULL || CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_AGREE)
		return -1;
	/*
	 * The parsed template knows no content cipher, so OpenSSL cannot
	 * pick the key wrap itself: set it (RFC 5753 7.1.7).
	 */
	wrap = CMS_RecipientInfo_kari_get0_ctx(ri);
	if (wrap == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(wrap, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(wrap, r->keybits == 128 ? EVP_aes_128_wrap() :
	    EVP_aes_256_wrap(), NULL, NULL, NULL) != 1)
		return -1;
	/*
	 * Only the KDF digest: OpenSSL 3.0's ecdh_cms_encrypt() insists on
	 * setting the KDF type (X9.63) itself and fails, without an error on
	 * the queue, if it is already set.
	 */
	if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0)
		return -1;
	return 0;
}

/* Step 5: i2d with only the RecipientInfos from index first on. */
static int
encode_group(struct cmsri *r, int first, unsigned char **set,
    size_t *setlen, char *err, size_t errlen)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(r->cms);
	STACK_OF(CMS_RecipientInfo) *all = sk_CMS_RecipientInfo_dup(ris);
	const unsigned char *s;
	unsigned char *der = NULL;
	int i, n, len = -1, rc = -1;
	size_t slen;

	if (all == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = sk_CMS_RecipientInfo_num(all);
	sk_CMS_RecipientInfo_zero(ris);
	for (i = first; i < n; i++)
		(void)sk_CMS_RecipientInfo_push(ris,
		    sk_CMS_RecipientInfo_value(all, i));
	len = i2d_CMS_ContentInfo(r->cms, &der);
	/* Restore: the storage holds n elements already, no allocation. */
	sk_CMS_RecipientInfo_zero(ris);
	for (i = 0; i < n; i++)
		(void)sk_CMS_RecipientInfo_push(ris,
		    sk_CMS_RecipientInfo_value(all, i));
	sk_CMS_RecipientInfo_free(all);
	if (len <= 0 || sk_CMS_RecipientInfo_num(ris) != n) {
		ssl_error(err, errlen, "cannot encode RecipientInfos");
		goto cleanup;
	}
	if (cmsder_find_riset(der, (size_t)len, &s, &slen) != 0 ||
	    (*set = malloc(slen)) == NULL) {
		snprintf(err, errlen, "cannot extract RecipientInfos");
		goto cleanup;
	}
	memcpy(*set, s, slen);
	*setlen = slen;
	rc = 0;
cleanup:
	OPENSSL_free(der);
	return rc;
}

/* Steps 3 to 5 for the n EC certificates of one group. */
static int
agree_set(struct cmsri *r, X509 *const *certs, size_t n, unsigned char **set,
    size_t *setlen, char *err, size_t errlen)
{
	CMS_RecipientInfo *ri;
	int first;
	size_t i;

	if (!r->agree) {
		snprintf(err, errlen, "EC recipient, but no key agreement "
		    "prepared");
		return -1;
	}
	if (r->cms == NULL || (r->used > 0 && r->used + n > RI_BATCH))
		if (load_template(r, err, errlen) != 0)
			return -1;
	first = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(r->cms));
	for (i = 0; i < n; i++) {
		ri = CMS_add1_recipient_cert(r->cms, certs[i], CMS_KEY_PARAM);
		if (ri == NULL || set_params(r, ri) != 0 ||
		    CMS_RecipientInfo_encrypt(r->cms, ri) != 1) {
			ssl_error(err, errlen,
			    "cannot encrypt the key to a recipient");
			goto fail;
		}
	}
	r->used += n;
	if (encode_group(r, first, set, setlen, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	/* Whatever was added stays in the object: discard it. */
	CMS_ContentInfo_free(r->cms);
	r->cms = NULL;
	return -1;
}

/* One encoded RecipientInfo. */
struct elem {
	const unsigned char *der;
	size_t len;
};

/* DER SET OF order: octet-wise, a proper prefix first (X.690 11.6). */
static int
der_order(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;
	int c = memcmp(x->der, y->der, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

int
cmsri_set(struct cmsri *r, X509 *const *certs, size_t n, unsigned char **set,
    size_t *setlen, char *err, size_t errlen)
{
	unsigned char **ktri = calloc(n, sizeof(*ktri)), *agreed = NULL, *o;
	struct elem *el = calloc(n + 1, sizeof(*el));
	X509 **ec = calloc(n, sizeof(*ec));
	size_t i, nel = 0, nec = 0, agreedlen, content = 0;
	struct der_cur cur;
	struct der_elem e;
	int rc = -1;

	*set = NULL;
	if (ktri == NULL || el == NULL || ec == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (cmsri_check_key(certs[i], err, errlen) != 0)
			goto cleanup;
		if (EVP_PKEY_get_base_id(X509_get0_pubkey(certs[i])) ==
		    EVP_PKEY_EC) {
			ec[nec++] = certs[i];
			continue;
		}
		if (cmsktri_make(certs[i], r->kt == CMS_KT_RSA_OAEP, r->cek,
		    r->ceklen, &ktri[i], &el[nel].len, err, errlen) != 0)
			goto cleanup;
		el[nel++].der = ktri[i];
	}
	if (nec > 0) {
		if (agree_set(r, ec, nec, &agreed, &agreedlen, err,
		    errlen) != 0)
			goto cleanup;
		/* Split OpenSSL's SET into its nec KeyAgreeRecipientInfos. */
		cur = der_cursor(agreed, agreedlen);
		if (der_next(&cur, DER_SET, &e) != 0)
			goto malformed;
		for (cur = der_inside(&e); !der_at_end(&cur); nel++) {
			if (nel == n || der_next(&cur, 0, &e) != 0)
				goto malformed;
			el[nel].der = e.start;
			el[nel].len = (size_t)der_total(&e);
		}
		if (nel != n)
			goto malformed;
	}
	qsort(el, nel, sizeof(*el), der_order);
	for (i = 0; i < nel; i++)
		content += el[i].len;
	*setlen = der_hdr_len(content) + content;
	if ((*set = malloc(*setlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	o = *set + der_put_hdr(*set, DER_SET, content);
	for (i = 0; i < nel; i++) {
		memcpy(o, el[i].der, el[i].len);
		o += el[i].len;
	}
	rc = 0;
	goto cleanup;
malformed:
	snprintf(err, errlen, "OpenSSL's RecipientInfos for %zu EC "
	    "certificates are not one each", nec);
cleanup:
	for (i = 0; ktri != NULL && i < n; i++)
		free(ktri[i]);
	free(ktri);
	free(el);
	free(ec);
	free(agreed);
	return rc;
}

void
cmsri_free(struct cmsri *r)
{
	if (r == NULL)
		return;
	CMS_ContentInfo_free(r->cms);
	if (r->tmpl != NULL)
		OPENSSL_clear_free(r->tmpl, r->tmpllen);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}
