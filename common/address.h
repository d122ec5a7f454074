/*
 * address.h -- the text of mail addresses, as MTAs pass them ("<a@b>",
 * bare, with white space), as header fields write them (addrlist.h), and
 * as look-ups and comparisons see them.
 *
 * One canonical form serves both sides of every comparison between an
 * envelope address and an address from a header field: the envelope side
 * goes through address_canonical(), the header side (addrlist.c) through
 * address_canonical_parts(), which address_canonical() itself calls.  Two
 * addresses are the same mailbox for this program exactly when their
 * canonical forms are equal byte for byte:
 *
 *   - the local part keeps its case ("Bob" and "bob" differ: RFC 5321
 *     2.4 leaves local parts case-sensitive, and every use that matters
 *     here must err towards "different", see addrlist.h);
 *   - a local part is compared by its content, not its spelling: written
 *     quoted or not, if the content is only atext and dots it is written
 *     bare ("john"@x is john@x; "j\ohn"@x too; so is "a..b"@x, a..b@x,
 *     the lenient form mail systems and certificates use), otherwise
 *     quoted with only '"' and '\' escaped ("john doe"@x, "a\"b"@x);
 *   - the domain is ASCII-lower-cased; a domain literal keeps its
 *     brackets ([192.0.2.1], [ipv6:2001:db8::1]); nothing else is done to
 *     it (no IDNA: an A-label and its U-label differ, no IP address
 *     normalisation);
 *   - UTF-8 (RFC 6531/6532) is allowed in both parts but must be well
 *     formed; it is compared byte for byte (no Unicode normalisation);
 *   - control characters (tab included: SMTP cannot carry them) are
 *     refused, and so is anything longer than ADDRESS_MAX.
 */
#ifndef SMIME_ADDRESS_H
#define SMIME_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest canonical address (RFC 5322 line length), terminator excluded. */
#define ADDRESS_MAX 998

/*
 * RFC 5322 atext, or a byte of a UTF-8 sequence (RFC 6532 extends atext
 * with UTF8-non-ascii; well-formedness is checked where it matters).
 */
bool address_atext(unsigned char c);

/*
 * The address inside in: surrounding white space and one pair of angle
 * brackets removed ("<>" gives the empty null sender).  Returns a pointer
 * into in and its length in *len; nothing is copied.
 */
const char *address_strip(const char *in, size_t *len);

/*
 * The canonical form (see above) of the address whose local part has the
 * content local[0..llen) -- quotes and quoted-pairs already removed, so
 * it may hold any byte -- and whose domain is domain[0..dlen): a dot-atom
 * or a domain literal with its brackets, folding white space and
 * quoted-pairs already removed.  Writes a NUL-terminated string to out.
 * Returns its length, or -1 if the parts cannot form an address (empty
 * domain, bad characters, malformed UTF-8, longer than ADDRESS_MAX or
 * than outlen - 1).  An empty local part is allowed (""@example.org).
 */
int address_canonical_parts(const char *local, size_t llen,
    const char *domain, size_t dlen, char *out, size_t outlen);

/*
 * The canonical form of an address as SMTP writes it (RFC 5321 Mailbox,
 * also SMTPUTF8): address_strip(), an obsolete source route
 * ("@a,@b:user@c") dropped, the local part a dot-string or a quoted
 * string (a dot-string with empty atoms, "a..b", is read leniently),
 * "@", a domain.  Returns the length written to out,
 * or -1 if in is not such an address.  Idempotent: a canonical form comes
 * out unchanged.
 */
int address_canonical(const char *in, char *out, size_t outlen);

/*
 * The key for certificate look-ups: address_canonical(), then the whole
 * address ASCII-lower-cased (RFC 8550: domain MUST, local part SHOULD
 * match case-insensitively).  Not for deciding whether two recipients are
 * the same person: use address_canonical() for that.  Returns 0, or -1 if
 * address_canonical() refuses in or the result is longer than 320 bytes
 * (64 local + @ + 255 domain) or does not fit outlen.
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
