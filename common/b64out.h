/*
 * b64out.h -- fast base64 in CRLF-terminated lines of 76 characters, for
 * the encryption fan-out (cmsenv.c): one encoding of a shared ciphertext
 * is copied into many messages, so this is on the hot path for large
 * mail.  (mimeenc.h is the general MIME coder; this one writes into a
 * caller's buffer, ends every line including the last with CRLF, and
 * uses a 12-bit table, or AVX2 or AVX-512 VBMI when the CPU has it.)
 *
 * Nothing is allocated; the state is a small caller-owned struct.
 */
#ifndef SMIME_B64OUT_H
#define SMIME_B64OUT_H

#include <stdbool.h>
#include <stddef.h>

#define B64OUT_LINE	76	/* characters per line, RFC 2045 maximum */

struct b64out {
	unsigned char carry[2];	/* input short of a whole quantum */
	size_t ncarry;
	size_t col;		/* characters on the current line */
};

void b64out_init(struct b64out *b);

/* Most characters b64out_update() produces for len bytes of input. */
size_t b64out_bound(size_t len);

/*
 * Encode len bytes into out (room for b64out_bound(len)); returns the
 * characters written.  Lines are ended with CRLF once full.
 */
size_t b64out_update(struct b64out *b, const void *in, size_t len,
    char *out);

/*
 * Encode the last partial quantum with '=' padding and end a partial
 * last line with CRLF.  out needs room for 6 characters.  Returns the
 * characters written (0 when the input ended on a line boundary).
 */
size_t b64out_final(struct b64out *b, char *out);

/*
 * Decode base64 text as written above: CR and LF are skipped, padding
 * may only end the text, anything else outside the alphabet fails.  out
 * needs room for len / 4 * 3 + 3 bytes.  0 with *outlen set, or -1.
 */
int b64out_decode(const char *in, size_t len, unsigned char *out,
    size_t *outlen);

/*
 * Tests and benchmarks: use (true) or avoid (false) the best SIMD path
 * the CPU has.  Returns whether a SIMD path was in use.  Not
 * thread-safe.
 */
bool b64out_use_simd(bool on);

/*
 * Tests and benchmarks: use at most SIMD path want (one of these; the
 * CPU's best if it has less) and return the one in use before.  Not
 * thread-safe.
 */
#define B64OUT_SIMD_NONE	0	/* the 12-bit table */
#define B64OUT_SIMD_AVX2	1
#define B64OUT_SIMD_VBMI	2	/* AVX-512 F, BW and VBMI */
int b64out_simd(int want);

#endif
