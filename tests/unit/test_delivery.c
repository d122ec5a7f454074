/*
 * test_delivery.c -- the re-submission marker (marker.h) and journal
 * (journal.h).
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
#include <utime.h>

#include "config.h"
#include "journal.h"
#include "marker.h"
#include "message.h"

static const struct marker_secret secret = { "0123456789abcdef-secret", 23 };
static const char *const rcpts[] = { "Bob@Example.test", "carol@example.test" };
static const char *const swapped[] = { "carol@example.test",
    "bob@example.TEST" };
static const char *const other[] = { "bob@example.test",
    "mallory@example.test" };

static void
test_marker_roundtrip(void **state)
{
	char v[160];
	time_t now = 1800000000;

	(void)state;
	assert_int_equal(marker_make(&secret, "<m1@x>", rcpts, 2, now, v,
	    sizeof(v)), 0);
	assert_true(strncmp(v, "v1; t=1800000000; h=", 20) == 0);
	/* Order and case of the recipients do not matter. */
	assert_true(marker_verify(&secret, v, "<m1@x>", swapped, 2, now + 60));
	assert_true(marker_verify(&secret, v, "<m1@x>", rcpts, 2, now));
}

static void
test_marker_refusals(void **state)
{
	struct marker_secret wrong = secret;
	char v[160], bad[200];
	time_t now = 1800000000;

	(void)state;
	wrong.key[0] ^= 1;
	assert_int_equal(marker_make(&secret, "<m1@x>", rcpts, 2, now, v,
	    sizeof(v)), 0);
	assert_false(marker_verify(&wrong, v, "<m1@x>", rcpts, 2, now));
	assert_false(marker_verify(&secret, v, "<m2@x>", rcpts, 2, now));
	assert_false(marker_verify(&secret, v, NULL, rcpts, 2, now));
	assert_false(marker_verify(&secret, v, "<m1@x>", other, 2, now));
	assert_false(marker_verify(&secret, v, "<m1@x>", rcpts, 1, now));
	assert_false(marker_verify(&secret, v, "<m1@x>", rcpts, 2,
	    now + MARKER_MAX_AGE + 1));
	assert_false(marker_verify(&secret, v, "<m1@x>", rcpts, 2,
	    now - 7200));
	/* A changed timestamp or MAC, garbage, a trailing addition. */
	snprintf(bad, sizeof(bad), "%s", v);
	bad[8] = bad[8] == '1' ? '2' : '1';
	assert_false(marker_verify(&secret, bad, "<m1@x>", rcpts, 2, now));
	snprintf(bad, sizeof(bad), "%s", v);
	bad[strlen(bad) - 2] ^= 1;
	assert_false(marker_verify(&secret, bad, "<m1@x>", rcpts, 2, now));
	snprintf(bad, sizeof(bad), "%sX", v);
	assert_false(marker_verify(&secret, bad, "<m1@x>", rcpts, 2, now));
	assert_false(marker_verify(&secret, "v1; t=abc", "<m1@x>", rcpts, 2,
	    now));
	assert_false(marker_verify(&secret, "", "<m1@x>", rcpts, 2, now));
	/* Trailing white space of a header value is not part of it. */
	snprintf(bad, sizeof(bad), " %s \r\n", v);
	assert_true(marker_verify(&secret, bad, "<m1@x>", rcpts, 2, now));
}

static char dir[] = "/tmp/test_delivery.XXXXXX";

static void
test_secret_file(void **state)
{
	struct marker_secret s;
	char path[100], err[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("a-long-enough-secret\n", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(marker_secret_load(path, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "owner only"));
	chmod(path, 0600);
	assert_int_equal(marker_secret_load(path, &s, err, sizeof(err)), 0);
	assert_int_equal(s.len, 20);
	f = fopen(path, "w");
	fputs("short\n", f);
	fclose(f);
	assert_int_equal(marker_secret_load(path, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 16"));
}

static struct message *
make_msg(struct config *cfg, const char *received)
{
	struct message *m = message_new(cfg, "<s@example.org>");

	assert_non_null(m);
	assert_int_equal(message_add_rcpt(m, "<b@example.test>"), MSG_OK);
	assert_int_equal(message_add_rcpt(m, "<a@example.test>"), MSG_OK);
	assert_int_equal(message_add_header(m, "Received", received), MSG_OK);
	assert_int_equal(message_add_header(m, "Message-ID", " <j@x>"), MSG_OK);
	assert_int_equal(message_add_body(m, "body\r\n", 6), MSG_OK);
	return m;
}

static void
test_journal(void **state)
{
	struct config *cfg = config_defaults();
	struct message *m1 = make_msg(cfg, " from a by b; Mon, 1 Jan"),
	    *m2 = make_msg(cfg, " from a by c; Tue, 2 Jan");
	char fp1[65], fp2[65], k1[65], k2[65], err[256], path[200];
	static const char *const g1[] = { "carol@example.test" };
	static const char *const g2[] = { "victor@example.test",
	    "carol@example.test" };
	static const char *const g2b[] = { "carol@EXAMPLE.test",
	    "victor@example.test" };
	static const char *const g2c[] = { "Carol@example.test",
	    "victor@example.test" };
	struct utimbuf old = { 1000, 1000 };

	(void)state;
	/* The same message retried: a new Received field, same print. */
	assert_int_equal(journal_fingerprint(m1, fp1, sizeof(fp1)), 0);
	assert_int_equal(journal_fingerprint(m2, fp2, sizeof(fp2)), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(message_add_body(m2, "x", 1), MSG_OK);
	assert_int_equal(journal_fingerprint(m2, fp2, sizeof(fp2)), 0);
	assert_string_not_equal(fp1, fp2);

	journal_copy_key(g1, 1, k1, sizeof(k1));
	journal_copy_key(g2, 2, k2, sizeof(k2));
	assert_string_not_equal(k1, k2);
	journal_copy_key(g2b, 2, k2, sizeof(k2));	/* order, domain case */
	journal_copy_key(g2, 2, fp2, sizeof(fp2));
	assert_string_equal(k2, fp2);
	/* "Carol" and "carol" may be two mailboxes: two keys. */
	journal_copy_key(g2c, 2, fp2, sizeof(fp2));
	assert_string_not_equal(k2, fp2);
	journal_copy_key(g2, 2, k2, sizeof(k2));

	assert_false(journal_has(dir, fp1, k1));
	assert_int_equal(journal_add(dir, fp1, k1, err, sizeof(err)), 0);
	assert_true(journal_has(dir, fp1, k1));
	assert_false(journal_has(dir, fp1, k2));
	assert_int_equal(journal_add(dir, fp1, k2, err, sizeof(err)), 0);
	assert_true(journal_has(dir, fp1, k2));
	/* Old records go. */
	snprintf(path, sizeof(path), "%s/%s", dir, fp1);
	assert_int_equal(utime(path, &old), 0);
	journal_expire(dir, time(NULL));
	assert_false(journal_has(dir, fp1, k1));
	assert_int_equal(journal_add(dir, "../escape", k1, err, sizeof(err)),
	    -1);
	message_free(m1);
	message_free(m2);
	config_release(cfg);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[100];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marker_roundtrip),
		cmocka_unit_test(test_marker_refusals),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
