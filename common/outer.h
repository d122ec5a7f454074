/*
 * outer.h -- the header section of a protected copy.
 *
 * One rule for every writer of copies (smimectl process, reinjected
 * copies, and the header changes the milter makes to the copy that stays
 * in the SMTP transaction): the message's fields are kept in order,
 * except
 *   - Content-* and MIME-Version: they describe the old body; the
 *     protected entity brings its own, and "MIME-Version: 1.0" is written
 *     once;
 *   - Bcc: never on any copy (SPEC M8);
 *   - with header protection, the fields RFC 9788 protects get their
 *     outer value (Subject becomes "[...]").
 */
#ifndef SMIME_OUTER_H
#define SMIME_OUTER_H

#include <stdbool.h>
#include <stddef.h>

struct header;
struct sink;

enum outer_action {
	OUTER_KEEP,
	OUTER_DROP,
	OUTER_REPLACE,	/* keep the field with outer_value() */
};

/* What happens to the field name on a copy. */
enum outer_action outer_action(const char *name, bool protect_headers);

/* The outer value of a field whose action is OUTER_REPLACE. */
const char *outer_value(const char *name, const char *value);

/*
 * One field, "Name:value" with value as received (its leading space, if
 * any, is part of it), folded lines ended by CRLF.  0 or -1 with a reason.
 */
int outer_write_field(const struct sink *out, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * Write the outer header section of a copy (fields, then MIME-Version;
 * no empty line: the entity's own header fields follow) to out.
 * 0 or -1 with a reason.
 */
int outer_write(const struct header *h, size_t n, bool protect_headers,
    const struct sink *out, char *err, size_t errlen);

#endif
