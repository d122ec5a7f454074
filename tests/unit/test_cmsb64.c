/*
 * test_cmsb64.c -- every line path of the fan-out base64 encoder
 * (b64out.c: table, AVX2, AVX-512 VBMI) that this CPU has, chosen one by
 * one with b64out_simd(): the same text as OpenSSL's EVP_EncodeBlock cut
 * into 76-character CRLF lines, for lengths around line boundaries and
 * many chunkings, nothing written past the reported length, and the
 * text decodes back.  (test_b64out.c covers the best path and the table;
 * this one also the paths in between.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64out.h"

#define CANARY	0x5c

static uint32_t rng = 4242;

static uint32_t
next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Our text with the line breaks taken out must be OpenSSL's. */
static void
check_text(const unsigned char *in, size_t len, const char *txt, size_t n)
{
	char *ref = malloc(len / 3 * 4 + 8), *joined = malloc(n + 1);
	size_t i, j = 0, col = 0;
	int reflen;

	assert_non_null(ref);
	assert_non_null(joined);
	reflen = EVP_EncodeBlock((unsigned char *)ref, in, (int)len);
	for (i = 0; i < n; i++) {
		if (txt[i] == '\r') {
			assert_true(i + 1 < n && txt[i + 1] == '\n');
			assert_true(col > 0 && col <= B64OUT_LINE);
			assert_true(col == B64OUT_LINE || i + 2 == n);
			col = 0;
			i++;
			continue;
		}
		joined[j++] = txt[i];
		col++;
	}
	assert_int_equal(col, 0);
	assert_int_equal(j, (size_t)reflen);
	assert_memory_equal(joined, ref, j);
	free(ref);
	free(joined);
}

/* Encode in random chunks of at most maxchunk (0: one piece). */
static void
run(const unsigned char *in, size_t len, size_t maxchunk)
{
	size_t size = b64out_bound(len) + 2 * (len / 3 + 2) + 64;
	char *txt = malloc(size);
	unsigned char *back = malloc(len + 8);
	size_t off = 0, n = 0, step, i, blen;
	struct b64out b;

	assert_non_null(txt);
	assert_non_null(back);
	memset(txt, CANARY, size);
	b64out_init(&b);
	while (off < len) {
		step = maxchunk == 0 ? len : 1 + next() % maxchunk;
		if (step > len - off)
			step = len - off;
		n += b64out_update(&b, in + off, step, txt + n);
		/* Nothing beyond what was reported (the VBMI stores overlap
		 * inside a line and must end with it). */
		for (i = n; i < n + 80 && i < size; i++)
			assert_int_equal((unsigned char)txt[i], CANARY);
		off += step;
	}
	n += b64out_final(&b, txt + n);
	check_text(in, len, txt, n);
	assert_int_equal(b64out_decode(txt, n, back, &blen), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, in, len);
	free(txt);
	free(back);
}

static void
check_level(int want)
{
	static const size_t lens[] = { 0, 1, 2, 3, 48, 56, 57, 58, 66, 113,
	    114, 115, 171, 4095, 65536, 65537, 100003 };
	static const size_t chunks[] = { 0, 1, 9, 57, 58, 4000 };
	unsigned char *in = malloc(100003);
	size_t i, k;
	int was, got;

	assert_non_null(in);
	for (i = 0; i < 100003; i++)
		in[i] = (unsigned char)next();
	was = b64out_simd(want);
	got = b64out_simd(want);	/* the level want was capped to */
	if (got != want) {
		(void)b64out_simd(was);
		free(in);
		skip();			/* the CPU lacks this path */
	}
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
			run(in, lens[i], chunks[k]);
	(void)b64out_simd(was);
	free(in);
}

static void
test_table(void **state)
{
	(void)state;
	check_level(B64OUT_SIMD_NONE);
}

static void
test_avx2(void **state)
{
	(void)state;
	check_level(B64OUT_SIMD_AVX2);
}

static void
test_vbmi(void **state)
{
	(void)state;
	check_level(B64OUT_SIMD_VBMI);
}

/* b64out_simd caps at what the CPU has and reports the previous level. */
static void
test_levels(void **state)
{
	int best, was;

	(void)state;
	was = b64out_simd(B64OUT_SIMD_VBMI);
	best = b64out_simd(B64OUT_SIMD_VBMI);
	assert_true(best >= B64OUT_SIMD_NONE && best <= B64OUT_SIMD_VBMI);
	assert_int_equal(b64out_simd(B64OUT_SIMD_NONE), best);
	assert_int_equal(b64out_simd(-1), B64OUT_SIMD_NONE);
	assert_int_equal(b64out_simd(99), B64OUT_SIMD_NONE);
	assert_int_equal(b64out_simd(B64OUT_SIMD_NONE), best);
	assert_false(b64out_use_simd(true));
	assert_int_equal(b64out_use_simd(false), best != B64OUT_SIMD_NONE);
	(void)b64out_simd(was);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_avx2),
		cmocka_unit_test(test_vbmi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
