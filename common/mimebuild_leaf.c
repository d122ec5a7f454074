/*
 * mimebuild_leaf.c -- a leaf entity of the content builder, read twice: a
 * scan finds where it ends (the next delimiter of any enclosing multipart)
 * and whether it is 7-bit clean, which chooses the transformation (copy,
 * quoted-printable, base64, or a dirty encoding cleaned) and so its
 * header fields; then its bytes are streamed from the spool through the
 * chosen coders (mimeenc.h) in CHUNK reads.
 */
#include "mimebuild_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mime.h"
#include "mime_int.h"
#include "mimeenc.h"
#include "sink.h"
#include "spool.h"

/* What the body pass does with a leaf's bytes. */
enum xfer {
	X_COPY,			/* as is, bare LF made CRLF */
	X_QP,			/* quoted-printable, text mode */
	X_B64,			/* base64 */
	X_QP_REENC,		/* dirty quoted-printable: decode, encode */
	X_QP_TO_B64,		/* the same for non-text: decode, base64 */
	X_B64_CLEAN,		/* dirty base64: keep alphabet, re-wrap */
};

struct scan {
	uint64_t end;		/* end of the leaf's content */
	uint64_t next;		/* after the delimiter line that ended it */
	struct bres res;
	bool eightbit, nul, bare_cr, longline;
	struct utf8v u;
};

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
	mb_lr_seek(c, start);
	for (;;) {
		if ((r = mb_lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			sc->end = sc->next = mb_lr_tell(c);
			if (c->nbnd > 0 && sc->end - start >= lasteol)
				sc->end -= lasteol;
			sc->res.idx = -1;
			return 0;
		}
		lasteol = s.eol;
		if ((idx = mb_match_boundary(c, &s, &close)) >= 0) {
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
			if (mb_out_write(c, from, (size_t)(q - from)) != 0 ||
			    mb_out_write(c, "\r\n", 2) != 0)
				return -1;
			from = q + 1;
		} else if (mb_out_write(c, from, (size_t)(q + 1 - from)) != 0)
			return -1;
		else
			from = q + 1;
	}
	if (mb_out_write(c, from, (size_t)(end - from)) != 0)
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
			if (mb_out_write(c, buf, o) != 0)
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
	return mb_out_write(c, buf, o);
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
		return mb_fail(c, "out of memory");
	coders_init(c, k, x);
	while (off < end) {
		want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
		n = spool_read(c->sp, off, c->chunk, want, c->err, c->errlen);
		if (n < 0)
			goto out;
		if (n == 0) {
			mb_fail(c, "body spool shorter than expected");
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
		if (sc->eightbit && (mb_identity_cte(p->cte) ||
		    x == X_QP_REENC))
			cs = mime_utf8_ok(&sc->u) ? "utf-8" : "unknown-8bit";
		if (mime_ctype_set_param(&p->ct, "charset", cs) != 0)
			return mb_fail(c, "no room for the charset parameter");
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

int
mb_leaf(struct ctx *c, struct part *p, uint64_t start, struct bres *res,
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
	    mb_write_headers(c, p, newcte) != 0 ||
	    body_pass(c, start, sc.end, x) != 0)
		return -1;
	*res = sc.res;
	mb_lr_seek(c, sc.next);
	return 0;
}
