/*
 * b64out.c -- base64 lines for the encryption fan-out.
 *
 * Whole lines (57 input bytes -> 76 characters) take a fast path, the
 * best the CPU has: AVX-512 VBMI (Mula/Lemire: byte permute, multishift,
 * 64-entry permute lookup; a line is two overlapping 48-byte blocks, so
 * no scalar rest), AVX2 (shuffle, multiply-shift, table translate), or a
 * 4096-entry table giving two characters per lookup.  Partial lines go
 * quantum by quantum.
 */
#include "b64out.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

#define LINE_IN	57	/* input bytes per full line */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char pairs[4096][2];	/* 12 bits -> two characters */
static unsigned char values[256];	/* character -> 6 bits, or: */
#define V_SKIP	64		/* CR, LF */
#define V_PAD	65		/* '=' */
#define V_BAD	255
static int level;		/* B64OUT_SIMD_* in use */
static int best;		/* the best the CPU has */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
init_tables(void)
{
	unsigned i;

	for (i = 0; i < 4096; i++) {
		pairs[i][0] = alphabet[i >> 6];
		pairs[i][1] = alphabet[i & 63];
	}
	memset(values, V_BAD, sizeof(values));
	for (i = 0; i < 64; i++)
		values[(unsigned char)alphabet[i]] = (unsigned char)i;
	values['\r'] = values['\n'] = V_SKIP;
	values['='] = V_PAD;
#ifdef HAVE_AVX2_PATH
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		best = B64OUT_SIMD_AVX2;
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi"))
		best = B64OUT_SIMD_VBMI;
#endif
	level = best;
}

static inline void
quantum(const unsigned char *in, char *out)
{
	uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];

	memcpy(out, pairs[v >> 12], 2);
	memcpy(out + 2, pairs[v & 0xfff], 2);
}

#ifdef HAVE_AVX2_PATH
/* 24 input bytes (two 12-byte lanes) -> 32 characters. */
__attribute__((target("avx2")))
static inline void
block_avx2(const unsigned char *in, char *out)
{
	const __m256i shuf = _mm256_setr_epi8(
	    1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
	    1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
	const __m256i lut = _mm256_setr_epi8(
	    65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,
	    65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
	__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)in);
	__m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(in + 12));
	__m256i v, t0, t1, t2, t3, idx, off;

	/* Each 3-byte group b0 b1 b2 becomes the 32-bit word b1 b0 b2 b1. */
	v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
	v = _mm256_shuffle_epi8(v, shuf);
	/* Move the four 6-bit fields into the four bytes. */
	t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
	t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
	t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
	idx = _mm256_or_si256(t1, t3);
	/* 0..25 -> +65, 26..51 -> +71, 52..61 -> -4, 62 -> -19, 63 -> -16. */
	off = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
	off = _mm256_sub_epi8(off,
	    _mm256_cmpgt_epi8(idx, _mm256_set1_epi8(25)));
	v = _mm256_add_epi8(idx, _mm256_shuffle_epi8(lut, off));
	_mm256_storeu_si256((__m256i *)(void *)out, v);
}

/* One full line; reads exactly in[0..57) (the last load ends at 52). */
__attribute__((target("avx2")))
static void
line_avx2(const unsigned char *in, char *out)
{
	block_avx2(in, out);
	block_avx2(in + 24, out + 32);
	quantum(in + 48, out + 64);
	quantum(in + 51, out + 68);
	quantum(in + 54, out + 72);
}

/* Input byte for each output byte: b1 b0 b2 b1 per 3-byte group. */
static const unsigned char vbmi_shuffle[64] = {
	1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
	13, 12, 14, 13, 16, 15, 17, 16, 19, 18, 20, 19, 22, 21, 23, 22,
	25, 24, 26, 25, 28, 27, 29, 28, 31, 30, 32, 31, 34, 33, 35, 34,
	37, 36, 38, 37, 40, 39, 41, 40, 43, 42, 44, 43, 46, 45, 47, 46 };

/* 48 input bytes (exactly those are read) -> 64 characters. */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static inline __m512i
block_vbmi(const unsigned char *in)
{
	const __m512i shuf = _mm512_loadu_si512(vbmi_shuffle);
	/* Bit offsets of the four 6-bit fields in each b1 b0 b2 b1 word. */
	const __m512i shifts = _mm512_set1_epi64(0x3036242a1016040aLL);
	const __m512i lut = _mm512_loadu_si512(alphabet);
	__m512i v = _mm512_maskz_loadu_epi8(0xffffffffffffULL, in);

	v = _mm512_permutexvar_epi8(shuf, v);
	v = _mm512_multishift_epi64_epi8(shifts, v);
	/* The permute uses the low 6 bits of each index: no masking. */
	return _mm512_permutexvar_epi8(v, lut);
}

/* One full line: characters 0..63 and, overlapping, 12..75. */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void
line_vbmi(const unsigned char *in, char *out)
{
	_mm512_storeu_si512((void *)out, block_vbmi(in));
	_mm512_storeu_si512((void *)(out + 12), block_vbmi(in + 9));
}
#endif

static void
line_table(const unsigned char *in, char *out)
{
	int i;

	for (i = 0; i < 19; i++)
		quantum(in + 3 * i, out + 4 * i);
}

int
b64out_simd(int want)
{
	int was;

	pthread_once(&once, init_tables);
	was = level;
	level = want < best ? (want > 0 ? want : B64OUT_SIMD_NONE) : best;
	return was;
}

bool
b64out_use_simd(bool on)
{
	return b64out_simd(on ? B64OUT_SIMD_VBMI : B64OUT_SIMD_NONE) !=
	    B64OUT_SIMD_NONE;
}

void
b64out_init(struct b64out *b)
{
	pthread_once(&once, init_tables);
	b->ncarry = 0;
	b->col = 0;
}

size_t
b64out_bound(size_t len)
{
	size_t chars = (len / 3 + 2) * 4;

	return chars + 2 * (chars / B64OUT_LINE + 2);
}

/* One quantum at the current column, ending the line when it is full. */
static size_t
put_quantum(struct b64out *b, const unsigned char *in, char *o)
{
	quantum(in, o);
	b->col += 4;
	if (b->col < B64OUT_LINE)
		return 4;
	o[4] = '\r';
	o[5] = '\n';
	b->col = 0;
	return 6;
}

size_t
b64out_update(struct b64out *b, const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	unsigned char q[3];
	char *o = out;

	if (b->ncarry > 0) {
		if (b->ncarry + len < 3) {
			memcpy(b->carry + b->ncarry, p, len);
			b->ncarry += len;
			return 0;
		}
		memcpy(q, b->carry, b->ncarry);
		memcpy(q + b->ncarry, p, 3 - b->ncarry);
		p += 3 - b->ncarry;
		len -= 3 - b->ncarry;
		b->ncarry = 0;
		o += put_quantum(b, q, o);
	}
	while (len >= 3) {
		if (b->col == 0 && len >= LINE_IN) {
#ifdef HAVE_AVX2_PATH
			if (level == B64OUT_SIMD_VBMI)
				line_vbmi(p, o);
			else if (level == B64OUT_SIMD_AVX2)
				line_avx2(p, o);
			else
#endif
				line_table(p, o);
			o[B64OUT_LINE] = '\r';
			o[B64OUT_LINE + 1] = '\n';
			o += B64OUT_LINE + 2;
			p += LINE_IN;
			len -= LINE_IN;
			continue;
		}
		o += put_quantum(b, p, o);
		p += 3;
		len -= 3;
	}
	memcpy(b->carry, p, len);
	b->ncarry = len;
	return (size_t)(o - out);
}

size_t
b64out_final(struct b64out *b, char *out)
{
	uint32_t v;
	size_t n = 0;

	if (b->ncarry > 0) {
		v = (uint32_t)b->carry[0] << 16;
		if (b->ncarry == 2)
			v |= (uint32_t)b->carry[1] << 8;
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = b->ncarry == 2 ? alphabet[(v >> 6) & 63] : '=';
		out[n++] = '=';
		b->col += 4;
		b->ncarry = 0;
	}
	if (b->col > 0) {
		out[n++] = '\r';
		out[n++] = '\n';
		b->col = 0;
	}
	return n;
}

int
b64out_decode(const char *in, size_t len, unsigned char *out,
    size_t *outlen)
{
	uint32_t acc = 0;
	size_t n = 0, nacc = 0, npad = 0, i;
	unsigned char d;

	pthread_once(&once, init_tables);
	for (i = 0; i < len; i++) {
		/* Fast path: a whole quantum of four alphabet characters. */
		while (nacc == 0 && npad == 0 && len - i >= 4) {
			uint32_t a = values[(unsigned char)in[i]];
			uint32_t b = values[(unsigned char)in[i + 1]];
			uint32_t c = values[(unsigned char)in[i + 2]];
			uint32_t e = values[(unsigned char)in[i + 3]];

			if ((a | b | c | e) >= 64)
				break;
			acc = a << 18 | b << 12 | c << 6 | e;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			i += 4;
		}
		acc = nacc == 0 ? 0 : acc;
		if (i == len)
			break;
		d = values[(unsigned char)in[i]];
		if (d < 64 && npad == 0) {
			acc = acc << 6 | d;
			if (++nacc == 4) {
				out[n++] = (unsigned char)(acc >> 16);
				out[n++] = (unsigned char)(acc >> 8);
				out[n++] = (unsigned char)acc;
				acc = 0;
				nacc = 0;
			}
		} else if (d == V_PAD)
			npad++;
		else if (d != V_SKIP)
			return -1;	/* after padding, or not base64 */
	}
	if (nacc == 0 && npad == 0) {
		*outlen = n;
		return 0;
	}
	/* A final quantum of 2 or 3 characters padded to 4. */
	if (nacc < 2 || nacc + npad != 4)
		return -1;
	acc <<= 6 * (4 - nacc);
	out[n++] = (unsigned char)(acc >> 16);
	if (nacc == 3)
		out[n++] = (unsigned char)(acc >> 8);
	*outlen = n;
	return 0;
}
