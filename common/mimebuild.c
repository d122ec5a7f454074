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
 *
 * This file holds the parts, the containers (multipart, message/rfc822)
 * and the entry point; the output and the line reader are in
 * mimebuild_io.c, header blocks and fields in mimebuild_hdr.c, leaves in
 * mimebuild_leaf.c, and what they share in mimebuild_int.h.
 */
#include "mime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime_int.h"
#include "mimebuild_int.h"

static int entity(struct ctx *, struct part *, uint64_t, struct bres *);

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
	for (v = h->value; mb_is_wsp(*v) || *v == '\r' || *v == '\n'; v++)
		;
	while (*v != '\0' && !mb_is_wsp(*v) && *v != '(' && *v != ';' &&
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

bool
mb_identity_cte(enum cte cte)
{
	return cte == CTE_NONE || cte == CTE_7BIT || cte == CTE_8BIT ||
	    cte == CTE_BINARY;
}

static struct part *
part_new(struct ctx *c)
{
	struct part *p = calloc(1, sizeof(*p));

	if (p == NULL)
		mb_fail(c, "out of memory");
	return p;
}

static void
part_free(struct part *p)
{
	if (p == NULL)
		return;
	mb_hb_free(&p->own);
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
	mb_hb_free(&p->own);
	p->h = NULL;
	p->nh = 0;
	p->cth = p->cteh = NULL;
}

/* Read a body part's header block at start into a new part. */
static int
read_part(struct ctx *c, struct part *child, uint64_t start, unsigned depth,
    bool digest, uint64_t *body)
{
	if (mb_read_headers(c, start, &child->own, body) != 0)
		return -1;
	part_init(child, child->own.h, child->own.n, depth, false, digest);
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
		if ((*nlines)++ > 0 && mb_out_write(c, "\r\n", 2) != 0)
			return -1;
		*col = 0;
	}
	for (i = 0; i < s->len; i++) {
		ch = s->p[i];
		if (ch >= 0x80 || ch == '\0' || ch == '\r')
			ch = '?';
		if (o + 3 > sizeof(buf)) {
			if (mb_out_write(c, buf, o) != 0)
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
	return mb_out_write(c, buf, o);
}

/* Skip an epilogue: up to a delimiter of an outer multipart, or the end. */
static int
skip_epilogue(struct ctx *c, size_t top, struct bres *res)
{
	struct seg s;
	bool close;
	int r, idx;

	for (;;) {
		if ((r = mb_lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			res->idx = -1;
			res->close = false;
			return 0;
		}
		idx = mb_match_boundary(c, &s, &close);
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
		if ((r = mb_lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			res->idx = -1;
			res->close = false;
			return 0;
		}
		idx = mb_match_boundary(c, &s, &close);
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

	if (mb_write_headers(c, p, newcte) != 0)
		return -1;
	part_drop_headers(p);
	c->bnd[top] = b;
	c->bndlen[top] = strlen(b);
	c->nbnd++;
	mb_lr_seek(c, start);
	if ((r = preamble(c, top, &nlines, res)) < 0)
		goto out;
	if (r == 0)
		goto close;
	if (mb_out_puts(c, nlines > 0 ? "\r\n--" : "--") != 0 ||
	    mb_out_puts(c, b) != 0 || mb_out_puts(c, "\r\n") != 0)
		goto out;
	nlines = 1;
	for (;;) {
		if ((child = part_new(c)) == NULL ||
		    read_part(c, child, mb_lr_tell(c), p->depth + 1, digest,
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
		if (mb_out_puts(c, "\r\n--") != 0 || mb_out_puts(c, b) != 0 ||
		    mb_out_puts(c, "\r\n") != 0)
			goto out;
	}
close:
	if (mb_out_puts(c, nlines > 0 ? "\r\n--" : "--") != 0 ||
	    mb_out_puts(c, b) != 0 || mb_out_puts(c, "--") != 0)
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
		rc = mb_leaf(c, p, start, res, LEAF_GLOBAL);
		goto out;
	}
	if (mb_write_headers(c, p, newcte) != 0)
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
	if (strcmp(p->ct.type, "multipart") == 0 && mb_identity_cte(p->cte)) {
		if (strcmp(p->ct.subtype, "signed") == 0)
			return mb_leaf(c, p, start, res, LEAF_VERBATIM);
		b = mime_ctype_param(&p->ct, "boundary");
		if (usable_boundary(b))
			return multipart(c, p, b, start, res);
		return mb_leaf(c, p, start, res, LEAF_OPAQUE);
	}
	if (strcmp(p->ct.type, "message") == 0 &&
	    strcmp(p->ct.subtype, "rfc822") == 0 && mb_identity_cte(p->cte))
		return message(c, p, start, res);
	return mb_leaf(c, p, start, res, LEAF_NORMAL);
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
	c->osink.write = mb_osink_write;
	c->osink.arg = c;
	c->rd.buf = malloc(RD_BUF);
	c->chunk = malloc(CHUNK);
	c->obuf = malloc(OUT_BUF);
	c->scratch = malloc(sizeof(*c->scratch));
	if (c->rd.buf == NULL || c->chunk == NULL || c->obuf == NULL ||
	    c->scratch == NULL)
		return mb_fail(c, "out of memory");
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
	if (c.lastc != '\n' && mb_out_write(&c, "\r\n", 2) != 0)
		goto out;
	rc = mb_out_flush(&c);
out:
	part_free(root);
	ctx_free(&c);
	return rc;
}
