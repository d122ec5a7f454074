/*
 * outer.c -- which header fields a protected copy carries.
 */
#include "outer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime.h"
#include "sink.h"

enum outer_action
outer_action(const char *name, bool protect_headers)
{
	if (strncasecmp(name, "Content-", 8) == 0 ||
	    strcasecmp(name, "MIME-Version") == 0 ||
	    strcasecmp(name, "Bcc") == 0 ||
	    strcasecmp(name, "Resent-Bcc") == 0)
		return OUTER_DROP;
	/* mime_hp_outer_value() hands back its argument when the field
	 * keeps its value on the outside. */
	if (protect_headers && mime_hp_protected(name) &&
	    mime_hp_outer_value(name, name) != name)
		return OUTER_REPLACE;
	return OUTER_KEEP;
}

const char *
outer_value(const char *name, const char *value)
{
	return mime_hp_outer_value(name, value);
}

int
outer_write_field(const struct sink *out, const char *name, const char *value,
    char *err, size_t errlen)
{
	const char *p;

	if (sink_puts(out, name, err, errlen) != 0 ||
	    sink_puts(out, ":", err, errlen) != 0)
		return -1;
	for (p = value; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' ? sink_puts(out, "\r\n", err, errlen) :
		    sink_write(out, p, 1, err, errlen))
			return -1;
	}
	return sink_puts(out, "\r\n", err, errlen);
}

int
outer_write(const struct header *h, size_t n, bool protect_headers,
    const struct sink *out, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char replaced[256];
		const char *value = h[i].value;

		switch (outer_action(h[i].name, protect_headers)) {
		case OUTER_DROP:
			continue;
		case OUTER_REPLACE:
			snprintf(replaced, sizeof(replaced), " %s",
			    outer_value(h[i].name, value));
			value = replaced;
			break;
		case OUTER_KEEP:
			break;
		}
		if (outer_write_field(out, h[i].name, value, err, errlen) != 0)
			return -1;
	}
	return sink_puts(out, "MIME-Version: 1.0\r\n", err, errlen);
}
