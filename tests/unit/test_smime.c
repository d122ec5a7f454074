/*
 * test_smime.c -- signing (clear and opaque; RSA PKCS#1 v1.5, RSA-PSS
 * and ECDSA; SHA-256/384/512), verification with a classified result,
 * and decryption.  Everything we sign is also verified by the openssl
 * CLI, and we decrypt what the openssl CLI encrypted.
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
#include <unistd.h>

#include <openssl/pem.h>

#include "log.h"
#include "pki_fixture.h"
#include "sink.h"
#include "smime_read.h"
#include "smime_sign.h"
#include "spool.h"

static const char content_text[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: 7bit\r\n\r\n"
    "Hello Bob,\r\n\r\nthe report is attached.\r\n-- \r\nAlice\r\n";

static char tmpdir[] = "/tmp/test_smime.XXXXXX";
static X509_STORE *anchors;

static int
setup(void **state)
{
	char err[256];

	(void)state;
	log_setup("test_smime", false, 0, false, LOG_LVL_ERROR);
	if (pki_dir() == NULL || mkdtemp(tmpdir) == NULL)
		return -1;
	anchors = smime_load_anchors(pki_path("ca/anchors.pem"), err,
	    sizeof(err));
	return anchors != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	X509_STORE_free(anchors);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return -1;
	pki_cleanup();
	return 0;
}

static struct spool *
content_spool(const char *text, size_t len)
{
	struct spool *sp = spool_new(tmpdir, 1024);
	char err[256];

	assert_non_null(sp);
	assert_int_equal(spool_append(sp, text, len, err, sizeof(err)), 0);
	return sp;
}

static void
load_signer(struct signer *s, const char *name)
{
	char key[4200], cert[4200], chain[4200], rel[256], err[512];

	snprintf(rel, sizeof(rel), "keys/%s.key", name);
	snprintf(key, sizeof(key), "%s", pki_path(rel));
	snprintf(rel, sizeof(rel), "certs/%s.pem", name);
	snprintf(cert, sizeof(cert), "%s", pki_path(rel));
	snprintf(chain, sizeof(chain), "%s", pki_path("ca/intermediate.pem"));
	if (signer_load(s, key, cert, chain, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
sign(const char *name, const struct sign_options *o, struct membuf *out)
{
	struct spool *content = content_spool(content_text,
	    sizeof(content_text) - 1);
	struct sink s = sink_to_membuf(out);
	struct signer signer;
	char err[512];

	load_signer(&signer, name);
	memset(out, 0, sizeof(*out));
	if (smime_sign_entity(content, &signer, o, tmpdir, &s, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	signer_free(&signer);
	spool_free(content);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* The openssl CLI must accept the signature and give back the content. */
static void
openssl_verifies(const struct membuf *msg)
{
	char path[300], outpath[300], cmd[8192], anchors_path[4200];
	FILE *f;
	char got[512] = "";
	size_t n;

	snprintf(path, sizeof(path), "%s/signed.eml", tmpdir);
	snprintf(outpath, sizeof(outpath), "%s/verified.txt", tmpdir);
	snprintf(anchors_path, sizeof(anchors_path), "%s",
	    pki_path("ca/anchors.pem"));
	write_file(path, msg->data, msg->len);
	/*
	 * No -binary: in binary mode OpenSSL's multipart splitter keeps the
	 * CRLF before the closing delimiter as part of the signed content,
	 * against RFC 2046 (that CRLF belongs to the delimiter).  Our content
	 * is canonical CRLF already, so text mode checks the same bytes.
	 */
	snprintf(cmd, sizeof(cmd), "openssl cms -verify -CAfile %s "
	    "-in %s -out %s 2>/dev/null", anchors_path, path, outpath);
	assert_int_equal(system(cmd), 0);
	f = fopen(outpath, "rb");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_string_equal(got, content_text);
}

static void
our_verify(const struct membuf *msg, enum verify_status want,
    const char *signer_name)
{
	struct membuf content = { 0 };
	struct sink s = sink_to_membuf(&content);
	struct verify_result res;
	X509 *expect = pki_cert(signer_name);

	smime_verify(msg->data, msg->len, anchors, 0, &s, &res);
	if (res.status != want)
		fail_msg("verify: %s (%s), want %s",
		    verify_status_name(res.status), res.reason,
		    verify_status_name(want));
	if (want == VERIFY_OK) {
		assert_int_equal(sk_X509_num(res.signers), 1);
		assert_int_equal(X509_cmp(sk_X509_value(res.signers, 0),
		    expect), 0);
		assert_true(res.caps.known);
		assert_true(res.caps.mask & CAP_AES256_GCM);
		assert_true(res.signing_time > time(NULL) - 600);
		assert_int_equal(content.len, sizeof(content_text) - 1);
		assert_memory_equal(content.data, content_text, content.len);
	}
	X509_free(expect);
	verify_result_free(&res);
	free(content.data);
}

static void
test_sign_matrix(void **state)
{
	static const struct {
		const char *signer;
		enum sign_mode mode;
		enum sign_digest digest;
		bool pss;
	} cases[] = {
		{ "sender-rsa", SIGN_CLEAR, DIGEST_SHA256, false },
		{ "sender-rsa", SIGN_CLEAR, DIGEST_SHA384, false },
		{ "sender-rsa", SIGN_CLEAR, DIGEST_SHA512, true },
		{ "sender-rsa", SIGN_OPAQUE, DIGEST_SHA256, false },
		{ "sender-rsa", SIGN_OPAQUE, DIGEST_SHA256, true },
		{ "sender-ec", SIGN_CLEAR, DIGEST_SHA256, false },
		{ "sender-ec", SIGN_OPAQUE, DIGEST_SHA384, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sign_options o = { cases[i].mode, cases[i].digest,
		    cases[i].pss };
		struct membuf msg;

		sign(cases[i].signer, &o, &msg);
		if (o.mode == SIGN_CLEAR) {
			char micalg[32];

			snprintf(micalg, sizeof(micalg), "micalg=%s;",
			    sign_digest_micalg(o.digest));
			assert_non_null(memmem(msg.data, msg.len, micalg,
			    strlen(micalg)));
			/* The content stands verbatim in the message. */
			assert_non_null(memmem(msg.data, msg.len, content_text,
			    sizeof(content_text) - 1));
		} else {
			assert_non_null(memmem(msg.data, msg.len,
			    "smime-type=signed-data", 22));
		}
		our_verify(&msg, VERIFY_OK, cases[i].signer);
		openssl_verifies(&msg);
		free(msg.data);
	}
}

static void
test_tampering_is_classified(void **state)
{
	struct sign_options o = { SIGN_CLEAR, DIGEST_SHA256, false };
	struct membuf msg;
	unsigned char *p;

	(void)state;
	sign("sender-rsa", &o, &msg);
	/* One character of the signed text changed. */
	p = memmem(msg.data, msg.len, "report", 6);
	assert_non_null(p);
	*p = 'R';
	our_verify(&msg, VERIFY_CONTENT_ALTERED, "sender-rsa");
	free(msg.data);
}

static void
test_untrusted_and_expired_signers(void **state)
{
	struct sign_options o = { SIGN_CLEAR, DIGEST_SHA256, false };
	struct verify_result res;
	X509_STORE *empty = X509_STORE_new();
	struct membuf msg;

	(void)state;
	sign("sender-rsa", &o, &msg);
	assert_int_equal(smime_verify(msg.data, msg.len, empty, 0, NULL, &res),
	    VERIFY_UNTRUSTED);
	verify_result_free(&res);
	assert_int_equal(smime_verify(msg.data, msg.len, anchors,
	    time(NULL) + 3 * 365 * 86400, NULL, &res), VERIFY_EXPIRED);
	verify_result_free(&res);
	X509_STORE_free(empty);
	free(msg.data);
}

static void
test_not_signed_and_malformed(void **state)
{
	static const char plain[] = "Content-Type: text/plain\r\n\r\nhi\r\n";
	static const char broken[] = "Content-Type: application/pkcs7-mime; "
	    "smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n"
	    "\r\nAAAA!!!!\r\n";
	struct verify_result res;

	(void)state;
	assert_int_equal(smime_verify((const unsigned char *)plain,
	    sizeof(plain) - 1, anchors, 0, NULL, &res), VERIFY_MALFORMED);
	verify_result_free(&res);
	assert_int_equal(smime_verify((const unsigned char *)broken,
	    sizeof(broken) - 1, anchors, 0, NULL, &res), VERIFY_MALFORMED);
	verify_result_free(&res);
}

/* What the openssl CLI encrypted, we decrypt; with the wrong key, not. */
static void
test_decrypt_openssl_output(void **state)
{
	static const char *const ciphers[] = { "-aes-256-cbc", "-aes-128-gcm",
	    "-aes-256-gcm" };
	char in[300], enc[300], cmd[8192], cert[4200], err[512];
	struct membuf msg = { 0 };
	size_t i;

	(void)state;
	snprintf(in, sizeof(in), "%s/plain.txt", tmpdir);
	snprintf(enc, sizeof(enc), "%s/enc.eml", tmpdir);
	write_file(in, content_text, sizeof(content_text) - 1);
	snprintf(cert, sizeof(cert), "%s", pki_path("certs/alice-rsa2048.pem"));
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		struct membuf out = { 0 };
		struct sink s = sink_to_membuf(&out);
		X509 *alice = pki_cert("alice-rsa2048"), *bob =
		    pki_cert("bob-rsa3072");
		EVP_PKEY *key, *bobkey;
		FILE *f;

		snprintf(cmd, sizeof(cmd), "openssl cms -encrypt -binary %s "
		    "-in %s -out %s %s", ciphers[i], in, enc, cert);
		assert_int_equal(system(cmd), 0);
		f = fopen(enc, "rb");
		assert_non_null(f);
		free(msg.data);
		memset(&msg, 0, sizeof(msg));
		{
			char buf[8192];
			size_t n;
			struct sink ms = sink_to_membuf(&msg);

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				sink_write(&ms, buf, n, err, sizeof(err));
		}
		fclose(f);
		f = fopen(pki_path("keys/alice-rsa2048.key"), "r");
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		f = fopen(pki_path("keys/bob-rsa3072.key"), "r");
		bobkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (smime_decrypt(msg.data, msg.len, key, alice, &s, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", ciphers[i], err);
		assert_int_equal(out.len, sizeof(content_text) - 1);
		assert_memory_equal(out.data, content_text, out.len);
		assert_int_equal(smime_decrypt(msg.data, msg.len, bobkey, bob,
		    &s, err, sizeof(err)), -1);
		EVP_PKEY_free(key);
		EVP_PKEY_free(bobkey);
		X509_free(alice);
		X509_free(bob);
		free(out.data);
	}
	free(msg.data);
}

/* 5 MB from a disk spool, opaque: streamed in, checked by openssl. */
static void
test_large_opaque_signature(void **state)
{
	struct spool *content = spool_new(tmpdir, 1024);
	struct sign_options o = { SIGN_OPAQUE, DIGEST_SHA256, true };
	char line[80], err[512], path[300], cmd[8192], anchors_path[4200];
	struct signer signer;
	FILE *f;
	int i;

	(void)state;
	assert_int_equal(spool_append(content, "Content-Type: text/plain\r\n"
	    "\r\n", 28, err, sizeof(err)), 0);
	for (i = 0; i < 5 * 1024 * 1024 / 64; i++) {
		snprintf(line, sizeof(line), "%062d\r\n", i);
		assert_int_equal(spool_append(content, line, 64, err,
		    sizeof(err)), 0);
	}
	load_signer(&signer, "sender-rsa");
	snprintf(path, sizeof(path), "%s/large.eml", tmpdir);
	f = fopen(path, "wb");
	{
		struct sink s = sink_to_file(f);

		if (smime_sign_entity(content, &signer, &o, tmpdir, &s, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	fclose(f);
	snprintf(anchors_path, sizeof(anchors_path), "%s",
	    pki_path("ca/anchors.pem"));
	snprintf(cmd, sizeof(cmd), "openssl cms -verify -binary -CAfile %s "
	    "-in %s 2>/dev/null | cmp -s - %s/content.txt", anchors_path,
	    path, tmpdir);
	/* The reference content, written separately. */
	{
		char ref[300];
		FILE *r;
		unsigned char buf[65536];
		uint64_t off = 0;
		ssize_t n;

		snprintf(ref, sizeof(ref), "%s/content.txt", tmpdir);
		r = fopen(ref, "wb");
		while ((n = spool_read(content, off, buf, sizeof(buf), err,
		    sizeof(err))) > 0) {
			assert_int_equal(fwrite(buf, 1, (size_t)n, r),
			    (size_t)n);
			off += (uint64_t)n;
		}
		fclose(r);
	}
	assert_int_equal(system(cmd), 0);
	signer_free(&signer);
	spool_free(content);
}

static void
test_signer_load_errors(void **state)
{
	struct signer s;
	char err[512], key[4200], cert[4200];

	(void)state;
	snprintf(key, sizeof(key), "%s", pki_path("keys/alice-rsa2048.key"));
	snprintf(cert, sizeof(cert), "%s", pki_path("certs/bob-rsa3072.pem"));
	assert_int_equal(signer_load(&s, key, cert, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(signer_load(&s, "/nonexistent.key", cert, NULL, NULL,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "signing key: cannot open /nonexistent.key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_matrix),
		cmocka_unit_test(test_tampering_is_classified),
		cmocka_unit_test(test_untrusted_and_expired_signers),
		cmocka_unit_test(test_not_signed_and_malformed),
		cmocka_unit_test(test_decrypt_openssl_output),
		cmocka_unit_test(test_large_opaque_signature),
		cmocka_unit_test(test_signer_load_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
