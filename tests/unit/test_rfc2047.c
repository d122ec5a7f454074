/*
 * test_rfc2047.c -- encoded-words: decoding (charsets, adjacent words,
 * split characters, what must stay as it is) and writing folded fields
 * (line lengths, whole characters, round trip through the decoder).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc2047.h"
#include "sink.h"

static const struct {
	const char *in, *out;
} dec[] = {
	{ "no words at all", "no words at all" },
	{ "=?UTF-8?Q?caf=C3=A9?=", "caf\xc3\xa9" },
	{ "=?utf-8?q?caf=c3=a9?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1?B?Y2Fm6Q==?=", "caf\xc3\xa9" },
	{ "=?ISO-8859-1?Q?caf=E9?= au lait", "caf\xc3\xa9 au lait" },
	{ "=?windows-1252?Q?=80?=", "\xe2\x82\xac" },
	{ "=?ISO-2022-JP?B?GyRCJEckORsoQg==?=", "\xe3\x81\xa7\xe3\x81\x99" },
	{ "=?UTF-8?Q?a_b?=", "a b" },
	{ "=?UTF-8*en?Q?hi?=", "hi" },
	{ "=?UTF-8?B?aGk?=", "hi" },	/* missing padding: lenient */
	/* White space between adjacent words goes; around text it stays. */
	{ "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?=\t  =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?= plain =?UTF-8?Q?b?=", "a plain b" },
	{ "x =?UTF-8?Q?a?= y", "x a y" },
	/* A character split across two words, and across charsets. */
	{ "=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=", "\xc3\xa9" },
	{ "=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "\xc3\xa9\xc3\xa9" },
	{ "=?UTF-8?Q?a?= =?ISO-8859-1?Q?=E9?=", "a\xc3\xa9" },
	/* Not a word of its own: stays. */
	{ "x=?UTF-8?Q?a?=", "x=?UTF-8?Q?a?=" },
	{ "=?UTF-8?Q?a?=x", "=?UTF-8?Q?a?=x" },
	{ "(=?UTF-8?Q?a?=)", "(=?UTF-8?Q?a?=)" },
	/* Does not decode: stays, with the white space next to it. */
	{ "=?x-no-such-charset?Q?a?=", "=?x-no-such-charset?Q?a?=" },
	{ "=?UTF-8?Q?=ZZ?=", "=?UTF-8?Q?=ZZ?=" },
	{ "=?UTF-8?Q?a=?=", "=?UTF-8?Q?a=?=" },
	{ "=?UTF-8?B?a$==?=", "=?UTF-8?B?a$==?=" },
	{ "=?UTF-8?B?YQ==YQ?=", "=?UTF-8?B?YQ==YQ?=" },
	{ "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?=" },
	{ "=?UTF-8?Q?=C3?=", "=?UTF-8?Q?=C3?=" },
	{ "=?UTF-8?X?a?=", "=?UTF-8?X?a?=" },
	{ "=??Q?a?=", "=??Q?a?=" },
	{ "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },
	{ "=?UTF-8//TRANSLIT?Q?a?=", "=?UTF-8//TRANSLIT?Q?a?=" },
	{ "=?UTF-8?Q?a?= =?bogus?Q?b?= =?UTF-8?Q?c?=",
	    "a =?bogus?Q?b?= c" },
	{ "=?UTF-8?Q?a", "=?UTF-8?Q?a" },
	{ "=?", "=?" },
	/* Decoded control characters come out: the caller cleans them. */
	{ "=?UTF-8?Q?a=0D=0Ab?=", "a\r\nb" },
};

static void
test_decode(void **state)
{
	char out[512];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
		n = rfc2047_decode(dec[i].in, strlen(dec[i].in), out,
		    sizeof(out));
		if (n != strlen(dec[i].out) || strcmp(out, dec[i].out) != 0)
			fail_msg("case %zu: \"%s\" gave \"%s\"", i, dec[i].in,
			    out);
	}
}

/* A full output buffer cuts between words, never inside one. */
static void
test_decode_small_output(void **state)
{
	const char *in = "abc =?UTF-8?Q?=C3=A9=C3=A9?= def";
	char out[8];

	(void)state;
	assert_int_equal(rfc2047_decode(in, strlen(in), out, sizeof(out)), 4);
	assert_string_equal(out, "abc ");
	assert_int_equal(rfc2047_decode(in, strlen(in), out, 1), 0);
	assert_string_equal(out, "");
}

/* Write name: value; check the lines; return the unfolded value. */
static char *
write_and_check(const char *value, size_t maxline)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[200], *p, *line, *unfolded, *dec;
	size_t len, n;

	assert_int_equal(rfc2047_write_field(&s, "Subject", value, err,
	    sizeof(err)), 0);
	assert_true(mb.len >= 10);
	assert_memory_equal(mb.data, "Subject:", 8);
	assert_memory_equal(mb.data + mb.len - 2, "\r\n", 2);
	unfolded = calloc(1, mb.len + 1);
	for (line = (char *)mb.data; line < (char *)mb.data + mb.len;
	    line = p + 2) {
		p = memmem(line, (size_t)((char *)mb.data + mb.len - line),
		    "\r\n", 2);
		assert_non_null(p);
		len = (size_t)(p - line);
		if (len > maxline)
			fail_msg("line of %zu: %.*s", len, (int)len, line);
		if (line != (char *)mb.data && line[0] != ' ')
			fail_msg("continuation without space");
		for (n = 0; n < len; n++)
			if (line[n] < 0x20 || line[n] > 0x7e)
				fail_msg("byte %02x in header",
				    (unsigned char)line[n]);
		strncat(unfolded, line, len);
	}
	free(mb.data);
	assert_memory_equal(unfolded, "Subject:", 8);
	dec = malloc(3 * strlen(unfolded) + 1);
	rfc2047_decode(unfolded + 8, strlen(unfolded + 8), dec,
	    3 * strlen(unfolded) + 1);
	free(unfolded);
	return dec;
}

static void
expect_round_trip(const char *value, size_t maxline)
{
	char *dec = write_and_check(value, maxline);

	if (value[0] == '\0')
		assert_string_equal(dec, "");
	else if (dec[0] != ' ' || strcmp(dec + 1, value) != 0)
		fail_msg("\"%s\" came back as \"%s\"", value, dec);
	free(dec);
}

static void
test_write_examples(void **state)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[200];

	(void)state;
	assert_int_equal(rfc2047_write_field(&s, "Subject",
	    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, 100% sicher", err,
	    sizeof(err)), 0);
	assert_int_equal(mb.len, strlen("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= "
	    "aus =?UTF-8?B?S8O2bG4s?= 100% sicher\r\n"));
	assert_memory_equal(mb.data, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= "
	    "aus =?UTF-8?B?S8O2bG4s?= 100% sicher\r\n", mb.len);
	mb.len = 0;
	/* Mostly non-ASCII: base64 is shorter. */
	assert_int_equal(rfc2047_write_field(&s, "Subject",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", err, sizeof(err)), 0);
	assert_memory_equal(mb.data, "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n",
	    mb.len);
	mb.len = 0;
	/* Plain ASCII stays readable, "=?" does not stay literal. */
	assert_int_equal(rfc2047_write_field(&s, "Subject",
	    "Re: a =?x?q?y?= b", err, sizeof(err)), 0);
	assert_memory_equal(mb.data, "Subject: Re: a =?UTF-8?B?PT94P3E/eT89?= "
	    "b\r\n", mb.len);
	mb.len = 0;
	assert_int_equal(rfc2047_write_field(&s, "Subject", "", err,
	    sizeof(err)), 0);
	assert_memory_equal(mb.data, "Subject:\r\n", mb.len);
	free(mb.data);
}

static void
test_write_round_trips(void **state)
{
	static const char *const values[] = {
		"Hello world",
		"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
		"\xc3\xa4 \xc3\xb6 \xc3\xbc mixed words \xc3\x9f",
		"=?iso-8859-1?q?caf=e9?= kept literal",
		"tail \xf0\x9f\x98\x80",
		"under_score ?= = ? ( ) \" < > @ , ; :",
	};
	char big[3000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		expect_round_trip(values[i], 76);
	/* 200 umlauts, 200 emoji, many short words: all folded at 76. */
	for (big[0] = '\0', i = 0; i < 200; i++)
		strcat(big, "\xc3\xa4");
	expect_round_trip(big, 76);
	for (big[0] = '\0', i = 0; i < 200; i++)
		strcat(big, "\xf0\x9f\x98\x80");
	expect_round_trip(big, 76);
	for (big[0] = '\0', i = 0; i < 200; i++)
		strcat(big, i % 3 ? "word " : "w\xc3\xb6rd ");
	big[strlen(big) - 1] = '\0';
	expect_round_trip(big, 76);
	/* A 300-character ASCII word is not split; 1,000: encoded. */
	memset(big, 'x', 300);
	strcpy(big + 300, " end");
	expect_round_trip(big, 309);
	strcpy(big, "start ");
	memset(big + 6, 'x', 300);
	strcpy(big + 306, " end");
	expect_round_trip(big, 301);
	memset(big, 'y', 1000);
	strcpy(big + 1000, " end");
	expect_round_trip(big, 76);
}

/* Random mixtures of the awkward pieces round-trip within 76. */
static void
test_write_random(void **state)
{
	static const char *const pieces[] = { "a", "Z", "\xc3\xa4",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "=?", "?=", "_", "=",
		"?", ".", "(", "\"", "0123456789" };
	char value[600];
	size_t round, k, nwords;

	(void)state;
	srand(2047);
	for (round = 0; round < 2000; round++) {
		value[0] = '\0';
		nwords = (size_t)(rand() % 12);
		for (k = 0; k < nwords; k++) {
			size_t len = (size_t)(rand() % 6) + 1;

			if (k > 0)
				strcat(value, " ");
			while (len-- > 0)
				strcat(value, pieces[rand() % (int)(sizeof(
				    pieces) / sizeof(pieces[0]))]);
		}
		expect_round_trip(value, 76);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_small_output),
		cmocka_unit_test(test_write_examples),
		cmocka_unit_test(test_write_round_trips),
		cmocka_unit_test(test_write_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
