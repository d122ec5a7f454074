/*
 * cmsder.c -- build and read back the DER prefix of an enveloped copy.
 */
#include "cmsder.h"

#include <stdio.h>
#include <string.h>

#include "der.h"

/* Object identifiers, as whole TLVs. */
static const unsigned char oid_data[] = {	/* 1.2.840.113549.1.7.1 */
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const unsigned char oid_enveloped[] = {	/* 1.2.840.113549.1.7.3 */
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const unsigned char oid_auth_enveloped[] = {
	/* 1.2.840.113549.1.9.16.1.23 */
	0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
	0x01, 0x17 };
/* 2.16.840.1.101.3.4.1.x: aes128-CBC 2, -GCM 6; aes256-CBC 42, -GCM 46 */
static const unsigned char oid_aes_stem[] = {
	0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };

#define VERSION_TLV	3	/* INTEGER 0 or 2 */

static const unsigned char *
content_type(bool auth, size_t *len)
{
	*len = auth ? sizeof(oid_auth_enveloped) : sizeof(oid_enveloped);
	return auth ? oid_auth_enveloped : oid_enveloped;
}

/* Contents lengths of the nested SEQUENCEs, outermost last. */
struct lens {
	uint64_t eci, ed, a0, ci;
};

static void
compute(const struct cmsder_copy *c, struct lens *l)
{
	size_t ctl;

	(void)content_type(c->auth, &ctl);
	l->eci = sizeof(oid_data) + c->alglen + der_hdr_len(c->ctlen) +
	    c->ctlen;
	l->ed = VERSION_TLV + c->risetlen + der_hdr_len(l->eci) + l->eci +
	    (c->auth ? CMSDER_MAC_TLV : 0);
	l->a0 = der_hdr_len(l->ed) + l->ed;
	l->ci = ctl + der_hdr_len(l->a0) + l->a0;
}

size_t
cmsder_prefix_len(const struct cmsder_copy *c)
{
	struct lens l;
	size_t ctl;

	compute(c, &l);
	(void)content_type(c->auth, &ctl);
	return der_hdr_len(l.ci) + ctl + der_hdr_len(l.a0) +
	    der_hdr_len(l.ed) + VERSION_TLV + c->risetlen +
	    der_hdr_len(l.eci) + sizeof(oid_data) + c->alglen +
	    der_hdr_len(c->ctlen);
}

size_t
cmsder_prefix(const struct cmsder_copy *c, unsigned char *out)
{
	const unsigned char *ct;
	unsigned char *o = out;
	struct lens l;
	size_t ctl;

	compute(c, &l);
	ct = content_type(c->auth, &ctl);
	o += der_put_hdr(o, DER_SEQ, l.ci);
	memcpy(o, ct, ctl);
	o += ctl;
	o += der_put_hdr(o, DER_CTXC(0), l.a0);
	o += der_put_hdr(o, DER_SEQ, l.ed);
	*o++ = DER_INTEGER;
	*o++ = 1;
	*o++ = (unsigned char)c->version;
	memcpy(o, c->riset, c->risetlen);
	o += c->risetlen;
	o += der_put_hdr(o, DER_SEQ, l.eci);
	memcpy(o, oid_data, sizeof(oid_data));
	o += sizeof(oid_data);
	memcpy(o, c->alg, c->alglen);
	o += c->alglen;
	o += der_put_hdr(o, DER_CTX(0), c->ctlen);
	return (size_t)(o - out);
}

void
cmsder_mac(const unsigned char tag[CMSDER_TAG_LEN], unsigned char *out)
{
	out[0] = DER_OCTETS;
	out[1] = CMSDER_TAG_LEN;
	memcpy(out + 2, tag, CMSDER_TAG_LEN);
}

/* Step over the header of a (possibly incomplete) element with tag. */
static int
enter(struct der_cur *c, unsigned char tag, struct der_elem *e)
{
	if (der_peek(c->p, c->left, e) != 0 || e->tag != tag)
		return -1;
	c->p += e->hdrlen;
	c->left -= e->hdrlen;
	return 0;
}

static bool
tlv_equal(const struct der_elem *e, const unsigned char *tlv, size_t len)
{
	return der_total(e) == len && memcmp(e->start, tlv, len) == 0;
}

int
cmsder_parse_prefix(const unsigned char *p, size_t len,
    struct cmsder_copy *c, size_t *prefixlen, char *err, size_t errlen)
{
	struct der_cur cur = der_cursor(p, len);
	struct der_elem ci, oid, a0, ed, ver, set, eci, data, alg, ec;
	uint64_t fixed;
	const char *what;

	what = "ContentInfo";
	if (enter(&cur, DER_SEQ, &ci) != 0 || der_next(&cur, DER_OID, &oid))
		goto bad;
	if (tlv_equal(&oid, oid_enveloped, sizeof(oid_enveloped)))
		c->auth = false;
	else if (tlv_equal(&oid, oid_auth_enveloped,
	    sizeof(oid_auth_enveloped)))
		c->auth = true;
	else {
		what = "content type";
		goto bad;
	}
	what = "EnvelopedData";
	if (enter(&cur, DER_CTXC(0), &a0) != 0 ||
	    enter(&cur, DER_SEQ, &ed) != 0 ||
	    der_next(&cur, DER_INTEGER, &ver) != 0 || ver.len != 1)
		goto bad;
	c->version = ver.val[0];
	what = "RecipientInfos (or unexpected originatorInfo)";
	if (der_next(&cur, DER_SET, &set) != 0)
		goto bad;
	c->riset = set.start;
	c->risetlen = (size_t)der_total(&set);
	what = "EncryptedContentInfo";
	if (enter(&cur, DER_SEQ, &eci) != 0 ||
	    der_next(&cur, DER_OID, &data) != 0 ||
	    !tlv_equal(&data, oid_data, sizeof(oid_data)) ||
	    der_next(&cur, DER_SEQ, &alg) != 0 ||
	    enter(&cur, DER_CTX(0), &ec) != 0)
		goto bad;
	c->alg = alg.start;
	c->alglen = (size_t)der_total(&alg);
	c->ctlen = ec.len;
	*prefixlen = (size_t)(cur.p - p);

	/* Each length must hold exactly what we expect, nothing more. */
	what = "length of EncryptedContentInfo";
	fixed = der_total(&data) + der_total(&alg) + ec.hdrlen;
	if (eci.len < fixed || eci.len - fixed != ec.len)
		goto bad;
	what = "length of EnvelopedData";
	fixed = der_total(&ver) + der_total(&set) + eci.hdrlen +
	    (c->auth ? CMSDER_MAC_TLV : 0);
	if (ed.len < fixed || ed.len - fixed != eci.len)
		goto bad;
	what = "length of [0] content";
	if (a0.len != der_total(&ed))
		goto bad;
	what = "length of ContentInfo";
	if (ci.len != der_total(&oid) + der_total(&a0))
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "self-check: bad %s in the DER prefix", what);
	return -1;
}

int
cmsder_find_riset(const unsigned char *der, size_t len,
    const unsigned char **set, size_t *setlen)
{
	struct der_cur c = der_cursor(der, len), in;
	struct der_elem e;

	if (der_next(&c, DER_SEQ, &e) != 0)
		return -1;
	in = der_inside(&e);
	if (der_next(&in, DER_OID, &e) != 0 ||
	    der_next(&in, DER_CTXC(0), &e) != 0)
		return -1;
	in = der_inside(&e);
	if (der_next(&in, DER_SEQ, &e) != 0)
		return -1;
	in = der_inside(&e);
	if (der_next(&in, DER_INTEGER, &e) != 0)
		return -1;
	(void)der_next(&in, DER_CTXC(0), &e);	/* originatorInfo */
	if (der_next(&in, DER_SET, &e) != 0)
		return -1;
	*set = e.start;
	*setlen = (size_t)der_total(&e);
	return 0;
}

int
cmsder_kekri_key(const unsigned char *der, size_t len,
    const unsigned char **key, size_t *keylen)
{
	const unsigned char *set;
	struct der_elem s, ri, e;
	struct der_cur c, in;
	size_t setlen, found = 0;

	if (cmsder_find_riset(der, len, &set, &setlen) != 0)
		return -1;
	c = der_cursor(set, setlen);
	if (der_next(&c, DER_SET, &s) != 0)
		return -1;
	c = der_inside(&s);
	while (!der_at_end(&c)) {
		if (der_next(&c, 0, &ri) != 0 || ri.tag != DER_CTXC(2))
			return -1;
		in = der_inside(&ri);
		if (der_next(&in, DER_INTEGER, &e) != 0 ||
		    der_next(&in, DER_SEQ, &e) != 0 ||	/* kekid */
		    der_next(&in, DER_SEQ, &e) != 0 ||	/* algorithm */
		    der_next(&in, DER_OCTETS, &e) != 0)
			return -1;
		*key = e.val;
		*keylen = (size_t)e.len;
		found++;
	}
	return found == 1 ? 0 : -1;
}

int
cmsder_env_version(const unsigned char *set, size_t len)
{
	struct der_cur c = der_cursor(set, len), in;
	struct der_elem s, ri, v;
	int version = 0;

	if (der_next(&c, DER_SET, &s) != 0 || !der_at_end(&c))
		return -1;
	c = der_inside(&s);
	while (!der_at_end(&c)) {
		if (der_next(&c, 0, &ri) != 0)
			return -1;
		if (ri.tag != DER_SEQ) {
			version = 2;	/* kari, kekri, pwri, ori */
			continue;
		}
		in = der_inside(&ri);
		if (der_next(&in, DER_INTEGER, &v) != 0 || v.len != 1)
			return -1;
		if (v.val[0] != 0)
			version = 2;	/* ktri with a key identifier */
	}
	return version;
}

static int
add_rid(const struct der_elem *e, struct cmsder_rid *rids, size_t max,
    size_t *n, char *err, size_t errlen)
{
	if (*n >= max) {
		snprintf(err, errlen, "self-check: more recipient "
		    "identifiers than recipients");
		return -1;
	}
	memset(&rids[*n], 0, sizeof(rids[*n]));
	rids[*n].der = e->start;
	rids[*n].len = (size_t)der_total(e);
	rids[*n].agree = true;
	(*n)++;
	return 0;
}

/* KeyTransRecipientInfo: version, rid, algorithm, encryptedKey. */
static int
ktri_rid(const struct der_elem *ri, struct der_elem *rid,
    struct cmsder_rid *out)
{
	struct der_cur in = der_inside(ri);
	struct der_elem v, alg, key;

	if (der_next(&in, DER_INTEGER, &v) != 0 || der_next(&in, 0, rid) ||
	    (rid->tag != DER_SEQ && rid->tag != DER_CTX(0)) ||
	    der_next(&in, DER_SEQ, &alg) != 0 ||
	    der_next(&in, DER_OCTETS, &key) != 0 || !der_at_end(&in))
		return -1;
	out->version = v.len == 1 && v.val[0] < 0x80 ? v.val[0] : -1;
	out->alg = alg.start;
	out->alglen = (size_t)der_total(&alg);
	out->keylen = key.len;
	return 0;
}

/*
 * KeyAgreeRecipientInfo: version, [0] originator, [1] ukm OPTIONAL,
 * algorithm, recipientEncryptedKeys SEQUENCE OF { rid, encryptedKey }.
 */
static int
kari_rids(const struct der_elem *ri, struct cmsder_rid *rids, size_t max,
    size_t *n, char *err, size_t errlen)
{
	struct der_cur in = der_inside(ri), reks, rek;
	struct der_elem e, seq, rid;

	if (der_next(&in, DER_INTEGER, &e) != 0 ||
	    der_next(&in, DER_CTXC(0), &e) != 0)
		goto bad;
	(void)der_next(&in, DER_CTXC(1), &e);	/* ukm */
	if (der_next(&in, DER_SEQ, &e) != 0 ||
	    der_next(&in, DER_SEQ, &seq) != 0 || !der_at_end(&in))
		goto bad;
	reks = der_inside(&seq);
	if (der_at_end(&reks))
		goto bad;
	while (!der_at_end(&reks)) {
		if (der_next(&reks, DER_SEQ, &e) != 0)
			goto bad;
		rek = der_inside(&e);
		if (der_next(&rek, 0, &rid) != 0 ||
		    (rid.tag != DER_SEQ && rid.tag != DER_CTXC(0)) ||
		    der_next(&rek, DER_OCTETS, &e) != 0 || !der_at_end(&rek))
			goto bad;
		if (add_rid(&rid, rids, max, n, err, errlen) != 0)
			return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "self-check: malformed KeyAgreeRecipientInfo");
	return -1;
}

int
cmsder_rids(const unsigned char *set, size_t len, struct cmsder_rid *rids,
    size_t max, size_t *n, char *err, size_t errlen)
{
	static const char *const kinds[] = { "key agreement", "KEK",
	    "password", "other" };
	struct der_cur c = der_cursor(set, len);
	struct der_elem s, ri, rid;

	*n = 0;
	if (der_next(&c, DER_SET, &s) != 0 || !der_at_end(&c)) {
		snprintf(err, errlen, "self-check: malformed RecipientInfos");
		return -1;
	}
	c = der_inside(&s);
	while (!der_at_end(&c)) {
		if (der_next(&c, 0, &ri) != 0) {
			snprintf(err, errlen,
			    "self-check: malformed RecipientInfo");
			return -1;
		}
		if (ri.tag == DER_SEQ) {
			struct cmsder_rid kt;

			if (ktri_rid(&ri, &rid, &kt) != 0) {
				snprintf(err, errlen, "self-check: malformed "
				    "KeyTransRecipientInfo");
				return -1;
			}
			if (add_rid(&rid, rids, max, n, err, errlen) != 0)
				return -1;
			rids[*n - 1].agree = false;
			rids[*n - 1].version = kt.version;
			rids[*n - 1].alg = kt.alg;
			rids[*n - 1].alglen = kt.alglen;
			rids[*n - 1].keylen = kt.keylen;
		} else if (ri.tag == DER_CTXC(1)) {
			if (kari_rids(&ri, rids, max, n, err, errlen) != 0)
				return -1;
		} else {
			snprintf(err, errlen, "self-check: unexpected %s "
			    "RecipientInfo in a copy",
			    ri.tag >= DER_CTXC(2) && ri.tag <= DER_CTXC(4) ?
			    kinds[ri.tag - DER_CTXC(1)] : "unknown");
			return -1;
		}
	}
	return 0;
}

size_t
cmsder_alg(bool gcm, int keybits, const unsigned char *iv, unsigned char *out)
{
	unsigned char *o = out;
	unsigned char arc;

	if (gcm)
		arc = keybits == 256 ? 46 : 6;
	else
		arc = keybits == 256 ? 42 : 2;
	*o++ = DER_SEQ;
	*o++ = (unsigned char)(sizeof(oid_aes_stem) + 1 + (gcm ? 19 : 18));
	memcpy(o, oid_aes_stem, sizeof(oid_aes_stem));
	o += sizeof(oid_aes_stem);
	*o++ = arc;
	if (gcm) {
		/* GCMParameters ::= SEQUENCE { aes-nonce, aes-ICVlen 16 } */
		*o++ = DER_SEQ;
		*o++ = 17;
		*o++ = DER_OCTETS;
		*o++ = 12;
		memcpy(o, iv, 12);
		o += 12;
		*o++ = DER_INTEGER;
		*o++ = 1;
		*o++ = CMSDER_TAG_LEN;
	} else {
		*o++ = DER_OCTETS;
		*o++ = 16;
		memcpy(o, iv, 16);
		o += 16;
	}
	return (size_t)(o - out);
}
