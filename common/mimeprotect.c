/*
 * mimeprotect.c -- RFC 9788 header protection, "injected header fields".
 *
 * The root part of the protected content carries copies of the message's
 * user-facing header fields; with hp="cipher" also one HP-Outer field per
 * copied field, telling the recipient what the outer (unprotected)
 * message showed, so it can tell confidential fields from exposed ones
 * (RFC 9788 section 2.2).  The outer message follows hcp_baseline: the
 * caller replaces the outer Subject with "[...]" and leaves the other
 * fields as they are.  A field removed from the outer message gets no
 * HP-Outer line; we remove none.
 */
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime_int.h"
#include "sink.h"

/* Copied into the protected part, in message order; Bcc never is. */
static const char *const protected_fields[] = {
	"Subject", "From", "To", "Cc", "Date", "Message-ID", "Reply-To",
};

bool
mime_hp_protected(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(protected_fields) /
	    sizeof(protected_fields[0]); i++)
		if (strcasecmp(name, protected_fields[i]) == 0)
			return true;
	return false;
}

const char *
mime_hp_outer_value(const char *name, const char *value)
{
	return strcasecmp(name, "Subject") == 0 ? MIME_HP_PLACEHOLDER : value;
}

int
mime_hp_write_injected(const struct header *h, size_t n,
    const struct sink *out, bool *kept_8bit, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h[i].name != NULL && h[i].value != NULL &&
		    mime_hp_protected(h[i].name) &&
		    mime_write_field(out, h[i].name, h[i].value, kept_8bit,
		    err, errlen) != 0)
			return -1;
	return 0;
}

/* "HP-Outer: Name: value" with the value as the outer message has it. */
static int
write_hp_outer(const struct sink *out, const char *name, const char *value,
    bool *kept_8bit, char *err, size_t errlen)
{
	const char *v = mime_hp_outer_value(name, value);
	size_t len = strlen(name) + strlen(v) + 3;
	char *combined;
	int rc;

	if ((combined = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (*v == ' ' || *v == '\t')
		v++;
	snprintf(combined, len, "%s: %s", name, v);
	rc = mime_write_field(out, "HP-Outer", combined, kept_8bit, err,
	    errlen);
	free(combined);
	return rc;
}

int
mime_hp_write_outer(const struct header *h, size_t n,
    const struct sink *out, bool *kept_8bit, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h[i].name != NULL && h[i].value != NULL &&
		    mime_hp_protected(h[i].name) &&
		    write_hp_outer(out, h[i].name, h[i].value, kept_8bit, err,
		    errlen) != 0)
			return -1;
	return 0;
}

int
mime_hp_outer_fields(const struct header *h, size_t n,
    const struct sink *out, char *err, size_t errlen)
{
	return mime_hp_write_outer(h, n, out, NULL, err, errlen);
}
