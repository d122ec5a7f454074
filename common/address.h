/*
 * address.h -- the text of mail addresses, as MTAs pass them ("<a@b>",
 * bare, with white space) and as look-ups compare them.
 */
#ifndef SMIME_ADDRESS_H
#define SMIME_ADDRESS_H

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

#endif
