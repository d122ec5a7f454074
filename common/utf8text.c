/*
 * utf8text.c -- cleaning untrusted text.
 */
#include "utf8text.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define REPLACEMENT 0xfffd

/*
 * Decode the UTF-8 sequence at p (left > 0 bytes): its code point, and
 * in *n its length.  An invalid sequence gives U+FFFD for one byte.
 */
static uint32_t
next_cp(const unsigned char *p, size_t left, size_t *n)
{
	uint32_t cp, min;
	size_t len, i;

	*n = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return REPLACEMENT;
	}
	if (len > left)
		return REPLACEMENT;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return REPLACEMENT;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return REPLACEMENT;
	*n = len;
	return cp;
}

static size_t
put_cp(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool
is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' ||
	    cp == 0x2028 || cp == 0x2029;
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t
utf8_clean(const char *in, size_t len, size_t maxchars, char *out,
    size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, n, o = 0, nchars = 0, cut = 0, k;
	bool space = false, cut_ok = false;
	char enc[4];
	uint32_t cp;

	assert(outlen >= 1);
	while (i < len) {
		cp = next_cp(p + i, len - i, &n);
		i += n;
		if (is_space(cp)) {
			space = o > 0;
			continue;
		}
		if (is_control(cp))
			continue;
		/* A space before this character, if any, then it. */
		if (space) {
			space = false;
			cp = ' ', i -= n;	/* see the character again */
		}
		k = put_cp(cp, enc);
		/* Where "..." could go if the text turns out too long. */
		if (nchars + 3 <= maxchars && o + 4 <= outlen) {
			cut = o;
			cut_ok = true;
		}
		if (nchars == maxchars || o + k + 1 > outlen)
			goto cut;
		memcpy(out + o, enc, k);
		o += k;
		nchars++;
	}
	out[o] = '\0';
	return o;
cut:
	o = cut_ok ? cut : 0;
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (cut_ok) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

bool
text_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}
