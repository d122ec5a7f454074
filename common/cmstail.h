/*
 * cmstail.h -- the part of an enveloped message that every copy shares:
 * the content encrypted once (AES-CBC with PKCS#7 padding, or AES-GCM
 * with a 16-byte tag) and, for AuthEnvelopedData, the mac TLV after it,
 * base64-encoded once per line alignment that some copy needs.
 *
 * Copy i is base64(prefix_i + tail[0..r)) followed by base64(tail[r..]),
 * r = (3 - length of prefix_i % 3) % 3: the head then ends on a whole
 * base64 quantum and its own line, and base64(tail[r..]) is the same
 * text for every copy with the same r.  There are at most three.
 *
 * There is no raw ciphertext store: each encoding is made on the fly
 * while encrypting, and kept in memory up to the spool threshold, else
 * in a spool (an unlinked temporary file), so memory does not grow with
 * the message.  One copy may instead be streamed to its sink during the
 * encryption pass (cmstail_params.stream): its base64 is never stored,
 * which saves writing and reading back the whole text when there is only
 * one copy.
 */
#ifndef SMIME_CMSTAIL_H
#define SMIME_CMSTAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmsenv.h"

struct sink;
struct spool;

/* encryptedContent octets for n content octets (CBC pads to a block). */
uint64_t cmstail_ctlen(bool gcm, uint64_t n);

struct cmstail_params {
	enum cms_cipher cipher;		/* not CMS_CIPHER_AUTO */
	const unsigned char *cek;	/* 16 or 32 bytes, as the cipher */
	const unsigned char *iv;	/* 16 bytes (CBC) or 12 (GCM nonce) */
	bool need[3];			/* keep base64(tail[r..])? */
	const char *dir;		/* spool directory */
	uint64_t threshold;		/* in memory up to, per encoding */
	/*
	 * Optional (stream NULL: none): write base64(tail[stream_r..]) to
	 * stream as it is made, the text cmstail_copy(stream_r) writes.
	 * Before its first byte, begin(begin_arg, start, n, ...) is called
	 * once with the first n = min(2, tail length) tail bytes; it may
	 * write what goes before (the copy's head) and fails the whole
	 * encryption by returning -1 with a reason in err.
	 */
	const struct sink *stream;
	unsigned stream_r;
	int (*begin)(void *arg, const unsigned char *start, size_t n,
	    char *err, size_t errlen);
	void *begin_arg;
};

struct cmstail;

/*
 * Encrypt all of content (read by offset, not changed), keep the
 * encodings asked for and write the streamed one.  Fails if the content's
 * size changes meanwhile.  Returns the tail (free with cmstail_free) or
 * NULL with a reason (the stream may then hold part of its copy).
 */
struct cmstail *cmstail_encrypt(const struct spool *content,
    const struct cmstail_params *p, char *err, size_t errlen);

/* Tail octets: the encryptedContent and, for GCM, the mac TLV. */
uint64_t cmstail_len(const struct cmstail *t);

/* The first bytes of the tail (min(2, cmstail_len) are valid). */
const unsigned char *cmstail_start(const struct cmstail *t);

/*
 * Write base64(tail[r..]) in CRLF-ended lines of 76 characters to out;
 * r must have been asked for.  0, or -1 with a reason.
 */
int cmstail_copy(const struct cmstail *t, unsigned r, const struct sink *out,
    char *err, size_t errlen);

/* How many encodings were kept, and the characters of each. */
unsigned cmstail_encodings(const struct cmstail *t);
uint64_t cmstail_base64_len(const struct cmstail *t, unsigned r);

void cmstail_free(struct cmstail *t);

#endif
