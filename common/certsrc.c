/*
 * certsrc.c -- helpers shared by all certificate sources.
 */
#include "certsrc.h"

#include <ctype.h>
#include <string.h>

const char *
lookup_status_name(enum lookup_status st)
{
	switch (st) {
	case LOOKUP_FOUND: return "found";
	case LOOKUP_NONE: return "none";
	case LOOKUP_ERROR: return "error";
	}
	return "?";
}

#define ADDRESS_MAX 320		/* 64 local + @ + 255 domain */

int
address_normalise(const char *in, char *out, size_t outlen)
{
	const char *end, *at;
	size_t len, i;

	while (*in == ' ' || *in == '\t')
		in++;
	end = in + strlen(in);
	while (end > in && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - in >= 2 && *in == '<' && end[-1] == '>') {
		in++;
		end--;
	}
	len = (size_t)(end - in);
	if (len == 0 || len > ADDRESS_MAX || len >= outlen)
		return -1;
	at = memchr(in, '@', len);
	/* The last '@' separates the domain (a quoted local part may hold
	 * one); both parts must be non-empty. */
	for (i = len; i > 0; i--)
		if (in[i - 1] == '@') {
			at = in + i - 1;
			break;
		}
	if (at == NULL || at == in || at == end - 1)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}
