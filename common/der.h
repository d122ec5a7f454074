/*
 * der.h -- a minimal DER reader and writer for the few CMS structures the
 * encryption engine assembles and checks itself (cmsder.c).
 *
 * Only what DER allows: low tag numbers (< 31) in one identifier octet,
 * definite lengths in the minimal number of octets, no indefinite form.
 * Lengths are 64-bit because an encryptedContent may exceed 4 GB in
 * principle.  Nothing here allocates.
 */
#ifndef SMIME_DER_H
#define SMIME_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Identifier octets used by the CMS code. */
#define DER_INTEGER	0x02
#define DER_OCTETS	0x04
#define DER_OID		0x06
#define DER_SEQ		0x30
#define DER_SET		0x31
#define DER_CTX(n)	(0x80 | (n))	/* [n] IMPLICIT, primitive */
#define DER_CTXC(n)	(0xa0 | (n))	/* [n], constructed */

/* Most octets a header (identifier + length) can take. */
#define DER_HDR_MAX	10

/* One element: where it starts, its tag and where its contents are. */
struct der_elem {
	unsigned char tag;
	const unsigned char *start;	/* the identifier octet */
	size_t hdrlen;			/* identifier and length octets */
	const unsigned char *val;	/* start + hdrlen */
	uint64_t len;			/* contents octets */
};

/* A window of bytes read front to back. */
struct der_cur {
	const unsigned char *p;
	size_t left;
};

/*
 * Decode the header at p (avail bytes there).  The contents need not be
 * present: a prefix of a large structure can be read.  0, or -1 when the
 * header is truncated or not DER (long tag form, indefinite or
 * non-minimal length).
 */
int der_peek(const unsigned char *p, size_t avail, struct der_elem *e);

/* A cursor over len bytes. */
struct der_cur der_cursor(const void *p, size_t len);

/* A cursor over the contents of e, which must be complete in memory. */
struct der_cur der_inside(const struct der_elem *e);

/*
 * Take the next element, which must lie completely inside c, and move c
 * past it.  tag 0 accepts any tag, else the identifier must equal tag.
 * 0, or -1 (c unchanged) when there is none, it is truncated, or the tag
 * differs.
 */
int der_next(struct der_cur *c, unsigned char tag, struct der_elem *e);

/* True when c is exhausted. */
bool der_at_end(const struct der_cur *c);

/* Whole length of e (header and contents). */
uint64_t der_total(const struct der_elem *e);

/* Octets a header for contents of len octets takes. */
size_t der_hdr_len(uint64_t len);

/*
 * Write the header for tag and len at out (room for DER_HDR_MAX octets)
 * and return how many octets were written.
 */
size_t der_put_hdr(unsigned char *out, unsigned char tag, uint64_t len);

#endif
