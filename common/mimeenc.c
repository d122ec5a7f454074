/*
 * mimeenc.c -- streaming base64 and quoted-printable coders.
 */
#include "mimeenc.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sink.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hexdigits[] = "0123456789ABCDEF";

/* Write and empty a coder's output batch. */
static int
flush_buf(const struct sink *out, void *buf, size_t *nbuf, char *err,
    size_t errlen)
{
	size_t n = *nbuf;

	*nbuf = 0;
	return sink_write(out, buf, n, err, errlen);
}

/* ---- base64 encoder ---------------------------------------------- */

void
b64enc_init(struct b64enc *e, const struct sink *out, size_t linelen)
{
	assert(e != NULL && out != NULL);
	memset(e, 0, offsetof(struct b64enc, buf));
	e->out = out;
	e->linelen = linelen;
}

/* Append one output character, starting a new line first if needed. */
static int
b64_putc(struct b64enc *e, char c, char *err, size_t errlen)
{
	if (e->nbuf + 3 > sizeof(e->buf) &&
	    flush_buf(e->out, e->buf, &e->nbuf, err, errlen) != 0)
		return -1;
	if (e->linelen != 0 && e->col == e->linelen) {
		e->buf[e->nbuf++] = '\r';
		e->buf[e->nbuf++] = '\n';
		e->col = 0;
	}
	e->buf[e->nbuf++] = c;
	e->col++;
	return 0;
}

/* Encode n (1..3) bytes of in as one quantum, padded. */
static int
b64_quantum(struct b64enc *e, const unsigned char *in, size_t n, char *err,
    size_t errlen)
{
	uint32_t v = (uint32_t)in[0] << 16;
	char q[4];
	size_t i;

	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	q[0] = b64chars[(v >> 18) & 63];
	q[1] = b64chars[(v >> 12) & 63];
	q[2] = n > 1 ? b64chars[(v >> 6) & 63] : '=';
	q[3] = n > 2 ? b64chars[v & 63] : '=';
	for (i = 0; i < 4; i++)
		if (b64_putc(e, q[i], err, errlen) != 0)
			return -1;
	return 0;
}

int
b64enc_update(struct b64enc *e, const void *data, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p = data;

	while (len > 0) {
		if (e->nin == 0 && len >= 3) {
			if (b64_quantum(e, p, 3, err, errlen) != 0)
				return -1;
			p += 3;
			len -= 3;
			continue;
		}
		e->in[e->nin++] = *p++;
		len--;
		if (e->nin == 3) {
			e->nin = 0;
			if (b64_quantum(e, e->in, 3, err, errlen) != 0)
				return -1;
		}
	}
	return 0;
}

int
b64enc_final(struct b64enc *e, char *err, size_t errlen)
{
	if (e->nin > 0 && b64_quantum(e, e->in, e->nin, err, errlen) != 0)
		return -1;
	e->nin = 0;
	return flush_buf(e->out, e->buf, &e->nbuf, err, errlen);
}

/* ---- base64 decoder ---------------------------------------------- */

enum { B64_BAD = -1, B64_WS = -2, B64_PAD = -3 };

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	switch (c) {
	case '+':
		return 62;
	case '/':
		return 63;
	case '=':
		return B64_PAD;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return B64_WS;
	default:
		return B64_BAD;
	}
}

void
b64dec_init(struct b64dec *d, const struct sink *out, bool strict)
{
	assert(d != NULL && out != NULL);
	memset(d, 0, offsetof(struct b64dec, buf));
	d->out = out;
	d->strict = strict;
}

/* Emit the whole bytes held by the current quantum and start anew. */
static int
b64_emit(struct b64dec *d, char *err, size_t errlen)
{
	uint32_t v;
	unsigned nbytes;

	if (d->nacc >= 2) {
		v = d->acc << (6 * (4 - d->nacc));
		nbytes = d->nacc - 1;
		if (d->nbuf + 3 > sizeof(d->buf) &&
		    flush_buf(d->out, d->buf, &d->nbuf, err, errlen) != 0)
			return -1;
		d->buf[d->nbuf++] = (unsigned char)(v >> 16);
		if (nbytes > 1)
			d->buf[d->nbuf++] = (unsigned char)(v >> 8);
		if (nbytes > 2)
			d->buf[d->nbuf++] = (unsigned char)v;
	}
	d->acc = 0;
	d->nacc = 0;
	d->npad = 0;
	return 0;
}

static int
b64_pad(struct b64dec *d, char *err, size_t errlen)
{
	if (!d->strict)
		return b64_emit(d, err, errlen);
	if (d->nacc < 2) {
		snprintf(err, errlen, "base64: misplaced padding");
		return -1;
	}
	d->npad++;
	if (d->nacc + d->npad == 4) {
		d->padded = true;
		return b64_emit(d, err, errlen);
	}
	return 0;
}

int
b64dec_update(struct b64dec *d, const void *data, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p = data;
	size_t i;
	int v;

	for (i = 0; i < len; i++) {
		v = b64_value(p[i]);
		if (v == B64_WS)
			continue;
		if (v == B64_PAD) {
			if (b64_pad(d, err, errlen) != 0)
				return -1;
			continue;
		}
		if (v == B64_BAD) {
			if (!d->strict)
				continue;
			snprintf(err, errlen,
			    "base64: invalid character 0x%02x", p[i]);
			return -1;
		}
		if (d->strict && (d->padded || d->npad > 0)) {
			snprintf(err, errlen, "base64: data after padding");
			return -1;
		}
		d->acc = (d->acc << 6) | (uint32_t)v;
		if (++d->nacc == 4 && b64_emit(d, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
b64dec_final(struct b64dec *d, char *err, size_t errlen)
{
	if (d->strict && (d->nacc != 0 || d->npad != 0)) {
		snprintf(err, errlen, "base64: incomplete final quantum");
		return -1;
	}
	if (b64_emit(d, err, errlen) != 0)
		return -1;
	return flush_buf(d->out, d->buf, &d->nbuf, err, errlen);
}

/* ---- quoted-printable encoder ------------------------------------ */

void
qpenc_init(struct qpenc *e, const struct sink *out, bool text)
{
	assert(e != NULL && out != NULL);
	memset(e, 0, offsetof(struct qpenc, buf));
	e->out = out;
	e->text = text;
	e->pend_ws = -1;
}

static int
qpe_put(struct qpenc *e, const char *s, size_t n, char *err, size_t errlen)
{
	if (e->nbuf + n > sizeof(e->buf) &&
	    flush_buf(e->out, e->buf, &e->nbuf, err, errlen) != 0)
		return -1;
	memcpy(e->buf + e->nbuf, s, n);
	e->nbuf += n;
	return 0;
}

/*
 * Write byte c literally or as "=XX", with a soft line break first when
 * the line would exceed 75 characters (76 with the break's '=').  A line
 * never starts with a literal 'F' ("From " in mbox files), '.' (SMTP) or
 * '-' (so no line of the encoding can pass for a MIME delimiter).
 */
static int
qpe_token(struct qpenc *e, unsigned char c, bool encode, char *err,
    size_t errlen)
{
	char t[3];
	size_t n = encode ? 3 : 1;

	if (e->col > 0 && e->col + n > MIMEENC_LINE - 1) {
		if (qpe_put(e, "=\r\n", 3, err, errlen) != 0)
			return -1;
		e->col = 0;
	}
	if (!encode && e->col == 0 && (c == 'F' || c == '.' || c == '-')) {
		encode = true;
		n = 3;
	}
	if (encode) {
		t[0] = '=';
		t[1] = hexdigits[c >> 4];
		t[2] = hexdigits[c & 15];
	} else
		t[0] = (char)c;
	e->col += n;
	return qpe_put(e, t, n, err, errlen);
}

/* Held-back whitespace turned out not to end a line: write it as is. */
static int
qpe_ws_literal(struct qpenc *e, char *err, size_t errlen)
{
	int c = e->pend_ws;

	if (c < 0)
		return 0;
	e->pend_ws = -1;
	return qpe_token(e, (unsigned char)c, false, err, errlen);
}

/* Held-back whitespace ends a line (or the data): encode it. */
static int
qpe_ws_encoded(struct qpenc *e, char *err, size_t errlen)
{
	int c = e->pend_ws;

	if (c < 0)
		return 0;
	e->pend_ws = -1;
	return qpe_token(e, (unsigned char)c, true, err, errlen);
}

static int
qpe_hard_break(struct qpenc *e, char *err, size_t errlen)
{
	if (qpe_ws_encoded(e, err, errlen) != 0)
		return -1;
	e->col = 0;
	return qpe_put(e, "\r\n", 2, err, errlen);
}

static int
qpe_byte(struct qpenc *e, unsigned char c, char *err, size_t errlen)
{
	if (e->text) {
		if (e->pend_cr) {
			e->pend_cr = false;
			if (c == '\n')
				return qpe_hard_break(e, err, errlen);
			if (qpe_ws_literal(e, err, errlen) != 0 ||
			    qpe_token(e, '\r', true, err, errlen) != 0)
				return -1;
		}
		if (c == '\r') {
			e->pend_cr = true;
			return 0;
		}
		if (c == '\n')
			return qpe_hard_break(e, err, errlen);
	}
	if (qpe_ws_literal(e, err, errlen) != 0)
		return -1;
	if (c == ' ' || c == '\t') {
		e->pend_ws = c;
		return 0;
	}
	return qpe_token(e, c, c < 33 || c > 126 || c == '=', err, errlen);
}

int
qpenc_update(struct qpenc *e, const void *data, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		if (qpe_byte(e, p[i], err, errlen) != 0)
			return -1;
	return 0;
}

int
qpenc_final(struct qpenc *e, char *err, size_t errlen)
{
	if (e->pend_cr) {
		e->pend_cr = false;
		if (qpe_ws_literal(e, err, errlen) != 0 ||
		    qpe_token(e, '\r', true, err, errlen) != 0)
			return -1;
	}
	if (qpe_ws_encoded(e, err, errlen) != 0)
		return -1;
	return flush_buf(e->out, e->buf, &e->nbuf, err, errlen);
}

/* ---- quoted-printable decoder ------------------------------------ */

enum qpd_state {
	QPD_TEXT = 0,
	QPD_CR,		/* CR seen: line break if LF follows */
	QPD_EQ,		/* '=' seen */
	QPD_EQHEX,	/* '=' and one hex digit seen */
	QPD_EQWS,	/* '=' and whitespace: soft break if CRLF follows */
	QPD_EQCR,	/* '=' (whitespace) CR */
};

void
qpdec_init(struct qpdec *d, const struct sink *out, bool strict)
{
	assert(d != NULL && out != NULL);
	memset(d, 0, offsetof(struct qpdec, buf));
	d->out = out;
	d->strict = strict;
}

static int
qpd_put(struct qpdec *d, const void *s, size_t n, char *err, size_t errlen)
{
	if (d->nbuf + n > sizeof(d->buf) &&
	    flush_buf(d->out, d->buf, &d->nbuf, err, errlen) != 0)
		return -1;
	memcpy(d->buf + d->nbuf, s, n);
	d->nbuf += n;
	return 0;
}

static int
qpd_flush_ws(struct qpdec *d, char *err, size_t errlen)
{
	size_t n = d->nws;

	d->nws = 0;
	return qpd_put(d, d->ws, n, err, errlen);
}

static int
hexval(int c, bool strict)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (!strict && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
qpd_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "quoted-printable: %s", what);
	return -1;
}

/* A '=' that starts no escape: keep it (lenient) or fail (strict). */
static int
qpd_stray_equals(struct qpdec *d, char *err, size_t errlen)
{
	if (d->strict)
		return qpd_fail(err, errlen, "invalid escape");
	d->state = QPD_TEXT;
	return qpd_put(d, "=", 1, err, errlen);
}

static int
qpd_text(struct qpdec *d, unsigned char c, char *err, size_t errlen)
{
	switch (c) {
	case ' ':
	case '\t':
		if (d->nws == sizeof(d->ws) &&
		    qpd_flush_ws(d, err, errlen) != 0)
			return -1;
		d->ws[d->nws++] = c;
		return 0;
	case '\r':
		d->state = QPD_CR;
		return 0;
	case '\n':
		d->nws = 0;	/* trailing whitespace */
		return qpd_put(d, "\r\n", 2, err, errlen);
	case '=':
		if (qpd_flush_ws(d, err, errlen) != 0)
			return -1;
		d->state = QPD_EQ;
		return 0;
	default:
		if (d->strict && (c < 33 || c > 126))
			return qpd_fail(err, errlen, "unencoded control or "
			    "8-bit byte");
		if (qpd_flush_ws(d, err, errlen) != 0)
			return -1;
		return qpd_put(d, &c, 1, err, errlen);
	}
}

static int
qpd_byte(struct qpdec *d, unsigned char c, char *err, size_t errlen)
{
	unsigned char b;
	int v;

	switch (d->state) {
	case QPD_TEXT:
		return qpd_text(d, c, err, errlen);
	case QPD_CR:
		d->state = QPD_TEXT;
		if (c == '\n') {
			d->nws = 0;
			return qpd_put(d, "\r\n", 2, err, errlen);
		}
		if (d->strict)
			return qpd_fail(err, errlen, "bare CR");
		if (qpd_flush_ws(d, err, errlen) != 0 ||
		    qpd_put(d, "\r", 1, err, errlen) != 0)
			return -1;
		return qpd_text(d, c, err, errlen);
	case QPD_EQ:
		if ((v = hexval(c, d->strict)) >= 0) {
			d->hex = c;
			d->state = QPD_EQHEX;
			return 0;
		}
		if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
			d->state = c == '\r' ? QPD_EQCR : c == '\n' ?
			    QPD_TEXT : QPD_EQWS;
			if (c == ' ' || c == '\t')
				d->ws[d->nws++] = c;
			return 0;
		}
		if (qpd_stray_equals(d, err, errlen) != 0)
			return -1;
		return qpd_text(d, c, err, errlen);
	case QPD_EQHEX:
		if ((v = hexval(c, d->strict)) >= 0) {
			b = (unsigned char)(hexval(d->hex, false) << 4 | v);
			d->state = QPD_TEXT;
			return qpd_put(d, &b, 1, err, errlen);
		}
		if (qpd_stray_equals(d, err, errlen) != 0 ||
		    qpd_text(d, (unsigned char)d->hex, err, errlen) != 0)
			return -1;
		return qpd_text(d, c, err, errlen);
	case QPD_EQWS:
		if (c == ' ' || c == '\t') {
			if (d->nws < sizeof(d->ws)) {
				d->ws[d->nws++] = c;
				return 0;
			}
		} else if (c == '\r' || c == '\n') {
			d->nws = 0;
			d->state = c == '\r' ? QPD_EQCR : QPD_TEXT;
			return 0;
		}
		/* "=" and whitespace in the middle of a line. */
		if (qpd_stray_equals(d, err, errlen) != 0 ||
		    qpd_flush_ws(d, err, errlen) != 0)
			return -1;
		return qpd_text(d, c, err, errlen);
	case QPD_EQCR:
	default:
		d->state = QPD_TEXT;
		if (c == '\n')
			return 0;
		if (d->strict)
			return qpd_fail(err, errlen, "bare CR");
		return qpd_text(d, c, err, errlen);	/* "=" CR: soft */
	}
}

int
qpdec_update(struct qpdec *d, const void *data, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		if (qpd_byte(d, p[i], err, errlen) != 0)
			return -1;
	return 0;
}

int
qpdec_final(struct qpdec *d, char *err, size_t errlen)
{
	unsigned char b;

	switch (d->state) {
	case QPD_CR:
		if (d->strict)
			return qpd_fail(err, errlen, "bare CR");
		if (qpd_flush_ws(d, err, errlen) != 0 ||
		    qpd_put(d, "\r", 1, err, errlen) != 0)
			return -1;
		break;
	case QPD_EQ:
		if (d->strict)
			return qpd_fail(err, errlen, "'=' at the end");
		break;		/* a soft break before the end */
	case QPD_EQHEX:
		b = (unsigned char)d->hex;
		if (qpd_stray_equals(d, err, errlen) != 0 ||
		    qpd_put(d, &b, 1, err, errlen) != 0)
			return -1;
		break;
	default:
		break;		/* trailing whitespace is deleted */
	}
	d->state = QPD_TEXT;
	d->nws = 0;
	return flush_buf(d->out, d->buf, &d->nbuf, err, errlen);
}
