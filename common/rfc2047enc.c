/*
 * rfc2047enc.c -- writing an unstructured header field, folded, with
 * UTF-8 encoded-words where plain text will not do.
 */
#include "rfc2047.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "sink.h"

#define LINE_MAX_CHARS	76	/* RFC 2047 section 2, for lines with words */
#define EW_MAX		75
#define EW_OVERHEAD	12	/* "=?UTF-8?Q?" and "?=" */
#define LITERAL_MAX	900	/* longer words are encoded, to fold them */

struct fold {
	const struct sink *out;
	size_t col;		/* characters on the current line */
	bool words;		/* the current line has a word */
	char *err;
	size_t errlen;
};

static const char hex[] = "0123456789ABCDEF";

/* Write a word after a space, or on a new line if it would not fit. */
static int
put_word(struct fold *f, const char *w, size_t n)
{
	if (f->words && f->col + 1 + n > LINE_MAX_CHARS) {
		if (sink_write(f->out, "\r\n", 2, f->err, f->errlen) < 0)
			return -1;
		f->col = 0;
	}
	if (sink_write(f->out, " ", 1, f->err, f->errlen) < 0 ||
	    sink_write(f->out, w, n, f->err, f->errlen) < 0)
		return -1;
	f->col += 1 + n;
	f->words = true;
	return 0;
}

/* Q: letters, digits and "!*+-/" stand for themselves (safe even in a
 * phrase, RFC 2047 section 5 rule 3), space is "_", the rest "=XX". */
static bool
q_plain(unsigned char c)
{
	return isalnum(c) || strchr("!*+-/", c) != NULL;
}

static size_t
q_len(const unsigned char *p, size_t n)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++)
		len += q_plain(p[i]) || p[i] == ' ' ? 1 : 3;
	return len;
}

static size_t
b_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Bytes of the UTF-8 character starting with lead byte c. */
static size_t
char_len(unsigned char c, size_t left)
{
	size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return n < left ? n : left;
}

/* Encode n bytes as the text of one encoded-word into buf. */
static size_t
encode(char enc, const unsigned char *p, size_t n, char *buf)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;
	unsigned v;

	for (i = 0; enc == 'Q' && i < n; i++) {
		if (q_plain(p[i])) {
			buf[o++] = (char)p[i];
		} else if (p[i] == ' ') {
			buf[o++] = '_';
		} else {
			buf[o++] = '=';
			buf[o++] = hex[p[i] >> 4];
			buf[o++] = hex[p[i] & 15];
		}
	}
	for (i = 0; enc == 'B' && i < n; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf[o++] = b64[v >> 18 & 63];
		buf[o++] = b64[v >> 12 & 63];
		buf[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		buf[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

/*
 * Write p[0..n) as encoded-words, each as long as the current line
 * allows (at most 75) and holding whole characters.
 */
static int
put_encoded(struct fold *f, const unsigned char *p, size_t n)
{
	/* Q stays readable; B only when it is at least a quarter shorter. */
	char enc = 4 * b_len(n) < 3 * q_len(p, n) ? 'B' : 'Q';
	char word[EW_MAX + 1];
	size_t pos = 0, take, k, max, len;

	while (pos < n) {
		max = f->col + 1 < LINE_MAX_CHARS ?
		    LINE_MAX_CHARS - f->col - 1 : 0;
		if (max > EW_MAX)
			max = EW_MAX;
		k = char_len(p[pos], n - pos);
		len = enc == 'Q' ? q_len(p + pos, k) : b_len(k);
		if (f->words && EW_OVERHEAD + len > max) {
			if (sink_write(f->out, "\r\n", 2, f->err, f->errlen) <
			    0)
				return -1;
			f->col = 0;
			max = EW_MAX;
		}
		if (max < EW_OVERHEAD + len)	/* a very long field name */
			max = EW_OVERHEAD + len;
		/* As many whole characters as fit. */
		for (take = k; pos + take < n; take += k) {
			k = char_len(p[pos + take], n - pos - take);
			len = enc == 'Q' ? q_len(p + pos, take + k) :
			    b_len(take + k);
			if (EW_OVERHEAD + len > max)
				break;
		}
		memcpy(word, enc == 'Q' ? "=?UTF-8?Q?" : "=?UTF-8?B?", 10);
		len = 10 + encode(enc, p + pos, take, word + 10);
		memcpy(word + len, "?=", 2);
		if (put_word(f, word, len + 2) < 0)
			return -1;
		pos += take;
	}
	return 0;
}

/* A word that cannot stay as it is. */
static bool
needs_encoding(const char *w, size_t n)
{
	size_t i;

	if (n > LITERAL_MAX)
		return true;
	for (i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80 || (w[i] == '=' && i + 1 < n &&
		    w[i + 1] == '?'))
			return true;
	return false;
}

int
rfc2047_write_field(const struct sink *out, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct fold f = { out, strlen(name) + 1, false, err, errlen };
	const char *p = value, *w, *run;
	size_t n;

	assert(name[0] != '\0' && strchr(name, ':') == NULL);
	if (sink_puts(out, name, err, errlen) < 0 ||
	    sink_write(out, ":", 1, err, errlen) < 0)
		return -1;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = p;
		n = strcspn(w, " ");
		p = w + n;
		if (!needs_encoding(w, n)) {
			if (put_word(&f, w, n) < 0)
				return -1;
			continue;
		}
		/* Following words that need encoding join this run, with
		 * the spaces between them (encoded, so they are kept). */
		run = w;
		for (;;) {
			w = p + strspn(p, " ");
			n = strcspn(w, " ");
			if (n == 0 || !needs_encoding(w, n))
				break;
			p = w + n;
		}
		if (put_encoded(&f, (const unsigned char *)run,
		    (size_t)(p - run)) < 0)
			return -1;
	}
	return sink_write(out, "\r\n", 2, err, errlen);
}
