/*
 * smime_read.c -- S/MIME decryption and signature verification.
 */
#include "smime_read.h"

#include <stdio.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "sink.h"
#include "spoolbio.h"
#include "sslerr.h"

static const char *const status_names[] = {
	[VERIFY_OK] = "ok",
	[VERIFY_NOT_SIGNED] = "not-signed",
	[VERIFY_MALFORMED] = "malformed",
	[VERIFY_CONTENT_ALTERED] = "content-altered",
	[VERIFY_BAD_SIGNATURE] = "bad-signature",
	[VERIFY_UNTRUSTED] = "untrusted",
	[VERIFY_EXPIRED] = "expired",
	[VERIFY_INVALID] = "invalid",
};

const char *
verify_status_name(enum verify_status st)
{
	return st < sizeof(status_names) / sizeof(status_names[0]) ?
	    status_names[st] : "?";
}

void
verify_result_free(struct verify_result *res)
{
	sk_X509_pop_free(res->signers, X509_free);
	res->signers = NULL;
}

X509_STORE *
smime_load_anchors(const char *file, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();

	if (store == NULL || X509_STORE_load_file(store, file) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load anchors %s", file);
		ssl_error(err, errlen, what);
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/* Parse the message with OpenSSL; bcont gets the detached content. */
static CMS_ContentInfo *
read_cms(const unsigned char *msg, size_t len, BIO **bcont, char *err,
    size_t errlen)
{
	BIO *in;
	CMS_ContentInfo *cms;

	if (len > SMIME_READ_MAX) {
		snprintf(err, errlen, "message larger than %u bytes",
		    SMIME_READ_MAX);
		return NULL;
	}
	if ((in = BIO_new_mem_buf(msg, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cms = SMIME_read_CMS(in, bcont);
	if (cms == NULL)
		ssl_error(err, errlen, "not an S/MIME message");
	BIO_free(in);
	return cms;
}

/* The SMIMECapabilities signed attribute: a SEQUENCE of AlgorithmIds. */
static void
caps_from_signer(CMS_SignerInfo *si, struct smime_caps *caps)
{
	ASN1_STRING *seq = CMS_signed_get0_data_by_OBJ(si,
	    OBJ_nid2obj(NID_SMIMECapabilities), -3, V_ASN1_SEQUENCE);
	STACK_OF(X509_ALGOR) *algs = NULL;
	const unsigned char *p;
	int i;

	memset(caps, 0, sizeof(*caps));
	if (seq != NULL) {
		p = ASN1_STRING_get0_data(seq);
		algs = d2i_X509_ALGORS(NULL, &p, ASN1_STRING_length(seq));
	}
	for (i = 0; i < sk_X509_ALGOR_num(algs); i++) {
		const ASN1_OBJECT *obj;

		X509_ALGOR_get0(&obj, NULL, NULL, sk_X509_ALGOR_value(algs, i));
		switch (OBJ_obj2nid(obj)) {
		case NID_aes_128_cbc: caps->mask |= CAP_AES128_CBC; break;
		case NID_aes_256_cbc: caps->mask |= CAP_AES256_CBC; break;
		case NID_aes_128_gcm: caps->mask |= CAP_AES128_GCM; break;
		case NID_aes_256_gcm: caps->mask |= CAP_AES256_GCM; break;
		default: break;
		}
	}
	caps->known = algs != NULL;
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
}

static time_t
signing_time(CMS_SignerInfo *si)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *t;
	struct tm tm;

	if (idx < 0 || (attr = CMS_signed_get_attr(si, idx)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
		return 0;
	if ((t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME) ||
	    ASN1_TIME_to_tm((ASN1_TIME *)t->value.ptr, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static enum verify_status
set_status(struct verify_result *res, enum verify_status st,
    const char *what)
{
	res->status = st;
	ssl_error(res->reason, sizeof(res->reason), what);
	return st;
}

/* Chain, validity and purpose of each signer, classified. */
static enum verify_status
check_signers(CMS_ContentInfo *cms, X509_STORE *anchors, time_t at,
    struct verify_result *res)
{
	STACK_OF(X509) *untrusted = CMS_get1_certs(cms);
	enum verify_status st = VERIFY_OK;
	int i;

	for (i = 0; st == VERIFY_OK && i < sk_X509_num(res->signers); i++) {
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		int e;

		if (ctx == NULL || X509_STORE_CTX_init(ctx, anchors,
		    sk_X509_value(res->signers, i), untrusted) != 1) {
			X509_STORE_CTX_free(ctx);
			st = set_status(res, VERIFY_INVALID, "out of memory");
			break;
		}
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
		if (at != 0)
			X509_VERIFY_PARAM_set_time(
			    X509_STORE_CTX_get0_param(ctx), at);
		if (X509_verify_cert(ctx) != 1) {
			e = X509_STORE_CTX_get_error(ctx);
			st = e == X509_V_ERR_CERT_HAS_EXPIRED ||
			    e == X509_V_ERR_CERT_NOT_YET_VALID ?
			    VERIFY_EXPIRED :
			    e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			    e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
			    e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
			    e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ?
			    VERIFY_UNTRUSTED : VERIFY_INVALID;
			res->status = st;
			snprintf(res->reason, sizeof(res->reason), "signer "
			    "certificate: %s", X509_verify_cert_error_string(e));
		}
		X509_STORE_CTX_free(ctx);
	}
	sk_X509_pop_free(untrusted, X509_free);
	return st;
}

enum verify_status
smime_verify(const unsigned char *msg, size_t len, X509_STORE *anchors,
    time_t at, const struct sink *content_out, struct verify_result *res)
{
	BIO *bcont = NULL, *out = NULL;
	CMS_ContentInfo *cms;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *signers;
	unsigned long e;

	memset(res, 0, sizeof(*res));
	if ((cms = read_cms(msg, len, &bcont, res->reason,
	    sizeof(res->reason))) == NULL) {
		res->status = VERIFY_MALFORMED;
		goto done;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		set_status(res, VERIFY_NOT_SIGNED, "not a signed message");
		goto done;
	}
	if (content_out != NULL && (out = sink_bio_writer(content_out)) ==
	    NULL) {
		set_status(res, VERIFY_MALFORMED, "out of memory");
		goto done;
	}
	/* First the signature over the content, then the signer's chain:
	 * this tells an altered message from an untrusted signer. */
	if (CMS_verify(cms, NULL, NULL, bcont, out, CMS_BINARY |
	    CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		e = ERR_peek_last_error();
		set_status(res, ERR_GET_REASON(e) == CMS_R_CONTENT_VERIFY_ERROR
		    ? VERIFY_CONTENT_ALTERED : ERR_GET_REASON(e) ==
		    CMS_R_VERIFICATION_FAILURE ? VERIFY_BAD_SIGNATURE :
		    VERIFY_MALFORMED, "signature check failed");
		goto done;
	}
	/* A new stack of certificates that belong to cms. */
	signers = CMS_get0_signers(cms);
	res->signers = X509_chain_up_ref(signers);
	sk_X509_free(signers);
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) > 0) {
		caps_from_signer(sk_CMS_SignerInfo_value(sis, 0), &res->caps);
		res->signing_time = signing_time(sk_CMS_SignerInfo_value(sis,
		    0));
	}
	if (check_signers(cms, anchors, at, res) == VERIFY_OK) {
		res->status = VERIFY_OK;
		snprintf(res->reason, sizeof(res->reason), "signature ok");
	}
done:
	ERR_clear_error();
	BIO_free(bcont);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return res->status;
}

int
smime_decrypt(const unsigned char *msg, size_t len, EVP_PKEY *key,
    X509 *cert, const struct sink *out, char *err, size_t errlen)
{
	CMS_ContentInfo *cms;
	BIO *plain = NULL;
	char *data;
	long n;
	int rc = -1, nid;

	if ((cms = read_cms(msg, len, NULL, err, errlen)) == NULL)
		return -1;
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData) {
		snprintf(err, errlen, "not an encrypted message");
		goto done;
	}
	/* Decrypt into memory first: nothing leaves before the AEAD tag and
	 * the padding have been checked (EFAIL). */
	if ((plain = BIO_new(BIO_s_mem())) == NULL ||
	    CMS_decrypt(cms, key, cert, NULL, plain, CMS_BINARY) != 1) {
		ssl_error(err, errlen, "cannot decrypt");
		goto done;
	}
	n = BIO_get_mem_data(plain, &data);
	if (sink_write(out, data, (size_t)n, err, errlen) != 0)
		goto done;
	rc = 0;
done:
	ERR_clear_error();
	BIO_free(plain);
	CMS_ContentInfo_free(cms);
	return rc;
}
