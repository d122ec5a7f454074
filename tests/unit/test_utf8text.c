/*
 * test_utf8text.c -- cleaning untrusted text: unfolding, control
 * characters, invalid UTF-8, length caps with "...".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "utf8text.h"

#define FFFD "\xef\xbf\xbd"

static const struct {
	const char *in;
	size_t max;
	const char *out;
} cases[] = {
	{ "plain text", 100, "plain text" },
	{ "  lead and trail \t ", 100, "lead and trail" },
	{ "folded\r\n header\r\n\tvalue", 100, "folded header value" },
	{ "a\r\nBcc: evil@example.org", 100, "a Bcc: evil@example.org" },
	{ "bare\rCR and bare\nLF", 100, "bare CR and bare LF" },
	{ "ctl\x01\x02\x1b[31m\x7f", 100, "ctl[31m" },
	{ "c1 \xc2\x85\xc2\x9b x", 100, "c1 x" },
	{ "line\xe2\x80\xa8sep", 100, "line sep" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 100,
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "bad \xff byte", 100, "bad " FFFD " byte" },
	{ "latin1 caf\xe9!", 100, "latin1 caf" FFFD "!" },
	{ "overlong \xc0\xaf", 100, "overlong " FFFD FFFD },
	{ "surrogate \xed\xa0\x80", 100, "surrogate " FFFD FFFD FFFD },
	{ "too big \xf4\x90\x80\x80", 100, "too big " FFFD FFFD FFFD FFFD },
	{ "cut \xe2\x82", 100, "cut " FFFD FFFD },
	{ "abcdefghij", 10, "abcdefghij" },
	{ "abcdefghijk", 10, "abcdefg..." },
	{ "abcdefghij   ", 10, "abcdefghij" },
	{ "abc defg hijk", 10, "abc def..." },
	{ "abcdef  hijk", 10, "abcdef..." },
	{ "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", 5,
	    "\xc3\xa4\xc3\xa4..." },
	{ "", 10, "" },
	{ "\r\n\t ", 10, "" },
};

static void
test_table(void **state)
{
	char out[512];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = utf8_clean(cases[i].in, strlen(cases[i].in), cases[i].max,
		    out, sizeof(out));
		if (strcmp(out, cases[i].out) != 0 || n != strlen(out))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, out,
			    cases[i].out);
	}
}

/* A short output buffer cuts on a character boundary, "..." included. */
static void
test_small_buffer(void **state)
{
	char out[8];

	(void)state;
	utf8_clean("\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", 8, 100, out,
	    sizeof(out));
	assert_string_equal(out, "\xc3\xa4\xc3\xa4...");
	utf8_clean("abcdefg", 7, 100, out, sizeof(out));
	assert_string_equal(out, "abcdefg");
	utf8_clean("abcdefgh", 8, 100, out, sizeof(out));
	assert_string_equal(out, "abcd...");
	utf8_clean("abcdefgh", 8, 100, out, 1);
	assert_string_equal(out, "");
}

/* Embedded NUL bytes are control characters like the others. */
static void
test_nul_dropped(void **state)
{
	char out[32];

	(void)state;
	utf8_clean("a\0b", 3, 10, out, sizeof(out));
	assert_string_equal(out, "ab");
}

/* Every byte value in every position: output is clean UTF-8. */
static void
test_all_bytes(void **state)
{
	unsigned char in[3];
	char out[64];
	unsigned a, b;
	size_t i, n;

	(void)state;
	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			in[0] = (unsigned char)a;
			in[1] = (unsigned char)b;
			in[2] = 0x80;
			n = utf8_clean((char *)in, 3, 10, out, sizeof(out));
			for (i = 0; i < n; i++)
				if ((unsigned char)out[i] < 0x20 ||
				    out[i] == 0x7f)
					fail_msg("control byte from %02x %02x",
					    a, b);
		}
	}
	assert_true(text_is_ascii("abc"));
	assert_false(text_is_ascii("ab\xc3\xa4"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_nul_dropped),
		cmocka_unit_test(test_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
