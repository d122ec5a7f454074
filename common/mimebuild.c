/*
 * mimebuild.c -- the content to protect: the message's MIME entity in
 * canonical, 7-bit form, built in one streaming walk over the body spool.
 *
 * The body is read through a line reader with a 64 KiB window: it hands
 * out lines, or 64 KiB pieces of longer ones, with their spool offsets.
 * Entities are handled recursively (at most MIME_MAX_DEPTH deep):
 *
 *  - a multipart writes its header fields, then walks preamble, body
 *    parts and delimiters; every line is checked against the boundaries
 *    of all enclosing multiparts, so a missing close delimiter ends the
 *    part at the next outer delimiter or at the end of the body;
 *  - a message/rfc822 writes its fields, then the embedded message is an
 *    entity of its own (header block and body);
 *  - a leaf is read twice: a scan finds where it ends (the next delimiter
 *    of any enclosing multipart) and whether it is 7-bit clean, which
 *    decides the transfer encoding and so its header fields; then its
 *    bytes are streamed through the chosen transformation (copy with CRLF
 *    line ends, or a quoted-printable/base64 encoder from mimeenc.h).
 *
 * Memory: the reader window, one read chunk, an output batch, one struct
 * part per nesting level and at most two body-part header blocks at a
 * time; nothing grows with the body.  Spool offsets make the second pass
 * of a leaf and the "push back" of a line that ends a header block cheap.
 */
#include "mime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime_int.h"
#include "mimeenc.h"
#include "sink.h"
#include "spool.h"

#define RD_BUF (64 * 1024)	/* line reader window: longest piece */
#define CHUNK (64 * 1024)	/* body pass reads */
#define OUT_BUF (16 * 1024)	/* output batch */
#define MAX_LINE 998		/* RFC 5322 line limit, CRLF excluded */

enum cte {
	CTE_NONE = 0,		/* absent: 7bit */
	CTE_7BIT,
	CTE_8BIT,
	CTE_BINARY,
	CTE_QP,
	CTE_BASE64,
	CTE_OTHER,		/* x-uuencode and the like */
};

/* What the body pass does with a leaf's bytes. */
enum xfer {
	X_COPY,			/* as is, bare LF made CRLF */
	X_QP,			/* quoted-printable, text mode */
	X_B64,			/* base64 */
	X_QP_REENC,		/* dirty quoted-printable: decode, encode */
	X_QP_TO_B64,		/* the same for non-text: decode, base64 */
	X_B64_CLEAN,		/* dirty base64: keep alphabet, re-wrap */
};

enum leaf_mode {
	LEAF_NORMAL,
	LEAF_OPAQUE,		/* multipart without a usable boundary */
	LEAF_GLOBAL,		/* message/rfc822 with an 8-bit header block */
	LEAF_VERBATIM,		/* multipart/signed: any change breaks it */
};

/* A line, or a piece of a line longer than the reader window. */
struct seg {
	const unsigned char *p;	/* valid until the next lr_next() */
	size_t len;		/* line break excluded */
	uint64_t off;		/* spool offset of p[0] */
	uint64_t next;		/* offset after the piece and its line break */
	unsigned eol;		/* 0 none, 1 LF, 2 CRLF */
	bool cont;		/* continues the previous piece's line */
	bool partial;		/* the line goes on in the next piece */
};

struct lreader {
	unsigned char *buf;	/* RD_BUF bytes */
	uint64_t bufoff;	/* spool offset of buf[0] */
	size_t pos, len;	/* next byte, bytes held */
	bool midline;
};

/* How an entity ended: which delimiter, or the end of the body. */
struct bres {
	int idx;		/* boundary stack index, -1 for the end */
	bool close;		/* "--boundary--" */
};

/* A header block read from the body. */
struct hblock {
	struct header *h;
	size_t n, cap;
	size_t bytes;
	size_t lastlen, lastcap;	/* the last field's value */
};

struct part {
	const struct header *h;	/* the caller's (root) or own.h */
	size_t nh;
	struct hblock own;
	bool root;
	unsigned depth;
	struct mime_ctype ct;	/* parsed, or the default */
	bool ct_ok;		/* Content-Type absent or parsed */
	bool ct_synth;		/* write a Content-Type that was not there */
	bool ct_dirty;		/* write ct instead of the raw field */
	const struct header *cth, *cteh;
	enum cte cte;
};

struct ctx {
	const struct spool *sp;
	struct lreader rd;
	unsigned char *chunk;
	unsigned char *obuf;
	size_t olen;
	int lastc;		/* last byte written, -1 for none */
	const struct sink *out;
	struct sink osink;	/* into obuf: for encoders and field writers */
	const struct mime_options *opt;
	struct mime_info *info;
	struct mime_ctype *scratch;	/* Content-Disposition rewriting */
	const char *bnd[MIME_MAX_DEPTH + 1];
	size_t bndlen[MIME_MAX_DEPTH + 1];
	size_t nbnd;
	char *err;
	size_t errlen;
};

struct scan {
	uint64_t end;		/* end of the leaf's content */
	uint64_t next;		/* after the delimiter line that ended it */
	struct bres res;
	bool eightbit, nul, bare_cr, longline;
	struct utf8v u;
};

static int entity(struct ctx *, struct part *, uint64_t, struct bres *);

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
fail(struct ctx *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s", what);
	return -1;
}

/* ---- output ------------------------------------------------------- */

static int
out_flush(struct ctx *c)
{
	size_t n = c->olen;

	c->olen = 0;
	return sink_write(c->out, c->obuf, n, c->err, c->errlen);
}

static int
out_write(struct ctx *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	c->lastc = ((const unsigned char *)p)[n - 1];
	if (c->olen + n > OUT_BUF) {
		if (out_flush(c) != 0)
			return -1;
		if (n > OUT_BUF / 2)
			return sink_write(c->out, p, n, c->err, c->errlen);
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

static int
out_puts(struct ctx *c, const char *s)
{
	return out_write(c, s, strlen(s));
}

static int
osink_write(void *arg, const void *buf, size_t len, char *err,
    size_t errlen)
{
	struct ctx *c = arg;

	if (out_write(c, buf, len) == 0)
		return 0;
	if (err != c->err)
		snprintf(err, errlen, "%s", c->err);
	return -1;
}

/* ---- line reader -------------------------------------------------- */

static void
lr_seek(struct ctx *c, uint64_t off)
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

static uint64_t
lr_tell(const struct ctx *c)
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
static int
lr_next(struct ctx *c, struct seg *s)
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
static int
match_boundary(const struct ctx *c, const struct seg *s, bool *close)
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
		while (rest > 0 && is_wsp(*q)) {
			q++;
			rest--;
		}
		if (rest == 0)
			return (int)i;
	}
	return -1;
}

/* ---- header blocks in the body ------------------------------------ */

static void
hb_free(struct hblock *hb)
{
	size_t i;

	for (i = 0; i < hb->n; i++) {
		free(hb->h[i].name);
		free(hb->h[i].value);
	}
	free(hb->h);
	memset(hb, 0, sizeof(*hb));
}

/* "Name:" (whitespace allowed before the colon): the name's length. */
static size_t
field_name_len(const unsigned char *p, size_t len, size_t *colon)
{
	size_t i = 0, n;

	while (i < len && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	n = i;
	while (i < len && is_wsp(p[i]))
		i++;
	if (n == 0 || i >= len || p[i] != ':')
		return 0;
	*colon = i;
	return n;
}

/*
 * Append prefix and p[0..n) to the value of the last field, NUL and bare
 * CR made spaces; the buffer grows geometrically (many short lines).
 */
static int
hb_append(struct ctx *c, struct hblock *hb, const char *prefix,
    const unsigned char *p, size_t n)
{
	struct header *f = &hb->h[hb->n - 1];
	size_t plen = strlen(prefix), need, i;
	char *v;

	need = hb->lastlen + plen + n + 1;
	if (strlen(f->name) + need - 1 > MIME_MAX_FIELD) {
		snprintf(c->err, c->errlen, "header line longer than %d bytes",
		    MIME_MAX_FIELD);
		return -1;
	}
	if (need > hb->lastcap) {
		hb->lastcap = need < 128 ? 128 : need * 2;
		if ((v = realloc(f->value, hb->lastcap)) == NULL)
			return fail(c, "out of memory");
		f->value = v;
	}
	v = f->value + hb->lastlen;
	memcpy(v, prefix, plen);
	for (i = 0; i < n; i++)
		v[plen + i] = p[i] == '\0' || p[i] == '\r' ? ' ' : (char)p[i];
	v[plen + n] = '\0';
	hb->lastlen += plen + n;
	return 0;
}

static int
hb_add_field(struct ctx *c, struct hblock *hb, const struct seg *s,
    size_t namelen, size_t colon)
{
	struct header *grown, *f;

	if (hb->n == MIME_MAX_PART_FIELDS) {
		snprintf(c->err, c->errlen, "more than %d header fields in a "
		    "body part", MIME_MAX_PART_FIELDS);
		return -1;
	}
	if (hb->n == hb->cap) {
		hb->cap = hb->cap ? hb->cap * 2 : 16;
		if ((grown = realloc(hb->h, hb->cap * sizeof(*grown))) == NULL)
			return fail(c, "out of memory");
		hb->h = grown;
	}
	f = &hb->h[hb->n];
	f->value = NULL;
	if ((f->name = strndup((const char *)s->p, namelen)) == NULL)
		return fail(c, "out of memory");
	hb->n++;
	hb->lastlen = hb->lastcap = 0;
	return hb_append(c, hb, "", s->p + colon + 1, s->len - colon - 1);
}

/*
 * Read the header block at start into hb.  *body is where the body
 * starts: after the empty line, or at the first line that is no header
 * field, at a delimiter line or at the end (the reader is left there).
 */
static int
read_headers(struct ctx *c, uint64_t start, struct hblock *hb,
    uint64_t *body)
{
	struct seg s;
	size_t namelen, colon = 0;
	bool close;
	int r;

	lr_seek(c, start);
	for (;;) {
		if ((r = lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			*body = lr_tell(c);
			return 0;
		}
		if (s.len == 0 && !s.partial) {
			*body = s.next;
			return 0;
		}
		hb->bytes += s.len + 2;
		if (hb->bytes > MIME_MAX_PART_HEADER) {
			snprintf(c->err, c->errlen, "body part header block "
			    "larger than %d bytes", MIME_MAX_PART_HEADER);
			return -1;
		}
		if (match_boundary(c, &s, &close) >= 0)
			break;
		if (is_wsp(s.p[0]) && hb->n > 0) {
			if (s.partial || hb_append(c, hb, "\r\n", s.p,
			    s.len) != 0)
				goto toolong;
			continue;
		}
		namelen = is_wsp(s.p[0]) ? 0 : field_name_len(s.p, s.len,
		    &colon);
		if (namelen == 0)
			break;	/* not a header field: the body begins */
		if (s.partial || hb_add_field(c, hb, &s, namelen, colon) != 0)
			goto toolong;
	}
	*body = s.off;
	lr_seek(c, s.off);
	return 0;
toolong:
	if (s.partial)
		snprintf(c->err, c->errlen, "header line longer than %d bytes",
		    MIME_MAX_FIELD);
	return -1;
}

/* ---- parts -------------------------------------------------------- */

static enum cte
parse_cte(const struct header *h)
{
	static const struct {
		const char *name;
		enum cte cte;
	} known[] = {
		{ "7bit", CTE_7BIT }, { "8bit", CTE_8BIT },
		{ "binary", CTE_BINARY }, { "quoted-printable", CTE_QP },
		{ "base64", CTE_BASE64 },
	};
	const char *v;
	char tok[32];
	size_t n = 0, i;

	if (h == NULL)
		return CTE_NONE;
	for (v = h->value; is_wsp(*v) || *v == '\r' || *v == '\n'; v++)
		;
	while (*v != '\0' && !is_wsp(*v) && *v != '(' && *v != ';' &&
	    *v != '\r' && *v != '\n' && n + 1 < sizeof(tok))
		tok[n++] = *v++;
	tok[n] = '\0';
	if (n == 0)
		return CTE_NONE;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(tok, known[i].name) == 0)
			return known[i].cte;
	return CTE_OTHER;
}

static bool
identity_cte(enum cte cte)
{
	return cte == CTE_NONE || cte == CTE_7BIT || cte == CTE_8BIT ||
	    cte == CTE_BINARY;
}

static struct part *
part_new(struct ctx *c)
{
	struct part *p = calloc(1, sizeof(*p));

	if (p == NULL)
		fail(c, "out of memory");
	return p;
}

static void
part_free(struct part *p)
{
	if (p == NULL)
		return;
	hb_free(&p->own);
	free(p);
}

/* Look at a part's header fields.  digest: default message/rfc822. */
static void
part_init(struct part *p, const struct header *h, size_t n, unsigned depth,
    bool root, bool digest)
{
	p->h = h;
	p->nh = n;
	p->root = root;
	p->depth = depth;
	p->cth = mime_find_header(h, n, "Content-Type");
	p->cteh = mime_find_header(h, n, "Content-Transfer-Encoding");
	p->cte = parse_cte(p->cteh);
	if (p->cth != NULL)
		p->ct_ok = mime_parse_content_type(p->cth->value, &p->ct) == 0;
	else {
		mime_ctype_reset(&p->ct, digest ? "message" : "text",
		    digest ? "rfc822" : "plain");
		p->ct_ok = true;
		p->ct_synth = root;
	}
}

/* Header fields written: drop them (memory), keep ct. */
static void
part_drop_headers(struct part *p)
{
	hb_free(&p->own);
	p->h = NULL;
	p->nh = 0;
	p->cth = p->cteh = NULL;
}

/* Read a body part's header block at start into a new part. */
static int
read_part(struct ctx *c, struct part *child, uint64_t start, unsigned depth,
    bool digest, uint64_t *body)
{
	if (read_headers(c, start, &child->own, body) != 0)
		return -1;
	part_init(child, child->own.h, child->own.n, depth, false, digest);
	return 0;
}

/* ---- header fields out ------------------------------------------------ */

/*
 * The root's fields that belong to the content: every Content-* field
 * (RFC 2045 and later: -Type, -Transfer-Encoding, -Disposition, -ID,
 * -Description, -Language, -Location, -Base, -MD5, Outlook's -Class);
 * the outer message drops them all.
 */
static bool
root_field(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

/* RFC 5322 field name: printable ASCII but ':'.  The MTA checks too. */
static bool
valid_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':')
			return false;
	return p != (const unsigned char *)name;
}

/*
 * Folding that copying would change: a line break not followed by
 * whitespace (or a bare CR) gets a space after it, a continuation line
 * of only whitespace is dropped.  Inside a quoted string either changes
 * the parameter, which would no longer read as it did for the walk (a
 * boundary!).
 */
static bool
bad_fold(const char *v)
{
	const char *q;

	for (; *v != '\0'; v++) {
		if (*v == '\r' && v[1] == '\n')
			v++;
		else if (*v == '\r')
			return true;
		if (*v != '\n' || v[1] == '\0')
			continue;
		if (v[1] != ' ' && v[1] != '\t')
			return true;
		for (q = v + 1; *q == ' ' || *q == '\t'; q++)
			;
		if (*q == '\0' || *q == '\r' || *q == '\n')
			return true;
	}
	return false;
}

/* Content-Type/-Disposition to write from their parsed form. */
static bool
needs_rewrite(const struct header *f)
{
	return mime_has_8bit(f->value) || bad_fold(f->value) ||
	    mime_has_long_line(f->name, f->value);
}

static const char *
hp_mode(const struct ctx *c)
{
	return c->opt->hp_mode != NULL ? c->opt->hp_mode : "cipher";
}

/* Header protection: injected copies, HP-Outer, hp= (RFC 9788). */
static int
write_protected(struct ctx *c, struct part *p)
{
	if (mime_hp_write_injected(p->h, p->nh, &c->osink,
	    &c->info->kept_8bit, c->err, c->errlen) != 0)
		return -1;
	if (strcmp(hp_mode(c), "cipher") == 0 && mime_hp_write_outer(p->h,
	    p->nh, &c->osink, &c->info->kept_8bit, c->err, c->errlen) != 0)
		return -1;
	if (mime_ctype_set_param(&p->ct, "hp", hp_mode(c)) != 0)
		return fail(c, "no room for the hp parameter");
	p->ct_dirty = true;
	return 0;
}

static int
write_field(struct ctx *c, const struct header *f)
{
	return mime_write_field(&c->osink, f->name, f->value,
	    &c->info->kept_8bit, c->err, c->errlen);
}

static int
write_cte(struct ctx *c, const char *cte)
{
	if (out_puts(c, "Content-Transfer-Encoding: ") != 0 ||
	    out_puts(c, cte) != 0 || out_puts(c, "\r\n") != 0)
		return -1;
	return 0;
}

static int
write_disposition(struct ctx *c, const struct header *f)
{
	if (!needs_rewrite(f) || mime_parse_content_disposition(f->value,
	    c->scratch) != 0)
		return write_field(c, f);
	return mime_write_ctype(&c->osink, f->name, c->scratch, c->err,
	    c->errlen);
}

/*
 * Write p's header block and the empty line after it.  newcte: a new
 * Content-Transfer-Encoding, or NULL to keep the field.  The root writes
 * only its MIME fields; duplicate Content-Type and -Transfer-Encoding
 * fields are dropped.
 */
static int
write_headers(struct ctx *c, struct part *p, const char *newcte)
{
	const struct header *f;
	size_t i;
	int rc = 0;

	if (p->root && c->opt != NULL && c->opt->protect_headers &&
	    write_protected(c, p) != 0)
		return -1;
	for (i = 0; i < p->nh && rc == 0; i++) {
		f = &p->h[i];
		if (f->name == NULL || f->value == NULL ||
		    !valid_name(f->name) || (p->root && !root_field(f->name)))
			continue;
		if (strcasecmp(f->name, "Content-Type") == 0) {
			if (f != p->cth)
				continue;
			if (p->ct_dirty || needs_rewrite(f))
				rc = mime_write_ctype(&c->osink, f->name,
				    &p->ct, c->err, c->errlen);
			else
				rc = write_field(c, f);
		} else if (strcasecmp(f->name,
		    "Content-Transfer-Encoding") == 0) {
			if (f != p->cteh)
				continue;
			rc = newcte != NULL ? write_cte(c, newcte) :
			    write_field(c, f);
		} else if (strcasecmp(f->name, "Content-Disposition") == 0)
			rc = write_disposition(c, f);
		else
			rc = write_field(c, f);
	}
	if (rc == 0 && p->cth == NULL && p->ct_synth)
		rc = mime_write_ctype(&c->osink, "Content-Type", &p->ct,
		    c->err, c->errlen);
	if (rc == 0 && newcte != NULL && p->cteh == NULL)
		rc = write_cte(c, newcte);
	if (rc == 0)
		rc = out_puts(c, "\r\n");
	return rc != 0 ? -1 : 0;
}

/* ---- leaves -------------------------------------------------------- */

static void
analyze(struct scan *sc, const unsigned char *p, size_t n)
{
	bool high = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			high = true;
		else if (p[i] == '\0')
			sc->nul = true;
		else if (p[i] == '\r')
			sc->bare_cr = true;
	}
	if (high) {
		sc->eightbit = true;
		mime_utf8_feed(&sc->u, p, n);
	}
}

/*
 * Find where the leaf starting at start ends and whether it is 7-bit
 * clean.  The line break before a delimiter belongs to the delimiter; so
 * does the last one of a body part that the end of the body cuts off,
 * for the close delimiter we supply.
 */
static int
scan(struct ctx *c, uint64_t start, struct scan *sc)
{
	struct seg s;
	size_t linelen = 0;
	unsigned preveol = 0, lasteol = 0;
	bool close;
	int r, idx;

	memset(sc, 0, sizeof(*sc));
	lr_seek(c, start);
	for (;;) {
		if ((r = lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			sc->end = sc->next = lr_tell(c);
			if (c->nbnd > 0 && sc->end - start >= lasteol)
				sc->end -= lasteol;
			sc->res.idx = -1;
			return 0;
		}
		lasteol = s.eol;
		if ((idx = match_boundary(c, &s, &close)) >= 0) {
			sc->end = s.off == start ? start : s.off - preveol;
			sc->next = s.next;
			sc->res.idx = idx;
			sc->res.close = close;
			return 0;
		}
		analyze(sc, s.p, s.len);
		linelen += s.len;
		if (linelen > MAX_LINE)
			sc->longline = true;
		if (s.eol != 0) {
			linelen = 0;
			preveol = s.eol;
		}
	}
}

/* Copy, making every bare LF a CRLF. */
static int
copy_canonical(struct ctx *c, const unsigned char *p, size_t n,
    bool *prev_cr)
{
	const unsigned char *q, *from = p, *end = p + n;
	bool cr;

	while ((q = memchr(from, '\n', (size_t)(end - from))) != NULL) {
		cr = q > p ? q[-1] == '\r' : *prev_cr;
		if (!cr) {
			if (out_write(c, from, (size_t)(q - from)) != 0 ||
			    out_write(c, "\r\n", 2) != 0)
				return -1;
			from = q + 1;
		} else if (out_write(c, from, (size_t)(q + 1 - from)) != 0)
			return -1;
		else
			from = q + 1;
	}
	if (out_write(c, from, (size_t)(end - from)) != 0)
		return -1;
	if (n > 0)
		*prev_cr = p[n - 1] == '\r';
	return 0;
}

/* Dirty base64: keep the alphabet and '=', in lines of 76. */
static int
b64_clean(struct ctx *c, const unsigned char *p, size_t n, size_t *col)
{
	char buf[1024];
	size_t i, o = 0;
	unsigned char ch;

	for (i = 0; i < n; i++) {
		ch = p[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
		    ch == '='))
			continue;
		if (o + 3 > sizeof(buf)) {
			if (out_write(c, buf, o) != 0)
				return -1;
			o = 0;
		}
		if (*col == MIMEENC_LINE) {
			buf[o++] = '\r';
			buf[o++] = '\n';
			*col = 0;
		}
		buf[o++] = (char)ch;
		(*col)++;
	}
	return out_write(c, buf, o);
}

static int
qpenc_sink(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	return qpenc_update(arg, buf, len, err, errlen);
}

static int
b64enc_sink(void *arg, const void *buf, size_t len, char *err,
    size_t errlen)
{
	return b64enc_update(arg, buf, len, err, errlen);
}

/* The coders of one body pass. */
struct coders {
	struct qpenc qe;
	struct b64enc be;
	struct qpdec qd;
	struct sink chain;	/* decoder output into an encoder */
	bool prev_cr;
	size_t col;
};

static void
coders_init(struct ctx *c, struct coders *k, enum xfer x)
{
	k->prev_cr = false;
	k->col = 0;
	if (x == X_QP || x == X_QP_REENC)
		qpenc_init(&k->qe, &c->osink, true);
	if (x == X_B64 || x == X_QP_TO_B64)
		b64enc_init(&k->be, &c->osink, MIMEENC_LINE);
	if (x == X_QP_REENC || x == X_QP_TO_B64) {
		k->chain.write = x == X_QP_REENC ? qpenc_sink : b64enc_sink;
		k->chain.arg = x == X_QP_REENC ? (void *)&k->qe :
		    (void *)&k->be;
		qpdec_init(&k->qd, &k->chain, false);
	}
}

static int
coders_update(struct ctx *c, struct coders *k, enum xfer x,
    const unsigned char *p, size_t n)
{
	switch (x) {
	case X_COPY:
		return copy_canonical(c, p, n, &k->prev_cr);
	case X_QP:
		return qpenc_update(&k->qe, p, n, c->err, c->errlen);
	case X_B64:
		return b64enc_update(&k->be, p, n, c->err, c->errlen);
	case X_QP_REENC:
	case X_QP_TO_B64:
		return qpdec_update(&k->qd, p, n, c->err, c->errlen);
	case X_B64_CLEAN:
	default:
		return b64_clean(c, p, n, &k->col);
	}
}

static int
coders_final(struct ctx *c, struct coders *k, enum xfer x)
{
	if ((x == X_QP_REENC || x == X_QP_TO_B64) &&
	    qpdec_final(&k->qd, c->err, c->errlen) != 0)
		return -1;
	if ((x == X_QP || x == X_QP_REENC) &&
	    qpenc_final(&k->qe, c->err, c->errlen) != 0)
		return -1;
	if ((x == X_B64 || x == X_QP_TO_B64) &&
	    b64enc_final(&k->be, c->err, c->errlen) != 0)
		return -1;
	return 0;
}

/* Stream the bytes [start, end) of the spool through x. */
static int
body_pass(struct ctx *c, uint64_t start, uint64_t end, enum xfer x)
{
	struct coders *k;
	uint64_t off = start;
	size_t want;
	ssize_t n;
	int rc = -1;

	if ((k = malloc(sizeof(*k))) == NULL)
		return fail(c, "out of memory");
	coders_init(c, k, x);
	while (off < end) {
		want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
		n = spool_read(c->sp, off, c->chunk, want, c->err, c->errlen);
		if (n < 0)
			goto out;
		if (n == 0) {
			fail(c, "body spool shorter than expected");
			goto out;
		}
		if (coders_update(c, k, x, c->chunk, (size_t)n) != 0)
			goto out;
		off += (uint64_t)n;
	}
	rc = coders_final(c, k, x);
out:
	free(k);
	return rc;
}

/* A text/ part without charset that is re-encoded gets one (RFC 1428). */
static int
set_charset(struct ctx *c, struct part *p, const struct scan *sc,
    enum xfer x)
{
	const char *cs = "us-ascii";

	if (strcmp(p->ct.type, "text") != 0)
		return 0;
	if (p->ct_synth || ((x == X_QP || x == X_QP_REENC) && sc->eightbit &&
	    mime_ctype_param(&p->ct, "charset") == NULL)) {
		if (sc->eightbit && (identity_cte(p->cte) ||
		    x == X_QP_REENC))
			cs = mime_utf8_ok(&sc->u) ? "utf-8" : "unknown-8bit";
		if (mime_ctype_set_param(&p->ct, "charset", cs) != 0)
			return fail(c, "no room for the charset parameter");
		p->ct_dirty = true;
		p->ct_synth = p->cth == NULL;
	}
	return 0;
}

/* Choose the transformation for a scanned leaf, and its new CTE. */
static enum xfer
choose(const struct part *p, const struct scan *sc, enum leaf_mode mode,
    const char **newcte)
{
	bool dirty = sc->eightbit || sc->nul || sc->bare_cr || sc->longline;
	bool text = strcmp(p->ct.type, "text") == 0 ||
	    (strcmp(p->ct.type, "message") == 0 &&
	    strcmp(p->ct.subtype, "rfc822") != 0 &&
	    strcmp(p->ct.subtype, "global") != 0);

	*newcte = NULL;
	if (mode == LEAF_VERBATIM)
		return X_COPY;
	switch (p->cte) {
	case CTE_BASE64:
		return dirty ? X_B64_CLEAN : X_COPY;
	case CTE_QP:
		if (!dirty)
			return X_COPY;
		*newcte = text ? "quoted-printable" : "base64";
		return text ? X_QP_REENC : X_QP_TO_B64;
	case CTE_OTHER:
		if (!dirty)
			return X_COPY;
		*newcte = "base64";
		return X_B64;
	default:
		if (!dirty) {
			if (p->cte == CTE_8BIT || p->cte == CTE_BINARY)
				*newcte = "7bit";
			return X_COPY;
		}
		*newcte = text ? "quoted-printable" : "base64";
		return text ? X_QP : X_B64;
	}
}

static int
leaf(struct ctx *c, struct part *p, uint64_t start, struct bres *res,
    enum leaf_mode mode)
{
	const char *newcte;
	struct scan sc;
	enum xfer x;

	if (scan(c, start, &sc) != 0)
		return -1;
	x = choose(p, &sc, mode, &newcte);
	if (mode == LEAF_VERBATIM && (sc.eightbit || sc.nul || sc.bare_cr ||
	    sc.longline))
		c->info->kept_8bit = true;
	if (x != X_COPY)
		c->info->reencoded = true;
	if (x == X_B64 && (mode == LEAF_OPAQUE || mode == LEAF_GLOBAL)) {
		/* base64 is not allowed on multipart/ or message/rfc822 */
		mime_ctype_reset(&p->ct, mode == LEAF_OPAQUE ?
		    "application" : "message", mode == LEAF_OPAQUE ?
		    "octet-stream" : "global");
		p->ct_dirty = true;
		p->ct_synth = p->cth == NULL;	/* a digest's default */
	}
	if (set_charset(c, p, &sc, x) != 0 ||
	    write_headers(c, p, newcte) != 0 ||
	    body_pass(c, start, sc.end, x) != 0)
		return -1;
	*res = sc.res;
	lr_seek(c, sc.next);
	return 0;
}

/* ---- containers ---------------------------------------------------- */

/*
 * A preamble line (or piece), 8-bit bytes replaced, long lines broken
 * (never in front of a '-').
 */
static int
write_preamble(struct ctx *c, const struct seg *s, size_t *nlines,
    size_t *col)
{
	char buf[1024];
	size_t i, o = 0;
	unsigned char ch;

	if (!s->cont) {
		if ((*nlines)++ > 0 && out_write(c, "\r\n", 2) != 0)
			return -1;
		*col = 0;
	}
	for (i = 0; i < s->len; i++) {
		ch = s->p[i];
		if (ch >= 0x80 || ch == '\0' || ch == '\r')
			ch = '?';
		if (o + 3 > sizeof(buf)) {
			if (out_write(c, buf, o) != 0)
				return -1;
			o = 0;
		}
		if (*col == MAX_LINE) {
			buf[o++] = '\r';
			buf[o++] = '\n';
			*col = 0;
			if (ch == '-')
				ch = '?';	/* no new "--boundary" line */
		}
		buf[o++] = (char)ch;
		(*col)++;
	}
	return out_write(c, buf, o);
}

/* Skip an epilogue: up to a delimiter of an outer multipart, or the end. */
static int
skip_epilogue(struct ctx *c, size_t top, struct bres *res)
{
	struct seg s;
	bool close;
	int r, idx;

	for (;;) {
		if ((r = lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			res->idx = -1;
			res->close = false;
			return 0;
		}
		idx = match_boundary(c, &s, &close);
		if (idx >= 0 && (size_t)idx < top) {
			res->idx = idx;
			res->close = close;
			return 0;
		}
	}
}

/*
 * Walk the preamble to the first delimiter.  1: a body part follows;
 * 0: the multipart ended (*res says how); -1: error.
 */
static int
preamble(struct ctx *c, size_t top, size_t *nlines, struct bres *res)
{
	struct seg s;
	size_t col = 0;
	bool close;
	int r, idx;

	for (;;) {
		if ((r = lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			res->idx = -1;
			res->close = false;
			return 0;
		}
		idx = match_boundary(c, &s, &close);
		if (idx < 0) {
			if (write_preamble(c, &s, nlines, &col) != 0)
				return -1;
			continue;
		}
		if ((size_t)idx == top && !close)
			return 1;
		if ((size_t)idx == top)
			return skip_epilogue(c, top, res);
		res->idx = idx;
		res->close = close;
		return 0;
	}
}

static int
multipart(struct ctx *c, struct part *p, const char *b, uint64_t start,
    struct bres *res)
{
	bool digest = strcmp(p->ct.subtype, "digest") == 0;
	const char *newcte = p->cte == CTE_8BIT || p->cte == CTE_BINARY ?
	    "7bit" : NULL;
	struct part *child = NULL;
	struct bres cres;
	size_t top = c->nbnd, nlines = 0;
	uint64_t body;
	int r, rc = -1;

	if (write_headers(c, p, newcte) != 0)
		return -1;
	part_drop_headers(p);
	c->bnd[top] = b;
	c->bndlen[top] = strlen(b);
	c->nbnd++;
	lr_seek(c, start);
	if ((r = preamble(c, top, &nlines, res)) < 0)
		goto out;
	if (r == 0)
		goto close;
	if (out_puts(c, nlines > 0 ? "\r\n--" : "--") != 0 ||
	    out_puts(c, b) != 0 || out_puts(c, "\r\n") != 0)
		goto out;
	nlines = 1;
	for (;;) {
		if ((child = part_new(c)) == NULL ||
		    read_part(c, child, lr_tell(c), p->depth + 1, digest,
		    &body) != 0 || entity(c, child, body, &cres) != 0)
			goto out;
		part_free(child);
		child = NULL;
		if (cres.idx != (int)top) {
			*res = cres;	/* close delimiter missing */
			break;
		}
		if (cres.close) {
			if (skip_epilogue(c, top, res) != 0)
				goto out;
			break;
		}
		if (out_puts(c, "\r\n--") != 0 || out_puts(c, b) != 0 ||
		    out_puts(c, "\r\n") != 0)
			goto out;
	}
close:
	if (out_puts(c, nlines > 0 ? "\r\n--" : "--") != 0 ||
	    out_puts(c, b) != 0 || out_puts(c, "--") != 0)
		goto out;
	rc = 0;
out:
	part_free(child);
	c->nbnd = top;
	return rc;
}

static int
message(struct ctx *c, struct part *p, uint64_t start, struct bres *res)
{
	const char *newcte = p->cte == CTE_8BIT || p->cte == CTE_BINARY ?
	    "7bit" : NULL;
	struct part *child;
	uint64_t body;
	size_t i;
	int rc = -1;

	if ((child = part_new(c)) == NULL)
		return -1;
	if (read_part(c, child, start, p->depth + 1, false, &body) != 0)
		goto out;
	for (i = 0; i < child->own.n; i++)
		if (mime_has_8bit(child->own.h[i].value))
			break;
	if (i < child->own.n) {
		/* Header fields can only be made 7-bit as a whole. */
		rc = leaf(c, p, start, res, LEAF_GLOBAL);
		goto out;
	}
	if (write_headers(c, p, newcte) != 0)
		goto out;
	part_drop_headers(p);
	rc = entity(c, child, body, res);
out:
	part_free(child);
	return rc;
}

/*
 * RFC 2046 bchars, liberally: printable ASCII and space, but not a space
 * at the end (delimiter lines may have trailing whitespace).
 */
static bool
usable_boundary(const char *b)
{
	size_t n = 0;

	if (b == NULL)
		return false;
	for (; b[n] != '\0'; n++)
		if ((unsigned char)b[n] < 0x20 || (unsigned char)b[n] >= 0x7f)
			return false;
	return n > 0 && n <= MIME_MAX_BOUNDARY && b[n - 1] != ' ';
}

/* Write one entity whose header block is in p and body starts at start. */
static int
entity(struct ctx *c, struct part *p, uint64_t start, struct bres *res)
{
	const char *b;

	c->info->parts++;
	if (p->depth > c->info->max_depth)
		c->info->max_depth = p->depth;
	if (p->depth > MIME_MAX_DEPTH) {
		snprintf(c->err, c->errlen, "MIME nesting deeper than %d",
		    MIME_MAX_DEPTH);
		return -1;
	}
	if (strcmp(p->ct.type, "multipart") == 0 && identity_cte(p->cte)) {
		if (strcmp(p->ct.subtype, "signed") == 0)
			return leaf(c, p, start, res, LEAF_VERBATIM);
		b = mime_ctype_param(&p->ct, "boundary");
		if (usable_boundary(b))
			return multipart(c, p, b, start, res);
		return leaf(c, p, start, res, LEAF_OPAQUE);
	}
	if (strcmp(p->ct.type, "message") == 0 &&
	    strcmp(p->ct.subtype, "rfc822") == 0 && identity_cte(p->cte))
		return message(c, p, start, res);
	return leaf(c, p, start, res, LEAF_NORMAL);
}

/* ---- entry point --------------------------------------------------- */

static int
ctx_init(struct ctx *c, const struct spool *body, const struct sink *out,
    const struct mime_options *opt, struct mime_info *info, char *err,
    size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->sp = body;
	c->out = out;
	c->opt = opt;
	c->info = info;
	c->err = err;
	c->errlen = errlen;
	c->lastc = -1;
	c->osink.write = osink_write;
	c->osink.arg = c;
	c->rd.buf = malloc(RD_BUF);
	c->chunk = malloc(CHUNK);
	c->obuf = malloc(OUT_BUF);
	c->scratch = malloc(sizeof(*c->scratch));
	if (c->rd.buf == NULL || c->chunk == NULL || c->obuf == NULL ||
	    c->scratch == NULL)
		return fail(c, "out of memory");
	if (opt != NULL && opt->protect_headers && opt->hp_mode != NULL &&
	    strcmp(opt->hp_mode, "cipher") != 0 &&
	    strcmp(opt->hp_mode, "clear") != 0) {
		snprintf(err, errlen, "unknown header protection mode \"%s\"",
		    opt->hp_mode);
		return -1;
	}
	return 0;
}

static void
ctx_free(struct ctx *c)
{
	free(c->rd.buf);
	free(c->chunk);
	free(c->obuf);
	free(c->scratch);
}

int
mime_build_content(const struct header *headers, size_t nheaders,
    const struct spool *body, const struct mime_options *opt,
    const struct sink *out, struct mime_info *info, char *err,
    size_t errlen)
{
	struct mime_info local;
	struct part *root = NULL;
	struct bres res;
	struct ctx c;
	int rc = -1;

	if (info == NULL)
		info = &local;
	mime_classify(headers, nheaders, info);
	if (ctx_init(&c, body, out, opt, info, err, errlen) != 0)
		goto out;
	if ((root = part_new(&c)) == NULL)
		goto out;
	part_init(root, headers, nheaders, 0, true, false);
	if (entity(&c, root, 0, &res) != 0)
		goto out;
	if (c.lastc != '\n' && out_write(&c, "\r\n", 2) != 0)
		goto out;
	rc = out_flush(&c);
out:
	part_free(root);
	ctx_free(&c);
	return rc;
}
