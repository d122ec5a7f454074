/*
 * test_certlookup.c -- the directory store (indexing by address, file
 * formats, bad files, duplicates, CA certificates, reload, import) and
 * the look-up pipeline (source order, selection, cache, "could not look"
 * versus "no certificate").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certlookup.h"
#include "certsrc_dir.h"
#include "config.h"
#include "log.h"
#include "pki_fixture.h"

static char store[] = "/tmp/test_certlookup.XXXXXX";

static void
run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* A store with every format and every kind of bad file. */
static int
setup(void **state)
{
	const char *pki;

	(void)state;
	log_setup("test_certlookup", false, 0, false, LOG_LVL_ERROR);
	if ((pki = pki_dir()) == NULL || mkdtemp(store) == NULL)
		return -1;
	run("cd %s/certs && for n in alice-rsa2048 carol-ec256 judy-old "
	    "ivan-revoked victor-multi trent-nosan; do cp $n.pem %s/; done",
	    pki, store);
	run("cp %s/certs/judy-new.der %s/judy-new.cer", pki, store);
	run("cp %s/certs/bob-rsa3072.pem %s/bob-copy.pem", pki, store);
	run("cp %s/certs/bob-rsa3072.der %s/bob.der", pki, store);
	run("cat %s/certs/dave-expired.pem %s/certs/erin-future.pem > "
	    "%s/two-in-one.pem", pki, pki, store);
	run("cp %s/ca/intermediate.pem %s/", pki, store);
	run("printf 'not a certificate\\n' > %s/garbage.pem", store);
	run("head -c 300 %s/certs/alice-rsa2048.der > %s/truncated.der", pki,
	    store);
	run(": > %s/empty.pem && mkdir %s/subdir", store, store);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	run("rm -rf %s", store);
	pki_cleanup();
	return 0;
}

static struct config *
make_config(const char *extra)
{
	char text[8192], err[512], anchors[4200];
	struct config *cfg;

	/* Defaults for what extra does not set.  pki_path() returns a
	 * static buffer: one call per statement. */
	snprintf(anchors, sizeof(anchors), "%s", pki_path("ca/anchors.pem"));
	snprintf(text, sizeof(text), "%sCertificateSources dir:%s\n"
	    "TrustAnchors %s\n%sCRLFile %s\n%s",
	    strstr(extra, "CertificateSources") ? "#" : "", store, anchors,
	    strstr(extra, "CRLFile") ? "#" : "",
	    pki_path("ca/intermediate.crl.pem"), extra);
	cfg = config_parse("t", text, strlen(text), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	return cfg;
}

static struct certlookup *
make_lookup(const char *extra)
{
	struct config *cfg = make_config(extra);
	char err[512];
	struct certlookup *lk = certlookup_new(cfg, NULL, err, sizeof(err));

	if (lk == NULL)
		fail_msg("%s", err);
	config_release(cfg);
	return lk;
}

static void
test_directory_index(void **state)
{
	char err[256];
	struct certsrc *src = certsrc_dir_new("dir", store, err, sizeof(err));
	struct cert_list l = CERT_LIST_INIT;
	struct certdir_stats st;

	(void)state;
	assert_non_null(src);
	certsrc_dir_stats(src, &st);
	assert_int_equal(st.skipped_files, 3);	/* garbage, truncated, empty */
	assert_int_equal(st.duplicates, 1);	/* bob twice */
	/* Indexed by address, not by file name: judy has two files. */
	assert_int_equal(src->lookup(src, "judy@example.test", &l, err,
	    sizeof(err)), LOOKUP_FOUND);
	assert_int_equal(l.count, 2);
	/* The CA certificate found in the directory comes along as chain. */
	assert_int_equal(sk_X509_num(l.items[0].extra), 1);
	cert_list_free(&l);
	assert_int_equal(src->lookup(src, "bob@example.test", &l, err,
	    sizeof(err)), LOOKUP_FOUND);
	assert_int_equal(l.count, 1);
	cert_list_free(&l);
	/* Two certificates in one PEM file, and every SAN address. */
	assert_int_equal(src->lookup(src, "erin@example.test", &l, err,
	    sizeof(err)), LOOKUP_FOUND);
	cert_list_free(&l);
	assert_int_equal(src->lookup(src, "victor.alias@example.test", &l,
	    err, sizeof(err)), LOOKUP_FOUND);
	cert_list_free(&l);
	/* The CA is not a recipient. */
	assert_int_equal(src->lookup(src, "nobody@example.test", &l, err,
	    sizeof(err)), LOOKUP_NONE);
	assert_int_equal(l.count, 0);
	src->free(src);
}

/*
 * Files that carry their chain: the CA certificates come along with every
 * candidate once each, not once per file (a directory of 1,000 such
 * files made every look-up copy 2,000 CA references, 40 KB per recipient
 * of a message).
 */
static void
test_directory_chain_once(void **state)
{
	char dir[] = "/tmp/test_certlookup_chain.XXXXXX", err[256];
	const char *pki = pki_dir();
	struct certsrc *src;
	struct cert_list l = CERT_LIST_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	run("for i in $(seq 1 30); do cat %s/certs/alice-rsa2048.pem "
	    "%s/ca/intermediate.pem %s/ca/root.pem > %s/a$i.pem; done; "
	    "cat %s/certs/carol-ec256.pem %s/ca/intermediate.pem > %s/c.pem",
	    pki, pki, pki, dir, pki, pki, dir);
	src = certsrc_dir_new("dir", dir, err, sizeof(err));
	assert_non_null(src);
	assert_int_equal(src->lookup(src, "carol@example.test", &l, err,
	    sizeof(err)), LOOKUP_FOUND);
	assert_int_equal(l.count, 1);
	assert_int_equal(sk_X509_num(l.items[0].extra), 2);
	cert_list_free(&l);
	src->free(src);
	run("rm -rf %s", dir);
}

static void
test_directory_reload_and_add(void **state)
{
	char err[256];
	struct certsrc *src = certsrc_dir_new("dir", store, err, sizeof(err));
	struct cert_list l = CERT_LIST_INIT;
	X509 *peggy = pki_cert("peggy-anyeku");
	char fp[65], path[4200];
	struct stat st;

	(void)state;
	assert_int_equal(src->lookup(src, "peggy@example.test", &l, err,
	    sizeof(err)), LOOKUP_NONE);
	assert_int_equal(certsrc_dir_add(src, peggy, "imported by test", NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(certsrc_dir_add(src, peggy, NULL, NULL, err,
	    sizeof(err)), 1);
	cert_fingerprint(peggy, fp);
	snprintf(path, sizeof(path), "%s/%s.pem", store, fp);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/%s.note", store, fp);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(src->lookup(src, "peggy@example.test", &l, err,
	    sizeof(err)), LOOKUP_FOUND);
	cert_list_free(&l);
	/* Removing the file and reloading forgets it. */
	snprintf(path, sizeof(path), "%s/%s.pem", store, fp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.note", store, fp);
	unlink(path);
	assert_int_equal(src->reload(src, err, sizeof(err)), 0);
	assert_int_equal(src->lookup(src, "peggy@example.test", &l, err,
	    sizeof(err)), LOOKUP_NONE);
	X509_free(peggy);
	src->free(src);
	assert_null(certsrc_dir_new("dir", "/nonexistent/certs", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

static void
test_newest_is_chosen(void **state)
{
	struct certlookup *lk = make_lookup("");
	X509 *judy_new = pki_cert("judy-new");
	struct cert_result r;

	(void)state;
	assert_int_equal(certlookup_find(lk, "<Judy@Example.TEST>", &r),
	    LOOKUP_FOUND);
	assert_int_equal(r.usable.count, 1);
	assert_int_equal(X509_cmp(r.usable.items[0].cert, judy_new), 0);
	assert_false(r.cached);
	cert_result_free(&r);
	/* The same answer again, from the cache. */
	assert_int_equal(certlookup_find(lk, "judy@example.test", &r),
	    LOOKUP_FOUND);
	assert_true(r.cached);
	assert_int_equal(X509_cmp(r.usable.items[0].cert, judy_new), 0);
	cert_result_free(&r);
	X509_free(judy_new);
	certlookup_free(lk);

	lk = make_lookup("EncryptToAllCertificates yes\n");
	assert_int_equal(certlookup_find(lk, "judy@example.test", &r),
	    LOOKUP_FOUND);
	assert_int_equal(r.usable.count, 2);
	cert_result_free(&r);
	certlookup_free(lk);
}

static void
test_unusable_only_is_none_with_reasons(void **state)
{
	struct certlookup *lk = make_lookup("");
	struct cert_result r;

	(void)state;
	assert_int_equal(certlookup_find(lk, "ivan@example.test", &r),
	    LOOKUP_NONE);
	assert_int_equal(r.usable.count, 0);
	assert_int_equal(r.rejected.count, 1);
	assert_int_equal(r.rejected.items[0].verdict, CERT_REVOKED);
	cert_result_free(&r);
	assert_int_equal(certlookup_find(lk, "trent@example.test", &r),
	    LOOKUP_NONE);
	assert_int_equal(r.rejected.items[0].verdict, CERT_ADDRESS_MISMATCH);
	cert_result_free(&r);
	assert_int_equal(certlookup_find(lk, "not an address", &r),
	    LOOKUP_NONE);
	cert_result_free(&r);
	certlookup_free(lk);
}

/*
 * A directory that cannot be reached makes "no certificate" impossible to
 * know: the answer must be "could not look".  A usable certificate from
 * another source still answers.
 */
static void
test_could_not_look_is_not_none(void **state)
{
	char extra[8192];
	struct certlookup *lk;
	struct cert_result r;
	struct config *cfg;
	char err[512];

	(void)state;
	snprintf(extra, sizeof(extra), "LDAPDirectory down "
	    "uri=ldap://127.0.0.1:1 base=dc=example,dc=test timeout=2\n");
	cfg = make_config(extra);
	free(cfg->cert_sources);
	cfg->cert_sources = NULL;
	if (asprintf(&cfg->cert_sources, "ldap:down dir:%s", store) < 0)
		fail();
	lk = certlookup_new(cfg, NULL, err, sizeof(err));
	assert_non_null(lk);
	config_release(cfg);

	assert_int_equal(certlookup_find(lk, "nobody@example.test", &r),
	    LOOKUP_ERROR);
	assert_non_null(strstr(r.error, "ldap:down"));
	cert_result_free(&r);
	/* Not cached: the next look-up tries again. */
	assert_int_equal(certlookup_find(lk, "nobody@example.test", &r),
	    LOOKUP_ERROR);
	assert_false(r.cached);
	cert_result_free(&r);
	assert_int_equal(certlookup_find(lk, "alice@example.test", &r),
	    LOOKUP_FOUND);
	cert_result_free(&r);
	certlookup_free(lk);
}

static void
test_capabilities_parse_and_format(void **state)
{
	struct smime_caps caps;
	char out[128], err[128];

	(void)state;
	assert_int_equal(smime_caps_parse("AES128-cbc, aes256-gcm # note",
	    &caps, err, sizeof(err)), 0);
	assert_true(caps.known);
	assert_int_equal(caps.mask, CAP_AES128_CBC | CAP_AES256_GCM);
	smime_caps_format(&caps, out, sizeof(out));
	assert_string_equal(out, "aes256-gcm aes128-cbc");
	assert_int_equal(smime_caps_parse("", &caps, err, sizeof(err)), 0);
	assert_false(caps.known);
	smime_caps_format(&caps, out, sizeof(out));
	assert_string_equal(out, "unknown");
	assert_int_equal(smime_caps_parse("aes256-gcm des3", &caps, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown algorithm 'des3'"));
}

/*
 * NAME.caps beside a certificate overrides; harvested capabilities apply
 * by fingerprint to a certificate found in another source; both survive
 * the cache.
 */
static void
test_capabilities_travel_with_certificates(void **state)
{
	char harvest[] = "/tmp/test_harvest.XXXXXX", extra[8192];
	struct smime_caps gcm = { 1, CAP_AES256_GCM | CAP_AES128_GCM };
	struct certlookup *lk;
	struct cert_result r;
	X509 *bob = pki_cert("bob-rsa3072"), *alice = pki_cert("alice-rsa2048");
	char err[256];

	(void)state;
	assert_non_null(mkdtemp(harvest));
	run("echo 'aes128-cbc' > %s/alice-rsa2048.caps", store);
	snprintf(extra, sizeof(extra), "CertificateSources dir:%s harvested\n"
	    "HarvestDir %s\n", store, harvest);
	lk = make_lookup(extra);
	/* What harvesting a signed message from bob and alice records. */
	assert_int_equal(certsrc_dir_add(certlookup_source(lk, "harvested"),
	    bob, "signed mail", &gcm, err, sizeof(err)), 0);
	assert_int_equal(certsrc_dir_add(certlookup_source(lk, "harvested"),
	    alice, "signed mail", &gcm, err, sizeof(err)), 0);

	assert_int_equal(certlookup_find(lk, "bob@example.test", &r),
	    LOOKUP_FOUND);
	assert_string_equal(r.usable.items[0].source, "dir");
	assert_true(r.usable.items[0].caps.known);
	assert_int_equal(r.usable.items[0].caps.mask, gcm.mask);
	cert_result_free(&r);
	assert_int_equal(certlookup_find(lk, "bob@example.test", &r),
	    LOOKUP_FOUND);
	assert_true(r.cached);
	assert_int_equal(r.usable.items[0].caps.mask, gcm.mask);
	cert_result_free(&r);
	/* The administrator's override for alice wins. */
	assert_int_equal(certlookup_find(lk, "alice@example.test", &r),
	    LOOKUP_FOUND);
	assert_int_equal(r.usable.items[0].caps.mask, CAP_AES128_CBC);
	cert_result_free(&r);
	/* Nothing known about judy. */
	assert_int_equal(certlookup_find(lk, "judy@example.test", &r),
	    LOOKUP_FOUND);
	assert_false(r.usable.items[0].caps.known);
	cert_result_free(&r);
	/* Harvesting again is "already there" but updates what is known. */
	assert_int_equal(certsrc_dir_add(certlookup_source(lk, "harvested"),
	    bob, NULL, &gcm, err, sizeof(err)), 1);
	certlookup_free(lk);
	run("rm -rf %s %s/alice-rsa2048.caps", harvest, store);
	X509_free(bob);
	X509_free(alice);
}

/* A revocation published after start-up takes effect on refresh. */
static void
test_crl_refresh(void **state)
{
	char crl[] = "/tmp/test_crl.XXXXXX", extra[8192], err[256];
	struct certlookup *lk;
	struct cert_result r;
	int fd = mkstemp(crl);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	run("cp %s/ca/root.crl.pem %s", pki_dir(), crl);
	snprintf(extra, sizeof(extra), "CRLFile %s\n", crl);
	lk = make_lookup(extra);
	assert_int_equal(certlookup_find(lk, "ivan@example.test", &r),
	    LOOKUP_FOUND);	/* the root's CRL does not list ivan */
	cert_result_free(&r);
	run("cp %s/ca/intermediate.crl.pem %s", pki_dir(), crl);
	assert_int_equal(certlookup_refresh_crls(lk, err, sizeof(err)), 0);
	/* Not answered from the cache: it was judged with the old CRLs. */
	assert_int_equal(certlookup_find(lk, "ivan@example.test", &r),
	    LOOKUP_NONE);
	assert_int_equal(r.rejected.items[0].verdict, CERT_REVOKED);
	cert_result_free(&r);
	/* A broken CRL file keeps the CRLs in force. */
	run("echo garbage > %s", crl);
	assert_int_equal(certlookup_refresh_crls(lk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a CRL"));
	assert_int_equal(certlookup_find(lk, "ivan@example.test", &r),
	    LOOKUP_NONE);
	cert_result_free(&r);
	certlookup_free(lk);
	unlink(crl);
}

static void
test_configuration_errors(void **state)
{
	struct config *cfg = make_config("");
	char err[512];

	(void)state;
	free(cfg->cert_sources);
	cfg->cert_sources = strdup("ldap:missing");
	assert_null(certlookup_new(cfg, NULL, err, sizeof(err)));
	assert_string_equal(err, "CertificateSources: ldap:missing has no "
	    "LDAPDirectory missing line");
	config_release(cfg);
}

static void
count(const char *source, enum lookup_status st, const struct cert_list *c,
    const char *e, void *arg)
{
	size_t i;

	(void)source;
	(void)e;
	assert_int_equal(st, LOOKUP_FOUND);
	for (i = 0; i < c->count; i++) {
		assert_int_equal(c->items[i].verdict, CERT_OK);
		(*(int *)arg)++;
	}
}

static void
test_explain_lists_every_candidate(void **state)
{
	struct certlookup *lk = make_lookup("");
	int calls = 0;

	(void)state;
	certlookup_explain(lk, "judy@example.test", count, &calls);
	assert_int_equal(calls, 2);	/* both of judy's certificates */
	certlookup_free(lk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory_index),
		cmocka_unit_test(test_directory_chain_once),
		cmocka_unit_test(test_directory_reload_and_add),
		cmocka_unit_test(test_newest_is_chosen),
		cmocka_unit_test(test_unusable_only_is_none_with_reasons),
		cmocka_unit_test(test_could_not_look_is_not_none),
		cmocka_unit_test(test_capabilities_parse_and_format),
		cmocka_unit_test(test_capabilities_travel_with_certificates),
		cmocka_unit_test(test_crl_refresh),
		cmocka_unit_test(test_configuration_errors),
		cmocka_unit_test(test_explain_lists_every_candidate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
