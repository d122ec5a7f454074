/*
 * mimeenc.h -- streaming MIME content-transfer-encodings: base64 (RFC
 * 2045 section 6.8, RFC 4648) and quoted-printable (RFC 2045 section 6.7).
 *
 * Every coder is a small state machine in a caller-owned struct: init,
 * then update with chunks of any size (1 byte or 50 MB, split anywhere),
 * then final.  Output goes to a sink (sink.h) in batches of a few KiB, so
 * memory does not depend on the amount of data.  Nothing is allocated;
 * a struct may live on the stack and needs no free.  After an error
 * (sink failure, or bad input in strict mode) the coder must not be used
 * again.
 *
 * Encoders separate output lines with CRLF and never end the output with
 * a line break: the caller decides what follows the last line.
 */
#ifndef SMIME_MIMEENC_H
#define SMIME_MIMEENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

/* Output characters per line that RFC 2045 allows for both encodings. */
#define MIMEENC_LINE 76

#define MIMEENC_BUF 4096

/* Base64 encoder. */
struct b64enc {
	const struct sink *out;
	size_t linelen;		/* characters per line, 0 = no line breaks */
	size_t col;		/* characters on the current output line */
	unsigned char in[3];	/* input bytes not yet encoded */
	size_t nin;
	size_t nbuf;
	char buf[MIMEENC_BUF];
};

/*
 * Start encoding to out (not copied: it must outlive the encoder).
 * linelen: characters per output line, normally MIMEENC_LINE (76); 0 for
 * one unbroken line.  A multiple of 4 keeps quanta whole, which is usual
 * but not required.
 */
void b64enc_init(struct b64enc *e, const struct sink *out, size_t linelen);

/* Encode len bytes.  0, or -1 with the sink's reason in err. */
int b64enc_update(struct b64enc *e, const void *data, size_t len, char *err,
    size_t errlen);

/* Encode the last partial quantum with '=' padding and flush.  0 or -1. */
int b64enc_final(struct b64enc *e, char *err, size_t errlen);

/* Base64 decoder. */
struct b64dec {
	const struct sink *out;
	bool strict;
	uint32_t acc;		/* 6-bit groups of the current quantum */
	unsigned nacc;		/* characters in acc */
	unsigned npad;		/* '=' seen in the current quantum */
	bool padded;		/* strict: a padded quantum ended the data */
	size_t nbuf;
	unsigned char buf[MIMEENC_BUF];
};

/*
 * Start decoding to out.  Whitespace (SP, HTAB, CR, LF) is always
 * ignored.  Lenient mode (strict false), like MUAs: every other character
 * outside the alphabet is ignored, '=' ends the current quantum (data may
 * follow: concatenated encodings decode), a final incomplete quantum
 * yields the whole bytes it holds.  Strict mode fails on any other
 * character, on data after padding, on misplaced padding and on an
 * incomplete final quantum.
 */
void b64dec_init(struct b64dec *d, const struct sink *out, bool strict);

/* Decode len characters.  0, or -1 with a reason in err. */
int b64dec_update(struct b64dec *d, const void *data, size_t len, char *err,
    size_t errlen);

/* Finish (see the modes above) and flush.  0 or -1. */
int b64dec_final(struct b64dec *d, char *err, size_t errlen);

/* Quoted-printable encoder. */
struct qpenc {
	const struct sink *out;
	bool text;
	size_t col;		/* characters on the current output line */
	int pend_ws;		/* SP or HTAB held back, -1 for none */
	bool pend_cr;		/* text mode: CR held until the next byte */
	size_t nbuf;
	char buf[MIMEENC_BUF];
};

/*
 * Start encoding to out.  text true: input line breaks (CRLF, and bare LF
 * which is canonicalised) become hard line breaks (CRLF); a bare CR is
 * encoded as "=0D".  text false (binary): CR and LF are encoded like any
 * other control byte and the only line breaks are soft ones.  Lines are at
 * most 76 characters including a soft break's '='; '=' and every byte
 * outside 33..126 except inner SP/HTAB are encoded; whitespace before a
 * line break or at the end is encoded; a line never starts with a literal
 * 'F', '.' or '-' (so "From " and "." lines survive mbox files and SMTP,
 * and no line can be taken for a MIME delimiter "--boundary").
 */
void qpenc_init(struct qpenc *e, const struct sink *out, bool text);

/* Encode len bytes.  0, or -1 with the sink's reason in err. */
int qpenc_update(struct qpenc *e, const void *data, size_t len, char *err,
    size_t errlen);

/* Flush held-back bytes and buffered output.  0 or -1. */
int qpenc_final(struct qpenc *e, char *err, size_t errlen);

/* Quoted-printable decoder. */
struct qpdec {
	const struct sink *out;
	bool strict;
	int state;
	int hex;		/* first digit after '=' */
	size_t nws;		/* whitespace held back: maybe trailing */
	unsigned char ws[256];
	size_t nbuf;
	unsigned char buf[MIMEENC_BUF];
};

/*
 * Start decoding to out.  Hard line breaks (CRLF or bare LF) come out as
 * CRLF; soft breaks ("=" CRLF, also with whitespace between) vanish;
 * whitespace at the end of a line is deleted (RFC 2045 rule 3).  Lenient
 * mode keeps a '=' that starts no valid escape, accepts lower-case hex and
 * passes any other byte through.  Strict mode fails on those, and on bytes
 * outside 33..126 other than SP, HTAB and line breaks.
 */
void qpdec_init(struct qpdec *d, const struct sink *out, bool strict);

/* Decode len characters.  0, or -1 with a reason in err. */
int qpdec_update(struct qpdec *d, const void *data, size_t len, char *err,
    size_t errlen);

/* Finish and flush.  0 or -1. */
int qpdec_final(struct qpdec *d, char *err, size_t errlen);

#endif
