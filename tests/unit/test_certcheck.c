/*
 * test_certcheck.c -- every validation rule and its reason, driven by the
 * manifest of the generated test PKI, plus the options that change the
 * verdicts (AllowSubjectEmail, MinRSABits, RequireCRL, the clock).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certcheck.h"
#include "pki_fixture.h"

static const char *crls_intermediate[2];
static const char *crls_both[3];
static char crl1[4200], crl2[4200], anchors[4200];

static int
setup(void **state)
{
	(void)state;
	if (pki_dir() == NULL)
		return -1;
	snprintf(anchors, sizeof(anchors), "%s", pki_path("ca/anchors.pem"));
	snprintf(crl1, sizeof(crl1), "%s",
	    pki_path("ca/intermediate.crl.pem"));
	snprintf(crl2, sizeof(crl2), "%s", pki_path("ca/root.crl.pem"));
	crls_intermediate[0] = crl1;
	crls_both[0] = crl1;
	crls_both[1] = crl2;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pki_cleanup();
	return 0;
}

static struct certcheck *
validator(bool require_crl, bool subject_email, unsigned min_bits,
    const char *const *crls, time_t when)
{
	struct certcheck_opts o = { anchors, crls, require_crl, subject_email,
	    min_bits, when };
	char err[512];
	struct certcheck *chk = certcheck_new(&o, err, sizeof(err));

	if (chk == NULL)
		fail_msg("%s", err);
	return chk;
}

/* A candidate as a source would produce it: cert plus the intermediate. */
static void
candidate(struct cert_list *l, const char *name)
{
	X509 *x = pki_cert(name), *inter;
	STACK_OF(X509) *extra = sk_X509_new_null();
	FILE *f = fopen(pki_path("ca/intermediate.pem"), "r");

	assert_non_null(x);
	assert_non_null(f);
	inter = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	sk_X509_push(extra, inter);
	assert_int_equal(cert_list_add(l, x, extra, "test", name), 0);
	X509_free(x);
	sk_X509_pop_free(extra, X509_free);
}

static enum cert_verdict
judge(struct certcheck *chk, const char *name, const char *address,
    char *reason, size_t len)
{
	struct cert_list l = CERT_LIST_INIT;
	enum cert_verdict v;

	candidate(&l, name);
	v = certcheck_verify(chk, &l.items[0], address);
	if (reason != NULL)
		snprintf(reason, len, "%s", l.items[0].reason);
	cert_list_free(&l);
	return v;
}

/* Every row of manifest.tsv: name, address, keytype, expected verdict. */
static void
test_manifest_verdicts(void **state)
{
	struct certcheck *chk = validator(false, false, 2048,
	    crls_intermediate, 0);
	char line[1024], name[128], address[256], keytype[64], expected[64];
	FILE *f = fopen(pki_path("manifest.tsv"), "r");
	int rows = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));	/* header */
	while (fgets(line, sizeof(line), f) != NULL) {
		char reason[256];
		enum cert_verdict v;

		assert_int_equal(sscanf(line, "%127[^\t]\t%255[^\t]\t%63[^\t]\t"
		    "%63[^\t\n]", name, address, keytype, expected), 4);
		v = judge(chk, name, address, reason, sizeof(reason));
		if (strcmp(cert_verdict_name(v), expected) != 0)
			fail_msg("%s for %s: got %s (%s), want %s", name,
			    address, cert_verdict_name(v), reason, expected);
		assert_true(strlen(reason) > 0);
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, 20);
	certcheck_free(chk);
}

static void
test_reasons_are_specific(void **state)
{
	struct certcheck *chk = validator(false, false, 2048,
	    crls_intermediate, 0);
	char reason[256];

	(void)state;
	judge(chk, "oscar-weak", "oscar@example.test", reason, sizeof(reason));
	assert_string_equal(reason, "RSA key of 1024 bits, MinRSABits is 2048");
	judge(chk, "frank-signonly", "frank@example.test", reason,
	    sizeof(reason));
	assert_string_equal(reason, "keyUsage lacks keyEncipherment (needed "
	    "for RSA key transport)");
	judge(chk, "heidi-wrongsan", "heidi@example.test", reason,
	    sizeof(reason));
	assert_string_equal(reason, "heidi@example.test is not in "
	    "subjectAltName");
	judge(chk, "ivan-revoked", "ivan@example.test", reason, sizeof(reason));
	assert_string_equal(reason, "certificate revoked");
	judge(chk, "dave-expired", "dave@example.test", reason, sizeof(reason));
	assert_string_equal(reason, "certificate has expired");
	certcheck_free(chk);
}

static void
test_options_change_verdicts(void **state)
{
	struct certcheck *legacy = validator(false, true, 1024,
	    crls_intermediate, 0);

	(void)state;
	assert_int_equal(judge(legacy, "trent-nosan", "trent@example.test",
	    NULL, 0), CERT_OK);
	assert_int_equal(judge(legacy, "oscar-weak", "oscar@example.test",
	    NULL, 0), CERT_OK);
	/* A SAN that names someone else is never rescued by the DN. */
	assert_int_equal(judge(legacy, "heidi-wrongsan", "heidi@example.test",
	    NULL, 0), CERT_ADDRESS_MISMATCH);
	certcheck_free(legacy);
}

static void
test_address_matching(void **state)
{
	struct certcheck *chk = validator(false, false, 2048, NULL, 0);

	(void)state;
	/* Addresses arrive normalised (lower case); the SAN may not be. */
	assert_int_equal(judge(chk, "victor-multi", "victor.alias@example.test",
	    NULL, 0), CERT_OK);
	assert_int_equal(judge(chk, "victor-multi", "victor@example.test",
	    NULL, 0), CERT_OK);
	assert_int_equal(judge(chk, "victor-multi", "victor@example.tes",
	    NULL, 0), CERT_ADDRESS_MISMATCH);
	assert_int_equal(judge(chk, "alice-rsa2048", "bob@example.test", NULL,
	    0), CERT_ADDRESS_MISMATCH);
	certcheck_free(chk);
}

static void
test_revocation_needs_a_crl(void **state)
{
	struct certcheck *no_crl = validator(false, false, 2048, NULL, 0);
	struct certcheck *required = validator(true, false, 2048, NULL, 0);
	struct certcheck *partial = validator(true, false, 2048,
	    crls_intermediate, 0);
	struct certcheck *full = validator(true, false, 2048, crls_both, 0);

	(void)state;
	/* Without a CRL the revoked certificate cannot be recognised ... */
	assert_int_equal(judge(no_crl, "ivan-revoked", "ivan@example.test",
	    NULL, 0), CERT_OK);
	/* ... which RequireCRL refuses to accept. */
	assert_int_equal(judge(required, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_CRL_MISSING);
	/* RequireCRL checks the whole chain: the root's CRL is needed too. */
	assert_int_equal(judge(partial, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_CRL_MISSING);
	assert_int_equal(judge(full, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_OK);
	assert_int_equal(judge(full, "ivan-revoked", "ivan@example.test", NULL,
	    0), CERT_REVOKED);
	assert_int_equal(certcheck_crl_count(full), 2);
	certcheck_free(no_crl);
	certcheck_free(required);
	certcheck_free(partial);
	certcheck_free(full);
}

static void
test_fixed_clock(void **state)
{
	time_t now = time(NULL);
	struct certcheck *future = validator(false, false, 2048, NULL,
	    now + 3 * 365 * 86400);
	struct certcheck *past = validator(false, false, 2048, NULL,
	    now - 10 * 86400);
	struct certcheck *later = validator(false, false, 2048, NULL,
	    now + 400 * 86400);

	(void)state;
	assert_int_equal(judge(future, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_EXPIRED);
	assert_int_equal(judge(past, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_NOT_YET_VALID);
	/* A year on, erin's certificate has become valid. */
	assert_int_equal(judge(later, "erin-future", "erin@example.test",
	    NULL, 0), CERT_OK);
	certcheck_free(future);
	certcheck_free(past);
	certcheck_free(later);
}

static void
test_no_anchors_means_untrusted(void **state)
{
	struct certcheck_opts o = { NULL, NULL, false, false, 2048, 0 };
	char err[256];
	struct certcheck *chk = certcheck_new(&o, err, sizeof(err));

	(void)state;
	assert_int_equal(judge(chk, "alice-rsa2048", "alice@example.test",
	    NULL, 0), CERT_UNTRUSTED);
	assert_int_equal(certcheck_anchor_count(chk), 0);
	certcheck_free(chk);
}

static void
test_bad_anchor_and_crl_files(void **state)
{
	const char *bad_crl[] = { "/nonexistent.crl", NULL };
	const char *not_crl[] = { NULL, NULL };
	struct certcheck_opts o = { "/nonexistent/anchors.pem", NULL, false,
	    false, 2048, 0 };
	char err[256];

	(void)state;
	assert_null(certcheck_new(&o, err, sizeof(err)));
	assert_string_equal(err, "TrustAnchors: /nonexistent/anchors.pem "
	    "does not exist");
	o.anchors = pki_path("manifest.tsv");
	assert_null(certcheck_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "no PEM certificate"));
	o.anchors = anchors;
	o.crl_files = bad_crl;
	assert_null(certcheck_new(&o, err, sizeof(err)));
	assert_string_equal(err, "CRLFile: cannot open /nonexistent.crl");
	not_crl[0] = anchors;
	o.crl_files = not_crl;
	assert_null(certcheck_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a CRL"));
}

/* An Ed25519 certificate: a key type CMS encryption cannot use. */
static void
test_unsupported_key_type(void **state)
{
	struct certcheck *chk = validator(false, false, 2048, NULL, 0);
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	struct cert_list l = CERT_LIST_INIT;

	(void)state;
	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "email:ed@example.test");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, NULL) > 0);
	assert_int_equal(cert_list_add(&l, x, NULL, "t", "t"), 0);
	assert_int_equal(certcheck_verify(chk, &l.items[0], "ed@example.test"),
	    CERT_UNSUPPORTED_KEY);
	assert_non_null(strstr(l.items[0].reason, "ED25519"));
	cert_list_free(&l);
	X509_free(x);
	EVP_PKEY_free(key);
	certcheck_free(chk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_verdicts),
		cmocka_unit_test(test_reasons_are_specific),
		cmocka_unit_test(test_options_change_verdicts),
		cmocka_unit_test(test_address_matching),
		cmocka_unit_test(test_revocation_needs_a_crl),
		cmocka_unit_test(test_fixed_clock),
		cmocka_unit_test(test_no_anchors_means_untrusted),
		cmocka_unit_test(test_bad_anchor_and_crl_files),
		cmocka_unit_test(test_unsupported_key_type),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
