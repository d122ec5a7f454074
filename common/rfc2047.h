/*
 * rfc2047.h -- encoded-words in unstructured header fields (Subject and
 * the like): "=?charset?Q?text?=" and "=?charset?B?text?=" (RFC 2047).
 */
#ifndef SMIME_RFC2047_H
#define SMIME_RFC2047_H

#include <stddef.h>

struct sink;

/*
 * Decode the encoded-words of an unstructured header value to UTF-8
 * (charsets through iconv).  An encoded-word counts only as a word of its
 * own (white space or the ends of the value around it), as RFC 2047
 * section 5 says.  White space between two decoded encoded-words is
 * dropped (section 6.2); adjacent words of one charset are converted
 * together, so a character split across two of them survives.  An
 * encoded-word that does not decode (bad syntax, unknown charset, bytes
 * invalid in its charset) stays as it is; other text is copied unchanged.
 * The result may hold any bytes the sender encoded, control characters
 * included: clean it (utf8_clean) before use.  out is NUL-terminated and
 * holds what fits of the result (cut only between words, never inside a
 * character; 3 * len + 1 bytes are enough for any common charset);
 * returns its length.
 */
size_t rfc2047_decode(const char *in, size_t len, char *out, size_t outlen);

/*
 * Write the header field "name: value" and CRLF to out.  value: UTF-8 on
 * one line without control characters (utf8_clean output).  Words with
 * 8-bit characters or "=?" in them become UTF-8 encoded-words (Q, or B
 * when that is much shorter), each at most 75 characters and holding
 * whole characters.  The field is folded at white space so that every
 * line is at most 76 characters, except where a single ASCII word is
 * longer: it is not split (but a word longer than 900 is encoded
 * instead), so no line ever exceeds 998.  Words that stay as
 * they are are separated by one space.  Returns 0, or -1 with the sink's
 * reason in err.
 */
int rfc2047_write_field(const struct sink *out, const char *name,
    const char *value, char *err, size_t errlen);

#endif
