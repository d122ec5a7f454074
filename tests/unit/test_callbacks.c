/*
 * test_callbacks.c -- drive the libmilter callbacks through the stub seam:
 * message capture, abort mid-message, several messages per connection,
 * size rejection, tempfail on spool failure, close without connect.
 * Leaks show up under the sanitizer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callbacks.h"
#include "config.h"
#include "runtime.h"
#include "log.h"
#include "stub_mta.h"

static char spool_dir[] = "/tmp/test_callbacks.XXXXXX";

/* The daemon's running state around cfg (reference taken). */
static void
install_runtime(struct config *cfg)
{
	char err[256];
	struct runtime *rt = runtime_new(cfg, NULL, err, sizeof(err));

	if (rt == NULL)
		fail_msg("%s", err);
	runtime_install(rt);
}

static void
install_config(const char *extra)
{
	char text[1024], err[256];
	struct config *cfg;

	snprintf(text, sizeof(text), "SpoolDir %s\nSpoolThreshold 1k\n"
	    "CertificateSources dir:%s\n%s", spool_dir, spool_dir, extra);
	cfg = config_parse("t", text, strlen(text), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	install_runtime(cfg);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(spool_dir) == NULL)
		return -1;
	log_setup("test_callbacks", false, 0, false, LOG_LVL_ERROR);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	runtime_install(NULL);
	return rmdir(spool_dir);
}

static SMFICTX *
as_ctx(struct stub_ctx *s)
{
	return (SMFICTX *)(void *)s;
}

static sfsistat
do_connect(struct stub_ctx *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	stub_set_macro(s, "{daemon_name}", "smtpd");
	return smime_filter.xxfi_connect(as_ctx(s), "client.example",
	    (struct sockaddr *)&sin);
}

static sfsistat
envfrom(struct stub_ctx *s, const char *from)
{
	char *argv[] = { (char *)from, NULL };

	return smime_filter.xxfi_envfrom(as_ctx(s), argv);
}

static sfsistat
envrcpt(struct stub_ctx *s, const char *rcpt)
{
	char *argv[] = { (char *)rcpt, NULL };

	return smime_filter.xxfi_envrcpt(as_ctx(s), argv);
}

static sfsistat
body(struct stub_ctx *s, size_t len)
{
	unsigned char *buf = calloc(1, len);
	sfsistat rc;

	memset(buf, 'b', len);
	rc = smime_filter.xxfi_body(as_ctx(s), buf, len);
	free(buf);
	return rc;
}

static size_t
spool_entries(void)
{
	DIR *d = opendir(spool_dir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_negotiate_requests_actions_and_macros(void **state)
{
	struct stub_ctx s = { 0 };
	unsigned long f0, f1, f2, f3;

	(void)state;
	assert_int_equal(smime_filter.xxfi_negotiate(as_ctx(&s), 0x1ff,
	    0x1fffff, 0, 0, &f0, &f1, &f2, &f3), SMFIS_CONTINUE);
	assert_true(f0 & SMFIF_CHGBODY);
	assert_true(f0 & SMFIF_DELRCPT);
	assert_true(f0 & SMFIF_ADDRCPT);
	assert_true(f0 & SMFIF_CHGHDRS);
	assert_true(f0 & SMFIF_ADDHDRS);
	assert_true(f0 & SMFIF_QUARANTINE);
	assert_true(f0 & SMFIF_SETSYMLIST);
	assert_false(f0 & SMFIF_CHGFROM);
	assert_true(f1 & SMFIP_HDR_LEADSPC);
	assert_false(f1 & SMFIP_NOBODY);	/* we must see the body */
	assert_false(f1 & SMFIP_NOHDRS);
	assert_int_equal(s.symlists, 5);
}

static void
test_message_then_abort_then_message(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	install_config("");
	assert_int_equal(do_connect(&s), SMFIS_CONTINUE);
	assert_non_null(s.priv);

	/* First message: crosses the spool threshold, then is aborted. */
	assert_int_equal(envfrom(&s, "<a@example.org>"), SMFIS_CONTINUE);
	stub_set_macro(&s, "i", "QID1");
	assert_int_equal(envrcpt(&s, "<b@example.net>"), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_header(as_ctx(&s), "Subject",
	    " one"), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_eoh(as_ctx(&s)), SMFIS_CONTINUE);
	assert_int_equal(body(&s, 5000), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_abort(as_ctx(&s)), SMFIS_CONTINUE);
	assert_int_equal(spool_entries(), 0);

	/* Second message on the same connection completes. */
	stub_set_macro(&s, "i", "QID2");
	assert_int_equal(envfrom(&s, "<c@example.org>"), SMFIS_CONTINUE);
	assert_int_equal(envrcpt(&s, "<d@example.net>"), SMFIS_CONTINUE);
	assert_int_equal(envrcpt(&s, "<e@example.net>"), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_header(as_ctx(&s), "To",
	    " d@example.net"), SMFIS_CONTINUE);
	assert_int_equal(body(&s, 100), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_eom(as_ctx(&s)), SMFIS_CONTINUE);
	assert_int_equal(s.replies, 0);

	/* A second MAIL FROM without eom or abort replaces the message. */
	assert_int_equal(envfrom(&s, "<f@example.org>"), SMFIS_CONTINUE);
	assert_int_equal(body(&s, 3000), SMFIS_CONTINUE);
	assert_int_equal(envfrom(&s, "<g@example.org>"), SMFIS_CONTINUE);

	/* Close frees the connection and any message in progress. */
	assert_int_equal(smime_filter.xxfi_close(as_ctx(&s)), SMFIS_CONTINUE);
	assert_null(s.priv);
	assert_int_equal(spool_entries(), 0);
}

static void
test_too_big_is_rejected_with_534(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	install_config("MaxMessageSize 2k\n");
	do_connect(&s);
	stub_set_macro(&s, "i", "QID3");
	envfrom(&s, "<a@example.org>");
	envrcpt(&s, "<b@example.net>");
	assert_int_equal(body(&s, 1500), SMFIS_CONTINUE);
	assert_int_equal(body(&s, 1500), SMFIS_REJECT);
	assert_string_equal(s.rcode, "552");
	assert_string_equal(s.xcode, "5.3.4");
	/* libmilter may still call abort: nothing left to free twice. */
	assert_int_equal(smime_filter.xxfi_abort(as_ctx(&s)), SMFIS_CONTINUE);
	smime_filter.xxfi_close(as_ctx(&s));
}

static void
test_spool_error_is_tempfail(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	install_config("");
	do_connect(&s);
	/* The configuration changes under the connection: a reload. */
	{
		char err[256];
		char text[300];

		snprintf(text, sizeof(text), "SpoolDir /nonexistent\n"
		    "SpoolThreshold 1k\nCertificateSources dir:%s\n",
		    spool_dir);

		install_runtime(config_parse("t", text, strlen(text), err,
		    sizeof(err)));
	}
	envfrom(&s, "<a@example.org>");
	assert_int_equal(body(&s, 500), SMFIS_CONTINUE);
	assert_int_equal(body(&s, 1000), SMFIS_TEMPFAIL);
	assert_string_equal(s.rcode, "451");
	assert_string_equal(s.xcode, "4.3.0");
	/* Calls after the failure must not crash. */
	assert_int_equal(smime_filter.xxfi_eom(as_ctx(&s)), SMFIS_TEMPFAIL);
	smime_filter.xxfi_close(as_ctx(&s));
}

static void
test_in_flight_message_keeps_its_config(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	install_config("MaxMessageSize 1k\n");
	do_connect(&s);
	envfrom(&s, "<a@example.org>");
	install_config("MaxMessageSize 10m\n");	/* reload mid-message */
	assert_int_equal(body(&s, 2000), SMFIS_REJECT);
	envfrom(&s, "<a@example.org>");		/* next message: new limit */
	assert_int_equal(body(&s, 2000), SMFIS_CONTINUE);
	smime_filter.xxfi_close(as_ctx(&s));
}

static void
test_close_without_connect(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	assert_int_equal(smime_filter.xxfi_close(as_ctx(&s)), SMFIS_CONTINUE);
	assert_int_equal(smime_filter.xxfi_abort(as_ctx(&s)), SMFIS_CONTINUE);
}

static void
test_no_config_tempfails(void **state)
{
	struct stub_ctx s = { 0 };

	(void)state;
	runtime_install(NULL);
	do_connect(&s);
	assert_int_equal(envfrom(&s, "<a@example.org>"), SMFIS_TEMPFAIL);
	assert_string_equal(s.rcode, "451");
	smime_filter.xxfi_close(as_ctx(&s));
}

/* A confidential list has no certificate of its own: RejectAtRcpt (on by
 * default) must not refuse it for that; its members decide later. */
static void
test_rcpt_list_not_rejected(void **state)
{
	struct stub_ctx s = { 0 };
	char path[300], line[400];
	FILE *f;
	sfsistat rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/policy", spool_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("list staff@example.test = alice@example.test\n"
	    "to staff@example.test encrypt=required missing-cert=reject\n"
	    "default encrypt=opportunistic\n", f);
	fclose(f);
	snprintf(line, sizeof(line), "PolicyFile %s\n", path);
	install_config(line);
	assert_int_equal(do_connect(&s), SMFIS_CONTINUE);	/* not loopback */
	assert_int_equal(envfrom(&s, "<a@example.org>"), SMFIS_CONTINUE);
	rc = envrcpt(&s, "<staff@example.test>");
	smime_filter.xxfi_close(as_ctx(&s));
	runtime_install(NULL);
	unlink(path);
	if (rc != SMFIS_CONTINUE)
		fail_msg("RCPT TO:<staff@example.test> (a confidential list) "
		    "refused: %s %s %s", s.rcode, s.xcode, s.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate_requests_actions_and_macros),
		cmocka_unit_test(test_message_then_abort_then_message),
		cmocka_unit_test(test_too_big_is_rejected_with_534),
		cmocka_unit_test(test_spool_error_is_tempfail),
		cmocka_unit_test(test_in_flight_message_keeps_its_config),
		cmocka_unit_test(test_close_without_connect),
		cmocka_unit_test(test_no_config_tempfails),
		cmocka_unit_test(test_rcpt_list_not_rejected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
