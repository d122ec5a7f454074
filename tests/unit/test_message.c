/*
 * test_message.c -- the per-message store and its limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "address.h"
#include "message.h"
#include "message_read.h"
#include "spool.h"

static struct config *
make_config(const char *text)
{
	char err[256];
	struct config *cfg = config_parse("t", text, strlen(text), err,
	    sizeof(err));

	if (cfg == NULL)
		fail_msg("%s", err);
	return cfg;
}

static void
test_collects_everything(void **state)
{
	struct config *cfg = make_config("SpoolDir /tmp\nSpoolThreshold 8\n");
	struct message *msg = message_new(cfg, "<a@example.org>");

	(void)state;
	config_release(cfg);	/* the message keeps its own reference */
	assert_non_null(msg);
	assert_int_equal(message_set_qid(msg, "4Qx1"), 0);
	assert_int_equal(message_set_auth(msg, "alice"), 0);
	assert_int_equal(message_add_rcpt(msg, "<b@example.net>"), MSG_OK);
	assert_int_equal(message_add_rcpt(msg, "<c@example.net>"), MSG_OK);
	assert_int_equal(message_add_header(msg, "Subject", " hi"), MSG_OK);
	assert_int_equal(message_add_header(msg, "To", " b@example.net"),
	    MSG_OK);
	assert_int_equal(message_add_body(msg, "0123456789", 10), MSG_OK);
	assert_string_equal(msg->sender, "a@example.org");
	assert_string_equal(msg->qid, "4Qx1");
	assert_string_equal(msg->auth_authen, "alice");
	assert_int_equal(msg->nrcpts, 2);
	assert_string_equal(msg->rcpts[0], "b@example.net");
	assert_string_equal(msg->rcpts[1], "c@example.net");
	assert_int_equal(msg->nheaders, 2);
	assert_string_equal(msg->headers[0].name, "Subject");
	assert_string_equal(msg->headers[0].value, " hi");
	/* "Subject: hi\r\n" = 7+1+3+2, "To: b@example.net\r\n" = 2+1+14+2 */
	assert_int_equal(msg->header_bytes, 13 + 19);
	assert_int_equal(message_size(msg), 13 + 19 + 10);
	assert_true(spool_on_disk(msg->body));
	assert_string_equal(msg->cfg->spool_dir, "/tmp");
	message_free(msg);
	message_free(NULL);
}

static void
test_many_headers_and_recipients(void **state)
{
	struct config *cfg = make_config("SpoolDir /tmp\n");
	struct message *msg = message_new(cfg, "");
	char buf[64];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "<r%d@example.net>", i);
		assert_int_equal(message_add_rcpt(msg, buf), MSG_OK);
		assert_int_equal(message_add_header(msg, "X-N", buf), MSG_OK);
	}
	assert_string_equal(msg->rcpts[4999], "r4999@example.net");
	assert_string_equal(msg->headers[4999].value, "<r4999@example.net>");
	message_free(msg);
	config_release(cfg);
}

static void
test_envelope_address_forms(void **state)
{
	static const struct { const char *arg, *bare; } cases[] = {
		{ "<a@example.org>", "a@example.org" },
		{ "a@example.org", "a@example.org" },
		{ "<>", "" },
		{ "", "" },
		{ " <b@example.org> ", "b@example.org" },
		{ "<\"odd local\"@example.org>", "\"odd local\"@example.org" },
		{ "<", "<" },
		{ "<<x@y>>", "<x@y>" },	/* only one pair is the envelope's */
	};
	struct config *cfg = make_config("SpoolDir /tmp\n");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct message *msg = message_new(cfg, cases[i].arg);

		assert_string_equal(msg->sender, cases[i].bare);
		assert_int_equal(message_add_rcpt(msg, cases[i].arg), MSG_OK);
		assert_string_equal(msg->rcpts[0], cases[i].bare);
		message_free(msg);
	}
	config_release(cfg);
}

static void
test_address_normalise(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "<Alice@Example.ORG>", "alice@example.org" },
		{ "  bob@example.net\t", "bob@example.net" },
		{ "\"a@b\"@example.org", "\"a@b\"@example.org" },
		/* address_canonical() first: one spelling per mailbox */
		{ "<\"John\"@Example.ORG>", "john@example.org" },
		{ "\"John Doe\"@X.test", "\"john doe\"@x.test" },
		{ "\"A..b\"@example.org", "a..b@example.org" },
		{ "a b@example.org", NULL },
		{ "a@b@example.org", NULL },
		{ "<>", NULL },
		{ "no-at-sign", NULL },
		{ "@example.org", NULL },
		{ "user@", NULL },
		{ "bad\001char@example.org", NULL },
	};
	char in[400], out[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = address_normalise(cases[i].in, out, sizeof(out));

		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("accepted '%s'", cases[i].in);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].out);
		}
	}
	/* Too long for the buffer or for an address. */
	assert_int_equal(address_normalise("a@example.org", out, 5), -1);
	memset(in, 'a', 313);
	memcpy(in + 313, "@x.test", 8);		/* 320 octets */
	assert_int_equal(address_normalise(in, out, sizeof(out)), 0);
	memset(in, 'a', 314);
	memcpy(in + 314, "@x.test", 8);		/* 321 octets */
	assert_int_equal(address_normalise(in, out, sizeof(out)), -1);
}

static void
test_max_message_size(void **state)
{
	struct config *cfg = make_config("SpoolDir /tmp\nMaxMessageSize 100\n");
	struct message *msg = message_new(cfg, "<a@b>");
	char body[100];

	(void)state;
	memset(body, 'x', sizeof(body));
	/* "Subject" ":" + 40 + CRLF = 50 bytes of header */
	assert_int_equal(message_add_header(msg, "Subject",
	    "0123456789012345678901234567890123456789"), MSG_OK);
	assert_int_equal(message_add_body(msg, body, 50), MSG_OK);
	assert_int_equal(message_size(msg), 100);	/* exactly the limit */
	assert_int_equal(message_add_body(msg, body, 1), MSG_TOO_BIG);
	assert_string_equal(msg->reason, "message size exceeds 100 bytes");
	assert_int_equal(message_add_header(msg, "X", ""), MSG_TOO_BIG);
	message_free(msg);
	config_release(cfg);
}

static void
test_hard_header_bound_without_limit(void **state)
{
	struct config *cfg = make_config("SpoolDir /tmp\n");
	struct message *msg = message_new(cfg, "<a@b>");
	char *big = malloc(1024 * 1024);
	enum msg_status st = MSG_OK;
	int i;

	(void)state;
	memset(big, 'h', 1024 * 1024 - 1);
	big[1024 * 1024 - 1] = '\0';
	for (i = 0; i < 20 && st == MSG_OK; i++)
		st = message_add_header(msg, "X-Big", big);
	assert_int_equal(st, MSG_TOO_BIG);
	assert_int_equal(i, 16);
	assert_non_null(strstr(msg->reason, "header section larger than"));
	free(big);
	message_free(msg);
	config_release(cfg);
}

static void
test_spool_failure_is_tempfail(void **state)
{
	struct config *cfg = make_config("SpoolDir /nonexistent\n"
	    "SpoolThreshold 4\n");
	struct message *msg = message_new(cfg, "<a@b>");

	(void)state;
	assert_int_equal(message_add_body(msg, "abcdef", 6), MSG_TEMPFAIL);
	assert_non_null(strstr(msg->reason, "cannot create spool file"));
	message_free(msg);
	config_release(cfg);
}

static struct message *
read_text(const char *text, size_t len, enum msg_status want)
{
	struct config *cfg = make_config("SpoolDir /tmp\nSpoolThreshold 16\n");
	struct message *msg = message_new(cfg, "<a@b>");
	FILE *in = fmemopen((void *)text, len, "r");

	assert_non_null(in);
	assert_int_equal(message_read(msg, in), want);
	fclose(in);
	config_release(cfg);
	return msg;
}

static char *
body_text(struct message *msg)
{
	static char buf[256];
	char err[128];
	ssize_t n = spool_read(msg->body, 0, buf, sizeof(buf) - 1, err,
	    sizeof(err));

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_read_whole_message(void **state)
{
	static const char text[] =
	    "From: Alice <alice@example.org>\r\n"
	    "Subject: a long\r\n"
	    "\tfolded subject\r\n"
	    "To:bob@example.net\n"
	    "\r\n"
	    "Body line 1\r\n"
	    "From: not a header\r\n";
	struct message *msg = read_text(text, sizeof(text) - 1, MSG_OK);

	(void)state;
	assert_int_equal(msg->nheaders, 3);
	assert_string_equal(msg->headers[0].name, "From");
	assert_string_equal(msg->headers[0].value, " Alice <alice@example.org>");
	assert_string_equal(msg->headers[1].value,
	    " a long\r\n\tfolded subject");
	assert_string_equal(msg->headers[2].name, "To");
	assert_string_equal(msg->headers[2].value, "bob@example.net");
	assert_string_equal(body_text(msg),
	    "Body line 1\r\nFrom: not a header\r\n");
	message_free(msg);
}

static void
test_read_odd_shapes(void **state)
{
	static const char no_body[] = "Subject: x\r\nTo: y\r\n";
	static const char no_blank[] = "Subject: x\r\nthis is body text\r\n";
	static const char nul_in_body[] = "A: b\r\n\r\nx\0y";
	struct message *msg;

	(void)state;
	msg = read_text(no_body, sizeof(no_body) - 1, MSG_OK);
	assert_int_equal(msg->nheaders, 2);
	assert_int_equal(spool_size(msg->body), 0);
	message_free(msg);

	/* A line that is no field ends the header section. */
	msg = read_text(no_blank, sizeof(no_blank) - 1, MSG_OK);
	assert_int_equal(msg->nheaders, 1);
	assert_string_equal(body_text(msg), "this is body text\r\n");
	message_free(msg);

	msg = read_text(nul_in_body, sizeof(nul_in_body) - 1, MSG_OK);
	assert_int_equal(spool_size(msg->body), 3);
	message_free(msg);
}

static void
test_read_limits(void **state)
{
	size_t len = MESSAGE_READ_MAX_LINE + 100;
	char *text = malloc(len + 1);
	struct message *msg;

	(void)state;
	memcpy(text, "Subject: ", 9);
	memset(text + 9, 'x', len - 9);
	text[len - 1] = '\n';
	text[len] = '\0';
	msg = read_text(text, len, MSG_TOO_BIG);
	assert_non_null(strstr(msg->reason, "header line longer than"));
	message_free(msg);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collects_everything),
		cmocka_unit_test(test_many_headers_and_recipients),
		cmocka_unit_test(test_envelope_address_forms),
		cmocka_unit_test(test_address_normalise),
		cmocka_unit_test(test_max_message_size),
		cmocka_unit_test(test_hard_header_bound_without_limit),
		cmocka_unit_test(test_spool_failure_is_tempfail),
		cmocka_unit_test(test_read_whole_message),
		cmocka_unit_test(test_read_odd_shapes),
		cmocka_unit_test(test_read_limits),
	};

	log_setup("test_message", false, 0, false, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
