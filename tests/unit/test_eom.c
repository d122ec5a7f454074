/*
 * test_eom.c -- the end-of-data pipeline (outbound.h) without an MTA:
 * a runtime from a real configuration, policy and certificate directory
 * of the test PKI; messages built in memory.  Encrypted output is
 * checked with OpenSSL's own CMS parser and the recipient's key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "config.h"
#include "log.h"
#include "message.h"
#include "outbound.h"
#include "pki_fixture.h"
#include "runtime.h"
#include "sink.h"
#include "spool.h"

static char dir[] = "/tmp/test_eom.XXXXXX";

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* A certificate with its chain, as a directory source wants it. */
static void
copy_cert(const char *name, const char *to)
{
	char cmd[2000], cert[600];

	snprintf(cert, sizeof(cert), "%s", pki_path(name));
	snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s/%s'", cert,
	    pki_path("ca/chain.pem"), dir, to);
	assert_int_equal(system(cmd), 0);
}

static struct runtime *
make_runtime(const char *policy, const char *extra)
{
	char text[2048], err[512];
	struct config *cfg;
	struct runtime *rt;

	write_file("policy", policy, 0644);
	snprintf(text, sizeof(text), "SpoolDir %s\nCertificateSources "
	    "dir:%s/certs\nTrustAnchors %s\nPolicyFile %s/policy\n"
	    "InternalNetworks 10.0.0.0/8\n%s", dir, dir,
	    pki_path("ca/anchors.pem"), dir, extra);
	cfg = config_parse("t", text, strlen(text), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	rt = runtime_new(cfg, NULL, err, sizeof(err));
	if (rt == NULL)
		fail_msg("%s", err);
	return rt;
}

static struct message *
make_message(struct runtime *rt, const char *from, const char *const *rcpts,
    const char *const *headers)
{
	struct message *m = message_new(rt->cfg, from);
	size_t i;

	assert_non_null(m);
	for (i = 0; rcpts[i] != NULL; i++)
		assert_int_equal(message_add_rcpt(m, rcpts[i]), MSG_OK);
	for (i = 0; headers[i] != NULL; i += 2)
		assert_int_equal(message_add_header(m, headers[i],
		    headers[i + 1]), MSG_OK);
	assert_int_equal(message_add_body(m, "Hello Alice.\r\n", 14), MSG_OK);
	return m;
}

static int
setup(void **state)
{
	char path[300];

	(void)state;
	log_setup("test_eom", false, 0, false, LOG_LVL_ERROR);
	if (mkdtemp(dir) == NULL || pki_dir() == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/certs", dir);
	mkdir(path, 0700);
	copy_cert("certs/alice-rsa2048.pem", "certs/alice.pem");
	copy_cert("certs/bob-rsa3072.pem", "certs/bob.pem");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *const to_alice[] = { "From", " s@example.org", "To",
    " Alice <alice@example.test>", "Subject", " [secure] Hi",
    "X-SMIME-Request", " encrypt", NULL };

/* Decrypt the copy's body with alice's key through OpenSSL. */
static void
assert_alice_can_decrypt(const struct outbound_copy *c)
{
	char buf[65536], *p;
	char err[256];
	ssize_t n = spool_read(c->body, 0, buf, sizeof(buf) - 1, err,
	    sizeof(err));
	BIO *in, *out;
	CMS_ContentInfo *cms;
	EVP_PKEY *key;
	FILE *f;
	X509 *cert = pki_cert("alice-rsa2048");

	assert_true(n > 0);
	buf[n] = '\0';
	/* The body is base64 of the DER: OpenSSL's own decoder reads it. */
	for (p = buf; *p != '\0'; p++)
		if (*p == '\r')
			*p = ' ';
	{
		BIO *b64 = BIO_new(BIO_f_base64());

		in = BIO_new_mem_buf(buf, -1);
		in = BIO_push(b64, in);
	}
	cms = d2i_CMS_bio(in, NULL);
	assert_non_null(cms);
	f = fopen(pki_path("keys/alice-rsa2048.key"), "r");
	assert_non_null(f);
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	out = BIO_new(BIO_s_mem());
	assert_int_equal(CMS_decrypt(cms, key, cert, NULL, out, 0), 1);
	n = BIO_read(out, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "Hello Alice."));
	BIO_free(out);
	BIO_free_all(in);
	CMS_ContentInfo_free(cms);
	EVP_PKEY_free(key);
	X509_free(cert);
}

static bool
has_edit(const struct outbound_copy *c, int op, const char *name,
    const char *value)
{
	size_t i;

	for (i = 0; i < c->nedits; i++)
		if ((int)c->edits[i].op == op &&
		    strcasecmp(c->edits[i].name, name) == 0 &&
		    ((value == NULL && c->edits[i].value == NULL) ||
		    (value != NULL && c->edits[i].value != NULL &&
		    strstr(c->edits[i].value, value) != NULL)))
			return true;
	return false;
}

/* Encrypted for a visible recipient; request header and tag removed. */
static void
test_encrypt_one(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>", NULL };
	struct runtime *rt = make_runtime("default encrypt=opportunistic\n",
	    "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts,
	    to_alice);
	struct outbound_plan plan;
	struct outbound_copy c;
	char err[512];

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_DELIVER);
	assert_int_equal(plan.r[0].action, RA_ENCRYPT);
	assert_int_equal(plan.request, 0u + POL_REQ_ENCRYPT);
	assert_false(plan.trusted);
	if (outbound_build(rt, m, &plan, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(has_edit(&c, HE_CHANGE, "X-SMIME-Request", NULL));
	assert_true(has_edit(&c, HE_CHANGE, "Subject", "Hi"));
	assert_false(has_edit(&c, HE_CHANGE, "Subject", "[secure]"));
	assert_true(has_edit(&c, HE_ADD, "Content-Type",
	    "application/pkcs7-mime"));
	assert_true(has_edit(&c, HE_ADD, "MIME-Version", "1.0"));
	assert_alice_can_decrypt(&c);
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/* Re-submitted copy i as the listener would get it (all recipients). */
static char *
extra_text(const struct outbound_copy *c, size_t i)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[256];

	if (outbound_extra_write(c, i, c->extra[i].rcpts, c->extra[i].nrcpts,
	    &s, err, sizeof(err)) != 0)
		fail_msg("outbound_extra_write: %s", err);
	assert_int_equal(sink_write(&s, "", 1, err, sizeof(err)), 0);
	return (char *)mb.data;
}

/* What the last successful recipient_infos() decrypted. */
static char last_plain[65536];

/* An S/MIME message: how many RecipientInfos, and can key/cert open it. */
static int
recipient_infos(const char *text, const char *keyname, const char *certname,
    bool *opens)
{
	BIO *in = BIO_new_mem_buf(text, -1), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = SMIME_read_CMS(in, NULL);
	X509 *cert = pki_cert(certname);
	EVP_PKEY *key;
	FILE *f;
	int n;

	assert_non_null(cms);
	n = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms));
	f = fopen(pki_path(keyname), "r");
	assert_non_null(f);
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	*opens = CMS_decrypt(cms, key, cert, NULL, out, 0) == 1;
	last_plain[0] = '\0';
	if (*opens) {
		int got = BIO_read(out, last_plain, sizeof(last_plain) - 1);

		last_plain[got > 0 ? got : 0] = '\0';
	}
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(cert);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return n;
}

/* A Bcc recipient never shares an envelope with a visible one: bob
 * (not in To) gets a copy of his own, re-submitted; alice's stays. */
static void
test_bcc_own_copy(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<bob@example.test>", NULL };
	struct runtime *rt = make_runtime("default encrypt=required\n", "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts,
	    to_alice);
	struct outbound_plan plan;
	struct outbound_copy c;
	char err[512], *text;
	bool opens;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_DELIVER);
	assert_false(plan.r[0].hidden);
	assert_true(plan.r[1].hidden);
	if (outbound_build(rt, m, &plan, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* The transaction keeps alice only, encrypted to her alone. */
	assert_int_equal(c.ndrop, 1);
	assert_string_equal(c.drop_rcpts[0], "bob@example.test");
	assert_alice_can_decrypt(&c);
	/* Bob's copy: only his RecipientInfo; alice cannot open it. */
	assert_int_equal(c.nextra, 1);
	assert_int_equal(c.extra[0].nrcpts, 1);
	assert_string_equal(c.extra[0].rcpts[0], "bob@example.test");
	assert_true(c.extra[0].hidden);
	text = extra_text(&c, 0);
	assert_true(strncmp(text, "X-SMIME-Milter-Copy: v1; t=", 27) == 0);
	assert_null(strstr(text, "X-SMIME-Request"));
	assert_null(strstr(text, "[secure]"));
	assert_int_equal(recipient_infos(text, "keys/bob-rsa3072.key",
	    "bob-rsa3072", &opens), 1);
	assert_true(opens);
	(void)recipient_infos(text, "keys/alice-rsa2048.key", "alice-rsa2048",
	    &opens);
	assert_false(opens);
	free(text);
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/* Signed-only and encrypted recipients: two copies; the plain copy
 * keeps the original body. */
static void
test_mixed_treatments(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", NULL };
	static const char *const hdrs[] = { "From", " s@example.org", "To",
	    " alice@example.test, nocert@example.test", "Subject", " Hi",
	    "Bcc", " someone@example.test", NULL };
	struct runtime *rt = make_runtime("default encrypt=opportunistic\n",
	    "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts, hdrs);
	struct outbound_plan plan;
	struct outbound_copy c;
	char err[512], *text;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.r[0].action, RA_ENCRYPT);
	assert_int_equal(plan.r[1].action, RA_PLAIN);
	if (outbound_build(rt, m, &plan, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.nextra, 1);
	assert_string_equal(c.extra[0].rcpts[0], "nocert@example.test");
	assert_string_equal(c.extra[0].what, "plain");
	text = extra_text(&c, 0);
	assert_non_null(strstr(text, "\r\n\r\nHello Alice.\r\n"));
	assert_null(strstr(text, "Bcc:"));
	assert_null(strstr(text, "someone@example.test"));
	free(text);
	/* Bcc is dropped from the staying (encrypted) copy as well. */
	assert_true(has_edit(&c, HE_CHANGE, "Bcc", NULL));
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/* A confidential list: the list address leaves the transaction, every
 * member gets a copy of its own, the member without a certificate is
 * named to nobody (the notice and reply name the list). */
static void
test_confidential_list(void **state)
{
	static const char *const rcpts[] = { "<staff@example.test>", NULL };
	static const char *const hdrs[] = { "From", " s@example.org", "To",
	    " staff@example.test", "Subject", " Hi", NULL };
	struct runtime *rt = make_runtime("list staff@example.test = "
	    "alice@example.test, bob@example.test, nocert@example.test\n"
	    "to staff@example.test encrypt=required missing-cert=notify\n",
	    "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts, hdrs);
	struct outbound_plan plan;
	struct outbound_copy c;
	char err[512], *text;
	size_t i;
	bool opens;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.n, 4);
	assert_int_equal(plan.r[0].action, RA_LIST);
	assert_int_equal(plan.verdict, PLAN_DELIVER);
	for (i = 1; i < 4; i++) {
		assert_true(plan.r[i].hidden);
		assert_string_equal(plan.r[i].list, "staff@example.test");
	}
	assert_int_equal(plan.r[3].action, RA_NOTIFY);
	if (outbound_build(rt, m, &plan, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* Nobody of the envelope is left: all copies go out again. */
	assert_true(c.discard);
	assert_int_equal(c.ndrop, 1);
	assert_string_equal(c.drop_rcpts[0], "staff@example.test");
	assert_int_equal(c.nextra, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(c.extra[i].nrcpts, 1);
		text = extra_text(&c, i);
		/* The list stays visible in To; no member's name is there. */
		assert_non_null(strstr(text, "To: staff@example.test"));
		assert_null(strstr(text, "nocert"));
		if (strcmp(c.extra[i].rcpts[0], "alice@example.test") == 0) {
			assert_int_equal(recipient_infos(text,
			    "keys/alice-rsa2048.key", "alice-rsa2048", &opens), 1);
			assert_true(opens);
		} else {
			assert_string_equal(c.extra[i].rcpts[0],
			    "bob@example.test");
			assert_int_equal(recipient_infos(text,
			    "keys/bob-rsa3072.key", "bob-rsa3072", &opens), 1);
			assert_true(opens);
		}
		free(text);
	}
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/* Mail encrypted to a confidential list's own certificate: decrypted
 * with the list's key (SenderKeys), one copy per member, none of them
 * readable by the list key any more; others keep the original. */
/*
 * Mail as a client writes it encrypted to cert (OpenSSL, not us): To the
 * list and carol, a Bcc field, the SMIME_write_CMS header and body.
 */
static struct message *
encrypted_to(struct runtime *rt, X509 *cert, const char *const *rcpts)
{
	STACK_OF(X509) *to = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf("Content-Type: text/plain\r\n\r\n"
	    "List secret.\r\n", -1), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms;
	struct message *m;
	char *data, *body, *line;
	long len;
	size_t i;

	X509_up_ref(cert);
	sk_X509_push(to, cert);
	cms = CMS_encrypt(to, in, EVP_aes_256_cbc(), CMS_BINARY);
	assert_non_null(cms);
	assert_int_equal(SMIME_write_CMS(out, cms, NULL, CMS_BINARY), 1);
	len = BIO_get_mem_data(out, &data);
	m = message_new(rt->cfg, "<s@example.org>");
	for (i = 0; rcpts[i] != NULL; i++)
		assert_int_equal(message_add_rcpt(m, rcpts[i]), MSG_OK);
	assert_int_equal(message_add_header(m, "To", " alice@example.test, "
	    "carol@example.org"), MSG_OK);
	assert_int_equal(message_add_header(m, "Subject", " list"), MSG_OK);
	assert_int_equal(message_add_header(m, "Bcc", " hidden@example.org"),
	    MSG_OK);
	/* SMIME_write_CMS's header block, then its body. */
	body = strstr(data, "\n\n");
	assert_non_null(body);
	*body = '\0';
	body += 2;
	line = data;
	while (line != NULL && *line != '\0') {
		char *nl = strchr(line, '\n'), *colon = strchr(line, ':');

		if (nl != NULL)
			*nl = '\0';
		*colon = '\0';
		assert_int_equal(message_add_header(m, line, colon + 1),
		    MSG_OK);
		line = nl != NULL ? nl + 1 : NULL;
	}
	assert_int_equal(message_add_body(m, body, (size_t)(len -
	    (body - data))), MSG_OK);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	sk_X509_pop_free(to, X509_free);
	return m;
}

static void
test_list_key(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<carol@example.org>", NULL };
	char path[300], extra[700], err[512], *text;
	struct runtime *rt;
	struct message *m, *lm = NULL;
	struct outbound_plan plan;
	struct outbound_copy c;
	X509 *alice = pki_cert("alice-rsa2048");
	X509 *victor = pki_cert("victor-multi");
	EVP_PKEY *key;
	FILE *f;
	bool others, opens;
	size_t i;

	(void)state;
	/* The list's key, stored as SenderKeys wants it. */
	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	write_file("pass", "list passphrase\n", 0600);
	f = fopen(pki_path("keys/alice-rsa2048.key"), "r");
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/keys/alice@example.test.key", dir);
	f = fopen(path, "w");
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(),
	    NULL, 0, NULL, (void *)"list passphrase"), 1);
	fclose(f);
	chmod(path, 0600);
	EVP_PKEY_free(key);
	copy_cert("certs/alice-rsa2048.pem", "keys/alice@example.test.crt");
	copy_cert("certs/victor-multi.pem", "certs/victor.pem");
	snprintf(extra, sizeof(extra), "SenderKeys %s/keys\n"
	    "SenderKeyPassphraseFile %s/pass\n", dir, dir);
	rt = make_runtime("list alice@example.test = bob@example.test, "
	    "victor@example.test\ndefault encrypt=required\n", extra);

	/* The sender's client encrypted to the list (OpenSSL, not us). */
	m = encrypted_to(rt, alice, rcpts);
	assert_int_equal(outbound_open_for_lists(rt, rt->policy, m, &lm,
	    &others, err, sizeof(err)), 1);
	assert_true(others);		/* carol keeps the original */
	assert_int_equal(lm->nrcpts, 1);
	assert_int_equal(outbound_plan(rt, NULL, lm, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_DELIVER);
	if (outbound_build(rt, lm, &plan, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.ndrop, 1);
	assert_string_equal(c.drop_rcpts[0], "alice@example.test");
	assert_int_equal(c.nedits, 0);	/* the original stays for carol */
	assert_int_equal(c.nextra, 2);
	/* ... but cleaned as any mail that passes: no Bcc field. */
	{
		struct outbound_copy keep;
		bool bcc_removed = false;

		assert_int_equal(outbound_keep_for_others(rt, m, lm, true,
		    &keep), 0);
		assert_int_equal(keep.ndrop, 0);	/* c drops the list */
		for (i = 0; i < keep.nedits; i++)
			bcc_removed |= keep.edits[i].op == HE_CHANGE &&
			    keep.edits[i].value == NULL &&
			    strcasecmp(keep.edits[i].name, "Bcc") == 0;
		assert_true(bcc_removed);
		outbound_copy_free(&keep);
		/* Without copies (every member notified) the list leaves
		 * the transaction all the same. */
		assert_int_equal(outbound_keep_for_others(rt, m, lm, false,
		    &keep), 0);
		assert_int_equal(keep.ndrop, 1);
		assert_string_equal(keep.drop_rcpts[0], "alice@example.test");
		outbound_copy_free(&keep);
	}
	for (i = 0; i < 2; i++) {
		bool bob = strcmp(c.extra[i].rcpts[0], "bob@example.test") == 0;

		text = extra_text(&c, i);
		assert_int_equal(recipient_infos(text, bob ?
		    "keys/bob-rsa3072.key" : "keys/victor-multi.key", bob ?
		    "bob-rsa3072" : "victor-multi", &opens), 1);
		assert_true(opens);
		/* The member reads the content, not another envelope. */
		assert_non_null(strstr(last_plain, "List secret."));
		assert_null(strstr(last_plain, "pkcs7-mime"));
		(void)recipient_infos(text, "keys/alice-rsa2048.key",
		    "alice-rsa2048", &opens);
		assert_false(opens);
		assert_null(strstr(text, "List secret"));
		free(text);
	}
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(lm);
	message_free(m);
	/* Encrypted to somebody else than the list (victor): the list's key
	 * cannot open it, the same on every retry, so it passes untouched
	 * instead of being tempfailed until it bounces. */
	m = encrypted_to(rt, victor, rcpts);
	lm = NULL;
	assert_int_equal(outbound_open_for_lists(rt, rt->policy, m, &lm,
	    &others, err, sizeof(err)), 0);
	assert_null(lm);
	message_free(m);
	X509_free(alice);
	X509_free(victor);
	runtime_release(rt);
}

/* The missing-cert actions decide the verdict and the reply. */
static void
test_missing_cert_actions(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", NULL };
	static const struct {
		const char *policy;
		enum plan_verdict verdict;
		const char *rcode, *text;
	} t[] = {
		{ "default encrypt=required missing-cert=reject\n",
		    PLAN_REJECT, "550", "no usable certificate for: "
		    "nocert@example.test" },
		{ "default encrypt=required missing-cert=reject "
		    "allow-plain-ok=yes\n", PLAN_REJECT, "550",
		    "X-SMIME-Request: plain-ok" },
		{ "default encrypt=required missing-cert=defer\n",
		    PLAN_DEFER, "451", "nocert@example.test; delivery will "
		    "be retried" },
		{ "default encrypt=required missing-cert=notify\n",
		    PLAN_DELIVER, NULL, NULL },
		{ "default encrypt=opportunistic\n", PLAN_DELIVER, NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct runtime *rt = make_runtime(t[i].policy, "");
		struct message *m = make_message(rt, "<s@example.org>", rcpts,
		    to_alice);
		struct outbound_plan plan;

		assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
		if (plan.verdict != t[i].verdict)
			fail_msg("%s: verdict %d", t[i].policy, plan.verdict);
		if (t[i].rcode != NULL) {
			assert_string_equal(plan.rcode, t[i].rcode);
			assert_string_equal(plan.xcode, t[i].rcode[0] == '5' ?
			    "5.7.1" : "4.7.1");
			if (strstr(plan.reply, t[i].text) == NULL)
				fail_msg("reply \"%s\" lacks \"%s\"", plan.reply,
				    t[i].text);
			assert_null(strchr(plan.reply, '%'));
		}
		if (i == 3)
			assert_int_equal(plan.r[1].action, RA_NOTIFY);
		outbound_plan_free(&plan);
		message_free(m);
		runtime_release(rt);
	}
}

/* sign-only without a key for the sender: plain, and said why; and a
 * recipient whose address holds '%' and a control character cannot
 * inject into the SMTP reply (libmilter treats '%' as a format). */
static void
test_sign_only_and_reply_injection(void **state)
{
	static const char *const rcpts[] = { "<a%b@example.test>",
	    "<x\001y@example.test>", NULL };
	static const char *const hdrs[] = { "To", " a@example.test", NULL };
	struct runtime *rt = make_runtime("default encrypt=required "
	    "missing-cert=sign-only\nto *@example.test encrypt=required "
	    "missing-cert=reject\n", "");
	struct runtime *rt2 = make_runtime("default encrypt=required "
	    "missing-cert=sign-only\n", "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts, hdrs);
	struct outbound_plan plan;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_REJECT);
	assert_null(strchr(plan.reply, '%'));
	assert_null(strchr(plan.reply, '\001'));
	assert_null(strchr(plan.reply, '\r'));
	assert_null(strchr(plan.reply, '\n'));
	assert_non_null(strstr(plan.reply, "a?b@example.test"));
	outbound_plan_free(&plan);
	assert_int_equal(outbound_plan(rt2, NULL, m, true, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_DELIVER);
	assert_int_equal(plan.r[0].action, RA_PLAIN);
	assert_non_null(strstr(plan.r[0].why, "not signed: no key for the "
	    "sender"));
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
	runtime_release(rt2);
}

/* smfi_chgheader counts fields of one name: each edit names its own. */
static void
test_edit_indexes(void **state)
{
	static const char *const rcpts[] = { "<a@example.test>", NULL };
	static const char *const hdrs[] = { "X-SMIME-Request", " sign",
	    "To", " a@example.test", "x-smime-request", " encrypt",
	    "Bcc", " b@example.test", "X-SMIME-REQUEST", " plain-ok", NULL };
	struct runtime *rt = make_runtime("default encrypt=never\n", "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts, hdrs);
	struct outbound_copy c;
	unsigned seen = 0;
	size_t i;

	(void)state;
	assert_int_equal(outbound_strip_requests(rt, m, false, &c), 0);
	assert_int_equal(c.nedits, 4);
	for (i = 0; i < c.nedits; i++) {
		assert_int_equal(c.edits[i].op, HE_CHANGE);
		assert_null(c.edits[i].value);
		if (strcasecmp(c.edits[i].name, "Bcc") == 0)
			assert_int_equal(c.edits[i].index, 1);
		else
			seen |= 1u << c.edits[i].index;
	}
	assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 3));
	outbound_copy_free(&c);
	message_free(m);
	runtime_release(rt);
}

/* A directory that cannot be read, or a group never read: tempfail. */
static void
test_lookup_error_and_group_tempfail(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>", NULL };
	struct runtime *rt = make_runtime("group g = ldap:nowhere cn=x\n"
	    "from @g encrypt=never\n", "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts,
	    to_alice);
	struct outbound_plan plan;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_TEMPFAIL);
	assert_string_equal(plan.rcode, "451");
	assert_non_null(strstr(plan.reply, "policy group g"));
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

struct sniff_case {
	const char *ctype, *cte;
	char *body;
	bool pass;
};

/*
 * Already encrypted mail passes untouched -- when the body agrees with
 * the header: a clear body under an encrypted Content-Type (a client's
 * mistake) is handled like any mail, so it is not sent in clear to a
 * recipient whose mail must be encrypted.
 */
static void
test_already_encrypted(void **state)
{
	static const char *const rcpts[] = { "<nocert@example.test>", NULL };
	static const char smime[] = " application/pkcs7-mime; "
	    "smime-type=enveloped-data; name=smime.p7m";
	static const char pgp[] = " multipart/encrypted; "
	    "protocol=\"application/pgp-encrypted\"; boundary=\"b\"";
	static const char armor[] = "--b\r\nContent-Type: "
	    "application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n"
	    "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA%s\r\n=abcd\r\n"
	    "-----END PGP MESSAGE-----\r\n--b--\r\n";
	char *b64 = pki_enveloped_b64("alice-rsa2048"), *body;
	char filler[3000], clear[2200];
	struct sniff_case t[6];
	struct runtime *rt = make_runtime("default encrypt=required\n", "");
	size_t i;

	(void)state;
	memset(filler, 'A', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	memset(clear, 'x', sizeof(clear) - 1);
	clear[sizeof(clear) - 1] = '\0';
	t[0] = (struct sniff_case){ smime, " base64", strdup(b64), true };
	t[1] = (struct sniff_case){ smime, " base64",
	    strdup("The secret, in clear.\r\n"), false };
	body = malloc(strlen(b64) + 64);
	sprintf(body, "%sSecret in clear.\r\n", b64);
	t[2] = (struct sniff_case){ smime, " base64", body, false };
	/* base64, but of text, not of a CMS object */
	t[3] = (struct sniff_case){ smime, " base64",
	    strdup("VGhlIHNlY3JldCwgaW4gY2xlYXIuIFRoZSBzZWNyZXQu\r\n"), false };
	body = malloc(sizeof(armor) + sizeof(filler));
	sprintf(body, armor, filler);
	t[4] = (struct sniff_case){ pgp, NULL, body, true };
	body = malloc(sizeof(armor) + sizeof(filler) + sizeof(clear) + 4);
	sprintf(body, "%s\r\n", clear);
	sprintf(body + strlen(body), armor, filler);
	t[5] = (struct sniff_case){ pgp, NULL, body, false };
	for (i = 0; i < 6; i++) {
		struct message *m = message_new(rt->cfg, "<s@example.org>");
		struct outbound_plan plan;

		assert_int_equal(message_add_rcpt(m, rcpts[0]), MSG_OK);
		assert_int_equal(message_add_header(m, "To",
		    " nocert@example.test"), MSG_OK);
		assert_int_equal(message_add_header(m, "MIME-Version", " 1.0"),
		    MSG_OK);
		assert_int_equal(message_add_header(m, "Content-Type",
		    t[i].ctype), MSG_OK);
		if (t[i].cte != NULL)
			assert_int_equal(message_add_header(m,
			    "Content-Transfer-Encoding", t[i].cte), MSG_OK);
		assert_int_equal(message_add_body(m, t[i].body,
		    strlen(t[i].body)), MSG_OK);
		assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
		if ((plan.verdict == PLAN_PASS) != t[i].pass)
			fail_msg("case %zu: verdict %d (%s)", i, plan.verdict,
			    plan.log);
		if (!t[i].pass)
			assert_non_null(strstr(plan.log,
			    "encrypted=claimed-not-found"));
		outbound_plan_free(&plan);
		message_free(m);
		free(t[i].body);
	}
	free(b64);
	runtime_release(rt);
}

/* Requests count only from trusted senders; never lower the policy. */
static void
test_requests_need_trust(void **state)
{
	static const char *const rcpts[] = { "<nocert@example.test>", NULL };
	static const char *const hdrs[] = { "To", " nocert@example.test",
	    "X-SMIME-Request", " plain-ok", NULL };
	struct runtime *rt = make_runtime("default encrypt=required "
	    "missing-cert=reject allow-plain-ok=yes\n", "");
	struct message *m = make_message(rt, "<s@example.org>", rcpts, hdrs);
	struct outbound_plan plan;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_REJECT);	/* not trusted */
	outbound_plan_free(&plan);
	assert_int_equal(outbound_plan(rt, NULL, m, true, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_DELIVER);	/* internal */
	assert_int_equal(plan.r[0].action, RA_PLAIN);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encrypt_one),
		cmocka_unit_test(test_bcc_own_copy),
		cmocka_unit_test(test_mixed_treatments),
		cmocka_unit_test(test_confidential_list),
		cmocka_unit_test(test_list_key),
		cmocka_unit_test(test_sign_only_and_reply_injection),
		cmocka_unit_test(test_edit_indexes),
		cmocka_unit_test(test_missing_cert_actions),
		cmocka_unit_test(test_lookup_error_and_group_tempfail),
		cmocka_unit_test(test_already_encrypted),
		cmocka_unit_test(test_requests_need_trust),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
