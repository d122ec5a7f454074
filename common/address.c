/*
 * address.c -- the text of mail addresses and their one canonical form
 * (the rules are in address.h).
 */
#include "address.h"

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

bool
address_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * Length of the well-formed UTF-8 sequence of two to four bytes at p
 * (n bytes available), or 0: overlong forms, surrogates and code points
 * above U+10FFFF are malformed (RFC 3629 section 4).
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Printable ASCII (space included) and well-formed UTF-8 only. */
static bool
text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, step;

	while (i < n) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		if ((step = utf8_len(p + i, n - i)) == 0)
			return false;
		i += step;
	}
	return true;
}

/* A dot-atom: atext (or UTF-8) runs joined by single dots.  text_ok(). */
static bool
dot_atom_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' ? s[i + 1] == '.' : !address_atext(c))
			return false;
	}
	return true;
}

/* Only atext (UTF-8 included) and dots, in any order. */
static bool
atext_or_dots(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '.' && !address_atext((unsigned char)s[i]))
			return false;
	return true;
}

/* "[" 1*dtext "]", dtext being printable ASCII but "[", "]", "\" and
 * space, or UTF-8 (RFC 6532).  text_ok(). */
static bool
literal_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return false;
	for (i = 1; i < n - 1; i++)
		if (strchr("[]\\ ", s[i]) != NULL)
			return false;
	return true;
}

int
address_canonical_parts(const char *local, size_t llen, const char *domain,
    size_t dlen, char *out, size_t outlen)
{
	bool bare;
	size_t need, i, o = 0;

	if (!text_ok(local, llen) || !text_ok(domain, dlen) ||
	    !(dot_atom_ok(domain, dlen) || literal_ok(domain, dlen)))
		return -1;
	/* Content of atext and dots only is written bare, anything else
	 * quoted with the fewest quoted-pairs: the spelling ("john" or
	 * john, "j\ohn") must not make two equal mailboxes compare
	 * different.  Bare includes dot-strings with empty atoms ("a..b"):
	 * certificates and look-ups spell those bare. */
	bare = llen > 0 && atext_or_dots(local, llen);
	need = llen + 1 + dlen;
	if (!bare) {
		need += 2;
		for (i = 0; i < llen; i++)
			need += local[i] == '"' || local[i] == '\\';
	}
	if (need > ADDRESS_MAX || need >= outlen)
		return -1;
	if (!bare)
		out[o++] = '"';
	for (i = 0; i < llen; i++) {
		if (!bare && (local[i] == '"' || local[i] == '\\'))
			out[o++] = '\\';
		out[o++] = local[i];
	}
	if (!bare)
		out[o++] = '"';
	out[o++] = '@';
	for (i = 0; i < dlen; i++) {
		char c = domain[i];

		out[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
	return (int)o;
}

int
address_canonical(const char *in, char *out, size_t outlen)
{
	char local[ADDRESS_MAX + 1];
	const char *s, *end, *colon;
	size_t n, llen = 0;

	s = address_strip(in, &n);
	end = s + n;
	/* RFC 5321 4.1.1.3 / C: a source route is accepted and ignored. */
	if (s < end && *s == '@') {
		if ((colon = memchr(s, ':', n)) == NULL)
			return -1;
		s = colon + 1;
	}
	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && ++s == end)
				return -1;
			if (llen == sizeof(local))
				return -1;
			local[llen++] = *s;
		}
		if (s == end)
			return -1;
		s++;			/* the closing quote */
	} else {
		/* A dot-string; its dots are checked by the canonical
		 * form (stray dots make it quoted), its atoms here. */
		for (; s < end && *s != '@'; s++) {
			if (!(*s == '.' || address_atext((unsigned char)*s)) ||
			    llen == sizeof(local))
				return -1;
			local[llen++] = *s;
		}
		if (llen == 0)
			return -1;
	}
	if (s == end || *s != '@')
		return -1;
	s++;
	return address_canonical_parts(local, llen, s, (size_t)(end - s), out,
	    outlen);
}

#define ADDRESS_LOOKUP_MAX 320	/* 64 local + @ + 255 domain */

/* address_strip(), check, copy to out lower-cased (whole, or the domain). */
static int
normalise(const char *in, char *out, size_t outlen, bool whole)
{
	int len = address_canonical(in, out, outlen);
	int i, from;

	if (len < 0 || len > ADDRESS_LOOKUP_MAX)
		return -1;
	/* The canonical form's last '@' separates the domain. */
	from = whole ? 0 : (int)(strrchr(out, '@') - out);
	for (i = from; i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
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

/* An SMTP path: 64 octets of local part, '@', 255 of domain. */
#define ADDRESS_SAFE_MAX 320

bool
address_is_safe(const char *addr)
{
	bool quoted = false, escaped = false;
	size_t i;

	for (i = 0; addr[i] != '\0'; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (i >= ADDRESS_SAFE_MAX || c < 0x20 || c == 0x7f || c == '<' ||
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
