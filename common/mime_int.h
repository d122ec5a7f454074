/*
 * mime_int.h -- helpers shared by mime.c, mimebuild*.c and mimeprotect.c.
 * Not an interface for other modules: use mime.h.
 */
#ifndef SMIME_MIME_INT_H
#define SMIME_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

struct header;
struct mime_ctype;
struct sink;

/* Incremental UTF-8 validation (RFC 3629: no overlongs, surrogates). */
struct utf8v {
	unsigned need;		/* continuation bytes still expected */
	unsigned char lo, hi;	/* allowed range of the next one */
	bool bad;
};

void mime_utf8_feed(struct utf8v *v, const unsigned char *p, size_t n);
bool mime_utf8_ok(const struct utf8v *v);

/* True when s holds a byte >= 0x80. */
bool mime_has_8bit(const char *s);

/* True when some physical line of the raw value is over 998 octets. */
bool mime_has_long_line(const char *name, const char *value);

/*
 * Write "Name: value" CRLF: line breaks made CRLF, empty continuation
 * lines dropped, physical lines over 998 octets folded at whitespace
 * where there is some.  A value with 8-bit bytes is written as RFC 2047
 * encoded words when the field is unstructured (Subject, Comments,
 * Content-Description, X-*), else as is with *kept_8bit set (kept_8bit
 * may be NULL).  -1 with a reason in err when name and value together
 * exceed MIME_MAX_FIELD, on sink errors and when out of memory.
 */
int mime_write_field(const struct sink *out, const char *name,
    const char *value, bool *kept_8bit, char *err, size_t errlen);

/*
 * Write ct as a header field called name ("Content-Type"): type/subtype
 * (type alone when subtype is "") and every parameter, quoted as needed;
 * values with control or 8-bit bytes, or already extended, in RFC 2231
 * form (charset utf-8 when valid UTF-8, else the original charset or
 * unknown-8bit), long ones split in continuations; folded to ~76 columns.
 */
int mime_write_ctype(const struct sink *out, const char *name,
    const struct mime_ctype *ct, char *err, size_t errlen);

/*
 * Set parameter name (lower case) to value, replacing an existing one; it
 * moves to the end.  -1 when ct has no room left.
 */
int mime_ctype_set_param(struct mime_ctype *ct, const char *name,
    const char *value);

/* Reset ct to type/subtype without parameters. */
void mime_ctype_reset(struct mime_ctype *ct, const char *type,
    const char *subtype);

/*
 * Write copies of the protected fields of h (RFC 9788 injected fields),
 * and their HP-Outer lines; *kept_8bit as for mime_write_field().
 */
int mime_hp_write_injected(const struct header *h, size_t n,
    const struct sink *out, bool *kept_8bit, char *err, size_t errlen);
int mime_hp_write_outer(const struct header *h, size_t n,
    const struct sink *out, bool *kept_8bit, char *err, size_t errlen);

#endif
