/*
 * address.c -- the text of mail addresses.
 */
#include "address.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

const char *
address_strip(const char *in, size_t *len)
{
	size_t n;

	while (*in == ' ' || *in == '\t')
		in++;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
		in++;
		n -= 2;
	}
	*len = n;
	return in;
}

#define ADDRESS_MAX 320		/* 64 local + @ + 255 domain */

/* address_strip(), check, copy to out lower-cased (whole, or the domain). */
static int
normalise(const char *in, char *out, size_t outlen, bool whole)
{
	const char *end, *at;
	size_t len, i, from;

	in = address_strip(in, &len);
	end = in + len;
	if (len == 0 || len > ADDRESS_MAX || len >= outlen)
		return -1;
	/* The last '@' separates the domain (a quoted local part may hold
	 * one); both parts must be non-empty. */
	at = memrchr(in, '@', len);
	if (at == NULL || at == in || at == end - 1)
		return -1;
	from = whole ? 0 : (size_t)(at - in);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		out[i] = i >= from ? (char)tolower(c) : (char)c;
	}
	out[len] = '\0';
	return 0;
}

int
address_normalise(const char *in, char *out, size_t outlen)
{
	return normalise(in, out, outlen, true);
}

int
address_normalise_domain(const char *in, char *out, size_t outlen)
{
	return normalise(in, out, outlen, false);
}

bool
address_is_safe(const char *addr)
{
	bool quoted = false, escaped = false;
	size_t i;

	for (i = 0; addr[i] != '\0'; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (i >= ADDRESS_MAX || c < 0x20 || c == 0x7f || c == '<' ||
		    c == '>')
			return false;
		if (escaped)
			escaped = false;	/* quoted-pair: taken literally */
		else if (c == '"')
			quoted = !quoted;
		else if (c == '\\' && quoted)
			escaped = true;
		else if (c == ' ' && !quoted)
			return false;
	}
	return !quoted;
}
