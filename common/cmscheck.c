/*
 * cmscheck.c -- a copy's recipients, read back twice, against its group.
 */
#include "cmscheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "b64out.h"
#include "cmsder.h"
#include "der.h"
#include "sslerr.h"

/* The IssuerAndSerialNumber DER of cert (malloc'd), or NULL. */
static unsigned char *
issuer_serial(X509 *cert, size_t *len)
{
	unsigned char *name = NULL, *serial = NULL, *out = NULL, *o;
	int nl, sl;
	size_t content;

	nl = i2d_X509_NAME(X509_get_issuer_name(cert), &name);
	sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
	if (nl <= 0 || sl <= 0)
		goto cleanup;
	content = (size_t)nl + (size_t)sl;
	if ((out = malloc(DER_HDR_MAX + content)) == NULL)
		goto cleanup;
	o = out + der_put_hdr(out, DER_SEQ, content);
	memcpy(o, name, (size_t)nl);
	memcpy(o + nl, serial, (size_t)sl);
	*len = (size_t)(o - out) + content;
cleanup:
	OPENSSL_free(name);
	OPENSSL_free(serial);
	return out;
}

/* Our reading: every rid equals one expected IssuerAndSerialNumber. */
static int
check_rids_der(const struct cmsder_copy *c, const struct cmscheck_expect *x,
    char *err, size_t errlen)
{
	struct cmsder_rid *rids;
	unsigned char *ias = NULL;
	bool *used = NULL;
	size_t n, i, j, len;
	int rc = -1;

	rids = calloc(x->ncerts + 1, sizeof(*rids));
	used = calloc(x->ncerts + 1, sizeof(*used));
	if (rids == NULL || used == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	if (cmsder_rids(c->riset, c->risetlen, rids, x->ncerts + 1, &n, err,
	    errlen) != 0)
		goto cleanup;
	if (n != x->ncerts) {
		snprintf(err, errlen, "self-check: %zu recipient "
		    "identifiers for %zu certificates", n, x->ncerts);
		goto cleanup;
	}
	for (i = 0; i < x->ncerts; i++) {
		if ((ias = issuer_serial(x->certs[i], &len)) == NULL) {
			ssl_error(err, errlen, "self-check: cannot encode "
			    "issuer and serial");
			goto cleanup;
		}
		for (j = 0; j < n; j++)
			if (!used[j] && rids[j].len == len &&
			    memcmp(rids[j].der, ias, len) == 0)
				break;
		free(ias);
		ias = NULL;
		if (j == n) {
			snprintf(err, errlen, "self-check: recipient %zu of "
			    "the group has no RecipientInfo", i + 1);
			goto cleanup;
		}
		used[j] = true;
	}
	rc = 0;
cleanup:
	free(rids);
	free(used);
	return rc;
}

/* Mark the first unused certificate that OpenSSL says matches. */
static int
claim(const struct cmscheck_expect *x, bool *used, CMS_RecipientInfo *ri,
    CMS_RecipientEncryptedKey *rek)
{
	size_t i;
	int cmp;

	for (i = 0; i < x->ncerts; i++) {
		if (used[i])
			continue;
		cmp = rek != NULL ?
		    CMS_RecipientEncryptedKey_cert_cmp(rek, x->certs[i]) :
		    CMS_RecipientInfo_ktri_cert_cmp(ri, x->certs[i]);
		if (cmp == 0) {
			used[i] = true;
			return 0;
		}
	}
	return -1;
}

static int
match_openssl(CMS_ContentInfo *cms, const struct cmscheck_expect *x,
    bool *used, char *err, size_t errlen)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	STACK_OF(CMS_RecipientEncryptedKey) *reks;
	CMS_RecipientInfo *ri;
	size_t found = 0;
	int i, j;

	if (ris == NULL) {
		snprintf(err, errlen, "self-check: OpenSSL sees no "
		    "RecipientInfos");
		return -1;
	}
	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		switch (CMS_RecipientInfo_type(ri)) {
		case CMS_RECIPINFO_TRANS:
			if (claim(x, used, ri, NULL) != 0)
				goto stranger;
			found++;
			break;
		case CMS_RECIPINFO_AGREE:
			reks = CMS_RecipientInfo_kari_get0_reks(ri);
			for (j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks);
			    j++) {
				if (claim(x, used, ri,
				    sk_CMS_RecipientEncryptedKey_value(reks,
				    j)) != 0)
					goto stranger;
				found++;
			}
			break;
		default:
			snprintf(err, errlen, "self-check: OpenSSL sees a "
			    "RecipientInfo of type %d",
			    CMS_RecipientInfo_type(ri));
			return -1;
		}
	}
	if (found != x->ncerts) {
		snprintf(err, errlen, "self-check: OpenSSL sees %zu "
		    "recipients for %zu certificates", found, x->ncerts);
		return -1;
	}
	return 0;
stranger:
	snprintf(err, errlen, "self-check: OpenSSL finds RecipientInfo %d "
	    "for no certificate of the group", i + 1);
	return -1;
}

/* OpenSSL's reading of the same fields around a dummy ciphertext. */
static int
check_openssl(const struct cmsder_copy *c, const struct cmscheck_expect *x,
    char *err, size_t errlen)
{
	struct cmsder_copy small = *c;
	static const unsigned char zero[CMSDER_TAG_LEN];
	unsigned char *der, *o;
	const unsigned char *p;
	CMS_ContentInfo *cms = NULL;
	bool *used = NULL;
	size_t plen, total;
	int rc = -1, nid;

	small.ctlen = 16;
	plen = cmsder_prefix_len(&small);
	total = plen + 16 + (c->auth ? CMSDER_MAC_TLV : 0);
	if ((der = malloc(total)) == NULL ||
	    (used = calloc(x->ncerts + 1, sizeof(*used))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	o = der + cmsder_prefix(&small, der);
	memset(o, 0, 16);
	if (c->auth)
		cmsder_mac(zero, o + 16);
	p = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)total)) == NULL ||
	    p != der + total) {
		ssl_error(err, errlen, "self-check: OpenSSL cannot parse "
		    "the copy");
		goto cleanup;
	}
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid != (c->auth ? NID_id_smime_ct_authEnvelopedData :
	    NID_pkcs7_enveloped)) {
		snprintf(err, errlen, "self-check: OpenSSL sees content "
		    "type %s", OBJ_nid2sn(nid));
		goto cleanup;
	}
	rc = match_openssl(cms, x, used, err, errlen);
cleanup:
	ERR_clear_error();	/* the cert_cmp misses leave entries */
	CMS_ContentInfo_free(cms);
	free(der);
	free(used);
	return rc;
}

int
cmscheck_copy(const char *head, size_t headlen,
    const struct cmscheck_expect *x, char *err, size_t errlen)
{
	struct cmsder_copy c;
	unsigned char *bytes;
	size_t n, plen;
	int version, rc = -1;

	if ((bytes = malloc(headlen / 4 * 3 + 3)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (b64out_decode(head, headlen, bytes, &n) != 0) {
		snprintf(err, errlen, "self-check: bad base64 in the head");
		goto cleanup;
	}
	if (cmsder_parse_prefix(bytes, n, &c, &plen, err, errlen) != 0)
		goto cleanup;
	if (plen != x->prefixlen || c.auth != x->auth ||
	    c.ctlen != x->ctlen || c.alglen != x->alglen ||
	    memcmp(c.alg, x->alg, x->alglen) != 0) {
		snprintf(err, errlen, "self-check: prefix differs from the "
		    "encryption (type, algorithm, IV or length)");
		goto cleanup;
	}
	version = c.auth ? 0 : cmsder_env_version(c.riset, c.risetlen);
	if (version < 0 || c.version != version) {
		snprintf(err, errlen, "self-check: version %d, expected %d",
		    c.version, version);
		goto cleanup;
	}
	if (check_rids_der(&c, x, err, errlen) != 0 ||
	    check_openssl(&c, x, err, errlen) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(bytes);
	return rc;
}
