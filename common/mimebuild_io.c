/*
 * mimebuild_io.c -- the content builder's two ends: the output batch
 * (OUT_BUF bytes collected before they go to the caller's sink, and the
 * sink that encoders and field writers use to write into it), and the
 * line reader over the body spool, which hands out lines, or RD_BUF
 * pieces of longer ones, with their spool offsets, and tells a delimiter
 * line of an enclosing multipart from any other.
 */
#include "mimebuild_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "sink.h"
#include "spool.h"

int
mb_fail(struct ctx *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s", what);
	return -1;
}

/* ---- output ------------------------------------------------------- */

int
mb_out_flush(struct ctx *c)
{
	size_t n = c->olen;

	c->olen = 0;
	return sink_write(c->out, c->obuf, n, c->err, c->errlen);
}

int
mb_out_write(struct ctx *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	c->lastc = ((const unsigned char *)p)[n - 1];
	if (c->olen + n > OUT_BUF) {
		if (mb_out_flush(c) != 0)
			return -1;
		if (n > OUT_BUF / 2)
			return sink_write(c->out, p, n, c->err, c->errlen);
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

int
mb_out_puts(struct ctx *c, const char *s)
{
	return mb_out_write(c, s, strlen(s));
}

int
mb_osink_write(void *arg, const void *buf, size_t len, char *err,
    size_t errlen)
{
	struct ctx *c = arg;

	if (mb_out_write(c, buf, len) == 0)
		return 0;
	if (err != c->err)
		snprintf(err, errlen, "%s", c->err);
	return -1;
}

/* ---- line reader -------------------------------------------------- */

void
mb_lr_seek(struct ctx *c, uint64_t off)
{
	struct lreader *r = &c->rd;

	if (off >= r->bufoff && off <= r->bufoff + r->len)
		r->pos = (size_t)(off - r->bufoff);
	else {
		r->bufoff = off;
		r->pos = r->len = 0;
	}
	r->midline = false;
}

uint64_t
mb_lr_tell(const struct ctx *c)
{
	return c->rd.bufoff + c->rd.pos;
}

/* Move held bytes to the front and read more.  Bytes read, 0, or -1. */
static ssize_t
lr_fill(struct ctx *c)
{
	struct lreader *r = &c->rd;
	ssize_t n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->bufoff += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	n = spool_read(c->sp, r->bufoff + r->len, r->buf + r->len,
	    RD_BUF - r->len, c->err, c->errlen);
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

/* The next line or piece: 1, 0 at the end of the body, -1 on error. */
int
mb_lr_next(struct ctx *c, struct seg *s)
{
	struct lreader *r = &c->rd;
	unsigned char *p, *nl;
	size_t avail, take;
	ssize_t n;

	for (;;) {
		p = r->buf + r->pos;
		avail = r->len - r->pos;
		nl = memchr(p, '\n', avail);
		if (nl != NULL || avail == RD_BUF)
			break;
		if ((n = lr_fill(c)) < 0)
			return -1;
		if (n == 0) {
			p = r->buf + r->pos;
			avail = r->len - r->pos;
			break;
		}
	}
	if (avail == 0)
		return 0;
	s->p = p;
	s->off = r->bufoff + r->pos;
	s->cont = r->midline;
	s->partial = false;
	s->eol = 0;
	if (nl != NULL) {
		take = (size_t)(nl - p);
		s->len = take;
		s->eol = 1;
		if (take > 0 && p[take - 1] == '\r') {
			s->len--;
			s->eol = 2;
		}
		r->pos += take + 1;
	} else if (avail == RD_BUF) {
		/* Keep a CR with the LF that may follow it. */
		take = p[avail - 1] == '\r' ? avail - 1 : avail;
		s->len = take;
		s->partial = true;
		r->pos += take;
	} else {
		s->len = avail;
		r->pos += avail;
	}
	r->midline = s->partial;
	s->next = r->bufoff + r->pos;
	return 1;
}

/*
 * Is this line a delimiter of an enclosing multipart ("--boundary" or
 * "--boundary--", then only whitespace)?  Innermost first; the index in
 * the boundary stack, or -1.
 */
int
mb_match_boundary(const struct ctx *c, const struct seg *s, bool *close)
{
	const unsigned char *q;
	size_t i, bl, rest;

	if (s->cont || s->partial || s->len < 3 || s->p[0] != '-' ||
	    s->p[1] != '-')
		return -1;
	for (i = c->nbnd; i-- > 0;) {
		bl = c->bndlen[i];
		if (s->len < 2 + bl || memcmp(s->p + 2, c->bnd[i], bl) != 0)
			continue;
		q = s->p + 2 + bl;
		rest = s->len - 2 - bl;
		*close = rest >= 2 && q[0] == '-' && q[1] == '-';
		if (*close) {
			q += 2;
			rest -= 2;
		}
		while (rest > 0 && mb_is_wsp(*q)) {
			q++;
			rest--;
		}
		if (rest == 0)
			return (int)i;
	}
	return -1;
}
