/*
 * test_der.c -- the minimal DER reader/writer (der.c) and the enveloped
 * copy layout built on it (cmsder.c): headers at every length boundary,
 * refusal of non-DER, prefix build/parse round trips up to
 * lengths beyond 4 GB, the RecipientInfo walkers, and a prefix that
 * OpenSSL parses.
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

#include "cmsder.h"
#include "der.h"

static void
test_header_lengths(void **state)
{
	static const struct {
		uint64_t len;
		size_t hdrlen;
		unsigned char hdr[DER_HDR_MAX];
	} t[] = {
		{ 0, 2, { 0x04, 0x00 } },
		{ 127, 2, { 0x04, 0x7f } },
		{ 128, 3, { 0x04, 0x81, 0x80 } },
		{ 255, 3, { 0x04, 0x81, 0xff } },
		{ 256, 4, { 0x04, 0x82, 0x01, 0x00 } },
		{ 65535, 4, { 0x04, 0x82, 0xff, 0xff } },
		{ 65536, 5, { 0x04, 0x83, 0x01, 0x00, 0x00 } },
		{ 0x100000000ull, 7, { 0x04, 0x85, 0x01, 0, 0, 0, 0 } },
		{ UINT64_MAX, 10, { 0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xff } },
	};
	unsigned char buf[DER_HDR_MAX];
	struct der_elem e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(der_hdr_len(t[i].len), t[i].hdrlen);
		assert_int_equal(der_put_hdr(buf, DER_OCTETS, t[i].len),
		    t[i].hdrlen);
		assert_memory_equal(buf, t[i].hdr, t[i].hdrlen);
		assert_int_equal(der_peek(buf, t[i].hdrlen, &e), 0);
		assert_int_equal(e.tag, DER_OCTETS);
		assert_int_equal(e.hdrlen, t[i].hdrlen);
		assert_true(e.len == t[i].len);
		/* Truncated headers are refused. */
		assert_int_equal(der_peek(buf, t[i].hdrlen - 1, &e), -1);
	}
}

static void
test_not_der(void **state)
{
	static const struct {
		size_t len;
		unsigned char b[6];
	} bad[] = {
		{ 3, { 0x1f, 0x81, 0x00 } },	/* high tag number */
		{ 2, { 0x30, 0x80 } },			/* indefinite */
		{ 3, { 0x04, 0x81, 0x05 } },	/* short form fits */
		{ 4, { 0x04, 0x82, 0x00, 0x90 } },	/* leading zero */
		{ 1, { 0x04 } },
	};
	struct der_elem e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(der_peek(bad[i].b, bad[i].len, &e), -1);
}

static void
test_cursor(void **state)
{
	/* SEQUENCE { INTEGER 5, OCTET STRING "ab" } then a truncated one */
	static const unsigned char d[] = { 0x30, 0x07, 0x02, 0x01, 0x05, 0x04,
	    0x02, 'a', 'b', 0x04, 0x05, 'x' };
	struct der_cur c = der_cursor(d, sizeof(d)), in;
	struct der_elem e, i, o;

	(void)state;
	assert_int_equal(der_next(&c, DER_SET, &e), -1);	/* wrong tag */
	assert_int_equal(der_next(&c, DER_SEQ, &e), 0);
	assert_int_equal(der_total(&e), 9);
	in = der_inside(&e);
	assert_int_equal(der_next(&in, DER_INTEGER, &i), 0);
	assert_int_equal(i.val[0], 5);
	assert_int_equal(der_next(&in, 0, &o), 0);
	assert_int_equal(o.tag, DER_OCTETS);
	assert_memory_equal(o.val, "ab", 2);
	assert_true(der_at_end(&in));
	assert_int_equal(der_next(&c, 0, &e), -1);	/* past the end */
	assert_int_equal(c.left, 3);			/* unchanged */
}

/* A minimal RecipientInfos SET with one ktri (version v). */
static size_t
fake_riset(unsigned char *out, int v)
{
	static const unsigned char ktri_body[] = {
		0x30, 0x08,			/* IssuerAndSerialNumber */
		    0x30, 0x03, 0x31, 0x01, 0x00,	/* (not a real name) */
		    0x02, 0x01, 0x07,
		0x30, 0x02, 0x06, 0x00,		/* algorithm */
		0x04, 0x02, 0xaa, 0xbb,		/* encryptedKey */
	};
	size_t n = 0;

	out[n++] = DER_SET;
	out[n++] = (unsigned char)(2 + 3 + sizeof(ktri_body));
	out[n++] = DER_SEQ;
	out[n++] = (unsigned char)(3 + sizeof(ktri_body));
	out[n++] = DER_INTEGER;
	out[n++] = 1;
	out[n++] = (unsigned char)v;
	memcpy(out + n, ktri_body, sizeof(ktri_body));
	return n + sizeof(ktri_body);
}

static void
test_prefix_roundtrip(void **state)
{
	static const uint64_t lens[] = { 0, 1, 16, 100, 127, 128, 200, 65535,
	    65536, 50u << 20, 0x100000010ull };
	unsigned char set[64], alg[CMSDER_ALG_MAX], iv[16], buf[256];
	struct cmsder_copy c, back;
	size_t i, a, plen, got;
	char err[256];

	(void)state;
	memset(iv, 0x5a, sizeof(iv));
	for (a = 0; a < 2; a++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			memset(&c, 0, sizeof(c));
			c.auth = a == 1;
			c.riset = set;
			c.risetlen = fake_riset(set, 0);
			c.version = cmsder_env_version(set, c.risetlen);
			assert_int_equal(c.version, 0);
			c.alg = alg;
			c.alglen = cmsder_alg(c.auth, 256, iv, alg);
			c.ctlen = lens[i];
			plen = cmsder_prefix_len(&c);
			assert_true(plen <= sizeof(buf));
			assert_int_equal(cmsder_prefix(&c, buf), plen);
			assert_int_equal(cmsder_parse_prefix(buf, plen, &back,
			    &got, err, sizeof(err)), 0);
			assert_int_equal(got, plen);
			assert_int_equal(back.auth, c.auth);
			assert_true(back.ctlen == c.ctlen);
			assert_int_equal(back.risetlen, c.risetlen);
			assert_memory_equal(back.riset, set, c.risetlen);
			assert_memory_equal(back.alg, alg, c.alglen);
			/* A shorter buffer never parses. */
			assert_int_equal(cmsder_parse_prefix(buf, plen - 1,
			    &back, &got, err, sizeof(err)), -1);
		}
	}
}

static void
test_prefix_lengths_checked(void **state)
{
	unsigned char set[64], alg[CMSDER_ALG_MAX], iv[16], buf[256];
	struct cmsder_copy c, back;
	size_t plen, got;
	char err[256];

	(void)state;
	memset(iv, 1, sizeof(iv));
	memset(&c, 0, sizeof(c));
	c.riset = set;
	c.risetlen = fake_riset(set, 2);
	c.version = cmsder_env_version(set, c.risetlen);
	assert_int_equal(c.version, 2);
	c.alg = alg;
	c.alglen = cmsder_alg(false, 128, iv, alg);
	c.ctlen = 32;
	plen = cmsder_prefix(&c, buf);
	/* Outer SEQUENCE one octet too long: something would follow. */
	buf[1]++;
	assert_int_equal(cmsder_parse_prefix(buf, plen, &back, &got, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ContentInfo"));
	buf[1]--;
	/* encryptedContent one octet shorter than the EncryptedContentInfo. */
	buf[plen - 1]--;
	assert_int_equal(cmsder_parse_prefix(buf, plen, &back, &got, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "EncryptedContentInfo"));
}

static void
test_rids(void **state)
{
	unsigned char set[64];
	struct cmsder_rid rids[2];
	size_t n, len;
	char err[256];
	/* SET { [2] kekri } is refused by name. */
	static const unsigned char kek[] = { 0x31, 0x04, 0xa2, 0x02, 0x05,
	    0x00 };

	(void)state;
	len = fake_riset(set, 0);
	assert_int_equal(cmsder_rids(set, len, rids, 2, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rids[0].der[0], DER_SEQ);
	assert_int_equal(rids[0].len, 10);
	assert_int_equal(cmsder_rids(set, len, rids, 0, &n, err,
	    sizeof(err)), -1);
	assert_int_equal(cmsder_rids(kek, sizeof(kek), rids, 2, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "KEK"));
}

/* OpenSSL accepts our algorithm identifiers and our layout. */
static void
test_openssl_parses_layout(void **state)
{
	unsigned char alg[CMSDER_ALG_MAX], iv[16], buf[512];
	struct cmsder_copy c;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	size_t plen, total;
	int a;

	(void)state;
	memset(iv, 7, sizeof(iv));
	for (a = 0; a < 2; a++) {
		/* Empty RecipientInfos is legal DER for OpenSSL's parser. */
		static const unsigned char empty[] = { DER_SET, 0 };

		memset(&c, 0, sizeof(c));
		c.auth = a == 1;
		c.riset = empty;
		c.risetlen = sizeof(empty);
		c.alg = alg;
		c.alglen = cmsder_alg(c.auth, 128, iv, alg);
		c.ctlen = 16;
		plen = cmsder_prefix(&c, buf);
		memset(buf + plen, 0, 16);
		total = plen + 16;
		if (c.auth) {
			static const unsigned char tag[CMSDER_TAG_LEN];

			cmsder_mac(tag, buf + total);
			total += CMSDER_MAC_TLV;
		}
		p = buf;
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)total);
		assert_non_null(cms);
		assert_ptr_equal(p, buf + total);
		assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), c.auth ?
		    NID_id_smime_ct_authEnvelopedData : NID_pkcs7_enveloped);
		CMS_ContentInfo_free(cms);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_not_der),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_prefix_roundtrip),
		cmocka_unit_test(test_prefix_lengths_checked),
		cmocka_unit_test(test_rids),
		cmocka_unit_test(test_openssl_parses_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
