/*
 * address.h -- the text of mail addresses, as MTAs pass them ("<a@b>",
 * bare, with white space) and as look-ups compare them.
 */
#ifndef SMIME_ADDRESS_H
#define SMIME_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The address inside in: surrounding white space and one pair of angle
 * brackets removed ("<>" gives the empty null sender).  Returns a pointer
 * into in and its length in *len; nothing is copied.
 */
const char *address_strip(const char *in, size_t *len);

/*
 * Normalise an address for look-ups and comparisons: address_strip(),
 * then the whole address lower-cased (RFC 8550: domain MUST, local part
 * SHOULD match case-insensitively).  Returns 0, or -1 if it is not a
 * plausible address (no '@', empty parts, control characters, longer
 * than 320 bytes, or not fitting outlen).
 */
int address_normalise(const char *in, char *out, size_t outlen);

/*
 * The same checks, but only the domain is lower-cased; the local part is
 * kept as written (member lists read from directories).
 */
int address_normalise_domain(const char *in, char *out, size_t outlen);

/*
 * True if addr can be written between angle brackets in an SMTP command
 * or into a header without changing its meaning: at most 320 bytes, no
 * control character (CR, LF, TAB, NUL ...), no DEL, '<' or '>', and white
 * space only inside a quoted local part ("a b"@example.org).  Bytes from
 * 0x80 are allowed (SMTPUTF8 addresses).  The empty string is safe (the
 * null sender); callers that need an address refuse it themselves.
 */
bool address_is_safe(const char *addr);

#endif
