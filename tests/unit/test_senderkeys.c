/*
 * test_senderkeys.c -- the SenderKeys store: PKCS#12 and PEM keys from
 * the test PKI, look-up by address, listing, and every reason to refuse
 * a store (permissions, symbolic links, unencrypted or mis-named keys,
 * wrong passphrase, mismatched pairs, duplicates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pki_fixture.h"
#include "senderkeys.h"

static char root[] = "/tmp/test_senderkeys.XXXXXX";
static char dir[PATH_MAX + 32], pass[PATH_MAX + 32];
static int ntest;

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

/* Encrypted PKCS#8 copies of two PKI keys, made once. */
static int
setup(void **state)
{
	const char *pki;

	(void)state;
	log_setup("test_senderkeys", false, 0, false, LOG_LVL_ERROR);
	if ((pki = pki_dir()) == NULL || mkdtemp(root) == NULL)
		return -1;
	run("for k in sender-ec sender-rsa; do openssl pkcs8 -topk8 -v2 "
	    "aes-256-cbc -in %s/keys/$k.key -passout pass:test "
	    "-out %s/$k.enc.key; done", pki, root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	run("rm -rf %s", root);
	pki_cleanup();
	return 0;
}

/* A fresh key directory (0700) and passphrase file ("test", 0600). */
static int
fresh(void **state)
{
	(void)state;
	ntest++;
	snprintf(dir, sizeof(dir), "%s/keys%d", root, ntest);
	snprintf(pass, sizeof(pass), "%s/pass%d", root, ntest);
	run("mkdir -m 700 %s && printf 'test\\n' > %s && chmod 600 %s", dir,
	    pass, pass);
	return 0;
}

/* dir/NAME.p12 from the PKI's p12/PKINAME.p12. */
static void
put_p12(const char *name, const char *pkiname)
{
	run("cp %s/p12/%s.p12 '%s/%s.p12' && chmod 600 '%s/%s.p12'", pki_dir(),
	    pkiname, dir, name, dir, name);
}

/* dir/NAME.key (encrypted KEY) and NAME.crt (CERT, then intermediate). */
static void
put_pem(const char *name, const char *key, const char *cert)
{
	const char *pki = pki_dir();

	run("cp %s/%s.enc.key '%s/%s.key' && chmod 600 '%s/%s.key' && "
	    "cat %s/certs/%s.pem %s/ca/intermediate.pem > '%s/%s.crt'", root,
	    key, dir, name, dir, name, pki, cert, pki, dir, name);
}

/* The load must fail with a reason containing want. */
static void
expect_refused(const char *passfile, const char *want)
{
	char err[1024] = "";
	struct senderkeys *sk = senderkeys_load(dir, passfile, err,
	    sizeof(err));

	if (sk != NULL) {
		senderkeys_free(sk);
		fail_msg("loaded, want refusal with '%s'", want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("reason '%s' lacks '%s'", err, want);
	/* The wrong-passphrase tests use this one: it must not show. */
	assert_null(strstr(err, "Zq9xk"));
}

static struct senderkeys *
load_ok(void)
{
	char err[1024];
	struct senderkeys *sk = senderkeys_load(dir, pass, err, sizeof(err));

	if (sk == NULL)
		fail_msg("%s", err);
	return sk;
}

static void
test_no_directory_is_empty(void **state)
{
	char err[64];
	struct senderkeys *sk = senderkeys_load(NULL, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(sk);
	assert_int_equal(senderkeys_count(sk), 0);
	assert_null(senderkeys_find(sk, "sender@example.test"));
	senderkeys_free(sk);
	senderkeys_free(NULL);
}

/* No key files: no passphrase needed. */
static void
test_empty_directory(void **state)
{
	char err[256];
	struct senderkeys *sk;

	(void)state;
	run("touch %s/README", dir);
	sk = senderkeys_load(dir, NULL, err, sizeof(err));
	assert_non_null(sk);
	assert_int_equal(senderkeys_count(sk), 0);
	senderkeys_free(sk);
}

static void
test_p12(void **state)
{
	struct senderkeys *sk;
	const struct signer *s;
	X509 *want = pki_cert("sender-rsa");
	const char *address, *file;
	const X509 *cert;

	(void)state;
	put_p12("Sender@Example.TEST", "sender-rsa");
	sk = load_ok();
	assert_int_equal(senderkeys_count(sk), 1);
	senderkeys_entry(sk, 0, &address, &cert, &file);
	assert_string_equal(address, "sender@example.test");
	assert_int_equal(X509_cmp(cert, want), 0);
	assert_non_null(strstr(file, "/Sender@Example.TEST.p12"));
	/* Case-insensitive, angle brackets allowed. */
	s = senderkeys_find(sk, "SENDER@example.test");
	assert_non_null(s);
	assert_ptr_equal(senderkeys_find(sk, "<sender@EXAMPLE.test>"), s);
	assert_int_equal(X509_check_private_key(s->cert, s->key), 1);
	assert_int_equal(sk_X509_num(s->chain), 2);	/* intermediate, root */
	assert_null(senderkeys_find(sk, "other@example.test"));
	assert_null(senderkeys_find(sk, "not an address"));
	senderkeys_free(sk);
	X509_free(want);
}

/* PEM pair; the passphrase file ends in CRLF and has a second line. */
static void
test_pem(void **state)
{
	struct senderkeys *sk;
	const struct signer *s;
	X509 *want = pki_cert("sender-ec");

	(void)state;
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	run("printf 'test\\r\\nnot the passphrase\\n' > %s", pass);
	sk = load_ok();
	assert_int_equal(senderkeys_count(sk), 1);
	s = senderkeys_find(sk, "Sender-EC@example.test");
	assert_non_null(s);
	assert_int_equal(X509_cmp(s->cert, want), 0);
	assert_true(EVP_PKEY_is_a(s->key, "EC"));
	/* The leaf is not repeated in the chain. */
	assert_int_equal(sk_X509_num(s->chain), 1);
	assert_int_not_equal(X509_cmp(sk_X509_value(s->chain, 0), want), 0);
	senderkeys_free(sk);
	X509_free(want);
}

/* Both kinds, sorted by address; other files are skipped. */
static void
test_listing(void **state)
{
	struct senderkeys *sk;
	const char *address, *file;

	(void)state;
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	put_p12("sender@example.test", "sender-rsa");
	run("cd %s && touch README alice.p12 .hidden@example.test.p12 "
	    "ca.crt notes@example.test.txt && mkdir sub", dir);
	sk = load_ok();
	assert_int_equal(senderkeys_count(sk), 2);
	senderkeys_entry(sk, 0, &address, NULL, &file);
	assert_string_equal(address, "sender-ec@example.test");
	assert_non_null(strstr(file, "/sender-ec@example.test.key"));
	senderkeys_entry(sk, 1, &address, NULL, NULL);
	assert_string_equal(address, "sender@example.test");
	senderkeys_free(sk);
}

static void
test_wrong_passphrase_p12(void **state)
{
	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	run("echo Zq9xk > %s", pass);
	expect_refused(pass, "sender@example.test.p12: wrong passphrase");
}

static void
test_wrong_passphrase_pem(void **state)
{
	(void)state;
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	run("echo Zq9xk > %s", pass);
	expect_refused(pass, "sender-ec@example.test.key: cannot decrypt the "
	    "key (wrong passphrase");
}

static void
test_key_mode_refused(void **state)
{
	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	run("chmod 644 %s/sender@example.test.p12", dir);
	expect_refused(pass, "sender@example.test.p12: mode 0644 lets group "
	    "or others");
	run("chmod 600 %s/sender@example.test.p12", dir);
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	run("chmod 604 %s/sender-ec@example.test.key", dir);
	expect_refused(pass, "sender-ec@example.test.key: mode 0604");
	/* Owner read-only is fine; the certificate file may be public. */
	run("chmod 400 %s/*.key %s/*.p12 && chmod 644 %s/*.crt", dir, dir,
	    dir);
	senderkeys_free(load_ok());
}

static void
test_passphrase_mode_refused(void **state)
{
	char want[sizeof(pass) + 80];

	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	run("chmod 640 %s", pass);
	snprintf(want, sizeof(want), "%s: mode 0640 lets group or others "
	    "access the passphrase", pass);
	expect_refused(pass, want);
}

/* Key files must not be symbolic links; the passphrase file may be. */
static void
test_symlink_refused(void **state)
{
	char link[sizeof(pass) + 8];

	(void)state;
	put_p12("real@example.test", "sender-rsa");
	run("mv %s/real@example.test.p12 %s/elsewhere.p12 && ln -s "
	    "%s/elsewhere.p12 %s/sender@example.test.p12", dir, root, root,
	    dir);
	expect_refused(pass, "sender@example.test.p12: is a symbolic link");
	run("rm %s/sender@example.test.p12", dir);
	put_p12("sender@example.test", "sender-rsa");
	snprintf(link, sizeof(link), "%s.link", pass);
	run("ln -s %s %s", pass, link);
	senderkeys_free(load_ok());
	{
		char err[512];
		struct senderkeys *sk = senderkeys_load(dir, link, err,
		    sizeof(err));

		assert_non_null(sk);
		senderkeys_free(sk);
	}
}

static void
test_not_regular_refused(void **state)
{
	(void)state;
	run("mkdir %s/sender@example.test.p12", dir);
	expect_refused(pass, "sender@example.test.p12: not a regular file");
}

static void
test_unencrypted_refused(void **state)
{
	(void)state;
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	run("cp %s/keys/sender-ec.key %s/sender-ec@example.test.key", pki_dir(),
	    dir);
	expect_refused(pass, "key is not encrypted PKCS#8 (BEGIN PRIVATE KEY)");
	/* Traditional encrypted PEM is refused too. */
	run("openssl ec -in %s/keys/sender-ec.key -aes256 -passout pass:test "
	    "-out %s/sender-ec@example.test.key 2>/dev/null", pki_dir(), dir);
	expect_refused(pass, "(BEGIN EC PRIVATE KEY)");
	run("echo garbage > %s/sender-ec@example.test.key", dir);
	expect_refused(pass, "no ENCRYPTED PRIVATE KEY");
}

/* A key filed under another address would sign as someone else. */
static void
test_address_mismatch_refused(void **state)
{
	(void)state;
	put_p12("bob@example.test", "alice-rsa2048");
	expect_refused(pass, "bob@example.test.p12: the certificate does not "
	    "name bob@example.test in subjectAltName");
}

static void
test_key_cert_mismatch_refused(void **state)
{
	(void)state;
	/* sender-rsa's key with sender-ec's certificate. */
	put_pem("sender-ec@example.test", "sender-rsa", "sender-ec");
	expect_refused(pass, "does not match");
}

static void
test_missing_certificate_refused(void **state)
{
	(void)state;
	put_pem("sender-ec@example.test", "sender-ec", "sender-ec");
	run("rm %s/sender-ec@example.test.crt", dir);
	expect_refused(pass, "no certificate file");
}

static void
test_directory_mode_refused(void **state)
{
	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	run("chmod 770 %s", dir);
	expect_refused(pass, "mode 0770 lets group or others replace keys");
	run("chmod 702 %s", dir);
	expect_refused(pass, "mode 0702");
	run("chmod 755 %s", dir);
	senderkeys_free(load_ok());
}

static void
test_passphrase_problems(void **state)
{
	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	expect_refused(NULL, "SenderKeyPassphraseFile is not set");
	run("printf '\\nsecond\\n' > %s", pass);
	expect_refused(pass, "is empty");
	run("rm %s", pass);
	expect_refused(pass, "No such file");
}

static void
test_duplicate_refused(void **state)
{
	(void)state;
	put_p12("sender@example.test", "sender-rsa");
	put_p12("SENDER@example.test", "sender-rsa");
	expect_refused(pass, "are both keys for sender@example.test");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_directory_is_empty),
		cmocka_unit_test_setup(test_empty_directory, fresh),
		cmocka_unit_test_setup(test_p12, fresh),
		cmocka_unit_test_setup(test_pem, fresh),
		cmocka_unit_test_setup(test_listing, fresh),
		cmocka_unit_test_setup(test_wrong_passphrase_p12, fresh),
		cmocka_unit_test_setup(test_wrong_passphrase_pem, fresh),
		cmocka_unit_test_setup(test_key_mode_refused, fresh),
		cmocka_unit_test_setup(test_passphrase_mode_refused, fresh),
		cmocka_unit_test_setup(test_symlink_refused, fresh),
		cmocka_unit_test_setup(test_not_regular_refused, fresh),
		cmocka_unit_test_setup(test_unencrypted_refused, fresh),
		cmocka_unit_test_setup(test_address_mismatch_refused, fresh),
		cmocka_unit_test_setup(test_key_cert_mismatch_refused, fresh),
		cmocka_unit_test_setup(test_missing_certificate_refused, fresh),
		cmocka_unit_test_setup(test_directory_mode_refused, fresh),
		cmocka_unit_test_setup(test_passphrase_problems, fresh),
		cmocka_unit_test_setup(test_duplicate_refused, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
