/*
 * cmscheck.c -- a copy's recipients, read back, against its group.
 *
 * Why our own reading of every copy plus OpenSSL's reading of one copy
 * per kind of RecipientInfo is as sound as OpenSSL reading every copy:
 *
 * What must hold for each copy, on the bytes written: its RecipientInfos
 * identify exactly the certificates of its group -- no one else can find
 * a key in it, everyone of the group can -- and nothing else in it can
 * name a recipient.  Our DER reader establishes, per copy, from the very
 * base64 text that is written:
 *   (a) the prefix is the envelope's one layout with every length exact
 *       (definite, minimal, nested without gap or surplus), so there is
 *       no originatorInfo, attribute or stray byte, and content type,
 *       algorithm, IV and ciphertext length are the envelope's;
 *   (b) the RecipientInfos are only ktri and kari (KEK, password, other
 *       refused), their recipient identifiers are, as a multiset, byte
 *       for byte the IssuerAndSerialNumbers of the group's certificates,
 *       each inside the kind of RecipientInfo its key calls for, every
 *       ktri is version 0 with the envelope's keyEncryptionAlgorithm and
 *       an encryptedKey of its modulus' size.
 * DER has exactly one encoding per value and the reader accepts nothing
 * else, so any conforming parser sees the same tree.  What OpenSSL's
 * reading can still catch is a mistake in our code's notion of which
 * field is which (an OID constant, the position of the rid, a kari
 * walked wrongly).  Such a mistake is systematic: all copies of an
 * envelope are built by the same code from the same constants and differ
 * only in their RecipientInfos' identifiers, wrapped keys and lengths,
 * which (b) checks.  So OpenSSL reads the first copy that contains a kind
 * of RecipientInfo not yet read by it (at most two reads per envelope),
 * and that copy is written only if OpenSSL agrees.  The identifiers that
 * do vary are compared with what OpenSSL's own encoder makes of the
 * certificate's issuer (i2d of a parsed name returns the certificate's
 * own bytes) and serial (a DER INTEGER has one encoding), so every
 * reader that matches by issuer and serial -- OpenSSL compares canonical
 * names, gpgsm names and serials -- matches each to its certificate.
 * tests/unit/test_cmsenv.c (test_selfcheck_tampered) changes copies in
 * a rid, the algorithm and the version while OpenSSL's reading is left
 * out, and must see every one refused.
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
	const X509_NAME *name = X509_get_issuer_name(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char *out, *o;
	int nl = i2d_X509_NAME(name, NULL);
	int sl = i2d_ASN1_INTEGER(serial, NULL);
	size_t content;

	if (nl <= 0 || sl <= 0)
		return NULL;
	content = (size_t)nl + (size_t)sl;
	if ((out = malloc(DER_HDR_MAX + content)) == NULL)
		return NULL;
	o = out + der_put_hdr(out, DER_SEQ, content);
	if (i2d_X509_NAME(name, &o) != nl ||
	    i2d_ASN1_INTEGER(serial, &o) != sl) {
		free(out);
		return NULL;
	}
	*len = (size_t)(o - out);
	return out;
}

/* An expected identifier, or a found one, with where it came from. */
struct id {
	const unsigned char *der;
	size_t len;
	size_t index;		/* into the certificates or the rids */
};

static int
id_order(const void *a, const void *b)
{
	const struct id *x = a, *y = b;
	int c = memcmp(x->der, y->der, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* A found RecipientInfo fits the certificate its identifier names. */
static int
check_kind(const struct cmsder_rid *rid, X509 *cert,
    const struct cmscheck_expect *x, size_t i, char *err, size_t errlen)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	int type = pk != NULL ? EVP_PKEY_get_base_id(pk) : EVP_PKEY_NONE;

	if (rid->agree) {
		if (type == EVP_PKEY_EC)
			return 0;
		snprintf(err, errlen, "self-check: key agreement for "
		    "recipient %zu, which has no EC key", i + 1);
		return -1;
	}
	if (type != EVP_PKEY_RSA) {
		snprintf(err, errlen, "self-check: key transport for "
		    "recipient %zu, which has no RSA key", i + 1);
		return -1;
	}
	if (rid->version != 0 || rid->alglen != x->ktri_alglen ||
	    memcmp(rid->alg, x->ktri_alg, x->ktri_alglen) != 0 ||
	    rid->keylen != (uint64_t)EVP_PKEY_get_size(pk)) {
		snprintf(err, errlen, "self-check: KeyTransRecipientInfo of "
		    "recipient %zu differs in version, algorithm or key size",
		    i + 1);
		return -1;
	}
	return 0;
}

/*
 * Our reading: the rids equal the expected IssuerAndSerialNumbers as a
 * multiset (both sorted, then compared in order), each in the right kind
 * of RecipientInfo.  *kinds: the CMSCHECK_ kinds present.
 */
static int
check_rids_der(const struct cmsder_copy *c, const struct cmscheck_expect *x,
    unsigned *kinds, char *err, size_t errlen)
{
	size_t m = x->ncerts, n = 0, i;
	struct cmsder_rid *rids = calloc(m + 1, sizeof(*rids));
	struct id *want = calloc(m + 1, sizeof(*want));
	struct id *have = calloc(m + 1, sizeof(*have));
	int rc = -1;

	if (rids == NULL || want == NULL || have == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	if (cmsder_rids(c->riset, c->risetlen, rids, m + 1, &n, err,
	    errlen) != 0)
		goto cleanup;
	if (n != m) {
		snprintf(err, errlen, "self-check: %zu recipient "
		    "identifiers for %zu certificates", n, m);
		goto cleanup;
	}
	for (i = 0; i < m; i++) {
		want[i].index = have[i].index = i;
		have[i].der = rids[i].der;
		have[i].len = rids[i].len;
		if ((want[i].der = issuer_serial(x->certs[i],
		    &want[i].len)) == NULL) {
			ssl_error(err, errlen, "self-check: cannot encode "
			    "issuer and serial");
			goto cleanup;
		}
	}
	qsort(want, m, sizeof(*want), id_order);
	qsort(have, m, sizeof(*have), id_order);
	*kinds = 0;
	for (i = 0; i < m; i++) {
		if (id_order(&want[i], &have[i]) != 0) {
			snprintf(err, errlen, "self-check: recipient %zu of "
			    "the group has no RecipientInfo of its own",
			    want[i].index + 1);
			goto cleanup;
		}
		if (check_kind(&rids[have[i].index], x->certs[want[i].index],
		    x, want[i].index, err, errlen) != 0)
			goto cleanup;
		*kinds |= rids[have[i].index].agree ? CMSCHECK_KARI :
		    CMSCHECK_KTRI;
	}
	rc = 0;
cleanup:
	for (i = 0; want != NULL && i < m; i++)
		free((void *)want[i].der);
	free(rids);
	free(want);
	free(have);
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
	unsigned kinds = 0;
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
	if (check_rids_der(&c, x, &kinds, err, errlen) != 0)
		goto cleanup;
	if (x->openssl_seen == NULL || (kinds & ~*x->openssl_seen) != 0) {
		if (check_openssl(&c, x, err, errlen) != 0)
			goto cleanup;
		if (x->openssl_seen != NULL)
			*x->openssl_seen |= kinds;
	}
	rc = 0;
cleanup:
	free(bytes);
	return rc;
}
