/*
 * rfc2047dec.c -- decoding encoded-words to UTF-8.
 */
#include "rfc2047.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RUN_MAX		32	/* encoded-words decoded as one run */
#define CHARSET_MAX	64

struct ew {
	size_t start, end;	/* the whole word in the input */
	const char *cs;		/* charset, without a "*language" */
	size_t cslen;
	char enc;		/* 'B' or 'Q' */
	const char *text;
	size_t textlen;
};

enum conv { CONV_OK, CONV_BAD, CONV_FULL };

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A token character (RFC 2047 section 2): no especials, no space, no CTL. */
static bool
is_token(char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/*
 * An encoded-word at in[pos], standing as a word of its own (white space
 * or the ends of the input around it).
 */
static bool
parse_ew(const char *in, size_t pos, size_t len, struct ew *ew)
{
	size_t i = pos + 2;

	if (pos > 0 && !is_ws(in[pos - 1]))
		return false;
	if (len - pos < 8 || in[pos] != '=' || in[pos + 1] != '?')
		return false;
	ew->start = pos;
	ew->cs = in + i;
	while (i < len && is_token(in[i]))
		i++;
	if (i >= len || in[i] != '?' || i == pos + 2)
		return false;
	ew->cslen = (size_t)(in + i - ew->cs);
	if (memchr(ew->cs, '*', ew->cslen) != NULL)	/* RFC 2231 language */
		ew->cslen = (size_t)((const char *)memchr(ew->cs, '*',
		    ew->cslen) - ew->cs);
	if (ew->cslen == 0 || ew->cslen > CHARSET_MAX || i + 3 >= len ||
	    in[i + 2] != '?')
		return false;
	ew->enc = in[i + 1] == 'b' || in[i + 1] == 'B' ? 'B' :
	    in[i + 1] == 'q' || in[i + 1] == 'Q' ? 'Q' : 0;
	if (ew->enc == 0)
		return false;
	i += 3;
	ew->text = in + i;
	while (i < len && in[i] != '?') {
		if (in[i] <= 0x20 || in[i] >= 0x7f)
			return false;
		i++;
	}
	if (i + 1 >= len || in[i + 1] != '=')
		return false;
	ew->textlen = (size_t)(in + i - ew->text);
	ew->end = i + 2;
	return ew->end == len || is_ws(in[ew->end]);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
b64val(char c)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(chars, c) : NULL;

	return p != NULL ? (int)(p - chars) : -1;
}

/* Append the bytes of ew's text to buf at *n.  False if malformed. */
static bool
decode_text(const struct ew *ew, unsigned char *buf, size_t *n)
{
	const char *t = ew->text;
	size_t i, len = ew->textlen;
	unsigned acc = 0, bits = 0;
	int v, h;

	for (i = 0; i < len; i++) {
		if (ew->enc == 'Q') {
			if (t[i] == '_') {
				buf[(*n)++] = ' ';
			} else if (t[i] != '=') {
				buf[(*n)++] = (unsigned char)t[i];
			} else {
				if (i + 2 >= len || (h = hexval(t[i + 1])) < 0 ||
				    (v = hexval(t[i + 2])) < 0)
					return false;
				buf[(*n)++] = (unsigned char)(h << 4 | v);
				i += 2;
			}
			continue;
		}
		if (t[i] == '=')	/* padding: only more of it may follow */
			return strspn(t + i, "=") == len - i;
		if ((v = b64val(t[i])) < 0)
			return false;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[(*n)++] = (unsigned char)(acc >> bits);
		}
	}
	return true;
}

static bool
put(char *out, size_t *o, size_t outlen, const char *src, size_t n)
{
	if (n > outlen - 1 - *o)
		return false;
	memcpy(out + *o, src, n);
	*o += n;
	return true;
}

/* Convert n bytes in charset cs to UTF-8 at out + *o. */
static enum conv
convert(const char *cs, size_t cslen, const unsigned char *bytes, size_t n,
    char *out, size_t *o, size_t outlen)
{
	char name[CHARSET_MAX + 1], *ip = (char *)bytes, *op = out + *o;
	size_t ileft = n, oleft = outlen - 1 - *o;
	enum conv rc = CONV_OK;
	iconv_t cd;

	memcpy(name, cs, cslen);
	name[cslen] = '\0';
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return CONV_BAD;
	if (iconv(cd, &ip, &ileft, &op, &oleft) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &oleft) == (size_t)-1)
		rc = errno == E2BIG ? CONV_FULL : CONV_BAD;
	iconv_close(cd);
	if (rc == CONV_OK)
		*o = (size_t)(op - out);
	return rc;
}

static bool
same_charset(const struct ew *a, const struct ew *b)
{
	return a->cslen == b->cslen && strncasecmp(a->cs, b->cs, a->cslen) ==
	    0;
}

/*
 * Decode a run of encoded-words separated only by white space, in groups
 * of one charset.  White space between two groups goes only if both
 * decode.  False when out is full.
 */
static bool
emit_run(const char *in, const struct ew *run, size_t nrun,
    unsigned char *buf, char *out, size_t *o, size_t outlen)
{
	size_t g = 0, h, k, nb, ws;
	bool prev_ok = true;
	enum conv rc;

	for (g = 0; g < nrun; g = h) {
		for (h = g + 1; h < nrun && same_charset(&run[g], &run[h]); h++)
			;
		ws = g > 0 ? run[g].start - run[g - 1].end : 0;
		if (!prev_ok && !put(out, o, outlen, in + run[g].start - ws,
		    ws))
			return false;
		nb = 0;
		rc = CONV_BAD;
		for (k = g; k < h && decode_text(&run[k], buf, &nb); k++)
			;
		if (k == h)
			rc = convert(run[g].cs, run[g].cslen, buf, nb, out, o,
			    outlen);
		if (rc == CONV_FULL)
			return false;
		if (rc == CONV_BAD && prev_ok && !put(out, o, outlen,
		    in + run[g].start - ws, ws))
			return false;
		if (rc == CONV_BAD && !put(out, o, outlen, in + run[g].start,
		    run[h - 1].end - run[g].start))
			return false;
		prev_ok = rc == CONV_OK;
	}
	return true;
}

size_t
rfc2047_decode(const char *in, size_t len, char *out, size_t outlen)
{
	struct ew run[RUN_MAX];
	unsigned char *buf;
	size_t i = 0, j, o = 0, nrun;

	if (outlen == 0)
		return 0;
	/* Decoded bytes are never more than the encoded text. */
	if ((buf = malloc(len + 1)) == NULL)
		len = 0;
	while (i < len) {
		if (!parse_ew(in, i, len, &run[0])) {
			if (!put(out, &o, outlen, in + i, 1))
				break;
			i++;
			continue;
		}
		for (nrun = 1, i = run[0].end; nrun < RUN_MAX; nrun++) {
			for (j = i; j < len && is_ws(in[j]); j++)
				;
			if (j == i || !parse_ew(in, j, len, &run[nrun]))
				break;
			i = run[nrun].end;
		}
		if (!emit_run(in, run, nrun, buf, out, &o, outlen))
			break;
	}
	free(buf);
	out[o] = '\0';
	return o;
}
