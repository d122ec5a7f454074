/*
 * test_mimeenc.c -- streaming base64 and quoted-printable coders: RFC 4648
 * and RFC 2045 vectors, agreement with OpenSSL's base64, round trips of
 * random data and all 256 byte values split at random points, line
 * lengths, strict and lenient decoding, sink errors.
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

#include "mimeenc.h"
#include "sink.h"

/* Deterministic pseudo-random numbers (xorshift). */
static uint32_t rng_state = 2463534242u;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
random_bytes(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
}

enum coder { B64ENC, B64DEC, QPENC_TEXT, QPENC_BIN, QPDEC };

/*
 * Run a coder over in[0..n), fed in pieces of random size (1 byte when
 * bytewise), into a fresh membuf.  Returns the coder's status; *mb holds
 * the output (free mb->data).
 */
static int
run(enum coder k, bool strict, const void *in, size_t n, bool bytewise,
    bool random_split, struct membuf *mb, char *err, size_t errlen)
{
	const unsigned char *p = in;
	struct sink s;
	struct b64enc be;
	struct b64dec bd;
	struct qpenc qe;
	struct qpdec qd;
	size_t off = 0, take;
	int rc = 0;

	memset(mb, 0, sizeof(*mb));
	s = sink_to_membuf(mb);
	switch (k) {
	case B64ENC:
		b64enc_init(&be, &s, MIMEENC_LINE);
		break;
	case B64DEC:
		b64dec_init(&bd, &s, strict);
		break;
	case QPENC_TEXT:
	case QPENC_BIN:
		qpenc_init(&qe, &s, k == QPENC_TEXT);
		break;
	case QPDEC:
		qpdec_init(&qd, &s, strict);
		break;
	}
	while (rc == 0 && off < n) {
		take = n - off;
		if (bytewise)
			take = 1;
		else if (random_split)
			take = 1 + rnd() % (take < 300 ? take : 300);
		switch (k) {
		case B64ENC:
			rc = b64enc_update(&be, p + off, take, err, errlen);
			break;
		case B64DEC:
			rc = b64dec_update(&bd, p + off, take, err, errlen);
			break;
		case QPENC_TEXT:
		case QPENC_BIN:
			rc = qpenc_update(&qe, p + off, take, err, errlen);
			break;
		case QPDEC:
			rc = qpdec_update(&qd, p + off, take, err, errlen);
			break;
		}
		off += take;
	}
	if (rc != 0)
		return rc;
	switch (k) {
	case B64ENC:
		return b64enc_final(&be, err, errlen);
	case B64DEC:
		return b64dec_final(&bd, err, errlen);
	case QPENC_TEXT:
	case QPENC_BIN:
		return qpenc_final(&qe, err, errlen);
	case QPDEC:
	default:
		return qpdec_final(&qd, err, errlen);
	}
}

/* Run a coder on a string; the NUL-terminated output (caller frees). */
static char *
run_str(enum coder k, bool strict, const char *in, int expect_rc)
{
	struct membuf mb;
	char err[256] = "";
	char *out;
	int rc;

	rc = run(k, strict, in, strlen(in), false, false, &mb, err,
	    sizeof(err));
	if (rc != expect_rc)
		fail_msg("coder %d on \"%s\": rc %d (%s)", k, in, rc, err);
	out = malloc(mb.len + 1);
	assert_non_null(out);
	if (mb.len > 0)
		memcpy(out, mb.data, mb.len);
	out[mb.len] = '\0';
	free(mb.data);
	return out;
}

static void
expect_str(enum coder k, bool strict, const char *in, const char *want)
{
	char *got = run_str(k, strict, in, 0);

	assert_string_equal(got, want);
	free(got);
}

static void
expect_fail(enum coder k, const char *in, const char *reason)
{
	struct membuf mb;
	char err[256] = "";

	assert_int_equal(run(k, true, in, strlen(in), false, false, &mb, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, reason));
	free(mb.data);
}

/* Lines of at most max characters, CR only in CRLF, printable or HTAB. */
static void
assert_lines(const unsigned char *p, size_t n, size_t max)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r') {
			assert_true(i + 1 < n && p[i + 1] == '\n');
			continue;
		}
		if (p[i] == '\n') {
			assert_true(i > 0 && p[i - 1] == '\r');
			col = 0;
			continue;
		}
		assert_true((p[i] >= 32 && p[i] <= 126) || p[i] == '\t');
		if (++col > max)
			fail_msg("line longer than %zu at offset %zu", max, i);
	}
}

/* ---- base64 ------------------------------------------------------- */

static void
test_b64_rfc4648_vectors(void **state)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		expect_str(B64ENC, false, v[i][0], v[i][1]);
		expect_str(B64DEC, true, v[i][1], v[i][0]);
		expect_str(B64DEC, false, v[i][1], v[i][0]);
	}
}

static void
test_b64_line_length(void **state)
{
	unsigned char in[58];
	struct membuf mb;
	char err[256];

	(void)state;
	memset(in, 'x', sizeof(in));
	/* 57 bytes: exactly one full line, no line break after it. */
	assert_int_equal(run(B64ENC, false, in, 57, false, false, &mb, err,
	    sizeof(err)), 0);
	assert_int_equal(mb.len, 76);
	free(mb.data);
	/* 58 bytes: a second line; still no trailing break. */
	assert_int_equal(run(B64ENC, false, in, 58, false, false, &mb, err,
	    sizeof(err)), 0);
	assert_int_equal(mb.len, 76 + 2 + 4);
	assert_memory_equal(mb.data + 76, "\r\n", 2);
	assert_memory_equal(mb.data + 78, "eA==", 4);
	free(mb.data);
}

/* Remove CRLFs in place; the new length. */
static size_t
strip_crlf(unsigned char *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			p[o++] = p[i];
	return o;
}

/* The encoding is OpenSSL's (EVP_EncodeBlock), only wrapped at 76. */
static void
test_b64_matches_openssl(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 56, 57, 58, 1000, 65537,
	    200000 };
	unsigned char *in, *ref;
	struct membuf mb, back;
	char err[256];
	size_t i, n, len;
	int reflen;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		in = malloc(n + 1);
		ref = malloc(4 * (n / 3 + 1) + 1);
		assert_non_null(in);
		assert_non_null(ref);
		random_bytes(in, n);
		reflen = EVP_EncodeBlock(ref, in, (int)n);
		assert_int_equal(run(B64ENC, false, in, n, false, true, &mb,
		    err, sizeof(err)), 0);
		assert_lines(mb.data, mb.len, 76);
		len = strip_crlf(mb.data, mb.len);
		assert_int_equal(len, (size_t)reflen);
		if (len > 0)
			assert_memory_equal(mb.data, ref, len);
		/* And it decodes back, strictly, fed in random pieces. */
		assert_int_equal(run(B64DEC, true, mb.data, len, false, true,
		    &back, err, sizeof(err)), 0);
		assert_int_equal(back.len, n);
		if (n > 0)
			assert_memory_equal(back.data, in, n);
		free(back.data);
		free(mb.data);
		free(ref);
		free(in);
	}
}

static void
test_b64_all_bytes_bytewise(void **state)
{
	unsigned char in[256 * 3];
	struct membuf enc, dec;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7);
	assert_int_equal(run(B64ENC, false, in, sizeof(in), true, false, &enc,
	    err, sizeof(err)), 0);
	assert_lines(enc.data, enc.len, 76);
	assert_int_equal(run(B64DEC, true, enc.data, enc.len, true, false,
	    &dec, err, sizeof(err)), 0);
	assert_int_equal(dec.len, sizeof(in));
	assert_memory_equal(dec.data, in, sizeof(in));
	free(enc.data);
	free(dec.data);
}

static void
test_b64_lenient_decoding(void **state)
{
	(void)state;
	/* Whitespace and line breaks anywhere. */
	expect_str(B64DEC, true, " Zm9v\r\nYmFy \t\n", "foobar");
	/* Garbage ignored as MUAs do. */
	expect_str(B64DEC, false, "Zm9v!!YmFy*", "foobar");
	/* Concatenated encodings. */
	expect_str(B64DEC, false, "Zg==Zg==", "ff");
	/* Truncated: the whole bytes it holds. */
	expect_str(B64DEC, false, "Zm9vYmE", "fooba");
	expect_str(B64DEC, false, "Z", "");
}

static void
test_b64_strict_decoding(void **state)
{
	(void)state;
	expect_fail(B64DEC, "Zm9v!YmFy", "invalid character 0x21");
	expect_fail(B64DEC, "Zg==Zg==", "data after padding");
	expect_fail(B64DEC, "Zm9vY", "incomplete final quantum");
	expect_fail(B64DEC, "Z===", "misplaced padding");
	expect_fail(B64DEC, "Zg=", "incomplete final quantum");
}

/* ---- quoted-printable -------------------------------------------- */

static void
test_qp_encode_vectors(void **state)
{
	(void)state;
	expect_str(QPENC_TEXT, false, "Hello, world", "Hello, world");
	expect_str(QPENC_TEXT, false, "a=b", "a=3Db");
	/* Hard line breaks; bare LF canonicalised; bare CR encoded. */
	expect_str(QPENC_TEXT, false, "one\r\ntwo\nthree\rfour",
	    "one\r\ntwo\r\nthree=0Dfour");
	/* Whitespace before a break or at the end is encoded. */
	expect_str(QPENC_TEXT, false, "a \r\nb\t\nc  ",
	    "a=20\r\nb=09\r\nc =20");
	expect_str(QPENC_TEXT, false, "a b\tc", "a b\tc");
	/* Whitespace before a bare CR stays literal. */
	expect_str(QPENC_TEXT, false, "a \rb", "a =0Db");
	/* 8-bit and control bytes. */
	expect_str(QPENC_TEXT, false, "caf\xc3\xa9\x01", "caf=C3=A9=01");
	/* mbox, SMTP and MIME delimiter safety at line starts. */
	expect_str(QPENC_TEXT, false, "From me\r\n.\r\nx.F\r\n--b\r\n-- ",
	    "=46rom me\r\n=2E\r\nx.F\r\n=2D-b\r\n=2D-=20");
	/* Binary mode: line breaks are data. */
	expect_str(QPENC_BIN, false, "a\r\nb \n", "a=0D=0Ab =0A");
	expect_str(QPENC_TEXT, false, "", "");
}

static void
test_qp_soft_breaks(void **state)
{
	char in[300], *out, *p;
	size_t i;

	(void)state;
	for (i = 0; i < 299; i++)
		in[i] = i % 3 == 0 ? '=' : 'a';
	in[299] = '\0';
	out = run_str(QPENC_TEXT, false, in, 0);
	assert_lines((unsigned char *)out, strlen(out), 76);
	/* Every line but the last ends in a soft break. */
	for (p = out; (p = strstr(p, "\r\n")) != NULL; p += 2)
		assert_int_equal(p[-1], '=');
	free(out);
	/* A 76-character line needs one soft break. */
	memset(in, 'x', 76);
	in[76] = '\0';
	out = run_str(QPENC_TEXT, false, in, 0);
	assert_int_equal(strlen(out), 76 + 3);
	assert_memory_equal(out + 75, "=\r\nx", 4);
	free(out);
}

static void
test_qp_decode_vectors(void **state)
{
	(void)state;
	/* RFC 2045 section 6.7, rule 5. */
	expect_str(QPDEC, true, "Now's the time =\r\nfor all folk to come=\r\n"
	    " to the aid of their country.", "Now's the time for all folk to "
	    "come to the aid of their country.");
	expect_str(QPDEC, true, "caf=C3=A9 =3D", "caf\xc3\xa9 =");
	/* Trailing whitespace is deleted; hard breaks come out as CRLF. */
	expect_str(QPDEC, true, "a  \r\nb\t\nc ", "a\r\nb\r\nc");
	/* Soft break with transport padding after '='. */
	expect_str(QPDEC, true, "ab= \t\r\ncd", "abcd");
	expect_str(QPDEC, true, "ab=\ncd", "abcd");
	/* Lenient: lower-case hex, stray '=', raw 8-bit. */
	expect_str(QPDEC, false, "=3d=ZZ=4 x\xe9", "==ZZ=4 x\xe9");
	expect_str(QPDEC, false, "end=", "end");
	expect_str(QPDEC, false, "a\rb", "a\rb");
}

static void
test_qp_strict_decoding(void **state)
{
	(void)state;
	expect_fail(QPDEC, "=3d", "invalid escape");
	expect_fail(QPDEC, "=G0", "invalid escape");
	expect_fail(QPDEC, "a\xe9", "unencoded control or 8-bit byte");
	expect_fail(QPDEC, "a\rb", "bare CR");
	expect_fail(QPDEC, "abc=", "'=' at the end");
}

/* Text with CRLF lines, trailing blanks, "From ", dots and 8-bit. */
static size_t
random_text(unsigned char *p, size_t n)
{
	static const char *const words[] = { "From ", ".", " ", "\t", "=",
	    "caf\xc3\xa9", "\xff\x00", "word", "  \r\n", "\r\n", "x" };
	size_t o = 0, w, len;

	while (o < n) {
		w = rnd() % (sizeof(words) / sizeof(words[0]));
		len = w == 6 ? 2 : strlen(words[w]);
		if (o + len > n)
			break;
		memcpy(p + o, words[w], len);
		o += len;
	}
	return o;
}

/* Decoding what the encoder wrote gives the input back, whatever split. */
static void
test_qp_round_trips(void **state)
{
	unsigned char *in = malloc(100000), all[256];
	struct membuf enc, dec;
	char err[256];
	size_t i, n, round;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	/* Binary mode: any bytes, e.g. all 256 values, fed bytewise. */
	assert_int_equal(run(QPENC_BIN, false, all, 256, true, false, &enc,
	    err, sizeof(err)), 0);
	assert_lines(enc.data, enc.len, 76);
	assert_int_equal(run(QPDEC, true, enc.data, enc.len, true, false,
	    &dec, err, sizeof(err)), 0);
	assert_int_equal(dec.len, 256);
	assert_memory_equal(dec.data, all, 256);
	free(enc.data);
	free(dec.data);
	for (round = 0; round < 20; round++) {
		/* Binary mode with random data. */
		n = 1 + rnd() % 20000;
		random_bytes(in, n);
		assert_int_equal(run(QPENC_BIN, false, in, n, false, true,
		    &enc, err, sizeof(err)), 0);
		assert_lines(enc.data, enc.len, 76);
		assert_int_equal(run(QPDEC, true, enc.data, enc.len, false,
		    true, &dec, err, sizeof(err)), 0);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data, in, n);
		free(enc.data);
		free(dec.data);
		/* Text mode with canonical (CRLF) text. */
		n = random_text(in, 1 + rnd() % 20000);
		assert_int_equal(run(QPENC_TEXT, false, in, n, false, true,
		    &enc, err, sizeof(err)), 0);
		assert_lines(enc.data, enc.len, 76);
		assert_int_equal(run(QPDEC, true, enc.data, enc.len, false,
		    true, &dec, err, sizeof(err)), 0);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data, in, n);
		free(enc.data);
		free(dec.data);
	}
	free(in);
}

/* Splitting the input differently never changes the output. */
static void
test_split_invariance(void **state)
{
	unsigned char in[5000];
	struct membuf a, b;
	char err[256];
	enum coder k;
	size_t n;

	(void)state;
	n = random_text(in, sizeof(in));
	for (k = B64ENC; k <= QPDEC; k++) {
		run(k, false, in, n, false, false, &a, err, sizeof(err));
		run(k, false, in, n, true, false, &b, err, sizeof(err));
		assert_int_equal(a.len, b.len);
		if (a.len > 0)
			assert_memory_equal(a.data, b.data, a.len);
		free(a.data);
		free(b.data);
	}
}

static void
test_sink_errors_propagate(void **state)
{
	unsigned char in[20000];
	struct membuf mb = { 0 };
	struct sink s;
	struct b64enc be;
	struct qpenc qe;
	char err[256] = "";
	int rc;

	(void)state;
	random_bytes(in, sizeof(in));
	mb.limit = 1000;
	s = sink_to_membuf(&mb);
	b64enc_init(&be, &s, MIMEENC_LINE);
	rc = b64enc_update(&be, in, sizeof(in), err, sizeof(err));
	if (rc == 0)
		rc = b64enc_final(&be, err, sizeof(err));
	assert_int_equal(rc, -1);
	assert_string_equal(err, "output larger than 1000 bytes");
	free(mb.data);
	memset(&mb, 0, sizeof(mb));
	mb.limit = 1000;
	qpenc_init(&qe, &s, false);
	rc = qpenc_update(&qe, in, sizeof(in), err, sizeof(err));
	if (rc == 0)
		rc = qpenc_final(&qe, err, sizeof(err));
	assert_int_equal(rc, -1);
	free(mb.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648_vectors),
		cmocka_unit_test(test_b64_line_length),
		cmocka_unit_test(test_b64_matches_openssl),
		cmocka_unit_test(test_b64_all_bytes_bytewise),
		cmocka_unit_test(test_b64_lenient_decoding),
		cmocka_unit_test(test_b64_strict_decoding),
		cmocka_unit_test(test_qp_encode_vectors),
		cmocka_unit_test(test_qp_soft_breaks),
		cmocka_unit_test(test_qp_decode_vectors),
		cmocka_unit_test(test_qp_strict_decoding),
		cmocka_unit_test(test_qp_round_trips),
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_sink_errors_propagate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
