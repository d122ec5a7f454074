/*
 * test_b64out.c -- the fan-out base64 encoder against OpenSSL's
 * EVP_EncodeBlock, for many lengths and chunkings, with and without the
 * AVX2 path; line shape; the strict decoder.
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

static uint32_t rng = 12345;

static uint32_t
next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Encode in chunks of random sizes; returns the text (malloc'd). */
static char *
encode_chunked(const unsigned char *in, size_t len, size_t maxchunk,
    size_t *outlen)
{
	struct b64out b;
	char *out = malloc(b64out_bound(len) + 8 + 2 * len / 3 + 16);
	size_t off = 0, n = 0, step;

	assert_non_null(out);
	b64out_init(&b);
	while (off < len) {
		step = maxchunk == 0 ? len : 1 + next() % maxchunk;
		if (step > len - off)
			step = len - off;
		assert_true(b64out_bound(step) >= step / 3 * 4);
		n += b64out_update(&b, in + off, step, out + n);
		off += step;
	}
	n += b64out_final(&b, out + n);
	*outlen = n;
	return out;
}

/* Check line shape and compare with EVP_EncodeBlock's unbroken text. */
static void
check_against_openssl(const unsigned char *in, size_t len, const char *txt,
    size_t txtlen)
{
	char *ref = malloc(len / 3 * 4 + 8), *joined = malloc(txtlen + 1);
	size_t i, col = 0, j = 0;
	int reflen;

	assert_non_null(ref);
	assert_non_null(joined);
	reflen = EVP_EncodeBlock((unsigned char *)ref, in, (int)len);
	for (i = 0; i < txtlen; i++) {
		if (txt[i] == '\r') {
			assert_true(i + 1 < txtlen && txt[i + 1] == '\n');
			assert_true(col > 0 && col <= B64OUT_LINE);
			col = 0;
			i++;
			continue;
		}
		assert_true(txt[i] != '\n');
		joined[j++] = txt[i];
		col++;
	}
	assert_int_equal(col, 0);	/* the last line ends with CRLF */
	assert_int_equal(j, (size_t)reflen);
	assert_memory_equal(joined, ref, j);
	free(ref);
	free(joined);
}

static void
run_lengths(int simd)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 56, 57, 58, 113, 114,
	    115, 171, 1000, 4096, 65536, 100003 };
	unsigned char *in = malloc(100003), *back = malloc(100003 + 8);
	size_t i, k, txtlen, blen;
	bool was = b64out_use_simd(simd);
	char *txt;

	assert_non_null(in);
	assert_non_null(back);
	for (i = 0; i < 100003; i++)
		in[i] = (unsigned char)next();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (k = 0; k < 4; k++) {
			static const size_t chunks[] = { 0, 1, 7, 5000 };

			txt = encode_chunked(in, lens[i], chunks[k], &txtlen);
			check_against_openssl(in, lens[i], txt, txtlen);
			assert_int_equal(b64out_decode(txt, txtlen, back,
			    &blen), 0);
			assert_int_equal(blen, lens[i]);
			assert_memory_equal(back, in, blen);
			free(txt);
		}
	}
	(void)b64out_use_simd(was);
	free(in);
	free(back);
}

static void
test_simd(void **state)
{
	(void)state;
	run_lengths(1);
}

static void
test_portable(void **state)
{
	(void)state;
	run_lengths(0);
}

/* Full lines are exactly 76 characters. */
static void
test_line_shape(void **state)
{
	unsigned char in[57 * 3];
	size_t n;
	char *txt;

	(void)state;
	memset(in, 0xa5, sizeof(in));
	txt = encode_chunked(in, sizeof(in), 0, &n);
	assert_int_equal(n, 3 * 78);
	assert_memory_equal(txt + 76, "\r\n", 2);
	assert_memory_equal(txt + 78 + 76, "\r\n", 2);
	free(txt);
}

static void
test_decoder_strict(void **state)
{
	static const char *const bad[] = { "QUJD*", "QQ==QQ==", "Q===",
	    "QUJ", "QU\tJD", "A" };
	static const char *const good[] = { "QUJD", "QUI=", "QQ==",
	    "QUJD\r\nQUJD\r\n", "" };
	unsigned char out[32];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b64out_decode(bad[i], strlen(bad[i]), out,
		    &n), -1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(b64out_decode(good[i], strlen(good[i]), out,
		    &n), 0);
	assert_int_equal(b64out_decode("QUI=", 4, out, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "AB", 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simd),
		cmocka_unit_test(test_portable),
		cmocka_unit_test(test_line_shape),
		cmocka_unit_test(test_decoder_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
